/* TLS engine costs against bare mbedTLS (the floor, and what the old
 * socket adapter did: mbedtls_ssl_read/write straight over send/recv):
 *  - a full handshake between two engines in memory, vs two mbedTLS
 *    contexts over memory BIOs on the same configurations;
 *  - 1 MiB of application data in 16 KiB writes, engine pair in memory
 *    (read zero-copy) vs mbedTLS pair in memory;
 *  - the same over a socketpair with a reader thread: mox_tls_socket vs
 *    mbedTLS with send/recv callbacks.
 * The suite is what the configurations negotiate (ECDHE-ECDSA, AES-GCM).
 * Wall-clock rates swing with the machine's load; the last lines give CPU
 * time (both threads) for fixed work, which compares better. */
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "mox/tls.h"
#include "tls/tls_priv.h"

static mox_tls_config *scfg, *ccfg;
static unsigned char payload[16384];
#define BULK (1u << 20)

/* ------------------------------------------------------------ engines */

static size_t xfer(mox_tls *a, mox_tls *b)
{
    const void *p;
    size_t n;
    mox_tls_output(a, &p, &n);
    if (!n)
        return 0;
    int64_t took = mox_tls_feed(b, p, n);
    if (took < 0)
        abort();
    mox_tls_output_done(a, (size_t)took);
    return (size_t)took;
}

static int pair(mox_tls **c, mox_tls **s)
{
    mox_tls_request r = MOX_TLS_REQUEST_INIT;
    r.server_name = "mail.example.org";
    if (mox_tls_new(c, ccfg, &r, NULL) != MOX_OK || mox_tls_new(s, scfg, NULL, NULL) != MOX_OK)
        return -1;
    while (xfer(*c, *s) | xfer(*s, *c))
        ;
    return (mox_tls_want(*c) & mox_tls_want(*s) & MOX_WANT_DONE) ? 0 : -1;
}

static int hs_engine(void *arg)
{
    (void)arg;
    mox_tls *c = NULL, *s = NULL;
    int rc = pair(&c, &s);
    mox_tls_free(c);
    mox_tls_free(s);
    return rc;
}

static mox_tls *bc, *bs;

static int bulk_engine(void *arg)
{
    (void)arg;
    size_t sent = 0, got = 0;
    while (got < BULK) {
        if (sent < BULK) {
            int64_t w = mox_tls_write(bc, payload, sizeof payload);
            if (w < 0)
                return -1;
            sent += (size_t)w;
        }
        xfer(bc, bs);
        const void *p;
        size_t n;
        mox_tls_plaintext(bs, &p, &n);
        got += n;
        mox_tls_plaintext_done(bs, n);
    }
    return 0;
}

/* ------------------------------------------------------------ mbedTLS */

typedef struct pipe_ {
    unsigned char buf[65536];
    size_t off, len;
} pipe_;

typedef struct rawend {
    mbedtls_ssl_context ssl;
    pipe_ *in, *out;
} rawend;

static int mem_send(void *ctx, const unsigned char *b, size_t n)
{
    rawend *e = ctx;
    pipe_ *p = e->out;
    if (p->off == p->len)
        p->off = p->len = 0;
    if (n > sizeof p->buf - p->len)
        n = sizeof p->buf - p->len;
    if (n == 0)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    memcpy(p->buf + p->len, b, n);
    p->len += n;
    return (int)n;
}

static int mem_recv(void *ctx, unsigned char *b, size_t n)
{
    rawend *e = ctx;
    pipe_ *p = e->in;
    if (p->off == p->len)
        return MBEDTLS_ERR_SSL_WANT_READ;
    if (n > p->len - p->off)
        n = p->len - p->off;
    memcpy(b, p->buf + p->off, n);
    p->off += n;
    return (int)n;
}

static pipe_ c2s, s2c;
static rawend rc_, rs_;

static int raw_pair(void)
{
    memset(&c2s, 0, sizeof c2s);
    memset(&s2c, 0, sizeof s2c);
    mbedtls_ssl_init(&rc_.ssl);
    mbedtls_ssl_init(&rs_.ssl);
    rc_.in = &s2c;
    rc_.out = &c2s;
    rs_.in = &c2s;
    rs_.out = &s2c;
    if (mbedtls_ssl_setup(&rc_.ssl, &ccfg->conf) || mbedtls_ssl_setup(&rs_.ssl, &scfg->conf) ||
        mbedtls_ssl_set_hostname(&rc_.ssl, "mail.example.org"))
        return -1;
    mbedtls_ssl_set_bio(&rc_.ssl, &rc_, mem_send, mem_recv, NULL);
    mbedtls_ssl_set_bio(&rs_.ssl, &rs_, mem_send, mem_recv, NULL);
    for (int i = 0; i < 100; i++) {
        int a = mbedtls_ssl_handshake(&rc_.ssl), b = mbedtls_ssl_handshake(&rs_.ssl);
        if (a == 0 && b == 0)
            return 0;
        if ((a && a != MBEDTLS_ERR_SSL_WANT_READ) || (b && b != MBEDTLS_ERR_SSL_WANT_READ))
            return -1;
    }
    return -1;
}

