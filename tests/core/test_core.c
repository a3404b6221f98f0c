#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "moxtest.h"
#include "mox/core.h"

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(mox_strerror(MOX_OK), "success");
    assert_string_equal(mox_strerror(MOX_ERR_NOMEM), "out of memory");
    assert_string_equal(mox_strerror(-9999), "unknown error");
    for (int e = 0; e >= MOX_ERR_PERM; e--)
        assert_string_not_equal(mox_strerror(e), "unknown error");
}

static void test_buf(void **state)
{
    (void)state;
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_buf_append_str(&b, "hello"), MOX_OK);
    assert_int_equal(mox_buf_appendf(&b, " %d %s", 42, "x"), MOX_OK);
    assert_string_equal((char *)b.data, "hello 42 x");
    char big[1000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(mox_buf_appendf(&b, "%s", big), MOX_OK);
    assert_int_equal(b.len, 10 + 999);
    mox_buf_consume(&b, 6);
    assert_memory_equal(b.data, "42 x", 4);
    assert_int_equal(mox_buf_append(&b, "\0z", 2), MOX_OK);
    assert_int_equal(b.data[b.len], 0);
    mox_buf_consume(&b, 99999);
    assert_int_equal(b.len, 0);
    assert_int_equal(mox_buf_reserve(&b, SIZE_MAX), MOX_ERR_LIMIT);
    size_t len;
    assert_int_equal(mox_buf_append_str(&b, "abc"), MOX_OK);
    char *s = mox_buf_steal(&b, &len);
    assert_string_equal(s, "abc");
    assert_int_equal(len, 3);
    assert_null(b.data);
    mox_free(s);
    s = mox_buf_steal(&b, &len); /* empty buffer gives "" */
    assert_non_null(s);
    assert_string_equal(s, "");
    mox_free(s);
    mox_buf_free(&b);
    mox_buf_free(NULL);
}

/* RFC 4648 §10 vectors. */
static void test_base64(void **state)
{
    (void)state;
    static const char *const v[][2] = {{"", ""},         {"f", "Zg=="},
                                       {"fo", "Zm8="},   {"foo", "Zm9v"},
                                       {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                       {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        mox_buf b = MOX_BUF_INIT;
        assert_int_equal(mox_base64_encode(v[i][0], strlen(v[i][0]), &b), MOX_OK);
        assert_int_equal(b.len, strlen(v[i][1]));
        if (b.len)
            assert_memory_equal(b.data, v[i][1], b.len);
        mox_buf_reset(&b);
        assert_int_equal(mox_base64_decode(v[i][1], strlen(v[i][1]), 0, &b, NULL), MOX_OK);
        assert_int_equal(b.len, strlen(v[i][0]));
        if (b.len)
            assert_memory_equal(b.data, v[i][0], b.len);
        mox_buf_free(&b);
    }
    static const char *const bad[] = {"Zg", "Zg=", "Zh==", "Zm9=", "Z===", "Zg==Zg==",
                                      "Zm9v!", "Zm 9v", "=Zm9", "Zg=a", "Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mox_buf b = MOX_BUF_INIT;
        mox_errinfo ei;
        assert_int_equal(mox_buf_append_str(&b, "keep"), MOX_OK);
        int rc = mox_base64_decode(bad[i], strlen(bad[i]), 0, &b, &ei);
        if (rc != MOX_ERR_SYNTAX)
            fail_msg("accepted bad base64 %s", bad[i]);
        assert_int_equal(ei.code, MOX_ERR_SYNTAX);
        assert_string_equal((char *)b.data, "keep");
        mox_buf_free(&b);
    }
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_base64_decode("Zm 9v\r\n Yg", 10, MOX_BASE64_ALLOW_WS | MOX_BASE64_NOPAD,
                                       &b, NULL),
                     MOX_OK);
    assert_string_equal((char *)b.data, "foob");
    mox_buf_reset(&b);
    assert_int_equal(mox_base64_decode("Zg", 2, MOX_BASE64_NOPAD, &b, NULL), MOX_OK);
    assert_string_equal((char *)b.data, "f");
    mox_buf_free(&b);
}

static void test_hex(void **state)
{
    (void)state;
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_hex_encode("\x00\xff\x10", 3, &b), MOX_OK);
    assert_string_equal((char *)b.data, "00ff10");
    mox_buf_reset(&b);
    assert_int_equal(mox_hex_decode("00FF10", 6, &b, NULL), MOX_OK);
    assert_memory_equal(b.data, "\x00\xff\x10", 3);
    mox_errinfo ei;
    assert_int_equal(mox_hex_decode("0", 1, &b, &ei), MOX_ERR_SYNTAX);
    assert_int_equal(mox_hex_decode("0g", 2, &b, &ei), MOX_ERR_SYNTAX);
    assert_int_equal(ei.offset, 1);
    mox_buf_free(&b);
}

