/*
 * libmox sasl: SASL server and client engines (PLAIN, LOGIN, CRAM-MD5,
 * SCRAM-SHA-1, SCRAM-SHA-256 and their -PLUS variants, EXTERNAL), derived
 * credentials, mechanism lists.
 *
 * Sans-I/O: one engine per authentication exchange. The protocol layer
 * (SMTP, IMAP) base64-decodes what the peer sent, hands the raw bytes to
 * mox_sasl_server_step() / mox_sasl_client_step(), and base64-encodes what
 * comes back. The engine never blocks; credential lookups go through a
 * callback that may ask to be retried later (MOX_SASL_PENDING).
 *
 * Threading: engines and configs are not thread-safe; distinct engines are
 * independent. The free functions (derivation, serialisation, lists) are
 * reentrant.
 *
 * Secrets: passwords and keys the library derives or copies are wiped
 * (mbedtls_platform_zeroize) before their memory is released.
 */
#ifndef MOX_SASL_H
#define MOX_SASL_H

#include "core.h"

MOX_BEGIN_DECLS

/* ---------------------------------------------------------------- names */

/* Mechanisms, numbered in no particular order (values are stable). */
typedef enum mox_sasl_mech {
    MOX_SASL_NONE = 0,
    MOX_SASL_PLAIN = 1,
    MOX_SASL_LOGIN = 2,
    MOX_SASL_CRAM_MD5 = 3,
    MOX_SASL_SCRAM_SHA_1 = 4,
    MOX_SASL_SCRAM_SHA_1_PLUS = 5,
    MOX_SASL_SCRAM_SHA_256 = 6,
    MOX_SASL_SCRAM_SHA_256_PLUS = 7,
    MOX_SASL_EXTERNAL = 8
} mox_sasl_mech;

/* Bit for a mechanism in the `mechs` masks below. */
#define MOX_SASL_BIT(m) (1u << (unsigned)(m))
/* Every mechanism this version implements. */
#define MOX_SASL_ALL_MECHS                                                        \
    (MOX_SASL_BIT(MOX_SASL_PLAIN) | MOX_SASL_BIT(MOX_SASL_LOGIN) |                \
     MOX_SASL_BIT(MOX_SASL_CRAM_MD5) | MOX_SASL_BIT(MOX_SASL_SCRAM_SHA_1) |       \
     MOX_SASL_BIT(MOX_SASL_SCRAM_SHA_1_PLUS) | MOX_SASL_BIT(MOX_SASL_SCRAM_SHA_256) | \
     MOX_SASL_BIT(MOX_SASL_SCRAM_SHA_256_PLUS) | MOX_SASL_BIT(MOX_SASL_EXTERNAL))

/* The IANA name ("SCRAM-SHA-256-PLUS"); NULL for an unknown value. Static
 * storage. */
MOX_API const char *mox_sasl_mech_name(mox_sasl_mech m);

/* Looks a name up, ASCII case-insensitively. MOX_SASL_NONE if unknown. */
MOX_API mox_sasl_mech mox_sasl_mech_parse(const char *name, size_t len);

/* ---------------------------------------------------------------- channel */

/* Channel-binding types (RFC 5929, RFC 9266). */
typedef enum mox_sasl_cb_type {
    MOX_SASL_CB_NONE = 0,
    MOX_SASL_CB_TLS_UNIQUE = 1,
    MOX_SASL_CB_TLS_EXPORTER = 2
} mox_sasl_cb_type;

#define MOX_SASL_CB_BIT(t) (1u << (unsigned)(t))
/* Largest channel-binding value the engines accept from the transport. */
#define MOX_SASL_CB_MAX 64

/* What the transport knows about the connection. Implemented by the TLS
 * adapter of the embedder (or by tests); read during mox_*_new and steps,
 * so it must outlive the engine.
 *  - `tls`: the connection is protected by TLS.
 *  - `cb_types`: MOX_SASL_CB_BIT()s of the binding types `binding` can
 *    supply on this connection (tls-unique exists only below TLS 1.3;
 *    tls-exporter needs TLS 1.3 or extended master secret).
 *  - `binding`: writes the binding data of `type` into `out` (room for
 *    MOX_SASL_CB_MAX bytes), sets *out_len, returns MOX_OK, or
 *    MOX_ERR_UNSUPPORTED when the type is unavailable.
 *  - `external_identity`: server side: the account the embedder matched to
 *    the TLS client certificate (e.g. by its public key), NUL-terminated
 *    UTF-8, or NULL when no certificate was presented or none matched.
 *    Client side: non-NULL when a client certificate was presented (the
 *    value is then ignored). */
