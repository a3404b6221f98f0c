/*
 * libmox core: errors, allocator hooks, logging, metrics, clocks,
 * randomness, byte buffers, base64/hex, Message-ID and Date generation.
 *
 * Threading: nothing in this header has hidden shared state except the
 * allocator hooks (set them once, before any other call). Interface structs
 * are plain data; the library only reads them.
 */
#ifndef MOX_CORE_H
#define MOX_CORE_H

#include <stdarg.h>
#include <stdio.h>

#include "common.h"

MOX_BEGIN_DECLS

/* ---------------------------------------------------------------- errors */

/* Every libmox function returning int returns MOX_OK or one of these
 * negative codes. Protocol outcomes (an SPF "fail", an SMTP 550) are results,
 * never errors. New codes are only ever appended. */
typedef enum mox_err {
    MOX_OK = 0,
    MOX_ERR_NOMEM = -1,       /* allocation failed */
    MOX_ERR_INVAL = -2,       /* invalid argument (a caller bug) */
    MOX_ERR_SYNTAX = -3,      /* malformed input */
    MOX_ERR_LIMIT = -4,       /* a configured or protocol limit was exceeded */
    MOX_ERR_UTF8 = -5,        /* invalid UTF-8 */
    MOX_ERR_IDNA = -6,        /* domain name fails IDNA2008 / LDH rules */
    MOX_ERR_PRECIS = -7,      /* string refused by a PRECIS profile */
    MOX_ERR_NOTFOUND = -8,    /* no such item */
    MOX_ERR_STATE = -9,       /* call not valid in the object's state */
    MOX_ERR_IO = -10,         /* I/O error (file, socket) in glue code */
    MOX_ERR_TIMEOUT = -11,    /* operation timed out */
    MOX_ERR_DNS = -12,        /* DNS failure (see the answer for details) */
    MOX_ERR_UNSUPPORTED = -13,/* feature or algorithm not supported */
    MOX_ERR_CRYPTO = -14,     /* cryptographic failure */
    MOX_ERR_AGAIN = -15,      /* would block / waiting on an event */
    MOX_ERR_TRUNCATED = -16,  /* input ended early */
    MOX_ERR_EXISTS = -17,     /* item already exists */
    MOX_ERR_PERM = -18        /* refused by policy */
} mox_err;

/* Returns a short, static English name for an error code, e.g.
 * "out of memory". Unknown codes give "unknown error". Thread-safe. */
MOX_API const char *mox_strerror(int err);

/* Detail for a failed parse or check, filled by functions that take a
 * `mox_errinfo *` (which may always be NULL). `code` repeats the returned
 * mox_err; `detail` is a module-specific sub-code (documented per module,
 * 0 when none); `offset` is the byte offset in the input where the problem
 * was found (or SIZE_MAX when not applicable); `msg` is a NUL-terminated,
 * human-readable description. Caller-allocated; the library never keeps a
 * pointer to it. */
typedef struct mox_errinfo {
    int code;
    int detail;
    size_t offset;
    char msg[232];
} mox_errinfo;

/* Clears an errinfo to "no error" (code MOX_OK, detail 0, offset
 * SIZE_MAX, empty msg). NULL is ignored. */
MOX_API void mox_errinfo_clear(mox_errinfo *ei);

/* ---------------------------------------------------------------- memory */

/* Allocator hooks. The only global mutable state in libmox: install them
 * once, before creating any object, or not at all (default: malloc). Every
 * allocation the library makes itself goes through them; third-party
 * libraries it calls (libidn2, utf8proc, mbedTLS) use their own. */
typedef struct mox_allocator {
    void *(*malloc)(void *ctx, size_t n);
    void *(*realloc)(void *ctx, void *p, size_t n);
    void (*free)(void *ctx, void *p);
    void *ctx;
} mox_allocator;

/* Installs `a` (copied), or restores the default when `a` is NULL. Not
 * thread-safe. */
MOX_API void mox_set_allocator(const mox_allocator *a);

/* Allocation functions using the installed hooks. Memory returned by any
 * libmox function documented as "free with mox_free" must be released with
 * mox_free(). mox_free(NULL) does nothing. */
MOX_API void *mox_malloc(size_t n);
MOX_API void *mox_calloc(size_t count, size_t n);
MOX_API void *mox_realloc(void *p, size_t n);
MOX_API void mox_free(void *p);

/* ---------------------------------------------------------------- logging */

/* Levels follow Go's slog, as mox uses them. */
typedef enum mox_log_level {
    MOX_LOG_TRACE = -8,
    MOX_LOG_DEBUG = -4,
    MOX_LOG_INFO = 0,
    MOX_LOG_WARN = 4,
    MOX_LOG_ERROR = 8
} mox_log_level;

/* One key=value attribute. `value` need not be NUL-terminated. */
typedef struct mox_log_attr {
    const char *key;
    const char *value;
    size_t value_len;
} mox_log_attr;

