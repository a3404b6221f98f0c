/* SMTP server engine tests: transcripts (whole, byte by byte, random
 * splits with random deferral), smuggling vectors, STARTTLS injection,
 * backpressure, limits, timing, Received, API misuse, allocation failure. */
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "moxtest.h"

#define MOX_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const transcripts[] = {
    "basic", "pipelining", "errors", "params", "bdat", "starttls", "noservice", "busy",
    "submission", "auth", "authfail", "certauth", "pedantic", "limits", "misc", "data", "dsn",
    "pipelined503",
};

static void read_transcript(const char *name, mox_buf *b)
{
    char rel[128];
    snprintf(rel, sizeof rel, "smtp_server/transcripts/%s.txt", name);
    moxtest_read_data(rel, b);
}

/* Each transcript, fed whole, byte by byte with every decision deferred,
 * and in random splits with random deferral, must give the same output. */
static void test_transcripts(void **state)
{
    (void)state;
    const char *only = getenv("SMTPD_TRANSCRIPT");
    for (size_t i = 0; i < MOX_ARRAY_LEN(transcripts); i++) {
        if (only && strcmp(only, transcripts[i]))
            continue;
        mox_buf b = MOX_BUF_INIT;
        read_transcript(transcripts[i], &b);
        static const struct {
            int split, defer;
        } modes[] = {{0, 0}, {1, 0}, {1, 1}, {-1, 2}, {7, 2}, {0, 1}, {0, 3}, {1, 3}, {-1, 3}};
        for (size_t m = 0; m < MOX_ARRAY_LEN(modes); m++) {
            for (uint64_t seed = 1; seed <= (modes[m].split < 0 ? 8u : 1u); seed++) {
                char err[8192];
                int rc = th_run_transcript((const char *)b.data, b.len, modes[m].split,
                                           modes[m].defer, seed * 0x9e3779b97f4a7c15ull, err,
                                           sizeof err);
                if (rc)
                    fail_msg("transcript %s (split %d, defer %d, seed %llu): %s", transcripts[i],
                             modes[m].split, modes[m].defer, (unsigned long long)seed, err);
            }
        }
        mox_buf_free(&b);
    }
}

/* ---------------------------------------------------------------- helpers */

static void start(th *t)
{
    th_init(t);
    assert_int_equal(th_start(t), MOX_OK);
}

static void send(th *t, const char *s) { assert_int_equal(th_feed(t, s, strlen(s), 0), MOX_OK); }

static void expect_tail(th *t, const char *want)
{
    size_t n = strlen(want);
    if (t->out.len < n || memcmp(t->out.data + t->out.len - n, want, n) != 0)
        fail_msg("output does not end with\n%s\n--- got\n%.*s", want, (int)t->out.len,
                 t->out.data ? (char *)t->out.data : "");
}

static void hello(th *t)
{
    send(t, "EHLO client.example\r\n");
    mox_buf_reset(&t->out);
}

/* ---------------------------------------------------------------- smuggling */

static void test_smuggling_vectors(void **state)
{
    (void)state;
    json_error_t je;
    json_t *root = json_load_file(moxtest_data_path("smtp_server/smtp-smuggling-eod-sequences.json"),
                                  JSON_ALLOW_NUL, &je);
    assert_non_null(root);
    json_t *tools = json_object_get(root, "the_login_smtp_smuggling_tools");
    const char *lists[] = {"inbound_eod_sequences", "outbound_eod_sequences"};
    int n = 0;
    for (int li = 0; li < 2; li++) {
        json_t *arr = json_object_get(tools, lists[li]);
        assert_true(json_is_array(arr));
        size_t idx;
        json_t *v;
        json_array_foreach(arr, idx, v) {
            const char *seq = json_string_value(v);
            size_t sl = json_string_length(v);
            for (int split = 0; split <= 1; split++) {
                th t;
                start(&t);
                hello(&t);
                send(&t, "MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n");
                mox_buf m = MOX_BUF_INIT;
                /* a smuggled second transaction after the fake end */
                mox_buf_append_str(&m, "Subject: x\r\n\r\nbody");
                mox_buf_append(&m, seq, sl);
                mox_buf_append_str(&m, "MAIL FROM:<evil@x.example>\r\nRCPT TO:<victim@y.example>\r\n"
                                       "DATA\r\nsmuggled\r\n.\r\n");
                assert_int_equal(th_feed(&t, m.data, m.len, split), MOX_OK);
                mox_buf_free(&m);
                /* the whole thing is one refused message; sync is kept */
                assert_int_equal(t.messages, 0);
                assert_non_null(strstr((char *)t.out.data, "354 "));
                expect_tail(&t, "may be an SMTP smuggling attempt and is refused\r\n");
                assert_null(mox_smtp_server_get_txn(t.s));
                mox_buf_reset(&t.out);
                send(&t, "NOOP\r\n");
                assert_string_equal((char *)t.out.data, "250 2.0.0 ok\r\n");
                th_free(&t);
            }
            n++;
        }
    }
    assert_true(n >= 16);

    /* Receiver cases: fake terminators never end the message. Where the
     * bytes are clean the body must be exactly the expected (unstuffed)
     * message; where they hold bare CR/LF the message is refused. */
    json_t *cases = json_object_get(json_object_get(root, "stalwart_smtp_proto_datareceiver_cases"),
                                    "cases");
    size_t ci;
    json_t *c;
    int clean = 0, refused = 0;
    json_array_foreach(cases, ci, c) {
        th t;
        start(&t);
        hello(&t);
        send(&t, "MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n");
        mox_buf_reset(&t.out);
        size_t k;
        json_t *chunk;
        mox_buf all = MOX_BUF_INIT;
        json_array_foreach(json_object_get(c, "chunks"), k, chunk) {
            mox_buf_append(&all, json_string_value(chunk), json_string_length(chunk));
            assert_int_equal(th_feed(&t, json_string_value(chunk), json_string_length(chunk), 0),
                             MOX_OK);
        }
        json_t *exp = json_object_get(c, "expected_message");
        const char *e = json_string_value(exp);
        size_t el = json_string_length(exp);
        int dirty = 0;
        for (size_t i = 0; i + 1 < all.len; i++)
            if ((all.data[i] == '\r' && all.data[i + 1] != '\n') ||
                (all.data[i + 1] == '\n' && all.data[i] != '\r'))
                dirty = 1;
        if (all.len && all.data[0] == '\n')
            dirty = 1;
        mox_buf_free(&all);
        if (dirty) {
            assert_int_equal(t.messages, 0);
            assert_non_null(strstr((char *)t.out.data, "500 5.5.2 "));
            refused++;
        } else {
            /* smtp-proto's receiver leaves out the CRLF that precedes
             * ".CRLF"; RFC 5321 §4.1.1.4 makes it part of the last line. */
            assert_int_equal(t.messages, 1);
            assert_int_equal(t.last_msg.len, el + 2);
            assert_memory_equal(t.last_msg.data, e, el);
            assert_memory_equal(t.last_msg.data + el, "\r\n", 2);
            clean++;
        }
        mox_buf_reset(&t.out);
        send(&t, "RSET\r\n");
        assert_string_equal((char *)t.out.data, "250 2.0.0 ok\r\n");
        th_free(&t);
    }
    assert_int_equal(clean, 1);
    assert_int_equal(refused, 5);
    json_decref(root);
}

