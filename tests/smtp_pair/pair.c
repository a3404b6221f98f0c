/* The client/server pump of the smtp_pair tests (see pair.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moxtest.h"
#include "pair.h"

/* ---------------------------------------------------------------- sb */

void sb_add(sb *b, const void *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 64;
        while (nc < b->n + n + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            fprintf(stderr, "test out of memory\n");
            abort();
        }
        b->p = np;
        b->cap = nc;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = 0;
}

void sb_adds(sb *b, const char *s) { sb_add(b, s, strlen(s)); }

void sb_addf(sb *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        sb_add(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big)
        abort();
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_add(b, big, (size_t)n);
    free(big);
}

void sb_free(sb *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

const char *sb_str(sb *b) { return b->p ? b->p : ""; }

static char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (!d)
        abort();
    memcpy(d, s, n + 1);
    return d;
}

/* ---------------------------------------------------------------- env */

/* A fixed instant: 2023-11-14T22:13:20Z. Nothing in these tests waits. */
#define WALL_NS ((int64_t)1700000000 * 1000000000)
#define MONO_NS ((int64_t)1000000 * 1000000000)

static int64_t fake_wall(void *ctx)
{
    (void)ctx;
    return WALL_NS;
}

/* Time only moves when both engines wait for it (tarpits, deadlines). */
static int64_t fake_mono(void *ctx)
{
    const pair *p = ctx;
    return p->now;
}

/* Deterministic "randomness" (nonces, salts): runs repeat exactly, which
 * the allocation sweep needs. */
static int fake_random(void *ctx, void *buf, size_t n)
{
    uint32_t *st = ctx;
    unsigned char *b = buf;
    for (size_t i = 0; i < n; i++) {
        *st = *st * 1103515245u + 12345u;
        b[i] = (unsigned char)(*st >> 16);
    }
    return MOX_OK;
}

static void metric(void *ctx, const char *name, const mox_metric_label *l, size_t nl, double d)
{
    (void)l;
    (void)nl;
    (void)d;
    pair *p = ctx;
    if (!strcmp(name, "mox_smtpserver_starttls_injection_total"))
        p->injections++;
    else if (!strcmp(name, "mox_smtpserver_smuggling_total"))
        p->smuggling++;
}

/* ---------------------------------------------------------------- account */

const char *const pair_user = "mjl@mox.example";
/* Non-ASCII and a space: both sides must apply the same PRECIS rules. */
const char *const pair_password = "s\xc3\xa9" "cret pass";
static mox_sasl_secrets g_secrets = MOX_SASL_SECRETS_INIT;
static int g_have_secrets;

void pair_secrets_init(void)
{
    if (g_have_secrets)
        return;
    static const unsigned char salt[] = "pair-test-salt";
    mox_sasl_derive_params dp = MOX_SASL_DERIVE_PARAMS_INIT;
    dp.salt = salt;
    dp.salt_len = sizeof salt - 1;
    assert_int_equal(mox_sasl_secrets_derive(pair_password, strlen(pair_password), &dp,
                                             &g_secrets, NULL),
                     MOX_OK);
    g_have_secrets = 1;
}

void pair_secrets_wipe(void)
{
    mox_sasl_secrets_wipe(&g_secrets);
    g_have_secrets = 0;
}

static int creds_lookup(void *ctx, const char *user, mox_sasl_secrets *out)
{
    pair *p = ctx;
    if (p->mode.defer && !p->lookup_ready) {
        /* Deferred lookup: the pump resumes the exchange. */
        p->lookups_deferred++;
        return MOX_ERR_AGAIN;
    }
    p->lookup_ready = 0;
    if (strcmp(user, pair_user) != 0)
        return MOX_ERR_NOTFOUND;
    size_t keep = out->size;
    memcpy(out, &g_secrets, keep < sizeof g_secrets ? keep : sizeof g_secrets);
    out->size = keep;
    return MOX_OK;
}

/* ---------------------------------------------------------------- server callbacks */

static int decide(pair *p, int kind, mox_smtp_server_reply *r)
{
    if (!p->mode.defer)
        return MOX_SMTP_SERVER_REPLY;
    p->deferred = *r;
    p->deferred_kind = kind;
    p->have_deferred = 1;
    return MOX_SMTP_SERVER_DEFER;
}

/* "<addr>" in Unicode form, into a malloc'd string; NULL on NOMEM. */
static char *path_text(pair *p, const mox_path *path)
{
    mox_buf b = MOX_BUF_INIT;
    int rc = mox_path_format(path, 1, &b);
    if (rc != MOX_OK) {
        mox_buf_free(&b);
        if (rc == MOX_ERR_NOMEM)
            p->nomem = 1;
        return NULL;
    }
    char *s = xstrdup((const char *)b.data);
    mox_buf_free(&b);
    return s;
}

static int on_connect(void *u, mox_smtp_server *s, mox_smtp_server_reply *r)
{
    (void)s;
    pair *p = u;
    if (p->sp->pol.connect_code)
        mox_smtp_server_reply_set(r, p->sp->pol.connect_code, NULL, "no service for you");
    sb_addf(&p->events, "CONNECT -> %d\n", r->code);
    return decide(p, MOX_SMTP_SERVER_DECIDE_CONNECT, r);
}

