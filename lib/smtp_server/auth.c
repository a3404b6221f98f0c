/* SMTP server engine: AUTH (RFC 4954). The SMTP side — the command, 334
 * challenges, base64, "=" for an empty initial response, "*" to cancel,
 * continuation lines up to 12288 bytes — is here; the mechanisms are the
 * SASL module's server engine. */
#include <stdio.h>
#include <string.h>

#include "smtp_server_priv.h"

static int auth_offered(const mox_smtp_server *s)
{
    if (!s->cfg.auth_mechs)
        return 0;
    return s->cfg.mode == MOX_SMTP_SERVER_SUBMISSION || s->cfg.auth_in_delivery;
}

void moxi_smtp_auth_sasl_config(mox_smtp_server *s, mox_sasl_server_config *c)
{
    mox_sasl_channel ch = MOX_SASL_CHANNEL_INIT;
    ch.ctx = s->tls_binding_ctx;
    ch.tls = s->sess.tls;
    ch.cb_types = s->tls_binding ? s->tls_cb_types : 0;
    ch.binding = s->tls_binding;
    ch.external_identity = s->cert_user;
    s->chan = ch;
    mox_sasl_server_config d = MOX_SASL_SERVER_CONFIG_INIT;
    d.env = s->cfg.env;
    d.creds = s->cfg.auth_creds;
    d.channel = &s->chan;
    d.mechs = s->cfg.auth_mechs;
    if (!d.creds) /* without a store only the certificate can vouch */
        d.mechs &= MOX_SASL_BIT(MOX_SASL_EXTERNAL);
    if (!d.mechs)
        d.mechs = MOX_SASL_BIT(MOX_SASL_NONE); /* nothing: 0 would mean "all" */
    d.plaintext_needs_tls = !s->cfg.allow_plain_auth_without_tls;
    d.hostname = s->hostname;
    *c = d;
}

int moxi_smtp_auth_mechs(mox_smtp_server *s, mox_buf *out)
{
    if (!auth_offered(s))
        return MOX_OK;
    if (s->auth_user && !(s->sess.auth_mech && strcmp(s->sess.auth_mech, "TLS") == 0))
        return MOX_OK; /* AUTH after AUTH is refused (RFC 4954 §4) */
    moxi_smtp_auth_sasl_config(s, &s->sasl_cfg);
    return mox_sasl_server_mechs_string(&s->sasl_cfg, out);
}

void moxi_smtp_auth_abort(mox_smtp_server *s)
{
    mox_sasl_server_free(s->sasl);
    s->sasl = NULL;
    s->auth_lookup_wait = 0;
    s->auth_final_wait = 0;
}

/* The exchange is over: tell the embedder, who may still refuse. */
static void finish(mox_smtp_server *s, int success)
{
    mox_sasl_mech m = mox_sasl_server_mech(s->sasl);
    mox_smtp_server_auth a;
    memset(&a, 0, sizeof a);
    a.mechanism = mox_sasl_mech_name(m);
    a.success = success;
    a.username = mox_sasl_server_username(s->sasl);
    mox_smtp_server_reply r;
    if (success) {
        a.authcid = mox_sasl_server_authcid(s->sasl);
        a.authzid = mox_sasl_server_authzid(s->sasl);
        moxi_smtp_default(&r, 235, "2.7.0", "authentication successful");
    } else {
        mox_sasl_failure f = mox_sasl_server_failure(s->sasl);
        a.failure = (int)f;
        switch (f) {
        case MOX_SASL_FAIL_MALFORMED:
            moxi_smtp_default(&r, 501, "5.5.2", "malformed authentication exchange");
            break;
        case MOX_SASL_FAIL_ABORTED:
            moxi_smtp_default(&r, 501, "5.0.0", "authentication cancelled");
            break;
        case MOX_SASL_FAIL_TEMPORARY:
            moxi_smtp_default(&r, 454, "4.7.0", "temporary authentication failure");
            break;
        default:
            moxi_smtp_default(&r, 535, "5.7.8", "authentication credentials invalid");
            break;
        }
        /* A missing derived secret (e.g. no SCRAM-SHA-1 keys stored) is a
         * configuration matter, not a guess; a temporary failure is ours. */
        if (f != MOX_SASL_FAIL_NO_SECRET && f != MOX_SASL_FAIL_TEMPORARY) {
            a.counted = 1;
            s->sess.auth_failures++;
        }
        moxi_smtp_log(s, MOX_LOG_INFO, "authentication failed", "mech", a.mechanism, "reason",
                      mox_sasl_failure_name(f));
    }
    s->phase = PH_CMD;
    moxi_smtp_ask(s, MOX_SMTP_SERVER_DECIDE_AUTH);
    int rc = MOX_SMTP_SERVER_REPLY;
    if (s->cb.on_auth)
        rc = s->cb.on_auth(s->user, s, &a, &r);
    /* the embedder must not turn a failure into a success */
    if (rc == MOX_SMTP_SERVER_REPLY && !success && r.code >= 200 && r.code < 300)
        moxi_smtp_default(&r, 535, "5.7.8", "authentication credentials invalid");
    s->auth_final_wait = success ? 2 : 3; /* remembered for auth_apply */
    moxi_smtp_decide(s, MOX_SMTP_SERVER_DECIDE_AUTH, rc, &r);
}

