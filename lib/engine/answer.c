/* Answers: what a resolver, fetcher, credential store or connector says,
 * built by the caller through constructors so that nobody has to produce
 * DNS wire bytes or a throwaway zone. */
#include <arpa/inet.h>

#include "dns/dns_priv.h"
#include "engine_priv.h"

typedef struct rec {
    char *owner; /* NULL: the qname */
    uint16_t type;
    uint32_t ttl;
    unsigned char *rd; /* compact RDATA (dns_priv.h) */
    size_t rdlen;
} rec;

struct mox_answer {
    uint32_t id;
    int kind;
    int status;
    /* DNS */
    char *qname;
    uint16_t qtype;
    int authentic;
    rec *recs;
    size_t nrec, cap;
    mox_dns_answer *dns; /* built from recs, or taken/copied whole */
    int whole;           /* dns came whole (copy/take): no adders */
    /* FETCH */
    int http_status;
    char *ctype;
    unsigned char *body;
    size_t body_len;
    /* CREDENTIALS / AUTHORIZE */
    char *secrets;
    size_t secrets_len;
    int verdict;
    /* CONNECT */
    char *local, *remote, *detail;
};

static int new_answer(mox_answer **out, uint32_t id, int kind, int status)
{
    if (!out)
        return MOX_ERR_INVAL;
    *out = NULL;
    if (id == 0)
        return MOX_ERR_INVAL;
    mox_answer *a = mox_calloc(1, sizeof *a);
    if (!a)
        return MOX_ERR_NOMEM;
    a->id = id;
    a->kind = kind;
    a->status = status;
    *out = a;
    return MOX_OK;
}

void mox_answer_free(mox_answer *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nrec; i++) {
        mox_free(a->recs[i].owner);
        mox_free(a->recs[i].rd);
    }
    mox_free(a->recs);
    mox_free(a->qname);
    mox_dns_answer_free(a->dns);
    mox_free(a->ctype);
    mox_free(a->body);
    if (a->secrets) {
        volatile char *p = a->secrets;
        for (size_t i = 0; i < a->secrets_len; i++)
            p[i] = 0;
        mox_free(a->secrets);
    }
    mox_free(a->local);
    mox_free(a->remote);
    mox_free(a->detail);
    mox_free(a);
}

/* ------------------------------------------------------------ DNS */

static int valid_status(int st)
{
    return (st >= 0 && st <= 23) || st == MOX_DNS_TIMEOUT || st == MOX_DNS_NETERR;
}

/* Checks a name and returns it without a trailing dot (length in *n). */
static int check_name(const char *s, size_t *n)
{
    size_t len = strlen(s);
    if (len > 1 && s[len - 1] == '.' && !(len > 1 && s[len - 2] == '\\'))
        len--;
    unsigned char wire[MOXI_DNS_NAME_MAX];
    size_t wl;
    const char *why;
    if (len == 0 || (len == 1 && s[0] == '.')) {
        *n = 0;
        return MOX_OK;
    }
    char tmp[MOXI_DNS_TEXT_MAX + 2];
    if (len > MOXI_DNS_TEXT_MAX)
        return MOX_ERR_INVAL;
    memcpy(tmp, s, len);
    tmp[len] = '.'; /* absolute */
    if (moxi_dns_name_parse(tmp, len + 1, NULL, 0, 0, wire, &wl, &why) != MOX_OK)
        return MOX_ERR_INVAL;
    *n = len;
    return MOX_OK;
}

static int rebuild(mox_answer *a)
{
    moxi_dns_rec stackrecs[8];
    moxi_dns_rec *rs = a->nrec <= 8 ? stackrecs : mox_calloc(a->nrec, sizeof *rs);
    if (!rs)
        return MOX_ERR_NOMEM;
    const char *qn = a->qname ? a->qname : "";
    for (size_t i = 0; i < a->nrec; i++) {
        const char *o = a->recs[i].owner ? a->recs[i].owner : qn;
        rs[i].name = o;
        rs[i].namelen = strlen(o);
        rs[i].type = a->recs[i].type;
        rs[i].rclass = 1;
        rs[i].ttl = a->recs[i].ttl;
        rs[i].rd = a->recs[i].rd;
        rs[i].rdlen = a->recs[i].rdlen;
    }
    mox_dns_answer *d = NULL;
    int rc = moxi_dns_answer_build(qn, strlen(qn), a->qtype, a->status, a->authentic, rs,
                                   a->nrec, &d);
    if (rs != stackrecs)
        mox_free(rs);
    if (rc != MOX_OK)
        return rc;
    mox_dns_answer_free(a->dns);
    a->dns = d;
    return MOX_OK;
}

