/*
 * smtpd-example: a small SMTP server built on libmox's sans-I/O engine.
 *
 * Plain TCP on 127.0.0.1 (no TLS), a poll(2) loop over non-blocking
 * sockets, every accepted message written to a directory as NAME.eml (with
 * a Received header in front) plus NAME.env (the envelope). It shows the
 * embedding pattern of the engine contract: look at want() for what to
 * wait for, feed what arrives, write what output() gives, tick() when
 * deadline() passes (the engine's own timeouts: 60 s per command here),
 * close when CLOSED.
 *
 *   smtpd-example --dir DIR [--port N] [--port-file F] [--max-seconds S]
 *                 [--hostname H] [--max-size BYTES]
 *
 * --port 0 (the default) takes a free port; --port-file receives it.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "mox/mox.h"

#define MAX_CONNS 64

typedef struct conn {
    int fd;
    mox_smtp_server *s;
    char peer[64];
    char cid[32];
    FILE *msg;          /* message being received */
    char tmp[512];
    unsigned long msgno; /* number of the message being received */
    int gone;            /* the socket failed: close at the next pass */
    int eof_sent;        /* mox_smtp_server_eof called */
    unsigned char in[16384];
    size_t in_len;      /* bytes read but not yet taken by the engine */
} conn;

static const char *dir = ".";
static const char *hostname = "localhost";
static unsigned long long max_size = 10 * 1024 * 1024;
static unsigned long seq;

static int64_t now_ns(void) { return mox_clock_mono_ns(NULL); }

static int on_data_start(void *u, mox_smtp_server *s, const mox_smtp_server_txn *t,
                         mox_smtp_server_reply *r)
{
    conn *c = u;
    c->msgno = ++seq;
    snprintf(c->tmp, sizeof c->tmp, "%s/.tmp-%ld-%lu", dir, (long)getpid(), c->msgno);
    c->msg = fopen(c->tmp, "wb");
    if (!c->msg) {
        mox_smtp_server_reply_set(r, 451, "4.3.0", "cannot store message");
        return MOX_SMTP_SERVER_REPLY;
    }
    /* The Received header: one for the whole transaction, naming the
     * first recipient only when there is just one. */
    mox_buf h = MOX_BUF_INIT;
    if (mox_smtp_server_received(s, t->nrcpts == 1 ? 0 : SIZE_MAX, &h) == MOX_OK)
        fwrite(h.data, 1, h.len, c->msg);
    mox_buf_free(&h);
    return MOX_SMTP_SERVER_REPLY;
}

static int on_chunk(void *u, mox_smtp_server *s, const void *p, size_t n)
{
    conn *c = u;
    if (!c->msg || fwrite(p, 1, n, c->msg) != n)
        return MOX_ERR_IO;
    return MOX_OK;
}

static void write_path(FILE *f, const mox_path *p)
{
    mox_buf b = MOX_BUF_INIT;
    if (p->is_null)
        mox_buf_append_str(&b, "");
    else if (p->is_postmaster)
        mox_buf_append_str(&b, "postmaster");
    else
        mox_mailbox_format(&p->mailbox, 1, &b);
    fprintf(f, "%s", b.data ? (char *)b.data : "");
    mox_buf_free(&b);
}

static int on_data_end(void *u, mox_smtp_server *s, const mox_smtp_server_txn *t,
                       mox_smtp_server_reply *r)
{
    conn *c = u;
    if (!c->msg || fclose(c->msg) != 0) {
        c->msg = NULL;
        mox_smtp_server_reply_set(r, 451, "4.3.0", "cannot store message");
        return MOX_SMTP_SERVER_REPLY;
    }
    c->msg = NULL;
    char base[600], path[700];
    snprintf(base, sizeof base, "%s/msg-%ld-%lu", dir, (long)getpid(), c->msgno);
    snprintf(path, sizeof path, "%s.env", base);
    FILE *e = fopen(path, "w");
    if (e) {
        fprintf(e, "from=<");
        write_path(e, &t->mail_from);
        fprintf(e, ">\nbody=%d\nsmtputf8=%d\nchunking=%d\nsize=%llu\n", t->body, t->smtputf8,
                t->chunking, (unsigned long long)t->data_size);
        for (size_t i = 0; i < t->nrcpts; i++) {
            fprintf(e, "rcpt=<");
            write_path(e, &t->rcpts[i].path);
            fprintf(e, ">\n");
        }
        fclose(e);
    }
    snprintf(path, sizeof path, "%s.eml", base);
    if (rename(c->tmp, path) != 0) {
        unlink(c->tmp);
        mox_smtp_server_reply_set(r, 451, "4.3.0", "cannot store message");
        return MOX_SMTP_SERVER_REPLY;
    }
    c->tmp[0] = 0;
    char text[100];
    snprintf(text, sizeof text, "queued as msg-%ld-%lu", (long)getpid(), c->msgno);
    mox_smtp_server_reply_set(r, 250, "2.0.0", text);
    return MOX_SMTP_SERVER_REPLY;
}

