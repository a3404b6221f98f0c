/* Authentication-Results: composition, quoting of untrusted values,
 * lenient parsing of real-world variants, round trips. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moxtest.h"
#include "mox/message.h"

#define S(x) x, sizeof(x) - 1

static const char prefix[] = "Authentication-Results:";

/* Parses a composed header field back, through the header parser (so the
 * composition is also checked to be one well-formed field). */
static mox_authres *reparse(const mox_buf *b)
{
    mox_header_config c = MOX_HEADER_CONFIG_INIT;
    c.bare_lf = MOX_EOL_REJECT;
    c.flags = MOX_HDR_REQUIRE_UTF8 | MOX_HDR_REJECT_NUL;
    mox_headers *h = NULL;
    size_t body;
    mox_errinfo ei;
    if (mox_headers_parse(b->data, b->len, &c, &h, &body, &ei))
        fail_msg("composed header does not parse: %s in [%s]", ei.msg, (char *)b->data);
    assert_int_equal(mox_headers_count(h), 1);
    assert_int_equal(body, b->len);
    const mox_header_field *f = mox_headers_get(h, 0);
    assert_int_equal(f->name_len, sizeof prefix - 2);
    assert_memory_equal(f->name, prefix, f->name_len);
    mox_authres *ar = NULL;
    /* parse the raw form (with folding) */
    assert_int_equal(mox_authres_parse(f->raw + sizeof prefix - 1, f->raw_len - (sizeof prefix - 1),
                                       &ar, NULL),
                     MOX_OK);
    /* and the unfolded value must give the same */
    mox_authres *ar2 = NULL;
    assert_int_equal(mox_authres_parse(f->value, f->value_len, &ar2, NULL), MOX_OK);
    assert_true(mox_authres_equal(ar, ar2));
    mox_authres_free(ar2);
    mox_headers_free(h);
    return ar;
}

/* No CR, LF or other control byte except CRLF followed by TAB (a fold) and
 * the final CRLF; lines within `maxcol` unless a single element is longer. */
static void check_wire(const mox_buf *b, size_t maxcol)
{
    const char *s = (const char *)b->data;
    size_t col = 0, longest = 0;
    for (size_t i = 0; i < b->len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r') {
            assert_true(i + 1 < b->len && s[i + 1] == '\n');
            assert_true(i + 2 == b->len || s[i + 2] == '\t');
            if (col > longest)
                longest = col;
            col = 0;
            i++;
            continue;
        }
        assert_true((c >= 0x20 && c != 0x7f) || c == '\t');
        col++;
    }
    if (maxcol && longest > maxcol)
        fail_msg("line of %zu columns in\n%s", longest, s);
}

