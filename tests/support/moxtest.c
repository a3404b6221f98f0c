#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moxtest.h"

const char *moxtest_data_path(const char *rel)
{
    static char path[4096];
    const char *base = getenv("MOX_TEST_DATA");
    if (!base)
        base = "tests/data";
    snprintf(path, sizeof path, "%s/%s", base, rel);
    return path;
}

void moxtest_read_data(const char *rel, mox_buf *out)
{
    const char *p = moxtest_data_path(rel);
    FILE *f = fopen(p, "rb");
    if (!f)
        fail_msg("cannot open test data %s", p);
    char tmp[8192];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        assert_int_equal(mox_buf_append(out, tmp, n), MOX_OK);
    fclose(f);
    if (!out->data)
        assert_int_equal(mox_buf_reserve(out, 0), MOX_OK);
}

/* Each block carries a header so realloc/free can track live blocks. */
static unsigned long fail_at, count;
static long live;
static int failed;

struct hdr {
    size_t n;
    size_t magic;
    max_align_t align_[];
};
#define MAGIC ((size_t)0x6d6f78a110c8ULL)

static void *t_malloc(void *ctx, size_t n)
{
    (void)ctx;
    count++;
    if (fail_at && count == fail_at) {
        failed = 1;
        return NULL;
    }
    struct hdr *h = malloc(sizeof *h + n);
    if (!h)
        return NULL;
    h->n = n;
    h->magic = MAGIC;
    live++;
    return h + 1;
}

static void t_free(void *ctx, void *p)
{
    (void)ctx;
    if (!p)
        return;
    struct hdr *h = (struct hdr *)p - 1;
    if (h->magic != MAGIC)
        fail_msg("mox_free of a block not from mox_malloc");
    h->magic = 0;
    live--;
    free(h);
}

static void *t_realloc(void *ctx, void *p, size_t n)
{
    if (!p)
        return t_malloc(ctx, n);
    count++;
    if (fail_at && count == fail_at) {
        failed = 1;
        return NULL;
    }
    struct hdr *h = (struct hdr *)p - 1;
    if (h->magic != MAGIC)
        fail_msg("mox_realloc of a block not from mox_malloc");
    struct hdr *nh = realloc(h, sizeof *nh + n);
    if (!nh)
        return NULL;
    nh->n = n;
    return nh + 1;
}

void moxtest_alloc_install(void)
{
    static const mox_allocator a = {t_malloc, t_realloc, t_free, NULL};
    mox_set_allocator(&a);
}

void moxtest_alloc_fail_at(unsigned long k)
{
    fail_at = k;
    count = 0;
    failed = 0;
}

unsigned long moxtest_alloc_count(void) { return count; }
long moxtest_alloc_live(void) { return live; }
int moxtest_alloc_failed(void) { return failed; }

unsigned long moxtest_alloc_sweep(int (*fn)(void *), void *arg, const char *what)
{
    moxtest_alloc_install();
    long base = live;
    moxtest_alloc_fail_at(0);
    int want = fn(arg);
    unsigned long n = count;
    if (live != base)
        fail_msg("%s: leaked %ld blocks without failure injection", what, live - base);
    for (unsigned long k = 1; k <= n; k++) {
        moxtest_alloc_fail_at(k);
        int rc = fn(arg);
        if (live != base)
            fail_msg("%s: leaked %ld blocks when allocation %lu failed", what, live - base, k);
        if (rc != MOX_ERR_NOMEM && rc != want)
            fail_msg("%s: allocation %lu failed: got %d (%s), want %d or NOMEM", what, k, rc,
                     mox_strerror(rc), want);
        if (!failed)
            fail_msg("%s: allocation %lu never happened on the second run", what, k);
    }
    moxtest_alloc_fail_at(0);
    return n;
}
