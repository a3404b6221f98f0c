/* Derived secrets: derivation from a password, the versioned text form,
 * and plaintext verification against them. */
#include <string.h>

#include "sasl_priv.h"

#define SECRETS_TAG "mox-sasl-v"
#define SALT_DEFAULT_LEN 16

void mox_sasl_secrets_wipe(mox_sasl_secrets *s)
{
    if (!s)
        return;
    size_t size = s->size;
    size_t n = size && size < sizeof *s ? size : sizeof *s;
    moxi_sasl_wipe(s, n);
    s->size = size;
}

/* Resets a secrets struct whose size member may come from older headers. */
static size_t secrets_reset(mox_sasl_secrets *s)
{
    size_t size = s->size ? s->size : sizeof *s;
    if (size > sizeof *s)
        size = sizeof *s;
    moxi_sasl_wipe(s, size);
    s->size = size;
    return size;
}

static int derive_scram(moxi_sasl_hash h, const char *pw, size_t pwlen,
                        const unsigned char *salt, size_t saltlen, uint32_t iterations,
                        mox_sasl_scram_secret *out)
{
    unsigned char salted[MOXI_HASH_MAX];
    int rc = moxi_sasl_pbkdf2(h, pw, pwlen, salt, saltlen, iterations, salted);
    if (rc == MOX_OK)
        rc = moxi_sasl_scram_keys(h, salted, NULL, out->stored_key, out->server_key);
    moxi_sasl_wipe(salted, sizeof salted);
    if (rc == MOX_OK) {
        memcpy(out->salt, salt, saltlen);
        out->salt_len = saltlen;
        out->iterations = iterations;
        out->present = 1;
    }
    return rc;
}

int mox_sasl_secrets_derive(const char *password, size_t len,
                            const mox_sasl_derive_params *params, mox_sasl_secrets *out,
                            mox_errinfo *ei)
{
    mox_sasl_derive_params p = MOX_SASL_DERIVE_PARAMS_INIT;
    if (!out || (!password && len))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "missing argument");
    if (params) {
        size_t n = params->size < sizeof p ? params->size : sizeof p;
        memcpy(&p, params, n);
    }
    secrets_reset(out);
    unsigned which = p.which ? p.which : MOX_SASL_DERIVE_ALL;
    uint32_t iter = p.iterations ? p.iterations : MOX_SASL_DEFAULT_ITERATIONS;
    if (iter < MOX_SASL_MIN_ITERATIONS || iter > MOX_SASL_MAX_ITERATIONS)
        return moxi_fail(ei, MOX_ERR_LIMIT, 0, SIZE_MAX,
                         "iteration count %lu outside %u..%u", (unsigned long)iter,
                         MOX_SASL_MIN_ITERATIONS, MOX_SASL_MAX_ITERATIONS);
    if (p.salt && (p.salt_len == 0 || p.salt_len > MOX_SASL_SALT_MAX))
        return moxi_fail(ei, MOX_ERR_LIMIT, 0, SIZE_MAX, "salt must be 1..%d bytes",
                         MOX_SASL_SALT_MAX);

    char *prep = NULL;
    size_t plen = 0;
    int rc = moxi_sasl_prepare_password(password ? password : "", len, &prep, &plen, ei);
    if (rc != MOX_OK)
        return rc;
    const moxi_sasl_hash hashes[2] = {MOXI_SHA1, MOXI_SHA256};
    const unsigned bits[2] = {MOX_SASL_DERIVE_SCRAM_SHA1, MOX_SASL_DERIVE_SCRAM_SHA256};
    mox_sasl_scram_secret *dst[2] = {&out->scram_sha1, &out->scram_sha256};
    for (int i = 0; i < 2 && rc == MOX_OK; i++) {
        if (!(which & bits[i]))
            continue;
        unsigned char salt[SALT_DEFAULT_LEN];
        const unsigned char *sp = p.salt;
        size_t sl = p.salt_len;
        if (!sp) {
            rc = mox_random_fill(p.random, salt, sizeof salt);
            sp = salt;
            sl = sizeof salt;
        }
        if (rc == MOX_OK)
            rc = derive_scram(hashes[i], prep, plen, sp, sl, iter, dst[i]);
    }
    if (rc == MOX_OK && (which & MOX_SASL_DERIVE_CRAM_MD5)) {
        rc = moxi_sasl_cram_state(prep, plen, out->cram_md5_inner, out->cram_md5_outer);
        if (rc == MOX_OK)
            out->cram_md5_present = 1;
    }
    moxi_sasl_free_secret(prep, plen);
    if (rc != MOX_OK) {
        mox_sasl_secrets_wipe(out);
        return moxi_fail(ei, rc, 0, SIZE_MAX, "deriving secrets: %s", mox_strerror(rc));
    }
    return MOX_OK;
}