static void on_reset(void *u, mox_smtp_server *s, int reason)
{
    conn *c = u;
    if (c->msg) {
        fclose(c->msg);
        c->msg = NULL;
    }
    if (c->tmp[0]) {
        unlink(c->tmp);
        c->tmp[0] = 0;
    }
}

static void conn_close(conn *c)
{
    mox_smtp_server_free(c->s); /* calls on_reset for an open transaction */
    if (c->msg)
        fclose(c->msg);
    if (c->tmp[0])
        unlink(c->tmp);
    close(c->fd);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

static void flush_output(conn *c)
{
    for (;;) {
        const void *o;
        size_t n;
        mox_smtp_server_output(c->s, &o, &n);
        if (n == 0)
            return;
        ssize_t w = send(c->fd, o, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                c->gone = 1;
            return;
        }
        mox_smtp_server_output_done(c->s, (size_t)w);
    }
}

/* Gives buffered input to the engine; it may take only part of it. */
static void feed(conn *c)
{
    while (c->in_len) {
        int64_t n = mox_smtp_server_feed(c->s, c->in, c->in_len);
        if (n < 0) {
            c->gone = 1;
            c->in_len = 0;
            return;
        }
        if (n == 0)
            return; /* backpressure: a decision is deferred */
        memmove(c->in, c->in + n, c->in_len - (size_t)n);
        c->in_len -= (size_t)n;
    }
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

int main(int argc, char **argv)
{
    int port = 0;
    const char *port_file = NULL;
    long max_seconds = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--dir") && v)
            dir = argv[++i];
        else if (!strcmp(a, "--port") && v)
            port = atoi(argv[++i]);
        else if (!strcmp(a, "--port-file") && v)
            port_file = argv[++i];
        else if (!strcmp(a, "--max-seconds") && v)
            max_seconds = atol(argv[++i]);
        else if (!strcmp(a, "--hostname") && v)
            hostname = argv[++i];
        else if (!strcmp(a, "--max-size") && v)
            max_size = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s --dir DIR [--port N] [--port-file F] [--max-seconds S] "
                            "[--hostname H] [--max-size BYTES]\n", argv[0]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(port);
    if (lfd < 0) {
        perror("listen");
        return 1;
    }
    struct sockaddr_in la;
    socklen_t ll = sizeof la;
    getsockname(lfd, (struct sockaddr *)&la, &ll);
    if (port_file) {
        char tmp[600];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", ntohs(la.sin_port)) < 0 || fclose(f) != 0 ||
            rename(tmp, port_file) != 0) {
            perror("port file");
            return 1;
        }
    } else {
        printf("listening on 127.0.0.1:%d\n", ntohs(la.sin_port));
        fflush(stdout);
    }

    mox_smtp_server_callbacks cb = MOX_SMTP_SERVER_CALLBACKS_INIT;
    cb.on_data_start = on_data_start;
    cb.on_data_chunk = on_chunk;
    cb.on_data_end = on_data_end;
    cb.on_reset = on_reset;

    conn conns[MAX_CONNS];
    for (int i = 0; i < MAX_CONNS; i++) {
        memset(&conns[i], 0, sizeof conns[i]);
        conns[i].fd = -1;
    }
    time_t started = time(NULL);
    unsigned long cids = 0;
    for (;;) {
        if (max_seconds && time(NULL) - started >= max_seconds)
            break;
        struct pollfd pfd[MAX_CONNS + 1];
        int map[MAX_CONNS + 1];
        int np = 0;
        int timeout = 1000;
        pfd[np].fd = lfd;
        pfd[np].events = POLLIN;
        map[np++] = -1;
        int64_t now = now_ns();
        for (int i = 0; i < MAX_CONNS; i++) {
            conn *c = &conns[i];
            if (c->fd < 0)
                continue;
            unsigned w = mox_smtp_server_want(c->s);
            short ev = 0;
            if ((w & MOX_WANT_READ) && c->in_len < sizeof c->in)
                ev |= POLLIN;
            if (w & MOX_WANT_WRITE)
                ev |= POLLOUT;
            if (w & MOX_WANT_TIMER) {
                int64_t due = mox_smtp_server_deadline(c->s);
                int ms = due > now ? (int)((due - now) / 1000000) + 1 : 0;
                if (ms < timeout)
                    timeout = ms;
            }
            pfd[np].fd = c->fd;
            pfd[np].events = ev;
            map[np++] = i;
        }
        int n = poll(pfd, (nfds_t)np, timeout);
        if (n < 0 && errno != EINTR) {
            perror("poll");
            break;
        }
        for (int k = 0; k < np; k++) {
            if (map[k] < 0) {
                if (!(pfd[k].revents & POLLIN))
                    continue;
                struct sockaddr_in pa;
                socklen_t pl = sizeof pa;
                int fd = accept(lfd, (struct sockaddr *)&pa, &pl);
                if (fd < 0)
                    continue;
                int slot = -1;
                for (int i = 0; i < MAX_CONNS; i++)
                    if (conns[i].fd < 0) {
                        slot = i;
                        break;
                    }
                if (slot < 0) {
                    static const char busy[] = "421 4.3.2 too many connections\r\n";
                    (void)!write(fd, busy, sizeof busy - 1);
                    close(fd);
                    continue;
                }
                fcntl(fd, F_SETFL, O_NONBLOCK);
                conn *c = &conns[slot];
                c->fd = fd;
                inet_ntop(AF_INET, &pa.sin_addr, c->peer, sizeof c->peer);
                snprintf(c->cid, sizeof c->cid, "%lx%lu", (unsigned long)getpid(), ++cids);
                mox_smtp_server_config cfg = MOX_SMTP_SERVER_CONFIG_INIT;
                cfg.hostname = hostname;
                cfg.conn_id = c->cid;
                cfg.remote_ip = c->peer;
                cfg.local_ip = "127.0.0.1";
                cfg.max_message_size = max_size;
                cfg.command_timeout_ms = 60000;
                mox_errinfo ei;
                if (mox_smtp_server_new(&c->s, &cfg, &cb, c, &ei) != MOX_OK) {
                    fprintf(stderr, "session: %s\n", ei.msg);
                    conn_close(c);
                    continue;
                }
                flush_output(c); /* the greeting */
                continue;
            }
            conn *c = &conns[map[k]];
            if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t r = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
                if (r > 0)
                    c->in_len += (size_t)r;
                else if (r == 0 || (errno != EAGAIN && errno != EINTR))
                    c->gone = 1;
            }
            feed(c);
            flush_output(c);
        }
        for (int i = 0; i < MAX_CONNS; i++) {
            conn *c = &conns[i];
            if (c->fd < 0)
                continue;
            feed(c);
            if (c->gone && c->in_len == 0 && !c->eof_sent) {
                c->eof_sent = 1;
                mox_smtp_server_eof(c->s); /* after what was read is fed */
            }
            mox_smtp_server_tick(c->s, now_ns()); /* deadlines: 421 and the end */
            flush_output(c);
            /* no TLS here: STARTTLS is never offered, so TLS is never
             * wanted; a closed session goes once its output is out (or
             * the engine gave up on it) */
            unsigned w = mox_smtp_server_want(c->s);
            if ((w & MOX_WANT_CLOSED) && (!(w & MOX_WANT_WRITE) || c->gone))
                conn_close(c);
        }
    }
    for (int i = 0; i < MAX_CONNS; i++)
        if (conns[i].fd >= 0)
            conn_close(&conns[i]);
    close(lfd);
    return 0;
}
