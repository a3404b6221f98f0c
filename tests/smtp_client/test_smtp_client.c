/* smtp_client: reply/EHLO parsers, body encoding and the engine against
 * scripted server transcripts (whole replies and byte at a time). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moxtest.h"
#include "mox/smtp_client.h"

/* ------------------------------------------------------------ parsers */

static void t_reply_parse(void **st)
{
    (void)st;
    mox_smtp_reply r = {0};
    size_t used = 0;
    const char *s = "250-mx.example greets you\r\n250-2.1.0 second\r\n250 2.1.0 Ok\r\nNEXT";
    assert_int_equal(mox_smtp_reply_parse(s, strlen(s), NULL, &r, &used, NULL), MOX_OK);
    assert_int_equal(r.code, 250);
    assert_int_equal(used, strlen(s) - 4);
    assert_int_equal(r.nlines, 3);
    assert_string_equal(r.lines[0], "mx.example greets you");
    assert_string_equal(r.lines[1], "second");
    assert_string_equal(r.lines[2], "Ok");
    assert_string_equal(r.enhanced, ""); /* only the first line's counts */
    assert_string_equal(r.text, "mx.example greets you\nsecond\nOk");
    mox_smtp_reply_clear(&r);

    s = "550 5.1.1 <x@y>: no such user\n";
    assert_int_equal(mox_smtp_reply_parse(s, strlen(s), NULL, &r, &used, NULL), MOX_OK);
    assert_int_equal(r.code, 550);
    assert_string_equal(r.enhanced, "5.1.1");
    assert_string_equal(r.text, "<x@y>: no such user");
    mox_smtp_reply_clear(&r);

    /* Class mismatch: not an enhanced code. Bare code. Control chars. */
    s = "450 5.1.1 hmm\r\n";
    assert_int_equal(mox_smtp_reply_parse(s, strlen(s), NULL, &r, &used, NULL), MOX_OK);
    assert_string_equal(r.enhanced, "");
    assert_string_equal(r.text, "5.1.1 hmm");
    mox_smtp_reply_clear(&r);
    s = "354\r\n";
    assert_int_equal(mox_smtp_reply_parse(s, strlen(s), NULL, &r, &used, NULL), MOX_OK);
    assert_int_equal(r.code, 354);
    assert_string_equal(r.text, "");
    mox_smtp_reply_clear(&r);
    s = "250 a\001b\x7f\r\n";
    assert_int_equal(mox_smtp_reply_parse(s, strlen(s), NULL, &r, &used, NULL), MOX_OK);
    assert_string_equal(r.text, "a?b?");
    mox_smtp_reply_clear(&r);

    /* Incomplete. */
    s = "250-a\r\n250 b";
    assert_int_equal(mox_smtp_reply_parse(s, strlen(s), NULL, &r, &used, NULL), MOX_ERR_AGAIN);

    mox_errinfo ei;
    struct { const char *in; int rc, detail; } bad[] = {
        {"25\r\n", MOX_ERR_SYNTAX, MOX_SMTP_REPLY_ERR_CODE},
        {"abc def\r\n", MOX_ERR_SYNTAX, MOX_SMTP_REPLY_ERR_CODE},
        {"150 x\r\n", MOX_ERR_SYNTAX, MOX_SMTP_REPLY_ERR_CODE},
        {"260 x\r\n", MOX_ERR_SYNTAX, MOX_SMTP_REPLY_ERR_CODE},
        {"250x\r\n", MOX_ERR_SYNTAX, MOX_SMTP_REPLY_ERR_SEPARATOR},
        {"250-a\r\n251 b\r\n", MOX_ERR_SYNTAX, MOX_SMTP_REPLY_ERR_MIXED_CODES},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = mox_smtp_reply_parse(bad[i].in, strlen(bad[i].in), NULL, &r, &used, &ei);
        assert_int_equal(rc, bad[i].rc);
        assert_int_equal(ei.detail, bad[i].detail);
    }
    mox_smtp_reply_limits lim = {10, 2};
    s = "250 0123456789a\r\n";
    assert_int_equal(mox_smtp_reply_parse(s, strlen(s), &lim, &r, &used, &ei), MOX_ERR_LIMIT);
    assert_int_equal(ei.detail, MOX_SMTP_REPLY_ERR_LINE_TOO_LONG);
    s = "250 0123456789abcdef"; /* no line end yet, already too long */
    assert_int_equal(mox_smtp_reply_parse(s, strlen(s), &lim, &r, &used, &ei), MOX_ERR_LIMIT);
    s = "250-a\r\n250-b\r\n250 c\r\n";
    assert_int_equal(mox_smtp_reply_parse(s, strlen(s), &lim, &r, &used, &ei), MOX_ERR_LIMIT);
    assert_int_equal(ei.detail, MOX_SMTP_REPLY_ERR_TOO_MANY_LINES);
}

static void parse_ext(const char *s, mox_smtp_ehlo *ext)
{
    mox_smtp_reply r = {0};
    size_t used;
    assert_int_equal(mox_smtp_reply_parse(s, strlen(s), NULL, &r, &used, NULL), MOX_OK);
    assert_int_equal(mox_smtp_ehlo_parse(&r, ext), MOX_OK);
    mox_smtp_reply_clear(&r);
}

static void t_ext_parse(void **st)
{
    (void)st;
    mox_smtp_ehlo e = {0};
    parse_ext("250-mx.example Hello\r\n250-PIPELINING\r\n250-size 1000\r\n250-8BITMIME\r\n"
              "250-SMTPUTF8\r\n250-CHUNKING\r\n250-DSN\r\n250-REQUIRETLS\r\n250-STARTTLS\r\n"
              "250-ENHANCEDSTATUSCODES\r\n250-AUTH=LOGIN\r\n250-AUTH plain LOGIN SCRAM-SHA-256\r\n"
              "250-FUTURERELEASE 604800 2030-01-01T00:00:00Z\r\n"
              "250 LIMITS RCPTMAX=20 mailmax=3 RCPTDOMAINMAX=2 FOO=1\r\n",
              &e);
    unsigned all = MOX_SMTP_EXT_PIPELINING | MOX_SMTP_EXT_SIZE | MOX_SMTP_EXT_8BITMIME |
                   MOX_SMTP_EXT_SMTPUTF8 | MOX_SMTP_EXT_CHUNKING | MOX_SMTP_EXT_DSN |
                   MOX_SMTP_EXT_REQUIRETLS | MOX_SMTP_EXT_STARTTLS | MOX_SMTP_EXT_AUTH |
                   MOX_SMTP_EXT_ENHANCEDSTATUSCODES | MOX_SMTP_EXT_FUTURERELEASE |
                   MOX_SMTP_EXT_LIMITS;
    assert_int_equal(e.flags, all);
    assert_string_equal(e.hostname, "mx.example");
    assert_int_equal(e.size_max, 1000);
    assert_int_equal(e.nauth, 3);
    assert_string_equal(e.auth[0], "LOGIN");
    assert_string_equal(e.auth[1], "PLAIN");
    assert_string_equal(e.auth[2], "SCRAM-SHA-256");
    assert_true(mox_smtp_ehlo_has_auth(&e, "scram-sha-256"));
    assert_false(mox_smtp_ehlo_has_auth(&e, "CRAM-MD5"));
    assert_int_equal(e.rcptmax, 20);
    assert_int_equal(e.mailmax, 3);
    assert_int_equal(e.rcptdomainmax, 2);
    assert_int_equal(e.hold_max_interval, 604800);
    assert_string_equal(e.hold_max_datetime, "2030-01-01T00:00:00Z");
    mox_smtp_ehlo_clear(&e);

    /* RFC 9422: invalid values and repeated names are ignored. */
    parse_ext("250-x\r\n250 LIMITS RCPTMAX=0 MAILMAX=1234567890 RCPTDOMAINMAX=5 "
              "RCPTDOMAINMAX=6\r\n", &e);
    assert_int_equal(e.rcptmax, 0);
    assert_int_equal(e.mailmax, 0);
    assert_int_equal(e.rcptdomainmax, 0);
    mox_smtp_ehlo_clear(&e);
    parse_ext("250-x\r\n250 LIMITS RCPTMAX=12a MAILMAX= RCPTDOMAINMAX=-1\r\n", &e);
    assert_int_equal(e.rcptmax + e.mailmax + e.rcptdomainmax, 0);
    mox_smtp_ehlo_clear(&e);
    parse_ext("250 only.hostname\r\n", &e);
    assert_int_equal(e.flags, 0);
    mox_smtp_ehlo_clear(&e);

    mox_smtp_reply r = {0};
    size_t used;
    assert_int_equal(mox_smtp_reply_parse("251 x\r\n", 7, NULL, &r, &used, NULL), MOX_OK);
    assert_int_equal(mox_smtp_ehlo_parse(&r, &e), MOX_ERR_INVAL);
    mox_smtp_reply_clear(&r);
}

/* ------------------------------------------------------------ encoding */

static void encode(const char *in, size_t len, int dot, const char *want)
{
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_smtp_client_data_encode(in, len, dot, &b, NULL), MOX_OK);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    mox_buf_free(&b);
}

static void t_data_encode(void **st)
{
    (void)st;
    encode("", 0, 1, ".\r\n");
    encode("", 0, 0, "");
    encode("a", 1, 1, "a\r\n.\r\n");
    encode("a\nb\rc\r\nd", 8, 1, "a\r\nb\r\nc\r\nd\r\n.\r\n");
    encode(".\n..x\n", 6, 1, "..\r\n...x\r\n.\r\n");
    encode(".\n..x\n", 6, 0, ".\r\n..x\r\n");
    encode("a\r\r\nb", 5, 1, "a\r\n\r\nb\r\n.\r\n");
    mox_errinfo ei;
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_smtp_client_data_encode("ab\0c", 4, 1, &b, &ei), MOX_ERR_SYNTAX);
    assert_int_equal(ei.offset, 2);
    assert_int_equal(b.len, 0);
    mox_buf_free(&b);
}

/* Checks that `w` (client output of a message body, DATA form) has only
 * CRLF line endings, and exactly one "\r\n.\r\n": at the end. */
