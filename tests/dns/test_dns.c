/* Unit tests of the dns module: answers and formatting, the master-file
 * loader (every syntax feature and every error), zone queries (NODATA vs
 * NXDOMAIN, CNAME chains and loops, wildcards, failure directives), the
 * blocking helper, and allocation-failure sweeps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moxtest.h"
#include "mox/dns.h"
#include "test_dns.h"

/* ------------------------------------------------------------ helpers */

static mox_dns_zone *zone_of(const char *text)
{
    mox_dns_zone *z;
    mox_errinfo ei;
    assert_int_equal(mox_dns_zone_new(&z), MOX_OK);
    int rc = mox_dns_zone_load(z, text, strlen(text), NULL, "test.zone", &ei);
    if (rc != MOX_OK)
        fail_msg("zone did not load: %s", ei.msg);
    return z;
}

/* "STATUS auth=N" then one formatted record per line. */
static char *render(const mox_dns_answer *a)
{
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_buf_appendf(&b, "%s auth=%d", mox_dns_status_name(a->status), a->authentic), MOX_OK);
    for (size_t i = 0; i < a->nrr; i++) {
        assert_int_equal(mox_buf_append_byte(&b, '\n'), MOX_OK);
        assert_int_equal(mox_dns_rr_format(&a->rr[i], &b), MOX_OK);
    }
    size_t n;
    return mox_buf_steal(&b, &n);
}

static void expect(const mox_dns_zone *z, const char *name, uint16_t type, const char *want)
{
    mox_dns_answer *a = NULL;
    assert_int_equal(mox_dns_zone_query(z, name, type, &a), MOX_OK);
    char *got = render(a);
    if (strcmp(got, want) != 0)
        fail_msg("query %s %s:\n got: %s\nwant: %s", name, mox_dns_type_name(type), got, want);
    mox_free(got);
    mox_dns_answer_free(a);
}

/* Loads `text` and expects a syntax error whose message is `want`. */
static void expect_error(const char *text, const char *want)
{
    mox_dns_zone *z;
    mox_errinfo ei;
    assert_int_equal(mox_dns_zone_new(&z), MOX_OK);
    memset(&ei, 0, sizeof ei);
    int rc = mox_dns_zone_load(z, text, strlen(text), "example.org.", "f.zone", &ei);
    if (rc != MOX_ERR_SYNTAX)
        fail_msg("accepted (%d): %s", rc, text);
    if (strcmp(ei.msg, want) != 0)
        fail_msg("zone %s\n got error: %s\nwant error: %s", text, ei.msg, want);
    assert_int_equal(ei.code, MOX_ERR_SYNTAX);
    mox_dns_zone_free(z);
}

/* ------------------------------------------------------------ tests */

static const char *const basic_zone =
    "; a comment line\n"
    "$ORIGIN example.org.\n"
    "$TTL 300\n"
    "@        IN  SOA ns1 hostmaster ( 2024010101 ; serial\n"
    "                 1h 15m 1w 5m )\n"
    "         IN  NS  ns1\n"
    "         IN  MX  10 mx1\n"
    "         IN  MX  20 mx2.example.net.\n"
    "@            TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
    "ns1      60  A   192.0.2.1\n"
    "mx1      IN 60 A 192.0.2.10      ; class then TTL\n"
    "mx1      60 IN AAAA 2001:db8::10 ; TTL then class\n"
    "www          CNAME web\n"
    "web          A   192.0.2.80\n"
    "             A   192.0.2.81\n"
    "long         TXT \"part one \" \"part two\" unquoted\n"
    "esc          TXT \"quote \\\" backslash \\\\ tab\\009 high\\200\"\n"
    "a.b.c        A   192.0.2.9\n"
    "_25._tcp.mx1 TLSA 3 1 1 ( 0123456789ABCDEF\n"
    "                          0123456789abcdef )\n"
    "spf          SPF \"v=spf1 -all\"\n"
    "gen          TYPE65280 \\# 3 ABCDEF\n"
    "gen          TYPE1 \\# 4 C0000201\n"
    "empty        TYPE65281 \\# 0\n"
    "1.2.0.192.in-addr.arpa. PTR ns1\n";

