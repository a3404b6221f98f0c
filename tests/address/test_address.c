/* Tests of the address module: RFC 5321 paths, RFC 5322 address lists.
 * Vectors marked with an RFC section come from that RFC's text or
 * appendix examples. */
#include <stdio.h>
#include <string.h>

#include "moxtest.h"
#include "mox/address.h"

#define R MOX_PATH_REVERSE
#define U MOX_PATH_SMTPUTF8
#define NB MOX_PATH_NO_BRACKETS

/* ------------------------------------------------------------------ paths */

/* Parses, checks the fields, then formats and parses the result again. */
static void path_ok(const char *in, unsigned flags, const char *lp, const char *dom,
                    const char *lit, const char *formatted)
{
    mox_path p;
    mox_errinfo ei;
    int rc = mox_path_parse(in, strlen(in), flags, &p, &ei);
    if (rc != MOX_OK)
        fail_msg("path %s refused: %s (detail %d)", in, ei.msg, ei.detail);
    if (!lp) {
        assert_true(p.is_null);
        assert_null(p.mailbox.localpart);
    } else {
        assert_false(p.is_null);
        assert_string_equal(p.mailbox.localpart, lp);
    }
    if (dom)
        assert_string_equal(p.mailbox.domain.ascii, dom);
    else
        assert_null(p.mailbox.domain.ascii);
    if (lit)
        assert_string_equal(p.mailbox.literal, lit);
    else
        assert_null(p.mailbox.literal);
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_path_format(&p, (flags & U) != 0, &b), MOX_OK);
    if (formatted)
        assert_string_equal((char *)b.data, formatted);
    mox_path q;
    rc = mox_path_parse((char *)b.data, b.len, flags & ~NB, &q, &ei);
    if (rc != MOX_OK)
        fail_msg("formatted path %s refused: %s", (char *)b.data, ei.msg);
    assert_int_equal(q.is_null, p.is_null);
    assert_int_equal(q.is_postmaster, p.is_postmaster);
    if (lp)
        assert_string_equal(q.mailbox.localpart, p.mailbox.localpart);
    mox_path_clear(&q);
    mox_buf_free(&b);
    mox_path_clear(&p);
    assert_null(p.mailbox.localpart);
}

static void path_bad(const char *in, size_t len, unsigned flags, int detail, size_t off)
{
    mox_path p;
    mox_errinfo ei;
    memset(&p, 0x55, sizeof p);
    int rc = mox_path_parse(in, len, flags, &p, &ei);
    if (rc != MOX_ERR_SYNTAX || ei.detail != detail)
        fail_msg("path \"%.*s\" flags %u: got %d detail %d (%s), want detail %d", (int)len, in, flags,
                 rc, ei.detail, rc ? ei.msg : "accepted", detail);
    if (off != (size_t)-2 && ei.offset != off)
        fail_msg("path \"%.*s\": offset %zu, want %zu", (int)len, in, ei.offset, off);
    assert_null(p.mailbox.localpart);
    assert_null(p.mailbox.domain.ascii);
    assert_null(p.mailbox.literal);
    assert_false(p.is_null);
}

#define PBAD(s, fl, det, off) path_bad(s, strlen(s), fl, det, off)
#define ANY ((size_t)-2)

