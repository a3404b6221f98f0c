/* moxd: the reference daemon. Private declarations shared by its files. */
#ifndef MOXD_H
#define MOXD_H

#include <stdint.h>
#include <stdio.h>

#include "mox/mox.h"

/* ---------------------------------------------------------------- config */

enum { MOXD_SMTP = 0, MOXD_SUBMISSION = 1, MOXD_SUBMISSIONS = 2 };

typedef struct moxd_listener_cfg {
    int kind;
    char *address;
    int port;          /* 0: ephemeral */
    int tickets;       /* TLS session tickets */
    int line;
} moxd_listener_cfg;

typedef struct moxd_dkim_key {
    char *selector;
    char *path;
    mox_dkim_privkey *key;
} moxd_dkim_key;

typedef struct moxd_domain {
    char *name; /* lower-case ASCII */
    moxd_dkim_key *dkim;
    size_t ndkim;
} moxd_domain;

typedef struct moxd_account {
    char *name;
    mox_sasl_secrets secrets;
    int has_secrets;
    char **addresses;  /* lower-case local@domain; the first is the login */
    size_t naddresses;
    char *maildir;     /* absolute */
    uint64_t quota;    /* bytes; 0: none */
    unsigned char (*tls_keys)[32];
    size_t ntls_keys;
    int catchall;      /* receives mail for unknown recipients */
    int line;          /* of its name in the configuration */
} moxd_account;

typedef struct moxd_alias {
    char *address;     /* lower-case local@domain */
    char **members;    /* addresses of accounts */
    size_t nmembers;
    int post_public;   /* anyone may send to it */
    int list_members;  /* members may see the member list (EXPN) */
    int allow_msg_from;/* members may send as the alias (MAIL FROM, From) */
    int line;          /* of its address in the configuration */
} moxd_alias;

typedef struct moxd_config {
    char *path;
    char *dir;           /* directory of the config file: relative paths */
    char *hostname;
    int localserve;
    int log_level;
    char *dns_zone;      /* answer DNS from this zone file (localserve) */
    char **cert_files, **key_files;
    size_t ncerts;
    moxd_listener_cfg *listeners;
    size_t nlisteners;
    char *metrics_address;
    int metrics_port;    /* -1: off */
    unsigned conn_per_ip, conn_rate_per_ip, auth_fail_minute, auth_fail_day;
    /* SMTP deadlines in seconds, 0: the engine's defaults (see config.c
     * for localserve's); stress limits past stress_connections open SMTP
     * connections (0: the engine's stress defaults). */
    unsigned cmd_timeout, data_timeout, session_timeout;
    unsigned stress_connections, stress_cmd_timeout, stress_data_timeout, stress_session_timeout;
    unsigned unknown_rcpt_delay_ms;
    uint64_t max_message_size;
    unsigned workers;
    moxd_domain *domains;
    size_t ndomains;
    moxd_account *accounts;
    size_t naccounts;
    moxd_alias *aliases;
    size_t naliases;
} moxd_config;

/* Loads and validates; every problem is printed to `errs` as
 * "FILE:LINE: problem". Returns 0 and *out, or the number of problems. */
int moxd_config_load(const char *path, moxd_config **out, FILE *errs);
void moxd_config_free(moxd_config *c);

/* Lookups (addresses lower case). */
moxd_account *moxd_config_account_by_address(moxd_config *c, const char *addr);
moxd_account *moxd_config_account_by_name(moxd_config *c, const char *name);
moxd_alias *moxd_config_alias(moxd_config *c, const char *addr);
moxd_domain *moxd_config_domain(moxd_config *c, const char *domain);
moxd_account *moxd_config_catchall(moxd_config *c);

/* ---------------------------------------------------------------- localserve */

typedef struct moxd_localserve_opts {
    const char *dir;
    int smtp_port, submission_port, submissions_port, metrics_port;
} moxd_localserve_opts;

/* Creates the directory on first start; returns the path of moxd.conf in
 * *conf (malloc'd). */
int moxd_localserve_init(const moxd_localserve_opts *o, char **conf, FILE *errs);

/* ---------------------------------------------------------------- server */

typedef struct moxd_run_opts {
    int print_ready;     /* print the "moxd ready" line */
    int override_ports;  /* use the ports below instead of the config's */
    int smtp_port, submission_port, submissions_port, metrics_port;
} moxd_run_opts;

int moxd_serve(moxd_config *cfg, const moxd_run_opts *o);

/* ---------------------------------------------------------------- metrics */

typedef struct moxd_metrics moxd_metrics;
int moxd_metrics_new(moxd_metrics **out);
void moxd_metrics_free(moxd_metrics *m);
void moxd_metrics_sink(moxd_metrics *m, mox_metrics *sink);
/* Appends the Prometheus text exposition. */
int moxd_metrics_render(moxd_metrics *m, mox_buf *out);
void moxd_metrics_gauge_set(moxd_metrics *m, const char *name, double v);

/* ---------------------------------------------------------------- maildir */

/* Writes `parts` (concatenated) as a new message in maildir/new: the file
 * is written in tmp/, fsynced, renamed into new/ and new/ is fsynced.
 * `unique` makes the name. 0 or -errno. Thread-safe. */
int moxd_maildir_deliver(const char *maildir, const void *const *parts, const size_t *lens,
                         size_t nparts, char *name_out, size_t name_cap);
/* Creates maildir and its tmp/new/cur. 0 or -errno. */
int moxd_maildir_create(const char *maildir);
/* Size in bytes of the messages in new/ and cur/. */
uint64_t moxd_maildir_usage(const char *maildir);

/* ---------------------------------------------------------------- util */

char *moxd_strdup(const char *s);
char *moxd_path_join(const char *dir, const char *rel);
void moxd_lower(char *s);
/* lower-case "local@domain" of a path (NULL for null/postmaster paths
 * without domain: then "postmaster"). malloc'd. */
char *moxd_path_addr(const mox_path *p);

#endif
