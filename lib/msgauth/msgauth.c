/* One engine over iprev, SPF, DKIM and DMARC for a message.
 *
 * The part engines keep their own question tables; msgauth hands their
 * questions out unchanged and routes each answer back by id. Their ids
 * never collide: the DKIM verifier numbers its questions from 1, and
 * iprev, SPF and DMARC are created with their ids starting above
 * disjoint bases (moxi_*_create), so an answer goes to its engine without
 * a copy. */
#include <arpa/inet.h>
#include <stdio.h>

#include "core/core_priv.h"
#include "dmarc/dmarc_priv.h"
#include "engine/engine_priv.h"
#include "iprev/iprev_priv.h"
#include "mox/msgauth.h"
#include "spf/spf_priv.h"

/* Id ranges of the part engines' questions. */
#define ID_IPREV 0x10000000u
#define ID_SPF 0x20000000u
#define ID_DMARC 0x30000000u
#define ID_END 0x40000000u

struct mox_msgauth {
    mox_engine eng;
    mox_msgauth_config cfg;
    mox_dmarc_config dmarc_cfg;
    char *ip, *mail_from, *helo; /* as given (mail_from without <>) */
    mox_iprev *iprev;
    mox_spf *spf;           /* NULL when the outcome was given */
    mox_dkim_verifier *dkim;
    mox_dmarc *dmarc;       /* once the header section is complete */
    /* a given SPF outcome, copied */
    mox_spf_outcome spf_given;
    char *g_mech, *g_expl, *g_problem, *g_domain, *g_sender;
    int spf_is_given;
    mox_buf header;         /* header section, for the From */
    int header_done;        /* the empty line was seen (or limit reached) */
    int eof;
    int spf_asked;          /* an SPF question was handed out */
    int dkim_limit;         /* DKIM refused the header section */
    int auth_given;         /* DMARC has the SPF and DKIM outcomes */
    int failed;
    int done;
    mox_msgauth_outcome out;
};

static const moxi_engine_ops msgauth_ops;

/* ------------------------------------------------------------ helpers */

static int fail(mox_msgauth *m, int rc, const char *what, const mox_engine *part)
{
    if (rc == MOX_ERR_NOMEM)
        m->failed = 1;
    const mox_errinfo *e = part ? mox_engine_error(part) : NULL;
    if (e && e->code == rc && e->msg[0])
        return moxi_engine_fail(&m->eng, rc, "msgauth: %s: %s", what, e->msg);
    return moxi_engine_fail(&m->eng, rc, "msgauth: %s: %s", what, mox_strerror(rc));
}

static const char *part_name(uint32_t id)
{
    return id < ID_IPREV ? "dkim" : id < ID_SPF ? "iprev" : id < ID_DMARC ? "spf" : "dmarc";
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

static const mox_spf_outcome *spf_outcome(const mox_msgauth *m)
{
    return m->spf_is_given ? &m->spf_given : mox_spf_result(m->spf);
}

/* ------------------------------------------------------------ lifecycle */

void mox_msgauth_config_init(mox_msgauth_config *cfg, size_t size)
{
    mox_msgauth_config def = MOX_MSGAUTH_CONFIG_INIT;
    if (cfg)
        moxi_fill_sized(cfg, size, &def, sizeof def);
}

static char *strip_brackets(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n >= 2 && s[0] == '<' && s[n - 1] == '>')
        return moxi_strndup(s + 1, n - 2);
    return moxi_strndup(s ? s : "", n);
}

