/* check_host() (RFC 7208 §4-§6, §8) as a resumable state machine behind
 * the engine contract (include/mox/engine.h).
 *
 * The evaluation is a stack of frames, one per record being evaluated
 * (the top record, then one per include; redirect replaces a frame). Only
 * the innermost frame advances. Every DNS need becomes a group of
 * questions in the question table (s->wait says which handler takes the
 * answers): one question, or, where RFC 7208 needs several known at the
 * same moment, all of them at once (the A/AAAA of every MX host of one
 * "mx" term, the A/AAAA of every PTR name of the client). Answers of a
 * group may come in any order; they are used in the order a sequential
 * evaluation would have used them, so results, counters and the
 * authentic flag are the same as one question at a time would give.
 * Handlers copy what they need out of an answer, so nothing the embedder
 * passes is kept. */
#include <stdio.h>

#include "engine/engine_priv.h"
#include "mox/text.h"
#include "spf/spf_priv.h"

enum { W_NONE, W_RECORD, W_A, W_EXISTS, W_MX, W_MX_ADDR, W_PTR, W_PTR_ADDR, W_EXP };
enum { F_FETCH, F_EVAL };
/* Per-term progress. */
enum { T_START, T_PTR, T_EXPAND, T_QUERY, T_WAIT, T_MX_ADDR, T_MX_WAIT, T_CHILD, T_CHILD_DONE };
/* Explanation progress. */
enum { E_START, E_PTR1, E_QUERY, E_WAIT, E_PTR2, E_TEXT, E_DEFAULT };
/* %{p} / ptr data progress. */
enum { P_NONE, P_ASKED, P_NAMES, P_VALIDATING, P_DONE };

/* The answer to the address question of one MX host. */
enum { MXA_PENDING, MXA_NOMATCH, MXA_MATCH, MXA_ERROR };
typedef struct mx_addr {
    unsigned char state;
    unsigned char authentic;
    int status;
} mx_addr;

typedef struct frame {
    char *domain;
    mox_spf_record *rec;
    size_t idx;
    int phase;
    int via_redirect;
    int tstate;
    char *target;
    char **mx;
    mx_addr *mxa;
    size_t nmx, mxi;
    int matched;     /* answer handler verdict for the current term */
    int child_result;
} frame;

struct mox_spf {
    mox_engine eng; /* generic view (mox_spf_engine) */
    /* limits */
    unsigned max_terms, max_void, max_mx, max_ptr;
    size_t max_expansion, max_explanation;
    const mox_env *env;
    /* identity */
    char *sender, *local, *odomain, *helo, *receiver, *defexp;
    unsigned char ip[16];
    int v6;
    int64_t t;
    int identity;
    int domain_bad;
    int multi;       /* the identity domain needs 2+ labels (RFC 7208 §4.3) */
    /* frames */
    frame *fr;
    size_t nfr, capfr;
    int started;
    int failed;      /* out of memory half-way: unusable */
    /* questions: the table, and the group the evaluation waits for */
    moxi_qset qs;
    int wait;        /* W_* of the group, W_NONE when not waiting */
    uint32_t wait_id; /* id of the group's first question (ids are
                         consecutive within a group) */
    size_t wait_n, wait_left;
    /* %{p} / ptr data, computed once */
    int pp_state;    /* P_* */
    int pp_void, pp_err;
    char **pp_names;
    unsigned char *pp_valid;
    size_t pp_n;
    /* explanation */
    int exp_active, estate;
    char *exp_target, *exp_text;
    /* outcome */
    int done;
    mox_spf_outcome out;
    char *o_mech, *o_expl, *o_problem;
    unsigned lookups, voids, queries;
    int any_answer, all_authentic;
};

static int advance(mox_spf *s);
static const moxi_engine_ops spf_ops;

/* ------------------------------------------------------------ helpers */

static frame *top(mox_spf *s) { return &s->fr[s->nfr - 1]; }

static void term_reset(frame *f)
{
    f->tstate = T_START;
    mox_free(f->target);
    f->target = NULL;
    for (size_t i = 0; i < f->nmx; i++)
        mox_free(f->mx[i]);
    mox_free(f->mx);
    f->mx = NULL;
    mox_free(f->mxa);
    f->mxa = NULL;
    f->nmx = f->mxi = 0;
    f->matched = 0;
}

static void frame_clear(frame *f)
{
    term_reset(f);
    mox_free(f->domain);
    mox_spf_record_free(f->rec);
    memset(f, 0, sizeof *f);
}

