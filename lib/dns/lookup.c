/* The blocking helper over the asynchronous resolver interface. */
#include "dns_priv.h"

struct pending {
    mox_dns_answer *ans;
    int done;
};

static void on_done(void *arg, mox_dns_answer *ans)
{
    struct pending *p = arg;
    if (p->done) {
        /* a resolver calling back twice breaks its contract; keep the
         * first answer and do not leak the second */
        mox_dns_answer_free(ans);
        return;
    }
    p->ans = ans;
    p->done = 1;
}

int mox_dns_lookup(const mox_resolver *r, const char *name, uint16_t type,
                   mox_dns_answer **out)
{
    if (!out)
        return MOX_ERR_INVAL;
    *out = NULL;
    if (!r || !r->query || !name || r->size < offsetof(mox_resolver, wait))
        return MOX_ERR_INVAL;
    struct pending p = {NULL, 0};
    int rc = r->query(r->ctx, name, type, on_done, &p);
    if (rc < 0)
        return rc;
    int (*wait)(void *) = r->size >= sizeof(mox_resolver) ? r->wait : NULL;
    while (!p.done) {
        if (!wait)
            return MOX_ERR_STATE; /* asynchronous resolver without wait() */
        rc = wait(r->ctx);
        if (rc < 0)
            return rc;
    }
    *out = p.ans;
    return MOX_OK;
}
