/* Certificate verification policies: DANE (RFC 7672, RFC 6698, RFC 7671)
 * and MTA-STS (RFC 8461) as pure functions over a DER chain, name
 * matching, and the per-connection mbedTLS verify callback that applies
 * the request's policy during a handshake. */
#include <string.h>
#include <time.h>

#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "tls/tls_priv.h"

#define MAX_CHAIN 16

/* ------------------------------------------------------------ names */

int mox_tls_mtasts_match(const char *pattern, const char *host)
{
    if (!pattern || !host)
        return 0;
    size_t pl = strlen(pattern), hl = strlen(host);
    if (pl && pattern[pl - 1] == '.')
        pl--;
    if (hl && host[hl - 1] == '.')
        hl--;
    if (pl == 0 || hl == 0 || memchr(host, '*', hl))
        return 0;
    if (pl >= 2 && pattern[0] == '*' && pattern[1] == '.') {
        /* "*.example.org": exactly one leftmost label (RFC 8461 §4.1). */
        const char *rest = pattern + 1;
        size_t rl = pl - 1;
        if (rl < 2 || memchr(rest, '*', rl) || rest[1] == '.')
            return 0;
        const char *dot = memchr(host, '.', hl);
        if (!dot || dot == host)
            return 0;
        size_t tail = hl - (size_t)(dot - host);
        return tail == rl && moxi_memcaseeq(dot, rest, rl);
    }
    if (memchr(pattern, '*', pl))
        return 0;
    return pl == hl && moxi_memcaseeq(pattern, host, pl);
}

/* Matches one certificate name (not NUL-terminated) against host. */
static int name_matches(const unsigned char *p, size_t n, const char *host)
{
    char buf[256];
    if (n == 0 || n >= sizeof buf || memchr(p, 0, n))
        return 0;
    memcpy(buf, p, n);
    buf[n] = 0;
    return mox_tls_mtasts_match(buf, host);
}

/* RFC 6125 §6.4.4: subjectAltName dNSNames, the CN only without them. */
static int crt_matches_host(const mbedtls_x509_crt *crt, const char *host)
{
    int any = 0;
    for (const mbedtls_x509_sequence *san = &crt->subject_alt_names; san && san->buf.p;
         san = san->next) {
        if (san->buf.tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME))
            continue;
        any = 1;
        if (name_matches(san->buf.p, san->buf.len, host))
            return 1;
    }
    if (any)
        return 0;
    for (const mbedtls_x509_name *nm = &crt->subject; nm; nm = nm->next)
        if (nm->oid.p && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &nm->oid) == 0 &&
            name_matches(nm->val.p, nm->val.len, host))
            return 1;
    return 0;
}

int mox_tls_cert_matches_host(const unsigned char *der, size_t len, const char *host)
{
    if (!der || !len || !host)
        return 0;
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    int ok = mbedtls_x509_crt_parse_der(&crt, der, len) == 0 && crt_matches_host(&crt, host);
    mbedtls_x509_crt_free(&crt);
    return ok;
}

/* ------------------------------------------------------------ time */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int64_t x509_secs(const mbedtls_x509_time *t)
{
    return days_from_civil(t->year, (unsigned)t->mon, (unsigned)t->day) * 86400 +
           t->hour * 3600 + t->min * 60 + t->sec;
}

/* 0 valid, MBEDTLS_X509_BADCERT_FUTURE or _EXPIRED. */
static uint32_t validity(const mbedtls_x509_crt *c, int64_t now_s)
{
    if (now_s < x509_secs(&c->valid_from))
        return MBEDTLS_X509_BADCERT_FUTURE;
    if (now_s > x509_secs(&c->valid_to))
        return MBEDTLS_X509_BADCERT_EXPIRED;
    return 0;
}

static int64_t now_secs(int64_t now_wall_ns)
{
    if (now_wall_ns == 0)
        now_wall_ns = mox_clock_wall_ns(NULL);
    return now_wall_ns / 1000000000;
}

/* ------------------------------------------------------------ chains */

/* Did `key` sign `child`? */
static int signed_by(const mbedtls_x509_crt *child, mbedtls_pk_context *key)
{
    const mbedtls_md_info_t *mi = mbedtls_md_info_from_type(child->sig_md);
    unsigned char h[MBEDTLS_MD_MAX_SIZE];
    if (!mi || mbedtls_md(mi, child->tbs.p, child->tbs.len, h) != 0)
        return 0;
    if (!mbedtls_pk_can_do(key, child->sig_pk))
        return 0;
    return mbedtls_pk_verify_ext(child->sig_pk, child->sig_opts, key, child->sig_md, h,
                                 mbedtls_md_get_size(mi), child->sig.p, child->sig.len) == 0;
}

