/* Fuzz harness: a whole SPF evaluation against a zone built from the
 * input. Input: "IP SENDER [HELO]\n" then master-file text (origin
 * "test."; lines the loader refuses are skipped). The evaluation runs
 * through the step API and must finish within a bounded number of
 * questions; the headers are composed from its outcome. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mox/dns.h"
#include "mox/spf.h"

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
    if (mox_spf_new(&s, NULL, ip, sender, helo, size & 1 ? MOX_SPF_ID_HELO : MOX_SPF_ID_MAILFROM,
                    NULL) ||
        !s) {
        if (mox_spf_new(&s, NULL, "2001:db8::1", "user@a.test", helo, 0, NULL)) {
            mox_dns_zone_free(z);
            return 0;
        }
    }
    /* 10 terms x (1 + 10 MX/PTR names) + records + exp + %{p}: far below. */
    int steps = 0, rc;
    const char *name;
    uint16_t type;
    while ((rc = mox_spf_step(s, &name, &type)) == MOX_SPF_NEED_DNS) {
        if (++steps > 400)
            abort();
        mox_dns_answer *a;
        if (mox_dns_zone_query(z, name, type, &a))
            break;
        if (mox_spf_feed(s, a))
            abort();
        mox_dns_answer_free(a);
    }
    if (rc == MOX_SPF_DONE) {
        const mox_spf_outcome *o = mox_spf_get(s);
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
