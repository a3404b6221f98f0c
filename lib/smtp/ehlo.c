/* Service extensions: names, the EHLO reply a server sends and the one a
 * client reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_priv.h"

static const struct {
    unsigned bit;
    const char *name;
} exts[] = {
    {MOX_SMTP_EXT_PIPELINING, "PIPELINING"},
    {MOX_SMTP_EXT_SIZE, "SIZE"},
    {MOX_SMTP_EXT_8BITMIME, "8BITMIME"},
    {MOX_SMTP_EXT_SMTPUTF8, "SMTPUTF8"},
    {MOX_SMTP_EXT_CHUNKING, "CHUNKING"},
    {MOX_SMTP_EXT_BINARYMIME, "BINARYMIME"},
    {MOX_SMTP_EXT_DSN, "DSN"},
    {MOX_SMTP_EXT_LIMITS, "LIMITS"},
    {MOX_SMTP_EXT_REQUIRETLS, "REQUIRETLS"},
    {MOX_SMTP_EXT_STARTTLS, "STARTTLS"},
    {MOX_SMTP_EXT_AUTH, "AUTH"},
    {MOX_SMTP_EXT_FUTURERELEASE, "FUTURERELEASE"},
    {MOX_SMTP_EXT_ENHANCEDSTATUSCODES, "ENHANCEDSTATUSCODES"},
};

const char *mox_smtp_ext_name(unsigned bit)
{
    for (size_t i = 0; i < MOX_ARRAY_LEN(exts); i++)
        if (exts[i].bit == bit)
            return exts[i].name;
    return NULL;
}

unsigned mox_smtp_ext_parse(const char *k, size_t n)
{
    if (!k)
        return 0;
    for (size_t i = 0; i < MOX_ARRAY_LEN(exts); i++)
        if (moxi_smtp_word_eq(k, n, exts[i].name))
            return exts[i].bit;
    return 0;
}

/* ---------------------------------------------------------------- parse */

void mox_smtp_ehlo_clear(mox_smtp_ehlo *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nauth; i++)
        mox_free(e->auth[i]);
    mox_free(e->auth);
    mox_free(e->hostname);
    memset(e, 0, sizeof *e);
}

int mox_smtp_ehlo_has_auth(const mox_smtp_ehlo *e, const char *name)
{
    if (!e || !name)
        return 0;
    for (size_t i = 0; i < e->nauth; i++)
        if (!moxi_strncasecmp(e->auth[i], name, SIZE_MAX))
            return 1;
    return 0;
}

/* Parses 1-`maxdigits` decimal digits; 0 on anything else. */
static uint64_t parse_num(const char *p, size_t n, size_t maxdigits)
{
    if (n == 0 || n > maxdigits)
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!moxi_is_digit(p[i]))
            return 0;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    return v;
}

static int add_auth(mox_smtp_ehlo *e, const char *w, size_t n)
{
    /* Mechanism names are 1-20 of [A-Z0-9-_] (RFC 4422 §3.1). */
    if (n == 0 || n > 20)
        return MOX_OK;
    for (size_t i = 0; i < n; i++) {
        char c = w[i];
        if (!(moxi_is_alpha(c) || moxi_is_digit(c) || c == '-' || c == '_'))
            return MOX_OK;
    }
    for (size_t i = 0; i < e->nauth; i++)
        if (strlen(e->auth[i]) == n && moxi_memcaseeq(e->auth[i], w, n))
            return MOX_OK;
    char *m = moxi_strndup(w, n);
    if (!m)
        return MOX_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (m[i] >= 'a' && m[i] <= 'z')
            m[i] = (char)(m[i] - 32);
    char **na = mox_realloc(e->auth, (e->nauth + 1) * sizeof *na);
    if (!na) {
        mox_free(m);
        return MOX_ERR_NOMEM;
    }
    e->auth = na;
    e->auth[e->nauth++] = m;
    return MOX_OK;
}

typedef struct {
    const char *p;
    size_t n;
} word;

static size_t split(const char *line, word *w, size_t cap)
{
    size_t nw = 0;
    const char *p = line;
    while (*p && nw < cap) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *b = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        w[nw].p = b;
        w[nw].n = (size_t)(p - b);
        nw++;
    }
    return nw;
}

/* RFC 9422 §3: limits the client cannot interpret are treated as absent; a
 * limit given twice contradicts itself, so neither value is trusted. */
