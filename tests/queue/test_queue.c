/* Queue behaviour, the same tests against the SQLite and the PostgreSQL
 * backend (a private server; skipped with a message when PostgreSQL's
 * binaries are absent). */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "moxtest.h"
#include "mox/dsn.h"
#include "mox/queue.h"
#include "pgtest.h"

#define MOX_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- fixture */

enum { BACKEND_SQLITE, BACKEND_PG };

static pgtest pg;
static int pg_state = -2; /* -2 not started, 0 running, 1 skipped, -1 failed */

static int64_t vnow_ns;
static int64_t vwall(void *ctx)
{
    (void)ctx;
    return vnow_ns;
}
static mox_clock vclock = {sizeof(mox_clock), NULL, vwall, NULL};
static int n_delivered_metric, n_attempt_metric;
static void m_count(void *ctx, const char *name, const mox_metric_label *l, size_t nl, double d)
{
    (void)ctx;
    (void)d;
    if (!strcmp(name, "mox_queue_delivery_total") && nl == 1 && !strcmp(l[0].value, "delivered"))
        n_delivered_metric++;
}
static void m_observe(void *ctx, const char *name, const mox_metric_label *l, size_t nl, double v)
{
    (void)ctx;
    (void)l;
    (void)nl;
    if (!strcmp(name, "mox_queue_attempt_duration_seconds") && v >= 0)
        n_attempt_metric++;
}
static mox_metrics vmetrics = {sizeof(mox_metrics), NULL, m_count, m_observe};
static mox_env venv = {sizeof(mox_env), NULL, &vmetrics, &vclock, NULL};

static void advance_s(double s)
{
    vnow_ns += (int64_t)(s * 1e9);
}

static int64_t vnow_ms(void)
{
    return vnow_ns / 1000000;
}

#define MAXREC 2048

struct rec_attempt {
    mox_queue_attempt *a;
    char domain[64];
    char from[128];
    size_t nrcpts;
    char rcpt[8][64];
    size_t len;
};

typedef struct fix {
    int backend;
    char dir[256];
    char path[300];
    mox_queue_store *st;
    mox_queue *q;
    mox_queue_config cfg;
    mox_queue_deliverer dl;
    /* deliverer behaviour: NULL keeps the attempt open */
    mox_queue_result (*policy)(struct fix *f, const mox_queue_attempt_info *in, size_t i);
    struct rec_attempt att[64];
    size_t natt;
    /* events */
    int ev_kind[MAXREC];
    char ev_rcpt[MAXREC][64];
    char ev_text[MAXREC][160];
    int ev_remote[MAXREC];
    size_t nev;
    /* DSNs handed to dsn_deliver */
    size_t ndsn;
    char dsn_to[16][64];
    char *dsn_body[16];
} fix;

static int capture_dsn(void *ctx, const char *account, const char *to, const void *msg,
                       size_t len)
{
    fix *f = ctx;
    assert_string_equal(account, "alice");
    if (f->ndsn < 16) {
        snprintf(f->dsn_to[f->ndsn], 64, "%s", to);
        f->dsn_body[f->ndsn] = strndup(msg, len);
        f->ndsn++;
    }
    return MOX_OK;
}

static void on_event(void *ctx, const mox_queue_event *ev)
{
    fix *f = ctx;
    if (f->nev >= MAXREC)
        return;
    f->ev_kind[f->nev] = ev->kind;
    snprintf(f->ev_rcpt[f->nev], sizeof f->ev_rcpt[0], "%s", ev->recipient ? ev->recipient : "");
    snprintf(f->ev_text[f->nev], sizeof f->ev_text[0], "%s", ev->text ? ev->text : "");
    f->ev_remote[f->nev] = ev->remote;
    f->nev++;
}

static size_t count_ev(const fix *f, int kind)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nev; i++)
        n += f->ev_kind[i] == kind;
    return n;
}

static int start_cb(void *ctx, mox_queue *q, mox_queue_attempt *a)
{
    fix *f = ctx;
    const mox_queue_attempt_info *in = mox_queue_attempt_get(a);
    if (f->natt < MOX_ARRAY_LEN(f->att)) {
        struct rec_attempt *r = &f->att[f->natt++];
        memset(r, 0, sizeof *r);
        r->a = a;
        snprintf(r->domain, sizeof r->domain, "%s", in->domain);
        snprintf(r->from, sizeof r->from, "%s", in->envelope_from ? in->envelope_from : "");
        r->nrcpts = in->nrcpts;
        for (size_t i = 0; i < in->nrcpts && i < 8; i++)
            snprintf(r->rcpt[i], sizeof r->rcpt[i], "%s", in->rcpts[i].address);
        r->len = in->len;
    }
    if (!f->policy)
        return MOX_OK;
    mox_queue_result res[64];
    size_t n = in->nrcpts < 64 ? in->nrcpts : 64;
    for (size_t i = 0; i < n; i++) {
        res[i] = f->policy(f, in, i);
        res[i].index = i;
    }
    assert_int_equal(mox_queue_attempt_result(q, a, res, n, NULL), MOX_OK);
    assert_int_equal(mox_queue_attempt_end(q, a, NULL, NULL), MOX_OK);
    return MOX_OK;
}

static mox_queue_result deliver_all(fix *f, const mox_queue_attempt_info *in, size_t i)
{
    (void)f;
    (void)in;
    (void)i;
    mox_queue_result r = {0, MOX_QUEUE_DELIVERED, 0, 0, 250, "2.0.0", "ok queued", "mx.test"};
    return r;
}

static mox_queue_result temp_all(fix *f, const mox_queue_attempt_info *in, size_t i)
{
    (void)f;
    (void)in;
    (void)i;
    mox_queue_result r = {0, MOX_QUEUE_TEMPFAIL, 0, 0, 451, "4.3.0", "try later", "mx.test"};
    return r;
}

static mox_queue_result perm_all(fix *f, const mox_queue_attempt_info *in, size_t i)
{
    (void)f;
    (void)in;
    (void)i;
    mox_queue_result r = {0, MOX_QUEUE_PERMFAIL, 0, 0, 550, "5.1.1", "no such user", "mx.test"};
    return r;
}

/* bob fails permanently, others are delivered */
static mox_queue_result bob_fails(fix *f, const mox_queue_attempt_info *in, size_t i)
{
    if (strncasecmp(in->rcpts[i].address, "bob", 3) == 0)
        return perm_all(f, in, i);
    return deliver_all(f, in, i);
}

static mox_queue_store *open_store(fix *f, const mox_queue_sqlite_config *sc)
{
    mox_queue_store *st = NULL;
    mox_errinfo ei;
    int rc;
    if (f->backend == BACKEND_SQLITE)
        rc = mox_queue_store_sqlite_open(&st, f->path, sc, &ei);
    else
        rc = mox_queue_store_pg_open(&st, pg.conninfo, NULL, &ei);
    if (rc)
        fprintf(stderr, "open store: %s\n", ei.msg);
    assert_int_equal(rc, MOX_OK);
    return st;
}

