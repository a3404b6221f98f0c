/* Tests of the sasl module: RFC vectors, round trips for every mechanism,
 * failure reasons, malformed messages, derived secrets, lists, and an
 * allocation-failure sweep over full exchanges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "moxtest.h"
#include "mox/sasl.h"

/* ------------------------------------------------------------ fixtures */

/* A fixed randomness source: fills with a counter pattern, or the bytes
 * of `fixed` when set (for the RFC 2195 challenge). */
struct fixed_rand {
    uint64_t fixed;
    int use_fixed;
    unsigned char ctr;
};

static int rand_fill(void *ctx, void *buf, size_t n)
{
    struct fixed_rand *r = ctx;
    unsigned char *p = buf;
    if (r->use_fixed && n == sizeof r->fixed) {
        memcpy(p, &r->fixed, n);
        return MOX_OK;
    }
    for (size_t i = 0; i < n; i++)
        p[i] = r->ctr++;
    return MOX_OK;
}

static int64_t clock_wall(void *ctx) { return *(int64_t *)ctx; }

/* Accounts of the test credential store. */
struct account {
    const char *user;
    mox_sasl_secrets sec;
};

struct store {
    struct account acc[4];
    size_t n;
    int again;        /* answer MOX_ERR_AGAIN this many times first */
    int temp_fail;    /* answer MOX_ERR_IO */
    int lookups;
    const char *may_act_as; /* authorize: authcid "admin" may act as this */
};

static int st_lookup(void *ctx, const char *user, mox_sasl_secrets *out)
{
    struct store *st = ctx;
    st->lookups++;
    if (st->again > 0) {
        st->again--;
        return MOX_ERR_AGAIN;
    }
    if (st->temp_fail)
        return MOX_ERR_IO;
    for (size_t i = 0; i < st->n; i++) {
        if (!strcmp(st->acc[i].user, user)) {
            size_t size = out->size;
            memcpy(out, &st->acc[i].sec, size < sizeof *out ? size : sizeof *out);
            out->size = size;
            return MOX_OK;
        }
    }
    return MOX_ERR_NOTFOUND;
}

static int st_authorize(void *ctx, const char *authcid, const char *authzid)
{
    struct store *st = ctx;
    if (st->may_act_as && !strcmp(authcid, "admin") && !strcmp(authzid, st->may_act_as))
        return MOX_OK;
    return MOX_ERR_PERM;
}

static struct store g_store;
static mox_sasl_credentials g_creds = MOX_SASL_CREDENTIALS_INIT;
static struct fixed_rand g_rand;
static mox_random g_random = MOX_RANDOM_INIT;
static mox_env g_env = MOX_ENV_INIT;
static const unsigned char uukey[32] = "0123456789abcdef0123456789abcdef";

static void derive_into(mox_sasl_secrets *s, const char *pw, unsigned which)
{
    mox_sasl_derive_params p = MOX_SASL_DERIVE_PARAMS_INIT;
    p.which = which;
    s->size = sizeof *s;
    mox_errinfo ei;
    int rc = mox_sasl_secrets_derive(pw, strlen(pw), &p, s, &ei);
    if (rc != MOX_OK)
        fail_msg("derive: %s", ei.msg);
}

static int setup(void **state)
{
    (void)state;
    memset(&g_store, 0, sizeof g_store);
    g_store.acc[0].user = "mjl";
    derive_into(&g_store.acc[0].sec, "test1234", MOX_SASL_DERIVE_ALL);
    /* A user with only SCRAM-SHA-256 (no SHA-1, no CRAM-MD5). */
    g_store.acc[1].user = "only256";
    derive_into(&g_store.acc[1].sec, "pw256pw256", MOX_SASL_DERIVE_SCRAM_SHA256);
    /* A user with no secrets at all (e.g. password never set). */
    g_store.acc[2].user = "nosecret";
    mox_sasl_secrets z = MOX_SASL_SECRETS_INIT;
    g_store.acc[2].sec = z;
    g_store.acc[3].user = "admin";
    derive_into(&g_store.acc[3].sec, "adminpw!", MOX_SASL_DERIVE_ALL);
    g_store.n = 4;
    g_creds.ctx = &g_store;
    g_creds.lookup = st_lookup;
    g_creds.authorize = st_authorize;
    memset(&g_rand, 0, sizeof g_rand);
    g_random.ctx = &g_rand;
    g_random.fill = rand_fill;
    g_env.random = &g_random;
    return 0;
}

static void reset_store(void)
{
    g_store.again = 0;
    g_store.temp_fail = 0;
    g_store.lookups = 0;
    g_store.may_act_as = NULL;
}

/* Channel of a test connection; `data` is the binding of every type
 * (mismatches are made with two channels). */
struct chan_data {
    const char *unique;
    const char *exporter;
};

static int chan_binding(void *ctx, mox_sasl_cb_type t, unsigned char *out, size_t *len)
{
    struct chan_data *d = ctx;
    const char *v = t == MOX_SASL_CB_TLS_UNIQUE ? d->unique
                    : t == MOX_SASL_CB_TLS_EXPORTER ? d->exporter : NULL;
    if (!v)
        return MOX_ERR_UNSUPPORTED;
    *len = strlen(v);
    memcpy(out, v, *len);
    return MOX_OK;
}

static void tls_chan(mox_sasl_channel *c, struct chan_data *d)
{
    mox_sasl_channel z = MOX_SASL_CHANNEL_INIT;
    *c = z;
    c->tls = 1;
    c->ctx = d;
    c->binding = chan_binding;
    c->cb_types = (d->unique ? MOX_SASL_CB_BIT(MOX_SASL_CB_TLS_UNIQUE) : 0) |
                  (d->exporter ? MOX_SASL_CB_BIT(MOX_SASL_CB_TLS_EXPORTER) : 0);
}

static void server_cfg(mox_sasl_server_config *c)
{
    mox_sasl_server_config z = MOX_SASL_SERVER_CONFIG_INIT;
    *c = z;
    c->env = &g_env;
    c->creds = &g_creds;
    c->unknown_user_key = uukey;
    c->unknown_user_key_len = sizeof uukey;
}

static void client_cfg(mox_sasl_client_config *c, const char *user, const char *pw)
{
    mox_sasl_client_config z = MOX_SASL_CLIENT_CONFIG_INIT;
    *c = z;
    c->env = &g_env;
    c->username = user;
    c->password = pw;
}

/* Result of a whole exchange. */
struct rt {
    int srv;              /* final server status */
    int cli;              /* last client status */
    mox_sasl_failure sf, cf;
    char authcid[64], authzid[64];
    int rounds;
};

/* Runs client and server against each other the way SMTP would carry the
 * messages. Returns MOX_OK when the exchange reached an end (whatever its
 * outcome, in *r) or a negative error (NOMEM from either side). */
static int exchange(mox_sasl_mech mech, const mox_sasl_server_config *sc,
                    const mox_sasl_client_config *cc, struct rt *r)
{
    memset(r, 0, sizeof *r);
    mox_sasl_server *s = NULL;
    mox_sasl_client *c = NULL;
    int rc = mox_sasl_server_new(&s, mech, sc);
    if (rc == MOX_OK)
        rc = mox_sasl_client_new(&c, mech, cc, NULL);
    if (rc != MOX_OK)
        goto out;
    const unsigned char *co, *so;
    size_t colen, solen;
    int cs = mox_sasl_client_step(c, NULL, 0, &co, &colen);
    if (cs < 0) {
        rc = cs;
        goto out;
    }
    int ss = mox_sasl_client_has_initial(c) ? mox_sasl_server_step(s, co, colen, &so, &solen)
                                            : mox_sasl_server_step(s, NULL, 0, &so, &solen);
    for (;;) {
        r->rounds++;
        while (ss == MOX_SASL_PENDING)
            ss = mox_sasl_server_resume(s, &so, &solen);
        if (ss < 0) {
            rc = ss;
            goto out;
        }
        if (ss == MOX_SASL_FAILURE)
            break;
        if (ss == MOX_SASL_SUCCESS) {
            if (solen) { /* additional data: the client must verify it */
                cs = mox_sasl_client_step(c, so, solen, &co, &colen);
                if (cs < 0) {
                    rc = cs;
                    goto out;
                }
            }
            break;
        }
        if (r->rounds > 8)
            fail_msg("exchange does not end");
        cs = mox_sasl_client_step(c, so, solen, &co, &colen);
        if (cs < 0) {
            rc = cs;
            goto out;
        }
        if (cs == MOX_SASL_FAILURE) {
            ss = mox_sasl_server_abort(s);
            break;
        }
        ss = mox_sasl_server_step(s, co, colen, &so, &solen);
    }
    r->srv = ss;
    r->cli = cs;
    r->sf = mox_sasl_server_failure(s);
    r->cf = mox_sasl_client_failure(c);
    if (ss == MOX_SASL_SUCCESS) {
        snprintf(r->authcid, sizeof r->authcid, "%s", mox_sasl_server_authcid(s));
        snprintf(r->authzid, sizeof r->authzid, "%s", mox_sasl_server_authzid(s));
        if (!mox_sasl_client_complete(c))
            r->cli = -100;
    }
out:
    mox_sasl_server_free(s);
    mox_sasl_client_free(c);
    return rc;
}

static const mox_sasl_mech password_mechs[] = {
    MOX_SASL_PLAIN, MOX_SASL_LOGIN, MOX_SASL_CRAM_MD5, MOX_SASL_SCRAM_SHA_1,
    MOX_SASL_SCRAM_SHA_256,
};

/* ------------------------------------------------------------ names, lists */

static void test_names(void **state)
{
    (void)state;
    for (int m = 1; m <= MOX_SASL_EXTERNAL; m++) {
        const char *n = mox_sasl_mech_name((mox_sasl_mech)m);
        assert_non_null(n);
        assert_int_equal(mox_sasl_mech_parse(n, strlen(n)), m);
    }
    assert_int_equal(mox_sasl_mech_parse("scram-sha-256-plus", 18), MOX_SASL_SCRAM_SHA_256_PLUS);
    assert_int_equal(mox_sasl_mech_parse("SCRAM-SHA-25", 12), MOX_SASL_NONE);
    assert_int_equal(mox_sasl_mech_parse("DIGEST-MD5", 10), MOX_SASL_NONE);
    assert_null(mox_sasl_mech_name(MOX_SASL_NONE));
    assert_null(mox_sasl_mech_name((mox_sasl_mech)99));
    assert_string_equal(mox_sasl_failure_name(MOX_SASL_FAIL_NO_SECRET),
                        "no derived secret stored for this mechanism");
}

static void list_is(const mox_sasl_server_config *c, const char *want)
{
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_sasl_server_mechs_string(c, &b), MOX_OK);
    if (strcmp(b.data ? (char *)b.data : "", want) != 0)
        fail_msg("mechanism list \"%s\", want \"%s\"", b.data ? (char *)b.data : "", want);
    mox_buf_free(&b);
}

