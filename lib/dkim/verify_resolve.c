/* Blocking conveniences over a mox_resolver. Kept apart from the engine
 * so that embedders driving the step API do not link the DNS module. */
#include "dkim_priv.h"

int mox_dkim_verifier_resolve(mox_dkim_verifier *v, const mox_resolver *r)
{
    if (!v || !r)
        return MOX_ERR_INVAL;
    const char *name;
    int rc;
    while ((rc = mox_dkim_verifier_next_query(v, &name)) == MOX_OK) {
        mox_dns_answer *ans = NULL;
        rc = mox_dns_lookup(r, name, MOX_DNS_TXT, &ans);
        if (rc == MOX_ERR_NOMEM)
            return rc;
        if (rc) {
            /* The resolver could not even start: as a failed lookup. */
            rc = mox_dkim_verifier_answer_txt(v, name, MOX_DNS_NETERR, NULL, NULL, 0);
        } else {
            rc = mox_dkim_verifier_answer(v, name, ans);
            mox_dns_answer_free(ans);
        }
        if (rc)
            return rc;
    }
    return rc == MOX_ERR_NOTFOUND ? MOX_OK : rc;
}

int mox_dkim_verify_message(const mox_dkim_verify_config *cfg, const mox_resolver *r,
                            const void *msg, size_t len, mox_dkim_verifier **out)
{
    if (!out || !r || (!msg && len))
        return MOX_ERR_INVAL;
    *out = NULL;
    mox_dkim_verifier *v;
    int rc = mox_dkim_verifier_new(&v, cfg);
    if (rc)
        return rc;
    rc = mox_dkim_verifier_feed(v, msg, len);
    if (rc == MOX_OK)
        rc = mox_dkim_verifier_end(v);
    if (rc == MOX_OK)
        rc = mox_dkim_verifier_resolve(v, r);
    if (rc) {
        mox_dkim_verifier_free(v);
        return rc;
    }
    *out = v;
    return MOX_OK;
}
