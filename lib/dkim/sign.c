/* The signer (RFC 6376 §5): one pass over the message for any number of
 * keys; the header section is buffered, the body hashed as it streams. */
#include "dkim_priv.h"
#include "engine/engine_priv.h"

#define MAX_SPECS 16
#define LINE_MAX_COLS 78

struct spec {
    const mox_dkim_privkey *key;
    int alg;
    int hcanon, bcanon;
    char *domain, *selector, *identity;
    char **names;
    size_t nnames;
    int oversign, timestamp, body_length;
    int64_t expire;
    int body;
};

enum { PH_HEADER = 0, PH_BODY = 1, PH_DONE = 2, PH_FAILED = -1 };

struct mox_dkim_signer {
    mox_engine eng;
    mox_dkim_sign_config cfg;
    moxi_dkim_hdrs hdrs;
    int phase;
    struct spec *specs;
    size_t nspecs;
    moxi_dkim_body *bodies;
    size_t nbodies;
    mox_buf fields;                  /* the result's bytes */
    mox_dkim_signer_outcome outcome; /* valid in PH_DONE */
};

static const moxi_engine_ops signer_ops;

void mox_dkim_sign_config_init(mox_dkim_sign_config *cfg, size_t size)
{
    if (!cfg || size < sizeof(size_t))
        return;
    mox_dkim_sign_config def = MOX_DKIM_SIGN_CONFIG_INIT;
    size_t n = size < sizeof def ? size : sizeof def;
    memcpy(cfg, &def, n);
    if (size > n)
        memset((char *)cfg + n, 0, size - n);
    cfg->size = size;
}

void mox_dkim_sign_params_init(mox_dkim_sign_params *p, size_t size)
{
    if (!p || size < sizeof(size_t))
        return;
    mox_dkim_sign_params def = MOX_DKIM_SIGN_PARAMS_INIT;
    size_t n = size < sizeof def ? size : sizeof def;
    memcpy(p, &def, n);
    if (size > n)
        memset((char *)p + n, 0, size - n);
    p->size = size;
}

static void spec_clear(struct spec *s)
{
    mox_free(s->domain);
    mox_free(s->selector);
    mox_free(s->identity);
    for (size_t i = 0; i < s->nnames; i++)
        mox_free(s->names[i]);
    mox_free(s->names);
}

void mox_dkim_signer_free(mox_dkim_signer *s)
{
    if (!s)
        return;
    moxi_dkim_hdrs_free(&s->hdrs);
    for (size_t i = 0; i < s->nspecs; i++)
        spec_clear(&s->specs[i]);
    mox_free(s->specs);
    for (size_t i = 0; i < s->nbodies; i++)
        moxi_dkim_body_free(&s->bodies[i]);
    mox_free(s->bodies);
    mox_buf_free(&s->fields);
    mox_free(s);
}

/* Splits a colon-separated header list, dropping duplicates (any case). */
static int parse_names(struct spec *sp, const char *list, mox_errinfo *ei)
{
    size_t count = 1;
    for (const char *c = list; *c; c++)
        count += *c == ':';
    sp->names = mox_calloc(count, sizeof *sp->names);
    if (!sp->names)
        return MOX_ERR_NOMEM;
    const char *p = list;
    for (;;) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (!n)
            return moxi_fail(ei, MOX_ERR_INVAL, MOX_DKIM_ERR_HEADERS, SIZE_MAX, "empty header name in list");
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] < 33 || (unsigned char)p[i] > 126)
                return moxi_fail(ei, MOX_ERR_INVAL, MOX_DKIM_ERR_HEADERS, SIZE_MAX,
                                 "invalid header name '%.*s'", (int)n, p);
        int dup = 0;
        for (size_t i = 0; i < sp->nnames; i++)
            dup |= strlen(sp->names[i]) == n && moxi_memcaseeq(sp->names[i], p, n);
        if (!dup) {
            if (!(sp->names[sp->nnames] = moxi_strndup(p, n)))
                return MOX_ERR_NOMEM;
            sp->nnames++;
        }
        if (!e)
            break;
        p = e + 1;
    }
    for (size_t i = 0; i < sp->nnames; i++)
        if (!moxi_strncasecmp(sp->names[i], "from", 5))
            return MOX_OK;
    return moxi_fail(ei, MOX_ERR_INVAL, MOX_DKIM_ERR_HEADERS, SIZE_MAX,
                     "the header list must include From");
}

