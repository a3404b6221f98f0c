/*
 * libmox SMTP server engine: one server-side SMTP session as a sans-I/O
 * state machine (RFC 5321 with PIPELINING, SIZE, STARTTLS, REQUIRETLS,
 * AUTH, FUTURERELEASE, ENHANCEDSTATUSCODES, 8BITMIME, LIMITS, SMTPUTF8,
 * CHUNKING/BINARYMIME and DSN).
 *
 * The embedder owns the socket. It feeds the bytes the peer sent:
 *
 *     mox_smtp_server_new(&s, &config, &callbacks, user_data);
 *     mox_smtp_server_start(s);                 // greeting (on_connect)
 *     n = mox_smtp_server_feed(s, in, in_len);  // bytes taken from the peer
 *     mox_smtp_server_output(s, &out, &out_len);// bytes due for the peer now
 *     mox_smtp_server_output_done(s, k);        // k of them were written
 *
 * and looks at mox_smtp_server_state() to know what the session waits for
 * (input, writing, a TLS handshake, a deferred decision, a timer, or the
 * end). Every policy decision is a callback that fills in a reply and
 * returns MOX_SMTP_SERVER_REPLY, or returns MOX_SMTP_SERVER_DEFER and answers later with
 * mox_smtp_server_decide(); pipelined input waits meanwhile, bounded by
 * config.max_pending bytes (backpressure: feed then takes nothing more).
 *
 * Threading: a session is not thread-safe; distinct sessions are
 * independent. Callbacks run synchronously inside feed/start/reply/
 * tls_started and must not call feed or free the session (they may call
 * the read-only accessors and mox_smtp_server_set_rcpt_outcome).
 *
 * Memory: the engine copies every string it keeps. Pointers it hands to
 * callbacks (transaction views, data chunks) are valid only during the
 * call unless documented otherwise.
 */
#ifndef MOX_SMTP_SERVER_H
#define MOX_SMTP_SERVER_H

#include "address.h"
#include "core.h"
#include "engine.h"
#include "sasl.h"
#include "smtp.h"

MOX_BEGIN_DECLS

typedef struct mox_smtp_server mox_smtp_server;

/* ---------------------------------------------------------------- config */

/* Session mode. */
enum {
    MOX_SMTP_SERVER_DELIVERY = 0, /* port 25: mail from the internet to us */
    MOX_SMTP_SERVER_SUBMISSION = 1 /* port 587/465: AUTH required, FUTURERELEASE */
};

/* Extensions offered (config.extensions): MOX_SMTP_EXT_* bits of smtp.h.
 * STARTTLS is governed by config.tls_available, AUTH by the SASL
 * mechanisms, and FUTURERELEASE by config.max_hold_seconds; those bits and
 * ENHANCEDSTATUSCODES are ignored here. ENHANCEDSTATUSCODES is always on:
 * every reply carries one except those RFC 2034 exempts. BINARYMIME needs
 * CHUNKING; REQUIRETLS is offered only once TLS is active. */
#define MOX_SMTP_SERVER_EXT_DEFAULT                                                                \
    (MOX_SMTP_EXT_PIPELINING | MOX_SMTP_EXT_SIZE | MOX_SMTP_EXT_8BITMIME | MOX_SMTP_EXT_SMTPUTF8 | \
     MOX_SMTP_EXT_CHUNKING | MOX_SMTP_EXT_BINARYMIME | MOX_SMTP_EXT_DSN | MOX_SMTP_EXT_LIMITS |    \
     MOX_SMTP_EXT_REQUIRETLS)

