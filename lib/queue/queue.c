/* The queue: schedule, attempts, DSN decisions, hold rules, suppression,
 * events. Storage is behind mox_queue_store; delivery behind
 * mox_queue_deliverer. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_priv.h"
#include "mox/dsn.h"
#include "mox/queue.h"

#define MAX_RETRIES 64
#define DAY_S 86400u
#define MAX_HOLD_S (60u * DAY_S) /* FUTURERELEASE upper bound, 60 days */

static const uint32_t default_retry[] = {450, 900, 1800, 3600, 7200, 14400, 28800};

/* A string pool: copies that live as long as their owner. */
struct pool {
    char **v;
    size_t n, cap;
};

static const char *pool_dup(struct pool *p, const char *s, int *nomem)
{
    if (!s)
        return NULL;
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 16;
        char **nv = mox_realloc(p->v, nc * sizeof *nv);
        if (!nv) {
            *nomem = 1;
            return NULL;
        }
        p->v = nv;
        p->cap = nc;
    }
    char *c = moxi_strdup(s);
    if (!c) {
        *nomem = 1;
        return NULL;
    }
    p->v[p->n++] = c;
    return c;
}

static const void *pool_mem(struct pool *p, const void *b, size_t n, int *nomem)
{
    if (!b || !n)
        return NULL;
    char *c = mox_malloc(n + 1);
    if (!c) {
        *nomem = 1;
        return NULL;
    }
    memcpy(c, b, n);
    c[n] = 0;
    if (!pool_dup(p, "", nomem)) {
        mox_free(c);
        return NULL;
    }
    mox_free(p->v[p->n - 1]);
    p->v[p->n - 1] = c;
    return c;
}

static void pool_free(struct pool *p)
{
    for (size_t i = 0; i < p->n; i++)
        mox_free(p->v[i]);
    mox_free(p->v);
    memset(p, 0, sizeof *p);
}

struct dest {
    char *domain;
    uint32_t active;
    uint32_t window; /* slow start: attempts this node may run at once */
    struct dest *next;
};

struct mox_queue_attempt {
    mox_queue *q;
    mox_queue_attempt_info info;
    mox_queue_msg msg;
    mox_queue_rcpt *rcpts;
    unsigned char *done;
    size_t n, cap;
    struct pool pool;
    mox_buf body;
    int slot;
    int nomem;
    int64_t started_ms;
    struct dest *dest;
    struct mox_queue_attempt *prev, *next;
};

struct mox_queue {
    mox_queue_config cfg;
    uint32_t retry[MAX_RETRIES];
    size_t nretry;
    char *owner, *hostname, *sep;
    mox_queue_store *st;
    mox_queue_deliverer deliverer;
    int have_deliverer;
    mox_queue_attempt *inflight;
    size_t ninflight;
    struct dest *dests;
    int64_t next_due;  /* INT64_MAX: nothing known */
    int64_t last_poll;
    int64_t last_house;
    int64_t last_renew;
    atomic_int wake;
};

static int64_t now_ms(const mox_queue *q)
{
    return mox_clock_wall_ns(q->cfg.env ? q->cfg.env->clock : NULL) / 1000000;
}

static const mox_random *rnd(const mox_queue *q)
{
    return q->cfg.env ? q->cfg.env->random : NULL;
}

static int inval(mox_errinfo *ei, const char *what)
{
    return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "queue: %s", what);
}

static int nomem(mox_errinfo *ei)
{
    return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
}

static void lower(char *s)
{
    for (; s && *s; s++)
        *s = (char)moxi_lower((unsigned char)*s);
}

static int has_ctl(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- config */

void mox_queue_config_init(mox_queue_config *c, size_t size)
{
    if (!c || size < sizeof(size_t))
        return;
    memset(c, 0, size);
    c->size = size;
}

int mox_queue_new(mox_queue **out, const mox_queue_config *cfg, mox_queue_store *store,
                  mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (out)
        *out = NULL;
    if (!out || !store)
        return inval(ei, "NULL out or store");
    if (store->size < sizeof(mox_queue_store))
        return inval(ei, "store interface from an older, incomplete version");
    mox_queue_config c = MOX_QUEUE_CONFIG_INIT;
    moxi_copy_sized(&c, cfg, sizeof c);
    if (c.nretry > MAX_RETRIES || (c.nretry && !c.retry_s))
        return inval(ei, "retry list longer than 64 or NULL");
    for (size_t i = 0; i < c.nretry; i++)
        if (c.retry_s[i] == 0)
            return inval(ei, "retry delay of 0 seconds");
    if (c.jitter_pct > 50)
        return inval(ei, "jitter over 50%");
    if (c.max_hold_s > MAX_HOLD_S)
        return inval(ei, "max_hold over 60 days");
    if (c.fromid_separator && !*c.fromid_separator)
        return inval(ei, "empty fromid_separator");
    mox_queue *q = mox_calloc(1, sizeof *q);
    if (!q)
        return nomem(ei);
    if (c.nretry) {
        memcpy(q->retry, c.retry_s, c.nretry * sizeof *q->retry);
        q->nretry = c.nretry;
    } else {
        memcpy(q->retry, default_retry, sizeof default_retry);
        q->nretry = MOX_ARRAY_LEN(default_retry);
    }
    if (!c.max_age_s)
        c.max_age_s = 4 * DAY_S;
    if (!c.jitter_pct && !(c.flags & MOX_QUEUE_NO_JITTER))
        c.jitter_pct = 5;
    if (c.flags & MOX_QUEUE_NO_JITTER)
        c.jitter_pct = 0;
    if (!c.delay_dsn_attempt)
        c.delay_dsn_attempt = 5;
    if (!c.concurrency)
        c.concurrency = 10;
    if (!c.per_destination)
        c.per_destination = 2;
    if (!c.keep_retired_s)
        c.keep_retired_s = DAY_S;
    if (!c.lease_s)
        c.lease_s = 1800;
    if (!c.max_hold_s)
        c.max_hold_s = MAX_HOLD_S;
    if (!c.max_rcpts)
        c.max_rcpts = 100;
    if (!c.poll_ms)
        c.poll_ms = 1000;
    if (c.deliverer) {
        mox_queue_deliverer d = {sizeof(mox_queue_deliverer), NULL, NULL};
        moxi_copy_sized(&d, c.deliverer, sizeof d);
        q->deliverer = d;
        q->have_deliverer = d.start != NULL;
    }
    char ownbuf[48];
    if (!c.owner) {
        unsigned char rb[8];
        if (mox_random_fill(c.env ? c.env->random : NULL, rb, sizeof rb)) {
            mox_free(q);
            return moxi_fail(ei, MOX_ERR_IO, 0, SIZE_MAX, "queue: random source failed");
        }
        snprintf(ownbuf, sizeof ownbuf, "node-%02x%02x%02x%02x%02x%02x%02x%02x", rb[0], rb[1],
                 rb[2], rb[3], rb[4], rb[5], rb[6], rb[7]);
    }
    q->owner = moxi_strdup(c.owner ? c.owner : ownbuf);
    q->hostname = moxi_strdup(c.hostname ? c.hostname : "localhost");
    q->sep = moxi_strdup(c.fromid_separator ? c.fromid_separator : "+");
    if (!q->owner || !q->hostname || !q->sep) {
        mox_free(q->owner);
        mox_free(q->hostname);
        mox_free(q->sep);
        mox_free(q);
        return nomem(ei);
    }
    c.owner = q->owner;
    c.hostname = q->hostname;
    c.fromid_separator = q->sep;
    c.retry_s = q->retry;
    c.nretry = q->nretry;
    c.deliverer = q->have_deliverer ? &q->deliverer : NULL;
    q->cfg = c;
    q->st = store;
    q->next_due = INT64_MAX;
    atomic_init(&q->wake, 1);
    *out = q;
    return MOX_OK;
}

static void attempt_free(mox_queue_attempt *a)
{
    if (!a)
        return;
    pool_free(&a->pool);
    mox_buf_free(&a->body);
    mox_free(a->rcpts);
    mox_free(a->done);
    mox_free(a);
}

void mox_queue_free(mox_queue *q)
{
    if (!q)
        return;
    for (mox_queue_attempt *a = q->inflight; a;) {
        mox_queue_attempt *n = a->next;
        attempt_free(a);
        a = n;
    }
    for (struct dest *d = q->dests; d;) {
        struct dest *n = d->next;
        mox_free(d->domain);
        mox_free(d);
        d = n;
    }
    mox_free(q->owner);
    mox_free(q->hostname);
    mox_free(q->sep);
    mox_free(q);
}

size_t mox_queue_inflight(const mox_queue *q)
{
    return q ? q->ninflight : 0;
}

int64_t mox_queue_next_run(const mox_queue *q)
{
    if (!q)
        return INT64_MAX;
    if (atomic_load(&q->wake))
        return 0;
    int64_t poll = q->last_poll + q->cfg.poll_ms;
    return q->next_due < poll ? q->next_due : poll;
}

static const mox_metrics *metrics(const mox_queue *q)
{
    return q->cfg.env ? q->cfg.env->metrics : NULL;
}

static void count(const mox_queue *q, const char *name, const char *label, const char *value)
{
    mox_metric_label l = {label, value};
    mox_metric_count(metrics(q), name, label ? &l : NULL, label ? 1 : 0, 1);
}

static void event(mox_queue *q, int kind, const mox_queue_msg *m, int64_t rcpt_id,
                  const char *rcpt, int code, const char *enh, const char *text, int attempts,
                  int remote)
{
    if (!q->cfg.on_event)
        return;
    mox_queue_event ev = {kind,      m->id,    rcpt_id,  m->account,   m->mail_from, rcpt,
                          m->fromid, code,     enh,      text,         attempts,     remote,
                          m->extra,  m->extra_len};
    q->cfg.on_event(q->cfg.event_ctx, &ev);
}

/* ---------------------------------------------------------------- addresses */

int mox_queue_address_normalize(const char *address, mox_buf *out)
{
    if (!address || !out)
        return MOX_ERR_INVAL;
    const char *at = strrchr(address, '@');
    if (!at || at == address || !at[1])
        return MOX_ERR_INVAL;
    size_t keep = out->len;
    size_t llen = (size_t)(at - address);
    const char *plus = memchr(address, '+', llen);
    if (plus && plus > address)
        llen = (size_t)(plus - address);
    int rc = mox_buf_append(out, address, llen);
    if (rc == 0)
        rc = mox_buf_append_str(out, at);
    if (rc) {
        out->len = keep;
        return rc;
    }
    lower((char *)out->data + keep);
    return MOX_OK;
}

/* Lower-cased domain of an address (after the last '@'), or "". */
static char *domain_of(const char *addr)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    char *d = moxi_strdup(at ? at + 1 : "");
    lower(d);
    return d;
}