/* Every position of a bare CR or a fake end in a message, alone. */
static void test_smuggling_positions(void **state)
{
    (void)state;
    static const char *const bad[] = {"a\rb\r\n",      "\r\n.\n",       "\n.\r\n",
                                      "x\n.\nmore\r\n", "\r.\r\n",       ".\r\r\n",
                                      "\r\n\0.\r\n",    "\r\n\0\0.\n",   "x\r\r\n"};
    for (size_t i = 0; i < MOX_ARRAY_LEN(bad); i++) {
        size_t bl = i == 6 ? 6 : i == 7 ? 6 : strlen(bad[i]);
        for (int split = 0; split <= 1; split++) {
            th t;
            start(&t);
            hello(&t);
            send(&t, "MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n");
            mox_buf_reset(&t.out);
            assert_int_equal(th_feed(&t, "hdr: 1\r\n\r\n", 10, split), MOX_OK);
            assert_int_equal(th_feed(&t, bad[i], bl, split), MOX_OK);
            assert_int_equal(th_feed(&t, "tail\r\n.\r\n", 9, split), MOX_OK);
            if (!strstr((char *)t.out.data, "500 5.5.2"))
                fail_msg("case %zu not refused: %s", i, (char *)t.out.data);
            assert_int_equal(t.messages, 0);
            th_free(&t);
        }
    }
}

/* ---------------------------------------------------------------- STARTTLS */

static void test_starttls_injection(void **state)
{
    (void)state;
    th t;
    th_init(&t);
    t.cfg.tls_available = 1;
    assert_int_equal(th_start(&t), MOX_OK);
    hello(&t);
    /* The attack: commands pipelined in plaintext after STARTTLS. */
    send(&t, "STARTTLS\r\nMAIL FROM:<evil@x.example>\r\nRCPT TO:<v@y.example>\r\n");
    assert_string_equal((char *)t.out.data, "220 2.0.0 ready to start TLS (cid1)\r\n");
    assert_true(mox_smtp_server_want(t.s) & MOX_WANT_TLS);
    assert_false(mox_smtp_server_want(t.s) & MOX_WANT_READ);
    /* more plaintext before the handshake is discarded too */
    assert_int_equal(mox_smtp_server_feed(t.s, "DATA\r\n", 6), 6);
    mox_tls_info ti = MOX_TLS_INFO_INIT;
    ti.version = 0x0304;
    assert_int_equal(mox_smtp_server_tls_done(t.s, MOX_OK, &ti), MOX_OK);
    assert_int_equal(mox_smtp_server_tls_done(t.s, MOX_OK, &ti), MOX_ERR_STATE);
    assert_int_equal(mox_engine_error(mox_smtp_server_engine(t.s))->code, MOX_ERR_STATE);
    mox_buf_reset(&t.out);
    /* nothing of it was taken; EHLO is required again */
    send(&t, "MAIL FROM:<a@x.example>\r\n");
    assert_string_equal((char *)t.out.data, "503 5.5.1 say EHLO or HELO first\r\n");
    mox_buf_reset(&t.out);
    send(&t, "EHLO c.example\r\n");
    assert_non_null(strstr((char *)t.out.data, "250-REQUIRETLS\r\n"));
    assert_null(strstr((char *)t.out.data, "STARTTLS"));
    assert_true(mox_smtp_server_get_session(t.s)->tls);
    th_free(&t);
}

/* ---------------------------------------------------------------- backpressure */

static int defer_all_rcpt(void *u, mox_smtp_server *s, const mox_smtp_server_txn *x,
                          const mox_smtp_server_rcpt *rc, mox_smtp_server_reply *r)
{
    return MOX_SMTP_SERVER_DEFER;
}

static void test_backpressure(void **state)
{
    (void)state;
    th t;
    th_init(&t);
    t.cb.on_rcpt = defer_all_rcpt;
    t.cfg.max_pending = 1000;
    assert_int_equal(th_start(&t), MOX_OK);
    hello(&t);
    mox_buf in = MOX_BUF_INIT;
    mox_buf_append_str(&in, "MAIL FROM:<a@x.example>\r\n");
    for (int i = 0; i < 200; i++)
        mox_buf_appendf(&in, "RCPT TO:<r%d@y.example>\r\n", i);
    int64_t n = mox_smtp_server_feed(t.s, in.data, in.len);
    /* MAIL and the first RCPT are taken, then at most 1000 bytes */
    size_t first = strlen("MAIL FROM:<a@x.example>\r\n") + strlen("RCPT TO:<r0@y.example>\r\n");
    assert_int_equal((size_t)n, first + 1000);
    int kind;
    uint32_t id = mox_smtp_server_pending(t.s, &kind);
    assert_int_equal(kind, MOX_SMTP_SERVER_DECIDE_RCPT);
    assert_true(mox_smtp_server_want(t.s) & MOX_WANT_DECISION);
    assert_false(mox_smtp_server_want(t.s) & MOX_WANT_READ);
    assert_int_equal(mox_smtp_server_feed(t.s, in.data + n, in.len - (size_t)n), 0);
    /* a decision that was taken already, and one never asked, are refused */
    assert_int_equal(mox_smtp_server_decide_code(t.s, id - 1, 250, "", "x"), MOX_ERR_STATE);
    assert_int_equal(mox_smtp_server_decide_code(t.s, id + 1, 250, "", "x"), MOX_ERR_NOTFOUND);
    assert_int_equal(mox_smtp_server_decide_code(t.s, 0, 250, "", "x"), MOX_ERR_NOTFOUND);
    assert_int_equal(mox_engine_error(mox_smtp_server_engine(t.s))->code, MOX_ERR_NOTFOUND);
    size_t off = (size_t)n;
    int answered = 0;
    while (answered < 200) {
        id = mox_smtp_server_pending(t.s, &kind);
        assert_int_equal(kind, MOX_SMTP_SERVER_DECIDE_RCPT);
        assert_int_equal(mox_smtp_server_decide_code(t.s, id, 250, "2.1.5", "ok"), MOX_OK);
        assert_int_equal(mox_smtp_server_decide_code(t.s, id, 250, "2.1.5", "ok"),
                         MOX_ERR_STATE);
        answered++;
        if (off < in.len) {
            n = mox_smtp_server_feed(t.s, in.data + off, in.len - off);
            assert_true(n >= 0);
            off += (size_t)n;
        }
    }
    assert_int_equal(off, in.len);
    assert_int_equal(mox_smtp_server_get_txn(t.s)->nrcpts, 200);
    th_drain(&t);
    /* 200 replies in order */
    const char *p = (const char *)t.out.data;
    int replies = 0;
    while ((p = strstr(p, "250 2.1.5 ok\r\n")) != NULL) {
        replies++;
        p++;
    }
    assert_int_equal(replies, 200);
    mox_buf_free(&in);
    th_free(&t);
}

/* ---------------------------------------------------------------- limits */

static void test_line_limits(void **state)
{
    (void)state;
    th t;
    start(&t);
    hello(&t);
    mox_buf b = MOX_BUF_INIT;
    mox_buf_append_str(&b, "NOOP ");
    for (int i = 0; i < 2041; i++)
        mox_buf_append_byte(&b, 'a');
    mox_buf_append_str(&b, "\r\n"); /* 2048 bytes: allowed */
    assert_int_equal(b.len, 2048);
    assert_int_equal(th_feed(&t, b.data, b.len, 100), MOX_OK);
    assert_string_equal((char *)t.out.data, "250 2.0.0 ok\r\n");
    mox_buf_reset(&t.out);
    b.len -= 2;
    mox_buf_append_str(&b, "b\r\nNOOP\r\n"); /* 2049: too long, then in sync */
    assert_int_equal(th_feed(&t, b.data, b.len, 0), MOX_OK);
    assert_string_equal((char *)t.out.data,
                        "500 5.5.2 line too long, at most 2048 bytes\r\n250 2.0.0 ok\r\n");
    /* a huge line never grows the buffer */
    mox_buf_reset(&t.out);
    mox_buf_reset(&b);
    for (int i = 0; i < 100000; i++)
        mox_buf_append_byte(&b, 'x');
    assert_int_equal(th_feed(&t, b.data, b.len, 4096), MOX_OK);
    assert_int_equal(t.out.len, 0);
    send(&t, "\r\n");
    assert_string_equal((char *)t.out.data, "500 5.5.2 line too long, at most 2048 bytes\r\n");
    mox_buf_free(&b);
    th_free(&t);
}

