/* Authentication-Results (RFC 8601): model, builder and composition.
 *
 * Every string enters the model through sanitize(), so the model only ever
 * holds valid UTF-8 without control characters; composition then only has
 * to choose between a bare token and a quoted string, and a value can never
 * break out of its place in the header. */
#include <string.h>

#include "authres_priv.h"

size_t moxi_message_utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

char *moxi_authres_sanitize(const char *in, size_t len)
{
    const unsigned char *s = (const unsigned char *)in;
    char *d = mox_malloc(len + 1);
    if (!d)
        return NULL;
    size_t i = 0, o = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x20 || c == 0x7f) {
            d[o++] = '?';
            i++;
        } else if (c < 0x80) {
            d[o++] = (char)c;
            i++;
        } else {
            size_t n = moxi_message_utf8_seq(s + i, len - i);
            if (!n) {
                d[o++] = '?';
                i++;
            } else {
                memcpy(d + o, s + i, n);
                o += n;
                i += n;
            }
        }
    }
    d[o] = 0;
    return d;
}

int moxi_authres_is_keyword_char(unsigned char c)
{
    return moxi_is_alpha(c) || moxi_is_digit(c) || c == '-' || c == '_';
}

/* Validates a keyword given by the caller and returns a lowercase copy. */
static int keyword(const char *k, char **out)
{
    if (!k || !k[0] || !(moxi_is_alpha((unsigned char)k[0]) || moxi_is_digit((unsigned char)k[0])))
        return MOX_ERR_INVAL;
    size_t n = strlen(k);
    for (size_t i = 0; i < n; i++)
        if (!moxi_authres_is_keyword_char((unsigned char)k[i]))
            return MOX_ERR_INVAL;
    *out = moxi_authres_lower_dup(k, n);
    return *out ? MOX_OK : MOX_ERR_NOMEM;
}

char *moxi_authres_lower_dup(const char *s, size_t n)
{
    char *d = moxi_strndup(s, n);
    if (d)
        for (size_t i = 0; i < n; i++)
            d[i] = (char)moxi_lower((unsigned char)d[i]);
    return d;
}

int mox_authres_new(mox_authres **out, const char *id, size_t len)
{
    if (!out || (!id && len))
        return MOX_ERR_INVAL;
    *out = NULL;
    mox_authres *ar = mox_calloc(1, sizeof *ar);
    if (!ar)
        return MOX_ERR_NOMEM;
    ar->id = moxi_authres_sanitize(id ? id : "", len);
    if (!ar->id) {
        mox_free(ar);
        return MOX_ERR_NOMEM;
    }
    *out = ar;
    return MOX_OK;
}

static void result_clear(mox_authres_result *r)
{
    mox_free(r->method);
    mox_free(r->result);
    mox_free(r->reason);
    mox_free(r->comment);
    for (size_t i = 0; i < r->nprops; i++) {
        mox_free(r->props[i].ptype);
        mox_free(r->props[i].property);
        mox_free(r->props[i].value);
    }
    mox_free(r->props);
}

void mox_authres_free(mox_authres *ar)
{
    if (!ar)
        return;
    for (size_t i = 0; i < ar->n; i++)
        result_clear(&ar->r[i]);
    mox_free(ar->r);
    mox_free(ar->id);
    mox_free(ar);
}

void mox_authres_set_version(mox_authres *ar, unsigned version)
{
    if (ar)
        ar->version = version;
}

/* Takes ownership of method and result (lowercase keywords). */
int moxi_authres_push(mox_authres *ar, char *method, char *result)
{
    mox_authres_result *nr = mox_realloc(ar->r, (ar->n + 1) * sizeof *nr);
    if (!nr) {
        mox_free(method);
        mox_free(result);
        return MOX_ERR_NOMEM;
    }
    ar->r = nr;
    memset(&nr[ar->n], 0, sizeof nr[ar->n]);
    nr[ar->n].method = method;
    nr[ar->n].result = result;
    ar->n++;
    return MOX_OK;
}

