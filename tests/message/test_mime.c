/* MIME walker, Content-Type parsing, needs-SMTPUTF8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moxtest.h"
#include "mox/message.h"

#define S(x) x, sizeof(x) - 1

static void test_ctype(void **state)
{
    (void)state;
    mox_mime_ctype ct = MOX_MIME_CTYPE_INIT;
    mox_errinfo ei;
    static const char v1[] = " Multipart/Mixed (comment (nested)) ;\r\n\tBoundary=\"a \\\"b\\\" c\";"
                             " charset = us-ascii (Plain) ; x=1; x=2; ;junk; y";
    assert_int_equal(mox_mime_ctype_parse(S(v1), &ct, &ei), MOX_OK);
    assert_string_equal(ct.type, "multipart");
    assert_string_equal(ct.subtype, "mixed");
    assert_int_equal(ct.nparams, 3);
    assert_string_equal(mox_mime_ctype_param(&ct, "BOUNDARY")->value, "a \"b\" c");
    assert_string_equal(mox_mime_ctype_param(&ct, "charset")->value, "us-ascii");
    assert_string_equal(mox_mime_ctype_param(&ct, "x")->value, "1"); /* first wins */
    assert_null(mox_mime_ctype_param(&ct, "y"));
    assert_null(mox_mime_ctype_param(&ct, "junk"));
    mox_mime_ctype_clear(&ct);

    /* Unquoted boundaries with tspecials, as real mailers write them. */
    static const char v2[] = "multipart/alternative; boundary=----=_Part_1_2.3?x";
    assert_int_equal(mox_mime_ctype_parse(S(v2), &ct, NULL), MOX_OK);
    assert_string_equal(mox_mime_ctype_param(&ct, "boundary")->value, "----=_Part_1_2.3?x");
    mox_mime_ctype_clear(&ct);

    /* RFC 2231 continuations and extended values (§3, §4, §4.1 examples). */
    static const char v3[] = "message/external-body; access-type=URL;"
                             " URL*0=\"ftp://\"; URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"";
    assert_int_equal(mox_mime_ctype_parse(S(v3), &ct, NULL), MOX_OK);
    assert_string_equal(mox_mime_ctype_param(&ct, "url")->value,
                        "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar");
    assert_null(mox_mime_ctype_param(&ct, "url")->charset);
    mox_mime_ctype_clear(&ct);
    static const char v4[] = "application/x-stuff;"
                             " title*0*=us-ascii'en'This%20is%20even%20more%20;"
                             " title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"";
    assert_int_equal(mox_mime_ctype_parse(S(v4), &ct, NULL), MOX_OK);
    const mox_mime_param *p = mox_mime_ctype_param(&ct, "title");
    assert_string_equal(p->value, "This is even more ***fun*** isn't it!");
    assert_string_equal(p->charset, "us-ascii");
    mox_mime_ctype_clear(&ct);
    static const char v5[] = "multipart/mixed; boundary=plain; boundary*=utf-8''%41%42c%zz%4";
    assert_int_equal(mox_mime_ctype_parse(S(v5), &ct, NULL), MOX_OK);
    p = mox_mime_ctype_param(&ct, "boundary");
    assert_string_equal(p->value, "ABc%zz%4"); /* extended form wins; bad escapes kept */
    assert_string_equal(p->charset, "utf-8");
    assert_int_equal(ct.nparams, 1);
    mox_mime_ctype_clear(&ct);
    /* a continuation without section 0 is ignored; %00 keeps its length */
    static const char v6[] = "text/plain; name*1=x; n*=''a%00b";
    assert_int_equal(mox_mime_ctype_parse(S(v6), &ct, NULL), MOX_OK);
    assert_null(mox_mime_ctype_param(&ct, "name"));
    assert_int_equal(mox_mime_ctype_param(&ct, "n")->value_len, 3);
    mox_mime_ctype_clear(&ct);

    static const char *const bad[] = {"", "text", "text/", "/plain", "text plain", "(c)", "\"text\"/plain"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ct.type = (char *)"junk";
        assert_int_equal(mox_mime_ctype_parse(bad[i], strlen(bad[i]), &ct, &ei), MOX_ERR_SYNTAX);
        assert_int_equal(ei.detail, MOX_MIME_ERR_CTYPE);
        assert_null(ct.type);
    }
    mox_mime_ctype_clear(NULL);
}

