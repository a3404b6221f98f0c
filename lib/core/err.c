#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core_priv.h"

const char *mox_strerror(int err)
{
    switch (err) {
    case MOX_OK: return "success";
    case MOX_ERR_NOMEM: return "out of memory";
    case MOX_ERR_INVAL: return "invalid argument";
    case MOX_ERR_SYNTAX: return "syntax error";
    case MOX_ERR_LIMIT: return "limit exceeded";
    case MOX_ERR_UTF8: return "invalid UTF-8";
    case MOX_ERR_IDNA: return "invalid domain name";
    case MOX_ERR_PRECIS: return "string refused by PRECIS profile";
    case MOX_ERR_NOTFOUND: return "not found";
    case MOX_ERR_STATE: return "invalid state for this call";
    case MOX_ERR_IO: return "I/O error";
    case MOX_ERR_TIMEOUT: return "timed out";
    case MOX_ERR_DNS: return "DNS failure";
    case MOX_ERR_UNSUPPORTED: return "not supported";
    case MOX_ERR_CRYPTO: return "cryptographic failure";
    case MOX_ERR_AGAIN: return "try again";
    case MOX_ERR_TRUNCATED: return "input truncated";
    case MOX_ERR_EXISTS: return "already exists";
    case MOX_ERR_PERM: return "refused by policy";
    }
    return "unknown error";
}

void mox_errinfo_clear(mox_errinfo *ei)
{
    if (!ei)
        return;
    ei->code = MOX_OK;
    ei->detail = 0;
    ei->offset = SIZE_MAX;
    ei->msg[0] = '\0';
}

int moxi_fail(mox_errinfo *ei, int code, int detail, size_t offset,
              const char *fmt, ...)
{
    if (ei) {
        va_list ap;
        ei->code = code;
        ei->detail = detail;
        ei->offset = offset;
        va_start(ap, fmt);
        vsnprintf(ei->msg, sizeof ei->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

char *moxi_strndup(const char *s, size_t n)
{
    char *p = mox_malloc(n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *moxi_strdup(const char *s) { return moxi_strndup(s, strlen(s)); }

int moxi_strncasecmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int ca = moxi_lower((unsigned char)a[i]);
        int cb = moxi_lower((unsigned char)b[i]);
        if (ca != cb)
            return ca - cb;
        if (ca == 0)
            return 0;
    }
    return 0;
}

int moxi_memcaseeq(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (moxi_lower(x[i]) != moxi_lower(y[i]))
            return 0;
    return 1;
}

int moxi_read_file(const char *path, mox_buf *out, mox_errinfo *ei)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return moxi_fail(ei, MOX_ERR_IO, 0, SIZE_MAX, "%s: cannot open", path);
    char tmp[65536];
    size_t n;
    int rc = MOX_OK;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        rc = mox_buf_append(out, tmp, n);
        if (rc)
            break;
    }
    if (rc == MOX_OK && ferror(f))
        rc = moxi_fail(ei, MOX_ERR_IO, 0, SIZE_MAX, "%s: read error", path);
    else if (rc == MOX_OK && !out->data)
        rc = mox_buf_reserve(out, 0);
    fclose(f);
    return rc;
}
