/* SMTP server engine: command lines, their parsing and the decisions'
 * effects. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_server_priv.h"
#include "mox/text.h"

/* ---------------------------------------------------------------- helpers */

static int ieq(const char *a, size_t alen, const char *lit)
{
    size_t n = strlen(lit);
    return alen == n && moxi_memcaseeq(a, lit, n);
}

static int need_hello(mox_smtp_server *s)
{
    if (s->hello)
        return 1;
    moxi_smtp_error(s, 503, "5.5.1", "say EHLO or HELO first");
    return 0;
}

/* ---------------------------------------------------------------- EHLO */

static void ehlo_reply(mox_smtp_server *s, const mox_smtp_server_reply *r)
{
    unsigned x = s->ext;
    mox_smtp_ehlo e;
    memset(&e, 0, sizeof e);
    e.hostname = s->hostname;
    e.flags = (x & (MOX_SMTP_EXT_PIPELINING | MOX_SMTP_EXT_SIZE | MOX_SMTP_EXT_8BITMIME |
                    MOX_SMTP_EXT_SMTPUTF8 | MOX_SMTP_EXT_CHUNKING | MOX_SMTP_EXT_BINARYMIME |
                    MOX_SMTP_EXT_DSN | MOX_SMTP_EXT_LIMITS)) |
              MOX_SMTP_EXT_ENHANCEDSTATUSCODES;
    e.size_max = s->cfg.max_message_size;
    e.rcptmax = s->cfg.max_rcpts;
    if (!s->sess.tls && s->cfg.tls_available)
        e.flags |= MOX_SMTP_EXT_STARTTLS;
    else if (s->sess.tls && (x & MOX_SMTP_EXT_REQUIRETLS))
        e.flags |= MOX_SMTP_EXT_REQUIRETLS;
    if (s->cfg.mode == MOX_SMTP_SERVER_SUBMISSION && s->cfg.max_hold_seconds) {
        e.flags |= MOX_SMTP_EXT_FUTURERELEASE;
        e.hold_max_interval = s->cfg.max_hold_seconds;
        mox_smtp_rfc3339_format(moxi_smtp_now_wall_s(s) + s->cfg.max_hold_seconds,
                                e.hold_max_datetime, sizeof e.hold_max_datetime);
    }
    /* The mechanisms, split into the names the reply lists. */
    mox_buf mechs = MOX_BUF_INIT;
    char *names[32];
    int mrc = moxi_smtp_auth_mechs(s, &mechs);
    if (mrc == MOX_ERR_NOMEM) {
        mox_buf_free(&mechs);
        s->broken = 1;
        return;
    }
    if (mrc == MOX_OK && mechs.len) {
        for (char *p = (char *)mechs.data, *save = NULL, *t; (t = strtok_r(p, " ", &save));
             p = NULL)
            if (e.nauth < MOX_ARRAY_LEN(names))
                names[e.nauth++] = t;
        e.auth = names;
        e.flags |= MOX_SMTP_EXT_AUTH;
    }
    /* Formatted directly: the extension list may exceed the text field. */
    uint64_t start = s->out_base + s->out.len;
    int rc = mox_smtp_ehlo_format(&e, r->text, &s->out);
    mox_buf_free(&mechs);
    if (rc != MOX_OK) {
        s->broken = 1;
        return;
    }
    moxi_smtp_count(s, "mox_smtpserver_reply_total", "class", "2xx");
    if (r->delay_ms)
        moxi_smtp_hold(s, start, s->out_base + s->out.len, r->delay_ms, r->slow);
    if (r->close)
        s->closing = 1;
}

static void cmd_hello(mox_smtp_server *s, int ehlo, const char *arg, size_t len)
{
    while (len && arg[0] == ' ') {
        arg++;
        len--;
    }
    while (len && arg[len - 1] == ' ')
        len--;
    size_t w = 0;
    while (w < len && arg[w] != ' ')
        w++;
    if (w == 0) {
        moxi_smtp_error(s, 501, "5.5.4", ehlo ? "EHLO needs a domain" : "HELO needs a domain");
        return;
    }
    if (w < len && s->cfg.pedantic) {
        moxi_smtp_error(s, 501, "5.5.4", "only a domain is allowed after EHLO/HELO");
        return;
    }
    if (w > 255) {
        moxi_smtp_error(s, 501, "5.5.4", "domain too long");
        return;
    }
    char *name = moxi_strndup(arg, w);
    if (!name) {
        s->broken = 1;
        return;
    }
    int lit;
    int valid = mox_smtp_hello_valid(name, w, &lit);
    if (valid < 0) {
        mox_free(name);
        s->broken = 1;
        return;
    }
    if (!valid && s->cfg.pedantic) {
        mox_free(name);
        moxi_smtp_error(s, 501, "5.5.4", "not a valid domain or address literal");
        return;
    }
    /* RFC 5321 §4.1.4: EHLO/HELO also resets the transaction. */
    moxi_smtp_txn_reset(s, MOX_SMTP_SERVER_RESET_HELLO);
    mox_free(s->hello_pending);
    s->hello_pending = name;
    s->hello_is_ehlo = ehlo;
    mox_smtp_server_hello h = {ehlo, name, lit, valid};
    mox_smtp_server_reply r;
    moxi_smtp_default(&r, 250, "", "");
    moxi_smtp_ask(s, MOX_SMTP_SERVER_DECIDE_HELLO);
    int rc = MOX_SMTP_SERVER_REPLY;
    if (s->cb.on_hello)
        rc = s->cb.on_hello(s->user, s, &h, &r);
    moxi_smtp_decide(s, MOX_SMTP_SERVER_DECIDE_HELLO, rc, &r);
}

