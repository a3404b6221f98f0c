/* moxd configuration: YAML (libyaml document API), validated with
 * "FILE:LINE: problem" messages. See docs/moxd.md for the format. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "moxd.h"

typedef struct cctx {
    const char *file;
    FILE *errs;
    int nerr;
    yaml_document_t *doc;
    moxd_config *c;
} cctx;

static void problem(cctx *x, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem_at(cctx *x, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One line per problem, whatever the configuration's keys and values
 * contain: control bytes (a quoted "\n" in a key) come out as \xNN. */
static void vproblem(cctx *x, unsigned long line, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fprintf(x->errs, "%s:%lu: ", x->file, line);
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(x->errs, "\\x%02x", *p);
        else
            fputc(*p, x->errs);
    }
    fputc('\n', x->errs);
    x->nerr++;
}

static void problem(cctx *x, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vproblem(x, n ? (unsigned long)n->start_mark.line + 1 : 1UL, fmt, ap);
    va_end(ap);
}

static void problem_at(cctx *x, unsigned long line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vproblem(x, line, fmt, ap);
    va_end(ap);
}

/* Files named by the configuration must be regular and of sane size:
 * "/dev/zero" or a FIFO would otherwise hang config check and startup. */
#define MAX_CONFIG_FILE (16u << 20)

static int plain_file(cctx *x, const yaml_node_t *n, const char *what, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        problem(x, n, "%s %s: %s", what, path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        problem(x, n, "%s %s: not a regular file", what, path);
        return -1;
    }
    if ((unsigned long long)st.st_size > MAX_CONFIG_FILE) {
        problem(x, n, "%s %s: larger than %u bytes", what, path, MAX_CONFIG_FILE);
        return -1;
    }
    return 0;
}

char *moxd_strdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) {
        fputs("moxd: out of memory\n", stderr);
        exit(1);
    }
    return d;
}

void moxd_lower(char *s)
{
    for (; s && *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s + 32);
}

char *moxd_path_join(const char *dir, const char *rel)
{
    if (!rel)
        return NULL;
    if (rel[0] == '/' || !dir || !*dir)
        return moxd_strdup(rel);
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);
    if (!p)
        return moxd_strdup(rel);
    snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

char *moxd_path_addr(const mox_path *p)
{
    if (p->is_null)
        return moxd_strdup("");
    mox_buf b = MOX_BUF_INIT;
    if (p->is_postmaster)
        mox_buf_append_str(&b, "postmaster");
    else
        mox_mailbox_format(&p->mailbox, 0, &b);
    char *s = moxd_strdup(b.data ? (char *)b.data : "");
    mox_buf_free(&b);
    /* The local part keeps its case in storage addresses only when quoted;
     * addresses are compared case-insensitively here (as mox does by
     * default). */
    moxd_lower(s);
    return s;
}

