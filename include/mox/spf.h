/*
 * libmox SPF: a complete RFC 7208 evaluator (check_host()) without I/O.
 *
 * One evaluation is a `mox_spf` object, an engine of the one contract of
 * include/mox/engine.h with the groups want, query/answer and result:
 *   - mox_spf_want() says MOX_WANT_QUERY while a question is ready,
 *     MOX_WANT_ANSWER while questions handed out are unanswered, and
 *     MOX_WANT_DONE once the outcome is ready;
 *   - mox_spf_query() hands out each question (DNS name and type, an id);
 *     the embedder resolves it however it likes (event loop, cache, test
 *     zone) and gives the answer back with mox_spf_answer() (built with
 *     the mox_answer_* constructors, in any order);
 *   - mox_spf_result() is the outcome.
 * The blocking form is mox_engine_run(mox_spf_engine(s), &io, ei) with a
 * resolver in `io`; mox_spf_check() does new + run in one call.
 *
 * Questions: one at a time where RFC 7208 evaluates one after the other
 * (records, include, redirect, a, exists, exp). Where several are known
 * at the same moment they are handed out together, so an asynchronous
 * resolver runs them in parallel: the A/AAAA of every host of an "mx"
 * term (at most max_mx_names, RFC 7208 §4.6.4) and the A/AAAA of every
 * PTR name validated for "ptr" and %{p} (at most max_ptr_names, §4.6.4,
 * §5.5). Answers are used in the order the RFC evaluates them (the first
 * MX host with a DNS error or a match decides, §5.4), so the outcome,
 * its counters and its authentic flag are exactly those of a sequential
 * evaluation; answers to questions that turned out not to be needed are
 * accepted and ignored. Only the address type of the client's family is
 * asked (A for IPv4, AAAA for IPv6: §5.3, §5.4).
 *
 * What is evaluated: MAIL FROM (the <sender>; postmaster@HELO when the
 * MAIL FROM is empty) or the HELO identity, for IPv4 and IPv6 clients
 * (IPv4-mapped IPv6 addresses are treated as IPv4), with every mechanism
 * and modifier, macros, and the limits of RFC 7208 §4.6.4 (configurable).
 *
 * Also here: the SPF record parser (mox_spf_record_parse), the macro
 * expander (mox_spf_expand, exposed for tools and tests), and composition
 * of the Received-SPF header (RFC 7208 §9.1) and of the "spf="
 * Authentication-Results entry (RFC 8601).
 *
 * Threading: objects are not thread-safe; distinct objects are
 * independent. Nothing here has global state.
 */
#ifndef MOX_SPF_H
#define MOX_SPF_H

#include "core.h"
#include "dns.h"
#include "engine.h"

MOX_BEGIN_DECLS

/* ------------------------------------------------------------ results */

/* RFC 7208 §2.6 results (mox_spf_outcome.result). */
typedef enum mox_spf_verdict {
    MOX_SPF_NONE = 0,
    MOX_SPF_NEUTRAL = 1,
    MOX_SPF_PASS = 2,
    MOX_SPF_FAIL = 3,
    MOX_SPF_SOFTFAIL = 4,
    MOX_SPF_TEMPERROR = 5,
    MOX_SPF_PERMERROR = 6
} mox_spf_verdict;

/* Lower-case RFC 7208 word for a result ("pass", "permerror"; "?" for an
 * out-of-range value). Static storage. */
MOX_API const char *mox_spf_result_name(int result);

/* Parses a result word (case-insensitive). MOX_ERR_SYNTAX if unknown. */
MOX_API int mox_spf_result_parse(const char *s, int *result);

/* ------------------------------------------------------------ records */

/* Term kinds. Mechanisms first, then modifiers. */
typedef enum mox_spf_kind {
    MOX_SPF_ALL = 1,
    MOX_SPF_INCLUDE,
    MOX_SPF_A,
    MOX_SPF_MX,
    MOX_SPF_PTR,
    MOX_SPF_IP4,
    MOX_SPF_IP6,
    MOX_SPF_EXISTS,
    MOX_SPF_REDIRECT,  /* modifier redirect= */
    MOX_SPF_EXP,       /* modifier exp= */
    MOX_SPF_UNKNOWN_MODIFIER
} mox_spf_kind;

/* One term of a parsed record. Owned by the record; read-only. New fields
 * are only ever appended (the library allocates these, never the caller).
 * Strings point into the record's copy of the text and are NOT
 * NUL-terminated: use the lengths. */
