/* iprev (RFC 8601 §3) behind the engine contract: the PTR question, then
 * the forward question of every name found, all at once. The answers of
 * the forward group are used in PTR order (the first confirming name
 * decides, once every name before it is answered), so the outcome is the
 * one a sequential check would give, whatever order they come in. */
#include <arpa/inet.h>
#include <stdio.h>

#include "core/core_priv.h"
#include "engine/engine_priv.h"
#include "iprev/iprev_priv.h"

/* The forward answer of one name. */
enum { FW_PENDING, FW_NOMATCH, FW_MATCH, FW_TEMP };

struct mox_iprev {
    mox_engine eng;
    mox_iprev_config cfg;
    unsigned char addr[16];
    int v6;
    char ip[INET6_ADDRSTRLEN];
    moxi_qset qs;
    uint32_t ptr_id;      /* the PTR question */
    uint32_t fw_id;       /* first forward question (consecutive ids) */
    int ptr_done;
    char **names;
    unsigned char *fw;    /* FW_* per name */
    unsigned char *fw_auth;
    size_t nnames;
    size_t next;          /* first name not yet used */
    int temp;             /* a forward lookup failed temporarily */
    int authentic;
    int used;
    int done;
    int failed;
    mox_iprev_outcome out;
    char *reason;
};

static const moxi_engine_ops iprev_ops;

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

int moxi_iprev_create(mox_iprev **out, const mox_iprev_config *cfg, const char *ip,
                      uint32_t id_base, mox_errinfo *ei)
{
    if (!out || !ip)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "iprev: NULL output or address");
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
    moxi_engine_init(&c->eng, &iprev_ops, c);
    c->qs.last_id = id_base;
    mox_iprev_config def = MOX_IPREV_CONFIG_INIT;
    c->cfg = def;
    moxi_copy_sized(&c->cfg, cfg, sizeof def);
    if (c->cfg.max_names == 0)
        c->cfg.max_names = 10;
    memcpy(c->addr, a, 16);
    c->v6 = v6;
    inet_ntop(v6 ? AF_INET6 : AF_INET, a, c->ip, sizeof c->ip);
    c->authentic = 1;
    /* RFC 8601 §3: the reverse name, d.c.b.a.in-addr.arpa or nibbles
     * under ip6.arpa */
    char rev[80];
    size_t n = 0;
    if (v6) {
        for (int i = 15; i >= 0; i--)
            n += (size_t)snprintf(rev + n, sizeof rev - n, "%x.%x.", a[i] & 0xf, a[i] >> 4);
        snprintf(rev + n, sizeof rev - n, "ip6.arpa");
    } else {
        snprintf(rev, sizeof rev, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
    }
    if (moxi_qset_dns(&c->qs, rev, strlen(rev), MOX_DNS_PTR, 0, &c->ptr_id) != MOX_OK) {
        mox_iprev_free(c);
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    }
    *out = c;
    return MOX_OK;
}

int mox_iprev_new(mox_iprev **out, const mox_iprev_config *cfg, const char *ip, mox_errinfo *ei)
{
    return moxi_iprev_create(out, cfg, ip, 0, ei);
}

void mox_iprev_free(mox_iprev *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nnames; i++)
        mox_free(c->names[i]);
    mox_free(c->names);
    mox_free(c->fw);
    mox_free(c->fw_auth);
    moxi_qset_clear(&c->qs);
    mox_free(c->reason);
    mox_free(c);
}

static void use(mox_iprev *c, int authentic)
{
    c->used = 1;
    if (!authentic)
        c->authentic = 0;
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
    /* forward questions not handed out yet are not needed any more */
    for (size_t i = 0; i < c->nnames; i++) {
        uint32_t id = c->fw_id + (uint32_t)i;
        if (c->qs.v[id - c->qs.base].state == MOXI_Q_UNASKED)
            moxi_qset_cancel(&c->qs, id);
    }
    return MOX_OK;
}

static int temp_status(int st)
{
    return st != MOX_DNS_NOERROR && st != MOX_DNS_NXDOMAIN;
}

static int on_ptr(mox_iprev *c, const mox_dns_answer *ans)
{
    c->ptr_done = 1;
    use(c, ans->authentic);
    if (temp_status(ans->status))
        return finish(c, MOX_IPREV_TEMPERROR, NULL, "DNS failure looking up the PTR (%s)",
                      mox_dns_status_name(ans->status));
    size_t cnt = 0;
    for (size_t i = 0; i < ans->nrr; i++)
        if (ans->rr[i].type == MOX_DNS_PTR && ans->rr[i].u.target)
            cnt++;
    if (cnt == 0)
        return finish(c, MOX_IPREV_PERMERROR, NULL, "no PTR record for the client address%s",
                      NULL);
    if (cnt > c->cfg.max_names)
        cnt = c->cfg.max_names; /* the rest ignored */
    c->names = mox_calloc(cnt, sizeof *c->names);
    c->fw = mox_calloc(cnt, 1);
    c->fw_auth = mox_calloc(cnt, 1);
    if (!c->names || !c->fw || !c->fw_auth)
        return MOX_ERR_NOMEM;
    for (size_t i = 0; i < ans->nrr && c->nnames < cnt; i++) {
        if (ans->rr[i].type != MOX_DNS_PTR || !ans->rr[i].u.target)
            continue;
        char *n = moxi_strdup(ans->rr[i].u.target);
        if (!n)
            return MOX_ERR_NOMEM;
        size_t l = strlen(n);
        if (l && n[l - 1] == '.')
            n[l - 1] = 0;
        c->names[c->nnames++] = n;
    }
    /* every forward question at once */
    uint16_t t = c->v6 ? MOX_DNS_AAAA : MOX_DNS_A;
    for (size_t i = 0; i < c->nnames; i++) {
        uint32_t id;
        int rc = moxi_qset_dns(&c->qs, c->names[i], strlen(c->names[i]), t, 0, &id);
        if (rc != MOX_OK)
            return MOX_ERR_NOMEM;
        if (i == 0)
            c->fw_id = id;
    }
    return MOX_OK;
}

