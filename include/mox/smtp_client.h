/*
 * libmox smtp_client: the client side of SMTP (RFC 5321) and submission
 * (RFC 6409) as a sans-I/O engine, plus the reply and EHLO parsers it is
 * built on.
 *
 * The engine never touches a socket, the clock's timers or TLS. The
 * embedder's loop:
 *
 *   mox_smtp_client_new(&c, &cfg);
 *   mox_smtp_client_submit(c, &msg);           // may be called at once
 *   for (;;) {
 *       st = mox_smtp_client_state(c);
 *       mox_smtp_client_output(c, &p, &n);      // write these bytes ...
 *       mox_smtp_client_output_done(c, written);// ... and say how many went
 *       if (st == MOX_SMTP_CLIENT_STARTTLS && n == 0) {
 *           handshake; mox_smtp_client_tls_done(c, ok, &info);
 *       }
 *       if (st == MOX_SMTP_CLIENT_READY) {
 *           d = mox_smtp_client_get_delivery(c);    // results of the last submit
 *           submit another message, or mox_smtp_client_quit(c);
 *       }
 *       if (st == MOX_SMTP_CLIENT_CLOSED && n == 0) break;
 *       if (mox_smtp_client_want_read(c)) read and mox_smtp_client_feed();
 *       on EOF/error: mox_smtp_client_eof(c); when the deadline passes
 *       (mox_smtp_client_deadline): mox_smtp_client_timeout(c);
 *   }
 *
 * Delivery: one message to many recipients over one connection, in as few
 * transactions as the server allows (MAIL, all RCPTs and DATA pipelined
 * under PIPELINING; BDAT under CHUNKING; recipients split by the LIMITS
 * RCPTMAX and RCPTDOMAINMAX; recipients refused with 452/552 after an
 * accepted one retried in a fresh transaction). Every recipient ends with
 * an outcome: accepted, or failed temporarily/permanently, with the
 * server's code, enhanced code and text, or a local explanation.
 *
 * Threading: an engine is not thread-safe; distinct engines are
 * independent. The parsers are reentrant.
 */
#ifndef MOX_SMTP_CLIENT_H
#define MOX_SMTP_CLIENT_H

#include "core.h"
#include "engine.h"
#include "sasl.h"
#include "smtp.h"

MOX_BEGIN_DECLS

/* Replies are parsed with mox_smtp_reply_parse and the EHLO reply with
 * mox_smtp_ehlo_parse (smtp.h); extensions are the MOX_SMTP_EXT_* bits. */

/* ---------------------------------------------------------------- engine */

typedef struct mox_smtp_client mox_smtp_client;

/* TLS policy. */
typedef enum mox_smtp_client_tls_mode {
    MOX_SMTP_CLIENT_TLS_OPPORTUNISTIC = 0, /* STARTTLS when offered, else plain */
    MOX_SMTP_CLIENT_TLS_NONE = 1,          /* never STARTTLS */
    MOX_SMTP_CLIENT_TLS_REQUIRED = 2,      /* STARTTLS must succeed (temporary
                                       connection failure otherwise) */
    MOX_SMTP_CLIENT_TLS_IMPLICIT = 3       /* the transport is already TLS (port
                                       465); call tls_done before feeding */
} mox_smtp_client_tls_mode;

/* Engine flags (config.flags). */
#define MOX_SMTP_CLIENT_LENIENT_8BIT  0x1u /* send 8-bit without 8BITMIME */
#define MOX_SMTP_CLIENT_NO_PIPELINING 0x2u /* ignore PIPELINING */
#define MOX_SMTP_CLIENT_NO_CHUNKING   0x4u /* use DATA even with CHUNKING */
#define MOX_SMTP_CLIENT_PLAINTEXT_AUTH 0x8u /* allow AUTH without TLS */

