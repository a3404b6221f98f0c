/* The TLS engine under the generic driver (tests/support/enginedrv.h):
 * recorded handshakes (fuzz/corpus/tls_server/handshake: a client's bytes;
 * fuzz/corpus/tls_client/handshake: a server's), replayed into a server
 * and a client engine with input split at random points and output taken
 * in random pieces. With the fixed random generator and clock of
 * fuzz/tls_fuzz.h the engine is a function of its input: every split must
 * give the same output bytes and end the same way (handshake done, the
 * peer's close_notify answered). */
#include <stdio.h>
#include <stdlib.h>

#include "moxtest.h"
#include "enginedrv.h"
#include "tls_fuzz.h"

static void load(const char *rel, mox_buf *out)
{
    const char *data = getenv("MOX_TEST_DATA");
    assert_non_null(data);
    char path[1024];
    snprintf(path, sizeof path, "%s/../../fuzz/corpus/%s", data, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    unsigned char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        assert_int_equal(mox_buf_append(out, buf, n), MOX_OK);
    fclose(f);
    assert_true(out->len > 2);
}

static void replay(mox_tls_config *cfg, const char *rel)
{
    mox_buf in = MOX_BUF_INIT, first = MOX_BUF_INIT;
    load(rel, &in);
    static const size_t chunks[] = {0, 1, 3, 7, 100, 1000};
    for (unsigned seed = 1; seed <= 24; seed++) {
        mox_tls *t = moxf_engine(cfg);
        moxtest_drive d;
        memset(&d, 0, sizeof d);
        d.seed = seed;
        d.max_chunk = chunks[seed % 6];
        d.input = in.data + 2; /* after the harness's split seed */
        d.input_len = in.len - 2;
        d.eof = 1;
        assert_int_equal(moxtest_drive_run(mox_tls_engine(t), &d), MOX_OK);
        if (d.final_want != (MOX_WANT_DONE | MOX_WANT_CLOSED))
            fail_msg("%s seed %u: want %s, %s", rel, seed, mox_want_name(d.final_want),
                     mox_tls_error(t)->msg);
        assert_int_equal(mox_tls_error(t)->code, MOX_OK);
        assert_int_equal(d.fed, in.len - 2);
        assert_int_equal(d.ticks, 0);
        char buf[64];
        int64_t n = mox_tls_read(t, buf, sizeof buf);
        assert_int_equal(n, 8); /* the peer's one line */
        assert_int_equal(mox_tls_read(t, buf, sizeof buf), 0);
        if (seed == 1) {
            assert_int_equal(mox_buf_append(&first, d.output.data, d.output.len), MOX_OK);
        } else {
            assert_int_equal(d.output.len, first.len);
            assert_memory_equal(d.output.data, first.data, first.len);
        }
        mox_buf_free(&d.output);
        mox_tls_free(t);
    }
    mox_buf_free(&first);
    mox_buf_free(&in);
}

static void t_server_replay(void **st)
{
    (void)st;
    mox_tls_config *cfg = moxf_server_config();
    replay(cfg, "tls_server/handshake");
    mox_tls_config_free(cfg);
}

static void t_client_replay(void **st)
{
    (void)st;
    mox_tls_config *cfg = moxf_client_config();
    replay(cfg, "tls_client/handshake");
    mox_tls_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_server_replay),
        cmocka_unit_test(t_client_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
