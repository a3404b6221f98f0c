/* MIME walker over a message in memory (RFC 2045, RFC 2046 §5).
 *
 * Top-down: a multipart's own delimiters split its body into part ranges,
 * and each part is walked inside its range only, so a nested multipart
 * that lacks its close delimiter ends where its parent's next delimiter
 * starts. Scanning is one pass over the lines of each level. */
#include <string.h>

#include "message_priv.h"

#define HARD_MAX_DEPTH 200

struct extra {
    mox_mime_ctype ct;
    mox_headers *h;
    char *media;
    char *enc;
    size_t last_child;
};

struct mox_mime {
    mox_mime_part *parts;
    struct extra *x;
    size_t n, cap;
};

struct walker {
    const unsigned char *msg;
    size_t len;
    mox_mime_config cfg;
    mox_header_config hcfg;
    mox_mime *m;
    mox_errinfo *ei;
};

void mox_mime_free(mox_mime *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        mox_mime_ctype_clear(&m->x[i].ct);
        mox_headers_free(m->x[i].h);
        mox_free(m->x[i].media);
        mox_free(m->x[i].enc);
    }
    mox_free(m->parts);
    mox_free(m->x);
    mox_free(m);
}

size_t mox_mime_count(const mox_mime *m)
{
    return m ? m->n : 0;
}

const mox_mime_part *mox_mime_get(const mox_mime *m, size_t i)
{
    if (!m || i >= m->n)
        return NULL;
    return &m->parts[i];
}

static int nomem(struct walker *w, size_t off)
{
    return moxi_fail(w->ei, MOX_ERR_NOMEM, 0, off, "out of memory");
}

static int new_part(struct walker *w, size_t *idx, size_t off)
{
    mox_mime *m = w->m;
    if (m->n >= w->cfg.max_parts)
        return moxi_fail(w->ei, MOX_ERR_LIMIT, MOX_MIME_ERR_PARTS, off,
                         "more than %zu MIME parts", w->cfg.max_parts);
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 8;
        mox_mime_part *np = mox_realloc(m->parts, nc * sizeof *np);
        if (!np)
            return nomem(w, off);
        m->parts = np;
        struct extra *nx = mox_realloc(m->x, nc * sizeof *nx);
        if (!nx)
            return nomem(w, off);
        m->x = nx;
        m->cap = nc;
    }
    *idx = m->n++;
    memset(&m->parts[*idx], 0, sizeof m->parts[*idx]);
    memset(&m->x[*idx], 0, sizeof m->x[*idx]);
    return MOX_OK;
}

/* The first token of a Content-Transfer-Encoding value, lowercase. */
static char *cte_value(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    size_t s = i;
    while (i < n && v[i] != ' ' && v[i] != '\t' && v[i] != '(' && v[i] != ';')
        i++;
    char *d = moxi_strndup(v + s, i - s);
    if (d)
        for (char *q = d; *q; q++)
            *q = (char)moxi_lower((unsigned char)*q);
    return d;
}

static mox_mime_cte cte_kind(const char *e)
{
    if (!strcmp(e, "7bit"))
        return MOX_MIME_CTE_7BIT;
    if (!strcmp(e, "8bit"))
        return MOX_MIME_CTE_8BIT;
    if (!strcmp(e, "binary"))
        return MOX_MIME_CTE_BINARY;
    if (!strcmp(e, "quoted-printable"))
        return MOX_MIME_CTE_QP;
    if (!strcmp(e, "base64"))
        return MOX_MIME_CTE_BASE64;
    return MOX_MIME_CTE_OTHER;
}

static int default_ctype(mox_mime_ctype *ct, int digest)
{
    static const char tp[] = "text/plain; charset=us-ascii";
    static const char mr[] = "message/rfc822";
    return digest ? mox_mime_ctype_parse(mr, sizeof mr - 1, ct, NULL)
                  : mox_mime_ctype_parse(tp, sizeof tp - 1, ct, NULL);
}

/* Is the line [pos, eol) a delimiter for `b`? Sets *close for "--b--".
 * Transport padding (whitespace) may follow, and the CR of a CRLF. */