/* ---------------------------------------------------------------- parameters */

/* Splits "<path>" (quote-aware) or, leniently, a bare path up to a space.
 * Returns the length of the path text, 0 on error. */
static size_t path_span(const char *p, size_t n, int lenient)
{
    if (n && p[0] == '<') {
        int inq = 0;
        for (size_t i = 1; i < n; i++) {
            char c = p[i];
            if (inq) {
                if (c == '\\')
                    i++;
                else if (c == '"')
                    inq = 0;
            } else if (c == '"') {
                inq = 1;
            } else if (c == '>') {
                return i + 1;
            }
        }
        return 0;
    }
    if (!lenient)
        return 0;
    size_t i = 0;
    while (i < n && p[i] != ' ')
        i++;
    return i;
}

static int parse_u64(const char *p, size_t n, uint64_t *v)
{
    if (n == 0 || n > 19)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (!moxi_is_digit(p[i]))
            return -1;
        x = x * 10 + (uint64_t)(p[i] - '0');
    }
    *v = x;
    return 0;
}

/* One esmtp-keyword[=value]. */
typedef struct param {
    const char *k, *v;
    size_t klen, vlen;
    int has_v;
} param;

/* Splits the parameters; replies and returns -1 on a syntax error. */
static int split_params(mox_smtp_server *s, const char *p, size_t n, param *out, size_t cap,
                        size_t *count)
{
    size_t i = 0, c = 0;
    for (;;) {
        size_t sp = 0;
        while (i < n && p[i] == ' ') {
            i++;
            sp++;
        }
        if (i >= n)
            break;
        if (sp == 0 || (sp > 1 && s->cfg.pedantic)) {
            moxi_smtp_error(s, 501, "5.5.4", "malformed parameters");
            return -1;
        }
        size_t st = i;
        while (i < n && p[i] != ' ')
            i++;
        if (c == cap) {
            moxi_smtp_error(s, 501, "5.5.4", "too many parameters");
            return -1;
        }
        param *q = &out[c++];
        q->k = p + st;
        const char *eq = memchr(q->k, '=', i - st);
        q->has_v = eq != NULL;
        q->klen = eq ? (size_t)(eq - q->k) : i - st;
        q->v = eq ? eq + 1 : NULL;
        q->vlen = eq ? (size_t)(p + i - q->v) : 0;
        /* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
        int ok = q->klen > 0 && (moxi_is_alpha(q->k[0]) || moxi_is_digit(q->k[0]));
        for (size_t j = 1; ok && j < q->klen; j++)
            ok = moxi_is_alpha(q->k[j]) || moxi_is_digit(q->k[j]) || q->k[j] == '-';
        for (size_t j = 0; ok && j < q->vlen; j++) {
            unsigned char ch = (unsigned char)q->v[j];
            ok = ch != '=' && ch > 0x20 && ch != 0x7f; /* UTF-8 allowed (RFC 6531) */
        }
        if (!ok || (q->has_v && q->vlen == 0)) {
            moxi_smtp_error(s, 501, "5.5.4", "malformed parameter");
            return -1;
        }
        for (size_t j = 0; j + 1 < c; j++)
            if (out[j].klen == q->klen && moxi_memcaseeq(out[j].k, q->k, q->klen)) {
                moxi_smtp_error(s, 501, "5.5.4", "duplicate parameter");
                return -1;
            }
    }
    *count = c;
    return 0;
}

static void unknown_param(mox_smtp_server *s, const param *q)
{
    char msg[128];
    snprintf(msg, sizeof msg, "unrecognized parameter %.*s", (int)(q->klen > 40 ? 40 : q->klen),
             q->k);
    moxi_smtp_error(s, 555, "5.5.4", msg);
}

