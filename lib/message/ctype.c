/* Content-Type parsing (RFC 2045 §5.1) with RFC 2231 parameter
 * continuations and extended values. Lenient by design: mail in the wild
 * has unquoted boundaries full of tspecials, stray semicolons, comments. */
#include <string.h>

#include "message_priv.h"

/* Raw parameters beyond this many are ignored: assembling continuations is
 * quadratic in their number. */
#define MAX_RAW_PARAMS 128

static int is_tspecial(unsigned char c)
{
    return c == '(' || c == ')' || c == '<' || c == '>' || c == '@' || c == ',' ||
           c == ';' || c == ':' || c == '\\' || c == '"' || c == '/' || c == '[' ||
           c == ']' || c == '?' || c == '=';
}

static int is_token(unsigned char c) { return c > 32 && c < 127 && !is_tspecial(c); }

/* Skips whitespace, line endings and (nested) comments. */
static void skip_cfws(const unsigned char *s, size_t len, size_t *ip)
{
    size_t i = *ip;
    while (i < len) {
        unsigned char c = s[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            i++;
        } else if (c == '(') {
            size_t depth = 0;
            while (i < len) {
                c = s[i++];
                if (c == '\\' && i < len)
                    i++;
                else if (c == '(')
                    depth++;
                else if (c == ')' && --depth == 0)
                    break;
            }
        } else {
            break;
        }
    }
    *ip = i;
}

/* Skips to the next ';' at top level (outside quotes and comments). */
static void skip_to_semi(const unsigned char *s, size_t len, size_t *ip)
{
    size_t i = *ip;
    while (i < len && s[i] != ';') {
        if (s[i] == '"') {
            i++;
            while (i < len && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < len)
                    i++;
                i++;
            }
            if (i < len)
                i++;
        } else if (s[i] == '(') {
            skip_cfws(s, len, &i);
        } else {
            i++;
        }
    }
    *ip = i;
}

static char *lower_dup(const unsigned char *s, size_t n)
{
    char *d = moxi_strndup((const char *)s, n);
    if (d)
        for (size_t i = 0; i < n; i++)
            d[i] = (char)moxi_lower((unsigned char)d[i]);
    return d;
}

struct rawp {
    size_t name_off, name_len;  /* base name, without the '*' suffix */
    long section;               /* -1: none */
    int ext;                    /* value is RFC 2231 extended (%XX) */
    mox_buf value;              /* unquoted value */
};

static void rawp_free(struct rawp *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mox_buf_free(&r[i].value);
    mox_free(r);
}

void mox_mime_ctype_clear(mox_mime_ctype *ct)
{
    if (!ct)
        return;
    mox_free(ct->type);
    mox_free(ct->subtype);
    for (size_t i = 0; i < ct->nparams; i++) {
        mox_free(ct->params[i].name);
        mox_free(ct->params[i].value);
        mox_free(ct->params[i].charset);
    }
    mox_free(ct->params);
    memset(ct, 0, sizeof *ct);
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (unsigned char)moxi_lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int pct_append(mox_buf *out, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            c = (unsigned char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        }
        if (mox_buf_append_byte(out, c))
            return MOX_ERR_NOMEM;
    }
    return MOX_OK;
}

/* Builds the RFC 2231 value of base name `k` (the first raw param with that
 * name) into `out`; *charset receives the charset of an extended value.
 * Returns 1 when an RFC 2231 form exists, 0 when not, or an error. */
static int assemble(const unsigned char *s, struct rawp *r, size_t n, size_t k,
                    mox_buf *out, char **charset)
{
    const unsigned char *name = s + r[k].name_off;
    size_t nl = r[k].name_len;
    /* name* alone (no sections) wins. */
    struct rawp *single = NULL;
    for (size_t i = 0; i < n; i++)
        if (r[i].name_len == nl && moxi_memcaseeq(s + r[i].name_off, name, nl) &&
            r[i].section < 0 && r[i].ext) {
            single = &r[i];
            break;
        }
    for (long sec = 0; single || sec <= (long)n; sec++) {
        struct rawp *p = single;
        if (!p) {
            for (size_t i = 0; i < n; i++)
                if (r[i].section == sec && r[i].name_len == nl &&
                    moxi_memcaseeq(s + r[i].name_off, name, nl)) {
                    p = &r[i];
                    break;
                }
        }
        if (!p)
            return sec > 0;
        const unsigned char *v = p->value.data ? p->value.data : (const unsigned char *)"";
        size_t vl = p->value.len;
        if (p->ext && sec == 0) {
            /* charset'language'value */
            const unsigned char *q1 = memchr(v, '\'', vl);
            const unsigned char *q2 = q1 ? memchr(q1 + 1, '\'', vl - (size_t)(q1 + 1 - v)) : NULL;
            if (q2) {
                if (q1 > v) {
                    *charset = lower_dup(v, (size_t)(q1 - v));
                    if (!*charset)
                        return MOX_ERR_NOMEM;
                }
                vl -= (size_t)(q2 + 1 - v);
                v = q2 + 1;
            }
        }
        int rc = p->ext ? pct_append(out, v, vl) : mox_buf_append(out, v, vl);
        if (rc)
            return rc;
        if (single)
            return 1;
    }
    return 1;
}