static void test_path_good(void **state)
{
    (void)state;
    path_ok("<a@example.org>", 0, "a", "example.org", NULL, "<a@example.org>");
    path_ok("<A.B+c@Example.ORG>", 0, "A.B+c", "example.org", NULL, "<A.B+c@example.org>");
    path_ok("<!#$%&'*+-/=?^_`{|}~@x.example>", 0, "!#$%&'*+-/=?^_`{|}~", "x.example", NULL, NULL);
    path_ok("<>", R, NULL, NULL, NULL, "<>");
    path_ok("<>", R | U, NULL, NULL, NULL, "<>");
    path_ok("<postmaster@example.org>", 0, "postmaster", "example.org", NULL, NULL);
    path_ok("<\"a b\"@example.org>", 0, "a b", "example.org", NULL, "<\"a b\"@example.org>");
    path_ok("<\"a\\\"b\\\\c\"@x.example>", 0, "a\"b\\c", "x.example", NULL,
            "<\"a\\\"b\\\\c\"@x.example>");
    path_ok("<\"\\a\"@x.example>", 0, "a", "x.example", NULL, "<a@x.example>");
    path_ok("<\"\"@x.example>", 0, "", "x.example", NULL, "<\"\"@x.example>");
    path_ok("<\"a.b\"@x.example>", 0, "a.b", "x.example", NULL, "<a.b@x.example>");
    path_ok("<\"a..b\"@x.example>", 0, "a..b", "x.example", NULL, "<\"a..b\"@x.example>");
    path_ok("<\"@\"@x.example>", 0, "@", "x.example", NULL, "<\"@\"@x.example>");
    /* Source routes are accepted and dropped (RFC 5321 §4.1.1.3). */
    path_ok("<@a.example,@b.example:c@d.example>", 0, "c", "d.example", NULL, "<c@d.example>");
    path_ok("<@a.example:c@d.example>", R, "c", "d.example", NULL, NULL);
    /* Address literals (RFC 5321 §4.1.3). */
    path_ok("<a@[192.0.2.1]>", 0, "a", NULL, "192.0.2.1", "<a@[192.0.2.1]>");
    path_ok("<a@[255.255.255.255]>", 0, "a", NULL, "255.255.255.255", NULL);
    path_ok("<a@[0.0.0.0]>", 0, "a", NULL, "0.0.0.0", NULL);
    path_ok("<a@[IPv6:2001:db8::1]>", 0, "a", NULL, "IPv6:2001:db8::1", NULL);
    path_ok("<a@[ipv6:::1]>", 0, "a", NULL, "IPv6:::1", "<a@[IPv6:::1]>");
    path_ok("<a@[IPv6:::ffff:192.0.2.1]>", 0, "a", NULL, "IPv6:::ffff:192.0.2.1", NULL);
    path_ok("<a@[IPv6:1:2:3:4:5:6:7:8]>", 0, "a", NULL, "IPv6:1:2:3:4:5:6:7:8", NULL);
    /* SMTPUTF8 (RFC 6531): NFC local parts, U-label domains. */
    path_ok("<j\xc3\xb6ran@ex\xc3\xa4mple.org>", U, "j\xc3\xb6ran", "xn--exmple-cua.org", NULL,
            "<j\xc3\xb6ran@ex\xc3\xa4mple.org>");
    path_ok("<jo\xcc\x88ran@x.example>", U, "j\xc3\xb6ran", "x.example", NULL, NULL);
    path_ok("<\"j\xc3\xb6 ran\"@x.example>", U, "j\xc3\xb6 ran", "x.example", NULL, NULL);
    path_ok("<a@xn--exmple-cua.org>", 0, "a", "xn--exmple-cua.org", NULL, NULL);
    /* Bare mailboxes with the lenient flag. */
    path_ok("a@x.example", NB, "a", "x.example", NULL, "<a@x.example>");
    path_ok("<a@x.example>", NB, "a", "x.example", NULL, NULL);

    /* Postmaster without a domain, any case, only as a forward path. */
    static const char *const pm[] = {"<postmaster>", "<Postmaster>", "<POSTMASTER>", "<pOsTmAsTeR>"};
    for (size_t i = 0; i < 4; i++) {
        mox_path p;
        assert_int_equal(mox_path_parse(pm[i], strlen(pm[i]), 0, &p, NULL), MOX_OK);
        assert_true(p.is_postmaster);
        assert_string_equal(p.mailbox.localpart, "postmaster");
        assert_null(p.mailbox.domain.ascii);
        mox_buf b = MOX_BUF_INIT;
        assert_int_equal(mox_path_format(&p, 0, &b), MOX_OK);
        assert_string_equal((char *)b.data, "<postmaster>");
        mox_buf_free(&b);
        mox_path_clear(&p);
    }

    /* Lengths: local part 64, path 256. */
    char buf[400];
    memset(buf, 0, sizeof buf);
    buf[0] = '<';
    memset(buf + 1, 'l', 64);
    strcpy(buf + 65, "@x.example>");
    mox_path p;
    assert_int_equal(mox_path_parse(buf, strlen(buf), 0, &p, NULL), MOX_OK);
    mox_path_clear(&p);
    /* <64 @ 63.63.61> = 1 + 64 + 1 + 189 + 1 = 256 */
    size_t n = 66;
    for (int l = 0; l < 3; l++) {
        size_t k = l < 2 ? 63 : 61;
        memset(buf + n, 'd', k);
        n += k;
        buf[n++] = l < 2 ? '.' : '>';
    }
    buf[n] = 0;
    assert_int_equal(strlen(buf), 256);
    mox_errinfo ei;
    if (mox_path_parse(buf, n, 0, &p, &ei) != MOX_OK)
        fail_msg("256-octet path refused: %s", ei.msg);
    mox_path_clear(&p);
    buf[n - 1] = 'd';
    buf[n] = '>';
    buf[n + 1] = 0;
    PBAD(buf, 0, MOX_ADDR_ERR_TOO_LONG, 0);

    /* Prefix parsing, for MAIL FROM:<...> SIZE=... */
    size_t used = 0;
    const char *mail = "<a@x.example> SIZE=1000 BODY=8BITMIME";
    assert_int_equal(mox_path_parse_prefix(mail, strlen(mail), R, &p, &used, NULL), MOX_OK);
    assert_int_equal(used, 13);
    mox_path_clear(&p);
    assert_int_equal(mox_path_parse_prefix("<> SIZE=1", 9, R, &p, &used, NULL), MOX_OK);
    assert_int_equal(used, 2);
    assert_true(p.is_null);
    assert_int_equal(mox_path_parse_prefix("<a@x.example", 12, R, &p, &used, &ei), MOX_ERR_SYNTAX);
    assert_int_equal(ei.detail, MOX_ADDR_ERR_BRACKETS);
}

