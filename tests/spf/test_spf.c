/* SPF unit tests: record parser, macros (RFC 7208 §7.4 examples), the
 * Appendix A examples, limits and hostile records, the engine contract
 * (misuse, MX/PTR groups answered in any order), header composition, and
 * allocation-failure sweeps. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moxtest.h"
#include "mox/dns.h"
#include "mox/spf.h"

/* ------------------------------------------------------------ helpers */

static mox_dns_zone *zone_from(const char *text)
{
    mox_dns_zone *z;
    mox_errinfo ei;
    assert_int_equal(mox_dns_zone_new(&z), MOX_OK);
    int rc = mox_dns_zone_load(z, text, strlen(text), NULL, "test", &ei);
    if (rc)
        fail_msg("zone: %s", ei.msg);
    return z;
}

typedef struct res {
    int result;
    char mech[256];
    char expl[1100];
    int expl_default;
    char problem[300];
    unsigned lookups, voids, queries;
    int authentic;
} res;

static res check_cfg(mox_dns_zone *z, const mox_spf_config *cfg, const char *ip, const char *sender,
                     const char *helo)
{
    mox_resolver r = MOX_RESOLVER_INIT;
    mox_dns_zone_resolver(z, &r);
    mox_spf *s;
    mox_errinfo ei;
    int rc = mox_spf_check(&s, cfg, &r, ip, sender, helo, MOX_SPF_ID_MAILFROM, &ei);
    if (rc)
        fail_msg("check: %s: %s", mox_strerror(rc), ei.msg);
    const mox_spf_outcome *o = mox_spf_result(s);
    assert_non_null(o);
    res x;
    memset(&x, 0, sizeof x);
    x.result = o->result;
    snprintf(x.mech, sizeof x.mech, "%s", o->mechanism ? o->mechanism : "");
    snprintf(x.expl, sizeof x.expl, "%s", o->explanation ? o->explanation : "");
    snprintf(x.problem, sizeof x.problem, "%s", o->problem ? o->problem : "");
    x.expl_default = o->explanation_default;
    x.lookups = o->dns_lookups;
    x.voids = o->void_lookups;
    x.queries = o->dns_queries;
    x.authentic = o->authentic;
    mox_spf_free(s);
    return x;
}

static res check(mox_dns_zone *z, const char *ip, const char *sender)
{
    return check_cfg(z, NULL, ip, sender, "helo.example.net");
}

static int parse_err(const char *rec, size_t *off)
{
    mox_spf_record *r = NULL;
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    int rc = mox_spf_record_parse(rec, strlen(rec), &r, &ei);
    if (rc == MOX_OK) {
        mox_spf_record_free(r);
        return 0;
    }
    assert_int_equal(rc, MOX_ERR_SYNTAX);
    assert_int_equal(ei.code, MOX_ERR_SYNTAX);
    assert_true(ei.msg[0] != '\0');
    if (off)
        *off = ei.offset;
    assert_null(r);
    return ei.detail;
}

/* ------------------------------------------------------------ parser */

static void test_parse_terms(void **state)
{
    (void)state;
    const char *txt = "v=spf1  a mx/24 -a:%{d}.x.example.com/26//64 ~ip4:192.0.2.0/24 "
                      "?ip6:2001:DB8::/32 exists:%{ir}.bl.example.org include:_spf.example.net "
                      "PTR:example.com redirect=_spf.example.com exp=exp.%{d} foo.bar=%{c}x  ";
    mox_spf_record *r;
    assert_int_equal(mox_spf_record_parse(txt, strlen(txt), &r, NULL), MOX_OK);
    assert_int_equal(mox_spf_record_count(r), 11);
    const mox_spf_term *t = mox_spf_record_term(r, 0);
    assert_int_equal(t->kind, MOX_SPF_A);
    assert_int_equal(t->qualifier, '+');
    assert_int_equal(t->qualifier_written, 0);
    assert_null(t->spec);
    assert_int_equal(t->offset, 8);
    t = mox_spf_record_term(r, 1);
    assert_int_equal(t->kind, MOX_SPF_MX);
    assert_int_equal(t->cidr4, 24);
    assert_int_equal(t->cidr6, -1);
    t = mox_spf_record_term(r, 2);
    assert_int_equal(t->qualifier, '-');
    assert_int_equal(t->cidr4, 26);
    assert_int_equal(t->cidr6, 64);
    assert_int_equal(t->spec_len, strlen("%{d}.x.example.com"));
    assert_memory_equal(t->spec, "%{d}.x.example.com", t->spec_len);
    assert_memory_equal(t->text, "-a:%{d}.x.example.com/26//64", t->text_len);
    t = mox_spf_record_term(r, 3);
    assert_int_equal(t->kind, MOX_SPF_IP4);
    assert_int_equal(t->qualifier, '~');
    assert_memory_equal(t->ip, "\xc0\x00\x02\x00", 4);
    t = mox_spf_record_term(r, 4);
    assert_int_equal(t->kind, MOX_SPF_IP6);
    assert_int_equal(t->cidr6, 32);
    assert_int_equal(mox_spf_record_term(r, 7)->kind, MOX_SPF_PTR);
    assert_int_equal(mox_spf_record_term(r, 8)->kind, MOX_SPF_REDIRECT);
    assert_int_equal(mox_spf_record_term(r, 9)->kind, MOX_SPF_EXP);
    t = mox_spf_record_term(r, 10);
    assert_int_equal(t->kind, MOX_SPF_UNKNOWN_MODIFIER);
    assert_memory_equal(t->name, "foo.bar", 7);
    assert_null(mox_spf_record_term(r, 11));
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_spf_record_format(r, &b), MOX_OK);
    assert_string_equal((char *)b.data,
                        "v=spf1 +a +mx/24 -a:%{d}.x.example.com/26//64 ~ip4:192.0.2.0/24 "
                        "?ip6:2001:db8::/32 +exists:%{ir}.bl.example.org +include:_spf.example.net "
                        "+ptr:example.com redirect=_spf.example.com exp=exp.%{d} foo.bar=%{c}x");
    mox_buf_free(&b);
    mox_spf_record_free(r);

    /* Just the version, any case. */
    assert_int_equal(mox_spf_record_parse("V=SPF1", 6, &r, NULL), MOX_OK);
    assert_int_equal(mox_spf_record_count(r), 0);
    mox_spf_record_free(r);
    mox_spf_record_free(NULL);
    assert_int_equal(mox_spf_record_parse(NULL, 0, NULL, NULL), MOX_ERR_INVAL);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *rec;
        int detail;
        size_t off;
    } v[] = {
        {"v=spf10 -all", MOX_SPF_ERR_VERSION, 0},
        {"spf1 -all", MOX_SPF_ERR_VERSION, 0},
        {"v=spf1\t-all", MOX_SPF_ERR_VERSION, 0},
        {"v=spf1 a\t-all", MOX_SPF_ERR_CHAR, 8},
        {"v=spf1 -all\x96", MOX_SPF_ERR_CHAR, 11},
        {"v=spf1 foo -all", MOX_SPF_ERR_MECHANISM, 7},
        {"v=spf1 -foo:bar", MOX_SPF_ERR_MECHANISM, 8},
        {"v=spf1 all:x", MOX_SPF_ERR_ARGUMENT, 10},
        {"v=spf1 all/24", MOX_SPF_ERR_ARGUMENT, 10},
        {"v=spf1 include", MOX_SPF_ERR_ARGUMENT, 14},
        {"v=spf1 include:", MOX_SPF_ERR_ARGUMENT, 15},
        {"v=spf1 a:", MOX_SPF_ERR_ARGUMENT, 9},
        {"v=spf1 ip4", MOX_SPF_ERR_ARGUMENT, 10},
        {"v=spf1 ip4:1.2.3", MOX_SPF_ERR_IP, 11},
        {"v=spf1 ip4:1.2.3.4/33", MOX_SPF_ERR_CIDR, 18},
        {"v=spf1 ip4:1.2.3.4/032", MOX_SPF_ERR_CIDR, 18},
        {"v=spf1 ip6:::1/129", MOX_SPF_ERR_CIDR, 14},
        {"v=spf1 ip6:1.2.3.4", MOX_SPF_ERR_IP, 11},
        {"v=spf1 a/33", MOX_SPF_ERR_CIDR, 9},
        {"v=spf1 a//129", MOX_SPF_ERR_CIDR, 10},
        {"v=spf1 a:example.com/", MOX_SPF_ERR_CIDR, 20},
        {"v=spf1 a:museum", MOX_SPF_ERR_DOMAIN_SPEC, 9},
        {"v=spf1 a:museum.", MOX_SPF_ERR_DOMAIN_SPEC, 9},
        {"v=spf1 a:1.2.3.4", MOX_SPF_ERR_DOMAIN_SPEC, 9},
        {"v=spf1 a:example.-com", MOX_SPF_ERR_DOMAIN_SPEC, 9},
        {"v=spf1 exists:%{x}.example.com", MOX_SPF_ERR_MACRO_LETTER, 16},
        {"v=spf1 exists:%{c}.example.com", MOX_SPF_ERR_MACRO_LETTER, 16},
        {"v=spf1 exists:%{d0}.example.com", MOX_SPF_ERR_MACRO, 17},
        {"v=spf1 exists:%(d).example.com", MOX_SPF_ERR_MACRO, 14},
        {"v=spf1 exists:%{d.example.com", MOX_SPF_ERR_MACRO, 18},
        {"v=spf1 exists:foo%", MOX_SPF_ERR_MACRO, 17},
        {"v=spf1 redirect=a.example.com redirect=b.example.com", MOX_SPF_ERR_DUPLICATE, 30},
        {"v=spf1 exp=a.example.com exp=b.example.com", MOX_SPF_ERR_DUPLICATE, 25},
        {"v=spf1 redirect=", MOX_SPF_ERR_ARGUMENT, 16},
        {"v=spf1 =foo", MOX_SPF_ERR_MODIFIER, 7},
        {"v=spf1 1x=foo", MOX_SPF_ERR_MODIFIER, 7},
        {"v=spf1 unknown=%", MOX_SPF_ERR_MACRO, 15},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t off = 9999;
        int d = parse_err(v[i].rec, &off);
        if (d != v[i].detail || off != v[i].off)
            fail_msg("%s: detail %d offset %zu, want %d %zu", v[i].rec, d, off, v[i].detail, v[i].off);
    }
    /* Valid edge cases. */
    static const char *const ok[] = {
        "v=spf1 a:%{d}", "v=spf1 a:example.123-4", "v=spf1 a:foo.example.com.", "v=spf1 a//0",
        "v=spf1 ip4:0.0.0.0/0", "v=spf1 ip6:::/0", "v=spf1 unknown=", "v=spf1 x=%{c}%{r}%{t}",
        "v=spf1 exists:%%%_%-.example.com", "v=spf1 exists:%{l1r+-=_,/}.example.com",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (parse_err(ok[i], NULL))
            fail_msg("%s should parse", ok[i]);
    /* Over-long records are refused before parsing. */
    size_t big = 70000;
    char *s = malloc(big);
    memcpy(s, "v=spf1 ", 7);
    memset(s + 7, 'a', big - 7);
    mox_spf_record *r;
    assert_int_equal(mox_spf_record_parse(s, big, &r, NULL), MOX_ERR_LIMIT);
    free(s);
    assert_true(mox_spf_is_record("v=spf1", 6));
    assert_true(mox_spf_is_record("v=SPF1 a", 8));
    assert_false(mox_spf_is_record("v=spf1x", 7));
    assert_false(mox_spf_is_record("v=spf", 5));
}

