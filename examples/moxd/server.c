/* moxd event loop: listeners, connections (TLS and the SMTP engine),
 * limits, timeouts, metrics endpoint and shutdown. One thread runs the
 * loop; blocking work goes to the worker pool (pool.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

/* ---------------------------------------------------------------- helpers */

int64_t moxd_now_ns(void) { return mox_clock_mono_ns(NULL); }

void moxd_logf(moxd_server *srv, int level, const char *msg, const char *k1, const char *v1,
               const char *k2, const char *v2)
{
    if (level < srv->logger.min_level)
        return;
    mox_log_attr a[2];
    size_t n = 0;
    if (k1 && v1) {
        a[n].key = k1;
        a[n].value = v1;
        a[n++].value_len = strlen(v1);
    }
    if (k2 && v2) {
        a[n].key = k2;
        a[n].value = v2;
        a[n++].value_len = strlen(v2);
    }
    mox_log(&srv->logger, level, msg, a, n);
}

static void count(moxd_server *srv, const char *name, const char *label, const char *value)
{
    mox_metric_label l = {label, value};
    mox_metric_count(&srv->msink, name, label ? &l : NULL, label ? 1 : 0, 1);
}

/* ---------------------------------------------------------------- per-IP limits */

/* The unit the limits count: an IPv4 address, or an IPv6 /64 (one
 * subscriber's network: per address, one host could use 2^64 of them). */
static void limit_key(const char *ip, char *out, size_t n)
{
    unsigned char a[16];
    if (strchr(ip, ':') && inet_pton(AF_INET6, ip, a) == 1) {
        char t[INET6_ADDRSTRLEN];
        memset(a + 8, 0, 8);
        inet_ntop(AF_INET6, a, t, sizeof t);
        snprintf(out, n, "%s/64", t);
        return;
    }
    snprintf(out, n, "%s", ip);
}

/* Nothing left to remember: no connection and every window run out. */
static int ipstat_stale(const moxd_ipstat *s, int64_t now)
{
    const int64_t min = 60LL * 1000000000, day = 86400LL * 1000000000;
    return s->conns == 0 && (s->new_min == 0 || now - s->new_min_start >= min) &&
           (s->authfail_min == 0 || now - s->authfail_min_start >= min) &&
           (s->authfail_day == 0 || now - s->authfail_day_start >= day);
}

static moxd_ipstat *ipstat(moxd_server *srv, const char *ip)
{
    char key[sizeof ((moxd_ipstat *)0)->ip];
    limit_key(ip, key, sizeof key);
    unsigned h = 5381;
    for (const char *p = key; *p; p++)
        h = h * 33 + (unsigned char)*p;
    h %= MOXD_IPTAB;
    int64_t now = moxd_now_ns();
    /* Stale entries of the bucket go on the way, so the table holds only
     * addresses seen within the windows, not every address ever seen. */
    for (moxd_ipstat **pp = &srv->iptab[h]; *pp;) {
        moxd_ipstat *s = *pp;
        if (!strcmp(s->ip, key))
            return s;
        if (ipstat_stale(s, now)) {
            *pp = s->next;
            free(s);
        } else {
            pp = &s->next;
        }
    }
    moxd_ipstat *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->ip, sizeof s->ip, "%s", key);
    s->next = srv->iptab[h];
    srv->iptab[h] = s;
    return s;
}

static void window(unsigned *cnt, int64_t *start, int64_t now, int64_t len)
{
    if (now - *start >= len) {
        *start = now;
        *cnt = 0;
    }
}

int moxd_auth_blocked(moxd_server *srv, const char *ip)
{
    moxd_ipstat *s = ipstat(srv, ip);
    if (!s)
        return 0;
    int64_t now = moxd_now_ns();
    window(&s->authfail_min, &s->authfail_min_start, now, 60LL * 1000000000);
    window(&s->authfail_day, &s->authfail_day_start, now, 86400LL * 1000000000);
    return s->authfail_min >= srv->cfg->auth_fail_minute ||
           s->authfail_day >= srv->cfg->auth_fail_day;
}

void moxd_auth_failed(moxd_server *srv, const char *ip)
{
    moxd_ipstat *s = ipstat(srv, ip);
    if (!s)
        return;
    moxd_auth_blocked(srv, ip); /* roll the windows */
    s->authfail_min++;
    s->authfail_day++;
}

/* ---------------------------------------------------------------- epoll */