static const char *scalar(cctx *x, yaml_node_t *n, const char *what)
{
    if (!n || n->type != YAML_SCALAR_NODE) {
        problem(x, n, "%s: expected a single value", what);
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

static int get_bool(cctx *x, yaml_node_t *n, const char *what, int *out)
{
    const char *s = scalar(x, n, what);
    if (!s)
        return -1;
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
        *out = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
        *out = 0;
    else {
        problem(x, n, "%s: expected true or false, not %s", what, s);
        return -1;
    }
    return 0;
}

static int get_uint(cctx *x, yaml_node_t *n, const char *what, unsigned long long max,
                    unsigned long long *out)
{
    const char *s = scalar(x, n, what);
    if (!s)
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned long long mult = 1;
    if (end != s && *end) {
        if (!strcmp(end, "k") || !strcmp(end, "K") || !strcmp(end, "KB"))
            mult = 1024;
        else if (!strcmp(end, "m") || !strcmp(end, "M") || !strcmp(end, "MB"))
            mult = 1024 * 1024;
        else if (!strcmp(end, "g") || !strcmp(end, "G") || !strcmp(end, "GB"))
            mult = 1024ULL * 1024 * 1024;
        else
            mult = 0;
    }
    if (end == s || s[0] == '-' || errno || mult == 0 || v > max / mult) {
        problem(x, n, "%s: expected a number up to %llu, not %s", what, max, s);
        return -1;
    }
    *out = v * mult;
    return 0;
}

static yaml_node_t *node(cctx *x, int i) { return yaml_document_get_node(x->doc, i); }

/* Iterates a mapping, calling f for each key. libyaml accepts a key twice
 * in a mapping; here that is an error (which of the two would win is a
 * guess the reader should not have to make). */
typedef void (*map_fn)(cctx *x, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg);

static void each_pair(cctx *x, yaml_node_t *m, const char *what, map_fn f, void *arg)
{
    if (!m || m->type != YAML_MAPPING_NODE) {
        problem(x, m, "%s: expected a mapping (key: value lines)", what);
        return;
    }
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(x, p->key), *v = node(x, p->value);
        const char *ks = scalar(x, k, what);
        if (!ks)
            continue;
        yaml_node_t *dup = NULL;
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p && !dup; q++) {
            yaml_node_t *e = node(x, q->key);
            if (e && e->type == YAML_SCALAR_NODE && e->data.scalar.length == k->data.scalar.length &&
                !memcmp(e->data.scalar.value, k->data.scalar.value, k->data.scalar.length))
                dup = e;
        }
        if (dup)
            problem(x, k, "%s: %s given twice (first at line %lu)", what, ks,
                    (unsigned long)dup->start_mark.line + 1);
        else
            f(x, ks, k, v, arg);
    }
}

