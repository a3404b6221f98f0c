/* TLS engine (mbedTLS 2.28): configurations shared by both roles, the
 * client configuration, and making a connection engine from a request. */
#include <arpa/inet.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
/* For handshake->extended_ms and ->resume: 2.28 has no accessor. */
#include <mbedtls/ssl_internal.h>

#include "tls/tls_priv.h"

void moxi_tls_mbed_msg(mox_errinfo *ei, int code, int mret, const char *what)
{
    char buf[160];
    mbedtls_strerror(mret, buf, sizeof buf);
    moxi_fail(ei, code, mret, SIZE_MAX, "%s: %s", what, buf);
}

int moxi_tls_is_ip(const char *s, size_t n)
{
    char tmp[64];
    unsigned char b[16];
    if (n >= sizeof tmp)
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    return inet_pton(AF_INET, tmp, b) == 1 || inet_pton(AF_INET6, tmp, b) == 1;
}

void mox_tls_client_options_init(mox_tls_client_options *o, size_t size)
{
    if (!o || size < sizeof(size_t))
        return;
    memset(o, 0, size);
    o->size = size;
}

void mox_tls_server_options_init(mox_tls_server_options *o, size_t size)
{
    if (!o || size < sizeof(size_t))
        return;
    memset(o, 0, size);
    o->size = size;
}

void mox_tls_config_free(mox_tls_config *cfg)
{
    if (!cfg)
        return;
    mbedtls_ssl_config_free(&cfg->conf);
    mbedtls_ctr_drbg_free(&cfg->drbg);
    mbedtls_entropy_free(&cfg->entropy);
    mbedtls_x509_crt_free(&cfg->ca);
    mbedtls_x509_crt_free(&cfg->own_cert);
    mbedtls_pk_free(&cfg->own_key);
    moxi_tls_server_config_free(cfg);
    mox_free(cfg);
}

/* RFC 9266 tls-exporter, computed while the master secret is at hand; only
 * with the extended master secret (RFC 9266 §3, RFC 7627), without which
 * the exporter is not unique to the connection. */
int moxi_tls_export_keys(void *p, const unsigned char *ms, const unsigned char *kb, size_t maclen,
                         size_t keylen, size_t ivlen, const unsigned char client_random[32],
                         const unsigned char server_random[32], mbedtls_tls_prf_types prf)
{
    (void)kb;
    (void)maclen;
    (void)keylen;
    (void)ivlen;
    mox_tls_config *cfg = p;
    mox_tls *t = cfg->current;
    if (!t)
        return 0;
    t->have_exporter = 0;
    /* Which side's Finished comes first (tls-unique) depends on whether
     * the session was resumed; only the handshake state knows. */
    t->resumed = t->ssl.handshake ? t->ssl.handshake->resume : 0;
#if defined(MBEDTLS_SSL_EXTENDED_MASTER_SECRET)
    if (!t->ssl.handshake || t->ssl.handshake->extended_ms != MBEDTLS_SSL_EXTENDED_MS_ENABLED)
        return 0;
#else
    return 0;
#endif
    unsigned char rnd[64];
    memcpy(rnd, client_random, 32);
    memcpy(rnd + 32, server_random, 32);
    if (mbedtls_ssl_tls_prf(prf, ms, 48, "EXPORTER-Channel-Binding", rnd, sizeof rnd,
                            t->exporter, sizeof t->exporter) == 0)
        t->have_exporter = 1;
    return 0;
}

