/* Tests of the shared SMTP vocabulary (include/mox/smtp.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moxtest.h"
#include "mox/smtp.h"

/* ------------------------------------------------------------ codes */

static void t_codes(void **st)
{
    (void)st;
    assert_true(mox_smtp_code_valid(250));
    assert_true(mox_smtp_code_valid(554));
    assert_true(mox_smtp_code_valid(334));
    assert_false(mox_smtp_code_valid(199));
    assert_false(mox_smtp_code_valid(600));
    assert_false(mox_smtp_code_valid(260)); /* second digit 0-5 */
    assert_false(mox_smtp_code_valid(-1));

    assert_true(mox_smtp_enhanced_valid("2.0.0", 250));
    assert_true(mox_smtp_enhanced_valid("5.123.456", 550));
    assert_false(mox_smtp_enhanced_valid("5.1.1", 250)); /* class differs */
    assert_false(mox_smtp_enhanced_valid("5.1234.1", 550));
    assert_false(mox_smtp_enhanced_valid("5.1.", 550));
    assert_false(mox_smtp_enhanced_valid("5.1.1 ", 550));
    assert_false(mox_smtp_enhanced_valid("", 550));
    assert_false(mox_smtp_enhanced_valid(NULL, 550));
    assert_int_equal(mox_smtp_enhanced_len("4.7.0 try later", 15, 421), 5);
    assert_int_equal(mox_smtp_enhanced_len("4.7.0x", 6, 421), 0);
    assert_int_equal(mox_smtp_enhanced_len("2.1.5", 5, 0), 5);
    assert_int_equal(mox_smtp_enhanced_len("3.1.5", 5, 0), 0);
}

/* ------------------------------------------------------------ replies */

static void t_reply_format(void **st)
{
    (void)st;
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_smtp_reply_format(&b, 250, "2.0.0", "ok"), MOX_OK);
    assert_string_equal((char *)b.data, "250 2.0.0 ok\r\n");
    mox_buf_reset(&b);
    assert_int_equal(mox_smtp_reply_format(&b, 550, "5.7.1", "one\ntwo\r\x01 three\xc3\xa9"),
                     MOX_OK);
    assert_string_equal((char *)b.data, "550-5.7.1 one\r\n550 5.7.1 two   three??\r\n");
    mox_buf_reset(&b);
    assert_int_equal(mox_smtp_reply_format(&b, 220, NULL, NULL), MOX_OK);
    assert_string_equal((char *)b.data, "220 \r\n");
    mox_buf_reset(&b);
    assert_int_equal(mox_smtp_reply_format(&b, 250, "2.0.0", ""), MOX_OK);
    assert_string_equal((char *)b.data, "250 2.0.0\r\n");
    mox_buf_reset(&b);
    /* RFC 5321 §4.5.3.1.5: no line over 512 bytes */
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(mox_smtp_reply_format(&b, 554, "5.0.0", big), MOX_OK);
    assert_int_equal(b.len, MOX_SMTP_REPLY_LINE_MAX);
    assert_memory_equal(b.data + b.len - 2, "\r\n", 2);
    mox_buf_reset(&b);
    assert_int_equal(mox_smtp_reply_format(&b, 999, NULL, "x"), MOX_ERR_INVAL);
    assert_int_equal(b.len, 0);
    assert_int_equal(mox_smtp_reply_format(NULL, 250, NULL, "x"), MOX_ERR_INVAL);
    mox_buf_free(&b);
}

