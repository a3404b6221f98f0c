/* The SMTP client engine: greeting, EHLO/HELO, STARTTLS, AUTH, pipelined
 * transactions with per-recipient outcomes, DATA/BDAT, RSET, QUIT. */
#include <limits.h>
#include <string.h>

#include "engine/engine_priv.h"
#include "smtp_client_priv.h"

enum xkind { X_GREETING, X_EHLO, X_HELO, X_STARTTLS, X_AUTH, X_MAIL, X_RCPT, X_DATA,
             X_DATA_END, X_BDAT, X_RSET, X_QUIT };

enum phase { P_TLS_IMPLICIT, P_GREETING, P_HELLO, P_STARTTLS, P_TLS, P_AUTH, P_READY, P_TX,
             P_QUIT, P_CLOSED };

enum rstatus { R_PENDING, R_INFLIGHT, R_ACCEPTED, R_DONE };

typedef struct {
    int kind;
    size_t rcpt;
    uint64_t end; /* output offset (absolute) where its command ends: the
                     reply's wait starts when it was written */
} xpect;

typedef struct {
    char *address;
    char *orcpt;
    unsigned notify;
    int status;
    int retry;      /* refused with 452/552 after an accepted one */
    char *owned;    /* text owned for the outcome, or NULL */
} rcpt_state;

struct mox_smtp_client {
    mox_engine eng; /* the generic view (mox_smtp_client_engine) */
    const mox_env *env;
    char *ehlo_name;
    int tls_mode;
    unsigned flags;
    const mox_smtp_client_auth *auth; /* &auth_copy, or NULL */
    mox_smtp_client_auth auth_copy;
    mox_smtp_reply_limits limits;
    int64_t t_greeting, t_command, t_data_init, t_data_block, t_data_end;

    int phase;
    int got_bytes;  /* anything ever arrived from the server */
    mox_buf in;
    mox_buf out;
    size_t out_off;
    xpect *xq;
    size_t xhead, xtail, xcap;
    /* Deadlines: monotonic ns when each running wait started, -1 when
     * not running (see deadline()). */
    uint64_t written;     /* output bytes written so far (absolute) */
    int64_t reply_start;  /* waiting for the reply at the queue's head */
    int64_t block_start;  /* writing the current block of output */
    size_t block_written; /* bytes of it written */
    int64_t tls_start;    /* the TLS handshake */
    int64_t last_tick;
    int eof;
    int quit_after;       /* QUIT once the delivery is done */
    char *tls_server_name;
    int tls_verify;
    const mox_dns_rr *tlsa;
    size_t ntlsa;
    const char *const *mtasts_mx;
    size_t nmtasts_mx;
    mox_smtp_client_outcome view; /* what result() shows */

    mox_smtp_ehlo ext;
    int esmtp;
    int starttls_tried;
    int tls_active;
    unsigned char cb_unique[64], cb_exporter[64];
    char *tls_cipher, *tls_identity;
    mox_tls_info tls; /* copy of what tls_done was given */
    int authenticated;
    int auth_running;
    int auth_aborted;
    char *auth_mech;
    unsigned mails;  /* MAIL commands on this connection (MAILMAX) */

    int has_failure;
    mox_smtp_client_status failure;
    char failure_text[320];

    /* Current delivery. */
    int delivering;      /* submitted and not finished */
    int started;         /* local checks done, transactions under way */
    char *from;
    char *envid;
    char *hold_until;
    uint64_t hold_for;
    unsigned mflags;
    int ret;
    const unsigned char *data;
    size_t len;
    rcpt_state *rs;
    mox_smtp_client_rcpt_result *res;
    size_t nrcpts;
    mox_smtp_client_delivery dlv;
    int have_dlv;
    int body_8bit;       /* BODY=8BITMIME */
    int use_smtputf8;
    int use_dsn;
    int chunking;
    uint64_t wire_data, wire_bdat;

    /* Current transaction. */
    size_t *batch;
    size_t nbatch, next;
    int mail_sent, mail_failed, data_sent, data_failed, in_body;
    size_t accepted;
    moxi_smtp_enc enc;
};

/* ------------------------------------------------------------ helpers */

static int64_t now_ns(const mox_smtp_client *c)
{
    return mox_clock_mono_ns(c->env ? c->env->clock : NULL);
}

static size_t out_pending(const mox_smtp_client *c) { return c->out.len - c->out_off; }

/* The session's time: the env clock, never before the last tick. */
static int64_t now_at(const mox_smtp_client *c)
{
    int64_t t = now_ns(c);
    return t > c->last_tick ? t : c->last_tick;
}

static int pipelining(const mox_smtp_client *c)
{
    return (c->ext.flags & MOX_SMTP_EXT_PIPELINING) && !(c->flags & MOX_SMTP_CLIENT_NO_PIPELINING);
}

static size_t nexp(const mox_smtp_client *c) { return c->xtail - c->xhead; }

static int push(mox_smtp_client *c, int kind, size_t rcpt)
{
    if (c->xtail == c->xcap) {
        if (c->xhead > 0) {
            memmove(c->xq, c->xq + c->xhead, nexp(c) * sizeof *c->xq);
            c->xtail -= c->xhead;
            c->xhead = 0;
        }
        if (c->xtail == c->xcap) {
            size_t ncap = c->xcap ? c->xcap * 2 : 16;
            xpect *n = mox_realloc(c->xq, ncap * sizeof *n);
            if (!n)
                return MOX_ERR_NOMEM;
            c->xq = n;
            c->xcap = ncap;
        }
    }
    c->xq[c->xtail].kind = kind;
    c->xq[c->xtail].rcpt = rcpt;
    c->xq[c->xtail].end = c->written + out_pending(c);
    c->xtail++;
    return MOX_OK;
}

