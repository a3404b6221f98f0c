/*
 * libmox DNS: the resolver interface every evaluator uses, answers as typed
 * records, an in-memory resolver loaded from master-file text (how tests and
 * the mox tool describe DNS offline), and a system resolver over glibc's
 * res_nsend (which keeps SERVFAIL and timeout distinct and reads the AD bit).
 *
 * Threading: objects are not thread-safe; distinct objects are independent.
 */
#ifndef MOX_DNS_H
#define MOX_DNS_H

#include "core.h"

MOX_BEGIN_DECLS

/* Record types (IANA numbers). */
enum {
    MOX_DNS_A = 1,
    MOX_DNS_NS = 2,
    MOX_DNS_CNAME = 5,
    MOX_DNS_SOA = 6,
    MOX_DNS_PTR = 12,
    MOX_DNS_MX = 15,
    MOX_DNS_TXT = 16,
    MOX_DNS_AAAA = 28,
    MOX_DNS_TLSA = 52,
    MOX_DNS_SPF = 99,  /* obsolete; same RDATA as TXT (u.txt) */
    MOX_DNS_ANY = 255  /* query type only: every record at the name */
};

/* Outcome of a query. NODATA is MOX_DNS_NOERROR with no record of the
 * asked type (mox_dns_answer_is_nodata). */
typedef enum mox_dns_status {
    MOX_DNS_NOERROR = 0,
    MOX_DNS_FORMERR = 1,
    MOX_DNS_SERVFAIL = 2,
    MOX_DNS_NXDOMAIN = 3,
    MOX_DNS_NOTIMP = 4,
    MOX_DNS_REFUSED = 5,
    MOX_DNS_TIMEOUT = 0x10000, /* no answer in time (not an rcode) */
    MOX_DNS_NETERR = 0x10001   /* could not reach a server / malformed reply */
} mox_dns_status;

/* One resource record. Names are in presentation form, absolute, WITHOUT the
 * trailing dot ("example.org"; the root is ""), as found in the data (case
 * preserved). All pointers point into memory owned by the answer. */
typedef struct mox_dns_rr {
    const char *name;
    uint16_t type;
    uint16_t rclass;
    uint32_t ttl;
    union {
        unsigned char a[4];
        unsigned char aaaa[16];
        struct { uint16_t preference; const char *host; } mx;
        const char *target; /* CNAME, PTR, NS */
        struct {
            size_t count;              /* character-strings */
            const unsigned char **str; /* each may hold any byte */
            const size_t *len;
        } txt;
        struct {
            uint8_t usage, selector, matching;
            const unsigned char *data;
            size_t len;
        } tlsa;
        struct { const unsigned char *data; size_t len; } raw; /* other types: RDATA */
    } u;
} mox_dns_rr;

/* A completed query. Allocated by the resolver; release with
 * mox_dns_answer_free. `rr` holds the answer section in order: for a name
 * that is an alias, the CNAME records followed by the records of the asked
 * type at the canonical name. */
typedef struct mox_dns_answer {
    char *qname;       /* as asked, without trailing dot */
    uint16_t qtype;
    int status;        /* mox_dns_status */
    int authentic;     /* 1 if DNSSEC-validated (AD bit / $AUTHENTIC) */
    size_t nrr;
    mox_dns_rr *rr;
    void *priv_;       /* library-private storage */
} mox_dns_answer;

/* Frees an answer and everything its records point to. NULL-safe. */
MOX_API void mox_dns_answer_free(mox_dns_answer *a);

/* Number of records of type `type` in the answer (CNAMEs not counted unless
 * asked). */
MOX_API size_t mox_dns_answer_count(const mox_dns_answer *a, uint16_t type);

/* 1 when the status is NOERROR but there is no record of the asked type. */
MOX_API int mox_dns_answer_is_nodata(const mox_dns_answer *a);

/* Appends the concatenation of a TXT record's strings to `out`. */
MOX_API int mox_dns_txt_join(const mox_dns_rr *rr, mox_buf *out);

/* Name of a type ("TXT"; "TYPE65280" for unknown ones, in a thread-local
 * buffer valid until the next such call in the thread: copy if kept) and
 * of a status ("NXDOMAIN", "TIMEOUT"; "RCODE9" for other rcodes, likewise).
 * mox_dns_type_parse takes a name (any case) or "TYPEnn" (1..65535):
 * MOX_OK, MOX_ERR_SYNTAX, MOX_ERR_INVAL. */
MOX_API const char *mox_dns_type_name(uint16_t type);
MOX_API int mox_dns_type_parse(const char *name, uint16_t *type);
MOX_API const char *mox_dns_status_name(int status);

/* Appends one record in master-file syntax with absolute names and a
 * trailing dot ("example.org. 300 IN MX 10 mx.example.org."), no newline. */
MOX_API int mox_dns_rr_format(const mox_dns_rr *rr, mox_buf *out);

/* Appends only the RDATA part of that line ("10 mx.example.org.").
 * Names with special or non-printable octets are escaped (\. \DDD); TXT
 * strings are quoted, with \" \\ and \DDD for bytes outside 0x20-0x7e.
 * Types without a presentation form here use RFC 3597 "\# LEN HEX".
 * Both return MOX_ERR_INVAL for a caller-built record that is malformed
 * (leaving `out` as it was), or MOX_ERR_NOMEM. */
