/* mox_queue_store over SQL, shared by the SQLite and PostgreSQL backends.
 *
 * One connection per store, used under db_mu. Enqueues go through a group
 * commit: a submitter appends its request to the pending list; if no
 * commit is running it becomes the leader, takes every pending request and
 * commits them in one transaction (a savepoint each, so one bad request
 * does not fail the others), then wakes the followers. Requests that
 * arrive during a commit wait for the next one, which a waiting follower
 * leads. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"

#define MSG_COLS                                                                                   \
    "m.id, m.account, m.mail_from, m.from_domain, m.fromid, m.flags, m.ret, m.envid, m.created, "  \
    "m.size, m.extra"
#define NMSG_COLS 11
#define RCPT_COLS                                                                                  \
    "r.id, r.msg_id, r.address, r.domain, r.orcpt, r.notify, r.held, r.attempts, "                 \
    "r.next_attempt, r.last_attempt, r.last_code, r.last_enhanced, r.last_text, r.rflags, "        \
    "r.lease_owner, r.lease_until"
#define RET_COLS                                                                                   \
    "t.id, t.msg_id, t.account, t.mail_from, t.from_domain, t.fromid, t.address, t.domain, "       \
    "t.outcome, t.code, t.enhanced, t.rtext, t.attempts, t.last_attempt, t.retired, "              \
    "t.keep_until, t.extra"

struct pending {
    mox_queue_msg *m;
    const void *body;
    size_t len;
    mox_queue_rcpt *r;
    size_t n;
    char *ref;
    int rc;
    mox_errinfo ei;
    int done;
    struct pending *next;
};

typedef struct sqlstore {
    mox_queue_store pub;
    const moxi_sqldrv *drv;
    void *db;
    void *rdb; /* read connection (== db without clone) */
    uint64_t max_size;
    pthread_mutex_t db_mu;
    pthread_mutex_t rd_mu; /* guards rdb when it is its own connection */
    pthread_mutex_t gc_mu;
    pthread_cond_t gc_cv;
    struct pending *head, **tail;
    int leader;
} sqlstore;

static int exec(sqlstore *s, const char *sql, const moxi_sqlval *p, size_t np, moxi_sqlrow_fn fn,
                void *ctx, mox_errinfo *ei)
{
    return s->drv->exec(s->db, sql, p, np, 0, fn, ctx, ei);
}

/* Reads go to the read connection under its own lock. */
static pthread_mutex_t *rlock(sqlstore *s)
{
    pthread_mutex_t *m = s->rdb != s->db ? &s->rd_mu : &s->db_mu;
    pthread_mutex_lock(m);
    return m;
}

static int rexec(sqlstore *s, const char *sql, const moxi_sqlval *p, size_t np, unsigned flags,
                 moxi_sqlrow_fn fn, void *ctx, mox_errinfo *ei)
{
    return s->drv->exec(s->rdb, sql, p, np, flags, fn, ctx, ei);
}

static int count_row(void *ctx, moxi_sqlrow *row)
{
    (void)row;
    (*(size_t *)ctx)++;
    return 0;
}

struct int_out {
    const moxi_sqldrv *drv;
    int64_t v;
    int found;
    int isnull;
};

static int int_row(void *ctx, moxi_sqlrow *row)
{
    struct int_out *o = ctx;
    o->isnull = o->drv->col_text(row, 0) == NULL;
    o->v = o->drv->col_int(row, 0);
    o->found = 1;
    return 1;
}

static int begin(sqlstore *s, mox_errinfo *ei)
{
    return exec(s, s->drv->begin, NULL, 0, NULL, NULL, ei);
}

static int commit(sqlstore *s, mox_errinfo *ei)
{
    return exec(s, "COMMIT", NULL, 0, NULL, NULL, ei);
}

static void rollback(sqlstore *s)
{
    exec(s, "ROLLBACK", NULL, 0, NULL, NULL, NULL);
}

/* ---------------------------------------------------------------- rows */

static void fill_msg(const moxi_sqldrv *d, moxi_sqlrow *row, int c, mox_queue_msg *m)
{
    memset(m, 0, sizeof *m);
    m->id = d->col_int(row, c + 0);
    m->account = d->col_text(row, c + 1);
    m->mail_from = d->col_text(row, c + 2);
    m->from_domain = d->col_text(row, c + 3);
    m->fromid = d->col_text(row, c + 4);
    m->flags = (unsigned)d->col_int(row, c + 5);
    m->ret = (int)d->col_int(row, c + 6);
    m->envid = d->col_text(row, c + 7);
    m->created_ms = d->col_int(row, c + 8);
    m->size = d->col_int(row, c + 9);
    m->extra = d->col_blob(row, c + 10, &m->extra_len);
    if (!m->extra_len)
        m->extra = NULL;
}

static void fill_rcpt(const moxi_sqldrv *d, moxi_sqlrow *row, int c, mox_queue_rcpt *r)
{
    memset(r, 0, sizeof *r);
    r->id = d->col_int(row, c + 0);
    r->msg_id = d->col_int(row, c + 1);
    r->address = d->col_text(row, c + 2);
    r->domain = d->col_text(row, c + 3);
    r->orcpt = d->col_text(row, c + 4);
    r->notify = (unsigned)d->col_int(row, c + 5);
    r->held = (int)d->col_int(row, c + 6);
    r->attempts = (int)d->col_int(row, c + 7);
    r->next_attempt_ms = d->col_int(row, c + 8);
    r->last_attempt_ms = d->col_int(row, c + 9);
    r->last_code = (int)d->col_int(row, c + 10);
    r->last_enhanced = d->col_text(row, c + 11);
    r->last_text = d->col_text(row, c + 12);
    r->rflags = (unsigned)d->col_int(row, c + 13);
    r->lease_owner = d->col_text(row, c + 14);
    r->lease_until_ms = d->col_int(row, c + 15);
}

struct visit {
    const moxi_sqldrv *drv;
    mox_queue_rcpt_fn fn;
    void *ctx;
    size_t n;
};

static int visit_row(void *ctx, moxi_sqlrow *row)
{
    struct visit *v = ctx;
    mox_queue_msg m;
    mox_queue_rcpt r;
    fill_msg(v->drv, row, 0, &m);
    fill_rcpt(v->drv, row, NMSG_COLS, &r);
    v->n++;
    return v->fn ? v->fn(v->ctx, &m, &r) : 0;
}

/* ---------------------------------------------------------------- SQL builder */

#define MAXP 48

struct sqlb {
    mox_buf sql;
    moxi_sqlval p[MAXP];
    size_t np;
    int err;
};

static void b_str(struct sqlb *b, const char *s)
{
    if (!b->err && mox_buf_append_str(&b->sql, s))
        b->err = MOX_ERR_NOMEM;
}

/* Appends `pre` $N `post` with a new parameter. */
static void b_param(struct sqlb *b, const char *pre, moxi_sqlval v, const char *post)
{
    if (b->err)
        return;
    if (b->np >= MAXP) {
        b->err = MOX_ERR_LIMIT;
        return;
    }
    b->p[b->np++] = v;
    if (mox_buf_appendf(&b->sql, "%s$%zu%s", pre, b->np, post))
        b->err = MOX_ERR_NOMEM;
}

