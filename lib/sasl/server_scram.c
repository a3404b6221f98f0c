/* SCRAM-SHA-1, SCRAM-SHA-256 and -PLUS, server side (RFC 5802, RFC 7677,
 * RFC 9266 for tls-exporter). */
#include <string.h>

#include "sasl_priv.h"

#define MAX_ATTRS 32

/* The server-final "e=" value (RFC 5802 §7 server-error-value). */
static void set_err(mox_sasl_server *s, const char *e)
{
    mox_buf_reset(&s->out);
    if (mox_buf_append_str(&s->out, "e=") != MOX_OK || mox_buf_append_str(&s->out, e) != MOX_OK)
        mox_buf_reset(&s->out);
}

/* 1 if this connection offers any -PLUS mechanism: then a client saying
 * "y" (I could bind, but you don't offer it) was downgraded. */
static int server_offers_plus(const mox_sasl_server *s)
{
    return mox_sasl_server_mech_allowed(&s->cfg, MOX_SASL_SCRAM_SHA_256_PLUS) ||
           mox_sasl_server_mech_allowed(&s->cfg, MOX_SASL_SCRAM_SHA_1_PLUS);
}

/* Salt for an unknown user (or one without this secret): stable per user
 * and server key, so repeated attempts see the same value. */
static int fake_secret(mox_sasl_server *s, const char *user, mox_sasl_scram_secret *sc)
{
    unsigned char mac[32];
    mox_buf m = MOX_BUF_INIT;
    int rc = mox_buf_append(&m, "mox-sasl-fake-salt", 19);
    if (rc == MOX_OK)
        rc = mox_buf_append_str(&m, user);
    if (rc == MOX_OK)
        rc = moxi_sasl_hmac(MOXI_SHA256, s->uukey, s->uukey_len, m.data, m.len, mac);
    mox_buf_free(&m);
    if (rc != MOX_OK)
        return rc;
    memset(sc, 0, sizeof *sc);
    memcpy(sc->salt, mac, 16);
    sc->salt_len = 16;
    sc->iterations = s->cfg.unknown_user_iterations;
    sc->present = 1;
    moxi_sasl_wipe(mac, sizeof mac);
    return MOX_OK;
}

static mox_sasl_scram_secret *secret_for(mox_sasl_server *s)
{
    return moxi_sasl_scram_hash(s->mech) == MOXI_SHA1 ? &s->secrets.scram_sha1
                                                      : &s->secrets.scram_sha256;
}

