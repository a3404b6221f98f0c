/* The engine contract (include/mox/engine.h) for the DKIM verifier and
 * signer: names and signatures, NULL-safe free, zeroed configs valid,
 * errinfo filled on every constructor failure, misuse refused with a
 * precise error that leaves the engine intact, every key question handed
 * out at once, answers in any order with errors and timeouts injected,
 * random splits through the generic view, and the same verdicts through
 * the blocking loop (mox_engine_run) with an asynchronous resolver. */
#include <stdio.h>
#include <string.h>

#include "enginedrv.h"
#include "moxtest.h"

#include "mox/dkim.h"
#include "mox/dns.h"
#include "mox/engine.h"

static const char message[] =
    "From: Joe <joe@example.com>\r\n"
    "To: Suzie <suzie@example.net>\r\n"
    "Subject: contract\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
    "Message-ID: <1@example.com>\r\n"
    "\r\n"
    "Hello,\r\n"
    "  this body has   some whitespace \t\r\n"
    "\r\n"
    "and trailing empty lines.\r\n"
    "\r\n"
    "\r\n";

#define NSIG 5
static const char *const selectors[NSIG] = {"s0", "s1", "s2", "s3", "s4"};

/* Five Ed25519 signatures (two with the same selector would share a key
 * question; here all differ), the signed message and the key records. */
static mox_dkim_privkey *keys[NSIG];
static mox_buf records[NSIG];
static mox_buf signed_msg;

static uint32_t rng_state = 2463534242u;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static int setup(void **state)
{
    (void)state;
    mox_dkim_sign_params p[NSIG];
    for (int i = 0; i < NSIG; i++) {
        assert_int_equal(mox_dkim_privkey_generate(MOX_DKIM_KEY_ED25519, 0, NULL, &keys[i]), MOX_OK);
        memset(&records[i], 0, sizeof records[i]);
        assert_int_equal(mox_dkim_privkey_record(keys[i], &records[i]), MOX_OK);
        mox_dkim_sign_params_init(&p[i], sizeof p[i]);
        p[i].key = keys[i];
        p[i].domain = "example.com";
        p[i].selector = selectors[i];
        p[i].header_canon = i % 2 ? MOX_DKIM_SIMPLE : MOX_DKIM_RELAXED;
        p[i].body_canon = i % 3 ? MOX_DKIM_RELAXED : MOX_DKIM_SIMPLE;
    }
    mox_dkim_signer *s;
    mox_errinfo ei;
    assert_int_equal(mox_dkim_signer_new(&s, NULL, p, NSIG, &ei), MOX_OK);
    assert_int_equal(mox_dkim_signer_feed(s, message, sizeof message - 1), (int64_t)(sizeof message - 1));
    assert_int_equal(mox_dkim_signer_eof(s), MOX_OK);
    const mox_dkim_signer_outcome *o = mox_dkim_signer_result(s);
    assert_non_null(o);
    assert_int_equal(o->count, NSIG);
    memset(&signed_msg, 0, sizeof signed_msg);
    assert_int_equal(mox_buf_append(&signed_msg, o->fields, o->len), MOX_OK);
    assert_int_equal(mox_buf_append(&signed_msg, message, sizeof message - 1), MOX_OK);
    mox_dkim_signer_free(s);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NSIG; i++) {
        mox_dkim_privkey_free(keys[i]);
        mox_buf_free(&records[i]);
    }
    mox_buf_free(&signed_msg);
    return 0;
}

/* ------------------------------------------------------------ names */

