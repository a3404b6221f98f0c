/* Certificate policies with real certificates made here (a test CA, an
 * intermediate, leaves; expired, future, forged and non-CA variants):
 *  - mox_tls_verify_dane: DANE-EE(3) and DANE-TA(2) with every selector
 *    (Cert, SPKI) and matching type (Full, SHA2-256, SHA2-512), passing
 *    and failing, trust anchors inside and outside the chain, names and
 *    wildcards, validity, unusable records;
 *  - mox_tls_mtasts_match's wildcard rules (RFC 8461 §4.1) and
 *    mox_tls_verify_mtasts with and without a CA set;
 *  - the same policies inside the engine's handshake (in memory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "moxtest.h"
#include "mox/tls.h"

/* ------------------------------------------------------------ certificates */

static mbedtls_entropy_context ent;
static mbedtls_ctr_drbg_context drbg;

typedef struct kc {
    mbedtls_pk_context key;
    char subject[128];
    unsigned char der[2048];
    size_t len;
    char pem[4096];
    unsigned char spki[512];
    size_t spki_len;
} kc;

static void fmt_time(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 32, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* subjectAltName with dNSNames (asn1write writes backwards). */
static size_t san_der(const char *const *dns, size_t n, unsigned char *buf, size_t cap,
                      unsigned char **start)
{
    unsigned char *p = buf + cap;
    size_t total = 0;
    for (size_t i = n; i-- > 0;) {
        size_t l = strlen(dns[i]);
        total += (size_t)mbedtls_asn1_write_raw_buffer(&p, buf, (const unsigned char *)dns[i], l);
        total += (size_t)mbedtls_asn1_write_len(&p, buf, l);
        total += (size_t)mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2);
    }
    total += (size_t)mbedtls_asn1_write_len(&p, buf, total);
    total += (size_t)mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
    *start = p;
    return total;
}

/* Makes `c` (new key) with `cn`, issued by `iss` (NULL: self-signed), a CA
 * or not, for DNS names, valid from `from` to `until` (seconds from now). */
static void make(kc *c, const char *cn, kc *iss, int ca, const char *const *dns, size_t ndns,
                 long from, long until)
{
    memset(c, 0, sizeof *c);
    mbedtls_pk_init(&c->key);
    assert_int_equal(mbedtls_pk_setup(&c->key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
    assert_int_equal(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(c->key),
                                         mbedtls_ctr_drbg_random, &drbg),
                     0);
    snprintf(c->subject, sizeof c->subject, "CN=%s,O=libmox test", cn);
    mbedtls_x509write_cert w;
    mbedtls_x509write_crt_init(&w);
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&w, &c->key);
    mbedtls_x509write_crt_set_issuer_key(&w, iss ? &iss->key : &c->key);
    assert_int_equal(mbedtls_x509write_crt_set_subject_name(&w, c->subject), 0);
    assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&w, iss ? iss->subject : c->subject), 0);
    static unsigned serial_n = 1;
    mbedtls_mpi serial;
    mbedtls_mpi_init(&serial);
    mbedtls_mpi_lset(&serial, serial_n++);
    mbedtls_x509write_crt_set_serial(&w, &serial);
    char f[32], u[32];
    time_t now = time(NULL);
    fmt_time(now + from, f);
    fmt_time(now + until, u);
    assert_int_equal(mbedtls_x509write_crt_set_validity(&w, f, u), 0);
    assert_int_equal(mbedtls_x509write_crt_set_basic_constraints(&w, ca, -1), 0);
    assert_int_equal(mbedtls_x509write_crt_set_key_usage(
                         &w, ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN
                                : MBEDTLS_X509_KU_DIGITAL_SIGNATURE),
                     0);
    if (ndns) {
        unsigned char buf[1024], *sp;
        size_t sl = san_der(dns, ndns, buf, sizeof buf, &sp);
        assert_int_equal(mbedtls_x509write_crt_set_extension(
                             &w, MBEDTLS_OID_SUBJECT_ALT_NAME,
                             MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, sp, sl),
                         0);
    }
    unsigned char buf[2048];
    int n = mbedtls_x509write_crt_der(&w, buf, sizeof buf, mbedtls_ctr_drbg_random, &drbg);
    assert_true(n > 0);
    memcpy(c->der, buf + sizeof buf - n, (size_t)n);
    c->len = (size_t)n;
    assert_int_equal(mbedtls_x509write_crt_pem(&w, (unsigned char *)c->pem, sizeof c->pem,
                                               mbedtls_ctr_drbg_random, &drbg),
                     0);
    n = mbedtls_pk_write_pubkey_der(&c->key, buf, sizeof buf);
    assert_true(n > 0);
    memcpy(c->spki, buf + sizeof buf - n, (size_t)n);
    c->spki_len = (size_t)n;
    mbedtls_mpi_free(&serial);
    mbedtls_x509write_crt_free(&w);
}