/* ------------------------------------------------------------ macros */

static void expand_is(const char *macro, const char *ip, unsigned flags, const char *want)
{
    mox_spf_macro_vars v = MOX_SPF_MACRO_VARS_INIT;
    v.sender = "strong-bad@email.example.com";
    v.domain = "email.example.com";
    v.ip = ip;
    v.helo = "mx.example.org";
    v.receiver = "receiver.example.net";
    v.timestamp = 1700000000;
    mox_buf b = MOX_BUF_INIT;
    mox_errinfo ei;
    int rc = mox_spf_expand(macro, strlen(macro), &v, flags, 0, &b, &ei);
    if (rc)
        fail_msg("%s: %s", macro, ei.msg);
    if (strcmp(b.data ? (char *)b.data : "", want))
        fail_msg("%s: got '%s', want '%s'", macro, b.data ? (char *)b.data : "", want);
    mox_buf_free(&b);
}

/* RFC 7208 §7.4. */
static void test_macro_rfc_examples(void **state)
{
    (void)state;
    const char *v4 = "192.0.2.3";
    expand_is("%{s}", v4, 0, "strong-bad@email.example.com");
    expand_is("%{o}", v4, 0, "email.example.com");
    expand_is("%{d}", v4, 0, "email.example.com");
    expand_is("%{d4}", v4, 0, "email.example.com");
    expand_is("%{d3}", v4, 0, "email.example.com");
    expand_is("%{d2}", v4, 0, "example.com");
    expand_is("%{d1}", v4, 0, "com");
    expand_is("%{dr}", v4, 0, "com.example.email");
    expand_is("%{d2r}", v4, 0, "example.email");
    expand_is("%{l}", v4, 0, "strong-bad");
    expand_is("%{l-}", v4, 0, "strong.bad");
    expand_is("%{lr}", v4, 0, "strong-bad");
    expand_is("%{lr-}", v4, 0, "bad.strong");
    expand_is("%{l1r-}", v4, 0, "strong");
    expand_is("%{ir}.%{v}._spf.%{d2}", v4, 0, "3.2.0.192.in-addr._spf.example.com");
    expand_is("%{lr-}.lp._spf.%{d2}", v4, 0, "bad.strong.lp._spf.example.com");
    expand_is("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", v4, 0,
              "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
    expand_is("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", v4, 0,
              "3.2.0.192.in-addr.strong.lp._spf.example.com");
    expand_is("%{d2}.trusted-domains.example.net", v4, 0, "example.com.trusted-domains.example.net");
    expand_is("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01", 0,
              "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com");
    /* Escapes, URL encoding, exp-only letters, the rest. */
    expand_is("a%%b%_c%-d", v4, 0, "a%b c%20d");
    expand_is("%{S}", v4, 0, "strong-bad%40email.example.com");
    expand_is("%{h} %{c} %{r} %{t} %{p}", v4, MOX_SPF_EXPAND_EXP,
              "mx.example.org 192.0.2.3 receiver.example.net 1700000000 unknown");
    expand_is("%{c}", "2001:DB8::CB01", MOX_SPF_EXPAND_EXP, "2001:db8::cb01");
    expand_is("%{i}", "::ffff:192.0.2.3", 0, "192.0.2.3");
    expand_is("%{l99999999999999}", v4, 0, "strong-bad");
    expand_is("%{d2+-.}", v4, 0, "example.com");
    expand_is("%{lR-}", v4, 0, "bad.strong");
}

static void test_macro_bounds(void **state)
{
    (void)state;
    mox_spf_macro_vars v = MOX_SPF_MACRO_VARS_INIT;
    char sender[1100];
    memset(sender, 'x', 1000);
    memcpy(sender + 1000, "@example.com", 13);
    v.sender = sender;
    v.ip = "192.0.2.1";
    mox_buf b = MOX_BUF_INIT;
    mox_errinfo ei;
    assert_int_equal(mox_spf_expand("pre", 3, &v, 0, 0, &b, NULL), MOX_OK);
    /* Each %{s} is 1012 bytes: five exceed the default 4096 bound, and the
     * buffer keeps what it had. */
    const char *m = "%{s}%{s}%{s}%{s}%{s}";
    assert_int_equal(mox_spf_expand(m, strlen(m), &v, 0, 0, &b, &ei), MOX_ERR_LIMIT);
    assert_int_equal(b.len, 3);
    assert_string_equal((char *)b.data, "pre");
    assert_int_equal(mox_spf_expand(m, strlen(m), &v, 0, 6000, &b, NULL), MOX_OK);
    assert_int_equal(b.len, 3 + 5 * 1012);
    /* URL escaping triples the size and is bounded too. */
    mox_buf_reset(&b);
    assert_int_equal(mox_spf_expand("%{S}%{S}", 8, &v, 0, 2000, &b, NULL), MOX_ERR_LIMIT);
    /* Domain truncation: left labels go until <= 253, trailing dot goes. */
    mox_buf_reset(&b);
    v.sender = "u@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com";
    const char *d = "%{o}.%{o}.%{o}.%{o}.%{o}.";
    assert_int_equal(mox_spf_expand(d, strlen(d), &v, MOX_SPF_EXPAND_DOMAIN, 0, &b, NULL), MOX_OK);
    assert_true(b.len <= 253);
    assert_true(b.data[b.len - 1] != '.');
    assert_string_equal((char *)b.data + b.len - 11, "example.com");
    /* 309 octets: "aaa...a." and "example." go, leaving 251 from "com". */
    assert_int_equal(b.len, 251);
    assert_memory_equal(b.data, "com.", 4);
    /* Syntax errors and exp-only letters. */
    mox_buf_reset(&b);
    assert_int_equal(mox_spf_expand("%{c}", 4, &v, 0, 0, &b, &ei), MOX_ERR_SYNTAX);
    assert_int_equal(ei.detail, MOX_SPF_ERR_MACRO_LETTER);
    assert_int_equal(mox_spf_expand("%{d0}", 5, &v, 0, 0, &b, &ei), MOX_ERR_SYNTAX);
    assert_int_equal(mox_spf_expand("a b", 3, &v, 0, 0, &b, &ei), MOX_ERR_SYNTAX);
    assert_int_equal(ei.detail, MOX_SPF_ERR_CHAR);
    assert_int_equal(mox_spf_expand("a b", 3, &v, MOX_SPF_EXPAND_EXP, 0, &b, &ei), MOX_OK);
    v.ip = "not an ip";
    assert_int_equal(mox_spf_expand("x", 1, &v, 0, 0, &b, &ei), MOX_ERR_INVAL);
    assert_int_equal(mox_spf_expand("x", 1, NULL, 0, 0, &b, &ei), MOX_ERR_INVAL);
    mox_buf_free(&b);
}

/* ------------------------------------------------------------ Appendix A */

static const char appendix_zone[] =
    "$ORIGIN example.com.\n"
    "@ MX 10 mail-a\n@ MX 20 mail-b\n@ A 192.0.2.10\n@ A 192.0.2.11\n"
    "amy A 192.0.2.65\nbob A 192.0.2.66\nmail-a A 192.0.2.129\nmail-b A 192.0.2.130\n"
    "www CNAME example.com.\n"
    "$ORIGIN example.org.\n@ MX 10 mail-c\nmail-c A 192.0.2.140\n"
    "$ORIGIN 2.0.192.in-addr.arpa.\n"
    "10 PTR example.com.\n11 PTR example.com.\n65 PTR amy.example.com.\n66 PTR bob.example.com.\n"
    "129 PTR mail-a.example.com.\n130 PTR mail-b.example.com.\n140 PTR mail-c.example.org.\n"
    "10.0.0.10.in-addr.arpa. PTR mail.example.com.\n";

static void test_appendix_a(void **state)
{
    (void)state;
    static const struct {
        const char *policy;
        const char *pass; /* the hosts among `hosts` that pass; the rest fail */
    } v[] = {
        {"v=spf1 +all", "10 11 65 66 129 130 140 10.0.0.10"},
        {"v=spf1 a -all", "10 11"},
        {"v=spf1 a:example.org -all", ""},
        {"v=spf1 mx -all", "129 130"},
        {"v=spf1 mx:example.org -all", "140"},
        {"v=spf1 mx mx:example.org -all", "129 130 140"},
        {"v=spf1 mx/30 mx:example.org/30 -all", "129 130 140"},
        {"v=spf1 ptr -all", "10 11 65 66 129 130"},
        {"v=spf1 ip4:192.0.2.128/28 -all", "129 130 140"},
    };
    static const char *const hosts[] = {"10", "11", "65", "66", "129", "130", "140", "10.0.0.10"};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        mox_buf zt = MOX_BUF_INIT;
        mox_buf_appendf(&zt, "%sexample.com. TXT \"%s\"\n", appendix_zone, v[i].policy);
        mox_dns_zone *z = zone_from((char *)zt.data);
        mox_buf_free(&zt);
        for (size_t h = 0; h < sizeof hosts / sizeof hosts[0]; h++) {
            char ip[32], key[16];
            if (strchr(hosts[h], '.'))
                snprintf(ip, sizeof ip, "%s", hosts[h]);
            else
                snprintf(ip, sizeof ip, "192.0.2.%s", hosts[h]);
            snprintf(key, sizeof key, " %s ", hosts[h]);
            char list[64];
            snprintf(list, sizeof list, " %s ", v[i].pass);
            int want = strstr(list, key) ? MOX_SPF_PASS : MOX_SPF_FAIL;
            res x = check(z, ip, "user@example.com");
            if (x.result != want)
                fail_msg("%s from %s: %s, want %s (%s)", v[i].policy, ip, mox_spf_result_name(x.result),
                         mox_spf_result_name(want), x.problem);
        }
        mox_dns_zone_free(z);
    }
    /* A.4-style DNSBL: exists:%{ir}.bl... denies a listed client. */
    mox_dns_zone *z = zone_from("example.com. TXT \"v=spf1 -exists:%{ir}.bl.example.org ?all\"\n"
                                "4.2.0.192.bl.example.org. A 127.0.0.2\n");
    res x = check(z, "192.0.2.4", "user@example.com");
    assert_int_equal(x.result, MOX_SPF_FAIL);
    assert_string_equal(x.mech, "-exists:%{ir}.bl.example.org");
    x = check(z, "192.0.2.5", "user@example.com");
    assert_int_equal(x.result, MOX_SPF_NEUTRAL);
    assert_string_equal(x.mech, "?all");
    assert_int_equal(x.voids, 1);
    mox_dns_zone_free(z);
}

