/* Keys: signature verification with a parsed key record, private key
 * loading (PEM/DER, PKCS#1/PKCS#8, Ed25519 PKCS#8 which mbedTLS 2.28 does
 * not know), key generation, PKCS#8 output and DNS records. */
#include <limits.h>

#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <sodium.h>

#include "dkim_priv.h"

struct mox_dkim_privkey {
    int type;
    unsigned bits;
    mox_random rnd;
    mbedtls_pk_context pk;
    mbedtls_ctr_drbg_context drbg;
    unsigned char ed_pk[32];
    unsigned char ed_sk[64];
    unsigned char ed_seed[32];
};

/* id-Ed25519, RFC 8410 */
static const unsigned char ed25519_oid[] = {0x2b, 0x65, 0x70};
static const unsigned char ed25519_pkcs8_prefix[16] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30,
                                                       0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
                                                       0x04, 0x22, 0x04, 0x20};

int moxi_dkim_key_verify(const mox_dkim_key *key, int alg, const unsigned char *hash,
                         size_t hash_len, const unsigned char *sig, size_t sig_len)
{
    if (key->type == MOX_DKIM_KEY_ED25519) {
        if (sig_len != crypto_sign_BYTES || key->pubkey_len != crypto_sign_PUBLICKEYBYTES)
            return MOX_ERR_CRYPTO;
        return crypto_sign_verify_detached(sig, hash, hash_len, key->pubkey) == 0 ? MOX_OK
                                                                                 : MOX_ERR_CRYPTO;
    }
    if (!key->priv_)
        return MOX_ERR_CRYPTO;
    mbedtls_md_type_t md = alg == MOX_DKIM_ALG_RSA_SHA1 ? MBEDTLS_MD_SHA1 : MBEDTLS_MD_SHA256;
    return mbedtls_pk_verify(key->priv_, md, hash, hash_len, sig, sig_len) == 0 ? MOX_OK
                                                                                : MOX_ERR_CRYPTO;
}

int moxi_dkim_privkey_sign(const mox_dkim_privkey *kc, int alg, const unsigned char *hash,
                           size_t hash_len, mox_buf *out)
{
    /* RSA signing advances the blinding DRBG: the key is logically const
     * for the caller but not physically. */
    mox_dkim_privkey *k = (mox_dkim_privkey *)kc;
    unsigned char sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    size_t len = 0;
    if (k->type == MOX_DKIM_KEY_ED25519) {
        unsigned long long sl = 0;
        if (crypto_sign_detached(sig, &sl, hash, hash_len, k->ed_sk) != 0)
            return MOX_ERR_CRYPTO;
        len = (size_t)sl;
    } else {
        mbedtls_md_type_t md = alg == MOX_DKIM_ALG_RSA_SHA1 ? MBEDTLS_MD_SHA1 : MBEDTLS_MD_SHA256;
        if (mbedtls_pk_sign(&k->pk, md, hash, hash_len, sig, &len, mbedtls_ctr_drbg_random,
                            &k->drbg) != 0)
            return MOX_ERR_CRYPTO;
    }
    return mox_buf_append(out, sig, len);
}

/* ------------------------------------------------------------ loading */

