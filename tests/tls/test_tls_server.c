/* TLS server side: SNI selection and fallback, strict SNI, client
 * certificates by SPKI hash (also after ticket resumption), channel
 * bindings equal on both sides, failure classes, self-signed generation,
 * and an allocation-failure sweep over configuration. Client and server
 * run in one process over a socketpair, the server in a thread. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "moxtest.h"
#include "mox/tls.h"

/* Plain malloc copies: the allocation-failure sweep swaps allocators, so
 * nothing made by mox_malloc may live across tests. */
typedef struct blob {
    unsigned char *data;
    size_t len;
} blob;

static blob certA, keyA, certB, keyB, certC, keyC;

static void copy(blob *d, const mox_buf *b)
{
    d->data = malloc(b->len + 1);
    memcpy(d->data, b->data, b->len + 1);
    d->len = b->len;
}

static void gen(const char *const *names, size_t n, blob *c, blob *k)
{
    mox_errinfo ei;
    mox_buf cb = MOX_BUF_INIT, kb = MOX_BUF_INIT;
    assert_int_equal(mox_tls_selfsigned(names, n, 30, &cb, &kb, &ei), MOX_OK);
    copy(c, &cb);
    copy(k, &kb);
    mox_buf_free(&cb);
    mox_buf_free(&kb);
}

static int setup(void **st)
{
    (void)st;
    static const char *const a[] = {"mail.example.org", "127.0.0.1"};
    static const char *const b[] = {"*.example.net"};
    static const char *const c[] = {"client"};
    gen(a, 2, &certA, &keyA);
    gen(b, 1, &certB, &keyB);
    gen(c, 1, &certC, &keyC);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    free(certA.data);
    free(keyA.data);
    free(certB.data);
    free(keyB.data);
    free(certC.data);
    free(keyC.data);
    return 0;
}

static char tmpdir[] = "/tmp/mox-tls-srv-XXXXXX";
/* Whether tmpdir was created: its random suffix may itself end in 'X',
 * so the template cannot tell. */
static int tmpdir_made;

