/* moxd server internals shared by server.c and session.c. */
#ifndef MOXD_SERVER_H
#define MOXD_SERVER_H

#include <stddef.h>

#include "moxd.h"
#include "pool.h"

enum { TAG_LISTENER = 1, TAG_CONN, TAG_SIGNAL, TAG_POOL };
enum { MOXD_METRICS = 3 };
enum { TLS_NONE = 0, TLS_HANDSHAKE, TLS_ACTIVE };

#define MOXD_IPTAB 1024

typedef struct moxd_ipstat {
    char ip[64];
    unsigned conns;
    unsigned new_min;
    int64_t new_min_start;
    unsigned authfail_min, authfail_day;
    int64_t authfail_min_start, authfail_day_start;
    struct moxd_ipstat *next;
} moxd_ipstat;

typedef struct moxd_listener {
    int tag;
    int fd;
    int kind;
    int port;
    char addr[64];
    mox_tls_config *tls;
} moxd_listener;

typedef struct moxd_server moxd_server;

typedef struct moxd_conn {
    int tag;
    moxd_server *srv;
    moxd_listener *l;
    int fd;
    int kind;
    int http;
    unsigned events;
    char ip[64];
    char local_ip[64];
    char cid[24];
    mox_tls_socket *tls;
    int tls_state;
    int implicit_started;
    mox_smtp_server *s;
    unsigned char in[16384];
    size_t in_len;
    int eof;
    int64_t deadline;
    int64_t timer;
    int jobs;            /* outstanding worker jobs / DNS queries */
    int dead;            /* closed while jobs were out */
    int deferred;        /* a decision is being computed */
    int closing;
    int auth_exchange;   /* trace: redact client lines */
    int in_data;
    moxd_account *account; /* authenticated account (submission) */
    /* transaction */
    char *mail_from;     /* lower-case address, "" for <> */
    moxd_account **targets;
    size_t ntargets;
    mox_buf msg;
    int msg_failed;
    mox_msgauth *ma;
    int dns_pending;
    int in_query;
    int ma_orphan;       /* transaction gone while a query was out */
    int start_checks;    /* data end deferred: run the checks from the loop */
    int running, rerun;  /* moxd_conn_run re-entry guard */
    mox_buf prefix;      /* headers added before the message (submission) */
    mox_buf out_http;
    struct moxd_conn *prev, *next;
} moxd_conn;

struct moxd_server {
    moxd_config *cfg;
    int ep;
    int sigfd;
    int sig_tag, pool_tag;
    moxd_listener *ls;
    size_t nls;
    moxd_conn *conns;
    size_t nconns;
    unsigned long long cid_seq;
    mox_logger logger;
    mox_metrics msink;
    moxd_metrics *metrics;
    mox_env env;
    mox_resolver resolver;
    mox_dns_zone *zone;
    moxd_pool *pool;
    mox_sasl_credentials creds;
    moxd_ipstat *iptab[MOXD_IPTAB];
    int stopping;
};

int64_t moxd_now_ns(void);
void moxd_logf(moxd_server *srv, int level, const char *msg, const char *k1, const char *v1,
               const char *k2, const char *v2);
const char *moxd_kind_name(int kind);
void moxd_conn_run(moxd_conn *c);
void moxd_conn_close(moxd_conn *c);
void moxd_conn_unref(moxd_conn *c);
int moxd_channel_binding(void *ctx, mox_sasl_cb_type type, unsigned char *out, size_t *out_len);
moxd_account *moxd_account_by_spki(moxd_server *srv, const unsigned char spki[32]);
moxd_account *moxd_login_account(moxd_server *srv, const char *user);
int moxd_auth_blocked(moxd_server *srv, const char *ip);
void moxd_auth_failed(moxd_server *srv, const char *ip);

/* session.c */
int moxd_session_new(moxd_conn *c);
void moxd_txn_clear(moxd_conn *c);
void moxd_system_resolver(moxd_server *srv, mox_resolver *r);
void moxd_session_tick(moxd_conn *c);

#endif
