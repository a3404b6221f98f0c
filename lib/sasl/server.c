/* Server engine core and the PLAIN, LOGIN, CRAM-MD5 and EXTERNAL server
 * mechanisms. SCRAM is in server_scram.c. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sasl_priv.h"

#define DEFAULT_MAX_INPUT 8192

static const unsigned char empty_out[1] = {0};

int mox_sasl_server_new(mox_sasl_server **out, mox_sasl_mech mech,
                        const mox_sasl_server_config *cfg)
{
    if (!out || !cfg || cfg->size == 0)
        return MOX_ERR_INVAL;
    *out = NULL;
    if (mech == MOX_SASL_NONE || !mox_sasl_mech_name(mech))
        return MOX_ERR_UNSUPPORTED;
    mox_sasl_server_config c = MOX_SASL_SERVER_CONFIG_INIT;
    moxi_copy_sized(&c, cfg, sizeof c);
    if (!mox_sasl_server_mech_allowed(&c, mech))
        return MOX_ERR_PERM;
    /* The credentials interface is read up to the caller's `size` (a
     * caller built against another version has fewer or more members)
     * and kept as the engine's own copy. */
    mox_sasl_credentials cred = MOX_SASL_CREDENTIALS_INIT;
    if (c.creds) {
        size_t n = c.creds->size < sizeof cred ? c.creds->size : sizeof cred;
        if (n > sizeof cred.size)
            memcpy((char *)&cred + sizeof cred.size, (const char *)c.creds + sizeof cred.size,
                   n - sizeof cred.size);
    }
    if (mech != MOX_SASL_EXTERNAL) {
        int plain = mech == MOX_SASL_PLAIN || mech == MOX_SASL_LOGIN;
        if (!c.creds || !(cred.lookup || (plain && cred.verify_password)))
            return MOX_ERR_INVAL;
    }
    if (c.fixed_nonce && !moxi_sasl_scram_nonce_ok(c.fixed_nonce, strlen(c.fixed_nonce)))
        return MOX_ERR_INVAL;

    mox_sasl_server *s = mox_calloc(1, sizeof *s);
    if (!s)
        return MOX_ERR_NOMEM;
    s->mech = mech;
    s->cfg = c;
    s->cfg.creds = NULL;
    if (c.creds) {
        mox_sasl_credentials *cc = mox_malloc(sizeof *cc);
        if (!cc) {
            mox_sasl_server_free(s);
            return MOX_ERR_NOMEM;
        }
        *cc = cred;
        s->cfg.creds = cc;
    }
    mox_env z = MOX_ENV_INIT;
    s->env = z;
    if (c.env && c.env->size)
        moxi_copy_sized(&s->env, c.env, sizeof z);
    s->cfg.env = &s->env;
    mox_sasl_channel zc = MOX_SASL_CHANNEL_INIT;
    s->chan = zc;
    if (c.channel && c.channel->size) {
        moxi_copy_sized(&s->chan, c.channel, sizeof zc);
        s->have_chan = 1;
    }
    s->cfg.channel = &s->chan;
    if (!s->cfg.max_input)
        s->cfg.max_input = DEFAULT_MAX_INPUT;
    if (!s->cfg.unknown_user_iterations)
        s->cfg.unknown_user_iterations = MOX_SASL_DEFAULT_ITERATIONS;
    s->secrets.size = sizeof s->secrets;
    int rc = MOX_OK;
    s->hostname = moxi_strdup(c.hostname ? c.hostname : "localhost");
    if (!s->hostname)
        rc = MOX_ERR_NOMEM;
    s->cfg.fixed_nonce = NULL;
    if (rc == MOX_OK && c.fixed_nonce && !(s->fixed_nonce = moxi_strdup(c.fixed_nonce)))
        rc = MOX_ERR_NOMEM;
    if (rc == MOX_OK) {
        if (c.unknown_user_key && c.unknown_user_key_len) {
            s->uukey_len = c.unknown_user_key_len < sizeof s->uukey ? c.unknown_user_key_len
                                                                    : sizeof s->uukey;
            memcpy(s->uukey, c.unknown_user_key, s->uukey_len);
        } else {
            s->uukey_len = 32;
            rc = mox_random_fill(s->env.random, s->uukey, s->uukey_len);
        }
    }
    s->cfg.unknown_user_key = NULL;
    s->cfg.hostname = s->hostname;
    if (rc != MOX_OK) {
        mox_sasl_server_free(s);
        return rc;
    }
    *out = s;
    return MOX_OK;
}