static int format_scram(mox_buf *b, const char *name, const mox_sasl_scram_secret *s,
                        size_t hlen)
{
    int rc = mox_buf_appendf(b, " %s=%lu:", name, (unsigned long)s->iterations);
    if (rc == MOX_OK)
        rc = mox_base64_encode(s->salt, s->salt_len, b);
    if (rc == MOX_OK)
        rc = mox_buf_append_byte(b, ':');
    if (rc == MOX_OK)
        rc = mox_base64_encode(s->stored_key, hlen, b);
    if (rc == MOX_OK)
        rc = mox_buf_append_byte(b, ':');
    if (rc == MOX_OK)
        rc = mox_base64_encode(s->server_key, hlen, b);
    return rc;
}

int mox_sasl_secrets_format(const mox_sasl_secrets *s, mox_buf *out)
{
    if (!s || !out)
        return MOX_ERR_INVAL;
    mox_buf b = MOX_BUF_INIT;
    int rc = mox_buf_append_str(&b, SECRETS_TAG "1");
    if (rc == MOX_OK && s->scram_sha256.present)
        rc = format_scram(&b, "scram-sha-256", &s->scram_sha256, 32);
    if (rc == MOX_OK && s->scram_sha1.present)
        rc = format_scram(&b, "scram-sha-1", &s->scram_sha1, 20);
    if (rc == MOX_OK && s->cram_md5_present) {
        rc = mox_buf_append_str(&b, " cram-md5=");
        if (rc == MOX_OK)
            rc = mox_hex_encode(s->cram_md5_inner, 16, &b);
        if (rc == MOX_OK)
            rc = mox_hex_encode(s->cram_md5_outer, 16, &b);
    }
    if (rc == MOX_OK)
        rc = mox_buf_append(out, b.data, b.len);
    moxi_sasl_buf_wipe_free(&b);
    return rc;
}

/* Decodes base64 `s` into exactly `want` bytes (or 1..want when `upto`). */
static int b64_field(const char *s, size_t len, unsigned char *dst, size_t want, int upto,
                     size_t *got)
{
    mox_buf b = MOX_BUF_INIT;
    int rc = mox_base64_decode(s, len, 0, &b, NULL);
    if (rc == MOX_OK) {
        if (upto ? (b.len == 0 || b.len > want) : b.len != want)
            rc = upto && b.len > want ? MOX_ERR_LIMIT : MOX_ERR_SYNTAX;
        else
            memcpy(dst, b.data, b.len);
        if (got)
            *got = b.len;
    }
    moxi_sasl_buf_wipe_free(&b);
    return rc;
}

static int parse_scram(const char *v, size_t len, size_t hlen, mox_sasl_scram_secret *s)
{
    const char *part[4];
    size_t plen[4];
    size_t n = 0, st = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || v[i] == ':') {
            if (n == 4)
                return MOX_ERR_SYNTAX;
            part[n] = v + st;
            plen[n] = i - st;
            n++;
            st = i + 1;
        }
    }
    if (n != 4)
        return MOX_ERR_SYNTAX;
    uint32_t it;
    if (!moxi_sasl_parse_u32(part[0], plen[0], &it))
        return MOX_ERR_SYNTAX;
    if (it > MOX_SASL_MAX_ITERATIONS)
        return MOX_ERR_LIMIT;
    int rc = b64_field(part[1], plen[1], s->salt, MOX_SASL_SALT_MAX, 1, &s->salt_len);
    if (rc == MOX_OK)
        rc = b64_field(part[2], plen[2], s->stored_key, hlen, 0, NULL);
    if (rc == MOX_OK)
        rc = b64_field(part[3], plen[3], s->server_key, hlen, 0, NULL);
    if (rc == MOX_OK) {
        s->iterations = it;
        s->present = 1;
    }
    return rc;
}

