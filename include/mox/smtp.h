/*
 * libmox smtp: the SMTP vocabulary both SMTP engines (smtp_server,
 * smtp_client), moxd and the mox tool share, defined once:
 *
 *  - the service extension bit set (MOX_SMTP_EXT_*) and the EHLO reply
 *    (parse what a server announced, format what we announce);
 *  - reply codes and enhanced status codes (RFC 5321 §4.2, RFC 3463,
 *    RFC 2034), reply parsing and formatting, multiline;
 *  - the DSN parameters RET, ENVID, NOTIFY, ORCPT (RFC 3461) with xtext
 *    (RFC 3461 §4) and the UTF-8 forms of RFC 6533;
 *  - RFC 3339 date-times (FUTURERELEASE HOLDUNTIL, RFC 4865);
 *  - HELO/EHLO names and address literals (RFC 5321 §4.1.3).
 *
 * The description of a TLS connection is mox_tls_info (engine.h), the one
 * struct every engine takes.
 *
 * Everything here is a pure function over its arguments: reentrant and
 * thread-safe. Results are caller-owned (mox_buf, or structs released with
 * their _clear function).
 */
#ifndef MOX_SMTP_H
#define MOX_SMTP_H

#include "core.h"

MOX_BEGIN_DECLS

/* ---------------------------------------------------------------- extensions */

/* SMTP service extensions, one bit each. The server's configuration, the
 * client's view of what a server announced and moxd all use these. */
#define MOX_SMTP_EXT_PIPELINING 0x0001u    /* RFC 2920 */
#define MOX_SMTP_EXT_SIZE 0x0002u          /* RFC 1870 */
#define MOX_SMTP_EXT_8BITMIME 0x0004u      /* RFC 6152 */
#define MOX_SMTP_EXT_SMTPUTF8 0x0008u      /* RFC 6531 */
#define MOX_SMTP_EXT_CHUNKING 0x0010u      /* RFC 3030 */
#define MOX_SMTP_EXT_BINARYMIME 0x0020u    /* RFC 3030, needs CHUNKING */
#define MOX_SMTP_EXT_DSN 0x0040u           /* RFC 3461 */
#define MOX_SMTP_EXT_LIMITS 0x0080u        /* RFC 9422 */
#define MOX_SMTP_EXT_REQUIRETLS 0x0100u    /* RFC 8689 */
#define MOX_SMTP_EXT_STARTTLS 0x0200u      /* RFC 3207 */
#define MOX_SMTP_EXT_AUTH 0x0400u          /* RFC 4954 */
#define MOX_SMTP_EXT_FUTURERELEASE 0x0800u /* RFC 4865 */
#define MOX_SMTP_EXT_ENHANCEDSTATUSCODES 0x1000u /* RFC 2034 */
#define MOX_SMTP_EXT_ALL 0x1fffu

/* The EHLO keyword of one extension bit ("PIPELINING", ...), or NULL for
 * anything but a single known bit. */
MOX_API const char *mox_smtp_ext_name(unsigned bit);

/* The bit of an EHLO keyword (case-insensitive, `n` bytes), 0 when
 * unknown. */
MOX_API unsigned mox_smtp_ext_parse(const char *keyword, size_t n);

/* ---------------------------------------------------------------- replies */

/* 1 when `code` is a reply code RFC 5321 §4.2 allows: three digits, the
 * first 2 to 5, the second 0 to 5. */
MOX_API int mox_smtp_code_valid(int code);

/* Length of the enhanced status code (RFC 3463 §2: class "." subject "."
 * detail, subject and detail 1 to 3 digits) at the start of p[0..n), when
 * its class is the first digit of `code` and it is followed by the end or
 * a space; 0 otherwise. `code` 0 accepts the classes 2, 4 and 5. */
MOX_API size_t mox_smtp_enhanced_len(const char *p, size_t n, int code);

/* 1 when the NUL-terminated `enhanced` is exactly one enhanced status code
 * whose class matches `code` (RFC 3463 §2; RFC 2034 §3 requires the
 * match). */
MOX_API int mox_smtp_enhanced_valid(const char *enhanced, int code);

/* Detail codes (ei->detail) of the reply parser. */
enum {
    MOX_SMTP_REPLY_ERR_CODE = 1,       /* line does not start with a valid 3-digit code */
    MOX_SMTP_REPLY_ERR_SEPARATOR,      /* 4th byte is not ' ', '-' or end of line */
    MOX_SMTP_REPLY_ERR_MIXED_CODES,    /* lines of one reply with different codes */
    MOX_SMTP_REPLY_ERR_LINE_TOO_LONG,  /* a line over the limit */
    MOX_SMTP_REPLY_ERR_TOO_MANY_LINES  /* more lines than the limit */
};

