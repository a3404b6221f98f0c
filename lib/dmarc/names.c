/* Label arithmetic on ASCII domain names, and the RFC 7489 public suffix
 * list method (libpsl, ICANN section). */
#include <libpsl.h>

#include "dmarc_priv.h"

size_t moxi_dmarc_labels(const char *name)
{
    if (!name || !*name)
        return 0;
    size_t n = 1;
    for (const char *p = name; *p; p++)
        if (*p == '.')
            n++;
    return n;
}

const char *moxi_dmarc_suffix(const char *name, size_t n)
{
    size_t total = moxi_dmarc_labels(name);
    if (n >= total)
        return name;
    size_t skip = total - n;
    const char *p = name;
    while (skip > 0) {
        if (*p == '.')
            skip--;
        p++;
    }
    return p;
}

int moxi_dmarc_name_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return la == lb && moxi_memcaseeq(a, b, la);
}

int moxi_dmarc_name_under(const char *sub, const char *parent)
{
    size_t ls = strlen(sub), lp = strlen(parent);
    if (lp == 0)
        return 1;
    if (ls < lp || !moxi_memcaseeq(sub + ls - lp, parent, lp))
        return 0;
    return ls == lp || sub[ls - lp - 1] == '.';
}

struct mox_dmarc_psl {
    const psl_ctx_t *ctx;
    psl_ctx_t *owned;
};

int mox_dmarc_psl_new(mox_dmarc_psl **out, const char *path)
{
    if (!out)
        return MOX_ERR_INVAL;
    *out = NULL;
    mox_dmarc_psl *p = mox_calloc(1, sizeof *p);
    if (!p)
        return MOX_ERR_NOMEM;
    if (path) {
        p->owned = psl_load_file(path);
        p->ctx = p->owned;
    } else {
        p->ctx = psl_builtin();
        if (!p->ctx) {
            p->owned = psl_latest(NULL);
            p->ctx = p->owned;
        }
    }
    if (!p->ctx) {
        mox_free(p);
        return MOX_ERR_IO;
    }
    *out = p;
    return MOX_OK;
}

void mox_dmarc_psl_free(mox_dmarc_psl *p)
{
    if (!p)
        return;
    if (p->owned)
        psl_free(p->owned);
    mox_free(p);
}

int mox_dmarc_psl_org_domain(const mox_dmarc_psl *p, const char *domain, mox_buf *out)
{
    if (!p || !domain || !out || !*domain)
        return MOX_ERR_INVAL;
    /* libpsl matches literally: lowercase first */
    char *lc = moxi_strdup(domain);
    if (!lc)
        return MOX_ERR_NOMEM;
    size_t n = strlen(lc);
    if (n && lc[n - 1] == '.')
        lc[--n] = 0;
    for (size_t i = 0; i < n; i++)
        lc[i] = (char)moxi_lower((unsigned char)lc[i]);
    size_t labels = moxi_dmarc_labels(lc);
    /* longest public suffix: try suffixes from the longest down */
    size_t x = 0;
    for (size_t k = labels; k >= 1; k--) {
        if (psl_is_public_suffix2(p->ctx, moxi_dmarc_suffix(lc, k), PSL_TYPE_ICANN)) {
            x = k;
            break;
        }
    }
    const char *org = x >= labels ? lc : moxi_dmarc_suffix(lc, x + 1);
    int rc = mox_buf_append_str(out, org);
    mox_free(lc);
    return rc;
}