static int client_first(mox_sasl_server *s, const char *in, size_t len)
{
    size_t i = 0;
    int plus = moxi_sasl_is_plus(s->mech);
    s->scram_cb = MOX_SASL_CB_NONE;
    s->cbdata_len = 0;
    s->scram_deferred = MOX_SASL_FAIL_NONE;
    /* gs2-header */
    if (len >= 2 && (in[0] == 'n' || in[0] == 'y') && in[1] == ',') {
        if (plus) {
            set_err(s, "channel-binding-not-supported");
            return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_CHANNEL_BINDING,
                                      "-PLUS mechanism without channel binding (flag %c)", in[0]);
        }
        if (in[0] == 'y' && server_offers_plus(s)) {
            set_err(s, "server-does-support-channel-binding");
            return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_CHANNEL_BINDING,
                                      "client says the server offers no channel binding, "
                                      "but it does: downgrade");
        }
        i = 2;
    } else if (len >= 2 && in[0] == 'p' && in[1] == '=') {
        size_t st = 2;
        i = st;
        while (i < len && in[i] != ',')
            i++;
        if (i == len) {
            set_err(s, "other-error");
            return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "unterminated gs2 header");
        }
        if (!plus) {
            set_err(s, "server-does-not-support-channel-binding");
            return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_CHANNEL_BINDING,
                                      "channel binding with a non-PLUS mechanism");
        }
        size_t nl = i - st;
        if (nl == 10 && !memcmp(in + st, "tls-unique", 10))
            s->scram_cb = MOX_SASL_CB_TLS_UNIQUE;
        else if (nl == 12 && !memcmp(in + st, "tls-exporter", 12))
            s->scram_cb = MOX_SASL_CB_TLS_EXPORTER;
        int rc = MOX_ERR_UNSUPPORTED;
        if (s->scram_cb != MOX_SASL_CB_NONE && (s->chan.cb_types & MOX_SASL_CB_BIT(s->scram_cb)) &&
            s->chan.binding) {
            size_t n = sizeof s->cbdata;
            rc = s->chan.binding(s->chan.ctx, s->scram_cb, s->cbdata, &n);
            if (rc == MOX_OK && (n == 0 || n > sizeof s->cbdata))
                rc = MOX_ERR_UNSUPPORTED;
            s->cbdata_len = rc == MOX_OK ? n : 0;
        }
        if (rc != MOX_OK) {
            set_err(s, "unsupported-channel-binding-type");
            return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_CHANNEL_BINDING,
                                      "channel binding type \"%.*s\" not available",
                                      (int)(nl > 40 ? 40 : nl), in + st);
        }
        i++;
    } else {
        set_err(s, "other-error");
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "bad gs2 channel-binding flag");
    }
    const char *az = NULL;
    size_t azl = 0;
    if (i + 1 < len && in[i] == 'a' && in[i + 1] == '=') {
        az = in + i + 2;
        while (i < len && in[i] != ',')
            i++;
        azl = (size_t)(in + i - az);
    }
    if (i >= len || in[i] != ',') {
        set_err(s, "other-error");
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "bad gs2 header");
    }
    i++;
    size_t gs2_len = i;

    /* client-first-message-bare */
    moxi_scram_attr a[MAX_ATTRS];
    int n = moxi_sasl_scram_split(in + i, len - i, a, MAX_ATTRS);
    if (n >= 1 && a[0].name == 'm') {
        set_err(s, "extensions-not-supported");
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "mandatory extension m=");
    }
    if (n < 2 || a[0].name != 'n' || a[1].name != 'r') {
        set_err(s, "other-error");
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "client-first needs n= and r=");
    }
    if (!moxi_sasl_scram_nonce_ok(a[1].val, a[1].len)) {
        set_err(s, "other-error");
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "bad client nonce");
    }
    char *user = NULL, *authz = NULL;
    int rc = moxi_sasl_saslname_decode(a[0].val, a[0].len, &user);
    if (rc == MOX_OK && az)
        rc = moxi_sasl_saslname_decode(az, azl, &authz);
    if (rc != MOX_OK) {
        mox_free(user);
        if (rc == MOX_ERR_NOMEM)
            return rc;
        set_err(s, "invalid-username-encoding");
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "bad username or authzid encoding");
    }
    char *d = moxi_strdup(user);
    if (!d) {
        rc = MOX_ERR_NOMEM;
        goto out;
    }
    mox_free(s->username);
    s->username = d;
    mox_free(s->authzid_req);
    s->authzid_req = authz;
    authz = NULL;

    rc = moxi_sasl_srv_lookup(s, user);
    if (rc == MOX_ERR_AGAIN) {
        rc = MOX_SASL_PENDING;
        goto out;
    }
    mox_sasl_scram_secret *sc = secret_for(s);
    if (rc == MOX_ERR_NOTFOUND || (rc == MOX_OK && !moxi_sasl_scram_usable(sc))) {
        /* Carry on with a stable fake salt and fail at client-final, exactly
         * as a wrong password would. */
        s->scram_deferred = rc == MOX_OK ? MOX_SASL_FAIL_NO_SECRET : MOX_SASL_FAIL_UNKNOWN_USER;
        rc = fake_secret(s, user, sc);
        if (rc != MOX_OK)
            goto out;
    } else if (rc != MOX_OK) {
        set_err(s, "other-error");
        rc = moxi_sasl_srv_fail(s, MOX_SASL_FAIL_TEMPORARY, "credentials for %s: %s", user,
                                mox_strerror(rc));
        goto out;
    }

    mox_buf_reset(&s->scratch);
    rc = mox_buf_append(&s->scratch, in, len);
    s->scram_gs2_len = gs2_len;
    s->scram_first_bare_off = gs2_len;
    s->scram_first_bare_len = len - gs2_len;
    s->scram_sfirst_off = len;
    if (rc == MOX_OK)
        rc = mox_buf_append(&s->scratch, "r=", 2);
    if (rc == MOX_OK)
        rc = mox_buf_append(&s->scratch, a[1].val, a[1].len);
    if (rc == MOX_OK)
        rc = s->fixed_nonce ? mox_buf_append_str(&s->scratch, s->fixed_nonce)
                            : moxi_sasl_nonce(&s->env, &s->scratch);
    if (rc == MOX_OK)
        s->scram_nonce_len = s->scratch.len - s->scram_sfirst_off - 2;
    if (rc == MOX_OK)
        rc = mox_buf_append(&s->scratch, ",s=", 3);
    if (rc == MOX_OK)
        rc = mox_base64_encode(sc->salt, sc->salt_len, &s->scratch);
    if (rc == MOX_OK)
        rc = mox_buf_appendf(&s->scratch, ",i=%lu", (unsigned long)sc->iterations);
    if (rc == MOX_OK) {
        s->scram_sfirst_len = s->scratch.len - s->scram_sfirst_off;
        rc = mox_buf_append(&s->out, s->scratch.data + s->scram_sfirst_off,
                            s->scram_sfirst_len);
    }
    if (rc == MOX_OK) {
        s->state = MOXI_SRV_SCRAM_FINAL;
        rc = MOX_SASL_CONTINUE;
    }
