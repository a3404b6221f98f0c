/* Private side of the engine contract (include/mox/engine.h): the generic
 * view every engine embeds, and the question table every engine that asks
 * questions keeps. Not installed. */
#ifndef MOX_ENGINE_PRIV_H
#define MOX_ENGINE_PRIV_H

#include "core/core_priv.h"
#include "mox/engine.h"

/* The operations behind mox_engine_*. A NULL member means the engine does
 * not have that group. `self` is the engine object. */
typedef struct moxi_engine_ops {
    const char *name;
    unsigned (*want)(const void *self);
    int64_t (*feed)(void *self, const void *p, size_t n);
    int (*eof)(void *self);
    int (*output)(void *self, const void **p, size_t *n);
    int (*output_done)(void *self, size_t n);
    int (*query)(void *self, mox_query *q);
    int (*answer)(void *self, const mox_answer *a);
    int (*tls_request)(const void *self, mox_tls_request *req);
    int (*tls_done)(void *self, int status, const mox_tls_info *info);
    int64_t (*deadline)(const void *self);
    int (*tick)(void *self, int64_t now_ns);
} moxi_engine_ops;

/* Embedded in every engine object; mox_E_engine returns its address. */
struct mox_engine {
    const moxi_engine_ops *ops;
    void *self;
    mox_errinfo err; /* last failure (mox_engine_error) */
};

/* Sets up the embedded view. */
void moxi_engine_init(mox_engine *g, const moxi_engine_ops *ops, void *self);

/* Records a failure of a contract call (misuse, bad answer) on the engine
 * and returns `code`, so calls can `return moxi_engine_fail(...)`. */
int moxi_engine_fail(mox_engine *g, int code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ------------------------------------------------------------ questions */

/* The open questions of an engine. Ids are handed out in increasing order
 * and never reused (within one table), so an answer for a question that
 * was asked and answered already is told apart from one for an id the
 * engine never gave out. Strings of a question are copied into the slot.
 * Zero-initialise (MOXI_QSET_INIT); free with moxi_qset_clear. */
typedef struct moxi_qslot {
    mox_query q;
    char *str;      /* owned storage the query's pointers point into */
    int state;      /* MOXI_Q_UNASKED, _ASKED, _ANSWERED, _CANCELLED */
    uintptr_t tag;  /* the engine's own reference to what is waiting */
} moxi_qslot;

enum { MOXI_Q_UNASKED = 0, MOXI_Q_ASKED = 1, MOXI_Q_ANSWERED = 2, MOXI_Q_CANCELLED = 3 };

typedef struct moxi_qset {
    moxi_qslot *v;
    size_t n, cap;
    uint32_t base;    /* id of v[0] */
    uint32_t last_id; /* last id handed out over the table's life */
    size_t next;      /* first slot that may still be unasked */
    size_t open;      /* slots asked or unasked (not answered/cancelled) */
} moxi_qset;

#define MOXI_QSET_INIT { NULL, 0, 0, 0, 0, 0, 0 }

/* Adds a question (every string of `q` is copied; q->id is ignored) and
 * returns its id in *id (optional). MOX_ERR_NOMEM, MOX_ERR_INVAL. */
int moxi_qset_add(moxi_qset *s, const mox_query *q, uintptr_t tag, uint32_t *id);
/* Shorthand for a DNS question; `name` need not be NUL-terminated. */
int moxi_qset_dns(moxi_qset *s, const char *name, size_t namelen, uint16_t type,
                  uintptr_t tag, uint32_t *id);
/* Hands out the next unasked question (query() of an engine).
 * MOX_ERR_AGAIN when none. */
int moxi_qset_next(moxi_qset *s, mox_query *out);
/* Validates an answer and marks its question answered: *slot (optional)
 * is the question's slot, valid until the next add or clear. Errors,
 * recorded on `g`: MOX_ERR_INVAL (NULL answer, kind or DNS type differs
 * from the question's), MOX_ERR_NOTFOUND (no question with that id),
 * MOX_ERR_STATE (answered already, cancelled, or not handed out yet). */
int moxi_qset_take(moxi_qset *s, mox_engine *g, const mox_answer *a,
                   const moxi_qslot **slot);
/* Withdraws an open question (its answer is then MOX_ERR_STATE). */
void moxi_qset_cancel(moxi_qset *s, uint32_t id);
/* MOX_WANT_QUERY when a question is unasked, MOX_WANT_ANSWER when one was
 * handed out and not answered. */
unsigned moxi_qset_want(const moxi_qset *s);
/* Number of questions not answered yet (asked or not). */
static inline size_t moxi_qset_open(const moxi_qset *s) { return s->open; }
/* Frees everything; ids keep increasing after a clear. */
void moxi_qset_clear(moxi_qset *s);

/* ------------------------------------------------------------ answers */

/* Builds a DNS answer that takes ownership of `ans` (freed with the
 * answer, or at once on error). For resolver adapters. */
int moxi_answer_dns_take(mox_answer **out, uint32_t id, mox_dns_answer *ans);

#endif
