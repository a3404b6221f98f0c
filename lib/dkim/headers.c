/* Header section collection, field splitting, header canonicalisation and
 * the bottom-up selection of signed fields (RFC 6376 §3.4.1, §3.4.2,
 * §5.4.2). DKIM needs the exact raw bytes of each field, so it splits the
 * header section itself. */
#include "dkim_priv.h"

enum { LS, LS_CR, MID, MID_CR }; /* end-of-header scanner states */

void moxi_dkim_hdrs_init(moxi_dkim_hdrs *h, size_t max_bytes, size_t max_fields)
{
    memset(h, 0, sizeof *h);
    h->max_bytes = max_bytes;
    h->max_fields = max_fields;
    h->state = LS;
}

void moxi_dkim_hdrs_free(moxi_dkim_hdrs *h)
{
    mox_buf_free(&h->buf);
    mox_free(h->fields);
    h->fields = NULL;
    h->nfields = 0;
}

static int is_wsp(unsigned char c) { return c == ' ' || c == '\t'; }

/* Splits buf (a sequence of CRLF-terminated lines) into fields: a line
 * starting with WSP continues the previous field. */
static int split(moxi_dkim_hdrs *h)
{
    const unsigned char *p = h->buf.data;
    size_t n = h->buf.len, cap = 0;
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        /* A field runs until a CRLF that is not followed by WSP. */
        for (;;) {
            const unsigned char *nl = memchr(p + i, '\n', n - i);
            if (!nl) {
                i = n;
                break;
            }
            i = (size_t)(nl - p) + 1;
            if (nl > p + start && nl[-1] == '\r' && (i >= n || !is_wsp(p[i])))
                break;
        }
        if (h->nfields == h->max_fields)
            return MOX_ERR_LIMIT;
        if (h->nfields == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            if (ncap > h->max_fields)
                ncap = h->max_fields;
            moxi_dkim_field *nf = mox_realloc(h->fields, ncap * sizeof *nf);
            if (!nf)
                return MOX_ERR_NOMEM;
            h->fields = nf;
            cap = ncap;
        }
        moxi_dkim_field *f = &h->fields[h->nfields++];
        f->off = start;
        f->len = i - start;
        f->name_len = 0;
        f->value_off = 0;
        const unsigned char *colon = memchr(p + start, ':', f->len);
        if (colon) {
            size_t nl = (size_t)(colon - (p + start));
            f->value_off = nl + 1;
            while (nl > 0 && is_wsp(p[start + nl - 1]))
                nl--;
            f->name_len = nl;
        }
    }
    return MOX_OK;
}

int moxi_dkim_hdrs_feed(moxi_dkim_hdrs *h, const unsigned char *p, size_t n, size_t *used)
{
    size_t i = 0;
    int st = h->state, end = 0;
    for (; i < n && !end; i++) {
        unsigned char c = p[i];
        switch (st) {
        case LS: st = c == '\r' ? LS_CR : MID; break;
        case LS_CR:
            if (c == '\n')
                end = 1;
            else
                st = c == '\r' ? MID_CR : MID;
            break;
        case MID: if (c == '\r') st = MID_CR; break;
        case MID_CR: st = c == '\n' ? LS : c == '\r' ? MID_CR : MID; break;
        }
    }
    h->state = st;
    *used = i;
    /* The empty line's CRLF is neither header nor body. */
    size_t keep = end ? i - 2 : i;
    if (end && keep == (size_t)-1) {
        /* The CR of the empty line came in the previous chunk. */
        h->buf.len--;
        keep = 0;
    }
    if (keep) {
        if (h->buf.len + keep > h->max_bytes)
            return MOX_ERR_LIMIT;
        int rc = mox_buf_append(&h->buf, p, keep);
        if (rc)
            return rc;
    }
    if (end) {
        h->complete = 1;
        return split(h);
    }
    return MOX_OK;
}

int moxi_dkim_hdrs_end(moxi_dkim_hdrs *h)
{
    if (h->complete)
        return MOX_OK;
    /* No empty line: all header. A lone CR at the start of a line is the
     * start of an empty line that never finished; a field without its
     * CRLF gets one so it canonicalises like the others. */
    if (h->state == LS_CR)
        h->buf.len--;
    else if (h->state == MID || h->state == MID_CR) {
        int rc = h->state == MID_CR ? mox_buf_append(&h->buf, "\n", 1)
                                    : mox_buf_append(&h->buf, "\r\n", 2);
        if (rc)
            return rc;
    }
    h->complete = 1;
    return split(h);
}

int moxi_dkim_field_is(const moxi_dkim_hdrs *h, const moxi_dkim_field *f, const char *name,
                       size_t name_len)
{
    return f->name_len == name_len && name_len &&
           moxi_memcaseeq(h->buf.data + f->off, name, name_len);
}

/* Finds the raw range of the b= tag's value inside a field value, so it
 * can be deleted. Tag names are matched exactly ("b", not "bh"). */
static int find_b_value(const unsigned char *v, size_t n, size_t *bs, size_t *be)
{
    size_t i = 0;
    while (i < n) {
        size_t semi = i;
        while (semi < n && v[semi] != ';')
            semi++;
        size_t a = i;
        while (a < semi && (is_wsp(v[a]) || v[a] == '\r' || v[a] == '\n'))
            a++;
        size_t e = a;
        while (e < semi && v[e] != '=' && !is_wsp(v[e]) && v[e] != '\r' && v[e] != '\n')
            e++;
        if (e - a == 1 && v[a] == 'b') {
            size_t eq = e;
            while (eq < semi && (is_wsp(v[eq]) || v[eq] == '\r' || v[eq] == '\n'))
                eq++;
            if (eq < semi && v[eq] == '=') {
                *bs = eq + 1;
                *be = semi;
                return 1;
            }
        }
        i = semi + 1;
    }
    return 0;
}

