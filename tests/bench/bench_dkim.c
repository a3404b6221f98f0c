/* DKIM sign/s and verify/s of the 10 KB benchmark message (rsa-sha256
 * relaxed/relaxed with a 2048-bit key, and ed25519-sha256), each as a
 * ratio to the bare cryptographic floor measured in the same run: SHA-256
 * over the message plus one RSA (mbedTLS) or Ed25519 (libsodium) operation.
 * Each operation is a whole library job: signer/verifier created, the
 * message fed, the key record parsed (verify), result read, object freed.
 *
 * usage: bench_dkim [RSA-KEY.pem [MESSAGE.eml]]
 * With no key a fresh RSA-2048 key is generated. tests/bench/dkim-compare.sh
 * runs this together with libopendkim, dkimpy and crypto-floor.c on the
 * same key and message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <sodium.h>

#include "bench.h"
#include "mox/dkim.h"

#define HEADERS "from:to:subject:date:message-id:mime-version:content-type:content-transfer-encoding"

static mox_buf msg;

struct job {
    mox_dkim_privkey *key;
    const char *selector;
    mox_buf record;
    mox_buf signed_msg;
};

static int do_sign(void *arg)
{
    struct job *j = arg;
    mox_dkim_sign_params p = MOX_DKIM_SIGN_PARAMS_INIT;
    p.key = j->key;
    p.domain = "dkim-bench.test";
    p.selector = j->selector;
    p.headers = HEADERS;
    p.oversign = 0;
    mox_dkim_signer *s;
    int rc = mox_dkim_signer_new(&s, NULL, &p, 1, NULL);
    if (rc)
        return rc;
    int64_t took = mox_dkim_signer_feed(s, msg.data, msg.len);
    rc = took < 0 ? (int)took : mox_dkim_signer_eof(s);
    const mox_dkim_signer_outcome *o = mox_dkim_signer_result(s);
    if (rc == MOX_OK && !o)
        rc = MOX_ERR_STATE;
    if (rc == MOX_OK && !j->signed_msg.len) {
        rc = mox_buf_append(&j->signed_msg, o->fields, o->len);
        if (rc == MOX_OK)
            rc = mox_buf_append(&j->signed_msg, msg.data, msg.len);
    }
    mox_dkim_signer_free(s);
    return rc;
}

static int do_verify(void *arg)
{
    struct job *j = arg;
    mox_dkim_verifier *v;
    int rc = mox_dkim_verifier_new(&v, NULL, NULL);
    if (rc)
        return rc;
    /* as an embedder does it: the key question is answered (with an
     * answer built through the constructors) while the body streams */
    int64_t took = mox_dkim_verifier_feed(v, j->signed_msg.data, j->signed_msg.len);
    rc = took < 0 ? (int)took : MOX_OK;
    mox_query q;
    while (rc == MOX_OK && mox_dkim_verifier_query(v, &q) == MOX_OK) {
        mox_answer *a;
        rc = mox_answer_dns_new(&a, q.id, q.u.dns.name, MOX_DNS_TXT, MOX_DNS_NOERROR, 0);
        if (rc == MOX_OK)
            rc = mox_answer_add_txt(a, NULL, 300, j->record.data, j->record.len);
        if (rc == MOX_OK)
            rc = mox_dkim_verifier_answer(v, a);
        mox_answer_free(a);
    }
    if (rc == MOX_OK)
        rc = mox_dkim_verifier_eof(v);
    const mox_dkim_verifier_outcome *o = mox_dkim_verifier_result(v);
    if (rc == MOX_OK && (!o || o->count != 1 || o->results[0]->status != MOX_DKIM_PASS))
        rc = MOX_ERR_CRYPTO;
    mox_dkim_verifier_free(v);
    return rc;
}

/* ---- the floor */
static mbedtls_pk_context floor_pk;
static mbedtls_ctr_drbg_context drbg;
static unsigned char rsa_sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
static size_t rsa_sig_len;
static unsigned char ed_pk[32], ed_sk[64], ed_sig[64];

static int floor_rsa_sign(void *arg)
{
    (void)arg;
    unsigned char h[32];
    mbedtls_sha256_ret(msg.data, msg.len, h, 0);
    return mbedtls_pk_sign(&floor_pk, MBEDTLS_MD_SHA256, h, 32, rsa_sig, &rsa_sig_len,
                           mbedtls_ctr_drbg_random, &drbg);
}

static int floor_rsa_verify(void *arg)
{
    (void)arg;
    unsigned char h[32];
    mbedtls_sha256_ret(msg.data, msg.len, h, 0);
    /* the signature is of the same digest: a real, passing verification */
    return mbedtls_pk_verify(&floor_pk, MBEDTLS_MD_SHA256, h, 32, rsa_sig, rsa_sig_len);
}

static int floor_ed_sign(void *arg)
{
    (void)arg;
    unsigned char h[32];
    mbedtls_sha256_ret(msg.data, msg.len, h, 0);
    return crypto_sign_detached(ed_sig, NULL, h, 32, ed_sk);
}

