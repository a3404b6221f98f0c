/* The engine contract: answer constructors and readers, the question
 * table's misuse errors, the generic view, mox_engine_run over a resolver
 * and over a socket with a deadline, and the generic test driver. Two toy
 * engines stand in for real ones: "ask" (asks every question at once,
 * result once all are answered) and "echo" (a line protocol with an idle
 * deadline). */
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "enginedrv.h"
#include "engine/engine_priv.h"
#include "moxtest.h"

/* ------------------------------------------------------------ toy "ask" */

typedef struct ask {
    mox_engine eng;
    moxi_qset qs;
    size_t n;
    char names[8][64];
    char got[8][300];
    int answered[8];
    size_t left;
    mox_buf result;
} ask;

static unsigned ask_want(const void *self)
{
    const ask *a = self;
    unsigned w = moxi_qset_want(&a->qs);
    if (a->left == 0)
        w |= MOX_WANT_DONE;
    return w;
}

static int ask_query(void *self, mox_query *q) { return moxi_qset_next(&((ask *)self)->qs, q); }

static int ask_answer(void *self, const mox_answer *an)
{
    ask *a = self;
    const moxi_qslot *sl;
    int rc = moxi_qset_take(&a->qs, &a->eng, an, &sl);
    if (rc != MOX_OK)
        return rc;
    size_t i = (size_t)sl->tag;
    const mox_dns_answer *d = mox_answer_dns(an);
    if (d->status != MOX_DNS_NOERROR)
        snprintf(a->got[i], sizeof a->got[i], "%s", mox_dns_status_name(d->status));
    else {
        mox_buf b = MOX_BUF_INIT;
        for (size_t k = 0; k < d->nrr; k++)
            if (d->rr[k].type == MOX_DNS_TXT)
                mox_dns_txt_join(&d->rr[k], &b);
        snprintf(a->got[i], sizeof a->got[i], "%s", b.data ? (char *)b.data : "");
        mox_buf_free(&b);
    }
    a->answered[i] = 1;
    if (--a->left == 0) {
        for (size_t k = 0; k < a->n; k++)
            mox_buf_appendf(&a->result, "%s=%s;", a->names[k], a->got[k]);
    }
    return MOX_OK;
}

static const moxi_engine_ops ask_ops = {
    .name = "ask", .want = ask_want, .query = ask_query, .answer = ask_answer};

static ask *ask_new(size_t n)
{
    ask *a = calloc(1, sizeof *a);
    moxi_engine_init(&a->eng, &ask_ops, a);
    a->n = a->left = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(a->names[i], sizeof a->names[i], "q%zu.example.org", i);
        assert_int_equal(moxi_qset_dns(&a->qs, a->names[i], strlen(a->names[i]), MOX_DNS_TXT,
                                       (uintptr_t)i, NULL),
                         MOX_OK);
    }
    return a;
}

static void ask_free(ask *a)
{
    moxi_qset_clear(&a->qs);
    mox_buf_free(&a->result);
    free(a);
}

static mox_dns_zone *zone(void)
{
    mox_dns_zone *z;
    assert_int_equal(mox_dns_zone_new(&z), MOX_OK);
    const char *text = "$ORIGIN example.org.\n"
                       "q0 TXT \"zero\"\n"
                       "q1 TXT \"one\" \"-cont\"\n"
                       "$SERVFAIL q2\n"
                       "q4 A 192.0.2.1\n"
                       "q5 TXT \"five\"\n"
                       "q6 CNAME q5\n";
    mox_errinfo ei;
    assert_int_equal(mox_dns_zone_load(z, text, strlen(text), NULL, "t", &ei), MOX_OK);
    return z;
}

static const char *expect7 = "q0.example.org=zero;q1.example.org=one-cont;"
                             "q2.example.org=SERVFAIL;q3.example.org=NXDOMAIN;"
                             "q4.example.org=;q5.example.org=five;q6.example.org=five;";