/* A parsed reply. `text` holds the lines' text (after "ddd-"/"ddd "),
 * joined with "\n", with the enhanced status code removed from each line
 * that starts with one; control characters other than TAB are replaced by
 * '?'. `lines` points at each line's text (NUL-terminated). `enhanced` is
 * "c.s.d" when the first line carried one whose class matches the code,
 * else "". Owned by the struct; release with mox_smtp_reply_clear. */
typedef struct mox_smtp_reply {
    int code;
    char enhanced[16];
    char *text;
    size_t nlines;
    char **lines;
} mox_smtp_reply;

/* Limits for reply parsing; 0 means the default: lines of 4096 bytes
 * without CRLF, 256 lines. RFC 5321 §4.5.3.1.5 allows 512-byte reply
 * lines; servers in the field send longer ones, so the default is
 * generous. */
typedef struct mox_smtp_reply_limits {
    size_t max_line;
    size_t max_lines;
} mox_smtp_reply_limits;

/* Parses one complete reply from the start of buf[0..len). Lines end in
 * CRLF; a bare LF is accepted too (a CR before it is stripped). On MOX_OK
 * *consumed is the number of bytes the reply took and `r` is filled (it
 * must be zeroed or cleared beforehand). MOX_ERR_AGAIN: the reply is not
 * complete yet (nothing filled). MOX_ERR_SYNTAX / MOX_ERR_LIMIT with
 * ei->detail a MOX_SMTP_REPLY_ERR_* and ei->offset at the fault.
 * MOX_ERR_INVAL (NULL r or consumed), MOX_ERR_NOMEM. `limits` may be
 * NULL. */
MOX_API int mox_smtp_reply_parse(const void *buf, size_t len, const mox_smtp_reply_limits *limits,
                                 mox_smtp_reply *r, size_t *consumed, mox_errinfo *ei);

/* Frees the text and lines and zeroes `r`. NULL-safe. */
MOX_API void mox_smtp_reply_clear(mox_smtp_reply *r);

/* Longest reply line RFC 5321 §4.5.3.1.5 allows, reply code and CRLF
 * included. */
#define MOX_SMTP_REPLY_LINE_MAX 512

/* Appends reply `code` in wire form: one line per '\n'-separated line of
 * `text` ("ddd-" before every line but the last, "ddd "), each starting
 * with `enhanced` and a space when `enhanced` is non-empty (RFC 2034 §3).
 * Bytes that could break the reply are replaced: CR, LF inside a line and
 * other controls by a space, non-ASCII by '?'; a line's text is cut so the
 * line fits MOX_SMTP_REPLY_LINE_MAX. `text` NULL is "". MOX_ERR_INVAL (a
 * code mox_smtp_code_valid refuses, NULL out), MOX_ERR_NOMEM (`out` is
 * then unchanged). */
MOX_API int mox_smtp_reply_format(mox_buf *out, int code, const char *enhanced,
                                  const char *text);

/* ---------------------------------------------------------------- EHLO */

/* What a server announced in its EHLO reply. Zero-initialise; release with
 * mox_smtp_ehlo_clear. Numbers are 0 when absent or invalid.
 *  - flags: MOX_SMTP_EXT_* of the keywords present.
 *  - size_max: SIZE's value (0 with the SIZE flag: no fixed limit).
 *  - auth: mechanism names, upper-cased, from "AUTH m..." and the old
 *    "AUTH=m..." form, without duplicates, each 1-20 characters of
 *    [A-Z0-9-_] (RFC 4422 §3.1).
 *  - rcptmax, mailmax, rcptdomainmax: RFC 9422 LIMITS. Names are
 *    case-insensitive; a value must be 1 to 9 digits and not zero (RFC
 *    9422 §3), otherwise that limit is ignored; a limit named twice is
 *    ignored altogether; unknown limits are ignored.
 *  - hold_max_interval / hold_max_datetime: FUTURERELEASE (RFC 4865 §3).
 *  - hostname: first word of the first line, or NULL. */
typedef struct mox_smtp_ehlo {
    unsigned flags;
    uint64_t size_max;
    char **auth;
    size_t nauth;
    uint32_t rcptmax;
    uint32_t mailmax;
    uint32_t rcptdomainmax;
    uint64_t hold_max_interval;
    char hold_max_datetime[40];
    char *hostname;
} mox_smtp_ehlo;