static void key_pem(kc *c, char *out, size_t cap)
{
    assert_int_equal(mbedtls_pk_write_key_pem(&c->key, (unsigned char *)out, cap), 0);
}

static kc root, inter, leaf, wild, expired, future, forged, noca, leaf_noca, inter_expired,
    leaf_of_expired, cnonly, other_root;

static int setup(void **st)
{
    (void)st;
    mbedtls_entropy_init(&ent);
    mbedtls_ctr_drbg_init(&drbg);
    if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0) != 0)
        return -1;
    static const char *const mx[] = {"mx.example.org"};
    static const char *const wc[] = {"*.example.org"};
    make(&root, "Test Root", NULL, 1, NULL, 0, -86400, 86400 * 365);
    make(&inter, "Test Intermediate", &root, 1, NULL, 0, -86400, 86400 * 365);
    make(&leaf, "mx.example.org", &inter, 0, mx, 1, -86400, 86400 * 30);
    make(&wild, "wildcard", &inter, 0, wc, 1, -86400, 86400 * 30);
    make(&expired, "mx.example.org", &inter, 0, mx, 1, -86400 * 10, -86400);
    make(&future, "mx.example.org", &inter, 0, mx, 1, 86400, 86400 * 30);
    make(&other_root, "Test Intermediate", NULL, 1, NULL, 0, -86400, 86400 * 365);
    /* same issuer name as inter, another key: its signature cannot verify */
    make(&forged, "mx.example.org", &other_root, 0, mx, 1, -86400, 86400 * 30);
    make(&noca, "Not A CA", &root, 0, NULL, 0, -86400, 86400 * 365);
    make(&leaf_noca, "mx.example.org", &noca, 0, mx, 1, -86400, 86400 * 30);
    make(&inter_expired, "Old Intermediate", &root, 1, NULL, 0, -86400 * 10, -86400);
    make(&leaf_of_expired, "mx.example.org", &inter_expired, 0, mx, 1, -86400, 86400 * 30);
    make(&cnonly, "cn.example.org", &inter, 0, NULL, 0, -86400, 86400 * 30);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    kc *all[] = {&root, &inter, &leaf, &wild, &expired, &future, &forged, &noca, &leaf_noca,
                 &inter_expired, &leaf_of_expired, &cnonly, &other_root};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        mbedtls_pk_free(&all[i]->key);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&ent);
    return 0;
}

/* ------------------------------------------------------------ TLSA */

static unsigned char tbuf[32][600];
static size_t tn;

/* A TLSA record for certificate c. */
static mox_dns_rr tlsa(unsigned usage, unsigned sel, unsigned match, const kc *c)
{
    mox_dns_rr r;
    memset(&r, 0, sizeof r);
    r.type = MOX_DNS_TLSA;
    r.u.tlsa.usage = (uint8_t)usage;
    r.u.tlsa.selector = (uint8_t)sel;
    r.u.tlsa.matching = (uint8_t)match;
    const unsigned char *d = sel == 0 ? c->der : c->spki;
    size_t l = sel == 0 ? c->len : c->spki_len;
    unsigned char *out = tbuf[tn++ % 32];
    if (match == 0) {
        memcpy(out, d, l);
        r.u.tlsa.len = l;
    } else {
        mbedtls_md_type_t md = match == 1 ? MBEDTLS_MD_SHA256 : MBEDTLS_MD_SHA512;
        assert_int_equal(mbedtls_md(mbedtls_md_info_from_type(md), d, l, out), 0);
        r.u.tlsa.len = match == 1 ? 32 : 64;
    }
    r.u.tlsa.data = out;
    return r;
}

