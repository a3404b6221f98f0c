/* tls: configuration errors and argument checks (the handshake paths are
 * exercised by interop_tls.py against real peers). */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "moxtest.h"
#include "mox/tls.h"

static void t_config(void **st)
{
    (void)st;
    mox_tls_config *c = NULL;
    mox_errinfo ei;
    mox_tls_client_options o = MOX_TLS_CLIENT_OPTIONS_INIT;
    assert_int_equal(mox_tls_config_new_client(NULL, &o, &ei), MOX_ERR_INVAL);
    o.ca_file = "/nonexistent/ca.pem";
    assert_int_equal(mox_tls_config_new_client(&c, &o, &ei), MOX_ERR_IO);
    assert_non_null(strstr(ei.msg, "/nonexistent/ca.pem"));
    assert_null(c);
    o.ca_file = NULL;
    o.cert_file = "x.pem";
    assert_int_equal(mox_tls_config_new_client(&c, &o, &ei), MOX_ERR_INVAL);
    o.cert_file = NULL;
    o.min_version = 0x0301;
    assert_int_equal(mox_tls_config_new_client(&c, &o, &ei), MOX_ERR_UNSUPPORTED);
    o.min_version = MOX_TLS_VERSION_1_2;
    /* The system bundle loads. */
    assert_int_equal(mox_tls_config_new_client(&c, &o, &ei), MOX_OK);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    mox_tls *t = NULL;
    /* Verifying needs a name, and cannot check an IP address. */
    assert_int_equal(mox_tls_new(&t, c, sv[0], NULL, &ei), MOX_ERR_INVAL);
    assert_int_equal(mox_tls_new(&t, c, sv[0], "192.0.2.1", &ei), MOX_ERR_UNSUPPORTED);
    assert_int_equal(mox_tls_new(&t, c, sv[0], "::1", &ei), MOX_ERR_UNSUPPORTED);
    assert_int_equal(mox_tls_new(&t, c, sv[0], "mail.example", &ei), MOX_OK);
    unsigned char b[32];
    size_t bl;
    assert_int_equal(mox_tls_channel_binding(t, MOX_TLS_CB_EXPORTER, b, sizeof b, &bl),
                     MOX_ERR_STATE);
    assert_int_equal(mox_tls_read(t, b, sizeof b), MOX_ERR_STATE);
    /* The peer closes during the handshake: an I/O error, not a crash. */
    close(sv[1]);
    assert_int_equal(mox_tls_handshake(t, &ei), MOX_ERR_IO);
    mox_tls_free(t);
    close(sv[0]);
    mox_tls_config_free(c);
    mox_tls_config_free(NULL);
    mox_tls_free(NULL);

    /* Garbage from the "server": a handshake failure. */
    o.insecure = 1;
    assert_int_equal(mox_tls_config_new_client(&c, &o, &ei), MOX_OK);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(mox_tls_new(&t, c, sv[0], "192.0.2.1", &ei), MOX_OK);
    const char junk[] = "220 mx.example ESMTP not TLS\r\n";
    assert_int_equal(write(sv[1], junk, sizeof junk - 1), (ssize_t)(sizeof junk - 1));
    int rc = mox_tls_handshake(t, &ei);
    assert_true(rc == MOX_ERR_CRYPTO || rc == MOX_ERR_IO);
    mox_tls_free(t);
    close(sv[0]);
    close(sv[1]);
    mox_tls_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(t_config)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