static int emit_cmd(mox_smtp_client *c, int kind, size_t rcpt, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int emit_cmd(mox_smtp_client *c, int kind, size_t rcpt, const char *fmt, ...)
{
    size_t orig = c->out.len;
    va_list ap;
    va_start(ap, fmt);
    int rc = mox_buf_vappendf(&c->out, fmt, ap);
    va_end(ap);
    if (rc == MOX_OK)
        rc = push(c, kind, rcpt);
    if (rc != MOX_OK) {
        c->out.len = orig;
        return rc;
    }
    if (c->env && c->env->logger && c->env->logger->min_level <= MOX_LOG_TRACE) {
        size_t l = c->out.len - orig;
        mox_log_attr a = {"command", (const char *)c->out.data + orig, l >= 2 ? l - 2 : l};
        if (kind == X_AUTH) { /* never log credentials */
            a.value = "AUTH ...";
            a.value_len = 8;
        }
        mox_log(c->env->logger, MOX_LOG_TRACE, "smtp client command", &a, 1);
    }
    return MOX_OK;
}

static int is_ascii(const char *s) { return mox_is_ascii(s, strlen(s)); }

static void set_failure(mox_smtp_client *c, int code, const char *enh, const char *text,
                        int temporary, int local, int stage)
{
    if (c->has_failure)
        return;
    c->has_failure = 1;
    c->failure.code = code;
    snprintf(c->failure.enhanced, sizeof c->failure.enhanced, "%s", enh ? enh : "");
    snprintf(c->failure_text, sizeof c->failure_text, "%s", text ? text : "");
    c->failure.text = c->failure_text;
    c->failure.temporary = temporary;
    c->failure.local = local;
    c->failure.stage = stage;
    c->failure.scope = MOX_SMTP_CLIENT_SCOPE_CONNECTION;
}

static void clear_rcpt_text(rcpt_state *r, mox_smtp_client_rcpt_result *res)
{
    mox_free(r->owned);
    r->owned = NULL;
    res->status.text = "";
}

/* Records an outcome for recipient i. `text` is copied when `copy`, else it
 * must be static or the failure text. */
static int set_outcome(mox_smtp_client *c, size_t i, int accepted, int code, const char *enh,
                       const char *text, int copy, int temporary, int local, int stage,
                       int scope)
{
    rcpt_state *r = &c->rs[i];
    mox_smtp_client_rcpt_result *res = &c->res[i];
    char *t = NULL;
    if (copy && !(t = moxi_strdup(text ? text : "")))
        return MOX_ERR_NOMEM;
    clear_rcpt_text(r, res);
    r->owned = t;
    res->accepted = accepted;
    res->status.code = code;
    snprintf(res->status.enhanced, sizeof res->status.enhanced, "%s", enh ? enh : "");
    res->status.text = t ? t : (text ? text : "");
    res->status.temporary = temporary;
    res->status.local = local;
    res->status.stage = stage;
    res->status.scope = scope;
    return MOX_OK;
}

static int reply_outcome(mox_smtp_client *c, size_t i, int accepted, const mox_smtp_reply *rp,
                         int stage, int scope)
{
    return set_outcome(c, i, accepted, rp->code, rp->enhanced, rp->text, 1,
                       rp->code >= 400 && rp->code < 500, 0, stage, scope);
}

static void finish_delivery(mox_smtp_client *c)
{
    mox_smtp_client_delivery *d = &c->dlv;
    d->naccepted = d->ntemporary = d->npermanent = 0;
    for (size_t i = 0; i < c->nrcpts; i++) {
        if (c->res[i].accepted)
            d->naccepted++;
        else if (c->res[i].status.temporary)
            d->ntemporary++;
        else
            d->npermanent++;
    }
    d->done = 1;
    c->delivering = 0;
    c->started = 0;
}

/* Ends the session at once (no QUIT): what is undecided fails with the
 * session's failure. Nothing allocates here, so it also serves NOMEM. */
static void fail_session(mox_smtp_client *c, int code, const char *enh, const char *text,
                         int temporary, int local, int stage)
{
    set_failure(c, code, enh, text, temporary, local, stage);
    if (c->delivering) {
        for (size_t i = 0; i < c->nrcpts; i++) {
            if (c->rs[i].status == R_DONE)
                continue;
            c->rs[i].status = R_DONE;
            clear_rcpt_text(&c->rs[i], &c->res[i]);
            c->res[i].accepted = 0;
            c->res[i].status = c->failure;
        }
        finish_delivery(c);
    }
    if (c->auth_running && c->auth->end)
        c->auth->end(c->auth->ctx);
    c->auth_running = 0;
    c->phase = P_CLOSED;
    c->xhead = c->xtail = 0;
    c->in_body = 0;
    c->reply_start = c->block_start = c->tls_start = -1;
    /* Nothing more is worth sending: unsent commands or message data would
     * only reach a server whose state no longer matches ours. */
    c->out.len = c->out_off;
}

static void fail_nomem(mox_smtp_client *c)
{
    c->out.len = c->out_off; /* a half-written command must not go out */
    fail_session(c, 451, "4.3.0", "client out of memory", 1, 1, MOX_SMTP_CLIENT_STAGE_NONE);
}

static int stage_of(int kind)
{
    switch (kind) {
    case X_GREETING: return MOX_SMTP_CLIENT_STAGE_GREETING;
    case X_EHLO: case X_HELO: return MOX_SMTP_CLIENT_STAGE_EHLO;
    case X_STARTTLS: return MOX_SMTP_CLIENT_STAGE_STARTTLS;
    case X_AUTH: return MOX_SMTP_CLIENT_STAGE_AUTH;
    case X_MAIL: case X_RSET: return MOX_SMTP_CLIENT_STAGE_MAIL;
    case X_RCPT: return MOX_SMTP_CLIENT_STAGE_RCPT;
    case X_DATA: return MOX_SMTP_CLIENT_STAGE_DATA;
    case X_DATA_END: case X_BDAT: return MOX_SMTP_CLIENT_STAGE_DATA_END;
    default: return MOX_SMTP_CLIENT_STAGE_QUIT;
    }
}

static int current_stage(const mox_smtp_client *c)
{
    if (!c->got_bytes && c->phase == P_GREETING)
        return MOX_SMTP_CLIENT_STAGE_CONNECT;
    if (nexp(c))
        return stage_of(c->xq[c->xhead].kind);
    switch (c->phase) {
    case P_TLS: case P_TLS_IMPLICIT: return MOX_SMTP_CLIENT_STAGE_TLS;
    case P_GREETING: return MOX_SMTP_CLIENT_STAGE_CONNECT;
    default: return MOX_SMTP_CLIENT_STAGE_NONE;
    }
}

/* A failure after which the server can still be told goodbye. */
static int soft_fail(mox_smtp_client *c, int code, const char *enh, const char *text,
                     int temporary, int local, int stage)
{
    set_failure(c, code, enh, text, temporary, local, stage);
    if (c->delivering) {
        /* Keep the failure, close the delivery the same way. */
        for (size_t i = 0; i < c->nrcpts; i++) {
            if (c->rs[i].status == R_DONE)
                continue;
            c->rs[i].status = R_DONE;
            clear_rcpt_text(&c->rs[i], &c->res[i]);
            c->res[i].accepted = 0;
            c->res[i].status = c->failure;
        }
        finish_delivery(c);
    }
    c->phase = P_QUIT;
    int rc = emit_cmd(c, X_QUIT, 0, "QUIT\r\n");
    if (rc != MOX_OK)
        fail_nomem(c);
    return rc;
}

static int fail_reply(mox_smtp_client *c, const mox_smtp_reply *r, int stage)
{
    return soft_fail(c, r->code, r->enhanced, r->text, r->code < 500, 0, stage);
}

/* ------------------------------------------------------------ session */

static int send_ehlo(mox_smtp_client *c)
{
    c->phase = P_HELLO;
    return emit_cmd(c, X_EHLO, 0, "EHLO %s\r\n", c->ehlo_name);
}

static int start_delivery(mox_smtp_client *c);
static int maybe_quit(mox_smtp_client *c);

static int start_auth(mox_smtp_client *c)
{
    const char *mech = NULL;
    int has_initial = 0;
    mox_buf init = MOX_BUF_INIT, line = MOX_BUF_INIT;
    int rc = c->auth->start(c->auth->ctx, (const char *const *)c->ext.auth, c->ext.nauth,
                            c->tls_active ? &c->tls : NULL, &mech, &init, &has_initial);
    c->auth_running = 1;
    if (rc != MOX_OK || !mech) {
        mox_buf_free(&init);
        c->auth_running = 0;
        if (c->auth->end)
            c->auth->end(c->auth->ctx);
        if (rc == MOX_ERR_NOMEM)
            return rc;
        return soft_fail(c, 554, "5.7.4",
                         rc == MOX_ERR_NOTFOUND ? "no authentication mechanism in common with the server"
                                                : "authentication could not start",
                         rc != MOX_ERR_NOTFOUND, 1, MOX_SMTP_CLIENT_STAGE_AUTH);
    }
    mox_free(c->auth_mech);
    if (!(c->auth_mech = moxi_strdup(mech)))
        rc = MOX_ERR_NOMEM;
    if (rc == MOX_OK)
        rc = mox_buf_appendf(&line, "AUTH %s", mech);
    if (rc == MOX_OK && has_initial) {
        rc = mox_buf_append_byte(&line, ' ');
        if (rc == MOX_OK)
            rc = init.len ? mox_base64_encode(init.data, init.len, &line)
                          : mox_buf_append_byte(&line, '=');
    }
    if (init.data)
        memset(init.data, 0, init.len);
    mox_buf_free(&init);
    if (rc == MOX_OK)
        rc = emit_cmd(c, X_AUTH, 0, "%s\r\n", (const char *)line.data);
    if (line.data)
        memset(line.data, 0, line.len);
    mox_buf_free(&line);
    c->phase = P_AUTH;
    return rc;
}

/* After EHLO/HELO: STARTTLS, AUTH, then ready. */
static int after_hello(mox_smtp_client *c)
{
    if (!c->tls_active && !c->starttls_tried &&
        (c->tls_mode == MOX_SMTP_CLIENT_TLS_OPPORTUNISTIC || c->tls_mode == MOX_SMTP_CLIENT_TLS_REQUIRED)) {
        if (c->ext.flags & MOX_SMTP_EXT_STARTTLS) {
            c->starttls_tried = 1;
            c->phase = P_STARTTLS;
            return emit_cmd(c, X_STARTTLS, 0, "STARTTLS\r\n");
        }
        if (c->tls_mode == MOX_SMTP_CLIENT_TLS_REQUIRED)
            return soft_fail(c, 454, "4.7.10", "TLS required but the server does not offer STARTTLS",
                             1, 1, MOX_SMTP_CLIENT_STAGE_STARTTLS);
    }
    if (c->auth && !c->authenticated) {
        if (!c->tls_active && !(c->flags & MOX_SMTP_CLIENT_PLAINTEXT_AUTH))
            return soft_fail(c, 554, "5.7.11",
                             "refusing to authenticate over a connection without TLS", 0, 1,
                             MOX_SMTP_CLIENT_STAGE_AUTH);
        if (!(c->ext.flags & MOX_SMTP_EXT_AUTH) || c->ext.nauth == 0)
            return soft_fail(c, 554, "5.7.4", "server does not offer AUTH", 0, 1,
                             MOX_SMTP_CLIENT_STAGE_AUTH);
        return start_auth(c);
    }
    c->phase = P_READY;
    if (c->delivering && !c->started)
        return start_delivery(c);
    return MOX_OK;
}

/* ------------------------------------------------------------ delivery */

static const char *domain_of(const char *addr)
{
    const char *at = strrchr(addr, '@');
    return at ? at + 1 : "";
}

static int start_tx(mox_smtp_client *c);
static int pump_tx(mox_smtp_client *c);

static int check_done(mox_smtp_client *c)
{
    for (size_t i = 0; i < c->nrcpts; i++)
        if (c->rs[i].status != R_DONE)
            return 0;
    finish_delivery(c);
    c->phase = P_READY;
    return 1;
}

/* Local failure of every undecided recipient. */
static int fail_all(mox_smtp_client *c, int code, const char *enh, const char *text, int temporary,
                    int stage, int scope)
{
    for (size_t i = 0; i < c->nrcpts; i++) {
        if (c->rs[i].status == R_DONE)
            continue;
        int rc = set_outcome(c, i, 0, code, enh, text, 0, temporary, 1, stage, scope);
        if (rc != MOX_OK)
            return rc;
        c->rs[i].status = R_DONE;
    }
    return MOX_OK;
}

static int start_delivery(mox_smtp_client *c)
{
    c->started = 1;
    moxi_smtp_scan sd, sb;
    moxi_smtp_client_scan(c->data, c->len, 1, &sd);
    moxi_smtp_client_scan(c->data, c->len, 0, &sb);
    c->wire_data = sd.wire_len;
    c->wire_bdat = sb.wire_len;
    c->chunking = c->esmtp && (c->ext.flags & MOX_SMTP_EXT_CHUNKING) &&
                  !(c->flags & MOX_SMTP_CLIENT_NO_CHUNKING);
    /* RFC 1870 §4: SIZE counts CRLFs but neither dot-stuffing nor the
     * terminator, which is the BDAT length. */
    uint64_t size = c->wire_bdat;
    int st = MOX_SMTP_CLIENT_STAGE_PREPARE, sc = MOX_SMTP_CLIENT_SCOPE_TRANSACTION;
    int rc = MOX_OK;
    int msg_utf8 = (c->mflags & MOX_SMTP_CLIENT_MSG_SMTPUTF8) || !is_ascii(c->from);
    int have_utf8 = c->esmtp && (c->ext.flags & MOX_SMTP_EXT_SMTPUTF8);
    c->body_8bit = 0;
    c->use_smtputf8 = 0;
    if (sd.nul_offset != SIZE_MAX)
        rc = fail_all(c, 554, "5.6.0", "message contains a NUL byte", 0, st, sc);
    else if ((c->mflags & MOX_SMTP_CLIENT_MSG_REQUIRETLS) &&
             (!c->tls_active || !(c->ext.flags & MOX_SMTP_EXT_REQUIRETLS)))
        rc = fail_all(c, 554, "5.7.30",
                      c->tls_active ? "REQUIRETLS needed but not offered by the server"
                                    : "REQUIRETLS needed but the connection is not protected by TLS",
                      0, st, sc);
    else if ((c->ext.flags & MOX_SMTP_EXT_SIZE) && c->ext.size_max && size > c->ext.size_max)
        rc = fail_all(c, 552, "5.3.4", "message larger than the server's SIZE limit", 0, st, sc);
    else if (msg_utf8 && !have_utf8)
        rc = fail_all(c, 553, "5.6.7", "message needs SMTPUTF8 but the server does not offer it", 0,
                      st, sc);
    else if ((c->hold_for || c->hold_until) &&
             !(c->esmtp && (c->ext.flags & MOX_SMTP_EXT_FUTURERELEASE)))
        rc = fail_all(c, 554, "5.3.3", "future release requested but not offered by the server", 0,
                      st, sc);
    else if (c->hold_for && c->ext.hold_max_interval && c->hold_for > c->ext.hold_max_interval)
        rc = fail_all(c, 554, "5.5.4", "HOLDFOR beyond the server's maximum interval", 0, st, sc);
    else if (sd.has_8bit && !(c->esmtp && (c->ext.flags & MOX_SMTP_EXT_8BITMIME)) &&
             !(c->flags & MOX_SMTP_CLIENT_LENIENT_8BIT))
        rc = fail_all(c, 554, "5.6.3", "8-bit message but the server does not offer 8BITMIME", 0,
                      st, sc);
    if (rc != MOX_OK)
        return rc;
    c->body_8bit = sd.has_8bit && c->esmtp && (c->ext.flags & MOX_SMTP_EXT_8BITMIME);
    int any_dsn = c->ret != MOX_SMTP_RET_NONE || c->envid;
    for (size_t i = 0; i < c->nrcpts && rc == MOX_OK; i++) {
        rcpt_state *r = &c->rs[i];
        if (r->status == R_DONE)
            continue;
        if (r->notify || r->orcpt)
            any_dsn = 1;
        if (!is_ascii(r->address)) {
            if (!have_utf8) {
                rc = set_outcome(c, i, 0, 553, "5.6.7",
                                 "recipient address needs SMTPUTF8 but the server does not offer it",
                                 0, 0, 1, st, MOX_SMTP_CLIENT_SCOPE_RECIPIENT);
                r->status = R_DONE;
            } else {
                c->use_smtputf8 = 1;
            }
        }
    }
    if (rc != MOX_OK)
        return rc;
    if (msg_utf8)
        c->use_smtputf8 = 1;
    c->use_dsn = c->esmtp && (c->ext.flags & MOX_SMTP_EXT_DSN);
    c->dlv.dsn_dropped = any_dsn && !c->use_dsn;
    if (check_done(c))
        return MOX_OK;
    return start_tx(c);
}

static int start_tx(mox_smtp_client *c)
{
    if (c->ext.mailmax && c->mails >= c->ext.mailmax) {
        int rc = fail_all(c, 451, "4.5.3", "server's MAILMAX reached on this connection", 1,
                          MOX_SMTP_CLIENT_STAGE_MAIL, MOX_SMTP_CLIENT_SCOPE_CONNECTION);
        if (rc == MOX_OK)
            check_done(c);
        return rc;
    }
    /* Batch: the pending recipients in order, within RCPTMAX and
     * RCPTDOMAINMAX. */
    size_t n = 0, ndom = 0;
    const char *doms[1024];
    size_t maxdom = c->ext.rcptdomainmax;
    if (maxdom > MOX_ARRAY_LEN(doms))
        maxdom = MOX_ARRAY_LEN(doms);
    for (size_t i = 0; i < c->nrcpts; i++) {
        rcpt_state *r = &c->rs[i];
        if (r->status != R_PENDING)
            continue;
        if (c->ext.rcptmax && n >= c->ext.rcptmax)
            break;
        if (maxdom) {
            const char *d = domain_of(r->address);
            size_t k;
            for (k = 0; k < ndom; k++)
                if (!moxi_strncasecmp(doms[k], d, SIZE_MAX))
                    break;
            if (k == ndom) {
                if (ndom == maxdom)
                    continue;
                doms[ndom++] = d;
            }
        }
        c->batch[n++] = i;
        r->status = R_INFLIGHT;
        r->retry = 0;
    }
    c->nbatch = n;
    c->next = 0;
    c->mail_sent = c->mail_failed = c->data_sent = c->data_failed = c->in_body = 0;
    c->accepted = 0;
    c->phase = P_TX;
    return pump_tx(c);
}

static int emit_mail(mox_smtp_client *c)
{
    mox_buf b = MOX_BUF_INIT;
    int rc = mox_buf_appendf(&b, "MAIL FROM:<%s>", c->from);
    if (rc == MOX_OK && (c->ext.flags & MOX_SMTP_EXT_SIZE))
        rc = mox_buf_appendf(&b, " SIZE=%llu", (unsigned long long)c->wire_bdat);
    if (rc == MOX_OK && c->body_8bit)
        rc = mox_buf_append_str(&b, " BODY=8BITMIME");
    if (rc == MOX_OK && c->use_smtputf8)
        rc = mox_buf_append_str(&b, " SMTPUTF8");
    if (rc == MOX_OK && (c->mflags & MOX_SMTP_CLIENT_MSG_REQUIRETLS))
        rc = mox_buf_append_str(&b, " REQUIRETLS");
    if (rc == MOX_OK && c->use_dsn && c->ret != MOX_SMTP_RET_NONE)
        rc = mox_buf_appendf(&b, " RET=%s", mox_smtp_ret_name(c->ret));
    if (rc == MOX_OK && c->use_dsn && c->envid) {
        rc = mox_buf_append_str(&b, " ENVID=");
        if (rc == MOX_OK)
            rc = mox_smtp_xtext_encode(&b, c->envid, strlen(c->envid));
    }
    if (rc == MOX_OK && c->hold_for)
        rc = mox_buf_appendf(&b, " HOLDFOR=%llu", (unsigned long long)c->hold_for);
    else if (rc == MOX_OK && c->hold_until)
        rc = mox_buf_appendf(&b, " HOLDUNTIL=%s", c->hold_until);
    if (rc == MOX_OK)
        rc = emit_cmd(c, X_MAIL, 0, "%s\r\n", (const char *)b.data);
    mox_buf_free(&b);
    if (rc == MOX_OK)
        c->mails++, c->dlv.transactions++;
    return rc;
}

static int emit_rcpt(mox_smtp_client *c, size_t i)
{
    rcpt_state *r = &c->rs[i];
    mox_buf b = MOX_BUF_INIT;
    int rc = mox_buf_appendf(&b, "RCPT TO:<%s>", r->address);
    if (rc == MOX_OK && c->use_dsn && r->notify) {
        rc = mox_buf_append_str(&b, " NOTIFY=");
        if (rc == MOX_OK)
            rc = mox_smtp_notify_format(&b, r->notify);
    }
    if (rc == MOX_OK && c->use_dsn && r->orcpt) {
        rc = mox_buf_append_str(&b, " ORCPT=");
        if (rc == MOX_OK)
            rc = mox_smtp_orcpt_format(&b, r->orcpt, c->use_smtputf8);
    }
    if (rc == MOX_OK)
        rc = emit_cmd(c, X_RCPT, i, "%s\r\n", (const char *)b.data);
    mox_buf_free(&b);
    return rc;
}

#define BODY_CHUNK 65536

static int fill_body(mox_smtp_client *c)
{
    while (c->in_body && out_pending(c) < BODY_CHUNK) {
        if (c->out_off > 0 && c->out_off == c->out.len) {
            c->out.len = c->out_off = 0;
        }
        int rc = moxi_smtp_enc_fill(&c->enc, &c->out, BODY_CHUNK);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            c->in_body = 0;
            /* the end-of-data reply is awaited once the body is out */
            if (nexp(c))
                c->xq[c->xtail - 1].end = c->written + out_pending(c);
        }
    }
    return MOX_OK;
}

