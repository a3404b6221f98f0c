/* The one blocking loop over any engine, and the socket transport. */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include "engine_priv.h"

static int fail(mox_errinfo *ei, int code, const char *fmt, const char *a)
{
    return moxi_fail(ei, code, 0, SIZE_MAX, fmt, a ? a : "");
}

/* ------------------------------------------------------------ answering */

static int answer_other(const mox_answerer *w, const mox_query *q, mox_answer **out,
                        mox_errinfo *ei)
{
    if (!w || w->size < sizeof(mox_answerer) || !w->answer)
        return moxi_fail(ei, MOX_ERR_UNSUPPORTED, 0, SIZE_MAX,
                         "no answerer for %s questions in the io", mox_query_kind_name(q->kind));
    int rc = w->answer(w->ctx, q, out);
    if (rc < 0)
        return moxi_fail(ei, rc, 0, SIZE_MAX, "%s answerer: %s", mox_query_kind_name(q->kind),
                         mox_strerror(rc));
    if (!*out)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "%s answerer gave no answer",
                         mox_query_kind_name(q->kind));
    return MOX_OK;
}

/* The answer for a question the resolver could not run. Without the
 * name: a question whose name no DNS message can carry (over 253 octets,
 * a label over 63) is exactly such a question, and the constructor
 * refuses the name; the engine matches answers by id. */
static int neterr(const mox_query *q, mox_answer **out)
{
    return mox_answer_dns_new(out, q->id, NULL, q->u.dns.type, MOX_DNS_NETERR, 0);
}

int mox_io_answer(const mox_io *io, const mox_query *q, mox_answer **out, mox_errinfo *ei)
{
    if (!out)
        return fail(ei, MOX_ERR_INVAL, "NULL out%s", NULL);
    *out = NULL;
    if (!io || io->size < sizeof(size_t) || !q)
        return fail(ei, MOX_ERR_INVAL, "NULL io or query%s", NULL);
    mox_io v = MOX_IO_INIT;
    moxi_copy_sized(&v, io, sizeof v);
    switch (q->kind) {
    case MOX_QUERY_DNS: {
        if (!v.resolver)
            return fail(ei, MOX_ERR_UNSUPPORTED, "no resolver in the io%s", NULL);
        mox_dns_answer *d = NULL;
        int rc = mox_dns_lookup(v.resolver, q->u.dns.name, q->u.dns.type, &d);
        if (rc == MOX_ERR_NOMEM)
            return fail(ei, rc, "out of memory%s", NULL);
        if (rc != MOX_OK || !d) {
            mox_dns_answer_free(d);
            return neterr(q, out);
        }
        return moxi_answer_dns_take(out, q->id, d);
    }
    case MOX_QUERY_FETCH:
        return answer_other(v.fetcher, q, out, ei);
    case MOX_QUERY_CREDENTIALS:
    case MOX_QUERY_AUTHORIZE:
        return answer_other(v.credentials, q, out, ei);
    case MOX_QUERY_CONNECT:
        return answer_other(v.connector, q, out, ei);
    }
    return moxi_fail(ei, MOX_ERR_UNSUPPORTED, 0, SIZE_MAX, "unknown question kind %d", q->kind);
}

/* All DNS questions of one round go to the resolver before any is waited
 * for, so an asynchronous resolver runs them in parallel. */
typedef struct pend {
    uint32_t id;
    mox_dns_answer *ans;
    int done;
} pend;

static void dns_done(void *arg, mox_dns_answer *ans)
{
    pend *p = arg;
    if (p->done) {
        mox_dns_answer_free(ans);
        return;
    }
    p->ans = ans;
    p->done = 1;
}

static int give(mox_engine *g, mox_answer *a, mox_errinfo *ei)
{
    int rc = mox_engine_answer(g, a);
    mox_answer_free(a);
    if (rc < 0) {
        const mox_errinfo *e = mox_engine_error(g);
        return moxi_fail(ei, rc, 0, SIZE_MAX, "%s: answer: %s", mox_engine_name(g),
                         e && e->code == rc ? e->msg : mox_strerror(rc));
    }
    return MOX_OK;
}

