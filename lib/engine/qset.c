/* The question table engines keep: ids, hand-out order, answer checks. */
#include "engine_priv.h"

static size_t strsz(const char *s) { return s ? strlen(s) + 1 : 0; }

static const char *put(char **p, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    memcpy(*p, s, n);
    const char *r = *p;
    *p += n;
    return r;
}

int moxi_qset_add(moxi_qset *s, const mox_query *q, uintptr_t tag, uint32_t *id)
{
    if (!s || !q)
        return MOX_ERR_INVAL;
    if (s->last_id == UINT32_MAX)
        return MOX_ERR_LIMIT;
    size_t need = 0;
    switch (q->kind) {
    case MOX_QUERY_DNS:
        need = strsz(q->u.dns.name);
        break;
    case MOX_QUERY_FETCH:
        need = strsz(q->u.fetch.url);
        break;
    case MOX_QUERY_CREDENTIALS:
        need = strsz(q->u.credentials.user) + strsz(q->u.credentials.mechanism) +
               q->u.credentials.password_len + 1;
        break;
    case MOX_QUERY_AUTHORIZE:
        need = strsz(q->u.authorize.authcid) + strsz(q->u.authorize.authzid);
        break;
    case MOX_QUERY_CONNECT:
        need = strsz(q->u.connect.host);
        break;
    default:
        return MOX_ERR_INVAL;
    }
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        moxi_qslot *nv = mox_realloc(s->v, nc * sizeof *nv);
        if (!nv)
            return MOX_ERR_NOMEM;
        s->v = nv;
        s->cap = nc;
    }
    char *str = need ? mox_malloc(need) : NULL;
    if (need && !str)
        return MOX_ERR_NOMEM;
    moxi_qslot *sl = &s->v[s->n];
    memset(sl, 0, sizeof *sl);
    sl->q = *q;
    sl->str = str;
    sl->tag = tag;
    char *p = str;
    switch (q->kind) {
    case MOX_QUERY_DNS:
        sl->q.u.dns.name = put(&p, q->u.dns.name);
        break;
    case MOX_QUERY_FETCH:
        sl->q.u.fetch.url = put(&p, q->u.fetch.url);
        break;
    case MOX_QUERY_CREDENTIALS:
        sl->q.u.credentials.user = put(&p, q->u.credentials.user);
        sl->q.u.credentials.mechanism = put(&p, q->u.credentials.mechanism);
        if (q->u.credentials.password) {
            memcpy(p, q->u.credentials.password, q->u.credentials.password_len);
            p[q->u.credentials.password_len] = 0;
            sl->q.u.credentials.password = p;
        }
        break;
    case MOX_QUERY_AUTHORIZE:
        sl->q.u.authorize.authcid = put(&p, q->u.authorize.authcid);
        sl->q.u.authorize.authzid = put(&p, q->u.authorize.authzid);
        break;
    case MOX_QUERY_CONNECT:
        sl->q.u.connect.host = put(&p, q->u.connect.host);
        break;
    }
    if (s->n == 0)
        s->base = s->last_id + 1;
    sl->q.id = ++s->last_id;
    s->n++;
    s->open++;
    if (id)
        *id = sl->q.id;
    return MOX_OK;
}

int moxi_qset_dns(moxi_qset *s, const char *name, size_t namelen, uint16_t type, uintptr_t tag,
                  uint32_t *id)
{
    char buf[1100];
    if (!name || namelen >= sizeof buf)
        return MOX_ERR_INVAL;
    memcpy(buf, name, namelen);
    buf[namelen] = 0;
    mox_query q;
    memset(&q, 0, sizeof q);
    q.kind = MOX_QUERY_DNS;
    q.u.dns.name = buf;
    q.u.dns.type = type;
    return moxi_qset_add(s, &q, tag, id);
}

int moxi_qset_next(moxi_qset *s, mox_query *out)
{
    if (!s || !out)
        return MOX_ERR_INVAL;
    while (s->next < s->n && s->v[s->next].state != MOXI_Q_UNASKED)
        s->next++;
    if (s->next >= s->n)
        return MOX_ERR_AGAIN;
    moxi_qslot *sl = &s->v[s->next++];
    sl->state = MOXI_Q_ASKED;
    *out = sl->q;
    return MOX_OK;
}

