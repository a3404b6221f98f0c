/* API-convention checks across the in-scope modules (docs/architecture.md, "Conventions"):
 * every _free accepts NULL, every _clear accepts NULL and a zeroed struct
 * (twice), every INIT macro sets size to the struct's size, mox_strerror
 * names every mox_err value, and constructors taking a sized struct accept
 * one from an older header (a smaller size: the missing tail gets
 * defaults) and refuse a size too small to hold the size field itself. */
#include <stddef.h>
#include <string.h>

#include "moxtest.h"

#include "mox/core.h"
#include "mox/text.h"
#include "mox/address.h"
#include "mox/dns.h"
#include "mox/message.h"
#include "mox/sasl.h"
#include "mox/smtp_server.h"
#include "mox/smtp_client.h"
#include "mox/tls.h"
#include "mox/dmarc.h"
#include "mox/iprev.h"

/* ------------------------------------------------------------ free(NULL) */

static void test_free_null(void **state)
{
    (void)state;
    mox_free(NULL);
    mox_buf_free(NULL);
    mox_errinfo_clear(NULL);
    mox_domain_clear(NULL);
    mox_mailbox_clear(NULL);
    mox_path_clear(NULL);
    mox_address_list_clear(NULL);
    mox_dns_answer_free(NULL);
    mox_dns_zone_free(NULL);
    mox_dns_system_free(NULL);
    mox_header_parser_free(NULL);
    mox_header_parser_reset(NULL);
    mox_headers_free(NULL);
    mox_mime_ctype_clear(NULL);
    mox_mime_free(NULL);
    mox_authres_free(NULL);
    mox_sasl_secrets_wipe(NULL);
    mox_sasl_server_free(NULL);
    mox_sasl_client_free(NULL);
    mox_smtp_server_free(NULL);
    mox_smtp_client_reply_clear(NULL);
    mox_smtp_client_ext_clear(NULL);
    mox_smtp_client_free(NULL);
    mox_smtp_client_sasl_free(NULL);
    mox_tls_config_free(NULL);
    mox_tls_free(NULL);
    mox_dmarc_record_free(NULL);
    mox_dmarc_psl_free(NULL);
    mox_dmarc_free(NULL);
    mox_dmarc_report_check_free(NULL);
    mox_iprev_free(NULL);
}

/* ------------------------------------------------- clear on zeroed structs */

#define CLEAR_ZEROED(type, fn)                                                \
    do {                                                                      \
        type z_;                                                              \
        memset(&z_, 0, sizeof z_);                                            \
        fn(&z_);                                                              \
        fn(&z_); /* idempotent: the struct is zeroed again */                 \
        type e_;                                                              \
        memset(&e_, 0, sizeof e_);                                            \
        assert_memory_equal(&z_, &e_, sizeof z_);                             \
    } while (0)

static void test_clear_zeroed(void **state)
{
    (void)state;
    CLEAR_ZEROED(mox_domain, mox_domain_clear);
    CLEAR_ZEROED(mox_mailbox, mox_mailbox_clear);
    CLEAR_ZEROED(mox_path, mox_path_clear);
    CLEAR_ZEROED(mox_address_list, mox_address_list_clear);
    CLEAR_ZEROED(mox_mime_ctype, mox_mime_ctype_clear);
    CLEAR_ZEROED(mox_smtp_client_reply, mox_smtp_client_reply_clear);
    CLEAR_ZEROED(mox_smtp_client_ext, mox_smtp_client_ext_clear);

    mox_buf b = MOX_BUF_INIT;
    mox_buf_free(&b);
    mox_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    mox_buf_reset(&b);
    assert_int_equal(b.len, 0);

    mox_errinfo ei;
    memset(&ei, 0x5a, sizeof ei);
    mox_errinfo_clear(&ei);
    assert_int_equal(ei.code, MOX_OK);
    assert_int_equal(ei.detail, 0);
    assert_int_equal(ei.msg[0], '\0');
}

