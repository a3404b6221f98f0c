/* SMTP server engine: session lifecycle and the engine contract (want,
 * feed, eof, output, decisions by id, TLS, deadlines, result), input
 * buffering and backpressure, reply formatting, timed output (tarpit,
 * slow replies). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_server_priv.h"

#define MS (int64_t)1000000

/* ---------------------------------------------------------------- helpers */

static const mox_env *env_of(const mox_smtp_server *s) { return s->cfg.env; }

int64_t moxi_smtp_now(const mox_smtp_server *s)
{
    const mox_env *e = env_of(s);
    int64_t t = mox_clock_mono_ns(e ? e->clock : NULL);
    return t > s->last_tick ? t : s->last_tick;
}

int64_t moxi_smtp_now_wall_s(const mox_smtp_server *s)
{
    const mox_env *e = env_of(s);
    return mox_clock_wall_ns(e ? e->clock : NULL) / 1000000000;
}

void moxi_smtp_log(mox_smtp_server *s, int level, const char *msg, const char *k1,
                   const char *v1, const char *k2, const char *v2)
{
    const mox_env *e = env_of(s);
    if (!e || !e->logger || !e->logger->log || level < e->logger->min_level)
        return;
    mox_log_attr a[3];
    size_t n = 0;
    if (s->conn_id) {
        a[n].key = "cid";
        a[n].value = s->conn_id;
        a[n].value_len = strlen(s->conn_id);
        n++;
    }
    if (k1 && v1) {
        a[n].key = k1;
        a[n].value = v1;
        a[n].value_len = strlen(v1);
        n++;
    }
    if (k2 && v2) {
        a[n].key = k2;
        a[n].value = v2;
        a[n].value_len = strlen(v2);
        n++;
    }
    mox_log(e->logger, level, msg, a, n);
}

void moxi_smtp_count(mox_smtp_server *s, const char *name, const char *label,
                     const char *value)
{
    const mox_env *e = env_of(s);
    if (!e || !e->metrics)
        return;
    mox_metric_label l = {label, value};
    mox_metric_count(e->metrics, name, label ? &l : NULL, label ? 1 : 0, 1);
}

void moxi_smtp_rcpt_clear(mox_smtp_server_rcpt *r)
{
    mox_path_clear(&r->path);
    mox_free(r->orcpt);
    memset(r, 0, sizeof *r);
}

/* Frees the transaction's contents, without telling the embedder. */
void moxi_smtp_txn_clear(mox_smtp_server *s)
{
    mox_path_clear(&s->txn.mail_from);
    mox_free(s->txn.envid);
    mox_free(s->txn.auth);
    for (size_t i = 0; i < s->txn.nrcpts; i++)
        moxi_smtp_rcpt_clear(&s->txn.rcpts[i]);
    mox_free(s->txn.rcpts);
    memset(&s->txn, 0, sizeof s->txn);
    s->rcpt_cap = 0;
    s->in_txn = 0;
    s->rcpt_tried = 0;
    s->data_started = 0;
    s->dfail = 0;
    s->data_start = -1;
    s->data_temp = 0;
}

/* Ends the open transaction (if any) and tells the embedder why. */
void moxi_smtp_txn_reset(mox_smtp_server *s, int reason)
{
    int had = s->in_txn;
    moxi_smtp_txn_clear(s);
    if (had && s->cb.on_reset) {
        s->in_cb++;
        s->cb.on_reset(s->user, s, reason);
        s->in_cb--;
    }
}

void moxi_smtp_close(mox_smtp_server *s)
{
    if (s->phase == PH_CLOSED)
        return;
    moxi_smtp_auth_abort(s);
    moxi_smtp_txn_reset(s, MOX_SMTP_SERVER_RESET_CLOSED);
    moxi_smtp_rcpt_clear(&s->pend_rcpt);
    s->phase = PH_CLOSED;
    s->pending = MOX_SMTP_SERVER_DECIDE_NONE;
    s->pending_id = 0;
    mox_buf_free(&s->in);
    mox_buf_free(&s->line);
    if (!s->result.end)
        s->result.end = s->broken ? MOX_SMTP_SERVER_END_NOMEM
                        : s->end_reason ? s->end_reason
                                        : MOX_SMTP_SERVER_END_POLICY;
    s->wait_start = s->data_start = s->tls_start = -1;
    s->close_start = moxi_smtp_now(s);
}

/* ---------------------------------------------------------------- output */

void moxi_smtp_raw(mox_smtp_server *s, const char *p, size_t n)
{
    if (s->broken)
        return;
    if (mox_buf_append(&s->out, p, n) != MOX_OK)
        s->broken = 1;
}

/* Appends one reply, every line carrying the enhanced code when given. */
static void format_reply(mox_smtp_server *s, int code, const char *enh, const char *text)
{
    if (s->broken)
        return;
    if (mox_smtp_reply_format(&s->out, code, enh, text) != MOX_OK)
        s->broken = 1;
}