static void test_compose(void **state)
{
    (void)state;
    mox_authres *ar = NULL;
    size_t i;
    assert_int_equal(mox_authres_new(&ar, S("mx.example.com")), MOX_OK);
    assert_int_equal(mox_authres_add(ar, "spf", "pass", &i), MOX_OK);
    assert_int_equal(i, 0);
    assert_int_equal(mox_authres_add_prop(ar, i, "smtp", "mailfrom", S("user@example.org")), MOX_OK);
    assert_int_equal(mox_authres_add(ar, "DKIM", "Pass", &i), MOX_OK);
    assert_int_equal(mox_authres_add_prop(ar, i, "header", "d", S("example.org")), MOX_OK);
    assert_int_equal(mox_authres_add_prop(ar, i, "header", "b", S("abc/+=")), MOX_OK);
    assert_int_equal(mox_authres_add(ar, "dmarc", "fail", &i), MOX_OK);
    assert_int_equal(mox_authres_set_comment(ar, i, S("p=reject (strict)")), MOX_OK);
    assert_int_equal(mox_authres_set_reason(ar, i, S("policy says \"no\"")), MOX_OK);
    assert_int_equal(mox_authres_add_prop(ar, i, "header", "from", S("@example.org")), MOX_OK);
    assert_int_equal(mox_authres_add(ar, "auth", "pass", &i), MOX_OK);
    assert_int_equal(mox_authres_set_method_version(ar, i, 1), MOX_OK);
    assert_int_equal(mox_authres_add_prop(ar, i, "smtp", "auth", S("")), MOX_OK);
    mox_buf b = MOX_BUF_INIT;
    mox_buf_append_str(&b, "keep");
    assert_int_equal(mox_authres_compose(ar, &b), MOX_OK);
    assert_string_equal((char *)b.data,
                        "keepAuthentication-Results: mx.example.com;\r\n"
                        "\tspf=pass smtp.mailfrom=user@example.org;\r\n"
                        "\tdkim=pass header.d=example.org header.b=\"abc/+=\";\r\n"
                        "\tdmarc=fail (p=reject \\(strict\\)) reason=\"policy says \\\"no\\\"\"\r\n"
                        "\theader.from=@example.org;\r\n"
                        "\tauth/1=pass smtp.auth=\"\"\r\n");
    mox_buf_consume(&b, 4);
    check_wire(&b, 78);
    mox_authres *back = reparse(&b);
    assert_true(mox_authres_equal(ar, back));
    assert_int_equal(mox_authres_defects(back), 0);
    const mox_authres_result *r = mox_authres_get(back, 2);
    assert_string_equal(r->comment, "p=reject (strict)");
    assert_string_equal(r->reason, "policy says \"no\"");
    assert_int_equal(mox_authres_get(back, 3)->version, 1);
    mox_authres_free(back);
    mox_authres_free(ar);

    /* no results: "none"; a version */
    assert_int_equal(mox_authres_new(&ar, S("example.net")), MOX_OK);
    mox_authres_set_version(ar, 1);
    mox_buf_reset(&b);
    assert_int_equal(mox_authres_compose(ar, &b), MOX_OK);
    assert_string_equal((char *)b.data, "Authentication-Results: example.net 1; none\r\n");
    back = reparse(&b);
    assert_true(mox_authres_equal(ar, back));
    assert_int_equal(mox_authres_version(back), 1);
    assert_int_equal(mox_authres_count(back), 0);
    mox_authres_free(back);
    mox_authres_free(ar);
    mox_buf_free(&b);
}

static void test_setters(void **state)
{
    (void)state;
    mox_authres *ar = NULL;
    assert_int_equal(mox_authres_new(&ar, S("x")), MOX_OK);
    static const char *const badkw[] = {"", "-x", "_x", "a b", "a.b", "a=b", "caf\xc3\xa9", NULL};
    for (size_t k = 0; k < sizeof badkw / sizeof badkw[0]; k++) {
        assert_int_equal(mox_authres_add(ar, badkw[k], "pass", NULL), MOX_ERR_INVAL);
        assert_int_equal(mox_authres_add(ar, "spf", badkw[k], NULL), MOX_ERR_INVAL);
    }
    assert_int_equal(mox_authres_count(ar), 0);
    assert_int_equal(mox_authres_add(ar, "x-my_method", "9", NULL), MOX_OK);
    for (size_t k = 0; k < sizeof badkw / sizeof badkw[0]; k++) {
        assert_int_equal(mox_authres_add_prop(ar, 0, badkw[k], "p", S("v")), MOX_ERR_INVAL);
        assert_int_equal(mox_authres_add_prop(ar, 0, "t", badkw[k], S("v")), MOX_ERR_INVAL);
    }
    assert_int_equal(mox_authres_get(ar, 0)->nprops, 0);
    assert_int_equal(mox_authres_add_prop(ar, 1, "t", "p", S("v")), MOX_ERR_INVAL);
    assert_int_equal(mox_authres_set_reason(ar, 1, S("r")), MOX_ERR_INVAL);
    assert_int_equal(mox_authres_set_comment(ar, 1, S("r")), MOX_ERR_INVAL);
    assert_int_equal(mox_authres_set_method_version(ar, 1, 1), MOX_ERR_INVAL);
    assert_int_equal(mox_authres_set_reason(ar, 0, NULL, 1), MOX_ERR_INVAL);
    /* replacing a reason */
    assert_int_equal(mox_authres_set_reason(ar, 0, S("a")), MOX_OK);
    assert_int_equal(mox_authres_set_reason(ar, 0, S("b")), MOX_OK);
    assert_string_equal(mox_authres_get(ar, 0)->reason, "b");
    assert_null(mox_authres_get(ar, 1));
    assert_int_equal(mox_authres_defects(ar), 0);
    assert_int_equal(mox_authres_equal(ar, NULL), 0);
    assert_int_equal(mox_authres_equal(NULL, NULL), 1);
    mox_authres_free(ar);
    mox_authres_free(NULL);
}