/* ------------------------------------------------------------ evaluation */

static void test_results_and_explanations(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_from(
        "a.test. TXT \"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all exp=why.a.test\"\n"
        "why.a.test. TXT \"%{i} is not one of %{d}'s designated mail servers (%{c}, %{l})\"\n"
        "b.test. TXT \"v=spf1 -all\"\n"
        "c.test. TXT \"v=spf1 redirect=a.test\"\n"
        "d.test. TXT \"v=spf1 include:a.test ~all\"\n"
        "e.test. TXT \"some other record\"\n"
        "f.test. TXT \"v=spf1 -all\"\nf.test. TXT \"v=spf1 +all\"\n"
        "g.test. TXT \"v=spf1 include:nothing.test -all\"\n"
        "h.test. TXT \"v=spf1 a:to.test -all\"\n$TIMEOUT to.test\n"
        "i.test. TXT \"v=spf1 mx -all\"\ni.test. MX 10 m.i.test.\n$SERVFAIL m.i.test\n"
        "j.test. TXT \"v=spf1 \" \"?all\"\n"
        "k.test. TXT \"v=spf1 -all exp=\" \"many.k.test\"\n"
        "many.k.test. TXT \"one\"\nmany.k.test. TXT \"two\"\n"
        "$SERVFAIL l.test\n"
        "m.test. TXT \"v=spf1 -all exp=%{p}.m.test\"\n"
        "unknown.m.test. TXT \"no ptr for %{i}\"\n");
    res x = check(z, "192.0.2.1", "u@a.test");
    assert_int_equal(x.result, MOX_SPF_PASS);
    assert_string_equal(x.mech, "ip4:192.0.2.0/24");
    assert_string_equal(x.expl, "");
    x = check(z, "2001:db8::1", "u@a.test");
    assert_int_equal(x.result, MOX_SPF_PASS);
    x = check(z, "::ffff:192.0.2.9", "u@a.test"); /* IPv4-mapped */
    assert_int_equal(x.result, MOX_SPF_PASS);
    x = check(z, "198.51.100.7", "jo@a.test");
    assert_int_equal(x.result, MOX_SPF_FAIL);
    assert_string_equal(x.mech, "-all");
    assert_string_equal(x.expl, "198.51.100.7 is not one of a.test's designated mail servers "
                                "(198.51.100.7, jo)");
    assert_int_equal(x.expl_default, 0);
    x = check(z, "198.51.100.7", "u@b.test");
    assert_int_equal(x.result, MOX_SPF_FAIL);
    assert_int_equal(x.expl_default, 1);
    assert_string_equal(x.expl, "b.test does not designate 198.51.100.7 as permitted sender");
    x = check(z, "198.51.100.7", "u@c.test"); /* redirect brings its exp along */
    assert_int_equal(x.result, MOX_SPF_FAIL);
    assert_int_equal(x.lookups, 1);
    assert_string_equal(x.mech, "-all");
    assert_int_equal(x.expl_default, 0);
    x = check(z, "198.51.100.7", "u@d.test"); /* include: fail -> no match */
    assert_int_equal(x.result, MOX_SPF_SOFTFAIL);
    assert_string_equal(x.mech, "~all");
    assert_string_equal(x.expl, "");
    x = check(z, "192.0.2.77", "u@d.test");
    assert_int_equal(x.result, MOX_SPF_PASS);
    assert_string_equal(x.mech, "include:a.test");
    x = check(z, "192.0.2.77", "u@e.test");
    assert_int_equal(x.result, MOX_SPF_NONE);
    x = check(z, "192.0.2.77", "u@nxdomain.test");
    assert_int_equal(x.result, MOX_SPF_NONE);
    x = check(z, "192.0.2.77", "u@f.test");
    assert_int_equal(x.result, MOX_SPF_PERMERROR);
    x = check(z, "192.0.2.77", "u@g.test");
    assert_int_equal(x.result, MOX_SPF_PERMERROR);
    assert_string_equal(x.mech, "");
    x = check(z, "192.0.2.77", "u@h.test");
    assert_int_equal(x.result, MOX_SPF_TEMPERROR);
    x = check(z, "192.0.2.77", "u@i.test");
    assert_int_equal(x.result, MOX_SPF_TEMPERROR);
    x = check(z, "192.0.2.77", "u@j.test");
    assert_int_equal(x.result, MOX_SPF_NEUTRAL);
    x = check(z, "192.0.2.77", "u@k.test");
    assert_int_equal(x.result, MOX_SPF_FAIL);
    assert_int_equal(x.expl_default, 1);
    x = check(z, "192.0.2.77", "u@l.test");
    assert_int_equal(x.result, MOX_SPF_TEMPERROR);
    x = check(z, "192.0.2.77", "u@m.test");
    assert_string_equal(x.expl, "no ptr for 192.0.2.77");
    /* Identities: empty MAIL FROM uses postmaster@HELO. */
    x = check_cfg(z, NULL, "192.0.2.1", "", "a.test");
    assert_int_equal(x.result, MOX_SPF_PASS);
    x = check_cfg(z, NULL, "192.0.2.1", "<>", "b.test");
    assert_int_equal(x.result, MOX_SPF_FAIL);
    x = check_cfg(z, NULL, "192.0.2.1", "", "[192.0.2.1]");
    assert_int_equal(x.result, MOX_SPF_NONE);
    x = check_cfg(z, NULL, "192.0.2.1", "", NULL);
    assert_int_equal(x.result, MOX_SPF_NONE);
    x = check(z, "192.0.2.1", "<u@a.test>");
    assert_int_equal(x.result, MOX_SPF_PASS);
    x = check(z, "192.0.2.1", "a.test"); /* no '@': the whole is the domain */
    assert_int_equal(x.result, MOX_SPF_PASS);
    /* Configurable default explanation and receiver. */
    mox_spf_config cfg = MOX_SPF_CONFIG_INIT;
    cfg.default_explanation = "see https://%{r}/why?s=%{S}";
    cfg.receiver = "mx.receiver.test";
    x = check_cfg(z, &cfg, "192.0.2.77", "a b@b.test", NULL);
    assert_string_equal(x.expl, "see https://mx.receiver.test/why?s=a%20b%40b.test");
    cfg.max_explanation = 10;
    x = check_cfg(z, &cfg, "192.0.2.77", "u@b.test", NULL);
    assert_string_equal(x.expl, "see https:");
    mox_dns_zone_free(z);
}