/* Maps an address parse failure to its reply. */
static void addr_error(mox_smtp_server *s, int rcpt, int smtputf8, int rc, const mox_errinfo *ei)
{
    const char *what = rcpt ? "recipient" : "sender";
    char msg[300];
    if (ei->detail == MOX_ADDR_ERR_UTF8 && !smtputf8) {
        snprintf(msg, sizeof msg, "non-ASCII %s address requires SMTPUTF8", what);
        moxi_smtp_error(s, 553, "5.6.7", msg);
        return;
    }
    const char *enh = rcpt ? "5.1.3" : "5.1.7";
    if (rc == MOX_ERR_IDNA || ei->detail == MOX_ADDR_ERR_DOMAIN || ei->detail == MOX_ADDR_ERR_LITERAL)
        enh = rcpt ? "5.1.2" : "5.1.8";
    snprintf(msg, sizeof msg, "invalid %s address: %s", what, ei->msg[0] ? ei->msg : "syntax error");
    moxi_smtp_error(s, 501, enh, msg);
}

/* Parses "<path>" with the address module. Returns 0, or -1 after replying. */
static int parse_path(mox_smtp_server *s, const char *p, size_t n, int rcpt, int smtputf8,
                      mox_path *out)
{
    unsigned flags = (rcpt ? 0 : MOX_PATH_REVERSE) | (smtputf8 ? MOX_PATH_SMTPUTF8 : 0);
    if (n == 0 || p[0] != '<')
        flags |= MOX_PATH_NO_BRACKETS;
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    int rc = mox_path_parse(p, n, flags, out, &ei);
    if (rc == MOX_ERR_NOMEM) {
        s->broken = 1;
        return -1;
    }
    if (rc != MOX_OK) {
        mox_path_clear(out);
        addr_error(s, rcpt, smtputf8, rc, &ei);
        return -1;
    }
    return 0;
}

/* Parses "FROM:" / "TO:" and splits path and parameters. */
static int path_and_params(mox_smtp_server *s, const char *arg, size_t len, const char *kw,
                           const char **path, size_t *plen, param *ps, size_t cap, size_t *np)
{
    size_t kl = strlen(kw);
    if (len < kl + 1 || arg[0] != ' ' || !moxi_memcaseeq(arg + 1, kw, kl)) {
        char msg[64];
        snprintf(msg, sizeof msg, "syntax error, expected \"%s\"", kw);
        moxi_smtp_error(s, 501, "5.5.4", msg);
        return -1;
    }
    const char *p = arg + 1 + kl;
    size_t n = len - 1 - kl;
    if (n && p[0] == ' ') {
        if (s->cfg.pedantic) {
            moxi_smtp_error(s, 501, "5.5.4", "no space allowed after colon");
            return -1;
        }
        while (n && p[0] == ' ') {
            p++;
            n--;
        }
    }
    size_t pl = path_span(p, n, !s->cfg.pedantic);
    if (pl == 0) {
        moxi_smtp_error(s, 501, "5.5.4", "missing or malformed <path>");
        return -1;
    }
    *path = p;
    *plen = pl;
    return split_params(s, p + pl, n - pl, ps, cap, np);
}

/* ---------------------------------------------------------------- MAIL */

