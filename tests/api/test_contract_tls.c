/* The engine contract for tls (include/mox/tls.h): names and the generic
 * view, NULL-safe frees, zeroed options valid, errinfo filled on every
 * constructor failure, misuse errors (feed after eof, output_done and
 * plaintext_done past what was handed out, calls before the handshake);
 * then the engine itself, two of them in memory: handshakes with input
 * split at random points, data both ways, close_notify, renegotiation
 * refused in both roles (against a raw mbedTLS peer that asks), truncated
 * and garbage records with their precise errors, the handshake deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>

#include "moxtest.h"
#include "mox/tls.h"

static mox_buf cert, key;
static char ca_path[] = "/tmp/mox-contract-tls-XXXXXX";
static int ca_fd = -1;

static int setup(void **st)
{
    (void)st;
    static const char *const names[] = {"mail.example.org", "*.example.net"};
    mox_errinfo ei;
    if (mox_tls_selfsigned(names, 2, 30, &cert, &key, &ei) != MOX_OK)
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

static mox_tls_config *server_cfg(const mox_clock *clock)
{
    mox_tls_server_options o = MOX_TLS_SERVER_OPTIONS_INIT;
    o.hostname = "mail.example.org";
    o.clock = clock;
    mox_tls_config *c = NULL;
    mox_errinfo ei;
    assert_int_equal(mox_tls_config_new_server(&c, &o, &ei), MOX_OK);
    assert_int_equal(mox_tls_config_add_cert(c, cert.data, cert.len, key.data, key.len, &ei),
                     MOX_OK);
    return c;
}

static mox_tls_config *client_cfg(const mox_clock *clock)
{
    mox_tls_client_options o = MOX_TLS_CLIENT_OPTIONS_INIT;
    o.ca_file = ca_path;
    o.clock = clock;
    mox_tls_config *c = NULL;
    mox_errinfo ei;
    if (mox_tls_config_new_client(&c, &o, &ei) != MOX_OK)
        fail_msg("client config: %s", ei.msg);
    return c;
}

static mox_tls *client(mox_tls_config *cc, const char *name, int verify)
{
    mox_tls_request r = MOX_TLS_REQUEST_INIT;
    r.server_name = name;
    r.verify = verify;
    mox_tls *t = NULL;
    mox_errinfo ei;
    if (mox_tls_new(&t, cc, &r, &ei) != MOX_OK)
        fail_msg("client: %s", ei.msg);
    return t;
}

static mox_tls *server(mox_tls_config *sc)
{
    mox_tls *t = NULL;
    mox_errinfo ei;
    if (mox_tls_new(&t, sc, NULL, &ei) != MOX_OK)
        fail_msg("server: %s", ei.msg);
    return t;
}

static size_t rnd(unsigned *seed, size_t max)
{
    return max ? (size_t)rand_r(seed) % max : 0;
}

/* Moves ciphertext from a to b in one random piece. Returns bytes moved. */
static size_t xfer(mox_tls *a, mox_tls *b, unsigned *seed)
{
    const void *p;
    size_t n;
    assert_int_equal(mox_tls_output(a, &p, &n), MOX_OK);
    if (n == 0)
        return 0;
    size_t k = 1 + rnd(seed, n);
    int64_t took = mox_tls_feed(b, p, k);
    assert_true(took >= 0);
    assert_int_equal(mox_tls_output_done(a, (size_t)took), MOX_OK);
    return (size_t)took;
}

static void settle(mox_tls *c, mox_tls *s, unsigned *seed)
{
    for (int i = 0; i < 100000; i++)
        if (!xfer(c, s, seed) && !xfer(s, c, seed))
            return;
    fail_msg("no end to the exchange");
}

/* ------------------------------------------------------------ contract */

static void t_names(void **st)
{
    (void)st;
    /* Every contract name exists with its signature. */
    unsigned (*want)(const mox_tls *) = mox_tls_want;
    int64_t (*feed)(mox_tls *, const void *, size_t) = mox_tls_feed;
    int (*eof)(mox_tls *) = mox_tls_eof;
    int (*output)(mox_tls *, const void **, size_t *) = mox_tls_output;
    int (*output_done)(mox_tls *, size_t) = mox_tls_output_done;
    int64_t (*deadline)(const mox_tls *) = mox_tls_deadline;
    int (*tick)(mox_tls *, int64_t) = mox_tls_tick;
    mox_engine *(*engine)(mox_tls *) = mox_tls_engine;
    int (*newf)(mox_tls **, mox_tls_config *, const mox_tls_request *, mox_errinfo *) =
        mox_tls_new;
    void (*freef)(mox_tls *) = mox_tls_free;
    assert_non_null(want);
    assert_non_null(feed);
    assert_non_null(eof);
    assert_non_null(output);
    assert_non_null(output_done);
    assert_non_null(deadline);
    assert_non_null(tick);
    assert_non_null(engine);
    assert_non_null(newf);
    assert_non_null(freef);
    mox_tls_config *cc = client_cfg(NULL);
    mox_tls *t = client(cc, "mail.example.org", MOX_TLS_VERIFY_WEBPKI);
    mox_engine *g = mox_tls_engine(t);
    assert_string_equal(mox_engine_name(g), "tls");
    /* a client has its ClientHello ready and waits for the server */
    assert_int_equal(mox_engine_want(g), MOX_WANT_WRITE | MOX_WANT_READ | MOX_WANT_TIMER);
    assert_true(mox_engine_deadline(g) != MOX_NO_DEADLINE);
    /* groups tls does not have */
    mox_query q;
    assert_int_equal(mox_engine_query(g, &q), MOX_ERR_UNSUPPORTED);
    assert_int_equal(mox_engine_answer(g, NULL), MOX_ERR_UNSUPPORTED);
    assert_int_equal(mox_engine_tls_done(g, 0, NULL), MOX_ERR_UNSUPPORTED);
    assert_null(mox_tls_engine(NULL));
    assert_int_equal(mox_tls_want(NULL), 0);
    assert_int_equal(mox_tls_deadline(NULL), MOX_NO_DEADLINE);
    mox_tls_free(t);
    mox_tls_config_free(cc);
}