/* ---------------------------------------------------------------- enqueue */

struct rules_ctx {
    struct pool pool;
    mox_queue_rule r[64];
    size_t n;
    int nomem;
};

static int rule_collect(void *ctx, const mox_queue_rule *r)
{
    struct rules_ctx *c = ctx;
    if (c->n >= MOX_ARRAY_LEN(c->r))
        return 1;
    mox_queue_rule *d = &c->r[c->n++];
    d->id = r->id;
    d->account = pool_dup(&c->pool, r->account, &c->nomem);
    d->from_domain = pool_dup(&c->pool, r->from_domain, &c->nomem);
    d->rcpt_domain = pool_dup(&c->pool, r->rcpt_domain, &c->nomem);
    return 0;
}

static int rule_match(const mox_queue_rule *r, const char *account, const char *from_domain,
                      const char *rcpt_domain)
{
    return (!r->account || !strcmp(r->account, account)) &&
           (!r->from_domain || !strcmp(r->from_domain, from_domain)) &&
           (!r->rcpt_domain || !strcmp(r->rcpt_domain, rcpt_domain));
}

struct supp_hit {
    int64_t now;
    int hit;
    char reason[200];
};

static int supp_check_fn(void *ctx, const mox_queue_suppression *s)
{
    struct supp_hit *h = ctx;
    if (s->expires_ms && s->expires_ms <= h->now)
        return 0;
    h->hit = 1;
    snprintf(h->reason, sizeof h->reason, "%s", s->reason ? s->reason : "");
    return 1;
}

/* An account's unexpired suppressions: "address\0reason" strings. */
struct supp_set {
    char **v;
    size_t n, cap;
    int64_t now;
    int loaded, nomem;
};

