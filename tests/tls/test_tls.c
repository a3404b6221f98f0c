/* tls over sockets: the socket wrapper (blocking and non-blocking, peer
 * closing or speaking plaintext during the handshake), mox_engine_run
 * driving the bare engine's handshake over mox_transport_fd, and the
 * mox_tls_transport whose starttls() a protocol engine reaches through
 * MOX_WANT_TLS in mox_engine_run. The server side runs in a thread over a
 * socketpair. (Contract and in-memory engine tests: tests/api/
 * test_contract_tls.c; interop with openssl: interop_tls.py.) */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "moxtest.h"
#include "engine/engine_priv.h"
#include "mox/tls.h"

static mox_buf cert, key;
static char ca_path[] = "/tmp/mox-test-tls-XXXXXX";
static int ca_fd = -1;

static int setup(void **st)
{
    (void)st;
    static const char *const names[] = {"mail.example.org"};
    mox_errinfo ei;
    if (mox_tls_selfsigned(names, 1, 30, &cert, &key, &ei) != MOX_OK)
        return -1;
    ca_fd = mkstemp(ca_path);
    if (ca_fd < 0 || write(ca_fd, cert.data, cert.len) != (ssize_t)cert.len)
        return -1;
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    mox_buf_free(&cert);
    mox_buf_free(&key);
    if (ca_fd >= 0) {
        close(ca_fd);
        unlink(ca_path);
    }
    return 0;
}

static mox_tls_config *server_cfg(void)
{
    mox_tls_server_options o = MOX_TLS_SERVER_OPTIONS_INIT;
    o.hostname = "mail.example.org";
    mox_tls_config *c = NULL;
    mox_errinfo ei;
    assert_int_equal(mox_tls_config_new_server(&c, &o, &ei), MOX_OK);
    assert_int_equal(mox_tls_config_add_cert(c, cert.data, cert.len, key.data, key.len, &ei),
                     MOX_OK);
    return c;
}

static mox_tls_config *client_cfg(uint32_t timeout_ms)
{
    mox_tls_client_options o = MOX_TLS_CLIENT_OPTIONS_INIT;
    o.ca_file = ca_path;
    o.handshake_timeout_ms = timeout_ms;
    mox_tls_config *c = NULL;
    mox_errinfo ei;
    assert_int_equal(mox_tls_config_new_client(&c, &o, &ei), MOX_OK);
    return c;
}

static mox_tls_request req_for(const char *name)
{
    mox_tls_request r = MOX_TLS_REQUEST_INIT;
    r.server_name = name;
    r.verify = MOX_TLS_VERIFY_WEBPKI;
    return r;
}

/* The server thread: handshake, echo what it reads upper-cased until the
 * client's close_notify, then close. */
typedef struct srv {
    mox_tls_config *cfg;
    int fd;
    int rc;
    size_t echoed;
    int plain_first; /* read one plaintext line before TLS (STARTTLS) */
} srv;

static void *server_thread(void *p)
{
    srv *a = p;
    if (a->plain_first) {
        char line[64];
        size_t l = 0;
        while (l < sizeof line - 1 && read(a->fd, line + l, 1) == 1 && line[l] != '\n')
            l++;
        if (write(a->fd, "220 go ahead\n", 13) != 13)
            return NULL;
    }
    mox_tls_socket *s = NULL;
    a->rc = mox_tls_socket_new(&s, a->cfg, a->fd, NULL, NULL);
    if (a->rc == MOX_OK)
        a->rc = mox_tls_socket_handshake(s, NULL);
    if (a->rc == MOX_OK) {
        char buf[4096];
        int64_t n;
        while ((n = mox_tls_socket_read(s, buf, sizeof buf)) > 0) {
            for (int64_t i = 0; i < n; i++)
                if (buf[i] >= 'a' && buf[i] <= 'z')
                    buf[i] -= 32;
            for (int64_t off = 0; off < n;) {
                int64_t w = mox_tls_socket_write(s, buf + off, (size_t)(n - off));
                if (w <= 0)
                    break;
                off += w;
            }
            a->echoed += (size_t)n;
        }
        mox_tls_socket_close(s);
    }
    mox_tls_socket_free(s);
    shutdown(a->fd, SHUT_WR);
    return NULL;
}