typedef struct mox_spf_term {
    int kind;              /* mox_spf_kind */
    char qualifier;        /* '+', '-', '~', '?' for mechanisms ('+' when
                              not written), 0 for modifiers */
    int qualifier_written; /* 1 if the qualifier was in the text */
    const char *text;      /* the term as written, e.g. "-ip4:192.0.2.0/24" */
    size_t text_len;
    const char *name;      /* modifier name as written (for unknown ones) */
    size_t name_len;
    const char *spec;      /* domain-spec / modifier value (macro-string),
                              NULL when absent (a, mx, ptr without ':') */
    size_t spec_len;
    unsigned char ip[16];  /* ip4 (first 4 bytes) / ip6 network */
    int cidr4;             /* ip4 / a / mx prefix length, -1 if absent */
    int cidr6;             /* ip6 / a / mx IPv6 prefix length, -1 if absent */
    size_t offset;         /* byte offset of the term in the record */
} mox_spf_term;

typedef struct mox_spf_record mox_spf_record;

/* Detail codes (ei->detail) of MOX_ERR_SYNTAX from the record parser and
 * the macro expander. */
enum {
    MOX_SPF_ERR_VERSION = 1,      /* does not start with "v=spf1" + SP/end */
    MOX_SPF_ERR_CHAR,             /* character outside printable ASCII, or
                                     a separator other than SP */
    MOX_SPF_ERR_MECHANISM,        /* unknown mechanism */
    MOX_SPF_ERR_ARGUMENT,         /* missing, extra or malformed argument */
    MOX_SPF_ERR_IP,               /* bad ip4/ip6 network */
    MOX_SPF_ERR_CIDR,             /* bad prefix length */
    MOX_SPF_ERR_DOMAIN_SPEC,      /* domain-spec does not end in a macro or
                                     a valid top label */
    MOX_SPF_ERR_MACRO,            /* malformed macro */
    MOX_SPF_ERR_MACRO_LETTER,     /* letter unknown, or only valid in exp */
    MOX_SPF_ERR_DUPLICATE,        /* redirect= or exp= given twice */
    MOX_SPF_ERR_MODIFIER          /* malformed modifier name */
};

/* Parses one SPF record ("v=spf1 ..."), strictly per the RFC 7208 §12
 * grammar: SP-separated terms, every domain-spec and modifier value a
 * valid macro-string (macro letters c, r, t are refused outside exp=),
 * prefix lengths without leading zeros. `txt` need not be NUL-terminated
 * and is copied. On success *out is the record (free with
 * mox_spf_record_free). Errors: MOX_ERR_SYNTAX with ei->detail one of
 * MOX_SPF_ERR_* and ei->offset the offending byte; MOX_ERR_NOMEM;
 * MOX_ERR_LIMIT if longer than 65535 bytes. */
MOX_API int mox_spf_record_parse(const char *txt, size_t len,
                                 mox_spf_record **out, mox_errinfo *ei);
MOX_API void mox_spf_record_free(mox_spf_record *r);

/* Number of terms (directives and modifiers, in order) and the i-th one
 * (NULL when out of range). */
MOX_API size_t mox_spf_record_count(const mox_spf_record *r);
MOX_API const mox_spf_term *mox_spf_record_term(const mox_spf_record *r,
                                                size_t i);

/* 1 if `txt` is an SPF record by the selection rule of RFC 7208 §4.5:
 * starts with "v=spf1" (case-insensitive) followed by SP or the end. */
MOX_API int mox_spf_is_record(const char *txt, size_t len);

/* Appends a normalised rendering of the record ("v=spf1" and each term
 * with an explicit qualifier, lower-case names) to `out`. */
MOX_API int mox_spf_record_format(const mox_spf_record *r, mox_buf *out);

/* ------------------------------------------------------------ config */

/* Evaluation options. Initialise with MOX_SPF_CONFIG_INIT; 0 in a limit
 * means "the default". */
typedef struct mox_spf_config {
    size_t size;                 /* sizeof(mox_spf_config) */
    const mox_env *env;          /* logging, clock (%{t}); NULL: defaults */
    unsigned max_dns_terms;      /* include a mx ptr exists redirect: 10 */
    unsigned max_void_lookups;   /* NXDOMAIN / no-data answers: 2 */
    unsigned max_mx_names;       /* MX names per mx term: 10 (permerror
                                    beyond, RFC 7208 §4.6.4) */
    unsigned max_ptr_names;      /* PTR names examined: 10 (the rest is
                                    ignored) */
    size_t max_expansion;        /* bytes of one macro expansion before a
                                    domain-spec is a permerror: 4096 */
    size_t max_explanation;      /* explanation truncated here: 1024 */
    const char *receiver;        /* %{r} and Received-SPF receiver=;
                                    NULL: "unknown" (copied) */
    const char *default_explanation; /* macro-string used when a fail has
                                    no usable exp=; NULL: built-in
                                    "%{d} does not designate %{c} as
                                    permitted sender" (copied) */
    int allow_single_label;      /* nonzero: a single-label identity
                                    domain ("mox@localhost") is evaluated
                                    like any other. Off by default: RFC 7208
                                    §4.3 makes check_host() return "none"
                                    for it. For local and test setups that
                                    answer DNS for such a name themselves,
                                    never on the Internet. Include/redirect
                                    targets are unaffected (the record
                                    grammar wants a dot in them). */
} mox_spf_config;

