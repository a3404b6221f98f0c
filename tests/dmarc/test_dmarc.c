/* DMARC (RFC 9989 / RFC 7489), iprev and msgauth tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "moxtest.h"
#include "mox/dkim.h"
#include "mox/dmarc.h"
#include "mox/dns.h"
#include "mox/iprev.h"
#include "mox/msgauth.h"

#define MOX_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static mox_dns_zone *zone_from(const char *text)
{
    mox_dns_zone *z;
    mox_errinfo ei;
    assert_int_equal(mox_dns_zone_new(&z), MOX_OK);
    int rc = mox_dns_zone_load(z, text, strlen(text), ".", "test", &ei);
    if (rc != MOX_OK)
        fail_msg("zone: %s", ei.msg);
    return z;
}

/* Runs one evaluation; returns it finished (free it). */
static mox_dmarc *eval(mox_dns_zone *z, const mox_dmarc_config *cfg, const char *from, int spf,
                       const char *spf_domain, int dkim, const char *dkim_domain)
{
    mox_dmarc *d;
    mox_errinfo ei;
    mox_resolver r = MOX_RESOLVER_INIT;
    mox_dns_zone_resolver(z, &r);
    assert_int_equal(mox_dmarc_new(&d, cfg, from, &ei), MOX_OK);
    if (spf_domain)
        assert_int_equal(mox_dmarc_set_spf(d, spf, spf_domain), MOX_OK);
    if (dkim_domain)
        assert_int_equal(mox_dmarc_add_dkim(d, dkim, dkim_domain, "sel"), MOX_OK);
    assert_int_equal(mox_dmarc_run(d, &r), MOX_OK);
    assert_non_null(mox_dmarc_get(d));
    return d;
}

/* ------------------------------------------------------------ records */

static mox_dmarc_record *parse_ok(const char *s, unsigned flags)
{
    mox_dmarc_record *r;
    mox_errinfo ei;
    int rc = mox_dmarc_record_parse(s, strlen(s), flags, &r, &ei);
    if (rc != MOX_OK)
        fail_msg("parse '%s': %s", s, ei.msg);
    return r;
}

static void parse_err(const char *s, unsigned flags, int code, int detail, size_t off)
{
    mox_dmarc_record *r = (void *)1;
    mox_errinfo ei;
    int rc = mox_dmarc_record_parse(s, strlen(s), flags, &r, &ei);
    if (rc != code || ei.detail != detail || (off != SIZE_MAX && ei.offset != off))
        fail_msg("'%s': got %d/%d@%zu (%s), want %d/%d@%zu", s, rc, ei.detail, ei.offset, ei.msg,
                 code, detail, off);
    assert_null(r);
}

static void test_record_examples(void **state)
{
    (void)state;
    /* RFC 7489 §6.7 / RFC 9989 Appendix B style examples */
    mox_dmarc_record *r = parse_ok("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com", 0);
    assert_int_equal(r->p, MOX_DMARC_POLICY_NONE);
    assert_int_equal(r->nrua, 1);
    assert_string_equal(r->rua[0].uri, "mailto:dmarc-feedback@example.com");
    assert_true(r->rua[0].is_mailto);
    assert_string_equal(r->rua[0].domain, "example.com");
    assert_int_equal(r->problems, 0);
    mox_dmarc_record_free(r);

    r = parse_ok("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; "
                 "ruf=mailto:auth-reports@thirdparty.example.net",
                 MOX_DMARC_PARSE_STRICT);
    assert_int_equal(r->nruf, 1);
    assert_string_equal(r->ruf[0].domain, "thirdparty.example.net");
    assert_int_equal(mox_dmarc_report_external(&r->ruf[0], "example.com"), 1);
    assert_int_equal(mox_dmarc_report_external(&r->rua[0], "example.com"), 0);
    mox_dmarc_record_free(r);

    r = parse_ok("v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,"
                 "mailto:tld-test@thirdparty.example.net!10m; pct=25",
                 0);
    assert_int_equal(r->p, MOX_DMARC_POLICY_QUARANTINE);
    assert_int_equal(r->nrua, 2);
    assert_int_equal(r->rua[1].max_size, 10u << 20);
    assert_string_equal(r->rua[1].uri, "mailto:tld-test@thirdparty.example.net");
    assert_int_equal(r->pct, 25);
    assert_true(r->problems & MOX_DMARC_PROB_REMOVED);
    assert_true(r->problems & MOX_DMARC_PROB_SIZE);
    mox_dmarc_record_free(r);

    r = parse_ok("v=DMARC1; p=reject; sp=quarantine; np=reject; psd=y; t=y; adkim=s; aspf=s; "
                 "fo=1:d:s; rua=mailto:agg@example.com",
                 MOX_DMARC_PARSE_STRICT);
    assert_int_equal(r->sp, MOX_DMARC_POLICY_QUARANTINE);
    assert_int_equal(r->np, MOX_DMARC_POLICY_REJECT);
    assert_int_equal(r->psd, MOX_DMARC_PSD_Y);
    assert_true(r->testing && r->adkim_strict && r->aspf_strict);
    assert_int_equal(r->fo, MOX_DMARC_FO_1 | MOX_DMARC_FO_D | MOX_DMARC_FO_S);
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_dmarc_record_format(r, &b), MOX_OK);
    assert_string_equal((char *)b.data, "v=DMARC1; p=reject; sp=quarantine; np=reject; psd=y; t=y; "
                                        "adkim=s; aspf=s; rua=mailto:agg@example.com; fo=1:d:s");
    mox_buf_free(&b);
    mox_dmarc_record_free(r);

    /* whitespace around '=' and ';', case of tag names and values, unknown
     * tags ignored, trailing separator */
    r = parse_ok("v = DMARC1 ;  P = Reject ; future=whatever ;psd=N;", 0);
    assert_int_equal(r->p, MOX_DMARC_POLICY_REJECT);
    assert_int_equal(r->psd, MOX_DMARC_PSD_N);
    assert_int_equal(r->problems, 0);
    mox_dmarc_record_free(r);

    r = parse_ok("v=DMARC1", 0);
    assert_int_equal(r->p, MOX_DMARC_POLICY_UNSPECIFIED);
    assert_true(r->problems & MOX_DMARC_PROB_P);
    mox_dmarc_record_free(r);
}

