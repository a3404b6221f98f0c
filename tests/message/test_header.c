/* Streaming header parser: chunking invariance, policies, limits, errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moxtest.h"
#include "mox/message.h"

/* ------------------------------------------------------------ harness */

/* Everything observable about one parse, serialised so two parses can be
 * compared byte for byte. */
struct run {
    mox_buf log;
    int rc;
    mox_errinfo ei;
    mox_hdr_end end;
    size_t body_off;
    size_t consumed; /* total consumed over all feeds */
    mox_buf leftover;
    int stop_at;     /* callback fails on this field index (-1: never) */
};

static int log_field(void *ctx, const mox_header_field *f)
{
    struct run *r = ctx;
    mox_buf_appendf(&r->log, "#%zu@%zu f=%u name[%zu]=", f->index, f->offset, f->flags,
                    f->name_len);
    mox_buf_append(&r->log, f->name, f->name_len);
    mox_buf_appendf(&r->log, " value[%zu]=", f->value_len);
    mox_buf_append(&r->log, f->value, f->value_len);
    mox_buf_appendf(&r->log, " raw[%zu]=", f->raw_len);
    mox_buf_append(&r->log, f->raw, f->raw_len);
    mox_buf_append_byte(&r->log, '\n');
    if (r->stop_at >= 0 && (size_t)r->stop_at == f->index)
        return MOX_ERR_PERM;
    return MOX_OK;
}

/* Parses `in` fed in chunks of `chunk` bytes (0: all at once). */
static void run_parse(const mox_header_config *cfg, const char *in, size_t len, size_t chunk,
                      struct run *r)
{
    memset(r, 0, sizeof *r);
    r->stop_at = -1;
    mox_header_parser *p = NULL;
    assert_int_equal(mox_header_parser_new(&p, cfg, log_field, r), MOX_OK);
    size_t pos = 0;
    int rc = MOX_OK;
    while (pos < len) {
        size_t n = chunk && chunk < len - pos ? chunk : len - pos;
        size_t used = 0;
        rc = mox_header_parser_feed(p, in + pos, n, &used, &r->ei);
        assert_true(used <= n);
        r->consumed += used;
        if (rc)
            break;
        if (mox_header_parser_end(p) != MOX_HDR_END_NONE) {
            assert_true(used < n || pos + n == len || 1);
            break;
        }
        assert_int_equal(used, n); /* not ended: everything taken */
        pos += n;
    }
    if (!rc && mox_header_parser_end(p) == MOX_HDR_END_NONE)
        rc = mox_header_parser_finish(p, &r->ei);
    r->rc = rc;
    if (rc) {
        /* errors are sticky */
        mox_errinfo again;
        assert_int_equal(mox_header_parser_feed(p, "x", 1, NULL, &again), rc);
        assert_int_equal(again.offset, r->ei.offset);
        assert_int_equal(again.detail, r->ei.detail);
        assert_int_equal(mox_header_parser_finish(p, NULL), rc);
    } else {
        memset(&r->ei, 0, sizeof r->ei);
        r->end = mox_header_parser_end(p);
        r->body_off = mox_header_parser_body_offset(p);
        const char *lo;
        size_t ll;
        mox_header_parser_leftover(p, &lo, &ll);
        mox_buf_append(&r->leftover, lo, ll);
        /* Ended parsers take nothing more. */
        size_t used = 99;
        assert_int_equal(mox_header_parser_feed(p, "abc", 3, &used, NULL), MOX_OK);
        assert_int_equal(used, 0);
    }
    mox_header_parser_free(p);
}

static void run_free(struct run *r)
{
    mox_buf_free(&r->log);
    mox_buf_free(&r->leftover);
}

