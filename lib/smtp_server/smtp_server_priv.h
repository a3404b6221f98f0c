/* Private definitions of the SMTP server engine. */
#ifndef MOX_SMTP_SERVER_PRIV_H
#define MOX_SMTP_SERVER_PRIV_H

#include "core/core_priv.h"
#include "engine/engine_priv.h"
#include "mox/smtp_server.h"
#include "smtp/smtp_priv.h"

/* What the input stream is currently made of. */
enum {
    PH_NEW = 0,    /* before the greeting (or the implicit TLS handshake) */
    PH_CMD,        /* command lines */
    PH_AUTH,       /* AUTH continuation lines */
    PH_DATA,       /* DATA body up to CRLF.CRLF */
    PH_BDAT,       /* BDAT chunk octets */
    PH_TLS,        /* STARTTLS accepted: plaintext is discarded */
    PH_NOSERVICE,  /* 554 greeting: only QUIT */
    PH_CLOSED
};

/* DATA scanner states (data.c). */
enum {
    D_BOL = 0,  /* at the start of a line */
    D_MID,      /* inside a line */
    D_CR,       /* after a CR inside a line */
    D_DOT,      /* line started with "." */
    D_DOT_CR,   /* line is "." CR */
    D_NUL,      /* line so far is only NUL bytes */
    D_NULDOT,   /* NULs then "." */
    D_NULDOT_CR /* NULs "." CR */
};

/* Header scanner states. */
enum { H_BOL = 0, H_NAME, H_LINE, H_EMPTY_CR, H_DONE };

/* Output released later: bytes [start, end) (absolute output offsets)
 * become available at t1 (all at once), or spread evenly over [t0, t1). */
typedef struct moxi_smtp_seg {
    uint64_t start, end;
    int64_t t0, t1;
    int slow;
} moxi_smtp_seg;

struct mox_smtp_server {
    mox_engine eng; /* the generic view (mox_smtp_server_engine) */
    mox_smtp_server_config cfg; /* defaults filled in (0 = none inside for
                                   max_message_size and max_rcpts) */
    mox_smtp_server_callbacks cb;
    unsigned ext;               /* MOX_SMTP_EXT_* offered */
    void *user;
    char *hostname, *conn_id, *remote_ip, *local_ip, *greeting;

    int phase;
    int pending; /* MOX_SMTP_SERVER_DECIDE_* awaited */
    uint32_t pending_id; /* its id */
    uint32_t last_id;    /* last decision id handed out */
    int asking;          /* kind being asked inside a callback (NONE: none) */
    uint32_t asking_id;
    int in_cb;           /* inside a callback: no re-entry */
    int early;           /* decide() was called inside the asking callback */
    mox_smtp_server_reply *early_r; /* its reply (allocated on first use) */
    int broken;       /* allocation failed: session unusable */
    int closing;      /* close once the current reply is queued */
    int started;      /* the greeting was asked for */
    int tls_wait;     /* implicit TLS: the handshake is still to come */
    int eof;          /* the peer closed; end once the input is processed */
    int end_reason;   /* MOX_SMTP_SERVER_END_* for the coming close */
    mox_smtp_server_outcome result;

    /* Deadlines: monotonic ns of the start of each running wait, -1 when
     * not running (see deadline()). */
    int64_t last_tick;   /* latest tick(now): time never goes back */
    int64_t t_start;     /* the session */
    int64_t wait_start;  /* waiting for a command line */
    int64_t data_start;  /* a message (DATA, or BDAT to LAST) */
    int data_temp;       /* data_start only for a refused BDAT chunk */
    int64_t tls_start;   /* the TLS handshake (and writing the 220 before it) */
    int64_t close_start; /* writing the last replies after the end */
    int64_t held_until;  /* when the last held-back reply is released */
    size_t given;        /* output bytes handed out by the last output() */

    mox_buf in;       /* input held while paused (<= max_pending) */
    mox_buf line;     /* incomplete command line */
    int line_overflow;

    mox_buf out;
    uint64_t out_base; /* absolute offset of out.data[0] */
    moxi_smtp_seg *segs;
    size_t nsegs, capsegs;

    mox_smtp_server_session sess;
    char *hello;
    /* TLS as reported by the embedder (tls_info is the session view's):
     * strings and channel bindings copied here. cert_user is the identity
     * authorised for the client certificate (SASL EXTERNAL). */
    mox_tls_info tls_info;
    char *tls_cipher, *tls_sni, *cert_user;
    unsigned char cb_unique[64], cb_exporter[64];
    size_t cb_unique_len, cb_exporter_len;
    char *auth_user;
    char *verify_arg;     /* VRFY/EXPN argument while deferred */
    int verify_expn;
    int hello_is_ehlo;    /* kind of the deferred HELO/EHLO */
    char *hello_pending;

