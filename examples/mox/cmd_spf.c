/* mox spf check | parse */
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static const char check_usage[] =
    "usage: mox spf check [--dns-zone FILE | --dns-server IP:PORT] [--helo NAME]\n"
    "                     [--identity mailfrom|helo] [--receiver NAME] [--json] IP SENDER\n"
    "\n"
    "Evaluates SPF (RFC 7208) for a client IP and MAIL FROM SENDER (\"\" for a\n"
    "HELO check), printing the result, the matching mechanism, the explanation,\n"
    "the lookup counts, and the Received-SPF and Authentication-Results text.\n"
    "\n"
    "options:\n"
    "  --helo NAME             HELO/EHLO name (the identity when SENDER is \"\")\n"
    "  --identity helo         check the HELO identity even with a SENDER\n"
    "  --receiver NAME         receiving host, for %{r} and Received-SPF\n"
    "  --json                  print a JSON object\n";

static const char parse_usage[] =
    "usage: mox spf parse [--json] RECORD\n"
    "\n"
    "Parses an SPF record and shows its terms, or the precise syntax error.\n";

static const char *kind_word(int k)
{
    switch (k) {
    case MOX_SPF_ALL: return "all";
    case MOX_SPF_INCLUDE: return "include";
    case MOX_SPF_A: return "a";
    case MOX_SPF_MX: return "mx";
    case MOX_SPF_PTR: return "ptr";
    case MOX_SPF_IP4: return "ip4";
    case MOX_SPF_IP6: return "ip6";
    case MOX_SPF_EXISTS: return "exists";
    case MOX_SPF_REDIRECT: return "redirect";
    case MOX_SPF_EXP: return "exp";
    default: return "modifier";
    }
}

static int run_check(int argc, char **argv)
{
    const char *helo = NULL, *receiver = NULL;
    int json = 0, identity = MOX_SPF_ID_MAILFROM;
    const char *pos[2];
    int npos = 0;
    struct tool_dns dns;
    memset(&dns, 0, sizeof dns);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int d;
        if (tool_is_help(a)) {
            fputs(check_usage, stdout);
            fputs(tool_dns_usage, stdout);
            return TOOL_OK;
        } else if ((d = tool_dns_option(&dns, argc, argv, &i)) != 0) {
            if (d < 0)
                return TOOL_USAGE;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (i + 1 < argc && !strcmp(a, "--helo")) {
            helo = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--receiver")) {
            receiver = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--identity")) {
            const char *v = argv[++i];
            if (!strcmp(v, "helo"))
                identity = MOX_SPF_ID_HELO;
            else if (strcmp(v, "mailfrom"))
                return tool_err(TOOL_USAGE, "spf check: --identity must be mailfrom or helo");
        } else if (a[0] == '-' && a[1] == '-') {
            fputs(check_usage, stderr);
            return TOOL_USAGE;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            fputs(check_usage, stderr);
            return TOOL_USAGE;
        }
    }
    if (npos != 2) {
        fputs(check_usage, stderr);
        return TOOL_USAGE;
    }
    int rc = tool_dns_open(&dns);
    if (rc)
        return rc;
    mox_errinfo ei;
    mox_errinfo_clear(&ei);

    mox_spf_config cfg = MOX_SPF_CONFIG_INIT;
    cfg.receiver = receiver;
    mox_spf *s = NULL;
    rc = mox_spf_check(&s, &cfg, &dns.resolver, pos[0], pos[1], helo, identity, &ei);
    if (rc) {
        tool_dns_close(&dns);
        if (rc == MOX_ERR_INVAL || rc == MOX_ERR_LIMIT)
            return tool_err(TOOL_USAGE, "spf check: %s", ei.msg[0] ? ei.msg : mox_strerror(rc));
        return tool_err(TOOL_RUNTIME, "spf check: %s", mox_strerror(rc));
    }
    const mox_spf_outcome *o = mox_spf_result(s);
    mox_buf rs = MOX_BUF_INIT, ar = MOX_BUF_INIT;
    rc = mox_spf_received_header(s, &rs);
    if (!rc)
        rc = mox_spf_auth_results(s, &ar);
    int ret = TOOL_OK;
    if (rc) {
        ret = tool_err(TOOL_RUNTIME, "spf check: %s", mox_strerror(rc));
    } else if (json) {
        tool_json j;
        tool_json_init(&j);
        tool_json_obj_begin(&j);
        tool_json_key(&j, "result");
        tool_json_str(&j, mox_spf_result_name(o->result));
        tool_json_key(&j, "explanation");
        tool_json_str(&j, o->explanation);
        tool_json_key(&j, "explanation_default");
        tool_json_bool(&j, o->explanation && o->explanation_default);
        tool_json_key(&j, "mechanism");
        tool_json_str(&j, o->mechanism);
        tool_json_key(&j, "dns_lookups");
        tool_json_int(&j, o->dns_lookups);
        tool_json_key(&j, "void_lookups");
        tool_json_int(&j, o->void_lookups);
        tool_json_key(&j, "dns_queries");
        tool_json_int(&j, o->dns_queries);
        tool_json_key(&j, "problem");
        tool_json_str(&j, o->problem);
        tool_json_key(&j, "identity");
        tool_json_str(&j, o->identity == MOX_SPF_ID_HELO ? "helo" : "mailfrom");
        tool_json_key(&j, "domain");
        tool_json_str(&j, o->domain);
        tool_json_key(&j, "sender");
        tool_json_str(&j, o->sender);
        tool_json_key(&j, "authentic");
        tool_json_bool(&j, o->authentic);
        tool_json_key(&j, "received_spf");
        /* Without the field name and the final CRLF. */
        tool_json_strn(&j, (const char *)rs.data + 14, rs.len - 16);
        tool_json_key(&j, "authentication_results");
        tool_json_strn(&j, (const char *)ar.data, ar.len);
        tool_json_obj_end(&j);
        ret = tool_json_print(&j, stdout);
    } else {
        printf("result: %s\n", mox_spf_result_name(o->result));
        printf("mechanism: %s\n", o->mechanism ? o->mechanism : "(none matched)");
        if (o->explanation)
            printf("explanation: %s%s\n", o->explanation,
                   o->explanation_default ? " (default)" : "");
        if (o->problem)
            printf("problem: %s\n", o->problem);
        printf("dns lookups: %u (void %u), queries: %u, authentic: %s\n", o->dns_lookups,
               o->void_lookups, o->dns_queries, o->authentic ? "yes" : "no");
        fwrite(rs.data, 1, rs.len, stdout);
        printf("Authentication-Results entry: %s\n", (const char *)ar.data);
    }
    mox_buf_free(&rs);
    mox_buf_free(&ar);
    mox_spf_free(s);
    tool_dns_close(&dns);
    return ret;
}