static void test_path_bad(void **state)
{
    (void)state;
    PBAD("", 0, MOX_ADDR_ERR_EMPTY, 0);
    PBAD("a@x.example", 0, MOX_ADDR_ERR_BRACKETS, 0);
    PBAD("<a@x.example", 0, MOX_ADDR_ERR_BRACKETS, 12);
    PBAD("<", 0, MOX_ADDR_ERR_NO_AT, 1);
    PBAD("<>", 0, MOX_ADDR_ERR_NULL_PATH, 0);
    PBAD("<>", NB, MOX_ADDR_ERR_NULL_PATH, 0);
    PBAD("<a>", 0, MOX_ADDR_ERR_NO_AT, 2);
    PBAD("<postmaster>", R, MOX_ADDR_ERR_NO_AT, 11);
    PBAD("<\"postmaster\">", 0, MOX_ADDR_ERR_NO_AT, 13);
    PBAD("postmaster", NB, MOX_ADDR_ERR_NO_AT, 10);
    PBAD("<.a@x.example>", 0, MOX_ADDR_ERR_LOCALPART_DOTS, 1);
    PBAD("<a..b@x.example>", 0, MOX_ADDR_ERR_LOCALPART_DOTS, 3);
    PBAD("<a.@x.example>", 0, MOX_ADDR_ERR_LOCALPART_DOTS, 2);
    PBAD("<a b@x.example>", 0, MOX_ADDR_ERR_LOCALPART, 2);
    PBAD("<a(b)@x.example>", 0, MOX_ADDR_ERR_LOCALPART, 2);
    PBAD("<a,b@x.example>", 0, MOX_ADDR_ERR_LOCALPART, 2);
    PBAD("<a\"b\"@x.example>", 0, MOX_ADDR_ERR_LOCALPART, 2);
    PBAD("<@x.example>", 0, MOX_ADDR_ERR_SOURCE_ROUTE, 11);
    PBAD("<a\x01" "b@x.example>", 0, MOX_ADDR_ERR_CONTROL, 2);
    PBAD("<\"a\x7f\"@x.example>", 0, MOX_ADDR_ERR_CONTROL, 3);
    PBAD("<\"a\\\x01\"@x.example>", 0, MOX_ADDR_ERR_CONTROL, 4);
    path_bad("<a\0@x.example>", 14, 0, MOX_ADDR_ERR_CONTROL, 2);
    PBAD("<\"ab@x.example>", 0, MOX_ADDR_ERR_QUOTED, 1);
    PBAD("<\"ab\\", 0, MOX_ADDR_ERR_QUOTED, 4);
    PBAD("<\"a\\\xc3\xa9\"@x.example>", U, MOX_ADDR_ERR_QUOTED, 3);
    PBAD("<\"a\"b@x.example>", 0, MOX_ADDR_ERR_NO_AT, 4);
    PBAD("<a@>", 0, MOX_ADDR_ERR_DOMAIN, 3);
    PBAD("<a@x..example>", 0, MOX_ADDR_ERR_DOMAIN, 5);
    PBAD("<a@-x.example>", 0, MOX_ADDR_ERR_DOMAIN, 3);
    PBAD("<a@x.example.>", 0, MOX_ADDR_ERR_DOMAIN, ANY);
    PBAD("<a@x_y.example>", 0, MOX_ADDR_ERR_DOMAIN, 4);
    PBAD("<a@192.0.2.1>", 0, MOX_ADDR_ERR_DOMAIN, 3);
    PBAD("<a@x.example x>", 0, MOX_ADDR_ERR_DOMAIN, ANY);
    PBAD("<a@xn--ls8h.example>", 0, MOX_ADDR_ERR_DOMAIN, 3);
    PBAD("<a@[1.2.3]>", 0, MOX_ADDR_ERR_LITERAL, 4);
    PBAD("<a@[256.1.1.1]>", 0, MOX_ADDR_ERR_LITERAL, 4);
    PBAD("<a@[01.2.3.4]>", 0, MOX_ADDR_ERR_LITERAL, 4);
    PBAD("<a@[1.2.3.4.5]>", 0, MOX_ADDR_ERR_LITERAL, 4);
    PBAD("<a@[ 1.2.3.4]>", 0, MOX_ADDR_ERR_LITERAL, 4);
    PBAD("<a@[IPv6:1:2]>", 0, MOX_ADDR_ERR_LITERAL, 9);
    PBAD("<a@[IPv6:1::2::3]>", 0, MOX_ADDR_ERR_LITERAL, 9);
    PBAD("<a@[IPv6:192.0.2.1]>", 0, MOX_ADDR_ERR_LITERAL, 9);
    PBAD("<a@[2001:db8::1]>", 0, MOX_ADDR_ERR_LITERAL, 4);
    PBAD("<a@[x-tag:stuff]>", 0, MOX_ADDR_ERR_LITERAL, 4);
    PBAD("<a@[1.2.3.4>", 0, MOX_ADDR_ERR_LITERAL, 3);
    PBAD("<a@[]>", 0, MOX_ADDR_ERR_LITERAL, 4);
    PBAD("<@a.example:>", 0, MOX_ADDR_ERR_NO_AT, 12);
    PBAD("<@a..b:c@d.example>", 0, MOX_ADDR_ERR_SOURCE_ROUTE, ANY);
    PBAD("<@a.example c@d.example>", 0, MOX_ADDR_ERR_SOURCE_ROUTE, ANY);
    PBAD("<@a.example>", 0, MOX_ADDR_ERR_SOURCE_ROUTE, 11);
    PBAD("<@a.example,b.example:c@d.example>", 0, MOX_ADDR_ERR_SOURCE_ROUTE, 12);
    PBAD("<@:c@d.example>", 0, MOX_ADDR_ERR_SOURCE_ROUTE, 2);
    PBAD("<j\xc3\xb6ran@x.example>", 0, MOX_ADDR_ERR_UTF8, 2);
    PBAD("<a@ex\xc3\xa4mple.org>", 0, MOX_ADDR_ERR_UTF8, 3);
    PBAD("<\"\xc3\xa9\"@x.example>", 0, MOX_ADDR_ERR_UTF8, 2);
    PBAD("<\xff@x.example>", U, MOX_ADDR_ERR_UTF8, 1);
    PBAD("<a\xc3@x.example>", U, MOX_ADDR_ERR_UTF8, 2);
    PBAD("<\xed\xa0\x80@x.example>", U, MOX_ADDR_ERR_UTF8, 1);
    PBAD("<a\xc2\x85@x.example>", U, MOX_ADDR_ERR_CONTROL, 1);
    PBAD("<a@x.example>x", 0, MOX_ADDR_ERR_TRAILING, 13);
    PBAD("<a@x.example> ", 0, MOX_ADDR_ERR_TRAILING, 13);
    PBAD("<>x", R, MOX_ADDR_ERR_TRAILING, 2);
    PBAD("<a@[1.2.3.4]x>", 0, MOX_ADDR_ERR_TRAILING, 12);
    PBAD("a@x.example>", NB, MOX_ADDR_ERR_DOMAIN, ANY);
    char buf[100];
    buf[0] = '<';
    memset(buf + 1, 'l', 65);
    strcpy(buf + 66, "@x.example>");
    PBAD(buf, 0, MOX_ADDR_ERR_LOCALPART_TOO_LONG, 1);
    buf[0] = '<';
    buf[1] = '"';
    memset(buf + 2, 'l', 63);
    strcpy(buf + 65, "\"@x.example>"); /* 65 octets with the quotes */
    PBAD(buf, 0, MOX_ADDR_ERR_LOCALPART_TOO_LONG, 1);

    mox_path p;
    assert_int_equal(mox_path_parse(NULL, 1, 0, &p, NULL), MOX_ERR_INVAL);
    assert_int_equal(mox_path_parse("<>", 2, R, NULL, NULL), MOX_ERR_INVAL);
}

