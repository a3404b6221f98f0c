/*
 * libmox msgauth: the verdict on one incoming message. Runs iprev
 * (optional), SPF (MAIL FROM), DKIM and DMARC on a message as it arrives,
 * as one engine of the one contract (include/mox/engine.h: want,
 * feed/eof, query/answer, result), and composes the Authentication-Results
 * header field (or only its value) for all of them under the embedder's
 * authserv-id. Also finds the Authentication-Results fields in incoming
 * mail that claim the embedder's own authserv-id, so they can be removed
 * before the real one is added (RFC 8601 §5: otherwise a sender forges our
 * verdict).
 *
 * Every question is handed out as soon as it is known, so an asynchronous
 * resolver answers them in parallel: the iprev PTR and the SPF record when
 * mox_msgauth_new returns; every DKIM key record and the DMARC policy
 * record of the From domain as soon as the header section is complete
 * (before the body ends); the later questions of each part as its answers
 * arrive. DMARC alignment runs once SPF and DKIM are final. Answers come
 * back in any order (a->id names the question).
 *
 * An SPF outcome computed earlier (at MAIL FROM time) can be given with
 * mox_msgauth_set_spf, so SPF is not evaluated twice.
 *
 * This module exists so that the DMARC evaluator itself stays independent
 * of the SPF and DKIM modules (it takes their outcomes as plain values);
 * an embedder with its own SPF or DKIM uses mox/dmarc.h directly.
 *
 * Threading: objects are not thread-safe; distinct objects are independent.
 */
#ifndef MOX_MSGAUTH_H
#define MOX_MSGAUTH_H

#include "core.h"
#include "dkim.h"
#include "dmarc.h"
#include "dns.h"
#include "engine.h"
#include "iprev.h"
#include "message.h"
#include "spf.h"

MOX_BEGIN_DECLS

#define MOX_MSGAUTH_IPREV 0x1u     /* also run iprev */
#define MOX_MSGAUTH_SPF_GIVEN 0x2u /* SPF is evaluated elsewhere and given
                                      with mox_msgauth_set_spf, at any time
                                      before the check can end: msgauth
                                      evaluates no SPF of its own (unless
                                      the one given does not match) */

/* Configuration; MOX_MSGAUTH_CONFIG_INIT or mox_msgauth_config_init; a
 * zeroed config with `size` set is the defaults. Pointed-to configs are
 * copied by the engines they configure (envs must outlive the object). */
typedef struct mox_msgauth_config {
    size_t size;                        /* sizeof(mox_msgauth_config) */
    const mox_spf_config *spf;          /* NULL: defaults */
    const mox_dkim_verify_config *dkim; /* NULL: defaults */
    const mox_dmarc_config *dmarc;      /* NULL: defaults (msgauth adds
                                           MOX_DMARC_F_AUTH_LATER) */
    const mox_iprev_config *iprev;      /* NULL: defaults */
    unsigned flags;                     /* MOX_MSGAUTH_* */
    size_t max_header;                  /* header bytes kept for the From
                                           (0: 256 KiB) */
} mox_msgauth_config;

#define MOX_MSGAUTH_CONFIG_INIT { sizeof(mox_msgauth_config), NULL, NULL, NULL, NULL, 0, 0 }

/* Function form of MOX_MSGAUTH_CONFIG_INIT: fills the first `size` bytes
 * (the caller's sizeof), size included. NULL-safe. */
MOX_API void mox_msgauth_config_init(mox_msgauth_config *cfg, size_t size);

typedef struct mox_msgauth mox_msgauth;

/* Creates a check for a message received from `ip` with MAIL FROM
 * `mail_from` (angle brackets tolerated; "" or NULL for the null
 * reverse-path, then SPF checks postmaster@HELO, RFC 7208 §2.4) and HELO
 * `helo`. Strings are copied. The iprev and SPF questions are ready when
 * it returns. Errors, with `ei` filled: MOX_ERR_INVAL (NULL out or ip, a
 * bad IP, a config without its size, an SPF config error), MOX_ERR_LIMIT
 * (MAIL FROM or HELO over 1024 bytes), MOX_ERR_NOMEM. */
