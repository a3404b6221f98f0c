/*
 * libmox DMARC: RFC 9989 (DMARC, May 2026) with an RFC 7489 compatibility
 * mode, without I/O.
 *
 *  - Policy records: a parser for every RFC 9989 tag (v p sp np psd t adkim
 *    aspf rua ruf fo), the removed RFC 7489 tags (pct rf ri) parsed and
 *    reported, unknown tags ignored; precise errors for what is not a DMARC
 *    record, and a list of the problems RFC 9989 says to tolerate.
 *  - The Author Domain: extraction from the header section, refusing every
 *    ambiguous shape (no From, several From fields, several addresses, a
 *    group, no domain) with a distinct status.
 *  - An evaluator (mox_dmarc) that takes the SPF outcome and the DKIM
 *    outcomes as plain values (result + domain), discovers the policy with
 *    the RFC 9989 DNS Tree Walk (or, in RFC 7489 mode, the public suffix
 *    list), checks identifier alignment (strict/relaxed, each identifier's
 *    Organizational Domain found by its own tree walk), and gives the result,
 *    the policy and the disposition with the reason. An engine of the one
 *    contract (include/mox/engine.h: want, query/answer, result), driven
 *    from an event loop or blocking with mox_engine_run.
 *  - External report destination verification (RFC 9990 §3 / RFC 7489
 *    §7.1), also an engine.
 *  - The "dmarc=" Authentication-Results entry.
 *
 * The module never depends on the SPF or DKIM modules: mox/msgauth.h runs
 * all three on a message.
 *
 * Threading: objects are not thread-safe; distinct objects are
 * independent. A mox_dmarc_psl may be shared by any number of evaluations
 * and threads once created (it is read-only).
 */
#ifndef MOX_DMARC_H
#define MOX_DMARC_H

#include "core.h"
#include "dns.h"
#include "engine.h"
#include "message.h"
#include "text.h"

MOX_BEGIN_DECLS

/* ------------------------------------------------------------ records */

/* Policies (p=, sp=, np=) and dispositions. */
typedef enum mox_dmarc_policy {
    MOX_DMARC_POLICY_UNSPECIFIED = -1, /* tag absent / no policy applies */
    MOX_DMARC_POLICY_NONE = 0,
    MOX_DMARC_POLICY_QUARANTINE = 1,
    MOX_DMARC_POLICY_REJECT = 2
} mox_dmarc_policy;

/* "none", "quarantine", "reject"; "unspecified" for -1; "?" otherwise. */
MOX_API const char *mox_dmarc_policy_name(int policy);

/* psd= values. */
enum { MOX_DMARC_PSD_U = 0, MOX_DMARC_PSD_Y = 1, MOX_DMARC_PSD_N = 2 };

/* Failure-report options (fo=), bits. */
#define MOX_DMARC_FO_0 0x1u
#define MOX_DMARC_FO_1 0x2u
#define MOX_DMARC_FO_D 0x4u
#define MOX_DMARC_FO_S 0x8u

/* One reporting URI of rua= / ruf=. */
typedef struct mox_dmarc_uri {
    const char *uri;        /* the URI without the size suffix */
    uint64_t max_size;      /* obsolete "!size" suffix in bytes, 0: none */
    int is_mailto;          /* scheme is mailto (case-insensitive) */
    const char *address;    /* mailto: the addr-spec (percent-decoded),
                               else NULL */
    const char *domain;     /* mailto: its domain, lowercase, else NULL */
} mox_dmarc_uri;

/* Problems tolerated in a record (mox_dmarc_record.problems bits). RFC 9989
 * §4.8: syntax errors after v= fall back to defaults or are ignored. */