static int supp_collect(void *ctx, const mox_queue_suppression *s)
{
    struct supp_set *l = ctx;
    if (s->expires_ms && s->expires_ms <= l->now)
        return 0;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        char **nv = mox_realloc(l->v, nc * sizeof *nv);
        if (!nv) {
            l->nomem = 1;
            return 1;
        }
        l->v = nv;
        l->cap = nc;
    }
    const char *reason = s->reason ? s->reason : "";
    size_t a = strlen(s->address), b = strlen(reason);
    char *e = mox_malloc(a + b + 2);
    if (!e) {
        l->nomem = 1;
        return 1;
    }
    memcpy(e, s->address, a + 1);
    memcpy(e + a + 1, reason, b + 1);
    l->v[l->n++] = e;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int enqueue_internal(mox_queue *q, mox_queue_submission *s, mox_errinfo *ei)
{
    int64_t now = now_ms(q);
    if (!s->account || !*s->account || has_ctl(s->account))
        return inval(ei, "submission without account");
    if (!s->rcpts || !s->nrcpts)
        return inval(ei, "submission without recipients");
    if (!s->data && s->len)
        return inval(ei, "submission data NULL");
    const char *from = s->mail_from ? s->mail_from : "";
    if (has_ctl(from) || (*from && !strchr(from, '@')))
        return inval(ei, "bad MAIL FROM address");
    if (s->envid && has_ctl(s->envid))
        return inval(ei, "ENVID with control characters");
    if (s->ret < 0 || s->ret > MOX_QUEUE_RET_HDRS)
        return inval(ei, "bad RET");
    if (s->hold_until_ms && s->hold_until_ms > now + (int64_t)q->cfg.max_hold_s * 1000)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX,
                         "queue: FUTURERELEASE beyond the maximum of %u seconds (RFC 4865 §4)",
                         q->cfg.max_hold_s);
    for (size_t i = 0; i < s->nrcpts; i++) {
        const mox_queue_recipient *r = &s->rcpts[i];
        const char *at = r->address ? strrchr(r->address, '@') : NULL;
        if (!at || at == r->address || !at[1] || has_ctl(r->address) || strchr(r->address, ' ') ||
            strchr(r->address, '<') || strchr(r->address, '>'))
            return inval(ei, "recipient address missing, without @ or with forbidden characters");
        if (r->orcpt && has_ctl(r->orcpt))
            return inval(ei, "ORCPT with control characters");
        if ((r->notify & MOX_QUEUE_NOTIFY_NEVER) && (r->notify & ~MOX_QUEUE_NOTIFY_NEVER))
            return inval(ei, "NOTIFY=NEVER combined with other values (RFC 3461 §4.1)");
        if (r->notify & ~0xfu)
            return inval(ei, "unknown NOTIFY bits");
    }
    char *from_domain = *from ? domain_of(from) : moxi_strdup("");
    mox_queue_rcpt *rows = mox_calloc(s->nrcpts, sizeof *rows);
    char **doms = mox_calloc(s->nrcpts, sizeof *doms);
    struct rules_ctx rc_;
    memset(&rc_, 0, sizeof rc_);
    mox_buf norm = MOX_BUF_INIT;
    struct supp_set sl;
    memset(&sl, 0, sizeof sl);
    int rc = MOX_OK;
    if (!from_domain || !rows || !doms)
        rc = nomem(ei);
    if (rc == 0)
        rc = q->st->rule_list(q->st->ctx, rule_collect, &rc_, ei);
    if (rc == 0 && rc_.nomem)
        rc = nomem(ei);
    size_t nrows = 0;
    mox_queue_msg m;
    memset(&m, 0, sizeof m);
    char fromid[MOX_DSN_FROMID_LEN + 1];
    if (rc == 0)
        rc = mox_dsn_fromid_new(rnd(q), fromid, sizeof fromid);
    m.account = s->account;
    m.mail_from = from;
    m.from_domain = from_domain;
    m.fromid = fromid;
    m.flags = s->flags;
    m.ret = s->ret;
    m.envid = s->envid;
    m.created_ms = now;
    m.size = (int64_t)s->len;
    m.extra = s->extra_len ? s->extra : NULL;
    m.extra_len = s->extra ? s->extra_len : 0;
    for (size_t i = 0; rc == 0 && i < s->nrcpts; i++) {
        mox_queue_recipient *r = &s->rcpts[i];
        r->id = 0;
        r->status = MOX_OK;
        doms[i] = domain_of(r->address);
        if (!doms[i]) {
            rc = nomem(ei);
            break;
        }
        mox_buf_reset(&norm);
        if (mox_queue_address_normalize(r->address, &norm)) {
            rc = nomem(ei);
            break;
        }
        struct supp_hit h = {now, 0, {0}};
        if (s->nrcpts == 1) {
            rc = q->st->supp_list(q->st->ctx, s->account, (char *)norm.data, supp_check_fn, &h,
                                  ei);
            if (rc)
                break;
        } else {
            if (!sl.loaded) {
                /* one query for all recipients, not one each */
                sl.now = now;
                rc = q->st->supp_list(q->st->ctx, s->account, NULL, supp_collect, &sl, ei);
                if (rc == 0 && sl.nomem)
                    rc = nomem(ei);
                if (rc)
                    break;
                if (sl.n)
                    qsort(sl.v, sl.n, sizeof *sl.v, cmp_str);
                sl.loaded = 1;
            }
            const char *key = (const char *)norm.data;
            char **hit = sl.n ? bsearch(&key, sl.v, sl.n, sizeof *sl.v, cmp_str) : NULL;
            if (hit) {
                h.hit = 1;
                snprintf(h.reason, sizeof h.reason, "%s", *hit + strlen(*hit) + 1);
            }
        }
        if (h.hit && !(s->flags & MOX_QUEUE_MSG_DSN)) {
            r->status = MOX_ERR_PERM;
            count(q, "mox_queue_suppressed_total", NULL, NULL);
            char text[256];
            snprintf(text, sizeof text, "recipient is on the suppression list of %s%s%s",
                     s->account, h.reason[0] ? ": " : "", h.reason);
            event(q, MOX_QUEUE_EVENT_SUPPRESSED, &m, 0, r->address, 0, NULL, text, 0, 0);
            continue;
        }
        mox_queue_rcpt *w = &rows[nrows++];
        w->address = r->address;
        w->domain = doms[i];
        w->orcpt = r->orcpt;
        w->notify = r->notify;
        w->next_attempt_ms = s->hold_until_ms > now ? s->hold_until_ms : now;
        for (size_t k = 0; k < rc_.n; k++)
            if (rule_match(&rc_.r[k], s->account, from_domain, doms[i]))
                w->held = 1;
    }
    if (rc == 0 && nrows == 0)
        rc = moxi_fail(ei, MOX_ERR_PERM, 0, SIZE_MAX,
                       "queue: every recipient is on the suppression list");
    if (rc == 0)
        rc = q->st->enqueue(q->st->ctx, &m, s->data ? s->data : "", s->len, rows, nrows, ei);
    if (rc == 0) {
        size_t k = 0;
        for (size_t i = 0; i < s->nrcpts; i++)
            if (s->rcpts[i].status == MOX_OK)
                s->rcpts[i].id = rows[k++].id;
        s->msg_id = m.id;
        snprintf(s->fromid, sizeof s->fromid, "%s", fromid);
        atomic_store(&q->wake, 1);
        count(q, "mox_queue_enqueue_total", NULL, NULL);
    }
    for (size_t i = 0; doms && i < s->nrcpts; i++)
        mox_free(doms[i]);
    mox_free(doms);
    mox_free(rows);
    mox_free(from_domain);
    pool_free(&rc_.pool);
    mox_buf_free(&norm);
    for (size_t i = 0; i < sl.n; i++)
        mox_free(sl.v[i]);
    mox_free(sl.v);
    return rc;
}

int mox_queue_enqueue(mox_queue *q, mox_queue_submission *sin, mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (!q || !sin || sin->size < offsetof(mox_queue_submission, msg_id))
        return inval(ei, "NULL queue or submission, or unset size");
    mox_queue_submission s = MOX_QUEUE_SUBMISSION_INIT;
    moxi_copy_sized(&s, sin, sizeof s);
    int rc = enqueue_internal(q, &s, ei);
    if (rc == 0) {
        if (MOXI_HAS(sin, mox_queue_submission, msg_id))
            sin->msg_id = s.msg_id;
        if (MOXI_HAS(sin, mox_queue_submission, fromid))
            memcpy(sin->fromid, s.fromid, sizeof s.fromid);
    }
    return rc;
}

/* ---------------------------------------------------------------- DSNs */

static int notify_failure(unsigned n)
{
    return n == 0 || (n & MOX_QUEUE_NOTIFY_FAILURE);
}

static int notify_delay(unsigned n)
{
    return n == 0 || (n & MOX_QUEUE_NOTIFY_DELAY);
}

static int wants_dsn(const mox_queue *q, const mox_queue_msg *m)
{
    return !(q->cfg.flags & MOX_QUEUE_NO_DSN) && m->mail_from && *m->mail_from &&
           !(m->flags & MOX_QUEUE_MSG_DSN);
}

struct dsn_item {
    const mox_queue_rcpt *r;
    const mox_queue_result *res;
    char status[16];
    char diag[1100];
};

