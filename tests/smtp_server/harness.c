/* Test embedder and transcript runner for the SMTP server engine. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ---------------------------------------------------------------- clock */

static int64_t th_wall(void *ctx) { return ((th_env *)ctx)->wall; }
static int64_t th_mono(void *ctx) { return ((th_env *)ctx)->mono; }

static int th_fill(void *ctx, void *buf, size_t n)
{
    th_env *e = ctx;
    unsigned char *b = buf;
    for (size_t i = 0; i < n; i++) {
        e->rstate = e->rstate * 6364136223846793005ull + 1442695040888963407ull;
        b[i] = (unsigned char)(e->rstate >> 56);
    }
    return MOX_OK;
}

void th_env_init(th_env *e)
{
    memset(e, 0, sizeof *e);
    mox_clock c = MOX_CLOCK_INIT;
    c.ctx = e;
    c.wall_ns = th_wall;
    c.mono_ns = th_mono;
    e->clock = c;
    mox_random r = MOX_RANDOM_INIT;
    r.ctx = e;
    r.fill = th_fill;
    e->random = r;
    e->rstate = 42;
    mox_env v = MOX_ENV_INIT;
    v.clock = &e->clock;
    v.random = &e->random;
    e->env = v;
    e->wall = (int64_t)1704067200 * 1000000000; /* 2024-01-01T00:00:00Z */
    e->mono = (int64_t)1000 * 1000000000;
}

static uint64_t rnd(th *t)
{
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return t->rng;
}

/* ---------------------------------------------------------------- policy */

static const char *local(const mox_path *p)
{
    return p->mailbox.localpart ? p->mailbox.localpart : "";
}

/* Either answer now or defer with the same answer (decided later, or, in
 * mode 3, inside this callback). */
static int answer(th *t, int kind, mox_smtp_server_reply *r)
{
    int defer = t->defer_mode == 1 || (t->defer_mode == 2 && (rnd(t) & 1));
    if (t->defer_mode == 3) {
        int k;
        uint32_t id = mox_smtp_server_pending(t->s, &k);
        if (!id || k != kind || mox_smtp_server_decide(t->s, id, r) != MOX_OK)
            t->oom = 1; /* never expected: fails the run */
        return MOX_SMTP_SERVER_DEFER;
    }
    if (!defer)
        return MOX_SMTP_SERVER_REPLY;
    t->have_deferred = 1;
    t->deferred_kind = kind;
    t->deferred = *r;
    return MOX_SMTP_SERVER_DEFER;
}

static int cb_connect(void *u, mox_smtp_server *s, mox_smtp_server_reply *r)
{
    th *t = u;
    if (t->cfg.greeting && strcmp(t->cfg.greeting, "noservice") == 0)
        mox_smtp_server_reply_set(r, 554, "5.3.2", "no service for you");
    else if (t->cfg.greeting && strcmp(t->cfg.greeting, "busy") == 0)
        mox_smtp_server_reply_set(r, 421, "4.3.2", "busy, try later");
    return answer(t, MOX_SMTP_SERVER_DECIDE_CONNECT, r);
}

static int cb_hello(void *u, mox_smtp_server *s, const mox_smtp_server_hello *h,
                    mox_smtp_server_reply *r)
{
    th *t = u;
    if (strcmp(h->name, "reject.example") == 0)
        mox_smtp_server_reply_set(r, 550, "5.7.1", "not you");
    else if (strcmp(h->name, "slow.example") == 0) {
        r->delay_ms = 3000;
    } else if (!h->valid)
        mox_smtp_server_reply_set(r, 250, "", "odd name");
    return answer(t, MOX_SMTP_SERVER_DECIDE_HELLO, r);
}

static int cb_mail(void *u, mox_smtp_server *s, const mox_smtp_server_txn *x,
                   mox_smtp_server_reply *r)
{
    th *t = u;
    const char *l = local(&x->mail_from);
    char buf[300];
    if (strcmp(l, "reject") == 0)
        mox_smtp_server_reply_set(r, 550, "5.7.1", "sender refused");
    else if (strcmp(l, "tempfail") == 0)
        mox_smtp_server_reply_set(r, 451, "4.7.1", "try again later");
    else if (strcmp(l, "tarpit") == 0) {
        mox_smtp_server_reply_set(r, 451, "4.7.1", "slowly now");
        r->delay_ms = 10000;
        r->slow = 1;
    } else if (strcmp(l, "bye") == 0) {
        mox_smtp_server_reply_set(r, 421, "4.7.0", "closing");
        r->close = 1;
    } else if (strcmp(l, "error") == 0) {
        return MOX_ERR_IO;
    } else if (strcmp(l, "params") == 0) {
        snprintf(buf, sizeof buf, "body=%d utf8=%d size=%llu ret=%d envid=%s auth=%s hold=%lld rtls=%d",
                 x->body, x->smtputf8, (unsigned long long)x->size_declared, x->ret,
                 x->envid ? x->envid : "-", x->auth ? x->auth : "-", (long long)x->hold_until,
                 x->requiretls);
        mox_smtp_server_reply_set(r, 250, "2.1.0", buf);
    }
    return answer(t, MOX_SMTP_SERVER_DECIDE_MAIL, r);
}