static void t_free_null(void **st)
{
    (void)st;
    mox_tls_free(NULL);
    mox_tls_config_free(NULL);
    mox_tls_socket_free(NULL);
    mox_tls_transport_free(NULL);
    mox_tls_client_options_init(NULL, 0);
    mox_tls_server_options_init(NULL, 0);
}

static void t_zeroed(void **st)
{
    (void)st;
    mox_errinfo ei;
    mox_tls_config *c = NULL;
    /* zeroed client options with size: the system CA bundle */
    mox_tls_client_options co;
    memset(&co, 0, sizeof co);
    co.size = sizeof co;
    assert_int_equal(mox_tls_config_new_client(&c, &co, &ei), MOX_OK);
    /* a zeroed request: client role, no name, VERIFY_NONE */
    mox_tls_request r;
    memset(&r, 0, sizeof r);
    r.size = sizeof r;
    mox_tls *t = NULL;
    assert_int_equal(mox_tls_new(&t, c, &r, &ei), MOX_OK);
    mox_tls_free(t);
    mox_tls_config_free(c);
    /* the function forms equal the macros */
    mox_tls_client_options a = MOX_TLS_CLIENT_OPTIONS_INIT, b;
    mox_tls_client_options_init(&b, sizeof b);
    assert_memory_equal(&a, &b, sizeof a);
    mox_tls_server_options sa = MOX_TLS_SERVER_OPTIONS_INIT, sb;
    mox_tls_server_options_init(&sb, sizeof sb);
    assert_memory_equal(&sa, &sb, sizeof sa);
    assert_int_equal(mox_tls_config_new_server(&c, &sb, &ei), MOX_OK);
    mox_tls_config_free(c);
    /* options of an older, smaller header */
    co.size = offsetof(mox_tls_client_options, handshake_timeout_ms);
    co.insecure = 1;
    assert_int_equal(mox_tls_config_new_client(&c, &co, &ei), MOX_OK);
    mox_tls_config_free(c);
}

#define EXPECT_FAIL(call, want)                                                                  \
    do {                                                                                         \
        mox_errinfo_clear(&ei);                                                                  \
        assert_int_equal((call), (want));                                                        \
        assert_int_equal(ei.code, (want));                                                       \
        assert_true(ei.msg[0] != 0);                                                             \
    } while (0)

static void t_errinfo(void **st)
{
    (void)st;
    mox_errinfo ei;
    mox_tls_config *c = NULL;
    mox_tls_client_options co = MOX_TLS_CLIENT_OPTIONS_INIT;
    EXPECT_FAIL(mox_tls_config_new_client(NULL, &co, &ei), MOX_ERR_INVAL);
    EXPECT_FAIL(mox_tls_config_new_client(&c, NULL, &ei), MOX_ERR_INVAL);
    co.min_version = 0x0301;
    EXPECT_FAIL(mox_tls_config_new_client(&c, &co, &ei), MOX_ERR_UNSUPPORTED);
    co.min_version = 0;
    co.ca_file = "/nonexistent/ca.pem";
    EXPECT_FAIL(mox_tls_config_new_client(&c, &co, &ei), MOX_ERR_IO);
    assert_non_null(strstr(ei.msg, "/nonexistent/ca.pem"));
    co.ca_file = NULL;
    co.cert_file = "x.pem";
    EXPECT_FAIL(mox_tls_config_new_client(&c, &co, &ei), MOX_ERR_INVAL);
    assert_null(c);
    mox_tls_server_options so = MOX_TLS_SERVER_OPTIONS_INIT;
    EXPECT_FAIL(mox_tls_config_new_server(NULL, &so, &ei), MOX_ERR_INVAL);
    EXPECT_FAIL(mox_tls_config_new_server(&c, NULL, &ei), MOX_ERR_INVAL);
    so.min_version = 0x0302;
    EXPECT_FAIL(mox_tls_config_new_server(&c, &so, &ei), MOX_ERR_UNSUPPORTED);

    mox_tls_config *cc = client_cfg(NULL);
    mox_tls_config *sc = server_cfg(NULL);
    mox_tls_config *empty = NULL;
    so.min_version = 0;
    assert_int_equal(mox_tls_config_new_server(&empty, &so, &ei), MOX_OK);
    mox_tls_client_options io = MOX_TLS_CLIENT_OPTIONS_INIT;
    io.insecure = 1;
    mox_tls_config *noca = NULL;
    assert_int_equal(mox_tls_config_new_client(&noca, &io, &ei), MOX_OK);
    mox_tls *t = NULL;
    mox_tls_request r = MOX_TLS_REQUEST_INIT;
    EXPECT_FAIL(mox_tls_new(NULL, cc, &r, &ei), MOX_ERR_INVAL);
    EXPECT_FAIL(mox_tls_new(&t, NULL, &r, &ei), MOX_ERR_INVAL);
    r.role = MOX_TLS_ROLE_SERVER;
    EXPECT_FAIL(mox_tls_new(&t, cc, &r, &ei), MOX_ERR_INVAL);
    r.role = 7;
    EXPECT_FAIL(mox_tls_new(&t, cc, &r, &ei), MOX_ERR_INVAL);
    r.role = 0;
    r.verify = MOX_TLS_VERIFY_WEBPKI;
    EXPECT_FAIL(mox_tls_new(&t, cc, &r, &ei), MOX_ERR_INVAL); /* no name */
    EXPECT_FAIL(mox_tls_new(&t, cc, NULL, &ei), MOX_ERR_INVAL); /* WEBPKI by default */
    r.server_name = "192.0.2.1";
    EXPECT_FAIL(mox_tls_new(&t, cc, &r, &ei), MOX_ERR_UNSUPPORTED);
    r.server_name = "::1";
    EXPECT_FAIL(mox_tls_new(&t, cc, &r, &ei), MOX_ERR_UNSUPPORTED);
    r.server_name = "mail.example.org";
    EXPECT_FAIL(mox_tls_new(&t, noca, &r, &ei), MOX_ERR_INVAL); /* WebPKI without CAs */
    r.verify = MOX_TLS_VERIFY_DANE;
    EXPECT_FAIL(mox_tls_new(&t, cc, &r, &ei), MOX_ERR_INVAL); /* no TLSA */
    mox_dns_rr pkix;
    memset(&pkix, 0, sizeof pkix);
    pkix.type = MOX_DNS_TLSA;
    pkix.u.tlsa.usage = 1; /* PKIX-EE: unusable for SMTP */
    pkix.u.tlsa.matching = 1;
    static const unsigned char h[32];
    pkix.u.tlsa.data = h;
    pkix.u.tlsa.len = 32;
    r.tlsa = &pkix;
    r.ntlsa = 1;
    EXPECT_FAIL(mox_tls_new(&t, cc, &r, &ei), MOX_ERR_INVAL);
    r.verify = MOX_TLS_VERIFY_MTASTS;
    EXPECT_FAIL(mox_tls_new(&t, cc, &r, &ei), MOX_ERR_INVAL); /* no patterns */
    r.verify = 9;
    EXPECT_FAIL(mox_tls_new(&t, cc, &r, &ei), MOX_ERR_INVAL);
    r.size = 0;
    EXPECT_FAIL(mox_tls_new(&t, cc, &r, &ei), MOX_ERR_INVAL);
    EXPECT_FAIL(mox_tls_new(&t, empty, NULL, &ei), MOX_ERR_STATE); /* no certificate */
    assert_null(t);
    mox_tls_socket *s = NULL;
    EXPECT_FAIL(mox_tls_socket_new(&s, sc, -1, NULL, &ei), MOX_ERR_INVAL);
    EXPECT_FAIL(mox_tls_socket_new(NULL, sc, 0, NULL, &ei), MOX_ERR_INVAL);
    mox_tls_transport *x = NULL;
    EXPECT_FAIL(mox_tls_transport_new(&x, NULL, 0, &ei), MOX_ERR_INVAL);
    EXPECT_FAIL(mox_tls_transport_new(NULL, sc, 0, &ei), MOX_ERR_INVAL);
    mox_tls_config_free(noca);
    mox_tls_config_free(empty);
    mox_tls_config_free(sc);
    mox_tls_config_free(cc);
}