static void count_reply(mox_smtp_server *s, int code)
{
    static const char *const cls[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    int c = code / 100;
    if (c >= 1 && c <= 5)
        moxi_smtp_count(s, "mox_smtpserver_reply_total", "class", cls[c - 1]);
}

void moxi_smtp_hold(mox_smtp_server *s, uint64_t start, uint64_t end, uint32_t delay_ms, int slow)
{
    if (end <= start || s->broken)
        return;
    if (slow && delay_ms > s->cfg.slow_max_ms)
        delay_ms = s->cfg.slow_max_ms;
    if (s->nsegs == s->capsegs) {
        size_t nc = s->capsegs ? s->capsegs * 2 : 4;
        moxi_smtp_seg *n = mox_realloc(s->segs, nc * sizeof *n);
        if (!n) {
            s->broken = 1;
            return;
        }
        s->segs = n;
        s->capsegs = nc;
    }
    int64_t t0 = moxi_smtp_now(s);
    moxi_smtp_seg *g = &s->segs[s->nsegs++];
    g->start = start;
    g->end = end;
    g->t0 = t0;
    g->t1 = t0 + (int64_t)delay_ms * MS;
    g->slow = slow;
    if (g->t1 > s->held_until)
        s->held_until = g->t1;
}

void moxi_smtp_queue_reply(mox_smtp_server *s, const mox_smtp_server_reply *r, int with_enh)
{
    uint64_t start = s->out_base + s->out.len;
    format_reply(s, r->code, with_enh ? r->enhanced : NULL, r->text);
    count_reply(s, r->code);
    if (r->delay_ms)
        moxi_smtp_hold(s, start, s->out_base + s->out.len, r->delay_ms, r->slow);
    if (r->close)
        s->closing = 1;
}

void moxi_smtp_default(mox_smtp_server_reply *r, int code, const char *enh, const char *text)
{
    memset(r, 0, sizeof *r);
    r->size = sizeof *r;
    r->code = code;
    if (enh)
        snprintf(r->enhanced, sizeof r->enhanced, "%s", enh);
    if (text)
        snprintf(r->text, sizeof r->text, "%s", text);
}

void mox_smtp_server_reply_init(mox_smtp_server_reply *r, size_t size)
{
    if (!r || size < sizeof(size_t))
        return;
    memset(r, 0, size);
    r->size = size < sizeof *r ? size : sizeof *r;
}

void mox_smtp_server_reply_set(mox_smtp_server_reply *r, int code, const char *enhanced,
                               const char *text)
{
    if (!r)
        return;
    r->code = code;
    if (r->size >= offsetof(mox_smtp_server_reply, text)) {
        snprintf(r->enhanced, sizeof r->enhanced, "%s", enhanced ? enhanced : "");
    }
    if (r->size >= offsetof(mox_smtp_server_reply, delay_ms))
        snprintf(r->text, sizeof r->text, "%s", text ? text : "");
}

void moxi_smtp_reply(mox_smtp_server *s, int code, const char *enh, const char *text)
{
    format_reply(s, code, enh, text);
    count_reply(s, code);
}

void moxi_smtp_replyf(mox_smtp_server *s, int code, const char *enh, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    moxi_smtp_reply(s, code, enh, buf);
}

/* A protocol error: counted; too many end the session. */
void moxi_smtp_error(mox_smtp_server *s, int code, const char *enh, const char *text)
{
    moxi_smtp_reply(s, code, enh, text);
    s->sess.errors++;
    if (s->sess.errors >= s->cfg.max_errors && s->phase != PH_CLOSED) {
        moxi_smtp_reply(s, 421, "4.7.0", "too many errors, closing connection");
        moxi_smtp_log(s, MOX_LOG_INFO, "too many protocol errors", NULL, NULL, NULL, NULL);
        s->end_reason = MOX_SMTP_SERVER_END_ERRORS;
        moxi_smtp_close(s);
    }
}

/* Normalises a reply from the embedder: a code RFC 5321 §4.2 allows, an
 * enhanced code of the right class (RFC 2034 §3). */
static void normalise(mox_smtp_server_reply *r)
{
    if (!mox_smtp_code_valid(r->code) ||
        (r->code >= 300 && r->code < 400 && r->code != 354 && r->code != 334)) {
        r->code = 451;
        snprintf(r->enhanced, sizeof r->enhanced, "4.3.0");
        snprintf(r->text, sizeof r->text, "local error (invalid reply code)");
    }
    r->enhanced[sizeof r->enhanced - 1] = 0;
    r->text[sizeof r->text - 1] = 0;
    if (r->code / 100 != 3 && !mox_smtp_enhanced_valid(r->enhanced, r->code))
        snprintf(r->enhanced, sizeof r->enhanced, "%d.0.0", r->code / 100);
}

/* ---------------------------------------------------------------- decisions */

void moxi_smtp_ask(mox_smtp_server *s, int kind)
{
    s->asking = kind;
    s->asking_id = ++s->last_id;
    s->early = 0;
    s->in_cb++;
}

void moxi_smtp_decide(mox_smtp_server *s, int kind, int rc, mox_smtp_server_reply *r)
{
    uint32_t id = s->asking_id;
    if (s->asking == kind) {
        s->in_cb--;
        s->asking = MOX_SMTP_SERVER_DECIDE_NONE;
        s->asking_id = 0;
    }
    if (s->early) {
        /* decide() inside the callback: that reply is the decision */
        s->early = 0;
        *r = *s->early_r;
        rc = MOX_SMTP_SERVER_REPLY;
    }
    if (rc == MOX_SMTP_SERVER_DEFER) {
        s->pending = kind;
        s->pending_id = id ? id : ++s->last_id;
        return;
    }
    if (rc < 0) {
        moxi_smtp_log(s, MOX_LOG_ERROR, "callback failed", "error", mox_strerror(rc), NULL, NULL);
        moxi_smtp_default(r, 451, "4.3.0", "local error, try again later");
    }
    normalise(r);
    moxi_smtp_apply(s, kind, r);
}

/* ---------------------------------------------------------------- deadlines */

static int stressed(const mox_smtp_server *s)
{
    return s->cfg.connections && s->cfg.stress_connections &&
           *s->cfg.connections >= s->cfg.stress_connections;
}

static int64_t lim_command(const mox_smtp_server *s)
{
    return (int64_t)(stressed(s) ? s->cfg.stress_command_timeout_ms : s->cfg.command_timeout_ms) *
           MS;
}

static int64_t lim_data(const mox_smtp_server *s)
{
    return (int64_t)(stressed(s) ? s->cfg.stress_data_timeout_ms : s->cfg.data_timeout_ms) * MS;
}

static int64_t lim_session(const mox_smtp_server *s)
{
    return (int64_t)(stressed(s) ? s->cfg.stress_session_timeout_ms
                                 : s->cfg.session_timeout_ms) *
           MS;
}

static int paused(const mox_smtp_server *s)
{
    return s->pending != MOX_SMTP_SERVER_DECIDE_NONE || s->broken;
}

/* The engine reads a command line in these phases. */
static int reads_lines(const mox_smtp_server *s)
{
    return s->phase == PH_CMD || s->phase == PH_AUTH || s->phase == PH_NOSERVICE;
}

/* Starts or stops the waits after the engine's state changed. A wait
 * that runs keeps its start: bytes arriving do not move it. */
static void update_waits(mox_smtp_server *s)
{
    if (s->phase == PH_CLOSED)
        return;
    int64_t now = moxi_smtp_now(s);
    if (reads_lines(s) && !paused(s) && !s->eof) {
        if (s->wait_start < 0)
            s->wait_start = now;
    } else {
        s->wait_start = -1;
    }
    int tls = (s->phase == PH_TLS) || (s->phase == PH_NEW && s->tls_wait);
    if (tls) {
        if (s->tls_start < 0)
            s->tls_start = now;
    } else {
        s->tls_start = -1;
    }
}

/* Bytes of the output that may be written at `now`; *due is when more
 * becomes available (-1: never). Released segments at the front are
 * counted in *drop (for the caller to remove when it may). */
static size_t avail_at(const mox_smtp_server *s, int64_t now, int64_t *due, size_t *drop)
{
    uint64_t limit = s->out_base + s->out.len;
    *due = -1;
    size_t i = 0;
    while (i < s->nsegs) {
        const moxi_smtp_seg *g = &s->segs[i];
        if (now >= g->t1 || g->end <= s->out_base) {
            i++;
            continue;
        }
        uint64_t span = g->end - g->start;
        if (g->slow) {
            /* integer arithmetic: at *due the floor below reaches k+1 */
            uint64_t dur = (uint64_t)(g->t1 - g->t0);
            uint64_t el = now > g->t0 ? (uint64_t)(now - g->t0) : 0;
            uint64_t k = span * el / dur;
            if (k >= span)
                k = span - 1;
            limit = g->start + k;
            *due = g->t0 + (int64_t)((dur * (k + 1) + span - 1) / span);
        } else {
            limit = g->start;
            *due = g->t1;
        }
        break;
    }
    if (drop)
        *drop = i;
    if (limit < s->out_base)
        limit = s->out_base;
    return (size_t)(limit - s->out_base);
}

static int64_t earliest(int64_t a, int64_t b) { return b < a ? b : a; }

/* When the last replies must have been written after the end: the closing
 * wait starts once nothing is held back any more (a tarpit on the last
 * reply is not the client's delay). */
static int64_t close_deadline(const mox_smtp_server *s)
{
    int64_t from = s->close_start > s->held_until ? s->close_start : s->held_until;
    return from + (int64_t)s->cfg.close_timeout_ms * MS;
}

int64_t mox_smtp_server_deadline(const mox_smtp_server *s)
{
    if (!s || s->broken)
        return MOX_NO_DEADLINE;
    int64_t d = MOX_NO_DEADLINE, due;
    int64_t now = moxi_smtp_now(s);
    size_t a = avail_at(s, now, &due, NULL);
    if (a < s->out.len && due >= 0)
        d = due;
    if (s->phase == PH_CLOSED) {
        if (s->out.len)
            d = earliest(d, close_deadline(s));
        return d;
    }
    d = earliest(d, s->t_start + lim_session(s));
    if (s->tls_start >= 0)
        d = earliest(d, s->tls_start + lim_command(s));
    if (!paused(s)) {
        if (s->wait_start >= 0)
            d = earliest(d, s->wait_start + lim_command(s));
        if (s->data_start >= 0)
            d = earliest(d, s->data_start + lim_data(s));
    }
    return d;
}

/* Drops what cannot be sent any more. */
static void drop_output(mox_smtp_server *s)
{
    s->out_base += s->out.len;
    mox_buf_reset(&s->out);
    s->nsegs = 0;
    s->given = 0;
}

static void timeout_close(mox_smtp_server *s, int which, const char *what)
{
    static const char *const names[] = {"", "command", "data", "session", "tls"};
    s->result.end = MOX_SMTP_SERVER_END_TIMEOUT;
    s->result.timeout = which;
    s->result.stressed = stressed(s);
    moxi_smtp_count(s, "mox_smtpserver_timeout_total", "kind", names[which]);
    moxi_smtp_log(s, MOX_LOG_INFO, "timeout", "kind", names[which], "stressed",
                  s->result.stressed ? "yes" : "no");
    if (which == MOX_SMTP_SERVER_TIMEOUT_TLS) {
        moxi_smtp_close(s);
        drop_output(s); /* no plaintext may follow a STARTTLS 220 */
        return;
    }
    /* RFC 5321 §4.5.3.2: the server closes; 421 (§3.8) says why. */
    char text[300];
    snprintf(text, sizeof text, "%.200s %s, closing connection", s->hostname, what);
    moxi_smtp_reply(s, 421, "4.4.2", text);
    moxi_smtp_close(s);
}

int mox_smtp_server_tick(mox_smtp_server *s, int64_t now)
{
    if (!s)
        return MOX_ERR_INVAL;
    if (s->in_cb)
        return moxi_engine_fail(&s->eng, MOX_ERR_STATE, "tick inside a callback");
    if (now > s->last_tick)
        s->last_tick = now;
    now = moxi_smtp_now(s);
    if (s->phase == PH_CLOSED) {
        if (s->out.len && now >= close_deadline(s)) {
            moxi_smtp_log(s, MOX_LOG_INFO, "peer does not read the last replies", NULL, NULL, NULL,
                          NULL);
            drop_output(s);
        }
        return MOX_OK;
    }
    if (now >= s->t_start + lim_session(s))
        timeout_close(s, MOX_SMTP_SERVER_TIMEOUT_SESSION, "session time limit reached");
    else if (s->tls_start >= 0 && now >= s->tls_start + lim_command(s))
        timeout_close(s, MOX_SMTP_SERVER_TIMEOUT_TLS, "");
    else if (!paused(s) && s->data_start >= 0 && now >= s->data_start + lim_data(s))
        timeout_close(s, MOX_SMTP_SERVER_TIMEOUT_DATA, "timeout receiving message data");
    else if (!paused(s) && s->wait_start >= 0 && now >= s->wait_start + lim_command(s))
        timeout_close(s, MOX_SMTP_SERVER_TIMEOUT_COMMAND, "timeout waiting for a command");
    return s->broken ? MOX_ERR_NOMEM : MOX_OK;
}

/* ---------------------------------------------------------------- lifecycle */

static void tls_clear(mox_smtp_server *s);
static void start(mox_smtp_server *s);

static int dup_opt(char **dst, const char *src)
{
    if (!src)
        return MOX_OK;
    *dst = moxi_strdup(src);
    return *dst ? MOX_OK : MOX_ERR_NOMEM;
}

void mox_smtp_server_config_init(mox_smtp_server_config *cfg, size_t size)
{
    if (!cfg || size < sizeof(size_t))
        return;
    memset(cfg, 0, size);
    cfg->size = size < sizeof *cfg ? size : sizeof *cfg;
}

void mox_smtp_server_callbacks_init(mox_smtp_server_callbacks *cb, size_t size)
{
    if (!cb || size < sizeof(size_t))
        return;
    memset(cb, 0, size);
    cb->size = size < sizeof *cb ? size : sizeof *cb;
}

static unsigned want_op(const void *self) { return mox_smtp_server_want(self); }
static int64_t feed_op(void *self, const void *p, size_t n)
{
    return mox_smtp_server_feed(self, p, n);
}
static int eof_op(void *self) { return mox_smtp_server_eof(self); }
static int output_op(void *self, const void **p, size_t *n)
{
    return mox_smtp_server_output(self, p, n);
}
static int output_done_op(void *self, size_t n) { return mox_smtp_server_output_done(self, n); }
static int tls_request_op(const void *self, mox_tls_request *req)
{
    return mox_smtp_server_tls_request(self, req);
}
static int tls_done_op(void *self, int status, const mox_tls_info *info)
{
    return mox_smtp_server_tls_done(self, status, info);
}
static int64_t deadline_op(const void *self) { return mox_smtp_server_deadline(self); }
static int tick_op(void *self, int64_t now) { return mox_smtp_server_tick(self, now); }

static const moxi_engine_ops server_ops = {
    "smtp_server", want_op,        feed_op,     eof_op, output_op, output_done_op, NULL, NULL,
    tls_request_op, tls_done_op, deadline_op, tick_op};

int mox_smtp_server_new(mox_smtp_server **out, const mox_smtp_server_config *config,
                        const mox_smtp_server_callbacks *callbacks, void *user_data,
                        mox_errinfo *ei)
{
    if (!out)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL out");
    *out = NULL;
    if (!config || config->size < offsetof(mox_smtp_server_config, extensions_off))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL config or size too small");
    if (callbacks && callbacks->size < sizeof(size_t))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "callbacks size too small");
    mox_smtp_server_config d = MOX_SMTP_SERVER_CONFIG_INIT;
    moxi_copy_sized(&d, config, sizeof d);
    if (!d.hostname)
        d.hostname = "localhost"; /* zero is the default, like every field */
    if (!*d.hostname || strlen(d.hostname) > 255)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "empty or overlong hostname");
    for (const char *p = d.hostname; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return moxi_fail(ei, MOX_ERR_INVAL, 0, (size_t)(p - d.hostname),
                             "hostname with a space, control or non-ASCII byte");
    if (d.mode != MOX_SMTP_SERVER_DELIVERY && d.mode != MOX_SMTP_SERVER_SUBMISSION)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "unknown mode %d", d.mode);
    mox_smtp_server *s = mox_calloc(1, sizeof *s);
    if (!s)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    s->cfg = d;
    s->cfg.size = sizeof d;
    mox_smtp_server_callbacks_init(&s->cb, sizeof s->cb);
    moxi_copy_sized(&s->cb, callbacks, sizeof s->cb);
    s->user = user_data;
    moxi_engine_init(&s->eng, &server_ops, s);
    /* zero means the default (the header says why each is what it is) */
    mox_smtp_server_config *c = &s->cfg;
    if (!c->max_message_size)
        c->max_message_size = (uint64_t)100 * 1024 * 1024;
    else if (c->max_message_size == UINT64_MAX)
        c->max_message_size = 0; /* inside: 0 is "no limit" */
    if (!c->max_rcpts)
        c->max_rcpts = 1000;
    else if (c->max_rcpts == UINT_MAX)
        c->max_rcpts = 0;
    if (!c->max_errors)
        c->max_errors = 10;
    if (!c->max_auth_failures)
        c->max_auth_failures = 3;
    if (!c->max_line)
        c->max_line = 2048;
    if (!c->max_auth_line)
        c->max_auth_line = 12288;
    if (!c->max_pending)
        c->max_pending = 65536;
    if (!c->slow_max_ms)
        c->slow_max_ms = 25000;
    if (!c->command_timeout_ms)
        c->command_timeout_ms = 300000;
    if (!c->data_timeout_ms)
        c->data_timeout_ms = 600000;
    if (!c->session_timeout_ms)
        c->session_timeout_ms = 3600000;
    if (!c->close_timeout_ms)
        c->close_timeout_ms = 10000;
    if (!c->stress_command_timeout_ms)
        c->stress_command_timeout_ms = 10000;
    if (!c->stress_data_timeout_ms)
        c->stress_data_timeout_ms = 120000;
    if (!c->stress_session_timeout_ms)
        c->stress_session_timeout_ms = 300000;
    s->ext = MOX_SMTP_SERVER_EXT_DEFAULT & ~c->extensions_off;
    if (!(s->ext & MOX_SMTP_EXT_CHUNKING))
        s->ext &= ~MOX_SMTP_EXT_BINARYMIME; /* RFC 3030 §3: BINARYMIME rides on BDAT */
    int rc = dup_opt(&s->hostname, d.hostname);
    if (rc == MOX_OK)
        rc = dup_opt(&s->conn_id, d.conn_id);
    if (rc == MOX_OK)
        rc = dup_opt(&s->remote_ip, d.remote_ip);
    if (rc == MOX_OK)
        rc = dup_opt(&s->local_ip, d.local_ip);
    if (rc == MOX_OK)
        rc = dup_opt(&s->greeting, d.greeting);
    if (rc != MOX_OK) {
        mox_smtp_server_free(s);
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    }
    /* the copies replace the caller's pointers */
    c->hostname = s->hostname;
    c->conn_id = s->conn_id;
    c->remote_ip = s->remote_ip;
    c->local_ip = s->local_ip;
    c->greeting = s->greeting;
    s->sess.mode = c->mode;
    s->result.session = &s->sess;
    s->phase = PH_NEW;
    s->tls_wait = c->tls_active ? 1 : 0;
    s->wait_start = s->data_start = s->tls_start = s->close_start = -1;
    s->t_start = moxi_smtp_now(s);
    /* The greeting, asked of on_connect now (after the handshake with
     * implicit TLS). *out is set first: the callback may use it. */
    *out = s;
    start(s);
    if (s->broken) {
        *out = NULL;
        mox_smtp_server_free(s);
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    }
    update_waits(s);
    return MOX_OK;
}