static const mox_mime_part *part(const mox_mime *m, size_t i)
{
    const mox_mime_part *p = mox_mime_get(m, i);
    assert_non_null(p);
    assert_int_equal(p->index, i);
    return p;
}

static void assert_body(const char *msg, const mox_mime_part *p, const char *want)
{
    if (p->body_len != strlen(want) || memcmp(msg + p->body_offset, want, p->body_len))
        fail_msg("part %zu body is [%.*s], want [%s]", p->index, (int)p->body_len,
                 msg + p->body_offset, want);
}

/* Checks the structural invariants every walk must satisfy. */
static void check_tree(const mox_mime *m, size_t len)
{
    size_t n = mox_mime_count(m);
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++) {
        const mox_mime_part *p = part(m, i);
        assert_true(p->offset + p->header_len == p->body_offset);
        assert_true(p->body_offset + p->body_len <= len);
        assert_non_null(p->headers);
        assert_non_null(p->ctype);
        assert_non_null(p->media_type);
        assert_non_null(p->encoding);
        size_t kids = 0;
        for (size_t c = p->first_child; c != MOX_MIME_NONE; c = mox_mime_get(m, c)->next_sibling) {
            const mox_mime_part *k = mox_mime_get(m, c);
            assert_int_equal(k->parent, i);
            assert_int_equal(k->depth, p->depth + 1);
            assert_true(k->offset >= p->body_offset);
            assert_true(k->body_offset + k->body_len <= p->body_offset + p->body_len);
            kids++;
        }
        assert_int_equal(kids, p->nchildren);
        if (p->flags & MOX_MIME_F_MULTIPART) {
            assert_non_null(p->boundary);
            assert_true(p->preamble_offset >= p->body_offset);
            assert_true(p->epilogue_offset + p->epilogue_len == p->body_offset + p->body_len);
        } else {
            assert_null(p->boundary);
        }
    }
}

static void test_real_nested(void **state)
{
    (void)state;
    mox_buf b = MOX_BUF_INIT;
    moxtest_read_data("message/outlook.eml", &b);
    const char *msg = (const char *)b.data;
    mox_mime *m = NULL;
    mox_errinfo ei;
    assert_int_equal(mox_mime_walk(b.data, b.len, NULL, &m, &ei), MOX_OK);
    check_tree(m, b.len);
    assert_int_equal(mox_mime_count(m), 6);
    static const char *const types[] = {"multipart/mixed", "multipart/related",
                                        "multipart/alternative", "text/plain", "text/html",
                                        "application/gzip"};
    static const size_t depth[] = {0, 1, 2, 3, 3, 1};
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(part(m, i)->media_type, types[i]);
        assert_int_equal(part(m, i)->depth, depth[i]);
        assert_int_equal(part(m, i)->flags & MOX_MIME_F_NO_CLOSE, 0);
    }
    const mox_mime_part *root = part(m, 0);
    assert_string_equal(root->boundary, "_mpm_a4bcd9a515b44b9d8eceb05d7333675fpiotk5m200exchangecorpm_");
    assert_int_equal(root->nchildren, 2);
    assert_int_equal(root->first_child, 1);
    assert_int_equal(part(m, 1)->next_sibling, 5);
    assert_memory_equal(msg + root->preamble_offset, "This is a multi-part message in MIME format.\r\n",
                        root->preamble_len);
    assert_int_equal(root->epilogue_len, 0); /* the close delimiter ends the message */
    assert_int_equal(root->epilogue_offset, b.len);
    const mox_mime_part *p3 = part(m, 3);
    assert_true(p3->flags & MOX_MIME_F_DEFAULT_CTYPE);
    assert_int_equal(p3->header_len, 2);
    assert_body(msg, p3, "");
    const mox_mime_part *p4 = part(m, 4);
    assert_int_equal(p4->cte, MOX_MIME_CTE_BASE64);
    assert_string_equal(p4->encoding, "base64");
    assert_string_equal(mox_mime_ctype_param(p4->ctype, "charset")->value, "us-ascii");
    assert_memory_equal(msg + p4->body_offset, "PGRpdiBzdHlsZSA9", 16);
    /* the empty line before the delimiter is body; only the last CRLF is not */
    assert_memory_equal(msg + p4->body_offset + p4->body_len - 4, "==\r\n", 4);
    const mox_mime_part *p5 = part(m, 5);
    assert_int_equal(mox_headers_count(p5->headers), 5);
    assert_memory_equal(msg + p5->body_offset, "H4sIAAAA", 8);
    assert_memory_equal(msg + p5->body_offset + p5->body_len - 7, "KBQAA\r\n", 7);
    assert_int_equal(p5->next_sibling, MOX_MIME_NONE);
    /* headers of the parts carry absolute offsets */
    const mox_header_field *f = mox_headers_find(p5->headers, "content-id", NULL);
    assert_memory_equal(msg + f->offset, "Content-ID:", 11);
    mox_mime_free(m);

    static const char *const others[] = {"message/google.eml", "message/yahoo.eml",
                                         "message/dkim-rfc8463.eml"};
    for (size_t i = 0; i < 3; i++) {
        mox_buf_reset(&b);
        moxtest_read_data(others[i], &b);
        assert_int_equal(mox_mime_walk(b.data, b.len, NULL, &m, NULL), MOX_OK);
        check_tree(m, b.len);
        mox_mime_free(m);
    }
    mox_buf_free(&b);
}