/* AUTH continuation lines may be 12288 bytes (RFC 4954), no longer. */
static void test_auth_line_limit(void **state)
{
    (void)state;
    th t;
    th_init(&t);
    t.cfg.mode = MOX_SMTP_SERVER_SUBMISSION;
    t.cfg.auth_mechs = 0x106;
    t.cfg.auth_creds = &t.creds;
    t.cfg.allow_plain_auth_without_tls = 1;
    assert_int_equal(th_start(&t), MOX_OK);
    hello(&t);
    mox_buf b = MOX_BUF_INIT;
    for (int len = 12286; len <= 12287; len++) {
        mox_buf_reset(&t.out);
        send(&t, "AUTH PLAIN\r\n");
        assert_string_equal((char *)t.out.data, "334 \r\n");
        mox_buf_reset(&t.out);
        mox_buf_reset(&b);
        for (int i = 0; i < len; i++)
            mox_buf_append_byte(&b, 'A');
        mox_buf_append_str(&b, "\r\n");
        assert_int_equal(th_feed(&t, b.data, b.len, 1000), MOX_OK);
        if (len == 12286) /* fits: judged by SASL (too long a message for it) */
            assert_non_null(strstr((char *)t.out.data, "501 5.5.2"));
        else
            assert_string_equal((char *)t.out.data, "500 5.5.2 line too long, at most 12288 bytes\r\n");
    }
    /* a command line is still limited to 2048 */
    mox_buf_reset(&t.out);
    mox_buf_reset(&b);
    mox_buf_append_str(&b, "AUTH PLAIN ");
    while (b.len < 3000)
        mox_buf_append_byte(&b, 'A');
    mox_buf_append_str(&b, "\r\nNOOP\r\n");
    assert_int_equal(th_feed(&t, b.data, b.len, 0), MOX_OK);
    assert_string_equal((char *)t.out.data,
                        "500 5.5.2 line too long, at most 2048 bytes\r\n250 2.0.0 ok\r\n");
    mox_buf_free(&b);
    th_free(&t);
}

/* A full SCRAM-SHA-256 exchange through the SMTP framing, with the SASL
 * module's client on the other side: 334 challenges, the server-final as
 * a last 334, the empty answer, then 235. */
static mox_sasl_secrets scram_secrets;

static int scram_lookup(void *ctx, const char *user, mox_sasl_secrets *out)
{
    if (strcmp(user, "mjl"))
        return MOX_ERR_NOTFOUND;
    size_t keep = out->size;
    memcpy(out, &scram_secrets, keep < sizeof scram_secrets ? keep : sizeof scram_secrets);
    out->size = keep;
    return MOX_OK;
}

static const char *last_line(th *t)
{
    /* the last reply line, NUL-terminated in place */
    static char line[20000];
    size_t n = t->out.len;
    assert_true(n >= 2);
    size_t st = n - 2;
    while (st > 0 && t->out.data[st - 1] != '\n')
        st--;
    memcpy(line, t->out.data + st, n - 2 - st);
    line[n - 2 - st] = 0;
    return line;
}

static void test_auth_scram(void **state)
{
    (void)state;
    mox_sasl_secrets sec = MOX_SASL_SECRETS_INIT;
    mox_sasl_derive_params dp = MOX_SASL_DERIVE_PARAMS_INIT;
    dp.salt = (const unsigned char *)"0123456789abcdef";
    dp.salt_len = 16;
    assert_int_equal(mox_sasl_secrets_derive("test1234", 8, &dp, &sec, NULL), MOX_OK);
    scram_secrets = sec;
    for (int wrong = 0; wrong <= 1; wrong++) {
        th t;
        th_init(&t);
        t.cfg.mode = MOX_SMTP_SERVER_SUBMISSION;
        t.cfg.auth_mechs = MOX_SASL_BIT(MOX_SASL_SCRAM_SHA_256);
        t.creds.lookup = scram_lookup;
        t.creds.verify_password = NULL;
        t.cfg.auth_creds = &t.creds;
        assert_int_equal(th_start(&t), MOX_OK);
        send(&t, "EHLO c.example\r\n");
        assert_non_null(strstr((char *)t.out.data, "250-AUTH SCRAM-SHA-256\r\n"));
        mox_sasl_client_config cc = MOX_SASL_CLIENT_CONFIG_INIT;
        cc.username = "mjl";
        cc.password = wrong ? "wrong" : "test1234";
        mox_sasl_client *c;
        assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_SCRAM_SHA_256, &cc, NULL), MOX_OK);
        const unsigned char *o;
        size_t ol;
        assert_int_equal(mox_sasl_client_step(c, NULL, 0, &o, &ol), MOX_SASL_CONTINUE);
        mox_buf cmd = MOX_BUF_INIT, dec = MOX_BUF_INIT;
        mox_buf_append_str(&cmd, "AUTH SCRAM-SHA-256 ");
        mox_base64_encode(o, ol, &cmd);
        mox_buf_append_str(&cmd, "\r\n");
        mox_buf_reset(&t.out);
        assert_int_equal(th_feed(&t, cmd.data, cmd.len, 1), MOX_OK);
        const char *l = last_line(&t);
        assert_memory_equal(l, "334 ", 4);
        assert_int_equal(mox_base64_decode(l + 4, strlen(l + 4), 0, &dec, NULL), MOX_OK);
        int st = mox_sasl_client_step(c, dec.data, dec.len, &o, &ol);
        assert_int_equal(st, MOX_SASL_CONTINUE);
        mox_buf_reset(&cmd);
        mox_base64_encode(o, ol, &cmd);
        mox_buf_append_str(&cmd, "\r\n");
        mox_buf_reset(&t.out);
        assert_int_equal(th_feed(&t, cmd.data, cmd.len, 3), MOX_OK);
        l = last_line(&t);
        if (wrong) {
            assert_string_equal(l, "535 5.7.8 authentication credentials invalid");
            assert_int_equal(mox_smtp_server_get_session(t.s)->auth_failures, 1);
        } else {
            assert_memory_equal(l, "334 ", 4);
            mox_buf_reset(&dec);
            assert_int_equal(mox_base64_decode(l + 4, strlen(l + 4), 0, &dec, NULL), MOX_OK);
            assert_int_equal(mox_sasl_client_step(c, dec.data, dec.len, &o, &ol), MOX_SASL_SUCCESS);
            mox_buf_reset(&t.out);
            send(&t, "\r\n");
            assert_string_equal((char *)t.out.data, "235 2.7.0 authentication successful\r\n");
            assert_string_equal(mox_smtp_server_get_session(t.s)->auth_user, "mjl");
            assert_string_equal(mox_smtp_server_get_session(t.s)->auth_mech, "SCRAM-SHA-256");
        }
        mox_buf_free(&cmd);
        mox_buf_free(&dec);
        mox_sasl_client_free(c);
        th_free(&t);
    }
    mox_sasl_secrets_wipe(&scram_secrets);
}

