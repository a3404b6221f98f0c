/* Fuzzes the SASL server engine of every mechanism with sequences of
 * client messages (input format in sasl_fuzz.h). */
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
    sc.max_input = 1024;
    sc.unknown_user_iterations = 1;
    sc.unknown_user_key = (const unsigned char *)"k";
    sc.unknown_user_key_len = 1;
    mox_sasl_client_config cc = MOX_SASL_CLIENT_CONFIG_INIT;
    cc.username = "mjl";
    cc.password = "test1234";
    cc.channel = &ch;
    cc.min_iterations = 1;
    mox_sasl_server *s = NULL;
    mox_sasl_client *c = NULL;
    if (mox_sasl_server_new(&s, mech, &sc) != MOX_OK)
        abort();
    if (mox_sasl_client_new(&c, mech, &cc, NULL) != MOX_OK)
        abort();
    const unsigned char *out = NULL, *co;
    size_t outlen = 0, colen;
    int first = 1, st = MOX_SASL_CONTINUE;
    mox_buf chal = MOX_BUF_INIT;
    while (st == MOX_SASL_CONTINUE && fz_line(&data, &size, &p, &n)) {
        const void *in = p;
        size_t inlen = n;
        if (n == 1 && p[0] == '-') {
            in = NULL;
            inlen = 0;
        } else if (n == 1 && p[0] == '*') {
            st = mox_sasl_server_abort(s);
            if (st != MOX_SASL_FAILURE || mox_sasl_server_failure(s) != MOX_SASL_FAIL_ABORTED)
                abort();
            break;
        } else if (n == 1 && p[0] == '@') {
            int cs = first ? mox_sasl_client_step(c, NULL, 0, &co, &colen)
                           : mox_sasl_client_step(c, chal.data ? chal.data : (const unsigned char *)"",
                                                  chal.len, &co, &colen);
            in = cs > 0 ? co : (const unsigned char *)"";
            inlen = cs > 0 ? colen : 0;
            if (first && cs > 0 && !mox_sasl_client_has_initial(c))
                in = NULL;
        }
        first = 0;
        st = mox_sasl_server_step(s, in, inlen, &out, &outlen);
        if (st < 0 && st != MOX_ERR_NOMEM)
            abort();
        mox_buf_reset(&chal);
        if (outlen && mox_buf_append(&chal, out, outlen) != MOX_OK)
            break;
    }
    /* Invariants: success names an identity, failure a reason. */
    if (st == MOX_SASL_SUCCESS && (!mox_sasl_server_authcid(s) || !mox_sasl_server_authzid(s)))
        abort();
    if (st == MOX_SASL_FAILURE && mox_sasl_server_failure(s) == MOX_SASL_FAIL_NONE)
        abort();
    if (st == MOX_SASL_SUCCESS && mech != MOX_SASL_EXTERNAL &&
        strcmp(mox_sasl_server_authcid(s), "mjl") != 0)
        abort();
    mox_buf_free(&chal);
    mox_sasl_server_free(s);
    mox_sasl_client_free(c);
    return 0;
}