int mox_answer_dns_new(mox_answer **out, uint32_t id, const char *qname, uint16_t qtype,
                       int status, int authentic)
{
    if (!valid_status(status))
        return out ? (*out = NULL, MOX_ERR_INVAL) : MOX_ERR_INVAL;
    size_t qn = 0;
    if (qname && check_name(qname, &qn) != MOX_OK)
        return out ? (*out = NULL, MOX_ERR_INVAL) : MOX_ERR_INVAL;
    int rc = new_answer(out, id, MOX_QUERY_DNS, status);
    if (rc != MOX_OK)
        return rc;
    mox_answer *a = *out;
    a->qtype = qtype;
    a->authentic = authentic ? 1 : 0;
    if (qname && !(a->qname = moxi_strndup(qname, qn)))
        goto nomem;
    if (rebuild(a) != MOX_OK)
        goto nomem;
    return MOX_OK;
nomem:
    mox_answer_free(a);
    *out = NULL;
    return MOX_ERR_NOMEM;
}

/* Compact RDATA of a caller's record (the inverse of the answer builder). */
static int rr_compact(const mox_dns_rr *rr, mox_buf *b)
{
    switch (rr->type) {
    case MOX_DNS_A:
        return mox_buf_append(b, rr->u.a, 4);
    case MOX_DNS_AAAA:
        return mox_buf_append(b, rr->u.aaaa, 16);
    case MOX_DNS_CNAME:
    case MOX_DNS_PTR:
    case MOX_DNS_NS:
        if (!rr->u.target)
            return MOX_ERR_INVAL;
        return mox_buf_append(b, rr->u.target, strlen(rr->u.target) + 1);
    case MOX_DNS_MX: {
        if (!rr->u.mx.host)
            return MOX_ERR_INVAL;
        unsigned char p[2] = {(unsigned char)(rr->u.mx.preference >> 8),
                              (unsigned char)rr->u.mx.preference};
        int rc = mox_buf_append(b, p, 2);
        return rc ? rc : mox_buf_append(b, rr->u.mx.host, strlen(rr->u.mx.host) + 1);
    }
    case MOX_DNS_TXT:
    case MOX_DNS_SPF:
        for (size_t i = 0; i < rr->u.txt.count; i++) {
            if (rr->u.txt.len[i] > 255)
                return MOX_ERR_INVAL;
            unsigned char l = (unsigned char)rr->u.txt.len[i];
            int rc = mox_buf_append(b, &l, 1);
            if (!rc)
                rc = mox_buf_append(b, rr->u.txt.str[i], l);
            if (rc)
                return rc;
        }
        return MOX_OK;
    case MOX_DNS_TLSA: {
        unsigned char h[3] = {rr->u.tlsa.usage, rr->u.tlsa.selector, rr->u.tlsa.matching};
        int rc = mox_buf_append(b, h, 3);
        return rc ? rc : mox_buf_append(b, rr->u.tlsa.data, rr->u.tlsa.len);
    }
    default:
        return mox_buf_append(b, rr->u.raw.data, rr->u.raw.len);
    }
}

int mox_answer_dns_copy(mox_answer **out, uint32_t id, const mox_dns_answer *ans)
{
    if (!ans)
        return out ? (*out = NULL, MOX_ERR_INVAL) : MOX_ERR_INVAL;
    int rc = mox_answer_dns_new(out, id, NULL, ans->qtype, ans->status, ans->authentic);
    if (rc != MOX_OK)
        return rc;
    mox_answer *a = *out;
    if (ans->qname && !(a->qname = moxi_strdup(ans->qname)))
        goto nomem;
    for (size_t i = 0; i < ans->nrr; i++) {
        const mox_dns_rr *rr = &ans->rr[i];
        mox_buf b = MOX_BUF_INIT;
        rc = rr_compact(rr, &b);
        if (rc != MOX_OK) {
            mox_buf_free(&b);
            mox_answer_free(a);
            *out = NULL;
            return rc;
        }
        if (a->nrec == a->cap) {
            size_t nc = a->cap ? a->cap * 2 : 4;
            rec *nr = mox_realloc(a->recs, nc * sizeof *nr);
            if (!nr) {
                mox_buf_free(&b);
                goto nomem;
            }
            a->recs = nr;
            a->cap = nc;
        }
        rec *r = &a->recs[a->nrec];
        memset(r, 0, sizeof *r);
        r->type = rr->type;
        r->ttl = rr->ttl;
        r->rdlen = b.len;
        r->rd = b.len ? (unsigned char *)mox_buf_steal(&b, NULL) : NULL; /* has storage */
        mox_buf_free(&b);
        if (rr->name && !(r->owner = moxi_strdup(rr->name))) {
            mox_free(r->rd);
            goto nomem;
        }
        a->nrec++;
    }
    if (rebuild(a) != MOX_OK)
        goto nomem;
    a->whole = 1;
    return MOX_OK;
nomem:
    mox_answer_free(a);
    *out = NULL;
    return MOX_ERR_NOMEM;
}

