/* A private PostgreSQL server for the queue tests and benchmarks. */
#ifndef MOX_PGTEST_H
#define MOX_PGTEST_H

typedef struct pgtest {
    char bin[1024];
    char dir[512];
    char conninfo[1024];
    int port;
    int uid, gid; /* server user when running as root, else -1 */
    int running;
} pgtest;

/* Starts a server (initdb + pg_ctl in a fresh temporary directory).
 * Returns 0, 1 when the PostgreSQL binaries are absent (skip), -1 on
 * failure. fsync_on: durable commits (benchmarks) or not (tests). */
int pgtest_start(pgtest *p, int fsync_on);

/* Stops the server (immediate) and removes the directory. */
void pgtest_stop(pgtest *p);

/* Stops or restarts the server, keeping its data (outage tests). */
int pgtest_stop_server(pgtest *p);
int pgtest_restart_server(pgtest *p, int fsync_on);

/* Drops the queue's tables. 0 or -1. */
int pgtest_reset(const pgtest *p);

#endif
