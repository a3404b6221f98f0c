/* The Bidi Rule of RFC 5893 §2, over utf8proc's Bidi_Class. libidn2 checks
 * it inside each non-ASCII label, but not the cross-label condition: in a
 * domain name with any right-to-left label, every label (ASCII ones too)
 * must satisfy the rule. */
#include <utf8proc.h>

#include "core/core_priv.h"
#include "text/text_priv.h"

static int bidi_class(int32_t cp)
{
    return utf8proc_get_property(cp)->bidi_class;
}

int moxi_text_is_rtl_label(const char *label, size_t len)
{
    const unsigned char *s = (const unsigned char *)label;
    for (size_t i = 0; i < len;) {
        if (s[i] < 0x80) {
            i++; /* no ASCII character is R, AL or AN */
            continue;
        }
        int32_t cp = moxi_text_utf8_next(s, len, &i);
        if (cp < 0)
            return 0;
        int c = bidi_class(cp);
        if (c == UTF8PROC_BIDI_CLASS_R || c == UTF8PROC_BIDI_CLASS_AL ||
            c == UTF8PROC_BIDI_CLASS_AN)
            return 1;
    }
    return 0;
}

int moxi_text_bidi_rule_ok(const char *label, size_t len)
{
    const unsigned char *s = (const unsigned char *)label;
    size_t i = 0;
    if (len == 0)
        return 0;
    int32_t cp = moxi_text_utf8_next(s, len, &i);
    if (cp < 0)
        return 0;
    int first = bidi_class(cp);
    int rtl;
    if (first == UTF8PROC_BIDI_CLASS_R || first == UTF8PROC_BIDI_CLASS_AL)
        rtl = 1; /* rule 1 */
    else if (first == UTF8PROC_BIDI_CLASS_L)
        rtl = 0;
    else
        return 0;
    int last_strong = first; /* last class that is not NSM */
    int has_en = 0, has_an = 0;
    i = 0;
    while (i < len) {
        cp = moxi_text_utf8_next(s, len, &i);
        if (cp < 0)
            return 0;
        int c = bidi_class(cp);
        switch (c) {
        case UTF8PROC_BIDI_CLASS_EN:
            has_en = 1;
            break;
        case UTF8PROC_BIDI_CLASS_AN:
            has_an = 1;
            if (!rtl)
                return 0; /* rule 5 */
            break;
        case UTF8PROC_BIDI_CLASS_R:
        case UTF8PROC_BIDI_CLASS_AL:
            if (!rtl)
                return 0; /* rule 5 */
            break;
        case UTF8PROC_BIDI_CLASS_L:
            if (rtl)
                return 0; /* rule 2 */
            break;
        case UTF8PROC_BIDI_CLASS_ES: case UTF8PROC_BIDI_CLASS_CS:
        case UTF8PROC_BIDI_CLASS_ET: case UTF8PROC_BIDI_CLASS_ON:
        case UTF8PROC_BIDI_CLASS_BN: case UTF8PROC_BIDI_CLASS_NSM:
            break;
        default:
            return 0; /* rules 2 and 5 */
        }
        if (c != UTF8PROC_BIDI_CLASS_NSM)
            last_strong = c;
    }
    if (rtl) {
        if (has_en && has_an)
            return 0; /* rule 4 */
        return last_strong == UTF8PROC_BIDI_CLASS_R || last_strong == UTF8PROC_BIDI_CLASS_AL ||
               last_strong == UTF8PROC_BIDI_CLASS_EN || last_strong == UTF8PROC_BIDI_CLASS_AN;
    }
    return last_strong == UTF8PROC_BIDI_CLASS_L || last_strong == UTF8PROC_BIDI_CLASS_EN;
}
