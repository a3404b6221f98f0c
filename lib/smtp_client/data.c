/* Message body on the wire: CRLF line endings, dot-stuffing, terminator.
 * Line endings of every convention (LF, CR, CRLF) become CRLF, so no bare
 * CR or LF ever reaches the server: that is what keeps the SMTP smuggling
 * look-alikes of end-of-data ("\n.\n", "\r.\r", "\r\n.\r\r\n" ...) from
 * being emitted, whatever the message holds. */
#include <string.h>

#include "smtp_client_priv.h"

void moxi_smtp_client_scan(const void *data, size_t len, int dot_stuff, moxi_smtp_scan *out)
{
    const unsigned char *s = data;
    uint64_t n = 0;
    int line_start = 1, has8 = 0;
    size_t nul = SIZE_MAX;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c == '\r' || c == '\n') {
            n += 2;
            if (c == '\r' && i + 1 < len && s[i + 1] == '\n')
                i++;
            line_start = 1;
            continue;
        }
        if (line_start && c == '.' && dot_stuff)
            n++;
        if (c >= 0x80)
            has8 = 1;
        else if (c == 0 && nul == SIZE_MAX)
            nul = i;
        n++;
        line_start = 0;
    }
    if (!line_start)
        n += 2;
    if (dot_stuff)
        n += 3;
    out->wire_len = n;
    out->has_8bit = has8;
    out->nul_offset = nul;
}

void moxi_smtp_enc_init(moxi_smtp_enc *e, const void *data, size_t len, int dot_stuff)
{
    memset(e, 0, sizeof *e);
    e->in = data;
    e->len = len;
    e->dot = dot_stuff;
    e->line_start = 1;
}

int moxi_smtp_enc_fill(moxi_smtp_enc *e, mox_buf *out, size_t max)
{
    if (e->done)
        return 1;
    if (mox_buf_reserve(out, max + 8) != MOX_OK)
        return MOX_ERR_NOMEM;
    size_t produced = 0;
    const unsigned char *s = e->in;
    while (e->pos < e->len && produced < max) {
        if (e->line_start && e->dot && s[e->pos] == '.') {
            out->data[out->len++] = '.';
            produced++;
            e->line_start = 0; /* the '.' itself may go in the next call */
        }
        size_t q = e->pos, lim = e->pos + (max - produced);
        if (lim > e->len)
            lim = e->len;
        while (q < lim && s[q] != '\r' && s[q] != '\n')
            q++;
        if (q > e->pos) {
            memcpy(out->data + out->len, s + e->pos, q - e->pos);
            out->len += q - e->pos;
            produced += q - e->pos;
            e->pos = q;
            e->line_start = 0;
        }
        if (q < e->len && (s[q] == '\r' || s[q] == '\n')) {
            out->data[out->len++] = '\r';
            out->data[out->len++] = '\n';
            produced += 2;
            e->pos = q + 1;
            if (s[q] == '\r' && e->pos < e->len && s[e->pos] == '\n')
                e->pos++;
            e->line_start = 1;
        }
    }
    if (e->pos < e->len) {
        out->data[out->len] = 0;
        return 0;
    }
    if (!e->line_start) {
        out->data[out->len++] = '\r';
        out->data[out->len++] = '\n';
        e->line_start = 1;
    }
    if (e->dot) {
        memcpy(out->data + out->len, ".\r\n", 3);
        out->len += 3;
    }
    out->data[out->len] = 0;
    e->done = 1;
    return 1;
}

int mox_smtp_client_data_encode(const void *data, size_t len, int dot_stuff, mox_buf *out,
                         mox_errinfo *ei)
{
    if (!out || (!data && len))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid argument");
    moxi_smtp_scan sc;
    moxi_smtp_client_scan(data, len, dot_stuff, &sc);
    if (sc.nul_offset != SIZE_MAX)
        return moxi_fail(ei, MOX_ERR_SYNTAX, 0, sc.nul_offset, "NUL byte in message");
    size_t orig = out->len;
    moxi_smtp_enc e;
    moxi_smtp_enc_init(&e, data, len, dot_stuff);
    for (;;) {
        int rc = moxi_smtp_enc_fill(&e, out, 65536);
        if (rc < 0) {
            out->len = orig;
            if (out->data)
                out->data[orig] = 0;
            return moxi_fail(ei, rc, 0, SIZE_MAX, "out of memory");
        }
        if (rc == 1)
            return MOX_OK;
    }
}