static void test_mailbox(void **state)
{
    (void)state;
    mox_mailbox m, c;
    mox_errinfo ei;
    assert_int_equal(mox_mailbox_parse("Joe.Q@X.Example", 15, 0, &m, NULL), MOX_OK);
    assert_string_equal(m.localpart, "Joe.Q");
    assert_string_equal(m.domain.ascii, "x.example");
    assert_int_equal(mox_mailbox_copy(&c, &m), MOX_OK);
    assert_string_equal(c.localpart, "Joe.Q");
    assert_string_equal(c.domain.unicode, "x.example");
    mox_mailbox_clear(&c);
    mox_mailbox_clear(&m);
    assert_int_equal(mox_mailbox_parse("<a@x.example>", 13, 0, &m, &ei), MOX_ERR_SYNTAX);
    assert_int_equal(ei.detail, MOX_ADDR_ERR_LOCALPART);
    assert_int_equal(mox_mailbox_parse("postmaster", 10, 0, &m, &ei), MOX_ERR_SYNTAX);
    assert_int_equal(ei.detail, MOX_ADDR_ERR_NO_AT);
    assert_int_equal(mox_mailbox_parse("", 0, 0, &m, &ei), MOX_ERR_SYNTAX);
    assert_int_equal(ei.detail, MOX_ADDR_ERR_EMPTY);
    assert_int_equal(mox_mailbox_parse("\xc3\xa9@x.example", 12, U, &m, NULL), MOX_OK);
    assert_int_equal(mox_mailbox_copy(&c, &m), MOX_OK);
    mox_mailbox_clear(&m);
    assert_string_equal(c.localpart, "\xc3\xa9");
    mox_mailbox_clear(&c);
    assert_int_equal(mox_mailbox_parse("a@[192.0.2.1]", 13, 0, &m, NULL), MOX_OK);
    assert_string_equal(m.literal, "192.0.2.1");
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_mailbox_format(&m, 0, &b), MOX_OK);
    assert_string_equal((char *)b.data, "a@[192.0.2.1]");
    mox_mailbox_clear(&m);
    char big[300];
    memset(big, 'a', sizeof big);
    assert_int_equal(mox_mailbox_parse(big, sizeof big, 0, &m, &ei), MOX_ERR_SYNTAX);
    assert_int_equal(ei.detail, MOX_ADDR_ERR_TOO_LONG);
    /* Formatting in both domain forms; quoting only where needed. */
    mox_buf_reset(&b);
    const char *xy = "\"x y\"@b\xc3\xbc" "cher.example";
    assert_int_equal(mox_mailbox_parse(xy, strlen(xy), U, &m, NULL), MOX_OK);
    assert_int_equal(mox_mailbox_format(&m, 0, &b), MOX_OK);
    assert_string_equal((char *)b.data, "\"x y\"@xn--bcher-kva.example");
    mox_buf_reset(&b);
    assert_int_equal(mox_mailbox_format(&m, 1, &b), MOX_OK);
    assert_string_equal((char *)b.data, "\"x y\"@b\xc3\xbc" "cher.example");
    mox_mailbox_clear(&m);
    mox_mailbox empty = {0};
    assert_int_equal(mox_mailbox_format(&empty, 0, &b), MOX_ERR_INVAL);
    mox_buf_free(&b);
    mox_mailbox_clear(NULL);
    mox_path_clear(NULL);
}

/* ------------------------------------------------------------------ lists */

struct want {
    const char *name, *lp, *dom, *group;
};

