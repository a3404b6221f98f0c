/* TLS engine (mbedTLS 2.28): mbedTLS's BIO callbacks over internal
 * buffers, so ciphertext comes in through mox_tls_feed and goes out
 * through mox_tls_output, BearSSL style. mbedTLS runs inside every call
 * that changes what it can do ("pump"): the handshake steps, and after the
 * handshake the eager decryption of records into the plaintext buffer, so
 * alerts, close_notify and renegotiation attempts are seen as they arrive
 * and mox_tls_want is always accurate. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
/* mbedtls_ssl_flush_output, ssl.handshake, own/peer_verify_data */
#include <mbedtls/ssl_internal.h>

#include "tls/tls_priv.h"

/* Room an alert record needs in the output (header, explicit IV or nonce,
 * two bytes, MAC or tag, padding). Decryption stops while less is free, so
 * an alert mbedTLS sends in reply never finds the output full. */
#define ALERT_ROOM 1024u

static size_t out_pending(const mox_tls *t) { return t->out_len - t->out_off; }

static int ended(const mox_tls *t) { return t->failed || t->close_queued || t->input_done; }

/* ------------------------------------------------------------ BIO */

static void track(mox_tls *t, const unsigned char *p, size_t n)
{
    moxi_tls_track *k = &t->track;
    while (n > 0) {
        if (k->left == 0) {
            size_t take = 5 - k->hlen < n ? 5 - k->hlen : n;
            memcpy(k->hdr + k->hlen, p, take);
            k->hlen += take;
            p += take;
            n -= take;
            if (k->hlen == 5) {
                k->reclen = k->left = ((size_t)k->hdr[3] << 8) | k->hdr[4];
                k->hlen = 0;
                k->records++;
                /* A handshake record after the handshake: the peer asks
                 * for renegotiation, which mbedTLS refuses with a
                 * no_renegotiation warning (RFC 5246 §7.2.2). */
                if (k->hdr[0] == MBEDTLS_SSL_MSG_HANDSHAKE && t->hs_done)
                    t->reneg_refused++;
            }
        } else {
            size_t take = k->left < n ? k->left : n;
            k->left -= take;
            p += take;
            n -= take;
        }
    }
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    mox_tls *t = ctx;
    size_t avail = t->in_len - t->in_off;
    if (avail == 0) {
        if (t->eof)
            return 0; /* mbedTLS: MBEDTLS_ERR_SSL_CONN_EOF */
        return MBEDTLS_ERR_SSL_WANT_READ;
    }
    size_t n = len < avail ? len : avail;
    if (n > INT32_MAX)
        n = INT32_MAX;
    memcpy(buf, t->in + t->in_off, n);
    track(t, buf, n);
    t->in_off += n;
    if (t->in_off == t->in_len)
        t->in_off = t->in_len = 0;
    return (int)n;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    mox_tls *t = ctx;
    size_t pend = out_pending(t);
    if (pend >= MOXI_TLS_OUT_MAX)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    size_t n = len < MOXI_TLS_OUT_MAX - pend ? len : MOXI_TLS_OUT_MAX - pend;
    if (t->out_len + n > t->out_cap && t->out_off > 0) {
        memmove(t->out, t->out + t->out_off, pend);
        t->out_off = 0;
        t->out_len = pend;
    }
    if (t->out_len + n > t->out_cap) {
        size_t cap = t->out_cap ? t->out_cap : 4096;
        while (cap < t->out_len + n)
            cap *= 2;
        if (cap > MOXI_TLS_OUT_MAX)
            cap = MOXI_TLS_OUT_MAX;
        unsigned char *nb = mox_realloc(t->out, cap);
        if (!nb)
            return MBEDTLS_ERR_SSL_ALLOC_FAILED;
        t->out = nb;
        t->out_cap = cap;
    }
    memcpy(t->out + t->out_len, buf, n);
    t->out_len += n;
    return (int)n;
}