static int end_tx(mox_smtp_client *c, int clean)
{
    int rc = MOX_OK;
    /* Recipients of this batch still in flight were waiting for a reply
     * that can no longer make them accepted. */
    for (size_t k = 0; k < c->nbatch; k++) {
        rcpt_state *r = &c->rs[c->batch[k]];
        if (r->status == R_INFLIGHT || r->status == R_ACCEPTED)
            r->status = R_DONE;
    }
    c->nbatch = 0;
    if (!clean)
        rc = emit_cmd(c, X_RSET, 0, "RSET\r\n");
    if (rc != MOX_OK)
        return rc;
    /* Recipients to retry: only worth a new transaction because this one
     * accepted someone (else the same refusal would come back). */
    int more = 0;
    for (size_t i = 0; i < c->nrcpts; i++)
        if (c->rs[i].status == R_PENDING)
            more = 1;
    if (!more) {
        check_done(c);
        return MOX_OK;
    }
    return start_tx(c);
}

static int pump_tx(mox_smtp_client *c)
{
    int pipe = pipelining(c);
    int rc;
    if (!c->mail_sent) {
        if (!pipe && nexp(c))
            return MOX_OK;
        if ((rc = emit_mail(c)) != MOX_OK)
            return rc;
        c->mail_sent = 1;
        if (!pipe)
            return MOX_OK;
    }
    if (c->mail_failed) {
        if (nexp(c) == 0)
            return end_tx(c, 0);
        return MOX_OK;
    }
    while (c->next < c->nbatch) {
        if (!pipe && nexp(c))
            return MOX_OK;
        if ((rc = emit_rcpt(c, c->batch[c->next])) != MOX_OK)
            return rc;
        c->next++;
    }
    if (!c->data_sent) {
        if (pipe && !c->chunking) {
            c->data_sent = 1;
            return emit_cmd(c, X_DATA, 0, "DATA\r\n");
        }
        if (nexp(c))
            return MOX_OK;
        if (c->accepted == 0)
            return end_tx(c, 0);
        c->data_sent = 1;
        if (c->chunking) {
            if ((rc = emit_cmd(c, X_BDAT, 0, "BDAT %llu LAST\r\n",
                               (unsigned long long)c->wire_bdat)) != MOX_OK)
                return rc;
            moxi_smtp_enc_init(&c->enc, c->data, c->len, 0);
            c->in_body = 1;
            return fill_body(c);
        }
        return emit_cmd(c, X_DATA, 0, "DATA\r\n");
    }
    if (c->data_failed && nexp(c) == 0)
        return end_tx(c, 0);
    return MOX_OK;
}