static void test_names(void **state)
{
    (void)state;
    /* the exact signatures of the contract */
    int (*vnew)(mox_dkim_verifier **, const mox_dkim_verify_config *, mox_errinfo *) =
        mox_dkim_verifier_new;
    void (*vfree)(mox_dkim_verifier *) = mox_dkim_verifier_free;
    unsigned (*vwant)(const mox_dkim_verifier *) = mox_dkim_verifier_want;
    int64_t (*vfeed)(mox_dkim_verifier *, const void *, size_t) = mox_dkim_verifier_feed;
    int (*veof)(mox_dkim_verifier *) = mox_dkim_verifier_eof;
    int (*vquery)(mox_dkim_verifier *, mox_query *) = mox_dkim_verifier_query;
    int (*vanswer)(mox_dkim_verifier *, const mox_answer *) = mox_dkim_verifier_answer;
    const mox_dkim_verifier_outcome *(*vresult)(const mox_dkim_verifier *) =
        mox_dkim_verifier_result;
    mox_engine *(*vengine)(mox_dkim_verifier *) = mox_dkim_verifier_engine;
    int (*snew)(mox_dkim_signer **, const mox_dkim_sign_config *, const mox_dkim_sign_params *,
                size_t, mox_errinfo *) = mox_dkim_signer_new;
    void (*sfree)(mox_dkim_signer *) = mox_dkim_signer_free;
    unsigned (*swant)(const mox_dkim_signer *) = mox_dkim_signer_want;
    int64_t (*sfeed)(mox_dkim_signer *, const void *, size_t) = mox_dkim_signer_feed;
    int (*seof)(mox_dkim_signer *) = mox_dkim_signer_eof;
    const mox_dkim_signer_outcome *(*sresult)(const mox_dkim_signer *) = mox_dkim_signer_result;
    mox_engine *(*sengine)(mox_dkim_signer *) = mox_dkim_signer_engine;
    void (*vcinit)(mox_dkim_verify_config *, size_t) = mox_dkim_verify_config_init;
    void (*scinit)(mox_dkim_sign_config *, size_t) = mox_dkim_sign_config_init;
    void (*spinit)(mox_dkim_sign_params *, size_t) = mox_dkim_sign_params_init;
    int (*vmsg)(const mox_dkim_verify_config *, const mox_resolver *, const void *, size_t,
                mox_dkim_verifier **, mox_errinfo *) = mox_dkim_verify_message;
    assert_non_null(vnew && vfree && vwant && vfeed && veof && vquery && vanswer && vresult &&
                    vengine && snew && sfree && swant && sfeed && seof && sresult && sengine &&
                    vcinit && scinit && spinit && vmsg);

    /* the function forms of the INIT macros agree with them */
    mox_dkim_verify_config a = MOX_DKIM_VERIFY_CONFIG_INIT, b;
    memset(&b, 0x5a, sizeof b);
    mox_dkim_verify_config_init(&b, sizeof b);
    assert_int_equal(a.size, b.size);
    assert_ptr_equal(a.env, b.env);
    assert_int_equal(a.allow_rsa_sha1, b.allow_rsa_sha1);
    assert_int_equal(a.min_rsa_bits, b.min_rsa_bits);
    assert_int_equal(a.max_rsa_bits, b.max_rsa_bits);
    assert_int_equal(a.max_signatures, b.max_signatures);
    assert_int_equal(a.max_header_bytes, b.max_header_bytes);
    assert_int_equal(a.max_header_fields, b.max_header_fields);
    assert_int_equal(a.max_clock_skew, b.max_clock_skew);
    mox_dkim_sign_config c = MOX_DKIM_SIGN_CONFIG_INIT, d;
    memset(&d, 0x5a, sizeof d);
    mox_dkim_sign_config_init(&d, sizeof d);
    assert_int_equal(c.size, d.size);
    assert_ptr_equal(c.env, d.env);
    assert_int_equal(c.max_header_bytes, d.max_header_bytes);
    assert_int_equal(c.max_header_fields, d.max_header_fields);
    mox_dkim_sign_params e = MOX_DKIM_SIGN_PARAMS_INIT, f;
    memset(&f, 0x5a, sizeof f);
    mox_dkim_sign_params_init(&f, sizeof f);
    assert_int_equal(e.size, f.size);
    assert_null(f.key);
    assert_null(f.domain);
    assert_null(f.selector);
    assert_null(f.identity);
    assert_null(f.headers);
    assert_int_equal(e.header_canon, f.header_canon);
    assert_int_equal(e.body_canon, f.body_canon);
    assert_int_equal(e.oversign, f.oversign);
    assert_int_equal(e.timestamp, f.timestamp);
    assert_int_equal(e.expire_seconds, f.expire_seconds);
    assert_int_equal(e.body_length, f.body_length);
    /* an older, smaller struct: nothing written past its size */
    memset(&b, 0x5a, sizeof b);
    mox_dkim_verify_config_init(&b, offsetof(mox_dkim_verify_config, max_signatures));
    assert_int_equal(b.size, offsetof(mox_dkim_verify_config, max_signatures));
    assert_int_equal(b.min_rsa_bits, 1024);
    unsigned char x;
    memcpy(&x, &b.max_signatures, 1);
    assert_int_equal(x, 0x5a);
    mox_dkim_verify_config_init(NULL, sizeof b);
    mox_dkim_sign_config_init(NULL, sizeof d);
    mox_dkim_sign_params_init(NULL, sizeof f);

    mox_dkim_verifier *v;
    assert_int_equal(mox_dkim_verifier_new(&v, NULL, NULL), MOX_OK);
    assert_string_equal(mox_engine_name(mox_dkim_verifier_engine(v)), "dkim_verifier");
    mox_dkim_verifier_free(v);
    mox_dkim_signer *s;
    mox_dkim_sign_params p = MOX_DKIM_SIGN_PARAMS_INIT;
    p.key = keys[0];
    p.domain = "example.com";
    p.selector = "s0";
    assert_int_equal(mox_dkim_signer_new(&s, NULL, &p, 1, NULL), MOX_OK);
    assert_string_equal(mox_engine_name(mox_dkim_signer_engine(s)), "dkim_signer");
    mox_dkim_signer_free(s);
    assert_null(mox_dkim_verifier_engine(NULL));
    assert_null(mox_dkim_signer_engine(NULL));
    assert_null(mox_dkim_verifier_result(NULL));
    assert_null(mox_dkim_signer_result(NULL));
    assert_int_equal(mox_dkim_verifier_want(NULL), 0);
    assert_int_equal(mox_dkim_signer_want(NULL), 0);
}

static void test_free_null(void **state)
{
    (void)state;
    mox_dkim_verifier_free(NULL);
    mox_dkim_signer_free(NULL);
}

/* ------------------------------------------------------------ driving */

/* What a key question is answered with in a run. */
enum { ANS_KEY, ANS_NXDOMAIN, ANS_NODATA, ANS_SERVFAIL, ANS_TIMEOUT, ANS_NETERR, ANS_TWO, ANS_N };

