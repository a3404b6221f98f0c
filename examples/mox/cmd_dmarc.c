/* mox dmarc check | lookup | parse */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

static const char check_usage[] =
    "usage: mox dmarc check [--dns-zone FILE | --dns-server IP:PORT] --ip IP\n"
    "                       [--mail-from ADDR] [--helo NAME] [--authserv-id ID]\n"
    "                       [--iprev] [--rfc7489] [--psl FILE] [--json] < message\n"
    "\n"
    "Runs SPF (MAIL FROM), DKIM and DMARC (RFC 9989; RFC 7489 with --rfc7489)\n"
    "on the message on standard input (LF or CRLF line ends) as received from\n"
    "IP, and prints the Authentication-Results header field (authserv-id: the\n"
    "host name unless --authserv-id). --iprev adds the iprev check. With --json\n"
    "one object: authentication_results, spf, dkim (one per signature), dmarc.\n"
    "\n"
    "options:\n"
    "  --mail-from ADDR        MAIL FROM address (default: empty, the null path)\n"
    "  --helo NAME             HELO/EHLO name\n"
    "  --psl FILE              public suffix list for --rfc7489 (default: libpsl's)\n";

static const char lookup_usage[] =
    "usage: mox dmarc lookup [--dns-zone FILE | --dns-server IP:PORT] [--rfc7489]\n"
    "                        [--json] DOMAIN\n"
    "\n"
    "Finds the DMARC policy record that applies to mail from DOMAIN (RFC 9989\n"
    "DNS Tree Walk, or the RFC 7489 public suffix method) and shows where it was\n"
    "found, the Organizational Domain, the policy, and every query of the walk.\n";

static const char parse_usage[] =
    "usage: mox dmarc parse [--strict] [--json] RECORD\n"
    "\n"
    "Parses a DMARC policy record and shows its tags, the problems a receiver\n"
    "tolerates, or the precise error (--strict: any problem is an error).\n";

static void json_record(tool_json *j, const mox_dmarc_record *r)
{
    tool_json_obj_begin(j);
    tool_json_key(j, "p");
    tool_json_str(j, r->p >= 0 ? mox_dmarc_policy_name(r->p) : NULL);
    tool_json_key(j, "sp");
    tool_json_str(j, r->sp >= 0 ? mox_dmarc_policy_name(r->sp) : NULL);
    tool_json_key(j, "np");
    tool_json_str(j, r->np >= 0 ? mox_dmarc_policy_name(r->np) : NULL);
    tool_json_key(j, "psd");
    tool_json_str(j, r->psd == MOX_DMARC_PSD_Y ? "y" : r->psd == MOX_DMARC_PSD_N ? "n" : "u");
    tool_json_key(j, "t");
    tool_json_bool(j, r->testing);
    tool_json_key(j, "adkim");
    tool_json_str(j, r->adkim_strict ? "s" : "r");
    tool_json_key(j, "aspf");
    tool_json_str(j, r->aspf_strict ? "s" : "r");
    for (int k = 0; k < 2; k++) {
        tool_json_key(j, k ? "ruf" : "rua");
        tool_json_arr_begin(j);
        size_t n = k ? r->nruf : r->nrua;
        const mox_dmarc_uri *u = k ? r->ruf : r->rua;
        for (size_t i = 0; i < n; i++)
            tool_json_str(j, u[i].uri);
        tool_json_arr_end(j);
    }
    tool_json_key(j, "fo");
    {
        char fo[8];
        size_t k = 0;
        static const char ch[] = "01ds";
        for (int b = 0; b < 4; b++)
            if (r->fo & (1u << b)) {
                if (k)
                    fo[k++] = ':';
                fo[k++] = ch[b];
            }
        fo[k] = 0;
        tool_json_str(j, fo);
    }
    tool_json_key(j, "pct");
    if (r->pct >= 0)
        tool_json_int(j, r->pct);
    else
        tool_json_null(j);
    tool_json_key(j, "problem");
    tool_json_str(j, r->problem);
    tool_json_obj_end(j);
}

