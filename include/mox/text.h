/*
 * libmox text: UTF-8 validation, Unicode NFC, PRECIS OpaqueString
 * (RFC 8264/8265, for passwords) and IDNA2008 domain names (libidn2).
 *
 * Threading: all functions are reentrant; no shared state.
 * Strings returned through `char **` are NUL-terminated and freed with
 * mox_free().
 */
#ifndef MOX_TEXT_H
#define MOX_TEXT_H

#include "core.h"

MOX_BEGIN_DECLS

/* 1 if `s` is well-formed UTF-8 (no overlongs, surrogates, or code points
 * above U+10FFFF), else 0. When not valid and `bad_offset` is non-NULL, it
 * receives the offset of the first bad byte. */
MOX_API int mox_utf8_valid(const void *s, size_t len, size_t *bad_offset);

/* 1 if every byte is below 0x80. */
MOX_API int mox_is_ascii(const void *s, size_t len);

/* Normalises UTF-8 `s` to NFC. MOX_ERR_UTF8 for invalid input. */
MOX_API int mox_utf8_nfc(const char *s, size_t len, char **out,
                         size_t *out_len);

/* PRECIS OpaqueString profile (RFC 8265 §4.2), enforcement: width is
 * untouched, non-ASCII spaces map to U+0020, NFC, then the FreeformClass
 * rules. Refuses empty results, unassigned, control, and disallowed code
 * points with MOX_ERR_PRECIS (ei->offset is the offset in the input of the
 * offending code point, ei->detail its value). */
MOX_API int mox_precis_opaque(const char *s, size_t len, char **out,
                              size_t *out_len, mox_errinfo *ei);

/* A domain name in both forms. `ascii` is lowercase A-label form without a
 * trailing dot; `unicode` is NFC U-label form (equal to `ascii` when no
 * label is internationalised). Both NUL-terminated, owned by the struct. */
typedef struct mox_domain {
    char *ascii;
    char *unicode;
} mox_domain;

/* Flags for mox_domain_parse. */
#define MOX_DOMAIN_LAX 0x1      /* allow underscore in labels (_dmarc, _domainkey) */
#define MOX_DOMAIN_TRAILING_DOT 0x2 /* accept (and drop) one trailing dot */

/* Detail codes (ei->detail) for MOX_ERR_IDNA / MOX_ERR_SYNTAX. */
enum {
    MOX_DOMAIN_ERR_EMPTY = 1,        /* empty name or empty label */
    MOX_DOMAIN_ERR_TOO_LONG,         /* > 253 octets in ASCII form */
    MOX_DOMAIN_ERR_LABEL_TOO_LONG,   /* label > 63 octets */
    MOX_DOMAIN_ERR_LDH,              /* character outside letters/digits/hyphen */
    MOX_DOMAIN_ERR_HYPHEN,           /* label starts or ends with hyphen, or -- at 3-4 */
    MOX_DOMAIN_ERR_ALABEL,           /* xn-- label does not round-trip */
    MOX_DOMAIN_ERR_IDNA,             /* U-label refused by IDNA2008 */
    MOX_DOMAIN_ERR_UTF8              /* invalid UTF-8 */
};

/* Parses a domain given in ASCII (A-labels allowed) or Unicode form and
 * fills `d` (release with mox_domain_clear). Returns MOX_OK, MOX_ERR_SYNTAX
 * or MOX_ERR_IDNA with ei->detail one of MOX_DOMAIN_ERR_*. */
MOX_API int mox_domain_parse(const char *s, size_t len, unsigned flags,
                             mox_domain *d, mox_errinfo *ei);

MOX_API void mox_domain_clear(mox_domain *d);

/* Copies `src` into `dst` (which must be cleared or zeroed). */
MOX_API int mox_domain_copy(mox_domain *dst, const mox_domain *src);

/* ASCII-case-insensitive equality of two ASCII forms. */
MOX_API int mox_domain_equal(const mox_domain *a, const mox_domain *b);

MOX_END_DECLS

#endif
