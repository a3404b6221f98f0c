/* SPF macros (RFC 7208 §7): validation and bounded expansion. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>

#include "spf/spf_priv.h"

static int is_delim(int c)
{
    return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

static int is_unreserved(int c)
{
    return moxi_is_alpha(c) || moxi_is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

void moxi_spf_ip_dotted(const unsigned char *ip, int v6, char *out, size_t outsz)
{
    if (!v6) {
        snprintf(out, outsz, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
        return;
    }
    /* RFC 7208 §7.3: dot-separated nibbles; the RFC's own example and the
     * openspf suite write them in upper case. */
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (int i = 0; i < 16 && o + 4 < outsz; i++) {
        out[o++] = hex[ip[i] >> 4];
        out[o++] = '.';
        out[o++] = hex[ip[i] & 15];
        if (i < 15)
            out[o++] = '.';
    }
    out[o] = '\0';
}

void moxi_spf_ip_text(const unsigned char *ip, int v6, char *out, size_t outsz)
{
    if (!inet_ntop(v6 ? AF_INET6 : AF_INET, ip, out, (socklen_t)outsz) && outsz)
        out[0] = '\0';
}

int moxi_spf_ip_parse(const char *s, unsigned char ip[16], int *v6)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(ip, 0, 16);
    if (!s)
        return -1;
    if (inet_pton(AF_INET, s, ip) == 1) {
        *v6 = 0;
        return 0;
    }
    if (inet_pton(AF_INET6, s, ip) != 1)
        return -1;
    if (!memcmp(ip, mapped, 12)) {
        memmove(ip, ip + 12, 4);
        memset(ip + 4, 0, 12);
        *v6 = 0;
        return 0;
    }
    *v6 = 1;
    return 0;
}

int moxi_spf_macro_uses_p(const char *s, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++) {
        if (s[i] != '%')
            continue;
        if (s[i + 1] == '{' && (s[i + 2] | 32) == 'p')
            return 1;
        i++; /* skip the escaped character of %%, %_, %- */
    }
    return 0;
}

/* Appends with the running bound. */
static int put(mox_buf *out, size_t start, size_t max, const void *p, size_t n)
{
    if (out->len - start + n > max)
        return MOX_ERR_LIMIT;
    return mox_buf_append(out, p, n);
}

static int put_part(mox_buf *out, size_t start, size_t max, const char *p, size_t n, int escape)
{
    if (!escape)
        return put(out, start, max, p, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        int rc;
        if (is_unreserved(c)) {
            rc = put(out, start, max, &p[i], 1);
        } else {
            char e[4];
            snprintf(e, sizeof e, "%%%02X", c);
            rc = put(out, start, max, e, 3);
        }
        if (rc)
            return rc;
    }
    return MOX_OK;
}

/* Expands one letter's value with its transformers. */
static int expand_value(mox_buf *out, size_t start, size_t max, const char *val, size_t vlen,
                        unsigned long digits, int reverse, const char *delims, size_t ndelims,
                        int escape)
{
    /* Parts of the value (split on the delimiters); the value is bounded
     * so the table is too. */
    uint16_t ps[MOXI_SPF_MAX_VALUE + 1], pe[MOXI_SPF_MAX_VALUE + 1];
    size_t np = 0, b = 0;
    if (vlen > MOXI_SPF_MAX_VALUE)
        return MOX_ERR_LIMIT;
    if (!digits && !reverse && !ndelims)
        return put_part(out, start, max, val, vlen, escape);
    for (size_t i = 0; i <= vlen; i++) {
        int d = 0;
        if (i < vlen) {
            if (ndelims) {
                for (size_t k = 0; k < ndelims; k++)
                    if (val[i] == delims[k])
                        d = 1;
            } else {
                d = val[i] == '.';
            }
        }
        if (i == vlen || d) {
            ps[np] = (uint16_t)b;
            pe[np] = (uint16_t)i;
            np++;
            b = i + 1;
        }
    }
    /* After optional reversal, keep the rightmost `digits` parts. */
    size_t keep = (digits && digits < np) ? (size_t)digits : np;
    for (size_t k = 0; k < keep; k++) {
        size_t idx = reverse ? keep - 1 - k : np - keep + k;
        int rc;
        if (k && (rc = put(out, start, max, ".", 1)))
            return rc;
        if ((rc = put_part(out, start, max, val + ps[idx], (size_t)(pe[idx] - ps[idx]), escape)))
            return rc;
    }
    return MOX_OK;
}

