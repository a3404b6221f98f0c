/*
 * libmox SMTP server engine: one server-side SMTP session as a sans-I/O
 * engine (RFC 5321 with PIPELINING, SIZE, STARTTLS, REQUIRETLS, AUTH,
 * FUTURERELEASE, ENHANCEDSTATUSCODES, 8BITMIME, LIMITS, SMTPUTF8,
 * CHUNKING/BINARYMIME and DSN) that speaks the engine contract of
 * engine.h: the embedder owns the socket and the loop, and serves what
 * mox_smtp_server_want() asks for:
 *
 *     mox_smtp_server_new(&s, &config, &callbacks, user, &ei);
 *     for (;;) {
 *         unsigned w = mox_smtp_server_want(s);
 *         WRITE:    mox_smtp_server_output(s, &p, &n); send; output_done(s, sent)
 *         READ:     read; mox_smtp_server_feed(s, buf, n) (bytes taken; 0: full);
 *                   peer closed: mox_smtp_server_eof(s)
 *         DECISION: a callback deferred; mox_smtp_server_decide(s, id, &reply)
 *         TLS:      mox_smtp_server_tls_request(s, &req); handshake;
 *                   mox_smtp_server_tls_done(s, status, &info)
 *         TIMER:    at mox_smtp_server_deadline(s): mox_smtp_server_tick(s, now)
 *         CLOSED:   write what output still has, then close (DONE: result)
 *     }
 *
 * The greeting is asked for (on_connect) and queued inside _new (*out is
 * set before the callback runs), or in tls_done() with implicit TLS.
 *
 * Every policy decision is a callback that fills in a reply and returns
 * MOX_SMTP_SERVER_REPLY, or returns MOX_SMTP_SERVER_DEFER and is answered
 * later with mox_smtp_server_decide(s, id, ...), where id is
 * mox_smtp_server_pending(s, NULL) (read it inside the callback or after).
 * decide() is also legal inside the callback that defers: an embedder
 * whose asynchronous work finished at once answers there and returns
 * MOX_SMTP_SERVER_DEFER. Pipelined input waits meanwhile, bounded by
 * config.max_pending bytes (backpressure: feed then takes nothing more).
 *
 * Every timeout is a deadline that trickling bytes cannot extend (see the
 * config's *_timeout_ms and docs/smtp_server.md "Deadlines"): a command
 * line must be complete within command_timeout_ms of the moment the
 * engine began waiting for it, a message (DATA, or BDAT from the first
 * chunk to the last) within data_timeout_ms of its start, a session within
 * session_timeout_ms, and shorter limits apply while the embedder's count
 * of connections is at or above config.stress_connections. deadline() is
 * the earliest of them (and of held-back output); tick(now) enforces it.
 * Times are monotonic nanoseconds of config.env's clock, the clock tick's
 * argument must come from.
 *
 * Threading: a session is not thread-safe; distinct sessions are
 * independent. Callbacks run synchronously inside new, feed, eof, tick,
 * tls_done, decide and close; they must not call feed, eof, tick, tls_done,
 * close or free on the session (MOX_ERR_STATE), but may call decide for
 * the decision being asked, the read-only accessors and
 * mox_smtp_server_set_rcpt_outcome.
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

/* Extensions the engine offers unless config.extensions_off names them
 * (MOX_SMTP_EXT_* bits of smtp.h). STARTTLS is governed by
 * config.tls_available, AUTH by the SASL mechanisms, FUTURERELEASE by
 * config.max_hold_seconds, and ENHANCEDSTATUSCODES is always on (every
 * reply carries one except those RFC 2034 §3 exempts). BINARYMIME needs
 * CHUNKING; REQUIRETLS is offered only once TLS is active (RFC 8689 §4). */
#define MOX_SMTP_SERVER_EXT_DEFAULT                                                                \
    (MOX_SMTP_EXT_PIPELINING | MOX_SMTP_EXT_SIZE | MOX_SMTP_EXT_8BITMIME | MOX_SMTP_EXT_SMTPUTF8 | \
     MOX_SMTP_EXT_CHUNKING | MOX_SMTP_EXT_BINARYMIME | MOX_SMTP_EXT_DSN | MOX_SMTP_EXT_LIMITS |    \
     MOX_SMTP_EXT_REQUIRETLS)