typedef struct mox_smtp_server_config {
    size_t size;              /* sizeof, set by MOX_SMTP_SERVER_CONFIG_INIT */
    const mox_env *env;       /* logger, metrics, clocks; NULL: defaults */
    int mode; /* MOX_SMTP_SERVER_DELIVERY or MOX_SMTP_SERVER_SUBMISSION */
    const char *hostname;     /* our host name (ASCII), required */
    const char *conn_id;      /* connection id: STARTTLS 220 text, Received id */
    const char *remote_ip;    /* peer address as text, for Received/logging */
    const char *local_ip;     /* our address as text, for Received */
    const char *greeting;     /* text after "220 hostname ESMTP"; NULL: none */
    unsigned extensions; /* MOX_SMTP_EXT_* offered */
    int tls_available;        /* offer STARTTLS */
    int tls_active;           /* implicit TLS (port 465): TLS from the start */
    int pedantic;             /* strict RFC reading, see docs/smtp_server.md */
    /* AUTH, through the SASL module: mechanisms offered (MOX_SASL_BIT()
     * mask; 0 = no AUTH) and the credentials store they check against
     * (must outlive the session). The engine frames the exchange (334,
     * base64, "=" and "*"); PLAIN and LOGIN need TLS unless
     * allow_plain_auth_without_tls; EXTERNAL needs a client certificate the
     * embedder authorised (mox_tls_info.peer_identity). */
    unsigned auth_mechs;
    const mox_sasl_credentials *auth_creds;
    int allow_plain_auth_without_tls;
    int auth_in_delivery;     /* also offer AUTH in delivery mode */
    uint64_t max_message_size;/* SIZE; 0 = no limit */
    unsigned max_rcpts;       /* per transaction (LIMITS RCPTMAX) */
    unsigned max_errors;      /* bad commands before 421 and close */
    unsigned max_auth_failures;/* failed AUTH attempts before 421; 0 = none */
    size_t max_line;          /* command line incl. CRLF (500 beyond) */
    size_t max_auth_line;     /* AUTH continuation line (RFC 4954: 12288) */
    size_t max_pending;       /* input buffered while a decision is deferred */
    uint32_t max_hold_seconds;/* FUTURERELEASE maximum; 0 = not offered */
    uint32_t slow_max_ms;     /* a slow reply completes within this */
} mox_smtp_server_config;

#define MOX_SMTP_SERVER_CONFIG_INIT                                                                \
    {                                                                                              \
        sizeof(mox_smtp_server_config), NULL, MOX_SMTP_SERVER_DELIVERY, NULL, NULL, NULL, NULL,    \
            NULL, MOX_SMTP_SERVER_EXT_DEFAULT, 0, 0, 0, 0, NULL, 0, 0,                             \
            (uint64_t)100 * 1024 * 1024, 1000, 10, 3, 2048, 12288, 65536, 0, 25000                 \
    }

/* ---------------------------------------------------------------- replies */

/* Callback results. */
#define MOX_SMTP_SERVER_REPLY                                                                      \
    0 /* the reply struct has been filled in (or left as                                           \
  the engine's default) */
#define MOX_SMTP_SERVER_DEFER 1 /* decided later with mox_smtp_server_decide() */
/* A negative mox_err from a callback means a local error: the engine
 * answers 451 4.3.0 and logs it. */

/* A reply. The engine pre-fills it with its default before calling a
 * decision callback; the embedder may change it. `code` 2xx accepts (354
 * for on_data_start), 4xx/5xx refuses. An empty `enhanced` gets a default
 * matching the code's class; one of the wrong class is replaced. `text`
 * may hold several lines separated by '\n'; CR and control characters are
 * replaced by spaces. `delay_ms` holds the reply back (tarpit) — the
 * engine does not sleep, it reports when output becomes due; `slow` paces
 * the reply's bytes over the delay (capped at config.slow_max_ms so a
 * client with a 30 s read timeout still sees it complete). `close` ends
 * the session after this reply. */
typedef struct mox_smtp_server_reply {
    size_t size; /* sizeof, set by MOX_SMTP_SERVER_REPLY_INIT */
    int code;
    char enhanced[16];
    char text[464];
    uint32_t delay_ms;
    int slow;
    int close;
} mox_smtp_server_reply;

#define MOX_SMTP_SERVER_REPLY_INIT                                                                 \
    {                                                                                              \
        sizeof(mox_smtp_server_reply), 0, "", "", 0, 0, 0                                          \
    }

/* Fills `r` (whose size must be set) with code/enhanced/text. */
MOX_API void mox_smtp_server_reply_set(mox_smtp_server_reply *r, int code, const char *enhanced,
                                       const char *text);

/* ---------------------------------------------------------------- views */

/* NOTIFY, RET and BODY values are the MOX_SMTP_NOTIFY_*, MOX_SMTP_RET_*
 * and MOX_SMTP_BODY_* of smtp.h. */

/* One recipient (RCPT TO). Engine-owned, read-only. */
typedef struct mox_smtp_server_rcpt {
    mox_path path;
    unsigned notify;   /* MOX_SMTP_NOTIFY_* */
    char *orcpt;       /* ORCPT as "addr-type;decoded-address", or NULL */
    int outcome;       /* code recorded at end of data (0 before) */
} mox_smtp_server_rcpt;

/* The transaction, as far as it got. Engine-owned, read-only; fields may be
 * appended in later versions (never allocate one yourself). */
