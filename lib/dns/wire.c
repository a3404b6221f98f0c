/* DNS messages: building a query and parsing a reply (untrusted input). */
#include "dns_priv.h"

#define EDNS_UDP_SIZE 1232 /* the DNS flag day 2020 value: no fragmentation */

static int put16(mox_buf *b, unsigned v)
{
    unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    return mox_buf_append(b, x, 2);
}

static unsigned get16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The name as asked, without one unescaped trailing dot. */
static size_t asked_len(const char *name)
{
    size_t n = strlen(name);
    if (n > 1 && name[n - 1] == '.') {
        size_t bs = 0;
        while (bs + 2 <= n && name[n - 2 - bs] == '\\')
            bs++;
        if (bs % 2 == 0)
            n--;
    }
    return n;
}

static int query_wire(const char *name, unsigned char *w, size_t *wl)
{
    const char *why;
    size_t n = strlen(name);
    if (n == 0 || (n == 1 && name[0] == '.')) {
        w[0] = 0;
        *wl = 1;
        return MOX_OK;
    }
    /* relative to the root: names given to a resolver are absolute */
    return moxi_dns_name_parse(name, n, NULL, 0, 0, w, wl, &why);
}

int mox_dns_query_build(const char *name, uint16_t type, uint16_t id, mox_buf *out)
{
    if (!name || !out)
        return MOX_ERR_INVAL;
    unsigned char w[MOXI_DNS_NAME_MAX];
    size_t wl;
    if (query_wire(name, w, &wl) < 0)
        return MOX_ERR_SYNTAX;
    size_t start = out->len;
    int rc = mox_buf_reserve(out, 12 + wl + 4 + 11);
    if (rc < 0)
        return rc;
    put16(out, id);
    put16(out, 0x0120); /* RD, AD */
    put16(out, 1);      /* QDCOUNT */
    put16(out, 0);
    put16(out, 0);
    put16(out, 1);      /* ARCOUNT: the OPT record */
    mox_buf_append(out, w, wl);
    put16(out, type);
    put16(out, 1);      /* IN */
    mox_buf_append_byte(out, 0); /* OPT: root owner */
    put16(out, 41);
    put16(out, EDNS_UDP_SIZE);
    put16(out, 0);      /* extended rcode, version */
    put16(out, 0);      /* flags (no DO) */
    put16(out, 0);      /* RDLEN */
    (void)start;
    return MOX_OK;
}

/* One record of the answer section, offsets into the scratch buffer. */
typedef struct prec {
    size_t name_off, name_len;
    size_t rd_off, rd_len;
    uint16_t type;
    uint32_t ttl;
    int used;
} prec;

#define MAX_ANSWER_RRS 512

