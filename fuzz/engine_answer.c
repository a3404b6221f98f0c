/* Fuzzes the contract's answer constructors and the question table with
 * a byte program: each op byte picks an action, following bytes give its
 * operands (names, addresses, TXT data, ids). Invariants: no crash or
 * leak; an answer copied from another formats record for record the
 * same; the question table's open count matches its slots; an answer is
 * accepted at most once per question. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_priv.h"
#include "mox/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct rd {
    const uint8_t *p;
    size_t n;
} rd;

static unsigned byte(rd *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

/* A NUL-terminated string of up to 63 fuzzer bytes. */
static const char *str(rd *r, char *buf)
{
    size_t l = byte(r) % 64;
    if (l > r->n)
        l = r->n;
    memcpy(buf, r->p, l);
    buf[l] = 0;
    r->p += l;
    r->n -= l;
    return buf;
}

static void check_copy(const mox_answer *a)
{
    const mox_dns_answer *d = mox_answer_dns(a);
    if (!d)
        abort();
    mox_answer *c = NULL;
    int rc = mox_answer_dns_copy(&c, 99, d);
    if (rc == MOX_ERR_NOMEM)
        return;
    if (rc != MOX_OK)
        abort(); /* whatever was built must copy */
    const mox_dns_answer *e = mox_answer_dns(c);
    if (e->nrr != d->nrr || e->status != d->status || e->authentic != d->authentic)
        abort();
    for (size_t i = 0; i < d->nrr; i++) {
        mox_buf x = MOX_BUF_INIT, y = MOX_BUF_INIT;
        int r1 = mox_dns_rr_format(&d->rr[i], &x), r2 = mox_dns_rr_format(&e->rr[i], &y);
        if (r1 != r2 || (r1 == MOX_OK && (x.len != y.len || memcmp(x.data, y.data, x.len))))
            abort();
        mox_buf_free(&x);
        mox_buf_free(&y);
    }
    mox_answer_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rd r = {data, size};
    char b1[64], b2[64];
    mox_answer *a = NULL;
    static const int statuses[] = {MOX_DNS_NOERROR, MOX_DNS_NXDOMAIN, MOX_DNS_SERVFAIL,
                                   MOX_DNS_TIMEOUT, MOX_DNS_NETERR, 9};
    int rc = mox_answer_dns_new(&a, 1 + byte(&r), byte(&r) & 1 ? str(&r, b1) : NULL,
                                (uint16_t)byte(&r), statuses[byte(&r) % 6], byte(&r) & 1);
    moxi_qset qs = MOXI_QSET_INIT;
    mox_engine g;
    memset(&g, 0, sizeof g);
    size_t answered = 0;
    while (r.n) {
        unsigned op = byte(&r) % 12;
        const char *owner = byte(&r) & 1 ? str(&r, b1) : NULL;
        uint32_t ttl = byte(&r);
        switch (op) {
        case 0:
            (void)mox_answer_add_txt(a, owner, ttl, str(&r, b2), strlen(b2));
            break;
        case 1:
            (void)mox_answer_add_ip(a, owner, ttl, str(&r, b2));
            break;
        case 2:
            (void)mox_answer_add_mx(a, owner, ttl, (uint16_t)byte(&r), str(&r, b2));
            break;
        case 3:
            (void)mox_answer_add_ptr(a, owner, ttl, str(&r, b2));
            break;
        case 4:
            (void)mox_answer_add_cname(a, owner, ttl, str(&r, b2));
            break;
        case 5:
            str(&r, b2);
            (void)mox_answer_add_tlsa(a, owner, ttl, (uint8_t)byte(&r), (uint8_t)byte(&r),
                                      (uint8_t)byte(&r), b2, strlen(b2));
            break;
        case 6: {
            unsigned char ip[16];
            for (int i = 0; i < 16; i++)
                ip[i] = (unsigned char)byte(&r);
            (void)(byte(&r) & 1 ? mox_answer_add_a(a, owner, ttl, ip)
                                : mox_answer_add_aaaa(a, owner, ttl, ip));
            break;
        }
        case 7: { /* a question */
            mox_query q;
            memset(&q, 0, sizeof q);
            q.kind = 1 + (int)(byte(&r) % 5);
            q.u.dns.name = str(&r, b2); /* first member of every kind is a string */
            if (q.kind == MOX_QUERY_CREDENTIALS && byte(&r) & 1) {
                q.u.credentials.password = "pw";
                q.u.credentials.password_len = 2;
            }
            (void)moxi_qset_add(&qs, &q, 0, NULL);
            break;
        }
        case 8: {
            mox_query q;
            (void)moxi_qset_next(&qs, &q);
            break;
        }
        case 9: { /* answer some id */
            mox_answer *x = NULL;
            uint32_t id = byte(&r) % 8 + 1;
            if (byte(&r) & 1)
                rc = mox_answer_dns_new(&x, id, NULL, 0, MOX_DNS_NXDOMAIN, 0);
            else
                rc = mox_answer_authorize(&x, id, MOX_OK);
            if (rc == MOX_OK) {
                if (moxi_qset_take(&qs, &g, x, NULL) == MOX_OK)
                    answered++;
                else if (g.err.msg[0] == 0)
                    abort(); /* every refusal says why */
            }
            mox_answer_free(x);
            break;
        }
        case 10:
            moxi_qset_cancel(&qs, byte(&r) % 8 + 1);
            break;
        case 11:
            (void)moxi_qset_want(&qs);
            break;
        }
    }
    /* open count equals the slots neither answered nor cancelled */
    size_t open = 0, done = 0;
    for (size_t i = 0; i < qs.n; i++) {
        if (qs.v[i].state == MOXI_Q_UNASKED || qs.v[i].state == MOXI_Q_ASKED)
            open++;
        if (qs.v[i].state == MOXI_Q_ANSWERED)
            done++;
    }
    if (open != qs.open || done != answered)
        abort();
    moxi_qset_clear(&qs);
    if (a)
        check_copy(a);
    mox_answer_free(a);
    return 0;
}
