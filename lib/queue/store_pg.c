/* PostgreSQL backend through libpq. Bodies live in a bytea column of the
 * message row (see queue.h for why not large objects). Row locking for
 * claims: SELECT ... FOR UPDATE SKIP LOCKED, so nodes never wait for each
 * other's claims. A broken connection is reset on the next call.
 *
 * libpq is loaded with dlopen when the first PostgreSQL store is opened,
 * not linked: a libpq needs GSSAPI and LDAP, which Debian ships only as
 * shared libraries, so linking it would make libmox impossible to link
 * fully statically even for programs that never use PostgreSQL. The
 * header (libpq-fe.h, from libpq-dev) gives the types at build time. */
#include <dlfcn.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"

/* The libpq functions used, filled once per process (pthread_once) and
 * never changed afterwards. */
static struct {
    int ok;
    char err[200];
    PGconn *(*connectdb)(const char *);
    ConnStatusType (*status)(const PGconn *);
    void (*reset)(PGconn *);
    void (*finish)(PGconn *);
    PGresult *(*execParams)(PGconn *, const char *, int, const Oid *, const char *const *,
                            const int *, const int *, int);
    ExecStatusType (*resultStatus)(const PGresult *);
    void (*clear)(PGresult *);
    int (*ntuples)(const PGresult *);
    char *(*getvalue)(const PGresult *, int, int);
    int (*getisnull)(const PGresult *, int, int);
    int (*getlength)(const PGresult *, int, int);
    unsigned char *(*unescapeBytea)(const unsigned char *, size_t *);
    void (*freemem)(void *);
    char *(*resultErrorField)(const PGresult *, int);
    char *(*resultErrorMessage)(const PGresult *);
    char *(*errorMessage)(const PGconn *);
    PQnoticeProcessor (*setNoticeProcessor)(PGconn *, PQnoticeProcessor, void *);
} pq;

static pthread_once_t pq_once = PTHREAD_ONCE_INIT;

static void pq_load(void)
{
    void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(pq.err, sizeof pq.err, "cannot load libpq.so.5: %s", e ? e : "?");
        return;
    }
    struct {
        const char *name;
        void **slot;
    } f[] = {
        {"PQconnectdb", (void **)&pq.connectdb},
        {"PQstatus", (void **)&pq.status},
        {"PQreset", (void **)&pq.reset},
        {"PQfinish", (void **)&pq.finish},
        {"PQexecParams", (void **)&pq.execParams},
        {"PQresultStatus", (void **)&pq.resultStatus},
        {"PQclear", (void **)&pq.clear},
        {"PQntuples", (void **)&pq.ntuples},
        {"PQgetvalue", (void **)&pq.getvalue},
        {"PQgetisnull", (void **)&pq.getisnull},
        {"PQgetlength", (void **)&pq.getlength},
        {"PQunescapeBytea", (void **)&pq.unescapeBytea},
        {"PQfreemem", (void **)&pq.freemem},
        {"PQresultErrorField", (void **)&pq.resultErrorField},
        {"PQresultErrorMessage", (void **)&pq.resultErrorMessage},
        {"PQerrorMessage", (void **)&pq.errorMessage},
        {"PQsetNoticeProcessor", (void **)&pq.setNoticeProcessor},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        void *sym = dlsym(h, f[i].name);
        if (!sym) {
            snprintf(pq.err, sizeof pq.err, "libpq.so.5 lacks %s", f[i].name);
            dlclose(h);
            return;
        }
        memcpy(f[i].slot, &sym, sizeof sym); /* object to function pointer */
    }
    pq.ok = 1; /* the handle stays open for the process's life */
}

typedef struct pg_db {
    PGconn *c;
    char *conninfo;
    int in_tx; /* inside BEGIN ... COMMIT/ROLLBACK */
} pg_db;

struct moxi_sqlrow {
    PGresult *res;
    int row;
    int binary;
    unsigned char *tmp[24];
    size_t ntmp;
};

