/* DSN composition and parsing (RFC 3464, RFC 6522, RFC 6533), FromIDs. */
#include <stdlib.h>
#include <string.h>

#include "moxtest.h"
#include "mox/dsn.h"
#include "mox/message.h"

static const char orig_msg[] = "Message-ID: <orig@example.org>\r\n"
                               "From: alice@example.org\r\n"
                               "Subject: hi\r\n"
                               "\r\n"
                               "line one\n"
                               "line two\r\n";

static int64_t fixed_wall(void *ctx)
{
    (void)ctx;
    return 1765000000LL * 1000000000LL;
}

static int counter_fill(void *ctx, void *buf, size_t n)
{
    unsigned *c = ctx;
    for (size_t i = 0; i < n; i++)
        ((unsigned char *)buf)[i] = (unsigned char)(*c)++;
    return MOX_OK;
}

static unsigned rctr;
static mox_clock clk = {sizeof(mox_clock), NULL, fixed_wall, NULL};
static mox_random rnd = {sizeof(mox_random), &rctr, counter_fill};
static mox_env env = {sizeof(mox_env), NULL, NULL, &clk, &rnd};

static void base_params(mox_dsn_compose_params *p, mox_dsn_recipient *r, size_t n)
{
    mox_dsn_compose_params_init(p, sizeof *p);
    p->env = &env;
    p->reporting_mta = "mail.example.org";
    p->to = "alice@example.org";
    p->original = orig_msg;
    p->original_len = sizeof orig_msg - 1;
    p->original_envid = "ENV 1";
    p->arrival_date = 1764990000;
    p->original_message_id = "<orig@example.org>";
    p->rcpts = r;
    p->nrcpts = n;
}

static void test_compose_parse_roundtrip(void **state)
{
    (void)state;
    mox_dsn_recipient r[2] = {{0}, {0}};
    r[0].final_recipient = "bob@example.net";
    r[0].original_recipient = "rfc822;Bob@example.net";
    r[0].action = MOX_DSN_ACTION_FAILED;
    r[0].status = "5.1.1";
    r[0].remote_mta = "mx.example.net";
    r[0].diagnostic = "550 5.1.1 no such user";
    r[0].last_attempt = 1764999000;
    r[1].final_recipient = "carol@example.net";
    r[1].action = MOX_DSN_ACTION_DELAYED;
    r[1].status = "4.4.1";
    r[1].will_retry_until = 1765300000;
    mox_dsn_compose_params p;
    base_params(&p, r, 2);
    mox_buf out = MOX_BUF_INIT;
    mox_errinfo ei;
    assert_int_equal(mox_dsn_compose(&p, &out, &ei), MOX_OK);
    const char *s = (const char *)out.data;
    assert_non_null(strstr(s, "Content-Type: multipart/report; report-type=delivery-status;"));
    assert_non_null(strstr(s, "Auto-Submitted: auto-replied\r\n"));
    assert_non_null(strstr(s, "In-Reply-To: <orig@example.org>\r\n"));
    assert_non_null(strstr(s, "Subject: Mail delivery failed\r\n"));
    assert_non_null(strstr(s, "Content-Type: message/delivery-status\r\n"));
    assert_non_null(strstr(s, "Content-Type: text/rfc822-headers\r\n"));
    assert_null(strstr(s, "line one")); /* headers only by default */
    assert_non_null(strstr(s, "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n"));
    /* every line ends in CRLF */
    for (size_t i = 0; i < out.len; i++)
        if (out.data[i] == '\n')
            assert_true(i > 0 && out.data[i - 1] == '\r');

    /* The result is a well-formed MIME message the walker agrees with. */
    mox_mime *m = NULL;
    assert_int_equal(mox_mime_walk(out.data, out.len, NULL, &m, NULL), MOX_OK);
    assert_string_equal(mox_mime_get(m, 0)->media_type, "multipart/report");
    assert_int_equal(mox_mime_get(m, 0)->nchildren, 3);
    mox_mime_free(m);

    mox_dsn *d = NULL;
    assert_int_equal(mox_dsn_parse(out.data, out.len, NULL, &d, &ei), MOX_OK);
    const mox_dsn_report *rep = mox_dsn_get(d);
    assert_int_equal(rep->global, 0);
    assert_string_equal(rep->reporting_mta, "mail.example.org");
    assert_string_equal(rep->reporting_mta_type, "dns");
    assert_string_equal(rep->original_envid, "ENV 1");
    assert_int_equal(rep->arrival_date, 1764990000);
    assert_int_equal(rep->nrcpts, 2);
    assert_string_equal(rep->rcpts[0].final_recipient, "bob@example.net");
    assert_string_equal(rep->rcpts[0].final_type, "rfc822");
    assert_string_equal(rep->rcpts[0].original_recipient, "rfc822;Bob@example.net");
    assert_int_equal(rep->rcpts[0].action, MOX_DSN_ACTION_FAILED);
    assert_string_equal(rep->rcpts[0].status, "5.1.1");
    assert_string_equal(rep->rcpts[0].remote_mta, "mx.example.net");
    assert_string_equal(rep->rcpts[0].diagnostic_type, "smtp");
    assert_string_equal(rep->rcpts[0].diagnostic, "550 5.1.1 no such user");
    assert_int_equal(rep->rcpts[0].last_attempt, 1764999000);
    assert_int_equal(rep->rcpts[1].action, MOX_DSN_ACTION_DELAYED);
    assert_int_equal(rep->rcpts[1].will_retry_until, 1765300000);
    assert_int_equal(rep->original_headers_only, 1);
    assert_string_equal(rep->original_message_id, "<orig@example.org>");
    assert_true(rep->original_len > 0);
    assert_non_null(memmem(out.data + rep->original_offset, rep->original_len, "Subject: hi", 11));
    mox_dsn_free(d);
    mox_buf_free(&out);
}