static void new_queue(fix *f)
{
    mox_errinfo ei;
    if (f->q)
        mox_queue_free(f->q);
    f->q = NULL;
    int rc = mox_queue_new(&f->q, &f->cfg, f->st, &ei);
    if (rc)
        fprintf(stderr, "new queue: %s\n", ei.msg);
    assert_int_equal(rc, MOX_OK);
}

static int setup_common(void **state, int backend)
{
    fix *f = calloc(1, sizeof *f);
    f->backend = backend;
    if (backend == BACKEND_PG) {
        if (pg_state != 0) {
            free(f);
            return -1;
        }
        if (pgtest_reset(&pg)) {
            free(f);
            return -1;
        }
    } else {
        snprintf(f->dir, sizeof f->dir, "/tmp/moxq.XXXXXX");
        if (!mkdtemp(f->dir)) {
            free(f);
            return -1;
        }
        snprintf(f->path, sizeof f->path, "%s/queue.db", f->dir);
    }
    vnow_ns = 1800000000LL * 1000000000LL;
    n_delivered_metric = n_attempt_metric = 0;
    f->st = open_store(f, NULL);
    mox_queue_config_init(&f->cfg, sizeof f->cfg);
    f->cfg.env = &venv;
    f->cfg.flags = MOX_QUEUE_NO_JITTER;
    f->cfg.hostname = "mail.test";
    f->cfg.on_event = on_event;
    f->cfg.event_ctx = f;
    f->dl.size = sizeof f->dl;
    f->dl.ctx = f;
    f->dl.start = start_cb;
    f->cfg.deliverer = &f->dl;
    f->cfg.dsn_deliver = capture_dsn;
    f->cfg.dsn_ctx = f;
    new_queue(f);
    *state = f;
    return 0;
}

static int setup_sqlite(void **state)
{
    return setup_common(state, BACKEND_SQLITE);
}

static int setup_pg(void **state)
{
    return setup_common(state, BACKEND_PG);
}

static void rm_dir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static int teardown(void **state)
{
    fix *f = *state;
    for (size_t i = 0; i < f->natt; i++)
        f->att[i].a = NULL;
    mox_queue_free(f->q);
    mox_queue_store_close(f->st);
    if (f->backend == BACKEND_SQLITE)
        rm_dir(f->dir);
    for (size_t i = 0; i < f->ndsn; i++)
        free(f->dsn_body[i]);
    free(f);
    return 0;
}

static int64_t enqueue(fix *f, const char *from, const char **rcpts, size_t n, unsigned flags,
                       int ret, unsigned notify)
{
    mox_queue_recipient r[16];
    memset(r, 0, sizeof r);
    for (size_t i = 0; i < n; i++) {
        r[i].address = rcpts[i];
        r[i].notify = notify;
    }
    mox_queue_submission s = MOX_QUEUE_SUBMISSION_INIT;
    s.account = "alice";
    s.mail_from = from;
    s.flags = flags;
    s.ret = ret;
    s.envid = "env-1";
    s.extra = "{\"k\":1}";
    s.extra_len = 7;
    static const char msg[] = "From: alice@example.org\r\nSubject: test\r\n"
                              "Message-ID: <m1@example.org>\r\n\r\nhello body\r\n";
    s.data = msg;
    s.len = sizeof msg - 1;
    s.rcpts = r;
    s.nrcpts = n;
    mox_errinfo ei;
    int rc = mox_queue_enqueue(f->q, &s, &ei);
    if (rc)
        fprintf(stderr, "enqueue: %s\n", ei.msg);
    assert_int_equal(rc, MOX_OK);
    assert_true(s.msg_id > 0);
    assert_int_equal(strlen(s.fromid), MOX_DSN_FROMID_LEN);
    for (size_t i = 0; i < n; i++)
        assert_true(r[i].id > 0 || r[i].status == MOX_ERR_PERM);
    return s.msg_id;
}

static int run(fix *f)
{
    mox_errinfo ei;
    int rc = mox_queue_run(f->q, &ei);
    if (rc < 0)
        fprintf(stderr, "run: %s\n", ei.msg);
    assert_true(rc >= 0);
    return rc;
}

/* Runs until nothing more starts. */
static int run_all(fix *f)
{
    int total = 0, n;
    while ((n = run(f)) > 0)
        total += n;
    return total;
}

struct counter {
    size_t n;
    int outcome[64];
    char addr[64][64];
    int held[64];
    int64_t next[64];
    int attempts[64];
};

static int count_q(void *ctx, const mox_queue_msg *m, const mox_queue_rcpt *r)
{
    (void)m;
    struct counter *c = ctx;
    if (c->n < 64) {
        snprintf(c->addr[c->n], 64, "%s", r->address);
        c->held[c->n] = r->held;
        c->next[c->n] = r->next_attempt_ms;
        c->attempts[c->n] = r->attempts;
    }
    c->n++;
    return 0;
}

static int count_t(void *ctx, const mox_queue_retired *t)
{
    struct counter *c = ctx;
    if (c->n < 64) {
        c->outcome[c->n] = t->outcome;
        snprintf(c->addr[c->n], 64, "%s", t->address);
    }
    c->n++;
    return 0;
}

static int first_fn(void *ctx, const mox_queue_msg *m, const mox_queue_rcpt *r)
{
    (void)m;
    *(int64_t *)ctx = r->id;
    return 1;
}

/* The first recipient id of a message. */
static int64_t first_id(fix *f, int64_t msg_id)
{
    mox_queue_filter flt = MOX_QUEUE_FILTER_INIT;
    flt.msg_id = msg_id;
    int64_t id = 0;
    assert_int_equal(mox_queue_list(f->q, &flt, first_fn, &id, NULL), MOX_OK);
    assert_true(id > 0);
    return id;
}

static size_t nqueued(fix *f, const mox_queue_filter *flt)
{
    struct counter c;
    memset(&c, 0, sizeof c);
    assert_int_equal(mox_queue_list(f->q, flt, count_q, &c, NULL), MOX_OK);
    return c.n;
}

static size_t nretired(fix *f, int outcome)
{
    struct counter c;
    memset(&c, 0, sizeof c);
    assert_int_equal(mox_queue_retired_list(f->q, NULL, count_t, &c, NULL), MOX_OK);
    size_t n = 0;
    for (size_t i = 0; i < c.n && i < 64; i++)
        n += !outcome || c.outcome[i] == outcome;
    return n;
}

/* The DSNs the queue enqueued for itself (null sender, flag DSN). */
struct dsns {
    size_t n;
    int64_t msg_id[16];
    char to[16][64];
};