static void test_idn_sender(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_from("xn--bcher-kva.example. TXT \"v=spf1 ip4:192.0.2.1 -all\"\n");
    res x = check(z, "192.0.2.1", "u@b\xc3\xbc" "cher.example");
    assert_int_equal(x.result, MOX_SPF_PASS);
    x = check(z, "192.0.2.1", "u@\xff\xfe.example");
    assert_int_equal(x.result, MOX_SPF_NONE);
    mox_dns_zone_free(z);
}

/* RFC 7208 §4.3: a single-label identity gives "none" unless the caller
 * opts in (local/test setups); an older-sized config never reads the
 * option, and literal single-label include targets stay a syntax error. */
static void test_single_label(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_from("localhost. TXT \"v=spf1 ip4:127.0.0.0/8 ip6:::1 -all\"\n"
                                "inc. TXT \"v=spf1 include:localhost.example -all\"\n"
                                "localhost.example. TXT \"v=spf1 ip4:127.0.0.1 -all\"\n"
                                "bad.example. TXT \"v=spf1 include:localhost -all\"\n");
    /* off (the default): none, without a DNS question */
    res x = check(z, "127.0.0.1", "mox@localhost");
    assert_int_equal(x.result, MOX_SPF_NONE);
    assert_int_equal(x.queries, 0);
    assert_non_null(strstr(x.problem, "4.3"));
    mox_spf_config cfg = MOX_SPF_CONFIG_INIT;
    assert_int_equal(cfg.allow_single_label, 0);
    x = check_cfg(z, &cfg, "127.0.0.1", "mox@localhost", "localhost");
    assert_int_equal(x.result, MOX_SPF_NONE);
    x = check_cfg(z, &cfg, "127.0.0.1", "mox@inc", "localhost");
    assert_int_equal(x.result, MOX_SPF_NONE);
    assert_int_equal(x.queries, 0);

    /* on: evaluated like any domain, both ways */
    cfg.allow_single_label = 1;
    x = check_cfg(z, &cfg, "127.0.0.1", "mox@localhost", "localhost");
    assert_int_equal(x.result, MOX_SPF_PASS);
    assert_string_equal(x.mech, "ip4:127.0.0.0/8");
    x = check_cfg(z, &cfg, "::1", "mox@localhost", "localhost");
    assert_int_equal(x.result, MOX_SPF_PASS);
    assert_string_equal(x.mech, "ip6:::1");
    x = check_cfg(z, &cfg, "192.0.2.1", "mox@localhost", "localhost");
    assert_int_equal(x.result, MOX_SPF_FAIL);
    x = check_cfg(z, &cfg, "127.0.0.1", "mox@inc", "localhost");
    assert_int_equal(x.result, MOX_SPF_PASS);
    x = check_cfg(z, &cfg, "127.0.0.2", "mox@inc", "localhost");
    assert_int_equal(x.result, MOX_SPF_FAIL);
    /* a single label without a record: none from the lookup, not §4.3 */
    x = check_cfg(z, &cfg, "127.0.0.1", "u@nothere", "localhost");
    assert_int_equal(x.result, MOX_SPF_NONE);
    assert_int_equal(x.queries, 1);
    /* still no IP literals */
    x = check_cfg(z, &cfg, "127.0.0.1", "u@[127.0.0.1]", "localhost");
    assert_int_equal(x.result, MOX_SPF_NONE);
    assert_int_equal(x.queries, 0);
    /* the record grammar still wants a dot in a literal include target */
    x = check_cfg(z, &cfg, "127.0.0.1", "u@bad.example", "localhost");
    assert_int_equal(x.result, MOX_SPF_PERMERROR);
    /* the HELO identity follows the same rule */
    mox_resolver r = MOX_RESOLVER_INIT;
    mox_dns_zone_resolver(z, &r);
    mox_spf *s;
    assert_int_equal(mox_spf_check(&s, &cfg, &r, "127.0.0.1", NULL, "localhost", MOX_SPF_ID_HELO, NULL),
                     MOX_OK);
    assert_int_equal(mox_spf_result(s)->result, MOX_SPF_PASS);
    mox_spf_free(s);
    assert_int_equal(mox_spf_check(&s, NULL, &r, "127.0.0.1", NULL, "localhost", MOX_SPF_ID_HELO, NULL),
                     MOX_OK);
    assert_int_equal(mox_spf_result(s)->result, MOX_SPF_NONE);
    mox_spf_free(s);

    /* a caller compiled against the config before the field existed */
    cfg.size = offsetof(mox_spf_config, allow_single_label);
    x = check_cfg(z, &cfg, "127.0.0.1", "mox@localhost", "localhost");
    assert_int_equal(x.result, MOX_SPF_NONE);
    mox_dns_zone_free(z);
}