static int issued_by(const mbedtls_x509_crt *child, mbedtls_x509_crt *parent)
{
    return child->issuer_raw.len == parent->subject_raw.len &&
           memcmp(child->issuer_raw.p, parent->subject_raw.p, child->issuer_raw.len) == 0 &&
           signed_by(child, &parent->pk);
}

static int is_ca(const mbedtls_x509_crt *c)
{
    if (!c->ca_istrue)
        return 0;
    return mbedtls_x509_crt_check_key_usage(c, MBEDTLS_X509_KU_KEY_CERT_SIGN) == 0;
}

typedef struct dane_ctx {
    mbedtls_x509_crt crt[MAX_CHAIN];
    size_t n;
    int64_t now;
    const char *const *names;
    size_t nnames;
    char why[200];
} dane_ctx;

static int tlsa_matches(const mox_dns_rr *r, const unsigned char *sel, size_t sl)
{
    unsigned char h[64];
    switch (r->u.tlsa.matching) {
    case 0:
        return r->u.tlsa.len == sl && memcmp(r->u.tlsa.data, sel, sl) == 0;
    case 1:
        return mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), sel, sl, h) == 0 &&
               r->u.tlsa.len == 32 && memcmp(h, r->u.tlsa.data, 32) == 0;
    case 2:
        return mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA512), sel, sl, h) == 0 &&
               r->u.tlsa.len == 64 && memcmp(h, r->u.tlsa.data, 64) == 0;
    }
    return 0;
}

static int crt_matches_tlsa(const mox_dns_rr *r, const mbedtls_x509_crt *c)
{
    if (r->u.tlsa.selector == 0)
        return tlsa_matches(r, c->raw.p, c->raw.len);
    return tlsa_matches(r, c->pk_raw.p, c->pk_raw.len);
}

static int names_ok(dane_ctx *d)
{
    for (size_t i = 0; i < d->nnames; i++)
        if (d->names[i] && crt_matches_host(&d->crt[0], d->names[i]))
            return 1;
    snprintf(d->why, sizeof d->why, "the certificate covers none of the %zu reference names%s%s",
             d->nnames, d->nnames ? ", e.g. " : "", d->nnames && d->names[0] ? d->names[0] : "");
    return 0;
}

/* crt[0..top] correctly issued one by the next, issuers CAs, each valid
 * but the trust anchor (crt[top] when top_is_anchor). */
static int path_ok(dane_ctx *d, size_t top, int top_is_anchor)
{
    for (size_t j = 0; j <= top; j++) {
        uint32_t v = j == top && top_is_anchor ? 0 : validity(&d->crt[j], d->now);
        if (v) {
            snprintf(d->why, sizeof d->why, "certificate %zu of the chain %s", j,
                     v == MBEDTLS_X509_BADCERT_EXPIRED ? "has expired" : "is not valid yet");
            return 0;
        }
        if (j == top)
            break;
        if (!issued_by(&d->crt[j], &d->crt[j + 1])) {
            snprintf(d->why, sizeof d->why, "certificate %zu is not issued by certificate %zu",
                     j, j + 1);
            return 0;
        }
        if (!is_ca(&d->crt[j + 1])) {
            snprintf(d->why, sizeof d->why, "certificate %zu issues but is no CA", j + 1);
            return 0;
        }
    }
    return 1;
}

/* DANE-TA(2) with the trust anchor given in full by the record and not
 * (necessarily) sent: the lowest certificate of a correct path that the
 * anchor issued (certificate: name and signature; bare key: signature). */
static int ta_outside(dane_ctx *d, const mox_dns_rr *r)
{
    mbedtls_x509_crt ta;
    mbedtls_pk_context key;
    mbedtls_x509_crt_init(&ta);
    mbedtls_pk_init(&key);
    int ok = 0;
    if (r->u.tlsa.selector == 0) {
        if (mbedtls_x509_crt_parse_der(&ta, r->u.tlsa.data, r->u.tlsa.len) != 0) {
            snprintf(d->why, sizeof d->why, "the record's certificate does not parse");
            goto out;
        }
        if (!is_ca(&ta)) {
            snprintf(d->why, sizeof d->why, "the record's certificate is no CA");
            goto out;
        }
    } else if (mbedtls_pk_parse_public_key(&key, r->u.tlsa.data, r->u.tlsa.len) != 0) {
        snprintf(d->why, sizeof d->why, "the record's public key does not parse");
        goto out;
    }
    snprintf(d->why, sizeof d->why, "no certificate of the chain is issued by the trust anchor");
    for (size_t j = 0; j < d->n; j++) {
        int by = r->u.tlsa.selector == 0 ? issued_by(&d->crt[j], &ta)
                                         : signed_by(&d->crt[j], &key);
        if (by) {
            ok = path_ok(d, j, 0) && names_ok(d);
            break;
        }
        if (j + 1 < d->n && !issued_by(&d->crt[j], &d->crt[j + 1]))
            break; /* the path breaks here */
    }
out:
    mbedtls_x509_crt_free(&ta);
    mbedtls_pk_free(&key);
    return ok;
}

