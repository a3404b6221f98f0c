/* Fuzz the canonicalisers: the body hash must not depend on how the input
 * is split, and header canonicalisation must not crash on any field. The
 * first byte picks the split point. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t split = data[0];
    data++;
    size--;
    if (split > size)
        split = size;
    for (int canon = 0; canon < 2; canon++) {
        moxi_dkim_body a, b, c;
        moxi_dkim_body_init(&a, canon, MOXI_DKIM_SHA256, MOXI_DKIM_NO_LIMIT);
        moxi_dkim_body_init(&b, canon, MOXI_DKIM_SHA256, MOXI_DKIM_NO_LIMIT);
        moxi_dkim_body_init(&c, canon, MOXI_DKIM_SHA1, split);
        moxi_dkim_body_feed(&a, data, size);
        moxi_dkim_body_feed(&b, data, split);
        moxi_dkim_body_feed(&b, data + split, size - split);
        for (size_t i = 0; i < size; i++)
            moxi_dkim_body_feed(&c, data + i, 1);
        moxi_dkim_body_finish(&a);
        moxi_dkim_body_finish(&b);
        moxi_dkim_body_finish(&c);
        if (memcmp(a.digest, b.digest, 32) || a.total != b.total || c.total != a.total ||
            c.hashed != (a.total < split ? a.total : split))
            abort();
        moxi_dkim_body_free(&a);
        moxi_dkim_body_free(&b);
        moxi_dkim_body_free(&c);
        mox_buf out = MOX_BUF_INIT;
        if (moxi_dkim_canon_header(canon, data, size, (int)(split & 1), &out) != MOX_OK)
            abort();
        if (canon == MOX_DKIM_RELAXED && out.len > size + 2)
            abort();
        mox_buf_free(&out);
    }
    return 0;
}
