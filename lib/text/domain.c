/*
 * IDNA2008 domain names (RFC 5890-5893) via libidn2, with the LDH, hyphen
 * and length rules checked here because libidn2 passes ASCII through
 * unchecked, and A-labels validated by decoding and re-encoding because
 * libidn2 decodes a bogus xn-- label to garbage without complaint.
 */
#include <string.h>

#include <idn2.h>

#include "core/core_priv.h"
#include "text/text_priv.h"

#define MAX_LABEL 63
#define MAX_NAME 253
/* Inputs longer than this cannot be a valid name: bounds the work done on
 * hostile input before libidn2 sees it. */
#define MAX_INPUT 1024

/* Length of a label separator at s[i]: '.', or one of the dots UTS #46
 * maps to '.' (U+3002, U+FF0E, U+FF61); 0 when there is none. */
static size_t sep_len(const unsigned char *s, size_t len, size_t i)
{
    if (s[i] == '.')
        return 1;
    if (i + 3 <= len && ((s[i] == 0xE3 && s[i + 1] == 0x80 && s[i + 2] == 0x82) ||
                         (s[i] == 0xEF && s[i + 1] == 0xBC && s[i + 2] == 0x8E) ||
                         (s[i] == 0xEF && s[i + 1] == 0xBD && s[i + 2] == 0xA1)))
        return 3;
    return 0;
}

static int is_ldh(int c)
{
    return moxi_is_alpha(c) || moxi_is_digit(c) || c == '-';
}

static int idn2_fail(mox_errinfo *ei, int r, size_t off, const char *what)
{
    switch (r) {
    case IDN2_MALLOC:
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, off, "out of memory in libidn2");
    case IDN2_TOO_BIG_LABEL:
    case IDN2_PUNYCODE_BIG_OUTPUT:
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_LABEL_TOO_LONG, off,
                         "%s: label longer than %d octets", what, MAX_LABEL);
    case IDN2_TOO_BIG_DOMAIN:
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_TOO_LONG, off,
                         "%s: name longer than %d octets", what, MAX_NAME);
    case IDN2_BIDI:
        return moxi_fail(ei, MOX_ERR_IDNA, MOX_DOMAIN_ERR_BIDI, off, "%s: %s", what,
                         idn2_strerror(r));
    default:
        return moxi_fail(ei, MOX_ERR_IDNA, MOX_DOMAIN_ERR_IDNA, off, "%s: %s", what,
                         idn2_strerror(r));
    }
}

/* Validates a lowercase "xn--" label by decoding it and encoding the result
 * again, which must give the same label (RFC 5891 §5.4). Appends the
 * U-label to `u`. */
static int check_alabel(const char *lab, size_t off, mox_buf *u, mox_errinfo *ei)
{
    char *uni = NULL;
    int r = idn2_to_unicode_8z8z(lab, &uni, 0);
    if (r == IDN2_MALLOC)
        return MOX_ERR_NOMEM;
    if (r != IDN2_OK)
        return moxi_fail(ei, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, off,
                         "A-label %s does not decode: %s", lab, idn2_strerror(r));
    size_t ulen = strlen(uni);
    if (!mox_utf8_valid(uni, ulen, NULL) || mox_is_ascii(uni, ulen)) {
        idn2_free(uni);
        return moxi_fail(ei, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, off,
                         "A-label %s does not encode an internationalised label", lab);
    }
    /* RFC 5891 §4.2.3.1 hyphen rules on the U-label, which libidn2 does
     * not apply to what it decoded: no hyphen first or last, no "--" as
     * the third and fourth code points. */
    {
        size_t i = 0, ncp = 0;
        int32_t cp3 = 0, cp4 = 0;
        while (i < ulen) {
            int32_t cp = moxi_text_utf8_next((const unsigned char *)uni, ulen, &i);
            if (++ncp == 3)
                cp3 = cp;
            else if (ncp == 4)
                cp4 = cp;
        }
        if (uni[0] == '-' || uni[ulen - 1] == '-' || (cp3 == '-' && cp4 == '-')) {
            idn2_free(uni);
            return moxi_fail(ei, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, off,
                             "A-label %s decodes to a U-label breaking the hyphen rules", lab);
        }
    }
    /* The U-label itself must be valid IDNA2008, with no mapping: an
     * A-label encoding uppercase or unnormalised text is bogus. */
    char *back = NULL;
    r = idn2_lookup_u8((const uint8_t *)uni, (uint8_t **)&back, IDN2_NO_TR46);
    if (r == IDN2_MALLOC) {
        idn2_free(uni);
        return MOX_ERR_NOMEM;
    }
    if (r != IDN2_OK || strcmp(back, lab) != 0) {
        int rc = moxi_fail(ei, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, off,
                           "A-label %s does not round-trip%s%s", lab, r != IDN2_OK ? ": " : "",
                           r != IDN2_OK ? idn2_strerror(r) : "");
        idn2_free(uni);
        idn2_free(back);
        return rc;
    }
    idn2_free(back);
    int rc = mox_buf_append(u, uni, ulen);
    idn2_free(uni);
    return rc;
}

