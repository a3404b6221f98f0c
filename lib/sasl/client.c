/* Client engine core and the PLAIN, LOGIN, CRAM-MD5 and EXTERNAL client
 * mechanisms. SCRAM is in client_scram.c. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sasl_priv.h"

#define DEFAULT_MAX_INPUT 8192

static const unsigned char empty_out[1] = {0};

void mox_sasl_client_free(mox_sasl_client *c)
{
    if (!c)
        return;
    moxi_sasl_buf_wipe_free(&c->out);
    moxi_sasl_buf_wipe_free(&c->scram_msgs);
    moxi_sasl_buf_wipe_free(&c->scram_gs2);
    mox_free(c->username);
    mox_free(c->authzid);
    moxi_sasl_free_secret(c->password, c->password_len);
    mox_free(c->fixed_nonce);
    moxi_sasl_wipe(c, sizeof *c);
    mox_free(c);
}

static mox_sasl_cb_type pick_cb(const mox_sasl_client *c)
{
    unsigned have = c->chan.cb_types;
    if (c->cfg.cb_type != MOX_SASL_CB_NONE)
        return (have & MOX_SASL_CB_BIT(c->cfg.cb_type)) ? c->cfg.cb_type : MOX_SASL_CB_NONE;
    if (have & MOX_SASL_CB_BIT(MOX_SASL_CB_TLS_EXPORTER))
        return MOX_SASL_CB_TLS_EXPORTER;
    if (have & MOX_SASL_CB_BIT(MOX_SASL_CB_TLS_UNIQUE))
        return MOX_SASL_CB_TLS_UNIQUE;
    return MOX_SASL_CB_NONE;
}

int mox_sasl_client_new(mox_sasl_client **out, mox_sasl_mech mech,
                        const mox_sasl_client_config *cfg, mox_errinfo *ei)
{
    if (!out || !cfg || cfg->size == 0)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "missing argument");
    *out = NULL;
    if (mech == MOX_SASL_NONE || !mox_sasl_mech_name(mech))
        return moxi_fail(ei, MOX_ERR_UNSUPPORTED, 0, SIZE_MAX, "unknown mechanism");
    mox_sasl_client_config cc = MOX_SASL_CLIENT_CONFIG_INIT;
    moxi_copy_sized(&cc, cfg, sizeof cc);
    if (!moxi_sasl_client_allowed(&cc, mech))
        return moxi_fail(ei, MOX_ERR_PERM, 0, SIZE_MAX, "%s not allowed on this connection",
                         mox_sasl_mech_name(mech));
    if (mech != MOX_SASL_EXTERNAL && (!cc.username || !cc.password))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "username and password required");
    if (cc.fixed_nonce && !moxi_sasl_scram_nonce_ok(cc.fixed_nonce, strlen(cc.fixed_nonce)))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "bad fixed nonce");

    mox_sasl_client *c = mox_calloc(1, sizeof *c);
    if (!c)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    c->mech = mech;
    c->cfg = cc;
    mox_env z = MOX_ENV_INIT;
    c->env = z;
    if (cc.env && cc.env->size)
        moxi_copy_sized(&c->env, cc.env, sizeof z);
    c->cfg.env = &c->env;
    mox_sasl_channel zc = MOX_SASL_CHANNEL_INIT;
    c->chan = zc;
    if (cc.channel && cc.channel->size) {
        moxi_copy_sized(&c->chan, cc.channel, sizeof zc);
        c->have_chan = 1;
    }
    c->cfg.channel = &c->chan;
    c->cfg.username = c->cfg.password = c->cfg.authzid = c->cfg.fixed_nonce = NULL;
    if (!c->cfg.max_input)
        c->cfg.max_input = DEFAULT_MAX_INPUT;
    if (!c->cfg.min_iterations)
        c->cfg.min_iterations = MOX_SASL_MIN_ITERATIONS;
    if (!c->cfg.max_iterations)
        c->cfg.max_iterations = MOX_SASL_MAX_ITERATIONS;

    int rc = MOX_OK;
    if (cc.username) {
        rc = moxi_sasl_prepare_username(cc.username, strlen(cc.username), &c->username);
        if (rc == MOX_ERR_SYNTAX)
            rc = moxi_fail(ei, MOX_ERR_UTF8, 0, SIZE_MAX, "username empty or not UTF-8");
    }
    if (rc == MOX_OK && cc.authzid && *cc.authzid) {
        rc = moxi_sasl_prepare_username(cc.authzid, strlen(cc.authzid), &c->authzid);
        if (rc == MOX_ERR_SYNTAX)
            rc = moxi_fail(ei, MOX_ERR_UTF8, 0, SIZE_MAX, "authzid not UTF-8");
    }
    if (rc == MOX_OK && cc.password)
        rc = moxi_sasl_prepare_password(cc.password, strlen(cc.password), &c->password,
                                        &c->password_len, ei);
    if (rc == MOX_OK && cc.fixed_nonce && !(c->fixed_nonce = moxi_strdup(cc.fixed_nonce)))
        rc = MOX_ERR_NOMEM;
    if (rc == MOX_OK && moxi_sasl_is_plus(mech)) {
        c->scram_cb = pick_cb(c);
        if (c->scram_cb == MOX_SASL_CB_NONE)
            rc = moxi_fail(ei, MOX_ERR_PERM, 0, SIZE_MAX,
                           "requested channel-binding type not available");
    }
    if (rc != MOX_OK) {
        if (rc == MOX_ERR_NOMEM)
            moxi_fail(ei, rc, 0, SIZE_MAX, "out of memory");
        mox_sasl_client_free(c);
        return rc;
    }
    *out = c;
    return MOX_OK;
}

int moxi_sasl_cli_fail(mox_sasl_client *c, mox_sasl_failure f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->failure_text, sizeof c->failure_text, fmt, ap);
    va_end(ap);
    c->failure = f;
    c->state = MOXI_CLI_DONE;
    c->complete = 0;
    mox_buf_reset(&c->out);
    moxi_logf(&c->env, MOX_LOG_DEBUG, "sasl client %s: %s: %s", mox_sasl_mech_name(c->mech),
              mox_sasl_failure_name(f), c->failure_text);
    return MOX_SASL_FAILURE;
}

static int cli_done(mox_sasl_client *c)
{
    c->state = MOXI_CLI_DONE;
    c->complete = 1;
    return MOX_SASL_SUCCESS;
}

static int cli_plain(mox_sasl_client *c)
{
    const char *z = c->authzid ? c->authzid : "";
    int rc = mox_buf_append(&c->out, z, strlen(z) + 1);
    if (rc == MOX_OK)
        rc = mox_buf_append(&c->out, c->username, strlen(c->username) + 1);
    if (rc == MOX_OK)
        rc = mox_buf_append(&c->out, c->password, c->password_len);
    if (rc != MOX_OK)
        return rc;
    c->has_initial = 1;
    return cli_done(c);
}

static int cli_login(mox_sasl_client *c, int have)
{
    /* Servers vary in their prompts ("Username:", "User Name"): the order of
     * the challenges is what counts. */
    if (c->state == MOXI_CLI_START && !have) {
        c->state = MOXI_CLI_LOGIN_USER;
        return MOX_SASL_CONTINUE;
    }
    if (c->state == MOXI_CLI_START || c->state == MOXI_CLI_LOGIN_USER) {
        int rc = mox_buf_append_str(&c->out, c->username);
        if (rc != MOX_OK)
            return rc;
        c->state = MOXI_CLI_LOGIN_PASS;
        return MOX_SASL_CONTINUE;
    }
    int rc = mox_buf_append(&c->out, c->password, c->password_len);
    if (rc != MOX_OK)
        return rc;
    return cli_done(c);
}

