/*
 * libmox DKIM (RFC 6376, RFC 8301, RFC 8463): a streaming verifier and a
 * streaming signer, RSA (rsa-sha256; rsa-sha1 verified only when allowed)
 * and Ed25519 (ed25519-sha256).
 *
 * Both are engines of the one contract (mox/engine.h): they take the
 * message through feed (chunks of any size, down to one byte, as it comes
 * off the wire: CRLF line endings, the header section, an empty line, the
 * body) and eof, say what they wait for through want, and give a result
 * once MOX_WANT_DONE is set. Only the header section is buffered (bounded
 * by configurable limits); the body is canonicalised and hashed on the
 * fly, so a message of any size is handled in constant memory.
 *
 * The verifier does no I/O: as soon as the header section is complete it
 * hands out every key question at once (MOX_QUERY_DNS, TXT
 * "<selector>._domainkey.<domain>", one per (selector, domain) pair)
 * through mox_dkim_verifier_query, and takes the answers through
 * mox_dkim_verifier_answer in any order, before, during or after the
 * body. mox_dkim_verify_message is the blocking convenience over
 * mox_engine_run.
 *
 * Results are per signature, in RFC 8601 §2.7.1 words (pass, fail,
 * neutral, policy, temperror, permerror) with a short reason.
 *
 * Threading: objects are not thread-safe; distinct objects are independent.
 * A mox_dkim_privkey may be shared by several signers only within one
 * thread (RSA signing updates its blinding generator).
 */
#ifndef MOX_DKIM_H
#define MOX_DKIM_H

#include "core.h"
#include "dns.h"
#include "engine.h"

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

/* Verifier configuration. Zero means the default in every field, so a
 * zeroed struct with `size` set is valid; MOX_DKIM_VERIFY_CONFIG_INIT (or
 * mox_dkim_verify_config_init) spells the defaults out. */
typedef struct mox_dkim_verify_config {
    size_t size;                /* sizeof(mox_dkim_verify_config) */
    const mox_env *env;         /* clock (t=, x=), logger, metrics; NULL: defaults */
    int allow_rsa_sha1;         /* 0 (RFC 8301 §3.1): rsa-sha1 gives "policy" */
    unsigned min_rsa_bits;      /* smaller keys give "policy" (0: 1024, RFC 8301 §3.2) */
    unsigned max_rsa_bits;      /* larger keys give "permerror" (0: 4096, RFC 6376
                                   §3.3.3 lets verifiers bound the key size) */
    size_t max_signatures;      /* signatures evaluated; more give "policy" (0: 5;
                                   RFC 6376 §6.1 lets verifiers limit them) */
    size_t max_header_bytes;    /* header section limit (0: 256 KiB) */
    size_t max_header_fields;   /* header field limit (0: 1000) */
    int64_t max_clock_skew;     /* seconds t= may lie in the future (0: 300;
                                   RFC 6376 §3.5 t=) */
} mox_dkim_verify_config;

#define MOX_DKIM_VERIFY_CONFIG_INIT \
    { sizeof(mox_dkim_verify_config), NULL, 0, 1024, 4096, 5, 256 * 1024, 1000, 300 }

/* Function form of MOX_DKIM_VERIFY_CONFIG_INIT for bindings: fills the
 * first `size` bytes of `cfg` (pass sizeof *cfg) with the defaults and
 * sets cfg->size. NULL-safe; a size too small for the size member does
 * nothing. */
MOX_API void mox_dkim_verify_config_init(mox_dkim_verify_config *cfg, size_t size);

/* Result of one DKIM-Signature field. Owned by the verifier; valid until
 * it is freed. Strings are NUL-terminated; domain, selector, identity and
 * algorithm are NULL when the signature could not be parsed that far. */
typedef struct mox_dkim_sig_result {
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
} mox_dkim_sig_result;

/* The outcome of a verification: one result per DKIM-Signature field, in
 * the order the fields appear in the message (top first). An array of
 * pointers, so that mox_dkim_sig_result may grow without breaking
 * programs built against an older header. Owned by the verifier. */
typedef struct mox_dkim_verifier_outcome {
    size_t count;                              /* 0: the message is unsigned */
    const mox_dkim_sig_result *const *results; /* count entries */
} mox_dkim_verifier_outcome;

typedef struct mox_dkim_verifier mox_dkim_verifier;

/* Creates a verifier. `cfg` may be NULL (defaults); it is copied up to its
 * size (the env it points to must outlive the verifier). Errors, with `ei`
 * filled: MOX_ERR_INVAL (NULL out; cfg->size smaller than the size
 * member), MOX_ERR_NOMEM. */