static int pg_fail(pg_db *d, PGresult *res, mox_errinfo *ei, const char *what)
{
    const char *state = res ? pq.resultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int code = MOX_ERR_IO;
    if (state && !strcmp(state, "23505"))
        code = MOX_ERR_EXISTS; /* unique_violation */
    else if (state && (!strncmp(state, "54", 2) || !strcmp(state, "22001")))
        code = MOX_ERR_LIMIT; /* program limit exceeded, string too long */
    else if (state && !strcmp(state, "53200"))
        code = MOX_ERR_NOMEM; /* out_of_memory (server) */
    const char *msg = res ? pq.resultErrorMessage(res) : "";
    if (!msg || !*msg)
        msg = pq.errorMessage(d->c);
    char clean[200];
    snprintf(clean, sizeof clean, "%s", msg ? msg : "");
    for (char *p = clean; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return moxi_fail(ei, code, 0, SIZE_MAX, "postgresql: %s: %s%s%s", what, clean,
                     state ? " SQLSTATE " : "", state ? state : "");
}

static int ensure(pg_db *d, mox_errinfo *ei)
{
    if (pq.status(d->c) == CONNECTION_OK)
        return MOX_OK;
    if (d->in_tx) {
        /* the transaction is gone; the caller rolls back, and the next
         * statement reconnects */
        d->in_tx = 0;
        return pg_fail(d, NULL, ei, "connection lost in a transaction");
    }
    pq.reset(d->c);
    if (pq.status(d->c) != CONNECTION_OK)
        return pg_fail(d, NULL, ei, "connection");
    return MOX_OK;
}

static int pg_exec(void *db, const char *sql, const moxi_sqlval *p, size_t np, unsigned flags,
                   moxi_sqlrow_fn fn, void *ctx, mox_errinfo *ei)
{
    pg_db *d = db;
    int rc = ensure(d, ei);
    if (rc)
        return rc;
    const char *vals_s[48];
    int lens_s[48], fmts_s[48];
    char nums_s[48][24];
    const char **vals = vals_s;
    int *lens = lens_s, *fmts = fmts_s;
    char (*nums)[24] = nums_s;
    void *heap = NULL;
    if (np > 48) {
        if (np > 30000)
            return moxi_fail(ei, MOX_ERR_LIMIT, 0, SIZE_MAX, "postgresql: too many parameters");
        heap = mox_malloc(np * (sizeof *vals + 2 * sizeof *lens + sizeof *nums));
        if (!heap)
            return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
        nums = heap;
        vals = (const char **)(nums + np);
        lens = (int *)(vals + np);
        fmts = lens + np;
    }
    for (size_t i = 0; i < np; i++) {
        lens[i] = 0;
        fmts[i] = 0;
        switch (p[i].t) {
        case MOXI_SQL_INT:
            snprintf(nums[i], sizeof nums[i], "%" PRId64, p[i].i);
            vals[i] = nums[i];
            break;
        case MOXI_SQL_TEXT:
            vals[i] = p[i].s;
            break;
        case MOXI_SQL_BLOB:
            if (p[i].n > INT32_MAX) {
                mox_free(heap);
                return moxi_fail(ei, MOX_ERR_LIMIT, 0, SIZE_MAX, "postgresql: value too large");
            }
            vals[i] = p[i].b;
            lens[i] = (int)p[i].n;
            fmts[i] = 1;
            break;
        default:
            vals[i] = NULL;
            break;
        }
    }
    int binary = (flags & MOXI_SQL_BINARY) != 0;
    int begins = !strncmp(sql, "BEGIN", 5);
    int ends = !strcmp(sql, "COMMIT") || !strcmp(sql, "ROLLBACK");
    PGresult *res =
        pq.execParams(d->c, sql, (int)np, NULL, vals, lens, fmts, binary ? 1 : 0);
    ExecStatusType st = res ? pq.resultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && pq.status(d->c) != CONNECTION_OK &&
        (!d->in_tx || begins)) {
        /* The server went away since the last call (a restart): outside a
         * transaction the statement can simply be sent again on a new
         * connection. Inside one, the transaction is lost: fail. */
        pq.clear(res);
        pq.reset(d->c);
        res = pq.execParams(d->c, sql, (int)np, NULL, vals, lens, fmts, binary ? 1 : 0);
        st = res ? pq.resultStatus(res) : PGRES_FATAL_ERROR;
    }
    mox_free(heap);
    if (begins)
        d->in_tx = st == PGRES_COMMAND_OK;
    if (ends)
        d->in_tx = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        rc = pg_fail(d, res, ei, "query");
        pq.clear(res);
        return rc;
    }
    int n = pq.ntuples(res);
    struct moxi_sqlrow row;
    memset(&row, 0, sizeof row);
    row.res = res;
    row.binary = binary;
    for (int i = 0; fn && i < n; i++) {
        row.row = i;
        int stop = fn(ctx, &row);
        for (size_t k = 0; k < row.ntmp; k++)
            pq.freemem(row.tmp[k]);
        row.ntmp = 0;
        if (stop)
            break;
    }
    pq.clear(res);
    return MOX_OK;
}