static void ep_set(moxd_server *srv, moxd_conn *c, unsigned ev)
{
    if (c->fd < 0 || ev == c->events)
        return;
    struct epoll_event e;
    memset(&e, 0, sizeof e);
    e.events = ev;
    e.data.ptr = &c->tag;
    if (epoll_ctl(srv->ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
        c->events = ev;
}

/* ---------------------------------------------------------------- connection I/O */

static void conn_free(moxd_conn *c)
{
    moxd_server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    moxd_txn_clear(c);
    mox_smtp_server_free(c->s);
    mox_tls_socket_free(c->tls);
    free(c->out_http.data);
    free(c);
}

void moxd_conn_close(moxd_conn *c)
{
    if (c->fd < 0)
        return;
    moxd_server *srv = c->srv;
    if (c->tls && c->tls_state == TLS_ACTIVE)
        mox_tls_socket_close(c->tls);
    epoll_ctl(srv->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    if (!c->http) {
        moxd_ipstat *s = ipstat(srv, c->ip);
        if (s && s->conns)
            s->conns--;
        count(srv, "moxd_connection_closed_total", "listener", moxd_kind_name(c->kind));
    }
    /* Work still out (DNS, delivery) holds the connection; its completion
     * frees it. So does a moxd_conn_run further up the stack. */
    c->dead = 1;
    if (c->jobs == 0 && !c->running)
        conn_free(c);
}

void moxd_conn_unref(moxd_conn *c)
{
    c->jobs--;
    if (c->dead && c->jobs == 0 && !c->running)
        conn_free(c);
}

static long raw_read(moxd_conn *c, void *buf, size_t n)
{
    if (c->tls)
        return (long)mox_tls_socket_read(c->tls, buf, n);
    ssize_t r = recv(c->fd, buf, n, 0);
    if (r < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? MOX_ERR_AGAIN
                                                                         : MOX_ERR_IO;
    return r;
}

static long raw_write(moxd_conn *c, const void *buf, size_t n)
{
    if (c->tls)
        return (long)mox_tls_socket_write(c->tls, buf, n);
    ssize_t r = send(c->fd, buf, n, MSG_NOSIGNAL);
    if (r < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? MOX_ERR_AGAIN
                                                                         : MOX_ERR_IO;
    return r;
}

/* Protocol trace at trace level, with AUTH exchanges redacted. */
static void trace(moxd_conn *c, const char *dir, const unsigned char *p, size_t n)
{
    moxd_server *srv = c->srv;
    if (srv->logger.min_level > MOX_LOG_TRACE)
        return;
    while (n > 0) {
        const unsigned char *e = memchr(p, '\n', n);
        size_t l = e ? (size_t)(e - p) + 1 : n;
        char line[200];
        size_t k = l;
        while (k > 0 && (p[k - 1] == '\n' || p[k - 1] == '\r'))
            k--;
        if (k >= sizeof line)
            k = sizeof line - 1;
        memcpy(line, p, k);
        line[k] = 0;
        if (dir[0] == 'C') {
            if (c->in_data) {
                line[0] = 0; /* message content is not traced */
            } else if (c->auth_exchange) {
                snprintf(line, sizeof line, "***");
            } else if (k >= 5 && !strncasecmp(line, "AUTH ", 5)) {
                char *sp = strchr(line + 5, ' ');
                if (sp)
                    snprintf(sp, sizeof line - (size_t)(sp - line), " ***");
            }
        } else {
            c->auth_exchange = k >= 4 && !memcmp(line, "334 ", 4);
        }
        if (line[0])
            moxd_logf(srv, MOX_LOG_TRACE, dir, "cid", c->cid, "line", line);
        p += l;
        n -= l;
    }
}

static int flush_out(moxd_conn *c)
{
    for (;;) {
        const void *o;
        size_t n;
        mox_smtp_server_output(c->s, &o, &n);
        if (n == 0)
            return 0;
        long w = raw_write(c, o, n);
        if (w == MOX_ERR_AGAIN)
            return 0;
        if (w < 0) {
            mox_smtp_server_eof(c->s);
            return -1;
        }
        trace(c, "S", o, (size_t)w);
        mox_smtp_server_output_done(c->s, (size_t)w);
        c->deadline = moxd_now_ns() + (int64_t)c->srv->cfg->cmd_timeout * 1000000000LL;
    }
}

static void feed(moxd_conn *c)
{
    while (c->in_len) {
        int64_t n = mox_smtp_server_feed(c->s, c->in, c->in_len);
        if (n < 0) {
            mox_smtp_server_eof(c->s);
            c->in_len = 0;
            return;
        }
        if (n == 0)
            return;
        memmove(c->in, c->in + n, c->in_len - (size_t)n);
        c->in_len -= (size_t)n;
    }
}

static void tls_info_fill(moxd_conn *c, const mox_tls_info *info, mox_smtp_server_tls_info *ti,
                          char *cert, size_t certl)
{
    ti->version = mox_tls_version_name(info->version);
    ti->cipher = info->cipher; /* IANA name, static storage */
    if (info->peer_cert) {
        const unsigned char *spki = info->peer_spki_sha256;
        static const char hx[] = "0123456789abcdef";
        size_t k = 0;
        k += (size_t)snprintf(cert, certl, "spki-sha256:");
        for (int i = 0; i < 32 && k + 2 < certl; i++) {
            cert[k++] = hx[spki[i] >> 4];
            cert[k++] = hx[spki[i] & 15];
        }
        cert[k] = 0;
        ti->client_cert = cert;
        moxd_account *a = moxd_account_by_spki(c->srv, spki);
        if (a && c->kind != MOXD_SMTP) {
            ti->cert_user = a->addresses[0];
            c->account = a;
        }
    }
    ti->cb_types = info->tls_unique ? MOX_SASL_CB_BIT(MOX_SASL_CB_TLS_UNIQUE) : 0;
    if (info->tls_exporter)
        ti->cb_types |= MOX_SASL_CB_BIT(MOX_SASL_CB_TLS_EXPORTER);
    ti->binding = moxd_channel_binding;
    ti->binding_ctx = c;
}

int moxd_channel_binding(void *ctx, mox_sasl_cb_type type, unsigned char *out, size_t *out_len)
{
    moxd_conn *c = ctx;
    mox_tls_info info = MOX_TLS_INFO_INIT;
    if (!c->tls || mox_tls_get_info(mox_tls_socket_tls(c->tls), &info) != MOX_OK)
        return MOX_ERR_STATE;
    const unsigned char *b = type == MOX_SASL_CB_TLS_EXPORTER ? info.tls_exporter : info.tls_unique;
    size_t bl = type == MOX_SASL_CB_TLS_EXPORTER ? info.tls_exporter_len : info.tls_unique_len;
    if (!b)
        return MOX_ERR_UNSUPPORTED;
    if (bl > MOX_SASL_CB_MAX)
        return MOX_ERR_LIMIT;
    memcpy(out, b, bl);
    *out_len = bl;
    return MOX_OK;
}

static int start_tls(moxd_conn *c)
{
    mox_errinfo ei;
    /* Anything pipelined after STARTTLS came in the clear: never let it
     * through as if it were protected (CVE-2011-0411 class). */
    c->in_len = 0;
    if (mox_tls_socket_new(&c->tls, c->l->tls, c->fd, NULL, &ei) != MOX_OK) {
        moxd_logf(c->srv, MOX_LOG_ERROR, "tls setup", "cid", c->cid, "err", ei.msg);
        return -1;
    }
    c->tls_state = TLS_HANDSHAKE;
    c->deadline = moxd_now_ns() + (int64_t)c->srv->cfg->cmd_timeout * 1000000000LL;
    return 0;
}

static void handshake(moxd_conn *c)
{
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    int rc = mox_tls_socket_handshake(c->tls, &ei);
    if (rc == MOX_ERR_AGAIN)
        return;
    moxd_server *srv = c->srv;
    if (rc != MOX_OK) {
        const char *f = mox_tls_failure(mox_tls_socket_tls(c->tls));
        count(srv, "moxd_tls_handshake_failed_total", "reason", f[0] ? f : "other");
        moxd_logf(srv, MOX_LOG_INFO, "tls handshake failed", "cid", c->cid, "reason",
                  f[0] ? f : ei.msg);
        if (c->s && c->implicit_started)
            mox_smtp_server_tls_failed(c->s, f[0] ? f : "handshake");
        moxd_conn_close(c);
        return;
    }
    c->tls_state = TLS_ACTIVE;
    char cert[100];
    mox_tls_info info = MOX_TLS_INFO_INIT;
    mox_tls_get_info(mox_tls_socket_tls(c->tls), &info);
    mox_smtp_server_tls_info ti = MOX_SMTP_SERVER_TLS_INFO_INIT;
    tls_info_fill(c, &info, &ti, cert, sizeof cert);
    count(srv, "moxd_tls_handshake_total", "resumed", info.resumed ? "yes" : "no");
    if (mox_smtp_server_tls_started(c->s, &ti) != MOX_OK) {
        moxd_conn_close(c);
        return;
    }
    if (!c->implicit_started) {
        c->implicit_started = 1;
        if (mox_smtp_server_start(c->s) != MOX_OK) {
            moxd_conn_close(c);
            return;
        }
    }
}

static void http_run(moxd_conn *c);

static void conn_run(moxd_conn *c);

/* Runs the connection as far as it can go without blocking, then sets
 * what to wait for. Re-entrant calls (from completions inside it) only
 * ask for another round. */
void moxd_conn_run(moxd_conn *c)
{
    if (c->running) {
        c->rerun = 1;
        return;
    }
    c->running = 1;
    do {
        c->rerun = 0;
        conn_run(c);
    } while (c->rerun && c->fd >= 0);
    c->running = 0;
    if (c->dead && c->jobs == 0)
        conn_free(c);
}

static void conn_run(moxd_conn *c)
{
    if (c->fd < 0)
        return;
    if (c->http) {
        http_run(c);
        return;
    }
    moxd_server *srv = c->srv;
    for (int round = 0; round < 64; round++) {
        if (c->fd < 0)
            return;
        if (c->tls_state == TLS_HANDSHAKE) {
            handshake(c);
            if (c->fd < 0)
                return;
            if (c->tls_state == TLS_HANDSHAKE)
                break;
        }
        int progress = 0;
        unsigned st = mox_smtp_server_state(c->s);
        if ((st & MOX_SMTP_SERVER_WANT_READ) && c->in_len < sizeof c->in && !c->eof) {
            long r = raw_read(c, c->in + c->in_len, sizeof c->in - c->in_len);
            if (r > 0) {
                trace(c, "C", c->in + c->in_len, (size_t)r);
                c->in_len += (size_t)r;
                progress = 1;
                c->deadline = moxd_now_ns() +
                              (int64_t)(c->in_data ? srv->cfg->data_timeout : srv->cfg->cmd_timeout) *
                                  1000000000LL;
            } else if (r == 0 || r != MOX_ERR_AGAIN) {
                c->eof = 1;
            }
        }
        size_t before = c->in_len;
        feed(c);
        if (c->in_len != before)
            progress = 1;
        if (c->start_checks) {
            moxd_session_tick(c);
            progress = 1;
        }
        /* EOF after everything buffered was processed: a deferred decision
         * still has pipelined input (e.g. QUIT) behind it. */
        if (c->eof && c->in_len == 0 && !c->deferred &&
            !(mox_smtp_server_state(c->s) & (MOX_SMTP_SERVER_CLOSED | MOX_SMTP_SERVER_DEFERRED))) {
            mox_smtp_server_eof(c->s);
            progress = 1;
        }
        flush_out(c);
        st = mox_smtp_server_state(c->s);
        if (st & MOX_SMTP_SERVER_WANT_TLS) {
            if (start_tls(c) != 0) {
                moxd_conn_close(c);
                return;
            }
            continue;
        }
        if ((st & MOX_SMTP_SERVER_CLOSED) &&
            !(st & (MOX_SMTP_SERVER_WANT_WRITE | MOX_SMTP_SERVER_TIMER))) {
            moxd_conn_close(c);
            return;
        }
        if (!progress)
            break;
    }
    /* What to wait for. */
    unsigned ev = 0;
    if (c->tls_state == TLS_HANDSHAKE) {
        unsigned w = mox_tls_socket_wants(c->tls);
        ev = (w & MOX_WANT_WRITE) ? EPOLLOUT : EPOLLIN;
    } else {
        unsigned st = mox_smtp_server_state(c->s);
        if ((st & MOX_SMTP_SERVER_WANT_READ) && c->in_len < sizeof c->in && !c->eof)
            ev |= EPOLLIN;
        if (st & MOX_SMTP_SERVER_WANT_WRITE)
            ev |= EPOLLOUT;
        if (c->tls && (ev & EPOLLOUT) && (mox_tls_socket_wants(c->tls) & MOX_WANT_READ))
            ev |= EPOLLIN;
        c->timer = (st & MOX_SMTP_SERVER_TIMER) ? mox_smtp_server_due_ns(c->s) : -1;
        /* Decrypted bytes already buffered give no epoll event. */
        if (c->tls && mox_tls_socket_pending(c->tls) && (ev & EPOLLIN) && c->in_len < sizeof c->in)
            c->timer = moxd_now_ns();
    }
    ep_set(srv, c, ev);
}

/* ---------------------------------------------------------------- metrics HTTP */

static void http_run(moxd_conn *c)
{
    if (!c->out_http.data) {
        ssize_t r = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len - 1, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            moxd_conn_close(c);
            return;
        }
        if (r > 0)
            c->in_len += (size_t)r;
        c->in[c->in_len] = 0;
        if (!strstr((char *)c->in, "\r\n\r\n") && !strstr((char *)c->in, "\n\n")) {
            if (c->in_len >= sizeof c->in - 1)
                moxd_conn_close(c);
            return;
        }
        mox_buf body = MOX_BUF_INIT;
        int ok = !strncmp((char *)c->in, "GET /metrics ", 13) || !strncmp((char *)c->in, "GET / ", 6);
        moxd_metrics_gauge_set(c->srv->metrics, "moxd_connections", (double)c->srv->nconns);
        if (ok)
            moxd_metrics_render(c->srv->metrics, &body);
        else
            mox_buf_append_str(&body, "not found\n");
        mox_buf_appendf(&c->out_http,
                        "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
                        "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                        ok ? "200 OK" : "404 Not Found", body.len);
        mox_buf_append(&c->out_http, body.data, body.len);
        mox_buf_free(&body);
    }
    while (c->out_http.len) {
        ssize_t w = send(c->fd, c->out_http.data, c->out_http.len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN)
                break;
            moxd_conn_close(c);
            return;
        }
        mox_buf_consume(&c->out_http, (size_t)w);
    }
    if (!c->out_http.len) {
        moxd_conn_close(c);
        return;
    }
    ep_set(c->srv, c, EPOLLOUT);
}

/* ---------------------------------------------------------------- accept */

static void ip_text(const struct sockaddr_storage *ss, char *out, size_t n)
{
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
            inet_ntop(AF_INET, a->sin6_addr.s6_addr + 12, out, (socklen_t)n);
        else
            inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)n);
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)n);
    }
}