static void test_server_mechs(void **state)
{
    (void)state;
    mox_sasl_server_config c;
    server_cfg(&c);
    list_is(&c, "SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN");
    c.plaintext_needs_tls = 1;
    list_is(&c, "SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5");
    struct chan_data d = {"uniq", "export"};
    mox_sasl_channel ch;
    tls_chan(&ch, &d);
    c.channel = &ch;
    list_is(&c, "SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN");
    ch.external_identity = "mjl";
    list_is(&c, "EXTERNAL SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 "
                "CRAM-MD5 PLAIN LOGIN");
    /* TLS without channel binding: no -PLUS. */
    ch.cb_types = 0;
    ch.external_identity = NULL;
    list_is(&c, "SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN");
    c.mechs = MOX_SASL_BIT(MOX_SASL_SCRAM_SHA_256) | MOX_SASL_BIT(MOX_SASL_PLAIN);
    list_is(&c, "SCRAM-SHA-256 PLAIN");
    mox_sasl_mech arr[2];
    c.mechs = 0;
    assert_int_equal(mox_sasl_server_mechs(&c, arr, 2), 5);
    assert_int_equal(arr[0], MOX_SASL_SCRAM_SHA_256);
    assert_int_equal(arr[1], MOX_SASL_SCRAM_SHA_1);

    /* Engines refuse what the list would not offer. */
    mox_sasl_server *s = (mox_sasl_server *)1;
    server_cfg(&c);
    c.plaintext_needs_tls = 1;
    assert_int_equal(mox_sasl_server_new(&s, MOX_SASL_PLAIN, &c), MOX_ERR_PERM);
    assert_null(s);
    assert_int_equal(mox_sasl_server_new(&s, MOX_SASL_SCRAM_SHA_256_PLUS, &c), MOX_ERR_PERM);
    assert_int_equal(mox_sasl_server_new(&s, MOX_SASL_EXTERNAL, &c), MOX_ERR_PERM);
    assert_int_equal(mox_sasl_server_new(&s, MOX_SASL_NONE, &c), MOX_ERR_UNSUPPORTED);
    c.creds = NULL;
    assert_int_equal(mox_sasl_server_new(&s, MOX_SASL_SCRAM_SHA_1, &c), MOX_ERR_INVAL);
}

static void test_client_choose(void **state)
{
    (void)state;
    mox_sasl_client_config c;
    client_cfg(&c, "mjl", "test1234");
    const char *all = "LOGIN PLAIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-1-PLUS SCRAM-SHA-256 "
                      "SCRAM-SHA-256-PLUS EXTERNAL";
    assert_int_equal(mox_sasl_client_choose(&c, all, strlen(all)), MOX_SASL_SCRAM_SHA_256);
    struct chan_data d = {NULL, "export"};
    mox_sasl_channel ch;
    tls_chan(&ch, &d);
    c.channel = &ch;
    assert_int_equal(mox_sasl_client_choose(&c, all, strlen(all)),
                     MOX_SASL_SCRAM_SHA_256_PLUS);
    ch.external_identity = "x";
    assert_int_equal(mox_sasl_client_choose(&c, all, strlen(all)), MOX_SASL_EXTERNAL);
    c.channel = NULL;
    const char *weak = "  login   plain\tcram-md5 ";
    assert_int_equal(mox_sasl_client_choose(&c, weak, strlen(weak)), MOX_SASL_CRAM_MD5);
    c.plaintext_needs_tls = 1;
    assert_int_equal(mox_sasl_client_choose(&c, "PLAIN LOGIN", 11), MOX_SASL_NONE);
    c.plaintext_needs_tls = 0;
    assert_int_equal(mox_sasl_client_choose(&c, "LOGIN PLAIN", 11), MOX_SASL_PLAIN);
    assert_int_equal(mox_sasl_client_choose(&c, "GSSAPI XOAUTH2", 14), MOX_SASL_NONE);
    c.mechs = MOX_SASL_BIT(MOX_SASL_SCRAM_SHA_1);
    assert_int_equal(mox_sasl_client_choose(&c, all, strlen(all)), MOX_SASL_SCRAM_SHA_1);
}

/* ------------------------------------------------------------ RFC vectors */

static json_t *load_vectors(void)
{
    json_error_t err;
    json_t *root = json_load_file(moxtest_data_path("sasl/scram-rfc5802-rfc7677-vectors.json"),
                                  0, &err);
    if (!root)
        fail_msg("vectors: %s", err.text);
    json_t *v = json_object_get(root, "vectors");
    assert_true(json_is_array(v));
    assert_int_equal(json_array_size(v), 2);
    return root;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (!s)
        fail_msg("vector field %s missing", k);
    return s;
}

static void expect_bytes(const unsigned char *p, size_t n, const char *want, const char *what)
{
    if (n != strlen(want) || memcmp(p, want, n) != 0)
        fail_msg("%s: got \"%.*s\", want \"%s\"", what, (int)n, (const char *)p, want);
}

static void hex_is(const unsigned char *p, size_t n, const char *want, const char *what)
{
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_hex_encode(p, n, &b), MOX_OK);
    if (strcmp((char *)b.data, want) != 0)
        fail_msg("%s: %s, want %s", what, (char *)b.data, want);
    mox_buf_free(&b);
}

/* The salt of a vector (base64 in server_first "s=..."). */
static void vector_salt(const char *sfirst, mox_buf *salt)
{
    const char *s = strstr(sfirst, ",s=");
    assert_non_null(s);
    s += 3;
    const char *e = strchr(s, ',');
    assert_int_equal(mox_base64_decode(s, (size_t)(e - s), 0, salt, NULL), MOX_OK);
}

static void test_rfc_scram_client(void **state)
{
    (void)state;
    json_t *root = load_vectors();
    json_t *arr = json_object_get(root, "vectors"), *v;
    size_t i;
    json_array_foreach(arr, i, v) {
        const char *mech_name = jstr(v, "mechanism");
        mox_sasl_mech mech = mox_sasl_mech_parse(mech_name, strlen(mech_name));
        const char *cfirst = jstr(v, "client_first");
        char nonce[64];
        const char *r = strstr(cfirst, ",r=") + 3;
        snprintf(nonce, sizeof nonce, "%s", r);
        mox_sasl_client_config cc;
        client_cfg(&cc, jstr(v, "username"), jstr(v, "password"));
        cc.fixed_nonce = nonce;
        mox_sasl_client *c;
        assert_int_equal(mox_sasl_client_new(&c, mech, &cc, NULL), MOX_OK);
        const unsigned char *o;
        size_t n;
        assert_int_equal(mox_sasl_client_step(c, NULL, 0, &o, &n), MOX_SASL_CONTINUE);
        assert_true(mox_sasl_client_has_initial(c));
        expect_bytes(o, n, cfirst, "client-first");
        const char *sf = jstr(v, "server_first");
        assert_int_equal(mox_sasl_client_step(c, sf, strlen(sf), &o, &n), MOX_SASL_CONTINUE);
        expect_bytes(o, n, jstr(v, "client_final"), "client-final");
        assert_false(mox_sasl_client_complete(c));
        const char *sfin = jstr(v, "server_final");
        assert_int_equal(mox_sasl_client_step(c, sfin, strlen(sfin), &o, &n), MOX_SASL_SUCCESS);
        assert_int_equal(n, 0);
        assert_true(mox_sasl_client_complete(c));
        assert_int_equal(mox_sasl_client_step(c, "", 0, &o, &n), MOX_ERR_STATE);
        mox_sasl_client_free(c);

        /* The same exchange with a forged server signature. */
        assert_int_equal(mox_sasl_client_new(&c, mech, &cc, NULL), MOX_OK);
        assert_int_equal(mox_sasl_client_step(c, NULL, 0, &o, &n), MOX_SASL_CONTINUE);
        assert_int_equal(mox_sasl_client_step(c, sf, strlen(sf), &o, &n), MOX_SASL_CONTINUE);
        char forged[128];
        snprintf(forged, sizeof forged, "%s", sfin);
        forged[2] = forged[2] == 'A' ? 'B' : 'A';
        assert_int_equal(mox_sasl_client_step(c, forged, strlen(forged), &o, &n),
                         MOX_SASL_FAILURE);
        assert_int_equal(mox_sasl_client_failure(c), MOX_SASL_FAIL_SERVER_PROOF);
        assert_false(mox_sasl_client_complete(c));
        mox_sasl_client_free(c);
    }
    json_decref(root);
}

static void test_rfc_scram_server(void **state)
{
    (void)state;
    json_t *root = load_vectors();
    json_t *arr = json_object_get(root, "vectors"), *v;
    size_t i;
    json_array_foreach(arr, i, v) {
        const char *mech_name = jstr(v, "mechanism");
        mox_sasl_mech mech = mox_sasl_mech_parse(mech_name, strlen(mech_name));
        const char *cfirst = jstr(v, "client_first"), *sfirst = jstr(v, "server_first");
        /* Stored secrets from the vector's password and salt. */
        mox_buf salt = MOX_BUF_INIT;
        vector_salt(sfirst, &salt);
        mox_sasl_derive_params p = MOX_SASL_DERIVE_PARAMS_INIT;
        p.salt = salt.data;
        p.salt_len = salt.len;
        p.iterations = 4096;
        mox_sasl_secrets sec = MOX_SASL_SECRETS_INIT;
        const char *pw = jstr(v, "password");
        assert_int_equal(mox_sasl_secrets_derive(pw, strlen(pw), &p, &sec, NULL), MOX_OK);
        const mox_sasl_scram_secret *sc =
            mech == MOX_SASL_SCRAM_SHA_1 ? &sec.scram_sha1 : &sec.scram_sha256;
        size_t hl = mech == MOX_SASL_SCRAM_SHA_1 ? 20 : 32;
        hex_is(sc->stored_key, hl, jstr(v, "stored_key_hex"), "StoredKey");
        hex_is(sc->server_key, hl, jstr(v, "server_key_hex"), "ServerKey");

        struct store st = {0};
        st.acc[0].user = jstr(v, "username");
        st.acc[0].sec = sec;
        st.n = 1;
        mox_sasl_credentials cr = MOX_SASL_CREDENTIALS_INIT;
        cr.ctx = &st;
        cr.lookup = st_lookup;
        mox_sasl_server_config sc_cfg;
        server_cfg(&sc_cfg);
        sc_cfg.creds = &cr;
        const char *cnonce = strstr(cfirst, ",r=") + 3;
        sc_cfg.fixed_nonce = strstr(sfirst, cnonce) + strlen(cnonce);
        char snonce[64];
        snprintf(snonce, sizeof snonce, "%.*s",
                 (int)(strchr(sc_cfg.fixed_nonce, ',') - sc_cfg.fixed_nonce), sc_cfg.fixed_nonce);
        sc_cfg.fixed_nonce = snonce;
        mox_sasl_server *s;
        assert_int_equal(mox_sasl_server_new(&s, mech, &sc_cfg), MOX_OK);
        const unsigned char *o;
        size_t n;
        assert_int_equal(mox_sasl_server_step(s, cfirst, strlen(cfirst), &o, &n),
                         MOX_SASL_CONTINUE);
        expect_bytes(o, n, sfirst, "server-first");
        const char *cfin = jstr(v, "client_final");
        assert_int_equal(mox_sasl_server_step(s, cfin, strlen(cfin), &o, &n), MOX_SASL_SUCCESS);
        expect_bytes(o, n, jstr(v, "server_final"), "server-final");
        assert_string_equal(mox_sasl_server_authcid(s), "user");
        assert_string_equal(mox_sasl_server_authzid(s), "user");
        assert_int_equal(mox_sasl_server_step(s, "", 0, &o, &n), MOX_ERR_STATE);
        mox_sasl_server_free(s);

        /* A wrong proof (one byte changed) fails as wrong credentials. */
        assert_int_equal(mox_sasl_server_new(&s, mech, &sc_cfg), MOX_OK);
        assert_int_equal(mox_sasl_server_step(s, cfirst, strlen(cfirst), &o, &n),
                         MOX_SASL_CONTINUE);
        char bad[256];
        snprintf(bad, sizeof bad, "%s", cfin);
        char *pp = strstr(bad, ",p=") + 3;
        *pp = *pp == 'A' ? 'B' : 'A';
        assert_int_equal(mox_sasl_server_step(s, bad, strlen(bad), &o, &n), MOX_SASL_FAILURE);
        assert_int_equal(mox_sasl_server_failure(s), MOX_SASL_FAIL_CREDENTIALS);
        expect_bytes(o, n, "e=invalid-proof", "server-error");
        assert_null(mox_sasl_server_authcid(s));
        mox_sasl_server_free(s);
        mox_buf_free(&salt);
        mox_sasl_secrets_wipe(&sec);
    }
    json_decref(root);
}

