/* The in-memory zone: a hash table of names (lower-cased presentation form)
 * holding their records, marks for the failure/authentic directives, and the
 * query logic (CNAME chasing, empty non-terminals, wildcards). */
#include "zone_priv.h"

enum {
    ZN_EXISTS = 1,   /* has records, or a descendant has (empty non-terminal) */
    ZN_AUTH = 2,
    ZN_SERVFAIL = 4,
    ZN_TIMEOUT = 8
};

typedef struct zrec {
    uint16_t type;
    uint32_t ttl;
    size_t rdlen;
    unsigned char *rd;
} zrec;

typedef struct znode {
    uint64_t hash;
    unsigned flags;
    size_t nrec, caprec;
    zrec *recs;
    size_t keylen;
    char *name;   /* spelling of the first record's owner */
    char key[];   /* lower-cased name, NUL, then `name`, NUL */
} znode;

struct mox_dns_zone {
    znode **tab;
    size_t cap;   /* power of two, or 0 */
    size_t count;
};

static uint64_t hash_key(const char *k, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

int mox_dns_zone_new(mox_dns_zone **out)
{
    if (!out)
        return MOX_ERR_INVAL;
    *out = mox_calloc(1, sizeof(mox_dns_zone));
    return *out ? MOX_OK : MOX_ERR_NOMEM;
}

void mox_dns_zone_free(mox_dns_zone *z)
{
    if (!z)
        return;
    for (size_t i = 0; i < z->cap; i++) {
        znode *n = z->tab[i];
        if (!n)
            continue;
        for (size_t k = 0; k < n->nrec; k++)
            mox_free(n->recs[k].rd);
        mox_free(n->recs);
        mox_free(n);
    }
    mox_free(z->tab);
    mox_free(z);
}

static znode *find(const mox_dns_zone *z, const char *key, size_t n, uint64_t h)
{
    if (!z->cap)
        return NULL;
    size_t mask = z->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        znode *e = z->tab[i];
        if (!e)
            return NULL;
        if (e->hash == h && e->keylen == n && !memcmp(e->key, key, n))
            return e;
    }
}

static int grow(mox_dns_zone *z)
{
    size_t ncap = z->cap ? z->cap * 2 : 64;
    znode **nt = mox_calloc(ncap, sizeof *nt);
    if (!nt)
        return MOX_ERR_NOMEM;
    for (size_t i = 0; i < z->cap; i++) {
        znode *e = z->tab[i];
        if (!e)
            continue;
        size_t j = (size_t)e->hash & (ncap - 1);
        while (nt[j])
            j = (j + 1) & (ncap - 1);
        nt[j] = e;
    }
    mox_free(z->tab);
    z->tab = nt;
    z->cap = ncap;
    return MOX_OK;
}

/* Finds or creates the node for `name` (canonical presentation form, any
 * case). */
static int get_node(mox_dns_zone *z, const char *name, size_t n, znode **out)
{
    char key[MOXI_DNS_TEXT_MAX];
    if (n >= sizeof key)
        return MOX_ERR_INVAL;
    for (size_t i = 0; i < n; i++)
        key[i] = (char)moxi_lower((unsigned char)name[i]);
    uint64_t h = hash_key(key, n);
    znode *e = find(z, key, n, h);
    if (e) {
        *out = e;
        return MOX_OK;
    }
    if ((z->count + 1) * 2 > z->cap) {
        int rc = grow(z);
        if (rc < 0)
            return rc;
    }
    e = mox_malloc(sizeof *e + 2 * n + 2);
    if (!e)
        return MOX_ERR_NOMEM;
    memset(e, 0, sizeof *e);
    e->hash = h;
    e->keylen = n;
    memcpy(e->key, key, n);
    e->key[n] = 0;
    e->name = e->key + n + 1;
    memcpy(e->name, name, n);
    e->name[n] = 0;
    size_t j = (size_t)h & (z->cap - 1);
    while (z->tab[j])
        j = (j + 1) & (z->cap - 1);
    z->tab[j] = e;
    z->count++;
    *out = e;
    return MOX_OK;
}

/* Offset just past the first unescaped '.' of a presentation name, or
 * SIZE_MAX when it has a single label. */
