/* Lenient Authentication-Results parser.
 *
 * Real headers carry comments everywhere, forget the version, quote values
 * or not, invent methods and properties, and sometimes are garbage. The
 * parser keeps what it can recognise and skips the rest one element (or
 * one resinfo) at a time, counting defects. Every loop consumes at least
 * one byte per iteration and every read is bounds-checked. */
#include <string.h>

#include "authres_priv.h"

struct ps {
    const unsigned char *s;
    size_t len, i;
    mox_authres *ar;
    mox_buf tmp;
};

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Parses a comment at s[i] == '('. When `capture` points to NULL, the
 * comment's text (unescaped, folding removed) is stored there. */
static int comment(struct ps *p, char **capture)
{
    int keep = capture && !*capture;
    size_t depth = 1;
    int closed = 0;
    mox_buf_reset(&p->tmp);
    p->i++;
    while (p->i < p->len) {
        unsigned char c = p->s[p->i];
        int rc = 0;
        if (c == '\\') {
            p->i++;
            if (p->i < p->len) {
                c = p->s[p->i++];
                if (keep && c != '\r' && c != '\n')
                    rc = mox_buf_append_byte(&p->tmp, c);
            }
        } else if (c == '(') {
            depth++;
            p->i++;
            if (keep)
                rc = mox_buf_append_byte(&p->tmp, c);
        } else if (c == ')') {
            p->i++;
            if (--depth == 0) {
                closed = 1;
                break;
            }
            if (keep)
                rc = mox_buf_append_byte(&p->tmp, c);
        } else {
            p->i++;
            if (keep && c != '\r' && c != '\n')
                rc = mox_buf_append_byte(&p->tmp, c);
        }
        if (rc)
            return MOX_ERR_NOMEM;
    }
    if (!closed)
        p->ar->defects++;
    if (keep) {
        *capture = moxi_authres_sanitize(p->tmp.data ? (const char *)p->tmp.data : "",
                                         p->tmp.len);
        if (!*capture)
            return MOX_ERR_NOMEM;
    }
    return MOX_OK;
}

static int cfws(struct ps *p, char **capture)
{
    while (p->i < p->len) {
        unsigned char c = p->s[p->i];
        if (is_ws(c)) {
            p->i++;
        } else if (c == '(') {
            int rc = comment(p, capture);
            if (rc)
                return rc;
        } else {
            break;
        }
    }
    return MOX_OK;
}

/* A quoted string at s[i] == '"', unescaped into a new sanitized string. */
static int quoted(struct ps *p, char **out)
{
    mox_buf_reset(&p->tmp);
    p->i++;
    int closed = 0;
    while (p->i < p->len) {
        unsigned char c = p->s[p->i++];
        if (c == '"') {
            closed = 1;
            break;
        }
        if (c == '\\') {
            if (p->i >= p->len)
                break;
            c = p->s[p->i++];
        }
        if (c != '\r' && c != '\n' && mox_buf_append_byte(&p->tmp, c))
            return MOX_ERR_NOMEM;
    }
    if (!closed)
        p->ar->defects++;
    *out = moxi_authres_sanitize(p->tmp.data ? (const char *)p->tmp.data : "", p->tmp.len);
    return *out ? MOX_OK : MOX_ERR_NOMEM;
}

static int is_run(unsigned char c)
{
    return !is_ws(c) && c != ';' && c != '(' && c != '"';
}

/* A value: quoted string or a run of bytes up to whitespace, ';', '(' or
 * '"' (wider than a token: addresses, base64 and tspecials appear bare). */
static int value(struct ps *p, char **out)
{
    if (p->i < p->len && p->s[p->i] == '"')
        return quoted(p, out);
    size_t a = p->i;
    while (p->i < p->len && is_run(p->s[p->i]))
        p->i++;
    *out = moxi_authres_sanitize((const char *)p->s + a, p->i - a);
    return *out ? MOX_OK : MOX_ERR_NOMEM;
}

/* Skips one element that could not be understood. Always advances. */
static int skip_element(struct ps *p)
{
    p->ar->defects++;
    if (p->i >= p->len)
        return MOX_OK;
    unsigned char c = p->s[p->i];
    if (c == '"') {
        char *v = NULL;
        int rc = quoted(p, &v);
        mox_free(v);
        return rc;
    }
    if (c == '(')
        return comment(p, NULL);
    size_t a = p->i;
    while (p->i < p->len && is_run(p->s[p->i]))
        p->i++;
    if (p->i == a)
        p->i++;
    return MOX_OK;
}

/* Skips the rest of a resinfo, up to (not past) the next ';'. */
static int skip_resinfo(struct ps *p)
{
    int rc = MOX_OK;
    p->ar->defects++;
    while (!rc && p->i < p->len && p->s[p->i] != ';') {
        if (is_ws(p->s[p->i]))
            p->i++;
        else {
            rc = skip_element(p);
            p->ar->defects--; /* counted once for the whole resinfo */
        }
    }
    return rc;
}

static size_t keyword(struct ps *p)
{
    size_t a = p->i;
    while (p->i < p->len && moxi_authres_is_keyword_char(p->s[p->i]))
        p->i++;
    return p->i - a;
}

static int kw_is(struct ps *p, size_t start, size_t n, const char *w)
{
    return strlen(w) == n && moxi_memcaseeq(p->s + start, w, n);
}

/* Digits up to 9 of them; returns 0 and counts a defect when longer. */
static unsigned digits(struct ps *p)
{
    size_t a = p->i;
    unsigned long v = 0;
    while (p->i < p->len && moxi_is_digit(p->s[p->i])) {
        if (p->i - a < 9)
            v = v * 10 + (unsigned long)(p->s[p->i] - '0');
        p->i++;
    }
    if (p->i - a > 9) {
        p->ar->defects++;
        return 0;
    }
    return (unsigned)v;
}