static void dsn_status(struct dsn_item *it, int action)
{
    const mox_queue_result *r = it->res;
    const char *def = action == MOX_DSN_ACTION_FAILED    ? (r && r->status == MOX_QUEUE_TEMPFAIL
                                                                ? "4.4.7" /* expired */
                                                                : "5.0.0")
                      : action == MOX_DSN_ACTION_DELAYED ? "4.0.0"
                                                         : "2.0.0";
    /* a failure may carry a temporary code: given up after retries */
    if (r && r->enhanced && *r->enhanced && strlen(r->enhanced) < sizeof it->status &&
        (r->enhanced[0] == def[0] ||
         (action == MOX_DSN_ACTION_FAILED && r->enhanced[0] == '4')))
        snprintf(it->status, sizeof it->status, "%s", r->enhanced);
    else
        snprintf(it->status, sizeof it->status, "%s", def);
    it->diag[0] = 0;
    if (r && r->code)
        snprintf(it->diag, sizeof it->diag, "%d%s%s %s", r->code,
                 r->enhanced && *r->enhanced ? " " : "", r->enhanced ? r->enhanced : "",
                 r->text ? r->text : "");
    else if (r && r->text)
        snprintf(it->diag, sizeof it->diag, "%s", r->text);
    /* a reply may hold what a header may not */
    for (char *p = it->diag; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

/* Composes one DSN for `n` items of message m and sends it where DSNs go.
 * Returns MOX_OK also when nothing needed sending. */
static int send_dsn(mox_queue *q, const mox_queue_msg *m, const void *orig, size_t olen,
                    int action, struct dsn_item *items, size_t n, mox_errinfo *ei)
{
    if (!n || !wants_dsn(q, m))
        return MOX_OK;
    mox_dsn_recipient *rs = mox_calloc(n, sizeof *rs);
    if (!rs)
        return nomem(ei);
    for (size_t i = 0; i < n; i++) {
        dsn_status(&items[i], action);
        rs[i].final_recipient = items[i].r->address;
        rs[i].original_recipient = items[i].r->orcpt;
        rs[i].action = action;
        rs[i].status = items[i].status;
        rs[i].remote_mta = items[i].res ? items[i].res->remote_mta : NULL;
        rs[i].diagnostic = items[i].diag[0] ? items[i].diag : NULL;
        rs[i].last_attempt = items[i].r->last_attempt_ms / 1000;
        if (action == MOX_DSN_ACTION_DELAYED)
            rs[i].will_retry_until = (m->created_ms / 1000) + q->cfg.max_age_s;
    }
    mox_dsn_compose_params p = MOX_DSN_COMPOSE_PARAMS_INIT;
    p.env = q->cfg.env;
    p.reporting_mta = q->hostname;
    p.to = m->mail_from;
    p.original_envid = m->envid;
    p.arrival_date = m->created_ms / 1000;
    p.smtputf8 = (m->flags & MOX_QUEUE_MSG_SMTPUTF8) != 0;
    p.ret = action == MOX_DSN_ACTION_FAILED && m->ret == MOX_QUEUE_RET_FULL
                ? MOX_DSN_RETURN_FULL
                : MOX_DSN_RETURN_HEADERS;
    p.original = orig;
    p.original_len = orig ? olen : 0;
    if (!orig)
        p.ret = MOX_DSN_RETURN_NOTHING;
    p.rcpts = rs;
    p.nrcpts = n;
    mox_buf out = MOX_BUF_INIT;
    mox_errinfo dei;
    int rc = mox_dsn_compose(&p, &out, &dei);
    if (rc == MOX_ERR_INVAL && !p.smtputf8) {
        /* A UTF-8 recipient in a non-SMTPUTF8 message cannot be written
         * in the plain form; the global form can carry it. */
        p.smtputf8 = 1;
        rc = mox_dsn_compose(&p, &out, &dei);
    }
    mox_free(rs);
    if (rc) {
        moxi_logf(q->cfg.env, MOX_LOG_ERROR, "queue: cannot compose DSN for message %" PRId64 ": %s",
                  m->id, dei.msg);
        mox_buf_free(&out);
        return rc == MOX_ERR_NOMEM ? nomem(ei) : MOX_OK; /* a bad DSN is not a reason to retry */
    }
    if (q->cfg.dsn_deliver &&
        q->cfg.dsn_deliver(q->cfg.dsn_ctx, m->account, m->mail_from, out.data, out.len) == 0) {
        mox_buf_free(&out);
        return MOX_OK;
    }
    mox_queue_recipient r = {m->mail_from, MOX_QUEUE_NOTIFY_NEVER, NULL, 0, 0};
    mox_queue_submission s = MOX_QUEUE_SUBMISSION_INIT;
    s.account = m->account;
    s.mail_from = "";
    s.flags = MOX_QUEUE_MSG_DSN | (p.smtputf8 ? MOX_QUEUE_MSG_SMTPUTF8 : 0);
    s.data = out.data;
    s.len = out.len;
    s.rcpts = &r;
    s.nrcpts = 1;
    rc = enqueue_internal(q, &s, ei);
    mox_buf_free(&out);
    return rc;
}

/* mox's rule for automatic suppression. */
static int suppress_worthy(int code, const char *enh)
{
    if (code == 521 || code == 550 || code == 551 || code == 553 || code == 556)
        return 1;
    static const char *e[] = {"5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.2.1", "5.7.1"};
    for (size_t i = 0; enh && i < MOX_ARRAY_LEN(e); i++)
        if (!strcmp(enh, e[i]))
            return 1;
    return 0;
}

static void auto_suppress(mox_queue *q, const char *account, const char *addr, int code,
                          const char *enh, const char *text)
{
    if (q->cfg.flags & MOX_QUEUE_NO_AUTO_SUPPRESS || !suppress_worthy(code, enh))
        return;
    mox_buf norm = MOX_BUF_INIT;
    if (mox_queue_address_normalize(addr, &norm) == 0) {
        char reason[300];
        snprintf(reason, sizeof reason, "%d %s %s", code, enh ? enh : "", text ? text : "");
        for (char *p = reason; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
        mox_queue_suppression x = {account, (char *)norm.data, reason, 0, now_ms(q), 0};
        mox_errinfo ei;
        if (q->st->supp_add(q->st->ctx, &x, &ei))
            moxi_logf(q->cfg.env, MOX_LOG_WARN, "queue: adding suppression for %s: %s", addr,
                      ei.msg);
    }
    mox_buf_free(&norm);
}

/* ---------------------------------------------------------------- attempts */

const mox_queue_attempt_info *mox_queue_attempt_get(const mox_queue_attempt *a)
{
    return a ? &a->info : NULL;
}

static struct dest *dest_get(mox_queue *q, const char *domain, int create)
{
    for (struct dest *d = q->dests; d; d = d->next)
        if (!strcmp(d->domain, domain))
            return d;
    if (!create)
        return NULL;
    struct dest *d = mox_calloc(1, sizeof *d);
    if (!d || !(d->domain = moxi_strdup(domain))) {
        mox_free(d);
        return NULL;
    }
    d->window = q->cfg.per_destination;
    d->next = q->dests;
    q->dests = d;
    return d;
}

static int admit(void *ctx, const char *domain)
{
    mox_queue *q = ctx;
    struct dest *d = dest_get(q, domain, 0);
    return !d || d->active < d->window;
}

static int claim_row(void *ctx, const mox_queue_msg *m, const mox_queue_rcpt *r)
{
    mox_queue_attempt *a = ctx;
    int *nm = &a->nomem;
    if (a->n == 0) {
        a->msg = *m;
        a->msg.account = pool_dup(&a->pool, m->account, nm);
        a->msg.mail_from = pool_dup(&a->pool, m->mail_from, nm);
        a->msg.from_domain = pool_dup(&a->pool, m->from_domain, nm);
        a->msg.fromid = pool_dup(&a->pool, m->fromid, nm);
        a->msg.envid = pool_dup(&a->pool, m->envid, nm);
        a->msg.extra = pool_mem(&a->pool, m->extra, m->extra_len, nm);
        if (!a->msg.extra)
            a->msg.extra_len = 0;
    }
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 8;
        mox_queue_rcpt *nr = mox_realloc(a->rcpts, nc * sizeof *nr);
        if (!nr) {
            *nm = 1;
            return 1;
        }
        a->rcpts = nr;
        a->cap = nc;
    }
    mox_queue_rcpt *d = &a->rcpts[a->n++];
    *d = *r;
    d->address = pool_dup(&a->pool, r->address, nm);
    d->domain = pool_dup(&a->pool, r->domain, nm);
    d->orcpt = pool_dup(&a->pool, r->orcpt, nm);
    d->last_enhanced = pool_dup(&a->pool, r->last_enhanced, nm);
    d->last_text = pool_dup(&a->pool, r->last_text, nm);
    d->lease_owner = pool_dup(&a->pool, r->lease_owner, nm);
    return 0;
}

static void unlink_attempt(mox_queue *q, mox_queue_attempt *a)
{
    if (a->prev)
        a->prev->next = a->next;
    else if (q->inflight == a)
        q->inflight = a->next;
    if (a->next)
        a->next->prev = a->prev;
    a->prev = a->next = NULL;
    q->ninflight--;
    if (a->dest && a->dest->active)
        a->dest->active--;
}

/* Delay before attempt k+1, k attempts done (k >= 1), with jitter. */
static int64_t retry_delay_ms(mox_queue *q, int k)
{
    int64_t d = (int64_t)q->retry[(size_t)k - 1 < q->nretry ? (size_t)k - 1 : q->nretry - 1] * 1000;
    if (q->cfg.jitter_pct) {
        uint32_t r = 0;
        mox_random_fill(rnd(q), &r, sizeof r);
        int64_t span = d * q->cfg.jitter_pct / 100;
        if (span > 0)
            d += (int64_t)(r % (uint64_t)(2 * span + 1)) - span;
    }
    return d;
}

enum { DO_DELIVERED = 1, DO_RETRY, DO_FAIL };

int mox_queue_attempt_result(mox_queue *q, mox_queue_attempt *a, const mox_queue_result *res,
                             size_t n, mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (!q || !a || a->q != q || (!res && n))
        return inval(ei, "NULL queue, attempt or results, or an attempt of another queue");
    for (size_t i = 0; i < n; i++) {
        if (res[i].index >= a->n)
            return inval(ei, "result index out of range");
        if (a->done[res[i].index])
            return inval(ei, "recipient already has an outcome");
        if (res[i].status < MOX_QUEUE_DELIVERED || res[i].status > MOX_QUEUE_PERMFAIL)
            return inval(ei, "bad result status");
        for (size_t k = 0; k < i; k++)
            if (res[k].index == res[i].index)
                return inval(ei, "recipient reported twice");
    }
    int64_t now = now_ms(q);
    int *what = mox_calloc(n ? n : 1, sizeof *what);
    int64_t *next = mox_calloc(n ? n : 1, sizeof *next);
    struct dsn_item *fail = mox_calloc(n ? n : 1, sizeof *fail);
    struct dsn_item *delay = mox_calloc(n ? n : 1, sizeof *delay);
    struct dsn_item *relay = mox_calloc(n ? n : 1, sizeof *relay);
    unsigned *setf = mox_calloc(n ? n : 1, sizeof *setf);
    char (*gaveup)[600] = mox_calloc(n ? n : 1, sizeof *gaveup);
    int rc = MOX_OK;
    if (!what || !next || !fail || !delay || !relay || !setf || !gaveup)
        rc = nomem(ei);
    size_t nf = 0, nd = 0, nr = 0;
    int conn_fail = 0, delivered = 0;
    /* 1: decide */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const mox_queue_result *r = &res[i];
        const mox_queue_rcpt *row = &a->rcpts[r->index];
        if (r->status == MOX_QUEUE_DELIVERED) {
            what[i] = DO_DELIVERED;
            delivered = 1;
            if (r->relayed && (row->notify & MOX_QUEUE_NOTIFY_SUCCESS))
                relay[nr++] = (struct dsn_item){row, r, {0}, {0}};
            continue;
        }
        if (r->status == MOX_QUEUE_TEMPFAIL) {
            conn_fail |= r->connection;
            int k = row->attempts;
            int64_t at = now + retry_delay_ms(q, k > 0 ? k : 1);
            if ((size_t)k >= q->nretry + 1 ||
                at > a->msg.created_ms + (int64_t)q->cfg.max_age_s * 1000) {
                what[i] = DO_FAIL;
                snprintf(gaveup[i], sizeof gaveup[i], "giving up after %d attempts: %s", k,
                         r->text ? r->text : "temporary failure");
                if (notify_failure(row->notify))
                    fail[nf++] = (struct dsn_item){row, r, {0}, {0}};
                continue;
            }
            what[i] = DO_RETRY;
            next[i] = at;
            if ((unsigned)k >= q->cfg.delay_dsn_attempt &&
                !(row->rflags & MOX_QUEUE_RCPT_DELAY_DSN_SENT) && notify_delay(row->notify) &&
                !(row->notify & MOX_QUEUE_NOTIFY_NEVER)) {
                setf[i] = MOX_QUEUE_RCPT_DELAY_DSN_SENT;
                delay[nd++] = (struct dsn_item){row, r, {0}, {0}};
            }
            continue;
        }
        what[i] = DO_FAIL;
        if (notify_failure(row->notify) && !(row->notify & MOX_QUEUE_NOTIFY_NEVER))
            fail[nf++] = (struct dsn_item){row, r, {0}, {0}};
    }
    /* 2: DSNs before the rows change (a crash in between repeats, never
     * loses, a DSN) */
    if (rc == 0)
        rc = send_dsn(q, &a->msg, a->body.data, a->body.len, MOX_DSN_ACTION_FAILED, fail, nf, ei);
    if (rc == 0)
        rc = send_dsn(q, &a->msg, a->body.data, a->body.len, MOX_DSN_ACTION_DELAYED, delay, nd,
                      ei);
    if (rc == 0)
        rc = send_dsn(q, &a->msg, a->body.data, a->body.len, MOX_DSN_ACTION_RELAYED, relay, nr,
                      ei);
    /* 3: write each outcome, then tell */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const mox_queue_result *r = &res[i];
        mox_queue_rcpt *row = &a->rcpts[r->index];
        const char *text = what[i] == DO_FAIL && gaveup[i][0] ? gaveup[i] : r->text;
        int e;
        if (what[i] == DO_RETRY) {
            e = q->st->reschedule(q->st->ctx, q->owner, row->id, next[i], r->code, r->enhanced,
                                  r->text, setf[i], ei);
        } else {
            mox_queue_retired info;
            memset(&info, 0, sizeof info);
            info.outcome =
                what[i] == DO_DELIVERED ? MOX_QUEUE_OUTCOME_DELIVERED : MOX_QUEUE_OUTCOME_FAILED;
            info.code = r->code;
            info.enhanced = r->enhanced;
            info.text = text;
            info.retired_ms = now;
            info.keep_until_ms = now + (int64_t)q->cfg.keep_retired_s * 1000;
            e = q->st->retire(q->st->ctx, q->owner, row->id, &info, ei);
        }
        if (e == MOX_ERR_NOTFOUND) {
            mox_errinfo_clear(ei);
            a->done[r->index] = 1; /* taken over by another node */
            continue;
        }
        if (e) {
            rc = e;
            break;
        }
        a->done[r->index] = 1;
        if (what[i] == DO_FAIL && r->status == MOX_QUEUE_PERMFAIL)
            auto_suppress(q, a->msg.account, row->address, r->code, r->enhanced, r->text);
        int kind = what[i] == DO_DELIVERED ? (r->relayed ? MOX_QUEUE_EVENT_RELAYED
                                                         : MOX_QUEUE_EVENT_DELIVERED)
                   : what[i] == DO_RETRY   ? MOX_QUEUE_EVENT_DELAYED
                                           : MOX_QUEUE_EVENT_FAILED;
        count(q, "mox_queue_delivery_total", "result",
              what[i] == DO_DELIVERED ? "delivered"
              : what[i] == DO_RETRY   ? "delayed"
                                      : "failed");
        event(q, kind, &a->msg, row->id, row->address, r->code, r->enhanced, text, row->attempts,
              0);
    }
    /* slow start per destination (Postfix-like): a connection failure
     * drops the window to 1, each success widens it again */
    if (a->dest) {
        if (conn_fail)
            a->dest->window = 1;
        else if (delivered && a->dest->window < q->cfg.per_destination)
            a->dest->window++;
    }
    mox_free(what);
    mox_free(next);
    mox_free(fail);
    mox_free(delay);
    mox_free(relay);
    mox_free(setf);
    mox_free(gaveup);
    return rc;
}

