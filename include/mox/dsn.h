/*
 * libmox dsn: delivery status notifications.
 *
 *  - Compose (mox_dsn_compose): an RFC 3464 DSN as RFC 6522 multipart/
 *    report; report-type=delivery-status with three parts: a human-readable
 *    text/plain explanation, the machine-readable message/delivery-status
 *    (one per-message group, one group per recipient), and the original
 *    message (message/rfc822) or only its header (text/rfc822-headers),
 *    following the sender's RET (RFC 3461 §4.3). When the original
 *    transaction used SMTPUTF8, the parts are the RFC 6533 forms:
 *    message/global-delivery-status, message/global, message/global-headers.
 *  - Parse (mox_dsn_parse): finds the delivery-status part of an incoming
 *    message (either form, at any depth, through the message module's MIME
 *    walker and header parser) and returns its fields.
 *  - FromID envelope senders (mox_dsn_fromid_*): the queue sends every
 *    message with a unique reverse path localpart SEP fromid @ domain, so a
 *    DSN or a late bounce addressed to that path maps back to its message.
 *
 * Threading: every function is reentrant; no shared state. A mox_dsn is
 * not modified after parsing and may be read from several threads.
 *
 * Memory: mox_dsn_compose appends to a caller's mox_buf; it keeps nothing.
 * A parsed mox_dsn owns every string it exposes; they stay valid until
 * mox_dsn_free.
 *
 * Errors: MOX_OK or a negative mox_err; every function taking a
 * mox_errinfo fills it on failure, `detail` one of MOX_DSN_ERR_*.
 */
#ifndef MOX_DSN_H
#define MOX_DSN_H

#include "core.h"

MOX_BEGIN_DECLS

/* Action field values (RFC 3464 §2.3.3). */
typedef enum mox_dsn_action {
    MOX_DSN_ACTION_NONE = 0,      /* absent or unknown (parse only) */
    MOX_DSN_ACTION_FAILED = 1,
    MOX_DSN_ACTION_DELAYED = 2,
    MOX_DSN_ACTION_DELIVERED = 3,
    MOX_DSN_ACTION_RELAYED = 4,
    MOX_DSN_ACTION_EXPANDED = 5
} mox_dsn_action;

/* The field value of an action ("failed", ...), NULL for NONE or unknown
 * values. */
MOX_API const char *mox_dsn_action_name(int action);

/* What of the original message a composed DSN carries. */
typedef enum mox_dsn_return {
    /* The header section only. The queue asks for FULL only for a failure
     * DSN when the sender gave RET=FULL (RFC 3461 §4.3: FULL "requests that
     * the entire message be returned in any failed DSN"; without RET the
     * choice is ours, and the header is the safer one). */
    MOX_DSN_RETURN_DEFAULT = 0,
    MOX_DSN_RETURN_HEADERS = 1,   /* header section only */
    MOX_DSN_RETURN_FULL = 2,      /* the whole message */
    MOX_DSN_RETURN_NOTHING = 3    /* no third part (RFC 6522 §3: optional) */
} mox_dsn_return;

/* errinfo detail codes. */
enum {
    MOX_DSN_ERR_NOT_REPORT = 1,   /* NOTFOUND: no delivery-status part */
    MOX_DSN_ERR_NO_REPORTING_MTA, /* SYNTAX: Reporting-MTA missing (RFC 3464
                                     §2.2.2: required) */
    MOX_DSN_ERR_NO_RECIPIENT,     /* SYNTAX: no per-recipient group */
    MOX_DSN_ERR_FIELD,            /* SYNTAX: malformed status group */
    MOX_DSN_ERR_ARG,              /* INVAL: a compose argument is unusable
                                     (msg says which) */
    MOX_DSN_ERR_FROMID            /* NOTFOUND / INVAL: no or bad FromID */
};

/* One recipient's status (RFC 3464 §2.3). Used for composing (the caller
 * owns the strings) and as the result of parsing (the mox_dsn owns them).
 * Strings are NUL-terminated UTF-8; NULL means absent. */
