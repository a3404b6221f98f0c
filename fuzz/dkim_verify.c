/* Fuzz a whole verification through the engine contract. The first bytes
 * steer the driver: a seed for the split points (the message is fed in
 * pieces of random size), and for when and in which order the key
 * questions are answered (as soon as they are handed out, mid-body, or
 * after eof; random order; some answers arrive only after more input).
 * Each question gets an answer chosen from the selector's first letter and
 * the seed: a fixed key set (RSA 1024, Ed25519, revoked, malformed, two
 * records), or a status (NXDOMAIN, SERVFAIL, timeout, network error,
 * NODATA). Misuse is mixed in (a second answer, an unknown id, feed after
 * eof) and must be refused without changing anything. Checked: the want
 * bits agree with what the calls do, every question is asked once, the
 * verifier ends DONE exactly when eof was fed and every question
 * answered, and every result is well formed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mox/dkim.h"

static const char *const keys[] = {
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB",
    "v=DKIM1; k=ed25519; p=yi50DjK5O9pqbFpNHklsv9lqaS0ArSYu02qp1S0DW1Y=",
    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    "v=DKIM1; p=",
    "v=DKIM1; k=rsa; h=sha1; t=s; p=MIGJAoGBALVI635dLK4cJJAH3Lx6upo3X/Lm1tQz3mezcWTA3BUBnyIsdnRf57aD5BtNmhPrYYDlWlzw3UgnKisIxktkk5+iMQMlFtAS10JB8L3YadXNJY+JBcbeSi5TgJe4WFzNgW95FWDAuSTRXSWZfA/8xjflbTLDx0euFZOM7C4T0GwLAgMBAAE=",
    "v=DKIM1; k=rsa; p=AAAA",
};

static const int statuses[] = {MOX_DNS_NXDOMAIN, MOX_DNS_SERVFAIL, MOX_DNS_TIMEOUT,
                               MOX_DNS_NETERR, MOX_DNS_REFUSED};

static int64_t wall(void *ctx)
{
    (void)ctx;
    return 4000000000LL * 1000000000LL;
}

#define CHECK(c)                                                    \
    do {                                                            \
        if (!(c)) {                                                 \
            fprintf(stderr, "%s:%d: CHECK(%s)\n", __FILE__, __LINE__, #c); \
            abort();                                                \
        }                                                           \
    } while (0)

static uint64_t rng;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

#define MAXQ 64

/* The questions handed out and not answered yet. */
static mox_query open_q[MAXQ];
static size_t nopen;
static uint32_t answered_ids[MAXQ];
static size_t nanswered;
static char asked_names[MAXQ][300];
static size_t nasked;

static int build(const mox_query *q, mox_answer **out)
{
    size_t which = ((unsigned char)q->u.dns.name[0] + rnd()) % 12;
    int rc;
    if (which < 6) {
        rc = mox_answer_dns_new(out, q->id, q->u.dns.name, MOX_DNS_TXT, MOX_DNS_NOERROR,
                                (int)(which & 1));
        if (rc == MOX_OK)
            rc = mox_answer_add_txt(*out, NULL, 300, keys[which], strlen(keys[which]));
    } else if (which == 6) {
        rc = mox_answer_dns_new(out, q->id, q->u.dns.name, MOX_DNS_TXT, MOX_DNS_NOERROR, 0);
        for (int k = 0; k < 2 && rc == MOX_OK; k++)
            rc = mox_answer_add_txt(*out, NULL, 300, keys[k], strlen(keys[k]));
    } else if (which == 7) {
        /* NODATA */
        rc = mox_answer_dns_new(out, q->id, q->u.dns.name, MOX_DNS_TXT, MOX_DNS_NOERROR, 0);
    } else {
        rc = mox_answer_dns_new(out, q->id, q->u.dns.name, MOX_DNS_TXT, statuses[which - 8],
                                0);
    }
    return rc;
}

/* Takes every question handed out now; checks it was not asked before. */
static void take_questions(mox_dkim_verifier *v)
{
    mox_query q;
    while (mox_dkim_verifier_query(v, &q) == MOX_OK) {
        CHECK(nopen < MAXQ && nasked < MAXQ);
        CHECK(q.kind == MOX_QUERY_DNS && q.u.dns.type == MOX_DNS_TXT && q.id != 0);
        size_t nl = strlen(q.u.dns.name);
        CHECK(nl < sizeof asked_names[0] && strstr(q.u.dns.name, "._domainkey."));
        for (size_t i = 0; i < nasked; i++)
            CHECK(strcmp(asked_names[i], q.u.dns.name));
        memcpy(asked_names[nasked++], q.u.dns.name, nl + 1);
        open_q[nopen++] = q;
    }
    CHECK(!(mox_dkim_verifier_want(v) & MOX_WANT_QUERY));
    CHECK(!!(mox_dkim_verifier_want(v) & MOX_WANT_ANSWER) == (nopen > 0));
}

