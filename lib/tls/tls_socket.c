/* The TLS engine over a socket: mox_tls_socket for daemons and tools that
 * own a file descriptor, and mox_tls_transport, a mox_transport whose
 * starttls() runs the engine over the socket for mox_engine_run. All
 * socket calls are non-blocking (MSG_DONTWAIT); a blocking caller waits in
 * poll(), bounded by a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include "tls/tls_priv.h"

struct mox_tls_socket {
    mox_tls *t;
    int fd;
    int nonblock;          /* the fd is non-blocking: give MOX_ERR_AGAIN */
    unsigned wants;        /* after MOX_ERR_AGAIN */
    size_t write_pending;  /* taken by the last write, not all sent yet */
    int sock_err;          /* errno of a failed send/recv */
};

static int64_t mono(const mox_tls_socket *s) { return mox_clock_mono_ns(s->t->cfg->clock); }

/* Waits until fd is ready for `ev` or the deadline passed. MOX_OK,
 * MOX_ERR_TIMEOUT, MOX_ERR_IO. */
static int wait_fd(const mox_tls_socket *s, short ev, int64_t deadline)
{
    for (;;) {
        int ms = -1;
        if (deadline != MOX_NO_DEADLINE) {
            int64_t left = deadline - mono(s);
            if (left <= 0)
                return MOX_ERR_TIMEOUT;
            ms = left / 1000000 >= 0x7fffffff ? 0x7fffffff : (int)((left + 999999) / 1000000);
        }
        struct pollfd p = {s->fd, ev, 0};
        int r = poll(&p, 1, ms);
        if (r > 0)
            return MOX_OK;
        if (r == 0)
            continue; /* re-check the deadline */
        if (errno != EINTR)
            return MOX_ERR_IO;
    }
}

/* Sends pending ciphertext. MOX_OK (none left), MOX_ERR_AGAIN, MOX_ERR_IO. */
static int flush_once(mox_tls_socket *s)
{
    for (;;) {
        const void *p;
        size_t n;
        mox_tls_output(s->t, &p, &n);
        if (n == 0)
            return MOX_OK;
        ssize_t r = send(s->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                s->wants |= MOX_WANT_WRITE;
                return MOX_ERR_AGAIN;
            }
            s->sock_err = errno;
            return MOX_ERR_IO;
        }
        mox_tls_output_done(s->t, (size_t)r);
    }
}

/* As flush_once; when `block`, waits until all is sent or the deadline. */
static int flush(mox_tls_socket *s, int block, int64_t deadline)
{
    for (;;) {
        int rc = flush_once(s);
        if (rc != MOX_ERR_AGAIN || !block)
            return rc;
        if ((rc = wait_fd(s, POLLOUT, deadline)) != MOX_OK)
            return rc;
    }
}

/* Reads ciphertext from the socket into the engine: only as much as the
 * engine takes now, so what it cannot take stays in the kernel, where
 * poll/epoll see it. MOX_OK (some fed, or the end of input told),
 * MOX_ERR_AGAIN, MOX_ERR_TIMEOUT. */
static int fill(mox_tls_socket *s, int block, int64_t deadline)
{
    unsigned char buf[MOXI_TLS_IN_CAP];
    size_t room = MOXI_TLS_IN_CAP - (s->t->in_len - s->t->in_off);
    if (room == 0)
        return MOX_OK;
    for (;;) {
        ssize_t r = recv(s->fd, buf, room, MSG_DONTWAIT);
        if (r > 0) {
            /* the engine takes what it has room for */
            return mox_tls_feed(s->t, buf, (size_t)r) == r ? MOX_OK : MOX_ERR_STATE;
        }
        if (r == 0) {
            mox_tls_eof(s->t);
            return MOX_OK;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            s->sock_err = errno;
            mox_tls_eof(s->t);
            return MOX_OK;
        }
        if (!block) {
            s->wants |= MOX_WANT_READ;
            return MOX_ERR_AGAIN;
        }
        int rc = wait_fd(s, POLLIN, deadline);
        if (rc == MOX_ERR_IO) {
            s->sock_err = errno;
            mox_tls_eof(s->t);
            return MOX_OK;
        }
        if (rc != MOX_OK)
            return rc;
    }
}

static int end_error(mox_tls_socket *s, mox_errinfo *ei)
{
    const mox_errinfo *e = mox_tls_error(s->t);
    int code = e->code ? e->code : MOX_ERR_IO;
    if (s->sock_err && (code == MOX_ERR_IO || code == MOX_ERR_TRUNCATED))
        return moxi_fail(ei, MOX_ERR_IO, s->sock_err, SIZE_MAX, "socket: %s",
                         strerror(s->sock_err));
    if (ei) {
        *ei = *e;
        ei->code = code;
        if (!e->code)
            snprintf(ei->msg, sizeof ei->msg, "TLS connection closed");
    }
    return code;
}