/* Canonical output goes to a buffer (tests, callers) or straight into a
 * hash through a small staging area, so verification allocates nothing. */
struct sink {
    mox_buf *b;
    moxi_dkim_hash *h;
    int rc;
    size_t n;
    unsigned char tmp[256];
};

static void sflush(struct sink *k)
{
    if (k->h)
        moxi_dkim_hash_update(k->h, k->tmp, k->n);
    else if (k->rc == MOX_OK)
        k->rc = mox_buf_append(k->b, k->tmp, k->n);
    k->n = 0;
}

static void sput(struct sink *k, const unsigned char *p, size_t n)
{
    if (k->n + n > sizeof k->tmp)
        sflush(k);
    if (n > sizeof k->tmp) {
        if (k->h)
            moxi_dkim_hash_update(k->h, p, n);
        else if (k->rc == MOX_OK)
            k->rc = mox_buf_append(k->b, p, n);
        return;
    }
    memcpy(k->tmp + k->n, p, n);
    k->n += n;
}

static void sbyte(struct sink *k, unsigned char c)
{
    if (k->n == sizeof k->tmp)
        sflush(k);
    k->tmp[k->n++] = c;
}

static void canon(int canon, const unsigned char *raw, size_t len, int strip_b, struct sink *k)
{
    /* Without the final CRLF; it is added back (or not, for the
     * signature field) at the end. */
    size_t n = len;
    if (n >= 2 && raw[n - 2] == '\r' && raw[n - 1] == '\n')
        n -= 2;
    size_t bs = SIZE_MAX, be = SIZE_MAX;
    const unsigned char *colon = memchr(raw, ':', n);
    if (strip_b && colon) {
        size_t vo = (size_t)(colon - raw) + 1;
        if (find_b_value(raw + vo, n - vo, &bs, &be)) {
            bs += vo;
            be += vo;
        }
    }
    if (canon == MOX_DKIM_SIMPLE) {
        if (bs != SIZE_MAX) {
            sput(k, raw, bs);
            sput(k, raw + be, n - be);
        } else {
            sput(k, raw, n);
        }
        if (!strip_b)
            sput(k, (const unsigned char *)"\r\n", 2);
        sflush(k);
        return;
    }
    /* relaxed: lowercase name, no WSP around the colon, unfolded, WSP runs
     * to one SP, no trailing WSP. */
    size_t i = 0;
    if (colon) {
        size_t nl = (size_t)(colon - raw);
        while (nl > 0 && is_wsp(raw[nl - 1]))
            nl--;
        for (size_t j = 0; j < nl; j++)
            sbyte(k, (unsigned char)moxi_lower(raw[j]));
        sbyte(k, ':');
        i = (size_t)(colon - raw) + 1;
    }
    int ws = 0, started = colon ? 0 : 1;
    for (; i < n; i++) {
        if (i == bs && be > bs) {
            i = be - 1;
            continue;
        }
        unsigned char c = raw[i];
        if (c == '\r' && i + 1 < n && raw[i + 1] == '\n') {
            i++;
            continue; /* unfold */
        }
        if (is_wsp(c)) {
            ws = 1;
            continue;
        }
        if (ws && started)
            sbyte(k, ' ');
        ws = 0;
        started = 1;
        sbyte(k, c);
    }
    if (!strip_b)
        sput(k, (const unsigned char *)"\r\n", 2);
    sflush(k);
}

int moxi_dkim_canon_header(int canon_alg, const unsigned char *raw, size_t len, int strip_b,
                           mox_buf *out)
{
    struct sink k;
    k.b = out;
    k.h = NULL;
    k.rc = MOX_OK;
    k.n = 0;
    size_t start = out->len;
    canon(canon_alg, raw, len, strip_b, &k);
    if (k.rc) {
        out->len = start;
        if (out->data)
            out->data[start] = 0;
    }
    return k.rc;
}

void moxi_dkim_hash_headers(const moxi_dkim_hdrs *hd, int canon_alg, char *const *names,
                            size_t nnames, const unsigned char *sigfield, size_t sigfield_len,
                            moxi_dkim_hash *h)
{
    struct sink k;
    k.b = NULL;
    k.h = h;
    k.rc = MOX_OK;
    k.n = 0;
    for (size_t i = 0; i < nnames; i++) {
        /* The k-th instance of a name in h= takes the k-th field of that
         * name counting from the bottom (§5.4.2); past the last one it
         * contributes nothing. */
        size_t nl = strlen(names[i]), nth = 0;
        for (size_t j = 0; j < i; j++)
            nth += strlen(names[j]) == nl && moxi_memcaseeq(names[j], names[i], nl);
        for (size_t j = hd->nfields; j-- > 0;) {
            const moxi_dkim_field *f = &hd->fields[j];
            if (!moxi_dkim_field_is(hd, f, names[i], nl))
                continue;
            if (nth--)
                continue;
            canon(canon_alg, hd->buf.data + f->off, f->len, 0, &k);
            break;
        }
    }
    canon(canon_alg, sigfield, sigfield_len, 1, &k);
}