static int opt_common(const char *a, int *rfc7489)
{
    if (!strcmp(a, "--rfc7489")) {
        *rfc7489 = 1;
        return 1;
    }
    return 0;
}

static int run_check(int argc, char **argv)
{
    const char *ip = NULL, *mail_from = "", *helo = NULL, *id = NULL, *pslfile = NULL;
    int json = 0, iprev = 0, rfc7489 = 0;
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
        } else if (!strcmp(a, "--iprev")) {
            iprev = 1;
        } else if (opt_common(a, &rfc7489)) {
        } else if (i + 1 < argc && !strcmp(a, "--ip")) {
            ip = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--mail-from")) {
            mail_from = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--helo")) {
            helo = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--authserv-id")) {
            id = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--psl")) {
            pslfile = argv[++i];
        } else {
            fputs(check_usage, stderr);
            return TOOL_USAGE;
        }
    }
    if (!ip) {
        fputs(check_usage, stderr);
        return tool_err(TOOL_USAGE, "dmarc check: --ip is required");
    }
    char host[256];
    if (!id) {
        if (gethostname(host, sizeof host) != 0)
            strcpy(host, "localhost");
        host[sizeof host - 1] = 0;
        id = host;
    }
    mox_buf raw = MOX_BUF_INIT, msg = MOX_BUF_INIT;
    int rc = tool_read_file(NULL, &raw);
    if (rc != TOOL_OK) {
        mox_buf_free(&raw);
        return rc;
    }
    if ((rc = tool_to_crlf(&raw, &msg)) != TOOL_OK) {
        mox_buf_free(&raw);
        mox_buf_free(&msg);
        return rc;
    }
    mox_buf_free(&raw);
    mox_dmarc_psl *psl = NULL;
    if (rfc7489) {
        int prc = mox_dmarc_psl_new(&psl, pslfile);
        if (prc != MOX_OK) {
            mox_buf_free(&msg);
            return tool_err(TOOL_RUNTIME, "cannot load the public suffix list%s%s: %s",
                            pslfile ? " " : "", pslfile ? pslfile : "", mox_strerror(prc));
        }
    }
    rc = tool_dns_open(&dns);
    if (rc != TOOL_OK) {
        mox_buf_free(&msg);
        mox_dmarc_psl_free(psl);
        return rc;
    }
    mox_dmarc_config dc = MOX_DMARC_CONFIG_INIT;
    dc.mode = rfc7489 ? MOX_DMARC_MODE_RFC7489 : MOX_DMARC_MODE_RFC9989;
    dc.psl = psl;
    mox_msgauth_config mc = MOX_MSGAUTH_CONFIG_INIT;
    mc.dmarc = &dc;
    mc.flags = iprev ? MOX_MSGAUTH_IPREV : 0;
    mox_msgauth *m = NULL;
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    int lrc = mox_msgauth_check(&m, &mc, &dns.resolver, ip, mail_from, helo, msg.data, msg.len, &ei);
    mox_buf_free(&msg);
    if (lrc != MOX_OK) {
        tool_dns_close(&dns);
        mox_dmarc_psl_free(psl);
        return tool_err(lrc == MOX_ERR_INVAL ? TOOL_USAGE : TOOL_RUNTIME, "dmarc check: %s",
                        ei.msg[0] ? ei.msg : mox_strerror(lrc));
    }
    mox_buf ar = MOX_BUF_INIT;
    rc = TOOL_OK;
    if (mox_msgauth_authres_header(m, id, &ar) != MOX_OK) {
        rc = tool_err(TOOL_RUNTIME, "out of memory");
    } else if (!json) {
        fwrite(ar.data, 1, ar.len, stdout);
    } else {
        tool_json j;
        tool_json_init(&j);
        tool_json_obj_begin(&j);
        tool_json_key(&j, "authentication_results");
        tool_json_strn(&j, (const char *)ar.data, ar.len);
        const mox_iprev_outcome *io = mox_iprev_get(mox_msgauth_iprev(m));
        if (io) {
            tool_json_key(&j, "iprev");
            tool_json_obj_begin(&j);
            tool_json_key(&j, "result");
            tool_json_str(&j, mox_iprev_result_name(io->result));
            tool_json_key(&j, "name");
            tool_json_str(&j, io->name);
            tool_json_key(&j, "reason");
            tool_json_str(&j, io->reason);
            tool_json_obj_end(&j);
        }
        const mox_spf_outcome *so = mox_spf_get(mox_msgauth_spf(m));
        tool_json_key(&j, "spf");
        tool_json_obj_begin(&j);
        tool_json_key(&j, "result");
        tool_json_str(&j, mox_spf_result_name(so->result));
        tool_json_key(&j, "domain");
        tool_json_str(&j, so->domain);
        tool_json_key(&j, "identity");
        tool_json_str(&j, so->identity == MOX_SPF_ID_HELO ? "helo" : "mailfrom");
        tool_json_key(&j, "mechanism");
        tool_json_str(&j, so->mechanism);
        tool_json_key(&j, "problem");
        tool_json_str(&j, so->problem);
        tool_json_obj_end(&j);
        tool_json_key(&j, "dkim");
        tool_json_arr_begin(&j);
        const mox_dkim_verifier *v = mox_msgauth_dkim(m);
        const mox_dkim_verifier_outcome *dko = v ? mox_dkim_verifier_result(v) : NULL;
        size_t nd = dko ? dko->count : 0;
        for (size_t i = 0; i < nd; i++) {
            const mox_dkim_sig_result *r = dko->results[i];
            tool_json_obj_begin(&j);
            tool_json_key(&j, "result");
            tool_json_str(&j, mox_dkim_status_name(r->status));
            tool_json_key(&j, "domain");
            tool_json_str(&j, r->domain);
            tool_json_key(&j, "selector");
            tool_json_str(&j, r->selector);
            tool_json_key(&j, "algorithm");
            tool_json_str(&j, r->algorithm);
            tool_json_key(&j, "reason");
            tool_json_str(&j, r->reason);
            tool_json_obj_end(&j);
        }
        tool_json_arr_end(&j);
        const mox_dmarc_outcome *o = mox_dmarc_get(mox_msgauth_dmarc(m));
        tool_json_key(&j, "dmarc");
        tool_json_obj_begin(&j);
        tool_json_key(&j, "result");
        tool_json_str(&j, mox_dmarc_result_name(o->result));
        tool_json_key(&j, "policy");
        tool_json_str(&j, o->policy >= 0 ? mox_dmarc_policy_name(o->policy) : NULL);
        tool_json_key(&j, "disposition");
        tool_json_str(&j, mox_dmarc_policy_name(o->disposition));
        tool_json_key(&j, "domain");
        tool_json_str(&j, o->domain);
        tool_json_key(&j, "record_domain");
        tool_json_str(&j, o->record_domain);
        tool_json_key(&j, "spf_aligned");
        tool_json_str(&j, mox_dmarc_align_name(o->spf_aligned));
        tool_json_key(&j, "dkim_aligned");
        tool_json_str(&j, mox_dmarc_align_name(o->dkim_aligned));
        tool_json_key(&j, "reason");
        tool_json_str(&j, o->reason);
        tool_json_key(&j, "from_status");
        tool_json_str(&j, o->from_status ? mox_dmarc_from_name(o->from_status) : NULL);
        tool_json_key(&j, "org_domain");
        tool_json_str(&j, o->org_domain);
        tool_json_key(&j, "testing");
        tool_json_bool(&j, o->testing);
        tool_json_obj_end(&j);
        tool_json_obj_end(&j);
        rc = tool_json_print(&j, stdout);
        tool_json_free(&j);
    }
    mox_buf_free(&ar);
    mox_msgauth_free(m);
    tool_dns_close(&dns);
    mox_dmarc_psl_free(psl);
    return rc;
}

