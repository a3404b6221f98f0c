/* Shared by the evaluator harnesses (dmarc_eval, iprev, msgauth): drives
 * an engine through the contract from a zone, with decisions drawn from a
 * PRNG seeded by the input: input fed in random chunks, every question
 * collected and a random open one answered next, some answers replaced by
 * DNS failures, misuse mixed in. Contract violations abort:
 *   - want says QUERY and query has none, or still QUERY after draining;
 *   - the engine waits for nothing it can be given (not DONE, no open
 *     question, no input left) while it says it wants something;
 *   - an engine call fails where it must not (a good answer refused);
 *   - misuse (unknown id, a second answer) not refused with its error, or
 *     refused but changing want;
 *   - after DONE, answers to questions still open not accepted, or want
 *     other than DONE. */
#ifndef MOX_FUZZ_EVALDRV_H
#define MOX_FUZZ_EVALDRV_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mox/dns.h"
#include "mox/engine.h"

typedef struct fz_rng {
    uint32_t s;
} fz_rng;

static inline void fz_seed(fz_rng *r, const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    r->s = h ? h : 1;
}

static inline uint32_t fz_next(fz_rng *r)
{
    uint32_t x = r->s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    r->s = x;
    return x;
}

#define FZ_CHECK(c)                                                                     \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "%s:%d: CHECK %s\n", __FILE__, __LINE__, #c);              \
            abort();                                                                    \
        }                                                                               \
    } while (0)

/* The answer to `q`: from the zone, or with `fail` percent a failure
 * (SERVFAIL, TIMEOUT, NXDOMAIN, NETERR, an empty NOERROR). A name the zone
 * refuses gets NETERR, as mox_engine_run gives a resolver that cannot
 * start a query. */
static inline mox_answer *fz_answer(const mox_dns_zone *z, const mox_query *q, fz_rng *r,
                                    unsigned fail)
{
    mox_answer *a = NULL;
    if (fail && fz_next(r) % 100 < fail) {
        static const int st[] = {MOX_DNS_SERVFAIL, MOX_DNS_TIMEOUT, MOX_DNS_NXDOMAIN,
                                 MOX_DNS_NETERR, MOX_DNS_NOERROR};
        FZ_CHECK(mox_answer_dns_new(&a, q->id, q->u.dns.name, q->u.dns.type,
                                    st[fz_next(r) % 5], (int)(fz_next(r) & 1)) == MOX_OK);
        return a;
    }
    mox_dns_answer *d = NULL;
    if (mox_dns_zone_query(z, q->u.dns.name, q->u.dns.type, &d) != MOX_OK) {
        FZ_CHECK(mox_answer_dns_new(&a, q->id, NULL, q->u.dns.type, MOX_DNS_NETERR, 0) == MOX_OK);
        return a;
    }
    FZ_CHECK(mox_answer_dns_copy(&a, q->id, d) == MOX_OK);
    mox_dns_answer_free(d);
    return a;
}

/* Drives `g` until DONE. `in`/`len`: input to feed (NULL: none), then
 * eof. Returns 0 when DONE, 1 when the engine waits for something else
 * (want 0 with nothing open: the caller gives it, then calls again with
 * in NULL). At most `max_answers` answers. */
static inline int fz_drive(mox_engine *g, const mox_dns_zone *z, fz_rng *r, unsigned fail,
                           const void *in, size_t len, unsigned max_answers)
{
    mox_query open[128];
    size_t nopen = 0, off = 0;
    int eof_sent = in == NULL;
    uint32_t answered[16];
    size_t nanswered = 0;
    unsigned answers = 0;
    for (unsigned step = 0; step < 100000; step++) {
        unsigned w = mox_engine_want(g);
        if (w & MOX_WANT_QUERY) {
            int rc;
            while (nopen < 128 && (rc = mox_engine_query(g, &open[nopen])) == MOX_OK) {
                FZ_CHECK(open[nopen].kind == MOX_QUERY_DNS && open[nopen].id != 0);
                FZ_CHECK(open[nopen].u.dns.name != NULL);
                nopen++;
            }
            FZ_CHECK(nopen == 128 || !(mox_engine_want(g) & MOX_WANT_QUERY));
            continue;
        }
        if (w & MOX_WANT_DONE) {
            /* questions still open are accepted and ignored */
            while (nopen) {
                mox_answer *a = fz_answer(z, &open[--nopen], r, fail);
                FZ_CHECK(mox_engine_answer(g, a) == MOX_OK);
                mox_answer_free(a);
                FZ_CHECK(mox_engine_want(g) == MOX_WANT_DONE);
            }
            return 0;
        }
        int can_feed = (w & MOX_WANT_READ) && (off < len || !eof_sent);
        if (nopen && (!can_feed || fz_next(r) % 3 == 0)) {
            size_t k = fz_next(r) % nopen;
            mox_query q = open[k];
            open[k] = open[--nopen];
            FZ_CHECK(++answers <= max_answers);
            mox_answer *a = fz_answer(z, &q, r, fail);
            int rc = mox_engine_answer(g, a);
            if (rc != MOX_OK)
                fprintf(stderr, "answer refused: %s\n", mox_engine_error(g)->msg);
            FZ_CHECK(rc == MOX_OK);
            /* misuse now and then: the same answer again, an unknown id */
            if ((fz_next(r) & 7) == 0) {
                unsigned before = mox_engine_want(g);
                FZ_CHECK(mox_engine_answer(g, a) == MOX_ERR_STATE);
                FZ_CHECK(mox_engine_want(g) == before);
            }
            mox_answer_free(a);
            if (nanswered < 16)
                answered[nanswered++] = q.id;
            if ((fz_next(r) & 15) == 0) {
                unsigned before = mox_engine_want(g);
                mox_answer *u = NULL;
                FZ_CHECK(mox_answer_dns_new(&u, 0x7fffff00u + (fz_next(r) & 0xff), NULL,
                                            MOX_DNS_TXT, MOX_DNS_NOERROR, 0) == MOX_OK);
                FZ_CHECK(mox_engine_answer(g, u) == MOX_ERR_NOTFOUND);
                mox_answer_free(u);
                FZ_CHECK(mox_engine_want(g) == before);
            }
            continue;
        }
        if (can_feed) {
            if (off < len) {
                size_t n = len - off;
                if (n > 1 && (fz_next(r) & 3))
                    n = 1 + fz_next(r) % n;
                int64_t took = mox_engine_feed(g, (const uint8_t *)in + off, n);
                FZ_CHECK(took == (int64_t)n); /* evaluators take all */
                off += n;
            } else {
                eof_sent = 1;
                FZ_CHECK(mox_engine_eof(g) == MOX_OK);
                FZ_CHECK(mox_engine_feed(g, "x", 1) == MOX_ERR_STATE);
            }
            continue;
        }
        /* nothing open, no input: the engine must want nothing (an
         * ANSWER bit would name questions nobody holds) */
        FZ_CHECK(w == 0);
        (void)answered;
        return 1;
    }
    abort();
}

#endif
