/*
 * libmox DKIM (RFC 6376, RFC 8301, RFC 8463): a streaming verifier and a
 * streaming signer, RSA (rsa-sha256; rsa-sha1 verified only when allowed)
 * and Ed25519 (ed25519-sha256).
 *
 * Both engines take the message in chunks of any size (down to one byte),
 * as it comes off the wire: CRLF line endings, the header section, an empty
 * line, the body. Only the header section is buffered (bounded by a
 * configurable limit); the body is canonicalised and hashed on the fly, so
 * a message of any size is handled in constant memory.
 *
 * The verifier does no I/O: once the header section has been fed it asks
 * for key records (one TXT lookup per (selector, domain) pair) through
 * mox_dkim_verifier_next_query(), and the embedder answers with
 * mox_dkim_verifier_answer() whenever the answers arrive, before, during or
 * after the body. mox_dkim_verifier_resolve() and mox_dkim_verify_message()
 * are blocking conveniences over a mox_resolver.
 *
 * Results are per signature, in RFC 8601 words (pass, fail, neutral,
 * policy, temperror, permerror) with a short reason.
 *
 * Threading: objects are not thread-safe; distinct objects are independent.
 * A mox_dkim_privkey may be shared by several signers only within one
 * thread (RSA signing updates its blinding generator).
 */
#ifndef MOX_DKIM_H
#define MOX_DKIM_H

#include "core.h"
#include "dns.h"

MOX_BEGIN_DECLS

/* ------------------------------------------------------------ constants */

/* Signature algorithms (a=). */
enum {
    MOX_DKIM_ALG_UNKNOWN = 0,
    MOX_DKIM_ALG_RSA_SHA1 = 1,
    MOX_DKIM_ALG_RSA_SHA256 = 2,
    MOX_DKIM_ALG_ED25519_SHA256 = 3
};

/* Canonicalisation algorithms (c=). */
enum { MOX_DKIM_SIMPLE = 0, MOX_DKIM_RELAXED = 1 };

/* Key types (k= of a key record). */
enum { MOX_DKIM_KEY_RSA = 1, MOX_DKIM_KEY_ED25519 = 2 };

/* Hash algorithm bits (h= of a key record). */
#define MOX_DKIM_HASH_SHA1 0x1u
#define MOX_DKIM_HASH_SHA256 0x2u

/* Key record flags (t=). */
#define MOX_DKIM_KEY_TESTING 0x1u /* t=y */
#define MOX_DKIM_KEY_STRICT 0x2u  /* t=s: i= domain must equal d= */

/* Verification outcome of one signature, RFC 8601 §2.7.1 words. */
typedef enum mox_dkim_status {
    MOX_DKIM_PASS = 1,
    MOX_DKIM_FAIL,
    MOX_DKIM_NEUTRAL,
    MOX_DKIM_POLICY,
    MOX_DKIM_TEMPERROR,
    MOX_DKIM_PERMERROR
} mox_dkim_status;

/* "pass", "fail", ...; "none" for 0, "unknown" otherwise. Static. */
MOX_API const char *mox_dkim_status_name(int status);
/* "rsa-sha256", ...; NULL for unknown. Static. */
MOX_API const char *mox_dkim_algorithm_name(int alg);
/* "simple" / "relaxed"; NULL for unknown. Static. */
MOX_API const char *mox_dkim_canon_name(int canon);

/* ------------------------------------------------------------ parsing */

/* A parsed DKIM-Signature field value (RFC 6376 §3.5). Allocated by
 * mox_dkim_sig_parse, read-only for the caller, released with
 * mox_dkim_sig_free. Strings are NUL-terminated and owned by the struct. */
