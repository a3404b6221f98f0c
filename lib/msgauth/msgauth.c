/* One engine over iprev, SPF, DKIM and DMARC for a message. */
#include <stdio.h>

#include "core/core_priv.h"
#include "mox/msgauth.h"

enum { Q_NONE = 0, Q_IPREV, Q_SPF, Q_DKIM, Q_DMARC };

struct mox_msgauth {
    mox_msgauth_config cfg;
    mox_dmarc_config dmarc_cfg;
    int have_dmarc_cfg;
    mox_iprev *iprev;
    mox_spf *spf;
    mox_dkim_verifier *dkim;
    mox_dmarc *dmarc;
    mox_buf header;         /* header section, for the From */
    int header_done;        /* the empty line was seen (or limit reached) */
    int ended;
    int dkim_limit;         /* DKIM refused the header section */
    int pending;            /* Q_* of the asked question */
    char *dkim_name;        /* pending DKIM key name (copy) */
    uint32_t dkim_id;       /* its question id */
    int failed;
    int done;
};

int mox_msgauth_new(mox_msgauth **out, const mox_msgauth_config *cfg, const char *ip,
                    const char *mail_from, const char *helo, mox_errinfo *ei)
{
    if (!out || !ip)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "msgauth: invalid argument");
    *out = NULL;
    mox_msgauth *m = mox_calloc(1, sizeof *m);
    if (!m)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    mox_msgauth_config def = MOX_MSGAUTH_CONFIG_INIT;
    m->cfg = def;
    moxi_copy_sized(&m->cfg, cfg, sizeof def);
    if (m->cfg.max_header == 0)
        m->cfg.max_header = 256 * 1024;
    int rc = MOX_OK;
    if (m->cfg.flags & MOX_MSGAUTH_IPREV)
        rc = mox_iprev_new(&m->iprev, m->cfg.iprev, ip, ei);
    if (rc == MOX_OK)
        rc = mox_spf_new(&m->spf, m->cfg.spf, ip, mail_from ? mail_from : "", helo,
                         MOX_SPF_ID_MAILFROM, ei);
    if (rc == MOX_OK) {
        rc = mox_dkim_verifier_new(&m->dkim, m->cfg.dkim, ei);
    }
    if (rc != MOX_OK) {
        mox_msgauth_free(m);
        return rc;
    }
    *out = m;
    return MOX_OK;
}

void mox_msgauth_free(mox_msgauth *m)
{
    if (!m)
        return;
    mox_iprev_free(m->iprev);
    mox_spf_free(m->spf);
    mox_dkim_verifier_free(m->dkim);
    mox_dmarc_free(m->dmarc);
    mox_buf_free(&m->header);
    mox_free(m->dkim_name);
    mox_free(m);
}

/* Keeps the header section (up to the empty line) for the From. */
static int keep_header(mox_msgauth *m, const unsigned char *p, size_t len)
{
    if (m->header_done)
        return MOX_OK;
    size_t start = m->header.len > 3 ? m->header.len - 3 : 0;
    size_t take = len;
    if (m->header.len + take > m->cfg.max_header)
        take = m->cfg.max_header - m->header.len;
    int rc = mox_buf_append(&m->header, p, take);
    if (rc != MOX_OK)
        return rc;
    const unsigned char *h = m->header.data;
    for (size_t i = start; i + 1 < m->header.len; i++) {
        /* LF LF or LF CR LF ends the header section; a message starting
         * with the empty line has no header */
        if ((h[i] == '\n' && (h[i + 1] == '\n' ||
                              (h[i + 1] == '\r' && i + 2 < m->header.len && h[i + 2] == '\n'))) ||
            (i == 0 && h[0] == '\r' && h[1] == '\n')) {
            m->header.len = i + 1;
            m->header_done = 1;
            break;
        }
    }
    if (m->header.len >= m->cfg.max_header)
        m->header_done = 1;
    return MOX_OK;
}

int mox_msgauth_feed(mox_msgauth *m, const void *data, size_t len)
{
    if (!m || (!data && len))
        return MOX_ERR_INVAL;
    if (m->ended)
        return MOX_ERR_STATE;
    if (m->failed)
        return MOX_ERR_NOMEM;
    int rc = keep_header(m, data, len);
    if (rc == MOX_OK && !m->dkim_limit) {
        int64_t took = mox_dkim_verifier_feed(m->dkim, data, len);
        rc = took < 0 ? (int)took : MOX_OK;
        if (rc == MOX_ERR_LIMIT) {
            m->dkim_limit = 1;
            return rc;
        }
    }
    if (rc == MOX_ERR_NOMEM)
        m->failed = 1;
    return rc;
}