static void test_run_resolver(void **st)
{
    (void)st;
    mox_dns_zone *z = zone();
    mox_resolver r = MOX_RESOLVER_INIT;
    mox_dns_zone_resolver(z, &r);
    ask *a = ask_new(7);
    assert_int_equal(mox_engine_want(&a->eng), MOX_WANT_QUERY);
    mox_io io = MOX_IO_INIT;
    io.resolver = &r;
    mox_errinfo ei;
    assert_int_equal(mox_engine_run(&a->eng, &io, &ei), MOX_OK);
    assert_int_equal(mox_engine_want(&a->eng), MOX_WANT_DONE);
    assert_string_equal((char *)a->result.data, expect7);
    ask_free(a);
    mox_dns_zone_free(z);
}

/* An asynchronous resolver: queries are queued and completed by wait(),
 * last first, so the loop must have handed out every question before it
 * waits and must accept answers in any order. */
typedef struct aq {
    const mox_dns_zone *z;
    struct {
        char name[256];
        uint16_t type;
        mox_dns_done_fn done;
        void *arg;
    } q[16];
    int n, max_pending;
} aq;

static int aq_query(void *ctx, const char *name, uint16_t type, mox_dns_done_fn done, void *arg)
{
    aq *r = ctx;
    snprintf(r->q[r->n].name, sizeof r->q[r->n].name, "%s", name);
    r->q[r->n].type = type;
    r->q[r->n].done = done;
    r->q[r->n].arg = arg;
    r->n++;
    if (r->n > r->max_pending)
        r->max_pending = r->n;
    return MOX_OK;
}

static int aq_wait(void *ctx)
{
    aq *r = ctx;
    if (r->n == 0)
        return MOX_ERR_STATE;
    r->n--;
    mox_dns_answer *ans;
    assert_int_equal(mox_dns_zone_query(r->z, r->q[r->n].name, r->q[r->n].type, &ans), MOX_OK);
    r->q[r->n].done(r->q[r->n].arg, ans);
    return MOX_OK;
}

static void test_run_async(void **st)
{
    (void)st;
    mox_dns_zone *z = zone();
    aq q = {.z = z};
    mox_resolver r = {sizeof r, &q, aq_query, aq_wait};
    ask *a = ask_new(7);
    mox_io io = MOX_IO_INIT;
    io.resolver = &r;
    assert_int_equal(mox_engine_run(&a->eng, &io, NULL), MOX_OK);
    assert_int_equal(q.max_pending, 7); /* all in parallel */
    assert_string_equal((char *)a->result.data, expect7);
    ask_free(a);
    mox_dns_zone_free(z);
}

static int refuse_query(void *ctx, const char *name, uint16_t type, mox_dns_done_fn done,
                        void *arg)
{
    (void)ctx, (void)name, (void)type, (void)done, (void)arg;
    return MOX_ERR_IO;
}

static void test_run_failing_resolver(void **st)
{
    (void)st;
    mox_resolver r = {sizeof r, NULL, refuse_query, NULL};
    ask *a = ask_new(2);
    mox_io io = MOX_IO_INIT;
    io.resolver = &r;
    assert_int_equal(mox_engine_run(&a->eng, &io, NULL), MOX_OK);
    assert_string_equal((char *)a->result.data,
                        "q0.example.org=NETERR;q1.example.org=NETERR;");
    ask_free(a);
    /* no resolver at all: an API error, with errinfo */
    a = ask_new(1);
    mox_io none = MOX_IO_INIT;
    mox_errinfo ei;
    assert_int_equal(mox_engine_run(&a->eng, &none, &ei), MOX_ERR_UNSUPPORTED);
    assert_int_equal(ei.code, MOX_ERR_UNSUPPORTED);
    assert_non_null(strstr(ei.msg, "resolver"));
    ask_free(a);
}