static void test_compose_full_and_global(void **state)
{
    (void)state;
    mox_dsn_recipient r = {0};
    r.final_recipient = "jürgen@example.com";
    r.action = MOX_DSN_ACTION_FAILED;
    r.status = "5.2.2";
    r.diagnostic = "552 5.2.2 Postfach voll";
    mox_dsn_compose_params p;
    base_params(&p, &r, 1);
    p.to = "dörte@example.org";
    p.text = "Ihre Nachricht an Jürgen konnte nicht zugestellt werden.\n";
    mox_buf out = MOX_BUF_INIT;
    /* Without smtputf8 a UTF-8 address is refused. */
    mox_errinfo ei;
    assert_int_equal(mox_dsn_compose(&p, &out, &ei), MOX_ERR_INVAL);
    assert_int_equal(ei.detail, MOX_DSN_ERR_ARG);
    assert_int_equal(out.len, 0);
    p.smtputf8 = 1;
    p.ret = MOX_DSN_RETURN_FULL;
    assert_int_equal(mox_dsn_compose(&p, &out, &ei), MOX_OK);
    const char *s = (const char *)out.data;
    assert_non_null(strstr(s, "Content-Type: message/global-delivery-status\r\n"));
    assert_non_null(strstr(s, "Content-Type: message/global\r\n"));
    assert_non_null(strstr(s, "Final-Recipient: utf-8; jürgen@example.com\r\n"));
    assert_non_null(strstr(s, "charset=utf-8\r\nContent-Transfer-Encoding: base64"));
    assert_non_null(strstr(s, "line one\r\nline two\r\n")); /* LF made CRLF */
    mox_dsn *d = NULL;
    assert_int_equal(mox_dsn_parse(out.data, out.len, NULL, &d, &ei), MOX_OK);
    const mox_dsn_report *rep = mox_dsn_get(d);
    assert_int_equal(rep->global, 1);
    assert_string_equal(rep->rcpts[0].final_recipient, "jürgen@example.com");
    assert_string_equal(rep->rcpts[0].final_type, "utf-8");
    assert_int_equal(rep->original_headers_only, 0);
    assert_non_null(memmem(out.data + rep->original_offset, rep->original_len, "line two", 8));
    mox_dsn_free(d);

    /* RETURN_NOTHING: two parts. */
    mox_buf_reset(&out);
    p.ret = MOX_DSN_RETURN_NOTHING;
    assert_int_equal(mox_dsn_compose(&p, &out, NULL), MOX_OK);
    mox_mime *m = NULL;
    assert_int_equal(mox_mime_walk(out.data, out.len, NULL, &m, NULL), MOX_OK);
    assert_int_equal(mox_mime_get(m, 0)->nchildren, 2);
    mox_mime_free(m);
    /* FULL over the size limit falls back to headers. */
    mox_buf_reset(&out);
    p.ret = MOX_DSN_RETURN_FULL;
    p.max_original = 10;
    assert_int_equal(mox_dsn_compose(&p, &out, NULL), MOX_OK);
    assert_non_null(strstr((char *)out.data, "message/global-headers"));
    assert_null(strstr((char *)out.data, "line two"));
    mox_buf_free(&out);
}