static const char *write_tmp(const char *name, const blob *b)
{
    static char path[8][300];
    static int i;
    if (!tmpdir_made) {
        assert_non_null(mkdtemp(tmpdir));
        tmpdir_made = 1;
    }
    char *p = path[i++ % 8];
    snprintf(p, 300, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fwrite(b->data, 1, b->len, f);
    fclose(f);
    return p;
}

typedef struct srv_arg {
    mox_tls_config *cfg;
    int fd;
    int rc;
    char sni[256];
    char failure[64];
    int have_spki;
    unsigned char spki[32];
    int resumed;
    unsigned char unique[64], exporter[64];
    size_t unique_len, exporter_len;
} srv_arg;

static void *server_thread(void *p)
{
    srv_arg *a = p;
    mox_tls_socket *s = NULL;
    a->rc = mox_tls_socket_new(&s, a->cfg, a->fd, NULL, NULL);
    if (a->rc == MOX_OK)
        a->rc = mox_tls_socket_handshake(s, NULL);
    if (s)
        snprintf(a->failure, sizeof a->failure, "%s", mox_tls_failure(mox_tls_socket_tls(s)));
    if (a->rc == MOX_OK) {
        mox_tls_info info = MOX_TLS_INFO_INIT;
        mox_tls_get_info(mox_tls_socket_tls(s), &info);
        snprintf(a->sni, sizeof a->sni, "%s", info.sni ? info.sni : "");
        a->have_spki = info.peer_cert;
        memcpy(a->spki, info.peer_spki_sha256, 32);
        a->resumed = info.resumed;
        a->unique_len = info.tls_unique_len;
        memcpy(a->unique, info.tls_unique, info.tls_unique_len);
        a->exporter_len = info.tls_exporter_len;
        if (info.tls_exporter)
            memcpy(a->exporter, info.tls_exporter, info.tls_exporter_len);
        char buf[8];
        int64_t n = mox_tls_socket_read(s, buf, sizeof buf); /* the client's "ping" */
        if (n > 0)
            mox_tls_socket_write(s, buf, (size_t)n);
        mox_tls_socket_close(s);
    }
    mox_tls_socket_free(s);
    shutdown(a->fd, SHUT_RDWR);
    return NULL;
}

static mox_tls_config *server_cfg(int tickets, int client_certs, int strict)
{
    mox_tls_server_options o = MOX_TLS_SERVER_OPTIONS_INIT;
    o.hostname = "mail.example.org";
    o.session_tickets = tickets;
    o.request_client_cert = client_certs;
    o.strict_sni = strict;
    mox_tls_config *c = NULL;
    mox_errinfo ei;
    assert_int_equal(mox_tls_config_new_server(&c, &o, &ei), MOX_OK);
    /* B first: the fallback must still be A, by host name. */
    assert_int_equal(mox_tls_config_add_cert(c, certB.data, certB.len, keyB.data, keyB.len, &ei),
                     MOX_OK);
    assert_int_equal(mox_tls_config_add_cert(c, certA.data, certA.len, keyA.data, keyA.len, &ei),
                     MOX_OK);
    return c;
}

/* Configs made by client_cfg: verifying (a CA given) or not. */
static mox_tls_config *insecure_cfgs[8];

static int is_insecure(const mox_tls_config *c)
{
    for (size_t i = 0; i < 8; i++)
        if (insecure_cfgs[i] == c)
            return 1;
    return 0;
}

/* Runs one handshake; the client verifies against `ca` for `name` (or is
 * insecure with ca NULL). Returns the client's handshake result. */
static int connect_once(mox_tls_config *scfg, mox_tls_config *ccfg, const char *name,
                        srv_arg *a, unsigned char *cu, size_t *cul, int *cresumed)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    memset(a, 0, sizeof *a);
    a->cfg = scfg;
    a->fd = sv[1];
    pthread_t th;
    pthread_create(&th, NULL, server_thread, a);
    mox_tls_socket *t = NULL;
    mox_errinfo ei;
    mox_tls_request req = MOX_TLS_REQUEST_INIT;
    req.server_name = name;
    req.verify = is_insecure(ccfg) ? MOX_TLS_VERIFY_NONE : MOX_TLS_VERIFY_WEBPKI;
    int rc = mox_tls_socket_new(&t, ccfg, sv[0], &req, &ei);
    if (rc == MOX_OK)
        rc = mox_tls_socket_handshake(t, &ei);
    if (rc == MOX_OK) {
        mox_tls_info info = MOX_TLS_INFO_INIT;
        mox_tls_get_info(mox_tls_socket_tls(t), &info);
        if (cu) {
            memcpy(cu, info.tls_unique, info.tls_unique_len);
            *cul = info.tls_unique_len;
        }
        if (cresumed)
            *cresumed = info.resumed;
        assert_int_equal(mox_tls_socket_write(t, "ping", 4), 4);
        char buf[8];
        assert_int_equal(mox_tls_socket_read(t, buf, sizeof buf), 4);
    }
    mox_tls_socket_free(t);
    /* After a failed handshake the client has sent its alert: let the
     * server read it before the socket goes (else it may see EPIPE while
     * still sending its flight, classified "io"). */
    if (rc != MOX_OK)
        pthread_join(th, NULL);
    shutdown(sv[0], SHUT_RDWR);
    if (rc == MOX_OK)
        pthread_join(th, NULL);
    close(sv[0]);
    close(sv[1]);
    return rc;
}

static mox_tls_config *client_cfg(const blob *ca, int with_cert)
{
    mox_tls_client_options o = MOX_TLS_CLIENT_OPTIONS_INIT;
    if (ca)
        o.ca_file = write_tmp("ca.pem", ca);
    else
        o.insecure = 1;
    if (with_cert) {
        o.cert_file = write_tmp("c.pem", &certC);
        o.key_file = write_tmp("c.key", &keyC);
    }
    mox_tls_config *c = NULL;
    mox_errinfo ei;
    int rc = mox_tls_config_new_client(&c, &o, &ei);
    if (rc != MOX_OK)
        fail_msg("client config: %s", ei.msg);
    /* (a freed config's address may come back: forget it first) */
    for (size_t i = 0; i < 8; i++)
        if (insecure_cfgs[i] == c)
            insecure_cfgs[i] = NULL;
    if (!ca)
        for (size_t i = 0; i < 8; i++)
            if (!insecure_cfgs[i]) {
                insecure_cfgs[i] = c;
                break;
            }
    return c;
}