static void test_basic_records(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_of(basic_zone);
    expect(z, "example.org", MOX_DNS_SOA, "NOERROR auth=0\n"
           "example.org. 300 IN SOA ns1.example.org. hostmaster.example.org. 2024010101 3600 900 604800 300");
    expect(z, "example.org.", MOX_DNS_NS, "NOERROR auth=0\nexample.org. 300 IN NS ns1.example.org.");
    expect(z, "EXAMPLE.ORG", MOX_DNS_MX, "NOERROR auth=0\n"
           "example.org. 300 IN MX 10 mx1.example.org.\n"
           "example.org. 300 IN MX 20 mx2.example.net.");
    expect(z, "example.org", MOX_DNS_TXT, "NOERROR auth=0\nexample.org. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"");
    expect(z, "ns1.example.org", MOX_DNS_A, "NOERROR auth=0\nns1.example.org. 60 IN A 192.0.2.1");
    expect(z, "mx1.example.org", MOX_DNS_A, "NOERROR auth=0\nmx1.example.org. 60 IN A 192.0.2.10");
    expect(z, "mx1.example.org", MOX_DNS_AAAA, "NOERROR auth=0\nmx1.example.org. 60 IN AAAA 2001:db8::10");
    expect(z, "web.example.org", MOX_DNS_A, "NOERROR auth=0\n"
           "web.example.org. 300 IN A 192.0.2.80\nweb.example.org. 300 IN A 192.0.2.81");
    expect(z, "long.example.org", MOX_DNS_TXT,
           "NOERROR auth=0\nlong.example.org. 300 IN TXT \"part one \" \"part two\" \"unquoted\"");
    expect(z, "esc.example.org", MOX_DNS_TXT,
           "NOERROR auth=0\nesc.example.org. 300 IN TXT \"quote \\\" backslash \\\\ tab\\009 high\\200\"");
    expect(z, "a.b.c.example.org", MOX_DNS_A, "NOERROR auth=0\na.b.c.example.org. 300 IN A 192.0.2.9");
    expect(z, "_25._tcp.mx1.example.org", MOX_DNS_TLSA, "NOERROR auth=0\n"
           "_25._tcp.mx1.example.org. 300 IN TLSA 3 1 1 0123456789ABCDEF0123456789ABCDEF");
    expect(z, "spf.example.org", MOX_DNS_SPF, "NOERROR auth=0\nspf.example.org. 300 IN SPF \"v=spf1 -all\"");
    expect(z, "gen.example.org", 65280, "NOERROR auth=0\ngen.example.org. 300 IN TYPE65280 \\# 3 ABCDEF");
    expect(z, "gen.example.org", MOX_DNS_A, "NOERROR auth=0\ngen.example.org. 300 IN A 192.0.2.1");
    expect(z, "empty.example.org", 65281, "NOERROR auth=0\nempty.example.org. 300 IN TYPE65281 \\# 0");
    expect(z, "1.2.0.192.in-addr.arpa", MOX_DNS_PTR,
           "NOERROR auth=0\n1.2.0.192.in-addr.arpa. 300 IN PTR ns1.example.org.");
    mox_dns_zone_free(z);
}

static void test_typed_access(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_of(basic_zone);
    mox_dns_answer *a;
    assert_int_equal(mox_dns_zone_query(z, "long.example.org", MOX_DNS_TXT, &a), MOX_OK);
    assert_string_equal(a->qname, "long.example.org");
    assert_int_equal(a->qtype, MOX_DNS_TXT);
    assert_int_equal(a->nrr, 1);
    assert_int_equal(a->rr[0].type, MOX_DNS_TXT);
    assert_int_equal(a->rr[0].rclass, 1);
    assert_int_equal(a->rr[0].u.txt.count, 3);
    assert_int_equal(a->rr[0].u.txt.len[0], 9);
    assert_memory_equal(a->rr[0].u.txt.str[1], "part two", 8);
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_dns_txt_join(&a->rr[0], &b), MOX_OK);
    assert_string_equal((char *)b.data, "part one part twounquoted");
    mox_dns_answer_free(a);
    assert_int_equal(mox_dns_zone_query(z, "esc.example.org", MOX_DNS_TXT, &a), MOX_OK);
    mox_buf_reset(&b);
    assert_int_equal(mox_dns_txt_join(&a->rr[0], &b), MOX_OK);
    assert_int_equal(b.len, strlen("quote \" backslash \\ tab\t high") + 1);
    assert_int_equal(b.data[b.len - 1], 200);
    assert_int_equal(mox_dns_txt_join(NULL, &b), MOX_ERR_INVAL);
    mox_dns_answer_free(a);
    mox_buf_free(&b);

    assert_int_equal(mox_dns_zone_query(z, "example.org", MOX_DNS_MX, &a), MOX_OK);
    assert_int_equal(mox_dns_answer_count(a, MOX_DNS_MX), 2);
    assert_int_equal(a->rr[1].u.mx.preference, 20);
    assert_string_equal(a->rr[1].u.mx.host, "mx2.example.net");
    assert_string_equal(a->rr[0].name, "example.org");
    assert_false(mox_dns_answer_is_nodata(a));
    assert_int_equal(mox_dns_txt_join(&a->rr[0], &b), MOX_ERR_INVAL);
    mox_dns_answer_free(a);

    assert_int_equal(mox_dns_zone_query(z, "mx1.example.org", MOX_DNS_AAAA, &a), MOX_OK);
    static const unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10};
    assert_memory_equal(a->rr[0].u.aaaa, v6, 16);
    mox_dns_answer_free(a);
    assert_int_equal(mox_dns_zone_query(z, "ns1.example.org", MOX_DNS_A, &a), MOX_OK);
    static const unsigned char v4[4] = {192, 0, 2, 1};
    assert_memory_equal(a->rr[0].u.a, v4, 4);
    assert_int_equal(a->rr[0].ttl, 60);
    mox_dns_answer_free(a);
    assert_int_equal(mox_dns_zone_query(z, "_25._tcp.mx1.example.org", MOX_DNS_TLSA, &a), MOX_OK);
    assert_int_equal(a->rr[0].u.tlsa.usage, 3);
    assert_int_equal(a->rr[0].u.tlsa.selector, 1);
    assert_int_equal(a->rr[0].u.tlsa.matching, 1);
    assert_int_equal(a->rr[0].u.tlsa.len, 16);
    assert_int_equal(a->rr[0].u.tlsa.data[15], 0xef);
    mox_dns_answer_free(a);
    assert_int_equal(mox_dns_zone_query(z, "gen.example.org", 65280, &a), MOX_OK);
    assert_int_equal(a->rr[0].u.raw.len, 3);
    assert_int_equal(a->rr[0].u.raw.data[0], 0xab);
    mox_dns_answer_free(a);
    assert_int_equal(mox_dns_zone_query(z, "www.example.org", MOX_DNS_CNAME, &a), MOX_OK);
    assert_string_equal(a->rr[0].u.target, "web.example.org");
    mox_dns_answer_free(a);
    mox_dns_answer_free(NULL);
    assert_int_equal(mox_dns_answer_count(NULL, MOX_DNS_A), 0);
    assert_false(mox_dns_answer_is_nodata(NULL));
    mox_dns_zone_free(z);
}

static void test_nodata_nxdomain(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_of(basic_zone);
    mox_dns_answer *a;
    /* existing name, other type: NODATA */
    assert_int_equal(mox_dns_zone_query(z, "ns1.example.org", MOX_DNS_MX, &a), MOX_OK);
    assert_int_equal(a->status, MOX_DNS_NOERROR);
    assert_int_equal(a->nrr, 0);
    assert_true(mox_dns_answer_is_nodata(a));
    mox_dns_answer_free(a);
    /* empty non-terminals: NODATA, not NXDOMAIN */
    expect(z, "b.c.example.org", MOX_DNS_A, "NOERROR auth=0");
    expect(z, "c.example.org", MOX_DNS_TXT, "NOERROR auth=0");
    expect(z, "_tcp.mx1.example.org", MOX_DNS_TLSA, "NOERROR auth=0");
    expect(z, "in-addr.arpa", MOX_DNS_PTR, "NOERROR auth=0");
    /* names that do not exist */
    expect(z, "nope.example.org", MOX_DNS_A, "NXDOMAIN auth=0");
    expect(z, "x.a.b.c.example.org", MOX_DNS_A, "NXDOMAIN auth=0");
    expect(z, "example.com", MOX_DNS_A, "NXDOMAIN auth=0");
    assert_int_equal(mox_dns_zone_query(z, "nope.example.org", MOX_DNS_A, &a), MOX_OK);
    assert_false(mox_dns_answer_is_nodata(a));
    assert_string_equal(a->qname, "nope.example.org");
    mox_dns_answer_free(a);
    mox_dns_zone_free(z);
}