static int dsn_row(void *ctx, const mox_queue_msg *m, const mox_queue_rcpt *r)
{
    struct dsns *d = ctx;
    if ((m->flags & MOX_QUEUE_MSG_DSN) && d->n < 16) {
        assert_string_equal(m->mail_from, "");
        d->msg_id[d->n] = m->id;
        snprintf(d->to[d->n], 64, "%s", r->address);
        d->n++;
    }
    return 0;
}

static struct dsns queued_dsns(fix *f)
{
    struct dsns d;
    memset(&d, 0, sizeof d);
    assert_int_equal(mox_queue_list(f->q, NULL, dsn_row, &d, NULL), MOX_OK);
    return d;
}

/* Reads the body of a queued message through the store. */
static void body_of(fix *f, int64_t msg_id, mox_buf *out)
{
    mox_errinfo ei;
    assert_int_equal(f->st->body(f->st->ctx, msg_id, out, &ei), MOX_OK);
}

/* ---------------------------------------------------------------- tests */

static void test_deliver_batched(void **state)
{
    fix *f = *state;
    f->policy = deliver_all;
    const char *r[] = {"bob@b.example", "carol@b.example", "dave@c.example"};
    enqueue(f, "alice@example.org", r, 3, 0, 0, 0);
    assert_int_equal(mox_queue_next_run(f->q), 0);
    assert_int_equal(run_all(f), 2);
    /* one attempt per destination domain, recipients batched */
    assert_int_equal(f->natt, 2);
    size_t nb = !strcmp(f->att[0].domain, "b.example") ? 0 : 1;
    assert_string_equal(f->att[nb].domain, "b.example");
    assert_int_equal(f->att[nb].nrcpts, 2);
    assert_int_equal(f->att[1 - nb].nrcpts, 1);
    assert_string_equal(f->att[0].from, "alice@example.org");
    assert_true(f->att[0].len > 20);
    assert_int_equal(count_ev(f, MOX_QUEUE_EVENT_DELIVERED), 3);
    assert_int_equal(n_delivered_metric, 3);
    assert_int_equal(n_attempt_metric, 2);
    assert_int_equal(nqueued(f, NULL), 0);
    assert_int_equal(nretired(f, MOX_QUEUE_OUTCOME_DELIVERED), 3);
    assert_int_equal(mox_queue_inflight(f->q), 0);
    if (f->backend == BACKEND_SQLITE) {
        /* the body is gone with the last recipient */
        char d[400];
        snprintf(d, sizeof d, "%s.bodies", f->path);
        DIR *dir = opendir(d);
        assert_non_null(dir);
        struct dirent *e;
        int files = 0;
        while ((e = readdir(dir)))
            files += e->d_name[0] != '.';
        closedir(dir);
        assert_int_equal(files, 0);
    }
    /* nothing due: next run at the poll interval */
    assert_true(mox_queue_next_run(f->q) > vnow_ms());
}

static void test_schedule_and_dsns(void **state)
{
    fix *f = *state;
    f->policy = temp_all;
    const char *r[] = {"bob@b.example"};
    enqueue(f, "alice@example.org", r, 1, 0, MOX_QUEUE_RET_FULL, 0);
    static const int delays[] = {450, 900, 1800, 3600, 7200, 14400, 28800};
    for (int k = 0; k < 7; k++) {
        assert_int_equal(run_all(f), 1);
        struct counter c;
        memset(&c, 0, sizeof c);
        mox_queue_filter flt = MOX_QUEUE_FILTER_INIT;
        flt.rcpt_domain = "b.example";
        assert_int_equal(mox_queue_list(f->q, &flt, count_q, &c, NULL), MOX_OK);
        assert_int_equal(c.n, 1);
        assert_int_equal(c.attempts[0], k + 1);
        /* exactly mox's interval (no jitter in this test) */
        assert_int_equal(c.next[0] - vnow_ms(), delays[k] * 1000LL);
        /* not before */
        advance_s(delays[k] - 1);
        assert_int_equal(run_all(f), 0);
        advance_s(1);
        if (k == 4) {
            /* after the 5th failed attempt: one delayed DSN */
            assert_int_equal(f->ndsn, 1);
            assert_string_equal(f->dsn_to[0], "alice@example.org");
            assert_non_null(strstr(f->dsn_body[0], "Action: delayed"));
            assert_non_null(strstr(f->dsn_body[0], "Original-Envelope-Id: env-1"));
            assert_non_null(strstr(f->dsn_body[0], "Will-Retry-Until:"));
        } else {
            assert_int_equal(f->ndsn, k < 4 ? 0 : 1);
        }
    }
    /* the 8th attempt fails too: given up, failure DSN with the message */
    assert_int_equal(run_all(f), 1);
    assert_int_equal(count_ev(f, MOX_QUEUE_EVENT_DELAYED), 7);
    assert_int_equal(count_ev(f, MOX_QUEUE_EVENT_FAILED), 1);
    assert_int_equal(f->ndsn, 2);
    const char *b = f->dsn_body[1];
    assert_non_null(strstr(b, "Action: failed"));
    assert_non_null(strstr(b, "Content-Type: message/rfc822")); /* RET=FULL */
    assert_non_null(strstr(b, "hello body"));
    assert_non_null(strstr(b, "Status: 4.3.0"));
    assert_non_null(strstr(b, "451 4.3.0 try later"));
    assert_non_null(strstr(f->ev_text[f->nev - 1], "giving up after 8 attempts"));
    assert_int_equal(nretired(f, MOX_QUEUE_OUTCOME_FAILED), 1);
    /* a temporary failure is no reason to suppress */
    int sup = -1;
    assert_int_equal(mox_queue_suppression_check(f->q, "alice", "bob@b.example", &sup, NULL),
                     MOX_OK);
    assert_int_equal(sup, 0);
}

static void test_max_age(void **state)
{
    fix *f = *state;
    f->cfg.max_age_s = 1000; /* the 3rd attempt would be at 450 + 900 s */
    new_queue(f);
    f->policy = temp_all;
    const char *r[] = {"bob@b.example"};
    enqueue(f, "alice@example.org", r, 1, 0, 0, 0);
    assert_int_equal(run_all(f), 1);
    advance_s(450);
    assert_int_equal(run_all(f), 1);
    assert_int_equal(count_ev(f, MOX_QUEUE_EVENT_FAILED), 1);
    assert_int_equal(nqueued(f, NULL), 0);
    assert_int_equal(f->ndsn, 1);
}