void mox_smtp_server_free(mox_smtp_server *s)
{
    if (!s)
        return;
    moxi_smtp_close(s);
    mox_sasl_server_free(s->sasl);
    mox_buf_free(&s->in);
    mox_buf_free(&s->line);
    mox_buf_free(&s->out);
    mox_free(s->segs);
    mox_free(s->hostname);
    mox_free(s->conn_id);
    mox_free(s->remote_ip);
    mox_free(s->local_ip);
    mox_free(s->greeting);
    mox_free(s->hello);
    mox_free(s->hello_pending);
    tls_clear(s);
    mox_free(s->auth_user);
    mox_free(s->verify_arg);
    mox_free(s->early_r);
    mox_free(s);
}

size_t mox_smtp_server_sizeof(void) { return sizeof(mox_smtp_server); }

mox_engine *mox_smtp_server_engine(mox_smtp_server *s) { return s ? &s->eng : NULL; }

const mox_smtp_server_outcome *mox_smtp_server_result(const mox_smtp_server *s)
{
    return s ? &s->result : NULL;
}

/* The greeting: asked of on_connect at the first call that can send it. */
static void start(mox_smtp_server *s)
{
    if (s->started || s->phase != PH_NEW || s->tls_wait)
        return;
    s->started = 1;
    s->phase = PH_CMD;
    moxi_smtp_count(s, "mox_smtpserver_connection_total", "mode",
                    s->cfg.mode == MOX_SMTP_SERVER_SUBMISSION ? "submission" : "delivery");
    mox_smtp_server_reply r;
    moxi_smtp_default(&r, 220, "", s->greeting ? s->greeting : "");
    moxi_smtp_ask(s, MOX_SMTP_SERVER_DECIDE_CONNECT);
    int rc = MOX_SMTP_SERVER_REPLY;
    if (s->cb.on_connect)
        rc = s->cb.on_connect(s->user, s, &r);
    moxi_smtp_decide(s, MOX_SMTP_SERVER_DECIDE_CONNECT, rc, &r);
    moxi_smtp_resume(s);
}

