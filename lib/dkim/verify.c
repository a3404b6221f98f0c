/* The verifier engine (RFC 6376 §6): header section buffered, body hashed
 * as it streams, every key question handed out as soon as the header
 * section is complete and answered in any order, results per signature. */
#include "dkim_priv.h"
#include "engine/engine_priv.h"

/* One key record to look up: one per (selector, domain) pair. */
struct lookup {
    char *name;
    int dns_status;
    size_t ntxt;
    mox_dkim_key *key;
    int key_rc;
    char *key_err;
};

struct vsig {
    size_t field;
    mox_dkim_sig *sig;
    int body;
    int lookup;
    char *detail;
    mox_dkim_sig_result res;
};

enum { PH_HEADER = 0, PH_BODY = 1, PH_ENDED = 2, PH_FAILED = -1 };

struct mox_dkim_verifier {
    mox_engine eng;
    mox_dkim_verify_config cfg;
    moxi_dkim_hdrs hdrs;
    int phase;
    struct vsig *sigs;
    size_t nsigs;
    const mox_dkim_sig_result **resp; /* outcome.results */
    mox_dkim_verifier_outcome outcome;
    moxi_dkim_body *bodies;
    size_t nbodies;
    struct lookup *lookups;
    size_t nlookups;
    moxi_qset qs;
    int finalized;
};

static const moxi_engine_ops verifier_ops;

void mox_dkim_verify_config_init(mox_dkim_verify_config *cfg, size_t size)
{
    if (!cfg || size < sizeof(size_t))
        return;
    mox_dkim_verify_config def = MOX_DKIM_VERIFY_CONFIG_INIT;
    size_t n = size < sizeof def ? size : sizeof def;
    memcpy(cfg, &def, n);
    if (size > n)
        memset((char *)cfg + n, 0, size - n);
    cfg->size = size;
}

int mox_dkim_verifier_new(mox_dkim_verifier **out, const mox_dkim_verify_config *cfg,
                          mox_errinfo *ei)
{
    if (!out)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "dkim verifier: NULL out");
    *out = NULL;
    if (cfg && cfg->size < sizeof(size_t))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX,
                         "dkim verifier: config size %zu is too small", cfg->size);
    mox_dkim_verifier *v = mox_calloc(1, sizeof *v);
    if (!v)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    mox_dkim_verify_config def = MOX_DKIM_VERIFY_CONFIG_INIT;
    memset(&v->cfg, 0, sizeof v->cfg);
    v->cfg.size = sizeof v->cfg;
    moxi_copy_sized(&v->cfg, cfg ? cfg : &def, sizeof def);
    /* zero means the default in every field */
    if (!v->cfg.min_rsa_bits)
        v->cfg.min_rsa_bits = def.min_rsa_bits;
    if (!v->cfg.max_rsa_bits)
        v->cfg.max_rsa_bits = def.max_rsa_bits;
    if (!v->cfg.max_signatures)
        v->cfg.max_signatures = def.max_signatures;
    if (!v->cfg.max_header_bytes)
        v->cfg.max_header_bytes = def.max_header_bytes;
    if (!v->cfg.max_header_fields)
        v->cfg.max_header_fields = def.max_header_fields;
    if (!v->cfg.max_clock_skew)
        v->cfg.max_clock_skew = def.max_clock_skew;
    moxi_dkim_hdrs_init(&v->hdrs, v->cfg.max_header_bytes, v->cfg.max_header_fields);
    moxi_engine_init(&v->eng, &verifier_ops, v);
    *out = v;
    return MOX_OK;
}

