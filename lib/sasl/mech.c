/* Mechanism names, preference order, and which mechanisms a connection
 * allows. */
#include <string.h>

#include "sasl_priv.h"

static const char *const names[] = {
    [MOX_SASL_PLAIN] = "PLAIN",
    [MOX_SASL_LOGIN] = "LOGIN",
    [MOX_SASL_CRAM_MD5] = "CRAM-MD5",
    [MOX_SASL_SCRAM_SHA_1] = "SCRAM-SHA-1",
    [MOX_SASL_SCRAM_SHA_1_PLUS] = "SCRAM-SHA-1-PLUS",
    [MOX_SASL_SCRAM_SHA_256] = "SCRAM-SHA-256",
    [MOX_SASL_SCRAM_SHA_256_PLUS] = "SCRAM-SHA-256-PLUS",
    [MOX_SASL_EXTERNAL] = "EXTERNAL",
};

/* Strongest first; EXTERNAL leads because a certificate beats a password. */
static const mox_sasl_mech order[] = {
    MOX_SASL_EXTERNAL,    MOX_SASL_SCRAM_SHA_256_PLUS, MOX_SASL_SCRAM_SHA_256,
    MOX_SASL_SCRAM_SHA_1_PLUS, MOX_SASL_SCRAM_SHA_1,   MOX_SASL_CRAM_MD5,
    MOX_SASL_PLAIN,       MOX_SASL_LOGIN,
};

const char *mox_sasl_mech_name(mox_sasl_mech m)
{
    if ((unsigned)m >= MOX_ARRAY_LEN(names))
        return NULL;
    return names[m];
}

mox_sasl_mech mox_sasl_mech_parse(const char *name, size_t len)
{
    if (!name)
        return MOX_SASL_NONE;
    for (size_t i = 1; i < MOX_ARRAY_LEN(names); i++)
        if (names[i] && strlen(names[i]) == len && moxi_memcaseeq(names[i], name, len))
            return (mox_sasl_mech)i;
    return MOX_SASL_NONE;
}

const char *mox_sasl_failure_name(mox_sasl_failure f)
{
    switch (f) {
    case MOX_SASL_FAIL_NONE: return "none";
    case MOX_SASL_FAIL_CREDENTIALS: return "wrong credentials";
    case MOX_SASL_FAIL_MALFORMED: return "malformed input";
    case MOX_SASL_FAIL_ABORTED: return "aborted by client";
    case MOX_SASL_FAIL_UNKNOWN_USER: return "unknown user";
    case MOX_SASL_FAIL_NO_SECRET: return "no derived secret stored for this mechanism";
    case MOX_SASL_FAIL_CHANNEL_BINDING: return "channel binding mismatch";
    case MOX_SASL_FAIL_AUTHZ: return "authorization identity not allowed";
    case MOX_SASL_FAIL_TEMPORARY: return "temporary failure";
    case MOX_SASL_FAIL_SERVER_ERROR: return "server reported an error";
    case MOX_SASL_FAIL_SERVER_PROOF: return "server signature mismatch";
    case MOX_SASL_FAIL_POLICY: return "refused by client policy";
    }
    return "unknown failure";
}

int moxi_sasl_is_scram(mox_sasl_mech m)
{
    return m == MOX_SASL_SCRAM_SHA_1 || m == MOX_SASL_SCRAM_SHA_1_PLUS ||
           m == MOX_SASL_SCRAM_SHA_256 || m == MOX_SASL_SCRAM_SHA_256_PLUS;
}

int moxi_sasl_is_plus(mox_sasl_mech m)
{
    return m == MOX_SASL_SCRAM_SHA_1_PLUS || m == MOX_SASL_SCRAM_SHA_256_PLUS;
}

moxi_sasl_hash moxi_sasl_scram_hash(mox_sasl_mech m)
{
    return (m == MOX_SASL_SCRAM_SHA_1 || m == MOX_SASL_SCRAM_SHA_1_PLUS) ? MOXI_SHA1
                                                                         : MOXI_SHA256;
}

const char *moxi_sasl_cb_name(mox_sasl_cb_type t)
{
    switch (t) {
    case MOX_SASL_CB_TLS_UNIQUE: return "tls-unique";
    case MOX_SASL_CB_TLS_EXPORTER: return "tls-exporter";
    default: return NULL;
    }
}