static int expected_status(int how)
{
    switch (how) {
    case ANS_KEY: return MOX_DKIM_PASS;
    case ANS_NXDOMAIN:
    case ANS_NODATA:
    case ANS_TWO: return MOX_DKIM_PERMERROR;
    default: return MOX_DKIM_TEMPERROR;
    }
}

static int selector_index(const char *name)
{
    for (int i = 0; i < NSIG; i++)
        if (!strncmp(name, selectors[i], 2) && !strcmp(name + 2, "._domainkey.example.com"))
            return i;
    fail_msg("unexpected question %s", name);
    return -1;
}

static mox_answer *make_answer(const mox_query *q, int how)
{
    static const int st[ANS_N] = {MOX_DNS_NOERROR, MOX_DNS_NXDOMAIN, MOX_DNS_NOERROR,
                                  MOX_DNS_SERVFAIL, MOX_DNS_TIMEOUT, MOX_DNS_NETERR,
                                  MOX_DNS_NOERROR};
    int i = selector_index(q->u.dns.name);
    mox_answer *a;
    assert_int_equal(mox_answer_dns_new(&a, q->id, q->u.dns.name, MOX_DNS_TXT, st[how], 0), MOX_OK);
    if (how == ANS_KEY || how == ANS_TWO)
        assert_int_equal(mox_answer_add_txt(a, NULL, 300, records[i].data, records[i].len), MOX_OK);
    if (how == ANS_TWO)
        assert_int_equal(mox_answer_add_txt(a, NULL, 300, records[i].data, records[i].len), MOX_OK);
    return a;
}

/* Drives a verifier through the generic view only: the signed message in
 * random pieces; after each piece every new question is taken, and a
 * random number of the open ones answered in random order (the rest
 * later, some only after eof). Checks the want bits on the way. */
static void drive_generic(const int how[NSIG])
{
    mox_dkim_verify_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    mox_dkim_verifier *v;
    assert_int_equal(mox_dkim_verifier_new(&v, &cfg, NULL), MOX_OK);
    mox_engine *g = mox_dkim_verifier_engine(v);
    mox_query open[NSIG];
    size_t nopen = 0, asked = 0;
    const unsigned char *p = signed_msg.data;
    size_t len = signed_msg.len, off = 0;
    int eof = 0;
    while (!(mox_engine_want(g) & MOX_WANT_DONE)) {
        unsigned w = mox_engine_want(g);
        assert_int_equal(!!(w & MOX_WANT_READ), !eof);
        if (!eof && (nopen == 0 || rnd() % 3)) {
            size_t n = 1 + rnd() % (rnd() % 2 ? 7 : 400);
            if (n > len - off)
                n = len - off;
            if (n == 0) {
                assert_int_equal(mox_engine_eof(g), MOX_OK);
                eof = 1;
            } else {
                assert_int_equal(mox_engine_feed(g, p + off, n), (int64_t)n);
                off += n;
            }
        }
        mox_query q;
        while (mox_engine_query(g, &q) == MOX_OK) {
            assert_true(nopen < NSIG);
            open[nopen++] = q;
            asked++;
        }
        assert_false(mox_engine_want(g) & MOX_WANT_QUERY);
        if (nopen)
            assert_true(mox_engine_want(g) & MOX_WANT_ANSWER);
        /* every question is known once the header section is complete */
        if (asked)
            assert_int_equal(asked, NSIG);
        size_t k = nopen ? rnd() % (nopen + 1) : 0;
        while (k--) {
            size_t i = rnd() % nopen;
            mox_answer *a = make_answer(&open[i], how[selector_index(open[i].u.dns.name)]);
            assert_int_equal(mox_engine_answer(g, a), MOX_OK);
            mox_answer_free(a);
            open[i] = open[--nopen];
        }
        if (!(mox_engine_want(g) & MOX_WANT_DONE))
            assert_null(mox_dkim_verifier_result(v));
    }
    assert_true(eof);
    assert_int_equal(nopen, 0);
    assert_int_equal(mox_engine_want(g), MOX_WANT_DONE);
    const mox_dkim_verifier_outcome *o = mox_dkim_verifier_result(v);
    assert_non_null(o);
    assert_int_equal(o->count, NSIG);
    for (int i = 0; i < NSIG; i++) {
        const mox_dkim_sig_result *r = o->results[i];
        char name[64];
        snprintf(name, sizeof name, "%s._domainkey.example.com", r->selector);
        int want = expected_status(how[selector_index(name)]);
        if (r->status != want)
            fail_msg("signature %d (%s): %s (%s), want %s", i, name,
                     mox_dkim_status_name(r->status), r->reason, mox_dkim_status_name(want));
    }
    mox_dkim_verifier_free(v);
}

static void test_random_drive(void **state)
{
    (void)state;
    int all_good[NSIG] = {0};
    for (int run = 0; run < 300; run++) {
        int how[NSIG];
        for (int i = 0; i < NSIG; i++)
            how[i] = run < 50 ? ANS_KEY : (int)(rnd() % ANS_N);
        drive_generic(run < 50 ? all_good : how);
    }
}

/* ------------------------------------------------------------ blocking loop */

/* An asynchronous resolver over a zone: queries are held until wait(),
 * which answers all of them, last first. Records the most questions
 * outstanding at once. */