/* ------------------------------------------------------------ limits */

static void test_limits(void **state)
{
    (void)state;
    mox_buf zt = MOX_BUF_INIT;
    /* A chain of 20 includes: the 11th DNS term is a permerror. */
    for (int i = 0; i < 20; i++)
        mox_buf_appendf(&zt, "c%d.test. TXT \"v=spf1 include:c%d.test -all\"\n", i, i + 1);
    mox_buf_appendf(&zt, "c20.test. TXT \"v=spf1 +all\"\n");
    /* Loops. */
    mox_buf_appendf(&zt, "loop.test. TXT \"v=spf1 include:loop.test -all\"\n");
    mox_buf_appendf(&zt, "rloop.test. TXT \"v=spf1 redirect=rloop.test\"\n");
    /* 10 terms are fine. */
    mox_buf_appendf(&zt, "ten.test. TXT \"v=spf1 a a a a a a a a a a -all\"\nten.test. A 192.0.2.9\n");
    mox_buf_appendf(&zt, "eleven.test. TXT \"v=spf1 a a a a a a a a a a a -all\"\neleven.test. A 192.0.2.9\n");
    /* Void lookups: two allowed, the third is a permerror. */
    mox_buf_appendf(&zt, "v2.test. TXT \"v=spf1 a:n1.test mx:n2.test -all\"\n");
    mox_buf_appendf(&zt, "v3.test. TXT \"v=spf1 a:n1.test mx:n2.test exists:n3.test -all\"\n");
    /* MX names: ten fine, eleven a permerror. */
    mox_buf_appendf(&zt, "mx10.test. TXT \"v=spf1 mx -all\"\nmx11.test. TXT \"v=spf1 mx -all\"\n");
    for (int i = 0; i < 11; i++) {
        if (i < 10)
            mox_buf_appendf(&zt, "mx10.test. MX %d h%d.test.\n", i, i);
        mox_buf_appendf(&zt, "mx11.test. MX %d h%d.test.\n", i, i);
        mox_buf_appendf(&zt, "h%d.test. A 198.51.100.%d\n", i, i);
    }
    /* PTR: only the first 10 names are looked at. */
    mox_buf_appendf(&zt, "ptr.test. TXT \"v=spf1 ptr -all\"\n");
    for (int i = 0; i < 12; i++)
        mox_buf_appendf(&zt, "7.2.0.192.in-addr.arpa. PTR p%d.ptr.test.\np%d.ptr.test. A 192.0.2.%d\n", i,
                        i, i == 11 ? 7 : 99);
    /* Huge macros in a domain-spec: bounded, a permerror. */
    mox_buf_appendf(&zt, "huge.test. TXT \"v=spf1 exists:");
    for (int i = 0; i < 40; i++)
        mox_buf_appendf(&zt, "%%{s}");
    mox_buf_appendf(&zt, ".test -all\"\n");
    mox_dns_zone *z = zone_from((char *)zt.data);
    mox_buf_free(&zt);

    res x = check(z, "192.0.2.1", "u@c0.test");
    assert_int_equal(x.result, MOX_SPF_PERMERROR);
    assert_int_equal(x.lookups, 11);
    x = check(z, "192.0.2.1", "u@c10.test");
    assert_int_equal(x.result, MOX_SPF_PASS);
    assert_int_equal(x.lookups, 10);
    assert_string_equal(x.mech, "include:c11.test");
    x = check(z, "192.0.2.1", "u@loop.test");
    assert_int_equal(x.result, MOX_SPF_PERMERROR);
    x = check(z, "192.0.2.1", "u@rloop.test");
    assert_int_equal(x.result, MOX_SPF_PERMERROR);
    x = check(z, "192.0.2.1", "u@ten.test");
    assert_int_equal(x.result, MOX_SPF_FAIL);
    assert_int_equal(x.lookups, 10);
    x = check(z, "192.0.2.1", "u@eleven.test");
    assert_int_equal(x.result, MOX_SPF_PERMERROR);
    x = check(z, "192.0.2.1", "u@v2.test");
    assert_int_equal(x.result, MOX_SPF_FAIL);
    assert_int_equal(x.voids, 2);
    x = check(z, "192.0.2.1", "u@v3.test");
    assert_int_equal(x.result, MOX_SPF_PERMERROR);
    assert_int_equal(x.voids, 3);
    mox_spf_config cfg = MOX_SPF_CONFIG_INIT;
    cfg.max_void_lookups = 3;
    x = check_cfg(z, &cfg, "192.0.2.1", "u@v3.test", NULL);
    assert_int_equal(x.result, MOX_SPF_FAIL);
    x = check(z, "198.51.100.9", "u@mx10.test");
    assert_int_equal(x.result, MOX_SPF_PASS);
    x = check(z, "198.51.100.9", "u@mx11.test");
    assert_int_equal(x.result, MOX_SPF_PERMERROR);
    x = check(z, "192.0.2.7", "u@ptr.test"); /* only the 12th name validates */
    assert_int_equal(x.result, MOX_SPF_FAIL);
    cfg = (mox_spf_config)MOX_SPF_CONFIG_INIT;
    cfg.max_ptr_names = 12;
    x = check_cfg(z, &cfg, "192.0.2.7", "u@ptr.test", NULL);
    assert_int_equal(x.result, MOX_SPF_PASS);
    char sender[600];
    memset(sender, 'a', 500);
    strcpy(sender + 500, "@huge.test");
    x = check(z, "192.0.2.7", sender);
    assert_int_equal(x.result, MOX_SPF_PERMERROR);
    mox_dns_zone_free(z);
}