static void raw_free(void)
{
    mbedtls_ssl_free(&rc_.ssl);
    mbedtls_ssl_free(&rs_.ssl);
}

static int hs_raw(void *arg)
{
    (void)arg;
    int rc = raw_pair();
    raw_free();
    return rc;
}

static int bulk_raw(void *arg)
{
    (void)arg;
    unsigned char buf[16384];
    size_t got = 0;
    for (size_t sent = 0; sent < BULK;) {
        int w = mbedtls_ssl_write(&rc_.ssl, payload, sizeof payload);
        if (w < 0)
            return -1;
        sent += (size_t)w;
        int r;
        while ((r = mbedtls_ssl_read(&rs_.ssl, buf, sizeof buf)) > 0)
            got += (size_t)r;
        if (r != MBEDTLS_ERR_SSL_WANT_READ)
            return -1;
    }
    return got == BULK ? 0 : -1;
}

/* ------------------------------------------------------------ sockets */

static int sock_send(void *ctx, const unsigned char *b, size_t n)
{
    ssize_t r = send(*(int *)ctx, b, n, MSG_NOSIGNAL);
    return r < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : (int)r;
}

static int sock_recv(void *ctx, unsigned char *b, size_t n)
{
    ssize_t r = recv(*(int *)ctx, b, n, 0);
    return r < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : (int)r;
}

static int sv[2];
static mox_tls_socket *ws, *wc; /* wrapper pair */
static mbedtls_ssl_context ms, mc; /* mbedTLS pair */
static int use_wrapper;

/* Reads BULK per request from the client side, then acknowledges. */
static void *reader(void *arg)
{
    (void)arg;
    unsigned char buf[16384];
    for (;;) {
        size_t got = 0;
        while (got < BULK) {
            int64_t r = use_wrapper ? mox_tls_socket_read(ws, buf, sizeof buf)
                                    : mbedtls_ssl_read(&ms, buf, sizeof buf);
            if (r <= 0)
                return NULL;
            got += (size_t)r;
        }
        if (use_wrapper ? mox_tls_socket_write(ws, "k", 1) != 1
                        : mbedtls_ssl_write(&ms, (const unsigned char *)"k", 1) != 1)
            return NULL;
    }
}

static int bulk_socket(void *arg)
{
    (void)arg;
    for (size_t sent = 0; sent < BULK;) {
        int64_t w = use_wrapper ? mox_tls_socket_write(wc, payload, sizeof payload)
                                : mbedtls_ssl_write(&mc, payload, sizeof payload);
        if (w <= 0)
            return -1;
        sent += (size_t)w;
    }
    unsigned char k;
    int64_t r = use_wrapper ? mox_tls_socket_read(wc, &k, 1) : mbedtls_ssl_read(&mc, &k, 1);
    return r == 1 ? 0 : -1;
}

static void *srv_hs(void *arg)
{
    (void)arg;
    if (use_wrapper) {
        if (mox_tls_socket_new(&ws, scfg, sv[1], NULL, NULL) == MOX_OK)
            mox_tls_socket_handshake(ws, NULL);
    } else {
        mbedtls_ssl_init(&ms);
        mbedtls_ssl_setup(&ms, &scfg->conf);
        mbedtls_ssl_set_bio(&ms, &sv[1], sock_send, sock_recv, NULL);
        mbedtls_ssl_handshake(&ms);
    }
    return NULL;
}

static double cpu_s(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + (double)r.ru_stime.tv_sec +
           r.ru_stime.tv_usec / 1e6;
}

/* With fixed > 0: `fixed` MiB, returns CPU ms per MiB instead of a rate. */
static double socket_run(int wrapper, double secs, int rounds, int fixed)
{
    use_wrapper = wrapper;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        abort();
    pthread_t th;
    pthread_create(&th, NULL, srv_hs, NULL);
    if (wrapper) {
        mox_tls_request r = MOX_TLS_REQUEST_INIT;
        r.server_name = "mail.example.org";
        if (mox_tls_socket_new(&wc, ccfg, sv[0], &r, NULL) != MOX_OK ||
            mox_tls_socket_handshake(wc, NULL) != MOX_OK)
            abort();
    } else {
        mbedtls_ssl_init(&mc);
        mbedtls_ssl_setup(&mc, &ccfg->conf);
        mbedtls_ssl_set_hostname(&mc, "mail.example.org");
        mbedtls_ssl_set_bio(&mc, &sv[0], sock_send, sock_recv, NULL);
        if (mbedtls_ssl_handshake(&mc) != 0)
            abort();
    }
    pthread_join(th, NULL);
    pthread_create(&th, NULL, reader, NULL);
    double r;
    if (fixed) {
        double c0 = cpu_s();
        for (int i = 0; i < fixed; i++)
            if (bulk_socket(NULL) != 0)
                abort();
        r = (cpu_s() - c0) * 1000 / fixed;
    } else {
        r = mox_bench_run(wrapper ? "tls socket 1 MiB, mox_tls_socket (MiB/s)"
                                  : "tls socket 1 MiB, mbedTLS send/recv (MiB/s)",
                          bulk_socket, NULL, secs, rounds);
    }
    shutdown(sv[0], SHUT_RDWR);
    shutdown(sv[1], SHUT_RDWR);
    pthread_join(th, NULL);
    if (wrapper) {
        mox_tls_socket_free(wc);
        mox_tls_socket_free(ws);
    } else {
        mbedtls_ssl_free(&mc);
        mbedtls_ssl_free(&ms);
    }
    close(sv[0]);
    close(sv[1]);
    return r;
}

