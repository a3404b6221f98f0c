/*
 * libmox iprev (RFC 8601 §3): is the client's reverse DNS name confirmed by
 * forward DNS? A PTR lookup of the client address, then A (IPv4) or AAAA
 * (IPv6) lookups of the names found, until one of them holds the address.
 *
 * An engine of the one contract (include/mox/engine.h) with the groups
 * want, query/answer and result: the PTR question is ready when
 * mox_iprev_new returns; once it is answered, the forward question of
 * every PTR name (at most max_names) is handed out at once, so an
 * asynchronous resolver runs them in parallel. Their answers may come in
 * any order; they are used in PTR order, so the outcome (the confirmed
 * name, the authentic flag) is the one a sequential check gives.
 * Blocking: mox_engine_run(mox_iprev_engine(c), &io, ei), or
 * mox_iprev_check.
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
#include "engine.h"
#include "message.h"

MOX_BEGIN_DECLS

/* mox_iprev_outcome.result */
typedef enum mox_iprev_verdict {
    MOX_IPREV_PASS = 1,
    MOX_IPREV_FAIL = 2,
    MOX_IPREV_TEMPERROR = 3,
    MOX_IPREV_PERMERROR = 4
} mox_iprev_verdict;

/* "pass", "fail", "temperror", "permerror"; "?" otherwise. Static. */
MOX_API const char *mox_iprev_result_name(int result);

/* Configuration; MOX_IPREV_CONFIG_INIT. A zeroed config (size set) is the
 * defaults. */
typedef struct mox_iprev_config {
    size_t size;          /* sizeof(mox_iprev_config) */
    unsigned max_names;   /* PTR names examined, the rest ignored: 0 means
                             10 (the limit RFC 7208 §4.6.4 sets for the
                             same lookups; RFC 8601 §3 leaves it open) */
} mox_iprev_config;

#define MOX_IPREV_CONFIG_INIT { sizeof(mox_iprev_config), 10 }

typedef struct mox_iprev mox_iprev;

/* Creates a check for the client address `ip` (text; an IPv4-mapped IPv6
 * address is checked as IPv4). `cfg` may be NULL (defaults) and is read
 * up to its size. The PTR question is ready when it returns. Errors, with
 * `ei` filled: MOX_ERR_INVAL (NULL out or ip, an address that does not
 * parse), MOX_ERR_NOMEM. */
MOX_API int mox_iprev_new(mox_iprev **out, const mox_iprev_config *cfg, const char *ip,
                          mox_errinfo *ei);
/* NULL-safe. Questions handed out become invalid. */
MOX_API void mox_iprev_free(mox_iprev *c);

/* MOX_WANT_QUERY, MOX_WANT_ANSWER (questions handed out unanswered),
 * MOX_WANT_DONE (the result is valid; nothing else is wanted then). 0 for
 * NULL and after an allocation failure. */
MOX_API unsigned mox_iprev_want(const mox_iprev *c);

/* The next question not handed out yet (MOX_QUERY_DNS: the PTR of the
 * reverse name, then A or AAAA of each name), strings owned by `c` until
 * answered or freed. MOX_ERR_AGAIN when none; MOX_ERR_INVAL for NULL. */
MOX_API int mox_iprev_query(mox_iprev *c, mox_query *q);

/* The answer to a question handed out (a->id; any order; only read). Any
 * DNS status is a fact the check evaluates. An answer no longer needed
 * (the check was decided) is accepted and ignored. Errors, recorded for
 * mox_engine_error, the check unchanged: MOX_ERR_INVAL (NULL, not DNS, a
 * type other than the question's), MOX_ERR_NOTFOUND (unknown id),
 * MOX_ERR_STATE (answered already, not handed out, or the check failed
 * earlier); MOX_ERR_NOMEM (the check is then unusable). */
MOX_API int mox_iprev_answer(mox_iprev *c, const mox_answer *a);

/* The generic view, part of `c`. NULL for NULL. */
MOX_API mox_engine *mox_iprev_engine(mox_iprev *c);

/* Convenience: mox_iprev_new, then mox_engine_run over `r` (a query the
 * resolver cannot start counts as a temporary DNS failure). On MOX_OK
 * *out is the finished check (mox_iprev_result; free it). Errors, with
 * `ei`: those of mox_iprev_new and mox_engine_run, MOX_ERR_INVAL for NULL
 * out or r. */
MOX_API int mox_iprev_check(mox_iprev **out, const mox_iprev_config *cfg,
                            const mox_resolver *r, const char *ip, mox_errinfo *ei);

/* Outcome; strings owned by the check. */
typedef struct mox_iprev_outcome {
    int result;          /* mox_iprev_verdict */
    const char *ip;      /* the address as checked (canonical text) */
    const char *name;    /* the confirmed name (pass), else NULL */
    size_t nnames;       /* PTR names found (up to max_names) */
    const char *const *names;
    int authentic;       /* every answer used was DNSSEC-authentic */
    const char *reason;  /* one line of English */
} mox_iprev_outcome;

/* The outcome once MOX_WANT_DONE is set, else NULL. Owned by `c`. */
MOX_API const mox_iprev_outcome *mox_iprev_result(const mox_iprev *c);

/* Appends "iprev=pass policy.iprev=192.0.2.1 (mail.example.org)" to an
 * Authentication-Results model. MOX_ERR_STATE when not finished. */
MOX_API int mox_iprev_authres(const mox_iprev *c, mox_authres *ar);

MOX_END_DECLS

#endif