static void t_misuse(void **st)
{
    (void)st;
    mox_tls_config *cc = client_cfg(NULL);
    mox_tls *t = client(cc, "mail.example.org", MOX_TLS_VERIFY_WEBPKI);
    mox_engine *g = mox_tls_engine(t);
    const void *p;
    size_t n;
    assert_int_equal(mox_tls_output(t, &p, &n), MOX_OK);
    assert_true(n > 0);
    /* output_done past what was handed out */
    assert_int_equal(mox_tls_output_done(t, n + 1), MOX_ERR_INVAL);
    assert_int_equal(mox_engine_error(g)->code, MOX_ERR_INVAL);
    assert_non_null(strstr(mox_engine_error(g)->msg, "handed out"));
    /* ... which corrupted nothing: the same bytes are still there */
    const void *p2;
    size_t n2;
    assert_int_equal(mox_tls_output(t, &p2, &n2), MOX_OK);
    assert_int_equal(n2, n);
    assert_int_equal(mox_tls_output_done(t, 1), MOX_OK);
    assert_int_equal(mox_tls_output_done(t, n), MOX_ERR_INVAL);
    assert_int_equal(mox_tls_output_done(t, n - 1), MOX_OK);
    assert_int_equal(mox_tls_output_done(t, 1), MOX_ERR_INVAL);
    assert_int_equal(mox_tls_output_done(t, 0), MOX_OK);
    /* before the handshake */
    char buf[16];
    assert_int_equal(mox_tls_read(t, buf, sizeof buf), MOX_ERR_STATE);
    assert_int_equal(mox_engine_error(g)->code, MOX_ERR_STATE);
    assert_int_equal(mox_tls_write(t, "x", 1), MOX_ERR_STATE);
    assert_int_equal(mox_tls_plaintext(t, &p, &n), MOX_ERR_STATE);
    assert_int_equal(mox_tls_plaintext_done(t, 1), MOX_ERR_INVAL);
    mox_tls_info info = MOX_TLS_INFO_INIT;
    assert_int_equal(mox_tls_get_info(t, &info), MOX_ERR_STATE);
    assert_string_equal(mox_tls_cipher(t), "");
    assert_int_equal(mox_tls_feed(t, NULL, 3), MOX_ERR_INVAL);
    assert_int_equal(mox_tls_read(t, NULL, 3), MOX_ERR_INVAL);
    /* feed after eof */
    assert_int_equal(mox_tls_eof(t), MOX_OK);
    assert_int_equal(mox_tls_feed(t, "x", 1), MOX_ERR_STATE);
    assert_int_equal(mox_engine_error(g)->code, MOX_ERR_STATE);
    assert_non_null(strstr(mox_engine_error(g)->msg, "after eof"));
    assert_int_equal(mox_engine_feed(g, "x", 1), MOX_ERR_STATE);
    assert_int_equal(mox_tls_eof(t), MOX_ERR_STATE);
    /* the eof itself ended the handshake: a precise error, CLOSED */
    assert_true(mox_tls_want(t) & MOX_WANT_CLOSED);
    assert_false(mox_tls_want(t) & MOX_WANT_DONE);
    assert_int_equal(mox_tls_error(t)->code, MOX_ERR_IO);
    assert_non_null(strstr(mox_tls_error(t)->msg, "closed during the handshake"));
    assert_int_equal(mox_tls_deadline(t), MOX_NO_DEADLINE);
    mox_tls_free(t);
    mox_tls_config_free(cc);
}

