/* RFC 5322 §3.4 address lists, with the obsolete syntax of §4.4 and
 * RFC 6532 UTF-8. A small lexer skips CFWS and decodes atoms and quoted
 * strings; the parser collects the words before '<', ':' or '@' and only
 * then decides whether they were a display name, a group name or a local
 * part. No recursion: comment nesting is counted. */
#include <string.h>

#include "address/address_priv.h"
#include "core/core_priv.h"

#define MAX_COMMENT_DEPTH 64

enum tok_type { T_END, T_ATOM, T_QSTR, T_DOMLIT, T_SPECIAL };

struct tok {
    enum tok_type type;
    int ch;          /* T_SPECIAL */
    size_t off;      /* input offset of the token */
    int cfws;        /* CFWS came before it */
    size_t v, vlen;  /* decoded value in lp->scratch */
    size_t c, clen;  /* text of the first comment before it, in lp->cmt */
    int has_comment;
};

struct lp {
    const unsigned char *s;
    size_t len, i;
    unsigned flags;
    mox_errinfo *ei;
    mox_buf scratch; /* decoded word values of the current address */
    mox_buf cmt;     /* comment text */
    struct tok t;    /* lookahead */
    int have;        /* lookahead valid */
    mox_address_list *out;
    size_t cap;
};

/* One collected word or dot of a phrase or local part. */
struct word {
    int dot;
    int cfws;
    size_t v, vlen, off;
    int quoted;
};

static int fail(struct lp *p, int detail, size_t off, const char *msg)
{
    return moxi_fail(p->ei, MOX_ERR_SYNTAX, detail, off, "%s", msg);
}

static int ctl_fail(struct lp *p, size_t at)
{
    return moxi_fail(p->ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_CONTROL, at, "control character 0x%02x",
                     p->s[at]);
}

/* Length of a non-ASCII UTF-8 sequence at i, when allowed; 0 otherwise
 * (with the error set in *rc). */
static size_t utf8_at(struct lp *p, size_t i, int *rc)
{
    if (!(p->flags & MOX_ADDRLIST_UTF8)) {
        *rc = fail(p, MOX_ADDR_ERR_UTF8, i, "non-ASCII character without UTF-8 support");
        return 0;
    }
    size_t n = p->len - i < 4 ? p->len - i : 4;
    for (size_t k = 2; k <= n; k++)
        if (mox_utf8_valid(p->s + i, k, NULL)) {
            /* C1 controls (U+0080..U+009F) are controls too. */
            if (p->s[i] == 0xC2 && p->s[i + 1] < 0xA0) {
                *rc = moxi_fail(p->ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_CONTROL, i,
                                "control character U+%04X", p->s[i + 1]);
                return 0;
            }
            return k;
        }
    *rc = fail(p, MOX_ADDR_ERR_UTF8, i, "invalid UTF-8");
    return 0;
}

/* FWS at i: WSP, or CRLF/LF followed by WSP. Returns its length. */
static size_t fws_len(struct lp *p, size_t i)
{
    size_t j = i;
    for (;;) {
        if (j < p->len && (p->s[j] == ' ' || p->s[j] == '\t')) {
            j++;
        } else if (j + 2 < p->len && p->s[j] == '\r' && p->s[j + 1] == '\n' &&
                   (p->s[j + 2] == ' ' || p->s[j + 2] == '\t')) {
            j += 3;
        } else if (j + 1 < p->len && p->s[j] == '\n' && (p->s[j + 1] == ' ' || p->s[j + 1] == '\t')) {
            j += 2;
        } else {
            return j - i;
        }
    }
}

/* Appends the FWS at i..i+n without its line breaks (unfolding). */
static int append_unfolded(mox_buf *b, const unsigned char *s, size_t n)
{
    int rc = MOX_OK;
    for (size_t k = 0; k < n && rc == MOX_OK; k++)
        if (s[k] != '\r' && s[k] != '\n')
            rc = mox_buf_append_byte(b, s[k]);
    return rc;
}