static void test_date(void **state)
{
    (void)state;
    char out[64];
    /* RFC 5322 A.1.1 example: Fri, 21 Nov 1997 09:55:06 -0600 */
    int n = mox_rfc5322_date(880127706, -360, out, sizeof out);
    assert_true(n > 0);
    assert_string_equal(out, "Fri, 21 Nov 1997 09:55:06 -0600");
    assert_true(mox_rfc5322_date(0, 0, out, sizeof out) > 0);
    assert_string_equal(out, "Thu, 1 Jan 1970 00:00:00 +0000");
    assert_true(mox_rfc5322_date(951782400, 90, out, sizeof out) > 0); /* 2000-02-29 00:00 UTC */
    assert_string_equal(out, "Tue, 29 Feb 2000 01:30:00 +0130");
    assert_true(mox_rfc5322_date(-1, 0, out, sizeof out) > 0);
    assert_string_equal(out, "Wed, 31 Dec 1969 23:59:59 +0000");
    assert_int_equal(mox_rfc5322_date(0, 1440, out, sizeof out), MOX_ERR_INVAL);
    assert_int_equal(mox_rfc5322_date(0, 0, out, 10), MOX_ERR_INVAL);
}

static int fixed_fill(void *ctx, void *buf, size_t n)
{
    (void)ctx;
    memset(buf, 0, n);
    return MOX_OK;
}

static void test_msgid(void **state)
{
    (void)state;
    mox_random r = MOX_RANDOM_INIT;
    r.fill = fixed_fill;
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_message_id(&r, "example.org", &b), MOX_OK);
    assert_string_equal((char *)b.data, "<aaaaaaaaaaaaaaaaaaaaaaaa@example.org>");
    mox_buf_reset(&b);
    assert_int_equal(mox_message_id(NULL, "example.org", &b), MOX_OK);
    assert_int_equal(b.len, 38);
    assert_int_equal(mox_message_id(NULL, "", &b), MOX_ERR_INVAL);
    mox_buf_free(&b);
}

static void test_clock_random(void **state)
{
    (void)state;
    int64_t a = mox_clock_mono_ns(NULL), b2 = mox_clock_mono_ns(mox_clock_system());
    assert_true(b2 >= a);
    assert_true(mox_clock_wall_ns(NULL) > (int64_t)1600000000 * 1000000000);
    unsigned char x[32] = {0}, y[32] = {0};
    assert_int_equal(mox_random_fill(NULL, x, sizeof x), MOX_OK);
    assert_int_equal(mox_random_fill(mox_random_system(), y, sizeof y), MOX_OK);
    assert_memory_not_equal(x, y, sizeof x);
}

struct captured {
    int n;
    char line[512];
};

