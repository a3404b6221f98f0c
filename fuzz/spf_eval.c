/* Fuzz harness: a whole SPF evaluation against a zone built from the
 * input. Input: "IP SENDER [HELO]\n" then master-file text (origin
 * "test."; lines the loader refuses are skipped). The evaluation runs
 * through the engine contract: every question handed out is collected
 * and the open ones are answered in an order drawn from the input, so
 * groups (MX hosts, PTR names) are answered in any order. It must finish
 * within a bounded number of questions, and reach exactly the outcome
 * of the blocking loop (mox_spf_check); the headers are composed from
 * its outcome. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mox/dns.h"
#include "mox/engine.h"
#include "mox/spf.h"

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hl = nl ? (size_t)(nl - data) : size;
    char head[600], ip[64] = "192.0.2.1", sender[300] = "user@a.test", helo[300] = "mx.test";
    if (hl >= sizeof head)
        hl = sizeof head - 1;
    memcpy(head, data, hl);
    head[hl] = 0;
    sscanf(head, "%63s %299s %299s", ip, sender, helo);
    mox_dns_zone *z;
    if (mox_dns_zone_new(&z))
        return 0;
    /* Load line by line so one bad line does not hide the rest. */
    const uint8_t *p = nl ? nl + 1 : data + size, *end = data + size;
    while (p < end) {
        const uint8_t *e = memchr(p, '\n', (size_t)(end - p));
        size_t n = e ? (size_t)(e - p) : (size_t)(end - p);
        mox_dns_zone_load(z, (const char *)p, n, "test.", "fuzz", NULL);
        p = e ? e + 1 : end;
    }
    mox_spf *s;
    int identity = size & 1 ? MOX_SPF_ID_HELO : MOX_SPF_ID_MAILFROM;
    if (mox_spf_new(&s, NULL, ip, sender, helo, identity, NULL) || !s) {
        snprintf(ip, sizeof ip, "2001:db8::1");
        snprintf(sender, sizeof sender, "user@a.test");
        identity = MOX_SPF_ID_MAILFROM;
        if (mox_spf_new(&s, NULL, ip, sender, helo, identity, NULL)) {
            mox_dns_zone_free(z);
            return 0;
        }
    }
    /* The order of answers: a PRNG seeded from the input. */
    uint32_t seed = 2166136261u;
    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 16777619u;
    /* 10 terms x (1 + 10 MX/PTR names) + records + exp + %{p}: far below. */
    int steps = 0, rc = MOX_OK;
    mox_query open[64];
    size_t nopen = 0;
    while (!(mox_spf_want(s) & MOX_WANT_DONE)) {
        while (nopen < 64 && mox_spf_query(s, &open[nopen]) == MOX_OK)
            nopen++;
        if (nopen == 0)
            abort(); /* not done and nothing to answer */
        if (++steps > 400)
            abort();
        seed = seed * 1103515245u + 12345u;
        size_t k = (seed >> 8) % nopen;
        mox_dns_answer *d;
        mox_answer *a;
        if (mox_dns_zone_query(z, open[k].u.dns.name, open[k].u.dns.type, &d) == MOX_OK) {
            if (mox_answer_dns_copy(&a, open[k].id, d))
                abort();
            mox_dns_answer_free(d);
        } else if (mox_answer_dns_new(&a, open[k].id, NULL, open[k].u.dns.type, MOX_DNS_NETERR,
                                      0)) {
            abort(); /* a name the zone refuses: what mox_engine_run answers */
        }
        if (mox_spf_answer(s, a))
            abort();
        if (mox_spf_answer(s, a) != MOX_ERR_STATE)
            abort();
        mox_answer_free(a);
        open[k] = open[--nopen];
    }
    if (rc == MOX_OK) {
        const mox_spf_outcome *o = mox_spf_result(s);
        /* The blocking loop reaches the same outcome. */
        mox_resolver r = MOX_RESOLVER_INIT;
        mox_dns_zone_resolver(z, &r);
        mox_spf *s2;
        if (mox_spf_check(&s2, NULL, &r, ip, sender, helo, identity, NULL))
            abort();
        const mox_spf_outcome *o2 = mox_spf_result(s2);
        if (!o || !o2 || o->result != o2->result || !same_str(o->mechanism, o2->mechanism) ||
            !same_str(o->problem, o2->problem) || !same_str(o->explanation, o2->explanation) ||
            o->dns_lookups != o2->dns_lookups || o->void_lookups != o2->void_lookups ||
            o->dns_queries != o2->dns_queries || o->authentic != o2->authentic)
            abort();
        mox_spf_free(s2);
        if (!o || o->dns_lookups > 11 || o->void_lookups > 3)
            abort();
        if ((o->explanation != NULL) != (o->result == MOX_SPF_FAIL))
            abort();
        mox_buf b = MOX_BUF_INIT;
        if (mox_spf_received_header(s, &b))
            abort();
        /* Only folding CRLFs (followed by SP) and the final one: nothing
         * from the DNS or the peer can inject a header line. */
        for (size_t i = 0; i < b.len; i++) {
            if (b.data[i] == '\n' && (i == 0 || b.data[i - 1] != '\r'))
                abort();
            if (b.data[i] == '\r' && !(i + 1 < b.len && b.data[i + 1] == '\n' &&
                                       (i + 2 == b.len || b.data[i + 2] == ' ')))
                abort();
        }
        mox_buf_reset(&b);
        if (mox_spf_auth_results(s, &b) || memchr(b.data, '\r', b.len) || memchr(b.data, '\n', b.len))
            abort();
        mox_buf_free(&b);
    }
    mox_spf_free(s);
    mox_dns_zone_free(z);
    return 0;
}