static int set_problem(mox_spf *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int set_problem(mox_spf *s, const char *fmt, ...)
{
    mox_buf b = MOX_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    int rc = mox_buf_vappendf(&b, fmt, ap);
    va_end(ap);
    if (rc) {
        mox_buf_free(&b);
        return rc;
    }
    mox_free(s->o_problem);
    s->o_problem = mox_buf_steal(&b, NULL);
    return s->o_problem ? MOX_OK : MOX_ERR_NOMEM;
}

/* Ends the whole evaluation (errors, none): nothing is matched. */
static int final(mox_spf *s, int result, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int final(mox_spf *s, int result, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->out.result = result;
    s->done = 1;
    mox_free(s->o_mech);
    s->o_mech = NULL;
    moxi_logf(s->env, MOX_LOG_DEBUG, "spf: %s: %s", mox_spf_result_name(result), msg);
    return set_problem(s, "%s", msg);
}

/* Starts a group of `n` questions of one type (names[i]), all known now;
 * the evaluation waits until the group is resolved. */
static int ask_group(mox_spf *s, int kind, char *const *names, size_t n, uint16_t type)
{
    uint32_t id = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = moxi_qset_dns(&s->qs, names[i], strlen(names[i]), type, 0, i ? NULL : &id);
        if (rc)
            return rc == MOX_ERR_LIMIT ? MOX_ERR_NOMEM : rc;
    }
    s->wait = kind;
    s->wait_id = id;
    s->wait_n = s->wait_left = n;
    return MOX_OK;
}

static int ask(mox_spf *s, int kind, const char *name, uint16_t type)
{
    char *const names[1] = {(char *)name};
    return ask_group(s, kind, names, 1, type);
}

/* The group is resolved: questions of it not handed out yet are
 * withdrawn (those handed out are answered and ignored). */
static void group_done(mox_spf *s)
{
    for (size_t i = 0; i < s->wait_n; i++) {
        uint32_t id = s->wait_id + (uint32_t)i;
        const moxi_qslot *sl = &s->qs.v[id - s->qs.base];
        if (sl->state == MOXI_Q_UNASKED)
            moxi_qset_cancel(&s->qs, id);
    }
    s->wait = W_NONE;
    s->wait_n = s->wait_left = 0;
}

/* An answer the evaluation uses: counted, and its DNSSEC status kept. */
static void used(mox_spf *s, int authentic)
{
    s->queries++;
    s->any_answer = 1;
    if (!authentic)
        s->all_authentic = 0;
}

/* Answer classes. */
enum { A_OK, A_VOID, A_ERR };

static int classify(const mox_dns_answer *a)
{
    if (a->status == MOX_DNS_NXDOMAIN)
        return A_VOID;
    if (a->status != MOX_DNS_NOERROR)
        return A_ERR;
    return mox_dns_answer_count(a, a->qtype) ? A_OK : A_VOID;
}

static int count_void(mox_spf *s)
{
    if (++s->voids > s->max_void)
        return final(s, MOX_SPF_PERMERROR, "more than %u void DNS lookups", s->max_void);
    return MOX_OK;
}

static int prefix_match(const unsigned char *a, const unsigned char *b, int bits)
{
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)full))
        return 0;
    if (!rest)
        return 1;
    unsigned char m = (unsigned char)(0xff << (8 - rest));
    return (a[full] & m) == (b[full] & m);
}

static int addr_matches(const mox_spf *s, const mox_dns_rr *rr, int cidr4, int cidr6)
{
    if (!s->v6 && rr->type == MOX_DNS_A)
        return prefix_match(rr->u.a, s->ip, cidr4 < 0 ? 32 : cidr4);
    if (s->v6 && rr->type == MOX_DNS_AAAA)
        return prefix_match(rr->u.aaaa, s->ip, cidr6 < 0 ? 128 : cidr6);
    return 0;
}

static uint16_t addr_type(const mox_spf *s) { return s->v6 ? MOX_DNS_AAAA : MOX_DNS_A; }

static int name_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la && a[la - 1] == '.')
        la--;
    if (lb && b[lb - 1] == '.')
        lb--;
    return la == lb && moxi_memcaseeq(a, b, la);
}

/* 1 if `name` is `dom` or a subdomain of it. */
static int name_within(const char *name, const char *dom)
{
    size_t ln = strlen(name), ld = strlen(dom);
    if (ln && name[ln - 1] == '.')
        ln--;
    if (ld && dom[ld - 1] == '.')
        ld--;
    if (ln < ld || !moxi_memcaseeq(name + ln - ld, dom, ld))
        return 0;
    return ln == ld || name[ln - ld - 1] == '.';
}

static void fill_vars(const mox_spf *s, moxi_spf_vars *v, const char *domain)
{
    memset(v, 0, sizeof *v);
    v->sender = s->sender;
    v->local = s->local;
    v->odomain = s->odomain;
    v->domain = domain;
    v->helo = s->helo;
    v->receiver = s->receiver;
    memcpy(v->ip, s->ip, 16);
    v->v6 = s->v6;
    v->t = s->t;
    v->ptr = NULL;
    if (s->pp_state == P_DONE) {
        /* RFC 7208 §7.3: prefer a validated name within <domain>. */
        for (size_t i = 0; i < s->pp_n; i++)
            if (s->pp_valid[i] && name_eq(s->pp_names[i], domain)) {
                v->ptr = s->pp_names[i];
                return;
            }
        for (size_t i = 0; i < s->pp_n; i++)
            if (s->pp_valid[i] && name_within(s->pp_names[i], domain)) {
                v->ptr = s->pp_names[i];
                return;
            }
        for (size_t i = 0; i < s->pp_n; i++)
            if (s->pp_valid[i]) {
                v->ptr = s->pp_names[i];
                return;
            }
    }
}

/* Expands a macro-string into a new string. Returns MOX_OK, MOX_ERR_NOMEM,
 * or another error (syntax, limit) with *why set. */
static int expand(mox_spf *s, const char *spec, size_t len, const char *domain, unsigned flags,
                  char **out, mox_errinfo *ei)
{
    moxi_spf_vars v;
    mox_buf b = MOX_BUF_INIT;
    fill_vars(s, &v, domain);
    int rc = moxi_spf_macro(spec, len, &v, flags, s->max_expansion, &b, NULL, NULL, ei);
    if (rc == MOX_OK && !b.data)
        rc = mox_buf_reserve(&b, 0);
    if (rc) {
        mox_buf_free(&b);
        return rc;
    }
    *out = mox_buf_steal(&b, NULL);
    return *out ? MOX_OK : MOX_ERR_NOMEM;
}

static void reverse_name(const mox_spf *s, char *out, size_t outsz)
{
    if (!s->v6) {
        snprintf(out, outsz, "%u.%u.%u.%u.in-addr.arpa", s->ip[3], s->ip[2], s->ip[1], s->ip[0]);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 15; i >= 0; i--) {
        out[o++] = hex[s->ip[i] & 15];
        out[o++] = '.';
        out[o++] = hex[s->ip[i] >> 4];
        out[o++] = '.';
    }
    snprintf(out + o, outsz - o, "ip6.arpa");
}

/* ------------------------------------------------------------ ptr data */

/* Advances the PTR lookup + validation shared by "ptr" and %{p}: the PTR
 * question, then the address questions of every name at once (each name
 * is validated on its own, RFC 7208 §5.5, so their order does not
 * matter). Returns 1 when complete, 0 when questions are pending, <0 on
 * error. */
