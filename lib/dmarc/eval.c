/* The DMARC evaluator: policy discovery, Organizational Domains, identifier
 * alignment, result and disposition (RFC 9989 §4.10, §5.3; RFC 7489 §6.6),
 * behind the engine contract (include/mox/engine.h).
 *
 * The whole evaluation is a pure function of the answers received so far
 * (the cache): after every event it is recomputed from the start and
 * either finishes or names the questions it lacks. Within one tree walk
 * each question depends on the answer before it, but the walks of the
 * identifiers being aligned (the Author Domain's, the SPF domain's, the
 * first passing DKIM domain's) do not depend on each other, so the next
 * question of each is asked at the same moment. An evaluation asks at most
 * a few dozen questions, so recomputing is cheaper than keeping a
 * resumable state machine for several interleaved tree walks correct. */
#include <stdlib.h>

#include "dmarc_priv.h"
#include "engine/engine_priv.h"

typedef struct centry {
    char *name;
    uint16_t type;
    uint32_t qid;           /* its question */
    int used;               /* looked at by the last evaluation pass */
    int synthetic;          /* a name too long to exist: not asked */
    int answered;
    int status;
    int authentic;
    int nrec;               /* DMARC records at the name */
    char *text;             /* the one record */
    mox_dmarc_record *rec;  /* parsed, when valid */
} centry;

typedef struct dkim_id {
    int result;
    char *domain;           /* A-labels, lowercase; NULL when invalid */
    char *psl_org;          /* RFC 7489 mode */
    int align;              /* computed */
} dkim_id;

struct mox_dmarc {
    mox_engine eng;
    moxi_qset qs;
    mox_dmarc_config cfg;
    const mox_dmarc_psl *psl;
    mox_dmarc_psl *own_psl;
    char *author;           /* A-labels, lowercase; NULL for a bad From */
    char *author_org_psl;
    int from_status;
    int spf_result;
    int spf_set;
    char *spf_domain;       /* normalised, NULL when invalid */
    char *spf_domain_given;
    char *spf_org_psl;
    dkim_id *dkim;
    size_t ndkim, capdkim;
    centry *cache;
    size_t ncache, capcache;
    int closed;             /* the SPF/DKIM inputs are final */
    int failed;             /* NOMEM: unusable */
    int done;
    mox_dmarc_outcome out;
    char *reason;
};

/* W_NEED: questions are open; W_WAIT: the SPF/DKIM outcomes are needed
 * (MOX_DMARC_F_AUTH_LATER before mox_dmarc_auth_done). */
enum { W_DONE = 0, W_NEED = 1, W_TEMP = 2, W_WAIT = 3 };

static const moxi_engine_ops dmarc_ops;

/* ------------------------------------------------------------ setup */

static char *norm_domain(const char *s, int *nomem)
{
    mox_domain dom;
    *nomem = 0;
    if (!s || !*s)
        return NULL;
    int rc = mox_domain_parse(s, strlen(s), MOX_DOMAIN_LAX | MOX_DOMAIN_TRAILING_DOT, &dom, NULL);
    if (rc == MOX_ERR_NOMEM) {
        *nomem = 1;
        return NULL;
    }
    if (rc != MOX_OK)
        return NULL;
    char *a = moxi_strdup(dom.ascii);
    mox_domain_clear(&dom);
    if (!a)
        *nomem = 1;
    return a;
}

static int psl_ready(mox_dmarc *d);
static int psl_org(mox_dmarc *d, const char *dom, char **out);
static int reevaluate(mox_dmarc *d);

void mox_dmarc_config_init(mox_dmarc_config *cfg, size_t size)
{
    mox_dmarc_config def = MOX_DMARC_CONFIG_INIT;
    if (cfg)
        moxi_fill_sized(cfg, size, &def, sizeof def);
}

/* The evaluation for `author` (A-labels; NULL for an unusable From with
 * `from_status`), its first question asked. */
static int create(mox_dmarc **out, const mox_dmarc_config *cfg, const char *author,
                  int from_status, uint32_t id_base, mox_errinfo *ei)
{
    mox_dmarc *d = mox_calloc(1, sizeof *d);
    if (!d)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    moxi_engine_init(&d->eng, &dmarc_ops, d);
    d->qs.last_id = id_base;
    mox_dmarc_config def = MOX_DMARC_CONFIG_INIT;
    d->cfg = def;
    moxi_copy_sized(&d->cfg, cfg, sizeof def);
    if (d->cfg.max_walk_queries == 0 || d->cfg.max_walk_queries > 8)
        d->cfg.max_walk_queries = 8;
    if (d->cfg.max_dkim == 0)
        d->cfg.max_dkim = 10;
    if (d->cfg.bad_from < MOX_DMARC_BAD_FROM_DEFAULT || d->cfg.bad_from > MOX_DMARC_BAD_FROM_NONE) {
        int bf = d->cfg.bad_from;
        mox_free(d);
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "dmarc: bad_from %d is not a "
                         "MOX_DMARC_BAD_FROM_* value", bf);
    }
    if (d->cfg.mode != MOX_DMARC_MODE_RFC9989 && d->cfg.mode != MOX_DMARC_MODE_RFC7489) {
        int mode = d->cfg.mode;
        mox_free(d);
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "dmarc: unknown mode %d", mode);
    }
    d->out.author_exists = -1;
    d->from_status = from_status;
    /* without MOX_DMARC_F_AUTH_LATER the inputs close at the first query;
     * discovery-only evaluations have none */
    int rc = MOX_OK;
    if (author && !(d->author = moxi_strdup(author)))
        rc = MOX_ERR_NOMEM;
    if (rc == MOX_OK && d->cfg.mode == MOX_DMARC_MODE_RFC7489 && d->author) {
        rc = psl_ready(d);
        if (rc == MOX_OK)
            rc = psl_org(d, d->author, &d->author_org_psl);
        if (rc != MOX_OK && rc != MOX_ERR_NOMEM) {
            mox_dmarc_free(d);
            return moxi_fail(ei, rc, 0, SIZE_MAX, "dmarc: no public suffix list (%s)",
                             mox_strerror(rc));
        }
    }
    if (rc == MOX_OK)
        rc = reevaluate(d);
    if (rc != MOX_OK) {
        mox_dmarc_free(d);
        return moxi_fail(ei, rc, 0, SIZE_MAX, "out of memory");
    }
    *out = d;
    return MOX_OK;
}

