/* Hashes, HMAC, PBKDF2 and the HMAC-MD5 midstates, over mbedTLS. */
#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/md5.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/version.h>

#include "mox/text.h"
#include "sasl_priv.h"

static const mbedtls_md_info_t *md_info(moxi_sasl_hash h)
{
    return mbedtls_md_info_from_type(h == MOXI_SHA1 ? MBEDTLS_MD_SHA1 : MBEDTLS_MD_SHA256);
}

size_t moxi_sasl_hash_len(moxi_sasl_hash h) { return h == MOXI_SHA1 ? 20 : 32; }

int moxi_sasl_hmac(moxi_sasl_hash h, const void *key, size_t keylen, const void *msg,
                   size_t msglen, unsigned char *out)
{
    const mbedtls_md_info_t *mi = md_info(h);
    if (!mi || mbedtls_md_hmac(mi, key, keylen, msg, msglen, out) != 0)
        return MOX_ERR_CRYPTO;
    return MOX_OK;
}

int moxi_sasl_digest(moxi_sasl_hash h, const void *msg, size_t len, unsigned char *out)
{
    const mbedtls_md_info_t *mi = md_info(h);
    if (!mi || mbedtls_md(mi, msg, len, out) != 0)
        return MOX_ERR_CRYPTO;
    return MOX_OK;
}

int moxi_sasl_pbkdf2(moxi_sasl_hash h, const void *pw, size_t pwlen, const void *salt,
                     size_t saltlen, uint32_t iterations, unsigned char *out)
{
    mbedtls_md_context_t ctx;
    const mbedtls_md_info_t *mi = md_info(h);
    int rc = MOX_ERR_CRYPTO;
    if (!mi)
        return rc;
    mbedtls_md_init(&ctx);
    int mr = mbedtls_md_setup(&ctx, mi, 1);
    if (mr == MBEDTLS_ERR_MD_ALLOC_FAILED)
        rc = MOX_ERR_NOMEM;
    else if (mr == 0 &&
             mbedtls_pkcs5_pbkdf2_hmac(&ctx, pw, pwlen, salt, saltlen, iterations,
                                       (uint32_t)moxi_sasl_hash_len(h), out) == 0)
        rc = MOX_OK;
    mbedtls_md_free(&ctx);
    return rc;
}

int moxi_sasl_scram_keys(moxi_sasl_hash h, const unsigned char *salted,
                         unsigned char *client_key, unsigned char *stored_key,
                         unsigned char *server_key)
{
    size_t n = moxi_sasl_hash_len(h);
    unsigned char ck[MOXI_HASH_MAX];
    int rc = moxi_sasl_hmac(h, salted, n, "Client Key", 10, ck);
    if (rc == MOX_OK && stored_key)
        rc = moxi_sasl_digest(h, ck, n, stored_key);
    if (rc == MOX_OK && server_key)
        rc = moxi_sasl_hmac(h, salted, n, "Server Key", 10, server_key);
    if (rc == MOX_OK && client_key)
        memcpy(client_key, ck, n);
    moxi_sasl_wipe(ck, sizeof ck);
    return rc;
}

int moxi_sasl_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(x[i] ^ y[i]);
    return d == 0;
}

void moxi_sasl_wipe(void *p, size_t n)
{
    if (p && n)
        mbedtls_platform_zeroize(p, n);
}

void moxi_sasl_buf_wipe_free(mox_buf *b)
{
    if (b->data)
        moxi_sasl_wipe(b->data, b->cap);
    mox_buf_free(b);
}

/* CRAM-MD5 without a stored password. HMAC-MD5(K, m) is
 * MD5((K^opad) || MD5((K^ipad) || m)); K^ipad and K^opad are exactly one
 * 64-byte MD5 block each, so MD5 compresses them first and its whole state
 * afterwards is the four 32-bit chaining words plus "64 bytes done". We
 * keep those words (the same idea as Dovecot's CRAM-MD5 scheme) and, to
 * verify, load them into a fresh context with the byte count set to 64
 * before feeding the rest. mbedTLS 2.x exposes the context fields; 3.x
 * hides them behind MBEDTLS_PRIVATE. */