/* ------------------------------------------------------------ failures */

static void set_err(mox_tls *t, int code, int detail, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void set_err(mox_tls *t, int code, int detail, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    t->err.code = code;
    t->err.detail = detail;
    t->err.offset = SIZE_MAX;
    vsnprintf(t->err.msg, sizeof t->err.msg, fmt, ap);
    va_end(ap);
    moxi_engine_fail(&t->g, code, "%s", t->err.msg);
}

/* Composes verify_error from mbedTLS's flags and the policy's reason. */
static void record_verify(mox_tls *t)
{
    if (t->role != MOXI_TLS_ROLE_CLIENT)
        return;
    if (t->verify_error[0])
        return; /* the policy callback said why */
    uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
    if (flags == (uint32_t)-1) {
        snprintf(t->verify_error, sizeof t->verify_error, "no certificate verified");
    } else if (flags) {
        int n = mbedtls_x509_crt_verify_info(t->verify_error, sizeof t->verify_error, "", flags);
        /* One line: the entries are newline-separated. */
        for (int i = 0; i < n && t->verify_error[i]; i++)
            if (t->verify_error[i] == '\n')
                t->verify_error[i] = i + 1 < n && t->verify_error[i + 1] ? ';' : 0;
    }
}

/* The input ended (mbedTLS read its end). */
static void input_end(mox_tls *t)
{
    t->input_done = 1;
    const moxi_tls_track *k = &t->track;
    const char *stage = t->hs_done ? "TLS" : "TLS handshake";
    if (t->hs_done && (t->peer_closed || t->close_queued))
        return;
    if (k->hlen > 0)
        set_err(t, MOX_ERR_TRUNCATED, 0,
                "%s: the input ended after %zu of the 5 bytes of a record header", stage,
                k->hlen);
    else if (k->left > 0)
        set_err(t, MOX_ERR_TRUNCATED, 0,
                "%s: the input ended after %zu of the %zu bytes of a record", stage,
                k->reclen - k->left, k->reclen);
    else if (!t->hs_done)
        set_err(t, MOX_ERR_IO, 0, "%s: the connection closed during the handshake", stage);
    else {
        t->trunc_boundary = 1;
        set_err(t, MOX_ERR_TRUNCATED, 0,
                "%s: the input ended without close_notify (RFC 5246 §7.2.1)", stage);
    }
    if (!t->hs_done) {
        t->failed = 1;
        if (t->role == MOXI_TLS_ROLE_SERVER)
            moxi_tls_server_classify(t, MBEDTLS_ERR_SSL_CONN_EOF);
        return;
    }
    /* Our side still closes properly (the transport may still carry it). */
    t->close_queued = t->close_pending = 1;
}

static void fail_mbed(mox_tls *t, int m)
{
    const moxi_tls_track *k = &t->track;
    const char *stage = t->hs_done ? "TLS" : "TLS handshake";
    if (m == MBEDTLS_ERR_SSL_CONN_EOF) {
        input_end(t);
        return;
    }
    t->failed = 1;
    if (!t->hs_done && t->received && t->first_byte != MBEDTLS_SSL_MSG_HANDSHAKE &&
        t->role == MOXI_TLS_ROLE_SERVER) {
        unsigned b = t->first_byte;
        set_err(t, MOX_ERR_SYNTAX, m,
                "%s: not TLS: the first byte is 0x%02x (%c), not a handshake record", stage, b,
                b >= 0x20 && b < 0x7f ? (char)b : '?');
    } else if (m == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        record_verify(t);
        set_err(t, MOX_ERR_PERM, m, "%s: certificate verification failed: %s", stage,
                t->verify_error);
    } else if (m == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
        unsigned a = t->ssl.in_msg ? t->ssl.in_msg[1] : 255;
        const char *nm = moxi_tls_alert_name(a);
        set_err(t, MOX_ERR_CRYPTO, m, "%s: the peer sent the fatal alert %s (%u)", stage,
                nm ? nm : "unknown", a);
    } else if (m == MBEDTLS_ERR_SSL_INVALID_MAC) {
        set_err(t, MOX_ERR_CRYPTO, m, "%s: record %llu failed authentication (bad MAC)", stage,
                (unsigned long long)k->records);
    } else if (m == MBEDTLS_ERR_SSL_INVALID_RECORD) {
        set_err(t, MOX_ERR_SYNTAX, m,
                "%s: invalid header of record %llu: content type %u, version 0x%04x, "
                "length %u",
                stage, (unsigned long long)k->records, k->hdr[0],
                ((unsigned)k->hdr[1] << 8) | k->hdr[2], ((unsigned)k->hdr[3] << 8) | k->hdr[4]);
    } else if (m == MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION) {
        set_err(t, MOX_ERR_UNSUPPORTED, m,
                "%s: no common protocol version (TLS 1.2 is the minimum)", stage);
    } else if (m == MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN ||
               m == MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE) {
        set_err(t, MOX_ERR_CRYPTO, m, "%s: no common cipher suite", stage);
    } else if (m == MBEDTLS_ERR_SSL_ALLOC_FAILED || m == MBEDTLS_ERR_X509_ALLOC_FAILED ||
               m == MBEDTLS_ERR_PK_ALLOC_FAILED) {
        set_err(t, MOX_ERR_NOMEM, m, "%s: out of memory", stage);
    } else {
        char mb[128];
        mbedtls_strerror(m, mb, sizeof mb);
        set_err(t, MOX_ERR_CRYPTO, m, "%s: %s", stage, mb);
    }
    if (t->role == MOXI_TLS_ROLE_SERVER && !t->hs_done)
        moxi_tls_server_classify(t, m);
}

/* ------------------------------------------------------------ pump */

static void handshake_done(mox_tls *t);

static void pump(mox_tls *t)
{
    if (t->failed)
        return;
    /* A record mbedTLS could not hand over whole (output full). */
    if (t->ssl.out_left) {
        int m = mbedtls_ssl_flush_output(&t->ssl);
        if (m == MBEDTLS_ERR_SSL_WANT_WRITE)
            return;
        if (m != 0) {
            fail_mbed(t, m);
            return;
        }
    }
    if (!t->hs_done) {
        if (t->close_queued)
            return; /* closed by the application or a deadline */
        t->cfg->current = t;
        int m = mbedtls_ssl_handshake(&t->ssl);
        t->cfg->current = NULL;
        if (m == MBEDTLS_ERR_SSL_WANT_READ) {
            t->hs_want = MOX_WANT_READ;
            return;
        }
        if (m == MBEDTLS_ERR_SSL_WANT_WRITE) {
            t->hs_want = MOX_WANT_WRITE;
            return;
        }
        if (m != 0) {
            fail_mbed(t, m);
            return;
        }
        handshake_done(t);
    }
    if (t->close_pending) {
        int m = mbedtls_ssl_close_notify(&t->ssl);
        if (m == MBEDTLS_ERR_SSL_WANT_WRITE)
            return;
        t->close_pending = 0; /* sent, or it cannot be: nothing else to do */
    }
    /* Eager decryption while there is room for plaintext and for a reply. */
    while (!ended(t)) {
        if (t->plain_off > 0 && t->plain_off == t->plain_len)
            t->plain_off = t->plain_len = 0;
        if (t->plain_off > 0 && t->plain_len == MOXI_TLS_PLAIN_CAP) {
            memmove(t->plain, t->plain + t->plain_off, t->plain_len - t->plain_off);
            t->plain_len -= t->plain_off;
            t->plain_off = 0;
        }
        size_t room = MOXI_TLS_PLAIN_CAP - t->plain_len;
        if (room == 0 || MOXI_TLS_OUT_MAX - out_pending(t) < ALERT_ROOM)
            break;
        if (t->in_len == t->in_off && !t->eof && mbedtls_ssl_get_bytes_avail(&t->ssl) == 0 &&
            !mbedtls_ssl_check_pending(&t->ssl))
            break; /* nothing to decrypt */
        uint64_t reneg = t->reneg_refused;
        int m = mbedtls_ssl_read(&t->ssl, t->plain + t->plain_len, room);
        if (m > 0) {
            t->plain_len += (size_t)m;
            continue;
        }
        if (m == 0) {
            /* mbedTLS gives 0 for the end of the input */
            if (t->eof && t->in_len == t->in_off)
                input_end(t);
            break;
        }
        if (m == MBEDTLS_ERR_SSL_WANT_READ || m == MBEDTLS_ERR_SSL_WANT_WRITE) {
            if (t->reneg_refused != reneg)
                continue; /* refused; the record after it may be waiting */
            break;
        }
        if (m == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            /* RFC 5246 §7.2.1: answer with our own close_notify. */
            t->peer_closed = 1;
            t->close_queued = 1;
            if (mbedtls_ssl_close_notify(&t->ssl) == MBEDTLS_ERR_SSL_WANT_WRITE)
                t->close_pending = 1;
            break;
        }
        fail_mbed(t, m);
        break;
    }
}

static void hash_server_cert(mox_tls *t, const mbedtls_x509_crt *crt)
{
    if (!crt || !crt->raw.p)
        return;
    /* RFC 5929 §4.1: the certificate's signature hash, but SHA-256 for
     * MD5 and SHA-1. */
    mbedtls_md_type_t md = crt->sig_md;
    if (md == MBEDTLS_MD_MD5 || md == MBEDTLS_MD_SHA1 || md == MBEDTLS_MD_NONE)
        md = MBEDTLS_MD_SHA256;
    const mbedtls_md_info_t *mi = mbedtls_md_info_from_type(md);
    if (!mi)
        mi = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (mi && mbedtls_md(mi, crt->raw.p, crt->raw.len, t->endpoint) == 0)
        t->endpoint_len = mbedtls_md_get_size(mi);
}

static void handshake_done(mox_tls *t)
{
    t->hs_done = 1;
    t->hs_want = 0;
    record_verify(t);
    t->peer_verified = t->role == MOXI_TLS_ROLE_CLIENT && t->verify != MOX_TLS_VERIFY_NONE;
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&t->ssl);
    if (peer && peer->raw.p) {
        t->peer_cert = 1;
        if (moxi_tls_spki_hash(&peer->pk, t->spki) != MOX_OK)
            memset(t->spki, 0, sizeof t->spki);
    }
#if defined(MBEDTLS_SSL_RENEGOTIATION)
    /* tls-unique: the first Finished of the handshake: the client's in a
     * full handshake, the server's in an abbreviated (resumed) one. */
    size_t n = t->ssl.verify_data_len;
    if (n > 0 && n <= sizeof t->unique) {
        int ours = (t->role == MOXI_TLS_ROLE_SERVER) == (t->resumed != 0);
        memcpy(t->unique, ours ? t->ssl.own_verify_data : t->ssl.peer_verify_data, n);
        t->unique_len = n;
    }
#endif
    if (t->role == MOXI_TLS_ROLE_CLIENT)
        hash_server_cert(t, peer);
    else if (t->own)
        hash_server_cert(t, &t->own->crt);
    else if (t->cfg->fallback)
        hash_server_cert(t, &t->cfg->fallback->crt);
}