int mox_tls_config_new_client(mox_tls_config **out, const mox_tls_client_options *opt,
                              mox_errinfo *ei)
{
    if (!out)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL out");
    *out = NULL;
    if (!opt || opt->size < sizeof(size_t))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL options or options without size");
    mox_tls_client_options o = MOX_TLS_CLIENT_OPTIONS_INIT;
    moxi_copy_sized(&o, opt, sizeof o);
    if (!o.cert_file != !o.key_file)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX,
                         "client certificate and key go together");
    if (o.min_version != 0 && o.min_version != MOX_TLS_VERSION_1_2)
        return moxi_fail(ei, MOX_ERR_UNSUPPORTED, 0, SIZE_MAX,
                         "only TLS 1.2 is available as minimum version");
    mox_tls_config *c = mox_calloc(1, sizeof *c);
    if (!c)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    c->role = MOXI_TLS_ROLE_CLIENT;
    c->insecure = o.insecure;
    c->hs_timeout_ms = o.handshake_timeout_ms ? o.handshake_timeout_ms
                                              : MOX_TLS_DEFAULT_HANDSHAKE_TIMEOUT_MS;
    c->clock = o.clock;
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_x509_crt_init(&c->own_cert);
    mbedtls_pk_init(&c->own_key);
    int rc = MOX_OK, m;
    static const unsigned char pers[] = "libmox tls client";
    if ((m = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy, pers,
                                   sizeof pers - 1)) != 0) {
        moxi_tls_mbed_msg(ei, rc = MOX_ERR_CRYPTO, m, "seeding the random generator");
        goto out;
    }
    if ((m = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
                                         MBEDTLS_SSL_TRANSPORT_STREAM,
                                         MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
        moxi_tls_mbed_msg(ei, rc = MOX_ERR_CRYPTO, m, "TLS defaults");
        goto out;
    }
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
    /* mbedTLS 2.28 still compiles in TLS 1.0/1.1; never offer them. */
    mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
    /* A server's HelloRequest is answered with no_renegotiation (RFC 5246
     * §7.2.2): one handshake per connection. */
    mbedtls_ssl_conf_renegotiation(&c->conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
    mbedtls_ssl_conf_export_keys_ext_cb(&c->conf, moxi_tls_export_keys, c);
    const char *ca_file = o.ca_file ? o.ca_file : MOX_TLS_DEFAULT_CA_FILE;
    if (!o.insecure || o.ca_file || o.ca_path) {
        m = mbedtls_x509_crt_parse_file(&c->ca, ca_file);
        if (m < 0 && !o.ca_path) {
            moxi_tls_mbed_msg(ei, rc = MOX_ERR_IO, m, ca_file);
            goto out;
        }
        if (o.ca_path && (m = mbedtls_x509_crt_parse_path(&c->ca, o.ca_path)) < 0) {
            moxi_tls_mbed_msg(ei, rc = MOX_ERR_IO, m, o.ca_path);
            goto out;
        }
        if (c->ca.version == 0 && !o.insecure) {
            rc = moxi_fail(ei, MOX_ERR_IO, 0, SIZE_MAX, "no usable CA certificate in %s",
                           o.ca_path ? o.ca_path : ca_file);
            goto out;
        }
        if (c->ca.version != 0) {
            mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
            c->have_ca = 1;
        }
    }
    /* Each connection sets its own mode (mox_tls_new); optional until then. */
    mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
    if (o.cert_file) {
        if ((m = mbedtls_x509_crt_parse_file(&c->own_cert, o.cert_file)) != 0) {
            moxi_tls_mbed_msg(ei, rc = MOX_ERR_IO, m, o.cert_file);
            goto out;
        }
        if ((m = mbedtls_pk_parse_keyfile(&c->own_key, o.key_file, o.key_password)) != 0) {
            moxi_tls_mbed_msg(ei, rc = MOX_ERR_IO, m, o.key_file);
            goto out;
        }
        if ((m = mbedtls_ssl_conf_own_cert(&c->conf, &c->own_cert, &c->own_key)) != 0) {
            moxi_tls_mbed_msg(ei, rc = MOX_ERR_CRYPTO, m, "client certificate");
            goto out;
        }
    }
out:
    if (rc != MOX_OK) {
        mox_tls_config_free(c);
        return rc;
    }
    *out = c;
    return MOX_OK;
}

/* ------------------------------------------------------------ connections */

static int bad(mox_errinfo *ei, int code, const char *msg)
{
    return moxi_fail(ei, code, 0, SIZE_MAX, "%s", msg);
}

static const char *policy_name(int v)
{
    switch (v) {
    case MOX_TLS_VERIFY_NONE: return "NONE";
    case MOX_TLS_VERIFY_WEBPKI: return "WEBPKI";
    case MOX_TLS_VERIFY_DANE: return "DANE";
    case MOX_TLS_VERIFY_MTASTS: return "MTASTS";
    }
    return "?";
}

/* RFC 7672 §3.1.3 and RFC 6698 §7: the TLSA parameters a client can use. */
static int tlsa_usable(const mox_dns_rr *r)
{
    if (r->type != MOX_DNS_TLSA)
        return 0;
    if (r->u.tlsa.usage != 2 && r->u.tlsa.usage != 3)
        return 0;
    if (r->u.tlsa.selector > 1 || r->u.tlsa.matching > 2)
        return 0;
    if (r->u.tlsa.matching == 1 && r->u.tlsa.len != 32)
        return 0;
    if (r->u.tlsa.matching == 2 && r->u.tlsa.len != 64)
        return 0;
    return r->u.tlsa.len > 0 && r->u.tlsa.data;
}

/* Copies the request's TLSA records and MTA-STS patterns into t. */
static int copy_policy(mox_tls *t, const mox_tls_request *req)
{
    if (req->verify == MOX_TLS_VERIFY_DANE) {
        size_t total = 0, n = 0;
        for (size_t i = 0; i < req->ntlsa; i++)
            if (tlsa_usable(&req->tlsa[i])) {
                total += req->tlsa[i].u.tlsa.len;
                n++;
            }
        t->tlsa = mox_calloc(n ? n : 1, sizeof *t->tlsa);
        t->tlsa_data = mox_malloc(total ? total : 1);
        if (!t->tlsa || !t->tlsa_data)
            return MOX_ERR_NOMEM;
        size_t off = 0;
        for (size_t i = 0; i < req->ntlsa; i++) {
            const mox_dns_rr *r = &req->tlsa[i];
            if (!tlsa_usable(r))
                continue;
            mox_dns_rr *d = &t->tlsa[t->ntlsa++];
            d->type = MOX_DNS_TLSA;
            d->u.tlsa.usage = r->u.tlsa.usage;
            d->u.tlsa.selector = r->u.tlsa.selector;
            d->u.tlsa.matching = r->u.tlsa.matching;
            memcpy(t->tlsa_data + off, r->u.tlsa.data, r->u.tlsa.len);
            d->u.tlsa.data = t->tlsa_data + off;
            d->u.tlsa.len = r->u.tlsa.len;
            off += r->u.tlsa.len;
        }
    }
    if (req->verify == MOX_TLS_VERIFY_MTASTS) {
        t->mx = mox_calloc(req->nmtasts_mx, sizeof *t->mx);
        if (!t->mx)
            return MOX_ERR_NOMEM;
        for (size_t i = 0; i < req->nmtasts_mx; i++) {
            if (!req->mtasts_mx[i])
                continue;
            if (!(t->mx[t->nmx] = moxi_strdup(req->mtasts_mx[i])))
                return MOX_ERR_NOMEM;
            t->nmx++;
        }
    }
    return MOX_OK;
}

/* In tls_engine.c. */
int moxi_tls_start(mox_tls *t, mox_errinfo *ei);

int mox_tls_new(mox_tls **out, mox_tls_config *cfg, const mox_tls_request *req_in,
                mox_errinfo *ei)
{
    if (!out)
        return bad(ei, MOX_ERR_INVAL, "NULL out");
    *out = NULL;
    if (!cfg)
        return bad(ei, MOX_ERR_INVAL, "NULL config");
    mox_tls_request req = MOX_TLS_REQUEST_INIT;
    if (req_in) {
        if (req_in->size < sizeof(size_t))
            return bad(ei, MOX_ERR_INVAL, "request without size (MOX_TLS_REQUEST_INIT)");
        moxi_copy_sized(&req, req_in, sizeof req);
    } else {
        req.verify = cfg->role == MOXI_TLS_ROLE_CLIENT && !cfg->insecure ? MOX_TLS_VERIFY_WEBPKI
                                                                          : MOX_TLS_VERIFY_NONE;
    }
    int role = req.role ? req.role : cfg->role;
    if (role != MOXI_TLS_ROLE_CLIENT && role != MOXI_TLS_ROLE_SERVER)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "unknown TLS role %d", req.role);
    if (role != cfg->role)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "a %s request on a %s config",
                         role == MOXI_TLS_ROLE_SERVER ? "server" : "client",
                         cfg->role == MOXI_TLS_ROLE_SERVER ? "server" : "client");
    const char *sn = NULL;
    int ip = 0;
    if (role == MOXI_TLS_ROLE_SERVER) {
        req.verify = MOX_TLS_VERIFY_NONE; /* client certificates: identities */
        int prc = moxi_tls_server_prepare(cfg, ei);
        if (prc != MOX_OK)
            return prc;
    } else {
        if (req.verify < MOX_TLS_VERIFY_NONE || req.verify > MOX_TLS_VERIFY_MTASTS)
            return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "unknown verification policy %d",
                             req.verify);
        sn = req.server_name && *req.server_name ? req.server_name : NULL;
        if (sn && strlen(sn) > 253)
            return bad(ei, MOX_ERR_INVAL, "server name longer than 253 octets");
        ip = sn && moxi_tls_is_ip(sn, strlen(sn));
        if (req.verify != MOX_TLS_VERIFY_NONE && !sn)
            return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX,
                             "verification policy %s needs a server name",
                             policy_name(req.verify));
        if (req.verify != MOX_TLS_VERIFY_NONE && ip)
            return bad(ei, MOX_ERR_UNSUPPORTED,
                       "cannot verify a certificate for an IP address; use a host name");
        if ((req.verify == MOX_TLS_VERIFY_WEBPKI || req.verify == MOX_TLS_VERIFY_MTASTS) &&
            !cfg->have_ca)
            return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX,
                             "verification policy %s needs CA certificates; the config has none",
                             policy_name(req.verify));
        if (req.verify == MOX_TLS_VERIFY_DANE) {
            size_t usable = 0;
            for (size_t i = 0; req.tlsa && i < req.ntlsa; i++)
                usable += (size_t)tlsa_usable(&req.tlsa[i]);
            if (!usable)
                return bad(ei, MOX_ERR_INVAL,
                           "DANE request without a usable TLSA record (usage 2 or 3, "
                           "selector 0 or 1, matching 0-2; RFC 7672 §2.2: use VERIFY_NONE)");
        }
        if (req.verify == MOX_TLS_VERIFY_MTASTS && (!req.mtasts_mx || !req.nmtasts_mx))
            return bad(ei, MOX_ERR_INVAL, "MTA-STS request without mx patterns");
    }
    mox_tls *t = mox_calloc(1, sizeof *t);
    if (!t)
        return bad(ei, MOX_ERR_NOMEM, "out of memory");
    t->cfg = cfg;
    t->role = role;
    t->verify = req.verify;
    mbedtls_ssl_init(&t->ssl);
    mbedtls_x509_crt_init(&t->no_ca);
    mox_errinfo_clear(&t->err);
    int rc = MOX_OK;
    if ((sn && !(t->server_name = moxi_strdup(sn))) || copy_policy(t, &req) != MOX_OK) {
        rc = bad(ei, MOX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    int m = mbedtls_ssl_setup(&t->ssl, &cfg->conf);
    if (m == 0 && sn && !ip)
        m = mbedtls_ssl_set_hostname(&t->ssl, sn);
    if (m != 0) {
        rc = m == MBEDTLS_ERR_SSL_ALLOC_FAILED ? MOX_ERR_NOMEM : MOX_ERR_CRYPTO;
        moxi_tls_mbed_msg(ei, rc, m, "TLS setup");
        goto fail;
    }
    if (role == MOXI_TLS_ROLE_CLIENT) {
        /* The policy decides in the verify callback; mbedTLS fails the
         * handshake with an alert when the flags it leaves are not clear. */
        mbedtls_ssl_set_hs_authmode(&t->ssl, t->verify == MOX_TLS_VERIFY_NONE
                                                 ? MBEDTLS_SSL_VERIFY_OPTIONAL
                                                 : MBEDTLS_SSL_VERIFY_REQUIRED);
        if (t->verify == MOX_TLS_VERIFY_DANE && !cfg->have_ca)
            mbedtls_ssl_set_hs_ca_chain(&t->ssl, &t->no_ca, NULL);
        mbedtls_ssl_set_verify(&t->ssl, moxi_tls_verify_cb, t);
    }
    rc = moxi_tls_start(t, ei);
    if (rc != MOX_OK)
        goto fail;
    *out = t;
    return MOX_OK;
fail:
    mox_tls_free(t);
    return rc;
}

void mox_tls_free(mox_tls *t)
{
    if (!t)
        return;
    if (t->cfg && t->cfg->current == t)
        t->cfg->current = NULL;
    mbedtls_ssl_free(&t->ssl);
    mbedtls_x509_crt_free(&t->no_ca);
    mbedtls_platform_zeroize(t->exporter, sizeof t->exporter);
    mbedtls_platform_zeroize(t->unique, sizeof t->unique);
    mbedtls_platform_zeroize(t->plain, sizeof t->plain);
    mox_free(t->server_name);
    mox_free(t->tlsa);
    mox_free(t->tlsa_data);
    for (size_t i = 0; i < t->nmx; i++)
        mox_free(t->mx[i]);
    mox_free(t->mx);
    mox_free(t->out);
    mox_free(t);
}