int mox_sasl_secrets_parse(const char *str, size_t len, mox_sasl_secrets *out,
                           mox_errinfo *ei)
{
    if (!out || (!str && len))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "missing argument");
    secrets_reset(out);
    /* Tolerate the line terminator and surrounding blanks of config files. */
    size_t b = 0, e = len;
    while (b < e && (str[b] == ' ' || str[b] == '\t'))
        b++;
    while (e > b && (str[e - 1] == ' ' || str[e - 1] == '\t' || str[e - 1] == '\r' ||
                     str[e - 1] == '\n'))
        e--;
    size_t i = b;
    while (i < e && str[i] != ' ')
        i++;
    size_t taglen = strlen(SECRETS_TAG);
    if (i - b < taglen || memcmp(str + b, SECRETS_TAG, taglen) != 0)
        return moxi_fail(ei, MOX_ERR_SYNTAX, 0, b, "not a mox-sasl secrets line");
    if (i - b != taglen + 1 || str[b + taglen] != '1')
        return moxi_fail(ei, MOX_ERR_UNSUPPORTED, 0, b, "unsupported secrets version \"%.*s\"",
                         (int)(i - b), str + b);
    int rc = MOX_OK;
    while (i < e && rc == MOX_OK) {
        if (str[i] != ' ')
            return moxi_fail(ei, MOX_ERR_SYNTAX, 0, i, "expected a space");
        while (i < e && str[i] == ' ')
            i++;
        size_t st = i;
        while (i < e && str[i] != ' ')
            i++;
        const char *f = str + st;
        size_t flen = i - st;
        const char *eq = memchr(f, '=', flen);
        if (!eq || eq == f)
            return moxi_fail(ei, MOX_ERR_SYNTAX, 0, st, "field without name=value");
        size_t nlen = (size_t)(eq - f);
        const char *v = eq + 1;
        size_t vlen = flen - nlen - 1;
        mox_sasl_scram_secret *sc = NULL;
        size_t hlen = 0;
        if (nlen == 13 && !memcmp(f, "scram-sha-256", 13)) {
            sc = &out->scram_sha256;
            hlen = 32;
        } else if (nlen == 11 && !memcmp(f, "scram-sha-1", 11)) {
            sc = &out->scram_sha1;
            hlen = 20;
        }
        if (sc) {
            if (sc->present)
                rc = moxi_fail(ei, MOX_ERR_SYNTAX, 0, st, "repeated field %.*s", (int)nlen, f);
            else if ((rc = parse_scram(v, vlen, hlen, sc)) != MOX_OK)
                rc = moxi_fail(ei, rc, 0, st, "bad %.*s field", (int)nlen, f);
        } else if (nlen == 8 && !memcmp(f, "cram-md5", 8)) {
            mox_buf hb = MOX_BUF_INIT;
            if (out->cram_md5_present)
                rc = moxi_fail(ei, MOX_ERR_SYNTAX, 0, st, "repeated field cram-md5");
            else if (vlen != 64 ||
                     (rc = mox_hex_decode(v, vlen, &hb, NULL)) != MOX_OK)
                rc = moxi_fail(ei, rc == MOX_ERR_NOMEM ? rc : MOX_ERR_SYNTAX, 0, st,
                               "bad cram-md5 field");
            else {
                memcpy(out->cram_md5_inner, hb.data, 16);
                memcpy(out->cram_md5_outer, hb.data + 16, 16);
                out->cram_md5_present = 1;
            }
            moxi_sasl_buf_wipe_free(&hb);
        }
        /* Other names: fields of a newer writer; ignored. */
    }
    if (rc != MOX_OK)
        mox_sasl_secrets_wipe(out);
    return rc;
}

static int verify_scram(moxi_sasl_hash h, const mox_sasl_scram_secret *s, const char *pw,
                        size_t pwlen)
{
    unsigned char salted[MOXI_HASH_MAX], stored[MOXI_HASH_MAX];
    size_t n = moxi_sasl_hash_len(h);
    int rc = moxi_sasl_pbkdf2(h, pw, pwlen, s->salt, s->salt_len, s->iterations, salted);
    if (rc == MOX_OK)
        rc = moxi_sasl_scram_keys(h, salted, NULL, stored, NULL);
    if (rc == MOX_OK && !moxi_sasl_ct_equal(stored, s->stored_key, n))
        rc = MOX_ERR_PERM;
    moxi_sasl_wipe(salted, sizeof salted);
    moxi_sasl_wipe(stored, sizeof stored);
    return rc;
}

int moxi_sasl_scram_usable(const mox_sasl_scram_secret *sc)
{
    return sc->present && sc->iterations > 0 && sc->iterations <= MOX_SASL_MAX_ITERATIONS &&
           sc->salt_len > 0 && sc->salt_len <= MOX_SASL_SALT_MAX;
}

int mox_sasl_verify_password(const mox_sasl_secrets *s, const char *password, size_t len)
{
    if (!s || (!password && len))
        return MOX_ERR_INVAL;
    int s256 = moxi_sasl_scram_usable(&s->scram_sha256), s1 = moxi_sasl_scram_usable(&s->scram_sha1);
    if (!s256 && !s1 && !s->cram_md5_present)
        return MOX_ERR_NOTFOUND;
    char *prep = NULL;
    size_t plen = 0;
    int rc = moxi_sasl_prepare_password(password ? password : "", len, &prep, &plen, NULL);
    if (rc == MOX_ERR_NOMEM)
        return rc;
    if (rc != MOX_OK)
        return MOX_ERR_PERM;
    if (s256) {
        rc = verify_scram(MOXI_SHA256, &s->scram_sha256, prep, plen);
    } else if (s1) {
        rc = verify_scram(MOXI_SHA1, &s->scram_sha1, prep, plen);
    } else {
        unsigned char in[16], outer[16];
        rc = moxi_sasl_cram_state(prep, plen, in, outer);
        if (rc == MOX_OK && !(moxi_sasl_ct_equal(in, s->cram_md5_inner, 16) &
                              moxi_sasl_ct_equal(outer, s->cram_md5_outer, 16)))
            rc = MOX_ERR_PERM;
        moxi_sasl_wipe(in, sizeof in);
        moxi_sasl_wipe(outer, sizeof outer);
    }
    moxi_sasl_free_secret(prep, plen);
    return rc;
}
