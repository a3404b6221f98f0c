/* Crash and multi-node tests of the queue, with real processes:
 *  - SQLite: a child enqueues and delivers while the parent kills it with
 *    SIGKILL at random moments; afterwards every enqueue that returned
 *    success is delivered (or still queued), each at most once per kill
 *    beyond the first delivery.
 *  - PostgreSQL: two queue processes share one queue of 1,000 messages;
 *    every recipient is delivered exactly once; then again while one node
 *    is killed mid-run (its leases expire and the other node takes over:
 *    at most one duplicate per attempt the killed node had in flight).
 * "Delivery" is a line appended to a log file (the remote 250), written
 * before the outcome is reported to the queue. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "moxtest.h"
#include "mox/queue.h"
#include "pgtest.h"

static int logfd = -1;
static const char *node_name = "n";

static void append_line(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(3);
        s += w;
        n -= (size_t)w;
    }
}

static int deliver_start(void *ctx, mox_queue *q, mox_queue_attempt *a)
{
    (void)ctx;
    const mox_queue_attempt_info *in = mox_queue_attempt_get(a);
    mox_queue_result res[128];
    for (size_t i = 0; i < in->nrcpts && i < 128; i++) {
        char line[96];
        snprintf(line, sizeof line, "%lld %s\n", (long long)in->rcpts[i].id, node_name);
        append_line(logfd, line); /* the remote 250 */
        mox_queue_result r = {i, MOX_QUEUE_DELIVERED, 0, 0, 250, "2.0.0", "ok", NULL};
        res[i] = r;
    }
    if (mox_queue_attempt_result(q, a, res, in->nrcpts, NULL) != MOX_OK)
        _exit(4);
    mox_queue_attempt_end(q, a, NULL, NULL);
    return MOX_OK;
}

static mox_queue *make_queue(mox_queue_store *st, uint32_t lease_s, const char *owner)
{
    static mox_queue_deliverer d = {sizeof(mox_queue_deliverer), NULL, deliver_start};
    mox_queue_config c = MOX_QUEUE_CONFIG_INIT;
    c.deliverer = &d;
    c.lease_s = lease_s;
    c.owner = owner;
    c.flags = MOX_QUEUE_NO_DSN;
    mox_queue *q = NULL;
    if (mox_queue_new(&q, &c, st, NULL))
        _exit(5);
    return q;
}

static int enqueue_one(mox_queue *q, int i, int64_t *id)
{
    char rcpt[64];
    snprintf(rcpt, sizeof rcpt, "u%d@d%d.example", i, i % 20);
    mox_queue_recipient r = {rcpt, 0, NULL, 0, 0};
    mox_queue_submission s = MOX_QUEUE_SUBMISSION_INIT;
    s.account = "acct";
    s.mail_from = "sender@example.org";
    s.data = "Subject: crash test\r\n\r\nbody\r\n";
    s.len = strlen(s.data);
    s.rcpts = &r;
    s.nrcpts = 1;
    int rc = mox_queue_enqueue(q, &s, NULL);
    *id = r.id;
    return rc;
}

static int count_fn(void *ctx, const mox_queue_msg *m, const mox_queue_rcpt *r)
{
    (void)m;
    (void)r;
    (*(size_t *)ctx)++;
    return 1;
}

static int queue_empty(mox_queue *q)
{
    size_t n = 0;
    mox_queue_filter f = MOX_QUEUE_FILTER_INIT;
    f.limit = 1;
    if (mox_queue_list(q, &f, count_fn, &n, NULL))
        return 0;
    return n == 0;
}

/* Runs the queue until it is empty (or forever while `forever`). */
static void run_loop(mox_queue *q, int forever)
{
    for (;;) {
        int n = mox_queue_run(q, NULL);
        if (n < 0)
            usleep(20000);
        if (n == 0) {
            if (!forever && queue_empty(q))
                return;
            usleep(5000);
        }
    }
}

