/* DMARC policy record parsing and formatting (RFC 9989 §4.7, §4.8). */
#include <stdlib.h>

#include "mox/address.h"
#include "dmarc_priv.h"

static int is_wsp(int c) { return c == ' ' || c == '\t'; }

void mox_dmarc_record_free(mox_dmarc_record *r)
{
    moxi_dmarc_rec *p = (moxi_dmarc_rec *)r;
    if (!p)
        return;
    for (size_t i = 0; i < p->nstrs; i++)
        mox_free(p->strs[i]);
    mox_free(p->strs);
    mox_free(p->rua);
    mox_free(p->ruf);
    mox_free(p->text);
    mox_free(p);
}

/* Copies s[0..n) and remembers it for freeing. */
static char *keep(moxi_dmarc_rec *p, const char *s, size_t n)
{
    if (p->nstrs == p->capstrs) {
        size_t nc = p->capstrs ? p->capstrs * 2 : 8;
        char **ns = mox_realloc(p->strs, nc * sizeof *ns);
        if (!ns)
            return NULL;
        p->strs = ns;
        p->capstrs = nc;
    }
    char *c = moxi_strndup(s, n);
    if (c)
        p->strs[p->nstrs++] = c;
    return c;
}

/* Position just after "v" *WSP "=" *WSP "DMARC1" *WSP, or 0 when the text
 * does not start that way. */
static size_t version_end(const char *t, size_t len)
{
    size_t i = 0;
    while (i < len && is_wsp((unsigned char)t[i]))
        i++;
    if (i >= len || t[i] != 'v')
        return 0;
    i++;
    while (i < len && is_wsp((unsigned char)t[i]))
        i++;
    if (i >= len || t[i] != '=')
        return 0;
    i++;
    while (i < len && is_wsp((unsigned char)t[i]))
        i++;
    if (len - i < 6 || memcmp(t + i, "DMARC1", 6) != 0)
        return 0;
    i += 6;
    while (i < len && is_wsp((unsigned char)t[i]))
        i++;
    return i;
}

int mox_dmarc_is_record(const char *txt, size_t len)
{
    if (!txt)
        return 0;
    size_t i = version_end(txt, len);
    return i > 0 && (i == len || txt[i] == ';');
}

static int word_eq(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && moxi_memcaseeq(s, w, n);
}

static int parse_policy(const char *v, size_t n)
{
    if (word_eq(v, n, "none"))
        return MOX_DMARC_POLICY_NONE;
    if (word_eq(v, n, "quarantine"))
        return MOX_DMARC_POLICY_QUARANTINE;
    if (word_eq(v, n, "reject"))
        return MOX_DMARC_POLICY_REJECT;
    return -2;
}

/* fo= per the dmarc-fo rule: at most one of 0/1, d and s each at most
 * once, colon-separated. Returns the bits or 0 when invalid. */