void mox_dkim_verifier_free(mox_dkim_verifier *v)
{
    if (!v)
        return;
    moxi_dkim_hdrs_free(&v->hdrs);
    for (size_t i = 0; i < v->nsigs; i++) {
        mox_dkim_sig_free(v->sigs[i].sig);
        mox_free(v->sigs[i].detail);
    }
    mox_free(v->sigs);
    mox_free(v->resp);
    for (size_t i = 0; i < v->nbodies; i++)
        moxi_dkim_body_free(&v->bodies[i]);
    mox_free(v->bodies);
    for (size_t i = 0; i < v->nlookups; i++) {
        mox_free(v->lookups[i].name);
        mox_free(v->lookups[i].key_err);
        mox_dkim_key_free(v->lookups[i].key);
    }
    mox_free(v->lookups);
    moxi_qset_clear(&v->qs);
    mox_free(v);
}

static void set(struct vsig *s, int status, const char *reason)
{
    s->res.status = status;
    s->res.reason = reason;
}

static int body_for(mox_dkim_verifier *v, const mox_dkim_sig *sig)
{
    uint64_t limit = sig->has_length ? sig->length : MOXI_DKIM_NO_LIMIT;
    int hash = moxi_dkim_alg_hash(sig->algorithm);
    for (size_t i = 0; i < v->nbodies; i++)
        if (v->bodies[i].canon == sig->body_canon && v->bodies[i].hash_alg == hash &&
            v->bodies[i].limit == limit)
            return (int)i;
    /* The array was sized for one hasher per signature up front. */
    moxi_dkim_body_init(&v->bodies[v->nbodies], sig->body_canon, hash, limit);
    return (int)v->nbodies++;
}

/* The lookup of the signature's key record, shared by every signature
 * with the same (selector, domain); a new one is asked at once. */
static int lookup_for(mox_dkim_verifier *v, const mox_dkim_sig *sig)
{
    mox_buf name = MOX_BUF_INIT;
    int rc = mox_buf_appendf(&name, "%s._domainkey.%s", sig->selector, sig->domain);
    if (rc)
        return rc;
    for (size_t i = 0; i < v->nlookups; i++)
        if (!strcmp(v->lookups[i].name, (char *)name.data)) {
            mox_buf_free(&name);
            return (int)i;
        }
    struct lookup *l = &v->lookups[v->nlookups];
    memset(l, 0, sizeof *l);
    size_t len = name.len;
    l->name = mox_buf_steal(&name, NULL);
    if (!l->name)
        return MOX_ERR_NOMEM;
    v->nlookups++;
    rc = moxi_qset_dns(&v->qs, l->name, len, MOX_DNS_TXT, v->nlookups - 1, NULL);
    if (rc)
        return rc == MOX_ERR_NOMEM ? rc : MOX_ERR_LIMIT;
    return (int)v->nlookups - 1;
}

static const char *parse_reason(int rc, int detail)
{
    if (rc == MOX_ERR_UNSUPPORTED)
        return detail == MOX_DKIM_ERR_ALGORITHM ? "unsupported algorithm"
               : detail == MOX_DKIM_ERR_CANON   ? "unsupported canonicalization"
                                                : "unsupported query method";
    switch (detail) {
    case MOX_DKIM_ERR_TAG_MISSING: return "missing required tag";
    case MOX_DKIM_ERR_TAG_DUP: return "duplicate tag";
    case MOX_DKIM_ERR_VERSION: return "unsupported version";
    case MOX_DKIM_ERR_BASE64: return "invalid base64";
    case MOX_DKIM_ERR_DOMAIN: return "invalid domain";
    case MOX_DKIM_ERR_IDENTITY: return "identity not within domain";
    case MOX_DKIM_ERR_HEADERS: return "From not signed";
    case MOX_DKIM_ERR_NUMBER: return "invalid number";
    case MOX_DKIM_ERR_BODY_HASH_LEN: return "invalid body hash length";
    default: return "signature syntax error";
    }
}

/* The header section is complete: find and parse the signatures, set up
 * body hashers and key questions. */