static void assert_same(const struct run *a, const struct run *b, size_t chunk)
{
    if (a->rc != b->rc || a->end != b->end || a->body_off != b->body_off ||
        (a->rc == MOX_OK && a->consumed != b->consumed) || a->ei.detail != b->ei.detail ||
        a->ei.offset != b->ei.offset || a->log.len != b->log.len ||
        (a->log.len && memcmp(a->log.data, b->log.data, a->log.len)) ||
        a->leftover.len != b->leftover.len ||
        (a->leftover.len && memcmp(a->leftover.data, b->leftover.data, a->leftover.len)))
        fail_msg("chunk size %zu differs: rc %d/%d detail %d/%d off %zu/%zu body %zu/%zu "
                 "consumed %zu/%zu\n--- whole:\n%s--- chunked:\n%s",
                 chunk, a->rc, b->rc, a->ei.detail, b->ei.detail, a->ei.offset, b->ei.offset,
                 a->body_off, b->body_off, a->consumed, b->consumed,
                 a->log.data ? (char *)a->log.data : "", b->log.data ? (char *)b->log.data : "");
}

/* Parses whole, then in every chunk size 1..8 and a few larger ones, and
 * asserts identical observations. Returns the whole-input run. */
static void check_invariant(const mox_header_config *cfg, const char *in, size_t len,
                            struct run *whole)
{
    run_parse(cfg, in, len, 0, whole);
    static const size_t chunks[] = {1, 2, 3, 4, 5, 7, 8, 13, 64};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        struct run r;
        run_parse(cfg, in, len, chunks[i], &r);
        assert_same(whole, &r, chunks[i]);
        run_free(&r);
    }
}

#define S(x) x, sizeof(x) - 1

/* ------------------------------------------------------------ tests */

static void test_basic(void **state)
{
    (void)state;
    static const char msg[] = "From: a@example.org\r\n"
                              "Subject: hello\r\n"
                              "  world \r\n"
                              "\tagain\r\n"
                              "X-Empty:\r\n"
                              "\r\n"
                              "body\r\n";
    struct run r;
    check_invariant(NULL, S(msg), &r);
    assert_int_equal(r.rc, MOX_OK);
    assert_int_equal(r.end, MOX_HDR_END_EMPTY_LINE);
    assert_int_equal(r.body_off, strstr(msg, "body") - msg);
    assert_int_equal(r.consumed, r.body_off);
    assert_string_equal((char *)r.log.data,
                        "#0@0 f=0 name[4]=From value[13]=a@example.org raw[21]=From: a@example.org\r\n\n"
                        "#1@21 f=1 name[7]=Subject value[19]=hello  world \tagain"
                        " raw[34]=Subject: hello\r\n  world \r\n\tagain\r\n\n"
                        "#2@55 f=0 name[7]=X-Empty value[0]= raw[10]=X-Empty:\r\n\n");
    run_free(&r);
}

static void test_value_unfolding(void **state)
{
    (void)state;
    /* Unfolding removes the line endings only; whitespace stays. */
    mox_headers *h = NULL;
    static const char msg[] = "Subject:   a\r\n b\r\n\t c  \r\n\r\n";
    size_t body;
    assert_int_equal(mox_headers_parse(S(msg), NULL, &h, &body, NULL), MOX_OK);
    assert_int_equal(mox_headers_count(h), 1);
    const mox_header_field *f = mox_headers_get(h, 0);
    assert_int_equal(f->value_len, 6);
    assert_memory_equal(f->value, "a b\t c", 6);
    assert_int_equal(f->flags, MOX_HDR_FIELD_FOLDED);
    assert_int_equal(f->raw_len, sizeof msg - 1 - 2);
    assert_int_equal(body, sizeof msg - 1);
    assert_null(mox_headers_get(h, 1));
    mox_headers_free(h);
}