typedef struct mox_dkim_sig {
    int version;            /* v=, always 1 */
    int algorithm;          /* MOX_DKIM_ALG_* (never UNKNOWN once parsed) */
    int header_canon;       /* MOX_DKIM_SIMPLE / MOX_DKIM_RELAXED */
    int body_canon;
    char *domain;           /* d=, lowercase ASCII (A-labels) */
    char *selector;         /* s=, lowercase ASCII */
    char *identity;         /* i= as given, or "@" + domain when absent */
    char *identity_domain;  /* domain part of i=, lowercase ASCII */
    size_t nheaders;        /* h=, as given (case preserved) */
    char **headers;
    unsigned char *bh;      /* bh=, decoded */
    size_t bh_len;
    unsigned char *b;       /* b=, decoded */
    size_t b_len;
    char *b_base64;         /* b= with whitespace removed (header.b) */
    int has_length;         /* l= present */
    uint64_t length;        /* l= */
    int64_t timestamp;      /* t=, -1 when absent */
    int64_t expiration;     /* x=, -1 when absent */
} mox_dkim_sig;

/* Detail codes (ei->detail) of signature and key-record parse errors. */
enum {
    MOX_DKIM_ERR_TAG_SYNTAX = 1, /* malformed tag-list */
    MOX_DKIM_ERR_TAG_DUP,        /* a tag appears twice */
    MOX_DKIM_ERR_TAG_MISSING,    /* a required tag is absent */
    MOX_DKIM_ERR_VERSION,        /* v= not 1 (signature) / not DKIM1 or not first (key) */
    MOX_DKIM_ERR_ALGORITHM,      /* a= unknown */
    MOX_DKIM_ERR_CANON,          /* c= unknown */
    MOX_DKIM_ERR_BASE64,         /* b=, bh= or p= not base64 */
    MOX_DKIM_ERR_DOMAIN,         /* d= or s= not a domain name */
    MOX_DKIM_ERR_IDENTITY,       /* i= malformed or not within d= */
    MOX_DKIM_ERR_HEADERS,        /* h= malformed or without From */
    MOX_DKIM_ERR_NUMBER,         /* l=, t= or x= malformed, or x= < t= */
    MOX_DKIM_ERR_QUERY,          /* q= without dns/txt */
    MOX_DKIM_ERR_KEY_TYPE,       /* k= unknown */
    MOX_DKIM_ERR_KEY_DATA,       /* p= not a valid public key */
    MOX_DKIM_ERR_BODY_HASH_LEN   /* bh= of the wrong length for a= */
};

/* Parses the value of a DKIM-Signature header field (everything after the
 * colon, folding allowed). Strict: duplicate tags, missing required tags
 * (v a b bh d h s), bad base64, h= without From, i= outside d=, unknown
 * algorithms and canonicalisations all fail with MOX_ERR_SYNTAX (or
 * MOX_ERR_UNSUPPORTED for well-formed but unknown algorithms) and
 * ei->detail set. z= and unknown tags are ignored. *out: free with
 * mox_dkim_sig_free. */
MOX_API int mox_dkim_sig_parse(const char *value, size_t len, mox_dkim_sig **out,
                               mox_errinfo *ei);
MOX_API void mox_dkim_sig_free(mox_dkim_sig *sig);

/* A parsed key record (RFC 6376 §3.6.1, RFC 8463). */
typedef struct mox_dkim_key {
    int type;               /* MOX_DKIM_KEY_RSA / MOX_DKIM_KEY_ED25519 */
    unsigned hashes;        /* MOX_DKIM_HASH_* allowed by h= (both when absent) */
    unsigned flags;         /* MOX_DKIM_KEY_TESTING | MOX_DKIM_KEY_STRICT */
    int email;              /* s= allows email ("*" or "email"; 1 when absent) */
    int revoked;            /* p= empty */
    unsigned bits;          /* RSA modulus size; 256 for Ed25519; 0 when revoked */
    unsigned char *pubkey;  /* p= decoded (DER for RSA, 32 raw bytes for Ed25519) */
    size_t pubkey_len;
    void *priv_;            /* library-private (parsed RSA key) */
} mox_dkim_key;

