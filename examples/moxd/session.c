/* moxd SMTP sessions: the engine's decision callbacks, recipient and
 * sender rules, the incoming-mail checks (SPF from MAIL FROM on, then
 * msgauth: iprev, DKIM, DMARC with that SPF outcome) with every question
 * of the engines out at once through the resolver, submission
 * preparation (Message-ID, Date, DKIM signature) and durable Maildir
 * delivery on the worker pool before the 250. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

/* ---------------------------------------------------------------- transaction */

void moxd_txn_clear(moxd_conn *c)
{
    free(c->mail_from);
    c->mail_from = NULL;
    free(c->targets);
    c->targets = NULL;
    c->ntargets = 0;
    mox_buf_free(&c->msg);
    mox_buf_free(&c->prefix);
    c->msg_failed = 0;
    /* Answers still on their way find another serial and are dropped. */
    mox_spf_free(c->spf);
    c->spf = NULL;
    c->spf_serial++;
    mox_msgauth_free(c->ma);
    c->ma = NULL;
    c->ma_serial++;
    c->ma_spf_wait = 0;
    c->checking = 0;
    c->in_data = 0;
}

static void checks_advance(moxd_conn *c);

static void add_target(moxd_conn *c, moxd_account *a)
{
    for (size_t i = 0; i < c->ntargets; i++)
        if (c->targets[i] == a)
            return; /* once per account, also via aliases */
    moxd_account **n = realloc(c->targets, (c->ntargets + 1) * sizeof *n);
    if (!n)
        return;
    c->targets = n;
    c->targets[c->ntargets++] = a;
}

static int account_has(const moxd_account *a, const char *addr)
{
    for (size_t i = 0; i < a->naddresses; i++)
        if (!strcmp(a->addresses[i], addr))
            return 1;
    return 0;
}

static int is_member(const moxd_alias *al, const moxd_account *a)
{
    for (size_t i = 0; a && i < al->nmembers; i++)
        if (account_has(a, al->members[i]))
            return 1;
    return 0;
}

/* May the authenticated account use `addr` as sender (MAIL FROM, From)? */
static int sender_allowed(moxd_conn *c, const char *addr)
{
    moxd_config *cfg = c->srv->cfg;
    if (cfg->localserve)
        return 1;
    if (!c->account)
        return 0;
    if (account_has(c->account, addr))
        return 1;
    moxd_alias *al = moxd_config_alias(cfg, addr);
    return al && al->allow_msg_from && is_member(al, c->account);
}

/* ---------------------------------------------------------------- callbacks */

static int on_mail(void *u, mox_smtp_server *s, const mox_smtp_server_txn *t,
                   mox_smtp_server_reply *r)
{
    moxd_conn *c = u;
    moxd_txn_clear(c);
    c->mail_from = moxd_path_addr(&t->mail_from);
    if (c->kind != MOXD_SMTP && !sender_allowed(c, c->mail_from)) {
        mox_smtp_server_reply_set(r, 550, "5.7.0", "not allowed to send as this address");
        return MOX_SMTP_SERVER_REPLY;
    }
    if (c->kind == MOXD_SMTP) {
        /* SPF from now on: its DNS runs during RCPT and DATA, and msgauth
         * gets the outcome instead of evaluating it again. If it cannot
         * start, msgauth evaluates SPF itself. */
        mox_spf_config spc = MOX_SPF_CONFIG_INIT;
        spc.receiver = c->srv->cfg->hostname;
        spc.env = &c->srv->env;
        /* localserve's domain is "localhost": SPF would say none (RFC 7208
         * §4.3) although the in-process zone publishes a record for it. */
        spc.allow_single_label = c->srv->cfg->localserve;
        const mox_smtp_server_session *ss = mox_smtp_server_get_session(s);
        if (mox_spf_new(&c->spf, &spc, c->ip, c->mail_from, ss->hello ? ss->hello : "",
                        MOX_SPF_ID_MAILFROM, NULL) == MOX_OK)
            checks_advance(c);
    }
    return MOX_SMTP_SERVER_REPLY;
}

static int quota_full(moxd_account *a, uint64_t extra)
{
    return a->quota && moxd_maildir_usage(a->maildir) + extra > a->quota;
}