static int drbg_entropy(void *ctx, unsigned char *buf, size_t len)
{
    return mox_random_fill(ctx, buf, len) == MOX_OK ? 0 : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

static mox_dkim_privkey *privkey_alloc(const mox_random *rnd)
{
    mox_dkim_privkey *k = mox_calloc(1, sizeof *k);
    if (!k)
        return NULL;
    mbedtls_pk_init(&k->pk);
    mbedtls_ctr_drbg_init(&k->drbg);
    if (rnd)
        k->rnd = *rnd;
    else
        k->rnd = *mox_random_system();
    return k;
}

void mox_dkim_privkey_free(mox_dkim_privkey *k)
{
    if (!k)
        return;
    mbedtls_pk_free(&k->pk);
    mbedtls_ctr_drbg_free(&k->drbg);
    mbedtls_platform_zeroize(k, sizeof *k);
    mox_free(k);
}

int mox_dkim_privkey_type(const mox_dkim_privkey *k) { return k ? k->type : 0; }
unsigned mox_dkim_privkey_bits(const mox_dkim_privkey *k) { return k ? k->bits : 0; }

static int seed_drbg(mox_dkim_privkey *k)
{
    static const unsigned char pers[] = "libmox dkim";
    if (mbedtls_ctr_drbg_seed(&k->drbg, drbg_entropy, &k->rnd, pers, sizeof pers - 1) != 0)
        return MOX_ERR_CRYPTO;
    /* Only blinding values come from it; never reseed, so the random
     * source is only used here. */
    mbedtls_ctr_drbg_set_reseed_interval(&k->drbg, INT_MAX);
    return MOX_OK;
}

static int ed25519_from_seed(mox_dkim_privkey *k, const unsigned char seed[32])
{
    if (sodium_init() < 0)
        return MOX_ERR_CRYPTO;
    memcpy(k->ed_seed, seed, 32);
    if (crypto_sign_seed_keypair(k->ed_pk, k->ed_sk, k->ed_seed) != 0)
        return MOX_ERR_CRYPTO;
    k->type = MOX_DKIM_KEY_ED25519;
    k->bits = 256;
    return MOX_OK;
}

/* PKCS#8 PrivateKeyInfo with the Ed25519 OID: returns 1 and the seed, 0
 * when it is some other algorithm, -1 when the DER is malformed. */
static int pkcs8_ed25519(const unsigned char *der, size_t len, const unsigned char **seed)
{
    unsigned char *p = (unsigned char *)der, *end = p + len;
    size_t l;
    int ver;
    if (mbedtls_asn1_get_tag(&p, end, &l, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
        return -1;
    end = p + l;
    if (mbedtls_asn1_get_int(&p, end, &ver) || (ver != 0 && ver != 1))
        return 0;
    if (mbedtls_asn1_get_tag(&p, end, &l, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
        return 0;
    unsigned char *algend = p + l;
    if (mbedtls_asn1_get_tag(&p, algend, &l, MBEDTLS_ASN1_OID))
        return 0;
    if (l != sizeof ed25519_oid || memcmp(p, ed25519_oid, l))
        return 0;
    /* RFC 8410: parameters absent. */
    p += l;
    if (p != algend)
        return -1;
    if (mbedtls_asn1_get_tag(&p, end, &l, MBEDTLS_ASN1_OCTET_STRING))
        return -1;
    unsigned char *inner_end = p + l;
    if (mbedtls_asn1_get_tag(&p, inner_end, &l, MBEDTLS_ASN1_OCTET_STRING) || l != 32 ||
        p + l != inner_end)
        return -1;
    *seed = p;
    /* Optional attributes [0] and publicKey [1] (v2) may follow. */
    return 1;
}

static int load_der(mox_dkim_privkey *k, const unsigned char *der, size_t len, mox_errinfo *ei)
{
    const unsigned char *seed;
    int e = pkcs8_ed25519(der, len, &seed);
    if (e == 1)
        return ed25519_from_seed(k, seed);
    if (e < 0)
        return moxi_fail(ei, MOX_ERR_SYNTAX, 0, SIZE_MAX, "malformed private key");
    int rc = mbedtls_pk_parse_key(&k->pk, der, len, NULL, 0);
    if (rc == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG || (rc == 0 && mbedtls_pk_get_type(&k->pk) != MBEDTLS_PK_RSA))
        return moxi_fail(ei, MOX_ERR_UNSUPPORTED, 0, SIZE_MAX,
                         "unsupported private key type (RSA and Ed25519 are)");
    if (rc == MBEDTLS_ERR_PK_PASSWORD_REQUIRED)
        return moxi_fail(ei, MOX_ERR_UNSUPPORTED, 0, SIZE_MAX, "encrypted private keys are not supported");
    if (rc)
        return moxi_fail(ei, MOX_ERR_SYNTAX, 0, SIZE_MAX, "malformed private key (mbedTLS -0x%04x)", -rc);
    k->type = MOX_DKIM_KEY_RSA;
    k->bits = (unsigned)mbedtls_pk_get_bitlen(&k->pk);
    if (k->bits < 1024 || k->bits > 4096)
        return moxi_fail(ei, MOX_ERR_LIMIT, 0, SIZE_MAX, "RSA key of %u bits (1024 to 4096 allowed)",
                         k->bits);
    return seed_drbg(k);
}

static const unsigned char *find_mem(const unsigned char *h, size_t hn, const char *needle)
{
    size_t nn = strlen(needle);
    if (hn < nn)
        return NULL;
    for (size_t i = 0; i + nn <= hn; i++)
        if (h[i] == (unsigned char)needle[0] && !memcmp(h + i, needle, nn))
            return h + i;
    return NULL;
}

int mox_dkim_privkey_load(const void *data, size_t len, const mox_random *rnd,
                          mox_dkim_privkey **out, mox_errinfo *ei)
{
    if (!out || !data)
        return MOX_ERR_INVAL;
    *out = NULL;
    const unsigned char *p = data;
    mox_dkim_privkey *k = privkey_alloc(rnd);
    if (!k)
        return MOX_ERR_NOMEM;
    mox_buf der = MOX_BUF_INIT;
    int rc;
    const unsigned char *begin = find_mem(p, len, "-----BEGIN ");
    if (begin) {
        const unsigned char *lab = begin + 11;
        const unsigned char *labend = find_mem(lab, len - (size_t)(lab - p), "-----");
        if (!labend) {
            rc = moxi_fail(ei, MOX_ERR_SYNTAX, 0, SIZE_MAX, "malformed PEM");
            goto out;
        }
        size_t ll = (size_t)(labend - lab);
        int ok = (ll == 11 && !memcmp(lab, "PRIVATE KEY", 11)) ||
                 (ll == 15 && !memcmp(lab, "RSA PRIVATE KEY", 15));
        if (!ok) {
            rc = moxi_fail(ei, MOX_ERR_UNSUPPORTED, 0, SIZE_MAX, "unsupported PEM type '%.*s'",
                           (int)(ll > 40 ? 40 : ll), lab);
            goto out;
        }
        const unsigned char *b = labend + 5;
        const unsigned char *end = find_mem(b, len - (size_t)(b - p), "-----END ");
        if (!end) {
            rc = moxi_fail(ei, MOX_ERR_SYNTAX, 0, SIZE_MAX, "PEM without END line");
            goto out;
        }
        if (find_mem(b, (size_t)(end - b), ":")) {
            rc = moxi_fail(ei, MOX_ERR_UNSUPPORTED, 0, SIZE_MAX,
                           "encrypted PEM keys are not supported");
            goto out;
        }
        if ((rc = mox_base64_decode((const char *)b, (size_t)(end - b), MOX_BASE64_ALLOW_WS, &der,
                                    NULL))) {
            rc = rc == MOX_ERR_NOMEM ? rc : moxi_fail(ei, MOX_ERR_SYNTAX, 0, SIZE_MAX, "bad base64 in PEM");
            goto out;
        }
        rc = load_der(k, der.data, der.len, ei);
    } else if (len > 0 && p[0] == 0x30) {
        rc = load_der(k, p, len, ei);
    } else {
        rc = mox_base64_decode((const char *)p, len, MOX_BASE64_ALLOW_WS, &der, NULL);
        if (rc == MOX_ERR_NOMEM)
            goto out;
        if (rc || der.len != 32) {
            rc = moxi_fail(ei, MOX_ERR_SYNTAX, 0, SIZE_MAX,
                           "not a PEM or DER key, nor a base64 Ed25519 seed");
            goto out;
        }
        rc = ed25519_from_seed(k, der.data);
    }
out:
    if (der.data)
        mbedtls_platform_zeroize(der.data, der.cap);
    mox_buf_free(&der);
    if (rc) {
        mox_dkim_privkey_free(k);
        return rc;
    }
    *out = k;
    return MOX_OK;
}

int mox_dkim_privkey_generate(int type, unsigned bits, const mox_random *rnd,
                              mox_dkim_privkey **out)
{
    if (!out)
        return MOX_ERR_INVAL;
    *out = NULL;
    if (type == MOX_DKIM_KEY_RSA) {
        if (!bits)
            bits = 2048;
        if (bits < 2048 || bits > 4096)
            return MOX_ERR_INVAL;
    } else if (type != MOX_DKIM_KEY_ED25519) {
        return MOX_ERR_INVAL;
    }
    mox_dkim_privkey *k = privkey_alloc(rnd);
    if (!k)
        return MOX_ERR_NOMEM;
    int rc;
    if (type == MOX_DKIM_KEY_ED25519) {
        unsigned char seed[32];
        rc = mox_random_fill(&k->rnd, seed, sizeof seed);
        if (rc == MOX_OK)
            rc = ed25519_from_seed(k, seed);
        mbedtls_platform_zeroize(seed, sizeof seed);
    } else {
        rc = seed_drbg(k);
        if (rc == MOX_OK &&
            (mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) ||
             mbedtls_rsa_gen_key(mbedtls_pk_rsa(k->pk), mbedtls_ctr_drbg_random, &k->drbg, bits,
                                 65537)))
            rc = MOX_ERR_CRYPTO;
        k->type = MOX_DKIM_KEY_RSA;
        k->bits = bits;
    }
    if (rc) {
        mox_dkim_privkey_free(k);
        return rc;
    }
    *out = k;
    return MOX_OK;
}

/* ------------------------------------------------------------ output */

static int pem(const unsigned char *der, size_t len, mox_buf *out)
{
    mox_buf b = MOX_BUF_INIT;
    int rc = mox_base64_encode(der, len, &b);
    if (rc == MOX_OK)
        rc = mox_buf_append_str(out, "-----BEGIN PRIVATE KEY-----\n");
    for (size_t i = 0; rc == MOX_OK && i < b.len; i += 64) {
        rc = mox_buf_append(out, b.data + i, b.len - i < 64 ? b.len - i : 64);
        if (rc == MOX_OK)
            rc = mox_buf_append_byte(out, '\n');
    }
    if (rc == MOX_OK)
        rc = mox_buf_append_str(out, "-----END PRIVATE KEY-----\n");
    if (b.data)
        mbedtls_platform_zeroize(b.data, b.cap);
    mox_buf_free(&b);
    return rc;
}

int mox_dkim_privkey_pem(const mox_dkim_privkey *kc, mox_buf *out)
{
    if (!kc || !out)
        return MOX_ERR_INVAL;
    mox_dkim_privkey *k = (mox_dkim_privkey *)kc;
    if (k->type == MOX_DKIM_KEY_ED25519) {
        unsigned char der[48];
        memcpy(der, ed25519_pkcs8_prefix, 16);
        memcpy(der + 16, k->ed_seed, 32);
        int rc = pem(der, sizeof der, out);
        mbedtls_platform_zeroize(der, sizeof der);
        return rc;
    }
    /* mbedTLS 2.28 writes only PKCS#1: wrap it in a PrivateKeyInfo. */
    unsigned char buf[6144];
    int rc = MOX_ERR_CRYPTO;
    int n = mbedtls_pk_write_key_der(&k->pk, buf, sizeof buf);
    if (n > 0) {
        unsigned char *c = buf + sizeof buf - n;
        size_t len = (size_t)n;
        int r;
        if ((r = mbedtls_asn1_write_len(&c, buf, len)) < 0) goto done;
        len += (size_t)r;
        if ((r = mbedtls_asn1_write_tag(&c, buf, MBEDTLS_ASN1_OCTET_STRING)) < 0) goto done;
        len += (size_t)r;
        if ((r = mbedtls_asn1_write_algorithm_identifier(&c, buf, MBEDTLS_OID_PKCS1_RSA,
                                                         MBEDTLS_OID_SIZE(MBEDTLS_OID_PKCS1_RSA), 0)) < 0)
            goto done;
        len += (size_t)r;
        if ((r = mbedtls_asn1_write_int(&c, buf, 0)) < 0) goto done;
        len += (size_t)r;
        if ((r = mbedtls_asn1_write_len(&c, buf, len)) < 0) goto done;
        len += (size_t)r;
        if ((r = mbedtls_asn1_write_tag(&c, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) < 0)
            goto done;
        len += (size_t)r;
        rc = pem(c, len, out);
    }
done:
    mbedtls_platform_zeroize(buf, sizeof buf);
    return rc;
}

int mox_dkim_privkey_record(const mox_dkim_privkey *kc, mox_buf *out)
{
    if (!kc || !out)
        return MOX_ERR_INVAL;
    mox_dkim_privkey *k = (mox_dkim_privkey *)kc;
    int rc;
    if (k->type == MOX_DKIM_KEY_ED25519) {
        rc = mox_buf_append_str(out, "v=DKIM1; k=ed25519; p=");
        return rc ? rc : mox_base64_encode(k->ed_pk, 32, out);
    }
    unsigned char buf[2048];
    int n = mbedtls_pk_write_pubkey_der(&k->pk, buf, sizeof buf);
    if (n <= 0)
        return MOX_ERR_CRYPTO;
    rc = mox_buf_append_str(out, "v=DKIM1; k=rsa; p=");
    return rc ? rc : mox_base64_encode(buf + sizeof buf - n, (size_t)n, out);
}

int mox_dkim_txt_rr(const char *selector, const char *domain, const char *record, size_t len,
                    mox_buf *out)
{
    if (!selector || !domain || (!record && len) || !out)
        return MOX_ERR_INVAL;
    size_t dl = strlen(domain);
    if (dl && domain[dl - 1] == '.')
        dl--;
    int rc = mox_buf_appendf(out, "%s._domainkey.%.*s. IN TXT", selector, (int)dl, domain);
    size_t i = 0;
    do {
        size_t n = len - i > 255 ? 255 : len - i;
        rc = rc ? rc : mox_buf_append_str(out, " \"");
        for (size_t k = i; rc == MOX_OK && k < i + n; k++) {
            unsigned char c = (unsigned char)record[k];
            if (c == '"' || c == '\\')
                rc = mox_buf_appendf(out, "\\%c", c);
            else if (c < 0x20 || c >= 0x7f)
                rc = mox_buf_appendf(out, "\\%03u", c);
            else
                rc = mox_buf_append_byte(out, c);
        }
        rc = rc ? rc : mox_buf_append_byte(out, '"');
        i += n;
    } while (rc == MOX_OK && i < len);
    return rc;
}