static int letter_value(const moxi_spf_vars *v, int letter, char *tmp, size_t tmpsz,
                        const char **val)
{
    switch (letter) {
    case 's': *val = v->sender; break;
    case 'l': *val = v->local; break;
    case 'o': *val = v->odomain; break;
    case 'd': *val = v->domain; break;
    case 'h': *val = v->helo ? v->helo : "unknown"; break;
    case 'p': *val = v->ptr ? v->ptr : "unknown"; break;
    case 'r': *val = v->receiver ? v->receiver : "unknown"; break;
    case 'v': *val = v->v6 ? "ip6" : "in-addr"; break;
    case 'i': moxi_spf_ip_dotted(v->ip, v->v6, tmp, tmpsz); *val = tmp; break;
    case 'c': moxi_spf_ip_text(v->ip, v->v6, tmp, tmpsz); *val = tmp; break;
    case 't': snprintf(tmp, tmpsz, "%" PRId64, v->t); *val = tmp; break;
    default: return MOX_ERR_INVAL;
    }
    if (!*val)
        *val = "";
    return MOX_OK;
}

int moxi_spf_macro(const char *s, size_t len, const moxi_spf_vars *v, unsigned flags, size_t max,
                   mox_buf *out, int *ends_macro, size_t *lit_start, mox_errinfo *ei)
{
    int check = (flags & MOXI_SPF_CHECK_ONLY) != 0;
    int exp = (flags & MOX_SPF_EXPAND_EXP) != 0;
    size_t start = out ? out->len : 0;
    int last_macro = 0, rc = MOX_OK;
    size_t lit = 0;
    if (!max)
        max = 4096;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c != '%') {
            /* macro-literal = %x21-24 / %x26-7E; explanation-string also
             * allows SP. */
            if (!(c >= 0x21 && c <= 0x7e) && !(exp && c == ' ')) {
                rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_CHAR, i,
                               "character 0x%02x not allowed in a macro-string", c);
                goto fail;
            }
            if (last_macro || i == 0)
                lit = i;
            last_macro = 0;
            if (!check && (rc = put(out, start, max, &s[i], 1)))
                goto limit;
            i++;
            continue;
        }
        if (i + 1 >= len) {
            rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_MACRO, i, "'%%' at end of macro-string");
            goto fail;
        }
        char n = s[i + 1];
        if (n == '%' || n == '_' || n == '-') {
            const char *rep = n == '%' ? "%" : n == '_' ? " " : "%20";
            if (last_macro || i == 0)
                lit = i;
            last_macro = 0;
            if (!check && (rc = put(out, start, max, rep, strlen(rep))))
                goto limit;
            i += 2;
            continue;
        }
        if (n != '{') {
            rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_MACRO, i,
                           "'%%' must be followed by '{', '%%', '_' or '-'");
            goto fail;
        }
        size_t m = i;
        i += 2;
        if (i >= len) {
            rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_MACRO, m, "unterminated macro");
            goto fail;
        }
        int letter = moxi_lower((unsigned char)s[i]);
        int upper = s[i] >= 'A' && s[i] <= 'Z';
        int ok = letter == 's' || letter == 'l' || letter == 'o' || letter == 'd' ||
                 letter == 'i' || letter == 'p' || letter == 'h' || letter == 'v';
        int exponly = letter == 'c' || letter == 'r' || letter == 't';
        if (!ok && !(exponly && (exp || (flags & MOXI_SPF_ANY_LETTER)))) {
            rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_MACRO_LETTER, i,
                           exponly ? "macro letter '%c' is only valid in exp= text"
                                   : "unknown macro letter '%c'",
                           (s[i] >= 0x21 && s[i] <= 0x7e) ? s[i] : '?');
            goto fail;
        }
        i++;
        unsigned long digits = 0;
        int have_digits = 0;
        while (i < len && moxi_is_digit((unsigned char)s[i])) {
            have_digits = 1;
            if (digits < 100000)
                digits = digits * 10 + (unsigned long)(s[i] - '0');
            i++;
        }
        if (have_digits && digits == 0) {
            rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_MACRO, i - 1,
                           "macro part count must be non-zero");
            goto fail;
        }
        int reverse = 0;
        if (i < len && (s[i] | 32) == 'r') {
            reverse = 1;
            i++;
        }
        size_t dstart = i;
        while (i < len && is_delim((unsigned char)s[i]))
            i++;
        size_t ndelims = i - dstart;
        if (i >= len || s[i] != '}') {
            rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_MACRO, i < len ? i : m,
                           i < len ? "unexpected character in macro" : "unterminated macro");
            goto fail;
        }
        i++;
        last_macro = 1;
        if (check)
            continue;
        char tmp[80];
        const char *val;
        if ((rc = letter_value(v, letter, tmp, sizeof tmp, &val)))
            goto fail;
        rc = expand_value(out, start, max, val, strlen(val), digits, reverse, s + dstart, ndelims,
                          upper);
        if (rc)
            goto limit;
    }
    if (ends_macro)
        *ends_macro = last_macro;
    if (lit_start)
        *lit_start = last_macro ? len : lit;
    if (!check && (flags & MOX_SPF_EXPAND_DOMAIN)) {
        /* RFC 7208 §7.3: one trailing dot goes; beyond 253 octets, labels
         * are removed from the left. */
        char *d = (char *)out->data + start;
        size_t n = out->len - start;
        if (n && d[n - 1] == '.')
            n--;
        size_t cut = 0;
        while (n - cut > 253) {
            char *dot = memchr(d + cut, '.', n - cut);
            if (!dot)
                break;
            cut = (size_t)(dot - d) + 1;
        }
        if (cut)
            memmove(d, d + cut, n - cut);
        out->len = start + n - cut;
        out->data[out->len] = '\0';
    }
    return MOX_OK;