/* ------------------------------------------------------------ handshakes */

static void check_infos(mox_tls *c, mox_tls *s)
{
    mox_tls_info ci = MOX_TLS_INFO_INIT, si = MOX_TLS_INFO_INIT;
    assert_int_equal(mox_tls_get_info(c, &ci), MOX_OK);
    assert_int_equal(mox_tls_get_info(s, &si), MOX_OK);
    assert_int_equal(ci.version, MOX_TLS_VERSION_1_2);
    assert_int_equal(si.version, MOX_TLS_VERSION_1_2);
    assert_int_equal(ci.cipher_id, si.cipher_id);
    assert_non_null(ci.cipher);
    assert_string_equal(ci.cipher, si.cipher);
    assert_string_equal(ci.cipher, mox_tls_cipher_suite_name(ci.cipher_id));
    assert_non_null(strstr(ci.cipher, "TLS_ECDHE_ECDSA_WITH_"));
    assert_string_equal(mox_tls_cipher(c), ci.cipher);
    assert_non_null(si.sni);
    assert_string_equal(si.sni, "mail.example.org");
    assert_string_equal(ci.sni, "mail.example.org");
    assert_true(ci.peer_cert);
    assert_true(ci.peer_verified);
    assert_false(si.peer_cert);
    assert_false(si.peer_verified);
    unsigned char spki[32];
    mox_errinfo ei;
    assert_int_equal(mox_tls_cert_spki_sha256(cert.data, cert.len, spki, &ei), MOX_OK);
    assert_memory_equal(ci.peer_spki_sha256, spki, 32);
    /* channel bindings: the same on both sides */
    assert_int_equal(ci.tls_unique_len, 12);
    assert_int_equal(si.tls_unique_len, 12);
    assert_memory_equal(ci.tls_unique, si.tls_unique, 12);
    assert_int_equal(ci.tls_exporter_len, 32);
    assert_int_equal(si.tls_exporter_len, 32);
    assert_memory_equal(ci.tls_exporter, si.tls_exporter, 32);
    assert_int_equal(ci.tls_server_end_point_len, 32); /* ecdsa-with-SHA256 */
    assert_int_equal(si.tls_server_end_point_len, 32);
    assert_memory_equal(ci.tls_server_end_point, si.tls_server_end_point, 32);
    assert_false(ci.resumed);
    assert_null(si.peer_identity);
    /* an older, smaller info is filled up to its size */
    mox_tls_info old;
    memset(&old, 0xAA, sizeof old);
    old.size = offsetof(mox_tls_info, sni);
    assert_int_equal(mox_tls_get_info(c, &old), MOX_OK);
    assert_int_equal(old.version, MOX_TLS_VERSION_1_2);
    assert_true(*(const unsigned char *)&old.sni == 0xAA);
}

/* Sends `len` pattern bytes from a to b in random pieces, reading them
 * with the zero-copy calls on b. */
static void stream(mox_tls *a, mox_tls *b, size_t len, unsigned *seed)
{
    size_t sent = 0, got = 0;
    for (int rounds = 0; got < len; rounds++) {
        assert_true(rounds < 100000);
        if (sent < len) {
            unsigned char chunk[20000];
            size_t k = 1 + rnd(seed, sizeof chunk < len - sent ? sizeof chunk : len - sent);
            for (size_t i = 0; i < k; i++)
                chunk[i] = (unsigned char)((sent + i) * 7 + 3);
            int64_t w = mox_tls_write(a, chunk, k);
            assert_true(w >= 0);
            sent += (size_t)w;
        }
        xfer(a, b, seed);
        const void *p;
        size_t n;
        assert_int_equal(mox_tls_plaintext(b, &p, &n), MOX_OK);
        if (n) {
            size_t k = 1 + rnd(seed, n);
            for (size_t i = 0; i < k; i++)
                if (((const unsigned char *)p)[i] != (unsigned char)((got + i) * 7 + 3))
                    fail_msg("byte %zu differs", got + i);
            got += k;
            assert_int_equal(mox_tls_plaintext_done(b, k), MOX_OK);
        }
    }
    assert_int_equal(got, len);
}