/* A comment starting at p->i ('('), nested comments included. The text of
 * the outermost comment (quoted-pairs decoded, line breaks removed) goes to
 * p->cmt when `keep`. */
static int skip_comment(struct lp *p, int keep)
{
    size_t start = p->i;
    int depth = 0, rc = MOX_OK;
    while (rc == MOX_OK) {
        if (p->i >= p->len)
            return fail(p, MOX_ADDR_ERR_COMMENT, start, "unterminated comment");
        unsigned char c = p->s[p->i];
        size_t n = 1;
        if (c == '(') {
            if (++depth > MAX_COMMENT_DEPTH)
                return fail(p, MOX_ADDR_ERR_COMMENT, p->i, "comments nested too deeply");
            if (depth == 1) {
                p->i++;
                continue;
            }
        } else if (c == ')') {
            if (--depth == 0) {
                p->i++;
                return MOX_OK;
            }
        } else if (c == '\\') {
            if (p->i + 1 >= p->len)
                return fail(p, MOX_ADDR_ERR_COMMENT, p->i, "backslash at end of comment");
            unsigned char q = p->s[p->i + 1];
            if ((q < 0x20 && q != '\t') || q == 0x7f)
                return ctl_fail(p, p->i + 1);
            p->i++;
            if (q >= 0x80 && !(n = utf8_at(p, p->i, &rc)))
                return rc;
        } else if ((n = fws_len(p, p->i)) > 0) {
            if (keep && (rc = append_unfolded(&p->cmt, p->s + p->i, n)) != MOX_OK)
                return rc;
            p->i += n;
            continue;
        } else if (c < 0x20 || c == 0x7f) {
            return ctl_fail(p, p->i);
        } else if (c >= 0x80) {
            if (!(n = utf8_at(p, p->i, &rc)))
                return rc;
        } else {
            n = 1;
        }
        if (n == 0)
            n = 1;
        if (keep && (rc = mox_buf_append(&p->cmt, p->s + p->i, n)) != MOX_OK)
            return rc;
        p->i += n;
    }
    return rc;
}

/* Skips CFWS; records the first comment into p->t. */
static int skip_cfws(struct lp *p, struct tok *t)
{
    for (;;) {
        size_t n = fws_len(p, p->i);
        if (n) {
            p->i += n;
            t->cfws = 1;
            continue;
        }
        if (p->i < p->len && p->s[p->i] == '(') {
            int keep = !t->has_comment;
            if (keep) {
                t->has_comment = 1;
                t->c = p->cmt.len;
            }
            int rc = skip_comment(p, keep);
            if (rc != MOX_OK)
                return rc;
            if (keep)
                t->clen = p->cmt.len - t->c;
            t->cfws = 1;
            continue;
        }
        return MOX_OK;
    }
}

static int lex_qstr(struct lp *p, struct tok *t)
{
    size_t start = p->i++;
    int rc = MOX_OK;
    t->type = T_QSTR;
    t->v = p->scratch.len;
    for (;;) {
        if (p->i >= p->len)
            return fail(p, MOX_ADDR_ERR_QUOTED, start, "unterminated quoted string");
        unsigned char c = p->s[p->i];
        size_t n = 1;
        if (c == '"') {
            p->i++;
            break;
        }
        if (c == '\\') {
            if (p->i + 1 >= p->len)
                return fail(p, MOX_ADDR_ERR_QUOTED, p->i, "backslash at end of quoted string");
            unsigned char q = p->s[p->i + 1];
            if ((q < 0x20 && q != '\t') || q == 0x7f)
                return ctl_fail(p, p->i + 1);
            p->i++;
            if (q >= 0x80 && !(n = utf8_at(p, p->i, &rc)))
                return rc;
        } else if ((n = fws_len(p, p->i)) > 0) {
            if ((rc = append_unfolded(&p->scratch, p->s + p->i, n)) != MOX_OK)
                return rc;
            p->i += n;
            continue;
        } else if (c < 0x20 || c == 0x7f) {
            return ctl_fail(p, p->i);
        } else if (c >= 0x80) {
            if (!(n = utf8_at(p, p->i, &rc)))
                return rc;
        } else {
            n = 1;
        }
        if ((rc = mox_buf_append(&p->scratch, p->s + p->i, n)) != MOX_OK)
            return rc;
        p->i += n;
    }
    t->vlen = p->scratch.len - t->v;
    return MOX_OK;
}

