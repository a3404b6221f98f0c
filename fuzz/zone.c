/* Fuzzes the master-file loader and the zone queries. Whatever loads is
 * queried (every name, type ANY, plus a few fixed questions), and every
 * record of every answer is formatted and loaded into a fresh zone, which
 * must answer the same: the formatter's output is valid master-file text
 * and means the same records. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/zone_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *render(const mox_dns_answer *a, mox_buf *text)
{
    mox_buf b = MOX_BUF_INIT;
    if (mox_buf_appendf(&b, "%d %d", a->status, a->authentic) != MOX_OK)
        abort();
    for (size_t i = 0; i < a->nrr; i++) {
        size_t at = b.len;
        if (mox_buf_append_byte(&b, '\n') != MOX_OK || mox_dns_rr_format(&a->rr[i], &b) != MOX_OK)
            abort();
        if (text && (mox_buf_append(text, b.data + at + 1, b.len - at - 1) != MOX_OK ||
                     mox_buf_append_byte(text, '\n') != MOX_OK))
            abort();
        mox_buf r = MOX_BUF_INIT;
        if (mox_dns_rdata_format(&a->rr[i], &r) != MOX_OK)
            abort();
        mox_buf_free(&r);
    }
    size_t n;
    return mox_buf_steal(&b, &n);
}

static int check_name(void *ctx, const char *name, size_t n)
{
    const mox_dns_zone *z = ctx;
    char q[2048];
    if (n + 2 > sizeof q)
        abort();
    memcpy(q, name, n);
    q[n] = '.';
    q[n + 1] = 0;
    if (n == 0) {
        q[0] = '.';
        q[1] = 0;
    }
    mox_dns_answer *a;
    int rc = mox_dns_zone_query(z, q, MOX_DNS_ANY, &a);
    if (rc == MOX_ERR_NOMEM)
        return 0;
    if (rc != MOX_OK)
        abort(); /* every stored name is a valid query name */
    mox_buf text = MOX_BUF_INIT;
    char *first = render(a, &text);
    if (a->status == MOX_DNS_NOERROR && a->nrr) {
        mox_dns_zone *z2;
        mox_errinfo ei;
        if (mox_dns_zone_new(&z2) != MOX_OK)
            abort();
        if (mox_dns_zone_load(z2, (const char *)text.data, text.len, NULL, "re", &ei) != MOX_OK)
            abort(); /* the formatter wrote something the loader refuses */
        mox_dns_answer *a2;
        if (mox_dns_zone_query(z2, q, MOX_DNS_ANY, &a2) != MOX_OK)
            abort();
        char *second = render(a2, NULL);
        /* the reloaded zone has no $AUTHENTIC marks: compare records only */
        const char *r1 = strchr(first, '\n'), *r2 = strchr(second, '\n');
        if (!r1 || !r2 || strcmp(r1, r2) != 0)
            abort();
        mox_free(second);
        mox_dns_answer_free(a2);
        mox_dns_zone_free(z2);
    }
    mox_free(first);
    mox_buf_free(&text);
    mox_dns_answer_free(a);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mox_dns_zone *z;
    mox_errinfo ei;
    if (mox_dns_zone_new(&z) != MOX_OK)
        return 0;
    int rc = mox_dns_zone_load(z, (const char *)data, size, "example.org.", "fuzz", &ei);
    if (rc != MOX_OK && rc != MOX_ERR_SYNTAX && rc != MOX_ERR_NOMEM)
        abort();
    if (rc == MOX_ERR_SYNTAX && strncmp(ei.msg, "fuzz:", 5) != 0)
        abort();
    moxi_dns_zone_foreach(z, check_name, z);
    static const char *const names[] = {"example.org", "www.example.org", "x.y.example.org", "*.example.org", "."};
    static const uint16_t types[] = {MOX_DNS_A, MOX_DNS_TXT, MOX_DNS_MX, MOX_DNS_CNAME};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
            mox_dns_answer *a;
            if (mox_dns_zone_query(z, names[i], types[k], &a) == MOX_OK) {
                mox_free(render(a, NULL));
                mox_dns_answer_free(a);
            }
        }
    mox_dns_zone_free(z);
    return 0;
}