static void test_compose_refuses_injection(void **state)
{
    (void)state;
    mox_dsn_recipient r = {0};
    r.final_recipient = "bob@example.net";
    r.action = MOX_DSN_ACTION_FAILED;
    r.status = "5.0.0";
    r.diagnostic = "550 bad\r\nBcc: victim@example.com";
    mox_dsn_compose_params p;
    base_params(&p, &r, 1);
    mox_buf out = MOX_BUF_INIT;
    mox_buf_append_str(&out, "keep");
    mox_errinfo ei;
    assert_int_equal(mox_dsn_compose(&p, &out, &ei), MOX_ERR_INVAL);
    assert_int_equal(ei.code, MOX_ERR_INVAL);
    assert_int_equal(out.len, 4);
    r.diagnostic = NULL;
    r.status = "5.1";
    assert_int_equal(mox_dsn_compose(&p, &out, &ei), MOX_ERR_INVAL);
    r.status = "6.1.1";
    assert_int_equal(mox_dsn_compose(&p, &out, &ei), MOX_ERR_INVAL);
    r.status = "5.1000.1";
    assert_int_equal(mox_dsn_compose(&p, &out, &ei), MOX_ERR_INVAL);
    r.status = "5.1.1";
    r.action = 99;
    assert_int_equal(mox_dsn_compose(&p, &out, &ei), MOX_ERR_INVAL);
    r.action = MOX_DSN_ACTION_FAILED;
    p.reporting_mta = NULL;
    assert_int_equal(mox_dsn_compose(&p, &out, &ei), MOX_ERR_INVAL);
    p.reporting_mta = "mail.example.org";
    p.nrcpts = 0;
    assert_int_equal(mox_dsn_compose(&p, &out, &ei), MOX_ERR_INVAL);
    p.nrcpts = 1;
    p.subject = "x\ny";
    assert_int_equal(mox_dsn_compose(&p, &out, &ei), MOX_ERR_INVAL);
    p.subject = NULL;
    assert_int_equal(mox_dsn_compose(NULL, &out, &ei), MOX_ERR_INVAL);
    assert_int_equal(mox_dsn_compose(&p, &out, &ei), MOX_OK);
    assert_memory_equal(out.data, "keep", 4);
    mox_buf_free(&out);
}

static void test_parse_postfix(void **state)
{
    (void)state;
    mox_buf b = MOX_BUF_INIT;
    moxtest_read_data("dsn/postfix.eml", &b);
    mox_dsn *d = NULL;
    mox_errinfo ei;
    assert_int_equal(mox_dsn_parse(b.data, b.len, NULL, &d, &ei), MOX_OK);
    const mox_dsn_report *r = mox_dsn_get(d);
    assert_string_equal(r->reporting_mta, "mail.example.net");
    assert_string_equal(r->original_envid, "env-42");
    /* Mon, 7 Dec 2026 09:59:58 +0100 */
    assert_int_equal(r->arrival_date, 1796633998);
    assert_int_equal(r->nrcpts, 2);
    assert_string_equal(r->rcpts[0].final_recipient, "bob@example.net");
    assert_string_equal(r->rcpts[0].original_recipient, "rfc822;Bob@example.net");
    assert_int_equal(r->rcpts[0].action, MOX_DSN_ACTION_FAILED);
    assert_string_equal(r->rcpts[0].status, "5.1.1");
    assert_non_null(strstr(r->rcpts[0].diagnostic, "User unknown in local recipient table"));
    assert_int_equal(r->rcpts[1].action, MOX_DSN_ACTION_DELAYED);
    assert_string_equal(r->rcpts[1].diagnostic_type, "X-Postfix");
    assert_int_equal(r->rcpts[1].will_retry_until, 1796720400);
    assert_int_equal(r->original_headers_only, 1);
    assert_string_equal(r->original_message_id, "<orig-1@example.org>");
    mox_dsn_free(d);

    /* The FromID of the envelope recipient. */
    char id[64];
    assert_int_equal(mox_dsn_fromid_extract("alice+k3j5x8q2m9p1z7w4@example.org", "+", id,
                                            sizeof id, &ei),
                     MOX_OK);
    assert_string_equal(id, "k3j5x8q2m9p1z7w4");
    mox_buf_free(&b);
}