static int on_hello(void *u, mox_smtp_server *s, const mox_smtp_server_hello *h,
                    mox_smtp_server_reply *r)
{
    pair *p = u;
    p->hellos++;
    if (h->ehlo && p->sp->pol.ehlo_code)
        mox_smtp_server_reply_set(r, p->sp->pol.ehlo_code, NULL, "EHLO not supported");
    sb_addf(&p->events, "%s %s valid=%d tls=%d -> %d\n", h->ehlo ? "EHLO" : "HELO", h->name,
            h->valid, mox_smtp_server_get_session(s)->tls, r->code);
    return decide(p, MOX_SMTP_SERVER_DECIDE_HELLO, r);
}

static const char *or_dash(const char *s) { return s ? s : "-"; }

static int on_mail(void *u, mox_smtp_server *s, const mox_smtp_server_txn *t,
                   mox_smtp_server_reply *r)
{
    (void)s;
    pair *p = u;
    p->mails++;
    p->txn_ok = 0;
    char *from = path_text(p, &t->mail_from);
    if (!from)
        return MOX_ERR_NOMEM;
    sb_addf(&p->events, "MAIL %s body=%d utf8=%d rtls=%d size=%llu ret=%d envid=%s hold=%lld auth=%s",
            from, t->body, t->smtputf8, t->requiretls, (unsigned long long)t->size_declared, t->ret,
            or_dash(t->envid), (long long)t->hold_until, or_dash(t->auth));
    free(from);
    const char *mrp = p->sp->pol.mail_reject_prefix;
    if (p->sp->pol.mail_code)
        mox_smtp_server_reply_set(r, p->sp->pol.mail_code, p->sp->pol.mail_enh,
                                  "sender refused by policy");
    else if (mrp && t->mail_from.mailbox.localpart &&
             !strncmp(t->mail_from.mailbox.localpart, mrp, strlen(mrp)))
        mox_smtp_server_reply_set(r, 550, "5.7.1", "sender refused by policy");
    sb_addf(&p->events, " -> %d\n", r->code);
    return decide(p, MOX_SMTP_SERVER_DECIDE_MAIL, r);
}

static int on_rcpt(void *u, mox_smtp_server *s, const mox_smtp_server_txn *t,
                   const mox_smtp_server_rcpt *rc, mox_smtp_server_reply *r)
{
    (void)s;
    (void)t;
    pair *p = u;
    const policy *pol = &p->sp->pol;
    p->rcpts++;
    char *to = path_text(p, &rc->path);
    if (!to)
        return MOX_ERR_NOMEM;
    sb_addf(&p->events, "RCPT %s notify=%u orcpt=%s", to, rc->notify, or_dash(rc->orcpt));
    if (pol->rcpt_all_code)
        mox_smtp_server_reply_set(r, pol->rcpt_all_code,
                                  pol->rcpt_all_code / 100 == 4 ? "4.5.3" : "5.7.1",
                                  "recipient refused by policy");
    else if (pol->reject_prefix && !strncmp(to + 1, pol->reject_prefix, strlen(pol->reject_prefix)))
        mox_smtp_server_reply_set(r, 550, "5.1.1", "no such user");
    else if (pol->rcpt_accept_max && p->txn_ok >= pol->rcpt_accept_max)
        mox_smtp_server_reply_set(r, pol->rcpt_over_code,
                                  pol->rcpt_over_code == 452 ? "4.5.3" : "5.5.3",
                                  "too many recipients in this transaction");
    free(to);
    r->delay_ms = pol->rcpt_delay_ms;
    r->slow = pol->rcpt_slow;
    if (r->code >= 200 && r->code < 300)
        p->txn_ok++;
    sb_addf(&p->events, " -> %d\n", r->code);
    return decide(p, MOX_SMTP_SERVER_DECIDE_RCPT, r);
}

static int on_data_start(void *u, mox_smtp_server *s, const mox_smtp_server_txn *t,
                         mox_smtp_server_reply *r)
{
    (void)s;
    pair *p = u;
    p->data_starts++;
    if (p->sp->pol.data_start_code) {
        mox_smtp_server_reply_set(r, p->sp->pol.data_start_code, NULL, "not now");
        r->close = p->sp->pol.data_start_close;
    }
    sb_addf(&p->events, "DATA-START rcpts=%zu -> %d\n", t->nrcpts, r->code);
    return decide(p, MOX_SMTP_SERVER_DECIDE_DATA_START, r);
}

static int on_data_chunk(void *u, mox_smtp_server *s, const void *d, size_t n)
{
    (void)s;
    pair *p = u;
    sb_add(&p->cur, d, n);
    return MOX_OK;
}