static void test_chunking_corpus(void **state)
{
    (void)state;
    /* Inputs covering every state at a chunk boundary, under several
     * policy combinations; each must give identical results whatever the
     * chunking. */
    static const char *const inputs[] = {
        "A: 1\r\nB: 2\r\n\r\nbody",
        "A: 1\nB: 2\n\nbody",
        "A: 1\rB: 2\r\rbody",
        "A: 1\r\n folded\r\n\r\n",
        "A : obs\r\nB\t: obs2\r\n\r\n",
        "no colon here\r\nA: 1\r\n\r\n",
        "A: 1\r\nno colon\r\n\r\n",
        "A: 1\r\nbad name: x\r\n\r\n",
        "A: 1\r\n: empty\r\n\r\n",
        " cont first\r\nA: 1\r\n\r\n",
        "A: 1\r\n\rx\r\n",
        "A: x\ry\r\n\r\n",
        "A\r: x\r\n\r\n",
        "A: 1",
        "A: 1\r",
        "A: 1\r\n",
        "A: 1\r\n\r",
        "Abc",
        "A: caf\xc3\xa9\r\n\r\n",
        "A: bad\xc3\r\n\r\n",
        "A: nul\0x\r\n\r\n",
        "\xc3\xa9: x\r\n\r\n",
        "\r\n",
        "\n",
        "",
        "A: 1\r\n\tB\r\n\r\n",
        "A:1\r\nB:2\r\nC:3\r\nD:4\r\n\r\n",
        "A: long line with many bytes in it to pass a small limit\r\n\r\n",
    };
    static const int pol[][3] = {
        {MOX_EOL_REJECT, MOX_EOL_REJECT, MOX_HDR_NONFIELD_ERROR},
        {MOX_EOL_ACCEPT, MOX_EOL_ACCEPT, MOX_HDR_NONFIELD_END},
        {MOX_EOL_NORMALIZE, MOX_EOL_NORMALIZE, MOX_HDR_NONFIELD_END},
        {MOX_EOL_ACCEPT, MOX_EOL_NORMALIZE, MOX_HDR_NONFIELD_ERROR},
        {MOX_EOL_NORMALIZE, MOX_EOL_ACCEPT, MOX_HDR_NONFIELD_ERROR},
    };
    static const unsigned flags[] = {0, MOX_HDR_REJECT_NUL | MOX_HDR_REQUIRE_UTF8,
                                     MOX_HDR_ASCII_ONLY};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        size_t len = strlen(inputs[i]);
        if (strstr(inputs[i], "nul"))
            len = 13; /* has an embedded NUL */
        for (size_t k = 0; k < sizeof pol / sizeof pol[0]; k++)
            for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++)
                for (int lim = 0; lim < 2; lim++) {
                    mox_header_config c = MOX_HEADER_CONFIG_INIT;
                    c.bare_cr = pol[k][0];
                    c.bare_lf = pol[k][1];
                    c.nonfield = pol[k][2];
                    c.flags = flags[f];
                    if (lim) {
                        c.max_fields = 2;
                        c.max_line = 20;
                        c.max_header_size = 30;
                    }
                    struct run r;
                    check_invariant(&c, inputs[i], len, &r);
                    run_free(&r);
                }
    }
}

/* Pseudo-random inputs from a small alphabet of the interesting bytes,
 * checked for chunking invariance. */
static void test_chunking_random(void **state)
{
    (void)state;
    static const char alpha[] = "ab: \t\r\n\r\n:X\xc3\xa9";
    uint32_t seed = 12345;
    char buf[64];
    for (int it = 0; it < 3000; it++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 16) % sizeof buf;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = alpha[(seed >> 16) % (sizeof alpha - 1)];
        }
        mox_header_config c = MOX_HEADER_CONFIG_INIT;
        c.bare_cr = (int)(it % 3);
        c.bare_lf = (int)((it / 3) % 3);
        c.nonfield = (it / 9) % 2;
        c.flags = (it / 18) % 2 ? MOX_HDR_REQUIRE_UTF8 : 0;
        c.max_line = (it / 36) % 2 ? 6 : 0;
        struct run r;
        check_invariant(&c, buf, len, &r);
        run_free(&r);
    }
}

static void expect_error(const mox_header_config *c, const char *in, size_t len, int code,
                         int detail, size_t offset)
{
    struct run r;
    check_invariant(c, in, len, &r);
    if (r.rc != code || r.ei.detail != detail || r.ei.offset != offset)
        fail_msg("input %.*s: got rc %d detail %d offset %zu (%s), want %d %d %zu", (int)len, in,
                 r.rc, r.ei.detail, r.ei.offset, r.ei.msg, code, detail, offset);
    assert_int_equal(r.ei.code, code);
    assert_true(r.ei.msg[0] != 0);
    run_free(&r);
}