static int cb_rcpt(void *u, mox_smtp_server *s, const mox_smtp_server_txn *x,
                   const mox_smtp_server_rcpt *rc, mox_smtp_server_reply *r)
{
    th *t = u;
    const char *l = local(&rc->path);
    char buf[300];
    if (rc->path.is_postmaster)
        mox_smtp_server_reply_set(r, 250, "2.1.5", "postmaster ok");
    else if (strcmp(l, "unknown") == 0)
        mox_smtp_server_reply_set(r, 550, "5.1.1", "no such user");
    else if (strcmp(l, "full") == 0)
        mox_smtp_server_reply_set(r, 452, "4.2.2", "mailbox full");
    else if (strcmp(l, "error") == 0)
        return MOX_ERR_IO;
    else if (strcmp(l, "badcode") == 0)
        mox_smtp_server_reply_set(r, 999, "", "nonsense");
    else if (strcmp(l, "badenh") == 0)
        mox_smtp_server_reply_set(r, 550, "2.1.1", "wrong class");
    else if (strcmp(l, "multi") == 0)
        mox_smtp_server_reply_set(r, 550, "5.7.1", "line one\nline two\r\x01 three");
    else if (strcmp(l, "dsn") == 0) {
        snprintf(buf, sizeof buf, "notify=%u orcpt=%s", rc->notify, rc->orcpt ? rc->orcpt : "-");
        mox_smtp_server_reply_set(r, 250, "2.1.5", buf);
    } else {
        mox_buf b = MOX_BUF_INIT;
        if (mox_mailbox_format(&rc->path.mailbox, 1, &b) != MOX_OK)
            t->oom = 1;
        snprintf(buf, sizeof buf, "<%s> ok", b.data ? (char *)b.data : "");
        mox_buf_free(&b);
        mox_smtp_server_reply_set(r, 250, "2.1.5", buf);
    }
    return answer(t, MOX_SMTP_SERVER_DECIDE_RCPT, r);
}

static int cb_data_start(void *u, mox_smtp_server *s, const mox_smtp_server_txn *x,
                         mox_smtp_server_reply *r)
{
    th *t = u;
    mox_buf_reset(&t->msg);
    if (strcmp(local(&x->mail_from), "nodata") == 0)
        mox_smtp_server_reply_set(r, 554, "5.7.1", "no data for you");
    return answer(t, MOX_SMTP_SERVER_DECIDE_DATA_START, r);
}

static int cb_chunk(void *u, mox_smtp_server *s, const void *p, size_t n)
{
    th *t = u;
    t->chunks++;
    if (t->msg.len + n > 4 * 1024 * 1024)
        return MOX_OK; /* the fuzzer can stream a lot; keep memory bounded */
    int rc = mox_buf_append(&t->msg, p, n);
    if (rc != MOX_OK)
        t->oom = 1;
    return rc;
}

static void escape(const unsigned char *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        unsigned char c = p[i];
        if (c == '\r')
            o += (size_t)snprintf(out + o, cap - o, "\\r");
        else if (c == '\n')
            o += (size_t)snprintf(out + o, cap - o, "\\n");
        else if (c < 0x20 || c >= 0x7f)
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = 0;
}