int mox_msgauth_new(mox_msgauth **out, const mox_msgauth_config *cfg, const char *ip,
                    const char *mail_from, const char *helo, mox_errinfo *ei)
{
    if (!out || !ip)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "msgauth: NULL output or IP");
    *out = NULL;
    if (cfg && cfg->size < sizeof(size_t))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "msgauth: config without its size");
    mox_msgauth *m = mox_calloc(1, sizeof *m);
    if (!m)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    moxi_engine_init(&m->eng, &msgauth_ops, m);
    mox_msgauth_config def = MOX_MSGAUTH_CONFIG_INIT;
    m->cfg = def;
    moxi_copy_sized(&m->cfg, cfg, sizeof def);
    if (m->cfg.max_header == 0)
        m->cfg.max_header = 256 * 1024;
    mox_dmarc_config dd = MOX_DMARC_CONFIG_INIT;
    m->dmarc_cfg = dd;
    moxi_copy_sized(&m->dmarc_cfg, m->cfg.dmarc, sizeof dd);
    /* policy discovery as soon as the From is known; the SPF and DKIM
     * outcomes are given when final */
    m->dmarc_cfg.flags |= MOX_DMARC_F_AUTH_LATER;
    int rc = MOX_OK;
    m->ip = moxi_strdup(ip);
    m->mail_from = strip_brackets(mail_from);
    m->helo = moxi_strdup(helo ? helo : "");
    if (!m->ip || !m->mail_from || !m->helo)
        rc = moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    if (rc == MOX_OK && (m->cfg.flags & MOX_MSGAUTH_IPREV))
        rc = moxi_iprev_create(&m->iprev, m->cfg.iprev, ip, ID_IPREV, ei);
    if (rc == MOX_OK && !(m->cfg.flags & MOX_MSGAUTH_SPF_GIVEN))
        rc = moxi_spf_create(&m->spf, m->cfg.spf, ip, m->mail_from, m->helo, MOX_SPF_ID_MAILFROM,
                             ID_SPF, ei);
    if (rc == MOX_OK)
        rc = mox_dkim_verifier_new(&m->dkim, m->cfg.dkim, ei);
    if (rc != MOX_OK) {
        mox_msgauth_free(m);
        return rc;
    }
    *out = m;
    return MOX_OK;
}

static void given_clear(mox_msgauth *m)
{
    mox_free(m->g_mech);
    mox_free(m->g_expl);
    mox_free(m->g_problem);
    mox_free(m->g_domain);
    mox_free(m->g_sender);
    m->g_mech = m->g_expl = m->g_problem = m->g_domain = m->g_sender = NULL;
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
    given_clear(m);
    mox_free(m->ip);
    mox_free(m->mail_from);
    mox_free(m->helo);
    mox_free(m);
}

static int progress(mox_msgauth *m);

/* ------------------------------------------------------------ given SPF */

static int ip_same(const char *a, const char *b)
{
    unsigned char x[16], y[16];
    int fx = 4, fy = 4;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!a || !b)
        return 0;
    if (inet_pton(AF_INET, a, x) != 1) {
        if (inet_pton(AF_INET6, a, x) != 1)
            return 0;
        fx = 6;
        if (!memcmp(x, mapped, 12)) {
            memmove(x, x + 12, 4);
            fx = 4;
        }
    }
    if (inet_pton(AF_INET, b, y) != 1) {
        if (inet_pton(AF_INET6, b, y) != 1)
            return 0;
        fy = 6;
        if (!memcmp(y, mapped, 12)) {
            memmove(y, y + 12, 4);
            fy = 4;
        }
    }
    return fx == fy && !memcmp(x, y, fx == 4 ? 4 : 16);
}

/* Domain names: ASCII case and one trailing dot do not matter. */
static int name_same(const char *a, size_t al, const char *b, size_t bl)
{
    if (al && a[al - 1] == '.')
        al--;
    if (bl && b[bl - 1] == '.')
        bl--;
    return al == bl && moxi_memcaseeq(a, b, al);
}

/* MAIL FROM: the local part exactly (it is a macro input, %{l}), the
 * domain as a name. */
static int mailfrom_same(const char *a, const char *b)
{
    const char *ea = strrchr(a, '@'), *eb = strrchr(b, '@');
    size_t la = ea ? (size_t)(ea - a) : 0, lb = eb ? (size_t)(eb - b) : 0;
    if ((ea == NULL) != (eb == NULL) || la != lb || memcmp(a, b, la))
        return 0;
    const char *da = ea ? ea + 1 : a, *db = eb ? eb + 1 : b;
    return name_same(da, strlen(da), db, strlen(db));
}