/* Takes ownership of the three strings. */
int moxi_authres_push_prop(mox_authres_result *r, char *ptype, char *property, char *value)
{
    mox_authres_prop *np = mox_realloc(r->props, (r->nprops + 1) * sizeof *np);
    if (!np) {
        mox_free(ptype);
        mox_free(property);
        mox_free(value);
        return MOX_ERR_NOMEM;
    }
    r->props = np;
    np[r->nprops].ptype = ptype;
    np[r->nprops].property = property;
    np[r->nprops].value = value;
    r->nprops++;
    return MOX_OK;
}

int mox_authres_add(mox_authres *ar, const char *method, const char *result, size_t *index)
{
    if (!ar)
        return MOX_ERR_INVAL;
    char *m = NULL, *r = NULL;
    int rc = keyword(method, &m);
    if (!rc)
        rc = keyword(result, &r);
    if (rc) {
        mox_free(m);
        mox_free(r);
        return rc;
    }
    rc = moxi_authres_push(ar, m, r);
    if (!rc && index)
        *index = ar->n - 1;
    return rc;
}

int mox_authres_set_method_version(mox_authres *ar, size_t i, unsigned version)
{
    if (!ar || i >= ar->n)
        return MOX_ERR_INVAL;
    ar->r[i].version = version;
    return MOX_OK;
}

static int replace(char **slot, const char *s, size_t len)
{
    if (!s && len)
        return MOX_ERR_INVAL;
    char *v = moxi_authres_sanitize(s ? s : "", len);
    if (!v)
        return MOX_ERR_NOMEM;
    mox_free(*slot);
    *slot = v;
    return MOX_OK;
}

int mox_authres_set_reason(mox_authres *ar, size_t i, const char *s, size_t len)
{
    if (!ar || i >= ar->n)
        return MOX_ERR_INVAL;
    return replace(&ar->r[i].reason, s, len);
}

int mox_authres_set_comment(mox_authres *ar, size_t i, const char *s, size_t len)
{
    if (!ar || i >= ar->n)
        return MOX_ERR_INVAL;
    return replace(&ar->r[i].comment, s, len);
}

int mox_authres_add_prop(mox_authres *ar, size_t i, const char *ptype,
                         const char *property, const char *value, size_t value_len)
{
    if (!ar || i >= ar->n || (!value && value_len))
        return MOX_ERR_INVAL;
    char *t = NULL, *p = NULL, *v = NULL;
    int rc = keyword(ptype, &t);
    if (!rc)
        rc = keyword(property, &p);
    if (!rc && !(v = moxi_authres_sanitize(value ? value : "", value_len)))
        rc = MOX_ERR_NOMEM;
    if (rc) {
        mox_free(t);
        mox_free(p);
        return rc;
    }
    return moxi_authres_push_prop(&ar->r[i], t, p, v);
}

const char *mox_authres_authserv_id(const mox_authres *ar)
{
    return ar ? ar->id : NULL;
}

unsigned mox_authres_version(const mox_authres *ar)
{
    return ar ? ar->version : 0;
}

size_t mox_authres_count(const mox_authres *ar)
{
    return ar ? ar->n : 0;
}

const mox_authres_result *mox_authres_get(const mox_authres *ar, size_t i)
{
    if (!ar || i >= ar->n)
        return NULL;
    return &ar->r[i];
}

size_t mox_authres_defects(const mox_authres *ar)
{
    return ar ? ar->defects : 0;
}

static int streq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

