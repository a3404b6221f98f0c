/* Master-file (RFC 1035 §5) loader for the in-memory zone, with the
 * libmox extension directives $SERVFAIL, $TIMEOUT and $AUTHENTIC. */
#include <arpa/inet.h>

#include "zone_priv.h"

typedef struct ztok {
    const char *s;   /* raw text (quotes excluded) */
    size_t n;
    int quoted;
    unsigned long line;
} ztok;

typedef struct zparser {
    mox_dns_zone *z;
    const char *p, *end;
    const char *fname;
    unsigned long line;
    mox_errinfo *ei;
    unsigned char origin[MOXI_DNS_NAME_MAX];
    size_t originlen;
    uint32_t dttl;        /* $TTL */
    int have_dttl;
    uint32_t lttl;        /* last explicit TTL (RFC 1035 default) */
    int have_lttl;
    char owner[MOXI_DNS_TEXT_MAX];
    size_t ownerlen;
    int have_owner;
    ztok *tok;
    size_t ntok, captok;
    mox_buf rd;           /* compact RDATA being built */
    mox_buf tmp;
} zparser;

static int perr(zparser *zp, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int perr(zparser *zp, unsigned long line, const char *fmt, ...)
{
    char m[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return moxi_fail(zp->ei, MOX_ERR_SYNTAX, 0, SIZE_MAX, "%s:%lu: %s",
                     zp->fname ? zp->fname : "zone", line, m);
}

static int push_tok(zparser *zp, const char *s, size_t n, int quoted)
{
    if (zp->ntok == zp->captok) {
        size_t nc = zp->captok ? zp->captok * 2 : 16;
        ztok *nt = mox_realloc(zp->tok, nc * sizeof *nt);
        if (!nt)
            return MOX_ERR_NOMEM;
        zp->tok = nt;
        zp->captok = nc;
    }
    zp->tok[zp->ntok++] = (ztok){s, n, quoted, zp->line};
    return MOX_OK;
}

/* Reads the tokens of the next entry (a line, or several joined by
 * parentheses). Returns 1 with tokens, 0 at the end of input. */
static int next_entry(zparser *zp, int *blank_owner, unsigned long *line)
{
    int paren = 0;
    unsigned long pline = 0;
    int line_start = 1;
    zp->ntok = 0;
    for (;;) {
        if (line_start) {
            /* an entry starting with blank space has no owner */
            *line = zp->line;
            *blank_owner = zp->p < zp->end && (*zp->p == ' ' || *zp->p == '\t');
            line_start = 0;
        }
        if (zp->p >= zp->end) {
            if (paren)
                return perr(zp, pline, "'(' is never closed");
            return zp->ntok > 0;
        }
        char c = *zp->p;
        if (c == ' ' || c == '\t' || c == '\r') {
            zp->p++;
        } else if (c == ';') {
            while (zp->p < zp->end && *zp->p != '\n')
                zp->p++;
        } else if (c == '\n') {
            zp->p++;
            zp->line++;
            if (!paren && zp->ntok)
                return 1;
            if (!paren)
                line_start = 1;
        } else if (c == '(') {
            if (paren)
                return perr(zp, zp->line, "nested '('");
            paren = 1;
            pline = zp->line;
            zp->p++;
        } else if (c == ')') {
            if (!paren)
                return perr(zp, zp->line, "')' without '('");
            paren = 0;
            zp->p++;
        } else if (c == '"') {
            const char *s = ++zp->p;
            for (;;) {
                if (zp->p >= zp->end || *zp->p == '\n')
                    return perr(zp, zp->line, "unterminated quoted string");
                if (*zp->p == '\\') {
                    zp->p++;
                    if (zp->p >= zp->end || *zp->p == '\n')
                        return perr(zp, zp->line, "unterminated quoted string");
                } else if (*zp->p == '"') {
                    break;
                }
                zp->p++;
            }
            int rc = push_tok(zp, s, (size_t)(zp->p - s), 1);
            if (rc < 0)
                return rc;
            zp->p++;
        } else {
            const char *s = zp->p;
            while (zp->p < zp->end) {
                c = *zp->p;
                if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' ||
                    c == '(' || c == ')' || c == '"')
                    break;
                if (c == '\\') {
                    zp->p++;
                    if (zp->p >= zp->end || *zp->p == '\n')
                        return perr(zp, zp->line, "backslash at end of line");
                }
                zp->p++;
            }
            int rc = push_tok(zp, s, (size_t)(zp->p - s), 0);
            if (rc < 0)
                return rc;
        }
    }
}

/* Decodes a token's \X and \DDD escapes into `out` (appended). */
static int tok_bytes(zparser *zp, const ztok *t, mox_buf *out)
{
    for (size_t i = 0; i < t->n;) {
        unsigned char c = (unsigned char)t->s[i];
        if (c == '\\') {
            /* the tokenizer guarantees a character follows */
            if (moxi_is_digit((unsigned char)t->s[i + 1])) {
                if (i + 3 >= t->n || !moxi_is_digit((unsigned char)t->s[i + 2]) ||
                    !moxi_is_digit((unsigned char)t->s[i + 3]))
                    return perr(zp, t->line, "bad \\DDD escape");
                int v = (t->s[i + 1] - '0') * 100 + (t->s[i + 2] - '0') * 10 + (t->s[i + 3] - '0');
                if (v > 255)
                    return perr(zp, t->line, "\\DDD escape above 255");
                c = (unsigned char)v;
                i += 4;
            } else {
                c = (unsigned char)t->s[i + 1];
                i += 2;
            }
        } else {
            i++;
        }
        int rc = mox_buf_append_byte(out, c);
        if (rc < 0)
            return rc;
    }
    return MOX_OK;
}

static int tok_is(const ztok *t, const char *lit)
{
    size_t n = strlen(lit);
    return !t->quoted && t->n == n && moxi_memcaseeq(t->s, lit, n);
}

/* Token as a short NUL-terminated string for messages and simple parsing. */
static const char *tok_str(const ztok *t, char *buf, size_t bufsz)
{
    size_t n = t->n < bufsz - 1 ? t->n : bufsz - 1;
    memcpy(buf, t->s, n);
    buf[n] = 0;
    return buf;
}

static int tok_name(zparser *zp, const ztok *t, unsigned char *w, size_t *wl)
{
    const char *why;
    if (t->quoted)
        return perr(zp, t->line, "quoted string where a name is expected");
    if (moxi_dns_name_parse(t->s, t->n, zp->origin, zp->originlen, 1, w, wl, &why) < 0) {
        char b[80];
        return perr(zp, t->line, "%s: '%s'", why, tok_str(t, b, sizeof b));
    }
    return MOX_OK;
}

/* Appends a name's canonical presentation form, NUL-terminated. */
static int tok_name_text(zparser *zp, const ztok *t, mox_buf *out)
{
    unsigned char w[MOXI_DNS_NAME_MAX];
    size_t wl;
    int rc = tok_name(zp, t, w, &wl);
    if (rc == MOX_OK)
        rc = moxi_dns_name_format(w, wl, 0, out);
    if (rc == MOX_OK)
        rc = mox_buf_append_byte(out, 0);
    return rc;
}

static int tok_uint(zparser *zp, const ztok *t, unsigned long max, const char *what,
                    unsigned long *v)
{
    char b[80];
    unsigned long x = 0;
    if (t->quoted || t->n == 0)
        return perr(zp, t->line, "bad %s '%s'", what, tok_str(t, b, sizeof b));
    for (size_t i = 0; i < t->n; i++) {
        if (!moxi_is_digit((unsigned char)t->s[i]))
            return perr(zp, t->line, "bad %s '%s'", what, tok_str(t, b, sizeof b));
        x = x * 10 + (unsigned long)(t->s[i] - '0');
        if (x > max)
            return perr(zp, t->line, "%s '%s' out of range", what, tok_str(t, b, sizeof b));
    }
    *v = x;
    return MOX_OK;
}

/* A TTL: seconds, or BIND-style units ("1h30m"). Returns 1 if the token
 * looks like a TTL at all (starts with a digit), 0 if not; errors when it
 * does but is malformed. */
static int tok_ttl(zparser *zp, const ztok *t, uint32_t *ttl)
{
    char b[80];
    if (t->quoted || t->n == 0 || !moxi_is_digit((unsigned char)t->s[0]))
        return 0;
    unsigned long total = 0, cur = 0;
    int digits = 0, units = 0;
    for (size_t i = 0; i < t->n; i++) {
        unsigned char c = (unsigned char)t->s[i];
        if (moxi_is_digit(c)) {
            cur = cur * 10 + (unsigned long)(c - '0');
            digits = 1;
            if (cur > 0x7fffffffUL)
                return perr(zp, t->line, "TTL '%s' out of range", tok_str(t, b, sizeof b));
            continue;
        }
        unsigned long mul;
        switch (moxi_lower(c)) {
        case 's': mul = 1; break;
        case 'm': mul = 60; break;
        case 'h': mul = 3600; break;
        case 'd': mul = 86400; break;
        case 'w': mul = 604800; break;
        default:
            return perr(zp, t->line, "bad TTL '%s'", tok_str(t, b, sizeof b));
        }
        if (!digits)
            return perr(zp, t->line, "bad TTL '%s'", tok_str(t, b, sizeof b));
        if (cur > 0x7fffffffUL / mul || total + cur * mul > 0x7fffffffUL)
            return perr(zp, t->line, "TTL '%s' out of range", tok_str(t, b, sizeof b));
        total += cur * mul;
        cur = 0;
        digits = 0;
        units = 1;
    }
    (void)units;
    if (digits) {
        if (total + cur > 0x7fffffffUL)
            return perr(zp, t->line, "TTL '%s' out of range", tok_str(t, b, sizeof b));
        total += cur;
    }
    *ttl = (uint32_t)total;
    return 1;
}

static int hex_val(unsigned char c)
{
    if (moxi_is_digit(c))
        return c - '0';
    c = (unsigned char)moxi_lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Hex digits spread over tokens t[0..n), appended to out. */
static int hex_tokens(zparser *zp, const ztok *t, size_t n, mox_buf *out)
{
    int hi = -1;
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < t[k].n; i++) {
            int v = t[k].quoted ? -1 : hex_val((unsigned char)t[k].s[i]);
            if (v < 0) {
                char b[80];
                return perr(zp, t[k].line, "bad hex '%s'", tok_str(&t[k], b, sizeof b));
            }
            if (hi < 0) {
                hi = v;
            } else {
                int rc = mox_buf_append_byte(out, (unsigned char)(hi << 4 | v));
                if (rc < 0)
                    return rc;
                hi = -1;
            }
        }
    }
    if (hi >= 0)
        return perr(zp, t[n - 1].line, "odd number of hex digits");
    return MOX_OK;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* RDATA tokens t[0..n) of a record of `type` into compact form in zp->rd. */
static int parse_rdata(zparser *zp, uint16_t type, const ztok *t, size_t n,
                       unsigned long line)
{
    mox_buf *rd = &zp->rd;
    char b[80];
    int rc;
    unsigned long v;
    const char *tn = mox_dns_type_name(type);
    mox_buf_reset(rd);
    if (n >= 1 && !t[0].quoted && t[0].n == 2 && t[0].s[0] == '\\' && t[0].s[1] == '#') {
        /* RFC 3597 generic RDATA: \# length hex... */
        if (n < 2)
            return perr(zp, line, "\\# needs a length");
        if ((rc = tok_uint(zp, &t[1], 65535, "RDATA length", &v)) < 0)
            return rc;
        mox_buf_reset(&zp->tmp);
        if ((rc = hex_tokens(zp, t + 2, n - 2, &zp->tmp)) < 0)
            return rc;
        if (zp->tmp.len != v)
            return perr(zp, line, "\\# length %lu but %zu octets of data", v, zp->tmp.len);
        rc = moxi_dns_rdata_compact(type, zp->tmp.data, zp->tmp.len, 0, zp->tmp.len, 0, rd);
        if (rc == MOX_ERR_SYNTAX)
            return perr(zp, line, "malformed %s RDATA", tn);
        return rc;
    }
    switch (type) {
    case MOX_DNS_A:
    case MOX_DNS_AAAA: {
        if (n != 1)
            return perr(zp, line, n ? "trailing data after %s address" : "missing %s address", tn);
        unsigned char addr[16];
        tok_str(&t[0], b, sizeof b);
        if (t[0].quoted || t[0].n >= sizeof b ||
            inet_pton(type == MOX_DNS_A ? AF_INET : AF_INET6, b, addr) != 1)
            return perr(zp, t[0].line, "bad %s address '%s'", tn, b);
        return mox_buf_append(rd, addr, type == MOX_DNS_A ? 4 : 16);
    }
    case MOX_DNS_NS:
    case MOX_DNS_CNAME:
    case MOX_DNS_PTR:
        if (n != 1)
            return perr(zp, line, n ? "trailing data after %s target" : "missing %s target", tn);
        return tok_name_text(zp, &t[0], rd);
    case MOX_DNS_MX: {
        if (n != 2)
            return perr(zp, line, "MX needs a preference and a host");
        if ((rc = tok_uint(zp, &t[0], 65535, "MX preference", &v)) < 0)
            return rc;
        unsigned char pref[2] = {(unsigned char)(v >> 8), (unsigned char)v};
        if ((rc = mox_buf_append(rd, pref, 2)) < 0)
            return rc;
        return tok_name_text(zp, &t[1], rd);
    }
    case MOX_DNS_TXT:
    case MOX_DNS_SPF:
        if (n == 0)
            return perr(zp, line, "%s needs at least one string", tn);
        for (size_t i = 0; i < n; i++) {
            size_t at = rd->len;
            if ((rc = mox_buf_append_byte(rd, 0)) < 0)
                return rc;
            if ((rc = tok_bytes(zp, &t[i], rd)) < 0)
                return rc;
            size_t l = rd->len - at - 1;
            if (l > 255)
                return perr(zp, t[i].line, "%s string longer than 255 octets (split it into several strings)", tn);
            rd->data[at] = (unsigned char)l;
        }
        return MOX_OK;
    case MOX_DNS_TLSA: {
        if (n < 4)
            return perr(zp, line, "TLSA needs usage, selector, matching type and data");
        unsigned char h[3];
        static const char *const what[3] = {"TLSA usage", "TLSA selector", "TLSA matching type"};
        for (int i = 0; i < 3; i++) {
            if ((rc = tok_uint(zp, &t[i], 255, what[i], &v)) < 0)
                return rc;
            h[i] = (unsigned char)v;
        }
        if ((rc = mox_buf_append(rd, h, 3)) < 0)
            return rc;
        return hex_tokens(zp, t + 3, n - 3, rd);
    }
    case MOX_DNS_SOA: {
        if (n != 7)
            return perr(zp, line, "SOA needs mname rname serial refresh retry expire minimum");
        for (int i = 0; i < 2; i++) {
            unsigned char w[MOXI_DNS_NAME_MAX];
            size_t wl;
            if ((rc = tok_name(zp, &t[i], w, &wl)) < 0)
                return rc;
            if ((rc = mox_buf_append(rd, w, wl)) < 0)
                return rc;
        }
        unsigned char nums[20];
        if ((rc = tok_uint(zp, &t[2], 0xffffffffUL, "SOA serial", &v)) < 0)
            return rc;
        put32(nums, (uint32_t)v);
        for (int i = 0; i < 4; i++) {
            uint32_t x;
            rc = tok_ttl(zp, &t[3 + i], &x);
            if (rc < 0)
                return rc;
            if (rc == 0)
                return perr(zp, t[3 + i].line, "bad SOA time '%s'", tok_str(&t[3 + i], b, sizeof b));
            put32(nums + 4 + 4 * i, x);
        }
        return mox_buf_append(rd, nums, 20);
    }
    default:
        return perr(zp, line, "type %s needs the generic \\# syntax here", tn);
    }
}

static int set_origin(zparser *zp, const ztok *t)
{
    unsigned char w[MOXI_DNS_NAME_MAX];
    size_t wl;
    int rc = tok_name(zp, t, w, &wl);
    if (rc < 0)
        return rc;
    memcpy(zp->origin, w, wl);
    zp->originlen = wl;
    return MOX_OK;
}

/* Owner name token -> canonical text in zp->owner. */
static int set_owner(zparser *zp, const ztok *t)
{
    unsigned char w[MOXI_DNS_NAME_MAX];
    size_t wl;
    int rc = tok_name(zp, t, w, &wl);
    if (rc < 0)
        return rc;
    long n = moxi_dns_name_text(w, wl, 0, zp->owner);
    if (n < 0)
        return perr(zp, t->line, "bad owner name");
    zp->ownerlen = (size_t)n;
    zp->have_owner = 1;
    return MOX_OK;
}

static int directive(zparser *zp, unsigned long line)
{
    const ztok *t = zp->tok;
    char b[80];
    int mark = -1;
    if (tok_is(&t[0], "$ORIGIN")) {
        if (zp->ntok != 2)
            return perr(zp, line, "$ORIGIN needs one name");
        return set_origin(zp, &t[1]);
    }
    if (tok_is(&t[0], "$TTL")) {
        if (zp->ntok != 2)
            return perr(zp, line, "$TTL needs one TTL");
        uint32_t v;
        int rc = tok_ttl(zp, &t[1], &v);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return perr(zp, line, "bad TTL '%s'", tok_str(&t[1], b, sizeof b));
        zp->dttl = v;
        zp->have_dttl = 1;
        return MOX_OK;
    }
    if (tok_is(&t[0], "$SERVFAIL"))
        mark = MOX_DNS_SERVFAIL;
    else if (tok_is(&t[0], "$TIMEOUT"))
        mark = MOX_DNS_TIMEOUT;
    else if (tok_is(&t[0], "$AUTHENTIC"))
        mark = 0;
    if (mark >= 0) {
        if (zp->ntok != 2)
            return perr(zp, line, "%s needs one name", tok_str(&t[0], b, sizeof b));
        unsigned char w[MOXI_DNS_NAME_MAX];
        size_t wl;
        char text[MOXI_DNS_TEXT_MAX];
        int rc = tok_name(zp, &t[1], w, &wl);
        if (rc < 0)
            return rc;
        long n = moxi_dns_name_text(w, wl, 0, text);
        if (n < 0)
            return perr(zp, line, "bad name");
        return moxi_dns_zone_mark(zp->z, text, (size_t)n, mark);
    }
    if (tok_is(&t[0], "$INCLUDE"))
        return perr(zp, line, "$INCLUDE is not supported");
    return perr(zp, line, "unknown directive '%s'", tok_str(&t[0], b, sizeof b));
}

static int parse_class(const ztok *t)
{
    if (tok_is(t, "IN"))
        return 1;
    if (tok_is(t, "CH") || tok_is(t, "HS") || tok_is(t, "CS") ||
        (!t->quoted && t->n > 5 && moxi_memcaseeq(t->s, "CLASS", 5)))
        return 0; /* a class, but not one we serve */
    return -1;
}

static int record(zparser *zp, int blank_owner, unsigned long line)
{
    const ztok *t = zp->tok;
    size_t n = zp->ntok, i = 0;
    char b[80];
    int rc;
    if (blank_owner) {
        if (!zp->have_owner)
            return perr(zp, line, "no owner name (the first record must name one)");
    } else {
        if ((rc = set_owner(zp, &t[0])) < 0)
            return rc;
        i = 1;
    }
    uint32_t ttl = 0;
    int have_ttl = 0, have_class = 0;
    for (int k = 0; k < 2 && i < n; k++) {
        if (!have_ttl) {
            rc = tok_ttl(zp, &t[i], &ttl);
            if (rc < 0)
                return rc;
            if (rc == 1) {
                have_ttl = 1;
                i++;
                continue;
            }
        }
        if (!have_class) {
            int c = parse_class(&t[i]);
            if (c == 0)
                return perr(zp, t[i].line, "class %s is not supported (only IN)", tok_str(&t[i], b, sizeof b));
            if (c == 1) {
                have_class = 1;
                i++;
                continue;
            }
        }
        break;
    }
    if (i >= n)
        return perr(zp, line, "missing record type");
    uint16_t type;
    tok_str(&t[i], b, sizeof b);
    if (t[i].quoted || t[i].n >= sizeof b || mox_dns_type_parse(b, &type) < 0 ||
        type == MOX_DNS_ANY || type == 41)
        return perr(zp, t[i].line, "unknown record type '%s'", b);
    i++;
    if (have_ttl) {
        zp->lttl = ttl;
        zp->have_lttl = 1;
    } else if (zp->have_dttl) {
        ttl = zp->dttl;
    } else if (zp->have_lttl) {
        ttl = zp->lttl;
    } else {
        ttl = 3600;
    }
    if ((rc = parse_rdata(zp, type, t + i, n - i, line)) < 0)
        return rc;
    return moxi_dns_zone_add_compact(zp->z, zp->owner, zp->ownerlen, type, ttl,
                                     zp->rd.data, zp->rd.len);
}

static int load(zparser *zp)
{
    for (;;) {
        int blank = 0;
        unsigned long line = 0;
        int rc = next_entry(zp, &blank, &line);
        if (rc <= 0)
            return rc;
        const ztok *t = zp->tok;
        if (!blank && !t[0].quoted && t[0].n > 0 && t[0].s[0] == '$')
            rc = directive(zp, line);
        else
            rc = record(zp, blank, line);
        if (rc < 0)
            return rc;
    }
}

int mox_dns_zone_load(mox_dns_zone *z, const char *text, size_t len,
                      const char *origin, const char *filename,
                      mox_errinfo *ei)
{
    if (!z || (!text && len))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid argument");
    zparser zp;
    memset(&zp, 0, sizeof zp);
    zp.z = z;
    zp.p = text;
    zp.end = text + len;
    zp.fname = filename;
    zp.line = 1;
    zp.ei = ei;
    zp.origin[0] = 0;
    zp.originlen = 1;
    if (origin) {
        const char *why;
        size_t ol = strlen(origin);
        if (moxi_dns_name_parse(origin, ol, NULL, 0, 0, zp.origin, &zp.originlen, &why) < 0)
            return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "bad origin '%s': %s", origin, why);
    }
    int rc = load(&zp);
    if (rc == MOX_ERR_NOMEM)
        moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    mox_free(zp.tok);
    mox_buf_free(&zp.rd);
    mox_buf_free(&zp.tmp);
    return rc < 0 ? rc : MOX_OK;
}

int mox_dns_zone_load_file(mox_dns_zone *z, const char *path, mox_errinfo *ei)
{
    if (!z || !path)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid argument");
    mox_buf b = MOX_BUF_INIT;
    int rc = moxi_read_file(path, &b, ei);
    if (rc == MOX_OK)
        rc = mox_dns_zone_load(z, (const char *)b.data, b.len, NULL, path, ei);
    mox_buf_free(&b);
    return rc;
}

int mox_dns_zone_add(mox_dns_zone *z, const char *line, mox_errinfo *ei)
{
    if (!z || !line)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid argument");
    size_t n = strlen(line);
    if (n == 0 || line[0] == ' ' || line[0] == '\t' || line[0] == '$' || memchr(line, '\n', n))
        return moxi_fail(ei, MOX_ERR_SYNTAX, 0, SIZE_MAX,
                         "a record line with an owner name is expected");
    return mox_dns_zone_load(z, line, n, NULL, "record", ei);
}