static void test_ranges(void **state)
{
    (void)state;
    static const char msg[] = "Content-Type: multipart/mixed; boundary=XX\r\n"
                              "\r\n"
                              "pre\r\n"
                              "--XX\r\n"
                              "Content-Type: text/plain\r\n"
                              "\r\n"
                              "one\r\n"
                              "--XX   \r\n" /* transport padding */
                              "\r\n"
                              "two\r\n"
                              "\r\n"
                              "--XXnot a delimiter\r\n"
                              "--XX--\r\n"
                              "epi\r\n";
    mox_mime *m = NULL;
    assert_int_equal(mox_mime_walk(S(msg), NULL, &m, NULL), MOX_OK);
    check_tree(m, sizeof msg - 1);
    assert_int_equal(mox_mime_count(m), 3);
    const mox_mime_part *r = part(m, 0);
    assert_int_equal(r->flags, MOX_MIME_F_MULTIPART);
    assert_memory_equal(msg + r->preamble_offset, "pre", 3);
    assert_int_equal(r->preamble_len, 3);
    assert_memory_equal(msg + r->epilogue_offset, "epi\r\n", 5);
    assert_int_equal(r->epilogue_len, 5);
    assert_body(msg, part(m, 1), "one");
    assert_body(msg, part(m, 2), "two\r\n\r\n--XXnot a delimiter");
    assert_true(part(m, 2)->flags & MOX_MIME_F_DEFAULT_CTYPE);
    assert_string_equal(part(m, 2)->media_type, "text/plain");
    assert_string_equal(mox_mime_ctype_param(part(m, 2)->ctype, "charset")->value, "us-ascii");
    mox_mime_free(m);

    /* Bare LF line endings and a delimiter right at the body start. */
    static const char lf[] = "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n\na\n--b\n\nb\n--b--";
    assert_int_equal(mox_mime_walk(S(lf), NULL, &m, NULL), MOX_OK);
    check_tree(m, sizeof lf - 1);
    assert_int_equal(part(m, 0)->preamble_len, 0);
    assert_int_equal(part(m, 0)->epilogue_len, 0);
    assert_body(lf, part(m, 1), "a");
    assert_body(lf, part(m, 2), "b");
    mox_mime_free(m);
}

