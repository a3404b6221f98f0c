/* Answers: built in one allocation, queried, and formatted in master-file
 * syntax. */
#include <arpa/inet.h>
#include <stdalign.h>
#include <stdio.h>

#include "dns_priv.h"

static size_t align_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }

static size_t txt_count(const unsigned char *rd, size_t len)
{
    size_t n = 0;
    for (size_t p = 0; p < len; p += 1 + (size_t)rd[p])
        n++;
    return n;
}

int moxi_dns_answer_build(const char *qname, size_t qnamelen, uint16_t qtype,
                          int status, int authentic, const moxi_dns_rec *recs,
                          size_t n, mox_dns_answer **out)
{
    *out = NULL;
    /* Layout: answer | rr[n] | txt pointer and length arrays | bytes. */
    size_t sz = align_up(sizeof(mox_dns_answer), alignof(mox_dns_rr));
    size_t rr_off = sz;
    sz += n * sizeof(mox_dns_rr);
    sz = align_up(sz, alignof(max_align_t));
    size_t arr_off = sz;
    size_t nstr = 0;
    for (size_t i = 0; i < n; i++)
        if (moxi_dns_is_txt(recs[i].type))
            nstr += txt_count(recs[i].rd, recs[i].rdlen);
    sz += nstr * (sizeof(unsigned char *) + sizeof(size_t));
    size_t bytes_off = sz;
    sz += qnamelen + 1;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || recs[i].name != recs[i - 1].name || recs[i].namelen != recs[i - 1].namelen)
            sz += recs[i].namelen + 1;
        sz += recs[i].rdlen + 1;
    }
    mox_dns_answer *a = mox_malloc(sz);
    if (!a)
        return MOX_ERR_NOMEM;
    unsigned char *base = (unsigned char *)a;
    mox_dns_rr *rr = n ? (mox_dns_rr *)(void *)(base + rr_off) : NULL;
    const unsigned char **strp = (const unsigned char **)(void *)(base + arr_off);
    size_t *strl = (size_t *)(void *)(base + arr_off + nstr * sizeof(unsigned char *));
    unsigned char *b = base + bytes_off;

    if (qnamelen)
        memcpy(b, qname, qnamelen);
    b[qnamelen] = 0;
    a->qname = (char *)b;
    b += qnamelen + 1;
    a->qtype = qtype;
    a->status = status;
    a->authentic = authentic ? 1 : 0;
    a->nrr = n;
    a->rr = rr;
    a->priv_ = NULL;
    const char *lastname = NULL;
    for (size_t i = 0; i < n; i++) {
        const moxi_dns_rec *r = &recs[i];
        mox_dns_rr *o = &rr[i];
        memset(o, 0, sizeof *o);
        if (i == 0 || r->name != recs[i - 1].name || r->namelen != recs[i - 1].namelen) {
            if (r->namelen)
                memcpy(b, r->name, r->namelen);
            b[r->namelen] = 0;
            lastname = (const char *)b;
            b += r->namelen + 1;
        }
        o->name = lastname;
        o->type = r->type;
        o->rclass = r->rclass;
        o->ttl = r->ttl;
        unsigned char *rd = b;
        if (r->rdlen)
            memcpy(rd, r->rd, r->rdlen);
        rd[r->rdlen] = 0;
        b += r->rdlen + 1;
        switch (r->type) {
        case MOX_DNS_A:
            memcpy(o->u.a, rd, 4);
            break;
        case MOX_DNS_AAAA:
            memcpy(o->u.aaaa, rd, 16);
            break;
        case MOX_DNS_NS:
        case MOX_DNS_CNAME:
        case MOX_DNS_PTR:
            o->u.target = (const char *)rd;
            break;
        case MOX_DNS_MX:
            o->u.mx.preference = (uint16_t)(rd[0] << 8 | rd[1]);
            o->u.mx.host = (const char *)rd + 2;
            break;
        case MOX_DNS_TXT:
        case MOX_DNS_SPF: {
            size_t c = 0;
            o->u.txt.str = strp;
            o->u.txt.len = strl;
            for (size_t p = 0; p < r->rdlen; p += 1 + (size_t)rd[p]) {
                strp[c] = rd + p + 1;
                strl[c] = rd[p];
                c++;
            }
            o->u.txt.count = c;
            strp += c;
            strl += c;
            break;
        }
        case MOX_DNS_TLSA:
            o->u.tlsa.usage = rd[0];
            o->u.tlsa.selector = rd[1];
            o->u.tlsa.matching = rd[2];
            o->u.tlsa.data = rd + 3;
            o->u.tlsa.len = r->rdlen - 3;
            break;
        default:
            o->u.raw.data = rd;
            o->u.raw.len = r->rdlen;
            break;
        }
    }
    *out = a;
    return MOX_OK;
}