static void test_permfail_suppression(void **state)
{
    fix *f = *state;
    f->policy = bob_fails;
    const char *r[] = {"Bob+news@B.example", "carol@b.example"};
    enqueue(f, "alice@example.org", r, 2, 0, MOX_QUEUE_RET_HDRS, 0);
    assert_int_equal(run_all(f), 1);
    assert_int_equal(count_ev(f, MOX_QUEUE_EVENT_FAILED), 1);
    assert_int_equal(count_ev(f, MOX_QUEUE_EVENT_DELIVERED), 1);
    assert_int_equal(f->ndsn, 1);
    const char *b = f->dsn_body[0];
    assert_non_null(strstr(b, "Status: 5.1.1"));
    assert_non_null(strstr(b, "Diagnostic-Code: smtp; 550 5.1.1 no such user"));
    assert_non_null(strstr(b, "text/rfc822-headers"));
    assert_null(strstr(b, "hello body"));
    /* normalised automatic suppression: lower case, +tag removed */
    int sup = 0;
    assert_int_equal(mox_queue_suppression_check(f->q, "alice", "BOB+other@b.EXAMPLE", &sup, NULL),
                     MOX_OK);
    assert_int_equal(sup, 1);
    /* a new message: bob refused, carol accepted */
    mox_queue_recipient rr[2] = {{"bob@b.example", 0, NULL, 0, 0},
                                 {"carol@b.example", 0, NULL, 0, 0}};
    mox_queue_submission s = MOX_QUEUE_SUBMISSION_INIT;
    s.account = "alice";
    s.mail_from = "alice@example.org";
    s.data = "x";
    s.len = 1;
    s.rcpts = rr;
    s.nrcpts = 2;
    size_t before = count_ev(f, MOX_QUEUE_EVENT_SUPPRESSED);
    assert_int_equal(mox_queue_enqueue(f->q, &s, NULL), MOX_OK);
    assert_int_equal(rr[0].status, MOX_ERR_PERM);
    assert_int_equal(rr[0].id, 0);
    assert_int_equal(rr[1].status, MOX_OK);
    assert_true(rr[1].id > 0);
    assert_int_equal(count_ev(f, MOX_QUEUE_EVENT_SUPPRESSED), before + 1);
    /* only bob: nothing stored */
    s.nrcpts = 1;
    mox_errinfo ei;
    assert_int_equal(mox_queue_enqueue(f->q, &s, &ei), MOX_ERR_PERM);
    assert_non_null(strstr(f->ev_text[f->nev - 1], "suppression list"));
    /* another account is not affected */
    s.account = "other";
    assert_int_equal(mox_queue_enqueue(f->q, &s, &ei), MOX_OK);
    /* manual entries, list, remove, expiry */
    mox_queue_suppression x = {"alice", "Eve@X.example", "asked", 1, 0, vnow_ms() + 60000};
    assert_int_equal(mox_queue_suppression_add(f->q, &x, NULL), MOX_OK);
    assert_int_equal(mox_queue_suppression_check(f->q, "alice", "eve@x.example", &sup, NULL), 0);
    assert_int_equal(sup, 1);
    advance_s(61);
    assert_int_equal(mox_queue_suppression_check(f->q, "alice", "eve@x.example", &sup, NULL), 0);
    assert_int_equal(sup, 0);
    assert_int_equal(mox_queue_suppression_remove(f->q, "alice", "BOB@b.example", NULL), MOX_OK);
    assert_int_equal(mox_queue_suppression_remove(f->q, "alice", "bob@b.example", &ei),
                     MOX_ERR_NOTFOUND);
    assert_int_equal(mox_queue_suppression_check(f->q, "alice", "bob@b.example", &sup, NULL), 0);
    assert_int_equal(sup, 0);
}

static void test_notify_and_null_sender(void **state)
{
    fix *f = *state;
    f->policy = perm_all;
    const char *r[] = {"x@b.example"};
    enqueue(f, "alice@example.org", r, 1, 0, 0, MOX_QUEUE_NOTIFY_NEVER);
    enqueue(f, "", r, 1, 0, 0, 0);
    enqueue(f, "alice@example.org", r, 1, 0, 0, MOX_QUEUE_NOTIFY_SUCCESS);
    f->cfg.flags |= MOX_QUEUE_NO_AUTO_SUPPRESS;
    new_queue(f);
    run_all(f);
    assert_int_equal(count_ev(f, MOX_QUEUE_EVENT_FAILED), 3);
    assert_int_equal(f->ndsn, 0);
    /* delivered to a server without DSN while SUCCESS was asked: relayed */
    f->policy = NULL;
    enqueue(f, "alice@example.org", r, 1, 0, 0, MOX_QUEUE_NOTIFY_SUCCESS);
    run_all(f);
    assert_int_equal(f->natt, 4);
    mox_queue_result res = {0, MOX_QUEUE_DELIVERED, 1, 0, 250, NULL, "ok", "mx.test"};
    assert_int_equal(mox_queue_attempt_result(f->q, f->att[3].a, &res, 1, NULL), MOX_OK);
    /* a second result for the same recipient is refused */
    mox_errinfo ei;
    assert_int_equal(mox_queue_attempt_result(f->q, f->att[3].a, &res, 1, &ei), MOX_ERR_INVAL);
    res.index = 5;
    assert_int_equal(mox_queue_attempt_result(f->q, f->att[3].a, &res, 1, &ei), MOX_ERR_INVAL);
    assert_int_equal(mox_queue_attempt_end(f->q, f->att[3].a, NULL, NULL), MOX_OK);
    f->att[3].a = NULL;
    assert_int_equal(count_ev(f, MOX_QUEUE_EVENT_RELAYED), 1);
    assert_int_equal(f->ndsn, 1);
    assert_non_null(strstr(f->dsn_body[0], "Action: relayed"));
}

/* Without dsn_deliver, DSNs are queued messages: null reverse path, to
 * the sender, and never answered by another DSN. */
static void test_dsn_enqueued(void **state)
{
    fix *f = *state;
    f->cfg.dsn_deliver = NULL;
    new_queue(f);
    f->policy = perm_all;
    const char *r[] = {"x@b.example"};
    enqueue(f, "alice@example.org", r, 1, 0, 0, 0);
    assert_int_equal(run_all(f), 2); /* the message, then its DSN */
    assert_int_equal(f->natt, 2);
    assert_string_equal(f->att[1].from, "");
    assert_string_equal(f->att[1].rcpt[0], "alice@example.org");
    assert_int_equal(count_ev(f, MOX_QUEUE_EVENT_FAILED), 2);
    assert_int_equal(queued_dsns(f).n, 0);
    assert_int_equal(nqueued(f, NULL), 0);
    /* a DSN held is listed as such */
    mox_queue_rule rule = {0, NULL, NULL, "example.org"};
    assert_int_equal(mox_queue_rule_add(f->q, &rule, NULL), MOX_OK);
    const char *r2[] = {"y@b.example"};
    enqueue(f, "alice@example.org", r2, 1, 0, 0, 0);
    assert_int_equal(run_all(f), 1);
    struct dsns d = queued_dsns(f);
    assert_int_equal(d.n, 1);
    mox_buf b = MOX_BUF_INIT;
    body_of(f, d.msg_id[0], &b);
    assert_non_null(strstr((char *)b.data, "Action: failed"));
    mox_buf_free(&b);
}