int mox_msgauth_set_spf(mox_msgauth *m, const mox_spf_outcome *o, const char *ip,
                        const char *mail_from, const char *helo)
{
    if (!m)
        return MOX_ERR_INVAL;
    if (!o || !o->domain || !o->sender || o->result < MOX_SPF_NONE ||
        o->result > MOX_SPF_PERMERROR ||
        (o->identity != MOX_SPF_ID_MAILFROM && o->identity != MOX_SPF_ID_HELO))
        return moxi_engine_fail(&m->eng, MOX_ERR_INVAL,
                                "msgauth: set_spf: not an SPF outcome (NULL, no domain or "
                                "sender, result or identity out of range)");
    if (m->failed)
        return moxi_engine_fail(&m->eng, MOX_ERR_STATE, "msgauth: failed earlier");
    if (m->spf_asked || m->spf_is_given || (m->spf && (m->cfg.flags & MOX_MSGAUTH_SPF_GIVEN)))
        return moxi_engine_fail(&m->eng, MOX_ERR_STATE,
                                "msgauth: set_spf after an SPF question was handed out (or "
                                "twice): SPF is evaluated here");
    /* The outcome must be for this message's envelope: SPF's inputs are
     * the client IP, MAIL FROM and HELO (RFC 7208 §4.1, macros %{i} %{s}
     * %{l} %{o} %{h}); another one is a bug in the caller, and msgauth
     * keeps evaluating SPF itself. */
    char *mf = strip_brackets(mail_from);
    if (!mf)
        return fail(m, MOX_ERR_NOMEM, "set_spf", NULL);
    const char *h = helo ? helo : "";
    const char *why = NULL;
    if (!ip_same(ip, m->ip))
        why = "client IP";
    else if (!mailfrom_same(mf, m->mail_from))
        why = "MAIL FROM";
    else if (!name_same(h, strlen(h), m->helo, strlen(m->helo)))
        why = "HELO";
    else if (o->identity != (m->mail_from[0] ? MOX_SPF_ID_MAILFROM : MOX_SPF_ID_HELO))
        why = "identity (SPF must be of MAIL FROM, of HELO only for a null reverse-path)";
    mox_free(mf);
    if (why) {
        /* waiting for an outcome that will not come: evaluate it here */
        if (!m->spf) {
            mox_errinfo ei;
            int rc = moxi_spf_create(&m->spf, m->cfg.spf, m->ip, m->mail_from, m->helo,
                                     MOX_SPF_ID_MAILFROM, ID_SPF, &ei);
            if (rc != MOX_OK)
                return fail(m, rc == MOX_ERR_NOMEM ? rc : MOX_ERR_STATE, "spf", NULL);
        }
        return moxi_engine_fail(&m->eng, MOX_ERR_INVAL,
                                "msgauth: set_spf: the outcome is for another %s than the "
                                "message's; SPF is evaluated here",
                                why);
    }
    m->spf_given = *o;
    if ((o->mechanism && !(m->g_mech = moxi_strdup(o->mechanism))) ||
        (o->explanation && !(m->g_expl = moxi_strdup(o->explanation))) ||
        (o->problem && !(m->g_problem = moxi_strdup(o->problem))) ||
        !(m->g_domain = moxi_strdup(o->domain)) || !(m->g_sender = moxi_strdup(o->sender))) {
        given_clear(m);
        return moxi_engine_fail(&m->eng, MOX_ERR_NOMEM, "out of memory");
    }
    m->spf_given.mechanism = m->g_mech;
    m->spf_given.explanation = m->g_expl;
    m->spf_given.problem = m->g_problem;
    m->spf_given.domain = m->g_domain;
    m->spf_given.sender = m->g_sender;
    m->spf_is_given = 1;
    mox_spf_free(m->spf); /* none of its questions was handed out */
    m->spf = NULL;
    return progress(m);
}

/* ------------------------------------------------------------ progress */

