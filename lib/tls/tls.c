/* TLS transport adapter (mbedTLS 2.28): client side. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
/* For handshake->extended_ms: 2.28 has no accessor for whether the
 * extended master secret was negotiated. */
#include <mbedtls/ssl_internal.h>

#include "core/core_priv.h"
#include "mox/tls.h"
#include "tls/tls_priv.h"

void moxi_tls_mbed_msg(mox_errinfo *ei, int code, int mret, const char *what)
{
    char buf[160];
    mbedtls_strerror(mret, buf, sizeof buf);
    moxi_fail(ei, code, mret, SIZE_MAX, "%s: %s", what, buf);
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
    if (!out || !opt || opt->size < sizeof(size_t))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid argument");
    *out = NULL;
    mox_tls_client_options o = MOX_TLS_CLIENT_OPTIONS_INIT;
    memcpy(&o, opt, opt->size < sizeof o ? opt->size : sizeof o);
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
        mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
    }
    /* Insecure still runs the verification, optionally, so its result can
     * be logged. */
    mbedtls_ssl_conf_authmode(&c->conf, o.insecure ? MBEDTLS_SSL_VERIFY_OPTIONAL
                                                   : MBEDTLS_SSL_VERIFY_REQUIRED);
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

static int is_ip_literal(const char *s)
{
    unsigned char b[16];
    return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    mox_tls *t = ctx;
    for (;;) {
        ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return (int)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return MBEDTLS_ERR_SSL_WANT_WRITE;
        return MBEDTLS_ERR_NET_SEND_FAILED;
    }
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    mox_tls *t = ctx;
    for (;;) {
        ssize_t n = recv(t->fd, buf, len, 0);
        if (n > 0 && !t->received) {
            t->received = 1;
            t->first_byte = buf[0];
        }
        if (n >= 0)
            return (int)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return MBEDTLS_ERR_SSL_WANT_READ;
        return MBEDTLS_ERR_NET_RECV_FAILED;
    }
}

int mox_tls_new(mox_tls **out, mox_tls_config *cfg, int fd, const char *server_name,
                mox_errinfo *ei)
{
    if (!out || !cfg || fd < 0)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid argument");
    *out = NULL;
    if (cfg->role == MOXI_TLS_ROLE_SERVER)
        server_name = NULL;
    else if (!cfg->insecure && (!server_name || !*server_name))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "a server name is needed to verify");
    int ip = server_name && is_ip_literal(server_name);
    if (!cfg->insecure && ip)
        return moxi_fail(ei, MOX_ERR_UNSUPPORTED, 0, SIZE_MAX,
                         "cannot verify a certificate for an IP address; use a host name");
    if (cfg->role == MOXI_TLS_ROLE_SERVER) {
        int prc = moxi_tls_server_prepare(cfg, ei);
        if (prc != MOX_OK)
            return prc;
    }
    mox_tls *t = mox_calloc(1, sizeof *t);
    if (!t)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    t->cfg = cfg;
    t->fd = fd;
    mbedtls_ssl_init(&t->ssl);
    int m = mbedtls_ssl_setup(&t->ssl, &cfg->conf);
    if (m == 0 && server_name && *server_name && !ip)
        m = mbedtls_ssl_set_hostname(&t->ssl, server_name);
    if (m != 0) {
        moxi_tls_mbed_msg(ei, m == MBEDTLS_ERR_SSL_ALLOC_FAILED ? MOX_ERR_NOMEM : MOX_ERR_CRYPTO, m,
                 "TLS setup");
        int rc = ei ? ei->code : MOX_ERR_CRYPTO;
        mox_tls_free(t);
        return rc;
    }
    mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
    *out = t;
    return MOX_OK;
}

void mox_tls_free(mox_tls *t)
{
    if (!t)
        return;
    if (t->cfg && t->cfg->current == t)
        t->cfg->current = NULL;
    mbedtls_ssl_free(&t->ssl);
    mbedtls_platform_zeroize(t->exporter, sizeof t->exporter);
    mox_free(t);
}

int mox_tls_wants(const mox_tls *t) { return t ? t->wants : 0; }

static int map_err(mox_tls *t, int m)
{
    t->wants = 0;
    if (m == MBEDTLS_ERR_SSL_WANT_READ) {
        t->wants = MOX_TLS_WANT_READ;
        return MOX_ERR_AGAIN;
    }
    if (m == MBEDTLS_ERR_SSL_WANT_WRITE) {
        t->wants = MOX_TLS_WANT_WRITE;
        return MOX_ERR_AGAIN;
    }
    if (m == MBEDTLS_ERR_NET_SEND_FAILED || m == MBEDTLS_ERR_NET_RECV_FAILED ||
        m == MBEDTLS_ERR_SSL_CONN_EOF)
        return MOX_ERR_IO;
    return MOX_ERR_CRYPTO;
}

