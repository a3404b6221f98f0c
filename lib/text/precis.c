/*
 * PRECIS FreeformClass (RFC 8264 §4.3, derived property of §8/§9) and the
 * OpaqueString profile (RFC 8265 §4.2), for passwords.
 *
 * The derived property needs General_Category, Default_Ignorable_Code_Point,
 * canonical combining class and compatibility decompositions (from
 * utf8proc) and, for the contextual rules of RFC 5892 Appendix A, Script,
 * Joining_Type and Hangul_Syllable_Type (from precis_tables.h, generated
 * from the Unicode Character Database by gen_tables.py).
 */
#include <string.h>

#include <utf8proc.h>

#include "core/core_priv.h"
#include "text/text_priv.h"
#include "text/precis_tables.h"

#define IN(tab, cp) moxi_text_in_ranges(tab, MOX_ARRAY_LEN(tab), cp)

enum precis_prop {
    PROP_PVALID,      /* PVALID, or FREE_PVAL (valid in FreeformClass) */
    PROP_CONTEXTJ,
    PROP_CONTEXTO,
    PROP_DISALLOWED,
    PROP_UNASSIGNED
};

static int is_noncharacter(int32_t cp)
{
    return (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
}

/* HasCompat (RFC 8264 §9.17): toNFKC(cp) != cp. */
static int has_compat(int32_t cp)
{
    const utf8proc_property_t *p = utf8proc_get_property(cp);
    /* Without any decomposition, NFKC is the identity (Hangul syllables
     * decompose algorithmically but recompose to themselves). */
    if (p->decomp_seqindex == UINT16_MAX)
        return 0;
    unsigned char u[4];
    size_t ulen = moxi_text_utf8_put(cp, u);
    /* The longest full decomposition in Unicode is 18 code points. */
    utf8proc_int32_t buf[32];
    const utf8proc_option_t opt = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    utf8proc_ssize_t n = utf8proc_decompose(u, (utf8proc_ssize_t)ulen, buf, 32, opt);
    if (n < 0 || n > 32)
        return 1; /* cannot happen; a mapping to something long is "compat" */
    n = utf8proc_normalize_utf32(buf, n, opt);
    return !(n == 1 && buf[0] == cp);
}

/* The FreeformClass derived property (RFC 8264 §8), in the order the RFC
 * evaluates the categories. `why` names the deciding rule for messages. */
static enum precis_prop freeform_property(int32_t cp, const char **why)
{
    /* Exceptions (RFC 5892 §2.6). */
    switch (cp) {
    case 0x00DF: case 0x03C2: case 0x06FD: case 0x06FE: case 0x0F0B: case 0x3007:
        *why = "exception";
        return PROP_PVALID;
    case 0x00B7: case 0x0375: case 0x05F3: case 0x05F4: case 0x30FB:
        *why = "exception (contextual rule)";
        return PROP_CONTEXTO;
    case 0x0640: case 0x07FA: case 0x302E: case 0x302F: case 0x3031: case 0x3032:
    case 0x3033: case 0x3034: case 0x3035: case 0x303B:
        *why = "exception (disallowed)";
        return PROP_DISALLOWED;
    default:
        break;
    }
    if ((cp >= 0x0660 && cp <= 0x0669) || (cp >= 0x06F0 && cp <= 0x06F9)) {
        *why = "exception (contextual rule)";
        return PROP_CONTEXTO;
    }
    /* BackwardCompatible (§9.7) is empty. */
    const utf8proc_property_t *p = utf8proc_get_property(cp);
    utf8proc_category_t cat = (utf8proc_category_t)p->category;
    if (cat == UTF8PROC_CATEGORY_CN && !is_noncharacter(cp)) {
        *why = "unassigned";
        return PROP_UNASSIGNED;
    }
    if (cp >= 0x21 && cp <= 0x7E) {
        *why = "ASCII7";
        return PROP_PVALID;
    }
    if (cp == 0x200C || cp == 0x200D) {
        *why = "join control";
        return PROP_CONTEXTJ;
    }
    if (IN(moxi_old_hangul_jamo, cp)) {
        *why = "old Hangul jamo";
        return PROP_DISALLOWED;
    }
    if (is_noncharacter(cp)) {
        *why = "noncharacter";
        return PROP_DISALLOWED;
    }
    if (p->ignorable) {
        *why = "default ignorable";
        return PROP_DISALLOWED;
    }
    if (cat == UTF8PROC_CATEGORY_CC) {
        *why = "control";
        return PROP_DISALLOWED;
    }
    if (has_compat(cp)) {
        *why = "compatibility equivalent";
        return PROP_PVALID; /* FREE_PVAL */
    }
    switch (cat) {
    case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
        *why = "letter or digit";
        return PROP_PVALID;
    case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
    case UTF8PROC_CATEGORY_ME:
        *why = "other letter or digit";
        return PROP_PVALID; /* FREE_PVAL */
    case UTF8PROC_CATEGORY_ZS:
        *why = "space";
        return PROP_PVALID;
    case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC: case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
        *why = "symbol";
        return PROP_PVALID;
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        *why = "punctuation";
        return PROP_PVALID;
    default:
        /* Zl, Zp, Cf (not ignorable), Co (private use), Cs. */
        *why = "not in any allowed category";
        return PROP_DISALLOWED;
    }
}

/* Joining_Type as RFC 5892 Appendix A.1 uses it. */
enum joining { J_U, J_L, J_D, J_R, J_T };

static enum joining joining_type(int32_t cp)
{
    if (IN(moxi_joining_u, cp))
        return J_U;
    if (IN(moxi_joining_l, cp))
        return J_L;
    if (IN(moxi_joining_d, cp))
        return J_D;
    if (IN(moxi_joining_r, cp))
        return J_R;
    if (IN(moxi_joining_t, cp))
        return J_T;
    /* ArabicShaping.txt: unlisted Mn, Me and Cf are transparent. */
    utf8proc_category_t c = utf8proc_category(cp);
    if (c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_ME || c == UTF8PROC_CATEGORY_CF)
        return J_T;
    return J_U;
}

#define VIRAMA 9 /* Canonical_Combining_Class of viramas */

/* RFC 5892 Appendix A, with the whole string as the context. */
/* Facts about the whole string that the "for all characters" rules need,
 * computed once so that many contextual code points stay linear. */
struct whole {
    int hira_kata_han; /* a Hiragana, Katakana or Han code point */
    int arabic_indic;  /* U+0660..U+0669 */
    int ext_arabic;    /* U+06F0..U+06F9 */
};

static void whole_scan(const int32_t *cps, size_t n, struct whole *w)
{
    memset(w, 0, sizeof *w);
    for (size_t k = 0; k < n; k++) {
        if (cps[k] >= 0x0660 && cps[k] <= 0x0669)
            w->arabic_indic = 1;
        else if (cps[k] >= 0x06F0 && cps[k] <= 0x06F9)
            w->ext_arabic = 1;
        else if (IN(moxi_script_hira_kata_han, cps[k]))
            w->hira_kata_han = 1;
    }
}

static int context_ok(const int32_t *cps, size_t n, size_t i, const struct whole *w)
{
    int32_t cp = cps[i];
    int32_t before = i > 0 ? cps[i - 1] : -1;
    int32_t after = i + 1 < n ? cps[i + 1] : -1;
    switch (cp) {
    case 0x200C: /* ZERO WIDTH NON-JOINER, A.1 */
        if (before >= 0 && utf8proc_get_property(before)->combining_class == VIRAMA)
            return 1;
        {
            size_t k = i;
            enum joining j = J_T;
            while (k > 0 && (j = joining_type(cps[k - 1])) == J_T)
                k--;
            if (k == 0 || (j != J_L && j != J_D))
                return 0;
            k = i + 1;
            j = J_T;
            while (k < n && (j = joining_type(cps[k])) == J_T)
                k++;
            return k < n && (j == J_R || j == J_D);
        }
    case 0x200D: /* ZERO WIDTH JOINER, A.2 */
        return before >= 0 && utf8proc_get_property(before)->combining_class == VIRAMA;
    case 0x00B7: /* MIDDLE DOT, A.3 */
        return before == 0x6C && after == 0x6C;
    case 0x0375: /* GREEK LOWER NUMERAL SIGN, A.4 */
        return after >= 0 && IN(moxi_script_greek, after);
    case 0x05F3: /* HEBREW PUNCTUATION GERESH, A.5 */
    case 0x05F4: /* GERSHAYIM, A.6 */
        return before >= 0 && IN(moxi_script_hebrew, before);
    case 0x30FB: /* KATAKANA MIDDLE DOT, A.7 */
        return w->hira_kata_han;
    default:
        if (cp >= 0x0660 && cp <= 0x0669) /* A.8 */
            return !w->ext_arabic;
        if (cp >= 0x06F0 && cp <= 0x06F9) /* A.9 */
            return !w->arabic_indic;
        return 0; /* a contextual code point without a rule is refused */
    }
}

/* Offset of the first occurrence of cp in the (valid UTF-8) input, to
 * point the caller at the culprit; SIZE_MAX when normalisation created it. */
static size_t find_cp(const char *s, size_t len, int32_t cp)
{
    size_t i = 0;
    while (i < len) {
        size_t at = i;
        if (moxi_text_utf8_next((const unsigned char *)s, len, &i) == cp)
            return at;
    }
    return SIZE_MAX;
}

int mox_precis_opaque(const char *s, size_t len, char **out, size_t *out_len, mox_errinfo *ei)
{
    if (!out || (len && !s))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid argument");
    *out = NULL;
    if (out_len)
        *out_len = 0;
    size_t bad;
    if (!mox_utf8_valid(s, len, &bad))
        return moxi_fail(ei, MOX_ERR_UTF8, 0, bad, "invalid UTF-8 at offset %zu", bad);

    /* Additional mapping rule (RFC 8265 §4.2.1): non-ASCII spaces (Zs) to
     * U+0020. Mapping only shrinks the string. */
    char *mapped = mox_malloc(len + 1);
    if (!mapped)
        return MOX_ERR_NOMEM;
    size_t mlen = 0;
    for (size_t i = 0; i < len;) {
        size_t at = i;
        int32_t cp = moxi_text_utf8_next((const unsigned char *)s, len, &i);
        if (cp >= 0x80 && utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS) {
            mapped[mlen++] = ' ';
        } else {
            memcpy(mapped + mlen, s + at, i - at);
            mlen += i - at;
        }
    }
    mapped[mlen] = 0;

    /* Width and case mapping: none. Normalisation: NFC. Mapping spaces
     * first and normalising after is a fixpoint: NFC never composes a
     * sequence into a space (U+2000/U+2001 are singletons, excluded from
     * composition), so a second pass would change nothing. */
    char *nfc;
    size_t nlen;
    int rc = moxi_text_nfc(mapped, mlen, &nfc, &nlen);
    mox_free(mapped);
    if (rc != MOX_OK)
        return moxi_fail(ei, rc, 0, SIZE_MAX, "normalisation failed: %s", mox_strerror(rc));
    if (nlen == 0) {
        mox_free(nfc);
        return moxi_fail(ei, MOX_ERR_PRECIS, 0, 0, "empty string");
    }

    /* Behavioural rules: every code point must be valid in FreeformClass. */
    int32_t *cps = mox_malloc(nlen * sizeof *cps);
    if (!cps) {
        mox_free(nfc);
        return MOX_ERR_NOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < nlen;)
        cps[n++] = moxi_text_utf8_next((const unsigned char *)nfc, nlen, &i);
    struct whole w;
    whole_scan(cps, n, &w);
    for (size_t k = 0; k < n; k++) {
        const char *why = "";
        enum precis_prop prop = freeform_property(cps[k], &why);
        if (prop == PROP_PVALID)
            continue;
        if ((prop == PROP_CONTEXTJ || prop == PROP_CONTEXTO) && context_ok(cps, n, k, &w))
            continue;
        int32_t cp = cps[k];
        mox_free(cps);
        mox_free(nfc);
        rc = moxi_fail(ei, MOX_ERR_PRECIS, (int)cp, find_cp(s, len, cp),
                       "U+%04X is %s (%s)", (unsigned)cp,
                       prop == PROP_UNASSIGNED ? "unassigned"
                       : prop == PROP_DISALLOWED ? "disallowed"
                                                 : "not allowed in this context",
                       why);
        return rc;
    }
    mox_free(cps);
    *out = nfc;
    if (out_len)
        *out_len = nlen;
    return MOX_OK;
}
