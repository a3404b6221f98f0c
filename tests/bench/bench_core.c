/* Core primitives: base64 encode/decode throughput of a 64 KiB block. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "mox/core.h"

static unsigned char block[65536];
static mox_buf enc;

static int do_encode(void *arg)
{
    mox_buf *b = arg;
    mox_buf_reset(b);
    return mox_base64_encode(block, sizeof block, b);
}

static int do_decode(void *arg)
{
    mox_buf *b = arg;
    mox_buf_reset(b);
    return mox_base64_decode((const char *)enc.data, enc.len, 0, b, NULL);
}

int main(void)
{
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = (unsigned char)(i * 131 + 7);
    mox_base64_encode(block, sizeof block, &enc);
    mox_buf b = MOX_BUF_INIT;
    int rounds = mox_bench_rounds(5);
    double secs = mox_bench_seconds(0.5);
    double e = mox_bench_run("base64 encode 64KiB", do_encode, &b, secs, rounds);
    double d = mox_bench_run("base64 decode 64KiB", do_decode, &b, secs, rounds);
    printf("base64 encode: %.1f MB/s, decode: %.1f MB/s\n", e * sizeof block / 1e6,
           d * sizeof block / 1e6);
    mox_buf_free(&b);
    mox_buf_free(&enc);
    return 0;
}
