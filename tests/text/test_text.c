/* Tests of the text module: UTF-8, NFC, PRECIS OpaqueString, IDNA2008
 * domains. Vectors come from the RFCs named next to them and from the
 * Unicode Character Database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moxtest.h"
#include "mox/text.h"

/* ------------------------------------------------------------------ UTF-8 */

static void test_utf8_valid(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t len;
        int ok;
        size_t bad;
    } v[] = {
        {"", 0, 1, 0},
        {"plain ascii", 11, 1, 0},
        {"a\0b", 3, 1, 0},                       /* NUL is a valid code point */
        {"\xc3\xa9t\xc3\xa9", 5, 1, 0},          /* été */
        {"\xe2\x82\xac", 3, 1, 0},               /* U+20AC */
        {"\xf0\x9f\x98\x80", 4, 1, 0},           /* U+1F600 */
        {"\xf4\x8f\xbf\xbf", 4, 1, 0},           /* U+10FFFF */
        {"\xed\x9f\xbf", 3, 1, 0},               /* U+D7FF, below surrogates */
        {"\xee\x80\x80", 3, 1, 0},               /* U+E000, above surrogates */
        {"\xef\xbf\xbf", 3, 1, 0},               /* U+FFFF noncharacter: well-formed */
        {"a\x80", 2, 0, 1},                      /* lone continuation */
        {"\xc0\xaf", 2, 0, 0},                   /* overlong '/' */
        {"\xc1\xbf", 2, 0, 0},                   /* overlong */
        {"\xe0\x80\xaf", 3, 0, 0},               /* overlong 3-byte */
        {"\xe0\x9f\xbf", 3, 0, 0},               /* overlong U+07FF */
        {"\xf0\x80\x80\xaf", 4, 0, 0},           /* overlong 4-byte */
        {"\xf0\x8f\xbf\xbf", 4, 0, 0},           /* overlong U+FFFF */
        {"\xed\xa0\x80", 3, 0, 0},               /* U+D800 surrogate */
        {"\xed\xbf\xbf", 3, 0, 0},               /* U+DFFF surrogate */
        {"\xf4\x90\x80\x80", 4, 0, 0},           /* U+110000 */
        {"\xf5\x80\x80\x80", 4, 0, 0},           /* F5 lead */
        {"\xff", 1, 0, 0},
        {"ab\xc3", 3, 0, 2},                     /* truncated 2-byte */
        {"ab\xe2\x82", 4, 0, 2},                 /* truncated 3-byte */
        {"\xf0\x9f\x98", 3, 0, 0},               /* truncated 4-byte */
        {"\xc3\x28", 2, 0, 0},                   /* bad continuation */
        {"\xe2\x28\xa1", 3, 0, 0},
        {"x\xf0\x9f\x98\x80\xf0\x28\x8c\x28", 9, 0, 5},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t bad = 12345;
        int ok = mox_utf8_valid(v[i].s, v[i].len, &bad);
        if (ok != v[i].ok)
            fail_msg("vector %zu: valid=%d, want %d", i, ok, v[i].ok);
        if (!ok && bad != v[i].bad)
            fail_msg("vector %zu: bad offset %zu, want %zu", i, bad, v[i].bad);
        assert_int_equal(mox_utf8_valid(v[i].s, v[i].len, NULL), v[i].ok);
    }
    /* Every code point round-trips through the validator. */
    for (unsigned long cp = 0; cp <= 0x10FFFF; cp += (cp < 0x3000 ? 1 : 61)) {
        unsigned char b[4];
        size_t n;
        if (cp < 0x80) {
            b[0] = (unsigned char)cp;
            n = 1;
        } else if (cp < 0x800) {
            b[0] = (unsigned char)(0xC0 | (cp >> 6));
            b[1] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 2;
        } else if (cp < 0x10000) {
            b[0] = (unsigned char)(0xE0 | (cp >> 12));
            b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            b[2] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 3;
        } else {
            b[0] = (unsigned char)(0xF0 | (cp >> 18));
            b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            b[3] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 4;
        }
        int want = !(cp >= 0xD800 && cp <= 0xDFFF);
        if (mox_utf8_valid(b, n, NULL) != want)
            fail_msg("U+%04lX: wrong validity", cp);
    }
    size_t bad = 9;
    assert_int_equal(mox_utf8_valid(NULL, 1, &bad), 0);
    assert_int_equal(bad, 0);
    assert_int_equal(mox_utf8_valid(NULL, 0, NULL), 1);
    assert_true(mox_is_ascii("abc\x7f", 4));
    assert_true(mox_is_ascii("", 0));
    assert_false(mox_is_ascii("ab\x80", 3));
}