static void test_record_errors(void **state)
{
    (void)state;
    parse_err("v=DMARC2; p=reject", 0, MOX_ERR_SYNTAX, MOX_DMARC_ERR_VERSION, 0);
    parse_err("v=dmarc1; p=reject", 0, MOX_ERR_SYNTAX, MOX_DMARC_ERR_VERSION, 0);
    parse_err("p=reject; v=DMARC1", 0, MOX_ERR_SYNTAX, MOX_DMARC_ERR_VERSION, 0);
    parse_err("", 0, MOX_ERR_SYNTAX, MOX_DMARC_ERR_VERSION, 0);
    parse_err("v=DMARC1 p=reject", 0, MOX_ERR_SYNTAX, MOX_DMARC_ERR_SEPARATOR, 9);
    parse_err("v=DMARC10; p=reject", 0, MOX_ERR_SYNTAX, MOX_DMARC_ERR_SEPARATOR, 8);
    parse_err("v=DMARC1; p=reject; rua=mailto:a@b.example\x01", MOX_DMARC_PARSE_STRICT,
              MOX_ERR_SYNTAX, MOX_DMARC_ERR_CHAR, 42);
    parse_err("v=DMARC1; p=bogus", MOX_DMARC_PARSE_STRICT, MOX_ERR_SYNTAX, MOX_DMARC_ERR_VALUE, 12);
    parse_err("v=DMARC1; p=none; p=reject", MOX_DMARC_PARSE_STRICT, MOX_ERR_SYNTAX,
              MOX_DMARC_ERR_DUPLICATE, 18);
    parse_err("v=DMARC1; p=none; pct=100", MOX_DMARC_PARSE_STRICT, MOX_ERR_SYNTAX,
              MOX_DMARC_ERR_REMOVED, 22);
    parse_err("v=DMARC1; p=none; rua=not a uri", MOX_DMARC_PARSE_STRICT, MOX_ERR_SYNTAX,
              MOX_DMARC_ERR_URI, SIZE_MAX);
    parse_err("v=DMARC1; p=none; =x", MOX_DMARC_PARSE_STRICT, MOX_ERR_SYNTAX, MOX_DMARC_ERR_TAG, 18);
    parse_err("v=DMARC1; p=none; sp", MOX_DMARC_PARSE_STRICT, MOX_ERR_SYNTAX, MOX_DMARC_ERR_TAG, 18);
    char big[70000];
    memset(big, ' ', sizeof big);
    memcpy(big, "v=DMARC1;", 9);
    mox_dmarc_record *r;
    assert_int_equal(mox_dmarc_record_parse(big, sizeof big, 0, &r, NULL), MOX_ERR_LIMIT);

    /* lenient: the same defects become defaults and problems */
    r = parse_ok("v=DMARC1; p=bogus; sp=x; np=; adkim=q; psd=maybe; t=1; fo=0:1; "
                 "rua=mailto:ok@example.org, nope, mailto:@bad; pct=200; p=reject",
                 0);
    assert_int_equal(r->p, MOX_DMARC_POLICY_UNSPECIFIED);
    assert_int_equal(r->sp, MOX_DMARC_POLICY_UNSPECIFIED);
    assert_int_equal(r->nrua, 1);
    assert_int_equal(r->fo, MOX_DMARC_FO_0);
    assert_int_equal(r->pct, -1);
    unsigned want = MOX_DMARC_PROB_P_INVALID | MOX_DMARC_PROB_SP | MOX_DMARC_PROB_TAG |
                    MOX_DMARC_PROB_ALIGN | MOX_DMARC_PROB_PSD | MOX_DMARC_PROB_T |
                    MOX_DMARC_PROB_FO | MOX_DMARC_PROB_URI | MOX_DMARC_PROB_PCT |
                    MOX_DMARC_PROB_REMOVED | MOX_DMARC_PROB_DUPLICATE;
    assert_int_equal(r->problems & want, want);
    assert_string_equal(r->problem, "p= is not none, quarantine or reject");
    mox_dmarc_record_free(r);

    assert_true(mox_dmarc_is_record("v=DMARC1", 8));
    assert_true(mox_dmarc_is_record("v=DMARC1 ; p=none", 17));
    assert_false(mox_dmarc_is_record("v=DMARC1x", 9));
    assert_false(mox_dmarc_is_record("v=spf1 -all", 11));
}

/* ------------------------------------------------------------ JSON cases */

static int align_of(const char *s)
{
    if (!strcmp(s, "pass"))
        return MOX_DMARC_ALIGN_PASS;
    if (!strncmp(s, "fail", 4))
        return MOX_DMARC_ALIGN_FAIL;
    if (!strcmp(s, "none"))
        return MOX_DMARC_ALIGN_NONE;
    fail_msg("unknown alignment word %s", s);
    return -1;
}

static mox_dns_zone *zone_of_case(json_t *c)
{
    mox_buf zt = MOX_BUF_INIT;
    json_t *dns = json_object_get(c, "dns");
    json_t *txt = json_object_get(dns, "txt");
    const char *k;
    json_t *v;
    json_object_foreach(txt, k, v) {
        assert_int_equal(mox_buf_appendf(&zt, "%s. TXT \"%s\"\n", k, json_string_value(v)), MOX_OK);
    }
    size_t i;
    json_array_foreach(json_object_get(dns, "a"), i, v) {
        assert_int_equal(mox_buf_appendf(&zt, "%s. A 192.0.2.1\n", json_string_value(v)), MOX_OK);
    }
    assert_int_equal(mox_buf_append_byte(&zt, 0), MOX_OK);
    mox_dns_zone *z = zone_from((const char *)zt.data);
    mox_buf_free(&zt);
    return z;
}

static int auth_word(json_t *c, const char *key)
{
    const char *s = json_string_value(json_object_get(c, key));
    return !s || !strcmp(s, "pass") ? MOX_DMARC_AUTH_PASS : MOX_DMARC_AUTH_FAIL;
}