static int run_queries(mox_engine *g, const mox_io *io, mox_errinfo *ei)
{
    mox_query qs[64];
    size_t nq = 0;
    int rc;
    while (nq < MOX_ARRAY_LEN(qs) && (rc = mox_engine_query(g, &qs[nq])) == MOX_OK)
        nq++;
    if (nq == 0)
        return moxi_fail(ei, rc, 0, SIZE_MAX, "%s: query: %s", mox_engine_name(g),
                         mox_strerror(rc));
    pend ps[64];
    int given[64];
    /* only the entries used: clearing all 64 was a tenth of an SPF
     * evaluation's cost */
    memset(ps, 0, nq * sizeof ps[0]);
    memset(given, 0, nq * sizeof given[0]);
    const mox_resolver *r = io->resolver;
    int async = 0;
    /* start every DNS question */
    for (size_t i = 0; i < nq; i++) {
        if (qs[i].kind != MOX_QUERY_DNS || !r || !r->query ||
            r->size < offsetof(mox_resolver, wait))
            continue;
        ps[i].id = qs[i].id;
        rc = r->query(r->ctx, qs[i].u.dns.name, qs[i].u.dns.type, dns_done, &ps[i]);
        if (rc == MOX_ERR_NOMEM)
            goto fail_nomem;
        if (rc < 0) {
            ps[i].done = 2; /* could not start: NETERR */
            continue;
        }
        if (!ps[i].done)
            async = 1;
    }
    int (*wait)(void *) = r && r->size >= sizeof(mox_resolver) ? r->wait : NULL;
    (void)async;
    /* answer in completion order */
    size_t left = nq;
    while (left) {
        int progress = 0;
        for (size_t i = 0; i < nq; i++) {
            if (given[i])
                continue;
            mox_answer *a = NULL;
            if (qs[i].kind == MOX_QUERY_DNS && r && r->query) {
                if (!ps[i].done)
                    continue;
                if (ps[i].done == 2 || !ps[i].ans)
                    rc = neterr(&qs[i], &a);
                else {
                    rc = moxi_answer_dns_take(&a, qs[i].id, ps[i].ans);
                    ps[i].ans = NULL;
                }
                if (rc != MOX_OK)
                    goto fail_nomem;
            } else {
                rc = mox_io_answer(io, &qs[i], &a, ei);
                if (rc != MOX_OK)
                    goto fail_rest;
            }
            given[i] = 1;
            left--;
            progress = 1;
            rc = give(g, a, ei);
            if (rc != MOX_OK)
                goto fail_rest;
        }
        if (left && !progress) {
            if (!wait) {
                rc = moxi_fail(ei, MOX_ERR_STATE, 0, SIZE_MAX,
                               "asynchronous resolver without wait()");
                goto fail_rest;
            }
            rc = wait(r->ctx);
            if (rc < 0) {
                moxi_fail(ei, rc, 0, SIZE_MAX, "resolver wait: %s", mox_strerror(rc));
                goto fail_rest;
            }
        }
    }
    return MOX_OK;
fail_nomem:
    rc = moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
fail_rest:
    for (size_t i = 0; i < nq; i++)
        mox_dns_answer_free(ps[i].ans);
    return rc;
}

/* ------------------------------------------------------------ the loop */

static int64_t now_ns(const mox_io *io) { return mox_clock_mono_ns(io->clock); }