/* Metrics and logs: commands, reply classes, STARTTLS failures by
 * reason, injection attempts, each recipient with its outcome. */
static mox_buf obs;

static void m_count(void *ctx, const char *name, const mox_metric_label *l, size_t nl, double d)
{
    mox_buf_appendf(&obs, "%s{%s=%s} ", name, nl ? l[0].name : "", nl ? l[0].value : "");
}

static void m_log(void *ctx, int level, const char *msg, const mox_log_attr *a, size_t n)
{
    mox_buf_appendf(&obs, "log[%s", msg);
    for (size_t i = 0; i < n; i++)
        mox_buf_appendf(&obs, " %s=%.*s", a[i].key, (int)a[i].value_len, a[i].value);
    mox_buf_append_str(&obs, "] ");
}

static void test_observability(void **state)
{
    (void)state;
    th t;
    th_init(&t);
    mox_metrics m = MOX_METRICS_INIT;
    m.counter_add = m_count;
    mox_logger lg = MOX_LOGGER_INIT;
    lg.log = m_log;
    t.env.env.metrics = &m;
    t.env.env.logger = &lg;
    t.cfg.tls_available = 1;
    assert_int_equal(th_start(&t), MOX_OK);
    send(&t, "EHLO c.example\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\n"
             "RCPT TO:<c@y.example>\r\nDATA\r\nx\r\n.\r\nXYZ\r\n"
             "MAIL FROM:<reject-data@x.example>\r\nRCPT TO:<d@y.example>\r\nDATA\r\ny\r\n.\r\n"
             "STARTTLS\r\nNOOP\r\n");
    assert_int_equal(mox_smtp_server_tls_done(t.s, MOX_ERR_CRYPTO, NULL), MOX_OK);
    const char *o = (const char *)obs.data;
    static const char *const want[] = {
        "mox_smtpserver_connection_total{mode=delivery}",
        "mox_smtpserver_command_total{cmd=EHLO}",
        "mox_smtpserver_command_total{cmd=unknown}",
        "mox_smtpserver_reply_total{class=2xx}",
        "mox_smtpserver_reply_total{class=3xx}",
        "mox_smtpserver_reply_total{class=5xx}",
        "log[recipient cid=cid1 rcpt=b@y.example code=250]",
        "log[recipient cid=cid1 rcpt=c@y.example code=250]",
        "log[recipient cid=cid1 rcpt=d@y.example code=554]",
        "mox_smtpserver_starttls_injection_total{=}",
        "mox_smtpserver_starttls_failure_total{reason=crypto}",
        "log[tls handshake failed cid=cid1 reason=cryptographic failure]",
    };
    for (size_t i = 0; i < MOX_ARRAY_LEN(want); i++)
        if (!strstr(o, want[i]))
            fail_msg("missing %s in %s", want[i], o);
    mox_buf_free(&obs);
    th_free(&t);
}

/* ABI of mox_sasl_credentials (read by the SASL server engine the SMTP
 * AUTH command runs): read up to its `size` and copied at
 * mox_sasl_server_new. An older caller's struct lacks verify_password and
 * authorize: the bytes after it are not read (a pointer there would be
 * called). A newer caller's larger struct works, and may change after new. */
static int abi_lookups;
static int abi_lookup(void *ctx, const char *user, mox_sasl_secrets *out)
{
    (void)ctx;
    abi_lookups++;
    if (strcmp(user, "mjl"))
        return MOX_ERR_NOTFOUND;
    return mox_sasl_secrets_derive("pencil", 6, NULL, out, NULL);
}

static int abi_verify_never(void *ctx, const char *user, const char *pw, size_t len)
{
    (void)ctx, (void)user, (void)pw, (void)len;
    fail_msg("verify_password past the caller's size was read");
    return MOX_ERR_PERM;
}

static int abi_plain(const mox_sasl_credentials *cr)
{
    mox_sasl_server_config sc = MOX_SASL_SERVER_CONFIG_INIT;
    sc.creds = cr;
    sc.mechs = MOX_SASL_BIT(MOX_SASL_PLAIN);
    mox_sasl_channel ch = MOX_SASL_CHANNEL_INIT;
    ch.tls = 1;
    sc.channel = &ch;
    mox_sasl_server *ss = NULL;
    int rc = mox_sasl_server_new(&ss, MOX_SASL_PLAIN, &sc);
    if (rc != MOX_OK)
        return rc;
    /* The caller's struct changes after new: the engine has its copy. */
    memset((void *)cr, 0, cr->size < sizeof *cr ? cr->size : sizeof *cr);
    const unsigned char *out;
    size_t n;
    rc = mox_sasl_server_step(ss, (const unsigned char *)"\0mjl\0pencil", 11, &out, &n);
    mox_sasl_server_free(ss);
    return rc;
}

static void test_sasl_credentials_abi(void **state)
{
    (void)state;
    struct {
        mox_sasl_credentials c;
        void *later[4];
    } big;
    memset(&big, 0x5a, sizeof big);
    mox_sasl_credentials init = MOX_SASL_CREDENTIALS_INIT;
    big.c = init;
    big.c.size = sizeof big;
    big.c.lookup = abi_lookup;
    abi_lookups = 0;
    assert_int_equal(abi_plain(&big.c), MOX_SASL_SUCCESS);
    assert_int_equal(abi_lookups, 1);

    mox_sasl_credentials old = MOX_SASL_CREDENTIALS_INIT;
    old.lookup = abi_lookup;
    old.verify_password = abi_verify_never;
    old.size = offsetof(mox_sasl_credentials, verify_password);
    abi_lookups = 0;
    assert_int_equal(abi_plain(&old), MOX_SASL_SUCCESS);
    assert_int_equal(abi_lookups, 1);

    /* Without `lookup` in its size: no way to check a password. */
    mox_sasl_credentials tiny = MOX_SASL_CREDENTIALS_INIT;
    tiny.lookup = abi_lookup;
    tiny.size = offsetof(mox_sasl_credentials, lookup);
    assert_int_equal(abi_plain(&tiny), MOX_ERR_INVAL);
}

static void test_too_many_errors(void **state)
{
    (void)state;
    th t;
    th_init(&t);
    t.cfg.max_errors = 3;
    assert_int_equal(th_start(&t), MOX_OK);
    send(&t, "FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n");
    expect_tail(&t, "500 5.5.2 unrecognized command\r\n421 4.7.0 too many errors, closing connection\r\n");
    assert_true(mox_smtp_server_want(t.s) & MOX_WANT_CLOSED);
    assert_int_equal(mox_smtp_server_result(t.s)->end, MOX_SMTP_SERVER_END_ERRORS);
    /* input after the end is taken and ignored */
    assert_int_equal(mox_smtp_server_feed(t.s, "NOOP\r\n", 6), 6);
    th_free(&t);
}

/* ---------------------------------------------------------------- timing */

/* When held-back output is due (-1: none): the harness's own deadlines
 * are a day away. */
static int64_t held_due(th *t)
{
    int64_t d = mox_smtp_server_deadline(t->s);
    return d == MOX_NO_DEADLINE || d - t->env.mono > (int64_t)3600 * 1000000000 ? -1 : d;
}