MOX_API int mox_dkim_verifier_new(mox_dkim_verifier **out, const mox_dkim_verify_config *cfg,
                                  mox_errinfo *ei);
/* NULL-safe. */
MOX_API void mox_dkim_verifier_free(mox_dkim_verifier *v);

/* MOX_WANT_* bits: READ until eof; QUERY while a key question was not
 * handed out; ANSWER while one handed out is unanswered; DONE once eof
 * was fed and every question answered (then the result is final). 0 once
 * the verifier failed (MOX_ERR_LIMIT or MOX_ERR_NOMEM from feed, eof or
 * answer): it then takes nothing more and gives no result. */
MOX_API unsigned mox_dkim_verifier_want(const mox_dkim_verifier *v);

/* Feeds the next `len` bytes of the message (any split). Takes them all:
 * returns `len`. Errors (recorded for mox_engine_error): MOX_ERR_INVAL
 * (NULL v, NULL data with len > 0), MOX_ERR_STATE (after eof or failure),
 * MOX_ERR_LIMIT (the header section exceeds max_header_bytes or
 * max_header_fields; the verifier has failed), MOX_ERR_NOMEM (failed). */
MOX_API int64_t mox_dkim_verifier_feed(mox_dkim_verifier *v, const void *data, size_t len);

/* Marks the end of the message. A message without an empty line is all
 * header (RFC 5322 §3.5: the body is optional). Errors as feed. */
MOX_API int mox_dkim_verifier_eof(mox_dkim_verifier *v);

/* Hands out the next key question not handed out yet: kind MOX_QUERY_DNS,
 * u.dns.type MOX_DNS_TXT, u.dns.name "<selector>._domainkey.<domain>"
 * (RFC 6376 §3.6.2.1; lowercase, no trailing dot). Every question is
 * known once the header section is complete, so all can be asked at
 * once; each (selector, domain) pair is asked once however many
 * signatures share it. The query's strings belong to the verifier and
 * stay valid until the question is answered or the verifier freed.
 * Returns MOX_OK, MOX_ERR_AGAIN (nothing to ask now: the header section
 * is not complete, or every question was handed out), MOX_ERR_INVAL. */
MOX_API int mox_dkim_verifier_query(mox_dkim_verifier *v, mox_query *q);

/* Answers the question a->id names (any order; `a` is lent: the verifier
 * copies what it keeps). NXDOMAIN and NODATA make the signatures that
 * use the key "permerror (no key for signature)" (RFC 6376 §6.1.2 step
 * 3), more than one TXT record "permerror" (§3.6.2.2), every other
 * failure "temperror (key unavailable)". Errors (recorded for
 * mox_engine_error, the verifier unchanged): MOX_ERR_INVAL (NULL answer,
 * not a DNS answer, a type other than TXT), MOX_ERR_NOTFOUND (no
 * question with that id), MOX_ERR_STATE (answered already, or not handed
 * out yet); MOX_ERR_NOMEM (the verifier has failed). */
MOX_API int mox_dkim_verifier_answer(mox_dkim_verifier *v, const mox_answer *a);

/* The outcome, or NULL until MOX_WANT_DONE is set (and after a failure).
 * Owned by the verifier, valid until it is freed. */
MOX_API const mox_dkim_verifier_outcome *mox_dkim_verifier_result(const mox_dkim_verifier *v);

/* The generic view (mox/engine.h): lives inside `v`, never freed on its
 * own. NULL for NULL. */
MOX_API mox_engine *mox_dkim_verifier_engine(mox_dkim_verifier *v);

/* Blocking convenience: verifies a whole message held in memory, asking
 * the key questions through `r` with mox_engine_run (all handed out
 * before any is waited for, so a resolver with a wait() runs them in
 * parallel; a lookup the resolver cannot start is a DNS failure,
 * "temperror"). On MOX_OK *out holds a finished verifier to read the
 * result from (free it). Errors, with `ei` filled and *out NULL:
 * MOX_ERR_INVAL (NULL out or r, NULL msg with len > 0), MOX_ERR_LIMIT
 * (header section over the limits), MOX_ERR_NOMEM, or an error of the
 * resolver's wait(). */
MOX_API int mox_dkim_verify_message(const mox_dkim_verify_config *cfg, const mox_resolver *r,
                                    const void *msg, size_t len, mox_dkim_verifier **out,
                                    mox_errinfo *ei);

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

