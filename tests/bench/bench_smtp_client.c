/* SMTP client: messages per second delivered over loopback to Postfix's
 * smtp-sink by the smtp_client engine on one reused connection (what
 * `mox smtp send` does, minus process start-up), against Postfix's
 * `smtp-source -d` with the same sink, message size and session count (1),
 * in the same run. Prints both rates and their ratio. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "mox/smtp_client.h"

#define PAYLOAD 4096 /* body bytes, as smtp-source -l */

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &l) != 0) {
        close(s);
        return -1;
    }
    close(s);
    return ntohs(a.sin_port);
}

static int dial(int port)
{
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 100; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) {
            int one = 1;
            setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return s;
        }
        close(s);
        usleep(20000);
    }
    return -1;
}

static pid_t spawn(char *const argv[], int quiet)
{
    pid_t p = fork();
    if (p == 0) {
        if (quiet) {
            freopen("/dev/null", "w", stdout);
            freopen("/dev/null", "w", stderr);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return p;
}

typedef struct bench {
    int fd;
    mox_smtp_client *c;
    char *msg;
    size_t len;
} bench;

/* Runs the engine until it is idle (DONE), or CLOSED: error. */
static int drive(bench *b)
{
    unsigned char buf[8192];
    for (;;) {
        const void *p;
        size_t n;
        mox_smtp_client_output(b->c, &p, &n);
        while (n) {
            ssize_t w = send(b->fd, p, n, MSG_NOSIGNAL);
            if (w <= 0)
                return -1;
            mox_smtp_client_output_done(b->c, (size_t)w);
            mox_smtp_client_output(b->c, &p, &n);
        }
        unsigned w = mox_smtp_client_want(b->c);
        if (w & MOX_WANT_CLOSED)
            return -1;
        if (w & MOX_WANT_DONE)
            return 0;
        ssize_t r = recv(b->fd, buf, sizeof buf, 0);
        if (r <= 0)
            return -1;
        if (mox_smtp_client_feed(b->c, buf, (size_t)r) < 0)
            return -1;
    }
}

static int deliver_one(void *arg)
{
    bench *b = arg;
    mox_smtp_client_rcpt r = {"sink@example.org", 0, NULL};
    mox_smtp_client_message m = MOX_SMTP_CLIENT_MESSAGE_INIT;
    m.from = "bench@example.org";
    m.rcpts = &r;
    m.nrcpts = 1;
    m.data = b->msg;
    m.len = b->len;
    if (mox_smtp_client_submit(b->c, &m, NULL) != MOX_OK || drive(b) != 0)
        return -1;
    const mox_smtp_client_delivery *d = mox_smtp_client_result(b->c)->delivery;
    return d && d->naccepted == 1 ? 0 : -1;
}

int main(void)
{
    if (access("/usr/sbin/smtp-sink", X_OK) != 0 || access("/usr/sbin/smtp-source", X_OK) != 0) {
        printf("smtp-sink/smtp-source not installed: skipped\n");
        return 0;
    }
    int port = free_port();
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    char *sink_argv[8];
    int k = 0;
    sink_argv[k++] = "/usr/sbin/smtp-sink";
    if (geteuid() == 0) {
        sink_argv[k++] = "-u";
        sink_argv[k++] = "nobody";
    }
    sink_argv[k++] = addr;
    sink_argv[k++] = "100";
    sink_argv[k] = NULL;
    pid_t sink = spawn(sink_argv, 1);

    bench b = {0};
    /* A message like smtp-source's: a few header fields, PAYLOAD bytes of
     * body in 80-byte lines. */
    b.msg = malloc(PAYLOAD + 512);
    int hl = snprintf(b.msg, 512,
                      "From: <bench@example.org>\r\nTo: <sink@example.org>\r\n"
                      "Date: Tue, 1 Jul 2003 10:52:37 +0200\r\nMessage-Id: <bench@example.org>\r\n"
                      "Subject: bench\r\n\r\n");
    b.len = (size_t)hl;
    for (size_t i = 0; i < PAYLOAD; i++)
        b.msg[b.len++] = (i % 80 == 78) ? '\r' : (i % 80 == 79) ? '\n' : (char)('a' + i % 26);
    int rc = 1;
    b.fd = dial(port);
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    cfg.ehlo_name = "bench.example";
    cfg.tls_mode = MOX_SMTP_CLIENT_TLS_NONE;
    if (b.fd < 0 || mox_smtp_client_new(&b.c, &cfg, NULL) != MOX_OK || drive(&b) != 0) {
        fprintf(stderr, "bench_smtp_client: cannot talk to smtp-sink\n");
        goto out;
    }
    int rounds = mox_bench_rounds(5);
    double secs = mox_bench_seconds(1.0);
    double ours = mox_bench_run("smtp_client 4KiB messages, 1 connection", deliver_one, &b, secs,
                                rounds);

    /* smtp-source -d: same sink, one session, same payload size. */
    double rates[32];
    int nr = rounds > 32 ? 32 : rounds;
    int count = (int)(ours * secs);
    if (count < 200)
        count = 200;
    char mstr[32], lstr[32];
    snprintf(mstr, sizeof mstr, "%d", count);
    snprintf(lstr, sizeof lstr, "%d", PAYLOAD);
    for (int i = 0; i < nr; i++) {
        char *src_argv[] = {"/usr/sbin/smtp-source", "-d", "-s", "1", "-m", mstr, "-l", lstr,
                            "-f", "bench@example.org", "-t", "sink@example.org", addr, NULL};
        double t0 = mox_bench_now();
        pid_t p = spawn(src_argv, 1);
        int status = 0;
        waitpid(p, &status, 0);
        double dt = mox_bench_now() - t0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "bench_smtp_client: smtp-source failed\n");
            goto out;
        }
        rates[i] = count / dt;
    }
    for (int i = 0; i < nr; i++)
        for (int j = i + 1; j < nr; j++)
            if (rates[j] < rates[i]) {
                double t = rates[i];
                rates[i] = rates[j];
                rates[j] = t;
            }
    double base = rates[nr / 2];
    printf("smtp-source -d -s 1 (%d x %d-byte messages): %.0f/%.0f/%.0f msgs/s\n", count, PAYLOAD,
           rates[0], base, rates[nr - 1]);
    mox_bench_ratio("smtp_client vs smtp-source -d", ours, base);
    rc = 0;
out:
    if (b.c) {
        mox_smtp_client_quit(b.c);
        const void *p;
        size_t n;
        mox_smtp_client_output(b.c, &p, &n);
        if (n && b.fd >= 0)
            (void)!send(b.fd, p, n, MSG_NOSIGNAL);
    }
    mox_smtp_client_free(b.c);
    if (b.fd >= 0)
        close(b.fd);
    free(b.msg);
    kill(sink, SIGTERM);
    waitpid(sink, NULL, 0);
    return rc;
}
