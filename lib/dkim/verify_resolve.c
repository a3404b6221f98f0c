/* The blocking convenience: a whole message in memory, its key questions
 * answered through a resolver by the one engine loop (mox_engine_run). */
#include "dkim_priv.h"

int mox_dkim_verify_message(const mox_dkim_verify_config *cfg, const mox_resolver *r,
                            const void *msg, size_t len, mox_dkim_verifier **out,
                            mox_errinfo *ei)
{
    if (!out)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "dkim verify: NULL out");
    *out = NULL;
    if (!r || (!msg && len))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "dkim verify: NULL resolver or message");
    mox_dkim_verifier *v;
    int rc = mox_dkim_verifier_new(&v, cfg, ei);
    if (rc)
        return rc;
    mox_engine *g = mox_dkim_verifier_engine(v);
    int64_t n = mox_dkim_verifier_feed(v, msg, len);
    rc = n < 0 ? (int)n : mox_dkim_verifier_eof(v);
    if (rc) {
        const mox_errinfo *e = mox_engine_error(g);
        moxi_fail(ei, rc, 0, SIZE_MAX, "%s", e->msg);
    } else {
        mox_io io = MOX_IO_INIT;
        io.resolver = r;
        rc = mox_engine_run(g, &io, ei);
        if (rc == MOX_OK && !mox_dkim_verifier_result(v))
            rc = moxi_fail(ei, MOX_ERR_STATE, 0, SIZE_MAX, "dkim verify: not finished");
    }
    if (rc) {
        mox_dkim_verifier_free(v);
        return rc;
    }
    *out = v;
    return MOX_OK;
}