void mox_dns_answer_free(mox_dns_answer *a)
{
    mox_free(a);
}

size_t mox_dns_answer_count(const mox_dns_answer *a, uint16_t type)
{
    size_t n = 0;
    if (!a)
        return 0;
    for (size_t i = 0; i < a->nrr; i++)
        if (a->rr[i].type == type || (type == MOX_DNS_ANY && a->rr[i].type != MOX_DNS_CNAME))
            n++;
    return n;
}

int mox_dns_answer_is_nodata(const mox_dns_answer *a)
{
    if (!a || a->status != MOX_DNS_NOERROR)
        return 0;
    if (a->qtype == MOX_DNS_CNAME)
        return a->nrr == 0;
    return mox_dns_answer_count(a, a->qtype) == 0;
}

int mox_dns_txt_join(const mox_dns_rr *rr, mox_buf *out)
{
    if (!rr || !out || !moxi_dns_is_txt(rr->type))
        return MOX_ERR_INVAL;
    size_t total = 0;
    for (size_t i = 0; i < rr->u.txt.count; i++)
        total += rr->u.txt.len[i];
    int rc = mox_buf_reserve(out, total);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < rr->u.txt.count; i++)
        mox_buf_append(out, rr->u.txt.str[i], rr->u.txt.len[i]);
    return MOX_OK;
}

/* ------------------------------------------------------------ names */

static const struct {
    uint16_t type;
    const char *name;
} type_names[] = {
    {MOX_DNS_A, "A"},         {MOX_DNS_NS, "NS"},     {MOX_DNS_CNAME, "CNAME"},
    {MOX_DNS_SOA, "SOA"},     {MOX_DNS_PTR, "PTR"},   {13, "HINFO"},
    {MOX_DNS_MX, "MX"},       {MOX_DNS_TXT, "TXT"},   {MOX_DNS_AAAA, "AAAA"},
    {33, "SRV"},              {35, "NAPTR"},          {41, "OPT"},
    {43, "DS"},               {46, "RRSIG"},          {47, "NSEC"},
    {48, "DNSKEY"},           {50, "NSEC3"},          {MOX_DNS_TLSA, "TLSA"},
    {53, "SMIMEA"},           {64, "SVCB"},           {65, "HTTPS"},
    {MOX_DNS_SPF, "SPF"},     {MOX_DNS_ANY, "ANY"},   {257, "CAA"},
};

const char *mox_dns_type_name(uint16_t type)
{
    static _Thread_local char buf[16];
    for (size_t i = 0; i < MOX_ARRAY_LEN(type_names); i++)
        if (type_names[i].type == type)
            return type_names[i].name;
    snprintf(buf, sizeof buf, "TYPE%u", (unsigned)type);
    return buf;
}