static void test_cname(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_of(
        "$ORIGIN example.org.\n"
        "www    CNAME Web\n"
        "web    A 192.0.2.80\n"
        "c1 CNAME c2\nc2 CNAME c3\nc3 CNAME c4\nc4 CNAME c5\nc5 CNAME c6\nc6 CNAME c7\n"
        "c7 CNAME c8\nc8 CNAME c9\nc9 CNAME c10\nc10 TXT \"end\"\n"
        "d2 CNAME c3\n"
        "self CNAME Self\n"
        "l1 CNAME l2\nl2 CNAME l3\nl3 CNAME l1\n"
        "dangling CNAME nowhere\n"
        "ext CNAME other.example.net.\n"
        "tofail CNAME failing\n"
        "$SERVFAIL failing\n"
        "mixed CNAME web\nmixed TXT \"ignored beside a CNAME\"\n");
    expect(z, "www.example.org", MOX_DNS_A, "NOERROR auth=0\n"
           "www.example.org. 3600 IN CNAME Web.example.org.\n"
           "web.example.org. 3600 IN A 192.0.2.80");
    /* NODATA at the end of a chain */
    expect(z, "www.example.org", MOX_DNS_MX, "NOERROR auth=0\nwww.example.org. 3600 IN CNAME Web.example.org.");
    /* asking for the CNAME itself does not chase */
    expect(z, "www.example.org", MOX_DNS_CNAME, "NOERROR auth=0\nwww.example.org. 3600 IN CNAME Web.example.org.");
    /* 8 links are followed, 9 are not */
    mox_dns_answer *a;
    assert_int_equal(mox_dns_zone_query(z, "d2.example.org", MOX_DNS_TXT, &a), MOX_OK);
    assert_int_equal(a->status, MOX_DNS_NOERROR);
    assert_int_equal(a->nrr, 9);
    assert_string_equal(a->rr[8].name, "c10.example.org");
    mox_dns_answer_free(a);
    expect(z, "c1.example.org", MOX_DNS_TXT, "SERVFAIL auth=0");
    /* loops */
    expect(z, "self.example.org", MOX_DNS_A, "SERVFAIL auth=0");
    expect(z, "l2.example.org", MOX_DNS_A, "SERVFAIL auth=0");
    /* chain into a missing name: NXDOMAIN with the CNAME (RFC 6604) */
    expect(z, "dangling.example.org", MOX_DNS_A, "NXDOMAIN auth=0\n"
           "dangling.example.org. 3600 IN CNAME nowhere.example.org.");
    expect(z, "ext.example.org", MOX_DNS_A, "NXDOMAIN auth=0\n"
           "ext.example.org. 3600 IN CNAME other.example.net.");
    expect(z, "tofail.example.org", MOX_DNS_A, "SERVFAIL auth=0");
    expect(z, "mixed.example.org", MOX_DNS_TXT, "NOERROR auth=0\n"
           "mixed.example.org. 3600 IN CNAME web.example.org.");
    expect(z, "mixed.example.org", MOX_DNS_ANY, "NOERROR auth=0\n"
           "mixed.example.org. 3600 IN CNAME web.example.org.\n"
           "mixed.example.org. 3600 IN TXT \"ignored beside a CNAME\"");
    mox_dns_zone_free(z);
}

static void test_directives(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_of(
        "$ORIGIN example.org.\n"
        "$SERVFAIL sf\n"
        "$TIMEOUT to.example.org.\n"
        "$AUTHENTIC @\n"
        "$authentic signed\n"
        "@ A 192.0.2.1\n"
        "sf A 192.0.2.2\n"
        "signed TXT \"x\"\n"
        "alias CNAME signed\n"
        "salias CNAME unsigned\n"
        "$AUTHENTIC salias\n"
        "unsigned TXT \"y\"\n"
        "$AUTHENTIC gone\n");
    expect(z, "sf.example.org", MOX_DNS_A, "SERVFAIL auth=0");
    expect(z, "sf.example.org", MOX_DNS_MX, "SERVFAIL auth=0");
    expect(z, "to.example.org", MOX_DNS_TXT, "TIMEOUT auth=0");
    expect(z, "example.org", MOX_DNS_A, "NOERROR auth=1\nexample.org. 3600 IN A 192.0.2.1");
    expect(z, "signed.example.org", MOX_DNS_TXT, "NOERROR auth=1\nsigned.example.org. 3600 IN TXT \"x\"");
    expect(z, "signed.example.org", MOX_DNS_A, "NOERROR auth=1");
    /* authentic only when every name of the chain is */
    expect(z, "alias.example.org", MOX_DNS_TXT, "NOERROR auth=0\n"
           "alias.example.org. 3600 IN CNAME signed.example.org.\n"
           "signed.example.org. 3600 IN TXT \"x\"");
    expect(z, "salias.example.org", MOX_DNS_TXT, "NOERROR auth=0\n"
           "salias.example.org. 3600 IN CNAME unsigned.example.org.\n"
           "unsigned.example.org. 3600 IN TXT \"y\"");
    /* an authenticated denial of existence */
    expect(z, "gone.example.org", MOX_DNS_A, "NXDOMAIN auth=1");
    /* the failure marks do not extend to other names */
    expect(z, "x.sf.example.org", MOX_DNS_A, "NXDOMAIN auth=0");

    /* and through the API */
    assert_int_equal(mox_dns_zone_set_failure(z, "signed.example.org.", MOX_DNS_TIMEOUT), MOX_OK);
    expect(z, "signed.example.org", MOX_DNS_TXT, "TIMEOUT auth=0");
    assert_int_equal(mox_dns_zone_set_failure(z, "signed.example.org", MOX_DNS_SERVFAIL), MOX_OK);
    expect(z, "signed.example.org", MOX_DNS_TXT, "SERVFAIL auth=0");
    assert_int_equal(mox_dns_zone_set_failure(z, "x.example.org", MOX_DNS_NXDOMAIN), MOX_ERR_INVAL);
    assert_int_equal(mox_dns_zone_set_failure(z, "x..example.org", MOX_DNS_SERVFAIL), MOX_ERR_SYNTAX);
    assert_int_equal(mox_dns_zone_set_authentic(z, "unsigned.example.org"), MOX_OK);
    expect(z, "unsigned.example.org", MOX_DNS_TXT, "NOERROR auth=1\nunsigned.example.org. 3600 IN TXT \"y\"");
    assert_int_equal(mox_dns_zone_set_authentic(NULL, "x"), MOX_ERR_INVAL);
    mox_dns_zone_free(z);
}

