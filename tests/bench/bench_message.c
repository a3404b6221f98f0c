/* message module: header parser throughput on a large header block (one
 * feed, 4 KiB feeds, 1-byte feeds), the owned header list, the MIME walker
 * on a real nested mail, and Authentication-Results parse/compose. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "mox/core.h"
#include "mox/message.h"

static mox_buf block;   /* ~256 KiB of header fields from a real mail */
static mox_buf mail;    /* tests/data/message/outlook.eml */
static size_t nfields;
static mox_header_parser *parser;
static mox_header_config cfg = MOX_HEADER_CONFIG_INIT;

static int count_field(void *ctx, const mox_header_field *f)
{
    (void)f;
    (*(size_t *)ctx)++;
    return MOX_OK;
}

static int feed_in(size_t chunk)
{
    mox_header_parser_reset(parser);
    for (size_t pos = 0; pos < block.len; pos += chunk) {
        size_t len = block.len - pos < chunk ? block.len - pos : chunk;
        int rc = mox_header_parser_feed(parser, block.data + pos, len, NULL, NULL);
        if (rc)
            return rc;
    }
    return mox_header_parser_end(parser) == MOX_HDR_END_EMPTY_LINE &&
                   mox_header_parser_count(parser) == nfields
               ? 0
               : -1;
}

static int parse_one(void *arg) { (void)arg; return feed_in(block.len); }
static int parse_4k(void *arg) { (void)arg; return feed_in(4096); }
static int parse_1(void *arg) { (void)arg; return feed_in(1); }

static int parse_list(void *arg)
{
    (void)arg;
    mox_headers *h = NULL;
    int rc = mox_headers_parse(block.data, block.len, &cfg, &h, NULL, NULL);
    if (!rc && mox_headers_count(h) != nfields)
        rc = -1;
    mox_headers_free(h);
    return rc;
}

static int walk(void *arg)
{
    (void)arg;
    mox_mime *m = NULL;
    int rc = mox_mime_walk(mail.data, mail.len, NULL, &m, NULL);
    if (!rc && mox_mime_count(m) != 6)
        rc = -1;
    mox_mime_free(m);
    return rc;
}

static const char ar_text[] =
    " mx.google.com;\r\n       dkim=pass header.i=@example.com header.s=20161025 header.b=aB+/c=;\r\n"
    "       spf=pass (google.com: domain of x@y.com designates 1.2.3.4 as permitted sender) "
    "smtp.mailfrom=x@y.com;\r\n       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com";

static int ar_roundtrip(void *arg)
{
    mox_buf *b = arg;
    mox_authres *ar = NULL;
    int rc = mox_authres_parse(ar_text, sizeof ar_text - 1, &ar, NULL);
    mox_buf_reset(b);
    if (!rc)
        rc = mox_authres_compose(ar, b);
    mox_authres_free(ar);
    return rc;
}

int main(void)
{
    const char *path = MOX_BENCH_DATA "/message/outlook.eml";
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    char tmp[65536];
    size_t r;
    while ((r = fread(tmp, 1, sizeof tmp, f)) > 0)
        mox_buf_append(&mail, tmp, r);
    fclose(f);
    /* The header section of the real mail, repeated to ~256 KiB. */
    const char *sep = strstr((const char *)mail.data, "\r\n\r\n");
    size_t hlen = (size_t)(sep - (const char *)mail.data) + 2;
    mox_header_parser *p;
    mox_header_parser_new(&p, NULL, count_field, &nfields);
    mox_header_parser_feed(p, mail.data, mail.len, NULL, NULL);
    size_t per = mox_header_parser_count(p);
    mox_header_parser_free(p);
    size_t reps = 0;
    while (block.len + hlen < 256 * 1024) {
        mox_buf_append(&block, mail.data, hlen);
        reps++;
    }
    mox_buf_append(&block, "\r\n", 2);
    nfields = per * reps;
    cfg.max_header_size = 0;
    cfg.max_fields = 0;
    if (mox_header_parser_new(&parser, &cfg, NULL, NULL))
        return 1;

    int rounds = mox_bench_rounds(5);
    double secs = mox_bench_seconds(0.5);
    printf("header block: %zu bytes, %zu fields\n", block.len, nfields);
    double a = mox_bench_run("header parser, one feed", parse_one, NULL, secs, rounds);
    double b4 = mox_bench_run("header parser, 4 KiB feeds", parse_4k, NULL, secs, rounds);
    double b1 = mox_bench_run("header parser, 1-byte feeds", parse_1, NULL, secs, rounds);
    double l = mox_bench_run("mox_headers_parse (owned list)", parse_list, NULL, secs, rounds);
    printf("header parser: %.0f MB/s one feed, %.0f MB/s 4 KiB feeds, %.0f MB/s 1-byte feeds, "
           "%.0f MB/s owned list; %.1f M fields/s\n",
           a * block.len / 1e6, b4 * block.len / 1e6, b1 * block.len / 1e6, l * block.len / 1e6,
           a * nfields / 1e6);
    double w = mox_bench_run("mime walk outlook.eml (6 parts)", walk, NULL, secs, rounds);
    printf("mime walk: %.0f messages/s, %.0f MB/s\n", w, w * mail.len / 1e6);
    mox_buf out = MOX_BUF_INIT;
    double ar = mox_bench_run("authres parse+compose (3 results)", ar_roundtrip, &out, secs, rounds);
    printf("authres: %.0f parse+compose/s\n", ar);
    mox_buf_free(&out);
    mox_header_parser_free(parser);
    mox_buf_free(&block);
    mox_buf_free(&mail);
    return 0;
}