static void t_socket_blocking(void **st)
{
    (void)st;
    mox_tls_config *sc = server_cfg(), *cc = client_cfg(0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    srv a = {sc, sv[1], -1, 0, 0};
    pthread_t th;
    pthread_create(&th, NULL, server_thread, &a);
    mox_tls_socket *s = NULL;
    mox_errinfo ei;
    mox_tls_request r = req_for("mail.example.org");
    assert_int_equal(mox_tls_socket_new(&s, cc, sv[0], &r, &ei), MOX_OK);
    char buf[70000];
    assert_int_equal(mox_tls_socket_read(s, buf, sizeof buf), MOX_ERR_STATE);
    assert_int_equal(mox_tls_socket_handshake(s, &ei), MOX_OK);
    mox_tls_info info = MOX_TLS_INFO_INIT;
    assert_int_equal(mox_tls_get_info(mox_tls_socket_tls(s), &info), MOX_OK);
    assert_true(info.peer_verified);
    /* 60 KB (several records per call), echoed back (fits the socket
     * buffers, so writing all first cannot deadlock) */
    memset(buf, 'q', 60000);
    size_t off = 0;
    while (off < 60000) {
        int64_t w = mox_tls_socket_write(s, buf + off, 60000 - off);
        assert_true(w > 0);
        off += (size_t)w;
    }
    size_t got = 0;
    while (got < 60000) {
        int64_t n = mox_tls_socket_read(s, buf, sizeof buf);
        assert_true(n > 0);
        for (int64_t i = 0; i < n; i++)
            assert_int_equal(buf[i], 'Q');
        got += (size_t)n;
    }
    assert_int_equal(mox_tls_socket_close(s), MOX_OK);
    /* the server answers our close_notify with its own: a clean end */
    int64_t n;
    while ((n = mox_tls_socket_read(s, buf, sizeof buf)) > 0)
        ;
    assert_int_equal(n, 0);
    pthread_join(th, NULL);
    assert_int_equal(a.rc, MOX_OK);
    mox_tls_socket_free(s);
    close(sv[0]);
    close(sv[1]);
    mox_tls_config_free(sc);
    mox_tls_config_free(cc);
}

static void t_socket_nonblocking(void **st)
{
    (void)st;
    mox_tls_config *sc = server_cfg(), *cc = client_cfg(0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    srv a = {sc, sv[1], -1, 0, 0};
    pthread_t th;
    pthread_create(&th, NULL, server_thread, &a);
    mox_tls_socket *s = NULL;
    mox_errinfo ei;
    mox_tls_request r = req_for("mail.example.org");
    assert_int_equal(mox_tls_socket_new(&s, cc, sv[0], &r, &ei), MOX_OK);
    int rc, again = 0;
    while ((rc = mox_tls_socket_handshake(s, &ei)) == MOX_ERR_AGAIN) {
        again++;
        assert_true(mox_tls_socket_wants(s) & (MOX_WANT_READ | MOX_WANT_WRITE));
        usleep(1000);
    }
    assert_int_equal(rc, MOX_OK);
    /* `again` is usually > 0, but a server thread that always answers
     * before the client reads gives a handshake without a single AGAIN:
     * not asserted (it failed one CI run under load) */
    (void)again;
    int64_t w;
    while ((w = mox_tls_socket_write(s, "hello", 5)) == MOX_ERR_AGAIN)
        usleep(1000);
    assert_int_equal(w, 5);
    char buf[16];
    int64_t n;
    while ((n = mox_tls_socket_read(s, buf, sizeof buf)) == MOX_ERR_AGAIN) {
        assert_true(mox_tls_socket_wants(s) & MOX_WANT_READ);
        usleep(1000);
    }
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "HELLO", 5);
    while (mox_tls_socket_close(s) == MOX_ERR_AGAIN)
        usleep(1000);
    while ((n = mox_tls_socket_read(s, buf, sizeof buf)) == MOX_ERR_AGAIN)
        usleep(1000);
    assert_int_equal(n, 0);
    pthread_join(th, NULL);
    mox_tls_socket_free(s);
    close(sv[0]);
    close(sv[1]);
    mox_tls_config_free(sc);
    mox_tls_config_free(cc);
}

static void t_socket_failures(void **st)
{
    (void)st;
    mox_tls_config *cc = client_cfg(300);
    mox_errinfo ei;
    mox_tls_request r = req_for("mail.example.org");
    /* the peer closes during the handshake: an I/O error */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    mox_tls_socket *s = NULL;
    assert_int_equal(mox_tls_socket_new(&s, cc, sv[0], &r, &ei), MOX_OK);
    close(sv[1]);
    assert_int_equal(mox_tls_socket_handshake(s, &ei), MOX_ERR_IO);
    assert_true(ei.msg[0]);
    mox_tls_socket_free(s);
    close(sv[0]);
    /* a plaintext greeting instead of TLS */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(mox_tls_socket_new(&s, cc, sv[0], &r, &ei), MOX_OK);
    const char junk[] = "220 mx.example ESMTP not TLS\r\n";
    assert_int_equal(write(sv[1], junk, sizeof junk - 1), (ssize_t)(sizeof junk - 1));
    assert_int_equal(mox_tls_socket_handshake(s, &ei), MOX_ERR_SYNTAX);
    assert_non_null(strstr(ei.msg, "invalid header"));
    mox_tls_socket_free(s);
    close(sv[0]);
    close(sv[1]);
    /* a silent peer: the engine's handshake deadline (300 ms) */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(mox_tls_socket_new(&s, cc, sv[0], &r, &ei), MOX_OK);
    int64_t t0 = mox_clock_mono_ns(NULL);
    assert_int_equal(mox_tls_socket_handshake(s, &ei), MOX_ERR_TIMEOUT);
    int64_t took = mox_clock_mono_ns(NULL) - t0;
    assert_true(took >= 250000000 && took < 5000000000LL);
    assert_non_null(strstr(ei.msg, "within 300 ms"));
    mox_tls_socket_free(s);
    close(sv[0]);
    close(sv[1]);
    mox_tls_config_free(cc);
}

/* mox_engine_run over the bare engine runs exactly the handshake. */
static void t_engine_run(void **st)
{
    (void)st;
    mox_tls_config *sc = server_cfg(), *cc = client_cfg(0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    srv a = {sc, sv[1], -1, 0, 0};
    pthread_t th;
    pthread_create(&th, NULL, server_thread, &a);
    mox_tls *t = NULL;
    mox_errinfo ei;
    mox_tls_request r = req_for("mail.example.org");
    assert_int_equal(mox_tls_new(&t, cc, &r, &ei), MOX_OK);
    mox_transport tr;
    mox_transport_fd(&tr, &sv[0]);
    mox_io io = MOX_IO_INIT;
    io.transport = &tr;
    assert_int_equal(mox_engine_run(mox_tls_engine(t), &io, &ei), MOX_OK);
    assert_true(mox_tls_want(t) & MOX_WANT_DONE);
    assert_false(mox_tls_want(t) & MOX_WANT_WRITE);
    mox_tls_close(t);
    const void *p;
    size_t n;
    mox_tls_output(t, &p, &n);
    assert_int_equal(write(sv[0], p, n), (ssize_t)n);
    pthread_join(th, NULL);
    assert_int_equal(a.rc, MOX_OK);
    mox_tls_free(t);
    close(sv[0]);
    close(sv[1]);
    mox_tls_config_free(sc);
    mox_tls_config_free(cc);
}

/* A protocol engine for mox_engine_run: "STARTTLS\n", waits for a line,
 * asks for TLS, then sends "ping\n" through it and waits for "PING\n". */
typedef struct proto {
    mox_engine g;
    int stage; /* 0 send STARTTLS, 1 read reply, 2 TLS, 3 send ping, 4 read, 5 done */
    const char *out;
    size_t out_len;
    char in[64];
    size_t in_len;
    int tls_status;
    mox_tls_info info;
    unsigned char unique[12];
} proto;

static unsigned p_want(const void *s)
{
    const proto *p = s;
    switch (p->stage) {
    case 0:
    case 3:
        return MOX_WANT_WRITE;
    case 1:
    case 4:
        return MOX_WANT_READ;
    case 2:
        return MOX_WANT_TLS;
    }
    return MOX_WANT_DONE | MOX_WANT_CLOSED;
}

static int p_output(void *s, const void **o, size_t *n)
{
    proto *p = s;
    *o = p->out;
    *n = p->stage == 0 || p->stage == 3 ? p->out_len : 0;
    return MOX_OK;
}

static int p_output_done(void *s, size_t n)
{
    proto *p = s;
    p->out += n;
    p->out_len -= n;
    if (p->out_len == 0)
        p->stage++;
    return MOX_OK;
}

static int64_t p_feed(void *s, const void *b, size_t n)
{
    proto *p = s;
    size_t k = 0;
    while (k < n && p->in_len < sizeof p->in - 1) {
        char ch = ((const char *)b)[k++];
        p->in[p->in_len++] = ch;
        if (ch == '\n') {
            p->in[p->in_len] = 0;
            if (p->stage == 4 && strcmp(p->in, "PING\n") != 0)
                return MOX_ERR_SYNTAX;
            p->in_len = 0;
            p->stage++;
            break;
        }
    }
    return (int64_t)k;
}

static int p_eof(void *s)
{
    proto *p = s;
    p->stage = 5;
    return MOX_OK;
}

static int p_tls_request(const void *s, mox_tls_request *req)
{
    (void)s;
    req->role = MOX_TLS_ROLE_CLIENT;
    req->server_name = "mail.example.org";
    req->verify = MOX_TLS_VERIFY_WEBPKI;
    req->required = 1;
    return MOX_OK;
}

static int p_tls_done(void *s, int status, const mox_tls_info *info)
{
    proto *p = s;
    p->tls_status = status;
    if (status == MOX_OK) {
        p->info = *info;
        memcpy(p->unique, info->tls_unique, 12);
        p->stage = 3;
        p->out = "ping\n";
        p->out_len = 5;
    } else {
        p->stage = 5;
    }
    return MOX_OK;
}

static const moxi_engine_ops proto_ops = {
    .name = "proto",
    .want = p_want,
    .feed = p_feed,
    .eof = p_eof,
    .output = p_output,
    .output_done = p_output_done,
    .tls_request = p_tls_request,
    .tls_done = p_tls_done,
};

static void t_transport_starttls(void **st)
{
    (void)st;
    mox_tls_config *sc = server_cfg(), *cc = client_cfg(0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    srv a = {sc, sv[1], -1, 0, 1};
    pthread_t th;
    pthread_create(&th, NULL, server_thread, &a);
    proto p;
    memset(&p, 0, sizeof p);
    moxi_engine_init(&p.g, &proto_ops, &p);
    p.out = "STARTTLS\n";
    p.out_len = 9;
    mox_tls_transport *x = NULL;
    mox_errinfo ei;
    assert_int_equal(mox_tls_transport_new(&x, cc, sv[0], &ei), MOX_OK);
    mox_transport tr;
    mox_tls_transport_fill(x, &tr);
    assert_null(mox_tls_transport_socket(x));
    mox_io io = MOX_IO_INIT;
    io.transport = &tr;
    assert_int_equal(mox_engine_run(&p.g, &io, &ei), MOX_OK);
    assert_int_equal(p.tls_status, MOX_OK);
    assert_int_equal(p.stage, 5);
    assert_int_equal(p.info.version, MOX_TLS_VERSION_1_2);
    assert_true(p.info.peer_verified);
    assert_non_null(mox_tls_transport_socket(x));
    /* close() sent close_notify: the server's read ends cleanly */
    pthread_join(th, NULL);
    assert_int_equal(a.rc, MOX_OK);
    assert_int_equal(a.echoed, 5);
    mox_tls_transport_free(x);
    close(sv[0]);
    close(sv[1]);

    /* a verification failure reaches the engine as tls_done(status) */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    srv b = {sc, sv[1], -1, 0, 1};
    pthread_create(&th, NULL, server_thread, &b);
    memset(&p, 0, sizeof p);
    moxi_engine_init(&p.g, &proto_ops, &p);
    p.out = "STARTTLS\n";
    p.out_len = 9;
    mox_tls_client_options o = MOX_TLS_CLIENT_OPTIONS_INIT; /* system CAs only */
    mox_tls_config *sys = NULL;
    assert_int_equal(mox_tls_config_new_client(&sys, &o, &ei), MOX_OK);
    assert_int_equal(mox_tls_transport_new(&x, sys, sv[0], &ei), MOX_OK);
    mox_tls_transport_fill(x, &tr);
    assert_int_equal(mox_engine_run(&p.g, &io, &ei), MOX_OK);
    assert_int_equal(p.tls_status, MOX_ERR_PERM);
    pthread_join(th, NULL);
    assert_int_not_equal(b.rc, MOX_OK);
    mox_tls_transport_free(x);
    mox_tls_config_free(sys);
    close(sv[0]);
    close(sv[1]);
    mox_tls_config_free(sc);
    mox_tls_config_free(cc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_socket_blocking),    cmocka_unit_test(t_socket_nonblocking),
        cmocka_unit_test(t_socket_failures),    cmocka_unit_test(t_engine_run),
        cmocka_unit_test(t_transport_starttls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