static int is_delim(const unsigned char *s, size_t pos, size_t eol, const char *b,
                    size_t bl, int *close)
{
    if (eol - pos < 2 + bl || s[pos] != '-' || s[pos + 1] != '-' ||
        memcmp(s + pos + 2, b, bl) != 0)
        return 0;
    size_t i = pos + 2 + bl;
    *close = 0;
    if (eol - i >= 2 && s[i] == '-' && s[i + 1] == '-') {
        *close = 1;
        i += 2;
    }
    while (i < eol && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
        i++;
    return i == eol;
}

static int walk(struct walker *w, size_t start, size_t end, size_t depth,
                size_t parent, int digest, unsigned inherit, size_t *out_idx);

static void link_child(mox_mime *m, size_t parent, size_t child)
{
    mox_mime_part *pp = &m->parts[parent];
    if (pp->first_child == MOX_MIME_NONE)
        pp->first_child = child;
    else
        m->parts[m->x[parent].last_child].next_sibling = child;
    m->x[parent].last_child = child;
    pp->nchildren++;
}

static int walk_multipart(struct walker *w, size_t idx, size_t depth, unsigned inherit)
{
    mox_mime *m = w->m;
    const unsigned char *s = w->msg;
    size_t bs = m->parts[idx].body_offset;
    size_t be = bs + m->parts[idx].body_len;
    const mox_mime_param *bp = mox_mime_ctype_param(&m->x[idx].ct, "boundary");
    const char *b = bp->value;
    size_t bl = bp->value_len;
    int digest = !strcmp(m->x[idx].ct.subtype, "digest");
    int first = 1, closed = 0;
    size_t cur = bs;
    size_t pos = bs;
    while (pos < be) {
        const unsigned char *nlp = memchr(s + pos, '\n', be - pos);
        size_t eol = nlp ? (size_t)(nlp - s) : be;
        size_t next = nlp ? eol + 1 : be;
        int close;
        if (is_delim(s, pos, eol, b, bl, &close)) {
            /* The line ending before the delimiter belongs to it. */
            size_t cut = pos;
            if (cut > bs && s[cut - 1] == '\n') {
                cut--;
                if (cut > bs && s[cut - 1] == '\r')
                    cut--;
            }
            if (first) {
                m->parts[idx].preamble_offset = bs;
                m->parts[idx].preamble_len = cut - bs;
                first = 0;
            } else {
                size_t ce = cut < cur ? cur : cut;
                size_t child;
                int rc = walk(w, cur, ce, depth + 1, idx, digest, inherit, &child);
                if (rc)
                    return rc;
            }
            if (close) {
                m = w->m;
                m->parts[idx].epilogue_offset = next;
                m->parts[idx].epilogue_len = be - next;
                closed = 1;
                break;
            }
            cur = next;
        }
        pos = next;
    }
    m = w->m;
    if (!closed) {
        m->parts[idx].flags |= MOX_MIME_F_NO_CLOSE;
        if (first) {
            m->parts[idx].preamble_offset = bs;
            m->parts[idx].preamble_len = be - bs;
        } else {
            size_t child;
            int rc = walk(w, cur, be, depth + 1, idx, digest, inherit, &child);
            if (rc)
                return rc;
            m = w->m;
        }
        m->parts[idx].epilogue_offset = be;
        m->parts[idx].epilogue_len = 0;
    }
    return MOX_OK;
}

static int walk(struct walker *w, size_t start, size_t end, size_t depth,
                size_t parent, int digest, unsigned inherit, size_t *out_idx)
{
    if (depth > w->cfg.max_depth)
        return moxi_fail(w->ei, MOX_ERR_LIMIT, MOX_MIME_ERR_DEPTH, start,
                         "MIME parts nested deeper than %zu", w->cfg.max_depth);
    size_t idx = 0;
    int rc = new_part(w, &idx, start);
    if (rc)
        return rc;
    mox_mime *m = w->m;
    mox_mime_part *p = &m->parts[idx];
    p->index = idx;
    p->parent = parent;
    p->depth = depth;
    p->first_child = MOX_MIME_NONE;
    p->next_sibling = MOX_MIME_NONE;
    p->offset = start;
    p->flags = inherit;
    if (parent != MOX_MIME_NONE)
        link_child(m, parent, idx);
    *out_idx = idx;

    struct extra *x = &m->x[idx];
    size_t boff = 0;
    rc = moxi_message_headers_parse_at(w->msg + start, end - start, start, &w->hcfg,
                                       &x->h, &boff, w->ei);
    if (rc)
        return rc;
    p->header_len = boff;
    p->body_offset = start + boff;
    p->body_len = end - p->body_offset;
    mox_hdr_end he = mox_headers_end(x->h);
    if (he == MOX_HDR_END_EOF)
        p->flags |= MOX_MIME_F_NO_HEADER_END;
    else if (he == MOX_HDR_END_NONFIELD)
        p->flags |= MOX_MIME_F_NONFIELD;

    const mox_header_field *f = mox_headers_find(x->h, "Content-Type", NULL);
    if (f) {
        rc = mox_mime_ctype_parse(f->value, f->value_len, &x->ct, NULL);
        if (rc == MOX_ERR_SYNTAX) {
            p->flags |= MOX_MIME_F_BAD_CTYPE;
            rc = default_ctype(&x->ct, 0);
        }
    } else {
        p->flags |= MOX_MIME_F_DEFAULT_CTYPE;
        rc = default_ctype(&x->ct, digest);
    }
    if (rc)
        return nomem(w, start);
    f = mox_headers_find(x->h, "Content-Transfer-Encoding", NULL);
    x->enc = f ? cte_value(f->value, f->value_len) : moxi_strdup("7bit");
    if (!x->enc)
        return nomem(w, start);
    if (!x->enc[0]) {
        mox_free(x->enc);
        if (!(x->enc = moxi_strdup("7bit")))
            return nomem(w, start);
    }
    p->cte = cte_kind(x->enc);
    size_t tl = strlen(x->ct.type), sl = strlen(x->ct.subtype);
    x->media = mox_malloc(tl + sl + 2);
    if (!x->media)
        return nomem(w, start);
    memcpy(x->media, x->ct.type, tl);
    x->media[tl] = '/';
    memcpy(x->media + tl + 1, x->ct.subtype, sl + 1);

    int identity = p->cte == MOX_MIME_CTE_7BIT || p->cte == MOX_MIME_CTE_8BIT ||
                   p->cte == MOX_MIME_CTE_BINARY;
    if (!strcmp(x->ct.type, "multipart")) {
        const mox_mime_param *bp = mox_mime_ctype_param(&x->ct, "boundary");
        if (!identity) {
            p->flags |= MOX_MIME_F_ENCODED;
        } else if (!bp || bp->value_len == 0) {
            p->flags |= MOX_MIME_F_NO_BOUNDARY;
        } else {
            p->flags |= MOX_MIME_F_MULTIPART;
            return walk_multipart(w, idx, depth, inherit);
        }
    } else if (!strcmp(x->ct.type, "message") &&
               (!strcmp(x->ct.subtype, "rfc822") || !strcmp(x->ct.subtype, "global")) &&
               !(w->cfg.flags & MOX_MIME_NO_DESCEND_MESSAGE)) {
        if (!identity) {
            p->flags |= MOX_MIME_F_ENCODED;
        } else {
            p->flags |= MOX_MIME_F_MESSAGE;
            size_t child;
            return walk(w, p->body_offset, end, depth + 1, idx, 0,
                        inherit | MOX_MIME_F_IN_MESSAGE, &child);
        }
    }
    return MOX_OK;
}

int mox_mime_walk(const void *msg, size_t len, const mox_mime_config *cfg,
                  mox_mime **out, mox_errinfo *ei)
{
    if (!out || (!msg && len))
        return MOX_ERR_INVAL;
    *out = NULL;
    struct walker w;
    memset(&w, 0, sizeof w);
    mox_mime_config c = MOX_MIME_CONFIG_INIT;
    if (cfg) {
        size_t n = cfg->size < sizeof c ? cfg->size : sizeof c;
        if (n < sizeof(size_t))
            return MOX_ERR_INVAL;
        memcpy(&c, cfg, n);
        c.size = sizeof c;
    }
    if (c.max_depth > HARD_MAX_DEPTH)
        c.max_depth = HARD_MAX_DEPTH;
    w.cfg = c;
    if (c.header) {
        int rc = moxi_message_header_config(&w.hcfg, c.header);
        if (rc)
            return rc;
    } else {
        mox_header_config h = MOX_HEADER_CONFIG_INIT;
        h.bare_cr = MOX_EOL_ACCEPT;
        h.bare_lf = MOX_EOL_ACCEPT;
        h.nonfield = MOX_HDR_NONFIELD_END;
        h.max_line = 0;
        w.hcfg = h;
    }
    w.msg = msg ? msg : (const void *)"";
    w.len = len;
    w.ei = ei;
    w.m = mox_calloc(1, sizeof *w.m);
    if (!w.m)
        return nomem(&w, SIZE_MAX);
    size_t root;
    int rc = walk(&w, 0, len, 0, MOX_MIME_NONE, 0, 0, &root);
    if (rc) {
        mox_mime_free(w.m);
        return rc;
    }
    mox_mime *m = w.m;
    for (size_t i = 0; i < m->n; i++) {
        mox_mime_part *p = &m->parts[i];
        struct extra *x = &m->x[i];
        p->headers = x->h;
        p->ctype = &x->ct;
        p->media_type = x->media;
        p->encoding = x->enc;
        if (p->flags & MOX_MIME_F_MULTIPART)
            p->boundary = mox_mime_ctype_param(&x->ct, "boundary")->value;
    }
    *out = m;
    return MOX_OK;
}

int mox_message_needs_smtputf8(const void *msg, size_t len, unsigned flags, int *needs,
                               mox_errinfo *ei)
{
    if (!needs || (!msg && len))
        return MOX_ERR_INVAL;
    *needs = 0;
    const unsigned char *s = msg;
    size_t i = 0;
    while (i < len && s[i] < 0x80)
        i++;
    if (i == len)
        return MOX_OK;
    mox_mime *m = NULL;
    int rc = mox_mime_walk(msg, len, NULL, &m, ei);
    if (rc)
        return rc;
    for (size_t k = 0; k < m->n && !*needs; k++) {
        const mox_mime_part *p = &m->parts[k];
        if ((p->flags & MOX_MIME_F_IN_MESSAGE) && !(flags & MOX_SMTPUTF8_EMBEDDED))
            continue;
        for (size_t j = p->offset; j < p->offset + p->header_len; j++)
            if (s[j] >= 0x80) {
                *needs = 1;
                break;
            }
    }
    mox_mime_free(m);
    return MOX_OK;
}