static void test_json_cases(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *root = json_load_file(moxtest_data_path("dmarc/dmarc-eval-cases.json"), 0, &jerr);
    if (!root)
        fail_msg("json: %s", jerr.text);
    static const char *const groups[] = {"alignment", "policy_discovery", "tree_walk_psd",
                                         "tree_walk_query_cap"};
    int ncases = 0;
    for (size_t g = 0; g < MOX_ARRAY_LEN(groups); g++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(root, groups[g]), i, c) {
            const char *name = json_string_value(json_object_get(c, "name"));
            const char *from = json_string_value(json_object_get(c, "from"));
            from = strchr(from, '@') + 1;
            const char *mf = json_string_value(json_object_get(c, "mail_from_domain"));
            const char *dd = json_string_value(json_object_get(c, "dkim_d"));
            mox_dns_zone *z = zone_of_case(c);
            mox_dmarc *d = eval(z, NULL, from, auth_word(c, "spf"), mf, auth_word(c, "dkim"), dd);
            const mox_dmarc_outcome *o = mox_dmarc_get(d);
            json_t *exp = json_object_get(c, "expect");
            json_t *ep = json_object_get(c, "expect_policy");
            if (exp) {
                json_t *v;
                if ((v = json_object_get(exp, "spf_aligned")))
                    if (o->spf_aligned != align_of(json_string_value(v)))
                        fail_msg("%s: spf_aligned %s", name, mox_dmarc_align_name(o->spf_aligned));
                if ((v = json_object_get(exp, "dkim_aligned")))
                    if (o->dkim_aligned != align_of(json_string_value(v)))
                        fail_msg("%s: dkim_aligned %s", name, mox_dmarc_align_name(o->dkim_aligned));
                if ((v = json_object_get(exp, "policy")))
                    if (strcmp(mox_dmarc_policy_name(o->policy), json_string_value(v)))
                        fail_msg("%s: policy %s", name, mox_dmarc_policy_name(o->policy));
            }
            if (json_object_get(c, "expect_policy")) {
                if (json_is_null(ep)) {
                    if (o->result != MOX_DMARC_NONE || o->policy != MOX_DMARC_POLICY_UNSPECIFIED)
                        fail_msg("%s: result %s", name, mox_dmarc_result_name(o->result));
                } else if (strcmp(mox_dmarc_policy_name(o->policy), json_string_value(ep))) {
                    fail_msg("%s: policy %s (%s)", name, mox_dmarc_policy_name(o->policy), o->reason);
                }
            }
            if (!strcmp(groups[g], "tree_walk_query_cap")) {
                /* 8 TXT queries, exactly those of RFC 9989 §4.10 */
                static const char *const want[] = {
                    "_dmarc.a.b.c.d.e.f.g.h.i.j.mail.example.com", "_dmarc.g.h.i.j.mail.example.com",
                    "_dmarc.h.i.j.mail.example.com", "_dmarc.i.j.mail.example.com",
                    "_dmarc.j.mail.example.com", "_dmarc.mail.example.com", "_dmarc.example.com",
                    "_dmarc.com"};
                size_t ntxt = 0;
                for (size_t q = 0; q < mox_dmarc_query_count(d); q++) {
                    mox_dmarc_query mq;
                    assert_int_equal(mox_dmarc_query_get(d, q, &mq), MOX_OK);
                    if (mq.type != MOX_DNS_TXT)
                        continue;
                    assert_true(ntxt < 8);
                    assert_string_equal(mq.name, want[ntxt]);
                    ntxt++;
                }
                assert_int_equal(ntxt, 8);
                assert_int_equal(o->author_exists, 0);
                assert_int_equal(o->policy_source, MOX_DMARC_SRC_NP);
            }
            mox_dmarc_free(d);
            mox_dns_zone_free(z);
            ncases++;
        }
    }
    assert_true(ncases >= 12);
    json_decref(root);
}

/* ------------------------------------------------------------ tree walk */

static void test_tree_walk(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_from(
        "_dmarc.example.com. TXT \"v=DMARC1; p=reject; sp=quarantine\"\n"
        "_dmarc.mail.example.com. TXT \"v=DMARC1; p=none\"\n"
        "a.mail.example.com. A 192.0.2.1\n"
        "_dmarc.psd.example. TXT \"v=DMARC1; p=quarantine; psd=y; np=reject\"\n"
        "shop.psd.example. A 192.0.2.2\n"
        "_dmarc.two.example. TXT \"v=DMARC1; p=reject\"\n"
        "_dmarc.two.example. TXT \"v=DMARC1; p=none\"\n"
        "_dmarc.nop.example. TXT \"v=DMARC1; sp=reject\"\n"
        "_dmarc.nop2.example. TXT \"v=DMARC1; p=maybe; rua=mailto:r@nop2.example\"\n"
        "_dmarc.test.example. TXT \"v=DMARC1; p=reject; t=y\"\n"
        "_dmarc.testq.example. TXT \"v=DMARC1; p=quarantine; t=y\"\n"
        "_dmarc.fail.example. TXT \"v=DMARC1; p=reject\"\n"
        "$SERVFAIL _dmarc.broken.example.\n"
        "_dmarc.walkfail.example. TXT \"v=DMARC1; p=reject\"\n"
        "$TIMEOUT _dmarc.x.walkfail.example.\n");
    /* 1. record at the author's parent-of-parent; organizational domain
     *    is the shortest name with a record (example.com), whose record
     *    applies, with sp= for an existing subdomain */
    mox_dmarc *d = eval(z, NULL, "a.mail.example.com", MOX_DMARC_AUTH_PASS, "other.example.com",
                        MOX_DMARC_AUTH_NONE, NULL);
    const mox_dmarc_outcome *o = mox_dmarc_get(d);
    assert_int_equal(o->result, MOX_DMARC_PASS);
    assert_string_equal(o->record_domain, "example.com");
    assert_string_equal(o->org_domain, "example.com");
    assert_int_equal(o->policy, MOX_DMARC_POLICY_QUARANTINE);
    assert_int_equal(o->policy_source, MOX_DMARC_SRC_SP);
    mox_dmarc_free(d);

    /* 2. PSD with psd=y: its record applies when the organizational domain
     *    has none; np= for a non-existent subdomain */
    d = eval(z, NULL, "shop.psd.example", MOX_DMARC_AUTH_FAIL, "shop.psd.example", MOX_DMARC_AUTH_NONE,
             NULL);
    o = mox_dmarc_get(d);
    assert_int_equal(o->result, MOX_DMARC_FAIL);
    assert_string_equal(o->record_domain, "psd.example");
    assert_string_equal(o->org_domain, "shop.psd.example");
    assert_int_equal(o->policy, MOX_DMARC_POLICY_QUARANTINE);
    assert_int_equal(o->disposition, MOX_DMARC_POLICY_QUARANTINE);
    mox_dmarc_free(d);
    d = eval(z, NULL, "ghost.psd.example", MOX_DMARC_AUTH_NONE, NULL, MOX_DMARC_AUTH_NONE, NULL);
    o = mox_dmarc_get(d);
    assert_int_equal(o->policy, MOX_DMARC_POLICY_REJECT);
    assert_int_equal(o->policy_source, MOX_DMARC_SRC_NP);
    assert_int_equal(o->author_exists, 0);
    mox_dmarc_free(d);
    /* relaxed alignment never crosses a PSD boundary */
    d = eval(z, NULL, "shop.psd.example", MOX_DMARC_AUTH_PASS, "evil.psd.example", MOX_DMARC_AUTH_PASS,
             "psd.example");
    o = mox_dmarc_get(d);
    assert_int_equal(o->result, MOX_DMARC_FAIL);
    assert_int_equal(o->spf_aligned, MOX_DMARC_ALIGN_FAIL);
    assert_int_equal(o->dkim_aligned, MOX_DMARC_ALIGN_FAIL);
    mox_dmarc_free(d);

    /* 3. two records at one name: both discarded -> no policy */
    d = eval(z, NULL, "two.example", MOX_DMARC_AUTH_NONE, NULL, MOX_DMARC_AUTH_NONE, NULL);
    assert_int_equal(mox_dmarc_get(d)->result, MOX_DMARC_NONE);
    mox_dmarc_free(d);

    /* 4. no valid p= and no rua: no DMARC; with rua: p=none */
    d = eval(z, NULL, "nop.example", MOX_DMARC_AUTH_NONE, NULL, MOX_DMARC_AUTH_NONE, NULL);
    assert_int_equal(mox_dmarc_get(d)->result, MOX_DMARC_NONE);
    assert_null(mox_dmarc_get(d)->record);
    mox_dmarc_free(d);
    d = eval(z, NULL, "nop2.example", MOX_DMARC_AUTH_NONE, NULL, MOX_DMARC_AUTH_NONE, NULL);
    o = mox_dmarc_get(d);
    assert_int_equal(o->result, MOX_DMARC_FAIL);
    assert_int_equal(o->policy, MOX_DMARC_POLICY_NONE);
    assert_int_equal(o->disposition, MOX_DMARC_POLICY_NONE);
    mox_dmarc_free(d);

    /* 5. t=y lowers one level (reject->quarantine, quarantine->none) */
    d = eval(z, NULL, "test.example", MOX_DMARC_AUTH_NONE, NULL, MOX_DMARC_AUTH_NONE, NULL);
    o = mox_dmarc_get(d);
    assert_int_equal(o->policy, MOX_DMARC_POLICY_REJECT);
    assert_int_equal(o->disposition, MOX_DMARC_POLICY_QUARANTINE);
    assert_true(o->testing);
    mox_dmarc_free(d);
    d = eval(z, NULL, "testq.example", MOX_DMARC_AUTH_NONE, NULL, MOX_DMARC_AUTH_NONE, NULL);
    assert_int_equal(mox_dmarc_get(d)->disposition, MOX_DMARC_POLICY_NONE);
    mox_dmarc_free(d);
    mox_dmarc_config cfg = MOX_DMARC_CONFIG_INIT;
    cfg.flags = MOX_DMARC_F_IGNORE_TESTING;
    d = eval(z, &cfg, "test.example", MOX_DMARC_AUTH_NONE, NULL, MOX_DMARC_AUTH_NONE, NULL);
    assert_int_equal(mox_dmarc_get(d)->disposition, MOX_DMARC_POLICY_REJECT);
    mox_dmarc_free(d);

    /* 6. DNS failures: temperror, never reject */
    d = eval(z, NULL, "broken.example", MOX_DMARC_AUTH_FAIL, "broken.example", MOX_DMARC_AUTH_NONE, NULL);
    o = mox_dmarc_get(d);
    assert_int_equal(o->result, MOX_DMARC_TEMPERROR);
    assert_int_equal(o->disposition, MOX_DMARC_POLICY_NONE);
    assert_non_null(strstr(o->reason, "SERVFAIL"));
    mox_dmarc_free(d);
    /* the alignment walk for x.walkfail.example times out */
    d = eval(z, NULL, "walkfail.example", MOX_DMARC_AUTH_PASS, "x.walkfail.example", MOX_DMARC_AUTH_NONE,
             NULL);
    o = mox_dmarc_get(d);
    assert_int_equal(o->spf_aligned, MOX_DMARC_ALIGN_TEMPERROR);
    assert_int_equal(o->result, MOX_DMARC_TEMPERROR);
    assert_int_equal(o->disposition, MOX_DMARC_POLICY_NONE);
    mox_dmarc_free(d);
    /* ... but an identical identifier aligns without any walk: pass */
    d = eval(z, NULL, "walkfail.example", MOX_DMARC_AUTH_PASS, "x.walkfail.example",
             MOX_DMARC_AUTH_PASS, "WALKFAIL.example.");
    o = mox_dmarc_get(d);
    assert_int_equal(o->result, MOX_DMARC_PASS);
    assert_int_equal(o->dkim_aligned, MOX_DMARC_ALIGN_PASS);
    mox_dmarc_free(d);
    /* strict alignment: a subdomain does not align */
    mox_dns_zone_free(z);
    z = zone_from("_dmarc.s.example. TXT \"v=DMARC1; p=reject; aspf=s\"\n");
    d = eval(z, NULL, "s.example", MOX_DMARC_AUTH_PASS, "mail.s.example", MOX_DMARC_AUTH_NONE, NULL);
    assert_int_equal(mox_dmarc_get(d)->spf_aligned, MOX_DMARC_ALIGN_FAIL);
    assert_int_equal(mox_dmarc_get(d)->disposition, MOX_DMARC_POLICY_REJECT);
    mox_dmarc_free(d);
    /* discover-only */
    cfg.flags = MOX_DMARC_F_DISCOVER_ONLY;
    d = eval(z, &cfg, "deep.s.example", MOX_DMARC_AUTH_NONE, NULL, MOX_DMARC_AUTH_NONE, NULL);
    o = mox_dmarc_get(d);
    assert_string_equal(o->record_domain, "s.example");
    assert_string_equal(o->org_domain, "s.example");
    assert_int_equal(o->spf_aligned, MOX_DMARC_ALIGN_UNKNOWN);
    mox_dmarc_free(d);
    mox_dns_zone_free(z);
}