static void test_wildcard(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_of(
        "$ORIGIN example.org.\n"
        "*      TXT \"wild\"\n"
        "host   A 192.0.2.1\n"
        "*.sub  CNAME host\n"
        "x.sub  TXT \"x\"\n");
    expect(z, "anything.example.org", MOX_DNS_TXT, "NOERROR auth=0\nanything.example.org. 3600 IN TXT \"wild\"");
    expect(z, "a.b.example.org", MOX_DNS_TXT, "NOERROR auth=0\na.b.example.org. 3600 IN TXT \"wild\"");
    /* the synthesized owner is the canonical form of the question */
    expect(z, "x\\065y.example.org.", MOX_DNS_TXT, "NOERROR auth=0\nxAy.example.org. 3600 IN TXT \"wild\"");
    /* existing names are not covered by the wildcard */
    expect(z, "host.example.org", MOX_DNS_TXT, "NOERROR auth=0");
    expect(z, "q.sub.example.org", MOX_DNS_A, "NOERROR auth=0\n"
           "q.sub.example.org. 3600 IN CNAME host.example.org.\n"
           "host.example.org. 3600 IN A 192.0.2.1");
    /* the closest encloser (x.sub) has no wildcard */
    expect(z, "y.x.sub.example.org", MOX_DNS_TXT, "NXDOMAIN auth=0");
    expect(z, "example.org", MOX_DNS_TXT, "NOERROR auth=0");
    mox_dns_zone_free(z);
}

static void test_names(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_of(
        "$ORIGIN Example.ORG.\n"
        "MiXeD A 192.0.2.1\n"
        "a\\.b TXT \"dot in label\"\n"
        "sp\\032ace TXT \"space\"\n"
        "\\@at TXT \"at\"\n"
        "x\\065y TXT \"escaped letter\"\n"
        "@ MX 0 .\n"
        "$ORIGIN sub\n"          /* relative to the previous origin */
        "rel A 192.0.2.2\n"
        "$ORIGIN .\n"
        "top A 192.0.2.3\n"
        "abs.example.net. A 192.0.2.4\n");
    expect(z, "mixed.example.org", MOX_DNS_A, "NOERROR auth=0\nMiXeD.Example.ORG. 3600 IN A 192.0.2.1");
    expect(z, "a\\.b.example.org", MOX_DNS_TXT, "NOERROR auth=0\na\\.b.Example.ORG. 3600 IN TXT \"dot in label\"");
    expect(z, "a\\046b.example.org", MOX_DNS_TXT, "NOERROR auth=0\na\\.b.Example.ORG. 3600 IN TXT \"dot in label\"");
    /* the escaped dot is not a label separator */
    expect(z, "b.example.org", MOX_DNS_TXT, "NXDOMAIN auth=0");
    expect(z, "sp\\032ace.example.org", MOX_DNS_TXT, "NOERROR auth=0\nsp\\032ace.Example.ORG. 3600 IN TXT \"space\"");
    expect(z, "\\@at.example.org", MOX_DNS_TXT, "NOERROR auth=0\n\\@at.Example.ORG. 3600 IN TXT \"at\"");
    expect(z, "xay.example.org", MOX_DNS_TXT, "NOERROR auth=0\nxAy.Example.ORG. 3600 IN TXT \"escaped letter\"");
    expect(z, "example.org", MOX_DNS_MX, "NOERROR auth=0\nExample.ORG. 3600 IN MX 0 .");
    expect(z, "rel.sub.example.org", MOX_DNS_A, "NOERROR auth=0\nrel.sub.Example.ORG. 3600 IN A 192.0.2.2");
    expect(z, "top", MOX_DNS_A, "NOERROR auth=0\ntop. 3600 IN A 192.0.2.3");
    expect(z, "abs.example.net", MOX_DNS_A, "NOERROR auth=0\nabs.example.net. 3600 IN A 192.0.2.4");
    expect(z, ".", MOX_DNS_A, "NOERROR auth=0");
    mox_dns_answer *a;
    assert_int_equal(mox_dns_zone_query(z, "a..b", MOX_DNS_A, &a), MOX_ERR_SYNTAX);
    assert_null(a);
    char big[300];
    memset(big, 'a', 64);
    strcpy(big + 64, ".example.org");
    assert_int_equal(mox_dns_zone_query(z, big, MOX_DNS_A, &a), MOX_ERR_SYNTAX);
    assert_int_equal(mox_dns_zone_query(NULL, "x", MOX_DNS_A, &a), MOX_ERR_INVAL);
    assert_int_equal(mox_dns_zone_query(z, NULL, MOX_DNS_A, &a), MOX_ERR_INVAL);
    assert_int_equal(mox_dns_zone_query(z, "x", MOX_DNS_A, NULL), MOX_ERR_INVAL);
    mox_dns_zone_free(z);
}