static void b_ids(struct sqlb *b, const char *col, const int64_t *ids, size_t n)
{
    if (b->err)
        return;
    if (mox_buf_appendf(&b->sql, " AND %s IN (", col)) {
        b->err = MOX_ERR_NOMEM;
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (mox_buf_appendf(&b->sql, "%s%" PRId64, i ? "," : "", ids[i]))
            b->err = MOX_ERR_NOMEM;
    if (n == 0)
        b_str(b, "NULL");
    b_str(b, ")");
}

/* WHERE conditions of a filter, on rcpt r + msg m, or on retired t. */
static void b_filter(struct sqlb *b, const mox_queue_filter *f, int retired)
{
    if (!f)
        return;
    const char *id = retired ? "t.id" : "r.id";
    if (f->ids)
        b_ids(b, id, f->ids, f->nids);
    if (f->msg_id)
        b_param(b, retired ? " AND t.msg_id = " : " AND r.msg_id = ", moxi_sql_int(f->msg_id), "");
    if (f->account)
        b_param(b, retired ? " AND t.account = " : " AND m.account = ", moxi_sql_text(f->account),
                "");
    if (f->from_domain)
        b_param(b, retired ? " AND t.from_domain = " : " AND m.from_domain = ",
                moxi_sql_text(f->from_domain), "");
    if (f->rcpt_domain)
        b_param(b, retired ? " AND t.domain = " : " AND r.domain = ",
                moxi_sql_text(f->rcpt_domain), "");
    if (f->fromid)
        b_param(b, retired ? " AND t.fromid = " : " AND m.fromid = ", moxi_sql_text(f->fromid), "");
    if (!retired && f->held == 1)
        b_str(b, " AND r.held = 1");
    if (!retired && f->held == 2)
        b_str(b, " AND r.held = 0");
}

static void b_limit(struct sqlb *b, const mox_queue_filter *f)
{
    if (f && f->limit && !b->err &&
        mox_buf_appendf(&b->sql, " LIMIT %" PRIu64, (uint64_t)f->limit))
        b->err = MOX_ERR_NOMEM;
}

static int b_fail(struct sqlb *b, mox_errinfo *ei)
{
    mox_buf_free(&b->sql);
    return moxi_fail(ei, b->err, 0, SIZE_MAX, "queue store: %s",
                     b->err == MOX_ERR_LIMIT ? "filter has too many members"
                                             : "out of memory");
}

static const mox_queue_filter *filter_copy(mox_queue_filter *dst, const mox_queue_filter *f)
{
    if (!f)
        return NULL;
    mox_queue_filter d = MOX_QUEUE_FILTER_INIT;
    moxi_copy_sized(&d, f, sizeof d);
    *dst = d;
    return dst;
}

/* ---------------------------------------------------------------- enqueue */

struct id_list {
    const moxi_sqldrv *drv;
    int64_t *ids;
    size_t n, cap;
    int nomem;
};

static int id_row(void *ctx, moxi_sqlrow *row)
{
    struct id_list *l = ctx;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        int64_t *ni = mox_realloc(l->ids, nc * sizeof *ni);
        if (!ni) {
            l->nomem = 1;
            return 1;
        }
        l->ids = ni;
        l->cap = nc;
    }
    l->ids[l->n++] = l->drv->col_int(row, 0);
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int insert_one(sqlstore *s, struct pending *p)
{
    mox_queue_msg *m = p->m;
    mox_errinfo *ei = &p->ei;
    moxi_sqlval v[13] = {
        moxi_sql_text(m->account),
        moxi_sql_text(m->mail_from),
        moxi_sql_text(m->from_domain),
        moxi_sql_text(m->fromid),
        moxi_sql_int(m->flags),
        moxi_sql_int(m->ret),
        moxi_sql_text(m->envid),
        moxi_sql_int(m->created_ms),
        moxi_sql_int((int64_t)p->len),
        moxi_sql_blob(m->extra_len ? m->extra : NULL, m->extra_len),
        moxi_sql_text(p->ref),
        s->drv->body_put ? moxi_sql_blob(NULL, 0) : moxi_sql_blob(p->body ? p->body : "", p->len),
    };
    struct int_out o = {s->drv, 0, 0, 0};
    int rc = exec(s,
                  "INSERT INTO mox_queue_msg(account, mail_from, from_domain, fromid, flags, ret, "
                  "envid, created, size, extra, body_ref, body) "
                  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                  v, 12, int_row, &o, ei);
    if (rc)
        return rc;
    if (!o.found)
        return moxi_fail(ei, MOX_ERR_IO, 0, SIZE_MAX, "queue store: insert returned no id");
    m->id = o.v;
    /* Recipients in multi-row INSERTs of up to RCHUNK rows. Ids come back
     * through RETURNING, whose order neither database promises; but both
     * assign ids in VALUES order within one statement (SQLite's rowids,
     * PostgreSQL's nextval per row), so the sorted ids match the rows. */
    enum { RCHUNK = 64, RCOLS = 7 };
    moxi_sqlval *w = mox_malloc(RCHUNK * RCOLS * sizeof *w);
    mox_buf sql = MOX_BUF_INIT;
    struct id_list il = {s->drv, NULL, 0, 0, 0};
    rc = w ? MOX_OK : moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    for (size_t at = 0; rc == 0 && at < p->n; at += RCHUNK) {
        size_t k = p->n - at < RCHUNK ? p->n - at : RCHUNK;
        mox_buf_reset(&sql);
        int e = mox_buf_append_str(&sql,
                                   "INSERT INTO mox_queue_rcpt(msg_id, address, domain, orcpt, "
                                   "notify, held, next_attempt, attempts, last_attempt, "
                                   "last_code, rflags, lease_until) VALUES ");
        for (size_t i = 0; e == 0 && i < k; i++) {
            mox_queue_rcpt *r = &p->r[at + i];
            r->msg_id = m->id;
            moxi_sqlval *rv = w + i * RCOLS;
            rv[0] = moxi_sql_int(m->id);
            rv[1] = moxi_sql_text(r->address);
            rv[2] = moxi_sql_text(r->domain);
            rv[3] = moxi_sql_text(r->orcpt);
            rv[4] = moxi_sql_int(r->notify);
            rv[5] = moxi_sql_int(r->held);
            rv[6] = moxi_sql_int(r->next_attempt_ms);
            size_t b = i * RCOLS;
            e = mox_buf_appendf(&sql, "%s($%zu, $%zu, $%zu, $%zu, $%zu, $%zu, $%zu, 0, 0, 0, 0, 0)",
                                i ? ", " : "", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7);
        }
        if (e == 0)
            e = mox_buf_append_str(&sql, " RETURNING id");
        if (e) {
            rc = moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
            break;
        }
        il.n = 0;
        rc = exec(s, (char *)sql.data, w, k * RCOLS, id_row, &il, ei);
        if (rc == 0 && il.nomem)
            rc = moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
        if (rc == 0 && il.n != k)
            rc = moxi_fail(ei, MOX_ERR_IO, 0, SIZE_MAX, "queue store: insert returned %zu ids",
                           il.n);
        if (rc == 0) {
            qsort(il.ids, il.n, sizeof *il.ids, cmp_id);
            for (size_t i = 0; i < k; i++)
                p->r[at + i].id = il.ids[i];
        }
    }
    mox_free(w);
    mox_free(il.ids);
    mox_buf_free(&sql);
    return rc;
}

/* Inserts every request of the batch in the open transaction, each in a
 * savepoint when `sp`. Returns 1 when a request failed. */
static int insert_batch(sqlstore *s, struct pending *batch, int sp)
{
    int failed = 0;
    for (struct pending *p = batch; p; p = p->next) {
        if (p->rc)
            continue;
        if (!sp) {
            if ((p->rc = insert_one(s, p)) != 0)
                return 1;
            continue;
        }
        if (exec(s, "SAVEPOINT mox_q", NULL, 0, NULL, NULL, &p->ei) == 0 &&
            (p->rc = insert_one(s, p)) == 0) {
            exec(s, "RELEASE SAVEPOINT mox_q", NULL, 0, NULL, NULL, NULL);
        } else {
            if (!p->rc)
                p->rc = p->ei.code ? p->ei.code : MOX_ERR_IO;
            exec(s, "ROLLBACK TO SAVEPOINT mox_q", NULL, 0, NULL, NULL, NULL);
            exec(s, "RELEASE SAVEPOINT mox_q", NULL, 0, NULL, NULL, NULL);
            failed = 1;
        }
    }
    return failed;
}

/* Commits a batch of pending requests (leader, db_mu held). Optimistic:
 * first without savepoints (two round trips fewer per request); when a
 * request fails, the transaction is rolled back and, for a batch of
 * several, redone with a savepoint per request so that one failing
 * request does not fail the others. */
static void commit_batch(sqlstore *s, struct pending *batch)
{
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    int rc = MOX_OK;
    if (s->drv->body_sync)
        rc = s->drv->body_sync(s->db, &ei);
    if (rc == 0)
        rc = begin(s, &ei);
    if (rc == 0 && insert_batch(s, batch, 0)) {
        rollback(s);
        if (batch->next) {
            for (struct pending *p = batch; p; p = p->next) {
                /* a refusal stays; anything else is tried again */
                if (p->rc && p->rc != MOX_ERR_LIMIT && p->rc != MOX_ERR_EXISTS) {
                    p->rc = 0;
                    mox_errinfo_clear(&p->ei);
                }
            }
            rc = begin(s, &ei);
            if (rc == 0)
                insert_batch(s, batch, 1);
        } else {
            rc = -1; /* the one request failed: nothing to commit */
        }
    }
    if (rc == 0) {
        rc = commit(s, &ei);
        if (rc)
            rollback(s);
    }
    if (rc == -1)
        rc = 0;
    for (struct pending *p = batch; p; p = p->next) {
        if (rc && !p->rc) {
            p->rc = rc;
            p->ei = ei;
        }
        if (p->rc && p->ref && s->drv->body_del)
            s->drv->body_del(s->db, p->ref);
    }
}

static int st_enqueue(void *ctx, mox_queue_msg *m, const void *body, size_t len, mox_queue_rcpt *r,
                      size_t n, mox_errinfo *ei)
{
    sqlstore *s = ctx;
    if (!m || !r || !n || (!body && len))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "queue store: bad enqueue arguments");
    if (len > s->max_size)
        return moxi_fail(ei, MOX_ERR_LIMIT, 0, SIZE_MAX,
                         "queue store: message of %zu bytes over the limit of %" PRIu64, len,
                         s->max_size);
    struct pending p;
    memset(&p, 0, sizeof p);
    p.m = m;
    p.body = body;
    p.len = len;
    p.r = r;
    p.n = n;
    mox_errinfo_clear(&p.ei);
    if (s->drv->body_put) {
        int rc = s->drv->body_put(s->db, body ? body : "", len, &p.ref, ei);
        if (rc)
            return rc;
    }
    pthread_mutex_lock(&s->gc_mu);
    *s->tail = &p;
    s->tail = &p.next;
    while (!p.done) {
        if (!s->leader) {
            s->leader = 1;
            struct pending *batch = s->head;
            s->head = NULL;
            s->tail = &s->head;
            pthread_mutex_unlock(&s->gc_mu);
            pthread_mutex_lock(&s->db_mu);
            commit_batch(s, batch);
            pthread_mutex_unlock(&s->db_mu);
            pthread_mutex_lock(&s->gc_mu);
            for (struct pending *q = batch; q;) {
                struct pending *next = q->next;
                q->done = 1; /* q may be freed by its owner from here on */
                q = next;
            }
            s->leader = 0;
            pthread_cond_broadcast(&s->gc_cv);
        } else {
            pthread_cond_wait(&s->gc_cv, &s->gc_mu);
        }
    }
    pthread_mutex_unlock(&s->gc_mu);
    mox_free(p.ref);
    if (p.rc) {
        if (ei) {
            *ei = p.ei;
            ei->code = p.rc;
        }
        return p.rc;
    }
    return MOX_OK;
}