/* Reads "id node" lines; counts[id]++. Returns the number of lines. */
static size_t read_log(const char *path, unsigned *counts, size_t max)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long long id;
    char node[32];
    size_t n = 0;
    while (fscanf(f, "%lld %31s", &id, node) == 2) {
        if (id > 0 && (size_t)id < max)
            counts[id]++;
        n++;
    }
    fclose(f);
    return n;
}

static uint64_t rnd_state = 88172645463325252ULL;
static unsigned rnd(unsigned n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return (unsigned)(rnd_state % n);
}

/* ---------------------------------------------------------------- SQLite */

struct enq_arg {
    mox_queue *q;
    int ackfd;
    int base;
};

static void *enq_thread(void *p)
{
    struct enq_arg *a = p;
    for (int i = 0;; i++) {
        int64_t id;
        if (enqueue_one(a->q, a->base + i, &id) == MOX_OK) {
            char line[64];
            snprintf(line, sizeof line, "%lld x\n", (long long)id);
            append_line(a->ackfd, line); /* the submitter's 250 */
        }
    }
    return NULL;
}

static void sqlite_child(const char *db, const char *ack, const char *log, int base, int drain)
{
    logfd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0600);
    int ackfd = open(ack, O_WRONLY | O_APPEND | O_CREAT, 0600);
    mox_queue_store *st;
    if (logfd < 0 || ackfd < 0 || mox_queue_store_sqlite_open(&st, db, NULL, NULL))
        _exit(2);
    mox_queue *q = make_queue(st, 60, NULL);
    if (!drain) {
        static struct enq_arg a[2];
        pthread_t th;
        for (int k = 0; k < 2; k++) {
            a[k] = (struct enq_arg){q, ackfd, base + k * 100000};
            pthread_create(&th, NULL, enq_thread, &a[k]);
        }
        /* the queue thread: mox_queue_run is not called concurrently with
         * itself; enqueues from other threads are allowed */
        run_loop(q, 1);
    }
    run_loop(q, 0);
    mox_queue_free(q);
    mox_queue_store_close(st);
    _exit(0);
}

static void test_sqlite_sigkill(void **state)
{
    (void)state;
    char dir[] = "/tmp/moxqc.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[300], ack[300], log[300];
    snprintf(db, sizeof db, "%s/q.db", dir);
    snprintf(ack, sizeof ack, "%s/acked", dir);
    snprintf(log, sizeof log, "%s/delivered", dir);
    rnd_state ^= (uint64_t)time(NULL);
    int kills = 0;
    for (int round = 0; round < 8; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            sqlite_child(db, ack, log, round * 1000000, 0);
        usleep(100000 + rnd(400000));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        kills++;
    }
    pid_t pid = fork();
    if (pid == 0)
        sqlite_child(db, ack, log, 0, 1);
    int st = 0;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    enum { MAXID = 4000000 };
    unsigned *acked = calloc(MAXID, sizeof *acked);
    unsigned *got = calloc(MAXID, sizeof *got);
    size_t nack = read_log(ack, acked, MAXID);
    size_t ndel = read_log(log, got, MAXID);
    size_t dups = 0, missing = 0;
    for (size_t i = 0; i < MAXID; i++) {
        if (acked[i] && !got[i])
            missing++;
        if (got[i] > 1)
            dups += got[i] - 1;
    }
    fprintf(stderr, "sqlite sigkill: %d kills, %zu enqueues acknowledged, %zu deliveries, "
                    "%zu duplicates, %zu missing\n",
            kills, nack, ndel, dups, missing);
    assert_true(nack > 0);
    assert_int_equal(missing, 0);
    /* an interrupted attempt is repeated once: at most the attempts in
     * flight at each kill (concurrency 10) */
    assert_true(dups <= (size_t)kills * 10);
    free(acked);
    free(got);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---------------------------------------------------------------- PostgreSQL */

static pgtest pg;
static int pg_state = -2;

static void pg_child(const char *log, const char *name, uint32_t lease_s)
{
    node_name = name;
    logfd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0600);
    mox_queue_store *st;
    if (logfd < 0 || mox_queue_store_pg_open(&st, pg.conninfo, NULL, NULL))
        _exit(2);
    mox_queue *q = make_queue(st, lease_s, name);
    run_loop(q, 0);
    mox_queue_free(q);
    mox_queue_store_close(st);
    _exit(0);
}