static int lex_domlit(struct lp *p, struct tok *t)
{
    size_t start = p->i++;
    int rc = MOX_OK;
    t->type = T_DOMLIT;
    t->v = p->scratch.len;
    for (;;) {
        if (p->i >= p->len)
            return fail(p, MOX_ADDR_ERR_LITERAL, start, "unterminated domain literal");
        unsigned char c = p->s[p->i];
        size_t n;
        if (c == ']') {
            p->i++;
            break;
        }
        if ((n = fws_len(p, p->i)) > 0) {
            p->i += n; /* FWS inside a domain literal carries no meaning */
            continue;
        }
        if (c < 0x20 || c == 0x7f)
            return ctl_fail(p, p->i);
        if (c == '[' || c == '\\')
            return fail(p, MOX_ADDR_ERR_LITERAL, p->i, "'[' or '\\' in domain literal");
        if (c >= 0x80)
            return fail(p, MOX_ADDR_ERR_LITERAL, p->i, "non-ASCII in domain literal");
        if ((rc = mox_buf_append_byte(&p->scratch, c)) != MOX_OK)
            return rc;
        p->i++;
    }
    t->vlen = p->scratch.len - t->v;
    return MOX_OK;
}

static int lex(struct lp *p, struct tok *t)
{
    memset(t, 0, sizeof *t);
    p->cmt.len = 0; /* comments of earlier tokens are no longer needed */
    int rc = skip_cfws(p, t);
    if (rc != MOX_OK)
        return rc;
    t->off = p->i;
    if (p->i >= p->len) {
        t->type = T_END;
        return MOX_OK;
    }
    unsigned char c = p->s[p->i];
    if (c == '"')
        return lex_qstr(p, t);
    if (c == '[')
        return lex_domlit(p, t);
    if (c < 0x80 && moxi_address_is_atext(c)) {
        t->type = T_ATOM;
        t->v = p->scratch.len;
        while (p->i < p->len) {
            c = p->s[p->i];
            size_t n = 1;
            if (c >= 0x80) {
                if (!(n = utf8_at(p, p->i, &rc)))
                    return rc;
            } else if (!moxi_address_is_atext(c)) {
                break;
            }
            if ((rc = mox_buf_append(&p->scratch, p->s + p->i, n)) != MOX_OK)
                return rc;
            p->i += n;
        }
        t->vlen = p->scratch.len - t->v;
        return MOX_OK;
    }
    if (c >= 0x80) {
        size_t n = utf8_at(p, p->i, &rc);
        if (!n)
            return rc;
        /* UTF8-non-ascii is atext (RFC 6532 §3.2): lex it as an atom. */
        t->type = T_ATOM;
        t->v = p->scratch.len;
        while (p->i < p->len) {
            c = p->s[p->i];
            n = 1;
            if (c >= 0x80) {
                if (!(n = utf8_at(p, p->i, &rc)))
                    return rc;
            } else if (!moxi_address_is_atext(c)) {
                break;
            }
            if ((rc = mox_buf_append(&p->scratch, p->s + p->i, n)) != MOX_OK)
                return rc;
            p->i += n;
        }
        t->vlen = p->scratch.len - t->v;
        return MOX_OK;
    }
    if (c < 0x20 || c == 0x7f)
        return ctl_fail(p, p->i);
    if (c == ')')
        return fail(p, MOX_ADDR_ERR_COMMENT, p->i, "')' without '('");
    t->type = T_SPECIAL;
    t->ch = c;
    p->i++;
    return MOX_OK;
}

