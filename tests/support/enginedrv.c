/* The generic engine driver (enginedrv.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "enginedrv.h"

#define WALL_BASE INT64_C(1767225600000000000) /* 2026-01-01T00:00:00Z */

static unsigned rnd(unsigned *s)
{
    /* xorshift32: reproducible across platforms */
    unsigned x = *s ? *s : 1u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

static int64_t clock_mono(void *ctx) { return ((moxtest_drive *)ctx)->now_ns; }
static int64_t clock_wall(void *ctx) { return WALL_BASE + ((moxtest_drive *)ctx)->now_ns; }

void moxtest_drive_clock(moxtest_drive *d, mox_clock *c)
{
    c->size = sizeof *c;
    c->ctx = d;
    c->wall_ns = clock_wall;
    c->mono_ns = clock_mono;
}

static size_t chunk(moxtest_drive *d, unsigned *s, size_t left)
{
    if (d->max_chunk == 0 || left <= 1)
        return left;
    size_t m = d->max_chunk < left ? d->max_chunk : left;
    return 1 + rnd(s) % m;
}

static int make_answer(moxtest_drive *d, unsigned *s, const mox_query *q, mox_answer **out)
{
    *out = NULL;
    if (q->kind == MOX_QUERY_DNS && d->zone) {
        if (d->fail_percent && rnd(s) % 100 < d->fail_percent)
            return mox_answer_dns_new(out, q->id, q->u.dns.name, q->u.dns.type,
                                      rnd(s) & 1 ? MOX_DNS_SERVFAIL : MOX_DNS_TIMEOUT, 0);
        mox_dns_answer *za = NULL;
        int rc = mox_dns_zone_query(d->zone, q->u.dns.name, q->u.dns.type, &za);
        if (rc == MOX_ERR_SYNTAX) /* a name the zone cannot hold */
            return mox_answer_dns_new(out, q->id, NULL, q->u.dns.type, MOX_DNS_NXDOMAIN, 0);
        if (rc != MOX_OK)
            return rc;
        rc = mox_answer_dns_copy(out, q->id, za);
        mox_dns_answer_free(za);
        return rc;
    }
    if (!d->answer) {
        fprintf(stderr, "enginedrv: no answerer for a %s question\n", mox_query_kind_name(q->kind));
        return MOX_ERR_UNSUPPORTED;
    }
    int rc = d->answer(d->answer_ctx, q, out);
    if (rc == MOX_OK && !*out)
        return MOX_ERR_INVAL;
    return rc;
}

static int report(mox_engine *g, const char *what, int rc)
{
    const mox_errinfo *e = mox_engine_error(g);
    fprintf(stderr, "enginedrv: %s: %s: %s (%s)\n", mox_engine_name(g), what, mox_strerror(rc),
            e && e->code == rc ? e->msg : "");
    return rc;
}

int moxtest_drive_run(mox_engine *g, moxtest_drive *d)
{
    unsigned s = d->seed ? d->seed : 1u;
    const unsigned char *in = d->input;
    size_t off = 0;
    int eof_sent = 0;
    mox_query open[256];
    size_t nopen = 0;
    unsigned max = d->max_steps ? d->max_steps : 1000000u;
    for (unsigned step = 0; step < max; step++) {
        unsigned w = mox_engine_want(g);
        d->final_want = w;
        if (w & MOX_WANT_QUERY) {
            mox_query q;
            int rc;
            while (nopen < 256 && (rc = mox_engine_query(g, &q)) == MOX_OK) {
                open[nopen++] = q;
                d->questions++;
            }
            if (nopen > d->max_open)
                d->max_open = (unsigned)nopen;
            if (nopen == 0)
                return report(g, "query", rc);
            if (mox_engine_want(g) & MOX_WANT_QUERY && nopen < 256) {
                fprintf(stderr, "enginedrv: %s wants QUERY but has none to give\n",
                        mox_engine_name(g));
                return MOX_ERR_STATE;
            }
            continue;
        }
        int can_feed = (w & MOX_WANT_READ) && (off < d->input_len || (d->eof && !eof_sent));
        /* answer one question now, or (shuffled) maybe feed first */
        if (nopen && (!d->shuffle || !can_feed || rnd(&s) % 3 == 0)) {
            size_t i = d->shuffle ? rnd(&s) % nopen : 0;
            mox_query q = open[i];
            if (d->shuffle)
                open[i] = open[--nopen];
            else
                memmove(&open[0], &open[1], --nopen * sizeof open[0]); /* keep order */
            mox_answer *a = NULL;
            int rc = make_answer(d, &s, &q, &a);
            if (rc != MOX_OK)
                return rc;
            rc = mox_engine_answer(g, a);
            mox_answer_free(a);
            if (rc < 0)
                return report(g, "answer", rc);
            continue;
        }
        if (w & MOX_WANT_WRITE) {
            const void *p;
            size_t n;
            int rc = mox_engine_output(g, &p, &n);
            if (rc < 0)
                return report(g, "output", rc);
            if (n) {
                size_t k = chunk(d, &s, n);
                if (mox_buf_append(&d->output, p, k) != MOX_OK)
                    return MOX_ERR_NOMEM;
                rc = mox_engine_output_done(g, k);
                if (rc < 0)
                    return report(g, "output_done", rc);
                continue;
            }
        }
        if (w & MOX_WANT_DECISION) {
            if (!d->decide) {
                fprintf(stderr, "enginedrv: %s wants a decision, no decider\n", mox_engine_name(g));
                return MOX_ERR_STATE;
            }
            int rc = d->decide(d->cb_ctx, g);
            if (rc < 0)
                return rc;
            continue;
        }
        if (w & MOX_WANT_TLS) {
            if (!d->tls) {
                fprintf(stderr, "enginedrv: %s wants TLS, no tls callback\n", mox_engine_name(g));
                return MOX_ERR_STATE;
            }
            int rc = d->tls(d->cb_ctx, g);
            if (rc < 0)
                return rc;
            continue;
        }
        if (can_feed) {
            if (off < d->input_len) {
                size_t k = chunk(d, &s, d->input_len - off);
                int64_t took = mox_engine_feed(g, in + off, k);
                if (took < 0)
                    return report(g, "feed", (int)took);
                if (took == 0 && !(mox_engine_want(g) & (MOX_WANT_WRITE | MOX_WANT_QUERY |
                                                         MOX_WANT_DECISION | MOX_WANT_TLS)) &&
                    !nopen) {
                    fprintf(stderr, "enginedrv: %s takes no input and wants nothing else\n",
                            mox_engine_name(g));
                    return MOX_ERR_STATE;
                }
                off += (size_t)took;
                d->fed += (size_t)took;
            } else {
                eof_sent = 1;
                int rc = mox_engine_eof(g);
                if (rc < 0)
                    return report(g, "eof", rc);
            }
            continue;
        }
        if (w & (MOX_WANT_DONE | MOX_WANT_CLOSED))
            return MOX_OK;
        if (w & MOX_WANT_TIMER) {
            int64_t dl = mox_engine_deadline(g);
            if (dl != MOX_NO_DEADLINE && dl > d->now_ns)
                d->now_ns = dl;
            d->ticks++;
            int rc = mox_engine_tick(g, d->now_ns);
            if (rc < 0)
                return report(g, "tick", rc);
            continue;
        }
        return MOX_OK; /* waits for nothing the driver has */
    }
    fprintf(stderr, "enginedrv: %s: no end after %u steps\n", mox_engine_name(g), max);
    return MOX_ERR_LIMIT;
}

void moxtest_contract_answers(mox_engine *g, uint32_t open_id)
{
    unsigned before = mox_engine_want(g);
    mox_answer *a = NULL;
    /* an id far from any handed out */
    assert_int_equal(mox_answer_dns_new(&a, 0x7ffffff0u, "x.example", MOX_DNS_TXT,
                                        MOX_DNS_NXDOMAIN, 0),
                     MOX_OK);
    assert_int_equal(mox_engine_answer(g, a), MOX_ERR_NOTFOUND);
    assert_int_equal(mox_engine_error(g)->code, MOX_ERR_NOTFOUND);
    assert_true(mox_engine_error(g)->msg[0] != 0);
    mox_answer_free(a);
    assert_int_equal(mox_engine_answer(g, NULL), MOX_ERR_INVAL);
    if (open_id) {
        /* wrong kind for an open question */
        assert_int_equal(mox_answer_fetch_new(&a, open_id, MOX_ERR_TIMEOUT, 0, NULL, NULL, 0),
                         MOX_OK);
        int rc = mox_engine_answer(g, a);
        mox_answer_free(a);
        assert_int_equal(rc, MOX_ERR_INVAL);
        assert_int_equal(mox_engine_error(g)->code, MOX_ERR_INVAL);
    }
    assert_int_equal(mox_engine_want(g), before);
}