static void check_wire(const unsigned char *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (w[i] == '\r')
            assert_true(i + 1 < n && w[i + 1] == '\n');
        if (w[i] == '\n')
            assert_true(i > 0 && w[i - 1] == '\r');
    }
    assert_true(n >= 3 && !memcmp(w + n - 3, ".\r\n", 3));
    assert_true(n == 3 || (n >= 5 && !memcmp(w + n - 5, "\r\n.\r\n", 5)));
    /* No line in the body is a lone ".". */
    size_t ls = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (w[i] == '\r') {
            if (i + 2 < n)
                assert_false(i - ls == 1 && w[ls] == '.');
            ls = i + 2;
        }
    }
}

/* Reads outbound_eod_sequences from the copied SMTP smuggling data. */
static size_t load_sequences(char seqs[][16], size_t *lens, size_t cap)
{
    mox_buf f = MOX_BUF_INIT;
    moxtest_read_data("smtp_client/smtp-smuggling-eod-sequences.json", &f);
    const char *p = strstr((const char *)f.data, "\"outbound_eod_sequences\"");
    assert_non_null(p);
    p = strchr(p, '[');
    size_t n = 0;
    while (*p && *p != ']') {
        if (*p++ != '"')
            continue;
        size_t l = 0;
        while (*p != '"') {
            char c = *p++;
            if (c == '\\') {
                c = *p++;
                if (c == 'r') c = '\r';
                else if (c == 'n') c = '\n';
                else if (c == 'u') { c = (char)strtol((char[]){p[0], p[1], p[2], p[3], 0}, NULL, 16); p += 4; }
            }
            assert_true(l < 15);
            seqs[n][l++] = c;
        }
        p++;
        lens[n++] = l;
        assert_true(n <= cap);
    }
    mox_buf_free(&f);
    return n;
}

static void t_smuggling(void **st)
{
    (void)st;
    char seqs[32][16];
    size_t lens[32];
    size_t n = load_sequences(seqs, lens, 32);
    assert_true(n >= 9);
    for (size_t i = 0; i < n; i++) {
        int has_nul = memchr(seqs[i], 0, lens[i]) != NULL;
        char msg[64];
        size_t ml = 0;
        memcpy(msg + ml, "Subject: x\r\n\r\nbody", 18), ml += 18;
        memcpy(msg + ml, seqs[i], lens[i]), ml += lens[i];
        memcpy(msg + ml, "MAIL FROM:<evil@x>\r\n", 20), ml += 20;
        mox_buf b = MOX_BUF_INIT;
        int rc = mox_smtp_client_data_encode(msg, ml, 1, &b, NULL);
        if (has_nul) {
            assert_int_equal(rc, MOX_ERR_SYNTAX); /* refused, never sent */
        } else {
            assert_int_equal(rc, MOX_OK);
            check_wire(b.data, b.len);
            for (size_t k = 0; k < n; k++) {
                /* None of the sequences appears, except the terminator's
                 * CRLF.CRLF at the very end (not in the list). */
                const unsigned char *hit = memmem(b.data, b.len - 3, seqs[k], lens[k]);
                assert_null(hit);
            }
        }
        mox_buf_free(&b);
    }
    /* Random bodies: same properties, and un-stuffing gives the
     * normalised input back. */
    srand(7);
    for (int round = 0; round < 2000; round++) {
        unsigned char in[200];
        size_t l = (size_t)(rand() % 200);
        static const unsigned char alpha[] = {'\r', '\n', '.', 'a', ' ', 0xc3, '\r', '\n', '.'};
        for (size_t i = 0; i < l; i++)
            in[i] = alpha[rand() % sizeof alpha];
        mox_buf b = MOX_BUF_INIT, plain = MOX_BUF_INIT;
        assert_int_equal(mox_smtp_client_data_encode(in, l, 1, &b, NULL), MOX_OK);
        check_wire(b.data, b.len);
        assert_int_equal(mox_smtp_client_data_encode(in, l, 0, &plain, NULL), MOX_OK);
        /* Un-stuff b and compare with plain. */
        mox_buf u = MOX_BUF_INIT;
        int ls = 1;
        for (size_t i = 0; i + 3 < b.len; i++) {
            if (ls && b.data[i] == '.') {
                ls = 0;
                continue;
            }
            mox_buf_append_byte(&u, b.data[i]);
            ls = b.data[i] == '\n';
        }
        assert_int_equal(u.len, plain.len);
        if (u.len)
            assert_memory_equal(u.data, plain.data, u.len);
        mox_buf_free(&u);
        mox_buf_free(&b);
        mox_buf_free(&plain);
    }
}

/* ------------------------------------------------------------ driver */

/* The states the tests speak of, read from the want bits. */
enum { ST_BUSY, ST_STARTTLS, ST_READY, ST_CLOSED };

static int cstate(const mox_smtp_client *c)
{
    unsigned w = mox_smtp_client_want(c);
    if (w & MOX_WANT_CLOSED)
        return ST_CLOSED;
    if (w & MOX_WANT_TLS)
        return ST_STARTTLS;
    if (w & MOX_WANT_DONE)
        return ST_READY;
    return ST_BUSY;
}

static int64_t fake_now;
static int64_t fake_mono(void *ctx)
{
    (void)ctx;
    return fake_now;
}

typedef struct drv {
    mox_smtp_client *c;
    mox_buf sent;
    int bytewise;
    mox_clock clock;
    mox_env env;
} drv;

static int g_bytewise;

static void drv_collect(drv *d)
{
    const void *p;
    size_t n;
    for (;;) {
        mox_smtp_client_output(d->c, &p, &n);
        if (!n)
            break;
        mox_buf_append(&d->sent, p, n);
        assert_int_equal(mox_smtp_client_output_done(d->c, n), MOX_OK);
    }
}

static void drv_init(drv *d, mox_smtp_client_config *cfg)
{
    memset(d, 0, sizeof *d);
    d->bytewise = g_bytewise;
    mox_clock ck = MOX_CLOCK_INIT;
    ck.mono_ns = fake_mono;
    d->clock = ck;
    mox_env env = MOX_ENV_INIT;
    env.clock = &d->clock;
    d->env = env;
    cfg->env = &d->env;
    if (!cfg->ehlo_name)
        cfg->ehlo_name = "client.example";
    assert_int_equal(mox_smtp_client_new(&d->c, cfg, NULL), MOX_OK);
}

static void drv_free(drv *d)
{
    mox_smtp_client_free(d->c);
    mox_buf_free(&d->sent);
}

/* The server says `s`. */
static void S(drv *d, const char *s)
{
    size_t n = strlen(s);
    if (d->bytewise) {
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(mox_smtp_client_feed(d->c, s + i, 1), 1);
            if (cstate(d->c) == ST_CLOSED)
                break;
        }
    } else {
        assert_int_equal(mox_smtp_client_feed(d->c, s, n), (int64_t)n);
    }
}

/* The client must have said exactly `s` since the last check. */
static void C(drv *d, const char *s)
{
    drv_collect(d);
    size_t n = strlen(s);
    if (d->sent.len != n || memcmp(d->sent.data, s, n))
        fail_msg("client sent:\n%.*s\nwant:\n%s", (int)d->sent.len,
                 d->sent.data ? (const char *)d->sent.data : "", s);
    mox_buf_reset(&d->sent);
}

static const char *EHLO_FULL = "250-mx.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                               "250-ENHANCEDSTATUSCODES\r\n250 SIZE 100000\r\n";

static void greet(drv *d, const char *ehlo)
{
    S(d, "220 mx.example ESMTP\r\n");
    C(d, "EHLO client.example\r\n");
    S(d, ehlo);
}

static const mox_smtp_client_delivery *dlv(drv *d)
{
    const mox_smtp_client_delivery *x = mox_smtp_client_result(d->c)->delivery;
    assert_non_null(x);
    return x;
}

static void quit(drv *d)
{
    assert_int_equal(cstate(d->c), ST_READY);
    assert_int_equal(mox_smtp_client_quit(d->c), MOX_OK);
    C(d, "QUIT\r\n");
    S(d, "221 bye\r\n");
    assert_int_equal(cstate(d->c), ST_CLOSED);
    assert_null(mox_smtp_client_result(d->c)->failure);
}

static void submit(drv *d, const char *from, const mox_smtp_client_rcpt *r, size_t n, const char *data)
{
    mox_smtp_client_message m = MOX_SMTP_CLIENT_MESSAGE_INIT;
    m.from = from;
    m.rcpts = r;
    m.nrcpts = n;
    m.data = data;
    m.len = strlen(data);
    assert_int_equal(mox_smtp_client_submit(d->c, &m, NULL), MOX_OK);
}

static void t_pipelined(void **st)
{
    (void)st;
    drv d;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    drv_init(&d, &cfg);
    mox_smtp_client_rcpt r[3] = {{"a@x.example", 0, NULL}, {"b@y.example", 0, NULL}, {"c@x.example", 0, NULL}};
    submit(&d, "me@client.example", r, 3, "Subject: hi\n\n.dot\nbody");
    assert_int_equal(cstate(d.c), ST_BUSY);
    greet(&d, EHLO_FULL);
    C(&d, "MAIL FROM:<me@client.example> SIZE=27\r\nRCPT TO:<a@x.example>\r\n"
          "RCPT TO:<b@y.example>\r\nRCPT TO:<c@x.example>\r\nDATA\r\n");
    S(&d, "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n250 2.1.5 ok\r\n354 go\r\n");
    C(&d, "Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n");
    S(&d, "250 2.0.0 queued as X\r\n");
    const mox_smtp_client_delivery *x = dlv(&d);
    assert_true(x->done);
    assert_int_equal(x->naccepted, 2);
    assert_int_equal(x->npermanent, 1);
    assert_int_equal(x->transactions, 1);
    assert_true(x->rcpts[0].accepted);
    assert_string_equal(x->rcpts[0].status.text, "queued as X");
    assert_string_equal(x->rcpts[0].status.enhanced, "2.0.0");
    assert_false(x->rcpts[1].accepted);
    assert_int_equal(x->rcpts[1].status.code, 550);
    assert_string_equal(x->rcpts[1].status.enhanced, "5.1.1");
    assert_false(x->rcpts[1].status.temporary);
    assert_int_equal(x->rcpts[1].status.scope, MOX_SMTP_CLIENT_SCOPE_RECIPIENT);
    assert_int_equal(x->rcpts[1].status.stage, MOX_SMTP_CLIENT_STAGE_RCPT);
    /* The connection is reused for a second message. */
    mox_smtp_client_rcpt r2 = {"z@x.example", 0, NULL};
    submit(&d, "", &r2, 1, "x");
    C(&d, "MAIL FROM:<> SIZE=3\r\nRCPT TO:<z@x.example>\r\nDATA\r\n");
    S(&d, "250 ok\r\n451 4.3.0 try later\r\n554 5.5.1 no valid recipients\r\n");
    C(&d, "RSET\r\n");
    S(&d, "250 ok\r\n");
    x = dlv(&d);
    assert_int_equal(x->ntemporary, 1);
    assert_true(x->rcpts[0].status.temporary);
    quit(&d);
    drv_free(&d);
}

