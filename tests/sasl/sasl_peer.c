/* A line-protocol front end to the sasl engines, so a script can put them
 * opposite a real peer (GNU gsasl) whose messages it relays.
 *
 *   sasl_peer server MECH USER PASSWORD
 *     One account USER with secrets derived from PASSWORD. Reads one client
 *     message per line ("-" for none, else base64, an empty line being an
 *     empty message) and answers each with one line:
 *       C <b64|->            continue: send the challenge
 *       S <b64|-> <authcid>  success, with optional additional data
 *       F <reason>           failure
 *   sasl_peer client MECH USER PASSWORD
 *     Prints the first step at once as "<C|S|F> <b64|-> <has-initial 0|1>",
 *     then reads one server challenge per line (base64) and answers
 *     "<C|S|F> <b64|->".
 * Exit status 0 when the exchange ended in success, 1 on failure, 2 on a
 * usage or internal error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mox/sasl.h"

struct acct {
    const char *user;
    mox_sasl_secrets sec;
};

static int lookup(void *ctx, const char *user, mox_sasl_secrets *out)
{
    struct acct *a = ctx;
    if (strcmp(user, a->user) != 0)
        return MOX_ERR_NOTFOUND;
    size_t size = out->size;
    memcpy(out, &a->sec, size < sizeof a->sec ? size : sizeof a->sec);
    out->size = size;
    return MOX_OK;
}

static void put(const char *tag, const unsigned char *p, size_t n, const char *extra)
{
    mox_buf b = MOX_BUF_INIT;
    if (n && mox_base64_encode(p, n, &b) != MOX_OK)
        exit(2);
    printf("%s %s%s%s\n", tag, n ? (char *)b.data : "-", extra ? " " : "", extra ? extra : "");
    fflush(stdout);
    mox_buf_free(&b);
}

/* Reads a line; returns 0 at EOF. `none` is set for "-". */
static int get(mox_buf *out, int *none)
{
    char line[16384];
    if (!fgets(line, sizeof line, stdin))
        return 0;
    size_t n = strcspn(line, "\r\n");
    line[n] = 0;
    mox_buf_reset(out);
    *none = !strcmp(line, "-");
    if (*none)
        return 1;
    if (mox_base64_decode(line, n, 0, out, NULL) != MOX_OK) {
        fprintf(stderr, "sasl_peer: bad base64 line \"%s\"\n", line);
        exit(2);
    }
    if (!out->data && mox_buf_reserve(out, 0) != MOX_OK)
        exit(2);
    return 1;
}

static const char *letter(int st)
{
    switch (st) {
    case MOX_SASL_CONTINUE: return "C";
    case MOX_SASL_SUCCESS: return "S";
    case MOX_SASL_FAILURE: return "F";
    default: return "E";
    }
}

static int run_server(mox_sasl_mech mech, const char *user, const char *pw)
{
    struct acct a = {user, MOX_SASL_SECRETS_INIT};
    mox_errinfo ei;
    if (mox_sasl_secrets_derive(pw, strlen(pw), NULL, &a.sec, &ei) != MOX_OK) {
        fprintf(stderr, "sasl_peer: derive: %s\n", ei.msg);
        return 2;
    }
    mox_sasl_credentials cr = MOX_SASL_CREDENTIALS_INIT;
    cr.ctx = &a;
    cr.lookup = lookup;
    mox_sasl_server_config cfg = MOX_SASL_SERVER_CONFIG_INIT;
    cfg.creds = &cr;
    mox_sasl_server *s;
    if (mox_sasl_server_new(&s, mech, &cfg) != MOX_OK)
        return 2;
    mox_buf in = MOX_BUF_INIT;
    int none, rc = 2;
    while (get(&in, &none)) {
        const unsigned char *o;
        size_t n;
        int st = mox_sasl_server_step(s, none ? NULL : in.data, none ? 0 : in.len, &o, &n);
        if (st == MOX_SASL_CONTINUE) {
            put("C", o, n, NULL);
            continue;
        }
        if (st == MOX_SASL_SUCCESS) {
            put("S", o, n, mox_sasl_server_authcid(s));
            rc = 0;
        } else if (st == MOX_SASL_FAILURE) {
            printf("F %s\n", mox_sasl_failure_name(mox_sasl_server_failure(s)));
            fprintf(stderr, "sasl_peer: server: %s\n", mox_sasl_server_failure_text(s));
            rc = 1;
        }
        break;
    }
    fflush(stdout);
    mox_buf_free(&in);
    mox_sasl_server_free(s);
    mox_sasl_secrets_wipe(&a.sec);
    return rc;
}

static int run_client(mox_sasl_mech mech, const char *user, const char *pw)
{
    mox_sasl_client_config cfg = MOX_SASL_CLIENT_CONFIG_INIT;
    cfg.username = user;
    cfg.password = pw;
    mox_sasl_client *c;
    mox_errinfo ei;
    if (mox_sasl_client_new(&c, mech, &cfg, &ei) != MOX_OK) {
        fprintf(stderr, "sasl_peer: client: %s\n", ei.msg);
        return 2;
    }
    const unsigned char *o;
    size_t n;
    int st = mox_sasl_client_step(c, NULL, 0, &o, &n);
    put(letter(st), o, n, mox_sasl_client_has_initial(c) ? "1" : "0");
    mox_buf in = MOX_BUF_INIT;
    int none;
    while (st == MOX_SASL_CONTINUE && get(&in, &none)) {
        st = mox_sasl_client_step(c, none ? NULL : in.data, none ? 0 : in.len, &o, &n);
        put(letter(st), o, n, NULL);
    }
    if (st == MOX_SASL_FAILURE)
        fprintf(stderr, "sasl_peer: client: %s\n", mox_sasl_client_failure_text(c));
    mox_buf_free(&in);
    mox_sasl_client_free(c);
    return st == MOX_SASL_SUCCESS ? 0 : st == MOX_SASL_FAILURE ? 1 : 2;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: sasl_peer server|client MECH USER PASSWORD\n");
        return 2;
    }
    mox_sasl_mech m = mox_sasl_mech_parse(argv[2], strlen(argv[2]));
    if (m == MOX_SASL_NONE)
        return 2;
    if (!strcmp(argv[1], "server"))
        return run_server(m, argv[3], argv[4]);
    if (!strcmp(argv[1], "client"))
        return run_client(m, argv[3], argv[4]);
    return 2;
}