static void t_handshake_splits(void **st)
{
    (void)st;
    mox_tls_config *cc = client_cfg(NULL), *sc = server_cfg(NULL);
    for (unsigned seed0 = 1; seed0 <= 24; seed0++) {
        unsigned seed = seed0;
        mox_tls *c = client(cc, "mail.example.org", MOX_TLS_VERIFY_WEBPKI);
        mox_tls *s = server(sc);
        settle(c, s, &seed);
        assert_int_equal(mox_tls_want(c), MOX_WANT_DONE | MOX_WANT_READ);
        assert_int_equal(mox_tls_want(s), MOX_WANT_DONE | MOX_WANT_READ);
        assert_int_equal(mox_tls_deadline(c), MOX_NO_DEADLINE);
        if (seed0 == 1)
            check_infos(c, s);
        assert_string_equal(mox_tls_verify_error(c), "");
        /* data both ways, in random pieces */
        stream(c, s, seed0 == 1 ? 300000 : 5000, &seed);
        stream(s, c, 7000, &seed);
        /* copying read */
        assert_int_equal(mox_tls_write(c, "ping", 4), 4);
        settle(c, s, &seed);
        char buf[8];
        assert_int_equal(mox_tls_pending(s), 4);
        assert_int_equal(mox_tls_read(s, buf, sizeof buf), 4);
        assert_memory_equal(buf, "ping", 4);
        assert_int_equal(mox_tls_read(s, buf, sizeof buf), MOX_ERR_AGAIN);
        /* close_notify from either side, answered by the other */
        mox_tls *closer = seed0 % 2 ? c : s, *other = seed0 % 2 ? s : c;
        assert_int_equal(mox_tls_write(closer, "bye", 3), 3);
        assert_int_equal(mox_tls_close(closer), MOX_OK);
        assert_int_equal(mox_tls_close(closer), MOX_OK); /* idempotent */
        assert_int_equal(mox_tls_want(closer),
                         MOX_WANT_WRITE | MOX_WANT_CLOSED | MOX_WANT_DONE);
        assert_int_equal(mox_tls_write(closer, "x", 1), MOX_ERR_STATE);
        settle(c, s, &seed);
        assert_int_equal(mox_tls_want(closer), MOX_WANT_CLOSED | MOX_WANT_DONE);
        assert_int_equal(mox_tls_want(other), MOX_WANT_CLOSED | MOX_WANT_DONE);
        assert_int_equal(mox_tls_read(other, buf, sizeof buf), 3);
        assert_int_equal(mox_tls_read(other, buf, sizeof buf), 0); /* clean end */
        assert_int_equal(mox_tls_error(other)->code, MOX_OK);
        assert_int_equal(mox_tls_read(closer, buf, sizeof buf), 0);
        /* bytes after the end are taken and dropped */
        assert_int_equal(mox_tls_feed(other, "zz", 2), 2);
        mox_tls_free(c);
        mox_tls_free(s);
    }
    mox_tls_config_free(cc);
    mox_tls_config_free(sc);
}

/* A wrong name fails the handshake with MOX_ERR_PERM and an alert the
 * server names; VERIFY_NONE accepts it and logs why. */
static void t_verify(void **st)
{
    (void)st;
    mox_tls_config *cc = client_cfg(NULL), *sc = server_cfg(NULL);
    unsigned seed = 5;
    mox_tls *c = client(cc, "other.example.com", MOX_TLS_VERIFY_WEBPKI);
    mox_tls *s = server(sc);
    settle(c, s, &seed);
    assert_int_equal(mox_tls_want(c), MOX_WANT_CLOSED);
    assert_int_equal(mox_tls_error(c)->code, MOX_ERR_PERM);
    assert_non_null(strstr(mox_tls_error(c)->msg, "certificate verification failed"));
    assert_true(mox_tls_want(s) & MOX_WANT_CLOSED);
    assert_int_equal(mox_tls_error(s)->code, MOX_ERR_CRYPTO);
    assert_non_null(strstr(mox_tls_error(s)->msg, "bad_certificate"));
    assert_string_equal(mox_tls_failure(s), "alert-bad_certificate");
    mox_tls_free(c);
    mox_tls_free(s);
    /* wildcard name: one label */
    c = client(cc, "mx.example.net", MOX_TLS_VERIFY_WEBPKI);
    s = server(sc);
    settle(c, s, &seed);
    assert_true(mox_tls_want(c) & MOX_WANT_DONE);
    mox_tls_free(c);
    mox_tls_free(s);
    c = client(cc, "other.example.com", MOX_TLS_VERIFY_NONE);
    s = server(sc);
    settle(c, s, &seed);
    assert_true(mox_tls_want(c) & MOX_WANT_DONE);
    assert_non_null(strstr(mox_tls_verify_error(c), "CN"));
    mox_tls_info ci = MOX_TLS_INFO_INIT;
    assert_int_equal(mox_tls_get_info(c, &ci), MOX_OK);
    assert_true(ci.peer_cert);
    assert_false(ci.peer_verified);
    mox_tls_free(c);
    mox_tls_free(s);
    mox_tls_config_free(cc);
    mox_tls_config_free(sc);
}

/* ------------------------------------------------------------ renegotiation */

/* A raw mbedTLS peer over memory that does renegotiate when asked. */
typedef struct raw {
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    mbedtls_entropy_context ent;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt crt;
    mbedtls_pk_context pk;
    unsigned char in[65536];
    size_t in_off, in_len;
    unsigned char out[65536];
    size_t out_len;
} raw;

static int raw_send(void *ctx, const unsigned char *b, size_t n)
{
    raw *r = ctx;
    if (n > sizeof r->out - r->out_len)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    memcpy(r->out + r->out_len, b, n);
    r->out_len += n;
    return (int)n;
}

static int raw_recv(void *ctx, unsigned char *b, size_t n)
{
    raw *r = ctx;
    if (r->in_off == r->in_len)
        return MBEDTLS_ERR_SSL_WANT_READ;
    if (n > r->in_len - r->in_off)
        n = r->in_len - r->in_off;
    memcpy(b, r->in + r->in_off, n);
    r->in_off += n;
    return (int)n;
}