static void accept_one(moxd_server *srv, moxd_listener *l)
{
    struct sockaddr_storage pa, la;
    socklen_t pl = sizeof pa, ll = sizeof la;
    int fd = accept4(l->fd, (struct sockaddr *)&pa, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (srv->stopping) {
        close(fd);
        return;
    }
    moxd_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->tag = l->kind == MOXD_METRICS ? TAG_CONN : TAG_CONN;
    c->srv = srv;
    c->l = l;
    c->fd = fd;
    c->kind = l->kind;
    c->timer = -1;
    ip_text(&pa, c->ip, sizeof c->ip);
    getsockname(fd, (struct sockaddr *)&la, &ll);
    ip_text(&la, c->local_ip, sizeof c->local_ip);
    snprintf(c->cid, sizeof c->cid, "%llx", (unsigned long long)++srv->cid_seq);
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    struct epoll_event e;
    memset(&e, 0, sizeof e);
    e.events = EPOLLIN;
    e.data.ptr = &c->tag;
    c->events = EPOLLIN;
    if (epoll_ctl(srv->ep, EPOLL_CTL_ADD, fd, &e) != 0) {
        close(fd);
        c->fd = -1;
        conn_free(c);
        return;
    }
    c->deadline = moxd_now_ns() + (int64_t)srv->cfg->cmd_timeout * 1000000000LL;
    if (l->kind == MOXD_METRICS) {
        c->http = 1;
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    count(srv, "moxd_connection_total", "listener", moxd_kind_name(l->kind));

    /* Per-IP limits: concurrent connections and new ones per minute. */
    moxd_ipstat *s = ipstat(srv, c->ip);
    int64_t now = moxd_now_ns();
    if (s) {
        window(&s->new_min, &s->new_min_start, now, 60LL * 1000000000);
        s->new_min++;
        s->conns++;
        if (s->conns > srv->cfg->conn_per_ip || s->new_min > srv->cfg->conn_rate_per_ip) {
            static const char busy[] = "421 4.7.0 too many connections from your address\r\n";
            count(srv, "moxd_connection_refused_total", "reason", "limit");
            if (l->kind != MOXD_SUBMISSIONS)
                (void)!send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL);
            moxd_conn_close(c);
            return;
        }
    }
    if (moxd_session_new(c) != 0) {
        moxd_conn_close(c);
        return;
    }
    if (l->kind == MOXD_SUBMISSIONS) {
        if (start_tls(c) != 0) {
            moxd_conn_close(c);
            return;
        }
    } else {
        c->implicit_started = 1;
        if (mox_smtp_server_start(c->s) != MOX_OK) {
            moxd_conn_close(c);
            return;
        }
    }
    moxd_conn_run(c);
}

/* ---------------------------------------------------------------- listeners */

const char *moxd_kind_name(int kind)
{
    switch (kind) {
    case MOXD_SMTP: return "smtp";
    case MOXD_SUBMISSION: return "submission";
    case MOXD_SUBMISSIONS: return "submissions";
    case MOXD_METRICS: return "metrics";
    default: return "?";
    }
}

static int listen_on(moxd_server *srv, moxd_listener *l, const char *addr, int port)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (void *)&ss;
    struct sockaddr_in6 *a6 = (void *)&ss;
    if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        sl = sizeof *a4;
    } else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        sl = sizeof *a6;
    } else {
        fprintf(stderr, "moxd: listener address %s is not an IP address\n", addr);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0) {
        fprintf(stderr, "moxd: cannot listen on %s port %d (%s): %s\n", addr, port,
                moxd_kind_name(l->kind), strerror(errno));
        close(fd);
        return -1;
    }
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    l->port = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
    snprintf(l->addr, sizeof l->addr, "%s", addr);
    l->fd = fd;
    l->tag = TAG_LISTENER;
    struct epoll_event e;
    memset(&e, 0, sizeof e);
    e.events = EPOLLIN;
    e.data.ptr = &l->tag;
    return epoll_ctl(srv->ep, EPOLL_CTL_ADD, fd, &e);
}