static void test_ttl_and_defaults(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_of(
        "first A 192.0.2.1\n"          /* no origin, no TTL: root-relative, 3600 */
        "second 120 A 192.0.2.2\n"
        "third A 192.0.2.3\n"          /* RFC 1035: last explicit TTL */
        "$TTL 1d2h\n"
        "fourth A 192.0.2.4\n"
        "fifth 1W A 192.0.2.5\n"
        "sixth 2147483647 A 192.0.2.6\n"
        "seventh 0 A 192.0.2.7\n"
        "dup A 192.0.2.8\n"
        "dup A 192.0.2.8\n");
    expect(z, "first", MOX_DNS_A, "NOERROR auth=0\nfirst. 3600 IN A 192.0.2.1");
    expect(z, "second", MOX_DNS_A, "NOERROR auth=0\nsecond. 120 IN A 192.0.2.2");
    expect(z, "third", MOX_DNS_A, "NOERROR auth=0\nthird. 120 IN A 192.0.2.3");
    expect(z, "fourth", MOX_DNS_A, "NOERROR auth=0\nfourth. 93600 IN A 192.0.2.4");
    expect(z, "fifth", MOX_DNS_A, "NOERROR auth=0\nfifth. 604800 IN A 192.0.2.5");
    expect(z, "sixth", MOX_DNS_A, "NOERROR auth=0\nsixth. 2147483647 IN A 192.0.2.6");
    expect(z, "seventh", MOX_DNS_A, "NOERROR auth=0\nseventh. 0 IN A 192.0.2.7");
    expect(z, "dup", MOX_DNS_A, "NOERROR auth=0\ndup. 93600 IN A 192.0.2.8");
    mox_dns_zone_free(z);

    /* empty generic RDATA as the very first record (fuzzer regression:
     * no scratch storage existed yet) */
    z = zone_of("e TYPE65281 \\# 0\n");
    expect(z, "e", 65281, "NOERROR auth=0\ne. 3600 IN TYPE65281 \\# 0");
    expect_error("e TYPE16 \\# 0\n", "f.zone:1: malformed TXT RDATA");
    mox_dns_zone_free(z);

    /* a load origin argument; CRLF line ends; no final newline */
    assert_int_equal(mox_dns_zone_new(&z), MOX_OK);
    const char *t = "www A 192.0.2.1\r\n@ TXT \"o\"\r\nlast TXT x";
    assert_int_equal(mox_dns_zone_load(z, t, strlen(t), "example.com", NULL, NULL), MOX_OK);
    expect(z, "www.example.com", MOX_DNS_A, "NOERROR auth=0\nwww.example.com. 3600 IN A 192.0.2.1");
    expect(z, "example.com", MOX_DNS_TXT, "NOERROR auth=0\nexample.com. 3600 IN TXT \"o\"");
    expect(z, "last.example.com", MOX_DNS_TXT, "NOERROR auth=0\nlast.example.com. 3600 IN TXT \"x\"");
    /* a second load adds to the zone */
    assert_int_equal(mox_dns_zone_load(z, "www AAAA ::1", 12, "example.com", NULL, NULL), MOX_OK);
    expect(z, "www.example.com", MOX_DNS_AAAA, "NOERROR auth=0\nwww.example.com. 3600 IN AAAA ::1");
    assert_int_equal(mox_dns_zone_load(z, "", 0, NULL, NULL, NULL), MOX_OK);
    assert_int_equal(mox_dns_zone_load(z, NULL, 0, NULL, NULL, NULL), MOX_OK);
    assert_int_equal(mox_dns_zone_load(z, "x", 1, "a..b", NULL, NULL), MOX_ERR_INVAL);
    assert_int_equal(mox_dns_zone_load(NULL, "x", 1, NULL, NULL, NULL), MOX_ERR_INVAL);

    /* mox_dns_zone_add */
    mox_errinfo ei;
    assert_int_equal(mox_dns_zone_add(z, "added.example.com. 60 IN TXT \"v=spf1 -all\"", &ei), MOX_OK);
    expect(z, "added.example.com", MOX_DNS_TXT, "NOERROR auth=0\nadded.example.com. 60 IN TXT \"v=spf1 -all\"");
    assert_int_equal(mox_dns_zone_add(z, " A 192.0.2.1", &ei), MOX_ERR_SYNTAX);
    assert_int_equal(mox_dns_zone_add(z, "$TTL 5", &ei), MOX_ERR_SYNTAX);
    assert_int_equal(mox_dns_zone_add(z, "a.example. A 1.2.3.4\nb A 1.2.3.4", &ei), MOX_ERR_SYNTAX);
    assert_int_equal(mox_dns_zone_add(z, "a.example. A 1.2.3", &ei), MOX_ERR_SYNTAX);
    assert_string_equal(ei.msg, "record:1: bad A address '1.2.3'");
    mox_dns_zone_free(z);
    mox_dns_zone_free(NULL);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("www A 1.2.3.4\nbad A 300.1.1.1\n", "f.zone:2: bad A address '300.1.1.1'");
    expect_error("x AAAA 1.2.3.4", "f.zone:1: bad AAAA address '1.2.3.4'");
    expect_error("x A", "f.zone:1: missing A address");
    expect_error("x A 1.2.3.4 5.6.7.8", "f.zone:1: trailing data after A address");
    expect_error("x A \"1.2.3.4\"", "f.zone:1: bad A address '1.2.3.4'");
    expect_error(" A 1.2.3.4", "f.zone:1: no owner name (the first record must name one)");
    expect_error("x 300", "f.zone:1: missing record type");
    expect_error("x IN", "f.zone:1: missing record type");
    expect_error("x BOGUS 1", "f.zone:1: unknown record type 'BOGUS'");
    expect_error("x TYPE0 \\# 0", "f.zone:1: unknown record type 'TYPE0'");
    expect_error("x TYPE65536 \\# 0", "f.zone:1: unknown record type 'TYPE65536'");
    expect_error("x ANY \\# 0", "f.zone:1: unknown record type 'ANY'");
    expect_error("x CH TXT \"a\"", "f.zone:1: class CH is not supported (only IN)");
    expect_error("x 1x A 1.2.3.4", "f.zone:1: bad TTL '1x'");
    expect_error("x 2147483648 A 1.2.3.4", "f.zone:1: TTL '2147483648' out of range");
    expect_error("x 99999999w A 1.2.3.4", "f.zone:1: TTL '99999999w' out of range");
    expect_error("$TTL", "f.zone:1: $TTL needs one TTL");
    expect_error("$TTL abc", "f.zone:1: bad TTL 'abc'");
    expect_error("$ORIGIN", "f.zone:1: $ORIGIN needs one name");
    expect_error("$ORIGIN a..b.", "f.zone:1: empty label in name: 'a..b.'");
    expect_error("$INCLUDE other.zone", "f.zone:1: $INCLUDE is not supported");
    expect_error("$GENERATE 1-2 x A 1.2.3.4", "f.zone:1: unknown directive '$GENERATE'");
    expect_error("$SERVFAIL", "f.zone:1: $SERVFAIL needs one name");
    expect_error("$TIMEOUT a b", "f.zone:1: $TIMEOUT needs one name");
    expect_error("$AUTHENTIC", "f.zone:1: $AUTHENTIC needs one name");
    expect_error("x TXT \"open", "f.zone:1: unterminated quoted string");
    expect_error("x TXT \"open\nmore\"", "f.zone:1: unterminated quoted string");
    expect_error("x TXT", "f.zone:1: TXT needs at least one string");
    expect_error("x TXT a\\", "f.zone:1: backslash at end of line");
    expect_error("x TXT \"\\256\"", "f.zone:1: \\DDD escape above 255");
    expect_error("x TXT \"\\12\"", "f.zone:1: bad \\DDD escape");
    expect_error("\n\nx ( A\n 1.2.3.4\n", "f.zone:3: '(' is never closed");
    expect_error("x ( A ( 1.2.3.4 ) )", "f.zone:1: nested '('");
    expect_error("x A 1.2.3.4 )", "f.zone:1: ')' without '('");
    expect_error("x CNAME", "f.zone:1: missing CNAME target");
    expect_error("x CNAME a b", "f.zone:1: trailing data after CNAME target");
    expect_error("x CNAME \"a\"", "f.zone:1: quoted string where a name is expected");
    expect_error("x MX 10", "f.zone:1: MX needs a preference and a host");
    expect_error("x MX 65536 mx", "f.zone:1: MX preference '65536' out of range");
    expect_error("x MX ten mx", "f.zone:1: bad MX preference 'ten'");
    expect_error("x TLSA 3 1 1", "f.zone:1: TLSA needs usage, selector, matching type and data");
    expect_error("x TLSA 256 1 1 00", "f.zone:1: TLSA usage '256' out of range");
    expect_error("x TLSA 3 1 1 0G", "f.zone:1: bad hex '0G'");
    expect_error("x TLSA 3 1 1 ABC", "f.zone:1: odd number of hex digits");
    expect_error("x SOA a b 1 2 3 4", "f.zone:1: SOA needs mname rname serial refresh retry expire minimum");
    expect_error("x SOA a b 4294967296 2 3 4 5", "f.zone:1: SOA serial '4294967296' out of range");
    expect_error("x SOA a b 1 2 3 4 z", "f.zone:1: bad SOA time 'z'");
    expect_error("x SRV 0 0 25 mx", "f.zone:1: type SRV needs the generic \\# syntax here");
    expect_error("x TYPE99 \\#", "f.zone:1: \\# needs a length");
    expect_error("x TYPE65280 \\# 2 ABCDEF", "f.zone:1: \\# length 2 but 3 octets of data");
    expect_error("x TYPE65280 \\# 70000", "f.zone:1: RDATA length '70000' out of range");
    expect_error("x TYPE1 \\# 3 010203", "f.zone:1: malformed A RDATA");
    expect_error("x TXT \\# 2 0501", "f.zone:1: malformed TXT RDATA");
    expect_error("x MX \\# 3 000AC0", "f.zone:1: malformed MX RDATA");
    expect_error("a..b A 1.2.3.4", "f.zone:1: empty label in name: 'a..b'");
    expect_error("a\\ A 1.2.3.4", "f.zone:1: bad TTL '1.2.3.4'"); /* owner 'a A' */
    expect_error("a\\1 A 1.2.3.4", "f.zone:1: bad \\DDD escape in name: 'a\\1'");
    expect_error("a\\300 A 1.2.3.4", "f.zone:1: \\DDD escape above 255 in name: 'a\\300'");
    expect_error("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa A 1.2.3.4",
                 "f.zone:1: label longer than 63 octets: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'");
    /* a TXT string may hold 255 octets, not 256 */
    char txt[400];
    strcpy(txt, "x TXT ");
    memset(txt + 6, 'a', 256);
    txt[6 + 256] = 0;
    expect_error(txt, "f.zone:1: TXT string longer than 255 octets (split it into several strings)");
    txt[6 + 255] = 0;
    mox_dns_zone *z = zone_of(txt);
    mox_dns_zone_free(z);
    /* a name longer than 255 octets */
    char nm[600] = "";
    for (int i = 0; i < 5; i++)
        strcat(nm, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
    strcat(nm, " A 1.2.3.4");
    mox_dns_zone *z2;
    mox_errinfo ei;
    assert_int_equal(mox_dns_zone_new(&z2), MOX_OK);
    assert_int_equal(mox_dns_zone_load(z2, nm, strlen(nm), NULL, NULL, &ei), MOX_ERR_SYNTAX);
    assert_non_null(strstr(ei.msg, "zone:1: name longer than 255 octets"));
    /* records before the error stay loaded */
    const char *t = "ok A 192.0.2.1\nbad A x\nlater A 192.0.2.2\n";
    assert_int_equal(mox_dns_zone_load(z2, t, strlen(t), NULL, NULL, &ei), MOX_ERR_SYNTAX);
    expect(z2, "ok", MOX_DNS_A, "NOERROR auth=0\nok. 3600 IN A 192.0.2.1");
    expect(z2, "later", MOX_DNS_A, "NXDOMAIN auth=0");
    mox_dns_zone_free(z2);
}

static void test_load_file(void **state)
{
    (void)state;
    mox_dns_zone *z;
    mox_errinfo ei;
    assert_int_equal(mox_dns_zone_new(&z), MOX_OK);
    assert_int_equal(mox_dns_zone_load_file(z, moxtest_data_path("dns/example.zone"), &ei), MOX_OK);
    expect(z, "example.org", MOX_DNS_TXT, "NOERROR auth=1\nexample.org. 300 IN TXT \"v=spf1 mx -all\"");
    assert_int_equal(mox_dns_zone_load_file(z, "/nonexistent/zone", &ei), MOX_ERR_IO);
    assert_int_equal(mox_dns_zone_load_file(z, moxtest_data_path("dns/bad.zone"), &ei), MOX_ERR_SYNTAX);
    assert_non_null(strstr(ei.msg, "bad.zone:3: "));
    mox_dns_zone_free(z);
}

static void test_names_and_types(void **state)
{
    (void)state;
    uint16_t t;
    assert_string_equal(mox_dns_type_name(MOX_DNS_TXT), "TXT");
    assert_string_equal(mox_dns_type_name(MOX_DNS_TLSA), "TLSA");
    assert_string_equal(mox_dns_type_name(99), "SPF");
    assert_string_equal(mox_dns_type_name(65000), "TYPE65000");
    assert_int_equal(mox_dns_type_parse("mx", &t), MOX_OK);
    assert_int_equal(t, MOX_DNS_MX);
    assert_int_equal(mox_dns_type_parse("TYPE16", &t), MOX_OK);
    assert_int_equal(t, MOX_DNS_TXT);
    assert_int_equal(mox_dns_type_parse("type65535", &t), MOX_OK);
    assert_int_equal(t, 65535);
    assert_int_equal(mox_dns_type_parse("TYPE", &t), MOX_ERR_SYNTAX);
    assert_int_equal(mox_dns_type_parse("TYPE1x", &t), MOX_ERR_SYNTAX);
    assert_int_equal(mox_dns_type_parse("TYPE01", &t), MOX_ERR_SYNTAX);
    assert_int_equal(mox_dns_type_parse("TYPE99999999999999999999", &t), MOX_ERR_SYNTAX);
    assert_int_equal(mox_dns_type_parse("MXX", &t), MOX_ERR_SYNTAX);
    assert_int_equal(mox_dns_type_parse("", &t), MOX_ERR_SYNTAX);
    assert_int_equal(mox_dns_type_parse(NULL, &t), MOX_ERR_INVAL);
    assert_string_equal(mox_dns_status_name(MOX_DNS_NOERROR), "NOERROR");
    assert_string_equal(mox_dns_status_name(MOX_DNS_NXDOMAIN), "NXDOMAIN");
    assert_string_equal(mox_dns_status_name(MOX_DNS_SERVFAIL), "SERVFAIL");
    assert_string_equal(mox_dns_status_name(MOX_DNS_TIMEOUT), "TIMEOUT");
    assert_string_equal(mox_dns_status_name(MOX_DNS_NETERR), "NETERR");
    assert_string_equal(mox_dns_status_name(MOX_DNS_REFUSED), "REFUSED");
    assert_string_equal(mox_dns_status_name(MOX_DNS_FORMERR), "FORMERR");
    assert_string_equal(mox_dns_status_name(MOX_DNS_NOTIMP), "NOTIMP");
    assert_string_equal(mox_dns_status_name(9), "RCODE9");
}

static void test_format_caller_records(void **state)
{
    (void)state;
    mox_buf b = MOX_BUF_INIT;
    static const unsigned char *strs[2] = {(const unsigned char *)"a\"\\\x01\x7f", (const unsigned char *)""};
    static const size_t lens[2] = {5, 0};
    mox_dns_rr rr;
    memset(&rr, 0, sizeof rr);
    rr.name = "";
    rr.type = MOX_DNS_TXT;
    rr.rclass = 3;
    rr.ttl = 1;
    rr.u.txt.count = 2;
    rr.u.txt.str = strs;
    rr.u.txt.len = lens;
    assert_int_equal(mox_dns_rr_format(&rr, &b), MOX_OK);
    assert_string_equal((char *)b.data, ". 1 CH TXT \"a\\\"\\\\\\001\\127\" \"\"");
    mox_buf_reset(&b);
    rr.rclass = 7;
    rr.type = MOX_DNS_TLSA;
    rr.u.tlsa.usage = 1;
    rr.u.tlsa.len = 0;
    assert_int_equal(mox_dns_rr_format(&rr, &b), MOX_OK);
    assert_string_equal((char *)b.data, ". 1 CLASS7 TLSA \\# 3 010000");
    mox_buf_reset(&b);
    rr.type = MOX_DNS_SOA;
    rr.u.raw.data = (const unsigned char *)"\x01";
    rr.u.raw.len = 1;
    assert_int_equal(mox_buf_append_str(&b, "keep"), MOX_OK);
    assert_int_equal(mox_dns_rr_format(&rr, &b), MOX_ERR_INVAL);
    assert_string_equal((char *)b.data, "keep");
    rr.name = NULL;
    assert_int_equal(mox_dns_rr_format(&rr, &b), MOX_ERR_INVAL);
    assert_int_equal(mox_dns_rr_format(NULL, &b), MOX_ERR_INVAL);
    mox_buf_free(&b);
}

/* Every record the loader produces formats into text that loads back to
 * the same record. */
static void test_format_roundtrip(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_of(basic_zone);
    static const struct { const char *n; uint16_t t; } qs[] = {
        {"example.org", MOX_DNS_ANY}, {"esc.example.org", MOX_DNS_TXT},
        {"_25._tcp.mx1.example.org", MOX_DNS_TLSA}, {"gen.example.org", MOX_DNS_ANY},
        {"mx1.example.org", MOX_DNS_ANY}, {"empty.example.org", MOX_DNS_ANY}};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        mox_dns_answer *a;
        assert_int_equal(mox_dns_zone_query(z, qs[i].n, qs[i].t, &a), MOX_OK);
        assert_true(a->nrr > 0);
        char *first = render(a);
        mox_buf text = MOX_BUF_INIT;
        for (size_t k = 0; k < a->nrr; k++) {
            assert_int_equal(mox_dns_rr_format(&a->rr[k], &text), MOX_OK);
            assert_int_equal(mox_buf_append_byte(&text, '\n'), MOX_OK);
        }
        mox_dns_zone *z2 = zone_of((char *)text.data);
        mox_dns_answer *a2;
        assert_int_equal(mox_dns_zone_query(z2, qs[i].n, qs[i].t, &a2), MOX_OK);
        char *second = render(a2);
        assert_string_equal(first, second);
        mox_free(first);
        mox_free(second);
        mox_dns_answer_free(a2);
        mox_dns_zone_free(z2);
        mox_buf_free(&text);
        mox_dns_answer_free(a);
    }
    mox_dns_zone_free(z);
}

