/* Domain names: presentation form <-> wire form, and reading names out of
 * DNS messages (with compression pointers). */
#include "dns_priv.h"

int moxi_dns_name_parse(const char *s, size_t n, const unsigned char *origin,
                        size_t originlen, int at_is_origin, unsigned char *out,
                        size_t *outlen, const char **why)
{
    static const unsigned char root[1] = {0};
    if (!origin) {
        origin = root;
        originlen = 1;
    }
    if (n == 0) {
        *why = "empty name";
        return MOX_ERR_SYNTAX;
    }
    if (at_is_origin && n == 1 && s[0] == '@') {
        memcpy(out, origin, originlen);
        *outlen = originlen;
        return MOX_OK;
    }
    if (n == 1 && s[0] == '.') {
        out[0] = 0;
        *outlen = 1;
        return MOX_OK;
    }
    size_t o = 0;        /* write position */
    size_t lab = 0;      /* position of the current label's length byte */
    size_t lablen = 0;
    int absolute = 0;
    out[o++] = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (lablen == 0) {
                *why = "empty label in name";
                return MOX_ERR_SYNTAX;
            }
            out[lab] = (unsigned char)lablen;
            i++;
            if (i == n) {
                absolute = 1;
                break;
            }
            lab = o;
            lablen = 0;
            if (o >= MOXI_DNS_NAME_MAX) {
                *why = "name longer than 255 octets";
                return MOX_ERR_SYNTAX;
            }
            out[o++] = 0;
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= n) {
                *why = "name ends in a backslash";
                return MOX_ERR_SYNTAX;
            }
            if (moxi_is_digit((unsigned char)s[i + 1])) {
                if (i + 3 >= n || !moxi_is_digit((unsigned char)s[i + 2]) ||
                    !moxi_is_digit((unsigned char)s[i + 3])) {
                    *why = "bad \\DDD escape in name";
                    return MOX_ERR_SYNTAX;
                }
                int v = (s[i + 1] - '0') * 100 + (s[i + 2] - '0') * 10 + (s[i + 3] - '0');
                if (v > 255) {
                    *why = "\\DDD escape above 255 in name";
                    return MOX_ERR_SYNTAX;
                }
                c = (unsigned char)v;
                i += 4;
            } else {
                c = (unsigned char)s[i + 1];
                i += 2;
            }
        } else {
            i++;
        }
        if (lablen == 63) {
            *why = "label longer than 63 octets";
            return MOX_ERR_SYNTAX;
        }
        if (o >= MOXI_DNS_NAME_MAX) {
            *why = "name longer than 255 octets";
            return MOX_ERR_SYNTAX;
        }
        out[o++] = c;
        lablen++;
    }
    if (!absolute) {
        out[lab] = (unsigned char)lablen;
        /* append the origin (its terminating 0 included) */
        if (o + originlen > MOXI_DNS_NAME_MAX) {
            *why = "name longer than 255 octets";
            return MOX_ERR_SYNTAX;
        }
        memcpy(out + o, origin, originlen);
        o += originlen;
    } else {
        if (o >= MOXI_DNS_NAME_MAX) {
            *why = "name longer than 255 octets";
            return MOX_ERR_SYNTAX;
        }
        out[o++] = 0;
    }
    *outlen = o;
    return MOX_OK;
}

/* Bytes that must be escaped in a name's presentation form. */
static int name_special(unsigned char c)
{
    switch (c) {
    case '.': case '\\': case '"': case '(': case ')': case ';': case '@': case '$':
        return 1;
    default:
        return 0;
    }
}

long moxi_dns_name_text(const unsigned char *wire, size_t len, int lower,
                        char *tmp)
{
    size_t t = 0;
    size_t i = 0;
    int first = 1;
    while (i < len && wire[i] != 0) {
        size_t l = wire[i++];
        if (l > 63 || i + l > len || t > MOXI_DNS_TEXT_MAX - 4 * 63 - 2)
            return -1;
        if (!first)
            tmp[t++] = '.';
        first = 0;
        for (size_t k = 0; k < l; k++) {
            unsigned char c = wire[i + k];
            if (lower)
                c = (unsigned char)moxi_lower(c);
            if (c <= 0x20 || c >= 0x7f) {
                tmp[t++] = '\\';
                tmp[t++] = (char)('0' + c / 100);
                tmp[t++] = (char)('0' + (c / 10) % 10);
                tmp[t++] = (char)('0' + c % 10);
            } else if (name_special(c)) {
                tmp[t++] = '\\';
                tmp[t++] = (char)c;
            } else {
                tmp[t++] = (char)c;
            }
        }
        i += l;
    }
    tmp[t] = 0;
    return (long)t;
}

int moxi_dns_name_format(const unsigned char *wire, size_t len, int lower,
                         mox_buf *out)
{
    char tmp[MOXI_DNS_TEXT_MAX];
    long t = moxi_dns_name_text(wire, len, lower, tmp);
    if (t < 0)
        return MOX_ERR_SYNTAX;
    return mox_buf_append(out, tmp, (size_t)t);
}

int moxi_dns_wire_name(const unsigned char *msg, size_t msglen, size_t *off,
                       int allow_ptr, unsigned char *out, size_t *outlen)
{
    size_t p = *off;
    size_t o = 0;
    size_t end = 0;     /* where the name ends in place (after the first pointer) */
    int jumped = 0;
    size_t lowest = p;  /* pointers must go strictly backwards: no loops */
    for (;;) {
        if (p >= msglen)
            return MOX_ERR_SYNTAX;
        unsigned char l = msg[p];
        if ((l & 0xc0) == 0xc0) {
            if (!allow_ptr || p + 1 >= msglen)
                return MOX_ERR_SYNTAX;
            size_t target = ((size_t)(l & 0x3f) << 8) | msg[p + 1];
            if (target >= lowest)
                return MOX_ERR_SYNTAX;
            if (!jumped)
                end = p + 2;
            jumped = 1;
            lowest = target;
            p = target;
            continue;
        }
        if (l & 0xc0)
            return MOX_ERR_SYNTAX; /* extended label types: obsolete */
        if (p + 1 + l > msglen || o + 1 + l > MOXI_DNS_NAME_MAX)
            return MOX_ERR_SYNTAX;
        memcpy(out + o, msg + p, 1 + (size_t)l);
        o += 1 + (size_t)l;
        p += 1 + (size_t)l;
        if (l == 0)
            break;
    }
    *outlen = o;
    *off = jumped ? end : p;
    return MOX_OK;
}

int moxi_dns_wire_name_eq(const unsigned char *a, size_t alen,
                          const unsigned char *b, size_t blen)
{
    if (alen != blen)
        return 0;
    /* label length bytes are < 64, so folding them is harmless */
    return moxi_memcaseeq(a, b, alen);
}