#define MOX_DMARC_PROB_P 0x1u          /* p= absent */
#define MOX_DMARC_PROB_P_INVALID 0x2u  /* p= with an invalid value */
#define MOX_DMARC_PROB_SP 0x4u         /* sp= invalid */
#define MOX_DMARC_PROB_NP 0x8u         /* np= invalid */
#define MOX_DMARC_PROB_ALIGN 0x10u     /* adkim= / aspf= invalid */
#define MOX_DMARC_PROB_PSD 0x20u       /* psd= invalid */
#define MOX_DMARC_PROB_T 0x40u         /* t= invalid */
#define MOX_DMARC_PROB_URI 0x80u       /* a rua/ruf URI is invalid (dropped) */
#define MOX_DMARC_PROB_FO 0x100u       /* fo= invalid */
#define MOX_DMARC_PROB_REMOVED 0x200u  /* pct/rf/ri present (RFC 7489 only) */
#define MOX_DMARC_PROB_PCT 0x400u      /* pct= invalid */
#define MOX_DMARC_PROB_DUPLICATE 0x800u /* a tag appears twice (first kept) */
#define MOX_DMARC_PROB_TAG 0x1000u     /* a malformed tag=value (skipped) */
#define MOX_DMARC_PROB_SIZE 0x2000u    /* a URI has the obsolete !size */

/* A parsed policy record. Allocated by the parser; read-only; strings are
 * NUL-terminated and owned by the record. */
typedef struct mox_dmarc_record {
    int p;                  /* MOX_DMARC_POLICY_*, UNSPECIFIED if absent
                               or invalid */
    int sp;                 /* UNSPECIFIED when absent or invalid */
    int np;                 /* UNSPECIFIED when absent or invalid */
    int psd;                /* MOX_DMARC_PSD_* (u when absent/invalid) */
    int testing;            /* t=y */
    int adkim_strict;       /* adkim=s */
    int aspf_strict;        /* aspf=s */
    unsigned fo;            /* MOX_DMARC_FO_* (FO_0 when absent) */
    size_t nrua, nruf;
    const mox_dmarc_uri *rua;
    const mox_dmarc_uri *ruf;
    int pct;                /* RFC 7489 pct= 0..100; -1 when absent */
    const char *rf;         /* RFC 7489 rf= as written, or NULL */
    long ri;                /* RFC 7489 ri= seconds, -1 when absent */
    unsigned problems;      /* MOX_DMARC_PROB_* */
    const char *problem;    /* first problem as text, or NULL */
} mox_dmarc_record;

/* Detail codes (ei->detail) of MOX_ERR_SYNTAX from the record parser. The
 * first three make the text "not a DMARC record" (the selection rule of
 * RFC 9989 §4.7: ignore it); the rest come only with MOX_DMARC_PARSE_STRICT. */
enum {
    MOX_DMARC_ERR_VERSION = 1,   /* does not start with v=DMARC1 */
    MOX_DMARC_ERR_CHAR,          /* byte outside printable ASCII / WSP */
    MOX_DMARC_ERR_SEPARATOR,     /* v=DMARC1 not followed by ';' or the end */
    MOX_DMARC_ERR_TAG,           /* strict: malformed tag=value */
    MOX_DMARC_ERR_VALUE,         /* strict: a known tag with a bad value */
    MOX_DMARC_ERR_DUPLICATE,     /* strict: a tag twice */
    MOX_DMARC_ERR_URI,           /* strict: bad rua/ruf URI */
    MOX_DMARC_ERR_REMOVED        /* strict: pct/rf/ri (not in RFC 9989) */
};

/* Parser flags. */
#define MOX_DMARC_PARSE_STRICT 0x1u /* every problem is an error (for
                                       tools checking a record before
                                       publishing it) */

/* Parses one record (the concatenated strings of one TXT record). `txt`
 * need not be NUL-terminated and is copied. Lenient by default as RFC 9989
 * requires: only "v=DMARC1" first (case-sensitive value, *WSP around '=')
 * followed by ';' or the end is mandatory; other defects become defaults
 * and are reported in ->problems. Returns MOX_OK with *out (free with
 * mox_dmarc_record_free); MOX_ERR_SYNTAX with ei->detail MOX_DMARC_ERR_*
 * and ei->offset; MOX_ERR_LIMIT above 65535 bytes; MOX_ERR_NOMEM. */
