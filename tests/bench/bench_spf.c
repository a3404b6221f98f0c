/* SPF: evaluations per second of the realistic 3-include policy in
 * tests/data/spf/spf-bench-zone.txt (client 198.19.201.77, MAIL FROM
 * user@spf-bench.test -> pass through mx, three includes, the 12th ip4 of
 * the third), with the in-memory zone: the workload of the libspf2 and
 * pyspf peers in /work/shared/bench. Every evaluation starts from nothing
 * (new evaluation, records fetched and parsed again; the zone is the only
 * thing shared), like the peers.
 *
 * Peers, run in the same process run when given (environment):
 *   MOX_SPF_PEER_LIBSPF2=/path/to/spf-peer-bench   (built from
 *       spf-peer-bench.c with -lspf2)
 *   MOX_SPF_PEER_PYSPF=/path/to/spf-peer-pyspf.py  (run with /usr/bin/python3)
 * each run MOX_BENCH_ROUNDS times, interleaved with ours; the medians give
 * the ratios. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "mox/dns.h"
#include "mox/spf.h"

static const char *ip = "198.19.201.77", *sender = "user@spf-bench.test", *helo = "mx.client.test";

typedef struct ctx {
    mox_dns_zone *z;
    mox_resolver r;
    mox_spf_config cfg;
} ctx;

static int eval_blocking(void *arg)
{
    ctx *c = arg;
    mox_spf *s;
    int rc = mox_spf_check(&s, &c->cfg, &c->r, ip, sender, helo, MOX_SPF_ID_MAILFROM, NULL);
    if (rc)
        return rc;
    rc = mox_spf_result(s)->result == MOX_SPF_PASS ? 0 : -1;
    mox_spf_free(s);
    return rc;
}

/* The engine contract driven by hand: every open question answered from
 * the zone (mox_dns_zone_query + mox_answer_dns_copy), as an event loop
 * with its own resolver would. */
static int eval_steps(void *arg)
{
    ctx *c = arg;
    mox_spf *s;
    int rc = mox_spf_new(&s, &c->cfg, ip, sender, helo, MOX_SPF_ID_MAILFROM, NULL);
    if (rc)
        return rc;
    mox_query q;
    while (rc == MOX_OK && !(mox_spf_want(s) & MOX_WANT_DONE)) {
        if ((rc = mox_spf_query(s, &q)))
            break;
        mox_dns_answer *d;
        if ((rc = mox_dns_zone_query(c->z, q.u.dns.name, q.u.dns.type, &d)))
            break;
        mox_answer *a;
        rc = mox_answer_dns_copy(&a, q.id, d);
        mox_dns_answer_free(d);
        if (rc == MOX_OK)
            rc = mox_spf_answer(s, a);
        mox_answer_free(a);
    }
    if (rc == MOX_OK)
        rc = mox_spf_result(s)->result == MOX_SPF_PASS ? 0 : -1;
    mox_spf_free(s);
    return rc;
}

/* Runs a peer command and extracts "<n> evaluations/s". */
static double run_peer(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    char line[1024];
    double rate = 0;
    while (fgets(line, sizeof line, p)) {
        char *e = strstr(line, " evaluations/s");
        if (!e)
            continue;
        char *b = e;
        while (b > line && ((b[-1] >= '0' && b[-1] <= '9') || b[-1] == '.'))
            b--;
        rate = atof(b);
        fputs(line, stdout);
    }
    if (pclose(p) != 0)
        return 0;
    return rate;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    char zone_path[4096];
    snprintf(zone_path, sizeof zone_path, "%s/spf/spf-bench-zone.txt", MOX_BENCH_DATA);
    ctx c;
    memset(&c, 0, sizeof c);
    mox_errinfo ei;
    if (mox_dns_zone_new(&c.z) || mox_dns_zone_load_file(c.z, zone_path, &ei)) {
        fprintf(stderr, "bench_spf: %s: %s\n", zone_path, ei.msg);
        return 1;
    }
    mox_dns_zone_resolver(c.z, &c.r);
    c.cfg = (mox_spf_config)MOX_SPF_CONFIG_INIT;
    c.cfg.receiver = "mx.receiver.test";

    mox_spf *s;
    if (mox_spf_check(&s, &c.cfg, &c.r, ip, sender, helo, 0, NULL)) {
        fprintf(stderr, "bench_spf: evaluation failed\n");
        return 1;
    }
    const mox_spf_outcome *o = mox_spf_result(s);
    printf("spf bench policy: %s via %s, %u lookup terms, %u DNS queries\n",
           mox_spf_result_name(o->result), o->mechanism ? o->mechanism : "-", o->dns_lookups,
           o->dns_queries);
    mox_spf_free(s);

    int rounds = mox_bench_rounds(5);
    double secs = mox_bench_seconds(1.0);
    const char *lib = getenv("MOX_SPF_PEER_LIBSPF2"), *py = getenv("MOX_SPF_PEER_PYSPF");
    double ours[64], steps[64], l2[64], pys[64];
    int nl = 0, np = 0;
    if (rounds > 64)
        rounds = 64;
    char cmd[8192];
    /* Interleaved: one round of each per iteration, so drift on a shared
     * machine hits all of them alike. */
    for (int i = 0; i < rounds; i++) {
        ours[i] = mox_bench_run("libmox spf (blocking, in-memory zone)", eval_blocking, &c, secs, 1);
        steps[i] = mox_bench_run("libmox spf (contract by hand, in-memory zone)", eval_steps, &c, secs, 1);
        if (lib) {
            snprintf(cmd, sizeof cmd, "'%s' '%s' 100000", lib, zone_path);
            double r = run_peer(cmd);
            if (r > 0)
                l2[nl++] = r;
        }
        if (py) {
            snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' 3000", py, zone_path);
            double r = run_peer(cmd);
            if (r > 0)
                pys[np++] = r;
        }
    }
    qsort(ours, (size_t)rounds, sizeof(double), cmp_double);
    qsort(steps, (size_t)rounds, sizeof(double), cmp_double);
    double mo = ours[rounds / 2], ms = steps[rounds / 2];
    printf("libmox spf blocking: median %.0f evaluations/s (min %.0f max %.0f)\n", mo, ours[0],
           ours[rounds - 1]);
    printf("libmox spf contract by hand: median %.0f evaluations/s (min %.0f max %.0f)\n", ms, steps[0],
           steps[rounds - 1]);
    if (nl) {
        qsort(l2, (size_t)nl, sizeof(double), cmp_double);
        printf("libspf2: median %.0f evaluations/s over %d runs\n", l2[nl / 2], nl);
        mox_bench_ratio("libmox spf vs libspf2", mo, l2[nl / 2]);
    }
    if (np) {
        qsort(pys, (size_t)np, sizeof(double), cmp_double);
        printf("pyspf: median %.0f evaluations/s over %d runs\n", pys[np / 2], np);
        mox_bench_ratio("libmox spf vs pyspf", mo, pys[np / 2]);
    }
    mox_dns_zone_free(c.z);
    return 0;
}