static int on_tx_reply(mox_smtp_client *c, const xpect *x, const mox_smtp_reply *r)
{
    int ok = r->code >= 200 && r->code < 300;
    int rc = MOX_OK;
    switch (x->kind) {
    case X_MAIL:
        if (!ok) {
            c->mail_failed = 1;
            for (size_t k = 0; k < c->nbatch && rc == MOX_OK; k++) {
                size_t i = c->batch[k];
                rc = reply_outcome(c, i, 0, r, MOX_SMTP_CLIENT_STAGE_MAIL, MOX_SMTP_CLIENT_SCOPE_TRANSACTION);
                c->rs[i].status = R_DONE;
            }
        }
        break;
    case X_RCPT: {
        rcpt_state *rs = &c->rs[x->rcpt];
        if (c->mail_failed || rs->status != R_INFLIGHT)
            break;
        if (ok) {
            rs->status = R_ACCEPTED;
            c->accepted++;
            rc = reply_outcome(c, x->rcpt, 0, r, MOX_SMTP_CLIENT_STAGE_RCPT, MOX_SMTP_CLIENT_SCOPE_RECIPIENT);
        } else if ((r->code == 452 || r->code == 552) && c->accepted > 0) {
            /* "Too many recipients" (552 by RFC 821 tradition): the
             * server took what it could; the rest go in a new
             * transaction. Until then the reply stands, as temporary. */
            rc = set_outcome(c, x->rcpt, 0, r->code, r->enhanced, r->text, 1, 1, 0,
                             MOX_SMTP_CLIENT_STAGE_RCPT, MOX_SMTP_CLIENT_SCOPE_RECIPIENT);
            rs->status = R_PENDING;
            rs->retry = 1;
        } else {
            rc = reply_outcome(c, x->rcpt, 0, r, MOX_SMTP_CLIENT_STAGE_RCPT, MOX_SMTP_CLIENT_SCOPE_RECIPIENT);
            rs->status = R_DONE;
        }
        break;
    }
    case X_DATA:
        if (r->code == 354) {
            if (c->accepted > 0 && !c->mail_failed) {
                moxi_smtp_enc_init(&c->enc, c->data, c->len, 1);
                c->in_body = 1;
                rc = push(c, X_DATA_END, 0);
                if (rc == MOX_OK)
                    rc = fill_body(c);
            } else {
                /* Nobody to deliver to, yet the server wants data: an
                 * empty message ends the transaction without content. */
                rc = emit_cmd(c, X_DATA_END, 1, ".\r\n");
            }
            return rc;
        }
        c->data_failed = 1;
        for (size_t k = 0; k < c->nbatch && rc == MOX_OK; k++) {
            size_t i = c->batch[k];
            if (c->rs[i].status != R_ACCEPTED)
                continue;
            rc = reply_outcome(c, i, 0, r, MOX_SMTP_CLIENT_STAGE_DATA, MOX_SMTP_CLIENT_SCOPE_TRANSACTION);
            c->rs[i].status = R_DONE;
        }
        break;
    case X_DATA_END:
    case X_BDAT:
        if (x->kind == X_DATA_END && x->rcpt == 1)
            return end_tx(c, 0);
        for (size_t k = 0; k < c->nbatch && rc == MOX_OK; k++) {
            size_t i = c->batch[k];
            if (c->rs[i].status != R_ACCEPTED)
                continue;
            rc = reply_outcome(c, i, ok, r, MOX_SMTP_CLIENT_STAGE_DATA_END,
                               ok ? MOX_SMTP_CLIENT_SCOPE_NONE : MOX_SMTP_CLIENT_SCOPE_TRANSACTION);
            c->rs[i].status = R_DONE;
        }
        if (rc != MOX_OK)
            return rc;
        /* BDAT refused while its data may still be unsent cannot be
         * recovered: the server will read the rest as commands. */
        if (c->in_body) {
            fail_session(c, r->code, r->enhanced, r->text, r->code < 500, 0,
                         MOX_SMTP_CLIENT_STAGE_DATA_END);
            return MOX_OK;
        }
        return end_tx(c, 1);
    }
    if (rc != MOX_OK)
        return rc;
    return pump_tx(c);
}

