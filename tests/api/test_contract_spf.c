/* The engine contract (include/mox/engine.h) for the evaluators: spf,
 * iprev, dmarc (evaluation and the external-report check) and msgauth.
 * Names and signatures exist as the contract spells them; free is
 * NULL-safe; a zeroed config with its size is valid; errinfo is filled on
 * every failure of new; misuse (unknown id, wrong kind, second answer, an
 * answer for a question not handed out, feed after eof) gives a precise
 * error and leaves the engine as it was; the generic view refuses the
 * groups an engine does not have; every engine finishes under the generic
 * driver with answers shuffled and DNS failures injected, and gives the
 * same outcome for every seed without failures. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "enginedrv.h"
#include "moxtest.h"
#include "mox/dmarc.h"
#include "mox/iprev.h"
#include "mox/msgauth.h"
#include "mox/spf.h"

/* ------------------------------------------------------------ names */

/* Assigning every contract function to a pointer of the contract's exact
 * type fails to compile when a name or a signature differs. */
static void test_names(void **state)
{
    (void)state;
    int (*spf_new)(mox_spf **, const mox_spf_config *, const char *, const char *, const char *,
                   int, mox_errinfo *) = mox_spf_new;
    void (*spf_free)(mox_spf *) = mox_spf_free;
    unsigned (*spf_want)(const mox_spf *) = mox_spf_want;
    int (*spf_query)(mox_spf *, mox_query *) = mox_spf_query;
    int (*spf_answer)(mox_spf *, const mox_answer *) = mox_spf_answer;
    const mox_spf_outcome *(*spf_result)(const mox_spf *) = mox_spf_result;
    mox_engine *(*spf_engine)(mox_spf *) = mox_spf_engine;

    int (*ip_new)(mox_iprev **, const mox_iprev_config *, const char *, mox_errinfo *) =
        mox_iprev_new;
    void (*ip_free)(mox_iprev *) = mox_iprev_free;
    unsigned (*ip_want)(const mox_iprev *) = mox_iprev_want;
    int (*ip_query)(mox_iprev *, mox_query *) = mox_iprev_query;
    int (*ip_answer)(mox_iprev *, const mox_answer *) = mox_iprev_answer;
    const mox_iprev_outcome *(*ip_result)(const mox_iprev *) = mox_iprev_result;
    mox_engine *(*ip_engine)(mox_iprev *) = mox_iprev_engine;

    int (*dm_new)(mox_dmarc **, const mox_dmarc_config *, const char *, mox_errinfo *) =
        mox_dmarc_new;
    void (*dm_free)(mox_dmarc *) = mox_dmarc_free;
    unsigned (*dm_want)(const mox_dmarc *) = mox_dmarc_want;
    int (*dm_query)(mox_dmarc *, mox_query *) = mox_dmarc_query;
    int (*dm_answer)(mox_dmarc *, const mox_answer *) = mox_dmarc_answer;
    const mox_dmarc_outcome *(*dm_result)(const mox_dmarc *) = mox_dmarc_result;
    mox_engine *(*dm_engine)(mox_dmarc *) = mox_dmarc_engine;

    int (*rc_new)(mox_dmarc_report_check **, const char *, const char *, mox_errinfo *) =
        mox_dmarc_report_check_new;
    void (*rc_free)(mox_dmarc_report_check *) = mox_dmarc_report_check_free;
    unsigned (*rc_want)(const mox_dmarc_report_check *) = mox_dmarc_report_check_want;
    int (*rc_query)(mox_dmarc_report_check *, mox_query *) = mox_dmarc_report_check_query;
    int (*rc_answer)(mox_dmarc_report_check *, const mox_answer *) =
        mox_dmarc_report_check_answer;
    const mox_dmarc_report_check_outcome *(*rc_result)(const mox_dmarc_report_check *) =
        mox_dmarc_report_check_result;
    mox_engine *(*rc_engine)(mox_dmarc_report_check *) = mox_dmarc_report_check_engine;

    int (*ma_new)(mox_msgauth **, const mox_msgauth_config *, const char *, const char *,
                  const char *, mox_errinfo *) = mox_msgauth_new;
    void (*ma_free)(mox_msgauth *) = mox_msgauth_free;
    unsigned (*ma_want)(const mox_msgauth *) = mox_msgauth_want;
    int64_t (*ma_feed)(mox_msgauth *, const void *, size_t) = mox_msgauth_feed;
    int (*ma_eof)(mox_msgauth *) = mox_msgauth_eof;
    int (*ma_query)(mox_msgauth *, mox_query *) = mox_msgauth_query;
    int (*ma_answer)(mox_msgauth *, const mox_answer *) = mox_msgauth_answer;
    const mox_msgauth_outcome *(*ma_result)(const mox_msgauth *) = mox_msgauth_result;
    mox_engine *(*ma_engine)(mox_msgauth *) = mox_msgauth_engine;

    void *all[] = {(void *)spf_new,  (void *)spf_free,  (void *)spf_want,   (void *)spf_query,
                   (void *)spf_answer, (void *)spf_result, (void *)spf_engine, (void *)ip_new,
                   (void *)ip_free,  (void *)ip_want,   (void *)ip_query,   (void *)ip_answer,
                   (void *)ip_result, (void *)ip_engine, (void *)dm_new,    (void *)dm_free,
                   (void *)dm_want,  (void *)dm_query,  (void *)dm_answer,  (void *)dm_result,
                   (void *)dm_engine, (void *)rc_new,   (void *)rc_free,    (void *)rc_want,
                   (void *)rc_query, (void *)rc_answer, (void *)rc_result,  (void *)rc_engine,
                   (void *)ma_new,   (void *)ma_free,   (void *)ma_want,    (void *)ma_feed,
                   (void *)ma_eof,   (void *)ma_query,  (void *)ma_answer,  (void *)ma_result,
                   (void *)ma_engine};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        assert_non_null(all[i]);
    /* the verdict enums keep their value names */
    mox_spf_verdict sv = MOX_SPF_PASS;
    mox_iprev_verdict iv = MOX_IPREV_PASS;
    mox_dmarc_verdict dv = MOX_DMARC_PASS;
    assert_string_equal(mox_spf_result_name(sv), "pass");
    assert_string_equal(mox_iprev_result_name(iv), "pass");
    assert_string_equal(mox_dmarc_result_name(dv), "pass");
}