static const moxi_engine_ops tls_ops;

int moxi_tls_start(mox_tls *t, mox_errinfo *ei);
int moxi_tls_start(mox_tls *t, mox_errinfo *ei)
{
    moxi_engine_init(&t->g, &tls_ops, t);
    mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
    int64_t now = mox_clock_mono_ns(t->cfg->clock);
    t->deadline = now + (int64_t)t->cfg->hs_timeout_ms * 1000000;
    pump(t); /* a client writes its ClientHello */
    if (t->failed) {
        if (ei)
            *ei = t->err;
        return t->err.code;
    }
    return MOX_OK;
}

/* ------------------------------------------------------------ contract */

unsigned mox_tls_want(const mox_tls *t)
{
    if (!t)
        return 0;
    unsigned w = 0;
    if (out_pending(t) > 0)
        w |= MOX_WANT_WRITE;
    if (t->hs_done)
        w |= MOX_WANT_DONE;
    if (ended(t))
        return w | MOX_WANT_CLOSED;
    int room = t->in_len < MOXI_TLS_IN_CAP || t->in_off > 0;
    if (!t->hs_done) {
        w |= MOX_WANT_TIMER;
        if (t->hs_want == MOX_WANT_READ && room && !t->eof)
            w |= MOX_WANT_READ;
    } else if (room && !t->eof) {
        w |= MOX_WANT_READ;
    }
    return w;
}

