/* The queue's SQL store: one implementation of mox_queue_store over a small
 * driver interface, shared by the SQLite and PostgreSQL backends. The SQL
 * is written once with $N placeholders (the SQLite driver turns them into
 * ?N); what differs (schema types, row locking, where bodies live) is the
 * driver's. */
#ifndef MOX_QUEUE_SQL_H
#define MOX_QUEUE_SQL_H

#include <pthread.h>

#include "core/core_priv.h"
#include "mox/queue.h"

enum { MOXI_SQL_NULL = 0, MOXI_SQL_INT, MOXI_SQL_TEXT, MOXI_SQL_BLOB };

typedef struct moxi_sqlval {
    int t;
    int64_t i;
    const char *s;
    const void *b;
    size_t n;
} moxi_sqlval;

typedef struct moxi_sqlrow moxi_sqlrow; /* a driver's current row */

/* Called for every result row; nonzero stops (exec then returns MOX_OK). */
typedef int (*moxi_sqlrow_fn)(void *ctx, moxi_sqlrow *row);

/* Flags of exec. */
#define MOXI_SQL_BINARY 0x1 /* one bytea/blob column: raw bytes (PostgreSQL) */

typedef struct moxi_sqldrv {
    const char *name;
    /* appended to row-selecting claims: " FOR UPDATE SKIP LOCKED" or "" */
    const char *lock_rows;
    /* "BEGIN IMMEDIATE" (SQLite: take the write lock first) or "BEGIN" */
    const char *begin;
    /* Schema types: {ID} (auto-increment primary key), {INT} (64-bit),
     * {BLOB}; statements run before and after creating the schema (a lock
     * for concurrent creators), or NULL. */
    const char *type_id, *type_int, *type_blob;
    const char *schema_lock, *schema_unlock;
    int (*exec)(void *db, const char *sql, const moxi_sqlval *p, size_t np, unsigned flags,
                moxi_sqlrow_fn fn, void *ctx, mox_errinfo *ei);
    int64_t (*col_int)(moxi_sqlrow *r, int i);
    const char *(*col_text)(moxi_sqlrow *r, int i); /* NULL for NULL */
    const void *(*col_blob)(moxi_sqlrow *r, int i, size_t *n);
    /* Bodies outside the database (SQLite: files). body_put writes and
     * syncs the file and returns its reference (mox_free); body_sync makes
     * the new names durable (directory fsync), once per batch; body_get
     * reads; body_del removes after the row is gone. All NULL: the body is
     * a column. */
    int (*body_put)(void *db, const void *data, size_t len, char **ref, mox_errinfo *ei);
    int (*body_sync)(void *db, mox_errinfo *ei);
    int (*body_get)(void *db, const char *ref, mox_buf *out, mox_errinfo *ei);
    void (*body_del)(void *db, const char *ref);
    void (*close)(void *db);
    /* A second connection to the same database for reads, so lookups of
     * submitters (rules, suppressions) and listings do not wait behind a
     * commit in progress; NULL: reads share the one connection. */
    int (*clone)(void *db, void **out, mox_errinfo *ei);
} moxi_sqldrv;

/* Creates the store object over an open driver connection (taken over:
 * closed with the store, also on failure). Creates the schema. */
int moxi_sqlstore_new(mox_queue_store **out, const moxi_sqldrv *drv, void *db, uint64_t max_size,
                      mox_errinfo *ei);

/* Runs one statement on the store's connection, under its lock (used by
 * backends at open, e.g. SQLite's lease takeover). */
int moxi_sqlstore_exec(mox_queue_store *s, const char *sql, const moxi_sqlval *p, size_t np,
                       mox_errinfo *ei);

/* Parameter constructors. */
static inline moxi_sqlval moxi_sql_int(int64_t i)
{
    moxi_sqlval v = {MOXI_SQL_INT, i, NULL, NULL, 0};
    return v;
}
static inline moxi_sqlval moxi_sql_text(const char *s)
{
    moxi_sqlval v = {s ? MOXI_SQL_TEXT : MOXI_SQL_NULL, 0, s, NULL, 0};
    return v;
}
static inline moxi_sqlval moxi_sql_blob(const void *b, size_t n)
{
    moxi_sqlval v = {b ? MOXI_SQL_BLOB : MOXI_SQL_NULL, 0, NULL, b, n};
    return v;
}

#endif