static int make_tls(moxd_server *srv, moxd_listener *l, int tickets)
{
    mox_tls_server_options o = MOX_TLS_SERVER_OPTIONS_INIT;
    o.hostname = srv->cfg->hostname;
    o.session_tickets = tickets;
    o.request_client_cert = l->kind != MOXD_SMTP;
    mox_errinfo ei;
    if (mox_tls_config_new_server(&l->tls, &o, &ei) != MOX_OK) {
        fprintf(stderr, "moxd: tls: %s\n", ei.msg);
        return -1;
    }
    for (size_t i = 0; i < srv->cfg->ncerts; i++)
        if (mox_tls_config_add_cert_file(l->tls, srv->cfg->cert_files[i], srv->cfg->key_files[i],
                                         &ei) != MOX_OK) {
            fprintf(stderr, "moxd: tls: %s\n", ei.msg);
            return -1;
        }
    return 0;
}

moxd_account *moxd_account_by_spki(moxd_server *srv, const unsigned char spki[32])
{
    for (size_t i = 0; i < srv->cfg->naccounts; i++)
        for (size_t j = 0; j < srv->cfg->accounts[i].ntls_keys; j++)
            if (!memcmp(srv->cfg->accounts[i].tls_keys[j], spki, 32))
                return &srv->cfg->accounts[i];
    return NULL;
}

