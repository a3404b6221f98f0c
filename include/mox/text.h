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
 * above U+10FFFF; NUL bytes are allowed), else 0. When not valid and
 * `bad_offset` is non-NULL, it receives the offset of the first byte of the
 * first ill-formed sequence. */
MOX_API int mox_utf8_valid(const void *s, size_t len, size_t *bad_offset);

/* 1 if every byte is below 0x80 (also for len 0). */
MOX_API int mox_is_ascii(const void *s, size_t len);

/* Normalises UTF-8 `s` to NFC (Unicode version of the linked utf8proc).
 * `*out` receives a NUL-terminated copy (free with mox_free), `*out_len`
 * (optional) its length. Errors: MOX_ERR_UTF8 for invalid input,
 * MOX_ERR_NOMEM, MOX_ERR_INVAL for NULL arguments. On error *out is NULL. */
MOX_API int mox_utf8_nfc(const char *s, size_t len, char **out,
                         size_t *out_len);

/* PRECIS OpaqueString profile (RFC 8265 §4.2), enforcement, for passwords:
 * width is untouched, non-ASCII spaces (Zs) map to U+0020, case is kept,
 * NFC, then every code point must be valid in the FreeformClass (RFC 8264
 * §4.3 with the derived property of §8, contextual rules of RFC 5892
 * Appendix A applied to the whole string). `*out` receives the enforced
 * string (free with mox_free), `*out_len` (optional) its length.
 * Errors: MOX_ERR_PRECIS for an empty result (ei->detail 0) or a refused
 * code point (ei->detail is the code point, ei->offset its byte offset in
 * the input, or SIZE_MAX when normalisation created it, ei->msg names the
 * rule); MOX_ERR_UTF8 for ill-formed input (ei->offset); MOX_ERR_NOMEM.
 * Compare two passwords by comparing their enforced forms byte for byte. */
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
#define MOX_DOMAIN_LAX 0x1      /* allow underscore in ASCII labels (_dmarc, _domainkey),
                                   and reserved "ab--" labels other than xn-- (they exist
                                   as host names, e.g. r4---sn-x.googlevideo.com) */
#define MOX_DOMAIN_TRAILING_DOT 0x2 /* accept (and drop) one trailing dot */

/* Detail codes (ei->detail) of mox_domain_parse. */
enum {
    MOX_DOMAIN_ERR_EMPTY = 1,        /* empty name, empty label, or trailing dot */
    MOX_DOMAIN_ERR_TOO_LONG,         /* > 253 octets in ASCII form */
    MOX_DOMAIN_ERR_LABEL_TOO_LONG,   /* label > 63 octets */
    MOX_DOMAIN_ERR_LDH,              /* character outside letters/digits/hyphen */
    MOX_DOMAIN_ERR_HYPHEN,           /* label starts or ends with hyphen, or -- at 3-4 */
    MOX_DOMAIN_ERR_ALABEL,           /* xn-- label does not round-trip */
    MOX_DOMAIN_ERR_IDNA,             /* U-label refused by IDNA2008 */
    MOX_DOMAIN_ERR_UTF8,             /* invalid UTF-8 */
    MOX_DOMAIN_ERR_BIDI,             /* RFC 5893 Bidi rule broken */
    MOX_DOMAIN_ERR_NUMERIC           /* all-numeric top-level label (an IP address) */
};

/* Parses a domain given in ASCII (A-labels allowed, any case) or Unicode
 * form and fills `d` (overwritten, not freed; release with
 * mox_domain_clear). Labels are separated by '.' or the dots UTS #46 maps
 * to it (U+3002, U+FF0E, U+FF61). Non-ASCII labels get UTS #46
 * non-transitional mapping (lowercase, width folding, NFC) and IDNA2008
 * validation; ASCII labels must be LDH (plus '_' with MOX_DOMAIN_LAX),
 * must not start or end with '-', nor have "--" in positions 3-4 unless
 * they are A-labels, which must decode and re-encode to themselves.
 * Names whose last label is all digits (IP addresses) are refused.
 * Returns MOX_OK; MOX_ERR_SYNTAX (details EMPTY, TOO_LONG, LABEL_TOO_LONG,
 * LDH, HYPHEN, NUMERIC); MOX_ERR_IDNA (ALABEL, IDNA, BIDI); MOX_ERR_UTF8
 * (UTF8); MOX_ERR_NOMEM; MOX_ERR_INVAL. ei->offset points at the offending
 * byte or label where that makes sense. On error `d` is left zeroed. */
MOX_API int mox_domain_parse(const char *s, size_t len, unsigned flags,
                             mox_domain *d, mox_errinfo *ei);

/* Frees both strings and zeroes `d`. NULL-safe. */
MOX_API void mox_domain_clear(mox_domain *d);

/* Copies `src` into `dst` (overwritten, not freed). MOX_ERR_NOMEM leaves
 * `dst` zeroed. */
MOX_API int mox_domain_copy(mox_domain *dst, const mox_domain *src);

/* 1 when the ASCII forms are equal ignoring ASCII case, else 0. */
MOX_API int mox_domain_equal(const mox_domain *a, const mox_domain *b);

MOX_END_DECLS

#endif