static void t_not_pipelined_helo(void **st)
{
    (void)st;
    drv d;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    drv_init(&d, &cfg);
    S(&d, "220-mx.example\r\n220 multi-line greeting\r\n");
    C(&d, "EHLO client.example\r\n");
    S(&d, "502 5.5.1 EHLO not implemented\r\n");
    C(&d, "HELO client.example\r\n");
    S(&d, "250 hello\r\n");
    assert_int_equal(cstate(d.c), ST_READY);
    mox_smtp_client_rcpt r[2] = {{"a@x", 0, NULL}, {"b@x", MOX_SMTP_NOTIFY_FAILURE, "b@x"}};
    submit(&d, "me@c", r, 2, "hi\r\n");
    C(&d, "MAIL FROM:<me@c>\r\n");
    S(&d, "250 ok\r\n");
    C(&d, "RCPT TO:<a@x>\r\n");
    S(&d, "250 ok\r\n");
    C(&d, "RCPT TO:<b@x>\r\n");
    S(&d, "250 ok\r\n");
    C(&d, "DATA\r\n");
    S(&d, "354 go\r\n");
    C(&d, "hi\r\n.\r\n");
    S(&d, "250 ok\r\n");
    assert_int_equal(dlv(&d)->naccepted, 2);
    assert_true(dlv(&d)->dsn_dropped);
    /* 8-bit without 8BITMIME: permanent 5.6.3 before sending anything. */
    mox_smtp_client_rcpt r1 = {"a@x", 0, NULL};
    submit(&d, "me@c", &r1, 1, "caf\xc3\xa9\r\n");
    C(&d, "");
    assert_int_equal(dlv(&d)->npermanent, 1);
    assert_string_equal(dlv(&d)->rcpts[0].status.enhanced, "5.6.3");
    assert_true(dlv(&d)->rcpts[0].status.local);
    assert_int_equal(dlv(&d)->transactions, 0);
    quit(&d);
    drv_free(&d);

    /* Lenient mode sends it anyway (without BODY=). */
    mox_smtp_client_config cfg2 = MOX_SMTP_CLIENT_CONFIG_INIT;
    cfg2.flags = MOX_SMTP_CLIENT_LENIENT_8BIT;
    drv_init(&d, &cfg2);
    S(&d, "220 x\r\n");
    C(&d, "EHLO client.example\r\n");
    S(&d, "250 x\r\n");
    submit(&d, "me@c", &r1, 1, "caf\xc3\xa9\r\n");
    C(&d, "MAIL FROM:<me@c>\r\n");
    S(&d, "250 ok\r\n");
    C(&d, "RCPT TO:<a@x>\r\n");
    S(&d, "250 ok\r\n");
    C(&d, "DATA\r\n");
    S(&d, "354 go\r\n");
    C(&d, "caf\xc3\xa9\r\n.\r\n");
    S(&d, "250 ok\r\n");
    assert_int_equal(dlv(&d)->naccepted, 1);
    quit(&d);
    drv_free(&d);
}

static void t_rcptmax_and_retry(void **st)
{
    (void)st;
    drv d;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    drv_init(&d, &cfg);
    greet(&d, "250-mx\r\n250-PIPELINING\r\n250 LIMITS RCPTMAX=2\r\n");
    mox_smtp_client_rcpt r[5] = {{"1@a", 0, NULL}, {"2@a", 0, NULL}, {"3@a", 0, NULL},
                          {"4@a", 0, NULL}, {"5@a", 0, NULL}};
    submit(&d, "f@a", r, 5, "m");
    C(&d, "MAIL FROM:<f@a>\r\nRCPT TO:<1@a>\r\nRCPT TO:<2@a>\r\nDATA\r\n");
    /* 2 refused as "too many" after 1 was accepted: retried. */
    S(&d, "250 ok\r\n250 ok\r\n452 4.5.3 too many recipients\r\n354 go\r\n");
    C(&d, "m\r\n.\r\n");
    S(&d, "250 ok\r\n");
    C(&d, "MAIL FROM:<f@a>\r\nRCPT TO:<2@a>\r\nRCPT TO:<3@a>\r\nDATA\r\n");
    /* 552 counts as "too many" for historical reasons. */
    S(&d, "250 ok\r\n250 ok\r\n552 too many\r\n354 go\r\n");
    C(&d, "m\r\n.\r\n");
    S(&d, "250 ok\r\n");
    C(&d, "MAIL FROM:<f@a>\r\nRCPT TO:<3@a>\r\nRCPT TO:<4@a>\r\nDATA\r\n");
    /* First of a transaction refused with 452: final, not retried. */
    S(&d, "250 ok\r\n452 4.5.3 too many\r\n250 ok\r\n354 go\r\n");
    C(&d, "m\r\n.\r\n");
    S(&d, "250 ok\r\n");
    C(&d, "MAIL FROM:<f@a>\r\nRCPT TO:<5@a>\r\nDATA\r\n");
    S(&d, "250 ok\r\n250 ok\r\n354 go\r\n");
    C(&d, "m\r\n.\r\n");
    S(&d, "250 ok\r\n");
    const mox_smtp_client_delivery *x = dlv(&d);
    assert_true(x->done);
    assert_int_equal(x->transactions, 4);
    assert_int_equal(x->naccepted, 4);
    assert_int_equal(x->ntemporary, 1);
    assert_false(x->rcpts[2].accepted);
    assert_int_equal(x->rcpts[2].status.code, 452);
    quit(&d);
    drv_free(&d);
}

static void t_domainmax_mailmax(void **st)
{
    (void)st;
    drv d;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    cfg.flags = MOX_SMTP_CLIENT_NO_PIPELINING;
    drv_init(&d, &cfg);
    greet(&d, "250-mx\r\n250-PIPELINING\r\n250 LIMITS RCPTDOMAINMAX=1 MAILMAX=2\r\n");
    mox_smtp_client_rcpt r[4] = {{"1@a", 0, NULL}, {"2@b", 0, NULL}, {"3@A", 0, NULL}, {"4@c", 0, NULL}};
    submit(&d, "f@a", r, 4, "m");
    C(&d, "MAIL FROM:<f@a>\r\n");
    S(&d, "250 ok\r\n");
    C(&d, "RCPT TO:<1@a>\r\n");
    S(&d, "250 ok\r\n");
    C(&d, "RCPT TO:<3@A>\r\n");
    S(&d, "250 ok\r\n");
    C(&d, "DATA\r\n");
    S(&d, "354 go\r\n");
    C(&d, "m\r\n.\r\n");
    S(&d, "250 ok\r\n");
    C(&d, "MAIL FROM:<f@a>\r\n");
    S(&d, "250 ok\r\n");
    C(&d, "RCPT TO:<2@b>\r\n");
    S(&d, "550 no\r\n");
    C(&d, "RSET\r\n");
    S(&d, "250 ok\r\n");
    /* MAILMAX reached: 4@c fails temporarily without a third MAIL. */
    const mox_smtp_client_delivery *x = dlv(&d);
    assert_true(x->done);
    assert_int_equal(x->naccepted, 2);
    assert_int_equal(x->npermanent, 1);
    assert_int_equal(x->ntemporary, 1);
    assert_string_equal(x->rcpts[3].status.enhanced, "4.5.3");
    assert_int_equal(x->rcpts[3].status.scope, MOX_SMTP_CLIENT_SCOPE_CONNECTION);
    quit(&d);
    drv_free(&d);
}

static void t_bdat_dsn(void **st)
{
    (void)st;
    drv d;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    drv_init(&d, &cfg);
    greet(&d, "250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-DSN\r\n250-8BITMIME\r\n250 SIZE\r\n");
    mox_smtp_client_rcpt r[2] = {{"a@x", MOX_SMTP_NOTIFY_SUCCESS | MOX_SMTP_NOTIFY_DELAY, "a+b=c@x"},
                          {"b@x", MOX_SMTP_NOTIFY_NEVER, NULL}};
    mox_smtp_client_message m = MOX_SMTP_CLIENT_MESSAGE_INIT;
    m.from = "f@x";
    m.rcpts = r;
    m.nrcpts = 2;
    m.data = ".a\n\xc3\xa9";
    m.len = strlen(m.data);
    m.ret = MOX_SMTP_RET_HDRS;
    m.envid = "id 1";
    assert_int_equal(mox_smtp_client_submit(d.c, &m, NULL), MOX_OK);
    C(&d, "MAIL FROM:<f@x> SIZE=8 BODY=8BITMIME RET=HDRS ENVID=id+201\r\n"
          "RCPT TO:<a@x> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+2Bb+3Dc@x\r\n"
          "RCPT TO:<b@x> NOTIFY=NEVER\r\n");
    S(&d, "250 ok\r\n250 ok\r\n250 ok\r\n");
    C(&d, "BDAT 8 LAST\r\n.a\r\n\xc3\xa9\r\n");
    S(&d, "250 2.0.0 got it\r\n");
    assert_int_equal(dlv(&d)->naccepted, 2);
    assert_false(dlv(&d)->dsn_dropped);
    /* BDAT with nobody accepted: no data at all, RSET. */
    submit(&d, "f@x", r, 1, "x");
    C(&d, "MAIL FROM:<f@x> SIZE=3\r\nRCPT TO:<a@x> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+2Bb+3Dc@x\r\n");
    S(&d, "250 ok\r\n550 no\r\n");
    C(&d, "RSET\r\n");
    S(&d, "250 ok\r\n");
    assert_int_equal(dlv(&d)->npermanent, 1);
    quit(&d);
    drv_free(&d);
}