static void check_nfc(const char *in, const char *want)
{
    char *out = NULL;
    size_t n = 0;
    assert_int_equal(mox_utf8_nfc(in, strlen(in), &out, &n), MOX_OK);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
    mox_free(out);
}

static void test_nfc(void **state)
{
    (void)state;
    check_nfc("", "");
    check_nfc("ascii", "ascii");
    check_nfc("e\xcc\x81", "\xc3\xa9");                     /* e + U+0301 -> é */
    check_nfc("\xc3\xa9", "\xc3\xa9");                      /* already NFC */
    check_nfc("\xe2\x84\xab", "\xc3\x85");                  /* U+212B ANGSTROM -> U+00C5 */
    check_nfc("\xef\xac\x81", "\xef\xac\x81");              /* U+FB01 ligature: compat only */
    check_nfc("\xe1\x84\x80\xe1\x85\xa1", "\xea\xb0\x80");  /* jamo -> U+AC00 */
    /* Canonical reordering: U+0323 (ccc 220) before U+0307 (ccc 230). */
    check_nfc("q\xcc\x87\xcc\xa3", "q\xcc\xa3\xcc\x87");
    /* U+1E0B U+0323 -> U+1E0D U+0307 (NormalizationTest.txt). */
    check_nfc("\xe1\xb8\x8b\xcc\xa3", "\xe1\xb8\x8d\xcc\x87");
    char *out = (char *)1;
    assert_int_equal(mox_utf8_nfc("\xc3", 1, &out, NULL), MOX_ERR_UTF8);
    assert_null(out);
    assert_int_equal(mox_utf8_nfc(NULL, 1, &out, NULL), MOX_ERR_INVAL);
}

/* Parses one field of NormalizationTest.txt ("0044 0307") into UTF-8. */
static size_t nt_field(const char *f, const char *end, char *out)
{
    size_t n = 0;
    while (f < end) {
        char *e;
        unsigned long cp = strtoul(f, &e, 16);
        if (e == f)
            break;
        unsigned char b[4];
        size_t k;
        if (cp < 0x80) {
            b[0] = (unsigned char)cp;
            k = 1;
        } else if (cp < 0x800) {
            b[0] = (unsigned char)(0xC0 | (cp >> 6));
            b[1] = (unsigned char)(0x80 | (cp & 0x3F));
            k = 2;
        } else if (cp < 0x10000) {
            b[0] = (unsigned char)(0xE0 | (cp >> 12));
            b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            b[2] = (unsigned char)(0x80 | (cp & 0x3F));
            k = 3;
        } else {
            b[0] = (unsigned char)(0xF0 | (cp >> 18));
            b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            b[3] = (unsigned char)(0x80 | (cp & 0x3F));
            k = 4;
        }
        memcpy(out + n, b, k);
        n += k;
        f = e;
        while (f < end && *f == ' ')
            f++;
    }
    out[n] = 0;
    return n;
}

/* Unicode's conformance test: c2 == NFC(c1) == NFC(c2) == NFC(c3) and
 * c4 == NFC(c4) == NFC(c5), over a subset of NormalizationTest.txt. */
static void test_nfc_conformance(void **state)
{
    (void)state;
    mox_buf data = MOX_BUF_INIT;
    moxtest_read_data("text/NormalizationTest-subset.txt", &data);
    const char *p = (const char *)data.data, *end = p + data.len;
    size_t lines = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F')) {
            char c[5][256];
            size_t n[5];
            const char *f = p;
            for (int k = 0; k < 5; k++) {
                const char *semi = memchr(f, ';', (size_t)(eol - f));
                assert_non_null(semi);
                n[k] = nt_field(f, semi, c[k]);
                f = semi + 1;
            }
            static const int src[5] = {0, 1, 2, 3, 4}, want[5] = {1, 1, 1, 3, 3};
            for (int k = 0; k < 5; k++) {
                char *out = NULL;
                size_t olen;
                assert_int_equal(mox_utf8_nfc(c[src[k]], n[src[k]], &out, &olen), MOX_OK);
                if (olen != n[want[k]] || memcmp(out, c[want[k]], olen) != 0)
                    fail_msg("NormalizationTest line \"%.*s\": NFC(c%d) != c%d", (int)(eol - p), p,
                             k + 1, want[k] + 1);
                mox_free(out);
            }
            lines++;
        }
        p = eol + 1;
    }
    assert_true(lines > 4000);
    mox_buf_free(&data);
}

