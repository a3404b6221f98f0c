/* Fuzz harness: iprev against a zone built from the input, through the
 * engine contract (fuzz/evaldrv.h: the forward questions of every PTR
 * name at once, answered in random order, some replaced by DNS failures,
 * misuse mixed in). Input: "IP [MAXNAMES]\n" then master-file text
 * (origin "test."; lines the loader refuses are skipped).
 *
 * Checks: it finishes within 1 + max_names answers (+ misuse); without
 * injected failures it reaches the outcome of the blocking loop (result,
 * confirmed name, authentic, reason); a pass names one of the PTR names;
 * the iprev= entry composes and parses back as one result. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaldrv.h"
#include "mox/iprev.h"

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 32768)
        return 0;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hl = nl ? (size_t)(nl - data) : size;
    char head[200], ip[100] = "192.0.2.1";
    unsigned maxn = 0;
    if (hl >= sizeof head)
        hl = sizeof head - 1;
    memcpy(head, data, hl);
    head[hl] = 0;
    sscanf(head, "%99s %u", ip, &maxn);
    mox_iprev_config cfg = MOX_IPREV_CONFIG_INIT;
    cfg.max_names = maxn % 40;
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
    mox_resolver res = MOX_RESOLVER_INIT;
    mox_dns_zone_resolver(z, &res);
    mox_iprev *ref;
    if (mox_iprev_check(&ref, &cfg, &res, ip, NULL) != MOX_OK) {
        mox_dns_zone_free(z);
        return 0;
    }
    const mox_iprev_outcome *o = mox_iprev_result(ref);
    FZ_CHECK(o && o->reason && o->ip);
    unsigned limit = cfg.max_names ? cfg.max_names : 10;
    FZ_CHECK(o->nnames <= limit);
    if (o->result == MOX_IPREV_PASS) {
        int found = 0;
        for (size_t i = 0; i < o->nnames; i++)
            found |= !strcmp(o->names[i], o->name);
        FZ_CHECK(found);
    } else {
        FZ_CHECK(o->name == NULL);
    }
    mox_authres *ar;
    FZ_CHECK(mox_authres_new(&ar, "mx", 2) == MOX_OK);
    FZ_CHECK(mox_iprev_authres(ref, ar) == MOX_OK);
    mox_buf b = MOX_BUF_INIT;
    FZ_CHECK(mox_authres_compose_value(ar, MOX_AUTHRES_FOLD, &b) == MOX_OK);
    mox_authres *back;
    FZ_CHECK(mox_authres_parse((const char *)b.data, b.len, &back, NULL) == MOX_OK);
    FZ_CHECK(mox_authres_count(back) == 1);
    mox_authres_free(back);
    mox_authres_free(ar);
    mox_buf_free(&b);

    fz_rng r;
    fz_seed(&r, data, size);
    for (int round = 0; round < 3; round++) {
        unsigned fail = round == 2 ? 30 : 0;
        mox_iprev *c;
        FZ_CHECK(mox_iprev_new(&c, &cfg, ip, NULL) == MOX_OK);
        FZ_CHECK(fz_drive(mox_iprev_engine(c), z, &r, fail, NULL, 0, 1 + limit) == 0);
        const mox_iprev_outcome *o2 = mox_iprev_result(c);
        FZ_CHECK(o2);
        if (!fail)
            FZ_CHECK(o2->result == o->result && same_str(o2->name, o->name) &&
                     o2->authentic == o->authentic && o2->nnames == o->nnames &&
                     !strcmp(o2->reason, o->reason));
        else if (o2->result == MOX_IPREV_PASS)
            FZ_CHECK(o2->name != NULL);
        mox_iprev_free(c);
    }
    mox_iprev_free(ref);
    mox_dns_zone_free(z);
    return 0;
}