limit:
    if (rc == MOX_ERR_LIMIT)
        moxi_fail(ei, rc, 0, i, "macro expansion longer than %zu bytes", max);
fail:
    if (out && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}

int mox_spf_expand(const char *macro, size_t len, const mox_spf_macro_vars *vars, unsigned flags,
                   size_t max_len, mox_buf *out, mox_errinfo *ei)
{
    if ((!macro && len) || !vars || !out || vars->size < sizeof(size_t))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid argument");
    moxi_spf_vars v;
    memset(&v, 0, sizeof v);
    const char *sender = vars->sender ? vars->sender : "";
    const char *at = strrchr(sender, '@');
    char *local = NULL;
    if (strlen(sender) > 1024)
        return moxi_fail(ei, MOX_ERR_LIMIT, 0, SIZE_MAX, "sender longer than 1024 bytes");
    if (at) {
        local = moxi_strndup(sender, (size_t)(at - sender));
        if (!local)
            return MOX_ERR_NOMEM;
    }
    v.sender = sender;
    v.local = local ? local : "postmaster";
    v.odomain = at ? at + 1 : sender;
    v.domain = vars->domain ? vars->domain : v.odomain;
    v.helo = vars->helo;
    v.ptr = vars->ptr;
    v.receiver = vars->receiver;
    v.t = vars->timestamp;
    int rc = MOX_OK;
    if (strlen(v.domain) > 1024 || (v.helo && strlen(v.helo) > 1024) ||
        (v.ptr && strlen(v.ptr) > 1024) || (v.receiver && strlen(v.receiver) > 1024)) {
        rc = moxi_fail(ei, MOX_ERR_LIMIT, 0, SIZE_MAX, "macro variable longer than 1024 bytes");
    } else if (vars->ip && moxi_spf_ip_parse(vars->ip, v.ip, &v.v6)) {
        rc = moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid IP address");
    } else {
        unsigned f = flags & (MOX_SPF_EXPAND_EXP | MOX_SPF_EXPAND_DOMAIN);
        rc = moxi_spf_macro(macro, len, &v, f, max_len, out, NULL, NULL, ei);
    }
    mox_free(local);
    return rc;
}