/* Authentication, supplied by the embedder (mox_smtp_client_auth_sasl
 * builds one on the SASL module). Buffers are raw bytes; the engine does
 * the base64 framing.
 *  - start: pick a mechanism among the server's `mechs` (upper-case names).
 *    `tls` is NULL on a plain connection; its peer_identity is non-NULL
 *    when the transport presented a client certificate (SASL EXTERNAL:
 *    the identity it stands for, "" to let the server derive it). Sets *mech (valid until end or
 *    the next start) and, when the mechanism has an initial response,
 *    appends it to `initial` and sets *has_initial. Returns MOX_OK,
 *    MOX_ERR_NOTFOUND when no mechanism fits (the session fails
 *    permanently), or another negative mox_err.
 *  - step: the server's decoded challenge -> the response (appended).
 *    MOX_OK, or a negative mox_err to abort ("*").
 *  - finish: the server said 235; MOX_OK if the mechanism agrees it is
 *    complete (SCRAM: the server's signature was verified), else the
 *    session fails.
 *  - end: release per-exchange state (always called once after start). */
typedef struct mox_smtp_client_auth {
    size_t size; /* sizeof(mox_smtp_client_auth) */
    void *ctx;
    int (*start)(void *ctx, const char *const *mechs, size_t nmechs,
                 const mox_tls_info *tls, const char **mech,
                 mox_buf *initial, int *has_initial);
    int (*step)(void *ctx, const unsigned char *challenge, size_t len,
                mox_buf *response);
    int (*finish)(void *ctx);
    void (*end)(void *ctx);
} mox_smtp_client_auth;

#define MOX_SMTP_CLIENT_AUTH_INIT { sizeof(mox_smtp_client_auth), NULL, NULL, NULL, NULL, NULL }

/* Engine configuration. Strings and the `auth` interface struct are copied
 * at mox_smtp_client_new (`auth->size` may be that of any version: the
 * engine reads what both know); `env` and the interface's `ctx` must
 * outlive the engine.
 * Timeouts (milliseconds, 0: the RFC 5321 §4.5.3.2 value): greeting 5 min,
 * other commands (EHLO, STARTTLS, AUTH, MAIL, RCPT, RSET, QUIT) 5 min,
 * DATA initiation 2 min, each data block written 3 min, the reply to the
 * end of data 10 min. */
typedef struct mox_smtp_client_config {
    size_t size; /* sizeof(mox_smtp_client_config), MOX_SMTP_CLIENT_CONFIG_INIT */
    const mox_env *env;
    const char *ehlo_name;      /* required: our host name (ASCII) or literal */
    int tls_mode;               /* mox_smtp_client_tls_mode */
    unsigned flags;             /* MOX_SMTP_CLIENT_* */
    const mox_smtp_client_auth *auth; /* NULL: no AUTH */
    mox_smtp_reply_limits limits;
    uint32_t timeout_greeting_ms;
    uint32_t timeout_command_ms;
    uint32_t timeout_data_init_ms;
    uint32_t timeout_data_block_ms;
    uint32_t timeout_data_end_ms;
} mox_smtp_client_config;

#define MOX_SMTP_CLIENT_CONFIG_INIT { sizeof(mox_smtp_client_config), NULL, NULL, \
    MOX_SMTP_CLIENT_TLS_OPPORTUNISTIC, 0u, NULL, {0, 0}, 0, 0, 0, 0, 0 }

/* NOTIFY and RET values are MOX_SMTP_NOTIFY_* and MOX_SMTP_RET_* (smtp.h). */

/* Message flags. */
#define MOX_SMTP_CLIENT_MSG_SMTPUTF8   0x1u /* the header has UTF-8 (RFC 6532):
                                        needs SMTPUTF8 */
#define MOX_SMTP_CLIENT_MSG_REQUIRETLS 0x2u /* RFC 8689 REQUIRETLS */

/* One recipient. `address` is local@domain without brackets (UTF-8
 * allowed; it then needs SMTPUTF8). `orcpt` (optional) is the original
 * recipient address for the DSN ORCPT parameter, encoded by the engine. */
typedef struct mox_smtp_client_rcpt {
    const char *address;
    unsigned notify;    /* MOX_SMTP_NOTIFY_* */
    const char *orcpt;
} mox_smtp_client_rcpt;