static mox_dns_rr flipped(mox_dns_rr r)
{
    unsigned char *out = tbuf[tn++ % 32];
    memcpy(out, r.u.tlsa.data, r.u.tlsa.len);
    out[r.u.tlsa.len / 2] ^= 0x40;
    r.u.tlsa.data = out;
    return r;
}

static int dane(const kc *const *chain, size_t n, const mox_dns_rr *recs, size_t nrecs,
                const char *name, mox_errinfo *ei)
{
    const unsigned char *der[8];
    size_t lens[8];
    for (size_t i = 0; i < n; i++) {
        der[i] = chain[i]->der;
        lens[i] = chain[i]->len;
    }
    const char *names[1] = {name};
    mox_errinfo_clear(ei);
    return mox_tls_verify_dane(der, lens, n, recs, nrecs, names, name ? 1 : 0, 0, NULL, ei);
}

static void t_dane_ee(void **st)
{
    (void)st;
    mox_errinfo ei;
    const kc *ch[] = {&leaf, &inter};
    for (unsigned sel = 0; sel <= 1; sel++)
        for (unsigned m = 0; m <= 2; m++) {
            mox_dns_rr r = tlsa(3, sel, m, &leaf);
            if (dane(ch, 2, &r, 1, "mx.example.org", &ei) != MOX_OK)
                fail_msg("3 %u %u: %s", sel, m, ei.msg);
            r = flipped(r);
            assert_int_equal(dane(ch, 2, &r, 1, "mx.example.org", &ei), MOX_ERR_PERM);
            assert_non_null(strstr(ei.msg, "DANE-EE(3)"));
            /* the intermediate is no end entity */
            r = tlsa(3, sel, m, &inter);
            assert_int_equal(dane(ch, 2, &r, 1, "mx.example.org", &ei), MOX_ERR_PERM);
        }
    /* DANE-EE ignores names and dates (RFC 7672 §3.1.1) */
    mox_dns_rr r = tlsa(3, 1, 1, &leaf);
    assert_int_equal(dane(ch, 2, &r, 1, "other.example.com", &ei), MOX_OK);
    assert_int_equal(dane(ch, 1, &r, 1, NULL, &ei), MOX_OK);
    const kc *ex[] = {&expired};
    r = tlsa(3, 0, 1, &expired);
    assert_int_equal(dane(ex, 1, &r, 1, "mx.example.org", &ei), MOX_OK);
}