/* ------------------------------------------------------------ lifecycle */

static void test_free_null_and_views(void **state)
{
    (void)state;
    mox_spf_free(NULL);
    mox_iprev_free(NULL);
    mox_dmarc_free(NULL);
    mox_dmarc_report_check_free(NULL);
    mox_msgauth_free(NULL);
    assert_null(mox_spf_engine(NULL));
    assert_null(mox_iprev_engine(NULL));
    assert_null(mox_dmarc_engine(NULL));
    assert_null(mox_dmarc_report_check_engine(NULL));
    assert_null(mox_msgauth_engine(NULL));
    assert_int_equal(mox_spf_want(NULL), 0);
    assert_int_equal(mox_iprev_want(NULL), 0);
    assert_int_equal(mox_dmarc_want(NULL), 0);
    assert_int_equal(mox_dmarc_report_check_want(NULL), 0);
    assert_int_equal(mox_msgauth_want(NULL), 0);
    assert_null(mox_spf_result(NULL));
    assert_null(mox_iprev_result(NULL));
    assert_null(mox_dmarc_result(NULL));
    assert_null(mox_dmarc_report_check_result(NULL));
    assert_null(mox_msgauth_result(NULL));
    mox_query q;
    assert_int_equal(mox_spf_query(NULL, &q), MOX_ERR_INVAL);
    assert_int_equal(mox_iprev_answer(NULL, NULL), MOX_ERR_INVAL);
    assert_int_equal(mox_msgauth_feed(NULL, "x", 1), MOX_ERR_INVAL);
    assert_int_equal(mox_msgauth_eof(NULL), MOX_ERR_INVAL);
}