/* A cleared struct that held data is zeroed and reusable. */
static void test_clear_after_use(void **state)
{
    (void)state;
    mox_address_list l;
    memset(&l, 0, sizeof l);
    const char *s = "A <a@example.org>, g: b@example.org;";
    assert_int_equal(mox_address_list_parse(s, strlen(s), 0, &l, NULL), MOX_OK);
    assert_int_equal(l.count, 2);
    mox_address_list_clear(&l);
    assert_int_equal(l.count, 0);
    assert_null(l.addr);
    mox_address_list_clear(&l);

    mox_path p;
    memset(&p, 0, sizeof p);
    assert_int_equal(mox_path_parse("<a@example.org>", 15, 0, &p, NULL), MOX_OK);
    mox_path_clear(&p);
    assert_null(p.mailbox.localpart);
    assert_null(p.mailbox.domain.ascii);

    mox_mime_ctype ct = MOX_MIME_CTYPE_INIT;
    const char *c = "text/plain; charset=utf-8";
    assert_int_equal(mox_mime_ctype_parse(c, strlen(c), &ct, NULL), MOX_OK);
    mox_mime_ctype_clear(&ct);
    assert_null(ct.type);
    assert_int_equal(ct.nparams, 0);
}

/* ------------------------------------------------------------ INIT macros */

#define CHECK_INIT(type, macro)                                               \
    do {                                                                      \
        type v_ = macro;                                                      \
        assert_int_equal(v_.size, sizeof(type));                              \
        assert_int_equal(offsetof(type, size), 0);                            \
    } while (0)

static void test_init_macros(void **state)
{
    (void)state;
    CHECK_INIT(mox_logger, MOX_LOGGER_INIT);
    CHECK_INIT(mox_metrics, MOX_METRICS_INIT);
    CHECK_INIT(mox_clock, MOX_CLOCK_INIT);
    CHECK_INIT(mox_random, MOX_RANDOM_INIT);
    CHECK_INIT(mox_env, MOX_ENV_INIT);
    CHECK_INIT(mox_resolver, MOX_RESOLVER_INIT);
    CHECK_INIT(mox_header_config, MOX_HEADER_CONFIG_INIT);
    CHECK_INIT(mox_mime_config, MOX_MIME_CONFIG_INIT);
    CHECK_INIT(mox_sasl_channel, MOX_SASL_CHANNEL_INIT);
    CHECK_INIT(mox_sasl_secrets, MOX_SASL_SECRETS_INIT);
    CHECK_INIT(mox_sasl_derive_params, MOX_SASL_DERIVE_PARAMS_INIT);
    CHECK_INIT(mox_sasl_credentials, MOX_SASL_CREDENTIALS_INIT);
    CHECK_INIT(mox_sasl_server_config, MOX_SASL_SERVER_CONFIG_INIT);
    CHECK_INIT(mox_sasl_client_config, MOX_SASL_CLIENT_CONFIG_INIT);
    CHECK_INIT(mox_smtp_server_config, MOX_SMTP_SERVER_CONFIG_INIT);
    CHECK_INIT(mox_smtp_server_reply, MOX_SMTP_SERVER_REPLY_INIT);
    CHECK_INIT(mox_smtp_server_callbacks, MOX_SMTP_SERVER_CALLBACKS_INIT);
    CHECK_INIT(mox_smtp_server_tls_info, MOX_SMTP_SERVER_TLS_INFO_INIT);
    CHECK_INIT(mox_smtp_client_tls_info, MOX_SMTP_CLIENT_TLS_INFO_INIT);
    CHECK_INIT(mox_smtp_client_auth, MOX_SMTP_CLIENT_AUTH_INIT);
    CHECK_INIT(mox_smtp_client_config, MOX_SMTP_CLIENT_CONFIG_INIT);
    CHECK_INIT(mox_smtp_client_message, MOX_SMTP_CLIENT_MESSAGE_INIT);
    CHECK_INIT(mox_tls_client_options, MOX_TLS_CLIENT_OPTIONS_INIT);
    CHECK_INIT(mox_tls_server_options, MOX_TLS_SERVER_OPTIONS_INIT);
    CHECK_INIT(mox_dmarc_config, MOX_DMARC_CONFIG_INIT);
    CHECK_INIT(mox_iprev_config, MOX_IPREV_CONFIG_INIT);

    /* The non-sized INITs zero-initialise. */
    mox_buf b = MOX_BUF_INIT;
    assert_null(b.data);
    mox_mime_ctype ct = MOX_MIME_CTYPE_INIT;
    assert_null(ct.type);
}