/* RFC 2195 §2: the CRAM-MD5 example, both sides. */
static void test_rfc2195_cram(void **state)
{
    (void)state;
    const char *chal = "<1896.697170952@postoffice.reston.mci.net>";
    const char *resp = "tim b913a602c7eda7a495b4e6e7334d3890";
    mox_sasl_client_config cc;
    client_cfg(&cc, "tim", "tanstaaftanstaaf");
    mox_sasl_client *c;
    assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_CRAM_MD5, &cc, NULL), MOX_OK);
    const unsigned char *o;
    size_t n;
    assert_int_equal(mox_sasl_client_step(c, NULL, 0, &o, &n), MOX_SASL_CONTINUE);
    assert_int_equal(n, 0);
    assert_false(mox_sasl_client_has_initial(c));
    assert_int_equal(mox_sasl_client_step(c, chal, strlen(chal), &o, &n), MOX_SASL_SUCCESS);
    expect_bytes(o, n, resp, "CRAM-MD5 response");
    mox_sasl_client_free(c);

    /* Server: the challenge from a fixed random (1896) and clock. */
    struct store st = {0};
    st.acc[0].user = "tim";
    derive_into(&st.acc[0].sec, "tanstaaftanstaaf", MOX_SASL_DERIVE_CRAM_MD5);
    st.n = 1;
    mox_sasl_credentials cr = MOX_SASL_CREDENTIALS_INIT;
    cr.ctx = &st;
    cr.lookup = st_lookup;
    struct fixed_rand fr = {.fixed = 1896, .use_fixed = 1};
    mox_random rnd = {sizeof rnd, &fr, rand_fill};
    int64_t now = 697170952LL * 1000000000LL;
    mox_clock clk = {sizeof clk, &now, clock_wall, NULL};
    mox_env env = MOX_ENV_INIT;
    env.random = &rnd;
    env.clock = &clk;
    mox_sasl_server_config sc;
    server_cfg(&sc);
    sc.env = &env;
    sc.creds = &cr;
    sc.hostname = "postoffice.reston.mci.net";
    mox_sasl_server *s;
    assert_int_equal(mox_sasl_server_new(&s, MOX_SASL_CRAM_MD5, &sc), MOX_OK);
    assert_int_equal(mox_sasl_server_step(s, NULL, 0, &o, &n), MOX_SASL_CONTINUE);
    expect_bytes(o, n, chal, "CRAM-MD5 challenge");
    assert_int_equal(mox_sasl_server_step(s, resp, strlen(resp), &o, &n), MOX_SASL_SUCCESS);
    assert_string_equal(mox_sasl_server_authcid(s), "tim");
    mox_sasl_server_free(s);

    /* Upper-case hex is the same digest; a wrong digest is wrong creds. */
    const char *upper = "tim B913A602C7EDA7A495B4E6E7334D3890";
    const char *wrong = "tim b913a602c7eda7a495b4e6e7334d3891";
    const char *cases[][2] = {{upper, "ok"}, {wrong, "bad"}};
    for (size_t k = 0; k < 2; k++) {
        assert_int_equal(mox_sasl_server_new(&s, MOX_SASL_CRAM_MD5, &sc), MOX_OK);
        assert_int_equal(mox_sasl_server_step(s, NULL, 0, &o, &n), MOX_SASL_CONTINUE);
        int want = cases[k][1][0] == 'o' ? MOX_SASL_SUCCESS : MOX_SASL_FAILURE;
        assert_int_equal(mox_sasl_server_step(s, cases[k][0], strlen(cases[k][0]), &o, &n), want);
        if (want == MOX_SASL_FAILURE)
            assert_int_equal(mox_sasl_server_failure(s), MOX_SASL_FAIL_CREDENTIALS);
        mox_sasl_server_free(s);
    }
    mox_sasl_secrets_wipe(&st.acc[0].sec);
}

/* RFC 4616 §4 examples. */
static void test_rfc4616_plain(void **state)
{
    (void)state;
    reset_store();
    static const char ex1[] = "\0tim\0tanstaaftanstaaf";
    static const char ex2[] = "Ursel\0Kurt\0xipj3plmq";
    mox_sasl_client_config cc;
    client_cfg(&cc, "tim", "tanstaaftanstaaf");
    mox_sasl_client *c;
    const unsigned char *o;
    size_t n;
    assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_PLAIN, &cc, NULL), MOX_OK);
    assert_int_equal(mox_sasl_client_step(c, NULL, 0, &o, &n), MOX_SASL_SUCCESS);
    assert_true(mox_sasl_client_has_initial(c));
    assert_int_equal(n, sizeof ex1 - 1);
    assert_memory_equal(o, ex1, n);
    mox_sasl_client_free(c);
    client_cfg(&cc, "Kurt", "xipj3plmq");
    cc.authzid = "Ursel";
    assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_PLAIN, &cc, NULL), MOX_OK);
    assert_int_equal(mox_sasl_client_step(c, NULL, 0, &o, &n), MOX_SASL_SUCCESS);
    assert_int_equal(n, sizeof ex2 - 1);
    assert_memory_equal(o, ex2, n);
    mox_sasl_client_free(c);

    /* Server side with both accounts. */
    struct store st = {0};
    st.acc[0].user = "tim";
    derive_into(&st.acc[0].sec, "tanstaaftanstaaf", MOX_SASL_DERIVE_SCRAM_SHA256);
    st.acc[1].user = "Kurt";
    derive_into(&st.acc[1].sec, "xipj3plmq", MOX_SASL_DERIVE_SCRAM_SHA1);
    st.n = 2;
    mox_sasl_credentials cr = MOX_SASL_CREDENTIALS_INIT;
    cr.ctx = &st;
    cr.lookup = st_lookup;
    cr.authorize = st_authorize;
    mox_sasl_server_config sc;
    server_cfg(&sc);
    sc.creds = &cr;
    mox_sasl_server *s;
    assert_int_equal(mox_sasl_server_new(&s, MOX_SASL_PLAIN, &sc), MOX_OK);
    assert_int_equal(mox_sasl_server_step(s, ex1, sizeof ex1 - 1, &o, &n), MOX_SASL_SUCCESS);
    assert_string_equal(mox_sasl_server_authcid(s), "tim");
    assert_string_equal(mox_sasl_server_authzid(s), "tim");
    mox_sasl_server_free(s);
    /* Kurt acting as Ursel: refused unless the embedder allows it. */
    assert_int_equal(mox_sasl_server_new(&s, MOX_SASL_PLAIN, &sc), MOX_OK);
    assert_int_equal(mox_sasl_server_step(s, ex2, sizeof ex2 - 1, &o, &n), MOX_SASL_FAILURE);
    assert_int_equal(mox_sasl_server_failure(s), MOX_SASL_FAIL_AUTHZ);
    mox_sasl_server_free(s);
    mox_sasl_secrets_wipe(&st.acc[0].sec);
    mox_sasl_secrets_wipe(&st.acc[1].sec);
}

/* ------------------------------------------------------------ round trips */

static void test_roundtrips(void **state)
{
    (void)state;
    reset_store();
    struct rt r;
    mox_sasl_server_config sc;
    mox_sasl_client_config cc;
    for (size_t i = 0; i < sizeof password_mechs / sizeof password_mechs[0]; i++) {
        mox_sasl_mech m = password_mechs[i];
        server_cfg(&sc);
        client_cfg(&cc, "mjl", "test1234");
        assert_int_equal(exchange(m, &sc, &cc, &r), MOX_OK);
        if (r.srv != MOX_SASL_SUCCESS || r.cli != MOX_SASL_SUCCESS)
            fail_msg("%s: srv %d (%s) cli %d (%s)", mox_sasl_mech_name(m), r.srv,
                     mox_sasl_failure_name(r.sf), r.cli, mox_sasl_failure_name(r.cf));
        assert_string_equal(r.authcid, "mjl");
        assert_string_equal(r.authzid, "mjl");

        /* Wrong password. */
        client_cfg(&cc, "mjl", "test12345");
        assert_int_equal(exchange(m, &sc, &cc, &r), MOX_OK);
        assert_int_equal(r.srv, MOX_SASL_FAILURE);
        if (r.sf != MOX_SASL_FAIL_CREDENTIALS)
            fail_msg("%s wrong password: %s", mox_sasl_mech_name(m), mox_sasl_failure_name(r.sf));

        /* Unknown user. */
        client_cfg(&cc, "nobody", "test1234");
        assert_int_equal(exchange(m, &sc, &cc, &r), MOX_OK);
        assert_int_equal(r.srv, MOX_SASL_FAILURE);
        assert_int_equal(r.sf, MOX_SASL_FAIL_UNKNOWN_USER);

        /* A user without any stored secret. */
        client_cfg(&cc, "nosecret", "whatever1");
        assert_int_equal(exchange(m, &sc, &cc, &r), MOX_OK);
        assert_int_equal(r.srv, MOX_SASL_FAILURE);
        assert_int_equal(r.sf, MOX_SASL_FAIL_NO_SECRET);

        /* Temporary failure of the store. */
        g_store.temp_fail = 1;
        client_cfg(&cc, "mjl", "test1234");
        assert_int_equal(exchange(m, &sc, &cc, &r), MOX_OK);
        assert_int_equal(r.sf, MOX_SASL_FAIL_TEMPORARY);
        g_store.temp_fail = 0;

        /* Deferred lookup: PENDING twice, then the answer. */
        g_store.again = 2;
        assert_int_equal(exchange(m, &sc, &cc, &r), MOX_OK);
        assert_int_equal(r.srv, MOX_SASL_SUCCESS);
        assert_int_equal(g_store.again, 0);
    }
    /* Only SCRAM-SHA-256 stored: SHA-1 and CRAM-MD5 report the missing
     * secret, PLAIN and SHA-256 work. */
    server_cfg(&sc);
    client_cfg(&cc, "only256", "pw256pw256");
    const struct {
        mox_sasl_mech m;
        int srv;
        mox_sasl_failure f;
    } only[] = {
        {MOX_SASL_SCRAM_SHA_256, MOX_SASL_SUCCESS, MOX_SASL_FAIL_NONE},
        {MOX_SASL_PLAIN, MOX_SASL_SUCCESS, MOX_SASL_FAIL_NONE},
        {MOX_SASL_LOGIN, MOX_SASL_SUCCESS, MOX_SASL_FAIL_NONE},
        {MOX_SASL_SCRAM_SHA_1, MOX_SASL_FAILURE, MOX_SASL_FAIL_NO_SECRET},
        {MOX_SASL_CRAM_MD5, MOX_SASL_FAILURE, MOX_SASL_FAIL_NO_SECRET},
    };
    for (size_t i = 0; i < sizeof only / sizeof only[0]; i++) {
        assert_int_equal(exchange(only[i].m, &sc, &cc, &r), MOX_OK);
        assert_int_equal(r.srv, only[i].srv);
        assert_int_equal(r.sf, only[i].f);
    }
}