/* ---------------------------------------------------------------- input */

/* The peer closed and everything fed was processed: the session ends. */
static void check_eof(mox_smtp_server *s)
{
    if (!s->eof || s->phase == PH_CLOSED || paused(s) || s->in.len)
        return;
    if (s->in_txn)
        moxi_smtp_log(s, MOX_LOG_INFO, "connection closed during transaction", NULL, NULL, NULL,
                      NULL);
    s->end_reason = MOX_SMTP_SERVER_END_EOF;
    moxi_smtp_close(s);
}

/* Processes input until it is used up or the session pauses. Returns the
 * number of bytes used. */
static size_t run(mox_smtp_server *s, const unsigned char *p, size_t n)
{
    size_t off = 0;
    while (off < n && !paused(s)) {
        size_t k;
        switch (s->phase) {
        case PH_DATA:
            k = moxi_smtp_data(s, p + off, n - off);
            break;
        case PH_BDAT:
            k = moxi_smtp_bdat(s, p + off, n - off);
            break;
        case PH_TLS:
            /* Plaintext pipelined after STARTTLS would otherwise be taken
             * as if it came over TLS (command injection, CVE-2011-0411). */
            moxi_smtp_log(s, MOX_LOG_WARN, "discarding plaintext sent after STARTTLS", NULL, NULL,
                          NULL, NULL);
            moxi_smtp_count(s, "mox_smtpserver_starttls_injection_total", NULL, NULL);
            return n;
        case PH_CLOSED:
        case PH_NEW:
            return n;
        default:
            k = moxi_smtp_lines(s, p + off, n - off);
            break;
        }
        if (s->closing && s->phase != PH_CLOSED) {
            s->closing = 0;
            moxi_smtp_close(s);
        }
        off += k;
        if (k == 0 && !paused(s))
            break; /* defensive: never spin */
    }
    return off;
}

