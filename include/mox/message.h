/*
 * libmox message: RFC 5322 header sections, MIME structure and
 * Authentication-Results (RFC 8601).
 *
 *  - A streaming header parser (mox_header_parser_*): fed arbitrary chunks,
 *    it reports each complete header field with its raw bytes (folding and
 *    line endings as received, which DKIM canonicalisation needs) and its
 *    unfolded value, and finds where the body starts. Line endings, limits
 *    and malformed lines are governed by an explicit mox_header_config.
 *  - A parsed, owned list of header fields (mox_headers_*), for a header
 *    section held in memory.
 *  - A MIME walker (mox_mime_*) over a message in memory: every part of a
 *    nested multipart structure with its headers and byte ranges.
 *  - mox_message_needs_smtputf8(): does any header hold non-ASCII?
 *  - Authentication-Results (mox_authres_*): a generic model, composition
 *    that quotes every untrusted value, and a lenient parser.
 *
 * Memory: objects returned through `**out` are owned by the caller and
 * released with their _free function (which accepts NULL). Pointers a
 * function returns into an object stay valid until that object is freed.
 * Input buffers are never kept: everything retained is copied.
 *
 * Threading: no shared state. Different objects may be used from different
 * threads; one object must not be used by two threads at once.
 *
 * Errors: functions return MOX_OK or a negative mox_err. Parsers fill an
 * optional mox_errinfo with `detail` set to one of the *_ERR_* codes of
 * this header and `offset` the byte offset of the problem in the input.
 */
#ifndef MOX_MESSAGE_H
#define MOX_MESSAGE_H

#include "core.h"

MOX_BEGIN_DECLS

/* ================================================================ headers */

/* What to do with a bare CR (a CR not followed by LF) or a bare LF (an LF
 * not preceded by CR).
 *
 *   bare LF  REJECT     error MOX_ERR_SYNTAX / MOX_HDR_ERR_BARE_LF
 *            ACCEPT     it ends the line; raw bytes keep the lone "\n"
 *            NORMALIZE  it ends the line; raw bytes show "\r\n" instead
 *   bare CR  REJECT     error MOX_ERR_SYNTAX / MOX_HDR_ERR_BARE_CR
 *            ACCEPT     it is an ordinary byte of the line (data, not a line
 *                       ending; in a field name it makes the line invalid)
 *            NORMALIZE  it ends the line (old Mac style); raw shows "\r\n"
 *
 * An SMTP server that must refuse smuggling-style line endings sets both
 * to REJECT. */
typedef enum mox_eol_policy {
    MOX_EOL_REJECT = 0,
    MOX_EOL_ACCEPT = 1,
    MOX_EOL_NORMALIZE = 2
} mox_eol_policy;

/* What to do with a line that is neither a header field nor the
 * continuation of one (no colon, a byte not allowed in a field name, or a
 * continuation line before any field). */
typedef enum mox_hdr_nonfield {
    /* Fail with MOX_ERR_SYNTAX and the precise MOX_HDR_ERR_* detail. */
    MOX_HDR_NONFIELD_ERROR = 0,
    /* End the header section: the body starts at the first byte of that
     * line (no empty line is consumed). Lenient readers of stored mail do
     * this; it is what the MIME walker uses by default. */
    MOX_HDR_NONFIELD_END = 1
} mox_hdr_nonfield;

/* Flags for mox_header_config.flags. */
#define MOX_HDR_REJECT_NUL 0x1   /* a NUL byte anywhere: MOX_HDR_ERR_NUL */
#define MOX_HDR_ASCII_ONLY 0x2   /* a byte >= 0x80: MOX_HDR_ERR_8BIT */
#define MOX_HDR_REQUIRE_UTF8 0x4 /* invalid UTF-8 (RFC 6532): MOX_ERR_UTF8 */

/* Header parser configuration. Initialise with MOX_HEADER_CONFIG_INIT and
 * change what you need; the parser copies it. For every limit, 0 means "no
 * limit". */
typedef struct mox_header_config {
    size_t size;            /* sizeof(mox_header_config) */
    size_t max_fields;      /* header fields; default 1000 */
    size_t max_line;        /* octets per line, line ending excluded;
                               default 998 (RFC 5322 §2.1.1) */
    size_t max_header_size; /* octets of the whole header section including
                               the empty line; default 262144 */
    int bare_cr;            /* mox_eol_policy; default MOX_EOL_REJECT */
    int bare_lf;            /* mox_eol_policy; default MOX_EOL_ACCEPT */
    int nonfield;           /* mox_hdr_nonfield; default ERROR */
    unsigned flags;         /* MOX_HDR_* flags; default 0 */
} mox_header_config;

