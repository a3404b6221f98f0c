/*
 * libmox smtp_client: the client side of SMTP (RFC 5321) and submission
 * (RFC 6409) as a sans-I/O engine speaking the engine contract of
 * engine.h. It never touches a socket, a timer or TLS; the embedder
 * serves what mox_smtp_client_want() asks for:
 *
 *   mox_smtp_client_new(&c, &cfg, &ei);
 *   mox_smtp_client_submit(c, &msg, &ei);   // may be called at once
 *   mox_smtp_client_quit(c);                // optional: QUIT after it
 *   for (;;) {
 *       unsigned w = mox_smtp_client_want(c);
 *       WRITE: mox_smtp_client_output(c, &p, &n); send; output_done(c, sent)
 *       READ:  read; mox_smtp_client_feed(c, buf, n); closed/error: eof(c)
 *       TLS:   mox_smtp_client_tls_request(c, &req); handshake;
 *              mox_smtp_client_tls_done(c, status, &info)
 *       TIMER: at mox_smtp_client_deadline(c): mox_smtp_client_tick(c, now)
 *       DONE:  mox_smtp_client_result(c) has the outcome: submit another
 *              message, quit, or (with CLOSED) stop
 *       CLOSED: write what output still has, close
 *   }
 *
 * or, over a blocking transport, mox_engine_run(mox_smtp_client_engine(c),
 * &io, &ei) after submit and quit.
 *
 * Delivery: one message to many recipients over one connection, in as few
 * transactions as the server allows (MAIL, all RCPTs and DATA pipelined
 * under PIPELINING; BDAT under CHUNKING; recipients split by the LIMITS
 * RCPTMAX and RCPTDOMAINMAX; recipients refused with 452/552 after an
 * accepted one retried in a fresh transaction). Every recipient ends with
 * a status: accepted, or failed temporarily/permanently, with the
 * server's code, enhanced code and text, or a local explanation.
 *
 * Deadlines (RFC 5321 §4.5.3.2) cannot be extended by a server that
 * trickles bytes: the wait for each reply runs from the moment its
 * command was completely written (or the previous reply arrived) to the
 * reply's last byte, and writing runs against a limit per 64 KiB block.
 *
 * Threading: an engine is not thread-safe; distinct engines are
 * independent.
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
    MOX_SMTP_CLIENT_TLS_IMPLICIT = 3       /* TLS from the start (port 465, RFC
                                       8314): the engine wants TLS first */
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
 *    the identity it stands for, "" to let the server derive it). Sets
 *    *mech (valid until end or the next start) and, when the mechanism
 *    has an initial response,
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

/* Engine configuration. Zero means the default in every field (a zeroed
 * struct with `size` set is valid). Strings and the
 * `auth` interface struct are copied at mox_smtp_client_new (`auth->size`
 * may be that of any version: the engine reads what both know); `env`,
 * the interface's `ctx` and the tlsa/mtasts_mx arrays must outlive the
 * engine.
 * Timeouts (milliseconds, 0: the RFC 5321 §4.5.3.2 value): the greeting
 * 5 min (§4.5.3.2.1) from the start (or the implicit TLS handshake); the
 * reply to each other command (EHLO, STARTTLS, AUTH, MAIL, RCPT, RSET,
 * QUIT) 5 min (§4.5.3.2.2, .3) and the TLS handshake as long; DATA's 354
 * 2 min (§4.5.3.2.4); writing, each 64 KiB block of data 3 min
 * (§4.5.3.2.5) and each command as long as a reply; the reply to the end
 * of data 10 min (§4.5.3.2.6). A reply's wait starts when its command has
 * been written completely, and no byte the server sends before the reply
 * is complete moves it. */
typedef struct mox_smtp_client_config {
    size_t size; /* sizeof(mox_smtp_client_config), MOX_SMTP_CLIENT_CONFIG_INIT */
    const mox_env *env;
    const char *ehlo_name;      /* our host name (ASCII) or address literal;
                                   NULL: "localhost" */
    int tls_mode;               /* mox_smtp_client_tls_mode */
    unsigned flags;             /* MOX_SMTP_CLIENT_* */
    const mox_smtp_client_auth *auth; /* NULL: no AUTH */
    mox_smtp_reply_limits limits;
    uint32_t timeout_greeting_ms;
    uint32_t timeout_command_ms;
    uint32_t timeout_data_init_ms;
    uint32_t timeout_data_block_ms;
    uint32_t timeout_data_end_ms;
    /* What mox_smtp_client_tls_request asks of TLS: the server name (SNI
     * and the name verified; NULL: none) and the verification policy
     * (mox_tls_verify; NONE for opportunistic TLS), with the DANE TLSA
     * records or MTA-STS MX patterns it needs. */
    const char *tls_server_name;
    int tls_verify;
    const mox_dns_rr *tlsa;
    size_t ntlsa;
    const char *const *mtasts_mx;
    size_t nmtasts_mx;
} mox_smtp_client_config;