int mox_msgauth_end(mox_msgauth *m)
{
    if (!m)
        return MOX_ERR_INVAL;
    if (m->ended)
        return MOX_OK;
    m->ended = 1;
    m->header_done = 1;
    if (m->dkim_limit)
        return MOX_OK;
    int rc = mox_dkim_verifier_eof(m->dkim);
    if (rc == MOX_ERR_NOMEM)
        m->failed = 1;
    return rc;
}

static int spf_to_dmarc(int r)
{
    switch (r) {
    case MOX_SPF_PASS: return MOX_DMARC_AUTH_PASS;
    case MOX_SPF_FAIL: return MOX_DMARC_AUTH_FAIL;
    case MOX_SPF_SOFTFAIL: return MOX_DMARC_AUTH_SOFTFAIL;
    case MOX_SPF_NEUTRAL: return MOX_DMARC_AUTH_NEUTRAL;
    case MOX_SPF_TEMPERROR: return MOX_DMARC_AUTH_TEMPERROR;
    case MOX_SPF_PERMERROR: return MOX_DMARC_AUTH_PERMERROR;
    default: return MOX_DMARC_AUTH_NONE;
    }
}

static int dkim_to_dmarc(int s)
{
    switch (s) {
    case MOX_DKIM_PASS: return MOX_DMARC_AUTH_PASS;
    case MOX_DKIM_FAIL: return MOX_DMARC_AUTH_FAIL;
    case MOX_DKIM_NEUTRAL: return MOX_DMARC_AUTH_NEUTRAL;
    case MOX_DKIM_POLICY: return MOX_DMARC_AUTH_POLICY;
    case MOX_DKIM_TEMPERROR: return MOX_DMARC_AUTH_TEMPERROR;
    case MOX_DKIM_PERMERROR: return MOX_DMARC_AUTH_PERMERROR;
    default: return MOX_DMARC_AUTH_NONE;
    }
}

static int dkim_final(const mox_msgauth *m)
{
    return m->dkim_limit || mox_dkim_verifier_result(m->dkim);
}

static int start_dmarc(mox_msgauth *m)
{
    int rc = mox_dmarc_new_message(&m->dmarc, m->cfg.dmarc, m->header.data, m->header.len);
    if (rc != MOX_OK)
        return rc;
    const mox_spf_outcome *so = mox_spf_get(m->spf);
    if (so)
        rc = mox_dmarc_set_spf(m->dmarc, spf_to_dmarc(so->result), so->domain);
    const mox_dkim_verifier_outcome *dko = m->dkim_limit ? NULL : mox_dkim_verifier_result(m->dkim);
    size_t n = dko ? dko->count : 0;
    for (size_t i = 0; rc == MOX_OK && i < n; i++) {
        const mox_dkim_sig_result *r = dko->results[i];
        rc = mox_dmarc_add_dkim(m->dmarc, dkim_to_dmarc(r->status), r->domain, r->selector);
    }
    return rc;
}

int mox_msgauth_step(mox_msgauth *m, const char **name, uint16_t *type)
{
    if (!m || !name || !type)
        return MOX_ERR_INVAL;
    if (m->failed)
        return MOX_ERR_NOMEM;
    if (m->done)
        return MOX_MSGAUTH_DONE;
    int rc;
    if (m->pending == Q_DKIM) {
        *name = m->dkim_name;
        *type = MOX_DNS_TXT;
        return MOX_MSGAUTH_NEED_DNS;
    }
    if (m->iprev && (m->pending == Q_NONE || m->pending == Q_IPREV)) {
        rc = mox_iprev_step(m->iprev, name, type);
        if (rc < 0)
            goto fail;
        if (rc == MOX_IPREV_NEED_DNS) {
            m->pending = Q_IPREV;
            return MOX_MSGAUTH_NEED_DNS;
        }
    }
    if (m->pending == Q_NONE || m->pending == Q_SPF) {
        rc = mox_spf_step(m->spf, name, type);
        if (rc < 0)
            goto fail;
        if (rc == MOX_SPF_NEED_DNS) {
            m->pending = Q_SPF;
            return MOX_MSGAUTH_NEED_DNS;
        }
    }
    if (!m->dkim_limit && m->pending == Q_NONE) {
        mox_query kq;
        rc = mox_dkim_verifier_query(m->dkim, &kq);
        if (rc == MOX_OK) {
            char *c = moxi_strdup(kq.u.dns.name);
            if (!c) {
                rc = MOX_ERR_NOMEM;
                goto fail;
            }
            mox_free(m->dkim_name);
            m->dkim_name = c;
            m->dkim_id = kq.id;
            m->pending = Q_DKIM;
            *name = c;
            *type = MOX_DNS_TXT;
            return MOX_MSGAUTH_NEED_DNS;
        }
        if (rc != MOX_ERR_AGAIN)
            goto fail;
    }
    if (!m->ended || !dkim_final(m))
        return MOX_MSGAUTH_NEED_MESSAGE;
    if (!m->dmarc) {
        rc = start_dmarc(m);
        if (rc < 0)
            goto fail;
    }
    rc = mox_dmarc_step(m->dmarc, name, type);
    if (rc < 0)
        goto fail;
    if (rc == MOX_DMARC_NEED_DNS) {
        m->pending = Q_DMARC;
        return MOX_MSGAUTH_NEED_DNS;
    }
    m->done = 1;
    return MOX_MSGAUTH_DONE;
fail:
    if (rc == MOX_ERR_NOMEM)
        m->failed = 1;
    return rc;
}

