/* Parsing delivery status notifications (RFC 3464 §2, RFC 6533 §6.2). */
#include <string.h>

#include "core/core_priv.h"
#include "dsn_priv.h"
#include "mox/message.h"

struct mox_dsn {
    mox_dsn_report rep;
    mox_dsn_recipient *rcpts;
    size_t nrcpts, caprcpts;
    char **strs;
    size_t nstrs, capstrs;
    size_t max_field;
};

void mox_dsn_free(mox_dsn *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nstrs; i++)
        mox_free(d->strs[i]);
    mox_free(d->strs);
    mox_free(d->rcpts);
    mox_free(d);
}

const mox_dsn_report *mox_dsn_get(const mox_dsn *d)
{
    return d ? &d->rep : NULL;
}

/* Keeps a copy of s[0..n) (control characters replaced by '?', cut at
 * max_field); NULL on allocation failure. */
static const char *keep(mox_dsn *d, const char *s, size_t n)
{
    if (n > d->max_field)
        n = d->max_field;
    if (d->nstrs == d->capstrs) {
        size_t nc = d->capstrs ? d->capstrs * 2 : 16;
        char **ns = mox_realloc(d->strs, nc * sizeof *ns);
        if (!ns)
            return NULL;
        d->strs = ns;
        d->capstrs = nc;
    }
    char *c = mox_malloc(n + 1);
    if (!c)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        c[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    c[n] = 0;
    d->strs[d->nstrs++] = c;
    return c;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* Splits "type; value" into its two halves (trimmed); without ';' the
 * type is empty and value is everything. */
static void split_typed(const char *s, size_t n, const char **t, size_t *tn, const char **v,
                        size_t *vn)
{
    const char *semi = memchr(s, ';', n);
    if (!semi) {
        *t = s;
        *tn = 0;
        *v = s;
        *vn = n;
    } else {
        *t = s;
        *tn = (size_t)(semi - s);
        *v = semi + 1;
        *vn = n - *tn - 1;
    }
    trim(t, tn);
    trim(v, vn);
}

/* Removes a trailing RFC 5322 comment "( ... )" from a value, as some
 * MTAs append one to Final-Recipient or Reporting-MTA. */
static void drop_comment(const char *s, size_t *n)
{
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    if (*n && s[*n - 1] == ')') {
        for (size_t i = *n - 1; i > 0; i--) {
            if (s[i - 1] == '(') {
                *n = i - 1;
                while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
                    (*n)--;
                return;
            }
        }
    }
}

static int is_name(const mox_header_field *f, const char *name)
{
    return f->name_len == strlen(name) && moxi_memcaseeq(f->name, name, f->name_len);
}

#define NOMEM(d, x)                                                                                \
    do {                                                                                           \
        if (!(x))                                                                                  \
            return MOX_ERR_NOMEM;                                                                  \
    } while (0)

static int msg_field(mox_dsn *d, const mox_header_field *f)
{
    const char *v = f->value, *t, *val;
    size_t n = f->value_len, tn, vn;
    if (is_name(f, "Reporting-MTA")) {
        split_typed(v, n, &t, &tn, &val, &vn);
        drop_comment(val, &vn);
        NOMEM(d, d->rep.reporting_mta = keep(d, val, vn));
        NOMEM(d, d->rep.reporting_mta_type = keep(d, t, tn));
    } else if (is_name(f, "Original-Envelope-Id")) {
        NOMEM(d, d->rep.original_envid = keep(d, v, n));
    } else if (is_name(f, "Received-From-MTA")) {
        split_typed(v, n, &t, &tn, &val, &vn);
        NOMEM(d, d->rep.received_from_mta = keep(d, val, vn));
    } else if (is_name(f, "Arrival-Date")) {
        int64_t x;
        if (moxi_dsn_parse_date(v, n, &x) == 0)
            d->rep.arrival_date = x;
    }
    return MOX_OK;
}

static int action_parse(const char *v, size_t n)
{
    /* RFC 3464 §2.3.3: an action-value, possibly followed by a comment
     * such as "failed (bad address)". */
    size_t k = 0;
    while (k < n && moxi_is_alpha((unsigned char)v[k]))
        k++;
    static const char *names[] = {"failed", "delayed", "delivered", "relayed", "expanded"};
    for (int i = 0; i < 5; i++)
        if (strlen(names[i]) == k && moxi_memcaseeq(v, names[i], k))
            return i + 1;
    return MOX_DSN_ACTION_NONE;
}

static int rcpt_field(mox_dsn *d, mox_dsn_recipient *r, const mox_header_field *f)
{
    const char *v = f->value, *t, *val;
    size_t n = f->value_len, tn, vn;
    if (is_name(f, "Final-Recipient")) {
        split_typed(v, n, &t, &tn, &val, &vn);
        drop_comment(val, &vn);
        if (vn >= 2 && val[0] == '<' && val[vn - 1] == '>') {
            val++;
            vn -= 2;
        }
        NOMEM(d, r->final_recipient = keep(d, val, vn));
        NOMEM(d, r->final_type = keep(d, t, tn));
    } else if (is_name(f, "Original-Recipient")) {
        split_typed(v, n, &t, &tn, &val, &vn);
        mox_buf b = MOX_BUF_INIT;
        int rc = mox_buf_append(&b, t, tn);
        if (rc == 0)
            rc = mox_buf_append(&b, ";", 1);
        if (rc == 0)
            rc = mox_buf_append(&b, val, vn);
        if (rc == 0 && !(r->original_recipient = keep(d, (char *)b.data, b.len)))
            rc = MOX_ERR_NOMEM;
        mox_buf_free(&b);
        if (rc)
            return rc;
    } else if (is_name(f, "Action")) {
        r->action = action_parse(v, n);
    } else if (is_name(f, "Status")) {
        size_t k = 0;
        while (k < n && (moxi_is_digit((unsigned char)v[k]) || v[k] == '.'))
            k++;
        NOMEM(d, r->status = keep(d, v, k));
        if (!moxi_dsn_status_valid(r->status))
            r->status = NULL;
    } else if (is_name(f, "Remote-MTA")) {
        split_typed(v, n, &t, &tn, &val, &vn);
        drop_comment(val, &vn);
        NOMEM(d, r->remote_mta = keep(d, val, vn));
    } else if (is_name(f, "Diagnostic-Code")) {
        split_typed(v, n, &t, &tn, &val, &vn);
        NOMEM(d, r->diagnostic = keep(d, val, vn));
        NOMEM(d, r->diagnostic_type = keep(d, t, tn));
    } else if (is_name(f, "Last-Attempt-Date")) {
        int64_t x;
        if (moxi_dsn_parse_date(v, n, &x) == 0)
            r->last_attempt = x;
    } else if (is_name(f, "Will-Retry-Until")) {
        int64_t x;
        if (moxi_dsn_parse_date(v, n, &x) == 0)
            r->will_retry_until = x;
    } else if (is_name(f, "Final-Log-ID")) {
        NOMEM(d, r->final_log_id = keep(d, v, n));
    }
    return MOX_OK;
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

/* Decodes quoted-printable (RFC 2045 §6.7), leniently: a bad escape is
 * kept as is. */
static int qp_decode(const unsigned char *s, size_t n, mox_buf *out)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (s[i] != '=') {
            rc = mox_buf_append_byte(out, s[i]);
            continue;
        }
        size_t j = i + 1;
        while (j < n && (s[j] == ' ' || s[j] == '\t'))
            j++;
        if (j < n && (s[j] == '\r' || s[j] == '\n')) { /* soft line break */
            if (s[j] == '\r' && j + 1 < n && s[j + 1] == '\n')
                j++;
            i = j;
            continue;
        }
        int a = i + 1 < n ? hexval(s[i + 1]) : -1;
        int b = i + 2 < n ? hexval(s[i + 2]) : -1;
        if (a >= 0 && b >= 0) {
            rc = mox_buf_append_byte(out, (unsigned char)((a << 4) | b));
            i += 2;
        } else {
            rc = mox_buf_append_byte(out, '=');
        }
    }
    return rc;
}

/* Reads the status groups of the delivery-status body s[0..n). */
static int parse_groups(mox_dsn *d, const char *s, size_t n, size_t max_rcpts, mox_errinfo *ei)
{
    mox_header_config hc = MOX_HEADER_CONFIG_INIT;
    hc.max_line = 0;
    hc.max_fields = 0;
    hc.max_header_size = 0;
    hc.bare_cr = MOX_EOL_ACCEPT;
    hc.bare_lf = MOX_EOL_ACCEPT;
    hc.nonfield = MOX_HDR_NONFIELD_END;
    size_t off = 0;
    int group = 0; /* 0: per-message, then recipients */
    int have_fields = 0;
    mox_dsn_recipient *cur = NULL;
    while (off < n) {
        mox_headers *h = NULL;
        size_t body = 0;
        int rc = mox_headers_parse(s + off, n - off, &hc, &h, &body, NULL);
        if (rc) {
            mox_headers_free(h);
            if (rc == MOX_ERR_NOMEM)
                return moxi_fail(ei, rc, 0, off, "out of memory");
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DSN_ERR_FIELD, off, "malformed status group");
        }
        size_t cnt = mox_headers_count(h);
        if (cnt && group > 0 && !cur) {
            if (d->nrcpts >= max_rcpts) {
                mox_headers_free(h);
                return moxi_fail(ei, MOX_ERR_LIMIT, 0, off, "more than %zu recipient groups",
                                 max_rcpts);
            }
            if (d->nrcpts == d->caprcpts) {
                size_t nc = d->caprcpts ? d->caprcpts * 2 : 4;
                mox_dsn_recipient *nr = mox_realloc(d->rcpts, nc * sizeof *nr);
                if (!nr) {
                    mox_headers_free(h);
                    return moxi_fail(ei, MOX_ERR_NOMEM, 0, off, "out of memory");
                }
                d->rcpts = nr;
                d->caprcpts = nc;
            }
            cur = &d->rcpts[d->nrcpts++];
            memset(cur, 0, sizeof *cur);
        }
        for (size_t i = 0; i < cnt; i++) {
            const mox_header_field *f = mox_headers_get(h, i);
            rc = group == 0 ? msg_field(d, f) : rcpt_field(d, cur, f);
            if (rc) {
                size_t at = off + f->offset;
                mox_headers_free(h);
                return moxi_fail(ei, rc, 0, at, "out of memory");
            }
        }
        have_fields |= cnt > 0;
        mox_hdr_end end = mox_headers_end(h);
        mox_headers_free(h);
        if (body == 0 && end != MOX_HDR_END_EMPTY_LINE)
            body = 1; /* a non-field line first: never loop on it */
        if (end == MOX_HDR_END_NONFIELD) {
            /* skip the offending line, the group goes on */
            size_t e = off + body;
            while (e < n && s[e] != '\n')
                e++;
            off = e < n ? e + 1 : n;
            continue;
        }
        off += body;
        if (end == MOX_HDR_END_EMPTY_LINE || end == MOX_HDR_END_EOF) {
            if (have_fields) {
                if (group == 0)
                    group = 1;
                cur = NULL;
                have_fields = 0;
            }
        }
        if (end == MOX_HDR_END_EOF)
            break;
    }
    if (!d->rep.reporting_mta || !*d->rep.reporting_mta)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DSN_ERR_NO_REPORTING_MTA, 0,
                         "no Reporting-MTA field");
    size_t k = 0;
    for (size_t i = 0; i < d->nrcpts; i++)
        if (d->rcpts[i].final_recipient && *d->rcpts[i].final_recipient)
            d->rcpts[k++] = d->rcpts[i];
    d->nrcpts = k;
    if (d->nrcpts == 0)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DSN_ERR_NO_RECIPIENT, 0,
                         "no recipient group with a Final-Recipient");
    return MOX_OK;
}

