/*
 * libmox queue: durable outgoing mail.
 *
 * The queue is an object, not a byte engine. It owns the schedule (when
 * each recipient is tried next, when a delayed or failure DSN is due, when
 * a recipient is given up), hold rules, FUTURERELEASE, the retired history
 * and per-account suppression lists, and it raises events. It keeps its
 * data in a store reached through an interface (mox_queue_store): two
 * backends ship, SQLite (one file plus a directory of message bodies, the
 * embedded default) and PostgreSQL (several processes on several machines
 * share one queue), and an embedder can write a third.
 *
 * Delivery is somebody else's job: the queue hands an attempt (one
 * message, the recipients of one destination domain) to a deliverer
 * (mox_queue_deliverer) and takes its per-recipient outcomes back
 * (mox_queue_attempt_result, mox_queue_attempt_end). The deliverer runs
 * the SMTP client, or later the delivery engine, on the embedder's loop.
 *
 * Blocking: no queue call ever touches the network. Calls that read or
 * write the store block on it (disk, fsync, a database round trip); an
 * event loop runs them on a worker thread. Each function below says
 * whether it touches the store.
 *
 * Durability: mox_queue_enqueue returns only after the body and the rows
 * are durable (the body file and its directory fsynced before the row
 * commits; SQLite commits in WAL mode with synchronous=FULL, PostgreSQL
 * with its default synchronous_commit), so the 250 to the submitter comes
 * after it. An attempt is recorded (attempt count, time, lease) before the
 * deliverer sees it; each outcome is written by mox_queue_attempt_result,
 * which the deliverer calls right after the remote reply. Delivery is
 * therefore at-least-once: after a crash at any point nothing is lost, and
 * an attempt interrupted between the remote 250 and the write of its
 * outcome is repeated once (its lease expires, or, for SQLite, the next
 * open takes it over).
 *
 * Threading: mox_queue_enqueue may be called from several threads at once
 * (submitters share commits: see the SQLite backend's group commit; the
 * env's clock, random source, logger and metrics must then be
 * thread-safe, as the system ones are). All
 * other mox_queue calls must come from one thread at a time (the queue's
 * thread), and the deliverer's start callback and events are called on
 * the thread that made the call raising them. Backends are thread-safe.
 *
 * Times: wall-clock milliseconds since the Unix epoch, from the env clock.
 * Nodes sharing a PostgreSQL queue compare leases by their own clocks:
 * keep them synchronised (NTP).
 *
 * Metrics (through the env's sink): mox_queue_enqueue_total,
 * mox_queue_suppressed_total, mox_queue_delivery_total{result=delivered|
 * delayed|failed}, and the histogram mox_queue_attempt_duration_seconds.
 *
 * Errors: MOX_OK or a negative mox_err; every function that can fail takes
 * a mox_errinfo (NULL allowed) and fills it.
 */
#ifndef MOX_QUEUE_H
#define MOX_QUEUE_H

#include "core.h"

MOX_BEGIN_DECLS

typedef struct mox_queue mox_queue;
typedef struct mox_queue_attempt mox_queue_attempt;

/* ---------------------------------------------------------------- data */

/* Message flags (mox_queue_submission.flags, mox_queue_msg.flags). */
#define MOX_QUEUE_MSG_SMTPUTF8 0x1u     /* needs SMTPUTF8 (RFC 6531) */
#define MOX_QUEUE_MSG_REQUIRETLS 0x2u   /* REQUIRETLS (RFC 8689 §4) */
#define MOX_QUEUE_MSG_TLS_OPTIONAL 0x4u /* "TLS-Required: No" (RFC 8689 §5) */
#define MOX_QUEUE_MSG_FROMID 0x8u       /* deliver with the FromID reverse
                                           path (mox_queue_attempt_info.
                                           envelope_from) */
#define MOX_QUEUE_MSG_DSN 0x10u         /* this message is a DSN we made:
                                           never answered with another DSN */

/* DSN NOTIFY bits (RFC 3461 §4.1); 0: the parameter was absent, which the
 * queue treats as FAILURE,DELAY (RFC 3461 §4.1 leaves it open). */
#define MOX_QUEUE_NOTIFY_NEVER 0x1u
#define MOX_QUEUE_NOTIFY_SUCCESS 0x2u
#define MOX_QUEUE_NOTIFY_FAILURE 0x4u
#define MOX_QUEUE_NOTIFY_DELAY 0x8u

/* DSN RET (RFC 3461 §4.3). */
#define MOX_QUEUE_RET_NONE 0
#define MOX_QUEUE_RET_FULL 1
#define MOX_QUEUE_RET_HDRS 2