/* Parses a key record (the concatenated strings of one TXT record). An
 * RSA p= may be SubjectPublicKeyInfo or a bare RSAPublicKey. A revoked key
 * (empty p=) parses successfully with revoked = 1. RSA keys larger than
 * `max_rsa_bits` (0: 4096) are refused with MOX_ERR_LIMIT before any
 * arithmetic is done on them. *out: free with mox_dkim_key_free. */
MOX_API int mox_dkim_key_parse(const char *txt, size_t len, unsigned max_rsa_bits,
                               mox_dkim_key **out, mox_errinfo *ei);
MOX_API void mox_dkim_key_free(mox_dkim_key *key);

/* ------------------------------------------------------------ verifying */

/* Verifier configuration. Initialise with MOX_DKIM_VERIFY_CONFIG_INIT. */
typedef struct mox_dkim_verify_config {
    size_t size;                /* sizeof(mox_dkim_verify_config) */
    const mox_env *env;         /* clock (t=, x=), logger; NULL: defaults */
    int allow_rsa_sha1;         /* 0 (RFC 8301): rsa-sha1 gives "policy" */
    unsigned min_rsa_bits;      /* smaller keys give "policy" (1024) */
    unsigned max_rsa_bits;      /* larger keys give "permerror" (4096) */
    size_t max_signatures;      /* signatures evaluated; more give "policy" (5) */
    size_t max_header_bytes;    /* header section limit (256 KiB) */
    size_t max_header_fields;   /* header field limit (1000) */
    int64_t max_clock_skew;     /* seconds t= may lie in the future (300) */
} mox_dkim_verify_config;

#define MOX_DKIM_VERIFY_CONFIG_INIT \
    { sizeof(mox_dkim_verify_config), NULL, 0, 1024, 4096, 5, 256 * 1024, 1000, 300 }

/* Result of one DKIM-Signature field, in the order the fields appear in
 * the message (top first). Owned by the verifier; valid until it is freed.
 * Strings are NUL-terminated; domain, selector, identity and algorithm are
 * NULL when the signature could not be parsed that far. */
typedef struct mox_dkim_result {
    int status;                 /* mox_dkim_status */
    const char *reason;         /* short reason, e.g. "signature expired"; "" for pass */
    const char *detail;         /* more detail (parse error text), or "" */
    const char *domain;         /* d= */
    const char *selector;       /* s= */
    const char *identity;       /* i= (or "@d") */
    const char *algorithm;      /* a= name */
    const char *header_b;       /* b= without whitespace (header.b), or NULL */
    int header_canon;           /* MOX_DKIM_SIMPLE / RELAXED (-1 unknown) */
    int body_canon;
    int body_length_limited;    /* l= present: only part of the body is signed */
    uint64_t body_length;       /* l= value */
    uint64_t body_canon_length; /* length of the whole canonicalised body */
    unsigned key_bits;          /* key size when a key was found, else 0 */
    int key_testing;            /* key record has t=y */
    int64_t timestamp;          /* t=, -1 when absent */
    int64_t expiration;         /* x=, -1 when absent */
    const mox_dkim_sig *sig;    /* parsed signature, or NULL */
} mox_dkim_result;

typedef struct mox_dkim_verifier mox_dkim_verifier;

/* Creates a verifier. `cfg` may be NULL (defaults); it is copied (the env
 * it points to must outlive the verifier). */
MOX_API int mox_dkim_verifier_new(mox_dkim_verifier **out, const mox_dkim_verify_config *cfg);
MOX_API void mox_dkim_verifier_free(mox_dkim_verifier *v);

/* Feeds the next `len` bytes of the message (any split). Returns MOX_OK,
 * MOX_ERR_LIMIT when the header section exceeds the configured limits (the
 * verifier is then unusable), MOX_ERR_STATE after mox_dkim_verifier_end,
 * MOX_ERR_NOMEM. */
MOX_API int mox_dkim_verifier_feed(mox_dkim_verifier *v, const void *data, size_t len);

