/* TLS engine (mbedTLS 2.28): server configuration, certificate selection
 * by SNI, and the failure classes of server handshakes. */
#include <arpa/inet.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_internal.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>

#include "tls/tls_priv.h"

static void cert_free(moxi_tls_cert *c)
{
    if (!c)
        return;
    mbedtls_x509_crt_free(&c->crt);
    mbedtls_pk_free(&c->key);
    for (size_t i = 0; i < c->nnames; i++)
        mox_free(c->names[i]);
    mox_free(c->names);
    mox_free(c);
}

void moxi_tls_server_config_free(mox_tls_config *cfg)
{
    for (size_t i = 0; i < cfg->ncerts; i++)
        cert_free(cfg->certs[i]);
    mox_free(cfg->certs);
    mox_free(cfg->hostname);
    if (cfg->role == MOXI_TLS_ROLE_SERVER)
        mbedtls_ssl_ticket_free(&cfg->ticket);
}

/* Does certificate name `pat` (lower case, maybe "*.x") cover `name`? */
static int name_match(const char *pat, const char *name, size_t n)
{
    size_t pl = strlen(pat);
    if (pl == n && moxi_memcaseeq(pat, name, n))
        return 1;
    if (pl > 2 && pat[0] == '*' && pat[1] == '.') {
        const char *dot = memchr(name, '.', n);
        if (!dot || dot == name)
            return 0;
        size_t rest = n - (size_t)(dot - name);
        return rest == pl - 1 && moxi_memcaseeq(pat + 1, dot, rest);
    }
    return 0;
}

static moxi_tls_cert *find_cert(const mox_tls_config *cfg, const char *name, size_t n)
{
    while (n > 0 && name[n - 1] == '.')
        n--;
    for (size_t i = 0; i < cfg->ncerts; i++)
        for (size_t j = 0; j < cfg->certs[i]->nnames; j++)
            if (name_match(cfg->certs[i]->names[j], name, n))
                return cfg->certs[i];
    return NULL;
}