static void test_step_api(void **state)
{
    (void)state;
    mox_dmarc *d;
    assert_int_equal(mox_dmarc_new(&d, NULL, "Example.ORG.", NULL), MOX_OK);
    assert_int_equal(mox_dmarc_set_spf(d, MOX_DMARC_AUTH_PASS, "example.org"), MOX_OK);
    const char *name;
    uint16_t type;
    assert_int_equal(mox_dmarc_step(d, &name, &type), MOX_DMARC_NEED_DNS);
    assert_string_equal(name, "_dmarc.example.org");
    assert_int_equal(type, MOX_DNS_TXT);
    /* asking again repeats; inputs are frozen */
    assert_int_equal(mox_dmarc_step(d, &name, &type), MOX_DMARC_NEED_DNS);
    assert_int_equal(mox_dmarc_set_spf(d, MOX_DMARC_AUTH_PASS, "x.example"), MOX_ERR_STATE);
    mox_dns_answer wrong;
    memset(&wrong, 0, sizeof wrong);
    wrong.qtype = MOX_DNS_A;
    assert_int_equal(mox_dmarc_feed(d, &wrong), MOX_ERR_INVAL);
    mox_dns_zone *z = zone_from("_dmarc.example.org. TXT \"v=DMARC1; \" \"p=reject\"\n");
    mox_dns_answer *a;
    assert_int_equal(mox_dns_zone_query(z, name, type, &a), MOX_OK);
    assert_int_equal(mox_dmarc_feed(d, a), MOX_OK);
    assert_int_equal(mox_dmarc_feed(d, a), MOX_ERR_STATE);
    mox_dns_answer_free(a);
    assert_int_equal(mox_dmarc_step(d, &name, &type), MOX_DMARC_DONE);
    const mox_dmarc_outcome *o = mox_dmarc_get(d);
    assert_int_equal(o->result, MOX_DMARC_PASS);
    assert_string_equal(o->record_text, "v=DMARC1; p=reject");
    assert_int_equal(o->dns_queries, 1);
    mox_authres *ar;
    assert_int_equal(mox_authres_new(&ar, "mx.example.net", 14), MOX_OK);
    assert_int_equal(mox_dmarc_authres(d, ar), MOX_OK);
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_authres_compose(ar, &b), MOX_OK);
    assert_non_null(strstr((char *)b.data, "dmarc=pass (p=reject dis=none) header.from=example.org"));
    mox_buf_free(&b);
    mox_authres_free(ar);
    mox_dmarc_free(d);
    mox_dns_zone_free(z);

    mox_errinfo ei;
    assert_int_equal(mox_dmarc_new(&d, NULL, "not a domain", &ei), MOX_ERR_SYNTAX);
    assert_int_equal(mox_dmarc_new(&d, NULL, NULL, &ei), MOX_ERR_INVAL);
}

