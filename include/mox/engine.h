/*
 * libmox engine contract: the one vocabulary every engine speaks.
 *
 * Every protocol module (spf, iprev, dmarc, dkim, msgauth, sasl,
 * smtp_server, smtp_client, tls, ...) is an engine: fed bytes and answers,
 * giving bytes, questions and results. It never reads a socket, resolves a
 * name or sleeps. An engine E offers the groups of calls it needs, always
 * with these names and shapes:
 *
 *   int      mox_E_new(mox_E **out, const mox_E_config *cfg, ..., mox_errinfo *ei);
 *   void     mox_E_free(mox_E *e);                          NULL-safe
 *   unsigned mox_E_want(const mox_E *e);                    MOX_WANT_* bits
 *   int64_t  mox_E_feed(mox_E *e, const void *p, size_t n); bytes taken (0: full)
 *   int      mox_E_eof(mox_E *e);                           no more input
 *   int      mox_E_output(mox_E *e, const void **p, size_t *n);
 *   int      mox_E_output_done(mox_E *e, size_t n);
 *   int      mox_E_query(mox_E *e, mox_query *q);           MOX_ERR_AGAIN: none
 *   int      mox_E_answer(mox_E *e, const mox_answer *a);   any order
 *   int      mox_E_decide(mox_E *e, uint32_t id, ...);      deferred decisions
 *   int      mox_E_tls_request(const mox_E *e, mox_tls_request *req);
 *   int      mox_E_tls_done(mox_E *e, int status, const mox_tls_info *info);
 *   int64_t  mox_E_deadline(const mox_E *e);                MOX_NO_DEADLINE
 *   int      mox_E_tick(mox_E *e, int64_t now_ns);
 *   const mox_E_result *mox_E_result(const mox_E *e);       once MOX_WANT_DONE
 *   mox_engine *mox_E_engine(mox_E *e);                     the generic view
 *
 * The generic view (mox_engine, below) drives any engine through one set
 * of functions, which is what language bindings and mox_engine_run use.
 * docs/architecture.md has a worked event loop.
 *
 * Memory: queries are views owned by their engine, valid until the
 * question is answered or the engine is freed. Answers are built by the
 * caller with the mox_answer_* constructors, lent to mox_E_answer (the
 * engine copies what it keeps) and freed by the caller.
 *
 * Threading: engines and answers are not thread-safe; distinct objects are
 * independent. An answer may be built on one thread and handed to an
 * engine on another.
 */
#ifndef MOX_ENGINE_H
#define MOX_ENGINE_H

#include "core.h"
#include "dns.h"

MOX_BEGIN_DECLS

/* ------------------------------------------------------------ want bits */

/* What an engine waits for now (mox_E_want). Several bits may be set at
 * once; a loop serves every bit it sees, in any order. */
#define MOX_WANT_READ 0x001u     /* feed input (peer bytes, message bytes) */
#define MOX_WANT_WRITE 0x002u    /* output has bytes to send now */
#define MOX_WANT_QUERY 0x004u    /* query() has a question not handed out yet */
#define MOX_WANT_DECISION 0x008u /* a callback deferred: call decide() */
#define MOX_WANT_TLS 0x010u      /* start TLS: tls_request(), then tls_done() */
#define MOX_WANT_TIMER 0x020u    /* deadline() is set: tick() when it passes */
#define MOX_WANT_DONE 0x040u     /* result() is valid (final) */
#define MOX_WANT_CLOSED 0x080u   /* finished with the peer: send the output,
                                    then close the connection */
#define MOX_WANT_ANSWER 0x100u   /* questions handed out are still unanswered */

/* mox_E_deadline when no deadline is set. */
#define MOX_NO_DEADLINE INT64_MAX

/* Returns "READ|WRITE|..." for a want mask ("0" for none), in a
 * thread-local buffer valid until the next call in the thread. For logs. */
MOX_API const char *mox_want_name(unsigned want);