int mox_msgauth_feed_dns(mox_msgauth *m, const mox_dns_answer *ans)
{
    if (!m || !ans)
        return MOX_ERR_INVAL;
    if (m->failed)
        return MOX_ERR_NOMEM;
    int rc;
    switch (m->pending) {
    case Q_IPREV: rc = mox_iprev_feed(m->iprev, ans); break;
    case Q_SPF: rc = mox_spf_feed(m->spf, ans); break;
    case Q_DKIM: {
        mox_answer *a;
        rc = mox_answer_dns_copy(&a, m->dkim_id, ans);
        if (rc == MOX_OK)
            rc = mox_dkim_verifier_answer(m->dkim, a);
        mox_answer_free(a);
        break;
    }
    case Q_DMARC: rc = mox_dmarc_feed(m->dmarc, ans); break;
    default: return MOX_ERR_STATE;
    }
    if (rc == MOX_OK)
        m->pending = Q_NONE;
    else if (rc == MOX_ERR_NOMEM)
        m->failed = 1;
    return rc;
}

/* mox_dns_lookup_feed callback */
static int feed_cb(void *e, const mox_dns_answer *a)
{
    return mox_msgauth_feed_dns(e, a);
}

int mox_msgauth_run(mox_msgauth *m, const mox_resolver *r)
{
    if (!m || !r)
        return MOX_ERR_INVAL;
    if (!m->ended)
        return MOX_ERR_STATE;
    for (;;) {
        const char *name;
        uint16_t type;
        int rc = mox_msgauth_step(m, &name, &type);
        if (rc < 0)
            return rc;
        if (rc == MOX_MSGAUTH_DONE)
            return MOX_OK;
        if (rc == MOX_MSGAUTH_NEED_MESSAGE)
            return MOX_ERR_STATE; /* cannot happen once ended */
        rc = mox_dns_lookup_feed(r, name, type, feed_cb, m);
        if (rc < 0)
            return rc;
    }
}

int mox_msgauth_check(mox_msgauth **out, const mox_msgauth_config *cfg, const mox_resolver *r,
                      const char *ip, const char *mail_from, const char *helo, const void *msg,
                      size_t len, mox_errinfo *ei)
{
    if (!out || !r || (!msg && len))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "msgauth: invalid argument");
    *out = NULL;
    mox_msgauth *m;
    int rc = mox_msgauth_new(&m, cfg, ip, mail_from, helo, ei);
    if (rc != MOX_OK)
        return rc;
    rc = mox_msgauth_feed(m, msg, len);
    if (rc == MOX_ERR_LIMIT)
        rc = MOX_OK; /* DKIM gives up; SPF and DMARC still run */
    if (rc == MOX_OK)
        rc = mox_msgauth_end(m);
    if (rc == MOX_OK)
        rc = mox_msgauth_run(m, r);
    if (rc != MOX_OK) {
        mox_msgauth_free(m);
        return moxi_fail(ei, rc, 0, SIZE_MAX, "msgauth: %s", mox_strerror(rc));
    }
    *out = m;
    return MOX_OK;
}

int mox_msgauth_done(const mox_msgauth *m)
{
    return m && m->done;
}

const mox_spf *mox_msgauth_spf(const mox_msgauth *m)
{
    return m && m->done ? m->spf : NULL;
}