static void test_hold_rules_and_operations(void **state)
{
    fix *f = *state;
    f->policy = deliver_all;
    mox_queue_rule rule = {0, NULL, NULL, "Held.Example"};
    assert_int_equal(mox_queue_rule_add(f->q, &rule, NULL), MOX_OK);
    assert_true(rule.id > 0);
    const char *r[] = {"a@held.example", "b@free.example"};
    int64_t id = enqueue(f, "alice@example.org", r, 2, 0, 0, 0);
    assert_int_equal(run_all(f), 1);
    assert_string_equal(f->att[0].domain, "free.example");
    mox_queue_filter held = MOX_QUEUE_FILTER_INIT;
    held.held = 1;
    assert_int_equal(nqueued(f, &held), 1);
    /* release by filter */
    size_t n = 0;
    mox_queue_filter flt = MOX_QUEUE_FILTER_INIT;
    flt.msg_id = id;
    assert_int_equal(mox_queue_release(f->q, &flt, &n, NULL), MOX_OK);
    assert_int_equal(n, 1);
    assert_int_equal(run_all(f), 1);
    assert_int_equal(nqueued(f, NULL), 0);
    /* a filter matching nothing */
    flt.msg_id = 999999;
    assert_int_equal(mox_queue_hold(f->q, &flt, &n, NULL), MOX_OK);
    assert_int_equal(n, 0);
    /* rules listed, removed */
    assert_int_equal(mox_queue_rule_remove(f->q, rule.id, NULL), MOX_OK);
    mox_errinfo ei;
    assert_int_equal(mox_queue_rule_remove(f->q, rule.id, &ei), MOX_ERR_NOTFOUND);
    /* hold, retry-now, drop and fail by id */
    f->policy = temp_all;
    const char *r2[] = {"x@t.example", "y@t.example", "z@t.example"};
    int64_t id2 = enqueue(f, "alice@example.org", r2, 3, 0, 0, 0);
    assert_int_equal(run_all(f), 1);
    flt.msg_id = id2;
    assert_int_equal(mox_queue_hold(f->q, &flt, &n, NULL), MOX_OK);
    assert_int_equal(n, 3);
    assert_int_equal(mox_queue_retry_now(f->q, &flt, &n, NULL), MOX_OK);
    assert_int_equal(n, 3);
    assert_int_equal(run_all(f), 0); /* held */
    assert_int_equal(mox_queue_release(f->q, &flt, &n, NULL), MOX_OK);
    assert_int_equal(run_all(f), 1); /* due now */
    struct counter c;
    memset(&c, 0, sizeof c);
    assert_int_equal(mox_queue_list(f->q, &flt, count_q, &c, NULL), MOX_OK);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.attempts[0], 2);
    /* by recipient id */
    memset(&c, 0, sizeof c);
    mox_queue_filter byid = MOX_QUEUE_FILTER_INIT;
    int64_t want_ids[1];
    {
        struct counter cc;
        memset(&cc, 0, sizeof cc);
        assert_int_equal(mox_queue_list(f->q, &flt, count_q, &cc, NULL), MOX_OK);
        assert_int_equal(cc.n, 3);
    }
    want_ids[0] = first_id(f, id2);
    byid.ids = want_ids;
    byid.nids = 1;
    assert_int_equal(mox_queue_hold(f->q, &byid, &n, NULL), MOX_OK);
    assert_int_equal(n, 1);
    assert_int_equal(mox_queue_release(f->q, &byid, &n, NULL), MOX_OK);
    assert_int_equal(n, 1);
    mox_queue_filter one = MOX_QUEUE_FILTER_INIT;
    one.msg_id = id2;
    one.limit = 1;
    size_t dropped = 0;
    assert_int_equal(mox_queue_drop(f->q, &one, &dropped, NULL), MOX_OK);
    assert_int_equal(dropped, 1);
    assert_int_equal(count_ev(f, MOX_QUEUE_EVENT_CANCELED), 1);
    assert_int_equal(f->ndsn, 0); /* drop sends no DSN */
    size_t failed = 0;
    assert_int_equal(mox_queue_fail(f->q, &flt, &failed, NULL), MOX_OK);
    assert_int_equal(failed, 2);
    assert_int_equal(f->ndsn, 1);
    assert_non_null(strstr(f->dsn_body[0], "failed by an operator"));
    assert_int_equal(nretired(f, MOX_QUEUE_OUTCOME_CANCELED), 1);
    /* filter by account and recipient domain */
    mox_queue_filter acc = MOX_QUEUE_FILTER_INIT;
    acc.account = "nobody";
    assert_int_equal(nqueued(f, &acc), 0);
    acc.account = "alice";
    assert_int_equal(nqueued(f, &acc), 0);
}

static void test_futurerelease(void **state)
{
    fix *f = *state;
    f->policy = deliver_all;
    mox_queue_recipient r = {"bob@b.example", 0, NULL, 0, 0};
    mox_queue_submission s = MOX_QUEUE_SUBMISSION_INIT;
    s.account = "alice";
    s.mail_from = "alice@example.org";
    s.data = "x";
    s.len = 1;
    s.rcpts = &r;
    s.nrcpts = 1;
    s.hold_until_ms = vnow_ms() + 3600 * 1000;
    assert_int_equal(mox_queue_enqueue(f->q, &s, NULL), MOX_OK);
    assert_int_equal(run_all(f), 0);
    advance_s(3599);
    assert_int_equal(run_all(f), 0);
    advance_s(1);
    assert_int_equal(run_all(f), 1);
    /* RFC 4865: beyond the maximum is refused */
    s.hold_until_ms = vnow_ms() + 61LL * 86400 * 1000;
    mox_errinfo ei;
    assert_int_equal(mox_queue_enqueue(f->q, &s, &ei), MOX_ERR_INVAL);
    assert_non_null(strstr(ei.msg, "FUTURERELEASE"));
    s.hold_until_ms = vnow_ms() + 59LL * 86400 * 1000;
    assert_int_equal(mox_queue_enqueue(f->q, &s, NULL), MOX_OK);
}