static int on_rcpt(void *u, mox_smtp_server *s, const mox_smtp_server_txn *t,
                   const mox_smtp_server_rcpt *rc, mox_smtp_server_reply *r)
{
    (void)s;
    moxd_conn *c = u;
    moxd_config *cfg = c->srv->cfg;
    char *addr = moxd_path_addr(&rc->path);
    if (rc->path.is_postmaster) {
        free(addr);
        addr = NULL;
        for (size_t i = 0; i < cfg->naccounts && !addr; i++)
            for (size_t j = 0; j < cfg->accounts[i].naddresses; j++)
                if (!strncmp(cfg->accounts[i].addresses[j], "postmaster@", 11)) {
                    addr = moxd_strdup(cfg->accounts[i].addresses[j]);
                    break;
                }
        if (!addr)
            addr = moxd_strdup("postmaster");
    }
    moxd_account *a = moxd_config_account_by_address(cfg, addr);
    moxd_alias *al = a ? NULL : moxd_config_alias(cfg, addr);
    if (!a && !al)
        a = moxd_config_catchall(cfg);
    int rcode = 250;
    if (al) {
        if (!al->post_public && !(c->kind != MOXD_SMTP && is_member(al, c->account))) {
            mox_smtp_server_reply_set(r, 550, "5.7.1", "only members may send to this address");
            rcode = 550;
        } else {
            for (size_t i = 0; i < al->nmembers; i++) {
                moxd_account *m = moxd_config_account_by_address(cfg, al->members[i]);
                /* Not back to the member who sent it. */
                if (!m || (c->mail_from && !strcmp(c->mail_from, al->members[i])) ||
                    (c->kind != MOXD_SMTP && m == c->account))
                    continue;
                if (quota_full(m, t->size_declared)) {
                    mox_smtp_server_reply_set(r, 452, "4.2.2", "mailbox full");
                    rcode = 452;
                    break;
                }
            }
            if (rcode == 250)
                for (size_t i = 0; i < al->nmembers; i++) {
                    moxd_account *m = moxd_config_account_by_address(cfg, al->members[i]);
                    if (!m || (c->mail_from && !strcmp(c->mail_from, al->members[i])) ||
                        (c->kind != MOXD_SMTP && m == c->account))
                        continue;
                    add_target(c, m);
                }
        }
    } else if (a) {
        if (quota_full(a, t->size_declared)) {
            mox_smtp_server_reply_set(r, 452, "4.2.2", "mailbox full");
            rcode = 452;
        } else {
            add_target(c, a);
        }
    } else if (c->kind != MOXD_SMTP) {
        /* Until the queue engine exists nothing leaves this server. */
        mox_smtp_server_reply_set(r, 451, "4.4.0",
                                  "delivery to other domains is not available yet (no queue): "
                                  "only local recipients");
        rcode = 451;
    } else {
        mox_smtp_server_reply_set(r, 550, "5.1.1", "no such user");
        r->delay_ms = cfg->unknown_rcpt_delay_ms;
        rcode = 550;
        mox_metric_label l = {"result", "unknown"};
        mox_metric_count(&c->srv->msink, "moxd_rcpt_total", &l, 1, 1);
    }
    free(addr);
    return rcode == 250 ? MOX_SMTP_SERVER_REPLY : MOX_SMTP_SERVER_REPLY;
}

static int on_data_start(void *u, mox_smtp_server *s, const mox_smtp_server_txn *t,
                         mox_smtp_server_reply *r)
{
    (void)s;
    (void)t;
    (void)r;
    moxd_conn *c = u;
    mox_buf_reset(&c->msg);
    c->msg_failed = 0;
    c->in_data = 1; /* the message's deadline is the engine's (data_timeout) */
    return MOX_SMTP_SERVER_REPLY;
}

static int on_chunk(void *u, mox_smtp_server *s, const void *p, size_t n)
{
    (void)s;
    moxd_conn *c = u;
    if (mox_buf_append(&c->msg, p, n) != MOX_OK)
        return MOX_ERR_NOMEM;
    return MOX_OK;
}

static void on_reset(void *u, mox_smtp_server *s, int reason)
{
    (void)s;
    (void)reason;
    moxd_txn_clear(u);
}

static int on_auth(void *u, mox_smtp_server *s, const mox_smtp_server_auth *a,
                   mox_smtp_server_reply *r)
{
    (void)s;
    moxd_conn *c = u;
    moxd_server *srv = c->srv;
    if (moxd_auth_blocked(srv, c->ip)) {
        mox_smtp_server_reply_set(r, 421, "4.7.0", "too many authentication failures, try later");
        r->close = 1;
        return MOX_SMTP_SERVER_REPLY;
    }
    mox_metric_label l[2] = {{"mechanism", a->mechanism}, {"result", a->success ? "ok" : "fail"}};
    mox_metric_count(&srv->msink, "moxd_auth_total", l, 2, 1);
    if (!a->success) {
        if (a->counted)
            moxd_auth_failed(srv, c->ip);
        moxd_logf(srv, MOX_LOG_INFO, "authentication failed", "cid", c->cid, "username",
                  a->username ? a->username : "");
        return MOX_SMTP_SERVER_REPLY;
    }
    c->account = moxd_login_account(srv, a->authzid && *a->authzid ? a->authzid : a->authcid);
    moxd_logf(srv, MOX_LOG_INFO, "authenticated", "cid", c->cid, "username", a->authcid);
    return MOX_SMTP_SERVER_REPLY;
}