int64_t mox_tls_feed(mox_tls *t, const void *p, size_t n)
{
    if (!t)
        return MOX_ERR_INVAL;
    if (!p && n)
        return moxi_engine_fail(&t->g, MOX_ERR_INVAL, "feed: NULL bytes");
    if (t->eof)
        return moxi_engine_fail(&t->g, MOX_ERR_STATE, "feed after eof");
    if (n == 0)
        return 0;
    if (n > INT64_MAX)
        n = INT64_MAX;
    if (ended(t))
        return (int64_t)n; /* nobody reads it any more */
    if (!t->received) {
        t->received = 1;
        t->first_byte = *(const unsigned char *)p;
    }
    if (t->in_off > 0) {
        memmove(t->in, t->in + t->in_off, t->in_len - t->in_off);
        t->in_len -= t->in_off;
        t->in_off = 0;
    }
    size_t room = MOXI_TLS_IN_CAP - t->in_len;
    size_t take = n < room ? n : room;
    if (take == 0)
        return 0;
    memcpy(t->in + t->in_len, p, take);
    t->in_len += take;
    pump(t);
    return (int64_t)take;
}

int mox_tls_eof(mox_tls *t)
{
    if (!t)
        return MOX_ERR_INVAL;
    if (t->eof)
        return moxi_engine_fail(&t->g, MOX_ERR_STATE, "eof after eof");
    t->eof = 1;
    if (!ended(t))
        pump(t);
    return MOX_OK;
}