#define MOX_SMTP_CLIENT_CONFIG_INIT { sizeof(mox_smtp_client_config), NULL, NULL, \
    MOX_SMTP_CLIENT_TLS_OPPORTUNISTIC, 0u, NULL, {0, 0}, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0 }

/* Function form of MOX_SMTP_CLIENT_CONFIG_INIT: zeroes `cfg` (`size`
 * bytes, the caller's sizeof) and sets its size. NULL-safe. */
MOX_API void mox_smtp_client_config_init(mox_smtp_client_config *cfg, size_t size);

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
 * unchanged until the delivery finished (result's delivery->done). A NUL
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

/* Function form of MOX_SMTP_CLIENT_MESSAGE_INIT. NULL-safe. */
MOX_API void mox_smtp_client_message_init(mox_smtp_client_message *m, size_t size);

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

/* One status: a recipient's, or the session's failure. `text` is never
 * NULL (the server's text, or the engine's explanation when `local`). For
 * a success `temporary` is 0. */
typedef struct mox_smtp_client_status {
    int code;            /* e.g. 250, 452, 550; the engine's choice when local */
    char enhanced[16];   /* "5.1.1", or "" */
    const char *text;
    int temporary;
    int local;           /* 1: decided by the engine (no such server reply) */
    int stage;           /* mox_smtp_client_stage */
    int scope;           /* mox_smtp_client_scope */
} mox_smtp_client_status;

typedef struct mox_smtp_client_rcpt_result {
    const char *address;
    int accepted;
    mox_smtp_client_status status;
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

/* The engine's outcome (mox_smtp_client_result), owned by the engine and
 * valid until the next call on it. Final once MOX_WANT_DONE is set with
 * MOX_WANT_CLOSED; with DONE alone (idle, ready for another message) the
 * delivery of the last submit is complete. */
typedef struct mox_smtp_client_outcome {
    const mox_smtp_client_delivery *delivery; /* the current or last
                                                 submit; NULL before any */
    const mox_smtp_client_status *failure;    /* why the session ended
                                                 abnormally (scope
                                                 CONNECTION), or NULL */
    const mox_smtp_ehlo *ehlo;  /* what the server announced (after EHLO) */
    const mox_tls_info *tls;    /* the TLS connection, NULL while plain */
    int authenticated;          /* AUTH succeeded */
    const char *auth_mech;      /* the mechanism used for AUTH, or NULL */
    int closed;                 /* the session is over */
} mox_smtp_client_outcome;

/* Creates an engine (it starts waiting for the greeting, or for TLS with
 * MOX_SMTP_CLIENT_TLS_IMPLICIT). Errors (ei filled): MOX_ERR_INVAL (NULL
 * arguments, a size too small, an empty or unsafe ehlo_name, bad TLS mode
 * or verify policy, an incomplete auth interface), MOX_ERR_NOMEM. */
MOX_API int mox_smtp_client_new(mox_smtp_client **out,
                                const mox_smtp_client_config *cfg,
                                mox_errinfo *ei);
/* Frees the engine (ending a running AUTH exchange through auth->end).
 * Results and strings obtained from it become invalid. NULL-safe. */
MOX_API void mox_smtp_client_free(mox_smtp_client *c);

/* What the engine waits for, MOX_WANT_* bits (engine.h):
 *   READ    server bytes are awaited (also while idle: a 421 may come)
 *   WRITE   output has bytes to send
 *   TLS     the STARTTLS 220 arrived (or implicit TLS): run the handshake
 *   TIMER   mox_smtp_client_deadline() is set
 *   DONE    idle: the last submit's delivery is complete (submit again or
 *           quit); with CLOSED: final
 *   CLOSED  the session is over: write what output has, then close
 * 0 for NULL. */
MOX_API unsigned mox_smtp_client_want(const mox_smtp_client *c);

/* Bytes from the server (plaintext; after TLS, what it decrypted). Takes
 * all of them, except after the session closed (0). Any byte while the
 * TLS handshake is due is a response injection (CVE-2011-0411 family)
 * that ends the session; it is taken. Reply syntax errors and limits end
 * the session too; they are not errors of this call. Errors (recorded,
 * see mox_engine_error): MOX_ERR_INVAL (NULL p with n > 0), MOX_ERR_STATE
 * (after eof), MOX_ERR_NOMEM (the session is closed with a temporary
 * failure). */
MOX_API int64_t mox_smtp_client_feed(mox_smtp_client *c, const void *p, size_t n);

/* The server closed the connection or the transport failed. The session
 * ends (after QUIT's reply that is normal); what was not decided fails
 * temporarily. MOX_OK, MOX_ERR_INVAL (NULL), MOX_ERR_STATE (a second
 * eof). */
MOX_API int mox_smtp_client_eof(mox_smtp_client *c);

/* The bytes to send (possibly none), owned by the engine and valid until
 * the next call on it. MOX_OK or MOX_ERR_INVAL (NULL arguments). */
MOX_API int mox_smtp_client_output(mox_smtp_client *c, const void **p, size_t *n);

/* `n` bytes of the output were written. MOX_OK, MOX_ERR_INVAL (recorded:
 * more than was handed out), MOX_ERR_NOMEM. */
MOX_API int mox_smtp_client_output_done(mox_smtp_client *c, size_t n);

/* While TLS is wanted: fills `req` (size set by the caller): role CLIENT,
 * the configured server name and verification policy (with its TLSA or
 * MTA-STS data), and `required` for TLS_REQUIRED and TLS_IMPLICIT (a
 * failed handshake then ends the session; opportunistic STARTTLS may be
 * retried in plaintext on a new connection with TLS_NONE). MOX_ERR_INVAL,
 * MOX_ERR_STATE (TLS not wanted now). */
MOX_API int mox_smtp_client_tls_request(const mox_smtp_client *c, mox_tls_request *req);

/* The handshake finished: `status` MOX_OK with `info` (copied: version,
 * cipher, the peer's certificate, channel bindings, peer_identity for
 * SASL EXTERNAL), then the engine sends EHLO again (RFC 3207 §4.2) or, for
 * implicit TLS, awaits the greeting; a negative status fails the session
 * (temporary, 4.7.5 for a failed handshake). Errors (recorded):
 * MOX_ERR_INVAL (OK without info), MOX_ERR_STATE (no handshake was due),
 * MOX_ERR_NOMEM. */
MOX_API int mox_smtp_client_tls_done(mox_smtp_client *c, int status, const mox_tls_info *info);

/* Monotonic time (ns, env clock) by which the current waits must end,
 * MOX_NO_DEADLINE when none (idle). */
MOX_API int64_t mox_smtp_client_deadline(const mox_smtp_client *c);

/* Time is `now_ns`: a wait whose deadline passed fails the session
 * (temporary, 4.4.2; after QUIT the session just ends). Early calls do
 * nothing. MOX_OK, MOX_ERR_INVAL (NULL). */
MOX_API int mox_smtp_client_tick(mox_smtp_client *c, int64_t now_ns);

/* The outcome so far (see mox_smtp_client_outcome); NULL for NULL. */
MOX_API const mox_smtp_client_outcome *mox_smtp_client_result(const mox_smtp_client *c);

/* The generic engine view (engine.h), owned by the engine: feed, output,
 * TLS and time groups. */
MOX_API mox_engine *mox_smtp_client_engine(mox_smtp_client *c);

/* Starts delivering `msg` (copied, except `data`). Allowed before the
 * greeting arrived and when idle (DONE without CLOSED). Errors (ei
 * filled): MOX_ERR_STATE (a delivery is in progress, QUIT was asked, or
 * the session closed), MOX_ERR_INVAL (NULL, no recipients, an address
 * with characters that could inject a command: CR, LF, NUL, SP, '<', '>',
 * a bad NOTIFY combination or parameter: an ENVID mox_smtp_envid_valid
 * refuses (RFC 3461 §4.4), an ORCPT mox_smtp_orcpt_valid refuses, a
 * HOLDUNTIL that is not an RFC 3339 date-time (RFC 4865 §3), HOLDFOR and
 * HOLDUNTIL together), MOX_ERR_NOMEM. Checks that depend on the server
 * (SIZE, 8BITMIME, SMTPUTF8, REQUIRETLS, FUTURERELEASE) become statuses,
 * not errors. */
MOX_API int mox_smtp_client_submit(mox_smtp_client *c,
                                   const mox_smtp_client_message *msg,
                                   mox_errinfo *ei);

/* Ends the session with QUIT: at once when idle, or after the delivery in
 * progress (or the greeting) when there is one. Nothing happens after the
 * session closed. MOX_OK, MOX_ERR_INVAL (NULL). */
MOX_API int mox_smtp_client_quit(mox_smtp_client *c);

/* ---------------------------------------------------------------- SASL */

/* An authentication interface on the SASL module's client engines: picks
 * the strongest mechanism both sides have (mox_sasl_client_choose: SCRAM
 * -PLUS variants when the TLS transport supplied channel bindings,
 * tls-exporter preferred), and requires SCRAM's server signature before
 * trusting a 235. `cfg` (username, password, allowed mechanisms ...) must
 * outlive the adapter; its `channel` member is ignored: the channel is
 * built from the mox_tls_info mox_smtp_client_tls_done was given. Errors:
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
