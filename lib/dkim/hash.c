/* SHA-1 / SHA-256 behind one small interface (mbedTLS 2.28). */
#include "dkim_priv.h"

void moxi_dkim_hash_init(moxi_dkim_hash *h, int alg)
{
    h->alg = alg;
    if (alg == MOXI_DKIM_SHA1) {
        mbedtls_sha1_init(&h->u.sha1);
        (void)mbedtls_sha1_starts_ret(&h->u.sha1);
    } else {
        mbedtls_sha256_init(&h->u.sha256);
        (void)mbedtls_sha256_starts_ret(&h->u.sha256, 0);
    }
}

void moxi_dkim_hash_update(moxi_dkim_hash *h, const void *p, size_t n)
{
    if (!n)
        return;
    /* The software implementations cannot fail. */
    if (h->alg == MOXI_DKIM_SHA1)
        (void)mbedtls_sha1_update_ret(&h->u.sha1, p, n);
    else
        (void)mbedtls_sha256_update_ret(&h->u.sha256, p, n);
}

size_t moxi_dkim_hash_final(moxi_dkim_hash *h, unsigned char out[32])
{
    if (h->alg == MOXI_DKIM_SHA1) {
        (void)mbedtls_sha1_finish_ret(&h->u.sha1, out);
        return 20;
    }
    (void)mbedtls_sha256_finish_ret(&h->u.sha256, out);
    return 32;
}

void moxi_dkim_hash_free(moxi_dkim_hash *h)
{
    if (h->alg == MOXI_DKIM_SHA1)
        mbedtls_sha1_free(&h->u.sha1);
    else if (h->alg == MOXI_DKIM_SHA256)
        mbedtls_sha256_free(&h->u.sha256);
    h->alg = 0;
}

size_t moxi_dkim_hash_len(int alg) { return alg == MOXI_DKIM_SHA1 ? 20 : 32; }

int moxi_dkim_alg_hash(int alg) { return alg == MOX_DKIM_ALG_RSA_SHA1 ? MOXI_DKIM_SHA1 : MOXI_DKIM_SHA256; }

const char *mox_dkim_status_name(int status)
{
    switch (status) {
    case 0: return "none";
    case MOX_DKIM_PASS: return "pass";
    case MOX_DKIM_FAIL: return "fail";
    case MOX_DKIM_NEUTRAL: return "neutral";
    case MOX_DKIM_POLICY: return "policy";
    case MOX_DKIM_TEMPERROR: return "temperror";
    case MOX_DKIM_PERMERROR: return "permerror";
    default: return "unknown";
    }
}

const char *mox_dkim_algorithm_name(int alg)
{
    switch (alg) {
    case MOX_DKIM_ALG_RSA_SHA1: return "rsa-sha1";
    case MOX_DKIM_ALG_RSA_SHA256: return "rsa-sha256";
    case MOX_DKIM_ALG_ED25519_SHA256: return "ed25519-sha256";
    default: return NULL;
    }
}

const char *mox_dkim_canon_name(int canon)
{
    return canon == MOX_DKIM_SIMPLE ? "simple" : canon == MOX_DKIM_RELAXED ? "relaxed" : NULL;
}