int mox_dns_type_parse(const char *name, uint16_t *type)
{
    if (!name || !type)
        return MOX_ERR_INVAL;
    for (size_t i = 0; i < MOX_ARRAY_LEN(type_names); i++)
        if (!moxi_strncasecmp(name, type_names[i].name, strlen(type_names[i].name) + 1)) {
            *type = type_names[i].type;
            return MOX_OK;
        }
    if (!moxi_strncasecmp(name, "TYPE", 4) && name[4]) {
        unsigned long v = 0;
        for (const char *p = name + 4; *p; p++) {
            if (!moxi_is_digit((unsigned char)*p) || v > 65535)
                return MOX_ERR_SYNTAX;
            v = v * 10 + (unsigned long)(*p - '0');
        }
        if (v == 0 || v > 65535 || (name[4] == '0'))
            return MOX_ERR_SYNTAX;
        *type = (uint16_t)v;
        return MOX_OK;
    }
    return MOX_ERR_SYNTAX;
}

const char *mox_dns_status_name(int status)
{
    static _Thread_local char buf[24];
    switch (status) {
    case MOX_DNS_NOERROR: return "NOERROR";
    case MOX_DNS_FORMERR: return "FORMERR";
    case MOX_DNS_SERVFAIL: return "SERVFAIL";
    case MOX_DNS_NXDOMAIN: return "NXDOMAIN";
    case MOX_DNS_NOTIMP: return "NOTIMP";
    case MOX_DNS_REFUSED: return "REFUSED";
    case MOX_DNS_TIMEOUT: return "TIMEOUT";
    case MOX_DNS_NETERR: return "NETERR";
    default:
        snprintf(buf, sizeof buf, "RCODE%d", status);
        return buf;
    }
}

/* ------------------------------------------------------------ formatting */

static int put_name(mox_buf *out, const char *name)
{
    if (!name)
        return MOX_ERR_INVAL;
    int rc = mox_buf_append_str(out, name);
    if (rc == MOX_OK)
        rc = mox_buf_append_byte(out, '.');
    return rc;
}

static int put_wire_name(mox_buf *out, const unsigned char *rd, size_t len, size_t *p)
{
    unsigned char w[MOXI_DNS_NAME_MAX];
    size_t wl;
    int rc = moxi_dns_wire_name(rd, len, p, 0, w, &wl);
    if (rc < 0)
        return rc;
    rc = moxi_dns_name_format(w, wl, 0, out);
    if (rc == MOX_OK)
        rc = mox_buf_append_byte(out, '.');
    return rc;
}

static int put_qstring(mox_buf *out, const unsigned char *s, size_t n)
{
    int rc = mox_buf_append_byte(out, '"');
    for (size_t i = 0; i < n && rc == MOX_OK; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\')
            rc = mox_buf_appendf(out, "\\%c", c);
        else if (c < 0x20 || c > 0x7e)
            rc = mox_buf_appendf(out, "\\%03u", c);
        else
            rc = mox_buf_append_byte(out, c);
    }
    if (rc == MOX_OK)
        rc = mox_buf_append_byte(out, '"');
    return rc;
}

static int put_hex(mox_buf *out, const unsigned char *d, size_t n)
{
    static const char hx[] = "0123456789ABCDEF";
    int rc = mox_buf_reserve(out, 2 * n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        out->data[out->len++] = (unsigned char)hx[d[i] >> 4];
        out->data[out->len++] = (unsigned char)hx[d[i] & 15];
    }
    out->data[out->len] = 0;
    return MOX_OK;
}

static int put_generic(mox_buf *out, const unsigned char *d, size_t n)
{
    int rc = mox_buf_appendf(out, "\\# %zu", n);
    if (rc == MOX_OK && n) {
        rc = mox_buf_append_byte(out, ' ');
        if (rc == MOX_OK)
            rc = put_hex(out, d, n);
    }
    return rc;
}

static int put_soa(mox_buf *out, const unsigned char *d, size_t n)
{
    size_t p = 0;
    int rc = put_wire_name(out, d, n, &p);
    if (rc == MOX_OK)
        rc = mox_buf_append_byte(out, ' ');
    if (rc == MOX_OK)
        rc = put_wire_name(out, d, n, &p);
    if (rc == MOX_OK && n - p != 20)
        rc = MOX_ERR_SYNTAX;
    for (int i = 0; i < 5 && rc == MOX_OK; i++, p += 4) {
        uint32_t v = (uint32_t)d[p] << 24 | (uint32_t)d[p + 1] << 16 |
                     (uint32_t)d[p + 2] << 8 | d[p + 3];
        rc = mox_buf_appendf(out, " %lu", (unsigned long)v);
    }
    return rc;
}

