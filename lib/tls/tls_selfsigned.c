/* Self-signed certificates for test setups and localserve. */
#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>

#include "core/core_priv.h"
#include "mox/tls.h"
#include "tls/tls_priv.h"

static void fmt_time(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 32, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* subjectAltName: SEQUENCE OF GeneralName, dNSName [2] or iPAddress [7].
 * asn1write writes backwards from the end of the buffer. */
static int write_san(const char *const *names, size_t n, unsigned char *buf, size_t cap,
                     unsigned char **start, size_t *len)
{
    unsigned char *p = buf + cap;
    size_t total = 0;
    int r;
    for (size_t i = n; i-- > 0;) {
        unsigned char ip[16];
        size_t l;
        unsigned char tag;
        const unsigned char *v;
        if (inet_pton(AF_INET, names[i], ip) == 1) {
            v = ip;
            l = 4;
            tag = MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7;
        } else if (inet_pton(AF_INET6, names[i], ip) == 1) {
            v = ip;
            l = 16;
            tag = MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7;
        } else {
            v = (const unsigned char *)names[i];
            l = strlen(names[i]);
            tag = MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2;
        }
        if ((r = mbedtls_asn1_write_raw_buffer(&p, buf, v, l)) < 0)
            return r;
        total += (size_t)r;
        if ((r = mbedtls_asn1_write_len(&p, buf, l)) < 0)
            return r;
        total += (size_t)r;
        if ((r = mbedtls_asn1_write_tag(&p, buf, tag)) < 0)
            return r;
        total += (size_t)r;
    }
    if ((r = mbedtls_asn1_write_len(&p, buf, total)) < 0)
        return r;
    total += (size_t)r;
    if ((r = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) < 0)
        return r;
    total += (size_t)r;
    *start = p;
    *len = total;
    return 0;
}

int mox_tls_selfsigned(const char *const *names, size_t n, unsigned days, mox_buf *cert_pem,
                       mox_buf *key_pem, mox_errinfo *ei)
{
    if (!names || n == 0 || n > 32 || !cert_pem || !key_pem)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid argument");
    for (size_t i = 0; i < n; i++) {
        size_t l = names[i] ? strlen(names[i]) : 0;
        if (l == 0 || l > 253)
            return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid name");
        for (size_t j = 0; j < l; j++)
            if (names[i][j] <= ' ' || names[i][j] >= 0x7f || names[i][j] == ',' ||
                names[i][j] == '=' || names[i][j] == '\\' || names[i][j] == '"')
                return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid name %s", names[i]);
    }
    if (days == 0)
        days = 3650;
    mbedtls_entropy_context ent;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context key;
    mbedtls_x509write_cert crt;
    mbedtls_mpi serial;
    mbedtls_entropy_init(&ent);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_pk_init(&key);
    mbedtls_x509write_crt_init(&crt);
    mbedtls_mpi_init(&serial);
    int rc = MOX_OK, m;
    static const unsigned char pers[] = "libmox selfsigned";
    unsigned char *pem = mox_malloc(4096);
    unsigned char *san = mox_malloc(8192);
    if (!pem || !san) {
        rc = moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
        goto out;
    }
    if ((m = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, pers, sizeof pers - 1)) ||
        (m = mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) ||
        (m = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key),
                                 mbedtls_ctr_drbg_random, &drbg))) {
        moxi_tls_mbed_msg(ei, rc = MOX_ERR_CRYPTO, m, "key generation");
        goto out;
    }
    unsigned char sb[16];
    if ((m = mbedtls_ctr_drbg_random(&drbg, sb, sizeof sb)) != 0) {
        moxi_tls_mbed_msg(ei, rc = MOX_ERR_CRYPTO, m, "serial");
        goto out;
    }
    sb[0] &= 0x7f;
    sb[0] |= 0x01;
    char subject[300], from[32], until[32];
    snprintf(subject, sizeof subject, "CN=%s", names[0]);
    time_t now = time(NULL);
    fmt_time(now - 86400, from);
    fmt_time(now + (time_t)days * 86400, until);
    unsigned char *sanp;
    size_t sanl;
    mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&crt, &key);
    mbedtls_x509write_crt_set_issuer_key(&crt, &key);
    if ((m = mbedtls_mpi_read_binary(&serial, sb, sizeof sb)) ||
        (m = mbedtls_x509write_crt_set_serial(&crt, &serial)) ||
        (m = mbedtls_x509write_crt_set_subject_name(&crt, subject)) ||
        (m = mbedtls_x509write_crt_set_issuer_name(&crt, subject)) ||
        (m = mbedtls_x509write_crt_set_validity(&crt, from, until)) ||
        (m = mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1)) ||
        (m = mbedtls_x509write_crt_set_key_usage(&crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE)) ||
        (m = mbedtls_x509write_crt_set_subject_key_identifier(&crt)) ||
        (m = write_san(names, n, san, 8192, &sanp, &sanl)) ||
        (m = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                                 MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME),
                                                 0, sanp, sanl))) {
        moxi_tls_mbed_msg(ei, rc = m == MBEDTLS_ERR_X509_ALLOC_FAILED ? MOX_ERR_NOMEM
                                                                      : MOX_ERR_CRYPTO,
                          m, "certificate fields");
        goto out;
    }
    if ((m = mbedtls_x509write_crt_pem(&crt, pem, 4096, mbedtls_ctr_drbg_random, &drbg)) != 0) {
        moxi_tls_mbed_msg(ei, rc = MOX_ERR_CRYPTO, m, "certificate");
        goto out;
    }
    size_t cl = strlen((char *)pem);
    if (mox_buf_append(cert_pem, pem, cl) != MOX_OK) {
        rc = moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
        goto out;
    }
    if ((m = mbedtls_pk_write_key_pem(&key, pem, 4096)) != 0) {
        cert_pem->len -= cl;
        moxi_tls_mbed_msg(ei, rc = MOX_ERR_CRYPTO, m, "private key");
        goto out;
    }
    if (mox_buf_append_str(key_pem, (char *)pem) != MOX_OK) {
        cert_pem->len -= cl;
        rc = moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
        goto out;
    }
out:
    if (pem)
        mbedtls_platform_zeroize(pem, 4096);
    mox_free(pem);
    mox_free(san);
    mbedtls_mpi_free(&serial);
    mbedtls_x509write_crt_free(&crt);
    mbedtls_pk_free(&key);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&ent);
    return rc;
}