static int seq_len(cctx *x, yaml_node_t *n, const char *what)
{
    if (!n || n->type != YAML_SEQUENCE_NODE) {
        problem(x, n, "%s: expected a list", what);
        return -1;
    }
    return (int)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static yaml_node_t *seq_item(cctx *x, yaml_node_t *n, int i)
{
    return node(x, n->data.sequence.items.start[i]);
}

static char **string_list(cctx *x, yaml_node_t *n, const char *what, size_t *count, int lower)
{
    *count = 0;
    if (n && n->type == YAML_SCALAR_NODE) {
        char **l = calloc(1, sizeof *l);
        l[0] = moxd_strdup((const char *)n->data.scalar.value);
        if (lower)
            moxd_lower(l[0]);
        *count = 1;
        return l;
    }
    int len = seq_len(x, n, what);
    if (len <= 0)
        return NULL;
    char **l = calloc((size_t)len, sizeof *l);
    for (int i = 0; i < len; i++) {
        const char *s = scalar(x, seq_item(x, n, i), what);
        l[(*count)++] = moxd_strdup(s);
        if (lower)
            moxd_lower(l[*count - 1]);
    }
    return l;
}

static int valid_addr(const char *a)
{
    mox_mailbox mb;
    memset(&mb, 0, sizeof mb);
    int rc = mox_mailbox_parse(a, strlen(a), MOX_PATH_SMTPUTF8, &mb, NULL);
    mox_mailbox_clear(&mb);
    return rc == MOX_OK;
}

/* ---------------------------------------------------------------- sections */

static void f_listener(cctx *x, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    moxd_listener_cfg *l = arg;
    unsigned long long u;
    if (!strcmp(key, "kind")) {
        const char *s = scalar(x, v, "kind");
        if (!s)
            return;
        if (!strcmp(s, "smtp"))
            l->kind = MOXD_SMTP;
        else if (!strcmp(s, "submission"))
            l->kind = MOXD_SUBMISSION;
        else if (!strcmp(s, "submissions"))
            l->kind = MOXD_SUBMISSIONS;
        else
            problem(x, v, "listener kind must be smtp, submission or submissions, not %s", s);
    } else if (!strcmp(key, "address")) {
        const char *s = scalar(x, v, "address");
        if (s) {
            free(l->address);
            l->address = moxd_strdup(s);
        }
    } else if (!strcmp(key, "port")) {
        if (get_uint(x, v, "port", 65535, &u) == 0)
            l->port = (int)u;
    } else if (!strcmp(key, "session_tickets")) {
        get_bool(x, v, "session_tickets", &l->tickets);
    } else {
        problem(x, k, "unknown listener option %s", key);
    }
}

static void f_dkim(cctx *x, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    moxd_dkim_key *d = arg;
    if (!strcmp(key, "selector")) {
        const char *s = scalar(x, v, "selector");
        if (s)
            d->selector = moxd_strdup(s);
    } else if (!strcmp(key, "key")) {
        const char *s = scalar(x, v, "key");
        if (s)
            d->path = moxd_path_join(x->c->dir, s);
    } else {
        problem(x, k, "unknown dkim option %s", key);
    }
}

static void f_domain_opt(cctx *x, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    moxd_domain *d = arg;
    if (!strcmp(key, "dkim")) {
        int n = seq_len(x, v, "dkim");
        if (n <= 0)
            return;
        d->dkim = calloc((size_t)n, sizeof *d->dkim);
        for (int i = 0; i < n; i++) {
            yaml_node_t *it = seq_item(x, v, i);
            moxd_dkim_key *dk = &d->dkim[d->ndkim++];
            each_pair(x, it, "dkim key", f_dkim, dk);
            if (!dk->selector || !dk->path) {
                problem(x, it, "dkim key needs selector and key");
                continue;
            }
            if (plain_file(x, it, "dkim key", dk->path))
                continue;
            mox_buf b = MOX_BUF_INIT;
            FILE *f = fopen(dk->path, "rb");
            char tmp[4096];
            size_t r;
            if (!f) {
                problem(x, it, "dkim key %s: %s", dk->path, strerror(errno));
                continue;
            }
            while ((r = fread(tmp, 1, sizeof tmp, f)) > 0)
                mox_buf_append(&b, tmp, r);
            fclose(f);
            mox_errinfo ei;
            mox_errinfo_clear(&ei);
            if (mox_dkim_privkey_load(b.data, b.len, NULL, &dk->key, &ei) != MOX_OK)
                problem(x, it, "dkim key %s: %s", dk->path, ei.msg);
            mox_buf_free(&b);
        }
    } else {
        problem(x, k, "unknown domain option %s", key);
    }
}

static void f_domains(cctx *x, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    (void)arg;
    moxd_config *c = x->c;
    mox_domain dom;
    memset(&dom, 0, sizeof dom);
    mox_errinfo ei;
    if (mox_domain_parse(key, strlen(key), 0, &dom, &ei) != MOX_OK) {
        problem(x, k, "domain %s: %s", key, ei.msg);
        return;
    }
    c->domains = realloc(c->domains, (c->ndomains + 1) * sizeof *c->domains);
    moxd_domain *d = &c->domains[c->ndomains++];
    memset(d, 0, sizeof *d);
    d->name = moxd_strdup(dom.ascii);
    moxd_lower(d->name);
    mox_domain_clear(&dom);
    if (v && v->type == YAML_SCALAR_NODE && !v->data.scalar.length)
        return; /* "example.org:" with nothing */
    each_pair(x, v, "domain", f_domain_opt, d);
}

static void f_account_opt(cctx *x, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    moxd_account *a = arg;
    unsigned long long u;
    if (!strcmp(key, "credentials")) {
        const char *s = scalar(x, v, "credentials");
        if (!s)
            return;
        mox_errinfo ei;
        a->secrets.size = sizeof a->secrets;
        if (mox_sasl_secrets_parse(s, strlen(s), &a->secrets, &ei) != MOX_OK)
            problem(x, v, "credentials: %s (use the output of mox password derive)", ei.msg);
        else
            a->has_secrets = 1;
    } else if (!strcmp(key, "addresses")) {
        a->addresses = string_list(x, v, "addresses", &a->naddresses, 1);
        for (size_t i = 0; i < a->naddresses; i++)
            if (!valid_addr(a->addresses[i]))
                problem(x, v, "address %s is not a valid local@domain", a->addresses[i]);
    } else if (!strcmp(key, "maildir")) {
        const char *s = scalar(x, v, "maildir");
        if (s)
            a->maildir = moxd_path_join(x->c->dir, s);
    } else if (!strcmp(key, "quota")) {
        if (get_uint(x, v, "quota", UINT64_MAX, &u) == 0)
            a->quota = u;
    } else if (!strcmp(key, "catchall")) {
        get_bool(x, v, "catchall", &a->catchall);
    } else if (!strcmp(key, "tls_public_keys")) {
        size_t n;
        char **l = string_list(x, v, "tls_public_keys", &n, 1);
        a->tls_keys = calloc(n ? n : 1, 32);
        for (size_t i = 0; i < n; i++) {
            const char *s = l[i];
            mox_buf b = MOX_BUF_INIT;
            if (strlen(s) == 64 && mox_hex_decode(s, 64, &b, NULL) == MOX_OK && b.len == 32) {
                memcpy(a->tls_keys[a->ntls_keys++], b.data, 32);
            } else {
                /* else a certificate file */
                char *p = moxd_path_join(x->c->dir, l[i]);
                struct stat st;
                FILE *f = stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
                                  (unsigned long long)st.st_size <= MAX_CONFIG_FILE
                              ? fopen(p, "rb")
                              : NULL;
                mox_buf_reset(&b);
                char tmp[4096];
                size_t r;
                if (f) {
                    while ((r = fread(tmp, 1, sizeof tmp, f)) > 0)
                        mox_buf_append(&b, tmp, r);
                    fclose(f);
                }
                mox_errinfo ei;
                if (!f)
                    problem(x, v, "tls_public_keys: %s is neither 64 hex digits (SHA-256 of "
                                  "the SubjectPublicKeyInfo) nor a readable certificate file",
                            s);
                else if (mox_tls_cert_spki_sha256(b.data, b.len, a->tls_keys[a->ntls_keys],
                                                  &ei) != MOX_OK)
                    problem(x, v, "tls_public_keys: %s: %s", p, ei.msg);
                else
                    a->ntls_keys++;
                free(p);
            }
            mox_buf_free(&b);
            free(l[i]);
        }
        free(l);
    } else {
        problem(x, k, "unknown account option %s", key);
    }
}

static void f_accounts(cctx *x, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    (void)arg;
    moxd_config *c = x->c;
    c->accounts = realloc(c->accounts, (c->naccounts + 1) * sizeof *c->accounts);
    moxd_account *a = &c->accounts[c->naccounts++];
    memset(a, 0, sizeof *a);
    a->line = (int)k->start_mark.line + 1;
    a->name = moxd_strdup(key);
    each_pair(x, v, "account", f_account_opt, a);
    if (!a->naddresses)
        problem(x, v, "account %s has no addresses", key);
    if (!a->maildir) {
        char rel[300];
        snprintf(rel, sizeof rel, "accounts/%s/Maildir", key);
        a->maildir = moxd_path_join(c->dir, rel);
    }
}

static void f_alias_opt(cctx *x, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    moxd_alias *a = arg;
    if (!strcmp(key, "members"))
        a->members = string_list(x, v, "members", &a->nmembers, 1);
    else if (!strcmp(key, "post_public"))
        get_bool(x, v, key, &a->post_public);
    else if (!strcmp(key, "list_members"))
        get_bool(x, v, key, &a->list_members);
    else if (!strcmp(key, "allow_msg_from"))
        get_bool(x, v, key, &a->allow_msg_from);
    else
        problem(x, k, "unknown alias option %s", key);
}

static void f_aliases(cctx *x, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    (void)arg;
    moxd_config *c = x->c;
    c->aliases = realloc(c->aliases, (c->naliases + 1) * sizeof *c->aliases);
    moxd_alias *a = &c->aliases[c->naliases++];
    memset(a, 0, sizeof *a);
    a->line = (int)k->start_mark.line + 1;
    a->address = moxd_strdup(key);
    moxd_lower(a->address);
    if (!valid_addr(a->address))
        problem(x, k, "alias %s is not a valid local@domain", key);
    each_pair(x, v, "alias", f_alias_opt, a);
    if (!a->nmembers)
        problem(x, v, "alias %s has no members", key);
}

static void f_limits(cctx *x, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    (void)arg;
    moxd_config *c = x->c;
    unsigned long long u;
    unsigned *dst = NULL;
    if (!strcmp(key, "connections_per_ip"))
        dst = &c->conn_per_ip;
    else if (!strcmp(key, "new_connections_per_minute"))
        dst = &c->conn_rate_per_ip;
    else if (!strcmp(key, "auth_failures_per_minute"))
        dst = &c->auth_fail_minute;
    else if (!strcmp(key, "auth_failures_per_day"))
        dst = &c->auth_fail_day;
    else if (!strcmp(key, "command_timeout"))
        dst = &c->cmd_timeout;
    else if (!strcmp(key, "data_timeout"))
        dst = &c->data_timeout;
    else if (!strcmp(key, "session_timeout"))
        dst = &c->session_timeout;
    else if (!strcmp(key, "stress_connections"))
        dst = &c->stress_connections;
    else if (!strcmp(key, "stress_command_timeout"))
        dst = &c->stress_cmd_timeout;
    else if (!strcmp(key, "stress_data_timeout"))
        dst = &c->stress_data_timeout;
    else if (!strcmp(key, "stress_session_timeout"))
        dst = &c->stress_session_timeout;
    else if (!strcmp(key, "unknown_recipient_delay_ms"))
        dst = &c->unknown_rcpt_delay_ms;
    else if (!strcmp(key, "workers"))
        dst = &c->workers;
    else if (!strcmp(key, "max_message_size")) {
        if (get_uint(x, v, key, 1ULL << 40, &u) == 0)
            c->max_message_size = u;
        return;
    } else {
        problem(x, k, "unknown limit %s", key);
        return;
    }
    if (get_uint(x, v, key, 100000000, &u) == 0)
        *dst = (unsigned)u;
}

static void f_metrics(cctx *x, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    (void)arg;
    unsigned long long u;
    if (!strcmp(key, "address")) {
        const char *s = scalar(x, v, key);
        if (s) {
            free(x->c->metrics_address);
            x->c->metrics_address = moxd_strdup(s);
        }
    } else if (!strcmp(key, "port")) {
        if (get_uint(x, v, key, 65535, &u) == 0)
            x->c->metrics_port = (int)u;
    } else {
        problem(x, k, "unknown metrics option %s", key);
    }
}

static void f_cert(cctx *x, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    char **pair = arg;
    const char *s = scalar(x, v, key);
    if (!s)
        return;
    if (!strcmp(key, "cert"))
        pair[0] = moxd_path_join(x->c->dir, s);
    else if (!strcmp(key, "key"))
        pair[1] = moxd_path_join(x->c->dir, s);
    else
        problem(x, k, "unknown certificate option %s", key);
}

static void f_tls(cctx *x, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    (void)arg;
    moxd_config *c = x->c;
    if (strcmp(key, "certificates")) {
        problem(x, k, "unknown tls option %s", key);
        return;
    }
    int n = seq_len(x, v, "certificates");
    for (int i = 0; i < n; i++) {
        yaml_node_t *it = seq_item(x, v, i);
        char *pair[2] = {NULL, NULL};
        each_pair(x, it, "certificate", f_cert, pair);
        if (!pair[0] || !pair[1]) {
            problem(x, it, "a certificate needs cert and key");
            free(pair[0]);
            free(pair[1]);
            continue;
        }
        /* Check now, so config check reports it with a line. */
        mox_tls_server_options o = MOX_TLS_SERVER_OPTIONS_INIT;
        mox_tls_config *tc = NULL;
        mox_errinfo ei;
        if (plain_file(x, it, "certificate", pair[0]) == 0 && plain_file(x, it, "key", pair[1]) == 0 &&
            (mox_tls_config_new_server(&tc, &o, &ei) != MOX_OK ||
             mox_tls_config_add_cert_file(tc, pair[0], pair[1], &ei) != MOX_OK))
            problem(x, it, "certificate: %s", ei.msg);
        mox_tls_config_free(tc);
        c->cert_files = realloc(c->cert_files, (c->ncerts + 1) * sizeof(char *));
        c->key_files = realloc(c->key_files, (c->ncerts + 1) * sizeof(char *));
        c->cert_files[c->ncerts] = pair[0];
        c->key_files[c->ncerts++] = pair[1];
    }
}

static void f_top(cctx *x, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    (void)arg;
    moxd_config *c = x->c;
    if (!strcmp(key, "hostname")) {
        const char *s = scalar(x, v, key);
        mox_domain d;
        mox_errinfo ei;
        memset(&d, 0, sizeof d);
        if (!s)
            return;
        if (mox_domain_parse(s, strlen(s), 0, &d, &ei) != MOX_OK) {
            problem(x, v, "hostname %s: %s", s, ei.msg);
            return;
        }
        c->hostname = moxd_strdup(d.ascii);
        moxd_lower(c->hostname);
        mox_domain_clear(&d);
    } else if (!strcmp(key, "localserve")) {
        get_bool(x, v, key, &c->localserve);
    } else if (!strcmp(key, "log_level")) {
        const char *s = scalar(x, v, key);
        if (!s)
            return;
        if (!strcmp(s, "trace"))
            c->log_level = MOX_LOG_TRACE;
        else if (!strcmp(s, "debug"))
            c->log_level = MOX_LOG_DEBUG;
        else if (!strcmp(s, "info"))
            c->log_level = MOX_LOG_INFO;
        else if (!strcmp(s, "warn"))
            c->log_level = MOX_LOG_WARN;
        else if (!strcmp(s, "error"))
            c->log_level = MOX_LOG_ERROR;
        else
            problem(x, v, "log_level must be trace, debug, info, warn or error, not %s", s);
    } else if (!strcmp(key, "dns_zone")) {
        const char *s = scalar(x, v, key);
        if (s) {
            c->dns_zone = moxd_path_join(c->dir, s);
            mox_dns_zone *z = NULL;
            mox_errinfo ei;
            if (plain_file(x, v, "dns_zone", c->dns_zone) == 0 && mox_dns_zone_new(&z) == MOX_OK &&
                mox_dns_zone_load_file(z, c->dns_zone, &ei) != MOX_OK)
                problem(x, v, "dns_zone: %s", ei.msg);
            mox_dns_zone_free(z);
        }
    } else if (!strcmp(key, "tls")) {
        each_pair(x, v, "tls", f_tls, NULL);
    } else if (!strcmp(key, "listeners")) {
        int n = seq_len(x, v, "listeners");
        if (n < 0)
            return;
        c->listeners = calloc((size_t)n + 1, sizeof *c->listeners);
        for (int i = 0; i < n; i++) {
            yaml_node_t *it = seq_item(x, v, i);
            moxd_listener_cfg *l = &c->listeners[c->nlisteners++];
            l->kind = -1;
            l->port = -1;
            l->line = (int)it->start_mark.line + 1;
            each_pair(x, it, "listener", f_listener, l);
            if (l->kind < 0)
                problem(x, it, "listener needs a kind (smtp, submission, submissions)");
            if (l->port < 0)
                l->port = l->kind == MOXD_SMTP ? 25 : l->kind == MOXD_SUBMISSION ? 587 : 465;
            if (!l->address)
                l->address = moxd_strdup("0.0.0.0");
        }
    } else if (!strcmp(key, "metrics")) {
        each_pair(x, v, "metrics", f_metrics, NULL);
    } else if (!strcmp(key, "limits")) {
        each_pair(x, v, "limits", f_limits, NULL);
    } else if (!strcmp(key, "domains")) {
        each_pair(x, v, "domains", f_domains, NULL);
    } else if (!strcmp(key, "accounts")) {
        each_pair(x, v, "accounts", f_accounts, NULL);
    } else if (!strcmp(key, "aliases")) {
        each_pair(x, v, "aliases", f_aliases, NULL);
    } else {
        problem(x, k, "unknown option %s", key);
    }
}

/* Cross-references: every address's domain is configured, every alias
 * member is an account address, no address twice. */
static void validate(cctx *x, yaml_node_t *root)
{
    moxd_config *c = x->c;
    if (!c->hostname)
        problem(x, root, "hostname is required");
    if (!c->nlisteners)
        problem(x, root, "at least one listener is required");
    int need_tls = 0;
    for (size_t i = 0; i < c->nlisteners; i++) {
        need_tls = 1;
        for (size_t j = 0; j < i; j++)
            if (c->listeners[j].port == c->listeners[i].port && c->listeners[i].port != 0 &&
                !strcmp(c->listeners[j].address, c->listeners[i].address)) {
                problem_at(x, (unsigned long)c->listeners[i].line,
                           "listener port %d is already used at line %d", c->listeners[i].port,
                           c->listeners[j].line);
            }
    }
    if (need_tls && !c->ncerts)
        problem(x, root, "tls: certificates are required (STARTTLS and submissions)");
    for (size_t i = 0; i < c->naccounts; i++) {
        moxd_account *a = &c->accounts[i];
        for (size_t j = 0; j < a->naddresses; j++) {
            const char *at = strrchr(a->addresses[j], '@');
            if (at && !moxd_config_domain(c, at + 1))
                problem_at(x, (unsigned long)a->line,
                           "account %s: domain of %s is not configured under domains", a->name,
                           a->addresses[j]);
            for (size_t k = 0; k < i; k++)
                for (size_t m = 0; m < c->accounts[k].naddresses; m++)
                    if (!strcmp(c->accounts[k].addresses[m], a->addresses[j]))
                        problem_at(x, (unsigned long)a->line,
                                   "address %s belongs to accounts %s (line %d) and %s",
                                   a->addresses[j], c->accounts[k].name, c->accounts[k].line,
                                   a->name);
        }
    }
    for (size_t i = 0; i < c->naliases; i++) {
        moxd_alias *al = &c->aliases[i];
        const char *at = strrchr(al->address, '@');
        if (at && !moxd_config_domain(c, at + 1))
            problem_at(x, (unsigned long)al->line, "alias %s: domain is not configured under domains",
                       al->address);
        if (moxd_config_account_by_address(c, al->address))
            problem_at(x, (unsigned long)al->line, "alias %s is also an account address", al->address);
        for (size_t j = 0; j < al->nmembers; j++)
            if (!moxd_config_account_by_address(c, al->members[j]))
                problem_at(x, (unsigned long)al->line, "alias %s: member %s is not an account address",
                           al->address, al->members[j]);
    }
}

int moxd_config_load(const char *path, moxd_config **out, FILE *errs)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(errs, "%s:0: %s\n", path, strerror(errno));
        return 1;
    }
    moxd_config *c = calloc(1, sizeof *c);
    c->path = moxd_strdup(path);
    char *abs = realpath(path, NULL);
    char *slash = abs ? strrchr(abs, '/') : NULL;
    if (slash) {
        *slash = 0;
        c->dir = moxd_strdup(*abs ? abs : "/");
    } else {
        c->dir = moxd_strdup(".");
    }
    free(abs);
    c->log_level = MOX_LOG_INFO;
    c->metrics_port = -1;
    c->conn_per_ip = 30;
    c->conn_rate_per_ip = 300;
    c->auth_fail_minute = 10;
    c->auth_fail_day = 50;
    /* timeouts: 0 = the engine's defaults (RFC 5321 §4.5.3.2); see
     * below for localserve */
    c->stress_connections = 1000;
    c->unknown_rcpt_delay_ms = 1000;
    c->max_message_size = 100ULL * 1024 * 1024;
    c->workers = 4;

    cctx x = {path, errs, 0, NULL, c};
    yaml_parser_t p;
    yaml_document_t doc;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    if (!yaml_parser_load(&p, &doc)) {
        fprintf(errs, "%s:%lu: %s%s%s\n", path, (unsigned long)p.problem_mark.line + 1,
                p.problem ? p.problem : "syntax error", p.context ? " " : "",
                p.context ? p.context : "");
        yaml_parser_delete(&p);
        fclose(f);
        moxd_config_free(c);
        return 1;
    }
    x.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        fprintf(errs, "%s:1: empty configuration\n", path);
        x.nerr++;
    } else {
        each_pair(&x, root, "configuration", f_top, NULL);
        validate(&x, root);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    fclose(f);
    if (x.nerr) {
        moxd_config_free(c);
        return x.nerr;
    }
    if (c->localserve) {
        /* Local testing: a stuck client should not hold a session for the
         * RFC's minutes. */
        if (!c->cmd_timeout)
            c->cmd_timeout = 30;
        if (!c->data_timeout)
            c->data_timeout = 120;
        if (!c->session_timeout)
            c->session_timeout = 1800;
    }
    *out = c;
    return 0;
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

void moxd_config_free(moxd_config *c)
{
    if (!c)
        return;
    free(c->path);
    free(c->dir);
    free(c->hostname);
    free(c->dns_zone);
    free_list(c->cert_files, c->ncerts);
    free_list(c->key_files, c->ncerts);
    for (size_t i = 0; i < c->nlisteners; i++)
        free(c->listeners[i].address);
    free(c->listeners);
    free(c->metrics_address);
    for (size_t i = 0; i < c->ndomains; i++) {
        for (size_t j = 0; j < c->domains[i].ndkim; j++) {
            free(c->domains[i].dkim[j].selector);
            free(c->domains[i].dkim[j].path);
            mox_dkim_privkey_free(c->domains[i].dkim[j].key);
        }
        free(c->domains[i].dkim);
        free(c->domains[i].name);
    }
    free(c->domains);
    for (size_t i = 0; i < c->naccounts; i++) {
        moxd_account *a = &c->accounts[i];
        free(a->name);
        mox_sasl_secrets_wipe(&a->secrets);
        free_list(a->addresses, a->naddresses);
        free(a->maildir);
        free(a->tls_keys);
    }
    free(c->accounts);
    for (size_t i = 0; i < c->naliases; i++) {
        free(c->aliases[i].address);
        free_list(c->aliases[i].members, c->aliases[i].nmembers);
    }
    free(c->aliases);
    free(c);
}

moxd_account *moxd_config_account_by_address(moxd_config *c, const char *addr)
{
    for (size_t i = 0; i < c->naccounts; i++)
        for (size_t j = 0; j < c->accounts[i].naddresses; j++)
            if (!strcmp(c->accounts[i].addresses[j], addr))
                return &c->accounts[i];
    return NULL;
}

moxd_account *moxd_config_account_by_name(moxd_config *c, const char *name)
{
    for (size_t i = 0; i < c->naccounts; i++)
        if (!strcmp(c->accounts[i].name, name))
            return &c->accounts[i];
    return NULL;
}

moxd_alias *moxd_config_alias(moxd_config *c, const char *addr)
{
    for (size_t i = 0; i < c->naliases; i++)
        if (!strcmp(c->aliases[i].address, addr))
            return &c->aliases[i];
    return NULL;
}

moxd_domain *moxd_config_domain(moxd_config *c, const char *domain)
{
    for (size_t i = 0; i < c->ndomains; i++)
        if (!strcasecmp(c->domains[i].name, domain))
            return &c->domains[i];
    return NULL;
}

moxd_account *moxd_config_catchall(moxd_config *c)
{
    for (size_t i = 0; i < c->naccounts; i++)
        if (c->accounts[i].catchall)
            return &c->accounts[i];
    return NULL;
}
