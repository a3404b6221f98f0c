/* UTF-8 validation and NFC normalisation. */
#include <string.h>

#include <utf8proc.h>

#include "core/core_priv.h"
#include "text/text_priv.h"

int32_t moxi_text_utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    size_t p = *i;
    unsigned c = s[p];
    if (c < 0x80) {
        *i = p + 1;
        return (int32_t)c;
    }
    size_t need;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        cp = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        cp = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return -1; /* continuation byte, C0/C1 overlong lead, F5..FF */
    }
    if (len - p - 1 < need)
        return -1;
    for (size_t k = 1; k <= need; k++) {
        unsigned b = s[p + k];
        if ((b & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *i = p + need + 1;
    return (int32_t)cp;
}

size_t moxi_text_utf8_put(int32_t cp, unsigned char *o)
{
    uint32_t c = (uint32_t)cp;
    if (c < 0x80) {
        o[0] = (unsigned char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (unsigned char)(0xC0 | (c >> 6));
        o[1] = (unsigned char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (c >> 12));
        o[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (c >> 18));
    o[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (c & 0x3F));
    return 4;
}

int moxi_text_in_ranges(const struct moxi_range *r, size_t n, int32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

int mox_utf8_valid(const void *s, size_t len, size_t *bad_offset)
{
    const unsigned char *p = s;
    size_t i = 0;
    if (len && !p) {
        if (bad_offset)
            *bad_offset = 0;
        return 0;
    }
    while (i < len) {
        /* ASCII runs dominate mail; skip them without the decoder. */
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        if (moxi_text_utf8_next(p, len, &i) < 0) {
            if (bad_offset)
                *bad_offset = i;
            return 0;
        }
    }
    return 1;
}

int mox_is_ascii(const void *s, size_t len)
{
    const unsigned char *p = s;
    for (size_t i = 0; i < len; i++)
        if (p[i] >= 0x80)
            return 0;
    return 1;
}

int moxi_text_nfc(const char *s, size_t len, char **out, size_t *out_len)
{
    if (mox_is_ascii(s, len)) {
        /* ASCII is always in NFC; skip utf8proc and its 4x buffer. */
        char *c = moxi_strndup(len ? s : "", len);
        if (!c)
            return MOX_ERR_NOMEM;
        *out = c;
        if (out_len)
            *out_len = len;
        return MOX_OK;
    }
    const utf8proc_option_t opt = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    utf8proc_ssize_t n = utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len,
                                            NULL, 0, opt);
    if (n < 0)
        return n == UTF8PROC_ERROR_NOMEM ? MOX_ERR_NOMEM
               : n == UTF8PROC_ERROR_OVERFLOW ? MOX_ERR_LIMIT
                                              : MOX_ERR_UTF8;
    /* utf8proc_reencode writes UTF-8 (at most 4 bytes per code point, plus
     * a NUL) over the code point buffer in place. */
    utf8proc_int32_t *buf = mox_malloc(((size_t)n + 1) * sizeof *buf);
    if (!buf)
        return MOX_ERR_NOMEM;
    utf8proc_ssize_t m = utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len,
                                            buf, n, opt);
    if (m >= 0 && m <= n)
        m = utf8proc_reencode(buf, m, opt);
    else if (m >= 0)
        m = UTF8PROC_ERROR_OVERFLOW;
    if (m < 0) {
        mox_free(buf);
        return m == UTF8PROC_ERROR_OVERFLOW ? MOX_ERR_LIMIT : MOX_ERR_UTF8;
    }
    char *res = (char *)buf;
    /* Shrinking cannot fail in practice; if it does the bigger block is
     * still a valid result. */
    char *shrunk = mox_realloc(res, (size_t)m + 1);
    if (shrunk)
        res = shrunk;
    *out = res;
    if (out_len)
        *out_len = (size_t)m;
    return MOX_OK;
}

int mox_utf8_nfc(const char *s, size_t len, char **out, size_t *out_len)
{
    if (!out || (len && !s))
        return MOX_ERR_INVAL;
    *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!mox_utf8_valid(s, len, NULL))
        return MOX_ERR_UTF8;
    return moxi_text_nfc(s, len, out, out_len);
}