static void list_ok(const char *in, unsigned flags, size_t ngroups, const struct want *w, size_t n)
{
    mox_address_list l;
    mox_errinfo ei;
    int rc = mox_address_list_parse(in, strlen(in), flags, &l, &ei);
    if (rc != MOX_OK)
        fail_msg("list \"%s\" refused: %s (detail %d, offset %zu)", in, ei.msg, ei.detail, ei.offset);
    if (l.count != n)
        fail_msg("list \"%s\": %zu addresses, want %zu", in, l.count, n);
    assert_int_equal(l.ngroups, ngroups);
    mox_buf b = MOX_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        const mox_address *a = &l.addr[i];
        if (w[i].name == NULL)
            assert_null(a->display_name);
        else if (!a->display_name || strcmp(a->display_name, w[i].name) != 0)
            fail_msg("list \"%s\" #%zu: name [%s], want [%s]", in, i,
                     a->display_name ? a->display_name : "(null)", w[i].name);
        assert_string_equal(a->mailbox.localpart, w[i].lp);
        if (w[i].dom[0] == '[')
            assert_memory_equal(a->mailbox.literal, w[i].dom + 1, strlen(w[i].dom) - 2);
        else
            assert_string_equal(a->mailbox.domain.ascii, w[i].dom);
        if (w[i].group == NULL)
            assert_null(a->group);
        else
            assert_string_equal(a->group, w[i].group);
        if (i)
            assert_int_equal(mox_buf_append_str(&b, ", "), MOX_OK);
        assert_int_equal(mox_address_format(a, 1, &b), MOX_OK);
    }
    /* Formatting the addresses and parsing them again gives the same. */
    if (n) {
        mox_address_list m;
        rc = mox_address_list_parse((char *)b.data, b.len, MOX_ADDRLIST_UTF8, &m, &ei);
        if (rc != MOX_OK)
            fail_msg("formatted list \"%s\" refused: %s", (char *)b.data, ei.msg);
        assert_int_equal(m.count, n);
        for (size_t i = 0; i < n; i++) {
            if (l.addr[i].display_name)
                assert_string_equal(m.addr[i].display_name, l.addr[i].display_name);
            else
                assert_null(m.addr[i].display_name);
            assert_string_equal(m.addr[i].mailbox.localpart, l.addr[i].mailbox.localpart);
        }
        mox_address_list_clear(&m);
    }
    mox_buf_free(&b);
    mox_address_list_clear(&l);
    assert_null(l.addr);
    assert_int_equal(l.count, 0);
}

#define LIST(in, fl, ng, ...)                                                   \
    do {                                                                        \
        static const struct want w_[] = {__VA_ARGS__};                          \
        list_ok(in, fl, ng, w_, sizeof w_ / sizeof w_[0]);                      \
    } while (0)

static void list_bad(const char *in, size_t len, unsigned flags, int detail, size_t off)
{
    mox_address_list l;
    mox_errinfo ei;
    memset(&l, 0x55, sizeof l);
    int rc = mox_address_list_parse(in, len, flags, &l, &ei);
    if (rc != MOX_ERR_SYNTAX || ei.detail != detail)
        fail_msg("list \"%.*s\": got %d detail %d (%s), want detail %d", (int)len, in, rc, ei.detail,
                 rc ? ei.msg : "accepted", detail);
    if (off != ANY && ei.offset != off)
        fail_msg("list \"%.*s\": offset %zu, want %zu (%s)", (int)len, in, ei.offset, off, ei.msg);
    assert_int_equal(l.count, 0);
    assert_null(l.addr);
}

#define LBAD(s, fl, det, off) list_bad(s, strlen(s), fl, det, off)