/* ------------------------------------------------------------ questions */

typedef enum mox_query_kind {
    MOX_QUERY_DNS = 1,         /* u.dns: look a name up */
    MOX_QUERY_FETCH = 2,       /* u.fetch: HTTPS GET (MTA-STS policies) */
    MOX_QUERY_CREDENTIALS = 3, /* u.credentials: secrets of a user, or a
                                  verdict on a password */
    MOX_QUERY_CONNECT = 4,     /* u.connect: open a connection */
    MOX_QUERY_AUTHORIZE = 5    /* u.authorize: may authcid act as authzid */
} mox_query_kind;

/* Returns "DNS", "FETCH", ... ("UNKNOWN" for other values). */
MOX_API const char *mox_query_kind_name(int kind);

/* Fetch flags (u.fetch.flags). */
#define MOX_FETCH_NO_REDIRECTS 0x1u /* follow no HTTP redirect (RFC 8461 §3.3) */
#define MOX_FETCH_WEBPKI 0x2u       /* the server certificate must verify
                                       against the WebPKI for the URL's host */

/* One question. Filled by mox_E_query; every pointer is owned by the
 * engine and valid until the question is answered or the engine freed.
 * Fixed layout (the union has room for later kinds; no size member). */
typedef struct mox_query {
    uint32_t id; /* non-zero, unique within the engine; answers name it */
    int kind;    /* mox_query_kind */
    union {
        struct {
            const char *name; /* ASCII, absolute, no trailing dot */
            uint16_t type;    /* MOX_DNS_TXT, ... */
        } dns;
        struct {
            const char *url;     /* https://... */
            size_t max_body;     /* a longer body is an error (0: no limit
                                    stated by the engine) */
            int64_t deadline_ns; /* monotonic; MOX_NO_DEADLINE for none */
            unsigned flags;      /* MOX_FETCH_* */
        } fetch;
        struct {
            const char *user;      /* NFC UTF-8 */
            const char *mechanism; /* "SCRAM-SHA-256", "PLAIN", ... */
            const char *password;  /* non-NULL: PLAIN/LOGIN, answer with a
                                      verdict or with secrets */
            size_t password_len;
        } credentials;
        struct {
            const char *authcid;
            const char *authzid;
        } authorize;
        struct {
            const char *host;    /* IP literal or host name */
            uint16_t port;
            int family;          /* 0 any, 4 IPv4 only, 6 IPv6 only */
            int64_t deadline_ns; /* monotonic; MOX_NO_DEADLINE for none */
        } connect;
        void *reserved_[16];
    } u;
} mox_query;

/* ------------------------------------------------------------ answers */

/* An answer to one question. Opaque; built with the constructors below,
 * lent to mox_E_answer (which copies what it keeps), freed with
 * mox_answer_free. */
typedef struct mox_answer mox_answer;

/* NULL-safe. */
MOX_API void mox_answer_free(mox_answer *a);

/* DNS. Starts an answer to question `id` for `qname`/`qtype` (copied) with
 * `status` (mox_dns_status: MOX_DNS_NOERROR, MOX_DNS_NXDOMAIN,
 * MOX_DNS_SERVFAIL, MOX_DNS_TIMEOUT, MOX_DNS_NETERR, or another rcode) and
 * the DNSSEC-authentic flag (the AD bit of a validating resolver). A
 * NOERROR answer with no record added is NODATA. Records are added with
 * the mox_answer_add_* calls. `qname` may be NULL when unknown (the
 * engine matches answers by id). MOX_ERR_INVAL (NULL out, id 0, a status
 * that is not a mox_dns_status or rcode), MOX_ERR_NOMEM. */
MOX_API int mox_answer_dns_new(mox_answer **out, uint32_t id, const char *qname,
                               uint16_t qtype, int status, int authentic);