static void t_dane_ta(void **st)
{
    (void)st;
    mox_errinfo ei;
    const kc *ch[] = {&leaf, &inter};
    /* the intermediate sent in the chain, every selector and matching */
    for (unsigned sel = 0; sel <= 1; sel++)
        for (unsigned m = 0; m <= 2; m++) {
            mox_dns_rr r = tlsa(2, sel, m, &inter);
            if (dane(ch, 2, &r, 1, "mx.example.org", &ei) != MOX_OK)
                fail_msg("2 %u %u: %s", sel, m, ei.msg);
            mox_dns_rr bad = flipped(r);
            assert_int_equal(dane(ch, 2, &bad, 1, "mx.example.org", &ei), MOX_ERR_PERM);
            /* the right anchor, the wrong name */
            assert_int_equal(dane(ch, 2, &r, 1, "other.example.org", &ei), MOX_ERR_PERM);
            assert_non_null(strstr(ei.msg, "reference names"));
        }
    /* the root, not sent: in full (certificate or bare key) it anchors;
     * as a digest there is nothing to match it against */
    mox_dns_rr r = tlsa(2, 0, 0, &root);
    assert_int_equal(dane(ch, 2, &r, 1, "mx.example.org", &ei), MOX_OK);
    r = tlsa(2, 1, 0, &root);
    assert_int_equal(dane(ch, 2, &r, 1, "mx.example.org", &ei), MOX_OK);
    r = tlsa(2, 0, 1, &root);
    assert_int_equal(dane(ch, 2, &r, 1, "mx.example.org", &ei), MOX_ERR_PERM);
    assert_non_null(strstr(ei.msg, "no certificate of the chain matches"));
    /* the root sent too: its digest matches */
    const kc *full[] = {&leaf, &inter, &root};
    assert_int_equal(dane(full, 3, &r, 1, "mx.example.org", &ei), MOX_OK);
    /* the intermediate missing: the root cannot reach the leaf */
    const kc *short_chain[] = {&leaf};
    r = tlsa(2, 0, 0, &root);
    assert_int_equal(dane(short_chain, 1, &r, 1, "mx.example.org", &ei), MOX_ERR_PERM);
    /* ... but the intermediate in full anchors the lone leaf */
    r = tlsa(2, 0, 0, &inter);
    assert_int_equal(dane(short_chain, 1, &r, 1, "mx.example.org", &ei), MOX_OK);
    r = tlsa(2, 1, 0, &inter);
    assert_int_equal(dane(short_chain, 1, &r, 1, "mx.example.org", &ei), MOX_OK);
    /* wildcard names: one label */
    const kc *wch[] = {&wild, &inter};
    r = tlsa(2, 1, 1, &inter);
    assert_int_equal(dane(wch, 2, &r, 1, "mx.example.org", &ei), MOX_OK);
    assert_int_equal(dane(wch, 2, &r, 1, "a.b.example.org", &ei), MOX_ERR_PERM);
    assert_int_equal(dane(wch, 2, &r, 1, "example.org", &ei), MOX_ERR_PERM);
    /* a CN-only certificate: its CN is its name */
    const kc *cch[] = {&cnonly, &inter};
    assert_int_equal(dane(cch, 2, &r, 1, "cn.example.org", &ei), MOX_OK);
    /* validity below the anchor counts */
    const kc *exch[] = {&expired, &inter};
    assert_int_equal(dane(exch, 2, &r, 1, "mx.example.org", &ei), MOX_ERR_PERM);
    assert_non_null(strstr(ei.msg, "has expired"));
    const kc *fch[] = {&future, &inter};
    assert_int_equal(dane(fch, 2, &r, 1, "mx.example.org", &ei), MOX_ERR_PERM);
    assert_non_null(strstr(ei.msg, "not valid yet"));
    /* ... the anchor's own does not */
    const kc *old[] = {&leaf_of_expired, &inter_expired, &root};
    r = tlsa(2, 1, 1, &inter_expired);
    assert_int_equal(dane(old, 3, &r, 1, "mx.example.org", &ei), MOX_OK);
    r = tlsa(2, 1, 1, &root);
    assert_int_equal(dane(old, 3, &r, 1, "mx.example.org", &ei), MOX_ERR_PERM);
    /* a forged leaf under the intermediate's name */
    const kc *forg[] = {&forged, &inter};
    r = tlsa(2, 1, 1, &inter);
    assert_int_equal(dane(forg, 2, &r, 1, "mx.example.org", &ei), MOX_ERR_PERM);
    assert_non_null(strstr(ei.msg, "not issued by"));
    /* an issuer that is no CA */
    const kc *nc[] = {&leaf_noca, &noca};
    r = tlsa(2, 1, 1, &noca);
    assert_int_equal(dane(nc, 2, &r, 1, "mx.example.org", &ei), MOX_ERR_PERM);
    assert_non_null(strstr(ei.msg, "no CA"));
    /* the time given decides */
    const unsigned char *der[] = {leaf.der, inter.der};
    size_t lens[] = {leaf.len, inter.len};
    const char *names[] = {"mx.example.org"};
    r = tlsa(2, 1, 1, &inter);
    int64_t later = ((int64_t)time(NULL) + 86400 * 60) * 1000000000LL;
    assert_int_equal(mox_tls_verify_dane(der, lens, 2, &r, 1, names, 1, later, NULL, &ei),
                     MOX_ERR_PERM);
}