static int on_verify(void *u, mox_smtp_server *s, int expn, const char *arg,
                     mox_smtp_server_reply *r)
{
    (void)s;
    moxd_conn *c = u;
    if (!expn)
        return MOX_SMTP_SERVER_REPLY; /* 252: no address verification */
    char buf[512];
    snprintf(buf, sizeof buf, "%s", arg);
    char *lt = strchr(buf, '<'), *gt = strrchr(buf, '>');
    char *addr = lt && gt > lt ? (*gt = 0, lt + 1) : buf;
    moxd_lower(addr);
    moxd_alias *al = moxd_config_alias(c->srv->cfg, addr);
    if (!al || !al->list_members || !is_member(al, c->account)) {
        mox_smtp_server_reply_set(r, 550, "5.7.0", "list members are not disclosed");
        return MOX_SMTP_SERVER_REPLY;
    }
    mox_buf t = MOX_BUF_INIT;
    for (size_t i = 0; i < al->nmembers; i++)
        mox_buf_appendf(&t, "%s<%s>", i ? "\n" : "", al->members[i]);
    mox_smtp_server_reply_set(r, 250, "2.1.5", t.data ? (char *)t.data : "");
    mox_buf_free(&t);
    return MOX_SMTP_SERVER_REPLY;
}

/* ---------------------------------------------------------------- delivery job */

typedef struct deliver_job {
    moxd_job job;
    moxd_conn *c;
    mox_buf head;     /* our headers + submission prefix */
    mox_buf body;     /* the message (own Authentication-Results removed) */
    char **maildirs;
    size_t n;
    int err;          /* first -errno */
    size_t delivered;
    int64_t start;
} deliver_job;

static void deliver_work(moxd_job *j)
{
    deliver_job *d = (deliver_job *)j;
    const void *parts[2] = {d->head.data ? (void *)d->head.data : "",
                            d->body.data ? (void *)d->body.data : ""};
    size_t lens[2] = {d->head.len, d->body.len};
    for (size_t i = 0; i < d->n; i++) {
        int rc = moxd_maildir_deliver(d->maildirs[i], parts, lens, 2, NULL, 0);
        if (rc != 0 && !d->err)
            d->err = rc;
        if (rc == 0)
            d->delivered++;
    }
}

static void deliver_done(moxd_job *j)
{
    deliver_job *d = (deliver_job *)j;
    moxd_conn *c = d->c;
    moxd_server *srv = c->srv;
    mox_metric_label l = {"result", d->err ? "error" : "ok"};
    mox_metric_count(&srv->msink, "moxd_delivery_total", &l, 1, 1);
    mox_metric_observe(&srv->msink, "moxd_delivery_duration_seconds", NULL, 0,
                       (double)(moxd_now_ns() - d->start) / 1e9);
    if (!c->dead && c->s) {
        c->deferred = 0;
        if (d->err) {
            moxd_logf(srv, MOX_LOG_ERROR, "delivery failed", "cid", c->cid, "err",
                      strerror(-d->err));
            mox_smtp_server_decide_code(c->s, c->decision, 451, "4.3.0",
                                        "cannot store message, try again later");
        } else {
            char text[64];
            snprintf(text, sizeof text, "delivered to %zu mailbox%s", d->delivered,
                     d->delivered == 1 ? "" : "es");
            moxd_logf(srv, MOX_LOG_INFO, "delivered", "cid", c->cid, "from",
                      c->mail_from ? c->mail_from : "");
            mox_smtp_server_decide_code(c->s, c->decision, 250, "2.0.0", text);
        }
        moxd_conn_run(c);
    }
    for (size_t i = 0; i < d->n; i++)
        free(d->maildirs[i]);
    free(d->maildirs);
    mox_buf_free(&d->head);
    mox_buf_free(&d->body);
    free(d);
    moxd_conn_unref(c);
}

static void finish_refuse(moxd_conn *c, int code, const char *enh, const char *text)
{
    c->deferred = 0;
    mox_smtp_server_decide_code(c->s, c->decision, code, enh, text);
}

/* The reason header: which checks ran, their results, and why the message
 * was accepted, in the spirit of mox's X-Mox-Reason. */
