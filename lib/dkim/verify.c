/* The verifier engine (RFC 6376 §6): header section buffered, body hashed
 * as it streams, key records asked for and taken back through the step
 * API, results per signature. */
#include "dkim_priv.h"

struct lookup {
    char *name;
    int asked;
    int answered;
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
    mox_dkim_result res;
};

struct mox_dkim_verifier {
    mox_dkim_verify_config cfg;
    moxi_dkim_hdrs hdrs;
    int phase; /* 0 header section, 1 body, 2 ended, -1 broken */
    struct vsig *sigs;
    size_t nsigs;
    moxi_dkim_body *bodies;
    size_t nbodies;
    struct lookup *lookups;
    size_t nlookups;
    int finalized;
};

int mox_dkim_verifier_new(mox_dkim_verifier **out, const mox_dkim_verify_config *cfg)
{
    if (!out)
        return MOX_ERR_INVAL;
    *out = NULL;
    mox_dkim_verifier *v = mox_calloc(1, sizeof *v);
    if (!v)
        return MOX_ERR_NOMEM;
    mox_dkim_verify_config def = MOX_DKIM_VERIFY_CONFIG_INIT;
    v->cfg = def;
    moxi_copy_sized(&v->cfg, cfg, sizeof def);
    if (!v->cfg.max_rsa_bits)
        v->cfg.max_rsa_bits = 4096;
    moxi_dkim_hdrs_init(&v->hdrs, v->cfg.max_header_bytes, v->cfg.max_header_fields);
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
    for (size_t i = 0; i < v->nbodies; i++)
        moxi_dkim_body_free(&v->bodies[i]);
    mox_free(v->bodies);
    for (size_t i = 0; i < v->nlookups; i++) {
        mox_free(v->lookups[i].name);
        mox_free(v->lookups[i].key_err);
        mox_dkim_key_free(v->lookups[i].key);
    }
    mox_free(v->lookups);
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
    l->name = mox_buf_steal(&name, NULL);
    if (!l->name)
        return MOX_ERR_NOMEM;
    return (int)v->nlookups++;
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
 * body hashers and key lookups. */
static int start_body(mox_dkim_verifier *v)
{
    const moxi_dkim_hdrs *h = &v->hdrs;
    size_t n = 0;
    for (size_t i = 0; i < h->nfields; i++)
        n += moxi_dkim_field_is(h, &h->fields[i], "DKIM-Signature", 14);
    v->phase = 1;
    if (!n)
        return MOX_OK;
    v->sigs = mox_calloc(n, sizeof *v->sigs);
    v->bodies = mox_calloc(n, sizeof *v->bodies);
    v->lookups = mox_calloc(n, sizeof *v->lookups);
    if (!v->sigs || !v->bodies || !v->lookups)
        return MOX_ERR_NOMEM;
    int64_t now = mox_clock_wall_ns(v->cfg.env ? v->cfg.env->clock : NULL) / 1000000000;
    for (size_t i = 0; i < h->nfields; i++) {
        const moxi_dkim_field *f = &h->fields[i];
        if (!moxi_dkim_field_is(h, f, "DKIM-Signature", 14))
            continue;
        struct vsig *s = &v->sigs[v->nsigs++];
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

int mox_dkim_verifier_feed(mox_dkim_verifier *v, const void *data, size_t len)
{
    if (!v || (!data && len))
        return MOX_ERR_INVAL;
    if (v->phase < 0)
        return MOX_ERR_STATE;
    if (v->phase == 2)
        return MOX_ERR_STATE;
    const unsigned char *p = data;
    if (v->phase == 0) {
        size_t used;
        int rc = moxi_dkim_hdrs_feed(&v->hdrs, p, len, &used);
        if (rc == MOX_OK && v->hdrs.complete)
            rc = start_body(v);
        if (rc) {
            v->phase = -1;
            return rc;
        }
        p += used;
        len -= used;
    }
    for (size_t i = 0; i < v->nbodies && len; i++)
        moxi_dkim_body_feed(&v->bodies[i], p, len);
    return MOX_OK;
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
    if (v->finalized || v->phase != 2)
        return;
    for (size_t i = 0; i < v->nlookups; i++)
        if (!v->lookups[i].answered)
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

int mox_dkim_verifier_end(mox_dkim_verifier *v)
{
    if (!v)
        return MOX_ERR_INVAL;
    if (v->phase < 0 || v->phase == 2)
        return MOX_ERR_STATE;
    if (v->phase == 0) {
        int rc = moxi_dkim_hdrs_end(&v->hdrs);
        if (rc == MOX_OK)
            rc = start_body(v);
        if (rc) {
            v->phase = -1;
            return rc;
        }
    }
    for (size_t i = 0; i < v->nbodies; i++)
        moxi_dkim_body_finish(&v->bodies[i]);
    v->phase = 2;
    finalize(v);
    return MOX_OK;
}

int mox_dkim_verifier_next_query(mox_dkim_verifier *v, const char **name)
{
    if (!v || !name)
        return MOX_ERR_INVAL;
    *name = NULL;
    if (v->phase == 0)
        return MOX_ERR_AGAIN;
    for (size_t i = 0; i < v->nlookups; i++)
        if (!v->lookups[i].asked && !v->lookups[i].answered) {
            v->lookups[i].asked = 1;
            *name = v->lookups[i].name;
            return MOX_OK;
        }
    return MOX_ERR_NOTFOUND;
}

static struct lookup *find_lookup(mox_dkim_verifier *v, const char *name)
{
    size_t n = strlen(name);
    if (n && name[n - 1] == '.')
        n--;
    for (size_t i = 0; i < v->nlookups; i++)
        if (strlen(v->lookups[i].name) == n && moxi_memcaseeq(v->lookups[i].name, name, n) &&
            !v->lookups[i].answered)
            return &v->lookups[i];
    return NULL;
}

/* `txt` is only read when there is exactly one record. */
static int answer(mox_dkim_verifier *v, const char *name, int status, const char *const *txt,
                  const size_t *txt_len, size_t ntxt)
{
    struct lookup *l = find_lookup(v, name);
    if (!l)
        return MOX_ERR_NOTFOUND;
    if (status == MOX_DNS_NOERROR && ntxt == 1) {
        mox_errinfo ei;
        mox_errinfo_clear(&ei);
        int rc = mox_dkim_key_parse(txt[0], txt_len[0], v->cfg.max_rsa_bits, &l->key, &ei);
        if (rc == MOX_ERR_NOMEM)
            return rc;
        if (rc) {
            if (!(l->key_err = moxi_strdup(ei.msg)))
                return MOX_ERR_NOMEM;
            l->key_rc = rc;
        }
    }
    l->dns_status = status;
    l->ntxt = ntxt;
    l->answered = 1;
    finalize(v);
    return MOX_OK;
}

int mox_dkim_verifier_answer_txt(mox_dkim_verifier *v, const char *name, int status,
                                 const char *const *txt, const size_t *txt_len, size_t ntxt)
{
    if (!v || !name || (ntxt && (!txt || !txt_len)))
        return MOX_ERR_INVAL;
    return answer(v, name, status, txt, txt_len, ntxt);
}

int mox_dkim_verifier_answer(mox_dkim_verifier *v, const char *name, const mox_dns_answer *ans)
{
    if (!v || !name || !ans)
        return MOX_ERR_INVAL;
    size_t ntxt = 0;
    for (size_t i = 0; i < ans->nrr; i++)
        ntxt += ans->rr[i].type == MOX_DNS_TXT;
    if (ans->status != MOX_DNS_NOERROR || ntxt != 1)
        return answer(v, name, ans->status, NULL, NULL, ans->status == MOX_DNS_NOERROR ? ntxt : 0);
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
        const char *t = joined.data ? (const char *)joined.data : "";
        size_t tl = joined.len;
        rc = answer(v, name, MOX_DNS_NOERROR, &t, &tl, 1);
    }
    mox_buf_free(&joined);
    return rc;
}

int mox_dkim_verifier_done(const mox_dkim_verifier *v) { return v && v->finalized; }

size_t mox_dkim_verifier_count(const mox_dkim_verifier *v) { return v ? v->nsigs : 0; }

const mox_dkim_result *mox_dkim_verifier_result(const mox_dkim_verifier *v, size_t i)
{
    return v && i < v->nsigs ? &v->sigs[i].res : NULL;
}