/* Fills `e` (zeroed or cleared) from an EHLO 250 reply. Unknown keywords
 * and malformed parameters are skipped, never an error. MOX_ERR_INVAL if
 * the reply is not 250, MOX_ERR_NOMEM (`e` then cleared). */
MOX_API int mox_smtp_ehlo_parse(const mox_smtp_reply *r, mox_smtp_ehlo *e);

/* Frees the strings and zeroes `e`. NULL-safe. */
MOX_API void mox_smtp_ehlo_clear(mox_smtp_ehlo *e);

/* 1 if the server announced mechanism `name` (case-insensitive). */
MOX_API int mox_smtp_ehlo_has_auth(const mox_smtp_ehlo *e, const char *name);

/* Appends the EHLO 250 reply announcing `e` (what the server offers):
 * "250-" hostname and `greeting` (may be NULL), then one line per flag in
 * a fixed order with its parameters (SIZE size_max when non-zero; AUTH with
 * `auth`; FUTURERELEASE with hold_max_interval and hold_max_datetime;
 * LIMITS RCPTMAX/MAILMAX/RCPTDOMAINMAX when non-zero, the line left out
 * when all are zero), the last line "250 ". Parameters are restricted to
 * printable ASCII. MOX_ERR_INVAL (NULL, no hostname), MOX_ERR_NOMEM (`out`
 * unchanged). */
MOX_API int mox_smtp_ehlo_format(const mox_smtp_ehlo *e, const char *greeting, mox_buf *out);

/* ---------------------------------------------------------------- DSN */

/* NOTIFY (RFC 3461 §4.1); 0 means the parameter was not given. NEVER
 * excludes the others. */
#define MOX_SMTP_NOTIFY_NEVER 0x1u
#define MOX_SMTP_NOTIFY_SUCCESS 0x2u
#define MOX_SMTP_NOTIFY_FAILURE 0x4u
#define MOX_SMTP_NOTIFY_DELAY 0x8u

/* RET (RFC 3461 §4.3). */
enum { MOX_SMTP_RET_NONE = 0, MOX_SMTP_RET_FULL = 1, MOX_SMTP_RET_HDRS = 2 };

/* BODY (RFC 6152, RFC 3030). */
enum {
    MOX_SMTP_BODY_NONE = 0,
    MOX_SMTP_BODY_7BIT = 1,
    MOX_SMTP_BODY_8BITMIME = 2,
    MOX_SMTP_BODY_BINARYMIME = 3
};

/* Appends `s` (`n` bytes) as xtext (RFC 3461 §4): "!" to "~" except "+"
 * and "=" as themselves, every other byte as "+" and two upper-case hex
 * digits. MOX_ERR_NOMEM. */
MOX_API int mox_smtp_xtext_encode(mox_buf *out, const void *s, size_t n);

/* Length of `s` as xtext. */
MOX_API size_t mox_smtp_xtext_len(const void *s, size_t n);

/* Decodes xtext p[0..n) into a NUL-terminated string (*out, mox_free).
 * Raw bytes 0x80 and above pass (RFC 6533 §3 utf-8-xtext). A control byte
 * or NUL, raw or decoded, is refused: decoded values end up in DSNs and
 * logs. MOX_ERR_SYNTAX, MOX_ERR_NOMEM. */
MOX_API int mox_smtp_xtext_decode(const char *p, size_t n, char **out);

/* NOTIFY value "NEVER" or a comma list of SUCCESS, FAILURE, DELAY (case-
 * insensitive, each once) into MOX_SMTP_NOTIFY_* bits. MOX_ERR_SYNTAX. */
MOX_API int mox_smtp_notify_parse(const char *p, size_t n, unsigned *out);

/* 1 when `notify` is a combination RFC 3461 §4.1 allows (0, NEVER alone,
 * or any of the other three). */
MOX_API int mox_smtp_notify_valid(unsigned notify);

/* Appends the NOTIFY value of `notify` ("NEVER", "SUCCESS,FAILURE", ...).
 * MOX_ERR_INVAL (0 or an invalid combination), MOX_ERR_NOMEM. */
MOX_API int mox_smtp_notify_format(mox_buf *out, unsigned notify);

/* RET value "FULL" or "HDRS" (case-insensitive) into MOX_SMTP_RET_*.
 * MOX_ERR_SYNTAX. */