static void test_driver_orders(void **st)
{
    (void)st;
    mox_dns_zone *z = zone();
    for (unsigned seed = 1; seed <= 200; seed++) {
        ask *a = ask_new(7);
        moxtest_drive d = {0};
        d.seed = seed;
        d.shuffle = 1;
        d.zone = z;
        assert_int_equal(moxtest_drive_run(&a->eng, &d), MOX_OK);
        assert_int_equal(d.questions, 7);
        assert_int_equal(d.max_open, 7);
        assert_string_equal((char *)a->result.data, expect7);
        mox_buf_free(&d.output);
        ask_free(a);
    }
    /* injected failures: every answer is still taken, results differ */
    ask *a = ask_new(7);
    moxtest_drive d = {0};
    d.seed = 7;
    d.zone = z;
    d.fail_percent = 100;
    assert_int_equal(moxtest_drive_run(&a->eng, &d), MOX_OK);
    assert_null(strstr((char *)a->result.data, "zero"));
    ask_free(a);
    mox_dns_zone_free(z);
}

static void test_misuse(void **st)
{
    (void)st;
    ask *a = ask_new(3);
    mox_engine *g = &a->eng;
    mox_query q1, q2;
    assert_int_equal(mox_engine_query(g, &q1), MOX_OK);
    assert_int_equal(q1.kind, MOX_QUERY_DNS);
    assert_string_equal(q1.u.dns.name, "q0.example.org");
    assert_int_equal(mox_engine_want(g), MOX_WANT_QUERY | MOX_WANT_ANSWER);
    moxtest_contract_answers(g, q1.id);

    mox_answer *an;
    /* the third question was not handed out yet */
    assert_int_equal(mox_answer_dns_new(&an, q1.id + 2, NULL, MOX_DNS_TXT, MOX_DNS_NXDOMAIN, 0),
                     MOX_OK);
    assert_int_equal(mox_engine_answer(g, an), MOX_ERR_STATE);
    assert_non_null(strstr(mox_engine_error(g)->msg, "not handed out"));
    mox_answer_free(an);
    /* wrong type */
    assert_int_equal(mox_answer_dns_new(&an, q1.id, NULL, MOX_DNS_MX, MOX_DNS_NXDOMAIN, 0),
                     MOX_OK);
    assert_int_equal(mox_engine_answer(g, an), MOX_ERR_INVAL);
    mox_answer_free(an);
    /* right answer, then the same again */
    assert_int_equal(mox_answer_dns_new(&an, q1.id, NULL, MOX_DNS_TXT, MOX_DNS_NXDOMAIN, 0),
                     MOX_OK);
    assert_int_equal(mox_engine_answer(g, an), MOX_OK);
    assert_int_equal(mox_engine_answer(g, an), MOX_ERR_STATE);
    assert_non_null(strstr(mox_engine_error(g)->msg, "answered already"));
    mox_answer_free(an);
    assert_int_equal(mox_engine_want(g), MOX_WANT_QUERY);
    assert_int_equal(mox_engine_query(g, &q2), MOX_OK);
    assert_int_equal(q2.id, q1.id + 1);
    assert_int_equal(mox_engine_query(g, &q2), MOX_OK);
    assert_int_equal(mox_engine_query(g, &q2), MOX_ERR_AGAIN);
    assert_int_equal(mox_engine_want(g), MOX_WANT_ANSWER);
    /* groups the toy does not have */
    assert_int_equal(mox_engine_feed(g, "x", 1), MOX_ERR_UNSUPPORTED);
    assert_non_null(strstr(mox_engine_error(g)->msg, "feed"));
    assert_int_equal(mox_engine_eof(g), MOX_ERR_UNSUPPORTED);
    assert_int_equal(mox_engine_tick(g, 0), MOX_ERR_UNSUPPORTED);
    assert_true(mox_engine_deadline(g) == MOX_NO_DEADLINE);
    mox_tls_request req = MOX_TLS_REQUEST_INIT;
    assert_int_equal(mox_engine_tls_request(g, &req), MOX_ERR_UNSUPPORTED);
    assert_string_equal(mox_engine_name(g), "ask");
    ask_free(a);
    /* NULL views */
    assert_int_equal(mox_engine_want(NULL), 0);
    assert_int_equal(mox_engine_answer(NULL, NULL), MOX_ERR_INVAL);
    assert_null(mox_engine_name(NULL));
}