static int allow_all_verify(void *ctx, const char *user, const char *pw, size_t len)
{
    (void)ctx;
    if (strcmp(user, "ext"))
        return MOX_ERR_NOTFOUND;
    return len == 6 && !memcmp(pw, "secret", 6) ? MOX_OK : MOX_ERR_PERM;
}

static void test_verify_password_callback(void **state)
{
    (void)state;
    mox_sasl_credentials cr = MOX_SASL_CREDENTIALS_INIT;
    cr.verify_password = allow_all_verify;
    mox_sasl_server_config sc;
    server_cfg(&sc);
    sc.creds = &cr;
    mox_sasl_client_config cc;
    struct rt r;
    client_cfg(&cc, "ext", "secret");
    assert_int_equal(exchange(MOX_SASL_PLAIN, &sc, &cc, &r), MOX_OK);
    assert_int_equal(r.srv, MOX_SASL_SUCCESS);
    assert_int_equal(exchange(MOX_SASL_LOGIN, &sc, &cc, &r), MOX_OK);
    assert_int_equal(r.srv, MOX_SASL_SUCCESS);
    client_cfg(&cc, "ext", "wrong1");
    assert_int_equal(exchange(MOX_SASL_PLAIN, &sc, &cc, &r), MOX_OK);
    assert_int_equal(r.sf, MOX_SASL_FAIL_CREDENTIALS);
    client_cfg(&cc, "other", "secret");
    assert_int_equal(exchange(MOX_SASL_LOGIN, &sc, &cc, &r), MOX_OK);
    assert_int_equal(r.sf, MOX_SASL_FAIL_UNKNOWN_USER);
    /* Without lookup, SCRAM cannot be offered an engine. */
    mox_sasl_server *s;
    assert_int_equal(mox_sasl_server_new(&s, MOX_SASL_SCRAM_SHA_256, &sc), MOX_ERR_INVAL);
}

static void test_plus(void **state)
{
    (void)state;
    reset_store();
    struct chan_data d = {"unique-finished", "exporter-32-bytes-exporter-32-by"};
    struct chan_data other = {"other-finished!", "another-exporter-value-32-bytes!"};
    mox_sasl_channel sch, cch;
    tls_chan(&sch, &d);
    tls_chan(&cch, &d);
    mox_sasl_server_config sc;
    mox_sasl_client_config cc;
    struct rt r;
    const mox_sasl_mech plus[] = {MOX_SASL_SCRAM_SHA_1_PLUS, MOX_SASL_SCRAM_SHA_256_PLUS};
    const mox_sasl_cb_type types[] = {MOX_SASL_CB_TLS_UNIQUE, MOX_SASL_CB_TLS_EXPORTER};
    for (size_t i = 0; i < 2; i++) {
        for (size_t t = 0; t < 2; t++) {
            server_cfg(&sc);
            sc.channel = &sch;
            client_cfg(&cc, "mjl", "test1234");
            cc.channel = &cch;
            cc.cb_type = types[t];
            assert_int_equal(exchange(plus[i], &sc, &cc, &r), MOX_OK);
            if (r.srv != MOX_SASL_SUCCESS)
                fail_msg("%s/%d: %s", mox_sasl_mech_name(plus[i]), (int)types[t],
                         mox_sasl_failure_name(r.sf));
            assert_int_equal(r.cli, MOX_SASL_SUCCESS);

            /* Client on a different TLS session (a MITM relaying). */
            mox_sasl_channel mitm;
            tls_chan(&mitm, &other);
            cc.channel = &mitm;
            assert_int_equal(exchange(plus[i], &sc, &cc, &r), MOX_OK);
            assert_int_equal(r.srv, MOX_SASL_FAILURE);
            assert_int_equal(r.sf, MOX_SASL_FAIL_CHANNEL_BINDING);
        }
    }
    /* The server lacks the type the client asks for. */
    struct chan_data only_unique = {"unique-finished", NULL};
    mox_sasl_channel sch2;
    tls_chan(&sch2, &only_unique);
    server_cfg(&sc);
    sc.channel = &sch2;
    client_cfg(&cc, "mjl", "test1234");
    cc.channel = &cch;
    cc.cb_type = MOX_SASL_CB_TLS_EXPORTER;
    assert_int_equal(exchange(MOX_SASL_SCRAM_SHA_256_PLUS, &sc, &cc, &r), MOX_OK);
    assert_int_equal(r.sf, MOX_SASL_FAIL_CHANNEL_BINDING);
    /* Auto choice prefers tls-exporter; with only tls-unique on both
     * sides it uses that. */
    struct chan_data cu = {"unique-finished", NULL};
    mox_sasl_channel cch2;
    tls_chan(&cch2, &cu);
    cc.channel = &cch2;
    cc.cb_type = MOX_SASL_CB_NONE;
    assert_int_equal(exchange(MOX_SASL_SCRAM_SHA_256_PLUS, &sc, &cc, &r), MOX_OK);
    assert_int_equal(r.srv, MOX_SASL_SUCCESS);

    /* Downgrade: client can bind (says "y") but uses plain SCRAM against a
     * server that offers -PLUS. */
    server_cfg(&sc);
    sc.channel = &sch;
    cc.channel = &cch;
    assert_int_equal(exchange(MOX_SASL_SCRAM_SHA_256, &sc, &cc, &r), MOX_OK);
    assert_int_equal(r.srv, MOX_SASL_FAILURE);
    assert_int_equal(r.sf, MOX_SASL_FAIL_CHANNEL_BINDING);
    /* The same "y" is fine when the server really has no binding. */
    mox_sasl_channel nocb;
    struct chan_data none = {NULL, NULL};
    tls_chan(&nocb, &none);
    sc.channel = &nocb;
    assert_int_equal(exchange(MOX_SASL_SCRAM_SHA_256, &sc, &cc, &r), MOX_OK);
    assert_int_equal(r.srv, MOX_SASL_SUCCESS);
    /* A client without TLS says "n": accepted by a server offering PLUS. */
    sc.channel = &sch;
    cc.channel = NULL;
    assert_int_equal(exchange(MOX_SASL_SCRAM_SHA_1, &sc, &cc, &r), MOX_OK);
    assert_int_equal(r.srv, MOX_SASL_SUCCESS);
    /* A client refuses -PLUS without binding data. */
    mox_sasl_client *c;
    assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_SCRAM_SHA_256_PLUS, &cc, NULL),
                     MOX_ERR_PERM);
}

static void test_external(void **state)
{
    (void)state;
    reset_store();
    struct chan_data d = {NULL, "exp"};
    mox_sasl_channel sch, cch;
    tls_chan(&sch, &d);
    sch.external_identity = "mjl";
    tls_chan(&cch, &d);
    cch.external_identity = "";
    mox_sasl_server_config sc;
    server_cfg(&sc);
    sc.channel = &sch;
    sc.creds = NULL; /* EXTERNAL needs no credentials store */
    mox_sasl_client_config cc;
    client_cfg(&cc, NULL, NULL);
    cc.channel = &cch;
    struct rt r;
    assert_int_equal(exchange(MOX_SASL_EXTERNAL, &sc, &cc, &r), MOX_OK);
    assert_int_equal(r.srv, MOX_SASL_SUCCESS);
    assert_string_equal(r.authcid, "mjl");
    assert_string_equal(r.authzid, "mjl");
    cc.authzid = "mjl";
    assert_int_equal(exchange(MOX_SASL_EXTERNAL, &sc, &cc, &r), MOX_OK);
    assert_int_equal(r.srv, MOX_SASL_SUCCESS);
    cc.authzid = "other";
    assert_int_equal(exchange(MOX_SASL_EXTERNAL, &sc, &cc, &r), MOX_OK);
    assert_int_equal(r.sf, MOX_SASL_FAIL_AUTHZ);
    /* An admin certificate allowed to act for another account. */
    g_store.may_act_as = "other";
    sc.creds = &g_creds;
    sch.external_identity = "admin";
    assert_int_equal(exchange(MOX_SASL_EXTERNAL, &sc, &cc, &r), MOX_OK);
    assert_int_equal(r.srv, MOX_SASL_SUCCESS);
    assert_string_equal(r.authcid, "admin");
    assert_string_equal(r.authzid, "other");
    /* Without a certificate identity, EXTERNAL is not offered. */
    sch.external_identity = NULL;
    mox_sasl_server *s;
    assert_int_equal(mox_sasl_server_new(&s, MOX_SASL_EXTERNAL, &sc), MOX_ERR_PERM);
    reset_store();
}

static void test_authz_scram(void **state)
{
    (void)state;
    reset_store();
    mox_sasl_server_config sc;
    server_cfg(&sc);
    mox_sasl_client_config cc;
    client_cfg(&cc, "admin", "adminpw!");
    cc.authzid = "mjl,x=y"; /* exercises saslname escaping of , and = */
    struct rt r;
    assert_int_equal(exchange(MOX_SASL_SCRAM_SHA_256, &sc, &cc, &r), MOX_OK);
    assert_int_equal(r.sf, MOX_SASL_FAIL_AUTHZ);
    g_store.may_act_as = "mjl,x=y";
    assert_int_equal(exchange(MOX_SASL_SCRAM_SHA_256, &sc, &cc, &r), MOX_OK);
    assert_int_equal(r.srv, MOX_SASL_SUCCESS);
    assert_string_equal(r.authzid, "mjl,x=y");
    assert_int_equal(exchange(MOX_SASL_PLAIN, &sc, &cc, &r), MOX_OK);
    assert_int_equal(r.srv, MOX_SASL_SUCCESS);
    reset_store();
}

/* ------------------------------------------------------------ PRECIS */