int mox_queue_attempt_end(mox_queue *q, mox_queue_attempt *a, const mox_queue_result *rest,
                          mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (!q || !a || a->q != q)
        return inval(ei, "NULL queue or attempt, or an attempt of another queue");
    mox_queue_result def = {0, MOX_QUEUE_TEMPFAIL, 0, 1, 0, NULL,
                            "attempt ended without a result", NULL};
    if (rest && rest->status >= MOX_QUEUE_DELIVERED && rest->status <= MOX_QUEUE_PERMFAIL)
        def = *rest;
    mox_queue_result *left = mox_calloc(a->n ? a->n : 1, sizeof *left);
    int rc = MOX_OK;
    size_t k = 0;
    if (!left)
        rc = nomem(ei);
    for (size_t i = 0; rc == 0 && i < a->n; i++) {
        if (a->done[i])
            continue;
        left[k] = def;
        left[k++].index = i;
    }
    if (rc == 0 && k)
        rc = mox_queue_attempt_result(q, a, left, k, ei);
    mox_free(left);
    if (a->slot >= 0) {
        mox_errinfo e2;
        if (q->st->release_slot(q->st->ctx, a->info.domain, a->slot, q->owner, &e2))
            moxi_logf(q->cfg.env, MOX_LOG_WARN, "queue: releasing slot of %s: %s",
                      a->info.domain, e2.msg); /* expires with its lease */
    }
    mox_metric_observe(metrics(q), "mox_queue_attempt_duration_seconds", NULL, 0,
                       (double)(now_ms(q) - a->started_ms) / 1000.0);
    unlink_attempt(q, a);
    attempt_free(a);
    atomic_store(&q->wake, 1);
    return rc;
}