static void t_sni(void **st)
{
    (void)st;
    mox_tls_config *s = server_cfg(0, 0, 0);
    srv_arg a;
    /* a name of B's wildcard: B's certificate verifies */
    mox_tls_config *cb = client_cfg(&certB, 0);
    assert_int_equal(connect_once(s, cb, "mx.example.net", &a, NULL, NULL, NULL), MOX_OK);
    assert_string_equal(a.sni, "mx.example.net");
    /* the wildcard covers one label only: fallback A, which B's CA refuses */
    assert_int_equal(connect_once(s, cb, "a.b.example.net", &a, NULL, NULL, NULL), MOX_ERR_PERM);
    mox_tls_config_free(cb);
    /* unknown and absent SNI: the listener host name's certificate (A) */
    mox_tls_config *ca = client_cfg(&certA, 0);
    assert_int_equal(connect_once(s, ca, "mail.example.org", &a, NULL, NULL, NULL), MOX_OK);
    mox_tls_config_free(ca);
    mox_tls_config *ins = client_cfg(NULL, 0);
    assert_int_equal(connect_once(s, ins, "unknown.example", &a, NULL, NULL, NULL), MOX_OK);
    assert_int_equal(connect_once(s, ins, NULL, &a, NULL, NULL, NULL), MOX_OK);
    assert_string_equal(a.sni, "");
    assert_false(a.have_spki);
    mox_tls_config_free(s);
    /* strict: unknown names are refused and classified */
    s = server_cfg(0, 0, 1);
    assert_int_not_equal(connect_once(s, ins, "unknown.example", &a, NULL, NULL, NULL), MOX_OK);
    assert_string_equal(a.failure, "unrecognized-name");
    assert_int_equal(connect_once(s, ins, NULL, &a, NULL, NULL, NULL), MOX_OK);
    mox_tls_config_free(ins);
    mox_tls_config_free(s);
}

static void t_client_cert(void **st)
{
    (void)st;
    unsigned char want[32];
    mox_errinfo ei;
    assert_int_equal(mox_tls_cert_spki_sha256(certC.data, certC.len, want, &ei), MOX_OK);
    mox_tls_config *s = server_cfg(1, 1, 0);
    mox_tls_config *c = client_cfg(NULL, 1);
    srv_arg a;
    unsigned char cu[64];
    size_t cul = 0;
    int resumed = -1;
    assert_int_equal(connect_once(s, c, "mail.example.org", &a, cu, &cul, &resumed), MOX_OK);
    assert_true(a.have_spki);
    assert_memory_equal(a.spki, want, 32);
    assert_false(a.resumed);
    /* tls-unique: the same bytes on both sides, 12 for TLS 1.2 */
    assert_int_equal(a.unique_len, 12);
    assert_int_equal(cul, 12);
    assert_memory_equal(a.unique, cu, 12);
    assert_int_equal(a.exporter_len, 32);
    mox_tls_config_free(c);
    mox_tls_config_free(s);
    /* a client without certificate: none reported */
    s = server_cfg(0, 1, 0);
    c = client_cfg(NULL, 0);
    assert_int_equal(connect_once(s, c, "mail.example.org", &a, NULL, NULL, NULL), MOX_OK);
    assert_false(a.have_spki);
    mox_tls_config_free(c);
    mox_tls_config_free(s);
}

/* Resumption needs a client that keeps its session: Python's ssl does. */
static void t_failures(void **st)
{
    (void)st;
    mox_tls_config *s = server_cfg(0, 0, 0);
    int sv[2];
    srv_arg a;
    /* plain SMTP on an implicit-TLS port */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    memset(&a, 0, sizeof a);
    a.cfg = s;
    a.fd = sv[1];
    pthread_t th;
    pthread_create(&th, NULL, server_thread, &a);
    assert_int_equal(write(sv[0], "EHLO x\r\n", 8), 8);
    shutdown(sv[0], SHUT_WR);
    pthread_join(th, NULL);
    close(sv[0]);
    close(sv[1]);
    assert_int_not_equal(a.rc, MOX_OK);
    assert_string_equal(a.failure, "not-tls");
    /* closed before anything */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    memset(&a, 0, sizeof a);
    a.cfg = s;
    a.fd = sv[1];
    close(sv[0]);
    server_thread(&a);
    close(sv[1]);
    assert_string_equal(a.failure, "eof");
    /* the client refuses our certificate: its alert is named */
    mox_tls_config *cb = client_cfg(&certB, 0);
    assert_int_equal(connect_once(s, cb, "mail.example.org", &a, NULL, NULL, NULL), MOX_ERR_PERM);
    if (strncmp(a.failure, "alert-", 6) != 0)
        fail_msg("failure class %s", a.failure);
    mox_tls_config_free(cb);
    mox_tls_config_free(s);
}

