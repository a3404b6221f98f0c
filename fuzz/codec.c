/* Fuzzes the strict base64 and hex decoders. Strictness means a canonical
 * encoding: whatever decodes without flags must re-encode to the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mox/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0] & 3;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    mox_buf out = MOX_BUF_INIT, re = MOX_BUF_INIT;
    mox_errinfo ei;
    int rc = mox_base64_decode(in, n, flags, &out, &ei);
    if (rc == MOX_OK && flags == 0) {
        if (mox_base64_encode(out.data, out.len, &re) != MOX_OK)
            abort();
        if (re.len != n || (n && memcmp(re.data, in, n) != 0))
            abort();
    } else if (rc != MOX_OK && (rc != MOX_ERR_SYNTAX || ei.code != rc)) {
        abort();
    }
    mox_buf_reset(&out);
    mox_buf_reset(&re);
    rc = mox_hex_decode(in, n, &out, NULL);
    if (rc == MOX_OK) {
        if (out.len != n / 2 || mox_hex_encode(out.data, out.len, &re) != MOX_OK)
            abort();
        for (size_t i = 0; i < n; i++)
            if ((in[i] | 0x20) != (char)re.data[i] && in[i] != (char)re.data[i])
                abort();
    }
    mox_buf_free(&out);
    mox_buf_free(&re);
    return 0;
}