/* One signature to add. Initialise with MOX_DKIM_SIGN_PARAMS_INIT (or
 * mox_dkim_sign_params_init): unlike a config, the flags here are plain
 * choices, and the defaults below are not all zero. */
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

/* Function form of MOX_DKIM_SIGN_PARAMS_INIT (pass sizeof *p); as
 * mox_dkim_verify_config_init. */
MOX_API void mox_dkim_sign_params_init(mox_dkim_sign_params *p, size_t size);

/* Signer limits. Zero means the default in every field; NULL config gives
 * the defaults. */
typedef struct mox_dkim_sign_config {
    size_t size;                /* sizeof(mox_dkim_sign_config) */
    const mox_env *env;         /* clock for t=; NULL: defaults */
    size_t max_header_bytes;    /* 0: 256 KiB */
    size_t max_header_fields;   /* 0: 1000 */
} mox_dkim_sign_config;

#define MOX_DKIM_SIGN_CONFIG_INIT { sizeof(mox_dkim_sign_config), NULL, 256 * 1024, 1000 }

/* Function form of MOX_DKIM_SIGN_CONFIG_INIT (pass sizeof *cfg). */
MOX_API void mox_dkim_sign_config_init(mox_dkim_sign_config *cfg, size_t size);

/* The signer's result: the DKIM-Signature header fields (CRLF line ends,
 * folded to 78 columns, each ending in CRLF), in the order they are to be
 * prepended to the message. `fields` is NUL-terminated and owned by the
 * signer, valid until it is freed. */
typedef struct mox_dkim_signer_outcome {
    const char *fields;
    size_t len;   /* bytes of `fields` without the NUL */
    size_t count; /* number of fields (the n given to _new) */
} mox_dkim_signer_outcome;

typedef struct mox_dkim_signer mox_dkim_signer;

/* Creates a signer adding `n` signatures (1..16) in one pass over the
 * message. `cfg` may be NULL; it and the params are copied up to their
 * sizes (keys are referenced, not copied). Errors, with `ei` filled:
 * MOX_ERR_INVAL (NULL out, NULL params, n outside 1..16, a size smaller
 * than the size member, missing key/domain/selector, unknown
 * canonicalisation, bad domain, selector or identity, a header list
 * without From or with an empty or invalid name: ei->detail a
 * MOX_DKIM_ERR_* code where one applies), MOX_ERR_NOMEM. */
MOX_API int mox_dkim_signer_new(mox_dkim_signer **out, const mox_dkim_sign_config *cfg,
                                const mox_dkim_sign_params *params, size_t n, mox_errinfo *ei);
/* NULL-safe. */
MOX_API void mox_dkim_signer_free(mox_dkim_signer *s);

/* MOX_WANT_READ until eof, then MOX_WANT_DONE (0 once the signer failed). */
MOX_API unsigned mox_dkim_signer_want(const mox_dkim_signer *s);

/* Feeds the message, any split; takes every byte (returns `len`). Errors
 * (recorded for mox_engine_error): MOX_ERR_INVAL, MOX_ERR_STATE (after
 * eof or failure), MOX_ERR_LIMIT (the header section exceeds the limits;
 * the signer has failed), MOX_ERR_NOMEM. */
MOX_API int64_t mox_dkim_signer_feed(mox_dkim_signer *s, const void *data, size_t len);

/* Ends the message and computes the signatures (RFC 6376 §5). Errors
 * (recorded for mox_engine_error, which then has ei.detail): MOX_ERR_STATE
 * (second eof, or after a failure), MOX_ERR_SYNTAX with
 * MOX_DKIM_ERR_HEADERS (the message has no From field, which RFC 6376
 * §5.4 requires to be signed; or its first line is a continuation line,
 * which would join the prepended field, RFC 5322 §2.2), MOX_ERR_LIMIT (header section over the limits,
 * or a value too long for a field), MOX_ERR_CRYPTO (the key failed to
 * sign), MOX_ERR_NOMEM. After any error the signer has failed. */
MOX_API int mox_dkim_signer_eof(mox_dkim_signer *s);

/* The fields, or NULL until MOX_WANT_DONE is set. Owned by the signer. */
MOX_API const mox_dkim_signer_outcome *mox_dkim_signer_result(const mox_dkim_signer *s);

/* The generic view (mox/engine.h); NULL for NULL. */
MOX_API mox_engine *mox_dkim_signer_engine(mox_dkim_signer *s);

MOX_END_DECLS

#endif