/* ---------------------------------------------------------------- credentials */

static moxd_account *login_account(moxd_server *srv, const char *user)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", user);
    moxd_lower(buf);
    moxd_account *a = moxd_config_account_by_address(srv->cfg, buf);
    return a ? a : moxd_config_account_by_name(srv->cfg, user);
}

static int creds_lookup(void *ctx, const char *user, mox_sasl_secrets *out)
{
    moxd_account *a = login_account(ctx, user);
    if (!a || !a->has_secrets)
        return MOX_ERR_NOTFOUND;
    size_t sz = out->size < sizeof *out ? out->size : sizeof *out;
    memcpy((char *)out + sizeof(size_t), (const char *)&a->secrets + sizeof(size_t),
           sz - sizeof(size_t));
    return MOX_OK;
}

moxd_account *moxd_login_account(moxd_server *srv, const char *user)
{
    return user ? login_account(srv, user) : NULL;
}

/* ---------------------------------------------------------------- loop */

static volatile sig_atomic_t got_signal;

static void check_timeouts(moxd_server *srv, int64_t now)
{
    for (moxd_conn *c = srv->conns, *n; c; c = n) {
        n = c->next;
        if (c->fd < 0 || c->deferred)
            continue;
        if (c->http) {
            if (now > c->deadline)
                moxd_conn_close(c);
            continue;
        }
        if (now > c->deadline) {
            if (c->tls_state == TLS_HANDSHAKE || !c->s) {
                count(srv, "moxd_tls_handshake_failed_total", "reason", "timeout");
                moxd_conn_close(c);
                continue;
            }
            unsigned st = mox_smtp_server_state(c->s);
            if (st & MOX_SMTP_SERVER_CLOSED) {
                moxd_conn_close(c); /* the peer does not read: give up */
                continue;
            }
            moxd_logf(srv, MOX_LOG_INFO, "timeout", "cid", c->cid, "ip", c->ip);
            mox_smtp_server_close(c->s, 421, "4.4.2", "timeout, closing connection");
            c->deadline = now + 5LL * 1000000000;
            moxd_conn_run(c);
        } else if (srv->stopping && c->s && !c->deferred && !mox_smtp_server_get_txn(c->s) &&
                   !c->closing) {
            /* Between transactions: end it now. One in flight finishes
             * first (checked again on the next tick). */
            c->closing = 1;
            mox_smtp_server_close(c->s, 421, "4.3.2", "shutting down");
            c->deadline = now + 5LL * 1000000000;
            moxd_conn_run(c);
        }
    }
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int moxd_serve(moxd_config *cfg, const moxd_run_opts *o)
{
    moxd_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return 1;
    srv->cfg = cfg;
    int rc = 1;
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    mox_logger_logfmt(&srv->logger, stderr, cfg->log_level);
    moxd_metrics_new(&srv->metrics);
    moxd_metrics_sink(srv->metrics, &srv->msink);
    srv->env = (mox_env)MOX_ENV_INIT;
    srv->env.logger = &srv->logger;
    srv->env.metrics = &srv->msink;
    srv->creds = (mox_sasl_credentials)MOX_SASL_CREDENTIALS_INIT;
    srv->creds.ctx = srv;
    srv->creds.lookup = creds_lookup;
    mox_errinfo ei;
    if (cfg->dns_zone) {
        if (mox_dns_zone_new(&srv->zone) != MOX_OK ||
            mox_dns_zone_load_file(srv->zone, cfg->dns_zone, &ei) != MOX_OK) {
            fprintf(stderr, "moxd: dns zone: %s\n", ei.msg);
            goto out;
        }
        mox_dns_zone_resolver(srv->zone, &srv->resolver);
    } else {
        moxd_system_resolver(srv, &srv->resolver);
    }
    /* Blocked before the worker threads exist, so that they inherit the
     * mask and the signals reach the loop's signalfd. */
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGTERM);
    sigaddset(&ss, SIGINT);
    pthread_sigmask(SIG_BLOCK, &ss, NULL);
    if (moxd_pool_new(&srv->pool, cfg->workers) != 0) {
        fprintf(stderr, "moxd: cannot start worker threads\n");
        goto out;
    }
    for (size_t i = 0; i < cfg->naccounts; i++)
        if (moxd_maildir_create(cfg->accounts[i].maildir) != 0) {
            fprintf(stderr, "moxd: cannot create maildir %s: %s\n", cfg->accounts[i].maildir,
                    strerror(errno));
            goto out;
        }
    srv->ep = epoll_create1(EPOLL_CLOEXEC);
    srv->sigfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
    srv->sig_tag = TAG_SIGNAL;
    srv->pool_tag = TAG_POOL;
    struct epoll_event e;
    memset(&e, 0, sizeof e);
    e.events = EPOLLIN;
    e.data.ptr = &srv->sig_tag;
    epoll_ctl(srv->ep, EPOLL_CTL_ADD, srv->sigfd, &e);
    e.data.ptr = &srv->pool_tag;
    epoll_ctl(srv->ep, EPOLL_CTL_ADD, moxd_pool_fd(srv->pool), &e);

    srv->ls = calloc(cfg->nlisteners + 1, sizeof *srv->ls);
    for (size_t i = 0; i < cfg->nlisteners; i++) {
        moxd_listener_cfg *lc = &cfg->listeners[i];
        moxd_listener *l = &srv->ls[srv->nls];
        l->kind = lc->kind;
        int port = lc->port;
        if (o->override_ports)
            port = lc->kind == MOXD_SMTP         ? o->smtp_port
                   : lc->kind == MOXD_SUBMISSION ? o->submission_port
                                                 : o->submissions_port;
        /* Tickets: off by default on delivery listeners (config option);
         * submission clients reconnect often and benefit. */
        int tickets = lc->tickets || (lc->kind != MOXD_SMTP && cfg->localserve);
        if (make_tls(srv, l, tickets) != 0 || listen_on(srv, l, lc->address, port) != 0)
            goto out;
        srv->nls++;
    }
    int mport = o->override_ports ? o->metrics_port : cfg->metrics_port;
    if (mport >= 0) {
        moxd_listener *l = &srv->ls[srv->nls];
        l->kind = MOXD_METRICS;
        if (listen_on(srv, l, cfg->metrics_address ? cfg->metrics_address : "127.0.0.1", mport) != 0)
            goto out;
        srv->nls++;
    }
    if (o->print_ready) {
        mox_buf line = MOX_BUF_INIT;
        mox_buf_append_str(&line, "moxd ready");
        static const int kinds[] = {MOXD_SMTP, MOXD_SUBMISSION, MOXD_SUBMISSIONS, MOXD_METRICS};
        for (size_t k = 0; k < 4; k++)
            for (size_t i = 0; i < srv->nls; i++)
                if (srv->ls[i].kind == kinds[k]) {
                    int v6 = strchr(srv->ls[i].addr, ':') != NULL;
                    mox_buf_appendf(&line, " %s=%s%s%s:%d", moxd_kind_name(kinds[k]),
                                    v6 ? "[" : "", srv->ls[i].addr, v6 ? "]" : "",
                                    srv->ls[i].port);
                    break;
                }
        if (cfg->localserve && cfg->naccounts) {
            mox_buf_appendf(&line, " user=%s password=moxmoxmox maildir=%s",
                            cfg->accounts[0].addresses[0], cfg->accounts[0].maildir);
        }
        printf("%s\n", (char *)line.data);
        fflush(stdout);
        mox_buf_free(&line);
    }
    moxd_logf(srv, MOX_LOG_INFO, "moxd started", "hostname", cfg->hostname, NULL, NULL);

    int64_t last_tick = moxd_now_ns();
    int64_t stop_deadline = 0;
    for (;;) {
        int64_t now = moxd_now_ns();
        int timeout = 1000;
        for (moxd_conn *c = srv->conns; c; c = c->next)
            if (c->timer >= 0) {
                int64_t ms = c->timer > now ? (c->timer - now) / 1000000 + 1 : 0;
                if (ms < timeout)
                    timeout = (int)ms;
            }
        struct epoll_event evs[64];
        int n = epoll_wait(srv->ep, evs, 64, timeout);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            int *tag = evs[i].data.ptr;
            if (*tag == TAG_LISTENER) {
                moxd_listener *l = (moxd_listener *)((char *)tag - offsetof(moxd_listener, tag));
                for (int k = 0; k < 32; k++) {
                    size_t before = srv->cid_seq;
                    accept_one(srv, l);
                    if (before == srv->cid_seq)
                        break;
                }
            } else if (*tag == TAG_SIGNAL) {
                struct signalfd_siginfo si;
                while (read(srv->sigfd, &si, sizeof si) == sizeof si)
                    got_signal = 1;
            } else if (*tag == TAG_POOL) {
                moxd_pool_complete(srv->pool);
            } else {
                moxd_conn *c = (moxd_conn *)((char *)tag - offsetof(moxd_conn, tag));
                moxd_conn_run(c);
            }
        }
        now = moxd_now_ns();
        for (moxd_conn *c = srv->conns, *nx; c; c = nx) {
            nx = c->next;
            if (c->timer >= 0 && c->timer <= now && c->fd >= 0) {
                c->timer = -1;
                moxd_conn_run(c);
            }
        }
        if (got_signal && !srv->stopping) {
            srv->stopping = 1;
            stop_deadline = now + 60LL * 1000000000;
            moxd_logf(srv, MOX_LOG_INFO, "shutting down", NULL, NULL, NULL, NULL);
            for (size_t i = 0; i < srv->nls; i++) {
                epoll_ctl(srv->ep, EPOLL_CTL_DEL, srv->ls[i].fd, NULL);
                close(srv->ls[i].fd);
                srv->ls[i].fd = -1;
            }
            last_tick = 0;
        }
        if (now - last_tick >= 250000000LL) {
            last_tick = now;
            check_timeouts(srv, now);
        }
        if (srv->stopping) {
            int busy = 0;
            for (moxd_conn *c = srv->conns; c; c = c->next)
                busy = 1;
            if (!busy || now > stop_deadline)
                break;
        }
    }
    rc = 0;
out:
    while (srv->conns) {
        moxd_conn *c = srv->conns;
        c->jobs = 0;
        moxd_conn_close(c);
        if (srv->conns == c)
            conn_free(c);
    }
    moxd_pool_free(srv->pool); /* after the connections: jobs may still finish */
    for (size_t i = 0; i < srv->nls; i++) {
        if (srv->ls[i].fd >= 0)
            close(srv->ls[i].fd);
        mox_tls_config_free(srv->ls[i].tls);
    }
    for (size_t i = 0; srv->ls && i <= cfg->nlisteners; i++)
        if (i >= srv->nls)
            mox_tls_config_free(srv->ls[i].tls);
    free(srv->ls);
    for (size_t h = 0; h < MOXD_IPTAB; h++)
        for (moxd_ipstat *s = srv->iptab[h], *n; s; s = n) {
            n = s->next;
            free(s);
        }
    mox_dns_zone_free(srv->zone);
    moxd_metrics_free(srv->metrics);
    if (srv->ep > 0)
        close(srv->ep);
    if (srv->sigfd > 0)
        close(srv->sigfd);
    free(srv);
    return rc;
}
