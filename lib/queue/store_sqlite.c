/* SQLite backend: one database file in WAL mode and a directory of message
 * bodies, one file each. A body is written and fdatasync'ed by its
 * submitter; the group-commit leader fsyncs the directory once for the
 * whole batch, then commits (synchronous=FULL: the WAL is synced at
 * commit). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sql.h"

#define CACHE 48

struct cached {
    char *sql;
    sqlite3_stmt *st;
    uint64_t used;
};

typedef struct sqlite_db {
    sqlite3 *db;
    char *path;
    char *dir;
    int dirfd;
    struct cached cache[CACHE];
    uint64_t tick;
} sqlite_db;

struct moxi_sqlrow {
    sqlite3_stmt *st;
};

static int sq_err(sqlite_db *d, int src, mox_errinfo *ei, const char *what)
{
    int code = MOX_ERR_IO;
    int base = src & 0xff;
    if (base == SQLITE_NOMEM)
        code = MOX_ERR_NOMEM;
    else if (base == SQLITE_TOOBIG)
        code = MOX_ERR_LIMIT;
    else if (base == SQLITE_CONSTRAINT)
        code = MOX_ERR_EXISTS;
    return moxi_fail(ei, code, src, SIZE_MAX, "sqlite: %s: %s", what,
                     d && d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(src));
}

/* $N -> ?N: SQLite binds ?N to index N exactly. */
static char *convert(const char *sql)
{
    char *c = moxi_strdup(sql);
    if (!c)
        return NULL;
    int quote = 0;
    for (char *p = c; *p; p++) {
        if (*p == '\'')
            quote = !quote;
        else if (!quote && *p == '$' && p[1] >= '0' && p[1] <= '9')
            *p = '?';
    }
    return c;
}

static int prepare(sqlite_db *d, const char *sql, sqlite3_stmt **st, mox_errinfo *ei)
{
    size_t lru = 0;
    for (size_t i = 0; i < CACHE; i++) {
        if (d->cache[i].sql && !strcmp(d->cache[i].sql, sql)) {
            d->cache[i].used = ++d->tick;
            *st = d->cache[i].st;
            return MOX_OK;
        }
        if (d->cache[i].used < d->cache[lru].used)
            lru = i;
    }
    char *conv = convert(sql);
    if (!conv)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(d->db, conv, -1, &s, NULL);
    mox_free(conv);
    if (rc != SQLITE_OK)
        return sq_err(d, rc, ei, "prepare");
    char *key = moxi_strdup(sql);
    if (!key) {
        sqlite3_finalize(s);
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    }
    struct cached *c = &d->cache[lru];
    if (c->st)
        sqlite3_finalize(c->st);
    mox_free(c->sql);
    c->sql = key;
    c->st = s;
    c->used = ++d->tick;
    *st = s;
    return MOX_OK;
}

static int sq_exec(void *db, const char *sql, const moxi_sqlval *p, size_t np, unsigned flags,
                   moxi_sqlrow_fn fn, void *ctx, mox_errinfo *ei)
{
    (void)flags;
    sqlite_db *d = db;
    sqlite3_stmt *st = NULL;
    int rc = prepare(d, sql, &st, ei);
    if (rc)
        return rc;
    for (size_t i = 0; i < np && rc == SQLITE_OK; i++) {
        int k = (int)i + 1;
        switch (p[i].t) {
        case MOXI_SQL_INT:
            rc = sqlite3_bind_int64(st, k, p[i].i);
            break;
        case MOXI_SQL_TEXT:
            rc = sqlite3_bind_text(st, k, p[i].s, -1, SQLITE_STATIC);
            break;
        case MOXI_SQL_BLOB:
            rc = sqlite3_bind_blob64(st, k, p[i].b, p[i].n, SQLITE_STATIC);
            break;
        default:
            rc = sqlite3_bind_null(st, k);
            break;
        }
    }
    if (rc != SQLITE_OK) {
        int e = sq_err(d, rc, ei, "bind");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return e;
    }
    struct moxi_sqlrow row = {st};
    int ret = MOX_OK;
    for (;;) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            if (fn && fn(ctx, &row)) {
                /* Stopped early: run a write statement to its end (an
                 * INSERT/UPDATE ... RETURNING applies its changes as it is
                 * stepped), discard the rest of a read. */
                if (!sqlite3_stmt_readonly(st))
                    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                        ;
                else
                    rc = SQLITE_DONE;
                if (rc != SQLITE_DONE)
                    ret = sq_err(d, rc, ei, "step");
                break;
            }
            continue;
        }
        if (rc != SQLITE_DONE)
            ret = sq_err(d, rc, ei, "step");
        break;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ret;
}