out:
    mox_free(user);
    mox_free(authz);
    return rc;
}

static int client_final(mox_sasl_server *s, const char *in, size_t len)
{
    moxi_scram_attr a[MAX_ATTRS];
    int n = moxi_sasl_scram_split(in, len, a, MAX_ATTRS);
    if (n < 3 || a[0].name != 'c' || a[1].name != 'r' || a[n - 1].name != 'p') {
        set_err(s, "other-error");
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "client-final needs c=, r=, p=");
    }
    for (int k = 2; k < n - 1; k++) {
        if (a[k].name == 'm') {
            set_err(s, "extensions-not-supported");
            return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "mandatory extension m=");
        }
    }
    moxi_sasl_hash h = moxi_sasl_scram_hash(s->mech);
    size_t hl = moxi_sasl_hash_len(h);
    mox_buf cb = MOX_BUF_INIT, proof = MOX_BUF_INIT, am = MOX_BUF_INIT;
    int rc = mox_base64_decode(a[0].val, a[0].len, 0, &cb, NULL);
    if (rc == MOX_ERR_NOMEM)
        goto out;
    if (rc != MOX_OK) {
        set_err(s, "invalid-encoding");
        rc = moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "c= is not base64");
        goto out;
    }
    const unsigned char *gs2 = s->scratch.data;
    size_t gl = s->scram_gs2_len;
    if (cb.len != gl + s->cbdata_len || memcmp(cb.data, gs2, gl) != 0 ||
        !moxi_sasl_ct_equal(cb.data + gl, s->cbdata, s->cbdata_len)) {
        set_err(s, "channel-bindings-dont-match");
        rc = moxi_sasl_srv_fail(s, MOX_SASL_FAIL_CHANNEL_BINDING,
                                "c= does not match the gs2 header and channel binding");
        goto out;
    }
    const unsigned char *nonce = s->scratch.data + s->scram_sfirst_off + 2;
    if (a[1].len != s->scram_nonce_len || memcmp(a[1].val, nonce, a[1].len) != 0) {
        set_err(s, "other-error");
        rc = moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "nonce mismatch");
        goto out;
    }
    rc = mox_base64_decode(a[n - 1].val, a[n - 1].len, 0, &proof, NULL);
    if (rc == MOX_ERR_NOMEM)
        goto out;
    if (rc != MOX_OK || proof.len != hl) {
        set_err(s, "invalid-encoding");
        rc = moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "bad proof encoding");
        goto out;
    }
    /* AuthMessage = client-first-bare "," server-first "," client-final-without-proof */
    size_t without_proof = (size_t)(a[n - 1].val - 3 - in);
    rc = mox_buf_append(&am, s->scratch.data + s->scram_first_bare_off, s->scram_first_bare_len);
    if (rc == MOX_OK)
        rc = mox_buf_append_byte(&am, ',');
    if (rc == MOX_OK)
        rc = mox_buf_append(&am, s->scratch.data + s->scram_sfirst_off, s->scram_sfirst_len);
    if (rc == MOX_OK)
        rc = mox_buf_append_byte(&am, ',');
    if (rc == MOX_OK)
        rc = mox_buf_append(&am, in, without_proof);
    if (rc != MOX_OK)
        goto out;

    const mox_sasl_scram_secret *sc = secret_for(s);
    unsigned char sig[MOXI_HASH_MAX], key[MOXI_HASH_MAX], stored[MOXI_HASH_MAX];
    rc = moxi_sasl_hmac(h, sc->stored_key, hl, am.data, am.len, sig);
    for (size_t k = 0; k < hl; k++)
        key[k] = proof.data[k] ^ sig[k];
    if (rc == MOX_OK)
        rc = moxi_sasl_digest(h, key, hl, stored);
    int ok = rc == MOX_OK && moxi_sasl_ct_equal(stored, sc->stored_key, hl);
    if (rc == MOX_OK && ok && s->scram_deferred == MOX_SASL_FAIL_NONE)
        rc = moxi_sasl_hmac(h, sc->server_key, hl, am.data, am.len, sig);
    moxi_sasl_wipe(key, sizeof key);
    moxi_sasl_wipe(stored, sizeof stored);
    if (rc != MOX_OK) {
        moxi_sasl_wipe(sig, sizeof sig);
        goto out;
    }
    if (s->scram_deferred != MOX_SASL_FAIL_NONE || !ok) {
        set_err(s, "invalid-proof");
        mox_sasl_failure f = s->scram_deferred != MOX_SASL_FAIL_NONE ? s->scram_deferred
                                                                     : MOX_SASL_FAIL_CREDENTIALS;
        rc = moxi_sasl_srv_fail(s, f, "%s for %s", mox_sasl_failure_name(f), s->username);
        moxi_sasl_wipe(sig, sizeof sig);
        goto out;
    }
    rc = mox_buf_append(&s->out, "v=", 2);
    if (rc == MOX_OK)
        rc = mox_base64_encode(sig, hl, &s->out);
    moxi_sasl_wipe(sig, sizeof sig);
    if (rc != MOX_OK)
        goto out;
    rc = moxi_sasl_srv_succeed(s, s->username, s->authzid_req ? s->authzid_req : "");
    if (rc == MOX_SASL_FAILURE)
        set_err(s, "other-error");
out:
    mox_buf_free(&cb);
    moxi_sasl_buf_wipe_free(&proof);
    mox_buf_free(&am);
    return rc;
}

int moxi_sasl_srv_scram(mox_sasl_server *s, const unsigned char *in, size_t len, int have)
{
    if (s->state == MOXI_SRV_START && !have) {
        s->state = MOXI_SRV_PLAIN_RESP;
        return MOX_SASL_CONTINUE;
    }
    if (!have) {
        set_err(s, "other-error");
        return moxi_sasl_srv_fail(s, MOX_SASL_FAIL_MALFORMED, "missing response");
    }
    if (s->state == MOXI_SRV_START || s->state == MOXI_SRV_PLAIN_RESP)
        return client_first(s, (const char *)in, len);
    return client_final(s, (const char *)in, len);
}
