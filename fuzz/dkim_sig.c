/* Fuzz the DKIM-Signature tag parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mox/dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mox_dkim_sig *sig = NULL;
    mox_errinfo ei;
    int rc = mox_dkim_sig_parse((const char *)data, size, &sig, &ei);
    if (rc == MOX_OK) {
        /* Everything the parse promises must hold. */
        if (!sig->domain || !sig->selector || !sig->identity || !sig->nheaders || !sig->b_len ||
            !mox_dkim_algorithm_name(sig->algorithm))
            abort();
        size_t il = strlen(sig->identity_domain), dl = strlen(sig->domain);
        if (il < dl || strcmp(sig->identity_domain + il - dl, sig->domain))
            abort();
        if (sig->timestamp >= 0 && sig->expiration >= 0 && sig->expiration < sig->timestamp)
            abort();
    } else if (sig) {
        abort();
    }
    mox_dkim_sig_free(sig);
    return 0;
}