static int peek(struct lp *p, struct tok **t)
{
    if (!p->have) {
        int rc = lex(p, &p->t);
        if (rc != MOX_OK)
            return rc;
        p->have = 1;
    }
    *t = &p->t;
    return MOX_OK;
}

static void consume(struct lp *p)
{
    p->have = 0;
}

static int is_special(const struct tok *t, int c)
{
    return t->type == T_SPECIAL && t->ch == c;
}

/* Collects atoms, quoted strings and dots (obs-phrase, obs-local-part). */
static int collect_words(struct lp *p, struct word **w, size_t *nw, size_t *cap)
{
    *nw = 0;
    for (;;) {
        struct tok *t;
        int rc = peek(p, &t);
        if (rc != MOX_OK)
            return rc;
        if (t->type != T_ATOM && t->type != T_QSTR && !is_special(t, '.'))
            return MOX_OK;
        if (*nw == *cap) {
            size_t nc = *cap ? *cap * 2 : 8;
            struct word *n = mox_realloc(*w, nc * sizeof *n);
            if (!n)
                return MOX_ERR_NOMEM;
            *w = n;
            *cap = nc;
        }
        struct word *x = &(*w)[(*nw)++];
        x->dot = t->type == T_SPECIAL;
        x->cfws = t->cfws;
        x->v = t->v;
        x->vlen = t->vlen;
        x->off = t->off;
        x->quoted = t->type == T_QSTR;
        consume(p);
    }
}

/* Display name from a phrase: words with one space where CFWS separated
 * them. NULL (and MOX_OK) for an empty result. */
static int phrase(struct lp *p, const struct word *w, size_t nw, int detail, char **out)
{
    *out = NULL;
    if (nw == 0)
        return MOX_OK;
    if (w[0].dot)
        return fail(p, detail, w[0].off, "phrase starts with a dot");
    mox_buf b = MOX_BUF_INIT;
    int rc = MOX_OK;
    for (size_t k = 0; k < nw && rc == MOX_OK; k++) {
        if (k > 0 && w[k].cfws)
            rc = mox_buf_append_byte(&b, ' ');
        if (rc == MOX_OK)
            rc = w[k].dot ? mox_buf_append_byte(&b, '.')
                          : mox_buf_append(&b, p->scratch.data + w[k].v, w[k].vlen);
    }
    if (rc == MOX_OK && b.len > 0) {
        *out = mox_buf_steal(&b, NULL);
        if (!*out)
            rc = MOX_ERR_NOMEM;
    }
    mox_buf_free(&b);
    return rc;
}

/* local-part (dot-atom / quoted-string / obs-local-part) from the words. */
static int localpart(struct lp *p, const struct word *w, size_t nw, size_t at_off, mox_mailbox *m)
{
    if (nw == 0)
        return fail(p, MOX_ADDR_ERR_LOCALPART, at_off, "empty local part");
    mox_buf b = MOX_BUF_INIT;
    int rc = MOX_OK;
    for (size_t k = 0; k < nw; k++) {
        int want_dot = k % 2 == 1;
        if (w[k].dot != want_dot) {
            rc = fail(p, w[k].dot ? MOX_ADDR_ERR_LOCALPART_DOTS : MOX_ADDR_ERR_LOCALPART, w[k].off,
                      w[k].dot ? (k == 0 ? "local part starts with a dot" : "two dots in a row in local part")
                               : "words of a local part must be separated by dots");
            goto out;
        }
        rc = w[k].dot ? mox_buf_append_byte(&b, '.')
                      : mox_buf_append(&b, p->scratch.data + w[k].v, w[k].vlen);
        if (rc != MOX_OK)
            goto out;
    }
    if (w[nw - 1].dot) {
        rc = fail(p, MOX_ADDR_ERR_LOCALPART_DOTS, w[nw - 1].off, "local part ends with a dot");
        goto out;
    }
    rc = moxi_address_set_localpart(m, b.len ? (const char *)b.data : "", b.len,
                                    (p->flags & MOX_ADDRLIST_UTF8) != 0, w[0].off, p->ei);
out:
    mox_buf_free(&b);
    return rc;
}

