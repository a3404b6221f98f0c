/* A small Prometheus registry behind the library's metrics interface:
 * counters, histograms with fixed buckets and gauges, rendered in the text
 * exposition format. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "moxd.h"

enum { K_COUNTER, K_HISTOGRAM, K_GAUGE };

static const double buckets[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

typedef struct series {
    char *name;
    char *labels; /* rendered: a="x",b="y" */
    int kind;
    double value; /* counter/gauge; histogram sum */
    unsigned long long count;
    unsigned long long bucket[NBUCKETS];
    struct series *next;
} series;

struct moxd_metrics {
    pthread_mutex_t mu;
    series *head;
};

int moxd_metrics_new(moxd_metrics **out)
{
    moxd_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return MOX_ERR_NOMEM;
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return MOX_OK;
}

void moxd_metrics_free(moxd_metrics *m)
{
    if (!m)
        return;
    for (series *s = m->head, *n; s; s = n) {
        n = s->next;
        free(s->name);
        free(s->labels);
        free(s);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static void render_labels(mox_buf *b, const mox_metric_label *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mox_buf_appendf(b, "%s%s=\"", i ? "," : "", l[i].name);
        for (const char *p = l[i].value ? l[i].value : ""; *p; p++) {
            if (*p == '"' || *p == '\\')
                mox_buf_append_byte(b, '\\');
            if (*p == '\n')
                mox_buf_append_str(b, "\\n");
            else
                mox_buf_append_byte(b, (unsigned char)*p);
        }
        mox_buf_append_byte(b, '"');
    }
}

static series *get(moxd_metrics *m, const char *name, const char *labels, int kind)
{
    series **pp = &m->head;
    for (; *pp; pp = &(*pp)->next) {
        int c = strcmp((*pp)->name, name);
        if (c == 0)
            c = strcmp((*pp)->labels, labels);
        if (c == 0)
            return *pp;
        if (c > 0)
            break;
    }
    series *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->name = moxd_strdup(name);
    s->labels = moxd_strdup(labels);
    s->kind = kind;
    s->next = *pp;
    *pp = s;
    return s;
}

static void add(moxd_metrics *m, const char *name, const mox_metric_label *l, size_t n, int kind,
                double v)
{
    mox_buf b = MOX_BUF_INIT;
    render_labels(&b, l, n);
    pthread_mutex_lock(&m->mu);
    series *s = get(m, name, b.data ? (char *)b.data : "", kind);
    if (s) {
        if (kind == K_HISTOGRAM) {
            s->value += v;
            s->count++;
            for (size_t i = 0; i < NBUCKETS; i++)
                if (v <= buckets[i])
                    s->bucket[i]++;
        } else if (kind == K_GAUGE) {
            s->value = v;
        } else {
            s->value += v;
        }
    }
    pthread_mutex_unlock(&m->mu);
    mox_buf_free(&b);
}

static void counter_add(void *ctx, const char *name, const mox_metric_label *l, size_t n, double d)
{
    add(ctx, name, l, n, K_COUNTER, d);
}

static void observe(void *ctx, const char *name, const mox_metric_label *l, size_t n, double v)
{
    add(ctx, name, l, n, K_HISTOGRAM, v);
}

void moxd_metrics_gauge_set(moxd_metrics *m, const char *name, double v)
{
    add(m, name, NULL, 0, K_GAUGE, v);
}

void moxd_metrics_sink(moxd_metrics *m, mox_metrics *sink)
{
    mox_metrics s = MOX_METRICS_INIT;
    s.ctx = m;
    s.counter_add = counter_add;
    s.histogram_observe = observe;
    *sink = s;
}

int moxd_metrics_render(moxd_metrics *m, mox_buf *out)
{
    pthread_mutex_lock(&m->mu);
    const char *last = "";
    for (series *s = m->head; s; s = s->next) {
        if (strcmp(last, s->name)) {
            mox_buf_appendf(out, "# TYPE %s %s\n", s->name,
                            s->kind == K_COUNTER ? "counter"
                            : s->kind == K_GAUGE ? "gauge" : "histogram");
            last = s->name;
        }
        const char *sep = s->labels[0] ? "," : "";
        if (s->kind == K_HISTOGRAM) {
            for (size_t i = 0; i < NBUCKETS; i++)
                mox_buf_appendf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", s->name, s->labels, sep,
                                buckets[i], s->bucket[i]);
            mox_buf_appendf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", s->name, s->labels, sep,
                            s->count);
            mox_buf_appendf(out, "%s_sum{%s} %.17g\n%s_count{%s} %llu\n", s->name, s->labels,
                            s->value, s->name, s->labels, s->count);
        } else if (s->labels[0]) {
            mox_buf_appendf(out, "%s{%s} %.17g\n", s->name, s->labels, s->value);
        } else {
            mox_buf_appendf(out, "%s %.17g\n", s->name, s->value);
        }
    }
    pthread_mutex_unlock(&m->mu);
    return MOX_OK;
}