/* ------------------------------------------------------------------ PRECIS */

static void precis_ok(const char *in, const char *want)
{
    char *out = NULL;
    size_t n = 0;
    mox_errinfo ei;
    int rc = mox_precis_opaque(in, strlen(in), &out, &n, &ei);
    if (rc != MOX_OK)
        fail_msg("precis refused \"%s\": %s", in, ei.msg);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
    /* Idempotence: enforcing the output again changes nothing. */
    char *again = NULL;
    assert_int_equal(mox_precis_opaque(out, n, &again, NULL, NULL), MOX_OK);
    assert_string_equal(again, out);
    mox_free(again);
    mox_free(out);
}

static void precis_bad(const char *in, size_t len, int want_rc, int want_cp, size_t want_off)
{
    char *out = (char *)1;
    mox_errinfo ei;
    int rc = mox_precis_opaque(in, len, &out, NULL, &ei);
    if (rc != want_rc)
        fail_msg("precis \"%.*s\": got %d (%s), want %d", (int)len, in, rc, ei.msg, want_rc);
    assert_null(out);
    assert_int_equal(ei.code, want_rc);
    if (want_rc == MOX_ERR_PRECIS) {
        if (ei.detail != want_cp)
            fail_msg("precis \"%.*s\": detail U+%04X, want U+%04X (%s)", (int)len, in,
                     (unsigned)ei.detail, (unsigned)want_cp, ei.msg);
        if (ei.offset != want_off)
            fail_msg("precis \"%.*s\": offset %zu, want %zu", (int)len, in, ei.offset, want_off);
    }
}

#define BAD(s, cp, off) precis_bad(s, sizeof(s) - 1, MOX_ERR_PRECIS, cp, off)

