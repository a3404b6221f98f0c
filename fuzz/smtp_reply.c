/* Fuzzes the SMTP reply parser and the EHLO extension parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mox/smtp_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mox_smtp_reply_limits lim = {0, 0};
    if (size > 0 && (data[0] & 1)) {
        lim.max_line = 1 + (data[0] >> 1);
        lim.max_lines = 1 + (data[0] >> 5);
    }
    size_t off = 0;
    while (off < size) {
        mox_smtp_reply r;
        memset(&r, 0, sizeof r);
        size_t used = 0;
        mox_errinfo ei;
        int rc = mox_smtp_reply_parse(data + off, size - off, &lim, &r, &used, &ei);
        if (rc != MOX_OK)
            break;
        if (used == 0 || used > size - off || r.code < 200 || r.code > 559 || r.nlines == 0 ||
            strlen(r.text) > used)
            abort();
        for (size_t i = 0; i < r.nlines; i++)
            if (strlen(r.lines[i]) > used)
                abort();
        if (r.code == 250) {
            mox_smtp_ehlo e;
            memset(&e, 0, sizeof e);
            if (mox_smtp_ehlo_parse(&r, &e) == MOX_OK) {
                for (size_t i = 0; i < e.nauth; i++)
                    if (!mox_smtp_ehlo_has_auth(&e, e.auth[i]))
                        abort();
                if (e.rcptmax > 999999999 || e.mailmax > 999999999 || e.rcptdomainmax > 999999999)
                    abort();
            }
            mox_smtp_ehlo_clear(&e);
        }
        mox_smtp_reply_clear(&r);
        off += used;
    }
    return 0;
}