static void test_zeroed_configs(void **state)
{
    (void)state;
    mox_errinfo ei;
    mox_spf_config sc;
    memset(&sc, 0, sizeof sc);
    sc.size = sizeof sc;
    mox_spf *s;
    assert_int_equal(mox_spf_new(&s, &sc, "192.0.2.1", "a@example.org", "h.example", 0, &ei), MOX_OK);
    assert_int_equal(mox_spf_want(s), MOX_WANT_QUERY);
    mox_spf_free(s);
    mox_iprev_config ic;
    memset(&ic, 0, sizeof ic);
    ic.size = sizeof ic;
    mox_iprev *c;
    assert_int_equal(mox_iprev_new(&c, &ic, "192.0.2.1", &ei), MOX_OK);
    mox_iprev_free(c);
    mox_dmarc_config dc;
    memset(&dc, 0, sizeof dc);
    dc.size = sizeof dc;
    mox_dmarc *d;
    assert_int_equal(mox_dmarc_new(&d, &dc, "example.org", &ei), MOX_OK);
    mox_dmarc_free(d);
    mox_msgauth_config mc;
    memset(&mc, 0, sizeof mc);
    mc.size = sizeof mc;
    mox_msgauth *m;
    assert_int_equal(mox_msgauth_new(&m, &mc, "192.0.2.1", "a@example.org", "h", &ei), MOX_OK);
    mox_msgauth_free(m);
    /* the function forms of the INIT macros */
    mox_dmarc_config d2;
    memset(&d2, 0xff, sizeof d2);
    mox_dmarc_config_init(&d2, sizeof d2);
    mox_dmarc_config d3 = MOX_DMARC_CONFIG_INIT;
    assert_int_equal(d2.size, d3.size);
    assert_null(d2.env);
    assert_int_equal(d2.mode, d3.mode);
    assert_null(d2.psl);
    assert_int_equal(d2.max_walk_queries, d3.max_walk_queries);
    assert_int_equal(d2.max_dkim, d3.max_dkim);
    assert_int_equal(d2.bad_from, d3.bad_from);
    assert_int_equal(d2.flags, d3.flags);
    mox_msgauth_config m2;
    memset(&m2, 0xff, sizeof m2);
    mox_msgauth_config_init(&m2, sizeof m2);
    assert_int_equal(m2.size, sizeof m2);
    assert_null(m2.spf);
    assert_null(m2.dkim);
    assert_null(m2.dmarc);
    assert_null(m2.iprev);
    assert_int_equal(m2.flags, 0);
    assert_int_equal(m2.max_header, 0);
    /* an older, shorter struct: only its bytes are written */
    memset(&m2, 0xff, sizeof m2);
    mox_msgauth_config_init(&m2, offsetof(mox_msgauth_config, flags));
    assert_int_equal(m2.size, offsetof(mox_msgauth_config, flags));
    assert_int_equal(m2.flags, ~0u);
    mox_dmarc_config_init(NULL, 0);
    mox_msgauth_config_init(NULL, 0);
}

static void expect_fail(int rc, int want, const mox_errinfo *ei, const char *what)
{
    if (rc != want || ei->code != want || !ei->msg[0])
        fail_msg("%s: %s (errinfo %s: '%s')", what, mox_strerror(rc), mox_strerror(ei->code),
                 ei->msg);
}