static void reason_header(moxd_conn *c, const mox_dmarc_outcome *dm, const mox_spf_outcome *so,
                          const mox_iprev_outcome *io, const mox_dkim_verifier *dv, mox_buf *h)
{
    mox_buf t = MOX_BUF_INIT;
    if (c->kind != MOXD_SMTP)
        mox_buf_appendf(&t, "submitted by authenticated account %s",
                        c->account ? c->account->name
                                   : (c->srv->cfg->localserve ? "(localserve)" : "?"));
    else if (!dm || dm->result == MOX_DMARC_NONE)
        mox_buf_append_str(&t, "no dmarc policy");
    else if (dm->result == MOX_DMARC_PASS)
        mox_buf_appendf(&t, "dmarc pass for %s", dm->domain ? dm->domain : "?");
    else
        mox_buf_appendf(&t, "dmarc %s (disposition %s)", mox_dmarc_result_name(dm->result),
                        mox_dmarc_policy_name(dm->disposition));
    mox_buf_append_str(&t, "; checks:");
    if (io)
        mox_buf_appendf(&t, " iprev=%s", mox_iprev_result_name(io->result));
    if (so)
        mox_buf_appendf(&t, " spf=%s", mox_spf_result_name(so->result));
    const mox_dkim_verifier_outcome *dko = dv ? mox_dkim_verifier_result(dv) : NULL;
    size_t nd = dko ? dko->count : 0;
    if (!nd)
        mox_buf_append_str(&t, " dkim=none");
    for (size_t i = 0; i < nd; i++) {
        const mox_dkim_sig_result *r = dko->results[i];
        mox_buf_appendf(&t, " dkim=%s(%s)", mox_dkim_status_name(r->status),
                        r->domain ? r->domain : "?");
    }
    if (dm)
        mox_buf_appendf(&t, " dmarc=%s", mox_dmarc_result_name(dm->result));
    /* Fold at spaces to stay under 78 columns. */
    size_t col = strlen("X-Mox-Reason: ");
    mox_buf_append_str(h, "X-Mox-Reason: ");
    const char *p = t.data ? (const char *)t.data : "";
    while (*p) {
        const char *sp = strchr(p, ' ');
        size_t w = sp ? (size_t)(sp - p) : strlen(p);
        if (col + w > 76 && col > 20) {
            if (h->len && h->data[h->len - 1] == ' ')
                h->len--; /* no trailing space before the fold */
            mox_buf_append_str(h, "\r\n\t");
            col = 1;
        }
        for (size_t i = 0; i < w; i++)
            mox_buf_append_byte(h, (unsigned char)((p[i] < 0x20 || p[i] == 0x7f) ? '?' : p[i]));
        col += w;
        p += w;
        if (*p == ' ') {
            mox_buf_append_byte(h, ' ');
            col++;
            p++;
        }
    }
    mox_buf_append_str(h, "\r\n");
    mox_buf_free(&t);
}

static void checks_done(moxd_conn *c)
{
    moxd_server *srv = c->srv;
    moxd_config *cfg = srv->cfg;
    mox_msgauth *ma = c->ma;
    const mox_msgauth_outcome *mo = mox_msgauth_result(ma);
    const mox_dmarc_outcome *dm = mo->dmarc;
    const mox_spf_outcome *so = mo->spf;
    /* Received-SPF from the evaluation that made the outcome: ours from
     * MAIL FROM, or msgauth's */
    const mox_spf *sp = mo->spf_given ? c->spf : mox_msgauth_spf(ma);
    const mox_iprev_outcome *io = mo->iprev;
    if (dm) {
        mox_metric_label l = {"result", mox_dmarc_result_name(dm->result)};
        mox_metric_count(&srv->msink, "moxd_dmarc_total", &l, 1, 1);
    }
    if (c->kind == MOXD_SMTP && dm && dm->disposition == MOX_DMARC_POLICY_REJECT) {
        char text[300];
        if (dm->from_status != MOX_DMARC_FROM_OK)
            snprintf(text, sizeof text, "message needs exactly one From address with a domain (%s)",
                     mox_dmarc_from_name(dm->from_status));
        else
            snprintf(text, sizeof text, "rejected by the DMARC policy of %s", dm->domain);
        moxd_logf(srv, MOX_LOG_INFO, "dmarc reject", "cid", c->cid, "reason",
                  dm->reason ? dm->reason : "");
        finish_refuse(c, 550, "5.7.1", text);
        return;
    }
    uint64_t size = c->prefix.len + c->msg.len;
    for (size_t i = 0; i < c->ntargets; i++)
        if (quota_full(c->targets[i], size)) {
            finish_refuse(c, 452, "4.2.2", "mailbox full");
            return;
        }
    deliver_job *j = calloc(1, sizeof *j);
    if (!j) {
        finish_refuse(c, 451, "4.3.0", "local error");
        return;
    }
    mox_buf *h = &j->head;
    reason_header(c, dm, so, io, mox_msgauth_dkim(ma), h);
    int rc = mox_msgauth_authres_header(ma, cfg->hostname, h);
    if (rc == MOX_OK && sp)
        rc = mox_spf_received_header(sp, h);
    if (rc == MOX_OK)
        rc = mox_smtp_server_received(c->s,
                                      mox_smtp_server_get_txn(c->s)->nrcpts == 1 ? 0 : SIZE_MAX, h);
    if (rc == MOX_OK)
        rc = mox_buf_append(h, c->prefix.data ? c->prefix.data : (const unsigned char *)"",
                            c->prefix.len);
    size_t removed = 0;
    if (rc == MOX_OK)
        rc = mox_msgauth_strip_own(c->msg.data ? c->msg.data : (const unsigned char *)"",
                                   c->msg.len, cfg->hostname, &j->body, &removed);
    if (rc != MOX_OK) {
        mox_buf_free(&j->head);
        mox_buf_free(&j->body);
        free(j);
        finish_refuse(c, 451, "4.3.0", "local error composing headers");
        return;
    }
    j->maildirs = calloc(c->ntargets ? c->ntargets : 1, sizeof *j->maildirs);
    for (size_t i = 0; i < c->ntargets; i++)
        j->maildirs[j->n++] = moxd_strdup(c->targets[i]->maildir);
    j->c = c;
    j->start = moxd_now_ns();
    j->job.work = deliver_work;
    j->job.done = deliver_done;
    c->jobs++;
    mox_buf_free(&c->msg);
    moxd_pool_submit(srv->pool, &j->job);
}

