/* SMTP server engine: message data. DATA is scanned for the only valid
 * end, CRLF "." CRLF, dot-unstuffed and streamed; every bare CR and every
 * end-of-data look-alike (SMTP smuggling) fails the transaction once the
 * real end arrives. BDAT chunks are counted octets. Both feed the same
 * content scanner (size limit, header section, 8-bit detection). */
#include <stdio.h>
#include <string.h>

#include "smtp_server_priv.h"

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Index of the first CR or LF, or n. Word-at-a-time: the bulk of a message
 * is plain line content, and this is the hot loop of DATA. */
static size_t find_crlf(const unsigned char *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        uint64_t a = x ^ (ONES * '\n');
        uint64_t b = x ^ (ONES * '\r');
        if ((((a - ONES) & ~a) | ((b - ONES) & ~b)) & HIGHS)
            break;
    }
    for (; i < n; i++)
        if (p[i] == '\r' || p[i] == '\n')
            return i;
    return n;
}

static int has_8bit(const unsigned char *p, size_t n)
{
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, 32);
        acc |= w[0] | w[1] | w[2] | w[3];
        if (acc & HIGHS)
            return 1;
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        acc |= w;
    }
    if (acc & HIGHS)
        return 1;
    for (; i < n; i++)
        if (p[i] & 0x80)
            return 1;
    return 0;
}

/* Records why the transaction fails. Content is handed on lazily, so a
 * size or storage failure (found when content is emitted) and a framing
 * failure (found while scanning) can be noticed in either order depending
 * on how the input was split; ranking makes the reply independent of
 * that: smuggling 4 > bare LF (pedantic) 3 > size 2 > local error and
 * content checks 1. */
static void dfail(mox_smtp_server *s, int rank, int code, const char *enh, const char *text)
{
    if (s->dfail && rank <= s->dfail_rank)
        return;
    s->dfail_rank = rank;
    s->dfail = 1;
    s->dfail_code = code;
    s->dfail_enh = enh;
    s->dfail_text = text;
    moxi_smtp_log(s, MOX_LOG_INFO, "message refused while receiving", "reason", text, NULL, NULL);
}

static void smuggling(mox_smtp_server *s, const char *what)
{
    if (!s->dfail)
        moxi_smtp_count(s, "mox_smtpserver_smuggling_total", "kind", what);
    dfail(s, 4, 500, "5.5.2",
          "bare CR or LF in a line ending or around a lone dot; the message may be an SMTP "
          "smuggling attempt and is refused");
}

/* Header section tracking: where it ends, 8-bit bytes in it, Return-Path.
 * Returns the index just past the header section, or n. */
static size_t hdr_scan(mox_smtp_server *s, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s->hstate == H_LINE) {
            /* the rest of a field line: skip to its end in one go (a
             * message without a blank line is all header) */
            const unsigned char *nl = memchr(p + i, '\n', n - i);
            size_t e = nl ? (size_t)(nl - p) : n;
            if (!s->txn.header_8bit && has_8bit(p + i, e - i))
                s->txn.header_8bit = 1;
            if (!nl)
                return n;
            s->hstate = H_BOL;
            i = e;
            continue;
        }
        unsigned char c = p[i];
        if (c & 0x80)
            s->txn.header_8bit = 1;
        switch (s->hstate) {
        case H_BOL:
            if (c == '\r') {
                s->hstate = H_EMPTY_CR;
            } else if (c == '\n') {
                s->hstate = H_DONE;
                return i + 1;
            } else if (c == ' ' || c == '\t') {
                s->hstate = H_LINE;
            } else {
                s->hname[0] = (char)c;
                s->hname_len = 1;
                s->hstate = H_NAME;
            }
            break;
        case H_EMPTY_CR:
            if (c == '\n') {
                s->hstate = H_DONE;
                return i + 1;
            }
            s->hstate = H_LINE;
            break;
        case H_NAME:
            if (c == ':') {
                size_t l = s->hname_len;
                while (l && (s->hname[l - 1] == ' ' || s->hname[l - 1] == '\t'))
                    l--;
                if (l == 11 && moxi_memcaseeq(s->hname, "Return-Path", 11))
                    s->txn.has_return_path = 1;
                s->hstate = H_LINE;
            } else if (c == '\n') {
                s->hstate = H_BOL;
            } else if (s->hname_len < sizeof s->hname) {
                s->hname[s->hname_len++] = (char)c;
            } else {
                s->hstate = H_LINE;
            }
            break;
        case H_LINE:
            if (c == '\n')
                s->hstate = H_BOL;
            break;
        default:
            return i;
        }
    }
    return n;
}