/* ------------------------------------------------------------ strerror */

static void test_strerror(void **state)
{
    (void)state;
    const char *unknown = mox_strerror(-1000);
    assert_string_equal(unknown, "unknown error");
    assert_string_equal(mox_strerror(1), unknown);
    assert_string_equal(mox_strerror(MOX_OK), "success");
    /* Every code from MOX_ERR_NOMEM to the last one has its own name. The
     * enum is append-only: when a code is added, raise LAST. */
    enum { LAST = MOX_ERR_PERM };
    for (int e = MOX_ERR_NOMEM; e >= LAST; e--) {
        const char *s = mox_strerror(e);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, unknown);
        for (int f = e + 1; f <= MOX_OK; f++)
            assert_string_not_equal(s, mox_strerror(f));
    }
    /* Nothing beyond the last code is named: a new code added to the enum
     * without raising LAST above fails here. */
    assert_string_equal(mox_strerror(LAST - 1), unknown);
}

/* --------------------------------------- sized structs from older headers */

/* Size of a struct as an older header knew it: everything before `field`. */
#define OLD_SIZE(type, field) offsetof(type, field)

static int no_user(void *ctx, const char *username, mox_sasl_secrets *out)
{
    (void)ctx;
    (void)username;
    (void)out;
    return MOX_ERR_NOTFOUND;
}