typedef struct mox_smtp_server_txn {
    mox_path mail_from;
    int body; /* MOX_SMTP_BODY_* */
    int smtputf8;
    int requiretls;
    uint64_t size_declared; /* MAIL SIZE=, 0 if absent */
    int ret;                /* MOX_SMTP_RET_* */
    char *envid;            /* DSN ENVID (decoded), or NULL */
    char *auth;             /* MAIL AUTH= (decoded, "<>" allowed), or NULL */
    int64_t hold_until;     /* FUTURERELEASE: Unix seconds, 0 if none */
    size_t nrcpts;
    mox_smtp_server_rcpt *rcpts; /* accepted recipients */
    /* message data, complete when on_data_end runs: */
    uint64_t data_size;     /* bytes delivered to on_data_chunk */
    int chunking;           /* received with BDAT */
    int header_8bit;        /* non-ASCII in the header section */
    int body_8bit;          /* non-ASCII in the body */
    int has_return_path;    /* a Return-Path header is present */
} mox_smtp_server_txn;

/* Session facts. Engine-owned, read-only, appended to over versions. */
typedef struct mox_smtp_server_session {
    int mode;
    int ehlo;              /* EHLO (1) or HELO (0) was used */
    const char *hello;     /* the HELO/EHLO argument, or NULL before */
    int tls;               /* TLS active */
    const mox_tls_info *tls_info; /* the engine's copy of what the TLS
                                     layer reported, or NULL before TLS */
    const char *auth_user; /* authenticated identity, or NULL */
    const char *auth_mech; /* mechanism used ("PLAIN", "EXTERNAL", "TLS") */
    unsigned auth_failures;/* failed AUTH attempts, for rate limiting */
    unsigned errors;       /* protocol errors so far */
    unsigned transactions; /* transactions completed with a 2xx */
} mox_smtp_server_session;

/* HELO/EHLO argument for on_hello. */
typedef struct mox_smtp_server_hello {
    int ehlo;
    const char *name;   /* as sent (NUL-terminated) */
    int is_literal;     /* [address literal] */
    int valid;          /* a valid domain or address literal */
} mox_smtp_server_hello;

/* Outcome of an AUTH exchange, for on_auth. The embedder may turn a
 * success into a refusal (e.g. a disabled account) by changing the reply to
 * 4xx/5xx; a failure stays a failure whatever the reply says. */
typedef struct mox_smtp_server_auth {
    const char *mechanism;  /* "PLAIN", "SCRAM-SHA-256", ... */
    int success;
    const char *authcid;    /* authenticated identity (success), or NULL */
    const char *authzid;    /* authorization identity (success), or NULL */
    const char *username;   /* identity the client claimed, or NULL */
    int failure;            /* mox_sasl_failure */
    int counted; /* counted in mox_smtp_server_session.auth_failures */
} mox_smtp_server_auth;

/* Data-end information is the transaction itself (txn->data_* fields). */

/* Decision kinds, for mox_smtp_server_pending()/reply(). */
enum {
    MOX_SMTP_SERVER_DECIDE_NONE = 0,
    MOX_SMTP_SERVER_DECIDE_CONNECT,
    MOX_SMTP_SERVER_DECIDE_HELLO,
    MOX_SMTP_SERVER_DECIDE_MAIL,
    MOX_SMTP_SERVER_DECIDE_RCPT,
    MOX_SMTP_SERVER_DECIDE_DATA_START,
    MOX_SMTP_SERVER_DECIDE_DATA_END,
    MOX_SMTP_SERVER_DECIDE_VERIFY,
    MOX_SMTP_SERVER_DECIDE_STARTTLS,
    MOX_SMTP_SERVER_DECIDE_AUTH
};

/* Why a transaction was discarded (on_reset). */
enum {
    MOX_SMTP_SERVER_RESET_RSET = 1, /* RSET */
    MOX_SMTP_SERVER_RESET_HELLO, /* EHLO/HELO/STARTTLS/AUTH restarted */
    MOX_SMTP_SERVER_RESET_FAILED, /* message refused (size, smuggling, ...) */
    MOX_SMTP_SERVER_RESET_REJECTED, /* on_data_end answered 4xx/5xx */
    MOX_SMTP_SERVER_RESET_CLOSED /* session ended mid-transaction */
};

/* ---------------------------------------------------------------- callbacks */

/* All callbacks are optional (NULL: the engine's default answer, shown in
 * brackets). `user` is the user_data given to _new. Decision callbacks
 * return MOX_SMTP_SERVER_REPLY, MOX_SMTP_SERVER_DEFER or a negative mox_err. */