int mox_mime_ctype_parse(const char *str, size_t len, mox_mime_ctype *ct,
                         mox_errinfo *ei)
{
    if (!ct || (!str && len))
        return MOX_ERR_INVAL;
    memset(ct, 0, sizeof *ct);
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    skip_cfws(s, len, &i);
    size_t t0 = i;
    while (i < len && is_token(s[i]))
        i++;
    size_t t1 = i;
    skip_cfws(s, len, &i);
    if (t1 == t0 || i >= len || s[i] != '/')
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_MIME_ERR_CTYPE, i,
                         "Content-Type without type/subtype");
    i++;
    skip_cfws(s, len, &i);
    size_t u0 = i;
    while (i < len && is_token(s[i]))
        i++;
    size_t u1 = i;
    if (u1 == u0)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_MIME_ERR_CTYPE, i,
                         "Content-Type without subtype");

    struct rawp *r = NULL;
    size_t n = 0, cap = 0;
    int rc = MOX_OK;
    while (i < len) {
        skip_cfws(s, len, &i);
        if (i >= len)
            break;
        if (s[i] != ';') {
            skip_to_semi(s, len, &i);
            continue;
        }
        i++;
        skip_cfws(s, len, &i);
        size_t n0 = i;
        while (i < len && is_token(s[i]))
            i++;
        size_t n1 = i;
        skip_cfws(s, len, &i);
        if (n1 == n0 || i >= len || s[i] != '=') {
            skip_to_semi(s, len, &i);
            continue;
        }
        i++;
        skip_cfws(s, len, &i);
        if (n >= MAX_RAW_PARAMS) {
            skip_to_semi(s, len, &i);
            continue;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 4;
            struct rawp *nr = mox_realloc(r, nc * sizeof *nr);
            if (!nr) {
                rc = MOX_ERR_NOMEM;
                break;
            }
            r = nr;
            cap = nc;
        }
        struct rawp *p = &r[n];
        memset(p, 0, sizeof *p);
        p->section = -1;
        p->name_off = n0;
        p->name_len = n1 - n0;
        const unsigned char *star = memchr(s + n0, '*', n1 - n0);
        if (star) {
            size_t k = (size_t)(star - s);
            size_t e = k + 1;
            long sec = -1;
            if (e < n1 && moxi_is_digit(s[e])) {
                sec = 0;
                while (e < n1 && moxi_is_digit(s[e]) && sec < 100000)
                    sec = sec * 10 + (s[e++] - '0');
            }
            int ext = 0;
            if (e < n1 && s[e] == '*') {
                ext = 1;
                e++;
            } else if (sec < 0) {
                ext = 1; /* "name*" */
            }
            if (e == n1 && k > n0) {
                p->name_len = k - n0;
                p->section = sec;
                p->ext = ext;
            }
        }
        n++;
        if (i < len && s[i] == '"') {
            i++;
            while (i < len && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < len)
                    i++;
                if (s[i] != '\r' && s[i] != '\n' && mox_buf_append_byte(&p->value, s[i])) {
                    rc = MOX_ERR_NOMEM;
                    break;
                }
                i++;
            }
            if (rc)
                break;
            if (i < len)
                i++;
        } else {
            size_t v0 = i;
            while (i < len && s[i] != ';' && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
                   s[i] != '\n' && s[i] != '(')
                i++;
            if (mox_buf_append(&p->value, s + v0, i - v0)) {
                rc = MOX_ERR_NOMEM;
                break;
            }
        }
    }
    if (!rc) {
        ct->type = lower_dup(s + t0, t1 - t0);
        ct->subtype = lower_dup(s + u0, u1 - u0);
        if (!ct->type || !ct->subtype)
            rc = MOX_ERR_NOMEM;
    }
    if (!rc && n) {
        ct->params = mox_calloc(n, sizeof *ct->params);
        if (!ct->params)
            rc = MOX_ERR_NOMEM;
    }
    for (size_t k = 0; !rc && k < n; k++) {
        const unsigned char *name = s + r[k].name_off;
        size_t nl = r[k].name_len;
        int seen = 0;
        for (size_t j = 0; j < ct->nparams && !seen; j++)
            seen = strlen(ct->params[j].name) == nl &&
                   moxi_memcaseeq(ct->params[j].name, name, nl);
        if (seen)
            continue;
        mox_mime_param *mp = &ct->params[ct->nparams];
        mox_buf v = MOX_BUF_INIT;
        char *cs = NULL;
        int got = assemble(s, r, n, k, &v, &cs);
        if (got == 0) {
            /* Plain form: the first one with this name. */
            for (size_t j = 0; j < n; j++)
                if (r[j].section < 0 && !r[j].ext && r[j].name_len == nl &&
                    moxi_memcaseeq(s + r[j].name_off, name, nl)) {
                    got = mox_buf_append(&v, r[j].value.data ? r[j].value.data
                                                             : (const unsigned char *)"",
                                         r[j].value.len);
                    if (got == MOX_OK)
                        got = 1;
                    break;
                }
        }
        if (got < 0) {
            rc = got;
        } else if (got == 1) {
            mp->name = lower_dup(name, nl);
            mp->value_len = v.len;
            mp->value = mox_buf_steal(&v, NULL);
            mp->charset = cs;
            cs = NULL;
            ct->nparams++;
            if (!mp->name || !mp->value)
                rc = MOX_ERR_NOMEM;
        }
        mox_buf_free(&v);
        mox_free(cs);
    }
    rawp_free(r, n);
    if (rc) {
        mox_mime_ctype_clear(ct);
        return moxi_fail(ei, rc, 0, SIZE_MAX, "out of memory");
    }
    return MOX_OK;
}

const mox_mime_param *mox_mime_ctype_param(const mox_mime_ctype *ct, const char *name)
{
    if (!ct || !name)
        return NULL;
    size_t nl = strlen(name);
    for (size_t i = 0; i < ct->nparams; i++)
        if (strlen(ct->params[i].name) == nl && moxi_memcaseeq(ct->params[i].name, name, nl))
            return &ct->params[i];
    return NULL;
}
