/* The engine contract (mox/engine.h) for the SMTP server and client
 * engines: exact signatures, NULL-safe free, zeroed configs valid, errinfo
 * on every constructor failure (allocation failures included), misuse
 * refused with a precise error recorded on the engine and leaving it as it
 * was (output_done larger than what was handed out, feed after eof, a
 * second eof, a decision for an id never asked or decided already, TLS
 * calls when no TLS is wanted, re-entry from a callback). Both engines are
 * driven through their generic view by the generic driver (input split at
 * random points, output taken in random pieces, every decision deferred,
 * or taken inside its callback) and through mox_engine_run over a socket;
 * every way gives the same bytes. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "enginedrv.h"
#include "moxtest.h"

#include "mox/engine.h"
#include "mox/smtp_client.h"
#include "mox/smtp_server.h"

/* ------------------------------------------------------------ signatures */

static void test_signatures(void **state)
{
    (void)state;
    int (*snew)(mox_smtp_server **, const mox_smtp_server_config *,
                const mox_smtp_server_callbacks *, void *, mox_errinfo *) = mox_smtp_server_new;
    void (*sfree)(mox_smtp_server *) = mox_smtp_server_free;
    unsigned (*swant)(const mox_smtp_server *) = mox_smtp_server_want;
    int64_t (*sfeed)(mox_smtp_server *, const void *, size_t) = mox_smtp_server_feed;
    int (*seof)(mox_smtp_server *) = mox_smtp_server_eof;
    int (*sout)(mox_smtp_server *, const void **, size_t *) = mox_smtp_server_output;
    int (*sdone)(mox_smtp_server *, size_t) = mox_smtp_server_output_done;
    int (*sdecide)(mox_smtp_server *, uint32_t, const mox_smtp_server_reply *) =
        mox_smtp_server_decide;
    int (*streq)(const mox_smtp_server *, mox_tls_request *) = mox_smtp_server_tls_request;
    int (*stdone)(mox_smtp_server *, int, const mox_tls_info *) = mox_smtp_server_tls_done;
    int64_t (*sdl)(const mox_smtp_server *) = mox_smtp_server_deadline;
    int (*stick)(mox_smtp_server *, int64_t) = mox_smtp_server_tick;
    const mox_smtp_server_outcome *(*sres)(const mox_smtp_server *) = mox_smtp_server_result;
    mox_engine *(*seng)(mox_smtp_server *) = mox_smtp_server_engine;
    void (*sinit)(mox_smtp_server_config *, size_t) = mox_smtp_server_config_init;
    int (*cnew)(mox_smtp_client **, const mox_smtp_client_config *, mox_errinfo *) =
        mox_smtp_client_new;
    void (*cfree)(mox_smtp_client *) = mox_smtp_client_free;
    unsigned (*cwant)(const mox_smtp_client *) = mox_smtp_client_want;
    int64_t (*cfeed)(mox_smtp_client *, const void *, size_t) = mox_smtp_client_feed;
    int (*ceof)(mox_smtp_client *) = mox_smtp_client_eof;
    int (*cout)(mox_smtp_client *, const void **, size_t *) = mox_smtp_client_output;
    int (*cdone)(mox_smtp_client *, size_t) = mox_smtp_client_output_done;
    int (*ctreq)(const mox_smtp_client *, mox_tls_request *) = mox_smtp_client_tls_request;
    int (*ctdone)(mox_smtp_client *, int, const mox_tls_info *) = mox_smtp_client_tls_done;
    int64_t (*cdl)(const mox_smtp_client *) = mox_smtp_client_deadline;
    int (*ctick)(mox_smtp_client *, int64_t) = mox_smtp_client_tick;
    const mox_smtp_client_outcome *(*cres)(const mox_smtp_client *) = mox_smtp_client_result;
    mox_engine *(*ceng)(mox_smtp_client *) = mox_smtp_client_engine;
    void (*cinit)(mox_smtp_client_config *, size_t) = mox_smtp_client_config_init;
    void *all[] = {(void *)snew,  (void *)sfree, (void *)swant, (void *)sfeed, (void *)seof,
                   (void *)sout,  (void *)sdone, (void *)sdecide, (void *)streq, (void *)stdone,
                   (void *)sdl,   (void *)stick, (void *)sres,  (void *)seng,  (void *)sinit,
                   (void *)cnew,  (void *)cfree, (void *)cwant, (void *)cfeed, (void *)ceof,
                   (void *)cout,  (void *)cdone, (void *)ctreq, (void *)ctdone, (void *)cdl,
                   (void *)ctick, (void *)cres,  (void *)ceng,  (void *)cinit};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        assert_non_null(all[i]);
}