static int on_data_end(void *u, mox_smtp_server *s, const mox_smtp_server_txn *t,
                       mox_smtp_server_reply *r)
{
    (void)s;
    pair *p = u;
    const policy *pol = &p->sp->pol;
    p->data_ends++;
    if (pol->data_end_code && (!pol->data_end_fail_first || p->data_ends <= pol->data_end_fail_first)) {
        mox_smtp_server_reply_set(r, pol->data_end_code, pol->data_end_enh,
                                  "message not accepted now");
        r->close = pol->data_end_close;
    }
    sb_addf(&p->events, "DATA-END size=%llu chunking=%d 8bit=%d/%d -> %d\n",
            (unsigned long long)t->data_size, t->chunking, t->header_8bit, t->body_8bit, r->code);
    if (p->ntx < PAIR_MAX_TX) {
        stx *x = &p->tx[p->ntx];
        memset(x, 0, sizeof *x);
        x->from = path_text(p, &t->mail_from);
        if (!x->from)
            return MOX_ERR_NOMEM;
        p->ntx++;
        x->body = t->body;
        x->smtputf8 = t->smtputf8;
        x->requiretls = t->requiretls;
        x->ret = t->ret;
        x->chunking = t->chunking;
        x->body_8bit = t->body_8bit;
        x->header_8bit = t->header_8bit;
        x->size_declared = t->size_declared;
        x->data_size = t->data_size;
        x->envid = xstrdup(t->envid);
        x->hold_until = t->hold_until;
        x->code = r->code;
        x->rcpts = calloc(t->nrcpts ? t->nrcpts : 1, sizeof *x->rcpts);
        if (!x->rcpts)
            abort();
        for (size_t i = 0; i < t->nrcpts; i++) {
            x->rcpts[i].path = path_text(p, &t->rcpts[i].path);
            if (!x->rcpts[i].path)
                return MOX_ERR_NOMEM;
            x->nrcpts = i + 1;
            x->rcpts[i].notify = t->rcpts[i].notify;
            x->rcpts[i].orcpt = xstrdup(t->rcpts[i].orcpt);
        }
        sb_add(&x->data, p->cur.p ? p->cur.p : "", p->cur.n);
    }
    p->cur.n = 0;
    return decide(p, MOX_SMTP_SERVER_DECIDE_DATA_END, r);
}

static void on_reset(void *u, mox_smtp_server *s, int reason)
{
    (void)s;
    pair *p = u;
    p->resets++;
    sb_addf(&p->events, "RESET %d\n", reason);
    p->cur.n = 0;
}

static int on_starttls(void *u, mox_smtp_server *s, mox_smtp_server_reply *r)
{
    (void)s;
    pair *p = u;
    p->starttls++;
    if (p->sp->pol.starttls_code)
        mox_smtp_server_reply_set(r, p->sp->pol.starttls_code, "4.7.0", "TLS not available now");
    sb_addf(&p->events, "STARTTLS%s\n", p->sp->pol.starttls_code ? " refused" : "");
    return decide(p, MOX_SMTP_SERVER_DECIDE_STARTTLS, r);
}

static int on_auth(void *u, mox_smtp_server *s, const mox_smtp_server_auth *a,
                   mox_smtp_server_reply *r)
{
    (void)s;
    pair *p = u;
    p->auths++;
    if (a->success && p->sp->pol.auth_refuse)
        mox_smtp_server_reply_set(r, 535, "5.7.8", "account disabled");
    sb_addf(&p->events, "AUTH %s success=%d authcid=%s failure=%s counted=%d -> %d\n",
            or_dash(a->mechanism), a->success, or_dash(a->authcid),
            mox_sasl_failure_name((mox_sasl_failure)a->failure), a->counted, r->code);
    return decide(p, MOX_SMTP_SERVER_DECIDE_AUTH, r);
}

/* Channel binding the server's "TLS stack" reports. */
/* ---------------------------------------------------------------- records */

static void record_delivery(pair *p)
{
    const mox_smtp_client_delivery *d = mox_smtp_client_result(p->c)->delivery;
    assert_true(p->ndone < NELEM(p->dlv));
    cdlv *x = &p->dlv[p->ndone++];
    x->submitted = 1;
    if (!d)
        return;
    x->n = d->nrcpts;
    x->r = calloc(d->nrcpts ? d->nrcpts : 1, sizeof *x->r);
    if (!x->r)
        abort();
    for (size_t i = 0; i < d->nrcpts; i++) {
        x->r[i].address = xstrdup(d->rcpts[i].address);
        x->r[i].accepted = d->rcpts[i].accepted;
        x->r[i].o = d->rcpts[i].status;
        x->r[i].text = xstrdup(d->rcpts[i].status.text ? d->rcpts[i].status.text : "(null)");
        x->r[i].o.text = x->r[i].text;
    }
    x->transactions = d->transactions;
    x->dsn_dropped = d->dsn_dropped;
    x->done = d->done;
    x->naccepted = d->naccepted;
    x->ntemporary = d->ntemporary;
    x->npermanent = d->npermanent;
}

