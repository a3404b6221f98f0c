/* mox dns lookup: one DNS query through libmox's resolvers. */
#include <string.h>

#include "tool.h"

static const char lookup_usage[] =
    "usage: mox dns lookup [--dns-zone FILE | --dns-server IP[:PORT]] [--json] TYPE NAME\n";

static void lookup_help(void)
{
    printf("%s\n"
           "Looks NAME up (TYPE: A, AAAA, MX, TXT, CNAME, PTR, NS, SOA, TLSA, SPF, ANY\n"
           "or TYPEnn) and prints the outcome: a line \"; rcode=NXDOMAIN authentic=no\"\n"
           "then the answer records in master-file syntax. NOERROR without records is\n"
           "NODATA. rcode is NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ... or TIMEOUT.\n"
           "\n"
           "options:\n"
           "  --json                  print {\"rcode\", \"authentic\", \"records\": [{\"name\",\n"
           "                          \"ttl\", \"type\", \"data\"}]}\n"
           "%s"
           "\n"
           "Exit status: 0 when a result was printed (whatever the rcode), 1 when the\n"
           "zone file cannot be read or parsed or no DNS server could be reached,\n"
           "2 for a usage error.\n",
           lookup_usage, tool_dns_usage);
}

static int print_text(const mox_dns_answer *a)
{
    mox_buf b = MOX_BUF_INIT;
    int rc = mox_buf_appendf(&b, "; rcode=%s authentic=%s\n", mox_dns_status_name(a->status),
                             a->authentic ? "yes" : "no");
    for (size_t i = 0; rc == MOX_OK && i < a->nrr; i++) {
        rc = mox_dns_rr_format(&a->rr[i], &b);
        if (rc == MOX_OK)
            rc = mox_buf_append_byte(&b, '\n');
    }
    if (rc != MOX_OK) {
        mox_buf_free(&b);
        return tool_err(TOOL_RUNTIME, "%s", mox_strerror(rc));
    }
    int ok = fwrite(b.data, 1, b.len, stdout) == b.len && fflush(stdout) == 0;
    mox_buf_free(&b);
    return ok ? TOOL_OK : tool_err(TOOL_RUNTIME, "writing output failed");
}

static int print_json(const mox_dns_answer *a)
{
    tool_json j;
    mox_buf b = MOX_BUF_INIT;
    int rc = MOX_OK;
    tool_json_init(&j);
    tool_json_obj_begin(&j);
    tool_json_key(&j, "rcode");
    tool_json_str(&j, mox_dns_status_name(a->status));
    tool_json_key(&j, "authentic");
    tool_json_bool(&j, a->authentic);
    tool_json_key(&j, "records");
    tool_json_arr_begin(&j);
    for (size_t i = 0; rc == MOX_OK && i < a->nrr; i++) {
        const mox_dns_rr *rr = &a->rr[i];
        tool_json_obj_begin(&j);
        tool_json_key(&j, "name");
        mox_buf_reset(&b);
        rc = mox_buf_appendf(&b, "%s.", rr->name);
        tool_json_strn(&j, (const char *)b.data, b.len);
        tool_json_key(&j, "ttl");
        tool_json_int(&j, rr->ttl);
        tool_json_key(&j, "type");
        tool_json_str(&j, mox_dns_type_name(rr->type));
        tool_json_key(&j, "data");
        mox_buf_reset(&b);
        if (rc == MOX_OK)
            rc = mox_dns_rdata_format(rr, &b);
        tool_json_strn(&j, b.data ? (const char *)b.data : "", b.len);
        tool_json_obj_end(&j);
    }
    tool_json_arr_end(&j);
    tool_json_obj_end(&j);
    mox_buf_free(&b);
    if (rc != MOX_OK) {
        tool_json_free(&j);
        return tool_err(TOOL_RUNTIME, "%s", mox_strerror(rc));
    }
    int r = tool_json_print(&j, stdout);
    tool_json_free(&j);
    return r;
}

static int lookup(int argc, char **argv)
{
    struct tool_dns d;
    memset(&d, 0, sizeof d);
    int json = 0;
    const char *pos[2];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (tool_is_help(a)) {
            lookup_help();
            return TOOL_OK;
        }
        if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        }
        int r = tool_dns_option(&d, argc, argv, &i);
        if (r < 0) {
            fputs(lookup_usage, stderr);
            return TOOL_USAGE;
        }
        if (r > 0)
            continue;
        if (!strcmp(a, "--")) {
            for (i++; i < argc && npos < 2; i++)
                pos[npos++] = argv[i];
            if (i < argc)
                npos = 3;
            break;
        }
        if (a[0] == '-' && a[1]) {
            fprintf(stderr, "mox: dns lookup: unknown option '%s'\n%s", a, lookup_usage);
            return TOOL_USAGE;
        }
        if (npos == 2) {
            npos = 3;
            break;
        }
        pos[npos++] = a;
    }
    if (npos != 2) {
        fprintf(stderr, "mox: dns lookup needs TYPE and NAME\n%s", lookup_usage);
        return TOOL_USAGE;
    }
    uint16_t type;
    if (mox_dns_type_parse(pos[0], &type) != MOX_OK) {
        fprintf(stderr, "mox: dns lookup: unknown type '%s'\n%s", pos[0], lookup_usage);
        return TOOL_USAGE;
    }
    int rc = tool_dns_open(&d);
    if (rc != TOOL_OK)
        return rc;
    mox_dns_answer *a = NULL;
    int err = mox_dns_lookup(&d.resolver, pos[1], type, &a);
    if (err == MOX_ERR_SYNTAX) {
        tool_dns_close(&d);
        fprintf(stderr, "mox: dns lookup: invalid name '%s'\n", pos[1]);
        return TOOL_USAGE;
    }
    if (err != MOX_OK) {
        tool_dns_close(&d);
        return tool_err(TOOL_RUNTIME, "dns lookup: %s", mox_strerror(err));
    }
    if (a->status == MOX_DNS_NETERR) {
        mox_dns_answer_free(a);
        tool_dns_close(&d);
        return tool_err(TOOL_RUNTIME, "dns lookup: no DNS server could be reached%s%s",
                        d.server ? " at " : "", d.server ? d.server : "");
    }
    rc = json ? print_json(a) : print_text(a);
    mox_dns_answer_free(a);
    tool_dns_close(&d);
    return rc;
}

static const struct tool_cmd cmd_lookup = {"lookup", "look a name up (zone file, server or system resolver)", lookup};
static const struct tool_cmd *const dns_cmds[] = {&cmd_lookup, NULL};

static int run(int argc, char **argv)
{
    return tool_dispatch("mox dns", dns_cmds, argc, argv);
}

const struct tool_cmd tool_cmd_dns = {"dns", "DNS lookups through libmox's resolvers", run};