/* Untrusted values can never become structure. */
static void test_injection(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        size_t len;
        const char *stored; /* after sanitising */
    } vals[] = {
        {S("x; dmarc=pass"), "x; dmarc=pass"},
        {S("x\r\nX-Injected: yes"), "x??X-Injected: yes"},
        {S("x\r\n\tdmarc=pass"), "x???dmarc=pass"},
        {S("\"; dkim=pass (\""), "\"; dkim=pass (\""},
        {S("a\\\"b\\"), "a\\\"b\\"},
        {S("(x) spf=pass"), "(x) spf=pass"},
        {S("x\0y"), "x?y"},
        {S("bad\xff\xc3utf8\xc3\xa9"), "bad??utf8\xc3\xa9"},
        {S("\x7f\x1b[31m"), "??[31m"},
        {S(""), ""},
        {S("a@b@c"), "a@b@c"},
        {S("=?utf-8?q?x?="), "=?utf-8?q?x?="},
    };
    for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
        mox_authres *ar = NULL;
        size_t i;
        /* every untrusted position: authserv-id, reason, comment, property */
        assert_int_equal(mox_authres_new(&ar, vals[k].value, vals[k].len), MOX_OK);
        assert_int_equal(mox_authres_add(ar, "spf", "fail", &i), MOX_OK);
        assert_int_equal(mox_authres_set_reason(ar, i, vals[k].value, vals[k].len), MOX_OK);
        assert_int_equal(mox_authres_set_comment(ar, i, vals[k].value, vals[k].len), MOX_OK);
        assert_int_equal(mox_authres_add_prop(ar, i, "smtp", "helo", vals[k].value, vals[k].len), MOX_OK);
        assert_string_equal(mox_authres_authserv_id(ar), vals[k].stored);
        const mox_authres_result *r = mox_authres_get(ar, 0);
        assert_string_equal(r->reason, vals[k].stored);
        assert_string_equal(r->comment, vals[k].stored);
        assert_string_equal(r->props[0].value, vals[k].stored);
        mox_buf b = MOX_BUF_INIT;
        assert_int_equal(mox_authres_compose(ar, &b), MOX_OK);
        check_wire(&b, 0);
        mox_authres *back = reparse(&b);
        if (!mox_authres_equal(ar, back))
            fail_msg("round trip of [%s] failed: %s", vals[k].stored, (char *)b.data);
        assert_int_equal(mox_authres_count(back), 1);
        assert_int_equal(mox_authres_get(back, 0)->nprops, 1);
        assert_int_equal(mox_authres_defects(back), 0);
        mox_authres_free(back);
        mox_authres_free(ar);
        mox_buf_free(&b);
    }
}

static void test_folding(void **state)
{
    (void)state;
    mox_authres *ar = NULL;
    size_t i;
    assert_int_equal(mox_authres_new(&ar, S("mail.example.com")), MOX_OK);
    assert_int_equal(mox_authres_add(ar, "dkim", "pass", &i), MOX_OK);
    assert_int_equal(mox_authres_set_comment(ar, i, S("2048-bit key; unprotected key")), MOX_OK);
    assert_int_equal(mox_authres_add_prop(ar, i, "header", "d", S("sub.domain.example.org")), MOX_OK);
    assert_int_equal(mox_authres_add_prop(ar, i, "header", "i", S("@sub.domain.example.org")), MOX_OK);
    assert_int_equal(mox_authres_add_prop(ar, i, "header", "s", S("selector2024")), MOX_OK);
    assert_int_equal(mox_authres_add_prop(ar, i, "header", "a", S("rsa-sha256")), MOX_OK);
    assert_int_equal(mox_authres_add_prop(ar, i, "header", "b", S("Zm9vYmFy")), MOX_OK);
    assert_int_equal(mox_authres_add(ar, "spf", "pass", &i), MOX_OK);
    assert_int_equal(mox_authres_add_prop(ar, i, "smtp", "mailfrom", S("averyveryveryverylonglocalpart@sub.domain.example.org")), MOX_OK);
    assert_int_equal(mox_authres_add_prop(ar, i, "smtp", "helo", S("mail.example.org")), MOX_OK);
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_authres_compose(ar, &b), MOX_OK);
    check_wire(&b, 78);
    mox_authres *back = reparse(&b);
    assert_true(mox_authres_equal(ar, back));
    mox_authres_free(back);
    /* an element longer than a line cannot be folded, but stays intact */
    char longv[200];
    memset(longv, 'x', sizeof longv);
    assert_int_equal(mox_authres_add_prop(ar, i, "smtp", "x", longv, sizeof longv), MOX_OK);
    mox_buf_reset(&b);
    assert_int_equal(mox_authres_compose(ar, &b), MOX_OK);
    check_wire(&b, 0);
    back = reparse(&b);
    assert_true(mox_authres_equal(ar, back));
    mox_authres_free(back);
    mox_authres_free(ar);
    mox_buf_free(&b);
}