/* ------------------------------------------------------------ RFC 7489 */

static void test_rfc7489(void **state)
{
    (void)state;
    mox_dmarc_psl *psl;
    assert_int_equal(mox_dmarc_psl_new(&psl, NULL), MOX_OK);
    mox_buf b = MOX_BUF_INIT;
    static const char *const cases[][2] = {
        {"a.b.example.co.uk", "example.co.uk"}, {"WWW.Example.COM", "example.com"},
        {"example.com", "example.com"},         {"com", "com"},
        {"x.y.unknowntld", "y.unknowntld"},     {"foo.blogspot.com", "blogspot.com"},
    };
    for (size_t i = 0; i < MOX_ARRAY_LEN(cases); i++) {
        mox_buf_reset(&b);
        assert_int_equal(mox_dmarc_psl_org_domain(psl, cases[i][0], &b), MOX_OK);
        assert_string_equal((char *)b.data, cases[i][1]);
    }
    mox_buf_free(&b);
    assert_int_equal(mox_dmarc_psl_new(&(mox_dmarc_psl *){NULL}, "/nonexistent/psl.dat"), MOX_ERR_IO);

    mox_dns_zone *z = zone_from("_dmarc.example.co.uk. TXT \"v=DMARC1; p=reject; sp=quarantine; "
                                "np=reject; pct=0\"\n"
                                "_dmarc.mail.example.co.uk. TXT \"v=DMARC1; p=none\"\n");
    mox_dmarc_config cfg = MOX_DMARC_CONFIG_INIT;
    cfg.mode = MOX_DMARC_MODE_RFC7489;
    cfg.psl = psl;
    /* RFC 7489 asks the author domain, then the organizational domain only:
     * mail.example.co.uk (an intermediate name) is skipped */
    mox_dmarc *d = eval(z, &cfg, "a.mail.example.co.uk", MOX_DMARC_AUTH_PASS, "bounce.example.co.uk",
                        MOX_DMARC_AUTH_NONE, NULL);
    const mox_dmarc_outcome *o = mox_dmarc_get(d);
    assert_int_equal(o->result, MOX_DMARC_PASS);
    assert_string_equal(o->record_domain, "example.co.uk");
    assert_int_equal(mox_dmarc_query_count(d), 2);
    mox_dmarc_free(d);
    /* pct=0: never sampled, the policy drops one level; np ignored */
    d = eval(z, &cfg, "ghost.example.co.uk", MOX_DMARC_AUTH_FAIL, "ghost.example.co.uk",
             MOX_DMARC_AUTH_NONE, NULL);
    o = mox_dmarc_get(d);
    assert_int_equal(o->result, MOX_DMARC_FAIL);
    assert_int_equal(o->policy, MOX_DMARC_POLICY_QUARANTINE);
    assert_int_equal(o->disposition, MOX_DMARC_POLICY_NONE);
    assert_true(o->sampled_out);
    mox_dmarc_free(d);
    /* RFC 9989 mode: pct ignored, np honoured, the walk finds mail.example.co.uk */
    d = eval(z, NULL, "ghost.example.co.uk", MOX_DMARC_AUTH_NONE, NULL, MOX_DMARC_AUTH_NONE, NULL);
    o = mox_dmarc_get(d);
    assert_int_equal(o->disposition, MOX_DMARC_POLICY_REJECT);
    assert_false(o->sampled_out);
    mox_dmarc_free(d);
    mox_dns_zone_free(z);
    mox_dmarc_psl_free(psl);
}

/* ------------------------------------------------------------ From */

static int from_status(const char *hdr)
{
    int st = -1;
    mox_domain dom;
    assert_int_equal(mox_dmarc_author_domain(hdr, strlen(hdr), &st, &dom), MOX_OK);
    if (st == MOX_DMARC_FROM_OK)
        mox_domain_clear(&dom);
    else
        assert_null(dom.ascii);
    return st;
}

static void test_from(void **state)
{
    (void)state;
    int st;
    mox_domain dom;
    const char *h = "Subject: x\r\nFrom: \"Bank\" <alerts@B\xc3\xbc" "cher.Example>\r\n\r\nFrom: body@x.example\r\n";
    assert_int_equal(mox_dmarc_author_domain(h, strlen(h), &st, &dom), MOX_OK);
    assert_int_equal(st, MOX_DMARC_FROM_OK);
    assert_string_equal(dom.ascii, "xn--bcher-kva.example");
    mox_domain_clear(&dom);
    /* bypass attempts: each gets its own status */
    assert_int_equal(from_status("To: a@b.example\r\n\r\n"), MOX_DMARC_FROM_MISSING);
    assert_int_equal(from_status("From: a@good.example\r\nFrom: b@evil.example\r\n\r\n"),
                     MOX_DMARC_FROM_MULTIPLE);
    assert_int_equal(from_status("From: a@good.example\r\nfROM : b@evil.example\r\n\r\n"),
                     MOX_DMARC_FROM_MULTIPLE);
    assert_int_equal(from_status("From: a@good.example\nX: y\nFrom: b@evil.example\n\n"),
                     MOX_DMARC_FROM_MULTIPLE);
    assert_int_equal(from_status("From: a@good.example, b@evil.example\r\n\r\n"),
                     MOX_DMARC_FROM_MULTIPLE_ADDR);
    assert_int_equal(from_status("From: friends: a@good.example;\r\n\r\n"),
                     MOX_DMARC_FROM_MULTIPLE_ADDR);
    assert_int_equal(from_status("From: undisclosed-recipients:;\r\n\r\n"), MOX_DMARC_FROM_NO_ADDRESS);
    assert_int_equal(from_status("From: a@[192.0.2.1]\r\n\r\n"), MOX_DMARC_FROM_NO_DOMAIN);
    assert_int_equal(from_status("From: just a name\r\n\r\n"), MOX_DMARC_FROM_SYNTAX);
    assert_int_equal(from_status("From: <a@good.example> b@evil.example\r\n\r\n"),
                     MOX_DMARC_FROM_SYNTAX);
    assert_int_equal(from_status("From: a@good.example\r\n folded@evil.example\r\n\r\n"),
                     MOX_DMARC_FROM_SYNTAX);
    assert_int_equal(from_status("From: a@good.example\r\n\r\n"), MOX_DMARC_FROM_OK);
    assert_int_equal(from_status("From: a@good.example"), MOX_DMARC_FROM_OK);

    /* an evaluation of a message with two From fields: permerror, reject */
    const char *m = "From: a@good.example\r\nFrom: b@evil.example\r\n\r\nhi\r\n";
    mox_dmarc *d;
    assert_int_equal(mox_dmarc_new_message(&d, NULL, m, strlen(m)), MOX_OK);
    const char *name;
    uint16_t type;
    assert_int_equal(mox_dmarc_step(d, &name, &type), MOX_DMARC_DONE);
    const mox_dmarc_outcome *o = mox_dmarc_get(d);
    assert_int_equal(o->result, MOX_DMARC_PERMERROR);
    assert_int_equal(o->from_status, MOX_DMARC_FROM_MULTIPLE);
    assert_int_equal(o->disposition, MOX_DMARC_POLICY_REJECT);
    assert_null(o->domain);
    mox_authres *ar;
    assert_int_equal(mox_authres_new(&ar, "mx", 2), MOX_OK);
    assert_int_equal(mox_dmarc_authres(d, ar), MOX_OK);
    assert_string_equal(mox_authres_get(ar, 0)->result, "permerror");
    assert_string_equal(mox_authres_get(ar, 0)->reason, "several From header fields");
    mox_authres_free(ar);
    mox_dmarc_free(d);
}