#define MOX_HEADER_CONFIG_INIT                                                 \
    { sizeof(mox_header_config), 1000, 998, 262144, MOX_EOL_REJECT,            \
      MOX_EOL_ACCEPT, MOX_HDR_NONFIELD_ERROR, 0 }

/* errinfo detail codes of the header parser. */
enum mox_header_error {
    MOX_HDR_ERR_BARE_CR = 1,     /* SYNTAX: bare CR refused by policy */
    MOX_HDR_ERR_BARE_LF,         /* SYNTAX: bare LF refused by policy */
    MOX_HDR_ERR_NO_COLON,        /* SYNTAX: line without a colon */
    MOX_HDR_ERR_BAD_NAME,        /* SYNTAX: byte not allowed in a field name
                                    (control, space inside, 8-bit) */
    MOX_HDR_ERR_EMPTY_NAME,      /* SYNTAX: line starts with ':' */
    MOX_HDR_ERR_CONTINUATION,    /* SYNTAX: folded line before any field */
    MOX_HDR_ERR_TOO_MANY_FIELDS, /* LIMIT: more than max_fields */
    MOX_HDR_ERR_LINE_TOO_LONG,   /* LIMIT: line longer than max_line */
    MOX_HDR_ERR_TOO_BIG,         /* LIMIT: section larger than max_header_size */
    MOX_HDR_ERR_NUL,             /* SYNTAX: NUL byte (MOX_HDR_REJECT_NUL) */
    MOX_HDR_ERR_8BIT,            /* SYNTAX: 8-bit byte (MOX_HDR_ASCII_ONLY) */
    MOX_HDR_ERR_UTF8,            /* UTF8: invalid UTF-8 (MOX_HDR_REQUIRE_UTF8) */
    MOX_HDR_ERR_CALLBACK         /* the field callback returned an error */
};

/* Flags of one field (mox_header_field.flags). */
#define MOX_HDR_FIELD_FOLDED 0x1 /* spans more than one line */
#define MOX_HDR_FIELD_OBS_WS 0x2 /* whitespace between name and colon
                                    (obs-optional, RFC 5322 §4.5.8/§4.9) */
#define MOX_HDR_FIELD_8BIT 0x4   /* holds a byte >= 0x80 */
#define MOX_HDR_FIELD_NO_EOL 0x8 /* last line had no line ending (input
                                    ended: see mox_header_parser_finish) */

/* One complete header field. Filled by the library; all pointers are valid
 * only during the callback (streaming parser) or until the mox_headers is
 * freed. None of the byte strings is NUL-terminated. */
typedef struct mox_header_field {
    const char *name;  /* field name as received, without the colon and
                          without whitespace before the colon */
    size_t name_len;
    const char *value; /* unfolded value: line endings removed where they
                          fold, leading and trailing SP/HTAB trimmed */
    size_t value_len;
    const char *raw;   /* the whole field: name, colon, value, every line
                          ending (normalised only under a NORMALIZE
                          policy), exactly as DKIM canonicalises it */
    size_t raw_len;
    size_t offset;     /* offset of raw[0] in the input stream */
    size_t index;      /* 0 for the first field */
    unsigned flags;    /* MOX_HDR_FIELD_* */
} mox_header_field;

/* Called for every complete field, in order. Return MOX_OK to continue, or
 * a negative mox_err to stop: the parser then fails with that code (detail
 * MOX_HDR_ERR_CALLBACK). A field is complete, and reported, once the first
 * byte of the next line has been seen (or at the end of the section). */
typedef int (*mox_header_field_cb)(void *ctx, const mox_header_field *field);

typedef struct mox_header_parser mox_header_parser;

/* How the header section ended (mox_header_parser_end). */
typedef enum mox_hdr_end {
    MOX_HDR_END_NONE = 0,     /* not ended yet */
    MOX_HDR_END_EMPTY_LINE,   /* an empty line; the body follows it */
    MOX_HDR_END_EOF,          /* input ended (mox_header_parser_finish) */
    MOX_HDR_END_NONFIELD      /* a non-field line (MOX_HDR_NONFIELD_END) */
} mox_hdr_end;