struct expect_prop {
    const char *ptype, *property, *value;
};

struct expect_result {
    const char *method;
    unsigned version;
    const char *result, *reason, *comment;
    size_t nprops;
    struct expect_prop props[5];
};

struct parse_case {
    const char *in;
    const char *id;
    unsigned version;
    size_t nresults;
    int defects; /* -1: some (> 0) */
    struct expect_result r[4];
};

static const struct parse_case cases[] = {
    /* RFC 8601 Appendix B examples */
    {"example.org 1; none", "example.org", 1, 0, 0, {{0}}},
    {"example.com; spf=pass smtp.mailfrom=example.net", "example.com", 0, 1, 0,
     {{"spf", 0, "pass", NULL, NULL, 1, {{"smtp", "mailfrom", "example.net"}}}}},
    {"example.com;\r\n          auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n"
     "          spf=pass smtp.mailfrom=example.net",
     "example.com", 0, 2, 0,
     {{"auth", 0, "pass", NULL, "cram-md5", 1, {{"smtp", "auth", "sender@example.net"}}},
      {"spf", 0, "pass", NULL, NULL, 1, {{"smtp", "mailfrom", "example.net"}}}}},
    {"example.com;\n    sender-id=fail header.from=example.com;\n"
     "    dkim=pass (good signature) header.d=example.com",
     "example.com", 0, 2, 0,
     {{"sender-id", 0, "fail", NULL, NULL, 1, {{"header", "from", "example.com"}}},
      {"dkim", 0, "pass", NULL, "good signature", 1, {{"header", "d", "example.com"}}}}},
    {"mail-router.example.net;\n   dkim=pass (good signature) header.d=newyork.example.com\n"
     "         header.b=oINEO8hg;\n   dkim=fail (bad signature) header.d=newyork.example.com\n"
     "         header.b=EToRSuvU",
     "mail-router.example.net", 0, 2, 0,
     {{"dkim", 0, "pass", NULL, "good signature", 2,
       {{"header", "d", "newyork.example.com"}, {"header", "b", "oINEO8hg"}}},
      {"dkim", 0, "fail", NULL, "bad signature", 2,
       {{"header", "d", "newyork.example.com"}, {"header", "b", "EToRSuvU"}}}}},
    /* Gmail style: comments with colons, bare base64 with '/', '+', '=' */
    {" mx.google.com;\r\n       dkim=pass header.i=@example.com header.s=20161025 header.b=aB+/c=;\r\n"
     "       spf=pass (google.com: domain of x@y.com designates 1.2.3.4 as permitted sender) "
     "smtp.mailfrom=x@y.com;\r\n       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com",
     "mx.google.com", 0, 3, 0,
     {{"dkim", 0, "pass", NULL, NULL, 3,
       {{"header", "i", "@example.com"}, {"header", "s", "20161025"}, {"header", "b", "aB+/c="}}},
      {"spf", 0, "pass", NULL, "google.com: domain of x@y.com designates 1.2.3.4 as permitted sender", 1,
       {{"smtp", "mailfrom", "x@y.com"}}},
      {"dmarc", 0, "pass", NULL, "p=NONE sp=NONE dis=NONE", 1, {{"header", "from", "example.com"}}}}},
    /* case folding of keywords, values keep their case; method version */
    {"Example.COM; SPF=Pass Smtp.MailFrom=User@Example.org; DKIM/1=Neutral", "Example.COM", 0, 2, 0,
     {{"spf", 0, "pass", NULL, NULL, 1, {{"smtp", "mailfrom", "User@Example.org"}}},
      {"dkim", 1, "neutral", NULL, NULL, 0, {{0}}}}},
    /* quoted authserv-id and values, reason, comments in odd places */
    {"\"weird id\" (c); dmarc (x) = (y) fail (z) reason = \"p=reject; \\\"x\\\"\" header . from = "
     "\"a b\"",
     "weird id", 0, 1, 0,
     {{"dmarc", 0, "fail", "p=reject; \"x\"", "z", 1, {{"header", "from", "a b"}}}}},
    {"example.com; iprev=pass policy.iprev=192.0.2.200; x-unknown=foo x.y=z", "example.com", 0, 2, 0,
     {{"iprev", 0, "pass", NULL, NULL, 1, {{"policy", "iprev", "192.0.2.200"}}},
      {"x-unknown", 0, "foo", NULL, NULL, 1, {{"x", "y", "z"}}}}},
    /* garbage is skipped and counted */
    {"example.com; spf pass; =; dkim=; ;; dmarc=pass garbage header.from=x.org more=junk \"q\" ;",
     "example.com", 0, 1, -1,
     {{"dmarc", 0, "pass", NULL, NULL, 1, {{"header", "from", "x.org"}}}}},
    {"example.com 123456789012; spf=pass reason=a reason=b (unterminated", "example.com", 0, 1, -1,
     {{"spf", 0, "pass", "a", "unterminated", 0, {{0}}}}},
    {"id; none; spf=pass", "id", 0, 1, 0, {{"spf", 0, "pass", NULL, NULL, 0, {{0}}}}},
    {"id; none=pass", "id", 0, 1, 0, {{"none", 0, "pass", NULL, NULL, 0, {{0}}}}},
    {"id; spf/=pass; dkim/x=pass; arc=pass smtp.remote-ip=\"unterminated", "id", 0, 1, -1,
     {{"arc", 0, "pass", NULL, NULL, 1, {{"smtp", "remote-ip", "unterminated"}}}}},
    {"id; spf=pass smtp.mailfrom=caf\xc3\xa9@example.org smtp.helo=\"\x01\xff\"", "id", 0, 1, 0,
     {{"spf", 0, "pass", NULL, NULL, 2,
       {{"smtp", "mailfrom", "caf\xc3\xa9@example.org"}, {"smtp", "helo", "??"}}}}},
};