static void test_precis(void **state)
{
    (void)state;
    /* RFC 8265 §4.2.3 examples. */
    precis_ok("correct horse battery staple", "correct horse battery staple");
    precis_ok("Correct Horse Battery Staple", "Correct Horse Battery Staple");
    precis_ok("\xcf\x80\xc3\x9f\xc3\xa5", "\xcf\x80\xc3\x9f\xc3\xa5");    /* πßå */
    precis_ok("Jack of \xe2\x99\xa6s", "Jack of \xe2\x99\xa6s");          /* Jack of ♦s */
    precis_ok("foo\xe1\x9a\x80" "bar", "foo bar");                        /* U+1680 OGHAM SPACE */
    precis_bad("my cat is a \x09" "by", 14, MOX_ERR_PRECIS, 0x09, 12);       /* TAB */

    /* Additional mapping: every non-ASCII Zs becomes U+0020. */
    precis_ok("a\xc2\xa0" "b", "a b");                                    /* U+00A0 */
    precis_ok("a\xe2\x80\x80" "b", "a b");                                /* U+2000 */
    precis_ok("a\xe3\x80\x80" "b", "a b");                                /* U+3000 */
    precis_ok("\xe2\x80\xaf", " ");                                       /* U+202F alone */
    precis_ok(" ", " ");                                                  /* ASCII space: Spaces */
    /* Width mapping none, case mapping none. */
    precis_ok("\xef\xbc\xa1", "\xef\xbc\xa1");                            /* fullwidth A stays */
    precis_ok("ABC", "ABC");
    /* NFC. */
    precis_ok("e\xcc\x81", "\xc3\xa9");
    precis_ok("\xe2\x84\xab", "\xc3\x85");                                /* U+212B -> U+00C5 */
    /* HasCompat (FREE_PVAL in FreeformClass). */
    precis_ok("\xef\xac\x81", "\xef\xac\x81");                            /* U+FB01 fi */
    precis_ok("\xe2\x85\xa3", "\xe2\x85\xa3");                            /* U+2163 ROMAN IV */
    precis_ok("\xc2\xbd", "\xc2\xbd");                                    /* U+00BD ½ */
    precis_ok("\xf0\x9d\x90\x80", "\xf0\x9d\x90\x80");                    /* U+1D400 math bold A */
    /* LetterDigits, OtherLetterDigits, Symbols, Punctuation. */
    precis_ok("\xd0\x96\xd9\xa1\xe0\xa4\x95\xe0\xa4\xbf", "\xd0\x96\xd9\xa1\xe0\xa4\x95\xe0\xa4\xbf");
    precis_ok("\xc7\x85", "\xc7\x85");                                    /* U+01C5 Lt (compat) */
    precis_ok("\xe1\x9b\xae", "\xe1\x9b\xae");                            /* U+16EE Nl */
    precis_ok("\xe2\x82\xac\xc2\xa7\xe2\x80\xbd!", "\xe2\x82\xac\xc2\xa7\xe2\x80\xbd!");
    precis_ok("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");                    /* emoji So */
    /* Exceptions: PVALID. */
    precis_ok("\xc3\x9f\xcf\x82\xe3\x80\x87", "\xc3\x9f\xcf\x82\xe3\x80\x87");

    /* Refusals, one per rule. */
    precis_bad("", 0, MOX_ERR_PRECIS, 0, 0);                              /* empty */
    BAD("a\xe2\x80\x8d" "b", 0x200D, 1);                                  /* ZWJ alone */
    BAD("\xe2\x80\x8c", 0x200C, 0);                                       /* ZWNJ alone */
    BAD("a\xe2\x80\x8c" "b", 0x200C, 1);                                  /* ZWNJ between Latin */
    BAD("x\xef\xb7\x90", 0xFDD0, 1);                                      /* noncharacter */
    BAD("\xef\xbf\xbe", 0xFFFE, 0);                                       /* noncharacter */
    BAD("\xf0\x9f\xbf\xbf", 0x1FFFF, 0);                                  /* plane-1 noncharacter */
    BAD("\xcd\xb8", 0x0378, 0);                                           /* unassigned */
    BAD("ab\xf3\xa0\x80\x80", 0xE0000, 2);                                /* unassigned plane 14 */
    BAD("\xe1\x85\xa0", 0x1160, 0);                                       /* old Hangul jamo (V) */
    BAD("\xe1\x84\x80", 0x1100, 0);                                       /* old Hangul jamo (L) */
    BAD("\xea\xa5\xa0", 0xA960, 0);                                       /* jamo extended-A */
    BAD("a\x01", 0x01, 1);                                                /* C0 control */
    BAD("a\x7f", 0x7F, 1);                                                /* DEL */
    BAD("\xc2\x85", 0x85, 0);                                             /* C1 control */
    precis_bad("a\0b", 3, MOX_ERR_PRECIS, 0, 1);                          /* NUL */
    BAD("\xc2\xad", 0xAD, 0);                                             /* soft hyphen: ignorable */
    BAD("a\xe2\x80\x8b", 0x200B, 1);                                      /* ZWSP: ignorable */
    BAD("\xef\xb8\x8f", 0xFE0F, 0);                                       /* variation selector */
    BAD("\xe2\x80\xa8", 0x2028, 0);                                       /* Zl */
    BAD("\xe2\x80\xa9", 0x2029, 0);                                       /* Zp */
    BAD("\xee\x80\x80", 0xE000, 0);                                       /* private use */
    BAD("\xd8\x80", 0x0600, 0);                                           /* Cf not ignorable */
    BAD("\xd9\x80", 0x0640, 0);                                           /* exception DISALLOWED */
    BAD("\xe3\x80\xae", 0x302E, 0);                                       /* exception DISALLOWED */
    /* Contextual rules (RFC 5892 Appendix A). */
    precis_ok("\xe0\xa4\x95\xe0\xa5\x8d\xe2\x80\x8d", "\xe0\xa4\x95\xe0\xa5\x8d\xe2\x80\x8d"); /* virama+ZWJ */
    precis_ok("\xe0\xa4\x95\xe0\xa5\x8d\xe2\x80\x8c", "\xe0\xa4\x95\xe0\xa5\x8d\xe2\x80\x8c"); /* virama+ZWNJ */
    /* ZWNJ between a dual-joining BEH and a right-joining ALEF, with a
     * transparent FATHA in between. */
    precis_ok("\xd8\xa8\xd9\x8e\xe2\x80\x8c\xd8\xa7", "\xd8\xa8\xd9\x8e\xe2\x80\x8c\xd8\xa7");
    BAD("\xd8\xa7\xe2\x80\x8c\xd8\xa8", 0x200C, 2);                       /* ALEF is R, not L/D */
    BAD("\xd8\xa8\xe2\x80\x8c", 0x200C, 2);                               /* nothing after */
    precis_ok("l\xc2\xb7l", "l\xc2\xb7l");                                /* middle dot */
    BAD("a\xc2\xb7l", 0xB7, 1);
    BAD("l\xc2\xb7", 0xB7, 1);
    precis_ok("\xcd\xb5\xce\xb1", "\xcd\xb5\xce\xb1");                    /* keraia + alpha */
    BAD("\xcd\xb5" "a", 0x375, 0);
    precis_ok("\xd7\x90\xd7\xb3", "\xd7\x90\xd7\xb3");                    /* alef + geresh */
    precis_ok("\xd7\x90\xd7\xb4", "\xd7\x90\xd7\xb4");
    BAD("a\xd7\xb3", 0x5F3, 1);
    BAD("\xd7\xb4", 0x5F4, 0);
    precis_ok("\xe3\x82\xa2\xe3\x83\xbb", "\xe3\x82\xa2\xe3\x83\xbb");    /* katakana + middle dot */
    precis_ok("\xe3\x83\xbb\xe6\xbc\xa2", "\xe3\x83\xbb\xe6\xbc\xa2");    /* with Han */
    BAD("a\xe3\x83\xbb", 0x30FB, 1);
    precis_ok("\xe2\xba\x80\xe3\x83\xbb", "\xe2\xba\x80\xe3\x83\xbb");    /* U+2E80 (Han radical) */
    precis_ok("\xe3\x83\xbb\xe3\x83\xbb\xe3\x81\x82", "\xe3\x83\xbb\xe3\x83\xbb\xe3\x81\x82");
    precis_ok("\xd9\xa1\xd9\xa2", "\xd9\xa1\xd9\xa2");                    /* Arabic-Indic digits */
    precis_ok("\xdb\xb1\xdb\xb2", "\xdb\xb1\xdb\xb2");                    /* extended */
    BAD("\xd9\xa1\xdb\xb2", 0x661, 0);                                    /* mixed */
    /* Offsets count bytes of the input, past mapped spaces. */
    BAD("\xc2\xa0\xc2\xa0\x02", 0x02, 4);

    precis_bad("ab\xc3", 3, MOX_ERR_UTF8, 0, 0);
    precis_bad("\xed\xa0\x80", 3, MOX_ERR_UTF8, 0, 0);
    char *out;
    assert_int_equal(mox_precis_opaque(NULL, 2, &out, NULL, NULL), MOX_ERR_INVAL);
}