int mox_tls_output(mox_tls *t, const void **p, size_t *n)
{
    if (!t)
        return MOX_ERR_INVAL;
    if (!p || !n)
        return moxi_engine_fail(&t->g, MOX_ERR_INVAL, "output: NULL argument");
    *p = t->out ? t->out + t->out_off : NULL;
    *n = out_pending(t);
    t->out_given = *n;
    return MOX_OK;
}

int mox_tls_output_done(mox_tls *t, size_t n)
{
    if (!t)
        return MOX_ERR_INVAL;
    if (n > t->out_given)
        return moxi_engine_fail(&t->g, MOX_ERR_INVAL,
                                "output_done(%zu) is more than the %zu bytes handed out", n,
                                t->out_given);
    t->out_off += n;
    t->out_given -= n;
    if (t->out_off == t->out_len)
        t->out_off = t->out_len = 0;
    if (n)
        pump(t);
    return MOX_OK;
}

int64_t mox_tls_deadline(const mox_tls *t)
{
    return t && !t->hs_done && !ended(t) ? t->deadline : MOX_NO_DEADLINE;
}

int mox_tls_tick(mox_tls *t, int64_t now_ns)
{
    if (!t)
        return MOX_ERR_INVAL;
    if (t->hs_done || ended(t) || now_ns < t->deadline)
        return MOX_OK;
    t->failed = 1;
    set_err(t, MOX_ERR_TIMEOUT, 0, "TLS handshake: not complete within %u ms",
            (unsigned)t->cfg->hs_timeout_ms);
    if (t->role == MOXI_TLS_ROLE_SERVER)
        snprintf(t->failure, sizeof t->failure, "timeout");
    t->out_off = t->out_len = 0; /* a half-sent flight is of no use now */
    return MOX_OK;
}