/* Runs the buffered input after a pause ended. */
static void drain(mox_smtp_server *s)
{
    while (!paused(s) && s->in.len) {
        size_t k = run(s, s->in.data, s->in.len);
        mox_buf_consume(&s->in, k);
        if (k == 0)
            break;
    }
    if (s->phase == PH_CLOSED || s->phase == PH_TLS)
        mox_buf_reset(&s->in);
}

/* Continues after a decision: pending close, then buffered input. */
void moxi_smtp_resume(mox_smtp_server *s)
{
    if (s->closing && s->phase != PH_CLOSED) {
        s->closing = 0;
        moxi_smtp_close(s);
    }
    drain(s);
    check_eof(s);
    update_waits(s);
}

int64_t mox_smtp_server_feed(mox_smtp_server *s, const void *in, size_t len)
{
    if (!s)
        return MOX_ERR_INVAL;
    if (!in && len)
        return moxi_engine_fail(&s->eng, MOX_ERR_INVAL, "NULL input with length %zu", len);
    if (s->in_cb)
        return moxi_engine_fail(&s->eng, MOX_ERR_STATE, "feed inside a callback");
    if (s->eof)
        return moxi_engine_fail(&s->eng, MOX_ERR_STATE, "feed after eof");
    if (s->broken)
        return moxi_engine_fail(&s->eng, MOX_ERR_NOMEM, "session broken by a failed allocation");
    if (s->phase == PH_NEW && s->tls_wait)
        return moxi_engine_fail(&s->eng, MOX_ERR_STATE,
                                "input before the implicit TLS handshake finished");
    if ((uint64_t)len > (uint64_t)INT64_MAX)
        len = (size_t)INT64_MAX;
    if (s->phase == PH_CLOSED)
        return (int64_t)len;
    const unsigned char *p = in;
    size_t used = 0;
    if (!s->in.len && !paused(s)) {
        used = run(s, p, len);
        if (s->phase == PH_CLOSED || s->phase == PH_TLS)
            used = len;
    }
    if (!s->broken && used < len && s->phase != PH_CLOSED && s->in.len < s->cfg.max_pending) {
        size_t take = len - used;
        if (take > s->cfg.max_pending - s->in.len)
            take = s->cfg.max_pending - s->in.len;
        if (mox_buf_append(&s->in, p + used, take) != MOX_OK)
            s->broken = 1;
        else
            used += take;
        drain(s);
    }
    if (s->broken) {
        moxi_smtp_close(s);
        return moxi_engine_fail(&s->eng, MOX_ERR_NOMEM, "out of memory");
    }
    update_waits(s);
    return (int64_t)used;
}

