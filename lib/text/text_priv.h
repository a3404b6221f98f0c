/* Private helpers of the text module. Not installed. */
#ifndef MOX_TEXT_PRIV_H
#define MOX_TEXT_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "mox/text.h"

/* An inclusive code point range; tables are sorted and disjoint. */
struct moxi_range {
    int32_t lo, hi;
};

/* 1 if cp lies in one of the n sorted ranges (binary search). */
int moxi_text_in_ranges(const struct moxi_range *r, size_t n, int32_t cp);

/* Decodes one code point of well-formed UTF-8 at s[*i] (i < len) and
 * advances *i. Returns the code point, or -1 (with *i unchanged) when the
 * bytes at *i are not a well-formed sequence. */
int32_t moxi_text_utf8_next(const unsigned char *s, size_t len, size_t *i);

/* Appends the UTF-8 encoding of cp (a scalar value) to out; returns the
 * number of bytes written (1..4). `out` needs room for 4 bytes. */
size_t moxi_text_utf8_put(int32_t cp, unsigned char *out);

/* NFC of well-formed UTF-8 into a new NUL-terminated mox_malloc string. */
int moxi_text_nfc(const char *s, size_t len, char **out, size_t *out_len);

/* RFC 5893 Bidi Rule for one label given as well-formed UTF-8. Returns 1
 * when the label satisfies it. */
int moxi_text_bidi_rule_ok(const char *label, size_t len);

/* 1 when the UTF-8 label holds a code point of Bidi class R, AL or AN
 * (which makes the whole name a "Bidi domain name", RFC 5893 §1.4). */
int moxi_text_is_rtl_label(const char *label, size_t len);

#endif
