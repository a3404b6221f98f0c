/* Fuzzes the streaming header parser. The first two bytes pick the
 * configuration and a split point; the input is then parsed in one feed,
 * in two feeds split there, and byte by byte (short inputs), and every
 * observation must be identical. Raw bytes must be the input bytes at the
 * reported offsets whenever no NORMALIZE policy is active. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mox/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct obs {
    mox_buf log;
    const uint8_t *in;
    size_t len;
    int exact; /* raw must equal the input at offset */
};

static int on_field(void *ctx, const mox_header_field *f)
{
    struct obs *o = ctx;
    if (f->name_len == 0 || f->name_len > f->raw_len || f->name != f->raw ||
        f->value_len > f->raw_len || f->offset >= o->len)
        abort();
    if (o->exact && (f->offset + f->raw_len > o->len ||
                     memcmp(f->raw, o->in + f->offset, f->raw_len) != 0))
        abort();
    if (mox_buf_appendf(&o->log, "%zu %zu %u %zu %zu|", f->index, f->offset, f->flags,
                        f->name_len, f->raw_len) ||
        mox_buf_append(&o->log, f->raw, f->raw_len) ||
        mox_buf_append(&o->log, f->value, f->value_len))
        return MOX_ERR_NOMEM;
    return MOX_OK;
}

/* Feeds `in` in pieces ending at the given cut points; records the result. */
static void parse(const mox_header_config *c, const uint8_t *in, size_t len,
                  size_t cut, int bytewise, struct obs *o)
{
    mox_header_parser *p = NULL;
    if (mox_header_parser_new(&p, c, on_field, o))
        abort();
    mox_errinfo ei;
    int rc = MOX_OK;
    size_t pos = 0, total = 0;
    while (pos < len) {
        size_t n = bytewise ? 1 : (pos < cut ? cut - pos : len - pos);
        size_t used = 0;
        rc = mox_header_parser_feed(p, in + pos, n, &used, &ei);
        if (used > n)
            abort();
        total += used;
        if (rc || mox_header_parser_end(p) != MOX_HDR_END_NONE)
            break;
        if (used != n)
            abort();
        pos += n;
    }
    if (!rc && mox_header_parser_end(p) == MOX_HDR_END_NONE)
        rc = mox_header_parser_finish(p, &ei);
    if (rc) {
        if (ei.code != rc || ei.msg[0] == 0 || ei.offset > len)
            abort();
        mox_buf_appendf(&o->log, "ERR %d %d %zu", rc, ei.detail, ei.offset);
    } else {
        size_t body = mox_header_parser_body_offset(p);
        const char *lo;
        size_t ll;
        mox_header_parser_leftover(p, &lo, &ll);
        if (body > len || total > len)
            abort();
        if (mox_header_parser_end(p) == MOX_HDR_END_NONFIELD) {
            /* leftover + the rest of the input is exactly the body */
            if (body + ll != total || memcmp(lo, in + body, ll) != 0)
                abort();
        } else if (ll != 0 || body != total) {
            abort();
        }
        mox_buf_appendf(&o->log, "END %d %zu %zu", mox_header_parser_end(p), body, total);
    }
    mox_header_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    mox_header_config c = MOX_HEADER_CONFIG_INIT;
    c.bare_cr = data[0] % 3;
    c.bare_lf = (data[0] / 3) % 3;
    c.nonfield = (data[0] / 9) % 2;
    c.flags = (data[0] >> 5) & 7;
    if (data[1] & 0x80) {
        c.max_line = 40;
        c.max_fields = 8;
        c.max_header_size = 300;
    }
    const uint8_t *in = data + 2;
    size_t len = size - 2;
    size_t cut = len ? (size_t)(data[1] & 0x7f) * len / 127 : 0;
    int exact = c.bare_cr != MOX_EOL_NORMALIZE && c.bare_lf != MOX_EOL_NORMALIZE;

    struct obs a = {MOX_BUF_INIT, in, len, exact}, b = a, d = a;
    parse(&c, in, len, len, 0, &a);
    parse(&c, in, len, cut, 0, &b);
    if (a.log.len != b.log.len || memcmp(a.log.data, b.log.data, a.log.len) != 0)
        abort();
    if (len <= 512) {
        parse(&c, in, len, 0, 1, &d);
        if (a.log.len != d.log.len || memcmp(a.log.data, d.log.data, a.log.len) != 0)
            abort();
    }
    mox_buf_free(&a.log);
    mox_buf_free(&b.log);
    mox_buf_free(&d.log);
    return 0;
}