int mox_smtp_server_eof(mox_smtp_server *s)
{
    if (!s)
        return MOX_ERR_INVAL;
    if (s->in_cb)
        return moxi_engine_fail(&s->eng, MOX_ERR_STATE, "eof inside a callback");
    if (s->eof)
        return moxi_engine_fail(&s->eng, MOX_ERR_STATE, "second eof");
    s->eof = 1;
    if (s->phase == PH_NEW) {
        /* gone before the greeting (or the implicit TLS handshake) */
        s->end_reason = MOX_SMTP_SERVER_END_EOF;
        moxi_smtp_close(s);
        return MOX_OK;
    }
    check_eof(s);
    update_waits(s);
    return MOX_OK;
}

int mox_smtp_server_close(mox_smtp_server *s, int code, const char *enhanced, const char *text)
{
    if (!s)
        return MOX_ERR_INVAL;
    if (s->in_cb)
        return moxi_engine_fail(&s->eng, MOX_ERR_STATE, "close inside a callback");
    if (s->phase == PH_CLOSED)
        return moxi_engine_fail(&s->eng, MOX_ERR_STATE, "session ended already");
    mox_smtp_server_reply r;
    moxi_smtp_default(&r, code, enhanced, text);
    normalise(&r);
    s->end_reason = MOX_SMTP_SERVER_END_CLOSED;
    if (s->phase == PH_NEW && s->tls_wait) {
        moxi_smtp_close(s); /* nothing can be said before TLS */
        return MOX_OK;
    }
    s->started = 1; /* no greeting after this */
    moxi_smtp_queue_reply(s, &r, 1);
    moxi_smtp_close(s);
    return s->broken ? MOX_ERR_NOMEM : MOX_OK;
}

/* ---------------------------------------------------------------- output API */

int mox_smtp_server_output(mox_smtp_server *s, const void **out, size_t *len)
{
    if (!s || !out || !len) {
        if (s)
            moxi_engine_fail(&s->eng, MOX_ERR_INVAL, "NULL output pointers");
        return MOX_ERR_INVAL;
    }
    if (!s->in_cb)
        update_waits(s);
    int64_t due;
    size_t drop;
    *len = avail_at(s, moxi_smtp_now(s), &due, &drop);
    if (drop && !s->in_cb) {
        memmove(s->segs, s->segs + drop, (s->nsegs - drop) * sizeof *s->segs);
        s->nsegs -= drop;
    }
    *out = s->out.data ? (const void *)s->out.data : (const void *)"";
    s->given = *len;
    if (s->broken && s->phase != PH_CLOSED && !s->in_cb)
        moxi_smtp_close(s);
    return s->broken && !*len ? MOX_ERR_NOMEM : MOX_OK;
}

int mox_smtp_server_output_done(mox_smtp_server *s, size_t n)
{
    if (!s)
        return MOX_ERR_INVAL;
    if (n > s->given)
        return moxi_engine_fail(&s->eng, MOX_ERR_INVAL,
                                "output_done(%zu) with %zu bytes handed out", n, s->given);
    s->given -= n;
    mox_buf_consume(&s->out, n);
    s->out_base += n;
    if (s->out.len == 0 && s->out.cap > 65536)
        mox_buf_free(&s->out); /* a huge EHLO or error burst should not stick */
    if (!s->in_cb)
        update_waits(s);
    return MOX_OK;
}

unsigned mox_smtp_server_want(const mox_smtp_server *s)
{
    if (!s)
        return 0;
    unsigned w = 0;
    int64_t due;
    size_t a = avail_at(s, moxi_smtp_now(s), &due, NULL);
    if (a > 0)
        w |= MOX_WANT_WRITE;
    if (s->broken)
        return w | MOX_WANT_CLOSED | MOX_WANT_DONE;
    if (mox_smtp_server_deadline(s) != MOX_NO_DEADLINE)
        w |= MOX_WANT_TIMER;
    if (s->pending != MOX_SMTP_SERVER_DECIDE_NONE)
        w |= MOX_WANT_DECISION;
    switch (s->phase) {
    case PH_CLOSED:
        /* Replies still held back (a tarpit on the last ones) keep the
         * connection: CLOSED once they are released. */
        if (a == s->out.len)
            w |= MOX_WANT_CLOSED | MOX_WANT_DONE;
        break;
    case PH_NEW:
        if (s->tls_wait)
            w |= MOX_WANT_TLS;
        break;
    case PH_TLS:
        if (s->out.len == 0)
            w |= MOX_WANT_TLS;
        break;
    default:
        if (!s->eof && (s->pending == MOX_SMTP_SERVER_DECIDE_NONE || s->in.len < s->cfg.max_pending))
            w |= MOX_WANT_READ;
        break;
    }
    return w;
}