int moxi_answer_dns_take(mox_answer **out, uint32_t id, mox_dns_answer *ans)
{
    if (!ans)
        return out ? (*out = NULL, MOX_ERR_INVAL) : MOX_ERR_INVAL;
    int rc = new_answer(out, id, MOX_QUERY_DNS, ans->status);
    if (rc != MOX_OK) {
        mox_dns_answer_free(ans);
        return rc;
    }
    (*out)->qtype = ans->qtype;
    (*out)->authentic = ans->authentic;
    (*out)->dns = ans;
    (*out)->whole = 1;
    return MOX_OK;
}

static int add_rec(mox_answer *a, const char *owner, uint16_t type, uint32_t ttl,
                   const void *rd, size_t rdlen)
{
    if (!a || a->kind != MOX_QUERY_DNS || a->whole || a->status != MOX_DNS_NOERROR)
        return MOX_ERR_INVAL;
    if (rdlen > 65535)
        return MOX_ERR_LIMIT;
    size_t on = 0;
    if (owner && check_name(owner, &on) != MOX_OK)
        return MOX_ERR_INVAL;
    if (a->nrec == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 4;
        rec *nr = mox_realloc(a->recs, nc * sizeof *nr);
        if (!nr)
            return MOX_ERR_NOMEM;
        a->recs = nr;
        a->cap = nc;
    }
    rec *r = &a->recs[a->nrec];
    memset(r, 0, sizeof *r);
    r->type = type;
    r->ttl = ttl;
    r->rdlen = rdlen;
    if (owner && !(r->owner = moxi_strndup(owner, on)))
        return MOX_ERR_NOMEM;
    if (rdlen && !(r->rd = mox_malloc(rdlen))) {
        mox_free(r->owner);
        return MOX_ERR_NOMEM;
    }
    if (rdlen)
        memcpy(r->rd, rd, rdlen);
    a->nrec++;
    int rc = rebuild(a);
    if (rc != MOX_OK) {
        a->nrec--;
        mox_free(r->owner);
        mox_free(r->rd);
    }
    return rc;
}

int mox_answer_add_txt_strings(mox_answer *a, const char *owner, uint32_t ttl,
                               const unsigned char *const *str, const size_t *len, size_t n)
{
    if (n && (!str || !len))
        return MOX_ERR_INVAL;
    mox_buf b = MOX_BUF_INIT;
    int rc = MOX_OK;
    if (n == 0)
        rc = mox_buf_append_byte(&b, 0); /* one empty string */
    for (size_t i = 0; i < n && rc == MOX_OK; i++) {
        if (len[i] > 255 || (len[i] && !str[i])) {
            rc = MOX_ERR_INVAL;
            break;
        }
        rc = mox_buf_append_byte(&b, (unsigned char)len[i]);
        if (rc == MOX_OK)
            rc = mox_buf_append(&b, str[i], len[i]);
    }
    if (rc == MOX_OK)
        rc = add_rec(a, owner, MOX_DNS_TXT, ttl, b.data, b.len);
    mox_buf_free(&b);
    return rc;
}

int mox_answer_add_txt(mox_answer *a, const char *owner, uint32_t ttl, const void *txt,
                       size_t len)
{
    if (len && !txt)
        return MOX_ERR_INVAL;
    if (len > 65535 - 65535 / 256)
        return MOX_ERR_LIMIT;
    mox_buf b = MOX_BUF_INIT;
    int rc = MOX_OK;
    const unsigned char *p = txt;
    size_t off = 0;
    do {
        size_t c = len - off > 255 ? 255 : len - off;
        rc = mox_buf_append_byte(&b, (unsigned char)c);
        if (rc == MOX_OK && c)
            rc = mox_buf_append(&b, p + off, c);
        off += c;
    } while (rc == MOX_OK && off < len);
    if (rc == MOX_OK)
        rc = add_rec(a, owner, MOX_DNS_TXT, ttl, b.data, b.len);
    mox_buf_free(&b);
    return rc;
}