/* ---------------------------------------------------------------- claim */

struct cand {
    int64_t id;
    char *domain;
};

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    int c = strcmp(x->domain, y->domain);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

struct cand_list {
    const moxi_sqldrv *drv;
    struct cand c[16];
    size_t n;
    int nomem;
};

static int cand_row(void *ctx, moxi_sqlrow *row)
{
    struct cand_list *l = ctx;
    if (l->n >= MOX_ARRAY_LEN(l->c))
        return 1;
    const char *d = l->drv->col_text(row, 2);
    l->c[l->n].id = l->drv->col_int(row, 1); /* msg id */
    l->c[l->n].domain = moxi_strdup(d ? d : "");
    if (!l->c[l->n].domain) {
        l->nomem = 1;
        return 1;
    }
    l->n++;
    return 0;
}

/* Tries to take a slot of `domain`; *slot = its index or -1. */
static int take_slot(sqlstore *s, const mox_queue_claim_req *req, const char *domain, int *slot,
                     mox_errinfo *ei)
{
    *slot = -1;
    for (uint32_t i = 0; i < req->per_destination; i++) {
        moxi_sqlval v[5] = {moxi_sql_text(domain), moxi_sql_int(i), moxi_sql_text(req->owner),
                            moxi_sql_int(req->lease_until_ms), moxi_sql_int(req->now_ms)};
        struct int_out o = {s->drv, 0, 0, 0};
        int rc = exec(s,
                      "INSERT INTO mox_queue_slot(domain, idx, owner, lease_until) "
                      "VALUES ($1, $2, $3, $4) ON CONFLICT (domain, idx) DO UPDATE SET "
                      "owner = excluded.owner, lease_until = excluded.lease_until "
                      "WHERE mox_queue_slot.lease_until <= $5 RETURNING idx",
                      v, 5, int_row, &o, ei);
        if (rc)
            return rc;
        if (o.found) {
            *slot = (int)o.v;
            return MOX_OK;
        }
    }
    return MOX_OK;
}

static int in_list(char **l, size_t n, const char *d)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(l[i], d))
            return 1;
    return 0;
}