static void t_config_errors(void **st)
{
    (void)st;
    mox_tls_server_options o = MOX_TLS_SERVER_OPTIONS_INIT;
    mox_tls_config *c = NULL;
    mox_errinfo ei;
    o.min_version = 0x0301;
    assert_int_equal(mox_tls_config_new_server(&c, &o, &ei), MOX_ERR_UNSUPPORTED);
    o.min_version = 0;
    assert_int_equal(mox_tls_config_new_server(&c, &o, &ei), MOX_OK);
    /* no certificate: connections cannot be made */
    mox_tls *t = NULL;
    assert_int_equal(mox_tls_new(&t, c, NULL, &ei), MOX_ERR_STATE);
    assert_int_equal(mox_tls_config_add_cert(c, "junk", 4, keyA.data, keyA.len, &ei),
                     MOX_ERR_SYNTAX);
    assert_int_equal(mox_tls_config_add_cert(c, certA.data, certA.len, "junk", 4, &ei),
                     MOX_ERR_SYNTAX);
    /* key of another certificate */
    assert_int_equal(mox_tls_config_add_cert(c, certA.data, certA.len, keyB.data, keyB.len, &ei),
                     MOX_ERR_INVAL);
    assert_int_equal(mox_tls_config_add_cert_file(c, "/nonexistent", "/nonexistent", &ei),
                     MOX_ERR_IO);
    mox_tls_config_free(c);
    /* a client config takes no server certificates */
    mox_tls_client_options co = MOX_TLS_CLIENT_OPTIONS_INIT;
    co.insecure = 1;
    assert_int_equal(mox_tls_config_new_client(&c, &co, &ei), MOX_OK);
    assert_int_equal(mox_tls_config_add_cert(c, certA.data, certA.len, keyA.data, keyA.len, &ei),
                     MOX_ERR_INVAL);
    mox_tls_config_free(c);
    unsigned char h[32];
    assert_int_equal(mox_tls_cert_spki_sha256("nope", 4, h, &ei), MOX_ERR_SYNTAX);
    mox_buf x = MOX_BUF_INIT, y = MOX_BUF_INIT;
    static const char *const bad[] = {"a b"};
    assert_int_equal(mox_tls_selfsigned(bad, 1, 0, &x, &y, &ei), MOX_ERR_INVAL);
    assert_int_equal(mox_tls_selfsigned(bad, 0, 0, &x, &y, &ei), MOX_ERR_INVAL);
    assert_string_equal(mox_tls_version_name(MOX_TLS_VERSION_1_2), "TLS1.2");
    assert_string_equal(mox_tls_version_name(7), "");
}

static int sweep_config(void *ctx)
{
    (void)ctx;
    mox_tls_server_options o = MOX_TLS_SERVER_OPTIONS_INIT;
    o.hostname = "mail.example.org";
    o.session_tickets = 1;
    mox_tls_config *c = NULL;
    int rc = mox_tls_config_new_server(&c, &o, NULL);
    if (rc == MOX_OK)
        rc = mox_tls_config_add_cert(c, certA.data, certA.len, keyA.data, keyA.len, NULL);
    mox_tls_config_free(c);
    return rc;
}

static void t_alloc_sweep(void **st)
{
    (void)st;
    moxtest_alloc_sweep(sweep_config, NULL, "tls server config");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_sni),
        cmocka_unit_test(t_client_cert),
        cmocka_unit_test(t_failures),
        cmocka_unit_test(t_config_errors),
        cmocka_unit_test(t_alloc_sweep),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    if (tmpdir_made) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            rc = rc ? rc : 1;
    }
    return rc;
}
