/* SMTP server engine: session lifecycle, input buffering and backpressure,
 * reply formatting, timed output (tarpit, slow replies), decisions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_server_priv.h"

/* ---------------------------------------------------------------- helpers */

static const mox_env *env_of(const mox_smtp_server *s) { return s->cfg.env; }

static int64_t now_mono(const mox_smtp_server *s)
{
    const mox_env *e = env_of(s);
    return mox_clock_mono_ns(e ? e->clock : NULL);
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
}

/* Ends the open transaction (if any) and tells the embedder why. */
void moxi_smtp_txn_reset(mox_smtp_server *s, int reason)
{
    int had = s->in_txn;
    moxi_smtp_txn_clear(s);
    if (had && s->cb.on_reset)
        s->cb.on_reset(s->user, s, reason);
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
    mox_buf_free(&s->in);
    mox_buf_free(&s->line);
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
    if (slow && s->cfg.slow_max_ms && delay_ms > s->cfg.slow_max_ms)
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
    int64_t t0 = now_mono(s);
    moxi_smtp_seg *g = &s->segs[s->nsegs++];
    g->start = start;
    g->end = end;
    g->t0 = t0;
    g->t1 = t0 + (int64_t)delay_ms * 1000000;
    g->slow = slow;
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
    if (s->cfg.max_errors && s->sess.errors >= s->cfg.max_errors && s->phase != PH_CLOSED) {
        moxi_smtp_reply(s, 421, "4.7.0", "too many errors, closing connection");
        moxi_smtp_log(s, MOX_LOG_INFO, "too many protocol errors", NULL, NULL, NULL, NULL);
        moxi_smtp_close(s);
    }
}

/* Normalises a reply from the embedder: code in range, enhanced code of the
 * right class. `lo`..`hi` is the acceptable success range for this kind. */
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

void moxi_smtp_decide(mox_smtp_server *s, int kind, int rc, mox_smtp_server_reply *r)
{
    if (rc == MOX_SMTP_SERVER_DEFER) {
        s->pending = kind;
        return;
    }
    if (rc < 0) {
        moxi_smtp_log(s, MOX_LOG_ERROR, "callback failed", "error", mox_strerror(rc), NULL, NULL);
        moxi_smtp_default(r, 451, "4.3.0", "local error, try again later");
    }
    normalise(r);
    moxi_smtp_apply(s, kind, r);
}

/* ---------------------------------------------------------------- lifecycle */

static void tls_clear(mox_smtp_server *s);

static int dup_opt(char **dst, const char *src)
{
    if (!src)
        return MOX_OK;
    *dst = moxi_strdup(src);
    return *dst ? MOX_OK : MOX_ERR_NOMEM;
}