/* ---------------------------------------------------------------- checks, DNS */

/* One question of an engine out at the resolver. The engine may be gone
 * when the answer comes (the transaction ended): the serial tells. */
enum { ENG_SPF = 1, ENG_MSGAUTH = 2 };
typedef struct dns_ask {
    moxd_conn *c;
    int eng;
    unsigned serial;
    uint32_t id;
    uint16_t type;
    char name[256];
} dns_ask;

static mox_engine *ask_engine(const dns_ask *q)
{
    moxd_conn *c = q->c;
    if (c->dead)
        return NULL;
    if (q->eng == ENG_SPF)
        return c->spf && c->spf_serial == q->serial ? mox_spf_engine(c->spf) : NULL;
    return c->ma && c->ma_serial == q->serial ? mox_msgauth_engine(c->ma) : NULL;
}

static void dns_answered(void *arg, mox_dns_answer *ans)
{
    dns_ask *q = arg;
    moxd_conn *c = q->c;
    mox_engine *g = ask_engine(q);
    if (g) {
        mox_answer *a = NULL;
        int rc = mox_answer_dns_copy(&a, q->id, ans);
        if (rc == MOX_OK)
            rc = mox_engine_answer(g, a);
        if (rc != MOX_OK)
            moxd_logf(c->srv, MOX_LOG_ERROR, "dns answer refused", "cid", c->cid, "err",
                      mox_engine_error(g)->msg[0] ? mox_engine_error(g)->msg : mox_strerror(rc));
        mox_answer_free(a);
    }
    mox_dns_answer_free(ans);
    free(q);
    if (c->pumping) {
        c->jobs--; /* answered inside query: the pump goes on */
        return;
    }
    if (c->dead) {
        moxd_conn_unref(c);
        return;
    }
    c->jobs--;
    checks_advance(c);
    moxd_conn_run(c);
}

/* Hands every question the engine has now to the resolver. Returns the
 * number handed out, or -1 when one could not even be started (it is
 * answered as a network failure, which the engine evaluates). */
static int pump_one(moxd_conn *c, int eng)
{
    moxd_server *srv = c->srv;
    int n = 0;
    for (;;) {
        mox_engine *g = eng == ENG_SPF ? (c->spf ? mox_spf_engine(c->spf) : NULL)
                                       : (c->ma ? mox_msgauth_engine(c->ma) : NULL);
        mox_query q;
        if (!g || mox_engine_query(g, &q) != MOX_OK)
            return n;
        dns_ask *d = calloc(1, sizeof *d);
        if (!d)
            return -1;
        d->c = c;
        d->eng = eng;
        d->serial = eng == ENG_SPF ? c->spf_serial : c->ma_serial;
        d->id = q.id;
        d->type = q.u.dns.type;
        snprintf(d->name, sizeof d->name, "%s", q.u.dns.name);
        c->jobs++;
        n++;
        if (srv->resolver.query(srv->resolver.ctx, d->name, d->type, dns_answered, d) != MOX_OK) {
            /* not started: a network failure for the engine */
            mox_answer *a = NULL;
            if (mox_answer_dns_new(&a, d->id, d->name, d->type, MOX_DNS_NETERR, 0) == MOX_OK)
                mox_engine_answer(g, a);
            mox_answer_free(a);
            free(d);
            c->jobs--;
        }
    }
}

/* Everything the checks can do now: questions out, the MAIL FROM SPF
 * outcome to msgauth once known, the verdict once final. */
