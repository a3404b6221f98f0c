/* Fuzzes the text module: mox_domain_parse (both flags), PRECIS
 * OpaqueString, NFC and UTF-8 validation, checking invariants of every
 * result: the two forms of a domain parse back to themselves, enforced
 * PRECIS strings are stable, NFC is idempotent, and UTF-8 validity agrees
 * with utf8proc's decoder. First byte: flags; the rest: the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "mox/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_domain_form(const char *s, unsigned flags, const mox_domain *want)
{
    mox_domain d;
    if (mox_domain_parse(s, strlen(s), flags & MOX_DOMAIN_LAX, &d, NULL) != MOX_OK)
        abort();
    if (strcmp(d.ascii, want->ascii) != 0 || strcmp(d.unicode, want->unicode) != 0)
        abort();
    mox_domain_clear(&d);
}

static void fuzz_domain(const char *in, size_t n, unsigned flags)
{
    mox_domain d;
    mox_errinfo ei;
    int rc = mox_domain_parse(in, n, flags, &d, &ei);
    if (rc != MOX_OK) {
        if ((rc != MOX_ERR_SYNTAX && rc != MOX_ERR_IDNA && rc != MOX_ERR_UTF8) || ei.code != rc ||
            ei.detail < MOX_DOMAIN_ERR_EMPTY || ei.detail > MOX_DOMAIN_ERR_NUMERIC || d.ascii ||
            d.unicode)
            abort();
        return;
    }
    /* ASCII form: lowercase LDH (and '_' when lax), labels 1..63, <= 253. */
    size_t alen = strlen(d.ascii), lab = 0;
    if (alen == 0 || alen > 253)
        abort();
    for (size_t i = 0; i <= alen; i++) {
        char c = d.ascii[i];
        if (c == '.' || c == 0) {
            if (lab == 0 || lab > 63 || d.ascii[i - 1] == '-' || d.ascii[i - lab] == '-')
                abort();
            lab = 0;
            continue;
        }
        lab++;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              (c == '_' && (flags & MOX_DOMAIN_LAX))))
            abort();
    }
    size_t ulen = strlen(d.unicode);
    if (!mox_utf8_valid(d.unicode, ulen, NULL))
        abort();
    char *nfc = NULL;
    if (mox_utf8_nfc(d.unicode, ulen, &nfc, NULL) != MOX_OK || strcmp(nfc, d.unicode) != 0)
        abort();
    mox_free(nfc);
    if (mox_is_ascii(d.unicode, ulen) && strcmp(d.ascii, d.unicode) != 0)
        abort();
    check_domain_form(d.ascii, flags, &d);
    check_domain_form(d.unicode, flags, &d);
    mox_domain_clear(&d);
}

static void fuzz_text(const char *in, size_t n)
{
    /* UTF-8 validity agrees with utf8proc's decoder. */
    int valid = 1;
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)in + i,
                                              (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0) {
            valid = 0;
            break;
        }
        i += (size_t)k;
    }
    if (mox_utf8_valid(in, n, NULL) != valid)
        abort();

    char *a = NULL, *b = NULL;
    size_t alen, blen;
    int rc = mox_utf8_nfc(in, n, &a, &alen);
    if (rc != (valid ? MOX_OK : MOX_ERR_UTF8))
        abort();
    if (rc == MOX_OK) {
        if (mox_utf8_nfc(a, alen, &b, &blen) != MOX_OK || blen != alen || memcmp(a, b, alen) != 0)
            abort();
        mox_free(b);
        mox_free(a);
    }

    mox_errinfo ei;
    rc = mox_precis_opaque(in, n, &a, &alen, &ei);
    if (rc == MOX_OK) {
        if (alen == 0 || !mox_utf8_valid(a, alen, NULL))
            abort();
        if (mox_precis_opaque(a, alen, &b, &blen, NULL) != MOX_OK || blen != alen ||
            memcmp(a, b, alen) != 0)
            abort();
        mox_free(b);
        mox_free(a);
    } else if ((rc != MOX_ERR_PRECIS && rc != MOX_ERR_UTF8) || ei.code != rc || a ||
               (rc == MOX_ERR_UTF8) == valid) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0] & 3;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    fuzz_domain(in, n, flags);
    fuzz_text(in, n);
    return 0;
}