/* ------------------------------------------------------------ resolver */

static void test_zone_resolver_and_lookup(void **state)
{
    (void)state;
    mox_dns_zone *z = zone_of(basic_zone);
    mox_resolver r = MOX_RESOLVER_INIT;
    mox_dns_zone_resolver(z, &r);
    mox_dns_answer *a;
    assert_int_equal(mox_dns_lookup(&r, "web.example.org", MOX_DNS_A, &a), MOX_OK);
    assert_int_equal(a->nrr, 2);
    mox_dns_answer_free(a);
    assert_int_equal(mox_dns_lookup(&r, "a..b", MOX_DNS_A, &a), MOX_ERR_SYNTAX);
    assert_null(a);
    assert_int_equal(mox_dns_lookup(NULL, "x", MOX_DNS_A, &a), MOX_ERR_INVAL);
    assert_int_equal(mox_dns_lookup(&r, "x", MOX_DNS_A, NULL), MOX_ERR_INVAL);
    mox_dns_zone_free(z);
}

/* An asynchronous resolver: answers are delivered from wait(). */
struct async_res {
    mox_dns_zone *z;
    char name[64];
    uint16_t type;
    mox_dns_done_fn done;
    void *arg;
    int pending;
    int waits;
};

static int async_query(void *ctx, const char *name, uint16_t type, mox_dns_done_fn done, void *arg)
{
    struct async_res *ar = ctx;
    snprintf(ar->name, sizeof ar->name, "%s", name);
    ar->type = type;
    ar->done = done;
    ar->arg = arg;
    ar->pending = 1;
    return MOX_OK;
}