static void test_precis(void **state)
{
    (void)state;
    reset_store();
    /* "café" in NFC (U+00E9) and NFD (e + U+0301) log in the same. */
    const char *nfc = "caf\xc3\xa9-pass", *nfd = "cafe\xcc\x81-pass";
    struct store st = {0};
    st.acc[0].user = "\xc3\xa9mile"; /* émile, NFC */
    derive_into(&st.acc[0].sec, nfc, MOX_SASL_DERIVE_ALL);
    st.n = 1;
    mox_sasl_credentials cr = MOX_SASL_CREDENTIALS_INIT;
    cr.ctx = &st;
    cr.lookup = st_lookup;
    mox_sasl_server_config sc;
    server_cfg(&sc);
    sc.creds = &cr;
    mox_sasl_client_config cc;
    struct rt r;
    for (size_t i = 0; i < sizeof password_mechs / sizeof password_mechs[0]; i++) {
        /* Username given in NFD too: normalised to NFC on both sides. */
        client_cfg(&cc, "e\xcc\x81mile", nfd);
        assert_int_equal(exchange(password_mechs[i], &sc, &cc, &r), MOX_OK);
        if (r.srv != MOX_SASL_SUCCESS)
            fail_msg("%s NFD: %s", mox_sasl_mech_name(password_mechs[i]),
                     mox_sasl_failure_name(r.sf));
        assert_string_equal(r.authcid, "\xc3\xa9mile");
        /* A non-ASCII space (U+00A0) maps to U+0020 under OpaqueString. */
    }
    assert_int_equal(mox_sasl_verify_password(&st.acc[0].sec, nfd, strlen(nfd)), MOX_OK);
    assert_int_equal(mox_sasl_verify_password(&st.acc[0].sec, "cafe-pass", 9), MOX_ERR_PERM);
    mox_sasl_secrets sp = MOX_SASL_SECRETS_INIT;
    derive_into(&sp, "a b", MOX_SASL_DERIVE_SCRAM_SHA256);
    assert_int_equal(mox_sasl_verify_password(&sp, "a\xc2\xa0" "b", 4), MOX_OK);

    /* Prohibited code points and empty passwords are refused at derivation. */
    mox_sasl_secrets s = MOX_SASL_SECRETS_INIT;
    mox_errinfo ei;
    assert_int_equal(mox_sasl_secrets_derive("bad\x07pw", 6, NULL, &s, &ei), MOX_ERR_PRECIS);
    assert_int_equal(ei.offset, 3);
    assert_int_equal(mox_sasl_secrets_derive("", 0, NULL, &s, &ei), MOX_ERR_PRECIS);
    assert_int_equal(mox_sasl_secrets_derive("\xff", 1, NULL, &s, &ei), MOX_ERR_UTF8);
    assert_int_equal(mox_sasl_secrets_derive("nul\0pw", 6, NULL, &s, &ei), MOX_ERR_PRECIS);
    assert_false(s.scram_sha256.present);
    /* The client refuses such a password too. */
    client_cfg(&cc, "mjl", "bad\x07pw");
    mox_sasl_client *c;
    assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_SCRAM_SHA_256, &cc, &ei), MOX_ERR_PRECIS);
    client_cfg(&cc, "\xff", "pw");
    assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_PLAIN, &cc, &ei), MOX_ERR_UTF8);
    mox_sasl_secrets_wipe(&st.acc[0].sec);
}

/* ------------------------------------------------------------ secrets */

static void test_secrets_format(void **state)
{
    (void)state;
    mox_sasl_secrets s = MOX_SASL_SECRETS_INIT, t = MOX_SASL_SECRETS_INIT;
    derive_into(&s, "test1234", MOX_SASL_DERIVE_ALL);
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_sasl_secrets_format(&s, &b), MOX_OK);
    assert_true(strncmp((char *)b.data, "mox-sasl-v1 scram-sha-256=4096:", 31) == 0);
    assert_non_null(strstr((char *)b.data, " scram-sha-1=4096:"));
    assert_non_null(strstr((char *)b.data, " cram-md5="));
    assert_null(strchr((char *)b.data, '\n'));
    assert_int_equal(mox_sasl_secrets_parse((char *)b.data, b.len, &t, NULL), MOX_OK);
    assert_memory_equal(&s, &t, sizeof s);
    /* With a line ending and an unknown future field. */
    mox_buf b2 = MOX_BUF_INIT;
    assert_int_equal(mox_buf_appendf(&b2, "%s future-mech=abc\r\n", (char *)b.data), MOX_OK);
    assert_int_equal(mox_sasl_secrets_parse((char *)b2.data, b2.len, &t, NULL), MOX_OK);
    assert_memory_equal(&s, &t, sizeof s);
    assert_int_equal(mox_sasl_verify_password(&t, "test1234", 8), MOX_OK);
    assert_int_equal(mox_sasl_verify_password(&t, "test123", 7), MOX_ERR_PERM);
    mox_buf_free(&b2);
    mox_buf_free(&b);

    /* Each secret alone verifies a password. */
    const unsigned which[] = {MOX_SASL_DERIVE_SCRAM_SHA1, MOX_SASL_DERIVE_SCRAM_SHA256,
                              MOX_SASL_DERIVE_CRAM_MD5};
    for (size_t i = 0; i < 3; i++) {
        mox_sasl_secrets one = MOX_SASL_SECRETS_INIT;
        derive_into(&one, "pencil-case", which[i]);
        assert_int_equal(mox_sasl_verify_password(&one, "pencil-case", 11), MOX_OK);
        assert_int_equal(mox_sasl_verify_password(&one, "pencil-cas", 10), MOX_ERR_PERM);
        assert_int_equal(mox_sasl_verify_password(&one, "\x07", 1), MOX_ERR_PERM);
        mox_buf f = MOX_BUF_INIT;
        assert_int_equal(mox_sasl_secrets_format(&one, &f), MOX_OK);
        assert_int_equal(mox_sasl_secrets_parse((char *)f.data, f.len, &t, NULL), MOX_OK);
        assert_memory_equal(&one, &t, sizeof one);
        mox_buf_free(&f);
    }
    mox_sasl_secrets empty = MOX_SASL_SECRETS_INIT;
    assert_int_equal(mox_sasl_verify_password(&empty, "x", 1), MOX_ERR_NOTFOUND);
    /* Stored secrets with absurd parameters count as absent, so a broken
     * store cannot make a login spend unbounded CPU. */
    mox_sasl_secrets odd = s;
    odd.scram_sha1.present = 0;
    odd.cram_md5_present = 0;
    odd.scram_sha256.iterations = MOX_SASL_MAX_ITERATIONS + 1;
    assert_int_equal(mox_sasl_verify_password(&odd, "test1234", 8), MOX_ERR_NOTFOUND);
    odd.scram_sha256.iterations = 4096;
    odd.scram_sha256.salt_len = 0;
    assert_int_equal(mox_sasl_verify_password(&odd, "test1234", 8), MOX_ERR_NOTFOUND);
    odd.scram_sha256.salt_len = MOX_SASL_SALT_MAX + 1;
    assert_int_equal(mox_sasl_verify_password(&odd, "test1234", 8), MOX_ERR_NOTFOUND);

    static const struct {
        const char *s;
        int rc;
    } bad[] = {
        {"", MOX_ERR_SYNTAX},
        {"mox-sasl-v2 cram-md5=00", MOX_ERR_UNSUPPORTED},
        {"mox-sasl-v10", MOX_ERR_UNSUPPORTED},
        {"other", MOX_ERR_SYNTAX},
        {"mox-sasl-v1 cram-md5=00", MOX_ERR_SYNTAX},
        {"mox-sasl-v1 cram-md5=zz000000000000000000000000000000000000000000000000000000000000",
         MOX_ERR_SYNTAX},
        {"mox-sasl-v1 scram-sha-1=4096:AAAA:AAAA:AAAA", MOX_ERR_SYNTAX},
        {"mox-sasl-v1 scram-sha-1=0:AAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
         MOX_ERR_SYNTAX},
        {"mox-sasl-v1 scram-sha-1=99999999999:AAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAA=:"
         "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", MOX_ERR_SYNTAX},
        {"mox-sasl-v1 scram-sha-1=20000000:AAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAA=:"
         "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", MOX_ERR_LIMIT},
        {"mox-sasl-v1 scram-sha-1=4096::AAAAAAAAAAAAAAAAAAAAAAAAAAA=:"
         "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", MOX_ERR_SYNTAX},
        {"mox-sasl-v1 scram-sha-1=4096:AAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAA=:"
         "AAAAAAAAAAAAAAAAAAAAAAAAAAA=:x", MOX_ERR_SYNTAX},
        {"mox-sasl-v1 scram-sha-1=4096:AAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAA=:"
         "AAAAAAAAAAAAAAAAAAAAAAAAAAA= scram-sha-1=4096:AAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAA=:"
         "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", MOX_ERR_SYNTAX},
        {"mox-sasl-v1 noequals", MOX_ERR_SYNTAX},
        {"mox-sasl-v1 =x", MOX_ERR_SYNTAX},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mox_errinfo ei;
        int rc = mox_sasl_secrets_parse(bad[i].s, strlen(bad[i].s), &t, &ei);
        if (rc != bad[i].rc)
            fail_msg("parse \"%s\": %d, want %d", bad[i].s, rc, bad[i].rc);
        assert_false(t.scram_sha1.present);
    }
    /* A salt longer than MOX_SASL_SALT_MAX. */
    mox_buf big = MOX_BUF_INIT;
    unsigned char longsalt[65] = {0};
    assert_int_equal(mox_buf_append_str(&big, "mox-sasl-v1 scram-sha-1=4096:"), MOX_OK);
    assert_int_equal(mox_base64_encode(longsalt, sizeof longsalt, &big), MOX_OK);
    assert_int_equal(mox_buf_append_str(&big, ":AAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
                     MOX_OK);
    assert_int_equal(mox_sasl_secrets_parse((char *)big.data, big.len, &t, NULL), MOX_ERR_LIMIT);
    mox_buf_free(&big);

    /* Derivation parameter limits. */
    mox_sasl_derive_params p = MOX_SASL_DERIVE_PARAMS_INIT;
    p.iterations = 1000;
    assert_int_equal(mox_sasl_secrets_derive("pw", 2, &p, &t, NULL), MOX_ERR_LIMIT);
    p.iterations = MOX_SASL_MAX_ITERATIONS + 1;
    assert_int_equal(mox_sasl_secrets_derive("pw", 2, &p, &t, NULL), MOX_ERR_LIMIT);
    p.iterations = 0;
    p.salt = longsalt;
    p.salt_len = sizeof longsalt;
    assert_int_equal(mox_sasl_secrets_derive("pw", 2, &p, &t, NULL), MOX_ERR_LIMIT);
    /* Random salts differ between derivations. */
    mox_sasl_secrets a = MOX_SASL_SECRETS_INIT, c = MOX_SASL_SECRETS_INIT;
    assert_int_equal(mox_sasl_secrets_derive("pw", 2, NULL, &a, NULL), MOX_OK);
    assert_int_equal(mox_sasl_secrets_derive("pw", 2, NULL, &c, NULL), MOX_OK);
    assert_int_equal(a.scram_sha256.salt_len, 16);
    assert_memory_not_equal(a.scram_sha256.salt, c.scram_sha256.salt, 16);
    mox_sasl_secrets_wipe(&a);
    assert_false(a.scram_sha256.present);
    assert_int_equal(a.size, sizeof a);
    mox_sasl_secrets_wipe(NULL);
    mox_sasl_secrets_wipe(&s);
}

/* ------------------------------------------------------------ negatives */

/* Runs a server engine on `msgs` (NULL entry = no data), expecting the
 * final status and failure of the last step. */
