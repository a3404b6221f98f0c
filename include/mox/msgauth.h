/*
 * libmox msgauth: the verdict on one incoming message. Runs iprev
 * (optional), SPF (MAIL FROM), DKIM and DMARC on a message as it arrives,
 * as one sans-I/O engine with one DNS question at a time (or blocking over
 * a mox_resolver), and composes the Authentication-Results header field
 * for all of them under the embedder's authserv-id. Also finds the
 * Authentication-Results fields in incoming mail that claim the embedder's
 * own authserv-id, so they can be removed before the real one is added
 * (RFC 8601 §5: otherwise a sender forges our verdict).
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
#include "iprev.h"
#include "message.h"
#include "spf.h"

MOX_BEGIN_DECLS

#define MOX_MSGAUTH_IPREV 0x1u /* also run iprev */

/* Configuration; MOX_MSGAUTH_CONFIG_INIT. Pointed-to configs are copied by
 * the engines they configure (envs must outlive the object). */
typedef struct mox_msgauth_config {
    size_t size;                        /* sizeof(mox_msgauth_config) */
    const mox_spf_config *spf;          /* NULL: defaults */
    const mox_dkim_verify_config *dkim; /* NULL: defaults */
    const mox_dmarc_config *dmarc;      /* NULL: defaults */
    const mox_iprev_config *iprev;      /* NULL: defaults */
    unsigned flags;                     /* MOX_MSGAUTH_* */
    size_t max_header;                  /* header bytes kept for the From
                                           (0: 256 KiB) */
} mox_msgauth_config;

#define MOX_MSGAUTH_CONFIG_INIT { sizeof(mox_msgauth_config), NULL, NULL, NULL, NULL, 0, 0 }

typedef struct mox_msgauth mox_msgauth;

/* Creates a check for a message received from `ip` with MAIL FROM
 * `mail_from` (without brackets; "" or NULL for the null reverse-path) and
 * HELO `helo`. MOX_ERR_INVAL (with ei) for a bad IP, MOX_ERR_NOMEM. */
MOX_API int mox_msgauth_new(mox_msgauth **out, const mox_msgauth_config *cfg, const char *ip,
                            const char *mail_from, const char *helo, mox_errinfo *ei);
MOX_API void mox_msgauth_free(mox_msgauth *m);

/* The message, in chunks of any size (CRLF line ends as on the wire), then
 * the end. Errors as mox_dkim_verifier_feed (MOX_ERR_LIMIT for a header
 * section over the DKIM limits: the DKIM results then read permerror). */
MOX_API int mox_msgauth_feed(mox_msgauth *m, const void *data, size_t len);
MOX_API int mox_msgauth_end(mox_msgauth *m);

enum {
    MOX_MSGAUTH_DONE = 0,
    MOX_MSGAUTH_NEED_DNS = 1,
    MOX_MSGAUTH_NEED_MESSAGE = 2 /* feed more of the message (or end it) */
};

/* The next question (iprev, SPF, DKIM keys, then DMARC), or DONE, or
 * NEED_MESSAGE when everything possible was asked and the rest needs more
 * of the message. *name valid until the next feed_dns/free. */
MOX_API int mox_msgauth_step(mox_msgauth *m, const char **name, uint16_t *type);

/* The answer to the question step gave. MOX_ERR_STATE when none pending. */
MOX_API int mox_msgauth_feed_dns(mox_msgauth *m, const mox_dns_answer *ans);

/* Blocking: answers every question through `r`. Call after end (else
 * MOX_ERR_STATE). MOX_OK or MOX_ERR_NOMEM. */
MOX_API int mox_msgauth_run(mox_msgauth *m, const mox_resolver *r);

/* Convenience: new + feed + end + run for a message in memory. */
MOX_API int mox_msgauth_check(mox_msgauth **out, const mox_msgauth_config *cfg,
                              const mox_resolver *r, const char *ip, const char *mail_from,
                              const char *helo, const void *msg, size_t len, mox_errinfo *ei);

/* 1 once DONE. The parts, readable once done (NULL before; iprev NULL when
 * not enabled). */
MOX_API int mox_msgauth_done(const mox_msgauth *m);
MOX_API const mox_spf *mox_msgauth_spf(const mox_msgauth *m);
MOX_API const mox_dkim_verifier *mox_msgauth_dkim(const mox_msgauth *m);
MOX_API const mox_dmarc *mox_msgauth_dmarc(const mox_msgauth *m);
MOX_API const mox_iprev *mox_msgauth_iprev(const mox_msgauth *m);

/* Appends the results to an Authentication-Results model, in the order
 * iprev, spf, dkim (one per signature, "dkim=none" for an unsigned
 * message), dmarc. MOX_ERR_STATE when not done. */
MOX_API int mox_msgauth_authres(const mox_msgauth *m, mox_authres *ar);

/* Appends the complete field "Authentication-Results: ID;\r\n\t...\r\n". */
MOX_API int mox_msgauth_authres_header(const mox_msgauth *m, const char *authserv_id,
                                       mox_buf *out);

/* SPF / DKIM entries from the engines' results (used by the above). */
MOX_API int mox_msgauth_spf_authres(const mox_spf *s, mox_authres *ar);
MOX_API int mox_msgauth_dkim_authres(const mox_dkim_verifier *v, mox_authres *ar);

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