static int async_wait(void *ctx)
{
    struct async_res *ar = ctx;
    ar->waits++;
    if (ar->waits < 3)
        return MOX_OK; /* spurious wake-ups */
    mox_dns_answer *a;
    int rc = mox_dns_zone_query(ar->z, ar->name, ar->type, &a);
    if (rc < 0)
        return rc;
    ar->pending = 0;
    ar->done(ar->arg, a);
    return MOX_OK;
}

static void test_lookup_async(void **state)
{
    (void)state;
    struct async_res ar;
    memset(&ar, 0, sizeof ar);
    ar.z = zone_of(basic_zone);
    mox_resolver r = MOX_RESOLVER_INIT;
    r.ctx = &ar;
    r.query = async_query;
    r.wait = async_wait;
    mox_dns_answer *a;
    assert_int_equal(mox_dns_lookup(&r, "ns1.example.org", MOX_DNS_A, &a), MOX_OK);
    assert_int_equal(ar.waits, 3);
    assert_int_equal(a->nrr, 1);
    mox_dns_answer_free(a);
    /* no wait(): the helper cannot block */
    r.wait = NULL;
    ar.waits = 0;
    assert_int_equal(mox_dns_lookup(&r, "ns1.example.org", MOX_DNS_A, &a), MOX_ERR_STATE);
    mox_dns_zone_free(ar.z);
}

