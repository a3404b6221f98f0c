/* External report destination verification (RFC 9990 §3, RFC 7489 §7.1):
 * before sending reports about policy domain P to a mailbox in a domain D
 * outside P's Organizational Domain, D must publish a record at
 * "P._report._dmarc.D" that starts with v=DMARC1. */
#include "dmarc_priv.h"
#include "engine/engine_priv.h"

int mox_dmarc_report_external(const mox_dmarc_uri *uri, const char *org_domain)
{
    if (!uri || !uri->is_mailto || !uri->domain || !org_domain)
        return 0;
    return !moxi_dmarc_name_under(uri->domain, org_domain);
}

struct mox_dmarc_report_check {
    mox_engine eng;
    moxi_qset qs;
    char *name;
    char *record;
    mox_dmarc_report_check_outcome out;
    int done;
    int failed;
};

static const moxi_engine_ops report_ops;

int mox_dmarc_report_check_new(mox_dmarc_report_check **out, const char *policy_domain,
                               const char *dest_domain, mox_errinfo *ei)
{
    if (!out)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "dmarc report check: NULL output");
    *out = NULL;
    if (!policy_domain || !dest_domain || !*policy_domain || !*dest_domain)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX,
                         "dmarc report check: empty policy or destination domain");
    size_t pl = strlen(policy_domain), dl = strlen(dest_domain);
    if (policy_domain[pl - 1] == '.')
        pl--;
    if (dest_domain[dl - 1] == '.')
        dl--;
    if (pl + dl + 16 > 253 || pl == 0 || dl == 0)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX,
                         "dmarc report check: %.*s._report._dmarc.%.*s is not a DNS name",
                         (int)(pl > 100 ? 100 : pl), policy_domain, (int)(dl > 100 ? 100 : dl),
                         dest_domain);
    mox_dmarc_report_check *c = mox_calloc(1, sizeof *c);
    if (!c)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    moxi_engine_init(&c->eng, &report_ops, c);
    mox_buf b = MOX_BUF_INIT;
    int rc = mox_buf_appendf(&b, "%.*s._report._dmarc.%.*s", (int)pl, policy_domain, (int)dl,
                             dest_domain);
    if (rc == MOX_OK) {
        for (size_t i = 0; i < b.len; i++)
            b.data[i] = (unsigned char)moxi_lower(b.data[i]);
        c->name = mox_buf_steal(&b, NULL);
        if (!c->name)
            rc = MOX_ERR_NOMEM;
    }
    mox_buf_free(&b);
    /* RFC 9990 §3 (RFC 7489 §7.1): one TXT question */
    if (rc == MOX_OK)
        rc = moxi_qset_dns(&c->qs, c->name, strlen(c->name), MOX_DNS_TXT, 0, NULL);
    if (rc != MOX_OK) {
        mox_dmarc_report_check_free(c);
        return moxi_fail(ei, rc == MOX_ERR_INVAL ? MOX_ERR_INVAL : MOX_ERR_NOMEM, 0, SIZE_MAX,
                         "dmarc report check: %s", mox_strerror(rc));
    }
    c->out.name = c->name;
    c->out.consent = -1;
    *out = c;
    return MOX_OK;
}

void mox_dmarc_report_check_free(mox_dmarc_report_check *c)
{
    if (!c)
        return;
    moxi_qset_clear(&c->qs);
    mox_free(c->name);
    mox_free(c->record);
    mox_free(c);
}

unsigned mox_dmarc_report_check_want(const mox_dmarc_report_check *c)
{
    if (!c || c->failed)
        return 0;
    return c->done ? MOX_WANT_DONE : moxi_qset_want(&c->qs);
}

int mox_dmarc_report_check_query(mox_dmarc_report_check *c, mox_query *q)
{
    if (!c || !q)
        return c ? moxi_engine_fail(&c->eng, MOX_ERR_INVAL, "dmarc report check: NULL query")
                 : MOX_ERR_INVAL;
    if (c->done || c->failed)
        return MOX_ERR_AGAIN;
    return moxi_qset_next(&c->qs, q);
}

int mox_dmarc_report_check_answer(mox_dmarc_report_check *c, const mox_answer *a)
{
    if (!c)
        return MOX_ERR_INVAL;
    if (c->failed)
        return moxi_engine_fail(&c->eng, MOX_ERR_STATE, "dmarc report check: failed earlier");
    int rc = moxi_qset_take(&c->qs, &c->eng, a, NULL);
    if (rc != MOX_OK)
        return rc;
    const mox_dns_answer *ans = mox_answer_dns(a);
    c->out.status = ans->status;
    c->out.authentic = ans->authentic;
    if (ans->status == MOX_DNS_NXDOMAIN) {
        c->out.consent = 0;
    } else if (ans->status != MOX_DNS_NOERROR) {
        c->out.consent = -1; /* temporary: try again later */
    } else {
        c->out.consent = 0;
        mox_buf b = MOX_BUF_INIT;
        for (size_t i = 0; i < ans->nrr && c->out.consent == 0; i++) {
            if (ans->rr[i].type != MOX_DNS_TXT)
                continue;
            mox_buf_reset(&b);
            if (mox_dns_txt_join(&ans->rr[i], &b) != MOX_OK) {
                mox_buf_free(&b);
                c->failed = 1;
                return moxi_engine_fail(&c->eng, MOX_ERR_NOMEM, "out of memory");
            }
            if (mox_dmarc_is_record((const char *)b.data, b.len)) {
                c->record = moxi_strndup(b.data ? (const char *)b.data : "", b.len);
                if (!c->record) {
                    mox_buf_free(&b);
                    c->failed = 1;
                    return moxi_engine_fail(&c->eng, MOX_ERR_NOMEM, "out of memory");
                }
                c->out.consent = 1;
                c->out.record = c->record;
            }
        }
        mox_buf_free(&b);
    }
    c->done = 1;
    return MOX_OK;
}

const mox_dmarc_report_check_outcome *
mox_dmarc_report_check_result(const mox_dmarc_report_check *c)
{
    return c && c->done && !c->failed ? &c->out : NULL;
}

static unsigned ops_want(const void *self) { return mox_dmarc_report_check_want(self); }
static int ops_query(void *self, mox_query *q) { return mox_dmarc_report_check_query(self, q); }
static int ops_answer(void *self, const mox_answer *a)
{
    return mox_dmarc_report_check_answer(self, a);
}

static const moxi_engine_ops report_ops = {
    .name = "dmarc_report_check",
    .want = ops_want,
    .query = ops_query,
    .answer = ops_answer,
};

mox_engine *mox_dmarc_report_check_engine(mox_dmarc_report_check *c)
{
    return c ? &c->eng : NULL;
}