void mox_sasl_server_free(mox_sasl_server *s)
{
    if (!s)
        return;
    moxi_sasl_buf_wipe_free(&s->in);
    moxi_sasl_buf_wipe_free(&s->out);
    moxi_sasl_buf_wipe_free(&s->scratch);
    mox_free(s->username);
    mox_free(s->authcid);
    mox_free(s->authzid);
    mox_free(s->authzid_req);
    mox_free(s->hostname);
    mox_free(s->fixed_nonce);
    mox_free((void *)s->cfg.creds); /* the engine's copy */
    moxi_sasl_wipe(s, sizeof *s);
    mox_free(s);
}

static const char *result_label(mox_sasl_failure f)
{
    switch (f) {
    case MOX_SASL_FAIL_NONE: return "ok";
    case MOX_SASL_FAIL_CREDENTIALS: return "badcreds";
    case MOX_SASL_FAIL_MALFORMED: return "malformed";
    case MOX_SASL_FAIL_ABORTED: return "aborted";
    case MOX_SASL_FAIL_UNKNOWN_USER: return "unknownuser";
    case MOX_SASL_FAIL_NO_SECRET: return "nosecret";
    case MOX_SASL_FAIL_CHANNEL_BINDING: return "channelbinding";
    case MOX_SASL_FAIL_AUTHZ: return "authz";
    case MOX_SASL_FAIL_TEMPORARY: return "temporary";
    default: return "error";
    }
}

static void finished(mox_sasl_server *s)
{
    mox_metric_label l[2] = {{"mech", mox_sasl_mech_name(s->mech)},
                             {"result", result_label(s->failure)}};
    mox_metric_count(s->env.metrics, "mox_sasl_server_auth_total", l, 2, 1);
    if (s->failure != MOX_SASL_FAIL_NONE)
        moxi_logf(&s->env, MOX_LOG_DEBUG, "sasl %s: %s: %s", mox_sasl_mech_name(s->mech),
                  mox_sasl_failure_name(s->failure), s->failure_text);
    mox_sasl_secrets_wipe(&s->secrets);
}

int moxi_sasl_srv_fail(mox_sasl_server *s, mox_sasl_failure f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->failure_text, sizeof s->failure_text, fmt, ap);
    va_end(ap);
    s->failure = f;
    s->state = MOXI_SRV_DONE;
    s->status = MOX_SASL_FAILURE;
    finished(s);
    return MOX_SASL_FAILURE;
}

int moxi_sasl_srv_succeed(mox_sasl_server *s, const char *authcid, const char *authzid)
{
    if (authzid && *authzid && strcmp(authzid, authcid) != 0) {
        const mox_sasl_credentials *cr = s->cfg.creds;
        if (!cr || !cr->authorize || cr->authorize(cr->ctx, authcid, authzid) != MOX_OK)
            return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_AUTHZ,
                                      "%s may not act as %s", authcid, authzid);
    }
    char *c = moxi_strdup(authcid);
    char *z = moxi_strdup(authzid && *authzid ? authzid : authcid);
    if (!c || !z) {
        mox_free(c);
        mox_free(z);
        return MOX_ERR_NOMEM;
    }
    mox_free(s->authcid);
    mox_free(s->authzid);
    s->authcid = c;
    s->authzid = z;
    s->state = MOXI_SRV_DONE;
    s->status = MOX_SASL_SUCCESS;
    finished(s);
    return MOX_SASL_SUCCESS;
}

int moxi_sasl_srv_lookup(mox_sasl_server *s, const char *user)
{
    mox_sasl_secrets_wipe(&s->secrets);
    s->secrets.size = sizeof s->secrets;
    const mox_sasl_credentials *cr = s->cfg.creds;
    if (!cr || !cr->lookup)
        return MOX_ERR_NOTFOUND;
    int rc = cr->lookup(cr->ctx, user, &s->secrets);
    s->secrets.size = sizeof s->secrets;
    if (rc > 0)
        rc = MOX_ERR_INVAL;
    if (rc != MOX_OK)
        mox_sasl_secrets_wipe(&s->secrets);
    return rc;
}

/* Replaces the claimed username (kept for logs and rate limiting). */
static int set_username(mox_sasl_server *s, const char *u)
{
    char *d = moxi_strdup(u);
    if (!d)
        return MOX_ERR_NOMEM;
    mox_free(s->username);
    s->username = d;
    return MOX_OK;
}

/* Work comparable to a real verification, so that an unknown user does not
 * answer faster than a known one. */