struct async_res {
    mox_resolver zone;
    struct {
        char name[256];
        uint16_t type;
        mox_dns_done_fn done;
        void *arg;
    } pend[16];
    size_t npend, max_pend, total;
};

static int async_query(void *ctx, const char *name, uint16_t type, mox_dns_done_fn done, void *arg)
{
    struct async_res *r = ctx;
    assert_true(r->npend < 16);
    snprintf(r->pend[r->npend].name, sizeof r->pend[0].name, "%s", name);
    r->pend[r->npend].type = type;
    r->pend[r->npend].done = done;
    r->pend[r->npend].arg = arg;
    r->npend++;
    r->total++;
    if (r->npend > r->max_pend)
        r->max_pend = r->npend;
    return MOX_OK;
}

static int async_wait(void *ctx)
{
    struct async_res *r = ctx;
    while (r->npend) {
        r->npend--;
        assert_int_equal(r->zone.query(r->zone.ctx, r->pend[r->npend].name, r->pend[r->npend].type,
                                       r->pend[r->npend].done, r->pend[r->npend].arg),
                         MOX_OK);
    }
    return MOX_OK;
}

static void test_blocking_parallel(void **state)
{
    (void)state;
    mox_dns_zone *z;
    assert_int_equal(mox_dns_zone_new(&z), MOX_OK);
    mox_errinfo ei;
    /* s0, s1: keys; s2: NXDOMAIN (absent); s3: SERVFAIL; s4: timeout */
    for (int i = 0; i < 2; i++) {
        mox_buf line = MOX_BUF_INIT;
        assert_int_equal(mox_dkim_txt_rr(selectors[i], "example.com", (char *)records[i].data,
                                         records[i].len, &line), MOX_OK);
        if (mox_dns_zone_add(z, (char *)line.data, &ei))
            fail_msg("zone: %s", ei.msg);
        mox_buf_free(&line);
    }
    assert_int_equal(mox_dns_zone_set_failure(z, "s3._domainkey.example.com", MOX_DNS_SERVFAIL), MOX_OK);
    assert_int_equal(mox_dns_zone_set_failure(z, "s4._domainkey.example.com", MOX_DNS_TIMEOUT), MOX_OK);
    struct async_res ar;
    memset(&ar, 0, sizeof ar);
    mox_dns_zone_resolver(z, &ar.zone);
    mox_resolver r = MOX_RESOLVER_INIT;
    r.ctx = &ar;
    r.query = async_query;
    r.wait = async_wait;
    static const int want[NSIG] = {MOX_DKIM_PASS, MOX_DKIM_PASS, MOX_DKIM_PERMERROR,
                                   MOX_DKIM_TEMPERROR, MOX_DKIM_TEMPERROR};

    /* the convenience */
    mox_dkim_verifier *v;
    assert_int_equal(mox_dkim_verify_message(NULL, &r, signed_msg.data, signed_msg.len, &v, &ei), MOX_OK);
    assert_int_equal(ar.max_pend, NSIG); /* five signatures: five keys asked at once */
    assert_int_equal(ar.total, NSIG);
    const mox_dkim_verifier_outcome *o = mox_dkim_verifier_result(v);
    assert_non_null(o);
    assert_int_equal(o->count, NSIG);
    for (int i = 0; i < NSIG; i++)
        assert_int_equal(o->results[i]->status, want[i]);
    assert_string_equal(o->results[4]->detail, "TIMEOUT");
    assert_string_equal(o->results[3]->detail, "SERVFAIL");
    mox_dkim_verifier_free(v);

    /* the generic loop over an engine fed by hand, in pieces */
    ar.max_pend = ar.total = 0;
    assert_int_equal(mox_dkim_verifier_new(&v, NULL, &ei), MOX_OK);
    for (size_t off = 0; off < signed_msg.len; off += 100) {
        size_t n = signed_msg.len - off < 100 ? signed_msg.len - off : 100;
        assert_int_equal(mox_dkim_verifier_feed(v, signed_msg.data + off, n), (int64_t)n);
    }
    assert_int_equal(mox_dkim_verifier_eof(v), MOX_OK);
    assert_int_equal(mox_dkim_verifier_want(v), MOX_WANT_QUERY);
    mox_io io = MOX_IO_INIT;
    io.resolver = &r;
    assert_int_equal(mox_engine_run(mox_dkim_verifier_engine(v), &io, &ei), MOX_OK);
    assert_int_equal(ar.max_pend, NSIG);
    o = mox_dkim_verifier_result(v);
    assert_non_null(o);
    for (int i = 0; i < NSIG; i++)
        assert_int_equal(o->results[i]->status, want[i]);
    mox_dkim_verifier_free(v);

    /* a resolver that cannot start queries: DNS failures, not API errors */
    mox_resolver dead = MOX_RESOLVER_INIT;
    assert_int_equal(mox_dkim_verify_message(NULL, &dead, signed_msg.data, signed_msg.len, &v, &ei), MOX_OK);
    o = mox_dkim_verifier_result(v);
    for (int i = 0; i < NSIG; i++)
        assert_int_equal(o->results[i]->status, MOX_DKIM_TEMPERROR);
    mox_dkim_verifier_free(v);
    mox_dns_zone_free(z);
}

/* ------------------------------------------------------------ generic driver */