static void test_list_good(void **state)
{
    (void)state;
    LIST("a@example.org", 0, 0, {NULL, "a", "example.org", NULL});
    LIST("John Doe <jdoe@Example.org>", 0, 0, {"John Doe", "jdoe", "example.org", NULL});
    LIST("<jdoe@example.org>", 0, 0, {NULL, "jdoe", "example.org", NULL});
    LIST("\"Doe, John\" <jdoe@example.org>", 0, 0, {"Doe, John", "jdoe", "example.org", NULL});
    LIST("\"\" <jdoe@example.org>", 0, 0, {NULL, "jdoe", "example.org", NULL});
    LIST("a@x.example, b@y.example", 0, 0, {NULL, "a", "x.example", NULL},
         {NULL, "b", "y.example", NULL});
    /* RFC 5322 Appendix A.1.2 */
    LIST("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>", 0, 0,
         {"Mary Smith", "mary", "x.test", NULL}, {NULL, "jdoe", "example.org", NULL},
         {"Who?", "one", "y.test", NULL});
    LIST("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>", 0, 0,
         {NULL, "boss", "nil.test", NULL},
         {"Giant; \"Big\" Box", "sysservices", "example.net", NULL});
    /* RFC 5322 Appendix A.1.3: groups. */
    LIST("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;", 0, 1,
         {"Ed Jones", "c", "a.test", "A Group"}, {NULL, "joe", "where.test", "A Group"},
         {"John", "jdoe", "one.test", "A Group"});
    {
        mox_address_list l;
        assert_int_equal(mox_address_list_parse("Undisclosed recipients:;", 24, 0, &l, NULL), MOX_OK);
        assert_int_equal(l.count, 0);
        assert_int_equal(l.ngroups, 1);
        mox_address_list_clear(&l);
        /* RFC 5322 Appendix A.5 */
        const char *s = "(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;";
        assert_int_equal(mox_address_list_parse(s, strlen(s), 0, &l, NULL), MOX_OK);
        assert_int_equal(l.count, 0);
        assert_int_equal(l.ngroups, 1);
        mox_address_list_clear(&l);
        s = "g1:;, a@x.example, g2: , ,;";
        assert_int_equal(mox_address_list_parse(s, strlen(s), 0, &l, NULL), MOX_OK);
        assert_int_equal(l.count, 1);
        assert_int_equal(l.ngroups, 2);
        mox_address_list_clear(&l);
    }
    /* RFC 5322 Appendix A.5: white space, comments. */
    LIST("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", 0, 0,
         {"Pete", "pete", "silly.test", NULL});
    LIST("A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
         "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
         0, 1, {"Chris Jones", "c", "public.example", "A Group"},
         {NULL, "joe", "example.org", "A Group"}, {"John", "jdoe", "one.test", "A Group"});
    /* RFC 5322 Appendix A.6: obsolete forms. */
    LIST("Joe Q. Public <john.q.public@example.com>", 0, 0,
         {"Joe Q. Public", "john.q.public", "example.com", NULL});
    LIST("Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example", 0, 0,
         {"Mary Smith", "mary", "example.net", NULL}, {NULL, "jdoe", "test.example", NULL});
    LIST("John Doe <jdoe@machine(comment).  example>", 0, 0,
         {"John Doe", "jdoe", "machine.example", NULL});
    LIST("Mary Smith\r\n  \r\n <mary@example.net>", 0, 0, {"Mary Smith", "mary", "example.net", NULL});
    LIST("Mary Smith\n <mary@example.net>", 0, 0, {"Mary Smith", "mary", "example.net", NULL});
    LIST("<@a.test,,@b.test:x@c.test>", 0, 0, {NULL, "x", "c.test", NULL});
    LIST("a . b @ x . example", 0, 0, {NULL, "a.b", "x.example", NULL});
    LIST("\"a b\".c@x.example", 0, 0, {NULL, "a b.c", "x.example", NULL});
    LIST("\"a\".\"b\"@x.example", 0, 0, {NULL, "a.b", "x.example", NULL});
    LIST(",, a@x.example ,, b@y.example,", 0, 0, {NULL, "a", "x.example", NULL},
         {NULL, "b", "y.example", NULL});
    /* Display names: words joined by one space, comments dropped. */
    LIST("  John   (middle)  Doe  <j@x.example>", 0, 0, {"John Doe", "j", "x.example", NULL});
    LIST("\"John\"Doe <j@x.example>", 0, 0, {"JohnDoe", "j", "x.example", NULL});
    LIST("\"  spaced  \" <j@x.example>", 0, 0, {"  spaced  ", "j", "x.example", NULL});
    LIST("\"tab\there\" <j@x.example>", 0, 0, {"tab\there", "j", "x.example", NULL});
    LIST("\"fol\r\n ded\" <j@x.example>", 0, 0, {"fol ded", "j", "x.example", NULL});
    LIST("=?utf-8?q?J=C3=B6ran?= <j@x.example>", 0, 0, {"=?utf-8?q?J=C3=B6ran?=", "j", "x.example", NULL});
    /* A trailing comment names an addr-spec. */
    LIST("j@x.example (John Doe)", 0, 0, {"John Doe", "j", "x.example", NULL});
    LIST("j@x.example ( John (Jr.) \\\"D\\\" )", 0, 0, {"John (Jr.) \"D\"", "j", "x.example", NULL});
    LIST("j@x.example ()", 0, 0, {NULL, "j", "x.example", NULL});
    /* Literals. */
    LIST("a@[192.0.2.1]", 0, 0, {NULL, "a", "[192.0.2.1]", NULL});
    LIST("a@[ IPv6:::1 ]", 0, 0, {NULL, "a", "[IPv6:::1]", NULL});
    /* RFC 6532 UTF-8. */
    LIST("J\xc3\xb6ran <j\xc3\xb6ran@b\xc3\xbc" "cher.example>", MOX_ADDRLIST_UTF8, 0,
         {"J\xc3\xb6ran", "j\xc3\xb6ran", "xn--bcher-kva.example", NULL});
    LIST("\"J\xc3\xb6 R\" <jo\xcc\x88@x.example>", MOX_ADDRLIST_UTF8, 0,
         {"J\xc3\xb6 R", "j\xc3\xb6", "x.example", NULL});
    LIST("\xc3\xa9@x.example (\xc3\xa9t\xc3\xa9)", MOX_ADDRLIST_UTF8, 0,
         {"\xc3\xa9t\xc3\xa9", "\xc3\xa9", "x.example", NULL});
}