static void test_parse_global_base64(void **state)
{
    (void)state;
    mox_buf b = MOX_BUF_INIT;
    moxtest_read_data("dsn/global-b64.eml", &b);
    mox_dsn *d = NULL;
    assert_int_equal(mox_dsn_parse(b.data, b.len, NULL, &d, NULL), MOX_OK);
    const mox_dsn_report *r = mox_dsn_get(d);
    assert_int_equal(r->global, 1);
    assert_string_equal(r->rcpts[0].final_recipient, "jürgen@example.com");
    assert_string_equal(r->rcpts[0].status, "5.2.2");
    assert_string_equal(r->original_message_id, "<m2@example.org>");
    assert_int_equal(r->original_headers_only, 0);
    mox_dsn_free(d);
    mox_buf_free(&b);
}

static void test_parse_errors(void **state)
{
    (void)state;
    mox_dsn *d = (mox_dsn *)1;
    mox_errinfo ei;
    const char *plain = "Subject: hi\r\n\r\nbody\r\n";
    assert_int_equal(mox_dsn_parse(plain, strlen(plain), NULL, &d, &ei), MOX_ERR_NOTFOUND);
    assert_null(d);
    assert_int_equal(ei.detail, MOX_DSN_ERR_NOT_REPORT);
    const char *nomta = "Content-Type: message/delivery-status\r\n\r\n"
                        "Arrival-Date: x\r\n\r\nFinal-Recipient: rfc822; a@b\r\n";
    assert_int_equal(mox_dsn_parse(nomta, strlen(nomta), NULL, &d, &ei), MOX_ERR_SYNTAX);
    assert_int_equal(ei.detail, MOX_DSN_ERR_NO_REPORTING_MTA);
    const char *norcpt = "Content-Type: message/delivery-status\r\n\r\n"
                         "Reporting-MTA: dns; x\r\n\r\n\r\nAction: failed\r\n";
    assert_int_equal(mox_dsn_parse(norcpt, strlen(norcpt), NULL, &d, &ei), MOX_ERR_SYNTAX);
    assert_int_equal(ei.detail, MOX_DSN_ERR_NO_RECIPIENT);
    /* A bare status part (no multipart), LF line endings, junk lines, a
     * control character, a status with a comment. */
    const char *bare = "Content-Type: message/delivery-status\n\n"
                       "Reporting-MTA: dns;x.example (comment)\n"
                       "this line is junk\n"
                       "\n\n"
                       "Final-Recipient: rfc822;<a@b.example>\n"
                       "Action: Failed (gone)\n"
                       "Status: 5.0.0 (permanent)\n"
                       "Diagnostic-Code: smtp; 550 a\x01z\n";
    assert_int_equal(mox_dsn_parse(bare, strlen(bare), NULL, &d, &ei), MOX_OK);
    const mox_dsn_report *r = mox_dsn_get(d);
    assert_string_equal(r->reporting_mta, "x.example");
    assert_string_equal(r->rcpts[0].final_recipient, "a@b.example");
    assert_int_equal(r->rcpts[0].action, MOX_DSN_ACTION_FAILED);
    assert_string_equal(r->rcpts[0].status, "5.0.0");
    assert_string_equal(r->rcpts[0].diagnostic, "550 a?z");
    mox_dsn_free(d);
    /* recipient limit */
    mox_dsn_parse_config pc = MOX_DSN_PARSE_CONFIG_INIT;
    pc.max_recipients = 1;
    const char *two = "Content-Type: message/delivery-status\r\n\r\n"
                      "Reporting-MTA: dns; x\r\n\r\nFinal-Recipient: rfc822; a@b\r\n\r\n"
                      "Final-Recipient: rfc822; c@d\r\n";
    assert_int_equal(mox_dsn_parse(two, strlen(two), &pc, &d, &ei), MOX_ERR_LIMIT);
    assert_int_equal(mox_dsn_parse(two, strlen(two), NULL, &d, &ei), MOX_OK);
    assert_int_equal(mox_dsn_get(d)->nrcpts, 2);
    mox_dsn_free(d);
    assert_int_equal(mox_dsn_parse(NULL, 1, NULL, &d, &ei), MOX_ERR_INVAL);
    assert_int_equal(mox_dsn_parse(two, 3, NULL, NULL, &ei), MOX_ERR_INVAL);
    mox_dsn_free(NULL);
    assert_null(mox_dsn_get(NULL));
}

