/* Fuzzes the MIME walker: every part's ranges must lie inside the message
 * and inside its parent, the tree links must be consistent, and header
 * fields must be the message's own bytes at their offsets. Also runs the
 * SMTPUTF8 check over the same input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mox/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    mox_mime_config c = MOX_MIME_CONFIG_INIT;
    c.max_depth = 1 + data[0] % 24;
    if (data[0] & 0x80)
        c.flags = MOX_MIME_NO_DESCEND_MESSAGE;
    const uint8_t *msg = data + 1;
    size_t len = size - 1;
    mox_mime *m = NULL;
    mox_errinfo ei;
    int rc = mox_mime_walk(msg, len, &c, &m, &ei);
    if (rc) {
        if (rc != MOX_ERR_LIMIT || ei.code != rc || m)
            abort();
    } else {
        size_t n = mox_mime_count(m);
        if (n == 0 || mox_mime_get(m, n))
            abort();
        for (size_t i = 0; i < n; i++) {
            const mox_mime_part *p = mox_mime_get(m, i);
            if (p->index != i || p->offset + p->header_len != p->body_offset ||
                p->body_offset + p->body_len > len || p->depth > c.max_depth)
                abort();
            if ((p->flags & MOX_MIME_F_MULTIPART) &&
                (!p->boundary || p->preamble_offset < p->body_offset ||
                 p->preamble_offset + p->preamble_len > p->body_offset + p->body_len ||
                 p->epilogue_offset + p->epilogue_len != p->body_offset + p->body_len))
                abort();
            if (i == 0 ? p->parent != MOX_MIME_NONE || p->offset != 0 : p->parent >= i)
                abort();
            if (i) {
                const mox_mime_part *q = mox_mime_get(m, p->parent);
                if (p->depth != q->depth + 1 || p->offset < q->body_offset ||
                    p->body_offset + p->body_len > q->body_offset + q->body_len)
                    abort();
            }
            size_t kids = 0;
            for (size_t k = p->first_child; k != MOX_MIME_NONE;
                 k = mox_mime_get(m, k)->next_sibling) {
                if (k >= n || mox_mime_get(m, k)->parent != i || ++kids > n)
                    abort();
            }
            if (kids != p->nchildren)
                abort();
            for (size_t k = 0; k < mox_headers_count(p->headers); k++) {
                const mox_header_field *f = mox_headers_get(p->headers, k);
                if (f->offset < p->offset || f->offset + f->raw_len > p->body_offset ||
                    memcmp(f->raw, msg + f->offset, f->raw_len) != 0)
                    abort();
            }
            if (!p->media_type || !p->encoding || !p->ctype || !strchr(p->media_type, '/'))
                abort();
        }
        mox_mime_free(m);
    }
    int needs = -1;
    rc = mox_message_needs_smtputf8(msg, len, data[0] & 1, &needs, NULL);
    if (rc == MOX_OK ? (needs != 0 && needs != 1) : rc != MOX_ERR_LIMIT)
        abort();
    return 0;
}