static size_t parent_off(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\')
            i++; /* \X or the first digit of \DDD: digits are never '.' */
        else if (s[i] == '.')
            return i + 1;
    }
    return SIZE_MAX;
}

int moxi_dns_zone_add_compact(mox_dns_zone *z, const char *name, size_t n,
                              uint16_t type, uint32_t ttl,
                              const unsigned char *rd, size_t rdlen)
{
    znode *e;
    int rc;
    /* Ancestors first: they exist (as empty non-terminals at least). */
    for (size_t off = parent_off(name, n); ; ) {
        const char *a = off == SIZE_MAX ? "" : name + off;
        size_t an = off == SIZE_MAX ? 0 : n - off;
        rc = get_node(z, a, an, &e);
        if (rc < 0)
            return rc;
        if (e->flags & ZN_EXISTS)
            break;
        e->flags |= ZN_EXISTS;
        if (an == 0)
            break;
        size_t p = parent_off(a, an);
        off = p == SIZE_MAX ? SIZE_MAX : off + p;
    }
    if (n == 0) {
        rc = get_node(z, "", 0, &e);
        if (rc < 0)
            return rc;
    } else {
        rc = get_node(z, name, n, &e);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < e->nrec; i++)
        if (e->recs[i].type == type && e->recs[i].rdlen == rdlen &&
            (rdlen == 0 || !memcmp(e->recs[i].rd, rd, rdlen))) {
            e->flags |= ZN_EXISTS;
            return MOX_OK; /* an RRset is a set */
        }
    if (e->nrec == e->caprec) {
        size_t nc = e->caprec ? e->caprec * 2 : 2;
        zrec *nr = mox_realloc(e->recs, nc * sizeof *nr);
        if (!nr)
            return MOX_ERR_NOMEM;
        e->recs = nr;
        e->caprec = nc;
    }
    unsigned char *copy = mox_malloc(rdlen ? rdlen : 1);
    if (!copy)
        return MOX_ERR_NOMEM;
    if (rdlen)
        memcpy(copy, rd, rdlen);
    e->recs[e->nrec++] = (zrec){type, ttl, rdlen, copy};
    e->flags |= ZN_EXISTS;
    return MOX_OK;
}

int moxi_dns_zone_mark(mox_dns_zone *z, const char *name, size_t n, int what)
{
    znode *e;
    int rc = get_node(z, name, n, &e);
    if (rc < 0)
        return rc;
    switch (what) {
    case MOX_DNS_SERVFAIL:
        e->flags = (e->flags & ~(unsigned)ZN_TIMEOUT) | ZN_SERVFAIL;
        break;
    case MOX_DNS_TIMEOUT:
        e->flags = (e->flags & ~(unsigned)ZN_SERVFAIL) | ZN_TIMEOUT;
        break;
    default:
        e->flags |= ZN_AUTH;
        break;
    }
    return MOX_OK;
}

/* Canonical name (presentation form, no trailing dot) from a caller's
 * name: the common case is copied as is; anything with escapes or odd
 * bytes takes the full parse. */
int moxi_dns_canon_name(const char *s, size_t n, char *out, size_t *outlen)
{
    if (n > 0 && s[n - 1] == '.') {
        size_t bs = 0;
        while (bs + 2 <= n && s[n - 2 - bs] == '\\')
            bs++;
        if (bs % 2 == 0)
            n--; /* an unescaped trailing dot */
    }
    int simple = n <= 253;
    size_t lab = 0;
    for (size_t i = 0; i < n && simple; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (lab == 0)
                simple = 0;
            lab = 0;
        } else if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '"' || c == '(' ||
                   c == ')' || c == ';' || c == '@' || c == '$' || ++lab > 63) {
            simple = 0;
        }
    }
    if (simple && (n == 0 || s[n - 1] != '.')) {
        memcpy(out, s, n);
        out[n] = 0;
        *outlen = n;
        return MOX_OK;
    }
    if (n == 0)
        return MOX_ERR_SYNTAX;
    unsigned char w[MOXI_DNS_NAME_MAX];
    size_t wl;
    const char *why;
    int rc = moxi_dns_name_parse(s, n, NULL, 0, 0, w, &wl, &why);
    if (rc < 0)
        return rc;
    long t = moxi_dns_name_text(w, wl, 0, out);
    if (t < 0)
        return MOX_ERR_SYNTAX;
    *outlen = (size_t)t;
    return MOX_OK;
}

