/* The system stub resolver: nameservers from /etc/resolv.conf (glibc
 * res_ninit) or a given IP:PORT, queries over UDP with TCP fallback on
 * truncation. glibc's res_nsend is deliberately not used for the exchange:
 * it turns a SERVFAIL reply into "try the next server" and finally into
 * the same -1 as a timeout, counts timeouts in whole seconds, and needs
 * private fields for an IPv6 server with a port (see docs/dns.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns_priv.h"

#define MAX_SERVERS 3

struct mox_dns_system {
    struct sockaddr_storage ns[MAX_SERVERS];
    socklen_t nslen[MAX_SERVERS];
    int nns;
    int timeout_ms;
    int attempts;
};

static int parse_port(const char *s, uint16_t *port)
{
    unsigned long v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (!moxi_is_digit((unsigned char)*s))
            return -1;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > 65535)
            return -1;
    }
    if (v == 0)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

/* "IP", "IP:PORT", "[IPv6]:PORT", "[IPv6]" or a bare IPv6 address. */
static int parse_server(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
    char host[INET6_ADDRSTRLEN + 1];
    uint16_t port = 53;
    const char *h = s, *colon;
    size_t hl;
    if (s[0] == '[') {
        const char *e = strchr(s, ']');
        if (!e)
            return -1;
        h = s + 1;
        hl = (size_t)(e - h);
        if (e[1] == ':') {
            if (parse_port(e + 2, &port) < 0)
                return -1;
        } else if (e[1]) {
            return -1;
        }
    } else if ((colon = strchr(s, ':')) && !strchr(colon + 1, ':')) {
        hl = (size_t)(colon - s);
        if (parse_port(colon + 1, &port) < 0)
            return -1;
    } else {
        hl = strlen(s);
    }
    if (hl == 0 || hl >= sizeof host)
        return -1;
    memcpy(host, h, hl);
    host[hl] = 0;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (s[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *sl = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *sl = sizeof *v6;
        return 0;
    }
    return -1;
}

/* Servers, timeout and attempts from /etc/resolv.conf. */
static void from_resolv_conf(mox_dns_system *s, int *timeout_ms, int *attempts)
{
    struct __res_state st;
    memset(&st, 0, sizeof st);
    if (res_ninit(&st) != 0)
        return;
    for (int i = 0; i < st.nscount && s->nns < MAX_SERVERS; i++) {
        if (st.nsaddr_list[i].sin_family == AF_INET) {
            memcpy(&s->ns[s->nns], &st.nsaddr_list[i], sizeof(struct sockaddr_in));
            s->nslen[s->nns++] = sizeof(struct sockaddr_in);
        } else if (st._u._ext.nsaddrs[i] && st._u._ext.nsaddrs[i]->sin6_family == AF_INET6) {
            memcpy(&s->ns[s->nns], st._u._ext.nsaddrs[i], sizeof(struct sockaddr_in6));
            s->nslen[s->nns++] = sizeof(struct sockaddr_in6);
        }
    }
    if (*timeout_ms == 0 && st.retrans > 0)
        *timeout_ms = st.retrans * 1000;
    if (*attempts == 0 && st.retry > 0)
        *attempts = st.retry;
    res_nclose(&st);
}

int mox_dns_system_new(mox_dns_system **out, const char *server, int timeout_ms,
                       int attempts)
{
    if (!out)
        return MOX_ERR_INVAL;
    *out = NULL;
    if (timeout_ms < 0 || attempts < 0)
        return MOX_ERR_INVAL;
    mox_dns_system *s = mox_calloc(1, sizeof *s);
    if (!s)
        return MOX_ERR_NOMEM;
    if (server) {
        if (parse_server(server, &s->ns[0], &s->nslen[0]) < 0) {
            mox_free(s);
            return MOX_ERR_INVAL;
        }
        s->nns = 1;
    } else {
        from_resolv_conf(s, &timeout_ms, &attempts);
        if (s->nns == 0)
            parse_server("127.0.0.1", &s->ns[0], &s->nslen[0]); /* as glibc does */
        if (s->nns == 0)
            s->nns = 1;
    }
    s->timeout_ms = timeout_ms ? timeout_ms : 5000;
    s->attempts = attempts ? attempts : 2;
    *out = s;
    return MOX_OK;
}

void mox_dns_system_free(mox_dns_system *s)
{
    mox_free(s);
}

enum { X_ANSWER, X_TIMEOUT, X_NETERR, X_NOMEM };

static int64_t now_ms(void) { return mox_clock_mono_ns(NULL) / 1000000; }

static int wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {fd, ev, 0};
        int n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n > 0)
            return 1;
    }
}