static void test_null_safe(void **state)
{
    (void)state;
    mox_smtp_server_free(NULL);
    mox_smtp_client_free(NULL);
    assert_int_equal(mox_smtp_server_want(NULL), 0);
    assert_int_equal(mox_smtp_client_want(NULL), 0);
    assert_null(mox_smtp_server_result(NULL));
    assert_null(mox_smtp_client_result(NULL));
    assert_null(mox_smtp_server_engine(NULL));
    assert_null(mox_smtp_client_engine(NULL));
    assert_int_equal(mox_smtp_server_feed(NULL, "", 0), MOX_ERR_INVAL);
    assert_int_equal(mox_smtp_client_feed(NULL, "", 0), MOX_ERR_INVAL);
    assert_int_equal(mox_smtp_server_eof(NULL), MOX_ERR_INVAL);
    assert_int_equal(mox_smtp_client_eof(NULL), MOX_ERR_INVAL);
    assert_int_equal(mox_smtp_server_tick(NULL, 0), MOX_ERR_INVAL);
    assert_int_equal(mox_smtp_client_tick(NULL, 0), MOX_ERR_INVAL);
    assert_int_equal(mox_smtp_server_deadline(NULL), MOX_NO_DEADLINE);
    assert_int_equal(mox_smtp_client_deadline(NULL), MOX_NO_DEADLINE);
    assert_int_equal(mox_smtp_server_decide(NULL, 1, NULL), MOX_ERR_INVAL);
    mox_tls_request req = MOX_TLS_REQUEST_INIT;
    assert_int_equal(mox_smtp_server_tls_request(NULL, &req), MOX_ERR_INVAL);
    assert_int_equal(mox_smtp_client_tls_request(NULL, &req), MOX_ERR_INVAL);
    assert_int_equal(mox_smtp_server_tls_done(NULL, MOX_OK, NULL), MOX_ERR_INVAL);
    assert_int_equal(mox_smtp_client_tls_done(NULL, MOX_OK, NULL), MOX_ERR_INVAL);
    mox_smtp_server_config_init(NULL, 0);
    mox_smtp_client_config_init(NULL, 0);
    mox_smtp_server_callbacks_init(NULL, 0);
    mox_smtp_server_reply_init(NULL, 0);
    mox_smtp_client_message_init(NULL, 0);
}

/* Takes everything the engine has for the peer. */
static void drain_server(mox_smtp_server *s, mox_buf *out)
{
    const void *p;
    size_t n;
    while (mox_smtp_server_output(s, &p, &n) == MOX_OK && n) {
        mox_buf_append(out, p, n);
        assert_int_equal(mox_smtp_server_output_done(s, n), MOX_OK);
    }
}

static void drain_client(mox_smtp_client *c, mox_buf *out)
{
    const void *p;
    size_t n;
    while (mox_smtp_client_output(c, &p, &n) == MOX_OK && n) {
        mox_buf_append(out, p, n);
        assert_int_equal(mox_smtp_client_output_done(c, n), MOX_OK);
    }
}

static void test_zeroed_configs(void **state)
{
    (void)state;
    mox_smtp_server_config sc;
    memset(&sc, 0xa5, sizeof sc);
    mox_smtp_server_config_init(&sc, sizeof sc);
    mox_smtp_server_config sinit = MOX_SMTP_SERVER_CONFIG_INIT;
    assert_memory_equal(&sc, &sinit, sizeof sc);
    mox_errinfo ei;
    mox_smtp_server *s = NULL;
    assert_int_equal(mox_smtp_server_new(&s, &sc, NULL, NULL, &ei), MOX_OK);
    assert_string_equal(mox_engine_name(mox_smtp_server_engine(s)), "smtp_server");
    mox_buf out = MOX_BUF_INIT;
    drain_server(s, &out);
    assert_string_equal((char *)out.data, "220 localhost ESMTP\r\n");
    mox_buf_free(&out);
    mox_smtp_server_free(s);
    /* an older, smaller struct: later members are defaults */
    mox_smtp_server_config_init(&sc, offsetof(mox_smtp_server_config, extensions_off));
    assert_int_equal(sc.size, offsetof(mox_smtp_server_config, extensions_off));
    assert_int_equal(mox_smtp_server_new(&s, &sc, NULL, NULL, &ei), MOX_OK);
    mox_smtp_server_free(s);
    mox_smtp_server_callbacks cb;
    memset(&cb, 0xa5, sizeof cb);
    mox_smtp_server_callbacks_init(&cb, sizeof cb);
    mox_smtp_server_callbacks cinit = MOX_SMTP_SERVER_CALLBACKS_INIT;
    assert_memory_equal(&cb, &cinit, sizeof cb);
    mox_smtp_server_reply r;
    mox_smtp_server_reply_init(&r, sizeof r);
    mox_smtp_server_reply rinit = MOX_SMTP_SERVER_REPLY_INIT;
    assert_memory_equal(&r, &rinit, sizeof r);

    mox_smtp_client_config cc;
    memset(&cc, 0xa5, sizeof cc);
    mox_smtp_client_config_init(&cc, sizeof cc);
    mox_smtp_client_config ccinit = MOX_SMTP_CLIENT_CONFIG_INIT;
    assert_memory_equal(&cc, &ccinit, sizeof cc);
    mox_smtp_client *c = NULL;
    assert_int_equal(mox_smtp_client_new(&c, &cc, &ei), MOX_OK);
    assert_string_equal(mox_engine_name(mox_smtp_client_engine(c)), "smtp_client");
    assert_int_equal(mox_smtp_client_feed(c, "220 x\r\n", 7), 7);
    drain_client(c, &out);
    assert_string_equal((char *)out.data, "EHLO localhost\r\n");
    mox_buf_free(&out);
    mox_smtp_client_free(c);
    mox_smtp_client_message m;
    mox_smtp_client_message_init(&m, sizeof m);
    mox_smtp_client_message minit = MOX_SMTP_CLIENT_MESSAGE_INIT;
    assert_memory_equal(&m, &minit, sizeof m);
}