/* ------------------------------------------------------------ replies */

static int on_reply(mox_smtp_client *c, const mox_smtp_reply *r)
{
    if (c->env && c->env->logger && c->env->logger->min_level <= MOX_LOG_TRACE) {
        char code[8];
        snprintf(code, sizeof code, "%d", r->code);
        mox_log_attr a[2] = {{"code", code, strlen(code)}, {"text", r->text, strlen(r->text)}};
        mox_log(c->env->logger, MOX_LOG_TRACE, "smtp client reply", a, 2);
    }
    if (nexp(c) == 0) {
        fail_session(c, r->code == 421 ? 421 : 451, r->code == 421 ? r->enhanced : "4.5.0",
                     r->code == 421 ? r->text : "unexpected reply from server", 1,
                     r->code == 421 ? 0 : 1, current_stage(c));
        return MOX_OK;
    }
    xpect x = c->xq[c->xhead++];
    if (nexp(c) == 0)
        c->xhead = c->xtail = 0;
    c->reply_start = -1; /* the next reply's wait starts now, or when written */
    if (r->code == 421 && x.kind != X_QUIT) {
        /* The server is closing the channel (RFC 5321 §3.8). */
        fail_session(c, r->code, r->enhanced, r->text, 1, 0, stage_of(x.kind));
        return MOX_OK;
    }
    int ok = r->code >= 200 && r->code < 300;
    switch (x.kind) {
    case X_GREETING:
        if (r->code != 220)
            return fail_reply(c, r, MOX_SMTP_CLIENT_STAGE_GREETING);
        return send_ehlo(c);
    case X_EHLO:
        if (r->code == 250) {
            mox_smtp_ehlo_clear(&c->ext);
            int rc = mox_smtp_ehlo_parse(r, &c->ext);
            if (rc != MOX_OK)
                return rc;
            c->esmtp = 1;
            return after_hello(c);
        }
        if (r->code >= 500 && !c->tls_active) {
            c->phase = P_HELLO;
            return emit_cmd(c, X_HELO, 0, "HELO %s\r\n", c->ehlo_name);
        }
        return fail_reply(c, r, MOX_SMTP_CLIENT_STAGE_EHLO);
    case X_HELO:
        if (!ok)
            return fail_reply(c, r, MOX_SMTP_CLIENT_STAGE_EHLO);
        mox_smtp_ehlo_clear(&c->ext);
        c->esmtp = 0;
        return after_hello(c);
    case X_STARTTLS:
        if (r->code == 220) {
            c->phase = P_TLS;
            return MOX_OK;
        }
        if (c->tls_mode == MOX_SMTP_CLIENT_TLS_REQUIRED)
            return fail_reply(c, r, MOX_SMTP_CLIENT_STAGE_STARTTLS);
        return after_hello(c);
    case X_AUTH:
        if (c->auth_aborted) {
            c->auth_running = 0;
            if (c->auth->end)
                c->auth->end(c->auth->ctx);
            return soft_fail(c, 535, "5.7.0", "authentication aborted: invalid server challenge",
                             0, 1, MOX_SMTP_CLIENT_STAGE_AUTH);
        }
        if (r->code == 334) {
            mox_buf ch = MOX_BUF_INIT, resp = MOX_BUF_INIT;
            const char *t = r->nlines ? r->lines[0] : "";
            int rc = mox_base64_decode(t, strlen(t), MOX_BASE64_ALLOW_WS, &ch, NULL);
            if (rc == MOX_OK)
                rc = c->auth->step(c->auth->ctx, ch.data, ch.len, &resp);
            mox_buf_free(&ch);
            if (rc == MOX_ERR_NOMEM) {
                mox_buf_free(&resp);
                return rc;
            }
            if (rc != MOX_OK) {
                mox_buf_free(&resp);
                c->auth_aborted = 1;
                return emit_cmd(c, X_AUTH, 0, "*\r\n");
            }
            mox_buf line = MOX_BUF_INIT;
            rc = mox_base64_encode(resp.data, resp.len, &line);
            if (resp.data)
                memset(resp.data, 0, resp.len);
            mox_buf_free(&resp);
            if (rc == MOX_OK)
                rc = emit_cmd(c, X_AUTH, 0, "%s\r\n", line.data ? (const char *)line.data : "");
            if (line.data)
                memset(line.data, 0, line.len);
            mox_buf_free(&line);
            return rc;
        }
        c->auth_running = 0;
        if (r->code == 235) {
            int rc = c->auth->finish ? c->auth->finish(c->auth->ctx) : MOX_OK;
            if (c->auth->end)
                c->auth->end(c->auth->ctx);
            if (rc != MOX_OK)
                return soft_fail(c, 535, "5.7.0",
                                 "server reported success before proving it knows the credentials",
                                 0, 1, MOX_SMTP_CLIENT_STAGE_AUTH);
            c->authenticated = 1;
            return after_hello(c);
        }
        if (c->auth->end)
            c->auth->end(c->auth->ctx);
        return fail_reply(c, r, MOX_SMTP_CLIENT_STAGE_AUTH);
    case X_MAIL:
    case X_RCPT:
    case X_DATA:
    case X_DATA_END:
    case X_BDAT:
        return on_tx_reply(c, &x, r);
    case X_RSET:
        if (!ok) {
            fail_session(c, r->code, r->enhanced, r->text, 1, 0, MOX_SMTP_CLIENT_STAGE_MAIL);
            return MOX_OK;
        }
        if (c->phase == P_TX)
            return pump_tx(c);
        return MOX_OK;
    case X_QUIT:
        c->phase = P_CLOSED;
        return MOX_OK;
    }
    return MOX_OK;
}

/* ------------------------------------------------------------ deadline */

static int64_t reply_limit(const mox_smtp_client *c, int kind)
{
    switch (kind) {
    case X_GREETING: return c->t_greeting;  /* RFC 5321 §4.5.3.2.1 */
    case X_DATA: return c->t_data_init;     /* §4.5.3.2.4 */
    case X_DATA_END:
    case X_BDAT: return c->t_data_end;      /* §4.5.3.2.6 */
    default: return c->t_command;           /* §4.5.3.2.2, .3 */
    }
}

/* Writing data (the body, or a command that ends a message) counts per
 * data block (§4.5.3.2.5); other writes as long as a command's reply. */
static int64_t write_limit(const mox_smtp_client *c)
{
    if (c->in_body || (nexp(c) && (c->xq[c->xtail - 1].kind == X_DATA_END ||
                                   c->xq[c->xtail - 1].kind == X_BDAT)))
        return c->t_data_block;
    return c->t_command;
}

/* Starts and stops the waits after a call changed the engine's state. A
 * running wait keeps its start: no byte the server sends moves it. */
static void update_deadline(mox_smtp_client *c)
{
    if (c->phase == P_CLOSED) {
        c->reply_start = c->block_start = c->tls_start = -1;
        return;
    }
    int64_t now = now_at(c);
    if (nexp(c) && c->xq[c->xhead].end <= c->written && c->phase != P_TLS_IMPLICIT) {
        if (c->reply_start < 0)
            c->reply_start = now;
    } else {
        c->reply_start = -1;
    }
    if (out_pending(c)) {
        if (c->block_start < 0) {
            c->block_start = now;
            c->block_written = 0;
        }
    } else {
        c->block_start = -1;
    }
    if ((c->phase == P_TLS || c->phase == P_TLS_IMPLICIT) && !out_pending(c)) {
        if (c->tls_start < 0)
            c->tls_start = now;
    } else {
        c->tls_start = -1;
    }
}