/* One submission as stored (the body is kept once for all recipients).
 * Strings are NUL-terminated; views handed to callbacks are valid during
 * the call only. `id` is the base id the recipients share. */
typedef struct mox_queue_msg {
    int64_t id;
    const char *account;
    const char *mail_from;   /* "" for the null reverse path */
    const char *from_domain; /* lower-case domain of mail_from, "" if null */
    const char *fromid;      /* unique, see mox_dsn_fromid_new */
    unsigned flags;          /* MOX_QUEUE_MSG_* */
    int ret;                 /* MOX_QUEUE_RET_* */
    const char *envid;       /* DSN ENVID (decoded), or NULL */
    int64_t created_ms;
    int64_t size;            /* body bytes */
    const void *extra;       /* free-form data for events, or NULL */
    size_t extra_len;
} mox_queue_msg;

/* Recipient flags (mox_queue_rcpt.rflags). */
#define MOX_QUEUE_RCPT_DELAY_DSN_SENT 0x1u

/* One queued recipient. */
typedef struct mox_queue_rcpt {
    int64_t id;
    int64_t msg_id;
    const char *address;     /* local@domain */
    const char *domain;      /* lower-case destination domain */
    const char *orcpt;       /* ORCPT "type;address" (decoded), or NULL */
    unsigned notify;         /* MOX_QUEUE_NOTIFY_* */
    int held;
    int attempts;            /* attempts started so far */
    int64_t next_attempt_ms; /* while leased: the lease's end */
    int64_t last_attempt_ms; /* 0: never tried */
    int last_code;           /* last SMTP reply code, 0 none */
    const char *last_enhanced;
    const char *last_text;
    unsigned rflags;         /* MOX_QUEUE_RCPT_* */
    const char *lease_owner; /* node running an attempt, or NULL */
    int64_t lease_until_ms;
} mox_queue_rcpt;

/* How a retired recipient ended. */
typedef enum mox_queue_outcome {
    MOX_QUEUE_OUTCOME_DELIVERED = 1,
    MOX_QUEUE_OUTCOME_FAILED = 2,
    MOX_QUEUE_OUTCOME_CANCELED = 3 /* dropped by an operator */
} mox_queue_outcome;

/* A retired recipient (history, kept keep_retired seconds). */
typedef struct mox_queue_retired {
    int64_t id;              /* the recipient's id while queued */
    int64_t msg_id;
    const char *account;
    const char *mail_from;
    const char *from_domain;
    const char *fromid;
    const char *address;
    const char *domain;
    int outcome;             /* mox_queue_outcome */
    int code;                /* last reply code, 0 none */
    const char *enhanced;
    const char *text;
    int attempts;
    int64_t last_attempt_ms;
    int64_t retired_ms;
    int64_t keep_until_ms;
    const void *extra;
    size_t extra_len;
} mox_queue_retired;

/* Which recipients an operation concerns. Every set member narrows the
 * selection; a zeroed filter (with size) selects everything. */
typedef struct mox_queue_filter {
    size_t size;             /* sizeof(mox_queue_filter) */
    const int64_t *ids;      /* recipient ids, or NULL */
    size_t nids;
    int64_t msg_id;          /* base id, 0: any */
    const char *account;
    const char *from_domain; /* sender domain (lower case) */
    const char *rcpt_domain; /* recipient domain (lower case) */
    const char *fromid;
    int held;                /* 0 any, 1 held only, 2 not held only */
    size_t limit;            /* at most this many, 0: no limit */
} mox_queue_filter;

#define MOX_QUEUE_FILTER_INIT { sizeof(mox_queue_filter), NULL, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }

/* A hold rule: new messages matching every set member are held (a rule
 * with no member set holds everything). */
typedef struct mox_queue_rule {
    int64_t id;              /* set by the store */
    const char *account;
    const char *from_domain;
    const char *rcpt_domain;
} mox_queue_rule;

/* A suppression-list entry. `address` is normalised
 * (mox_queue_address_normalize). */
typedef struct mox_queue_suppression {
    const char *account;
    const char *address;
    const char *reason;
    int manual;              /* 1: added by an operator, 0: automatic */
    int64_t created_ms;
    int64_t expires_ms;      /* 0: never */
} mox_queue_suppression;

/* Visitors. Return 0 to go on, anything else to stop (the visiting call
 * then returns MOX_OK). Views are valid during the call only. */
typedef int (*mox_queue_rcpt_fn)(void *ctx, const mox_queue_msg *m, const mox_queue_rcpt *r);
typedef int (*mox_queue_retired_fn)(void *ctx, const mox_queue_retired *r);
typedef int (*mox_queue_rule_fn)(void *ctx, const mox_queue_rule *r);
typedef int (*mox_queue_suppression_fn)(void *ctx, const mox_queue_suppression *s);