/* What format writes, parse reads back. */
static void t_reply_roundtrip(void **st)
{
    (void)st;
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_smtp_reply_format(&b, 452, "4.2.2", "mailbox full\nsecond line"),
                     MOX_OK);
    mox_smtp_reply r = {0};
    size_t used = 0;
    mox_errinfo ei;
    assert_int_equal(mox_smtp_reply_parse(b.data, b.len, NULL, &r, &used, &ei), MOX_OK);
    assert_int_equal(used, b.len);
    assert_int_equal(r.code, 452);
    assert_string_equal(r.enhanced, "4.2.2");
    assert_string_equal(r.text, "mailbox full\nsecond line");
    assert_int_equal(r.nlines, 2);
    assert_string_equal(r.lines[1], "second line");
    mox_smtp_reply_clear(&r);
    /* incomplete: every prefix asks for more */
    for (size_t k = 0; k < b.len; k++) {
        mox_smtp_reply p = {0};
        assert_int_equal(mox_smtp_reply_parse(b.data, k, NULL, &p, &used, NULL), MOX_ERR_AGAIN);
    }
    mox_smtp_reply_clear(NULL);
    mox_buf_free(&b);
    /* errors carry a detail */
    assert_int_equal(mox_smtp_reply_parse("250-a\r\n251 b\r\n", 14, NULL, &r, &used, &ei),
                     MOX_ERR_SYNTAX);
    assert_int_equal(ei.detail, MOX_SMTP_REPLY_ERR_MIXED_CODES);
    assert_int_equal(mox_smtp_reply_parse("2x0 a\r\n", 7, NULL, &r, &used, &ei), MOX_ERR_SYNTAX);
    assert_int_equal(ei.detail, MOX_SMTP_REPLY_ERR_CODE);
    mox_smtp_reply_limits lim = {8, 2};
    assert_int_equal(mox_smtp_reply_parse("250 0123456789\r\n", 16, &lim, &r, &used, &ei),
                     MOX_ERR_LIMIT);
    assert_int_equal(ei.detail, MOX_SMTP_REPLY_ERR_LINE_TOO_LONG);
    assert_int_equal(mox_smtp_reply_parse("250-a\r\n250-b\r\n250 c\r\n", 21, &lim, &r, &used, &ei),
                     MOX_ERR_LIMIT);
    assert_int_equal(ei.detail, MOX_SMTP_REPLY_ERR_TOO_MANY_LINES);
}

/* ------------------------------------------------------------ EHLO */

static void t_ext_names(void **st)
{
    (void)st;
    for (unsigned bit = 1; bit & MOX_SMTP_EXT_ALL; bit <<= 1) {
        const char *n = mox_smtp_ext_name(bit);
        assert_non_null(n);
        assert_int_equal(mox_smtp_ext_parse(n, strlen(n)), bit);
    }
    assert_null(mox_smtp_ext_name(0));
    assert_null(mox_smtp_ext_name(3));
    assert_int_equal(mox_smtp_ext_parse("pipelining", 10), MOX_SMTP_EXT_PIPELINING);
    assert_int_equal(mox_smtp_ext_parse("XFOO", 4), 0);
    assert_int_equal(mox_smtp_ext_parse(NULL, 0), 0);
}