/* Structured logger. `log` is called with a message and attributes, all
 * valid only for the duration of the call. Records below `min_level` are not
 * produced at all (the library checks before formatting). */
typedef struct mox_logger {
    size_t size; /* sizeof(mox_logger), set by MOX_LOGGER_INIT */
    void *ctx;
    int min_level;
    void (*log)(void *ctx, int level, const char *msg,
                const mox_log_attr *attrs, size_t nattrs);
} mox_logger;

#define MOX_LOGGER_INIT { sizeof(mox_logger), NULL, MOX_LOG_INFO, NULL }

/* Fills `lg` with a logger writing one logfmt line per record to `f`
 * (time=... level=... msg=... key=value ...), quoting values as logfmt
 * requires. `f` must outlive the logger; each record is one fprintf, so
 * concurrent records on one FILE do not interleave.
 * mox_logger_logfmt is a macro passing the caller's sizeof(mox_logger), so
 * a program built against an older, smaller mox_logger gets only the
 * members it knows written (zlib's deflateInit does the same); size is set
 * to what was written. */
MOX_API void mox_logger_logfmt_sized(mox_logger *lg, size_t lg_size, FILE *f,
                                     int min_level);
#define mox_logger_logfmt(lg, f, min_level) \
    mox_logger_logfmt_sized((lg), sizeof *(lg), (f), (min_level))

/* Writes one record through `lg` (which may be NULL, or have a NULL `log`:
 * nothing happens; so does a `level` below lg->min_level). `attrs` is an
 * array of `nattrs` attributes: NUL-terminated keys, values given as
 * pointer+length. Nothing is copied or kept past the call. */
MOX_API void mox_log(const mox_logger *lg, int level, const char *msg,
                     const mox_log_attr *attrs, size_t nattrs);

/* Formats one record as logfmt into `out` (NUL-terminated, truncated to
 * `outsz`); returns the length it would have had. Used by the default
 * writer; exposed for embedders that route logfmt elsewhere. */
MOX_API size_t mox_logfmt_format(char *out, size_t outsz, int64_t unix_ns,
                                 int level, const char *msg,
                                 const mox_log_attr *attrs, size_t nattrs);

/* ---------------------------------------------------------------- metrics */

typedef struct mox_metric_label {
    const char *name;
    const char *value;
} mox_metric_label;

/* Metrics sink: Prometheus-style names (mox_smtpserver_connection_total),
 * labels valid only during the call. NULL function pointers are skipped. */
typedef struct mox_metrics {
    size_t size; /* sizeof(mox_metrics), set by MOX_METRICS_INIT */
    void *ctx;
    void (*counter_add)(void *ctx, const char *name,
                        const mox_metric_label *labels, size_t nlabels,
                        double delta);
    void (*histogram_observe)(void *ctx, const char *name,
                              const mox_metric_label *labels, size_t nlabels,
                              double value);
} mox_metrics;

#define MOX_METRICS_INIT { sizeof(mox_metrics), NULL, NULL, NULL }

/* Helpers that tolerate a NULL sink. */
MOX_API void mox_metric_count(const mox_metrics *m, const char *name,
                              const mox_metric_label *labels, size_t nlabels,
                              double delta);
MOX_API void mox_metric_observe(const mox_metrics *m, const char *name,
                                const mox_metric_label *labels,
                                size_t nlabels, double value);

/* ---------------------------------------------------------------- clocks */

/* Two clocks through one interface: wall time in nanoseconds since the Unix
 * epoch (signature expiry, Received dates), and a monotonic clock in
 * nanoseconds from an arbitrary origin (timeouts, tarpits). */
typedef struct mox_clock {
    size_t size; /* sizeof(mox_clock) */
    void *ctx;
    int64_t (*wall_ns)(void *ctx);
    int64_t (*mono_ns)(void *ctx);
} mox_clock;

#define MOX_CLOCK_INIT { sizeof(mox_clock), NULL, NULL, NULL }

/* The system clocks (CLOCK_REALTIME, CLOCK_MONOTONIC). Static storage. */
MOX_API const mox_clock *mox_clock_system(void);

/* Reads a clock; a NULL clock or NULL function means the system clock. */
MOX_API int64_t mox_clock_wall_ns(const mox_clock *c);
MOX_API int64_t mox_clock_mono_ns(const mox_clock *c);

/* ---------------------------------------------------------------- random */

/* Randomness source. `fill` writes `n` random bytes and returns MOX_OK or
 * a negative mox_err. */
typedef struct mox_random {
    size_t size; /* sizeof(mox_random) */
    void *ctx;
    int (*fill)(void *ctx, void *buf, size_t n);
} mox_random;

#define MOX_RANDOM_INIT { sizeof(mox_random), NULL, NULL }

/* The system source (getrandom(2)). Static storage. */
MOX_API const mox_random *mox_random_system(void);