/* ------------------------------------------------------------ errinfo */

static void expect_ei(int rc, int want, const mox_errinfo *ei)
{
    assert_int_equal(rc, want);
    assert_int_equal(ei->code, want);
    assert_true(ei->msg[0] != 0);
}

static void test_errinfo(void **state)
{
    (void)state;
    mox_errinfo ei;
    mox_smtp_server *s = (mox_smtp_server *)1;
    mox_smtp_server_config sc = MOX_SMTP_SERVER_CONFIG_INIT;
    mox_errinfo_clear(&ei);
    expect_ei(mox_smtp_server_new(NULL, &sc, NULL, NULL, &ei), MOX_ERR_INVAL, &ei);
    mox_errinfo_clear(&ei);
    expect_ei(mox_smtp_server_new(&s, NULL, NULL, NULL, &ei), MOX_ERR_INVAL, &ei);
    assert_null(s);
    sc.size = 4;
    mox_errinfo_clear(&ei);
    expect_ei(mox_smtp_server_new(&s, &sc, NULL, NULL, &ei), MOX_ERR_INVAL, &ei);
    sc.size = sizeof sc;
    sc.hostname = "a b";
    mox_errinfo_clear(&ei);
    expect_ei(mox_smtp_server_new(&s, &sc, NULL, NULL, &ei), MOX_ERR_INVAL, &ei);
    sc.hostname = "mx.example";
    sc.mode = 9;
    mox_errinfo_clear(&ei);
    expect_ei(mox_smtp_server_new(&s, &sc, NULL, NULL, &ei), MOX_ERR_INVAL, &ei);
    sc.mode = 0;
    mox_smtp_server_callbacks cb = MOX_SMTP_SERVER_CALLBACKS_INIT;
    cb.size = 2;
    mox_errinfo_clear(&ei);
    expect_ei(mox_smtp_server_new(&s, &sc, &cb, NULL, &ei), MOX_ERR_INVAL, &ei);
    sc.greeting = "hello";
    /* every allocation of the constructor failing */
    moxtest_alloc_install();
    for (unsigned long k = 1;; k++) {
        moxtest_alloc_fail_at(k);
        mox_errinfo_clear(&ei);
        int rc = mox_smtp_server_new(&s, &sc, NULL, NULL, &ei);
        int fired = moxtest_alloc_failed();
        moxtest_alloc_fail_at(0);
        if (!fired) {
            assert_int_equal(rc, MOX_OK);
            mox_smtp_server_free(s);
            break;
        }
        expect_ei(rc, MOX_ERR_NOMEM, &ei);
        assert_null(s);
        assert_int_equal(moxtest_alloc_live(), 0);
    }

    mox_smtp_client *c = (mox_smtp_client *)1;
    mox_smtp_client_config cc = MOX_SMTP_CLIENT_CONFIG_INIT;
    mox_errinfo_clear(&ei);
    expect_ei(mox_smtp_client_new(NULL, &cc, &ei), MOX_ERR_INVAL, &ei);
    mox_errinfo_clear(&ei);
    expect_ei(mox_smtp_client_new(&c, NULL, &ei), MOX_ERR_INVAL, &ei);
    assert_null(c);
    cc.ehlo_name = "a\r\nb";
    mox_errinfo_clear(&ei);
    expect_ei(mox_smtp_client_new(&c, &cc, &ei), MOX_ERR_INVAL, &ei);
    cc.ehlo_name = NULL;
    cc.tls_verify = 42;
    mox_errinfo_clear(&ei);
    expect_ei(mox_smtp_client_new(&c, &cc, &ei), MOX_ERR_INVAL, &ei);
    cc.tls_verify = MOX_TLS_VERIFY_WEBPKI;
    cc.tls_server_name = "mx.example";
    for (unsigned long k = 1;; k++) {
        moxtest_alloc_fail_at(k);
        mox_errinfo_clear(&ei);
        int rc = mox_smtp_client_new(&c, &cc, &ei);
        int fired = moxtest_alloc_failed();
        moxtest_alloc_fail_at(0);
        if (!fired) {
            assert_int_equal(rc, MOX_OK);
            mox_smtp_client_free(c);
            break;
        }
        expect_ei(rc, MOX_ERR_NOMEM, &ei);
        assert_null(c);
        assert_int_equal(moxtest_alloc_live(), 0);
    }
}

/* ------------------------------------------------------------ misuse */

/* `rc` is the precise error, recorded on `g`, and the engine wants what
 * it wanted before. */
