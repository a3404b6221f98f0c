/* Fuzz harness: a whole DMARC evaluation against a zone built from the
 * input, through the engine contract (fuzz/evaldrv.h: answers in random
 * order, some replaced by DNS failures, misuse mixed in).
 *
 * Input: a first line "AUTHOR SPFRES SPFDOMAIN DKIMRES DKIMDOMAIN
 * DKIMRES2 DKIMDOMAIN2 FLAGS" (results 0-7 as MOX_DMARC_AUTH_*, "-" for
 * no domain; FLAGS bits: 1 discover-only, 2 ignore t=, 4 the outcomes
 * always given late), then master-file text (origin "test."; lines the
 * loader refuses are skipped).
 *
 * Checks: the evaluation finishes within a bound; without injected
 * failures it reaches the outcome of the blocking loop; a pass has an
 * aligned identifier; a reject disposition only comes with fail or
 * permerror; the dmarc= entry composes and parses back as one result. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaldrv.h"
#include "mox/dmarc.h"

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

typedef struct params {
    char author[300];
    int spf, dkim, dkim2;
    char spfdom[300], dkimdom[300], dkimdom2[300];
    unsigned flags;
} params;

static mox_dmarc *make(const params *p, int late)
{
    mox_dmarc_config cfg = MOX_DMARC_CONFIG_INIT;
    if (p->flags & 1)
        cfg.flags |= MOX_DMARC_F_DISCOVER_ONLY;
    if (p->flags & 2)
        cfg.flags |= MOX_DMARC_F_IGNORE_TESTING;
    if (late)
        cfg.flags |= MOX_DMARC_F_AUTH_LATER;
    mox_dmarc *d = NULL;
    if (mox_dmarc_new(&d, &cfg, p->author, NULL) != MOX_OK)
        return NULL;
    return d;
}

static void give(mox_dmarc *d, const params *p)
{
    if (strcmp(p->spfdom, "-"))
        FZ_CHECK(mox_dmarc_set_spf(d, p->spf, p->spfdom) == MOX_OK);
    if (strcmp(p->dkimdom, "-"))
        FZ_CHECK(mox_dmarc_add_dkim(d, p->dkim, p->dkimdom, "s") == MOX_OK);
    if (strcmp(p->dkimdom2, "-"))
        FZ_CHECK(mox_dmarc_add_dkim(d, p->dkim2, p->dkimdom2, NULL) == MOX_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 32768)
        return 0;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hl = nl ? (size_t)(nl - data) : size;
    char head[2000];
    if (hl >= sizeof head)
        hl = sizeof head - 1;
    memcpy(head, data, hl);
    head[hl] = 0;
    params p;
    memset(&p, 0, sizeof p);
    snprintf(p.author, sizeof p.author, "a.test");
    snprintf(p.spfdom, sizeof p.spfdom, "-");
    snprintf(p.dkimdom, sizeof p.dkimdom, "-");
    snprintf(p.dkimdom2, sizeof p.dkimdom2, "-");
    sscanf(head, "%299s %d %299s %d %299s %d %299s %u", p.author, &p.spf, p.spfdom, &p.dkim,
           p.dkimdom, &p.dkim2, p.dkimdom2, &p.flags);
    p.spf = (p.spf & 7);
    p.dkim = (p.dkim & 7);
    p.dkim2 = (p.dkim2 & 7);
    mox_dns_zone *z;
    if (mox_dns_zone_new(&z))
        return 0;
    const uint8_t *q = nl ? nl + 1 : data + size, *end = data + size;
    while (q < end) {
        const uint8_t *e = memchr(q, '\n', (size_t)(end - q));
        size_t n = e ? (size_t)(e - q) : (size_t)(end - q);
        mox_dns_zone_load(z, (const char *)q, n, "test.", "fuzz", NULL);
        q = e ? e + 1 : end;
    }
    mox_dmarc *ref = make(&p, 0);
    if (!ref) {
        mox_dns_zone_free(z);
        return 0;
    }
    give(ref, &p);
    mox_resolver res = MOX_RESOLVER_INIT;
    mox_dns_zone_resolver(z, &res);
    mox_io io = MOX_IO_INIT;
    io.resolver = &res;
    FZ_CHECK(mox_engine_run(mox_dmarc_engine(ref), &io, NULL) == MOX_OK);
    const mox_dmarc_outcome *o = mox_dmarc_result(ref);
    FZ_CHECK(o);
    if (o->result == MOX_DMARC_PASS)
        FZ_CHECK(o->spf_aligned == MOX_DMARC_ALIGN_PASS || o->dkim_aligned == MOX_DMARC_ALIGN_PASS);
    if (o->disposition == MOX_DMARC_POLICY_REJECT)
        FZ_CHECK(o->result == MOX_DMARC_FAIL || o->result == MOX_DMARC_PERMERROR);
    FZ_CHECK(o->dns_queries <= 40);
    mox_authres *ar;
    FZ_CHECK(mox_authres_new(&ar, "mx", 2) == MOX_OK);
    FZ_CHECK(mox_dmarc_authres(ref, ar) == MOX_OK);
    mox_buf b = MOX_BUF_INIT;
    FZ_CHECK(mox_authres_compose_value(ar, 0, &b) == MOX_OK);
    FZ_CHECK(!memchr(b.data, '\r', b.len) && !memchr(b.data, '\n', b.len));
    mox_authres *back;
    FZ_CHECK(mox_authres_parse((const char *)b.data, b.len, &back, NULL) == MOX_OK);
    FZ_CHECK(mox_authres_count(back) == 1);
    mox_authres_free(back);
    mox_authres_free(ar);
    mox_buf_free(&b);

    fz_rng r;
    fz_seed(&r, data, size);
    for (int round = 0; round < 2; round++) {
        unsigned fail = round ? 25 : 0;
        int late = (int)(fz_next(&r) & 1) || (p.flags & 4);
        mox_dmarc *d = make(&p, late);
        FZ_CHECK(d);
        if (!late)
            give(d, &p);
        int rc = fz_drive(mox_dmarc_engine(d), z, &r, fail, NULL, 0, 200);
        if (late) {
            FZ_CHECK(rc == 1 && mox_dmarc_result(d) == NULL);
            give(d, &p);
            FZ_CHECK(mox_dmarc_auth_done(d) == MOX_OK);
            FZ_CHECK(mox_dmarc_auth_done(d) == MOX_ERR_STATE);
            rc = fz_drive(mox_dmarc_engine(d), z, &r, fail, NULL, 0, 200);
        }
        FZ_CHECK(rc == 0);
        const mox_dmarc_outcome *o2 = mox_dmarc_result(d);
        FZ_CHECK(o2);
        if (!fail) {
            FZ_CHECK(o2->result == o->result && o2->policy == o->policy &&
                     o2->disposition == o->disposition && o2->spf_aligned == o->spf_aligned &&
                     o2->dkim_aligned == o->dkim_aligned && o2->authentic == o->authentic &&
                     o2->author_exists == o->author_exists &&
                     same_str(o2->org_domain, o->org_domain) &&
                     same_str(o2->record_domain, o->record_domain) &&
                     same_str(o2->reason, o->reason));
            if (o->result != MOX_DMARC_TEMPERROR)
                FZ_CHECK(o2->dns_queries == o->dns_queries);
        } else {
            if (o2->result == MOX_DMARC_PASS)
                FZ_CHECK(o2->spf_aligned == MOX_DMARC_ALIGN_PASS ||
                         o2->dkim_aligned == MOX_DMARC_ALIGN_PASS);
            if (o2->disposition == MOX_DMARC_POLICY_REJECT)
                FZ_CHECK(o2->result == MOX_DMARC_FAIL || o2->result == MOX_DMARC_PERMERROR);
        }
        mox_dmarc_free(d);
    }
    mox_dmarc_free(ref);
    mox_dns_zone_free(z);
    return 0;
}