static void cmd_mail(mox_smtp_server *s, const char *arg, size_t len)
{
    if (!need_hello(s))
        return;
    if (s->in_txn) {
        moxi_smtp_error(s, 503, "5.5.1", "nested MAIL command");
        return;
    }
    s->mail_refused = 1; /* until the MAIL decision accepts it */
    if (s->cfg.mode == MOX_SMTP_SERVER_SUBMISSION && !s->auth_user) {
        moxi_smtp_error(s, 530, "5.7.0", "authentication required");
        return;
    }
    const char *path;
    size_t plen, np;
    param ps[16];
    if (path_and_params(s, arg, len, "FROM:", &path, &plen, ps, 16, &np))
        return;
    mox_smtp_server_txn *t = &s->txn;
    moxi_smtp_txn_clear(s);
    unsigned x = s->ext;
    int submission = s->cfg.mode == MOX_SMTP_SERVER_SUBMISSION;
    int64_t holdfor = -1;
    for (size_t i = 0; i < np; i++) {
        param *q = &ps[i];
        if (ieq(q->k, q->klen, "SIZE") && (x & MOX_SMTP_EXT_SIZE)) {
            if (parse_u64(q->v, q->vlen, &t->size_declared)) {
                moxi_smtp_error(s, 501, "5.5.4", "malformed SIZE");
                goto fail;
            }
            if (s->cfg.max_message_size && t->size_declared > s->cfg.max_message_size) {
                moxi_smtp_reply(s, 552, "5.3.4", "message too large");
                goto fail;
            }
        } else if (ieq(q->k, q->klen, "BODY")) {
            if (ieq(q->v, q->vlen, "7BIT"))
                t->body = MOX_SMTP_BODY_7BIT;
            else if (ieq(q->v, q->vlen, "8BITMIME") && (x & MOX_SMTP_EXT_8BITMIME))
                t->body = MOX_SMTP_BODY_8BITMIME;
            else if (ieq(q->v, q->vlen, "BINARYMIME") && (x & MOX_SMTP_EXT_BINARYMIME))
                t->body = MOX_SMTP_BODY_BINARYMIME;
            else {
                moxi_smtp_error(s, 501, "5.5.4", "unsupported BODY");
                goto fail;
            }
        } else if (ieq(q->k, q->klen, "SMTPUTF8") && (x & MOX_SMTP_EXT_SMTPUTF8)) {
            if (q->has_v) {
                moxi_smtp_error(s, 501, "5.5.4", "SMTPUTF8 takes no value");
                goto fail;
            }
            t->smtputf8 = 1;
        } else if (ieq(q->k, q->klen, "REQUIRETLS") && (x & MOX_SMTP_EXT_REQUIRETLS) &&
                   s->sess.tls) {
            if (q->has_v) {
                moxi_smtp_error(s, 501, "5.5.4", "REQUIRETLS takes no value");
                goto fail;
            }
            t->requiretls = 1;
        } else if (ieq(q->k, q->klen, "RET") && (x & MOX_SMTP_EXT_DSN)) {
            if (mox_smtp_ret_parse(q->v, q->vlen, &t->ret) != MOX_OK) {
                moxi_smtp_error(s, 501, "5.5.4", "RET must be FULL or HDRS");
                goto fail;
            }
        } else if (ieq(q->k, q->klen, "ENVID") && (x & MOX_SMTP_EXT_DSN)) {
            int rc = mox_smtp_envid_parse(q->v, q->vlen, &t->envid);
            if (rc == MOX_ERR_NOMEM) {
                s->broken = 1;
                goto fail;
            }
            if (rc != MOX_OK) {
                moxi_smtp_error(s, 501, "5.5.4", "malformed ENVID");
                goto fail;
            }
        } else if (ieq(q->k, q->klen, "AUTH") && s->cfg.auth_mechs) {
            /* RFC 4954 §5: the original submitter; only meaningful from a
             * trusted (authenticated) client, otherwise taken as <>. */
            char *v = NULL;
            int rc = mox_smtp_xtext_decode(q->v, q->vlen, &v);
            if (rc == MOX_ERR_NOMEM) {
                s->broken = 1;
                goto fail;
            }
            if (rc != MOX_OK) {
                moxi_smtp_error(s, 501, "5.5.4", "malformed AUTH parameter");
                goto fail;
            }
            if (!s->auth_user) {
                mox_free(v);
                v = moxi_strdup("<>");
                if (!v) {
                    s->broken = 1;
                    goto fail;
                }
            }
            t->auth = v;
        } else if (ieq(q->k, q->klen, "HOLDFOR") && submission && s->cfg.max_hold_seconds) {
            uint64_t v;
            if (holdfor >= 0 || t->hold_until || parse_u64(q->v, q->vlen, &v)) {
                moxi_smtp_error(s, 501, "5.5.4", "malformed HOLDFOR");
                goto fail;
            }
            if (v > s->cfg.max_hold_seconds) {
                moxi_smtp_error(s, 501, "5.5.4", "HOLDFOR exceeds the maximum");
                goto fail;
            }
            holdfor = (int64_t)v;
            t->hold_until = moxi_smtp_now_wall_s(s) + holdfor;
        } else if (ieq(q->k, q->klen, "HOLDUNTIL") && submission && s->cfg.max_hold_seconds) {
            int64_t when;
            if (holdfor >= 0 || t->hold_until || mox_smtp_rfc3339_parse(q->v, q->vlen, &when)) {
                moxi_smtp_error(s, 501, "5.5.4", "malformed HOLDUNTIL");
                goto fail;
            }
            int64_t now = moxi_smtp_now_wall_s(s);
            if (when > now + (int64_t)s->cfg.max_hold_seconds) {
                moxi_smtp_error(s, 501, "5.5.4", "HOLDUNTIL too far in the future");
                goto fail;
            }
            t->hold_until = when > now ? when : now;
        } else {
            unknown_param(s, q);
            goto fail;
        }
    }
    if (parse_path(s, path, plen, 0, t->smtputf8, &t->mail_from))
        goto fail;
    mox_smtp_server_reply r;
    moxi_smtp_default(&r, 250, "2.1.0", "sender ok");
    moxi_smtp_ask(s, MOX_SMTP_SERVER_DECIDE_MAIL);
    int rc = MOX_SMTP_SERVER_REPLY;
    if (s->cb.on_mail)
        rc = s->cb.on_mail(s->user, s, t, &r);
    moxi_smtp_decide(s, MOX_SMTP_SERVER_DECIDE_MAIL, rc, &r);
    return;
fail:
    moxi_smtp_txn_clear(s);
}

/* ---------------------------------------------------------------- RCPT */