/* ---------------------------------------------------------------- run */

static int start_one(mox_queue *q, int64_t now, mox_errinfo *ei)
{
    mox_queue_attempt *a = mox_calloc(1, sizeof *a);
    if (!a)
        return nomem(ei);
    a->q = q;
    a->slot = -1;
    mox_queue_claim_req req = {now,
                               q->owner,
                               now + (int64_t)q->cfg.lease_s * 1000,
                               q->cfg.per_destination,
                               q->cfg.max_rcpts,
                               admit,
                               q};
    int rc = q->st->claim(q->st->ctx, &req, &a->slot, claim_row, a, ei);
    if (rc == 0 && (a->nomem || a->n == 0)) {
        /* Claimed but not kept: the lease expires and the rows come back. */
        rc = a->nomem ? nomem(ei) : MOX_ERR_NOTFOUND;
    }
    if (rc) {
        attempt_free(a);
        return rc;
    }
    a->done = mox_calloc(a->n, 1);
    const char *dom = a->rcpts[0].domain ? a->rcpts[0].domain : "";
    a->dest = dest_get(q, dom, 1);
    mox_buf ef = MOX_BUF_INIT;
    int nm = 0;
    if ((a->msg.flags & MOX_QUEUE_MSG_FROMID) && a->msg.mail_from && *a->msg.mail_from) {
        const char *at = strrchr(a->msg.mail_from, '@');
        char *lp = moxi_strndup(a->msg.mail_from, (size_t)(at - a->msg.mail_from));
        if (!lp || mox_dsn_fromid_address(lp, at + 1, q->sep, a->msg.fromid, &ef))
            nm = 1;
        mox_free(lp);
        a->info.envelope_from = pool_dup(&a->pool, (char *)ef.data, &nm);
    } else {
        a->info.envelope_from = a->msg.mail_from;
    }
    mox_buf_free(&ef);
    a->info.domain = pool_dup(&a->pool, dom, &nm);
    if (!a->done || !a->dest || nm) {
        /* leave it to the lease */
        if (a->slot >= 0)
            q->st->release_slot(q->st->ctx, dom, a->slot, q->owner, NULL);
        attempt_free(a);
        return nomem(ei);
    }
    a->dest->active++;
    a->started_ms = now;
    a->info.msg = &a->msg;
    a->info.rcpts = a->rcpts;
    a->info.nrcpts = a->n;
    a->info.deadline_ms = now + (int64_t)q->cfg.lease_s * 1000 * 9 / 10;
    a->next = q->inflight;
    if (q->inflight)
        q->inflight->prev = a;
    q->inflight = a;
    q->ninflight++;
    mox_errinfo be;
    int brc = q->st->body(q->st->ctx, a->msg.id, &a->body, &be);
    if (brc) {
        /* A missing or unreadable body: a temporary failure, retried on
         * the schedule and eventually failed with a DSN: never a loop. */
        char text[300];
        snprintf(text, sizeof text, "message body unreadable: %s", be.msg);
        mox_queue_result r = {0, MOX_QUEUE_TEMPFAIL, 0, 0, 0, "4.3.0", text, NULL};
        moxi_logf(q->cfg.env, MOX_LOG_ERROR, "queue: message %" PRId64 ": %s", a->msg.id, text);
        mox_queue_attempt_end(q, a, &r, NULL);
        return MOX_OK;
    }
    a->info.data = a->body.data ? a->body.data : (unsigned char *)"";
    a->info.len = a->body.len;
    if (q->deliverer.start(q->deliverer.ctx, q, a) != MOX_OK) {
        mox_queue_result r = {0, MOX_QUEUE_TEMPFAIL, 0, 0, 0, "4.3.0",
                              "deliverer refused the attempt", NULL};
        /* `a` is still ours: start did not take it */
        mox_queue_attempt_end(q, a, &r, NULL);
    }
    return MOX_OK;
}

int mox_queue_run(mox_queue *q, mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (!q)
        return inval(ei, "NULL queue");
    if (!q->have_deliverer)
        return moxi_fail(ei, MOX_ERR_STATE, 0, SIZE_MAX, "queue: no deliverer configured");
    int64_t now = now_ms(q);
    atomic_store(&q->wake, 0);
    int rc;
    if (q->ninflight && now - q->last_renew > (int64_t)q->cfg.lease_s * 1000 / 3) {
        rc = q->st->renew(q->st->ctx, q->owner, now + (int64_t)q->cfg.lease_s * 1000, ei);
        if (rc)
            return rc;
        q->last_renew = now;
        for (mox_queue_attempt *a = q->inflight; a; a = a->next)
            a->info.deadline_ms = now + (int64_t)q->cfg.lease_s * 1000 * 9 / 10;
    }
    if (now - q->last_house > 60000) {
        size_t purged = 0;
        rc = q->st->retired_purge(q->st->ctx, now, &purged, ei);
        if (rc)
            return rc;
        q->last_house = now;
    }
    int started = 0;
    while (q->ninflight < q->cfg.concurrency) {
        rc = start_one(q, now, ei);
        if (rc == MOX_ERR_NOTFOUND) {
            mox_errinfo_clear(ei);
            break;
        }
        if (rc)
            return started ? started : rc;
        started++;
    }
    int64_t due;
    rc = q->st->next_due(q->st->ctx, &due, ei);
    if (rc == MOX_ERR_NOTFOUND) {
        mox_errinfo_clear(ei);
        q->next_due = INT64_MAX;
    } else if (rc) {
        return started ? started : rc;
    } else {
        /* due rows we could not start (limits) are looked at again at the
         * next poll or when an attempt ends */
        q->next_due = due <= now ? now + q->cfg.poll_ms : due;
    }
    q->last_poll = now;
    return started;
}