static void parse_limits(mox_smtp_ehlo *e, const word *w, size_t nw)
{
    static const char *const names[3] = {"RCPTMAX", "MAILMAX", "RCPTDOMAINMAX"};
    uint32_t val[3] = {0, 0, 0};
    int seen[3] = {0, 0, 0};
    for (size_t i = 1; i < nw; i++) {
        const char *eq = memchr(w[i].p, '=', w[i].n);
        if (!eq)
            continue;
        size_t kl = (size_t)(eq - w[i].p);
        for (int k = 0; k < 3; k++) {
            if (!moxi_smtp_word_eq(w[i].p, kl, names[k]))
                continue;
            seen[k]++;
            val[k] = (uint32_t)parse_num(eq + 1, w[i].n - kl - 1, 9);
        }
    }
    uint32_t *dst[3] = {&e->rcptmax, &e->mailmax, &e->rcptdomainmax};
    for (int k = 0; k < 3; k++)
        *dst[k] = seen[k] == 1 ? val[k] : 0;
}

int mox_smtp_ehlo_parse(const mox_smtp_reply *r, mox_smtp_ehlo *e)
{
    if (!r || !e || r->code != 250)
        return MOX_ERR_INVAL;
    memset(e, 0, sizeof *e);
    int rc = MOX_OK;
    word w[64];
    for (size_t li = 0; li < r->nlines && rc == MOX_OK; li++) {
        size_t nw = split(r->lines[li], w, MOX_ARRAY_LEN(w));
        if (li == 0) {
            if (nw > 0 && !(e->hostname = moxi_strndup(w[0].p, w[0].n)))
                rc = MOX_ERR_NOMEM;
            continue;
        }
        if (nw == 0)
            continue;
        const char *k = w[0].p;
        size_t kl = w[0].n;
        if (kl > 5 && moxi_memcaseeq(k, "AUTH=", 5)) {
            /* the pre-standard form some servers still send */
            e->flags |= MOX_SMTP_EXT_AUTH;
            rc = add_auth(e, k + 5, kl - 5);
            for (size_t i = 1; i < nw && rc == MOX_OK; i++)
                rc = add_auth(e, w[i].p, w[i].n);
            continue;
        }
        unsigned bit = mox_smtp_ext_parse(k, kl);
        e->flags |= bit;
        switch (bit) {
        case MOX_SMTP_EXT_SIZE:
            e->size_max = nw > 1 ? parse_num(w[1].p, w[1].n, 19) : 0;
            break;
        case MOX_SMTP_EXT_LIMITS:
            parse_limits(e, w, nw);
            break;
        case MOX_SMTP_EXT_FUTURERELEASE:
            if (nw > 1)
                e->hold_max_interval = parse_num(w[1].p, w[1].n, 19);
            if (nw > 2 && w[2].n < sizeof e->hold_max_datetime) {
                memcpy(e->hold_max_datetime, w[2].p, w[2].n);
                e->hold_max_datetime[w[2].n] = 0;
            }
            break;
        case MOX_SMTP_EXT_AUTH:
            for (size_t i = 1; i < nw && rc == MOX_OK; i++)
                rc = add_auth(e, w[i].p, w[i].n);
            break;
        default:
            break;
        }
    }
    if (rc != MOX_OK)
        mox_smtp_ehlo_clear(e);
    return rc;
}

/* ---------------------------------------------------------------- format */

