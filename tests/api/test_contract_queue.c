/* Contract of the queue and dsn modules (objects, not byte engines): exact
 * signatures, NULL-safe free, zeroed configs valid, configs from older
 * (smaller) headers accepted, errinfo filled on every constructor failure
 * (allocation failures included), misuse refused with precise errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "moxtest.h"
#include "mox/dsn.h"
#include "mox/queue.h"

/* Signatures: these assignments stop compiling when one changes. */
static int (*const sig_new)(mox_queue **, const mox_queue_config *, mox_queue_store *,
                            mox_errinfo *) = mox_queue_new;
static void (*const sig_free)(mox_queue *) = mox_queue_free;
static int (*const sig_enqueue)(mox_queue *, mox_queue_submission *, mox_errinfo *) =
    mox_queue_enqueue;
static int (*const sig_run)(mox_queue *, mox_errinfo *) = mox_queue_run;
static int64_t (*const sig_next)(const mox_queue *) = mox_queue_next_run;
static int (*const sig_result)(mox_queue *, mox_queue_attempt *, const mox_queue_result *, size_t,
                               mox_errinfo *) = mox_queue_attempt_result;
static int (*const sig_end)(mox_queue *, mox_queue_attempt *, const mox_queue_result *,
                            mox_errinfo *) = mox_queue_attempt_end;
static int (*const sig_sqlite)(mox_queue_store **, const char *, const mox_queue_sqlite_config *,
                               mox_errinfo *) = mox_queue_store_sqlite_open;
static int (*const sig_pg)(mox_queue_store **, const char *, const mox_queue_pg_config *,
                           mox_errinfo *) = mox_queue_store_pg_open;
static int (*const sig_dsn_parse)(const void *, size_t, const mox_dsn_parse_config *, mox_dsn **,
                                  mox_errinfo *) = mox_dsn_parse;
static int (*const sig_dsn_compose)(const mox_dsn_compose_params *, mox_buf *, mox_errinfo *) =
    mox_dsn_compose;

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/moxqa.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/q.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_names_and_free(void **state)
{
    (void)state;
    assert_non_null(sig_new);
    assert_non_null(sig_free);
    assert_non_null(sig_enqueue);
    assert_non_null(sig_run);
    assert_non_null(sig_next);
    assert_non_null(sig_result);
    assert_non_null(sig_end);
    assert_non_null(sig_sqlite);
    assert_non_null(sig_pg);
    assert_non_null(sig_dsn_parse);
    assert_non_null(sig_dsn_compose);
    mox_queue_free(NULL);
    mox_queue_store_close(NULL);
    mox_dsn_free(NULL);
    assert_null(mox_dsn_get(NULL));
    assert_null(mox_queue_attempt_get(NULL));
    assert_int_equal(mox_queue_inflight(NULL), 0);
    assert_int_equal(mox_queue_next_run(NULL), INT64_MAX);
}

#define CHECK_INIT(type, macro)                                                                    \
    do {                                                                                           \
        type v_ = macro;                                                                           \
        assert_int_equal(v_.size, sizeof(type));                                                   \
    } while (0)

static void test_init_macros(void **state)
{
    (void)state;
    CHECK_INIT(mox_queue_config, MOX_QUEUE_CONFIG_INIT);
    CHECK_INIT(mox_queue_sqlite_config, MOX_QUEUE_SQLITE_CONFIG_INIT);
    CHECK_INIT(mox_queue_pg_config, MOX_QUEUE_PG_CONFIG_INIT);
    CHECK_INIT(mox_queue_filter, MOX_QUEUE_FILTER_INIT);
    CHECK_INIT(mox_queue_submission, MOX_QUEUE_SUBMISSION_INIT);
    CHECK_INIT(mox_dsn_compose_params, MOX_DSN_COMPOSE_PARAMS_INIT);
    CHECK_INIT(mox_dsn_parse_config, MOX_DSN_PARSE_CONFIG_INIT);
    /* the function forms agree */
    mox_queue_config c;
    memset(&c, 0xff, sizeof c);
    mox_queue_config_init(&c, sizeof c);
    assert_int_equal(c.size, sizeof c);
    assert_null(c.env);
    assert_int_equal(c.concurrency, 0);
    mox_queue_sqlite_config sc;
    mox_queue_sqlite_config_init(&sc, sizeof sc);
    assert_int_equal(sc.size, sizeof sc);
    mox_queue_pg_config pc;
    mox_queue_pg_config_init(&pc, sizeof pc);
    assert_int_equal(pc.size, sizeof pc);
    mox_dsn_compose_params dp;
    mox_dsn_compose_params_init(&dp, sizeof dp);
    assert_int_equal(dp.size, sizeof dp);
}

