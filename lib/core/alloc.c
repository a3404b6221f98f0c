#include <stdlib.h>

#include "core_priv.h"

/* The one piece of global mutable state: set before use, never after. */
static mox_allocator g_alloc;
static int g_alloc_set;

void mox_set_allocator(const mox_allocator *a)
{
    if (a && a->malloc && a->realloc && a->free) {
        g_alloc = *a;
        g_alloc_set = 1;
    } else {
        g_alloc_set = 0;
    }
}

void *mox_malloc(size_t n)
{
    if (n == 0)
        n = 1;
    return g_alloc_set ? g_alloc.malloc(g_alloc.ctx, n) : malloc(n);
}

void *mox_calloc(size_t count, size_t n)
{
    if (n && count > SIZE_MAX / n)
        return NULL;
    void *p = mox_malloc(count * n);
    if (p)
        memset(p, 0, count * n);
    return p;
}

void *mox_realloc(void *p, size_t n)
{
    if (n == 0)
        n = 1;
    return g_alloc_set ? g_alloc.realloc(g_alloc.ctx, p, n) : realloc(p, n);
}

void mox_free(void *p)
{
    if (!p)
        return;
    if (g_alloc_set)
        g_alloc.free(g_alloc.ctx, p);
    else
        free(p);
}