static void pg_fill(int n, int64_t *maxid)
{
    assert_int_equal(pgtest_reset(&pg), 0);
    mox_queue_store *st;
    mox_errinfo ei;
    assert_int_equal(mox_queue_store_pg_open(&st, pg.conninfo, NULL, &ei), MOX_OK);
    mox_queue *q = make_queue(st, 60, "filler");
    *maxid = 0;
    for (int i = 0; i < n; i++) {
        int64_t id;
        assert_int_equal(enqueue_one(q, i, &id), MOX_OK);
        if (id > *maxid)
            *maxid = id;
    }
    mox_queue_free(q);
    mox_queue_store_close(st);
}

static size_t lines_of(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static void two_nodes(int kill_one)
{
    enum { N = 1000 };
    char dir[] = "/tmp/moxqp.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char log[300];
    snprintf(log, sizeof log, "%s/delivered", dir);
    int64_t maxid;
    pg_fill(N, &maxid);
    uint32_t lease = kill_one ? 2 : 60;
    pid_t a = fork();
    if (a == 0)
        pg_child(log, "node-a", lease);
    pid_t b = fork();
    if (b == 0)
        pg_child(log, "node-b", lease);
    if (kill_one) {
        for (int i = 0; i < 2000 && lines_of(log) < N / 3; i++)
            usleep(5000);
        kill(a, SIGKILL);
    }
    int st = 0;
    waitpid(a, &st, 0);
    if (!kill_one)
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    waitpid(b, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    unsigned *got = calloc((size_t)maxid + 1, sizeof *got);
    size_t nd = read_log(log, got, (size_t)maxid + 1);
    size_t once = 0, dups = 0, missing = 0, by_a = 0;
    for (int64_t i = maxid - N + 1; i <= maxid; i++) {
        if (got[i] == 0)
            missing++;
        else if (got[i] == 1)
            once++;
        else
            dups += got[i] - 1;
        assert_true(got[i] <= 2);
    }
    FILE *f = fopen(log, "r");
    char line[96];
    while (f && fgets(line, sizeof line, f))
        by_a += strstr(line, "node-a") != NULL;
    if (f)
        fclose(f);
    fprintf(stderr, "postgresql two nodes%s: %zu deliveries (%zu by node-a), %zu once, %zu "
                    "duplicates, %zu missing\n",
            kill_one ? " (node-a killed)" : "", nd, by_a, once, dups, missing);
    assert_int_equal(missing, 0);
    if (!kill_one) {
        assert_int_equal(dups, 0);
        assert_int_equal(nd, N);
        assert_true(by_a > 0 && by_a < N); /* both nodes worked */
    } else {
        assert_true(dups <= 10); /* node-a's attempts in flight */
    }
    free(got);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_pg_two_nodes(void **state)
{
    (void)state;
    if (pg_state == 1)
        skip();
    two_nodes(0);
    two_nodes(1);
}

static int pg_setup(void **state)
{
    (void)state;
    pg_state = pgtest_start(&pg, 0);
    if (pg_state == 1)
        fprintf(stderr, "SKIP: PostgreSQL server binaries (initdb, pg_ctl) not found: the "
                        "two-node test is skipped\n");
    return pg_state < 0 ? -1 : 0;
}

static int pg_teardown(void **state)
{
    (void)state;
    if (pg_state == 0)
        pgtest_stop(&pg);
    return 0;
}

int main(void)
{
    const struct CMUnitTest t1[] = {cmocka_unit_test(test_sqlite_sigkill)};
    const struct CMUnitTest t2[] = {cmocka_unit_test(test_pg_two_nodes)};
    int rc = cmocka_run_group_tests_name("queue_crash_sqlite", t1, NULL, NULL);
    rc |= cmocka_run_group_tests_name("queue_crash_postgresql", t2, pg_setup, pg_teardown);
    return rc;
}