/* Keeps the answer for name `idx`, then uses the answers in PTR order as
 * far as they go. */
static int on_forward(mox_iprev *c, size_t idx, const mox_dns_answer *ans)
{
    if (temp_status(ans->status)) {
        c->fw[idx] = FW_TEMP;
    } else {
        c->fw[idx] = FW_NOMATCH;
        uint16_t t = c->v6 ? MOX_DNS_AAAA : MOX_DNS_A;
        for (size_t i = 0; i < ans->nrr; i++)
            if (ans->rr[i].type == t &&
                !memcmp(c->v6 ? ans->rr[i].u.aaaa : ans->rr[i].u.a, c->addr, c->v6 ? 16 : 4)) {
                c->fw[idx] = FW_MATCH;
                break;
            }
    }
    c->fw_auth[idx] = ans->authentic != 0;
    while (c->next < c->nnames && c->fw[c->next] != FW_PENDING) {
        size_t i = c->next++;
        use(c, c->fw_auth[i]);
        if (c->fw[i] == FW_TEMP)
            c->temp = 1;
        else if (c->fw[i] == FW_MATCH)
            return finish(c, MOX_IPREV_PASS, c->names[i], "%s confirmed by forward DNS",
                          c->names[i]);
    }
    if (c->next < c->nnames)
        return MOX_OK;
    if (c->temp)
        return finish(c, MOX_IPREV_TEMPERROR, NULL, "DNS failure confirming the PTR names%s",
                      NULL);
    return finish(c, MOX_IPREV_FAIL, NULL,
                  "no PTR name of the client resolves back to its address%s", NULL);
}

unsigned mox_iprev_want(const mox_iprev *c)
{
    if (!c || c->failed)
        return 0;
    if (c->done)
        return MOX_WANT_DONE;
    return moxi_qset_want(&c->qs);
}

int mox_iprev_query(mox_iprev *c, mox_query *q)
{
    if (!c || !q)
        return c ? moxi_engine_fail(&c->eng, MOX_ERR_INVAL, "iprev: NULL query") : MOX_ERR_INVAL;
    if (c->failed || c->done)
        return MOX_ERR_AGAIN;
    return moxi_qset_next(&c->qs, q);
}

int mox_iprev_answer(mox_iprev *c, const mox_answer *a)
{
    if (!c)
        return MOX_ERR_INVAL;
    if (c->failed)
        return moxi_engine_fail(&c->eng, MOX_ERR_STATE, "iprev: the check failed earlier");
    const moxi_qslot *sl;
    int rc = moxi_qset_take(&c->qs, &c->eng, a, &sl);
    if (rc != MOX_OK)
        return rc;
    if (c->done)
        return MOX_OK; /* decided without it */
    const mox_dns_answer *ans = mox_answer_dns(a);
    mox_dns_answer typed;
    if (ans->qtype != sl->q.u.dns.type) {
        typed = *ans;
        typed.qtype = sl->q.u.dns.type;
        ans = &typed;
    }
    uint32_t id = sl->q.id;
    if (id == c->ptr_id)
        rc = on_ptr(c, ans);
    else
        rc = on_forward(c, id - c->fw_id, ans);
    if (rc != MOX_OK) {
        c->failed = 1;
        return moxi_engine_fail(&c->eng, rc, "iprev: %s; the check is unusable", mox_strerror(rc));
    }
    return MOX_OK;
}

const mox_iprev_outcome *mox_iprev_result(const mox_iprev *c)
{
    return c && c->done && !c->failed ? &c->out : NULL;
}

static unsigned ops_want(const void *self) { return mox_iprev_want(self); }
static int ops_query(void *self, mox_query *q) { return mox_iprev_query(self, q); }
static int ops_answer(void *self, const mox_answer *a) { return mox_iprev_answer(self, a); }

static const moxi_engine_ops iprev_ops = {
    .name = "iprev",
    .want = ops_want,
    .query = ops_query,
    .answer = ops_answer,
};

mox_engine *mox_iprev_engine(mox_iprev *c) { return c ? &c->eng : NULL; }

int mox_iprev_check(mox_iprev **out, const mox_iprev_config *cfg, const mox_resolver *r,
                    const char *ip, mox_errinfo *ei)
{
    if (!out || !r)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "iprev: NULL output or resolver");
    *out = NULL;
    mox_iprev *c;
    int rc = mox_iprev_new(&c, cfg, ip, ei);
    if (rc != MOX_OK)
        return rc;
    mox_io io = MOX_IO_INIT;
    io.resolver = r;
    rc = mox_engine_run(&c->eng, &io, ei);
    if (rc == MOX_OK && !mox_iprev_result(c))
        rc = moxi_fail(ei, MOX_ERR_STATE, 0, SIZE_MAX, "iprev: the check did not finish");
    if (rc != MOX_OK) {
        mox_iprev_free(c);
        return rc;
    }
    *out = c;
    return MOX_OK;
}

int mox_iprev_authres(const mox_iprev *c, mox_authres *ar)
{
    const mox_iprev_outcome *o = mox_iprev_result(c);
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