static void checks_advance(moxd_conn *c)
{
    if (c->pumping)
        return;
    for (;;) {
        c->pumping = 1;
        int n = pump_one(c, ENG_SPF);
        int m = n >= 0 ? pump_one(c, ENG_MSGAUTH) : -1;
        c->pumping = 0;
        if (n < 0 || m < 0) {
            if (c->checking) {
                c->checking = 0;
                finish_refuse(c, 451, "4.3.0", "local error during checks");
            }
            return;
        }
        const mox_spf_outcome *so = c->spf ? mox_spf_result(c->spf) : NULL;
        if (c->ma && c->ma_spf_wait && so) {
            c->ma_spf_wait = 0;
            const mox_smtp_server_session *ss = mox_smtp_server_get_session(c->s);
            if (mox_msgauth_set_spf(c->ma, so, c->ip, c->mail_from ? c->mail_from : "",
                                    ss->hello ? ss->hello : "") != MOX_OK)
                moxd_logf(c->srv, MOX_LOG_ERROR, "spf outcome not taken", "cid", c->cid, "err",
                          mox_engine_error(mox_msgauth_engine(c->ma))->msg);
            continue; /* DMARC alignment questions may follow */
        }
        if (n == 0 && m == 0)
            break;
    }
    if (!c->checking || !c->ma)
        return;
    if (mox_msgauth_result(c->ma)) {
        c->checking = 0;
        checks_done(c);
    } else if (mox_msgauth_want(c->ma) == 0 ||
               (c->ma_spf_wait && c->spf && mox_spf_want(c->spf) == 0)) {
        /* an engine failed (out of memory) */
        c->checking = 0;
        finish_refuse(c, 451, "4.3.0", "local error during checks");
    }
}

/* ---------------------------------------------------------------- submission */

/* Message-ID and Date when missing, then the DKIM signature of the From
 * domain (all prepended, in c->prefix). */
static int prepare_submission(moxd_conn *c, char *err, size_t errlen)
{
    moxd_server *srv = c->srv;
    moxd_config *cfg = srv->cfg;
    mox_headers *hs = NULL;
    size_t body_off = 0;
    mox_header_config hc = MOX_HEADER_CONFIG_INIT;
    hc.nonfield = MOX_HDR_NONFIELD_END;
    if (mox_headers_parse(c->msg.data ? c->msg.data : (const unsigned char *)"", c->msg.len, &hc,
                          &hs, &body_off, NULL) != MOX_OK) {
        snprintf(err, errlen, "malformed message header");
        return 554;
    }
    size_t pos = 0, nfrom = 0;
    const mox_header_field *f, *from = NULL;
    while ((f = mox_headers_find(hs, "From", &pos))) {
        from = f;
        nfrom++;
    }
    char fromaddr[512] = "";
    if (nfrom == 1) {
        mox_address_list al;
        memset(&al, 0, sizeof al);
        if (mox_address_list_parse(from->value, from->value_len, MOX_ADDRLIST_UTF8, &al, NULL) ==
                MOX_OK &&
            al.count == 1) {
            mox_buf b = MOX_BUF_INIT;
            mox_mailbox_format(&al.addr[0].mailbox, 0, &b);
            snprintf(fromaddr, sizeof fromaddr, "%s", b.data ? (char *)b.data : "");
            moxd_lower(fromaddr);
            mox_buf_free(&b);
        }
        mox_address_list_clear(&al);
    }
    if (!fromaddr[0]) {
        mox_headers_free(hs);
        snprintf(err, errlen, "message needs exactly one From address");
        return 550;
    }
    if (!sender_allowed(c, fromaddr)) {
        mox_headers_free(hs);
        snprintf(err, errlen, "not allowed to send with this From address");
        return 550;
    }
    mox_buf add = MOX_BUF_INIT;
    const char *dom = strrchr(fromaddr, '@');
    dom = dom ? dom + 1 : cfg->hostname;
    if (!mox_headers_find(hs, "Message-ID", NULL)) {
        mox_buf id = MOX_BUF_INIT;
        mox_message_id(NULL, cfg->hostname, &id);
        mox_buf_appendf(&add, "Message-ID: %s\r\n", id.data ? (char *)id.data : "");
        mox_buf_free(&id);
    }
    if (!mox_headers_find(hs, "Date", NULL)) {
        char date[64];
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        mox_rfc5322_date((int64_t)now, (int)(tm.tm_gmtoff / 60), date, sizeof date);
        mox_buf_appendf(&add, "Date: %s\r\n", date);
    }
    mox_headers_free(hs);
    moxd_domain *d = moxd_config_domain(cfg, dom);
    mox_buf_reset(&c->prefix);
    if (d && d->ndkim) {
        mox_dkim_sign_params ps[8];
        size_t n = 0;
        for (size_t i = 0; i < d->ndkim && n < 8; i++) {
            if (!d->dkim[i].key)
                continue;
            mox_dkim_sign_params p = MOX_DKIM_SIGN_PARAMS_INIT;
            p.key = d->dkim[i].key;
            p.domain = d->name;
            p.selector = d->dkim[i].selector;
            ps[n++] = p;
        }
        mox_dkim_signer *sg = NULL;
        mox_errinfo ei;
        int rc = n ? mox_dkim_signer_new(&sg, NULL, ps, n, &ei) : MOX_ERR_NOTFOUND;
        int64_t took = 0;
        if (rc == MOX_OK)
            took = mox_dkim_signer_feed(sg, add.data ? add.data : (const unsigned char *)"", add.len);
        if (rc == MOX_OK && took >= 0)
            took = mox_dkim_signer_feed(sg, c->msg.data, c->msg.len);
        if (rc == MOX_OK)
            rc = took < 0 ? (int)took : mox_dkim_signer_eof(sg);
        if (rc == MOX_OK)
            rc = mox_buf_append(&c->prefix, mox_dkim_signer_result(sg)->fields,
                                mox_dkim_signer_result(sg)->len);
        mox_dkim_signer_free(sg);
        if (rc != MOX_OK && n) {
            mox_buf_free(&add);
            snprintf(err, errlen, "cannot DKIM-sign the message");
            return 451;
        }
    }
    mox_buf_append(&c->prefix, add.data ? add.data : (const unsigned char *)"", add.len);
    mox_buf_free(&add);
    return 0;
}

