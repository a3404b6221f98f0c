/* The DNS options every resolving command shares (see tool.h). */
#include <stdlib.h>
#include <string.h>

#include "tool.h"

const char tool_dns_usage[] =
    "  --dns-zone FILE         answer DNS from a zone file (master-file syntax,\n"
    "                          with $SERVFAIL, $TIMEOUT and $AUTHENTIC; see docs/dns.md)\n"
    "  --dns-server IP[:PORT]  ask this DNS server ([IPv6]:PORT); default: /etc/resolv.conf\n"
    "  --dns-timeout MS        timeout per attempt in milliseconds (default 5000)\n"
    "  --dns-attempts N        attempts (default 2)\n";

static int num(const char *opt, const char *v, int max, int *out)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < 1 || x > max) {
        fprintf(stderr, "mox: %s: bad value '%s' (1..%d)\n", opt, v, max);
        return -1;
    }
    *out = (int)x;
    return 1;
}

int tool_dns_option(struct tool_dns *d, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char *v = NULL;
    static const char *const opts[] = {"--dns-zone", "--dns-server", "--dns-timeout", "--dns-attempts"};
    size_t k;
    for (k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        size_t n = strlen(opts[k]);
        if (!strncmp(a, opts[k], n) && (a[n] == 0 || a[n] == '='))
            break;
    }
    if (k == sizeof opts / sizeof opts[0])
        return 0;
    const char *eq = strchr(a, '=');
    if (eq) {
        v = eq + 1;
    } else {
        if (*i + 1 >= argc) {
            fprintf(stderr, "mox: %s needs a value\n", opts[k]);
            return -1;
        }
        v = argv[++*i];
    }
    switch (k) {
    case 0:
        d->zone_file = v;
        break;
    case 1: {
        /* validate now, so a typo is a usage error and not a network one */
        mox_dns_system *s;
        if (mox_dns_system_new(&s, v, 1, 1) != MOX_OK) {
            fprintf(stderr, "mox: --dns-server: bad address '%s' (IP, IP:PORT or [IPv6]:PORT)\n", v);
            return -1;
        }
        mox_dns_system_free(s);
        d->server = v;
        break;
    }
    case 2:
        return num(opts[k], v, 3600000, &d->timeout_ms);
    default:
        return num(opts[k], v, 100, &d->attempts);
    }
    if (d->zone_file && d->server) {
        fprintf(stderr, "mox: --dns-zone and --dns-server exclude each other\n");
        return -1;
    }
    return 1;
}

int tool_dns_open(struct tool_dns *d)
{
    int rc;
    if (d->zone_file) {
        mox_errinfo ei;
        mox_errinfo_clear(&ei);
        if ((rc = mox_dns_zone_new(&d->zone)) != MOX_OK)
            return tool_err(TOOL_RUNTIME, "%s", mox_strerror(rc));
        rc = mox_dns_zone_load_file(d->zone, d->zone_file, &ei);
        if (rc != MOX_OK) {
            tool_dns_close(d);
            return tool_err(TOOL_RUNTIME, "%s", ei.msg[0] ? ei.msg : mox_strerror(rc));
        }
        mox_dns_zone_resolver(d->zone, &d->resolver);
        return TOOL_OK;
    }
    rc = mox_dns_system_new(&d->sys, d->server, d->timeout_ms, d->attempts);
    if (rc != MOX_OK)
        return tool_err(TOOL_RUNTIME, "DNS resolver: %s", mox_strerror(rc));
    mox_dns_system_resolver(d->sys, &d->resolver);
    return TOOL_OK;
}

void tool_dns_close(struct tool_dns *d)
{
    mox_dns_zone_free(d->zone);
    d->zone = NULL;
    mox_dns_system_free(d->sys);
    d->sys = NULL;
}