static void expect_misuse(mox_engine *g, unsigned before, int rc, int want)
{
    assert_int_equal(rc, want);
    assert_int_equal(mox_engine_error(g)->code, want);
    assert_true(mox_engine_error(g)->msg[0] != 0);
    assert_int_equal(mox_engine_want(g), before);
}

typedef struct reentry {
    mox_smtp_server *s;
    int tried;
} reentry;

/* A callback that calls what it must not. */
static int on_mail_reenter(void *u, mox_smtp_server *s, const mox_smtp_server_txn *t,
                           mox_smtp_server_reply *r)
{
    (void)t;
    (void)r;
    reentry *x = u;
    mox_engine *g = mox_smtp_server_engine(s);
    assert_int_equal(mox_smtp_server_feed(s, "NOOP\r\n", 6), MOX_ERR_STATE);
    assert_int_equal(mox_engine_error(g)->code, MOX_ERR_STATE);
    assert_int_equal(mox_smtp_server_tick(s, 0), MOX_ERR_STATE);
    assert_int_equal(mox_smtp_server_eof(s), MOX_ERR_STATE);
    assert_int_equal(mox_smtp_server_close(s, 421, "4.3.2", "x"), MOX_ERR_STATE);
    /* the decision being asked may be taken here; a second time not */
    int kind;
    uint32_t id = mox_smtp_server_pending(s, &kind);
    assert_int_equal(kind, MOX_SMTP_SERVER_DECIDE_MAIL);
    assert_int_equal(mox_smtp_server_decide_code(s, id, 250, "2.1.0", "inside"), MOX_OK);
    assert_int_equal(mox_smtp_server_decide_code(s, id, 250, "2.1.0", "inside"), MOX_ERR_STATE);
    x->tried++;
    return MOX_SMTP_SERVER_DEFER;
}

static int on_rcpt_defer(void *u, mox_smtp_server *s, const mox_smtp_server_txn *t,
                         const mox_smtp_server_rcpt *rc, mox_smtp_server_reply *r)
{
    (void)u;
    (void)s;
    (void)t;
    (void)rc;
    (void)r;
    return MOX_SMTP_SERVER_DEFER;
}

static void test_misuse_server(void **state)
{
    (void)state;
    mox_smtp_server_config sc = MOX_SMTP_SERVER_CONFIG_INIT;
    sc.hostname = "mx.example";
    mox_smtp_server_callbacks cb = MOX_SMTP_SERVER_CALLBACKS_INIT;
    cb.on_mail = on_mail_reenter;
    cb.on_rcpt = on_rcpt_defer;
    reentry x = {NULL, 0};
    mox_smtp_server *s = NULL;
    assert_int_equal(mox_smtp_server_new(&s, &sc, &cb, &x, NULL), MOX_OK);
    x.s = s;
    mox_engine *g = mox_smtp_server_engine(s);
    mox_buf out = MOX_BUF_INIT;
    /* nothing handed out yet: output_done refused */
    unsigned w = mox_engine_want(g);
    expect_misuse(g, w, mox_engine_output_done(g, 1), MOX_ERR_INVAL);
    drain_server(s, &out);
    w = mox_engine_want(g);
    const void *p;
    size_t n;
    assert_int_equal(mox_engine_output(g, &p, &n), MOX_OK);
    expect_misuse(g, w, mox_engine_output_done(g, n + 1), MOX_ERR_INVAL);
    /* TLS when none is wanted */
    mox_tls_request req = MOX_TLS_REQUEST_INIT;
    expect_misuse(g, w, mox_engine_tls_request(g, &req), MOX_ERR_STATE);
    mox_tls_info ti = MOX_TLS_INFO_INIT;
    expect_misuse(g, w, mox_engine_tls_done(g, MOX_OK, &ti), MOX_ERR_STATE);
    /* decisions never asked */
    expect_misuse(g, w, mox_smtp_server_decide_code(s, 0, 250, "", ""), MOX_ERR_NOTFOUND);
    expect_misuse(g, w, mox_smtp_server_decide_code(s, 77, 250, "", ""), MOX_ERR_NOTFOUND);
    mox_smtp_server_reply bad = MOX_SMTP_SERVER_REPLY_INIT;
    bad.size = 2;
    expect_misuse(g, w, mox_smtp_server_decide(s, 1, &bad), MOX_ERR_INVAL);
    expect_misuse(g, w, mox_engine_feed(g, NULL, 3), MOX_ERR_INVAL);
    /* the callback's misuse and its decision inside */
    const char *cmds = "EHLO c.example\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\n";
    assert_int_equal(mox_engine_feed(g, cmds, strlen(cmds)), (int64_t)strlen(cmds));
    assert_int_equal(x.tried, 1);
    drain_server(s, &out);
    assert_non_null(strstr((char *)out.data, "250 2.1.0 inside\r\n"));
    /* the RCPT decision is open; the MAIL one is taken */
    int kind;
    uint32_t id = mox_smtp_server_pending(s, &kind);
    assert_int_equal(kind, MOX_SMTP_SERVER_DECIDE_RCPT);
    w = mox_engine_want(g);
    assert_true(w & MOX_WANT_DECISION);
    expect_misuse(g, w, mox_smtp_server_decide_code(s, id - 1, 250, "", ""), MOX_ERR_STATE);
    expect_misuse(g, w, mox_smtp_server_decide_code(s, id + 1, 250, "", ""), MOX_ERR_NOTFOUND);
    assert_int_equal(mox_smtp_server_decide_code(s, id, 250, "2.1.5", "ok"), MOX_OK);
    w = mox_engine_want(g);
    expect_misuse(g, w, mox_smtp_server_decide_code(s, id, 250, "2.1.5", "ok"), MOX_ERR_STATE);
    /* eof, then feed and a second eof are misuse */
    assert_int_equal(mox_engine_eof(g), MOX_OK);
    w = mox_engine_want(g);
    assert_true(w & MOX_WANT_CLOSED);
    expect_misuse(g, w, mox_engine_feed(g, "x", 1), MOX_ERR_STATE);
    expect_misuse(g, w, mox_engine_eof(g), MOX_ERR_STATE);
    assert_int_equal(mox_smtp_server_result(s)->end, MOX_SMTP_SERVER_END_EOF);
    mox_buf_free(&out);
    mox_smtp_server_free(s);
}

