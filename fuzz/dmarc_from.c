/* Fuzz the Author Domain extraction: never crash, and an OK status always
 * comes with exactly one From field holding a lowercase A-label domain. */
#include <stdlib.h>
#include <string.h>

#include "mox/dmarc.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int status = -1;
    mox_domain d;
    if (mox_dmarc_author_domain(data, size, &status, &d) != MOX_OK)
        return 0;
    if (status < MOX_DMARC_FROM_OK || status > MOX_DMARC_FROM_HEADER)
        abort();
    if (status == MOX_DMARC_FROM_OK) {
        if (!d.ascii || !*d.ascii)
            abort();
        for (const char *p = d.ascii; *p; p++)
            if ((*p >= 'A' && *p <= 'Z') || (unsigned char)*p >= 0x80)
                abort();
        mox_domain_clear(&d);
    } else if (d.ascii) {
        abort();
    }
    return 0;
}