/* ------------------------------------------------------------ reports */

static void test_report_check(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_from("example.com._report._dmarc.thirdparty.example. TXT \"v=DMARC1\"\n"
                                "other.example._report._dmarc.thirdparty.example. TXT \"v=spf1\"\n"
                                "$SERVFAIL x.example._report._dmarc.thirdparty.example.\n");
    mox_resolver r = MOX_RESOLVER_INIT;
    mox_dns_zone_resolver(z, &r);
    static const struct { const char *p; int want; } cases[] = {
        {"Example.COM", 1}, {"other.example", 0}, {"nobody.example", 0}, {"x.example", -1}};
    for (size_t i = 0; i < MOX_ARRAY_LEN(cases); i++) {
        mox_dmarc_report_check *c;
        assert_int_equal(mox_dmarc_report_check_new(&c, cases[i].p, "thirdparty.example."), MOX_OK);
        assert_int_equal(mox_dmarc_report_check_result(c), -1);
        assert_int_equal(mox_dmarc_report_check_run(c, &r), MOX_OK);
        assert_int_equal(mox_dmarc_report_check_result(c), cases[i].want);
        mox_dmarc_report_check_free(c);
    }
    mox_dns_zone_free(z);
}

/* ------------------------------------------------------------ iprev */

static void test_iprev(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_from("1.2.0.192.in-addr.arpa. PTR other.example.\n"
                                "1.2.0.192.in-addr.arpa. PTR mx.example.\n"
                                "mx.example. A 192.0.2.1\n"
                                "other.example. A 192.0.2.99\n"
                                "2.2.0.192.in-addr.arpa. PTR liar.example.\n"
                                "liar.example. A 192.0.2.77\n"
                                "4.2.0.192.in-addr.arpa. PTR slow.example.\n"
                                "$SERVFAIL slow.example.\n"
                                "$SERVFAIL 5.2.0.192.in-addr.arpa.\n"
                                "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR v6.example.\n"
                                "v6.example. AAAA 2001:db8::1\n");
    mox_resolver r = MOX_RESOLVER_INIT;
    mox_dns_zone_resolver(z, &r);
    static const struct { const char *ip; int want; const char *name; } cases[] = {
        {"192.0.2.1", MOX_IPREV_PASS, "mx.example"},
        {"::ffff:192.0.2.1", MOX_IPREV_PASS, "mx.example"},
        {"192.0.2.2", MOX_IPREV_FAIL, NULL},
        {"192.0.2.3", MOX_IPREV_PERMERROR, NULL},
        {"192.0.2.4", MOX_IPREV_TEMPERROR, NULL},
        {"192.0.2.5", MOX_IPREV_TEMPERROR, NULL},
        {"2001:db8::1", MOX_IPREV_PASS, "v6.example"},
    };
    for (size_t i = 0; i < MOX_ARRAY_LEN(cases); i++) {
        mox_iprev *c;
        assert_int_equal(mox_iprev_new(&c, NULL, cases[i].ip, NULL), MOX_OK);
        assert_null(mox_iprev_get(c));
        assert_int_equal(mox_iprev_run(c, &r), MOX_OK);
        const mox_iprev_outcome *o = mox_iprev_get(c);
        if (o->result != cases[i].want)
            fail_msg("%s: %s (%s)", cases[i].ip, mox_iprev_result_name(o->result), o->reason);
        if (cases[i].name)
            assert_string_equal(o->name, cases[i].name);
        else
            assert_null(o->name);
        if (i == 0) {
            assert_int_equal(o->nnames, 2);
            mox_authres *ar;
            assert_int_equal(mox_authres_new(&ar, "mx", 2), MOX_OK);
            assert_int_equal(mox_iprev_authres(c, ar), MOX_OK);
            mox_buf b = MOX_BUF_INIT;
            assert_int_equal(mox_authres_compose(ar, &b), MOX_OK);
            assert_non_null(strstr((char *)b.data, "iprev=pass (mx.example) policy.iprev=192.0.2.1"));
            mox_buf_free(&b);
            mox_authres_free(ar);
        }
        mox_iprev_free(c);
    }
    mox_iprev *c;
    mox_errinfo ei;
    assert_int_equal(mox_iprev_new(&c, NULL, "192.0.2", &ei), MOX_ERR_INVAL);
    mox_dns_zone_free(z);
}

/* ------------------------------------------------------------ msgauth */

static const char zone_msg[] =
    "example.org. TXT \"v=spf1 ip4:192.0.2.1 -all\"\n"
    "_dmarc.example.org. TXT \"v=DMARC1; p=reject\"\n"
    "bounces.example.net. TXT \"v=spf1 ip4:192.0.2.7 -all\"\n"
    "1.2.0.192.in-addr.arpa. PTR mx.example.org.\n"
    "mx.example.org. A 192.0.2.1\n";

static const char msg_plain[] = "From: Alice <alice@example.org>\r\n"
                                "To: bob@example.net\r\n"
                                "Subject: test\r\n"
                                "Date: Tue, 1 Jul 2025 10:00:00 +0000\r\n"
                                "Message-ID: <1@example.org>\r\n"
                                "\r\n"
                                "Hello.\r\n";

/* Signs msg_plain with a fresh Ed25519 key for d=example.org; adds its key
 * record to `zt`. Returns the signed message (free with mox_free). */
static char *sign_msg(mox_buf *zt, const char *domain)
{
    mox_dkim_privkey *k;
    assert_int_equal(mox_dkim_privkey_generate(MOX_DKIM_KEY_ED25519, 0, NULL, &k), MOX_OK);
    mox_buf rec = MOX_BUF_INIT, sig = MOX_BUF_INIT;
    assert_int_equal(mox_dkim_privkey_record(k, &rec), MOX_OK);
    assert_int_equal(mox_dkim_txt_rr("sel", domain, (char *)rec.data, rec.len, zt), MOX_OK);
    assert_int_equal(mox_buf_append_byte(zt, '\n'), MOX_OK);
    mox_dkim_sign_params p = MOX_DKIM_SIGN_PARAMS_INIT;
    p.key = k;
    p.domain = domain;
    p.selector = "sel";
    mox_dkim_signer *s;
    assert_int_equal(mox_dkim_signer_new(&s, NULL, &p, 1, NULL), MOX_OK);
    assert_int_equal(mox_dkim_signer_feed(s, msg_plain, strlen(msg_plain)), (int64_t)strlen(msg_plain));
    assert_int_equal(mox_dkim_signer_eof(s), MOX_OK);
    const mox_dkim_signer_outcome *so = mox_dkim_signer_result(s);
    assert_non_null(so);
    assert_int_equal(mox_buf_append(&sig, so->fields, so->len), MOX_OK);
    assert_int_equal(mox_buf_append_str(&sig, msg_plain), MOX_OK);
    mox_dkim_signer_free(s);
    mox_dkim_privkey_free(k);
    mox_buf_free(&rec);
    return mox_buf_steal(&sig, NULL);
}