static int cli_cram(mox_sasl_client *c, const unsigned char *in, size_t len, int have)
{
    if (c->state == MOXI_CLI_START && !have) {
        c->state = MOXI_CLI_CRAM;
        return MOX_SASL_CONTINUE;
    }
    if (len == 0)
        return moxi_sasl_cli_fail(c, MOX_SASL_FAIL_MALFORMED, "empty CRAM-MD5 challenge");
    unsigned char inner[16], outer[16], mac[16];
    int rc = moxi_sasl_cram_state(c->password, c->password_len, inner, outer);
    if (rc == MOX_OK)
        rc = moxi_sasl_cram_hmac(inner, outer, in, len, mac);
    if (rc == MOX_OK)
        rc = mox_buf_appendf(&c->out, "%s ", c->username);
    if (rc == MOX_OK)
        rc = mox_hex_encode(mac, sizeof mac, &c->out);
    moxi_sasl_wipe(inner, sizeof inner);
    moxi_sasl_wipe(outer, sizeof outer);
    moxi_sasl_wipe(mac, sizeof mac);
    if (rc != MOX_OK)
        return rc;
    return cli_done(c);
}

static int cli_external(mox_sasl_client *c)
{
    if (c->authzid) {
        int rc = mox_buf_append_str(&c->out, c->authzid);
        if (rc != MOX_OK)
            return rc;
    }
    c->has_initial = 1;
    return cli_done(c);
}

int mox_sasl_client_step(mox_sasl_client *c, const void *in, size_t in_len,
                         const unsigned char **out, size_t *out_len)
{
    if (!c || !out || !out_len || (!in && in_len))
        return MOX_ERR_INVAL;
    *out = empty_out;
    *out_len = 0;
    if (c->state == MOXI_CLI_DONE)
        return MOX_ERR_STATE;
    mox_buf_reset(&c->out);
    int have = in != NULL;
    const unsigned char *p = in ? in : empty_out;
    int rc;
    if (in_len > c->cfg.max_input) {
        rc = moxi_sasl_cli_fail(c, MOX_SASL_FAIL_MALFORMED, "server message of %zu bytes",
                                in_len);
    } else {
        switch (c->mech) {
        case MOX_SASL_PLAIN: rc = cli_plain(c); break;
        case MOX_SASL_LOGIN: rc = cli_login(c, have); break;
        case MOX_SASL_CRAM_MD5: rc = cli_cram(c, p, in_len, have); break;
        case MOX_SASL_EXTERNAL: rc = cli_external(c); break;
        default: rc = moxi_sasl_cli_scram(c, p, in_len, have); break;
        }
    }
    if (rc < 0)
        mox_buf_reset(&c->out);
    *out = c->out.len ? c->out.data : empty_out;
    *out_len = c->out.len;
    return rc;
}

int mox_sasl_client_has_initial(const mox_sasl_client *c) { return c ? c->has_initial : 0; }

int mox_sasl_client_complete(const mox_sasl_client *c) { return c ? c->complete : 0; }

mox_sasl_failure mox_sasl_client_failure(const mox_sasl_client *c)
{
    return c ? c->failure : MOX_SASL_FAIL_NONE;
}

const char *mox_sasl_client_failure_text(const mox_sasl_client *c)
{
    return c && c->failure != MOX_SASL_FAIL_NONE ? c->failure_text : "";
}