static void raw_init(raw *r, int endpoint)
{
    memset(r, 0, sizeof *r);
    mbedtls_ssl_config_init(&r->conf);
    mbedtls_ssl_init(&r->ssl);
    mbedtls_entropy_init(&r->ent);
    mbedtls_ctr_drbg_init(&r->drbg);
    mbedtls_x509_crt_init(&r->crt);
    mbedtls_pk_init(&r->pk);
    assert_int_equal(mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->ent, NULL, 0), 0);
    assert_int_equal(mbedtls_ssl_config_defaults(&r->conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
                                                 MBEDTLS_SSL_PRESET_DEFAULT),
                     0);
    mbedtls_ssl_conf_rng(&r->conf, mbedtls_ctr_drbg_random, &r->drbg);
    mbedtls_ssl_conf_authmode(&r->conf, MBEDTLS_SSL_VERIFY_NONE);
    mbedtls_ssl_conf_renegotiation(&r->conf, MBEDTLS_SSL_RENEGOTIATION_ENABLED);
    if (endpoint == MBEDTLS_SSL_IS_SERVER) {
        assert_int_equal(mbedtls_x509_crt_parse(&r->crt, cert.data, cert.len + 1), 0);
        assert_int_equal(mbedtls_pk_parse_key(&r->pk, key.data, key.len + 1, NULL, 0), 0);
        assert_int_equal(mbedtls_ssl_conf_own_cert(&r->conf, &r->crt, &r->pk), 0);
    }
    assert_int_equal(mbedtls_ssl_setup(&r->ssl, &r->conf), 0);
    mbedtls_ssl_set_bio(&r->ssl, r, raw_send, raw_recv, NULL);
}

static void raw_free(raw *r)
{
    mbedtls_ssl_free(&r->ssl);
    mbedtls_ssl_config_free(&r->conf);
    mbedtls_ctr_drbg_free(&r->drbg);
    mbedtls_entropy_free(&r->ent);
    mbedtls_x509_crt_free(&r->crt);
    mbedtls_pk_free(&r->pk);
}

/* Moves bytes between a raw peer and an engine until neither moves. */
static void raw_settle(raw *r, mox_tls *t, int (*step)(mbedtls_ssl_context *))
{
    for (int i = 0; i < 1000; i++) {
        int moved = 0;
        if (step)
            step(&r->ssl);
        if (r->out_len) {
            int64_t took = mox_tls_feed(t, r->out, r->out_len);
            assert_true(took >= 0);
            memmove(r->out, r->out + took, r->out_len - (size_t)took);
            r->out_len -= (size_t)took;
            moved |= took > 0;
        }
        const void *p;
        size_t n;
        mox_tls_output(t, &p, &n);
        if (n) {
            if (r->in_off == r->in_len)
                r->in_off = r->in_len = 0;
            assert_true(n <= sizeof r->in - r->in_len);
            memcpy(r->in + r->in_len, p, n);
            r->in_len += n;
            mox_tls_output_done(t, n);
            moved = 1;
        }
        if (!moved)
            return;
    }
    fail_msg("no end");
}

/* The content types of the records in t's pending output. */
static int output_has_type(mox_tls *t, unsigned char type, int *other)
{
    const void *pv;
    size_t n;
    mox_tls_output(t, &pv, &n);
    const unsigned char *p = pv;
    int found = 0;
    for (size_t i = 0; i + 5 <= n;) {
        if (p[i] == type)
            found = 1;
        else if (other)
            *other = 1;
        i += 5 + (((size_t)p[i + 3] << 8) | p[i + 4]);
    }
    return found;
}

static void t_renegotiation(void **st)
{
    (void)st;
    /* server role: a client's new ClientHello gets no_renegotiation */
    mox_tls_config *sc = server_cfg(NULL);
    raw *r = calloc(1, sizeof *r);
    raw_init(r, MBEDTLS_SSL_IS_CLIENT);
    assert_int_equal(mbedtls_ssl_set_hostname(&r->ssl, "mail.example.org"), 0);
    mox_tls *s = server(sc);
    raw_settle(r, s, mbedtls_ssl_handshake);
    assert_int_equal(mbedtls_ssl_handshake(&r->ssl), 0);
    assert_true(mox_tls_want(s) & MOX_WANT_DONE);
    int m = mbedtls_ssl_renegotiate(&r->ssl);
    assert_true(m == MBEDTLS_ERR_SSL_WANT_READ || m == 0);
    assert_true(r->out_len > 0);
    assert_int_equal(r->out[0], 22); /* the client's handshake record */
    int64_t took = mox_tls_feed(s, r->out, r->out_len);
    assert_int_equal(took, (int64_t)r->out_len);
    r->out_len = 0;
    int other = 0;
    /* the refusal: one alert record, no handshake */
    assert_true(output_has_type(s, 21, &other));
    assert_false(other);
    assert_int_equal(mox_tls_want(s), MOX_WANT_WRITE | MOX_WANT_READ | MOX_WANT_DONE);
    assert_int_equal(mox_tls_error(s)->code, MOX_OK);
    mox_tls_free(s);
    raw_free(r);
    mox_tls_config_free(sc);

    /* client role: a server's HelloRequest gets no_renegotiation */
    mox_tls_config *cc = client_cfg(NULL);
    raw_init(r, MBEDTLS_SSL_IS_SERVER);
    mox_tls *c = client(cc, "mail.example.org", MOX_TLS_VERIFY_WEBPKI);
    raw_settle(r, c, mbedtls_ssl_handshake);
    assert_int_equal(mbedtls_ssl_handshake(&r->ssl), 0);
    assert_true(mox_tls_want(c) & MOX_WANT_DONE);
    mox_tls_info before = MOX_TLS_INFO_INIT;
    assert_int_equal(mox_tls_get_info(c, &before), MOX_OK);
    unsigned char unique[12];
    memcpy(unique, before.tls_unique, 12);
    m = mbedtls_ssl_renegotiate(&r->ssl);
    assert_true(m == MBEDTLS_ERR_SSL_WANT_READ || m == 0);
    assert_true(r->out_len > 0);
    took = mox_tls_feed(c, r->out, r->out_len);
    assert_int_equal(took, (int64_t)r->out_len);
    r->out_len = 0;
    other = 0;
    assert_true(output_has_type(c, 21, &other));
    assert_false(other);
    assert_false(mox_tls_want(c) & MOX_WANT_CLOSED);
    /* the connection goes on with its first handshake's parameters */
    mox_tls_info after = MOX_TLS_INFO_INIT;
    assert_int_equal(mox_tls_get_info(c, &after), MOX_OK);
    assert_memory_equal(after.tls_unique, unique, 12);
    mox_tls_free(c);
    raw_free(r);
    free(r);
    mox_tls_config_free(cc);
}

