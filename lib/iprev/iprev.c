/* iprev (RFC 8601 §3). */
#include <arpa/inet.h>
#include <stdio.h>

#include "core/core_priv.h"
#include "mox/iprev.h"

struct mox_iprev {
    mox_iprev_config cfg;
    unsigned char addr[16];
    int v6;
    char ip[INET6_ADDRSTRLEN];
    char *q;              /* pending question name */
    uint16_t qtype;
    int pending;
    int ptr_done;
    char **names;
    size_t nnames;
    size_t next;          /* next name to confirm */
    int temp;             /* a forward lookup failed temporarily */
    int nxfwd;            /* forward lookups with no data */
    int authentic;
    int used;
    int done;
    int failed;
    mox_iprev_outcome out;
    char *reason;
};

const char *mox_iprev_result_name(int r)
{
    switch (r) {
    case MOX_IPREV_PASS: return "pass";
    case MOX_IPREV_FAIL: return "fail";
    case MOX_IPREV_TEMPERROR: return "temperror";
    case MOX_IPREV_PERMERROR: return "permerror";
    default: return "?";
    }
}

int mox_iprev_new(mox_iprev **out, const mox_iprev_config *cfg, const char *ip, mox_errinfo *ei)
{
    if (!out || !ip)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "iprev: invalid argument");
    *out = NULL;
    unsigned char a[16];
    int v6 = 0;
    if (inet_pton(AF_INET, ip, a) != 1) {
        if (inet_pton(AF_INET6, ip, a) != 1)
            return moxi_fail(ei, MOX_ERR_INVAL, 0, 0, "iprev: not an IP address: %.64s", ip);
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (!memcmp(a, mapped, 12))
            memmove(a, a + 12, 4);
        else
            v6 = 1;
    }
    mox_iprev *c = mox_calloc(1, sizeof *c);
    if (!c)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    mox_iprev_config def = MOX_IPREV_CONFIG_INIT;
    c->cfg = def;
    moxi_copy_sized(&c->cfg, cfg, sizeof def);
    if (c->cfg.max_names == 0)
        c->cfg.max_names = 10;
    memcpy(c->addr, a, 16);
    c->v6 = v6;
    inet_ntop(v6 ? AF_INET6 : AF_INET, a, c->ip, sizeof c->ip);
    c->authentic = 1;
    *out = c;
    return MOX_OK;
}

void mox_iprev_free(mox_iprev *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nnames; i++)
        mox_free(c->names[i]);
    mox_free(c->names);
    mox_free(c->q);
    mox_free(c->reason);
    mox_free(c);
}

static int ask(mox_iprev *c, const char *name, uint16_t type)
{
    char *q = moxi_strdup(name);
    if (!q)
        return MOX_ERR_NOMEM;
    mox_free(c->q);
    c->q = q;
    c->qtype = type;
    c->pending = 1;
    return MOX_OK;
}

static int finish(mox_iprev *c, int result, const char *name, const char *fmt, const char *arg)
{
    char buf[600];
    snprintf(buf, sizeof buf, fmt, arg ? arg : "");
    c->reason = moxi_strdup(buf);
    if (!c->reason)
        return MOX_ERR_NOMEM;
    c->out.result = result;
    c->out.ip = c->ip;
    c->out.name = name;
    c->out.nnames = c->nnames;
    c->out.names = (const char *const *)c->names;
    c->out.authentic = c->used && c->authentic;
    c->out.reason = c->reason;
    c->done = 1;
    return MOX_OK;
}

int mox_iprev_step(mox_iprev *c, const char **name, uint16_t *type)
{
    if (!c || !name || !type)
        return MOX_ERR_INVAL;
    if (c->failed)
        return MOX_ERR_NOMEM;
    if (c->done)
        return MOX_IPREV_DONE;
    if (!c->pending) {
        int rc;
        if (!c->ptr_done) {
            char rev[80];
            size_t n = 0;
            if (c->v6) {
                for (int i = 15; i >= 0; i--)
                    n += (size_t)snprintf(rev + n, sizeof rev - n, "%x.%x.", c->addr[i] & 0xf,
                                          c->addr[i] >> 4);
                snprintf(rev + n, sizeof rev - n, "ip6.arpa");
            } else {
                snprintf(rev, sizeof rev, "%u.%u.%u.%u.in-addr.arpa", c->addr[3], c->addr[2],
                         c->addr[1], c->addr[0]);
            }
            rc = ask(c, rev, MOX_DNS_PTR);
        } else if (c->next < c->nnames) {
            rc = ask(c, c->names[c->next], c->v6 ? MOX_DNS_AAAA : MOX_DNS_A);
        } else if (c->temp) {
            rc = finish(c, MOX_IPREV_TEMPERROR, NULL, "DNS failure confirming the PTR names%s", NULL);
        } else {
            rc = finish(c, MOX_IPREV_FAIL, NULL,
                        "no PTR name of the client resolves back to its address%s", NULL);
        }
        if (rc != MOX_OK) {
            c->failed = 1;
            return rc;
        }
        if (c->done)
            return MOX_IPREV_DONE;
    }
    *name = c->q;
    *type = c->qtype;
    return MOX_IPREV_NEED_DNS;
}