static void cmd_rcpt(mox_smtp_server *s, const char *arg, size_t len)
{
    if (!need_hello(s))
        return;
    if (!s->in_txn) {
        if (s->mail_refused)
            moxi_smtp_reply(s, 503, "5.5.1", "need MAIL command first");
        else
            moxi_smtp_error(s, 503, "5.5.1", "need MAIL command first");
        return;
    }
    s->rcpt_tried = 1;
    const char *path;
    size_t plen, np;
    param ps[16];
    if (path_and_params(s, arg, len, "TO:", &path, &plen, ps, 16, &np))
        return;
    if (s->cfg.max_rcpts && s->txn.nrcpts >= s->cfg.max_rcpts) {
        char msg[64];
        snprintf(msg, sizeof msg, "too many recipients, at most %u", s->cfg.max_rcpts);
        moxi_smtp_reply(s, 452, "4.5.3", msg);
        return;
    }
    mox_smtp_server_rcpt *rc = &s->pend_rcpt;
    moxi_smtp_rcpt_clear(rc);
    unsigned x = s->ext;
    for (size_t i = 0; i < np; i++) {
        param *q = &ps[i];
        if (ieq(q->k, q->klen, "NOTIFY") && (x & MOX_SMTP_EXT_DSN)) {
            unsigned bits = 0;
            if (mox_smtp_notify_parse(q->v, q->vlen, &bits) != MOX_OK) {
                moxi_smtp_error(s, 501, "5.5.4", "malformed NOTIFY");
                goto fail;
            }
            rc->notify = bits;
        } else if (ieq(q->k, q->klen, "ORCPT") && (x & MOX_SMTP_EXT_DSN)) {
            int r = mox_smtp_orcpt_parse(q->v, q->vlen, &rc->orcpt);
            if (r == MOX_ERR_NOMEM) {
                s->broken = 1;
                goto fail;
            }
            if (r != MOX_OK) {
                moxi_smtp_error(s, 501, "5.5.4", "malformed ORCPT");
                goto fail;
            }
        } else {
            unknown_param(s, q);
            goto fail;
        }
    }
    if (parse_path(s, path, plen, 1, s->txn.smtputf8, &rc->path))
        goto fail;
    mox_smtp_server_reply r;
    moxi_smtp_default(&r, 250, "2.1.5", "recipient ok");
    moxi_smtp_ask(s, MOX_SMTP_SERVER_DECIDE_RCPT);
    int cr = MOX_SMTP_SERVER_REPLY;
    if (s->cb.on_rcpt)
        cr = s->cb.on_rcpt(s->user, s, &s->txn, rc, &r);
    moxi_smtp_decide(s, MOX_SMTP_SERVER_DECIDE_RCPT, cr, &r);
    return;
fail:
    moxi_smtp_rcpt_clear(rc);
}

/* ---------------------------------------------------------------- DATA/BDAT */

static int no_args(mox_smtp_server *s, const char *arg, size_t len)
{
    if (len == 0)
        return 1;
    moxi_smtp_error(s, 501, "5.5.4", "no parameters allowed");
    return 0;
}

static void ask_data_start(mox_smtp_server *s)
{
    mox_smtp_server_reply r;
    moxi_smtp_default(&r, 354, "", "go ahead, end with <CR><LF>.<CR><LF>");
    moxi_smtp_ask(s, MOX_SMTP_SERVER_DECIDE_DATA_START);
    int rc = MOX_SMTP_SERVER_REPLY;
    if (s->cb.on_data_start)
        rc = s->cb.on_data_start(s->user, s, &s->txn, &r);
    moxi_smtp_decide(s, MOX_SMTP_SERVER_DECIDE_DATA_START, rc, &r);
}

static void cmd_data(mox_smtp_server *s, const char *arg, size_t len)
{
    if (!need_hello(s) || !no_args(s, arg, len))
        return;
    if (!s->in_txn) {
        if (s->mail_refused)
            moxi_smtp_reply(s, 503, "5.5.1", "need MAIL command first");
        else
            moxi_smtp_error(s, 503, "5.5.1", "need MAIL command first");
        return;
    }
    if (s->txn.nrcpts == 0) {
        if (s->rcpt_tried)
            moxi_smtp_reply(s, 503, "5.5.1", "no valid recipients");
        else
            moxi_smtp_error(s, 503, "5.5.1", "need RCPT command first");
        return;
    }
    if (s->txn.chunking) {
        moxi_smtp_error(s, 503, "5.5.1", "DATA not allowed after BDAT");
        return;
    }
    if (s->txn.body == MOX_SMTP_BODY_BINARYMIME) {
        moxi_smtp_error(s, 503, "5.5.1", "BODY=BINARYMIME requires BDAT");
        return;
    }
    s->bdat_size = 0;
    s->bdat_discard = -1; /* marks "DATA" for the decision */
    ask_data_start(s);
}

static void bdat_discard(mox_smtp_server *s, int count_error, int code, const char *enh,
                         const char *text)
{
    moxi_smtp_default(&s->held, code, enh, text);
    s->bdat_discard = 1;
    s->bdat_count_error = count_error;
    moxi_smtp_bdat_begin(s);
}

