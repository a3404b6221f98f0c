/* Fuzz the DMARC record parser (lenient and strict) and the formatter: a
 * formatted record must parse again to the same policy tags. */
#include <stdlib.h>
#include <string.h>

#include "mox/dmarc.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    mox_dmarc_record *r = NULL, *r2 = NULL;
    mox_errinfo ei;
    (void)mox_dmarc_is_record((const char *)data, size);
    if (mox_dmarc_record_parse((const char *)data, size, MOX_DMARC_PARSE_STRICT, &r, &ei) == MOX_OK)
        mox_dmarc_record_free(r);
    r = NULL;
    if (mox_dmarc_record_parse((const char *)data, size, 0, &r, &ei) != MOX_OK)
        return 0;
    mox_buf b = MOX_BUF_INIT;
    if (mox_dmarc_record_format(r, &b) == MOX_OK) {
        if (mox_dmarc_record_parse((const char *)b.data, b.len, 0, &r2, &ei) != MOX_OK)
            abort();
        if (r2->p != r->p || r2->sp != r->sp || r2->np != r->np || r2->psd != r->psd ||
            r2->testing != r->testing || r2->adkim_strict != r->adkim_strict ||
            r2->aspf_strict != r->aspf_strict || r2->nrua != r->nrua || r2->nruf != r->nruf ||
            r2->fo != r->fo)
            abort();
        for (size_t i = 0; i < r->nrua; i++)
            if (strcmp(r->rua[i].uri, r2->rua[i].uri) || r->rua[i].max_size != r2->rua[i].max_size)
                abort();
        mox_dmarc_record_free(r2);
    }
    mox_buf_free(&b);
    mox_dmarc_record_free(r);
    return 0;
}