static int dane_one(dane_ctx *d, const mox_dns_rr *r)
{
    if (r->u.tlsa.usage == 3) {
        if (crt_matches_tlsa(r, &d->crt[0]))
            return 1;
        snprintf(d->why, sizeof d->why, "DANE-EE(3) %u %u: the leaf does not match",
                 r->u.tlsa.selector, r->u.tlsa.matching);
        return 0;
    }
    /* DANE-TA(2): a certificate of the chain, then the record itself. */
    for (size_t i = 0; i < d->n; i++)
        if (crt_matches_tlsa(r, &d->crt[i]))
            return path_ok(d, i, 1) && names_ok(d);
    if (r->u.tlsa.matching == 0)
        return ta_outside(d, r);
    snprintf(d->why, sizeof d->why, "DANE-TA(2) %u %u: no certificate of the chain matches",
             r->u.tlsa.selector, r->u.tlsa.matching);
    return 0;
}

static int usable(const mox_dns_rr *r)
{
    if (r->type != MOX_DNS_TLSA || (r->u.tlsa.usage != 2 && r->u.tlsa.usage != 3))
        return 0;
    if (r->u.tlsa.selector > 1 || r->u.tlsa.matching > 2 || !r->u.tlsa.data || !r->u.tlsa.len)
        return 0;
    return (r->u.tlsa.matching != 1 || r->u.tlsa.len == 32) &&
           (r->u.tlsa.matching != 2 || r->u.tlsa.len == 64);
}

static int parse_chain(dane_ctx *d, const unsigned char *const *chain, const size_t *lens,
                       size_t n, mox_errinfo *ei)
{
    for (size_t i = 0; i < n && d->n < MAX_CHAIN; i++) {
        mbedtls_x509_crt_init(&d->crt[d->n]);
        int m = chain[i] ? mbedtls_x509_crt_parse_der(&d->crt[d->n], chain[i], lens[i])
                         : MBEDTLS_ERR_X509_BAD_INPUT_DATA;
        if (m != 0) {
            mbedtls_x509_crt_free(&d->crt[d->n]);
            if (m == MBEDTLS_ERR_X509_ALLOC_FAILED)
                return moxi_fail(ei, MOX_ERR_NOMEM, m, SIZE_MAX, "out of memory");
            if (i == 0) {
                moxi_tls_mbed_msg(ei, MOX_ERR_SYNTAX, m, "leaf certificate");
                return MOX_ERR_SYNTAX;
            }
            break; /* the usable chain ends before a broken certificate */
        }
        d->n++;
    }
    return MOX_OK;
}

int mox_tls_verify_dane(const unsigned char *const *chain, const size_t *lens, size_t n,
                        const mox_dns_rr *tlsa, size_t ntlsa, const char *const *names,
                        size_t nnames, int64_t now_wall_ns, size_t *matched, mox_errinfo *ei)
{
    if (!chain || !lens || n == 0 || (!tlsa && ntlsa) || (!names && nnames))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL argument or empty chain");
    size_t nus = 0;
    for (size_t i = 0; i < ntlsa; i++)
        nus += (size_t)usable(&tlsa[i]);
    dane_ctx *d = mox_calloc(1, sizeof *d);
    if (!d)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    d->now = now_secs(now_wall_ns);
    d->names = names;
    d->nnames = nnames;
    int rc = parse_chain(d, chain, lens, n, ei);
    if (rc != MOX_OK)
        goto out;
    if (nus == 0) {
        rc = moxi_fail(ei, MOX_ERR_NOTFOUND, 0, SIZE_MAX,
                       "none of the %zu TLSA records is usable (RFC 7672 §2.2)", ntlsa);
        goto out;
    }
    rc = MOX_ERR_PERM;
    for (size_t i = 0; i < ntlsa; i++) {
        if (!usable(&tlsa[i]))
            continue;
        if (dane_one(d, &tlsa[i])) {
            if (matched)
                *matched = i;
            rc = MOX_OK;
            break;
        }
    }
    if (rc != MOX_OK)
        moxi_fail(ei, rc, 0, SIZE_MAX, "no TLSA record matches: %s", d->why);
out:
    for (size_t i = 0; i < d->n; i++)
        mbedtls_x509_crt_free(&d->crt[i]);
    mox_free(d);
    return rc;
}

/* ------------------------------------------------------------ MTA-STS */

/* Validity at our own "now" instead of mbedTLS's clock. */
static int time_cb(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    (void)depth;
    *flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
    *flags |= validity(crt, *(const int64_t *)p);
    return 0;
}