static void cmd_bdat(mox_smtp_server *s, const char *arg, size_t len)
{
    /* BDAT SP chunk-size [SP "LAST"] */
    if (len < 2 || arg[0] != ' ') {
        moxi_smtp_reply(s, 501, "5.5.4", "BDAT needs a size; closing, the chunk cannot be skipped");
        s->closing = 1;
        return;
    }
    const char *p = arg + 1;
    size_t n = len - 1;
    size_t d = 0;
    while (d < n && moxi_is_digit(p[d]))
        d++;
    uint64_t size;
    int last = 0;
    if (d < n) {
        if (p[d] == ' ' && ieq(p + d + 1, n - d - 1, "LAST"))
            last = 1;
        else
            d = 0;
    }
    if (d == 0 || parse_u64(p, d, &size)) {
        moxi_smtp_reply(s, 501, "5.5.4", "malformed BDAT; closing, the chunk cannot be skipped");
        s->closing = 1;
        return;
    }
    s->bdat_size = size;
    s->bdat_last = last;
    /* Whatever goes wrong, the chunk's octets follow and must be consumed
     * to stay in sync (RFC 3030 §2). */
    if (!(s->ext & MOX_SMTP_EXT_CHUNKING)) {
        bdat_discard(s, 1, 502, "5.5.1", "CHUNKING not offered");
        return;
    }
    if (!s->hello) {
        bdat_discard(s, 1, 503, "5.5.1", "say EHLO or HELO first");
        return;
    }
    if (!s->in_txn) {
        bdat_discard(s, !s->mail_refused, 503, "5.5.1", "need MAIL command first");
        return;
    }
    if (s->txn.nrcpts == 0) {
        if (s->rcpt_tried)
            bdat_discard(s, 0, 503, "5.5.1", "no valid recipients");
        else
            bdat_discard(s, 1, 503, "5.5.1", "need RCPT command first");
        return;
    }
    if (s->dfail) {
        bdat_discard(s, 0, s->dfail_code, s->dfail_enh, s->dfail_text);
        return;
    }
    if (!s->data_started) {
        s->bdat_discard = 0;
        ask_data_start(s);
        return;
    }
    s->bdat_discard = 0;
    moxi_smtp_bdat_begin(s);
}

/* ---------------------------------------------------------------- others */

static void cmd_vrfy(mox_smtp_server *s, int expn, const char *arg, size_t len)
{
    while (len && arg[0] == ' ') {
        arg++;
        len--;
    }
    if (len == 0) {
        moxi_smtp_error(s, 501, "5.5.4", expn ? "EXPN needs an argument" : "VRFY needs an argument");
        return;
    }
    mox_free(s->verify_arg);
    s->verify_arg = moxi_strndup(arg, len);
    if (!s->verify_arg) {
        s->broken = 1;
        return;
    }
    s->verify_expn = expn;
    mox_smtp_server_reply r;
    moxi_smtp_default(&r, 252, "2.5.0", "cannot verify, but will accept the message and attempt delivery");
    moxi_smtp_ask(s, MOX_SMTP_SERVER_DECIDE_VERIFY);
    int rc = MOX_SMTP_SERVER_REPLY;
    if (s->cb.on_verify)
        rc = s->cb.on_verify(s->user, s, expn, s->verify_arg, &r);
    moxi_smtp_decide(s, MOX_SMTP_SERVER_DECIDE_VERIFY, rc, &r);
}

static void cmd_starttls(mox_smtp_server *s, const char *arg, size_t len)
{
    if (!no_args(s, arg, len))
        return;
    if (s->sess.tls) {
        moxi_smtp_error(s, 503, "5.5.1", "TLS is already active");
        return;
    }
    if (!s->cfg.tls_available) {
        moxi_smtp_error(s, 502, "5.5.1", "STARTTLS not available");
        return;
    }
    mox_smtp_server_reply r;
    char text[200];
    snprintf(text, sizeof text, "ready to start TLS%s%s%s", s->conn_id ? " (" : "",
             s->conn_id ? s->conn_id : "", s->conn_id ? ")" : "");
    moxi_smtp_default(&r, 220, "2.0.0", text);
    moxi_smtp_ask(s, MOX_SMTP_SERVER_DECIDE_STARTTLS);
    int rc = MOX_SMTP_SERVER_REPLY;
    if (s->cb.on_starttls)
        rc = s->cb.on_starttls(s->user, s, &r);
    moxi_smtp_decide(s, MOX_SMTP_SERVER_DECIDE_STARTTLS, rc, &r);
}

/* ---------------------------------------------------------------- dispatch */