/* Session configuration. Zero means the default in every field, so a
 * zeroed struct with `size` set (mox_smtp_server_config_init) is valid. Copied by mox_smtp_server_new (strings too);
 * `env`, `auth_creds` and `connections` are referenced and must outlive
 * the session. */
typedef struct mox_smtp_server_config {
    size_t size;              /* sizeof, set by MOX_SMTP_SERVER_CONFIG_INIT */
    const mox_env *env;       /* logger, metrics, clocks; NULL: defaults */
    int mode; /* MOX_SMTP_SERVER_DELIVERY (0) or MOX_SMTP_SERVER_SUBMISSION */
    const char *hostname;     /* our host name (ASCII); NULL: "localhost" */
    const char *conn_id;      /* connection id: STARTTLS 220 text, Received id */
    const char *remote_ip;    /* peer address as text, for Received/logging */
    const char *local_ip;     /* our address as text, for Received */
    const char *greeting;     /* text after "220 hostname ESMTP"; NULL: none */
    unsigned extensions_off;  /* MOX_SMTP_EXT_* not to offer; 0: offer all
                                 of MOX_SMTP_SERVER_EXT_DEFAULT */
    int tls_available;        /* offer STARTTLS */
    int tls_active;           /* implicit TLS (port 465): the session starts
                                 by wanting TLS, the greeting follows */
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
    uint64_t max_message_size;/* SIZE (RFC 1870); 0: 100 MiB; UINT64_MAX:
                                 no limit (SIZE without a number) */
    unsigned max_rcpts;       /* per transaction (LIMITS RCPTMAX, RFC 9422);
                                 0: 1000 (RFC 5321 §4.5.3.1.8 asks for at
                                 least 100); UINT_MAX: no limit */
    unsigned max_errors;      /* bad commands before 421 and close; 0: 10 */
    unsigned max_auth_failures;/* failed AUTH attempts before 421; 0: 3 */
    size_t max_line;          /* command line incl. CRLF; 0: 2048 (RFC 5321
                                 §4.5.3.1.4 asks for at least 512) */
    size_t max_auth_line;     /* AUTH continuation line; 0: 12288 (RFC 4954 §4) */
    size_t max_pending;       /* input buffered while a decision is
                                 deferred; 0: 65536 */
    uint32_t max_hold_seconds;/* FUTURERELEASE maximum (submission); 0: not
                                 offered */
    uint32_t slow_max_ms;     /* a slow reply completes within this; 0: 25000 */
    /* Deadlines, in milliseconds (docs/smtp_server.md "Deadlines"). */
    uint32_t command_timeout_ms; /* a command line, counted from when the
                                    engine began waiting for it, and the
                                    TLS handshake; 0: 300000, the 5 minutes
                                    of RFC 5321 §4.5.3.2.7 */
    uint32_t data_timeout_ms; /* a message, from the 354 (DATA) or the first
                                 BDAT to its end; 0: 600000 (10 minutes:
                                 the client's wait for the final reply,
                                 RFC 5321 §4.5.3.2.6) */
    uint32_t session_timeout_ms; /* the whole session; 0: 3600000 */
    uint32_t close_timeout_ms;/* after the session ended (and its held-back
                                 replies were released), to write its last
                                 replies; 0: 10000 */
    /* Stress (as Postfix's smtpd under load): while *connections, the
     * embedder's count of open connections, is at least
     * stress_connections, the stress limits replace the ones above in
     * every session sharing the counter (deadline() is recomputed on each
     * call). connections NULL or stress_connections 0: never. */
    const unsigned *connections;
    unsigned stress_connections;
    uint32_t stress_command_timeout_ms; /* 0: 10000 */
    uint32_t stress_data_timeout_ms;    /* 0: 120000 */
    uint32_t stress_session_timeout_ms; /* 0: 300000 */
} mox_smtp_server_config;

