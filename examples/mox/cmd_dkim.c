/* mox dkim verify | sign | genkey */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"

static const char verify_usage[] =
    "usage: mox dkim verify [--dns-zone FILE | --dns-server IP:PORT] [--json]\n"
    "                       [--allow-rsa-sha1] [--min-key-bits N] [--now UNIXTIME] [FILE]\n"
    "\n"
    "Verifies every DKIM-Signature of the message in FILE (default: standard\n"
    "input; LF or CRLF line ends) and prints one logfmt line per signature, or\n"
    "with --json {\"signatures\": [...]}. An unsigned message prints nothing\n"
    "(JSON: an empty list). --now sets the clock for t= and x=.\n"
    "\n";

static const char sign_usage[] =
    "usage: mox dkim sign --domain D --selector S --key KEYFILE [--selector S2 --key KEY2 ...]\n"
    "                     [--canon relaxed/relaxed] [--headers LIST] [--identity I]\n"
    "                     [--expire SECONDS] [--body-length] [--no-oversign] [FILE]\n"
    "\n"
    "Signs the message in FILE (default: standard input) and prints the\n"
    "DKIM-Signature field(s) followed by the message unchanged, in its own\n"
    "line-ending style. Keys: PEM (RSA PKCS#1 or PKCS#8, Ed25519 PKCS#8) or a\n"
    "base64 Ed25519 seed; one --selector per --key, in order. --canon is\n"
    "header/body (simple or relaxed; default relaxed/relaxed); --headers is a\n"
    "colon-separated list as in h= (default: the mox set, oversigned).\n";

static const char genkey_usage[] =
    "usage: mox dkim genkey rsa|ed25519 --domain D --selector S --key-out FILE [--bits N]\n"
    "\n"
    "Generates a key (RSA: 2048 bits unless --bits, 2048..4096), writes it to\n"
    "FILE as PKCS#8 PEM with mode 0600 (FILE must not exist), and prints the\n"
    "DNS record as one master-file line.\n";

static int64_t fixed_now;
static int64_t fixed_wall(void *ctx)
{
    (void)ctx;
    return fixed_now * 1000000000LL;
}