/* ---------------------------------------------------------------- store */

/* What the queue asks of a claim (see mox_queue_store.claim). */
typedef struct mox_queue_claim_req {
    int64_t now_ms;
    const char *owner;         /* this node's name */
    int64_t lease_until_ms;    /* the lease written into claimed rows */
    uint32_t per_destination;  /* slots per destination domain, >= 1 */
    uint32_t max_rcpts;        /* recipients in one attempt, >= 1 */
    /* 1 when this node may start another attempt to `domain` now (its
     * slow-start window); the store skips domains refused. */
    int (*admit)(void *ctx, const char *domain);
    void *admit_ctx;
} mox_queue_claim_req;

/* Operations of mox_queue_store.set. */
enum { MOX_QUEUE_SET_HOLD = 1, MOX_QUEUE_SET_RELEASE = 2, MOX_QUEUE_SET_RETRY_NOW = 3 };

/* The storage interface. A backend fills the function pointers and ctx;
 * all members are required. Every function may block; all must be
 * thread-safe (enqueue is called from several threads at once). Each
 * returns MOX_OK or a negative mox_err and fills `ei` (which may be NULL)
 * on failure: MOX_ERR_IO for a storage failure (retried later by the
 * queue, never a lost message), MOX_ERR_NOTFOUND where described,
 * MOX_ERR_NOMEM, MOX_ERR_LIMIT (the store refuses the size).
 *
 *  enqueue: store the body once and the submission `m` (its id, created_ms
 *    and strings set by the queue, id 0) with `n` recipients; set m->id and
 *    every r[i].id (r[i].msg_id too). Durable on return: body synced
 *    before the rows commit, rows committed. All or nothing.
 *  claim: within one transaction, pick recipients that are due
 *    (held = 0, next_attempt <= now; a leased row's next_attempt is its
 *    lease end, so an expired lease is due again), earliest first, among
 *    domains `req->admit` accepts and that have a free slot (a slot row
 *    (domain, index < per_destination) whose lease has expired); take the
 *    slot, then up to max_rcpts due recipients of the same message and
 *    domain; for each: attempts + 1, last_attempt = now, next_attempt =
 *    lease_until = req->lease_until_ms, lease_owner = owner; commit; then
 *    call `fn` for each claimed row (with its message) and set *slot.
 *    Rows locked by a concurrent claim are skipped, never waited for.
 *    MOX_ERR_NOTFOUND: nothing claimable.
 *  body: append the body of message `msg_id` to `out`. MOX_ERR_NOTFOUND.
 *  reschedule: a temporary failure of recipient `rcpt_id`, leased by
 *    `owner`: next_attempt = next_ms, last reply code/enhanced/text, rflags
 *    |= set_rflags, lease cleared. MOX_ERR_NOTFOUND when the row is gone
 *    or leased by another owner (our lease expired and was taken over).
 *  retire: move recipient `rcpt_id` (leased by `owner`; owner NULL: any
 *    state) to the retired history with `info`'s outcome, code, enhanced,
 *    text, retired_ms and keep_until_ms (the other members come from the
 *    rows); delete the message and its body when it has no recipient
 *    left. MOX_ERR_NOTFOUND as for reschedule.
 *  release_slot: free slot `slot` of `domain` if `owner` holds it.
 *  renew: extend every lease `owner` holds (rows and slots) to until_ms.
 *  next_due: earliest next_attempt of a recipient not held;
 *    MOX_ERR_NOTFOUND when there is none.
 *  list: visit queued recipients matching `f`, by id.
 *  set: apply a MOX_QUEUE_SET_* to the recipients matching `f` (RETRY_NOW
 *    sets next_attempt = now_ms, leased rows excepted); *count = rows
 *    changed.
 *  retired_list: visit retired recipients matching `f` (held ignored),
 *    most recent first. retired_purge: delete those with keep_until <=
 *    before_ms; *count = deleted.
 *  rule_add (sets r->id), rule_remove (MOX_ERR_NOTFOUND), rule_list.
 *  supp_add (insert or replace by account + address), supp_remove
 *    (MOX_ERR_NOTFOUND), supp_list (account NULL: all; address NULL: all
 *    of the account).
 *  close: release everything; the store pointer is invalid afterwards. */