/* Wraps a complete mox_dns_answer (from mox_dns_zone_query,
 * mox_dns_system_query, mox_dns_reply_parse or a mox_resolver): `ans` is
 * copied; the caller keeps it. MOX_ERR_INVAL, MOX_ERR_NOMEM. */
MOX_API int mox_answer_dns_copy(mox_answer **out, uint32_t id,
                                const mox_dns_answer *ans);

/* Record adders: `owner` NULL means the answer's qname. TXT takes the
 * joined text (split into 255-octet character-strings, RFC 1035 §3.3.14);
 * mox_answer_add_txt_strings takes the strings as they were. The address
 * adder takes presentation form ("192.0.2.1", "2001:db8::1") and adds an A
 * or AAAA record. Errors: MOX_ERR_INVAL (NULL answer, not a DNS answer,
 * a status other than NOERROR, a malformed address, owner or target name
 * not a valid DNS name), MOX_ERR_LIMIT (a record longer than 65535
 * octets), MOX_ERR_NOMEM. On error the answer is unchanged. */
MOX_API int mox_answer_add_txt(mox_answer *a, const char *owner, uint32_t ttl,
                               const void *txt, size_t len);
MOX_API int mox_answer_add_txt_strings(mox_answer *a, const char *owner,
                                       uint32_t ttl,
                                       const unsigned char *const *str,
                                       const size_t *len, size_t n);
MOX_API int mox_answer_add_a(mox_answer *a, const char *owner, uint32_t ttl,
                             const unsigned char ip4[4]);
MOX_API int mox_answer_add_aaaa(mox_answer *a, const char *owner, uint32_t ttl,
                                const unsigned char ip6[16]);
MOX_API int mox_answer_add_ip(mox_answer *a, const char *owner, uint32_t ttl,
                              const char *ip);
MOX_API int mox_answer_add_mx(mox_answer *a, const char *owner, uint32_t ttl,
                              uint16_t preference, const char *host);
MOX_API int mox_answer_add_ptr(mox_answer *a, const char *owner, uint32_t ttl,
                               const char *target);
MOX_API int mox_answer_add_cname(mox_answer *a, const char *owner,
                                 uint32_t ttl, const char *target);
MOX_API int mox_answer_add_tlsa(mox_answer *a, const char *owner, uint32_t ttl,
                                uint8_t usage, uint8_t selector,
                                uint8_t matching, const void *data,
                                size_t len);

/* FETCH. `status` is MOX_OK when an HTTP response arrived (then
 * `http_status` and the body, which is copied, tell what it said), or the
 * mox_err of the failure: MOX_ERR_TIMEOUT, MOX_ERR_IO (connection),
 * MOX_ERR_CRYPTO (TLS or certificate verification), MOX_ERR_LIMIT (body
 * over max_body), MOX_ERR_NOTFOUND (host name does not resolve).
 * `content_type` may be NULL. MOX_ERR_INVAL, MOX_ERR_NOMEM. */
MOX_API int mox_answer_fetch_new(mox_answer **out, uint32_t id, int status,
                                 int http_status, const char *content_type,
                                 const void *body, size_t len);

/* CREDENTIALS. Exactly one of:
 *   mox_answer_credentials_secrets: the user exists; `record` is its
 *     stored secrets as mox_sasl_secrets_format writes them ("mox-sasl-v1
 *     ..."), copied and wiped on free;
 *   mox_answer_credentials_verdict: for a question with a password:
 *     MOX_OK (matches), MOX_ERR_PERM (does not match);
 *   mox_answer_credentials_status: MOX_ERR_NOTFOUND (no such user), or any
 *     other negative mox_err for a temporary failure of the store.
 * MOX_ERR_INVAL, MOX_ERR_NOMEM. */
MOX_API int mox_answer_credentials_secrets(mox_answer **out, uint32_t id,
                                           const char *record, size_t len);
MOX_API int mox_answer_credentials_verdict(mox_answer **out, uint32_t id,
                                           int verdict);
MOX_API int mox_answer_credentials_status(mox_answer **out, uint32_t id,
                                          int status);