int main(void)
{
    static const char *const names[] = {"mail.example.org"};
    mox_buf cert = MOX_BUF_INIT, key = MOX_BUF_INIT;
    mox_tls_server_options so = MOX_TLS_SERVER_OPTIONS_INIT;
    mox_tls_client_options co = MOX_TLS_CLIENT_OPTIONS_INIT;
    co.insecure = 1;
    if (mox_tls_selfsigned(names, 1, 30, &cert, &key, NULL) != MOX_OK ||
        mox_tls_config_new_server(&scfg, &so, NULL) != MOX_OK ||
        mox_tls_config_add_cert(scfg, cert.data, cert.len, key.data, key.len, NULL) != MOX_OK ||
        mox_tls_config_new_client(&ccfg, &co, NULL) != MOX_OK || moxi_tls_server_prepare(scfg, NULL))
        return 1;
    memset(payload, 'x', sizeof payload);
    double secs = mox_bench_seconds(1.0);
    int rounds = mox_bench_rounds(5);

    double he = mox_bench_run("tls handshake, engine pair in memory", hs_engine, NULL, secs, rounds);
    double hr = mox_bench_run("tls handshake, mbedTLS pair in memory", hs_raw, NULL, secs, rounds);
    mox_bench_ratio("tls handshake engine/mbedTLS", he, hr);

    if (pair(&bc, &bs) != 0)
        return 1;
    double be = mox_bench_run("tls 1 MiB, engine pair in memory (MiB/s)", bulk_engine, NULL, secs,
                              rounds);
    mox_tls_free(bc);
    mox_tls_free(bs);
    if (raw_pair() != 0)
        return 1;
    double br = mox_bench_run("tls 1 MiB, mbedTLS pair in memory (MiB/s)", bulk_raw, NULL, secs,
                              rounds);
    raw_free();
    mox_bench_ratio("tls bulk in memory engine/mbedTLS", be, br);

    double sw = socket_run(1, secs, rounds, 0);
    double sr = socket_run(0, secs, rounds, 0);
    mox_bench_ratio("tls bulk over a socket wrapper/mbedTLS", sw, sr);

    /* CPU time for fixed work */
    double c0 = cpu_s();
    for (int i = 0; i < 40; i++)
        if (hs_engine(NULL) != 0)
            return 1;
    double c1 = cpu_s();
    for (int i = 0; i < 40; i++)
        if (hs_raw(NULL) != 0)
            return 1;
    double c2 = cpu_s();
    printf("tls handshake CPU: engine %.2f ms, mbedTLS %.2f ms (both sides)\n",
           (c1 - c0) * 1000 / 40, (c2 - c1) * 1000 / 40);
    if (pair(&bc, &bs) != 0)
        return 1;
    c0 = cpu_s();
    for (int i = 0; i < 64; i++)
        if (bulk_engine(NULL) != 0)
            return 1;
    c1 = cpu_s();
    mox_tls_free(bc);
    mox_tls_free(bs);
    if (raw_pair() != 0)
        return 1;
    c2 = cpu_s();
    for (int i = 0; i < 64; i++)
        if (bulk_raw(NULL) != 0)
            return 1;
    double c3 = cpu_s();
    raw_free();
    printf("tls bulk in memory CPU: engine %.2f ms, mbedTLS %.2f ms per MiB\n",
           (c1 - c0) * 1000 / 64, (c3 - c2) * 1000 / 64);
    double cw = socket_run(1, 0, 0, 64), cr = socket_run(0, 0, 0, 64);
    printf("tls bulk over a socket CPU: mox_tls_socket %.2f ms, mbedTLS %.2f ms per MiB\n", cw,
           cr);

    mox_tls_config_free(scfg);
    mox_tls_config_free(ccfg);
    mox_buf_free(&cert);
    mox_buf_free(&key);
    return 0;
}
