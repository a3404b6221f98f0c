/* The "dmarc=" Authentication-Results entry (RFC 8601, RFC 9989 §8). */
#include "dmarc_priv.h"

int mox_dmarc_authres(const mox_dmarc *d, mox_authres *ar)
{
    const mox_dmarc_outcome *o = mox_dmarc_result(d);
    if (!ar)
        return MOX_ERR_INVAL;
    if (!o)
        return MOX_ERR_STATE;
    size_t idx;
    int rc = mox_authres_add(ar, "dmarc", mox_dmarc_result_name(o->result), &idx);
    if (rc != MOX_OK)
        return rc;
    if (o->result == MOX_DMARC_PERMERROR || o->result == MOX_DMARC_TEMPERROR ||
        (o->result == MOX_DMARC_NONE && o->reason && *o->reason))
        rc = mox_authres_set_reason(ar, idx, o->reason, strlen(o->reason));
    if (rc == MOX_OK && o->record) {
        mox_buf c = MOX_BUF_INIT;
        rc = mox_buf_appendf(&c, "p=%s", mox_dmarc_policy_name(o->record->p));
        if (rc == MOX_OK && o->record->sp >= 0)
            rc = mox_buf_appendf(&c, " sp=%s", mox_dmarc_policy_name(o->record->sp));
        if (rc == MOX_OK && o->record->np >= 0)
            rc = mox_buf_appendf(&c, " np=%s", mox_dmarc_policy_name(o->record->np));
        if (rc == MOX_OK)
            rc = mox_buf_appendf(&c, " dis=%s", mox_dmarc_policy_name(o->disposition));
        if (rc == MOX_OK && o->testing)
            rc = mox_buf_append_str(&c, " t=y");
        if (rc == MOX_OK)
            rc = mox_authres_set_comment(ar, idx, (const char *)c.data, c.len);
        mox_buf_free(&c);
    }
    if (rc == MOX_OK && o->domain)
        rc = mox_authres_add_prop(ar, idx, "header", "from", o->domain, strlen(o->domain));
    return rc;
}