#define MOX_SMTP_SERVER_CONFIG_INIT                                                                \
    {                                                                                              \
        sizeof(mox_smtp_server_config), NULL, MOX_SMTP_SERVER_DELIVERY, NULL, NULL, NULL, NULL,    \
            NULL, 0u, 0, 0, 0, 0u, NULL, 0, 0, 0, 0u, 0u, 0u, 0, 0, 0, 0u, 0u, 0u, 0u, 0u, 0u,    \
            NULL, 0u, 0u, 0u, 0u                                                                   \
    }

/* Function form of MOX_SMTP_SERVER_CONFIG_INIT for bindings: zeroes `cfg`
 * (`size` bytes, the caller's sizeof) and sets its size. NULL-safe. */
MOX_API void mox_smtp_server_config_init(mox_smtp_server_config *cfg, size_t size);

/* ---------------------------------------------------------------- replies */

/* Callback results. */
#define MOX_SMTP_SERVER_REPLY                                                                      \
    0 /* the reply struct has been filled in (or left as                                           \
  the engine's default) */
#define MOX_SMTP_SERVER_DEFER 1 /* decided with mox_smtp_server_decide(), later or
                                   inside the callback */
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

/* Function form of MOX_SMTP_SERVER_REPLY_INIT. NULL-safe. */
MOX_API void mox_smtp_server_reply_init(mox_smtp_server_reply *r, size_t size);

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

/* Decision kinds (mox_smtp_server_pending). */
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

/* Function form of MOX_SMTP_SERVER_CALLBACKS_INIT. NULL-safe. */
MOX_API void mox_smtp_server_callbacks_init(mox_smtp_server_callbacks *cb, size_t size);

/* ---------------------------------------------------------------- result */

/* How a session ended (mox_smtp_server_outcome.end). */
enum {
    MOX_SMTP_SERVER_END_NONE = 0, /* not ended */
    MOX_SMTP_SERVER_END_QUIT,     /* the client said QUIT */
    MOX_SMTP_SERVER_END_EOF,      /* the client closed (mox_smtp_server_eof) */
    MOX_SMTP_SERVER_END_TIMEOUT,  /* a deadline passed (result.timeout says which) */
    MOX_SMTP_SERVER_END_ERRORS,   /* too many protocol errors (max_errors) */
    MOX_SMTP_SERVER_END_POLICY,   /* a reply closed it: 421 greeting, a reply
                                     with close, too many AUTH failures */
    MOX_SMTP_SERVER_END_TLS,      /* the TLS handshake failed */
    MOX_SMTP_SERVER_END_CLOSED,   /* mox_smtp_server_close */
    MOX_SMTP_SERVER_END_NOMEM     /* an allocation failed */
};

/* Which deadline passed (mox_smtp_server_outcome.timeout). */
enum {
    MOX_SMTP_SERVER_TIMEOUT_NONE = 0,
    MOX_SMTP_SERVER_TIMEOUT_COMMAND, /* a command line (or the wait for it) */
    MOX_SMTP_SERVER_TIMEOUT_DATA,    /* message data */
    MOX_SMTP_SERVER_TIMEOUT_SESSION, /* the session's lifetime */
    MOX_SMTP_SERVER_TIMEOUT_TLS      /* the TLS handshake */
};

/* The outcome of a session, valid once MOX_WANT_DONE is set (before, `end`
 * is MOX_SMTP_SERVER_END_NONE). Owned by the session. */
typedef struct mox_smtp_server_outcome {
    int end;      /* MOX_SMTP_SERVER_END_* */
    int timeout;  /* MOX_SMTP_SERVER_TIMEOUT_* for END_TIMEOUT */
    int stressed; /* the deadline that passed was a stress limit */
    const mox_smtp_server_session *session; /* counters, identities */
} mox_smtp_server_outcome;

/* ---------------------------------------------------------------- engine */