/* ------------------------------------------------------------ answers */

static void test_answer_dns(void **st)
{
    (void)st;
    mox_answer *a;
    assert_int_equal(mox_answer_dns_new(&a, 0, "x.org", MOX_DNS_TXT, 0, 0), MOX_ERR_INVAL);
    assert_null(a);
    assert_int_equal(mox_answer_dns_new(&a, 1, "x.org", MOX_DNS_TXT, 99, 0), MOX_ERR_INVAL);
    assert_int_equal(mox_answer_dns_new(&a, 1, "bad..name", MOX_DNS_TXT, 0, 0), MOX_ERR_INVAL);
    assert_int_equal(mox_answer_dns_new(NULL, 1, "x.org", MOX_DNS_TXT, 0, 0), MOX_ERR_INVAL);

    assert_int_equal(mox_answer_dns_new(&a, 5, "Example.ORG.", MOX_DNS_ANY, MOX_DNS_NOERROR, 1),
                     MOX_OK);
    char big[600];
    memset(big, 'a', sizeof big);
    assert_int_equal(mox_answer_add_txt(a, NULL, 300, big, sizeof big), MOX_OK);
    assert_int_equal(mox_answer_add_txt(a, NULL, 300, "", 0), MOX_OK);
    assert_int_equal(mox_answer_add_ip(a, NULL, 60, "192.0.2.7"), MOX_OK);
    assert_int_equal(mox_answer_add_ip(a, NULL, 60, "2001:db8::1"), MOX_OK);
    assert_int_equal(mox_answer_add_ip(a, NULL, 60, "300.1.1.1"), MOX_ERR_INVAL);
    assert_int_equal(mox_answer_add_mx(a, NULL, 60, 10, "mx.example.org."), MOX_OK);
    assert_int_equal(mox_answer_add_ptr(a, "7.2.0.192.in-addr.arpa", 60, "host.example"), MOX_OK);
    assert_int_equal(mox_answer_add_cname(a, "alias.example.org", 60, "example.org"), MOX_OK);
    unsigned char h[32] = {1, 2, 3};
    assert_int_equal(mox_answer_add_tlsa(a, "_25._tcp.mx.example.org", 60, 3, 1, 1, h, 32), MOX_OK);
    assert_int_equal(mox_answer_add_mx(a, NULL, 60, 10, "bad..host"), MOX_ERR_INVAL);
    assert_int_equal(mox_answer_add_ptr(a, "bad..owner", 60, "x.org"), MOX_ERR_INVAL);

    assert_int_equal(mox_answer_id(a), 5);
    assert_int_equal(mox_answer_kind(a), MOX_QUERY_DNS);
    assert_int_equal(mox_answer_status(a), MOX_DNS_NOERROR);
    const mox_dns_answer *d = mox_answer_dns(a);
    assert_non_null(d);
    assert_string_equal(d->qname, "Example.ORG");
    assert_int_equal(d->authentic, 1);
    assert_int_equal(d->nrr, 8);
    assert_int_equal(d->rr[0].u.txt.count, 3); /* 255 + 255 + 90 */
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_dns_txt_join(&d->rr[0], &b), MOX_OK);
    assert_int_equal(b.len, 600);
    mox_buf_reset(&b);
    const char *want[] = {
        NULL, "Example.ORG. 300 IN TXT \"\"", "Example.ORG. 60 IN A 192.0.2.7",
        "Example.ORG. 60 IN AAAA 2001:db8::1", "Example.ORG. 60 IN MX 10 mx.example.org.",
        "7.2.0.192.in-addr.arpa. 60 IN PTR host.example.",
        "alias.example.org. 60 IN CNAME example.org.", NULL};
    for (size_t i = 1; i < 7; i++) {
        mox_buf_reset(&b);
        assert_int_equal(mox_dns_rr_format(&d->rr[i], &b), MOX_OK);
        assert_string_equal((char *)b.data, want[i]);
    }
    assert_int_equal(d->rr[7].type, MOX_DNS_TLSA);
    assert_int_equal(d->rr[7].u.tlsa.usage, 3);
    assert_int_equal(d->rr[7].u.tlsa.len, 32);
    assert_memory_equal(d->rr[7].u.tlsa.data, h, 32);

    /* copy round trip */
    mox_answer *c;
    assert_int_equal(mox_answer_dns_copy(&c, 9, d), MOX_OK);
    const mox_dns_answer *cd = mox_answer_dns(c);
    assert_int_equal(cd->nrr, d->nrr);
    for (size_t i = 0; i < d->nrr; i++) {
        mox_buf x = MOX_BUF_INIT, y = MOX_BUF_INIT;
        assert_int_equal(mox_dns_rr_format(&d->rr[i], &x), MOX_OK);
        assert_int_equal(mox_dns_rr_format(&cd->rr[i], &y), MOX_OK);
        assert_string_equal((char *)x.data, (char *)y.data);
        mox_buf_free(&x);
        mox_buf_free(&y);
    }
    assert_int_equal(mox_answer_add_ip(c, NULL, 1, "192.0.2.1"), MOX_ERR_INVAL); /* whole */
    mox_answer_free(c);
    /* readers of other kinds give nothing */
    assert_null(mox_answer_body(a, NULL));
    assert_null(mox_answer_secrets(a, NULL));
    assert_int_equal(mox_answer_http_status(a), 0);
    mox_answer_free(a);
    mox_buf_free(&b);

    /* failures: no records can be added, NODATA has none */
    assert_int_equal(mox_answer_dns_new(&a, 2, "x.org", MOX_DNS_TXT, MOX_DNS_NXDOMAIN, 0), MOX_OK);
    assert_int_equal(mox_answer_add_txt(a, NULL, 1, "v", 1), MOX_ERR_INVAL);
    assert_int_equal(mox_answer_dns(a)->status, MOX_DNS_NXDOMAIN);
    mox_answer_free(a);
    assert_int_equal(mox_answer_dns_new(&a, 2, "x.org", MOX_DNS_TXT, MOX_DNS_NOERROR, 0), MOX_OK);
    assert_int_equal(mox_dns_answer_is_nodata(mox_answer_dns(a)), 1);
    mox_answer_free(a);
    assert_int_equal(mox_answer_dns_new(&a, 2, NULL, MOX_DNS_TXT, MOX_DNS_TIMEOUT, 0), MOX_OK);
    assert_int_equal(mox_answer_status(a), MOX_DNS_TIMEOUT);
    mox_answer_free(a);
    mox_answer_free(NULL);
}