static void sleep_until(const mox_io *io, int64_t deadline)
{
    if (io->clock && io->clock != mox_clock_system())
        return; /* virtual time: tick at the deadline without sleeping */
    int64_t n = now_ns(io);
    if (deadline <= n)
        return;
    int64_t d = deadline - n;
    struct timespec ts = {(time_t)(d / 1000000000), (long)(d % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int tick_at(mox_engine *g, const mox_io *io, int64_t deadline, mox_errinfo *ei)
{
    int64_t n = now_ns(io);
    if (io->clock && io->clock != mox_clock_system() && n < deadline)
        n = deadline;
    int rc = mox_engine_tick(g, n);
    if (rc < 0)
        return moxi_fail(ei, rc, 0, SIZE_MAX, "%s: tick: %s", mox_engine_name(g),
                         mox_strerror(rc));
    return MOX_OK;
}

int mox_engine_run(mox_engine *g, const mox_io *io_in, mox_errinfo *ei)
{
    if (!g || !io_in || io_in->size < sizeof(size_t))
        return fail(ei, MOX_ERR_INVAL, "NULL engine or io%s", NULL);
    mox_io io = MOX_IO_INIT;
    moxi_copy_sized(&io, io_in, sizeof io);
    mox_transport t = MOX_TRANSPORT_INIT;
    int have_t = 0;
    if (io.transport && io.transport->size >= offsetof(mox_transport, starttls)) {
        moxi_copy_sized(&t, io.transport, sizeof t);
        have_t = t.read && t.write;
    }
    unsigned char buf[16384];
    size_t boff = 0, blen = 0;
    int eof_sent = 0;
    int rc = MOX_OK;
    for (unsigned spins = 0;; spins++) {
        unsigned w = mox_engine_want(g);
        int64_t dl = (w & MOX_WANT_TIMER) ? mox_engine_deadline(g) : MOX_NO_DEADLINE;
        if (w & MOX_WANT_QUERY) {
            rc = run_queries(g, &io, ei);
            if (rc != MOX_OK)
                break;
            continue;
        }
        if (w & MOX_WANT_WRITE) {
            const void *p;
            size_t n;
            rc = mox_engine_output(g, &p, &n);
            if (rc < 0) {
                fail(ei, rc, "output: %s", mox_strerror(rc));
                break;
            }
            if (n == 0)
                goto no_write;
            if (!have_t) {
                rc = fail(ei, MOX_ERR_STATE, "engine has output but the io has no transport%s",
                          NULL);
                break;
            }
            int64_t wn = t.write(t.ctx, p, n, dl);
            if (wn == MOX_ERR_TIMEOUT) {
                if ((rc = tick_at(g, &io, dl, ei)) != MOX_OK)
                    break;
                continue;
            }
            if (wn < 0) {
                rc = moxi_fail(ei, (int)wn, 0, SIZE_MAX, "write: %s", mox_strerror((int)wn));
                break;
            }
            if ((rc = mox_engine_output_done(g, (size_t)wn)) < 0) {
                fail(ei, rc, "output_done: %s", mox_strerror(rc));
                break;
            }
            continue;
        }
    no_write:
        if (w & MOX_WANT_TLS) {
            mox_tls_request req = MOX_TLS_REQUEST_INIT;
            mox_tls_info info = MOX_TLS_INFO_INIT;
            mox_errinfo tei;
            mox_errinfo_clear(&tei);
            if ((rc = mox_engine_tls_request(g, &req)) < 0) {
                fail(ei, rc, "tls_request: %s", mox_strerror(rc));
                break;
            }
            int st = have_t && t.starttls ? t.starttls(t.ctx, &req, &info, &tei)
                                          : MOX_ERR_UNSUPPORTED;
            rc = mox_engine_tls_done(g, st, st == MOX_OK ? &info : NULL);
            if (rc < 0) {
                fail(ei, rc, "tls_done: %s", mox_strerror(rc));
                break;
            }
            continue;
        }
        if (w & (MOX_WANT_DONE | MOX_WANT_CLOSED)) {
            rc = MOX_OK;
            break;
        }
        if (w & MOX_WANT_READ) {
            if (blen > boff) {
                int64_t took = mox_engine_feed(g, buf + boff, blen - boff);
                if (took < 0) {
                    rc = moxi_fail(ei, (int)took, 0, SIZE_MAX, "feed: %s",
                                   mox_strerror((int)took));
                    break;
                }
                boff += (size_t)took;
                if (took > 0 || spins < 2)
                    continue;
                /* the engine takes nothing and wants nothing else: stuck */
                if (!(mox_engine_want(g) & ~MOX_WANT_READ)) {
                    rc = fail(ei, MOX_ERR_STATE, "engine takes no input%s", NULL);
                    break;
                }
                continue;
            }
            if (!have_t) {
                /* evaluators are fed by the caller (feed, eof) before run */
                rc = fail(ei, MOX_ERR_STATE, "engine wants input and the io has no transport%s",
                          NULL);
                break;
            }
            int64_t rn = t.read(t.ctx, buf, sizeof buf, dl);
            if (rn == MOX_ERR_TIMEOUT && dl != MOX_NO_DEADLINE) {
                if ((rc = tick_at(g, &io, dl, ei)) != MOX_OK)
                    break;
                continue;
            }
            if (rn <= 0) {
                if (eof_sent) {
                    rc = fail(ei, MOX_ERR_STATE, "engine wants input after eof%s", NULL);
                    break;
                }
                eof_sent = 1;
                rc = mox_engine_eof(g);
                if (rc < 0) {
                    fail(ei, rc, "eof: %s", mox_strerror(rc));
                    break;
                }
                if (rn < 0 && !(mox_engine_want(g) & (MOX_WANT_DONE | MOX_WANT_CLOSED))) {
                    rc = moxi_fail(ei, (int)rn, 0, SIZE_MAX, "read: %s", mox_strerror((int)rn));
                    break;
                }
                continue;
            }
            boff = 0;
            blen = (size_t)rn;
            spins = 0;
            continue;
        }
        if (w & MOX_WANT_TIMER) {
            sleep_until(&io, dl);
            if ((rc = tick_at(g, &io, dl, ei)) != MOX_OK)
                break;
            continue;
        }
        if (w & MOX_WANT_DECISION) {
            rc = fail(ei, MOX_ERR_STATE,
                      "engine waits for a decision: decide inside the callback%s", NULL);
            break;
        }
        if (w & MOX_WANT_ANSWER) {
            rc = fail(ei, MOX_ERR_STATE, "engine waits for answers the loop did not get%s",
                      NULL);
            break;
        }
        rc = MOX_OK; /* wants nothing */
        break;
    }
    if (have_t && t.close && (mox_engine_want(g) & MOX_WANT_CLOSED))
        t.close(t.ctx);
    return rc;
}

/* ------------------------------------------------------------ socket */

static int wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int ms = -1;
        if (deadline != MOX_NO_DEADLINE) {
            int64_t left = deadline - mox_clock_mono_ns(NULL);
            if (left <= 0)
                return MOX_ERR_TIMEOUT;
            ms = left / 1000000 > 0x7fffffff ? 0x7fffffff : (int)((left + 999999) / 1000000);
        }
        struct pollfd p = {fd, ev, 0};
        int r = poll(&p, 1, ms);
        if (r > 0)
            return MOX_OK;
        if (r == 0)
            continue; /* re-check the deadline */
        if (errno != EINTR)
            return MOX_ERR_IO;
    }
}

static int64_t fd_read(void *ctx, void *buf, size_t n, int64_t deadline)
{
    int fd = *(int *)ctx;
    for (;;) {
        ssize_t r = recv(fd, buf, n, MSG_DONTWAIT);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return MOX_ERR_IO;
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc < 0)
            return rc;
    }
}

static int64_t fd_write(void *ctx, const void *buf, size_t n, int64_t deadline)
{
    int fd = *(int *)ctx;
    for (;;) {
        ssize_t r = send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return MOX_ERR_IO;
        int rc = wait_fd(fd, POLLOUT, deadline);
        if (rc < 0)
            return rc;
    }
}

void mox_transport_fd_sized(mox_transport *t, size_t t_size, int *fd)
{
    if (!t)
        return;
    mox_transport full = MOX_TRANSPORT_INIT;
    full.ctx = fd;
    full.read = fd_read;
    full.write = fd_write;
    moxi_fill_sized(t, t_size, &full, sizeof full);
}
