/* Fuzz harness: msgauth (iprev, SPF, DKIM, DMARC) on a message against a
 * zone, both from the input, through the engine contract (fuzz/evaldrv.h:
 * the message fed in random chunks, every question answered in random
 * order interleaved with input, some answers replaced by DNS failures,
 * misuse mixed in), with and without an SPF outcome given.
 *
 * Input: "IP MAILFROM HELO FLAGS\n" (MAILFROM "-" for <>; FLAGS bit 1:
 * iprev), master-file lines (origin "test."; refused lines skipped), a
 * line "--\n", then the message.
 *
 * Checks: it finishes within a bound; the Authentication-Results value
 * has no line break unfolded, parses back with one result per method
 * (one per DKIM signature) and equals the field without its name and
 * CRLF when folded; without injected failures every run (chunks, order,
 * an SPF outcome given right away or late) gives the value of the
 * blocking mox_msgauth_check. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaldrv.h"
#include "mox/msgauth.h"

static void value_checks(const mox_msgauth *m, mox_buf *one)
{
    const mox_msgauth_outcome *o = mox_msgauth_result(m);
    FZ_CHECK(o && o->spf && o->dmarc);
    mox_buf field = MOX_BUF_INIT, folded = MOX_BUF_INIT;
    FZ_CHECK(mox_msgauth_authres_header(m, "mx.test", &field) == MOX_OK);
    FZ_CHECK(mox_msgauth_authres_value(m, "mx.test", MOX_AUTHRES_FOLD, &folded) == MOX_OK);
    FZ_CHECK(mox_msgauth_authres_value(m, "mx.test", 0, one) == MOX_OK);
    FZ_CHECK(field.len == 24 + folded.len + 2);
    FZ_CHECK(!memcmp(field.data + 24, folded.data, folded.len));
    FZ_CHECK(!memchr(one->data, '\r', one->len) && !memchr(one->data, '\n', one->len));
    mox_authres *back;
    FZ_CHECK(mox_authres_parse((const char *)one->data, one->len, &back, NULL) == MOX_OK);
    size_t want = 2 + (o->iprev ? 1 : 0) + (o->dkim && o->dkim->count ? o->dkim->count : 1);
    FZ_CHECK(mox_authres_count(back) == want);
    FZ_CHECK(mox_authres_defects(back) == 0);
    mox_authres_free(back);
    mox_buf_free(&field);
    mox_buf_free(&folded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hl = nl ? (size_t)(nl - data) : size;
    char head[2000], ip[100] = "192.0.2.1", mf[600] = "-", helo[600] = "mx.a.test";
    unsigned flags = 0;
    if (hl >= sizeof head)
        hl = sizeof head - 1;
    memcpy(head, data, hl);
    head[hl] = 0;
    sscanf(head, "%99s %599s %599s %u", ip, mf, helo, &flags);
    const char *mail_from = strcmp(mf, "-") ? mf : "";
    mox_dns_zone *z;
    if (mox_dns_zone_new(&z))
        return 0;
    const uint8_t *q = nl ? nl + 1 : data + size, *end = data + size, *msg = end;
    while (q < end) {
        const uint8_t *e = memchr(q, '\n', (size_t)(end - q));
        size_t n = e ? (size_t)(e - q) : (size_t)(end - q);
        if (n == 2 && q[0] == '-' && q[1] == '-') {
            msg = e ? e + 1 : end;
            break;
        }
        mox_dns_zone_load(z, (const char *)q, n, "test.", "fuzz", NULL);
        q = e ? e + 1 : end;
    }
    size_t mlen = (size_t)(end - msg);
    mox_msgauth_config mc = MOX_MSGAUTH_CONFIG_INIT;
    mc.flags = (flags & 1) ? MOX_MSGAUTH_IPREV : 0;
    mox_resolver res = MOX_RESOLVER_INIT;
    mox_dns_zone_resolver(z, &res);
    mox_msgauth *ref;
    if (mox_msgauth_check(&ref, &mc, &res, ip, mail_from, helo, msg, mlen, NULL) != MOX_OK) {
        mox_dns_zone_free(z);
        return 0;
    }
    mox_buf want = MOX_BUF_INIT;
    value_checks(ref, &want);
    /* the SPF outcome an earlier evaluation gives */
    mox_spf *spf = NULL;
    FZ_CHECK(mox_spf_check(&spf, NULL, &res, ip, mail_from, helo, MOX_SPF_ID_MAILFROM, NULL) ==
             MOX_OK);

    fz_rng r;
    fz_seed(&r, data, size);
    for (int round = 0; round < 4; round++) {
        unsigned fail = round == 3 ? 25 : 0;
        int given = round == 1 ? 1 : round == 2 ? 2 : 0; /* 1 right away, 2 late */
        mox_msgauth_config c2 = mc;
        if (given == 2)
            c2.flags |= MOX_MSGAUTH_SPF_GIVEN;
        mox_msgauth *m;
        FZ_CHECK(mox_msgauth_new(&m, &c2, ip, mail_from, helo, NULL) == MOX_OK);
        if (given == 1)
            FZ_CHECK(mox_msgauth_set_spf(m, mox_spf_result(spf), ip, mail_from, helo) == MOX_OK);
        int rc = fz_drive(mox_msgauth_engine(m), z, &r, fail, msg, mlen, 400);
        if (given == 2) {
            FZ_CHECK(rc == 1 && !mox_msgauth_result(m));
            FZ_CHECK(mox_msgauth_set_spf(m, mox_spf_result(spf), ip, mail_from, helo) == MOX_OK);
            rc = fz_drive(mox_msgauth_engine(m), z, &r, fail, NULL, 0, 400);
        }
        FZ_CHECK(rc == 0);
        mox_buf got = MOX_BUF_INIT;
        value_checks(m, &got);
        FZ_CHECK(mox_msgauth_result(m)->spf_given == (given != 0));
        if (!fail) {
            if (got.len != want.len || memcmp(got.data, want.data, got.len)) {
                fprintf(stderr, "round %d:\n%s\n%s\n", round, (char *)want.data, (char *)got.data);
                abort();
            }
        }
        mox_buf_free(&got);
        mox_msgauth_free(m);
    }
    mox_spf_free(spf);
    mox_buf_free(&want);
    mox_msgauth_free(ref);
    mox_dns_zone_free(z);
    return 0;
}
