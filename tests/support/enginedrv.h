/* One generic driver for every engine (include/mox/engine.h), used by the
 * module tests: input split at random points, output taken in random
 * pieces, questions answered in random order and interleaved with input,
 * DNS failures injected, deadlines met on a virtual clock. The same
 * transcript driven with different seeds must give the same result; that
 * is what the tests assert. */
#ifndef MOXTEST_ENGINEDRV_H
#define MOXTEST_ENGINEDRV_H

#include "mox/dns.h"
#include "mox/engine.h"

typedef struct moxtest_drive {
    unsigned seed;          /* for splits and order (0 behaves like 1) */
    size_t max_chunk;       /* input fed in chunks of 1..max_chunk bytes,
                               output taken likewise (0: all at once) */
    int shuffle;            /* answer open questions in random order, some
                               only after more input was fed */
    unsigned fail_percent;  /* share of DNS answers replaced by SERVFAIL or
                               TIMEOUT (0: none) */
    const mox_dns_zone *zone; /* answers DNS questions (NULL: use answer) */
    /* answers every other question (and DNS without a zone); *out is
     * freed by the driver. NULL: such a question fails the run. */
    int (*answer)(void *ctx, const mox_query *q, mox_answer **out);
    void *answer_ctx;
    /* called when the engine wants a DECISION or TLS; must make progress */
    int (*decide)(void *ctx, mox_engine *g);
    int (*tls)(void *ctx, mox_engine *g);
    void *cb_ctx;
    const void *input;      /* bytes to feed */
    size_t input_len;
    int eof;                /* call eof after the input */
    unsigned max_steps;     /* bound on loop iterations (0: 1000000) */
    /* out */
    mox_buf output;         /* everything the engine output (free it) */
    int64_t now_ns;         /* virtual monotonic clock (start value in) */
    unsigned questions;     /* questions handed out */
    unsigned max_open;      /* most questions open at the same time */
    unsigned ticks;         /* deadlines met */
    size_t fed;             /* input bytes taken */
    unsigned final_want;    /* want() when the run ended */
} moxtest_drive;

/* Drives `g` until it wants DONE or CLOSED with nothing left to write,
 * or wants nothing the driver can give. Returns MOX_OK or the first
 * negative return of an engine call (with the engine's error printed). */
int moxtest_drive_run(mox_engine *g, moxtest_drive *d);

/* A mox_clock reading d->now_ns (wall clock: 2026-01-01 + now_ns), for
 * the env of an engine driven by `d`. */
void moxtest_drive_clock(moxtest_drive *d, mox_clock *c);

/* Contract checks valid for any engine with a query group, called while
 * `g` has at least one question handed out but unanswered (id `open_id`)
 * or, with open_id 0, at any time: an answer for an unknown id gives
 * MOX_ERR_NOTFOUND, an answer of the wrong kind MOX_ERR_INVAL, each with
 * a message in mox_engine_error; the engine's want is unchanged after. */
void moxtest_contract_answers(mox_engine *g, uint32_t open_id);

#endif