static int floor_ed_verify(void *arg)
{
    (void)arg;
    unsigned char h[32];
    mbedtls_sha256_ret(msg.data, msg.len, h, 0);
    return crypto_sign_verify_detached(ed_sig, h, 32, ed_pk);
}

static int read_file(const char *path, mox_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char tmp[8192];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        mox_buf_append(out, tmp, n);
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    const char *msgpath = argc > 2 ? argv[2] : MOX_BENCH_DATA "/dkim/bench/dkim-bench-message.eml";
    if (read_file(msgpath, &msg)) {
        fprintf(stderr, "cannot read %s\n", msgpath);
        return 2;
    }
    struct job rsa = {NULL, "bench", MOX_BUF_INIT, MOX_BUF_INIT};
    struct job ed = {NULL, "ed", MOX_BUF_INIT, MOX_BUF_INIT};
    mox_buf pem = MOX_BUF_INIT;
    if (argc > 1) {
        mox_errinfo ei;
        if (read_file(argv[1], &pem) || mox_dkim_privkey_load(pem.data, pem.len, NULL, &rsa.key, &ei)) {
            fprintf(stderr, "cannot load %s\n", argv[1]);
            return 2;
        }
    } else if (mox_dkim_privkey_generate(MOX_DKIM_KEY_RSA, 2048, NULL, &rsa.key) ||
               mox_dkim_privkey_pem(rsa.key, &pem)) {
        fprintf(stderr, "key generation failed\n");
        return 1;
    }
    if (mox_dkim_privkey_generate(MOX_DKIM_KEY_ED25519, 0, NULL, &ed.key) ||
        mox_dkim_privkey_record(rsa.key, &rsa.record) || mox_dkim_privkey_record(ed.key, &ed.record))
        return 1;

    /* The floor uses the same RSA key, parsed by mbedTLS directly. */
    mbedtls_entropy_context ent;
    mbedtls_entropy_init(&ent);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_pk_init(&floor_pk);
    mox_buf_append_byte(&pem, 0);
    if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, (const unsigned char *)"f", 1) ||
        mbedtls_pk_parse_key(&floor_pk, pem.data, pem.len, NULL, 0) || sodium_init() < 0) {
        fprintf(stderr, "floor setup failed\n");
        return 1;
    }
    crypto_sign_keypair(ed_pk, ed_sk);
    floor_rsa_sign(NULL);
    floor_ed_sign(NULL);

    int rounds = mox_bench_rounds(5);
    double secs = mox_bench_seconds(1.0);
    printf("message %zu bytes, rsa-sha256 %u-bit relaxed/relaxed, ed25519-sha256, 8 signed headers\n",
           msg.len, mox_dkim_privkey_bits(rsa.key));
    /* interleaved, so drift on a shared machine hits both sides */
    double rs = mox_bench_run("libmox dkim sign rsa-sha256", do_sign, &rsa, secs, rounds);
    double frs = mox_bench_run("floor sign rsa (sha256 + mbedtls_pk_sign)", floor_rsa_sign, NULL, secs, rounds);
    double rv = mox_bench_run("libmox dkim verify rsa-sha256", do_verify, &rsa, secs, rounds);
    double frv = mox_bench_run("floor verify rsa (sha256 + mbedtls_pk_verify)", floor_rsa_verify, NULL, secs, rounds);
    double es = mox_bench_run("libmox dkim sign ed25519-sha256", do_sign, &ed, secs, rounds);
    double fes = mox_bench_run("floor sign ed25519 (sha256 + crypto_sign)", floor_ed_sign, NULL, secs, rounds);
    double ev = mox_bench_run("libmox dkim verify ed25519-sha256", do_verify, &ed, secs, rounds);
    double fev = mox_bench_run("floor verify ed25519 (sha256 + crypto_sign_verify)", floor_ed_verify, NULL, secs, rounds);
    printf("\nratios to the cryptographic floor (1.00 = no overhead):\n");
    mox_bench_ratio("sign rsa-sha256 / floor", rs, frs);
    mox_bench_ratio("verify rsa-sha256 / floor", rv, frv);
    mox_bench_ratio("sign ed25519-sha256 / floor", es, fes);
    mox_bench_ratio("verify ed25519-sha256 / floor", ev, fev);
    printf("summary: libmox sign %.0f/s, verify %.0f/s (rsa); sign %.0f/s, verify %.0f/s (ed25519)\n",
           rs, rv, es, ev);

    mbedtls_pk_free(&floor_pk);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&ent);
    mox_dkim_privkey_free(rsa.key);
    mox_dkim_privkey_free(ed.key);
    mox_buf_free(&rsa.record);
    mox_buf_free(&rsa.signed_msg);
    mox_buf_free(&ed.record);
    mox_buf_free(&ed.signed_msg);
    mox_buf_free(&pem);
    mox_buf_free(&msg);
    return 0;
}