MOX_API int mox_dmarc_record_parse(const char *txt, size_t len, unsigned flags,
                                   mox_dmarc_record **out, mox_errinfo *ei);
MOX_API void mox_dmarc_record_free(mox_dmarc_record *r);

/* 1 when `txt` starts with "v" *WSP "=" *WSP "DMARC1" followed by *WSP and
 * ';' or the end: the record selection rule. */
MOX_API int mox_dmarc_is_record(const char *txt, size_t len);

/* Appends a normalised rendering: "v=DMARC1; p=reject; ..." with every
 * tag that was given (defaults omitted). */
MOX_API int mox_dmarc_record_format(const mox_dmarc_record *r, mox_buf *out);

/* ------------------------------------------------------------ From */

/* Why the Author Domain could (not) be determined. Anything but OK is a
 * message DMARC cannot evaluate; the evaluator then ends with permerror
 * and the configured disposition (reject by default), never pass. */
typedef enum mox_dmarc_from {
    MOX_DMARC_FROM_OK = 0,
    MOX_DMARC_FROM_MISSING,        /* no From header field */
    MOX_DMARC_FROM_MULTIPLE,       /* more than one From header field */
    MOX_DMARC_FROM_SYNTAX,         /* the From value does not parse */
    MOX_DMARC_FROM_MULTIPLE_ADDR,  /* more than one address (or a group) */
    MOX_DMARC_FROM_NO_ADDRESS,     /* no address (an empty group) */
    MOX_DMARC_FROM_NO_DOMAIN,      /* address without a usable domain (an
                                      address literal, a bad name) */
    MOX_DMARC_FROM_HEADER          /* the header section itself is malformed */
} mox_dmarc_from;

/* Short English text for a status ("several From header fields"). */
MOX_API const char *mox_dmarc_from_name(int status);

/* Extracts the Author Domain from a header section (or a whole message:
 * parsing stops at the end of the header). The header section is parsed
 * leniently about line endings (bare LF accepted) but every From field is
 * counted, whatever the case of its name or whitespace before the colon.
 * Internationalised addresses (RFC 6532) are accepted; the domain is
 * returned in A-label form. Returns MOX_OK with *status set; on
 * MOX_DMARC_FROM_OK `domain` (caller-zeroed) holds the domain, release with
 * mox_domain_clear. MOX_ERR_NOMEM; MOX_ERR_INVAL. */
MOX_API int mox_dmarc_author_domain(const void *header, size_t len, int *status,
                                    mox_domain *domain);

/* ------------------------------------------------------------ PSL */

/* A public suffix list for the RFC 7489 mode (libpsl, ICANN section). */
typedef struct mox_dmarc_psl mox_dmarc_psl;

/* Loads `path` (public_suffix_list.dat or libpsl's DAFSA), or, when NULL,
 * the list built into libpsl, else the system one (/usr/share/publicsuffix).
 * MOX_ERR_IO when nothing can be loaded, MOX_ERR_NOMEM. */
MOX_API int mox_dmarc_psl_new(mox_dmarc_psl **out, const char *path);
MOX_API void mox_dmarc_psl_free(mox_dmarc_psl *p);

/* RFC 7489 §3.2 Organizational Domain of `domain` (ASCII; lowercased here):
 * the longest ICANN public suffix (an unlisted TLD is one, per the PSL "*"
 * rule) plus one label; the domain itself when it is a public suffix.
 * Appends to `out`. MOX_ERR_INVAL for an empty name, MOX_ERR_NOMEM. */
MOX_API int mox_dmarc_psl_org_domain(const mox_dmarc_psl *p, const char *domain,
                                     mox_buf *out);

/* ------------------------------------------------------------ evaluation */

/* Results (RFC 8601 words for "dmarc="; mox_dmarc_outcome.result). */
typedef enum mox_dmarc_verdict {
    MOX_DMARC_NONE = 0,      /* no policy record: DMARC does not apply */
    MOX_DMARC_PASS = 1,
    MOX_DMARC_FAIL = 2,
    MOX_DMARC_TEMPERROR = 3, /* a DNS query needed did not complete */
    MOX_DMARC_PERMERROR = 4  /* the message has no usable Author Domain */
} mox_dmarc_verdict;

