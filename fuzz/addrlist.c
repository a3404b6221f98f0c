/* Fuzzes mox_address_list_parse (first byte: flags) and checks that the
 * accepted addresses, formatted and parsed again, come out the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mox/address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int streq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0] & 1;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    mox_address_list l;
    mox_errinfo ei;
    int rc = mox_address_list_parse(in, n, flags, &l, &ei);
    if (rc != MOX_OK) {
        if (rc != MOX_ERR_SYNTAX || ei.code != rc || ei.detail < MOX_ADDR_ERR_EMPTY ||
            ei.detail > MOX_ADDR_ERR_NULL_PATH || (ei.offset > n && ei.offset != SIZE_MAX) ||
            l.count || l.addr)
            abort();
        return 0;
    }
    if (l.count == 0 && l.ngroups == 0)
        abort();
    mox_buf b = MOX_BUF_INIT;
    for (size_t i = 0; i < l.count; i++) {
        const mox_address *a = &l.addr[i];
        if (!a->mailbox.localpart || (!a->mailbox.literal == !a->mailbox.domain.ascii))
            abort();
        if (a->display_name && a->display_name[0] == 0)
            abort();
        if (i && mox_buf_append_str(&b, ", ") != MOX_OK)
            abort();
        if (mox_address_format(a, 1, &b) != MOX_OK)
            abort();
    }
    if (l.count) {
        mox_address_list m;
        if (mox_address_list_parse((const char *)b.data, b.len, MOX_ADDRLIST_UTF8, &m, &ei) != MOX_OK)
            abort();
        if (m.count != l.count)
            abort();
        for (size_t i = 0; i < l.count; i++) {
            const mox_address *x = &l.addr[i], *y = &m.addr[i];
            if (!streq(x->display_name, y->display_name) ||
                !streq(x->mailbox.localpart, y->mailbox.localpart) ||
                !streq(x->mailbox.domain.ascii, y->mailbox.domain.ascii) ||
                !streq(x->mailbox.literal, y->mailbox.literal))
                abort();
        }
        mox_address_list_clear(&m);
    }
    mox_buf_free(&b);
    mox_address_list_clear(&l);
    return 0;
}