static int64_t sq_int(moxi_sqlrow *r, int i)
{
    return sqlite3_column_int64(r->st, i);
}

static const char *sq_text(moxi_sqlrow *r, int i)
{
    if (sqlite3_column_type(r->st, i) == SQLITE_NULL)
        return NULL;
    return (const char *)sqlite3_column_text(r->st, i);
}

static const void *sq_blob(moxi_sqlrow *r, int i, size_t *n)
{
    const void *b = sqlite3_column_blob(r->st, i);
    *n = (size_t)sqlite3_column_bytes(r->st, i);
    return b;
}

/* ---------------------------------------------------------------- bodies */

static int write_all(int fd, const void *p, size_t n)
{
    const unsigned char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int sq_body_put(void *db, const void *data, size_t len, char **ref, mox_errinfo *ei)
{
    sqlite_db *d = db;
    for (int tries = 0; tries < 8; tries++) {
        unsigned char rb[12];
        int rc = mox_random_fill(NULL, rb, sizeof rb);
        if (rc)
            return moxi_fail(ei, rc, 0, SIZE_MAX, "random source failed");
        char name[40];
        static const char hx[] = "0123456789abcdef";
        for (size_t i = 0; i < sizeof rb; i++) {
            name[2 * i] = hx[rb[i] >> 4];
            name[2 * i + 1] = hx[rb[i] & 15];
        }
        memcpy(name + 2 * sizeof rb, ".eml", 5);
        int fd = openat(d->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST)
            continue;
        if (fd < 0)
            return moxi_fail(ei, MOX_ERR_IO, errno, SIZE_MAX, "queue body %s/%s: %s", d->dir, name,
                             strerror(errno));
        if (write_all(fd, data, len) || fdatasync(fd)) {
            int e = errno;
            close(fd);
            unlinkat(d->dirfd, name, 0);
            return moxi_fail(ei, MOX_ERR_IO, e, SIZE_MAX, "queue body %s/%s: %s", d->dir, name,
                             strerror(e));
        }
        if (close(fd)) {
            int e = errno;
            unlinkat(d->dirfd, name, 0);
            return moxi_fail(ei, MOX_ERR_IO, e, SIZE_MAX, "queue body: close: %s", strerror(e));
        }
        *ref = moxi_strdup(name);
        if (!*ref) {
            unlinkat(d->dirfd, name, 0);
            return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
        }
        return MOX_OK;
    }
    return moxi_fail(ei, MOX_ERR_IO, 0, SIZE_MAX, "queue body: no free name");
}

static int sq_body_sync(void *db, mox_errinfo *ei)
{
    sqlite_db *d = db;
    if (fsync(d->dirfd))
        return moxi_fail(ei, MOX_ERR_IO, errno, SIZE_MAX, "queue body directory %s: fsync: %s",
                         d->dir, strerror(errno));
    return MOX_OK;
}

static int sq_body_get(void *db, const char *ref, mox_buf *out, mox_errinfo *ei)
{
    sqlite_db *d = db;
    if (strchr(ref, '/'))
        return moxi_fail(ei, MOX_ERR_IO, 0, SIZE_MAX, "queue body: bad reference %s", ref);
    int fd = openat(d->dirfd, ref, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return moxi_fail(ei, MOX_ERR_IO, errno, SIZE_MAX, "queue body %s/%s: %s", d->dir, ref,
                         strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) == 0 && sb.st_size > 0 && mox_buf_reserve(out, (size_t)sb.st_size)) {
        close(fd);
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    }
    for (;;) {
        if (mox_buf_reserve(out, 65536)) {
            close(fd);
            return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
        }
        ssize_t r = read(fd, out->data + out->len, out->cap - out->len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return moxi_fail(ei, MOX_ERR_IO, e, SIZE_MAX, "queue body %s: %s", ref, strerror(e));
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
        out->data[out->len] = 0;
    }
    close(fd);
    return MOX_OK;
}

static void sq_body_del(void *db, const char *ref)
{
    sqlite_db *d = db;
    if (!strchr(ref, '/'))
        unlinkat(d->dirfd, ref, 0);
}

static void sq_close(void *db)
{
    sqlite_db *d = db;
    if (!d)
        return;
    for (size_t i = 0; i < CACHE; i++) {
        if (d->cache[i].st)
            sqlite3_finalize(d->cache[i].st);
        mox_free(d->cache[i].sql);
    }
    if (d->db)
        sqlite3_close(d->db);
    if (d->dirfd >= 0)
        close(d->dirfd);
    mox_free(d->dir);
    mox_free(d->path);
    mox_free(d);
}

static int sq_connect(sqlite_db *d, mox_errinfo *ei)
{
    int rc = sqlite3_open_v2(d->path, &d->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK)
        return sq_err(d, rc, ei, d->path);
    sqlite3_busy_timeout(d->db, 10000);
    char *err = NULL;
    rc = sqlite3_exec(d->db,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                      "PRAGMA foreign_keys=OFF;",
                      NULL, NULL, &err);
    sqlite3_free(err);
    if (rc != SQLITE_OK)
        return sq_err(d, rc, ei, "pragma");
    return MOX_OK;
}

/* The read connection (WAL: readers do not wait for the writer). */
static int sq_clone(void *db, void **out, mox_errinfo *ei)
{
    sqlite_db *d = db;
    sqlite_db *n = mox_calloc(1, sizeof *n);
    if (!n)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    n->dirfd = -1;
    n->path = moxi_strdup(d->path);
    n->dir = moxi_strdup(d->dir);
    if (!n->path || !n->dir) {
        sq_close(n);
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    }
    n->dirfd = dup(d->dirfd);
    int rc = n->dirfd < 0 ? moxi_fail(ei, MOX_ERR_IO, errno, SIZE_MAX, "dup: %s", strerror(errno))
                          : sq_connect(n, ei);
    if (rc) {
        sq_close(n);
        return rc;
    }
    *out = n;
    return MOX_OK;
}

static const moxi_sqldrv sqlite_drv = {
    "sqlite",
    "",
    "BEGIN IMMEDIATE",
    "INTEGER PRIMARY KEY AUTOINCREMENT",
    "INTEGER",
    "BLOB",
    NULL,
    NULL,
    sq_exec,
    sq_int,
    sq_text,
    sq_blob,
    sq_body_put,
    sq_body_sync,
    sq_body_get,
    sq_body_del,
    sq_close,
    sq_clone,
};

/* ---------------------------------------------------------------- open */

struct refs {
    char **v;
    size_t n, cap;
    int nomem;
};

static int ref_row(void *ctx, moxi_sqlrow *row)
{
    struct refs *r = ctx;
    const char *s = sq_text(row, 0);
    if (!s)
        return 0;
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 64;
        char **nv = mox_realloc(r->v, nc * sizeof *nv);
        if (!nv) {
            r->nomem = 1;
            return 1;
        }
        r->v = nv;
        r->cap = nc;
    }
    if (!(r->v[r->n] = moxi_strdup(s))) {
        r->nomem = 1;
        return 1;
    }
    r->n++;
    return 0;
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Removes body files without a row (a crash between the body write and
 * the commit). Runs at open, before anything else uses the store. */
static int clean_orphans(mox_queue_store *s, sqlite_db *d, mox_errinfo *ei)
{
    struct refs r = {NULL, 0, 0, 0};
    int rc = sq_exec(d, "SELECT body_ref FROM mox_queue_msg", NULL, 0, 0, ref_row, &r, ei);
    (void)s;
    if (rc == 0 && r.nomem)
        rc = moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    if (rc == 0) {
        if (r.n)
            qsort(r.v, r.n, sizeof *r.v, cmpstr);
        int fd = dup(d->dirfd);
        DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
        if (!dir) {
            if (fd >= 0)
                close(fd);
        } else {
            rewinddir(dir);
            struct dirent *e;
            while ((e = readdir(dir))) {
                const char *nm = e->d_name;
                size_t l = strlen(nm);
                if (l < 5 || strcmp(nm + l - 4, ".eml"))
                    continue;
                if (!r.n || !bsearch(&nm, r.v, r.n, sizeof *r.v, cmpstr))
                    unlinkat(d->dirfd, nm, 0);
            }
            closedir(dir);
        }
    }
    for (size_t i = 0; i < r.n; i++)
        mox_free(r.v[i]);
    mox_free(r.v);
    return rc;
}

void mox_queue_sqlite_config_init(mox_queue_sqlite_config *c, size_t size)
{
    if (!c || size < sizeof(size_t))
        return;
    memset(c, 0, size);
    c->size = size;
}

int mox_queue_store_sqlite_open(mox_queue_store **out, const char *path,
                                const mox_queue_sqlite_config *cfg, mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (out)
        *out = NULL;
    if (!out || !path || !*path)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "queue sqlite: NULL argument");
    mox_queue_sqlite_config c = MOX_QUEUE_SQLITE_CONFIG_INIT;
    moxi_copy_sized(&c, cfg, sizeof c);
    sqlite_db *d = mox_calloc(1, sizeof *d);
    if (!d)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    d->dirfd = -1;
    mox_buf dir = MOX_BUF_INIT;
    if (c.body_dir ? mox_buf_append_str(&dir, c.body_dir)
                   : mox_buf_appendf(&dir, "%s.bodies", path)) {
        mox_free(d);
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    }
    d->dir = (char *)dir.data;
    if (mkdir(d->dir, 0700) && errno != EEXIST) {
        int e = errno;
        int r = moxi_fail(ei, MOX_ERR_IO, e, SIZE_MAX, "queue sqlite: mkdir %s: %s", d->dir,
                          strerror(e));
        sq_close(d);
        return r;
    }
    d->dirfd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->dirfd < 0) {
        int e = errno;
        int r = moxi_fail(ei, MOX_ERR_IO, e, SIZE_MAX, "queue sqlite: open %s: %s", d->dir,
                          strerror(e));
        sq_close(d);
        return r;
    }
    d->path = moxi_strdup(path);
    int rc = d->path ? sq_connect(d, ei) : moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    if (rc) {
        sq_close(d);
        return rc;
    }
    mox_queue_store *s;
    rc = moxi_sqlstore_new(&s, &sqlite_drv, d, c.max_size ? c.max_size : (uint64_t)1 << 30, ei);
    if (rc)
        return rc; /* d closed */
    if (!(c.flags & MOX_QUEUE_SQLITE_NO_TAKEOVER)) {
        /* One process per file: whatever an earlier process had leased was
         * interrupted. Due at once (0 is before any clock's now). */
        rc = moxi_sqlstore_exec(s,
                                "UPDATE mox_queue_rcpt SET next_attempt = 0, lease_owner = NULL, "
                                "lease_until = 0 WHERE lease_owner IS NOT NULL",
                                NULL, 0, ei);
        if (rc == 0)
            rc = moxi_sqlstore_exec(s, "DELETE FROM mox_queue_slot", NULL, 0, ei);
        if (rc == 0)
            rc = clean_orphans(s, d, ei);
    }
    if (rc) {
        mox_queue_store_close(s);
        return rc;
    }
    *out = s;
    return MOX_OK;
}
