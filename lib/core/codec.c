/* Strict base64 (RFC 4648 §4) and hex. */
#include "core_priv.h"

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int mox_base64_encode(const void *in, size_t len, mox_buf *out)
{
    const unsigned char *p = in;
    if (len > (SIZE_MAX / 4) * 3 - 3)
        return MOX_ERR_LIMIT;
    int rc = mox_buf_reserve(out, (len + 2) / 3 * 4);
    if (rc)
        return rc;
    char *o = (char *)out->data + out->len;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = b64chars[v >> 18];
        *o++ = b64chars[(v >> 12) & 63];
        *o++ = b64chars[(v >> 6) & 63];
        *o++ = b64chars[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = b64chars[v >> 18];
        *o++ = b64chars[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = b64chars[v >> 18];
        *o++ = b64chars[(v >> 12) & 63];
        *o++ = b64chars[(v >> 6) & 63];
        *o++ = '=';
    }
    out->len = (size_t)((unsigned char *)o - out->data);
    out->data[out->len] = 0;
    return MOX_OK;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static int is_b64ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int mox_base64_decode(const char *in, size_t len, unsigned flags, mox_buf *out,
                      mox_errinfo *ei)
{
    size_t orig = out->len;
    int rc = mox_buf_reserve(out, len / 4 * 3 + 3);
    if (rc)
        return rc;
    unsigned char *o = out->data + out->len;
    uint32_t acc = 0;
    int n = 0;      /* sextets in acc */
    int pad = 0;    /* '=' seen */
    size_t last = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if ((flags & MOX_BASE64_ALLOW_WS) && is_b64ws(c))
            continue;
        last = i;
        if (c == '=') {
            if (n < 2 || n + pad >= 4)
                goto bad;
            pad++;
            continue;
        }
        if (pad)
            goto bad; /* data after padding */
        int v = b64val(c);
        if (v < 0)
            goto bad;
        acc = acc << 6 | (uint32_t)v;
        if (++n == 4) {
            *o++ = (unsigned char)(acc >> 16);
            *o++ = (unsigned char)(acc >> 8);
            *o++ = (unsigned char)acc;
            acc = 0;
            n = 0;
        }
    }
    if (n == 1)
        return moxi_fail(ei, MOX_ERR_SYNTAX, 0, last, "base64: truncated quantum");
    if (n > 0) {
        if (!(flags & MOX_BASE64_NOPAD) && n + pad != 4)
            return moxi_fail(ei, MOX_ERR_SYNTAX, 0, len, "base64: missing padding");
        if (pad && n + pad != 4)
            return moxi_fail(ei, MOX_ERR_SYNTAX, 0, last, "base64: wrong padding");
        if (n == 2) {
            if (acc & 0xf)
                return moxi_fail(ei, MOX_ERR_SYNTAX, 0, last, "base64: non-zero trailing bits");
            *o++ = (unsigned char)(acc >> 4);
        } else {
            if (acc & 0x3)
                return moxi_fail(ei, MOX_ERR_SYNTAX, 0, last, "base64: non-zero trailing bits");
            *o++ = (unsigned char)(acc >> 10);
            *o++ = (unsigned char)(acc >> 2);
        }
    } else if (pad) {
        return moxi_fail(ei, MOX_ERR_SYNTAX, 0, last, "base64: misplaced padding");
    }
    out->len = (size_t)(o - out->data);
    out->data[out->len] = 0;
    return MOX_OK;
bad:
    out->len = orig;
    out->data[orig] = 0;
    return moxi_fail(ei, MOX_ERR_SYNTAX, 0, last, "base64: invalid character at offset %zu", last);
}

int mox_hex_encode(const void *in, size_t len, mox_buf *out)
{
    static const char hx[] = "0123456789abcdef";
    const unsigned char *p = in;
    if (len > SIZE_MAX / 2 - 1)
        return MOX_ERR_LIMIT;
    int rc = mox_buf_reserve(out, len * 2);
    if (rc)
        return rc;
    for (size_t i = 0; i < len; i++) {
        out->data[out->len++] = (unsigned char)hx[p[i] >> 4];
        out->data[out->len++] = (unsigned char)hx[p[i] & 15];
    }
    out->data[out->len] = 0;
    return MOX_OK;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int mox_hex_decode(const char *in, size_t len, mox_buf *out, mox_errinfo *ei)
{
    if (len % 2)
        return moxi_fail(ei, MOX_ERR_SYNTAX, 0, len, "hex: odd length");
    for (size_t i = 0; i < len; i++)
        if (hexval((unsigned char)in[i]) < 0)
            return moxi_fail(ei, MOX_ERR_SYNTAX, 0, i, "hex: invalid character at offset %zu", i);
    int rc = mox_buf_reserve(out, len / 2);
    if (rc)
        return rc;
    for (size_t i = 0; i < len; i += 2)
        out->data[out->len++] = (unsigned char)(hexval((unsigned char)in[i]) << 4 |
                                                hexval((unsigned char)in[i + 1]));
    out->data[out->len] = 0;
    return MOX_OK;
}