static void srv_script(mox_sasl_mech mech, const mox_sasl_server_config *sc,
                       const char *const *msgs, const size_t *lens, size_t n, int want,
                       mox_sasl_failure wantf, const char *want_out)
{
    mox_sasl_server *s;
    assert_int_equal(mox_sasl_server_new(&s, mech, sc), MOX_OK);
    const unsigned char *o = NULL;
    size_t olen = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = lens && lens[i] != (size_t)-1 ? lens[i] : (msgs[i] ? strlen(msgs[i]) : 0);
        rc = mox_sasl_server_step(s, msgs[i], l, &o, &olen);
        if (rc != MOX_SASL_CONTINUE && i + 1 < n)
            fail_msg("%s step %zu: status %d (%s) before the end", mox_sasl_mech_name(mech), i,
                     rc, mox_sasl_server_failure_text(s));
    }
    if (rc != want || mox_sasl_server_failure(s) != wantf)
        fail_msg("%s: status %d failure %s (%s), want %d %s", mox_sasl_mech_name(mech), rc,
                 mox_sasl_failure_name(mox_sasl_server_failure(s)),
                 mox_sasl_server_failure_text(s), want, mox_sasl_failure_name(wantf));
    if (want_out)
        expect_bytes(o, olen, want_out, "server output");
    mox_sasl_server_free(s);
}

static void test_plain_login_negative(void **state)
{
    (void)state;
    reset_store();
    mox_sasl_server_config sc;
    server_cfg(&sc);
    const int F = MOX_SASL_FAILURE;
    const mox_sasl_failure M = MOX_SASL_FAIL_MALFORMED;
    struct {
        const char *msg;
        size_t len;
        mox_sasl_failure f;
    } plain[] = {
        {"\0mjl\0test1234", 13, MOX_SASL_FAIL_NONE},
        {"mjl\0mjl\0test1234", 16, MOX_SASL_FAIL_NONE},
        {"\0mjl\0test1234\0", 14, M},        /* third NUL */
        {"\0mjl\0te\0st1234", 14, M},        /* NUL inside the password */
        {"\0mjl", 4, M},                     /* one NUL */
        {"mjl test1234", 12, M},             /* none */
        {"\0\0test1234", 10, M},             /* empty authcid */
        {"\0mjl\0", 5, M},                   /* empty password */
        {"\0m\xffjl\0test1234", 14, M},      /* invalid UTF-8 */
        {"\xc0\x80\0mjl\0test1234", 15, M},  /* overlong in authzid */
        {"\0mjl\0test1235", 13, MOX_SASL_FAIL_CREDENTIALS},
        {"other\0mjl\0test1234", 18, MOX_SASL_FAIL_AUTHZ},
        {"", 0, M},
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        const char *msgs[1] = {plain[i].msg};
        size_t lens[1] = {plain[i].len};
        srv_script(MOX_SASL_PLAIN, &sc, msgs, lens, 1,
                   plain[i].f == MOX_SASL_FAIL_NONE ? MOX_SASL_SUCCESS : F, plain[i].f, NULL);
    }
    /* PLAIN without initial response: empty challenge, then the message. */
    const char *two[2] = {NULL, "\0mjl\0test1234"};
    size_t twol[2] = {0, 13};
    srv_script(MOX_SASL_PLAIN, &sc, two, twol, 2, MOX_SASL_SUCCESS, MOX_SASL_FAIL_NONE, "");

    /* LOGIN, with and without the username as initial response. */
    const char *l1[3] = {NULL, "mjl", "test1234"};
    srv_script(MOX_SASL_LOGIN, &sc, l1, NULL, 3, MOX_SASL_SUCCESS, MOX_SASL_FAIL_NONE, NULL);
    const char *l2[2] = {"mjl", "test1234"};
    srv_script(MOX_SASL_LOGIN, &sc, l2, NULL, 2, MOX_SASL_SUCCESS, MOX_SASL_FAIL_NONE, NULL);
    const char *l3[3] = {NULL, "mjl", "te\0st1234"};
    size_t l3l[3] = {0, 3, 9};
    srv_script(MOX_SASL_LOGIN, &sc, l3, l3l, 3, F, M, NULL);
    const char *l4[2] = {"m\0jl", "test1234"};
    size_t l4l[2] = {4, 8};
    mox_sasl_server *s;
    assert_int_equal(mox_sasl_server_new(&s, MOX_SASL_LOGIN, &sc), MOX_OK);
    const unsigned char *o;
    size_t n;
    assert_int_equal(mox_sasl_server_step(s, l4[0], l4l[0], &o, &n), F);
    assert_int_equal(mox_sasl_server_failure(s), M);
    mox_sasl_server_free(s);
    /* The challenges clients look for. */
    assert_int_equal(mox_sasl_server_new(&s, MOX_SASL_LOGIN, &sc), MOX_OK);
    assert_int_equal(mox_sasl_server_step(s, NULL, 0, &o, &n), MOX_SASL_CONTINUE);
    expect_bytes(o, n, "Username:", "LOGIN challenge 1");
    assert_int_equal(mox_sasl_server_step(s, "mjl", 3, &o, &n), MOX_SASL_CONTINUE);
    expect_bytes(o, n, "Password:", "LOGIN challenge 2");
    assert_string_equal(mox_sasl_server_username(s), "mjl");
    assert_int_equal(mox_sasl_server_step(s, "", 0, &o, &n), F);
    mox_sasl_server_free(s);
    const char *l5[3] = {NULL, "", "x"};
    srv_script(MOX_SASL_LOGIN, &sc, l5, NULL, 2, F, M, NULL);

    /* Overlong input, for every mechanism. */
    char *big = malloc(9000);
    memset(big, 'a', 9000);
    for (int m = MOX_SASL_PLAIN; m <= MOX_SASL_SCRAM_SHA_256; m++) {
        if (m == MOX_SASL_SCRAM_SHA_1_PLUS)
            continue;
        assert_int_equal(mox_sasl_server_new(&s, (mox_sasl_mech)m, &sc), MOX_OK);
        if (m == MOX_SASL_CRAM_MD5)
            assert_int_equal(mox_sasl_server_step(s, NULL, 0, &o, &n), MOX_SASL_CONTINUE);
        assert_int_equal(mox_sasl_server_step(s, big, 9000, &o, &n), F);
        assert_int_equal(mox_sasl_server_failure(s), M);
        mox_sasl_server_free(s);
    }
    sc.max_input = 100;
    assert_int_equal(mox_sasl_server_new(&s, MOX_SASL_PLAIN, &sc), MOX_OK);
    assert_int_equal(mox_sasl_server_step(s, big, 101, &o, &n), F);
    mox_sasl_server_free(s);
    free(big);

    /* Abort at any point. */
    server_cfg(&sc);
    assert_int_equal(mox_sasl_server_new(&s, MOX_SASL_LOGIN, &sc), MOX_OK);
    assert_int_equal(mox_sasl_server_step(s, NULL, 0, &o, &n), MOX_SASL_CONTINUE);
    assert_int_equal(mox_sasl_server_abort(s), F);
    assert_int_equal(mox_sasl_server_failure(s), MOX_SASL_FAIL_ABORTED);
    assert_int_equal(mox_sasl_server_abort(s), MOX_ERR_STATE);
    assert_int_equal(mox_sasl_server_step(s, "x", 1, &o, &n), MOX_ERR_STATE);
    assert_int_equal(mox_sasl_server_resume(s, &o, &n), MOX_ERR_STATE);
    mox_sasl_server_free(s);
    /* Caller errors. */
    assert_int_equal(mox_sasl_server_new(&s, MOX_SASL_PLAIN, &sc), MOX_OK);
    assert_int_equal(mox_sasl_server_step(s, NULL, 3, &o, &n), MOX_ERR_INVAL);
    assert_int_equal(mox_sasl_server_step(s, "x", 1, NULL, &n), MOX_ERR_INVAL);
    mox_sasl_server_free(s);
    mox_sasl_server_free(NULL);
    mox_sasl_client_free(NULL);

    /* CRAM-MD5 malformed responses. */
    const char *cram_bad[] = {
        "mjl", "mjl 0123", "mjl zz000000000000000000000000000000", " 00000000000000000000000000000000",
        "00000000000000000000000000000000",
    };
    for (size_t i = 0; i < sizeof cram_bad / sizeof cram_bad[0]; i++) {
        const char *msgs[2] = {NULL, cram_bad[i]};
        srv_script(MOX_SASL_CRAM_MD5, &sc, msgs, NULL, 2, F, M, NULL);
    }
    const char *cram_ir[1] = {"mjl 00000000000000000000000000000000"};
    srv_script(MOX_SASL_CRAM_MD5, &sc, cram_ir, NULL, 1, F, M, NULL);
    const char *cram_unknown[2] = {NULL, "nobody 00000000000000000000000000000000"};
    srv_script(MOX_SASL_CRAM_MD5, &sc, cram_unknown, NULL, 2, F, MOX_SASL_FAIL_UNKNOWN_USER,
               NULL);
}

/* A SCRAM exchange up to server-first, so the test can craft client-final. */
struct scram_ctx {
    mox_sasl_server *s;
    char sfirst[256];
};

static void scram_start(struct scram_ctx *x, mox_sasl_mech mech, const mox_sasl_server_config *sc,
                        const char *cfirst)
{
    assert_int_equal(mox_sasl_server_new(&x->s, mech, sc), MOX_OK);
    const unsigned char *o;
    size_t n;
    int rc = mox_sasl_server_step(x->s, cfirst, strlen(cfirst), &o, &n);
    if (rc != MOX_SASL_CONTINUE)
        fail_msg("client-first \"%s\": %s", cfirst, mox_sasl_server_failure_text(x->s));
    snprintf(x->sfirst, sizeof x->sfirst, "%.*s", (int)n, (const char *)o);
}