static int on_sni(void *p, mbedtls_ssl_context *ssl, const unsigned char *name, size_t n)
{
    mox_tls_config *cfg = p;
    /* The context lives inside its connection, whose BIO context is the
     * connection itself; anything else (a bare context on this config)
     * only gets its certificate chosen. */
    mox_tls *t = (mox_tls *)(void *)((char *)ssl - offsetof(mox_tls, ssl));
    if (ssl->p_bio != t)
        t = NULL;
    if (t && n < sizeof t->sni) {
        for (size_t i = 0; i < n; i++)
            t->sni[i] = (char)moxi_lower(name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?');
        t->sni[n] = 0;
    }
    if (moxi_tls_is_ip((const char *)name, n))
        return 0; /* RFC 6066 forbids it; be lenient and use the fallback */
    moxi_tls_cert *c = find_cert(cfg, (const char *)name, n);
    if (!c) {
        if (cfg->strict_sni) {
            if (t)
                snprintf(t->failure, sizeof t->failure, "unrecognized-name");
            return -1; /* mbedTLS answers with unrecognized_name */
        }
        return 0;
    }
    if (t)
        t->own = c;
    return mbedtls_ssl_set_hs_own_cert(ssl, &c->crt, &c->key);
}

/* Client certificates are identities, not chains: accept any and let the
 * application match the key. */
static int accept_any(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    (void)p;
    (void)crt;
    (void)depth;
    *flags = 0;
    return 0;
}

int mox_tls_config_new_server(mox_tls_config **out, const mox_tls_server_options *opt,
                              mox_errinfo *ei)
{
    if (!out)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL out");
    *out = NULL;
    if (!opt || opt->size < sizeof(size_t))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL options or options without size");
    mox_tls_server_options o = MOX_TLS_SERVER_OPTIONS_INIT;
    moxi_copy_sized(&o, opt, sizeof o);
    if (o.min_version != 0 && o.min_version != MOX_TLS_VERSION_1_2)
        return moxi_fail(ei, MOX_ERR_UNSUPPORTED, 0, SIZE_MAX,
                         "only TLS 1.2 is available as minimum version");
    mox_tls_config *c = mox_calloc(1, sizeof *c);
    if (!c)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    c->role = MOXI_TLS_ROLE_SERVER;
    c->hs_timeout_ms = o.handshake_timeout_ms ? o.handshake_timeout_ms
                                              : MOX_TLS_DEFAULT_HANDSHAKE_TIMEOUT_MS;
    c->clock = o.clock;
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_x509_crt_init(&c->own_cert);
    mbedtls_pk_init(&c->own_key);
    mbedtls_ssl_ticket_init(&c->ticket);
    c->strict_sni = o.strict_sni;
    int rc = MOX_OK, m;
    static const unsigned char pers[] = "libmox tls server";
    if (o.hostname && !(c->hostname = moxi_strdup(o.hostname))) {
        rc = moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
        goto out;
    }
    if ((m = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy, pers,
                                   sizeof pers - 1)) != 0) {
        moxi_tls_mbed_msg(ei, rc = MOX_ERR_CRYPTO, m, "seeding the random generator");
        goto out;
    }
    if ((m = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_SERVER,
                                         MBEDTLS_SSL_TRANSPORT_STREAM,
                                         MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
        moxi_tls_mbed_msg(ei, rc = MOX_ERR_CRYPTO, m, "TLS defaults");
        goto out;
    }
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
    mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_sni(&c->conf, on_sni, c);
    /* Renegotiation is a DoS and confusion vector; SMTP never needs it. A
     * client's ClientHello after the handshake gets a no_renegotiation
     * warning (RFC 5246 §7.2.2). */
    mbedtls_ssl_conf_renegotiation(&c->conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
    if (o.request_client_cert) {
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
        mbedtls_ssl_conf_verify(&c->conf, accept_any, NULL);
    } else {
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
    }
    if (o.session_tickets) {
        uint32_t life = o.ticket_lifetime ? o.ticket_lifetime : 12 * 3600;
        if ((m = mbedtls_ssl_ticket_setup(&c->ticket, mbedtls_ctr_drbg_random, &c->drbg,
                                          MBEDTLS_CIPHER_AES_256_GCM, life)) != 0) {
            moxi_tls_mbed_msg(ei, rc = MOX_ERR_CRYPTO, m, "session tickets");
            goto out;
        }
        mbedtls_ssl_conf_session_tickets_cb(&c->conf, mbedtls_ssl_ticket_write,
                                            mbedtls_ssl_ticket_parse, &c->ticket);
        c->tickets = 1;
    } else {
        mbedtls_ssl_conf_session_tickets(&c->conf, MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
    }
    mbedtls_ssl_conf_export_keys_ext_cb(&c->conf, moxi_tls_export_keys, c);
out:
    if (rc != MOX_OK) {
        mox_tls_config_free(c);
        return rc;
    }
    *out = c;
    return MOX_OK;
}

static int add_name(moxi_tls_cert *c, const unsigned char *p, size_t n)
{
    if (n == 0 || n > 253)
        return MOX_OK;
    for (size_t i = 0; i < c->nnames; i++)
        if (strlen(c->names[i]) == n && moxi_memcaseeq(c->names[i], p, n))
            return MOX_OK;
    char **nn = mox_realloc(c->names, (c->nnames + 1) * sizeof *nn);
    if (!nn)
        return MOX_ERR_NOMEM;
    c->names = nn;
    char *s = moxi_strndup((const char *)p, n);
    if (!s)
        return MOX_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        s[i] = (char)moxi_lower((unsigned char)s[i]);
    c->names[c->nnames++] = s;
    return MOX_OK;
}

static int collect_names(moxi_tls_cert *c)
{
    const mbedtls_x509_sequence *san = &c->crt.subject_alt_names;
    int any = 0;
    for (; san && san->buf.p; san = san->next) {
        if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME)) {
            any = 1;
            if (add_name(c, san->buf.p, san->buf.len) != MOX_OK)
                return MOX_ERR_NOMEM;
        }
    }
    if (any)
        return MOX_OK;
    for (const mbedtls_x509_name *nm = &c->crt.subject; nm; nm = nm->next)
        if (nm->oid.p && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &nm->oid) == 0)
            if (add_name(c, nm->val.p, nm->val.len) != MOX_OK)
                return MOX_ERR_NOMEM;
    return MOX_OK;
}

static int add_cert(mox_tls_config *cfg, moxi_tls_cert *c, mox_errinfo *ei)
{
    int m;
    if ((m = mbedtls_pk_check_pair(&c->crt.pk, &c->key)) != 0) {
        cert_free(c);
        return moxi_fail(ei, MOX_ERR_INVAL, m, SIZE_MAX,
                         "private key does not match the certificate");
    }
    if (collect_names(c) != MOX_OK) {
        cert_free(c);
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    }
    moxi_tls_cert **n = mox_realloc(cfg->certs, (cfg->ncerts + 1) * sizeof *n);
    if (!n) {
        cert_free(c);
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    }
    cfg->certs = n;
    cfg->certs[cfg->ncerts++] = c;
    return MOX_OK;
}