static void record_ends(pair *p)
{
    const mox_smtp_client_status *f = mox_smtp_client_result(p->c)->failure;
    if (f) {
        p->has_failure = 1;
        p->failure = *f;
        snprintf(p->failure_text, sizeof p->failure_text, "%s", f->text ? f->text : "(null)");
        p->failure.text = p->failure_text;
    }
    p->cli_tls = (mox_smtp_client_result(p->c)->tls != NULL);
    p->cli_auth = mox_smtp_client_result(p->c)->authenticated;
    const char *m = mox_smtp_client_result(p->c)->auth_mech;
    snprintf(p->cli_mech, sizeof p->cli_mech, "%s", m ? m : "-");
    const mox_smtp_ehlo *ext = mox_smtp_client_result(p->c)->ehlo;
    p->ext_flags = ext ? ext->flags : 0;
    p->ext_rcptmax = ext ? ext->rcptmax : 0;
    const mox_smtp_server *s = p->s;
    const mox_smtp_server_session *ss = mox_smtp_server_get_session(s);
    p->srv_tls = ss->tls;
    p->srv_transactions = ss->transactions;
    p->srv_auth_failures = ss->auth_failures;
    p->srv_errors = ss->errors;
    snprintf(p->srv_auth_user, sizeof p->srv_auth_user, "%s", or_dash(ss->auth_user));
    snprintf(p->srv_auth_mech, sizeof p->srv_auth_mech, "%s", or_dash(ss->auth_mech));
}

/* ---------------------------------------------------------------- pump */

static uint32_t rnd(pair *p)
{
    uint32_t x = p->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p->rng = x;
    return x;
}

static size_t piece(pair *p, size_t n)
{
    if (n == 0)
        return 0;
    switch (p->mode.split) {
    case SPLIT_BYTE:
        return 1;
    case SPLIT_RANDOM: {
        uint32_t r = rnd(p);
        size_t k;
        switch (r % 4) {
        case 0: k = 1 + (r >> 8) % 3; break;
        case 1: k = 1 + (r >> 8) % 64; break;
        case 2: k = 1 + (r >> 8) % 4096; break;
        default: k = n; break;
        }
        return k < n ? k : n;
    }
    default:
        return n;
    }
}

static int ends_with(const sb *b, const char *s)
{
    size_t l = strlen(s);
    return b->n >= l && !memcmp(b->p + b->n - l, s, l);
}

/* 1 if the stream's last complete line starts with `prefix` and the stream
 * ends right after it. */
static int last_line_is(const sb *b, const char *prefix)
{
    if (!ends_with(b, "\r\n"))
        return 0;
    size_t e = b->n - 2, st = e;
    while (st > 0 && b->p[st - 1] != '\n')
        st--;
    return e - st >= strlen(prefix) && !memcmp(b->p + st, prefix, strlen(prefix));
}

static int srv_closed(pair *p) { return (mox_smtp_server_want(p->s) & MOX_WANT_CLOSED) != 0; }

static int cli_closed(pair *p) { return (mox_smtp_client_want(p->c) & MOX_WANT_CLOSED) != 0; }

/* Idle: the last delivery is complete, another may be submitted. */
static int cli_ready(pair *p)
{
    unsigned w = mox_smtp_client_want(p->c);
    return (w & MOX_WANT_DONE) && !(w & MOX_WANT_CLOSED);
}

static void note_nomem(pair *p, int64_t rc, const char *what)
{
    if (rc == MOX_ERR_NOMEM) {
        p->nomem = 1;
        return;
    }
    if (rc < 0)
        fail_msg("%s: %s", what, mox_strerror((int)rc));
}

/* Client bytes to the server. */
static int step_c2s(pair *p)
{
    const void *o;
    size_t n;
    mox_smtp_client_output(p->c, &o, &n);
    if (n == 0)
        return 0;
    if (srv_closed(p)) {
        /* The peer is gone; a real socket would take the bytes or fail. */
        p->dropped_c2s += n;
        note_nomem(p, mox_smtp_client_output_done(p->c, n), "client output_done");
        return 1;
    }
    size_t k = piece(p, n);
    if (p->sp->pol.close_after_bytes && !p->closed_mid && k > 16)
        k = 16; /* so the server can stop in the middle of the message */
    /* STARTTLS injection: someone on the path appends plaintext commands;
     * in the whole-buffer mode they arrive in the same read. */
    sb tmp = {0};
    sb_add(&tmp, o, k);
    const char *inj = p->sp->inject_c2s;
    int inject = 0;
    if (inj && !p->injected_c2s) {
        sb probe = {0};
        sb_add(&probe, p->c2s.p ? p->c2s.p : "", p->c2s.n);
        sb_add(&probe, o, k);
        inject = ends_with(&probe, "STARTTLS\r\n");
        sb_free(&probe);
    }
    if (inject && p->mode.split == SPLIT_WHOLE) {
        sb_adds(&tmp, inj);
        p->injected_c2s = 1;
        inject = 0;
    }
    int64_t used = mox_smtp_server_feed(p->s, tmp.p, tmp.n);
    sb_free(&tmp);
    if (used < 0) {
        note_nomem(p, (long)used, "server feed");
        used = (int64_t)k; /* the session is broken; the bytes are gone */
    }
    if ((size_t)used > k) {
        assert_true(p->injected_c2s);
        used = (int64_t)k;
    }
    if (used == 0)
        return 0;
    sb_add(&p->c2s, o, (size_t)used);
    if (p->ncw < PAIR_MAX_WRITES)
        p->cw[p->ncw++] = p->c2s.n;
    note_nomem(p, mox_smtp_client_output_done(p->c, (size_t)used), "client output_done");
    if (inject && (size_t)used == k) {
        p->injected_c2s = 1;
        int64_t r = mox_smtp_server_feed(p->s, inj, strlen(inj));
        if (r < 0)
            note_nomem(p, (long)r, "server feed");
        else
            assert_int_equal(r, (int64_t)strlen(inj)); /* taken (and discarded) */
    }
    if (p->sp->pol.close_after_bytes && !p->closed_mid && p->cur.n >= p->sp->pol.close_after_bytes) {
        p->closed_mid = 1;
        int rc = mox_smtp_server_close(p->s, 421, "4.3.2", "shutting down");
        note_nomem(p, rc, "server close");
    }
    return 1;
}