static unsigned parse_fo(const char *v, size_t n)
{
    unsigned bits = 0;
    size_t i = 0;
    if (n == 0)
        return 0;
    for (;;) {
        size_t s = i;
        while (i < n && v[i] != ':')
            i++;
        size_t w = i - s;
        while (w > 0 && is_wsp((unsigned char)v[s + w - 1]))
            w--;
        while (w > 0 && is_wsp((unsigned char)v[s])) {
            s++;
            w--;
        }
        if (w != 1)
            return 0;
        unsigned b;
        switch (moxi_lower((unsigned char)v[s])) {
        case '0': b = MOX_DMARC_FO_0; break;
        case '1': b = MOX_DMARC_FO_1; break;
        case 'd': b = MOX_DMARC_FO_D; break;
        case 's': b = MOX_DMARC_FO_S; break;
        default: return 0;
        }
        if (bits & b)
            return 0;
        bits |= b;
        if ((bits & MOX_DMARC_FO_0) && (bits & MOX_DMARC_FO_1))
            return 0;
        if (i == n)
            break;
        i++;
    }
    return bits;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = moxi_lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* One URI with its optional obsolete size. 0 ok, 1 invalid, <0 error. */
static int parse_uri(moxi_dmarc_rec *p, const char *s, size_t n, mox_dmarc_uri *u)
{
    memset(u, 0, sizeof *u);
    size_t end = n;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '!') {
            end = i;
            break;
        }
    if (end < n) {
        /* "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] */
        size_t i = end + 1;
        uint64_t v = 0;
        size_t nd = 0;
        while (i < n && moxi_is_digit((unsigned char)s[i])) {
            if (v > (UINT64_MAX - 9) / 10)
                return 1;
            v = v * 10 + (uint64_t)(s[i] - '0');
            i++;
            nd++;
        }
        if (nd == 0)
            return 1;
        if (i < n) {
            unsigned shift;
            switch (moxi_lower((unsigned char)s[i])) {
            case 'k': shift = 10; break;
            case 'm': shift = 20; break;
            case 'g': shift = 30; break;
            case 't': shift = 40; break;
            default: return 1;
            }
            if (i + 1 != n || v > (UINT64_MAX >> shift))
                return 1;
            v <<= shift;
        }
        if (v == 0)
            return 1;
        u->max_size = v;
    }
    /* scheme ":" hier-part: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    size_t i = 0;
    if (end == 0 || !moxi_is_alpha((unsigned char)s[0]))
        return 1;
    while (i < end && (moxi_is_alpha((unsigned char)s[i]) || moxi_is_digit((unsigned char)s[i]) ||
                       s[i] == '+' || s[i] == '-' || s[i] == '.'))
        i++;
    if (i >= end || s[i] != ':' || i + 1 == end)
        return 1;
    for (size_t k = i + 1; k < end; k++) {
        unsigned char c = (unsigned char)s[k];
        /* URI characters only: no space, controls, quotes, brackets ... */
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' ||
            c == '^' || c == '`' || c == '{' || c == '|' || c == '}' || c == ',')
            return 1;
        if (c == '%' && (k + 2 >= end || hexval((unsigned char)s[k + 1]) < 0 ||
                         hexval((unsigned char)s[k + 2]) < 0))
            return 1;
    }
    u->uri = keep(p, s, end);
    if (!u->uri)
        return MOX_ERR_NOMEM;
    if (i == 6 && moxi_memcaseeq(s, "mailto", 6)) {
        u->is_mailto = 1;
        /* the addr-spec ends at '?' (hfields); percent-decoded */
        size_t a = i + 1, b = a;
        while (b < end && s[b] != '?')
            b++;
        char tmp[512];
        size_t tn = 0;
        for (size_t k = a; k < b; k++) {
            if (tn + 1 >= sizeof tmp)
                return 1;
            if (s[k] == '%') {
                int c = hexval((unsigned char)s[k + 1]) * 16 + hexval((unsigned char)s[k + 2]);
                if (c < 0x21 || c > 0x7e)
                    return 1;
                tmp[tn++] = (char)c;
                k += 2;
            } else {
                tmp[tn++] = s[k];
            }
        }
        mox_mailbox mb;
        int rc = mox_mailbox_parse(tmp, tn, 0, &mb, NULL);
        if (rc == MOX_ERR_NOMEM)
            return rc;
        if (rc != MOX_OK)
            return 1;
        if (!mb.domain.ascii) {
            mox_mailbox_clear(&mb);
            return 1;
        }
        u->address = keep(p, tmp, tn);
        u->domain = u->address ? keep(p, mb.domain.ascii, strlen(mb.domain.ascii)) : NULL;
        mox_mailbox_clear(&mb);
        if (!u->address || !u->domain)
            return MOX_ERR_NOMEM;
    }
    return 0;
}

/* rua/ruf: comma-separated URIs. Invalid URIs are dropped; returns the
 * number dropped, or a negative error. */