int mox_dns_zone_set_failure(mox_dns_zone *z, const char *name, int status)
{
    if (!z || !name || (status != MOX_DNS_SERVFAIL && status != MOX_DNS_TIMEOUT))
        return MOX_ERR_INVAL;
    char c[MOXI_DNS_TEXT_MAX];
    size_t cn;
    if (moxi_dns_canon_name(name, strlen(name), c, &cn) < 0)
        return MOX_ERR_SYNTAX;
    return moxi_dns_zone_mark(z, c, cn, status);
}

int mox_dns_zone_set_authentic(mox_dns_zone *z, const char *name)
{
    if (!z || !name)
        return MOX_ERR_INVAL;
    char c[MOXI_DNS_TEXT_MAX];
    size_t cn;
    if (moxi_dns_canon_name(name, strlen(name), c, &cn) < 0)
        return MOX_ERR_SYNTAX;
    return moxi_dns_zone_mark(z, c, cn, 0);
}

static znode *lookup(const mox_dns_zone *z, const char *name, size_t n)
{
    char key[MOXI_DNS_TEXT_MAX];
    for (size_t i = 0; i < n; i++)
        key[i] = (char)moxi_lower((unsigned char)name[i]);
    return find(z, key, n, hash_key(key, n));
}

/* RFC 4592: the wildcard of the closest encloser of a name that does not
 * exist, if that wildcard exists. */
static const znode *wildcard(const mox_dns_zone *z, const char *name, size_t n)
{
    size_t off = 0;
    for (;;) {
        size_t p = parent_off(name + off, n - off);
        const char *a = p == SIZE_MAX ? "" : name + off + p;
        size_t an = p == SIZE_MAX ? 0 : n - off - p;
        const znode *e = lookup(z, a, an);
        if (e && (e->flags & ZN_EXISTS)) {
            char w[MOXI_DNS_TEXT_MAX + 2];
            w[0] = '*';
            size_t wn = 1;
            if (an) {
                w[1] = '.';
                memcpy(w + 2, a, an);
                wn = an + 2;
            }
            const znode *wc = lookup(z, w, wn);
            return wc && (wc->flags & ZN_EXISTS) ? wc : NULL;
        }
        if (p == SIZE_MAX)
            return NULL;
        off += p;
    }
}

typedef struct recvec {
    moxi_dns_rec *v;
    size_t n, cap;
    moxi_dns_rec inl[16];
} recvec;

static int recvec_push(recvec *rv, const moxi_dns_rec *r)
{
    if (rv->n == rv->cap) {
        size_t nc = rv->cap * 2;
        moxi_dns_rec *nv = mox_malloc(nc * sizeof *nv);
        if (!nv)
            return MOX_ERR_NOMEM;
        memcpy(nv, rv->v, rv->n * sizeof *nv);
        if (rv->v != rv->inl)
            mox_free(rv->v);
        rv->v = nv;
        rv->cap = nc;
    }
    rv->v[rv->n++] = *r;
    return MOX_OK;
}