/* Creates a parser. `cfg` may be NULL (defaults) and is copied; `cb` may be
 * NULL (fields are only checked). MOX_ERR_NOMEM, MOX_ERR_INVAL for a bad
 * policy value. */
MOX_API int mox_header_parser_new(mox_header_parser **out,
                                  const mox_header_config *cfg,
                                  mox_header_field_cb cb, void *ctx);

MOX_API void mox_header_parser_free(mox_header_parser *p);

/* Makes the parser ready for a new header section (same config and
 * callback), keeping its buffers. */
MOX_API void mox_header_parser_reset(mox_header_parser *p);

/* Feeds `len` bytes (any split, down to one byte at a time). Stops at the
 * end of the header section: `*consumed` (optional) receives how many bytes
 * of `data` belong to the header section; the rest is body. Once ended,
 * further feeds consume nothing and return MOX_OK. Errors are sticky: every
 * later call returns the same code and errinfo. `ei->offset` is a stream
 * offset (counted from the first byte ever fed). The parser allocates only
 * to grow its field buffer (amortised), never per byte. */
MOX_API int mox_header_parser_feed(mox_header_parser *p, const void *data,
                                   size_t len, size_t *consumed,
                                   mox_errinfo *ei);

/* Declares the end of input. Reports a pending last field (even without a
 * line ending) and ends the section with MOX_HDR_END_EOF: a message may
 * legally consist of header fields only. A pending bare CR is judged by the
 * bare-CR policy. Returns MOX_OK (also when already ended) or an error. */
MOX_API int mox_header_parser_finish(mox_header_parser *p, mox_errinfo *ei);

/* MOX_HDR_END_NONE while the section continues, else how it ended. */
MOX_API mox_hdr_end mox_header_parser_end(const mox_header_parser *p);

/* Stream offset of the first body byte; meaningful once ended. */
MOX_API size_t mox_header_parser_body_offset(const mox_header_parser *p);

/* With MOX_HDR_END_NONFIELD, the body starts with a line whose first bytes
 * the parser consumed (possibly during earlier feeds) before it could tell
 * the line was not a field. This gives those bytes, exactly as received
 * (valid until the next feed/reset/free); the body is these bytes followed
 * by the input after `*consumed`. Empty in every other case. */
MOX_API void mox_header_parser_leftover(const mox_header_parser *p,
                                        const char **data, size_t *len);

/* Number of fields reported so far. */
MOX_API size_t mox_header_parser_count(const mox_header_parser *p);

/* ---------------------------------------------------- parsed header list */

typedef struct mox_headers mox_headers;

/* Parses the header section at the start of `data` (a whole message or
 * just its header) into an owned list. `*body_offset` (optional) receives
 * the offset of the body (== len when the input holds no body). `cfg` may
 * be NULL. Field offsets are offsets in `data`. */
MOX_API int mox_headers_parse(const void *data, size_t len,
                              const mox_header_config *cfg, mox_headers **out,
                              size_t *body_offset, mox_errinfo *ei);

MOX_API void mox_headers_free(mox_headers *h);

MOX_API size_t mox_headers_count(const mox_headers *h);

/* Field `i` (0-based), or NULL when out of range. */
MOX_API const mox_header_field *mox_headers_get(const mox_headers *h,
                                                size_t i);

/* Finds the next field named `name` (ASCII case-insensitive) at index >=
 * *pos, and sets *pos past it, so repeated calls iterate over every field
 * of that name; `pos` may be NULL (first match). NULL when none is left. */
MOX_API const mox_header_field *mox_headers_find(const mox_headers *h,
                                                 const char *name,
                                                 size_t *pos);

/* How the section ended (EMPTY_LINE, EOF or NONFIELD). */
MOX_API mox_hdr_end mox_headers_end(const mox_headers *h);

/* ================================================================ MIME */

/* A Content-Type parameter. RFC 2231 continuations (name*0, name*1*, ...)
 * are joined and extended values (name*=charset'lang'%XX) decoded, so
 * `name` never carries a '*'. */
typedef struct mox_mime_param {
    char *name;      /* lowercase, NUL-terminated */
    char *value;     /* NUL-terminated, but may hold NUL bytes from %00 */
    size_t value_len;
    char *charset;   /* charset of an RFC 2231 extended value, else NULL */
} mox_mime_param;