/* ------------------------------------------------------------------ domains */

static void dom_ok(const char *in, unsigned flags, const char *ascii, const char *unicode)
{
    mox_domain d = {(char *)1, (char *)1};
    mox_errinfo ei;
    int rc = mox_domain_parse(in, strlen(in), flags, &d, &ei);
    if (rc != MOX_OK)
        fail_msg("domain \"%s\" refused: %s", in, ei.msg);
    if (strcmp(d.ascii, ascii) != 0 || strcmp(d.unicode, unicode) != 0)
        fail_msg("domain \"%s\": got %s / %s, want %s / %s", in, d.ascii, d.unicode, ascii, unicode);
    /* Both forms parse again to the same domain. */
    mox_domain e;
    assert_int_equal(mox_domain_parse(d.ascii, strlen(d.ascii), flags & MOX_DOMAIN_LAX, &e, NULL), MOX_OK);
    assert_string_equal(e.ascii, d.ascii);
    assert_string_equal(e.unicode, d.unicode);
    assert_true(mox_domain_equal(&d, &e));
    mox_domain_clear(&e);
    assert_int_equal(mox_domain_parse(d.unicode, strlen(d.unicode), flags & MOX_DOMAIN_LAX, &e, NULL), MOX_OK);
    assert_string_equal(e.ascii, d.ascii);
    assert_string_equal(e.unicode, d.unicode);
    mox_domain_clear(&e);
    mox_domain_clear(&d);
    assert_null(d.ascii);
}

static void dom_bad_n(const char *in, size_t len, unsigned flags, int want_rc, int detail, size_t off)
{
    mox_domain d = {(char *)1, (char *)1};
    mox_errinfo ei;
    int rc = mox_domain_parse(in, len, flags, &d, &ei);
    if (rc != want_rc || ei.detail != detail)
        fail_msg("domain \"%.*s\": got %d/%d (%s), want %d/%d", (int)len, in, rc, ei.detail,
                 rc ? ei.msg : d.ascii, want_rc, detail);
    if (off != (size_t)-2 && ei.offset != off)
        fail_msg("domain \"%.*s\": offset %zu, want %zu", (int)len, in, ei.offset, off);
    assert_null(d.ascii);
    assert_null(d.unicode);
}

#define DBAD(s, fl, rc, det, off) dom_bad_n(s, strlen(s), fl, rc, det, off)
#define ANY ((size_t)-2)