static void test_missing_close(void **state)
{
    (void)state;
    /* The inner multipart lacks its close delimiter: the outer delimiter
     * ends it. The outer one lacks it too: its last part runs to the end. */
    static const char msg[] = "Content-Type: multipart/mixed; boundary=out\r\n"
                              "\r\n"
                              "--out\r\n"
                              "Content-Type: multipart/alternative; boundary=in\r\n"
                              "\r\n"
                              "--in\r\n"
                              "\r\n"
                              "x\r\n"
                              "--in\r\n"
                              "\r\n"
                              "y\r\n"
                              "--out\r\n"
                              "\r\n"
                              "tail\r\n";
    mox_mime *m = NULL;
    assert_int_equal(mox_mime_walk(S(msg), NULL, &m, NULL), MOX_OK);
    check_tree(m, sizeof msg - 1);
    assert_int_equal(mox_mime_count(m), 5);
    assert_true(part(m, 0)->flags & MOX_MIME_F_NO_CLOSE);
    assert_true(part(m, 1)->flags & MOX_MIME_F_NO_CLOSE);
    assert_body(msg, part(m, 2), "x");
    assert_body(msg, part(m, 3), "y");
    assert_body(msg, part(m, 4), "tail\r\n");
    assert_int_equal(part(m, 4)->depth, 1);
    assert_int_equal(part(m, 0)->epilogue_len, 0);
    mox_mime_free(m);

    /* No delimiter at all: everything is preamble, no children. */
    static const char none[] = "Content-Type: multipart/mixed; boundary=zz\r\n\r\nhello\r\n";
    assert_int_equal(mox_mime_walk(S(none), NULL, &m, NULL), MOX_OK);
    assert_int_equal(mox_mime_count(m), 1);
    assert_int_equal(part(m, 0)->flags, MOX_MIME_F_MULTIPART | MOX_MIME_F_NO_CLOSE);
    assert_int_equal(part(m, 0)->preamble_len, 7);
    assert_int_equal(part(m, 0)->nchildren, 0);
    mox_mime_free(m);
}

static void test_leaf_cases(void **state)
{
    (void)state;
    mox_mime *m = NULL;
    static const char nob[] = "Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\na\r\n--x--\r\n";
    assert_int_equal(mox_mime_walk(S(nob), NULL, &m, NULL), MOX_OK);
    assert_int_equal(mox_mime_count(m), 1);
    assert_int_equal(part(m, 0)->flags, MOX_MIME_F_NO_BOUNDARY);
    mox_mime_free(m);

    static const char enc[] = "Content-Type: multipart/mixed; boundary=x\r\n"
                              "Content-Transfer-Encoding: BASE64 (why)\r\n\r\n--x\r\n\r\na\r\n--x--\r\n";
    assert_int_equal(mox_mime_walk(S(enc), NULL, &m, NULL), MOX_OK);
    assert_int_equal(mox_mime_count(m), 1);
    assert_int_equal(part(m, 0)->flags, MOX_MIME_F_ENCODED);
    assert_string_equal(part(m, 0)->encoding, "base64");
    mox_mime_free(m);

    static const char badct[] = "Content-Type: garbage\r\nContent-Transfer-Encoding: x-uue\r\n\r\nbody";
    assert_int_equal(mox_mime_walk(S(badct), NULL, &m, NULL), MOX_OK);
    assert_int_equal(part(m, 0)->flags, MOX_MIME_F_BAD_CTYPE);
    assert_string_equal(part(m, 0)->media_type, "text/plain");
    assert_int_equal(part(m, 0)->cte, MOX_MIME_CTE_OTHER);
    assert_string_equal(part(m, 0)->encoding, "x-uue");
    assert_body(badct, part(m, 0), "body");
    mox_mime_free(m);

    /* headers only, no empty line; and a non-field line ending headers */
    static const char ho[] = "Subject: x\r\n";
    assert_int_equal(mox_mime_walk(S(ho), NULL, &m, NULL), MOX_OK);
    assert_int_equal(part(m, 0)->flags, MOX_MIME_F_NO_HEADER_END | MOX_MIME_F_DEFAULT_CTYPE);
    assert_int_equal(part(m, 0)->body_len, 0);
    mox_mime_free(m);
    static const char nf[] = "Subject: x\r\nthis is body\r\n";
    assert_int_equal(mox_mime_walk(S(nf), NULL, &m, NULL), MOX_OK);
    assert_true(part(m, 0)->flags & MOX_MIME_F_NONFIELD);
    assert_body(nf, part(m, 0), "this is body\r\n");
    mox_mime_free(m);
    assert_int_equal(mox_mime_walk("", 0, NULL, &m, NULL), MOX_OK);
    assert_int_equal(mox_mime_count(m), 1);
    assert_null(mox_mime_get(m, 1));
    mox_mime_free(m);
    mox_mime_free(NULL);
}