/* A parsed Content-Type. Zero it (MOX_MIME_CTYPE_INIT) before parsing;
 * release with mox_mime_ctype_clear. */
typedef struct mox_mime_ctype {
    char *type;      /* lowercase, e.g. "multipart" */
    char *subtype;   /* lowercase, e.g. "mixed" */
    mox_mime_param *params;
    size_t nparams;
} mox_mime_ctype;

#define MOX_MIME_CTYPE_INIT { NULL, NULL, NULL, 0 }

/* errinfo detail codes of the MIME functions. */
enum mox_mime_error {
    MOX_MIME_ERR_CTYPE = 1,   /* SYNTAX: no type "/" subtype */
    MOX_MIME_ERR_DEPTH,       /* LIMIT: parts nested deeper than max_depth */
    MOX_MIME_ERR_PARTS        /* LIMIT: more than max_parts parts */
};

/* Parses a Content-Type field value: type "/" subtype, then parameters
 * (tokens or quoted strings, comments allowed anywhere). Lenient about
 * parameters (a malformed one is skipped, the first of duplicates wins,
 * extended RFC 2231 forms win over plain ones); MOX_ERR_SYNTAX
 * (MOX_MIME_ERR_CTYPE) only when there is no type/subtype. On error `ct`
 * is left cleared. */
MOX_API int mox_mime_ctype_parse(const char *s, size_t len,
                                 mox_mime_ctype *ct, mox_errinfo *ei);

MOX_API void mox_mime_ctype_clear(mox_mime_ctype *ct);

/* The parameter `name` (ASCII case-insensitive), or NULL. */
MOX_API const mox_mime_param *mox_mime_ctype_param(const mox_mime_ctype *ct,
                                                   const char *name);

/* Content-Transfer-Encoding of a part. */
typedef enum mox_mime_cte {
    MOX_MIME_CTE_7BIT = 0, /* also the default when absent */
    MOX_MIME_CTE_8BIT,
    MOX_MIME_CTE_BINARY,
    MOX_MIME_CTE_QP,
    MOX_MIME_CTE_BASE64,
    MOX_MIME_CTE_OTHER     /* see mox_mime_part.encoding */
} mox_mime_cte;

/* Part flags (mox_mime_part.flags). */
#define MOX_MIME_F_MULTIPART 0x1      /* a multipart with children */
#define MOX_MIME_F_MESSAGE 0x2        /* message/rfc822 or message/global
                                         whose child is the message */
#define MOX_MIME_F_NO_CLOSE 0x4       /* multipart without its final
                                         boundary (parts taken leniently) */
#define MOX_MIME_F_NO_BOUNDARY 0x8    /* multipart without a boundary
                                         parameter: treated as a leaf */
#define MOX_MIME_F_BAD_CTYPE 0x10     /* unparsable Content-Type: the
                                         default type was used */
#define MOX_MIME_F_DEFAULT_CTYPE 0x20 /* no Content-Type field */
#define MOX_MIME_F_ENCODED 0x40       /* multipart or message with a
                                         base64/quoted-printable/unknown
                                         encoding (RFC 2045 §6.4 forbids
                                         it): treated as a leaf */
#define MOX_MIME_F_NO_HEADER_END 0x80 /* headers ran to the end of the
                                         part without an empty line */
#define MOX_MIME_F_NONFIELD 0x100     /* headers ended at a non-field line */
#define MOX_MIME_F_IN_MESSAGE 0x200   /* inside an encapsulated message */

#define MOX_MIME_NONE ((size_t)-1)

/* One MIME part. Offsets are offsets in the walked message. */
typedef struct mox_mime_part {
    size_t index;        /* position in pre-order (0: the message) */
    size_t parent;       /* index of the parent, MOX_MIME_NONE for 0 */
    size_t depth;        /* 0 for the message itself */
    size_t first_child;  /* MOX_MIME_NONE for a leaf */
    size_t next_sibling; /* MOX_MIME_NONE for the last child */
    size_t nchildren;
    size_t offset;       /* first byte of the part's header section */
    size_t header_len;   /* header section including its empty line */
    size_t body_offset;
    size_t body_len;     /* excludes the line ending before the next
                            boundary, which belongs to the boundary */
    size_t preamble_offset, preamble_len; /* multipart only */
    size_t epilogue_offset, epilogue_len; /* multipart only */
    const mox_headers *headers;
    const mox_mime_ctype *ctype; /* as parsed, or the default */
    const char *media_type;      /* "type/subtype", lowercase */
    const char *boundary;        /* multipart boundary, else NULL */
    const char *encoding;        /* C-T-E, lowercase; "7bit" if absent */
    mox_mime_cte cte;
    unsigned flags;              /* MOX_MIME_F_* */
} mox_mime_part;