static void test_domain_ascii(void **state)
{
    (void)state;
    dom_ok("example.com", 0, "example.com", "example.com");
    dom_ok("EXAMPLE.Com", 0, "example.com", "example.com");
    dom_ok("localhost", 0, "localhost", "localhost");
    dom_ok("a", 0, "a", "a");
    dom_ok("a-b.c-d.e", 0, "a-b.c-d.e", "a-b.c-d.e");
    dom_ok("3com.com", 0, "3com.com", "3com.com");
    dom_ok("1.2.3.example", 0, "1.2.3.example", "1.2.3.example");
    dom_ok("example.com.", MOX_DOMAIN_TRAILING_DOT, "example.com", "example.com");
    dom_ok("_dmarc.example.com", MOX_DOMAIN_LAX, "_dmarc.example.com", "_dmarc.example.com");
    dom_ok("sel_1._domainkey.Example.com", MOX_DOMAIN_LAX, "sel_1._domainkey.example.com",
           "sel_1._domainkey.example.com");
    dom_ok("_25._tcp.mx.example", MOX_DOMAIN_LAX, "_25._tcp.mx.example", "_25._tcp.mx.example");
    dom_ok("4.3.2.1.in-addr.arpa", 0, "4.3.2.1.in-addr.arpa", "4.3.2.1.in-addr.arpa");

    DBAD("", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_EMPTY, 0);
    DBAD(".", MOX_DOMAIN_TRAILING_DOT, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_EMPTY, 0);
    DBAD(".", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_EMPTY, 0);
    DBAD("example.com.", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_EMPTY, 11);
    DBAD("example.com..", MOX_DOMAIN_TRAILING_DOT, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_EMPTY, 12);
    DBAD("a..b", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_EMPTY, 2);
    DBAD(".a", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_EMPTY, 0);
    DBAD("exa mple.com", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_LDH, 3);
    DBAD("a@b.com", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_LDH, 1);
    DBAD("a_b.com", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_LDH, 1);
    DBAD("_dmarc.example.com", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_LDH, 0);
    DBAD("a/b", MOX_DOMAIN_LAX, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_LDH, 1);
    dom_bad_n("a\0b.com", 7, 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_LDH, 1);
    DBAD("-a.com", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_HYPHEN, 0);
    DBAD("a.b-.com", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_HYPHEN, 2);
    DBAD("-", MOX_DOMAIN_LAX, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_HYPHEN, 0);
    DBAD("ab--cd.com", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_HYPHEN, 0);
    dom_ok("r4---sn-ab5l6n7s.googlevideo.com", MOX_DOMAIN_LAX,
           "r4---sn-ab5l6n7s.googlevideo.com", "r4---sn-ab5l6n7s.googlevideo.com");
    DBAD("xn--ab-cd.com", MOX_DOMAIN_LAX, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, 0);
    DBAD("1.2.3.4", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_NUMERIC, ANY);
    DBAD("example.123", MOX_DOMAIN_LAX, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_NUMERIC, ANY);
    DBAD("1", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_NUMERIC, ANY);

    /* Lengths: label 63 ok, 64 not; name 253 ok, 254 not. */
    char buf[1100];
    memset(buf, 'a', 63);
    strcpy(buf + 63, ".com");
    dom_ok(buf, 0, buf, buf);
    memset(buf, 'a', 64);
    strcpy(buf + 64, ".com");
    DBAD(buf, 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_LABEL_TOO_LONG, 0);
    /* 4 labels of 63 = 252 + 3 dots = 255: too long; make it 253. */
    size_t p = 0;
    for (int i = 0; i < 4; i++) {
        size_t n = i < 3 ? 63 : 61;
        memset(buf + p, 'b', n);
        p += n;
        buf[p++] = '.';
    }
    buf[--p] = 0;
    assert_int_equal(strlen(buf), 253);
    dom_ok(buf, 0, buf, buf);
    buf[p] = 'c';
    buf[p + 1] = 0;
    DBAD(buf, 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_TOO_LONG, ANY);
    memset(buf, 'a', 1030);
    buf[1030] = 0;
    DBAD(buf, 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_TOO_LONG, ANY);

    mox_domain d;
    assert_int_equal(mox_domain_parse(NULL, 3, 0, &d, NULL), MOX_ERR_INVAL);
    assert_int_equal(mox_domain_parse("a", 1, 0, NULL, NULL), MOX_ERR_INVAL);
}