static void test_tarpit_slow(void **state)
{
    (void)state;
    th t;
    start(&t);
    mox_buf_reset(&t.out);
    assert_int_equal(mox_smtp_server_feed(t.s, "EHLO slow.example\r\n", 19), 19);
    /* held back 3 s: nothing due, a timer */
    const void *o;
    size_t n;
    mox_smtp_server_output(t.s, &o, &n);
    assert_int_equal(n, 0);
    unsigned st = mox_smtp_server_want(t.s);
    assert_true(st & MOX_WANT_TIMER);
    assert_false(st & MOX_WANT_WRITE);
    int64_t due = held_due(&t);
    assert_int_equal(due - t.env.mono, (int64_t)3000 * 1000000);
    assert_int_equal(mox_smtp_server_tick(t.s, due - 1), MOX_OK);
    mox_smtp_server_output(t.s, &o, &n);
    assert_int_equal(n, 0);
    assert_int_equal(mox_smtp_server_tick(t.s, due), MOX_OK);
    t.env.mono = due;
    assert_true(mox_smtp_server_want(t.s) & MOX_WANT_WRITE);
    mox_smtp_server_output(t.s, &o, &n);
    assert_true(n > 50);
    assert_memory_equal(o, "250-mox.example\r\n", 17);
    assert_int_equal(mox_smtp_server_output_done(t.s, n + 1), MOX_ERR_INVAL); /* more than given */
    assert_int_equal(mox_smtp_server_output_done(t.s, n), MOX_OK);
    assert_int_equal(held_due(&t), -1);

    /* slow 4xx: released a little at a time, complete within the cap */
    assert_int_equal(mox_smtp_server_feed(t.s, "MAIL FROM:<tarpit@x.example>\r\n", 30), 30);
    int64_t t0 = t.env.mono;
    size_t total = 0;
    int steps = 0;
    mox_buf got = MOX_BUF_INIT;
    while (held_due(&t) >= 0 || (mox_smtp_server_want(t.s) & MOX_WANT_WRITE)) {
        mox_smtp_server_output(t.s, &o, &n);
        if (n) {
            mox_buf_append(&got, o, n);
            mox_smtp_server_output_done(t.s, n);
            total += n;
            continue;
        }
        int64_t d = held_due(&t);
        assert_true(d > t.env.mono);
        t.env.mono = d;
        assert_int_equal(mox_smtp_server_tick(t.s, d), MOX_OK);
        steps++;
        assert_true(steps < 1000);
    }
    assert_string_equal((char *)got.data, "451 4.7.1 slowly now\r\n");
    assert_true(steps >= 10);
    assert_true(t.env.mono - t0 <= (int64_t)10000 * 1000000);
    assert_true(t.env.mono - t0 >= (int64_t)9000 * 1000000);
    mox_buf_free(&got);
    th_free(&t);
}


/* ---------------------------------------------------------------- deadlines */

#define SEC ((int64_t)1000000000)

/* A session for the deadline tests: new, greeting taken, no time moved. */
static void dl_start(th *t, uint32_t cmd_s, uint32_t data_s, uint32_t session_s)
{
    th_init(t);
    t->cfg.command_timeout_ms = cmd_s * 1000;
    t->cfg.data_timeout_ms = data_s * 1000;
    t->cfg.session_timeout_ms = session_s * 1000;
    assert_int_equal(mox_smtp_server_new(&t->s, &t->cfg, &t->cb, t, NULL), MOX_OK);
}

/* Takes what the engine has for the peer, without moving the clock. */
static void dl_take(th *t)
{
    const void *o;
    size_t n;
    while (mox_smtp_server_output(t->s, &o, &n) == MOX_OK && n) {
        mox_buf_append(&t->out, o, n);
        assert_int_equal(mox_smtp_server_output_done(t->s, n), MOX_OK);
    }
}

/* Time passes to `now`; the engine is told. */
static void dl_at(th *t, int64_t now)
{
    t->env.mono = now;
    assert_int_equal(mox_smtp_server_tick(t->s, now), MOX_OK);
    dl_take(t);
}

static int dl_closed(th *t) { return (mox_smtp_server_want(t->s) & MOX_WANT_CLOSED) != 0; }

/* One byte every two seconds: fed, the clock moved, the engine ticked. The
 * deadline must stay where it was when the wait began. Returns the time
 * the session was cut off. */
static int64_t trickle(th *t, const char *bytes, int64_t want_deadline)
{
    for (size_t i = 0; bytes[i]; i++) {
        assert_int_equal(mox_smtp_server_feed(t->s, bytes + i, 1), 1);
        dl_take(t);
        assert_int_equal(mox_smtp_server_deadline(t->s), want_deadline);
        dl_at(t, t->env.mono + 2 * SEC);
        if (dl_closed(t))
            return t->env.mono;
    }
    return -1;
}

static void test_deadline_command_trickle(void **state)
{
    (void)state;
    th t;
    dl_start(&t, 5, 60, 3600);
    int64_t t0 = t.env.mono;
    dl_take(&t);
    assert_string_equal((char *)t.out.data, "220 mox.example ESMTP\r\n");
    /* the wait began with the greeting: 5 s, whatever arrives */
    assert_int_equal(mox_smtp_server_deadline(t.s), t0 + 5 * SEC);
    int64_t cut = trickle(&t, "EHLO slow.client.example\r\n", t0 + 5 * SEC);
    assert_int_equal(cut, t0 + 6 * SEC); /* the first tick at or after t0+5 s */
    assert_non_null(strstr((char *)t.out.data,
                           "421 4.4.2 mox.example timeout waiting for a command, closing "
                           "connection\r\n"));
    const mox_smtp_server_outcome *o = mox_smtp_server_result(t.s);
    assert_int_equal(o->end, MOX_SMTP_SERVER_END_TIMEOUT);
    assert_int_equal(o->timeout, MOX_SMTP_SERVER_TIMEOUT_COMMAND);
    assert_false(o->stressed);
    assert_int_equal(mox_smtp_server_want(t.s), MOX_WANT_CLOSED | MOX_WANT_DONE);
    assert_int_equal(mox_smtp_server_deadline(t.s), MOX_NO_DEADLINE);
    th_free(&t);

    /* Exactly at the deadline, not a nanosecond before; each complete line
     * starts the next line's wait. */
    dl_start(&t, 5, 60, 3600);
    t0 = t.env.mono;
    dl_take(&t);
    dl_at(&t, t0 + 3 * SEC);
    assert_int_equal(mox_smtp_server_feed(t.s, "NOOP\r\n", 6), 6);
    assert_int_equal(mox_smtp_server_deadline(t.s), t0 + 8 * SEC);
    dl_at(&t, t0 + 8 * SEC - 1);
    assert_false(dl_closed(&t));
    dl_at(&t, t0 + 8 * SEC);
    assert_true(dl_closed(&t));
    th_free(&t);
}

static int on_rcpt_defer_once(void *u, mox_smtp_server *s, const mox_smtp_server_txn *x,
                              const mox_smtp_server_rcpt *rc, mox_smtp_server_reply *r)
{
    (void)s;
    (void)x;
    (void)rc;
    th *t = u;
    t->have_deferred = 1;
    t->deferred_kind = MOX_SMTP_SERVER_DECIDE_RCPT;
    t->deferred = *r;
    return MOX_SMTP_SERVER_DEFER;
}

/* The embedder's time is not the client's: no command or message deadline
 * runs while a decision is deferred, the session's does. */