static void t_dane_records(void **st)
{
    (void)st;
    mox_errinfo ei;
    const kc *ch[] = {&leaf, &inter};
    mox_dns_rr recs[6];
    recs[0] = tlsa(1, 1, 1, &leaf); /* PKIX-EE: unusable for SMTP */
    recs[1] = tlsa(0, 1, 1, &inter); /* PKIX-TA */
    recs[2] = tlsa(3, 1, 1, &leaf);
    recs[2].u.tlsa.selector = 2;     /* unknown selector */
    recs[3] = tlsa(3, 1, 1, &leaf);
    recs[3].u.tlsa.matching = 3;     /* unknown matching */
    recs[4] = tlsa(3, 1, 1, &leaf);
    recs[4].u.tlsa.len = 31;         /* SHA-256 of the wrong length */
    assert_int_equal(dane(ch, 2, recs, 5, "mx.example.org", &ei), MOX_ERR_NOTFOUND);
    assert_non_null(strstr(ei.msg, "usable"));
    assert_int_equal(dane(ch, 2, recs, 0, "mx.example.org", &ei), MOX_ERR_NOTFOUND);
    /* one usable record among them: the index of the one that matched */
    recs[5] = tlsa(3, 0, 2, &leaf);
    const unsigned char *der[] = {leaf.der, inter.der};
    size_t lens[] = {leaf.len, inter.len};
    const char *names[] = {"mx.example.org"};
    size_t matched = 99;
    assert_int_equal(mox_tls_verify_dane(der, lens, 2, recs, 6, names, 1, 0, &matched, &ei),
                     MOX_OK);
    assert_int_equal(matched, 5);
    /* a non-matching usable record before a matching one */
    mox_dns_rr two[2] = {flipped(tlsa(3, 1, 1, &leaf)), tlsa(2, 0, 1, &inter)};
    assert_int_equal(mox_tls_verify_dane(der, lens, 2, two, 2, names, 1, 0, &matched, &ei),
                     MOX_OK);
    assert_int_equal(matched, 1);
    /* records of another type are ignored */
    mox_dns_rr a;
    memset(&a, 0, sizeof a);
    a.type = MOX_DNS_A;
    assert_int_equal(dane(ch, 2, &a, 1, "mx.example.org", &ei), MOX_ERR_NOTFOUND);
    /* garbage instead of a leaf; bad arguments */
    static const unsigned char junk[] = "not a certificate";
    const unsigned char *jd[] = {junk};
    size_t jl[] = {sizeof junk};
    assert_int_equal(mox_tls_verify_dane(jd, jl, 1, two, 2, names, 1, 0, NULL, &ei),
                     MOX_ERR_SYNTAX);
    /* garbage after the leaf: the chain just ends there */
    const unsigned char *gd[] = {leaf.der, junk};
    size_t gl[] = {leaf.len, sizeof junk};
    mox_dns_rr ee = tlsa(3, 1, 1, &leaf);
    assert_int_equal(mox_tls_verify_dane(gd, gl, 2, &ee, 1, names, 1, 0, NULL, &ei), MOX_OK);
    assert_int_equal(mox_tls_verify_dane(NULL, lens, 2, two, 2, names, 1, 0, NULL, &ei),
                     MOX_ERR_INVAL);
    assert_int_equal(mox_tls_verify_dane(der, lens, 0, two, 2, names, 1, 0, NULL, &ei),
                     MOX_ERR_INVAL);
    assert_int_equal(mox_tls_verify_dane(der, lens, 2, NULL, 2, names, 1, 0, NULL, &ei),
                     MOX_ERR_INVAL);
}

/* ------------------------------------------------------------ MTA-STS */