/* ---------------------------------------------------------------- management */

int mox_queue_list(mox_queue *q, const mox_queue_filter *f, mox_queue_rcpt_fn fn, void *ctx,
                   mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (!q)
        return inval(ei, "NULL queue");
    return q->st->list(q->st->ctx, f, fn, ctx, ei);
}

static int set_op(mox_queue *q, const mox_queue_filter *f, int op, size_t *count,
                  mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (count)
        *count = 0;
    if (!q)
        return inval(ei, "NULL queue");
    size_t n = 0;
    int rc = q->st->set(q->st->ctx, f, op, now_ms(q), &n, ei);
    if (count)
        *count = n;
    atomic_store(&q->wake, 1);
    return rc;
}

int mox_queue_hold(mox_queue *q, const mox_queue_filter *f, size_t *count, mox_errinfo *ei)
{
    return set_op(q, f, MOX_QUEUE_SET_HOLD, count, ei);
}

int mox_queue_release(mox_queue *q, const mox_queue_filter *f, size_t *count, mox_errinfo *ei)
{
    return set_op(q, f, MOX_QUEUE_SET_RELEASE, count, ei);
}

int mox_queue_retry_now(mox_queue *q, const mox_queue_filter *f, size_t *count, mox_errinfo *ei)
{
    return set_op(q, f, MOX_QUEUE_SET_RETRY_NOW, count, ei);
}

/* The selected recipients (with their message), copied. */
struct sel {
    mox_queue_attempt *groups; /* one pseudo-attempt per message */
    int nomem;
};

static int sel_row(void *ctx, const mox_queue_msg *m, const mox_queue_rcpt *r)
{
    struct sel *s = ctx;
    mox_queue_attempt *g = s->groups;
    while (g && g->msg.id != m->id)
        g = g->next;
    if (!g) {
        g = mox_calloc(1, sizeof *g);
        if (!g) {
            s->nomem = 1;
            return 1;
        }
        g->slot = -1;
        g->next = s->groups;
        s->groups = g;
    }
    if (claim_row(g, m, r))
        s->nomem = 1;
    return s->nomem;
}

static void sel_free(struct sel *s)
{
    for (mox_queue_attempt *g = s->groups; g;) {
        mox_queue_attempt *n = g->next;
        attempt_free(g);
        g = n;
    }
    s->groups = NULL;
}

static int remove_op(mox_queue *q, const mox_queue_filter *f, int fail, size_t *count,
                     mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (count)
        *count = 0;
    if (!q)
        return inval(ei, "NULL queue");
    struct sel s = {NULL, 0};
    int rc = q->st->list(q->st->ctx, f, sel_row, &s, ei);
    if (rc == 0 && s.nomem)
        rc = nomem(ei);
    int64_t now = now_ms(q);
    size_t n = 0;
    const char *why = fail ? "failed by an operator" : "canceled by an operator";
    for (mox_queue_attempt *g = s.groups; rc == 0 && g; g = g->next) {
        if (fail) {
            mox_errinfo be;
            if (q->st->body(q->st->ctx, g->msg.id, &g->body, &be))
                mox_buf_reset(&g->body);
            struct dsn_item *items = mox_calloc(g->n, sizeof *items);
            mox_queue_result r = {0, MOX_QUEUE_PERMFAIL, 0, 0, 0, "5.3.0", why, NULL};
            size_t ni = 0;
            if (!items) {
                rc = nomem(ei);
                break;
            }
            for (size_t i = 0; i < g->n; i++)
                if (notify_failure(g->rcpts[i].notify) &&
                    !(g->rcpts[i].notify & MOX_QUEUE_NOTIFY_NEVER))
                    items[ni++] = (struct dsn_item){&g->rcpts[i], &r, {0}, {0}};
            rc = send_dsn(q, &g->msg, g->body.len ? g->body.data : NULL, g->body.len,
                          MOX_DSN_ACTION_FAILED, items, ni, ei);
            mox_free(items);
            if (rc)
                break;
        }
        for (size_t i = 0; i < g->n; i++) {
            mox_queue_retired info;
            memset(&info, 0, sizeof info);
            info.outcome = fail ? MOX_QUEUE_OUTCOME_FAILED : MOX_QUEUE_OUTCOME_CANCELED;
            info.enhanced = fail ? "5.3.0" : NULL;
            info.text = why;
            info.retired_ms = now;
            info.keep_until_ms = now + (int64_t)q->cfg.keep_retired_s * 1000;
            int e = q->st->retire(q->st->ctx, NULL, g->rcpts[i].id, &info, ei);
            if (e == MOX_ERR_NOTFOUND) {
                mox_errinfo_clear(ei);
                continue;
            }
            if (e) {
                rc = e;
                break;
            }
            n++;
            event(q, fail ? MOX_QUEUE_EVENT_FAILED : MOX_QUEUE_EVENT_CANCELED, &g->msg,
                  g->rcpts[i].id, g->rcpts[i].address, 0, info.enhanced, why,
                  g->rcpts[i].attempts, 0);
        }
    }
    sel_free(&s);
    if (count)
        *count = n;
    return rc;
}

int mox_queue_drop(mox_queue *q, const mox_queue_filter *f, size_t *count, mox_errinfo *ei)
{
    return remove_op(q, f, 0, count, ei);
}

int mox_queue_fail(mox_queue *q, const mox_queue_filter *f, size_t *count, mox_errinfo *ei)
{
    return remove_op(q, f, 1, count, ei);
}

int mox_queue_retired_list(mox_queue *q, const mox_queue_filter *f, mox_queue_retired_fn fn,
                           void *ctx, mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (!q)
        return inval(ei, "NULL queue");
    return q->st->retired_list(q->st->ctx, f, fn, ctx, ei);
}

/* ---------------------------------------------------------------- rules */

int mox_queue_rule_add(mox_queue *q, mox_queue_rule *r, mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (!q || !r)
        return inval(ei, "NULL queue or rule");
    if (has_ctl(r->account) || has_ctl(r->from_domain) || has_ctl(r->rcpt_domain))
        return inval(ei, "rule with control characters");
    char *fd = r->from_domain ? moxi_strdup(r->from_domain) : NULL;
    char *rd = r->rcpt_domain ? moxi_strdup(r->rcpt_domain) : NULL;
    if ((r->from_domain && !fd) || (r->rcpt_domain && !rd)) {
        mox_free(fd);
        mox_free(rd);
        return nomem(ei);
    }
    lower(fd);
    lower(rd);
    mox_queue_rule x = {0, r->account && *r->account ? r->account : NULL, fd && *fd ? fd : NULL,
                        rd && *rd ? rd : NULL};
    int rc = q->st->rule_add(q->st->ctx, &x, ei);
    if (rc == 0)
        r->id = x.id;
    mox_free(fd);
    mox_free(rd);
    return rc;
}

int mox_queue_rule_remove(mox_queue *q, int64_t id, mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (!q)
        return inval(ei, "NULL queue");
    return q->st->rule_remove(q->st->ctx, id, ei);
}

int mox_queue_rule_list(mox_queue *q, mox_queue_rule_fn fn, void *ctx, mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (!q)
        return inval(ei, "NULL queue");
    return q->st->rule_list(q->st->ctx, fn, ctx, ei);
}

/* ---------------------------------------------------------------- suppression */