static void test_deadline_deferred(void **state)
{
    (void)state;
    th t;
    dl_start(&t, 5, 60, 100);
    t.cb.on_rcpt = on_rcpt_defer_once;
    mox_smtp_server_free(t.s);
    assert_int_equal(mox_smtp_server_new(&t.s, &t.cfg, &t.cb, &t, NULL), MOX_OK);
    int64_t t0 = t.env.mono;
    dl_take(&t);
    const char *cmds = "EHLO c.example\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\n";
    assert_int_equal(mox_smtp_server_feed(t.s, cmds, strlen(cmds)), (int64_t)strlen(cmds));
    assert_true(mox_smtp_server_want(t.s) & MOX_WANT_DECISION);
    assert_int_equal(mox_smtp_server_deadline(t.s), t0 + 100 * SEC); /* the session's */
    dl_at(&t, t0 + 50 * SEC);
    assert_false(dl_closed(&t));
    uint32_t id = mox_smtp_server_pending(t.s, NULL);
    assert_int_equal(mox_smtp_server_decide(t.s, id, &t.deferred), MOX_OK);
    /* the next command's wait starts now */
    assert_int_equal(mox_smtp_server_deadline(t.s), t0 + 55 * SEC);
    /* the session's lifetime is a deadline too: NOOPs do not extend it */
    for (int64_t now = t0 + 52 * SEC; now < t0 + 100 * SEC; now += 2 * SEC) {
        dl_at(&t, now);
        assert_false(dl_closed(&t));
        assert_int_equal(mox_smtp_server_feed(t.s, "NOOP\r\n", 6), 6);
    }
    dl_at(&t, t0 + 100 * SEC);
    assert_true(dl_closed(&t));
    assert_int_equal(mox_smtp_server_result(t.s)->timeout, MOX_SMTP_SERVER_TIMEOUT_SESSION);
    assert_non_null(strstr((char *)t.out.data, "421 4.4.2 mox.example session time limit reached"));
    th_free(&t);
}

static void test_deadline_data(void **state)
{
    (void)state;
    th t;
    dl_start(&t, 5, 10, 3600);
    dl_take(&t);
    const char *cmds = "EHLO c.example\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\n"
                       "DATA\r\n";
    assert_int_equal(mox_smtp_server_feed(t.s, cmds, strlen(cmds)), (int64_t)strlen(cmds));
    dl_take(&t);
    int64_t t0 = t.env.mono; /* the 354 */
    assert_non_null(strstr((char *)t.out.data, "354 "));
    /* a line every 2 s keeps no command wait alive, and the message's
     * deadline does not move */
    int64_t cut = trickle(&t, "Subject: slow\r\n\r\nbody body body body\r\n", t0 + 10 * SEC);
    assert_int_equal(cut, t0 + 10 * SEC);
    assert_non_null(strstr((char *)t.out.data,
                           "421 4.4.2 mox.example timeout receiving message data, closing "
                           "connection\r\n"));
    assert_int_equal(mox_smtp_server_result(t.s)->timeout, MOX_SMTP_SERVER_TIMEOUT_DATA);
    assert_int_equal(t.messages, 0);
    assert_int_equal(t.resets, 1); /* the transaction was discarded */
    th_free(&t);

    /* BDAT: from the first chunk to the last, across chunks and their
     * command lines */
    dl_start(&t, 5, 10, 3600);
    dl_take(&t);
    cmds = "EHLO c.example\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nBDAT 4\r\n";
    assert_int_equal(mox_smtp_server_feed(t.s, cmds, strlen(cmds)), (int64_t)strlen(cmds));
    t0 = t.env.mono;
    for (int i = 0; i < 4; i++) {
        dl_at(&t, t.env.mono + 2 * SEC);
        static const char *const parts[] = {"abcd", "BDAT 2\r\n", "ef", "BDAT 1 LAST\r\n"};
        assert_int_equal(mox_smtp_server_feed(t.s, parts[i], strlen(parts[i])),
                         (int64_t)strlen(parts[i]));
        assert_true(mox_smtp_server_deadline(t.s) <= t0 + 10 * SEC);
    }
    dl_at(&t, t0 + 10 * SEC);
    assert_true(dl_closed(&t));
    assert_int_equal(mox_smtp_server_result(t.s)->timeout, MOX_SMTP_SERVER_TIMEOUT_DATA);
    th_free(&t);
}

/* Shorter limits once the embedder's count of connections passes the
 * threshold; every session sharing the counter sees them at once. */
static void test_deadline_stress(void **state)
{
    (void)state;
    unsigned conns = 1;
    th a, b;
    for (int i = 0; i < 2; i++) {
        th *t = i ? &b : &a;
        th_init(t);
        t->cfg.connections = &conns;
        t->cfg.stress_connections = 2;
        t->cfg.command_timeout_ms = 60000;
        t->cfg.stress_command_timeout_ms = 3000;
        assert_int_equal(mox_smtp_server_new(&t->s, &t->cfg, &t->cb, t, NULL), MOX_OK);
        dl_take(t);
    }
    int64_t t0 = a.env.mono;
    assert_int_equal(mox_smtp_server_deadline(a.s), t0 + 60 * SEC);
    conns = 2; /* the second connection: stress */
    assert_int_equal(mox_smtp_server_deadline(a.s), t0 + 3 * SEC);
    assert_int_equal(mox_smtp_server_deadline(b.s), t0 + 3 * SEC);
    dl_at(&a, t0 + 3 * SEC);
    assert_true(dl_closed(&a));
    assert_true(mox_smtp_server_result(a.s)->stressed);
    conns = 1; /* back to normal: b keeps its long limit */
    dl_at(&b, t0 + 3 * SEC);
    assert_false(dl_closed(&b));
    assert_int_equal(mox_smtp_server_deadline(b.s), t0 + 60 * SEC);
    th_free(&a);
    th_free(&b);
}

/* STARTTLS whose handshake never finishes; a client that never reads. */
static void test_deadline_tls_close(void **state)
{
    (void)state;
    th t;
    dl_start(&t, 5, 60, 3600);
    t.cfg.tls_available = 1;
    mox_smtp_server_free(t.s);
    assert_int_equal(mox_smtp_server_new(&t.s, &t.cfg, &t.cb, &t, NULL), MOX_OK);
    dl_take(&t);
    assert_int_equal(mox_smtp_server_feed(t.s, "EHLO c\r\nSTARTTLS\r\n", 18), 18);
    dl_take(&t);
    int64_t t0 = t.env.mono;
    assert_true(mox_smtp_server_want(t.s) & MOX_WANT_TLS);
    assert_int_equal(mox_smtp_server_deadline(t.s), t0 + 5 * SEC);
    mox_buf_reset(&t.out);
    dl_at(&t, t0 + 5 * SEC);
    assert_true(dl_closed(&t));
    assert_int_equal(t.out.len, 0); /* nothing in plaintext after the 220 */
    assert_int_equal(mox_smtp_server_result(t.s)->timeout, MOX_SMTP_SERVER_TIMEOUT_TLS);
    th_free(&t);

    /* the 421 is not read: after close_timeout it is dropped */
    dl_start(&t, 5, 60, 3600);
    t.cfg.close_timeout_ms = 2000;
    mox_smtp_server_free(t.s);
    assert_int_equal(mox_smtp_server_new(&t.s, &t.cfg, &t.cb, &t, NULL), MOX_OK);
    t0 = t.env.mono;
    t.env.mono = t0 + 5 * SEC;
    assert_int_equal(mox_smtp_server_tick(t.s, t0 + 5 * SEC), MOX_OK);
    unsigned w = mox_smtp_server_want(t.s);
    assert_true(w & MOX_WANT_WRITE);
    assert_true(w & MOX_WANT_CLOSED);
    assert_int_equal(mox_smtp_server_deadline(t.s), t0 + 7 * SEC);
    t.env.mono = t0 + 7 * SEC;
    assert_int_equal(mox_smtp_server_tick(t.s, t0 + 7 * SEC), MOX_OK);
    assert_int_equal(mox_smtp_server_want(t.s), MOX_WANT_CLOSED | MOX_WANT_DONE);
    th_free(&t);

    /* a slow (tarpit) last reply longer than close_timeout: the closing
     * wait starts when it is released, so it goes out whole */
    dl_start(&t, 5, 60, 3600);
    t.cfg.close_timeout_ms = 2000;
    mox_smtp_server_free(t.s);
    assert_int_equal(mox_smtp_server_new(&t.s, &t.cfg, &t.cb, &t, NULL), MOX_OK);
    dl_take(&t);
    mox_buf_reset(&t.out);
    const char *c2 = "EHLO c.example\r\nMAIL FROM:<tarpit@x.example>\r\n";
    assert_int_equal(mox_smtp_server_feed(t.s, c2, strlen(c2)), (int64_t)strlen(c2));
    assert_int_equal(mox_smtp_server_eof(t.s), MOX_OK);
    for (int i = 0; i < 1000 && !(mox_smtp_server_want(t.s) & MOX_WANT_CLOSED); i++) {
        dl_take(&t);
        dl_at(&t, mox_smtp_server_deadline(t.s));
    }
    dl_take(&t);
    assert_non_null(strstr((char *)t.out.data, "451 4.7.1 slowly now\r\n"));
    assert_int_equal(mox_smtp_server_result(t.s)->end, MOX_SMTP_SERVER_END_EOF);
    th_free(&t);
}