static int temp_status(int st)
{
    return st != MOX_DNS_NOERROR && st != MOX_DNS_NXDOMAIN;
}

int mox_iprev_feed(mox_iprev *c, const mox_dns_answer *ans)
{
    if (!c || !ans)
        return MOX_ERR_INVAL;
    if (c->failed)
        return MOX_ERR_NOMEM;
    if (!c->pending)
        return MOX_ERR_STATE;
    if (ans->qtype != c->qtype)
        return MOX_ERR_INVAL;
    c->pending = 0;
    c->used = 1;
    if (!ans->authentic)
        c->authentic = 0;
    int rc = MOX_OK;
    if (!c->ptr_done) {
        c->ptr_done = 1;
        if (temp_status(ans->status))
            rc = finish(c, MOX_IPREV_TEMPERROR, NULL, "DNS failure looking up the PTR (%s)",
                        mox_dns_status_name(ans->status));
        size_t cnt = mox_dns_answer_count(ans, MOX_DNS_PTR);
        if (rc == MOX_OK && !c->done && cnt == 0)
            rc = finish(c, MOX_IPREV_PERMERROR, NULL, "no PTR record for the client address%s",
                        NULL);
        if (rc == MOX_OK && !c->done) {
            if (cnt > c->cfg.max_names)
                cnt = c->cfg.max_names;
            c->names = mox_calloc(cnt, sizeof *c->names);
            if (!c->names)
                rc = MOX_ERR_NOMEM;
            for (size_t i = 0; rc == MOX_OK && i < ans->nrr && c->nnames < cnt; i++) {
                if (ans->rr[i].type != MOX_DNS_PTR || !ans->rr[i].u.target)
                    continue;
                char *n = moxi_strdup(ans->rr[i].u.target);
                if (!n) {
                    rc = MOX_ERR_NOMEM;
                    break;
                }
                size_t l = strlen(n);
                if (l && n[l - 1] == '.')
                    n[l - 1] = 0;
                c->names[c->nnames++] = n;
            }
        }
    } else {
        const char *name = c->names[c->next++];
        if (temp_status(ans->status)) {
            c->temp = 1;
        } else {
            uint16_t t = c->v6 ? MOX_DNS_AAAA : MOX_DNS_A;
            for (size_t i = 0; i < ans->nrr; i++) {
                if (ans->rr[i].type != t)
                    continue;
                if (!memcmp(c->v6 ? ans->rr[i].u.aaaa : ans->rr[i].u.a, c->addr, c->v6 ? 16 : 4)) {
                    rc = finish(c, MOX_IPREV_PASS, name, "%s confirmed by forward DNS", name);
                    break;
                }
            }
        }
    }
    if (rc != MOX_OK)
        c->failed = 1;
    return rc;
}

/* mox_dns_lookup_feed callback */
static int feed_cb(void *e, const mox_dns_answer *a)
{
    return mox_iprev_feed(e, a);
}

int mox_iprev_run(mox_iprev *c, const mox_resolver *r)
{
    if (!c || !r)
        return MOX_ERR_INVAL;
    for (;;) {
        const char *name;
        uint16_t type;
        int rc = mox_iprev_step(c, &name, &type);
        if (rc < 0)
            return rc;
        if (rc == MOX_IPREV_DONE)
            return MOX_OK;
        rc = mox_dns_lookup_feed(r, name, type, feed_cb, c);
        if (rc < 0)
            return rc;
    }
}

const mox_iprev_outcome *mox_iprev_get(const mox_iprev *c)
{
    return c && c->done ? &c->out : NULL;
}

int mox_iprev_authres(const mox_iprev *c, mox_authres *ar)
{
    const mox_iprev_outcome *o = mox_iprev_get(c);
    if (!ar)
        return MOX_ERR_INVAL;
    if (!o)
        return MOX_ERR_STATE;
    size_t idx;
    int rc = mox_authres_add(ar, "iprev", mox_iprev_result_name(o->result), &idx);
    if (rc == MOX_OK)
        rc = mox_authres_add_prop(ar, idx, "policy", "iprev", o->ip, strlen(o->ip));
    if (rc == MOX_OK && o->name)
        rc = mox_authres_set_comment(ar, idx, o->name, strlen(o->name));
    else if (rc == MOX_OK && o->result != MOX_IPREV_PASS)
        rc = mox_authres_set_reason(ar, idx, o->reason, strlen(o->reason));
    return rc;
}
