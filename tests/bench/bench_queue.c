/* queue module: durable enqueues per second on SQLite and PostgreSQL (one
 * submitter, and 16 submitters sharing commits), and with 100,000 queued
 * recipients the process's memory and the time to pick the next due
 * recipient (a claim: select, slot, lease write, commit) and to find the
 * next due time. PostgreSQL runs as a private server with fsync on; it is
 * skipped when its binaries are absent. $MOX_BENCH_SECONDS sets the time
 * per enqueue figure (default 3), $MOX_BENCH_QUEUED the queue size. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "mox/queue.h"
#include "pgtest.h"

static char body[1024];

static int enqueue_rcpts(mox_queue *q, int seq, int nrcpts)
{
    char addr[100][48];
    mox_queue_recipient r[100];
    for (int i = 0; i < nrcpts; i++) {
        /* every recipient of a message on its own domain: each claim
         * picks one recipient */
        snprintf(addr[i], sizeof addr[i], "u%d@d%d.example", seq, i);
        r[i] = (mox_queue_recipient){addr[i], 0, NULL, 0, 0};
    }
    mox_queue_submission s = MOX_QUEUE_SUBMISSION_INIT;
    s.account = "bench";
    s.mail_from = "sender@example.org";
    s.data = body;
    s.len = sizeof body;
    s.rcpts = r;
    s.nrcpts = (size_t)nrcpts;
    return mox_queue_enqueue(q, &s, NULL);
}

struct thr {
    mox_queue *q;
    double until;
    long n;
    int seq;
    int nrcpts;
    long limit;
};

static void *thr_main(void *p)
{
    struct thr *t = p;
    while ((t->limit ? t->n < t->limit : mox_bench_now() < t->until)) {
        if (enqueue_rcpts(t->q, t->seq++, t->nrcpts)) {
            fprintf(stderr, "bench: enqueue failed\n");
            exit(1);
        }
        t->n++;
    }
    return NULL;
}

/* Enqueues from `threads` threads for `seconds`; returns enqueues/s. */
static double enqueue_rate(mox_queue *q, int threads, double seconds)
{
    pthread_t th[32];
    struct thr t[32];
    double start = mox_bench_now();
    for (int i = 0; i < threads; i++) {
        t[i] = (struct thr){q, start + seconds, 0, i * 10000000, 1, 0};
        pthread_create(&th[i], NULL, thr_main, &t[i]);
    }
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += t[i].n;
    }
    return (double)total / (mox_bench_now() - start);
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

struct claimed {
    size_t n;
};

static int claim_fn(void *ctx, const mox_queue_msg *m, const mox_queue_rcpt *r)
{
    (void)m;
    (void)r;
    ((struct claimed *)ctx)->n++;
    return 0;
}