static void t_smtputf8_requiretls_size(void **st)
{
    (void)st;
    drv d;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    drv_init(&d, &cfg);
    greet(&d, EHLO_FULL);
    /* A UTF-8 recipient without SMTPUTF8 fails alone (5.6.7). */
    mox_smtp_client_rcpt r[2] = {{"d\xc3\xa9@x", 0, NULL}, {"b@x", 0, NULL}};
    submit(&d, "f@x", r, 2, "m");
    C(&d, "MAIL FROM:<f@x> SIZE=3\r\nRCPT TO:<b@x>\r\nDATA\r\n");
    S(&d, "250 ok\r\n250 ok\r\n354 go\r\n");
    C(&d, "m\r\n.\r\n");
    S(&d, "250 ok\r\n");
    assert_string_equal(dlv(&d)->rcpts[0].status.enhanced, "5.6.7");
    assert_int_equal(dlv(&d)->rcpts[0].status.scope, MOX_SMTP_CLIENT_SCOPE_RECIPIENT);
    assert_true(dlv(&d)->rcpts[1].accepted);
    /* Message needing SMTPUTF8: everything fails. */
    mox_smtp_client_message m = MOX_SMTP_CLIENT_MESSAGE_INIT;
    m.from = "f@x";
    m.rcpts = r + 1;
    m.nrcpts = 1;
    m.data = "x";
    m.len = 1;
    m.flags = MOX_SMTP_CLIENT_MSG_SMTPUTF8;
    assert_int_equal(mox_smtp_client_submit(d.c, &m, NULL), MOX_OK);
    C(&d, "");
    assert_string_equal(dlv(&d)->rcpts[0].status.enhanced, "5.6.7");
    /* REQUIRETLS without TLS: 5.7.30. */
    m.flags = MOX_SMTP_CLIENT_MSG_REQUIRETLS;
    assert_int_equal(mox_smtp_client_submit(d.c, &m, NULL), MOX_OK);
    assert_string_equal(dlv(&d)->rcpts[0].status.enhanced, "5.7.30");
    assert_false(dlv(&d)->rcpts[0].status.temporary);
    /* SIZE: 100000 max. */
    char *big = malloc(200001);
    memset(big, 'a', 200000);
    big[200000] = 0;
    m.flags = 0;
    m.data = big;
    m.len = 200000;
    assert_int_equal(mox_smtp_client_submit(d.c, &m, NULL), MOX_OK);
    assert_string_equal(dlv(&d)->rcpts[0].status.enhanced, "5.3.4");
    /* NUL byte: 5.6.0. */
    m.data = "a\0b";
    m.len = 3;
    assert_int_equal(mox_smtp_client_submit(d.c, &m, NULL), MOX_OK);
    assert_string_equal(dlv(&d)->rcpts[0].status.enhanced, "5.6.0");
    /* FUTURERELEASE not offered: 5.3.3. */
    m.data = "x";
    m.len = 1;
    m.hold_for = 60;
    assert_int_equal(mox_smtp_client_submit(d.c, &m, NULL), MOX_OK);
    assert_string_equal(dlv(&d)->rcpts[0].status.enhanced, "5.3.3");
    C(&d, "");
    free(big);
    quit(&d);
    drv_free(&d);

    /* With SMTPUTF8 offered: parameter on MAIL. */
    mox_smtp_client_config cfg2 = MOX_SMTP_CLIENT_CONFIG_INIT;
    drv_init(&d, &cfg2);
    greet(&d, "250-mx\r\n250-SMTPUTF8\r\n250-DSN\r\n250 PIPELINING\r\n");
    mox_smtp_client_rcpt ru = {"d\xc3\xa9@x", MOX_SMTP_NOTIFY_FAILURE, "d\xc3\xa9+@x"};
    submit(&d, "f@x", &ru, 1, "m");
    C(&d, "MAIL FROM:<f@x> SMTPUTF8\r\nRCPT TO:<d\xc3\xa9@x> NOTIFY=FAILURE "
          "ORCPT=utf-8;d\xc3\xa9\\x{2B}@x\r\nDATA\r\n");
    S(&d, "250 ok\r\n250 ok\r\n354 go\r\n");
    C(&d, "m\r\n.\r\n");
    S(&d, "250 ok\r\n");
    assert_int_equal(dlv(&d)->naccepted, 1);
    quit(&d);
    drv_free(&d);
}

/* ------------------------------------------------------------ TLS, AUTH */

static mox_tls_info tls_info(void)
{
    static const unsigned char exp[32] = {1, 2, 3};
    mox_tls_info i = MOX_TLS_INFO_INIT;
    i.version = 0x0303;
    i.tls_exporter = exp;
    i.tls_exporter_len = 32;
    return i;
}

static void t_starttls(void **st)
{
    (void)st;
    drv d;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    cfg.tls_mode = MOX_SMTP_CLIENT_TLS_REQUIRED;
    drv_init(&d, &cfg);
    greet(&d, "250-mx\r\n250-STARTTLS\r\n250 PIPELINING\r\n");
    C(&d, "STARTTLS\r\n");
    S(&d, "220 2.0.0 go ahead\r\n");
    assert_int_equal(cstate(d.c), ST_STARTTLS);
    assert_false((mox_smtp_client_want(d.c) & MOX_WANT_READ));
    mox_tls_info ti = tls_info();
    assert_int_equal(mox_smtp_client_tls_done(d.c, MOX_OK, &ti), MOX_OK);
    assert_int_equal(mox_smtp_client_tls_done(d.c, MOX_OK, &ti), MOX_ERR_STATE);
    C(&d, "EHLO client.example\r\n");
    /* The pre-TLS extensions are forgotten. */
    assert_int_equal(mox_smtp_client_result(d.c)->ehlo->flags, 0);
    S(&d, "250-mx\r\n250-REQUIRETLS\r\n250 PIPELINING\r\n");
    assert_true((mox_smtp_client_result(d.c)->tls != NULL));
    mox_smtp_client_rcpt r = {"a@x", 0, NULL};
    mox_smtp_client_message m = MOX_SMTP_CLIENT_MESSAGE_INIT;
    m.from = "f@x";
    m.rcpts = &r;
    m.nrcpts = 1;
    m.data = "x";
    m.len = 1;
    m.flags = MOX_SMTP_CLIENT_MSG_REQUIRETLS;
    assert_int_equal(mox_smtp_client_submit(d.c, &m, NULL), MOX_OK);
    C(&d, "MAIL FROM:<f@x> REQUIRETLS\r\nRCPT TO:<a@x>\r\nDATA\r\n");
    S(&d, "250 ok\r\n250 ok\r\n354 go\r\n");
    C(&d, "x\r\n.\r\n");
    S(&d, "250 ok\r\n");
    assert_int_equal(dlv(&d)->naccepted, 1);
    quit(&d);
    drv_free(&d);
}

static void t_starttls_injection(void **st)
{
    (void)st;
    for (int variant = 0; variant < 2; variant++) {
        drv d;
        mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
        drv_init(&d, &cfg);
        greet(&d, "250-mx\r\n250 STARTTLS\r\n");
        C(&d, "STARTTLS\r\n");
        if (variant == 0) {
            S(&d, "220 go ahead\r\n250-injected\r\n");
        } else {
            S(&d, "220 go ahead\r\n");
            assert_int_equal(mox_smtp_client_feed(d.c, "2", 1), 1);
        }
        assert_int_equal(cstate(d.c), ST_CLOSED);
        const mox_smtp_client_status *f = mox_smtp_client_result(d.c)->failure;
        assert_non_null(f);
        assert_true(f->temporary);
        assert_non_null(strstr(f->text, "injection"));
        C(&d, "");
        assert_int_equal(mox_smtp_client_tls_done(d.c, MOX_OK, NULL), MOX_ERR_STATE);
        drv_free(&d);
    }
}

static void t_tls_required_missing(void **st)
{
    (void)st;
    drv d;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    cfg.tls_mode = MOX_SMTP_CLIENT_TLS_REQUIRED;
    drv_init(&d, &cfg);
    mox_smtp_client_rcpt r = {"a@x", 0, NULL};
    submit(&d, "f@x", &r, 1, "x");
    greet(&d, "250-mx\r\n250 PIPELINING\r\n");
    C(&d, "QUIT\r\n");
    const mox_smtp_client_status *f = mox_smtp_client_result(d.c)->failure;
    assert_non_null(f);
    assert_true(f->temporary);
    assert_int_equal(f->stage, MOX_SMTP_CLIENT_STAGE_STARTTLS);
    assert_true(dlv(&d)->done);
    assert_int_equal(dlv(&d)->ntemporary, 1);
    assert_int_equal(dlv(&d)->rcpts[0].status.scope, MOX_SMTP_CLIENT_SCOPE_CONNECTION);
    S(&d, "221 bye\r\n");
    assert_int_equal(cstate(d.c), ST_CLOSED);
    drv_free(&d);

    /* Opportunistic: a refused STARTTLS continues in plaintext; a failed
     * handshake ends the session. */
    mox_smtp_client_config cfg2 = MOX_SMTP_CLIENT_CONFIG_INIT;
    drv_init(&d, &cfg2);
    greet(&d, "250-mx\r\n250 STARTTLS\r\n");
    C(&d, "STARTTLS\r\n");
    S(&d, "454 4.7.0 TLS not available\r\n");
    assert_int_equal(cstate(d.c), ST_READY);
    quit(&d);
    drv_free(&d);
    drv_init(&d, &cfg2);
    greet(&d, "250-mx\r\n250 STARTTLS\r\n");
    C(&d, "STARTTLS\r\n");
    S(&d, "220 go\r\n");
    assert_int_equal(mox_smtp_client_tls_done(d.c, MOX_ERR_CRYPTO, NULL), MOX_OK);
    assert_int_equal(cstate(d.c), ST_CLOSED);
    assert_int_equal(mox_smtp_client_result(d.c)->failure->stage, MOX_SMTP_CLIENT_STAGE_TLS);
    drv_free(&d);
}

typedef struct fake_auth {
    const char *want;        /* mechanism to pick */
    int step_n;
    int finish_rc;
    int ended;
    int saw_exporter;
} fake_auth;

static int fa_start(void *ctx, const char *const *mechs, size_t n, const mox_tls_info *tls,
                    const char **mech, mox_buf *initial, int *has_initial)
{
    fake_auth *a = ctx;
    a->saw_exporter = tls && tls->tls_exporter_len == 32 && tls->tls_exporter[0] == 1;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(mechs[i], a->want)) {
            *mech = a->want;
            if (!strcmp(a->want, "PLAIN")) {
                *has_initial = 1;
                return mox_buf_append(initial, "\0user\0pass", 10);
            }
            *has_initial = 0;
            return MOX_OK;
        }
    }
    return MOX_ERR_NOTFOUND;
}

