/* Private side of the smtp vocabulary module. Not installed. */
#ifndef MOX_SMTP_PRIV_H
#define MOX_SMTP_PRIV_H

#include "core/core_priv.h"
#include "mox/smtp.h"

/* Case-insensitive comparison of p[0..n) with the NUL-terminated `lit`. */
static inline int moxi_smtp_word_eq(const char *p, size_t n, const char *lit)
{
    return strlen(lit) == n && moxi_memcaseeq(p, lit, n);
}

#endif