int moxi_dmarc_create(mox_dmarc **out, const mox_dmarc_config *cfg, const char *author_domain,
                      const void *header, size_t len, uint32_t id_base, mox_errinfo *ei)
{
    if (!out)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "dmarc: NULL output");
    *out = NULL;
    mox_domain dom;
    int status = MOX_DMARC_FROM_OK, rc;
    if (author_domain) {
        rc = mox_domain_parse(author_domain, strlen(author_domain), MOX_DOMAIN_TRAILING_DOT,
                              &dom, ei);
        if (rc != MOX_OK)
            return rc;
    } else {
        if (!header && len)
            return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "dmarc: NULL header");
        rc = mox_dmarc_author_domain(header, len, &status, &dom);
        if (rc != MOX_OK)
            return moxi_fail(ei, rc, 0, SIZE_MAX, "dmarc: reading the From: %s",
                             mox_strerror(rc));
    }
    rc = create(out, cfg, status == MOX_DMARC_FROM_OK ? dom.ascii : NULL, status, id_base, ei);
    if (status == MOX_DMARC_FROM_OK)
        mox_domain_clear(&dom);
    return rc;
}

int mox_dmarc_new(mox_dmarc **out, const mox_dmarc_config *cfg, const char *author_domain,
                  mox_errinfo *ei)
{
    if (!author_domain) {
        if (out)
            *out = NULL;
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "dmarc: NULL Author Domain");
    }
    return moxi_dmarc_create(out, cfg, author_domain, NULL, 0, 0, ei);
}

int mox_dmarc_new_message(mox_dmarc **out, const mox_dmarc_config *cfg, const void *header,
                          size_t len, mox_errinfo *ei)
{
    if (!header && len) {
        if (out)
            *out = NULL;
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "dmarc: NULL header");
    }
    return moxi_dmarc_create(out, cfg, NULL, header ? header : "", len, 0, ei);
}

void mox_dmarc_free(mox_dmarc *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->ncache; i++) {
        mox_free(d->cache[i].name);
        mox_free(d->cache[i].text);
        mox_dmarc_record_free(d->cache[i].rec);
    }
    mox_free(d->cache);
    for (size_t i = 0; i < d->ndkim; i++) {
        mox_free(d->dkim[i].domain);
        mox_free(d->dkim[i].psl_org);
    }
    mox_free(d->dkim);
    mox_free(d->author);
    mox_free(d->author_org_psl);
    mox_free(d->spf_domain);
    mox_free(d->spf_domain_given);
    mox_free(d->spf_org_psl);
    mox_free(d->reason);
    mox_dmarc_psl_free(d->own_psl);
    moxi_qset_clear(&d->qs);
    mox_free(d);
}

/* Inputs may change: not closed, not failed. */
static int inputs_open(mox_dmarc *d, const char *what)
{
    if (d->failed)
        return moxi_engine_fail(&d->eng, MOX_ERR_STATE, "dmarc: the evaluation failed earlier");
    if (d->closed)
        return moxi_engine_fail(&d->eng, MOX_ERR_STATE,
                                "dmarc: %s after the inputs were closed (the first query, or "
                                "mox_dmarc_auth_done with MOX_DMARC_F_AUTH_LATER)",
                                what);
    return MOX_OK;
}

int mox_dmarc_set_spf(mox_dmarc *d, int result, const char *domain)
{
    if (!d)
        return MOX_ERR_INVAL;
    if (result < MOX_DMARC_AUTH_NONE || result > MOX_DMARC_AUTH_PERMERROR)
        return moxi_engine_fail(&d->eng, MOX_ERR_INVAL, "dmarc: SPF result %d is not a "
                                "MOX_DMARC_AUTH_* value", result);
    int rc = inputs_open(d, "set_spf");
    if (rc != MOX_OK)
        return rc;
    int nomem;
    char *n = norm_domain(domain, &nomem);
    if (nomem)
        return MOX_ERR_NOMEM;
    char *g = NULL, *org = NULL;
    if (domain && !(g = moxi_strdup(domain)))
        rc = MOX_ERR_NOMEM;
    if (rc == MOX_OK && n && d->psl)
        rc = psl_org(d, n, &org);
    if (rc != MOX_OK) {
        mox_free(n);
        mox_free(g);
        return rc;
    }
    mox_free(d->spf_domain);
    mox_free(d->spf_domain_given);
    mox_free(d->spf_org_psl);
    d->spf_domain = n;
    d->spf_domain_given = g;
    d->spf_org_psl = org;
    d->spf_result = result;
    d->spf_set = 1;
    return MOX_OK;
}