/* Marks the end of the message. A message without an empty line is all
 * header. */
MOX_API int mox_dkim_verifier_end(mox_dkim_verifier *v);

/* Gives the next key record still to be looked up: the TXT name
 * "<selector>._domainkey.<domain>" (no trailing dot; valid until that name
 * is answered or the verifier is freed). Returns MOX_OK, MOX_ERR_AGAIN when
 * the header section is not complete yet, or MOX_ERR_NOTFOUND when no
 * lookup is outstanding. A name is given once until it is answered (call
 * again to get the next one); each (selector, domain) pair is asked once. */
MOX_API int mox_dkim_verifier_next_query(mox_dkim_verifier *v, const char **name);

/* Answers the lookup of `name` (as given by next_query) with a DNS answer
 * (copied; the caller keeps ownership). NXDOMAIN and NODATA give
 * "permerror (no key)", other failures "temperror". MOX_ERR_NOTFOUND if
 * `name` was not asked or was already answered. */
MOX_API int mox_dkim_verifier_answer(mox_dkim_verifier *v, const char *name,
                                     const mox_dns_answer *ans);

/* Same with plain values: `status` a mox_dns_status, `txt` the TXT records
 * at the name (each the concatenation of its strings). */
MOX_API int mox_dkim_verifier_answer_txt(mox_dkim_verifier *v, const char *name, int status,
                                         const char *const *txt, const size_t *txt_len,
                                         size_t ntxt);

/* 1 when every result is final (end fed and every lookup answered). */
MOX_API int mox_dkim_verifier_done(const mox_dkim_verifier *v);

/* Number of DKIM-Signature fields (0 for an unsigned message) and the
 * result of the i-th. Results are final only once done() is 1; before,
 * they read "temperror" with reason "incomplete". */
MOX_API size_t mox_dkim_verifier_count(const mox_dkim_verifier *v);
MOX_API const mox_dkim_result *mox_dkim_verifier_result(const mox_dkim_verifier *v, size_t i);

/* Blocking helper: answers every outstanding lookup through `r`
 * (mox_dns_lookup). The header section must be complete. */
MOX_API int mox_dkim_verifier_resolve(mox_dkim_verifier *v, const mox_resolver *r);

/* Blocking helper: verifies a whole message held in memory. On MOX_OK *out
 * holds a finished verifier to read results from (free it). */
MOX_API int mox_dkim_verify_message(const mox_dkim_verify_config *cfg, const mox_resolver *r,
                                    const void *msg, size_t len, mox_dkim_verifier **out);

/* ------------------------------------------------------------ keys */

typedef struct mox_dkim_privkey mox_dkim_privkey;

/* Loads a private key: PEM or DER; RSA as PKCS#1 or PKCS#8, Ed25519 as
 * PKCS#8 (RFC 8410, as `openssl genpkey -algorithm ed25519` writes it), or
 * an Ed25519 32-byte seed in base64 (RFC 8463 style). `rnd` (NULL: system)
 * seeds RSA blinding. MOX_ERR_SYNTAX for unparsable data,
 * MOX_ERR_UNSUPPORTED for other key types, MOX_ERR_LIMIT for RSA keys
 * outside 1024..4096 bits. */
MOX_API int mox_dkim_privkey_load(const void *data, size_t len, const mox_random *rnd,
                                  mox_dkim_privkey **out, mox_errinfo *ei);

/* Generates a key: MOX_DKIM_KEY_RSA with `bits` 2048..4096 (0: 2048), or
 * MOX_DKIM_KEY_ED25519 (`bits` ignored). */
MOX_API int mox_dkim_privkey_generate(int type, unsigned bits, const mox_random *rnd,
                                      mox_dkim_privkey **out);
MOX_API void mox_dkim_privkey_free(mox_dkim_privkey *k);
MOX_API int mox_dkim_privkey_type(const mox_dkim_privkey *k);
MOX_API unsigned mox_dkim_privkey_bits(const mox_dkim_privkey *k);