static int cb_data_end(void *u, mox_smtp_server *s, const mox_smtp_server_txn *x,
                       mox_smtp_server_reply *r)
{
    th *t = u;
    t->messages++;
    mox_buf_reset(&t->last_msg);
    if (t->msg.len && mox_buf_append(&t->last_msg, t->msg.data, t->msg.len) != MOX_OK)
        t->oom = 1;
    if (strcmp(local(&x->mail_from), "reject-data") == 0) {
        mox_smtp_server_reply_set(r, 554, "5.7.1", "content refused");
        for (size_t i = 0; i < x->nrcpts; i++)
            mox_smtp_server_set_rcpt_outcome(s, i, 554);
    } else {
        char esc[200], text[400];
        if (t->msg.len <= 40) {
            escape(t->msg.data ? t->msg.data : (const unsigned char *)"", t->msg.len, esc,
                   sizeof esc);
        } else {
            uint32_t h = 2166136261u;
            for (size_t i = 0; i < t->msg.len; i++)
                h = (h ^ t->msg.data[i]) * 16777619u;
            snprintf(esc, sizeof esc, "fnv=%08x", h);
        }
        snprintf(text, sizeof text, "ok %llu bytes%s%s%s%s [%s]",
                 (unsigned long long)x->data_size, x->header_8bit ? " h8" : "",
                 x->body_8bit ? " b8" : "", x->has_return_path ? " rp" : "",
                 x->chunking ? " bdat" : "", esc);
        mox_smtp_server_reply_set(r, 250, "2.0.0", text);
    }
    mox_buf_reset(&t->msg);
    return answer(t, MOX_SMTP_SERVER_DECIDE_DATA_END, r);
}

static void cb_reset(void *u, mox_smtp_server *s, int reason)
{
    th *t = u;
    t->resets++;
    mox_buf_reset(&t->msg);
}

static int cb_verify(void *u, mox_smtp_server *s, int expn, const char *arg,
                     mox_smtp_server_reply *r)
{
    th *t = u;
    if (strcmp(arg, "root") == 0)
        mox_smtp_server_reply_set(r, 250, "2.1.5", expn ? "root list" : "Root <root@mox.example>");
    return answer(t, MOX_SMTP_SERVER_DECIDE_VERIFY, r);
}

static int cb_starttls(void *u, mox_smtp_server *s, mox_smtp_server_reply *r)
{
    return answer(u, MOX_SMTP_SERVER_DECIDE_STARTTLS, r);
}

static int cb_auth(void *u, mox_smtp_server *s, const mox_smtp_server_auth *a,
                   mox_smtp_server_reply *r)
{
    th *t = u;
    if (a->success && a->authcid && strcmp(a->authcid, "disabled") == 0)
        mox_smtp_server_reply_set(r, 535, "5.7.8", "account disabled");
    return answer(t, MOX_SMTP_SERVER_DECIDE_AUTH, r);
}

/* Credentials: mjl/test1234 and disabled/test1234, checked as plaintext
 * (verify_password); lookup gives no derived secrets. */
static int cr_lookup(void *ctx, const char *user, mox_sasl_secrets *out)
{
    th *t = ctx;
    if (t->defer_lookup && !t->lookup_again) {
        t->lookup_again = 1;
        return MOX_ERR_AGAIN;
    }
    t->lookup_again = 0;
    if (strcmp(user, "mjl") && strcmp(user, "disabled"))
        return MOX_ERR_NOTFOUND;
    return MOX_OK; /* exists, but no secrets: SCRAM gets NO_SECRET */
}

static int cr_verify(void *ctx, const char *user, const char *pw, size_t n)
{
    th *t = ctx;
    if (t->defer_lookup && !t->lookup_again) {
        t->lookup_again = 1;
        return MOX_ERR_AGAIN;
    }
    t->lookup_again = 0;
    if (strcmp(user, "mjl") && strcmp(user, "disabled"))
        return MOX_ERR_NOTFOUND;
    return n == 8 && memcmp(pw, "test1234", 8) == 0 ? MOX_OK : MOX_ERR_PERM;
}

/* ---------------------------------------------------------------- setup */

void th_init(th *t)
{
    memset(t, 0, sizeof *t);
    th_env_init(&t->env);
    mox_smtp_server_config c = MOX_SMTP_SERVER_CONFIG_INIT;
    c.env = &t->env.env;
    c.hostname = "mox.example";
    c.conn_id = "cid1";
    c.remote_ip = "192.0.2.1";
    c.local_ip = "192.0.2.25";
    /* Deadlines far away, so th_drain releases held replies without
     * running into them; the deadline tests set their own. */
    c.command_timeout_ms = c.data_timeout_ms = c.session_timeout_ms = 86400000;
    t->cfg = c;
    mox_smtp_server_callbacks cb = MOX_SMTP_SERVER_CALLBACKS_INIT;
    cb.on_connect = cb_connect;
    cb.on_hello = cb_hello;
    cb.on_mail = cb_mail;
    cb.on_rcpt = cb_rcpt;
    cb.on_data_start = cb_data_start;
    cb.on_data_chunk = cb_chunk;
    cb.on_data_end = cb_data_end;
    cb.on_reset = cb_reset;
    cb.on_verify = cb_verify;
    cb.on_starttls = cb_starttls;
    cb.on_auth = cb_auth;
    t->cb = cb;
    mox_sasl_credentials cr = MOX_SASL_CREDENTIALS_INIT;
    cr.ctx = t;
    cr.lookup = cr_lookup;
    cr.verify_password = cr_verify;
    t->creds = cr;
    t->rng = 0x9e3779b97f4a7c15ull;
}

