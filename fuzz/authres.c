/* Fuzzes the lenient Authentication-Results parser, then checks that the
 * parsed model composes to one well-formed header field (no control bytes
 * outside folds) that parses back to the same model. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mox/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mox_authres *ar = NULL;
    mox_errinfo ei;
    int rc = mox_authres_parse((const char *)data, size, &ar, &ei);
    if (rc) {
        if (rc != MOX_ERR_SYNTAX || ar || ei.detail != MOX_AUTHRES_ERR_NO_ID)
            abort();
        return 0;
    }
    mox_buf b = MOX_BUF_INIT;
    if (mox_authres_compose(ar, &b))
        abort();
    for (size_t i = 0; i < b.len; i++) {
        unsigned char c = b.data[i];
        if (c == '\r') {
            if (i + 1 >= b.len || b.data[i + 1] != '\n' ||
                (i + 2 < b.len && b.data[i + 2] != '\t'))
                abort();
            i++;
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            abort();
        }
    }
    mox_header_config hc = MOX_HEADER_CONFIG_INIT;
    hc.bare_lf = MOX_EOL_REJECT;
    hc.max_line = 0;
    hc.max_header_size = 0;
    hc.flags = MOX_HDR_REJECT_NUL | MOX_HDR_REQUIRE_UTF8;
    mox_headers *h = NULL;
    size_t body = 0;
    if (mox_headers_parse(b.data, b.len, &hc, &h, &body, NULL) || mox_headers_count(h) != 1 ||
        body != b.len)
        abort();
    const mox_header_field *f = mox_headers_get(h, 0);
    mox_authres *back = NULL, *back2 = NULL;
    static const char name[] = "Authentication-Results:";
    if (mox_authres_parse(f->value, f->value_len, &back, NULL) ||
        mox_authres_parse(f->raw + sizeof name - 1, f->raw_len - (sizeof name - 1), &back2, NULL))
        abort();
    if (!mox_authres_equal(ar, back) || !mox_authres_equal(ar, back2) ||
        mox_authres_defects(back) != 0)
        abort();
    mox_authres_free(back);
    mox_authres_free(back2);
    mox_headers_free(h);
    mox_buf_free(&b);
    mox_authres_free(ar);
    return 0;
}