/* The shared driver (tests/support/enginedrv.h) over a zone with the five
 * keys: every seed gives the same verdicts; with failures injected, a
 * signature is pass or temperror; the signer gives the same fields for
 * every split. */
static void test_enginedrv(void **state)
{
    (void)state;
    mox_dns_zone *z;
    assert_int_equal(mox_dns_zone_new(&z), MOX_OK);
    mox_errinfo ei;
    for (int i = 0; i < NSIG; i++) {
        mox_buf line = MOX_BUF_INIT;
        assert_int_equal(mox_dkim_txt_rr(selectors[i], "example.com", (char *)records[i].data,
                                         records[i].len, &line), MOX_OK);
        if (mox_dns_zone_add(z, (char *)line.data, &ei))
            fail_msg("zone: %s", ei.msg);
        mox_buf_free(&line);
    }
    for (unsigned seed = 1; seed <= 60; seed++) {
        moxtest_drive d;
        memset(&d, 0, sizeof d);
        d.seed = seed;
        d.max_chunk = seed % 3 ? 1 + seed * 7 : 0;
        d.shuffle = 1;
        d.fail_percent = seed > 30 ? 40 : 0;
        d.zone = z;
        d.input = signed_msg.data;
        d.input_len = signed_msg.len;
        d.eof = 1;
        mox_dkim_verifier *v;
        assert_int_equal(mox_dkim_verifier_new(&v, NULL, NULL), MOX_OK);
        assert_int_equal(moxtest_drive_run(mox_dkim_verifier_engine(v), &d), MOX_OK);
        assert_int_equal(d.final_want, MOX_WANT_DONE);
        assert_int_equal(d.questions, NSIG);
        assert_int_equal(d.max_open, NSIG); /* all asked at once */
        assert_int_equal(d.fed, signed_msg.len);
        const mox_dkim_verifier_outcome *o = mox_dkim_verifier_result(v);
        assert_non_null(o);
        assert_int_equal(o->count, NSIG);
        for (int i = 0; i < NSIG; i++) {
            int st = o->results[i]->status;
            if (d.fail_percent)
                assert_true(st == MOX_DKIM_PASS || st == MOX_DKIM_TEMPERROR);
            else
                assert_int_equal(st, MOX_DKIM_PASS);
        }
        mox_buf_free(&d.output);
        mox_dkim_verifier_free(v);
    }
    /* the shared answer checks while a question is open */
    mox_dkim_verifier *v;
    assert_int_equal(mox_dkim_verifier_new(&v, NULL, NULL), MOX_OK);
    assert_int_equal(mox_dkim_verifier_feed(v, signed_msg.data, signed_msg.len), (int64_t)signed_msg.len);
    mox_query q;
    assert_int_equal(mox_dkim_verifier_query(v, &q), MOX_OK);
    moxtest_contract_answers(mox_dkim_verifier_engine(v), q.id);
    moxtest_contract_answers(mox_dkim_verifier_engine(v), 0);
    mox_dkim_verifier_free(v);
    mox_dns_zone_free(z);

    /* the signer: same fields for every split */
    mox_dkim_sign_params p = MOX_DKIM_SIGN_PARAMS_INIT;
    p.key = keys[2];
    p.domain = "example.com";
    p.selector = "s2";
    p.timestamp = 0;
    mox_buf first = MOX_BUF_INIT;
    for (unsigned seed = 1; seed <= 20; seed++) {
        moxtest_drive d;
        memset(&d, 0, sizeof d);
        d.seed = seed;
        d.max_chunk = seed;
        d.input = message;
        d.input_len = sizeof message - 1;
        d.eof = 1;
        mox_dkim_signer *s;
        assert_int_equal(mox_dkim_signer_new(&s, NULL, &p, 1, NULL), MOX_OK);
        assert_int_equal(moxtest_drive_run(mox_dkim_signer_engine(s), &d), MOX_OK);
        assert_int_equal(d.final_want, MOX_WANT_DONE);
        const mox_dkim_signer_outcome *o = mox_dkim_signer_result(s);
        assert_non_null(o);
        if (seed == 1)
            assert_int_equal(mox_buf_append(&first, o->fields, o->len), MOX_OK);
        else
            assert_true(o->len == first.len && !memcmp(o->fields, first.data, first.len));
        mox_buf_free(&d.output);
        mox_dkim_signer_free(s);
    }
    mox_buf_free(&first);
}

/* ------------------------------------------------------------ configs */