static int spec_init(mox_dkim_signer *s, struct spec *sp, const mox_dkim_sign_params *pin,
                     mox_errinfo *ei)
{
    mox_dkim_sign_params p = MOX_DKIM_SIGN_PARAMS_INIT;
    if (pin->size < sizeof(size_t))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "params size %zu is too small",
                         pin->size);
    moxi_copy_sized(&p, pin, sizeof p);
    if (!p.key || !p.domain || !p.selector)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "key, domain and selector are required");
    if ((p.header_canon != MOX_DKIM_SIMPLE && p.header_canon != MOX_DKIM_RELAXED) ||
        (p.body_canon != MOX_DKIM_SIMPLE && p.body_canon != MOX_DKIM_RELAXED))
        return moxi_fail(ei, MOX_ERR_INVAL, MOX_DKIM_ERR_CANON, SIZE_MAX, "unknown canonicalization");
    sp->key = p.key;
    sp->alg = mox_dkim_privkey_type(p.key) == MOX_DKIM_KEY_ED25519 ? MOX_DKIM_ALG_ED25519_SHA256
                                                                   : MOX_DKIM_ALG_RSA_SHA256;
    sp->hcanon = p.header_canon;
    sp->bcanon = p.body_canon;
    sp->oversign = p.oversign;
    sp->timestamp = p.timestamp;
    sp->expire = p.expire_seconds;
    sp->body_length = p.body_length;
    int rc = moxi_dkim_domain(p.domain, strlen(p.domain), 0, &sp->domain, ei);
    if (rc == MOX_OK)
        rc = moxi_dkim_domain(p.selector, strlen(p.selector), 1, &sp->selector, ei);
    if (rc)
        return rc == MOX_ERR_NOMEM ? rc : MOX_ERR_INVAL;
    if (p.identity) {
        /* Checked exactly as a verifier will check it. */
        mox_buf t = MOX_BUF_INIT;
        rc = mox_buf_appendf(&t, "v=1; a=rsa-sha256; b=AA==; bh=%s; d=%s; h=From; s=x; i=%s",
                             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", sp->domain, p.identity);
        mox_dkim_sig *chk = NULL;
        if (rc == MOX_OK)
            rc = mox_dkim_sig_parse((char *)t.data, t.len, &chk, ei);
        mox_dkim_sig_free(chk);
        mox_buf_free(&t);
        if (rc)
            return rc == MOX_ERR_NOMEM ? rc : MOX_ERR_INVAL;
        if (!(sp->identity = moxi_strdup(p.identity)))
            return MOX_ERR_NOMEM;
    }
    if ((rc = parse_names(sp, p.headers ? p.headers : MOX_DKIM_DEFAULT_HEADERS, ei)))
        return rc;
    int hash = moxi_dkim_alg_hash(sp->alg);
    for (size_t i = 0; i < s->nbodies; i++)
        if (s->bodies[i].canon == sp->bcanon && s->bodies[i].hash_alg == hash) {
            sp->body = (int)i;
            return MOX_OK;
        }
    moxi_dkim_body_init(&s->bodies[s->nbodies], sp->bcanon, hash, MOXI_DKIM_NO_LIMIT);
    sp->body = (int)s->nbodies++;
    return MOX_OK;
}

