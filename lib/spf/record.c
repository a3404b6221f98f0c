/* SPF record parsing (RFC 7208 §4.6, §5, §6, ABNF in §12). */
#include <arpa/inet.h>

#include "spf/spf_priv.h"

static const struct {
    const char *name;
    size_t len;
    int kind;
} mechanisms[] = {
    {"all", 3, MOX_SPF_ALL}, {"include", 7, MOX_SPF_INCLUDE}, {"a", 1, MOX_SPF_A},
    {"mx", 2, MOX_SPF_MX},   {"ptr", 3, MOX_SPF_PTR},         {"ip4", 3, MOX_SPF_IP4},
    {"ip6", 3, MOX_SPF_IP6}, {"exists", 6, MOX_SPF_EXISTS},
};

static const char *kind_name(int kind)
{
    for (size_t i = 0; i < MOX_ARRAY_LEN(mechanisms); i++)
        if (mechanisms[i].kind == kind)
            return mechanisms[i].name;
    return kind == MOX_SPF_REDIRECT ? "redirect" : kind == MOX_SPF_EXP ? "exp" : "";
}

int mox_spf_is_record(const char *txt, size_t len)
{
    return txt && len >= 6 && moxi_memcaseeq(txt, "v=spf1", 6) && (len == 6 || txt[6] == ' ');
}

int moxi_spf_domain_ok(const char *name, size_t len, int multi)
{
    if (len == 0 || len > 253)
        return 0;
    size_t labels = 0, l = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || name[i] == '.') {
            if (l == 0 || l > 63)
                return 0;
            labels++;
            l = 0;
        } else {
            l++;
        }
    }
    return !multi || labels >= 2;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static int toplabel_ok(const char *s, size_t n)
{
    int alpha = 0, hyphen = 0;
    if (n == 0 || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (moxi_is_alpha(c))
            alpha = 1;
        else if (c == '-')
            hyphen = 1;
        else if (!moxi_is_digit(c))
            return 0;
    }
    return alpha || hyphen;
}

/* domain-spec = macro-string domain-end
 * domain-end  = ( "." toplabel [ "." ] ) / macro-expand */
static int check_domain_spec(const char *s, size_t n, size_t off, mox_errinfo *ei)
{
    int ends_macro = 0;
    size_t lit = 0;
    if (n == 0)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_ARGUMENT, off, "empty domain-spec");
    int rc = moxi_spf_macro(s, n, NULL, MOXI_SPF_CHECK_ONLY, 0, NULL, &ends_macro, &lit, ei);
    if (rc) {
        if (ei && ei->offset != SIZE_MAX)
            ei->offset += off;
        return rc;
    }
    if (ends_macro)
        return MOX_OK;
    const char *t = s + lit;
    size_t tn = n - lit;
    if (tn && t[tn - 1] == '.')
        tn--;
    size_t dot = tn;
    while (dot > 0 && t[dot - 1] != '.')
        dot--;
    if (dot == 0 || !toplabel_ok(t + dot, tn - dot))
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_DOMAIN_SPEC, off,
                         "domain-spec '%.*s' does not end in a valid top-level label",
                         (int)(n > 100 ? 100 : n), s);
    return MOX_OK;
}

/* "0" / %x31-39 0*N DIGIT, at most `max`. */
static int parse_cidr(const char *s, size_t n, int max, int *out)
{
    if (n == 0 || n > 3 || (s[0] == '0' && n > 1))
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!moxi_is_digit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

/* Splits a trailing dual-cidr-length ("/24", "//64", "/24//64") off
 * [s, s+*n). Returns 0, or -1 for a malformed one. */
static size_t digits_before(const char *s, size_t n)
{
    size_t k = n;
    while (k > 0 && moxi_is_digit((unsigned char)s[k - 1]))
        k--;
    return k;
}

static int split_dual_cidr(const char *s, size_t *n, int *c4, int *c6, size_t off,
                           mox_errinfo *ei)
{
    size_t k = digits_before(s, *n);
    if (k < *n && k >= 2 && s[k - 1] == '/' && s[k - 2] == '/') {
        if (parse_cidr(s + k, *n - k, 128, c6))
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_CIDR, off + k,
                             "bad IPv6 prefix length");
        *n = k - 2;
        k = digits_before(s, *n);
    }
    if (k < *n && k >= 1 && s[k - 1] == '/') {
        if (parse_cidr(s + k, *n - k, 32, c4))
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_CIDR, off + k,
                             "bad IPv4 prefix length");
        *n = k - 1;
    }
    if (*n && s[*n - 1] == '/')
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_CIDR, off + *n - 1, "bad prefix length");
    return MOX_OK;
}