/* domain = dot-atom / domain-literal / obs-domain, after the '@'. */
static int domain(struct lp *p, mox_mailbox *m)
{
    struct tok *t;
    int rc = peek(p, &t);
    if (rc != MOX_OK)
        return rc;
    if (t->type == T_DOMLIT) {
        consume(p);
        return moxi_address_set_literal(m, (const char *)p->scratch.data + t->v, t->vlen, t->off + 1,
                                        p->ei);
    }
    if (t->type != T_ATOM)
        return fail(p, MOX_ADDR_ERR_DOMAIN, t->off, "missing domain after '@'");
    mox_buf b = MOX_BUF_INIT;
    size_t start = t->off;
    for (;;) {
        if (t->type != T_ATOM) {
            rc = fail(p, MOX_ADDR_ERR_DOMAIN, t->off, "domain ends with a dot");
            break;
        }
        if ((rc = mox_buf_append(&b, p->scratch.data + t->v, t->vlen)) != MOX_OK)
            break;
        consume(p);
        if ((rc = peek(p, &t)) != MOX_OK)
            break;
        if (!is_special(t, '.'))
            break;
        consume(p);
        if ((rc = mox_buf_append_byte(&b, '.')) != MOX_OK || (rc = peek(p, &t)) != MOX_OK)
            break;
    }
    if (rc == MOX_OK)
        rc = moxi_address_set_domain(m, (const char *)b.data, b.len,
                                     (p->flags & MOX_ADDRLIST_UTF8) != 0, start, p->ei);
    mox_buf_free(&b);
    return rc;
}

static int push(struct lp *p, mox_address *a)
{
    mox_address_list *l = p->out;
    if (l->count == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 4;
        mox_address *n = mox_realloc(l->addr, nc * sizeof *n);
        if (!n)
            return MOX_ERR_NOMEM;
        l->addr = n;
        p->cap = nc;
    }
    l->addr[l->count++] = *a;
    return MOX_OK;
}

static void address_clear(mox_address *a)
{
    mox_free(a->display_name);
    mox_free(a->group);
    mox_mailbox_clear(&a->mailbox);
    memset(a, 0, sizeof *a);
}

/* obs-route: "@" domain *("," [CFWS] ["@" domain]) ":" — checked, dropped. */
static int obs_route(struct lp *p)
{
    for (;;) {
        struct tok *t;
        int rc = peek(p, &t);
        if (rc != MOX_OK)
            return rc;
        if (is_special(t, ':')) {
            consume(p);
            return MOX_OK;
        }
        if (is_special(t, ',')) {
            consume(p);
            continue;
        }
        if (!is_special(t, '@'))
            return fail(p, MOX_ADDR_ERR_SOURCE_ROUTE, t->off, "bad route in angle address");
        consume(p);
        mox_mailbox tmp = {0};
        rc = domain(p, &tmp);
        mox_mailbox_clear(&tmp);
        if (rc != MOX_OK) {
            if (rc != MOX_ERR_NOMEM && p->ei)
                p->ei->detail = MOX_ADDR_ERR_SOURCE_ROUTE;
            return rc;
        }
    }
}

/* One mailbox or group. `group` is the enclosing group's name (NULL at the
 * top level, where groups may start). */