/* AUTHORIZE: MOX_OK (allowed), MOX_ERR_PERM (refused), other negative:
 * temporary failure. */
MOX_API int mox_answer_authorize(mox_answer **out, uint32_t id, int verdict);

/* CONNECT: MOX_OK (connected; `local`/`remote` are the addresses as
 * "IP:PORT" / "[IPv6]:PORT" text, optional, copied), or the failure
 * (MOX_ERR_TIMEOUT, MOX_ERR_IO with `detail` such as "connection
 * refused"). MOX_ERR_INVAL, MOX_ERR_NOMEM. */
MOX_API int mox_answer_connect_new(mox_answer **out, uint32_t id, int status,
                                   const char *local, const char *remote,
                                   const char *detail);

/* Readers, for engines and bindings. Every reader is NULL-safe and returns
 * 0/NULL for an answer of another kind. The views belong to the answer. */
MOX_API uint32_t mox_answer_id(const mox_answer *a);
MOX_API int mox_answer_kind(const mox_answer *a);
/* DNS: the mox_dns_status; others: MOX_OK or the mox_err given. */
MOX_API int mox_answer_status(const mox_answer *a);
/* DNS: the answer as a mox_dns_answer (built from the records added). */
MOX_API const mox_dns_answer *mox_answer_dns(const mox_answer *a);
/* FETCH: HTTP status, body, content type. */
MOX_API int mox_answer_http_status(const mox_answer *a);
MOX_API const void *mox_answer_body(const mox_answer *a, size_t *len);
MOX_API const char *mox_answer_content_type(const mox_answer *a);
/* CREDENTIALS: the secrets record (NULL for a verdict or status answer)
 * and whether the answer is a verdict. CONNECT: the addresses and detail.
 * AUTHORIZE and CREDENTIALS verdicts read through mox_answer_status. */
MOX_API const char *mox_answer_secrets(const mox_answer *a, size_t *len);
MOX_API int mox_answer_is_verdict(const mox_answer *a);
MOX_API const char *mox_answer_local(const mox_answer *a);
MOX_API const char *mox_answer_remote(const mox_answer *a);
MOX_API const char *mox_answer_detail(const mox_answer *a);

/* ------------------------------------------------------------ TLS */

typedef enum mox_tls_role {
    MOX_TLS_ROLE_CLIENT = 1,
    MOX_TLS_ROLE_SERVER = 2
} mox_tls_role;

/* How a client verifies the server's certificate chain. */
typedef enum mox_tls_verify {
    MOX_TLS_VERIFY_NONE = 0,   /* opportunistic: any certificate */
    MOX_TLS_VERIFY_WEBPKI = 1, /* chain to a trusted CA, name matches */
    MOX_TLS_VERIFY_DANE = 2,   /* one of `tlsa` matches (RFC 7672) */
    MOX_TLS_VERIFY_MTASTS = 3  /* WebPKI and the name matches one of
                                  `mtasts_mx` (RFC 8461 §4.1) */
} mox_tls_verify;

/* What a protocol engine asks of TLS when it sets MOX_WANT_TLS (read with
 * mox_E_tls_request). Views owned by the engine, valid until tls_done. */
typedef struct mox_tls_request {
    size_t size;              /* sizeof(mox_tls_request) */
    int role;                 /* mox_tls_role */
    const char *server_name;  /* client: SNI and name to verify; NULL: none */
    int verify;               /* mox_tls_verify (client) */
    int required;             /* nonzero: a failure must end the session
                                 (no plaintext fallback) */
    const mox_dns_rr *tlsa;   /* VERIFY_DANE: usable TLSA records */
    size_t ntlsa;
    const char *const *mtasts_mx; /* VERIFY_MTASTS: "mx.example.org",
                                     "*.example.net" */
    size_t nmtasts_mx;
} mox_tls_request;