int th_config(th *t, const char *line)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", line);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return -1;
        *eq = 0;
        const char *k = tok, *v = eq + 1;
        long n = atol(v);
        if (!strcmp(k, "mode"))
            t->cfg.mode =
                !strcmp(v, "submission") ? MOX_SMTP_SERVER_SUBMISSION : MOX_SMTP_SERVER_DELIVERY;
        else if (!strcmp(k, "pedantic"))
            t->cfg.pedantic = (int)n;
        else if (!strcmp(k, "tls"))
            t->cfg.tls_available = (int)n;
        else if (!strcmp(k, "tlsactive"))
            t->cfg.tls_active = (int)n;
        else if (!strcmp(k, "maxsize"))
            t->cfg.max_message_size = n ? (uint64_t)n : UINT64_MAX; /* 0: none */
        else if (!strcmp(k, "maxrcpts"))
            t->cfg.max_rcpts = n ? (unsigned)n : UINT_MAX; /* 0: none */
        else if (!strcmp(k, "maxerrors"))
            t->cfg.max_errors = (unsigned)n;
        else if (!strcmp(k, "maxauthfail"))
            t->cfg.max_auth_failures = (unsigned)n;
        else if (!strcmp(k, "maxline"))
            t->cfg.max_line = (size_t)n;
        else if (!strcmp(k, "hold"))
            t->cfg.max_hold_seconds = (uint32_t)n;
        else if (!strcmp(k, "ext"))
            t->cfg.extensions_off = MOX_SMTP_SERVER_EXT_DEFAULT & ~(unsigned)strtoul(v, NULL, 0);
        else if (!strcmp(k, "greeting"))
            t->cfg.greeting = !strcmp(v, "noservice") ? "noservice" : !strcmp(v, "busy") ? "busy" : NULL;
        else if (!strcmp(k, "auth")) {
            t->cfg.auth_mechs = (unsigned)strtoul(v, NULL, 0);
            t->cfg.auth_creds = &t->creds;
        } else if (!strcmp(k, "plainauth"))
            t->cfg.allow_plain_auth_without_tls = (int)n;
        else if (!strcmp(k, "authdelivery"))
            t->cfg.auth_in_delivery = (int)n;
        else if (!strcmp(k, "deferlookup"))
            t->defer_lookup = (int)n;
        else
            return -1;
    }
    return 0;
}

int th_start(th *t)
{
    int rc = mox_smtp_server_new(&t->s, &t->cfg, &t->cb, t, NULL);
    if (rc != MOX_OK)
        return rc;
    th_drain(t); /* the first output() asks for the greeting */
    th_resolve(t);
    th_drain(t);
    return t->oom ? MOX_ERR_NOMEM : MOX_OK;
}

void th_free(th *t)
{
    mox_smtp_server_free(t->s);
    t->s = NULL;
    mox_buf_free(&t->out);
    mox_buf_free(&t->msg);
    mox_buf_free(&t->last_msg);
}

void th_resolve(th *t)
{
    for (int guard = 0; guard < 100000; guard++) {
        int p;
        uint32_t id = mox_smtp_server_pending(t->s, &p);
        if (p == MOX_SMTP_SERVER_DECIDE_NONE)
            return;
        if (p == MOX_SMTP_SERVER_DECIDE_AUTH && !t->have_deferred) {
            if (mox_smtp_server_auth_resume(t->s) != MOX_OK)
                return;
            continue;
        }
        if (!t->have_deferred || t->deferred_kind != p)
            return;
        t->have_deferred = 0;
        mox_smtp_server_reply r = t->deferred;
        if (mox_smtp_server_decide(t->s, id, &r) != MOX_OK)
            return;
    }
}