static void test_answer_others(void **st)
{
    (void)st;
    mox_answer *a;
    assert_int_equal(mox_answer_fetch_new(&a, 3, MOX_OK, 200, "text/plain", "version: STSv1\n", 14),
                     MOX_OK);
    size_t n;
    assert_memory_equal(mox_answer_body(a, &n), "version: STSv1", 14);
    assert_int_equal(n, 14);
    assert_int_equal(mox_answer_http_status(a), 200);
    assert_string_equal(mox_answer_content_type(a), "text/plain");
    assert_null(mox_answer_dns(a));
    mox_answer_free(a);
    assert_int_equal(mox_answer_fetch_new(&a, 3, MOX_OK, 42, NULL, NULL, 0), MOX_ERR_INVAL);
    assert_int_equal(mox_answer_fetch_new(&a, 3, MOX_ERR_TIMEOUT, 0, NULL, NULL, 0), MOX_OK);
    assert_int_equal(mox_answer_status(a), MOX_ERR_TIMEOUT);
    mox_answer_free(a);

    assert_int_equal(mox_answer_credentials_secrets(&a, 4, "mox-sasl-v1 x", 13), MOX_OK);
    assert_string_equal(mox_answer_secrets(a, &n), "mox-sasl-v1 x");
    assert_int_equal(mox_answer_is_verdict(a), 0);
    mox_answer_free(a);
    assert_int_equal(mox_answer_credentials_verdict(&a, 4, MOX_ERR_PERM), MOX_OK);
    assert_int_equal(mox_answer_is_verdict(a), 1);
    assert_int_equal(mox_answer_status(a), MOX_ERR_PERM);
    mox_answer_free(a);
    assert_int_equal(mox_answer_credentials_verdict(&a, 4, MOX_ERR_IO), MOX_ERR_INVAL);
    assert_int_equal(mox_answer_credentials_status(&a, 4, MOX_OK), MOX_ERR_INVAL);
    assert_int_equal(mox_answer_credentials_status(&a, 4, MOX_ERR_NOTFOUND), MOX_OK);
    assert_int_equal(mox_answer_kind(a), MOX_QUERY_CREDENTIALS);
    mox_answer_free(a);
    assert_int_equal(mox_answer_authorize(&a, 6, MOX_OK), MOX_OK);
    assert_int_equal(mox_answer_kind(a), MOX_QUERY_AUTHORIZE);
    mox_answer_free(a);
    assert_int_equal(mox_answer_connect_new(&a, 7, MOX_OK, "127.0.0.1:4000", "127.0.0.1:25", NULL),
                     MOX_OK);
    assert_string_equal(mox_answer_remote(a), "127.0.0.1:25");
    assert_null(mox_answer_detail(a));
    mox_answer_free(a);
    assert_int_equal(mox_answer_connect_new(&a, 7, 1, NULL, NULL, NULL), MOX_ERR_INVAL);
}