static int ptr_run(mox_spf *s)
{
    if (s->pp_state == P_NONE) {
        char rev[80];
        reverse_name(s, rev, sizeof rev);
        int rc = ask(s, W_PTR, rev, MOX_DNS_PTR);
        if (rc)
            return rc;
        s->pp_state = P_ASKED;
        return 0;
    }
    if (s->pp_state == P_NAMES) {
        if (s->pp_n) {
            int rc = ask_group(s, W_PTR_ADDR, s->pp_names, s->pp_n, addr_type(s));
            if (rc)
                return rc;
            s->pp_state = P_VALIDATING;
            return 0;
        }
        s->pp_state = P_DONE;
    }
    return s->pp_state == P_DONE ? 1 : 0;
}

static int on_ptr(mox_spf *s, const mox_dns_answer *a)
{
    int c = classify(a);
    s->pp_state = P_NAMES;
    if (c == A_ERR) {
        s->pp_err = 1; /* RFC 7208 §5.5: ptr fails to match, %{p} unknown */
        return MOX_OK;
    }
    if (c == A_VOID) {
        s->pp_void = 1;
        return MOX_OK;
    }
    size_t n = 0;
    for (size_t i = 0; i < a->nrr; i++)
        if (a->rr[i].type == MOX_DNS_PTR && a->rr[i].u.target && a->rr[i].u.target[0])
            n++;
    if (n > s->max_ptr)
        n = s->max_ptr; /* RFC 7208 §4.6.4: the rest is ignored */
    s->pp_names = n ? mox_calloc(n, sizeof(char *)) : NULL;
    s->pp_valid = n ? mox_calloc(n, 1) : NULL;
    if (n && (!s->pp_names || !s->pp_valid))
        return MOX_ERR_NOMEM;
    for (size_t i = 0; i < a->nrr && s->pp_n < n; i++) {
        const mox_dns_rr *rr = &a->rr[i];
        if (rr->type != MOX_DNS_PTR || !rr->u.target || !rr->u.target[0])
            continue;
        size_t l = strlen(rr->u.target);
        if (rr->u.target[l - 1] == '.')
            l--;
        if (!(s->pp_names[s->pp_n] = moxi_strndup(rr->u.target, l)))
            return MOX_ERR_NOMEM;
        s->pp_n++;
    }
    return MOX_OK;
}

static int on_ptr_addr(mox_spf *s, size_t idx, const mox_dns_answer *a)
{
    /* A DNS error on one name skips it (RFC 7208 §5.5). */
    for (size_t i = 0; i < a->nrr; i++)
        if (addr_matches(s, &a->rr[i], -1, -1))
            s->pp_valid[idx] = 1;
    if (--s->wait_left == 0) {
        group_done(s);
        s->pp_state = P_DONE;
    }
    return MOX_OK;
}

/* ------------------------------------------------------------ frames */

static int push_frame(mox_spf *s, const char *domain, int via_redirect)
{
    if (s->nfr == s->capfr)
        return final(s, MOX_SPF_PERMERROR, "include nesting too deep");
    frame *f = &s->fr[s->nfr];
    memset(f, 0, sizeof *f);
    if (!(f->domain = moxi_strdup(domain)))
        return MOX_ERR_NOMEM;
    f->via_redirect = via_redirect;
    f->phase = F_FETCH;
    s->nfr++;
    return MOX_OK;
}

static int start_explanation(mox_spf *s)
{
    s->exp_active = 1;
    s->estate = top(s)->rec && top(s)->rec->exp ? E_START : E_DEFAULT;
    return MOX_OK;
}

/* The record of frame f produced `result` through `t` (NULL: default). */
static int frame_result(mox_spf *s, frame *f, int result, const mox_spf_term *t)
{
    if (s->nfr > 1) {
        frame_clear(f);
        s->nfr--;
        frame *p = top(s);
        p->child_result = result;
        p->tstate = T_CHILD_DONE;
        return MOX_OK;
    }
    s->out.result = result;
    if (t) {
        if (!(s->o_mech = moxi_strndup(t->text, t->text_len)))
            return MOX_ERR_NOMEM;
    }
    if (result == MOX_SPF_FAIL)
        return start_explanation(s);
    s->done = 1;
    return MOX_OK;
}

static int qual_result(char q)
{
    switch (q) {
    case '-': return MOX_SPF_FAIL;
    case '~': return MOX_SPF_SOFTFAIL;
    case '?': return MOX_SPF_NEUTRAL;
    default: return MOX_SPF_PASS;
    }
}

static int on_record(mox_spf *s, const mox_dns_answer *a)
{
    frame *f = top(s);
    int c = classify(a);
    if (c == A_ERR)
        return final(s, MOX_SPF_TEMPERROR, "DNS %s looking up TXT for %s",
                     mox_dns_status_name(a->status), f->domain);
    const mox_dns_rr *found = NULL;
    size_t nfound = 0;
    for (size_t i = 0; c == A_OK && i < a->nrr; i++) {
        const mox_dns_rr *rr = &a->rr[i];
        if (rr->type != MOX_DNS_TXT)
            continue;
        /* Selection looks at the start of the joined strings. */
        char head[7];
        size_t hl = 0;
        for (size_t k = 0; k < rr->u.txt.count && hl < 7; k++)
            for (size_t j = 0; j < rr->u.txt.len[k] && hl < 7; j++)
                head[hl++] = (char)rr->u.txt.str[k][j];
        if (mox_spf_is_record(head, hl)) {
            found = rr;
            nfound++;
        }
    }
    if (nfound > 1)
        return final(s, MOX_SPF_PERMERROR, "%zu SPF records for %s", nfound, f->domain);
    if (nfound == 0) {
        if (s->nfr > 1 || f->via_redirect)
            return final(s, MOX_SPF_PERMERROR, "no SPF record for %s %s", f->via_redirect ?
                         "redirect target" : "included domain", f->domain);
        return final(s, MOX_SPF_NONE, "no SPF record for %s", f->domain);
    }
    mox_buf b = MOX_BUF_INIT;
    int rc = mox_dns_txt_join(found, &b);
    if (rc == MOX_OK && !b.data)
        rc = mox_buf_reserve(&b, 0);
    if (rc) {
        mox_buf_free(&b);
        return rc;
    }
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    rc = mox_spf_record_parse((const char *)b.data, b.len, &f->rec, &ei);
    mox_buf_free(&b);
    if (rc == MOX_ERR_NOMEM)
        return rc;
    if (rc)
        return final(s, MOX_SPF_PERMERROR, "bad SPF record for %s at offset %zu: %s", f->domain,
                     ei.offset, ei.msg);
    f->phase = F_EVAL;
    f->idx = 0;
    term_reset(f);
    return MOX_OK;
}