/* A message to deliver. `from` is local@domain, or "" for the null
 * reverse path. `data` is the whole message (header and body) in any line
 * ending convention: the engine normalises every line ending to CRLF,
 * dot-stuffs for DATA, and never copies it, so it must stay valid and
 * unchanged until the delivery finished (state READY or CLOSED). A NUL
 * byte makes the message fail (permanent, 5.6.0): no SMTP body type
 * without BINARYMIME allows it. `hold_for` (seconds, > 0) or `hold_until`
 * (RFC 3339 date-time) ask for FUTURERELEASE. */
typedef struct mox_smtp_client_message {
    size_t size; /* sizeof(mox_smtp_client_message), set by MOX_SMTP_CLIENT_MESSAGE_INIT */
    const char *from;
    const mox_smtp_client_rcpt *rcpts;
    size_t nrcpts;
    const void *data;
    size_t len;
    unsigned flags;     /* MOX_SMTP_CLIENT_MSG_* */
    int ret;            /* MOX_SMTP_RET_* */
    const char *envid;  /* DSN ENVID (xtext-encoded by the engine), or NULL */
    uint64_t hold_for;
    const char *hold_until;
} mox_smtp_client_message;

#define MOX_SMTP_CLIENT_MESSAGE_INIT { sizeof(mox_smtp_client_message), NULL, NULL, 0, NULL, 0, \
    0u, MOX_SMTP_RET_NONE, NULL, 0, NULL }

/* Where an outcome was decided. */
typedef enum mox_smtp_client_stage {
    MOX_SMTP_CLIENT_STAGE_NONE = 0,
    MOX_SMTP_CLIENT_STAGE_CONNECT,   /* before any reply: transport failure */
    MOX_SMTP_CLIENT_STAGE_GREETING,
    MOX_SMTP_CLIENT_STAGE_EHLO,
    MOX_SMTP_CLIENT_STAGE_STARTTLS,
    MOX_SMTP_CLIENT_STAGE_TLS,       /* the handshake itself */
    MOX_SMTP_CLIENT_STAGE_AUTH,
    MOX_SMTP_CLIENT_STAGE_PREPARE,   /* local checks before MAIL */
    MOX_SMTP_CLIENT_STAGE_MAIL,
    MOX_SMTP_CLIENT_STAGE_RCPT,
    MOX_SMTP_CLIENT_STAGE_DATA,      /* DATA command */
    MOX_SMTP_CLIENT_STAGE_DATA_END,  /* reply to the end of data, or to BDAT LAST */
    MOX_SMTP_CLIENT_STAGE_QUIT
} mox_smtp_client_stage;

/* Scope of a failure, for the queue: a connection failure is retried
 * elsewhere or later for every recipient; a transaction failure concerns
 * this message; a recipient failure only that recipient. */
typedef enum mox_smtp_client_scope {
    MOX_SMTP_CLIENT_SCOPE_NONE = 0,
    MOX_SMTP_CLIENT_SCOPE_CONNECTION,
    MOX_SMTP_CLIENT_SCOPE_TRANSACTION,
    MOX_SMTP_CLIENT_SCOPE_RECIPIENT
} mox_smtp_client_scope;

/* One result. `text` is never NULL (the server's text, or the engine's
 * explanation when `local`). For a success `temporary` is 0. */
typedef struct mox_smtp_client_outcome {
    int code;            /* e.g. 250, 452, 550; the engine's choice when local */
    char enhanced[16];   /* "5.1.1", or "" */
    const char *text;
    int temporary;
    int local;           /* 1: decided by the engine (no such server reply) */
    int stage;           /* mox_smtp_client_stage */
    int scope;           /* mox_smtp_client_scope */
} mox_smtp_client_outcome;

typedef struct mox_smtp_client_rcpt_result {
    const char *address;
    int accepted;
    mox_smtp_client_outcome outcome;
} mox_smtp_client_rcpt_result;

/* Results of one submit, in recipient order. Valid until the next submit
 * or mox_smtp_client_free. */