int64_t mox_smtp_client_deadline(const mox_smtp_client *c)
{
    if (!c)
        return MOX_NO_DEADLINE;
    int64_t d = MOX_NO_DEADLINE;
    if (c->reply_start >= 0 && nexp(c)) {
        int64_t t = c->reply_start + reply_limit(c, c->xq[c->xhead].kind);
        d = t < d ? t : d;
    }
    if (c->block_start >= 0) {
        int64_t t = c->block_start + write_limit(c);
        d = t < d ? t : d;
    }
    if (c->tls_start >= 0) {
        int64_t t = c->tls_start + c->t_command;
        d = t < d ? t : d;
    }
    return d;
}

/* ------------------------------------------------------------ API */

static int safe_name(const char *s)
{
    if (!s || !*s || strlen(s) > 255)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

static unsigned want_op(const void *self) { return mox_smtp_client_want(self); }
static int64_t feed_op(void *self, const void *p, size_t n)
{
    return mox_smtp_client_feed(self, p, n);
}
static int eof_op(void *self) { return mox_smtp_client_eof(self); }
static int output_op(void *self, const void **p, size_t *n)
{
    return mox_smtp_client_output(self, p, n);
}
static int output_done_op(void *self, size_t n) { return mox_smtp_client_output_done(self, n); }
static int tls_request_op(const void *self, mox_tls_request *req)
{
    return mox_smtp_client_tls_request(self, req);
}
static int tls_done_op(void *self, int status, const mox_tls_info *info)
{
    return mox_smtp_client_tls_done(self, status, info);
}
static int64_t deadline_op(const void *self) { return mox_smtp_client_deadline(self); }
static int tick_op(void *self, int64_t now) { return mox_smtp_client_tick(self, now); }

static const moxi_engine_ops client_ops = {
    "smtp_client", want_op,        feed_op,     eof_op, output_op, output_done_op, NULL, NULL,
    tls_request_op, tls_done_op, deadline_op, tick_op};

void mox_smtp_client_config_init(mox_smtp_client_config *cfg, size_t size)
{
    if (!cfg || size < sizeof(size_t))
        return;
    memset(cfg, 0, size);
    cfg->size = size < sizeof *cfg ? size : sizeof *cfg;
}

void mox_smtp_client_message_init(mox_smtp_client_message *m, size_t size)
{
    if (!m || size < sizeof(size_t))
        return;
    memset(m, 0, size);
    m->size = size < sizeof *m ? size : sizeof *m;
}

int mox_smtp_client_new(mox_smtp_client **out, const mox_smtp_client_config *cfg, mox_errinfo *ei)
{
    if (!out)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL out");
    *out = NULL;
    if (!cfg || cfg->size < offsetof(mox_smtp_client_config, tls_mode))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL config or size too small");
    mox_smtp_client_config k = MOX_SMTP_CLIENT_CONFIG_INIT;
    moxi_copy_sized(&k, cfg, sizeof k);
    if (!k.ehlo_name)
        k.ehlo_name = "localhost"; /* zero is the default, like every field */
    if (!safe_name(k.ehlo_name))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "missing or invalid EHLO name");
    if (k.tls_mode < MOX_SMTP_CLIENT_TLS_OPPORTUNISTIC || k.tls_mode > MOX_SMTP_CLIENT_TLS_IMPLICIT)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid TLS mode");
    if (k.tls_verify < MOX_TLS_VERIFY_NONE || k.tls_verify > MOX_TLS_VERIFY_MTASTS)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid TLS verification policy");
    if (k.tls_server_name && !safe_name(k.tls_server_name))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid TLS server name");
    /* Every member of the interface is version 1: an embedder built
     * against a later, larger version passes more and is read up to ours;
     * one that lacks `end` is too old to be an interface at all. */
    if (k.auth && (!MOXI_HAS(k.auth, mox_smtp_client_auth, end) || !k.auth->start || !k.auth->step))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "incomplete auth interface");
    mox_smtp_client *c = mox_calloc(1, sizeof *c);
    if (!c)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    moxi_engine_init(&c->eng, &client_ops, c);
    c->reply_start = c->block_start = c->tls_start = -1;
    c->env = k.env;
    c->tls_mode = k.tls_mode;
    c->tls_verify = k.tls_verify;
    c->tlsa = k.tlsa;
    c->ntlsa = k.tlsa ? k.ntlsa : 0;
    c->mtasts_mx = k.mtasts_mx;
    c->nmtasts_mx = k.mtasts_mx ? k.nmtasts_mx : 0;
    c->flags = k.flags;
    if (k.auth) {
        /* Copied: only the callbacks' ctx must outlive the engine. */
        mox_smtp_client_auth a = MOX_SMTP_CLIENT_AUTH_INIT;
        moxi_copy_sized(&a, k.auth, sizeof a);
        c->auth_copy = a;
        c->auth = &c->auth_copy;
    }
    c->limits = k.limits;
#define MS(v, d) ((int64_t)((v) ? (v) : (d)) * 1000000)
    c->t_greeting = MS(k.timeout_greeting_ms, 300000);
    c->t_command = MS(k.timeout_command_ms, 300000);
    c->t_data_init = MS(k.timeout_data_init_ms, 120000);
    c->t_data_block = MS(k.timeout_data_block_ms, 180000);
    c->t_data_end = MS(k.timeout_data_end_ms, 600000);
#undef MS
    c->tls.size = sizeof c->tls;
    if (!(c->ehlo_name = moxi_strdup(k.ehlo_name)) ||
        (k.tls_server_name && !(c->tls_server_name = moxi_strdup(k.tls_server_name))) ||
        push(c, X_GREETING, 0) != MOX_OK) {
        mox_smtp_client_free(c);
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    }
    c->phase = k.tls_mode == MOX_SMTP_CLIENT_TLS_IMPLICIT ? P_TLS_IMPLICIT : P_GREETING;
    update_deadline(c);
    *out = c;
    return MOX_OK;
}

static void clear_delivery(mox_smtp_client *c)
{
    for (size_t i = 0; i < c->nrcpts; i++) {
        mox_free(c->rs[i].address);
        mox_free(c->rs[i].orcpt);
        mox_free(c->rs[i].owned);
    }
    mox_free(c->rs);
    mox_free(c->res);
    mox_free(c->batch);
    mox_free(c->from);
    mox_free(c->envid);
    mox_free(c->hold_until);
    c->rs = NULL;
    c->res = NULL;
    c->batch = NULL;
    c->from = c->envid = c->hold_until = NULL;
    c->nrcpts = 0;
    memset(&c->dlv, 0, sizeof c->dlv);
    c->have_dlv = 0;
}

void mox_smtp_client_free(mox_smtp_client *c)
{
    if (!c)
        return;
    if (c->auth_running && c->auth->end)
        c->auth->end(c->auth->ctx);
    clear_delivery(c);
    mox_smtp_ehlo_clear(&c->ext);
    mox_buf_free(&c->in);
    if (c->out.data)
        memset(c->out.data, 0, c->out.len); /* may hold AUTH responses */
    mox_buf_free(&c->out);
    mox_free(c->xq);
    mox_free(c->ehlo_name);
    mox_free(c->auth_mech);
    mox_free(c->tls_cipher);
    mox_free(c->tls_identity);
    mox_free(c->tls_server_name);
    mox_free(c);
}

unsigned mox_smtp_client_want(const mox_smtp_client *c)
{
    if (!c)
        return 0;
    unsigned w = 0;
    if (out_pending(c))
        w |= MOX_WANT_WRITE;
    if (mox_smtp_client_deadline(c) != MOX_NO_DEADLINE)
        w |= MOX_WANT_TIMER;
    switch (c->phase) {
    case P_CLOSED:
        return w | MOX_WANT_CLOSED | MOX_WANT_DONE;
    case P_TLS:
    case P_TLS_IMPLICIT:
        return out_pending(c) ? w : w | MOX_WANT_TLS;
    case P_READY:
        if (!c->delivering && !c->quit_after)
            w |= MOX_WANT_DONE; /* idle: submit or quit */
        break;
    default:
        break;
    }
    if (!c->eof)
        w |= MOX_WANT_READ;
    return w;
}

/* QUIT asked for while busy: now that the engine is idle. */
static int maybe_quit(mox_smtp_client *c)
{
    if (!c->quit_after || c->phase != P_READY || c->delivering)
        return MOX_OK;
    c->quit_after = 0;
    c->phase = P_QUIT;
    return emit_cmd(c, X_QUIT, 0, "QUIT\r\n");
}

