/* DSN parameters (RFC 3461): xtext, NOTIFY, RET, ENVID, ORCPT, with the
 * UTF-8 address forms of RFC 6533. */
#include <stdio.h>
#include <string.h>

#include "mox/text.h"
#include "smtp_priv.h"

/* ---------------------------------------------------------------- xtext */

/* RFC 3461 §4: xchar is "!" to "~" except "+" and "=". */
static int xchar(unsigned char c) { return c >= '!' && c <= '~' && c != '+' && c != '='; }

size_t mox_smtp_xtext_len(const void *s, size_t n)
{
    const unsigned char *p = s;
    size_t l = 0;
    for (size_t i = 0; i < n; i++)
        l += xchar(p[i]) ? 1 : 3;
    return l;
}

int mox_smtp_xtext_encode(mox_buf *out, const void *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!out || (!s && n))
        return MOX_ERR_INVAL;
    size_t orig = out->len;
    if (mox_buf_reserve(out, mox_smtp_xtext_len(s, n)) != MOX_OK)
        return MOX_ERR_NOMEM;
    const unsigned char *p = s;
    unsigned char *d = out->data + orig;
    for (size_t i = 0; i < n; i++) {
        if (xchar(p[i])) {
            *d++ = p[i];
        } else {
            *d++ = '+';
            *d++ = (unsigned char)hex[p[i] >> 4];
            *d++ = (unsigned char)hex[p[i] & 15];
        }
    }
    *d = 0;
    out->len = (size_t)(d - out->data);
    return MOX_OK;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int mox_smtp_xtext_decode(const char *p, size_t n, char **out)
{
    if (!out)
        return MOX_ERR_INVAL;
    *out = NULL;
    if (!p && n)
        return MOX_ERR_INVAL;
    char *d = mox_malloc(n + 1);
    if (!d)
        return MOX_ERR_NOMEM;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '+') {
            /* hexchar = "+" 2(%x30-39 / %x41-46): upper case only */
            if (i + 2 >= n)
                goto bad;
            int a = hexval(p[i + 1]), b = hexval(p[i + 2]);
            if (a < 0 || b < 0)
                goto bad;
            c = (unsigned char)(a * 16 + b);
            if (c < 0x20 || c == 0x7f)
                goto bad;
            i += 2;
        } else if (!xchar(c) && c < 0x80) {
            goto bad;
        }
        d[o++] = (char)c;
    }
    d[o] = 0;
    *out = d;
    return MOX_OK;
bad:
    mox_free(d);
    return MOX_ERR_SYNTAX;
}

/* ---------------------------------------------------------------- NOTIFY, RET */

static const struct {
    unsigned bit;
    const char *name;
} notify_names[] = {{MOX_SMTP_NOTIFY_NEVER, "NEVER"},
                    {MOX_SMTP_NOTIFY_SUCCESS, "SUCCESS"},
                    {MOX_SMTP_NOTIFY_FAILURE, "FAILURE"},
                    {MOX_SMTP_NOTIFY_DELAY, "DELAY"}};

int mox_smtp_notify_valid(unsigned n)
{
    if (n & ~0xfu)
        return 0;
    return !(n & MOX_SMTP_NOTIFY_NEVER) || n == MOX_SMTP_NOTIFY_NEVER;
}

int mox_smtp_notify_parse(const char *p, size_t n, unsigned *out)
{
    if (!p || !out || n == 0)
        return MOX_ERR_SYNTAX;
    unsigned bits = 0;
    size_t st = 0;
    for (;;) {
        const char *c = memchr(p + st, ',', n - st);
        size_t e = c ? (size_t)(c - p) : n;
        unsigned b = 0;
        for (size_t k = 0; k < MOX_ARRAY_LEN(notify_names) && !b; k++)
            if (moxi_smtp_word_eq(p + st, e - st, notify_names[k].name))
                b = notify_names[k].bit;
        if (!b || (bits & b))
            return MOX_ERR_SYNTAX;
        bits |= b;
        if (!c)
            break;
        st = e + 1;
    }
    if (!mox_smtp_notify_valid(bits))
        return MOX_ERR_SYNTAX; /* RFC 3461 §4.1: NEVER stands alone */
    *out = bits;
    return MOX_OK;
}

int mox_smtp_notify_format(mox_buf *out, unsigned n)
{
    if (!out || n == 0 || !mox_smtp_notify_valid(n))
        return MOX_ERR_INVAL;
    size_t orig = out->len;
    int rc = MOX_OK;
    const char *sep = "";
    for (size_t k = 0; k < MOX_ARRAY_LEN(notify_names) && rc == MOX_OK; k++)
        if (n & notify_names[k].bit) {
            rc = mox_buf_appendf(out, "%s%s", sep, notify_names[k].name);
            sep = ",";
        }
    if (rc != MOX_OK) {
        out->len = orig;
        if (out->data)
            out->data[orig] = 0;
    }
    return rc;
}

int mox_smtp_ret_parse(const char *p, size_t n, int *ret)
{
    if (!p || !ret)
        return MOX_ERR_SYNTAX;
    if (moxi_smtp_word_eq(p, n, "FULL"))
        *ret = MOX_SMTP_RET_FULL;
    else if (moxi_smtp_word_eq(p, n, "HDRS"))
        *ret = MOX_SMTP_RET_HDRS;
    else
        return MOX_ERR_SYNTAX;
    return MOX_OK;
}

