/* RFC 5321 §4.1.2 paths and mailboxes, with RFC 6531 (SMTPUTF8). */
#include <string.h>

#include "address/address_priv.h"
#include "core/core_priv.h"

#define MAX_LOCALPART 64
#define MAX_DOMAIN 255
#define MAX_PATH 256

struct pp {
    const unsigned char *s;
    size_t len, i;
    unsigned flags;
    mox_errinfo *ei;
};

static int fail(struct pp *p, int detail, size_t off, const char *msg)
{
    return moxi_fail(p->ei, MOX_ERR_SYNTAX, detail, off, "%s", msg);
}

/* Offending byte in a local part or route: name the most precise reason. */
static int bad_char(struct pp *p, size_t at, int detail, const char *what)
{
    unsigned char c = p->s[at];
    if (c < 0x20 || c == 0x7f)
        return moxi_fail(p->ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_CONTROL, at,
                         "control character 0x%02x in %s", c, what);
    if (c >= 0x80)
        return moxi_fail(p->ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_UTF8, at,
                         (p->flags & MOX_PATH_SMTPUTF8) ? "invalid UTF-8 in %s"
                                                        : "non-ASCII %s without SMTPUTF8",
                         what);
    return moxi_fail(p->ei, MOX_ERR_SYNTAX, detail, at, "character '%c' not allowed in %s", c, what);
}

/* Length of a well-formed non-ASCII UTF-8 sequence at p->i that SMTPUTF8
 * allows in atext/qtext, or 0. */
static size_t utf8_seq(struct pp *p)
{
    if (!(p->flags & MOX_PATH_SMTPUTF8) || p->s[p->i] < 0x80)
        return 0;
    size_t j = p->i;
    size_t n = p->len - p->i < 4 ? p->len - p->i : 4;
    /* Validate just the first sequence. */
    for (size_t k = 1; k <= n; k++)
        if (mox_utf8_valid(p->s + j, k, NULL))
            return k;
    return 0;
}

/* Where a domain (or a route's domain) ends. */
static size_t domain_end(struct pp *p, const char *stops)
{
    size_t j = p->i;
    while (j < p->len && !strchr(stops, p->s[j]))
        j++;
    return j;
}

/* Dot-string or Quoted-string; decoded into `lp`. Returns the raw length
 * through p->i. */
static int parse_localpart(struct pp *p, mox_buf *lp)
{
    size_t start = p->i;
    int rc;
    if (p->i < p->len && p->s[p->i] == '"') {
        p->i++;
        for (;;) {
            if (p->i >= p->len)
                return fail(p, MOX_ADDR_ERR_QUOTED, start, "unterminated quoted local part");
            unsigned char c = p->s[p->i];
            if (c == '"')
                break;
            if (c == '\\') {
                /* quoted-pairSMTP: backslash and a printable ASCII char */
                if (p->i + 1 >= p->len)
                    return fail(p, MOX_ADDR_ERR_QUOTED, p->i, "backslash at end of input");
                c = p->s[p->i + 1];
                if (c < 32 || c > 126) {
                    if (c < 32 || c == 127)
                        return bad_char(p, p->i + 1, MOX_ADDR_ERR_QUOTED, "quoted local part");
                    return fail(p, MOX_ADDR_ERR_QUOTED, p->i, "backslash before a non-ASCII character");
                }
                if ((rc = mox_buf_append_byte(lp, c)) != MOX_OK)
                    return rc;
                p->i += 2;
                continue;
            }
            if (c >= 32 && c <= 126) {
                if ((rc = mox_buf_append_byte(lp, c)) != MOX_OK)
                    return rc;
                p->i++;
                continue;
            }
            size_t k = utf8_seq(p);
            if (!k)
                return bad_char(p, p->i, MOX_ADDR_ERR_QUOTED, "quoted local part");
            if ((rc = mox_buf_append(lp, p->s + p->i, k)) != MOX_OK)
                return rc;
            p->i += k;
        }
        p->i++;
        return MOX_OK;
    }
    int atom_len = 0;
    while (p->i < p->len) {
        unsigned char c = p->s[p->i];
        size_t k = 1;
        if (c == '.') {
            if (atom_len == 0)
                return fail(p, MOX_ADDR_ERR_LOCALPART_DOTS, p->i,
                            p->i == start ? "local part starts with a dot"
                                          : "two dots in a row in local part");
            atom_len = 0;
        } else if (c == '@' || c == '>') {
            break;
        } else if (moxi_address_is_atext(c) || (k = utf8_seq(p)) > 0) {
            atom_len++;
        } else {
            return bad_char(p, p->i, MOX_ADDR_ERR_LOCALPART, "local part");
        }
        if ((rc = mox_buf_append(lp, p->s + p->i, k)) != MOX_OK)
            return rc;
        p->i += k;
    }
    if (p->i == start)
        return fail(p, p->i < p->len && p->s[p->i] == '@' ? MOX_ADDR_ERR_LOCALPART : MOX_ADDR_ERR_NO_AT,
                    start, p->i < p->len && p->s[p->i] == '@' ? "empty local part" : "no mailbox");
    if (atom_len == 0)
        return fail(p, MOX_ADDR_ERR_LOCALPART_DOTS, p->i - 1, "local part ends with a dot");
    return MOX_OK;
}