static unsigned op_want(const void *s) { return mox_tls_want(s); }
static int64_t op_feed(void *s, const void *p, size_t n) { return mox_tls_feed(s, p, n); }
static int op_eof(void *s) { return mox_tls_eof(s); }
static int op_output(void *s, const void **p, size_t *n) { return mox_tls_output(s, p, n); }
static int op_output_done(void *s, size_t n) { return mox_tls_output_done(s, n); }
static int64_t op_deadline(const void *s) { return mox_tls_deadline(s); }
static int op_tick(void *s, int64_t now) { return mox_tls_tick(s, now); }

static const moxi_engine_ops tls_ops = {
    .name = "tls",
    .want = op_want,
    .feed = op_feed,
    .eof = op_eof,
    .output = op_output,
    .output_done = op_output_done,
    .deadline = op_deadline,
    .tick = op_tick,
};

mox_engine *mox_tls_engine(mox_tls *t) { return t ? &t->g : NULL; }

/* ------------------------------------------------------------ plaintext */

int mox_tls_plaintext(mox_tls *t, const void **p, size_t *n)
{
    if (!t)
        return MOX_ERR_INVAL;
    if (!p || !n)
        return moxi_engine_fail(&t->g, MOX_ERR_INVAL, "plaintext: NULL argument");
    if (!t->hs_done)
        return moxi_engine_fail(&t->g, MOX_ERR_STATE,
                                "plaintext before the handshake completed");
    *p = t->plain + t->plain_off;
    *n = t->plain_len - t->plain_off;
    t->plain_given = *n;
    return MOX_OK;
}

int mox_tls_plaintext_done(mox_tls *t, size_t n)
{
    if (!t)
        return MOX_ERR_INVAL;
    if (n > t->plain_given)
        return moxi_engine_fail(&t->g, MOX_ERR_INVAL,
                                "plaintext_done(%zu) is more than the %zu bytes handed out", n,
                                t->plain_given);
    t->plain_off += n;
    t->plain_given -= n;
    if (t->plain_off == t->plain_len)
        t->plain_off = t->plain_len = 0;
    if (n)
        pump(t);
    return MOX_OK;
}

size_t mox_tls_pending(const mox_tls *t) { return t ? t->plain_len - t->plain_off : 0; }

int64_t mox_tls_read(mox_tls *t, void *buf, size_t cap)
{
    if (!t)
        return MOX_ERR_INVAL;
    if (!buf || cap == 0)
        return moxi_engine_fail(&t->g, MOX_ERR_INVAL, "read: NULL or empty buffer");
    if (!t->hs_done)
        return moxi_engine_fail(&t->g, MOX_ERR_STATE, "read before the handshake completed");
    size_t avail = t->plain_len - t->plain_off;
    if (avail) {
        size_t n = cap < avail ? cap : avail;
        if (n > INT64_MAX)
            n = INT64_MAX;
        memcpy(buf, t->plain + t->plain_off, n);
        t->plain_off += n;
        t->plain_given = 0;
        if (t->plain_off == t->plain_len)
            t->plain_off = t->plain_len = 0;
        pump(t);
        return (int64_t)n;
    }
    if (ended(t))
        return t->err.code; /* 0 after close_notify */
    return MOX_ERR_AGAIN;
}