    mox_sasl_channel chan;
    mox_sasl_server_config sasl_cfg;
    mox_sasl_server *sasl;
    int auth_lookup_wait;  /* SASL lookup said "later" */
    int auth_final_wait;   /* sent SCRAM server-final, awaiting "" */
    unsigned tls_cb_types;
    int (*tls_binding)(void *, mox_sasl_cb_type, unsigned char *, size_t *);
    void *tls_binding_ctx;

    int in_txn;
    /* RFC 2920 §3.1: a pipelining client sends RCPTs and DATA/BDAT without
     * waiting for MAIL's reply, and DATA without knowing whether any RCPT
     * was accepted. The 503s those get are its correct conduct, not
     * protocol errors: they are not counted toward max_errors. */
    int mail_refused;  /* the last MAIL was refused; until the batch ends */
    int rcpt_tried;    /* a RCPT was given in the open transaction */
    mox_smtp_server_txn txn;
    size_t rcpt_cap;
    mox_smtp_server_rcpt pend_rcpt; /* RCPT awaiting its decision */

    /* data */
    int data_started;  /* on_data_start accepted for this transaction */
    int dstate;
    int bol_bare;      /* the line began after a bare LF */
    unsigned nuls;     /* NULs held back at D_NUL */
    int dfail;         /* transaction failed while receiving */
    int dfail_code;
    int dfail_rank;
    const char *dfail_enh, *dfail_text;
    int hstate;
    char hname[16];
    size_t hname_len;
    uint64_t bdat_left;
    uint64_t bdat_size;
    int bdat_last;
    int bdat_discard;    /* consume the chunk, then answer `held` */
    int bdat_count_error;
    mox_smtp_server_reply held;
};

/* session.c */
void moxi_smtp_reply(mox_smtp_server *s, int code, const char *enh,
                     const char *text);
void moxi_smtp_replyf(mox_smtp_server *s, int code, const char *enh,
                      const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 4, 5)))
#endif
    ;
void moxi_smtp_error(mox_smtp_server *s, int code, const char *enh,
                     const char *text);
void moxi_smtp_queue_reply(mox_smtp_server *s, const mox_smtp_server_reply *r, int with_enh);
void moxi_smtp_hold(mox_smtp_server *s, uint64_t start, uint64_t end,
                    uint32_t delay_ms, int slow);
void moxi_smtp_raw(mox_smtp_server *s, const char *p, size_t n);
/* Before a decision callback: gives the decision its id (so the callback
 * can read it with mox_smtp_server_pending and decide inside). */
void moxi_smtp_ask(mox_smtp_server *s, int kind);
/* After it: applies the reply, defers, or takes a decide() made inside. */
void moxi_smtp_decide(mox_smtp_server *s, int kind, int rc, mox_smtp_server_reply *r);
/* The session's monotonic time now (env clock, never before the last tick). */
int64_t moxi_smtp_now(const mox_smtp_server *s);
void moxi_smtp_default(mox_smtp_server_reply *r, int code, const char *enh, const char *text);
void moxi_smtp_close(mox_smtp_server *s);
void moxi_smtp_resume(mox_smtp_server *s);
int moxi_smtp_tls_set(mox_smtp_server *s, const mox_tls_info *info);
void moxi_smtp_txn_reset(mox_smtp_server *s, int reason);
void moxi_smtp_txn_clear(mox_smtp_server *s);
void moxi_smtp_rcpt_clear(mox_smtp_server_rcpt *r);
void moxi_smtp_log(mox_smtp_server *s, int level, const char *msg,
                   const char *k1, const char *v1, const char *k2,
                   const char *v2);
void moxi_smtp_count(mox_smtp_server *s, const char *name,
                     const char *label, const char *value);
int64_t moxi_smtp_now_wall_s(const mox_smtp_server *s);

/* command.c */
size_t moxi_smtp_lines(mox_smtp_server *s, const unsigned char *p, size_t n);
void moxi_smtp_apply(mox_smtp_server *s, int kind, mox_smtp_server_reply *r);

/* data.c */
void moxi_smtp_data_begin(mox_smtp_server *s);
size_t moxi_smtp_data(mox_smtp_server *s, const unsigned char *p, size_t n);
void moxi_smtp_bdat_begin(mox_smtp_server *s);
size_t moxi_smtp_bdat(mox_smtp_server *s, const unsigned char *p, size_t n);
void moxi_smtp_data_finish(mox_smtp_server *s);
void moxi_smtp_data_end_apply(mox_smtp_server *s, mox_smtp_server_reply *r);

/* auth.c */
void moxi_smtp_auth_cmd(mox_smtp_server *s, const char *arg, size_t len);
void moxi_smtp_auth_line(mox_smtp_server *s, const char *line, size_t len);
void moxi_smtp_auth_apply(mox_smtp_server *s, mox_smtp_server_reply *r);
int moxi_smtp_auth_mechs(mox_smtp_server *s, mox_buf *out);
void moxi_smtp_auth_abort(mox_smtp_server *s);
void moxi_smtp_auth_sasl_config(mox_smtp_server *s, mox_sasl_server_config *c);

#endif