static const char embedded[] = "Content-Type: multipart/digest; boundary=d\r\n"
                               "\r\n"
                               "--d\r\n"
                               "\r\n"
                               "Subject: inner \xc3\xa9\r\n"
                               "Content-Type: multipart/alternative; boundary=e\r\n"
                               "\r\n"
                               "--e\r\n"
                               "Content-Type: text/plain\r\n"
                               "\r\n"
                               "deep\r\n"
                               "--e--\r\n"
                               "--d\r\n"
                               "Content-Type: text/plain\r\n"
                               "\r\n"
                               "plain \xc3\xa9 body\r\n"
                               "--d--\r\n";

static void test_message_rfc822(void **state)
{
    (void)state;
    mox_mime *m = NULL;
    assert_int_equal(mox_mime_walk(S(embedded), NULL, &m, NULL), MOX_OK);
    check_tree(m, sizeof embedded - 1);
    /* 0 digest, 1 message/rfc822 (default in a digest), 2 its message,
     * 3 text/plain inside, 4 text/plain */
    assert_int_equal(mox_mime_count(m), 5);
    assert_string_equal(part(m, 1)->media_type, "message/rfc822");
    assert_int_equal(part(m, 1)->flags, MOX_MIME_F_MESSAGE | MOX_MIME_F_DEFAULT_CTYPE);
    assert_int_equal(part(m, 2)->flags, MOX_MIME_F_MULTIPART | MOX_MIME_F_IN_MESSAGE);
    assert_int_equal(part(m, 2)->depth, 2);
    assert_true(part(m, 3)->flags & MOX_MIME_F_IN_MESSAGE);
    assert_body(embedded, part(m, 3), "deep");
    assert_int_equal(part(m, 4)->flags, 0);
    mox_mime_free(m);

    mox_mime_config c = MOX_MIME_CONFIG_INIT;
    c.flags = MOX_MIME_NO_DESCEND_MESSAGE;
    assert_int_equal(mox_mime_walk(S(embedded), &c, &m, NULL), MOX_OK);
    assert_int_equal(mox_mime_count(m), 3);
    assert_int_equal(part(m, 1)->flags, MOX_MIME_F_DEFAULT_CTYPE);
    mox_mime_free(m);
}

static void test_limits(void **state)
{
    (void)state;
    /* 30 nested multiparts */
    mox_buf b = MOX_BUF_INIT;
    for (int i = 0; i < 30; i++)
        mox_buf_appendf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i);
    mox_buf_append_str(&b, "\r\nleaf\r\n");
    mox_mime *m = NULL;
    mox_errinfo ei;
    assert_int_equal(mox_mime_walk(b.data, b.len, NULL, &m, &ei), MOX_ERR_LIMIT);
    assert_int_equal(ei.detail, MOX_MIME_ERR_DEPTH);
    assert_null(m);
    mox_mime_config c = MOX_MIME_CONFIG_INIT;
    c.max_depth = 30;
    assert_int_equal(mox_mime_walk(b.data, b.len, &c, &m, &ei), MOX_OK);
    assert_int_equal(mox_mime_count(m), 31);
    assert_int_equal(part(m, 30)->depth, 30);
    check_tree(m, b.len);
    mox_mime_free(m);

    /* parts limit */
    mox_buf_reset(&b);
    mox_buf_append_str(&b, "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
    for (int i = 0; i < 20; i++)
        mox_buf_append_str(&b, "--p\r\n\r\nx\r\n");
    mox_buf_append_str(&b, "--p--\r\n");
    c = (mox_mime_config)MOX_MIME_CONFIG_INIT;
    c.max_parts = 10;
    assert_int_equal(mox_mime_walk(b.data, b.len, &c, &m, &ei), MOX_ERR_LIMIT);
    assert_int_equal(ei.detail, MOX_MIME_ERR_PARTS);
    c.max_parts = 21;
    assert_int_equal(mox_mime_walk(b.data, b.len, &c, &m, &ei), MOX_OK);
    mox_mime_free(m);

    /* a strict header configuration applies to every part, with absolute
     * offsets in errors */
    mox_header_config h = MOX_HEADER_CONFIG_INIT;
    c = (mox_mime_config)MOX_MIME_CONFIG_INIT;
    c.header = &h;
    static const char bad[] = "Content-Type: multipart/mixed; boundary=p\r\n\r\n--p\r\nX: a\rb\r\n\r\n--p--\r\n";
    assert_int_equal(mox_mime_walk(S(bad), &c, &m, &ei), MOX_ERR_SYNTAX);
    assert_int_equal(ei.detail, MOX_HDR_ERR_BARE_CR);
    assert_int_equal(ei.offset, 54);
    h.bare_cr = 9;
    assert_int_equal(mox_mime_walk(S(bad), &c, &m, &ei), MOX_ERR_INVAL);
    mox_buf_free(&b);
}