/* Content delivered to the embedder. */
static void emit(mox_smtp_server *s, const unsigned char *p, size_t n)
{
    if (n == 0 || s->dfail)
        return;
    uint64_t ns = s->txn.data_size + n;
    if (s->cfg.max_message_size && ns > s->cfg.max_message_size) {
        dfail(s, 2, 552, "5.3.4", "message too large");
        return;
    }
    s->txn.data_size = ns;
    size_t i = 0;
    if (s->hstate != H_DONE)
        i = hdr_scan(s, p, n);
    if (!s->txn.body_8bit && i < n && has_8bit(p + i, n - i))
        s->txn.body_8bit = 1;
    if (s->cb.on_data_chunk) {
        s->in_cb++;
        int rc = s->cb.on_data_chunk(s->user, s, p, n);
        s->in_cb--;
        if (rc < 0)
            dfail(s, 1, 451, "4.3.0", "local error storing the message, try again later");
    }
}

static void emit_nuls(mox_smtp_server *s, unsigned n)
{
    static const unsigned char zeros[64];
    while (n) {
        unsigned k = n > sizeof zeros ? (unsigned)sizeof zeros : n;
        emit(s, zeros, k);
        n -= k;
    }
}

void moxi_smtp_data_begin(mox_smtp_server *s)
{
    /* the message's deadline runs from here (DATA's 354, the first BDAT) */
    s->data_start = moxi_smtp_now(s);
    s->data_temp = 0;
    s->dstate = D_BOL;
    s->bol_bare = 0;
    s->nuls = 0;
    s->dfail = 0;
    s->hstate = H_BOL;
    s->hname_len = 0;
    s->txn.data_size = 0;
    s->txn.header_8bit = s->txn.body_8bit = s->txn.has_return_path = 0;
}

static void log_rcpts(mox_smtp_server *s)
{
    const mox_env *e = s->cfg.env;
    if (!e || !e->logger || !e->logger->log || MOX_LOG_INFO < e->logger->min_level)
        return;
    for (size_t i = 0; i < s->txn.nrcpts; i++) {
        mox_smtp_server_rcpt *r = &s->txn.rcpts[i];
        mox_buf b = MOX_BUF_INIT;
        int rc = r->path.is_postmaster ? mox_buf_append_str(&b, "postmaster")
                                       : mox_mailbox_format(&r->path.mailbox, 1, &b);
        if (rc != MOX_OK) {
            /* Not a log line with a recipient missing: the session is
             * unusable, as for any other allocation failure. */
            mox_buf_free(&b);
            if (rc == MOX_ERR_NOMEM)
                s->broken = 1;
            return;
        }
        char code[8];
        snprintf(code, sizeof code, "%d", r->outcome);
        moxi_smtp_log(s, MOX_LOG_INFO, "recipient", "rcpt", b.data ? (const char *)b.data : "",
                      "code", code);
        mox_buf_free(&b);
    }
}