typedef struct mox_smtp_client_delivery {
    size_t nrcpts;
    const mox_smtp_client_rcpt_result *rcpts;
    size_t naccepted;
    size_t ntemporary;   /* failed temporarily */
    size_t npermanent;   /* failed permanently */
    unsigned transactions;  /* MAIL commands sent for this message */
    int dsn_dropped;        /* DSN parameters requested, server lacks DSN */
    int done;               /* every recipient has its outcome */
} mox_smtp_client_delivery;

typedef enum mox_smtp_client_status {
    MOX_SMTP_CLIENT_BUSY = 0,  /* in a command exchange: write the output,
                                  feed the input */
    MOX_SMTP_CLIENT_STARTTLS,  /* write the output, then do the TLS
                                  handshake and call tls_done */
    MOX_SMTP_CLIENT_READY,     /* idle after greeting/EHLO/AUTH or after a
                                  delivery: submit or quit */
    MOX_SMTP_CLIENT_CLOSED     /* finished (QUIT done or failure): write the
                                  remaining output, then close */
} mox_smtp_client_status;

/* Creates an engine (it starts waiting for the greeting). Errors:
 * MOX_ERR_INVAL (NULL arguments, missing or unsafe ehlo_name, bad mode),
 * MOX_ERR_NOMEM. */
MOX_API int mox_smtp_client_new(mox_smtp_client **out,
                                const mox_smtp_client_config *cfg,
                                mox_errinfo *ei);
/* Frees the engine (ending a running AUTH exchange through auth->end).
 * Results and strings obtained from it become invalid. NULL-safe. */
MOX_API void mox_smtp_client_free(mox_smtp_client *c);

/* The engine's status, a mox_smtp_client_status. */
MOX_API int mox_smtp_client_state(const mox_smtp_client *c);

/* Bytes taken from the server. Returns how many were consumed (all of
 * them, except in STARTTLS, where any byte is a response injection that
 * closes the session, and in CLOSED, where nothing more is read), or
 * MOX_ERR_NOMEM (the session is closed with a temporary failure). Reply
 * syntax errors and limits close the session; they are not errors of
 * this call. */
MOX_API int64_t mox_smtp_client_feed(mox_smtp_client *c, const void *in,
                                     size_t len);

/* The bytes to send (possibly none), owned by the engine and valid until
 * the next call on the engine. Then output_done(n) with how many were
 * written (n <= len). */
MOX_API void mox_smtp_client_output(mox_smtp_client *c, const unsigned char **out,
                                    size_t *len);
MOX_API int mox_smtp_client_output_done(mox_smtp_client *c, size_t n);

/* 1 when the engine waits for server bytes. */
MOX_API int mox_smtp_client_want_read(const mox_smtp_client *c);

/* Deadline of the current wait (monotonic ns of the env clock), or
 * INT64_MAX when nothing is awaited. When it passes, call timeout(). */
MOX_API int64_t mox_smtp_client_deadline(const mox_smtp_client *c);

/* The deadline passed: the session fails (temporary, 4.4.2). */
MOX_API void mox_smtp_client_timeout(mox_smtp_client *c);

/* The transport reports end of stream or an error (`err` a negative
 * mox_err, e.g. MOX_ERR_IO; 0 for a clean EOF). The session closes; what
 * was not decided fails temporarily. */
MOX_API void mox_smtp_client_eof(mox_smtp_client *c, int err);

/* After STARTTLS (or at once, for IMPLICIT): the handshake succeeded
 * (ok = 1, `info` required) or failed (ok = 0: the session fails; for the
 * opportunistic policy the embedder may reconnect with
 * MOX_SMTP_CLIENT_TLS_NONE). The engine then sends EHLO again. MOX_ERR_STATE if
 * no handshake was due, MOX_ERR_NOMEM. */
MOX_API int mox_smtp_client_tls_done(mox_smtp_client *c, int ok,
                                     const mox_tls_info *info);