int mox_tls_socket_new(mox_tls_socket **out, mox_tls_config *cfg, int fd,
                       const mox_tls_request *req, mox_errinfo *ei)
{
    if (!out)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL out");
    *out = NULL;
    if (fd < 0)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "invalid file descriptor %d", fd);
    mox_tls_socket *s = mox_calloc(1, sizeof *s);
    if (!s)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    int rc = mox_tls_new(&s->t, cfg, req, ei);
    if (rc != MOX_OK) {
        mox_free(s);
        return rc;
    }
    s->fd = fd;
    int fl = fcntl(fd, F_GETFL);
    s->nonblock = fl >= 0 && (fl & O_NONBLOCK);
    *out = s;
    return MOX_OK;
}

void mox_tls_socket_free(mox_tls_socket *s)
{
    if (!s)
        return;
    mox_tls_free(s->t);
    mox_free(s);
}

static int do_handshake(mox_tls_socket *s, int block, mox_errinfo *ei)
{
    s->wants = 0;
    for (;;) {
        int64_t dl = mox_tls_deadline(s->t);
        int rc = flush(s, block, dl);
        if (rc == MOX_ERR_TIMEOUT) {
            mox_tls_tick(s->t, dl);
            continue;
        }
        unsigned w = mox_tls_want(s->t);
        if (rc == MOX_ERR_IO)
            return end_error(s, ei);
        if (rc == MOX_ERR_AGAIN && !(w & MOX_WANT_CLOSED))
            return moxi_fail(ei, MOX_ERR_AGAIN, 0, SIZE_MAX, "would block");
        if (w & MOX_WANT_DONE)
            return MOX_OK;
        if (w & MOX_WANT_CLOSED)
            return end_error(s, ei);
        if (!(w & MOX_WANT_READ))
            return moxi_fail(ei, MOX_ERR_STATE, 0, SIZE_MAX, "TLS engine stuck (%s)",
                             mox_want_name(w)); /* never spin */
        rc = fill(s, block, dl);
        if (rc == MOX_ERR_AGAIN)
            return moxi_fail(ei, MOX_ERR_AGAIN, 0, SIZE_MAX, "would block");
        if (rc == MOX_ERR_TIMEOUT)
            mox_tls_tick(s->t, dl);
    }
}

int mox_tls_socket_handshake(mox_tls_socket *s, mox_errinfo *ei)
{
    if (!s)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL socket");
    return do_handshake(s, !s->nonblock, ei);
}

static int64_t do_read(mox_tls_socket *s, void *buf, size_t len, int block, int64_t deadline)
{
    s->wants = 0;
    for (;;) {
        int64_t n = mox_tls_read(s->t, buf, len);
        /* replies the engine made (close_notify, no_renegotiation) */
        int frc = flush_once(s);
        if (n != MOX_ERR_AGAIN) {
            if (n == MOX_ERR_TRUNCATED && s->t->trunc_boundary && !s->sock_err)
                return 0; /* the socket's EOF at a record boundary */
            if (n < 0 && n != MOX_ERR_STATE && n != MOX_ERR_INVAL)
                return end_error(s, NULL);
            return n;
        }
        unsigned w = mox_tls_want(s->t);
        if (w & MOX_WANT_READ) {
            int rc = fill(s, block, deadline);
            if (rc != MOX_OK)
                return rc;
            continue;
        }
        if (frc == MOX_ERR_IO)
            return MOX_ERR_IO;
        if (w & MOX_WANT_WRITE) {
            /* the engine holds input until its reply is out */
            int rc = flush(s, block, deadline);
            if (rc != MOX_OK)
                return rc;
            continue;
        }
        return MOX_ERR_STATE;
    }
}

int64_t mox_tls_socket_read(mox_tls_socket *s, void *buf, size_t len)
{
    if (!s || !buf || !len)
        return MOX_ERR_INVAL;
    return do_read(s, buf, len, !s->nonblock, MOX_NO_DEADLINE);
}

static int64_t do_write(mox_tls_socket *s, const void *buf, size_t len, int block,
                        int64_t deadline)
{
    s->wants = 0;
    if (s->write_pending) {
        int rc = flush(s, block, deadline);
        if (rc != MOX_OK)
            return rc;
        size_t n = s->write_pending;
        s->write_pending = 0;
        return (int64_t)n;
    }
    int rc = flush(s, block, deadline);
    if (rc != MOX_OK)
        return rc;
    int64_t n = mox_tls_write(s->t, buf, len);
    if (n <= 0)
        return n == 0 ? MOX_ERR_AGAIN : n;
    rc = flush(s, block, deadline);
    if (rc == MOX_OK)
        return n;
    if (rc == MOX_ERR_AGAIN) {
        s->write_pending = (size_t)n;
        return MOX_ERR_AGAIN;
    }
    return rc;
}

int64_t mox_tls_socket_write(mox_tls_socket *s, const void *buf, size_t len)
{
    if (!s || (!buf && len))
        return MOX_ERR_INVAL;
    if (len == 0)
        return 0;
    return do_write(s, buf, len, !s->nonblock, MOX_NO_DEADLINE);
}

int mox_tls_socket_flush(mox_tls_socket *s)
{
    if (!s)
        return MOX_ERR_INVAL;
    s->wants = 0;
    return flush(s, !s->nonblock, MOX_NO_DEADLINE);
}