/* Walker flags. */
#define MOX_MIME_NO_DESCEND_MESSAGE 0x1 /* do not parse message/rfc822 and
                                           message/global bodies as parts */

/* Walker configuration; MOX_MIME_CONFIG_INIT then adjust. */
typedef struct mox_mime_config {
    size_t size;       /* sizeof(mox_mime_config) */
    size_t max_depth;  /* nesting; default 20, at most 200 */
    size_t max_parts;  /* default 10000 */
    unsigned flags;    /* MOX_MIME_* */
    const mox_header_config *header; /* NULL: lenient defaults: bare CR and
                          LF accepted, non-field lines end the headers,
                          no line limit, other limits as the defaults */
} mox_mime_config;

#define MOX_MIME_CONFIG_INIT { sizeof(mox_mime_config), 20, 10000, 0, NULL }

typedef struct mox_mime mox_mime;

/* Walks the MIME structure of the message in `msg` (not kept). Lenient:
 * missing final boundaries, missing boundary parameters, bad Content-Type
 * values are reported in part flags, not as errors. Errors: MOX_ERR_NOMEM,
 * MOX_ERR_LIMIT (depth, parts, or a header limit) and whatever the header
 * configuration refuses; ei->offset is an offset in `msg`. */
MOX_API int mox_mime_walk(const void *msg, size_t len,
                          const mox_mime_config *cfg, mox_mime **out,
                          mox_errinfo *ei);

MOX_API void mox_mime_free(mox_mime *m);

MOX_API size_t mox_mime_count(const mox_mime *m);

/* Part `i` in pre-order, or NULL when out of range. */
MOX_API const mox_mime_part *mox_mime_get(const mox_mime *m, size_t i);

/* ================================================================ SMTPUTF8 */

/* Also look at the headers of messages encapsulated in message/rfc822 or
 * message/global parts (mox does not; their bytes are body content). */
#define MOX_SMTPUTF8_EMBEDDED 0x1

/* Sets *needs to 1 when a header of the message or of any of its MIME parts
 * holds a non-ASCII byte, so that transport needs SMTPUTF8 (RFC 6531), else
 * 0. Bodies are not looked at (8-bit bodies need 8BITMIME, not SMTPUTF8).
 * Errors as mox_mime_walk. */
MOX_API int mox_message_needs_smtputf8(const void *msg, size_t len,
                                       unsigned flags, int *needs,
                                       mox_errinfo *ei);

/* ================================================== Authentication-Results */

/* A property: ptype "." property "=" value, e.g. smtp.mailfrom=a@b.c. */
typedef struct mox_authres_prop {
    char *ptype;     /* lowercase keyword */
    char *property;  /* lowercase keyword */
    char *value;     /* unquoted value */
} mox_authres_prop;

/* One result ("resinfo"): method[/version]=result [reason=...] props. */
typedef struct mox_authres_result {
    char *method;      /* lowercase keyword, e.g. "spf" */
    unsigned version;  /* method version, 0 when absent */
    char *result;      /* lowercase keyword, e.g. "pass" */
    char *reason;      /* NULL when absent */
    char *comment;     /* NULL when absent */
    mox_authres_prop *props;
    size_t nprops;
} mox_authres_result;

/* An Authentication-Results field: opaque, read through accessors, built
 * with the mox_authres_add* functions or by mox_authres_parse. Every string
 * it holds is NUL-terminated, valid UTF-8 and free of control characters:
 * where a value given to a setter (or found by the parser) has a control
 * byte (0x00-0x1F, 0x7F) or an invalid UTF-8 byte, that byte is replaced by
 * '?'. That keeps untrusted input (a HELO name, an address) from ever
 * reaching the header raw. */
typedef struct mox_authres mox_authres;

/* Creates a model with the given authserv-id (any bytes; quoted as
 * needed when composed). */
MOX_API int mox_authres_new(mox_authres **out, const char *authserv_id,
                            size_t len);