typedef struct mox_sasl_channel {
    size_t size; /* sizeof(mox_sasl_channel), set by MOX_SASL_CHANNEL_INIT */
    void *ctx;
    int tls;
    unsigned cb_types;
    int (*binding)(void *ctx, mox_sasl_cb_type type, unsigned char *out,
                   size_t *out_len);
    const char *external_identity;
} mox_sasl_channel;

#define MOX_SASL_CHANNEL_INIT { sizeof(mox_sasl_channel), NULL, 0, 0u, NULL, NULL }

/* ---------------------------------------------------------------- secrets */

/* Derived secrets of one account. No plaintext: SCRAM keeps the salt,
 * iteration count, StoredKey and ServerKey (RFC 5802 §3) per hash, and
 * CRAM-MD5 the two MD5 chaining values after the HMAC key's ipad and opad
 * blocks (RFC 2104), from which HMAC-MD5(password, challenge) can be
 * computed without the password. A plain-data struct, safe to copy; wipe
 * it with mox_sasl_secrets_wipe when done. */
#define MOX_SASL_SALT_MAX 64

typedef struct mox_sasl_scram_secret {
    int present;
    uint32_t iterations;
    size_t salt_len;
    unsigned char salt[MOX_SASL_SALT_MAX];
    unsigned char stored_key[32];  /* first 20 bytes used for SHA-1 */
    unsigned char server_key[32];
} mox_sasl_scram_secret;

typedef struct mox_sasl_secrets {
    size_t size; /* sizeof(mox_sasl_secrets), set by MOX_SASL_SECRETS_INIT */
    mox_sasl_scram_secret scram_sha1;
    mox_sasl_scram_secret scram_sha256;
    int cram_md5_present;
    /* MD5 chaining values A,B,C,D (each little-endian, as MD5 serialises
     * them) after compressing key^ipad, then after key^opad. */
    unsigned char cram_md5_inner[16];
    unsigned char cram_md5_outer[16];
} mox_sasl_secrets;

#define MOX_SASL_SECRETS_INIT { sizeof(mox_sasl_secrets), {0, 0, 0, {0}, {0}, {0}}, \
                                {0, 0, 0, {0}, {0}, {0}}, 0, {0}, {0} }

/* Default and bounds of the SCRAM iteration count used for derivation. */
#define MOX_SASL_DEFAULT_ITERATIONS 4096u
#define MOX_SASL_MIN_ITERATIONS 4096u  /* RFC 7677 §4: at least 4096 */
#define MOX_SASL_MAX_ITERATIONS 10000000u

/* Which secrets mox_sasl_secrets_derive produces. */
#define MOX_SASL_DERIVE_SCRAM_SHA1 0x1u
#define MOX_SASL_DERIVE_SCRAM_SHA256 0x2u
#define MOX_SASL_DERIVE_CRAM_MD5 0x4u
#define MOX_SASL_DERIVE_ALL 0x7u

typedef struct mox_sasl_derive_params {
    size_t size;          /* sizeof(mox_sasl_derive_params) */
    unsigned which;       /* MOX_SASL_DERIVE_*; 0 means ALL */
    uint32_t iterations;  /* 0: MOX_SASL_DEFAULT_ITERATIONS */
    const mox_random *random; /* salt source; NULL: system */
    /* Fixed salt (tests, migrations); NULL: 16 random bytes per hash. */
    const unsigned char *salt;
    size_t salt_len;
} mox_sasl_derive_params;

#define MOX_SASL_DERIVE_PARAMS_INIT { sizeof(mox_sasl_derive_params), 0u, 0u, NULL, NULL, 0 }

/* Derives the secrets of a password: PRECIS OpaqueString (RFC 8265 §4.2)
 * preparation, then PBKDF2 for each SCRAM hash and the HMAC-MD5 midstates.
 * `params` may be NULL (defaults). Errors: MOX_ERR_PRECIS (empty password,
 * prohibited code point; ei->offset/detail say where), MOX_ERR_UTF8,
 * MOX_ERR_LIMIT (iterations outside MIN..MAX, salt longer than
 * MOX_SASL_SALT_MAX or empty), MOX_ERR_NOMEM, MOX_ERR_CRYPTO. `out` is
 * overwritten (its size member is kept) and wiped on error. The prepared
 * password is wiped before returning. */