static int claim_locked(sqlstore *s, const mox_queue_claim_req *req, int *slot,
                        mox_queue_rcpt_fn fn, void *fnctx, mox_errinfo *ei)
{
    char *excl[32];
    size_t nexcl = 0;
    int rc = MOX_ERR_NOTFOUND;
    for (int round = 0; round < 4 && rc == MOX_ERR_NOTFOUND; round++) {
        struct sqlb b;
        memset(&b, 0, sizeof b);
        b_param(&b, "SELECT id, msg_id, domain FROM mox_queue_rcpt WHERE held = 0 AND next_attempt <= ",
                moxi_sql_int(req->now_ms), "");
        if (nexcl) {
            b_str(&b, " AND domain NOT IN (");
            for (size_t i = 0; i < nexcl; i++)
                b_param(&b, i ? ", " : "", moxi_sql_text(excl[i]), "");
            b_str(&b, ")");
        }
        b_str(&b, " ORDER BY next_attempt, id LIMIT 16");
        b_str(&b, s->drv->lock_rows);
        if (b.err) {
            rc = b_fail(&b, ei);
            break;
        }
        struct cand_list cl;
        memset(&cl, 0, sizeof cl);
        cl.drv = s->drv;
        int e = exec(s, (char *)b.sql.data, b.p, b.np, cand_row, &cl, ei);
        mox_buf_free(&b.sql);
        if (e == 0 && cl.nomem)
            e = moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
        if (e) {
            for (size_t i = 0; i < cl.n; i++)
                mox_free(cl.c[i].domain);
            rc = e;
            break;
        }
        /* Slot rows are the only rows a claim can wait for (PostgreSQL
         * locks a conflicting row even when the upsert's WHERE refuses
         * it); taking them in one global order, by domain, keeps two
         * claims from waiting for each other in a cycle. */
        qsort(cl.c, cl.n, sizeof cl.c[0], cmp_cand);
        int progress = 0;
        for (size_t i = 0; i < cl.n && rc == MOX_ERR_NOTFOUND; i++) {
            const char *dom = cl.c[i].domain;
            if (in_list(excl, nexcl, dom))
                continue;
            int sl = -1;
            if (!req->admit || req->admit(req->admit_ctx, dom)) {
                e = take_slot(s, req, dom, &sl, ei);
                if (e) {
                    rc = e;
                    break;
                }
            }
            if (sl < 0) {
                if (nexcl < MOX_ARRAY_LEN(excl) && (excl[nexcl] = moxi_strdup(dom)))
                    nexcl++;
                progress = 1;
                continue;
            }
            /* The batch: due recipients of this message and domain. The
             * unary + keeps SQLite from scanning the due index (every due
             * row) instead of the (msg_id, domain) one. */
            moxi_sqlval v[4] = {moxi_sql_int(cl.c[i].id), moxi_sql_text(dom),
                                moxi_sql_int(req->now_ms), moxi_sql_int(req->max_rcpts)};
            char sql[512];
            snprintf(sql, sizeof sql,
                     "SELECT id FROM mox_queue_rcpt WHERE msg_id = $1 AND domain = $2 AND "
                     "+held = 0 AND +next_attempt <= $3 ORDER BY id LIMIT $4%s",
                     s->drv->lock_rows);
            struct id_list il = {s->drv, NULL, 0, 0, 0};
            e = exec(s, sql, v, 4, id_row, &il, ei);
            if (e == 0 && il.nomem)
                e = moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
            if (e == 0 && il.n == 0) {
                /* raced: nothing left; give the slot back in this tx */
                moxi_sqlval w[3] = {moxi_sql_text(dom), moxi_sql_int(sl),
                                    moxi_sql_text(req->owner)};
                e = exec(s,
                         "UPDATE mox_queue_slot SET owner = '', lease_until = 0 WHERE "
                         "domain = $1 AND idx = $2 AND owner = $3",
                         w, 3, NULL, NULL, ei);
                mox_free(il.ids);
                if (e) {
                    rc = e;
                    break;
                }
                continue;
            }
            struct sqlb u;
            memset(&u, 0, sizeof u);
            b_param(&u, "UPDATE mox_queue_rcpt SET attempts = attempts + 1, last_attempt = ",
                    moxi_sql_int(req->now_ms), "");
            b_param(&u, ", next_attempt = ", moxi_sql_int(req->lease_until_ms), "");
            b_param(&u, ", lease_until = ", moxi_sql_int(req->lease_until_ms), "");
            b_param(&u, ", lease_owner = ", moxi_sql_text(req->owner), " WHERE 1 = 1");
            if (e == 0)
                b_ids(&u, "id", il.ids, il.n);
            if (e == 0 && u.err)
                e = b_fail(&u, ei);
            if (e == 0)
                e = exec(s, (char *)u.sql.data, u.p, u.np, NULL, NULL, ei);
            mox_buf_free(&u.sql);
            if (e == 0) {
                struct sqlb q;
                memset(&q, 0, sizeof q);
                b_str(&q, "SELECT " MSG_COLS ", " RCPT_COLS " FROM mox_queue_rcpt r JOIN "
                          "mox_queue_msg m ON m.id = r.msg_id WHERE 1 = 1");
                b_ids(&q, "r.id", il.ids, il.n);
                b_str(&q, " ORDER BY r.id");
                if (q.err) {
                    e = b_fail(&q, ei);
                } else {
                    struct visit vi = {s->drv, fn, fnctx, 0};
                    e = exec(s, (char *)q.sql.data, NULL, 0, visit_row, &vi, ei);
                    mox_buf_free(&q.sql);
                }
            }
            mox_free(il.ids);
            if (e) {
                rc = e;
                break;
            }
            *slot = sl;
            rc = MOX_OK;
        }
        for (size_t i = 0; i < cl.n; i++)
            mox_free(cl.c[i].domain);
        if (cl.n == 0 || !progress)
            break;
    }
    for (size_t i = 0; i < nexcl; i++)
        mox_free(excl[i]);
    return rc;
}

static int st_claim(void *ctx, const mox_queue_claim_req *req, int *slot, mox_queue_rcpt_fn fn,
                    void *fnctx, mox_errinfo *ei)
{
    sqlstore *s = ctx;
    if (!req || !slot || !req->owner || !req->per_destination || !req->max_rcpts)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "queue store: bad claim request");
    pthread_mutex_lock(&s->db_mu);
    int rc = begin(s, ei);
    if (rc == 0) {
        rc = claim_locked(s, req, slot, fn, fnctx, ei);
        if (rc == MOX_OK) {
            rc = commit(s, ei);
            if (rc)
                rollback(s);
        } else {
            rollback(s);
        }
    }
    pthread_mutex_unlock(&s->db_mu);
    if (rc == MOX_ERR_NOTFOUND) {
        mox_errinfo_clear(ei);
        if (ei)
            ei->code = MOX_ERR_NOTFOUND;
    }
    return rc;
}

/* ---------------------------------------------------------------- body */

struct body_out {
    const moxi_sqldrv *drv;
    mox_buf *out;
    char *ref;
    int found, nomem;
};