static void test_bare_lf(void **state)
{
    (void)state;
    mox_header_config c = MOX_HEADER_CONFIG_INIT;
    c.bare_lf = MOX_EOL_REJECT;
    expect_error(&c, S("A: 1\r\nB: 2\nC: 3\r\n\r\n"), MOX_ERR_SYNTAX, MOX_HDR_ERR_BARE_LF, 10);
    expect_error(&c, S("A: 1\r\n\n"), MOX_ERR_SYNTAX, MOX_HDR_ERR_BARE_LF, 6);
    expect_error(&c, S("Abc\n"), MOX_ERR_SYNTAX, MOX_HDR_ERR_BARE_LF, 3);

    struct run r;
    c.bare_lf = MOX_EOL_ACCEPT;
    check_invariant(&c, S("A: 1\nB: x\n y\n\nbody"), &r);
    assert_int_equal(r.rc, MOX_OK);
    assert_int_equal(r.body_off, 14);
    assert_non_null(strstr((char *)r.log.data, "raw[8]=B: x\n y\n"));
    run_free(&r);

    c.bare_lf = MOX_EOL_NORMALIZE;
    check_invariant(&c, S("A: 1\nB: x\n y\n\nbody"), &r);
    assert_int_equal(r.rc, MOX_OK);
    assert_int_equal(r.body_off, 14); /* offsets stay those of the input */
    assert_non_null(strstr((char *)r.log.data, "raw[6]=A: 1\r\n"));
    assert_non_null(strstr((char *)r.log.data, "value[3]=x y raw[10]=B: x\r\n y\r\n"));
    run_free(&r);
}

static void test_bare_cr(void **state)
{
    (void)state;
    mox_header_config c = MOX_HEADER_CONFIG_INIT;
    /* default: rejected */
    expect_error(&c, S("A: x\ry\r\n\r\n"), MOX_ERR_SYNTAX, MOX_HDR_ERR_BARE_CR, 4);
    expect_error(&c, S("A: 1\r\n\rx"), MOX_ERR_SYNTAX, MOX_HDR_ERR_BARE_CR, 6);
    expect_error(&c, S("A: 1\r"), MOX_ERR_SYNTAX, MOX_HDR_ERR_BARE_CR, 4);

    struct run r;
    c.bare_cr = MOX_EOL_ACCEPT;
    check_invariant(&c, S("A: x\ry\r\n\r\n"), &r);
    assert_int_equal(r.rc, MOX_OK);
    assert_non_null(strstr((char *)r.log.data, "value[3]=x\ry raw[8]=A: x\ry\r\n"));
    run_free(&r);
    /* a data CR in a name makes the line invalid */
    expect_error(&c, S("A\r: x\r\n\r\n"), MOX_ERR_SYNTAX, MOX_HDR_ERR_BAD_NAME, 1);
    expect_error(&c, S("A: 1\r\n\rx"), MOX_ERR_SYNTAX, MOX_HDR_ERR_BAD_NAME, 6);

    c.bare_cr = MOX_EOL_NORMALIZE;
    check_invariant(&c, S("A: x\rB: y\r\rbody"), &r);
    assert_int_equal(r.rc, MOX_OK);
    assert_int_equal(r.end, MOX_HDR_END_EMPTY_LINE);
    assert_int_equal(r.body_off, 11);
    assert_string_equal((char *)r.log.data, "#0@0 f=0 name[1]=A value[1]=x raw[6]=A: x\r\n\n"
                                            "#1@5 f=0 name[1]=B value[1]=y raw[6]=B: y\r\n\n");
    run_free(&r);
}

