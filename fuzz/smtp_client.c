/* Fuzzes the SMTP client engine with arbitrary server bytes. The first
 * bytes choose the configuration and how the input is split; the rest is
 * what the "server" says. Invariant: the client only ever sends CRLF-
 * terminated lines (no bare CR or LF), and every recipient of a finished
 * delivery has an outcome. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mox/smtp_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_out(const unsigned char *p, size_t n, int *prev_cr)
{
    for (size_t i = 0; i < n; i++) {
        if (*prev_cr && p[i] != '\n')
            abort();
        if (p[i] == '\n' && !*prev_cr)
            abort();
        *prev_cr = p[i] == '\r';
    }
}

static int fa_start(void *ctx, const char *const *mechs, size_t n, const mox_tls_info *tls,
                    const char **mech, mox_buf *initial, int *has_initial)
{
    (void)ctx;
    (void)tls;
    if (n == 0)
        return MOX_ERR_NOTFOUND;
    *mech = mechs[0];
    *has_initial = (mechs[0][0] & 1) != 0;
    return *has_initial ? mox_buf_append(initial, "\0u\0p", 4) : MOX_OK;
}

static int fa_step(void *ctx, const unsigned char *ch, size_t len, mox_buf *resp)
{
    (void)ctx;
    if (len && ch[0] == 'x')
        return MOX_ERR_SYNTAX;
    return mox_buf_append(resp, ch, len > 8 ? 8 : len);
}

static int fa_finish(void *ctx)
{
    (void)ctx;
    return MOX_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint8_t f0 = data[0], f1 = data[1], chunk = (uint8_t)(data[2] | 1), f3 = data[3];
    data += 4;
    size -= 4;
    mox_smtp_client_auth au = MOX_SMTP_CLIENT_AUTH_INIT;
    au.start = fa_start;
    au.step = fa_step;
    au.finish = fa_finish;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    cfg.ehlo_name = "fuzz.example";
    cfg.tls_mode = f0 & 3;
    cfg.flags = (f0 >> 2) & 0xf;
    if (f0 & 0x40)
        cfg.auth = &au;
    if (f0 & 0x80) {
        cfg.limits.max_line = 64;
        cfg.limits.max_lines = 4;
    }
    mox_smtp_client *c = NULL;
    if (mox_smtp_client_new(&c, &cfg, NULL) != MOX_OK)
        return 0;
    mox_smtp_client_rcpt r[4] = {{"a@x.example", MOX_SMTP_NOTIFY_FAILURE, "a@x.example"},
                                 {"b@y.example", 0, NULL},
                                 {"c\xc3\xa9@x.example", 0, NULL},
                                 {"d@y.example", MOX_SMTP_NOTIFY_NEVER, NULL}};
    static const char msg[] = "Subject: x\n\n.\n..\r.\r\nbody\xc3\xa9\r\n";
    mox_smtp_client_message m = MOX_SMTP_CLIENT_MESSAGE_INIT;
    m.from = "f@x.example";
    m.rcpts = r;
    m.nrcpts = 1 + (f1 & 3);
    m.data = msg;
    m.len = (f1 & 4) ? sizeof msg - 1 : 12;
    m.flags = (f1 >> 3) & 3;
    m.ret = (f1 >> 5) & 1 ? MOX_SMTP_RET_FULL : MOX_SMTP_RET_NONE;
    m.envid = (f1 & 0x40) ? "env id" : NULL;
    m.hold_for = (f1 & 0x80) ? 60 : 0;
    mox_smtp_client_submit(c, &m, NULL);
    int prev_cr = 0, submits = 1;
    size_t off = 0;
    for (int iter = 0; iter < 100000; iter++) {
        const unsigned char *p;
        size_t n;
        mox_smtp_client_output(c, &p, &n);
        size_t w = (f3 & 1) && n > 1 ? n / 2 : n;
        check_out(p, w, &prev_cr);
        if (w)
            mox_smtp_client_output_done(c, w);
        int st = mox_smtp_client_state(c);
        if (st == MOX_SMTP_CLIENT_CLOSED && n == 0)
            break;
        if (st == MOX_SMTP_CLIENT_STARTTLS && n == 0) {
            mox_tls_info ti = MOX_TLS_INFO_INIT;
            ti.version = 0x0303;
            ti.tls_exporter = (const unsigned char *)"0123456789abcdef0123456789abcdef";
            ti.tls_exporter_len = 32;
            mox_smtp_client_tls_done(c, off < size ? data[off] != 0 : 1, &ti);
            continue;
        }
        if (st == MOX_SMTP_CLIENT_READY) {
            const mox_smtp_client_delivery *d = mox_smtp_client_get_delivery(c);
            if (d && d->done)
                for (size_t i = 0; i < d->nrcpts; i++)
                    if (!d->rcpts[i].outcome.text || !d->rcpts[i].address)
                        abort();
            if (submits < 3 && (f3 & 2)) {
                submits++;
                mox_smtp_client_submit(c, &m, NULL);
            } else {
                mox_smtp_client_quit(c);
            }
            continue;
        }
        if (off >= size) {
            if (f3 & 4)
                mox_smtp_client_timeout(c);
            else
                mox_smtp_client_eof(c, 0);
            continue;
        }
        size_t k = size - off < chunk ? size - off : chunk;
        int64_t t = mox_smtp_client_feed(c, data + off, k);
        if (t < 0)
            break;
        off += k;
    }
    const mox_smtp_client_delivery *d = mox_smtp_client_get_delivery(c);
    if (mox_smtp_client_state(c) == MOX_SMTP_CLIENT_CLOSED && d && !d->done)
        abort();
    mox_smtp_client_free(c);
    return 0;
}