static void test_old_config_sizes(void **state)
{
    (void)state;
    mox_errinfo ei;

    /* iprev: a config that ends before max_names gets the default. */
    mox_iprev_config ic = MOX_IPREV_CONFIG_INIT;
    ic.size = OLD_SIZE(mox_iprev_config, max_names);
    mox_iprev *ip = NULL;
    assert_int_equal(mox_iprev_new(&ip, &ic, "192.0.2.1", &ei), MOX_OK);
    mox_iprev_free(ip);

    /* dmarc */
    mox_dmarc_config dc = MOX_DMARC_CONFIG_INIT;
    dc.size = OLD_SIZE(mox_dmarc_config, flags);
    mox_dmarc *d = NULL;
    assert_int_equal(mox_dmarc_new(&d, &dc, "example.org", &ei), MOX_OK);
    mox_dmarc_free(d);

    /* message: header parser and MIME walker */
    mox_header_config hc = MOX_HEADER_CONFIG_INIT;
    hc.size = OLD_SIZE(mox_header_config, flags);
    mox_header_parser *hp = NULL;
    assert_int_equal(mox_header_parser_new(&hp, &hc, NULL, NULL), MOX_OK);
    mox_header_parser_free(hp);
    hc.size = 0;
    hp = NULL;
    assert_int_equal(mox_header_parser_new(&hp, &hc, NULL, NULL), MOX_ERR_INVAL);
    assert_null(hp);

    mox_mime_config mc = MOX_MIME_CONFIG_INIT;
    mc.size = OLD_SIZE(mox_mime_config, header);
    mc.header = (const mox_header_config *)1; /* beyond size: must be ignored */
    mox_mime *m = NULL;
    const char *msg = "Subject: x\r\n\r\nbody\r\n";
    assert_int_equal(mox_mime_walk(msg, strlen(msg), &mc, &m, NULL), MOX_OK);
    assert_int_equal(mox_mime_count(m), 1);
    mox_mime_free(m);

    /* sasl: a server config from before fixed_nonce; the field past the
     * size must not be read. */
    mox_sasl_server_config sc = MOX_SASL_SERVER_CONFIG_INIT;
    mox_sasl_credentials creds = MOX_SASL_CREDENTIALS_INIT;
    creds.lookup = no_user;
    sc.creds = &creds;
    sc.mechs = MOX_SASL_BIT(MOX_SASL_PLAIN);
    sc.fixed_nonce = "not,valid"; /* would be refused if read */
    sc.size = OLD_SIZE(mox_sasl_server_config, fixed_nonce);
    mox_sasl_server *ss = NULL;
    assert_int_equal(mox_sasl_server_new(&ss, MOX_SASL_PLAIN, &sc), MOX_OK);
    mox_sasl_server_free(ss);
    sc.size = 0;
    ss = NULL;
    assert_int_equal(mox_sasl_server_new(&ss, MOX_SASL_PLAIN, &sc), MOX_ERR_INVAL);
    assert_null(ss);

    /* smtp_server: a config from before slow_max_ms, callbacks from before
     * on_auth. */
    mox_smtp_server_config sv = MOX_SMTP_SERVER_CONFIG_INIT;
    sv.hostname = "mx.example.org";
    sv.size = OLD_SIZE(mox_smtp_server_config, slow_max_ms);
    mox_smtp_server_callbacks cb = MOX_SMTP_SERVER_CALLBACKS_INIT;
    cb.size = OLD_SIZE(mox_smtp_server_callbacks, on_auth);
    mox_smtp_server *srv = NULL;
    assert_int_equal(mox_smtp_server_new(&srv, &sv, &cb, NULL), MOX_OK);
    assert_int_equal(mox_smtp_server_start(srv), MOX_OK);
    const void *out;
    size_t outlen;
    assert_int_equal(mox_smtp_server_output(srv, &out, &outlen), MOX_OK);
    assert_true(outlen > 4 && memcmp(out, "220 ", 4) == 0);
    mox_smtp_server_free(srv);
    sv.size = 0;
    srv = NULL;
    assert_int_equal(mox_smtp_server_new(&srv, &sv, NULL, NULL), MOX_ERR_INVAL);
    assert_null(srv);

    /* smtp_client: a config from before the timeouts. */
    mox_smtp_client_config cc = MOX_SMTP_CLIENT_CONFIG_INIT;
    cc.ehlo_name = "client.example.org";
    cc.size = OLD_SIZE(mox_smtp_client_config, timeout_greeting_ms);
    mox_smtp_client *cl = NULL;
    assert_int_equal(mox_smtp_client_new(&cl, &cc, &ei), MOX_OK);
    mox_smtp_client_free(cl);
    cc.size = 0;
    cl = NULL;
    assert_int_equal(mox_smtp_client_new(&cl, &cc, &ei), MOX_ERR_INVAL);
    assert_null(cl);

    /* tls: server options from before min_version. */
    mox_tls_server_options to = MOX_TLS_SERVER_OPTIONS_INIT;
    to.hostname = "mx.example.org";
    to.min_version = 0x0101; /* unsupported, but beyond size: ignored */
    to.size = OLD_SIZE(mox_tls_server_options, min_version);
    mox_tls_config *tc = NULL;
    assert_int_equal(mox_tls_config_new_server(&tc, &to, &ei), MOX_OK);
    mox_tls_config_free(tc);
    to.size = 0;
    tc = NULL;
    assert_int_equal(mox_tls_config_new_server(&tc, &to, &ei), MOX_ERR_INVAL);
    assert_null(tc);
}

/* mox_smtp_server_reply_set honours the size of an older reply struct: it writes
 * nothing past it. */
static void test_reply_set_old_size(void **state)
{
    (void)state;
    mox_smtp_server_reply r = MOX_SMTP_SERVER_REPLY_INIT;
    memset(r.text, 'X', sizeof r.text);
    r.size = offsetof(mox_smtp_server_reply, text);
    mox_smtp_server_reply_set(&r, 550, "5.7.1", "no");
    assert_int_equal(r.code, 550);
    assert_string_equal(r.enhanced, "5.7.1");
    assert_int_equal(r.text[0], 'X');
    r.size = sizeof r;
    mox_smtp_server_reply_set(&r, 250, NULL, "ok");
    assert_string_equal(r.text, "ok");
    assert_string_equal(r.enhanced, "");
    mox_smtp_server_reply_set(NULL, 250, NULL, NULL);
}

/* ------------------------------------------------------------ version */

static void test_version(void **state)
{
    (void)state;
    assert_string_equal(mox_version(), MOX_VERSION_STRING);
    assert_int_equal(mox_version_number(), MOX_VERSION_NUMBER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_null),
        cmocka_unit_test(test_clear_zeroed),
        cmocka_unit_test(test_clear_after_use),
        cmocka_unit_test(test_init_macros),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_old_config_sizes),
        cmocka_unit_test(test_reply_set_old_size),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
