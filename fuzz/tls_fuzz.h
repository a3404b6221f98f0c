/* Shared by the TLS fuzz harnesses (tls_server.c, tls_client.c) and the
 * seed generator (tls_seedgen.c): a fixed test certificate and key (for
 * nothing but fuzzing), a deterministic random generator and a fixed
 * clock for mbedTLS, so a recorded handshake replays byte for byte and
 * the seeds reach the record layer after the handshake; and the driver
 * that feeds the engine in pseudo-random pieces. */
#ifndef MOX_TLS_FUZZ_H
#define MOX_TLS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mox/tls.h"
#include "tls/tls_priv.h"

/* mbedTLS 2.28 puts the time into the hello randoms (MBEDTLS_HAVE_TIME):
 * a fixed time keeps transcripts reproducible. Interposes libc's time()
 * for the whole fuzz process. */
time_t time(time_t *t)
{
    if (t)
        *t = 1700000000;
    return 1700000000;
}

static const char moxf_cert[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBqjCCAVCgAwIBAgIULAJrorJ6m/4hxva6d7umyZiqSX4wCgYIKoZIzj0EAwIw\n"
    "GzEZMBcGA1UEAwwQbWFpbC5leGFtcGxlLm9yZzAgFw0yNjEyMDgwMDAzNDVaGA8y\n"
    "MTI2MTExNDAwMDM0NVowGzEZMBcGA1UEAwwQbWFpbC5leGFtcGxlLm9yZzBZMBMG\n"
    "ByqGSM49AgEGCCqGSM49AwEHA0IABK5lPHKIKWmop6QRUJCBrgvnFR2D6SPJiVk+\n"
    "VKY10EkkPy7NzaNNDQXORkuTYavSjHofvLkfXARzqN8MyRZ4K0ijcDBuMB0GA1Ud\n"
    "DgQWBBScyateDvIL71LSB+bPT4PYih8gwjAfBgNVHSMEGDAWgBScyateDvIL71LS\n"
    "B+bPT4PYih8gwjAPBgNVHRMBAf8EBTADAQH/MBsGA1UdEQQUMBKCEG1haWwuZXhh\n"
    "bXBsZS5vcmcwCgYIKoZIzj0EAwIDSAAwRQIgSiBw4hWD7/2WrCI7r5DtJPBujdqs\n"
    "1u4lSV6vfbjMr24CIQDaCV7z0YxFdmwZV+Heu5IQgYMsvz+I4sKS30BqSbN1zw==\n"
    "-----END CERTIFICATE-----\n";

static const char moxf_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgNx0qwzzK36/b7INb\n"
    "Hx5h3eqDjnJ0J8Cn6n5Jap+7LTyhRANCAASuZTxyiClpqKekEVCQga4L5xUdg+kj\n"
    "yYlZPlSmNdBJJD8uzc2jTQ0FzkZLk2Gr0ox6H7y5H1wEc6jfDMkWeCtI\n"
    "-----END PRIVATE KEY-----\n";

/* One generator state per config (xorshift64), reset for every engine. */
static uint64_t moxf_server_rng, moxf_client_rng;

static int moxf_rng(void *p, unsigned char *out, size_t n)
{
    uint64_t *s = p;
    for (size_t i = 0; i < n; i++) {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        out[i] = (unsigned char)(*s >> 24);
    }
    return 0;
}

static inline mox_tls_config *moxf_server_config(void)
{
    mox_tls_server_options o = MOX_TLS_SERVER_OPTIONS_INIT;
    o.hostname = "mail.example.org";
    o.request_client_cert = 1;
    mox_tls_config *c = NULL;
    if (mox_tls_config_new_server(&c, &o, NULL) != MOX_OK ||
        mox_tls_config_add_cert(c, moxf_cert, sizeof moxf_cert, moxf_key, sizeof moxf_key,
                                NULL) != MOX_OK)
        abort();
    mbedtls_ssl_conf_rng(&c->conf, moxf_rng, &moxf_server_rng);
    return c;
}

static inline mox_tls_config *moxf_client_config(void)
{
    mox_tls_client_options o = MOX_TLS_CLIENT_OPTIONS_INIT;
    o.insecure = 1;
    mox_tls_config *c = NULL;
    if (mox_tls_config_new_client(&c, &o, NULL) != MOX_OK)
        abort();
    mbedtls_ssl_conf_rng(&c->conf, moxf_rng, &moxf_client_rng);
    return c;
}

static inline mox_tls *moxf_engine(mox_tls_config *cfg)
{
    mox_tls_request r = MOX_TLS_REQUEST_INIT;
    r.server_name = "mail.example.org";
    mox_tls *t = NULL;
    *(uint64_t *)cfg->conf.p_rng = 0x9e3779b97f4a7c15ull;
    if (mox_tls_new(&t, cfg, cfg->role == MOX_TLS_ROLE_CLIENT ? &r : NULL, NULL) != MOX_OK)
        abort();
    return t;
}

static inline unsigned moxf_next(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* Sends (drops) the engine's output in random pieces, reads its
 * plaintext, and answers the first plaintext once. Returns whether
 * anything moved. */
static inline int moxf_drain(mox_tls *t, unsigned *seed, int *wrote)
{
    int moved = 0;
    for (;;) {
        const void *p;
        size_t n;
        if (mox_tls_output(t, &p, &n) != MOX_OK)
            abort();
        if (n == 0)
            break;
        size_t k = 1 + moxf_next(seed) % n;
        if (mox_tls_output_done(t, k) != MOX_OK)
            abort();
        moved = 1;
    }
    for (;;) {
        const void *p;
        size_t n;
        if (!(mox_tls_want(t) & MOX_WANT_DONE))
            break;
        if (moxf_next(seed) & 1) {
            if (mox_tls_plaintext(t, &p, &n) != MOX_OK)
                abort();
            if (n == 0)
                break;
            if (mox_tls_plaintext_done(t, 1 + moxf_next(seed) % n) != MOX_OK)
                abort();
        } else {
            unsigned char buf[700];
            int64_t r = mox_tls_read(t, buf, 1 + moxf_next(seed) % sizeof buf);
            if (r <= 0)
                break;
        }
        moved = 1;
        if (!*wrote && !(mox_tls_want(t) & MOX_WANT_CLOSED)) {
            *wrote = 1;
            if (mox_tls_write(t, "250 ok\r\n", 8) < 0)
                abort();
        }
    }
    return moved;
}

/* Feeds data[] to t in pseudo-random pieces (the first two bytes seed the
 * split), then the end of input; checks the contract's invariants. */
static inline void moxf_run(mox_tls *t, const uint8_t *data, size_t size)
{
    if (size < 2)
        return;
    unsigned seed = data[0] | (unsigned)data[1] << 8;
    data += 2;
    size -= 2;
    int wrote = 0;
    size_t off = 0;
    while (off < size) {
        size_t k = 1 + moxf_next(&seed) % 700;
        if (k > size - off)
            k = size - off;
        int64_t took = mox_tls_feed(t, data + off, k);
        if (took < 0)
            abort(); /* feed fails only for misuse */
        off += (size_t)took;
        int moved = moxf_drain(t, &seed, &wrote);
        if (took == 0 && !moved)
            abort(); /* full, yet nothing to drain: stuck */
        if (mox_tls_want(t) & MOX_WANT_CLOSED)
            break;
    }
    if (mox_tls_eof(t) != MOX_OK)
        abort();
    while (moxf_drain(t, &seed, &wrote))
        ;
    unsigned w = mox_tls_want(t);
    if (getenv("MOX_FUZZ_VERBOSE"))
        fprintf(stderr, "want %s, error %d %s\n", mox_want_name(w), mox_tls_error(t)->code,
                mox_tls_error(t)->msg);
    if (!(w & MOX_WANT_CLOSED))
        abort(); /* the input ended: the connection must be over */
    if (w & (MOX_WANT_READ | MOX_WANT_TIMER))
        abort();
    mox_tls_info info = MOX_TLS_INFO_INIT;
    int rc = mox_tls_get_info(t, &info);
    if ((w & MOX_WANT_DONE) ? rc != MOX_OK || !info.cipher[0] : rc != MOX_ERR_STATE)
        abort();
    if (!(w & MOX_WANT_DONE) && mox_tls_error(t)->code == MOX_OK)
        abort(); /* a handshake that did not finish says why */
    mox_tls_close(t);
    while (moxf_drain(t, &seed, &wrote))
        ;
}

#endif