static void test_scram_negative(void **state)
{
    (void)state;
    reset_store();
    mox_sasl_server_config sc;
    server_cfg(&sc);
    sc.fixed_nonce = "SRVNONCE";
    const int F = MOX_SASL_FAILURE;
    const mox_sasl_failure M = MOX_SASL_FAIL_MALFORMED, CB = MOX_SASL_FAIL_CHANNEL_BINDING;
    struct {
        const char *cfirst;
        mox_sasl_failure f;
        const char *e;
    } first[] = {
        {"x,,n=mjl,r=abc", M, "e=other-error"},
        {"n,n=mjl,r=abc", M, "e=other-error"},
        {"n,,r=abc,n=mjl", M, "e=other-error"},
        {"n,,n=mjl", M, "e=other-error"},
        {"n,,n=mjl,r=", M, "e=other-error"},
        {"n,,n=mjl,r=a b", M, "e=other-error"},
        {"n,,m=ext,n=mjl,r=abc", M, "e=extensions-not-supported"},
        {"n,,n=m=2Xjl,r=abc", M, "e=invalid-username-encoding"},
        {"n,,n=mjl=,r=abc", M, "e=invalid-username-encoding"},
        {"n,,n=,r=abc", M, "e=invalid-username-encoding"},
        {"n,a=,n=mjl,r=abc", M, "e=invalid-username-encoding"},
        {"n,,n=mjl,r=abc,", M, "e=other-error"},
        {"n,,n=mjl,,r=abc", M, "e=other-error"},
        {"p=tls-unique,,n=mjl,r=abc", CB, "e=server-does-not-support-channel-binding"},
        {"p=tls-unique", M, "e=other-error"},
        {"", M, "e=other-error"},
        {"n,,x=mjl,r=abc", M, "e=other-error"},
    };
    for (size_t i = 0; i < sizeof first / sizeof first[0]; i++) {
        const char *msgs[1] = {first[i].cfirst};
        srv_script(MOX_SASL_SCRAM_SHA_256, &sc, msgs, NULL, 1, F, first[i].f, first[i].e);
    }
    /* Unknown extension attributes after the nonce are ignored. */
    struct scram_ctx x;
    scram_start(&x, MOX_SASL_SCRAM_SHA_256, &sc, "n,,n=mjl,r=abc,x=future,y=");
    assert_true(strncmp(x.sfirst, "r=abcSRVNONCE,s=", 16) == 0);
    mox_sasl_server_free(x.s);
    /* Embedded NUL in the client-first message. */
    const char nulmsg[] = "n,,n=m\0jl,r=abc";
    const char *nm[1] = {nulmsg};
    size_t nl[1] = {sizeof nulmsg - 1};
    srv_script(MOX_SASL_SCRAM_SHA_1, &sc, nm, nl, 1, F, M, NULL);

    /* client-final faults, after a valid client-first. */
    struct {
        const char *cfinal;
        mox_sasl_failure f;
        const char *e;
    } fin[] = {
        {"c=biws,r=abcSRVNONCE", M, "e=other-error"},                 /* no proof */
        {"r=abcSRVNONCE,c=biws,p=AAAA", M, "e=other-error"},          /* order */
        {"c=biws,r=abcSRVNONCX,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", M,
         "e=other-error"},                                            /* bad nonce */
        {"c=biws,r=abc,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", M, "e=other-error"},
        {"c=bi!s,r=abcSRVNONCE,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", M,
         "e=invalid-encoding"},                                       /* bad base64 */
        {"c=eSws,r=abcSRVNONCE,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", CB,
         "e=channel-bindings-dont-match"},                            /* "y,," */
        {"c=,r=abcSRVNONCE,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", CB,
         "e=channel-bindings-dont-match"},
        {"c=biws,r=abcSRVNONCE,p=AAAA", M, "e=invalid-encoding"},     /* short proof */
        {"c=biws,r=abcSRVNONCE,p=!!!!", M, "e=invalid-encoding"},
        {"c=biws,r=abcSRVNONCE,m=x,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", M,
         "e=extensions-not-supported"},
        {"c=biws,r=abcSRVNONCE,x=ignored,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
         MOX_SASL_FAIL_CREDENTIALS, "e=invalid-proof"},               /* unknown attr ok */
        {"c=biws,r=abcSRVNONCE,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
         MOX_SASL_FAIL_CREDENTIALS, "e=invalid-proof"},
    };
    for (size_t i = 0; i < sizeof fin / sizeof fin[0]; i++) {
        scram_start(&x, MOX_SASL_SCRAM_SHA_256, &sc, "n,,n=mjl,r=abc");
        const unsigned char *o;
        size_t n;
        int rc = mox_sasl_server_step(x.s, fin[i].cfinal, strlen(fin[i].cfinal), &o, &n);
        if (rc != F || mox_sasl_server_failure(x.s) != fin[i].f)
            fail_msg("client-final \"%s\": %d %s (%s)", fin[i].cfinal, rc,
                     mox_sasl_failure_name(mox_sasl_server_failure(x.s)),
                     mox_sasl_server_failure_text(x.s));
        expect_bytes(o, n, fin[i].e, "server-error");
        mox_sasl_server_free(x.s);
    }
    /* No data where client-final belongs. */
    scram_start(&x, MOX_SASL_SCRAM_SHA_1, &sc, "n,,n=mjl,r=abc");
    const unsigned char *o;
    size_t n;
    assert_int_equal(mox_sasl_server_step(x.s, NULL, 0, &o, &n), F);
    mox_sasl_server_free(x.s);

    /* -PLUS: flags n and y are refused, unknown types too. */
    struct chan_data d = {"uniq", NULL};
    mox_sasl_channel ch;
    tls_chan(&ch, &d);
    sc.channel = &ch;
    const struct {
        const char *cfirst;
        const char *e;
    } plus[] = {
        {"n,,n=mjl,r=abc", "e=channel-binding-not-supported"},
        {"y,,n=mjl,r=abc", "e=channel-binding-not-supported"},
        {"p=tls-exporter,,n=mjl,r=abc", "e=unsupported-channel-binding-type"},
        {"p=tls-server-end-point,,n=mjl,r=abc", "e=unsupported-channel-binding-type"},
    };
    for (size_t i = 0; i < sizeof plus / sizeof plus[0]; i++) {
        const char *msgs[1] = {plus[i].cfirst};
        srv_script(MOX_SASL_SCRAM_SHA_256_PLUS, &sc, msgs, NULL, 1, F, CB, plus[i].e);
    }
    /* Downgrade: "y" on a plain SCRAM mechanism while -PLUS is offered. */
    const char *ym[1] = {"y,,n=mjl,r=abc"};
    srv_script(MOX_SASL_SCRAM_SHA_256, &sc, ym, NULL, 1, F, CB,
               "e=server-does-support-channel-binding");
    /* ... which is fine when the server disabled -PLUS. */
    sc.mechs = MOX_SASL_BIT(MOX_SASL_SCRAM_SHA_256);
    scram_start(&x, MOX_SASL_SCRAM_SHA_256, &sc, "y,,n=mjl,r=abc");
    /* c= must repeat "y,,", not "n,,". */
    assert_int_equal(mox_sasl_server_step(x.s, "c=biws,r=abcSRVNONCE,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 67, &o, &n), F);
    assert_int_equal(mox_sasl_server_failure(x.s), CB);
    mox_sasl_server_free(x.s);
    sc.mechs = 0;
    /* p=tls-unique then c= with gs2 "p=tls-unique,," but wrong binding. */
    scram_start(&x, MOX_SASL_SCRAM_SHA_256_PLUS, &sc, "p=tls-unique,,n=mjl,r=abc");
    mox_buf cf = MOX_BUF_INIT, cbv = MOX_BUF_INIT;
    assert_int_equal(mox_buf_append_str(&cbv, "p=tls-unique,,uniX"), MOX_OK);
    assert_int_equal(mox_buf_append_str(&cf, "c="), MOX_OK);
    assert_int_equal(mox_base64_encode(cbv.data, cbv.len, &cf), MOX_OK);
    assert_int_equal(mox_buf_append_str(&cf, ",r=abcSRVNONCE,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), MOX_OK);
    assert_int_equal(mox_sasl_server_step(x.s, cf.data, cf.len, &o, &n), F);
    assert_int_equal(mox_sasl_server_failure(x.s), CB);
    mox_sasl_server_free(x.s);
    mox_buf_free(&cf);
    mox_buf_free(&cbv);
}

/* No user enumeration: an unknown user gets the same shape of server-first,
 * the same salt on every attempt, and the same final error as a wrong
 * password. */
static void test_scram_no_enumeration(void **state)
{
    (void)state;
    reset_store();
    mox_sasl_server_config sc;
    server_cfg(&sc);
    sc.fixed_nonce = "SRV";
    struct scram_ctx a, b, k;
    scram_start(&a, MOX_SASL_SCRAM_SHA_256, &sc, "n,,n=nobody,r=abc");
    scram_start(&b, MOX_SASL_SCRAM_SHA_256, &sc, "n,,n=nobody,r=abc");
    scram_start(&k, MOX_SASL_SCRAM_SHA_256, &sc, "n,,n=mjl,r=abc");
    assert_string_equal(a.sfirst, b.sfirst);
    assert_int_equal(strlen(a.sfirst), strlen(k.sfirst));
    assert_string_equal(strstr(a.sfirst, ",i="), ",i=4096");
    const char *cf = "c=biws,r=abcSRV,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const unsigned char *o1, *o2;
    size_t n1, n2;
    assert_int_equal(mox_sasl_server_step(a.s, cf, strlen(cf), &o1, &n1), MOX_SASL_FAILURE);
    assert_int_equal(mox_sasl_server_step(k.s, cf, strlen(cf), &o2, &n2), MOX_SASL_FAILURE);
    assert_int_equal(n1, n2);
    assert_memory_equal(o1, o2, n1);
    assert_int_equal(mox_sasl_server_failure(a.s), MOX_SASL_FAIL_UNKNOWN_USER);
    assert_int_equal(mox_sasl_server_failure(k.s), MOX_SASL_FAIL_CREDENTIALS);
    assert_string_equal(mox_sasl_server_username(a.s), "nobody");
    /* Another server key gives another salt. */
    unsigned char key2[32] = {1};
    sc.unknown_user_key = key2;
    struct scram_ctx c2;
    scram_start(&c2, MOX_SASL_SCRAM_SHA_256, &sc, "n,,n=nobody,r=abc");
    assert_string_not_equal(c2.sfirst, a.sfirst);
    /* A user without this hash's secret looks the same too. */
    struct scram_ctx ns;
    scram_start(&ns, MOX_SASL_SCRAM_SHA_1, &sc, "n,,n=only256,r=abc");
    assert_non_null(strstr(ns.sfirst, ",i=4096"));
    mox_sasl_server_free(a.s);
    mox_sasl_server_free(b.s);
    mox_sasl_server_free(k.s);
    mox_sasl_server_free(c2.s);
    mox_sasl_server_free(ns.s);
}

/* Client-side checks of server messages. */
static void test_scram_client_negative(void **state)
{
    (void)state;
    mox_sasl_client_config cc;
    client_cfg(&cc, "user", "pencil");
    cc.fixed_nonce = "fyko";
    struct {
        const char *sfirst;
        mox_sasl_failure f;
    } bad[] = {
        {"r=fykoX,s=QSXCR+Q6sek8bf92,i=100", MOX_SASL_FAIL_POLICY},         /* below floor */
        {"r=fykoX,s=QSXCR+Q6sek8bf92,i=20000000", MOX_SASL_FAIL_POLICY},    /* above max */
        {"r=fykoX,s=QSXCR+Q6sek8bf92,i=0", MOX_SASL_FAIL_MALFORMED},
        {"r=fykoX,s=QSXCR+Q6sek8bf92,i=04096", MOX_SASL_FAIL_MALFORMED},
        {"r=fykoX,s=QSXCR+Q6sek8bf92,i=-1", MOX_SASL_FAIL_MALFORMED},
        {"r=fykoX,s=QSXCR+Q6sek8bf92,i=99999999999", MOX_SASL_FAIL_MALFORMED},
        {"r=fyko,s=QSXCR+Q6sek8bf92,i=4096", MOX_SASL_FAIL_MALFORMED},      /* no server part */
        {"r=XykoX,s=QSXCR+Q6sek8bf92,i=4096", MOX_SASL_FAIL_MALFORMED},     /* not our nonce */
        {"r=fykoX,s=QSXC!,i=4096", MOX_SASL_FAIL_MALFORMED},
        {"r=fykoX,s=,i=4096", MOX_SASL_FAIL_MALFORMED},
        {"r=fykoX,i=4096,s=QSXCR+Q6sek8bf92", MOX_SASL_FAIL_MALFORMED},
        {"m=x,r=fykoX,s=QSXCR+Q6sek8bf92,i=4096", MOX_SASL_FAIL_MALFORMED},
        {"e=other-error", MOX_SASL_FAIL_SERVER_ERROR},
        {"", MOX_SASL_FAIL_MALFORMED},
    };
    const unsigned char *o;
    size_t n;
    mox_sasl_client *c;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_SCRAM_SHA_1, &cc, NULL), MOX_OK);
        assert_int_equal(mox_sasl_client_step(c, NULL, 0, &o, &n), MOX_SASL_CONTINUE);
        int rc = mox_sasl_client_step(c, bad[i].sfirst, strlen(bad[i].sfirst), &o, &n);
        if (rc != MOX_SASL_FAILURE || mox_sasl_client_failure(c) != bad[i].f)
            fail_msg("server-first \"%s\": %d %s", bad[i].sfirst, rc,
                     mox_sasl_failure_name(mox_sasl_client_failure(c)));
        assert_string_not_equal(mox_sasl_client_failure_text(c), "");
        mox_sasl_client_free(c);
    }
    /* Limits are configurable; extensions after i= are ignored. */
    cc.min_iterations = 1;
    assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_SCRAM_SHA_1, &cc, NULL), MOX_OK);
    assert_int_equal(mox_sasl_client_step(c, NULL, 0, &o, &n), MOX_SASL_CONTINUE);
    const char *sf = "r=fykoX,s=QSXCR+Q6sek8bf92,i=100,z=ext";
    assert_int_equal(mox_sasl_client_step(c, sf, strlen(sf), &o, &n), MOX_SASL_CONTINUE);
    /* server-final faults */
    assert_int_equal(mox_sasl_client_step(c, "e=invalid-proof", 15, &o, &n), MOX_SASL_FAILURE);
    assert_int_equal(mox_sasl_client_failure(c), MOX_SASL_FAIL_SERVER_ERROR);
    mox_sasl_client_free(c);
    const char *fins[] = {"v=!!", "v=AAAA", "x=1", "", "v="};
    for (size_t i = 0; i < sizeof fins / sizeof fins[0]; i++) {
        assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_SCRAM_SHA_1, &cc, NULL), MOX_OK);
        assert_int_equal(mox_sasl_client_step(c, NULL, 0, &o, &n), MOX_SASL_CONTINUE);
        assert_int_equal(mox_sasl_client_step(c, sf, strlen(sf), &o, &n), MOX_SASL_CONTINUE);
        assert_int_equal(mox_sasl_client_step(c, fins[i], strlen(fins[i]), &o, &n),
                         MOX_SASL_FAILURE);
        assert_int_equal(mox_sasl_client_failure(c), MOX_SASL_FAIL_MALFORMED);
        mox_sasl_client_free(c);
    }
    /* Overlong server message. */
    cc.max_input = 10;
    assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_SCRAM_SHA_1, &cc, NULL), MOX_OK);
    assert_int_equal(mox_sasl_client_step(c, NULL, 0, &o, &n), MOX_SASL_CONTINUE);
    assert_int_equal(mox_sasl_client_step(c, sf, strlen(sf), &o, &n), MOX_SASL_FAILURE);
    mox_sasl_client_free(c);
    /* Missing server message; empty CRAM-MD5 challenge. */
    cc.max_input = 0;
    assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_SCRAM_SHA_1, &cc, NULL), MOX_OK);
    assert_int_equal(mox_sasl_client_step(c, NULL, 0, &o, &n), MOX_SASL_CONTINUE);
    assert_int_equal(mox_sasl_client_step(c, NULL, 0, &o, &n), MOX_SASL_FAILURE);
    mox_sasl_client_free(c);
    assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_CRAM_MD5, &cc, NULL), MOX_OK);
    assert_int_equal(mox_sasl_client_step(c, NULL, 0, &o, &n), MOX_SASL_CONTINUE);
    assert_int_equal(mox_sasl_client_step(c, "", 0, &o, &n), MOX_SASL_FAILURE);
    mox_sasl_client_free(c);
    /* Client creation errors. */
    client_cfg(&cc, "user", NULL);
    assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_PLAIN, &cc, NULL), MOX_ERR_INVAL);
    client_cfg(&cc, "user", "pw");
    assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_NONE, &cc, NULL), MOX_ERR_UNSUPPORTED);
    cc.plaintext_needs_tls = 1;
    assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_LOGIN, &cc, NULL), MOX_ERR_PERM);
    cc.plaintext_needs_tls = 0;
    cc.fixed_nonce = "a,b";
    assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_SCRAM_SHA_1, &cc, NULL), MOX_ERR_INVAL);
    /* LOGIN client: follows the order of challenges, whatever their text. */
    client_cfg(&cc, "user", "pw");
    assert_int_equal(mox_sasl_client_new(&c, MOX_SASL_LOGIN, &cc, NULL), MOX_OK);
    assert_int_equal(mox_sasl_client_step(c, NULL, 0, &o, &n), MOX_SASL_CONTINUE);
    assert_false(mox_sasl_client_has_initial(c));
    assert_int_equal(mox_sasl_client_step(c, "User Name", 9, &o, &n), MOX_SASL_CONTINUE);
    expect_bytes(o, n, "user", "LOGIN user");
    assert_false(mox_sasl_client_complete(c));
    assert_int_equal(mox_sasl_client_step(c, "Password", 8, &o, &n), MOX_SASL_SUCCESS);
    expect_bytes(o, n, "pw", "LOGIN password");
    assert_true(mox_sasl_client_complete(c));
    mox_sasl_client_free(c);
}