static int is_original_type(const char *mt, int *headers_only)
{
    if (!strcmp(mt, "message/rfc822") || !strcmp(mt, "message/global")) {
        *headers_only = 0;
        return 1;
    }
    if (!strcmp(mt, "text/rfc822-headers") || !strcmp(mt, "message/global-headers")) {
        *headers_only = 1;
        return 1;
    }
    return 0;
}

static int parse(mox_dsn *d, const unsigned char *msg, size_t len, size_t max_rcpts,
                 mox_errinfo *ei)
{
    mox_mime_config mc = MOX_MIME_CONFIG_INIT;
    mc.flags = MOX_MIME_NO_DESCEND_MESSAGE;
    mox_mime *m = NULL;
    int rc = mox_mime_walk(msg, len, &mc, &m, ei);
    if (rc)
        return rc;
    size_t cnt = mox_mime_count(m), at = MOX_MIME_NONE;
    for (size_t i = 0; i < cnt && at == MOX_MIME_NONE; i++) {
        const mox_mime_part *p = mox_mime_get(m, i);
        if (!strcmp(p->media_type, "message/delivery-status") ||
            !strcmp(p->media_type, "message/global-delivery-status"))
            at = i;
    }
    if (at == MOX_MIME_NONE) {
        mox_mime_free(m);
        return moxi_fail(ei, MOX_ERR_NOTFOUND, MOX_DSN_ERR_NOT_REPORT, SIZE_MAX,
                         "no delivery-status part");
    }
    const mox_mime_part *sp = mox_mime_get(m, at);
    size_t soff = sp->body_offset;
    d->rep.global = !strcmp(sp->media_type, "message/global-delivery-status");
    mox_buf dec = MOX_BUF_INIT;
    const char *body = (const char *)msg + sp->body_offset;
    size_t blen = sp->body_len;
    if (sp->cte == MOX_MIME_CTE_BASE64) {
        rc = mox_base64_decode(body, blen, MOX_BASE64_ALLOW_WS | MOX_BASE64_NOPAD, &dec, NULL);
        if (rc == MOX_ERR_NOMEM) {
            mox_mime_free(m);
            return moxi_fail(ei, rc, 0, soff, "out of memory");
        }
        if (rc) {
            mox_buf_free(&dec);
            mox_mime_free(m);
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DSN_ERR_FIELD, soff,
                             "bad base64 in the delivery-status part");
        }
        body = (const char *)dec.data;
        blen = dec.len;
    } else if (sp->cte == MOX_MIME_CTE_QP) {
        rc = qp_decode((const unsigned char *)body, blen, &dec);
        if (rc) {
            mox_buf_free(&dec);
            mox_mime_free(m);
            return moxi_fail(ei, rc, 0, soff, "out of memory");
        }
        body = (const char *)dec.data;
        blen = dec.len;
    }
    rc = parse_groups(d, body ? body : "", blen, max_rcpts, ei);
    if (rc && ei && ei->offset != SIZE_MAX && !dec.data)
        ei->offset += soff;
    mox_buf_free(&dec);
    if (rc) {
        mox_mime_free(m);
        return rc;
    }
    /* The returned original: a later sibling of the status part. */
    for (size_t k = sp->next_sibling; k != MOX_MIME_NONE; k = mox_mime_get(m, k)->next_sibling) {
        const mox_mime_part *op = mox_mime_get(m, k);
        int ho = 0;
        if (!is_original_type(op->media_type, &ho))
            continue;
        d->rep.original_offset = op->body_offset;
        d->rep.original_len = op->body_len;
        d->rep.original_headers_only = ho;
        mox_header_config hc = MOX_HEADER_CONFIG_INIT;
        hc.bare_cr = MOX_EOL_ACCEPT;
        hc.nonfield = MOX_HDR_NONFIELD_END;
        hc.max_line = 0;
        mox_headers *h = NULL;
        if (op->cte != MOX_MIME_CTE_BASE64 && op->cte != MOX_MIME_CTE_QP &&
            mox_headers_parse(msg + op->body_offset, op->body_len, &hc, &h, NULL, NULL) == 0) {
            const mox_header_field *f = mox_headers_find(h, "Message-ID", NULL);
            if (f) {
                const char *v = f->value;
                size_t vn = f->value_len;
                trim(&v, &vn);
                if (!(d->rep.original_message_id = keep(d, v, vn))) {
                    mox_headers_free(h);
                    mox_mime_free(m);
                    return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
                }
            }
        }
        mox_headers_free(h);
        break;
    }
    mox_mime_free(m);
    return MOX_OK;
}

