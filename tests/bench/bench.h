/* Tiny benchmark harness: runs a function repeatedly for a time budget,
 * several rounds, and prints min/median/max rates. Never fails on time. */
#ifndef MOX_BENCH_H
#define MOX_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Runs `fn(arg)` in batches for about `seconds` per round, `rounds`
 * rounds; prints "name: min/median/max ops/s" and returns the median rate.
 * `fn` returns 0 on success; a non-zero return aborts the benchmark with a
 * message (a benchmark must not silently measure a failing path). */
double mox_bench_run(const char *name, int (*fn)(void *arg), void *arg, double seconds,
                     int rounds);

/* Monotonic seconds. */
double mox_bench_now(void);

/* Prints a ratio line "name: X.XXx baseline" (ours/base). */
void mox_bench_ratio(const char *name, double ours, double base);

/* Number of rounds/seconds from $MOX_BENCH_ROUNDS / $MOX_BENCH_SECONDS
 * with defaults. */
int mox_bench_rounds(int dflt);
double mox_bench_seconds(double dflt);

#endif