int mox_dmarc_add_dkim(mox_dmarc *d, int result, const char *domain, const char *selector)
{
    (void)selector; /* kept by the caller for reports; alignment uses d= */
    if (!d)
        return MOX_ERR_INVAL;
    if (result < MOX_DMARC_AUTH_NONE || result > MOX_DMARC_AUTH_PERMERROR)
        return moxi_engine_fail(&d->eng, MOX_ERR_INVAL, "dmarc: DKIM result %d is not a "
                                "MOX_DMARC_AUTH_* value", result);
    int rc = inputs_open(d, "add_dkim");
    if (rc != MOX_OK)
        return rc;
    if (d->ndkim == d->capdkim) {
        size_t nc = d->capdkim ? d->capdkim * 2 : 4;
        dkim_id *nd = mox_realloc(d->dkim, nc * sizeof *nd);
        if (!nd)
            return MOX_ERR_NOMEM;
        d->dkim = nd;
        d->capdkim = nc;
    }
    int nomem;
    char *n = norm_domain(domain, &nomem);
    if (nomem)
        return MOX_ERR_NOMEM;
    char *org = NULL;
    if (n && d->psl && (rc = psl_org(d, n, &org)) != MOX_OK) {
        mox_free(n);
        return rc;
    }
    dkim_id *k = &d->dkim[d->ndkim++];
    memset(k, 0, sizeof *k);
    k->result = result;
    k->domain = n;
    k->psl_org = org;
    return MOX_OK;
}

int mox_dmarc_auth_done(mox_dmarc *d)
{
    if (!d)
        return MOX_ERR_INVAL;
    if (!(d->cfg.flags & MOX_DMARC_F_AUTH_LATER))
        return moxi_engine_fail(&d->eng, MOX_ERR_STATE,
                                "dmarc: auth_done without MOX_DMARC_F_AUTH_LATER");
    int rc = inputs_open(d, "auth_done");
    if (rc != MOX_OK)
        return rc;
    d->closed = 1;
    rc = reevaluate(d);
    if (rc != MOX_OK) {
        d->failed = 1;
        return moxi_engine_fail(&d->eng, rc, "dmarc: %s", mox_strerror(rc));
    }
    return MOX_OK;
}

/* ------------------------------------------------------------ cache */

static centry *cache_find(mox_dmarc *d, const char *prefix, const char *name, uint16_t type)
{
    size_t pl = strlen(prefix);
    for (size_t i = 0; i < d->ncache; i++) {
        centry *e = &d->cache[i];
        if (e->type == type && !strncmp(e->name, prefix, pl) && !strcmp(e->name + pl, name))
            return e;
    }
    return NULL;
}

/* Adds the question prefix+name to the cache and hands it out (*out: the
 * entry). A name longer than a DNS name can be (253 octets, RFC 1035
 * §2.3.4; the Author Domain may be that long, "_dmarc." then makes it
 * longer) cannot exist: it is not asked and reads as NXDOMAIN at once. */
static int cache_ask(mox_dmarc *d, const char *prefix, const char *name, uint16_t type,
                     centry **out)
{
    if (d->ncache == d->capcache) {
        size_t nc = d->capcache ? d->capcache * 2 : 8;
        centry *ne = mox_realloc(d->cache, nc * sizeof *ne);
        if (!ne)
            return MOX_ERR_NOMEM;
        d->cache = ne;
        d->capcache = nc;
    }
    size_t pl = strlen(prefix), nl = strlen(name);
    char *q = mox_malloc(pl + nl + 1);
    if (!q)
        return MOX_ERR_NOMEM;
    memcpy(q, prefix, pl);
    memcpy(q + pl, name, nl + 1);
    uint32_t id = 0;
    if (pl + nl <= 253) {
        int rc = moxi_qset_dns(&d->qs, q, pl + nl, type, (uintptr_t)d->ncache, &id);
        if (rc != MOX_OK) {
            mox_free(q);
            return MOX_ERR_NOMEM;
        }
    }
    centry *e = &d->cache[d->ncache++];
    memset(e, 0, sizeof *e);
    e->name = q;
    e->type = type;
    e->qid = id;
    if (id == 0) {
        e->answered = 1;
        e->status = MOX_DNS_NXDOMAIN;
        e->synthetic = 1;
    }
    *out = e;
    return MOX_OK;
}

static int temp_status(int st)
{
    return st != MOX_DNS_NOERROR && st != MOX_DNS_NXDOMAIN;
}

/* Looks up a policy record question. W_DONE with *e, W_NEED after asking,
 * W_TEMP, or a negative error. */