int mox_dkim_signer_new(mox_dkim_signer **out, const mox_dkim_sign_config *cfg,
                        const mox_dkim_sign_params *params, size_t n, mox_errinfo *ei)
{
    if (!out)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "dkim signer: NULL out");
    *out = NULL;
    if (!params || n == 0 || n > MAX_SPECS)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "1 to %d signatures per signer", MAX_SPECS);
    if (cfg && cfg->size < sizeof(size_t))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "dkim signer: config size %zu is too small",
                         cfg->size);
    mox_dkim_signer *s = mox_calloc(1, sizeof *s);
    if (!s)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    mox_dkim_sign_config def = MOX_DKIM_SIGN_CONFIG_INIT;
    s->cfg = def;
    moxi_copy_sized(&s->cfg, cfg, sizeof def);
    /* zero means the default */
    if (!s->cfg.max_header_bytes)
        s->cfg.max_header_bytes = def.max_header_bytes;
    if (!s->cfg.max_header_fields)
        s->cfg.max_header_fields = def.max_header_fields;
    moxi_dkim_hdrs_init(&s->hdrs, s->cfg.max_header_bytes, s->cfg.max_header_fields);
    moxi_engine_init(&s->eng, &signer_ops, s);
    s->specs = mox_calloc(n, sizeof *s->specs);
    s->bodies = mox_calloc(n, sizeof *s->bodies);
    int rc = s->specs && s->bodies ? MOX_OK : MOX_ERR_NOMEM;
    for (size_t i = 0; i < n && rc == MOX_OK; i++) {
        s->nspecs++;
        rc = spec_init(s, &s->specs[i], &params[i], ei);
    }
    if (rc) {
        mox_dkim_signer_free(s);
        if (rc == MOX_ERR_NOMEM)
            return moxi_fail(ei, rc, 0, SIZE_MAX, "out of memory");
        if (ei)
            ei->code = rc; /* a domain error reads MOX_ERR_INVAL here */
        return rc;
    }
    *out = s;
    return MOX_OK;
}

/* Puts the signer into its failed state and records why. */
static int broken(mox_dkim_signer *s, int rc, int detail, const char *what)
{
    s->phase = PH_FAILED;
    if (rc == MOX_ERR_LIMIT)
        moxi_engine_fail(&s->eng, rc,
                         "%s: the header section exceeds %zu bytes or %zu fields, "
                         "or a value is too long for a field",
                         what, s->cfg.max_header_bytes, s->cfg.max_header_fields);
    else if (rc == MOX_ERR_SYNTAX)
        moxi_engine_fail(&s->eng, rc, "%s", what);
    else if (rc == MOX_ERR_CRYPTO)
        moxi_engine_fail(&s->eng, rc, "signing failed");
    else
        moxi_engine_fail(&s->eng, rc, "%s: %s", what, mox_strerror(rc));
    s->eng.err.detail = detail;
    return rc;
}

static int misuse(mox_dkim_signer *s, const char *what)
{
    return moxi_engine_fail(&s->eng, MOX_ERR_STATE, "%s %s", what,
                            s->phase == PH_FAILED ? "after a failure" : "after eof");
}

int64_t mox_dkim_signer_feed(mox_dkim_signer *s, const void *data, size_t len)
{
    if (!s)
        return MOX_ERR_INVAL;
    if (!data && len)
        return moxi_engine_fail(&s->eng, MOX_ERR_INVAL, "feed of NULL data");
    if (s->phase == PH_FAILED || s->phase == PH_DONE)
        return misuse(s, "feed");
    const unsigned char *p = data;
    size_t left = len;
    if (s->phase == PH_HEADER) {
        size_t used;
        int rc = moxi_dkim_hdrs_feed(&s->hdrs, p, left, &used);
        if (rc)
            return broken(s, rc, 0, "feed");
        if (s->hdrs.complete)
            s->phase = PH_BODY;
        p += used;
        left -= used;
    }
    for (size_t i = 0; i < s->nbodies && left; i++)
        moxi_dkim_body_feed(&s->bodies[i], p, left);
    return (int64_t)len;
}