void th_drain(th *t)
{
    for (int guard = 0; guard < 100000; guard++) {
        const void *o;
        size_t n;
        mox_smtp_server_output(t->s, &o, &n);
        if (n) {
            if (mox_buf_append(&t->out, o, n) != MOX_OK)
                t->oom = 1;
            mox_smtp_server_output_done(t->s, n);
            continue;
        }
        /* Held-back output (tarpit, slow replies): move the clock to
         * when it is due. The session's own deadlines are a day away. */
        int64_t due = mox_smtp_server_deadline(t->s);
        if (due == MOX_NO_DEADLINE || due - t->env.mono > (int64_t)3600 * 1000000000)
            return;
        if (due > t->env.mono)
            t->env.mono = due;
        else
            t->env.mono++;
        if (mox_smtp_server_tick(t->s, t->env.mono) != MOX_OK)
            t->oom = 1;
    }
}

int th_feed(th *t, const void *p, size_t len, int split)
{
    const unsigned char *b = p;
    size_t off = 0;
    int stuck = 0;
    while (off < len) {
        size_t piece = len - off;
        if (split > 0 && (size_t)split < piece)
            piece = (size_t)split;
        else if (split < 0) {
            size_t r = 1 + (size_t)(rnd(t) % 64);
            if (r < piece)
                piece = r;
        }
        int64_t n = mox_smtp_server_feed(t->s, b + off, piece);
        if (n < 0)
            return (int)n;
        off += (size_t)n;
        th_resolve(t);
        th_drain(t);
        if (t->auto_tls && (mox_smtp_server_want(t->s) & MOX_WANT_TLS)) {
            mox_tls_info ti = MOX_TLS_INFO_INIT;
            ti.version = 0x0304;
            ti.cipher = "TLS_AES_256_GCM_SHA384";
            if (t->auto_tls == 2) {
                ti.peer_cert = 1;
                ti.peer_identity = "mjl";
            }
            if (mox_smtp_server_tls_done(t->s, MOX_OK, &ti) != MOX_OK)
                return MOX_ERR_STATE;
            /* what the client sent in plaintext after STARTTLS is gone */
            off = len;
            break;
        }
        if (n == 0) {
            if (++stuck > 3)
                return MOX_ERR_STATE;
        } else {
            stuck = 0;
        }
    }
    return MOX_OK;
}

/* ---------------------------------------------------------------- transcripts */

size_t th_unescape(const char *in, size_t n, mox_buf *out)
{
    size_t start = out->len;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c != '\\' || i + 1 >= n) {
            mox_buf_append_byte(out, (unsigned char)c);
            continue;
        }
        char e = in[++i];
        switch (e) {
        case 'r': mox_buf_append_byte(out, '\r'); break;
        case 'n': mox_buf_append_byte(out, '\n'); break;
        case 't': mox_buf_append_byte(out, '\t'); break;
        case '0': mox_buf_append_byte(out, 0); break;
        case 'x':
            if (i + 2 < n) {
                char h[3] = {in[i + 1], in[i + 2], 0};
                mox_buf_append_byte(out, (unsigned char)strtoul(h, NULL, 16));
                i += 2;
            }
            break;
        default: mox_buf_append_byte(out, (unsigned char)e); break;
        }
    }
    return out->len - start;
}

/* Compares the output gathered since `mark` with `want`. */
static int check(th *t, size_t mark, const mox_buf *want, int lineno, char *err, size_t errsz)
{
    size_t got = t->out.len - mark;
    if (getenv("SMTPD_DUMP")) { /* authoring aid: show what the server said */
        fprintf(stderr, "@%d\n%.*s", lineno, (int)got, t->out.data ? (const char *)t->out.data + mark : "");
        return 0;
    }
    if (got == want->len && (got == 0 || memcmp(t->out.data + mark, want->data, got) == 0))
        return 0;
    snprintf(err, errsz, "output differs before transcript line %d:\n--- want\n%.*s--- got\n%.*s",
             lineno, (int)want->len, want->data ? (const char *)want->data : "", (int)got,
             t->out.data ? (const char *)t->out.data + mark : "");
    return -1;
}