/* logfmt value: bare when it can be, else quoted with escapes. */
static void logfmt_kv(const char *k, const char *v, int first)
{
    printf("%s%s=", first ? "" : " ", k);
    if (!v) {
        return;
    }
    int bare = *v != 0;
    for (const char *p = v; *p; p++)
        if (*p <= ' ' || *p == '=' || *p == '"' || *p == '\\' || (unsigned char)*p >= 0x7f)
            bare = 0;
    if (bare) {
        fputs(v, stdout);
        return;
    }
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", stdout);
        else if (*p < ' ')
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static int run_verify(int argc, char **argv)
{
    struct tool_dns dns;
    memset(&dns, 0, sizeof dns);
    int json = 0;
    const char *file = NULL;
    mox_dkim_verify_config cfg = MOX_DKIM_VERIFY_CONFIG_INIT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int d = tool_dns_option(&dns, argc, argv, &i);
        if (d < 0)
            return TOOL_USAGE;
        if (d > 0)
            continue;
        if (tool_is_help(a)) {
            fputs(verify_usage, stdout);
            fputs(tool_dns_usage, stdout);
            return TOOL_OK;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--allow-rsa-sha1")) {
            cfg.allow_rsa_sha1 = 1;
        } else if (i + 1 < argc && !strcmp(a, "--min-key-bits")) {
            cfg.min_rsa_bits = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (i + 1 < argc && !strcmp(a, "--now")) {
            char *end;
            fixed_now = strtoll(argv[++i], &end, 10);
            if (*end || fixed_now <= 0)
                return tool_err(TOOL_USAGE, "dkim verify: --now needs a positive UNIX time");
        } else if ((a[0] == '-' && a[1]) || file) {
            fputs(verify_usage, stderr);
            return TOOL_USAGE;
        } else {
            file = a;
        }
    }
    mox_clock clk = MOX_CLOCK_INIT;
    mox_env env = MOX_ENV_INIT;
    if (fixed_now) {
        clk.wall_ns = fixed_wall;
        env.clock = &clk;
        cfg.env = &env;
    }
    mox_buf msg = MOX_BUF_INIT;
    mox_buf raw = MOX_BUF_INIT;
    int rc = tool_read_file(file, &raw);
    if (rc == TOOL_OK)
        rc = tool_to_crlf(&raw, &msg);
    mox_buf_free(&raw);
    if (rc) {
        mox_buf_free(&msg);
        return rc;
    }
    mox_dkim_verifier *v = NULL;
    mox_errinfo ei;
    if (mox_dkim_verifier_new(&v, &cfg, &ei)) {
        mox_buf_free(&msg);
        return tool_err(TOOL_RUNTIME, "dkim verify: %s", ei.msg);
    }
    mox_engine *g = mox_dkim_verifier_engine(v);
    int64_t took = mox_dkim_verifier_feed(v, msg.data, msg.len);
    mox_buf_free(&msg);
    int lrc = took < 0 ? (int)took : mox_dkim_verifier_eof(v);
    if (lrc) {
        rc = tool_err(TOOL_RUNTIME, "dkim verify: %s", mox_engine_error(g)->msg);
        mox_dkim_verifier_free(v);
        return rc;
    }
    if (mox_dkim_verifier_want(v) & MOX_WANT_QUERY) {
        /* Only open DNS when there is something to look up. */
        if ((rc = tool_dns_open(&dns))) {
            mox_dkim_verifier_free(v);
            return rc;
        }
        mox_io io = MOX_IO_INIT;
        io.resolver = &dns.resolver;
        lrc = mox_engine_run(g, &io, &ei);
        tool_dns_close(&dns);
        if (lrc) {
            mox_dkim_verifier_free(v);
            return tool_err(TOOL_RUNTIME, "dkim verify: %s", ei.msg);
        }
    }
    const mox_dkim_verifier_outcome *o = mox_dkim_verifier_result(v);
    size_t n = o ? o->count : 0;
    if (json) {
        tool_json j;
        tool_json_init(&j);
        tool_json_obj_begin(&j);
        tool_json_key(&j, "signatures");
        tool_json_arr_begin(&j);
        for (size_t i = 0; i < n; i++) {
            const mox_dkim_sig_result *r = o->results[i];
            tool_json_obj_begin(&j);
            tool_json_key(&j, "domain");
            tool_json_str(&j, r->domain);
            tool_json_key(&j, "selector");
            tool_json_str(&j, r->selector);
            tool_json_key(&j, "algorithm");
            tool_json_str(&j, r->algorithm);
            tool_json_key(&j, "result");
            tool_json_str(&j, mox_dkim_status_name(r->status));
            tool_json_key(&j, "reason");
            tool_json_str(&j, r->reason);
            tool_json_key(&j, "body_length_limited");
            tool_json_bool(&j, r->body_length_limited);
            tool_json_key(&j, "identity");
            tool_json_str(&j, r->identity);
            tool_json_key(&j, "detail");
            tool_json_str(&j, r->detail);
            tool_json_key(&j, "key_bits");
            if (r->key_bits)
                tool_json_int(&j, r->key_bits);
            else
                tool_json_null(&j);
            tool_json_key(&j, "testing");
            tool_json_bool(&j, r->key_testing);
            tool_json_obj_end(&j);
        }
        tool_json_arr_end(&j);
        tool_json_obj_end(&j);
        rc = tool_json_print(&j, stdout);
        tool_json_free(&j);
    } else {
        for (size_t i = 0; i < n; i++) {
            const mox_dkim_sig_result *r = o->results[i];
            char bits[24];
            snprintf(bits, sizeof bits, "%u", r->key_bits);
            logfmt_kv("result", mox_dkim_status_name(r->status), 1);
            logfmt_kv("domain", r->domain ? r->domain : "", 0);
            logfmt_kv("selector", r->selector ? r->selector : "", 0);
            logfmt_kv("algorithm", r->algorithm ? r->algorithm : "", 0);
            logfmt_kv("identity", r->identity ? r->identity : "", 0);
            logfmt_kv("reason", r->reason, 0);
            if (r->detail && *r->detail)
                logfmt_kv("detail", r->detail, 0);
            logfmt_kv("body_length_limited", r->body_length_limited ? "true" : "false", 0);
            if (r->key_bits)
                logfmt_kv("key_bits", bits, 0);
            if (r->key_testing)
                logfmt_kv("testing", "true", 0);
            putchar('\n');
        }
        rc = fflush(stdout) ? TOOL_RUNTIME : TOOL_OK;
    }
    mox_dkim_verifier_free(v);
    return rc;
}

static int parse_canon(const char *s, int *h, int *b)
{
    const char *slash = strchr(s, '/');
    size_t hl = slash ? (size_t)(slash - s) : strlen(s);
    const char *bs = slash ? slash + 1 : "simple";
    if (hl == 6 && !strncmp(s, "simple", 6))
        *h = MOX_DKIM_SIMPLE;
    else if (hl == 7 && !strncmp(s, "relaxed", 7))
        *h = MOX_DKIM_RELAXED;
    else
        return -1;
    if (!strcmp(bs, "simple"))
        *b = MOX_DKIM_SIMPLE;
    else if (!strcmp(bs, "relaxed"))
        *b = MOX_DKIM_RELAXED;
    else
        return -1;
    return 0;
}

#define MAX_KEYS 8

static int run_sign(int argc, char **argv)
{
    const char *domain = NULL, *identity = NULL, *headers = NULL, *file = NULL;
    const char *keys[MAX_KEYS], *sels[MAX_KEYS];
    int nkeys = 0, nsels = 0, hc = MOX_DKIM_RELAXED, bc = MOX_DKIM_RELAXED, bodylen = 0, oversign = 1;
    long long expire = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (tool_is_help(a)) {
            fputs(sign_usage, stdout);
            return TOOL_OK;
        } else if (i + 1 < argc && !strcmp(a, "--domain")) {
            domain = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--selector")) {
            if (nsels == MAX_KEYS)
                return tool_err(TOOL_USAGE, "dkim sign: at most %d keys", MAX_KEYS);
            sels[nsels++] = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--key")) {
            if (nkeys == MAX_KEYS)
                return tool_err(TOOL_USAGE, "dkim sign: at most %d keys", MAX_KEYS);
            keys[nkeys++] = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--canon")) {
            if (parse_canon(argv[++i], &hc, &bc))
                return tool_err(TOOL_USAGE, "dkim sign: --canon takes header/body, each simple or relaxed");
        } else if (i + 1 < argc && !strcmp(a, "--headers")) {
            headers = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--identity")) {
            identity = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--expire")) {
            char *end;
            expire = strtoll(argv[++i], &end, 10);
            if (*end || expire <= 0)
                return tool_err(TOOL_USAGE, "dkim sign: --expire needs a positive number of seconds");
        } else if (!strcmp(a, "--body-length")) {
            bodylen = 1;
        } else if (!strcmp(a, "--no-oversign")) {
            oversign = 0;
        } else if ((a[0] == '-' && a[1]) || file) {
            fputs(sign_usage, stderr);
            return TOOL_USAGE;
        } else {
            file = a;
        }
    }
    if (!domain || !nkeys || nkeys != nsels) {
        fputs(sign_usage, stderr);
        return TOOL_USAGE;
    }
    mox_dkim_privkey *pk[MAX_KEYS] = {0};
    mox_dkim_sign_params p[MAX_KEYS];
    int rc = TOOL_OK;
    for (int k = 0; k < nkeys && rc == TOOL_OK; k++) {
        mox_buf kb = MOX_BUF_INIT;
        mox_errinfo ei;
        if ((rc = tool_read_file(keys[k], &kb)))
            break;
        if (mox_dkim_privkey_load(kb.data, kb.len, NULL, &pk[k], &ei))
            rc = tool_err(TOOL_RUNTIME, "%s: %s", keys[k], ei.msg);
        mox_buf_free(&kb);
        mox_dkim_sign_params d = MOX_DKIM_SIGN_PARAMS_INIT;
        p[k] = d;
        p[k].key = pk[k];
        p[k].domain = domain;
        p[k].selector = sels[k];
        p[k].identity = identity;
        p[k].header_canon = hc;
        p[k].body_canon = bc;
        p[k].headers = headers;
        p[k].oversign = oversign;
        p[k].expire_seconds = expire;
        p[k].body_length = bodylen;
    }
    mox_buf msg = MOX_BUF_INIT, wire = MOX_BUF_INIT, out = MOX_BUF_INIT;
    mox_dkim_signer *s = NULL;
    mox_errinfo ei;
    if (rc == TOOL_OK)
        rc = tool_read_file(file, &msg);
    if (rc == TOOL_OK)
        rc = tool_to_crlf(&msg, &wire);
    if (rc == TOOL_OK && mox_dkim_signer_new(&s, NULL, p, (size_t)nkeys, &ei))
        rc = tool_err(TOOL_USAGE, "dkim sign: %s", ei.msg);
    if (rc == TOOL_OK) {
        int64_t took = mox_dkim_signer_feed(s, wire.data, wire.len);
        int lrc = took < 0 ? (int)took : mox_dkim_signer_eof(s);
        const mox_dkim_signer_outcome *so = mox_dkim_signer_result(s);
        if (lrc)
            rc = tool_err(TOOL_RUNTIME, "dkim sign: %s",
                          mox_engine_error(mox_dkim_signer_engine(s))->msg);
        else if (mox_buf_append(&out, so->fields, so->len))
            rc = tool_err(TOOL_RUNTIME, "out of memory");
    }
    if (rc == TOOL_OK) {
        /* The input's own line-ending style: that of its first line. */
        const char *nl = memchr(msg.data, '\n', msg.len);
        int lf = nl && (nl == (char *)msg.data || nl[-1] != '\r');
        for (size_t i = 0; i < out.len; i++)
            if (!(lf && out.data[i] == '\r' && i + 1 < out.len && out.data[i + 1] == '\n'))
                putchar(out.data[i]);
        fwrite(msg.data, 1, msg.len, stdout);
        if (fflush(stdout))
            rc = TOOL_RUNTIME;
    }
    mox_dkim_signer_free(s);
    for (int k = 0; k < nkeys; k++)
        mox_dkim_privkey_free(pk[k]);
    mox_buf_free(&msg);
    mox_buf_free(&wire);
    mox_buf_free(&out);
    return rc;
}

