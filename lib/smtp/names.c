/* HELO/EHLO names and address literals (RFC 5321 §4.1.3). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "address/address_priv.h"
#include "mox/address.h"
#include "mox/text.h"
#include "smtp_priv.h"

int mox_smtp_hello_valid(const char *name, size_t n, int *is_literal)
{
    if (is_literal)
        *is_literal = 0;
    if (!name || n == 0)
        return 0;
    if (n >= 2 && name[0] == '[' && name[n - 1] == ']') {
        if (is_literal)
            *is_literal = 1;
        /* the one address literal parser, shared with addresses */
        return moxi_address_literal_check(name + 1, n - 2, 1, NULL) == MOX_OK;
    }
    mox_domain d = {NULL, NULL};
    int rc = mox_domain_parse(name, n, MOX_DOMAIN_TRAILING_DOT, &d, NULL);
    mox_domain_clear(&d);
    if (rc == MOX_ERR_NOMEM)
        return MOX_ERR_NOMEM;
    return rc == MOX_OK;
}

int mox_smtp_address_literal(const char *ip, char *out, size_t cap)
{
    unsigned char a[16];
    if (!ip || !out)
        return MOX_ERR_SYNTAX;
    int n;
    if (inet_pton(AF_INET, ip, a) == 1)
        n = snprintf(out, cap, "[%s]", ip);
    else if (inet_pton(AF_INET6, ip, a) == 1)
        n = snprintf(out, cap, "[IPv6:%s]", ip);
    else
        return MOX_ERR_SYNTAX;
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            out[0] = 0;
        return MOX_ERR_LIMIT;
    }
    return n;
}