static int run_lookup(int argc, char **argv)
{
    const char *domain = NULL;
    int json = 0, rfc7489 = 0;
    struct tool_dns dns;
    memset(&dns, 0, sizeof dns);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int d;
        if (tool_is_help(a)) {
            fputs(lookup_usage, stdout);
            fputs(tool_dns_usage, stdout);
            return TOOL_OK;
        } else if ((d = tool_dns_option(&dns, argc, argv, &i)) != 0) {
            if (d < 0)
                return TOOL_USAGE;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (opt_common(a, &rfc7489)) {
        } else if (a[0] != '-' && !domain) {
            domain = a;
        } else {
            fputs(lookup_usage, stderr);
            return TOOL_USAGE;
        }
    }
    if (!domain) {
        fputs(lookup_usage, stderr);
        return TOOL_USAGE;
    }
    mox_dmarc_config dc = MOX_DMARC_CONFIG_INIT;
    dc.flags = MOX_DMARC_F_DISCOVER_ONLY;
    dc.mode = rfc7489 ? MOX_DMARC_MODE_RFC7489 : MOX_DMARC_MODE_RFC9989;
    mox_dmarc *d;
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    int rc = mox_dmarc_new(&d, &dc, domain, &ei);
    if (rc != MOX_OK)
        return tool_err(rc == MOX_ERR_NOMEM ? TOOL_RUNTIME : TOOL_USAGE, "dmarc lookup: %s: %s",
                        domain, ei.msg);
    rc = tool_dns_open(&dns);
    if (rc != TOOL_OK) {
        mox_dmarc_free(d);
        return rc;
    }
    if (mox_dmarc_run(d, &dns.resolver) != MOX_OK) {
        mox_dmarc_free(d);
        tool_dns_close(&dns);
        return tool_err(TOOL_RUNTIME, "out of memory");
    }
    const mox_dmarc_outcome *o = mox_dmarc_get(d);
    rc = TOOL_OK;
    size_t nq = mox_dmarc_query_count(d);
    if (json) {
        tool_json j;
        tool_json_init(&j);
        tool_json_obj_begin(&j);
        tool_json_key(&j, "domain");
        tool_json_str(&j, o->domain);
        tool_json_key(&j, "result");
        tool_json_str(&j, o->result == MOX_DMARC_TEMPERROR ? "temperror"
                          : o->record                      ? "found"
                                                           : "none");
        tool_json_key(&j, "record_domain");
        tool_json_str(&j, o->record_domain);
        tool_json_key(&j, "record");
        tool_json_str(&j, o->record_text);
        tool_json_key(&j, "org_domain");
        tool_json_str(&j, o->org_domain);
        tool_json_key(&j, "policy");
        tool_json_str(&j, o->policy >= 0 ? mox_dmarc_policy_name(o->policy) : NULL);
        tool_json_key(&j, "tags");
        if (o->record)
            json_record(&j, o->record);
        else
            tool_json_null(&j);
        tool_json_key(&j, "reason");
        tool_json_str(&j, o->reason);
        tool_json_key(&j, "queries");
        tool_json_arr_begin(&j);
        for (size_t i = 0; i < nq; i++) {
            mox_dmarc_query q;
            mox_dmarc_query_get(d, i, &q);
            tool_json_obj_begin(&j);
            tool_json_key(&j, "name");
            tool_json_str(&j, q.name);
            tool_json_key(&j, "type");
            tool_json_str(&j, mox_dns_type_name(q.type));
            tool_json_key(&j, "status");
            tool_json_str(&j, mox_dns_status_name(q.status));
            tool_json_key(&j, "records");
            tool_json_int(&j, q.records);
            tool_json_obj_end(&j);
        }
        tool_json_arr_end(&j);
        tool_json_obj_end(&j);
        rc = tool_json_print(&j, stdout);
        tool_json_free(&j);
    } else {
        if (o->result == MOX_DMARC_TEMPERROR)
            printf("temperror: %s\n", o->reason);
        else if (!o->record)
            printf("no DMARC record for %s\n", o->domain);
        else
            printf("record at _dmarc.%s: %s\n", o->record_domain, o->record_text);
        if (o->org_domain)
            printf("organizational domain: %s\n", o->org_domain);
        if (o->record)
            printf("policy for %s: %s\n", o->domain, mox_dmarc_policy_name(o->policy));
        for (size_t i = 0; i < nq; i++) {
            mox_dmarc_query q;
            mox_dmarc_query_get(d, i, &q);
            printf("query %zu: %s %s %s", i + 1, q.name, mox_dns_type_name(q.type),
                   mox_dns_status_name(q.status));
            if (q.type == MOX_DNS_TXT)
                printf(" (%d DMARC record%s)", q.records, q.records == 1 ? "" : "s");
            putchar('\n');
        }
    }
    mox_dmarc_free(d);
    tool_dns_close(&dns);
    return rc;
}

