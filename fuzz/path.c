/* Fuzzes mox_path_parse with every flag combination (first byte), and
 * checks that an accepted path formats to text that parses back to the
 * same path, and that the prefix parser agrees. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mox/address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int streq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void same(const mox_path *a, const mox_path *b)
{
    if (a->is_null != b->is_null || a->is_postmaster != b->is_postmaster ||
        !streq(a->mailbox.localpart, b->mailbox.localpart) ||
        !streq(a->mailbox.domain.ascii, b->mailbox.domain.ascii) ||
        !streq(a->mailbox.domain.unicode, b->mailbox.domain.unicode) ||
        !streq(a->mailbox.literal, b->mailbox.literal))
        abort();
}

static void reparse(const mox_path *p, unsigned flags, int use_unicode)
{
    mox_buf b = MOX_BUF_INIT;
    if (mox_path_format(p, use_unicode, &b) != MOX_OK)
        abort();
    mox_path q;
    mox_errinfo ei;
    int rc = mox_path_parse((const char *)b.data, b.len, flags & ~MOX_PATH_NO_BRACKETS, &q, &ei);
    if (rc == MOX_OK) {
        same(p, &q);
        mox_path_clear(&q);
    } else if (!(rc == MOX_ERR_SYNTAX && (ei.detail == MOX_ADDR_ERR_TOO_LONG ||
                                          ei.detail == MOX_ADDR_ERR_LOCALPART_TOO_LONG))) {
        /* Only the length limits may differ: the Unicode form of a domain
         * or the NFC form of a local part can be longer than the input. */
        abort();
    }
    mox_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0] & 7;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    mox_path p, q;
    mox_errinfo ei;
    int rc = mox_path_parse(in, n, flags, &p, &ei);
    size_t used = 0;
    int rc2 = mox_path_parse_prefix(in, n, flags, &q, &used, NULL);
    if (rc != MOX_OK) {
        if (rc != MOX_ERR_SYNTAX || ei.code != rc || ei.detail < MOX_ADDR_ERR_EMPTY ||
            ei.detail > MOX_ADDR_ERR_NULL_PATH || p.mailbox.localpart || p.is_null)
            abort();
        if (rc2 == MOX_OK) {
            /* The prefix parser may stop early, never accept a whole input
             * the full parser refused. */
            if (used >= n)
                abort();
            mox_path_clear(&q);
        }
        return 0;
    }
    if (rc2 != MOX_OK || used != n)
        abort();
    same(&p, &q);
    mox_path_clear(&q);
    if (!p.is_null && !p.is_postmaster) {
        if (!p.mailbox.localpart || (!p.mailbox.literal == !p.mailbox.domain.ascii))
            abort();
        /* Without SMTPUTF8 the input was ASCII; an A-label domain still
         * has a non-ASCII Unicode form. */
        if (!(flags & MOX_PATH_SMTPUTF8) &&
            (!mox_is_ascii(p.mailbox.localpart, strlen(p.mailbox.localpart)) ||
             (p.mailbox.domain.ascii &&
              !mox_is_ascii(p.mailbox.domain.ascii, strlen(p.mailbox.domain.ascii)))))
            abort();
    }
    if (p.is_null && !(flags & MOX_PATH_REVERSE))
        abort();
    if (p.is_postmaster && (flags & MOX_PATH_REVERSE))
        abort();
    reparse(&p, flags, (flags & MOX_PATH_SMTPUTF8) != 0);
    if (!p.mailbox.localpart || mox_is_ascii(p.mailbox.localpart, strlen(p.mailbox.localpart)))
        reparse(&p, flags & ~MOX_PATH_SMTPUTF8, 0);
    mox_path_clear(&p);
    return 0;
}