MOX_API int mox_smtp_ret_parse(const char *p, size_t n, int *ret);

/* "FULL", "HDRS", or NULL for others. */
MOX_API const char *mox_smtp_ret_name(int ret);

/* Longest ENVID (xtext) and ORCPT value, RFC 3461 §4.4 and §4.2. */
#define MOX_SMTP_ENVID_MAX 100
#define MOX_SMTP_ORCPT_MAX 500

/* 1 when `envid` can be sent as ENVID: non-empty printable US-ASCII
 * (space included, it is encoded) and at most MOX_SMTP_ENVID_MAX
 * characters as xtext (RFC 3461 §4.4). */
MOX_API int mox_smtp_envid_valid(const char *envid);

/* Decodes a received ENVID value (xtext, at most MOX_SMTP_ENVID_MAX
 * characters) into *out (mox_free). MOX_ERR_SYNTAX, MOX_ERR_LIMIT,
 * MOX_ERR_NOMEM. */
MOX_API int mox_smtp_envid_parse(const char *p, size_t n, char **out);

/* Decodes a received ORCPT value, addr-type ";" xtext (RFC 3461 §4.2, at
 * most MOX_SMTP_ORCPT_MAX characters, addr-type an atom of letters,
 * digits and '-'), into *out as addr-type ";" decoded address (mox_free).
 * MOX_ERR_SYNTAX, MOX_ERR_LIMIT, MOX_ERR_NOMEM. */
MOX_API int mox_smtp_orcpt_parse(const char *p, size_t n, char **out);

/* 1 when address `addr` can be sent as ORCPT: well-formed UTF-8 without
 * controls, at most MOX_SMTP_ORCPT_MAX characters encoded in the shortest
 * form mox_smtp_orcpt_format may use. */
MOX_API int mox_smtp_orcpt_valid(const char *addr);

/* Appends the ORCPT value for address `addr`: "rfc822;" xtext when it is
 * ASCII (RFC 3461 §4.2), else "utf-8;" with RFC 6533 §3 encoding:
 * utf-8-addr-unitext (UTF-8 as is) when `smtputf8` (the transaction uses
 * SMTPUTF8), else utf-8-addr-xtext ("\x{HEX}" for non-ASCII). MOX_ERR_INVAL
 * (NULL), MOX_ERR_NOMEM. */
MOX_API int mox_smtp_orcpt_format(mox_buf *out, const char *addr, int smtputf8);

/* ---------------------------------------------------------------- time */

/* Parses an RFC 3339 §5.6 date-time, YYYY-MM-DD "T" HH:MM:SS [.frac]
 * ("Z" / ("+" / "-") HH:MM), "T" and "Z" in either case, into Unix
 * seconds (a leap second 60 counts as 59, fractions are dropped).
 * MOX_ERR_SYNTAX. */
MOX_API int mox_smtp_rfc3339_parse(const char *p, size_t n, int64_t *unix_s);

/* Longest output of mox_smtp_rfc3339_format, NUL included. */
#define MOX_SMTP_RFC3339_MAX 32

/* Writes `unix_s` as "YYYY-MM-DDTHH:MM:SSZ" into out (cap bytes,
 * MOX_SMTP_RFC3339_MAX suffices for years 0 to 9999). Returns the length,
 * or MOX_ERR_LIMIT when it does not fit (out then holds ""). */
MOX_API int mox_smtp_rfc3339_format(int64_t unix_s, char *out, size_t cap);

/* ---------------------------------------------------------------- names */

/* Checks a HELO/EHLO argument (`n` bytes): a domain name (a trailing dot
 * allowed) or an address literal "[192.0.2.1]" / "[IPv6:2001:db8::1]"
 * (RFC 5321 §4.1.3). Returns 1 valid, 0 not, MOX_ERR_NOMEM; *is_literal
 * (optional) says whether it has the brackets. */
MOX_API int mox_smtp_hello_valid(const char *name, size_t n, int *is_literal);

/* Writes the address literal for the IPv4 or IPv6 address in presentation
 * form `ip` ("192.0.2.1" -> "[192.0.2.1]", "2001:db8::1" ->
 * "[IPv6:2001:db8::1]"), the HELO name of a host without a DNS name.
 * Returns the length, MOX_ERR_SYNTAX (not an IP address), MOX_ERR_LIMIT
 * (cap too small; 64 suffices). */
MOX_API int mox_smtp_address_literal(const char *ip, char *out, size_t cap);

MOX_END_DECLS

#endif