static int on_data_end(void *u, mox_smtp_server *s, const mox_smtp_server_txn *t,
                       mox_smtp_server_reply *r)
{
    moxd_conn *c = u;
    moxd_server *srv = c->srv;
    c->in_data = 0;
    if (!c->ntargets) {
        mox_smtp_server_reply_set(r, 554, "5.5.1", "no valid recipients");
        return MOX_SMTP_SERVER_REPLY;
    }
    if (c->kind != MOXD_SMTP) {
        char err[200];
        int code = prepare_submission(c, err, sizeof err);
        if (code) {
            mox_smtp_server_reply_set(r, code, code >= 500 ? "5.7.0" : "4.3.0", err);
            return MOX_SMTP_SERVER_REPLY;
        }
    }
    const mox_smtp_server_session *ss = mox_smtp_server_get_session(s);
    mox_msgauth_config mc = MOX_MSGAUTH_CONFIG_INIT;
    mox_spf_config spc = MOX_SPF_CONFIG_INIT;
    spc.receiver = srv->cfg->hostname;
    spc.env = &srv->env;
    /* localserve's domain is "localhost": SPF would say none (RFC 7208
     * §4.3) although the in-process zone publishes a record for it. */
    spc.allow_single_label = srv->cfg->localserve;
    mc.spf = &spc;
    mc.flags = MOX_MSGAUTH_IPREV;
    /* SPF ran from MAIL FROM on (delivery): msgauth waits for its outcome
     * instead of evaluating SPF again; iprev, DKIM and DMARC start now */
    if (c->spf && (mox_spf_want(c->spf) & (MOX_WANT_DONE | MOX_WANT_QUERY | MOX_WANT_ANSWER)))
        mc.flags |= MOX_MSGAUTH_SPF_GIVEN;
    mox_errinfo ei;
    const char *mf = c->mail_from ? c->mail_from : "";
    (void)t;
    if (mox_msgauth_new(&c->ma, &mc, c->ip, mf, ss->hello ? ss->hello : "", &ei) != MOX_OK ||
        mox_msgauth_feed(c->ma, c->prefix.data ? c->prefix.data : (const unsigned char *)"",
                         c->prefix.len) < 0 ||
        mox_msgauth_feed(c->ma, c->msg.data ? c->msg.data : (const unsigned char *)"",
                         c->msg.len) < 0 ||
        mox_msgauth_eof(c->ma) < 0) {
        /* Limits (huge header) make DKIM permerror, not a local error; only
         * allocation failures end up here. */
        mox_msgauth_free(c->ma);
        c->ma = NULL;
        mox_smtp_server_reply_set(r, 451, "4.3.0", "local error");
        return MOX_SMTP_SERVER_REPLY;
    }
    c->ma_spf_wait = (mc.flags & MOX_MSGAUTH_SPF_GIVEN) != 0;
    c->deferred = 1;
    c->decision = mox_smtp_server_pending(s, NULL); /* answered with this id */
    /* The checks may finish synchronously (in-process DNS) and answer:
     * not from inside this callback, but from the loop right after. */
    c->start_checks = 1;
    return MOX_SMTP_SERVER_DEFER;
}

/* Called from the loop when a deferred data end needs its checks started
 * (not from inside the engine's callback). */
void moxd_session_tick(moxd_conn *c)
{
    if (c->start_checks && c->ma) {
        c->start_checks = 0;
        c->checking = 1;
        checks_advance(c);
    }
}