/* Composes the outcome once every part is final. */
static int progress(mox_msgauth *m)
{
    if (m->done || m->failed)
        return MOX_OK;
    const mox_spf_outcome *so = spf_outcome(m);
    const mox_dkim_verifier_outcome *dko = m->dkim_limit ? NULL : mox_dkim_verifier_result(m->dkim);
    int dkim_final = m->dkim_limit || dko;
    /* DMARC gets the SPF and DKIM outcomes as soon as both are final */
    if (m->dmarc && !m->auth_given && so && dkim_final) {
        int rc = mox_dmarc_set_spf(m->dmarc, spf_to_dmarc(so->result), so->domain);
        for (size_t i = 0; rc == MOX_OK && dko && i < dko->count; i++) {
            const mox_dkim_sig_result *r = dko->results[i];
            rc = mox_dmarc_add_dkim(m->dmarc, dkim_to_dmarc(r->status), r->domain, r->selector);
        }
        if (rc == MOX_OK)
            rc = mox_dmarc_auth_done(m->dmarc);
        if (rc != MOX_OK)
            return fail(m, rc, "dmarc", mox_dmarc_engine(m->dmarc));
        m->auth_given = 1;
    }
    const mox_dmarc_outcome *dm = m->dmarc ? mox_dmarc_result(m->dmarc) : NULL;
    const mox_iprev_outcome *io = m->iprev ? mox_iprev_result(m->iprev) : NULL;
    if (!m->eof || !so || !dkim_final || !dm || (m->iprev && !io))
        return MOX_OK;
    m->out.iprev = io;
    m->out.spf = so;
    m->out.spf_given = m->spf_is_given;
    m->out.dkim = dko;
    m->out.dkim_limit = m->dkim_limit;
    m->out.dmarc = dm;
    m->done = 1;
    return MOX_OK;
}

/* The header section as far as fed (up to the empty line), for the From;
 * DMARC starts as soon as it is complete. */
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

static int start_dmarc(mox_msgauth *m)
{
    if (m->dmarc || !m->header_done)
        return MOX_OK;
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    int rc = moxi_dmarc_create(&m->dmarc, &m->dmarc_cfg, NULL,
                               m->header.data ? (const char *)m->header.data : "", m->header.len,
                               ID_DMARC, &ei);
    if (rc != MOX_OK) {
        if (rc == MOX_ERR_NOMEM)
            m->failed = 1;
        return moxi_engine_fail(&m->eng, rc, "msgauth: dmarc: %s", ei.msg);
    }
    return MOX_OK;
}

/* ------------------------------------------------------------ contract */

unsigned mox_msgauth_want(const mox_msgauth *m)
{
    if (!m || m->failed)
        return 0;
    if (m->done)
        return MOX_WANT_DONE;
    unsigned w = m->eof ? 0 : MOX_WANT_READ;
    const unsigned q = MOX_WANT_QUERY | MOX_WANT_ANSWER;
    if (m->iprev)
        w |= mox_iprev_want(m->iprev) & q;
    if (m->spf)
        w |= mox_spf_want(m->spf) & q;
    if (!m->dkim_limit)
        w |= mox_dkim_verifier_want(m->dkim) & q;
    if (m->dmarc)
        w |= mox_dmarc_want(m->dmarc) & q;
    return w;
}

int64_t mox_msgauth_feed(mox_msgauth *m, const void *data, size_t len)
{
    if (!m)
        return MOX_ERR_INVAL;
    if (!data && len)
        return moxi_engine_fail(&m->eng, MOX_ERR_INVAL, "msgauth: NULL data");
    if (m->failed)
        return moxi_engine_fail(&m->eng, MOX_ERR_STATE, "msgauth: failed earlier");
    if (m->eof)
        return moxi_engine_fail(&m->eng, MOX_ERR_STATE, "msgauth: feed after eof");
    int rc = keep_header(m, data, len);
    if (rc != MOX_OK)
        return fail(m, rc, "header", NULL);
    if (!m->dkim_limit) {
        int64_t took = mox_dkim_verifier_feed(m->dkim, data, len);
        if (took == MOX_ERR_LIMIT)
            m->dkim_limit = 1; /* DKIM gives up: permerror; SPF and DMARC go on */
        else if (took < 0)
            return fail(m, (int)took, "dkim", mox_dkim_verifier_engine(m->dkim));
    }
    rc = start_dmarc(m);
    if (rc != MOX_OK)
        return rc;
    return (int64_t)len;
}