/* ip4-network = qnum "." qnum "." qnum "." qnum (RFC 7208 §12), qnum a
 * decimal 0..255 without leading zeros: what inet_pton(AF_INET) accepts,
 * without its cost (a record of many ip4: terms spent a third of its
 * parse there). 0 on success. */
static int parse_ip4(const char *s, size_t n, unsigned char out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part) {
            if (i >= n || s[i] != '.')
                return -1;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < n && i - start < 3 && moxi_is_digit((unsigned char)s[i]))
            v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
            return -1;
        out[part] = (unsigned char)v;
    }
    return i == n ? 0 : -1;
}

static int parse_ip(mox_spf_term *t, const char *s, size_t n, size_t off, mox_errinfo *ei)
{
    int v6 = t->kind == MOX_SPF_IP6;
    size_t slash = n;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '/') {
            slash = i;
            break;
        }
    if (slash < n) {
        int c;
        if (parse_cidr(s + slash + 1, n - slash - 1, v6 ? 128 : 32, &c))
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_CIDR, off + slash,
                             "bad %s prefix length", v6 ? "IPv6" : "IPv4");
        if (v6)
            t->cidr6 = c;
        else
            t->cidr4 = c;
    }
    char tmp[64];
    if (slash == 0 || slash >= sizeof tmp)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_IP, off, "bad %s network", kind_name(t->kind));
    if (!v6 && parse_ip4(s, slash, t->ip) == 0)
        return MOX_OK;
    memcpy(tmp, s, slash);
    tmp[slash] = '\0';
    if (v6 ? inet_pton(AF_INET6, tmp, t->ip) != 1 : 1)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_IP, off, "bad %s network '%s'",
                         kind_name(t->kind), tmp);
    return MOX_OK;
}