MOX_API int mox_dns_rdata_format(const mox_dns_rr *rr, mox_buf *out);

/* ------------------------------------------------------------ resolvers */

/* Completion callback: `ans` becomes the callee's (free it with
 * mox_dns_answer_free). It is never NULL; failures are statuses.
 * May be called from inside `query` itself (synchronous resolvers do). */
typedef void (*mox_dns_done_fn)(void *arg, mox_dns_answer *ans);

/* The asynchronous resolver interface an embedder implements or gets from
 * one of the constructors below. */
typedef struct mox_resolver {
    size_t size; /* sizeof(mox_resolver), set by MOX_RESOLVER_INIT */
    void *ctx;
    /* Starts a query for `name` (ASCII, trailing dot optional) and `type`.
     * Returns MOX_OK, after which `done` is called exactly once (possibly
     * before `query` returns), or a negative mox_err and never calls
     * `done`. */
    int (*query)(void *ctx, const char *name, uint16_t type,
                 mox_dns_done_fn done, void *arg);
    /* Optional: blocks until at least one pending query has completed;
     * used by the blocking helper for asynchronous resolvers. Returns
     * MOX_OK or a negative mox_err. */
    int (*wait)(void *ctx);
} mox_resolver;

#define MOX_RESOLVER_INIT { sizeof(mox_resolver), NULL, NULL, NULL }

/* Blocking helper: runs one query to completion (calling r->wait while it
 * is pending) and stores the answer in *out (free with
 * mox_dns_answer_free). Returns MOX_OK whenever an answer was produced,
 * whatever its status; the error of `query` or `wait` otherwise;
 * MOX_ERR_STATE when the query is still pending and the resolver has no
 * `wait`. `done` may run inside `query` (synchronous resolvers). A
 * resolver whose `wait` fails must not call `done` for that query later
 * (the helper's state is gone by then). */
MOX_API int mox_dns_lookup(const mox_resolver *r, const char *name,
                           uint16_t type, mox_dns_answer **out);

/* ------------------------------------------------------ in-memory zone */

typedef struct mox_dns_zone mox_dns_zone;

/* Creates an empty zone (free with mox_dns_zone_free, which accepts NULL).
 * MOX_ERR_INVAL (NULL out), MOX_ERR_NOMEM. A zone must not be modified
 * while it is queried from another thread (see mox_dns_zone_query). */
MOX_API int mox_dns_zone_new(mox_dns_zone **out);
MOX_API void mox_dns_zone_free(mox_dns_zone *z);

/* Loads master-file text (RFC 1035 §5) into the zone: $ORIGIN, $TTL,
 * relative names, @, blank owner (= the previous one), optional TTL (also
 * BIND units: 1h30m) and class (IN only) in either order, parentheses
 * across lines, comments, several quoted strings or bare words per TXT,
 * \DDD and \X escapes. Record types: A AAAA CNAME MX NS PTR TXT SPF TLSA
 * SOA, and any type (or TYPEnn) in RFC 3597 generic form "\# LEN HEX".
 * A record without TTL gets $TTL, else the last explicit TTL, else 3600.
 * Extension directives (libmox-specific; `name` relative to the origin):
 *   $SERVFAIL name    every query for name answers SERVFAIL
 *   $TIMEOUT name     every query for name answers MOX_DNS_TIMEOUT
 *   $AUTHENTIC name   answers for name carry the authentic (AD) bit
 * `origin` may be NULL (then "." until $ORIGIN). `filename` is only used
 * in messages. Loading adds to what the zone holds; identical records are
 * kept once. On a syntax error returns MOX_ERR_SYNTAX and ei->msg holds
 * "FILE:LINE: problem"; the zone then keeps the records loaded before.
 * MOX_ERR_NOMEM likewise. See docs/dns.md for the full syntax. */
MOX_API int mox_dns_zone_load(mox_dns_zone *z, const char *text, size_t len,
                              const char *origin, const char *filename,
                              mox_errinfo *ei);

/* Reads and loads a file. MOX_ERR_IO if it cannot be read. */
MOX_API int mox_dns_zone_load_file(mox_dns_zone *z, const char *path,
                                   mox_errinfo *ei);

/* Adds one record given as a master-file line with an absolute owner,
 * e.g. "example.org. 300 IN TXT \"v=spf1 -all\"". */
MOX_API int mox_dns_zone_add(mox_dns_zone *z, const char *line,
                             mox_errinfo *ei);

/* Marks a name as failing or authentic, as the directives above do.
 * `status` is MOX_DNS_SERVFAIL or MOX_DNS_TIMEOUT. */
MOX_API int mox_dns_zone_set_failure(mox_dns_zone *z, const char *name,
                                     int status);
MOX_API int mox_dns_zone_set_authentic(mox_dns_zone *z, const char *name);