void moxi_smtp_data_end_apply(mox_smtp_server *s, mox_smtp_server_reply *r)
{
    for (size_t i = 0; i < s->txn.nrcpts; i++)
        if (!s->txn.rcpts[i].outcome)
            s->txn.rcpts[i].outcome = r->code;
    log_rcpts(s);
    moxi_smtp_queue_reply(s, r, 1);
    if (r->code >= 200 && r->code < 300) {
        s->sess.transactions++;
        moxi_smtp_txn_clear(s);
    } else {
        moxi_smtp_txn_reset(s, MOX_SMTP_SERVER_RESET_REJECTED);
    }
}

/* The message is complete: judge what the engine can, then ask. */
void moxi_smtp_data_finish(mox_smtp_server *s)
{
    mox_smtp_server_txn *t = &s->txn;
    s->data_start = -1; /* complete: what follows is the embedder's time */
    if (!s->dfail && s->cfg.pedantic) {
        int eight = t->header_8bit || t->body_8bit;
        if (eight && t->body != MOX_SMTP_BODY_8BITMIME &&
            t->body != MOX_SMTP_BODY_BINARYMIME)
            dfail(s, 1, 554, "5.6.0", "8-bit data requires BODY=8BITMIME");
        else if (t->header_8bit && !t->smtputf8)
            dfail(s, 1, 554, "5.6.7", "non-ASCII header requires SMTPUTF8");
        else if (t->has_return_path && s->cfg.mode == MOX_SMTP_SERVER_SUBMISSION)
            dfail(s, 1, 554, "5.6.0", "a submitted message must not have a Return-Path header");
    }
    if (s->dfail) {
        for (size_t i = 0; i < t->nrcpts; i++)
            t->rcpts[i].outcome = s->dfail_code;
        log_rcpts(s);
        moxi_smtp_reply(s, s->dfail_code, s->dfail_enh, s->dfail_text);
        moxi_smtp_txn_reset(s, MOX_SMTP_SERVER_RESET_FAILED);
        return;
    }
    mox_smtp_server_reply r;
    moxi_smtp_default(&r, 250, "2.0.0", "message accepted");
    moxi_smtp_ask(s, MOX_SMTP_SERVER_DECIDE_DATA_END);
    int rc = MOX_SMTP_SERVER_REPLY;
    if (s->cb.on_data_end)
        rc = s->cb.on_data_end(s->user, s, t, &r);
    moxi_smtp_decide(s, MOX_SMTP_SERVER_DECIDE_DATA_END, rc, &r);
}

/* Handles a bare LF inside a line: normalised to CRLF, or refused. */
static void bare_lf(mox_smtp_server *s, const unsigned char *p, size_t *run, size_t i)
{
    if (s->cfg.pedantic)
        dfail(s, 3, 500, "5.5.2", "bare LF in message, lines must end with CRLF");
    emit(s, p + *run, i - *run);
    emit(s, (const unsigned char *)"\r\n", 2);
    *run = i + 1;
}