static int fa_step(void *ctx, const unsigned char *ch, size_t len, mox_buf *resp)
{
    fake_auth *a = ctx;
    a->step_n++;
    if (len == 9 && !memcmp(ch, "Username:", 9))
        return mox_buf_append_str(resp, "user");
    if (len == 9 && !memcmp(ch, "Password:", 9))
        return mox_buf_append_str(resp, "pass");
    return MOX_ERR_SYNTAX;
}

static int fa_finish(void *ctx) { return ((fake_auth *)ctx)->finish_rc; }
static void fa_end(void *ctx) { ((fake_auth *)ctx)->ended++; }

static void auth_cfg(mox_smtp_client_auth *au, fake_auth *fa)
{
    mox_smtp_client_auth a = MOX_SMTP_CLIENT_AUTH_INIT;
    a.ctx = fa;
    a.start = fa_start;
    a.step = fa_step;
    a.finish = fa_finish;
    a.end = fa_end;
    *au = a;
}

/* ABI: the auth interface is copied at new, read up to its `size`: a
 * larger struct from a newer caller works (and may change or go away after
 * new); one without every version-1 member is refused. */
static void t_auth_abi(void **st)
{
    (void)st;
    fake_auth fa = {"PLAIN", 0, MOX_OK, 0, 0};
    struct {
        mox_smtp_client_auth a;
        void *later[4]; /* members of a later version */
    } big;
    memset(&big, 0x5a, sizeof big);
    auth_cfg(&big.a, &fa);
    big.a.size = sizeof big;
    drv d;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    cfg.auth = &big.a;
    cfg.tls_mode = MOX_SMTP_CLIENT_TLS_NONE;
    cfg.flags = MOX_SMTP_CLIENT_PLAINTEXT_AUTH;
    drv_init(&d, &cfg);
    memset(&big, 0, sizeof big); /* the engine has its own copy */
    greet(&d, "250-mx\r\n250 AUTH PLAIN\r\n");
    C(&d, "AUTH PLAIN AHVzZXIAcGFzcw==\r\n");
    S(&d, "235 2.7.0 ok\r\n");
    assert_true(mox_smtp_client_result(d.c)->authenticated);
    assert_int_equal(fa.ended, 1);
    quit(&d);
    drv_free(&d);

    mox_smtp_client_auth au;
    auth_cfg(&au, &fa);
    cfg.auth = &au;
    cfg.env = NULL;
    mox_smtp_client *c = NULL;
    au.size = offsetof(mox_smtp_client_auth, end); /* no `end` */
    assert_int_equal(mox_smtp_client_new(&c, &cfg, NULL), MOX_ERR_INVAL);
    au.size = 0;
    assert_int_equal(mox_smtp_client_new(&c, &cfg, NULL), MOX_ERR_INVAL);
    assert_null(c);
    au.size = offsetof(mox_smtp_client_auth, end) + sizeof au.end;
    assert_int_equal(mox_smtp_client_new(&c, &cfg, NULL), MOX_OK);
    mox_smtp_client_free(c);
}

static void t_auth(void **st)
{
    (void)st;
    /* PLAIN with an initial response, after STARTTLS. */
    fake_auth fa = {"PLAIN", 0, MOX_OK, 0, 0};
    mox_smtp_client_auth au;
    auth_cfg(&au, &fa);
    drv d;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    cfg.auth = &au;
    drv_init(&d, &cfg);
    greet(&d, "250-mx\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n");
    C(&d, "STARTTLS\r\n");
    S(&d, "220 go\r\n");
    mox_tls_info ti = tls_info();
    assert_int_equal(mox_smtp_client_tls_done(d.c, MOX_OK, &ti), MOX_OK);
    C(&d, "EHLO client.example\r\n");
    S(&d, "250-mx\r\n250 AUTH LOGIN PLAIN\r\n");
    C(&d, "AUTH PLAIN AHVzZXIAcGFzcw==\r\n");
    assert_true(fa.saw_exporter);
    S(&d, "235 2.7.0 ok\r\n");
    assert_true(mox_smtp_client_result(d.c)->authenticated);
    assert_string_equal(mox_smtp_client_result(d.c)->auth_mech, "PLAIN");
    assert_int_equal(fa.ended, 1);
    quit(&d);
    drv_free(&d);

    /* LOGIN with challenges, plaintext allowed; then a wrong password. */
    fake_auth fl = {"LOGIN", 0, MOX_OK, 0, 0};
    auth_cfg(&au, &fl);
    mox_smtp_client_config cfg2 = MOX_SMTP_CLIENT_CONFIG_INIT;
    cfg2.auth = &au;
    cfg2.tls_mode = MOX_SMTP_CLIENT_TLS_NONE;
    cfg2.flags = MOX_SMTP_CLIENT_PLAINTEXT_AUTH;
    drv_init(&d, &cfg2);
    greet(&d, "250-mx\r\n250 AUTH LOGIN\r\n");
    C(&d, "AUTH LOGIN\r\n");
    S(&d, "334 VXNlcm5hbWU6\r\n");
    C(&d, "dXNlcg==\r\n");
    S(&d, "334 UGFzc3dvcmQ6\r\n");
    C(&d, "cGFzcw==\r\n");
    S(&d, "535 5.7.8 bad credentials\r\n");
    C(&d, "QUIT\r\n");
    const mox_smtp_client_status *f = mox_smtp_client_result(d.c)->failure;
    assert_int_equal(f->code, 535);
    assert_false(f->temporary);
    assert_int_equal(f->stage, MOX_SMTP_CLIENT_STAGE_AUTH);
    assert_int_equal(fl.ended, 1);
    drv_free(&d);

    /* Bad challenge: "*" aborts. */
    fake_auth fb = {"LOGIN", 0, MOX_OK, 0, 0};
    auth_cfg(&au, &fb);
    drv_init(&d, &cfg2);
    greet(&d, "250-mx\r\n250 AUTH LOGIN\r\n");
    C(&d, "AUTH LOGIN\r\n");
    S(&d, "334 !!!notbase64\r\n");
    C(&d, "*\r\n");
    S(&d, "501 5.0.0 aborted\r\n");
    C(&d, "QUIT\r\n");
    assert_non_null(strstr(mox_smtp_client_result(d.c)->failure->text, "aborted"));
    assert_int_equal(fb.ended, 1);
    drv_free(&d);

    /* Server success without proof. */
    fake_auth fc = {"PLAIN", 0, MOX_ERR_CRYPTO, 0, 0};
    auth_cfg(&au, &fc);
    drv_init(&d, &cfg2);
    greet(&d, "250-mx\r\n250 AUTH PLAIN\r\n");
    C(&d, "AUTH PLAIN AHVzZXIAcGFzcw==\r\n");
    S(&d, "235 ok\r\n");
    C(&d, "QUIT\r\n");
    assert_false(mox_smtp_client_result(d.c)->authenticated);
    drv_free(&d);

    /* Without TLS and without the plaintext flag, AUTH is never sent. */
    fake_auth fd = {"PLAIN", 0, MOX_OK, 0, 0};
    auth_cfg(&au, &fd);
    mox_smtp_client_config cfg3 = MOX_SMTP_CLIENT_CONFIG_INIT;
    cfg3.auth = &au;
    drv_init(&d, &cfg3);
    greet(&d, "250-mx\r\n250 AUTH PLAIN\r\n");
    C(&d, "QUIT\r\n");
    assert_string_equal(mox_smtp_client_result(d.c)->failure->enhanced, "5.7.11");
    assert_int_equal(fd.ended, 0);
    drv_free(&d);

    /* No common mechanism. */
    fake_auth fe = {"CRAM-MD5", 0, MOX_OK, 0, 0};
    auth_cfg(&au, &fe);
    drv_init(&d, &cfg2);
    greet(&d, "250-mx\r\n250 AUTH PLAIN\r\n");
    C(&d, "QUIT\r\n");
    assert_string_equal(mox_smtp_client_result(d.c)->failure->enhanced, "5.7.4");
    assert_int_equal(fe.ended, 1);
    drv_free(&d);
}

/* The SASL adapter against the SASL module's server engine: SCRAM with
 * channel binding is chosen when TLS supplied one. */
static const unsigned char g_exp[32] = {1, 2, 3};
static const char *g_user = "mjl";
static mox_sasl_secrets g_secrets;

static int lookup(void *ctx, const char *user, mox_sasl_secrets *out)
{
    (void)ctx;
    if (strcmp(user, g_user))
        return MOX_ERR_NOTFOUND;
    *out = g_secrets;
    return MOX_OK;
}

static int srv_binding(void *ctx, mox_sasl_cb_type t, unsigned char *out, size_t *len)
{
    (void)ctx;
    if (t != MOX_SASL_CB_TLS_EXPORTER)
        return MOX_ERR_UNSUPPORTED;
    memcpy(out, g_exp, 32);
    *len = 32;
    return MOX_OK;
}

/* Takes the client's AUTH line / response line, runs the server step and
 * answers as an SMTP server would. Returns the server status. */
static int server_step(drv *d, mox_sasl_server *srv, int first)
{
    drv_collect(d);
    assert_true(d->sent.len >= 2);
    const char *line = (const char *)d->sent.data;
    size_t l = d->sent.len - 2;
    if (first) {
        const char *sp = memchr(line + 5, ' ', l - 5);
        assert_non_null(sp);
        l -= (size_t)(sp + 1 - line);
        line = sp + 1;
    }
    mox_buf in = MOX_BUF_INIT;
    assert_int_equal(mox_base64_decode(line, l, 0, &in, NULL), MOX_OK);
    const unsigned char *out;
    size_t out_len;
    int st = mox_sasl_server_step(srv, in.data ? in.data : (const unsigned char *)"", in.len, &out,
                                  &out_len);
    mox_buf_free(&in);
    mox_buf_reset(&d->sent);
    mox_buf r = MOX_BUF_INIT;
    if (st == MOX_SASL_CONTINUE || (st == MOX_SASL_SUCCESS && out_len)) {
        mox_buf_append_str(&r, "334 ");
        mox_base64_encode(out, out_len, &r);
        mox_buf_append_str(&r, "\r\n");
    } else if (st == MOX_SASL_SUCCESS) {
        mox_buf_append_str(&r, "235 2.7.0 ok\r\n");
    } else {
        mox_buf_append_str(&r, "535 5.7.8 bad\r\n");
    }
    S(d, (const char *)r.data);
    mox_buf_free(&r);
    return st;
}