static void test_misuse_client(void **state)
{
    (void)state;
    mox_smtp_client_config cc = MOX_SMTP_CLIENT_CONFIG_INIT;
    mox_smtp_client *c = NULL;
    assert_int_equal(mox_smtp_client_new(&c, &cc, NULL), MOX_OK);
    mox_engine *g = mox_smtp_client_engine(c);
    unsigned w = mox_engine_want(g);
    assert_true(w & MOX_WANT_READ);
    assert_true(w & MOX_WANT_TIMER); /* the greeting has a deadline */
    expect_misuse(g, w, mox_engine_output_done(g, 1), MOX_ERR_INVAL);
    mox_tls_request req = MOX_TLS_REQUEST_INIT;
    expect_misuse(g, w, mox_engine_tls_request(g, &req), MOX_ERR_STATE);
    mox_tls_info ti = MOX_TLS_INFO_INIT;
    expect_misuse(g, w, mox_engine_tls_done(g, MOX_OK, &ti), MOX_ERR_STATE);
    expect_misuse(g, w, mox_engine_feed(g, NULL, 3), MOX_ERR_INVAL);
    assert_int_equal(mox_engine_feed(g, "220 mx\r\n", 8), 8);
    w = mox_engine_want(g);
    const void *p;
    size_t n;
    assert_int_equal(mox_engine_output(g, &p, &n), MOX_OK);
    assert_true(n > 0);
    expect_misuse(g, w, mox_engine_output_done(g, n + 1), MOX_ERR_INVAL);
    assert_int_equal(mox_engine_eof(g), MOX_OK);
    w = mox_engine_want(g);
    assert_true(w & MOX_WANT_CLOSED);
    expect_misuse(g, w, mox_engine_feed(g, "250 x\r\n", 7), MOX_ERR_STATE);
    expect_misuse(g, w, mox_engine_eof(g), MOX_ERR_STATE);
    assert_non_null(mox_smtp_client_result(c)->failure);
    mox_smtp_client_free(c);

    /* implicit TLS: TLS first, with the configured request */
    cc.tls_mode = MOX_SMTP_CLIENT_TLS_IMPLICIT;
    cc.tls_server_name = "mx.example";
    cc.tls_verify = MOX_TLS_VERIFY_WEBPKI;
    assert_int_equal(mox_smtp_client_new(&c, &cc, NULL), MOX_OK);
    g = mox_smtp_client_engine(c);
    w = mox_engine_want(g);
    assert_true(w & MOX_WANT_TLS);
    assert_false(w & MOX_WANT_READ);
    assert_int_equal(mox_engine_tls_request(g, &req), MOX_OK);
    assert_int_equal(req.role, MOX_TLS_ROLE_CLIENT);
    assert_string_equal(req.server_name, "mx.example");
    assert_int_equal(req.verify, MOX_TLS_VERIFY_WEBPKI);
    assert_true(req.required);
    expect_misuse(g, w, mox_engine_tls_done(g, MOX_OK, NULL), MOX_ERR_INVAL);
    assert_int_equal(mox_engine_tls_done(g, MOX_ERR_CRYPTO, NULL), MOX_OK);
    assert_true(mox_engine_want(g) & MOX_WANT_CLOSED);
    assert_int_equal(mox_smtp_client_result(c)->failure->stage, MOX_SMTP_CLIENT_STAGE_TLS);
    mox_smtp_client_free(c);
}

/* ------------------------------------------------------------ driving */

static mox_tls_info fake_tls(void)
{
    static const unsigned char ex[32] = {7, 7, 7};
    mox_tls_info ti = MOX_TLS_INFO_INIT;
    ti.version = 0x0304;
    ti.cipher = "TLS_AES_128_GCM_SHA256";
    ti.tls_exporter = ex;
    ti.tls_exporter_len = sizeof ex;
    return ti;
}