static int start_body(mox_dkim_verifier *v)
{
    const moxi_dkim_hdrs *h = &v->hdrs;
    size_t n = 0;
    for (size_t i = 0; i < h->nfields; i++)
        n += moxi_dkim_field_is(h, &h->fields[i], "DKIM-Signature", 14);
    v->phase = PH_BODY;
    if (!n)
        return MOX_OK;
    v->sigs = mox_calloc(n, sizeof *v->sigs);
    v->resp = mox_calloc(n, sizeof *v->resp);
    v->bodies = mox_calloc(n, sizeof *v->bodies);
    v->lookups = mox_calloc(n, sizeof *v->lookups);
    if (!v->sigs || !v->resp || !v->bodies || !v->lookups)
        return MOX_ERR_NOMEM;
    v->outcome.results = v->resp;
    int64_t now = mox_clock_wall_ns(v->cfg.env ? v->cfg.env->clock : NULL) / 1000000000;
    for (size_t i = 0; i < h->nfields; i++) {
        const moxi_dkim_field *f = &h->fields[i];
        if (!moxi_dkim_field_is(h, f, "DKIM-Signature", 14))
            continue;
        struct vsig *s = &v->sigs[v->nsigs];
        v->resp[v->nsigs++] = &s->res;
        v->outcome.count = v->nsigs;
        s->field = i;
        s->body = s->lookup = -1;
        s->res.header_canon = s->res.body_canon = -1;
        s->res.timestamp = s->res.expiration = -1;
        set(s, MOX_DKIM_TEMPERROR, "incomplete");
        s->res.detail = "";
        const char *val = (const char *)h->buf.data + f->off + f->value_off;
        size_t vlen = f->len - f->value_off;
        if (vlen >= 2 && val[vlen - 2] == '\r' && val[vlen - 1] == '\n')
            vlen -= 2;
        mox_errinfo ei;
        mox_errinfo_clear(&ei);
        int rc = mox_dkim_sig_parse(val, vlen, &s->sig, &ei);
        if (rc == MOX_ERR_NOMEM)
            return rc;
        if (rc) {
            set(s, MOX_DKIM_PERMERROR, parse_reason(rc, ei.detail));
            if (!(s->detail = moxi_strdup(ei.msg)))
                return MOX_ERR_NOMEM;
            s->res.detail = s->detail;
            continue;
        }
        const mox_dkim_sig *sig = s->sig;
        s->res.sig = sig;
        s->res.domain = sig->domain;
        s->res.selector = sig->selector;
        s->res.identity = sig->identity;
        s->res.algorithm = mox_dkim_algorithm_name(sig->algorithm);
        s->res.header_b = sig->b_base64;
        s->res.header_canon = sig->header_canon;
        s->res.body_canon = sig->body_canon;
        s->res.body_length_limited = sig->has_length;
        s->res.body_length = sig->length;
        s->res.timestamp = sig->timestamp;
        s->res.expiration = sig->expiration;
        if (v->nsigs > v->cfg.max_signatures) {
            set(s, MOX_DKIM_POLICY, "too many signatures");
            continue;
        }
        if (sig->expiration >= 0 && sig->expiration < now) {
            set(s, MOX_DKIM_PERMERROR, "signature expired");
            continue;
        }
        if (sig->timestamp >= 0 && sig->timestamp > now + v->cfg.max_clock_skew) {
            set(s, MOX_DKIM_PERMERROR, "signature timestamp in the future");
            continue;
        }
        s->body = body_for(v, sig);
        int l = lookup_for(v, sig);
        if (l < 0)
            return l;
        s->lookup = l;
    }
    return MOX_OK;
}

/* Puts the verifier into its failed state and records why. */
static int broken(mox_dkim_verifier *v, int rc, const char *what)
{
    v->phase = PH_FAILED;
    if (rc == MOX_ERR_LIMIT)
        return moxi_engine_fail(&v->eng, rc,
                                "%s: the header section exceeds %zu bytes or %zu "
                                "fields",
                                what, v->cfg.max_header_bytes, v->cfg.max_header_fields);
    return moxi_engine_fail(&v->eng, rc, "%s: %s", what, mox_strerror(rc));
}