/* "@" Domain *( "," "@" Domain ) ":" — checked, then dropped. */
static int parse_route(struct pp *p)
{
    for (;;) {
        if (p->i >= p->len || p->s[p->i] != '@')
            return fail(p, MOX_ADDR_ERR_SOURCE_ROUTE, p->i, "source route element without '@'");
        p->i++;
        size_t e = domain_end(p, ",:>");
        mox_mailbox tmp = {0};
        int rc = moxi_address_set_domain(&tmp, (const char *)p->s + p->i, e - p->i,
                                         (p->flags & MOX_PATH_SMTPUTF8) != 0, p->i, p->ei);
        mox_mailbox_clear(&tmp);
        if (rc == MOX_ERR_NOMEM)
            return rc;
        if (rc != MOX_OK) {
            if (p->ei)
                p->ei->detail = MOX_ADDR_ERR_SOURCE_ROUTE;
            return rc;
        }
        p->i = e;
        if (p->i >= p->len || p->s[p->i] == '>')
            return fail(p, MOX_ADDR_ERR_SOURCE_ROUTE, p->i, "source route without ':'");
        if (p->s[p->i++] == ':')
            return MOX_OK;
    }
}

static int parse_mailbox(struct pp *p, mox_mailbox *m, int bracketed, int *postmaster)
{
    mox_buf lp = MOX_BUF_INIT;
    size_t start = p->i;
    int rc = parse_localpart(p, &lp);
    if (rc != MOX_OK)
        goto out;
    if (p->i - start > MAX_LOCALPART) {
        rc = moxi_fail(p->ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_LOCALPART_TOO_LONG, start,
                       "local part of %zu octets (max %d)", p->i - start, MAX_LOCALPART);
        goto out;
    }
    int utf8 = (p->flags & MOX_PATH_SMTPUTF8) != 0;
    if (postmaster && bracketed && p->i < p->len && p->s[p->i] == '>' && p->i - start == 10 &&
        p->s[start] != '"' && moxi_memcaseeq(p->s + start, "postmaster", 10)) {
        /* RFC 5321 §4.1.1.3: "<Postmaster>", any case, without a domain. */
        m->localpart = moxi_strdup("postmaster");
        rc = m->localpart ? MOX_OK : MOX_ERR_NOMEM;
        *postmaster = 1;
        goto out;
    }
    if (p->i >= p->len || p->s[p->i] != '@') {
        rc = fail(p, MOX_ADDR_ERR_NO_AT, p->i, "mailbox without '@'");
        goto out;
    }
    rc = moxi_address_set_localpart(m, lp.len ? (const char *)lp.data : "", lp.len, utf8, start,
                                    p->ei);
    if (rc != MOX_OK)
        goto out;
    p->i++;
    if (p->i < p->len && p->s[p->i] == '[') {
        size_t e = domain_end(p, "]>");
        if (e >= p->len || p->s[e] != ']') {
            rc = fail(p, MOX_ADDR_ERR_LITERAL, p->i, "unterminated address literal");
            goto out;
        }
        rc = moxi_address_set_literal(m, (const char *)p->s + p->i + 1, e - p->i - 1, p->i + 1,
                                      p->ei);
        p->i = e + 1;
    } else {
        size_t e = bracketed ? domain_end(p, ">") : p->len;
        if (e - p->i > MAX_DOMAIN) {
            rc = fail(p, MOX_ADDR_ERR_TOO_LONG, p->i, "domain longer than 255 octets");
            goto out;
        }
        rc = moxi_address_set_domain(m, (const char *)p->s + p->i, e - p->i, utf8, p->i, p->ei);
        p->i = e;
    }
out:
    mox_buf_free(&lp);
    return rc;
}

