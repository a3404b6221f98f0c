/* SCRAM message syntax shared by the server and client (RFC 5802 §7). */
#include <string.h>

#include "mox/text.h"
#include "sasl_priv.h"

int moxi_sasl_saslname_decode(const char *s, size_t len, char **out)
{
    mox_buf b = MOX_BUF_INIT;
    int rc = MOX_OK;
    *out = NULL;
    for (size_t i = 0; i < len && rc == MOX_OK; i++) {
        char c = s[i];
        if (c == ',' || c == 0) {
            rc = MOX_ERR_SYNTAX;
        } else if (c == '=') {
            if (i + 2 < len && s[i + 1] == '2' && s[i + 2] == 'C')
                c = ',';
            else if (i + 2 < len && s[i + 1] == '3' && s[i + 2] == 'D')
                c = '=';
            else
                rc = MOX_ERR_SYNTAX;
            i += 2;
            if (rc == MOX_OK)
                rc = mox_buf_append_byte(&b, (unsigned char)c);
        } else {
            rc = mox_buf_append_byte(&b, (unsigned char)c);
        }
    }
    if (rc == MOX_OK && b.len == 0)
        rc = MOX_ERR_SYNTAX;
    if (rc == MOX_OK)
        rc = moxi_sasl_prepare_username((const char *)b.data, b.len, out);
    mox_buf_free(&b);
    return rc;
}

int moxi_sasl_saslname_encode(const char *s, mox_buf *out)
{
    int rc = MOX_OK;
    for (; *s && rc == MOX_OK; s++) {
        if (*s == ',')
            rc = mox_buf_append(out, "=2C", 3);
        else if (*s == '=')
            rc = mox_buf_append(out, "=3D", 3);
        else
            rc = mox_buf_append_byte(out, (unsigned char)*s);
    }
    return rc;
}

int moxi_sasl_scram_split(const char *s, size_t len, moxi_scram_attr *attrs, int max)
{
    int n = 0;
    size_t i = 0;
    for (;;) {
        size_t st = i;
        while (i < len && s[i] != ',')
            i++;
        if (n >= max)
            return -1;
        if (i - st < 2 || !moxi_is_alpha((unsigned char)s[st]) || s[st + 1] != '=')
            return -1;
        attrs[n].name = s[st];
        attrs[n].val = s + st + 2;
        attrs[n].len = i - st - 2;
        n++;
        if (i == len)
            return n;
        i++; /* ',' — a trailing comma yields an empty element, refused above */
    }
}

int moxi_sasl_scram_nonce_ok(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e || c == ',')
            return 0;
    }
    return 1;
}

int moxi_sasl_parse_u32(const char *s, size_t len, uint32_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 10 || (s[0] == '0'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!moxi_is_digit((unsigned char)s[i]))
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return 0;
    *out = (uint32_t)v;
    return 1;
}

int moxi_sasl_nonce(const mox_env *env, mox_buf *out)
{
    unsigned char r[18];
    int rc = mox_random_fill(env ? env->random : NULL, r, sizeof r);
    if (rc == MOX_OK)
        rc = mox_base64_encode(r, sizeof r, out);
    moxi_sasl_wipe(r, sizeof r);
    return rc;
}
