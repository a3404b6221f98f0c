/* Fuzz a whole verification: the message goes through the verifier in
 * chunks whose size the first byte picks, every key lookup is answered
 * from a fixed key set (RSA 1024, Ed25519, revoked, malformed, SERVFAIL,
 * NXDOMAIN, two records) according to the selector's first letter. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mox/dkim.h"

static const char *const keys[] = {
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB",
    "v=DKIM1; k=ed25519; p=yi50DjK5O9pqbFpNHklsv9lqaS0ArSYu02qp1S0DW1Y=",
    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    "v=DKIM1; p=",
    "v=DKIM1; k=rsa; h=sha1; t=s; p=MIGJAoGBALVI635dLK4cJJAH3Lx6upo3X/Lm1tQz3mezcWTA3BUBnyIsdnRf57aD5BtNmhPrYYDlWlzw3UgnKisIxktkk5+iMQMlFtAS10JB8L3YadXNJY+JBcbeSi5TgJe4WFzNgW95FWDAuSTRXSWZfA/8xjflbTLDx0euFZOM7C4T0GwLAgMBAAE=",
    "v=DKIM1; k=rsa; p=AAAA",
};

static int64_t wall(void *ctx)
{
    (void)ctx;
    return 4000000000LL * 1000000000LL;
}

static int answer_all(mox_dkim_verifier *v)
{
    const char *name;
    int rc = MOX_OK;
    while (rc == MOX_OK && mox_dkim_verifier_next_query(v, &name) == MOX_OK) {
        size_t which = (unsigned char)name[0] % 9;
        if (which < 6) {
            const char *t = keys[which];
            size_t tl = strlen(t);
            rc = mox_dkim_verifier_answer_txt(v, name, 0, &t, &tl, 1);
        } else if (which == 6) {
            const char *t[2] = {keys[0], keys[1]};
            size_t tl[2] = {strlen(keys[0]), strlen(keys[1])};
            rc = mox_dkim_verifier_answer_txt(v, name, 0, t, tl, 2);
        } else {
            rc = mox_dkim_verifier_answer_txt(v, name, which == 7 ? 2 : 3, NULL, NULL, 0);
        }
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] * 7 + 1;
    data++;
    size--;
    static mox_clock clk = {sizeof(mox_clock), NULL, wall, NULL};
    static mox_env env = {sizeof(mox_env), NULL, NULL, &clk, NULL};
    mox_dkim_verify_config cfg = MOX_DKIM_VERIFY_CONFIG_INIT;
    cfg.env = &env;
    cfg.max_header_bytes = 64 * 1024;
    cfg.allow_rsa_sha1 = size & 1;
    mox_dkim_verifier *v;
    if (mox_dkim_verifier_new(&v, &cfg))
        return 0;
    int rc = MOX_OK;
    for (size_t off = 0; off < size && rc == MOX_OK; off += chunk) {
        rc = mox_dkim_verifier_feed(v, data + off, size - off < chunk ? size - off : chunk);
        if (rc == MOX_OK)
            rc = answer_all(v);
    }
    if (rc == MOX_OK) {
        rc = mox_dkim_verifier_end(v);
        /* A message without an empty line has its signatures (and so its
         * lookups) known only now. */
        if (rc == MOX_OK)
            rc = answer_all(v);
        if (rc == MOX_OK && !mox_dkim_verifier_done(v))
            abort();
    }
    if (rc != MOX_OK && rc != MOX_ERR_LIMIT)
        abort();
    if (rc == MOX_OK) {
        for (size_t i = 0; i < mox_dkim_verifier_count(v); i++) {
            const mox_dkim_result *r = mox_dkim_verifier_result(v, i);
            if (!r || r->status < MOX_DKIM_PASS || r->status > MOX_DKIM_PERMERROR || !r->reason)
                abort();
        }
    }
    mox_dkim_verifier_free(v);
    return 0;
}