/* ---------------------------------------------------------------- Received */

static void test_received(void **state)
{
    (void)state;
    th t;
    th_init(&t);
    t.cfg.tls_available = 1;
    assert_int_equal(th_start(&t), MOX_OK);
    send(&t, "EHLO bad(name;x\r\n"); /* accepted leniently, but not trusted */
    send(&t, "MAIL FROM:<a@x.example>\r\nRCPT TO:<\"we;ird\"@y.example>\r\n");
    mox_buf r = MOX_BUF_INIT;
    assert_int_equal(mox_smtp_server_received(t.s, 0, &r), MOX_OK);
    assert_string_equal((char *)r.data,
                        "Received: from [192.0.2.1] (helo=bad?name?x) by mox.example ([192.0.2.25])\r\n"
                        "\twith ESMTP id cid1 for <\"we;ird\"@y.example>;\r\n"
                        "\tMon, 1 Jan 2024 00:00:00 +0000\r\n");
    mox_buf_reset(&r);
    assert_int_equal(mox_smtp_server_received(t.s, SIZE_MAX, &r), MOX_OK);
    assert_non_null(strstr((char *)r.data, "cid1;"));
    mox_buf_free(&r);
    th_free(&t);

    /* TLS, a valid name, SMTPUTF8 */
    th_init(&t);
    t.cfg.tls_available = 1;
    assert_int_equal(th_start(&t), MOX_OK);
    send(&t, "EHLO c.example\r\nSTARTTLS\r\n");
    mox_tls_info ti = MOX_TLS_INFO_INIT;
    ti.version = 0x0304;
    ti.cipher = "TLS_AES_128_GCM_SHA256\r\nX-Evil: 1";
    assert_int_equal(mox_smtp_server_tls_done(t.s, MOX_OK, &ti), MOX_OK);
    send(&t, "EHLO c.example\r\nMAIL FROM:<a@x.example> SMTPUTF8 REQUIRETLS\r\n"
             "RCPT TO:<ö@y.example>\r\n");
    assert_int_equal(mox_smtp_server_received(t.s, 0, &r), MOX_OK);
    assert_string_equal((char *)r.data,
                        "Received: from c.example ([192.0.2.1]) by mox.example ([192.0.2.25]) with\r\n"
                        "\tUTF8SMTPS id cid1 (TLS1.3 TLS_AES_128_GCM_SHA256??X-Evil:?1)\r\n"
                        "\t(requiretls) for <ö@y.example>; Mon, 1 Jan 2024 00:00:00 +0000\r\n");
    mox_buf_free(&r);
    assert_int_equal(mox_smtp_server_received(NULL, 0, &r), MOX_ERR_INVAL);
    send(&t, "RSET\r\n");
    assert_int_equal(mox_smtp_server_received(t.s, 0, &r), MOX_ERR_STATE);
    th_free(&t);
}

/* ---------------------------------------------------------------- API */

