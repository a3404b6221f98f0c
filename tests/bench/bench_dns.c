/* In-memory zone: queries per second (what SPF/DKIM/DMARC evaluations
 * against a --dns-zone cost), and load speed of a large zone. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "mox/dns.h"

#define NAMES 10000

static mox_dns_zone *zone;
static unsigned counter;

static int query_mix(void *arg)
{
    (void)arg;
    char name[64];
    unsigned i = counter++;
    mox_dns_answer *a;
    int rc;
    switch (i % 4) {
    case 0: /* TXT hit */
        snprintf(name, sizeof name, "h%u.example.org", i % NAMES);
        rc = mox_dns_zone_query(zone, name, MOX_DNS_TXT, &a);
        break;
    case 1: /* A through a CNAME */
        snprintf(name, sizeof name, "alias%u.example.org.", i % NAMES);
        rc = mox_dns_zone_query(zone, name, MOX_DNS_A, &a);
        break;
    case 2: /* NXDOMAIN */
        snprintf(name, sizeof name, "nope%u.example.org", i % NAMES);
        rc = mox_dns_zone_query(zone, name, MOX_DNS_A, &a);
        break;
    default: /* NODATA */
        snprintf(name, sizeof name, "H%u.Example.ORG", i % NAMES);
        rc = mox_dns_zone_query(zone, name, MOX_DNS_MX, &a);
        break;
    }
    if (rc != MOX_OK)
        return rc;
    mox_dns_answer_free(a);
    return 0;
}

static mox_buf text;

static int load(void *arg)
{
    (void)arg;
    mox_dns_zone *z;
    int rc = mox_dns_zone_new(&z);
    if (rc == MOX_OK)
        rc = mox_dns_zone_load(z, (const char *)text.data, text.len, "example.org.", "bench", NULL);
    mox_dns_zone_free(z);
    return rc;
}

int main(void)
{
    for (unsigned i = 0; i < NAMES; i++)
        mox_buf_appendf(&text, "h%u 300 IN TXT \"v=spf1 ip4:192.0.2.%u -all\"\n"
                               "   300 IN A 10.%u.%u.1\nalias%u CNAME h%u\n",
                        i, i % 256, i / 256, i % 256, i, i);
    mox_dns_zone_new(&zone);
    if (load(NULL) != MOX_OK ||
        mox_dns_zone_load(zone, (const char *)text.data, text.len, "example.org.", "bench", NULL) != MOX_OK) {
        fprintf(stderr, "zone did not load\n");
        return 1;
    }
    int rounds = mox_bench_rounds(5);
    double secs = mox_bench_seconds(0.5);
    double q = mox_bench_run("zone query (hit/CNAME/NXDOMAIN/NODATA mix)", query_mix, NULL, secs, rounds);
    double l = mox_bench_run("zone load (30000 records)", load, NULL, secs, rounds);
    printf("zone: %.0f queries/s; load %.0f records/s\n", q, l * 3 * NAMES);
    mox_dns_zone_free(zone);
    mox_buf_free(&text);
    return 0;
}
