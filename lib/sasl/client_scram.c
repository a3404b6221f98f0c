/* SCRAM-SHA-1, SCRAM-SHA-256 and -PLUS, client side. */
#include <string.h>

#include "sasl_priv.h"

#define MAX_ATTRS 32

static int client_first(mox_sasl_client *c)
{
    int rc = MOX_OK;
    mox_buf *g = &c->scram_gs2;
    mox_buf_reset(g);
    if (moxi_sasl_is_plus(c->mech)) {
        size_t n = sizeof c->cbdata;
        int br = c->chan.binding ? c->chan.binding(c->chan.ctx, c->scram_cb, c->cbdata, &n)
                                 : MOX_ERR_UNSUPPORTED;
        if (br != MOX_OK || n == 0 || n > sizeof c->cbdata)
            return moxi_sasl_cli_fail(c, MOX_SASL_FAIL_CHANNEL_BINDING,
                                      "transport has no %s binding data",
                                      moxi_sasl_cb_name(c->scram_cb));
        c->cbdata_len = n;
        rc = mox_buf_appendf(g, "p=%s,", moxi_sasl_cb_name(c->scram_cb));
    } else {
        /* "y": we could bind but the server did not offer -PLUS; a server
         * that does offer it will see the downgrade. */
        int could = c->chan.tls && c->chan.binding &&
                    (c->chan.cb_types & (MOX_SASL_CB_BIT(MOX_SASL_CB_TLS_UNIQUE) |
                                         MOX_SASL_CB_BIT(MOX_SASL_CB_TLS_EXPORTER)));
        rc = mox_buf_append_str(g, could ? "y," : "n,");
    }
    if (rc == MOX_OK && c->authzid) {
        rc = mox_buf_append_str(g, "a=");
        if (rc == MOX_OK)
            rc = moxi_sasl_saslname_encode(c->authzid, g);
    }
    if (rc == MOX_OK)
        rc = mox_buf_append_byte(g, ',');
    mox_buf *m = &c->scram_msgs;
    mox_buf_reset(m);
    if (rc == MOX_OK)
        rc = mox_buf_append_str(m, "n=");
    if (rc == MOX_OK)
        rc = moxi_sasl_saslname_encode(c->username, m);
    if (rc == MOX_OK)
        rc = mox_buf_append_str(m, ",r=");
    size_t before = m->len;
    if (rc == MOX_OK)
        rc = c->fixed_nonce ? mox_buf_append_str(m, c->fixed_nonce) : moxi_sasl_nonce(&c->env, m);
    c->nonce_len = m->len - before;
    if (rc == MOX_OK)
        rc = mox_buf_append(&c->out, g->data, g->len);
    if (rc == MOX_OK)
        rc = mox_buf_append(&c->out, m->data, m->len);
    if (rc != MOX_OK)
        return rc;
    c->has_initial = 1;
    c->state = MOXI_CLI_SCRAM_FIRST;
    return MOX_SASL_CONTINUE;
}