const char *mox_smtp_ret_name(int ret)
{
    return ret == MOX_SMTP_RET_FULL ? "FULL" : ret == MOX_SMTP_RET_HDRS ? "HDRS" : NULL;
}

/* ---------------------------------------------------------------- ENVID */

int mox_smtp_envid_valid(const char *s)
{
    if (!s || !*s)
        return 0;
    /* RFC 3461 §4.4: printable US-ASCII before encoding; a control
     * character or a non-ASCII byte cannot be sent in any form. */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return 0;
    return mox_smtp_xtext_len(s, strlen(s)) <= MOX_SMTP_ENVID_MAX;
}

int mox_smtp_envid_parse(const char *p, size_t n, char **out)
{
    if (!out)
        return MOX_ERR_INVAL;
    *out = NULL;
    if (n > MOX_SMTP_ENVID_MAX)
        return MOX_ERR_LIMIT;
    if (n == 0)
        return MOX_ERR_SYNTAX;
    return mox_smtp_xtext_decode(p, n, out);
}

/* ---------------------------------------------------------------- ORCPT */

int mox_smtp_orcpt_parse(const char *p, size_t n, char **out)
{
    if (!out)
        return MOX_ERR_INVAL;
    *out = NULL;
    if (n > MOX_SMTP_ORCPT_MAX)
        return MOX_ERR_LIMIT;
    const char *semi = p && n ? memchr(p, ';', n) : NULL;
    if (!semi || semi == p)
        return MOX_ERR_SYNTAX;
    for (const char *c = p; c < semi; c++)
        if (!(moxi_is_alpha(*c) || moxi_is_digit(*c) || *c == '-'))
            return MOX_ERR_SYNTAX;
    char *dec = NULL;
    int rc = mox_smtp_xtext_decode(semi + 1, (size_t)(p + n - semi - 1), &dec);
    if (rc != MOX_OK)
        return rc;
    /* addr-type ";" decoded address */
    mox_buf b = MOX_BUF_INIT;
    rc = mox_buf_append(&b, p, (size_t)(semi - p + 1));
    if (rc == MOX_OK)
        rc = mox_buf_append_str(&b, dec);
    mox_free(dec);
    if (rc != MOX_OK) {
        mox_buf_free(&b);
        return rc;
    }
    *out = mox_buf_steal(&b, NULL);
    return *out ? MOX_OK : MOX_ERR_NOMEM;
}

/* RFC 6533 §3 QCHAR: printable ASCII except "+", "=" and "\". */
static int qchar(unsigned char c) { return c > 0x20 && c < 0x7f && c != '+' && c != '=' && c != '\\'; }

int mox_smtp_orcpt_valid(const char *s)
{
    if (!s || !*s)
        return 0;
    size_t n = strlen(s);
    if (!mox_utf8_valid(s, n, NULL))
        return 0;
    int ascii = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c >= 0x80)
            ascii = 0;
        /* C1 controls (U+0080..U+009F) are as unwelcome in a DSN */
        if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] <= 0x9f)
            return 0;
    }
    if (ascii)
        return strlen("rfc822;") + mox_smtp_xtext_len(s, n) <= MOX_SMTP_ORCPT_MAX;
    /* The shortest form (utf-8-addr-unitext, with SMTPUTF8) is measured:
     * which form is used is known only once the server's extensions are. */
    size_t l = strlen("utf-8;");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        l += c >= 0x80 || qchar(c) ? 1 : 6; /* "\x{HH}" */
    }
    return l <= MOX_SMTP_ORCPT_MAX;
}

int mox_smtp_orcpt_format(mox_buf *out, const char *s, int smtputf8)
{
    if (!out || !s)
        return MOX_ERR_INVAL;
    size_t orig = out->len, n = strlen(s);
    int rc;
    if (mox_is_ascii(s, n)) {
        rc = mox_buf_append_str(out, "rfc822;");
        if (rc == MOX_OK)
            rc = mox_smtp_xtext_encode(out, s, n);
    } else {
        rc = mox_buf_append_str(out, "utf-8;");
        const unsigned char *p = (const unsigned char *)s;
        while (*p && rc == MOX_OK) {
            unsigned c = *p;
            size_t k = 1;
            if (c >= 0x80) {
                size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
                unsigned cp = need == 4 ? (c & 7) : need == 3 ? (c & 15) : need == 2 ? (c & 31) : c;
                for (; k < need && (p[k] & 0xc0) == 0x80; k++)
                    cp = (cp << 6) | (p[k] & 0x3f);
                if (k < need)
                    k = 1, cp = c; /* malformed: the byte alone, escaped */
                if (smtputf8 && k > 1)
                    rc = mox_buf_append(out, p, k); /* utf-8-addr-unitext */
                else
                    rc = mox_buf_appendf(out, "\\x{%X}", cp); /* EmbeddedUnicodeChar */
            } else if (!qchar((unsigned char)c)) {
                rc = mox_buf_appendf(out, "\\x{%X}", c);
            } else {
                rc = mox_buf_append_byte(out, (unsigned char)c);
            }
            p += k;
        }
    }
    if (rc != MOX_OK) {
        out->len = orig;
        if (out->data)
            out->data[orig] = 0;
    }
    return rc;
}