/* Builds the field text line by line. A fold is "\r\n " and goes only
 * where RFC 6376 allows FWS: between tags (the fold replaces the space
 * after ';'), after '=', after the ':' separators of h= (§3.5 sig-h-tag:
 * hdr-name *([FWS] ":" [FWS] hdr-name)), and anywhere inside base64
 * (base64string). */
struct folder {
    mox_buf *b;
    size_t col;
    int rc;
};

/* A base64 value keeps at least this many characters on the line of its
 * tag name, so that "bh=" or "b=" never ends a line. */
#define B64_MIN_LEAD 8

static void emit(struct folder *f, const char *s, size_t n)
{
    if (f->rc == MOX_OK)
        f->rc = mox_buf_append(f->b, s, n);
    f->col += n;
}

static void fold(struct folder *f)
{
    if (f->rc == MOX_OK)
        f->rc = mox_buf_append(f->b, "\r\n ", 3);
    f->col = 1;
}

/* Appends a token that cannot be split, preceded by a space when `sep`.
 * Folds first when the token, plus `follow` columns that must share its
 * line, would pass the limit (the fold then stands for the space). A
 * token too long for any line still starts a fresh one, the least
 * overflow possible. `sep` may be 0 only where FWS is allowed before the
 * token. */
static void unit(struct folder *f, int sep, const char *s, size_t n, size_t follow)
{
    if (f->col + (sep ? 1 : 0) + n + follow > LINE_MAX_COLS && f->col > 1) {
        fold(f);
        sep = 0;
    }
    if (sep)
        emit(f, " ", 1);
    emit(f, s, n);
}

/* A "name=value;" tag whose value cannot hold FWS (a=, c=, d=, s=, i=,
 * t=, x=, l=). A value too long to share a line with "name=" goes on the
 * next line (FWS is allowed after '='). */
static void tag(struct folder *f, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void tag(struct folder *f, const char *name, const char *fmt, ...)
{
    char tmp[512];
    int nn = snprintf(tmp, sizeof tmp, " %s=", name);
    va_list ap;
    va_start(ap, fmt);
    int n = nn < 0 || (size_t)nn >= sizeof tmp ? -1
                                               : vsnprintf(tmp + nn, sizeof tmp - (size_t)nn, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)nn + (size_t)n + 1 >= sizeof tmp) {
        f->rc = f->rc ? f->rc : MOX_ERR_LIMIT;
        return;
    }
    size_t len = (size_t)nn + (size_t)n;
    tmp[len++] = ';';
    if (len <= LINE_MAX_COLS) {
        unit(f, 1, tmp + 1, len - 1, 0);
    } else {
        unit(f, 1, tmp + 1, (size_t)nn - 1, 0);
        unit(f, 0, tmp + nn, len - (size_t)nn, 0);
    }
}

/* A base64 value (and `term` right after its last character), filling
 * each line to the limit. */
static void b64fill(struct folder *f, const char *v, size_t n, const char *term)
{
    size_t i = 0;
    while (i < n && f->rc == MOX_OK) {
        size_t room = f->col < LINE_MAX_COLS ? LINE_MAX_COLS - f->col : 0;
        size_t take = n - i;
        if (take + strlen(term) > room)
            take = room > 0 && n - i > room ? room : (room > 0 ? n - i - 1 : 0);
        if (!take) {
            fold(f);
            continue;
        }
        emit(f, v + i, take);
        i += take;
        if (i < n)
            fold(f);
    }
    emit(f, term, strlen(term));
}

static size_t count_fields(const moxi_dkim_hdrs *h, const char *name)
{
    size_t n = 0, nl = strlen(name);
    for (size_t i = 0; i < h->nfields; i++)
        n += moxi_dkim_field_is(h, &h->fields[i], name, nl);
    return n;
}

