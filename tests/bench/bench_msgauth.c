/* Complete SPF + DKIM + DMARC checks per second (mox_msgauth_check) for a
 * 10 KB message with one RSA-2048 signature, DNS answered from an
 * in-memory zone; and the floor: SHA-256 of the message plus one
 * RSA-2048 verification with mbedTLS directly. The share of the check's
 * time spent in the floor is floor_time / check_time.
 *
 * Named after the msgauth module (which links spf, dkim and dmarc), since
 * the bench harness links bench_<module> with moxm_<module>.
 *
 * usage: bench_msgauth      ($MOX_BENCH_ROUNDS, $MOX_BENCH_SECONDS) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>

#include "bench.h"
#include "mox/msgauth.h"

static mox_buf msg;
static mox_dns_zone *zone;
static mox_resolver res;
static mbedtls_pk_context pk;
static unsigned char sig[512];
static size_t sig_len;

static int do_check(void *arg)
{
    (void)arg;
    mox_msgauth *m;
    int rc = mox_msgauth_check(&m, NULL, &res, "192.0.2.1", "bounce@example.org", "mx.example.org",
                               msg.data, msg.len, NULL);
    if (rc)
        return rc;
    const mox_dmarc_outcome *o = mox_dmarc_get(mox_msgauth_dmarc(m));
    const mox_dkim_verifier_outcome *dko = mox_dkim_verifier_result(mox_msgauth_dkim(m));
    const mox_dkim_sig_result *d = dko && dko->count ? dko->results[0] : NULL;
    if (!o || o->result != MOX_DMARC_PASS || !d || d->status != MOX_DKIM_PASS ||
        o->dkim_aligned != MOX_DMARC_ALIGN_PASS)
        rc = -1;
    mox_msgauth_free(m);
    return rc;
}

static int do_dmarc_only(void *arg)
{
    (void)arg;
    mox_dmarc *d;
    int rc = mox_dmarc_new(&d, NULL, "news.example.org", NULL);
    if (!rc)
        rc = mox_dmarc_set_spf(d, MOX_DMARC_AUTH_PASS, "bounce.example.org");
    if (!rc)
        rc = mox_dmarc_add_dkim(d, MOX_DMARC_AUTH_PASS, "example.org", "s");
    if (!rc)
        rc = mox_dmarc_run(d, &res);
    if (!rc && mox_dmarc_get(d)->result != MOX_DMARC_PASS)
        rc = -1;
    mox_dmarc_free(d);
    return rc;
}

static int do_floor(void *arg)
{
    (void)arg;
    unsigned char h[32];
    mbedtls_sha256_ret(msg.data, msg.len, h, 0);
    return mbedtls_pk_verify(&pk, MBEDTLS_MD_SHA256, h, 32, sig, sig_len);
}

int main(void)
{
    mox_dkim_privkey *k;
    if (mox_dkim_privkey_generate(MOX_DKIM_KEY_RSA, 2048, NULL, &k)) {
        fprintf(stderr, "keygen failed\n");
        return 1;
    }
    /* a 10 KB message */
    mox_buf body = MOX_BUF_INIT, zt = MOX_BUF_INIT, rec = MOX_BUF_INIT, pem = MOX_BUF_INIT;
    mox_buf_append_str(&body, "From: News <news@example.org>\r\nTo: reader@example.net\r\n"
                              "Subject: the weekly letter\r\nDate: Tue, 1 Jul 2025 10:00:00 +0000\r\n"
                              "Message-ID: <w1@example.org>\r\nMIME-Version: 1.0\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n\r\n");
    while (body.len < 10 * 1024)
        mox_buf_append_str(&body, "Lorem ipsum dolor sit amet, consectetur adipiscing elit, "
                                  "sed do eiusmod tempor.\r\n");
    mox_dkim_sign_params p = MOX_DKIM_SIGN_PARAMS_INIT;
    p.key = k;
    p.domain = "example.org";
    p.selector = "bench";
    mox_dkim_signer *s;
    if (mox_dkim_signer_new(&s, NULL, &p, 1, NULL) ||
        mox_dkim_signer_feed(s, body.data, body.len) != (int64_t)body.len ||
        mox_dkim_signer_eof(s) ||
        mox_buf_append(&msg, mox_dkim_signer_result(s)->fields, mox_dkim_signer_result(s)->len)) {
        fprintf(stderr, "signing failed\n");
        return 1;
    }
    mox_dkim_signer_free(s);
    mox_buf_append(&msg, body.data, body.len);
    mox_dkim_privkey_record(k, &rec);
    mox_buf_append_str(&zt, "example.org. TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
                            "_dmarc.example.org. TXT \"v=DMARC1; p=reject; rua=mailto:d@example.org\"\n");
    mox_dkim_txt_rr("bench", "example.org", (const char *)rec.data, rec.len, &zt);
    mox_buf_append_byte(&zt, '\n');
    mox_errinfo ei;
    if (mox_dns_zone_new(&zone) || mox_dns_zone_load(zone, (const char *)zt.data, zt.len, ".", "bench", &ei)) {
        fprintf(stderr, "zone: %s\n", ei.msg);
        return 1;
    }
    mox_resolver r0 = MOX_RESOLVER_INIT;
    res = r0;
    mox_dns_zone_resolver(zone, &res);

    /* floor key: the same RSA key parsed by mbedTLS; one signature of the
     * message hash to verify */
    mox_dkim_privkey_pem(k, &pem);
    mbedtls_entropy_context ent;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_entropy_init(&ent);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_pk_init(&pk);
    unsigned char h[32];
    mbedtls_sha256_ret(msg.data, msg.len, h, 0);
    if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, (const unsigned char *)"b", 1) ||
        mbedtls_pk_parse_key(&pk, pem.data, pem.len + 1, NULL, 0) ||
        mbedtls_pk_sign(&pk, MBEDTLS_MD_SHA256, h, 32, sig, &sig_len, mbedtls_ctr_drbg_random, &drbg)) {
        fprintf(stderr, "floor setup failed\n");
        return 1;
    }
    printf("message: %zu bytes, RSA-2048 rsa-sha256 relaxed/relaxed, in-memory DNS\n", msg.len);
    int rounds = mox_bench_rounds(5);
    double secs = mox_bench_seconds(1.0);
    double full = mox_bench_run("libmox SPF+DKIM+DMARC check (mox_msgauth_check)", do_check, NULL, secs, rounds);
    double dm = mox_bench_run("libmox DMARC evaluation alone (relaxed, tree walks)", do_dmarc_only, NULL, secs, rounds);
    double fl = mox_bench_run("floor: sha256(message) + RSA-2048 verify (mbedTLS)", do_floor, NULL, secs, rounds);
    printf("share of check time in the floor: %.1f%%\n", 100.0 * full / fl);
    mox_bench_ratio("check vs floor", full, fl);
    (void)dm;
    mbedtls_pk_free(&pk);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&ent);
    mox_dns_zone_free(zone);
    mox_dkim_privkey_free(k);
    mox_buf_free(&msg);
    mox_buf_free(&body);
    mox_buf_free(&zt);
    mox_buf_free(&rec);
    mox_buf_free(&pem);
    return 0;
}