static int drive_tls(void *ctx, mox_engine *g)
{
    (void)ctx;
    mox_tls_request req = MOX_TLS_REQUEST_INIT;
    int rc = mox_engine_tls_request(g, &req);
    if (rc != MOX_OK)
        return rc;
    mox_tls_info ti = fake_tls();
    return mox_engine_tls_done(g, MOX_OK, &ti);
}

/* The server's policy: every decision deferred (mode 1) or taken inside
 * its callback (mode 2) or at once (0); one recipient refused, the
 * message's size in the final reply. */
typedef struct policy {
    mox_smtp_server *s;
    int mode;
    int have;
    mox_smtp_server_reply r;
    size_t bytes;
} policy;

static int answer(policy *p, mox_smtp_server_reply *r)
{
    if (p->mode == 0)
        return MOX_SMTP_SERVER_REPLY;
    uint32_t id = mox_smtp_server_pending(p->s, NULL);
    if (p->mode == 2) {
        assert_int_equal(mox_smtp_server_decide(p->s, id, r), MOX_OK);
        return MOX_SMTP_SERVER_DEFER;
    }
    assert_false(p->have);
    p->have = 1;
    p->r = *r;
    return MOX_SMTP_SERVER_DEFER;
}

static int p_connect(void *u, mox_smtp_server *s, mox_smtp_server_reply *r)
{
    policy *p = u;
    p->s = s;
    return answer(p, r);
}

static int p_hello(void *u, mox_smtp_server *s, const mox_smtp_server_hello *h,
                   mox_smtp_server_reply *r)
{
    (void)s;
    (void)h;
    return answer(u, r);
}

static int p_mail(void *u, mox_smtp_server *s, const mox_smtp_server_txn *t,
                  mox_smtp_server_reply *r)
{
    (void)s;
    (void)t;
    return answer(u, r);
}

static int p_rcpt(void *u, mox_smtp_server *s, const mox_smtp_server_txn *t,
                  const mox_smtp_server_rcpt *rc, mox_smtp_server_reply *r)
{
    (void)s;
    (void)t;
    if (rc->path.mailbox.localpart && !strcmp(rc->path.mailbox.localpart, "nobody"))
        mox_smtp_server_reply_set(r, 550, "5.1.1", "no such user");
    return answer(u, r);
}

static int p_data_start(void *u, mox_smtp_server *s, const mox_smtp_server_txn *t,
                        mox_smtp_server_reply *r)
{
    (void)s;
    (void)t;
    ((policy *)u)->bytes = 0;
    return answer(u, r);
}

static int p_chunk(void *u, mox_smtp_server *s, const void *d, size_t n)
{
    (void)s;
    (void)d;
    ((policy *)u)->bytes += n;
    return MOX_OK;
}

static int p_data_end(void *u, mox_smtp_server *s, const mox_smtp_server_txn *t,
                      mox_smtp_server_reply *r)
{
    (void)s;
    (void)t;
    policy *p = u;
    char text[64];
    snprintf(text, sizeof text, "got %zu bytes", p->bytes);
    mox_smtp_server_reply_set(r, 250, "2.0.0", text);
    return answer(u, r);
}

static int p_decide(void *ctx, mox_engine *g)
{
    (void)g;
    policy *p = ctx;
    assert_true(p->have);
    p->have = 0;
    mox_smtp_server_reply r = p->r;
    return mox_smtp_server_decide(p->s, mox_smtp_server_pending(p->s, NULL), &r);
}

static const char client_input[] =
    "EHLO client.example\r\n"
    "MAIL FROM:<a@x.example> SIZE=30\r\nRCPT TO:<b@y.example>\r\nRCPT TO:<nobody@y.example>\r\n"
    "DATA\r\nSubject: hi\r\n\r\nhello\r\n..dot\r\n.\r\n"
    "MAIL FROM:<>\r\nRCPT TO:<c@y.example>\r\nBDAT 7\r\nchunk1\nBDAT 3 LAST\r\nend"
    "NOOP\r\nQUIT\r\n";

static mox_smtp_server *new_server(policy *p, mox_clock *ck, mox_env *env, int implicit)
{
    mox_env e = MOX_ENV_INIT;
    e.clock = ck;
    *env = e;
    mox_smtp_server_config sc = MOX_SMTP_SERVER_CONFIG_INIT;
    sc.env = env;
    sc.hostname = "mx.example";
    sc.conn_id = "c1";
    sc.tls_active = implicit;
    mox_smtp_server_callbacks cb = MOX_SMTP_SERVER_CALLBACKS_INIT;
    cb.on_connect = p_connect;
    cb.on_hello = p_hello;
    cb.on_mail = p_mail;
    cb.on_rcpt = p_rcpt;
    cb.on_data_start = p_data_start;
    cb.on_data_chunk = p_chunk;
    cb.on_data_end = p_data_end;
    mox_smtp_server *s = NULL;
    assert_int_equal(mox_smtp_server_new(&s, &sc, &cb, p, NULL), MOX_OK);
    p->s = s;
    return s;
}