/* Common start of the terms that take a domain: counting, %{p}, expansion.
 * Returns 1 when f->target is ready, 0 when waiting/finished, <0 error. */
static int term_target(mox_spf *s, frame *f, const mox_spf_term *t)
{
    if (f->tstate == T_START) {
        if (++s->lookups > s->max_terms)
            return final(s, MOX_SPF_PERMERROR, "more than %u DNS-querying terms", s->max_terms);
        f->tstate = T_PTR;
    }
    if (f->tstate == T_PTR) {
        if (t->spec && moxi_spf_macro_uses_p(t->spec, t->spec_len)) {
            int rc = ptr_run(s);
            if (rc <= 0)
                return rc;
        }
        f->tstate = T_EXPAND;
    }
    if (f->tstate == T_EXPAND) {
        if (t->spec) {
            mox_errinfo ei;
            mox_errinfo_clear(&ei);
            int rc = expand(s, t->spec, t->spec_len, f->domain, MOX_SPF_EXPAND_DOMAIN, &f->target,
                            &ei);
            if (rc == MOX_ERR_NOMEM)
                return rc;
            if (rc)
                return final(s, MOX_SPF_PERMERROR, "%.*s: %s", (int)(t->text_len > 80 ? 80 : t->text_len),
                             t->text, ei.msg);
        } else if (!(f->target = moxi_strdup(f->domain))) {
            return MOX_ERR_NOMEM;
        }
        if (!moxi_spf_domain_ok(f->target, strlen(f->target), 0))
            return final(s, MOX_SPF_PERMERROR, "%.*s: invalid domain name '%.100s'",
                         (int)(t->text_len > 80 ? 80 : t->text_len), t->text, f->target);
        f->tstate = T_QUERY;
    }
    return 1;
}

enum { NOMATCH = 0, MATCH = 1 };

/* Evaluates the current term; may set a question, advance, or finish. */
static int eval_term(mox_spf *s, frame *f)
{
    const mox_spf_term *t = &f->rec->terms[f->idx];
    int verdict = NOMATCH, rc;
    switch (t->kind) {
    case MOX_SPF_ALL:
        verdict = MATCH;
        break;
    case MOX_SPF_IP4:
        verdict = !s->v6 && prefix_match(t->ip, s->ip, t->cidr4 < 0 ? 32 : t->cidr4);
        break;
    case MOX_SPF_IP6:
        verdict = s->v6 && prefix_match(t->ip, s->ip, t->cidr6 < 0 ? 128 : t->cidr6);
        break;
    case MOX_SPF_A:
    case MOX_SPF_EXISTS:
    case MOX_SPF_MX:
        if (f->tstate < T_QUERY && (rc = term_target(s, f, t)) <= 0)
            return rc;
        if (f->tstate == T_QUERY) {
            f->tstate = T_WAIT;
            if (t->kind == MOX_SPF_A)
                return ask(s, W_A, f->target, addr_type(s));
            if (t->kind == MOX_SPF_EXISTS)
                return ask(s, W_EXISTS, f->target, MOX_DNS_A);
            return ask(s, W_MX, f->target, MOX_DNS_MX);
        }
        if (f->tstate == T_MX_ADDR) {
            /* The address questions of every host at once (at most
             * max_mx of them, RFC 7208 §4.6.4); on_mx_addr uses the
             * answers in MX order. */
            f->tstate = T_MX_WAIT;
            if (f->nmx)
                return ask_group(s, W_MX_ADDR, f->mx, f->nmx, addr_type(s));
        }
        verdict = f->matched;
        break;
    case MOX_SPF_PTR:
        if (f->tstate < T_QUERY && (rc = term_target(s, f, t)) <= 0)
            return rc;
        if ((rc = ptr_run(s)) <= 0)
            return rc;
        if (f->tstate == T_QUERY) {
            f->tstate = T_WAIT;
            if (s->pp_void && (rc = count_void(s)))
                return rc;
            if (s->done)
                return MOX_OK;
        }
        for (size_t i = 0; i < s->pp_n && !verdict; i++)
            verdict = s->pp_valid[i] && name_within(s->pp_names[i], f->target);
        break;
    case MOX_SPF_INCLUDE:
        if (f->tstate < T_QUERY && (rc = term_target(s, f, t)) <= 0)
            return rc;
        if (f->tstate == T_QUERY) {
            if (!moxi_spf_domain_ok(f->target, strlen(f->target), 1))
                return final(s, MOX_SPF_PERMERROR, "include of invalid domain '%.100s'", f->target);
            f->tstate = T_CHILD;
            return push_frame(s, f->target, 0);
        }
        /* T_CHILD_DONE: RFC 7208 §5.2 table. */
        if (f->child_result == MOX_SPF_NONE)
            return final(s, MOX_SPF_PERMERROR, "included domain %s has no SPF record", f->target);
        verdict = f->child_result == MOX_SPF_PASS;
        break;
    default: /* modifiers are looked at after the mechanisms */
        break;
    }
    if (verdict == MATCH)
        return frame_result(s, f, qual_result(t->qualifier), t);
    f->idx++;
    term_reset(f);
    return MOX_OK;
}