static int path_parse(const char *s, size_t len, unsigned flags, mox_path *path, size_t *consumed,
                      mox_errinfo *ei)
{
    if (!path || (len && !s))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid argument");
    memset(path, 0, sizeof *path);
    struct pp p = {(const unsigned char *)s, len, 0, flags, ei};
    if (len == 0)
        return fail(&p, MOX_ADDR_ERR_EMPTY, 0, "empty path");
    int bracketed = s[0] == '<';
    if (!bracketed && !(flags & MOX_PATH_NO_BRACKETS))
        return fail(&p, MOX_ADDR_ERR_BRACKETS, 0, "path does not start with '<'");
    int rc;
    if (bracketed) {
        p.i = 1;
        if (len >= 2 && s[1] == '>') {
            if (!(flags & MOX_PATH_REVERSE))
                return fail(&p, MOX_ADDR_ERR_NULL_PATH, 0, "null path <> is only a reverse-path");
            path->is_null = 1;
            p.i = 2;
            goto done;
        }
        if (p.i < len && s[p.i] == '@' && (rc = parse_route(&p)) != MOX_OK)
            goto err;
    }
    rc = parse_mailbox(&p, &path->mailbox, bracketed,
                       (flags & MOX_PATH_REVERSE) ? NULL : &path->is_postmaster);
    if (rc != MOX_OK)
        goto err;
    if (bracketed) {
        if (p.i >= len || s[p.i] != '>') {
            rc = fail(&p, p.i >= len ? MOX_ADDR_ERR_BRACKETS : MOX_ADDR_ERR_TRAILING, p.i,
                      p.i >= len ? "missing '>'" : "unexpected character before '>'");
            goto err;
        }
        p.i++;
    }
done:
    if (p.i > MAX_PATH - (bracketed ? 0 : 2)) {
        rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_TOO_LONG, 0, "path of %zu octets (max %d)",
                       p.i + (bracketed ? 0 : 2), MAX_PATH);
        goto err;
    }
    if (consumed) {
        *consumed = p.i;
    } else if (p.i != len) {
        rc = fail(&p, MOX_ADDR_ERR_TRAILING, p.i, "characters after the path");
        goto err;
    }
    return MOX_OK;
err:
    mox_path_clear(path);
    return rc;
}

int mox_path_parse(const char *s, size_t len, unsigned flags, mox_path *p, mox_errinfo *ei)
{
    return path_parse(s, len, flags, p, NULL, ei);
}

int mox_path_parse_prefix(const char *s, size_t len, unsigned flags, mox_path *p,
                          size_t *consumed, mox_errinfo *ei)
{
    size_t dummy;
    return path_parse(s, len, flags, p, consumed ? consumed : &dummy, ei);
}

int mox_mailbox_parse(const char *s, size_t len, unsigned flags, mox_mailbox *m, mox_errinfo *ei)
{
    if (!m || (len && !s))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid argument");
    memset(m, 0, sizeof *m);
    struct pp p = {(const unsigned char *)s, len, 0, flags & MOX_PATH_SMTPUTF8, ei};
    if (len == 0)
        return fail(&p, MOX_ADDR_ERR_EMPTY, 0, "empty mailbox");
    if (len > MAX_PATH - 2)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_TOO_LONG, 0,
                         "mailbox of %zu octets (max %d)", len, MAX_PATH - 2);
    int rc = parse_mailbox(&p, m, 0, NULL);
    if (rc != MOX_OK)
        mox_mailbox_clear(m);
    return rc;
}

void mox_path_clear(mox_path *p)
{
    if (!p)
        return;
    mox_mailbox_clear(&p->mailbox);
    p->is_null = p->is_postmaster = 0;
}

int mox_path_format(const mox_path *p, int use_unicode, mox_buf *out)
{
    if (!p || !out)
        return MOX_ERR_INVAL;
    if (p->is_null)
        return mox_buf_append_str(out, "<>");
    if (p->is_postmaster)
        return mox_buf_append_str(out, "<postmaster>");
    size_t mark = out->len;
    int rc = mox_buf_append_byte(out, '<');
    if (rc == MOX_OK)
        rc = mox_mailbox_format(&p->mailbox, use_unicode, out);
    if (rc == MOX_OK)
        rc = mox_buf_append_byte(out, '>');
    if (rc != MOX_OK && out->data) {
        out->len = mark;
        out->data[mark] = 0;
    }
    return rc;
}