MOX_API const char *mox_dmarc_result_name(int result);

/* Alignment outcome of one identifier kind. */
typedef enum mox_dmarc_align {
    MOX_DMARC_ALIGN_NONE = 0,   /* no authenticated identifier (no SPF /
                                   DKIM pass) */
    MOX_DMARC_ALIGN_PASS = 1,
    MOX_DMARC_ALIGN_FAIL = 2,   /* authenticated, not aligned */
    MOX_DMARC_ALIGN_TEMPERROR = 3, /* a tree walk it needed failed */
    MOX_DMARC_ALIGN_UNKNOWN = 4 /* not evaluated (no policy record) */
} mox_dmarc_align;

MOX_API const char *mox_dmarc_align_name(int align);

/* Outcome of an underlying mechanism as given to the evaluator: only
 * "pass" makes an Authenticated Identifier; the others are kept for
 * reports. */
typedef enum mox_dmarc_auth {
    MOX_DMARC_AUTH_NONE = 0,
    MOX_DMARC_AUTH_PASS,
    MOX_DMARC_AUTH_FAIL,
    MOX_DMARC_AUTH_SOFTFAIL,
    MOX_DMARC_AUTH_NEUTRAL,
    MOX_DMARC_AUTH_POLICY,
    MOX_DMARC_AUTH_TEMPERROR,
    MOX_DMARC_AUTH_PERMERROR
} mox_dmarc_auth;

/* Policy discovery and Organizational Domain method. */
enum {
    MOX_DMARC_MODE_RFC9989 = 0, /* DNS Tree Walk (default) */
    MOX_DMARC_MODE_RFC7489 = 1  /* public suffix list; pct= honoured */
};

/* Where the applied policy came from. */
enum {
    MOX_DMARC_SRC_NONE = 0,
    MOX_DMARC_SRC_P,   /* record of the Author Domain, or p= fallback */
    MOX_DMARC_SRC_SP,  /* sp= for an existing subdomain */
    MOX_DMARC_SRC_NP   /* np= for a non-existent subdomain */
};

/* What to do with a message whose From is unusable (no single Author
 * Domain: mox_dmarc_from). RFC 9989 §4.10 evaluates nothing then; a
 * receiver should not accept such a message unchecked. */
enum {
    MOX_DMARC_BAD_FROM_DEFAULT = 0, /* reject */
    MOX_DMARC_BAD_FROM_REJECT = 1,
    MOX_DMARC_BAD_FROM_QUARANTINE = 2,
    MOX_DMARC_BAD_FROM_NONE = 3
};

/* Evaluator configuration. Initialise with MOX_DMARC_CONFIG_INIT or
 * mox_dmarc_config_init; a zeroed config with `size` set is the defaults
 * (every field: 0 means the default). */
typedef struct mox_dmarc_config {
    size_t size;                 /* sizeof(mox_dmarc_config) */
    const mox_env *env;          /* logger, random (RFC 7489 pct=) */
    int mode;                    /* MOX_DMARC_MODE_* (0: RFC 9989) */
    const mox_dmarc_psl *psl;    /* RFC 7489 mode; NULL: loaded with
                                    mox_dmarc_psl_new(NULL) for each
                                    evaluation (slow: share one) */
    unsigned max_walk_queries;   /* per tree walk: 0 means 8, the limit of
                                    RFC 9989 §4.10; at most 8 */
    unsigned max_dkim;           /* passing DKIM identifiers examined: 0
                                    means 10 */
    int bad_from;                /* MOX_DMARC_BAD_FROM_* (0: reject) */
    unsigned flags;              /* MOX_DMARC_F_* */
} mox_dmarc_config;

/* Flags. */
#define MOX_DMARC_F_DISCOVER_ONLY 0x1u /* only find the record and the
                                          Organizational Domain (lookups) */