/* The server driven by the generic driver: every way of splitting and
 * deciding gives the bytes of the plain run. */
static void test_drive_server(void **state)
{
    (void)state;
    mox_buf want = MOX_BUF_INIT;
    for (int implicit = 0; implicit < 2; implicit++) {
        mox_buf_reset(&want); /* with TLS the EHLO reply differs (REQUIRETLS) */
        for (int mode = 0; mode < 3; mode++) {
            for (unsigned seed = 1; seed <= (mode ? 12u : 1u); seed++) {
                policy p;
                memset(&p, 0, sizeof p);
                p.mode = mode;
                moxtest_drive d;
                memset(&d, 0, sizeof d);
                d.now_ns = (int64_t)5000 * 1000000000;
                mox_clock ck;
                moxtest_drive_clock(&d, &ck);
                mox_env env;
                mox_smtp_server *s = new_server(&p, &ck, &env, implicit);
                d.seed = seed;
                d.max_chunk = mode == 0 ? 0 : seed % 4 == 0 ? 1 : 1 + seed * 5;
                d.decide = p_decide;
                d.tls = drive_tls;
                d.cb_ctx = &p;
                d.input = client_input;
                d.input_len = sizeof client_input - 1;
                d.eof = 1;
                assert_int_equal(moxtest_drive_run(mox_smtp_server_engine(s), &d), MOX_OK);
                assert_true(d.final_want & MOX_WANT_CLOSED);
                assert_true(d.final_want & MOX_WANT_DONE);
                if (mox_smtp_server_result(s)->end != MOX_SMTP_SERVER_END_QUIT)
                    fail_msg("implicit %d mode %d seed %u: end %d (timeout %d) after:\n%.*s", implicit, mode, seed, mox_smtp_server_result(s)->end,
                             mox_smtp_server_result(s)->timeout, (int)d.output.len,
                             (char *)d.output.data);
                assert_int_equal(mox_smtp_server_result(s)->session->transactions, 2);
                assert_int_equal(d.fed, sizeof client_input - 1);
                if (mode == 0 && seed == 1) {
                    mox_buf_append(&want, d.output.data, d.output.len);
                    assert_non_null(strstr((char *)want.data, "250 2.0.0 got 28 bytes\r\n"));
                    assert_non_null(strstr((char *)want.data, "550 5.1.1 no such user\r\n"));
                    assert_non_null(strstr((char *)want.data, "250 2.0.0 got 10 bytes\r\n"));
                    assert_non_null(strstr((char *)want.data, "221 2.0.0 bye\r\n"));
                } else if (d.output.len != want.len ||
                           memcmp(d.output.data, want.data, want.len) != 0) {
                    fail_msg("implicit %d mode %d seed %u:\n%.*s\n--- want\n%s", implicit, mode,
                             seed, (int)d.output.len, (char *)d.output.data, (char *)want.data);
                }
                mox_buf_free(&d.output);
                mox_smtp_server_free(s);
            }
        }
    }
    mox_buf_free(&want);
}

static const char server_input[] = "220 mx.example ESMTP\r\n"
                                   "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n"
                                   "250-8BITMIME\r\n250 CHUNKING\r\n"
                                   "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no\r\n"
                                   "250 2.0.0 queued\r\n"
                                   "221 2.0.0 bye\r\n";

static mox_smtp_client *new_client(mox_clock *ck, mox_env *env, int implicit)
{
    mox_env e = MOX_ENV_INIT;
    e.clock = ck;
    *env = e;
    mox_smtp_client_config cc = MOX_SMTP_CLIENT_CONFIG_INIT;
    cc.env = env;
    cc.ehlo_name = "client.example";
    cc.tls_mode = implicit ? MOX_SMTP_CLIENT_TLS_IMPLICIT : MOX_SMTP_CLIENT_TLS_NONE;
    mox_smtp_client *c = NULL;
    assert_int_equal(mox_smtp_client_new(&c, &cc, NULL), MOX_OK);
    static mox_smtp_client_rcpt rs[2] = {{"b@y.example", 0, NULL}, {"nobody@y.example", 0, NULL}};
    mox_smtp_client_message m = MOX_SMTP_CLIENT_MESSAGE_INIT;
    m.from = "a@x.example";
    m.rcpts = rs;
    m.nrcpts = 2;
    m.data = "Subject: hi\n\nhello\n.dot\n";
    m.len = strlen(m.data);
    assert_int_equal(mox_smtp_client_submit(c, &m, NULL), MOX_OK);
    assert_int_equal(mox_smtp_client_quit(c), MOX_OK);
    return c;
}

static void check_client_result(mox_smtp_client *c)
{
    const mox_smtp_client_outcome *o = mox_smtp_client_result(c);
    assert_true(o->closed);
    if (o->failure)
        fail_msg("failure: %d %s %s", o->failure->code, o->failure->enhanced, o->failure->text);
    assert_non_null(o->delivery);
    assert_true(o->delivery->done);
    assert_int_equal(o->delivery->naccepted, 1);
    assert_int_equal(o->delivery->npermanent, 1);
    assert_string_equal(o->delivery->rcpts[1].status.enhanced, "5.1.1");
}

