/* Private interface between the zone store and the master-file loader. */
#ifndef MOX_DNS_ZONE_PRIV_H
#define MOX_DNS_ZONE_PRIV_H

#include "dns_priv.h"

/* Adds a record: `name` is the owner in canonical presentation form (no
 * trailing dot, case preserved), `rd` compact RDATA. Duplicates are
 * ignored. */
int moxi_dns_zone_add_compact(mox_dns_zone *z, const char *name, size_t n,
                              uint16_t type, uint32_t ttl,
                              const unsigned char *rd, size_t rdlen);

/* Marks a canonical name: MOX_DNS_SERVFAIL, MOX_DNS_TIMEOUT, or 0 for
 * authentic. */
int moxi_dns_zone_mark(mox_dns_zone *z, const char *name, size_t n, int what);

/* Canonical presentation form (no trailing dot) of a caller-supplied
 * absolute name into out[MOXI_DNS_TEXT_MAX]. MOX_ERR_SYNTAX if invalid. */
int moxi_dns_canon_name(const char *s, size_t n, char *out, size_t *outlen);

/* Calls fn for every name the zone knows (with records, empty
 * non-terminals, marked names), in no particular order; stops at the
 * first non-zero return and passes it on. For tests and fuzzing. */
int moxi_dns_zone_foreach(const mox_dns_zone *z,
                          int (*fn)(void *ctx, const char *name, size_t n), void *ctx);

#endif