/* Creates a session and asks for the greeting (on_connect; with implicit
 * TLS that waits for tls_done). `config` and `callbacks` are copied
 * (strings too, up to each struct's size); `callbacks` may be NULL; `user`
 * is given to every callback. Errors (ei filled): MOX_ERR_INVAL (NULL out or config, a size
 * too small, an empty or unsafe hostname, a mode that is neither
 * DELIVERY nor SUBMISSION), MOX_ERR_NOMEM. Free with mox_smtp_server_free. */
MOX_API int mox_smtp_server_new(mox_smtp_server **out, const mox_smtp_server_config *config,
                                const mox_smtp_server_callbacks *callbacks, void *user,
                                mox_errinfo *ei);

/* Frees the session (NULL is fine). An open transaction gets on_reset
 * (MOX_SMTP_SERVER_RESET_CLOSED) first. */
MOX_API void mox_smtp_server_free(mox_smtp_server *s);

/* What the session waits for now, MOX_WANT_* bits (engine.h):
 *   READ      input is taken (also while a decision is deferred, until
 *             max_pending bytes are buffered)
 *   WRITE     output has bytes to send now
 *   DECISION  a callback deferred: mox_smtp_server_decide
 *   TLS       STARTTLS's 220 was written (or implicit TLS): run the
 *             handshake (mox_smtp_server_tls_request, _tls_done)
 *   TIMER     mox_smtp_server_deadline() is set
 *   CLOSED    the session is over: write what output still has, close
 *             (set once no reply is held back any more: until then only
 *             TIMER, and WRITE as parts become due)
 *   DONE      with CLOSED: mox_smtp_server_result is final
 * Reads the env clock (held-back output). 0 for NULL. */
MOX_API unsigned mox_smtp_server_want(const mox_smtp_server *s);

/* Gives the engine bytes received from the peer (plaintext: after TLS,
 * what the TLS layer decrypted). Returns how many it took: fewer than `n`,
 * even 0, while a decision is deferred and max_pending bytes are buffered
 * (feed the rest again later); all of them after the session ended or
 * while STARTTLS waits for the handshake (plaintext sent then is discarded,
 * RFC 3207 §5: CVE-2011-0411). Errors (recorded, see mox_engine_error):
 * MOX_ERR_INVAL (NULL p with n > 0), MOX_ERR_STATE (after eof, inside a
 * callback, before an implicit-TLS handshake), MOX_ERR_NOMEM (the
 * session is broken; close it). */
MOX_API int64_t mox_smtp_server_feed(mox_smtp_server *s, const void *p, size_t n);

/* The peer closed its side. The session ends once the input fed before
 * was processed (a deferred decision still sees its pipelined commands).
 * MOX_OK; MOX_ERR_INVAL (NULL), MOX_ERR_STATE (a second eof, inside a
 * callback). */
MOX_API int mox_smtp_server_eof(mox_smtp_server *s);

/* Points *p at the bytes due for the peer now (*n, possibly 0), valid
 * until the next call on the session. MOX_OK, MOX_ERR_INVAL (NULL
 * arguments), MOX_ERR_NOMEM (a reply could not be queued: the session is
 * over). */
MOX_API int mox_smtp_server_output(mox_smtp_server *s, const void **p, size_t *n);

/* `n` bytes of what output() handed out were written. MOX_OK;
 * MOX_ERR_INVAL (recorded) when n is larger than what was handed out. */
MOX_API int mox_smtp_server_output_done(mox_smtp_server *s, size_t n);

/* The decision being asked (inside a callback) or deferred: its id (> 0,
 * increasing over the session, never reused) and in *kind (optional) its
 * MOX_SMTP_SERVER_DECIDE_*. 0 (and kind NONE) when there is none. */
MOX_API uint32_t mox_smtp_server_pending(const mox_smtp_server *s, int *kind);

/* Answers decision `id` with `r` (as a callback would fill it; r->size
 * set). Processing of buffered input resumes inside this call (callbacks
 * may run), except when called inside the callback that asks: the
 * decision is then taken as the callback returns. Errors (recorded):
 * MOX_ERR_INVAL (NULL, bad size), MOX_ERR_NOTFOUND (no decision with that
 * id was ever asked), MOX_ERR_STATE (decided already, the session ended,
 * or it waits for a credentials lookup, not a decision), MOX_ERR_NOMEM. */
