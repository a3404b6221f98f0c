/* The generic view over any engine, and names for logs. */
#include <stdarg.h>
#include <stdio.h>

#include "engine_priv.h"

void moxi_engine_init(mox_engine *g, const moxi_engine_ops *ops, void *self)
{
    g->ops = ops;
    g->self = self;
    mox_errinfo_clear(&g->err);
}

int moxi_engine_fail(mox_engine *g, int code, const char *fmt, ...)
{
    if (!g)
        return code;
    g->err.code = code;
    g->err.detail = 0;
    g->err.offset = SIZE_MAX;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err.msg, sizeof g->err.msg, fmt, ap);
    va_end(ap);
    return code;
}

const char *mox_want_name(unsigned want)
{
    static const char *const names[] = {"READ", "WRITE", "QUERY",  "DECISION", "TLS",
                                        "TIMER", "DONE", "CLOSED", "ANSWER"};
    /* every combination of the nine bits, built once per call into a
     * thread-local buffer: short and static enough for logs */
    static _Thread_local char buf[80];
    size_t off = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < MOX_ARRAY_LEN(names); i++)
        if (want & (1u << i)) {
            int n = snprintf(buf + off, sizeof buf - off, "%s%s", off ? "|" : "", names[i]);
            if (n > 0)
                off += (size_t)n;
        }
    if (want >> MOX_ARRAY_LEN(names))
        snprintf(buf + off, sizeof buf - off, "%s0x%x", off ? "|" : "",
                 want & ~((1u << MOX_ARRAY_LEN(names)) - 1));
    return off || buf[0] ? buf : "0";
}

const char *mox_query_kind_name(int kind)
{
    switch (kind) {
    case MOX_QUERY_DNS:
        return "DNS";
    case MOX_QUERY_FETCH:
        return "FETCH";
    case MOX_QUERY_CREDENTIALS:
        return "CREDENTIALS";
    case MOX_QUERY_CONNECT:
        return "CONNECT";
    case MOX_QUERY_AUTHORIZE:
        return "AUTHORIZE";
    }
    return "UNKNOWN";
}

#define NOGROUP(g, what) moxi_engine_fail((g), MOX_ERR_UNSUPPORTED, "%s has no %s", \
                                          (g)->ops->name, (what))

const char *mox_engine_name(const mox_engine *g) { return g && g->ops ? g->ops->name : NULL; }

unsigned mox_engine_want(const mox_engine *g)
{
    return g && g->ops && g->ops->want ? g->ops->want(g->self) : 0;
}

int64_t mox_engine_feed(mox_engine *g, const void *p, size_t n)
{
    if (!g || !g->ops)
        return MOX_ERR_INVAL;
    if (!g->ops->feed)
        return NOGROUP(g, "feed");
    return g->ops->feed(g->self, p, n);
}

int mox_engine_eof(mox_engine *g)
{
    if (!g || !g->ops)
        return MOX_ERR_INVAL;
    if (!g->ops->eof)
        return NOGROUP(g, "eof");
    return g->ops->eof(g->self);
}

int mox_engine_output(mox_engine *g, const void **p, size_t *n)
{
    if (!g || !g->ops)
        return MOX_ERR_INVAL;
    if (!g->ops->output)
        return NOGROUP(g, "output");
    return g->ops->output(g->self, p, n);
}

int mox_engine_output_done(mox_engine *g, size_t n)
{
    if (!g || !g->ops)
        return MOX_ERR_INVAL;
    if (!g->ops->output_done)
        return NOGROUP(g, "output_done");
    return g->ops->output_done(g->self, n);
}

int mox_engine_query(mox_engine *g, mox_query *q)
{
    if (!g || !g->ops)
        return MOX_ERR_INVAL;
    if (!g->ops->query)
        return NOGROUP(g, "query");
    return g->ops->query(g->self, q);
}

int mox_engine_answer(mox_engine *g, const mox_answer *a)
{
    if (!g || !g->ops)
        return MOX_ERR_INVAL;
    if (!g->ops->answer)
        return NOGROUP(g, "answer");
    return g->ops->answer(g->self, a);
}

int mox_engine_tls_request(const mox_engine *g, mox_tls_request *req)
{
    if (!g || !g->ops)
        return MOX_ERR_INVAL;
    if (!g->ops->tls_request)
        return MOX_ERR_UNSUPPORTED;
    return g->ops->tls_request(g->self, req);
}

int mox_engine_tls_done(mox_engine *g, int status, const mox_tls_info *info)
{
    if (!g || !g->ops)
        return MOX_ERR_INVAL;
    if (!g->ops->tls_done)
        return NOGROUP(g, "tls_done");
    return g->ops->tls_done(g->self, status, info);
}

int64_t mox_engine_deadline(const mox_engine *g)
{
    return g && g->ops && g->ops->deadline ? g->ops->deadline(g->self) : MOX_NO_DEADLINE;
}

int mox_engine_tick(mox_engine *g, int64_t now_ns)
{
    if (!g || !g->ops)
        return MOX_ERR_INVAL;
    if (!g->ops->tick)
        return NOGROUP(g, "tick");
    return g->ops->tick(g->self, now_ns);
}

const mox_errinfo *mox_engine_error(const mox_engine *g) { return g ? &g->err : NULL; }