int mox_dsn_parse(const void *msg, size_t len, const mox_dsn_parse_config *cfg, mox_dsn **out,
                  mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (out)
        *out = NULL;
    if (!out || (!msg && len))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL argument");
    mox_dsn_parse_config c = MOX_DSN_PARSE_CONFIG_INIT;
    moxi_copy_sized(&c, cfg, sizeof c);
    if (!c.max_recipients)
        c.max_recipients = 1000;
    if (!c.max_field)
        c.max_field = 4096;
    mox_dsn *d = mox_calloc(1, sizeof *d);
    if (!d)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    d->max_field = c.max_field;
    int rc = parse(d, msg ? msg : "", len, c.max_recipients, ei);
    if (rc) {
        mox_dsn_free(d);
        return rc;
    }
    d->rep.rcpts = d->rcpts;
    d->rep.nrcpts = d->nrcpts;
    *out = d;
    return MOX_OK;
}

/* ---------------------------------------------------------------- dates */

/* Value of a token of at most 15 digits (the tokeniser's limit: no
 * overflow in int64_t); clamped into int. */
static int atoi_safe(const char *s)
{
    int64_t v = 0;
    for (; moxi_is_digit((unsigned char)*s); s++)
        v = v * 10 + (*s - '0');
    return v > 100000 ? 100000 : (int)v;
}