static int txt_at(mox_dmarc *d, const char *domain, centry **e)
{
    *e = cache_find(d, "_dmarc.", domain, MOX_DNS_TXT);
    if (!*e) {
        int rc = cache_ask(d, "_dmarc.", domain, MOX_DNS_TXT, e);
        if (rc < 0)
            return rc;
    }
    if (!(*e)->answered)
        return W_NEED; /* asked, not answered yet */
    (*e)->used = 1;
    if (temp_status((*e)->status))
        return W_TEMP;
    return W_DONE;
}

/* ------------------------------------------------------------ tree walk */

struct walkres {
    const char *org;    /* suffix of the start domain */
    const char *psd;    /* target with psd=y, or NULL */
    int nfound;
};

/* RFC 9989 §4.10 and §4.10.2 for start domain X (A-labels). */
static int walk(mox_dmarc *d, const char *x, struct walkres *w)
{
    const char *found[8];
    const mox_dmarc_record *frec[8];
    int nfound = 0;
    size_t labels = moxi_dmarc_labels(x);
    size_t nq = 0;
    size_t cur = labels;
    memset(w, 0, sizeof *w);
    while (cur >= 1 && nq < d->cfg.max_walk_queries) {
        const char *target = moxi_dmarc_suffix(x, cur);
        centry *e;
        int rc = txt_at(d, target, &e);
        if (rc != W_DONE)
            return rc;
        nq++;
        if (e->rec) {
            found[nfound] = target;
            frec[nfound++] = e->rec;
            if (e->rec->psd != MOX_DMARC_PSD_U)
                break;
        }
        /* step 4: below 8 labels drop one; from 8 on jump to 7 */
        if (cur == labels && labels >= 8)
            cur = 7;
        else
            cur--;
    }
    w->nfound = nfound;
    for (int i = 0; i < nfound; i++) {
        if (frec[i]->psd == MOX_DMARC_PSD_N) {
            w->org = found[i];
            return W_DONE;
        }
        if (frec[i]->psd == MOX_DMARC_PSD_Y && found[i] != x) {
            w->psd = found[i];
            w->org = moxi_dmarc_suffix(x, moxi_dmarc_labels(found[i]) + 1);
            return W_DONE;
        }
    }
    w->org = nfound ? found[nfound - 1] : x;
    return W_DONE;
}

/* ------------------------------------------------------------ evaluation */

struct eval {
    int result;
    const char *record_domain;
    centry *rec_entry;        /* into d->cache: valid only while nothing is
                                 asked (an ask may move the cache), which
                                 holds whenever the pass ends in W_DONE */
    const char *org;
    int spf_align, dkim_align;
    const char *dkim_domain;
    int policy, source;
    int exists;
    const char *why;          /* static reason part */
    const char *temp_name;    /* the question that failed */
    int temp_status;
};

static int psl_ready(mox_dmarc *d)
{
    if (d->psl)
        return MOX_OK;
    if (d->cfg.psl) {
        d->psl = d->cfg.psl;
    } else {
        int rc = mox_dmarc_psl_new(&d->own_psl, NULL);
        if (rc != MOX_OK)
            return rc;
        d->psl = d->own_psl;
    }
    return MOX_OK;
}

static int psl_org(mox_dmarc *d, const char *dom, char **out)
{
    if (*out || !dom)
        return MOX_OK;
    mox_buf b = MOX_BUF_INIT;
    int rc = mox_dmarc_psl_org_domain(d->psl, dom, &b);
    if (rc != MOX_OK) {
        mox_buf_free(&b);
        return rc;
    }
    *out = mox_buf_steal(&b, NULL);
    return *out ? MOX_OK : MOX_ERR_NOMEM;
}

/* Alignment of one authenticated identifier `id` with the author. Returns
 * W_DONE with *align set, W_NEED, or an error. */
static int align_one(mox_dmarc *d, struct eval *ev, const char *id, const char *id_psl_org,
                     int strict, int *align)
{
    if (moxi_dmarc_name_eq(id, d->author)) {
        *align = MOX_DMARC_ALIGN_PASS;
        return W_DONE;
    }
    if (strict) {
        *align = MOX_DMARC_ALIGN_FAIL;
        return W_DONE;
    }
    if (d->cfg.mode == MOX_DMARC_MODE_RFC7489) {
        *align = moxi_dmarc_name_eq(id_psl_org, d->author_org_psl) ? MOX_DMARC_ALIGN_PASS
                                                                  : MOX_DMARC_ALIGN_FAIL;
        return W_DONE;
    }
    struct walkres wa, wi;
    int rc = walk(d, d->author, &wa);
    if (rc < 0)
        return rc;
    if (rc == W_TEMP) {
        *align = MOX_DMARC_ALIGN_TEMPERROR;
        return W_DONE;
    }
    /* The identifier's walk does not depend on the author's: its next
     * question is asked now too, so both run in parallel. */
    int ri = walk(d, id, &wi);
    if (ri < 0)
        return ri;
    if (rc == W_NEED || ri == W_NEED)
        return W_NEED;
    if (ri == W_TEMP) {
        *align = MOX_DMARC_ALIGN_TEMPERROR;
        return W_DONE;
    }
    ev->org = wa.org;
    *align = moxi_dmarc_name_eq(wa.org, wi.org) ? MOX_DMARC_ALIGN_PASS : MOX_DMARC_ALIGN_FAIL;
    return W_DONE;
}