int mox_msgauth_eof(mox_msgauth *m)
{
    if (!m)
        return MOX_ERR_INVAL;
    if (m->failed)
        return moxi_engine_fail(&m->eng, MOX_ERR_STATE, "msgauth: failed earlier");
    if (m->eof)
        return moxi_engine_fail(&m->eng, MOX_ERR_STATE, "msgauth: eof twice");
    m->eof = 1;
    m->header_done = 1; /* a message without an empty line is all header */
    if (!m->dkim_limit) {
        int rc = mox_dkim_verifier_eof(m->dkim);
        if (rc == MOX_ERR_LIMIT)
            m->dkim_limit = 1;
        else if (rc != MOX_OK)
            return fail(m, rc, "dkim", mox_dkim_verifier_engine(m->dkim));
    }
    int rc = start_dmarc(m);
    if (rc == MOX_OK)
        rc = progress(m);
    return rc;
}

int mox_msgauth_query(mox_msgauth *m, mox_query *q)
{
    if (!m || !q)
        return m ? moxi_engine_fail(&m->eng, MOX_ERR_INVAL, "msgauth: NULL query")
                 : MOX_ERR_INVAL;
    if (m->failed || m->done)
        return MOX_ERR_AGAIN;
    /* iprev and SPF first (known from the envelope), then every DKIM key
     * and the DMARC policy records as soon as the header section tells
     * them */
    int rc = MOX_ERR_AGAIN;
    if (m->iprev)
        rc = mox_iprev_query(m->iprev, q);
    if (rc == MOX_ERR_AGAIN && m->spf && (rc = mox_spf_query(m->spf, q)) == MOX_OK)
        m->spf_asked = 1;
    if (rc == MOX_ERR_AGAIN && !m->dkim_limit) {
        rc = mox_dkim_verifier_query(m->dkim, q);
        if (rc == MOX_OK && (q->id == 0 || q->id >= ID_IPREV))
            return fail(m, MOX_ERR_LIMIT, "dkim: question ids beyond its range", NULL);
    }
    if (rc == MOX_ERR_AGAIN && m->dmarc)
        rc = mox_dmarc_query(m->dmarc, q);
    return rc;
}

int mox_msgauth_answer(mox_msgauth *m, const mox_answer *a)
{
    if (!m)
        return MOX_ERR_INVAL;
    if (!a)
        return moxi_engine_fail(&m->eng, MOX_ERR_INVAL, "msgauth: NULL answer");
    if (m->failed)
        return moxi_engine_fail(&m->eng, MOX_ERR_STATE, "msgauth: failed earlier");
    uint32_t id = mox_answer_id(a);
    mox_engine *part = NULL;
    if (id < ID_IPREV)
        part = m->dkim_limit ? NULL : mox_dkim_verifier_engine(m->dkim);
    else if (id < ID_SPF)
        part = mox_iprev_engine(m->iprev);
    else if (id < ID_DMARC)
        part = mox_spf_engine(m->spf);
    else if (id < ID_END)
        part = mox_dmarc_engine(m->dmarc);
    if (!part)
        return moxi_engine_fail(&m->eng, MOX_ERR_NOTFOUND, "msgauth: no question with id %u",
                                (unsigned)id);
    int rc = mox_engine_answer(part, a);
    if (rc != MOX_OK)
        return fail(m, rc, part_name(id), part);
    rc = progress(m);
    return rc;
}

const mox_msgauth_outcome *mox_msgauth_result(const mox_msgauth *m)
{
    return m && m->done && !m->failed ? &m->out : NULL;
}

static unsigned ops_want(const void *self) { return mox_msgauth_want(self); }
static int64_t ops_feed(void *self, const void *p, size_t n) { return mox_msgauth_feed(self, p, n); }
static int ops_eof(void *self) { return mox_msgauth_eof(self); }
static int ops_query(void *self, mox_query *q) { return mox_msgauth_query(self, q); }
static int ops_answer(void *self, const mox_answer *a) { return mox_msgauth_answer(self, a); }