static void check_case(const struct parse_case *c, const mox_authres *ar)
{
    assert_string_equal(mox_authres_authserv_id(ar), c->id);
    assert_int_equal(mox_authres_version(ar), c->version);
    if (mox_authres_count(ar) != c->nresults)
        fail_msg("[%s]: %zu results, want %zu", c->in, mox_authres_count(ar), c->nresults);
    if (c->defects >= 0)
        assert_int_equal(mox_authres_defects(ar), (size_t)c->defects);
    else
        assert_true(mox_authres_defects(ar) > 0);
    for (size_t i = 0; i < c->nresults; i++) {
        const mox_authres_result *r = mox_authres_get(ar, i);
        const struct expect_result *e = &c->r[i];
        assert_string_equal(r->method, e->method);
        assert_int_equal(r->version, e->version);
        assert_string_equal(r->result, e->result);
        if (e->reason)
            assert_string_equal(r->reason, e->reason);
        else
            assert_null(r->reason);
        if (e->comment)
            assert_string_equal(r->comment, e->comment);
        else
            assert_null(r->comment);
        assert_int_equal(r->nprops, e->nprops);
        for (size_t k = 0; k < e->nprops; k++) {
            assert_string_equal(r->props[k].ptype, e->props[k].ptype);
            assert_string_equal(r->props[k].property, e->props[k].property);
            assert_string_equal(r->props[k].value, e->props[k].value);
        }
    }
}

