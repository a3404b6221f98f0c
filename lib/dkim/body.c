/* Streaming body canonicalisation (RFC 6376 §3.4.3, §3.4.4) and hashing.
 *
 * Output is produced as soon as it is certain: empty lines are only
 * counted (they may turn out to be trailing, which both algorithms drop)
 * and written when a later line has content; in relaxed mode a whitespace
 * run is only remembered and becomes one SP when followed by content on the
 * same line. A CR is held until the next byte shows whether it starts a
 * CRLF. So any split of the input gives the same bytes to the hash. */
#include "dkim_priv.h"

void moxi_dkim_body_init(moxi_dkim_body *b, int canon, int hash_alg, uint64_t limit)
{
    memset(b, 0, offsetof(moxi_dkim_body, out));
    b->canon = canon;
    b->hash_alg = hash_alg;
    b->limit = limit;
    moxi_dkim_hash_init(&b->h, hash_alg);
}

static void flush(moxi_dkim_body *b)
{
    moxi_dkim_hash_update(&b->h, b->out, b->outlen);
    b->outlen = 0;
}

static void emit(moxi_dkim_body *b, const unsigned char *p, size_t n)
{
    b->total += n;
    if (b->hashed >= b->limit)
        return;
    if ((uint64_t)n > b->limit - b->hashed)
        n = (size_t)(b->limit - b->hashed);
    b->hashed += n;
    if (n >= 256) {
        flush(b);
        moxi_dkim_hash_update(&b->h, p, n);
        return;
    }
    if (b->outlen + n > sizeof b->out)
        flush(b);
    memcpy(b->out + b->outlen, p, n);
    b->outlen += n;
}

static void emit_crlfs(moxi_dkim_body *b, uint64_t count)
{
    static const unsigned char crlfs[64] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
                                          "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";
    while (count) {
        uint64_t k = count > 32 ? 32 : count;
        emit(b, crlfs, (size_t)k * 2);
        count -= k;
    }
}

/* Content bytes (never CR, never whitespace in relaxed mode). */
static void content(moxi_dkim_body *b, const unsigned char *p, size_t n)
{
    if (!b->line_content) {
        b->line_content = 1;
        if (b->pending_crlf) {
            emit_crlfs(b, b->pending_crlf);
            b->pending_crlf = 0;
        }
    }
    if (b->pending_ws) {
        b->pending_ws = 0;
        emit(b, (const unsigned char *)" ", 1);
    }
    emit(b, p, n);
}

static void end_line(moxi_dkim_body *b)
{
    b->pending_ws = 0;
    if (b->line_content) {
        emit(b, (const unsigned char *)"\r\n", 2);
        b->line_content = 0;
    } else {
        b->pending_crlf++;
    }
}

void moxi_dkim_body_feed(moxi_dkim_body *b, const unsigned char *p, size_t n)
{
    const int relaxed = b->canon == MOX_DKIM_RELAXED;
    size_t i = 0;
    while (i < n) {
        if (b->pending_cr) {
            b->pending_cr = 0;
            if (p[i] == '\n') {
                end_line(b);
                i++;
                continue;
            }
            content(b, (const unsigned char *)"\r", 1);
        }
        unsigned char c = p[i];
        if (c == '\r') {
            b->pending_cr = 1;
            i++;
            continue;
        }
        if (relaxed && (c == ' ' || c == '\t')) {
            b->pending_ws = 1;
            i++;
            continue;
        }
        /* A run of ordinary bytes goes out in one piece. */
        size_t j = i + 1;
        if (relaxed)
            /* A single SP between content bytes is already canonical and
             * stays in the run; anything else ends it. */
            while (j < n && p[j] != '\r' && p[j] != '\t' &&
                   (p[j] != ' ' ||
                    (j + 1 < n && p[j + 1] != ' ' && p[j + 1] != '\t' && p[j + 1] != '\r')))
                j++;
        else
            while (j < n && p[j] != '\r')
                j++;
        content(b, p + i, j - i);
        i = j;
    }
}

void moxi_dkim_body_finish(moxi_dkim_body *b)
{
    if (b->finished)
        return;
    if (b->pending_cr) {
        b->pending_cr = 0;
        content(b, (const unsigned char *)"\r", 1);
    }
    if (b->line_content) {
        /* Body without a final CRLF: both algorithms add one. */
        b->pending_ws = 0;
        emit(b, (const unsigned char *)"\r\n", 2);
    } else if (b->canon == MOX_DKIM_SIMPLE && b->total == 0) {
        /* simple: an empty body is one CRLF (relaxed: nothing). */
        emit(b, (const unsigned char *)"\r\n", 2);
    }
    flush(b);
    b->digest_len = moxi_dkim_hash_final(&b->h, b->digest);
    b->finished = 1;
}

void moxi_dkim_body_free(moxi_dkim_body *b) { moxi_dkim_hash_free(&b->h); }