static int body_row(void *ctx, moxi_sqlrow *row)
{
    struct body_out *o = ctx;
    o->found = 1;
    if (o->drv->body_get) {
        const char *r = o->drv->col_text(row, 0);
        o->ref = r ? moxi_strdup(r) : NULL;
        o->nomem = r && !o->ref;
    } else {
        size_t n = 0;
        const void *p = o->drv->col_blob(row, 0, &n);
        o->nomem = mox_buf_append(o->out, p ? p : "", n) != 0;
    }
    return 1;
}

static int st_body(void *ctx, int64_t msg_id, mox_buf *out, mox_errinfo *ei)
{
    sqlstore *s = ctx;
    moxi_sqlval v[1] = {moxi_sql_int(msg_id)};
    struct body_out o = {s->drv, out, NULL, 0, 0};
    pthread_mutex_lock(&s->db_mu);
    int rc = s->drv->exec(s->db,
                          s->drv->body_get ? "SELECT body_ref FROM mox_queue_msg WHERE id = $1"
                                           : "SELECT body FROM mox_queue_msg WHERE id = $1",
                          v, 1, s->drv->body_get ? 0 : MOXI_SQL_BINARY, body_row, &o, ei);
    pthread_mutex_unlock(&s->db_mu);
    if (rc == 0 && o.nomem)
        rc = moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    if (rc == 0 && !o.found)
        rc = moxi_fail(ei, MOX_ERR_NOTFOUND, 0, SIZE_MAX, "queue store: no message %" PRId64,
                       msg_id);
    if (rc == 0 && s->drv->body_get) {
        if (!o.ref)
            rc = moxi_fail(ei, MOX_ERR_IO, 0, SIZE_MAX, "queue store: message without body");
        else
            rc = s->drv->body_get(s->db, o.ref, out, ei);
    }
    mox_free(o.ref);
    return rc;
}

/* ---------------------------------------------------------------- outcomes */

static int st_reschedule(void *ctx, const char *owner, int64_t rcpt_id, int64_t next_ms, int code,
                         const char *enhanced, const char *text, unsigned set_rflags,
                         mox_errinfo *ei)
{
    sqlstore *s = ctx;
    moxi_sqlval v[7] = {moxi_sql_int(next_ms),    moxi_sql_int(code),
                        moxi_sql_text(enhanced),  moxi_sql_text(text),
                        moxi_sql_int(set_rflags), moxi_sql_int(rcpt_id),
                        moxi_sql_text(owner ? owner : "")};
    size_t n = 0;
    pthread_mutex_lock(&s->db_mu);
    int rc = exec(s,
                  "UPDATE mox_queue_rcpt SET next_attempt = $1, last_code = $2, "
                  "last_enhanced = $3, last_text = $4, rflags = rflags | $5, lease_owner = NULL, "
                  "lease_until = 0 WHERE id = $6 AND lease_owner = $7 RETURNING id",
                  v, 7, count_row, &n, ei);
    pthread_mutex_unlock(&s->db_mu);
    if (rc == 0 && n == 0)
        rc = moxi_fail(ei, MOX_ERR_NOTFOUND, 0, SIZE_MAX,
                       "queue store: recipient %" PRId64 " gone or leased by another node",
                       rcpt_id);
    return rc;
}

struct ref_out {
    const moxi_sqldrv *drv;
    char *ref;
    int found;
};

static int ref_row(void *ctx, moxi_sqlrow *row)
{
    struct ref_out *o = ctx;
    const char *r = o->drv->col_text(row, 0);
    o->found = 1;
    o->ref = r ? moxi_strdup(r) : NULL;
    return 1;
}

static int retire_locked(sqlstore *s, const char *owner, int64_t rcpt_id,
                         const mox_queue_retired *info, char **ref, mox_errinfo *ei)
{
    moxi_sqlval v[8] = {moxi_sql_int(rcpt_id),
                        moxi_sql_int(info->outcome),
                        moxi_sql_int(info->code),
                        moxi_sql_text(info->enhanced),
                        moxi_sql_text(info->text),
                        moxi_sql_int(info->retired_ms),
                        moxi_sql_int(info->keep_until_ms),
                        moxi_sql_text(owner)};
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO mox_queue_retired(id, msg_id, account, mail_from, from_domain, fromid, "
             "address, domain, outcome, code, enhanced, rtext, attempts, last_attempt, retired, "
             "keep_until, extra) SELECT r.id, r.msg_id, m.account, m.mail_from, m.from_domain, "
             "m.fromid, r.address, r.domain, CAST($2 AS INTEGER), CAST($3 AS INTEGER), "
             "CAST($4 AS TEXT), CAST($5 AS TEXT), r.attempts, r.last_attempt, "
             "CAST($6 AS BIGINT), CAST($7 AS BIGINT), m.extra FROM mox_queue_rcpt r JOIN "
             "mox_queue_msg m ON m.id = r.msg_id WHERE r.id = $1%s RETURNING id",
             owner ? " AND r.lease_owner = $8" : "");
    size_t n = 0;
    int rc = exec(s, sql, v, owner ? 8 : 7, count_row, &n, ei);
    if (rc)
        return rc;
    if (n == 0)
        return moxi_fail(ei, MOX_ERR_NOTFOUND, 0, SIZE_MAX,
                         "queue store: recipient %" PRId64 " gone or leased by another node",
                         rcpt_id);
    struct int_out o = {s->drv, 0, 0, 0};
    rc = exec(s, "DELETE FROM mox_queue_rcpt WHERE id = $1 RETURNING msg_id", v, 1, int_row, &o,
              ei);
    if (rc)
        return rc;
    moxi_sqlval w[1] = {moxi_sql_int(o.v)};
    struct int_out c = {s->drv, 0, 0, 0};
    rc = exec(s, "SELECT COUNT(*) FROM mox_queue_rcpt WHERE msg_id = $1", w, 1, int_row, &c, ei);
    if (rc)
        return rc;
    if (c.v == 0) {
        struct ref_out ro = {s->drv, NULL, 0};
        rc = exec(s, "DELETE FROM mox_queue_msg WHERE id = $1 RETURNING body_ref", w, 1, ref_row,
                  &ro, ei);
        *ref = ro.ref;
    }
    return rc;
}

static int st_retire(void *ctx, const char *owner, int64_t rcpt_id, const mox_queue_retired *info,
                     mox_errinfo *ei)
{
    sqlstore *s = ctx;
    if (!info)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "queue store: no retire info");
    char *ref = NULL;
    pthread_mutex_lock(&s->db_mu);
    int rc = begin(s, ei);
    if (rc == 0) {
        rc = retire_locked(s, owner, rcpt_id, info, &ref, ei);
        if (rc == 0)
            rc = commit(s, ei);
        if (rc)
            rollback(s);
    }
    if (rc == 0 && ref && s->drv->body_del)
        s->drv->body_del(s->db, ref);
    pthread_mutex_unlock(&s->db_mu);
    mox_free(ref);
    return rc;
}