#define MOX_TLS_REQUEST_INIT \
    { sizeof(mox_tls_request), 0, NULL, 0, 0, NULL, 0, NULL, 0 }

/* The one description of an established TLS connection, given to an
 * engine with mox_E_tls_done and produced by the tls module. Strings and
 * bytes are copied by the engine. */
typedef struct mox_tls_info {
    size_t size;            /* sizeof(mox_tls_info), set by MOX_TLS_INFO_INIT */
    int version;            /* 0x0303 TLS 1.2, 0x0304 TLS 1.3 */
    uint16_t cipher_id;     /* IANA TLS Cipher Suite value, 0 unknown */
    const char *cipher;     /* IANA name: "TLS_AES_128_GCM_SHA256",
                               "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" */
    const char *sni;        /* the server name the client sent, or NULL */
    int resumed;            /* session resumption */
    int peer_cert;          /* the peer presented a certificate */
    int peer_verified;      /* ... and it verified under the request */
    unsigned char peer_spki_sha256[32]; /* SHA-256 of its SubjectPublicKeyInfo
                                           (valid when peer_cert) */
    const char *peer_identity; /* server side: the identity the embedder
                                  authorised for the client certificate
                                  (SASL EXTERNAL, submission without AUTH),
                                  or NULL */
    const unsigned char *tls_unique; /* RFC 5929 channel binding, or NULL */
    size_t tls_unique_len;
    const unsigned char *tls_exporter; /* RFC 9266 channel binding, or NULL */
    size_t tls_exporter_len;
    const unsigned char *tls_server_end_point; /* RFC 5929 §4, or NULL */
    size_t tls_server_end_point_len;
} mox_tls_info;

#define MOX_TLS_INFO_INIT \
    { sizeof(mox_tls_info), 0, 0, NULL, NULL, 0, 0, 0, {0}, NULL, NULL, 0, NULL, 0, NULL, 0 }

/* ------------------------------------------------------------ generic view */

/* Any engine seen through one set of calls. Obtained from mox_E_engine(e)
 * (it lives inside the engine: never freed separately, valid as long as
 * the engine). A call for a group the engine does not have returns
 * MOX_ERR_UNSUPPORTED (or 0 / MOX_NO_DEADLINE for want and deadline). */
typedef struct mox_engine mox_engine;

MOX_API const char *mox_engine_name(const mox_engine *g); /* "spf", ... */
MOX_API unsigned mox_engine_want(const mox_engine *g);
MOX_API int64_t mox_engine_feed(mox_engine *g, const void *p, size_t n);
MOX_API int mox_engine_eof(mox_engine *g);
MOX_API int mox_engine_output(mox_engine *g, const void **p, size_t *n);
MOX_API int mox_engine_output_done(mox_engine *g, size_t n);
MOX_API int mox_engine_query(mox_engine *g, mox_query *q);
MOX_API int mox_engine_answer(mox_engine *g, const mox_answer *a);
MOX_API int mox_engine_tls_request(const mox_engine *g, mox_tls_request *req);
MOX_API int mox_engine_tls_done(mox_engine *g, int status, const mox_tls_info *info);
MOX_API int64_t mox_engine_deadline(const mox_engine *g);
MOX_API int mox_engine_tick(mox_engine *g, int64_t now_ns);

/* The detail of the engine's last failed call (misuse such as an answer
 * for an unknown id, output_done past what was handed out, feed after
 * eof): code, message. Cleared by nothing but the next failure. Owned by
 * the engine. */
MOX_API const mox_errinfo *mox_engine_error(const mox_engine *g);

/* ------------------------------------------------------------ blocking loop */

/* A blocking byte transport for mox_engine_run. `read` and `write` block
 * until at least one byte moved, the peer closed (read returns 0), or the
 * monotonic `deadline_ns` passed (MOX_ERR_TIMEOUT); they return the count
 * or a negative mox_err. `starttls` (optional) runs a TLS handshake over
 * the transport as `req` says; from then on read/write carry plaintext
 * through TLS. It fills `info` (views valid until the next transport call)
 * and returns MOX_OK or a negative mox_err (ei filled). `close`
 * (optional) is called once when the engine is closed. */