int th_run_transcript(const char *text, size_t len, int split, int defer_mode, uint64_t seed,
                      char *err, size_t errsz)
{
    th t;
    th_init(&t);
    t.defer_mode = defer_mode;
    if (seed)
        t.rng = seed;
    mox_buf cli = MOX_BUF_INIT, want = MOX_BUF_INIT;
    size_t mark = 0;
    int started = 0, rc = 0, lineno = 0;
    const char *p = text, *end = text + len;
    err[0] = 0;
    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        const char *l = p;
        p = nl ? nl + 1 : end;
        if (ll && l[ll - 1] == '\r')
            ll--;
        if (ll == 0 || l[0] == '#')
            continue;
        if (ll > 7 && memcmp(l, "config ", 7) == 0) {
            char c[512];
            snprintf(c, sizeof c, "%.*s", (int)(ll - 7), l + 7);
            if (started || th_config(&t, c)) {
                snprintf(err, errsz, "line %d: bad config", lineno);
                rc = -1;
            }
            continue;
        }
        if (!started) {
            started = 1;
            if (th_start(&t) != MOX_OK) {
                snprintf(err, errsz, "line %d: start failed", lineno);
                rc = -1;
                break;
            }
        }
        int is_c = ll >= 2 && l[0] == 'C' && (l[1] == ':' || l[1] == '.');
        int is_s = ll >= 2 && l[0] == 'S' && l[1] == ':';
        int is_ev = l[0] == '!';
        if (is_c) {
            if (want.len) {
                /* previous step complete: feed it, check */
                if (th_feed(&t, cli.data, cli.len, split) != MOX_OK) {
                    snprintf(err, errsz, "line %d: feed failed", lineno);
                    rc = -1;
                    break;
                }
                rc = check(&t, mark, &want, lineno, err, errsz);
                mark = t.out.len;
                mox_buf_reset(&cli);
                mox_buf_reset(&want);
            }
            size_t skip = l[2] == ' ' ? 3 : 2;
            th_unescape(l + skip, ll - skip, &cli);
            if (l[1] == ':')
                mox_buf_append(&cli, "\r\n", 2);
        } else if (is_s) {
            size_t skip = ll > 2 && l[2] == ' ' ? 3 : 2;
            mox_buf_append(&want, l + skip, ll - skip); /* literal */
            mox_buf_append(&want, "\r\n", 2);
        } else if (is_ev) {
            if (th_feed(&t, cli.data, cli.len, split) != MOX_OK) {
                snprintf(err, errsz, "line %d: feed failed", lineno);
                rc = -1;
                break;
            }
            rc = check(&t, mark, &want, lineno, err, errsz);
            mark = t.out.len;
            mox_buf_reset(&cli);
            mox_buf_reset(&want);
            if (rc)
                break;
            char ev[256];
            snprintf(ev, sizeof ev, "%.*s", (int)(ll - 1), l + 1);
            char *e = ev;
            while (*e == ' ')
                e++;
            /* the want bits, without TIMER (deadlines run almost always) */
            unsigned st = mox_smtp_server_want(t.s) & ~MOX_WANT_TIMER;
            if (strncmp(e, "tls", 3) == 0) {
                if (!(st & MOX_WANT_TLS)) {
                    snprintf(err, errsz, "line %d: state %#x without WANT_TLS", lineno, st);
                    rc = -1;
                    break;
                }
                mox_tls_info ti = MOX_TLS_INFO_INIT;
                ti.version = 0x0304;
                ti.cipher = "TLS_AES_128_GCM_SHA256";
                const char *cu = strstr(e, "cert=");
                if (cu) {
                    ti.peer_cert = 1;
                    ti.peer_identity = cu + 5;
                }
                if (mox_smtp_server_tls_done(t.s, MOX_OK, &ti) != MOX_OK) {
                    snprintf(err, errsz, "line %d: tls_done failed", lineno);
                    rc = -1;
                }
            } else if (strcmp(e, "eof") == 0) {
                mox_smtp_server_eof(t.s);
            } else if (strncmp(e, "state ", 6) == 0) {
                unsigned want_st = (unsigned)strtoul(e + 6, NULL, 0);
                if (st != want_st) {
                    snprintf(err, errsz, "line %d: state %#x, want %#x", lineno, st, want_st);
                    rc = -1;
                }
            } else if (strncmp(e, "close ", 6) == 0) {
                mox_smtp_server_close(t.s, 421, "4.4.2", e + 6);
                th_drain(&t);
            } else {
                snprintf(err, errsz, "line %d: unknown event", lineno);
                rc = -1;
            }
        } else {
            snprintf(err, errsz, "line %d: bad transcript line", lineno);
            rc = -1;
        }
    }
    if (rc == 0 && started && (cli.len || want.len)) {
        if (th_feed(&t, cli.data, cli.len, split) != MOX_OK) {
            snprintf(err, errsz, "end: feed failed");
            rc = -1;
        } else {
            rc = check(&t, mark, &want, lineno + 1, err, errsz);
        }
    }
    mox_buf_free(&cli);
    mox_buf_free(&want);
    th_free(&t);
    return rc;
}