static int udp_exchange(const struct sockaddr_storage *ns, socklen_t nslen,
                        const mox_buf *q, const char *name, uint16_t type, uint16_t id,
                        int timeout_ms, int *tc, mox_dns_answer **out)
{
    int fd = socket(ns->ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return X_NETERR;
    /* connect(): the kernel then drops datagrams from other addresses */
    if (connect(fd, (const struct sockaddr *)ns, nslen) < 0 ||
        send(fd, q->data, q->len, 0) != (ssize_t)q->len) {
        close(fd);
        return X_NETERR;
    }
    int64_t deadline = now_ms() + timeout_ms;
    int result = X_TIMEOUT;
    unsigned char buf[65536];
    for (;;) {
        int w = wait_fd(fd, POLLIN, deadline);
        if (w <= 0) {
            if (w < 0)
                result = X_NETERR;
            break;
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            result = X_NETERR; /* e.g. ECONNREFUSED: nobody listens */
            break;
        }
        int rc = mox_dns_reply_parse(buf, (size_t)n, name, type, id, tc, out);
        if (rc == MOX_OK) {
            result = X_ANSWER;
            break;
        }
        if (rc == MOX_ERR_NOMEM) {
            result = X_NOMEM;
            break;
        }
        /* a malformed or foreign datagram: keep waiting for the real one,
         * but remember it in case nothing else comes */
        result = X_NETERR;
    }
    close(fd);
    return result;
}

static int io_all(int fd, unsigned char *p, size_t n, int writing, int64_t deadline)
{
    while (n) {
        ssize_t k = writing ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (k == 0)
            return X_NETERR; /* closed early */
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return X_NETERR;
        int w = wait_fd(fd, writing ? POLLOUT : POLLIN, deadline);
        if (w == 0)
            return X_TIMEOUT;
        if (w < 0)
            return X_NETERR;
    }
    return X_ANSWER;
}

static int tcp_exchange(const struct sockaddr_storage *ns, socklen_t nslen,
                        const mox_buf *q, const char *name, uint16_t type, uint16_t id,
                        int timeout_ms, mox_dns_answer **out)
{
    int fd = socket(ns->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return X_NETERR;
    int64_t deadline = now_ms() + timeout_ms;
    int result = X_NETERR;
    unsigned char *buf = NULL;
    if (connect(fd, (const struct sockaddr *)ns, nslen) < 0) {
        if (errno != EINPROGRESS)
            goto done;
        int w = wait_fd(fd, POLLOUT, deadline);
        if (w == 0) {
            result = X_TIMEOUT;
            goto done;
        }
        int err = 0;
        socklen_t el = sizeof err;
        if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err)
            goto done;
    }
    unsigned char lenb[2] = {(unsigned char)(q->len >> 8), (unsigned char)q->len};
    if ((result = io_all(fd, lenb, 2, 1, deadline)) != X_ANSWER ||
        (result = io_all(fd, q->data, q->len, 1, deadline)) != X_ANSWER ||
        (result = io_all(fd, lenb, 2, 0, deadline)) != X_ANSWER)
        goto done;
    size_t n = (size_t)lenb[0] << 8 | lenb[1];
    buf = mox_malloc(n ? n : 1);
    if (!buf) {
        result = X_NOMEM;
        goto done;
    }
    if ((result = io_all(fd, buf, n, 0, deadline)) != X_ANSWER)
        goto done;
    int rc = mox_dns_reply_parse(buf, n, name, type, id, NULL, out);
    result = rc == MOX_OK ? X_ANSWER : rc == MOX_ERR_NOMEM ? X_NOMEM : X_NETERR;
done:
    mox_free(buf);
    close(fd);
    return result;
}

int mox_dns_system_query(mox_dns_system *s, const char *name, uint16_t type,
                         mox_dns_answer **out)
{
    if (!out)
        return MOX_ERR_INVAL;
    *out = NULL;
    if (!s || !name)
        return MOX_ERR_INVAL;
    uint16_t id;
    int rc = mox_random_fill(NULL, &id, sizeof id);
    if (rc < 0)
        return rc;
    mox_buf q = MOX_BUF_INIT;
    rc = mox_dns_query_build(name, type, id, &q);
    if (rc < 0) {
        mox_buf_free(&q);
        return rc;
    }
    mox_dns_answer *kept = NULL; /* a SERVFAIL/REFUSED, in case nothing better comes */
    int saw_timeout = 0, saw_neterr = 0;
    for (int round = 0; round < s->attempts; round++) {
        for (int i = 0; i < s->nns; i++) {
            mox_dns_answer *a = NULL;
            int tc = 0;
            int x = udp_exchange(&s->ns[i], s->nslen[i], &q, name, type, id, s->timeout_ms, &tc, &a);
            if (x == X_ANSWER && tc) {
                mox_dns_answer_free(a);
                a = NULL;
                x = tcp_exchange(&s->ns[i], s->nslen[i], &q, name, type, id, s->timeout_ms, &a);
            }
            if (x == X_NOMEM) {
                mox_dns_answer_free(kept);
                mox_buf_free(&q);
                return MOX_ERR_NOMEM;
            }
            if (x == X_TIMEOUT)
                saw_timeout = 1;
            if (x == X_NETERR)
                saw_neterr = 1;
            if (x != X_ANSWER)
                continue;
            if ((a->status == MOX_DNS_SERVFAIL || a->status == MOX_DNS_REFUSED) &&
                i + 1 < s->nns) {
                mox_dns_answer_free(kept);
                kept = a;
                continue;
            }
            mox_dns_answer_free(kept);
            mox_buf_free(&q);
            *out = a;
            return MOX_OK;
        }
        if (kept)
            break;
    }
    mox_buf_free(&q);
    if (kept) {
        *out = kept;
        return MOX_OK;
    }
    /* one silent server is a timeout even if another was unreachable */
    int status = saw_timeout || !saw_neterr ? MOX_DNS_TIMEOUT : MOX_DNS_NETERR;
    size_t n = strlen(name);
    if (n > 1 && name[n - 1] == '.' && name[n - 2] != '\\')
        n--;
    return moxi_dns_answer_build(name, n, type, status, 0, NULL, 0, out);
}

static int system_resolve(void *ctx, const char *name, uint16_t type,
                          mox_dns_done_fn done, void *arg)
{
    mox_dns_answer *a;
    int rc = mox_dns_system_query(ctx, name, type, &a);
    if (rc < 0)
        return rc;
    done(arg, a);
    return MOX_OK;
}

void mox_dns_system_resolver_sized(mox_dns_system *s, mox_resolver *r, size_t r_size)
{
    if (!r)
        return;
    mox_resolver full = MOX_RESOLVER_INIT;
    full.ctx = s;
    full.query = system_resolve;
    moxi_fill_sized(r, r_size, &full, sizeof full);
}