static int build_answer(void *arg)
{
    (void)arg;
    mox_answer *a = NULL;
    int rc = mox_answer_dns_new(&a, 1, "example.org", MOX_DNS_MX, MOX_DNS_NOERROR, 0);
    if (rc == MOX_OK)
        rc = mox_answer_add_mx(a, NULL, 1, 10, "a.example.org");
    if (rc == MOX_OK)
        rc = mox_answer_add_mx(a, NULL, 1, 20, "b.example.org");
    if (rc == MOX_OK)
        rc = mox_answer_add_txt(a, "t.example.org", 1, "hello", 5);
    mox_answer *c = NULL;
    if (rc == MOX_OK)
        rc = mox_answer_dns_copy(&c, 2, mox_answer_dns(a));
    if (rc == MOX_OK && mox_answer_dns(c)->nrr != 3)
        rc = MOX_ERR_STATE;
    mox_answer_free(c);
    mox_answer_free(a);
    return rc;
}

static void test_answer_nomem(void **st)
{
    (void)st;
    moxtest_alloc_install();
    assert_true(moxtest_alloc_sweep(build_answer, NULL, "answer build") > 5);
}

/* ------------------------------------------------------------ toy "echo" */

/* Line protocol: each line comes back upper-cased; "QUIT" closes; no
 * complete line within 100 ms of the first byte (a deadline, not an idle
 * timer) closes with "TIMEOUT". */
typedef struct echo {
    mox_engine eng;
    const mox_clock *clock;
    mox_buf in, out;
    int64_t line_deadline;
    int closed, eof;
} echo;

static unsigned echo_want(const void *self)
{
    const echo *e = self;
    unsigned w = 0;
    if (e->out.len)
        w |= MOX_WANT_WRITE;
    if (e->closed)
        return w | MOX_WANT_CLOSED;
    w |= MOX_WANT_READ;
    if (e->line_deadline != MOX_NO_DEADLINE)
        w |= MOX_WANT_TIMER;
    return w;
}