static int64_t finish_call(mox_smtp_client *c, int rc, int64_t ret)
{
    if (rc == MOX_OK)
        rc = maybe_quit(c);
    if (rc == MOX_ERR_NOMEM) {
        fail_nomem(c);
        update_deadline(c);
        return moxi_engine_fail(&c->eng, MOX_ERR_NOMEM, "out of memory");
    }
    update_deadline(c);
    return ret;
}

int64_t mox_smtp_client_feed(mox_smtp_client *c, const void *in, size_t len)
{
    if (!c)
        return MOX_ERR_INVAL;
    if (!in && len)
        return moxi_engine_fail(&c->eng, MOX_ERR_INVAL, "NULL input with length %zu", len);
    if (c->eof)
        return moxi_engine_fail(&c->eng, MOX_ERR_STATE, "feed after eof");
    if (c->phase == P_CLOSED)
        return 0;
    if (c->phase == P_TLS || c->phase == P_TLS_IMPLICIT) {
        if (len) {
            fail_session(c, 451, "4.7.0",
                         "server sent data after STARTTLS before the TLS handshake (response injection)",
                         1, 1, MOX_SMTP_CLIENT_STAGE_STARTTLS);
            c->out.len = c->out_off = 0;
            update_deadline(c);
        }
        return (int64_t)len;
    }
    if ((uint64_t)len > (uint64_t)INT64_MAX)
        len = (size_t)INT64_MAX;
    if (len)
        c->got_bytes = 1;
    int rc = mox_buf_append(&c->in, in, len);
    if (rc != MOX_OK)
        return finish_call(c, rc, 0);
    size_t off = 0;
    while (c->phase != P_CLOSED && c->phase != P_TLS) {
        mox_smtp_reply r = {0};
        size_t used = 0;
        mox_errinfo ei;
        rc = mox_smtp_reply_parse(c->in.data + off, c->in.len - off, &c->limits, &r, &used, &ei);
        if (rc == MOX_ERR_AGAIN) {
            rc = MOX_OK;
            break;
        }
        if (rc == MOX_ERR_NOMEM)
            break;
        if (rc != MOX_OK) {
            char msg[300];
            snprintf(msg, sizeof msg, "malformed reply from server: %s", ei.msg);
            fail_session(c, 451, "4.5.0", msg, 1, 1, current_stage(c));
            c->out.len = c->out_off = 0;
            break;
        }
        off += used;
        rc = on_reply(c, &r);
        mox_smtp_reply_clear(&r);
        if (rc == MOX_OK)
            rc = maybe_quit(c); /* before the next reply: it may be QUIT's */
        if (rc != MOX_OK)
            break;
    }
    if (rc == MOX_OK && c->phase == P_TLS && off < c->in.len) {
        /* Bytes after the 220 to STARTTLS were sent in plaintext by
         * someone; accepting them would let an attacker inject replies
         * into the protected session (CVE-2011-0411 family). */
        fail_session(c, 451, "4.7.0",
                     "server sent data after STARTTLS before the TLS handshake (response injection)",
                     1, 1, MOX_SMTP_CLIENT_STAGE_STARTTLS);
        c->out.len = c->out_off = 0;
    }
    mox_buf_consume(&c->in, off);
    if (c->phase == P_CLOSED)
        mox_buf_reset(&c->in);
    return finish_call(c, rc, (int64_t)len);
}

int mox_smtp_client_output(mox_smtp_client *c, const void **out, size_t *len)
{
    if (!c || !out || !len) {
        if (out)
            *out = NULL;
        if (len)
            *len = 0;
        if (c)
            moxi_engine_fail(&c->eng, MOX_ERR_INVAL, "NULL output pointers");
        return MOX_ERR_INVAL;
    }
    *out = c->out.data ? (const void *)(c->out.data + c->out_off) : (const void *)"";
    *len = out_pending(c);
    return MOX_OK;
}

int mox_smtp_client_output_done(mox_smtp_client *c, size_t n)
{
    if (!c)
        return MOX_ERR_INVAL;
    if (n > out_pending(c))
        return moxi_engine_fail(&c->eng, MOX_ERR_INVAL,
                                "output_done(%zu) with %zu bytes handed out", n, out_pending(c));
    if (n == 0)
        return MOX_OK;
    c->out_off += n;
    c->written += n;
    /* a block is 64 KiB: the next one gets its own time (§4.5.3.2.5) */
    c->block_written += n;
    if (c->block_written >= BODY_CHUNK) {
        c->block_start = now_at(c);
        c->block_written = 0;
    }
    if (c->out_off == c->out.len) {
        c->out.len = c->out_off = 0;
    } else if (c->out_off > 65536 && c->out_off > c->out.len / 2) {
        mox_buf_consume(&c->out, c->out_off);
        c->out_off = 0;
    }
    int rc = fill_body(c);
    return (int)finish_call(c, rc, MOX_OK);
}

int mox_smtp_client_tick(mox_smtp_client *c, int64_t now)
{
    if (!c)
        return MOX_ERR_INVAL;
    if (now > c->last_tick)
        c->last_tick = now;
    now = now_at(c);
    if (c->phase == P_CLOSED || now < mox_smtp_client_deadline(c))
        return MOX_OK;
    if (c->phase == P_QUIT) {
        c->phase = P_CLOSED; /* the goodbye did not come: the session is over anyway */
        c->xhead = c->xtail = 0;
        c->out.len = c->out_off = 0;
    } else {
        char msg[128];
        static const char *const what[] = {"", "connection", "greeting", "EHLO reply",
                                           "STARTTLS reply", "TLS handshake", "AUTH reply",
                                           "", "MAIL reply", "RCPT reply", "DATA reply",
                                           "end-of-data reply", "QUIT reply"};
        int st = current_stage(c);
        int writing = c->block_start >= 0 && now >= c->block_start + write_limit(c);
        if (writing)
            snprintf(msg, sizeof msg, "timeout writing %s",
                     write_limit(c) == c->t_data_block ? "message data" : "to the server");
        else
            snprintf(msg, sizeof msg, "timeout waiting for %s",
                     st > 0 && st < (int)MOX_ARRAY_LEN(what) && *what[st] ? what[st] : "server");
        fail_session(c, 451, "4.4.2", msg, 1, 1, st);
    }
    update_deadline(c);
    return MOX_OK;
}

int mox_smtp_client_eof(mox_smtp_client *c)
{
    if (!c)
        return MOX_ERR_INVAL;
    if (c->eof)
        return moxi_engine_fail(&c->eng, MOX_ERR_STATE, "second eof");
    c->eof = 1;
    if (c->phase == P_CLOSED)
        return MOX_OK;
    if (c->phase == P_QUIT && nexp(c) <= 1) {
        c->phase = P_CLOSED;
    } else {
        fail_session(c, 451, "4.4.2", "connection closed by server", 1, 1, current_stage(c));
    }
    c->out.len = c->out_off = 0;
    update_deadline(c);
    return MOX_OK;
}

static int tls_wanted(const mox_smtp_client *c)
{
    return (c->phase == P_TLS || c->phase == P_TLS_IMPLICIT) && !out_pending(c);
}

int mox_smtp_client_tls_request(const mox_smtp_client *c, mox_tls_request *req)
{
    if (!c || !req || req->size < sizeof(size_t))
        return MOX_ERR_INVAL;
    if (!tls_wanted(c))
        return moxi_engine_fail((mox_engine *)&c->eng, MOX_ERR_STATE, "TLS is not wanted now");
    mox_tls_request r = MOX_TLS_REQUEST_INIT;
    r.role = MOX_TLS_ROLE_CLIENT;
    r.server_name = c->tls_server_name;
    r.verify = c->tls_verify;
    r.required = c->tls_mode == MOX_SMTP_CLIENT_TLS_REQUIRED || c->tls_mode == MOX_SMTP_CLIENT_TLS_IMPLICIT;
    r.tlsa = c->tlsa;
    r.ntlsa = c->ntlsa;
    r.mtasts_mx = c->mtasts_mx;
    r.nmtasts_mx = c->nmtasts_mx;
    moxi_fill_sized(req, req->size, &r, sizeof r);
    return MOX_OK;
}