int mox_dns_zone_query(const mox_dns_zone *z, const char *name, uint16_t type,
                       mox_dns_answer **out)
{
    if (!out)
        return MOX_ERR_INVAL;
    *out = NULL;
    if (!z || !name)
        return MOX_ERR_INVAL;
    size_t qlen = strlen(name);
    char cur[MOXI_DNS_TEXT_MAX];
    size_t curlen;
    int rc = moxi_dns_canon_name(name, qlen, cur, &curlen);
    if (rc < 0)
        return rc;
    size_t asked = qlen;
    if (asked > 1 && name[asked - 1] == '.' && name[asked - 2] != '\\')
        asked--;

    recvec rv;
    rv.v = rv.inl;
    rv.n = 0;
    rv.cap = MOX_ARRAY_LEN(rv.inl);
    const znode *visited[MOXI_DNS_CHAIN_MAX + 1];
    int status = MOX_DNS_NOERROR;
    int auth = 1;
    /* the owner of synthesized (wildcard) records: the name being resolved,
     * in canonical form (cur is overwritten along a chain) */
    char qcanon[MOXI_DNS_TEXT_MAX];
    memcpy(qcanon, cur, curlen + 1);
    const char *owner = qcanon;
    size_t ownerlen = curlen;
    for (size_t step = 0;; step++) {
        const znode *e = lookup(z, cur, curlen);
        if (e && (e->flags & (ZN_SERVFAIL | ZN_TIMEOUT))) {
            status = (e->flags & ZN_SERVFAIL) ? MOX_DNS_SERVFAIL : MOX_DNS_TIMEOUT;
            rv.n = 0;
            auth = 0;
            break;
        }
        int a_here = e && (e->flags & ZN_AUTH);
        const znode *src = e && (e->flags & ZN_EXISTS) ? e : NULL;
        const char *oname = e ? e->name : NULL;
        size_t onamelen = e ? e->keylen : 0;
        if (!src) {
            src = wildcard(z, cur, curlen);
            if (!src) {
                status = MOX_DNS_NXDOMAIN;
                auth &= a_here;
                break;
            }
            a_here |= (src->flags & ZN_AUTH) != 0;
            oname = owner;
            onamelen = ownerlen;
        }
        auth &= a_here;
        visited[step] = src == e ? e : NULL;

        const zrec *cn = NULL;
        if (type != MOX_DNS_CNAME && type != MOX_DNS_ANY)
            for (size_t i = 0; i < src->nrec; i++)
                if (src->recs[i].type == MOX_DNS_CNAME) {
                    cn = &src->recs[i];
                    break;
                }
        if (cn) {
            moxi_dns_rec r = {oname, onamelen, MOX_DNS_CNAME, 1, cn->ttl, cn->rd, cn->rdlen};
            rc = recvec_push(&rv, &r);
            if (rc < 0)
                goto out;
            const char *t = (const char *)cn->rd;
            size_t tl = cn->rdlen - 1;
            const znode *te = lookup(z, t, tl);
            int loop = 0;
            for (size_t k = 0; k <= step && te; k++)
                if (visited[k] == te)
                    loop = 1;
            if (loop || step + 1 > MOXI_DNS_CHAIN_MAX) {
                status = MOX_DNS_SERVFAIL; /* CNAME loop or chain too long */
                rv.n = 0;
                auth = 0;
                break;
            }
            memcpy(cur, t, tl);
            curlen = tl;
            owner = t;
            ownerlen = tl;
            continue;
        }
        for (size_t i = 0; i < src->nrec; i++) {
            const zrec *r = &src->recs[i];
            if (r->type != type && type != MOX_DNS_ANY)
                continue;
            moxi_dns_rec x = {oname, onamelen, r->type, 1, r->ttl, r->rd, r->rdlen};
            rc = recvec_push(&rv, &x);
            if (rc < 0)
                goto out;
        }
        break;
    }
    rc = moxi_dns_answer_build(name, asked, type, status, auth, rv.v, rv.n, out);
out:
    if (rv.v != rv.inl)
        mox_free(rv.v);
    return rc;
}

int moxi_dns_zone_foreach(const mox_dns_zone *z,
                          int (*fn)(void *ctx, const char *name, size_t n), void *ctx)
{
    for (size_t i = 0; i < z->cap; i++) {
        const znode *e = z->tab[i];
        if (!e)
            continue;
        int rc = fn(ctx, e->name, e->keylen);
        if (rc)
            return rc;
    }
    return 0;
}

static int zone_resolve(void *ctx, const char *name, uint16_t type,
                        mox_dns_done_fn done, void *arg)
{
    mox_dns_answer *a;
    int rc = mox_dns_zone_query(ctx, name, type, &a);
    if (rc < 0)
        return rc;
    done(arg, a);
    return MOX_OK;
}

void mox_dns_zone_resolver_sized(mox_dns_zone *z, mox_resolver *r, size_t r_size)
{
    if (!r)
        return;
    mox_resolver full = MOX_RESOLVER_INIT;
    full.ctx = z;
    full.query = zone_resolve;
    moxi_fill_sized(r, r_size, &full, sizeof full);
}
