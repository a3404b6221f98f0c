/* Test embedder for the SMTP server engine: deterministic policy callbacks,
 * a fake clock, transcript runner. Shared by the unit tests and the fuzz
 * harness. */
#ifndef SMTP_SERVER_HARNESS_H
#define SMTP_SERVER_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "mox/smtp_server.h"

typedef struct th_env {
    mox_clock clock;
    mox_random random;  /* deterministic: same bytes for every session */
    uint64_t rstate;
    mox_env env;
    int64_t mono, wall;
} th_env;

void th_env_init(th_env *e);

/* The embedder. Decisions depend only on their input, so the output of a
 * session is the same whether they are answered at once or deferred. */
typedef struct th {
    mox_smtp_server *s;
    th_env env;
    mox_smtp_server_config cfg;
    mox_smtp_server_callbacks cb;
    mox_sasl_credentials creds;
    mox_buf out;          /* everything the server wrote */
    mox_buf msg;          /* current message data */
    mox_buf last_msg;     /* last complete message */
    int defer_mode;       /* 0 never, 1 always, 2 random, 3 always and decided
                             inside the callback */
    uint64_t rng;
    int have_deferred;
    int deferred_kind;
    mox_smtp_server_reply deferred;
    int auth_pending_lookup; /* credentials lookup said "later" once */
    int lookup_again;
    unsigned resets, chunks, messages;
    int oom;              /* a harness allocation failed (alloc sweep) */
    int defer_lookup;     /* make the credentials lookup answer AGAIN once */
    int auto_tls;         /* th_feed completes STARTTLS handshakes itself */
} th;

/* Parses "key=value" words of a transcript's config line into t->cfg. */
int th_config(th *t, const char *line);

void th_init(th *t);
int th_start(th *t); /* new + start */
void th_free(th *t);

/* Feeds `len` bytes in pieces of `split` bytes (0: all at once, -1:
 * random 1..64), answering deferred decisions and collecting output.
 * Returns 0 or a negative mox_err. */
int th_feed(th *t, const void *p, size_t len, int split);

/* Moves everything the server has (releasing timed output by advancing
 * the fake clock) into t->out. */
void th_drain(th *t);

/* Answers a deferred decision if there is one. */
void th_resolve(th *t);

/* Runs a transcript text. On mismatch, fills `err` and returns -1. split
 * and defer_mode as above. */
int th_run_transcript(const char *text, size_t len, int split, int defer_mode,
                      uint64_t seed, char *err, size_t errsz);

/* Unescapes \r \n \t \0 \\ \xHH. */
size_t th_unescape(const char *in, size_t n, mox_buf *out);

#endif