static void record_verify(mox_tls *t)
{
    uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
    t->verify_error[0] = 0;
    if (flags && flags != (uint32_t)-1) {
        int n = mbedtls_x509_crt_verify_info(t->verify_error, sizeof t->verify_error, "", flags);
        /* One line: the entries are newline-separated. */
        for (int i = 0; i < n && t->verify_error[i]; i++)
            if (t->verify_error[i] == '\n')
                t->verify_error[i] = i + 1 < n && t->verify_error[i + 1] ? ';' : 0;
    } else if (flags == (uint32_t)-1) {
        snprintf(t->verify_error, sizeof t->verify_error, "no certificate verified");
    }
}

int mox_tls_handshake(mox_tls *t, mox_errinfo *ei)
{
    if (!t)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid argument");
    if (t->done)
        return MOX_OK;
    t->cfg->current = t;
    int m = mbedtls_ssl_handshake(&t->ssl);
    t->cfg->current = NULL;
    if (m == 0) {
        t->done = 1;
        t->wants = 0;
        if (t->cfg->role == MOXI_TLS_ROLE_SERVER)
            return moxi_tls_server_handshake_done(t, ei);
        record_verify(t);
        return MOX_OK;
    }
    int rc = map_err(t, m);
    if (rc == MOX_ERR_AGAIN)
        return rc;
    if (t->cfg->role == MOXI_TLS_ROLE_SERVER)
        moxi_tls_server_classify(t, m);
    if (m == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        record_verify(t);
        return moxi_fail(ei, MOX_ERR_PERM, m, SIZE_MAX, "certificate verification failed: %s",
                         t->verify_error);
    }
    moxi_tls_mbed_msg(ei, rc, m, "TLS handshake");
    return rc;
}

long mox_tls_read(mox_tls *t, void *buf, size_t len)
{
    if (!t || (!buf && len))
        return MOX_ERR_INVAL;
    if (!t->done)
        return MOX_ERR_STATE;
    int m = mbedtls_ssl_read(&t->ssl, buf, len);
    if (m >= 0) {
        t->wants = 0;
        return m;
    }
    if (m == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
        return 0;
    return map_err(t, m);
}

long mox_tls_write(mox_tls *t, const void *buf, size_t len)
{
    if (!t || (!buf && len))
        return MOX_ERR_INVAL;
    if (!t->done)
        return MOX_ERR_STATE;
    if (len == 0)
        return 0;
    int m = mbedtls_ssl_write(&t->ssl, buf, len);
    if (m >= 0) {
        t->wants = 0;
        return m;
    }
    return map_err(t, m);
}

size_t mox_tls_pending(const mox_tls *t)
{
    return t && t->done ? mbedtls_ssl_get_bytes_avail(&t->ssl) : 0;
}

int mox_tls_close(mox_tls *t)
{
    if (!t)
        return MOX_ERR_INVAL;
    if (!t->done)
        return MOX_OK;
    int m = mbedtls_ssl_close_notify(&t->ssl);
    return m == 0 ? MOX_OK : map_err(t, m);
}

int mox_tls_version(const mox_tls *t)
{
    if (!t || !t->done)
        return 0;
    return (t->ssl.major_ver << 8) | t->ssl.minor_ver;
}

const char *mox_tls_cipher(const mox_tls *t)
{
    const char *s = t && t->done ? mbedtls_ssl_get_ciphersuite(&t->ssl) : NULL;
    return s ? s : "";
}

const char *mox_tls_verify_error(const mox_tls *t) { return t ? t->verify_error : ""; }

int mox_tls_channel_binding(const mox_tls *t, mox_tls_cb_type type, unsigned char *out,
                            size_t cap, size_t *len)
{
    if (!t || !out || !len)
        return MOX_ERR_INVAL;
    if (!t->done)
        return MOX_ERR_STATE;
    if (type == MOX_TLS_CB_EXPORTER) {
        if (!t->have_exporter)
            return MOX_ERR_UNSUPPORTED;
        if (cap < sizeof t->exporter)
            return MOX_ERR_LIMIT;
        memcpy(out, t->exporter, sizeof t->exporter);
        *len = sizeof t->exporter;
        return MOX_OK;
    }
    if (type == MOX_TLS_CB_UNIQUE) {
#if defined(MBEDTLS_SSL_RENEGOTIATION)
        /* The first Finished of the handshake: the client's in a full
         * handshake, the server's in an abbreviated (resumed) one. */
        size_t n = t->ssl.verify_data_len;
        if (n == 0)
            return MOX_ERR_UNSUPPORTED;
        if (cap < n)
            return MOX_ERR_LIMIT;
        int ours = (t->cfg->role == MOXI_TLS_ROLE_SERVER) == (t->resumed != 0);
        memcpy(out, ours ? t->ssl.own_verify_data : t->ssl.peer_verify_data, n);
        *len = n;
        return MOX_OK;
#else
        return MOX_ERR_UNSUPPORTED;
#endif
    }
    return MOX_ERR_INVAL;
}
