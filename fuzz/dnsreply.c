/* Fuzzes the DNS reply parser with hostile messages. The first two bytes
 * pick the query type; the rest is the reply, whose own ID is used so the
 * fuzzer gets past the ID check (the question must still be x.test).
 * Whatever parses must format. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mox/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint16_t type = (uint16_t)(data[0] << 8 | data[1]);
    const unsigned char *msg = data + 2;
    size_t len = size - 2;
    uint16_t id = (uint16_t)(msg[0] << 8 | msg[1]);
    mox_dns_answer *a = NULL;
    int tc = -1;
    int rc = mox_dns_reply_parse(msg, len, "x.test", type, id, &tc, &a);
    if (rc == MOX_OK) {
        if (!a || (tc != 0 && tc != 1))
            abort();
        mox_buf b = MOX_BUF_INIT;
        for (size_t i = 0; i < a->nrr; i++) {
            if (!a->rr[i].name || a->rr[i].rclass != 1)
                abort();
            if (a->rr[i].type != type && a->rr[i].type != MOX_DNS_CNAME && type != MOX_DNS_ANY)
                abort(); /* only the chain and the asked type survive */
            if (mox_dns_rr_format(&a->rr[i], &b) != MOX_OK)
                abort();
            mox_buf_reset(&b);
        }
        mox_buf_free(&b);
        (void)mox_dns_answer_is_nodata(a);
        mox_dns_answer_free(a);
    } else if (rc != MOX_ERR_SYNTAX && rc != MOX_ERR_NOMEM) {
        abort();
    } else if (a) {
        abort();
    }
    return 0;
}