/* An ASCII label: LDH (plus '_' when lax), hyphen and length rules, then
 * A-label validation for "xn--". Appends to both forms. `mapped` says the
 * label came out of UTS #46 mapping, so offsets point at the label start. */
static int ascii_label(const char *l, size_t n, size_t off, unsigned flags, int mapped,
                       mox_buf *a, mox_buf *u, mox_errinfo *ei)
{
    if (n == 0)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_EMPTY, off, "empty label");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)l[i];
        if (is_ldh(c) || (c == '_' && (flags & MOX_DOMAIN_LAX)))
            continue;
        if (c == '_')
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_LDH, mapped ? off : off + i,
                             "underscore in label (allowed only in lax mode)");
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_LDH, mapped ? off : off + i,
                         "character 0x%02x is not a letter, digit or hyphen", c);
    }
    if (n > MAX_LABEL)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_LABEL_TOO_LONG, off,
                         "label of %zu octets (max %d)", n, MAX_LABEL);
    char lab[MAX_LABEL + 1];
    for (size_t i = 0; i < n; i++)
        lab[i] = (char)moxi_lower((unsigned char)l[i]);
    lab[n] = 0;
    if (lab[0] == '-' || lab[n - 1] == '-')
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_HYPHEN, off,
                         "label starts or ends with a hyphen");
    int rc;
    if (n >= 4 && lab[2] == '-' && lab[3] == '-') {
        if (lab[0] == 'x' && lab[1] == 'n')
            rc = check_alabel(lab, off, u, ei);
        else if (flags & MOX_DOMAIN_LAX)
            /* Reserved R-LDH labels exist in the wild as host names
             * (r4---sn-xyz.googlevideo.com); lax mode, meant for names
             * met in DNS and SMTP, takes them as plain ASCII labels. */
            rc = mox_buf_append(u, lab, n);
        else
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_HYPHEN, off,
                             "label with \"--\" in positions 3 and 4 is reserved");
    } else {
        rc = mox_buf_append(u, lab, n);
    }
    if (rc == MOX_OK)
        rc = mox_buf_append(a, lab, n);
    return rc;
}

/* A label with non-ASCII characters: UTS #46 non-transitional mapping
 * (lowercasing, width folding, NFC) and IDNA2008 validation by libidn2,
 * then the resulting ASCII label goes through the ASCII rules. */
static int unicode_label(const char *l, size_t n, size_t off, mox_buf *a, mox_buf *u,
                         mox_errinfo *ei)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)l[i];
        if (c < 0x80 && !is_ldh(c))
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_LDH, off + i,
                             "character 0x%02x is not a letter, digit or hyphen", c);
    }
    char *z = moxi_strndup(l, n);
    if (!z)
        return MOX_ERR_NOMEM;
    char *out = NULL;
    int r = idn2_lookup_u8((const uint8_t *)z, (uint8_t **)&out,
                           IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL | IDN2_USE_STD3_ASCII_RULES);
    mox_free(z);
    if (r != IDN2_OK)
        return idn2_fail(ei, r, off, "U-label refused");
    int rc = ascii_label(out, strlen(out), off, 0, 1, a, u, ei);
    idn2_free(out);
    return rc;
}