int mox_queue_suppression_add(mox_queue *q, const mox_queue_suppression *s, mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (!q || !s || !s->account || !*s->account || !s->address)
        return inval(ei, "NULL queue, entry, account or address");
    if (has_ctl(s->account) || has_ctl(s->reason))
        return inval(ei, "control characters in a suppression entry");
    mox_buf norm = MOX_BUF_INIT;
    int rc = mox_queue_address_normalize(s->address, &norm);
    if (rc) {
        mox_buf_free(&norm);
        return rc == MOX_ERR_NOMEM ? nomem(ei) : inval(ei, "suppression address without @");
    }
    mox_queue_suppression x = *s;
    x.address = (char *)norm.data;
    if (!x.created_ms)
        x.created_ms = now_ms(q);
    rc = q->st->supp_add(q->st->ctx, &x, ei);
    mox_buf_free(&norm);
    return rc;
}

int mox_queue_suppression_remove(mox_queue *q, const char *account, const char *address,
                                 mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (!q || !account || !address)
        return inval(ei, "NULL queue, account or address");
    mox_buf norm = MOX_BUF_INIT;
    int rc = mox_queue_address_normalize(address, &norm);
    if (rc == 0)
        rc = q->st->supp_remove(q->st->ctx, account, (char *)norm.data, ei);
    else
        rc = rc == MOX_ERR_NOMEM ? nomem(ei) : inval(ei, "address without @");
    mox_buf_free(&norm);
    return rc;
}

int mox_queue_suppression_list(mox_queue *q, const char *account, mox_queue_suppression_fn fn,
                               void *ctx, mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (!q)
        return inval(ei, "NULL queue");
    return q->st->supp_list(q->st->ctx, account, NULL, fn, ctx, ei);
}

int mox_queue_suppression_check(mox_queue *q, const char *account, const char *address,
                                int *suppressed, mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (!q || !account || !address || !suppressed)
        return inval(ei, "NULL argument");
    *suppressed = 0;
    mox_buf norm = MOX_BUF_INIT;
    int rc = mox_queue_address_normalize(address, &norm);
    if (rc) {
        mox_buf_free(&norm);
        return rc == MOX_ERR_NOMEM ? nomem(ei) : inval(ei, "address without @");
    }
    struct supp_hit h = {now_ms(q), 0, {0}};
    rc = q->st->supp_list(q->st->ctx, account, (char *)norm.data, supp_check_fn, &h, ei);
    mox_buf_free(&norm);
    if (rc == 0)
        *suppressed = h.hit;
    return rc;
}

/* ---------------------------------------------------------------- incoming DSNs */

struct known {
    mox_queue_msg msg;
    struct pool pool;
    int have;
    int nomem;
    struct {
        int64_t id;
        const char *address;
        int attempts;
    } r[256];
    size_t n;
};

static void known_msg(struct known *k, int64_t id, const char *account, const char *from,
                      const char *fromid, const void *extra, size_t extra_len)
{
    if (k->have)
        return;
    k->have = 1;
    k->msg.id = id;
    k->msg.account = pool_dup(&k->pool, account, &k->nomem);
    k->msg.mail_from = pool_dup(&k->pool, from, &k->nomem);
    k->msg.fromid = pool_dup(&k->pool, fromid, &k->nomem);
    k->msg.extra = pool_mem(&k->pool, extra, extra_len, &k->nomem);
    k->msg.extra_len = k->msg.extra ? extra_len : 0;
}

static void known_rcpt(struct known *k, int64_t id, const char *addr, int attempts)
{
    if (k->n >= MOX_ARRAY_LEN(k->r))
        return;
    k->r[k->n].id = id;
    k->r[k->n].address = pool_dup(&k->pool, addr, &k->nomem);
    k->r[k->n++].attempts = attempts;
}

static int known_q(void *ctx, const mox_queue_msg *m, const mox_queue_rcpt *r)
{
    struct known *k = ctx;
    known_msg(k, m->id, m->account, m->mail_from, m->fromid, m->extra, m->extra_len);
    known_rcpt(k, r->id, r->address, r->attempts);
    return 0;
}

static int known_t(void *ctx, const mox_queue_retired *t)
{
    struct known *k = ctx;
    known_msg(k, t->msg_id, t->account, t->mail_from, t->fromid, t->extra, t->extra_len);
    known_rcpt(k, t->id, t->address, t->attempts);
    return 0;
}

static int caseeq(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n == strlen(b) && moxi_memcaseeq(a, b, n);
}

/* The address part of "type;address" (or the whole). */
static const char *addr_part(const char *s)
{
    const char *semi = s ? strchr(s, ';') : NULL;
    return semi ? semi + 1 : s;
}

int mox_queue_incoming_dsn(mox_queue *q, const char *rcpt_to, const void *msg, size_t len,
                           size_t *matched, mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (matched)
        *matched = 0;
    if (!q || !rcpt_to || (!msg && len))
        return inval(ei, "NULL argument");
    char fromid[64];
    int rc = mox_dsn_fromid_extract(rcpt_to, q->sep, fromid, sizeof fromid, ei);
    if (rc)
        return rc == MOX_ERR_LIMIT ? moxi_fail(ei, MOX_ERR_NOTFOUND, 0, SIZE_MAX, "no FromID")
                                   : rc;
    struct known *k = mox_calloc(1, sizeof *k);
    if (!k)
        return nomem(ei);
    mox_queue_filter f = MOX_QUEUE_FILTER_INIT;
    f.fromid = fromid;
    rc = q->st->list(q->st->ctx, &f, known_q, k, ei);
    if (rc == 0)
        rc = q->st->retired_list(q->st->ctx, &f, known_t, k, ei);
    if (rc == 0 && k->nomem)
        rc = nomem(ei);
    if (rc == 0 && !k->have)
        rc = moxi_fail(ei, MOX_ERR_NOTFOUND, 0, SIZE_MAX, "queue: no message with FromID %s",
                       fromid);
    mox_dsn *d = NULL;
    if (rc == 0)
        rc = mox_dsn_parse(msg, len, NULL, &d, ei);
    size_t hits = 0;
    if (rc == 0) {
        const mox_dsn_report *rep = mox_dsn_get(d);
        for (size_t i = 0; i < rep->nrcpts; i++) {
            const mox_dsn_recipient *dr = &rep->rcpts[i];
            const char *orig = addr_part(dr->original_recipient);
            for (size_t j = 0; j < k->n; j++) {
                const char *a = k->r[j].address;
                if (!a || (!caseeq(a, dr->final_recipient) && (!orig || !caseeq(a, orig))))
                    continue;
                int kind = dr->action == MOX_DSN_ACTION_FAILED    ? MOX_QUEUE_EVENT_FAILED
                           : dr->action == MOX_DSN_ACTION_DELAYED ? MOX_QUEUE_EVENT_DELAYED
                           : dr->action == MOX_DSN_ACTION_RELAYED ? MOX_QUEUE_EVENT_RELAYED
                           : dr->action == MOX_DSN_ACTION_NONE    ? 0
                                                                  : MOX_QUEUE_EVENT_DELIVERED;
                if (!kind)
                    break;
                int code = 0;
                const char *diag = dr->diagnostic;
                if (diag && moxi_is_digit((unsigned char)diag[0]) &&
                    moxi_is_digit((unsigned char)diag[1]) &&
                    moxi_is_digit((unsigned char)diag[2]))
                    code = (diag[0] - '0') * 100 + (diag[1] - '0') * 10 + (diag[2] - '0');
                if (kind == MOX_QUEUE_EVENT_FAILED)
                    auto_suppress(q, k->msg.account, a, code, dr->status, diag);
                event(q, kind, &k->msg, k->r[j].id, a, code, dr->status, diag, k->r[j].attempts,
                      1);
                hits++;
                break;
            }
        }
    }
    mox_dsn_free(d);
    pool_free(&k->pool);
    mox_free(k);
    if (matched)
        *matched = hits;
    return rc;
}