static void test_zeroed_and_old_configs(void **state)
{
    (void)state;
    mox_queue_store *st;
    mox_errinfo ei;
    mox_queue_sqlite_config sc;
    mox_queue_sqlite_config_init(&sc, sizeof sc);
    assert_int_equal(mox_queue_store_sqlite_open(&st, path, &sc, &ei), MOX_OK);
    mox_queue_config c;
    mox_queue_config_init(&c, sizeof c);
    mox_queue *q = NULL;
    assert_int_equal(mox_queue_new(&q, &c, st, &ei), MOX_OK);
    mox_queue_free(q);
    assert_int_equal(mox_queue_new(&q, NULL, st, &ei), MOX_OK);
    mox_queue_free(q);
    /* a program built when the config ended before jitter_pct */
    mox_queue_config_init(&c, sizeof c);
    c.concurrency = 9999; /* beyond the old size: must be ignored */
    c.size = offsetof(mox_queue_config, max_age_s);
    assert_int_equal(mox_queue_new(&q, &c, st, &ei), MOX_OK);
    mox_queue_free(q);
    /* an older, smaller submission struct */
    assert_int_equal(mox_queue_new(&q, NULL, st, &ei), MOX_OK);
    mox_queue_recipient r = {"a@b.example", 0, NULL, 0, 0};
    mox_queue_submission s = MOX_QUEUE_SUBMISSION_INIT;
    s.account = "acct";
    s.data = "x";
    s.len = 1;
    s.rcpts = &r;
    s.nrcpts = 1;
    s.size = offsetof(mox_queue_submission, msg_id);
    assert_int_equal(mox_queue_enqueue(q, &s, &ei), MOX_OK);
    assert_true(r.id > 0);
    assert_int_equal(s.msg_id, 0); /* not written: not in the caller's size */
    s.size = offsetof(mox_queue_submission, rcpts);
    assert_int_equal(mox_queue_enqueue(q, &s, &ei), MOX_ERR_INVAL);
    mox_queue_free(q);
    mox_queue_store_close(st);
}

static void test_errinfo_on_failure(void **state)
{
    (void)state;
    mox_errinfo ei;
    mox_queue *q = (mox_queue *)1;
    memset(&ei, 0, sizeof ei);
    assert_int_equal(mox_queue_new(&q, NULL, NULL, &ei), MOX_ERR_INVAL);
    assert_null(q);
    assert_int_equal(ei.code, MOX_ERR_INVAL);
    assert_true(ei.msg[0] != 0);
    mox_queue_store *st = (mox_queue_store *)1;
    memset(&ei, 0, sizeof ei);
    assert_int_equal(mox_queue_store_sqlite_open(&st, "/nonexistent/dir/q.db", NULL, &ei),
                     MOX_ERR_IO);
    assert_null(st);
    assert_int_equal(ei.code, MOX_ERR_IO);
    assert_non_null(strstr(ei.msg, "/nonexistent"));
    assert_int_equal(mox_queue_store_sqlite_open(&st, NULL, NULL, &ei), MOX_ERR_INVAL);
    assert_int_equal(ei.code, MOX_ERR_INVAL);
    memset(&ei, 0, sizeof ei);
    assert_int_equal(mox_queue_store_pg_open(&st, "host=/nonexistent-socket-dir port=1 "
                                                  "connect_timeout=2",
                                             NULL, &ei),
                     MOX_ERR_IO);
    assert_null(st);
    assert_int_equal(ei.code, MOX_ERR_IO);
    assert_non_null(strstr(ei.msg, "postgresql"));
    assert_int_equal(mox_queue_store_pg_open(&st, NULL, NULL, &ei), MOX_ERR_INVAL);
    assert_int_equal(ei.code, MOX_ERR_INVAL);
    mox_dsn *d = (mox_dsn *)1;
    assert_int_equal(mox_dsn_parse("x", 1, NULL, &d, &ei), MOX_ERR_NOTFOUND);
    assert_null(d);
    assert_int_equal(ei.code, MOX_ERR_NOTFOUND);
}

static mox_queue_store *sweep_store;

static int sweep_new(void *arg)
{
    (void)arg;
    mox_queue *q = NULL;
    mox_errinfo ei;
    memset(&ei, 0, sizeof ei);
    int rc = mox_queue_new(&q, NULL, sweep_store, &ei);
    if (rc && (ei.code != rc || !ei.msg[0] || q))
        return MOX_ERR_STATE; /* errinfo not filled */
    mox_queue_free(q);
    return rc;
}

static int sweep_open(void *arg)
{
    (void)arg;
    mox_queue_store *st = NULL;
    mox_errinfo ei;
    memset(&ei, 0, sizeof ei);
    int rc = mox_queue_store_sqlite_open(&st, path, NULL, &ei);
    if (rc && (ei.code != rc || !ei.msg[0] || st))
        return MOX_ERR_STATE;
    mox_queue_store_close(st);
    return rc;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    assert_int_equal(mox_queue_store_sqlite_open(&sweep_store, path, NULL, NULL), MOX_OK);
    moxtest_alloc_install();
    moxtest_alloc_sweep(sweep_new, NULL, "mox_queue_new");
    moxtest_alloc_sweep(sweep_open, NULL, "mox_queue_store_sqlite_open");
    mox_set_allocator(NULL);
    mox_queue_store_close(sweep_store);
}