static void test_logfmt(void **state)
{
    (void)state;
    char out[256];
    mox_log_attr attrs[] = {{"remote", "192.0.2.1", 9},
                            {"helo", "x y\"z\n", 6},
                            {"empty", "", 0}};
    size_t n = mox_logfmt_format(out, sizeof out, 0, MOX_LOG_WARN, "hello world", attrs, 3);
    assert_string_equal(out, "time=1970-01-01T00:00:00.000Z level=warn msg=\"hello world\" "
                             "remote=192.0.2.1 helo=\"x y\\\"z\\n\" empty=\"\"");
    assert_int_equal(n, strlen(out));
    char small[10];
    size_t n2 = mox_logfmt_format(small, sizeof small, 0, MOX_LOG_WARN, "hello world", attrs, 3);
    assert_int_equal(n2, n);
    assert_int_equal(strlen(small), 9);

    FILE *f = tmpfile();
    assert_non_null(f);
    mox_logger lg;
    mox_logger_logfmt(&lg, f, MOX_LOG_INFO);
    mox_log(&lg, MOX_LOG_DEBUG, "hidden", NULL, 0);
    mox_log(&lg, MOX_LOG_ERROR, "shown", attrs, 1);
    mox_log(NULL, MOX_LOG_ERROR, "nowhere", NULL, 0);
    rewind(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(strstr(line, "level=error msg=shown remote=192.0.2.1\n"));
    assert_null(fgets(line, sizeof line, f));
    fclose(f);
}

/* A program built against an older, smaller mox_logger gets only the
 * members it knows written: the bytes past its size stay untouched. */
static void test_fill_sized(void **state)
{
    (void)state;
    union {
        mox_logger lg;
        unsigned char raw[sizeof(mox_logger) + 16];
    } u;
    size_t old = offsetof(mox_logger, min_level) + sizeof(int);
    memset(&u, 0xab, sizeof u);
    mox_logger_logfmt_sized(&u.lg, old, stderr, MOX_LOG_WARN);
    assert_int_equal(u.lg.size, old);
    assert_ptr_equal(u.lg.ctx, stderr);
    assert_int_equal(u.lg.min_level, MOX_LOG_WARN);
    for (size_t i = old; i < sizeof u.raw; i++)
        assert_int_equal(u.raw[i], 0xab);
    memset(&u, 0xab, sizeof u);
    mox_logger_logfmt(&u.lg, stderr, MOX_LOG_INFO);
    assert_int_equal(u.lg.size, sizeof(mox_logger));
    assert_non_null(u.lg.log);
    for (size_t i = sizeof(mox_logger); i < sizeof u.raw; i++)
        assert_int_equal(u.raw[i], 0xab);
}

static int sweep_buf(void *arg)
{
    (void)arg;
    mox_buf b = MOX_BUF_INIT, e = MOX_BUF_INIT, d = MOX_BUF_INIT;
    int rc = MOX_OK;
    for (int i = 0; i < 50 && rc == MOX_OK; i++)
        rc = mox_buf_appendf(&b, "line %d of a growing buffer\n", i);
    if (rc == MOX_OK)
        rc = mox_base64_encode(b.data, b.len, &e);
    if (rc == MOX_OK)
        rc = mox_base64_decode((const char *)e.data, e.len, 0, &d, NULL);
    if (rc == MOX_OK)
        rc = mox_hex_encode(d.data, d.len, &e);
    if (rc == MOX_OK && (d.len != b.len || memcmp(d.data, b.data, b.len) != 0))
        rc = MOX_ERR_INVAL;
    mox_buf_free(&b);
    mox_buf_free(&e);
    mox_buf_free(&d);
    return rc;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    unsigned long n = moxtest_alloc_sweep(sweep_buf, NULL, "buf");
    assert_true(n > 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror),  cmocka_unit_test(test_buf),
        cmocka_unit_test(test_base64),    cmocka_unit_test(test_hex),
        cmocka_unit_test(test_date),      cmocka_unit_test(test_msgid),
        cmocka_unit_test(test_clock_random), cmocka_unit_test(test_logfmt),
        cmocka_unit_test(test_alloc_failures), cmocka_unit_test(test_fill_sized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