#define MOX_DMARC_F_IGNORE_TESTING 0x2u /* apply the policy even with t=y */
#define MOX_DMARC_F_AUTH_LATER 0x4u    /* the SPF and DKIM outcomes come
                                          after the questions start: policy
                                          discovery runs at once, alignment
                                          waits for mox_dmarc_auth_done
                                          (how msgauth asks for the policy
                                          record while DKIM still waits for
                                          its keys) */

#define MOX_DMARC_CONFIG_INIT \
    { sizeof(mox_dmarc_config), NULL, MOX_DMARC_MODE_RFC9989, NULL, 8, 10, \
      MOX_DMARC_BAD_FROM_DEFAULT, 0 }

/* Function form of MOX_DMARC_CONFIG_INIT for bindings: fills the first
 * `size` bytes of `cfg` (its sizeof) with the defaults, size included.
 * NULL-safe. */
MOX_API void mox_dmarc_config_init(mox_dmarc_config *cfg, size_t size);

typedef struct mox_dmarc mox_dmarc;

/* Creates an evaluation for an Author Domain (Unicode or ASCII; converted
 * to A-labels). Strings are copied, `cfg` is read up to its size. The
 * first question (the policy record of the Author Domain) is ready when
 * it returns. Errors, with `ei` filled: MOX_ERR_SYNTAX/MOX_ERR_IDNA for a
 * domain that is not a valid name, MOX_ERR_INVAL (NULL out or domain, an
 * unknown mode or bad_from), MOX_ERR_IO (RFC 7489 mode without a public
 * suffix list), MOX_ERR_NOMEM. */
MOX_API int mox_dmarc_new(mox_dmarc **out, const mox_dmarc_config *cfg,
                          const char *author_domain, mox_errinfo *ei);

/* Creates an evaluation for a message: the Author Domain is extracted from
 * `header` with mox_dmarc_author_domain. When the From is unusable the
 * evaluation is born finished: permerror, from_status saying why, the
 * configured bad-From disposition (with MOX_DMARC_F_AUTH_LATER: once
 * mox_dmarc_auth_done is called). Errors as mox_dmarc_new, with `ei`. */
MOX_API int mox_dmarc_new_message(mox_dmarc **out, const mox_dmarc_config *cfg,
                                  const void *header, size_t len, mox_errinfo *ei);
/* NULL-safe. Questions handed out become invalid. */
MOX_API void mox_dmarc_free(mox_dmarc *d);

/* The SPF outcome for the MAIL FROM identity (RFC 7208 §2.4: with a null
 * reverse-path the HELO domain): `result` a MOX_DMARC_AUTH_*, `domain` the
 * domain SPF evaluated. A later call replaces the earlier one. Allowed
 * until the inputs close: the first mox_dmarc_query, or with
 * MOX_DMARC_F_AUTH_LATER mox_dmarc_auth_done. Errors (recorded for
 * mox_engine_error): MOX_ERR_STATE after that, MOX_ERR_INVAL (NULL, a
 * result out of range), MOX_ERR_NOMEM. A domain that is not a valid name
 * never aligns. */
MOX_API int mox_dmarc_set_spf(mox_dmarc *d, int result, const char *domain);

/* Adds one DKIM signature's outcome: `result` (MOX_DMARC_AUTH_*), the d=
 * domain and the selector (may be NULL). Same rules as set_spf. */
MOX_API int mox_dmarc_add_dkim(mox_dmarc *d, int result, const char *domain,
                               const char *selector);

/* MOX_DMARC_F_AUTH_LATER: the SPF and DKIM outcomes are all given; the
 * alignment questions follow. MOX_ERR_STATE without the flag or when
 * called twice; MOX_ERR_NOMEM (the evaluation is then unusable). */
MOX_API int mox_dmarc_auth_done(mox_dmarc *d);

/* MOX_WANT_QUERY, MOX_WANT_ANSWER (questions handed out unanswered),
 * MOX_WANT_DONE (the result is valid; nothing else is wanted then). 0 when
 * nothing can happen until mox_dmarc_auth_done (MOX_DMARC_F_AUTH_LATER),
 * after an allocation failure, and for NULL. */