static void dummy_verify(mox_sasl_server *s, const char *pw, size_t len)
{
    mox_sasl_secrets f = MOX_SASL_SECRETS_INIT;
    f.scram_sha256.present = 1;
    f.scram_sha256.iterations = s->cfg.unknown_user_iterations;
    f.scram_sha256.salt_len = 16;
    memcpy(f.scram_sha256.salt, s->uukey, 16);
    (void)mox_sasl_verify_password(&f, pw, len);
}

/* PLAIN and LOGIN: check a plaintext password, then finish. */
static int verify_plain(mox_sasl_server *s, const char *user, const char *authzid,
                        const char *pw, size_t pwlen)
{
    const mox_sasl_credentials *cr = s->cfg.creds;
    int rc;
    if (cr->verify_password) {
        rc = cr->verify_password(cr->ctx, user, pw, pwlen);
        if (rc == MOX_ERR_NOTFOUND)
            return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_UNKNOWN_USER, "unknown user %s", user);
    } else {
        rc = moxi_sasl_srv_lookup(s, user);
        if (rc == MOX_ERR_NOTFOUND) {
            dummy_verify(s, pw, pwlen);
            return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_UNKNOWN_USER, "unknown user %s", user);
        }
        if (rc == MOX_OK) {
            rc = mox_sasl_verify_password(&s->secrets, pw, pwlen);
            mox_sasl_secrets_wipe(&s->secrets);
            if (rc == MOX_ERR_NOTFOUND) {
                dummy_verify(s, pw, pwlen);
                return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_NO_SECRET,
                                          "no secret stored for %s", user);
            }
            if (rc == MOX_ERR_NOMEM)
                return rc;
        }
    }
    if (rc == MOX_ERR_AGAIN)
        return MOX_SASL_PENDING;
    if (rc == MOX_ERR_PERM)
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_CREDENTIALS, "wrong password for %s", user);
    if (rc != MOX_OK)
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_TEMPORARY, "credentials for %s: %s", user,
                                  mox_strerror(rc));
    return moxi_sasl_srv_succeed(s, user, authzid);
}

/* RFC 4616: [authzid] NUL authcid NUL passwd, exactly two NULs. */
static int plain_msg(mox_sasl_server *s, const unsigned char *in, size_t len)
{
    const unsigned char *n1 = memchr(in, 0, len);
    const unsigned char *n2 = n1 ? memchr(n1 + 1, 0, len - (size_t)(n1 + 1 - in)) : NULL;
    if (!n1 || !n2)
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "PLAIN message needs two NULs");
    const char *z = (const char *)in, *c = (const char *)n1 + 1, *p = (const char *)n2 + 1;
    size_t zl = (size_t)(n1 - in), cl = (size_t)(n2 - n1 - 1), pl = len - (size_t)(p - z);
    if (memchr(p, 0, pl))
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "NUL inside PLAIN password");
    if (cl == 0 || pl == 0)
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "empty PLAIN %s",
                                  cl == 0 ? "username" : "password");
    char *user = NULL, *authz = NULL;
    int rc = moxi_sasl_prepare_username(c, cl, &user);
    if (rc == MOX_OK && zl)
        rc = moxi_sasl_prepare_username(z, zl, &authz);
    if (rc == MOX_OK)
        rc = set_username(s, user);
    if (rc == MOX_OK)
        rc = verify_plain(s, user, authz ? authz : "", p, pl);
    else if (rc != MOX_ERR_NOMEM)
        rc = moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "PLAIN identity not valid UTF-8");
    mox_free(user);
    mox_free(authz);
    return rc;
}

static int srv_plain(mox_sasl_server *s, const unsigned char *in, size_t len, int have)
{
    if (!have) {
        if (s->state != MOXI_SRV_START)
            return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "missing response");
        s->state = MOXI_SRV_PLAIN_RESP;
        return MOX_SASL_CONTINUE;
    }
    return plain_msg(s, in, len);
}

