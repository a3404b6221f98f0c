/* SASL costs: a SCRAM-SHA-256 authentication on the server with stored
 * secrets (a handful of HMACs, no PBKDF2) against the PBKDF2 a client (or
 * a derivation) pays at the default 4096 iterations; plus PLAIN checked
 * against stored SCRAM secrets and deriving a full secret set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>

#include "bench.h"
#include "mox/sasl.h"

static mox_sasl_secrets secrets;
static char cfirst[128], cfinal[256];

static int lookup(void *ctx, const char *user, mox_sasl_secrets *out)
{
    (void)ctx;
    if (strcmp(user, "mjl") != 0)
        return MOX_ERR_NOTFOUND;
    size_t size = out->size;
    memcpy(out, &secrets, size < sizeof secrets ? size : sizeof secrets);
    out->size = size;
    return MOX_OK;
}

static mox_sasl_credentials creds = {sizeof(mox_sasl_credentials), NULL, lookup, NULL, NULL};

static void server_config(mox_sasl_server_config *c)
{
    mox_sasl_server_config z = MOX_SASL_SERVER_CONFIG_INIT;
    *c = z;
    c->creds = &creds;
    c->fixed_nonce = "benchserver"; /* so the precomputed client-final fits */
    c->unknown_user_key = (const unsigned char *)"bench";
    c->unknown_user_key_len = 5;
}

/* Server side of one SCRAM-SHA-256 exchange with stored secrets. */
static int scram_server(void *arg)
{
    (void)arg;
    mox_sasl_server_config c;
    server_config(&c);
    mox_sasl_server *s;
    const unsigned char *o;
    size_t n;
    int rc = mox_sasl_server_new(&s, MOX_SASL_SCRAM_SHA_256, &c);
    if (rc != MOX_OK)
        return rc;
    rc = mox_sasl_server_step(s, cfirst, strlen(cfirst), &o, &n) == MOX_SASL_CONTINUE &&
                 mox_sasl_server_step(s, cfinal, strlen(cfinal), &o, &n) == MOX_SASL_SUCCESS
             ? 0
             : 1;
    mox_sasl_server_free(s);
    return rc;
}

/* Client and server together: the client pays one PBKDF2. */
static int scram_both(void *arg)
{
    (void)arg;
    mox_sasl_server_config sc;
    server_config(&sc);
    sc.fixed_nonce = NULL;
    mox_sasl_client_config cc = MOX_SASL_CLIENT_CONFIG_INIT;
    cc.username = "mjl";
    cc.password = "test1234";
    mox_sasl_server *s;
    mox_sasl_client *c;
    if (mox_sasl_server_new(&s, MOX_SASL_SCRAM_SHA_256, &sc) != MOX_OK)
        return 1;
    if (mox_sasl_client_new(&c, MOX_SASL_SCRAM_SHA_256, &cc, NULL) != MOX_OK)
        return 1;
    const unsigned char *o, *so;
    size_t n, sn;
    int ok = mox_sasl_client_step(c, NULL, 0, &o, &n) == MOX_SASL_CONTINUE &&
             mox_sasl_server_step(s, o, n, &so, &sn) == MOX_SASL_CONTINUE &&
             mox_sasl_client_step(c, so, sn, &o, &n) == MOX_SASL_CONTINUE &&
             mox_sasl_server_step(s, o, n, &so, &sn) == MOX_SASL_SUCCESS &&
             mox_sasl_client_step(c, so, sn, &o, &n) == MOX_SASL_SUCCESS;
    mox_sasl_server_free(s);
    mox_sasl_client_free(c);
    return ok ? 0 : 1;
}

static int raw_pbkdf2(void *arg)
{
    (void)arg;
    unsigned char out[32];
    mbedtls_md_context_t ctx;
    mbedtls_md_init(&ctx);
    int rc = mbedtls_md_setup(&ctx, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
    if (rc == 0)
        rc = mbedtls_pkcs5_pbkdf2_hmac(&ctx, (const unsigned char *)"test1234", 8,
                                       secrets.scram_sha256.salt, secrets.scram_sha256.salt_len,
                                       MOX_SASL_DEFAULT_ITERATIONS, 32, out);
    mbedtls_md_free(&ctx);
    return rc;
}

static int plain_verify(void *arg)
{
    (void)arg;
    return mox_sasl_verify_password(&secrets, "test1234", 8);
}

static int derive_all(void *arg)
{
    (void)arg;
    mox_sasl_secrets s = MOX_SASL_SECRETS_INIT;
    int rc = mox_sasl_secrets_derive("test1234", 8, NULL, &s, NULL);
    mox_sasl_secrets_wipe(&s);
    return rc;
}

int main(void)
{
    secrets.size = sizeof secrets;
    if (mox_sasl_secrets_derive("test1234", 8, NULL, &secrets, NULL) != MOX_OK)
        return 1;
    /* Precompute the client's messages against the fixed server nonce. */
    mox_sasl_client_config cc = MOX_SASL_CLIENT_CONFIG_INIT;
    cc.username = "mjl";
    cc.password = "test1234";
    cc.fixed_nonce = "benchclient";
    mox_sasl_client *c;
    mox_sasl_server *s;
    mox_sasl_server_config sc;
    server_config(&sc);
    const unsigned char *o, *so;
    size_t n, sn;
    if (mox_sasl_client_new(&c, MOX_SASL_SCRAM_SHA_256, &cc, NULL) != MOX_OK ||
        mox_sasl_server_new(&s, MOX_SASL_SCRAM_SHA_256, &sc) != MOX_OK)
        return 1;
    mox_sasl_client_step(c, NULL, 0, &o, &n);
    snprintf(cfirst, sizeof cfirst, "%.*s", (int)n, (const char *)o);
    mox_sasl_server_step(s, o, n, &so, &sn);
    mox_sasl_client_step(c, so, sn, &o, &n);
    snprintf(cfinal, sizeof cfinal, "%.*s", (int)n, (const char *)o);
    mox_sasl_client_free(c);
    mox_sasl_server_free(s);

    int rounds = mox_bench_rounds(5);
    double secs = mox_bench_seconds(0.5);
    printf("iterations: %u (default)\n", MOX_SASL_DEFAULT_ITERATIONS);
    double srv = mox_bench_run("SCRAM-SHA-256 server exchange (stored secrets)", scram_server,
                               NULL, secs, rounds);
    double pb = mox_bench_run("raw PBKDF2-HMAC-SHA-256", raw_pbkdf2, NULL, secs, rounds);
    double both = mox_bench_run("SCRAM-SHA-256 client+server exchange", scram_both, NULL, secs,
                                rounds);
    double pv = mox_bench_run("PLAIN verify against stored SCRAM-SHA-256", plain_verify, NULL,
                              secs, rounds);
    double dv = mox_bench_run("derive SCRAM-SHA-1 + SCRAM-SHA-256 + CRAM-MD5", derive_all, NULL,
                              secs, rounds);
    printf("server exchange: %.1f us; PBKDF2: %.1f us; client+server: %.1f us; "
           "PLAIN verify: %.1f us; derive all: %.1f us\n",
           1e6 / srv, 1e6 / pb, 1e6 / both, 1e6 / pv, 1e6 / dv);
    mox_bench_ratio("server exchange vs one PBKDF2 (x faster)", srv, pb);
    mox_sasl_secrets_wipe(&secrets);
    return 0;
}
