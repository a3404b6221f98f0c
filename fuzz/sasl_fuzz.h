/* Shared setup of the sasl_server and sasl_client harnesses (static
 * functions: each harness is its own program). */
#ifndef MOX_FUZZ_SASL_H
#define MOX_FUZZ_SASL_H

#include <stdint.h>
/* Setup of the sasl_server and sasl_client harnesses: a one-account
 * credential store whose SCRAM secrets use a single PBKDF2 iteration (so
 * an execution costs microseconds, not milliseconds), channels, and the
 * input format:
 *   line 1: mechanism name (unknown: PLAIN)
 *   next lines: one peer message each; "-" is "no data", "*" aborts (server
 *   harness), "@" is the message a real engine of the other side produces
 *   at that point, so the fuzzer can go deep into an exchange and then
 *   deviate. */

#include <string.h>

#include "mox/sasl.h"
#include "sasl/sasl_priv.h"

static int fz_bind(void *ctx, mox_sasl_cb_type t, unsigned char *out, size_t *len)
{
    (void)ctx;
    const char *v = t == MOX_SASL_CB_TLS_UNIQUE ? "unique-bytes" : "exporter-bytes-32-exporter-bytes";
    *len = strlen(v);
    memcpy(out, v, *len);
    return MOX_OK;
}

static mox_sasl_secrets fz_secrets;
static int fz_ready;

static void fz_scram(moxi_sasl_hash h, mox_sasl_scram_secret *sc)
{
    unsigned char salted[32];
    memcpy(sc->salt, "fuzzsalt", 8);
    sc->salt_len = 8;
    sc->iterations = 1;
    moxi_sasl_pbkdf2(h, "test1234", 8, sc->salt, 8, 1, salted);
    moxi_sasl_scram_keys(h, salted, NULL, sc->stored_key, sc->server_key);
    sc->present = 1;
}

static void fz_init(void)
{
    if (fz_ready)
        return;
    fz_secrets.size = sizeof fz_secrets;
    fz_scram(MOXI_SHA1, &fz_secrets.scram_sha1);
    fz_scram(MOXI_SHA256, &fz_secrets.scram_sha256);
    moxi_sasl_cram_state("test1234", 8, fz_secrets.cram_md5_inner, fz_secrets.cram_md5_outer);
    fz_secrets.cram_md5_present = 1;
    fz_ready = 1;
}

static int fz_lookup(void *ctx, const char *user, mox_sasl_secrets *out)
{
    (void)ctx;
    if (strcmp(user, "mjl") != 0)
        return MOX_ERR_NOTFOUND;
    size_t size = out->size;
    memcpy(out, &fz_secrets, size < sizeof fz_secrets ? size : sizeof fz_secrets);
    out->size = size;
    return MOX_OK;
}

static void fz_channel(mox_sasl_channel *c)
{
    mox_sasl_channel z = MOX_SASL_CHANNEL_INIT;
    *c = z;
    c->tls = 1;
    c->cb_types = MOX_SASL_CB_BIT(MOX_SASL_CB_TLS_UNIQUE) | MOX_SASL_CB_BIT(MOX_SASL_CB_TLS_EXPORTER);
    c->binding = fz_bind;
    c->external_identity = "mjl";
}

/* Next line of the input into p and n, advancing; 0 at the end. */
static int fz_line(const uint8_t **data, size_t *size, const uint8_t **p, size_t *n)
{
    if (*size == 0)
        return 0;
    const uint8_t *nl = memchr(*data, '\n', *size);
    size_t len = nl ? (size_t)(nl - *data) : *size;
    *p = *data;
    *n = len;
    *data += nl ? len + 1 : len;
    *size -= nl ? len + 1 : len;
    return 1;
}

static mox_sasl_mech fz_mech(const uint8_t *p, size_t n)
{
    mox_sasl_mech m = mox_sasl_mech_parse((const char *)p, n);
    return m == MOX_SASL_NONE ? MOX_SASL_PLAIN : m;
}

#endif