MOX_API int mox_msgauth_new(mox_msgauth **out, const mox_msgauth_config *cfg, const char *ip,
                            const char *mail_from, const char *helo, mox_errinfo *ei);
/* NULL-safe. Questions handed out become invalid. */
MOX_API void mox_msgauth_free(mox_msgauth *m);

/* Gives the SPF outcome an earlier evaluation computed for this message
 * (moxd evaluates SPF at MAIL FROM), so msgauth does not evaluate SPF
 * again: `o` (copied) with the client IP, MAIL FROM and HELO it was
 * computed for. They must be the ones given to mox_msgauth_new (the IP as
 * an address, IPv4-mapped IPv6 equal to IPv4; the MAIL FROM local part
 * exactly and its domain and the HELO as DNS names, case and a trailing
 * dot ignored), and the outcome of the MAIL FROM identity (HELO only for
 * a null reverse-path). Otherwise the outcome was computed for another
 * envelope: that is an error, MOX_ERR_INVAL, and msgauth evaluates SPF
 * itself (so the verdict is never built on a stale SPF result: with
 * MOX_MSGAUTH_SPF_GIVEN its own SPF questions follow). When: with
 * MOX_MSGAUTH_SPF_GIVEN at any time (the check waits for it); without,
 * before msgauth hands out its first SPF question (call it right after
 * mox_msgauth_new). MOX_ERR_STATE otherwise and when given twice. Errors
 * are recorded for mox_engine_error. */
MOX_API int mox_msgauth_set_spf(mox_msgauth *m, const mox_spf_outcome *o, const char *ip,
                                const char *mail_from, const char *helo);

/* MOX_WANT_READ until eof, QUERY / ANSWER from the parts, DONE once every
 * part is final (then nothing else). 0 after a failure, and for NULL. */
MOX_API unsigned mox_msgauth_want(const mox_msgauth *m);

/* The message, in chunks of any size (CRLF line ends as on the wire).
 * Takes everything: returns `len`. A header section over the DKIM limits
 * is not an error: DKIM reads permerror, SPF and DMARC go on. Errors,
 * recorded for mox_engine_error: MOX_ERR_INVAL (NULL data with len > 0),
 * MOX_ERR_STATE (after eof, or after a failure), MOX_ERR_NOMEM (failed),
 * MOX_ERR_IO (RFC 7489 DMARC mode without a public suffix list). */
MOX_API int64_t mox_msgauth_feed(mox_msgauth *m, const void *data, size_t len);

/* The end of the message. Errors as feed; MOX_ERR_STATE when called
 * twice. */
MOX_API int mox_msgauth_eof(mox_msgauth *m);

/* Hands out the next question of any part (iprev, SPF, DKIM, DMARC), each
 * as its part gives it (MOX_QUERY_DNS; strings owned by `m` until the
 * question is answered or `m` freed). Call it until MOX_ERR_AGAIN to get
 * every question known now; more come after feed, eof and answers.
 * MOX_ERR_AGAIN when none; MOX_ERR_INVAL for NULL. */
MOX_API int mox_msgauth_query(mox_msgauth *m, mox_query *q);

/* The answer to a question handed out, in any order (a->id names it; the
 * answer is only read). Errors, recorded for mox_engine_error with the
 * part's message, the check unchanged: MOX_ERR_INVAL (NULL, not DNS,
 * another type than asked), MOX_ERR_NOTFOUND (no question with that id),
 * MOX_ERR_STATE (answered already, not handed out, or failed earlier);
 * MOX_ERR_NOMEM (the check is then unusable). */
MOX_API int mox_msgauth_answer(mox_msgauth *m, const mox_answer *a);

/* The generic view, part of `m`. NULL for NULL. */
MOX_API mox_engine *mox_msgauth_engine(mox_msgauth *m);

/* The verdict, once MOX_WANT_DONE is set (else NULL). Every pointer is
 * owned by `m`. */
typedef struct mox_msgauth_outcome {
    const mox_iprev_outcome *iprev;        /* NULL when not enabled */
    const mox_spf_outcome *spf;            /* evaluated here, or the copy
                                              of the one given */
    int spf_given;                         /* 1: given with set_spf */
    const mox_dkim_verifier_outcome *dkim; /* NULL when dkim_limit */
    int dkim_limit;                        /* the header section was over
                                              the DKIM limits (dkim=
                                              permerror) */
    const mox_dmarc_outcome *dmarc;
} mox_msgauth_outcome;