static int misuse(mox_dkim_verifier *v, const char *what)
{
    return moxi_engine_fail(&v->eng, MOX_ERR_STATE, "%s %s", what,
                            v->phase == PH_FAILED ? "after a failure" : "after eof");
}

int64_t mox_dkim_verifier_feed(mox_dkim_verifier *v, const void *data, size_t len)
{
    if (!v)
        return MOX_ERR_INVAL;
    if (!data && len)
        return moxi_engine_fail(&v->eng, MOX_ERR_INVAL, "feed of NULL data");
    if (v->phase == PH_FAILED || v->phase == PH_ENDED)
        return misuse(v, "feed");
    const unsigned char *p = data;
    size_t left = len;
    if (v->phase == PH_HEADER) {
        size_t used;
        int rc = moxi_dkim_hdrs_feed(&v->hdrs, p, left, &used);
        if (rc == MOX_OK && v->hdrs.complete)
            rc = start_body(v);
        if (rc)
            return broken(v, rc, "feed");
        p += used;
        left -= used;
    }
    for (size_t i = 0; i < v->nbodies && left; i++)
        moxi_dkim_body_feed(&v->bodies[i], p, left);
    return (int64_t)len;
}

static int cmp_domain(const char *a, const char *b) { return strcmp(a, b); }

static void evaluate(mox_dkim_verifier *v, struct vsig *s)
{
    const mox_dkim_sig *sig = s->sig;
    struct lookup *l = &v->lookups[s->lookup];
    if (l->dns_status == MOX_DNS_NXDOMAIN || (l->dns_status == MOX_DNS_NOERROR && l->ntxt == 0)) {
        set(s, MOX_DKIM_PERMERROR, "no key for signature");
        return;
    }
    if (l->dns_status != MOX_DNS_NOERROR) {
        set(s, MOX_DKIM_TEMPERROR, "key unavailable");
        s->res.detail = l->dns_status == MOX_DNS_SERVFAIL  ? "SERVFAIL"
                        : l->dns_status == MOX_DNS_TIMEOUT ? "TIMEOUT"
                        : l->dns_status == MOX_DNS_REFUSED ? "REFUSED"
                                                           : "DNS error";
        return;
    }
    if (l->ntxt > 1) {
        set(s, MOX_DKIM_PERMERROR, "multiple key records");
        return;
    }
    if (l->key_rc) {
        set(s, MOX_DKIM_PERMERROR, l->key_rc == MOX_ERR_LIMIT ? "key too large" : "key syntax error");
        s->res.detail = l->key_err ? l->key_err : "";
        return;
    }
    const mox_dkim_key *key = l->key;
    s->res.key_bits = key->bits;
    s->res.key_testing = (key->flags & MOX_DKIM_KEY_TESTING) != 0;
    if (key->revoked) {
        set(s, MOX_DKIM_PERMERROR, "key revoked");
        return;
    }
    int want = sig->algorithm == MOX_DKIM_ALG_ED25519_SHA256 ? MOX_DKIM_KEY_ED25519 : MOX_DKIM_KEY_RSA;
    if (key->type != want) {
        set(s, MOX_DKIM_PERMERROR, "key type does not match algorithm");
        return;
    }
    unsigned hbit = sig->algorithm == MOX_DKIM_ALG_RSA_SHA1 ? MOX_DKIM_HASH_SHA1 : MOX_DKIM_HASH_SHA256;
    if (!(key->hashes & hbit)) {
        set(s, MOX_DKIM_PERMERROR, "hash algorithm not allowed by key");
        return;
    }
    if (!key->email) {
        set(s, MOX_DKIM_PERMERROR, "key not for email");
        return;
    }
    if ((key->flags & MOX_DKIM_KEY_STRICT) && cmp_domain(sig->identity_domain, sig->domain)) {
        set(s, MOX_DKIM_PERMERROR, "identity domain must equal d= (t=s)");
        return;
    }
    const moxi_dkim_body *b = &v->bodies[s->body];
    if (sig->has_length && sig->length > b->total) {
        set(s, MOX_DKIM_FAIL, "body shorter than l=");
        return;
    }
    if (b->digest_len != sig->bh_len || memcmp(b->digest, sig->bh, sig->bh_len)) {
        set(s, MOX_DKIM_FAIL, "body hash did not verify");
        return;
    }
    moxi_dkim_hash hh;
    moxi_dkim_hash_init(&hh, moxi_dkim_alg_hash(sig->algorithm));
    const moxi_dkim_field *f = &v->hdrs.fields[s->field];
    moxi_dkim_hash_headers(&v->hdrs, sig->header_canon, sig->headers, sig->nheaders,
                           v->hdrs.buf.data + f->off, f->len, &hh);
    unsigned char digest[32];
    size_t dl = moxi_dkim_hash_final(&hh, digest);
    moxi_dkim_hash_free(&hh);
    if (moxi_dkim_key_verify(key, sig->algorithm, digest, dl, sig->b, sig->b_len) != MOX_OK) {
        set(s, MOX_DKIM_FAIL, "signature did not verify");
        return;
    }
    if (sig->algorithm == MOX_DKIM_ALG_RSA_SHA1 && !v->cfg.allow_rsa_sha1) {
        set(s, MOX_DKIM_POLICY, "rsa-sha1 not allowed");
        return;
    }
    if (key->type == MOX_DKIM_KEY_RSA && key->bits < v->cfg.min_rsa_bits) {
        set(s, MOX_DKIM_POLICY, "key too small");
        return;
    }
    set(s, MOX_DKIM_PASS, "");
}

