#include <stdarg.h>
#include <stdio.h>

#include "core_priv.h"

void mox_buf_init(mox_buf *b)
{
    if (!b)
        return;
    b->data = NULL;
    b->len = b->cap = 0;
}

void mox_buf_free(mox_buf *b)
{
    if (!b)
        return;
    mox_free(b->data);
    mox_buf_init(b);
}

void mox_buf_reset(mox_buf *b)
{
    if (!b)
        return;
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

int mox_buf_reserve(mox_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - 1 - b->len)
        return MOX_ERR_LIMIT;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return MOX_OK;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
            ncap = need;
            break;
        }
        ncap *= 2;
    }
    unsigned char *p = mox_realloc(b->data, ncap);
    if (!p)
        return MOX_ERR_NOMEM;
    if (!b->data)
        p[0] = 0;
    b->data = p;
    b->cap = ncap;
    return MOX_OK;
}

int mox_buf_append(mox_buf *b, const void *p, size_t n)
{
    int rc = mox_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return MOX_OK;
}

int mox_buf_append_str(mox_buf *b, const char *s) { return mox_buf_append(b, s, strlen(s)); }

int mox_buf_append_byte(mox_buf *b, unsigned char c) { return mox_buf_append(b, &c, 1); }

int mox_buf_vappendf(mox_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return MOX_ERR_INVAL;
    if ((size_t)n < sizeof tmp)
        return mox_buf_append(b, tmp, (size_t)n);
    int rc = mox_buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return MOX_OK;
}

int mox_buf_appendf(mox_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = mox_buf_vappendf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void mox_buf_consume(mox_buf *b, size_t n)
{
    if (n >= b->len) {
        mox_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = 0;
}

char *mox_buf_steal(mox_buf *b, size_t *len)
{
    if (!b->data && mox_buf_reserve(b, 0))
        return NULL;
    char *p = (char *)b->data;
    if (len)
        *len = b->len;
    mox_buf_init(b);
    return p;
}