static int lower(int policy)
{
    return policy > MOX_DMARC_POLICY_NONE ? policy - 1 : policy;
}

/* The policy record: W_DONE with ev->rec_entry set (NULL: no record). */
static int discover(mox_dmarc *d, struct eval *ev)
{
    centry *e;
    int rc = txt_at(d, d->author, &e);
    if (rc == W_TEMP) {
        ev->temp_name = e->name;
        ev->temp_status = e->status;
    }
    if (rc != W_DONE)
        return rc;
    if (e->rec) {
        ev->rec_entry = e;
        ev->record_domain = d->author;
        return W_DONE;
    }
    if (d->cfg.mode == MOX_DMARC_MODE_RFC7489) {
        if (moxi_dmarc_name_eq(d->author_org_psl, d->author))
            return W_DONE;
        rc = txt_at(d, d->author_org_psl, &e);
        if (rc == W_TEMP) {
            ev->temp_name = e->name;
            ev->temp_status = e->status;
        }
        if (rc != W_DONE)
            return rc;
        if (e->rec) {
            ev->rec_entry = e;
            ev->record_domain = d->author_org_psl;
            ev->org = d->author_org_psl;
        }
        return W_DONE;
    }
    struct walkres w;
    rc = walk(d, d->author, &w);
    if (rc == W_TEMP) {
        /* name the failed question for the reason */
        for (size_t i = 0; i < d->ncache; i++)
            if (d->cache[i].type == MOX_DNS_TXT && d->cache[i].answered && d->cache[i].used &&
                temp_status(d->cache[i].status)) {
                ev->temp_name = d->cache[i].name;
                ev->temp_status = d->cache[i].status;
            }
    }
    if (rc != W_DONE)
        return rc;
    ev->org = w.org;
    e = cache_find(d, "_dmarc.", w.org, MOX_DNS_TXT);
    if (e && e->rec) {
        ev->rec_entry = e;
        ev->record_domain = w.org;
    } else if (w.psd) {
        e = cache_find(d, "_dmarc.", w.psd, MOX_DNS_TXT);
        ev->rec_entry = e;
        ev->record_domain = w.psd;
    }
    return W_DONE;
}