static void test_msgauth(void **state)
{
    (void)state;
    mox_buf zt = MOX_BUF_INIT;
    assert_int_equal(mox_buf_append_str(&zt, zone_msg), MOX_OK);
    char *signed_msg = sign_msg(&zt, "mail.example.org");
    mox_dns_zone *z = zone_from((char *)zt.data);
    mox_resolver r = MOX_RESOLVER_INIT;
    mox_dns_zone_resolver(z, &r);

    /* SPF fails (other IP, unaligned MAIL FROM), DKIM d=mail.example.org
     * passes and aligns relaxed: DMARC pass */
    mox_msgauth *m;
    mox_msgauth_config mc = MOX_MSGAUTH_CONFIG_INIT;
    mc.flags = MOX_MSGAUTH_IPREV;
    assert_int_equal(mox_msgauth_check(&m, &mc, &r, "192.0.2.1", "x@bounces.example.net",
                                       "mx.example.org", signed_msg, strlen(signed_msg), NULL),
                     MOX_OK);
    const mox_dmarc_outcome *o = mox_dmarc_get(mox_msgauth_dmarc(m));
    assert_int_equal(o->result, MOX_DMARC_PASS);
    assert_int_equal(o->dkim_aligned, MOX_DMARC_ALIGN_PASS);
    assert_string_equal(o->dkim_domain, "mail.example.org");
    assert_int_equal(o->spf_aligned, MOX_DMARC_ALIGN_NONE);
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_msgauth_authres_header(m, "mx.example.net", &b), MOX_OK);
    const char *h = (const char *)b.data;
    assert_non_null(strstr(h, "Authentication-Results: mx.example.net;"));
    assert_non_null(strstr(h, "iprev=pass"));
    assert_non_null(strstr(h, "spf=fail smtp.mailfrom=x@bounces.example.net"));
    assert_non_null(strstr(h, "dkim=pass"));
    assert_non_null(strstr(h, "header.d=mail.example.org"));
    assert_non_null(strstr(h, "dmarc=pass"));
    /* the composed field parses back with our id */
    mox_authres *ar;
    assert_int_equal(mox_authres_parse(h + 23, b.len - 23, &ar, NULL), MOX_OK);
    assert_int_equal(mox_authres_count(ar), 4);
    assert_int_equal(mox_authres_defects(ar), 0);
    mox_authres_free(ar);
    mox_buf_free(&b);
    mox_msgauth_free(m);

    /* the step API fed one byte at a time gives the same verdict */
    assert_int_equal(mox_msgauth_new(&m, NULL, "192.0.2.1", "x@example.org", "mx.example.org", NULL),
                     MOX_OK);
    size_t len = strlen(signed_msg), pos = 0;
    int steps = 0;
    for (;;) {
        const char *name;
        uint16_t type;
        int rc = mox_msgauth_step(m, &name, &type);
        assert_true(rc >= 0);
        if (rc == MOX_MSGAUTH_DONE)
            break;
        if (rc == MOX_MSGAUTH_NEED_MESSAGE) {
            if (pos < len) {
                assert_int_equal(mox_msgauth_feed(m, signed_msg + pos, 1), MOX_OK);
                pos++;
            } else {
                assert_int_equal(mox_msgauth_end(m), MOX_OK);
            }
            continue;
        }
        mox_dns_answer *a;
        assert_int_equal(mox_dns_zone_query(z, name, type, &a), MOX_OK);
        assert_int_equal(mox_msgauth_feed_dns(m, a), MOX_OK);
        mox_dns_answer_free(a);
        steps++;
    }
    o = mox_dmarc_get(mox_msgauth_dmarc(m));
    assert_int_equal(o->result, MOX_DMARC_PASS);
    assert_int_equal(o->spf_aligned, MOX_DMARC_ALIGN_PASS);
    assert_true(steps >= 3);
    mox_msgauth_free(m);

    /* unsigned, SPF from an unaligned domain: fail, reject */
    assert_int_equal(mox_msgauth_check(&m, NULL, &r, "192.0.2.7", "x@bounces.example.net", "h",
                                       msg_plain, strlen(msg_plain), NULL),
                     MOX_OK);
    o = mox_dmarc_get(mox_msgauth_dmarc(m));
    assert_int_equal(o->result, MOX_DMARC_FAIL);
    assert_int_equal(o->spf_aligned, MOX_DMARC_ALIGN_FAIL);
    assert_int_equal(o->disposition, MOX_DMARC_POLICY_REJECT);
    mox_msgauth_free(m);

    /* a second From appended after signing: permerror, never pass */
    mox_buf two = MOX_BUF_INIT;
    assert_int_equal(mox_buf_appendf(&two, "From: mallory@evil.example\r\n%s", signed_msg), MOX_OK);
    assert_int_equal(mox_msgauth_check(&m, NULL, &r, "192.0.2.1", "x@example.org", "h", two.data,
                                       two.len, NULL),
                     MOX_OK);
    o = mox_dmarc_get(mox_msgauth_dmarc(m));
    assert_int_equal(o->result, MOX_DMARC_PERMERROR);
    assert_int_equal(o->disposition, MOX_DMARC_POLICY_REJECT);
    mox_msgauth_free(m);
    mox_buf_free(&two);
    mox_dns_zone_free(z);
    mox_buf_free(&zt);
    mox_free(signed_msg);
}

static void test_find_own(void **state)
{
    (void)state;
    const char *m = "Received: from x\r\n"
                    "Authentication-Results: MX.Example.NET.; dkim=pass header.d=bank.example\r\n"
                    "Authentication-Results: other.example; spf=pass\r\n"
                    "authentication-results : \"mx.example.net\"\r\n"
                    "  (spoofed); dmarc=pass header.from=bank.example\r\n"
                    "Authentication-Results: mx.example.net.evil; dmarc=pass\r\n"
                    "From: a@bank.example\r\n"
                    "\r\n"
                    "Authentication-Results: mx.example.net; in the body\r\n";
    mox_msgauth_field *f;
    size_t n;
    assert_int_equal(mox_msgauth_find_own(m, strlen(m), "mx.example.net", &f, &n), MOX_OK);
    assert_int_equal(n, 2);
    assert_int_equal(f[0].index, 1);
    assert_int_equal(f[1].index, 3);
    assert_int_equal(f[0].offset, 18);
    assert_memory_equal(m + f[1].offset, "authentication-results :", 24);
    mox_free(f);
    mox_buf b = MOX_BUF_INIT;
    size_t removed;
    assert_int_equal(mox_msgauth_strip_own(m, strlen(m), "mx.example.net", &b, &removed), MOX_OK);
    assert_int_equal(removed, 2);
    assert_string_equal((char *)b.data,
                        "Received: from x\r\n"
                        "Authentication-Results: other.example; spf=pass\r\n"
                        "Authentication-Results: mx.example.net.evil; dmarc=pass\r\n"
                        "From: a@bank.example\r\n"
                        "\r\n"
                        "Authentication-Results: mx.example.net; in the body\r\n");
    mox_buf_free(&b);
    assert_int_equal(mox_msgauth_find_own(m, strlen(m), "nobody.example", &f, &n), MOX_OK);
    assert_int_equal(n, 0);
    assert_null(f);
}