static void test_errinfo(void **state)
{
    (void)state;
    mox_errinfo ei;
    mox_spf *s = (void *)1;
    mox_errinfo_clear(&ei);
    expect_fail(mox_spf_new(&s, NULL, "nope", "a@b.example", NULL, 0, &ei), MOX_ERR_INVAL, &ei,
                "spf bad ip");
    assert_null(s);
    mox_errinfo_clear(&ei);
    expect_fail(mox_spf_new(NULL, NULL, "192.0.2.1", NULL, NULL, 0, &ei), MOX_ERR_INVAL, &ei,
                "spf NULL out");
    mox_errinfo_clear(&ei);
    expect_fail(mox_spf_check(&s, NULL, NULL, "192.0.2.1", NULL, NULL, 0, &ei), MOX_ERR_INVAL,
                &ei, "spf_check NULL resolver");
    mox_iprev *c;
    mox_errinfo_clear(&ei);
    expect_fail(mox_iprev_new(&c, NULL, "1.2.3", &ei), MOX_ERR_INVAL, &ei, "iprev bad ip");
    mox_errinfo_clear(&ei);
    expect_fail(mox_iprev_check(&c, NULL, NULL, "192.0.2.1", &ei), MOX_ERR_INVAL, &ei,
                "iprev_check NULL resolver");
    mox_dmarc *d;
    mox_errinfo_clear(&ei);
    expect_fail(mox_dmarc_new(&d, NULL, NULL, &ei), MOX_ERR_INVAL, &ei, "dmarc NULL domain");
    mox_errinfo_clear(&ei);
    expect_fail(mox_dmarc_new_message(&d, NULL, NULL, 5, &ei), MOX_ERR_INVAL, &ei,
                "dmarc NULL header");
    mox_dmarc_config dc = MOX_DMARC_CONFIG_INIT;
    dc.mode = 7;
    mox_errinfo_clear(&ei);
    expect_fail(mox_dmarc_new(&d, &dc, "example.org", &ei), MOX_ERR_INVAL, &ei, "dmarc mode");
    mox_dmarc_report_check *rc;
    mox_errinfo_clear(&ei);
    expect_fail(mox_dmarc_report_check_new(&rc, "a.example", NULL, &ei), MOX_ERR_INVAL, &ei,
                "report check NULL");
    mox_msgauth *m;
    mox_errinfo_clear(&ei);
    expect_fail(mox_msgauth_new(&m, NULL, "x", NULL, NULL, &ei), MOX_ERR_INVAL, &ei,
                "msgauth bad ip");
    mox_msgauth_config mc = MOX_MSGAUTH_CONFIG_INIT;
    mc.size = 1;
    mox_errinfo_clear(&ei);
    expect_fail(mox_msgauth_new(&m, &mc, "192.0.2.1", NULL, NULL, &ei), MOX_ERR_INVAL, &ei,
                "msgauth config size");
    mox_errinfo_clear(&ei);
    expect_fail(mox_msgauth_check(&m, NULL, NULL, "192.0.2.1", NULL, NULL, "", 0, &ei),
                MOX_ERR_INVAL, &ei, "msgauth_check NULL resolver");
}

/* ------------------------------------------------------------ misuse */

/* For an engine with a question handed out: the generic checks, a second
 * answer, an answer to one not handed out yet (when there is one). */
static void misuse(mox_engine *g)
{
    mox_query q;
    assert_int_equal(mox_engine_query(g, &q), MOX_OK);
    moxtest_contract_answers(g, q.id);
    mox_answer *a;
    assert_int_equal(mox_answer_dns_new(&a, q.id, q.u.dns.name, q.u.dns.type, MOX_DNS_NXDOMAIN, 0),
                     MOX_OK);
    assert_int_equal(mox_engine_answer(g, a), MOX_OK);
    assert_int_equal(mox_engine_answer(g, a), MOX_ERR_STATE);
    assert_int_equal(mox_engine_error(g)->code, MOX_ERR_STATE);
    mox_answer_free(a);
    /* groups the evaluators do not have */
    const void *p;
    size_t n;
    assert_int_equal(mox_engine_output(g, &p, &n), MOX_ERR_UNSUPPORTED);
    assert_int_equal(mox_engine_tick(g, 0), MOX_ERR_UNSUPPORTED);
    assert_int_equal(mox_engine_deadline(g), MOX_NO_DEADLINE);
}