static void t_ehlo(void **st)
{
    (void)st;
    char *mechs[] = {"SCRAM-SHA-256", "PLAIN"};
    mox_smtp_ehlo e;
    memset(&e, 0, sizeof e);
    e.hostname = "mx.example";
    e.flags = MOX_SMTP_EXT_ALL & ~MOX_SMTP_EXT_REQUIRETLS;
    e.size_max = 1000;
    e.auth = mechs;
    e.nauth = 2;
    e.rcptmax = 50;
    e.hold_max_interval = 3600;
    snprintf(e.hold_max_datetime, sizeof e.hold_max_datetime, "2024-01-01T01:00:00Z");
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_smtp_ehlo_format(&e, "hi\r\nthere", &b), MOX_OK);
    assert_string_equal((char *)b.data, "250-mx.example hi  there\r\n"
                                        "250-PIPELINING\r\n"
                                        "250-SIZE 1000\r\n"
                                        "250-STARTTLS\r\n"
                                        "250-AUTH SCRAM-SHA-256 PLAIN\r\n"
                                        "250-FUTURERELEASE 3600 2024-01-01T01:00:00Z\r\n"
                                        "250-ENHANCEDSTATUSCODES\r\n"
                                        "250-8BITMIME\r\n"
                                        "250-LIMITS RCPTMAX=50\r\n"
                                        "250-SMTPUTF8\r\n"
                                        "250-CHUNKING\r\n"
                                        "250-BINARYMIME\r\n"
                                        "250 DSN\r\n");
    mox_smtp_reply r = {0};
    size_t used;
    assert_int_equal(mox_smtp_reply_parse(b.data, b.len, NULL, &r, &used, NULL), MOX_OK);
    mox_smtp_ehlo p;
    memset(&p, 0, sizeof p);
    assert_int_equal(mox_smtp_ehlo_parse(&r, &p), MOX_OK);
    assert_int_equal(p.flags, e.flags);
    assert_int_equal(p.size_max, 1000);
    assert_int_equal(p.rcptmax, 50);
    assert_int_equal(p.hold_max_interval, 3600);
    assert_string_equal(p.hold_max_datetime, "2024-01-01T01:00:00Z");
    assert_string_equal(p.hostname, "mx.example");
    assert_true(mox_smtp_ehlo_has_auth(&p, "plain"));
    assert_false(mox_smtp_ehlo_has_auth(&p, "LOGIN"));
    mox_smtp_ehlo_clear(&p);
    mox_smtp_ehlo_clear(NULL);
    mox_smtp_reply_clear(&r);
    mox_buf_free(&b);

    /* old AUTH= form, contradicting LIMITS, unknown keywords */
    const char *in = "250-h\r\n250-AUTH=LOGIN PLAIN\r\n250-LIMITS RCPTMAX=5 RCPTMAX=6 MAILMAX=0\r\n"
                     "250 XUNKNOWN\r\n";
    assert_int_equal(mox_smtp_reply_parse(in, strlen(in), NULL, &r, &used, NULL), MOX_OK);
    assert_int_equal(mox_smtp_ehlo_parse(&r, &p), MOX_OK);
    assert_int_equal(p.flags, MOX_SMTP_EXT_AUTH | MOX_SMTP_EXT_LIMITS);
    assert_int_equal(p.nauth, 2);
    assert_int_equal(p.rcptmax, 0);
    assert_int_equal(p.mailmax, 0);
    mox_smtp_ehlo_clear(&p);
    mox_smtp_reply_clear(&r);
    e.hostname = NULL;
    assert_int_equal(mox_smtp_ehlo_format(&e, NULL, &b), MOX_ERR_INVAL);
    mox_buf_free(&b);
}

/* ------------------------------------------------------------ DSN */

static void t_xtext(void **st)
{
    (void)st;
    mox_buf b = MOX_BUF_INIT;
    const char *v = "a+b=c d\x7f\xc3\xa9";
    assert_int_equal(mox_smtp_xtext_encode(&b, v, strlen(v)), MOX_OK);
    assert_string_equal((char *)b.data, "a+2Bb+3Dc+20d+7F+C3+A9");
    assert_int_equal(mox_smtp_xtext_len(v, strlen(v)), b.len);
    mox_buf_free(&b);
    char *d = NULL;
    assert_int_equal(mox_smtp_xtext_decode("a+2Bb+3Dc+20d", 13, &d), MOX_OK);
    assert_string_equal(d, "a+b=c d");
    mox_free(d);
    /* raw UTF-8 passes (RFC 6533) */
    assert_int_equal(mox_smtp_xtext_decode("\xc3\xa9", 2, &d), MOX_OK);
    assert_string_equal(d, "\xc3\xa9");
    mox_free(d);
    static const char *const bad[] = {"+2", "+zz", "a b", "a=b", "+0A", "+00", "+2b"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(mox_smtp_xtext_decode(bad[i], strlen(bad[i]), &d), MOX_ERR_SYNTAX);
        assert_null(d);
    }
}