void moxi_smtp_auth_apply(mox_smtp_server *s, mox_smtp_server_reply *r)
{
    int success = s->auth_final_wait == 2 && r->code >= 200 && r->code < 300;
    if (s->auth_final_wait != 2 && r->code >= 200 && r->code < 300)
        moxi_smtp_default(r, 535, "5.7.8", "authentication credentials invalid");
    if (success) {
        const char *id = mox_sasl_server_authzid(s->sasl);
        if (!id)
            id = mox_sasl_server_authcid(s->sasl);
        mox_free(s->auth_user);
        s->auth_user = moxi_strdup(id ? id : "");
        if (!s->auth_user) {
            s->broken = 1;
            return;
        }
        s->sess.auth_user = s->auth_user;
        s->sess.auth_mech = mox_sasl_mech_name(mox_sasl_server_mech(s->sasl));
        moxi_smtp_count(s, "mox_smtpserver_auth_total", "result", "ok");
    } else {
        moxi_smtp_count(s, "mox_smtpserver_auth_total", "result", "fail");
    }
    moxi_smtp_auth_abort(s);
    moxi_smtp_queue_reply(s, r, 1);
    if (!success && s->cfg.max_auth_failures && s->sess.auth_failures >= s->cfg.max_auth_failures) {
        moxi_smtp_reply(s, 421, "4.7.0", "too many authentication failures");
        moxi_smtp_close(s);
    }
}

/* Acts on a SASL step result. */
static void step_result(mox_smtp_server *s, int st, const unsigned char *out, size_t out_len)
{
    switch (st) {
    case MOX_SASL_CONTINUE:
    case MOX_SASL_SUCCESS:
        if (st == MOX_SASL_SUCCESS && out_len == 0) {
            finish(s, 1);
            return;
        }
        {
            mox_buf b = MOX_BUF_INIT;
            if (mox_buf_append_str(&b, "334 ") != MOX_OK ||
                mox_base64_encode(out, out_len, &b) != MOX_OK ||
                mox_buf_append(&b, "\r\n", 2) != MOX_OK) {
                mox_buf_free(&b);
                s->broken = 1;
                return;
            }
            moxi_smtp_raw(s, (const char *)b.data, b.len);
            mox_buf_free(&b);
        }
        /* After SCRAM's server-final the client answers with an empty line
         * before the 235. */
        s->auth_final_wait = st == MOX_SASL_SUCCESS;
        s->phase = PH_AUTH;
        return;
    case MOX_SASL_FAILURE:
        finish(s, 0);
        return;
    case MOX_SASL_PENDING:
        s->auth_lookup_wait = 1;
        s->pending = MOX_SMTP_SERVER_DECIDE_AUTH;
        return;
    case MOX_ERR_NOMEM:
        s->broken = 1;
        return;
    default:
        moxi_smtp_auth_abort(s);
        s->phase = PH_CMD;
        moxi_smtp_reply(s, 454, "4.7.0", "temporary authentication failure");
        return;
    }
}

/* Decodes a client response. 1 ok, 0 malformed (replied), -1 NOMEM. */
static int decode(mox_smtp_server *s, const char *p, size_t n, mox_buf *out)
{
    int rc = mox_base64_decode(p, n, 0, out, NULL);
    if (rc == MOX_ERR_NOMEM) {
        s->broken = 1;
        return -1;
    }
    return rc == MOX_OK;
}

