/* Private pieces of the dns module shared between its files. Not installed.
 *
 * Records travel inside the module in a "compact" RDATA form that the answer
 * builder turns into mox_dns_rr without further checks:
 *   A, AAAA            the 4 / 16 address bytes
 *   NS, CNAME, PTR     target name in presentation form (no trailing dot), NUL
 *   MX                 2-byte preference (network order), host name, NUL
 *   TXT, SPF           wire form: one or more <len><bytes> strings
 *   anything else      wire RDATA with names uncompressed (SOA, TLSA, ...)
 */
#ifndef MOX_DNS_PRIV_H
#define MOX_DNS_PRIV_H

#include "core/core_priv.h"
#include "mox/dns.h"

#define MOXI_DNS_NAME_MAX 255    /* wire octets, RFC 1035 §3.1 */
#define MOXI_DNS_TEXT_MAX 1024   /* presentation form, worst case \DDD escapes */
#define MOXI_DNS_CHAIN_MAX 8     /* CNAME links followed */

/* A record as the answer builder takes it. `name` need not be
 * NUL-terminated; `rd` is compact RDATA (see above). */
typedef struct moxi_dns_rec {
    const char *name;
    size_t namelen;
    uint16_t type;
    uint16_t rclass;
    uint32_t ttl;
    const unsigned char *rd;
    size_t rdlen;
} moxi_dns_rec;

/* Builds an answer in a single allocation (free with mox_dns_answer_free). */
int moxi_dns_answer_build(const char *qname, size_t qnamelen, uint16_t qtype,
                          int status, int authentic, const moxi_dns_rec *recs,
                          size_t n, mox_dns_answer **out);

/* 1 for the types whose compact form is wire TXT strings. */
static inline int moxi_dns_is_txt(uint16_t t) { return t == MOX_DNS_TXT || t == MOX_DNS_SPF; }

/* Parses a presentation-form name (with \X and \DDD escapes) into wire form
 * in out[MOXI_DNS_NAME_MAX]. A name without a trailing dot is relative to
 * `origin` (wire form; NULL means the root). "@" alone is the origin when
 * `at_is_origin`. On failure returns MOX_ERR_SYNTAX and sets *why. */
int moxi_dns_name_parse(const char *s, size_t n, const unsigned char *origin,
                        size_t originlen, int at_is_origin, unsigned char *out,
                        size_t *outlen, const char **why);

/* Appends the presentation form of a wire name (no trailing dot; the root
 * is ""), escaping special and non-printable bytes. `lower` folds A-Z. */
long moxi_dns_name_text(const unsigned char *wire, size_t len, int lower,
                        char *out); /* out[MOXI_DNS_TEXT_MAX]; length or -1 */
int moxi_dns_name_format(const unsigned char *wire, size_t len, int lower,
                         mox_buf *out);

/* Reads a possibly compressed name at msg[*off] (msg[0..msglen) is the whole
 * message; compression pointers only when `allow_ptr`), writing uncompressed
 * wire form to out[MOXI_DNS_NAME_MAX] and advancing *off past the name in
 * place. MOX_ERR_SYNTAX when malformed. */
int moxi_dns_wire_name(const unsigned char *msg, size_t msglen, size_t *off,
                       int allow_ptr, unsigned char *out, size_t *outlen);

/* Converts RDATA msg[off..off+len) of a record of `type` into compact form
 * appended to `out`, checking its structure. MOX_ERR_SYNTAX when malformed,
 * MOX_ERR_NOMEM. */
int moxi_dns_rdata_compact(uint16_t type, const unsigned char *msg,
                           size_t msglen, size_t off, size_t len, int allow_ptr,
                           mox_buf *out);

/* Case-insensitive comparison of two wire names. */
int moxi_dns_wire_name_eq(const unsigned char *a, size_t alen,
                          const unsigned char *b, size_t blen);

#endif