/* ------------------------------------------------------------ alloc sweep */

static int sweep_load_query(void *arg)
{
    (void)arg;
    mox_dns_zone *z;
    int rc = mox_dns_zone_new(&z);
    if (rc < 0)
        return rc;
    rc = mox_dns_zone_load(z, basic_zone, strlen(basic_zone), NULL, "s", NULL);
    if (rc == MOX_OK)
        rc = mox_dns_zone_set_failure(z, "fail.example.org", MOX_DNS_SERVFAIL);
    if (rc == MOX_OK)
        rc = mox_dns_zone_add(z, "*.w.example.org. TXT \"w\"", NULL);
    static const struct { const char *n; uint16_t t; } qs[] = {
        {"example.org", MOX_DNS_MX}, {"www.example.org", MOX_DNS_A},
        {"esc.example.org", MOX_DNS_TXT}, {"nope.example.org", MOX_DNS_A},
        {"x.w.example.org", MOX_DNS_TXT}, {"example.org", MOX_DNS_ANY},
        {"fail.example.org", MOX_DNS_A}, {"a\\046b.example.org", MOX_DNS_A}};
    for (size_t i = 0; rc == MOX_OK && i < sizeof qs / sizeof qs[0]; i++) {
        mox_dns_answer *a;
        rc = mox_dns_zone_query(z, qs[i].n, qs[i].t, &a);
        if (rc == MOX_OK) {
            mox_buf b = MOX_BUF_INIT;
            for (size_t k = 0; rc == MOX_OK && k < a->nrr; k++)
                rc = mox_dns_rr_format(&a->rr[k], &b);
            mox_buf_free(&b);
            mox_dns_answer_free(a);
        }
    }
    mox_dns_zone_free(z);
    return rc;
}

static void test_alloc_sweep(void **state)
{
    (void)state;
    unsigned long n = moxtest_alloc_sweep(sweep_load_query, NULL, "zone load+query");
    assert_true(n > 20);
}

/* Many names and records: the table grows, every name stays reachable. */
static void test_many_names(void **state)
{
    (void)state;
    mox_buf t = MOX_BUF_INIT;
    for (int i = 0; i < 5000; i++)
        assert_int_equal(mox_buf_appendf(&t, "h%d.example.org. A 10.0.%d.%d\n", i, i / 256, i % 256), MOX_OK);
    mox_dns_zone *z = zone_of((char *)t.data);
    for (int i = 0; i < 5000; i += 7) {
        char n[64], want[128];
        snprintf(n, sizeof n, "H%d.EXAMPLE.org", i);
        snprintf(want, sizeof want, "NOERROR auth=0\nh%d.example.org. 3600 IN A 10.0.%d.%d", i, i / 256, i % 256);
        expect(z, n, MOX_DNS_A, want);
    }
    expect(z, "h5000.example.org", MOX_DNS_A, "NXDOMAIN auth=0");
    mox_dns_zone_free(z);
    mox_buf_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_records),
        cmocka_unit_test(test_typed_access),
        cmocka_unit_test(test_nodata_nxdomain),
        cmocka_unit_test(test_cname),
        cmocka_unit_test(test_directives),
        cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_ttl_and_defaults),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_names_and_types),
        cmocka_unit_test(test_format_caller_records),
        cmocka_unit_test(test_format_roundtrip),
        cmocka_unit_test(test_zone_resolver_and_lookup),
        cmocka_unit_test(test_lookup_async),
        cmocka_unit_test(test_alloc_sweep),
        cmocka_unit_test(test_many_names),
    };
    int fails = cmocka_run_group_tests_name("zone", tests, NULL, NULL);
    fails += _cmocka_run_group_tests("wire", dns_wire_tests, dns_wire_ntests, NULL, NULL);
    return fails;
}