void moxi_smtp_auth_cmd(mox_smtp_server *s, const char *arg, size_t len)
{
    if (!auth_offered(s)) {
        moxi_smtp_error(s, 502, "5.5.1", "AUTH not available");
        return;
    }
    if (!s->hello) {
        moxi_smtp_error(s, 503, "5.5.1", "say EHLO first");
        return;
    }
    if (s->auth_user && !(s->sess.auth_mech && strcmp(s->sess.auth_mech, "TLS") == 0)) {
        moxi_smtp_error(s, 503, "5.5.1", "already authenticated");
        return;
    }
    if (s->in_txn) {
        moxi_smtp_error(s, 503, "5.5.1", "AUTH not allowed during a mail transaction");
        return;
    }
    if (len < 2 || arg[0] != ' ') {
        moxi_smtp_error(s, 501, "5.5.4", "AUTH needs a mechanism");
        return;
    }
    arg++;
    len--;
    size_t ml = 0;
    while (ml < len && arg[ml] != ' ')
        ml++;
    const char *ir = NULL;
    size_t irl = 0;
    if (ml < len) {
        ir = arg + ml + 1;
        irl = len - ml - 1;
        if (irl == 0) {
            moxi_smtp_error(s, 501, "5.5.4", "malformed AUTH command");
            return;
        }
    }
    mox_sasl_mech m = mox_sasl_mech_parse(arg, ml);
    moxi_smtp_auth_sasl_config(s, &s->sasl_cfg);
    if (m == MOX_SASL_NONE || !(s->sasl_cfg.mechs & MOX_SASL_BIT(m))) {
        moxi_smtp_error(s, 504, "5.5.4", "unrecognized authentication mechanism");
        return;
    }
    if (!mox_sasl_server_mech_allowed(&s->sasl_cfg, m)) {
        if ((m == MOX_SASL_PLAIN || m == MOX_SASL_LOGIN) && !s->sess.tls)
            moxi_smtp_error(s, 538, "5.7.11", "encryption required for this mechanism");
        else
            moxi_smtp_error(s, 504, "5.5.4", "mechanism not available on this connection");
        return;
    }
    mox_buf dec = MOX_BUF_INIT;
    if (ir && !(irl == 1 && ir[0] == '=')) {
        int d = decode(s, ir, irl, &dec);
        if (d <= 0) {
            mox_buf_free(&dec);
            if (d == 0)
                moxi_smtp_error(s, 501, "5.5.2", "invalid base64 in initial response");
            return;
        }
    }
    moxi_smtp_auth_abort(s);
    int rc = mox_sasl_server_new(&s->sasl, m, &s->sasl_cfg);
    if (rc != MOX_OK) {
        mox_buf_free(&dec);
        if (rc == MOX_ERR_NOMEM) {
            s->broken = 1;
            return;
        }
        moxi_smtp_reply(s, 454, "4.7.0", "temporary authentication failure");
        return;
    }
    const unsigned char *out = NULL;
    size_t out_len = 0;
    /* NULL: no initial response; non-NULL with length 0: "=" */
    const void *in = ir ? (dec.data ? (const void *)dec.data : (const void *)"") : NULL;
    int st = mox_sasl_server_step(s->sasl, in, dec.len, &out, &out_len);
    mox_buf_free(&dec);
    step_result(s, st, out, out_len);
}

void moxi_smtp_auth_line(mox_smtp_server *s, const char *line, size_t len)
{
    if (!s->sasl) {
        s->phase = PH_CMD;
        return;
    }
    if (len == 1 && line[0] == '*') {
        mox_sasl_server_abort(s->sasl);
        finish(s, 0);
        return;
    }
    if (s->auth_final_wait == 1) {
        /* the answer to SCRAM's server-final must be empty */
        s->auth_final_wait = 0;
        finish(s, len == 0);
        return;
    }
    mox_buf dec = MOX_BUF_INIT;
    int d = decode(s, line, len, &dec);
    if (d < 0) {
        mox_buf_free(&dec);
        return;
    }
    if (d == 0) {
        mox_buf_free(&dec);
        moxi_smtp_auth_abort(s);
        s->phase = PH_CMD;
        moxi_smtp_error(s, 501, "5.5.2", "invalid base64 in authentication response");
        return;
    }
    const unsigned char *out = NULL;
    size_t out_len = 0;
    int st = mox_sasl_server_step(s->sasl, dec.data ? (const void *)dec.data : (const void *)"",
                                  dec.len, &out, &out_len);
    mox_buf_free(&dec);
    step_result(s, st, out, out_len);
}

int mox_smtp_server_auth_resume(mox_smtp_server *s)
{
    if (!s)
        return MOX_ERR_INVAL;
    if (!s->auth_lookup_wait || !s->sasl)
        return MOX_ERR_STATE;
    s->auth_lookup_wait = 0;
    s->pending = MOX_SMTP_SERVER_DECIDE_NONE;
    const unsigned char *out = NULL;
    size_t out_len = 0;
    int st = mox_sasl_server_resume(s->sasl, &out, &out_len);
    step_result(s, st, out, out_len);
    /* continue with pipelined input (none is allowed during AUTH, but a
     * client may have sent it) */
    moxi_smtp_resume(s);
    return s->broken ? MOX_ERR_NOMEM : MOX_OK;
}