static int64_t echo_feed(void *self, const void *p, size_t n)
{
    echo *e = self;
    if (e->eof || e->closed)
        return moxi_engine_fail(&e->eng, MOX_ERR_STATE, "feed after end");
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        if (e->in.len == 0 && e->line_deadline == MOX_NO_DEADLINE)
            e->line_deadline = mox_clock_mono_ns(e->clock) + 100 * INT64_C(1000000);
        if (c[i] == '\n') {
            if (e->in.len == 4 && memcmp(e->in.data, "QUIT", 4) == 0) {
                mox_buf_append_str(&e->out, "BYE\n");
                e->closed = 1;
                return (int64_t)i + 1;
            }
            for (size_t k = 0; k < e->in.len; k++)
                if (e->in.data[k] >= 'a' && e->in.data[k] <= 'z')
                    e->in.data[k] -= 32;
            mox_buf_append(&e->out, e->in.data, e->in.len);
            mox_buf_append_byte(&e->out, '\n');
            mox_buf_reset(&e->in);
            e->line_deadline = MOX_NO_DEADLINE;
        } else
            mox_buf_append_byte(&e->in, c[i]);
    }
    return (int64_t)n;
}

static int echo_eof(void *self)
{
    echo *e = self;
    e->eof = e->closed = 1;
    return MOX_OK;
}

static int echo_output(void *self, const void **p, size_t *n)
{
    echo *e = self;
    *p = e->out.data;
    *n = e->out.len;
    return MOX_OK;
}

static int echo_output_done(void *self, size_t n)
{
    echo *e = self;
    if (n > e->out.len)
        return moxi_engine_fail(&e->eng, MOX_ERR_INVAL, "output_done %zu > %zu", n, e->out.len);
    mox_buf_consume(&e->out, n);
    return MOX_OK;
}

static int64_t echo_deadline(const void *self) { return ((const echo *)self)->line_deadline; }

static int echo_tick(void *self, int64_t now)
{
    echo *e = self;
    if (e->line_deadline != MOX_NO_DEADLINE && now >= e->line_deadline) {
        mox_buf_append_str(&e->out, "TIMEOUT\n");
        e->closed = 1;
        e->line_deadline = MOX_NO_DEADLINE;
    }
    return MOX_OK;
}

static const moxi_engine_ops echo_ops = {.name = "echo",
                                         .want = echo_want,
                                         .feed = echo_feed,
                                         .eof = echo_eof,
                                         .output = echo_output,
                                         .output_done = echo_output_done,
                                         .deadline = echo_deadline,
                                         .tick = echo_tick};

static void echo_init(echo *e, const mox_clock *c)
{
    memset(e, 0, sizeof *e);
    moxi_engine_init(&e->eng, &echo_ops, e);
    e->clock = c;
    e->line_deadline = MOX_NO_DEADLINE;
}

static void echo_clear(echo *e)
{
    mox_buf_free(&e->in);
    mox_buf_free(&e->out);
}

typedef struct peer {
    int fd;
    const char *send;
    int trickle_ms; /* >0: one byte every trickle_ms */
    char got[256];
} peer;

static void *peer_main(void *arg)
{
    peer *p = arg;
    if (p->trickle_ms) {
        for (const char *c = p->send; *c; c++) {
            if (send(p->fd, c, 1, MSG_NOSIGNAL) != 1)
                break;
            usleep((useconds_t)p->trickle_ms * 1000);
        }
    } else if (send(p->fd, p->send, strlen(p->send), MSG_NOSIGNAL) < 0)
        return NULL;
    shutdown(p->fd, SHUT_WR); /* then only listen */
    size_t off = 0;
    ssize_t r;
    while (off < sizeof p->got - 1 && (r = recv(p->fd, p->got + off, sizeof p->got - 1 - off, 0)) > 0)
        off += (size_t)r;
    p->got[off] = 0;
    return NULL;
}

static void run_echo(const char *send_text, int trickle_ms, const char *expect)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    peer p = {.fd = sv[1], .send = send_text, .trickle_ms = trickle_ms};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, peer_main, &p), 0);
    echo e;
    echo_init(&e, NULL);
    mox_transport t = MOX_TRANSPORT_INIT;
    mox_transport_fd(&t, &sv[0]);
    mox_io io = MOX_IO_INIT;
    io.transport = &t;
    mox_errinfo ei;
    assert_int_equal(mox_engine_run(&e.eng, &io, &ei), MOX_OK);
    assert_true(mox_engine_want(&e.eng) & MOX_WANT_CLOSED);
    shutdown(sv[0], SHUT_RDWR);
    pthread_join(th, NULL);
    close(sv[0]);
    close(sv[1]);
    assert_string_equal(p.got, expect);
    echo_clear(&e);
}

