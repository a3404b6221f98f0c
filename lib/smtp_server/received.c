/* SMTP server engine: the Received header field (RFC 5321 §4.4, with
 * RFC 3848 / RFC 6531 "with" keywords). Everything the client chose (HELO
 * name, addresses) and the embedder's TLS strings are checked or reduced
 * to safe characters so they cannot change the header's structure. */
#include <stdio.h>
#include <string.h>

#include "smtp_server_priv.h"

/* Appends a token, folding before it when the line would pass 78. An
 * allocation failure is remembered in *err. */
static void tok_e(mox_buf *b, size_t *col, const char *t, int *err)
{
    size_t n = strlen(t);
    int rc;
    if (*col + 1 + n > 78 && *col > 10) {
        rc = mox_buf_append(b, "\r\n\t", 3);
        *col = 8;
    } else {
        rc = mox_buf_append_byte(b, ' ');
        (*col)++;
    }
    if (rc == MOX_OK)
        rc = mox_buf_append(b, t, n);
    if (rc != MOX_OK)
        *err = rc;
    *col += n;
}

#define tok(b, col, t) tok_e(b, col, t, &err)

/* Copies `s` keeping only characters that are harmless in a comment. */
static void safe(char *dst, size_t cap, const char *s)
{
    size_t o = 0;
    for (; s && *s && o + 1 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        int ok = moxi_is_alpha(c) || moxi_is_digit(c) || c == '.' || c == '-' || c == '_' ||
                 c == ':' || c == '[' || c == ']' || c == '+' || c == '/' || c == '=';
        dst[o++] = ok ? (char)c : '?';
    }
    dst[o] = 0;
}

int mox_smtp_server_received(const mox_smtp_server *cs, size_t rcpt_idx, mox_buf *out)
{
    if (!cs || !out)
        return MOX_ERR_INVAL;
    mox_smtp_server *s = (mox_smtp_server *)cs; /* logging helpers take non-const */
    if (!s->in_txn)
        return MOX_ERR_STATE;
    mox_buf b = MOX_BUF_INIT;
    int err = MOX_OK;
    size_t col = strlen("Received:");
    if (mox_buf_append_str(&b, "Received:") != MOX_OK)
        return MOX_ERR_NOMEM;
    char t[600], ip[80], h[300];
    safe(ip, sizeof ip, s->remote_ip);
    int lit = 0;
    int valid = s->hello ? mox_smtp_hello_valid(s->hello, strlen(s->hello), &lit) : 0;
    if (valid < 0) {
        mox_buf_free(&b);
        return MOX_ERR_NOMEM;
    }
    tok(&b, &col, "from");
    if (valid == 1) {
        safe(h, sizeof h, s->hello);
        tok(&b, &col, h);
        if (ip[0]) {
            snprintf(t, sizeof t, "([%s])", ip);
            tok(&b, &col, t);
        }
    } else {
        tok(&b, &col, ip[0] ? (snprintf(t, sizeof t, "[%s]", ip), t) : "unknown");
        safe(h, sizeof h, s->hello ? s->hello : "");
        snprintf(t, sizeof t, "(helo=%s)", h);
        tok(&b, &col, t);
    }
    tok(&b, &col, "by");
    tok(&b, &col, s->hostname);
    safe(ip, sizeof ip, s->local_ip);
    if (ip[0]) {
        snprintf(t, sizeof t, "([%s])", ip);
        tok(&b, &col, t);
    }
    tok(&b, &col, "with");
    snprintf(t, sizeof t, "%s%s%s", s->txn.smtputf8 ? "UTF8SMTP" : s->sess.ehlo ? "ESMTP" : "SMTP",
             s->sess.tls ? "S" : "", s->auth_user ? "A" : "");
    tok(&b, &col, t);
    if (s->conn_id) {
        safe(h, sizeof h, s->conn_id);
        tok(&b, &col, "id");
        tok(&b, &col, h);
    }
    if (s->sess.tls && (s->tls_info.version || s->tls_cipher)) {
        char v[64], c[128];
        int tv = s->tls_info.version;
        /* RFC 8446 §4.2.1 / RFC 5246 §6.2.1 version numbers */
        snprintf(v, sizeof v, "%s",
                 tv == 0x0304   ? "TLS1.3"
                 : tv == 0x0303 ? "TLS1.2"
                 : tv == 0x0302 ? "TLS1.1"
                 : tv == 0x0301 ? "TLS1.0"
                                : "");
        safe(c, sizeof c, s->tls_cipher);
        snprintf(t, sizeof t, "(%s%s%s)", v, v[0] && c[0] ? " " : "", c);
        tok(&b, &col, t);
    }
    if (s->txn.requiretls)
        tok(&b, &col, "(requiretls)");
    if (rcpt_idx != SIZE_MAX && rcpt_idx < s->txn.nrcpts) {
        mox_smtp_server_rcpt *r = &s->txn.rcpts[rcpt_idx];
        mox_buf a = MOX_BUF_INIT;
        int rc = r->path.is_postmaster ? mox_buf_append_str(&a, "postmaster")
                                       : mox_mailbox_format(&r->path.mailbox, s->txn.smtputf8, &a);
        int ok = rc == MOX_OK && a.len > 0 && a.len < 300;
        for (size_t i = 0; ok && i < a.len; i++)
            if (a.data[i] < 0x20 || a.data[i] == 0x7f || a.data[i] == '<' || a.data[i] == '>')
                ok = 0;
        if (ok) {
            tok(&b, &col, "for");
            snprintf(t, sizeof t, "<%s>;", (const char *)a.data);
            tok(&b, &col, t);
        } else if (mox_buf_append_byte(&b, ';') != MOX_OK) {
            err = MOX_ERR_NOMEM;
        }
        mox_buf_free(&a);
        if (rc == MOX_ERR_NOMEM) {
            mox_buf_free(&b);
            return MOX_ERR_NOMEM;
        }
    } else if (mox_buf_append_byte(&b, ';') != MOX_OK) {
        err = MOX_ERR_NOMEM;
    }
    char date[64];
    if (mox_rfc5322_date(moxi_smtp_now_wall_s(s), 0, date, sizeof date) < 0)
        snprintf(date, sizeof date, "Thu, 1 Jan 1970 00:00:00 +0000");
    tok(&b, &col, date);
    if (err == MOX_OK)
        err = mox_buf_append(&b, "\r\n", 2);
    int rc = err == MOX_OK ? mox_buf_append(out, b.data, b.len) : err;
    mox_buf_free(&b);
    return rc;
}