/* Answers a query from the zone: case-insensitive names (answers keep the
 * data's case); CNAME chasing up to 8 links (a loop or longer chain gives
 * SERVFAIL); empty non-terminals give NODATA, not NXDOMAIN; wildcards per
 * RFC 4592; MOX_DNS_ANY returns every record at the name. Authentic only
 * when every name of the chain is marked. Returns MOX_OK with *out,
 * MOX_ERR_SYNTAX for an invalid name, MOX_ERR_INVAL, MOX_ERR_NOMEM. Does
 * not modify the zone: concurrent queries on a zone nobody modifies are
 * safe. */
MOX_API int mox_dns_zone_query(const mox_dns_zone *z, const char *name,
                               uint16_t type, mox_dns_answer **out);

/* Fills `r` with a synchronous resolver answering from `z` (which must
 * outlive it). A macro passing the caller's sizeof(mox_resolver): only the
 * members the caller's version knows are written, size included (see
 * mox_logger_logfmt). */
MOX_API void mox_dns_zone_resolver_sized(mox_dns_zone *z, mox_resolver *r,
                                         size_t r_size);
#define mox_dns_zone_resolver(z, r) mox_dns_zone_resolver_sized((z), (r), sizeof *(r))

/* ------------------------------------------------------ wire format */

/* Sans-I/O building blocks for an embedder that runs DNS over its own
 * sockets (the system resolver below uses them too).
 *
 * mox_dns_query_build appends to `out` a query for `name` (ASCII
 * presentation form, trailing dot optional, \DDD escapes allowed) and
 * `type`, class IN, with message ID `id`, the RD and AD flags set (RFC 6840
 * §5.7: ask for the AD bit) and an EDNS0 OPT record advertising 1232-octet
 * UDP replies. Returns MOX_OK, MOX_ERR_SYNTAX for an invalid name,
 * MOX_ERR_NOMEM. */
MOX_API int mox_dns_query_build(const char *name, uint16_t type, uint16_t id,
                                mox_buf *out);

/* Parses a reply to the query built from the same `name`, `type` and
 * `id`. Untrusted input: every length and compression pointer is checked.
 * Returns MOX_OK with *out set (status from the rcode, `authentic` from
 * the AD bit, the answer section reduced to the CNAME chain from `name`
 * and the records of `type` at its end; records of other names are
 * dropped), or MOX_ERR_SYNTAX for a malformed reply or one that does not
 * match the query (wrong ID, not a response, other question): the caller
 * should ignore such a datagram and keep waiting. `*truncated` (optional)
 * is set to 1 when the TC bit is set: retry over TCP. */
MOX_API int mox_dns_reply_parse(const unsigned char *msg, size_t len,
                                const char *name, uint16_t type, uint16_t id,
                                int *truncated, mox_dns_answer **out);

/* ------------------------------------------------------ system resolver */

typedef struct mox_dns_system mox_dns_system;

/* Creates a stub resolver. `server` is NULL (the nameservers, timeout and
 * attempts of /etc/resolv.conf, read with glibc's res_ninit) or "IP",
 * "IP:PORT", "[IPv6]:PORT" or a bare IPv6 address (port 53 by default).
 * `timeout_ms` is per attempt and server (0: resolv.conf's, else 5000),
 * `attempts` the rounds over all servers (0: resolv.conf's, else 2).
 * Queries go over UDP (IPv4 or IPv6) from a fresh random port with a
 * random ID; a truncated reply (TC) is retried over TCP. Statuses stay
 * distinct: an rcode answer (NXDOMAIN, SERVFAIL, ...), MOX_DNS_TIMEOUT when
 * no server answered in time, MOX_DNS_NETERR when none could be reached
 * (e.g. ICMP port unreachable) or they sent only malformed replies. A
 * SERVFAIL or REFUSED makes it try the next server; the last such answer
 * is returned if none does better. Queries carry the AD flag and the
 * answer reports the reply's AD bit: trust it only with a validating
 * resolver on a secure path (e.g. on 127.0.0.1).
 * Returns MOX_OK, MOX_ERR_INVAL (bad server string or negative numbers),
 * MOX_ERR_NOMEM. */
MOX_API int mox_dns_system_new(mox_dns_system **out, const char *server,
                               int timeout_ms, int attempts);
/* NULL-safe. */
MOX_API void mox_dns_system_free(mox_dns_system *s);

/* Blocking query (the call itself may take up to timeout x attempts x
 * servers, plus a TCP exchange). Returns MOX_OK with an answer whatever its
 * status (socket errors give MOX_DNS_NETERR); MOX_ERR_SYNTAX for an invalid
 * name; MOX_ERR_NOMEM. */
MOX_API int mox_dns_system_query(mox_dns_system *s, const char *name,
                                 uint16_t type, mox_dns_answer **out);

/* Fills `r` with a synchronous resolver over `s` (which must outlive it).
 * A macro passing the caller's sizeof(mox_resolver), as
 * mox_dns_zone_resolver. */
MOX_API void mox_dns_system_resolver_sized(mox_dns_system *s, mox_resolver *r,
                                           size_t r_size);
#define mox_dns_system_resolver(s, r) mox_dns_system_resolver_sized((s), (r), sizeof *(r))

MOX_END_DECLS

#endif