static int address(struct lp *p, const char *group, int in_group, struct word **w, size_t *wcap)
{
    mox_address a = {0};
    size_t nw;
    struct tok *t;
    int rc;
    /* p->scratch is never reset: the lookahead token may live in it, and
     * decoded text is never longer than the input. */
    if ((rc = collect_words(p, w, &nw, wcap)) != MOX_OK || (rc = peek(p, &t)) != MOX_OK)
        return rc;
    if (is_special(t, '<')) {
        size_t lt = t->off;
        if ((rc = phrase(p, *w, nw, MOX_ADDR_ERR_DISPLAY_NAME, &a.display_name)) != MOX_OK)
            goto err;
        consume(p);
        if ((rc = peek(p, &t)) != MOX_OK)
            goto err;
        if (is_special(t, '@') && (rc = obs_route(p)) != MOX_OK)
            goto err;
        if ((rc = collect_words(p, w, &nw, wcap)) != MOX_OK || (rc = peek(p, &t)) != MOX_OK)
            goto err;
        if (!is_special(t, '@')) {
            rc = fail(p, MOX_ADDR_ERR_NO_AT, t->off,
                      nw ? "mailbox without '@'" : "empty angle address");
            goto err;
        }
        size_t at = t->off;
        consume(p);
        if ((rc = localpart(p, *w, nw, at, &a.mailbox)) != MOX_OK || (rc = domain(p, &a.mailbox)) != MOX_OK ||
            (rc = peek(p, &t)) != MOX_OK)
            goto err;
        if (!is_special(t, '>')) {
            rc = fail(p, t->type == T_END ? MOX_ADDR_ERR_BRACKETS : MOX_ADDR_ERR_TRAILING,
                      t->type == T_END ? lt : t->off,
                      t->type == T_END ? "'<' without '>'" : "unexpected text before '>'");
            goto err;
        }
        consume(p);
    } else if (is_special(t, ':')) {
        if (in_group) {
            rc = fail(p, MOX_ADDR_ERR_GROUP, t->off, "groups cannot nest");
            goto err;
        }
        char *name = NULL;
        if ((rc = phrase(p, *w, nw, MOX_ADDR_ERR_GROUP, &name)) != MOX_OK)
            goto err;
        if (!name) {
            rc = fail(p, MOX_ADDR_ERR_GROUP, t->off, "group without a name");
            goto err;
        }
        size_t colon = t->off;
        consume(p);
        p->out->ngroups++;
        for (;;) {
            if ((rc = peek(p, &t)) != MOX_OK)
                break;
            if (is_special(t, ';')) {
                consume(p);
                break;
            }
            if (t->type == T_END) {
                rc = fail(p, MOX_ADDR_ERR_GROUP, colon, "group without ';'");
                break;
            }
            if (is_special(t, ',')) {
                consume(p); /* obs-group-list / obs-mbox-list empty element */
                continue;
            }
            if ((rc = address(p, name, 1, w, wcap)) != MOX_OK)
                break;
            if ((rc = peek(p, &t)) != MOX_OK)
                break;
            if (!is_special(t, ',') && !is_special(t, ';')) {
                rc = fail(p, t->type == T_END ? MOX_ADDR_ERR_GROUP : MOX_ADDR_ERR_TRAILING, t->off,
                          t->type == T_END ? "group without ';'" : "expected ',' or ';' after address");
                break;
            }
        }
        mox_free(name);
        return rc;
    } else if (is_special(t, '@')) {
        size_t at = t->off;
        consume(p);
        if ((rc = localpart(p, *w, nw, at, &a.mailbox)) != MOX_OK || (rc = domain(p, &a.mailbox)) != MOX_OK ||
            (rc = peek(p, &t)) != MOX_OK)
            goto err;
        /* "addr@example.org (Name)": the comment stands in for a name. */
        if (t->has_comment && t->clen > 0) {
            const char *c = (const char *)p->cmt.data + t->c;
            size_t n = t->clen;
            while (n && (*c == ' ' || *c == '\t'))
                c++, n--;
            while (n && (c[n - 1] == ' ' || c[n - 1] == '\t'))
                n--;
            if (n && !(a.display_name = moxi_strndup(c, n))) {
                rc = MOX_ERR_NOMEM;
                goto err;
            }
        }
    } else if (nw > 0 && (t->type == T_END || is_special(t, ',') || is_special(t, ';') ||
                          is_special(t, '>'))) {
        rc = fail(p, MOX_ADDR_ERR_NO_AT, t->off, "mailbox without '@'");
        goto err;
    } else {
        int detail = is_special(t, '>') ? MOX_ADDR_ERR_BRACKETS
                     : is_special(t, ';') || is_special(t, ':') ? MOX_ADDR_ERR_GROUP
                     : nw == 0 && (t->type == T_DOMLIT || is_special(t, '@')) ? MOX_ADDR_ERR_LOCALPART
                                          : MOX_ADDR_ERR_DISPLAY_NAME;
        rc = moxi_fail(p->ei, MOX_ERR_SYNTAX, detail, t->off, "unexpected %s",
                       t->type == T_DOMLIT ? "domain literal" : "character");
        goto err;
    }
    if (group && !(a.group = moxi_strdup(group))) {
        rc = MOX_ERR_NOMEM;
        goto err;
    }
    if ((rc = push(p, &a)) != MOX_OK)
        goto err;
    return MOX_OK;
err:
    address_clear(&a);
    return rc;
}

