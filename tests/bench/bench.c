#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"

double mox_bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double mox_bench_run(const char *name, int (*fn)(void *), void *arg, double seconds,
                     int rounds)
{
    if (rounds < 1)
        rounds = 1;
    if (rounds > 64)
        rounds = 64;
    double rates[64];
    for (int r = 0; r < rounds; r++) {
        double start = mox_bench_now(), now;
        unsigned long ops = 0, batch = 1;
        do {
            for (unsigned long i = 0; i < batch; i++) {
                if (fn(arg) != 0) {
                    fprintf(stderr, "bench %s: operation failed\n", name);
                    exit(1);
                }
            }
            ops += batch;
            now = mox_bench_now();
            if (now - start < seconds / 10 && batch < (1UL << 20))
                batch *= 2;
        } while (now - start < seconds);
        rates[r] = (double)ops / (now - start);
    }
    qsort(rates, (size_t)rounds, sizeof rates[0], cmp_double);
    double med = rates[rounds / 2];
    printf("%s: min %.0f  median %.0f  max %.0f ops/s (%d rounds of %.1fs)\n", name, rates[0],
           med, rates[rounds - 1], rounds, seconds);
    fflush(stdout);
    return med;
}

void mox_bench_ratio(const char *name, double ours, double base)
{
    if (base > 0)
        printf("%s: %.2fx baseline\n", name, ours / base);
    else
        printf("%s: baseline unavailable\n", name);
}

int mox_bench_rounds(int dflt)
{
    const char *s = getenv("MOX_BENCH_ROUNDS");
    return s ? atoi(s) : dflt;
}

double mox_bench_seconds(double dflt)
{
    const char *s = getenv("MOX_BENCH_SECONDS");
    return s ? atof(s) : dflt;
}