static int st_release_slot(void *ctx, const char *domain, int slot, const char *owner,
                           mox_errinfo *ei)
{
    sqlstore *s = ctx;
    moxi_sqlval v[3] = {moxi_sql_text(domain), moxi_sql_int(slot), moxi_sql_text(owner)};
    pthread_mutex_lock(&s->db_mu);
    int rc = exec(s,
                  "UPDATE mox_queue_slot SET owner = '', lease_until = 0 WHERE domain = $1 AND "
                  "idx = $2 AND owner = $3",
                  v, 3, NULL, NULL, ei);
    pthread_mutex_unlock(&s->db_mu);
    return rc;
}

static int st_renew(void *ctx, const char *owner, int64_t until_ms, mox_errinfo *ei)
{
    sqlstore *s = ctx;
    moxi_sqlval v[2] = {moxi_sql_int(until_ms), moxi_sql_text(owner)};
    pthread_mutex_lock(&s->db_mu);
    int rc = exec(s,
                  "UPDATE mox_queue_rcpt SET lease_until = $1, next_attempt = $1 WHERE "
                  "lease_owner = $2",
                  v, 2, NULL, NULL, ei);
    if (rc == 0)
        rc = exec(s, "UPDATE mox_queue_slot SET lease_until = $1 WHERE owner = $2", v, 2, NULL,
                  NULL, ei);
    pthread_mutex_unlock(&s->db_mu);
    return rc;
}

static int st_next_due(void *ctx, int64_t *when_ms, mox_errinfo *ei)
{
    sqlstore *s = ctx;
    struct int_out o = {s->drv, 0, 0, 0};
    pthread_mutex_t *mu = rlock(s);
    int rc = rexec(s, "SELECT MIN(next_attempt) FROM mox_queue_rcpt WHERE held = 0", NULL, 0, 0,
                  int_row, &o, ei);
    pthread_mutex_unlock(mu);
    if (rc)
        return rc;
    if (!o.found || o.isnull) {
        mox_errinfo_clear(ei);
        if (ei)
            ei->code = MOX_ERR_NOTFOUND;
        return MOX_ERR_NOTFOUND;
    }
    *when_ms = o.v;
    return MOX_OK;
}

/* ---------------------------------------------------------------- management */

static int st_list(void *ctx, const mox_queue_filter *fin, mox_queue_rcpt_fn fn, void *fnctx,
                   mox_errinfo *ei)
{
    sqlstore *s = ctx;
    mox_queue_filter fb;
    const mox_queue_filter *f = filter_copy(&fb, fin);
    struct sqlb b;
    memset(&b, 0, sizeof b);
    b_str(&b, "SELECT " MSG_COLS ", " RCPT_COLS " FROM mox_queue_rcpt r JOIN mox_queue_msg m ON "
              "m.id = r.msg_id WHERE 1 = 1");
    b_filter(&b, f, 0);
    b_str(&b, " ORDER BY r.id");
    b_limit(&b, f);
    if (b.err)
        return b_fail(&b, ei);
    struct visit v = {s->drv, fn, fnctx, 0};
    pthread_mutex_t *mu = rlock(s);
    int rc = rexec(s, (char *)b.sql.data, b.p, b.np, 0, visit_row, &v, ei);
    pthread_mutex_unlock(mu);
    mox_buf_free(&b.sql);
    return rc;
}

static int st_set(void *ctx, const mox_queue_filter *fin, int op, int64_t now_ms, size_t *count,
                  mox_errinfo *ei)
{
    sqlstore *s = ctx;
    mox_queue_filter fb;
    const mox_queue_filter *f = filter_copy(&fb, fin);
    struct sqlb b;
    memset(&b, 0, sizeof b);
    switch (op) {
    case MOX_QUEUE_SET_HOLD:
        b_str(&b, "UPDATE mox_queue_rcpt SET held = 1");
        break;
    case MOX_QUEUE_SET_RELEASE:
        b_str(&b, "UPDATE mox_queue_rcpt SET held = 0");
        break;
    case MOX_QUEUE_SET_RETRY_NOW:
        b_param(&b, "UPDATE mox_queue_rcpt SET next_attempt = ", moxi_sql_int(now_ms), "");
        break;
    default:
        mox_buf_free(&b.sql);
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "queue store: bad set operation");
    }
    b_str(&b, " WHERE id IN (SELECT r.id FROM mox_queue_rcpt r JOIN mox_queue_msg m ON m.id = "
              "r.msg_id WHERE 1 = 1");
    b_filter(&b, f, 0);
    if (op == MOX_QUEUE_SET_RETRY_NOW)
        b_str(&b, " AND r.lease_owner IS NULL");
    b_limit(&b, f);
    b_str(&b, ") RETURNING id");
    if (b.err)
        return b_fail(&b, ei);
    size_t n = 0;
    pthread_mutex_lock(&s->db_mu);
    int rc = exec(s, (char *)b.sql.data, b.p, b.np, count_row, &n, ei);
    pthread_mutex_unlock(&s->db_mu);
    mox_buf_free(&b.sql);
    if (count)
        *count = rc ? 0 : n;
    return rc;
}

struct rvisit {
    const moxi_sqldrv *drv;
    mox_queue_retired_fn fn;
    void *ctx;
};

static int retired_row(void *ctx, moxi_sqlrow *row)
{
    struct rvisit *v = ctx;
    const moxi_sqldrv *d = v->drv;
    mox_queue_retired t;
    memset(&t, 0, sizeof t);
    t.id = d->col_int(row, 0);
    t.msg_id = d->col_int(row, 1);
    t.account = d->col_text(row, 2);
    t.mail_from = d->col_text(row, 3);
    t.from_domain = d->col_text(row, 4);
    t.fromid = d->col_text(row, 5);
    t.address = d->col_text(row, 6);
    t.domain = d->col_text(row, 7);
    t.outcome = (int)d->col_int(row, 8);
    t.code = (int)d->col_int(row, 9);
    t.enhanced = d->col_text(row, 10);
    t.text = d->col_text(row, 11);
    t.attempts = (int)d->col_int(row, 12);
    t.last_attempt_ms = d->col_int(row, 13);
    t.retired_ms = d->col_int(row, 14);
    t.keep_until_ms = d->col_int(row, 15);
    t.extra = d->col_blob(row, 16, &t.extra_len);
    if (!t.extra_len)
        t.extra = NULL;
    return v->fn ? v->fn(v->ctx, &t) : 0;
}

static int st_retired_list(void *ctx, const mox_queue_filter *fin, mox_queue_retired_fn fn,
                           void *fnctx, mox_errinfo *ei)
{
    sqlstore *s = ctx;
    mox_queue_filter fb;
    const mox_queue_filter *f = filter_copy(&fb, fin);
    struct sqlb b;
    memset(&b, 0, sizeof b);
    b_str(&b, "SELECT " RET_COLS " FROM mox_queue_retired t WHERE 1 = 1");
    b_filter(&b, f, 1);
    b_str(&b, " ORDER BY t.retired DESC, t.id DESC");
    b_limit(&b, f);
    if (b.err)
        return b_fail(&b, ei);
    struct rvisit v = {s->drv, fn, fnctx};
    pthread_mutex_t *mu = rlock(s);
    int rc = rexec(s, (char *)b.sql.data, b.p, b.np, 0, retired_row, &v, ei);
    pthread_mutex_unlock(mu);
    mox_buf_free(&b.sql);
    return rc;
}

