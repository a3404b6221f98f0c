/* mox password: derive and check the stored SASL secrets of a password. */
#include <stdlib.h>
#include <string.h>

#include "tool.h"

#define MAX_PASSWORD 65536

static const char usage[] =
    "usage: mox password derive [--iterations N] [--json]\n"
    "       mox password verify SECRETS [--json]\n"
    "\n"
    "derive: reads a password on stdin (one trailing LF or CRLF is removed),\n"
    "prepares it with PRECIS OpaqueString and prints the derived secrets\n"
    "(SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5) in the mox-sasl-v1 text form.\n"
    "verify: reads a password on stdin and says whether it matches SECRETS.\n";

/* Reads stdin into `pw` without the one trailing line ending; 0 on error. */
static int read_password(mox_buf *pw)
{
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, stdin)) > 0) {
        if (pw->len + n > MAX_PASSWORD) {
            tool_err(0, "password longer than %d bytes", MAX_PASSWORD);
            return 0;
        }
        if (mox_buf_append(pw, tmp, n) != MOX_OK)
            return 0;
    }
    if (ferror(stdin)) {
        tool_err(0, "reading stdin failed");
        return 0;
    }
    if (pw->len && pw->data[pw->len - 1] == '\n') {
        pw->len--;
        if (pw->len && pw->data[pw->len - 1] == '\r')
            pw->len--;
    }
    if (pw->len == 0) {
        tool_err(0, "empty password");
        return 0;
    }
    return 1;
}

static void wipe(mox_buf *b)
{
    if (b->data)
        memset(b->data, 0, b->cap);
    mox_buf_free(b);
}

static int run_derive(int argc, char **argv)
{
    int json = 0;
    unsigned long iter = 0;
    for (int i = 1; i < argc; i++) {
        if (tool_is_help(argv[i])) {
            fputs(usage, stdout);
            return TOOL_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--iterations") && i + 1 < argc) {
            char *end;
            iter = strtoul(argv[++i], &end, 10);
            if (*end || iter == 0 || iter > MOX_SASL_MAX_ITERATIONS) {
                fputs(usage, stderr);
                return TOOL_USAGE;
            }
        } else {
            fputs(usage, stderr);
            return TOOL_USAGE;
        }
    }
    mox_buf pw = MOX_BUF_INIT, out = MOX_BUF_INIT;
    if (!read_password(&pw)) {
        wipe(&pw);
        return TOOL_RUNTIME;
    }
    mox_sasl_derive_params p = MOX_SASL_DERIVE_PARAMS_INIT;
    p.iterations = (uint32_t)iter;
    mox_sasl_secrets s = MOX_SASL_SECRETS_INIT;
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    int rc = mox_sasl_secrets_derive((const char *)pw.data, pw.len, &p, &s, &ei);
    wipe(&pw);
    if (rc != MOX_OK)
        return tool_err(TOOL_RUNTIME, "password refused: %s", ei.msg[0] ? ei.msg : mox_strerror(rc));
    rc = mox_sasl_secrets_format(&s, &out);
    uint32_t used = s.scram_sha256.iterations;
    mox_sasl_secrets_wipe(&s);
    if (rc != MOX_OK) {
        mox_buf_free(&out);
        return tool_err(TOOL_RUNTIME, "%s", mox_strerror(rc));
    }
    int ret = TOOL_OK;
    if (json) {
        tool_json j;
        tool_json_init(&j);
        tool_json_obj_begin(&j);
        tool_json_key(&j, "secrets");
        tool_json_strn(&j, (const char *)out.data, out.len);
        tool_json_key(&j, "iterations");
        tool_json_int(&j, used);
        tool_json_obj_end(&j);
        ret = tool_json_print(&j, stdout);
    } else {
        printf("%s\n", (const char *)out.data);
    }
    mox_buf_free(&out);
    return ret;
}

static int run_verify(int argc, char **argv)
{
    int json = 0;
    const char *secrets = NULL;
    for (int i = 1; i < argc; i++) {
        if (tool_is_help(argv[i])) {
            fputs(usage, stdout);
            return TOOL_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!secrets && !tool_is_option(argv[i])) {
            secrets = argv[i];
        } else {
            fputs(usage, stderr);
            return TOOL_USAGE;
        }
    }
    if (!secrets) {
        fputs(usage, stderr);
        return TOOL_USAGE;
    }
    mox_sasl_secrets s = MOX_SASL_SECRETS_INIT;
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    int rc = mox_sasl_secrets_parse(secrets, strlen(secrets), &s, &ei);
    if (rc != MOX_OK)
        return tool_err(TOOL_RUNTIME, "bad secrets: %s", ei.msg[0] ? ei.msg : mox_strerror(rc));
    mox_buf pw = MOX_BUF_INIT;
    if (!read_password(&pw)) {
        wipe(&pw);
        mox_sasl_secrets_wipe(&s);
        return TOOL_RUNTIME;
    }
    rc = mox_sasl_verify_password(&s, (const char *)pw.data, pw.len);
    wipe(&pw);
    mox_sasl_secrets_wipe(&s);
    if (rc != MOX_OK && rc != MOX_ERR_PERM)
        return tool_err(TOOL_RUNTIME, "cannot verify: %s", mox_strerror(rc));
    if (!json) {
        printf("%s\n", rc == MOX_OK ? "match" : "mismatch");
        return TOOL_OK;
    }
    tool_json j;
    tool_json_init(&j);
    tool_json_obj_begin(&j);
    tool_json_key(&j, "match");
    tool_json_bool(&j, rc == MOX_OK);
    tool_json_obj_end(&j);
    return tool_json_print(&j, stdout);
}

static const struct tool_cmd pw_derive = {"derive", "derive SASL secrets from a password on stdin",
                                          run_derive};
static const struct tool_cmd pw_verify = {"verify", "check a password on stdin against secrets",
                                          run_verify};
static const struct tool_cmd *const pw_cmds[] = {&pw_derive, &pw_verify, NULL};

static int run(int argc, char **argv)
{
    return tool_dispatch("mox password", pw_cmds, argc, argv);
}

const struct tool_cmd tool_cmd_password = {"password", "derive and check SASL password secrets",
                                           run};
