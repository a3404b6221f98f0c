/* Fuzzes the SASL client engine of every mechanism with sequences of
 * server messages (input format in sasl_fuzz.h). */
#include <stdint.h>
#include <stdlib.h>

#include "sasl_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    const uint8_t *p;
    size_t n;
    if (!fz_line(&data, &size, &p, &n))
        return 0;
    mox_sasl_mech mech = fz_mech(p, n);
    mox_sasl_channel ch;
    fz_channel(&ch);
    mox_sasl_credentials cr = MOX_SASL_CREDENTIALS_INIT;
    cr.lookup = fz_lookup;
    mox_sasl_server_config sc = MOX_SASL_SERVER_CONFIG_INIT;
    sc.creds = &cr;
    sc.channel = &ch;
    mox_sasl_client_config cc = MOX_SASL_CLIENT_CONFIG_INIT;
    cc.username = "mjl";
    cc.password = "test1234";
    cc.authzid = "mjl";
    cc.channel = &ch;
    cc.min_iterations = 1;
    cc.max_iterations = 64; /* bounds the PBKDF2 work per execution */
    cc.max_input = 1024;
    mox_sasl_server *s = NULL;
    mox_sasl_client *c = NULL;
    if (mox_sasl_server_new(&s, mech, &sc) != MOX_OK)
        abort();
    if (mox_sasl_client_new(&c, mech, &cc, NULL) != MOX_OK)
        abort();
    const unsigned char *out, *so;
    size_t outlen, solen;
    int st = mox_sasl_client_step(c, NULL, 0, &out, &outlen);
    if (st < 0)
        abort();
    mox_buf resp = MOX_BUF_INIT;
    int have = mox_sasl_client_has_initial(c);
    if (mox_buf_append(&resp, out, outlen) != MOX_OK)
        goto done;
    int ss = MOX_SASL_CONTINUE, srv_first = 1;
    while (st == MOX_SASL_CONTINUE && fz_line(&data, &size, &p, &n)) {
        const void *in = p;
        size_t inlen = n;
        if (n == 1 && p[0] == '-') {
            in = NULL;
            inlen = 0;
        } else if (n == 1 && p[0] == '@') {
            /* What a real server answers to our last message. */
            if (ss != MOX_SASL_CONTINUE)
                break;
            ss = mox_sasl_server_step(s, srv_first && !have ? NULL : resp.data,
                                      srv_first && !have ? 0 : resp.len, &so, &solen);
            srv_first = 0;
            in = ss > 0 ? so : (const unsigned char *)"";
            inlen = ss > 0 ? solen : 0;
        }
        st = mox_sasl_client_step(c, in, inlen, &out, &outlen);
        if (st < 0 && st != MOX_ERR_NOMEM)
            abort();
        mox_buf_reset(&resp);
        if (st > 0 && mox_buf_append(&resp, out, outlen) != MOX_OK)
            break;
        have = 1;
    }
    if (st == MOX_SASL_FAILURE && mox_sasl_client_failure(c) == MOX_SASL_FAIL_NONE)
        abort();
    if (st == MOX_SASL_SUCCESS && !mox_sasl_client_complete(c))
        abort();
done:
    mox_buf_free(&resp);
    mox_sasl_server_free(s);
    mox_sasl_client_free(c);
    return 0;
}