static void test_nonfield(void **state)
{
    (void)state;
    mox_header_config c = MOX_HEADER_CONFIG_INIT;
    expect_error(&c, S("A: 1\r\nnocolon\r\n\r\n"), MOX_ERR_SYNTAX, MOX_HDR_ERR_NO_COLON, 13);
    expect_error(&c, S("A: 1\r\nno colon\r\n\r\n"), MOX_ERR_SYNTAX, MOX_HDR_ERR_BAD_NAME, 9);
    expect_error(&c, S("A: 1\r\nbad name: x\r\n"), MOX_ERR_SYNTAX, MOX_HDR_ERR_BAD_NAME, 10);
    expect_error(&c, S("A: 1\r\nX\x01: x\r\n"), MOX_ERR_SYNTAX, MOX_HDR_ERR_BAD_NAME, 7);
    expect_error(&c, S("\xc3\xa9: x\r\n"), MOX_ERR_SYNTAX, MOX_HDR_ERR_BAD_NAME, 0);
    expect_error(&c, S("A: 1\r\n: x\r\n"), MOX_ERR_SYNTAX, MOX_HDR_ERR_EMPTY_NAME, 6);
    expect_error(&c, S(" x: 1\r\n"), MOX_ERR_SYNTAX, MOX_HDR_ERR_CONTINUATION, 0);
    expect_error(&c, S("A: 1\r\nabc"), MOX_ERR_SYNTAX, MOX_HDR_ERR_NO_COLON, 9);

    /* END policy: the body starts at the line; the consumed part of it
     * comes back as leftover, exactly as received. */
    c.nonfield = MOX_HDR_NONFIELD_END;
    static const char m1[] = "A: 1\r\nnocolon\r\nrest";
    struct run r;
    check_invariant(&c, S(m1), &r);
    assert_int_equal(r.rc, MOX_OK);
    assert_int_equal(r.end, MOX_HDR_END_NONFIELD);
    assert_int_equal(r.body_off, 6);
    assert_int_equal(r.leftover.len, 9);
    assert_memory_equal(r.leftover.data, "nocolon\r\n", 9);
    assert_int_equal(r.consumed, 15); /* leftover + consumed reconstructs the body */
    assert_string_equal((char *)r.log.data, "#0@0 f=0 name[1]=A value[1]=1 raw[6]=A: 1\r\n\n");
    run_free(&r);

    check_invariant(&c, S("A: 1\r\nbad name: x\r\n"), &r);
    assert_int_equal(r.end, MOX_HDR_END_NONFIELD);
    assert_int_equal(r.body_off, 6);
    assert_int_equal(r.consumed, 10);
    assert_int_equal(r.leftover.len, 4);
    assert_memory_equal(r.leftover.data, "bad ", 4);
    run_free(&r);

    c.bare_lf = MOX_EOL_NORMALIZE;
    check_invariant(&c, S("A: 1\nxyz\nmore"), &r);
    assert_int_equal(r.leftover.len, 4);
    assert_memory_equal(r.leftover.data, "xyz\n", 4); /* as received, not normalised */
    run_free(&r);

    check_invariant(&c, S(" x: 1\r\n"), &r);
    assert_int_equal(r.end, MOX_HDR_END_NONFIELD);
    assert_int_equal(r.body_off, 0);
    assert_int_equal(r.consumed, 0);
    assert_int_equal(r.leftover.len, 0);
    run_free(&r);
}

static void test_obs_ws(void **state)
{
    (void)state;
    struct run r;
    check_invariant(NULL, S("Subject \t: x\r\n\r\n"), &r);
    assert_int_equal(r.rc, MOX_OK);
    assert_string_equal((char *)r.log.data,
                        "#0@0 f=2 name[7]=Subject value[1]=x raw[14]=Subject \t: x\r\n\n");
    run_free(&r);
}