static int evaluate(mox_dmarc *d, struct eval *ev)
{
    memset(ev, 0, sizeof *ev);
    for (size_t i = 0; i < d->ncache; i++)
        d->cache[i].used = 0;
    ev->spf_align = ev->dkim_align = MOX_DMARC_ALIGN_UNKNOWN;
    ev->policy = MOX_DMARC_POLICY_UNSPECIFIED;
    ev->exists = -1;
    if (d->from_status != MOX_DMARC_FROM_OK) {
        ev->result = MOX_DMARC_PERMERROR;
        ev->why = mox_dmarc_from_name(d->from_status);
        return W_DONE;
    }
    int rc = discover(d, ev);
    if (rc == W_TEMP) {
        ev->result = MOX_DMARC_TEMPERROR;
        ev->why = "DNS failure during policy discovery";
        return W_DONE;
    }
    if (rc != W_DONE)
        return rc;
    if (!ev->rec_entry) {
        ev->result = MOX_DMARC_NONE;
        ev->why = "no DMARC policy record";
        if (d->cfg.flags & MOX_DMARC_F_DISCOVER_ONLY) {
            struct walkres w;
            if (d->cfg.mode == MOX_DMARC_MODE_RFC7489) {
                ev->org = d->author_org_psl;
                return W_DONE;
            }
            rc = walk(d, d->author, &w);
            if (rc == W_DONE)
                ev->org = w.org;
            return rc == W_TEMP ? W_DONE : rc;
        }
        return W_DONE;
    }
    const mox_dmarc_record *r = ev->rec_entry->rec;
    int p = r->p, sp = r->sp, np = r->np;
    if ((r->problems & (MOX_DMARC_PROB_P_INVALID | MOX_DMARC_PROB_SP | MOX_DMARC_PROB_NP)) ||
        r->p == MOX_DMARC_POLICY_UNSPECIFIED) {
        /* §4.10.1: no valid p=, or a bad sp=/np=: p=none when rua has a
         * valid URI, else no DMARC processing at all */
        if (r->nrua == 0) {
            ev->result = MOX_DMARC_NONE;
            ev->why = "policy record without a valid p= and without rua=";
            ev->rec_entry = NULL;
            ev->record_domain = NULL;
            return W_DONE;
        }
        p = sp = np = MOX_DMARC_POLICY_NONE;
    }
    int sub = !moxi_dmarc_name_eq(ev->record_domain, d->author);
    if (d->cfg.mode == MOX_DMARC_MODE_RFC7489)
        np = MOX_DMARC_POLICY_UNSPECIFIED; /* RFC 9091 is not RFC 7489 */
    if (!sub) {
        ev->policy = p;
        ev->source = MOX_DMARC_SRC_P;
    } else if (sp >= 0) {
        ev->policy = sp;
        ev->source = MOX_DMARC_SRC_SP;
    } else {
        ev->policy = p;
        ev->source = MOX_DMARC_SRC_P;
    }
    if (d->cfg.flags & MOX_DMARC_F_DISCOVER_ONLY) {
        ev->result = MOX_DMARC_NONE;
        ev->why = "policy discovery only";
        if (d->cfg.mode == MOX_DMARC_MODE_RFC7489) {
            ev->org = d->author_org_psl;
        } else {
            struct walkres w;
            rc = walk(d, d->author, &w);
            if (rc == W_TEMP) {
                ev->result = MOX_DMARC_TEMPERROR;
                ev->why = "DNS failure while finding the Organizational Domain";
                return W_DONE;
            }
            if (rc != W_DONE)
                return rc;
            ev->org = w.org;
        }
        if (!sub || np < 0)
            return W_DONE;
    } else {
        if (!d->closed)
            return W_WAIT; /* MOX_DMARC_F_AUTH_LATER: the outcomes come later */
        /* SPF and the first DKIM identifier still to examine are aligned in
         * parallel: a question one of them lacks does not stop the other. */
        int need = 0;
        if (d->spf_result == MOX_DMARC_AUTH_PASS && d->spf_domain) {
            rc = align_one(d, ev, d->spf_domain, d->spf_org_psl, r->aspf_strict, &ev->spf_align);
            if (rc == W_NEED)
                need = 1;
            else if (rc != W_DONE)
                return rc;
        } else {
            ev->spf_align = MOX_DMARC_ALIGN_NONE;
        }
        /* DKIM: any aligned passing signature, in order: a later one is
         * looked at only when the ones before did not align */
        ev->dkim_align = MOX_DMARC_ALIGN_NONE;
        unsigned examined = 0;
        for (size_t i = 0; i < d->ndkim && examined < d->cfg.max_dkim; i++) {
            dkim_id *k = &d->dkim[i];
            if (k->result != MOX_DMARC_AUTH_PASS || !k->domain)
                continue;
            examined++;
            int a;
            rc = align_one(d, ev, k->domain, k->psl_org, r->adkim_strict, &a);
            if (rc == W_NEED) {
                need = 1;
                break;
            }
            if (rc != W_DONE)
                return rc;
            if (a == MOX_DMARC_ALIGN_PASS) {
                ev->dkim_align = a;
                ev->dkim_domain = k->domain;
                break;
            }
            if (a == MOX_DMARC_ALIGN_TEMPERROR || ev->dkim_align == MOX_DMARC_ALIGN_NONE)
                ev->dkim_align = a;
        }
        if (need)
            return W_NEED;
        if (ev->spf_align == MOX_DMARC_ALIGN_PASS || ev->dkim_align == MOX_DMARC_ALIGN_PASS) {
            ev->result = MOX_DMARC_PASS;
            ev->why = ev->dkim_align == MOX_DMARC_ALIGN_PASS ? "aligned DKIM signature"
                                                             : "aligned SPF pass";
            return W_DONE;
        }
        if (ev->spf_align == MOX_DMARC_ALIGN_TEMPERROR ||
            ev->dkim_align == MOX_DMARC_ALIGN_TEMPERROR) {
            ev->result = MOX_DMARC_TEMPERROR;
            ev->why = "DNS failure while checking alignment";
            return W_DONE;
        }
        ev->result = MOX_DMARC_FAIL;
        if (ev->spf_align == MOX_DMARC_ALIGN_NONE && ev->dkim_align == MOX_DMARC_ALIGN_NONE)
            ev->why = "no SPF or DKIM pass";
        else
            ev->why = "no authenticated identifier aligned with the From domain";
        if (!sub || np < 0)
            return W_DONE;
    }
    /* np= applies to non-existent subdomains (RFC 8020 NXDOMAIN) */
    centry *e = cache_find(d, "", d->author, MOX_DNS_A);
    if (!e && (rc = cache_ask(d, "", d->author, MOX_DNS_A, &e)) < 0)
        return rc;
    if (!e->answered)
        return W_NEED;
    e->used = 1;
    if (temp_status(e->status)) {
        ev->result = MOX_DMARC_TEMPERROR;
        ev->why = "DNS failure checking whether the From domain exists";
        ev->temp_name = e->name;
        ev->temp_status = e->status;
        return W_DONE;
    }
    ev->exists = e->status != MOX_DNS_NXDOMAIN;
    if (!ev->exists) {
        ev->policy = np;
        ev->source = MOX_DMARC_SRC_NP;
    }
    return W_DONE;
}