static int parse_urilist(moxi_dmarc_rec *p, const char *v, size_t n, mox_dmarc_uri **out,
                         size_t *count, int *sized)
{
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        if (v[i] == ',')
            cap++;
    mox_dmarc_uri *list = mox_calloc(cap, sizeof *list);
    if (!list)
        return MOX_ERR_NOMEM;
    size_t cnt = 0;
    int bad = 0;
    size_t i = 0;
    for (;;) {
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t a = s, b = i;
        while (a < b && is_wsp((unsigned char)v[a]))
            a++;
        while (b > a && is_wsp((unsigned char)v[b - 1]))
            b--;
        int rc = parse_uri(p, v + a, b - a, &list[cnt]);
        if (rc < 0) {
            mox_free(list);
            return rc;
        }
        if (rc == 0) {
            if (list[cnt].max_size)
                *sized = 1;
            cnt++;
        } else {
            bad++;
        }
        if (i >= n)
            break;
        i++;
    }
    *out = list;
    *count = cnt;
    return bad;
}

static void problem(moxi_dmarc_rec *p, unsigned bit, const char *msg)
{
    if (!p->pub.problem)
        p->pub.problem = msg;
    p->pub.problems |= bit;
}

int mox_dmarc_record_parse(const char *txt, size_t len, unsigned flags, mox_dmarc_record **out,
                           mox_errinfo *ei)
{
    int strict = (flags & MOX_DMARC_PARSE_STRICT) != 0;
    if (!out || (!txt && len))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "dmarc: invalid argument");
    *out = NULL;
    if (len > MOXI_DMARC_MAX_RECORD)
        return moxi_fail(ei, MOX_ERR_LIMIT, 0, SIZE_MAX, "dmarc: record longer than 65535 bytes");
    size_t i = version_end(txt ? txt : "", len);
    if (i == 0)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DMARC_ERR_VERSION, 0,
                         "not a DMARC record: does not start with v=DMARC1");
    if (i < len && txt[i] != ';')
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DMARC_ERR_SEPARATOR, i,
                         "not a DMARC record: v=DMARC1 not followed by ';'");
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)txt[k];
        if ((c < 0x20 && c != '\t') || c >= 0x7f) {
            if (strict || k < i)
                return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DMARC_ERR_CHAR, k,
                                 "byte 0x%02x is not printable ASCII", c);
        }
    }
    moxi_dmarc_rec *p = mox_calloc(1, sizeof *p);
    if (!p)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    p->text = moxi_strndup(txt ? txt : "", len);
    if (!p->text) {
        mox_free(p);
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    }
    p->len = len;
    mox_dmarc_record *r = &p->pub;
    r->p = r->sp = r->np = MOX_DMARC_POLICY_UNSPECIFIED;
    r->psd = MOX_DMARC_PSD_U;
    r->fo = MOX_DMARC_FO_0;
    r->pct = -1;
    r->ri = -1;
    int rc = MOX_OK;
    const char *t = p->text;
    /* dmarc-sep dmarc-tag ..., each tag 1*ALPHA equals 1*dmarc-value */
    while (i < len) {
        /* at ';' */
        size_t ts = i + 1;
        size_t te = ts;
        while (te < len && t[te] != ';')
            te++;
        i = te;
        size_t a = ts, b = te;
        while (a < b && is_wsp((unsigned char)t[a]))
            a++;
        while (b > a && is_wsp((unsigned char)t[b - 1]))
            b--;
        if (a == b) {
            /* an empty element: only the optional final separator is in
             * the grammar */
            if (te < len && strict) {
                rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DMARC_ERR_TAG, a, "empty tag between ';'");
                goto fail;
            }
            if (te < len)
                problem(p, MOX_DMARC_PROB_TAG, "empty tag between ';'");
            continue;
        }
        size_t ns = a;
        while (a < b && moxi_is_alpha((unsigned char)t[a]))
            a++;
        size_t nn = a - ns;
        while (a < b && is_wsp((unsigned char)t[a]))
            a++;
        int bad = nn == 0 || a >= b || t[a] != '=';
        size_t vs = a + 1;
        while (!bad && vs < b && is_wsp((unsigned char)t[vs]))
            vs++;
        if (!bad && vs >= b)
            bad = 1;
        for (size_t k = vs; !bad && k < b; k++)
            if ((unsigned char)t[k] < 0x20 || (unsigned char)t[k] >= 0x7f)
                bad = 1;
        if (bad) {
            if (strict) {
                rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DMARC_ERR_TAG, ns,
                               "malformed tag=value at offset %zu", ns);
                goto fail;
            }
            problem(p, MOX_DMARC_PROB_TAG, "malformed tag=value skipped");
            continue;
        }
        const char *name = t + ns;
        const char *v = t + vs;
        size_t vn = b - vs;
        unsigned bit = 0;
        static const struct { const char *n; unsigned bit; } tags[] = {
            {"p", MOXI_DMARC_TAG_P}, {"sp", MOXI_DMARC_TAG_SP}, {"np", MOXI_DMARC_TAG_NP},
            {"psd", MOXI_DMARC_TAG_PSD}, {"t", MOXI_DMARC_TAG_T}, {"adkim", MOXI_DMARC_TAG_ADKIM},
            {"aspf", MOXI_DMARC_TAG_ASPF}, {"rua", MOXI_DMARC_TAG_RUA}, {"ruf", MOXI_DMARC_TAG_RUF},
            {"fo", MOXI_DMARC_TAG_FO}, {"pct", MOXI_DMARC_TAG_PCT}, {"rf", MOXI_DMARC_TAG_RF},
            {"ri", MOXI_DMARC_TAG_RI},
        };
        for (size_t k = 0; k < MOX_ARRAY_LEN(tags); k++)
            if (word_eq(name, nn, tags[k].n))
                bit = tags[k].bit;
        if (bit == 0) {
            if (word_eq(name, nn, "v")) {
                if (strict) {
                    rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DMARC_ERR_DUPLICATE, ns, "v= given twice");
                    goto fail;
                }
                problem(p, MOX_DMARC_PROB_DUPLICATE, "v= given twice");
            }
            continue; /* unknown tags MUST be ignored */
        }
        if (p->given & bit) {
            if (strict) {
                rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DMARC_ERR_DUPLICATE, ns,
                               "tag %.*s given twice", (int)nn, name);
                goto fail;
            }
            problem(p, MOX_DMARC_PROB_DUPLICATE, "a tag is given twice (the first counts)");
            continue;
        }
        p->given |= bit;
        const char *err = NULL;
        unsigned pbit = 0;
        int errcode = MOX_DMARC_ERR_VALUE;
        switch (bit) {
        case MOXI_DMARC_TAG_P:
        case MOXI_DMARC_TAG_SP:
        case MOXI_DMARC_TAG_NP: {
            int pol = parse_policy(v, vn);
            if (pol < -1) {
                pbit = bit == MOXI_DMARC_TAG_P ? MOX_DMARC_PROB_P_INVALID
                       : bit == MOXI_DMARC_TAG_SP ? MOX_DMARC_PROB_SP : MOX_DMARC_PROB_NP;
                err = bit == MOXI_DMARC_TAG_P ? "p= is not none, quarantine or reject"
                      : bit == MOXI_DMARC_TAG_SP ? "sp= is not none, quarantine or reject"
                                                 : "np= is not none, quarantine or reject";
            } else if (bit == MOXI_DMARC_TAG_P) {
                r->p = pol;
            } else if (bit == MOXI_DMARC_TAG_SP) {
                r->sp = pol;
            } else {
                r->np = pol;
            }
            break;
        }
        case MOXI_DMARC_TAG_PSD:
            if (word_eq(v, vn, "y"))
                r->psd = MOX_DMARC_PSD_Y;
            else if (word_eq(v, vn, "n"))
                r->psd = MOX_DMARC_PSD_N;
            else if (word_eq(v, vn, "u"))
                r->psd = MOX_DMARC_PSD_U;
            else {
                pbit = MOX_DMARC_PROB_PSD;
                err = "psd= is not y, n or u";
            }
            break;
        case MOXI_DMARC_TAG_T:
            if (word_eq(v, vn, "y"))
                r->testing = 1;
            else if (!word_eq(v, vn, "n")) {
                pbit = MOX_DMARC_PROB_T;
                err = "t= is not y or n";
            }
            break;
        case MOXI_DMARC_TAG_ADKIM:
        case MOXI_DMARC_TAG_ASPF: {
            int s;
            if (word_eq(v, vn, "s"))
                s = 1;
            else if (word_eq(v, vn, "r"))
                s = 0;
            else {
                pbit = MOX_DMARC_PROB_ALIGN;
                err = bit == MOXI_DMARC_TAG_ADKIM ? "adkim= is not r or s" : "aspf= is not r or s";
                break;
            }
            if (bit == MOXI_DMARC_TAG_ADKIM)
                r->adkim_strict = s;
            else
                r->aspf_strict = s;
            break;
        }
        case MOXI_DMARC_TAG_RUA:
        case MOXI_DMARC_TAG_RUF: {
            mox_dmarc_uri *list;
            size_t cnt;
            int sized = 0;
            int nbad = parse_urilist(p, v, vn, &list, &cnt, &sized);
            if (nbad < 0) {
                rc = moxi_fail(ei, nbad, 0, SIZE_MAX, "out of memory");
                goto fail;
            }
            if (bit == MOXI_DMARC_TAG_RUA) {
                p->rua = list;
                r->rua = list;
                r->nrua = cnt;
            } else {
                p->ruf = list;
                r->ruf = list;
                r->nruf = cnt;
            }
            if (nbad) {
                pbit = MOX_DMARC_PROB_URI;
                err = "invalid reporting URI dropped";
                errcode = MOX_DMARC_ERR_URI;
            } else if (sized) {
                /* obsolete but valid syntax: reported, not an error */
                problem(p, MOX_DMARC_PROB_SIZE, "obsolete !size suffix on a reporting URI");
            }
            break;
        }
        case MOXI_DMARC_TAG_FO: {
            unsigned fo = parse_fo(v, vn);
            if (!fo) {
                pbit = MOX_DMARC_PROB_FO;
                err = "fo= is not a valid option list";
            } else {
                r->fo = fo;
            }
            break;
        }
        case MOXI_DMARC_TAG_PCT: {
            long x = 0;
            size_t k = 0;
            while (k < vn && k < 4 && moxi_is_digit((unsigned char)v[k]))
                x = x * 10 + (v[k++] - '0');
            if (k == 0 || k != vn || x > 100) {
                problem(p, MOX_DMARC_PROB_PCT, "pct= is not 0..100");
            } else {
                r->pct = (int)x;
            }
            pbit = MOX_DMARC_PROB_REMOVED;
            err = "pct= was removed by RFC 9989";
            errcode = MOX_DMARC_ERR_REMOVED;
            break;
        }
        case MOXI_DMARC_TAG_RF:
            r->rf = keep(p, v, vn);
            if (!r->rf) {
                rc = moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
                goto fail;
            }
            pbit = MOX_DMARC_PROB_REMOVED;
            err = "rf= was removed by RFC 9989";
            errcode = MOX_DMARC_ERR_REMOVED;
            break;
        case MOXI_DMARC_TAG_RI: {
            long x = 0;
            size_t k = 0;
            while (k < vn && k < 9 && moxi_is_digit((unsigned char)v[k]))
                x = x * 10 + (v[k++] - '0');
            if (k != 0 && k == vn)
                r->ri = x;
            pbit = MOX_DMARC_PROB_REMOVED;
            err = "ri= was removed by RFC 9989";
            errcode = MOX_DMARC_ERR_REMOVED;
            break;
        }
        default:
            break;
        }
        if (err) {
            if (strict) {
                rc = moxi_fail(ei, MOX_ERR_SYNTAX, errcode, vs, "%s", err);
                goto fail;
            }
            problem(p, pbit, err);
        }
    }
    if (!(p->given & MOXI_DMARC_TAG_P))
        r->problems |= MOX_DMARC_PROB_P; /* legal: treated as p=none (§4.10.1) */
    *out = r;
    return MOX_OK;