size_t moxi_smtp_data(mox_smtp_server *s, const unsigned char *p, size_t n)
{
    size_t i = 0, run = 0;
    int st = s->dstate;
    while (i < n) {
        unsigned char c = p[i];
        switch (st) {
        case D_MID:
            i += find_crlf(p + i, n - i);
            if (i >= n)
                break;
            if (p[i] == '\r') {
                st = D_CR;
            } else {
                bare_lf(s, p, &run, i);
                st = D_BOL;
                s->bol_bare = 1;
            }
            i++;
            break;
        case D_CR:
            if (c == '\n') {
                i++;
                st = D_BOL;
                s->bol_bare = 0;
            } else {
                smuggling(s, "bare-cr");
                st = D_MID; /* re-examine c there */
            }
            break;
        case D_BOL:
            if (c == '.') {
                emit(s, p + run, i - run);
                run = ++i;
                st = D_DOT;
            } else if (c == 0) {
                emit(s, p + run, i - run);
                run = ++i;
                s->nuls = 1;
                st = D_NUL;
            } else {
                st = D_MID;
            }
            break;
        case D_DOT:
            if (c == '\r') {
                run = ++i; /* held: this may be the end */
                st = D_DOT_CR;
            } else if (c == '\n') {
                smuggling(s, "dot-lf");
                run = ++i;
                st = D_BOL;
                s->bol_bare = 1;
            } else {
                st = D_MID; /* a stuffed dot was dropped */
            }
            break;
        case D_DOT_CR:
            if (c == '\n') {
                i++;
                if (s->bol_bare) {
                    smuggling(s, "lf-dot-crlf");
                    run = i;
                    st = D_BOL;
                    s->bol_bare = 0;
                    break;
                }
                s->dstate = D_BOL;
                s->phase = PH_CMD;
                moxi_smtp_data_finish(s);
                return i;
            }
            smuggling(s, "dot-bare-cr");
            st = D_MID;
            break;
        case D_NUL:
            if (c == 0) {
                s->nuls++;
                run = ++i;
            } else if (c == '.') {
                run = ++i;
                st = D_NULDOT;
            } else {
                emit_nuls(s, s->nuls);
                st = D_MID;
            }
            break;
        case D_NULDOT:
            if (c == '\r') {
                run = ++i;
                st = D_NULDOT_CR;
            } else if (c == '\n') {
                smuggling(s, "nul-dot-lf");
                run = ++i;
                st = D_BOL;
                s->bol_bare = 1;
            } else {
                emit_nuls(s, s->nuls);
                emit(s, (const unsigned char *)".", 1);
                st = D_MID;
            }
            break;
        case D_NULDOT_CR:
            if (c == '\n') {
                smuggling(s, "nul-dot-crlf");
                run = ++i;
                st = D_BOL;
                s->bol_bare = 0;
            } else {
                smuggling(s, "nul-dot-bare-cr");
                st = D_MID;
            }
            break;
        default:
            st = D_MID;
            break;
        }
    }
    if (st != D_DOT_CR && st != D_NULDOT_CR && st != D_NUL && st != D_NULDOT)
        emit(s, p + run, n - run);
    s->dstate = st;
    return n;
}

/* ---------------------------------------------------------------- BDAT */

static void chunk_done(mox_smtp_server *s)
{
    s->phase = PH_CMD;
    if (s->data_temp) {
        s->data_temp = 0;
        s->data_start = -1;
    }
    if (s->bdat_discard) {
        s->bdat_discard = 0;
        if (s->bdat_count_error)
            moxi_smtp_error(s, s->held.code, s->held.enhanced, s->held.text);
        else
            moxi_smtp_queue_reply(s, &s->held, 1);
        if (s->bdat_last && s->in_txn && !s->bdat_count_error)
            moxi_smtp_txn_reset(s, s->dfail ? MOX_SMTP_SERVER_RESET_FAILED
                                            : MOX_SMTP_SERVER_RESET_REJECTED);
        return;
    }
    if (s->bdat_last) {
        moxi_smtp_data_finish(s);
        return;
    }
    if (s->dfail) {
        moxi_smtp_reply(s, s->dfail_code, s->dfail_enh, s->dfail_text);
        return;
    }
    moxi_smtp_replyf(s, 250, "2.0.0", "%llu octets received", (unsigned long long)s->bdat_size);
}

void moxi_smtp_bdat_begin(mox_smtp_server *s)
{
    if (s->data_start < 0) {
        /* a chunk that is only skipped still has to arrive in time */
        s->data_start = moxi_smtp_now(s);
        s->data_temp = 1;
    }
    s->bdat_left = s->bdat_size;
    s->phase = PH_BDAT;
    if (s->bdat_left == 0)
        chunk_done(s);
}

size_t moxi_smtp_bdat(mox_smtp_server *s, const unsigned char *p, size_t n)
{
    size_t k = (uint64_t)n < s->bdat_left ? n : (size_t)s->bdat_left;
    if (!s->bdat_discard)
        emit(s, p, k);
    s->bdat_left -= k;
    if (s->bdat_left == 0)
        chunk_done(s);
    return k;
}