/* The instance an oversigned name adds. Never for DKIM-Signature: the
 * field being made is inserted above the others, so a verifier selecting
 * bottom-up would take that extra instance to be the new field itself,
 * which RFC 6376 §5.4 forbids to sign ("MUST NOT be included in its own
 * h= tag"), and the signature would never verify. */
static size_t oversign_extra(const struct spec *sp, const char *name)
{
    return sp->oversign && moxi_strncasecmp(name, "dkim-signature", 15) ? 1 : 0;
}

static int sign_one(mox_dkim_signer *s, const struct spec *sp, int64_t now, mox_buf *out)
{
    const moxi_dkim_body *b = &s->bodies[sp->body];
    /* The h= list: every present instance, plus one more when oversigning
     * (an instance added later then breaks the signature). */
    size_t nh = 0;
    for (size_t i = 0; i < sp->nnames; i++)
        nh += count_fields(&s->hdrs, sp->names[i]) + oversign_extra(sp, sp->names[i]);
    char **hl = mox_calloc(nh ? nh : 1, sizeof *hl);
    if (!hl)
        return MOX_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < sp->nnames; i++) {
        size_t c = count_fields(&s->hdrs, sp->names[i]) + oversign_extra(sp, sp->names[i]);
        while (c--)
            hl[k++] = sp->names[i];
    }
    mox_buf field = MOX_BUF_INIT, bb = MOX_BUF_INIT, sig = MOX_BUF_INIT;
    struct folder f = {&field, 0, MOX_OK};
    emit(&f, "DKIM-Signature: v=1;", 20);
    tag(&f, "a", "%s", mox_dkim_algorithm_name(sp->alg));
    tag(&f, "c", "%s/%s", mox_dkim_canon_name(sp->hcanon), mox_dkim_canon_name(sp->bcanon));
    tag(&f, "d", "%s", sp->domain);
    tag(&f, "s", "%s", sp->selector);
    if (sp->identity) {
        if (strlen(sp->identity) > 400)
            f.rc = f.rc ? f.rc : MOX_ERR_LIMIT;
        else
            tag(&f, "i", "%s", sp->identity);
    }
    if (sp->timestamp)
        tag(&f, "t", "%lld", (long long)now);
    if (sp->expire > 0)
        tag(&f, "x", "%lld", (long long)(now + sp->expire));
    if (sp->body_length)
        tag(&f, "l", "%llu", (unsigned long long)b->total);
    /* h=: a fold may follow any ':' (the fold's SP is FWS before the next
     * name); "h=" stays with the first name. */
    for (size_t i = 0; i < nh && f.rc == MOX_OK; i++) {
        mox_buf t = MOX_BUF_INIT;
        f.rc = mox_buf_appendf(&t, "%s%s%s", i ? "" : "h=", hl[i], i + 1 < nh ? ":" : ";");
        if (f.rc == MOX_OK)
            unit(&f, i == 0, (char *)t.data, t.len, 0);
        mox_buf_free(&t);
    }
    int rc = f.rc;
    if (rc == MOX_OK)
        rc = mox_base64_encode(b->digest, b->digest_len, &bb);
    if (rc == MOX_OK) {
        unit(&f, 1, "bh=", 3, B64_MIN_LEAD);
        b64fill(&f, (char *)bb.data, bb.len, ";");
        /* b= is last and signed empty: what follows "b=" (its value and
         * the folds inside it) is exactly what a verifier deletes. */
        unit(&f, 1, "b=", 2, B64_MIN_LEAD);
        rc = f.rc;
    }
    if (rc == MOX_OK) {
        moxi_dkim_hash hh;
        unsigned char digest[32];
        moxi_dkim_hash_init(&hh, moxi_dkim_alg_hash(sp->alg));
        moxi_dkim_hash_headers(&s->hdrs, sp->hcanon, hl, nh, field.data, field.len, &hh);
        size_t dl = moxi_dkim_hash_final(&hh, digest);
        moxi_dkim_hash_free(&hh);
        rc = moxi_dkim_privkey_sign(sp->key, sp->alg, digest, dl, &sig);
    }
    if (rc == MOX_OK) {
        mox_buf_reset(&bb);
        rc = mox_base64_encode(sig.data, sig.len, &bb);
    }
    if (rc == MOX_OK) {
        b64fill(&f, (char *)bb.data, bb.len, "");
        emit(&f, "\r\n", 2);
        rc = f.rc;
    }
    if (rc == MOX_OK)
        rc = mox_buf_append(out, field.data, field.len);
    mox_buf_free(&field);
    mox_buf_free(&bb);
    mox_buf_free(&sig);
    mox_free(hl);
    return rc;
}