uint32_t mox_smtp_server_pending(const mox_smtp_server *s, int *kind)
{
    int k = MOX_SMTP_SERVER_DECIDE_NONE;
    uint32_t id = 0;
    if (s && s->asking != MOX_SMTP_SERVER_DECIDE_NONE && !s->early) {
        k = s->asking;
        id = s->asking_id;
    } else if (s && s->pending != MOX_SMTP_SERVER_DECIDE_NONE) {
        k = s->pending;
        id = s->pending_id;
    }
    if (kind)
        *kind = k;
    return id;
}

int mox_smtp_server_decide(mox_smtp_server *s, uint32_t id, const mox_smtp_server_reply *r)
{
    if (!s)
        return MOX_ERR_INVAL;
    if (!r || r->size < offsetof(mox_smtp_server_reply, text))
        return moxi_engine_fail(&s->eng, MOX_ERR_INVAL, "NULL reply or size too small");
    mox_smtp_server_reply c;
    moxi_smtp_default(&c, 0, NULL, NULL);
    memcpy(&c, r, r->size < sizeof c ? r->size : sizeof c);
    c.size = sizeof c;
    if (s->asking != MOX_SMTP_SERVER_DECIDE_NONE && id == s->asking_id) {
        if (s->early)
            return moxi_engine_fail(&s->eng, MOX_ERR_STATE, "decision %u decided already",
                                    (unsigned)id);
        /* inside the asking callback: taken when it returns */
        if (!s->early_r && !(s->early_r = mox_malloc(sizeof *s->early_r)))
            return moxi_engine_fail(&s->eng, MOX_ERR_NOMEM, "out of memory");
        s->early = 1;
        *s->early_r = c;
        return MOX_OK;
    }
    if (id == 0 || id > s->last_id)
        return moxi_engine_fail(&s->eng, MOX_ERR_NOTFOUND, "no decision %u was asked",
                                (unsigned)id);
    if (s->phase == PH_CLOSED)
        return moxi_engine_fail(&s->eng, MOX_ERR_STATE, "decision %u: the session ended",
                                (unsigned)id);
    if (s->pending == MOX_SMTP_SERVER_DECIDE_NONE || id != s->pending_id)
        return moxi_engine_fail(&s->eng, MOX_ERR_STATE, "decision %u is not open",
                                (unsigned)id);
    if (s->in_cb)
        return moxi_engine_fail(&s->eng, MOX_ERR_STATE, "decide inside another callback");
    if (s->pending == MOX_SMTP_SERVER_DECIDE_AUTH && s->auth_lookup_wait)
        return moxi_engine_fail(&s->eng, MOX_ERR_STATE,
                                "waiting for a credentials lookup, not a decision");
    if (s->broken)
        return moxi_engine_fail(&s->eng, MOX_ERR_NOMEM, "session broken by a failed allocation");
    int kind = s->pending;
    s->pending = MOX_SMTP_SERVER_DECIDE_NONE;
    s->pending_id = 0;
    normalise(&c);
    moxi_smtp_apply(s, kind, &c);
    moxi_smtp_resume(s);
    if (s->broken) {
        moxi_smtp_close(s);
        return moxi_engine_fail(&s->eng, MOX_ERR_NOMEM, "out of memory");
    }
    return MOX_OK;
}

int mox_smtp_server_decide_code(mox_smtp_server *s, uint32_t id, int code, const char *enhanced,
                                const char *text)
{
    mox_smtp_server_reply r;
    moxi_smtp_default(&r, code, enhanced, text);
    return mox_smtp_server_decide(s, id, &r);
}

int mox_smtp_server_set_rcpt_outcome(mox_smtp_server *s, size_t idx, int code)
{
    if (!s)
        return MOX_ERR_INVAL;
    if (!s->in_txn)
        return MOX_ERR_STATE;
    if (idx >= s->txn.nrcpts || code < 200 || code > 599)
        return MOX_ERR_INVAL;
    s->txn.rcpts[idx].outcome = code;
    return MOX_OK;
}

const mox_smtp_server_session *mox_smtp_server_get_session(const mox_smtp_server *s)
{
    return s ? &s->sess : NULL;
}

const mox_smtp_server_txn *mox_smtp_server_get_txn(const mox_smtp_server *s)
{
    return s && s->in_txn ? &s->txn : NULL;
}

/* ---------------------------------------------------------------- TLS */

/* Channel bindings for SASL's -PLUS mechanisms, from the copies. */
static int binding(void *ctx, mox_sasl_cb_type type, unsigned char *out, size_t *out_len)
{
    mox_smtp_server *s = ctx;
    const unsigned char *b = type == MOX_SASL_CB_TLS_EXPORTER ? s->cb_exporter
                             : type == MOX_SASL_CB_TLS_UNIQUE ? s->cb_unique
                                                              : NULL;
    size_t n = type == MOX_SASL_CB_TLS_EXPORTER ? s->cb_exporter_len
               : type == MOX_SASL_CB_TLS_UNIQUE ? s->cb_unique_len
                                                : 0;
    if (!b || !n || n > MOX_SASL_CB_MAX)
        return MOX_ERR_UNSUPPORTED;
    memcpy(out, b, n);
    *out_len = n;
    return MOX_OK;
}

static void tls_clear(mox_smtp_server *s)
{
    mox_free(s->tls_cipher);
    mox_free(s->tls_sni);
    mox_free(s->cert_user);
    s->tls_cipher = s->tls_sni = s->cert_user = NULL;
    memset(s->cb_unique, 0, sizeof s->cb_unique);
    memset(s->cb_exporter, 0, sizeof s->cb_exporter);
    s->cb_unique_len = s->cb_exporter_len = 0;
    mox_tls_info z = MOX_TLS_INFO_INIT;
    s->tls_info = z;
    s->tls_cb_types = 0;
    s->tls_binding = NULL;
    s->tls_binding_ctx = NULL;
}