static void t_auth_sasl_scram_plus(void **st)
{
    (void)st;
    mox_sasl_secrets sec = MOX_SASL_SECRETS_INIT;
    assert_int_equal(mox_sasl_secrets_derive("pencil", 6, NULL, &sec, NULL), MOX_OK);
    g_secrets = sec;
    for (int wrong = 0; wrong < 2; wrong++) {
        mox_sasl_client_config scfg = MOX_SASL_CLIENT_CONFIG_INIT;
        scfg.username = g_user;
        scfg.password = wrong ? "pen" : "pencil";
        mox_smtp_client_sasl *sa = NULL;
        assert_int_equal(mox_smtp_client_sasl_new(&sa, &scfg), MOX_OK);
        drv d;
        mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
        cfg.auth = mox_smtp_client_sasl_auth(sa);
        drv_init(&d, &cfg);
        greet(&d, "250-mx\r\n250 STARTTLS\r\n");
        C(&d, "STARTTLS\r\n");
        S(&d, "220 go\r\n");
        mox_tls_info ti = tls_info();
        assert_int_equal(mox_smtp_client_tls_done(d.c, MOX_OK, &ti), MOX_OK);
        C(&d, "EHLO client.example\r\n");
        S(&d, "250-mx\r\n250 AUTH PLAIN SCRAM-SHA-1 SCRAM-SHA-256 SCRAM-SHA-256-PLUS\r\n");
        drv_collect(&d);
        assert_true(d.sent.len > 30);
        assert_memory_equal(d.sent.data, "AUTH SCRAM-SHA-256-PLUS ", 24);

        mox_sasl_credentials creds = MOX_SASL_CREDENTIALS_INIT;
        creds.lookup = lookup;
        mox_sasl_channel ch = MOX_SASL_CHANNEL_INIT;
        ch.tls = 1;
        ch.cb_types = MOX_SASL_CB_BIT(MOX_SASL_CB_TLS_EXPORTER);
        ch.binding = srv_binding;
        mox_sasl_server_config sc = MOX_SASL_SERVER_CONFIG_INIT;
        sc.creds = &creds;
        sc.channel = &ch;
        mox_sasl_server *srv = NULL;
        assert_int_equal(mox_sasl_server_new(&srv, MOX_SASL_SCRAM_SHA_256_PLUS, &sc), MOX_OK);
        int s1 = server_step(&d, srv, 1);
        assert_int_equal(s1, MOX_SASL_CONTINUE);
        int s2 = server_step(&d, srv, 0);
        if (!wrong) {
            assert_int_equal(s2, MOX_SASL_SUCCESS);
            /* The client verifies the server signature, answers with an
             * empty line; then 235. */
            C(&d, "\r\n");
            S(&d, "235 2.7.0 ok\r\n");
            assert_true(mox_smtp_client_result(d.c)->authenticated);
            assert_string_equal(mox_smtp_client_result(d.c)->auth_mech, "SCRAM-SHA-256-PLUS");
            quit(&d);
        } else {
            assert_int_equal(s2, MOX_SASL_FAILURE);
            C(&d, "QUIT\r\n");
            assert_int_equal(mox_smtp_client_result(d.c)->failure->code, 535);
        }
        mox_sasl_server_free(srv);
        drv_free(&d);
        mox_smtp_client_sasl_free(sa);
    }
    mox_sasl_secrets_wipe(&sec);
}

/* RFC 5802 section 6: the gs2 flag of the SCRAM client-first message. 'y'
 * ("I support channel binding but think the server does not") only when
 * this client would have used -PLUS and the server did not offer it; 'n'
 * when the configuration (or the binding type) rules -PLUS out, whether or
 * not the server offers it: a server offering -PLUS fails 'y' as a
 * downgrade. */