const mox_dkim_verifier *mox_msgauth_dkim(const mox_msgauth *m)
{
    return m && m->done && !m->dkim_limit ? m->dkim : NULL;
}

const mox_dmarc *mox_msgauth_dmarc(const mox_msgauth *m)
{
    return m && m->done ? m->dmarc : NULL;
}

const mox_iprev *mox_msgauth_iprev(const mox_msgauth *m)
{
    return m && m->done ? m->iprev : NULL;
}

/* ------------------------------------------------ Authentication-Results */

int mox_msgauth_spf_authres(const mox_spf *s, mox_authres *ar)
{
    const mox_spf_outcome *o = mox_spf_get(s);
    if (!ar)
        return MOX_ERR_INVAL;
    if (!o)
        return MOX_ERR_STATE;
    size_t idx;
    int rc = mox_authres_add(ar, "spf", mox_spf_result_name(o->result), &idx);
    if (rc == MOX_OK && o->problem)
        rc = mox_authres_set_reason(ar, idx, o->problem, strlen(o->problem));
    if (rc == MOX_OK) {
        if (o->identity == MOX_SPF_ID_MAILFROM && o->sender)
            rc = mox_authres_add_prop(ar, idx, "smtp", "mailfrom", o->sender, strlen(o->sender));
        else if (o->domain)
            rc = mox_authres_add_prop(ar, idx, "smtp", "helo", o->domain, strlen(o->domain));
    }
    return rc;
}

int mox_msgauth_dkim_authres(const mox_dkim_verifier *v, mox_authres *ar)
{
    if (!v || !ar)
        return MOX_ERR_INVAL;
    const mox_dkim_verifier_outcome *o = mox_dkim_verifier_result(v);
    if (!o)
        return MOX_ERR_STATE;
    size_t n = o->count;
    if (n == 0)
        return mox_authres_add(ar, "dkim", "none", NULL);
    int rc = MOX_OK;
    for (size_t i = 0; rc == MOX_OK && i < n; i++) {
        const mox_dkim_sig_result *r = o->results[i];
        size_t idx;
        rc = mox_authres_add(ar, "dkim", mox_dkim_status_name(r->status), &idx);
        if (rc == MOX_OK && r->status != MOX_DKIM_PASS && r->reason && *r->reason)
            rc = mox_authres_set_reason(ar, idx, r->reason, strlen(r->reason));
        if (rc == MOX_OK && r->key_bits) {
            char c[48];
            snprintf(c, sizeof c, "%u-bit %s key", r->key_bits,
                     r->algorithm && !strncmp(r->algorithm, "ed25519", 7) ? "ed25519" : "rsa");
            rc = mox_authres_set_comment(ar, idx, c, strlen(c));
        }
        if (rc == MOX_OK && r->domain)
            rc = mox_authres_add_prop(ar, idx, "header", "d", r->domain, strlen(r->domain));
        if (rc == MOX_OK && r->selector)
            rc = mox_authres_add_prop(ar, idx, "header", "s", r->selector, strlen(r->selector));
        if (rc == MOX_OK && r->identity)
            rc = mox_authres_add_prop(ar, idx, "header", "i", r->identity, strlen(r->identity));
        if (rc == MOX_OK && r->algorithm)
            rc = mox_authres_add_prop(ar, idx, "header", "a", r->algorithm, strlen(r->algorithm));
        if (rc == MOX_OK && r->header_b) {
            /* RFC 6008: enough of b= to tell signatures apart */
            size_t bl = strlen(r->header_b);
            rc = mox_authres_add_prop(ar, idx, "header", "b", r->header_b, bl < 12 ? bl : 12);
        }
    }
    return rc;
}

int mox_msgauth_authres(const mox_msgauth *m, mox_authres *ar)
{
    if (!m || !ar)
        return MOX_ERR_INVAL;
    if (!m->done)
        return MOX_ERR_STATE;
    int rc = MOX_OK;
    if (m->iprev)
        rc = mox_iprev_authres(m->iprev, ar);
    if (rc == MOX_OK)
        rc = mox_msgauth_spf_authres(m->spf, ar);
    if (rc == MOX_OK) {
        if (m->dkim_limit) {
            size_t idx;
            rc = mox_authres_add(ar, "dkim", "permerror", &idx);
            if (rc == MOX_OK)
                rc = mox_authres_set_reason(ar, idx, "header section over limits", 26);
        } else {
            rc = mox_msgauth_dkim_authres(m->dkim, ar);
        }
    }
    if (rc == MOX_OK)
        rc = mox_dmarc_authres(m->dmarc, ar);
    return rc;
}