#define MOX_SPF_CONFIG_INIT \
    { sizeof(mox_spf_config), NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, 0 }

/* Which identity is checked. */
enum {
    MOX_SPF_ID_MAILFROM = 0, /* MAIL FROM; falls back to HELO when empty */
    MOX_SPF_ID_HELO = 1      /* HELO/EHLO name (sender postmaster@HELO) */
};

/* ------------------------------------------------------------ evaluation */

typedef struct mox_spf mox_spf;

/* Creates an evaluation.
 *   ip:       client address as text ("192.0.2.1", "2001:db8::1");
 *   sender:   MAIL FROM address without brackets (angle brackets are
 *             tolerated), may be NULL or "" (then the HELO identity);
 *             split at the last '@': an empty local part means
 *             "postmaster"; without '@' the whole is the domain;
 *   helo:     HELO/EHLO name (may be NULL: %{h} is then "unknown");
 *   identity: MOX_SPF_ID_MAILFROM or MOX_SPF_ID_HELO.
 * Strings are copied. A non-ASCII sender domain is converted to its
 * A-label form (IDNA2008). `cfg` may be NULL (defaults; a zeroed config
 * with `size` set is the defaults too) and is copied. The first question
 * is ready when it returns (or, for an identity domain that cannot be
 * evaluated, the outcome "none": RFC 7208 §4.3). Errors, with `ei`
 * filled: MOX_ERR_INVAL (bad IP, NULL out, unknown identity, a config
 * older than default_explanation, a default explanation that is not a
 * valid macro-string), MOX_ERR_LIMIT (sender, HELO or receiver longer
 * than 1024 bytes, default explanation over 4096), MOX_ERR_NOMEM. */
MOX_API int mox_spf_new(mox_spf **out, const mox_spf_config *cfg,
                        const char *ip, const char *sender, const char *helo,
                        int identity, mox_errinfo *ei);
/* NULL-safe. Questions handed out become invalid. */
MOX_API void mox_spf_free(mox_spf *s);

/* MOX_WANT_* bits: QUERY (mox_spf_query has a question), ANSWER
 * (questions handed out are unanswered), DONE (mox_spf_result is valid;
 * nothing else is wanted then, even if questions are unanswered). 0 after
 * an allocation failure (the evaluation is unusable) and for NULL. */
MOX_API unsigned mox_spf_want(const mox_spf *s);

/* Hands out the next question not handed out yet: q->kind is
 * MOX_QUERY_DNS with u.dns.name (no trailing dot) and u.dns.type
 * (MOX_DNS_TXT, _A, _AAAA, _MX, _PTR); the strings are owned by `s` and
 * valid until the question is answered or `s` freed. MOX_ERR_AGAIN when
 * there is none (answer the open ones, or the evaluation is done);
 * MOX_ERR_INVAL for a NULL argument. */
MOX_API int mox_spf_query(mox_spf *s, mox_query *q);

/* Takes the answer to a question handed out (a->id names it; any order;
 * the answer is only read, the caller frees it). Any DNS status is a fact
 * SPF evaluates: NXDOMAIN, SERVFAIL, TIMEOUT and NETERR are not errors
 * (RFC 7208 §2.6.6, §4.3, §5). An answer the evaluation no longer needs
 * is accepted and ignored. Errors, recorded for mox_engine_error (the
 * evaluation is unchanged): MOX_ERR_INVAL (NULL, not a DNS answer, an
 * answer whose type or name differs from its question's), MOX_ERR_NOTFOUND
 * (no question with that id), MOX_ERR_STATE (answered already, not handed
 * out yet, or the evaluation failed earlier); MOX_ERR_NOMEM (the
 * evaluation is then unusable: want 0, result NULL). */
MOX_API int mox_spf_answer(mox_spf *s, const mox_answer *a);

/* The generic view (include/mox/engine.h), part of `s`: drive it with
 * mox_engine_run(mox_spf_engine(s), &io, ei) (io with a resolver) or any
 * loop over mox_engine_*. NULL for NULL. */
MOX_API mox_engine *mox_spf_engine(mox_spf *s);

/* Convenience: mox_spf_new, then mox_engine_run over the resolver `r`
 * (a query the resolver cannot start is evaluated as a DNS failure,
 * temperror, not returned as an error). On MOX_OK *out is the finished
 * evaluation (read it with mox_spf_result, free with mox_spf_free).
 * Errors (ei filled): those of mox_spf_new and mox_engine_run, and
 * MOX_ERR_INVAL for a NULL `out` or `r`. */