static void test_limits(void **state)
{
    (void)state;
    mox_header_config c = MOX_HEADER_CONFIG_INIT;
    c.max_fields = 2;
    expect_error(&c, S("A: 1\r\nB: 2\r\nC: 3\r\n\r\n"), MOX_ERR_LIMIT, MOX_HDR_ERR_TOO_MANY_FIELDS,
                 12);
    struct run r;
    check_invariant(&c, S("A: 1\r\nB: 2\r\n\r\n"), &r);
    assert_int_equal(r.rc, MOX_OK);
    run_free(&r);

    c = (mox_header_config)MOX_HEADER_CONFIG_INIT;
    c.max_line = 10;
    /* "A: 1234567" is 10 octets: fine; one more is not. */
    check_invariant(&c, S("A: 1234567\r\n 23456789\r\n\r\n"), &r);
    assert_int_equal(r.rc, MOX_OK);
    run_free(&r);
    expect_error(&c, S("A: 12345678\r\n\r\n"), MOX_ERR_LIMIT, MOX_HDR_ERR_LINE_TOO_LONG, 10);
    expect_error(&c, S("A: 1\r\n 2345678901\r\n\r\n"), MOX_ERR_LIMIT, MOX_HDR_ERR_LINE_TOO_LONG, 16);
    expect_error(&c, S("Abcdefghijk: 1\r\n"), MOX_ERR_LIMIT, MOX_HDR_ERR_LINE_TOO_LONG, 10);

    c = (mox_header_config)MOX_HEADER_CONFIG_INIT;
    c.max_header_size = 14;
    /* exactly 14 octets including the empty line */
    check_invariant(&c, S("A: 1\r\nB: 2\r\n\r\nbody"), &r);
    assert_int_equal(r.rc, MOX_OK);
    assert_int_equal(r.body_off, 14);
    run_free(&r);
    expect_error(&c, S("A: 1\r\nB: 23\r\n\r\nbody"), MOX_ERR_LIMIT, MOX_HDR_ERR_TOO_BIG, 14);

    /* 0 means no limit */
    c = (mox_header_config)MOX_HEADER_CONFIG_INIT;
    c.max_line = 0;
    c.max_fields = 0;
    c.max_header_size = 0;
    size_t n = 200000;
    char *big = malloc(n + 8);
    memcpy(big, "A: ", 3);
    memset(big + 3, 'x', n);
    memcpy(big + 3 + n, "\r\n\r\n", 4);
    mox_headers *h = NULL;
    assert_int_equal(mox_headers_parse(big, n + 7, &c, &h, NULL, NULL), MOX_OK);
    assert_int_equal(mox_headers_get(h, 0)->value_len, n);
    mox_headers_free(h);
    mox_errinfo ei;
    assert_int_equal(mox_headers_parse(big, n + 7, NULL, &h, NULL, &ei), MOX_ERR_LIMIT);
    assert_int_equal(ei.detail, MOX_HDR_ERR_LINE_TOO_LONG);
    assert_int_equal(ei.offset, 998);
    assert_null(h);
    free(big);
}

static void test_bytes(void **state)
{
    (void)state;
    mox_header_config c = MOX_HEADER_CONFIG_INIT;
    struct run r;
    check_invariant(&c, "A: x\0y\r\n\r\n", 10, &r);
    assert_int_equal(r.rc, MOX_OK);
    run_free(&r);
    c.flags = MOX_HDR_REJECT_NUL;
    expect_error(&c, "A: x\0y\r\n\r\n", 10, MOX_ERR_SYNTAX, MOX_HDR_ERR_NUL, 4);

    c.flags = 0;
    check_invariant(&c, S("A: caf\xc3\xa9\r\n\r\n"), &r);
    assert_int_equal(r.rc, MOX_OK);
    assert_non_null(strstr((char *)r.log.data, "f=4 "));
    run_free(&r);
    c.flags = MOX_HDR_ASCII_ONLY;
    expect_error(&c, S("A: caf\xc3\xa9\r\n\r\n"), MOX_ERR_SYNTAX, MOX_HDR_ERR_8BIT, 6);

    c.flags = MOX_HDR_REQUIRE_UTF8;
    check_invariant(&c, S("A: caf\xc3\xa9 \xf0\x9f\x98\x80\r\n\r\n"), &r);
    assert_int_equal(r.rc, MOX_OK);
    run_free(&r);
    expect_error(&c, S("A: \xc3x\r\n\r\n"), MOX_ERR_UTF8, MOX_HDR_ERR_UTF8, 4);
    expect_error(&c, S("A: \xc3\r\n\r\n"), MOX_ERR_UTF8, MOX_HDR_ERR_UTF8, 4);
    expect_error(&c, S("A: \xc0\x80\r\n\r\n"), MOX_ERR_UTF8, MOX_HDR_ERR_UTF8, 3);  /* overlong */
    expect_error(&c, S("A: \xed\xa0\x80\r\n\r\n"), MOX_ERR_UTF8, MOX_HDR_ERR_UTF8, 4); /* surrogate */
    expect_error(&c, S("A: \xf4\x90\x80\x80\r\n"), MOX_ERR_UTF8, MOX_HDR_ERR_UTF8, 4); /* > U+10FFFF */
    expect_error(&c, S("A: \xe2\x82"), MOX_ERR_UTF8, MOX_HDR_ERR_UTF8, 5);
}