static void test_smtputf8(void **state)
{
    (void)state;
    int needs = -1;
    assert_int_equal(mox_message_needs_smtputf8(S("Subject: plain\r\n\r\nbody\r\n"), 0, &needs, NULL),
                     MOX_OK);
    assert_int_equal(needs, 0);
    /* 8-bit body only: 8BITMIME, not SMTPUTF8 */
    assert_int_equal(mox_message_needs_smtputf8(S("Subject: plain\r\n\r\nb\xc3\xa9\r\n"), 0, &needs, NULL),
                     MOX_OK);
    assert_int_equal(needs, 0);
    assert_int_equal(mox_message_needs_smtputf8(S("Subject: caf\xc3\xa9\r\n\r\nbody\r\n"), 0, &needs, NULL),
                     MOX_OK);
    assert_int_equal(needs, 1);
    /* non-ASCII in a part header */
    static const char ph[] = "Content-Type: multipart/mixed; boundary=p\r\n\r\n--p\r\n"
                             "Content-Disposition: attachment; filename=\"\xc3\xa9.txt\"\r\n\r\nx\r\n--p--\r\n";
    assert_int_equal(mox_message_needs_smtputf8(S(ph), 0, &needs, NULL), MOX_OK);
    assert_int_equal(needs, 1);
    /* headers of an embedded message count only with the flag; the 8-bit
     * text/plain body never does */
    assert_int_equal(mox_message_needs_smtputf8(S(embedded), 0, &needs, NULL), MOX_OK);
    assert_int_equal(needs, 0);
    assert_int_equal(mox_message_needs_smtputf8(S(embedded), MOX_SMTPUTF8_EMBEDDED, &needs, NULL),
                     MOX_OK);
    assert_int_equal(needs, 1);
    assert_int_equal(mox_message_needs_smtputf8(NULL, 0, 0, &needs, NULL), MOX_OK);
    assert_int_equal(needs, 0);
    assert_int_equal(mox_message_needs_smtputf8(NULL, 1, 0, &needs, NULL), MOX_ERR_INVAL);
}

struct sweep_arg {
    const char *msg;
    size_t len;
};

static int sweep_walk(void *arg)
{
    struct sweep_arg *a = arg;
    mox_mime *m = NULL;
    int rc = mox_mime_walk(a->msg, a->len, NULL, &m, NULL);
    mox_mime_free(m);
    if (rc)
        return rc;
    int needs;
    rc = mox_message_needs_smtputf8(a->msg, a->len, MOX_SMTPUTF8_EMBEDDED, &needs, NULL);
    return rc ? rc : needs;
}

static int sweep_ctype(void *arg)
{
    (void)arg;
    static const char v[] = "text/plain; title*0*=us-ascii'en'This%20is; title*1=\" more\"; a=b; c=\"d\"";
    mox_mime_ctype ct = MOX_MIME_CTYPE_INIT;
    int rc = mox_mime_ctype_parse(S(v), &ct, NULL);
    mox_mime_ctype_clear(&ct);
    return rc;
}

static void test_alloc_sweep(void **state)
{
    (void)state;
    moxtest_alloc_install();
    mox_buf b = MOX_BUF_INIT;
    moxtest_read_data("message/outlook.eml", &b);
    struct sweep_arg a = {(const char *)b.data, b.len};
    assert_true(moxtest_alloc_sweep(sweep_walk, &a, "mox_mime_walk outlook") > 20);
    struct sweep_arg e = {embedded, sizeof embedded - 1};
    moxtest_alloc_sweep(sweep_walk, &e, "mox_mime_walk embedded");
    moxtest_alloc_sweep(sweep_ctype, NULL, "mox_mime_ctype_parse");
    mox_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctype),
        cmocka_unit_test(test_real_nested),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_missing_close),
        cmocka_unit_test(test_leaf_cases),
        cmocka_unit_test(test_message_rfc822),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_smtputf8),
        cmocka_unit_test(test_alloc_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