static void test_run_socket(void **st)
{
    (void)st;
    run_echo("hello\nworld\nQUIT\nignored\n", 0, "HELLO\nWORLD\nBYE\n");
    /* a peer that closes: eof ends the engine */
    run_echo("abc\n", 0, "ABC\n");
}

static void test_run_deadline(void **st)
{
    (void)st;
    /* one byte every 30 ms: the line is not complete 100 ms after its
     * first byte, however often bytes come */
    int64_t t0 = mox_clock_mono_ns(NULL);
    run_echo("slowly\n", 30, "TIMEOUT\n");
    int64_t took = mox_clock_mono_ns(NULL) - t0;
    assert_true(took >= 100 * INT64_C(1000000));
    assert_true(took < 2000 * INT64_C(1000000));
}

static void test_driver_echo(void **st)
{
    (void)st;
    const char *in = "one\ntwo\nthree\nQUIT\n";
    for (unsigned seed = 1; seed < 100; seed++) {
        moxtest_drive d = {0};
        mox_clock c;
        moxtest_drive_clock(&d, &c);
        echo e;
        echo_init(&e, &c);
        d.seed = seed;
        d.max_chunk = 3;
        d.input = in;
        d.input_len = strlen(in);
        d.eof = 1;
        assert_int_equal(moxtest_drive_run(&e.eng, &d), MOX_OK);
        assert_int_equal(d.output.len, strlen("ONE\nTWO\nTHREE\nBYE\n"));
        assert_memory_equal(d.output.data, "ONE\nTWO\nTHREE\nBYE\n", d.output.len);
        /* output_done beyond what was handed out */
        assert_int_equal(mox_engine_output_done(&e.eng, 5), MOX_ERR_INVAL);
        assert_int_equal(mox_engine_error(&e.eng)->code, MOX_ERR_INVAL);
        assert_int_equal(mox_engine_feed(&e.eng, "x", 1), MOX_ERR_STATE);
        mox_buf_free(&d.output);
        echo_clear(&e);
    }
    /* the deadline on the virtual clock: input without newline */
    moxtest_drive d = {0};
    mox_clock c;
    moxtest_drive_clock(&d, &c);
    echo e;
    echo_init(&e, &c);
    d.input = "partial";
    d.input_len = 7;
    assert_int_equal(moxtest_drive_run(&e.eng, &d), MOX_OK);
    assert_int_equal(d.ticks, 1);
    assert_true(d.now_ns == 100 * INT64_C(1000000));
    assert_memory_equal(d.output.data, "TIMEOUT\n", 8);
    mox_buf_free(&d.output);
    echo_clear(&e);
}

static void test_want_names(void **st)
{
    (void)st;
    assert_string_equal(mox_want_name(0), "0");
    assert_string_equal(mox_want_name(MOX_WANT_READ | MOX_WANT_TIMER), "READ|TIMER");
    assert_string_equal(mox_want_name(MOX_WANT_ANSWER | 0x1000u), "ANSWER|0x1000");
    assert_string_equal(mox_query_kind_name(MOX_QUERY_FETCH), "FETCH");
    assert_string_equal(mox_query_kind_name(77), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_resolver),   cmocka_unit_test(test_run_async),
        cmocka_unit_test(test_run_failing_resolver), cmocka_unit_test(test_driver_orders),
        cmocka_unit_test(test_misuse),         cmocka_unit_test(test_answer_dns),
        cmocka_unit_test(test_answer_others),  cmocka_unit_test(test_answer_nomem),
        cmocka_unit_test(test_run_socket),     cmocka_unit_test(test_run_deadline),
        cmocka_unit_test(test_driver_echo),    cmocka_unit_test(test_want_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
