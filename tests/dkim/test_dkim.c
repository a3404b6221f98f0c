/* DKIM: parsers, canonicalisation, the verifier on RFC/dkimpy/mail-auth
 * vectors, the signer, negative cases, streaming, allocation failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moxtest.h"
#include "dkim/dkim_priv.h"
#include "mox/dkim.h"
#include "mox/dns.h"

/* ------------------------------------------------------------ helpers */

static int64_t fixed_now; /* seconds; 0: system clock */
static int64_t clock_wall(void *ctx)
{
    (void)ctx;
    return fixed_now * 1000000000LL;
}
static mox_clock test_clock = {sizeof(mox_clock), NULL, clock_wall, NULL};
static mox_env test_env = {sizeof(mox_env), NULL, NULL, &test_clock, NULL};

struct rec {
    const char *name; /* NULL ends the list */
    const char *txt;  /* NULL: NXDOMAIN */
    int status;
};

static void read_file(const char *rel, mox_buf *b) { moxtest_read_data(rel, b); }

static char *read_str(const char *rel)
{
    mox_buf b = MOX_BUF_INIT;
    read_file(rel, &b);
    /* one-line record files: drop the newline */
    while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
        b.data[--b.len] = 0;
    return mox_buf_steal(&b, NULL);
}

/* LF -> CRLF (test data files are stored as LF). */
static void crlf(const unsigned char *p, size_t n, mox_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
            assert_int_equal(mox_buf_append_byte(out, '\r'), MOX_OK);
        assert_int_equal(mox_buf_append_byte(out, p[i]), MOX_OK);
    }
}

/* ------------------------------------------------------------ engine driving */

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

#define VFEED(v, p, n)                                                          \
    do {                                                                        \
        size_t n_ = (n);                                                        \
        assert_int_equal(mox_dkim_verifier_feed((v), (p), n_), (int64_t)n_);    \
    } while (0)
#define SFEED(s, p, n)                                                          \
    do {                                                                        \
        size_t n_ = (n);                                                        \
        assert_int_equal(mox_dkim_signer_feed((s), (p), n_), (int64_t)n_);      \
    } while (0)

/* A TXT answer to `q` with `status` and `ntxt` records. */
static mox_answer *txt_answer(const mox_query *q, int status, const char *const *txt,
                              const size_t *tlen, size_t ntxt)
{
    mox_answer *a;
    assert_int_equal(q->kind, MOX_QUERY_DNS);
    assert_int_equal(q->u.dns.type, MOX_DNS_TXT);
    assert_int_equal(mox_answer_dns_new(&a, q->id, q->u.dns.name, MOX_DNS_TXT, status, 0), MOX_OK);
    for (size_t i = 0; i < ntxt; i++)
        assert_int_equal(mox_answer_add_txt(a, NULL, 300, txt[i], tlen[i]), MOX_OK);
    return a;
}

/* Answers `q` from `recs` (no entry: NXDOMAIN). */
static void answer_from(mox_dkim_verifier *v, const mox_query *q, const struct rec *recs)
{
    const struct rec *r = recs;
    while (r && r->name && strcasecmp(r->name, q->u.dns.name))
        r++;
    mox_answer *a;
    if (!r || !r->name)
        a = txt_answer(q, MOX_DNS_NXDOMAIN, NULL, NULL, 0);
    else if (r->status)
        a = txt_answer(q, r->status, NULL, NULL, 0);
    else if (!r->txt)
        a = txt_answer(q, MOX_DNS_NXDOMAIN, NULL, NULL, 0);
    else {
        size_t tl = strlen(r->txt);
        a = txt_answer(q, MOX_DNS_NOERROR, &r->txt, &tl, 1);
    }
    assert_int_equal(mox_dkim_verifier_answer(v, a), MOX_OK);
    mox_answer_free(a);
}

/* Takes every question open now and answers them in a random order;
 * returns how many there were. */
static size_t answer_all(mox_dkim_verifier *v, const struct rec *recs)
{
    mox_query qs[64];
    size_t n = 0;
    while (n < 64 && mox_dkim_verifier_query(v, &qs[n]) == MOX_OK)
        n++;
    if (n)
        assert_true(mox_dkim_verifier_want(v) & MOX_WANT_ANSWER);
    assert_false(mox_dkim_verifier_want(v) & MOX_WANT_QUERY);
    for (size_t i = n; i > 1; i--) {
        size_t k = rnd() % i;
        mox_query t = qs[i - 1];
        qs[i - 1] = qs[k];
        qs[k] = t;
    }
    for (size_t i = 0; i < n; i++)
        answer_from(v, &qs[i], recs);
    return n;
}

static const mox_dkim_sig_result *vres(const mox_dkim_verifier *v, size_t i)
{
    const mox_dkim_verifier_outcome *o = mox_dkim_verifier_result(v);
    assert_non_null(o);
    return i < o->count ? o->results[i] : NULL;
}

static size_t vcount(const mox_dkim_verifier *v)
{
    const mox_dkim_verifier_outcome *o = mox_dkim_verifier_result(v);
    assert_non_null(o);
    return o->count;
}

/* Verifies `msg` fed in pieces of `chunk` bytes (0: random pieces),
 * answering the key questions as soon as they are asked (mid-body), in
 * a random order. */
static mox_dkim_verifier *verify_chunked(const void *msg, size_t len, const struct rec *recs,
                                         const mox_dkim_verify_config *cfg, size_t chunk)
{
    mox_dkim_verify_config c = MOX_DKIM_VERIFY_CONFIG_INIT;
    if (cfg)
        c = *cfg;
    if (fixed_now)
        c.env = &test_env;
    mox_dkim_verifier *v;
    mox_errinfo ei;
    assert_int_equal(mox_dkim_verifier_new(&v, &c, &ei), MOX_OK);
    mox_query q;
    assert_int_equal(mox_dkim_verifier_query(v, &q), MOX_ERR_AGAIN);
    assert_int_equal(mox_dkim_verifier_want(v), MOX_WANT_READ);
    assert_null(mox_dkim_verifier_result(v));
    const unsigned char *p = msg;
    for (size_t off = 0, n; off < len; off += n) {
        n = chunk ? chunk : 1 + rnd() % 300;
        if (n > len - off)
            n = len - off;
        VFEED(v, p + off, n);
        answer_all(v, recs);
    }
    assert_int_equal(mox_dkim_verifier_eof(v), MOX_OK);
    answer_all(v, recs);
    assert_int_equal(mox_dkim_verifier_want(v), MOX_WANT_DONE);
    assert_non_null(mox_dkim_verifier_result(v));
    return v;
}

static mox_dkim_verifier *verify(const void *msg, size_t len, const struct rec *recs,
                                 const mox_dkim_verify_config *cfg)
{
    return verify_chunked(msg, len, recs, cfg, len ? len : 1);
}

static void expect(const mox_dkim_verifier *v, size_t i, int status, const char *reason)
{
    const mox_dkim_sig_result *r = vres(v, i);
    assert_non_null(r);
    if (r->status != status || (reason && strcmp(r->reason, reason)))
        fail_msg("signature %zu: got %s (%s; %s), want %s (%s)", i, mox_dkim_status_name(r->status),
                 r->reason, r->detail, mox_dkim_status_name(status), reason ? reason : "*");
}

/* mail-auth files: "name record" lines, an empty line, the message. */
static void load_mail_auth(const char *rel, struct rec *recs, size_t max, char **store,
                           mox_buf *msg)
{
    mox_buf b = MOX_BUF_INIT;
    read_file(rel, &b);
    char *s = (char *)b.data;
    size_t n = 0;
    char *line = s;
    for (;;) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = 0;
        if (nl > line && nl[-1] == '\r')
            nl[-1] = 0;
        if (!*line)
            break;
        char *sp = strchr(line, ' ');
        assert_non_null(sp);
        *sp = 0;
        assert_true(n + 1 < max);
        recs[n].name = line;
        recs[n].txt = sp + 1;
        recs[n].status = 0;
        n++;
        line = nl + 1;
    }
    recs[n].name = NULL;
    char *body = strchr(line, 0) + 1;
    crlf((unsigned char *)body, b.len - (size_t)(body - s), msg);
    *store = mox_buf_steal(&b, NULL);
}

/* ------------------------------------------------------------ tag parsing */

#define BH32 "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