static int run_genkey(int argc, char **argv)
{
    const char *domain = NULL, *selector = NULL, *out = NULL, *type = NULL;
    unsigned bits = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (tool_is_help(a)) {
            fputs(genkey_usage, stdout);
            return TOOL_OK;
        } else if (i + 1 < argc && !strcmp(a, "--domain")) {
            domain = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--selector")) {
            selector = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--key-out")) {
            out = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--bits")) {
            char *end;
            unsigned long b = strtoul(argv[++i], &end, 10);
            if (*end || b < 2048 || b > 4096)
                return tool_err(TOOL_USAGE, "dkim genkey: --bits must be 2048..4096");
            bits = (unsigned)b;
        } else if (!type && (!strcmp(a, "rsa") || !strcmp(a, "ed25519"))) {
            type = a;
        } else {
            fputs(genkey_usage, stderr);
            return TOOL_USAGE;
        }
    }
    if (!type || !domain || !selector || !out) {
        fputs(genkey_usage, stderr);
        return TOOL_USAGE;
    }
    if (bits && strcmp(type, "rsa"))
        return tool_err(TOOL_USAGE, "dkim genkey: --bits is for rsa keys");
    mox_dkim_privkey *k;
    int kt = strcmp(type, "rsa") ? MOX_DKIM_KEY_ED25519 : MOX_DKIM_KEY_RSA;
    if (mox_dkim_privkey_generate(kt, bits, NULL, &k))
        return tool_err(TOOL_RUNTIME, "dkim genkey: key generation failed");
    mox_buf pem = MOX_BUF_INIT, rec = MOX_BUF_INIT, rr = MOX_BUF_INIT;
    int rc = TOOL_OK;
    if (mox_dkim_privkey_pem(k, &pem) || mox_dkim_privkey_record(k, &rec) ||
        mox_dkim_txt_rr(selector, domain, (char *)rec.data, rec.len, &rr))
        rc = tool_err(TOOL_RUNTIME, "dkim genkey: out of memory");
    if (rc == TOOL_OK) {
        int fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0) {
            rc = tool_err(TOOL_RUNTIME, "%s: %s", out, strerror(errno));
        } else {
            ssize_t w = write(fd, pem.data, pem.len);
            if (w != (ssize_t)pem.len || fsync(fd) || close(fd)) {
                rc = tool_err(TOOL_RUNTIME, "%s: write failed", out);
                unlink(out);
            }
        }
    }
    if (rc == TOOL_OK)
        printf("%s\n", (char *)rr.data);
    mox_dkim_privkey_free(k);
    mox_buf_free(&pem);
    mox_buf_free(&rec);
    mox_buf_free(&rr);
    return rc;
}

static const struct tool_cmd verify_cmd = {"verify", "verify the DKIM signatures of a message", run_verify};
static const struct tool_cmd sign_cmd = {"sign", "add DKIM signatures to a message", run_sign};
static const struct tool_cmd genkey_cmd = {"genkey", "generate a DKIM key and its DNS record", run_genkey};
static const struct tool_cmd *const dkim_cmds[] = {&verify_cmd, &sign_cmd, &genkey_cmd, NULL};

static int run(int argc, char **argv) { return tool_dispatch("mox dkim", dkim_cmds, argc, argv); }

const struct tool_cmd tool_cmd_dkim = {"dkim", "DKIM signing and verification (RFC 6376, 8463)", run};