/* Appends the key as unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"). */
MOX_API int mox_dkim_privkey_pem(const mox_dkim_privkey *k, mox_buf *out);

/* Appends the public key record, "v=DKIM1; k=rsa; p=..." (h=sha256 is not
 * added: it would only narrow what the key accepts). */
MOX_API int mox_dkim_privkey_record(const mox_dkim_privkey *k, mox_buf *out);

/* Appends a master-file line "SELECTOR._domainkey.DOMAIN. IN TXT "..." ..."
 * with the record split into quoted strings of at most 255 bytes (no
 * newline). */
MOX_API int mox_dkim_txt_rr(const char *selector, const char *domain, const char *record,
                            size_t len, mox_buf *out);

/* ------------------------------------------------------------ signing */

/* The headers mox signs by default, each oversigned. */
#define MOX_DKIM_DEFAULT_HEADERS \
    "From:To:Cc:Bcc:Reply-To:References:In-Reply-To:Subject:Date:Message-ID:Content-Type"

/* One signature to add. Initialise with MOX_DKIM_SIGN_PARAMS_INIT. */
typedef struct mox_dkim_sign_params {
    size_t size;                 /* sizeof(mox_dkim_sign_params) */
    const mox_dkim_privkey *key; /* required; must outlive the signer */
    const char *domain;          /* d=, required (Unicode or ASCII) */
    const char *selector;        /* s=, required */
    const char *identity;        /* i=, optional ("user@sub.d") */
    int header_canon;            /* default relaxed */
    int body_canon;              /* default relaxed */
    const char *headers;         /* colon-separated names; NULL: MOX_DKIM_DEFAULT_HEADERS */
    int oversign;                /* sign each name once more than present (1) */
    int timestamp;               /* add t= (1) */
    int64_t expire_seconds;      /* add x= t + this when > 0 (0) */
    int body_length;             /* add l= with the whole body length (0) */
} mox_dkim_sign_params;

#define MOX_DKIM_SIGN_PARAMS_INIT \
    { sizeof(mox_dkim_sign_params), NULL, NULL, NULL, NULL, MOX_DKIM_RELAXED, MOX_DKIM_RELAXED, \
      NULL, 1, 1, 0, 0 }

/* Signer limits; NULL config gives the defaults. */
typedef struct mox_dkim_sign_config {
    size_t size;                /* sizeof(mox_dkim_sign_config) */
    const mox_env *env;         /* clock for t=; NULL: defaults */
    size_t max_header_bytes;    /* 256 KiB */
    size_t max_header_fields;   /* 1000 */
} mox_dkim_sign_config;

#define MOX_DKIM_SIGN_CONFIG_INIT { sizeof(mox_dkim_sign_config), NULL, 256 * 1024, 1000 }

typedef struct mox_dkim_signer mox_dkim_signer;

/* Creates a signer adding `n` signatures (1..16) in one pass over the
 * message. Params are validated and copied (keys are referenced).
 * MOX_ERR_INVAL with ei for bad params. */
MOX_API int mox_dkim_signer_new(mox_dkim_signer **out, const mox_dkim_sign_config *cfg,
                                const mox_dkim_sign_params *params, size_t n, mox_errinfo *ei);
MOX_API void mox_dkim_signer_free(mox_dkim_signer *s);

/* Feeds the message, any split. MOX_ERR_LIMIT when the header section
 * exceeds the limits. */
MOX_API int mox_dkim_signer_feed(mox_dkim_signer *s, const void *data, size_t len);

/* Ends the message and appends the DKIM-Signature header fields (CRLF line
 * ends, folded to 78 columns, each ending in CRLF) to `out`, in the order
 * they are to be prepended to the message. MOX_ERR_SYNTAX with ei when the
 * message has no From field. Can be called once. */
MOX_API int mox_dkim_signer_finish(mox_dkim_signer *s, mox_buf *out, mox_errinfo *ei);

MOX_END_DECLS

#endif