static void test_parse(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        mox_authres *ar = NULL;
        mox_errinfo ei;
        if (mox_authres_parse(cases[k].in, strlen(cases[k].in), &ar, &ei))
            fail_msg("[%s]: %s", cases[k].in, ei.msg);
        check_case(&cases[k], ar);
        /* compose -> parse gives the same model */
        mox_buf b = MOX_BUF_INIT;
        assert_int_equal(mox_authres_compose(ar, &b), MOX_OK);
        check_wire(&b, 0);
        mox_authres *back = reparse(&b);
        if (!mox_authres_equal(ar, back))
            fail_msg("round trip of [%s] via [%s] differs", cases[k].in, (char *)b.data);
        assert_int_equal(mox_authres_defects(back), 0);
        mox_authres_free(back);
        mox_authres_free(ar);
        mox_buf_free(&b);
    }
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "   ", "; spf=pass", " (comment) \r\n ;", "(unterminated"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        mox_authres *ar = (mox_authres *)&ar;
        mox_errinfo ei;
        assert_int_equal(mox_authres_parse(bad[k], strlen(bad[k]), &ar, &ei), MOX_ERR_SYNTAX);
        assert_int_equal(ei.detail, MOX_AUTHRES_ERR_NO_ID);
        assert_null(ar);
    }
    mox_authres *ar;
    assert_int_equal(mox_authres_parse(NULL, 1, &ar, NULL), MOX_ERR_INVAL);

    /* Random garbage from the header alphabet never crashes (ASan/UBSan
     * builds check the bounds) and always round-trips. */
    static const char alpha[] = "a=.;()\"\\ \r\n/1@x\xc3\xa9\x01-";
    uint32_t seed = 99;
    char buf[80];
    for (int it = 0; it < 20000; it++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 16) % sizeof buf;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = alpha[(seed >> 16) % (sizeof alpha - 1)];
        }
        /* exact-size heap copy so ASan sees any overread */
        char *in = malloc(len ? len : 1);
        memcpy(in, buf, len);
        int rc = mox_authres_parse(in, len, &ar, NULL);
        free(in);
        if (rc == MOX_ERR_SYNTAX)
            continue;
        assert_int_equal(rc, MOX_OK);
        mox_buf b = MOX_BUF_INIT;
        assert_int_equal(mox_authres_compose(ar, &b), MOX_OK);
        check_wire(&b, 0);
        mox_authres *back = reparse(&b);
        if (!mox_authres_equal(ar, back))
            fail_msg("round trip of [%.*s] via [%s] differs", (int)len, buf, (char *)b.data);
        mox_authres_free(back);
        mox_authres_free(ar);
        mox_buf_free(&b);
    }
}

static int sweep_parse_compose(void *arg)
{
    (void)arg;
    const char *in = cases[5].in;
    mox_authres *ar = NULL;
    int rc = mox_authres_parse(in, strlen(in), &ar, NULL);
    if (rc)
        return rc;
    mox_buf b = MOX_BUF_INIT;
    rc = mox_authres_compose(ar, &b);
    if (rc == MOX_ERR_NOMEM && b.len != 0)
        rc = MOX_ERR_STATE; /* must restore the buffer */
    mox_buf_free(&b);
    mox_authres_free(ar);
    return rc;
}

static int sweep_build(void *arg)
{
    (void)arg;
    mox_authres *ar = NULL;
    size_t i;
    int rc = mox_authres_new(&ar, S("x; y"));
    if (!rc)
        rc = mox_authres_add(ar, "spf", "pass", &i);
    if (!rc)
        rc = mox_authres_set_reason(ar, i, S("r"));
    if (!rc)
        rc = mox_authres_set_comment(ar, i, S("c"));
    if (!rc)
        rc = mox_authres_add_prop(ar, i, "smtp", "mailfrom", S("a@b"));
    if (!rc)
        rc = mox_authres_add_prop(ar, i, "smtp", "helo", S("h"));
    mox_authres_free(ar);
    return rc;
}

static void test_alloc_sweep(void **state)
{
    (void)state;
    assert_true(moxtest_alloc_sweep(sweep_parse_compose, NULL, "authres parse+compose") > 10);
    assert_true(moxtest_alloc_sweep(sweep_build, NULL, "authres build") > 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compose),
        cmocka_unit_test(test_setters),
        cmocka_unit_test(test_injection),
        cmocka_unit_test(test_folding),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_alloc_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