/* Server bytes to the client. */
static int step_s2c(pair *p)
{
    const void *o;
    size_t n;
    unsigned before = mox_smtp_server_want(p->s);
    note_nomem(p, mox_smtp_server_output(p->s, &o, &n), "server output");
    if (n == 0) /* the first output() asks for the greeting: progress too */
        return mox_smtp_server_want(p->s) != before;
    if (cli_closed(p)) {
        p->dropped_s2c += n;
        mox_smtp_server_output_done(p->s, n);
        return 1;
    }
    size_t k = piece(p, n);
    sb tmp = {0};
    sb_add(&tmp, o, k);
    sb_add(&p->s2c, o, k);
    mox_smtp_server_output_done(p->s, k);
    int inject = p->sp->inject_s2c && !p->injected_s2c && last_line_is(&p->s2c, "220 2.0.0");
    if (inject && p->mode.split == SPLIT_WHOLE) {
        /* In the same read as the 220. */
        p->injected_s2c = 1;
        sb_adds(&tmp, p->sp->inject_s2c);
        inject = 0;
    }
    int64_t used = mox_smtp_client_feed(p->c, tmp.p, tmp.n);
    note_nomem(p, used, "client feed");
    if (used >= 0 && (size_t)used != tmp.n)
        assert_true(cli_closed(p));
    sb_free(&tmp);
    if (inject) {
        p->injected_s2c = 1;
        used = mox_smtp_client_feed(p->c, p->sp->inject_s2c, strlen(p->sp->inject_s2c));
        note_nomem(p, used, "client feed");
    }
    if (p->nsw < PAIR_MAX_WRITES)
        p->sw[p->nsw++] = p->s2c.n;
    return 1;
}

static int step_decisions(pair *p)
{
    int pend;
    uint32_t id = mox_smtp_server_pending(p->s, &pend);
    if (pend == MOX_SMTP_SERVER_DECIDE_NONE || srv_closed(p))
        return 0;
    if (p->have_deferred && pend == p->deferred_kind) {
        mox_smtp_server_reply r = p->deferred;
        p->have_deferred = 0;
        note_nomem(p, mox_smtp_server_decide(p->s, id, &r), "server reply");
        return 1;
    }
    if (pend == MOX_SMTP_SERVER_DECIDE_AUTH) {
        p->lookup_ready = 1;
        note_nomem(p, mox_smtp_server_auth_resume(p->s), "server auth_resume");
        return 1;
    }
    fail_msg("server waits for decision %d the pair did not defer", pend);
    return 0;
}

static int step_tls(pair *p)
{
    if (!(mox_smtp_client_want(p->c) & MOX_WANT_TLS))
        return 0;
    if (!(mox_smtp_server_want(p->s) & MOX_WANT_TLS))
        return 0;
    mox_tls_request creq = MOX_TLS_REQUEST_INIT, sreq = MOX_TLS_REQUEST_INIT;
    assert_int_equal(mox_smtp_client_tls_request(p->c, &creq), MOX_OK);
    assert_int_equal(mox_smtp_server_tls_request(p->s, &sreq), MOX_OK);
    assert_int_equal(creq.role, MOX_TLS_ROLE_CLIENT);
    assert_int_equal(sreq.role, MOX_TLS_ROLE_SERVER);
    if (p->sp->tls_fail) {
        note_nomem(p, mox_smtp_server_tls_done(p->s, MOX_ERR_CRYPTO, NULL), "server tls_done");
        note_nomem(p, mox_smtp_client_tls_done(p->c, MOX_ERR_CRYPTO, NULL), "client tls_done");
        return 1;
    }
    const spec *sp = p->sp;
    mox_tls_info si = MOX_TLS_INFO_INIT;
    si.version = 0x0304;
    si.cipher = "TLS_AES_128_GCM_SHA256";
    si.peer_cert = sp->client_cert;
    si.peer_identity = sp->cert_user;
    si.tls_exporter = sp->srv_exporter;
    si.tls_exporter_len = sp->srv_exporter ? sp->cb_len : 0;
    si.tls_unique = sp->srv_unique;
    si.tls_unique_len = sp->srv_unique ? sp->cb_len : 0;
    mox_tls_info ci = MOX_TLS_INFO_INIT;
    ci.version = 0x0304;
    ci.cipher = "TLS_AES_128_GCM_SHA256";
    ci.tls_exporter = sp->cli_exporter;
    ci.tls_exporter_len = sp->cli_exporter ? sp->cb_len : 0;
    ci.tls_unique = sp->cli_unique;
    ci.tls_unique_len = sp->cli_unique ? sp->cb_len : 0;
    ci.peer_identity = sp->client_cert ? "" : NULL;
    note_nomem(p, mox_smtp_server_tls_done(p->s, MOX_OK, &si), "server tls_done");
    p->tls_on = 1;
    p->c2s_tls_at = p->c2s.n;
    p->s2c_tls_at = p->s2c.n;
    note_nomem(p, mox_smtp_client_tls_done(p->c, MOX_OK, &ci), "client tls_done");
    return 1;
}