static void t_mtasts_match(void **st)
{
    (void)st;
    static const struct {
        const char *pat, *host;
        int want;
    } cases[] = {
        {"mx.example.org", "mx.example.org", 1},
        {"MX.Example.ORG", "mx.example.org", 1},
        {"mx.example.org.", "mx.example.org", 1},
        {"mx.example.org", "mx.example.org.", 1},
        {"mx.example.org", "mx2.example.org", 0},
        {"mx.example.org", "example.org", 0},
        {"*.example.org", "mx.example.org", 1},
        {"*.EXAMPLE.org", "Mx.example.ORG.", 1},
        {"*.example.org", "example.org", 0},
        {"*.example.org", "a.b.example.org", 0},
        {"*.example.org", ".example.org", 0},
        {"*.example.org", "mx.example.org.evil", 0},
        {"*.example.org", "mxexample.org", 0},
        {"mx*.example.org", "mx1.example.org", 0},
        {"*mx.example.org", "amx.example.org", 0},
        {"*.*.example.org", "a.b.example.org", 0},
        {"mx.*.org", "mx.example.org", 0},
        {"*", "example", 0},
        {"*.", "example.", 0},
        {"*..example.org", "a..example.org", 0},
        {"example.org", "*.example.org", 0},
        {"*.example.org", "*.example.org", 0},
        {"", "", 0},
        {".", ".", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (mox_tls_mtasts_match(cases[i].pat, cases[i].host) != cases[i].want)
            fail_msg("%s vs %s: want %d", cases[i].pat, cases[i].host, cases[i].want);
    assert_int_equal(mox_tls_mtasts_match(NULL, "x"), 0);
    assert_int_equal(mox_tls_mtasts_match("x", NULL), 0);
    /* certificate names: SAN dNSNames, the CN only without them */
    assert_true(mox_tls_cert_matches_host(leaf.der, leaf.len, "mx.example.org"));
    assert_false(mox_tls_cert_matches_host(leaf.der, leaf.len, "mx.example.org.evil"));
    assert_true(mox_tls_cert_matches_host(wild.der, wild.len, "smtp.example.org"));
    assert_false(mox_tls_cert_matches_host(wild.der, wild.len, "wildcard"));
    assert_true(mox_tls_cert_matches_host(cnonly.der, cnonly.len, "cn.example.org"));
    assert_false(mox_tls_cert_matches_host((const unsigned char *)"x", 1, "x"));
}

static char root_path[] = "/tmp/mox-verify-root-XXXXXX", other_path[] = "/tmp/mox-verify-other-XXXXXX";

static void write_pem(char *path, const kc *c)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, c->pem, strlen(c->pem)), (ssize_t)strlen(c->pem));
    close(fd);
}

static mox_tls_config *trust_cfg(const char *path)
{
    mox_tls_client_options o = MOX_TLS_CLIENT_OPTIONS_INIT;
    o.ca_file = path;
    mox_tls_config *c = NULL;
    mox_errinfo ei;
    if (mox_tls_config_new_client(&c, &o, &ei) != MOX_OK)
        fail_msg("%s", ei.msg);
    return c;
}