int mox_msgauth_authres_header(const mox_msgauth *m, const char *authserv_id, mox_buf *out)
{
    if (!m || !authserv_id || !out)
        return MOX_ERR_INVAL;
    mox_authres *ar;
    int rc = mox_authres_new(&ar, authserv_id, strlen(authserv_id));
    if (rc != MOX_OK)
        return rc;
    rc = mox_msgauth_authres(m, ar);
    if (rc == MOX_OK)
        rc = mox_authres_compose(ar, out);
    mox_authres_free(ar);
    return rc;
}

/* ------------------------------------------------ our own authserv-id */

struct find_ctx {
    const char *id;
    size_t idlen;
    mox_msgauth_field *f;
    size_t n, cap;
};

static int id_eq(const char *a, size_t al, const char *b, size_t bl)
{
    if (al && a[al - 1] == '.')
        al--;
    if (bl && b[bl - 1] == '.')
        bl--;
    return al == bl && moxi_memcaseeq(a, b, al);
}

static int on_field(void *arg, const mox_header_field *f)
{
    struct find_ctx *c = arg;
    static const char name[] = "authentication-results";
    if (f->name_len != sizeof name - 1 || !moxi_memcaseeq(f->name, name, sizeof name - 1))
        return MOX_OK;
    mox_authres *ar;
    int rc = mox_authres_parse(f->value, f->value_len, &ar, NULL);
    if (rc == MOX_ERR_NOMEM)
        return rc;
    if (rc != MOX_OK)
        return MOX_OK;
    const char *id = mox_authres_authserv_id(ar);
    int own = id && id_eq(id, strlen(id), c->id, c->idlen);
    mox_authres_free(ar);
    if (!own)
        return MOX_OK;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 4;
        mox_msgauth_field *nf = mox_realloc(c->f, nc * sizeof *nf);
        if (!nf)
            return MOX_ERR_NOMEM;
        c->f = nf;
        c->cap = nc;
    }
    c->f[c->n].offset = f->offset;
    c->f[c->n].len = f->raw_len;
    c->f[c->n].index = f->index;
    c->n++;
    return MOX_OK;
}

int mox_msgauth_find_own(const void *header, size_t len, const char *authserv_id,
                         mox_msgauth_field **fields, size_t *n)
{
    if (!authserv_id || !fields || !n || (!header && len))
        return MOX_ERR_INVAL;
    *fields = NULL;
    *n = 0;
    mox_header_config cfg = MOX_HEADER_CONFIG_INIT;
    cfg.bare_cr = MOX_EOL_ACCEPT;
    cfg.bare_lf = MOX_EOL_ACCEPT;
    cfg.nonfield = MOX_HDR_NONFIELD_END;
    cfg.max_line = 0;
    struct find_ctx c = {authserv_id, strlen(authserv_id), NULL, 0, 0};
    mox_header_parser *hp;
    int rc = mox_header_parser_new(&hp, &cfg, on_field, &c);
    if (rc != MOX_OK)
        return rc;
    mox_errinfo ei;
    rc = mox_header_parser_feed(hp, header, len, NULL, &ei);
    if (rc == MOX_OK)
        rc = mox_header_parser_finish(hp, &ei);
    mox_header_parser_free(hp);
    if (rc != MOX_OK) {
        mox_free(c.f);
        return rc;
    }
    *fields = c.f;
    *n = c.n;
    return MOX_OK;
}

int mox_msgauth_strip_own(const void *msg, size_t len, const char *authserv_id, mox_buf *out,
                          size_t *removed)
{
    if (!out)
        return MOX_ERR_INVAL;
    mox_msgauth_field *f;
    size_t n;
    int rc = mox_msgauth_find_own(msg, len, authserv_id, &f, &n);
    if (rc != MOX_OK)
        return rc;
    size_t orig = out->len, pos = 0;
    const unsigned char *p = msg;
    for (size_t i = 0; rc == MOX_OK && i <= n; i++) {
        size_t end = i < n ? f[i].offset : len;
        rc = mox_buf_append(out, p + pos, end - pos);
        if (i < n)
            pos = f[i].offset + f[i].len;
    }
    mox_free(f);
    if (rc != MOX_OK) {
        if (out->data) {
            out->len = orig;
            out->data[orig] = 0;
        }
        return rc;
    }
    if (removed)
        *removed = n;
    return MOX_OK;
}