/* ------------------------------------------------------------ bad input */

static void t_not_tls(void **st)
{
    (void)st;
    mox_tls_config *sc = server_cfg(NULL), *cc = client_cfg(NULL);
    /* plain SMTP on an implicit-TLS port */
    mox_tls *s = server(sc);
    assert_int_equal(mox_tls_want(s), MOX_WANT_READ | MOX_WANT_TIMER);
    assert_int_equal(mox_tls_feed(s, "EHLO x\r\n", 8), 8);
    assert_true(mox_tls_want(s) & MOX_WANT_CLOSED);
    assert_int_equal(mox_tls_error(s)->code, MOX_ERR_SYNTAX);
    assert_non_null(strstr(mox_tls_error(s)->msg, "not TLS: the first byte is 0x45"));
    assert_string_equal(mox_tls_failure(s), "not-tls");
    assert_int_equal(mox_engine_error(mox_tls_engine(s))->code, MOX_ERR_SYNTAX);
    mox_tls_free(s);
    /* a plaintext greeting to a client */
    mox_tls *c = client(cc, "mail.example.org", MOX_TLS_VERIFY_WEBPKI);
    const void *p;
    size_t n;
    mox_tls_output(c, &p, &n);
    mox_tls_output_done(c, n);
    assert_int_equal(mox_tls_feed(c, "220 mx ESMTP\r\n", 14), 14);
    assert_int_equal(mox_tls_want(c) & MOX_WANT_CLOSED, MOX_WANT_CLOSED);
    assert_int_equal(mox_tls_error(c)->code, MOX_ERR_SYNTAX);
    assert_non_null(strstr(mox_tls_error(c)->msg, "invalid header of record 1: content type 50"));
    mox_tls_free(c);
    mox_tls_config_free(sc);
    mox_tls_config_free(cc);
}

/* The server's first flight, cut after `cut` bytes, then the input ends. */
static void truncated_flight(mox_tls_config *cc, mox_tls_config *sc, size_t cut,
                             const char *want_msg)
{
    unsigned seed = 3;
    mox_tls *c = client(cc, "mail.example.org", MOX_TLS_VERIFY_WEBPKI);
    mox_tls *s = server(sc);
    while (xfer(c, s, &seed))
        ;
    const void *p;
    size_t n;
    mox_tls_output(s, &p, &n);
    assert_true(n > cut);
    assert_int_equal(mox_tls_feed(c, p, cut), (int64_t)cut);
    assert_int_equal(mox_tls_eof(c), MOX_OK);
    assert_int_equal(mox_tls_want(c), MOX_WANT_CLOSED);
    assert_int_equal(mox_tls_error(c)->code, MOX_ERR_TRUNCATED);
    if (!strstr(mox_tls_error(c)->msg, want_msg))
        fail_msg("%s", mox_tls_error(c)->msg);
    mox_tls_free(c);
    mox_tls_free(s);
}

static void established(mox_tls_config *cc, mox_tls_config *sc, mox_tls **c, mox_tls **s)
{
    unsigned seed = 11;
    *c = client(cc, "mail.example.org", MOX_TLS_VERIFY_WEBPKI);
    *s = server(sc);
    settle(*c, *s, &seed);
    assert_true(mox_tls_want(*c) & MOX_WANT_DONE);
    assert_true(mox_tls_want(*s) & MOX_WANT_DONE);
}

static void t_truncated_garbage(void **st)
{
    (void)st;
    mox_tls_config *sc = server_cfg(NULL), *cc = client_cfg(NULL);
    truncated_flight(cc, sc, 3, "after 3 of the 5 bytes of a record header");
    truncated_flight(cc, sc, 25, "after 20 of the ");

    /* an application record cut short */
    mox_tls *c, *s;
    established(cc, sc, &c, &s);
    assert_int_equal(mox_tls_write(c, "hello", 5), 5);
    const void *p;
    size_t n;
    mox_tls_output(c, &p, &n);
    assert_int_equal(mox_tls_feed(s, p, n - 1), (int64_t)(n - 1));
    assert_int_equal(mox_tls_eof(s), MOX_OK);
    char buf[16];
    assert_int_equal(mox_tls_read(s, buf, sizeof buf), MOX_ERR_TRUNCATED);
    char want[80];
    snprintf(want, sizeof want, "after %zu of the %zu bytes of a record", n - 6, n - 5);
    if (!strstr(mox_tls_error(s)->msg, want))
        fail_msg("%s (want %s)", mox_tls_error(s)->msg, want);
    assert_true(mox_tls_want(s) & MOX_WANT_CLOSED);
    mox_tls_free(c);
    mox_tls_free(s);

    /* the input ends between records without close_notify */
    established(cc, sc, &c, &s);
    assert_int_equal(mox_tls_write(c, "hello", 5), 5);
    mox_tls_output(c, &p, &n);
    assert_int_equal(mox_tls_feed(s, p, n), (int64_t)n);
    assert_int_equal(mox_tls_eof(s), MOX_OK);
    assert_int_equal(mox_tls_read(s, buf, sizeof buf), 5);
    assert_int_equal(mox_tls_read(s, buf, sizeof buf), MOX_ERR_TRUNCATED);
    assert_non_null(strstr(mox_tls_error(s)->msg, "without close_notify"));
    /* we still close properly */
    assert_true(output_has_type(s, 21, NULL));
    mox_tls_free(c);
    mox_tls_free(s);

    /* a flipped byte: bad MAC, and the server says bad_record_mac */
    established(cc, sc, &c, &s);
    assert_int_equal(mox_tls_write(c, "hello", 5), 5);
    mox_tls_output(c, &p, &n);
    unsigned char rec[256];
    memcpy(rec, p, n);
    rec[n - 3] ^= 1;
    assert_int_equal(mox_tls_feed(s, rec, n), (int64_t)n);
    assert_int_equal(mox_tls_want(s), MOX_WANT_WRITE | MOX_WANT_CLOSED | MOX_WANT_DONE);
    assert_int_equal(mox_tls_error(s)->code, MOX_ERR_CRYPTO);
    assert_non_null(strstr(mox_tls_error(s)->msg, "failed authentication (bad MAC)"));
    assert_int_equal(mox_tls_read(s, buf, sizeof buf), MOX_ERR_CRYPTO);
    assert_int_equal(mox_tls_write(s, "x", 1), MOX_ERR_STATE);
    /* the client learns of it */
    mox_tls_output(s, &p, &n);
    assert_int_equal(mox_tls_feed(c, p, n), (int64_t)n);
    assert_true(mox_tls_want(c) & MOX_WANT_CLOSED);
    assert_non_null(strstr(mox_tls_error(c)->msg, "fatal alert bad_record_mac (20)"));
    mox_tls_free(c);
    mox_tls_free(s);

    /* garbage where a record header belongs */
    established(cc, sc, &c, &s);
    static const unsigned char junk[] = {0x99, 0x03, 0x03, 0x00, 0x02, 1, 2};
    assert_int_equal(mox_tls_feed(s, junk, sizeof junk), (int64_t)sizeof junk);
    assert_int_equal(mox_tls_error(s)->code, MOX_ERR_SYNTAX);
    assert_non_null(strstr(mox_tls_error(s)->msg, "content type 153"));
    mox_tls_free(c);
    mox_tls_free(s);
    mox_tls_config_free(sc);
    mox_tls_config_free(cc);
}