typedef struct mox_queue_store {
    size_t size; /* sizeof(mox_queue_store) */
    void *ctx;
    void (*close)(void *ctx);
    int (*enqueue)(void *ctx, mox_queue_msg *m, const void *body, size_t len, mox_queue_rcpt *r,
                   size_t n, mox_errinfo *ei);
    int (*claim)(void *ctx, const mox_queue_claim_req *req, int *slot, mox_queue_rcpt_fn fn,
                 void *fnctx, mox_errinfo *ei);
    int (*body)(void *ctx, int64_t msg_id, mox_buf *out, mox_errinfo *ei);
    int (*reschedule)(void *ctx, const char *owner, int64_t rcpt_id, int64_t next_ms, int code,
                      const char *enhanced, const char *text, unsigned set_rflags,
                      mox_errinfo *ei);
    int (*retire)(void *ctx, const char *owner, int64_t rcpt_id, const mox_queue_retired *info,
                  mox_errinfo *ei);
    int (*release_slot)(void *ctx, const char *domain, int slot, const char *owner,
                        mox_errinfo *ei);
    int (*renew)(void *ctx, const char *owner, int64_t until_ms, mox_errinfo *ei);
    int (*next_due)(void *ctx, int64_t *when_ms, mox_errinfo *ei);
    int (*list)(void *ctx, const mox_queue_filter *f, mox_queue_rcpt_fn fn, void *fnctx,
                mox_errinfo *ei);
    int (*set)(void *ctx, const mox_queue_filter *f, int op, int64_t now_ms, size_t *count,
               mox_errinfo *ei);
    int (*retired_list)(void *ctx, const mox_queue_filter *f, mox_queue_retired_fn fn,
                        void *fnctx, mox_errinfo *ei);
    int (*retired_purge)(void *ctx, int64_t before_ms, size_t *count, mox_errinfo *ei);
    int (*rule_add)(void *ctx, mox_queue_rule *r, mox_errinfo *ei);
    int (*rule_remove)(void *ctx, int64_t id, mox_errinfo *ei);
    int (*rule_list)(void *ctx, mox_queue_rule_fn fn, void *fnctx, mox_errinfo *ei);
    int (*supp_add)(void *ctx, const mox_queue_suppression *s, mox_errinfo *ei);
    int (*supp_remove)(void *ctx, const char *account, const char *address, mox_errinfo *ei);
    int (*supp_list)(void *ctx, const char *account, const char *address,
                     mox_queue_suppression_fn fn, void *fnctx, mox_errinfo *ei);
} mox_queue_store;

/* Closes a store opened by one of the functions below (or any store: it
 * calls s->close(s->ctx) and frees nothing else). NULL-safe. */
MOX_API void mox_queue_store_close(mox_queue_store *s);

/* SQLite backend options. Zero means default. */
typedef struct mox_queue_sqlite_config {
    size_t size;          /* sizeof(mox_queue_sqlite_config) */
    const char *body_dir; /* directory of message bodies; NULL: the
                             database path + ".bodies" */
    uint64_t max_size;    /* largest body accepted, 0: 1 GiB (MOX_ERR_LIMIT) */
    unsigned flags;       /* MOX_QUEUE_SQLITE_* */
} mox_queue_sqlite_config;

/* Do not take over leases at open. By default opening a SQLite queue
 * makes every recipient leased by an earlier process due at once and
 * frees every slot: a SQLite file belongs to one process at a time. */
#define MOX_QUEUE_SQLITE_NO_TAKEOVER 0x1u

#define MOX_QUEUE_SQLITE_CONFIG_INIT { sizeof(mox_queue_sqlite_config), NULL, 0, 0 }

/* Function form of MOX_QUEUE_SQLITE_CONFIG_INIT (zeroes, sets size). */
MOX_API void mox_queue_sqlite_config_init(mox_queue_sqlite_config *c, size_t size);

/* Opens (creating when absent) the SQLite queue at `path` in WAL mode
 * with synchronous=FULL, and its body directory (created 0700). Removes
 * body files no row refers to (left by a crash between the body write and
 * the commit). Enqueues from several threads are committed together: the
 * first waiting submitter commits every pending submission in one
 * transaction, so they share one fsync of the directory and one of the
 * WAL (group commit). Blocks (disk). Errors: MOX_ERR_INVAL, MOX_ERR_IO
 * (cannot open or create; ei->msg has SQLite's or the system's reason),
 * MOX_ERR_NOMEM. Close with mox_queue_store_close. */
MOX_API int mox_queue_store_sqlite_open(mox_queue_store **out, const char *path,
                                        const mox_queue_sqlite_config *cfg, mox_errinfo *ei);

/* PostgreSQL backend options. Zero means default. */
typedef struct mox_queue_pg_config {
    size_t size;       /* sizeof(mox_queue_pg_config) */
    uint64_t max_size; /* largest body accepted, 0: 256 MiB (bytea's hard
                          limit is 1 GB) */
} mox_queue_pg_config;