static void handle_line(mox_smtp_server *s, const char *l, size_t len, int bare_lf)
{
    if (s->phase == PH_AUTH) {
        moxi_smtp_auth_line(s, l, len);
        return;
    }
    if (bare_lf && s->cfg.pedantic) {
        moxi_smtp_error(s, 500, "5.5.2", "bare LF, lines must end with CRLF");
        return;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)l[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            moxi_smtp_error(s, 500, "5.5.2", "control character in command");
            return;
        }
    }
    size_t v = 0;
    while (v < len && l[v] != ' ')
        v++;
    const char *arg = l + v;
    size_t alen = len - v;
    static const char *const verbs[] = {"EHLO", "HELO", "MAIL", "RCPT", "DATA", "BDAT",
                                        "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP",
                                        "STARTTLS", "AUTH"};
    int k = -1;
    for (size_t i = 0; i < MOX_ARRAY_LEN(verbs); i++)
        if (ieq(l, v, verbs[i])) {
            k = (int)i;
            break;
        }
    moxi_smtp_count(s, "mox_smtpserver_command_total", "cmd", k >= 0 ? verbs[k] : "unknown");
    if (s->phase == PH_NOSERVICE && k != 8) {
        moxi_smtp_error(s, 503, "5.5.1", "no service here, only QUIT");
        return;
    }
    /* A refused MAIL's batch is its RCPTs and the DATA or BDAT chunks
     * that follow; any other command ends it. */
    if (k != 2 && k != 3 && k != 4 && k != 5)
        s->mail_refused = 0;
    switch (k) {
    case 0:
    case 1:
        cmd_hello(s, k == 0, arg, alen);
        break;
    case 2:
        cmd_mail(s, arg, alen);
        break;
    case 3:
        cmd_rcpt(s, arg, alen);
        break;
    case 4:
        cmd_data(s, arg, alen);
        s->mail_refused = 0;
        break;
    case 5:
        cmd_bdat(s, arg, alen);
        if (s->bdat_last)
            s->mail_refused = 0;
        break;
    case 6:
        if (no_args(s, arg, alen)) {
            moxi_smtp_txn_reset(s, MOX_SMTP_SERVER_RESET_RSET);
            moxi_smtp_reply(s, 250, "2.0.0", "ok");
        }
        break;
    case 7:
        moxi_smtp_reply(s, 250, "2.0.0", "ok");
        break;
    case 8:
        moxi_smtp_reply(s, 221, "2.0.0", "bye");
        s->end_reason = MOX_SMTP_SERVER_END_QUIT;
        moxi_smtp_close(s);
        break;
    case 9:
    case 10:
        cmd_vrfy(s, k == 10, arg, alen);
        break;
    case 11:
        moxi_smtp_reply(s, 214, "2.0.0", "see RFC 5321; commands: EHLO HELO MAIL RCPT DATA BDAT "
                                         "RSET NOOP QUIT VRFY EXPN HELP STARTTLS AUTH");
        break;
    case 12:
        cmd_starttls(s, arg, alen);
        break;
    case 13:
        moxi_smtp_auth_cmd(s, arg, alen);
        break;
    default:
        moxi_smtp_error(s, 500, "5.5.2", "unrecognized command");
        break;
    }
}

/* Assembles lines (command or AUTH) and handles each complete one. */
size_t moxi_smtp_lines(mox_smtp_server *s, const unsigned char *p, size_t n)
{
    size_t maxl = s->phase == PH_AUTH ? s->cfg.max_auth_line : s->cfg.max_line;
    const unsigned char *lf = memchr(p, '\n', n);
    if (!lf) {
        if (!s->line_overflow && s->line.len + n > maxl) {
            s->line_overflow = 1;
            mox_buf_reset(&s->line);
        }
        if (!s->line_overflow && mox_buf_append(&s->line, p, n) != MOX_OK)
            s->broken = 1;
        return n;
    }
    size_t k = (size_t)(lf - p) + 1;
    if (s->line_overflow || s->line.len + k > maxl) {
        s->line_overflow = 0;
        mox_buf_reset(&s->line);
        if (s->phase == PH_AUTH) {
            moxi_smtp_auth_abort(s);
            s->phase = PH_CMD;
        }
        char msg[64];
        snprintf(msg, sizeof msg, "line too long, at most %zu bytes", maxl);
        moxi_smtp_error(s, 500, "5.5.2", msg);
        return k;
    }
    const char *l = (const char *)p;
    size_t len = k;
    if (s->line.len) {
        if (mox_buf_append(&s->line, p, k) != MOX_OK) {
            s->broken = 1;
            return k;
        }
        l = (const char *)s->line.data;
        len = s->line.len;
    }
    len--; /* LF */
    int bare = !(len > 0 && l[len - 1] == '\r');
    if (!bare)
        len--;
    s->wait_start = -1; /* the next line's wait starts after this one */
    handle_line(s, l, len, bare);
    mox_buf_reset(&s->line);
    return k;
}

/* ---------------------------------------------------------------- effects */

static int ok2(const mox_smtp_server_reply *r)
{
    return r->code >= 200 && r->code < 300;
}