MOX_API int mox_sasl_secrets_derive(const char *password, size_t len,
                                    const mox_sasl_derive_params *params,
                                    mox_sasl_secrets *out, mox_errinfo *ei);

/* Serialises `s` to a single line of printable ASCII (appended to `out`),
 * format version 1, documented in docs/sasl.md:
 *   mox-sasl-v1 scram-sha-256=I:SALT:STORED:SERVER scram-sha-1=...
 *   cram-md5=HEX(inner)HEX(outer)
 * (fields present only for the secrets that are; base64 per RFC 4648). */
MOX_API int mox_sasl_secrets_format(const mox_sasl_secrets *s, mox_buf *out);

/* Parses a serialisation. Version 1 fields must be well formed and not
 * repeated; unknown field names are ignored so that newer writers stay
 * readable. MOX_ERR_SYNTAX (ei->offset at the fault), MOX_ERR_UNSUPPORTED
 * (other version), MOX_ERR_LIMIT (iterations, salt size). `out` is
 * overwritten (size kept), and wiped on error. */
MOX_API int mox_sasl_secrets_parse(const char *s, size_t len,
                                   mox_sasl_secrets *out, mox_errinfo *ei);

/* Zeroes every secret field (keeps `size`). NULL is ignored. */
MOX_API void mox_sasl_secrets_wipe(mox_sasl_secrets *s);

/* Checks a plaintext password (as a client sent it in PLAIN or LOGIN)
 * against stored secrets: PRECIS-prepared, then compared in constant time
 * with SCRAM-SHA-256 if present, else SCRAM-SHA-1, else CRAM-MD5. Returns
 * MOX_OK on a match, MOX_ERR_PERM on a mismatch or a password PRECIS
 * refuses, MOX_ERR_NOTFOUND when no usable secret is stored, MOX_ERR_NOMEM,
 * MOX_ERR_CRYPTO. */
MOX_API int mox_sasl_verify_password(const mox_sasl_secrets *s,
                                     const char *password, size_t len);

/* ---------------------------------------------------------------- lookup */

/* Credentials interface, implemented by the embedder.
 *  - `lookup`: fills `out` (already initialised, all secrets absent; write
 *    nothing beyond out->size) with the secrets of `username` (NFC UTF-8,
 *    NUL-terminated). Returns MOX_OK, MOX_ERR_NOTFOUND for an unknown user,
 *    MOX_ERR_AGAIN when the answer is not available yet (the step returns
 *    MOX_SASL_PENDING; call mox_sasl_server_resume once it is), or another
 *    negative mox_err for a temporary failure (the exchange fails with
 *    MOX_SASL_FAIL_TEMPORARY). The engine wipes its copy after use.
 *  - `verify_password` (optional): checks a PLAIN/LOGIN password against a
 *    store the library does not know (e.g. bcrypt hashes). MOX_OK match,
 *    MOX_ERR_PERM mismatch, MOX_ERR_NOTFOUND unknown user, MOX_ERR_AGAIN,
 *    other negative: temporary failure. When NULL, PLAIN and LOGIN use
 *    `lookup` and mox_sasl_verify_password.
 *  - `authorize` (optional): may `authcid` act as `authzid` (both NFC)?
 *    MOX_OK yes, anything else no. When NULL, an authorization identity is
 *    only allowed if it equals the authentication identity. */
typedef struct mox_sasl_credentials {
    size_t size; /* sizeof(mox_sasl_credentials) */
    void *ctx;
    int (*lookup)(void *ctx, const char *username, mox_sasl_secrets *out);
    int (*verify_password)(void *ctx, const char *username,
                           const char *password, size_t password_len);
    int (*authorize)(void *ctx, const char *authcid, const char *authzid);
} mox_sasl_credentials;

#define MOX_SASL_CREDENTIALS_INIT { sizeof(mox_sasl_credentials), NULL, NULL, NULL, NULL }

/* ---------------------------------------------------------------- results */

/* What a step asks of the caller. Steps return one of these (> 0) or a
 * negative mox_err for a caller error (MOX_ERR_STATE, MOX_ERR_INVAL,
 * MOX_ERR_NOMEM). Nothing a peer sends produces a negative return. */