static int srv_login(mox_sasl_server *s, const unsigned char *in, size_t len, int have)
{
    if (s->state == MOXI_SRV_START && !have) {
        int rc = mox_buf_append_str(&s->out, "Username:");
        if (rc == MOX_OK)
            s->state = MOXI_SRV_LOGIN_USER;
        return rc == MOX_OK ? MOX_SASL_CONTINUE : rc;
    }
    if (!have)
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "missing response");
    if (s->state == MOXI_SRV_START || s->state == MOXI_SRV_LOGIN_USER) {
        /* An initial response carries the username (a common extension). */
        char *user = NULL;
        int rc = moxi_sasl_prepare_username((const char *)in, len, &user);
        if (rc == MOX_ERR_NOMEM)
            return rc;
        if (rc != MOX_OK)
            return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED,
                                      "LOGIN username empty, with NUL or not UTF-8");
        mox_buf_reset(&s->scratch);
        rc = mox_buf_append_str(&s->scratch, user);
        if (rc == MOX_OK)
            rc = set_username(s, user);
        if (rc == MOX_OK)
            rc = mox_buf_append_str(&s->out, "Password:");
        mox_free(user);
        if (rc != MOX_OK)
            return rc;
        s->state = MOXI_SRV_LOGIN_PASS;
        return MOX_SASL_CONTINUE;
    }
    if (len == 0 || memchr(in, 0, len))
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "LOGIN password empty or with NUL");
    return verify_plain(s, (const char *)s->scratch.data, "", (const char *)in, len);
}

static int srv_cram(mox_sasl_server *s, const unsigned char *in, size_t len, int have)
{
    if (s->state == MOXI_SRV_START) {
        if (have)
            return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED,
                                      "CRAM-MD5 takes no initial response");
        uint64_t r;
        int rc = mox_random_fill(s->env.random, &r, sizeof r);
        if (rc != MOX_OK)
            return rc;
        long long now = (long long)(mox_clock_wall_ns(s->env.clock) / 1000000000);
        mox_buf_reset(&s->scratch);
        rc = mox_buf_appendf(&s->scratch, "<%llu.%lld@%s>", (unsigned long long)r, now,
                             s->hostname);
        if (rc == MOX_OK)
            rc = mox_buf_append(&s->out, s->scratch.data, s->scratch.len);
        if (rc != MOX_OK)
            return rc;
        s->state = MOXI_SRV_CRAM_RESP;
        return MOX_SASL_CONTINUE;
    }
    if (!have)
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "missing response");
    /* "user SP digest": the digest is the last word; names may hold spaces. */
    size_t sp = len;
    while (sp > 0 && in[sp - 1] != ' ')
        sp--;
    if (sp == 0 || len - sp != 32 || sp < 2)
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "CRAM-MD5 response syntax");
    mox_buf dig = MOX_BUF_INIT;
    int hr = mox_hex_decode((const char *)in + sp, 32, &dig, NULL);
    if (hr != MOX_OK) {
        mox_buf_free(&dig);
        if (hr == MOX_ERR_NOMEM)
            return hr;
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "CRAM-MD5 digest not hex");
    }
    char *user = NULL;
    int rc = moxi_sasl_prepare_username((const char *)in, sp - 1, &user);
    if (rc == MOX_OK)
        rc = set_username(s, user);
    if (rc == MOX_OK) {
        rc = moxi_sasl_srv_lookup(s, user);
        if (rc == MOX_ERR_AGAIN) {
            rc = MOX_SASL_PENDING;
        } else if (rc == MOX_ERR_NOTFOUND) {
            rc = moxi_sasl_srv_fail(s, MOX_SASL_FAIL_UNKNOWN_USER, "unknown user %s", user);
        } else if (rc != MOX_OK) {
            rc = moxi_sasl_srv_fail(s, MOX_SASL_FAIL_TEMPORARY, "credentials for %s: %s", user,
                                    mox_strerror(rc));
        } else if (!s->secrets.cram_md5_present) {
            rc = moxi_sasl_srv_fail(s, MOX_SASL_FAIL_NO_SECRET, "no CRAM-MD5 secret for %s",
                                    user);
        } else {
            unsigned char mac[16];
            rc = moxi_sasl_cram_hmac(s->secrets.cram_md5_inner, s->secrets.cram_md5_outer,
                                     s->scratch.data, s->scratch.len, mac);
            if (rc == MOX_OK && moxi_sasl_ct_equal(mac, dig.data, 16))
                rc = moxi_sasl_srv_succeed(s, user, "");
            else if (rc == MOX_OK)
                rc = moxi_sasl_srv_fail(s, MOX_SASL_FAIL_CREDENTIALS, "wrong digest for %s",
                                        user);
            moxi_sasl_wipe(mac, sizeof mac);
        }
    } else if (rc != MOX_ERR_NOMEM) {
        rc = moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "CRAM-MD5 username not UTF-8");
    }
    mox_free(user);
    mox_buf_free(&dig);
    return rc;
}