static void t_notify_ret(void **st)
{
    (void)st;
    unsigned n = 0;
    assert_int_equal(mox_smtp_notify_parse("success,Failure", 15, &n), MOX_OK);
    assert_int_equal(n, MOX_SMTP_NOTIFY_SUCCESS | MOX_SMTP_NOTIFY_FAILURE);
    assert_int_equal(mox_smtp_notify_parse("NEVER", 5, &n), MOX_OK);
    assert_int_equal(n, MOX_SMTP_NOTIFY_NEVER);
    static const char *const bad[] = {"", "NEVER,DELAY", "DELAY,DELAY", "SOMETIMES", "DELAY,",
                                      ",DELAY"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(mox_smtp_notify_parse(bad[i], strlen(bad[i]), &n), MOX_ERR_SYNTAX);
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_smtp_notify_format(&b, MOX_SMTP_NOTIFY_DELAY | MOX_SMTP_NOTIFY_SUCCESS),
                     MOX_OK);
    assert_string_equal((char *)b.data, "SUCCESS,DELAY");
    assert_int_equal(mox_smtp_notify_format(&b, MOX_SMTP_NOTIFY_NEVER | MOX_SMTP_NOTIFY_DELAY),
                     MOX_ERR_INVAL);
    assert_int_equal(mox_smtp_notify_format(&b, 0), MOX_ERR_INVAL);
    assert_string_equal((char *)b.data, "SUCCESS,DELAY");
    mox_buf_free(&b);
    assert_true(mox_smtp_notify_valid(0));
    assert_false(mox_smtp_notify_valid(0x10));
    int r;
    assert_int_equal(mox_smtp_ret_parse("hdrs", 4, &r), MOX_OK);
    assert_int_equal(r, MOX_SMTP_RET_HDRS);
    assert_int_equal(mox_smtp_ret_parse("FULLY", 5, &r), MOX_ERR_SYNTAX);
    assert_string_equal(mox_smtp_ret_name(MOX_SMTP_RET_FULL), "FULL");
    assert_null(mox_smtp_ret_name(MOX_SMTP_RET_NONE));
}

static void t_envid_orcpt(void **st)
{
    (void)st;
    assert_true(mox_smtp_envid_valid("QQ314159 x"));
    assert_false(mox_smtp_envid_valid(""));
    assert_false(mox_smtp_envid_valid("tab\there"));
    assert_false(mox_smtp_envid_valid("\xc3\xa9"));
    char long_id[40];
    memset(long_id, '+', sizeof long_id - 1); /* 39 x 3 = 117 as xtext */
    long_id[sizeof long_id - 1] = 0;
    assert_false(mox_smtp_envid_valid(long_id));
    char *d = NULL;
    assert_int_equal(mox_smtp_envid_parse("a+20b", 5, &d), MOX_OK);
    assert_string_equal(d, "a b");
    mox_free(d);
    char big[MOX_SMTP_ENVID_MAX + 2];
    memset(big, 'a', sizeof big);
    assert_int_equal(mox_smtp_envid_parse(big, sizeof big, &d), MOX_ERR_LIMIT);

    assert_int_equal(mox_smtp_orcpt_parse("rfc822;a+2Bb@example.org", 24, &d), MOX_OK);
    assert_string_equal(d, "rfc822;a+b@example.org");
    mox_free(d);
    static const char *const bad[] = {";a@b", "rfc 822;a@b", "rfc822", "rfc822;a+0Ab"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_not_equal(mox_smtp_orcpt_parse(bad[i], strlen(bad[i]), &d), MOX_OK);

    assert_true(mox_smtp_orcpt_valid("a@example.org"));
    assert_true(mox_smtp_orcpt_valid("\xc3\xb6@example.org"));
    assert_false(mox_smtp_orcpt_valid("a\x01@example.org"));
    assert_false(mox_smtp_orcpt_valid("\xc3@example.org"));    /* bad UTF-8 */
    assert_false(mox_smtp_orcpt_valid("\xc2\x85@example.org")); /* C1 control */
    assert_false(mox_smtp_orcpt_valid(""));
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_smtp_orcpt_format(&b, "a+b@example.org", 0), MOX_OK);
    assert_string_equal((char *)b.data, "rfc822;a+2Bb@example.org");
    mox_buf_reset(&b);
    assert_int_equal(mox_smtp_orcpt_format(&b, "\xc3\xb6 =@x", 0), MOX_OK);
    assert_string_equal((char *)b.data, "utf-8;\\x{F6}\\x{20}\\x{3D}@x");
    mox_buf_reset(&b);
    assert_int_equal(mox_smtp_orcpt_format(&b, "\xc3\xb6@x", 1), MOX_OK);
    assert_string_equal((char *)b.data, "utf-8;\xc3\xb6@x");
    mox_buf_free(&b);
}