MOX_API const mox_msgauth_outcome *mox_msgauth_result(const mox_msgauth *m);

/* Convenience: new + feed + eof + mox_engine_run over `r` for a message in
 * memory. On MOX_OK *out is the finished check (free it). Errors, with
 * `ei`: those of the calls, MOX_ERR_INVAL for NULL out or r, or NULL msg
 * with len > 0. */
MOX_API int mox_msgauth_check(mox_msgauth **out, const mox_msgauth_config *cfg,
                              const mox_resolver *r, const char *ip, const char *mail_from,
                              const char *helo, const void *msg, size_t len, mox_errinfo *ei);

/* The part engines, readable once done (NULL before; iprev NULL when not
 * enabled; spf NULL when its outcome was given; dkim NULL when the header
 * section was over the DKIM limits). For mox_spf_received_header and
 * other part functions. */
MOX_API const mox_spf *mox_msgauth_spf(const mox_msgauth *m);
MOX_API const mox_dkim_verifier *mox_msgauth_dkim(const mox_msgauth *m);
MOX_API const mox_dmarc *mox_msgauth_dmarc(const mox_msgauth *m);
MOX_API const mox_iprev *mox_msgauth_iprev(const mox_msgauth *m);

/* Appends the results to an Authentication-Results model, in the order
 * iprev, spf, dkim (one per signature, "dkim=none" for an unsigned
 * message), dmarc. MOX_ERR_STATE when not done, MOX_ERR_INVAL,
 * MOX_ERR_NOMEM. */
MOX_API int mox_msgauth_authres(const mox_msgauth *m, mox_authres *ar);

/* Appends the complete field "Authentication-Results: ID;\r\n\t...\r\n"
 * (mox_authres_compose). Errors as mox_msgauth_authres. */
MOX_API int mox_msgauth_authres_header(const mox_msgauth *m, const char *authserv_id,
                                       mox_buf *out);

/* Appends only the field's value "ID; iprev=...; spf=...; ..." for
 * embedders that write header fields themselves (a milter's add-header, a
 * header API that folds): no field name, no final CRLF. `flags` as
 * mox_authres_compose_value: 0 gives one line (the caller folds it),
 * MOX_AUTHRES_FOLD folds it as the full field is folded. Errors as
 * mox_msgauth_authres. */
MOX_API int mox_msgauth_authres_value(const mox_msgauth *m, const char *authserv_id,
                                      unsigned flags, mox_buf *out);

/* SPF / DKIM entries from the parts' outcomes (used by the above). */
MOX_API int mox_msgauth_spf_authres(const mox_spf_outcome *o, mox_authres *ar);
MOX_API int mox_msgauth_dkim_authres(const mox_dkim_verifier_outcome *o, mox_authres *ar);

/* ----------------------------------------------- our own authserv-id */

/* A header field found in a message: byte range of the raw field (name to
 * its last line ending) and its index among the fields. */
typedef struct mox_msgauth_field {
    size_t offset;
    size_t len;
    size_t index;
} mox_msgauth_field;

/* Finds every Authentication-Results field in `header` (a header section
 * or a whole message) whose authserv-id equals `authserv_id` (ASCII case
 * and one trailing dot ignored). *fields (free with mox_free) gets *n
 * entries (NULL when 0). A field that does not parse at all is not
 * reported (it claims nothing). MOX_ERR_NOMEM, MOX_ERR_INVAL, or the
 * header parser's MOX_ERR_SYNTAX / MOX_ERR_LIMIT. */
MOX_API int mox_msgauth_find_own(const void *header, size_t len, const char *authserv_id,
                                 mox_msgauth_field **fields, size_t *n);

/* Appends `msg` to `out` without those fields. *removed (optional) gets
 * how many were dropped. */
MOX_API int mox_msgauth_strip_own(const void *msg, size_t len, const char *authserv_id,
                                  mox_buf *out, size_t *removed);

MOX_END_DECLS

#endif