static void test_sig_parse(void **state)
{
    (void)state;
    const char *ok = "v=1; a=rsa-sha256; c=relaxed/simple; d=Example.COM; s=Sel; "
                     "h=From : To:\r\n\tSubject; i=joe@sub.example.com; l=42; q=dns/txt; "
                     "t=100; x=200; z=From:foo|To:bar; bh=" BH32 "; b=AA\r\n BB CA==;";
    mox_dkim_sig *sig;
    mox_errinfo ei;
    if (mox_dkim_sig_parse(ok, strlen(ok), &sig, &ei))
        fail_msg("%s", ei.msg);
    assert_int_equal(sig->algorithm, MOX_DKIM_ALG_RSA_SHA256);
    assert_int_equal(sig->header_canon, MOX_DKIM_RELAXED);
    assert_int_equal(sig->body_canon, MOX_DKIM_SIMPLE);
    assert_string_equal(sig->domain, "example.com");
    assert_string_equal(sig->selector, "sel");
    assert_string_equal(sig->identity, "joe@sub.example.com");
    assert_string_equal(sig->identity_domain, "sub.example.com");
    assert_int_equal(sig->nheaders, 3);
    assert_string_equal(sig->headers[0], "From");
    assert_string_equal(sig->headers[2], "Subject");
    assert_int_equal(sig->has_length, 1);
    assert_int_equal(sig->length, 42);
    assert_int_equal(sig->timestamp, 100);
    assert_int_equal(sig->expiration, 200);
    assert_int_equal(sig->b_len, 4);
    assert_string_equal(sig->b_base64, "AABBCA==");
    mox_dkim_sig_free(sig);

    /* c= with header part only: body simple. No i=: "@d". */
    const char *ok2 = "v=1; a=ed25519-sha256; c=relaxed; d=x.org; s=s; h=from; bh=" BH32 "; b=AA==";
    assert_int_equal(mox_dkim_sig_parse(ok2, strlen(ok2), &sig, NULL), MOX_OK);
    assert_int_equal(sig->body_canon, MOX_DKIM_SIMPLE);
    assert_string_equal(sig->identity, "@x.org");
    assert_int_equal(sig->timestamp, -1);
    mox_dkim_sig_free(sig);

    static const struct {
        const char *v;
        int rc, detail;
    } bad[] = {
        {"a=rsa-sha256; d=x.org; s=s; h=from; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_MISSING},
        {"v=1; d=x.org; s=s; h=from; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_MISSING},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=" BH32, MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_MISSING},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_MISSING},
        {"v=1; a=rsa-sha256; s=s; h=from; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_MISSING},
        {"v=1; a=rsa-sha256; d=x.org; s=s; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_MISSING},
        {"v=1; a=rsa-sha256; d=x.org; h=from; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_MISSING},
        {"v=2; a=rsa-sha256; d=x.org; s=s; h=from; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_VERSION},
        {"v=1; v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_DUP},
        {"v=1; a=rsa-md5; d=x.org; s=s; h=from; bh=" BH32 "; b=AA==", MOX_ERR_UNSUPPORTED, MOX_DKIM_ERR_ALGORITHM},
        {"v=1; a=rsa-sha256; c=fancy/simple; d=x.org; s=s; h=from; bh=" BH32 "; b=AA==", MOX_ERR_UNSUPPORTED, MOX_DKIM_ERR_CANON},
        {"v=1; a=rsa-sha256; c=simple/fancy; d=x.org; s=s; h=from; bh=" BH32 "; b=AA==", MOX_ERR_UNSUPPORTED, MOX_DKIM_ERR_CANON},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=" BH32 "; b=AA=", MOX_ERR_SYNTAX, MOX_DKIM_ERR_BASE64},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=" BH32 "; b=A!A=", MOX_ERR_SYNTAX, MOX_DKIM_ERR_BASE64},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=" BH32 "; b=", MOX_ERR_SYNTAX, MOX_DKIM_ERR_BASE64},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=AAAA; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_BODY_HASH_LEN},
        {"v=1; a=rsa-sha1; d=x.org; s=s; h=from; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_BODY_HASH_LEN},
        {"v=1; a=rsa-sha256; d=x..org; s=s; h=from; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_DOMAIN},
        {"v=1; a=rsa-sha256; d=x.org; s=s s; h=from; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_DOMAIN},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=to:subject; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_HEADERS},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from::to; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_HEADERS},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; i=joe@y.org; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_IDENTITY},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; i=joe@evilx.org; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_IDENTITY},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; i=joe; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_IDENTITY},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; l=12a; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_NUMBER},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; l=-1; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_NUMBER},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; l=99999999999999999999999; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_NUMBER},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; t=1234567890123; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_NUMBER},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; t=200; x=100; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_NUMBER},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; q=http/well-known; bh=" BH32 "; b=AA==", MOX_ERR_UNSUPPORTED, MOX_DKIM_ERR_QUERY},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=" BH32 "; b=AA==;;", MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_SYNTAX},
        {"v=1; a=rsa-sha256; 1d=x.org; s=s; h=from; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_SYNTAX},
        {"v=1; a=rsa-sha256 d=x.org; s=s; h=from; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_MISSING},
        {"v=1; a; d=x.org; s=s; h=from; bh=" BH32 "; b=AA==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_SYNTAX},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=" BH32 "; b=AA==\r; x=1", MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_SYNTAX},
        {"v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=" BH32 "; b=A\001A==", MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_SYNTAX},
        {"", MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_MISSING},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mox_errinfo_clear(&ei);
        sig = (mox_dkim_sig *)1;
        int rc = mox_dkim_sig_parse(bad[i].v, strlen(bad[i].v), &sig, &ei);
        if (rc != bad[i].rc || ei.detail != bad[i].detail)
            fail_msg("case %zu (%s): rc %d detail %d (%s)", i, bad[i].v, rc, ei.detail, ei.msg);
        assert_null(sig);
        assert_true(ei.msg[0] != 0);
    }
}

static void test_key_parse(void **state)
{
    (void)state;
    mox_dkim_key *k;
    mox_errinfo ei;
    char *t = read_str("dkim/dkimpy/test.txt");
    assert_int_equal(mox_dkim_key_parse(t, strlen(t), 0, &k, &ei), MOX_OK);
    assert_int_equal(k->type, MOX_DKIM_KEY_RSA);
    assert_int_equal(k->bits, 1024);
    assert_int_equal(k->hashes, MOX_DKIM_HASH_SHA1 | MOX_DKIM_HASH_SHA256);
    assert_int_equal(k->email, 1);
    assert_int_equal(k->revoked, 0);
    mox_dkim_key_free(k);
    mox_free(t);

    t = read_str("dkim/dkimpy/eximtest.dns");
    assert_int_equal(mox_dkim_key_parse(t, strlen(t), 0, &k, &ei), MOX_OK);
    assert_int_equal(k->type, MOX_DKIM_KEY_ED25519);
    assert_int_equal(k->pubkey_len, 32);
    mox_dkim_key_free(k);
    mox_free(t);

    /* bare RSAPublicKey p= (mail-auth 002) */
    const char *pk1 = "v=DKIM1; p=MIGJAoGBALVI635dLK4cJJAH3Lx6upo3X/Lm1tQz3mezcWTA3BUBnyIsdnRf57aD5BtNmhPrYYDlWlzw3UgnKisIxktkk5+iMQMlFtAS10JB8L3YadXNJY+JBcbeSi5TgJe4WFzNgW95FWDAuSTRXSWZfA/8xjflbTLDx0euFZOM7C4T0GwLAgMBAAE=";
    assert_int_equal(mox_dkim_key_parse(pk1, strlen(pk1), 0, &k, &ei), MOX_OK);
    assert_int_equal(k->bits, 1024);
    mox_dkim_key_free(k);

    const char *flags = "k=rsa; h=sha256 : foo; s=email:tlsrpt; t=y:s:x; n=notes; p=";
    assert_int_equal(mox_dkim_key_parse(flags, strlen(flags), 0, &k, &ei), MOX_OK);
    assert_int_equal(k->revoked, 1);
    assert_int_equal(k->hashes, MOX_DKIM_HASH_SHA256);
    assert_int_equal(k->flags, MOX_DKIM_KEY_TESTING | MOX_DKIM_KEY_STRICT);
    assert_int_equal(k->email, 1);
    mox_dkim_key_free(k);

    char *tls = read_str("dkim/dkimpy/test_tlsrpt.txt");
    assert_int_equal(mox_dkim_key_parse(tls, strlen(tls), 0, &k, &ei), MOX_OK);
    assert_int_equal(k->email, 0);
    mox_dkim_key_free(k);
    mox_free(tls);

    static const struct {
        const char *file, *txt;
        int rc, detail;
    } bad[] = {
        {"dkim/dkimpy/badk.txt", NULL, MOX_ERR_UNSUPPORTED, MOX_DKIM_ERR_KEY_TYPE},
        {"dkim/dkimpy/badversion.txt", NULL, MOX_ERR_SYNTAX, MOX_DKIM_ERR_VERSION},
        {"dkim/dkimpy/test_bad.txt", NULL, MOX_ERR_SYNTAX, MOX_DKIM_ERR_KEY_DATA},
        {"dkim/gen/big4608.txt", NULL, MOX_ERR_LIMIT, MOX_DKIM_ERR_KEY_DATA},
        {NULL, "k=rsa; v=DKIM1; p=", MOX_ERR_SYNTAX, MOX_DKIM_ERR_VERSION},
        {NULL, "v=DKIM2; p=", MOX_ERR_SYNTAX, MOX_DKIM_ERR_VERSION},
        {NULL, "v=DKIM1; k=rsa", MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_MISSING},
        {NULL, "v=DKIM1; p=; p=", MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_DUP},
        {NULL, "v=DKIM1; p=AB$=", MOX_ERR_SYNTAX, MOX_DKIM_ERR_BASE64},
        {NULL, "v=DKIM1; k=ed25519; p=AAAA", MOX_ERR_SYNTAX, MOX_DKIM_ERR_KEY_DATA},
        {NULL, "v=DKIM1; k=rsa; p=AAAA", MOX_ERR_SYNTAX, MOX_DKIM_ERR_KEY_DATA},
        {NULL, "v=DKIM1 p=", MOX_ERR_SYNTAX, MOX_DKIM_ERR_VERSION},
        {NULL, "=x; p=", MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_SYNTAX},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *s = bad[i].file ? read_str(bad[i].file) : moxi_strdup(bad[i].txt);
        mox_errinfo_clear(&ei);
        k = (mox_dkim_key *)1;
        int rc = mox_dkim_key_parse(s, strlen(s), 0, &k, &ei);
        if (rc != bad[i].rc || ei.detail != bad[i].detail)
            fail_msg("case %zu: rc %d detail %d (%s)", i, rc, ei.detail, ei.msg);
        assert_null(k);
        mox_free(s);
    }
}

/* ------------------------------------------------------------ canonicalisation */

static void body_hash_all_splits(int canon, const char *in, const char *want)
{
    unsigned char expect_d[32];
    mbedtls_sha256_ret((const unsigned char *)want, strlen(want), expect_d, 0);
    size_t n = strlen(in);
    /* whole, every single split point, and byte by byte */
    for (size_t split = 0; split <= n + 1; split++) {
        moxi_dkim_body b;
        moxi_dkim_body_init(&b, canon, MOXI_DKIM_SHA256, MOXI_DKIM_NO_LIMIT);
        if (split == n + 1) {
            for (size_t i = 0; i < n; i++)
                moxi_dkim_body_feed(&b, (const unsigned char *)in + i, 1);
        } else {
            moxi_dkim_body_feed(&b, (const unsigned char *)in, split);
            moxi_dkim_body_feed(&b, (const unsigned char *)in + split, n - split);
        }
        moxi_dkim_body_finish(&b);
        if (memcmp(b.digest, expect_d, 32) || b.total != strlen(want))
            fail_msg("%s body canon of \"%s\" (split %zu): wrong (total %llu, want \"%s\")",
                     canon ? "relaxed" : "simple", in, split, (unsigned long long)b.total, want);
        moxi_dkim_body_free(&b);
    }
}

static void test_body_canon(void **state)
{
    (void)state;
    static const struct {
        const char *in, *simple, *relaxed;
    } v[] = {
        {"", "\r\n", ""},
        {"\r\n", "\r\n", ""},
        {"\r\n\r\n\r\n", "\r\n", ""},
        {"abc", "abc\r\n", "abc\r\n"},
        {"abc\r\n", "abc\r\n", "abc\r\n"},
        {"abc\r\n\r\n\r\n", "abc\r\n", "abc\r\n"},
        {" C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n", " C\r\nD E\r\n"},
        {"a\r\n\r\n \t \r\nb\r\n", "a\r\n\r\n \t \r\nb\r\n", "a\r\n\r\n\r\nb\r\n"},
        {"a\r\n \t\r\n\t\r\n", "a\r\n \t\r\n\t\r\n", "a\r\n"},
        {"x \t", "x \t\r\n", "x\r\n"},
        {"a\rb\r\n", "a\rb\r\n", "a\rb\r\n"},
        {"a\r", "a\r\r\n", "a\r\r\n"},
        {"\r", "\r\r\n", "\r\r\n"},
        {"a\nb\r\n", "a\nb\r\n", "a\nb\r\n"},
        {"a\r\r\n", "a\r\r\n", "a\r\r\n"},
        {"  lead\r\n", "  lead\r\n", " lead\r\n"},
        {"\r\n\r\nx", "\r\n\r\nx\r\n", "\r\n\r\nx\r\n"},
        {"\xc3\xa9t\xc3\xa9 8bit\r\n", "\xc3\xa9t\xc3\xa9 8bit\r\n", "\xc3\xa9t\xc3\xa9 8bit\r\n"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        body_hash_all_splits(MOX_DKIM_SIMPLE, v[i].in, v[i].simple);
        body_hash_all_splits(MOX_DKIM_RELAXED, v[i].in, v[i].relaxed);
    }
    /* Known value: sha256 of CRLF, as in RFC 6376's simple empty body. */
    moxi_dkim_body b;
    moxi_dkim_body_init(&b, MOX_DKIM_SIMPLE, MOXI_DKIM_SHA256, MOXI_DKIM_NO_LIMIT);
    moxi_dkim_body_finish(&b);
    mox_buf e = MOX_BUF_INIT;
    assert_int_equal(mox_base64_encode(b.digest, 32, &e), MOX_OK);
    assert_string_equal((char *)e.data, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
    moxi_dkim_body_free(&b);
    mox_buf_reset(&e);
    moxi_dkim_body_init(&b, MOX_DKIM_RELAXED, MOXI_DKIM_SHA256, MOXI_DKIM_NO_LIMIT);
    moxi_dkim_body_finish(&b);
    assert_int_equal(mox_base64_encode(b.digest, 32, &e), MOX_OK);
    assert_string_equal((char *)e.data, BH32);
    moxi_dkim_body_free(&b);
    mox_buf_free(&e);

    /* l= limits what is hashed, not what is counted. */
    moxi_dkim_body_init(&b, MOX_DKIM_SIMPLE, MOXI_DKIM_SHA256, 3);
    moxi_dkim_body_feed(&b, (const unsigned char *)"abcdef\r\n", 8);
    moxi_dkim_body_finish(&b);
    unsigned char d3[32];
    mbedtls_sha256_ret((const unsigned char *)"abc", 3, d3, 0);
    assert_memory_equal(b.digest, d3, 32);
    assert_int_equal(b.total, 8);
    moxi_dkim_body_free(&b);

    /* 100000 empty lines then content: pending CRLFs written in blocks. */
    moxi_dkim_body_init(&b, MOX_DKIM_SIMPLE, MOXI_DKIM_SHA256, MOXI_DKIM_NO_LIMIT);
    for (int i = 0; i < 100000; i++)
        moxi_dkim_body_feed(&b, (const unsigned char *)"\r\n", 2);
    moxi_dkim_body_feed(&b, (const unsigned char *)"x", 1);
    moxi_dkim_body_finish(&b);
    assert_int_equal(b.total, 200003);
    moxi_dkim_body_free(&b);
}

static void header_canon(int canon, const char *in, int strip_b, const char *want)
{
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(moxi_dkim_canon_header(canon, (const unsigned char *)in, strlen(in), strip_b, &b), MOX_OK);
    if (b.len != strlen(want) || memcmp(b.data, want, b.len))
        fail_msg("%s header canon of \"%s\": got \"%s\", want \"%s\"", canon ? "relaxed" : "simple",
                 in, b.data ? (char *)b.data : "", want);
    mox_buf_free(&b);
}

static void test_header_canon(void **state)
{
    (void)state;
    header_canon(MOX_DKIM_RELAXED, "SubJect : AbC  \r\n\t def \t\r\n", 0, "subject:AbC def\r\n");
    header_canon(MOX_DKIM_SIMPLE, "SubJect : AbC  \r\n\t def \t\r\n", 0, "SubJect : AbC  \r\n\t def \t\r\n");
    header_canon(MOX_DKIM_RELAXED, "A:\r\n X\r\n", 0, "a:X\r\n");
    header_canon(MOX_DKIM_RELAXED, "B:  \r\n", 0, "b:\r\n");
    header_canon(MOX_DKIM_RELAXED, "C: \xc3\xa9  x\r\n", 0, "c:\xc3\xa9 x\r\n");
    /* b= value deleted, bh= kept; no trailing CRLF for the signature field */
    header_canon(MOX_DKIM_RELAXED, "DKIM-Signature: v=1; bh=abc; b = AB\r\n CD ; d=x\r\n", 1,
                 "dkim-signature:v=1; bh=abc; b =; d=x");
    header_canon(MOX_DKIM_SIMPLE, "DKIM-Signature: v=1; bh=abc; b=AB\r\n CD\r\n", 1,
                 "DKIM-Signature: v=1; bh=abc; b=");
    header_canon(MOX_DKIM_SIMPLE, "DKIM-Signature: b=;bh=x\r\n", 1, "DKIM-Signature: b=;bh=x");
}

static void test_header_split(void **state)
{
    (void)state;
    const char *h = "From: a\r\nX: 1\r\n 2\r\nno colon line\r\nTo : b\r\n\r\nbody";
    for (size_t chunk = 1; chunk <= strlen(h); chunk++) {
        moxi_dkim_hdrs hd;
        moxi_dkim_hdrs_init(&hd, 1000, 100);
        size_t off = 0, used = 0;
        while (!hd.complete) {
            size_t n = strlen(h) - off < chunk ? strlen(h) - off : chunk;
            assert_int_equal(moxi_dkim_hdrs_feed(&hd, (const unsigned char *)h + off, n, &used), MOX_OK);
            off += used;
        }
        assert_int_equal(off, strlen(h) - 4);
        assert_int_equal(hd.nfields, 4);
        assert_int_equal(hd.fields[1].len, 10);
        assert_int_equal(hd.fields[2].name_len, 0);
        assert_true(moxi_dkim_field_is(&hd, &hd.fields[3], "to", 2));
        assert_int_equal(hd.buf.len, strlen(h) - 6);
        moxi_dkim_hdrs_free(&hd);
    }
    /* empty header section */
    moxi_dkim_hdrs hd;
    size_t used;
    moxi_dkim_hdrs_init(&hd, 1000, 100);
    assert_int_equal(moxi_dkim_hdrs_feed(&hd, (const unsigned char *)"\r\nbody", 6, &used), MOX_OK);
    assert_true(hd.complete);
    assert_int_equal(used, 2);
    assert_int_equal(hd.nfields, 0);
    moxi_dkim_hdrs_free(&hd);
    /* limits */
    moxi_dkim_hdrs_init(&hd, 10, 100);
    assert_int_equal(moxi_dkim_hdrs_feed(&hd, (const unsigned char *)"Subject: 0123456789\r\n", 21, &used), MOX_ERR_LIMIT);
    moxi_dkim_hdrs_free(&hd);
    moxi_dkim_hdrs_init(&hd, 1000, 2);
    assert_int_equal(moxi_dkim_hdrs_feed(&hd, (const unsigned char *)"a:1\r\nb:2\r\nc:3\r\n\r\n", 17, &used), MOX_ERR_LIMIT);
    moxi_dkim_hdrs_free(&hd);
}

/* ------------------------------------------------------------ vectors */

static void test_rfc6376_appendix_a(void **state)
{
    (void)state;
    mox_buf msg = MOX_BUF_INIT;
    read_file("dkim/rfc6376/appendix-a2-corrected.eml", &msg);
    char *key = read_str("dkim/rfc6376/brisbane.txt");
    struct rec recs[] = {{"brisbane._domainkey.example.com", key, 0}, {NULL, NULL, 0}};
    for (size_t chunk = 1; chunk <= msg.len; chunk = chunk * 3 + 1) {
        mox_dkim_verifier *v = verify_chunked(msg.data, msg.len, recs, NULL, chunk);
        assert_int_equal(vcount(v), 1);
        expect(v, 0, MOX_DKIM_PASS, "");
        const mox_dkim_sig_result *r = vres(v, 0);
        assert_string_equal(r->domain, "example.com");
        assert_string_equal(r->selector, "brisbane");
        assert_string_equal(r->identity, "joe@football.example.com");
        assert_string_equal(r->algorithm, "rsa-sha256");
        assert_int_equal(r->key_bits, 1024);
        mox_dkim_verifier_free(v);
    }
    /* The printed text (two spaces after "game.") does not verify. */
    char *p = strstr((char *)msg.data, "game. Are");
    assert_non_null(p);
    mox_buf printed = MOX_BUF_INIT;
    assert_int_equal(mox_buf_append(&printed, msg.data, (size_t)(p - (char *)msg.data) + 5), MOX_OK);
    assert_int_equal(mox_buf_append_str(&printed, " "), MOX_OK);
    assert_int_equal(mox_buf_append_str(&printed, p + 5), MOX_OK);
    mox_dkim_verifier *v = verify(printed.data, printed.len, recs, NULL);
    expect(v, 0, MOX_DKIM_FAIL, "body hash did not verify");
    mox_dkim_verifier_free(v);
    /* Nor with the Figure 2 indentation (5 spaces instead of 6). */
    mox_buf_reset(&printed);
    for (size_t i = 0; i < msg.len; i++) {
        if (i >= 2 && msg.data[i - 1] == '\n' && msg.data[i] == ' ')
            i++;
        assert_int_equal(mox_buf_append_byte(&printed, msg.data[i]), MOX_OK);
    }
    v = verify(printed.data, printed.len, recs, NULL);
    expect(v, 0, MOX_DKIM_FAIL, "signature did not verify");
    mox_dkim_verifier_free(v);
    /* Nor with the key where Appendix C puts it. */
    struct rec org[] = {{"brisbane._domainkey.example.org", key, 0}, {NULL, NULL, 0}};
    v = verify(msg.data, msg.len, org, NULL);
    expect(v, 0, MOX_DKIM_PERMERROR, "no key for signature");
    mox_dkim_verifier_free(v);
    mox_buf_free(&printed);
    mox_buf_free(&msg);
    mox_free(key);
}

/* RFC 8463 §A.3 as in dkimpy (simple/simple) and mail-auth (relaxed). */
static void test_rfc8463(void **state)
{
    (void)state;
    char *rsa = read_str("dkim/dkimpy/test.txt");
    struct rec recs[] = {
        {"brisbane._domainkey.football.example.com",
         "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", 0},
        {"test._domainkey.football.example.com", rsa, 0},
        {NULL, NULL, 0}};
    mox_buf raw = MOX_BUF_INIT, msg = MOX_BUF_INIT;
    read_file("dkim/dkimpy/rfc6376.signed.msg", &raw);
    crlf(raw.data, raw.len, &msg);
    for (size_t chunk = 1; chunk <= msg.len; chunk = chunk * 2 + 1) {
        mox_dkim_verifier *v = verify_chunked(msg.data, msg.len, recs, NULL, chunk);
        assert_int_equal(vcount(v), 2);
        expect(v, 0, MOX_DKIM_PASS, "");
        expect(v, 1, MOX_DKIM_PASS, "");
        assert_string_equal(vres(v, 0)->algorithm, "ed25519-sha256");
        assert_int_equal(vres(v, 0)->key_bits, 256);
        mox_dkim_verifier_free(v);
    }
    /* Ed25519 with an RSA-typed record, and vice versa. */
    struct rec swapped[] = {{"brisbane._domainkey.football.example.com", rsa, 0},
                            {"test._domainkey.football.example.com",
                             "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", 0},
                            {NULL, NULL, 0}};
    mox_dkim_verifier *v = verify(msg.data, msg.len, swapped, NULL);
    expect(v, 0, MOX_DKIM_PERMERROR, "key type does not match algorithm");
    expect(v, 1, MOX_DKIM_PERMERROR, "key type does not match algorithm");
    mox_dkim_verifier_free(v);
    mox_buf_free(&raw);
    mox_buf_free(&msg);
    mox_free(rsa);
}

static void test_mail_auth(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int64_t now;
        size_t nsigs;
    } files[] = {
        {"dkim/mail-auth/001.txt", 1528637909, 2}, {"dkim/mail-auth/002.txt", 1615825284, 1},
        {"dkim/mail-auth/003.txt", 1667592145, 2}, {"dkim/mail-auth/004.txt", 1667862801, 1},
        {"dkim/mail-auth/005.txt", 1667843664, 1}, {"dkim/mail-auth/006.txt", 1667414738, 1},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct rec recs[8];
        char *store;
        mox_buf msg = MOX_BUF_INIT;
        load_mail_auth(files[i].file, recs, 8, &store, &msg);
        fixed_now = files[i].now + 60;
        mox_dkim_verifier *v = verify_chunked(msg.data, msg.len, recs, NULL, 997);
        assert_int_equal(vcount(v), files[i].nsigs);
        for (size_t k = 0; k < files[i].nsigs; k++) {
            const mox_dkim_sig_result *r = vres(v, k);
            if (r->status != MOX_DKIM_PASS)
                fail_msg("%s sig %zu: %s %s %s", files[i].file, k, mox_dkim_status_name(r->status),
                         r->reason, r->detail);
        }
        mox_dkim_verifier_free(v);
        /* mail-auth 005 carries x=: a day later it has expired. */
        if (i == 4) {
            fixed_now = files[i].now + 2 * 86400;
            v = verify(msg.data, msg.len, recs, NULL);
            expect(v, 0, MOX_DKIM_PERMERROR, "signature expired");
            mox_dkim_verifier_free(v);
        }
        /* 004 and 006 have t=s and h=sha256 keys: pass above; t=s would
         * refuse an i= in a subdomain, checked in test_key_policy. */
        fixed_now = 0;
        mox_buf_free(&msg);
        mox_free(store);
    }
}

static void test_dkimpy_vectors(void **state)
{
    (void)state;
    /* Exim's ed25519 signature (relaxed/relaxed), key in eximtest.dns. */
    char *key = read_str("dkim/dkimpy/eximtest.dns");
    struct rec recs[] = {{"sed._domainkey.test.ex", key, 0}, {NULL, NULL, 0}};
    mox_buf raw = MOX_BUF_INIT, msg = MOX_BUF_INIT;
    read_file("dkim/dkimpy/ed25519test2.msg", &raw);
    crlf(raw.data, raw.len, &msg);
    mox_dkim_verifier *v = verify_chunked(msg.data, msg.len, recs, NULL, 7);
    expect(v, 0, MOX_DKIM_PASS, "");
    mox_dkim_verifier_free(v);
    mox_free(key);
    mox_buf_free(&raw);
    mox_buf_free(&msg);

    /* Degenerate folding (Debian bug #711751) parses; the gmail key is not
     * available, so: no key. */
    read_file("dkim/dkimpy/test2.message", &raw);
    crlf(raw.data, raw.len, &msg);
    v = verify(msg.data, msg.len, NULL, NULL);
    assert_int_equal(vcount(v), 1);
    expect(v, 0, MOX_DKIM_PERMERROR, "no key for signature");
    assert_string_equal(vres(v, 0)->domain, "gmail.com");
    mox_dkim_verifier_free(v);
    mox_buf_free(&raw);
    mox_buf_free(&msg);

    /* rsa-sha1: policy by default, pass when allowed, permerror when the
     * key says h=sha256 (where dkimpy is lenient). */
    char *rsa = read_str("dkim/dkimpy/test.txt");
    struct rec r1[] = {{"test._domainkey.example.com", rsa, 0}, {NULL, NULL, 0}};
    read_file("dkim/gen/sha1.eml", &raw);
    crlf(raw.data, raw.len, &msg);
    mox_buf_free(&raw);
    v = verify(msg.data, msg.len, r1, NULL);
    expect(v, 0, MOX_DKIM_POLICY, "rsa-sha1 not allowed");
    mox_dkim_verifier_free(v);
    mox_dkim_verify_config cfg = MOX_DKIM_VERIFY_CONFIG_INIT;
    cfg.allow_rsa_sha1 = 1;
    v = verify(msg.data, msg.len, r1, &cfg);
    expect(v, 0, MOX_DKIM_PASS, "");
    mox_dkim_verifier_free(v);
    mox_buf rsa256 = MOX_BUF_INIT;
    assert_int_equal(mox_buf_appendf(&rsa256, "v=DKIM1; h=sha256; %s", strstr(rsa, "k=rsa")), MOX_OK);
    r1[0].txt = (char *)rsa256.data;
    v = verify(msg.data, msg.len, r1, &cfg);
    expect(v, 0, MOX_DKIM_PERMERROR, "hash algorithm not allowed by key");
    mox_dkim_verifier_free(v);
    mox_buf_free(&rsa256);
    mox_buf_free(&msg);
    mox_free(rsa);

    /* A 768-bit key verifies but is refused by policy. */
    char *small = read_str("dkim/gen/small768.txt");
    struct rec r2[] = {{"small._domainkey.example.com", small, 0}, {NULL, NULL, 0}};
    mox_buf_reset(&msg);
    read_file("dkim/gen/small768.eml", &raw);
    crlf(raw.data, raw.len, &msg);
    mox_buf_free(&raw);
    v = verify(msg.data, msg.len, r2, NULL);
    expect(v, 0, MOX_DKIM_POLICY, "key too small");
    assert_int_equal(vres(v, 0)->key_bits, 768);
    mox_dkim_verifier_free(v);
    cfg.min_rsa_bits = 512;
    v = verify(msg.data, msg.len, r2, &cfg);
    expect(v, 0, MOX_DKIM_PASS, "");
    mox_dkim_verifier_free(v);
    /* A 4608-bit key record is refused before any arithmetic. */
    char *big = read_str("dkim/gen/big4608.txt");
    r2[0].txt = big;
    v = verify(msg.data, msg.len, r2, NULL);
    expect(v, 0, MOX_DKIM_PERMERROR, "key too large");
    mox_dkim_verifier_free(v);
    mox_free(big);
    mox_free(small);
    mox_buf_free(&msg);
}

/* ------------------------------------------------------------ signing */

static mox_dkim_privkey *load_key(const char *rel)
{
    mox_buf b = MOX_BUF_INIT;
    read_file(rel, &b);
    mox_dkim_privkey *k;
    mox_errinfo ei;
    int rc = mox_dkim_privkey_load(b.data, b.len, NULL, &k, &ei);
    if (rc)
        fail_msg("%s: %s", rel, ei.msg);
    mox_buf_free(&b);
    return k;
}

/* eof, then the fields appended to `out`. */
static int sfinish(mox_dkim_signer *s, mox_buf *out)
{
    int rc = mox_dkim_signer_eof(s);
    if (rc)
        return rc;
    const mox_dkim_signer_outcome *o = mox_dkim_signer_result(s);
    assert_non_null(o);
    assert_int_equal(strlen(o->fields), o->len);
    return mox_buf_append(out, o->fields, o->len);
}

static void sign(const mox_dkim_sign_params *p, size_t n, const void *msg, size_t len, size_t chunk,
                 mox_buf *out)
{
    mox_dkim_sign_config cfg = MOX_DKIM_SIGN_CONFIG_INIT;
    cfg.env = &test_env;
    mox_dkim_signer *s;
    mox_errinfo ei;
    assert_int_equal(mox_dkim_signer_new(&s, &cfg, p, n, &ei), MOX_OK);
    for (size_t off = 0; off < len; off += chunk)
        SFEED(s, (const char *)msg + off, len - off < chunk ? len - off : chunk);
    assert_int_equal(mox_dkim_signer_want(s), MOX_WANT_READ);
    assert_null(mox_dkim_signer_result(s));
    int rc = sfinish(s, out);
    if (rc)
        fail_msg("sign: %s", mox_engine_error(mox_dkim_signer_engine(s))->msg);
    assert_int_equal(mox_dkim_signer_want(s), MOX_WANT_DONE);
    assert_int_equal(mox_dkim_signer_result(s)->count, n);
    assert_int_equal(mox_dkim_signer_eof(s), MOX_ERR_STATE);
    assert_int_equal(mox_dkim_signer_feed(s, "x", 1), MOX_ERR_STATE);
    assert_int_equal(mox_engine_error(mox_dkim_signer_engine(s))->code, MOX_ERR_STATE);
    mox_dkim_signer_free(s);
    assert_int_equal(mox_buf_append(out, msg, len), MOX_OK);
}

static const char sample[] =
    "From: Joe <joe@example.com>\r\n"
    "To: Suzie <suzie@example.net>,\r\n  Other <o@example.net>\r\n"
    "Subject:   Hello   there \t\r\n"
    "sUbJeCt-extra: odd case\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
    "Message-ID: <1@example.com>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Hi.  \r\n"
    "\r\n"
    "Caf\xc3\xa9 \t trailing \t\r\n"
    "\r\n\r\n";

static void test_sign_roundtrip(void **state)
{
    (void)state;
    fixed_now = 1700000000;
    mox_dkim_privkey *rsa = load_key("dkim/dkimpy/test.private");
    mox_dkim_privkey *ed = load_key("dkim/dkimpy/ed25519test.key");
    assert_int_equal(mox_dkim_privkey_type(rsa), MOX_DKIM_KEY_RSA);
    assert_int_equal(mox_dkim_privkey_bits(rsa), 1024);
    assert_int_equal(mox_dkim_privkey_type(ed), MOX_DKIM_KEY_ED25519);
    mox_buf rrec = MOX_BUF_INIT, erec = MOX_BUF_INIT;
    assert_int_equal(mox_dkim_privkey_record(rsa, &rrec), MOX_OK);
    assert_int_equal(mox_dkim_privkey_record(ed, &erec), MOX_OK);
    /* The record of dkimpy's test key is the published one. */
    char *pub = read_str("dkim/dkimpy/test.txt");
    assert_non_null(strstr(pub, strstr((char *)rrec.data, "p=")));
    mox_free(pub);
    char *edpub = read_str("dkim/dkimpy/ed25519test.dns");
    assert_non_null(strstr((char *)erec.data, strstr(edpub, "p=")));
    mox_free(edpub);

    struct rec recs[] = {{"rsa._domainkey.example.com", (char *)rrec.data, 0},
                         {"ed._domainkey.example.com", (char *)erec.data, 0},
                         {NULL, NULL, 0}};
    for (int hc = 0; hc < 2; hc++)
        for (int bc = 0; bc < 2; bc++) {
            mox_dkim_sign_params p[2] = {MOX_DKIM_SIGN_PARAMS_INIT, MOX_DKIM_SIGN_PARAMS_INIT};
            p[0].key = rsa;
            p[0].domain = "example.com";
            p[0].selector = "rsa";
            p[0].header_canon = hc;
            p[0].body_canon = bc;
            p[1] = p[0];
            p[1].key = ed;
            p[1].selector = "ed";
            p[1].identity = "joe@mail.example.com";
            for (size_t chunk = 1; chunk < sizeof sample; chunk = chunk * 4 + 3) {
                mox_buf out = MOX_BUF_INIT;
                sign(p, 2, sample, sizeof sample - 1, chunk, &out);
                /* folded to 78 columns */
                const char *line = (char *)out.data;
                while (line < (char *)out.data + out.len) {
                    const char *nl = strstr(line, "\r\n");
                    assert_true(nl - line <= 78);
                    line = nl + 2;
                }
                mox_dkim_verifier *v = verify_chunked(out.data, out.len, recs, NULL, chunk);
                assert_int_equal(vcount(v), 2);
                expect(v, 0, MOX_DKIM_PASS, "");
                expect(v, 1, MOX_DKIM_PASS, "");
                assert_string_equal(vres(v, 1)->identity, "joe@mail.example.com");
                assert_int_equal(vres(v, 0)->timestamp, 1700000000);
                mox_dkim_verifier_free(v);
                if (chunk == 1 && hc == 1 && bc == 1) {
                    /* oversigned default set */
                    assert_non_null(strstr((char *)out.data, "h=From:From:To:To:Cc:Bcc:Reply-To:"));
                }
                mox_buf_free(&out);
            }
        }
    mox_dkim_privkey_free(rsa);
    mox_dkim_privkey_free(ed);
    mox_buf_free(&rrec);
    mox_buf_free(&erec);
    fixed_now = 0;
}

/* ------------------------------------------------------------ folding */

struct fold_stats {
    size_t in_h;      /* after a ':' of h= */
    size_t in_bh;     /* inside the bh= base64 */
    size_t in_b;      /* inside the b= base64 */
    size_t before_b;  /* between tags, right before b= */
    size_t between;   /* between other tags */
    size_t after_eq;  /* after '=' of an over-long d=/s=/i= */
    size_t overlong;  /* lines over 78 columns (single tokens only) */
};

/* Checks the layout of the DKIM-Signature fields at the top of `out`:
 * every line at most 78 columns unless it is one token that no line can
 * hold (at most `max_token` long); a continuation line is one SP and then
 * text; folds only where RFC 6376 allows FWS, classified into *st.
 * Returns the number of fields seen. */
static size_t check_folding(const mox_buf *out, size_t max_token, struct fold_stats *st)
{
    const char *p = (const char *)out->data, *end = p + out->len;
    size_t fields = 0;
    while (p < end && !strncmp(p, "DKIM-Signature: ", 16)) {
        fields++;
        /* Unfold into u[], remembering where each fold's SP lands. */
        char u[4096];
        size_t un = 0, folds[128], nf = 0;
        for (;;) {
            const char *nl = strstr(p, "\r\n");
            assert_non_null(nl);
            size_t len = (size_t)(nl - p);
            if (len > 78) {
                /* " token" or " token;" with no room to split */
                if (p[0] != ' ' || memchr(p + 1, ' ', len - 1) || len - 1 > max_token)
                    fail_msg("line of %zu columns: %.*s", len, (int)len, p);
                st->overlong++;
            }
            assert_true(len > 0 && p[len - 1] != ' ' && p[len - 1] != '\t');
            assert_true(un + len < sizeof u);
            memcpy(u + un, p, len);
            un += len;
            p = nl + 2;
            if (p >= end || *p != ' ')
                break;
            assert_true(p[1] != ' ' && p[1] != '\t' && p[1] != '\r');
            assert_true(nf < 128);
            folds[nf++] = un; /* the SP that follows is the fold's */
        }
        u[un] = 0;
        for (size_t i = 0; i < nf; i++) {
            size_t k = folds[i];
            char prev = u[k - 1];
            /* the tag the fold is in: after the last ';' before it */
            size_t t = k;
            while (t > 0 && u[t - 1] != ';' && u[t - 1] != ':')
                t--;
            /* h= separators are ':' too: walk back past them */
            while (t > 0 && u[t - 1] == ':' && strncmp(u + t - 16 < u ? u : u + t - 16, "DKIM-Signature:", 15)) {
                t--;
                while (t > 0 && u[t - 1] != ';' && u[t - 1] != ':')
                    t--;
            }
            while (u[t] == ' ')
                t++;
            const char *eq = strchr(u + t, '=');
            assert_non_null(eq);
            size_t nlen = (size_t)(eq - (u + t));
            if (prev == ';') {
                if (!strncmp(u + k + 1, "b=", 2))
                    st->before_b++;
                else
                    st->between++;
            } else if (nlen == 1 && u[t] == 'h') {
                if (prev != ':')
                    fail_msg("fold in h= not after ':' at %zu: %s", k, u);
                st->in_h++;
            } else if ((nlen == 2 && !strncmp(u + t, "bh", 2)) || (nlen == 1 && u[t] == 'b')) {
                /* base64 keeps some characters on the tag's line */
                if ((size_t)(u + k - eq - 1) < 8)
                    fail_msg("fold right after %.*s= at %zu: %s", (int)nlen, u + t, k, u);
                if (nlen == 2)
                    st->in_bh++;
                else
                    st->in_b++;
            } else if (prev == '=' && nlen == 1 && strchr("dsi", u[t])) {
                st->after_eq++;
            } else {
                fail_msg("fold not allowed at %zu: %s", k, u);
            }
        }
        /* The unfolded value parses; relaxed readers see the same tags. */
        mox_dkim_sig *sig = NULL;
        mox_errinfo ei;
        if (mox_dkim_sig_parse(u + 16, un - 16, &sig, &ei))
            fail_msg("%s: %s", u, ei.msg);
        mox_dkim_sig_free(sig);
    }
    return fields;
}

/* A selector or domain of exactly `len` characters: labels of at most
 * 60 joined by dots, with `last` as the final label. */
static void make_name(char *out, size_t len, const char *last)
{
    size_t ll = strlen(last), i = 0;
    assert_true(len >= ll);
    while (i + ll < len) {
        size_t room = len - ll - i; /* includes the dot before `last` */
        size_t lab = room - 1 > 60 ? 60 : room - 1;
        if (room - 1 > 60 && room - 1 - 60 < 2)
            lab = 57; /* never leave a label of less than one character */
        if (lab == 0) {
            out[i++] = 'q';
            continue;
        }
        memset(out + i, 'a' + (char)(i % 26), lab);
        i += lab;
        out[i++] = '.';
    }
    memcpy(out + i, last, ll + 1);
    assert_int_equal(strlen(out), len);
}

static const char many_headers[] =
    "From: Joe <joe@example.com>\r\n"
    "To: a@example.net\r\nTo: b@example.net\r\nTo: c@example.net\r\n"
    "Cc: d@example.net\r\nCc: e@example.net\r\n"
    "Reply-To: r@example.com\r\n"
    "References: <p1@example.com>\r\nReferences: <p2@example.com>\r\n"
    "In-Reply-To: <p2@example.com>\r\n"
    "Subject: folding\r\nDate: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
    "Message-ID: <f@example.com>\r\nContent-Type: text/plain\r\n"
    "X-A-Rather-Long-Header-Name-Used-By-Some-Mailing-List-Software: 1\r\n"
    "\r\n"
    "Body.\r\n";

/* Long header lists, long domains and selectors, both algorithms (RSA
 * 1024 and 2048, Ed25519), all canonicalisations: every line fits in 78
 * columns where a fold is allowed, and the signature verifies. Selector
 * lengths sweep every column, so folds land at every position of h=,
 * bh= and b=. */
static void test_sign_folding(void **state)
{
    (void)state;
    fixed_now = 1700000000;
    mox_dkim_privkey *keys[3] = {load_key("dkim/dkimpy/test.private"), load_key("dkim/gen/rsa2048-pkcs8.pem"),
                                 load_key("dkim/dkimpy/ed25519test.key")};
    mox_buf recs_txt[3] = {MOX_BUF_INIT, MOX_BUF_INIT, MOX_BUF_INIT};
    for (int i = 0; i < 3; i++)
        assert_int_equal(mox_dkim_privkey_record(keys[i], &recs_txt[i]), MOX_OK);
    struct fold_stats st;
    memset(&st, 0, sizeof st);
    static const char long_list[] =
        "From:To:Cc:Subject:Date:Message-ID:X-A-Rather-Long-Header-Name-Used-By-Some-Mailing-List-Software:"
        "List-Id:List-Unsubscribe:List-Unsubscribe-Post:List-Archive:List-Post:List-Help:List-Subscribe:"
        "X-A-Header-Name-Of-Exactly-Seventy-Five-Characters-For-The-Line-Limit-Test-X:"
        "Resent-From:Resent-To:Resent-Date:Resent-Message-ID:MIME-Version:Content-Transfer-Encoding";
    char sel[128], dom[256], ident[300], qname[512];
    struct {
        size_t sel_from, sel_to, dom_len;
        const char *headers;
        int identity;
    } cases[] = {
        {1, 80, 11, NULL, 0},       /* default oversigned list, selector sweep */
        {1, 20, 11, long_list, 0},  /* a long custom list */
        {5, 5, 74, NULL, 0},        /* " d=<74>;" is 78: fits */
        {5, 5, 75, NULL, 0},        /* one more: fold after "d=" */
        {5, 5, 76, NULL, 1},        /* " <76>;" still fits; so does i= */
        {5, 5, 200, NULL, 1},       /* a domain no line can hold */
        {120, 120, 11, NULL, 0},    /* a selector no line can hold */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t sl = cases[c].sel_from; sl <= cases[c].sel_to; sl++) {
            if (cases[c].dom_len == 11)
                strcpy(dom, "example.com");
            else
                make_name(dom, cases[c].dom_len, "com");
            make_name(sel, sl, sl >= 3 ? "sel" : (sl == 2 ? "sx" : "s"));
            snprintf(qname, sizeof qname, "%s._domainkey.%s", sel, dom);
            snprintf(ident, sizeof ident, "someone.with.a.long.local.part@%s", dom);
            /* the longest value that cannot be split, with its ';' */
            size_t max_token = strlen(sel) > strlen(dom) ? strlen(sel) : strlen(dom);
            if (cases[c].identity && strlen(ident) > max_token)
                max_token = strlen(ident);
            max_token++;
            for (int ki = 0; ki < 3; ki++) {
                struct rec recs[] = {{qname, (char *)recs_txt[ki].data, 0}, {NULL, NULL, 0}};
                /* every canonicalisation for the sweeps' ends and the
                 * special cases; relaxed/relaxed and simple/simple between */
                for (int hc = 0; hc < 2; hc++)
                    for (int bc = 0; bc < 2; bc++) {
                        int full = sl == cases[c].sel_from || sl == cases[c].sel_to || sl % 7 == 0;
                        if (!full && hc != bc)
                            continue;
                        mox_dkim_sign_params p = MOX_DKIM_SIGN_PARAMS_INIT;
                        p.key = keys[ki];
                        p.domain = dom;
                        p.selector = sel;
                        p.header_canon = hc;
                        p.body_canon = bc;
                        p.headers = cases[c].headers;
                        p.identity = cases[c].identity ? ident : NULL;
                        p.expire_seconds = sl % 2 ? 86400 : 0;
                        p.body_length = sl % 3 == 0;
                        mox_buf out = MOX_BUF_INIT;
                        sign(&p, 1, many_headers, sizeof many_headers - 1, sizeof many_headers, &out);
                        size_t before = st.overlong;
                        assert_int_equal(check_folding(&out, max_token, &st), 1);
                        if (1 + max_token <= 78 && st.overlong != before)
                            fail_msg("over-long line without cause: %s", (char *)out.data);
                        mox_dkim_verifier *v = verify(out.data, out.len, recs, NULL);
                        assert_int_equal(vcount(v), 1);
                        expect(v, 0, MOX_DKIM_PASS, "");
                        const mox_dkim_sig_result *r = vres(v, 0);
                        assert_non_null(r->sig);
                        /* 21 names, each once more than present: From 1,
                         * To 3, Cc 2, Subject, Date, Message-ID, X-A-... 1 */
                        if (cases[c].headers)
                            assert_int_equal(r->sig->nheaders, 21 + 1 + 3 + 2 + 1 + 1 + 1 + 1);
                        mox_dkim_verifier_free(v);
                        /* a changed body or From still fails: the folds
                         * did not widen what is ignored */
                        char *body = strstr((char *)out.data, "Body.");
                        body[0] = 'b';
                        v = verify(out.data, out.len, recs, NULL);
                        expect(v, 0, MOX_DKIM_FAIL, "body hash did not verify");
                        mox_dkim_verifier_free(v);
                        body[0] = 'B';
                        char *from = strstr((char *)out.data, "\r\nFrom: Joe") + 8;
                        *from = 'j';
                        v = verify(out.data, out.len, recs, NULL);
                        expect(v, 0, MOX_DKIM_FAIL, "signature did not verify");
                        mox_dkim_verifier_free(v);
                        mox_buf_free(&out);
                    }
            }
        }
    }
    /* The sweep reached every kind of fold, and long tokens overflowed
     * only where they had to. */
    print_message("folds: %zu in h=, %zu in bh=, %zu in b=, %zu before b=, %zu between tags, %zu after '='; "
                  "%zu unsplittable lines over 78\n",
                  st.in_h, st.in_bh, st.in_b, st.before_b, st.between, st.after_eq, st.overlong);
    assert_true(st.in_h > 0);
    assert_true(st.in_bh > 0);
    assert_true(st.in_b > 0);
    assert_true(st.before_b > 0);
    assert_true(st.between > 0);
    assert_true(st.after_eq > 0);
    assert_true(st.overlong > 0);
    for (int i = 0; i < 3; i++) {
        mox_dkim_privkey_free(keys[i]);
        mox_buf_free(&recs_txt[i]);
    }
    fixed_now = 0;
}

/* Signs `sample` once per algorithm, then tampers. */
static void test_negative(void **state)
{
    (void)state;
    fixed_now = 1700000000;
    mox_dkim_privkey *keys[2] = {load_key("dkim/dkimpy/test.private"),
                                 load_key("dkim/dkimpy/ed25519test.key")};
    for (int ki = 0; ki < 2; ki++) {
        mox_buf rec = MOX_BUF_INIT;
        assert_int_equal(mox_dkim_privkey_record(keys[ki], &rec), MOX_OK);
        struct rec recs[] = {{"s._domainkey.example.com", (char *)rec.data, 0}, {NULL, NULL, 0}};
        mox_dkim_sign_params p = MOX_DKIM_SIGN_PARAMS_INIT;
        p.key = keys[ki];
        p.domain = "example.com";
        p.selector = "s";
        p.expire_seconds = 3600;
        mox_buf good = MOX_BUF_INIT, m = MOX_BUF_INIT;
        sign(&p, 1, sample, sizeof sample - 1, 4096, &good);
        mox_dkim_verifier *v = verify(good.data, good.len, recs, NULL);
        expect(v, 0, MOX_DKIM_PASS, "");
        mox_dkim_verifier_free(v);

        /* Any one-byte change in a signed header or in the body fails. */
        const char *sigend = strstr((char *)good.data, "\r\nFrom:") + 2;
        size_t hstart = (size_t)(sigend - (char *)good.data);
        size_t bstart = (size_t)(strstr((char *)good.data, "\r\n\r\n") - (char *)good.data) + 4;
        for (size_t i = hstart; i < good.len; i++) {
            unsigned char c = good.data[i];
            if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
                continue;
            /* sUbJeCt-extra is not signed */
            if (i >= (size_t)(strstr((char *)good.data, "sUbJeCt-extra") - (char *)good.data) &&
                i < (size_t)(strstr((char *)good.data, "\r\nDate:") - (char *)good.data))
                continue;
            good.data[i] = c == 'x' ? 'y' : 'x';
            v = verify(good.data, good.len, recs, NULL);
            const mox_dkim_sig_result *r = vres(v, 0);
            if (r->status != MOX_DKIM_FAIL)
                fail_msg("change at %zu ('%c', in \"%.20s\") not detected: %s", i, c,
                         (char *)good.data + i - 10, mox_dkim_status_name(r->status));
            assert_string_equal(r->reason, i >= bstart ? "body hash did not verify" : "signature did not verify");
            mox_dkim_verifier_free(v);
            good.data[i] = c;
        }

        /* A From (or any signed header) added above: oversigning catches it. */
        static const char *const added[] = {"From: evil@example.org\r\n", "Reply-To: evil@example.org\r\n",
                                            "Subject: other\r\n", "Cc: x@example.org\r\n"};
        for (size_t a = 0; a < 4; a++) {
            mox_buf_reset(&m);
            assert_int_equal(mox_buf_append(&m, good.data, hstart), MOX_OK);
            assert_int_equal(mox_buf_append_str(&m, added[a]), MOX_OK);
            assert_int_equal(mox_buf_append(&m, good.data + hstart, good.len - hstart), MOX_OK);
            v = verify(m.data, m.len, recs, NULL);
            expect(v, 0, MOX_DKIM_FAIL, "signature did not verify");
            mox_dkim_verifier_free(v);
            /* ...and at the bottom of the header section */
            mox_buf_reset(&m);
            assert_int_equal(mox_buf_append(&m, good.data, bstart - 2), MOX_OK);
            assert_int_equal(mox_buf_append_str(&m, added[a]), MOX_OK);
            assert_int_equal(mox_buf_append(&m, good.data + bstart - 2, good.len - bstart + 2), MOX_OK);
            v = verify(m.data, m.len, recs, NULL);
            expect(v, 0, MOX_DKIM_FAIL, "signature did not verify");
            mox_dkim_verifier_free(v);
        }
        /* An unsigned header added: still passes. Trailing empty lines
         * and relaxed whitespace changes: still pass. */
        mox_buf_reset(&m);
        assert_int_equal(mox_buf_append_str(&m, "Received: from x\r\n"), MOX_OK);
        assert_int_equal(mox_buf_append(&m, good.data, good.len), MOX_OK);
        assert_int_equal(mox_buf_append_str(&m, "\r\n\r\n"), MOX_OK);
        v = verify(m.data, m.len, recs, NULL);
        expect(v, 0, MOX_DKIM_PASS, "");
        mox_dkim_verifier_free(v);

        /* Expired x= and future t=. */
        fixed_now = 1700000000 + 3601;
        v = verify(good.data, good.len, recs, NULL);
        expect(v, 0, MOX_DKIM_PERMERROR, "signature expired");
        mox_dkim_verifier_free(v);
        fixed_now = 1700000000 - 301;
        v = verify(good.data, good.len, recs, NULL);
        expect(v, 0, MOX_DKIM_PERMERROR, "signature timestamp in the future");
        mox_dkim_verifier_free(v);
        fixed_now = 1700000000 - 299;
        v = verify(good.data, good.len, recs, NULL);
        expect(v, 0, MOX_DKIM_PASS, "");
        mox_dkim_verifier_free(v);
        fixed_now = 1700000000;

        /* Key record variants. */
        const char *pval = strstr((char *)rec.data, "p=") + 2;
        const char *kt = ki ? "ed25519" : "rsa";
        static const struct {
            const char *fmt;
            int status;
            const char *reason;
        } kv[] = {
            {"v=DKIM1; k=%s; p=", MOX_DKIM_PERMERROR, "key revoked"},
            {"v=DKIM1; k=%s; h=sha1; p=%s", MOX_DKIM_PERMERROR, "hash algorithm not allowed by key"},
            {"v=DKIM1; k=%s; h=sha1:sha256; p=%s", MOX_DKIM_PASS, ""},
            {"v=DKIM1; k=%s; s=tlsrpt; p=%s", MOX_DKIM_PERMERROR, "key not for email"},
            {"v=DKIM1; k=%s; s=email:tlsrpt; p=%s", MOX_DKIM_PASS, ""},
            {"v=DKIM1; k=%s; t=s; p=%s", MOX_DKIM_PASS, ""},
            {"v=DKIM1; k=%s; t=y; p=%s", MOX_DKIM_PASS, ""},
            {"v=DKIM1; k=%s; x=unknown; p=%s", MOX_DKIM_PASS, ""},
            {"v=DKIM1; k=%s; p=%s; p=%s", MOX_DKIM_PERMERROR, "key syntax error"},
            {"k=%s; v=DKIM1; p=%s", MOX_DKIM_PERMERROR, "key syntax error"},
            {"v=DKIM1; k=%sx; p=%s", MOX_DKIM_PERMERROR, "key syntax error"},
        };
        for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
            mox_buf k = MOX_BUF_INIT;
            assert_int_equal(mox_buf_appendf(&k, kv[i].fmt, kt, pval, pval), MOX_OK);
            struct rec r2[] = {{"s._domainkey.example.com", (char *)k.data, 0}, {NULL, NULL, 0}};
            v = verify(good.data, good.len, r2, NULL);
            expect(v, 0, kv[i].status, kv[i].reason);
            if (i == 6)
                assert_int_equal(vres(v, 0)->key_testing, 1);
            mox_dkim_verifier_free(v);
            mox_buf_free(&k);
        }
        /* DNS failures */
        struct rec r3[] = {{"s._domainkey.example.com", NULL, MOX_DNS_SERVFAIL}, {NULL, NULL, 0}};
        v = verify(good.data, good.len, r3, NULL);
        expect(v, 0, MOX_DKIM_TEMPERROR, "key unavailable");
        mox_dkim_verifier_free(v);
        v = verify(good.data, good.len, NULL, NULL);
        expect(v, 0, MOX_DKIM_PERMERROR, "no key for signature");
        mox_dkim_verifier_free(v);
        /* the contract: ids, misuse, several records */
        mox_dkim_verifier *mv;
        mox_dkim_verify_config mcfg = MOX_DKIM_VERIFY_CONFIG_INIT;
        mcfg.env = &test_env;
        assert_int_equal(mox_dkim_verifier_new(&mv, &mcfg, NULL), MOX_OK);
        mox_engine *g = mox_dkim_verifier_engine(mv);
        assert_string_equal(mox_engine_name(g), "dkim_verifier");
        VFEED(mv, good.data, good.len);
        assert_int_equal(mox_dkim_verifier_want(mv), MOX_WANT_READ | MOX_WANT_QUERY);
        assert_int_equal(mox_dkim_verifier_eof(mv), MOX_OK);
        assert_int_equal(mox_dkim_verifier_want(mv), MOX_WANT_QUERY);
        mox_query q;
        assert_int_equal(mox_dkim_verifier_query(mv, &q), MOX_OK);
        assert_string_equal(q.u.dns.name, "s._domainkey.example.com");
        assert_int_equal(q.u.dns.type, MOX_DNS_TXT);
        assert_int_equal(mox_dkim_verifier_query(mv, &q), MOX_ERR_AGAIN);
        assert_int_equal(mox_dkim_verifier_want(mv), MOX_WANT_ANSWER);
        assert_null(mox_dkim_verifier_result(mv));
        const char *two[2] = {(char *)rec.data, (char *)rec.data};
        size_t twol[2] = {rec.len, rec.len};
        mox_query other = q;
        other.id = q.id + 7;
        mox_answer *a = txt_answer(&other, MOX_DNS_NOERROR, two, twol, 1);
        assert_int_equal(mox_dkim_verifier_answer(mv, a), MOX_ERR_NOTFOUND);
        assert_int_equal(mox_engine_error(g)->code, MOX_ERR_NOTFOUND);
        mox_answer_free(a);
        assert_int_equal(mox_dkim_verifier_answer(mv, NULL), MOX_ERR_INVAL);
        /* an A answer for the TXT question */
        assert_int_equal(mox_answer_dns_new(&a, q.id, q.u.dns.name, MOX_DNS_A, MOX_DNS_NOERROR, 0), MOX_OK);
        assert_int_equal(mox_dkim_verifier_answer(mv, a), MOX_ERR_INVAL);
        mox_answer_free(a);
        /* not a DNS answer */
        assert_int_equal(mox_answer_fetch_new(&a, q.id, MOX_OK, 200, NULL, "x", 1), MOX_OK);
        assert_int_equal(mox_dkim_verifier_answer(mv, a), MOX_ERR_INVAL);
        mox_answer_free(a);
        assert_int_equal(mox_dkim_verifier_want(mv), MOX_WANT_ANSWER); /* unchanged */
        a = txt_answer(&q, MOX_DNS_NOERROR, two, twol, 2);
        assert_int_equal(mox_dkim_verifier_answer(mv, a), MOX_OK);
        assert_int_equal(mox_dkim_verifier_want(mv), MOX_WANT_DONE);
        assert_int_equal(mox_dkim_verifier_answer(mv, a), MOX_ERR_STATE);
        assert_int_equal(mox_engine_error(g)->code, MOX_ERR_STATE);
        mox_answer_free(a);
        expect(mv, 0, MOX_DKIM_PERMERROR, "multiple key records");
        assert_int_equal(mox_dkim_verifier_feed(mv, "x", 1), MOX_ERR_STATE);
        assert_int_equal(mox_dkim_verifier_eof(mv), MOX_ERR_STATE);
        assert_non_null(strstr(mox_engine_error(g)->msg, "eof"));
        assert_int_equal(mox_dkim_verifier_want(mv), MOX_WANT_DONE);
        expect(mv, 0, MOX_DKIM_PERMERROR, "multiple key records");
        mox_dkim_verifier_free(mv);
        mox_buf_free(&good);
        mox_buf_free(&m);
        mox_buf_free(&rec);
    }

    /* l=: extra body passes (and is reported); a shorter body fails. */
    mox_buf rec = MOX_BUF_INIT, good = MOX_BUF_INIT, m = MOX_BUF_INIT;
    assert_int_equal(mox_dkim_privkey_record(keys[1], &rec), MOX_OK);
    struct rec recs[] = {{"s._domainkey.example.com", (char *)rec.data, 0}, {NULL, NULL, 0}};
    mox_dkim_sign_params p = MOX_DKIM_SIGN_PARAMS_INIT;
    p.key = keys[1];
    p.domain = "example.com";
    p.selector = "s";
    p.identity = "joe@sub.example.com";
    p.body_length = 1;
    sign(&p, 1, sample, sizeof sample - 1, 4096, &good);
    assert_int_equal(mox_buf_append(&m, good.data, good.len), MOX_OK);
    assert_int_equal(mox_buf_append_str(&m, "Appended by a list\r\n"), MOX_OK);
    mox_dkim_verifier *v = verify(m.data, m.len, recs, NULL);
    expect(v, 0, MOX_DKIM_PASS, "");
    const mox_dkim_sig_result *r = vres(v, 0);
    assert_int_equal(r->body_length_limited, 1);
    assert_true(r->body_canon_length > r->body_length);
    mox_dkim_verifier_free(v);
    v = verify(good.data, good.len - 12, recs, NULL);
    expect(v, 0, MOX_DKIM_FAIL, "body shorter than l=");
    mox_dkim_verifier_free(v);
    /* t=s with i= in a subdomain */
    mox_buf ts = MOX_BUF_INIT;
    assert_int_equal(mox_buf_appendf(&ts, "v=DKIM1; k=ed25519; t=s; %s", strstr((char *)rec.data, "p=")), MOX_OK);
    recs[0].txt = (char *)ts.data;
    v = verify(good.data, good.len, recs, NULL);
    expect(v, 0, MOX_DKIM_PERMERROR, "identity domain must equal d= (t=s)");
    mox_dkim_verifier_free(v);
    mox_buf_free(&ts);
    mox_buf_free(&rec);
    mox_buf_free(&good);
    mox_buf_free(&m);
    mox_dkim_privkey_free(keys[0]);
    mox_dkim_privkey_free(keys[1]);
    fixed_now = 0;
}

static void test_many_signatures(void **state)
{
    (void)state;
    fixed_now = 1700000000;
    mox_dkim_privkey *ed = load_key("dkim/dkimpy/ed25519test.key");
    mox_buf rec = MOX_BUF_INIT;
    assert_int_equal(mox_dkim_privkey_record(ed, &rec), MOX_OK);
    mox_dkim_sign_params p[7];
    static const char *const sels[7] = {"a", "b", "c", "a", "b", "c", "d"};
    for (int i = 0; i < 7; i++) {
        mox_dkim_sign_params d = MOX_DKIM_SIGN_PARAMS_INIT;
        p[i] = d;
        p[i].key = ed;
        p[i].domain = "example.com";
        p[i].selector = sels[i];
        p[i].header_canon = i % 2;
    }
    mox_buf out = MOX_BUF_INIT;
    sign(p, 7, sample, sizeof sample - 1, 100, &out);
    struct rec recs[] = {{"a._domainkey.example.com", (char *)rec.data, 0},
                         {"b._domainkey.example.com", (char *)rec.data, 0},
                         {"c._domainkey.example.com", (char *)rec.data, 0},
                         {"d._domainkey.example.com", (char *)rec.data, 0},
                         {NULL, NULL, 0}};
    mox_dkim_verifier *v;
    assert_int_equal(mox_dkim_verifier_new(&v, NULL, NULL), MOX_OK);
    VFEED(v, out.data, out.len);
    /* One question per (selector, domain), all at once: three, though
     * five signatures are evaluated. */
    assert_int_equal(answer_all(v, recs), 3);
    assert_null(mox_dkim_verifier_result(v));
    assert_int_equal(mox_dkim_verifier_want(v), MOX_WANT_READ);
    assert_int_equal(mox_dkim_verifier_eof(v), MOX_OK);
    assert_int_equal(mox_dkim_verifier_want(v), MOX_WANT_DONE);
    assert_int_equal(vcount(v), 7);
    for (int i = 0; i < 5; i++)
        expect(v, (size_t)i, MOX_DKIM_PASS, "");
    expect(v, 5, MOX_DKIM_POLICY, "too many signatures");
    expect(v, 6, MOX_DKIM_POLICY, "too many signatures");
    mox_dkim_verifier_free(v);
    mox_buf_free(&out);
    mox_buf_free(&rec);
    mox_dkim_privkey_free(ed);
    fixed_now = 0;
}

static void test_unsigned_and_odd(void **state)
{
    (void)state;
    static const char *const msgs[] = {
        "From: a@b.c\r\n\r\nbody\r\n", "", "\r\n", "From: a@b.c\r\n", "From: a@b.c",
        "From: a@b.c\r", "no header at all\r\n\r\n", "\r\n\r\nDKIM-Signature: v=1\r\n"};
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        mox_dkim_verifier *v = verify(msgs[i], strlen(msgs[i]), NULL, NULL);
        assert_int_equal(vcount(v), 0);
        assert_null(vres(v, 0));
        mox_dkim_verifier_free(v);
    }
    /* A broken signature is reported as permerror with the parse error. */
    const char *m = "DKIM-Signature: v=1; a=rsa-sha256; d=x.org; s=s; h=to; bh=" BH32 "; b=AA==\r\nFrom: a@x.org\r\n\r\n";
    mox_dkim_verifier *v = verify(m, strlen(m), NULL, NULL);
    expect(v, 0, MOX_DKIM_PERMERROR, "From not signed");
    assert_non_null(strstr(vres(v, 0)->detail, "From"));
    mox_dkim_verifier_free(v);
    /* Header limits give MOX_ERR_LIMIT. */
    mox_dkim_verify_config cfg = MOX_DKIM_VERIFY_CONFIG_INIT;
    cfg.max_header_bytes = 16;
    assert_int_equal(mox_dkim_verifier_new(&v, &cfg, NULL), MOX_OK);
    assert_int_equal(mox_dkim_verifier_feed(v, m, strlen(m)), MOX_ERR_LIMIT);
    assert_int_equal(mox_engine_error(mox_dkim_verifier_engine(v))->code, MOX_ERR_LIMIT);
    assert_int_equal(mox_dkim_verifier_want(v), 0);
    assert_null(mox_dkim_verifier_result(v));
    assert_int_equal(mox_dkim_verifier_feed(v, m, 1), MOX_ERR_STATE);
    assert_int_equal(mox_dkim_verifier_eof(v), MOX_ERR_STATE);
    mox_query q;
    assert_int_equal(mox_dkim_verifier_query(v, &q), MOX_ERR_AGAIN);
    mox_dkim_verifier_free(v);
    /* a zeroed config with its size is the default one */
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    v = verify(m, strlen(m), NULL, &cfg);
    expect(v, 0, MOX_DKIM_PERMERROR, "From not signed");
    mox_dkim_verifier_free(v);
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    assert_int_equal(mox_dkim_verifier_new(NULL, NULL, &ei), MOX_ERR_INVAL);
    assert_int_equal(ei.code, MOX_ERR_INVAL);
    mox_dkim_verifier_free(NULL);
}

static void test_keys(void **state)
{
    (void)state;
    /* openssl genpkey -algorithm ed25519 (PKCS#8) and RSA PKCS#8 load; the
     * Ed25519 PKCS#8 round-trips byte for byte. */
    mox_buf pem = MOX_BUF_INIT, out = MOX_BUF_INIT, rec = MOX_BUF_INIT;
    read_file("dkim/gen/ed25519-openssl.pem", &pem);
    mox_dkim_privkey *k;
    assert_int_equal(mox_dkim_privkey_load(pem.data, pem.len, NULL, &k, NULL), MOX_OK);
    assert_int_equal(mox_dkim_privkey_type(k), MOX_DKIM_KEY_ED25519);
    assert_int_equal(mox_dkim_privkey_pem(k, &out), MOX_OK);
    assert_int_equal(out.len, pem.len);
    assert_memory_equal(out.data, pem.data, pem.len);
    mox_dkim_privkey_free(k);
    mox_buf_reset(&pem);
    mox_buf_reset(&out);
    read_file("dkim/gen/rsa2048-pkcs8.pem", &pem);
    assert_int_equal(mox_dkim_privkey_load(pem.data, pem.len, NULL, &k, NULL), MOX_OK);
    assert_int_equal(mox_dkim_privkey_bits(k), 2048);
    assert_int_equal(mox_dkim_privkey_pem(k, &out), MOX_OK);
    assert_int_equal(mox_dkim_privkey_record(k, &rec), MOX_OK);
    char *pub = read_str("dkim/gen/rsa2048.txt");
    assert_string_equal((char *)rec.data, pub);
    mox_free(pub);
    mox_dkim_privkey_free(k);
    /* our PKCS#8 output loads back */
    assert_int_equal(mox_dkim_privkey_load(out.data, out.len, NULL, &k, NULL), MOX_OK);
    mox_buf rec2 = MOX_BUF_INIT;
    assert_int_equal(mox_dkim_privkey_record(k, &rec2), MOX_OK);
    assert_string_equal((char *)rec.data, (char *)rec2.data);
    mox_buf_free(&rec2);
    mox_dkim_privkey_free(k);
    /* generation */
    assert_int_equal(mox_dkim_privkey_generate(MOX_DKIM_KEY_ED25519, 0, NULL, &k), MOX_OK);
    mox_buf_reset(&out);
    assert_int_equal(mox_dkim_privkey_pem(k, &out), MOX_OK);
    assert_non_null(strstr((char *)out.data, "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI"));
    mox_dkim_privkey_free(k);
    assert_int_equal(mox_dkim_privkey_generate(MOX_DKIM_KEY_RSA, 1024, NULL, &k), MOX_ERR_INVAL);
    assert_int_equal(mox_dkim_privkey_generate(7, 0, NULL, &k), MOX_ERR_INVAL);
    /* refusals */
    static const char *const bad[] = {
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n",
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        "AAAA", "", "\x30\x03\x02\x01\x00"};
    static const int badrc[] = {MOX_ERR_UNSUPPORTED, MOX_ERR_SYNTAX, MOX_ERR_SYNTAX, MOX_ERR_SYNTAX,
                                MOX_ERR_UNSUPPORTED, MOX_ERR_SYNTAX, MOX_ERR_SYNTAX, MOX_ERR_SYNTAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mox_errinfo ei;
        int rc = mox_dkim_privkey_load(bad[i], i == 7 ? 5 : strlen(bad[i]), NULL, &k, &ei);
        if (rc != badrc[i])
            fail_msg("bad key %zu: %d (%s)", i, rc, ei.msg);
    }
    mox_buf small = MOX_BUF_INIT;
    read_file("dkim/gen/small768.key", &small);
    assert_int_equal(mox_dkim_privkey_load(small.data, small.len, NULL, &k, NULL), MOX_ERR_LIMIT);
    mox_buf_free(&small);
    /* TXT master-file line with <= 255-byte strings */
    mox_buf rr = MOX_BUF_INIT;
    assert_int_equal(mox_dkim_txt_rr("sel", "example.com.", (char *)rec.data, rec.len, &rr), MOX_OK);
    assert_true(!strncmp((char *)rr.data, "sel._domainkey.example.com. IN TXT \"v=DKIM1; k=rsa; p=", 54));
    size_t nstr = 0;
    for (char *q = strchr((char *)rr.data, '"'); q; q = strchr(q + 1, '"')) {
        char *e = strchr(q + 1, '"');
        assert_true(e - q - 1 <= 255);
        nstr++;
        q = e;
    }
    assert_int_equal(nstr, 2);
    mox_buf_free(&rr);
    mox_buf_free(&rec);
    mox_buf_free(&pem);
    mox_buf_free(&out);
}

static void test_sign_errors(void **state)
{
    (void)state;
    mox_dkim_privkey *ed = load_key("dkim/dkimpy/ed25519test.key");
    mox_dkim_sign_params p = MOX_DKIM_SIGN_PARAMS_INIT;
    mox_dkim_signer *s;
    mox_errinfo ei;
    assert_int_equal(mox_dkim_signer_new(&s, NULL, &p, 1, &ei), MOX_ERR_INVAL);
    p.key = ed;
    p.domain = "example.com";
    p.selector = "s";
    p.headers = "To:Subject";
    assert_int_equal(mox_dkim_signer_new(&s, NULL, &p, 1, &ei), MOX_ERR_INVAL);
    p.headers = "From::To";
    assert_int_equal(mox_dkim_signer_new(&s, NULL, &p, 1, &ei), MOX_ERR_INVAL);
    p.headers = NULL;
    p.identity = "joe@other.org";
    assert_int_equal(mox_dkim_signer_new(&s, NULL, &p, 1, &ei), MOX_ERR_INVAL);
    p.identity = NULL;
    p.domain = "bad..domain";
    assert_int_equal(mox_dkim_signer_new(&s, NULL, &p, 1, &ei), MOX_ERR_INVAL);
    p.domain = "example.com";
    p.header_canon = 5;
    assert_int_equal(mox_dkim_signer_new(&s, NULL, &p, 1, &ei), MOX_ERR_INVAL);
    p.header_canon = MOX_DKIM_RELAXED;
    assert_int_equal(mox_dkim_signer_new(&s, NULL, &p, 0, &ei), MOX_ERR_INVAL);
    /* no From in the message */
    assert_int_equal(mox_dkim_signer_new(&s, NULL, &p, 1, &ei), MOX_OK);
    SFEED(s, "To: x\r\n\r\nbody\r\n", 15);
    mox_buf out = MOX_BUF_INIT;
    assert_int_equal(mox_dkim_signer_eof(s), MOX_ERR_SYNTAX);
    const mox_errinfo *se = mox_engine_error(mox_dkim_signer_engine(s));
    assert_int_equal(se->code, MOX_ERR_SYNTAX);
    assert_int_equal(se->detail, MOX_DKIM_ERR_HEADERS);
    assert_non_null(strstr(se->msg, "From"));
    assert_int_equal(mox_dkim_signer_want(s), 0);
    assert_null(mox_dkim_signer_result(s));
    assert_int_equal(mox_dkim_signer_eof(s), MOX_ERR_STATE);
    mox_dkim_signer_free(s);
    /* a first line that is a continuation (found by the fuzzer: the
     * prepended field would swallow it) */
    assert_int_equal(mox_dkim_signer_new(&s, NULL, &p, 1, &ei), MOX_OK);
    SFEED(s, " x\r\nFrom: a@b.c\r\n\r\n", 19);
    assert_int_equal(mox_dkim_signer_eof(s), MOX_ERR_SYNTAX);
    assert_int_equal(mox_engine_error(mox_dkim_signer_engine(s))->detail, MOX_DKIM_ERR_HEADERS);
    assert_non_null(strstr(mox_engine_error(mox_dkim_signer_engine(s))->msg, "continuation"));
    mox_dkim_signer_free(s);
    /* explicit list, no oversigning, Unicode domain becomes A-labels */
    p.headers = "from:subject:x-absent";
    p.oversign = 0;
    p.domain = "\xc3\xa9xample.com";
    p.timestamp = 0;
    assert_int_equal(mox_dkim_signer_new(&s, NULL, &p, 1, &ei), MOX_OK);
    SFEED(s, sample, sizeof sample - 1);
    assert_int_equal(sfinish(s, &out), MOX_OK);
    assert_non_null(strstr((char *)out.data, " h=from:subject;"));
    assert_non_null(strstr((char *)out.data, "d=xn--xample-9ua.com;"));
    assert_null(strstr((char *)out.data, " t="));
    mox_dkim_signer_free(s);
    mox_buf_free(&out);

    /* DKIM-Signature in the list is not oversigned: the extra instance
     * would be the new field itself (RFC 6376 §5.4), found by the fuzzer
     * as a signature that never verifies. With and without an earlier
     * signature in the message. */
    mox_buf rec = MOX_BUF_INIT;
    assert_int_equal(mox_dkim_privkey_record(ed, &rec), MOX_OK);
    struct rec recs[] = {{"s._domainkey.example.com", (char *)rec.data, 0}, {NULL, NULL, 0}};
    mox_dkim_sign_params dp = MOX_DKIM_SIGN_PARAMS_INIT;
    dp.key = ed;
    dp.domain = "example.com";
    dp.selector = "s";
    dp.headers = "From:DKIM-Signature:Subject";
    mox_buf once = MOX_BUF_INIT, twice = MOX_BUF_INIT;
    sign(&dp, 1, sample, sizeof sample - 1, 4096, &once);
    assert_non_null(strstr((char *)once.data, "h=From:From:Subject:Subject;"));
    sign(&dp, 1, once.data, once.len, 4096, &twice);
    assert_non_null(strstr((char *)twice.data, "h=From:From:DKIM-Signature:Subject:Subject;"));
    mox_dkim_verifier *v = verify(twice.data, twice.len, recs, NULL);
    assert_int_equal(vcount(v), 2);
    expect(v, 0, MOX_DKIM_PASS, "");
    expect(v, 1, MOX_DKIM_PASS, "");
    mox_dkim_verifier_free(v);
    mox_buf_free(&once);
    mox_buf_free(&twice);
    mox_buf_free(&rec);
    mox_dkim_privkey_free(ed);
}

/* ------------------------------------------------------------ streaming memory */

static size_t live_bytes, peak_bytes;
struct phdr {
    size_t n;
    max_align_t pad_[];
};
static void *p_malloc(void *ctx, size_t n)
{
    (void)ctx;
    struct phdr *h = malloc(sizeof *h + n);
    if (!h)
        return NULL;
    h->n = n;
    live_bytes += n;
    if (live_bytes > peak_bytes)
        peak_bytes = live_bytes;
    return h + 1;
}
static void p_free(void *ctx, void *p)
{
    (void)ctx;
    if (!p)
        return;
    struct phdr *h = (struct phdr *)p - 1;
    live_bytes -= h->n;
    free(h);
}
static void *p_realloc(void *ctx, void *p, size_t n)
{
    if (!p)
        return p_malloc(ctx, n);
    struct phdr *h = (struct phdr *)p - 1;
    size_t old = h->n;
    struct phdr *nh = realloc(h, sizeof *nh + n);
    if (!nh)
        return NULL;
    nh->n = n;
    live_bytes = live_bytes - old + n;
    if (live_bytes > peak_bytes)
        peak_bytes = live_bytes;
    return nh + 1;
}

/* 50 MB of body in 4 KB chunks, signed (RSA and Ed25519 in one pass) and
 * verified, with the peak of live libmox memory under 1 MB. */
static void test_large_streaming(void **state)
{
    (void)state;
    fixed_now = 1700000000;
    mox_dkim_privkey *keys[2] = {load_key("dkim/dkimpy/test.private"),
                                 load_key("dkim/dkimpy/ed25519test.key")};
    mox_buf r0 = MOX_BUF_INIT, r1 = MOX_BUF_INIT, sig = MOX_BUF_INIT;
    assert_int_equal(mox_dkim_privkey_record(keys[0], &r0), MOX_OK);
    assert_int_equal(mox_dkim_privkey_record(keys[1], &r1), MOX_OK);
    static const mox_allocator pa = {p_malloc, p_realloc, p_free, NULL};
    mox_set_allocator(&pa);
    live_bytes = peak_bytes = 0;

    static const char head[] = "From: a@example.com\r\nTo: b@example.com\r\nSubject: big\r\n\r\n";
    char chunk[4096];
    const size_t total = 50u * 1024 * 1024;
    mox_dkim_sign_params p[2] = {MOX_DKIM_SIGN_PARAMS_INIT, MOX_DKIM_SIGN_PARAMS_INIT};
    for (int i = 0; i < 2; i++) {
        p[i].key = keys[i];
        p[i].domain = "example.com";
        p[i].selector = i ? "ed" : "rsa";
        p[i].body_canon = i ? MOX_DKIM_SIMPLE : MOX_DKIM_RELAXED;
    }
    mox_dkim_sign_config sc = MOX_DKIM_SIGN_CONFIG_INIT;
    sc.env = &test_env;
    mox_dkim_signer *s;
    assert_int_equal(mox_dkim_signer_new(&s, &sc, p, 2, NULL), MOX_OK);
    SFEED(s, head, sizeof head - 1);
    /* lines of varied length with trailing whitespace and empty lines,
     * deliberately not aligned to the chunk size */
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (i % 77 == 75) ? '\r' : (i % 77 == 76) ? '\n' : (i % 13 == 0) ? ' ' : (char)('a' + i % 26);
    for (size_t done = 0; done < total; done += sizeof chunk)
        SFEED(s, chunk, sizeof chunk);
    assert_int_equal(sfinish(s, &sig), MOX_OK);
    mox_dkim_signer_free(s);
    size_t sign_peak = peak_bytes;

    live_bytes = peak_bytes = 0;
    mox_dkim_verifier *v;
    assert_int_equal(mox_dkim_verifier_new(&v, NULL, NULL), MOX_OK);
    /* note: test_env clock */
    mox_dkim_verifier_free(v);
    mox_dkim_verify_config vc = MOX_DKIM_VERIFY_CONFIG_INIT;
    vc.env = &test_env;
    assert_int_equal(mox_dkim_verifier_new(&v, &vc, NULL), MOX_OK);
    VFEED(v, sig.data, sig.len);
    VFEED(v, head, sizeof head - 1);
    struct rec lrecs[] = {{"rsa._domainkey.example.com", (char *)r0.data, 0},
                          {"ed._domainkey.example.com", (char *)r1.data, 0},
                          {NULL, NULL, 0}};
    assert_int_equal(answer_all(v, lrecs), 2);
    for (size_t done = 0; done < total; done += sizeof chunk)
        VFEED(v, chunk, sizeof chunk);
    assert_int_equal(mox_dkim_verifier_eof(v), MOX_OK);
    expect(v, 0, MOX_DKIM_PASS, "");
    expect(v, 1, MOX_DKIM_PASS, "");
    mox_dkim_verifier_free(v);
    size_t verify_peak = peak_bytes;
    mox_buf_free(&sig);
    mox_set_allocator(NULL);
    print_message("50 MB body: peak live memory %zu bytes signing, %zu verifying\n", sign_peak, verify_peak);
    assert_true(sign_peak > 0 && sign_peak < 1024 * 1024);
    assert_true(verify_peak > 0 && verify_peak < 1024 * 1024);
    mox_buf_free(&sig);
    mox_buf_free(&r0);
    mox_buf_free(&r1);
    mox_dkim_privkey_free(keys[0]);
    mox_dkim_privkey_free(keys[1]);
    fixed_now = 0;
}

/* ------------------------------------------------------------ allocation failures */

struct sweep_ctx {
    char *rsa_txt;
    mox_buf msg;
    mox_buf rec;
    mox_dkim_privkey *key;
};

static int sweep_verify(void *arg)
{
    struct sweep_ctx *c = arg;
    mox_dkim_verifier *v;
    int rc = mox_dkim_verifier_new(&v, NULL, NULL);
    if (rc)
        return rc;
    for (size_t off = 0; off < c->msg.len && rc == MOX_OK; off += 50) {
        int64_t took = mox_dkim_verifier_feed(v, c->msg.data + off, c->msg.len - off < 50 ? c->msg.len - off : 50);
        rc = took < 0 ? (int)took : MOX_OK;
    }
    if (rc == MOX_OK)
        rc = mox_dkim_verifier_eof(v);
    mox_query q;
    while (rc == MOX_OK && mox_dkim_verifier_query(v, &q) == MOX_OK) {
        mox_answer *a;
        rc = mox_answer_dns_new(&a, q.id, q.u.dns.name, MOX_DNS_TXT, MOX_DNS_NOERROR, 0);
        if (rc == MOX_OK)
            rc = mox_answer_add_txt(a, NULL, 60, c->rec.data, c->rec.len);
        if (rc == MOX_OK)
            rc = mox_dkim_verifier_answer(v, a);
        mox_answer_free(a);
    }
    const mox_dkim_verifier_outcome *o = mox_dkim_verifier_result(v);
    if (rc == MOX_OK && (!o || o->count != 1 || o->results[0]->status != MOX_DKIM_PASS)) {
        if (o && o->count)
            print_message("verify sweep: %s %s %s\n", mox_dkim_status_name(o->results[0]->status),
                          o->results[0]->reason, o->results[0]->detail);
        rc = MOX_ERR_CRYPTO;
    }
    mox_dkim_verifier_free(v);
    return rc;
}

static int sweep_sign(void *arg)
{
    struct sweep_ctx *c = arg;
    mox_dkim_sign_params p = MOX_DKIM_SIGN_PARAMS_INIT;
    p.key = c->key;
    p.domain = "example.com";
    p.selector = "s";
    p.identity = "x@example.com";
    mox_dkim_signer *s;
    int rc = mox_dkim_signer_new(&s, NULL, &p, 1, NULL);
    if (rc)
        return rc;
    mox_buf out = MOX_BUF_INIT;
    int64_t took = mox_dkim_signer_feed(s, sample, sizeof sample - 1);
    rc = took < 0 ? (int)took : sfinish(s, &out);
    mox_buf_free(&out);
    mox_dkim_signer_free(s);
    return rc;
}

static int sweep_parse(void *arg)
{
    const char *v = "v=1; a=rsa-sha256; d=x.org; s=s; h=from:to; i=a@x.org; bh=" BH32 "; b=AA==";
    mox_dkim_sig *sig;
    int rc = mox_dkim_sig_parse(v, strlen(v), &sig, NULL);
    mox_dkim_sig_free(sig);
    if (rc)
        return rc;
    struct sweep_ctx *c = arg;
    mox_dkim_key *key;
    rc = mox_dkim_key_parse(c->rsa_txt, strlen(c->rsa_txt), 0, &key, NULL);
    mox_dkim_key_free(key);
    return rc;
}

static int sweep_keys(void *arg)
{
    struct sweep_ctx *c = arg;
    mox_buf pem = MOX_BUF_INIT, rr = MOX_BUF_INIT;
    int rc = mox_dkim_privkey_pem(c->key, &pem);
    mox_dkim_privkey *k = NULL;
    if (rc == MOX_OK)
        rc = mox_dkim_privkey_load(pem.data, pem.len, NULL, &k, NULL);
    if (rc == MOX_OK)
        rc = mox_dkim_txt_rr("s", "example.com", (char *)c->rec.data, c->rec.len, &rr);
    mox_dkim_privkey_free(k);
    mox_buf_free(&pem);
    mox_buf_free(&rr);
    return rc;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    struct sweep_ctx c = {NULL, MOX_BUF_INIT, MOX_BUF_INIT, NULL};
    moxtest_alloc_install();
    c.rsa_txt = read_str("dkim/dkimpy/test.txt");
    c.key = load_key("dkim/dkimpy/ed25519test.key");
    assert_int_equal(mox_dkim_privkey_record(c.key, &c.rec), MOX_OK);
    mox_dkim_sign_params p = MOX_DKIM_SIGN_PARAMS_INIT;
    p.key = c.key;
    p.domain = "example.com";
    p.selector = "s";
    p.timestamp = 0;
    mox_dkim_signer *s;
    assert_int_equal(mox_dkim_signer_new(&s, NULL, &p, 1, NULL), MOX_OK);
    SFEED(s, sample, sizeof sample - 1);
    assert_int_equal(sfinish(s, &c.msg), MOX_OK);
    mox_dkim_signer_free(s);
    assert_int_equal(mox_buf_append(&c.msg, sample, sizeof sample - 1), MOX_OK);
    assert_true(moxtest_alloc_sweep(sweep_verify, &c, "verify") > 5);
    assert_true(moxtest_alloc_sweep(sweep_sign, &c, "sign") > 5);
    assert_true(moxtest_alloc_sweep(sweep_parse, &c, "parse") > 5);
    assert_true(moxtest_alloc_sweep(sweep_keys, &c, "keys") > 3);
    mox_dkim_privkey_free(c.key);
    mox_free(c.rsa_txt);
    mox_buf_free(&c.msg);
    mox_buf_free(&c.rec);
}

/* ------------------------------------------------------------ blocking helper */

static void test_resolver(void **state)
{
    (void)state;
    mox_dns_zone *z;
    assert_int_equal(mox_dns_zone_new(&z), MOX_OK);
    char *key = read_str("dkim/rfc6376/brisbane.txt");
    mox_buf line = MOX_BUF_INIT;
    assert_int_equal(mox_dkim_txt_rr("brisbane", "example.com", key, strlen(key), &line), MOX_OK);
    mox_errinfo ei;
    if (mox_dns_zone_add(z, (char *)line.data, &ei))
        fail_msg("zone: %s", ei.msg);
    mox_resolver r;
    mox_dns_zone_resolver(z, &r);
    mox_buf msg = MOX_BUF_INIT;
    read_file("dkim/rfc6376/appendix-a2-corrected.eml", &msg);
    mox_dkim_verifier *v;
    assert_int_equal(mox_dkim_verify_message(NULL, &r, msg.data, msg.len, &v, &ei), MOX_OK);
    expect(v, 0, MOX_DKIM_PASS, "");
    mox_dkim_verifier_free(v);
    assert_int_equal(mox_dns_zone_set_failure(z, "brisbane._domainkey.example.com", MOX_DNS_TIMEOUT), MOX_OK);
    assert_int_equal(mox_dkim_verify_message(NULL, &r, msg.data, msg.len, &v, &ei), MOX_OK);
    expect(v, 0, MOX_DKIM_TEMPERROR, "key unavailable");
    mox_dkim_verifier_free(v);
    /* errors fill ei */
    mox_errinfo_clear(&ei);
    assert_int_equal(mox_dkim_verify_message(NULL, NULL, msg.data, msg.len, &v, &ei), MOX_ERR_INVAL);
    assert_null(v);
    assert_int_equal(ei.code, MOX_ERR_INVAL);
    mox_dkim_verify_config small = MOX_DKIM_VERIFY_CONFIG_INIT;
    small.max_header_bytes = 100;
    mox_errinfo_clear(&ei);
    assert_int_equal(mox_dkim_verify_message(&small, &r, msg.data, msg.len, &v, &ei), MOX_ERR_LIMIT);
    assert_null(v);
    assert_int_equal(ei.code, MOX_ERR_LIMIT);
    assert_non_null(strstr(ei.msg, "header section"));
    mox_dns_zone_free(z);
    mox_buf_free(&msg);
    mox_buf_free(&line);
    mox_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sig_parse),
        cmocka_unit_test(test_key_parse),
        cmocka_unit_test(test_body_canon),
        cmocka_unit_test(test_header_canon),
        cmocka_unit_test(test_header_split),
        cmocka_unit_test(test_rfc6376_appendix_a),
        cmocka_unit_test(test_rfc8463),
        cmocka_unit_test(test_mail_auth),
        cmocka_unit_test(test_dkimpy_vectors),
        cmocka_unit_test(test_sign_roundtrip),
        cmocka_unit_test(test_sign_folding),
        cmocka_unit_test(test_negative),
        cmocka_unit_test(test_many_signatures),
        cmocka_unit_test(test_unsigned_and_odd),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_sign_errors),
        cmocka_unit_test(test_large_streaming),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_resolver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