#if defined(MBEDTLS_MD5_ALT)
#error "CRAM-MD5 midstates need mbedTLS's own MD5 context layout"
#endif
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define MD5_FIELD(ctx, f) ((ctx)->MBEDTLS_PRIVATE(f))
#else
#define MD5_FIELD(ctx, f) ((ctx)->f)
#endif

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int md5_midstate(const unsigned char block[64], unsigned char out[16])
{
    mbedtls_md5_context ctx;
    mbedtls_md5_init(&ctx);
    int rc = MOX_ERR_CRYPTO;
    if (mbedtls_md5_starts_ret(&ctx) == 0 && mbedtls_md5_update_ret(&ctx, block, 64) == 0) {
        for (int i = 0; i < 4; i++)
            put_le32(out + 4 * i, MD5_FIELD(&ctx, state)[i]);
        rc = MOX_OK;
    }
    mbedtls_md5_free(&ctx);
    return rc;
}

static int md5_resume(const unsigned char state[16], const void *msg, size_t len,
                      unsigned char out[16])
{
    mbedtls_md5_context ctx;
    mbedtls_md5_init(&ctx);
    int rc = MOX_ERR_CRYPTO;
    if (mbedtls_md5_starts_ret(&ctx) == 0) {
        for (int i = 0; i < 4; i++)
            MD5_FIELD(&ctx, state)[i] = get_le32(state + 4 * i);
        MD5_FIELD(&ctx, total)[0] = 64;
        MD5_FIELD(&ctx, total)[1] = 0;
        if (mbedtls_md5_update_ret(&ctx, msg, len) == 0 && mbedtls_md5_finish_ret(&ctx, out) == 0)
            rc = MOX_OK;
    }
    mbedtls_md5_free(&ctx);
    return rc;
}

int moxi_sasl_cram_state(const void *key, size_t keylen, unsigned char inner[16],
                         unsigned char outer[16])
{
    unsigned char k[64], block[64];
    int rc = MOX_OK;
    memset(k, 0, sizeof k);
    if (keylen > 64) {
        if (mbedtls_md5_ret(key, keylen, k) != 0)
            rc = MOX_ERR_CRYPTO;
    } else if (keylen) {
        memcpy(k, key, keylen);
    }
    if (rc == MOX_OK) {
        for (int i = 0; i < 64; i++)
            block[i] = k[i] ^ 0x36;
        rc = md5_midstate(block, inner);
    }
    if (rc == MOX_OK) {
        for (int i = 0; i < 64; i++)
            block[i] = k[i] ^ 0x5c;
        rc = md5_midstate(block, outer);
    }
    moxi_sasl_wipe(k, sizeof k);
    moxi_sasl_wipe(block, sizeof block);
    return rc;
}

int moxi_sasl_cram_hmac(const unsigned char inner[16], const unsigned char outer[16],
                        const void *msg, size_t len, unsigned char out[16])
{
    unsigned char ih[16];
    int rc = md5_resume(inner, msg, len, ih);
    if (rc == MOX_OK)
        rc = md5_resume(outer, ih, sizeof ih, out);
    moxi_sasl_wipe(ih, sizeof ih);
    return rc;
}

void moxi_sasl_free_secret(char *p, size_t len)
{
    if (!p)
        return;
    moxi_sasl_wipe(p, len);
    mox_free(p);
}

int moxi_sasl_prepare_password(const char *pw, size_t len, char **out, size_t *out_len,
                               mox_errinfo *ei)
{
    size_t bad;
    *out = NULL;
    *out_len = 0;
    if (!mox_utf8_valid(pw, len, &bad))
        return moxi_fail(ei, MOX_ERR_UTF8, 0, bad, "password is not valid UTF-8");
    return mox_precis_opaque(pw, len, out, out_len, ei);
}

int moxi_sasl_prepare_username(const char *s, size_t len, char **out)
{
    *out = NULL;
    if (len == 0 || memchr(s, 0, len) || !mox_utf8_valid(s, len, NULL))
        return MOX_ERR_SYNTAX;
    size_t n;
    int rc = mox_utf8_nfc(s, len, out, &n);
    if (rc == MOX_ERR_UTF8)
        rc = MOX_ERR_SYNTAX;
    return rc;
}
