/* SMTP server engine: DATA ingest of a 1 MB message against memchr over
 * the same bytes, session state size, pipelined 10-recipient 4 KB
 * transactions per second. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "mox/smtp_server.h"

static mox_buf body;    /* 1 MB message, dot-stuffed, with the final ".CRLF" */
static mox_buf txn10;   /* one pipelined transaction: 10 RCPT, 4 KB */
static size_t sink;

static int on_chunk(void *u, mox_smtp_server *s, const void *p, size_t n)
{
    sink += n;
    return MOX_OK;
}

static mox_smtp_server *session(void)
{
    mox_smtp_server_config c = MOX_SMTP_SERVER_CONFIG_INIT;
    c.hostname = "mox.example";
    c.max_message_size = UINT64_MAX;
    mox_smtp_server_callbacks cb = MOX_SMTP_SERVER_CALLBACKS_INIT;
    cb.on_data_chunk = on_chunk;
    mox_smtp_server *s;
    if (mox_smtp_server_new(&s, &c, &cb, NULL, NULL) != MOX_OK)
        exit(1);
    const void *o;
    size_t n;
    mox_smtp_server_output(s, &o, &n); /* the greeting */
    mox_smtp_server_output_done(s, n);
    const char *h = "EHLO client.example\r\n";
    mox_smtp_server_feed(s, h, strlen(h));
    return s;
}

static void drain(mox_smtp_server *s)
{
    const void *o;
    size_t n;
    mox_smtp_server_output(s, &o, &n);
    mox_smtp_server_output_done(s, n);
}

static mox_smtp_server *data_s;

static int do_data(void *arg)
{
    mox_smtp_server *s = data_s;
    static const char cmd[] = "MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n";
    if (mox_smtp_server_feed(s, cmd, sizeof cmd - 1) != (int64_t)(sizeof cmd - 1))
        return 1;
    /* as it would arrive from a socket: 64 KiB reads */
    for (size_t off = 0; off < body.len;) {
        size_t k = body.len - off < 65536 ? body.len - off : 65536;
        int64_t n = mox_smtp_server_feed(s, body.data + off, k);
        if (n <= 0)
            return 1;
        off += (size_t)n;
    }
    drain(s);
    return mox_smtp_server_get_txn(s) ? 1 : 0;
}

static int do_memchr(void *arg)
{
    const unsigned char *p = body.data, *e = body.data + body.len;
    size_t lines = 0;
    for (size_t off = 0; off < body.len;) {
        size_t k = body.len - off < 65536 ? body.len - off : 65536;
        const unsigned char *q = p + off, *qe = q + k;
        while ((q = memchr(q, '\n', (size_t)(qe - q))) != NULL) {
            lines++;
            q++;
        }
        off += k;
    }
    sink += lines + (size_t)(e - p);
    return 0;
}

static mox_smtp_server *txn_s;

static int do_txn(void *arg)
{
    int64_t n = mox_smtp_server_feed(txn_s, txn10.data, txn10.len);
    drain(txn_s);
    return n == (int64_t)txn10.len ? 0 : 1;
}

/* Counting allocator for the state-size figure. */
static long live_bytes, peak_bytes;
static void *c_malloc(void *ctx, size_t n)
{
    size_t *p = malloc(n + 16);
    if (!p)
        return NULL;
    *p = n;
    live_bytes += (long)n;
    if (live_bytes > peak_bytes)
        peak_bytes = live_bytes;
    return (char *)p + 16;
}
static void c_free(void *ctx, void *q)
{
    if (!q)
        return;
    size_t *p = (size_t *)((char *)q - 16);
    live_bytes -= (long)*p;
    free(p);
}
static void *c_realloc(void *ctx, void *q, size_t n)
{
    if (!q)
        return c_malloc(ctx, n);
    size_t *p = (size_t *)((char *)q - 16);
    size_t old = *p;
    size_t *np = realloc(p, n + 16);
    if (!np)
        return NULL;
    *np = n;
    live_bytes += (long)n - (long)old;
    if (live_bytes > peak_bytes)
        peak_bytes = live_bytes;
    return (char *)np + 16;
}

int main(void)
{
    /* 1 MB of 76-character lines; every 50th starts with a dot */
    unsigned seed = 1;
    size_t line = 0;
    mox_buf_append_str(&body, "From: <a@x.example>\r\nTo: <b@y.example>\r\nSubject: bench\r\n"
                              "Message-ID: <1@x.example>\r\n\r\n");
    while (body.len < 1000000) {
        char l[80];
        for (int i = 0; i < 76; i++) {
            seed = seed * 1103515245u + 12345u;
            l[i] = (char)('!' + (seed >> 16) % 90);
        }
        if (++line % 50 == 0) {
            l[0] = '.';
            mox_buf_append_byte(&body, '.');
        }
        mox_buf_append(&body, l, 76);
        mox_buf_append(&body, "\r\n", 2);
    }
    mox_buf_append_str(&body, ".\r\n");

    mox_buf_append_str(&txn10, "MAIL FROM:<sender@x.example> BODY=8BITMIME SIZE=4096\r\n");
    for (int i = 0; i < 10; i++)
        mox_buf_appendf(&txn10, "RCPT TO:<rcpt%d@y.example>\r\n", i);
    mox_buf_append_str(&txn10, "DATA\r\nSubject: bench\r\nFrom: sender@x.example\r\n\r\n");
    while (txn10.len < 4096 + 300) {
        mox_buf_append_str(&txn10, "The quick brown fox jumps over the lazy dog, again and again.\r\n");
    }
    mox_buf_append_str(&txn10, ".\r\n");

    int rounds = mox_bench_rounds(5);
    double secs = mox_bench_seconds(0.5);
    data_s = session();
    double ours = mox_bench_run("smtp_server DATA ingest 1 MB", do_data, NULL, secs, rounds);
    double base = mox_bench_run("memchr LF scan 1 MB", do_memchr, NULL, secs, rounds);
    printf("DATA ingest: %.0f MB/s, memchr: %.0f MB/s\n", ours * (double)body.len / 1e6,
           base * (double)body.len / 1e6);
    mox_bench_ratio("DATA ingest vs memchr", ours, base);
    mox_smtp_server_free(data_s);

    txn_s = session();
    double tps = mox_bench_run("pipelined txn (10 rcpt, 4 KB)", do_txn, NULL, secs, rounds);
    printf("pipelined 10-recipient 4 KB transactions: %.0f/s\n", tps);
    mox_smtp_server_free(txn_s);

    mox_allocator a = {c_malloc, c_realloc, c_free, NULL};
    mox_set_allocator(&a);
    mox_smtp_server *s = session();
    drain(s);
    long after_ehlo = live_bytes;
    const char *t = "MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\n";
    mox_smtp_server_feed(s, t, strlen(t));
    drain(s);
    long in_txn = live_bytes;
    mox_smtp_server_free(s);
    mox_set_allocator(NULL);
    printf("session state: struct %zu bytes; heap after EHLO %ld bytes, in a 1-recipient "
           "transaction %ld bytes, peak %ld bytes\n",
           mox_smtp_server_sizeof(), after_ehlo, in_txn, peak_bytes);
    mox_buf_free(&body);
    mox_buf_free(&txn10);
    return sink == 0;
}