static void finalize(mox_dkim_verifier *v)
{
    if (v->finalized || v->phase != PH_ENDED || moxi_qset_open(&v->qs))
        return;
    const mox_env *env = v->cfg.env;
    for (size_t i = 0; i < v->nsigs; i++) {
        struct vsig *s = &v->sigs[i];
        if (s->body >= 0)
            s->res.body_canon_length = v->bodies[s->body].total;
        if (s->lookup >= 0)
            evaluate(v, s);
        if (env && env->logger && env->logger->min_level <= MOX_LOG_DEBUG)
            moxi_logf(env, MOX_LOG_DEBUG, "dkim signature d=%s s=%s: %s %s",
                      s->res.domain ? s->res.domain : "?", s->res.selector ? s->res.selector : "?",
                      mox_dkim_status_name(s->res.status), s->res.reason);
        if (env && env->metrics) {
            mox_metric_label lab = {"result", mox_dkim_status_name(s->res.status)};
            mox_metric_count(env->metrics, "mox_dkim_verify_total", &lab, 1, 1);
        }
    }
    v->finalized = 1;
}

int mox_dkim_verifier_eof(mox_dkim_verifier *v)
{
    if (!v)
        return MOX_ERR_INVAL;
    if (v->phase == PH_FAILED || v->phase == PH_ENDED)
        return misuse(v, "eof");
    if (v->phase == PH_HEADER) {
        int rc = moxi_dkim_hdrs_end(&v->hdrs);
        if (rc == MOX_OK)
            rc = start_body(v);
        if (rc)
            return broken(v, rc, "eof");
    }
    for (size_t i = 0; i < v->nbodies; i++)
        moxi_dkim_body_finish(&v->bodies[i]);
    v->phase = PH_ENDED;
    finalize(v);
    return MOX_OK;
}

unsigned mox_dkim_verifier_want(const mox_dkim_verifier *v)
{
    if (!v || v->phase == PH_FAILED)
        return 0;
    unsigned w = moxi_qset_want(&v->qs);
    if (v->phase != PH_ENDED)
        w |= MOX_WANT_READ;
    if (v->finalized)
        w |= MOX_WANT_DONE;
    return w;
}