static void test_domain_idna(void **state)
{
    (void)state;
    /* U-labels and A-labels. */
    dom_ok("b\xc3\xbc" "cher.example", 0, "xn--bcher-kva.example", "b\xc3\xbc" "cher.example");
    dom_ok("xn--bcher-kva.example", 0, "xn--bcher-kva.example", "b\xc3\xbc" "cher.example");
    dom_ok("XN--BCHER-KVA.Example", 0, "xn--bcher-kva.example", "b\xc3\xbc" "cher.example");
    /* UTS #46 mapping: uppercase, NFD input, fullwidth, ideographic dot. */
    dom_ok("B\xc3\x9c" "CHER.example", 0, "xn--bcher-kva.example", "b\xc3\xbc" "cher.example");
    dom_ok("bu\xcc\x88" "cher.example", 0, "xn--bcher-kva.example", "b\xc3\xbc" "cher.example");
    dom_ok("\xef\xbd\x85\xef\xbd\x98.com", 0, "ex.com", "ex.com");                 /* fullwidth ex */
    dom_ok("b\xc3\xbc" "cher\xe3\x80\x82" "example", 0, "xn--bcher-kva.example",
           "b\xc3\xbc" "cher.example");
    /* Non-transitional: ß and ς are kept (RFC 5892 exceptions). */
    dom_ok("fa\xc3\x9f.de", 0, "xn--fa-hia.de", "fa\xc3\x9f.de");
    dom_ok("\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88", 0,
           "xn--r8jz45g.xn--zckzah", "\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88");
    /* Well-known IDN vectors (libidn's example, ccTLD IDNs). */
    dom_ok("r\xc3\xa4ksm\xc3\xb6rg\xc3\xa5s.josefsson.org", 0, "xn--rksmrgs-5wao1o.josefsson.org",
           "r\xc3\xa4ksm\xc3\xb6rg\xc3\xa5s.josefsson.org");
    dom_ok("\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84", 0, "xn--e1afmkfd.xn--p1ai",
           "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84");
    /* Greek capitals with tonos map to the lowercase U-label. */
    dom_ok("\xce\x95\xce\x9b\xce\x9b\xce\x97\xce\x9d\xce\x99\xce\x9a\xce\x86.gr", 0, "xn--hxargifdar.gr",
           "\xce\xb5\xce\xbb\xce\xbb\xce\xb7\xce\xbd\xce\xb9\xce\xba\xce\xac.gr");
    dom_ok("xn--fsq.com", 0, "xn--fsq.com", "\xe4\xbe\x8b.com");
    dom_ok("FASS.de", 0, "fass.de", "fass.de");
    /* A U-label whose A-label is longer than 63 octets. */
    {
        char l[100];
        memset(l, 'a', 60);
        strcpy(l + 60, "\xc3\xbc.com");
        DBAD(l, 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_LABEL_TOO_LONG, 0);
    }
    /* Punycode that overflows while decoding. */
    DBAD("xn--99999999999a.com", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, 0);
    /* Arabic-Indic digits (AN) in an RTL label; mixed with EN: rule 4. */
    dom_ok("\xd9\x85\xd8\xab\xd8\xa7\xd9\x84\xd9\xa1.example", 0, "xn--mgbh0fb7l.example",
           "\xd9\x85\xd8\xab\xd8\xa7\xd9\x84\xd9\xa1.example");
    DBAD("\xd9\x85\xd8\xab\xd8\xa7\xd9\x84\xd9\xa1" "1.example", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_BIDI, ANY);
    /* Right-to-left names (RFC 5893). */
    dom_ok("\xd9\x85\xd8\xab\xd8\xa7\xd9\x84.example", 0, "xn--mgbh0fb.example",
           "\xd9\x85\xd8\xab\xd8\xa7\xd9\x84.example");

    /* Bogus A-labels. */
    DBAD("xn--.example", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_HYPHEN, 0);
    DBAD("xn--abc-.example", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_HYPHEN, 0);
    DBAD("xn--ls8h.example", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, 0);      /* U+1F4A9: DISALLOWED */
    DBAD("xn--a.example", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, 0);
    DBAD("xn--zz-zzzzzzzzz.example", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, 0);
    dom_ok("a.xn--Bcher-KVA", 0, "a.xn--bcher-kva", "a.b\xc3\xbc" "cher"); /* ASCII case folds */
    DBAD("xn--bcher-kva-", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_HYPHEN, 0);
    /* Punycode of "b\u00dccher" (uppercase U-umlaut: DISALLOWED), of an NFD
     * "u\u0308cher" (not NFC), of "a\u200db" (ZWJ without virama). */
    DBAD("xn--bcher-2pa.example", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, 0);
    DBAD("xn--ucher-egd.example", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, 0);
    DBAD("x.xn--ab-m1t", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, 2);
    /* Hyphen rules on the decoded U-label (found by fuzzing: libidn2
     * decodes these without complaint): "-\u00e9abc", "\u00e9abc-",
     * "ab--\u00e9", "a\u00e9--b"; a leading combining mark "\u0301abc". */
    DBAD("xn---abc-bpa.example", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, 0);
    DBAD("xn--abc--9oa.example", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, 0);
    DBAD("xn--ab---epa.example", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, 0);
    DBAD("xn--a--b-bpa.example", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, 0);
    DBAD("xn--etlsn--etlsxamlsxaxl--etlsnle", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, 0);
    DBAD("xn--abc-jdc.example", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_ALABEL, 0);
    dom_ok("xn--a--b-ssa.example", 0, "xn--a--b-ssa.example", "a--\xc4\x81" "b.example");
    dom_ok("xn--bcher-jua.example", 0, "xn--bcher-jua.example", "b\xc3\xb6" "cher.example");
    /* Non-ASCII refused by IDNA2008 / UTS #46. */
    DBAD("a\xe2\x98\x83" "b.example", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_IDNA, 0);          /* snowman */
    DBAD("ex.\xcd\xb8", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_IDNA, 3);                         /* U+0378 */
    DBAD("\xe2\x80\x8d" "a.example", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_IDNA, 0);            /* ZWJ */
    DBAD("b\xc3\xbc" "cher!.example", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_LDH, 7);
    DBAD("b\xc3\xbc_cher.example", MOX_DOMAIN_LAX, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_LDH, 3);
    DBAD("-b\xc3\xbc" "cher.example", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_IDNA, 0);
    /* Bidi: an LTR label starting with a digit in an RTL name. */
    DBAD("1a.\xd9\x85\xd8\xab\xd8\xa7\xd9\x84", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_BIDI, ANY);
    /* Bidi inside a label (Hebrew then Latin), caught by libidn2. */
    DBAD("\xd7\x90" "a.example", 0, MOX_ERR_IDNA, MOX_DOMAIN_ERR_BIDI, 0);
    DBAD("b\xc3\xbc" "cher.\xc3", 0, MOX_ERR_UTF8, MOX_DOMAIN_ERR_UTF8, 8);
    /* A label that maps to nothing at all. */
    DBAD("a.\xc2\xad.com", 0, MOX_ERR_SYNTAX, MOX_DOMAIN_ERR_EMPTY, 2);
}