static int finish(mox_dmarc *d, const struct eval *ev)
{
    mox_dmarc_outcome *o = &d->out;
    o->result = ev->result;
    o->from_status = d->from_status;
    o->policy = ev->policy;
    o->policy_source = ev->source;
    o->domain = d->author;
    o->record_domain = ev->record_domain;
    o->org_domain = ev->org;
    o->record = ev->rec_entry ? ev->rec_entry->rec : NULL;
    o->record_text = ev->rec_entry ? ev->rec_entry->text : NULL;
    o->spf_aligned = ev->spf_align;
    o->dkim_aligned = ev->dkim_align;
    o->spf_domain = d->spf_domain_given;
    o->dkim_domain = ev->dkim_domain;
    o->author_exists = ev->exists;
    o->dns_queries = 0;
    for (size_t i = 0; i < d->ncache; i++)
        o->dns_queries += !d->cache[i].synthetic;
    o->authentic = 0;
    o->disposition = MOX_DMARC_POLICY_NONE;
    if (ev->result == MOX_DMARC_PERMERROR) {
        static const int bad_from[] = {MOX_DMARC_POLICY_REJECT, MOX_DMARC_POLICY_REJECT,
                                       MOX_DMARC_POLICY_QUARANTINE, MOX_DMARC_POLICY_NONE};
        o->disposition = bad_from[d->cfg.bad_from];
    } else if (ev->result == MOX_DMARC_FAIL) {
        int disp = ev->policy < 0 ? MOX_DMARC_POLICY_NONE : ev->policy;
        const mox_dmarc_record *r = o->record;
        if (d->cfg.mode == MOX_DMARC_MODE_RFC9989) {
            if (r && r->testing && !(d->cfg.flags & MOX_DMARC_F_IGNORE_TESTING) &&
                disp > MOX_DMARC_POLICY_NONE) {
                disp = lower(disp);
                o->testing = 1;
            }
        } else if (r && r->pct >= 0 && r->pct < 100 && disp > MOX_DMARC_POLICY_NONE) {
            /* RFC 7489 §6.6.4: a message not sampled gets the next policy down */
            unsigned char rnd[2] = {0, 0};
            const mox_random *rs = d->cfg.env ? d->cfg.env->random : NULL;
            if (mox_random_fill(rs, rnd, sizeof rnd) != MOX_OK)
                rnd[0] = rnd[1] = 0xff; /* fail towards the lighter policy */
            unsigned v = ((unsigned)rnd[0] << 8 | rnd[1]) % 100;
            if (v >= (unsigned)r->pct) {
                disp = lower(disp);
                o->sampled_out = 1;
            }
        }
        o->disposition = disp;
    }
    /* authentic: every answer the evaluation used (a question asked in
     * parallel that turned out not to matter does not count) */
    int auth = 0;
    for (size_t i = 0; i < d->ncache; i++)
        if (d->cache[i].used && !d->cache[i].synthetic) {
            if (!d->cache[i].authentic) {
                auth = 0;
                break;
            }
            auth = 1;
        }
    o->authentic = auth;
    mox_buf b = MOX_BUF_INIT;
    int rc = mox_buf_append_str(&b, ev->why ? ev->why : "");
    if (rc == MOX_OK && ev->temp_name)
        rc = mox_buf_appendf(&b, " (%s: %s)", ev->temp_name, mox_dns_status_name(ev->temp_status));
    if (rc == MOX_OK && ev->result == MOX_DMARC_FAIL) {
        if (d->spf_result == MOX_DMARC_AUTH_PASS && d->spf_domain)
            rc = mox_buf_appendf(&b, "; spf domain %s not aligned", d->spf_domain);
        for (size_t i = 0; rc == MOX_OK && i < d->ndkim; i++)
            if (d->dkim[i].result == MOX_DMARC_AUTH_PASS && d->dkim[i].domain)
                rc = mox_buf_appendf(&b, "; dkim d=%s not aligned", d->dkim[i].domain);
    }
    if (rc == MOX_OK && ev->result == MOX_DMARC_PASS)
        rc = mox_buf_appendf(&b, " (%s)", ev->dkim_domain ? ev->dkim_domain : d->spf_domain);
    if (rc == MOX_OK && o->testing)
        rc = mox_buf_append_str(&b, "; t=y: policy lowered one level");
    if (rc == MOX_OK && o->sampled_out)
        rc = mox_buf_append_str(&b, "; not sampled by pct=: policy lowered one level");
    if (rc != MOX_OK) {
        mox_buf_free(&b);
        return rc;
    }
    d->reason = mox_buf_steal(&b, NULL);
    if (!d->reason)
        return MOX_ERR_NOMEM;
    o->reason = d->reason;
    d->done = 1;
    return MOX_OK;
}

/* Recomputes the evaluation from the cache: finishes it, or asks what it
 * lacks. W_WAIT, and in AUTH_LATER mode any finished result before
 * auth_done, leave it waiting for the SPF/DKIM outcomes. */
static int reevaluate(mox_dmarc *d)
{
    if (d->done || d->failed)
        return MOX_OK;
    struct eval ev;
    int rc = evaluate(d, &ev);
    if (rc < 0)
        return rc;
    if (rc != W_DONE)
        return MOX_OK;
    if ((d->cfg.flags & MOX_DMARC_F_AUTH_LATER) && !d->closed)
        return MOX_OK; /* the outcome is read once the inputs are final */
    /* questions not handed out yet are not needed any more */
    for (size_t i = 0; i < d->ncache; i++)
        if (!d->cache[i].answered && d->cache[i].qid &&
            d->qs.v[d->cache[i].qid - d->qs.base].state == MOXI_Q_UNASKED)
            moxi_qset_cancel(&d->qs, d->cache[i].qid);
    return finish(d, &ev);
}

