/* In-memory pairing of the SMTP client engine with the SMTP server engine:
 * a pump moves each engine's output into the other's feed (whole, one
 * byte at a time, or in random pieces), answers the server's decisions at
 * once or deferred, simulates the TLS handshake after STARTTLS, submits the
 * messages of a scenario and records what both sides saw. */
#ifndef SMTP_PAIR_H
#define SMTP_PAIR_H

#include <stddef.h>
#include <stdint.h>

#include "mox/sasl.h"
#include "mox/smtp_client.h"
#include "mox/smtp_server.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- text */

/* Growable buffer on libc malloc: test bookkeeping stays outside the
 * library's allocator (and so outside allocation-failure injection). */
typedef struct sb {
    char *p;
    size_t n, cap;
} sb;

void sb_add(sb *b, const void *p, size_t n);
void sb_adds(sb *b, const char *s);
void sb_addf(sb *b, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void sb_free(sb *b);
/* NUL-terminated contents ("" when empty). */
const char *sb_str(sb *b);

/* ---------------------------------------------------------------- scenario */

/* Server policy, applied by the pair's callbacks. */
typedef struct policy {
    int connect_code;            /* nonzero: greeting answered with this */
    int ehlo_code;               /* nonzero: EHLO (not HELO) answered with this */
    int starttls_code;           /* nonzero: STARTTLS answered with this */
    int mail_code;               /* nonzero: MAIL answered with this */
    const char *mail_enh;
    const char *mail_reject_prefix; /* senders starting with it: 550 5.7.1 */
    unsigned rcpt_accept_max;    /* >0: accept this many per transaction ... */
    int rcpt_over_code;          /* ... and answer the rest with this (452/552) */
    const char *reject_prefix;   /* RCPT addresses starting with it: 550 5.1.1 */
    int rcpt_all_code;           /* nonzero: every RCPT answered with this */
    int data_start_code;         /* nonzero: DATA / first BDAT answered with this */
    int data_start_close;
    int data_end_code;           /* nonzero: end of data answered with this */
    const char *data_end_enh;
    int data_end_close;
    unsigned data_end_fail_first;/* the first N ends of data get data_end_code */
    size_t close_after_bytes;    /* >0: mox_smtp_server_close(421) once this
                                    many message bytes arrived */
    int auth_refuse;             /* on_auth turns a success into 535 */
    uint32_t rcpt_delay_ms;      /* RCPT replies held back this long (tarpit) */
    int rcpt_slow;               /* ... and paced byte by byte */
} policy;

/* A session to run. */
typedef struct spec {
    mox_smtp_server_config scfg;  /* env is filled in by the runner */
    mox_smtp_client_config ccfg;  /* env and auth filled in by the runner */
    policy pol;
    const mox_smtp_client_message *msgs;
    size_t nmsgs;
    /* AUTH through the SASL adapter (client) and a credentials store with
     * the test account (server, when scfg.auth_mechs is set). */
    const mox_sasl_client_config *sasl;
    /* TLS simulation: channel-binding bytes each side reports (NULL: not
     * available); client_cert: the client presented one, cert_user: the
     * server's embedder authorised it for this account. */
    const unsigned char *cli_exporter, *srv_exporter;
    const unsigned char *cli_unique, *srv_unique;
    size_t cb_len;
    int client_cert;
    const char *cert_user;
    int tls_fail;                 /* the handshake fails */
    /* STARTTLS injection: bytes the pump adds after the client's STARTTLS
     * line (towards the server) / after the server's 220 (towards the
     * client), before the handshake. */
    const char *inject_c2s, *inject_s2c;
    int no_quit;                  /* end with EOF instead of QUIT */
} spec;

enum { SPLIT_WHOLE = 0, SPLIT_BYTE, SPLIT_RANDOM };

typedef struct run_mode {
    int split;
    int defer;        /* every decision deferred, answered by the pump */
    uint32_t seed;
} run_mode;

/* ---------------------------------------------------------------- records */

/* A copy of one recipient's result on the client. */
typedef struct crcpt {
    char *address;
    int accepted;
    mox_smtp_client_status o; /* o.text points at `text` */
    char *text;
} crcpt;

/* A copy of one delivery (one submitted message). */
typedef struct cdlv {
    int submitted;
    size_t n;
    crcpt *r;
    unsigned transactions;
    int dsn_dropped, done;
    size_t naccepted, ntemporary, npermanent;
} cdlv;

/* One recipient as the server saw it. */
typedef struct srcpt {
    char *path;       /* "<local@domain>" (Unicode form) */
    unsigned notify;
    char *orcpt;      /* NULL if absent */
} srcpt;

/* One transaction that reached the end of its data on the server. */
typedef struct stx {
    char *from;
    int body, smtputf8, requiretls, ret, chunking, body_8bit, header_8bit;
    uint64_t size_declared, data_size;
    char *envid;      /* NULL if absent */
    int64_t hold_until;
    size_t nrcpts;
    srcpt *rcpts;
    sb data;          /* the message bytes handed to on_data_chunk */
    int code;         /* the reply the pair's policy chose */
} stx;

#define PAIR_MAX_WRITES 512
#define PAIR_MAX_TX 64

typedef struct pair {
    const spec *sp;
    run_mode mode;
    uint32_t rng;
    mox_smtp_client *c;
    mox_smtp_server *s;
    mox_smtp_client_sasl *sasl;
    mox_clock clock;
    mox_metrics metrics;
    uint32_t rstate;
    int64_t now;                 /* the fake monotonic clock */
    unsigned client_timeouts;
    mox_random random;
    mox_sasl_credentials creds;
    mox_env env;

    /* decisions */
    int have_deferred, deferred_kind;
    mox_smtp_server_reply deferred;
    int lookup_ready;            /* the deferred credentials lookup may answer */
    unsigned lookups_deferred;

    /* server-side view */
    sb events;                   /* one line per callback */
    sb cur;                      /* data of the open transaction */
    stx tx[PAIR_MAX_TX];
    size_t ntx;
    unsigned txn_ok;             /* RCPTs accepted by the policy in this txn */
    unsigned data_ends;
    unsigned hellos, mails, rcpts, data_starts, resets, auths, starttls;
    int closed_mid;
    unsigned injections;         /* server metric: STARTTLS injection */
    unsigned smuggling;          /* server metric: smuggling refusals */

    /* the wire */
    sb c2s, s2c;                 /* every byte moved */
    size_t cw[PAIR_MAX_WRITES], ncw; /* c2s offset after each client write */
    size_t sw[PAIR_MAX_WRITES], nsw; /* s2c offset after each server write */
    size_t c2s_tls_at, s2c_tls_at;   /* offsets when "TLS" started, or 0 */
    int tls_on;
    int injected_c2s, injected_s2c;
    size_t dropped_c2s, dropped_s2c; /* written to a closed peer */

    /* the client's side */
    size_t nsubmitted, ndone;
    cdlv dlv[16];
    int quit_sent, server_eof_sent, client_eof_sent;
    int has_failure;
    mox_smtp_client_status failure;
    char failure_text[400];
    int cli_tls, cli_auth;
    char cli_mech[32];
    unsigned ext_flags;          /* the extensions the client saw last */
    uint32_t ext_rcptmax;

    /* server session facts at the end */
    int srv_tls;
    unsigned srv_transactions, srv_auth_failures, srv_errors;
    char srv_auth_user[128], srv_auth_mech[32];

    int nomem;                   /* an API call reported MOX_ERR_NOMEM */
    int sweep;                   /* allocation sweep: tolerate NOMEM */
    unsigned long iterations;
} pair;

/* Account of the AUTH tests: user, password, derived secrets (the store
 * returns them; a wrong password is the client's business). */
extern const char *const pair_user;
extern const char *const pair_password;
/* Derives the account's secrets (once; a few PBKDF2 rounds). */
void pair_secrets_init(void);
void pair_secrets_wipe(void);

/* Runs the session described by `sp` in `mode` to its end. Returns MOX_OK,
 * or MOX_ERR_NOMEM when creating an engine failed (sweep). Fails the test
 * on a stall or an unexpected API error. */
int pair_run(pair *p, const spec *sp, run_mode mode);
void pair_free(pair *p);

/* Canonical text of everything both sides observed (client outcomes,
 * server events and message data): equal across pump modes. malloc'd. */
char *pair_summary(pair *p);

/* Runs `sp` in the whole-buffer mode, calls `check` on the result, then in
 * byte-at-a-time, byte-at-a-time with every decision deferred, and random
 * splits (some deferred), and requires the same summary each time.
 * `heavy` skips the slowest modes (large messages). */
void pair_run_modes(const spec *sp, void (*check)(pair *p), int heavy);

/* The spec defaults: delivery mode, server "mx.example", client
 * "client.example", opportunistic TLS. */
void pair_spec_init(spec *sp);

/* The client write (as moved by the pump in whole mode) that contains
 * `needle`, as a malloc'd string, or NULL. Same for server writes. */
char *pair_client_write_with(pair *p, const char *needle);
char *pair_server_write_with(pair *p, const char *needle);

/* Normalises line endings like an RFC 5321 sender must: every CR, LF and
 * CRLF becomes CRLF, and a last line without one gets it. Independent of
 * the client's encoder, used as the oracle for the server's view. */
void pair_crlf_normalise(const void *in, size_t n, sb *out);

#endif