static moxi_tls_cert *cert_new(void)
{
    moxi_tls_cert *c = mox_calloc(1, sizeof *c);
    if (c) {
        mbedtls_x509_crt_init(&c->crt);
        mbedtls_pk_init(&c->key);
    }
    return c;
}

/* mbedTLS wants PEM NUL-terminated with the NUL counted. */
int moxi_tls_parse_crt(mbedtls_x509_crt *crt, const void *p, size_t n)
{
    if (n > 0 && ((const char *)p)[n - 1] == 0)
        return mbedtls_x509_crt_parse(crt, p, n);
    if (n >= 10 && memmem(p, n, "-----BEGIN", 10)) {
        unsigned char *tmp = mox_malloc(n + 1);
        if (!tmp)
            return MBEDTLS_ERR_X509_ALLOC_FAILED;
        memcpy(tmp, p, n);
        tmp[n] = 0;
        int m = mbedtls_x509_crt_parse(crt, tmp, n + 1);
        mox_free(tmp);
        return m;
    }
    return mbedtls_x509_crt_parse(crt, p, n);
}

static int parse_key(mbedtls_pk_context *pk, const void *p, size_t n)
{
    if (n > 0 && ((const char *)p)[n - 1] == 0)
        return mbedtls_pk_parse_key(pk, p, n, NULL, 0);
    unsigned char *tmp = mox_malloc(n + 1);
    if (!tmp)
        return MBEDTLS_ERR_PK_ALLOC_FAILED;
    memcpy(tmp, p, n);
    tmp[n] = 0;
    int m = mbedtls_pk_parse_key(pk, tmp, n + 1, NULL, 0);
    if (m != 0) /* DER: without the extra NUL */
        m = mbedtls_pk_parse_key(pk, tmp, n, NULL, 0);
    mbedtls_platform_zeroize(tmp, n);
    mox_free(tmp);
    return m;
}

int mox_tls_config_add_cert(mox_tls_config *cfg, const void *cert, size_t cert_len,
                            const void *key, size_t key_len, mox_errinfo *ei)
{
    if (!cfg || !cert || !key)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL argument");
    if (cfg->role != MOXI_TLS_ROLE_SERVER)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX,
                         "certificates are added to server configs only");
    if (cfg->prepared)
        return moxi_fail(ei, MOX_ERR_STATE, 0, SIZE_MAX,
                         "certificates must be added before the first connection");
    moxi_tls_cert *c = cert_new();
    if (!c)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    int m = moxi_tls_parse_crt(&c->crt, cert, cert_len);
    if (m != 0) {
        cert_free(c);
        if (m == MBEDTLS_ERR_X509_ALLOC_FAILED)
            return moxi_fail(ei, MOX_ERR_NOMEM, m, SIZE_MAX, "out of memory");
        moxi_tls_mbed_msg(ei, MOX_ERR_SYNTAX, m, "certificate");
        return MOX_ERR_SYNTAX;
    }
    if ((m = parse_key(&c->key, key, key_len)) != 0) {
        cert_free(c);
        if (m == MBEDTLS_ERR_PK_ALLOC_FAILED)
            return moxi_fail(ei, MOX_ERR_NOMEM, m, SIZE_MAX, "out of memory");
        moxi_tls_mbed_msg(ei, MOX_ERR_SYNTAX, m, "private key");
        return MOX_ERR_SYNTAX;
    }
    return add_cert(cfg, c, ei);
}

int mox_tls_config_add_cert_file(mox_tls_config *cfg, const char *cert_file,
                                 const char *key_file, mox_errinfo *ei)
{
    if (!cfg || !cert_file || !key_file)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL argument");
    mox_buf cb = MOX_BUF_INIT, kb = MOX_BUF_INIT;
    int rc = moxi_read_file(cert_file, &cb, ei);
    if (rc == MOX_OK)
        rc = moxi_read_file(key_file, &kb, ei);
    if (rc == MOX_OK) {
        rc = mox_tls_config_add_cert(cfg, cb.data, cb.len, kb.data, kb.len, ei);
        if (rc == MOX_ERR_SYNTAX && ei) {
            char msg[sizeof ei->msg];
            memcpy(msg, ei->msg, sizeof msg);
            const char *f = strstr(msg, "private key") == msg ? key_file : cert_file;
            size_t fl = strlen(f);
            if (fl > 100)
                fl = 100;
            snprintf(ei->msg, sizeof ei->msg, "%.*s: %.120s", (int)fl, f, msg);
        }
    }
    if (kb.data)
        mbedtls_platform_zeroize(kb.data, kb.len);
    mox_buf_free(&cb);
    mox_buf_free(&kb);
    return rc;
}