/* Drives `s` by hand answering from `z`: all open questions are
 * collected and answered last-asked first (so the questions of a group
 * are answered in reverse). Returns the number of questions handed out
 * together at most. */
static size_t drive_reverse(mox_spf *s, mox_dns_zone *z)
{
    size_t most = 0;
    for (int guard = 0; guard < 100 && !(mox_spf_want(s) & MOX_WANT_DONE); guard++) {
        mox_query open[32];
        size_t n = 0;
        while (n < 32 && mox_spf_query(s, &open[n]) == MOX_OK)
            n++;
        assert_true(n > 0);
        if (n > most)
            most = n;
        while (n > 0) {
            n--;
            mox_dns_answer *d;
            assert_int_equal(mox_dns_zone_query(z, open[n].u.dns.name, open[n].u.dns.type, &d),
                             MOX_OK);
            mox_answer *a;
            assert_int_equal(mox_answer_dns_copy(&a, open[n].id, d), MOX_OK);
            mox_dns_answer_free(d);
            assert_int_equal(mox_spf_answer(s, a), MOX_OK); /* also once done: ignored */
            mox_answer_free(a);
        }
    }
    assert_true(mox_spf_want(s) & MOX_WANT_DONE);
    return most;
}

/* The address questions of every MX host and of every PTR name are handed
 * out together; answered in reverse, they still decide in RFC order. */