static int run_parse(int argc, char **argv)
{
    const char *rec = NULL;
    int json = 0;
    unsigned flags = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (tool_is_help(a)) {
            fputs(parse_usage, stdout);
            return TOOL_OK;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--strict")) {
            flags |= MOX_DMARC_PARSE_STRICT;
        } else if (!rec && !tool_is_option(a)) {
            rec = a;
        } else {
            fputs(parse_usage, stderr);
            return TOOL_USAGE;
        }
    }
    if (!rec) {
        fputs(parse_usage, stderr);
        return TOOL_USAGE;
    }
    mox_dmarc_record *r = NULL;
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    int rc = mox_dmarc_record_parse(rec, strlen(rec), flags, &r, &ei);
    if (rc == MOX_ERR_NOMEM)
        return tool_err(TOOL_RUNTIME, "out of memory");
    if (json) {
        tool_json j;
        tool_json_init(&j);
        tool_json_obj_begin(&j);
        tool_json_key(&j, "valid");
        tool_json_bool(&j, rc == MOX_OK);
        if (rc != MOX_OK) {
            tool_json_key(&j, "error");
            tool_json_str(&j, ei.msg);
            tool_json_key(&j, "offset");
            tool_json_int(&j, (long long)ei.offset);
        } else {
            tool_json_key(&j, "tags");
            json_record(&j, r);
        }
        tool_json_obj_end(&j);
        int valid = rc == MOX_OK;
        rc = tool_json_print(&j, stdout);
        tool_json_free(&j);
        if (rc == TOOL_OK && !valid)
            rc = TOOL_RUNTIME; /* unparsable input, as for mox spf parse */
    } else if (rc != MOX_OK) {
        fprintf(stderr, "mox: dmarc parse: invalid record at offset %zu: %s\n", ei.offset, ei.msg);
        rc = TOOL_RUNTIME;
    } else {
        mox_buf b = MOX_BUF_INIT;
        if (mox_dmarc_record_format(r, &b) == MOX_OK)
            printf("%s\n", (const char *)b.data);
        if (r->problem)
            printf("problem: %s\n", r->problem);
        mox_buf_free(&b);
        rc = TOOL_OK;
    }
    mox_dmarc_record_free(r);
    return rc;
}

static const struct tool_cmd check_cmd = {"check", "run SPF, DKIM and DMARC on a message", run_check};
static const struct tool_cmd lookup_cmd = {"lookup", "find the DMARC policy record of a domain", run_lookup};
static const struct tool_cmd parse_cmd = {"parse", "parse a DMARC policy record", run_parse};
static const struct tool_cmd *const dmarc_cmds[] = {&check_cmd, &lookup_cmd, &parse_cmd, NULL};

static int run(int argc, char **argv) { return tool_dispatch("mox dmarc", dmarc_cmds, argc, argv); }

const struct tool_cmd tool_cmd_dmarc = {"dmarc", "DMARC verdicts (RFC 9989) and policy lookup", run};
