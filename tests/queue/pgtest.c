/* A private PostgreSQL server for tests: initdb and pg_ctl in a temporary
 * directory, Unix socket only, no system service. As root the server runs
 * as `nobody` (postgres refuses to run as root). */
#include "pgtest.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int exists_exec(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, X_OK) == 0;
}

static int find_bin(char *out, size_t cap)
{
    const char *env = getenv("MOX_PG_BIN");
    if (env && exists_exec(env, "initdb") && exists_exec(env, "pg_ctl")) {
        snprintf(out, cap, "%s", env);
        return 0;
    }
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin", 0, NULL, &g) == 0) {
        for (size_t i = g.gl_pathc; i > 0; i--) {
            if (exists_exec(g.gl_pathv[i - 1], "initdb") && exists_exec(g.gl_pathv[i - 1], "pg_ctl")) {
                snprintf(out, cap, "%s", g.gl_pathv[i - 1]);
                globfree(&g);
                return 0;
            }
        }
        globfree(&g);
    }
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path ? path : "/usr/bin:/bin");
    for (char *tok = strtok(buf, ":"); tok; tok = strtok(NULL, ":")) {
        if (exists_exec(tok, "initdb") && exists_exec(tok, "pg_ctl")) {
            char real[1024], p[1100];
            snprintf(p, sizeof p, "%s/pg_ctl", tok);
            if (realpath(p, real)) {
                char *slash = strrchr(real, '/');
                *slash = 0;
                snprintf(out, cap, "%s", real);
            } else {
                snprintf(out, cap, "%s", tok);
            }
            return 0;
        }
    }
    return -1;
}

/* Runs argv as the server's user; returns the exit status. */
static int run_as(const pgtest *p, char *const argv[], int quiet)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (p->uid >= 0) {
            if (setgid((gid_t)p->gid) || setuid((uid_t)p->uid))
                _exit(127);
        }
        if (quiet) {
            FILE *f = freopen("/dev/null", "w", stdout);
            (void)f;
        }
        setenv("LC_ALL", "C", 1);
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int pgtest_start(pgtest *p, int fsync_on)
{
    memset(p, 0, sizeof *p);
    p->uid = p->gid = -1;
    if (find_bin(p->bin, sizeof p->bin))
        return 1;
    snprintf(p->dir, sizeof p->dir, "/tmp/moxpg.XXXXXX");
    if (!mkdtemp(p->dir))
        return -1;
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("nobody");
        if (!pw)
            return -1;
        p->uid = (int)pw->pw_uid;
        p->gid = (int)pw->pw_gid;
        if (chown(p->dir, pw->pw_uid, pw->pw_gid))
            return -1;
    }
    p->port = 20000 + (int)(getpid() % 20000);
    char data[600], initdb[1100], pgctl[1100], log[700], opts[1200];
    snprintf(data, sizeof data, "%s/data", p->dir);
    snprintf(initdb, sizeof initdb, "%s/initdb", p->bin);
    snprintf(pgctl, sizeof pgctl, "%s/pg_ctl", p->bin);
    snprintf(log, sizeof log, "%s/log", p->dir);
    char *a1[] = {initdb, "-D", data, "-U", "mox", "-A", "trust", "-E", "UTF8", "--locale=C",
                  "--no-sync", "--no-instructions", NULL};
    if (run_as(p, a1, 1) != 0) {
        char *a1b[] = {initdb, "-D", data, "-U", "mox", "-A", "trust", "-E", "UTF8", "--locale=C",
                       "--no-sync", NULL};
        if (run_as(p, a1b, 1) != 0)
            return -1;
    }
    snprintf(opts, sizeof opts,
             "-k %s -c listen_addresses= -p %d -c fsync=%s -c synchronous_commit=on "
             "-c max_connections=50 -c shared_buffers=16MB",
             p->dir, p->port, fsync_on ? "on" : "off");
    char *a2[] = {pgctl, "-D", data, "-o", opts, "-l", log, "-w", "-t", "60", "start", NULL};
    if (run_as(p, a2, 1) != 0)
        return -1;
    p->running = 1;
    snprintf(p->conninfo, sizeof p->conninfo, "host=%s port=%d user=mox dbname=postgres", p->dir,
             p->port);
    return 0;
}

int pgtest_stop_server(pgtest *p)
{
    if (!p->running)
        return 0;
    char data[600], pgctl[1100];
    snprintf(data, sizeof data, "%s/data", p->dir);
    snprintf(pgctl, sizeof pgctl, "%s/pg_ctl", p->bin);
    char *a[] = {pgctl, "-D", data, "-m", "immediate", "-w", "stop", NULL};
    int rc = run_as(p, a, 1);
    p->running = 0;
    return rc;
}

int pgtest_restart_server(pgtest *p, int fsync_on)
{
    char data[600], pgctl[1100], log[700], opts[1200];
    snprintf(data, sizeof data, "%s/data", p->dir);
    snprintf(pgctl, sizeof pgctl, "%s/pg_ctl", p->bin);
    snprintf(log, sizeof log, "%s/log", p->dir);
    snprintf(opts, sizeof opts,
             "-k %s -c listen_addresses= -p %d -c fsync=%s -c synchronous_commit=on "
             "-c max_connections=50 -c shared_buffers=16MB",
             p->dir, p->port, fsync_on ? "on" : "off");
    char *a2[] = {pgctl, "-D", data, "-o", opts, "-l", log, "-w", "-t", "60", "start", NULL};
    if (run_as(p, a2, 1) != 0)
        return -1;
    p->running = 1;
    return 0;
}

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            struct stat sb;
            if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
                rm_rf(p);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(path);
}

void pgtest_stop(pgtest *p)
{
    pgtest_stop_server(p);
    if (p->dir[0])
        rm_rf(p->dir);
    p->dir[0] = 0;
}

int pgtest_reset(const pgtest *p)
{
    PGconn *c = PQconnectdb(p->conninfo);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        return -1;
    }
    PGresult *r = PQexec(c, "SET client_min_messages = warning; "
                            "DROP TABLE IF EXISTS mox_queue_msg, mox_queue_rcpt, "
                            "mox_queue_retired, mox_queue_slot, mox_queue_rule, "
                            "mox_queue_suppression");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}