#define MOX_QUEUE_PG_CONFIG_INIT { sizeof(mox_queue_pg_config), 0 }

/* Function form of MOX_QUEUE_PG_CONFIG_INIT. */
MOX_API void mox_queue_pg_config_init(mox_queue_pg_config *c, size_t size);

/* Opens a PostgreSQL queue through libpq: `conninfo` is a libpq
 * connection string or URI ("postgresql://..."). Creates the tables when
 * absent (under an advisory lock, so nodes starting together do not
 * race). Bodies are stored in a bytea column of the message row: they
 * commit, replicate and disappear with the row in the same transaction,
 * and a message is read whole anyway; large objects would need their own
 * cleanup (lo_unlink) and gain nothing below bytea's 1 GB. Claims use
 * SELECT ... FOR UPDATE SKIP LOCKED, per-destination limits hold across
 * nodes through slot rows. A lost connection is re-established on the
 * next call (the failing call returns MOX_ERR_IO). libpq.so.5 is loaded
 * with dlopen on the first call (libmox does not link it). Blocks
 * (network to the database). Errors: MOX_ERR_INVAL, MOX_ERR_UNSUPPORTED
 * (libpq.so.5 cannot be loaded), MOX_ERR_IO (ei->msg has libpq's reason),
 * MOX_ERR_NOMEM. */
MOX_API int mox_queue_store_pg_open(mox_queue_store **out, const char *conninfo,
                                    const mox_queue_pg_config *cfg, mox_errinfo *ei);

/* ---------------------------------------------------------------- attempts */

/* Outcome status of one recipient in an attempt. */
typedef enum mox_queue_status {
    MOX_QUEUE_DELIVERED = 1,  /* accepted by the next hop */
    MOX_QUEUE_TEMPFAIL = 2,   /* try again later */
    MOX_QUEUE_PERMFAIL = 3    /* give up: failure DSN */
} mox_queue_status;

/* What the deliverer reports for one recipient. */
typedef struct mox_queue_result {
    size_t index;             /* recipient index in the attempt */
    int status;               /* mox_queue_status */
    int relayed;              /* delivered to a server without DSN support
                                 while NOTIFY asked for something: the
                                 "relayed" action (RFC 3461 §5.2.2.1) */
    int connection;           /* the failure concerned the connection (no
                                 server reply for this recipient): counts
                                 for the destination's slow start */
    int code;                 /* SMTP reply code, 0 none */
    const char *enhanced;     /* "5.1.1", or NULL */
    const char *text;         /* reply text or local explanation */
    const char *remote_mta;   /* host that answered, or NULL */
} mox_queue_result;

/* One attempt: a message and the recipients of one destination domain. */
typedef struct mox_queue_attempt_info {
    const mox_queue_msg *msg;
    const char *envelope_from; /* the reverse path to use: mail_from, or its
                                  FromID form with MOX_QUEUE_MSG_FROMID */
    const char *domain;        /* destination (until the delivery engine
                                  resolves next hops: the recipients' domain) */
    const mox_queue_rcpt *rcpts;
    size_t nrcpts;
    const void *data;          /* the message */
    size_t len;
    int64_t deadline_ms;       /* report every outcome before this (the
                                  lease ends at deadline + lease margin) */
} mox_queue_attempt_info;

/* The attempt's data; valid until mox_queue_attempt_end. */
MOX_API const mox_queue_attempt_info *mox_queue_attempt_get(const mox_queue_attempt *a);

/* Reports outcomes of `n` recipients of attempt `a`, written to the store
 * before this returns (call it right after the remote reply). Failures of
 * the same call are answered with one DSN per kind. Touches the store.
 * Errors: MOX_ERR_INVAL (bad index or status, a recipient already
 * reported), MOX_ERR_IO from the store (the outcome is then not recorded:
 * the recipient is tried again after its lease; at-least-once). A
 * recipient whose lease was taken over by another node is skipped
 * silently (that node tries it). */
MOX_API int mox_queue_attempt_result(mox_queue *q, mox_queue_attempt *a,
                                     const mox_queue_result *results, size_t n,
                                     mox_errinfo *ei);

/* Ends attempt `a`: recipients without an outcome get `rest` (its index
 * ignored; NULL: a temporary failure "attempt ended without a result"),
 * the destination slot is released, and `a` is freed. Touches the store.
 * Errors as mox_queue_attempt_result; `a` is freed in every case except
 * MOX_ERR_INVAL for a NULL queue or attempt or an attempt of another
 * queue (then nothing is touched). */
MOX_API int mox_queue_attempt_end(mox_queue *q, mox_queue_attempt *a, const mox_queue_result *rest,
                                  mox_errinfo *ei);