static void test_domain_copy_equal(void **state)
{
    (void)state;
    mox_domain a, b, c;
    assert_int_equal(mox_domain_parse("B\xc3\xbc" "cher.Example", 14, 0, &a, NULL), MOX_OK);
    assert_int_equal(mox_domain_copy(&b, &a), MOX_OK);
    assert_string_equal(b.ascii, a.ascii);
    assert_string_equal(b.unicode, a.unicode);
    assert_ptr_not_equal(b.ascii, a.ascii);
    assert_true(mox_domain_equal(&a, &b));
    assert_int_equal(mox_domain_parse("other.example", 13, 0, &c, NULL), MOX_OK);
    assert_false(mox_domain_equal(&a, &c));
    mox_domain_clear(&a);
    mox_domain_clear(&b);
    mox_domain_clear(&c);
    mox_domain_clear(NULL);
}

/* ------------------------------------------------------------------ alloc */

static int sweep_text(void *arg)
{
    (void)arg;
    char *o = NULL;
    int rc = mox_utf8_nfc("e\xcc\x81t\xc3\xa9", 6, &o, NULL);
    if (rc != MOX_OK)
        return rc;
    mox_free(o);
    rc = mox_precis_opaque("p\xc2\xa0ss\xe2\x84\xab", 9, &o, NULL, NULL);
    if (rc != MOX_OK)
        return rc;
    mox_free(o);
    mox_domain d, e;
    rc = mox_domain_parse("B\xc3\xbc" "cher.xn--r8jz45g.Example", 24, 0, &d, NULL);
    if (rc != MOX_OK)
        return rc;
    rc = mox_domain_copy(&e, &d);
    mox_domain_clear(&d);
    mox_domain_clear(&e);
    return rc;
}

static void test_alloc_sweep(void **state)
{
    (void)state;
    unsigned long n = moxtest_alloc_sweep(sweep_text, NULL, "text");
    assert_true(n >= 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_nfc),
        cmocka_unit_test(test_nfc_conformance),
        cmocka_unit_test(test_precis),
        cmocka_unit_test(test_domain_ascii),
        cmocka_unit_test(test_domain_idna),
        cmocka_unit_test(test_domain_copy_equal),
        cmocka_unit_test(test_alloc_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