static void test_zeroed_config(void **state)
{
    (void)state;
    mox_dkim_verify_config vc;
    memset(&vc, 0, sizeof vc);
    vc.size = sizeof vc;
    mox_dkim_verifier *v;
    assert_int_equal(mox_dkim_verifier_new(&v, &vc, NULL), MOX_OK);
    assert_int_equal(mox_dkim_verifier_feed(v, signed_msg.data, signed_msg.len), (int64_t)signed_msg.len);
    assert_int_equal(mox_dkim_verifier_eof(v), MOX_OK);
    mox_query q;
    while (mox_dkim_verifier_query(v, &q) == MOX_OK) {
        mox_answer *a = make_answer(&q, ANS_KEY);
        assert_int_equal(mox_dkim_verifier_answer(v, a), MOX_OK);
        mox_answer_free(a);
    }
    const mox_dkim_verifier_outcome *o = mox_dkim_verifier_result(v);
    assert_non_null(o);
    assert_int_equal(o->count, NSIG);
    /* the default of 5 evaluated signatures */
    for (int i = 0; i < NSIG; i++)
        assert_int_equal(o->results[i]->status, MOX_DKIM_PASS);
    mox_dkim_verifier_free(v);

    mox_dkim_sign_config sc;
    memset(&sc, 0, sizeof sc);
    sc.size = sizeof sc;
    mox_dkim_sign_params p = MOX_DKIM_SIGN_PARAMS_INIT;
    p.key = keys[0];
    p.domain = "example.com";
    p.selector = "s0";
    mox_dkim_signer *s;
    assert_int_equal(mox_dkim_signer_new(&s, &sc, &p, 1, NULL), MOX_OK);
    assert_int_equal(mox_dkim_signer_feed(s, message, sizeof message - 1), (int64_t)(sizeof message - 1));
    assert_int_equal(mox_dkim_signer_eof(s), MOX_OK);
    assert_non_null(mox_dkim_signer_result(s));
    assert_non_null(strstr(mox_dkim_signer_result(s)->fields, "s=s0;"));
    mox_dkim_signer_free(s);
}

static void test_errinfo(void **state)
{
    (void)state;
    mox_errinfo ei;
    mox_dkim_verifier *v = (mox_dkim_verifier *)1;
#define EXPECT_FAIL(call, rc_)               \
    do {                                     \
        mox_errinfo_clear(&ei);              \
        assert_int_equal((call), (rc_));     \
        assert_int_equal(ei.code, (rc_));    \
        assert_true(ei.msg[0] != 0);         \
    } while (0)
    EXPECT_FAIL(mox_dkim_verifier_new(NULL, NULL, &ei), MOX_ERR_INVAL);
    mox_dkim_verify_config vc = MOX_DKIM_VERIFY_CONFIG_INIT;
    vc.size = 0;
    EXPECT_FAIL(mox_dkim_verifier_new(&v, &vc, &ei), MOX_ERR_INVAL);
    assert_null(v);
    EXPECT_FAIL(mox_dkim_verify_message(NULL, NULL, "x", 1, &v, &ei), MOX_ERR_INVAL);
    assert_null(v);

    mox_dkim_signer *s = (mox_dkim_signer *)1;
    mox_dkim_sign_params p = MOX_DKIM_SIGN_PARAMS_INIT;
    EXPECT_FAIL(mox_dkim_signer_new(NULL, NULL, &p, 1, &ei), MOX_ERR_INVAL);
    EXPECT_FAIL(mox_dkim_signer_new(&s, NULL, &p, 1, &ei), MOX_ERR_INVAL); /* no key */
    assert_null(s);
    p.key = keys[0];
    p.domain = "example.com";
    p.selector = "s0";
    EXPECT_FAIL(mox_dkim_signer_new(&s, NULL, &p, 0, &ei), MOX_ERR_INVAL);
    EXPECT_FAIL(mox_dkim_signer_new(&s, NULL, NULL, 1, &ei), MOX_ERR_INVAL);
    EXPECT_FAIL(mox_dkim_signer_new(&s, NULL, &p, 17, &ei), MOX_ERR_INVAL);
    mox_dkim_sign_config sc = MOX_DKIM_SIGN_CONFIG_INIT;
    sc.size = 1;
    EXPECT_FAIL(mox_dkim_signer_new(&s, &sc, &p, 1, &ei), MOX_ERR_INVAL);
    p.size = 0;
    EXPECT_FAIL(mox_dkim_signer_new(&s, NULL, &p, 1, &ei), MOX_ERR_INVAL);
    p.size = sizeof p;
    p.domain = "bad..domain";
    EXPECT_FAIL(mox_dkim_signer_new(&s, NULL, &p, 1, &ei), MOX_ERR_INVAL);
    p.domain = "example.com";
    p.headers = "To:Subject";
    EXPECT_FAIL(mox_dkim_signer_new(&s, NULL, &p, 1, &ei), MOX_ERR_INVAL);
    assert_int_equal(ei.detail, MOX_DKIM_ERR_HEADERS);
    assert_null(s);

    /* out of memory: every allocation failure reports NOMEM with ei */
    moxtest_alloc_install();
    for (unsigned long k = 1; k < 4; k++) {
        moxtest_alloc_fail_at(k);
        mox_errinfo_clear(&ei);
        int rc = mox_dkim_verifier_new(&v, NULL, &ei);
        moxtest_alloc_fail_at(0);
        if (rc == MOX_OK) {
            mox_dkim_verifier_free(v);
            continue;
        }
        assert_int_equal(rc, MOX_ERR_NOMEM);
        assert_int_equal(ei.code, MOX_ERR_NOMEM);
    }
    p.headers = NULL;
    for (unsigned long k = 1; k < 40; k++) {
        moxtest_alloc_fail_at(k);
        mox_errinfo_clear(&ei);
        int rc = mox_dkim_signer_new(&s, NULL, &p, 1, &ei);
        moxtest_alloc_fail_at(0);
        if (rc == MOX_OK) {
            mox_dkim_signer_free(s);
            continue;
        }
        assert_int_equal(rc, MOX_ERR_NOMEM);
        assert_int_equal(ei.code, MOX_ERR_NOMEM);
    }
    assert_int_equal(moxtest_alloc_live(), 0);
    mox_set_allocator(NULL);
#undef EXPECT_FAIL
}