static int submit_next(pair *p)
{
    mox_errinfo ei;
    int rc = mox_smtp_client_submit(p->c, &p->sp->msgs[p->nsubmitted], &ei);
    if (rc == MOX_ERR_NOMEM) {
        p->nomem = 1;
        return 0;
    }
    if (rc != MOX_OK)
        fail_msg("submit %zu: %s: %s", p->nsubmitted, mox_strerror(rc), ei.msg);
    p->nsubmitted++;
    return 1;
}

static int step_app(pair *p)
{
    if (cli_ready(p)) {
        if (p->nsubmitted > p->ndone)
            record_delivery(p);
        if (p->nsubmitted < p->sp->nmsgs && !p->nomem && submit_next(p))
            return 1;
        if (!p->quit_sent) {
            p->quit_sent = 1;
            if (p->sp->no_quit) {
                p->client_eof_sent = 1; /* we just hang up */
                mox_smtp_server_eof(p->s);
                mox_smtp_client_eof(p->c);
                return 1;
            }
            note_nomem(p, mox_smtp_client_quit(p->c), "client quit");
            return 1;
        }
        return 0;
    }
    if (cli_closed(p)) {
        if (p->nsubmitted > p->ndone)
            record_delivery(p);
        const void *o;
        size_t n;
        mox_smtp_client_output(p->c, &o, &n);
        if (n == 0 && !srv_closed(p) && !p->server_eof_sent) {
            /* The client closed the connection. */
            p->server_eof_sent = 1;
            mox_smtp_server_eof(p->s);
            return 1;
        }
        return 0;
    }
    if (srv_closed(p) && !p->client_eof_sent) {
        const void *o;
        size_t n;
        mox_smtp_server_output(p->s, &o, &n);
        if (n == 0) {
            p->client_eof_sent = 1;
            mox_smtp_client_eof(p->c);
            return 1;
        }
    }
    return 0;
}

static int finished(pair *p)
{
    if (!cli_closed(p) || !srv_closed(p))
        return 0;
    const void *o;
    size_t n;
    mox_smtp_client_output(p->c, &o, &n);
    const void *so;
    size_t sn;
    mox_smtp_server_output(p->s, &so, &sn);
    return n == 0 && sn == 0 && p->nsubmitted == p->ndone;
}

/* Nothing else can happen: let time pass to the next thing due, a held
 * server reply or the client's deadline. */
static int step_time(pair *p)
{
    int64_t due = mox_smtp_server_deadline(p->s);
    int64_t dl = cli_closed(p) ? MOX_NO_DEADLINE : mox_smtp_client_deadline(p->c);
    int64_t next = due < dl ? due : dl;
    if (next == MOX_NO_DEADLINE)
        return 0;
    if (next > p->now)
        p->now = next;
    if (dl <= p->now)
        p->client_timeouts++;
    note_nomem(p, mox_smtp_client_tick(p->c, p->now), "client tick");
    note_nomem(p, mox_smtp_server_tick(p->s, p->now), "server tick");
    return 1;
}

void pair_spec_init(spec *sp)
{
    memset(sp, 0, sizeof *sp);
    mox_smtp_server_config sc = MOX_SMTP_SERVER_CONFIG_INIT;
    sc.hostname = "mx.example";
    sc.conn_id = "c1";
    sc.remote_ip = "192.0.2.1";
    sc.local_ip = "192.0.2.25";
    /* DATA by default; the BDAT scenarios switch CHUNKING on. */
    sc.extensions_off |= MOX_SMTP_EXT_CHUNKING | MOX_SMTP_EXT_BINARYMIME;
    /* The server's own deadlines far away: the client's are what the
     * scenarios exercise (the deadline tests have theirs). */
    sc.command_timeout_ms = sc.data_timeout_ms = sc.session_timeout_ms = 86400000;
    sp->scfg = sc;
    mox_smtp_client_config cc = MOX_SMTP_CLIENT_CONFIG_INIT;
    cc.ehlo_name = "client.example";
    sp->ccfg = cc;
}