MOX_API int mox_spf_check(mox_spf **out, const mox_spf_config *cfg,
                          const mox_resolver *r, const char *ip,
                          const char *sender, const char *helo,
                          int identity, mox_errinfo *ei);

/* The outcome of a finished evaluation. Strings are owned by the mox_spf
 * and NUL-terminated. */
typedef struct mox_spf_outcome {
    int result;              /* mox_spf_verdict */
    const char *mechanism;   /* the directive that decided, as written
                                with its qualifier if written ("-all",
                                "include:_spf.example.net"); for a match
                                inside an include, the include directive
                                of the deciding record; NULL when no
                                mechanism matched (default result) or on
                                error */
    const char *explanation; /* only for fail: from exp= or the default;
                                else NULL */
    int explanation_default; /* 1 when the explanation is the default */
    const char *problem;     /* for temperror/permerror/none: why, else
                                NULL */
    const char *domain;      /* the identity's domain (A-label form) */
    const char *sender;      /* <sender> as evaluated (local@domain) */
    int identity;            /* MOX_SPF_ID_MAILFROM / MOX_SPF_ID_HELO
                                (MAILFROM with an empty MAIL FROM becomes
                                HELO) */
    int authentic;           /* 1 if at least one answer was used and every
                                answer used was DNSSEC-authentic */
    unsigned dns_lookups;    /* terms of the §4.6.4 limit evaluated */
    unsigned void_lookups;   /* of those, NXDOMAIN / no-data answers */
    unsigned dns_queries;    /* answers the evaluation used (a sequential
                                evaluation would have asked exactly
                                these questions) */
} mox_spf_outcome;

/* The outcome once MOX_WANT_DONE is set, else NULL (also after an
 * allocation failure). Owned by `s`, valid until it is freed. */
MOX_API const mox_spf_outcome *mox_spf_result(const mox_spf *s);

/* ------------------------------------------------------------ headers */

/* Appends a complete Received-SPF header field (RFC 7208 §9.1), folded at
 * 78 columns, ending in CRLF:
 *   Received-SPF: pass (mx.example.org: domain of a@example.com designates
 *    192.0.2.1 as permitted sender) client-ip=192.0.2.1;
 *    envelope-from="a@example.com"; helo=mail.example.com;
 *    identity=mailfrom; receiver=mx.example.org; mechanism=-all
 * Values from the peer (sender, HELO, problem) are written as dot-atoms
 * when they are, else as quoted-strings; control characters and invalid
 * UTF-8 become '?'. MOX_ERR_STATE if the evaluation is not finished. */
MOX_API int mox_spf_received_header(const mox_spf *s, mox_buf *out);

/* Appends the Authentication-Results method entry, e.g.
 *   spf=pass smtp.mailfrom=a@example.com
 *   spf=none smtp.helo=mail.example.com
 * (no trailing ";"), with a comment for errors. */
MOX_API int mox_spf_auth_results(const mox_spf *s, mox_buf *out);

/* ------------------------------------------------------------ macros */

/* Inputs of a stand-alone macro expansion (mox_spf_expand). */
typedef struct mox_spf_macro_vars {
    size_t size;            /* sizeof(mox_spf_macro_vars) */
    const char *sender;     /* %{s}: local@domain */
    const char *domain;     /* %{d} */
    const char *ip;         /* %{i} %{c} %{v}: text form */
    const char *helo;       /* %{h} */
    const char *ptr;        /* %{p}: validated name, NULL -> "unknown" */
    const char *receiver;   /* %{r}: NULL -> "unknown" */
    int64_t timestamp;      /* %{t} */
} mox_spf_macro_vars;

#define MOX_SPF_MACRO_VARS_INIT \
    { sizeof(mox_spf_macro_vars), NULL, NULL, NULL, NULL, NULL, NULL, 0 }

/* Flags for mox_spf_expand. */
#define MOX_SPF_EXPAND_EXP 0x1    /* explanation text: c r t allowed, no
                                     domain truncation */
#define MOX_SPF_EXPAND_DOMAIN 0x2 /* domain-spec: truncate to 253 octets
                                     by dropping left labels, drop one
                                     trailing dot */

/* Expands a macro-string (RFC 7208 §7) and appends it to `out`. The
 * output is bounded by `max_len` (0: 4096): beyond it MOX_ERR_LIMIT.
 * Syntax errors give MOX_ERR_SYNTAX with MOX_SPF_ERR_MACRO /
 * MOX_SPF_ERR_MACRO_LETTER and the offset. On error `out` is unchanged. */
MOX_API int mox_spf_expand(const char *macro, size_t len,
                           const mox_spf_macro_vars *vars, unsigned flags,
                           size_t max_len, mox_buf *out, mox_errinfo *ei);

MOX_END_DECLS

#endif