int moxi_qset_take(moxi_qset *s, mox_engine *g, const mox_answer *a, const moxi_qslot **slot)
{
    if (!a)
        return moxi_engine_fail(g, MOX_ERR_INVAL, "NULL answer");
    uint32_t id = mox_answer_id(a);
    if (!s || s->n == 0 || id < s->base || id - s->base >= s->n)
        return moxi_engine_fail(g, MOX_ERR_NOTFOUND, "no question with id %u", (unsigned)id);
    moxi_qslot *sl = &s->v[id - s->base];
    if (sl->state == MOXI_Q_ANSWERED)
        return moxi_engine_fail(g, MOX_ERR_STATE, "question %u was answered already",
                                (unsigned)id);
    if (sl->state == MOXI_Q_CANCELLED)
        return moxi_engine_fail(g, MOX_ERR_STATE, "question %u was withdrawn", (unsigned)id);
    if (sl->state == MOXI_Q_UNASKED)
        return moxi_engine_fail(g, MOX_ERR_STATE, "question %u was not handed out yet",
                                (unsigned)id);
    if (mox_answer_kind(a) != sl->q.kind)
        return moxi_engine_fail(g, MOX_ERR_INVAL, "answer of kind %s for a %s question %u",
                                mox_query_kind_name(mox_answer_kind(a)),
                                mox_query_kind_name(sl->q.kind), (unsigned)id);
    if (sl->q.kind == MOX_QUERY_DNS) {
        const mox_dns_answer *d = mox_answer_dns(a);
        if (!d)
            return moxi_engine_fail(g, MOX_ERR_INVAL, "DNS answer %u without data", (unsigned)id);
        if (d->qtype != 0 && d->qtype != sl->q.u.dns.type)
            return moxi_engine_fail(g, MOX_ERR_INVAL,
                                    "answer %u is for type %s, the question was %s",
                                    (unsigned)id, mox_dns_type_name(d->qtype),
                                    mox_dns_type_name(sl->q.u.dns.type));
    }
    sl->state = MOXI_Q_ANSWERED;
    s->open--;
    if (slot)
        *slot = sl;
    return MOX_OK;
}

void moxi_qset_cancel(moxi_qset *s, uint32_t id)
{
    if (!s || s->n == 0 || id < s->base || id - s->base >= s->n)
        return;
    moxi_qslot *sl = &s->v[id - s->base];
    if (sl->state == MOXI_Q_UNASKED || sl->state == MOXI_Q_ASKED) {
        sl->state = MOXI_Q_CANCELLED;
        s->open--;
    }
}

unsigned moxi_qset_want(const moxi_qset *s)
{
    unsigned w = 0;
    if (!s)
        return 0;
    for (size_t i = s->next; i < s->n; i++)
        if (s->v[i].state == MOXI_Q_UNASKED) {
            w |= MOX_WANT_QUERY;
            break;
        }
    /* asked but unanswered: any slot before `next` still ASKED, or open
     * count beyond the unasked ones */
    size_t unasked = 0;
    for (size_t i = s->next; i < s->n; i++)
        if (s->v[i].state == MOXI_Q_UNASKED)
            unasked++;
    if (s->open > unasked)
        w |= MOX_WANT_ANSWER;
    return w;
}

void moxi_qset_clear(moxi_qset *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        moxi_qslot *sl = &s->v[i];
        if (sl->str && sl->q.kind == MOX_QUERY_CREDENTIALS && sl->q.u.credentials.password) {
            volatile char *p = (volatile char *)sl->q.u.credentials.password;
            for (size_t k = 0; k < sl->q.u.credentials.password_len; k++)
                p[k] = 0;
        }
        mox_free(sl->str);
    }
    mox_free(s->v);
    uint32_t last = s->last_id;
    memset(s, 0, sizeof *s);
    s->last_id = last;
}