static void t_mtasts_verify(void **st)
{
    (void)st;
    write_pem(root_path, &root);
    write_pem(other_path, &other_root);
    mox_tls_config *trust = trust_cfg(root_path), *other = trust_cfg(other_path);
    mox_errinfo ei;
    const unsigned char *der[] = {leaf.der, inter.der};
    size_t lens[] = {leaf.len, inter.len};
    const char *pats[] = {"mail.example.com", "*.example.org"};
    assert_int_equal(mox_tls_verify_mtasts(der, lens, 2, "mx.example.org", pats, 2, trust, 0, &ei),
                     MOX_OK);
    /* the host is not in the policy */
    assert_int_equal(mox_tls_verify_mtasts(der, lens, 2, "mx.example.net", pats, 2, trust, 0, &ei),
                     MOX_ERR_PERM);
    assert_non_null(strstr(ei.msg, "matches none of the policy's 2 mx patterns"));
    assert_int_equal(mox_tls_verify_mtasts(der, lens, 2, "a.b.example.org", pats, 2, trust, 0,
                                           &ei),
                     MOX_ERR_PERM);
    /* in the policy, but the certificate is for another host */
    assert_int_equal(mox_tls_verify_mtasts(der, lens, 2, "mx2.example.org", pats, 2, trust, 0,
                                           &ei),
                     MOX_ERR_PERM);
    assert_non_null(strstr(ei.msg, "does not cover"));
    /* WebPKI: another CA set; the intermediate missing; expiry (our now) */
    assert_int_equal(mox_tls_verify_mtasts(der, lens, 2, "mx.example.org", pats, 2, other, 0, &ei),
                     MOX_ERR_PERM);
    assert_non_null(strstr(ei.msg, "WebPKI"));
    assert_int_equal(mox_tls_verify_mtasts(der, lens, 1, "mx.example.org", pats, 2, trust, 0, &ei),
                     MOX_ERR_PERM);
    int64_t later = ((int64_t)time(NULL) + 86400 * 60) * 1000000000LL;
    assert_int_equal(mox_tls_verify_mtasts(der, lens, 2, "mx.example.org", pats, 2, trust, later,
                                           &ei),
                     MOX_ERR_PERM);
    const unsigned char *exd[] = {expired.der, inter.der};
    size_t exl[] = {expired.len, inter.len};
    assert_int_equal(mox_tls_verify_mtasts(exd, exl, 2, "mx.example.org", pats, 2, trust, 0, &ei),
                     MOX_ERR_PERM);
    /* without a CA set the chain is the caller's TLS library's business */
    assert_int_equal(mox_tls_verify_mtasts(der, lens, 1, "mx.example.org", pats, 2, NULL, 0, &ei),
                     MOX_OK);
    /* arguments */
    mox_tls_server_options so = MOX_TLS_SERVER_OPTIONS_INIT;
    mox_tls_config *srv = NULL;
    assert_int_equal(mox_tls_config_new_server(&srv, &so, &ei), MOX_OK);
    assert_int_equal(mox_tls_verify_mtasts(der, lens, 2, "mx.example.org", pats, 2, srv, 0, &ei),
                     MOX_ERR_INVAL);
    assert_int_equal(mox_tls_verify_mtasts(der, lens, 2, NULL, pats, 2, trust, 0, &ei),
                     MOX_ERR_INVAL);
    static const unsigned char junk[] = "junk";
    const unsigned char *jd[] = {junk};
    size_t jl[] = {4};
    assert_int_equal(mox_tls_verify_mtasts(jd, jl, 1, "mx.example.org", pats, 2, trust, 0, &ei),
                     MOX_ERR_SYNTAX);
    mox_tls_config_free(srv);
    mox_tls_config_free(trust);
    mox_tls_config_free(other);
}

/* ------------------------------------------------------------ engine */

static mox_tls_config *server_with(const kc *lf, const kc *chain_ca, kc *keyof)
{
    static char pem[9000], kp[2048];
    snprintf(pem, sizeof pem, "%s%s", lf->pem, chain_ca ? chain_ca->pem : "");
    key_pem(keyof, kp, sizeof kp);
    mox_tls_server_options o = MOX_TLS_SERVER_OPTIONS_INIT;
    mox_tls_config *c = NULL;
    mox_errinfo ei;
    assert_int_equal(mox_tls_config_new_server(&c, &o, &ei), MOX_OK);
    if (mox_tls_config_add_cert(c, pem, strlen(pem), kp, strlen(kp), &ei) != MOX_OK)
        fail_msg("%s", ei.msg);
    return c;
}

static size_t xfer(mox_tls *a, mox_tls *b)
{
    const void *p;
    size_t n;
    mox_tls_output(a, &p, &n);
    if (!n)
        return 0;
    int64_t took = mox_tls_feed(b, p, n);
    assert_true(took >= 0);
    mox_tls_output_done(a, (size_t)took);
    return (size_t)took;
}

/* One in-memory handshake under `req`; returns the client's engine error
 * code (MOX_OK when it completed). */
static int handshake(mox_tls_config *cc, mox_tls_config *sc, const mox_tls_request *req,
                     char *why, size_t whyl)
{
    mox_tls *c = NULL, *s = NULL;
    mox_errinfo ei;
    if (mox_tls_new(&c, cc, req, &ei) != MOX_OK)
        fail_msg("client: %s", ei.msg);
    assert_int_equal(mox_tls_new(&s, sc, NULL, &ei), MOX_OK);
    for (int i = 0; i < 1000 && (xfer(c, s) | xfer(s, c)); i++)
        ;
    int rc = mox_tls_error(c)->code;
    if (rc == MOX_OK) {
        assert_true(mox_tls_want(c) & MOX_WANT_DONE);
        mox_tls_info info = MOX_TLS_INFO_INIT;
        assert_int_equal(mox_tls_get_info(c, &info), MOX_OK);
        assert_true(info.peer_verified);
    }
    if (why)
        snprintf(why, whyl, "%s", mox_tls_verify_error(c));
    mox_tls_free(c);
    mox_tls_free(s);
    return rc;
}