static int put_rdata(const mox_dns_rr *rr, mox_buf *out)
{
    int rc = MOX_OK;
    char ip[64];
    switch (rr->type) {
    case MOX_DNS_A:
        inet_ntop(AF_INET, rr->u.a, ip, sizeof ip);
        return mox_buf_append_str(out, ip);
    case MOX_DNS_AAAA:
        inet_ntop(AF_INET6, rr->u.aaaa, ip, sizeof ip);
        return mox_buf_append_str(out, ip);
    case MOX_DNS_NS:
    case MOX_DNS_CNAME:
    case MOX_DNS_PTR:
        return put_name(out, rr->u.target);
    case MOX_DNS_MX:
        rc = mox_buf_appendf(out, "%u ", (unsigned)rr->u.mx.preference);
        if (rc == MOX_OK)
            rc = put_name(out, rr->u.mx.host);
        return rc;
    case MOX_DNS_TXT:
    case MOX_DNS_SPF:
        if (rr->u.txt.count == 0 || !rr->u.txt.str || !rr->u.txt.len)
            return MOX_ERR_INVAL; /* only a caller-built record can be so */
        for (size_t i = 0; i < rr->u.txt.count && rc == MOX_OK; i++) {
            if (i)
                rc = mox_buf_append_byte(out, ' ');
            if (rc == MOX_OK)
                rc = put_qstring(out, rr->u.txt.str[i], rr->u.txt.len[i]);
        }
        return rc;
    case MOX_DNS_TLSA:
        if (rr->u.tlsa.len == 0) {
            /* "usage selector matching" with no data is not valid
             * presentation syntax; the generic form round-trips. */
            unsigned char h[3] = {rr->u.tlsa.usage, rr->u.tlsa.selector, rr->u.tlsa.matching};
            return put_generic(out, h, 3);
        }
        rc = mox_buf_appendf(out, "%u %u %u ", rr->u.tlsa.usage, rr->u.tlsa.selector,
                             rr->u.tlsa.matching);
        if (rc == MOX_OK)
            rc = put_hex(out, rr->u.tlsa.data, rr->u.tlsa.len);
        return rc;
    case MOX_DNS_SOA:
        rc = put_soa(out, rr->u.raw.data, rr->u.raw.len);
        return rc == MOX_ERR_SYNTAX ? MOX_ERR_INVAL : rc; /* caller-built garbage */
    default:
        return put_generic(out, rr->u.raw.data, rr->u.raw.len);
    }
}

static void restore(mox_buf *out, size_t start)
{
    out->len = start;
    if (out->data)
        out->data[start] = 0;
}

int mox_dns_rdata_format(const mox_dns_rr *rr, mox_buf *out)
{
    if (!rr || !out)
        return MOX_ERR_INVAL;
    size_t start = out->len;
    int rc = put_rdata(rr, out);
    if (rc < 0)
        restore(out, start);
    return rc;
}

int mox_dns_rr_format(const mox_dns_rr *rr, mox_buf *out)
{
    if (!rr || !out)
        return MOX_ERR_INVAL;
    size_t start = out->len;
    char cls[16];
    const char *c = cls;
    switch (rr->rclass) {
    case 1: c = "IN"; break;
    case 3: c = "CH"; break;
    case 4: c = "HS"; break;
    default: snprintf(cls, sizeof cls, "CLASS%u", (unsigned)rr->rclass); break;
    }
    int rc = put_name(out, rr->name);
    if (rc == MOX_OK)
        rc = mox_buf_appendf(out, " %lu %s %s ", (unsigned long)rr->ttl, c,
                             mox_dns_type_name(rr->type));
    if (rc == MOX_OK)
        rc = put_rdata(rr, out);
    if (rc < 0)
        restore(out, start);
    return rc;
}
