/* EHLO reply: the service extensions a server announces. */
#include <stdlib.h>
#include <string.h>

#include "core/core_priv.h"
#include "mox/smtp_client.h"

void mox_smtp_client_ext_clear(mox_smtp_client_ext *ext)
{
    if (!ext)
        return;
    for (size_t i = 0; i < ext->nauth; i++)
        mox_free(ext->auth[i]);
    mox_free(ext->auth);
    mox_free(ext->hostname);
    memset(ext, 0, sizeof *ext);
}

int mox_smtp_client_ext_has_auth(const mox_smtp_client_ext *ext, const char *name)
{
    if (!ext || !name)
        return 0;
    for (size_t i = 0; i < ext->nauth; i++)
        if (!moxi_strncasecmp(ext->auth[i], name, SIZE_MAX))
            return 1;
    return 0;
}

static int word_eq(const char *w, size_t n, const char *kw)
{
    return strlen(kw) == n && moxi_memcaseeq(w, kw, n);
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

static int add_auth(mox_smtp_client_ext *ext, const char *w, size_t n)
{
    /* Mechanism names are 1-20 of [A-Z0-9-_] (RFC 4422 §3.1). */
    if (n == 0 || n > 20)
        return MOX_OK;
    for (size_t i = 0; i < n; i++) {
        char c = w[i];
        if (!(moxi_is_alpha(c) || moxi_is_digit(c) || c == '-' || c == '_'))
            return MOX_OK;
    }
    for (size_t i = 0; i < ext->nauth; i++)
        if (strlen(ext->auth[i]) == n && moxi_memcaseeq(ext->auth[i], w, n))
            return MOX_OK;
    char *m = moxi_strndup(w, n);
    if (!m)
        return MOX_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (m[i] >= 'a' && m[i] <= 'z')
            m[i] = (char)(m[i] - 32);
    char **na = mox_realloc(ext->auth, (ext->nauth + 1) * sizeof *na);
    if (!na) {
        mox_free(m);
        return MOX_ERR_NOMEM;
    }
    ext->auth = na;
    ext->auth[ext->nauth++] = m;
    return MOX_OK;
}

/* Splits `line` at spaces; calls back for each word after the first. */
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
static void parse_limits(mox_smtp_client_ext *ext, const word *w, size_t nw)
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
            if (!word_eq(w[i].p, kl, names[k]))
                continue;
            seen[k]++;
            val[k] = (uint32_t)parse_num(eq + 1, w[i].n - kl - 1, 9);
        }
    }
    uint32_t *dst[3] = {&ext->rcptmax, &ext->mailmax, &ext->rcptdomainmax};
    for (int k = 0; k < 3; k++)
        *dst[k] = seen[k] == 1 ? val[k] : 0;
}

int mox_smtp_client_ext_parse(const mox_smtp_client_reply *r, mox_smtp_client_ext *ext)
{
    if (!r || !ext || r->code != 250)
        return MOX_ERR_INVAL;
    memset(ext, 0, sizeof *ext);
    int rc = MOX_OK;
    word w[64];
    for (size_t li = 0; li < r->nlines && rc == MOX_OK; li++) {
        size_t nw = split(r->lines[li], w, MOX_ARRAY_LEN(w));
        if (li == 0) {
            if (nw > 0 && !(ext->hostname = moxi_strndup(w[0].p, w[0].n)))
                rc = MOX_ERR_NOMEM;
            continue;
        }
        if (nw == 0)
            continue;
        const char *k = w[0].p;
        size_t kl = w[0].n;
        if (word_eq(k, kl, "PIPELINING"))
            ext->flags |= MOX_SMTP_CLIENT_EXT_PIPELINING;
        else if (word_eq(k, kl, "STARTTLS"))
            ext->flags |= MOX_SMTP_CLIENT_EXT_STARTTLS;
        else if (word_eq(k, kl, "8BITMIME"))
            ext->flags |= MOX_SMTP_CLIENT_EXT_8BITMIME;
        else if (word_eq(k, kl, "SMTPUTF8"))
            ext->flags |= MOX_SMTP_CLIENT_EXT_SMTPUTF8;
        else if (word_eq(k, kl, "CHUNKING"))
            ext->flags |= MOX_SMTP_CLIENT_EXT_CHUNKING;
        else if (word_eq(k, kl, "BINARYMIME"))
            ext->flags |= MOX_SMTP_CLIENT_EXT_BINARYMIME;
        else if (word_eq(k, kl, "DSN"))
            ext->flags |= MOX_SMTP_CLIENT_EXT_DSN;
        else if (word_eq(k, kl, "REQUIRETLS"))
            ext->flags |= MOX_SMTP_CLIENT_EXT_REQUIRETLS;
        else if (word_eq(k, kl, "ENHANCEDSTATUSCODES"))
            ext->flags |= MOX_SMTP_CLIENT_EXT_ENHANCEDSTATUSCODES;
        else if (word_eq(k, kl, "SIZE")) {
            ext->flags |= MOX_SMTP_CLIENT_EXT_SIZE;
            ext->size_max = nw > 1 ? parse_num(w[1].p, w[1].n, 19) : 0;
        } else if (word_eq(k, kl, "LIMITS")) {
            ext->flags |= MOX_SMTP_CLIENT_EXT_LIMITS;
            parse_limits(ext, w, nw);
        } else if (word_eq(k, kl, "FUTURERELEASE")) {
            ext->flags |= MOX_SMTP_CLIENT_EXT_FUTURERELEASE;
            if (nw > 1)
                ext->hold_max_interval = parse_num(w[1].p, w[1].n, 19);
            if (nw > 2 && w[2].n < sizeof ext->hold_max_datetime) {
                memcpy(ext->hold_max_datetime, w[2].p, w[2].n);
                ext->hold_max_datetime[w[2].n] = 0;
            }
        } else if (word_eq(k, kl, "AUTH") || (kl > 5 && moxi_memcaseeq(k, "AUTH=", 5))) {
            ext->flags |= MOX_SMTP_CLIENT_EXT_AUTH;
            size_t first = 1;
            if (kl > 5 && k[4] == '=') {
                rc = add_auth(ext, k + 5, kl - 5);
            }
            for (size_t i = first; i < nw && rc == MOX_OK; i++)
                rc = add_auth(ext, w[i].p, w[i].n);
        }
    }
    if (rc != MOX_OK)
        mox_smtp_client_ext_clear(ext);
    return rc;
}