typedef enum mox_sasl_status {
    MOX_SASL_CONTINUE = 1, /* send the output to the peer, await its reply */
    MOX_SASL_SUCCESS = 2,  /* done; see the per-side notes for the output */
    MOX_SASL_FAILURE = 3,  /* done; see mox_sasl_*_failure */
    MOX_SASL_PENDING = 4   /* server: lookup deferred; call resume later */
} mox_sasl_status;

/* Why an exchange failed. The wire outcome of CREDENTIALS, UNKNOWN_USER
 * and NO_SECRET is identical (no user enumeration); the distinction is for
 * the embedder's logs and counters. */
typedef enum mox_sasl_failure {
    MOX_SASL_FAIL_NONE = 0,
    MOX_SASL_FAIL_CREDENTIALS = 1,     /* wrong password / proof / no cert */
    MOX_SASL_FAIL_MALFORMED = 2,       /* protocol error, overlong input */
    MOX_SASL_FAIL_ABORTED = 3,         /* the client sent "*" */
    MOX_SASL_FAIL_UNKNOWN_USER = 4,
    MOX_SASL_FAIL_NO_SECRET = 5,       /* no derived secret stored for this
                                          mechanism: not a failed attempt */
    MOX_SASL_FAIL_CHANNEL_BINDING = 6, /* mismatch, downgrade, unsupported */
    MOX_SASL_FAIL_AUTHZ = 7,           /* authorization identity refused */
    MOX_SASL_FAIL_TEMPORARY = 8,       /* lookup failed (e.g. database down) */
    MOX_SASL_FAIL_SERVER_ERROR = 9,    /* client: server sent SCRAM e= */
    MOX_SASL_FAIL_SERVER_PROOF = 10,   /* client: server signature wrong */
    MOX_SASL_FAIL_POLICY = 11          /* client: iteration count outside
                                          the configured limits */
} mox_sasl_failure;

/* Short static English name of a failure reason. */
MOX_API const char *mox_sasl_failure_name(mox_sasl_failure f);

/* ---------------------------------------------------------------- server */

typedef struct mox_sasl_server mox_sasl_server;

typedef struct mox_sasl_server_config {
    size_t size; /* sizeof(mox_sasl_server_config) */
    const mox_env *env;            /* randomness, clock, log, metrics; NULL ok */
    const mox_sasl_credentials *creds;   /* required except for EXTERNAL */
    const mox_sasl_channel *channel;     /* NULL: plain connection */
    /* Mechanisms offered (MOX_SASL_BIT mask); 0 means all. */
    unsigned mechs;
    /* Refuse PLAIN and LOGIN (which carry the password) without TLS. */
    int plaintext_needs_tls;
    /* Host name in the CRAM-MD5 challenge; NULL: "localhost". */
    const char *hostname;
    /* Key for the salt and iteration count shown for unknown users, so a
     * repeated attempt sees the same values as for a real account. NULL:
     * a random key per engine (then unknown users can be told apart by
     * asking twice). Copied; up to 64 bytes are used. */
    const unsigned char *unknown_user_key;
    size_t unknown_user_key_len;
    /* Iteration count shown for unknown users; 0: the default. */
    uint32_t unknown_user_iterations;
    /* Largest client message accepted; 0: 8192 bytes. */
    size_t max_input;
    /* Tests only: server nonce part instead of 18 random bytes (printable
     * ASCII without ','). NULL in production. */
    const char *fixed_nonce;
} mox_sasl_server_config;

#define MOX_SASL_SERVER_CONFIG_INIT { sizeof(mox_sasl_server_config), NULL, NULL, NULL, \
                                      0u, 0, NULL, NULL, 0, 0u, 0, NULL }

/* 1 if `mech` may be used on this connection under `cfg`: enabled, PLUS
 * only with channel binding available, EXTERNAL only with an external
 * identity, PLAIN/LOGIN only over TLS when plaintext_needs_tls. */
MOX_API int mox_sasl_server_mech_allowed(const mox_sasl_server_config *cfg,
                                         mox_sasl_mech mech);

/* Fills `out` with the allowed mechanisms in the order clients should
 * prefer (EXTERNAL, SCRAM-SHA-256-PLUS, SCRAM-SHA-256, SCRAM-SHA-1-PLUS,
 * SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN) and returns how many there are
 * (at most 8; writes at most `cap`). */