static int misuse_start(void *ctx, mox_queue *q, mox_queue_attempt *a)
{
    *(mox_queue_attempt **)ctx = a;
    (void)q;
    return MOX_OK;
}

static void test_misuse(void **state)
{
    (void)state;
    mox_queue_store *st;
    assert_int_equal(mox_queue_store_sqlite_open(&st, path, NULL, NULL), MOX_OK);
    mox_queue_attempt *att = NULL;
    mox_queue_deliverer d = {sizeof d, &att, misuse_start};
    mox_queue_config c = MOX_QUEUE_CONFIG_INIT;
    c.deliverer = &d;
    mox_queue *q, *q2;
    assert_int_equal(mox_queue_new(&q, &c, st, NULL), MOX_OK);
    assert_int_equal(mox_queue_new(&q2, &c, st, NULL), MOX_OK);
    mox_queue_recipient r = {"x@misuse.example", 0, NULL, 0, 0};
    mox_queue_submission s = MOX_QUEUE_SUBMISSION_INIT;
    s.account = "acct";
    s.data = "x";
    s.len = 1;
    s.rcpts = &r;
    s.nrcpts = 1;
    assert_int_equal(mox_queue_enqueue(q, &s, NULL), MOX_OK);
    int started = 0;
    for (int i = 0; i < 5 && !att; i++)
        started += mox_queue_run(q, NULL);
    assert_non_null(att);
    mox_errinfo ei;
    mox_queue_result res = {0, MOX_QUEUE_DELIVERED, 0, 0, 250, NULL, "ok", NULL};
    /* an attempt of another queue */
    assert_int_equal(mox_queue_attempt_result(q2, att, &res, 1, &ei), MOX_ERR_INVAL);
    assert_int_equal(ei.code, MOX_ERR_INVAL);
    assert_int_equal(mox_queue_attempt_end(q2, att, NULL, &ei), MOX_ERR_INVAL);
    /* out of range, bad status, NULL results with a count */
    res.index = 7;
    assert_int_equal(mox_queue_attempt_result(q, att, &res, 1, &ei), MOX_ERR_INVAL);
    res.index = 0;
    res.status = 42;
    assert_int_equal(mox_queue_attempt_result(q, att, &res, 1, &ei), MOX_ERR_INVAL);
    assert_int_equal(mox_queue_attempt_result(q, att, NULL, 1, &ei), MOX_ERR_INVAL);
    /* the same recipient twice in one call, then again later */
    res.status = MOX_QUEUE_DELIVERED;
    mox_queue_result two[2] = {res, res};
    assert_int_equal(mox_queue_attempt_result(q, att, two, 2, &ei), MOX_ERR_INVAL);
    assert_int_equal(mox_queue_attempt_result(q, att, &res, 1, &ei), MOX_OK);
    assert_int_equal(mox_queue_attempt_result(q, att, &res, 1, &ei), MOX_ERR_INVAL);
    assert_non_null(strstr(ei.msg, "already"));
    /* nothing harmed: the attempt still ends normally */
    assert_int_equal(mox_queue_attempt_end(q, att, NULL, &ei), MOX_OK);
    /* NULL queue everywhere */
    assert_int_equal(mox_queue_run(NULL, &ei), MOX_ERR_INVAL);
    assert_int_equal(mox_queue_enqueue(NULL, &s, &ei), MOX_ERR_INVAL);
    assert_int_equal(mox_queue_hold(NULL, NULL, NULL, &ei), MOX_ERR_INVAL);
    assert_int_equal(mox_queue_drop(NULL, NULL, NULL, &ei), MOX_ERR_INVAL);
    assert_int_equal(mox_queue_list(NULL, NULL, NULL, NULL, &ei), MOX_ERR_INVAL);
    assert_int_equal(mox_queue_rule_add(q, NULL, &ei), MOX_ERR_INVAL);
    assert_int_equal(mox_queue_suppression_add(q, NULL, &ei), MOX_ERR_INVAL);
    /* run without a deliverer */
    mox_queue *q3;
    assert_int_equal(mox_queue_new(&q3, NULL, st, NULL), MOX_OK);
    assert_int_equal(mox_queue_run(q3, &ei), MOX_ERR_STATE);
    assert_int_equal(ei.code, MOX_ERR_STATE);
    mox_queue_free(q3);
    mox_queue_free(q2);
    mox_queue_free(q);
    mox_queue_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_free),      cmocka_unit_test(test_init_macros),
        cmocka_unit_test(test_zeroed_and_old_configs), cmocka_unit_test(test_errinfo_on_failure),
        cmocka_unit_test(test_alloc_failures),      cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