int mox_tls_socket_close(mox_tls_socket *s)
{
    if (!s)
        return MOX_ERR_INVAL;
    mox_tls_close(s->t);
    s->wants = 0;
    return flush_once(s);
}

unsigned mox_tls_socket_wants(const mox_tls_socket *s)
{
    if (!s)
        return 0;
    unsigned w = s->wants;
    if (mox_tls_want(s->t) & MOX_WANT_WRITE)
        w |= MOX_WANT_WRITE;
    return w;
}

size_t mox_tls_socket_pending(const mox_tls_socket *s)
{
    /* plaintext, and ciphertext the engine has but could not decrypt yet
     * (both invisible to poll) */
    return s ? mox_tls_pending(s->t) + (s->t->in_len - s->t->in_off) : 0;
}

mox_tls *mox_tls_socket_tls(const mox_tls_socket *s) { return s ? s->t : NULL; }

/* ------------------------------------------------------------ transport */

struct mox_tls_transport {
    mox_tls_config *cfg;
    int fd;
    int dead; /* starttls failed: the stream is unusable */
    mox_tls_socket *s;
};

int mox_tls_transport_new(mox_tls_transport **out, mox_tls_config *cfg, int fd,
                          mox_errinfo *ei)
{
    if (!out)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL out");
    *out = NULL;
    if (!cfg || fd < 0)
        return moxi_fail(ei, MOX_ERR_INVAL, 0, SIZE_MAX, "NULL config or invalid fd");
    mox_tls_transport *x = mox_calloc(1, sizeof *x);
    if (!x)
        return moxi_fail(ei, MOX_ERR_NOMEM, 0, SIZE_MAX, "out of memory");
    x->cfg = cfg;
    x->fd = fd;
    *out = x;
    return MOX_OK;
}

void mox_tls_transport_free(mox_tls_transport *x)
{
    if (!x)
        return;
    mox_tls_socket_free(x->s);
    mox_free(x);
}

mox_tls_socket *mox_tls_transport_socket(const mox_tls_transport *x) { return x ? x->s : NULL; }

static int plain_wait(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int ms = -1;
        if (deadline != MOX_NO_DEADLINE) {
            int64_t left = deadline - mox_clock_mono_ns(NULL);
            if (left <= 0)
                return MOX_ERR_TIMEOUT;
            ms = left / 1000000 >= 0x7fffffff ? 0x7fffffff : (int)((left + 999999) / 1000000);
        }
        struct pollfd p = {fd, ev, 0};
        int r = poll(&p, 1, ms);
        if (r > 0)
            return MOX_OK;
        if (r < 0 && errno != EINTR)
            return MOX_ERR_IO;
    }
}

static int64_t tr_read(void *ctx, void *buf, size_t n, int64_t deadline)
{
    mox_tls_transport *x = ctx;
    if (x->dead)
        return MOX_ERR_IO;
    if (x->s)
        return do_read(x->s, buf, n, 1, deadline);
    for (;;) {
        ssize_t r = recv(x->fd, buf, n, MSG_DONTWAIT);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return MOX_ERR_IO;
        int rc = plain_wait(x->fd, POLLIN, deadline);
        if (rc != MOX_OK)
            return rc;
    }
}

static int64_t tr_write(void *ctx, const void *buf, size_t n, int64_t deadline)
{
    mox_tls_transport *x = ctx;
    if (x->dead)
        return MOX_ERR_IO;
    if (x->s)
        return do_write(x->s, buf, n, 1, deadline);
    for (;;) {
        ssize_t r = send(x->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return MOX_ERR_IO;
        int rc = plain_wait(x->fd, POLLOUT, deadline);
        if (rc != MOX_OK)
            return rc;
    }
}

static int tr_starttls(void *ctx, const mox_tls_request *req, mox_tls_info *info,
                       mox_errinfo *ei)
{
    mox_tls_transport *x = ctx;
    if (x->s || x->dead)
        return moxi_fail(ei, MOX_ERR_STATE, 0, SIZE_MAX, "TLS was started already");
    int rc = mox_tls_socket_new(&x->s, x->cfg, x->fd, req, ei);
    if (rc == MOX_OK)
        rc = do_handshake(x->s, 1, ei);
    if (rc == MOX_OK && info)
        rc = mox_tls_get_info(x->s->t, info);
    if (rc != MOX_OK) {
        if (x->s)
            flush_once(x->s); /* the alert, if it goes */
        mox_tls_socket_free(x->s);
        x->s = NULL;
        x->dead = 1;
    }
    return rc;
}

static void tr_close(void *ctx)
{
    mox_tls_transport *x = ctx;
    if (x->s)
        mox_tls_socket_close(x->s);
}

void mox_tls_transport_fill_sized(mox_tls_transport *x, mox_transport *t, size_t t_size)
{
    if (!t)
        return;
    mox_transport full = MOX_TRANSPORT_INIT;
    full.ctx = x;
    full.read = tr_read;
    full.write = tr_write;
    full.starttls = tr_starttls;
    full.close = tr_close;
    moxi_fill_sized(t, t_size, &full, sizeof full);
}
