/* Fuzz harness for the SMTP server engine. Byte 0 picks the configuration
 * (mode, pedantic, STARTTLS, AUTH, small limits), bytes 1-2 seed the
 * splits and deferrals; the rest is what the client sends, as separate
 * writes at each "\x00\xff" marker (a STARTTLS handshake happens at a
 * marker when one is due). The session is run four times through the
 * engine contract: whole writes with immediate decisions; random splits
 * with random deferral; random splits with every decision deferred; and
 * byte by byte with every decision deferred and taken inside its
 * callback. The outputs must be identical and consist of well-formed
 * reply lines, and the session must end with a result. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/smtp_server/harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void setup(th *t, uint8_t f)
{
    th_init(t);
    t->cfg.mode = (f & 1) ? MOX_SMTP_SERVER_SUBMISSION : MOX_SMTP_SERVER_DELIVERY;
    t->cfg.pedantic = (f >> 1) & 1;
    t->cfg.tls_available = (f >> 2) & 1;
    if ((f >> 3) & 1) {
        t->cfg.auth_mechs = 0x1fe;
        t->cfg.auth_creds = &t->creds;
        t->cfg.allow_plain_auth_without_tls = 1;
        t->cfg.max_hold_seconds = 3600;
    }
    if ((f >> 4) & 1) {
        t->cfg.max_line = 64;
        t->cfg.max_auth_line = 80;
        t->cfg.max_pending = 100;
        t->cfg.max_message_size = 200;
        t->cfg.max_rcpts = 3;
        t->cfg.max_errors = 6;
        t->cfg.max_auth_failures = 2;
    }
    t->defer_lookup = (f >> 5) & 1;
    t->auto_tls = 1 + ((f >> 6) & 1);
    if (f >> 7)
        t->cfg.extensions_off = MOX_SMTP_SERVER_EXT_DEFAULT & ~0x55u;
}

static void run(const uint8_t *d, size_t n, uint8_t f, uint64_t seed, int split, int defer,
                mox_buf *out)
{
    th t;
    setup(&t, f);
    t.defer_mode = defer;
    t.rng = seed | 1;
    if (th_start(&t) != MOX_OK)
        abort();
    size_t st = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || (i + 1 < n && d[i] == 0 && d[i + 1] == 0xff)) {
            if (th_feed(&t, d + st, i - st, split) != MOX_OK)
                abort();
            st = i + 2;
            i++;
        }
    }
    if (mox_smtp_server_eof(t.s) != MOX_OK)
        abort();
    th_resolve(&t);
    th_drain(&t);
    unsigned w = mox_smtp_server_want(t.s);
    if (!(w & MOX_WANT_CLOSED) || !(w & MOX_WANT_DONE) || (w & MOX_WANT_READ) ||
        mox_smtp_server_result(t.s)->end == MOX_SMTP_SERVER_END_NONE || t.oom)
        abort();
    mox_buf_append(out, t.out.data ? t.out.data : (const unsigned char *)"", t.out.len);
    th_free(&t);
}

/* Every reply line: 3 digits, '-' or ' ', text, CRLF, at most 512 bytes,
 * no control characters. */
static void check_replies(const mox_buf *b)
{
    if (getenv("SMTPD_FUZZ_DEBUG"))
        fprintf(stderr, "--- output\n%.*s", (int)b->len, b->data ? (const char *)b->data : "");
    size_t i = 0;
    while (i < b->len) {
        const unsigned char *l = b->data + i;
        const unsigned char *e = memchr(l, '\n', b->len - i);
        if (!e)
            abort();
        size_t len = (size_t)(e - l) + 1;
        if (len < 6 || len > 512 || l[len - 2] != '\r')
            abort();
        for (int k = 0; k < 3; k++)
            if (l[k] < '0' || l[k] > '9')
                abort();
        if (l[3] != ' ' && l[3] != '-')
            abort();
        for (size_t k = 4; k < len - 2; k++)
            if (l[k] < 0x20 || l[k] == 0x7f)
                abort();
        i += len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3 || size > 65536)
        return 0;
    uint8_t f = data[0];
    uint64_t seed = (uint64_t)data[1] << 8 | data[2];
    static const struct {
        int split, defer;
    } modes[] = {{0, 0}, {-1, 2}, {-1, 1}, {1, 3}};
    mox_buf a = MOX_BUF_INIT;
    run(data + 3, size - 3, f, seed, modes[0].split, modes[0].defer, &a);
    check_replies(&a);
    /* byte by byte is slow: only for short inputs */
    size_t nmodes = size < 4096 ? 4 : 3;
    for (size_t m = 1; m < nmodes; m++) {
        mox_buf b = MOX_BUF_INIT;
        run(data + 3, size - 3, f, seed * 0x9e3779b97f4a7c15ull + m, modes[m].split,
            modes[m].defer, &b);
        if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0)) {
            if (getenv("SMTPD_FUZZ_DEBUG"))
                fprintf(stderr, "--- whole\n%.*s--- mode %zu\n%.*s", (int)a.len, (char *)a.data,
                        m, (int)b.len, (char *)b.data);
            abort();
        }
        mox_buf_free(&b);
    }
    mox_buf_free(&a);
    return 0;
}