static int server_first(mox_sasl_client *c, const char *in, size_t len)
{
    moxi_scram_attr a[MAX_ATTRS];
    int n = moxi_sasl_scram_split(in, len, a, MAX_ATTRS);
    if (n >= 1 && a[0].name == 'e')
        return moxi_sasl_cli_fail(c, MOX_SASL_FAIL_SERVER_ERROR, "server error: %.*s",
                                  (int)(a[0].len > 60 ? 60 : a[0].len), a[0].val);
    if (n >= 1 && a[0].name == 'm')
        return moxi_sasl_cli_fail(c, MOX_SASL_FAIL_MALFORMED, "server requires extension m=");
    if (n < 3 || a[0].name != 'r' || a[1].name != 's' || a[2].name != 'i')
        return moxi_sasl_cli_fail(c, MOX_SASL_FAIL_MALFORMED, "server-first needs r=, s=, i=");
    const char *cn = (const char *)c->scram_msgs.data + c->scram_msgs.len - c->nonce_len;
    if (a[0].len <= c->nonce_len || memcmp(a[0].val, cn, c->nonce_len) != 0 ||
        !moxi_sasl_scram_nonce_ok(a[0].val, a[0].len))
        return moxi_sasl_cli_fail(c, MOX_SASL_FAIL_MALFORMED,
                                  "server nonce does not extend ours");
    uint32_t iter;
    if (!moxi_sasl_parse_u32(a[2].val, a[2].len, &iter))
        return moxi_sasl_cli_fail(c, MOX_SASL_FAIL_MALFORMED, "bad iteration count");
    if (iter < c->cfg.min_iterations || iter > c->cfg.max_iterations)
        return moxi_sasl_cli_fail(c, MOX_SASL_FAIL_POLICY,
                                  "iteration count %lu outside %lu..%lu", (unsigned long)iter,
                                  (unsigned long)c->cfg.min_iterations,
                                  (unsigned long)c->cfg.max_iterations);
    mox_buf salt = MOX_BUF_INIT, cbin = MOX_BUF_INIT;
    int rc = MOX_OK;
    rc = mox_base64_decode(a[1].val, a[1].len, 0, &salt, NULL);
    if (rc != MOX_OK || salt.len == 0) {
        mox_buf_free(&salt);
        return rc == MOX_ERR_NOMEM ? rc : moxi_sasl_cli_fail(c, MOX_SASL_FAIL_MALFORMED, "bad salt");
    }
    moxi_sasl_hash h = moxi_sasl_scram_hash(c->mech);
    size_t hl = moxi_sasl_hash_len(h);
    unsigned char salted[MOXI_HASH_MAX], ck[MOXI_HASH_MAX], stored[MOXI_HASH_MAX],
        sk[MOXI_HASH_MAX], sig[MOXI_HASH_MAX];
    rc = moxi_sasl_pbkdf2(h, c->password, c->password_len, salt.data, salt.len, iter, salted);
    if (rc == MOX_OK)
        rc = moxi_sasl_scram_keys(h, salted, ck, stored, sk);

    /* AuthMessage in scram_msgs: client-first-bare "," server-first ","
     * client-final-without-proof; the output starts as the latter. */
    mox_buf *m = &c->scram_msgs;
    if (rc == MOX_OK)
        rc = mox_buf_append(&cbin, c->scram_gs2.data, c->scram_gs2.len);
    if (rc == MOX_OK)
        rc = mox_buf_append(&cbin, c->cbdata, c->cbdata_len);
    if (rc == MOX_OK)
        rc = mox_buf_append_str(&c->out, "c=");
    if (rc == MOX_OK)
        rc = mox_base64_encode(cbin.data, cbin.len, &c->out);
    if (rc == MOX_OK)
        rc = mox_buf_append_str(&c->out, ",r=");
    if (rc == MOX_OK)
        rc = mox_buf_append(&c->out, a[0].val, a[0].len);
    if (rc == MOX_OK)
        rc = mox_buf_append_byte(m, ',');
    if (rc == MOX_OK)
        rc = mox_buf_append(m, in, len);
    if (rc == MOX_OK)
        rc = mox_buf_append_byte(m, ',');
    if (rc == MOX_OK)
        rc = mox_buf_append(m, c->out.data, c->out.len);
    if (rc == MOX_OK)
        rc = moxi_sasl_hmac(h, stored, hl, m->data, m->len, sig);
    if (rc == MOX_OK) {
        for (size_t k = 0; k < hl; k++)
            ck[k] ^= sig[k];
        rc = mox_buf_append_str(&c->out, ",p=");
    }
    if (rc == MOX_OK)
        rc = mox_base64_encode(ck, hl, &c->out);
    if (rc == MOX_OK)
        rc = moxi_sasl_hmac(h, sk, hl, m->data, m->len, c->server_sig);
    moxi_sasl_wipe(salted, sizeof salted);
    moxi_sasl_wipe(ck, sizeof ck);
    moxi_sasl_wipe(stored, sizeof stored);
    moxi_sasl_wipe(sk, sizeof sk);
    moxi_sasl_wipe(sig, sizeof sig);
    mox_buf_free(&salt);
    mox_buf_free(&cbin);
    if (rc != MOX_OK)
        return rc;
    c->state = MOXI_CLI_SCRAM_FINAL;
    return MOX_SASL_CONTINUE;
}

static int server_final(mox_sasl_client *c, const char *in, size_t len)
{
    moxi_scram_attr a[MAX_ATTRS];
    int n = moxi_sasl_scram_split(in, len, a, MAX_ATTRS);
    if (n >= 1 && a[0].name == 'e')
        return moxi_sasl_cli_fail(c, MOX_SASL_FAIL_SERVER_ERROR, "server error: %.*s",
                                  (int)(a[0].len > 60 ? 60 : a[0].len), a[0].val);
    if (n < 1 || a[0].name != 'v')
        return moxi_sasl_cli_fail(c, MOX_SASL_FAIL_MALFORMED, "server-final needs v= or e=");
    size_t hl = moxi_sasl_hash_len(moxi_sasl_scram_hash(c->mech));
    mox_buf v = MOX_BUF_INIT;
    int rc = mox_base64_decode(a[0].val, a[0].len, 0, &v, NULL);
    if (rc == MOX_ERR_NOMEM) {
        mox_buf_free(&v);
        return rc;
    }
    if (rc != MOX_OK || v.len != hl)
        rc = moxi_sasl_cli_fail(c, MOX_SASL_FAIL_MALFORMED, "bad server signature encoding");
    else if (!moxi_sasl_ct_equal(v.data, c->server_sig, hl))
        rc = moxi_sasl_cli_fail(c, MOX_SASL_FAIL_SERVER_PROOF,
                                "server does not know the password");
    else {
        c->state = MOXI_CLI_DONE;
        c->complete = 1;
        rc = MOX_SASL_SUCCESS;
    }
    mox_buf_free(&v);
    return rc;
}

int moxi_sasl_cli_scram(mox_sasl_client *c, const unsigned char *in, size_t len, int have)
{
    switch (c->state) {
    case MOXI_CLI_START: return client_first(c);
    case MOXI_CLI_SCRAM_FIRST:
        if (!have)
            return moxi_sasl_cli_fail(c, MOX_SASL_FAIL_MALFORMED, "missing server-first");
        return server_first(c, (const char *)in, len);
    default:
        if (!have)
            return moxi_sasl_cli_fail(c, MOX_SASL_FAIL_MALFORMED, "missing server-final");
        return server_final(c, (const char *)in, len);
    }
}