/* ------------------------------------------------------------ deadline */

static int64_t vnow;
static int64_t vmono(void *ctx)
{
    (void)ctx;
    return vnow;
}

static void t_deadline(void **st)
{
    (void)st;
    mox_clock clk = MOX_CLOCK_INIT;
    clk.mono_ns = vmono;
    vnow = 1000;
    mox_tls_server_options o = MOX_TLS_SERVER_OPTIONS_INIT;
    o.clock = &clk;
    o.handshake_timeout_ms = 5000;
    mox_tls_config *sc = NULL;
    mox_errinfo ei;
    assert_int_equal(mox_tls_config_new_server(&sc, &o, &ei), MOX_OK);
    assert_int_equal(mox_tls_config_add_cert(sc, cert.data, cert.len, key.data, key.len, &ei),
                     MOX_OK);
    mox_tls_config *cc = client_cfg(&clk); /* default: 60 s */
    mox_tls *s = server(sc);
    mox_tls *c = client(cc, "mail.example.org", MOX_TLS_VERIFY_WEBPKI);
    assert_int_equal(mox_tls_deadline(s), 1000 + 5000 * 1000000LL);
    assert_int_equal(mox_tls_deadline(c), 1000 + 60000 * 1000000LL);
    /* the client's hello arrives one byte at a time: no extension */
    const void *p;
    size_t n;
    mox_tls_output(c, &p, &n);
    for (size_t i = 0; i + 1 < n; i++) {
        vnow += 1000000;
        assert_int_equal(mox_tls_feed(s, (const char *)p + i, 1), 1);
        assert_int_equal(mox_tls_tick(s, vnow), MOX_OK);
    }
    assert_int_equal(mox_tls_deadline(s), 1000 + 5000 * 1000000LL);
    assert_int_equal(mox_tls_tick(s, 1000 + 5000 * 1000000LL - 1), MOX_OK);
    assert_false(mox_tls_want(s) & MOX_WANT_CLOSED);
    assert_int_equal(mox_tls_tick(s, 1000 + 5000 * 1000000LL), MOX_OK);
    assert_int_equal(mox_tls_want(s), MOX_WANT_CLOSED);
    assert_int_equal(mox_tls_error(s)->code, MOX_ERR_TIMEOUT);
    assert_non_null(strstr(mox_tls_error(s)->msg, "within 5000 ms"));
    assert_string_equal(mox_tls_failure(s), "timeout");
    assert_int_equal(mox_tls_deadline(s), MOX_NO_DEADLINE);
    mox_tls_free(s);
    /* after the handshake a tick does nothing */
    mox_tls_free(c);
    c = client(cc, "mail.example.org", MOX_TLS_VERIFY_WEBPKI);
    s = server(sc);
    unsigned seed = 9;
    settle(c, s, &seed);
    assert_int_equal(mox_tls_tick(c, INT64_MAX - 1), MOX_OK);
    assert_int_equal(mox_tls_want(c), MOX_WANT_READ | MOX_WANT_DONE);
    /* closing during the handshake: CLOSED, nothing sent */
    mox_tls *c2 = client(cc, "mail.example.org", MOX_TLS_VERIFY_WEBPKI);
    assert_int_equal(mox_tls_close(c2), MOX_OK);
    assert_int_equal(mox_tls_want(c2), MOX_WANT_CLOSED);
    mox_tls_free(c2);
    mox_tls_free(c);
    mox_tls_free(s);
    mox_tls_config_free(cc);
    mox_tls_config_free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_names),           cmocka_unit_test(t_free_null),
        cmocka_unit_test(t_zeroed),          cmocka_unit_test(t_errinfo),
        cmocka_unit_test(t_misuse),          cmocka_unit_test(t_handshake_splits),
        cmocka_unit_test(t_verify),          cmocka_unit_test(t_renegotiation),
        cmocka_unit_test(t_not_tls),         cmocka_unit_test(t_truncated_garbage),
        cmocka_unit_test(t_deadline),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