static const moxi_engine_ops msgauth_ops = {
    .name = "msgauth",
    .want = ops_want,
    .feed = ops_feed,
    .eof = ops_eof,
    .query = ops_query,
    .answer = ops_answer,
};

mox_engine *mox_msgauth_engine(mox_msgauth *m) { return m ? &m->eng : NULL; }

int mox_msgauth_check(mox_msgauth **out, const mox_msgauth_config *cfg, const mox_resolver *r,
                      const char *ip, const char *mail_from, const char *helo, const void *msg,
                      size_t len, mox_errinfo *ei)
{
    if (!out || !r || (!msg && len))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "msgauth: NULL output, resolver or message");
    *out = NULL;
    mox_msgauth *m;
    int rc = mox_msgauth_new(&m, cfg, ip, mail_from, helo, ei);
    if (rc != MOX_OK)
        return rc;
    int64_t took = mox_msgauth_feed(m, msg ? msg : "", len);
    rc = took < 0 ? (int)took : mox_msgauth_eof(m);
    if (rc != MOX_OK) {
        const mox_errinfo *e = mox_engine_error(&m->eng);
        moxi_fail(ei, rc, 0, SIZE_MAX, "%s", e->msg);
    } else {
        mox_io io = MOX_IO_INIT;
        io.resolver = r;
        rc = mox_engine_run(&m->eng, &io, ei);
        if (rc == MOX_OK && !m->done)
            rc = moxi_fail(ei, MOX_ERR_STATE, 0, SIZE_MAX, "msgauth: the checks did not finish");
    }
    if (rc != MOX_OK) {
        mox_msgauth_free(m);
        return rc;
    }
    *out = m;
    return MOX_OK;
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

int mox_msgauth_spf_authres(const mox_spf_outcome *o, mox_authres *ar)
{
    if (!o || !ar)
        return MOX_ERR_INVAL;
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

int mox_msgauth_dkim_authres(const mox_dkim_verifier_outcome *o, mox_authres *ar)
{
    if (!o || !ar)
        return MOX_ERR_INVAL;
    if (o->count == 0)
        return mox_authres_add(ar, "dkim", "none", NULL);
    int rc = MOX_OK;
    for (size_t i = 0; rc == MOX_OK && i < o->count; i++) {
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
        rc = mox_msgauth_spf_authres(m->out.spf, ar);
    if (rc == MOX_OK) {
        if (m->dkim_limit) {
            size_t idx;
            rc = mox_authres_add(ar, "dkim", "permerror", &idx);
            if (rc == MOX_OK)
                rc = mox_authres_set_reason(ar, idx, "header section over limits", 26);
        } else {
            rc = mox_msgauth_dkim_authres(m->out.dkim, ar);
        }
    }
    if (rc == MOX_OK)
        rc = mox_dmarc_authres(m->dmarc, ar);
    return rc;
}

static int compose(const mox_msgauth *m, const char *authserv_id, int value, unsigned flags,
                   mox_buf *out)
{
    if (!m || !authserv_id || !out)
        return MOX_ERR_INVAL;
    mox_authres *ar;
    int rc = mox_authres_new(&ar, authserv_id, strlen(authserv_id));
    if (rc != MOX_OK)
        return rc;
    rc = mox_msgauth_authres(m, ar);
    if (rc == MOX_OK)
        rc = value ? mox_authres_compose_value(ar, flags, out) : mox_authres_compose(ar, out);
    mox_authres_free(ar);
    return rc;
}

int mox_msgauth_authres_header(const mox_msgauth *m, const char *authserv_id, mox_buf *out)
{
    return compose(m, authserv_id, 0, 0, out);
}

int mox_msgauth_authres_value(const mox_msgauth *m, const char *authserv_id, unsigned flags,
                              mox_buf *out)
{
    return compose(m, authserv_id, 1, flags, out);
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
