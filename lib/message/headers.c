/* An owned list of header fields, built with the streaming parser. All
 * field bytes live in one arena; pointers are fixed up once parsing is
 * over, since the arena moves while it grows. */
#include <string.h>

#include "message_priv.h"

struct entry {
    mox_header_field f; /* first: mox_headers_get returns &entry.f */
    size_t raw_off, val_off;
};

struct mox_headers {
    struct entry *ent;
    size_t n, cap;
    mox_buf arena;
    mox_hdr_end end;
    size_t base;
};

void mox_headers_free(mox_headers *h)
{
    if (!h)
        return;
    mox_free(h->ent);
    mox_buf_free(&h->arena);
    mox_free(h);
}

static int collect(void *ctx, const mox_header_field *f)
{
    mox_headers *h = ctx;
    if (h->n == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 16;
        struct entry *e = mox_realloc(h->ent, ncap * sizeof *e);
        if (!e)
            return MOX_ERR_NOMEM;
        h->ent = e;
        h->cap = ncap;
    }
    struct entry *e = &h->ent[h->n];
    e->f = *f;
    e->f.offset = f->offset + h->base;
    e->raw_off = h->arena.len;
    if (mox_buf_append(&h->arena, f->raw, f->raw_len))
        return MOX_ERR_NOMEM;
    e->val_off = h->arena.len;
    if (mox_buf_append(&h->arena, f->value, f->value_len)) {
        h->arena.len = e->raw_off;
        return MOX_ERR_NOMEM;
    }
    h->n++;
    return MOX_OK;
}

int moxi_message_headers_parse_at(const void *data, size_t len, size_t base,
                                  const mox_header_config *cfg, mox_headers **out,
                                  size_t *body_offset, mox_errinfo *ei)
{
    if (!out || (!data && len))
        return MOX_ERR_INVAL;
    *out = NULL;
    mox_headers *h = mox_calloc(1, sizeof *h);
    if (!h)
        return MOX_ERR_NOMEM;
    h->base = base;
    mox_header_parser *p = NULL;
    int rc = mox_header_parser_new(&p, cfg, collect, h);
    if (rc) {
        mox_headers_free(h);
        return rc;
    }
    rc = mox_header_parser_feed(p, data, len, NULL, ei);
    if (!rc && mox_header_parser_end(p) == MOX_HDR_END_NONE)
        rc = mox_header_parser_finish(p, ei);
    if (rc) {
        if (ei && ei->offset != SIZE_MAX)
            ei->offset += base;
        mox_header_parser_free(p);
        mox_headers_free(h);
        return rc;
    }
    h->end = mox_header_parser_end(p);
    if (body_offset)
        *body_offset = mox_header_parser_body_offset(p);
    mox_header_parser_free(p);
    for (size_t i = 0; i < h->n; i++) {
        struct entry *e = &h->ent[i];
        const char *a = (const char *)h->arena.data;
        e->f.raw = a + e->raw_off;
        e->f.name = e->f.raw;
        e->f.value = a + e->val_off;
    }
    *out = h;
    return MOX_OK;
}

int mox_headers_parse(const void *data, size_t len, const mox_header_config *cfg,
                      mox_headers **out, size_t *body_offset, mox_errinfo *ei)
{
    return moxi_message_headers_parse_at(data, len, 0, cfg, out, body_offset, ei);
}

size_t mox_headers_count(const mox_headers *h)
{
    return h ? h->n : 0;
}

const mox_header_field *mox_headers_get(const mox_headers *h, size_t i)
{
    if (!h || i >= h->n)
        return NULL;
    return &h->ent[i].f;
}

const mox_header_field *mox_headers_find(const mox_headers *h, const char *name,
                                         size_t *pos)
{
    if (!h || !name)
        return NULL;
    size_t nl = strlen(name);
    for (size_t i = pos ? *pos : 0; i < h->n; i++) {
        const mox_header_field *f = &h->ent[i].f;
        if (f->name_len == nl && moxi_memcaseeq(f->name, name, nl)) {
            if (pos)
                *pos = i + 1;
            return f;
        }
    }
    if (pos)
        *pos = h->n;
    return NULL;
}

mox_hdr_end mox_headers_end(const mox_headers *h)
{
    return h ? h->end : MOX_HDR_END_NONE;
}