static void test_eof(void **state)
{
    (void)state;
    struct run r;
    check_invariant(NULL, S("A: 1\r\nB: 2"), &r);
    assert_int_equal(r.rc, MOX_OK);
    assert_int_equal(r.end, MOX_HDR_END_EOF);
    assert_int_equal(r.body_off, 10);
    assert_non_null(strstr((char *)r.log.data, "#1@6 f=8 name[1]=B value[1]=2 raw[4]=B: 2\n"));
    run_free(&r);

    check_invariant(NULL, S("A: 1\r\n"), &r);
    assert_int_equal(r.end, MOX_HDR_END_EOF);
    assert_int_equal(r.body_off, 6);
    assert_non_null(strstr((char *)r.log.data, "f=0 "));
    run_free(&r);

    check_invariant(NULL, S(""), &r);
    assert_int_equal(r.rc, MOX_OK);
    assert_int_equal(r.end, MOX_HDR_END_EOF);
    assert_int_equal(r.log.len, 0);
    run_free(&r);

    /* the empty line alone: no fields, body right after */
    check_invariant(NULL, S("\r\nbody"), &r);
    assert_int_equal(r.end, MOX_HDR_END_EMPTY_LINE);
    assert_int_equal(r.body_off, 2);
    run_free(&r);
}

static void test_callback_stop(void **state)
{
    (void)state;
    struct run r;
    memset(&r, 0, sizeof r);
    r.stop_at = 1;
    mox_header_parser *p;
    assert_int_equal(mox_header_parser_new(&p, NULL, log_field, &r), MOX_OK);
    mox_errinfo ei;
    assert_int_equal(mox_header_parser_feed(p, S("A: 1\r\nB: 2\r\nC: 3\r\n\r\n"), NULL, &ei),
                     MOX_ERR_PERM);
    assert_int_equal(ei.detail, MOX_HDR_ERR_CALLBACK);
    assert_int_equal(ei.offset, 6);
    assert_int_equal(mox_header_parser_count(p), 2);
    /* reset makes it usable again */
    mox_header_parser_reset(p);
    r.stop_at = -1;
    size_t used;
    assert_int_equal(mox_header_parser_feed(p, S("X: y\r\n\r\nzz"), &used, NULL), MOX_OK);
    assert_int_equal(used, 8);
    assert_int_equal(mox_header_parser_body_offset(p), 8);
    mox_header_parser_free(p);
    run_free(&r);
    mox_header_parser_free(NULL);

    /* invalid configuration */
    mox_header_config c = MOX_HEADER_CONFIG_INIT;
    c.bare_cr = 7;
    assert_int_equal(mox_header_parser_new(&p, &c, NULL, NULL), MOX_ERR_INVAL);
    c = (mox_header_config)MOX_HEADER_CONFIG_INIT;
    c.nonfield = 5;
    assert_int_equal(mox_header_parser_new(&p, &c, NULL, NULL), MOX_ERR_INVAL);
    /* an older, smaller config struct gets defaults for the rest */
    c = (mox_header_config)MOX_HEADER_CONFIG_INIT;
    c.size = offsetof(mox_header_config, max_line);
    c.max_fields = 1;
    c.max_line = 3;
    assert_int_equal(mox_header_parser_new(&p, &c, NULL, NULL), MOX_OK);
    assert_int_equal(mox_header_parser_feed(p, S("Long: line\r\n\r\n"), NULL, NULL), MOX_OK);
    assert_int_equal(mox_header_parser_feed(p, S("x"), NULL, NULL), MOX_OK);
    assert_int_equal(mox_header_parser_end(p), MOX_HDR_END_EMPTY_LINE);
    mox_header_parser_free(p);
}

