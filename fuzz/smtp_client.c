/* Fuzzes the SMTP client engine with arbitrary server bytes, driven
 * through the engine contract (the generic mox_engine view: want, feed,
 * output, tls_request/tls_done, deadline/tick, eof). The first bytes
 * choose the configuration, how the input is split, how much output is
 * taken at a time, whether time passes between reads (deadlines fire) and
 * whether misuse is tried; the rest is what the "server" says.
 * Invariants: the client only ever sends CRLF-terminated lines (no bare CR
 * or LF); feed takes everything until the session closes; misuse returns
 * an error and changes nothing; the session always ends (CLOSED with
 * DONE) and every recipient of a finished delivery has a status. */
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

static int64_t fake_now;
static int64_t fake_mono(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static void check_delivery(const mox_smtp_client_delivery *d)
{
    if (d && d->done) {
        if (d->naccepted + d->ntemporary + d->npermanent != d->nrcpts)
            abort();
        for (size_t i = 0; i < d->nrcpts; i++)
            if (!d->rcpts[i].status.text || !d->rcpts[i].address)
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint8_t f0 = data[0], f1 = data[1], chunk = (uint8_t)(data[2] | 1), f3 = data[3];
    data += 4;
    size -= 4;
    fake_now = (int64_t)1000 * 1000000000;
    mox_clock ck = MOX_CLOCK_INIT;
    ck.mono_ns = fake_mono;
    mox_env env = MOX_ENV_INIT;
    env.clock = &ck;
    mox_smtp_client_auth au = MOX_SMTP_CLIENT_AUTH_INIT;
    au.start = fa_start;
    au.step = fa_step;
    au.finish = fa_finish;
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    cfg.env = &env;
    cfg.ehlo_name = "fuzz.example";
    cfg.tls_mode = f0 & 3;
    cfg.tls_server_name = "mx.example";
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
    mox_engine *g = mox_smtp_client_engine(c);
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
    int prev_cr = 0, submits = 1, eof_sent = 0, ended = 0;
    size_t off = 0, tls_at = 0;
    for (int iter = 0; iter < 100000; iter++) {
        unsigned w = mox_engine_want(g);
        if (w & MOX_WANT_WRITE) {
            const void *p;
            size_t n;
            if (mox_engine_output(g, &p, &n) != MOX_OK || n == 0)
                abort();
            if ((f3 & 8) && mox_engine_output_done(g, n + 1) != MOX_ERR_INVAL)
                abort(); /* more than handed out: refused, harmless */
            size_t k = (f3 & 1) && n > 1 ? n / 2 : n;
            check_out(p, k, &prev_cr);
            if (mox_engine_output_done(g, k) != MOX_OK)
                abort();
            continue;
        }
        if (w & MOX_WANT_TLS) {
            mox_tls_request req = MOX_TLS_REQUEST_INIT;
            if (mox_engine_tls_request(g, &req) != MOX_OK || req.role != MOX_TLS_ROLE_CLIENT ||
                !req.server_name)
                abort();
            mox_tls_info ti = MOX_TLS_INFO_INIT;
            ti.version = 0x0303;
            ti.tls_exporter = (const unsigned char *)"0123456789abcdef0123456789abcdef";
            ti.tls_exporter_len = 32;
            int ok = off + tls_at < size ? data[off + tls_at] != 0 : 1;
            tls_at++;
            if (mox_engine_tls_done(g, ok ? MOX_OK : MOX_ERR_CRYPTO, &ti) != MOX_OK)
                abort();
            if ((f3 & 8) && mox_engine_tls_done(g, MOX_OK, &ti) != MOX_ERR_STATE)
                abort(); /* a second tls_done */
            continue;
        }
        if (w & MOX_WANT_CLOSED) {
            if (!(w & MOX_WANT_DONE) || !mox_smtp_client_result(c)->closed)
                abort();
            ended = 1;
            break;
        }
        if (w & MOX_WANT_DONE) {
            check_delivery(mox_smtp_client_result(c)->delivery);
            if (submits < 3 && (f3 & 2)) {
                submits++;
                if (mox_smtp_client_submit(c, &m, NULL) != MOX_OK)
                    abort();
                /* busy, unless the engine refused every recipient locally */
                if ((mox_engine_want(g) & MOX_WANT_DONE) &&
                    !mox_smtp_client_result(c)->delivery->done)
                    abort();
            } else {
                if (mox_smtp_client_quit(c) != MOX_OK)
                    abort();
                if ((mox_engine_want(g) & MOX_WANT_DONE) && !(mox_engine_want(g) & MOX_WANT_CLOSED))
                    abort(); /* QUIT makes it busy */
            }
            continue;
        }
        if ((w & MOX_WANT_READ) && off < size) {
            if (f3 & 16) {
                /* a slow server: time passes before every read */
                fake_now += (int64_t)(data[off] & 0x3f) * 10 * 1000000000;
                if ((w & MOX_WANT_TIMER) && mox_engine_deadline(g) <= fake_now) {
                    if (mox_engine_tick(g, fake_now) != MOX_OK)
                        abort();
                    continue;
                }
            }
            size_t k = size - off < chunk ? size - off : chunk;
            int64_t t = mox_engine_feed(g, data + off, k);
            if (t != (int64_t)k)
                abort(); /* all of it, until closed (then want has no READ) */
            off += k;
            continue;
        }
        if ((f3 & 4) && (w & MOX_WANT_TIMER)) {
            int64_t d = mox_engine_deadline(g);
            if (d == MOX_NO_DEADLINE)
                abort();
            fake_now = d > fake_now ? d : fake_now;
            if (mox_engine_tick(g, fake_now) != MOX_OK)
                abort();
            continue;
        }
        if ((w & MOX_WANT_READ) && !eof_sent) {
            eof_sent = 1;
            if (mox_engine_eof(g) != MOX_OK)
                abort();
            if ((f3 & 8) && mox_engine_eof(g) != MOX_ERR_STATE)
                abort();
            continue;
        }
        abort(); /* wants nothing this loop can give */
    }
    if (!ended)
        abort();
    check_delivery(mox_smtp_client_result(c)->delivery);
    const mox_smtp_client_delivery *d = mox_smtp_client_result(c)->delivery;
    if (d && !d->done)
        abort();
    mox_smtp_client_free(c);
    return 0;
}