static int month_of(const char *s, size_t n)
{
    static const char *m[] = {"jan", "feb", "mar", "apr", "may", "jun",
                              "jul", "aug", "sep", "oct", "nov", "dec"};
    if (n != 3)
        return -1;
    for (int i = 0; i < 12; i++)
        if (moxi_memcaseeq(s, m[i], 3))
            return i + 1;
    return -1;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int moxi_dsn_parse_date(const char *s, size_t n, int64_t *out)
{
    /* Tokenise: words of letters, numbers, and the separators ':' '+' '-'
     * ','; comments are dropped. */
    char tok[16][16];
    size_t nt = 0, i = 0;
    int depth = 0;
    while (i < n && nt < 16) {
        char c = s[i];
        if (c == '(') {
            depth++;
            i++;
            continue;
        }
        if (c == ')' && depth) {
            depth--;
            i++;
            continue;
        }
        if (depth || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',') {
            i++;
            continue;
        }
        size_t k = 0;
        if (c == ':' || c == '+' || c == '-') {
            tok[nt][k++] = c;
            i++;
        } else if (moxi_is_digit((unsigned char)c)) {
            while (i < n && moxi_is_digit((unsigned char)s[i]) && k < 15)
                tok[nt][k++] = s[i++];
        } else if (moxi_is_alpha((unsigned char)c)) {
            while (i < n && moxi_is_alpha((unsigned char)s[i]) && k < 15)
                tok[nt][k++] = s[i++];
        } else {
            return MOX_ERR_SYNTAX;
        }
        tok[nt++][k] = 0;
    }
    size_t t = 0;
    if (t < nt && moxi_is_alpha((unsigned char)tok[t][0]) && month_of(tok[t], strlen(tok[t])) < 0)
        t++; /* day of week */
    if (t + 3 > nt || !moxi_is_digit((unsigned char)tok[t][0]))
        return MOX_ERR_SYNTAX;
    int day = atoi_safe(tok[t++]);
    int mon = month_of(tok[t], strlen(tok[t]));
    t++;
    if (mon < 0 || !moxi_is_digit((unsigned char)tok[t][0]))
        return MOX_ERR_SYNTAX;
    size_t ylen = strlen(tok[t]);
    int64_t year = atoi_safe(tok[t++]);
    if (ylen == 2)
        year += year < 50 ? 2000 : 1900; /* RFC 5322 §4.3 */
    else if (ylen == 3)
        year += 1900;
    int hh, mm, ss = 0;
    if (t + 3 > nt || !moxi_is_digit((unsigned char)tok[t][0]) || strcmp(tok[t + 1], ":"))
        return MOX_ERR_SYNTAX;
    hh = atoi_safe(tok[t]);
    mm = atoi_safe(tok[t + 2]);
    if (!moxi_is_digit((unsigned char)tok[t + 2][0]))
        return MOX_ERR_SYNTAX;
    t += 3;
    if (t + 1 < nt && !strcmp(tok[t], ":") && moxi_is_digit((unsigned char)tok[t + 1][0])) {
        ss = atoi_safe(tok[t + 1]);
        t += 2;
    }
    int zone = 0;
    if (t + 1 < nt && (!strcmp(tok[t], "+") || !strcmp(tok[t], "-")) &&
        strlen(tok[t + 1]) == 4) {
        int z = atoi_safe(tok[t + 1]);
        zone = (z / 100) * 60 + z % 100;
        if (tok[t][0] == '-')
            zone = -zone;
    } else if (t < nt && moxi_is_alpha((unsigned char)tok[t][0])) {
        static const struct {
            const char *n;
            int h;
        } zones[] = {{"EST", -5}, {"EDT", -4}, {"CST", -6}, {"CDT", -5},
                     {"MST", -7}, {"MDT", -6}, {"PST", -8}, {"PDT", -7}};
        for (size_t z = 0; z < MOX_ARRAY_LEN(zones); z++)
            if (strlen(tok[t]) == 3 && moxi_memcaseeq(tok[t], zones[z].n, 3))
                zone = zones[z].h * 60;
    }
    if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || year < 1900 || year > 9999)
        return MOX_ERR_SYNTAX;
    if (ss == 60)
        ss = 59;
    *out = days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss - zone * 60;
    return MOX_OK;
}