MOX_API unsigned mox_dmarc_want(const mox_dmarc *d);

/* Hands out the next question: MOX_QUERY_DNS, TXT for policy records
 * ("_dmarc.<name>"), A for the existence check of the Author Domain (np=,
 * RFC 9989 §4.10.1). Every name is asked at most once per evaluation
 * (answers are shared by the tree walks); the walks of the identifiers
 * being aligned run in parallel, so several questions may be open. The
 * strings are owned by `d` until the question is answered or `d` freed.
 * Without MOX_DMARC_F_AUTH_LATER the first call closes the inputs.
 * MOX_ERR_AGAIN when there is none; MOX_ERR_INVAL for NULL. */
MOX_API int mox_dmarc_query(mox_dmarc *d, mox_query *q);

/* The answer to a question handed out (a->id; any order; only read). Any
 * DNS status is a fact: a failure makes the result temperror where it
 * matters, never a reject. An answer no longer needed is accepted and
 * ignored. Errors, recorded for mox_engine_error (the evaluation
 * unchanged): MOX_ERR_INVAL (NULL, not DNS, another type than asked),
 * MOX_ERR_NOTFOUND (unknown id), MOX_ERR_STATE (answered already, not
 * handed out, or failed earlier); MOX_ERR_NOMEM (the evaluation is then
 * unusable). */
MOX_API int mox_dmarc_answer(mox_dmarc *d, const mox_answer *a);

/* The generic view, part of `d`: mox_engine_run(mox_dmarc_engine(d), &io,
 * ei) evaluates over the resolver in `io`. NULL for NULL. */
MOX_API mox_engine *mox_dmarc_engine(mox_dmarc *d);

/* The outcome of a finished evaluation; strings are owned by the mox_dmarc
 * and NUL-terminated. */
typedef struct mox_dmarc_outcome {
    int result;              /* mox_dmarc_verdict */
    int from_status;         /* mox_dmarc_from */
    int policy;              /* the policy the record asks for this message
                                (p, sp or np; after the "no valid p= but
                                rua" rule), UNSPECIFIED without record */
    int policy_source;       /* MOX_DMARC_SRC_* */
    int disposition;         /* what the receiver should do (a
                                MOX_DMARC_POLICY_* value): NONE for pass,
                                none, temperror; the policy for fail,
                                lowered one level by t=y (or by RFC 7489
                                pct= sampling); the configured bad_from
                                disposition for an unusable From. Never REJECT because of a
                                DNS failure. */
    int testing;             /* t=y lowered the disposition */
    int sampled_out;         /* RFC 7489 mode: pct= lowered it */
    const char *domain;      /* Author Domain (A-labels), NULL when none */
    const char *record_domain; /* where the applied record was found, or
                                NULL */
    const char *org_domain;  /* Organizational Domain of the Author Domain
                                (when it was needed or discovery-only) */
    const mox_dmarc_record *record; /* the applied record, or NULL */
    const char *record_text; /* its text as published */
    int authentic;           /* every answer the result rests on was
                                DNSSEC-authentic (0 without answers) */
    int spf_aligned;         /* mox_dmarc_align */
    int dkim_aligned;        /* mox_dmarc_align */
    const char *spf_domain;  /* as given, or NULL */
    const char *dkim_domain; /* the d= that aligned, or NULL */
    int author_exists;       /* 1 exists, 0 NXDOMAIN, -1 not checked */
    const char *reason;      /* one line of English: why */
    unsigned dns_queries;    /* questions asked (in a DNS failure case
                                one more may have been asked in parallel
                                than the result needed; a "_dmarc." name
                                over 253 octets is not asked: it cannot
                                exist, RFC 1035 §2.3.4, and reads as
                                NXDOMAIN) */
} mox_dmarc_outcome;

/* The outcome once MOX_WANT_DONE is set, else NULL. Owned by `d`. */
MOX_API const mox_dmarc_outcome *mox_dmarc_result(const mox_dmarc *d);