static int st_retired_purge(void *ctx, int64_t before_ms, size_t *count, mox_errinfo *ei)
{
    sqlstore *s = ctx;
    moxi_sqlval v[1] = {moxi_sql_int(before_ms)};
    size_t n = 0;
    pthread_mutex_lock(&s->db_mu);
    int rc = exec(s, "DELETE FROM mox_queue_retired WHERE keep_until <= $1 RETURNING id", v, 1,
                  count_row, &n, ei);
    if (rc == 0)
        rc = exec(s,
                  "DELETE FROM mox_queue_suppression WHERE expires > 0 AND expires <= $1", v, 1,
                  NULL, NULL, ei);
    pthread_mutex_unlock(&s->db_mu);
    if (count)
        *count = n;
    return rc;
}

static int st_rule_add(void *ctx, mox_queue_rule *r, mox_errinfo *ei)
{
    sqlstore *s = ctx;
    moxi_sqlval v[3] = {moxi_sql_text(r->account), moxi_sql_text(r->from_domain),
                        moxi_sql_text(r->rcpt_domain)};
    struct int_out o = {s->drv, 0, 0, 0};
    pthread_mutex_lock(&s->db_mu);
    int rc = exec(s,
                  "INSERT INTO mox_queue_rule(account, from_domain, rcpt_domain) VALUES ($1, $2, "
                  "$3) RETURNING id",
                  v, 3, int_row, &o, ei);
    pthread_mutex_unlock(&s->db_mu);
    if (rc == 0)
        r->id = o.v;
    return rc;
}

static int st_rule_remove(void *ctx, int64_t id, mox_errinfo *ei)
{
    sqlstore *s = ctx;
    moxi_sqlval v[1] = {moxi_sql_int(id)};
    size_t n = 0;
    pthread_mutex_lock(&s->db_mu);
    int rc = exec(s, "DELETE FROM mox_queue_rule WHERE id = $1 RETURNING id", v, 1, count_row, &n,
                  ei);
    pthread_mutex_unlock(&s->db_mu);
    if (rc == 0 && n == 0)
        rc = moxi_fail(ei, MOX_ERR_NOTFOUND, 0, SIZE_MAX, "no hold rule %" PRId64, id);
    return rc;
}

struct rule_visit {
    const moxi_sqldrv *drv;
    mox_queue_rule_fn fn;
    void *ctx;
};

static int rule_row(void *ctx, moxi_sqlrow *row)
{
    struct rule_visit *v = ctx;
    mox_queue_rule r = {v->drv->col_int(row, 0), v->drv->col_text(row, 1),
                        v->drv->col_text(row, 2), v->drv->col_text(row, 3)};
    return v->fn ? v->fn(v->ctx, &r) : 0;
}

static int st_rule_list(void *ctx, mox_queue_rule_fn fn, void *fnctx, mox_errinfo *ei)
{
    sqlstore *s = ctx;
    struct rule_visit v = {s->drv, fn, fnctx};
    pthread_mutex_t *mu = rlock(s);
    int rc = rexec(s, "SELECT id, account, from_domain, rcpt_domain FROM mox_queue_rule ORDER BY id",
                   NULL, 0, 0, rule_row, &v, ei);
    pthread_mutex_unlock(mu);
    return rc;
}

static int st_supp_add(void *ctx, const mox_queue_suppression *x, mox_errinfo *ei)
{
    sqlstore *s = ctx;
    moxi_sqlval v[6] = {moxi_sql_text(x->account), moxi_sql_text(x->address),
                        moxi_sql_text(x->reason),  moxi_sql_int(x->manual),
                        moxi_sql_int(x->created_ms), moxi_sql_int(x->expires_ms)};
    pthread_mutex_lock(&s->db_mu);
    int rc = exec(s,
                  "INSERT INTO mox_queue_suppression(account, address, reason, manual, created, "
                  "expires) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account, address) DO "
                  "UPDATE SET reason = excluded.reason, manual = excluded.manual, created = "
                  "excluded.created, expires = excluded.expires",
                  v, 6, NULL, NULL, ei);
    pthread_mutex_unlock(&s->db_mu);
    return rc;
}

static int st_supp_remove(void *ctx, const char *account, const char *address, mox_errinfo *ei)
{
    sqlstore *s = ctx;
    moxi_sqlval v[2] = {moxi_sql_text(account), moxi_sql_text(address)};
    size_t n = 0;
    pthread_mutex_lock(&s->db_mu);
    int rc = exec(s,
                  "DELETE FROM mox_queue_suppression WHERE account = $1 AND address = $2 "
                  "RETURNING account",
                  v, 2, count_row, &n, ei);
    pthread_mutex_unlock(&s->db_mu);
    if (rc == 0 && n == 0)
        rc = moxi_fail(ei, MOX_ERR_NOTFOUND, 0, SIZE_MAX, "no suppression of %s for %s",
                       address, account);
    return rc;
}

struct supp_visit {
    const moxi_sqldrv *drv;
    mox_queue_suppression_fn fn;
    void *ctx;
};

static int supp_row(void *ctx, moxi_sqlrow *row)
{
    struct supp_visit *v = ctx;
    const moxi_sqldrv *d = v->drv;
    mox_queue_suppression x = {d->col_text(row, 0), d->col_text(row, 1), d->col_text(row, 2),
                               (int)d->col_int(row, 3), d->col_int(row, 4), d->col_int(row, 5)};
    return v->fn ? v->fn(v->ctx, &x) : 0;
}

static int st_supp_list(void *ctx, const char *account, const char *address,
                        mox_queue_suppression_fn fn, void *fnctx, mox_errinfo *ei)
{
    sqlstore *s = ctx;
    struct sqlb b;
    memset(&b, 0, sizeof b);
    b_str(&b, "SELECT account, address, reason, manual, created, expires FROM "
              "mox_queue_suppression WHERE 1 = 1");
    if (account)
        b_param(&b, " AND account = ", moxi_sql_text(account), "");
    if (address)
        b_param(&b, " AND address = ", moxi_sql_text(address), "");
    b_str(&b, " ORDER BY account, address");
    if (b.err)
        return b_fail(&b, ei);
    struct supp_visit v = {s->drv, fn, fnctx};
    pthread_mutex_t *mu = rlock(s);
    int rc = rexec(s, (char *)b.sql.data, b.p, b.np, 0, supp_row, &v, ei);
    pthread_mutex_unlock(mu);
    mox_buf_free(&b.sql);
    return rc;
}

/* ---------------------------------------------------------------- schema */

