/* The engine's authentication interface on the SASL module. */
#include <string.h>

#include <mbedtls/platform_util.h>

#include "smtp_client_priv.h"

struct mox_smtp_client_sasl {
    const mox_sasl_client_config *cfg;
    mox_smtp_client_auth auth;
    mox_sasl_client_config run;  /* cfg with our channel */
    mox_sasl_channel channel;
    mox_sasl_client *client;
    mox_sasl_failure failure;
    unsigned char unique[64], exporter[64];
    size_t unique_len, exporter_len;
};

static int binding(void *ctx, mox_sasl_cb_type type, unsigned char *out, size_t *out_len)
{
    mox_smtp_client_sasl *s = ctx;
    const unsigned char *b = type == MOX_SASL_CB_TLS_EXPORTER ? s->exporter
                             : type == MOX_SASL_CB_TLS_UNIQUE ? s->unique : NULL;
    size_t n = type == MOX_SASL_CB_TLS_EXPORTER ? s->exporter_len
               : type == MOX_SASL_CB_TLS_UNIQUE ? s->unique_len : 0;
    if (!b || !n || n > MOX_SASL_CB_MAX)
        return MOX_ERR_UNSUPPORTED;
    memcpy(out, b, n);
    *out_len = n;
    return MOX_OK;
}

static void end(void *ctx)
{
    mox_smtp_client_sasl *s = ctx;
    mox_sasl_client_free(s->client);
    s->client = NULL;
    mbedtls_platform_zeroize(s->unique, sizeof s->unique);
    mbedtls_platform_zeroize(s->exporter, sizeof s->exporter);
}

static int start(void *ctx, const char *const *mechs, size_t nmechs, const mox_tls_info *tls,
                 const char **mech, mox_buf *initial, int *has_initial)
{
    mox_smtp_client_sasl *s = ctx;
    end(s);
    s->failure = MOX_SASL_FAIL_NONE;
    mox_sasl_channel ch = MOX_SASL_CHANNEL_INIT;
    s->unique_len = s->exporter_len = 0;
    if (tls) {
        ch.tls = 1;
        if (tls->tls_unique && tls->tls_unique_len && tls->tls_unique_len <= sizeof s->unique) {
            memcpy(s->unique, tls->tls_unique, tls->tls_unique_len);
            s->unique_len = tls->tls_unique_len;
            ch.cb_types |= MOX_SASL_CB_BIT(MOX_SASL_CB_TLS_UNIQUE);
        }
        if (tls->tls_exporter && tls->tls_exporter_len &&
            tls->tls_exporter_len <= sizeof s->exporter) {
            memcpy(s->exporter, tls->tls_exporter, tls->tls_exporter_len);
            s->exporter_len = tls->tls_exporter_len;
            ch.cb_types |= MOX_SASL_CB_BIT(MOX_SASL_CB_TLS_EXPORTER);
        }
        if (tls->peer_identity)
            ch.external_identity = tls->peer_identity;
    }
    ch.ctx = s;
    ch.binding = binding;
    s->channel = ch;
    memset(&s->run, 0, sizeof s->run);
    memcpy(&s->run, s->cfg, s->cfg->size < sizeof s->run ? s->cfg->size : sizeof s->run);
    s->run.size = sizeof s->run;
    s->run.channel = &s->channel;
    /* A binding type pinned by the configuration is the only one this
     * client binds with: without it on this connection, no -PLUS. */
    if (s->run.cb_type != MOX_SASL_CB_NONE)
        s->channel.cb_types &= (unsigned)s->run.cb_type < 32 ? MOX_SASL_CB_BIT(s->run.cb_type) : 0u;

    mox_buf list = MOX_BUF_INIT;
    int rc = MOX_OK;
    for (size_t i = 0; i < nmechs && rc == MOX_OK; i++)
        rc = mox_buf_appendf(&list, "%s%s", i ? " " : "", mechs[i]);
    mox_sasl_mech m = MOX_SASL_NONE;
    if (rc == MOX_OK)
        m = mox_sasl_client_choose(&s->run, list.data ? (const char *)list.data : "", list.len);
    mox_buf_free(&list);
    if (rc != MOX_OK)
        return rc;
    if (m == MOX_SASL_NONE)
        return MOX_ERR_NOTFOUND;
    if (m == MOX_SASL_SCRAM_SHA_1 || m == MOX_SASL_SCRAM_SHA_256) {
        /* RFC 5802 §6: the gs2 flag 'y' says "I support channel binding
         * but think the server does not"; the SCRAM client sends it when
         * its channel has binding data. That is only true if this client
         * would have used the -PLUS variant (configuration and binding
         * type allowing) and the server did not offer it; otherwise the
         * flag must be 'n', or a server offering -PLUS fails the exchange
         * as a downgrade. Without binding types on the channel it is. */
        mox_sasl_mech plus = m == MOX_SASL_SCRAM_SHA_1 ? MOX_SASL_SCRAM_SHA_1_PLUS
                                                       : MOX_SASL_SCRAM_SHA_256_PLUS;
        const char *pn = mox_sasl_mech_name(plus);
        size_t pl = strlen(pn);
        int offered = 0;
        for (size_t i = 0; i < nmechs && !offered; i++)
            offered = strlen(mechs[i]) == pl && moxi_strncasecmp(mechs[i], pn, pl) == 0;
        int could = mox_sasl_client_choose(&s->run, pn, pl) == plus;
        if (offered || !could)
            s->channel.cb_types = 0;
    }
    rc = mox_sasl_client_new(&s->client, m, &s->run, NULL);
    if (rc != MOX_OK)
        return rc;
    const unsigned char *out;
    size_t out_len;
    int st = mox_sasl_client_step(s->client, NULL, 0, &out, &out_len);
    if (st < 0)
        return st;
    if (st == MOX_SASL_FAILURE) {
        s->failure = mox_sasl_client_failure(s->client);
        return MOX_ERR_PERM;
    }
    *has_initial = mox_sasl_client_has_initial(s->client);
    if (*has_initial && out_len && (rc = mox_buf_append(initial, out, out_len)) != MOX_OK)
        return rc;
    *mech = mox_sasl_mech_name(m);
    return MOX_OK;
}