static void test_groups(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_from("mx.test. TXT \"v=spf1 mx -all\"\n"
                                "mx.test. MX 10 m1.mx.test.\n"
                                "mx.test. MX 20 m2.mx.test.\n"
                                "mx.test. MX 30 m3.mx.test.\n"
                                "m1.mx.test. A 192.0.2.10\n"
                                "m2.mx.test. A 192.0.2.20\n"
                                "m3.mx.test. A 192.0.2.30\n"
                                "$SERVFAIL m2.mx.test.\n"
                                "ptr.test. TXT \"v=spf1 ptr:ptr.test -all\"\n"
                                "5.2.0.192.in-addr.arpa. PTR p1.ptr.test.\n"
                                "5.2.0.192.in-addr.arpa. PTR p2.ptr.test.\n"
                                "5.2.0.192.in-addr.arpa. PTR p3.other.test.\n"
                                "p2.ptr.test. A 192.0.2.5\n"
                                "p3.other.test. A 192.0.2.5\n");
    struct {
        const char *ip, *sender;
        int result;
        unsigned queries;
        size_t together;
    } cases[] = {
        /* m1 matches: m2 (SERVFAIL) and m3 are never used */
        {"192.0.2.10", "u@mx.test", MOX_SPF_PASS, 3, 3},
        /* m1 no match, m2 fails: temperror although m3 would match */
        {"192.0.2.30", "u@mx.test", MOX_SPF_TEMPERROR, 4, 3},
        {"192.0.2.99", "u@mx.test", MOX_SPF_TEMPERROR, 4, 3},
        /* every PTR name validated; p2 is within ptr.test */
        {"192.0.2.5", "u@ptr.test", MOX_SPF_PASS, 5, 3},
        {"192.0.2.6", "u@ptr.test", MOX_SPF_FAIL, 2, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mox_spf *s;
        assert_int_equal(mox_spf_new(&s, NULL, cases[i].ip, cases[i].sender, NULL, 0, NULL), MOX_OK);
        size_t most = drive_reverse(s, z);
        const mox_spf_outcome *o = mox_spf_result(s);
        res x = check(z, cases[i].ip, cases[i].sender);
        if (o->result != cases[i].result || o->dns_queries != cases[i].queries ||
            most != cases[i].together || x.result != o->result || x.queries != o->dns_queries)
            fail_msg("case %zu: %s queries %u together %zu (blocking: %s %u); problem %s", i,
                     mox_spf_result_name(o->result), o->dns_queries, most,
                     mox_spf_result_name(x.result), x.queries, o->problem ? o->problem : "-");
        mox_spf_free(s);
    }
    mox_dns_zone_free(z);
}

/* ------------------------------------------------------------ contract */

static void test_contract(void **state)
{
    (void)state;
    mox_spf *s;
    mox_errinfo ei;
    assert_int_equal(mox_spf_new(&s, NULL, "not-an-ip", "u@a.test", NULL, 0, &ei), MOX_ERR_INVAL);
    assert_null(s);
    assert_int_equal(ei.code, MOX_ERR_INVAL);
    assert_int_equal(mox_spf_new(&s, NULL, "192.0.2.1", "u@a.test", NULL, 7, &ei), MOX_ERR_INVAL);
    char big[1100];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(mox_spf_new(&s, NULL, "192.0.2.1", big, NULL, 0, &ei), MOX_ERR_LIMIT);
    assert_int_equal(ei.code, MOX_ERR_LIMIT);
    mox_spf_config bad = MOX_SPF_CONFIG_INIT;
    bad.default_explanation = "%{x}";
    assert_int_equal(mox_spf_new(&s, &bad, "192.0.2.1", "u@a.test", NULL, 0, &ei), MOX_ERR_INVAL);
    assert_int_equal(ei.code, MOX_ERR_INVAL);

    assert_int_equal(mox_spf_new(&s, NULL, "192.0.2.1", "u@a.test", "helo.test", 0, &ei), MOX_OK);
    mox_engine *g = mox_spf_engine(s);
    assert_string_equal(mox_engine_name(g), "spf");
    assert_null(mox_spf_result(s));
    assert_int_equal(mox_spf_want(s), MOX_WANT_QUERY);
    /* an answer for a question not handed out yet */
    mox_answer *a;
    assert_int_equal(mox_answer_dns_new(&a, 1, "a.test", MOX_DNS_TXT, MOX_DNS_NOERROR, 0), MOX_OK);
    assert_int_equal(mox_spf_answer(s, a), MOX_ERR_STATE);
    assert_int_equal(mox_engine_error(g)->code, MOX_ERR_STATE);
    mox_answer_free(a);
    mox_query q;
    assert_int_equal(mox_spf_query(s, &q), MOX_OK);
    assert_int_equal(q.kind, MOX_QUERY_DNS);
    assert_string_equal(q.u.dns.name, "a.test");
    assert_int_equal(q.u.dns.type, MOX_DNS_TXT);
    assert_int_equal(mox_spf_query(s, &q), MOX_ERR_AGAIN); /* one at a time here */
    assert_int_equal(mox_spf_want(s), MOX_WANT_ANSWER);
    /* unknown id, wrong type, wrong name: refused, the question stays open */
    assert_int_equal(mox_answer_dns_new(&a, 99, "a.test", MOX_DNS_TXT, MOX_DNS_NOERROR, 0), MOX_OK);
    assert_int_equal(mox_spf_answer(s, a), MOX_ERR_NOTFOUND);
    assert_int_equal(mox_engine_error(g)->code, MOX_ERR_NOTFOUND);
    mox_answer_free(a);
    assert_int_equal(mox_answer_dns_new(&a, q.id, "a.test", MOX_DNS_A, MOX_DNS_NOERROR, 0), MOX_OK);
    assert_int_equal(mox_spf_answer(s, a), MOX_ERR_INVAL);
    mox_answer_free(a);
    assert_int_equal(mox_answer_dns_new(&a, q.id, "other.test", MOX_DNS_TXT, MOX_DNS_NOERROR, 0),
                     MOX_OK);
    assert_int_equal(mox_spf_answer(s, a), MOX_ERR_INVAL);
    mox_answer_free(a);
    assert_int_equal(mox_spf_answer(s, NULL), MOX_ERR_INVAL);
    /* A hand-made answer: one TXT record in two strings. */
    const unsigned char *strs[2] = {(const unsigned char *)"v=spf1 a:mail.a.test",
                                    (const unsigned char *)" -all"};
    size_t lens[2] = {20, 5};
    assert_int_equal(mox_answer_dns_new(&a, q.id, "A.TEST.", MOX_DNS_TXT, MOX_DNS_NOERROR, 1),
                     MOX_OK);
    assert_int_equal(mox_answer_add_txt_strings(a, NULL, 300, strs, lens, 2), MOX_OK);
    assert_int_equal(mox_spf_answer(s, a), MOX_OK);
    assert_int_equal(mox_spf_answer(s, a), MOX_ERR_STATE); /* second answer */
    mox_answer_free(a);
    assert_int_equal(mox_spf_want(s), MOX_WANT_QUERY);
    assert_int_equal(mox_spf_query(s, &q), MOX_OK);
    assert_string_equal(q.u.dns.name, "mail.a.test");
    assert_int_equal(q.u.dns.type, MOX_DNS_A);
    assert_int_equal(mox_answer_dns_new(&a, q.id, NULL, MOX_DNS_A, MOX_DNS_NOERROR, 1), MOX_OK);
    assert_int_equal(mox_answer_add_ip(a, NULL, 300, "192.0.2.1"), MOX_OK);
    assert_int_equal(mox_spf_answer(s, a), MOX_OK);
    mox_answer_free(a);
    assert_int_equal(mox_spf_want(s), MOX_WANT_DONE);
    assert_int_equal(mox_spf_query(s, &q), MOX_ERR_AGAIN);
    const mox_spf_outcome *o = mox_spf_result(s);
    assert_non_null(o);
    assert_int_equal(o->result, MOX_SPF_PASS);
    assert_string_equal(o->mechanism, "a:mail.a.test");
    assert_int_equal(o->authentic, 1);
    assert_int_equal(o->dns_lookups, 1);
    assert_int_equal(o->dns_queries, 2);
    assert_int_equal(o->identity, MOX_SPF_ID_MAILFROM);
    assert_string_equal(o->sender, "u@a.test");
    assert_string_equal(o->domain, "a.test");
    assert_null(o->explanation);
    mox_spf_free(s);
    mox_spf_free(NULL);
    assert_int_equal(mox_spf_want(NULL), 0);
    assert_null(mox_spf_result(NULL));
    assert_null(mox_spf_engine(NULL));

    /* HELO identity. */
    assert_int_equal(mox_spf_new(&s, NULL, "192.0.2.1", "u@a.test", "mx.b.test", MOX_SPF_ID_HELO, NULL),
                     MOX_OK);
    assert_int_equal(mox_spf_query(s, &q), MOX_OK);
    assert_string_equal(q.u.dns.name, "mx.b.test");
    mox_spf_free(s);

    /* An identity domain that cannot be evaluated: done at once. */
    assert_int_equal(mox_spf_new(&s, NULL, "192.0.2.1", "u@[192.0.2.1]", NULL, 0, NULL), MOX_OK);
    assert_int_equal(mox_spf_want(s), MOX_WANT_DONE);
    assert_int_equal(mox_spf_result(s)->result, MOX_SPF_NONE);
    mox_spf_free(s);

    /* The authentic flag needs every answer authentic. */
    mox_dns_zone *z = zone_from("a.test. TXT \"v=spf1 include:b.test -all\"\n"
                                "b.test. TXT \"v=spf1 +all\"\n$AUTHENTIC a.test\n");
    mox_resolver r = MOX_RESOLVER_INIT;
    mox_dns_zone_resolver(z, &r);
    assert_int_equal(mox_spf_check(&s, NULL, &r, "192.0.2.1", "u@a.test", NULL, 0, NULL), MOX_OK);
    assert_int_equal(mox_spf_result(s)->authentic, 0);
    mox_spf_free(s);
    assert_int_equal(mox_dns_zone_set_authentic(z, "b.test"), MOX_OK);
    assert_int_equal(mox_spf_check(&s, NULL, &r, "192.0.2.1", "u@a.test", NULL, 0, NULL), MOX_OK);
    assert_int_equal(mox_spf_result(s)->authentic, 1);
    mox_spf_free(s);
    mox_dns_zone_free(z);
}

static int refusing_query(void *ctx, const char *name, uint16_t type, mox_dns_done_fn done, void *arg)
{
    return MOX_ERR_IO;
}

static void test_resolver_refuses(void **state)
{
    (void)state;
    mox_resolver r = MOX_RESOLVER_INIT;
    r.query = refusing_query;
    mox_spf *s;
    assert_int_equal(mox_spf_check(&s, NULL, &r, "192.0.2.1", "u@a.test", NULL, 0, NULL), MOX_OK);
    assert_int_equal(mox_spf_result(s)->result, MOX_SPF_TEMPERROR);
    mox_spf_free(s);
}

/* ------------------------------------------------------------ headers */

static void test_headers(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_from("example.com. TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
                                "bad.example.com. TXT \"v=spf1 foo\"\n");
    mox_resolver r = MOX_RESOLVER_INIT;
    mox_dns_zone_resolver(z, &r);
    mox_spf_config cfg = MOX_SPF_CONFIG_INIT;
    cfg.receiver = "mybox.example.org";
    mox_spf *s;
    assert_int_equal(mox_spf_check(&s, &cfg, &r, "192.0.2.1", "myname@example.com", "foo.example.com",
                                   0, NULL),
                     MOX_OK);
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_spf_received_header(s, &b), MOX_OK);
    assert_string_equal((char *)b.data,
                        "Received-SPF: pass (mybox.example.org: domain of myname@example.com designates\r\n"
                        " 192.0.2.1 as permitted sender) client-ip=192.0.2.1;\r\n"
                        " envelope-from=\"myname@example.com\"; helo=foo.example.com; identity=mailfrom;\r\n"
                        " receiver=mybox.example.org; mechanism=\"ip4:192.0.2.0/24\"\r\n");
    mox_buf_reset(&b);
    assert_int_equal(mox_spf_auth_results(s, &b), MOX_OK);
    assert_string_equal((char *)b.data, "spf=pass smtp.mailfrom=myname@example.com");
    mox_spf_free(s);

    /* Hostile values: quoted, escaped, control characters replaced;
     * lines stay within 78 columns where a break is possible. */
    assert_int_equal(mox_spf_check(&s, &cfg, &r, "2001:db8::1", "\"a\\b\"(x)\r\n@example.com",
                                   "evil\r\nX-Injected: 1", 0, NULL),
                     MOX_OK);
    mox_buf_reset(&b);
    assert_int_equal(mox_spf_received_header(s, &b), MOX_OK);
    const char *h = (char *)b.data;
    assert_null(strstr(h, "\r\nX-Injected"));
    assert_non_null(strstr(h, "fail ("));
    assert_non_null(strstr(h, "client-ip=\"2001:db8::1\";"));
    assert_non_null(strstr(h, "envelope-from=\"\\\"a\\\\b\\\"(x)??@example.com\";"));
    assert_non_null(strstr(h, "helo=\"evil??X-Injected: 1\";"));
    assert_non_null(strstr(h, "mechanism=-all"));
    for (const char *l = h; *l;) {
        const char *e = strstr(l, "\r\n");
        assert_non_null(e);
        assert_true(e - l <= 78);
        l = e + 2;
    }
    mox_buf_reset(&b);
    assert_int_equal(mox_spf_auth_results(s, &b), MOX_OK);
    assert_string_equal((char *)b.data, "spf=fail smtp.mailfrom=example.com");
    mox_spf_free(s);

    /* permerror carries the problem; HELO identity uses smtp.helo. */
    assert_int_equal(mox_spf_check(&s, &cfg, &r, "192.0.2.1", "", "bad.example.com", 0, NULL), MOX_OK);
    mox_buf_reset(&b);
    assert_int_equal(mox_spf_auth_results(s, &b), MOX_OK);
    assert_non_null(strstr((char *)b.data, "spf=permerror ("));
    assert_non_null(strstr((char *)b.data, ") smtp.helo=bad.example.com"));
    mox_buf_reset(&b);
    assert_int_equal(mox_spf_received_header(s, &b), MOX_OK);
    assert_non_null(strstr((char *)b.data, "problem=\""));
    assert_non_null(strstr((char *)b.data, "identity=helo"));
    assert_non_null(strstr((char *)b.data, "mechanism=default"));
    mox_spf_free(s);

    /* Not finished: no header. */
    assert_int_equal(mox_spf_new(&s, NULL, "192.0.2.1", "a@b.example", NULL, 0, NULL), MOX_OK);
    assert_int_equal(mox_spf_received_header(s, &b), MOX_ERR_STATE);
    assert_int_equal(mox_spf_auth_results(s, &b), MOX_ERR_STATE);
    mox_spf_free(s);
    mox_buf_free(&b);
    mox_dns_zone_free(z);
    assert_string_equal(mox_spf_result_name(MOX_SPF_SOFTFAIL), "softfail");
    assert_string_equal(mox_spf_result_name(99), "?");
    int rv;
    assert_int_equal(mox_spf_result_parse("TempError", &rv), MOX_OK);
    assert_int_equal(rv, MOX_SPF_TEMPERROR);
    assert_int_equal(mox_spf_result_parse("passed", &rv), MOX_ERR_SYNTAX);
}