static void t_engine_policies(void **st)
{
    (void)st;
    mox_tls_config *sc = server_with(&leaf, &inter, &leaf);
    /* DANE needs no CA set */
    mox_tls_client_options o = MOX_TLS_CLIENT_OPTIONS_INIT;
    o.insecure = 1;
    mox_tls_config *bare = NULL;
    mox_errinfo ei;
    assert_int_equal(mox_tls_config_new_client(&bare, &o, &ei), MOX_OK);
    mox_tls_request r = MOX_TLS_REQUEST_INIT;
    r.server_name = "mx.example.org";
    r.verify = MOX_TLS_VERIFY_DANE;
    mox_dns_rr recs[2] = {tlsa(3, 1, 1, &leaf), tlsa(2, 0, 1, &inter)};
    r.tlsa = recs;
    r.ntlsa = 1;
    assert_int_equal(handshake(bare, sc, &r, NULL, 0), MOX_OK);
    r.tlsa = recs + 1;
    assert_int_equal(handshake(bare, sc, &r, NULL, 0), MOX_OK);
    recs[0] = flipped(recs[0]);
    r.tlsa = recs;
    char why[512];
    assert_int_equal(handshake(bare, sc, &r, why, sizeof why), MOX_ERR_PERM);
    assert_non_null(strstr(why, "DANE: no TLSA record matches"));
    /* DANE-TA checks the name */
    r.tlsa = recs + 1;
    r.server_name = "other.example.org";
    assert_int_equal(handshake(bare, sc, &r, why, sizeof why), MOX_ERR_PERM);
    /* WebPKI and MTA-STS against the test root */
    mox_tls_config *trust = trust_cfg(root_path);
    r.tlsa = NULL;
    r.ntlsa = 0;
    r.server_name = "mx.example.org";
    r.verify = MOX_TLS_VERIFY_WEBPKI;
    assert_int_equal(handshake(trust, sc, &r, NULL, 0), MOX_OK);
    r.verify = MOX_TLS_VERIFY_MTASTS;
    const char *pats[] = {"*.example.org"};
    r.mtasts_mx = pats;
    r.nmtasts_mx = 1;
    assert_int_equal(handshake(trust, sc, &r, NULL, 0), MOX_OK);
    const char *other_pats[] = {"mx.example.net", "*.mx.example.org"};
    r.mtasts_mx = other_pats;
    r.nmtasts_mx = 2;
    assert_int_equal(handshake(trust, sc, &r, why, sizeof why), MOX_ERR_PERM);
    assert_non_null(strstr(why, "MTA-STS"));
    /* a chain without its intermediate fails WebPKI, DANE-EE still passes */
    mox_tls_config *sc2 = server_with(&leaf, NULL, &leaf);
    r.verify = MOX_TLS_VERIFY_WEBPKI;
    assert_int_equal(handshake(trust, sc2, &r, NULL, 0), MOX_ERR_PERM);
    r.verify = MOX_TLS_VERIFY_DANE;
    recs[0] = tlsa(3, 1, 2, &leaf);
    r.tlsa = recs;
    r.ntlsa = 1;
    assert_int_equal(handshake(trust, sc2, &r, NULL, 0), MOX_OK);
    mox_tls_config_free(sc2);
    mox_tls_config_free(trust);
    mox_tls_config_free(bare);
    mox_tls_config_free(sc);
    unlink(root_path);
    unlink(other_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_dane_ee),       cmocka_unit_test(t_dane_ta),
        cmocka_unit_test(t_dane_records),  cmocka_unit_test(t_mtasts_match),
        cmocka_unit_test(t_mtasts_verify), cmocka_unit_test(t_engine_policies),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