/* Fills `buf`; a NULL source means the system source. */
MOX_API int mox_random_fill(const mox_random *r, void *buf, size_t n);

/* ---------------------------------------------------------------- env */

/* The replaceable services, bundled so every engine config can take one
 * pointer. Any NULL member means the default (no logging, no metrics,
 * system clock, system randomness). The pointed-to structs must outlive
 * every object created with the env. */
typedef struct mox_env {
    size_t size; /* sizeof(mox_env), set by MOX_ENV_INIT */
    const mox_logger *logger;
    const mox_metrics *metrics;
    const mox_clock *clock;
    const mox_random *random;
} mox_env;

#define MOX_ENV_INIT { sizeof(mox_env), NULL, NULL, NULL, NULL }

/* ---------------------------------------------------------------- buffers */

/* Growable byte buffer. Always NUL-terminated past `len` once it has
 * storage (so text can be used as a C string), but may hold NUL bytes.
 * Zero-initialise (MOX_BUF_INIT) before use; release with mox_buf_free. */
typedef struct mox_buf {
    unsigned char *data;
    size_t len;
    size_t cap;
} mox_buf;

#define MOX_BUF_INIT { NULL, 0, 0 }

/* Sets `b` to the empty state (same as MOX_BUF_INIT); does not free.
 * NULL-safe. */
MOX_API void mox_buf_init(mox_buf *b);
/* Frees the storage and empties `b` (reusable afterwards). NULL-safe. */
MOX_API void mox_buf_free(mox_buf *b);
/* Sets len to 0, keeping storage. NULL-safe. */
MOX_API void mox_buf_reset(mox_buf *b);
/* Ensures room for `extra` more bytes (+ the NUL). MOX_ERR_NOMEM, or
 * MOX_ERR_LIMIT on size overflow. On error the buffer is unchanged; the
 * append functions below return the same codes, with the same guarantee. */
MOX_API int mox_buf_reserve(mox_buf *b, size_t extra);
/* Appends n bytes; `p` must not point into `b` (the storage may move). */
MOX_API int mox_buf_append(mox_buf *b, const void *p, size_t n);
MOX_API int mox_buf_append_str(mox_buf *b, const char *s);
MOX_API int mox_buf_append_byte(mox_buf *b, unsigned char c);
MOX_API int mox_buf_appendf(mox_buf *b, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;
MOX_API int mox_buf_vappendf(mox_buf *b, const char *fmt, va_list ap);
/* Removes the first `n` bytes (n > len removes all). */
MOX_API void mox_buf_consume(mox_buf *b, size_t n);
/* Hands the storage to the caller (free with mox_free; NUL-terminated,
 * never NULL unless allocation fails) and resets the buffer. */
MOX_API char *mox_buf_steal(mox_buf *b, size_t *len);

/* ---------------------------------------------------------------- base64 */

/* Flags for mox_base64_decode. */
#define MOX_BASE64_ALLOW_WS 0x1   /* skip SP, HTAB, CR, LF anywhere */
#define MOX_BASE64_NOPAD 0x2      /* padding optional (still validated if present) */

/* Appends the standard base64 (RFC 4648 §4, padded) of `in` to `out`.
 * `in` must not point into `out` (the buffer may move). */
MOX_API int mox_base64_encode(const void *in, size_t len, mox_buf *out);

/* Strict decode, appended to `out`: rejects characters outside the
 * alphabet, misplaced or missing padding, and non-zero trailing bits.
 * Returns MOX_ERR_SYNTAX with `ei` (optional) pointing at the offending
 * offset. On error `out` holds its original content. */
MOX_API int mox_base64_decode(const char *in, size_t len, unsigned flags,
                              mox_buf *out, mox_errinfo *ei);

/* Lowercase hex. */
MOX_API int mox_hex_encode(const void *in, size_t len, mox_buf *out);
/* Strict hex decode (either case, even length). */
MOX_API int mox_hex_decode(const char *in, size_t len, mox_buf *out,
                           mox_errinfo *ei);

/* ---------------------------------------------------------------- headers */

/* Generates a Message-ID value "<RANDOM@domain>" (with angle brackets),
 * RANDOM being 24 random base32 characters from `r` (NULL: system). */
MOX_API int mox_message_id(const mox_random *r, const char *domain,
                           mox_buf *out);

/* Formats an RFC 5322 date-time such as "Tue, 1 Jul 2003 10:52:37 +0200"
 * for `unix_seconds` at the given UTC offset (minutes, -1439..1439). Writes
 * at most `outsz` bytes including the NUL; returns the length, or a
 * negative mox_err (MOX_ERR_INVAL for a bad offset or too small buffer). */
MOX_API int mox_rfc5322_date(int64_t unix_seconds, int tz_offset_min,
                             char *out, size_t outsz);

MOX_END_DECLS

#endif