static int parse_term(mox_spf_record *r, mox_spf_term *t, const char *s, size_t n, size_t off,
                      mox_errinfo *ei)
{
    memset(t, 0, sizeof *t);
    t->text = s;
    t->text_len = n;
    t->offset = off;
    t->cidr4 = t->cidr6 = -1;

    /* modifier: name "=" ...; name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
    size_t k = 0;
    if (moxi_is_alpha((unsigned char)s[0])) {
        k = 1;
        while (k < n && (moxi_is_alpha((unsigned char)s[k]) || moxi_is_digit((unsigned char)s[k]) ||
                         s[k] == '-' || s[k] == '_' || s[k] == '.'))
            k++;
    }
    if (k > 0 && k < n && s[k] == '=') {
        t->name = s;
        t->name_len = k;
        t->spec = s + k + 1;
        t->spec_len = n - k - 1;
        if (k == 8 && moxi_memcaseeq(s, "redirect", 8)) {
            t->kind = MOX_SPF_REDIRECT;
            if (r->redirect)
                return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_DUPLICATE, off,
                                 "redirect= given twice");
        } else if (k == 3 && moxi_memcaseeq(s, "exp", 3)) {
            t->kind = MOX_SPF_EXP;
            if (r->exp)
                return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_DUPLICATE, off, "exp= given twice");
        } else {
            t->kind = MOX_SPF_UNKNOWN_MODIFIER;
            int rc = moxi_spf_macro(t->spec, t->spec_len, NULL,
                                    MOXI_SPF_CHECK_ONLY | MOXI_SPF_ANY_LETTER, 0, NULL, NULL, NULL, ei);
            if (rc && ei && ei->offset != SIZE_MAX)
                ei->offset += off + k + 1;
            return rc;
        }
        return check_domain_spec(t->spec, t->spec_len, off + k + 1, ei);
    }
    if (s[0] == '=')
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_MODIFIER, off, "modifier without a name");

    /* directive = [ qualifier ] mechanism */
    size_t p = 0;
    t->qualifier = '+';
    if (s[0] == '+' || s[0] == '-' || s[0] == '~' || s[0] == '?') {
        t->qualifier = s[0];
        t->qualifier_written = 1;
        p = 1;
    }
    size_t q = p;
    while (q < n && s[q] != ':' && s[q] != '/')
        q++;
    for (size_t i = 0; i < MOX_ARRAY_LEN(mechanisms); i++)
        if (q - p == mechanisms[i].len && moxi_lower(s[p]) == mechanisms[i].name[0] &&
            moxi_memcaseeq(s + p, mechanisms[i].name, q - p)) {
            t->kind = mechanisms[i].kind;
            break;
        }
    if (!t->kind) {
        for (size_t i = p; i < q; i++)
            if (s[i] == '=')
                return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_MODIFIER, off,
                                 "malformed modifier name '%.*s'", (int)(q - p > 60 ? 60 : q - p),
                                 s + p);
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_MECHANISM, off + p,
                         "unknown mechanism '%.*s'", (int)(q - p > 60 ? 60 : q - p), s + p);
    }
    const char *a = s + q; /* argument: ":..." and/or "/..." */
    size_t an = n - q, aoff = off + q;
    switch (t->kind) {
    case MOX_SPF_ALL:
        if (an)
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_ARGUMENT, aoff, "'all' takes no argument");
        return MOX_OK;
    case MOX_SPF_INCLUDE:
    case MOX_SPF_EXISTS:
        if (an < 1 || a[0] != ':')
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_ARGUMENT, aoff,
                             "'%s' needs ':' and a domain", kind_name(t->kind));
        t->spec = a + 1;
        t->spec_len = an - 1;
        return check_domain_spec(t->spec, t->spec_len, aoff + 1, ei);
    case MOX_SPF_IP4:
    case MOX_SPF_IP6:
        if (an < 2 || a[0] != ':')
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_ARGUMENT, aoff,
                             "'%s' needs ':' and a network", kind_name(t->kind));
        return parse_ip(t, a + 1, an - 1, aoff + 1, ei);
    case MOX_SPF_PTR:
        if (an == 0)
            return MOX_OK;
        if (a[0] != ':')
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_ARGUMENT, aoff,
                             "'ptr' takes only ':domain'");
        t->spec = a + 1;
        t->spec_len = an - 1;
        return check_domain_spec(t->spec, t->spec_len, aoff + 1, ei);
    default: { /* a, mx */
        int rc = split_dual_cidr(a, &an, &t->cidr4, &t->cidr6, aoff, ei);
        if (rc)
            return rc;
        if (an == 0)
            return MOX_OK;
        if (a[0] != ':')
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_ARGUMENT, aoff,
                             "unexpected text after '%s'", kind_name(t->kind));
        t->spec = a + 1;
        t->spec_len = an - 1;
        return check_domain_spec(t->spec, t->spec_len, aoff + 1, ei);
    }
    }
}