static int run_parse(int argc, char **argv)
{
    int json = 0;
    const char *rec = NULL;
    for (int i = 1; i < argc; i++) {
        if (tool_is_help(argv[i])) {
            fputs(parse_usage, stdout);
            return TOOL_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!rec && !tool_is_option(argv[i])) {
            rec = argv[i];
        } else {
            fputs(parse_usage, stderr);
            return TOOL_USAGE;
        }
    }
    if (!rec) {
        fputs(parse_usage, stderr);
        return TOOL_USAGE;
    }
    mox_spf_record *r = NULL;
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    int rc = mox_spf_record_parse(rec, strlen(rec), &r, &ei);
    if (rc == MOX_ERR_NOMEM)
        return tool_err(TOOL_RUNTIME, "%s", mox_strerror(rc));
    if (json) {
        tool_json j;
        tool_json_init(&j);
        tool_json_obj_begin(&j);
        tool_json_key(&j, "valid");
        tool_json_bool(&j, rc == MOX_OK);
        if (rc) {
            tool_json_key(&j, "error");
            tool_json_str(&j, ei.msg);
            tool_json_key(&j, "offset");
            tool_json_int(&j, (long long)ei.offset);
        } else {
            mox_buf b = MOX_BUF_INIT;
            mox_spf_record_format(r, &b);
            tool_json_key(&j, "normalized");
            tool_json_strn(&j, (const char *)b.data, b.len);
            mox_buf_free(&b);
            tool_json_key(&j, "terms");
            tool_json_arr_begin(&j);
            for (size_t i = 0; i < mox_spf_record_count(r); i++) {
                const mox_spf_term *t = mox_spf_record_term(r, i);
                tool_json_obj_begin(&j);
                tool_json_key(&j, "text");
                tool_json_strn(&j, t->text, t->text_len);
                tool_json_key(&j, "kind");
                tool_json_str(&j, kind_word(t->kind));
                if (t->qualifier) {
                    char q[2] = {t->qualifier, 0};
                    tool_json_key(&j, "qualifier");
                    tool_json_str(&j, q);
                }
                if (t->kind == MOX_SPF_UNKNOWN_MODIFIER) {
                    tool_json_key(&j, "name");
                    tool_json_strn(&j, t->name, t->name_len);
                }
                if (t->spec) {
                    tool_json_key(&j, "value");
                    tool_json_strn(&j, t->spec, t->spec_len);
                }
                if (t->cidr4 >= 0) {
                    tool_json_key(&j, "cidr4");
                    tool_json_int(&j, t->cidr4);
                }
                if (t->cidr6 >= 0) {
                    tool_json_key(&j, "cidr6");
                    tool_json_int(&j, t->cidr6);
                }
                tool_json_obj_end(&j);
            }
            tool_json_arr_end(&j);
        }
        tool_json_obj_end(&j);
        mox_spf_record_free(r);
        int ret = tool_json_print(&j, stdout);
        return ret ? ret : (rc ? TOOL_RUNTIME : TOOL_OK);
    }
    if (rc) {
        fprintf(stderr, "mox: spf parse: syntax error at offset %zu: %s\n", ei.offset, ei.msg);
        if (ei.offset != SIZE_MAX && ei.offset <= strlen(rec))
            fprintf(stderr, "  %s\n  %*s^\n", rec, (int)ei.offset, "");
        return TOOL_RUNTIME;
    }
    mox_buf b = MOX_BUF_INIT;
    rc = mox_spf_record_format(r, &b);
    if (!rc)
        printf("%s\n", (const char *)b.data);
    mox_buf_free(&b);
    for (size_t i = 0; i < mox_spf_record_count(r); i++) {
        const mox_spf_term *t = mox_spf_record_term(r, i);
        printf("  %-9s %.*s\n", kind_word(t->kind), (int)t->text_len, t->text);
    }
    mox_spf_record_free(r);
    return TOOL_OK;
}

static const struct tool_cmd spf_check = {"check", "evaluate SPF for an IP and sender", run_check};
static const struct tool_cmd spf_parse = {"parse", "parse an SPF record", run_parse};
static const struct tool_cmd *const spf_cmds[] = {&spf_check, &spf_parse, NULL};

static int run(int argc, char **argv)
{
    return tool_dispatch("mox spf", spf_cmds, argc, argv);
}

const struct tool_cmd tool_cmd_spf = {"spf", "SPF evaluation (RFC 7208)", run};