static void test_api(void **state)
{
    (void)state;
    mox_smtp_server *s = NULL;
    mox_smtp_server_config c = MOX_SMTP_SERVER_CONFIG_INIT;
    mox_errinfo ei;
    c.hostname = "";
    assert_int_equal(mox_smtp_server_new(&s, &c, NULL, NULL, &ei), MOX_ERR_INVAL);
    assert_int_equal(ei.code, MOX_ERR_INVAL);
    c.hostname = "bad host";
    assert_int_equal(mox_smtp_server_new(&s, &c, NULL, NULL, &ei), MOX_ERR_INVAL);
    c.hostname = "mox.example";
    c.mode = 7;
    assert_int_equal(mox_smtp_server_new(&s, &c, NULL, NULL, &ei), MOX_ERR_INVAL);
    c.mode = MOX_SMTP_SERVER_DELIVERY;
    c.size = 8;
    assert_int_equal(mox_smtp_server_new(&s, &c, NULL, NULL, &ei), MOX_ERR_INVAL);
    c.size = sizeof c;
    assert_int_equal(mox_smtp_server_new(&s, &c, NULL, NULL, &ei), MOX_OK);
    assert_int_equal(mox_smtp_server_tls_done(s, MOX_OK, NULL), MOX_ERR_STATE);
    /* decision 1 was the greeting, taken at once; 2 was never asked */
    assert_int_equal(mox_smtp_server_decide_code(s, 1, 250, "", ""), MOX_ERR_STATE);
    assert_int_equal(mox_smtp_server_decide_code(s, 2, 250, "", ""), MOX_ERR_NOTFOUND);
    assert_int_equal(mox_smtp_server_auth_resume(s), MOX_ERR_STATE);
    assert_int_equal(mox_smtp_server_set_rcpt_outcome(s, 0, 250), MOX_ERR_STATE);
    assert_null(mox_smtp_server_get_txn(s));
    /* the greeting is queued; input is taken; the session has deadlines */
    assert_int_equal(mox_smtp_server_want(s), MOX_WANT_WRITE | MOX_WANT_READ | MOX_WANT_TIMER);
    assert_int_equal(mox_smtp_server_result(s)->end, MOX_SMTP_SERVER_END_NONE);
    const void *o;
    size_t n;
    assert_int_equal(mox_smtp_server_output(s, &o, &n), MOX_OK);
    assert_int_equal(n, strlen("220 mox.example ESMTP\r\n"));
    assert_memory_equal(o, "220 mox.example ESMTP\r\n", n);
    assert_int_equal(mox_smtp_server_output_done(s, 4), MOX_OK);
    assert_int_equal(mox_smtp_server_output(s, &o, &n), MOX_OK);
    assert_int_equal(n, strlen("mox.example ESMTP\r\n"));
    assert_int_equal(mox_smtp_server_output_done(s, 1000), MOX_ERR_INVAL);
    assert_int_equal(mox_engine_error(mox_smtp_server_engine(s))->code, MOX_ERR_INVAL);
    assert_int_equal(mox_smtp_server_output_done(s, n), MOX_OK);
    assert_int_equal(mox_smtp_server_want(s), MOX_WANT_READ | MOX_WANT_TIMER);
    /* no callbacks: defaults accept */
    assert_int_equal(mox_smtp_server_feed(s, "HELO x.example\r\nQUIT\r\n", 22), 22);
    assert_int_equal(mox_smtp_server_output(s, &o, &n), MOX_OK);
    assert_memory_equal(o, "250 mox.example\r\n221 2.0.0 bye\r\n", n);
    assert_true(mox_smtp_server_want(s) & MOX_WANT_CLOSED);
    assert_true(mox_smtp_server_want(s) & MOX_WANT_DONE);
    assert_int_equal(mox_smtp_server_result(s)->end, MOX_SMTP_SERVER_END_QUIT);
    assert_int_equal(mox_smtp_server_close(s, 421, "4.3.2", "x"), MOX_ERR_STATE);
    assert_int_equal(mox_smtp_server_eof(s), MOX_OK);
    assert_int_equal(mox_smtp_server_eof(s), MOX_ERR_STATE);
    assert_int_equal(mox_smtp_server_feed(s, "x", 1), MOX_ERR_STATE); /* after eof */
    mox_smtp_server_free(s);
    mox_smtp_server_free(NULL);
    assert_true(mox_smtp_server_sizeof() > 0);
    assert_int_equal(mox_smtp_server_eof(NULL), MOX_ERR_INVAL);
    assert_int_equal(mox_smtp_server_want(NULL), 0);
    assert_null(mox_smtp_server_engine(NULL));

    /* implicit TLS: TLS first, then the greeting */
    c.tls_active = 1;
    assert_int_equal(mox_smtp_server_new(&s, &c, NULL, NULL, &ei), MOX_OK);
    assert_true(mox_smtp_server_want(s) & MOX_WANT_TLS);
    assert_int_equal(mox_smtp_server_feed(s, "x", 1), MOX_ERR_STATE); /* ciphertext, not ours */
    mox_tls_request req = MOX_TLS_REQUEST_INIT;
    assert_int_equal(mox_smtp_server_tls_request(s, &req), MOX_OK);
    assert_int_equal(req.role, MOX_TLS_ROLE_SERVER);
    assert_true(req.required);
    mox_tls_info ti = MOX_TLS_INFO_INIT;
    assert_int_equal(mox_smtp_server_tls_done(s, MOX_OK, NULL), MOX_ERR_INVAL);
    assert_int_equal(mox_smtp_server_tls_done(s, MOX_OK, &ti), MOX_OK);
    assert_int_equal(mox_smtp_server_tls_request(s, &req), MOX_ERR_STATE);
    assert_true(mox_smtp_server_get_session(s)->tls);
    assert_non_null(mox_smtp_server_get_session(s)->tls_info);
    assert_int_equal(mox_smtp_server_output(s, &o, &n), MOX_OK);
    assert_memory_equal(o, "220 mox.example ESMTP\r\n", n);
    /* close with a reply */
    assert_int_equal(mox_smtp_server_close(s, 421, "4.3.2", "shutting down"), MOX_OK);
    mox_smtp_server_output(s, &o, &n);
    assert_memory_equal(o, "220 mox.example ESMTP\r\n421 4.3.2 shutting down\r\n", n);
    assert_int_equal(mox_smtp_server_result(s)->end, MOX_SMTP_SERVER_END_CLOSED);
    mox_smtp_server_free(s);

    /* a failed handshake ends the session and drops output */
    c.tls_active = 0;
    c.tls_available = 1;
    assert_int_equal(mox_smtp_server_new(&s, &c, NULL, NULL, &ei), MOX_OK);
    mox_smtp_server_output(s, &o, &n);
    mox_smtp_server_output_done(s, n);
    assert_int_equal(mox_smtp_server_feed(s, "STARTTLS\r\n", 10), 10);
    assert_false(mox_smtp_server_want(s) & MOX_WANT_TLS); /* the 220 is not written yet */
    assert_int_equal(mox_smtp_server_tls_request(s, &req), MOX_ERR_STATE);
    mox_smtp_server_output(s, &o, &n);
    mox_smtp_server_output_done(s, n);
    assert_true(mox_smtp_server_want(s) & MOX_WANT_TLS);
    assert_int_equal(mox_smtp_server_tls_done(s, MOX_ERR_CRYPTO, NULL), MOX_OK);
    assert_int_equal(mox_smtp_server_want(s), MOX_WANT_CLOSED | MOX_WANT_DONE);
    assert_int_equal(mox_smtp_server_result(s)->end, MOX_SMTP_SERVER_END_TLS);
    mox_smtp_server_free(s);
}

/* ---------------------------------------------------------------- alloc sweep */

static int full_session(void *arg)
{
    const char *script = arg;
    th t;
    th_init(&t);
    t.cfg.tls_available = 1;
    t.cfg.mode = MOX_SMTP_SERVER_DELIVERY;
    int rc = mox_smtp_server_new(&t.s, &t.cfg, &t.cb, &t, NULL);
    if (rc == MOX_OK) {
        th_drain(&t);
        int64_t n = mox_smtp_server_feed(t.s, script, strlen(script));
        rc = n < 0 ? (int)n : MOX_OK;
        th_drain(&t);
    }
    mox_buf r = MOX_BUF_INIT;
    if (rc == MOX_OK && mox_smtp_server_get_txn(t.s))
        rc = mox_smtp_server_received(t.s, 0, &r);
    if (rc == MOX_OK && (t.oom || mox_smtp_server_result(t.s)->end == MOX_SMTP_SERVER_END_NOMEM))
        rc = MOX_ERR_NOMEM;
    if (rc == MOX_OK && (!t.out.data || !strstr((char *)t.out.data, "221 2.0.0 bye")))
        rc = t.out.data ? MOX_ERR_STATE : MOX_ERR_NOMEM;
    mox_buf_free(&r);
    th_free(&t);
    return rc;
}

static void test_alloc_sweep(void **state)
{
    (void)state;
    moxtest_alloc_install();
    const char *script =
        "EHLO client.example\r\nMAIL FROM:<a@x.example> BODY=8BITMIME SIZE=100 RET=HDRS "
        "ENVID=x+2By\r\nRCPT TO:<b@y.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@y.example\r\n"
        "RCPT TO:<c@y.example>\r\nDATA\r\nSubject: hi\r\n\r\nhello\r\n..dot\r\n.\r\n"
        "MAIL FROM:<>\r\nRCPT TO:<postmaster>\r\nBDAT 5\r\nhelloBDAT 0 LAST\r\n"
        "VRFY root\r\nHELP\r\nFOO\r\nRSET\r\nQUIT\r\n";
    unsigned long n = moxtest_alloc_sweep(full_session, (void *)script, "smtp session");
    assert_true(n > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transcripts),
        cmocka_unit_test(test_smuggling_vectors),
        cmocka_unit_test(test_smuggling_positions),
        cmocka_unit_test(test_starttls_injection),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_line_limits),
        cmocka_unit_test(test_auth_line_limit),
        cmocka_unit_test(test_auth_scram),
        cmocka_unit_test(test_observability),
        cmocka_unit_test(test_too_many_errors),
        cmocka_unit_test(test_sasl_credentials_abi),
        cmocka_unit_test(test_tarpit_slow),
        cmocka_unit_test(test_deadline_command_trickle),
        cmocka_unit_test(test_deadline_deferred),
        cmocka_unit_test(test_deadline_data),
        cmocka_unit_test(test_deadline_stress),
        cmocka_unit_test(test_deadline_tls_close),
        cmocka_unit_test(test_received),
        cmocka_unit_test(test_api),
        cmocka_unit_test(test_alloc_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