/* ------------------------------------------------------------ misuse */

static void test_misuse_verifier(void **state)
{
    (void)state;
    mox_dkim_verifier *v;
    assert_int_equal(mox_dkim_verifier_new(&v, NULL, NULL), MOX_OK);
    mox_engine *g = mox_dkim_verifier_engine(v);
    /* groups it does not have */
    const void *op;
    size_t on;
    assert_int_equal(mox_engine_output(g, &op, &on), MOX_ERR_UNSUPPORTED);
    assert_int_equal(mox_engine_output_done(g, 1), MOX_ERR_UNSUPPORTED);
    assert_int_equal(mox_engine_tick(g, 0), MOX_ERR_UNSUPPORTED);
    assert_int_equal(mox_engine_deadline(g), MOX_NO_DEADLINE);
    assert_int_equal(mox_engine_error(g)->code, MOX_ERR_UNSUPPORTED);
    assert_int_equal(mox_dkim_verifier_feed(v, NULL, 3), MOX_ERR_INVAL);
    assert_int_equal(mox_dkim_verifier_feed(NULL, "x", 1), MOX_ERR_INVAL);
    assert_int_equal(mox_dkim_verifier_query(v, NULL), MOX_ERR_INVAL);

    /* header complete: five questions open, none handed out */
    size_t hdr = (size_t)(strstr((char *)signed_msg.data, "\r\n\r\n") - (char *)signed_msg.data) + 4;
    assert_int_equal(mox_dkim_verifier_feed(v, signed_msg.data, hdr), (int64_t)hdr);
    assert_int_equal(mox_dkim_verifier_want(v), MOX_WANT_READ | MOX_WANT_QUERY);
    mox_answer *a;
    assert_int_equal(mox_answer_dns_new(&a, 1, NULL, MOX_DNS_TXT, MOX_DNS_NXDOMAIN, 0), MOX_OK);
    assert_int_equal(mox_dkim_verifier_answer(v, a), MOX_ERR_STATE); /* not handed out */
    assert_non_null(strstr(mox_engine_error(g)->msg, "not handed out"));
    mox_answer_free(a);
    mox_query qs[NSIG];
    for (int i = 0; i < NSIG; i++) {
        assert_int_equal(mox_dkim_verifier_query(v, &qs[i]), MOX_OK);
        assert_int_equal(qs[i].kind, MOX_QUERY_DNS);
        assert_int_equal(qs[i].u.dns.type, MOX_DNS_TXT);
        for (int k = 0; k < i; k++)
            assert_true(qs[k].id != qs[i].id);
    }
    mox_query extra;
    assert_int_equal(mox_dkim_verifier_query(v, &extra), MOX_ERR_AGAIN);
    assert_int_equal(mox_dkim_verifier_want(v), MOX_WANT_READ | MOX_WANT_ANSWER);

    /* unknown id */
    assert_int_equal(mox_answer_dns_new(&a, 999, NULL, MOX_DNS_TXT, MOX_DNS_NXDOMAIN, 0), MOX_OK);
    assert_int_equal(mox_dkim_verifier_answer(v, a), MOX_ERR_NOTFOUND);
    assert_int_equal(mox_engine_error(g)->code, MOX_ERR_NOTFOUND);
    mox_answer_free(a);
    /* wrong type, wrong kind, none at all */
    assert_int_equal(mox_answer_dns_new(&a, qs[0].id, NULL, MOX_DNS_MX, MOX_DNS_NOERROR, 0), MOX_OK);
    assert_int_equal(mox_dkim_verifier_answer(v, a), MOX_ERR_INVAL);
    mox_answer_free(a);
    assert_int_equal(mox_answer_credentials_status(&a, qs[0].id, MOX_ERR_NOTFOUND), MOX_OK);
    assert_int_equal(mox_dkim_verifier_answer(v, a), MOX_ERR_INVAL);
    mox_answer_free(a);
    assert_int_equal(mox_dkim_verifier_answer(v, NULL), MOX_ERR_INVAL);
    assert_int_equal(mox_engine_error(g)->code, MOX_ERR_INVAL);

    /* answers in reverse order; each twice */
    for (int i = NSIG - 1; i >= 0; i--) {
        a = make_answer(&qs[i], ANS_KEY);
        assert_int_equal(mox_dkim_verifier_answer(v, a), MOX_OK);
        assert_int_equal(mox_dkim_verifier_answer(v, a), MOX_ERR_STATE);
        assert_non_null(strstr(mox_engine_error(g)->msg, "answered already"));
        mox_answer_free(a);
    }
    assert_int_equal(mox_dkim_verifier_want(v), MOX_WANT_READ);
    assert_null(mox_dkim_verifier_result(v));
    size_t rest = signed_msg.len - hdr;
    assert_int_equal(mox_dkim_verifier_feed(v, signed_msg.data + hdr, rest), (int64_t)rest);
    assert_int_equal(mox_dkim_verifier_eof(v), MOX_OK);
    assert_int_equal(mox_dkim_verifier_want(v), MOX_WANT_DONE);

    /* after eof */
    assert_int_equal(mox_dkim_verifier_feed(v, "x", 1), MOX_ERR_STATE);
    assert_int_equal(mox_engine_error(g)->code, MOX_ERR_STATE);
    assert_non_null(strstr(mox_engine_error(g)->msg, "after eof"));
    assert_int_equal(mox_dkim_verifier_eof(v), MOX_ERR_STATE);
    assert_int_equal(mox_engine_feed(g, "x", 1), MOX_ERR_STATE);
    assert_int_equal(mox_engine_eof(g), MOX_ERR_STATE);

    /* nothing of it corrupted the verdicts */
    const mox_dkim_verifier_outcome *o = mox_dkim_verifier_result(v);
    assert_non_null(o);
    assert_int_equal(o->count, NSIG);
    for (int i = 0; i < NSIG; i++)
        assert_int_equal(o->results[i]->status, MOX_DKIM_PASS);
    mox_dkim_verifier_free(v);
}

