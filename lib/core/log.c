/* Structured logging: the logger interface and a default logfmt writer. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "core_priv.h"

void mox_log(const mox_logger *lg, int level, const char *msg,
             const mox_log_attr *attrs, size_t nattrs)
{
    if (!lg || !lg->log || level < lg->min_level)
        return;
    lg->log(lg->ctx, level, msg, attrs, nattrs);
}

void moxi_logf(const mox_env *env, int level, const char *fmt, ...)
{
    if (!env || !env->logger || !env->logger->log || level < env->logger->min_level)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    env->logger->log(env->logger->ctx, level, msg, NULL, 0);
}

static const char *level_name(int level)
{
    if (level >= MOX_LOG_ERROR) return "error";
    if (level >= MOX_LOG_WARN) return "warn";
    if (level >= MOX_LOG_INFO) return "info";
    if (level >= MOX_LOG_DEBUG) return "debug";
    return "trace";
}

/* Output sink that counts what it would have written. */
struct out {
    char *p;
    size_t sz, n;
};

static void put(struct out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (o->n + 1 < o->sz)
            o->p[o->n] = s[i];
        o->n++;
    }
}

static void puts_(struct out *o, const char *s) { put(o, s, strlen(s)); }

/* logfmt value: bare when it has no space, quote, '=' or control byte. */
static void put_value(struct out *o, const char *v, size_t n)
{
    int quote = n == 0;
    for (size_t i = 0; i < n && !quote; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
            quote = 1;
    }
    if (!quote) {
        put(o, v, n);
        return;
    }
    put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        char esc[8];
        switch (c) {
        case '"': put(o, "\\\"", 2); break;
        case '\\': put(o, "\\\\", 2); break;
        case '\n': put(o, "\\n", 2); break;
        case '\r': put(o, "\\r", 2); break;
        case '\t': put(o, "\\t", 2); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                snprintf(esc, sizeof esc, "\\x%02x", c);
                puts_(o, esc);
            } else {
                put(o, (const char *)&v[i], 1);
            }
        }
    }
    put(o, "\"", 1);
}

size_t mox_logfmt_format(char *out, size_t outsz, int64_t unix_ns, int level,
                         const char *msg, const mox_log_attr *attrs,
                         size_t nattrs)
{
    struct out o = {out, outsz, 0};
    time_t secs = (time_t)(unix_ns / 1000000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char ts[64];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)((unix_ns / 1000000) % 1000));
    puts_(&o, "time=");
    puts_(&o, ts);
    puts_(&o, " level=");
    puts_(&o, level_name(level));
    puts_(&o, " msg=");
    put_value(&o, msg ? msg : "", msg ? strlen(msg) : 0);
    for (size_t i = 0; i < nattrs; i++) {
        put(&o, " ", 1);
        puts_(&o, attrs[i].key ? attrs[i].key : "?");
        put(&o, "=", 1);
        const char *v = attrs[i].value ? attrs[i].value : "";
        size_t vl = attrs[i].value ? attrs[i].value_len : 0;
        put_value(&o, v, vl);
    }
    if (outsz)
        out[o.n < outsz ? o.n : outsz - 1] = '\0';
    return o.n;
}

static void logfmt_write(void *ctx, int level, const char *msg,
                         const mox_log_attr *attrs, size_t nattrs)
{
    FILE *f = ctx;
    char line[2048];
    size_t n = mox_logfmt_format(line, sizeof line, mox_clock_wall_ns(NULL), level, msg,
                                 attrs, nattrs);
    if (n >= sizeof line) {
        char *big = mox_malloc(n + 1);
        if (big) {
            mox_logfmt_format(big, n + 1, mox_clock_wall_ns(NULL), level, msg, attrs, nattrs);
            fprintf(f, "%s\n", big);
            mox_free(big);
            return;
        }
    }
    fprintf(f, "%s\n", line);
}

void mox_logger_logfmt_sized(mox_logger *lg, size_t lg_size, FILE *f, int min_level)
{
    if (!lg)
        return;
    mox_logger full = MOX_LOGGER_INIT;
    full.ctx = f;
    full.min_level = min_level;
    full.log = logfmt_write;
    moxi_fill_sized(lg, lg_size, &full, sizeof full);
}

void mox_metric_count(const mox_metrics *m, const char *name,
                      const mox_metric_label *labels, size_t nlabels, double delta)
{
    if (m && m->counter_add)
        m->counter_add(m->ctx, name, labels, nlabels, delta);
}

void mox_metric_observe(const mox_metrics *m, const char *name,
                        const mox_metric_label *labels, size_t nlabels, double value)
{
    if (m && m->histogram_observe)
        m->histogram_observe(m->ctx, name, labels, nlabels, value);
}