int mox_spf_record_parse(const char *txt, size_t len, mox_spf_record **out, mox_errinfo *ei)
{
    if (!out || (!txt && len))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid argument");
    *out = NULL;
    if (len > MOXI_SPF_MAX_RECORD)
        return moxi_fail(ei, MOX_ERR_LIMIT, 0, SIZE_MAX, "record longer than %d bytes",
                         MOXI_SPF_MAX_RECORD);
    if (!mox_spf_is_record(txt, len))
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_VERSION, 0,
                         "record does not start with \"v=spf1\"");
    /* Count terms first so one allocation holds them. */
    size_t nterms = 0;
    for (size_t i = 6; i < len; i++)
        if (txt[i] != ' ' && txt[i - 1] == ' ')
            nterms++;
    mox_spf_record *r = mox_calloc(1, sizeof *r);
    if (!r)
        return MOX_ERR_NOMEM;
    r->text = moxi_strndup(txt, len);
    r->terms = nterms ? mox_calloc(nterms, sizeof *r->terms) : NULL;
    if (!r->text || (nterms && !r->terms)) {
        mox_spf_record_free(r);
        return MOX_ERR_NOMEM;
    }
    r->len = len;
    const char *s = r->text;
    size_t i = 6;
    int rc = MOX_OK;
    while (i < len) {
        if (s[i] != ' ') {
            rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_CHAR, i,
                           "expected a space before term, got 0x%02x", (unsigned char)s[i]);
            break;
        }
        while (i < len && s[i] == ' ')
            i++;
        if (i == len)
            break;
        size_t b = i;
        while (i < len && s[i] != ' ') {
            unsigned char c = (unsigned char)s[i];
            if (c < 0x21 || c > 0x7e) {
                rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_SPF_ERR_CHAR, i,
                               "character 0x%02x not allowed in a record", c);
                break;
            }
            i++;
        }
        if (rc)
            break;
        mox_spf_term *t = &r->terms[r->nterms];
        rc = parse_term(r, t, s + b, i - b, b, ei);
        if (rc)
            break;
        r->nterms++;
        if (t->kind == MOX_SPF_REDIRECT)
            r->redirect = t;
        else if (t->kind == MOX_SPF_EXP)
            r->exp = t;
    }
    if (rc) {
        mox_spf_record_free(r);
        return rc;
    }
    *out = r;
    return MOX_OK;
}

void mox_spf_record_free(mox_spf_record *r)
{
    if (!r)
        return;
    mox_free(r->text);
    mox_free(r->terms);
    mox_free(r);
}

size_t mox_spf_record_count(const mox_spf_record *r)
{
    return r ? r->nterms : 0;
}

const mox_spf_term *mox_spf_record_term(const mox_spf_record *r, size_t i)
{
    return (r && i < r->nterms) ? &r->terms[i] : NULL;
}

int mox_spf_record_format(const mox_spf_record *r, mox_buf *out)
{
    if (!r || !out)
        return MOX_ERR_INVAL;
    int rc = mox_buf_append_str(out, "v=spf1");
    for (size_t i = 0; !rc && i < r->nterms; i++) {
        const mox_spf_term *t = &r->terms[i];
        char ip[64];
        if (t->kind == MOX_SPF_UNKNOWN_MODIFIER) {
            rc = mox_buf_appendf(out, " %.*s=%.*s", (int)t->name_len, t->name, (int)t->spec_len,
                                 t->spec);
            continue;
        }
        if (t->kind == MOX_SPF_REDIRECT || t->kind == MOX_SPF_EXP) {
            rc = mox_buf_appendf(out, " %s=%.*s", kind_name(t->kind), (int)t->spec_len, t->spec);
            continue;
        }
        rc = mox_buf_appendf(out, " %c%s", t->qualifier, kind_name(t->kind));
        if (!rc && (t->kind == MOX_SPF_IP4 || t->kind == MOX_SPF_IP6)) {
            moxi_spf_ip_text(t->ip, t->kind == MOX_SPF_IP6, ip, sizeof ip);
            rc = mox_buf_appendf(out, ":%s", ip);
        } else if (!rc && t->spec) {
            rc = mox_buf_appendf(out, ":%.*s", (int)t->spec_len, t->spec);
        }
        if (!rc && t->cidr4 >= 0)
            rc = mox_buf_appendf(out, "/%d", t->cidr4);
        if (!rc && t->cidr6 >= 0)
            rc = mox_buf_appendf(out, t->kind == MOX_SPF_IP6 ? "/%d" : "//%d", t->cidr6);
    }
    return rc;
}