static void test_list_bad(void **state)
{
    (void)state;
    LBAD("", 0, MOX_ADDR_ERR_EMPTY, 0);
    LBAD("   ", 0, MOX_ADDR_ERR_EMPTY, 3);
    LBAD(" , ,", 0, MOX_ADDR_ERR_EMPTY, 4);
    LBAD("(just a comment)", 0, MOX_ADDR_ERR_EMPTY, 16);
    LBAD("a", 0, MOX_ADDR_ERR_NO_AT, 1);
    LBAD("John Doe", 0, MOX_ADDR_ERR_NO_AT, 8);
    LBAD("John Doe, a@x.example", 0, MOX_ADDR_ERR_NO_AT, 8);
    LBAD("<>", 0, MOX_ADDR_ERR_NO_AT, 1);
    LBAD("John <jdoe>", 0, MOX_ADDR_ERR_NO_AT, 10);
    LBAD("a@x.example b@y.example", 0, MOX_ADDR_ERR_TRAILING, 12);
    LBAD("<a@x.example> <b@y.example>", 0, MOX_ADDR_ERR_TRAILING, 14);
    LBAD("John <a@x.example", 0, MOX_ADDR_ERR_BRACKETS, 5);
    LBAD("John <a@x.example x>", 0, MOX_ADDR_ERR_TRAILING, 18);
    LBAD(">", 0, MOX_ADDR_ERR_BRACKETS, 0);
    LBAD("a@x.example>", 0, MOX_ADDR_ERR_TRAILING, 11);
    LBAD("\"abc <a@x.example>", 0, MOX_ADDR_ERR_QUOTED, 0);
    LBAD("\"abc\\", 0, MOX_ADDR_ERR_QUOTED, 4);
    LBAD("(abc a@x.example", 0, MOX_ADDR_ERR_COMMENT, 0);
    LBAD("a@x.example (abc (def)", 0, MOX_ADDR_ERR_COMMENT, 12);
    LBAD("a@x.example)", 0, MOX_ADDR_ERR_COMMENT, 11);
    LBAD("a@x.example (\\", 0, MOX_ADDR_ERR_COMMENT, 13);
    {
        char deep[300];
        memset(deep, '(', 100);
        memset(deep + 100, ')', 100);
        strcpy(deep + 200, "a@x.example");
        LBAD(deep, 0, MOX_ADDR_ERR_COMMENT, 64);
        /* 64 levels are fine. */
        memset(deep, '(', 64);
        memset(deep + 64, ')', 64);
        strcpy(deep + 128, "a@x.example");
        mox_address_list l;
        assert_int_equal(mox_address_list_parse(deep, strlen(deep), 0, &l, NULL), MOX_OK);
        mox_address_list_clear(&l);
    }
    LBAD("G: a@x.example", 0, MOX_ADDR_ERR_GROUP, 14);
    LBAD("G:", 0, MOX_ADDR_ERR_GROUP, 1);
    LBAD("G: H: a@x.example;;", 0, MOX_ADDR_ERR_GROUP, 4);
    LBAD(": a@x.example;", 0, MOX_ADDR_ERR_GROUP, 0);
    LBAD("\"\": a@x.example;", 0, MOX_ADDR_ERR_GROUP, 2);
    LBAD("a@x.example;", 0, MOX_ADDR_ERR_GROUP, 11);
    LBAD(";", 0, MOX_ADDR_ERR_GROUP, 0);
    LBAD("G: a@x.example b@y.example;", 0, MOX_ADDR_ERR_TRAILING, 15);
    LBAD(".John <a@x.example>", 0, MOX_ADDR_ERR_DISPLAY_NAME, 0);
    LBAD("John \\ <a@x.example>", 0, MOX_ADDR_ERR_DISPLAY_NAME, 5);
    LBAD("a..b@x.example", 0, MOX_ADDR_ERR_LOCALPART_DOTS, 2);
    LBAD(".a@x.example", 0, MOX_ADDR_ERR_LOCALPART_DOTS, 0);
    LBAD("a.@x.example", 0, MOX_ADDR_ERR_LOCALPART_DOTS, 1);
    LBAD("a b@x.example", 0, MOX_ADDR_ERR_LOCALPART, 2);
    LBAD("@x.example", 0, MOX_ADDR_ERR_LOCALPART, 0);
    LBAD("[192.0.2.1]", 0, MOX_ADDR_ERR_LOCALPART, 0);
    LBAD("John <@x.example>", 0, MOX_ADDR_ERR_SOURCE_ROUTE, 16);
    LBAD("a@", 0, MOX_ADDR_ERR_DOMAIN, 2);
    LBAD("a@x..example", 0, MOX_ADDR_ERR_DOMAIN, ANY);
    LBAD("a@x.example.", 0, MOX_ADDR_ERR_DOMAIN, 12);
    LBAD("a@-x.example", 0, MOX_ADDR_ERR_DOMAIN, 2);
    LBAD("a@x!y.example", 0, MOX_ADDR_ERR_DOMAIN, ANY);
    LBAD("a@1.2.3.4", 0, MOX_ADDR_ERR_DOMAIN, ANY);
    LBAD("a@[1.2.3]", 0, MOX_ADDR_ERR_LITERAL, 3);
    LBAD("a@[1.2.3.4", 0, MOX_ADDR_ERR_LITERAL, 2);
    LBAD("a@[1.2[3.4]", 0, MOX_ADDR_ERR_LITERAL, 6);
    LBAD("<@x..example:a@y.example>", 0, MOX_ADDR_ERR_SOURCE_ROUTE, ANY);
    LBAD("<@x.example a@y.example>", 0, MOX_ADDR_ERR_SOURCE_ROUTE, 12);
    LBAD("a\x01@x.example", 0, MOX_ADDR_ERR_CONTROL, 1);
    LBAD("\"a\x01\" <a@x.example>", 0, MOX_ADDR_ERR_CONTROL, 2);
    LBAD("\"a\\\x01\" <a@x.example>", 0, MOX_ADDR_ERR_CONTROL, 3);
    LBAD("a@x.example (\x7f)", 0, MOX_ADDR_ERR_CONTROL, 13);
    LBAD("a@x.example\r\n", 0, MOX_ADDR_ERR_CONTROL, 11);
    LBAD("a@x.example,\rb@y.example", 0, MOX_ADDR_ERR_CONTROL, 12);
    list_bad("a\0@x.example", 12, 0, MOX_ADDR_ERR_CONTROL, 1);
    LBAD("J\xc3\xb6ran <a@x.example>", 0, MOX_ADDR_ERR_UTF8, 1);
    LBAD("j\xc3\xb6ran@x.example", 0, MOX_ADDR_ERR_UTF8, 1);
    LBAD("a@x.example (\xc3\xa9)", 0, MOX_ADDR_ERR_UTF8, 13);
    LBAD("\xff <a@x.example>", MOX_ADDRLIST_UTF8, MOX_ADDR_ERR_UTF8, 0);
    LBAD("\"\xc3\" <a@x.example>", MOX_ADDRLIST_UTF8, MOX_ADDR_ERR_UTF8, 1);
    LBAD("\xc2\x85 <a@x.example>", MOX_ADDRLIST_UTF8, MOX_ADDR_ERR_CONTROL, 0);
    LBAD("a@[\xc3\xa9]", MOX_ADDRLIST_UTF8, MOX_ADDR_ERR_LITERAL, 3);

    mox_address_list l;
    assert_int_equal(mox_address_list_parse(NULL, 1, 0, &l, NULL), MOX_ERR_INVAL);
    assert_int_equal(mox_address_list_parse("a@b.c", 5, 0, NULL, NULL), MOX_ERR_INVAL);
    mox_address_list_clear(NULL);
}

