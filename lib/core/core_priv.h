/* Private helpers shared by all modules. Not installed. */
#ifndef MOX_CORE_PRIV_H
#define MOX_CORE_PRIV_H

#include <stddef.h>
#include <string.h>

#include "mox/core.h"

#define MOX_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Fills an optional errinfo (ei may be NULL) and returns `code`, so parsers
 * can write `return moxi_fail(ei, MOX_ERR_SYNTAX, DETAIL, off, "...")`. */
int moxi_fail(mox_errinfo *ei, int code, int detail, size_t offset,
              const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* True when the caller's sized struct `p` (of type T, first member
 * `size_t size`) is recent enough to have member `f`: every member added
 * after version 1 must be read behind this test. */
#define MOXI_HAS(p, T, f) ((p)->size >= offsetof(T, f) + sizeof(((T *)0)->f))

/* Copies a fully built sized struct `full` (of `full_size` bytes) into a
 * caller's struct of `caller_size` bytes (its compile-time sizeof): only
 * the bytes the caller has are written, and its `size` member (the first)
 * says how many. */
static inline void moxi_fill_sized(void *dst, size_t caller_size, const void *full,
                                   size_t full_size)
{
    size_t n = caller_size < full_size ? caller_size : full_size;
    if (n < sizeof(size_t))
        return;
    memcpy(dst, full, n);
    memcpy(dst, &n, sizeof n);
}

/* Copies a caller's sized struct `src` (NULL: nothing) over `dst`, which
 * already holds this version's defaults (its INIT macro): the members the
 * caller's version has come from the caller, later ones keep their
 * defaults, and dst's `size` stays this version's. How every constructor
 * takes a config from a program built against older headers. */
static inline void moxi_copy_sized(void *dst, const void *src, size_t ours)
{
    if (!src)
        return;
    size_t n;
    memcpy(&n, src, sizeof n);
    if (n > ours)
        n = ours;
    if (n > sizeof(size_t))
        memcpy((char *)dst + sizeof(size_t), (const char *)src + sizeof(size_t),
               n - sizeof(size_t));
}

/* Duplicates n bytes into a NUL-terminated string (mox_malloc). */
char *moxi_strndup(const char *s, size_t n);
char *moxi_strdup(const char *s);

/* ASCII helpers independent of the C locale. */
static inline int moxi_lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
static inline int moxi_is_alpha(int c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }
static inline int moxi_is_digit(int c) { return c >= '0' && c <= '9'; }
int moxi_strncasecmp(const char *a, const char *b, size_t n);
int moxi_memcaseeq(const void *a, const void *b, size_t n);

/* Reads a whole file into a buffer. MOX_ERR_IO when it cannot. */
int moxi_read_file(const char *path, mox_buf *out, mox_errinfo *ei);

/* Logs through an env (NULL-safe), formatting the message. */
void moxi_logf(const mox_env *env, int level, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