/* ------------------------------------------------------------ metrics */

struct seen_metric {
    int n;
    char name[64], mech[32], result[32];
};

static void count_metric(void *ctx, const char *name, const mox_metric_label *l, size_t nl,
                         double d)
{
    struct seen_metric *m = ctx;
    m->n += (int)d;
    snprintf(m->name, sizeof m->name, "%s", name);
    for (size_t i = 0; i < nl; i++) {
        if (!strcmp(l[i].name, "mech"))
            snprintf(m->mech, sizeof m->mech, "%s", l[i].value);
        if (!strcmp(l[i].name, "result"))
            snprintf(m->result, sizeof m->result, "%s", l[i].value);
    }
}

static void test_metrics(void **state)
{
    (void)state;
    reset_store();
    struct seen_metric seen = {0};
    mox_metrics met = MOX_METRICS_INIT;
    met.ctx = &seen;
    met.counter_add = count_metric;
    mox_env env = g_env;
    env.metrics = &met;
    mox_sasl_server_config sc;
    server_cfg(&sc);
    sc.env = &env;
    mox_sasl_client_config cc;
    client_cfg(&cc, "mjl", "test1234");
    struct rt r;
    assert_int_equal(exchange(MOX_SASL_SCRAM_SHA_1, &sc, &cc, &r), MOX_OK);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.name, "mox_sasl_server_auth_total");
    assert_string_equal(seen.mech, "SCRAM-SHA-1");
    assert_string_equal(seen.result, "ok");
    client_cfg(&cc, "nosecret", "test1234");
    assert_int_equal(exchange(MOX_SASL_PLAIN, &sc, &cc, &r), MOX_OK);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.mech, "PLAIN");
    assert_string_equal(seen.result, "nosecret");
}

/* ------------------------------------------------------------ alloc sweep */

struct sweep_arg {
    mox_sasl_mech mech;
    int plus;
    int want_success;
    const char *user, *pw;
};

static int sweep_exchange(void *p)
{
    struct sweep_arg *a = p;
    reset_store();
    mox_sasl_server_config sc;
    mox_sasl_client_config cc;
    server_cfg(&sc);
    client_cfg(&cc, a->user, a->pw);
    struct chan_data d = {"uniq", "expo"};
    mox_sasl_channel ch;
    tls_chan(&ch, &d);
    ch.external_identity = "mjl";
    if (a->plus || a->mech == MOX_SASL_EXTERNAL) {
        sc.channel = &ch;
        cc.channel = &ch;
    }
    struct rt r;
    int rc = exchange(a->mech, &sc, &cc, &r);
    if (rc != MOX_OK)
        return rc;
    int ok = r.srv == MOX_SASL_SUCCESS && r.cli == MOX_SASL_SUCCESS;
    return ok == a->want_success ? MOX_OK : MOX_ERR_STATE;
}

static int sweep_secrets(void *p)
{
    (void)p;
    mox_sasl_secrets s = MOX_SASL_SECRETS_INIT, t = MOX_SASL_SECRETS_INIT;
    mox_buf b = MOX_BUF_INIT;
    int rc = mox_sasl_secrets_derive("p\xc3\xa4ss", 5, NULL, &s, NULL);
    if (rc == MOX_OK)
        rc = mox_sasl_secrets_format(&s, &b);
    if (rc == MOX_OK)
        rc = mox_sasl_secrets_parse((char *)b.data, b.len, &t, NULL);
    if (rc == MOX_OK)
        rc = mox_sasl_verify_password(&t, "p\xc3\xa4ss", 5);
    mox_buf_free(&b);
    return rc;
}

static void test_alloc_sweep(void **state)
{
    (void)state;
    const mox_sasl_mech all[] = {MOX_SASL_PLAIN, MOX_SASL_LOGIN, MOX_SASL_CRAM_MD5,
                                 MOX_SASL_SCRAM_SHA_1, MOX_SASL_SCRAM_SHA_256,
                                 MOX_SASL_SCRAM_SHA_1_PLUS, MOX_SASL_SCRAM_SHA_256_PLUS,
                                 MOX_SASL_EXTERNAL};
    char what[64];
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        int plus = all[i] == MOX_SASL_SCRAM_SHA_1_PLUS || all[i] == MOX_SASL_SCRAM_SHA_256_PLUS;
        struct sweep_arg ok = {all[i], plus, 1, "mjl", "test1234"};
        snprintf(what, sizeof what, "%s success", mox_sasl_mech_name(all[i]));
        unsigned long nk = moxtest_alloc_sweep(sweep_exchange, &ok, what);
        print_message("%s: %lu allocations swept\n", what, nk);
        assert_true(nk > 0);
        if (all[i] == MOX_SASL_EXTERNAL)
            continue;
        struct sweep_arg bad = {all[i], plus, 0, "mjl", "wrong-pw"};
        snprintf(what, sizeof what, "%s wrong password", mox_sasl_mech_name(all[i]));
        assert_true(moxtest_alloc_sweep(sweep_exchange, &bad, what) > 0);
        struct sweep_arg unk = {all[i], plus, 0, "nobody", "test1234"};
        snprintf(what, sizeof what, "%s unknown user", mox_sasl_mech_name(all[i]));
        assert_true(moxtest_alloc_sweep(sweep_exchange, &unk, what) > 0);
    }
    assert_true(moxtest_alloc_sweep(sweep_secrets, NULL, "secrets") > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_server_mechs),
        cmocka_unit_test(test_client_choose),
        cmocka_unit_test(test_rfc_scram_client),
        cmocka_unit_test(test_rfc_scram_server),
        cmocka_unit_test(test_rfc2195_cram),
        cmocka_unit_test(test_rfc4616_plain),
        cmocka_unit_test(test_roundtrips),
        cmocka_unit_test(test_verify_password_callback),
        cmocka_unit_test(test_plus),
        cmocka_unit_test(test_external),
        cmocka_unit_test(test_authz_scram),
        cmocka_unit_test(test_precis),
        cmocka_unit_test(test_secrets_format),
        cmocka_unit_test(test_plain_login_negative),
        cmocka_unit_test(test_scram_negative),
        cmocka_unit_test(test_scram_no_enumeration),
        cmocka_unit_test(test_scram_client_negative),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_alloc_sweep),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