static void t_auth_sasl_scram_gs2_flag(void **st)
{
    (void)st;
    static const struct {
        unsigned mechs;
        mox_sasl_cb_type cb;
        const char *server;
        const char *want; /* AUTH line prefix, then the decoded gs2 header */
        const char *gs2;
    } cases[] = {
        {MOX_SASL_BIT(MOX_SASL_SCRAM_SHA_256), MOX_SASL_CB_NONE,
         "SCRAM-SHA-256 SCRAM-SHA-256-PLUS", "AUTH SCRAM-SHA-256 ", "n,,"},
        {MOX_SASL_BIT(MOX_SASL_SCRAM_SHA_1), MOX_SASL_CB_NONE,
         "SCRAM-SHA-1 SCRAM-SHA-1-PLUS scram-sha-256-plus", "AUTH SCRAM-SHA-1 ", "n,,"},
        {MOX_SASL_BIT(MOX_SASL_SCRAM_SHA_256), MOX_SASL_CB_NONE, "SCRAM-SHA-256",
         "AUTH SCRAM-SHA-256 ", "n,,"},
        {0, MOX_SASL_CB_NONE, "PLAIN SCRAM-SHA-256", "AUTH SCRAM-SHA-256 ", "y,,"},
        {MOX_SASL_BIT(MOX_SASL_SCRAM_SHA_1) | MOX_SASL_BIT(MOX_SASL_SCRAM_SHA_1_PLUS),
         MOX_SASL_CB_NONE, "SCRAM-SHA-1 SCRAM-SHA-256-PLUS", "AUTH SCRAM-SHA-1 ", "y,,"},
        /* -PLUS allowed, but only with tls-unique, which TLS 1.3 lacks. */
        {0, MOX_SASL_CB_TLS_UNIQUE, "SCRAM-SHA-256 SCRAM-SHA-256-PLUS", "AUTH SCRAM-SHA-256 ",
         "n,,"},
        {0, MOX_SASL_CB_TLS_UNIQUE, "SCRAM-SHA-256", "AUTH SCRAM-SHA-256 ", "n,,"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mox_sasl_client_config scfg = MOX_SASL_CLIENT_CONFIG_INIT;
        scfg.username = g_user;
        scfg.password = "pencil";
        scfg.mechs = cases[i].mechs;
        scfg.cb_type = cases[i].cb;
        mox_smtp_client_sasl *sa = NULL;
        assert_int_equal(mox_smtp_client_sasl_new(&sa, &scfg), MOX_OK);
        drv d;
        mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
        cfg.auth = mox_smtp_client_sasl_auth(sa);
        drv_init(&d, &cfg);
        greet(&d, "250-mx\r\n250 STARTTLS\r\n");
        C(&d, "STARTTLS\r\n");
        S(&d, "220 go\r\n");
        mox_tls_info ti = tls_info();
        assert_int_equal(mox_smtp_client_tls_done(d.c, MOX_OK, &ti), MOX_OK);
        C(&d, "EHLO client.example\r\n");
        char ehlo[128];
        snprintf(ehlo, sizeof ehlo, "250-mx\r\n250 AUTH %s\r\n", cases[i].server);
        S(&d, ehlo);
        drv_collect(&d);
        size_t pl = strlen(cases[i].want);
        if (d.sent.len < pl + 2 || memcmp(d.sent.data, cases[i].want, pl))
            fail_msg("case %zu: sent %.*s", i, (int)d.sent.len, (const char *)d.sent.data);
        mox_buf dec = MOX_BUF_INIT;
        assert_int_equal(mox_base64_decode((const char *)d.sent.data + pl, d.sent.len - pl - 2, 0,
                                           &dec, NULL),
                         MOX_OK);
        if (dec.len < 3 || memcmp(dec.data, cases[i].gs2, 3))
            fail_msg("case %zu: client-first %.*s, want gs2 header %s", i, (int)dec.len,
                     (const char *)dec.data, cases[i].gs2);
        mox_buf_free(&dec);
        mox_buf_reset(&d.sent);
        S(&d, "535 5.7.8 no\r\n");
        drv_free(&d);
        mox_smtp_client_sasl_free(sa);
    }
}

/* ------------------------------------------------------------ failures */

static void t_greeting_failures(void **st)
{
    (void)st;
    drv d;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    drv_init(&d, &cfg);
    mox_smtp_client_rcpt r = {"a@x", 0, NULL};
    submit(&d, "f@x", &r, 1, "x");
    S(&d, "554 5.7.1 go away\r\n");
    C(&d, "QUIT\r\n");
    assert_int_equal(dlv(&d)->npermanent, 1);
    assert_int_equal(dlv(&d)->rcpts[0].status.code, 554);
    assert_int_equal(dlv(&d)->rcpts[0].status.stage, MOX_SMTP_CLIENT_STAGE_GREETING);
    mox_smtp_client_eof(d.c);
    assert_int_equal(cstate(d.c), ST_CLOSED);
    assert_int_equal(mox_smtp_client_submit(d.c, &(mox_smtp_client_message)MOX_SMTP_CLIENT_MESSAGE_INIT, NULL),
                     MOX_ERR_STATE);
    drv_free(&d);

    const char *bad[] = {"hello\r\n", "220-a\r\n250 b\r\n", "220 ok\r\n250 ok\r\n250 extra\r\n"};
    for (size_t i = 0; i < 3; i++) {
        drv_init(&d, &cfg);
        S(&d, bad[i]);
        assert_int_equal(cstate(d.c), ST_CLOSED);
        assert_true(mox_smtp_client_result(d.c)->failure->temporary);
        drv_free(&d);
    }
}

static void t_421_midway(void **st)
{
    (void)st;
    drv d;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    drv_init(&d, &cfg);
    greet(&d, EHLO_FULL);
    mox_smtp_client_rcpt r[2] = {{"a@x", 0, NULL}, {"b@x", 0, NULL}};
    submit(&d, "f@x", r, 2, "x");
    C(&d, "MAIL FROM:<f@x> SIZE=3\r\nRCPT TO:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n");
    S(&d, "250 ok\r\n550 no\r\n421 4.3.2 shutting down\r\n");
    assert_int_equal(cstate(d.c), ST_CLOSED);
    const mox_smtp_client_delivery *x = dlv(&d);
    assert_true(x->done);
    assert_int_equal(x->npermanent, 1);
    assert_int_equal(x->ntemporary, 1);
    assert_int_equal(x->rcpts[1].status.code, 421);
    assert_int_equal(x->rcpts[1].status.scope, MOX_SMTP_CLIENT_SCOPE_CONNECTION);
    drv_free(&d);

    /* EOF while waiting for the end-of-data reply. */
    drv_init(&d, &cfg);
    greet(&d, EHLO_FULL);
    submit(&d, "f@x", r, 1, "x");
    C(&d, "MAIL FROM:<f@x> SIZE=3\r\nRCPT TO:<a@x>\r\nDATA\r\n");
    S(&d, "250 ok\r\n250 ok\r\n354 go\r\n");
    C(&d, "x\r\n.\r\n");
    mox_smtp_client_eof(d.c);
    x = dlv(&d);
    assert_int_equal(x->ntemporary, 1);
    assert_int_equal(x->rcpts[0].status.stage, MOX_SMTP_CLIENT_STAGE_DATA_END);
    drv_free(&d);
}

static void t_deadlines(void **st)
{
    (void)st;
    fake_now = 1000;
    drv d;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    cfg.timeout_data_end_ms = 1234;
    drv_init(&d, &cfg);
    const int64_t MIN = 60 * (int64_t)1000000000;
    assert_int_equal(mox_smtp_client_deadline(d.c), 1000 + 5 * MIN);
    fake_now = 2000;
    greet(&d, "250-mx\r\n250 PIPELINING\r\n");
    assert_int_equal(mox_smtp_client_deadline(d.c), INT64_MAX);
    mox_smtp_client_rcpt r = {"a@x", 0, NULL};
    submit(&d, "f@x", &r, 1, "x");
    assert_int_equal(mox_smtp_client_deadline(d.c), 2000 + 5 * MIN);
    C(&d, "MAIL FROM:<f@x>\r\nRCPT TO:<a@x>\r\nDATA\r\n");
    S(&d, "250 ok\r\n250 ok\r\n");
    assert_int_equal(mox_smtp_client_deadline(d.c), 2000 + 2 * MIN);
    S(&d, "354 go\r\n");
    assert_int_equal(mox_smtp_client_deadline(d.c), 2000 + 3 * MIN); /* data block */
    C(&d, "x\r\n.\r\n");
    assert_int_equal(mox_smtp_client_deadline(d.c), 2000 + 1234 * (int64_t)1000000);
    mox_smtp_client_tick(d.c, mox_smtp_client_deadline(d.c));
    assert_int_equal(cstate(d.c), ST_CLOSED);
    assert_string_equal(dlv(&d)->rcpts[0].status.enhanced, "4.4.2");
    assert_non_null(strstr(dlv(&d)->rcpts[0].status.text, "end-of-data"));
    assert_int_equal(mox_smtp_client_deadline(d.c), INT64_MAX);
    drv_free(&d);
}


/* A server that trickles its replies, one byte every two seconds, or reads
 * our data as slowly: cut off at the deadline of the wait, which no byte
 * moves. */
static void trickle_reply(drv *d, const char *reply, int64_t want_deadline)
{
    for (size_t i = 0; reply[i] && cstate(d->c) != ST_CLOSED; i++) {
        assert_int_equal(mox_smtp_client_feed(d->c, reply + i, 1), 1);
        if (reply[i + 1])
            assert_int_equal(mox_smtp_client_deadline(d->c), want_deadline);
        fake_now += 2 * (int64_t)1000000000;
        assert_int_equal(mox_smtp_client_tick(d->c, fake_now), MOX_OK);
    }
}

static void t_deadline_trickle(void **st)
{
    (void)st;
    const int64_t SEC = 1000000000;
    fake_now = 1000 * SEC;
    drv d;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    cfg.timeout_greeting_ms = 5000;
    cfg.timeout_command_ms = 5000;
    cfg.timeout_data_block_ms = 5000;
    drv_init(&d, &cfg);
    int64_t t0 = fake_now;
    trickle_reply(&d, "220 mx.example ESMTP at your service\r\n", t0 + 5 * SEC);
    assert_int_equal(cstate(d.c), ST_CLOSED);
    assert_int_equal(fake_now, t0 + 6 * SEC);
    const mox_smtp_client_status *f = mox_smtp_client_result(d.c)->failure;
    assert_non_null(f);
    assert_string_equal(f->enhanced, "4.4.2");
    assert_int_equal(f->stage, MOX_SMTP_CLIENT_STAGE_GREETING);
    assert_non_null(strstr(f->text, "greeting"));
    drv_free(&d);

    /* the MAIL reply: its wait runs from the moment MAIL was written */
    fake_now = 1000 * SEC;
    drv_init(&d, &cfg);
    mox_smtp_client_rcpt r = {"a@x", 0, NULL};
    submit(&d, "f@x", &r, 1, "x");
    greet(&d, "250 mx\r\n");
    fake_now += 1 * SEC;
    C(&d, "MAIL FROM:<f@x>\r\n");
    int64_t sent = fake_now;
    assert_int_equal(mox_smtp_client_deadline(d.c), sent + 5 * SEC);
    trickle_reply(&d, "250 2.1.0 sender ok, go on\r\n", sent + 5 * SEC);
    assert_int_equal(cstate(d.c), ST_CLOSED);
    assert_int_equal(mox_smtp_client_result(d.c)->delivery->rcpts[0].status.stage,
                     MOX_SMTP_CLIENT_STAGE_MAIL);
    drv_free(&d);

    /* a server reading our data 100 bytes every 2 s: the 64 KiB block
     * must be written within its 5 s */
    fake_now = 1000 * SEC;
    drv_init(&d, &cfg);
    static char big[200000];
    memset(big, 'a', sizeof big - 1);
    for (size_t i = 70; i < sizeof big - 1; i += 71)
        big[i] = '\n';
    submit(&d, "f@x", &r, 1, big);
    greet(&d, "250-mx\r\n250 PIPELINING\r\n");
    C(&d, "MAIL FROM:<f@x>\r\nRCPT TO:<a@x>\r\nDATA\r\n");
    S(&d, "250 ok\r\n250 ok\r\n354 go\r\n");
    int64_t start = fake_now;
    assert_int_equal(mox_smtp_client_deadline(d.c), start + 5 * SEC);
    while (cstate(d.c) != ST_CLOSED) {
        const void *p;
        size_t n;
        assert_int_equal(mox_smtp_client_output(d.c, &p, &n), MOX_OK);
        assert_true(n > 0);
        assert_int_equal(mox_smtp_client_output_done(d.c, n < 100 ? n : 100), MOX_OK);
        assert_int_equal(mox_smtp_client_deadline(d.c), start + 5 * SEC);
        fake_now += 2 * SEC;
        assert_int_equal(mox_smtp_client_tick(d.c, fake_now), MOX_OK);
    }
    assert_int_equal(fake_now, start + 6 * SEC);
    f = mox_smtp_client_result(d.c)->failure;
    assert_non_null(strstr(f->text, "timeout writing message data"));
    drv_free(&d);
}

/* Parameters no server can take are refused by submit (MOX_ERR_INVAL), not
 * sent to draw a 501: ENVID (RFC 3461 section 4.4: printable US-ASCII
 * before xtext encoding, at most 100 characters encoded), ORCPT (an
 * address: no control characters, well-formed UTF-8 for RFC 6533, at most
 * 500 characters encoded) and HOLDUNTIL (RFC 4865: an RFC 3339
 * date-time). What is encodable is accepted. */
static int submit_params(const char *envid, const char *orcpt, const char *hold_until)
{
    mox_smtp_client *c = NULL;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    cfg.ehlo_name = "ok.example";
    assert_int_equal(mox_smtp_client_new(&c, &cfg, NULL), MOX_OK);
    mox_smtp_client_rcpt r = {"a@x.example", 0, orcpt};
    mox_smtp_client_message m = MOX_SMTP_CLIENT_MESSAGE_INIT;
    m.from = "f@x.example";
    m.rcpts = &r;
    m.nrcpts = 1;
    m.envid = envid;
    m.hold_until = hold_until;
    mox_errinfo ei;
    memset(&ei, 0, sizeof ei);
    int rc = mox_smtp_client_submit(c, &m, &ei);
    if (rc == MOX_ERR_INVAL)
        assert_true(ei.msg[0] != 0);
    mox_smtp_client_free(c);
    return rc;
}

static void t_submit_params(void **st)
{
    (void)st;
    char big[160];
    static const char *const bad_envid[] = {"", "id\x01x", "a\tb", "a\x7f", "caf\xc3\xa9",
                                            "id\r\nRSET"};
    for (size_t i = 0; i < sizeof bad_envid / sizeof bad_envid[0]; i++)
        if (submit_params(bad_envid[i], NULL, NULL) != MOX_ERR_INVAL)
            fail_msg("ENVID %zu accepted", i);
    static const char *const good_envid[] = {"id 1", "Q123+a=b c\\d", "~!"};
    for (size_t i = 0; i < sizeof good_envid / sizeof good_envid[0]; i++)
        if (submit_params(good_envid[i], NULL, NULL) != MOX_OK)
            fail_msg("ENVID %zu refused", i);
    /* 100 characters as xtext, then 102. */
    memset(big, 'a', 100);
    big[100] = 0;
    assert_int_equal(submit_params(big, NULL, NULL), MOX_OK);
    memset(big, '+', 34);
    big[34] = 0;
    assert_int_equal(submit_params(big, NULL, NULL), MOX_ERR_INVAL);
    big[33] = 0; /* 99 */
    assert_int_equal(submit_params(big, NULL, NULL), MOX_OK);

    static const char *const bad_orcpt[] = {"", "bad\x01orcpt@example.org", "a\x7f@x",
                                            "a\n@x", "j\xc3@x.example", "j\xc0\xb6@x",
                                            "\xed\xa0\x80@x", "\xf4\x90\x80\x80@x"};
    for (size_t i = 0; i < sizeof bad_orcpt / sizeof bad_orcpt[0]; i++)
        if (submit_params(NULL, bad_orcpt[i], NULL) != MOX_ERR_INVAL)
            fail_msg("ORCPT %zu accepted", i);
    static const char *const good_orcpt[] = {"orig@example.org", "\"a b\"+x=y@example.org",
                                             "j\xc3\xb6ran@d\xc3\xa9st.example",
                                             "\xf0\x9f\x93\xa7@x.example"};
    for (size_t i = 0; i < sizeof good_orcpt / sizeof good_orcpt[0]; i++)
        if (submit_params(NULL, good_orcpt[i], NULL) != MOX_OK)
            fail_msg("ORCPT %zu refused", i);
    /* "rfc822;" + 493 = 500 characters, then one more. */
    char addr[600];
    memset(addr, 'a', 483);
    memcpy(addr + 483, "@x.example", 11);
    assert_int_equal(strlen(addr), 493);
    assert_int_equal(submit_params(NULL, addr, NULL), MOX_OK);
    memset(addr, 'a', 484);
    memcpy(addr + 484, "@x.example", 11);
    assert_int_equal(submit_params(NULL, addr, NULL), MOX_ERR_INVAL);
    /* The encoded length counts: 170 "+" are 510 characters as xtext. */
    memset(addr, '+', 170);
    memcpy(addr + 170, "@x.example", 11);
    assert_int_equal(submit_params(NULL, addr, NULL), MOX_ERR_INVAL);

    static const char *const bad_hold[] = {
        "tomorrow", "", "2030-01-01", "2030-01-01T00:00:00", "2030-01-01 00:00:00Z",
        "2030-13-01T00:00:00Z", "2030-02-29T00:00:00Z", "2030-04-31T00:00:00Z",
        "2030-01-01T24:00:00Z", "2030-01-01T00:60:00Z", "2030-01-01T00:00:61Z",
        "2030-01-01T00:00:00.Z", "2030-01-01T00:00:00+0100", "2030-01-01T00:00:00+01:00x",
        "2030-01-01T00:00:00Zx", "2030-01-01T00:00:00 Z", "2030-1-01T00:00:00Z",
        "2030-01-01T00:00:00+24:00", "20x0-01-01T00:00:00Z"};
    for (size_t i = 0; i < sizeof bad_hold / sizeof bad_hold[0]; i++)
        if (submit_params(NULL, NULL, bad_hold[i]) != MOX_ERR_INVAL)
            fail_msg("HOLDUNTIL %s accepted", bad_hold[i]);
    static const char *const good_hold[] = {"2030-01-01T00:00:00Z", "2028-02-29T23:59:60z",
                                            "2030-06-30t12:30:00.123456-07:00",
                                            "2030-12-31T23:59:59+14:00"};
    for (size_t i = 0; i < sizeof good_hold / sizeof good_hold[0]; i++)
        if (submit_params(NULL, NULL, good_hold[i]) != MOX_OK)
            fail_msg("HOLDUNTIL %s refused", good_hold[i]);
}

static void t_invalid(void **st)
{
    (void)st;
    mox_smtp_client *c = NULL;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    cfg.ehlo_name = "";
    assert_int_equal(mox_smtp_client_new(&c, &cfg, NULL), MOX_ERR_INVAL);
    cfg.ehlo_name = "bad name";
    assert_int_equal(mox_smtp_client_new(&c, &cfg, NULL), MOX_ERR_INVAL);
    cfg.ehlo_name = "ok\r\nRSET";
    assert_int_equal(mox_smtp_client_new(&c, &cfg, NULL), MOX_ERR_INVAL);
    cfg.ehlo_name = "ok.example";
    cfg.tls_mode = 9;
    assert_int_equal(mox_smtp_client_new(&c, &cfg, NULL), MOX_ERR_INVAL);
    cfg.tls_mode = 0;
    assert_int_equal(mox_smtp_client_new(&c, &cfg, NULL), MOX_OK);
    const char *bad_addr[] = {"a@x>\r\nRSET", "a b@x", "a<@x", "", "\"unterminated@x"};
    for (size_t i = 0; i < 5; i++) {
        mox_smtp_client_rcpt r = {bad_addr[i], 0, NULL};
        mox_smtp_client_message m = MOX_SMTP_CLIENT_MESSAGE_INIT;
        m.from = "f@x";
        m.rcpts = &r;
        m.nrcpts = 1;
        assert_int_equal(mox_smtp_client_submit(c, &m, NULL), MOX_ERR_INVAL);
    }
    mox_smtp_client_rcpt ok = {"\"a b\"@x", MOX_SMTP_NOTIFY_NEVER | MOX_SMTP_NOTIFY_DELAY, NULL};
    mox_smtp_client_message m = MOX_SMTP_CLIENT_MESSAGE_INIT;
    m.from = "f@x";
    m.rcpts = &ok;
    m.nrcpts = 1;
    assert_int_equal(mox_smtp_client_submit(c, &m, NULL), MOX_ERR_INVAL);
    ok.notify = 0;
    m.from = "f@x\r\n";
    assert_int_equal(mox_smtp_client_submit(c, &m, NULL), MOX_ERR_INVAL);
    m.from = "f@x";
    assert_int_equal(mox_smtp_client_submit(c, &m, NULL), MOX_OK);
    assert_int_equal(mox_smtp_client_submit(c, &m, NULL), MOX_ERR_STATE);
    assert_int_equal(mox_smtp_client_output_done(c, 1), MOX_ERR_INVAL);
    assert_int_equal(mox_engine_error(mox_smtp_client_engine(c))->code, MOX_ERR_INVAL);
    /* QUIT while busy: after the delivery; then no more submits */
    assert_int_equal(mox_smtp_client_quit(c), MOX_OK);
    assert_int_equal(mox_smtp_client_eof(c), MOX_OK);
    assert_int_equal(mox_smtp_client_eof(c), MOX_ERR_STATE);
    assert_int_equal(mox_smtp_client_feed(c, "x", 1), MOX_ERR_STATE);
    assert_true(mox_smtp_client_want(c) & MOX_WANT_CLOSED);
    mox_smtp_client_free(c);
    mox_smtp_client_free(NULL);
}

/* ------------------------------------------------------------ allocation */

static int sweep_session(void *arg)
{
    (void)arg;
    mox_smtp_client *c = NULL;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    cfg.ehlo_name = "c.example";
    int rc = mox_smtp_client_new(&c, &cfg, NULL);
    if (rc != MOX_OK)
        return rc;
    mox_smtp_client_rcpt r[3] = {{"a@x", MOX_SMTP_NOTIFY_FAILURE, "a@x"}, {"b@x", 0, NULL}, {"c@x", 0, NULL}};
    mox_smtp_client_message m = MOX_SMTP_CLIENT_MESSAGE_INIT;
    m.from = "f@x";
    m.rcpts = r;
    m.nrcpts = 3;
    m.data = "Subject: x\n\n.body\n";
    m.len = strlen(m.data);
    m.envid = "e1";
    int result = MOX_OK;
    rc = mox_smtp_client_submit(c, &m, NULL);
    if (rc != MOX_OK)
        result = rc;
    const char *script[] = {
        "220 mx\r\n",
        "250-mx\r\n250-PIPELINING\r\n250-DSN\r\n250-LIMITS RCPTMAX=2\r\n250 AUTH PLAIN\r\n",
        "250 ok\r\n250 ok\r\n452 4.5.3 too many\r\n354 go\r\n", "250 2.0.0 ok\r\n",
        "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", "250 ok\r\n", "221 bye\r\n"};
    for (size_t i = 0; i < sizeof script / sizeof script[0] && result == MOX_OK; i++) {
        const void *p;
        size_t n;
        mox_smtp_client_output(c, &p, &n);
        if ((rc = mox_smtp_client_output_done(c, n)) != MOX_OK) {
            result = rc;
            break;
        }
        int64_t fr = mox_smtp_client_feed(c, script[i], strlen(script[i]));
        if (fr < 0)
            result = (int)fr;
        if (result == MOX_OK && cstate(c) == ST_READY) {
            const mox_smtp_client_delivery *d = mox_smtp_client_result(c)->delivery;
            if (!d || d->naccepted != 3)
                result = MOX_ERR_STATE;
            else
                result = mox_smtp_client_quit(c);
        }
    }
    if (result == MOX_OK && cstate(c) != ST_CLOSED)
        result = MOX_ERR_STATE;
    if (result == MOX_OK && mox_smtp_client_result(c)->failure)
        result = MOX_ERR_STATE;
    mox_smtp_client_free(c);
    return result;
}

static int sweep_parse(void *arg)
{
    (void)arg;
    const char *s = "250-mx\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 10\r\n";
    mox_smtp_reply r = {0};
    mox_smtp_ehlo e = {0};
    size_t used;
    int rc = mox_smtp_reply_parse(s, strlen(s), NULL, &r, &used, NULL);
    if (rc == MOX_OK)
        rc = mox_smtp_ehlo_parse(&r, &e);
    mox_smtp_ehlo_clear(&e);
    mox_smtp_reply_clear(&r);
    return rc;
}

static void t_alloc_sweep(void **st)
{
    (void)st;
    assert_int_equal(sweep_session(NULL), MOX_OK);
    assert_true(moxtest_alloc_sweep(sweep_session, NULL, "smtp client session") > 10);
    assert_true(moxtest_alloc_sweep(sweep_parse, NULL, "reply+ehlo parse") > 3);
}

static int setup_bytewise(void **st)
{
    (void)st;
    g_bytewise = 1;
    return 0;
}

static int setup_whole(void **st)
{
    (void)st;
    g_bytewise = 0;
    return 0;
}

#define ENGINE_TESTS(setup)                                                      \
    cmocka_unit_test_setup(t_pipelined, setup),                                  \
    cmocka_unit_test_setup(t_not_pipelined_helo, setup),                         \
    cmocka_unit_test_setup(t_rcptmax_and_retry, setup),                          \
    cmocka_unit_test_setup(t_domainmax_mailmax, setup),                          \
    cmocka_unit_test_setup(t_bdat_dsn, setup),                                   \
    cmocka_unit_test_setup(t_smtputf8_requiretls_size, setup),                   \
    cmocka_unit_test_setup(t_starttls, setup),                                   \
    cmocka_unit_test_setup(t_starttls_injection, setup),                         \
    cmocka_unit_test_setup(t_tls_required_missing, setup),                       \
    cmocka_unit_test_setup(t_auth, setup),                                       \
    cmocka_unit_test_setup(t_auth_abi, setup),                                   \
    cmocka_unit_test_setup(t_auth_sasl_scram_plus, setup),                       \
    cmocka_unit_test_setup(t_auth_sasl_scram_gs2_flag, setup),                   \
    cmocka_unit_test_setup(t_greeting_failures, setup),                          \
    cmocka_unit_test_setup(t_421_midway, setup),                                 \
    cmocka_unit_test_setup(t_deadlines, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_reply_parse),
        cmocka_unit_test(t_ext_parse),
        cmocka_unit_test(t_data_encode),
        cmocka_unit_test(t_smuggling),
        ENGINE_TESTS(setup_whole),
        ENGINE_TESTS(setup_bytewise),
        cmocka_unit_test(t_deadline_trickle),
        cmocka_unit_test(t_invalid),
        cmocka_unit_test(t_submit_params),
        cmocka_unit_test(t_alloc_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