int64_t mox_tls_write(mox_tls *t, const void *p, size_t n)
{
    if (!t)
        return MOX_ERR_INVAL;
    if (!p && n)
        return moxi_engine_fail(&t->g, MOX_ERR_INVAL, "write: NULL bytes");
    if (!t->hs_done)
        return moxi_engine_fail(&t->g, MOX_ERR_STATE, "write before the handshake completed");
    if (ended(t))
        return moxi_engine_fail(&t->g, MOX_ERR_STATE, "write after the connection ended%s%s",
                                t->err.code ? ": " : "", t->err.code ? t->err.msg : "");
    if (n == 0)
        return 0;
    if (t->ssl.out_left)
        pump(t);
    if (t->ssl.out_left)
        return 0;
    int exp = mbedtls_ssl_get_record_expansion(&t->ssl);
    size_t expansion = exp > 0 ? (size_t)exp : 2048;
    size_t pend = out_pending(t);
    if (pend + expansion >= MOXI_TLS_OUT_MAX)
        return 0;
    size_t chunk = MOXI_TLS_OUT_MAX - pend - expansion;
    int maxp = mbedtls_ssl_get_max_out_record_payload(&t->ssl);
    if (maxp > 0 && chunk > (size_t)maxp)
        chunk = (size_t)maxp;
    if (chunk > 16384)
        chunk = 16384;
    if (chunk > n)
        chunk = n;
    int m = mbedtls_ssl_write(&t->ssl, p, chunk);
    if (m > 0)
        return m;
    if (m == MBEDTLS_ERR_SSL_WANT_WRITE)
        return (int64_t)chunk; /* encrypted, held by mbedTLS; pump sends it */
    fail_mbed(t, m);
    return t->err.code;
}

int mox_tls_close(mox_tls *t)
{
    if (!t)
        return MOX_ERR_INVAL;
    if (ended(t))
        return MOX_OK;
    t->close_queued = 1;
    if (!t->hs_done) {
        t->out_off = t->out_len = 0; /* nothing of a half handshake is wanted */
        return MOX_OK;
    }
    t->close_pending = 1;
    pump(t);
    return MOX_OK;
}

const mox_errinfo *mox_tls_error(const mox_tls *t) { return t ? &t->err : NULL; }

/* ------------------------------------------------------------ information */

int mox_tls_get_info(const mox_tls *t, mox_tls_info *info)
{
    if (!t || !info || info->size < sizeof(size_t))
        return MOX_ERR_INVAL;
    if (!t->hs_done)
        return MOX_ERR_STATE;
    mox_tls_info f = MOX_TLS_INFO_INIT;
    f.version = (t->ssl.major_ver << 8) | t->ssl.minor_ver;
    f.cipher_id = t->ssl.session ? (uint16_t)t->ssl.session->ciphersuite : 0;
    f.cipher = mox_tls_cipher(t);
    if (t->role == MOXI_TLS_ROLE_SERVER)
        f.sni = t->sni[0] ? t->sni : NULL;
    else
        f.sni = t->server_name && !moxi_tls_is_ip(t->server_name, strlen(t->server_name))
                    ? t->server_name
                    : NULL;
    f.resumed = t->resumed;
    f.peer_cert = t->peer_cert;
    f.peer_verified = t->peer_verified;
    if (t->peer_cert)
        memcpy(f.peer_spki_sha256, t->spki, 32);
    if (t->unique_len) {
        f.tls_unique = t->unique;
        f.tls_unique_len = t->unique_len;
    }
    if (t->have_exporter) {
        f.tls_exporter = t->exporter;
        f.tls_exporter_len = sizeof t->exporter;
    }
    if (t->endpoint_len) {
        f.tls_server_end_point = t->endpoint;
        f.tls_server_end_point_len = t->endpoint_len;
    }
    moxi_fill_sized(info, info->size, &f, sizeof f);
    return MOX_OK;
}

const char *mox_tls_cipher(const mox_tls *t)
{
    if (!t || !t->hs_done || !t->ssl.session)
        return "";
    const char *s = mox_tls_cipher_suite_name((uint16_t)t->ssl.session->ciphersuite);
    return s ? s : "";
}

const char *mox_tls_verify_error(const mox_tls *t) { return t ? t->verify_error : ""; }