MOX_API size_t mox_sasl_server_mechs(const mox_sasl_server_config *cfg,
                                     mox_sasl_mech *out, size_t cap);

/* The same list as space-separated names appended to `out` (for an EHLO
 * AUTH line or IMAP capabilities). */
MOX_API int mox_sasl_server_mechs_string(const mox_sasl_server_config *cfg,
                                         mox_buf *out);

/* Creates a server engine for one exchange (free with
 * mox_sasl_server_free). `cfg`, `*cfg->env` and `*cfg->channel` are copied,
 * and so are the hostname, fixed_nonce, unknown_user_key and `*cfg->creds`
 * (up to its `size`: an older, smaller struct never has later members
 * read); what is only referenced must outlive the engine: the creds' ctx,
 * the interfaces the env points to, and the channel's ctx and
 * external_identity. Errors:
 * MOX_ERR_INVAL (NULL arguments, no creds for a mechanism that needs
 * them), MOX_ERR_UNSUPPORTED (unknown mechanism), MOX_ERR_PERM (mechanism
 * not allowed on this connection, see mox_sasl_server_mech_allowed),
 * MOX_ERR_NOMEM. */
MOX_API int mox_sasl_server_new(mox_sasl_server **out, mox_sasl_mech mech,
                                const mox_sasl_server_config *cfg);

/* Frees the engine, wiping what it held. NULL is ignored. */
MOX_API void mox_sasl_server_free(mox_sasl_server *s);

/* One step. `in` is what the client sent, base64-decoded; in == NULL on
 * the first step means the client sent no initial response (in != NULL
 * with in_len 0 is an empty one, "=" in SMTP). The output (*out, *out_len,
 * possibly empty) is owned by the engine and valid until its next call.
 *  CONTINUE: send *out as a challenge, pass the reply to the next step.
 *  SUCCESS: authenticated (see authcid/authzid). If *out_len > 0 it is
 *    additional data (SCRAM's server-final): send it as a last challenge
 *    (SMTP 334, expect an empty reply) or with the success (IMAP).
 *  FAILURE: see mox_sasl_server_failure. For SCRAM *out holds the
 *    server-final "e=..." message, for protocols that can carry it.
 *  PENDING: the credentials lookup said MOX_ERR_AGAIN; call
 *    mox_sasl_server_resume when it can answer.
 * Negative: MOX_ERR_STATE (exchange finished or pending), MOX_ERR_NOMEM
 * (the engine is unusable afterwards; free it). */
MOX_API int mox_sasl_server_step(mox_sasl_server *s, const void *in,
                                 size_t in_len, const unsigned char **out,
                                 size_t *out_len);

/* Repeats the deferred step after PENDING; same results as step. */
MOX_API int mox_sasl_server_resume(mox_sasl_server *s,
                                   const unsigned char **out,
                                   size_t *out_len);

/* The client cancelled ("*" in SMTP/IMAP): ends the exchange with
 * MOX_SASL_FAIL_ABORTED and returns MOX_SASL_FAILURE. */
MOX_API int mox_sasl_server_abort(mox_sasl_server *s);

/* After SUCCESS: the authenticated identity and the authorization identity
 * (equal to the authenticated one when the client gave none), NFC UTF-8,
 * owned by the engine. NULL before success. */
MOX_API const char *mox_sasl_server_authcid(const mox_sasl_server *s);
MOX_API const char *mox_sasl_server_authzid(const mox_sasl_server *s);

/* After FAILURE: the reason and a short human-readable explanation (for
 * logs, never for the peer). MOX_SASL_FAIL_NONE / "" otherwise. */
MOX_API mox_sasl_failure mox_sasl_server_failure(const mox_sasl_server *s);
MOX_API const char *mox_sasl_server_failure_text(const mox_sasl_server *s);

/* The username the client claimed, once known (may be set on failure, for
 * logging and rate limiting); NULL if none yet. */
MOX_API const char *mox_sasl_server_username(const mox_sasl_server *s);

MOX_API mox_sasl_mech mox_sasl_server_mech(const mox_sasl_server *s);

/* ---------------------------------------------------------------- client */

typedef struct mox_sasl_client mox_sasl_client;