MOX_API int mox_smtp_server_decide(mox_smtp_server *s, uint32_t id, const mox_smtp_server_reply *r);

/* Shorthand for mox_smtp_server_decide with code, enhanced code and text. */
MOX_API int mox_smtp_server_decide_code(mox_smtp_server *s, uint32_t id, int code,
                                        const char *enhanced, const char *text);

/* While TLS is wanted: fills `req` (size set by the caller) with what to
 * start: role MOX_TLS_ROLE_SERVER, required (a failure ends the session:
 * no plaintext fallback after STARTTLS, RFC 3207 §4.1). MOX_ERR_INVAL
 * (NULL), MOX_ERR_STATE (TLS not wanted now). */
MOX_API int mox_smtp_server_tls_request(const mox_smtp_server *s, mox_tls_request *req);

/* The handshake finished: `status` MOX_OK with `info` (copied: version,
 * cipher, SNI, client certificate and the identity the embedder
 * authorised for it, channel bindings) restarts the session on TLS (RFC
 * 3207 §4.2: a new EHLO is required; with implicit TLS the greeting
 * follows); input fed from now on is the decrypted stream. A negative
 * status (the handshake failed; MOX_ERR_TIMEOUT, MOX_ERR_CRYPTO, ...) ends
 * the session without a reply (none can be sent). Errors (recorded):
 * MOX_ERR_INVAL (status OK without info), MOX_ERR_STATE (no handshake was
 * wanted, inside a callback), MOX_ERR_NOMEM. */
MOX_API int mox_smtp_server_tls_done(mox_smtp_server *s, int status, const mox_tls_info *info);

/* Monotonic time (ns, env clock) of the earliest deadline: held-back
 * output becoming due, or a timeout of the command, message, TLS
 * handshake, session or closing wait; MOX_NO_DEADLINE when none. Reads
 * *config.connections (stress). */
MOX_API int64_t mox_smtp_server_deadline(const mox_smtp_server *s);

/* Time has come to `now_ns`: releases held-back output that is due and
 * enforces the timeouts that passed (421 4.4.2 and the end of the
 * session; after a failed TLS handshake deadline or the closing wait, the
 * remaining output is dropped). Calling it early does nothing. MOX_OK;
 * MOX_ERR_INVAL (NULL), MOX_ERR_STATE (inside a callback), MOX_ERR_NOMEM. */
MOX_API int mox_smtp_server_tick(mox_smtp_server *s, int64_t now_ns);

/* The session's outcome (never NULL for a session; NULL for NULL). */
MOX_API const mox_smtp_server_outcome *mox_smtp_server_result(const mox_smtp_server *s);

/* The generic engine view (engine.h), owned by the session. It has the
 * feed, output, TLS and time groups; decisions go through
 * mox_smtp_server_decide. */
MOX_API mox_engine *mox_smtp_server_engine(mox_smtp_server *s);

/* The credentials lookup of an AUTH exchange answered MOX_ERR_AGAIN (the
 * session then wants DECISION with pending kind MOX_SMTP_SERVER_DECIDE_AUTH):
 * call this once the store can answer; the exchange continues (the lookup
 * runs again). MOX_ERR_STATE when no lookup is waiting. */
MOX_API int mox_smtp_server_auth_resume(mox_smtp_server *s);

/* Records the outcome (an SMTP code) for recipient `idx` of the current
 * transaction during on_data_end (or before answering it deferred); logged
 * with the recipient. MOX_ERR_STATE/MOX_ERR_INVAL. */
MOX_API int mox_smtp_server_set_rcpt_outcome(mox_smtp_server *s, size_t idx,
                                             int code);

/* Ends the session with a final reply (typically 421 4.3.2 shutting down),
 * discarding any open transaction (result end MOX_SMTP_SERVER_END_CLOSED).
 * MOX_ERR_INVAL (NULL), MOX_ERR_STATE (ended already, inside a callback),
 * MOX_ERR_NOMEM. */
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