int mox_smtp_server_new(mox_smtp_server **out, const mox_smtp_server_config *config,
                        const mox_smtp_server_callbacks *callbacks, void *user_data)
{
    if (!out)
        return MOX_ERR_INVAL;
    *out = NULL;
    if (!config || config->size < offsetof(mox_smtp_server_config, max_message_size) ||
        !config->hostname || !*config->hostname)
        return MOX_ERR_INVAL;
    if (callbacks && callbacks->size < sizeof(size_t))
        return MOX_ERR_INVAL;
    for (const char *p = config->hostname; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return MOX_ERR_INVAL;
    mox_smtp_server *s = mox_calloc(1, sizeof *s);
    if (!s)
        return MOX_ERR_NOMEM;
    mox_smtp_server_config d = MOX_SMTP_SERVER_CONFIG_INIT;
    memcpy(&s->cfg, &d, sizeof d);
    memcpy(&s->cfg, config, config->size < sizeof d ? config->size : sizeof d);
    s->cfg.size = sizeof d;
    if (callbacks) {
        size_t n = callbacks->size < sizeof s->cb ? callbacks->size : sizeof s->cb;
        memcpy(&s->cb, callbacks, n);
    }
    s->cb.size = sizeof s->cb;
    s->user = user_data;
    if (!s->cfg.max_line)
        s->cfg.max_line = 2048;
    if (!s->cfg.max_auth_line)
        s->cfg.max_auth_line = 12288;
    if (!s->cfg.max_pending)
        s->cfg.max_pending = 65536;
    if (!(s->cfg.extensions & MOX_SMTP_EXT_CHUNKING))
        s->cfg.extensions &= ~MOX_SMTP_EXT_BINARYMIME;
    int rc = dup_opt(&s->hostname, config->hostname);
    if (rc == MOX_OK)
        rc = dup_opt(&s->conn_id, config->conn_id);
    if (rc == MOX_OK)
        rc = dup_opt(&s->remote_ip, config->remote_ip);
    if (rc == MOX_OK)
        rc = dup_opt(&s->local_ip, config->local_ip);
    if (rc == MOX_OK)
        rc = dup_opt(&s->greeting, config->greeting);
    if (rc != MOX_OK) {
        mox_smtp_server_free(s);
        return rc;
    }
    /* the copies replace the caller's pointers */
    s->cfg.hostname = s->hostname;
    s->cfg.conn_id = s->conn_id;
    s->cfg.remote_ip = s->remote_ip;
    s->cfg.local_ip = s->local_ip;
    s->cfg.greeting = s->greeting;
    s->sess.mode = s->cfg.mode;
    s->sess.tls = s->cfg.tls_active ? 1 : 0;
    s->phase = PH_NEW;
    *out = s;
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
    mox_free(s);
}

size_t mox_smtp_server_sizeof(void) { return sizeof(mox_smtp_server); }

int mox_smtp_server_start(mox_smtp_server *s)
{
    if (!s || s->phase != PH_NEW)
        return MOX_ERR_STATE;
    s->phase = PH_CMD;
    moxi_smtp_count(s, "mox_smtpserver_connection_total", "mode",
                    s->cfg.mode == MOX_SMTP_SERVER_SUBMISSION ? "submission" : "delivery");
    mox_smtp_server_reply r;
    moxi_smtp_default(&r, 220, "", s->greeting ? s->greeting : "");
    int rc = MOX_SMTP_SERVER_REPLY;
    if (s->cb.on_connect)
        rc = s->cb.on_connect(s->user, s, &r);
    moxi_smtp_decide(s, MOX_SMTP_SERVER_DECIDE_CONNECT, rc, &r);
    moxi_smtp_resume(s);
    return s->broken ? MOX_ERR_NOMEM : MOX_OK;
}

/* ---------------------------------------------------------------- input */

static int paused(const mox_smtp_server *s)
{
    return s->pending != MOX_SMTP_SERVER_DECIDE_NONE || s->broken;
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
}

int64_t mox_smtp_server_feed(mox_smtp_server *s, const void *in, size_t len)
{
    if (!s || (!in && len))
        return MOX_ERR_INVAL;
    if (s->broken)
        return MOX_ERR_NOMEM;
    if (s->phase == PH_NEW)
        return MOX_ERR_STATE;
    if (s->phase == PH_CLOSED)
        return (int64_t)len;
    const unsigned char *p = in;
    size_t used = 0;
    if (!s->in.len && !paused(s)) {
        used = run(s, p, len);
        if (s->broken)
            return MOX_ERR_NOMEM;
        if (s->phase == PH_CLOSED || s->phase == PH_TLS)
            return (int64_t)len;
    }
    if (used < len && s->in.len < s->cfg.max_pending) {
        size_t take = len - used;
        if (take > s->cfg.max_pending - s->in.len)
            take = s->cfg.max_pending - s->in.len;
        if (mox_buf_append(&s->in, p + used, take) != MOX_OK) {
            s->broken = 1;
            return MOX_ERR_NOMEM;
        }
        used += take;
        drain(s);
        if (s->broken)
            return MOX_ERR_NOMEM;
    }
    return (int64_t)used;
}

void mox_smtp_server_eof(mox_smtp_server *s)
{
    if (!s || s->phase == PH_CLOSED)
        return;
    if (s->in_txn)
        moxi_smtp_log(s, MOX_LOG_INFO, "connection closed during transaction", NULL, NULL, NULL,
                      NULL);
    moxi_smtp_close(s);
}

int mox_smtp_server_close(mox_smtp_server *s, int code, const char *enhanced, const char *text)
{
    if (!s)
        return MOX_ERR_INVAL;
    if (s->phase == PH_CLOSED)
        return MOX_ERR_STATE;
    mox_smtp_server_reply r;
    moxi_smtp_default(&r, code, enhanced, text);
    normalise(&r);
    moxi_smtp_queue_reply(s, &r, 1);
    moxi_smtp_close(s);
    return s->broken ? MOX_ERR_NOMEM : MOX_OK;
}

/* ---------------------------------------------------------------- output API */

/* Bytes of the output that may be written now; sets *due to the time more
 * becomes available (or -1). */
static size_t available(mox_smtp_server *s, int64_t *due)
{
    int64_t now = now_mono(s);
    uint64_t limit = s->out_base + s->out.len;
    *due = -1;
    size_t i = 0;
    while (i < s->nsegs) {
        moxi_smtp_seg *g = &s->segs[i];
        if (now >= g->t1 || g->end <= s->out_base) {
            i++;
            continue;
        }
        uint64_t span = g->end - g->start;
        if (g->slow) {
            /* integer arithmetic: at *due the floor below reaches k+1 */
            uint64_t dur = (uint64_t)(g->t1 - g->t0);
            uint64_t el = (uint64_t)(now - g->t0);
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
    /* drop released segments at the front */
    if (i > 0) {
        memmove(s->segs, s->segs + i, (s->nsegs - i) * sizeof *s->segs);
        s->nsegs -= i;
    }
    if (limit < s->out_base)
        limit = s->out_base;
    return (size_t)(limit - s->out_base);
}

int mox_smtp_server_output(mox_smtp_server *s, const void **out, size_t *len)
{
    if (!s || !out || !len)
        return MOX_ERR_INVAL;
    int64_t due;
    *len = available(s, &due);
    *out = s->out.data ? (const void *)s->out.data : (const void *)"";
    return MOX_OK;
}

void mox_smtp_server_output_done(mox_smtp_server *s, size_t n)
{
    if (!s)
        return;
    if (n > s->out.len)
        n = s->out.len;
    mox_buf_consume(&s->out, n);
    s->out_base += n;
    if (s->out.len == 0 && s->out.cap > 65536)
        mox_buf_free(&s->out); /* a huge EHLO or error burst should not stick */
}

int64_t mox_smtp_server_due_ns(mox_smtp_server *s)
{
    if (!s)
        return -1;
    int64_t due;
    size_t a = available(s, &due);
    if (a == s->out.len)
        return -1;
    return due;
}

unsigned mox_smtp_server_state(mox_smtp_server *s)
{
    if (!s)
        return MOX_SMTP_SERVER_CLOSED;
    unsigned st = 0;
    int64_t due;
    size_t a = available(s, &due);
    if (a > 0)
        st |= MOX_SMTP_SERVER_WANT_WRITE;
    if (a < s->out.len)
        st |= MOX_SMTP_SERVER_TIMER;
    if (s->broken)
        return st | MOX_SMTP_SERVER_CLOSED;
    if (s->pending != MOX_SMTP_SERVER_DECIDE_NONE)
        st |= MOX_SMTP_SERVER_DEFERRED;
    switch (s->phase) {
    case PH_CLOSED:
        st |= MOX_SMTP_SERVER_CLOSED;
        break;
    case PH_TLS:
        if (s->out.len == 0)
            st |= MOX_SMTP_SERVER_WANT_TLS;
        break;
    case PH_NEW:
        break;
    default:
        if (s->pending == MOX_SMTP_SERVER_DECIDE_NONE || s->in.len < s->cfg.max_pending)
            st |= MOX_SMTP_SERVER_WANT_READ;
        break;
    }
    return st;
}

int mox_smtp_server_pending(const mox_smtp_server *s) { return s ? s->pending : 0; }

int mox_smtp_server_decide(mox_smtp_server *s, int decide, const mox_smtp_server_reply *r)
{
    if (!s || !r || r->size < offsetof(mox_smtp_server_reply, text))
        return MOX_ERR_INVAL;
    if (s->broken)
        return MOX_ERR_NOMEM;
    if (s->pending == MOX_SMTP_SERVER_DECIDE_NONE || s->pending != decide)
        return MOX_ERR_STATE;
    if (decide == MOX_SMTP_SERVER_DECIDE_AUTH && s->auth_lookup_wait)
        return MOX_ERR_STATE; /* waiting for a credentials lookup, not a reply */
    mox_smtp_server_reply c;
    moxi_smtp_default(&c, 0, NULL, NULL);
    memcpy(&c, r, r->size < sizeof c ? r->size : sizeof c);
    c.size = sizeof c;
    s->pending = MOX_SMTP_SERVER_DECIDE_NONE;
    normalise(&c);
    moxi_smtp_apply(s, decide, &c);
    moxi_smtp_resume(s);
    return s->broken ? MOX_ERR_NOMEM : MOX_OK;
}

int mox_smtp_server_decide_code(mox_smtp_server *s, int decide, int code, const char *enhanced,
                                const char *text)
{
    mox_smtp_server_reply r;
    moxi_smtp_default(&r, code, enhanced, text);
    return mox_smtp_server_decide(s, decide, &r);
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

int mox_smtp_server_tls_started(mox_smtp_server *s, const mox_tls_info *info)
{
    if (!s)
        return MOX_ERR_INVAL;
    int implicit = s->phase == PH_NEW && s->cfg.tls_active;
    if (s->phase != PH_TLS && !implicit)
        return MOX_ERR_STATE;
    if (s->phase == PH_TLS && s->out.len)
        return MOX_ERR_STATE; /* the 220 has not been written yet */
    int rc = moxi_smtp_tls_set(s, info);
    if (rc != MOX_OK)
        return rc;
    if (!implicit) {
        s->phase = PH_CMD;
        moxi_smtp_count(s, "mox_smtpserver_starttls_total", NULL, NULL);
    }
    return MOX_OK;
}

void mox_smtp_server_tls_failed(mox_smtp_server *s, const char *reason)
{
    if (!s)
        return;
    moxi_smtp_count(s, "mox_smtpserver_starttls_failure_total", "reason",
                    reason && *reason ? reason : "other");
    moxi_smtp_log(s, MOX_LOG_INFO, "tls handshake failed", "reason", reason, NULL, NULL);
    moxi_smtp_close(s);
    s->out_base += s->out.len;
    mox_buf_reset(&s->out); /* nothing can be written in plaintext now */
    s->nsegs = 0;
}