static int step(void *ctx, const unsigned char *ch, size_t len, mox_buf *resp)
{
    mox_smtp_client_sasl *s = ctx;
    if (!s->client)
        return MOX_ERR_STATE;
    const unsigned char *out;
    size_t out_len;
    int st = mox_sasl_client_step(s->client, ch, len, &out, &out_len);
    if (st < 0)
        return st;
    if (st == MOX_SASL_FAILURE) {
        s->failure = mox_sasl_client_failure(s->client);
        return MOX_ERR_PERM;
    }
    return out_len ? mox_buf_append(resp, out, out_len) : MOX_OK;
}

static int finish(void *ctx)
{
    mox_smtp_client_sasl *s = ctx;
    return s->client && mox_sasl_client_complete(s->client) ? MOX_OK : MOX_ERR_PERM;
}

int mox_smtp_client_sasl_new(mox_smtp_client_sasl **out, const mox_sasl_client_config *cfg)
{
    if (!out || !cfg || cfg->size < sizeof(size_t))
        return MOX_ERR_INVAL;
    mox_smtp_client_sasl *s = mox_calloc(1, sizeof *s);
    if (!s)
        return MOX_ERR_NOMEM;
    s->cfg = cfg;
    mox_smtp_client_auth a = MOX_SMTP_CLIENT_AUTH_INIT;
    a.ctx = s;
    a.start = start;
    a.step = step;
    a.finish = finish;
    a.end = end;
    s->auth = a;
    *out = s;
    return MOX_OK;
}

void mox_smtp_client_sasl_free(mox_smtp_client_sasl *s)
{
    if (!s)
        return;
    end(s);
    mox_free(s);
}

const mox_smtp_client_auth *mox_smtp_client_sasl_auth(mox_smtp_client_sasl *s)
{
    return s ? &s->auth : NULL;
}

mox_sasl_failure mox_smtp_client_sasl_failure(const mox_smtp_client_sasl *s)
{
    return s ? s->failure : MOX_SASL_FAIL_NONE;
}