MOX_API void mox_authres_free(mox_authres *ar);

/* Sets the authres-version (0: none written; RFC 8601 version is 1). */
MOX_API void mox_authres_set_version(mox_authres *ar, unsigned version);

/* Appends a result. `method` and `result` must be keywords (ASCII letters
 * and digits, then also '-' and '_'), stored lowercase; MOX_ERR_INVAL
 * otherwise. `*index` (optional) receives the result's index. */
MOX_API int mox_authres_add(mox_authres *ar, const char *method,
                            const char *result, size_t *index);

/* Setters on result `i` (MOX_ERR_INVAL when out of range). A later call
 * replaces an earlier value. */
MOX_API int mox_authres_set_method_version(mox_authres *ar, size_t i,
                                           unsigned version);
MOX_API int mox_authres_set_reason(mox_authres *ar, size_t i, const char *s,
                                   size_t len);
MOX_API int mox_authres_set_comment(mox_authres *ar, size_t i, const char *s,
                                    size_t len);

/* Appends a property to result `i`; ptype and property must be keywords
 * (MOX_ERR_INVAL otherwise); the value is any bytes. */
MOX_API int mox_authres_add_prop(mox_authres *ar, size_t i, const char *ptype,
                                 const char *property, const char *value,
                                 size_t value_len);

MOX_API const char *mox_authres_authserv_id(const mox_authres *ar);
MOX_API unsigned mox_authres_version(const mox_authres *ar);
/* Number of results; 0 means "none". */
MOX_API size_t mox_authres_count(const mox_authres *ar);
MOX_API const mox_authres_result *mox_authres_get(const mox_authres *ar,
                                                  size_t i);
/* Number of malformed pieces the parser skipped (0 for a built model). */
MOX_API size_t mox_authres_defects(const mox_authres *ar);

/* 1 when both models hold the same id, version and results (defect counts
 * are not compared), else 0. */
MOX_API int mox_authres_equal(const mox_authres *a, const mox_authres *b);

/* Appends the complete header field to `out`:
 *   "Authentication-Results: id;\r\n\tspf=pass smtp.mailfrom=x@y;\r\n\t..."
 * ending with CRLF. Each result starts on its own line; longer results are
 * folded between elements to stay within 78 columns where possible. Values
 * that are not a token (RFC 2045) or, for properties, an address or domain
 * (dot-atoms) are written as quoted strings with '"' and '\' escaped;
 * comments escape '(', ')' and '\'. With no results it writes "id; none".
 * MOX_ERR_NOMEM; on error `out` is restored to its original length. */
MOX_API int mox_authres_compose(const mox_authres *ar, mox_buf *out);

/* Flags of mox_authres_compose_value. */
#define MOX_AUTHRES_FOLD 0x1u /* fold as mox_authres_compose does */

/* Appends only the field's value, for embedders that write header fields
 * themselves: "id; method=result ...; method=result ..." with no field
 * name, no leading space and no final CRLF. Values are quoted and escaped
 * as by mox_authres_compose. `flags` 0: one line, results separated by
 * "; " (the caller folds, RFC 5322 §2.2.3; mind the 998-octet line limit
 * of §2.1.1 with many results); MOX_AUTHRES_FOLD: each result on its own
 * line after CRLF TAB, longer ones folded between elements at 78 columns,
 * as in the whole field. MOX_ERR_INVAL (NULL, unknown flags),
 * MOX_ERR_NOMEM; on error `out` is restored to its original length. */
MOX_API int mox_authres_compose_value(const mox_authres *ar, unsigned flags, mox_buf *out);

/* Parses an Authentication-Results field value (the part after the colon;
 * folding CRLFs allowed). Lenient: comments anywhere (the first one after a
 * result is kept as its comment), missing version, "none", quoted values,
 * unknown methods and properties are accepted; a malformed piece is skipped
 * up to the next ';' or element and counted (mox_authres_defects). Only a
 * missing authserv-id fails (MOX_ERR_SYNTAX, MOX_AUTHRES_ERR_NO_ID). Never
 * reads outside [s, s+len). */
MOX_API int mox_authres_parse(const char *s, size_t len, mox_authres **out,
                              mox_errinfo *ei);

enum mox_authres_error {
    MOX_AUTHRES_ERR_NO_ID = 1
};

MOX_END_DECLS

#endif