typedef struct mox_transport {
    size_t size; /* sizeof(mox_transport) */
    void *ctx;
    int64_t (*read)(void *ctx, void *buf, size_t n, int64_t deadline_ns);
    int64_t (*write)(void *ctx, const void *buf, size_t n, int64_t deadline_ns);
    int (*starttls)(void *ctx, const mox_tls_request *req, mox_tls_info *info,
                    mox_errinfo *ei);
    void (*close)(void *ctx);
} mox_transport;

#define MOX_TRANSPORT_INIT { sizeof(mox_transport), NULL, NULL, NULL, NULL, NULL }

/* A blocking answerer for one kind of question (FETCH, CREDENTIALS,
 * AUTHORIZE, CONNECT): builds *out (the loop frees it) or returns a
 * negative mox_err (the loop ends with it). */
typedef struct mox_answerer {
    size_t size; /* sizeof(mox_answerer) */
    void *ctx;
    int (*answer)(void *ctx, const mox_query *q, mox_answer **out);
} mox_answerer;

#define MOX_ANSWERER_INIT { sizeof(mox_answerer), NULL, NULL }

/* Everything mox_engine_run may need. NULL members are absent: a question
 * of that kind then ends the loop with MOX_ERR_UNSUPPORTED, except DNS
 * questions that a failing resolver could not start, which are answered
 * MOX_DNS_NETERR (a DNS failure the engine evaluates, not an API error).
 * `clock`: NULL means the system monotonic clock (deadlines and ticks). */
typedef struct mox_io {
    size_t size;                       /* sizeof(mox_io), MOX_IO_INIT */
    const mox_resolver *resolver;      /* MOX_QUERY_DNS */
    const mox_answerer *fetcher;       /* MOX_QUERY_FETCH */
    const mox_answerer *credentials;   /* MOX_QUERY_CREDENTIALS, _AUTHORIZE */
    const mox_answerer *connector;     /* MOX_QUERY_CONNECT */
    const mox_clock *clock;
    const mox_transport *transport;    /* READ/WRITE/TLS */
} mox_io;

#define MOX_IO_INIT { sizeof(mox_io), NULL, NULL, NULL, NULL, NULL, NULL }

/* Fills `t` with a transport over a connected socket `fd` (poll, recv,
 * send; no TLS: starttls NULL; close does not close fd). A macro passing
 * the caller's sizeof, as mox_logger_logfmt. */
MOX_API void mox_transport_fd_sized(mox_transport *t, size_t t_size, int *fd);
#define mox_transport_fd(t, fd) mox_transport_fd_sized((t), sizeof *(t), (fd))

/* Drives `g` until it wants only DONE or CLOSED (after its output was
 * written), or nothing at all: questions are answered through `io`
 * (every question handed out first, then answered, so a resolver with a
 * `wait` can run them in parallel), output written and input read
 * through io->transport, deadlines waited for and ticked, TLS started
 * through io->transport->starttls. A decision (MOX_WANT_DECISION) cannot
 * be taken here: the loop returns MOX_ERR_STATE when one is all the
 * engine waits for (decide inside the callback instead). Input end
 * (read 0) is mox_engine_eof. Returns MOX_OK, or the first error of an
 * engine call or of `io` (ei filled). */
MOX_API int mox_engine_run(mox_engine *g, const mox_io *io, mox_errinfo *ei);

/* Answers one question through `io` and returns the answer in *out (free
 * it): the step mox_engine_run takes for each question, for embedders
 * writing their own loop. Same errors as mox_engine_run. */
MOX_API int mox_io_answer(const mox_io *io, const mox_query *q,
                          mox_answer **out, mox_errinfo *ei);

MOX_END_DECLS

#endif