int mox_authres_equal(const mox_authres *a, const mox_authres *b)
{
    if (!a || !b)
        return a == b;
    if (!streq(a->id, b->id) || a->version != b->version || a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        const mox_authres_result *x = &a->r[i], *y = &b->r[i];
        if (!streq(x->method, y->method) || x->version != y->version ||
            !streq(x->result, y->result) || !streq(x->reason, y->reason) ||
            !streq(x->comment, y->comment) || x->nprops != y->nprops)
            return 0;
        for (size_t k = 0; k < x->nprops; k++)
            if (!streq(x->props[k].ptype, y->props[k].ptype) ||
                !streq(x->props[k].property, y->props[k].property) ||
                !streq(x->props[k].value, y->props[k].value))
                return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- compose */

static int is_tspecial(unsigned char c)
{
    return c == '(' || c == ')' || c == '<' || c == '>' || c == '@' || c == ',' ||
           c == ';' || c == ':' || c == '\\' || c == '"' || c == '/' || c == '[' ||
           c == ']' || c == '?' || c == '=';
}

/* RFC 2045 token. */
static int is_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 32 || c >= 127 || is_tspecial(c))
            return 0;
    }
    return 1;
}

static int is_atext(unsigned char c)
{
    return moxi_is_alpha(c) || moxi_is_digit(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* dot-atom-text over [s, e). */
static int is_dot_atom(const char *s, const char *e)
{
    if (s == e || *s == '.' || e[-1] == '.')
        return 0;
    for (const char *p = s; p < e; p++) {
        if (*p == '.') {
            if (p[1] == '.')
                return 0;
        } else if (!is_atext((unsigned char)*p)) {
            return 0;
        }
    }
    return 1;
}

/* [ [local-part] "@" ] domain-name, with ASCII dot-atoms. */
static int is_addr(const char *s)
{
    const char *at = strrchr(s, '@');
    const char *e = s + strlen(s);
    const char *dom = at ? at + 1 : s;
    if (at && at > s && !is_dot_atom(s, at))
        return 0;
    if (!is_dot_atom(dom, e))
        return 0;
    for (const char *p = dom; p < e; p++)
        if (!(moxi_is_alpha((unsigned char)*p) || moxi_is_digit((unsigned char)*p) ||
              *p == '-' || *p == '.' || *p == '_'))
            return 0;
    return 1;
}

static int append_value(mox_buf *b, const char *v, int addr_ok)
{
    if (is_token(v) || (addr_ok && *v && is_addr(v)))
        return mox_buf_append_str(b, v);
    int rc = mox_buf_append_byte(b, '"');
    for (const char *p = v; !rc && *p; p++) {
        if (*p == '"' || *p == '\\')
            rc = mox_buf_append_byte(b, '\\');
        if (!rc)
            rc = mox_buf_append_byte(b, (unsigned char)*p);
    }
    if (!rc)
        rc = mox_buf_append_byte(b, '"');
    return rc;
}

static int append_comment(mox_buf *b, const char *v)
{
    int rc = mox_buf_append_byte(b, '(');
    for (const char *p = v; !rc && *p; p++) {
        if (*p == '(' || *p == ')' || *p == '\\')
            rc = mox_buf_append_byte(b, '\\');
        if (!rc)
            rc = mox_buf_append_byte(b, (unsigned char)*p);
    }
    if (!rc)
        rc = mox_buf_append_byte(b, ')');
    return rc;
}

#define FOLD_COLUMNS 78

struct line {
    mox_buf *out;
    size_t col;   /* octets on the current line */
    int fold;     /* 0: one line (spaces where folds would go) */
};

/* Starts a new line (a fold), or a space on one line. */
static int newline(struct line *ln)
{
    if (!ln->fold) {
        ln->col++;
        return mox_buf_append_byte(ln->out, ' ');
    }
    ln->col = 1;
    return mox_buf_append(ln->out, "\r\n\t", 3);
}

/* Adds an element, preceded by a space or by a fold when it would pass
 * the column limit (`extra` octets that will follow it on the line). */
static int put(struct line *ln, const mox_buf *elem, size_t extra)
{
    int rc;
    if (ln->fold && ln->col > 1 && ln->col + 1 + elem->len + extra > FOLD_COLUMNS) {
        rc = mox_buf_append(ln->out, "\r\n\t", 3);
        ln->col = 1;
    } else {
        rc = mox_buf_append_byte(ln->out, ' ');
        ln->col++;
    }
    if (!rc)
        rc = mox_buf_append(ln->out, elem->data, elem->len);
    ln->col += elem->len;
    return rc;
}

static int compose_result(struct line *ln, const mox_authres_result *r, int last)
{
    mox_buf e = MOX_BUF_INIT;
    size_t nel = 1 + (r->comment ? 1 : 0) + (r->reason ? 1 : 0) + r->nprops, el = 0;
    int rc = mox_buf_append_str(&e, r->method);
    if (!rc && r->version)
        rc = mox_buf_appendf(&e, "/%u", r->version);
    if (!rc)
        rc = mox_buf_appendf(&e, "=%s", r->result);
    /* The first element of a result always starts a new line. */
    if (!rc)
        rc = newline(ln);
    if (!rc) {
        rc = mox_buf_append(ln->out, e.data, e.len);
        ln->col += e.len;
        el++;
    }
    if (!rc && r->comment) {
        mox_buf_reset(&e);
        rc = append_comment(&e, r->comment);
        if (!rc)
            rc = put(ln, &e, (++el == nel && !last) ? 1 : 0);
    }
    if (!rc && r->reason) {
        mox_buf_reset(&e);
        rc = mox_buf_append_str(&e, "reason=");
        if (!rc)
            rc = append_value(&e, r->reason, 0);
        if (!rc)
            rc = put(ln, &e, (++el == nel && !last) ? 1 : 0);
    }
    for (size_t k = 0; !rc && k < r->nprops; k++) {
        const mox_authres_prop *p = &r->props[k];
        mox_buf_reset(&e);
        rc = mox_buf_appendf(&e, "%s.%s=", p->ptype, p->property);
        if (!rc)
            rc = append_value(&e, p->value, 1);
        if (!rc)
            rc = put(ln, &e, (++el == nel && !last) ? 1 : 0);
    }
    if (!rc && !last) {
        rc = mox_buf_append_byte(ln->out, ';');
        ln->col++;
    }
    mox_buf_free(&e);
    return rc;
}

static int compose(const mox_authres *ar, int field, int fold, mox_buf *out)
{
    if (!ar || !out)
        return MOX_ERR_INVAL;
    size_t orig = out->len;
    struct line ln = {out, 0, fold};
    int rc = field ? mox_buf_append_str(out, "Authentication-Results: ") : MOX_OK;
    ln.col = field ? 24 : 0;
    mox_buf e = MOX_BUF_INIT;
    if (!rc)
        rc = append_value(&e, ar->id, 0);
    if (!rc) {
        rc = mox_buf_append(out, e.data, e.len);
        ln.col += e.len;
    }
    if (!rc && ar->version) {
        mox_buf_reset(&e);
        rc = mox_buf_appendf(&e, "%u", ar->version);
        if (!rc)
            rc = put(&ln, &e, 1);
    }
    mox_buf_free(&e);
    if (!rc)
        rc = mox_buf_append_byte(out, ';');
    if (!rc && ar->n == 0)
        rc = mox_buf_append_str(out, " none");
    for (size_t i = 0; !rc && i < ar->n; i++)
        rc = compose_result(&ln, &ar->r[i], i + 1 == ar->n);
    if (!rc && field)
        rc = mox_buf_append(out, "\r\n", 2);
    if (rc) {
        out->len = orig;
        if (out->data)
            out->data[orig] = 0;
    }
    return rc;
}

int mox_authres_compose(const mox_authres *ar, mox_buf *out)
{
    return compose(ar, 1, 1, out);
}

int mox_authres_compose_value(const mox_authres *ar, unsigned flags, mox_buf *out)
{
    if (flags & ~MOX_AUTHRES_FOLD)
        return MOX_ERR_INVAL;
    return compose(ar, 0, (flags & MOX_AUTHRES_FOLD) != 0, out);
}