int mox_smtp_client_tls_done(mox_smtp_client *c, int status, const mox_tls_info *info)
{
    if (!c)
        return MOX_ERR_INVAL;
    if (!tls_wanted(c))
        return moxi_engine_fail(&c->eng, MOX_ERR_STATE, "no TLS handshake was due");
    if (status == MOX_OK && (!info || info->size < sizeof(size_t)))
        return moxi_engine_fail(&c->eng, MOX_ERR_INVAL, "handshake succeeded without a TLS info");
    if (status != MOX_OK) {
        char msg[96];
        snprintf(msg, sizeof msg, "TLS handshake failed: %s", mox_strerror(status));
        fail_session(c, 451, "4.7.5", msg, 1, 1, MOX_SMTP_CLIENT_STAGE_TLS);
        c->out.len = c->out_off = 0;
        update_deadline(c);
        return MOX_OK;
    }
    mox_tls_info k = MOX_TLS_INFO_INIT;
    moxi_copy_sized(&k, info, sizeof k);
    mox_free(c->tls_cipher);
    mox_free(c->tls_identity);
    c->tls_cipher = k.cipher ? moxi_strdup(k.cipher) : NULL;
    c->tls_identity = k.peer_identity ? moxi_strdup(k.peer_identity) : NULL;
    if ((k.cipher && !c->tls_cipher) || (k.peer_identity && !c->tls_identity))
        return (int)finish_call(c, MOX_ERR_NOMEM, MOX_OK);
    mox_tls_info t = MOX_TLS_INFO_INIT;
    t.version = k.version;
    t.cipher_id = k.cipher_id;
    t.cipher = c->tls_cipher;
    t.resumed = k.resumed;
    t.peer_cert = k.peer_cert;
    t.peer_verified = k.peer_verified;
    memcpy(t.peer_spki_sha256, k.peer_spki_sha256, sizeof t.peer_spki_sha256);
    t.peer_identity = c->tls_identity;
    if (k.tls_unique && k.tls_unique_len && k.tls_unique_len <= sizeof c->cb_unique) {
        memcpy(c->cb_unique, k.tls_unique, k.tls_unique_len);
        t.tls_unique = c->cb_unique;
        t.tls_unique_len = k.tls_unique_len;
    }
    if (k.tls_exporter && k.tls_exporter_len && k.tls_exporter_len <= sizeof c->cb_exporter) {
        memcpy(c->cb_exporter, k.tls_exporter, k.tls_exporter_len);
        t.tls_exporter = c->cb_exporter;
        t.tls_exporter_len = k.tls_exporter_len;
    }
    c->tls = t;
    c->tls_active = 1;
    int rc = MOX_OK;
    if (c->phase == P_TLS_IMPLICIT) {
        c->phase = P_GREETING;
    } else {
        /* RFC 3207 §4.2: forget everything learned before TLS. */
        mox_smtp_ehlo_clear(&c->ext);
        c->esmtp = 0;
        rc = send_ehlo(c);
    }
    return (int)finish_call(c, rc, MOX_OK);
}

/* Addresses go into commands verbatim, so nothing may end the command or
 * the path early: no controls, and no SP, '<' or '>' outside quotes. */
static int safe_address(const char *s, int allow_empty)
{
    if (!s)
        return 0;
    if (!*s)
        return allow_empty;
    if (strlen(s) > 1000)
        return 0;
    int q = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return 0;
        if (q) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                q = 0;
        } else if (*p == '"') {
            q = 1;
        } else if (*p == ' ' || *p == '<' || *p == '>') {
            return 0;
        }
    }
    return !q;
}

int mox_smtp_client_submit(mox_smtp_client *c, const mox_smtp_client_message *msg, mox_errinfo *ei)
{
    if (!c || !msg || msg->size < sizeof(size_t))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid argument");
    mox_smtp_client_message m = MOX_SMTP_CLIENT_MESSAGE_INIT;
    memcpy(&m, msg, msg->size < sizeof m ? msg->size : sizeof m);
    if (c->phase == P_CLOSED || c->phase == P_QUIT || c->delivering || c->quit_after)
        return moxi_fail(ei, MOX_ERR_STATE, 0, SIZE_MAX, "cannot submit now");
    if (m.nrcpts == 0 || !m.rcpts)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "no recipients");
    if (!m.data && m.len)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "no message data");
    if (!safe_address(m.from, 1))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "unsafe or missing sender address");
    if (m.ret < MOX_SMTP_RET_NONE || m.ret > MOX_SMTP_RET_HDRS)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid message parameter");
    int64_t hold_t;
    if (m.hold_until &&
        mox_smtp_rfc3339_parse(m.hold_until, strlen(m.hold_until), &hold_t) != MOX_OK)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "HOLDUNTIL is not an RFC 3339 date-time");
    if (m.envid && !mox_smtp_envid_valid(m.envid))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX,
                         "invalid ENVID (printable US-ASCII, at most 100 characters as xtext)");
    if (m.hold_for && m.hold_until)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "HOLDFOR and HOLDUNTIL are exclusive");
    for (size_t i = 0; i < m.nrcpts; i++) {
        const mox_smtp_client_rcpt *r = &m.rcpts[i];
        if (!safe_address(r->address, 0))
            return moxi_fail(ei, MOX_ERR_INVAL, 0, i, "unsafe or missing recipient address");
        if (r->notify & ~0xfu)
            return moxi_fail(ei, MOX_ERR_INVAL, 0, i, "unknown NOTIFY bits");
        if (!mox_smtp_notify_valid(r->notify))
            return moxi_fail(ei, MOX_ERR_INVAL, 0, i, "NOTIFY=NEVER with other values");
        if (r->orcpt && !mox_smtp_orcpt_valid(r->orcpt))
            return moxi_fail(ei, MOX_ERR_INVAL, 0, i,
                             "invalid ORCPT (control character, bad UTF-8 or too long)");
    }
    clear_delivery(c);
    int rc = MOX_OK;
    c->rs = mox_calloc(m.nrcpts, sizeof *c->rs);
    c->res = mox_calloc(m.nrcpts, sizeof *c->res);
    c->batch = mox_calloc(m.nrcpts, sizeof *c->batch);
    c->from = moxi_strdup(m.from);
    if (!c->rs || !c->res || !c->batch || !c->from ||
        (m.envid && !(c->envid = moxi_strdup(m.envid))) ||
        (m.hold_until && !(c->hold_until = moxi_strdup(m.hold_until))))
        rc = MOX_ERR_NOMEM;
    if (rc == MOX_OK)
        c->nrcpts = m.nrcpts;
    for (size_t i = 0; i < c->nrcpts && rc == MOX_OK; i++) {
        c->rs[i].notify = m.rcpts[i].notify;
        if (!(c->rs[i].address = moxi_strdup(m.rcpts[i].address)) ||
            (m.rcpts[i].orcpt && !(c->rs[i].orcpt = moxi_strdup(m.rcpts[i].orcpt))))
            rc = MOX_ERR_NOMEM;
        c->res[i].address = c->rs[i].address ? c->rs[i].address : "";
        c->res[i].status.text = "";
    }
    if (rc != MOX_OK) {
        clear_delivery(c);
        return moxi_fail(ei, rc, 0, SIZE_MAX, "out of memory");
    }
    c->data = m.data;
    c->len = m.len;
    c->mflags = m.flags;
    c->ret = m.ret;
    c->hold_for = m.hold_for;
    c->dlv.nrcpts = c->nrcpts;
    c->dlv.rcpts = c->res;
    c->have_dlv = 1;
    c->delivering = 1;
    c->started = 0;
    if (c->phase == P_READY)
        rc = start_delivery(c);
    rc = (int)finish_call(c, rc, MOX_OK);
    if (rc != MOX_OK)
        return moxi_fail(ei, rc, 0, SIZE_MAX, "out of memory");
    return MOX_OK;
}

int mox_smtp_client_quit(mox_smtp_client *c)
{
    if (!c)
        return MOX_ERR_INVAL;
    if (c->phase == P_CLOSED || c->phase == P_QUIT)
        return MOX_OK;
    c->quit_after = 1; /* now if idle, else when the delivery is done */
    return (int)finish_call(c, MOX_OK, MOX_OK);
}

const mox_smtp_client_outcome *mox_smtp_client_result(const mox_smtp_client *cc)
{
    if (!cc)
        return NULL;
    mox_smtp_client *c = (mox_smtp_client *)cc; /* the view is a cache */
    mox_smtp_client_outcome *v = &c->view;
    v->delivery = c->have_dlv ? &c->dlv : NULL;
    v->failure = c->has_failure ? &c->failure : NULL;
    v->ehlo = &c->ext;
    v->tls = c->tls_active ? &c->tls : NULL;
    v->authenticated = c->authenticated;
    v->auth_mech = c->auth_mech;
    v->closed = c->phase == P_CLOSED;
    return v;
}

mox_engine *mox_smtp_client_engine(mox_smtp_client *c) { return c ? &c->eng : NULL; }