int pair_run(pair *p, const spec *sp, run_mode mode)
{
    int sweep = p->sweep;
    memset(p, 0, sizeof *p);
    p->sweep = sweep;
    p->sp = sp;
    p->mode = mode;
    p->rng = mode.seed ? mode.seed : 0x9e3779b9u;
    p->rstate = 42;
    mox_clock ck = MOX_CLOCK_INIT;
    ck.wall_ns = fake_wall;
    ck.mono_ns = fake_mono;
    ck.ctx = p;
    p->now = MONO_NS;
    p->clock = ck;
    mox_metrics mt = MOX_METRICS_INIT;
    mt.ctx = p;
    mt.counter_add = metric;
    p->metrics = mt;
    mox_random rn = MOX_RANDOM_INIT;
    rn.ctx = &p->rstate;
    rn.fill = fake_random;
    p->random = rn;
    mox_env env = MOX_ENV_INIT;
    env.clock = &p->clock;
    env.metrics = &p->metrics;
    env.random = &p->random;
    p->env = env;

    mox_smtp_server_config sc = sp->scfg;
    sc.env = &p->env;
    mox_sasl_credentials creds = MOX_SASL_CREDENTIALS_INIT;
    creds.lookup = creds_lookup;
    creds.ctx = p;
    p->creds = creds;
    if (sc.auth_mechs && !sc.auth_creds)
        sc.auth_creds = &p->creds;
    mox_smtp_server_callbacks cb = MOX_SMTP_SERVER_CALLBACKS_INIT;
    cb.on_connect = on_connect;
    cb.on_hello = on_hello;
    cb.on_mail = on_mail;
    cb.on_rcpt = on_rcpt;
    cb.on_data_start = on_data_start;
    cb.on_data_chunk = on_data_chunk;
    cb.on_data_end = on_data_end;
    cb.on_reset = on_reset;
    cb.on_starttls = on_starttls;
    cb.on_auth = on_auth;
    int rc = mox_smtp_server_new(&p->s, &sc, &cb, p, NULL);
    if (rc == MOX_ERR_NOMEM && p->sweep)
        return rc;
    assert_int_equal(rc, MOX_OK);

    mox_smtp_client_config cc = sp->ccfg;
    cc.env = &p->env;
    if (sp->sasl) {
        rc = mox_smtp_client_sasl_new(&p->sasl, sp->sasl);
        if (rc == MOX_ERR_NOMEM && p->sweep)
            return rc;
        assert_int_equal(rc, MOX_OK);
        cc.auth = mox_smtp_client_sasl_auth(p->sasl);
    }
    mox_errinfo ei;
    rc = mox_smtp_client_new(&p->c, &cc, &ei);
    if (rc == MOX_ERR_NOMEM && p->sweep)
        return rc;
    if (rc != MOX_OK)
        fail_msg("client_new: %s: %s", mox_strerror(rc), ei.msg);

    /* The first message goes in before the greeting arrived. */
    if (sp->nmsgs)
        submit_next(p);

    unsigned long limit = 4000000;
    for (const mox_smtp_client_message *m = sp->msgs; m < sp->msgs + sp->nmsgs; m++)
        limit += 4 * m->len + 200 * m->nrcpts;
    while (!finished(p)) {
        if (++p->iterations > limit)
            fail_msg("pump: no end after %lu iterations", limit);
        unsigned cw = mox_smtp_client_want(p->c);
        if ((cw & MOX_WANT_READ) && !(cw & (MOX_WANT_DONE | MOX_WANT_CLOSED)))
            assert_true(cw & MOX_WANT_TIMER); /* a wait has a deadline */
        int prog = 0;
        prog |= step_c2s(p);
        prog |= step_decisions(p);
        prog |= step_s2c(p);
        prog |= step_tls(p);
        prog |= step_app(p);
        if (!prog && !finished(p))
            prog = step_time(p);
        if (!prog && !finished(p))
            fail_msg("pump stalled: client wants 0x%x, server wants 0x%x, pending %u, "
                     "c2s %zu bytes, s2c %zu bytes\n--- s2c tail:\n%s",
                     mox_smtp_client_want(p->c), mox_smtp_server_want(p->s),
                     (unsigned)mox_smtp_server_pending(p->s, NULL), p->c2s.n, p->s2c.n,
                     p->s2c.n > 400 ? p->s2c.p + p->s2c.n - 400 : sb_str(&p->s2c));
    }
    record_ends(p);
    return MOX_OK;
}

void pair_free(pair *p)
{
    mox_smtp_client_free(p->c);
    mox_smtp_server_free(p->s);
    mox_smtp_client_sasl_free(p->sasl);
    p->c = NULL;
    p->s = NULL;
    p->sasl = NULL;
    sb_free(&p->events);
    sb_free(&p->cur);
    sb_free(&p->c2s);
    sb_free(&p->s2c);
    for (size_t i = 0; i < p->ntx; i++) {
        stx *x = &p->tx[i];
        free(x->from);
        free(x->envid);
        for (size_t k = 0; k < x->nrcpts; k++) {
            free(x->rcpts[k].path);
            free(x->rcpts[k].orcpt);
        }
        free(x->rcpts);
        sb_free(&x->data);
    }
    p->ntx = 0;
    for (size_t i = 0; i < p->ndone; i++) {
        for (size_t k = 0; k < p->dlv[i].n; k++) {
            free(p->dlv[i].r[k].address);
            free(p->dlv[i].r[k].text);
        }
        free(p->dlv[i].r);
    }
    p->ndone = 0;
}