static int srv_external(mox_sasl_server *s, const unsigned char *in, size_t len, int have)
{
    if (!have) {
        if (s->state != MOXI_SRV_START)
            return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "missing response");
        s->state = MOXI_SRV_PLAIN_RESP;
        return MOX_SASL_CONTINUE;
    }
    const char *id = s->chan.external_identity;
    if (!id || !*id)
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_CREDENTIALS, "no client certificate identity");
    char *authz = NULL;
    if (len) {
        int rc = moxi_sasl_prepare_username((const char *)in, len, &authz);
        if (rc == MOX_ERR_NOMEM)
            return rc;
        if (rc != MOX_OK)
            return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED,
                                      "EXTERNAL authorization identity not UTF-8");
    }
    int rc = set_username(s, id);
    if (rc == MOX_OK)
        rc = moxi_sasl_srv_succeed(s, id, authz ? authz : "");
    mox_free(authz);
    return rc;
}

static int run_step(mox_sasl_server *s, const unsigned char **out, size_t *out_len)
{
    const unsigned char *in = s->have_in ? s->in.data : NULL;
    size_t len = s->in.len;
    int rc;
    if (in == NULL && s->have_in)
        in = empty_out;
    mox_buf_reset(&s->out);
    switch (s->mech) {
    case MOX_SASL_PLAIN: rc = srv_plain(s, in, len, s->have_in); break;
    case MOX_SASL_LOGIN: rc = srv_login(s, in, len, s->have_in); break;
    case MOX_SASL_CRAM_MD5: rc = srv_cram(s, in, len, s->have_in); break;
    case MOX_SASL_EXTERNAL: rc = srv_external(s, in, len, s->have_in); break;
    default: rc = moxi_sasl_srv_scram(s, in, len, s->have_in); break;
    }
    s->pending = rc == MOX_SASL_PENDING;
    if (!s->pending) {
        /* The input may be a password. */
        if (s->in.data)
            moxi_sasl_wipe(s->in.data, s->in.cap);
        s->in.len = 0;
    }
    if (rc < 0)
        mox_buf_reset(&s->out);
    *out = s->out.len ? s->out.data : empty_out;
    *out_len = s->out.len;
    return rc;
}

int mox_sasl_server_step(mox_sasl_server *s, const void *in, size_t in_len,
                         const unsigned char **out, size_t *out_len)
{
    if (!s || !out || !out_len || (!in && in_len))
        return MOX_ERR_INVAL;
    *out = empty_out;
    *out_len = 0;
    if (s->state == MOXI_SRV_DONE || s->pending)
        return MOX_ERR_STATE;
    mox_buf_reset(&s->out);
    if (in_len > s->cfg.max_input)
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "message of %zu bytes exceeds %zu",
                                  in_len, s->cfg.max_input);
    s->in.len = 0;
    if (in_len && mox_buf_append(&s->in, in, in_len) != MOX_OK)
        return MOX_ERR_NOMEM;
    s->have_in = in != NULL;
    return run_step(s, out, out_len);
}

int mox_sasl_server_resume(mox_sasl_server *s, const unsigned char **out, size_t *out_len)
{
    if (!s || !out || !out_len)
        return MOX_ERR_INVAL;
    *out = empty_out;
    *out_len = 0;
    if (!s->pending)
        return MOX_ERR_STATE;
    s->pending = 0;
    return run_step(s, out, out_len);
}

int mox_sasl_server_abort(mox_sasl_server *s)
{
    if (!s)
        return MOX_ERR_INVAL;
    if (s->state == MOXI_SRV_DONE)
        return MOX_ERR_STATE;
    s->pending = 0;
    mox_buf_reset(&s->out);
    return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_ABORTED, "client aborted");
}

const char *mox_sasl_server_authcid(const mox_sasl_server *s)
{
    return s && s->status == MOX_SASL_SUCCESS ? s->authcid : NULL;
}

const char *mox_sasl_server_authzid(const mox_sasl_server *s)
{
    return s && s->status == MOX_SASL_SUCCESS ? s->authzid : NULL;
}

mox_sasl_failure mox_sasl_server_failure(const mox_sasl_server *s)
{
    return s ? s->failure : MOX_SASL_FAIL_NONE;
}

const char *mox_sasl_server_failure_text(const mox_sasl_server *s)
{
    return s && s->failure != MOX_SASL_FAIL_NONE ? s->failure_text : "";
}

const char *mox_sasl_server_username(const mox_sasl_server *s)
{
    return s ? s->username : NULL;
}

mox_sasl_mech mox_sasl_server_mech(const mox_sasl_server *s)
{
    return s ? s->mech : MOX_SASL_NONE;
}