/* ------------------------------------------------------------ allocation */

typedef struct sweep_ctx {
    mox_dns_zone *z;
    const char *ip, *sender;
    int want;
} sweep_ctx;

static int sweep_eval(void *arg)
{
    sweep_ctx *c = arg;
    mox_resolver r = MOX_RESOLVER_INIT;
    mox_dns_zone_resolver(c->z, &r);
    mox_spf_config cfg = MOX_SPF_CONFIG_INIT;
    cfg.receiver = "rcv.test";
    mox_spf *s;
    int rc = mox_spf_check(&s, &cfg, &r, c->ip, c->sender, "helo.test", 0, NULL);
    if (rc)
        return rc;
    mox_buf b = MOX_BUF_INIT;
    rc = mox_spf_received_header(s, &b);
    if (!rc)
        rc = mox_spf_auth_results(s, &b);
    if (!rc && mox_spf_result(s)->result != c->want)
        rc = MOX_ERR_STATE;
    mox_buf_free(&b);
    mox_spf_free(s);
    return rc;
}

static int sweep_parse(void *arg)
{
    const char *rec = arg;
    mox_spf_record *r;
    int rc = mox_spf_record_parse(rec, strlen(rec), &r, NULL);
    if (rc)
        return rc;
    mox_buf b = MOX_BUF_INIT;
    rc = mox_spf_record_format(r, &b);
    mox_buf_free(&b);
    mox_spf_record_free(r);
    return rc;
}

static int sweep_expand(void *arg)
{
    mox_spf_macro_vars v = MOX_SPF_MACRO_VARS_INIT;
    v.sender = "strong-bad@email.example.com";
    v.ip = "2001:db8::cb01";
    mox_buf b = MOX_BUF_INIT;
    const char *m = arg;
    int rc = mox_spf_expand(m, strlen(m), &v, MOX_SPF_EXPAND_EXP, 0, &b, NULL);
    mox_buf_free(&b);
    return rc;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    /* Everything, the zone included, under the counting allocator. */
    moxtest_alloc_install();
    mox_buf zt = MOX_BUF_INIT;
    moxtest_read_data("spf/spf-bench-zone.txt", &zt);
    mox_buf_append_str(&zt, "f.test. TXT \"v=spf1 mx ptr exists:%{p}.x.test -all exp=e.test\"\n"
                            "f.test. MX 10 m.f.test.\nm.f.test. A 192.0.2.200\n"
                            "e.test. TXT \"%{i} %{p} %{d} no\"\n"
                            "77.201.19.198.in-addr.arpa. PTR h.f.test.\nh.f.test. A 198.19.201.77\n");
    mox_dns_zone *z = zone_from((char *)zt.data);
    mox_buf_free(&zt);
    sweep_ctx c = {z, "198.19.201.77", "user@spf-bench.test", MOX_SPF_PASS};
    assert_true(moxtest_alloc_sweep(sweep_eval, &c, "spf pass via includes") > 10);
    sweep_ctx c2 = {z, "198.19.201.77", "user@f.test", MOX_SPF_FAIL};
    assert_true(moxtest_alloc_sweep(sweep_eval, &c2, "spf fail with ptr/exp") > 10);
    moxtest_alloc_sweep(sweep_parse,
                        (void *)"v=spf1 a mx/24 -a:%{d}.x.example.com/26//64 ip4:192.0.2.0/24 "
                                "include:_spf.example.net redirect=x.example.com exp=e.%{d} u=v",
                        "spf record parse");
    moxtest_alloc_sweep(sweep_expand, (void *)"%{ir}.%{v}._spf.%{d2} %{S} %{c}", "spf macro expand");
    mox_dns_zone_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_terms),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_macro_rfc_examples),
        cmocka_unit_test(test_macro_bounds),
        cmocka_unit_test(test_appendix_a),
        cmocka_unit_test(test_results_and_explanations),
        cmocka_unit_test(test_idn_sender),
        cmocka_unit_test(test_single_label),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_contract),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_resolver_refuses),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