void moxi_smtp_apply(mox_smtp_server *s, int kind, mox_smtp_server_reply *r)
{
    switch (kind) {
    case MOX_SMTP_SERVER_DECIDE_CONNECT:
        if (ok2(r)) {
            mox_smtp_server_reply g = *r;
            g.code = 220;
            snprintf(g.text, sizeof g.text, "%.200s ESMTP%s%.250s", s->hostname,
                     r->text[0] ? " " : "", r->text);
            moxi_smtp_queue_reply(s, &g, 0);
        } else {
            moxi_smtp_queue_reply(s, r, 1);
            if (r->code / 100 == 4 || r->close)
                s->closing = 1;
            else
                s->phase = PH_NOSERVICE;
        }
        break;
    case MOX_SMTP_SERVER_DECIDE_HELLO:
        if (ok2(r)) {
            mox_free(s->hello);
            s->hello = s->hello_pending;
            s->hello_pending = NULL;
            s->sess.hello = s->hello;
            s->sess.ehlo = s->hello_is_ehlo;
            if (s->hello_is_ehlo) {
                ehlo_reply(s, r);
            } else {
                mox_smtp_server_reply g = *r;
                g.code = 250;
                snprintf(g.text, sizeof g.text, "%.200s%s%.250s", s->hostname,
                         r->text[0] ? " " : "", r->text);
                moxi_smtp_queue_reply(s, &g, 0);
            }
        } else {
            mox_free(s->hello_pending);
            s->hello_pending = NULL;
            moxi_smtp_queue_reply(s, r, 1);
        }
        break;
    case MOX_SMTP_SERVER_DECIDE_MAIL:
        if (ok2(r)) {
            s->in_txn = 1;
            s->mail_refused = 0;
        } else {
            moxi_smtp_txn_clear(s);
        }
        moxi_smtp_queue_reply(s, r, 1);
        break;
    case MOX_SMTP_SERVER_DECIDE_RCPT:
        if (ok2(r)) {
            if (s->txn.nrcpts == s->rcpt_cap) {
                size_t nc = s->rcpt_cap ? s->rcpt_cap * 2 : 4;
                mox_smtp_server_rcpt *nr = mox_realloc(s->txn.rcpts, nc * sizeof *nr);
                if (!nr) {
                    s->broken = 1;
                    moxi_smtp_rcpt_clear(&s->pend_rcpt);
                    return;
                }
                s->txn.rcpts = nr;
                s->rcpt_cap = nc;
            }
            s->txn.rcpts[s->txn.nrcpts++] = s->pend_rcpt;
            memset(&s->pend_rcpt, 0, sizeof s->pend_rcpt);
        } else {
            moxi_smtp_rcpt_clear(&s->pend_rcpt);
        }
        moxi_smtp_queue_reply(s, r, 1);
        break;
    case MOX_SMTP_SERVER_DECIDE_DATA_START:
        if (s->bdat_discard == -1) { /* DATA */
            s->bdat_discard = 0;
            if (ok2(r) || r->code == 354) {
                mox_smtp_server_reply g = *r;
                g.code = 354;
                if (ok2(r))
                    snprintf(g.text, sizeof g.text, "go ahead, end with <CR><LF>.<CR><LF>");
                moxi_smtp_queue_reply(s, &g, 0);
                s->data_started = 1;
                moxi_smtp_data_begin(s);
                s->phase = PH_DATA;
            } else {
                moxi_smtp_queue_reply(s, r, 1);
            }
        } else { /* BDAT */
            if (ok2(r) || r->code == 354) {
                s->data_started = 1;
                s->txn.chunking = 1;
                moxi_smtp_data_begin(s);
                moxi_smtp_bdat_begin(s);
            } else {
                s->held = *r;
                s->bdat_discard = 1;
                s->bdat_count_error = 0;
                moxi_smtp_bdat_begin(s);
            }
        }
        break;
    case MOX_SMTP_SERVER_DECIDE_DATA_END:
        moxi_smtp_data_end_apply(s, r);
        break;
    case MOX_SMTP_SERVER_DECIDE_VERIFY:
        mox_free(s->verify_arg);
        s->verify_arg = NULL;
        moxi_smtp_queue_reply(s, r, 1);
        break;
    case MOX_SMTP_SERVER_DECIDE_STARTTLS:
        if (ok2(r) || r->code == 220) {
            mox_smtp_server_reply g = *r;
            g.code = 220;
            snprintf(g.enhanced, sizeof g.enhanced, "2.0.0");
            moxi_smtp_queue_reply(s, &g, 1);
            moxi_smtp_txn_reset(s, MOX_SMTP_SERVER_RESET_HELLO);
            s->phase = PH_TLS;
        } else {
            moxi_smtp_queue_reply(s, r, 1);
        }
        break;
    case MOX_SMTP_SERVER_DECIDE_AUTH:
        moxi_smtp_auth_apply(s, r);
        break;
    default:
        break;
    }
}