static void test_fromid(void **state)
{
    (void)state;
    char id[MOX_DSN_FROMID_LEN + 1], id2[MOX_DSN_FROMID_LEN + 1];
    assert_int_equal(mox_dsn_fromid_new(NULL, id, sizeof id), MOX_OK);
    assert_int_equal(strlen(id), MOX_DSN_FROMID_LEN);
    for (size_t i = 0; id[i]; i++)
        assert_true((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9'));
    assert_int_equal(mox_dsn_fromid_new(NULL, id2, sizeof id2), MOX_OK);
    assert_string_not_equal(id, id2);
    assert_int_equal(mox_dsn_fromid_new(NULL, id, MOX_DSN_FROMID_LEN), MOX_ERR_INVAL);
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_dsn_fromid_address("alice", "example.org", "+", id, &b), MOX_OK);
    char back[64];
    mox_errinfo ei;
    assert_int_equal(mox_dsn_fromid_extract((char *)b.data, "+", back, sizeof back, &ei), MOX_OK);
    assert_string_equal(back, id);
    assert_int_equal(mox_dsn_fromid_extract((char *)b.data, "+", back, 4, &ei), MOX_ERR_LIMIT);
    assert_int_equal(mox_dsn_fromid_address("alice", "example.org", "+", "a+b", &b),
                     MOX_ERR_INVAL);
    assert_int_equal(mox_dsn_fromid_address("alice", "example.org", "", "ab", &b), MOX_ERR_INVAL);
    /* the last separator counts; none, or nothing after it: not found */
    assert_int_equal(mox_dsn_fromid_extract("a+b+c@x", "+", back, sizeof back, &ei), MOX_OK);
    assert_string_equal(back, "c");
    assert_int_equal(mox_dsn_fromid_extract("ab@x+y", "+", back, sizeof back, &ei),
                     MOX_ERR_NOTFOUND);
    assert_int_equal(ei.detail, MOX_DSN_ERR_FROMID);
    assert_int_equal(mox_dsn_fromid_extract("ab+@x", "+", back, sizeof back, &ei),
                     MOX_ERR_NOTFOUND);
    assert_int_equal(mox_dsn_fromid_extract("a--id@x", "--", back, sizeof back, &ei), MOX_OK);
    assert_string_equal(back, "id");
    mox_buf_free(&b);
}

static int sweep_compose(void *arg)
{
    (void)arg;
    mox_dsn_recipient r = {0};
    r.final_recipient = "bob@example.net";
    r.action = MOX_DSN_ACTION_FAILED;
    r.status = "5.1.1";
    r.diagnostic = "550 x";
    mox_dsn_compose_params p;
    base_params(&p, &r, 1);
    p.text = "häh";
    p.smtputf8 = 1;
    mox_buf out = MOX_BUF_INIT;
    int rc = mox_dsn_compose(&p, &out, NULL);
    if (rc == 0) {
        mox_dsn *d = NULL;
        rc = mox_dsn_parse(out.data, out.len, NULL, &d, NULL);
        mox_dsn_free(d);
    }
    mox_buf_free(&out);
    return rc;
}

static int sweep_parse(void *arg)
{
    mox_buf *b = arg;
    mox_dsn *d = NULL;
    int rc = mox_dsn_parse(b->data, b->len, NULL, &d, NULL);
    mox_dsn_free(d);
    return rc;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    mox_buf b = MOX_BUF_INIT;
    moxtest_read_data("dsn/postfix.eml", &b);
    moxtest_alloc_install();
    moxtest_alloc_sweep(sweep_compose, NULL, "dsn compose+parse");
    moxtest_alloc_sweep(sweep_parse, &b, "dsn parse");
    mox_set_allocator(NULL);
    mox_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compose_parse_roundtrip),
        cmocka_unit_test(test_compose_full_and_global),
        cmocka_unit_test(test_compose_refuses_injection),
        cmocka_unit_test(test_parse_postfix),
        cmocka_unit_test(test_parse_global_base64),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_fromid),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