static void test_misuse(void **state)
{
    (void)state;
    mox_spf *s;
    assert_int_equal(mox_spf_new(&s, NULL, "192.0.2.1", "a@example.org", NULL, 0, NULL), MOX_OK);
    /* not handed out yet */
    mox_answer *a;
    assert_int_equal(mox_answer_dns_new(&a, 1, NULL, MOX_DNS_TXT, MOX_DNS_NXDOMAIN, 0), MOX_OK);
    assert_int_equal(mox_spf_answer(s, a), MOX_ERR_STATE);
    mox_answer_free(a);
    assert_int_equal(mox_engine_feed(mox_spf_engine(s), "x", 1), MOX_ERR_UNSUPPORTED);
    misuse(mox_spf_engine(s));
    assert_int_equal(mox_spf_want(s), MOX_WANT_DONE); /* NXDOMAIN: none */
    mox_spf_free(s);

    mox_iprev *c;
    assert_int_equal(mox_iprev_new(&c, NULL, "192.0.2.1", NULL), MOX_OK);
    misuse(mox_iprev_engine(c));
    assert_int_equal(mox_iprev_result(c)->result, MOX_IPREV_PERMERROR);
    mox_iprev_free(c);

    mox_dmarc *d;
    assert_int_equal(mox_dmarc_new(&d, NULL, "example.org", NULL), MOX_OK);
    assert_int_equal(mox_engine_eof(mox_dmarc_engine(d)), MOX_ERR_UNSUPPORTED);
    misuse(mox_dmarc_engine(d));
    mox_dmarc_free(d);

    mox_dmarc_report_check *rc;
    assert_int_equal(mox_dmarc_report_check_new(&rc, "a.example", "b.example", NULL), MOX_OK);
    misuse(mox_dmarc_report_check_engine(rc));
    assert_int_equal(mox_dmarc_report_check_result(rc)->consent, 0);
    mox_dmarc_report_check_free(rc);

    mox_msgauth *m;
    assert_int_equal(mox_msgauth_new(&m, NULL, "192.0.2.1", "a@example.org", "h", NULL), MOX_OK);
    misuse(mox_msgauth_engine(m));
    mox_engine *g = mox_msgauth_engine(m);
    assert_int_equal(mox_engine_feed(g, "From: a@example.org\r\n\r\n", 23), 23);
    assert_int_equal(mox_engine_eof(g), MOX_OK);
    assert_int_equal(mox_engine_feed(g, "x", 1), MOX_ERR_STATE);
    assert_int_equal(mox_engine_error(g)->code, MOX_ERR_STATE);
    assert_int_equal(mox_engine_eof(g), MOX_ERR_STATE);
    mox_msgauth_free(m);
}

/* ------------------------------------------------------------ driven */

static const char zone_text[] =
    "example.org. TXT \"v=spf1 mx ptr:example.org -all\"\n"
    "example.org. MX 10 mx1.example.org.\n"
    "example.org. MX 20 mx2.example.org.\n"
    "example.org. MX 30 mx3.example.org.\n"
    "mx1.example.org. A 192.0.2.10\n"
    "mx2.example.org. A 192.0.2.20\n"
    "mx3.example.org. A 192.0.2.1\n"
    "1.2.0.192.in-addr.arpa. PTR a.example.org.\n"
    "1.2.0.192.in-addr.arpa. PTR b.example.org.\n"
    "a.example.org. A 192.0.2.99\n"
    "b.example.org. A 192.0.2.1\n"
    "_dmarc.example.org. TXT \"v=DMARC1; p=reject\"\n"
    "example.org._report._dmarc.reports.example. TXT \"v=DMARC1\"\n";

static const char msg[] = "From: a@news.example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nbody\r\n";

typedef struct runres {
    int spf, iprev, dmarc, consent;
    char ar[2048];
} runres;

static void drive(mox_engine *g, mox_dns_zone *z, unsigned seed, unsigned fail, const void *in,
                  size_t len)
{
    moxtest_drive d;
    memset(&d, 0, sizeof d);
    d.seed = seed;
    d.shuffle = 1;
    d.max_chunk = seed % 5 + 1;
    d.fail_percent = fail;
    d.zone = z;
    d.input = in;
    d.input_len = len;
    d.eof = in != NULL;
    int rc = moxtest_drive_run(g, &d);
    if (rc != MOX_OK)
        fail_msg("%s seed %u: %s", mox_engine_name(g), seed, mox_strerror(rc));
    if (d.final_want != MOX_WANT_DONE)
        fail_msg("%s seed %u: ends wanting %s", mox_engine_name(g), seed,
                 mox_want_name(d.final_want));
    mox_buf_free(&d.output);
}