int mox_tls_verify_mtasts(const unsigned char *const *chain, const size_t *lens, size_t n,
                          const char *mx_host, const char *const *mx, size_t nmx,
                          const mox_tls_config *trust, int64_t now_wall_ns, mox_errinfo *ei)
{
    if (!chain || !lens || n == 0 || !mx_host || (!mx && nmx))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL argument or empty chain");
    if (trust && (trust->role != MOXI_TLS_ROLE_CLIENT || !trust->have_ca))
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX,
                         "trust must be a client config with CA certificates");
    size_t i;
    for (i = 0; i < nmx; i++)
        if (mox_tls_mtasts_match(mx[i], mx_host))
            break;
    if (i == nmx)
        return moxi_fail(ei, MOX_ERR_PERM, 0, SIZE_MAX,
                         "MTA-STS: %.100s matches none of the policy's %zu mx patterns", mx_host,
                         nmx);
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    int rc = MOX_OK;
    for (i = 0; i < n && i < MAX_CHAIN; i++) {
        int m = chain[i] ? mbedtls_x509_crt_parse_der(&crt, chain[i], lens[i])
                         : MBEDTLS_ERR_X509_BAD_INPUT_DATA;
        if (m == MBEDTLS_ERR_X509_ALLOC_FAILED) {
            rc = moxi_fail(ei, MOX_ERR_NOMEM, m, SIZE_MAX, "out of memory");
            goto out;
        }
        if (m != 0 && i == 0) {
            moxi_tls_mbed_msg(ei, rc = MOX_ERR_SYNTAX, m, "leaf certificate");
            goto out;
        }
        if (m != 0)
            break;
    }
    if (!crt_matches_host(&crt, mx_host)) {
        rc = moxi_fail(ei, MOX_ERR_PERM, 0, SIZE_MAX, "MTA-STS: the certificate does not cover %.100s",
                       mx_host);
        goto out;
    }
    if (trust) {
        int64_t now = now_secs(now_wall_ns);
        uint32_t flags = 0;
        int m = mbedtls_x509_crt_verify(&crt, (mbedtls_x509_crt *)&trust->ca, NULL, NULL, &flags,
                                        time_cb, &now);
        if (m != 0 || flags != 0) {
            char info[200];
            info[0] = 0;
            if (flags && flags != (uint32_t)-1) {
                int k = mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
                for (int j = 0; j < k && info[j]; j++)
                    if (info[j] == '\n')
                        info[j] = j + 1 < k && info[j + 1] ? ';' : 0;
            }
            rc = moxi_fail(ei, MOX_ERR_PERM, m, SIZE_MAX, "MTA-STS: WebPKI verification failed: %s",
                           info[0] ? info : "no trusted chain");
        }
    }
out:
    mbedtls_x509_crt_free(&crt);
    return rc;
}

/* ------------------------------------------------------------ engine */

int moxi_tls_verify_cb(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    mox_tls *t = p;
    if (t->verify == MOX_TLS_VERIFY_DANE) {
        /* DANE decides alone, once the whole chain is seen (depth 0 comes
         * last); mbedTLS's WebPKI flags do not apply. */
        *flags = 0;
        if (depth > 0)
            return 0;
        const unsigned char *der[MAX_CHAIN];
        size_t lens[MAX_CHAIN], n = 0;
        for (const mbedtls_x509_crt *c = crt; c && c->raw.p && n < MAX_CHAIN; c = c->next) {
            der[n] = c->raw.p;
            lens[n++] = c->raw.len;
        }
        const char *names[1] = {t->server_name};
        mox_errinfo e;
        mox_errinfo_clear(&e);
        int rc = mox_tls_verify_dane(der, lens, n, t->tlsa, t->ntlsa, names, 1,
                                     mox_clock_wall_ns(t->cfg->clock), NULL, &e);
        if (rc == MOX_ERR_NOMEM)
            return MBEDTLS_ERR_X509_ALLOC_FAILED;
        if (rc != MOX_OK) {
            snprintf(t->verify_error, sizeof t->verify_error, "DANE: %s", e.msg);
            *flags = MBEDTLS_X509_BADCERT_NOT_TRUSTED;
        }
        return 0;
    }
    if (t->verify == MOX_TLS_VERIFY_MTASTS && depth == 0) {
        size_t i;
        for (i = 0; i < t->nmx; i++)
            if (mox_tls_mtasts_match(t->mx[i], t->server_name))
                break;
        if (i == t->nmx) {
            snprintf(t->verify_error, sizeof t->verify_error,
                     "MTA-STS: %.100s matches none of the policy's %zu mx patterns",
                     t->server_name, t->nmx);
            *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
        }
    }
    return 0;
}