/* The deliverer: start() gets each attempt the queue hands out. It must
 * not block on the network: it starts the delivery (or queues it for the
 * embedder's loop) and returns MOX_OK; the outcomes come back later through
 * mox_queue_attempt_result and mox_queue_attempt_end (which may also be
 * called before start returns). A negative return refuses the attempt: the
 * queue ends it at once as a temporary failure. */
typedef struct mox_queue_deliverer {
    size_t size; /* sizeof(mox_queue_deliverer) */
    void *ctx;
    int (*start)(void *ctx, mox_queue *q, mox_queue_attempt *a);
} mox_queue_deliverer;

/* ---------------------------------------------------------------- events */

typedef enum mox_queue_event_kind {
    MOX_QUEUE_EVENT_DELIVERED = 1,
    MOX_QUEUE_EVENT_DELAYED = 2,    /* a temporary failure; will retry */
    MOX_QUEUE_EVENT_FAILED = 3,     /* given up (or a failure DSN came in) */
    MOX_QUEUE_EVENT_SUPPRESSED = 4, /* refused at enqueue: suppression list */
    MOX_QUEUE_EVENT_RELAYED = 5,    /* delivered to a server without DSN */
    MOX_QUEUE_EVENT_CANCELED = 6    /* dropped by an operator */
} mox_queue_event_kind;

/* One event; strings valid during the callback. */
typedef struct mox_queue_event {
    int kind;                 /* mox_queue_event_kind */
    int64_t msg_id;
    int64_t rcpt_id;          /* 0 for SUPPRESSED (never stored) */
    const char *account;
    const char *mail_from;
    const char *recipient;
    const char *fromid;
    int code;                 /* remote reply code, 0 none */
    const char *enhanced;
    const char *text;
    int attempts;
    int remote;               /* 1: from an incoming DSN (a later hop) */
    const void *extra;
    size_t extra_len;
} mox_queue_event;

typedef void (*mox_queue_event_fn)(void *ctx, const mox_queue_event *ev);

/* ---------------------------------------------------------------- queue */

/* Configuration flags. */
#define MOX_QUEUE_NO_JITTER 0x1u        /* retry exactly at the intervals */
#define MOX_QUEUE_NO_DSN 0x2u           /* never compose DSNs */
#define MOX_QUEUE_NO_AUTO_SUPPRESS 0x4u /* no automatic suppression entries */

/* Queue configuration. Zero means default in every member; a zeroed
 * struct with size set is valid (only mox_queue_run needs a deliverer).
 * Strings and the retry array are copied at mox_queue_new; env,
 * deliverer and the callbacks' ctx must outlive the queue. */
typedef struct mox_queue_config {
    size_t size;                /* sizeof(mox_queue_config) */
    const mox_env *env;         /* clock, randomness, logger */
    /* Delays between attempts, seconds: attempt k+1 comes retry_s[k-1]
     * after attempt k failed. Default mox's: 450, 900, 1800, 3600, 7200,
     * 14400, 28800 (first attempt at once, then 7.5 min doubling; 8
     * attempts, the last 15 h 52 min after the first). At most 64. */
    const uint32_t *retry_s;
    size_t nretry;
    uint32_t max_age_s;         /* no attempt later than this after
                                   enqueue; default 4 days */
    uint32_t jitter_pct;        /* retry delays vary by +- this percentage;
                                   default 5, at most 50 */
    uint32_t delay_dsn_attempt; /* delayed DSN after this failed attempt;
                                   default 5 */
    uint32_t concurrency;       /* attempts in flight on this node; 10 */
    uint32_t per_destination;   /* per destination domain across all nodes
                                   sharing the store; 2 */
    uint32_t keep_retired_s;    /* retired history; default 1 day */
    uint32_t lease_s;           /* lease of a claimed attempt; default
                                   1800 (longer than an SMTP attempt's
                                   RFC 5321 §4.5.3.2 timeouts add up to) */
    uint32_t max_hold_s;        /* FUTURERELEASE limit; default and upper
                                   bound 60 days (advertise it as
                                   FUTURERELEASE's max interval, RFC 4865
                                   §3) */
    uint32_t max_rcpts;         /* recipients per attempt; default 100 */
    uint32_t poll_ms;           /* look at the store at least this often
                                   (changes by other nodes or the mox
                                   tool); default 1000 */
    unsigned flags;             /* MOX_QUEUE_* */
    const char *owner;          /* this node's lease owner name; NULL:
                                   random (unique per queue object) */
    const char *hostname;       /* Reporting-MTA of our DSNs; "localhost" */
    const char *fromid_separator; /* local part separator of FromID
                                   reverse paths; default "+" */
    const mox_queue_deliverer *deliverer;
    mox_queue_event_fn on_event;
    void *event_ctx;
    /* Where DSNs go: NULL enqueues them (null reverse path, to the
     * original sender); otherwise this is called with the composed
     * message and may deliver it into the sender's mailbox. Return MOX_OK
     * or a negative mox_err (then the DSN is enqueued instead). */
    int (*dsn_deliver)(void *ctx, const char *account, const char *to, const void *msg,
                       size_t len);
    void *dsn_ctx;
} mox_queue_config;