/* ------------------------------------------------------------ sweeps */

static int sweep_parse(void *arg)
{
    mox_dmarc_record *r;
    int rc = mox_dmarc_record_parse(arg, strlen(arg), 0, &r, NULL);
    if (rc)
        return rc;
    mox_buf b = MOX_BUF_INIT;
    rc = mox_dmarc_record_format(r, &b);
    mox_buf_free(&b);
    mox_dmarc_record_free(r);
    return rc;
}

struct sweep_ctx {
    mox_dns_zone *z;
    const char *from;
    const char *msg;
};

static int sweep_eval(void *arg)
{
    struct sweep_ctx *c = arg;
    mox_resolver r = MOX_RESOLVER_INIT;
    mox_dns_zone_resolver(c->z, &r);
    mox_dmarc *d;
    int rc = mox_dmarc_new(&d, NULL, c->from, NULL);
    if (rc)
        return rc;
    rc = mox_dmarc_set_spf(d, MOX_DMARC_AUTH_PASS, "bounce.other.example");
    if (!rc)
        rc = mox_dmarc_add_dkim(d, MOX_DMARC_AUTH_PASS, "x.mail.example.com", "s");
    if (!rc)
        rc = mox_dmarc_run(d, &r);
    mox_authres *ar = NULL;
    if (!rc)
        rc = mox_authres_new(&ar, "mx", 2);
    if (!rc)
        rc = mox_dmarc_authres(d, ar);
    if (!rc && mox_dmarc_get(d)->result != MOX_DMARC_PASS)
        rc = MOX_ERR_STATE;
    mox_authres_free(ar);
    mox_dmarc_free(d);
    return rc;
}

static int sweep_msgauth(void *arg)
{
    struct sweep_ctx *c = arg;
    mox_resolver r = MOX_RESOLVER_INIT;
    mox_dns_zone_resolver(c->z, &r);
    mox_msgauth_config mc = MOX_MSGAUTH_CONFIG_INIT;
    mc.flags = MOX_MSGAUTH_IPREV;
    mox_msgauth *m;
    int rc = mox_msgauth_check(&m, &mc, &r, "192.0.2.1", "x@example.org", "mx.example.org", c->msg,
                               strlen(c->msg), NULL);
    if (rc)
        return rc;
    mox_buf b = MOX_BUF_INIT;
    rc = mox_msgauth_authres_header(m, "mx", &b);
    if (!rc && mox_dmarc_get(mox_msgauth_dmarc(m))->result != MOX_DMARC_PASS)
        rc = MOX_ERR_STATE;
    mox_buf_free(&b);
    mox_msgauth_free(m);
    if (!rc) {
        mox_buf s = MOX_BUF_INIT;
        rc = mox_msgauth_strip_own(c->msg, strlen(c->msg), "mx", &s, NULL);
        mox_buf_free(&s);
    }
    return rc;
}

static int sweep_from(void *arg)
{
    int st;
    mox_domain d;
    int rc = mox_dmarc_author_domain(arg, strlen(arg), &st, &d);
    if (!rc && st == MOX_DMARC_FROM_OK)
        mox_domain_clear(&d);
    return rc;
}

static int sweep_iprev(void *arg)
{
    mox_resolver r = MOX_RESOLVER_INIT;
    mox_dns_zone_resolver(arg, &r);
    mox_iprev *c;
    int rc = mox_iprev_new(&c, NULL, "192.0.2.1", NULL);
    if (rc)
        return rc;
    rc = mox_iprev_run(c, &r);
    mox_authres *ar = NULL;
    if (!rc)
        rc = mox_authres_new(&ar, "mx", 2);
    if (!rc)
        rc = mox_iprev_authres(c, ar);
    mox_authres_free(ar);
    mox_iprev_free(c);
    return rc;
}

static void test_alloc_sweeps(void **state)
{
    (void)state;
    moxtest_alloc_sweep(sweep_parse,
                        (void *)"v=DMARC1; p=reject; sp=none; rua=mailto:a@example.org!1m, "
                                "mailto:b@example.net; ruf=mailto:c@example.org; fo=1:d; rf=afrf; pct=5",
                        "dmarc record parse");
    mox_dns_zone *z = zone_from("_dmarc.example.com. TXT \"v=DMARC1; p=reject\"\n"
                                "_dmarc.mail.example.com. TXT \"v=DMARC1; p=none\"\n");
    struct sweep_ctx c = {z, "a.mail.example.com", NULL};
    assert_true(moxtest_alloc_sweep(sweep_eval, &c, "dmarc evaluation") > 10);
    mox_dns_zone_free(z);
    moxtest_alloc_sweep(sweep_from, (void *)"Subject: x\r\nFrom: \"A\" <a@b.example>\r\n\r\n",
                        "dmarc author domain");

    mox_buf zt = MOX_BUF_INIT;
    assert_int_equal(mox_buf_append_str(&zt, zone_msg), MOX_OK);
    char *signed_msg = sign_msg(&zt, "example.org");
    mox_buf msg = MOX_BUF_INIT;
    assert_int_equal(mox_buf_appendf(&msg, "Authentication-Results: mx; dmarc=pass\r\n%s", signed_msg),
                     MOX_OK);
    z = zone_from((char *)zt.data);
    assert_true(moxtest_alloc_sweep(sweep_iprev, z, "iprev") > 3);
    struct sweep_ctx c2 = {z, NULL, (const char *)msg.data};
    assert_true(moxtest_alloc_sweep(sweep_msgauth, &c2, "msgauth check") > 20);
    mox_dns_zone_free(z);
    mox_buf_free(&zt);
    mox_buf_free(&msg);
    mox_free(signed_msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_examples),
        cmocka_unit_test(test_record_errors),
        cmocka_unit_test(test_json_cases),
        cmocka_unit_test(test_tree_walk),
        cmocka_unit_test(test_step_api),
        cmocka_unit_test(test_rfc7489),
        cmocka_unit_test(test_from),
        cmocka_unit_test(test_report_check),
        cmocka_unit_test(test_iprev),
        cmocka_unit_test(test_msgauth),
        cmocka_unit_test(test_find_own),
        cmocka_unit_test(test_alloc_sweeps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