static int resinfo(struct ps *p)
{
    int rc;
    size_t m0 = p->i, mn = keyword(p);
    if (mn == 0)
        return skip_resinfo(p);
    if ((rc = cfws(p, NULL)))
        return rc;
    int at_sep = p->i >= p->len || (p->s[p->i] != '=' && p->s[p->i] != '/');
    if (at_sep && kw_is(p, m0, mn, "none")) {
        cfws(p, NULL);
        if (p->i < p->len && p->s[p->i] != ';')
            return skip_resinfo(p);
        return MOX_OK;
    }
    unsigned mver = 0;
    if (p->i < p->len && p->s[p->i] == '/') {
        p->i++;
        if ((rc = cfws(p, NULL)))
            return rc;
        if (p->i >= p->len || !moxi_is_digit(p->s[p->i]))
            return skip_resinfo(p);
        mver = digits(p);
        if ((rc = cfws(p, NULL)))
            return rc;
    }
    if (p->i >= p->len || p->s[p->i] != '=')
        return skip_resinfo(p);
    p->i++;
    if ((rc = cfws(p, NULL)))
        return rc;
    size_t r0 = p->i, rn = keyword(p);
    if (rn == 0)
        return skip_resinfo(p);
    char *method = moxi_authres_lower_dup((const char *)p->s + m0, mn);
    char *result = moxi_authres_lower_dup((const char *)p->s + r0, rn);
    if (!method || !result) {
        mox_free(method);
        mox_free(result);
        return MOX_ERR_NOMEM;
    }
    if ((rc = moxi_authres_push(p->ar, method, result)))
        return rc;
    mox_authres_result *res = &p->ar->r[p->ar->n - 1];
    res->version = mver;
    for (;;) {
        if ((rc = cfws(p, &res->comment)))
            return rc;
        if (p->i >= p->len || p->s[p->i] == ';')
            return MOX_OK;
        size_t k0 = p->i, kn = keyword(p);
        if (kn == 0) {
            if ((rc = skip_element(p)))
                return rc;
            continue;
        }
        if ((rc = cfws(p, &res->comment)))
            return rc;
        if (p->i < p->len && p->s[p->i] == '=' && kw_is(p, k0, kn, "reason")) {
            p->i++;
            if ((rc = cfws(p, &res->comment)))
                return rc;
            char *v = NULL;
            if ((rc = value(p, &v)))
                return rc;
            if (res->reason) {
                p->ar->defects++;
                mox_free(v);
            } else {
                res->reason = v;
            }
            continue;
        }
        if (p->i >= p->len || p->s[p->i] != '.') {
            p->ar->defects++;
            continue;
        }
        p->i++;
        if ((rc = cfws(p, &res->comment)))
            return rc;
        size_t q0 = p->i, qn = keyword(p);
        if (qn == 0) {
            p->ar->defects++;
            continue;
        }
        if ((rc = cfws(p, &res->comment)))
            return rc;
        if (p->i >= p->len || p->s[p->i] != '=') {
            p->ar->defects++;
            continue;
        }
        p->i++;
        if ((rc = cfws(p, &res->comment)))
            return rc;
        char *v = NULL;
        if ((rc = value(p, &v)))
            return rc;
        char *t = moxi_authres_lower_dup((const char *)p->s + k0, kn);
        char *q = moxi_authres_lower_dup((const char *)p->s + q0, qn);
        if (!t || !q) {
            mox_free(t);
            mox_free(q);
            mox_free(v);
            return MOX_ERR_NOMEM;
        }
        if ((rc = moxi_authres_push_prop(res, t, q, v)))
            return rc;
    }
}

static int parse(struct ps *p)
{
    int rc = cfws(p, NULL);
    if (rc)
        return rc;
    if (p->i >= p->len || p->s[p->i] == ';')
        return MOX_ERR_SYNTAX;
    if ((rc = value(p, &p->ar->id)))
        return rc;
    if ((rc = cfws(p, NULL)))
        return rc;
    if (p->i < p->len && moxi_is_digit(p->s[p->i]))
        p->ar->version = digits(p);
    for (;;) {
        if ((rc = cfws(p, NULL)))
            return rc;
        if (p->i >= p->len)
            return MOX_OK;
        if (p->s[p->i] != ';') {
            if ((rc = skip_element(p)))
                return rc;
            continue;
        }
        p->i++;
        if ((rc = cfws(p, NULL)))
            return rc;
        if (p->i >= p->len || p->s[p->i] == ';') {
            p->ar->defects++;
            continue;
        }
        if ((rc = resinfo(p)))
            return rc;
    }
}

int mox_authres_parse(const char *s, size_t len, mox_authres **out, mox_errinfo *ei)
{
    if (!out || (!s && len))
        return MOX_ERR_INVAL;
    *out = NULL;
    struct ps p;
    memset(&p, 0, sizeof p);
    p.s = (const unsigned char *)(s ? s : "");
    p.len = len;
    p.ar = mox_calloc(1, sizeof *p.ar);
    if (!p.ar)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    int rc = parse(&p);
    mox_buf_free(&p.tmp);
    if (rc) {
        mox_authres_free(p.ar);
        if (rc == MOX_ERR_SYNTAX)
            return moxi_fail(ei, rc, MOX_AUTHRES_ERR_NO_ID, p.i,
                             "Authentication-Results without authserv-id");
        return moxi_fail(ei, rc, 0, p.i, "out of memory");
    }
    *out = p.ar;
    return MOX_OK;
}
