/*
 * libmox iprev (RFC 8601 §3): is the client's reverse DNS name confirmed by
 * forward DNS? A PTR lookup of the client address, then A (IPv4) or AAAA
 * (IPv6) lookups of the names found, until one of them holds the address.
 * No I/O: the same step API as SPF and DMARC, with a blocking wrapper.
 *
 * Results (RFC 8601 §2.7.3): pass (a name confirmed), fail (names found but
 * none confirms, or their forward lookups gave nothing), temperror (a DNS
 * failure prevented an answer), permerror (no PTR data: NXDOMAIN or no
 * record).
 *
 * Threading: objects are not thread-safe; distinct objects are independent.
 */
#ifndef MOX_IPREV_H
#define MOX_IPREV_H

#include "core.h"
#include "dns.h"
#include "message.h"

MOX_BEGIN_DECLS

typedef enum mox_iprev_result {
    MOX_IPREV_PASS = 1,
    MOX_IPREV_FAIL = 2,
    MOX_IPREV_TEMPERROR = 3,
    MOX_IPREV_PERMERROR = 4
} mox_iprev_result;

/* "pass", "fail", "temperror", "permerror"; "?" otherwise. Static. */
MOX_API const char *mox_iprev_result_name(int result);

/* Configuration; MOX_IPREV_CONFIG_INIT. */
typedef struct mox_iprev_config {
    size_t size;          /* sizeof(mox_iprev_config) */
    unsigned max_names;   /* PTR names examined, the rest ignored: 10 */
} mox_iprev_config;

#define MOX_IPREV_CONFIG_INIT { sizeof(mox_iprev_config), 10 }

typedef struct mox_iprev mox_iprev;

/* Creates a check for the client address `ip` (text; an IPv4-mapped IPv6
 * address is checked as IPv4). `cfg` may be NULL. MOX_ERR_INVAL (with ei)
 * for an address that does not parse, MOX_ERR_NOMEM. */
MOX_API int mox_iprev_new(mox_iprev **out, const mox_iprev_config *cfg, const char *ip,
                          mox_errinfo *ei);
MOX_API void mox_iprev_free(mox_iprev *c);

enum { MOX_IPREV_DONE = 0, MOX_IPREV_NEED_DNS = 1 };

/* MOX_IPREV_NEED_DNS with the question (*name valid until the next
 * feed/free), MOX_IPREV_DONE, or MOX_ERR_NOMEM. Repeats the question until
 * it is answered. */
MOX_API int mox_iprev_step(mox_iprev *c, const char **name, uint16_t *type);

/* The answer to the pending question (the caller keeps it). MOX_ERR_STATE
 * when nothing is pending, MOX_ERR_INVAL for a different qtype,
 * MOX_ERR_NOMEM. */
MOX_API int mox_iprev_feed(mox_iprev *c, const mox_dns_answer *ans);

/* Blocking: loops over `r`; a query the resolver refuses is a temporary
 * failure. MOX_OK or MOX_ERR_NOMEM. */
MOX_API int mox_iprev_run(mox_iprev *c, const mox_resolver *r);

/* Outcome; strings owned by the check. */
typedef struct mox_iprev_outcome {
    int result;          /* mox_iprev_result */
    const char *ip;      /* the address as checked (canonical text) */
    const char *name;    /* the confirmed name (pass), else NULL */
    size_t nnames;       /* PTR names found (up to max_names) */
    const char *const *names;
    int authentic;       /* every answer used was DNSSEC-authentic */
    const char *reason;  /* one line of English */
} mox_iprev_outcome;

/* NULL while not finished. */
MOX_API const mox_iprev_outcome *mox_iprev_get(const mox_iprev *c);

/* Appends "iprev=pass policy.iprev=192.0.2.1 (mail.example.org)" to an
 * Authentication-Results model. MOX_ERR_STATE when not finished. */
MOX_API int mox_iprev_authres(const mox_iprev *c, mox_authres *ar);

MOX_END_DECLS

#endif