static void test_concurrency_limits(void **state)
{
    fix *f = *state;
    f->cfg.concurrency = 3;
    new_queue(f);
    f->policy = NULL; /* attempts stay open */
    for (int i = 0; i < 5; i++) {
        const char *a[] = {"x@a.example"};
        const char *b[] = {"y@b.example"};
        enqueue(f, "alice@example.org", a, 1, 0, 0, 0);
        enqueue(f, "alice@example.org", b, 1, 0, 0, 0);
    }
    assert_int_equal(run_all(f), 3);
    assert_int_equal(mox_queue_inflight(f->q), 3);
    size_t na = 0;
    for (size_t i = 0; i < f->natt; i++)
        na += !strcmp(f->att[i].domain, "a.example");
    assert_true(na <= 2 && f->natt - na <= 2);
    /* one ends, another starts */
    mox_queue_result ok = {0, MOX_QUEUE_DELIVERED, 0, 0, 250, NULL, "ok", NULL};
    assert_int_equal(mox_queue_attempt_end(f->q, f->att[0].a, &ok, NULL), MOX_OK);
    f->att[0].a = NULL;
    assert_int_equal(mox_queue_next_run(f->q), 0);
    assert_int_equal(run_all(f), 1);
    assert_int_equal(mox_queue_inflight(f->q), 3);
    /* per destination across queue objects on the same store: a second
     * node sees the two slots of each domain taken */
    size_t busy_a = 0, busy_b = 0;
    for (size_t i = 0; i < f->natt; i++)
        if (f->att[i].a) {
            busy_a += !strcmp(f->att[i].domain, "a.example");
            busy_b += !strcmp(f->att[i].domain, "b.example");
        }
    fix g;
    memset(&g, 0, sizeof g);
    g.backend = f->backend;
    g.dl = f->dl;
    g.dl.ctx = &g;
    mox_queue_config c2 = f->cfg;
    c2.deliverer = &g.dl;
    c2.event_ctx = &g;
    c2.concurrency = 10;
    c2.owner = "node-two";
    mox_queue *q2;
    assert_int_equal(mox_queue_new(&q2, &c2, f->st, NULL), MOX_OK);
    int started = mox_queue_run(q2, NULL);
    assert_int_equal((size_t)started, (2 - busy_a) + (2 - busy_b));
    for (size_t i = 0; i < g.natt; i++)
        mox_queue_attempt_end(q2, g.att[i].a, &ok, NULL);
    mox_queue_free(q2);
    for (size_t i = 0; i < f->natt; i++)
        if (f->att[i].a) {
            mox_queue_attempt_end(f->q, f->att[i].a, &ok, NULL);
            f->att[i].a = NULL;
        }
}

static void test_slow_start(void **state)
{
    fix *f = *state;
    f->policy = NULL;
    const char *a[] = {"x@a.example"};
    for (int i = 0; i < 4; i++)
        enqueue(f, "alice@example.org", a, 1, 0, 0, 0);
    assert_int_equal(run_all(f), 2); /* per destination 2 */
    mox_queue_result conn = {0, MOX_QUEUE_TEMPFAIL, 0, 1, 0, NULL, "connection refused", NULL};
    assert_int_equal(mox_queue_attempt_end(f->q, f->att[0].a, &conn, NULL), MOX_OK);
    assert_int_equal(mox_queue_attempt_end(f->q, f->att[1].a, &conn, NULL), MOX_OK);
    f->att[0].a = f->att[1].a = NULL;
    /* after a connection failure: one at a time */
    mox_queue_filter all = MOX_QUEUE_FILTER_INIT;
    assert_int_equal(mox_queue_retry_now(f->q, &all, NULL, NULL), MOX_OK);
    assert_int_equal(run_all(f), 1);
    mox_queue_result ok = {0, MOX_QUEUE_DELIVERED, 0, 0, 250, NULL, "ok", NULL};
    assert_int_equal(mox_queue_attempt_end(f->q, f->att[2].a, &ok, NULL), MOX_OK);
    f->att[2].a = NULL;
    /* a success widens the window again */
    assert_int_equal(run_all(f), 2);
    for (size_t i = 3; i < f->natt; i++) {
        mox_queue_attempt_end(f->q, f->att[i].a, &ok, NULL);
        f->att[i].a = NULL;
    }
}

static void test_lease_takeover(void **state)
{
    fix *f = *state;
    f->cfg.lease_s = 60;
    new_queue(f);
    f->policy = NULL;
    const char *a[] = {"x@a.example"};
    enqueue(f, "alice@example.org", a, 1, 0, 0, 0);
    assert_int_equal(run_all(f), 1);
    mox_queue_attempt *stale = f->att[0].a;
    /* node A "hangs"; node B takes over once the lease expired */
    fix g;
    memset(&g, 0, sizeof g);
    g.backend = f->backend;
    g.dl = f->dl;
    g.dl.ctx = &g;
    g.policy = deliver_all;
    mox_queue_config c2 = f->cfg;
    c2.deliverer = &g.dl;
    c2.event_ctx = &g;
    c2.owner = "node-b";
    mox_queue *q2;
    assert_int_equal(mox_queue_new(&q2, &c2, f->st, NULL), MOX_OK);
    assert_int_equal(mox_queue_run(q2, NULL), 0);
    advance_s(61);
    assert_int_equal(mox_queue_run(q2, NULL), 1);
    assert_int_equal(count_ev(&g, MOX_QUEUE_EVENT_DELIVERED), 1);
    /* A's late outcome finds the row gone: skipped, no event */
    mox_queue_result ok = {0, MOX_QUEUE_DELIVERED, 0, 0, 250, NULL, "ok", NULL};
    assert_int_equal(mox_queue_attempt_end(f->q, stale, &ok, NULL), MOX_OK);
    f->att[0].a = NULL;
    assert_int_equal(count_ev(f, MOX_QUEUE_EVENT_DELIVERED), 0);
    assert_int_equal(nretired(f, MOX_QUEUE_OUTCOME_DELIVERED), 1);
    mox_queue_free(q2);
}

static void test_incoming_dsn_fromid(void **state)
{
    fix *f = *state;
    f->policy = deliver_all;
    mox_queue_recipient r[2] = {{"bob@b.example", 0, "rfc822;Bob@b.example", 0, 0},
                                {"carol@b.example", 0, NULL, 0, 0}};
    mox_queue_submission s = MOX_QUEUE_SUBMISSION_INIT;
    s.account = "alice";
    s.mail_from = "alice@example.org";
    s.flags = MOX_QUEUE_MSG_FROMID;
    s.data = "Subject: x\r\n\r\nx\r\n";
    s.len = strlen(s.data);
    s.rcpts = r;
    s.nrcpts = 2;
    assert_int_equal(mox_queue_enqueue(f->q, &s, NULL), MOX_OK);
    run_all(f);
    char want[128];
    snprintf(want, sizeof want, "alice+%s@example.org", s.fromid);
    assert_string_equal(f->att[0].from, want);
    /* the next hop later bounces bob */
    mox_dsn_recipient dr = {0};
    dr.final_recipient = "bob@b.example";
    dr.action = MOX_DSN_ACTION_FAILED;
    dr.status = "5.1.1";
    dr.diagnostic = "550 5.1.1 mailbox gone";
    mox_dsn_compose_params p = MOX_DSN_COMPOSE_PARAMS_INIT;
    p.reporting_mta = "mx.b.example";
    p.to = want;
    p.rcpts = &dr;
    p.nrcpts = 1;
    p.ret = MOX_DSN_RETURN_NOTHING;
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_dsn_compose(&p, &b, NULL), MOX_OK);
    size_t matched = 0;
    size_t before = count_ev(f, MOX_QUEUE_EVENT_FAILED);
    assert_int_equal(mox_queue_incoming_dsn(f->q, want, b.data, b.len, &matched, NULL), MOX_OK);
    assert_int_equal(matched, 1);
    assert_int_equal(count_ev(f, MOX_QUEUE_EVENT_FAILED), before + 1);
    assert_int_equal(f->ev_remote[f->nev - 1], 1);
    assert_string_equal(f->ev_rcpt[f->nev - 1], "bob@b.example");
    int sup = 0;
    assert_int_equal(mox_queue_suppression_check(f->q, "alice", "bob@b.example", &sup, NULL), 0);
    assert_int_equal(sup, 1);
    /* unknown FromID, no FromID, not a DSN */
    mox_errinfo ei;
    assert_int_equal(mox_queue_incoming_dsn(f->q, "alice+zzzzzzzz@example.org", b.data, b.len,
                                            &matched, &ei),
                     MOX_ERR_NOTFOUND);
    assert_int_equal(mox_queue_incoming_dsn(f->q, "alice@example.org", b.data, b.len, &matched,
                                            &ei),
                     MOX_ERR_NOTFOUND);
    assert_int_equal(mox_queue_incoming_dsn(f->q, want, "Subject: x\r\n\r\nhi\r\n", 17, &matched,
                                            &ei),
                     MOX_ERR_NOTFOUND);
    mox_buf_free(&b);
}

