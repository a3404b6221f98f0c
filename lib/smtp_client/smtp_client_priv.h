/* Private to the smtp_client module. */
#ifndef MOX_SMTP_CLIENT_PRIV_H
#define MOX_SMTP_CLIENT_PRIV_H

#include "core/core_priv.h"
#include "mox/smtp_client.h"
#include "mox/text.h"

/* Streaming body encoder (see mox_smtp_client_data_encode). */
typedef struct moxi_smtp_enc {
    const unsigned char *in;
    size_t len, pos;
    int dot;
    int line_start;
    int done;
} moxi_smtp_enc;

/* What a body needs: its encoded length, whether it has 8-bit bytes, and
 * the offset of its first NUL (SIZE_MAX when none). */
typedef struct moxi_smtp_scan {
    uint64_t wire_len;
    int has_8bit;
    size_t nul_offset;
} moxi_smtp_scan;

void moxi_smtp_client_scan(const void *data, size_t len, int dot_stuff, moxi_smtp_scan *out);
void moxi_smtp_enc_init(moxi_smtp_enc *e, const void *data, size_t len, int dot_stuff);
/* Appends about `max` encoded bytes (at most max + 3); returns 1 when the
 * whole body (and the terminator, when dot-stuffing) is out, 0 when more
 * remains, MOX_ERR_NOMEM. */
int moxi_smtp_enc_fill(moxi_smtp_enc *e, mox_buf *out, size_t max);

#endif