#define MOX_QUEUE_CONFIG_INIT { sizeof(mox_queue_config), NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 0, \
    0, 0, 0, 0u, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL }

/* Function form of MOX_QUEUE_CONFIG_INIT (zeroes, sets size). */
MOX_API void mox_queue_config_init(mox_queue_config *c, size_t size);

/* Creates a queue over `store` (borrowed: it must outlive the queue).
 * Does not touch the store. Errors: MOX_ERR_INVAL (NULL store or out, a
 * retry list longer than 64 or with a zero delay, jitter over 50,
 * max_hold over 60 days), MOX_ERR_NOMEM. */
MOX_API int mox_queue_new(mox_queue **out, const mox_queue_config *cfg, mox_queue_store *store,
                          mox_errinfo *ei);

/* Frees the queue. Attempts still running are abandoned (their leases
 * expire, the recipients are tried again). NULL-safe. */
MOX_API void mox_queue_free(mox_queue *q);

/* One recipient of a submission. `id` and `status` are written by
 * mox_queue_enqueue. */
typedef struct mox_queue_recipient {
    const char *address;  /* local@domain (UTF-8 needs MOX_QUEUE_MSG_SMTPUTF8) */
    unsigned notify;      /* MOX_QUEUE_NOTIFY_* */
    const char *orcpt;    /* ORCPT "type;address" decoded, or NULL */
    int64_t id;           /* out: recipient id, 0 when refused */
    int status;           /* out: MOX_OK, or MOX_ERR_PERM (suppressed) */
} mox_queue_recipient;

/* One submission. */
typedef struct mox_queue_submission {
    size_t size;              /* sizeof(mox_queue_submission) */
    const char *account;      /* required */
    const char *mail_from;    /* "" (or NULL) for the null reverse path */
    unsigned flags;           /* MOX_QUEUE_MSG_* */
    int ret;                  /* MOX_QUEUE_RET_* */
    const char *envid;        /* DSN ENVID (decoded), or NULL */
    int64_t hold_until_ms;    /* FUTURERELEASE: not before this, 0: now */
    const void *extra;        /* free-form data for events (copied) */
    size_t extra_len;
    const void *data;         /* the message (copied into the store) */
    size_t len;
    mox_queue_recipient *rcpts;
    size_t nrcpts;
    int64_t msg_id;           /* out: base id */
    char fromid[32];          /* out: the FromID */
} mox_queue_submission;

#define MOX_QUEUE_SUBMISSION_INIT { sizeof(mox_queue_submission), NULL, NULL, 0, 0, NULL, 0, NULL, \
    0, NULL, 0, NULL, 0, 0, {0} }

/* Stores a message for delivery to its recipients (one body, one row per
 * recipient, one base id). Recipients on the account's suppression list
 * are refused (status MOX_ERR_PERM, a SUPPRESSED event); a message
 * matching a hold rule is stored held; FUTURERELEASE (hold_until_ms) is
 * honoured up to max_hold. Returns after everything is durable. Touches
 * the store; thread-safe. Errors: MOX_ERR_INVAL (missing account, no
 * recipients, a recipient without '@' or with control characters, a
 * hold_until beyond max_hold: RFC 4865 §4 lets the server refuse it),
 * MOX_ERR_PERM (every recipient suppressed: nothing stored), MOX_ERR_LIMIT
 * (the store refuses the size), MOX_ERR_IO (storage: nothing stored, the
 * submitter gets a temporary error), MOX_ERR_NOMEM. */
MOX_API int mox_queue_enqueue(mox_queue *q, mox_queue_submission *s, mox_errinfo *ei);

/* Does the queue's periodic work and starts due attempts: renews leases of
 * running attempts, purges expired history and suppressions, then claims
 * attempts while fewer than `concurrency` run, and hands each to the
 * deliverer. Returns the number started (>= 0), or a negative mox_err:
 * MOX_ERR_STATE (no deliverer configured), the store's error (nothing
 * lost; call again later). Touches the store. */
MOX_API int mox_queue_run(mox_queue *q, mox_errinfo *ei);

/* When mox_queue_run should be called next (wall ms): the earliest due
 * recipient as last seen, at most poll_ms ahead, at once after an enqueue.
 * Does not touch the store. */