/* ------------------------------------------------------------ time, names */

static void t_rfc3339(void **st)
{
    (void)st;
    int64_t t = 0;
    assert_int_equal(mox_smtp_rfc3339_parse("2024-01-01T00:00:00Z", 20, &t), MOX_OK);
    assert_int_equal(t, 1704067200);
    assert_int_equal(mox_smtp_rfc3339_parse("2024-01-01t01:30:00.25+01:30", 28, &t), MOX_OK);
    assert_int_equal(t, 1704067200);
    assert_int_equal(mox_smtp_rfc3339_parse("2023-12-31T23:59:60z", 20, &t), MOX_OK);
    assert_int_equal(t, 1704067199);
    static const char *const bad[] = {"2024-01-01T00:00:00",  "2023-02-29T00:00:00Z",
                                      "2024-13-01T00:00:00Z", "2024-01-01 00:00:00Z",
                                      "2024-01-01T24:00:00Z", "2024-01-01T00:00:00.Z",
                                      "2024-01-01T00:00:00+0100", "2024-01-01T00:00:00Zx"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(mox_smtp_rfc3339_parse(bad[i], strlen(bad[i]), &t), MOX_ERR_SYNTAX);
    char out[MOX_SMTP_RFC3339_MAX];
    assert_int_equal(mox_smtp_rfc3339_format(1704067200 + 86399, out, sizeof out), 20);
    assert_string_equal(out, "2024-01-01T23:59:59Z");
    assert_int_equal(mox_smtp_rfc3339_format(951782400, out, sizeof out), 20);
    assert_string_equal(out, "2000-02-29T00:00:00Z");
    assert_int_equal(mox_smtp_rfc3339_format(-1, out, sizeof out), 20);
    assert_string_equal(out, "1969-12-31T23:59:59Z");
    assert_int_equal(mox_smtp_rfc3339_format(0, out, 10), MOX_ERR_LIMIT);
    assert_string_equal(out, "");
    /* every day of four years round-trips */
    for (int64_t d = 0; d < 4 * 366; d++) {
        int64_t x = 1704067200 + d * 86400 + d * 37 % 86400, y;
        assert_true(mox_smtp_rfc3339_format(x, out, sizeof out) > 0);
        assert_int_equal(mox_smtp_rfc3339_parse(out, strlen(out), &y), MOX_OK);
        assert_int_equal(x, y);
    }
}

static void t_names(void **st)
{
    (void)st;
    int lit = -1;
    assert_int_equal(mox_smtp_hello_valid("mx.example.org", 14, &lit), 1);
    assert_int_equal(lit, 0);
    assert_int_equal(mox_smtp_hello_valid("mx.example.org.", 15, &lit), 1);
    assert_int_equal(mox_smtp_hello_valid("[192.0.2.1]", 11, &lit), 1);
    assert_int_equal(lit, 1);
    assert_int_equal(mox_smtp_hello_valid("[IPv6:2001:db8::1]", 18, &lit), 1);
    assert_int_equal(mox_smtp_hello_valid("[ipv6:2001:db8::1]", 18, &lit), 1);
    assert_int_equal(mox_smtp_hello_valid("[192.0.2.256]", 13, &lit), 0);
    assert_int_equal(lit, 1);
    assert_int_equal(mox_smtp_hello_valid("[2001:db8::1]", 13, &lit), 0);
    assert_int_equal(mox_smtp_hello_valid("[]", 2, &lit), 0);
    assert_int_equal(mox_smtp_hello_valid("bad_name!", 9, &lit), 0);
    assert_int_equal(mox_smtp_hello_valid("", 0, NULL), 0);
    char out[64];
    assert_int_equal(mox_smtp_address_literal("192.0.2.1", out, sizeof out), 11);
    assert_string_equal(out, "[192.0.2.1]");
    assert_int_equal(mox_smtp_address_literal("2001:db8::1", out, sizeof out), 18);
    assert_string_equal(out, "[IPv6:2001:db8::1]");
    assert_int_equal(mox_smtp_address_literal("host", out, sizeof out), MOX_ERR_SYNTAX);
    assert_int_equal(mox_smtp_address_literal("192.0.2.1", out, 5), MOX_ERR_LIMIT);
    assert_int_equal(mox_smtp_hello_valid(out, strlen(out), NULL), 0);
}

/* ------------------------------------------------------------ allocation */

static int sweep_all(void *arg)
{
    (void)arg;
    mox_buf b = MOX_BUF_INIT;
    int rc = mox_smtp_reply_format(&b, 250, "2.0.0", "a\nb\nc");
    mox_smtp_reply r = {0};
    size_t used;
    if (rc == MOX_OK)
        rc = mox_smtp_reply_parse(b.data, b.len, NULL, &r, &used, NULL);
    mox_smtp_reply_clear(&r);
    char *mechs[] = {"PLAIN"};
    mox_smtp_ehlo e;
    memset(&e, 0, sizeof e);
    e.hostname = "h";
    e.flags = MOX_SMTP_EXT_ALL;
    e.auth = mechs;
    e.nauth = 1;
    e.rcptmax = 3;
    mox_buf_reset(&b);
    if (rc == MOX_OK)
        rc = mox_smtp_ehlo_format(&e, "x", &b);
    if (rc == MOX_OK)
        rc = mox_smtp_reply_parse(b.data, b.len, NULL, &r, &used, NULL);
    mox_smtp_ehlo p;
    memset(&p, 0, sizeof p);
    if (rc == MOX_OK)
        rc = mox_smtp_ehlo_parse(&r, &p);
    mox_smtp_ehlo_clear(&p);
    mox_smtp_reply_clear(&r);
    char *d = NULL;
    if (rc == MOX_OK)
        rc = mox_smtp_orcpt_parse("rfc822;a+2Bb", 12, &d);
    mox_free(d);
    mox_buf_reset(&b);
    if (rc == MOX_OK)
        rc = mox_smtp_orcpt_format(&b, "\xc3\xb6@x", 0);
    if (rc == MOX_OK)
        rc = mox_smtp_notify_format(&b, MOX_SMTP_NOTIFY_SUCCESS | MOX_SMTP_NOTIFY_DELAY);
    mox_buf_free(&b);
    return rc;
}

static void t_alloc(void **st)
{
    (void)st;
    moxtest_alloc_sweep(sweep_all, NULL, "smtp vocabulary");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_codes),       cmocka_unit_test(t_reply_format),
        cmocka_unit_test(t_reply_roundtrip), cmocka_unit_test(t_ext_names),
        cmocka_unit_test(t_ehlo),        cmocka_unit_test(t_xtext),
        cmocka_unit_test(t_notify_ret),  cmocka_unit_test(t_envid_orcpt),
        cmocka_unit_test(t_rfc3339),     cmocka_unit_test(t_names),
        cmocka_unit_test(t_alloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