fail:
    mox_dmarc_record_free(r);
    return rc;
}

static int fmt_uris(mox_buf *out, const char *tag, const mox_dmarc_uri *u, size_t n)
{
    int rc = mox_buf_appendf(out, "; %s=", tag);
    for (size_t i = 0; rc == MOX_OK && i < n; i++) {
        rc = mox_buf_appendf(out, "%s%s", i ? "," : "", u[i].uri);
        if (rc == MOX_OK && u[i].max_size)
            rc = mox_buf_appendf(out, "!%llu", (unsigned long long)u[i].max_size);
    }
    return rc;
}

int mox_dmarc_record_format(const mox_dmarc_record *r, mox_buf *out)
{
    const moxi_dmarc_rec *p = (const moxi_dmarc_rec *)r;
    if (!r || !out)
        return MOX_ERR_INVAL;
    size_t orig = out->len;
    int rc = mox_buf_append_str(out, "v=DMARC1");
    if (rc == MOX_OK && r->p >= 0)
        rc = mox_buf_appendf(out, "; p=%s", mox_dmarc_policy_name(r->p));
    if (rc == MOX_OK && r->sp >= 0)
        rc = mox_buf_appendf(out, "; sp=%s", mox_dmarc_policy_name(r->sp));
    if (rc == MOX_OK && r->np >= 0)
        rc = mox_buf_appendf(out, "; np=%s", mox_dmarc_policy_name(r->np));
    if (rc == MOX_OK && (p->given & MOXI_DMARC_TAG_PSD) && !(r->problems & MOX_DMARC_PROB_PSD))
        rc = mox_buf_appendf(out, "; psd=%c", "uyn"[r->psd]);
    if (rc == MOX_OK && (p->given & MOXI_DMARC_TAG_T) && !(r->problems & MOX_DMARC_PROB_T))
        rc = mox_buf_appendf(out, "; t=%c", r->testing ? 'y' : 'n');
    if (rc == MOX_OK && (p->given & MOXI_DMARC_TAG_ADKIM))
        rc = mox_buf_appendf(out, "; adkim=%c", r->adkim_strict ? 's' : 'r');
    if (rc == MOX_OK && (p->given & MOXI_DMARC_TAG_ASPF))
        rc = mox_buf_appendf(out, "; aspf=%c", r->aspf_strict ? 's' : 'r');
    if (rc == MOX_OK && r->nrua)
        rc = fmt_uris(out, "rua", r->rua, r->nrua);
    if (rc == MOX_OK && r->nruf)
        rc = fmt_uris(out, "ruf", r->ruf, r->nruf);
    if (rc == MOX_OK && (p->given & MOXI_DMARC_TAG_FO) && !(r->problems & MOX_DMARC_PROB_FO)) {
        static const char ch[] = "01ds";
        int first = 1;
        rc = mox_buf_append_str(out, "; fo=");
        for (int b = 0; rc == MOX_OK && b < 4; b++)
            if (r->fo & (1u << b)) {
                rc = mox_buf_appendf(out, "%s%c", first ? "" : ":", ch[b]);
                first = 0;
            }
    }
    if (rc == MOX_OK && r->pct >= 0)
        rc = mox_buf_appendf(out, "; pct=%d", r->pct);
    if (rc == MOX_OK && r->rf)
        rc = mox_buf_appendf(out, "; rf=%s", r->rf);
    if (rc == MOX_OK && r->ri >= 0)
        rc = mox_buf_appendf(out, "; ri=%ld", r->ri);
    if (rc != MOX_OK && out->data) {
        out->len = orig;
        out->data[orig] = 0;
    }
    return rc;
}

const char *mox_dmarc_policy_name(int policy)
{
    switch (policy) {
    case MOX_DMARC_POLICY_UNSPECIFIED: return "unspecified";
    case MOX_DMARC_POLICY_NONE: return "none";
    case MOX_DMARC_POLICY_QUARANTINE: return "quarantine";
    case MOX_DMARC_POLICY_REJECT: return "reject";
    default: return "?";
    }
}
