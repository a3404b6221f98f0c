/* Fuzz harness: SPF record parser and macro expander.
 * Input: "SENDER\nIP\nRECORD" (missing lines get defaults). The record is
 * parsed and formatted; every domain-spec and modifier value is expanded
 * as a domain and as explanation text, and the record text itself is
 * expanded as an explanation, with the fuzzer-chosen sender and IP. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mox/spf.h"

static const char *line(const uint8_t **p, const uint8_t *end, char *buf, size_t bufsz)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    if (n >= bufsz)
        n = bufsz - 1;
    memcpy(buf, *p, n);
    buf[n] = 0;
    *p = nl ? nl + 1 : end;
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    char sender[1100], ip[64];
    line(&p, end, sender, sizeof sender);
    line(&p, end, ip, sizeof ip);
    mox_spf_macro_vars v = MOX_SPF_MACRO_VARS_INIT;
    v.sender = sender;
    v.ip = ip;
    v.helo = "helo.example";
    v.domain = "example.com";
    v.ptr = size & 1 ? "ptr.example.com" : NULL;
    v.timestamp = 1234567890;
    mox_buf out = MOX_BUF_INIT;
    mox_errinfo ei;
    if (mox_spf_expand((const char *)p, (size_t)(end - p), &v, MOX_SPF_EXPAND_EXP, 0, &out,
                       &ei) == MOX_ERR_INVAL)
        v.ip = "192.0.2.1";
    mox_buf_reset(&out);
    mox_spf_expand((const char *)p, (size_t)(end - p), &v, MOX_SPF_EXPAND_EXP, 0, &out, &ei);
    if (out.len > 4096)
        abort();
    mox_spf_record *r = NULL;
    if (mox_spf_record_parse((const char *)p, (size_t)(end - p), &r, &ei) == MOX_OK) {
        mox_buf_reset(&out);
        mox_spf_record_format(r, &out);
        /* The normal form parses again to the same number of terms. */
        mox_spf_record *r2 = NULL;
        if (mox_spf_record_parse((const char *)out.data, out.len, &r2, NULL) != MOX_OK ||
            mox_spf_record_count(r2) != mox_spf_record_count(r))
            abort();
        mox_spf_record_free(r2);
        for (size_t i = 0; i < mox_spf_record_count(r); i++) {
            const mox_spf_term *t = mox_spf_record_term(r, i);
            if (!t->spec)
                continue;
            mox_buf_reset(&out);
            int rc = mox_spf_expand(t->spec, t->spec_len, &v, MOX_SPF_EXPAND_DOMAIN, 0, &out, NULL);
            if (rc == MOX_OK && out.len > 253 && memchr(out.data, '.', out.len))
                abort(); /* truncation must have applied */
            mox_buf_reset(&out);
            mox_spf_expand(t->spec, t->spec_len, &v, MOX_SPF_EXPAND_EXP, 512, &out, NULL);
            if (out.len > 512)
                abort();
        }
    }
    mox_spf_record_free(r);
    mox_buf_free(&out);
    return 0;
}
