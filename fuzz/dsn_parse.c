/* Fuzzes the DSN parser: every exposed string is control-free and
 * NUL-terminated, the returned original lies inside the input, and what
 * was parsed composes into a DSN that parses again to the same recipients. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mox/dsn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s)
{
    if (!s)
        return;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mox_dsn *d = NULL;
    mox_errinfo ei;
    int rc = mox_dsn_parse(data, size, NULL, &d, &ei);
    if (rc) {
        if (d || ei.code != rc)
            abort();
        return 0;
    }
    const mox_dsn_report *r = mox_dsn_get(d);
    if (!r || r->nrcpts == 0 || !r->reporting_mta || !*r->reporting_mta)
        abort();
    if (r->original_offset + r->original_len > size)
        abort();
    check_str(r->reporting_mta);
    check_str(r->original_envid);
    check_str(r->received_from_mta);
    check_str(r->original_message_id);
    for (size_t i = 0; i < r->nrcpts; i++) {
        const mox_dsn_recipient *x = &r->rcpts[i];
        if (!x->final_recipient || !*x->final_recipient)
            abort();
        check_str(x->final_recipient);
        check_str(x->original_recipient);
        check_str(x->status);
        check_str(x->diagnostic);
        check_str(x->remote_mta);
    }
    /* Compose from what was parsed (recipients with a known action and a
     * status), then parse that again. */
    mox_dsn_recipient *rc2 = calloc(r->nrcpts, sizeof *rc2);
    size_t n = 0;
    for (size_t i = 0; i < r->nrcpts && rc2; i++) {
        if (!r->rcpts[i].status || !mox_dsn_action_name(r->rcpts[i].action))
            continue;
        rc2[n] = r->rcpts[i];
        rc2[n].final_type = NULL;
        rc2[n].remote_mta = NULL;
        rc2[n].diagnostic_type = NULL;
        n++;
    }
    if (n) {
        mox_dsn_compose_params p = MOX_DSN_COMPOSE_PARAMS_INIT;
        p.reporting_mta = "fuzz.example";
        p.to = "x@fuzz.example";
        p.smtputf8 = 1;
        p.rcpts = rc2;
        p.nrcpts = n;
        p.original = data + r->original_offset;
        p.original_len = r->original_len;
        p.ret = MOX_DSN_RETURN_FULL;
        mox_buf out = MOX_BUF_INIT;
        if (mox_dsn_compose(&p, &out, NULL) == MOX_OK) {
            mox_dsn *d2 = NULL;
            if (mox_dsn_parse(out.data, out.len, NULL, &d2, NULL) != MOX_OK)
                abort();
            const mox_dsn_report *r2 = mox_dsn_get(d2);
            if (r2->nrcpts != n)
                abort();
            for (size_t i = 0; i < n; i++)
                if (r2->rcpts[i].action != rc2[i].action ||
                    strcmp(r2->rcpts[i].status, rc2[i].status))
                    abort();
            mox_dsn_free(d2);
        }
        mox_buf_free(&out);
    }
    free(rc2);
    mox_dsn_free(d);
    return 0;
}