int mox_domain_parse(const char *s, size_t len, unsigned flags, mox_domain *d, mox_errinfo *ei)
{
    if (!d || (len && !s))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid argument");
    d->ascii = d->unicode = NULL;
    const unsigned char *p = (const unsigned char *)s;
    if (len == 0)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_EMPTY, 0, "empty domain name");
    if (len > MAX_INPUT)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_TOO_LONG, MAX_INPUT,
                         "domain name of %zu octets", len);
    size_t bad;
    if (!mox_utf8_valid(s, len, &bad))
        return moxi_fail(ei, MOX_ERR_UTF8, MOX_DOMAIN_ERR_UTF8, bad, "invalid UTF-8");

    /* Find a trailing separator, which only the flag allows. */
    size_t end = len;
    for (size_t k = 1; k <= 3 && k <= len; k++) {
        if (sep_len(p, len, len - k) == k) {
            if (!(flags & MOX_DOMAIN_TRAILING_DOT))
                return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_EMPTY, len - k,
                                 "trailing dot");
            end = len - k;
            break;
        }
    }
    if (end == 0)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_EMPTY, 0,
                         "the root is not a domain name here");

    mox_buf a = MOX_BUF_INIT, u = MOX_BUF_INIT;
    int rc = MOX_OK, rtl = 0;
    size_t start = 0, last_start = 0;
    while (rc == MOX_OK) {
        size_t i = start, sl = 0;
        while (i < end && (sl = sep_len(p, end, i)) == 0)
            i++;
        if (start > 0) {
            rc = mox_buf_append_byte(&a, '.');
            if (rc == MOX_OK)
                rc = mox_buf_append_byte(&u, '.');
            if (rc != MOX_OK)
                break;
        }
        last_start = u.len;
        if (mox_is_ascii(s + start, i - start))
            rc = ascii_label(s + start, i - start, start, flags, 0, &a, &u, ei);
        else
            rc = unicode_label(s + start, i - start, start, &a, &u, ei);
        if (rc == MOX_OK && !rtl)
            rtl = moxi_text_is_rtl_label((const char *)u.data + last_start, u.len - last_start);
        if (i >= end)
            break;
        start = i + sl;
    }
    if (rc == MOX_OK && a.len > MAX_NAME)
        rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_TOO_LONG, SIZE_MAX,
                       "name of %zu octets in ASCII form (max %d)", a.len, MAX_NAME);
    if (rc == MOX_OK) {
        /* RFC 1123 §2.1 / RFC 3696 §2: a top-level label is never all
         * digits, so this is an IP address written without brackets. */
        const char *dot = strrchr((const char *)a.data, '.');
        const char *tld = dot ? dot + 1 : (const char *)a.data;
        size_t k = 0;
        while (tld[k] && moxi_is_digit((unsigned char)tld[k]))
            k++;
        if (tld[k] == 0)
            rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_NUMERIC, SIZE_MAX,
                           "all-numeric top-level label (an IP address needs brackets)");
    }
    if (rc == MOX_OK && rtl) {
        /* RFC 5893: in a name with a right-to-left label, every label must
         * satisfy the Bidi Rule. Underscore labels are service names, not
         * host names, and are exempt. */
        size_t ls = 0;
        for (size_t i = 0; i <= u.len && rc == MOX_OK; i++) {
            if (i < u.len && u.data[i] != '.')
                continue;
            const char *lab = (const char *)u.data + ls;
            if (!memchr(lab, '_', i - ls) && !moxi_text_bidi_rule_ok(lab, i - ls))
                rc = moxi_fail(ei, MOX_ERR_IDNA, MOX_DOMAIN_ERR_BIDI, SIZE_MAX,
                               "label \"%.*s\" breaks the Bidi rule of a right-to-left name",
                               (int)(i - ls), lab);
            ls = i + 1;
        }
    }
    if (rc != MOX_OK) {
        mox_buf_free(&a);
        mox_buf_free(&u);
        return rc;
    }
    d->ascii = mox_buf_steal(&a, NULL);
    d->unicode = mox_buf_steal(&u, NULL);
    if (!d->ascii || !d->unicode) {
        mox_domain_clear(d);
        return MOX_ERR_NOMEM;
    }
    return MOX_OK;
}

void mox_domain_clear(mox_domain *d)
{
    if (!d)
        return;
    mox_free(d->ascii);
    mox_free(d->unicode);
    d->ascii = d->unicode = NULL;
}

int mox_domain_copy(mox_domain *dst, const mox_domain *src)
{
    if (!dst || !src)
        return MOX_ERR_INVAL;
    dst->ascii = dst->unicode = NULL;
    if (src->ascii && !(dst->ascii = moxi_strdup(src->ascii)))
        return MOX_ERR_NOMEM;
    if (src->unicode && !(dst->unicode = moxi_strdup(src->unicode))) {
        mox_domain_clear(dst);
        return MOX_ERR_NOMEM;
    }
    return MOX_OK;
}

int mox_domain_equal(const mox_domain *a, const mox_domain *b)
{
    if (!a || !b || !a->ascii || !b->ascii)
        return a == b || (a && b && !a->ascii && !b->ascii);
    size_t la = strlen(a->ascii), lb = strlen(b->ascii);
    return la == lb && moxi_memcaseeq(a->ascii, b->ascii, la);
}