/* Starts delivering `msg` (copied, except `data`). Allowed before the
 * greeting arrived and in READY. Errors: MOX_ERR_STATE (a delivery is in
 * progress or the session closed), MOX_ERR_INVAL (NULL, no recipients,
 * an address with characters that could inject a command: CR, LF, NUL,
 * SP, '<', '>', a bad NOTIFY combination or parameter: an ENVID that is
 * not printable US-ASCII or longer than 100 characters as xtext (RFC 3461
 * section 4.4), an ORCPT with a control character, malformed UTF-8 or
 * longer than 500 characters encoded, a HOLDUNTIL that is not an RFC 3339
 * date-time (RFC 4865)), MOX_ERR_NOMEM.
 * Checks that depend on the server (SIZE, 8BITMIME, SMTPUTF8, REQUIRETLS,
 * FUTURERELEASE) become outcomes, not errors. */
MOX_API int mox_smtp_client_submit(mox_smtp_client *c,
                                   const mox_smtp_client_message *msg,
                                   mox_errinfo *ei);

/* Results of the current or last submit (NULL before any). */
MOX_API const mox_smtp_client_delivery *mox_smtp_client_get_delivery(const mox_smtp_client *c);

/* Sends QUIT (in READY; in CLOSED it does nothing). MOX_ERR_STATE while a
 * delivery is in progress. */
MOX_API int mox_smtp_client_quit(mox_smtp_client *c);

/* The session's failure (NULL while none): why the connection ended
 * abnormally, classified like a recipient outcome (scope CONNECTION). */
MOX_API const mox_smtp_client_outcome *mox_smtp_client_failure(const mox_smtp_client *c);

/* What the server announced (valid after EHLO; library-owned). */
MOX_API const mox_smtp_ehlo *mox_smtp_client_extensions(const mox_smtp_client *c);

/* 1 if the session is protected by TLS; 1 if AUTH succeeded. */
MOX_API int mox_smtp_client_tls_active(const mox_smtp_client *c);
MOX_API int mox_smtp_client_authenticated(const mox_smtp_client *c);

/* Name of the mechanism used for AUTH, or NULL. */
MOX_API const char *mox_smtp_client_auth_mech(const mox_smtp_client *c);

/* ---------------------------------------------------------------- SASL */

/* An authentication interface on the SASL module's client engines: picks
 * the strongest mechanism both sides have (mox_sasl_client_choose: SCRAM
 * -PLUS variants when the TLS transport supplied channel bindings,
 * tls-exporter preferred), and requires SCRAM's server signature before
 * trusting a 235. `cfg` (username, password, allowed mechanisms ...) must
 * outlive the adapter; its `channel` member is ignored: the channel is
 * built from what mox_smtp_client_tls_done was given. Errors:
 * MOX_ERR_INVAL, MOX_ERR_NOMEM. */
typedef struct mox_smtp_client_sasl mox_smtp_client_sasl;

MOX_API int mox_smtp_client_sasl_new(mox_smtp_client_sasl **out,
                                     const mox_sasl_client_config *cfg);
/* Frees the adapter (free the engine using its interface first).
 * NULL-safe. */
MOX_API void mox_smtp_client_sasl_free(mox_smtp_client_sasl *s);

/* The interface to put in mox_smtp_client_config.auth (owned by `s`). */
MOX_API const mox_smtp_client_auth *mox_smtp_client_sasl_auth(mox_smtp_client_sasl *s);

/* Why the last exchange failed on the client side (MOX_SASL_FAIL_NONE if
 * it did not, or the server refused). */
MOX_API mox_sasl_failure mox_smtp_client_sasl_failure(const mox_smtp_client_sasl *s);

/* ---------------------------------------------------------------- data */

/* Body encoding, exposed for embedders that write DATA themselves and for
 * tests. mox_smtp_client_data_encode appends to `out` the wire form of `data`:
 * every CR, LF or CRLF becomes CRLF, a final line without line ending gets
 * one, lines starting with '.' get another '.' when `dot_stuff`, and with
 * `dot_stuff` the terminating ".\r\n" is appended. MOX_ERR_SYNTAX
 * (ei->offset) for a NUL byte, MOX_ERR_NOMEM. */
MOX_API int mox_smtp_client_data_encode(const void *data, size_t len, int dot_stuff,
                                 mox_buf *out, mox_errinfo *ei);

MOX_END_DECLS

#endif