typedef struct mox_smtp_server_callbacks {
    size_t size; /* sizeof, set by MOX_SMTP_SERVER_CALLBACKS_INIT */
    /* greeting [220]; 554 means "no service" (only QUIT then), 421 closes */
    int (*on_connect)(void *user, mox_smtp_server *s, mox_smtp_server_reply *r);
    /* HELO/EHLO [250] */
    int (*on_hello)(void *user, mox_smtp_server *s, const mox_smtp_server_hello *h,
                    mox_smtp_server_reply *r);
    /* MAIL FROM, txn->mail_from and parameters filled [250 2.1.0] */
    int (*on_mail)(void *user, mox_smtp_server *s, const mox_smtp_server_txn *txn,
                   mox_smtp_server_reply *r);
    /* RCPT TO, not yet in txn->rcpts [250 2.1.5] */
    int (*on_rcpt)(void *user, mox_smtp_server *s, const mox_smtp_server_txn *txn,
                   const mox_smtp_server_rcpt *rcpt, mox_smtp_server_reply *r);
    /* DATA or first BDAT [354]: refuse with 4xx/5xx */
    int (*on_data_start)(void *user, mox_smtp_server *s, const mox_smtp_server_txn *txn,
                         mox_smtp_server_reply *r);
    /* message bytes, dot-unstuffed, CRLF line ends; MOX_OK or a negative
     * mox_err (the transaction then fails with 451 4.3.0) */
    int (*on_data_chunk)(void *user, mox_smtp_server *s, const void *p,
                         size_t n);
    /* complete message, one reply for the transaction [250 2.0.0]; may
     * record per-recipient outcomes with mox_smtp_server_set_rcpt_outcome */
    int (*on_data_end)(void *user, mox_smtp_server *s, const mox_smtp_server_txn *txn,
                       mox_smtp_server_reply *r);
    /* the transaction was discarded: drop what on_data_chunk stored */
    void (*on_reset)(void *user, mox_smtp_server *s, int reason);
    /* VRFY / EXPN [252 2.5.0] */
    int (*on_verify)(void *user, mox_smtp_server *s, int expn, const char *arg,
                     mox_smtp_server_reply *r);
    /* STARTTLS before the 220 [220 2.0.0]; refuse with 4xx/5xx */
    int (*on_starttls)(void *user, mox_smtp_server *s, mox_smtp_server_reply *r);
    /* AUTH outcome [235 2.7.0 on success, 535 5.7.8 / 454 4.7.0 / 501
     * on failure] */
    int (*on_auth)(void *user, mox_smtp_server *s, const mox_smtp_server_auth *a,
                   mox_smtp_server_reply *r);
} mox_smtp_server_callbacks;

#define MOX_SMTP_SERVER_CALLBACKS_INIT                                      \
    { sizeof(mox_smtp_server_callbacks), NULL, NULL, NULL, NULL, NULL, NULL, \
      NULL, NULL, NULL, NULL, NULL }

/* ---------------------------------------------------------------- session */

/* Creates a session. `config` and `callbacks` are copied (strings too);
 * `callbacks` may be NULL. MOX_ERR_INVAL without a hostname or with a bad
 * size; MOX_ERR_NOMEM. Free with mox_smtp_server_free. */
MOX_API int mox_smtp_server_new(mox_smtp_server **out,
                                const mox_smtp_server_config *config,
                                const mox_smtp_server_callbacks *callbacks,
                                void *user_data);

/* Frees the session (NULL is fine). An open transaction gets on_reset
 * (MOX_SMTP_SERVER_RESET_CLOSED) first. */
MOX_API void mox_smtp_server_free(mox_smtp_server *s);

/* Queues the greeting after asking on_connect. Call once, first. */
MOX_API int mox_smtp_server_start(mox_smtp_server *s);

/* Gives the engine bytes received from the peer. Returns how many it took
 * (possibly fewer than `len`, even 0: while a decision is deferred it
 * buffers at most config.max_pending bytes; feed the rest again later),
 * or a negative mox_err (MOX_ERR_NOMEM: the session is broken; close it).
 * After the session closed, input is taken and discarded. */
MOX_API int64_t mox_smtp_server_feed(mox_smtp_server *s, const void *in,
                                     size_t len);

/* The peer closed its side (EOF). Ends the session. */
MOX_API void mox_smtp_server_eof(mox_smtp_server *s);

/* Points at the bytes due for the peer now (possibly none). The pointer is
 * valid until the next call on the session. Returns MOX_OK. */
MOX_API int mox_smtp_server_output(mox_smtp_server *s, const void **out,
                                   size_t *len);

/* `n` bytes of the output were written. */
MOX_API void mox_smtp_server_output_done(mox_smtp_server *s, size_t n);