typedef struct mox_sasl_client_config {
    size_t size; /* sizeof(mox_sasl_client_config) */
    const mox_env *env;
    const char *username;     /* UTF-8; required except for EXTERNAL */
    const char *password;     /* UTF-8; required except for EXTERNAL */
    const char *authzid;      /* optional authorization identity */
    const mox_sasl_channel *channel; /* NULL: plain connection */
    /* Mechanisms the client may use (MOX_SASL_BIT mask); 0 means all. */
    unsigned mechs;
    /* Never send PLAIN/LOGIN (password in the clear) without TLS. */
    int plaintext_needs_tls;
    /* Accepted SCRAM iteration counts; 0: MOX_SASL_MIN_ITERATIONS and
     * MOX_SASL_MAX_ITERATIONS. The maximum bounds the CPU a server can make
     * the client spend. */
    uint32_t min_iterations;
    uint32_t max_iterations;
    /* Channel-binding type for -PLUS; NONE: tls-exporter if the channel
     * has it, else tls-unique. */
    mox_sasl_cb_type cb_type;
    size_t max_input;         /* largest server message; 0: 8192 */
    const char *fixed_nonce;  /* tests only: client nonce; NULL */
} mox_sasl_client_config;

#define MOX_SASL_CLIENT_CONFIG_INIT { sizeof(mox_sasl_client_config), NULL, NULL, NULL, NULL, \
                                      NULL, 0u, 0, 0u, 0u, MOX_SASL_CB_NONE, 0, NULL }

/* The strongest mechanism in the server's space-separated list `server`
 * that `cfg` allows on its channel (EXTERNAL when a client certificate was
 * presented, then the server order above; -PLUS only with channel
 * binding; PLAIN/LOGIN only over TLS if plaintext_needs_tls).
 * MOX_SASL_NONE if there is none. */
MOX_API mox_sasl_mech mox_sasl_client_choose(const mox_sasl_client_config *cfg,
                                             const char *server, size_t len);

/* Creates a client engine (free with mox_sasl_client_free). The password
 * is PRECIS-prepared here
 * (MOX_ERR_PRECIS if refused) and kept only as long as needed. Other
 * errors: MOX_ERR_INVAL (missing username/password), MOX_ERR_UNSUPPORTED,
 * MOX_ERR_PERM (mechanism not allowed by cfg on this channel),
 * MOX_ERR_NOMEM. `cfg` must outlive the engine. */
MOX_API int mox_sasl_client_new(mox_sasl_client **out, mox_sasl_mech mech,
                                const mox_sasl_client_config *cfg,
                                mox_errinfo *ei);

/* Frees the engine, wiping the prepared password and keys. NULL is
 * ignored. */
MOX_API void mox_sasl_client_free(mox_sasl_client *c);

/* One step. The first call takes in == NULL and gives the initial response
 * (or CONTINUE with an empty output and `has_initial` 0 for mechanisms
 * where the server speaks first: LOGIN, CRAM-MD5; then send the AUTH
 * command without initial response and pass the challenge to the next
 * step). Later calls take the server's decoded challenge.
 *  CONTINUE: send *out.
 *  SUCCESS: the mechanism is complete on the client side (and for SCRAM
 *    the server proved knowledge of the password). Send *out if the
 *    server is waiting for a response (SMTP 334 after SCRAM's server-final:
 *    an empty line).
 *  FAILURE: mox_sasl_client_failure says why.
 * Negative: MOX_ERR_STATE, MOX_ERR_NOMEM. */
MOX_API int mox_sasl_client_step(mox_sasl_client *c, const void *in,
                                 size_t in_len, const unsigned char **out,
                                 size_t *out_len);

/* 1 if the first step produced an initial response to put on the AUTH
 * command, 0 if the AUTH command goes without one. */
MOX_API int mox_sasl_client_has_initial(const mox_sasl_client *c);

/* 1 once the client has everything it needs for the server's final
 * success to be trusted (after SCRAM's server signature, or after the last
 * message of the other mechanisms). A server "success" before that must be
 * treated as a failure for SCRAM. */
MOX_API int mox_sasl_client_complete(const mox_sasl_client *c);

MOX_API mox_sasl_failure mox_sasl_client_failure(const mox_sasl_client *c);
MOX_API const char *mox_sasl_client_failure_text(const mox_sasl_client *c);

MOX_END_DECLS

#endif
