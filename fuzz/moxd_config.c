/* moxd's configuration loader and validator (examples/moxd/config.c) on
 * arbitrary YAML. Invariants: no crash, no leak; success means no output;
 * failure means at least one line, and every line is "FILE:LINE: problem"
 * with LINE a number and a non-empty problem (no embedded control bytes
 * can split a line, since output is read line by line). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "moxd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char path[128];

static void put(const char *name, const void *p, size_t n)
{
    char fn[192];
    snprintf(fn, sizeof fn, "%s/%s", dir, name);
    FILE *f = fopen(fn, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n))
        abort();
    fclose(f);
}

/* The files the seed configurations name (localserve's and the docs'
 * example), so that inputs near them can validate completely. */
static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/fuzz_moxd_config.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/moxd.conf", dir);
    const char *names[] = {"localhost", "mail.example.org"};
    mox_buf cert = MOX_BUF_INIT, key = MOX_BUF_INIT, dk = MOX_BUF_INIT;
    mox_dkim_privkey *k = NULL;
    if (mox_tls_selfsigned(names, 2, 0, &cert, &key, NULL) != MOX_OK ||
        mox_dkim_privkey_generate(MOX_DKIM_KEY_ED25519, 0, NULL, &k) != MOX_OK ||
        mox_dkim_privkey_pem(k, &dk) != MOX_OK)
        abort();
    put("cert.pem", cert.data, cert.len);
    put("client.pem", cert.data, cert.len);
    put("key.pem", key.data, key.len);
    put("dkim-localhost-rsa.pem", dk.data, dk.len);
    put("dkim-s1.pem", dk.data, dk.len);
    static const char zone[] = "$ORIGIN localhost.\n@ IN A 127.0.0.1\n@ IN TXT \"v=spf1 -all\"\n";
    put("localserve.zone", zone, sizeof zone - 1);
    put("test.zone", zone, sizeof zone - 1);
    mox_buf_free(&cert);
    mox_buf_free(&key);
    mox_buf_free(&dk);
    mox_dkim_privkey_free(k);
}

static void check_lines(const char *out, size_t len)
{
    size_t plen = strlen(path);
    const char *p = out, *end = out + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            abort(); /* every line ends in \n */
        if ((size_t)(nl - p) < plen + 4 || memcmp(p, path, plen) || p[plen] != ':')
            abort();
        const char *q = p + plen + 1;
        if (q >= nl || *q < '0' || *q > '9')
            abort();
        while (q < nl && *q >= '0' && *q <= '9')
            q++;
        if (nl - q < 3 || q[0] != ':' || q[1] != ' ')
            abort();
        for (const char *c = q; c < nl; c++)
            if ((unsigned char)*c < 0x20)
                abort();
        p = nl + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    if (!dir[0])
        setup(); /* relative paths in the input resolve in this directory */
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    char *out = NULL;
    size_t outlen = 0;
    FILE *errs = open_memstream(&out, &outlen);
    if (!errs)
        abort();
    moxd_config *c = NULL;
    int rc = moxd_config_load(path, &c, errs);
    fclose(errs);
    if ((rc == 0) != (c != NULL))
        abort();
    if (rc == 0 && outlen)
        abort();
    if (rc != 0 && outlen == 0)
        abort();
    check_lines(out, outlen);
    free(out);
    moxd_config_free(c);
    return 0;
}
