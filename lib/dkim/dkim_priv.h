/* Private pieces of the DKIM module shared between its files. */
#ifndef MOX_DKIM_PRIV_H
#define MOX_DKIM_PRIV_H

#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>

#include "core/core_priv.h"
#include "mox/dkim.h"

/* ------------------------------------------------------------ hashing */

enum { MOXI_DKIM_SHA1 = 1, MOXI_DKIM_SHA256 = 2 };

typedef struct moxi_dkim_hash {
    int alg;
    union {
        mbedtls_sha1_context sha1;
        mbedtls_sha256_context sha256;
    } u;
} moxi_dkim_hash;

void moxi_dkim_hash_init(moxi_dkim_hash *h, int alg);
void moxi_dkim_hash_update(moxi_dkim_hash *h, const void *p, size_t n);
/* Writes the digest (20 or 32 bytes) and returns its length. */
size_t moxi_dkim_hash_final(moxi_dkim_hash *h, unsigned char out[32]);
void moxi_dkim_hash_free(moxi_dkim_hash *h);
size_t moxi_dkim_hash_len(int alg);
int moxi_dkim_alg_hash(int alg);

/* ------------------------------------------------------------ body canon */

#define MOXI_DKIM_NO_LIMIT UINT64_MAX

/* Streaming body canonicaliser + hash. State carries across chunks: a CR
 * waiting for its LF, a pending whitespace run, empty lines not yet known
 * to be trailing. */
typedef struct moxi_dkim_body {
    int canon;
    int hash_alg;
    uint64_t limit;     /* canonical bytes to hash (l=), or NO_LIMIT */
    uint64_t total;     /* canonical bytes produced */
    uint64_t hashed;
    uint64_t pending_crlf;
    int pending_cr;
    int pending_ws;
    int line_content;
    int finished;
    moxi_dkim_hash h;
    size_t outlen;
    unsigned char digest[32];
    size_t digest_len;
    unsigned char out[2048];
} moxi_dkim_body;

void moxi_dkim_body_init(moxi_dkim_body *b, int canon, int hash_alg, uint64_t limit);
void moxi_dkim_body_feed(moxi_dkim_body *b, const unsigned char *p, size_t n);
void moxi_dkim_body_finish(moxi_dkim_body *b);
void moxi_dkim_body_free(moxi_dkim_body *b);

/* ------------------------------------------------------------ headers */

typedef struct moxi_dkim_field {
    size_t off;      /* start in the header buffer */
    size_t len;      /* raw length including the final CRLF */
    size_t name_len; /* name without trailing WSP; 0 when no colon */
    size_t value_off;/* offset of the value (after the colon), relative to off */
} moxi_dkim_field;

/* The header section of a message, collected from a stream. */
typedef struct moxi_dkim_hdrs {
    mox_buf buf;
    moxi_dkim_field *fields;
    size_t nfields;
    size_t max_bytes;
    size_t max_fields;
    int state;   /* end-of-header scanner state */
    int complete;
} moxi_dkim_hdrs;

void moxi_dkim_hdrs_init(moxi_dkim_hdrs *h, size_t max_bytes, size_t max_fields);
void moxi_dkim_hdrs_free(moxi_dkim_hdrs *h);
/* Takes bytes while the header section lasts; *used is how many were
 * header (including the empty line). Sets complete and splits the fields
 * when the empty line is seen. */
int moxi_dkim_hdrs_feed(moxi_dkim_hdrs *h, const unsigned char *p, size_t n, size_t *used);
/* End of input inside the header section. */
int moxi_dkim_hdrs_end(moxi_dkim_hdrs *h);
int moxi_dkim_field_is(const moxi_dkim_hdrs *h, const moxi_dkim_field *f, const char *name,
                       size_t name_len);

/* Header canonicalisation of one raw field (name ':' value CRLF), into
 * `out` (appended). With `strip_b`, the value of the b= tag is deleted and
 * the final CRLF dropped (the DKIM-Signature field itself). */
int moxi_dkim_canon_header(int canon, const unsigned char *raw, size_t len, int strip_b,
                           mox_buf *out);

/* Hashes the fields named in `names` (bottom-up selection) plus the
 * signature field, into *h. */
void moxi_dkim_hash_headers(const moxi_dkim_hdrs *hd, int canon, char *const *names,
                            size_t nnames, const unsigned char *sigfield, size_t sigfield_len,
                            moxi_dkim_hash *h);

/* ------------------------------------------------------------ tags */

typedef struct moxi_dkim_tag {
    const char *name;
    size_t name_len;
    const char *value; /* FWS around removed */
    size_t value_len;
    size_t offset;     /* of the tag name in the input */
} moxi_dkim_tag;

/* Splits a tag-list (RFC 6376 §3.2). `tags` has room for `max`. Rejects
 * syntax errors and duplicates. */
int moxi_dkim_tags(const char *s, size_t len, moxi_dkim_tag *tags, size_t max, size_t *n,
                   mox_errinfo *ei);

/* Normalises a domain (d=, i= domain, s=): ASCII lowercase A-labels. */
int moxi_dkim_domain(const char *s, size_t len, int selector, char **out, mox_errinfo *ei);

/* ------------------------------------------------------------ crypto */

/* Verifies `sig` over the header hash with a parsed key. MOX_OK on a good
 * signature, MOX_ERR_CRYPTO on a bad one. */
int moxi_dkim_key_verify(const mox_dkim_key *key, int alg, const unsigned char *hash,
                         size_t hash_len, const unsigned char *sig, size_t sig_len);

/* Signs the header hash; appends the raw signature to `out`. */
int moxi_dkim_privkey_sign(const mox_dkim_privkey *k, int alg, const unsigned char *hash,
                           size_t hash_len, mox_buf *out);

#endif