static void test_retired_purge(void **state)
{
    fix *f = *state;
    f->cfg.keep_retired_s = 30;
    new_queue(f);
    f->policy = deliver_all;
    const char *a[] = {"x@a.example", "y@a.example"};
    enqueue(f, "alice@example.org", a, 2, 0, 0, 0);
    run_all(f);
    assert_int_equal(nretired(f, 0), 2);
    mox_queue_filter ff = MOX_QUEUE_FILTER_INIT;
    ff.rcpt_domain = "a.example";
    ff.limit = 1;
    struct counter c;
    memset(&c, 0, sizeof c);
    assert_int_equal(mox_queue_retired_list(f->q, &ff, count_t, &c, NULL), MOX_OK);
    assert_int_equal(c.n, 1);
    advance_s(61);
    run(f);
    assert_int_equal(nretired(f, 0), 0);
}

static void test_refusals(void **state)
{
    fix *f = *state;
    mox_errinfo ei;
    mox_queue_recipient r = {"nobody-at-all", 0, NULL, 0, 0};
    mox_queue_submission s = MOX_QUEUE_SUBMISSION_INIT;
    s.account = "alice";
    s.data = "x";
    s.len = 1;
    s.rcpts = &r;
    s.nrcpts = 1;
    assert_int_equal(mox_queue_enqueue(f->q, &s, &ei), MOX_ERR_INVAL);
    assert_int_equal(ei.code, MOX_ERR_INVAL);
    r.address = "a@b\r\nRCPT TO:<x@y>";
    assert_int_equal(mox_queue_enqueue(f->q, &s, &ei), MOX_ERR_INVAL);
    r.address = "a@b.example";
    r.notify = MOX_QUEUE_NOTIFY_NEVER | MOX_QUEUE_NOTIFY_FAILURE;
    assert_int_equal(mox_queue_enqueue(f->q, &s, &ei), MOX_ERR_INVAL);
    r.notify = 0;
    s.account = NULL;
    assert_int_equal(mox_queue_enqueue(f->q, &s, &ei), MOX_ERR_INVAL);
    s.account = "alice";
    s.nrcpts = 0;
    assert_int_equal(mox_queue_enqueue(f->q, &s, &ei), MOX_ERR_INVAL);
    s.nrcpts = 1;
    assert_int_equal(mox_queue_enqueue(f->q, &s, &ei), MOX_OK);
    /* a queue without deliverer cannot run */
    mox_queue_config c = f->cfg;
    c.deliverer = NULL;
    mox_queue *q2;
    assert_int_equal(mox_queue_new(&q2, &c, f->st, NULL), MOX_OK);
    assert_int_equal(mox_queue_run(q2, &ei), MOX_ERR_STATE);
    mox_queue_free(q2);
    /* bad configurations */
    uint32_t zero = 0;
    c.retry_s = &zero;
    c.nretry = 1;
    assert_int_equal(mox_queue_new(&q2, &c, f->st, &ei), MOX_ERR_INVAL);
    assert_null(q2);
    c.nretry = 0;
    c.jitter_pct = 51;
    assert_int_equal(mox_queue_new(&q2, &c, f->st, &ei), MOX_ERR_INVAL);
    c.jitter_pct = 0;
    c.max_hold_s = 61 * 86400;
    assert_int_equal(mox_queue_new(&q2, &c, f->st, &ei), MOX_ERR_INVAL);
    assert_int_equal(mox_queue_new(&q2, &c, NULL, &ei), MOX_ERR_INVAL);
}

static int refuse_start(void *ctx, mox_queue *q, mox_queue_attempt *a)
{
    (void)ctx;
    (void)q;
    (void)a;
    return MOX_ERR_AGAIN;
}

static void test_deliverer_refuses(void **state)
{
    fix *f = *state;
    f->dl.start = refuse_start;
    new_queue(f);
    const char *a[] = {"x@a.example"};
    enqueue(f, "alice@example.org", a, 1, 0, 0, 0);
    assert_int_equal(run(f), 1);
    assert_int_equal(mox_queue_inflight(f->q), 0);
    assert_int_equal(count_ev(f, MOX_QUEUE_EVENT_DELAYED), 1);
    assert_non_null(strstr(f->ev_text[0], "refused"));
}

/* group commit: many threads enqueue at once */
struct thr {
    fix *f;
    int n;
    int64_t ids[64];
};

static void *enq_thread(void *arg)
{
    struct thr *t = arg;
    for (int i = 0; i < t->n; i++) {
        mox_queue_recipient r = {"x@a.example", 0, NULL, 0, 0};
        mox_queue_submission s = MOX_QUEUE_SUBMISSION_INIT;
        s.account = "alice";
        s.mail_from = "alice@example.org";
        s.data = "Subject: t\r\n\r\nbody\r\n";
        s.len = strlen(s.data);
        s.rcpts = &r;
        s.nrcpts = 1;
        if (mox_queue_enqueue(t->f->q, &s, NULL) != MOX_OK)
            return (void *)1;
        t->ids[i] = r.id;
    }
    return NULL;
}

static void test_concurrent_enqueue(void **state)
{
    fix *f = *state;
    enum { T = 8, N = 25 };
    pthread_t th[T];
    struct thr t[T];
    for (int i = 0; i < T; i++) {
        t[i].f = f;
        t[i].n = N;
        pthread_create(&th[i], NULL, enq_thread, &t[i]);
    }
    for (int i = 0; i < T; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        assert_null(ret);
    }
    int64_t *all = calloc(T * N, sizeof *all);
    for (int i = 0; i < T; i++)
        memcpy(all + i * N, t[i].ids, N * sizeof *all);
    for (int i = 0; i < T * N; i++)
        for (int j = i + 1; j < T * N; j++)
            assert_true(all[i] != all[j]);
    free(all);
    assert_int_equal(nqueued(f, NULL), T * N);
}