/* No mechanism matched: redirect, or the default "neutral". */
static int end_of_terms(mox_spf *s, frame *f)
{
    const mox_spf_term *t = f->rec->redirect;
    if (!t)
        return frame_result(s, f, MOX_SPF_NEUTRAL, NULL);
    int rc = term_target(s, f, t);
    if (rc <= 0)
        return rc;
    if (!moxi_spf_domain_ok(f->target, strlen(f->target), 1))
        return final(s, MOX_SPF_PERMERROR, "redirect to invalid domain '%.100s'", f->target);
    /* The redirect target's record replaces this one (RFC 7208 §6.1). */
    char *target = f->target;
    f->target = NULL;
    term_reset(f);
    mox_spf_record_free(f->rec);
    f->rec = NULL;
    mox_free(f->domain);
    f->domain = target;
    f->phase = F_FETCH;
    f->via_redirect = 1;
    f->idx = 0;
    return MOX_OK;
}

/* ------------------------------------------------------------ explanation */

static int set_explanation(mox_spf *s, char *text, int dflt)
{
    size_t n = strlen(text);
    if (n > s->max_explanation)
        text[s->max_explanation] = '\0';
    mox_free(s->o_expl);
    s->o_expl = text;
    s->out.explanation_default = dflt;
    s->exp_active = 0;
    s->done = 1;
    return MOX_OK;
}

static int exp_step(mox_spf *s)
{
    frame *f = top(s);
    const mox_spf_term *t = f->rec ? f->rec->exp : NULL;
    int rc;
    char *text = NULL;
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    switch (s->estate) {
    case E_START:
        s->estate = E_PTR1;
        /* fall through */
    case E_PTR1:
        if (moxi_spf_macro_uses_p(t->spec, t->spec_len) && (rc = ptr_run(s)) <= 0)
            return rc;
        rc = expand(s, t->spec, t->spec_len, f->domain, MOX_SPF_EXPAND_DOMAIN, &s->exp_target, &ei);
        if (rc == MOX_ERR_NOMEM)
            return rc;
        if (rc || !moxi_spf_domain_ok(s->exp_target, strlen(s->exp_target), 0)) {
            s->estate = E_DEFAULT;
            return MOX_OK;
        }
        s->estate = E_WAIT;
        return ask(s, W_EXP, s->exp_target, MOX_DNS_TXT);
    case E_PTR2:
        if (moxi_spf_macro_uses_p(s->exp_text, strlen(s->exp_text)) && (rc = ptr_run(s)) <= 0)
            return rc;
        rc = expand(s, s->exp_text, strlen(s->exp_text), f->domain, MOX_SPF_EXPAND_EXP, &text, &ei);
        if (rc == MOX_ERR_NOMEM)
            return rc;
        if (rc) {
            s->estate = E_DEFAULT;
            return MOX_OK;
        }
        return set_explanation(s, text, 0);
    default: /* E_DEFAULT */
        if (moxi_spf_macro_uses_p(s->defexp, strlen(s->defexp)) && (rc = ptr_run(s)) <= 0)
            return rc;
        rc = expand(s, s->defexp, strlen(s->defexp), f->domain, MOX_SPF_EXPAND_EXP, &text, &ei);
        if (rc == MOX_ERR_NOMEM)
            return rc;
        if (rc && !(text = moxi_strdup("SPF check failed")))
            return MOX_ERR_NOMEM;
        return set_explanation(s, text, 1);
    }
}

static int on_exp(mox_spf *s, const mox_dns_answer *a)
{
    /* RFC 7208 §6.2: no record, several records, DNS errors or syntax
     * errors all mean the default explanation. */
    s->estate = E_DEFAULT;
    if (classify(a) != A_OK || mox_dns_answer_count(a, MOX_DNS_TXT) != 1)
        return MOX_OK;
    for (size_t i = 0; i < a->nrr; i++) {
        if (a->rr[i].type != MOX_DNS_TXT)
            continue;
        mox_buf b = MOX_BUF_INIT;
        int rc = mox_dns_txt_join(&a->rr[i], &b);
        if (rc == MOX_OK && !b.data)
            rc = mox_buf_reserve(&b, 0);
        if (rc == MOX_OK && memchr(b.data, 0, b.len)) {
            mox_buf_free(&b);
            return MOX_OK;
        }
        if (rc) {
            mox_buf_free(&b);
            return rc;
        }
        if (moxi_spf_macro((char *)b.data, b.len, NULL, MOXI_SPF_CHECK_ONLY | MOX_SPF_EXPAND_EXP, 0,
                           NULL, NULL, NULL, NULL) == MOX_OK) {
            s->exp_text = mox_buf_steal(&b, NULL);
            if (!s->exp_text)
                return MOX_ERR_NOMEM;
            s->estate = E_PTR2;
        }
        mox_buf_free(&b);
        break;
    }
    return MOX_OK;
}

static void publish(mox_spf *s);

/* ------------------------------------------------------------ answers */

static int on_a_answer(mox_spf *s, frame *f, int kind, const mox_dns_answer *a)
{
    const mox_spf_term *t = &f->rec->terms[f->idx];
    int c = classify(a);
    if (c == A_ERR)
        return final(s, MOX_SPF_TEMPERROR, "DNS %s looking up %s %s", mox_dns_status_name(a->status),
                     mox_dns_type_name(a->qtype), f->target);
    if (c == A_VOID)
        return count_void(s);
    if (kind == W_EXISTS) {
        f->matched = 1;
        return MOX_OK;
    }
    for (size_t i = 0; i < a->nrr && !f->matched; i++)
        f->matched = addr_matches(s, &a->rr[i], t->cidr4, t->cidr6);
    return MOX_OK;
}