/* Copies what the TLS layer reported and restarts the session on it. */
int moxi_smtp_tls_set(mox_smtp_server *s, const mox_tls_info *info)
{
    mox_tls_info d = MOX_TLS_INFO_INIT;
    moxi_copy_sized(&d, info, sizeof d);
    tls_clear(s);
    if (dup_opt(&s->tls_cipher, d.cipher) || dup_opt(&s->tls_sni, d.sni) ||
        dup_opt(&s->cert_user, d.peer_identity)) {
        s->broken = 1;
        return MOX_ERR_NOMEM;
    }
    s->tls_info.version = d.version;
    s->tls_info.cipher_id = d.cipher_id;
    s->tls_info.cipher = s->tls_cipher;
    s->tls_info.sni = s->tls_sni;
    s->tls_info.resumed = d.resumed;
    s->tls_info.peer_cert = d.peer_cert;
    s->tls_info.peer_verified = d.peer_verified;
    memcpy(s->tls_info.peer_spki_sha256, d.peer_spki_sha256, sizeof d.peer_spki_sha256);
    s->tls_info.peer_identity = s->cert_user;
    if (d.tls_unique && d.tls_unique_len && d.tls_unique_len <= sizeof s->cb_unique) {
        memcpy(s->cb_unique, d.tls_unique, d.tls_unique_len);
        s->cb_unique_len = d.tls_unique_len;
        s->tls_info.tls_unique = s->cb_unique;
        s->tls_info.tls_unique_len = s->cb_unique_len;
        s->tls_cb_types |= MOX_SASL_CB_BIT(MOX_SASL_CB_TLS_UNIQUE);
    }
    if (d.tls_exporter && d.tls_exporter_len && d.tls_exporter_len <= sizeof s->cb_exporter) {
        memcpy(s->cb_exporter, d.tls_exporter, d.tls_exporter_len);
        s->cb_exporter_len = d.tls_exporter_len;
        s->tls_info.tls_exporter = s->cb_exporter;
        s->tls_info.tls_exporter_len = s->cb_exporter_len;
        s->tls_cb_types |= MOX_SASL_CB_BIT(MOX_SASL_CB_TLS_EXPORTER);
    }
    if (s->tls_cb_types) {
        s->tls_binding = binding;
        s->tls_binding_ctx = s;
    }
    s->sess.tls = 1;
    s->sess.tls_info = &s->tls_info;
    /* RFC 3207 §4.2: forget everything learned before TLS. */
    mox_free(s->hello);
    s->hello = NULL;
    s->sess.hello = NULL;
    s->sess.ehlo = 0;
    mox_free(s->auth_user);
    s->auth_user = NULL;
    s->sess.auth_user = NULL;
    s->sess.auth_mech = NULL;
    if (s->cert_user && s->cfg.mode == MOX_SMTP_SERVER_SUBMISSION) {
        /* The embedder authorised the client certificate: the session is
         * authenticated without an AUTH command. */
        s->auth_user = moxi_strdup(s->cert_user);
        if (!s->auth_user) {
            s->broken = 1;
            return MOX_ERR_NOMEM;
        }
        s->sess.auth_user = s->auth_user;
        s->sess.auth_mech = "TLS";
    }
    return MOX_OK;
}

static int tls_wanted(const mox_smtp_server *s)
{
    return (s->phase == PH_NEW && s->tls_wait) || (s->phase == PH_TLS && s->out.len == 0);
}

int mox_smtp_server_tls_request(const mox_smtp_server *s, mox_tls_request *req)
{
    if (!s || !req || req->size < sizeof(size_t))
        return MOX_ERR_INVAL;
    if (!tls_wanted(s))
        return moxi_engine_fail((mox_engine *)&s->eng, MOX_ERR_STATE, "TLS is not wanted now");
    mox_tls_request r = MOX_TLS_REQUEST_INIT;
    r.role = MOX_TLS_ROLE_SERVER;
    r.verify = MOX_TLS_VERIFY_NONE; /* client certificates: the embedder's policy */
    r.required = 1;                 /* RFC 3207 §4.1: no plaintext after a failed start */
    moxi_fill_sized(req, req->size, &r, sizeof r);
    return MOX_OK;
}

int mox_smtp_server_tls_done(mox_smtp_server *s, int status, const mox_tls_info *info)
{
    if (!s)
        return MOX_ERR_INVAL;
    if (s->in_cb)
        return moxi_engine_fail(&s->eng, MOX_ERR_STATE, "tls_done inside a callback");
    if (!tls_wanted(s))
        return moxi_engine_fail(&s->eng, MOX_ERR_STATE, "no TLS handshake was wanted");
    if (status == MOX_OK && (!info || info->size < sizeof(size_t)))
        return moxi_engine_fail(&s->eng, MOX_ERR_INVAL, "handshake succeeded without a TLS info");
    if (status != MOX_OK) {
        const char *reason = status == MOX_ERR_TIMEOUT  ? "timeout"
                             : status == MOX_ERR_CRYPTO ? "crypto"
                             : status == MOX_ERR_IO     ? "io"
                                                        : "handshake";
        moxi_smtp_count(s, "mox_smtpserver_starttls_failure_total", "reason", reason);
        moxi_smtp_log(s, MOX_LOG_INFO, "tls handshake failed", "reason", mox_strerror(status), NULL,
                      NULL);
        s->end_reason = MOX_SMTP_SERVER_END_TLS;
        moxi_smtp_close(s);
        drop_output(s); /* nothing can be written in plaintext now */
        return MOX_OK;
    }
    int implicit = s->phase == PH_NEW;
    int rc = moxi_smtp_tls_set(s, info);
    if (rc != MOX_OK) {
        moxi_smtp_close(s);
        return moxi_engine_fail(&s->eng, rc, "out of memory");
    }
    if (implicit) {
        s->tls_wait = 0;
        start(s); /* the greeting, now that it can be sent */
        if (s->broken) {
            moxi_smtp_close(s);
            return moxi_engine_fail(&s->eng, MOX_ERR_NOMEM, "out of memory");
        }
    } else {
        s->phase = PH_CMD;
        moxi_smtp_count(s, "mox_smtpserver_starttls_total", NULL, NULL);
    }
    update_waits(s);
    return MOX_OK;
}