/* ---------------------------------------------------------------- session */

int moxd_session_new(moxd_conn *c)
{
    moxd_server *srv = c->srv;
    moxd_config *cfg = srv->cfg;
    mox_smtp_server_config sc = MOX_SMTP_SERVER_CONFIG_INIT;
    sc.env = &srv->env;
    sc.mode = c->kind == MOXD_SMTP ? MOX_SMTP_SERVER_DELIVERY : MOX_SMTP_SERVER_SUBMISSION;
    sc.hostname = cfg->hostname;
    sc.conn_id = c->cid;
    sc.remote_ip = c->ip;
    sc.local_ip = c->local_ip;
    sc.tls_available = c->kind != MOXD_SUBMISSIONS;
    sc.tls_active = c->kind == MOXD_SUBMISSIONS;
    sc.pedantic = 0;
    sc.max_message_size = cfg->max_message_size;
    sc.max_auth_failures = 3;
    /* Every timeout of the session is the engine's deadline (0: the
     * engine's RFC 5321 §4.5.3.2 defaults; config.c makes localserve's
     * shorter). Past stress_connections open SMTP connections the
     * shorter stress limits apply to every session. */
    sc.command_timeout_ms = cfg->cmd_timeout * 1000u;
    sc.data_timeout_ms = cfg->data_timeout * 1000u;
    sc.session_timeout_ms = cfg->session_timeout * 1000u;
    sc.connections = &srv->nsmtp;
    sc.stress_connections = cfg->stress_connections;
    sc.stress_command_timeout_ms = cfg->stress_cmd_timeout * 1000u;
    sc.stress_data_timeout_ms = cfg->stress_data_timeout * 1000u;
    sc.stress_session_timeout_ms = cfg->stress_session_timeout * 1000u;
    if (c->kind != MOXD_SMTP) {
        sc.auth_mechs = MOX_SASL_ALL_MECHS;
        sc.auth_creds = &srv->creds;
        sc.allow_plain_auth_without_tls = cfg->localserve;
    }
    mox_smtp_server_callbacks cb = MOX_SMTP_SERVER_CALLBACKS_INIT;
    cb.on_mail = on_mail;
    cb.on_rcpt = on_rcpt;
    cb.on_data_start = on_data_start;
    cb.on_data_chunk = on_chunk;
    cb.on_data_end = on_data_end;
    cb.on_reset = on_reset;
    cb.on_auth = on_auth;
    cb.on_verify = on_verify;
    mox_errinfo ei;
    if (mox_smtp_server_new(&c->s, &sc, &cb, c, &ei) != MOX_OK) {
        moxd_logf(srv, MOX_LOG_ERROR, "session setup", "cid", c->cid, "err", ei.msg);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- system DNS */

typedef struct dns_job {
    moxd_job job;
    char *name;
    uint16_t type;
    mox_dns_answer *ans;
    mox_dns_done_fn done;
    void *arg;
} dns_job;

static void dns_work(moxd_job *j)
{
    dns_job *d = (dns_job *)j;
    mox_dns_system *sys = NULL;
    if (mox_dns_system_new(&sys, NULL, 0, 0) == MOX_OK)
        mox_dns_system_query(sys, d->name, d->type, &d->ans);
    mox_dns_system_free(sys);
}

static void dns_job_done(moxd_job *j)
{
    dns_job *d = (dns_job *)j;
    mox_dns_answer *a = d->ans;
    if (!a) {
        /* The resolver could not even build the query (bad name): answer
         * as a server failure, which the evaluators treat as temporary. */
        mox_dns_zone *z = NULL;
        if (mox_dns_zone_new(&z) == MOX_OK && mox_dns_zone_set_failure(z, d->name,
                                                                       MOX_DNS_SERVFAIL) == MOX_OK)
            mox_dns_zone_query(z, d->name, d->type, &a);
        mox_dns_zone_free(z);
    }
    if (a)
        d->done(d->arg, a);
    free(d->name);
    free(d);
}

static int sys_query(void *ctx, const char *name, uint16_t type, mox_dns_done_fn done, void *arg)
{
    moxd_server *srv = ctx;
    dns_job *d = calloc(1, sizeof *d);
    if (!d)
        return MOX_ERR_NOMEM;
    d->name = moxd_strdup(name);
    d->type = type;
    d->done = done;
    d->arg = arg;
    d->job.work = dns_work;
    d->job.done = dns_job_done;
    moxd_pool_submit(srv->pool, &d->job);
    return MOX_OK;
}

void moxd_system_resolver(moxd_server *srv, mox_resolver *r)
{
    mox_resolver x = MOX_RESOLVER_INIT;
    x.ctx = srv;
    x.query = sys_query;
    *r = x;
}