static int on_mx(mox_spf *s, frame *f, const mox_dns_answer *a)
{
    int c = classify(a);
    f->tstate = T_MX_ADDR;
    if (c == A_ERR)
        return final(s, MOX_SPF_TEMPERROR, "DNS %s looking up MX %s", mox_dns_status_name(a->status),
                     f->target);
    if (c == A_VOID)
        return count_void(s);
    size_t n = mox_dns_answer_count(a, MOX_DNS_MX);
    if (n > s->max_mx)
        return final(s, MOX_SPF_PERMERROR, "%zu MX records for %s, more than %u", n, f->target,
                     s->max_mx);
    f->mx = mox_calloc(n ? n : 1, sizeof(char *));
    f->mxa = mox_calloc(n ? n : 1, sizeof *f->mxa);
    if (!f->mx || !f->mxa)
        return MOX_ERR_NOMEM;
    for (size_t i = 0; i < a->nrr; i++) {
        const mox_dns_rr *rr = &a->rr[i];
        /* A null MX ("." , RFC 7505) names no host. */
        if (rr->type != MOX_DNS_MX || !rr->u.mx.host || !rr->u.mx.host[0] ||
            !strcmp(rr->u.mx.host, "."))
            continue;
        if (!(f->mx[f->nmx] = moxi_strdup(rr->u.mx.host)))
            return MOX_ERR_NOMEM;
        f->nmx++;
    }
    return MOX_OK;
}

/* Keeps the answer for host `idx`, then uses the answers in MX order as
 * far as they go: the first host with a DNS error ends the evaluation
 * (temperror), the first matching host matches; hosts after the deciding
 * one are ignored, as if they had never been asked. */
static int on_mx_addr(mox_spf *s, frame *f, size_t idx, const mox_dns_answer *a)
{
    const mox_spf_term *t = &f->rec->terms[f->idx];
    mx_addr *x = &f->mxa[idx];
    x->authentic = a->authentic != 0;
    x->status = a->status;
    if (classify(a) == A_ERR) {
        x->state = MXA_ERROR;
    } else {
        x->state = MXA_NOMATCH;
        for (size_t i = 0; i < a->nrr && x->state == MXA_NOMATCH; i++)
            if (addr_matches(s, &a->rr[i], t->cidr4, t->cidr6))
                x->state = MXA_MATCH;
    }
    while (f->mxi < f->nmx && f->mxa[f->mxi].state != MXA_PENDING) {
        x = &f->mxa[f->mxi];
        used(s, x->authentic);
        if (x->state == MXA_ERROR) {
            group_done(s);
            return final(s, MOX_SPF_TEMPERROR, "DNS %s looking up %s %s",
                         mox_dns_status_name(x->status), mox_dns_type_name(addr_type(s)),
                         f->mx[f->mxi]);
        }
        if (x->state == MXA_MATCH) {
            f->matched = 1;
            break;
        }
        f->mxi++;
    }
    if (f->matched || f->mxi == f->nmx)
        group_done(s);
    return MOX_OK;
}

/* Takes the answer to question `idx` of the current group. */
static int dispatch(mox_spf *s, size_t idx, const mox_dns_answer *a)
{
    int kind = s->wait;
    frame *f = top(s);
    if (kind != W_MX_ADDR && kind != W_PTR_ADDR)
        group_done(s); /* one question: answered */
    if (kind != W_MX_ADDR)
        used(s, a->authentic); /* MX host answers count when used */
    switch (kind) {
    case W_RECORD: return on_record(s, a);
    case W_A:
    case W_EXISTS: return on_a_answer(s, f, kind, a);
    case W_MX: return on_mx(s, f, a);
    case W_MX_ADDR: return on_mx_addr(s, f, idx, a);
    case W_PTR: return on_ptr(s, a);
    case W_PTR_ADDR: return on_ptr_addr(s, idx, a);
    default: return on_exp(s, a);
    }
}

/* After an allocation failure a handler may have stopped half-way: the
 * evaluation is unusable and says so on every later call. */
static int broken(mox_spf *s, int rc)
{
    s->failed = 1;
    s->done = 0;
    return moxi_engine_fail(&s->eng, rc, "spf: %s; the evaluation is unusable", mox_strerror(rc));
}

int mox_spf_answer(mox_spf *s, const mox_answer *ans)
{
    if (!s)
        return MOX_ERR_INVAL;
    if (s->failed)
        return moxi_engine_fail(&s->eng, MOX_ERR_STATE, "spf: the evaluation failed earlier");
    /* An answer naming another name than its question is refused before
     * it is taken, so the question stays open for the right one. */
    const mox_dns_answer *a = mox_answer_dns(ans);
    uint32_t id = mox_answer_id(ans);
    if (a && a->qname && a->qname[0] && id >= s->qs.base && id - s->qs.base < s->qs.n) {
        const char *qn = s->qs.v[id - s->qs.base].q.u.dns.name;
        if (!name_eq(a->qname, qn))
            return moxi_engine_fail(&s->eng, MOX_ERR_INVAL,
                                    "spf: answer %u is for %.255s, the question was %.255s",
                                    (unsigned)id, a->qname, qn);
    }
    const moxi_qslot *sl;
    int rc = moxi_qset_take(&s->qs, &s->eng, ans, &sl);
    if (rc)
        return rc;
    /* Answers to questions the evaluation no longer needs (another host
     * of the group decided, or the evaluation ended) are ignored. */
    if (s->done || s->wait == W_NONE || id < s->wait_id || id - s->wait_id >= s->wait_n)
        return MOX_OK;
    mox_dns_answer typed;
    if (a->qtype != sl->q.u.dns.type) { /* an answer that did not say its type */
        typed = *a;
        typed.qtype = sl->q.u.dns.type;
        a = &typed;
    }
    rc = dispatch(s, id - s->wait_id, a);
    if (rc == MOX_OK && !s->done && s->wait == W_NONE)
        rc = advance(s);
    if (rc < 0)
        return broken(s, rc);
    if (s->done)
        publish(s);
    return MOX_OK;
}

/* ------------------------------------------------------------ driving */

static void publish(mox_spf *s);

/* Evaluates as far as the answers go: until a group of questions is
 * waited for or the outcome is ready. */