int moxi_tls_server_prepare(mox_tls_config *cfg, mox_errinfo *ei)
{
    if (cfg->prepared)
        return MOX_OK;
    if (cfg->ncerts == 0)
        return moxi_fail(ei, MOX_ERR_STATE, 0, SIZE_MAX, "no server certificate configured");
    moxi_tls_cert *fb = cfg->hostname ? find_cert(cfg, cfg->hostname, strlen(cfg->hostname))
                                      : NULL;
    if (!fb)
        fb = cfg->certs[0];
    int m = mbedtls_ssl_conf_own_cert(&cfg->conf, &fb->crt, &fb->key);
    if (m != 0) {
        moxi_tls_mbed_msg(ei, MOX_ERR_NOMEM, m, "server certificate");
        return MOX_ERR_NOMEM;
    }
    cfg->fallback = fb;
    cfg->prepared = 1;
    return MOX_OK;
}

int moxi_tls_spki_hash(const mbedtls_pk_context *pk, unsigned char out[32])
{
    /* RSA 4096 SPKI is about 550 bytes; leave room. */
    unsigned char der[2048];
    int n = mbedtls_pk_write_pubkey_der((mbedtls_pk_context *)pk, der, sizeof der);
    if (n <= 0)
        return MOX_ERR_CRYPTO;
    if (mbedtls_sha256_ret(der + sizeof der - (size_t)n, (size_t)n, out, 0) != 0)
        return MOX_ERR_CRYPTO;
    return MOX_OK;
}

const char *moxi_tls_alert_name(unsigned a)
{
    switch (a) {
    case 0: return "close_notify";
    case 21: return "decryption_failed";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 22: return "record_overflow";
    case 40: return "handshake_failure";
    case 42: return "bad_certificate";
    case 43: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 49: return "access_denied";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 86: return "inappropriate_fallback";
    case 90: return "user_canceled";
    case 100: return "no_renegotiation";
    case 109: return "missing_extension";
    case 110: return "unsupported_extension";
    case 112: return "unrecognized_name";
    case 113: return "bad_certificate_status_response";
    case 115: return "unknown_psk_identity";
    case 116: return "certificate_required";
    case 120: return "no_application_protocol";
    default: return NULL;
    }
}

void moxi_tls_server_classify(mox_tls *t, int m)
{
    if (t->failure[0])
        return; /* set by the SNI callback */
    const char *f = "other";
    char buf[48];
    if (!t->received || m == MBEDTLS_ERR_SSL_CONN_EOF) {
        f = "eof";
    } else if (t->first_byte != 0x16) {
        /* 0x16: handshake record; anything else (e.g. "EHLO") is not TLS */
        f = "not-tls";
    } else if (m == MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION) {
        f = "unsupported-version";
    } else if (m == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
        unsigned char a = t->ssl.in_msg ? t->ssl.in_msg[1] : 255;
        const char *nm = moxi_tls_alert_name(a);
        if (nm)
            snprintf(buf, sizeof buf, "alert-%s", nm);
        else
            snprintf(buf, sizeof buf, "alert-%u", a);
        f = buf;
    } else if (m == MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN ||
               m == MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE) {
        f = "no-shared-cipher";
    }
    snprintf(t->failure, sizeof t->failure, "%s", f);
}

const char *mox_tls_failure(const mox_tls *t) { return t ? t->failure : ""; }

const char *mox_tls_version_name(int version)
{
    switch (version) {
    case MOX_TLS_VERSION_1_2: return "TLS1.2";
    case MOX_TLS_VERSION_1_3: return "TLS1.3";
    case 0x0302: return "TLS1.1";
    case 0x0301: return "TLS1.0";
    default: return "";
    }
}

int mox_tls_cert_spki_sha256(const void *cert, size_t len, unsigned char out[32],
                             mox_errinfo *ei)
{
    if (!cert || !out)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL argument");
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    int m = moxi_tls_parse_crt(&crt, cert, len);
    int rc = MOX_OK;
    if (m == MBEDTLS_ERR_X509_ALLOC_FAILED)
        rc = moxi_fail(ei, MOX_ERR_NOMEM, m, SIZE_MAX, "out of memory");
    else if (m != 0 || !crt.version) {
        moxi_tls_mbed_msg(ei, MOX_ERR_SYNTAX, m, "certificate");
        rc = MOX_ERR_SYNTAX;
    } else if (moxi_tls_spki_hash(&crt.pk, out) != MOX_OK)
        rc = moxi_fail(ei, MOX_ERR_CRYPTO, 0, SIZE_MAX, "cannot encode the public key");
    mbedtls_x509_crt_free(&crt);
    return rc;
}