char *pair_summary(pair *p)
{
    sb b = {0};
    for (size_t i = 0; i < p->ndone; i++) {
        cdlv *d = &p->dlv[i];
        sb_addf(&b, "MSG %zu transactions=%u dsn_dropped=%d done=%d acc=%zu temp=%zu perm=%zu\n", i,
                d->transactions, d->dsn_dropped, d->done, d->naccepted, d->ntemporary,
                d->npermanent);
        for (size_t k = 0; k < d->n; k++) {
            crcpt *r = &d->r[k];
            sb_addf(&b, "  %s acc=%d %d %s temp=%d local=%d stage=%d scope=%d %s\n", r->address,
                    r->accepted, r->o.code, r->o.enhanced, r->o.temporary, r->o.local, r->o.stage,
                    r->o.scope, r->text);
        }
    }
    if (p->has_failure)
        sb_addf(&b, "FAILURE %d %s temp=%d local=%d stage=%d scope=%d %s\n", p->failure.code,
                p->failure.enhanced, p->failure.temporary, p->failure.local, p->failure.stage,
                p->failure.scope, p->failure_text);
    sb_addf(&b, "CLIENT tls=%d auth=%d mech=%s\n", p->cli_tls, p->cli_auth, p->cli_mech);
    sb_addf(&b, "SERVER tls=%d transactions=%u auth_failures=%u errors=%u user=%s mech=%s "
                "injections=%u smuggling=%u\n",
            p->srv_tls, p->srv_transactions, p->srv_auth_failures, p->srv_errors, p->srv_auth_user,
            p->srv_auth_mech, p->injections, p->smuggling);
    sb_adds(&b, sb_str(&p->events));
    for (size_t i = 0; i < p->ntx; i++) {
        sb_addf(&b, "TX %zu %zu bytes\n", i, p->tx[i].data.n);
        sb_add(&b, p->tx[i].data.p ? p->tx[i].data.p : "", p->tx[i].data.n);
        sb_adds(&b, "\n");
    }
    return b.p ? b.p : xstrdup("");
}

static void compare(const char *want, const char *got, const char *what)
{
    if (!strcmp(want, got))
        return;
    size_t i = 0;
    while (want[i] && want[i] == got[i])
        i++;
    size_t from = i > 300 ? i - 300 : 0;
    fail_msg("%s differs from the whole-buffer run at byte %zu:\n--- whole:\n%.600s\n--- %s:\n%.600s",
             what, i, want + from, what, got + from);
}

void pair_run_modes(const spec *sp, void (*check)(pair *p), int heavy)
{
    pair *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    run_mode whole = {SPLIT_WHOLE, 0, 0};
    pair_run(p, sp, whole);
    if (getenv("PAIR_TRACE"))
        fprintf(stderr, "=== client -> server\n%s\n=== server -> client\n%s\n=== events\n%s\n",
                sb_str(&p->c2s), sb_str(&p->s2c), sb_str(&p->events));
    if (check)
        check(p);
    char *want = pair_summary(p);
    pair_free(p);
    static const struct {
        run_mode m;
        const char *name;
        int heavy;
    } modes[] = {
        {{SPLIT_WHOLE, 1, 0}, "whole, deferred", 1},
        {{SPLIT_BYTE, 0, 0}, "byte at a time", 0},
        {{SPLIT_BYTE, 1, 0}, "byte at a time, deferred", 0},
        {{SPLIT_RANDOM, 0, 7}, "random splits (seed 7)", 1},
        {{SPLIT_RANDOM, 1, 1234567}, "random splits, deferred (seed 1234567)", 1},
    };
    for (size_t i = 0; i < NELEM(modes); i++) {
        if (heavy && !modes[i].heavy)
            continue;
        pair_run(p, sp, modes[i].m);
        if (getenv("PAIR_STATS"))
            fprintf(stderr, "mode %s: %lu iterations, %zu+%zu bytes\n", modes[i].name,
                    p->iterations, p->c2s.n, p->s2c.n);
        char *got = pair_summary(p);
        compare(want, got, modes[i].name);
        free(got);
        pair_free(p);
    }
    free(want);
    free(p);
}

static char *write_with(const sb *w, const size_t *ends, size_t n, const char *needle)
{
    size_t st = 0;
    for (size_t i = 0; i < n; i++) {
        size_t e = ends[i];
        size_t l = e - st;
        char *s = malloc(l + 1);
        if (!s)
            abort();
        memcpy(s, w->p + st, l);
        s[l] = 0;
        if (strstr(s, needle))
            return s;
        free(s);
        st = e;
    }
    return NULL;
}

char *pair_client_write_with(pair *p, const char *needle)
{
    return write_with(&p->c2s, p->cw, p->ncw, needle);
}

char *pair_server_write_with(pair *p, const char *needle)
{
    return write_with(&p->s2c, p->sw, p->nsw, needle);
}

void pair_crlf_normalise(const void *in, size_t n, sb *out)
{
    const unsigned char *s = in;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r') {
            if (i + 1 < n && s[i + 1] == '\n')
                i++;
            sb_add(out, "\r\n", 2);
        } else if (s[i] == '\n') {
            sb_add(out, "\r\n", 2);
        } else {
            sb_add(out, s + i, 1);
        }
    }
    if (n && s[n - 1] != '\n' && s[n - 1] != '\r')
        sb_add(out, "\r\n", 2);
}