int mox_address_list_parse(const char *s, size_t len, unsigned flags, mox_address_list *l,
                           mox_errinfo *ei)
{
    if (!l || (len && !s))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid argument");
    memset(l, 0, sizeof *l);
    struct lp p = {0};
    p.s = (const unsigned char *)s;
    p.len = len;
    p.flags = flags;
    p.ei = ei;
    p.out = l;
    struct word *w = NULL;
    size_t wcap = 0;
    int rc;
    for (;;) {
        struct tok *t;
        if ((rc = peek(&p, &t)) != MOX_OK)
            break;
        if (t->type == T_END) {
            if (l->count == 0 && l->ngroups == 0)
                rc = fail(&p, MOX_ADDR_ERR_EMPTY, t->off, "no address");
            break;
        }
        if (is_special(t, ',')) {
            consume(&p); /* obs-addr-list empty element */
            continue;
        }
        if ((rc = address(&p, NULL, 0, &w, &wcap)) != MOX_OK)
            break;
        if ((rc = peek(&p, &t)) != MOX_OK)
            break;
        if (t->type != T_END && !is_special(t, ',')) {
            rc = fail(&p, is_special(t, ';') ? MOX_ADDR_ERR_GROUP : MOX_ADDR_ERR_TRAILING, t->off,
                      is_special(t, ';') ? "';' outside a group" : "expected ',' between addresses");
            break;
        }
    }
    mox_free(w);
    mox_buf_free(&p.scratch);
    mox_buf_free(&p.cmt);
    if (rc != MOX_OK)
        mox_address_list_clear(l);
    return rc;
}

void mox_address_list_clear(mox_address_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++)
        address_clear(&l->addr[i]);
    mox_free(l->addr);
    memset(l, 0, sizeof *l);
}

/* A display name that is atoms separated by single spaces needs no quotes. */
static int phrase_is_atoms(const char *s, size_t n)
{
    if (n == 0 || s[0] == ' ' || s[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ') {
            if (s[i + 1] == ' ')
                return 0;
        } else if (c < 0x80 && !moxi_address_is_atext(c)) {
            return 0;
        }
    }
    return 1;
}

int mox_address_format(const mox_address *a, int use_unicode, mox_buf *out)
{
    if (!a || !out)
        return MOX_ERR_INVAL;
    if (!a->display_name)
        return mox_mailbox_format(&a->mailbox, use_unicode, out);
    size_t mark = out->len;
    size_t n = strlen(a->display_name);
    int rc = phrase_is_atoms(a->display_name, n) ? mox_buf_append(out, a->display_name, n)
                                                  : moxi_address_quote(out, a->display_name, n);
    if (rc == MOX_OK)
        rc = mox_buf_append_str(out, " <");
    if (rc == MOX_OK)
        rc = mox_mailbox_format(&a->mailbox, use_unicode, out);
    if (rc == MOX_OK)
        rc = mox_buf_append_byte(out, '>');
    if (rc != MOX_OK && out->data) {
        out->len = mark;
        out->data[mark] = 0;
    }
    return rc;
}