/* Reads a channel struct that may come from older headers: fields past
 * its `size` are treated as absent. */
static void channel_view(const mox_sasl_channel *c, mox_sasl_channel *v)
{
    mox_sasl_channel z = MOX_SASL_CHANNEL_INIT;
    *v = z;
    if (c && c->size) {
        size_t n = c->size < sizeof *v ? c->size : sizeof *v;
        memcpy(v, c, n);
        v->size = sizeof *v;
    }
}

static int allowed(unsigned enabled, int plaintext_needs_tls, const mox_sasl_channel *ch,
                   int server, mox_sasl_mech m)
{
    mox_sasl_channel c;
    channel_view(ch, &c);
    if (!mox_sasl_mech_name(m) || m == MOX_SASL_NONE)
        return 0;
    if (enabled == 0)
        enabled = MOX_SASL_ALL_MECHS;
    if (!(enabled & MOX_SASL_BIT(m)))
        return 0;
    if (moxi_sasl_is_plus(m) &&
        !(c.tls && c.binding &&
          (c.cb_types & (MOX_SASL_CB_BIT(MOX_SASL_CB_TLS_UNIQUE) |
                         MOX_SASL_CB_BIT(MOX_SASL_CB_TLS_EXPORTER)))))
        return 0;
    if (m == MOX_SASL_EXTERNAL && !(c.tls && c.external_identity))
        return 0;
    if ((m == MOX_SASL_PLAIN || m == MOX_SASL_LOGIN) && plaintext_needs_tls && !c.tls)
        return 0;
    (void)server;
    return 1;
}

int mox_sasl_server_mech_allowed(const mox_sasl_server_config *cfg, mox_sasl_mech mech)
{
    if (!cfg)
        return 0;
    return allowed(cfg->mechs, cfg->plaintext_needs_tls, cfg->channel, 1, mech);
}

size_t mox_sasl_server_mechs(const mox_sasl_server_config *cfg, mox_sasl_mech *out,
                             size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < MOX_ARRAY_LEN(order); i++) {
        if (!mox_sasl_server_mech_allowed(cfg, order[i]))
            continue;
        if (out && n < cap)
            out[n] = order[i];
        n++;
    }
    return n;
}

int mox_sasl_server_mechs_string(const mox_sasl_server_config *cfg, mox_buf *out)
{
    mox_sasl_mech m[MOX_ARRAY_LEN(order)];
    size_t n = mox_sasl_server_mechs(cfg, m, MOX_ARRAY_LEN(m));
    size_t start = out->len;
    for (size_t i = 0; i < n; i++) {
        int rc = mox_buf_appendf(out, "%s%s", i ? " " : "", mox_sasl_mech_name(m[i]));
        if (rc != MOX_OK) {
            out->len = start;
            if (out->data)
                out->data[start] = 0;
            return rc;
        }
    }
    return MOX_OK;
}

int moxi_sasl_client_allowed(const mox_sasl_client_config *cfg, mox_sasl_mech m)
{
    return allowed(cfg->mechs, cfg->plaintext_needs_tls, cfg->channel, 0, m);
}

mox_sasl_mech mox_sasl_client_choose(const mox_sasl_client_config *cfg, const char *server,
                                     size_t len)
{
    if (!cfg || !server)
        return MOX_SASL_NONE;
    unsigned offered = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && (server[i] == ' ' || server[i] == '\t'))
            i++;
        size_t st = i;
        while (i < len && server[i] != ' ' && server[i] != '\t')
            i++;
        mox_sasl_mech m = mox_sasl_mech_parse(server + st, i - st);
        if (m != MOX_SASL_NONE)
            offered |= MOX_SASL_BIT(m);
    }
    for (size_t k = 0; k < MOX_ARRAY_LEN(order); k++) {
        mox_sasl_mech m = order[k];
        if (!(offered & MOX_SASL_BIT(m)) || !moxi_sasl_client_allowed(cfg, m))
            continue;
        /* Password mechanisms need credentials. */
        if (m != MOX_SASL_EXTERNAL && (!cfg->username || !cfg->password))
            continue;
        return m;
    }
    return MOX_SASL_NONE;
}
