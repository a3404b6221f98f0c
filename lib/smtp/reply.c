/* SMTP replies (RFC 5321 §4.2) and enhanced status codes (RFC 3463,
 * RFC 2034): parsing, formatting, validation. */
#include <stdio.h>
#include <string.h>

#include "smtp_priv.h"

#define DEFAULT_MAX_LINE 4096
#define DEFAULT_MAX_LINES 256

int mox_smtp_code_valid(int code)
{
    return code >= 200 && code <= 599 && (code / 10) % 10 <= 5;
}

size_t mox_smtp_enhanced_len(const char *p, size_t n, int code)
{
    if (!p || n < 5 || p[1] != '.')
        return 0;
    if (code) {
        if (p[0] != '0' + code / 100)
            return 0;
    } else if (p[0] != '2' && p[0] != '4' && p[0] != '5') {
        return 0;
    }
    size_t i = 2;
    for (int part = 0; part < 2; part++) {
        size_t d = 0;
        while (i < n && moxi_is_digit(p[i]) && d < 4)
            i++, d++;
        if (d < 1 || d > 3)
            return 0;
        if (part == 0) {
            if (i >= n || p[i] != '.')
                return 0;
            i++;
        }
    }
    if (i < n && p[i] != ' ')
        return 0;
    return i;
}

int mox_smtp_enhanced_valid(const char *e, int code)
{
    if (!e || code < 200 || code > 599)
        return 0;
    size_t n = strlen(e);
    return n > 0 && mox_smtp_enhanced_len(e, n, code) == n;
}

void mox_smtp_reply_clear(mox_smtp_reply *r)
{
    if (!r)
        return;
    mox_free(r->text);
    mox_free(r->lines);
    memset(r, 0, sizeof *r);
}

int mox_smtp_reply_parse(const void *buf, size_t len, const mox_smtp_reply_limits *limits,
                         mox_smtp_reply *r, size_t *consumed, mox_errinfo *ei)
{
    const char *s = buf;
    size_t max_line = limits && limits->max_line ? limits->max_line : DEFAULT_MAX_LINE;
    size_t max_lines = limits && limits->max_lines ? limits->max_lines : DEFAULT_MAX_LINES;
    if (!r || !consumed || (!buf && len))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid argument");

    /* Pass 1: find the extent of the reply and check its syntax. */
    size_t pos = 0, nlines = 0, textlen = 0;
    int code = -1;
    for (;;) {
        const char *nl = memchr(s + pos, '\n', len - pos);
        if (!nl) {
            if (len - pos > max_line + 1)
                return moxi_fail(ei, MOX_ERR_LIMIT, MOX_SMTP_REPLY_ERR_LINE_TOO_LONG, pos,
                                 "reply line longer than %zu bytes", max_line);
            return MOX_ERR_AGAIN;
        }
        size_t end = (size_t)(nl - s), ll = end - pos;
        if (ll && s[end - 1] == '\r')
            ll--;
        if (ll > max_line)
            return moxi_fail(ei, MOX_ERR_LIMIT, MOX_SMTP_REPLY_ERR_LINE_TOO_LONG, pos,
                             "reply line longer than %zu bytes", max_line);
        const char *l = s + pos;
        if (ll < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '5' ||
            !moxi_is_digit(l[2]))
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SMTP_REPLY_ERR_CODE, pos,
                             "reply line without a valid code");
        int lc = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
        if (code >= 0 && lc != code)
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SMTP_REPLY_ERR_MIXED_CODES, pos,
                             "reply lines with codes %d and %d", code, lc);
        code = lc;
        if (++nlines > max_lines)
            return moxi_fail(ei, MOX_ERR_LIMIT, MOX_SMTP_REPLY_ERR_TOO_MANY_LINES, pos,
                             "reply with more than %zu lines", max_lines);
        int last;
        if (ll == 3 || l[3] == ' ')
            last = 1;
        else if (l[3] == '-')
            last = 0;
        else
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SMTP_REPLY_ERR_SEPARATOR, pos + 3,
                             "reply line with bad separator after the code");
        textlen += (ll > 4 ? ll - 4 : 0) + 1;
        pos = end + 1;
        if (last)
            break;
    }

    /* Pass 2: one block holds the "\n"-joined text, then the
     * NUL-separated lines. */
    char *text = mox_malloc(2 * textlen);
    char **lines = mox_malloc(nlines * sizeof *lines);
    if (!text || !lines) {
        mox_free(text);
        mox_free(lines);
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    }
    memset(r, 0, sizeof *r);
    r->code = code;
    size_t p = 0, o = 0;
    for (size_t i = 0; i < nlines; i++) {
        const char *nl = memchr(s + p, '\n', len - p);
        size_t end = (size_t)(nl - s), ll = end - p;
        if (ll && s[end - 1] == '\r')
            ll--;
        const char *t = s + p + 4;
        size_t tl = ll > 4 ? ll - 4 : 0;
        size_t el = mox_smtp_enhanced_len(t, tl, code);
        if (el) {
            if (i == 0 && el < sizeof r->enhanced) {
                memcpy(r->enhanced, t, el);
                r->enhanced[el] = 0;
            }
            t += el;
            tl -= el;
            if (tl && *t == ' ')
                t++, tl--;
        }
        lines[i] = text + textlen + o;
        for (size_t k = 0; k < tl; k++) {
            unsigned char c = (unsigned char)t[k];
            char v = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
            text[o] = v;
            text[textlen + o++] = v;
        }
        text[o] = i + 1 < nlines ? '\n' : 0;
        text[textlen + o++] = 0;
        p = end + 1;
    }
    r->text = text;
    r->lines = lines;
    r->nlines = nlines;
    *consumed = pos;
    return MOX_OK;
}

int mox_smtp_reply_format(mox_buf *out, int code, const char *enh, const char *text)
{
    if (!out || !mox_smtp_code_valid(code))
        return MOX_ERR_INVAL;
    size_t orig = out->len;
    const char *t = text ? text : "";
    size_t el = enh ? strlen(enh) : 0;
    if (el > 15)
        el = 15; /* no valid enhanced code is longer ("5.123.456" is 9) */
    /* RFC 5321 §4.5.3.1.5: the code, separator, text and CRLF in 512. */
    size_t room = MOX_SMTP_REPLY_LINE_MAX - 4 - 2 - (el ? el + 1 : 0);
    for (;;) {
        const char *nl = strchr(t, '\n');
        size_t len = nl ? (size_t)(nl - t) : strlen(t);
        size_t keep = len > room ? room : len;
        if (mox_buf_reserve(out, 4 + el + 1 + keep + 2) != MOX_OK) {
            out->len = orig;
            if (out->data)
                out->data[orig] = 0;
            return MOX_ERR_NOMEM;
        }
        unsigned char *d = out->data + out->len;
        d[0] = (unsigned char)('0' + code / 100);
        d[1] = (unsigned char)('0' + code / 10 % 10);
        d[2] = (unsigned char)('0' + code % 10);
        d[3] = nl ? '-' : ' ';
        d += 4;
        if (el) {
            memcpy(d, enh, el);
            d += el;
            if (keep)
                *d++ = ' ';
        }
        for (size_t i = 0; i < keep; i++) {
            unsigned char c = (unsigned char)t[i];
            if (c < 0x20 || c == 0x7f)
                c = ' ';
            else if (c >= 0x80)
                c = '?';
            *d++ = c;
        }
        *d++ = '\r';
        *d++ = '\n';
        *d = 0;
        out->len = (size_t)(d - out->data);
        if (!nl)
            break;
        t = nl + 1;
    }
    return MOX_OK;
}