typedef struct mox_dsn_recipient {
    /* Final-Recipient (required): the address, without its type. */
    const char *final_recipient;
    /* Its address type: "rfc822" or "utf-8" (RFC 6533 §3). Compose: NULL
     * picks "rfc822" for ASCII addresses, else "utf-8". */
    const char *final_type;
    /* Original-Recipient as "type;address" (what ORCPT carried, decoded),
     * or NULL. */
    const char *original_recipient;
    int action;               /* mox_dsn_action; compose: required */
    const char *status;       /* RFC 3463 "c.s.d" (required) */
    const char *remote_mta;   /* Remote-MTA host name, written "dns; host" */
    /* Diagnostic-Code: type (compose: NULL means "smtp") and text, e.g.
     * "550 5.1.1 no such user" (the remote reply). */
    const char *diagnostic_type;
    const char *diagnostic;
    int64_t last_attempt;     /* Last-Attempt-Date, Unix seconds; 0 absent */
    int64_t will_retry_until; /* Will-Retry-Until (delayed only); 0 absent */
    const char *final_log_id; /* Final-Log-ID */
} mox_dsn_recipient;

/* What to compose. Zero means default in every member; a zeroed struct
 * with `size` set is incomplete only in the required members. */
typedef struct mox_dsn_compose_params {
    size_t size;               /* sizeof(mox_dsn_compose_params) */
    const mox_env *env;        /* clock (Date) and randomness (boundary,
                                  Message-ID); NULL: the system's */
    const char *reporting_mta; /* required: our host name (Reporting-MTA
                                  "dns; name", RFC 3464 §2.2.2) */
    const char *from;          /* From address; NULL: "postmaster@" +
                                  reporting_mta */
    const char *to;            /* required: the original envelope sender */
    const char *subject;       /* NULL: by the recipients' actions, e.g.
                                  "Mail delivery failed" */
    const char *text;          /* human-readable part (UTF-8); NULL: a
                                  generated explanation listing each
                                  recipient and the remote reply */
    const char *original_envid;/* ENVID as given by the sender (decoded) */
    const char *received_from_mta; /* host the message came from */
    int64_t arrival_date;      /* Arrival-Date, Unix seconds; 0: absent */
    const char *original_message_id; /* Message-ID of the original, for
                                  In-Reply-To/References; NULL: none */
    int smtputf8;              /* the original used SMTPUTF8: RFC 6533 parts */
    int ret;                   /* mox_dsn_return */
    const void *original;      /* the original message (may be NULL with
                                  MOX_DSN_RETURN_NOTHING) */
    size_t original_len;
    /* Largest original carried whole; larger ones are returned as headers
     * only. 0: 10 MiB. */
    size_t max_original;
    const mox_dsn_recipient *rcpts;
    size_t nrcpts;             /* at least 1 */
} mox_dsn_compose_params;

#define MOX_DSN_COMPOSE_PARAMS_INIT { sizeof(mox_dsn_compose_params), NULL, NULL, NULL, \
    NULL, NULL, NULL, NULL, NULL, 0, NULL, 0, 0, NULL, 0, 0, NULL, 0 }

/* Function form of the INIT macro for bindings: zeroes `p` and sets its
 * size to `size` (the caller's sizeof). */
MOX_API void mox_dsn_compose_params_init(mox_dsn_compose_params *p, size_t size);

/* Appends the whole DSN message (header and body, CRLF line endings) to
 * `out`. Header: From, To, Subject, Date, Message-ID, MIME-Version,
 * Auto-Submitted: auto-replied (RFC 3834 §5), In-Reply-To/References when
 * the original Message-ID is given, Content-Type multipart/report with
 * report-type=delivery-status (RFC 6522 §3). Header field values are
 * checked: a control character in any string is refused (MOX_ERR_INVAL,
 * MOX_DSN_ERR_ARG), so a remote reply cannot inject fields; non-ASCII in
 * header values needs `smtputf8`. The human-readable text is sent as
 * 7bit when ASCII, else base64 UTF-8. The original is copied with its line
 * endings made CRLF; its part gets Content-Transfer-Encoding 8bit when it
 * holds 8-bit bytes (delivering the DSN then needs 8BITMIME).
 * Errors: MOX_ERR_INVAL (missing required member, bad action or status,
 * control characters, non-ASCII without smtputf8), MOX_ERR_NOMEM; `out`
 * keeps its original length on error. */
MOX_API int mox_dsn_compose(const mox_dsn_compose_params *p, mox_buf *out,
                            mox_errinfo *ei);

/* ---------------------------------------------------------------- parse */

/* A parsed DSN (opaque, owns its strings). */
typedef struct mox_dsn mox_dsn;