static const char *const schema[] = {
    "CREATE TABLE IF NOT EXISTS mox_queue_msg (id {ID}, account TEXT NOT NULL, "
    "mail_from TEXT NOT NULL, from_domain TEXT NOT NULL, fromid TEXT NOT NULL UNIQUE, "
    "flags {INT} NOT NULL, ret {INT} NOT NULL, envid TEXT, created {INT} NOT NULL, "
    "size {INT} NOT NULL, extra {BLOB}, body_ref TEXT, body {BLOB})",
    "CREATE TABLE IF NOT EXISTS mox_queue_rcpt (id {ID}, msg_id {INT} NOT NULL, "
    "address TEXT NOT NULL, domain TEXT NOT NULL, orcpt TEXT, notify {INT} NOT NULL, "
    "held {INT} NOT NULL, attempts {INT} NOT NULL, next_attempt {INT} NOT NULL, "
    "last_attempt {INT} NOT NULL, last_code {INT} NOT NULL, last_enhanced TEXT, last_text TEXT, "
    "rflags {INT} NOT NULL, lease_owner TEXT, lease_until {INT} NOT NULL)",
    "CREATE INDEX IF NOT EXISTS mox_queue_rcpt_due ON mox_queue_rcpt (held, next_attempt)",
    "CREATE INDEX IF NOT EXISTS mox_queue_rcpt_msg ON mox_queue_rcpt (msg_id, domain)",
    "CREATE INDEX IF NOT EXISTS mox_queue_rcpt_lease ON mox_queue_rcpt (lease_owner)",
    "CREATE TABLE IF NOT EXISTS mox_queue_retired (id {INT} PRIMARY KEY, msg_id {INT} NOT NULL, "
    "account TEXT NOT NULL, mail_from TEXT NOT NULL, from_domain TEXT NOT NULL, "
    "fromid TEXT NOT NULL, address TEXT NOT NULL, domain TEXT NOT NULL, outcome {INT} NOT NULL, "
    "code {INT} NOT NULL, enhanced TEXT, rtext TEXT, attempts {INT} NOT NULL, "
    "last_attempt {INT} NOT NULL, retired {INT} NOT NULL, keep_until {INT} NOT NULL, "
    "extra {BLOB})",
    "CREATE INDEX IF NOT EXISTS mox_queue_retired_keep ON mox_queue_retired (keep_until)",
    "CREATE INDEX IF NOT EXISTS mox_queue_retired_fromid ON mox_queue_retired (fromid)",
    "CREATE TABLE IF NOT EXISTS mox_queue_slot (domain TEXT NOT NULL, idx {INT} NOT NULL, "
    "owner TEXT NOT NULL, lease_until {INT} NOT NULL, PRIMARY KEY (domain, idx))",
    "CREATE TABLE IF NOT EXISTS mox_queue_rule (id {ID}, account TEXT, from_domain TEXT, "
    "rcpt_domain TEXT)",
    "CREATE TABLE IF NOT EXISTS mox_queue_suppression (account TEXT NOT NULL, "
    "address TEXT NOT NULL, reason TEXT, manual {INT} NOT NULL, created {INT} NOT NULL, "
    "expires {INT} NOT NULL, PRIMARY KEY (account, address))",
    NULL,
};

/* The statement with the driver's types in place of {ID}, {INT}, {BLOB}. */
static int schema_sql(const moxi_sqldrv *d, const char *t, mox_buf *out)
{
    int rc = 0;
    while (*t && rc == 0) {
        if (!strncmp(t, "{ID}", 4)) {
            rc = mox_buf_append_str(out, d->type_id);
            t += 4;
        } else if (!strncmp(t, "{INT}", 5)) {
            rc = mox_buf_append_str(out, d->type_int);
            t += 5;
        } else if (!strncmp(t, "{BLOB}", 6)) {
            rc = mox_buf_append_str(out, d->type_blob);
            t += 6;
        } else {
            rc = mox_buf_append_byte(out, (unsigned char)*t++);
        }
    }
    return rc;
}

static int create_schema(sqlstore *s, mox_errinfo *ei)
{
    int rc = 0;
    if (s->drv->schema_lock)
        rc = exec(s, s->drv->schema_lock, NULL, 0, NULL, NULL, ei);
    for (const char *const *q = schema; *q && rc == 0; q++) {
        mox_buf b = MOX_BUF_INIT;
        rc = schema_sql(s->drv, *q, &b);
        if (rc)
            rc = moxi_fail(ei, rc, 0, SIZE_MAX, "out of memory");
        else
            rc = exec(s, (char *)b.data, NULL, 0, NULL, NULL, ei);
        mox_buf_free(&b);
    }
    if (s->drv->schema_unlock) {
        int r2 = exec(s, s->drv->schema_unlock, NULL, 0, NULL, NULL, rc ? NULL : ei);
        if (rc == 0)
            rc = r2;
    }
    return rc;
}

/* ---------------------------------------------------------------- lifecycle */

static void st_close(void *ctx)
{
    sqlstore *s = ctx;
    if (!s)
        return;
    if (s->drv && s->rdb && s->rdb != s->db)
        s->drv->close(s->rdb);
    if (s->drv && s->db)
        s->drv->close(s->db);
    pthread_mutex_destroy(&s->db_mu);
    pthread_mutex_destroy(&s->rd_mu);
    pthread_mutex_destroy(&s->gc_mu);
    pthread_cond_destroy(&s->gc_cv);
    mox_free(s);
}

int moxi_sqlstore_exec(mox_queue_store *pub, const char *sql, const moxi_sqlval *p, size_t np,
                       mox_errinfo *ei)
{
    sqlstore *s = pub->ctx;
    pthread_mutex_lock(&s->db_mu);
    int rc = exec(s, sql, p, np, NULL, NULL, ei);
    pthread_mutex_unlock(&s->db_mu);
    return rc;
}

int moxi_sqlstore_new(mox_queue_store **out, const moxi_sqldrv *drv, void *db, uint64_t max_size,
                      mox_errinfo *ei)
{
    sqlstore *s = mox_calloc(1, sizeof *s);
    if (!s) {
        drv->close(db);
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    }
    s->drv = drv;
    s->db = db;
    s->rdb = db;
    s->max_size = max_size;
    pthread_mutex_init(&s->db_mu, NULL);
    pthread_mutex_init(&s->rd_mu, NULL);
    pthread_mutex_init(&s->gc_mu, NULL);
    pthread_cond_init(&s->gc_cv, NULL);
    s->tail = &s->head;
    mox_queue_store *p = &s->pub;
    p->size = sizeof *p;
    p->ctx = s;
    p->close = st_close;
    p->enqueue = st_enqueue;
    p->claim = st_claim;
    p->body = st_body;
    p->reschedule = st_reschedule;
    p->retire = st_retire;
    p->release_slot = st_release_slot;
    p->renew = st_renew;
    p->next_due = st_next_due;
    p->list = st_list;
    p->set = st_set;
    p->retired_list = st_retired_list;
    p->retired_purge = st_retired_purge;
    p->rule_add = st_rule_add;
    p->rule_remove = st_rule_remove;
    p->rule_list = st_rule_list;
    p->supp_add = st_supp_add;
    p->supp_remove = st_supp_remove;
    p->supp_list = st_supp_list;
    int rc = create_schema(s, ei);
    if (rc == 0 && drv->clone)
        rc = drv->clone(db, &s->rdb, ei);
    if (rc) {
        if (!s->rdb)
            s->rdb = db;
        st_close(s);
        return rc;
    }
    *out = p;
    return MOX_OK;
}

void mox_queue_store_close(mox_queue_store *s)
{
    if (s && s->close)
        s->close(s->ctx);
}