int mox_answer_add_a(mox_answer *a, const char *owner, uint32_t ttl, const unsigned char ip4[4])
{
    if (!ip4)
        return MOX_ERR_INVAL;
    return add_rec(a, owner, MOX_DNS_A, ttl, ip4, 4);
}

int mox_answer_add_aaaa(mox_answer *a, const char *owner, uint32_t ttl,
                        const unsigned char ip6[16])
{
    if (!ip6)
        return MOX_ERR_INVAL;
    return add_rec(a, owner, MOX_DNS_AAAA, ttl, ip6, 16);
}

int mox_answer_add_ip(mox_answer *a, const char *owner, uint32_t ttl, const char *ip)
{
    unsigned char b[16];
    if (!ip)
        return MOX_ERR_INVAL;
    if (inet_pton(AF_INET, ip, b) == 1)
        return add_rec(a, owner, MOX_DNS_A, ttl, b, 4);
    if (inet_pton(AF_INET6, ip, b) == 1)
        return add_rec(a, owner, MOX_DNS_AAAA, ttl, b, 16);
    return MOX_ERR_INVAL;
}

static int add_target(mox_answer *a, const char *owner, uint16_t type, uint32_t ttl,
                      const unsigned char *prefix, size_t plen, const char *target)
{
    size_t tn;
    if (!target || check_name(target, &tn) != MOX_OK)
        return MOX_ERR_INVAL;
    unsigned char rd[2 + MOXI_DNS_TEXT_MAX + 1];
    if (plen)
        memcpy(rd, prefix, plen);
    memcpy(rd + plen, target, tn);
    rd[plen + tn] = 0;
    return add_rec(a, owner, type, ttl, rd, plen + tn + 1);
}

int mox_answer_add_mx(mox_answer *a, const char *owner, uint32_t ttl, uint16_t preference,
                      const char *host)
{
    unsigned char p[2] = {(unsigned char)(preference >> 8), (unsigned char)preference};
    return add_target(a, owner, MOX_DNS_MX, ttl, p, 2, host);
}

int mox_answer_add_ptr(mox_answer *a, const char *owner, uint32_t ttl, const char *target)
{
    return add_target(a, owner, MOX_DNS_PTR, ttl, NULL, 0, target);
}

int mox_answer_add_cname(mox_answer *a, const char *owner, uint32_t ttl, const char *target)
{
    return add_target(a, owner, MOX_DNS_CNAME, ttl, NULL, 0, target);
}

int mox_answer_add_tlsa(mox_answer *a, const char *owner, uint32_t ttl, uint8_t usage,
                        uint8_t selector, uint8_t matching, const void *data, size_t len)
{
    if (len && !data)
        return MOX_ERR_INVAL;
    if (len > 65535 - 3)
        return MOX_ERR_LIMIT;
    unsigned char *rd = mox_malloc(len + 3);
    if (!rd)
        return MOX_ERR_NOMEM;
    rd[0] = usage;
    rd[1] = selector;
    rd[2] = matching;
    if (len)
        memcpy(rd + 3, data, len);
    int rc = add_rec(a, owner, MOX_DNS_TLSA, ttl, rd, len + 3);
    mox_free(rd);
    return rc;
}

/* ------------------------------------------------------------ others */

static int dup_opt(char **dst, const char *s)
{
    if (!s)
        return MOX_OK;
    *dst = moxi_strdup(s);
    return *dst ? MOX_OK : MOX_ERR_NOMEM;
}

int mox_answer_fetch_new(mox_answer **out, uint32_t id, int status, int http_status,
                         const char *content_type, const void *body, size_t len)
{
    if (status > 0 || (len && !body) || (status == MOX_OK && (http_status < 100 || http_status > 999)))
        return out ? (*out = NULL, MOX_ERR_INVAL) : MOX_ERR_INVAL;
    int rc = new_answer(out, id, MOX_QUERY_FETCH, status);
    if (rc != MOX_OK)
        return rc;
    mox_answer *a = *out;
    a->http_status = http_status;
    if (dup_opt(&a->ctype, content_type) != MOX_OK)
        goto nomem;
    if (len) {
        if (!(a->body = mox_malloc(len)))
            goto nomem;
        memcpy(a->body, body, len);
        a->body_len = len;
    }
    return MOX_OK;
nomem:
    mox_answer_free(a);
    *out = NULL;
    return MOX_ERR_NOMEM;
}