int mox_dkim_verifier_query(mox_dkim_verifier *v, mox_query *q)
{
    if (!v || !q)
        return v ? moxi_engine_fail(&v->eng, MOX_ERR_INVAL, "NULL query")
                 : MOX_ERR_INVAL;
    if (v->phase == PH_FAILED)
        return MOX_ERR_AGAIN;
    return moxi_qset_next(&v->qs, q);
}

/* Takes the key record(s) of an answer. `txt` is only read when there is
 * exactly one record. */
static int take_key(mox_dkim_verifier *v, struct lookup *l, const mox_dns_answer *ans)
{
    size_t ntxt = 0;
    for (size_t i = 0; i < ans->nrr; i++)
        ntxt += ans->rr[i].type == MOX_DNS_TXT;
    l->dns_status = ans->status;
    l->ntxt = ans->status == MOX_DNS_NOERROR ? ntxt : 0;
    if (ans->status != MOX_DNS_NOERROR || ntxt != 1)
        return MOX_OK;
    /* RFC 6376 §3.6.2.2: the strings of the record are concatenated */
    mox_buf joined = MOX_BUF_INIT;
    int rc = MOX_OK;
    for (size_t i = 0; i < ans->nrr && rc == MOX_OK; i++) {
        const mox_dns_rr *rr = &ans->rr[i];
        if (rr->type != MOX_DNS_TXT)
            continue;
        for (size_t k = 0; k < rr->u.txt.count && rc == MOX_OK; k++)
            rc = mox_buf_append(&joined, rr->u.txt.str[k], rr->u.txt.len[k]);
    }
    if (rc == MOX_OK) {
        mox_errinfo ei;
        mox_errinfo_clear(&ei);
        rc = mox_dkim_key_parse(joined.data ? (const char *)joined.data : "", joined.len,
                                v->cfg.max_rsa_bits, &l->key, &ei);
        if (rc != MOX_OK && rc != MOX_ERR_NOMEM) {
            l->key_rc = rc;
            rc = (l->key_err = moxi_strdup(ei.msg)) ? MOX_OK : MOX_ERR_NOMEM;
        }
    }
    mox_buf_free(&joined);
    return rc;
}

int mox_dkim_verifier_answer(mox_dkim_verifier *v, const mox_answer *a)
{
    if (!v)
        return MOX_ERR_INVAL;
    if (v->phase == PH_FAILED)
        return misuse(v, "answer");
    const moxi_qslot *slot;
    int rc = moxi_qset_take(&v->qs, &v->eng, a, &slot);
    if (rc)
        return rc;
    struct lookup *l = &v->lookups[slot->tag];
    const mox_dns_answer *d = mox_answer_dns(a);
    rc = take_key(v, l, d);
    if (rc)
        return broken(v, rc, "answer");
    finalize(v);
    return MOX_OK;
}

const mox_dkim_verifier_outcome *mox_dkim_verifier_result(const mox_dkim_verifier *v)
{
    return v && v->finalized ? &v->outcome : NULL;
}

mox_engine *mox_dkim_verifier_engine(mox_dkim_verifier *v) { return v ? &v->eng : NULL; }

/* ------------------------------------------------------------ generic view */

static unsigned op_want(const void *self) { return mox_dkim_verifier_want(self); }
static int64_t op_feed(void *self, const void *p, size_t n)
{
    return mox_dkim_verifier_feed(self, p, n);
}
static int op_eof(void *self) { return mox_dkim_verifier_eof(self); }
static int op_query(void *self, mox_query *q) { return mox_dkim_verifier_query(self, q); }
static int op_answer(void *self, const mox_answer *a)
{
    return mox_dkim_verifier_answer(self, a);
}

static const moxi_engine_ops verifier_ops = {
    .name = "dkim_verifier",
    .want = op_want,
    .feed = op_feed,
    .eof = op_eof,
    .query = op_query,
    .answer = op_answer,
};