static const char client_want[] = "EHLO client.example\r\n"
                                  "MAIL FROM:<a@x.example> SIZE=28\r\nRCPT TO:<b@y.example>\r\n"
                                  "RCPT TO:<nobody@y.example>\r\n"
                                  "BDAT 28 LAST\r\nSubject: hi\r\n\r\nhello\r\n.dot\r\n"
                                  "QUIT\r\n";

static void test_drive_client(void **state)
{
    (void)state;
    for (int implicit = 0; implicit < 2; implicit++) {
        for (unsigned seed = 1; seed <= 16; seed++) {
            moxtest_drive d;
            memset(&d, 0, sizeof d);
            d.now_ns = (int64_t)5000 * 1000000000;
            mox_clock ck;
            moxtest_drive_clock(&d, &ck);
            mox_env env;
            mox_smtp_client *c = new_client(&ck, &env, implicit);
            d.seed = seed;
            d.max_chunk = seed == 1 ? 0 : seed % 3 == 0 ? 1 : seed * 3;
            d.tls = drive_tls;
            d.input = server_input;
            d.input_len = sizeof server_input - 1;
            assert_int_equal(moxtest_drive_run(mox_smtp_client_engine(c), &d), MOX_OK);
            assert_true(d.final_want & MOX_WANT_CLOSED);
            check_client_result(c);
            if (implicit)
                assert_non_null(mox_smtp_client_result(c)->tls);
            if (d.output.len != sizeof client_want - 1 ||
                memcmp(d.output.data, client_want, d.output.len) != 0)
                fail_msg("implicit %d seed %u:\n%.*s", implicit, seed, (int)d.output.len,
                         (char *)d.output.data);
            mox_buf_free(&d.output);
            mox_smtp_client_free(c);
        }
    }
}

/* ------------------------------------------------------------ blocking loop */

/* The peer's bytes are written to one end of a socket pair first; the
 * engine runs on the other through mox_engine_run; what it sent is read
 * back. */
static void run_over_socket(mox_engine *g, const char *peer, mox_buf *sent)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    size_t n = strlen(peer);
    assert_int_equal(write(sv[1], peer, n), (ssize_t)n);
    shutdown(sv[1], SHUT_WR);
    mox_transport t = MOX_TRANSPORT_INIT;
    mox_transport_fd(&t, &sv[0]);
    mox_io io = MOX_IO_INIT;
    io.transport = &t;
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    int rc = mox_engine_run(g, &io, &ei);
    if (rc != MOX_OK)
        fail_msg("mox_engine_run: %s: %s", mox_strerror(rc), ei.msg);
    close(sv[0]);
    char buf[4096];
    ssize_t r;
    while ((r = read(sv[1], buf, sizeof buf)) > 0)
        mox_buf_append(sent, buf, (size_t)r);
    close(sv[1]);
}

static void test_blocking_loop(void **state)
{
    (void)state;
    /* the client over a socket: the same commands */
    mox_env env;
    mox_smtp_client *c = new_client(NULL, &env, 0);
    mox_buf sent = MOX_BUF_INIT;
    run_over_socket(mox_smtp_client_engine(c), server_input, &sent);
    check_client_result(c);
    assert_int_equal(sent.len, sizeof client_want - 1);
    assert_memory_equal(sent.data, client_want, sent.len);
    mox_smtp_client_free(c);
    mox_buf_free(&sent);

    /* the server, every decision taken inside its callback (the loop
     * cannot wait for one): the bytes of the driven runs */
    policy p;
    memset(&p, 0, sizeof p);
    moxtest_drive d;
    memset(&d, 0, sizeof d);
    mox_clock ck;
    moxtest_drive_clock(&d, &ck);
    mox_smtp_server *s = new_server(&p, &ck, &env, 0);
    d.input = client_input;
    d.input_len = sizeof client_input - 1;
    d.eof = 1;
    assert_int_equal(moxtest_drive_run(mox_smtp_server_engine(s), &d), MOX_OK);
    mox_smtp_server_free(s);
    memset(&p, 0, sizeof p);
    p.mode = 2;
    s = new_server(&p, NULL, &env, 0);
    run_over_socket(mox_smtp_server_engine(s), client_input, &sent);
    assert_int_equal(mox_smtp_server_result(s)->end, MOX_SMTP_SERVER_END_QUIT);
    assert_int_equal(sent.len, d.output.len);
    assert_memory_equal(sent.data, d.output.data, sent.len);
    mox_smtp_server_free(s);
    mox_buf_free(&sent);
    mox_buf_free(&d.output);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signatures),    cmocka_unit_test(test_null_safe),
        cmocka_unit_test(test_zeroed_configs), cmocka_unit_test(test_errinfo),
        cmocka_unit_test(test_misuse_server), cmocka_unit_test(test_misuse_client),
        cmocka_unit_test(test_drive_server),  cmocka_unit_test(test_drive_client),
        cmocka_unit_test(test_blocking_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
