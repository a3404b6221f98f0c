/* System clocks and randomness. */
#include <errno.h>
#include <sys/random.h>
#include <time.h>

#include "core_priv.h"

static int64_t sys_wall(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t sys_mono(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const mox_clock system_clock = {sizeof(mox_clock), NULL, sys_wall, sys_mono};

const mox_clock *mox_clock_system(void) { return &system_clock; }

int64_t mox_clock_wall_ns(const mox_clock *c)
{
    if (c && c->wall_ns)
        return c->wall_ns(c->ctx);
    return sys_wall(NULL);
}

int64_t mox_clock_mono_ns(const mox_clock *c)
{
    if (c && c->mono_ns)
        return c->mono_ns(c->ctx);
    return sys_mono(NULL);
}

static int sys_fill(void *ctx, void *buf, size_t n)
{
    (void)ctx;
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return MOX_ERR_IO;
        }
        p += r;
        n -= (size_t)r;
    }
    return MOX_OK;
}

static const mox_random system_random = {sizeof(mox_random), NULL, sys_fill};

const mox_random *mox_random_system(void) { return &system_random; }

int mox_random_fill(const mox_random *r, void *buf, size_t n)
{
    if (r && r->fill)
        return r->fill(r->ctx, buf, n);
    return sys_fill(NULL, buf, n);
}