/* Appends one line (without CRLF) to the list; remembers failure. */
static void line(mox_buf *b, int *err, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void line(mox_buf *b, int *err, const char *fmt, ...)
{
    if (*err)
        return;
    if (b->len && mox_buf_append_byte(b, '\n') != MOX_OK) {
        *err = MOX_ERR_NOMEM;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    if (mox_buf_vappendf(b, fmt, ap) != MOX_OK)
        *err = MOX_ERR_NOMEM;
    va_end(ap);
}

/* Printable ASCII copy of a parameter for the reply (at most cap-1). */
static void printable(char *dst, size_t cap, const char *s)
{
    size_t o = 0;
    for (; s && *s && o + 1 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        dst[o++] = c > 0x20 && c < 0x7f ? (char)c : '?';
    }
    dst[o] = 0;
}

int mox_smtp_ehlo_format(const mox_smtp_ehlo *e, const char *greeting, mox_buf *out)
{
    if (!e || !out || !e->hostname || !*e->hostname)
        return MOX_ERR_INVAL;
    unsigned x = e->flags;
    mox_buf b = MOX_BUF_INIT;
    int err = MOX_OK;
    char h[256], g[400];
    printable(h, sizeof h, e->hostname);
    size_t gl = 0;
    for (const char *q = greeting; q && *q && gl + 1 < sizeof g; q++) {
        unsigned char c = (unsigned char)*q;
        g[gl++] = c < 0x20 || c == 0x7f ? ' ' : c >= 0x80 ? '?' : (char)c;
    }
    g[gl] = 0;
    line(&b, &err, "%s%s%s", h, g[0] ? " " : "", g);
    if (x & MOX_SMTP_EXT_PIPELINING)
        line(&b, &err, "PIPELINING");
    if (x & MOX_SMTP_EXT_SIZE) {
        if (e->size_max)
            line(&b, &err, "SIZE %llu", (unsigned long long)e->size_max);
        else
            line(&b, &err, "SIZE");
    }
    /* Never the last line: ENHANCEDSTATUSCODES or others may follow, and a
     * client that stops at STARTTLS still sees the rest after TLS. */
    if (x & MOX_SMTP_EXT_STARTTLS)
        line(&b, &err, "STARTTLS");
    if (x & MOX_SMTP_EXT_REQUIRETLS)
        line(&b, &err, "REQUIRETLS");
    if ((x & MOX_SMTP_EXT_AUTH) && e->nauth) {
        mox_buf m = MOX_BUF_INIT;
        for (size_t i = 0; i < e->nauth && err == MOX_OK; i++) {
            char a[32];
            printable(a, sizeof a, e->auth[i]);
            if (mox_buf_appendf(&m, "%s%s", i ? " " : "", a) != MOX_OK)
                err = MOX_ERR_NOMEM;
        }
        line(&b, &err, "AUTH %s", m.data ? (const char *)m.data : "");
        mox_buf_free(&m);
    }
    if (x & MOX_SMTP_EXT_FUTURERELEASE) {
        char d[sizeof e->hold_max_datetime];
        printable(d, sizeof d, e->hold_max_datetime);
        line(&b, &err, "FUTURERELEASE %llu %s", (unsigned long long)e->hold_max_interval, d);
    }
    if (x & MOX_SMTP_EXT_ENHANCEDSTATUSCODES)
        line(&b, &err, "ENHANCEDSTATUSCODES");
    if (x & MOX_SMTP_EXT_8BITMIME)
        line(&b, &err, "8BITMIME");
    if ((x & MOX_SMTP_EXT_LIMITS) && (e->rcptmax || e->mailmax || e->rcptdomainmax)) {
        char l[96] = "LIMITS";
        size_t o = strlen(l);
        if (e->rcptmax)
            o += (size_t)snprintf(l + o, sizeof l - o, " RCPTMAX=%u", (unsigned)e->rcptmax);
        if (e->mailmax)
            o += (size_t)snprintf(l + o, sizeof l - o, " MAILMAX=%u", (unsigned)e->mailmax);
        if (e->rcptdomainmax)
            snprintf(l + o, sizeof l - o, " RCPTDOMAINMAX=%u", (unsigned)e->rcptdomainmax);
        line(&b, &err, "%s", l);
    }
    if (x & MOX_SMTP_EXT_SMTPUTF8)
        line(&b, &err, "SMTPUTF8");
    if (x & MOX_SMTP_EXT_CHUNKING)
        line(&b, &err, "CHUNKING");
    if (x & MOX_SMTP_EXT_BINARYMIME)
        line(&b, &err, "BINARYMIME");
    if (x & MOX_SMTP_EXT_DSN)
        line(&b, &err, "DSN");
    size_t orig = out->len;
    const char *t = b.data ? (const char *)b.data : "";
    while (err == MOX_OK) {
        const char *nl = strchr(t, '\n');
        size_t len = nl ? (size_t)(nl - t) : strlen(t);
        if (mox_buf_append(out, nl ? "250-" : "250 ", 4) != MOX_OK ||
            mox_buf_append(out, t, len) != MOX_OK || mox_buf_append(out, "\r\n", 2) != MOX_OK)
            err = MOX_ERR_NOMEM;
        if (!nl)
            break;
        t = nl + 1;
    }
    mox_buf_free(&b);
    if (err != MOX_OK) {
        out->len = orig;
        if (out->data)
            out->data[orig] = 0;
    }
    return err;
}