/* The fields of a parsed DSN. */
typedef struct mox_dsn_report {
    int global;                 /* message/global-delivery-status (RFC 6533) */
    const char *reporting_mta;  /* the name, type ("dns") removed */
    const char *reporting_mta_type;
    const char *original_envid; /* NULL when absent */
    const char *received_from_mta;
    int64_t arrival_date;       /* Unix seconds; 0 absent or unparsable */
    const mox_dsn_recipient *rcpts;
    size_t nrcpts;              /* >= 1 */
    /* The returned original (message/rfc822, message/global) or its header
     * (text/rfc822-headers, message/global-headers), as offsets into the
     * parsed input; len 0 when the DSN carries none. */
    size_t original_offset, original_len;
    int original_headers_only;
    /* Message-ID of the original: the returned part's Message-ID field if
     * present, else NULL. */
    const char *original_message_id;
} mox_dsn_report;

/* Limits for parsing; 0: default. */
typedef struct mox_dsn_parse_config {
    size_t size;                /* sizeof(mox_dsn_parse_config) */
    size_t max_recipients;      /* per-recipient groups kept; default 1000
                                   (more: MOX_ERR_LIMIT) */
    size_t max_field;           /* longest field value; default 4096
                                   (longer ones are cut) */
} mox_dsn_parse_config;

#define MOX_DSN_PARSE_CONFIG_INIT { sizeof(mox_dsn_parse_config), 0, 0 }

/* Parses the message in msg[0..len) (not kept). The first part whose type
 * is message/delivery-status or message/global-delivery-status is read:
 * per-message fields, then recipient groups separated by empty lines
 * (RFC 3464 §2.1; folding allowed, field names case-insensitive, unknown
 * fields ignored, type prefixes such as "rfc822;" and "dns;" split off).
 * Lenient where senders are known to vary: a group without Action or
 * Status is kept with ACTION_NONE / NULL status; unparsable dates give 0.
 * Control characters in values are replaced by '?'.
 * Errors: MOX_ERR_NOTFOUND (MOX_DSN_ERR_NOT_REPORT: not a DSN),
 * MOX_ERR_SYNTAX (NO_REPORTING_MTA, NO_RECIPIENT, FIELD), MOX_ERR_LIMIT,
 * MOX_ERR_NOMEM, MOX_ERR_INVAL (NULL arguments); the MIME walker's errors.
 * `cfg` may be NULL. On error *out is NULL. */
MOX_API int mox_dsn_parse(const void *msg, size_t len, const mox_dsn_parse_config *cfg,
                          mox_dsn **out, mox_errinfo *ei);

/* The fields; never NULL for a parsed DSN (NULL for NULL). Owned by `d`. */
MOX_API const mox_dsn_report *mox_dsn_get(const mox_dsn *d);

/* NULL-safe. */
MOX_API void mox_dsn_free(mox_dsn *d);

/* ---------------------------------------------------------------- FromID */

/* Characters of a generated FromID (lower-case letters and digits: safe in
 * any local part and case-insensitive systems keep them). */
#define MOX_DSN_FROMID_LEN 16

/* Writes a new random FromID (MOX_DSN_FROMID_LEN characters and a NUL)
 * into `out`, from `r` (NULL: the system source). MOX_ERR_INVAL (cap too
 * small), or the random source's error. */
MOX_API int mox_dsn_fromid_new(const mox_random *r, char *out, size_t cap);

/* Appends the envelope sender localpart + sep + fromid + "@" + domain,
 * e.g. "alice+k3j5...@example.org" for sep "+". `sep` non-empty.
 * MOX_ERR_INVAL (NULL or empty argument, or a fromid holding `sep`),
 * MOX_ERR_NOMEM. */
MOX_API int mox_dsn_fromid_address(const char *localpart, const char *domain,
                                   const char *sep, const char *fromid, mox_buf *out);

/* Extracts the FromID from an address an incoming message was sent to
 * ("local+fromid@domain"): the text after the last `sep` of the local
 * part. Writes it (NUL-terminated) into `out`. MOX_ERR_NOTFOUND
 * (MOX_DSN_ERR_FROMID: no separator or nothing after it), MOX_ERR_LIMIT
 * (does not fit `cap`), MOX_ERR_INVAL. */
MOX_API int mox_dsn_fromid_extract(const char *address, const char *sep, char *out,
                                   size_t cap, mox_errinfo *ei);

MOX_END_DECLS

#endif