static void test_headers_find(void **state)
{
    (void)state;
    mox_buf m = MOX_BUF_INIT;
    moxtest_read_data("message/dkim-rfc8463.eml", &m);
    mox_headers *h = NULL;
    size_t body;
    mox_errinfo ei;
    assert_int_equal(mox_headers_parse(m.data, m.len, NULL, &h, &body, &ei), MOX_OK);
    assert_int_equal(mox_headers_end(h), MOX_HDR_END_EMPTY_LINE);
    assert_int_equal(mox_headers_count(h), 7);
    size_t pos = 0;
    const mox_header_field *f;
    int n = 0;
    while ((f = mox_headers_find(h, "dkim-signature", &pos))) {
        assert_int_equal(f->index, (size_t)n);
        assert_true(f->flags & MOX_HDR_FIELD_FOLDED);
        /* raw bytes are exactly the input bytes */
        assert_memory_equal(f->raw, m.data + f->offset, f->raw_len);
        n++;
    }
    assert_int_equal(n, 2);
    f = mox_headers_find(h, "SUBJECT", NULL);
    assert_non_null(f);
    assert_int_equal(f->value_len, strlen("Is dinner ready?"));
    assert_memory_equal(f->value, "Is dinner ready?", f->value_len);
    assert_null(mox_headers_find(h, "X-Nope", NULL));
    assert_memory_equal(m.data + body, "Hi.", 3);
    mox_headers_free(h);
    mox_buf_free(&m);
}

struct sweep_arg {
    const char *in;
    size_t len;
    const mox_header_config *cfg;
};

static int sweep_headers(void *arg)
{
    struct sweep_arg *a = arg;
    mox_headers *h = NULL;
    int rc = mox_headers_parse(a->in, a->len, a->cfg, &h, NULL, NULL);
    if (rc == MOX_OK && mox_headers_count(h) == 0)
        rc = MOX_ERR_STATE;
    mox_headers_free(h);
    return rc;
}

static void test_alloc_sweep(void **state)
{
    (void)state;
    moxtest_alloc_install(); /* before the first allocation of this test */
    mox_buf m = MOX_BUF_INIT;
    moxtest_read_data("message/dkim-rfc8463.eml", &m);
    struct sweep_arg a = {(const char *)m.data, m.len, NULL};
    assert_true(moxtest_alloc_sweep(sweep_headers, &a, "mox_headers_parse") > 3);
    mox_header_config c = MOX_HEADER_CONFIG_INIT;
    c.nonfield = MOX_HDR_NONFIELD_END;
    c.bare_lf = MOX_EOL_NORMALIZE;
    static const char odd[] = "A: 1\nB: 2\n x\nnot a field\n";
    struct sweep_arg b = {odd, sizeof odd - 1, &c};
    moxtest_alloc_sweep(sweep_headers, &b, "mox_headers_parse nonfield");
    mox_buf_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_value_unfolding),
        cmocka_unit_test(test_chunking_corpus),
        cmocka_unit_test(test_chunking_random),
        cmocka_unit_test(test_bare_lf),
        cmocka_unit_test(test_bare_cr),
        cmocka_unit_test(test_nonfield),
        cmocka_unit_test(test_obs_ws),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_eof),
        cmocka_unit_test(test_callback_stop),
        cmocka_unit_test(test_headers_find),
        cmocka_unit_test(test_alloc_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