static void test_format(void **state)
{
    (void)state;
    mox_address a = {0};
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_mailbox_parse("a@x.example", 11, 0, &a.mailbox, NULL), MOX_OK);
    static const char *const names[][2] = {
        {"John Doe", "John Doe <a@x.example>"},
        {"Doe, John", "\"Doe, John\" <a@x.example>"},
        {"J. Doe", "\"J. Doe\" <a@x.example>"},
        {"a  b", "\"a  b\" <a@x.example>"},
        {" a", "\" a\" <a@x.example>"},
        {"say \"hi\"\\", "\"say \\\"hi\\\"\\\\\" <a@x.example>"},
        {"J\xc3\xb6ran", "J\xc3\xb6ran <a@x.example>"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        a.display_name = (char *)names[i][0];
        mox_buf_reset(&b);
        assert_int_equal(mox_address_format(&a, 0, &b), MOX_OK);
        assert_string_equal((char *)b.data, names[i][1]);
    }
    a.display_name = NULL;
    mox_buf_reset(&b);
    assert_int_equal(mox_address_format(&a, 0, &b), MOX_OK);
    assert_string_equal((char *)b.data, "a@x.example");
    mox_mailbox_clear(&a.mailbox);
    assert_int_equal(mox_address_format(NULL, 0, &b), MOX_ERR_INVAL);
    mox_buf_free(&b);
}

/* ------------------------------------------------------------------ alloc */

static int sweep_path(void *arg)
{
    (void)arg;
    static const char *const in[] = {"<@r.example:\"j o\"@b\xc3\xbc" "cher.example>",
                                     "<a@[IPv6:::1]>", "<postmaster>", "<>"};
    for (size_t i = 0; i < 4; i++) {
        mox_path p, q;
        int rc = mox_path_parse(in[i], strlen(in[i]), R * (i == 3) | U, &p, NULL);
        if (rc != MOX_OK)
            return rc;
        mox_buf b = MOX_BUF_INIT;
        rc = mox_path_format(&p, 1, &b);
        if (rc == MOX_OK && !p.is_null && !p.is_postmaster)
            rc = mox_mailbox_copy(&q.mailbox, &p.mailbox);
        else
            memset(&q, 0, sizeof q);
        mox_path_clear(&q);
        mox_path_clear(&p);
        mox_buf_free(&b);
        if (rc != MOX_OK)
            return rc;
    }
    return MOX_OK;
}

static int sweep_list(void *arg)
{
    (void)arg;
    const char *in = "A Group(Some people)\r\n :Chris Jones <c@(host.)public.example>,"
                     " joe@example.org (Joe), \"J\xc3\xb6, R\" <@x.example:j\xc3\xb6@b\xc3\xbc" "cher.example>;"
                     " , a@[192.0.2.1], b@c.example, d@e.example, f@g.example, h@i.example";
    mox_address_list l;
    int rc = mox_address_list_parse(in, strlen(in), MOX_ADDRLIST_UTF8, &l, NULL);
    if (rc != MOX_OK)
        return rc;
    mox_buf b = MOX_BUF_INIT;
    for (size_t i = 0; i < l.count && rc == MOX_OK; i++)
        rc = mox_address_format(&l.addr[i], 1, &b);
    mox_buf_free(&b);
    mox_address_list_clear(&l);
    return rc;
}

static void test_alloc_sweep(void **state)
{
    (void)state;
    assert_true(moxtest_alloc_sweep(sweep_path, NULL, "path") > 10);
    assert_true(moxtest_alloc_sweep(sweep_list, NULL, "addrlist") > 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_good), cmocka_unit_test(test_path_bad),
        cmocka_unit_test(test_mailbox),   cmocka_unit_test(test_list_good),
        cmocka_unit_test(test_list_bad),  cmocka_unit_test(test_format),
        cmocka_unit_test(test_alloc_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