static runres run_all(mox_dns_zone *z, unsigned seed, unsigned fail)
{
    runres r;
    memset(&r, 0, sizeof r);
    mox_spf *s;
    assert_int_equal(mox_spf_new(&s, NULL, "192.0.2.1", "u@example.org", "h", 0, NULL), MOX_OK);
    drive(mox_spf_engine(s), z, seed, fail, NULL, 0);
    r.spf = mox_spf_result(s)->result;
    mox_spf_free(s);
    mox_iprev *c;
    assert_int_equal(mox_iprev_new(&c, NULL, "192.0.2.1", NULL), MOX_OK);
    drive(mox_iprev_engine(c), z, seed, fail, NULL, 0);
    r.iprev = mox_iprev_result(c)->result;
    mox_iprev_free(c);
    mox_dmarc *d;
    assert_int_equal(mox_dmarc_new(&d, NULL, "news.example.org", NULL), MOX_OK);
    assert_int_equal(mox_dmarc_set_spf(d, MOX_DMARC_AUTH_PASS, "example.org"), MOX_OK);
    drive(mox_dmarc_engine(d), z, seed, fail, NULL, 0);
    r.dmarc = mox_dmarc_result(d)->result;
    mox_dmarc_free(d);
    mox_dmarc_report_check *rc;
    assert_int_equal(mox_dmarc_report_check_new(&rc, "example.org", "reports.example", NULL),
                     MOX_OK);
    drive(mox_dmarc_report_check_engine(rc), z, seed, fail, NULL, 0);
    r.consent = mox_dmarc_report_check_result(rc)->consent;
    mox_dmarc_report_check_free(rc);
    mox_msgauth_config mc = MOX_MSGAUTH_CONFIG_INIT;
    mc.flags = MOX_MSGAUTH_IPREV;
    mox_msgauth *m;
    assert_int_equal(mox_msgauth_new(&m, &mc, "192.0.2.1", "u@example.org", "h", NULL), MOX_OK);
    drive(mox_msgauth_engine(m), z, seed, fail, msg, sizeof msg - 1);
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_msgauth_authres_value(m, "mx", 0, &b), MOX_OK);
    snprintf(r.ar, sizeof r.ar, "%s", (char *)b.data);
    mox_buf_free(&b);
    mox_msgauth_free(m);
    return r;
}

static void test_driven(void **state)
{
    (void)state;
    mox_dns_zone *z;
    mox_errinfo ei;
    assert_int_equal(mox_dns_zone_new(&z), MOX_OK);
    if (mox_dns_zone_load(z, zone_text, strlen(zone_text), ".", "test", &ei))
        fail_msg("%s", ei.msg);
    runres ref = run_all(z, 1, 0);
    assert_int_equal(ref.spf, MOX_SPF_PASS);
    assert_int_equal(ref.iprev, MOX_IPREV_PASS);
    assert_int_equal(ref.dmarc, MOX_DMARC_PASS);
    assert_int_equal(ref.consent, 1);
    assert_non_null(strstr(ref.ar, "iprev=pass"));
    assert_non_null(strstr(ref.ar, "spf=pass"));
    assert_non_null(strstr(ref.ar, "dmarc=pass"));
    for (unsigned seed = 2; seed < 40; seed++) {
        runres r = run_all(z, seed, 0);
        assert_int_equal(r.spf, ref.spf);
        assert_int_equal(r.iprev, ref.iprev);
        assert_int_equal(r.dmarc, ref.dmarc);
        assert_int_equal(r.consent, ref.consent);
        assert_string_equal(r.ar, ref.ar);
        /* with DNS failures injected every engine still finishes, and a
         * failure never turns into a pass it would not give */
        (void)run_all(z, seed, 30);
    }
    mox_dns_zone_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_free_null_and_views),
        cmocka_unit_test(test_zeroed_configs),
        cmocka_unit_test(test_errinfo),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_driven),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