int mox_dkim_signer_eof(mox_dkim_signer *s)
{
    if (!s)
        return MOX_ERR_INVAL;
    if (s->phase == PH_FAILED || s->phase == PH_DONE)
        return misuse(s, "eof");
    int rc = MOX_OK;
    if (s->phase == PH_HEADER && (rc = moxi_dkim_hdrs_end(&s->hdrs)))
        return broken(s, rc, 0, "eof");
    /* RFC 6376 §5.4: From must be signed, so it must be there */
    if (!count_fields(&s->hdrs, "From"))
        return broken(s, MOX_ERR_SYNTAX, MOX_DKIM_ERR_HEADERS,
                      "the message has no From header field");
    /* RFC 5322 §2.2: a field starts with its name. A first line that is a
     * continuation would join the DKIM-Signature field once that is
     * prepended, and break it. */
    if (s->hdrs.buf.len && (s->hdrs.buf.data[0] == ' ' || s->hdrs.buf.data[0] == '\t'))
        return broken(s, MOX_ERR_SYNTAX, MOX_DKIM_ERR_HEADERS,
                      "the message starts with a folded (continuation) line");
    for (size_t i = 0; i < s->nbodies; i++)
        moxi_dkim_body_finish(&s->bodies[i]);
    int64_t now = mox_clock_wall_ns(s->cfg.env ? s->cfg.env->clock : NULL) / 1000000000;
    for (size_t i = 0; i < s->nspecs && rc == MOX_OK; i++)
        rc = sign_one(s, &s->specs[i], now, &s->fields);
    if (rc == MOX_OK && !s->fields.data)
        rc = MOX_ERR_NOMEM; /* cannot happen: every field has bytes */
    if (rc) {
        mox_buf_free(&s->fields);
        return broken(s, rc, 0, "eof");
    }
    s->outcome.fields = (const char *)s->fields.data;
    s->outcome.len = s->fields.len;
    s->outcome.count = s->nspecs;
    s->phase = PH_DONE;
    return MOX_OK;
}

unsigned mox_dkim_signer_want(const mox_dkim_signer *s)
{
    if (!s || s->phase == PH_FAILED)
        return 0;
    return s->phase == PH_DONE ? MOX_WANT_DONE : MOX_WANT_READ;
}

const mox_dkim_signer_outcome *mox_dkim_signer_result(const mox_dkim_signer *s)
{
    return s && s->phase == PH_DONE ? &s->outcome : NULL;
}

mox_engine *mox_dkim_signer_engine(mox_dkim_signer *s) { return s ? &s->eng : NULL; }

/* ------------------------------------------------------------ generic view */

static unsigned op_want(const void *self) { return mox_dkim_signer_want(self); }
static int64_t op_feed(void *self, const void *p, size_t n)
{
    return mox_dkim_signer_feed(self, p, n);
}
static int op_eof(void *self) { return mox_dkim_signer_eof(self); }

static const moxi_engine_ops signer_ops = {
    .name = "dkim_signer",
    .want = op_want,
    .feed = op_feed,
    .eof = op_eof,
};