int mox_answer_credentials_secrets(mox_answer **out, uint32_t id, const char *record, size_t len)
{
    if (!record || len == 0)
        return out ? (*out = NULL, MOX_ERR_INVAL) : MOX_ERR_INVAL;
    int rc = new_answer(out, id, MOX_QUERY_CREDENTIALS, MOX_OK);
    if (rc != MOX_OK)
        return rc;
    if (!((*out)->secrets = moxi_strndup(record, len))) {
        mox_answer_free(*out);
        *out = NULL;
        return MOX_ERR_NOMEM;
    }
    (*out)->secrets_len = len;
    return MOX_OK;
}

int mox_answer_credentials_verdict(mox_answer **out, uint32_t id, int verdict)
{
    if (verdict != MOX_OK && verdict != MOX_ERR_PERM)
        return out ? (*out = NULL, MOX_ERR_INVAL) : MOX_ERR_INVAL;
    int rc = new_answer(out, id, MOX_QUERY_CREDENTIALS, verdict);
    if (rc == MOX_OK)
        (*out)->verdict = 1;
    return rc;
}

int mox_answer_credentials_status(mox_answer **out, uint32_t id, int status)
{
    if (status >= 0)
        return out ? (*out = NULL, MOX_ERR_INVAL) : MOX_ERR_INVAL;
    return new_answer(out, id, MOX_QUERY_CREDENTIALS, status);
}

int mox_answer_authorize(mox_answer **out, uint32_t id, int verdict)
{
    if (verdict > 0)
        return out ? (*out = NULL, MOX_ERR_INVAL) : MOX_ERR_INVAL;
    int rc = new_answer(out, id, MOX_QUERY_AUTHORIZE, verdict);
    if (rc == MOX_OK)
        (*out)->verdict = 1;
    return rc;
}

int mox_answer_connect_new(mox_answer **out, uint32_t id, int status, const char *local,
                           const char *remote, const char *detail)
{
    if (status > 0)
        return out ? (*out = NULL, MOX_ERR_INVAL) : MOX_ERR_INVAL;
    int rc = new_answer(out, id, MOX_QUERY_CONNECT, status);
    if (rc != MOX_OK)
        return rc;
    mox_answer *a = *out;
    if (dup_opt(&a->local, local) || dup_opt(&a->remote, remote) || dup_opt(&a->detail, detail)) {
        mox_answer_free(a);
        *out = NULL;
        return MOX_ERR_NOMEM;
    }
    return MOX_OK;
}

/* ------------------------------------------------------------ readers */

uint32_t mox_answer_id(const mox_answer *a) { return a ? a->id : 0; }
int mox_answer_kind(const mox_answer *a) { return a ? a->kind : 0; }
int mox_answer_status(const mox_answer *a) { return a ? a->status : MOX_ERR_INVAL; }

const mox_dns_answer *mox_answer_dns(const mox_answer *a)
{
    return a && a->kind == MOX_QUERY_DNS ? a->dns : NULL;
}

int mox_answer_http_status(const mox_answer *a)
{
    return a && a->kind == MOX_QUERY_FETCH ? a->http_status : 0;
}

const void *mox_answer_body(const mox_answer *a, size_t *len)
{
    if (len)
        *len = a && a->kind == MOX_QUERY_FETCH ? a->body_len : 0;
    return a && a->kind == MOX_QUERY_FETCH ? a->body : NULL;
}

const char *mox_answer_content_type(const mox_answer *a)
{
    return a && a->kind == MOX_QUERY_FETCH ? a->ctype : NULL;
}

const char *mox_answer_secrets(const mox_answer *a, size_t *len)
{
    int ok = a && a->kind == MOX_QUERY_CREDENTIALS;
    if (len)
        *len = ok ? a->secrets_len : 0;
    return ok ? a->secrets : NULL;
}

int mox_answer_is_verdict(const mox_answer *a)
{
    return a && (a->kind == MOX_QUERY_CREDENTIALS || a->kind == MOX_QUERY_AUTHORIZE) ? a->verdict
                                                                                     : 0;
}

const char *mox_answer_local(const mox_answer *a)
{
    return a && a->kind == MOX_QUERY_CONNECT ? a->local : NULL;
}

const char *mox_answer_remote(const mox_answer *a)
{
    return a && a->kind == MOX_QUERY_CONNECT ? a->remote : NULL;
}

const char *mox_answer_detail(const mox_answer *a)
{
    return a && a->kind == MOX_QUERY_CONNECT ? a->detail : NULL;
}