/* State bits for mox_smtp_server_state(). */
#define MOX_SMTP_SERVER_WANT_READ 0x01u /* feed input when it arrives */
#define MOX_SMTP_SERVER_WANT_WRITE 0x02u /* output has bytes due now */
#define MOX_SMTP_SERVER_WANT_TLS                                                                   \
    0x04u /* 220 written: run the TLS handshake,                                                   \
      then mox_smtp_server_tls_started */
#define MOX_SMTP_SERVER_DEFERRED 0x08u /* waiting for mox_smtp_server_decide */
#define MOX_SMTP_SERVER_TIMER 0x10u /* output held back until due_ns() */
#define MOX_SMTP_SERVER_CLOSED                                                                     \
    0x20u /* session over: close when nothing is                                                   \
      left to write (no WANT_WRITE/TIMER) */

/* Current state bits (reads the monotonic clock for WANT_WRITE/TIMER). */
MOX_API unsigned mox_smtp_server_state(mox_smtp_server *s);

/* Monotonic time (ns, env clock) when held-back output becomes due, or -1
 * when none is held back. */
MOX_API int64_t mox_smtp_server_due_ns(mox_smtp_server *s);

/* The decision currently awaited (MOX_SMTP_SERVER_DECIDE_*), NONE if none. */
MOX_API int mox_smtp_server_pending(const mox_smtp_server *s);

/* Answers the deferred decision `decide` (which must be the pending one:
 * otherwise MOX_ERR_STATE). `r` as for callbacks. Processing of buffered
 * input resumes inside this call (callbacks may run). MOX_ERR_NOMEM. */
MOX_API int mox_smtp_server_decide(mox_smtp_server *s, int decide, const mox_smtp_server_reply *r);

/* Shorthand for mox_smtp_server_decide with code, enhanced code and text. */
MOX_API int mox_smtp_server_decide_code(mox_smtp_server *s, int decide, int code,
                                        const char *enhanced, const char *text);

/* The credentials lookup of an AUTH exchange answered MOX_ERR_AGAIN (the
 * session then shows MOX_SMTP_SERVER_DEFERRED with pending MOX_SMTP_SERVER_DECIDE_AUTH):
 * call this once the store can answer; the exchange continues (the lookup
 * runs again). MOX_ERR_STATE when no lookup is waiting. */
MOX_API int mox_smtp_server_auth_resume(mox_smtp_server *s);

/* Records the outcome (an SMTP code) for recipient `idx` of the current
 * transaction during on_data_end (or before answering it deferred); logged
 * with the recipient. MOX_ERR_STATE/MOX_ERR_INVAL. */
MOX_API int mox_smtp_server_set_rcpt_outcome(mox_smtp_server *s, size_t idx,
                                             int code);

/* The TLS handshake after STARTTLS (state WANT_TLS) succeeded; the session
 * restarts (a new EHLO is required). Input fed from now on must be the
 * decrypted stream. MOX_ERR_STATE when no STARTTLS was pending. */
MOX_API int mox_smtp_server_tls_started(mox_smtp_server *s, const mox_tls_info *info);

/* The TLS handshake failed; `reason` is a short metric label
 * ("handshake", "certificate", ...). Ends the session. */
MOX_API void mox_smtp_server_tls_failed(mox_smtp_server *s,
                                        const char *reason);

/* Ends the session with a final reply (typically 421 4.3.2 shutting down,
 * or 421 4.4.2 timeout), discarding any open transaction. */
MOX_API int mox_smtp_server_close(mox_smtp_server *s, int code,
                                  const char *enhanced, const char *text);

/* Read-only views (valid until the next call that changes the session). */
MOX_API const mox_smtp_server_session *mox_smtp_server_get_session(const mox_smtp_server *s);
/* The open transaction, or NULL when there is none. */
MOX_API const mox_smtp_server_txn *mox_smtp_server_get_txn(const mox_smtp_server *s);

/* Appends a complete Received header field (with trailing CRLF) for the
 * current transaction to `out`: from (HELO name, quoted/commented when it
 * is not a valid domain, and the remote IP), by (hostname, local IP), with
 * (SMTP/ESMTP/UTF8SMTP + S for TLS + A for AUTH, RFC 3848/6531), id
 * (conn_id), the TLS version and cipher and REQUIRETLS as comments, for
 * (rcpt `rcpt_idx`, or none when SIZE_MAX or when it cannot be written
 * safely), and the date from the env's wall clock. Folded at 78 columns.
 * MOX_ERR_NOMEM, MOX_ERR_STATE without transaction. */
MOX_API int mox_smtp_server_received(const mox_smtp_server *s,
                                     size_t rcpt_idx, mox_buf *out);

/* Exposes the size of the session object, for capacity planning. */
MOX_API size_t mox_smtp_server_sizeof(void);

MOX_END_DECLS

#endif