static int advance(mox_spf *s)
{
    if (!s->started) {
        s->started = 1;
        if (s->domain_bad) {
            int rc = final(s, MOX_SPF_NONE, "invalid domain '%.100s' (RFC 7208 §4.3)", s->odomain);
            if (rc == MOX_OK)
                publish(s);
            return rc;
        }
        int rc = push_frame(s, s->odomain, 0);
        if (rc)
            return rc;
    }
    while (!s->done && !s->wait) {
        int rc;
        frame *f = top(s);
        if (s->exp_active)
            rc = exp_step(s);
        else if (f->phase == F_FETCH)
            rc = ask(s, W_RECORD, f->domain, MOX_DNS_TXT);
        else if (f->idx < f->rec->nterms)
            rc = eval_term(s, f);
        else
            rc = end_of_terms(s, f);
        if (rc < 0)
            return rc;
    }
    if (s->done)
        publish(s);
    return MOX_OK;
}

static void publish(mox_spf *s)
{
    mox_spf_outcome *o = &s->out;
    o->mechanism = s->o_mech;
    o->explanation = o->result == MOX_SPF_FAIL ? s->o_expl : NULL;
    o->problem = s->o_problem;
    o->domain = s->odomain;
    o->sender = s->sender;
    o->identity = s->identity;
    o->authentic = s->any_answer && s->all_authentic;
    o->dns_lookups = s->lookups;
    o->void_lookups = s->voids;
    o->dns_queries = s->queries;
}

unsigned mox_spf_want(const mox_spf *s)
{
    if (!s || s->failed)
        return 0;
    if (s->done)
        return MOX_WANT_DONE;
    return moxi_qset_want(&s->qs);
}

int mox_spf_query(mox_spf *s, mox_query *q)
{
    if (!s || !q)
        return s ? moxi_engine_fail(&s->eng, MOX_ERR_INVAL, "spf: NULL query") : MOX_ERR_INVAL;
    if (s->failed || s->done)
        return MOX_ERR_AGAIN;
    return moxi_qset_next(&s->qs, q);
}

const mox_spf_outcome *mox_spf_result(const mox_spf *s)
{
    return s && s->done && !s->failed ? &s->out : NULL;
}

static unsigned ops_want(const void *self) { return mox_spf_want(self); }
static int ops_query(void *self, mox_query *q) { return mox_spf_query(self, q); }
static int ops_answer(void *self, const mox_answer *a) { return mox_spf_answer(self, a); }

static const moxi_engine_ops spf_ops = {
    .name = "spf",
    .want = ops_want,
    .query = ops_query,
    .answer = ops_answer,
};

mox_engine *mox_spf_engine(mox_spf *s) { return s ? &s->eng : NULL; }

/* ------------------------------------------------------------ lifecycle */

static int identity_domain_ok(const char *d, int multi)
{
    size_t n = strlen(d);
    if (n == 0 || d[0] == '[')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];
        if (c <= 0x20 || c >= 0x7f)
            return 0;
    }
    return moxi_spf_domain_ok(d, n, multi);
}

static int setup_identity(mox_spf *s, const char *sender, const char *helo)
{
    size_t sl = sender ? strlen(sender) : 0;
    if (sl >= 2 && sender[0] == '<' && sender[sl - 1] == '>') {
        sender++;
        sl -= 2;
    }
    if (helo && helo[0] && !(s->helo = moxi_strdup(helo)))
        return MOX_ERR_NOMEM;
    const char *dom;
    size_t dl;
    const char *local = "postmaster";
    size_t ll = 10;
    if (s->identity == MOX_SPF_ID_HELO || sl == 0) {
        s->identity = MOX_SPF_ID_HELO;
        dom = helo ? helo : "";
        dl = strlen(dom);
    } else {
        const char *at = NULL;
        for (size_t i = 0; i < sl; i++)
            if (sender[i] == '@')
                at = sender + i;
        if (at) {
            dom = at + 1;
            dl = sl - (size_t)(at - sender) - 1;
            if (at > sender) {
                local = sender;
                ll = (size_t)(at - sender);
            }
        } else {
            dom = sender;
            dl = sl;
        }
    }
    if (dl && dom[dl - 1] == '.')
        dl--;
    if (!(s->local = moxi_strndup(local, ll)))
        return MOX_ERR_NOMEM;
    if (!mox_is_ascii(dom, dl)) {
        /* An internationalised domain is queried in A-label form. */
        mox_domain d = {0};
        int rc = mox_domain_parse(dom, dl, MOX_DOMAIN_LAX, &d, NULL);
        if (rc == MOX_ERR_NOMEM)
            return rc;
        if (rc == MOX_OK) {
            s->odomain = moxi_strdup(d.ascii);
            mox_domain_clear(&d);
            if (!s->odomain)
                return MOX_ERR_NOMEM;
        }
    }
    if (!s->odomain && !(s->odomain = moxi_strndup(dom, dl)))
        return MOX_ERR_NOMEM;
    s->domain_bad = !identity_domain_ok(s->odomain, s->multi);
    mox_buf b = MOX_BUF_INIT;
    int rc = mox_buf_appendf(&b, "%s@%s", s->local, s->odomain);
    if (rc) {
        mox_buf_free(&b);
        return rc;
    }
    s->sender = mox_buf_steal(&b, NULL);
    return s->sender ? MOX_OK : MOX_ERR_NOMEM;
}

#define DEFAULT_EXPLANATION "%{d} does not designate %{c} as permitted sender"