static void test_misuse_signer(void **state)
{
    (void)state;
    mox_dkim_sign_params p = MOX_DKIM_SIGN_PARAMS_INIT;
    p.key = keys[1];
    p.domain = "example.com";
    p.selector = "s1";
    mox_dkim_signer *s;
    assert_int_equal(mox_dkim_signer_new(&s, NULL, &p, 1, NULL), MOX_OK);
    mox_engine *g = mox_dkim_signer_engine(s);
    mox_query q;
    assert_int_equal(mox_engine_query(g, &q), MOX_ERR_UNSUPPORTED);
    assert_int_equal(mox_engine_answer(g, NULL), MOX_ERR_UNSUPPORTED);
    assert_int_equal(mox_dkim_signer_feed(s, NULL, 1), MOX_ERR_INVAL);
    assert_int_equal(mox_engine_want(g), MOX_WANT_READ);
    assert_null(mox_dkim_signer_result(s));
    /* random pieces through the generic view */
    for (size_t off = 0, n; off < sizeof message - 1; off += n) {
        n = 1 + rnd() % 20;
        if (n > sizeof message - 1 - off)
            n = sizeof message - 1 - off;
        assert_int_equal(mox_engine_feed(g, message + off, n), (int64_t)n);
    }
    assert_int_equal(mox_engine_eof(g), MOX_OK);
    assert_int_equal(mox_engine_want(g), MOX_WANT_DONE);
    const mox_dkim_signer_outcome *o = mox_dkim_signer_result(s);
    assert_non_null(o);
    assert_int_equal(o->count, 1);
    assert_int_equal(strlen(o->fields), o->len);
    assert_true(o->len > 2 && !memcmp(o->fields + o->len - 2, "\r\n", 2));
    assert_int_equal(mox_engine_feed(g, "x", 1), MOX_ERR_STATE);
    assert_int_equal(mox_engine_error(g)->code, MOX_ERR_STATE);
    assert_int_equal(mox_engine_eof(g), MOX_ERR_STATE);
    assert_true(mox_dkim_signer_result(s) == o); /* unchanged */
    /* mox_engine_run on a finished signer returns at once */
    mox_io io = MOX_IO_INIT;
    assert_int_equal(mox_engine_run(g, &io, NULL), MOX_OK);

    /* the signature verifies */
    mox_buf m = MOX_BUF_INIT;
    assert_int_equal(mox_buf_append(&m, o->fields, o->len), MOX_OK);
    assert_int_equal(mox_buf_append(&m, message, sizeof message - 1), MOX_OK);
    mox_dkim_signer_free(s);
    mox_dkim_verifier *v;
    assert_int_equal(mox_dkim_verifier_new(&v, NULL, NULL), MOX_OK);
    assert_int_equal(mox_dkim_verifier_feed(v, m.data, m.len), (int64_t)m.len);
    assert_int_equal(mox_dkim_verifier_eof(v), MOX_OK);
    assert_int_equal(mox_dkim_verifier_query(v, &q), MOX_OK);
    mox_answer *a = make_answer(&q, ANS_KEY);
    assert_int_equal(mox_dkim_verifier_answer(v, a), MOX_OK);
    mox_answer_free(a);
    assert_int_equal(mox_dkim_verifier_result(v)->results[0]->status, MOX_DKIM_PASS);
    mox_dkim_verifier_free(v);
    mox_buf_free(&m);

    /* a header section over the limit fails the signer */
    mox_dkim_sign_config sc = MOX_DKIM_SIGN_CONFIG_INIT;
    sc.max_header_bytes = 20;
    assert_int_equal(mox_dkim_signer_new(&s, &sc, &p, 1, NULL), MOX_OK);
    assert_int_equal(mox_dkim_signer_feed(s, message, sizeof message - 1), MOX_ERR_LIMIT);
    g = mox_dkim_signer_engine(s);
    assert_int_equal(mox_engine_error(g)->code, MOX_ERR_LIMIT);
    assert_int_equal(mox_dkim_signer_want(s), 0);
    assert_int_equal(mox_dkim_signer_eof(s), MOX_ERR_STATE);
    assert_null(mox_dkim_signer_result(s));
    mox_dkim_signer_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_free_null),
        cmocka_unit_test(test_zeroed_config),
        cmocka_unit_test(test_errinfo),
        cmocka_unit_test(test_misuse_verifier),
        cmocka_unit_test(test_misuse_signer),
        cmocka_unit_test(test_random_drive),
        cmocka_unit_test(test_blocking_parallel),
        cmocka_unit_test(test_enginedrv),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