static void test_body_missing(void **state)
{
    fix *f = *state;
    if (f->backend != BACKEND_SQLITE)
        skip();
    const char *a[] = {"x@a.example"};
    enqueue(f, "alice@example.org", a, 1, 0, 0, 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -f '%s.bodies'/*.eml", f->path);
    assert_int_equal(system(cmd), 0);
    f->policy = deliver_all;
    assert_int_equal(run(f), 1);
    assert_int_equal(count_ev(f, MOX_QUEUE_EVENT_DELAYED), 1);
    assert_non_null(strstr(f->ev_text[0], "body unreadable"));
    assert_int_equal(f->natt, 0); /* the deliverer never saw it */
    assert_int_equal(nqueued(f, NULL), 1);
}

static void test_size_limit(void **state)
{
    fix *f = *state;
    if (f->backend != BACKEND_SQLITE)
        skip();
    mox_queue_free(f->q);
    f->q = NULL;
    mox_queue_store_close(f->st);
    mox_queue_sqlite_config sc = MOX_QUEUE_SQLITE_CONFIG_INIT;
    sc.max_size = 10;
    f->st = open_store(f, &sc);
    new_queue(f);
    mox_queue_recipient r = {"x@a.example", 0, NULL, 0, 0};
    mox_queue_submission s = MOX_QUEUE_SUBMISSION_INIT;
    s.account = "alice";
    s.data = "0123456789abc";
    s.len = 13;
    s.rcpts = &r;
    s.nrcpts = 1;
    mox_errinfo ei;
    assert_int_equal(mox_queue_enqueue(f->q, &s, &ei), MOX_ERR_LIMIT);
    s.len = 10;
    assert_int_equal(mox_queue_enqueue(f->q, &s, &ei), MOX_OK);
}

/* The database goes away and comes back: precise errors meanwhile, nothing
 * lost, and the same store object works again afterwards. */
static void test_database_outage(void **state)
{
    fix *f = *state;
    if (f->backend != BACKEND_PG)
        skip();
    const char *a[] = {"x@a.example"};
    enqueue(f, "alice@example.org", a, 1, 0, 0, 0);
    assert_int_equal(pgtest_stop_server(&pg), 0);
    mox_queue_recipient r = {"y@a.example", 0, NULL, 0, 0};
    mox_queue_submission s = MOX_QUEUE_SUBMISSION_INIT;
    s.account = "alice";
    s.data = "x";
    s.len = 1;
    s.rcpts = &r;
    s.nrcpts = 1;
    mox_errinfo ei;
    assert_int_equal(mox_queue_enqueue(f->q, &s, &ei), MOX_ERR_IO);
    assert_int_equal(mox_queue_run(f->q, &ei), MOX_ERR_IO);
    assert_int_equal(pgtest_restart_server(&pg, 0), 0);
    int rc = mox_queue_enqueue(f->q, &s, &ei);
    if (rc)
        fprintf(stderr, "after restart: %s\n", ei.msg);
    assert_int_equal(rc, MOX_OK);
    f->policy = deliver_all;
    assert_int_equal(run_all(f), 2);
    assert_int_equal(nretired(f, MOX_QUEUE_OUTCOME_DELIVERED), 2);
}

/* ---------------------------------------------------------------- main */

static int pg_group_setup(void **state)
{
    (void)state;
    pg_state = pgtest_start(&pg, 0);
    if (pg_state == 1)
        fprintf(stderr, "SKIP: PostgreSQL server binaries (initdb, pg_ctl) not found: the "
                        "PostgreSQL queue tests are skipped\n");
    else if (pg_state != 0)
        fprintf(stderr, "PostgreSQL test server did not start (see %s/log)\n", pg.dir);
    return pg_state < 0 ? -1 : 0;
}

static int pg_group_teardown(void **state)
{
    (void)state;
    if (pg_state == 0)
        pgtest_stop(&pg);
    return 0;
}

static int setup_pg_or_skip(void **state)
{
    if (pg_state == 1) {
        *state = NULL;
        return 0;
    }
    return setup_pg(state);
}

static int teardown_maybe(void **state)
{
    return *state ? teardown(state) : 0;
}

#define PGSKIP()                                                                                   \
    do {                                                                                           \
        if (!*state)                                                                               \
            skip();                                                                                \
    } while (0)

#define BOTH(fn)                                                                                   \
    static void pg_##fn(void **state)                                                              \
    {                                                                                              \
        PGSKIP();                                                                                  \
        fn(state);                                                                                 \
    }
BOTH(test_deliver_batched)
BOTH(test_schedule_and_dsns)
BOTH(test_max_age)
BOTH(test_permfail_suppression)
BOTH(test_notify_and_null_sender)
BOTH(test_hold_rules_and_operations)
BOTH(test_dsn_enqueued)
BOTH(test_futurerelease)
BOTH(test_concurrency_limits)
BOTH(test_slow_start)
BOTH(test_lease_takeover)
BOTH(test_incoming_dsn_fromid)
BOTH(test_retired_purge)
BOTH(test_refusals)
BOTH(test_deliverer_refuses)
BOTH(test_concurrent_enqueue)
BOTH(test_database_outage)

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_sqlite, teardown)
#define P(fn) cmocka_unit_test_setup_teardown(pg_##fn, setup_pg_or_skip, teardown_maybe)

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {
        T(test_deliver_batched),      T(test_schedule_and_dsns),
        T(test_max_age),              T(test_permfail_suppression),
        T(test_notify_and_null_sender), T(test_hold_rules_and_operations),
        T(test_dsn_enqueued),
        T(test_futurerelease),        T(test_concurrency_limits),
        T(test_slow_start),           T(test_lease_takeover),
        T(test_incoming_dsn_fromid),  T(test_retired_purge),
        T(test_refusals),             T(test_deliverer_refuses),
        T(test_concurrent_enqueue),   T(test_body_missing),
        T(test_size_limit),
    };
    const struct CMUnitTest pg_tests[] = {
        P(test_deliver_batched),      P(test_schedule_and_dsns),
        P(test_max_age),              P(test_permfail_suppression),
        P(test_notify_and_null_sender), P(test_hold_rules_and_operations),
        P(test_dsn_enqueued),
        P(test_futurerelease),        P(test_concurrency_limits),
        P(test_slow_start),           P(test_lease_takeover),
        P(test_incoming_dsn_fromid),  P(test_retired_purge),
        P(test_refusals),             P(test_deliverer_refuses),
        P(test_concurrent_enqueue),   P(test_database_outage),
    };
    int rc = cmocka_run_group_tests_name("queue_sqlite", sqlite_tests, NULL, NULL);
    rc |= cmocka_run_group_tests_name("queue_postgresql", pg_tests, pg_group_setup,
                                      pg_group_teardown);
    return rc;
}