static void big_queue(const char *name, mox_queue_store *st, long queued)
{
    mox_queue_config c = MOX_QUEUE_CONFIG_INIT;
    mox_queue *q;
    if (mox_queue_new(&q, &c, st, NULL)) {
        fprintf(stderr, "bench: queue\n");
        exit(1);
    }
    long before = rss_kb();
    double t0 = mox_bench_now();
    /* 100 recipients per message, 16 submitters */
    enum { TH = 16 };
    pthread_t th[TH];
    struct thr t[TH];
    long msgs = queued / 100;
    for (int i = 0; i < TH; i++) {
        t[i] = (struct thr){q, 0, 0, 50000000 + i * 1000000, 100, msgs / TH + (i < msgs % TH)};
        pthread_create(&th[i], NULL, thr_main, &t[i]);
    }
    for (int i = 0; i < TH; i++)
        pthread_join(th[i], NULL);
    double fill = mox_bench_now() - t0;
    long after = rss_kb();
    printf("%s: filled %ld recipients (%ld messages) in %.1fs; RSS %ld KiB before, %ld KiB "
           "after (the queue keeps no per-recipient state in memory)\n",
           name, msgs * 100, msgs, fill, before, after);
    /* pick the next due recipient: a claim each */
    mox_queue_claim_req req = {0, "bench-node", 0, 2, 100, NULL, NULL};
    int k = 200;
    double s = mox_bench_now();
    for (int i = 0; i < k; i++) {
        int slot;
        struct claimed cl = {0};
        req.now_ms = (int64_t)(mox_bench_now() * 0) + 4102444800000LL; /* all due */
        req.lease_until_ms = req.now_ms + 3600000;
        if (st->claim(st->ctx, &req, &slot, claim_fn, &cl, NULL) || cl.n != 1) {
            fprintf(stderr, "bench: claim failed\n");
            exit(1);
        }
    }
    double per = (mox_bench_now() - s) / k;
    int64_t when;
    s = mox_bench_now();
    for (int i = 0; i < k; i++)
        if (st->next_due(st->ctx, &when, NULL)) {
            fprintf(stderr, "bench: next_due failed\n");
            exit(1);
        }
    double per2 = (mox_bench_now() - s) / k;
    printf("%s: with %ld queued: claim next due recipient %.3f ms, next due time %.3f ms, "
           "RSS %ld KiB\n",
           name, msgs * 100, per * 1e3, per2 * 1e3, rss_kb());
    fflush(stdout);
    mox_queue_free(q);
}

static void bench_store(const char *name, mox_queue_store *st, double secs)
{
    mox_queue_config c = MOX_QUEUE_CONFIG_INIT;
    mox_queue *q;
    if (mox_queue_new(&q, &c, st, NULL)) {
        fprintf(stderr, "bench: queue\n");
        exit(1);
    }
    double r1 = enqueue_rate(q, 1, secs);
    double r16 = enqueue_rate(q, 16, secs);
    printf("%s: durable enqueues (1 KiB, 1 recipient): %.0f/s with 1 submitter, %.0f/s with 16 "
           "submitters (group commit: %.1fx)\n",
           name, r1, r16, r1 > 0 ? r16 / r1 : 0);
    fflush(stdout);
    mox_queue_free(q);
}

int main(void)
{
    memset(body, 'x', sizeof body);
    memcpy(body, "Subject: bench\r\n\r\n", 18);
    double secs = mox_bench_seconds(3);
    const char *qe = getenv("MOX_BENCH_QUEUED");
    long queued = qe ? atol(qe) : 100000;
    char dir[] = "/tmp/moxqb.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[300];
    mox_errinfo ei;
    mox_queue_store *st;

    snprintf(path, sizeof path, "%s/enq.db", dir);
    if (mox_queue_store_sqlite_open(&st, path, NULL, &ei)) {
        fprintf(stderr, "sqlite: %s\n", ei.msg);
        return 1;
    }
    bench_store("queue sqlite", st, secs);
    mox_queue_store_close(st);
    snprintf(path, sizeof path, "%s/big.db", dir);
    if (mox_queue_store_sqlite_open(&st, path, NULL, &ei))
        return 1;
    big_queue("queue sqlite", st, queued);
    mox_queue_store_close(st);

    pgtest pg;
    int prc = pgtest_start(&pg, 1);
    if (prc == 1) {
        printf("queue postgresql: skipped (initdb/pg_ctl not found)\n");
    } else if (prc == 0) {
        if (mox_queue_store_pg_open(&st, pg.conninfo, NULL, &ei)) {
            fprintf(stderr, "pg: %s\n", ei.msg);
        } else {
            bench_store("queue postgresql", st, secs);
            mox_queue_store_close(st);
            pgtest_reset(&pg);
            if (mox_queue_store_pg_open(&st, pg.conninfo, NULL, &ei) == 0) {
                big_queue("queue postgresql", st, queued);
                mox_queue_store_close(st);
            }
        }
        pgtest_stop(&pg);
    } else {
        printf("queue postgresql: server did not start\n");
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