/* The DNS questions asked, in the order they were asked, for tools:
 * `name`, the DNS status (-1 while unanswered), and whether exactly one
 * DMARC record was found there (then `record` is its text). A name too
 * long to exist (over 253 octets) is listed with NXDOMAIN although it was
 * not asked. Views owned by `d`. MOX_ERR_NOTFOUND for an index out of
 * range, MOX_ERR_INVAL for NULL. */
typedef struct mox_dmarc_lookup {
    const char *name;
    uint16_t type;
    int status;          /* mox_dns_status (NODATA: NOERROR), -1 */
    int records;         /* DMARC records at the name (TXT queries) */
    const char *record;  /* the one record, or NULL */
} mox_dmarc_lookup;

MOX_API size_t mox_dmarc_lookup_count(const mox_dmarc *d);
MOX_API int mox_dmarc_lookup_get(const mox_dmarc *d, size_t i, mox_dmarc_lookup *q);

/* Appends the "dmarc=" result to an Authentication-Results model:
 *   dmarc=fail reason="..." (p=reject dis=quarantine) header.from=example.com
 * MOX_ERR_STATE when not finished, MOX_ERR_NOMEM. */
MOX_API int mox_dmarc_authres(const mox_dmarc *d, mox_authres *ar);

/* ------------------------------------------------------------ reports */

/* 1 when a report URI's domain needs the consent check of RFC 9990 §3
 * (RFC 7489 §7.1): it is a mailto: whose domain is neither the policy
 * domain's Organizational Domain nor below it. `org_domain` is that of the
 * domain that published the record (mox_dmarc_outcome.org_domain). */
MOX_API int mox_dmarc_report_external(const mox_dmarc_uri *uri,
                                      const char *org_domain);

typedef struct mox_dmarc_report_check mox_dmarc_report_check;

/* Checks that `dest_domain` accepts reports about `policy_domain` (RFC
 * 9990 §3, RFC 7489 §7.1): a TXT query for
 * "<policy_domain>._report._dmarc.<dest_domain>" (lower-cased) must hold
 * a record starting with v=DMARC1. An engine like the evaluator with one
 * question, ready when it returns; blocking:
 * mox_engine_run(mox_dmarc_report_check_engine(c), &io, ei). Errors, with
 * `ei`: MOX_ERR_INVAL (NULL or empty domains, a name longer than 253
 * octets), MOX_ERR_NOMEM. */
MOX_API int mox_dmarc_report_check_new(mox_dmarc_report_check **out,
                                       const char *policy_domain,
                                       const char *dest_domain, mox_errinfo *ei);
/* NULL-safe. */
MOX_API void mox_dmarc_report_check_free(mox_dmarc_report_check *c);
/* As mox_dmarc_want / _query / _answer / _engine. */
MOX_API unsigned mox_dmarc_report_check_want(const mox_dmarc_report_check *c);
MOX_API int mox_dmarc_report_check_query(mox_dmarc_report_check *c, mox_query *q);
MOX_API int mox_dmarc_report_check_answer(mox_dmarc_report_check *c,
                                          const mox_answer *a);
MOX_API mox_engine *mox_dmarc_report_check_engine(mox_dmarc_report_check *c);

/* The outcome. Strings owned by the check. */
typedef struct mox_dmarc_report_check_outcome {
    int consent;          /* 1 the destination accepts the reports, 0 it
                             does not (NXDOMAIN, no such record), -1 a
                             temporary DNS failure (try again later) */
    const char *name;     /* the name asked */
    const char *record;   /* the record that gave consent, or NULL */
    int status;           /* mox_dns_status of the answer */
    int authentic;        /* the answer was DNSSEC-authentic */
} mox_dmarc_report_check_outcome;

/* The outcome once MOX_WANT_DONE is set, else NULL. */
MOX_API const mox_dmarc_report_check_outcome *
mox_dmarc_report_check_result(const mox_dmarc_report_check *c);

MOX_END_DECLS

#endif