/* Answers up to `max` of the open questions, picked at random. */
static void answer_some(mox_dkim_verifier *v, size_t max)
{
    while (max-- && nopen) {
        size_t k = rnd() % nopen;
        mox_query q = open_q[k];
        mox_answer *a;
        CHECK(build(&q, &a) == MOX_OK);
        CHECK(mox_dkim_verifier_answer(v, a) == MOX_OK);
        if (rnd() % 8 == 0) /* misuse: the same answer again */
            CHECK(mox_dkim_verifier_answer(v, a) == MOX_ERR_STATE);
        mox_answer_free(a);
        open_q[k] = open_q[--nopen];
        answered_ids[nanswered++] = q.id;
    }
    if (rnd() % 8 == 0) {
        /* misuse: an id never handed out */
        mox_answer *a;
        CHECK(mox_answer_dns_new(&a, 100000 + rnd() % 1000, NULL, MOX_DNS_TXT,
                                 MOX_DNS_NXDOMAIN, 0) == MOX_OK);
        unsigned w = mox_dkim_verifier_want(v);
        CHECK(mox_dkim_verifier_answer(v, a) == MOX_ERR_NOTFOUND);
        CHECK(mox_dkim_verifier_want(v) == w);
        mox_answer_free(a);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)data[0] << 8 | data[1]);
    unsigned mode = data[2];
    data += 3;
    size -= 3;
    nopen = nanswered = nasked = 0;
    static mox_clock clk = {sizeof(mox_clock), NULL, wall, NULL};
    static mox_env env = {sizeof(mox_env), NULL, NULL, &clk, NULL};
    mox_dkim_verify_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg; /* zero: defaults */
    cfg.env = &env;
    cfg.max_header_bytes = 64 * 1024;
    cfg.allow_rsa_sha1 = mode & 1;
    cfg.max_signatures = (mode >> 1) & 7; /* 0: the default */
    mox_dkim_verifier *v;
    if (mox_dkim_verifier_new(&v, &cfg, NULL))
        return 0;
    int late = (mode >> 4) & 3; /* 0: answer at once; 1: some later; 2: all after eof */
    int rc = MOX_OK;
    for (size_t off = 0; off < size && rc == MOX_OK;) {
        size_t chunk = 1 + rnd() % (rnd() % 4 ? 64 : 4096);
        if (chunk > size - off)
            chunk = size - off;
        CHECK(mox_dkim_verifier_want(v) & MOX_WANT_READ);
        int64_t took = mox_dkim_verifier_feed(v, data + off, chunk);
        if (took < 0) {
            rc = (int)took;
            break;
        }
        CHECK((size_t)took == chunk);
        off += chunk;
        take_questions(v);
        if (late == 0)
            answer_some(v, MAXQ);
        else if (late == 1)
            answer_some(v, rnd() % 2);
        CHECK(!(mox_dkim_verifier_want(v) & MOX_WANT_DONE));
        CHECK(!mox_dkim_verifier_result(v));
    }
    if (rc == MOX_OK) {
        rc = mox_dkim_verifier_eof(v);
        /* A message without an empty line has its signatures (and so its
         * questions) known only now. */
        if (rc == MOX_OK) {
            CHECK(mox_dkim_verifier_feed(v, "x", 1) == MOX_ERR_STATE);
            CHECK(mox_dkim_verifier_eof(v) == MOX_ERR_STATE);
            take_questions(v);
            while (nopen) {
                CHECK(!(mox_dkim_verifier_want(v) & MOX_WANT_DONE));
                CHECK(!mox_dkim_verifier_result(v));
                answer_some(v, 1 + rnd() % 3);
            }
            CHECK(mox_dkim_verifier_want(v) == MOX_WANT_DONE);
        }
    }
    if (rc != MOX_OK) {
        CHECK(rc == MOX_ERR_LIMIT);
        CHECK(mox_dkim_verifier_want(v) == 0 && !mox_dkim_verifier_result(v));
        CHECK(mox_engine_error(mox_dkim_verifier_engine(v))->code == MOX_ERR_LIMIT);
    } else {
        const mox_dkim_verifier_outcome *o = mox_dkim_verifier_result(v);
        CHECK(o);
        CHECK(o->count == 0 || o->results);
        for (size_t i = 0; i < o->count; i++) {
            const mox_dkim_sig_result *r = o->results[i];
            CHECK(r && r->status >= MOX_DKIM_PASS && r->status <= MOX_DKIM_PERMERROR &&
                  r->reason && r->detail);
            CHECK(r->status != MOX_DKIM_TEMPERROR || strcmp(r->reason, "incomplete"));
        }
        /* answers for questions answered before stay refused */
        for (size_t i = 0; i < nanswered && i < 2; i++) {
            mox_answer *a;
            CHECK(mox_answer_dns_new(&a, answered_ids[i], NULL, MOX_DNS_TXT, MOX_DNS_NXDOMAIN,
                                     0) == MOX_OK);
            CHECK(mox_dkim_verifier_answer(v, a) == MOX_ERR_STATE);
            mox_answer_free(a);
        }
    }
    mox_dkim_verifier_free(v);
    return 0;
}
