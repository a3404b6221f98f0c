/* External report destination verification (RFC 9990 §3, RFC 7489 §7.1):
 * before sending reports about policy domain P to a mailbox in a domain D
 * outside P's Organizational Domain, D must publish a record at
 * "P._report._dmarc.D" that starts with v=DMARC1. */
#include "dmarc_priv.h"

int mox_dmarc_report_external(const mox_dmarc_uri *uri, const char *org_domain)
{
    if (!uri || !uri->is_mailto || !uri->domain || !org_domain)
        return 0;
    return !moxi_dmarc_name_under(uri->domain, org_domain);
}

struct mox_dmarc_report_check {
    char *name;
    int asked;
    int done;
    int result;
};

int mox_dmarc_report_check_new(mox_dmarc_report_check **out, const char *policy_domain,
                               const char *dest_domain)
{
    if (!out || !policy_domain || !dest_domain || !*policy_domain || !*dest_domain)
        return MOX_ERR_INVAL;
    *out = NULL;
    mox_dmarc_report_check *c = mox_calloc(1, sizeof *c);
    if (!c)
        return MOX_ERR_NOMEM;
    mox_buf b = MOX_BUF_INIT;
    size_t pl = strlen(policy_domain), dl = strlen(dest_domain);
    if (policy_domain[pl - 1] == '.')
        pl--;
    if (dest_domain[dl - 1] == '.')
        dl--;
    int rc = mox_buf_appendf(&b, "%.*s._report._dmarc.%.*s", (int)pl, policy_domain, (int)dl,
                             dest_domain);
    if (rc != MOX_OK) {
        mox_buf_free(&b);
        mox_free(c);
        return rc;
    }
    for (size_t i = 0; i < b.len; i++)
        b.data[i] = (unsigned char)moxi_lower(b.data[i]);
    c->name = mox_buf_steal(&b, NULL);
    if (!c->name) {
        mox_free(c);
        return MOX_ERR_NOMEM;
    }
    *out = c;
    return MOX_OK;
}

void mox_dmarc_report_check_free(mox_dmarc_report_check *c)
{
    if (!c)
        return;
    mox_free(c->name);
    mox_free(c);
}

int mox_dmarc_report_check_step(mox_dmarc_report_check *c, const char **name, uint16_t *type)
{
    if (!c || !name || !type)
        return MOX_ERR_INVAL;
    if (c->done)
        return MOX_DMARC_DONE;
    c->asked = 1;
    *name = c->name;
    *type = MOX_DNS_TXT;
    return MOX_DMARC_NEED_DNS;
}

int mox_dmarc_report_check_feed(mox_dmarc_report_check *c, const mox_dns_answer *ans)
{
    if (!c || !ans)
        return MOX_ERR_INVAL;
    if (!c->asked || c->done)
        return MOX_ERR_STATE;
    if (ans->qtype != MOX_DNS_TXT)
        return MOX_ERR_INVAL;
    c->done = 1;
    if (ans->status == MOX_DNS_NXDOMAIN) {
        c->result = 0;
        return MOX_OK;
    }
    if (ans->status != MOX_DNS_NOERROR) {
        c->result = -1;
        return MOX_OK;
    }
    c->result = 0;
    mox_buf b = MOX_BUF_INIT;
    for (size_t i = 0; i < ans->nrr; i++) {
        if (ans->rr[i].type != MOX_DNS_TXT)
            continue;
        mox_buf_reset(&b);
        if (mox_dns_txt_join(&ans->rr[i], &b) != MOX_OK) {
            mox_buf_free(&b);
            c->done = 0;
            return MOX_ERR_NOMEM;
        }
        if (mox_dmarc_is_record((const char *)b.data, b.len))
            c->result = 1;
    }
    mox_buf_free(&b);
    return MOX_OK;
}

/* mox_dns_lookup_feed callback */
static int feed_cb(void *e, const mox_dns_answer *a)
{
    return mox_dmarc_report_check_feed(e, a);
}

int mox_dmarc_report_check_run(mox_dmarc_report_check *c, const mox_resolver *r)
{
    if (!c || !r)
        return MOX_ERR_INVAL;
    const char *name;
    uint16_t type;
    int rc;
    while ((rc = mox_dmarc_report_check_step(c, &name, &type)) == MOX_DMARC_NEED_DNS) {
        rc = mox_dns_lookup_feed(r, name, type, feed_cb, c);
        if (rc < 0)
            return rc;
    }
    return rc < 0 ? rc : MOX_OK;
}

int mox_dmarc_report_check_result(const mox_dmarc_report_check *c)
{
    return c && c->done ? c->result : -1;
}