static int64_t pg_int(moxi_sqlrow *r, int i)
{
    if (pq.getisnull(r->res, r->row, i))
        return 0;
    return strtoll(pq.getvalue(r->res, r->row, i), NULL, 10);
}

static const char *pg_text(moxi_sqlrow *r, int i)
{
    if (pq.getisnull(r->res, r->row, i))
        return NULL;
    return pq.getvalue(r->res, r->row, i);
}

static const void *pg_blob(moxi_sqlrow *r, int i, size_t *n)
{
    *n = 0;
    if (pq.getisnull(r->res, r->row, i))
        return NULL;
    if (r->binary) {
        *n = (size_t)pq.getlength(r->res, r->row, i);
        return pq.getvalue(r->res, r->row, i);
    }
    if (r->ntmp >= MOX_ARRAY_LEN(r->tmp))
        return NULL;
    unsigned char *u =
        pq.unescapeBytea((const unsigned char *)pq.getvalue(r->res, r->row, i), n);
    if (!u) {
        *n = 0;
        return NULL;
    }
    r->tmp[r->ntmp++] = u;
    return u;
}

static void pg_close(void *db)
{
    pg_db *d = db;
    if (!d)
        return;
    pq.finish(d->c);
    mox_free(d->conninfo);
    mox_free(d);
}

static void quiet(void *arg, const char *msg);

static int connect_db(const char *conninfo, pg_db **out, mox_errinfo *ei)
{
    pg_db *d = mox_calloc(1, sizeof *d);
    if (!d || !(d->conninfo = moxi_strdup(conninfo))) {
        mox_free(d);
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    }
    d->c = pq.connectdb(conninfo);
    if (!d->c) {
        pg_close(d);
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    }
    if (pq.status(d->c) != CONNECTION_OK) {
        int rc = pg_fail(d, NULL, ei, "connect");
        pg_close(d);
        return rc;
    }
    pq.setNoticeProcessor(d->c, quiet, NULL);
    *out = d;
    return MOX_OK;
}

static int pg_clone(void *db, void **out, mox_errinfo *ei)
{
    pg_db *d = db, *n = NULL;
    int rc = connect_db(d->conninfo, &n, ei);
    if (rc == 0)
        *out = n;
    return rc;
}

static const moxi_sqldrv pg_drv = {
    "postgresql",
    " FOR UPDATE SKIP LOCKED",
    "BEGIN",
    "BIGSERIAL PRIMARY KEY",
    "BIGINT",
    "BYTEA",
    /* nodes starting at once must not race on CREATE ... IF NOT EXISTS */
    "SELECT pg_advisory_lock(731507)",
    "SELECT pg_advisory_unlock(731507)",
    pg_exec,
    pg_int,
    pg_text,
    pg_blob,
    NULL,
    NULL,
    NULL,
    NULL,
    pg_close,
    pg_clone,
};

void mox_queue_pg_config_init(mox_queue_pg_config *c, size_t size)
{
    if (!c || size < sizeof(size_t))
        return;
    memset(c, 0, size);
    c->size = size;
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg; /* NOTICEs ("relation already exists, skipping") */
}

int mox_queue_store_pg_open(mox_queue_store **out, const char *conninfo,
                            const mox_queue_pg_config *cfg, mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (out)
        *out = NULL;
    if (!out || !conninfo)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "queue postgresql: NULL argument");
    mox_queue_pg_config c = MOX_QUEUE_PG_CONFIG_INIT;
    moxi_copy_sized(&c, cfg, sizeof c);
    pthread_once(&pq_once, pq_load);
    if (!pq.ok)
        return moxi_fail(ei, MOX_ERR_UNSUPPORTED, 0, SIZE_MAX, "queue postgresql: %s", pq.err);
    pg_db *d = NULL;
    int rc = connect_db(conninfo, &d, ei);
    if (rc)
        return rc;
    return moxi_sqlstore_new(out, &pg_drv, d, c.max_size ? c.max_size : (uint64_t)256 << 20, ei);
}