int moxi_spf_create(mox_spf **out, const mox_spf_config *cfg, const char *ip, const char *sender,
                    const char *helo, int identity, uint32_t id_base, mox_errinfo *ei)
{
    if (!out)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL output");
    *out = NULL;
    if (cfg && cfg->size < offsetof(mox_spf_config, default_explanation) + sizeof(char *))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "mox_spf_config from a different version");
    if (identity != MOX_SPF_ID_MAILFROM && identity != MOX_SPF_ID_HELO)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "unknown identity %d", identity);
    if ((sender && strlen(sender) > 1024) || (helo && strlen(helo) > 1024))
        return moxi_fail(ei, MOX_ERR_LIMIT, 0, SIZE_MAX, "sender or HELO longer than 1024 bytes");
    if (cfg && cfg->receiver && strlen(cfg->receiver) > 1024)
        return moxi_fail(ei, MOX_ERR_LIMIT, 0, SIZE_MAX, "receiver longer than 1024 bytes");
    mox_spf *s = mox_calloc(1, sizeof *s);
    if (!s)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    moxi_engine_init(&s->eng, &spf_ops, s);
    s->qs.last_id = id_base;
    if (moxi_spf_ip_parse(ip, s->ip, &s->v6)) {
        mox_free(s);
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid IP address '%.64s'",
                         ip ? ip : "(null)");
    }
    s->max_terms = cfg && cfg->max_dns_terms ? cfg->max_dns_terms : 10;
    s->max_void = cfg && cfg->max_void_lookups ? cfg->max_void_lookups : 2;
    s->max_mx = cfg && cfg->max_mx_names ? cfg->max_mx_names : 10;
    s->max_ptr = cfg && cfg->max_ptr_names ? cfg->max_ptr_names : 10;
    s->max_expansion = cfg && cfg->max_expansion ? cfg->max_expansion : 4096;
    s->max_explanation = cfg && cfg->max_explanation ? cfg->max_explanation : 1024;
    if (s->max_terms > 1000)
        s->max_terms = 1000;
    s->env = cfg ? cfg->env : NULL;
    /* Read only from callers built with a config that has the field. */
    s->multi = !(cfg && MOXI_HAS(cfg, mox_spf_config, allow_single_label) && cfg->allow_single_label);
    s->identity = identity;
    s->all_authentic = 1;
    s->t = mox_clock_wall_ns(s->env ? s->env->clock : NULL) / 1000000000;
    s->capfr = (size_t)s->max_terms + 2;
    const char *defexp = cfg && cfg->default_explanation ? cfg->default_explanation
                                                         : DEFAULT_EXPLANATION;
    int rc = MOX_OK;
    mox_errinfo mei;
    mox_errinfo_clear(&mei);
    if (strlen(defexp) > 4096)
        rc = moxi_fail(ei, MOX_ERR_LIMIT, 0, SIZE_MAX, "default explanation too long");
    else if (moxi_spf_macro(defexp, strlen(defexp), NULL, MOXI_SPF_CHECK_ONLY | MOX_SPF_EXPAND_EXP,
                            0, NULL, NULL, NULL, &mei))
        rc = moxi_fail(ei, MOX_ERR_INVAL, mei.detail, mei.offset, "default explanation: %s",
                       mei.msg);
    else if (!(s->fr = mox_calloc(s->capfr, sizeof *s->fr)) || !(s->defexp = moxi_strdup(defexp)) ||
             (cfg && cfg->receiver && !(s->receiver = moxi_strdup(cfg->receiver))))
        rc = MOX_ERR_NOMEM;
    else
        rc = setup_identity(s, sender, helo);
    /* The first question (or, for an invalid identity domain, the
     * outcome) is ready when the evaluation is returned. */
    if (rc == MOX_OK)
        rc = advance(s);
    if (rc) {
        if (rc == MOX_ERR_NOMEM)
            moxi_fail(ei, rc, 0, SIZE_MAX, "out of memory");
        mox_spf_free(s);
        return rc;
    }
    *out = s;
    return MOX_OK;
}

int mox_spf_new(mox_spf **out, const mox_spf_config *cfg, const char *ip, const char *sender,
                const char *helo, int identity, mox_errinfo *ei)
{
    return moxi_spf_create(out, cfg, ip, sender, helo, identity, 0, ei);
}

void mox_spf_free(mox_spf *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nfr; i++)
        frame_clear(&s->fr[i]);
    mox_free(s->fr);
    for (size_t i = 0; i < s->pp_n; i++)
        mox_free(s->pp_names[i]);
    mox_free(s->pp_names);
    mox_free(s->pp_valid);
    mox_free(s->sender);
    mox_free(s->local);
    mox_free(s->odomain);
    mox_free(s->helo);
    mox_free(s->receiver);
    mox_free(s->defexp);
    moxi_qset_clear(&s->qs);
    mox_free(s->exp_target);
    mox_free(s->exp_text);
    mox_free(s->o_mech);
    mox_free(s->o_expl);
    mox_free(s->o_problem);
    mox_free(s);
}

int mox_spf_check(mox_spf **out, const mox_spf_config *cfg, const mox_resolver *r, const char *ip,
                  const char *sender, const char *helo, int identity, mox_errinfo *ei)
{
    if (!out || !r)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "spf: NULL output or resolver");
    *out = NULL;
    mox_spf *s;
    int rc = mox_spf_new(&s, cfg, ip, sender, helo, identity, ei);
    if (rc)
        return rc;
    mox_io io = MOX_IO_INIT;
    io.resolver = r;
    rc = mox_engine_run(&s->eng, &io, ei);
    if (rc == MOX_OK && !mox_spf_result(s))
        rc = moxi_fail(ei, MOX_ERR_STATE, 0, SIZE_MAX, "spf: the evaluation did not finish");
    if (rc) {
        mox_spf_free(s);
        return rc;
    }
    *out = s;
    return MOX_OK;
}

const char *moxi_spf_client_ip(const mox_spf *s, char *buf, size_t n)
{
    moxi_spf_ip_text(s->ip, s->v6, buf, n);
    return buf;
}

const char *moxi_spf_helo(const mox_spf *s) { return s->helo; }
const char *moxi_spf_receiver(const mox_spf *s) { return s->receiver; }

const char *mox_spf_result_name(int result)
{
    static const char *const names[] = {"none", "neutral", "pass", "fail",
                                        "softfail", "temperror", "permerror"};
    return result >= 0 && result < 7 ? names[result] : "?";
}

int mox_spf_result_parse(const char *s, int *result)
{
    for (int i = 0; s && i < 7; i++) {
        const char *n = mox_spf_result_name(i);
        if (strlen(s) == strlen(n) && moxi_memcaseeq(s, n, strlen(n))) {
            if (result)
                *result = i;
            return MOX_OK;
        }
    }
    return MOX_ERR_SYNTAX;
}