/* Keeps what the evaluation needs of an answer. */
static int take(mox_dmarc *d, centry *e, const mox_dns_answer *ans)
{
    e->status = ans->status;
    e->authentic = ans->authentic;
    e->nrec = 0;
    if (e->type == MOX_DNS_TXT && ans->status == MOX_DNS_NOERROR) {
        mox_buf b = MOX_BUF_INIT;
        for (size_t i = 0; i < ans->nrr; i++) {
            if (ans->rr[i].type != MOX_DNS_TXT)
                continue;
            mox_buf_reset(&b);
            if (mox_dns_txt_join(&ans->rr[i], &b) != MOX_OK) {
                mox_buf_free(&b);
                return MOX_ERR_NOMEM;
            }
            if (!mox_dmarc_is_record((const char *)b.data, b.len))
                continue;
            if (e->nrec++ == 0) {
                e->text = moxi_strndup(b.data ? (const char *)b.data : "", b.len);
                if (!e->text) {
                    mox_buf_free(&b);
                    return MOX_ERR_NOMEM;
                }
            }
        }
        mox_buf_free(&b);
        if (e->nrec == 1) {
            int rc = mox_dmarc_record_parse(e->text, strlen(e->text), 0, &e->rec, NULL);
            if (rc == MOX_ERR_NOMEM)
                return rc;
        } else if (e->nrec > 1) {
            /* several records: all discarded (RFC 9989 §4.10 step 2) */
            mox_free(e->text);
            e->text = NULL;
        }
    }
    e->answered = 1;
    return MOX_OK;
}

unsigned mox_dmarc_want(const mox_dmarc *d)
{
    if (!d || d->failed)
        return 0;
    if (d->done)
        return MOX_WANT_DONE;
    return moxi_qset_want(&d->qs);
}

int mox_dmarc_query(mox_dmarc *d, mox_query *q)
{
    if (!d || !q)
        return d ? moxi_engine_fail(&d->eng, MOX_ERR_INVAL, "dmarc: NULL query") : MOX_ERR_INVAL;
    if (!(d->cfg.flags & MOX_DMARC_F_AUTH_LATER))
        d->closed = 1; /* the SPF/DKIM outcomes were given before */
    if (d->failed || d->done)
        return MOX_ERR_AGAIN;
    return moxi_qset_next(&d->qs, q);
}

int mox_dmarc_answer(mox_dmarc *d, const mox_answer *a)
{
    if (!d)
        return MOX_ERR_INVAL;
    if (d->failed)
        return moxi_engine_fail(&d->eng, MOX_ERR_STATE, "dmarc: the evaluation failed earlier");
    const moxi_qslot *sl;
    int rc = moxi_qset_take(&d->qs, &d->eng, a, &sl);
    if (rc != MOX_OK)
        return rc;
    if (d->done)
        return MOX_OK; /* not needed any more */
    const mox_dns_answer *ans = mox_answer_dns(a);
    rc = take(d, &d->cache[sl->tag], ans);
    if (rc == MOX_OK)
        rc = reevaluate(d);
    if (rc != MOX_OK) {
        d->failed = 1;
        return moxi_engine_fail(&d->eng, rc, "dmarc: %s; the evaluation is unusable",
                                mox_strerror(rc));
    }
    return MOX_OK;
}

const mox_dmarc_outcome *mox_dmarc_result(const mox_dmarc *d)
{
    return d && d->done && !d->failed ? &d->out : NULL;
}

static unsigned ops_want(const void *self) { return mox_dmarc_want(self); }
static int ops_query(void *self, mox_query *q) { return mox_dmarc_query(self, q); }
static int ops_answer(void *self, const mox_answer *a) { return mox_dmarc_answer(self, a); }

static const moxi_engine_ops dmarc_ops = {
    .name = "dmarc",
    .want = ops_want,
    .query = ops_query,
    .answer = ops_answer,
};

mox_engine *mox_dmarc_engine(mox_dmarc *d) { return d ? &d->eng : NULL; }

size_t mox_dmarc_lookup_count(const mox_dmarc *d)
{
    return d ? d->ncache : 0;
}

int mox_dmarc_lookup_get(const mox_dmarc *d, size_t i, mox_dmarc_lookup *q)
{
    if (!d || !q)
        return MOX_ERR_INVAL;
    if (i >= d->ncache)
        return MOX_ERR_NOTFOUND;
    const centry *e = &d->cache[i];
    q->name = e->name;
    q->type = e->type;
    q->status = e->answered ? e->status : -1;
    q->records = e->nrec;
    q->record = e->nrec == 1 ? e->text : NULL;
    return MOX_OK;
}

const char *mox_dmarc_result_name(int result)
{
    switch (result) {
    case MOX_DMARC_NONE: return "none";
    case MOX_DMARC_PASS: return "pass";
    case MOX_DMARC_FAIL: return "fail";
    case MOX_DMARC_TEMPERROR: return "temperror";
    case MOX_DMARC_PERMERROR: return "permerror";
    default: return "?";
    }
}

const char *mox_dmarc_align_name(int align)
{
    switch (align) {
    case MOX_DMARC_ALIGN_NONE: return "none";
    case MOX_DMARC_ALIGN_PASS: return "pass";
    case MOX_DMARC_ALIGN_FAIL: return "fail";
    case MOX_DMARC_ALIGN_TEMPERROR: return "temperror";
    case MOX_DMARC_ALIGN_UNKNOWN: return "unknown";
    default: return "?";
    }
}