int mox_dns_reply_parse(const unsigned char *msg, size_t len, const char *name,
                        uint16_t type, uint16_t id, int *truncated,
                        mox_dns_answer **out)
{
    if (!out)
        return MOX_ERR_INVAL;
    *out = NULL;
    if (truncated)
        *truncated = 0;
    if (!msg || !name)
        return MOX_ERR_INVAL;
    unsigned char qw[MOXI_DNS_NAME_MAX];
    size_t qwl;
    if (query_wire(name, qw, &qwl) < 0)
        return MOX_ERR_INVAL;
    if (len < 12)
        return MOX_ERR_SYNTAX;
    unsigned flags = get16(msg + 2);
    unsigned qd = get16(msg + 4), an = get16(msg + 6);
    if (get16(msg) != id || !(flags & 0x8000) || ((flags >> 11) & 15) != 0)
        return MOX_ERR_SYNTAX;
    int tc = (flags & 0x0200) != 0;
    int ad = (flags & 0x0020) != 0;
    int rcode = (int)(flags & 15);
    if (truncated)
        *truncated = tc;
    size_t p = 12;
    if (qd == 1) {
        unsigned char w[MOXI_DNS_NAME_MAX];
        size_t wl;
        if (moxi_dns_wire_name(msg, len, &p, 1, w, &wl) < 0 || p + 4 > len)
            return MOX_ERR_SYNTAX;
        if (!moxi_dns_wire_name_eq(w, wl, qw, qwl) || get16(msg + p) != type ||
            get16(msg + p + 2) != 1)
            return MOX_ERR_SYNTAX;
        p += 4;
    } else if (qd != 0 || rcode == MOX_DNS_NOERROR) {
        /* only an error reply may omit the question (RFC 1035 leaves it
         * open; servers do it for FORMERR/REFUSED/NOTIMP) */
        return MOX_ERR_SYNTAX;
    }

    mox_buf scratch = MOX_BUF_INIT;
    prec *recs = NULL;
    size_t nrec = 0;
    int rc = MOX_OK;
    if (an > MAX_ANSWER_RRS)
        an = MAX_ANSWER_RRS;
    /* storage from the start: offsets are applied to scratch.data below
     * even when every name and RDATA is empty */
    if (mox_buf_reserve(&scratch, 64) < 0)
        return MOX_ERR_NOMEM;
    if (an) {
        recs = mox_malloc(an * sizeof *recs);
        if (!recs) {
            mox_buf_free(&scratch);
            return MOX_ERR_NOMEM;
        }
    }
    for (unsigned i = 0; i < an; i++) {
        unsigned char w[MOXI_DNS_NAME_MAX];
        size_t wl;
        if (moxi_dns_wire_name(msg, len, &p, 1, w, &wl) < 0 || p + 10 > len) {
            rc = MOX_ERR_SYNTAX;
            break;
        }
        uint16_t rtype = (uint16_t)get16(msg + p);
        unsigned rclass = get16(msg + p + 2);
        uint32_t ttl = get32(msg + p + 4);
        size_t rdlen = get16(msg + p + 8);
        p += 10;
        if (p + rdlen > len) {
            rc = MOX_ERR_SYNTAX;
            break;
        }
        size_t rdstart = p;
        p += rdlen;
        if (rclass != 1)
            continue;
        prec *r = &recs[nrec];
        r->name_off = scratch.len;
        rc = moxi_dns_name_format(w, wl, 0, &scratch);
        if (rc < 0)
            break;
        r->name_len = scratch.len - r->name_off;
        r->rd_off = scratch.len;
        rc = moxi_dns_rdata_compact(rtype, msg, len, rdstart, rdlen, 1, &scratch);
        if (rc < 0)
            break;
        r->rd_len = scratch.len - r->rd_off;
        r->type = rtype;
        r->ttl = ttl > 0x7fffffffu ? 0 : ttl; /* RFC 2181 §8 */
        r->used = 0;
        nrec++;
    }
    if (rc == MOX_ERR_SYNTAX && tc) {
        /* a truncated reply may end mid-record: keep what parsed */
        rc = MOX_OK;
    }
    if (rc < 0) {
        mox_free(recs);
        mox_buf_free(&scratch);
        return rc;
    }

    /* Follow the CNAME chain from the question; ignore everything else
     * (records for other names are not ours to believe). */
    moxi_dns_rec *sel = NULL;
    size_t nsel = 0;
    if (nrec) {
        sel = mox_malloc(nrec * sizeof *sel);
        if (!sel) {
            mox_free(recs);
            mox_buf_free(&scratch);
            return MOX_ERR_NOMEM;
        }
    }
    const char *base = (const char *)scratch.data;
    char cur[MOXI_DNS_TEXT_MAX];
    long curlen = moxi_dns_name_text(qw, qwl, 0, cur);
    for (int step = 0; curlen >= 0 && step <= 2 * MOXI_DNS_CHAIN_MAX; step++) {
        const prec *cn = NULL;
        if (type != MOX_DNS_CNAME && type != MOX_DNS_ANY) {
            for (size_t i = 0; i < nrec; i++)
                if (recs[i].type == MOX_DNS_CNAME && !recs[i].used &&
                    recs[i].name_len == (size_t)curlen &&
                    moxi_memcaseeq(base + recs[i].name_off, cur, (size_t)curlen)) {
                    cn = &recs[i];
                    recs[i].used = 1;
                    break;
                }
        }
        if (cn) {
            sel[nsel++] = (moxi_dns_rec){base + cn->name_off, cn->name_len, MOX_DNS_CNAME, 1,
                                          cn->ttl, scratch.data + cn->rd_off, cn->rd_len};
            curlen = (long)cn->rd_len - 1;
            memcpy(cur, base + cn->rd_off, (size_t)curlen);
            continue;
        }
        for (size_t i = 0; i < nrec; i++) {
            const prec *r = &recs[i];
            if ((r->type == type || type == MOX_DNS_ANY) && !r->used &&
                r->name_len == (size_t)curlen &&
                moxi_memcaseeq(base + r->name_off, cur, (size_t)curlen))
                sel[nsel++] = (moxi_dns_rec){base + r->name_off, r->name_len, r->type, 1,
                                              r->ttl, scratch.data + r->rd_off, r->rd_len};
        }
        break;
    }
    rc = moxi_dns_answer_build(name, asked_len(name), type, rcode, ad, sel, nsel, out);
    mox_free(sel);
    mox_free(recs);
    mox_buf_free(&scratch);
    return rc;
}