MOX_API int64_t mox_queue_next_run(const mox_queue *q);

/* Attempts in flight on this node. */
MOX_API size_t mox_queue_inflight(const mox_queue *q);

/* --- management (all touch the store) */

/* Visits queued recipients matching `f` (NULL: all). */
MOX_API int mox_queue_list(mox_queue *q, const mox_queue_filter *f, mox_queue_rcpt_fn fn,
                           void *ctx, mox_errinfo *ei);

/* Hold, release, or make due now the recipients matching `f`; *count
 * (optional) = recipients changed. A filter matching nothing is not an
 * error (*count = 0). */
MOX_API int mox_queue_hold(mox_queue *q, const mox_queue_filter *f, size_t *count,
                           mox_errinfo *ei);
MOX_API int mox_queue_release(mox_queue *q, const mox_queue_filter *f, size_t *count,
                              mox_errinfo *ei);
MOX_API int mox_queue_retry_now(mox_queue *q, const mox_queue_filter *f, size_t *count,
                                mox_errinfo *ei);

/* Removes matching recipients: drop retires them as CANCELED (no DSN,
 * a CANCELED event); fail retires them as FAILED with a failure DSN as
 * NOTIFY allows and a FAILED event. */
MOX_API int mox_queue_drop(mox_queue *q, const mox_queue_filter *f, size_t *count,
                           mox_errinfo *ei);
MOX_API int mox_queue_fail(mox_queue *q, const mox_queue_filter *f, size_t *count,
                           mox_errinfo *ei);

/* Visits the retired history (most recent first). */
MOX_API int mox_queue_retired_list(mox_queue *q, const mox_queue_filter *f,
                                   mox_queue_retired_fn fn, void *ctx, mox_errinfo *ei);

/* Hold rules. rule_add copies the strings (lower-cased) and sets r->id;
 * a rule applies to messages enqueued afterwards (use mox_queue_hold for
 * those already queued). rule_remove: MOX_ERR_NOTFOUND. */
MOX_API int mox_queue_rule_add(mox_queue *q, mox_queue_rule *r, mox_errinfo *ei);
MOX_API int mox_queue_rule_remove(mox_queue *q, int64_t id, mox_errinfo *ei);
MOX_API int mox_queue_rule_list(mox_queue *q, mox_queue_rule_fn fn, void *ctx, mox_errinfo *ei);

/* Normalises an address for the suppression list: lower case, and the
 * "+tag" of the local part removed (as mox does). Appends to `out`.
 * MOX_ERR_INVAL (no '@'), MOX_ERR_NOMEM. Does not touch the store. */
MOX_API int mox_queue_address_normalize(const char *address, mox_buf *out);

/* Suppression lists. add normalises the address and replaces an entry of
 * the same account and address; remove: MOX_ERR_NOTFOUND; list visits
 * an account's entries (NULL: every account); check sets *suppressed
 * when an unexpired entry matches. Automatic entries are added when a
 * recipient fails permanently with code 521, 550, 551, 553 or 556, or
 * enhanced code 5.1.1, 5.1.2, 5.1.3, 5.1.6, 5.2.1 or 5.7.1 (mox's rule). */
MOX_API int mox_queue_suppression_add(mox_queue *q, const mox_queue_suppression *s,
                                      mox_errinfo *ei);
MOX_API int mox_queue_suppression_remove(mox_queue *q, const char *account, const char *address,
                                         mox_errinfo *ei);
MOX_API int mox_queue_suppression_list(mox_queue *q, const char *account,
                                       mox_queue_suppression_fn fn, void *ctx, mox_errinfo *ei);
MOX_API int mox_queue_suppression_check(mox_queue *q, const char *account, const char *address,
                                        int *suppressed, mox_errinfo *ei);

/* An incoming message `msg` was addressed to `rcpt_to`: when that address
 * carries a FromID (local + separator + fromid) of one of our messages,
 * queued or retired, and the message is a DSN (mox_dsn_parse), each of its
 * recipient groups that names one of the message's recipients raises an
 * event with remote = 1 (failed: FAILED, and a suppression entry as for a
 * local permanent failure; delayed: DELAYED; delivered, relayed,
 * expanded: DELIVERED or RELAYED). *matched (optional) = events raised.
 * MOX_ERR_NOTFOUND: no FromID, no such message, or not a DSN; the DSN
 * parser's errors. Touches the store. */
MOX_API int mox_queue_incoming_dsn(mox_queue *q, const char *rcpt_to, const void *msg, size_t len,
                                   size_t *matched, mox_errinfo *ei);

MOX_END_DECLS

#endif
