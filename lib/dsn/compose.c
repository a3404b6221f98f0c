/* Composing delivery status notifications (RFC 3464, RFC 6522, RFC 6533). */
#include <string.h>

#include "core/core_priv.h"
#include "dsn_priv.h"

const char *mox_dsn_action_name(int action)
{
    switch (action) {
    case MOX_DSN_ACTION_FAILED:
        return "failed";
    case MOX_DSN_ACTION_DELAYED:
        return "delayed";
    case MOX_DSN_ACTION_DELIVERED:
        return "delivered";
    case MOX_DSN_ACTION_RELAYED:
        return "relayed";
    case MOX_DSN_ACTION_EXPANDED:
        return "expanded";
    default:
        return NULL;
    }
}

void mox_dsn_compose_params_init(mox_dsn_compose_params *p, size_t size)
{
    if (!p || size < sizeof(size_t))
        return;
    memset(p, 0, size);
    p->size = size;
}

static int argerr(mox_errinfo *ei, const char *what)
{
    return moxi_fail(ei, MOX_ERR_INVAL, MOX_DSN_ERR_ARG, SIZE_MAX, "dsn: %s", what);
}

/* 1 when s is usable in a header field: no control characters, and ASCII
 * unless `utf8`. */
static int field_ok(const char *s, int utf8)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return 0;
        if (*p >= 0x80 && !utf8)
            return 0;
    }
    return 1;
}

static int is_ascii(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p >= 0x80)
            return 0;
    return 1;
}

/* RFC 3463 §2: class "." subject "." detail, class 2, 4 or 5, subject and
 * detail 1 to 3 digits. */
int moxi_dsn_status_valid(const char *s)
{
    if (!s || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
        return 0;
    const char *p = s + 2;
    for (int part = 0; part < 2; part++) {
        int n = 0;
        while (moxi_is_digit(*p)) {
            p++;
            n++;
        }
        if (n < 1 || n > 3)
            return 0;
        if (part == 0 && *p++ != '.')
            return 0;
    }
    return *p == 0;
}

static int date_field(mox_buf *b, const char *name, int64_t t)
{
    char d[64];
    int n = mox_rfc5322_date(t, 0, d, sizeof d);
    if (n < 0)
        return n;
    return mox_buf_appendf(b, "%s: %s\r\n", name, d);
}

static const char *default_subject(const mox_dsn_compose_params *p)
{
    int failed = 0, delayed = 0, ok = 0;
    for (size_t i = 0; i < p->nrcpts; i++) {
        int a = p->rcpts[i].action;
        failed |= a == MOX_DSN_ACTION_FAILED;
        delayed |= a == MOX_DSN_ACTION_DELAYED;
        ok |= a == MOX_DSN_ACTION_DELIVERED || a == MOX_DSN_ACTION_RELAYED ||
              a == MOX_DSN_ACTION_EXPANDED;
    }
    if (failed)
        return "Mail delivery failed";
    if (delayed)
        return "Mail delivery delayed";
    if (ok)
        return "Mail delivery status: delivered";
    return "Mail delivery status";
}

static int default_text(const mox_dsn_compose_params *p, mox_buf *b)
{
    int rc = mox_buf_appendf(b, "This is the mail system at %s.\r\n\r\n", p->reporting_mta);
    for (size_t i = 0; rc == 0 && i < p->nrcpts; i++) {
        const mox_dsn_recipient *r = &p->rcpts[i];
        const char *what;
        switch (r->action) {
        case MOX_DSN_ACTION_FAILED:
            what = "could not be delivered; no further attempts will be made";
            break;
        case MOX_DSN_ACTION_DELAYED:
            what = "has not been delivered yet; delivery will be retried";
            break;
        case MOX_DSN_ACTION_DELIVERED:
            what = "was delivered";
            break;
        case MOX_DSN_ACTION_RELAYED:
            what = "was relayed to a system that does not send delivery notifications";
            break;
        default:
            what = "was expanded to more recipients";
            break;
        }
        rc = mox_buf_appendf(b, "Your message to <%s> %s.\r\n", r->final_recipient, what);
        if (rc == 0 && r->diagnostic && *r->diagnostic)
            rc = mox_buf_appendf(b, "%s%s said: %s\r\n", r->remote_mta ? "" : "The server",
                                 r->remote_mta ? r->remote_mta : "", r->diagnostic);
        if (rc == 0 && r->will_retry_until) {
            char d[64];
            if (mox_rfc5322_date(r->will_retry_until, 0, d, sizeof d) > 0)
                rc = mox_buf_appendf(b, "Delivery will be tried until %s.\r\n", d);
        }
        if (rc == 0)
            rc = mox_buf_append_str(b, "\r\n");
    }
    return rc;
}

/* Appends text (any line endings) with CRLF line endings, a final line
 * ending added. */
static int append_crlf(mox_buf *b, const unsigned char *s, size_t n, int final_eol)
{
    size_t start = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (s[i] != '\r' && s[i] != '\n')
            continue;
        rc = mox_buf_append(b, s + start, i - start);
        if (rc == 0)
            rc = mox_buf_append(b, "\r\n", 2);
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
            i++;
        start = i + 1;
    }
    if (rc == 0 && start < n) {
        rc = mox_buf_append(b, s + start, n - start);
        if (rc == 0 && final_eol)
            rc = mox_buf_append(b, "\r\n", 2);
    }
    return rc;
}

static int base64_lines(mox_buf *b, const void *data, size_t n)
{
    mox_buf t = MOX_BUF_INIT;
    int rc = mox_base64_encode(data, n, &t);
    for (size_t i = 0; rc == 0 && i < t.len; i += 76) {
        size_t k = t.len - i < 76 ? t.len - i : 76;
        rc = mox_buf_append(b, t.data + i, k);
        if (rc == 0)
            rc = mox_buf_append(b, "\r\n", 2);
    }
    mox_buf_free(&t);
    return rc;
}

/* Length of the header section (through the empty line) of msg, or the
 * whole input when there is no empty line. */
static size_t header_len(const unsigned char *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (m[i] != '\n')
            continue;
        if (i + 1 < n && m[i + 1] == '\n')
            return i + 2;
        if (i + 2 < n && m[i + 1] == '\r' && m[i + 2] == '\n')
            return i + 3;
    }
    return n;
}

static int recipient_group(mox_buf *b, const mox_dsn_recipient *r, int utf8)
{
    const char *type = r->final_type;
    if (!type)
        type = is_ascii(r->final_recipient) ? "rfc822" : "utf-8";
    int rc = mox_buf_appendf(b, "\r\n");
    if (rc == 0 && r->original_recipient)
        rc = mox_buf_appendf(b, "Original-Recipient: %s\r\n", r->original_recipient);
    if (rc == 0)
        rc = mox_buf_appendf(b, "Final-Recipient: %s; %s\r\n", type, r->final_recipient);
    if (rc == 0)
        rc = mox_buf_appendf(b, "Action: %s\r\nStatus: %s\r\n", mox_dsn_action_name(r->action),
                             r->status);
    if (rc == 0 && r->remote_mta)
        rc = mox_buf_appendf(b, "Remote-MTA: dns; %s\r\n", r->remote_mta);
    if (rc == 0 && r->diagnostic)
        rc = mox_buf_appendf(b, "Diagnostic-Code: %s; %s\r\n",
                             r->diagnostic_type ? r->diagnostic_type : "smtp", r->diagnostic);
    if (rc == 0 && r->last_attempt)
        rc = date_field(b, "Last-Attempt-Date", r->last_attempt);
    if (rc == 0 && r->will_retry_until)
        rc = date_field(b, "Will-Retry-Until", r->will_retry_until);
    if (rc == 0 && r->final_log_id)
        rc = mox_buf_appendf(b, "Final-Log-ID: %s\r\n", r->final_log_id);
    (void)utf8;
    return rc;
}

static int check_params(const mox_dsn_compose_params *p, mox_errinfo *ei)
{
    int u = p->smtputf8;
    if (!p->reporting_mta || !*p->reporting_mta || !field_ok(p->reporting_mta, 0) ||
        strchr(p->reporting_mta, ' '))
        return argerr(ei, "reporting_mta missing or not an ASCII host name");
    if (!p->to || !*p->to || !field_ok(p->to, u))
        return argerr(ei, "to missing, or with control characters (or non-ASCII without smtputf8)");
    if (p->from && (!*p->from || !field_ok(p->from, u)))
        return argerr(ei, "bad from");
    if (p->subject && !field_ok(p->subject, u))
        return argerr(ei, "bad subject");
    if (p->original_envid && !field_ok(p->original_envid, 0))
        return argerr(ei, "original_envid must be printable ASCII");
    if (p->received_from_mta && !field_ok(p->received_from_mta, 0))
        return argerr(ei, "bad received_from_mta");
    if (p->original_message_id && !field_ok(p->original_message_id, 0))
        return argerr(ei, "bad original_message_id");
    if (p->ret < 0 || p->ret > MOX_DSN_RETURN_NOTHING)
        return argerr(ei, "bad ret");
    if (p->ret != MOX_DSN_RETURN_NOTHING && !p->original && p->original_len)
        return argerr(ei, "original NULL with a length");
    if (!p->rcpts || p->nrcpts == 0)
        return argerr(ei, "no recipients");
    for (size_t i = 0; i < p->nrcpts; i++) {
        const mox_dsn_recipient *r = &p->rcpts[i];
        if (!r->final_recipient || !*r->final_recipient || !field_ok(r->final_recipient, u))
            return argerr(ei, "recipient address missing or not allowed without smtputf8");
        if (!mox_dsn_action_name(r->action))
            return argerr(ei, "recipient action missing or unknown");
        if (!moxi_dsn_status_valid(r->status))
            return argerr(ei, "recipient status is not an RFC 3463 code");
        if ((r->final_type && (!*r->final_type || !field_ok(r->final_type, 0))) ||
            (r->original_recipient && !field_ok(r->original_recipient, u)) ||
            (r->remote_mta && (!field_ok(r->remote_mta, 0) || strchr(r->remote_mta, ' '))) ||
            (r->diagnostic_type && !field_ok(r->diagnostic_type, 0)) ||
            (r->diagnostic && !field_ok(r->diagnostic, u)) ||
            (r->final_log_id && !field_ok(r->final_log_id, u)))
            return argerr(ei, "recipient field with control characters or disallowed non-ASCII");
    }
    return MOX_OK;
}

static int compose(const mox_dsn_compose_params *p, mox_buf *b, mox_errinfo *ei)
{
    const mox_random *rnd = p->env && p->env->random ? p->env->random : NULL;
    const mox_clock *clk = p->env && p->env->clock ? p->env->clock : NULL;
    unsigned char rb[12];
    int rc = mox_random_fill(rnd, rb, sizeof rb);
    if (rc)
        return moxi_fail(ei, rc, 0, SIZE_MAX, "dsn: random source failed");
    char boundary[40];
    memcpy(boundary, "dsn=", 4);
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof rb; i++) {
        boundary[4 + 2 * i] = hx[rb[i] >> 4];
        boundary[5 + 2 * i] = hx[rb[i] & 15];
    }
    boundary[4 + 2 * sizeof rb] = 0;

    int64_t now = mox_clock_wall_ns(clk) / 1000000000;
    int full = 0, with_orig = 1;
    size_t olen = p->original ? p->original_len : 0;
    const unsigned char *orig = p->original;
    size_t maxo = p->max_original ? p->max_original : (size_t)10 << 20;
    switch (p->ret) {
    case MOX_DSN_RETURN_FULL:
        full = 1;
        break;
    case MOX_DSN_RETURN_NOTHING:
        with_orig = 0;
        break;
    default:
        break;
    }
    if (full && olen > maxo)
        full = 0;
    if (!orig)
        with_orig = 0;

    /* header */
    if (p->from)
        rc = mox_buf_appendf(b, "From: <%s>\r\n", p->from);
    else
        rc = mox_buf_appendf(b, "From: Mail Delivery System <postmaster@%s>\r\n",
                             p->reporting_mta);
    if (rc == 0)
        rc = mox_buf_appendf(b, "To: <%s>\r\nSubject: %s\r\n", p->to,
                             p->subject ? p->subject : default_subject(p));
    if (rc == 0)
        rc = date_field(b, "Date", now);
    if (rc == 0) {
        rc = mox_buf_append_str(b, "Message-ID: ");
        if (rc == 0)
            rc = mox_message_id(rnd, p->reporting_mta, b);
        if (rc == 0)
            rc = mox_buf_append_str(b, "\r\n");
    }
    if (rc == 0 && p->original_message_id)
        rc = mox_buf_appendf(b, "In-Reply-To: %s\r\nReferences: %s\r\n", p->original_message_id,
                             p->original_message_id);
    if (rc == 0)
        rc = mox_buf_appendf(b,
                             "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
                             "Content-Type: multipart/report; report-type=delivery-status;\r\n"
                             "\tboundary=\"%s\"\r\n\r\n"
                             "This is a MIME-formatted delivery status notification.\r\n",
                             boundary);

    /* 1: human-readable */
    if (rc == 0)
        rc = mox_buf_appendf(b, "\r\n--%s\r\n", boundary);
    if (rc == 0) {
        mox_buf t = MOX_BUF_INIT;
        if (p->text)
            rc = append_crlf(&t, (const unsigned char *)p->text, strlen(p->text), 1);
        else
            rc = default_text(p, &t);
        if (rc == 0 && is_ascii((const char *)(t.data ? t.data : (unsigned char *)""))) {
            rc = mox_buf_append_str(b, "Content-Type: text/plain; charset=us-ascii\r\n"
                                       "Content-Transfer-Encoding: 7bit\r\n\r\n");
            if (rc == 0)
                rc = mox_buf_append(b, t.data, t.len);
        } else if (rc == 0) {
            rc = mox_buf_append_str(b, "Content-Type: text/plain; charset=utf-8\r\n"
                                       "Content-Transfer-Encoding: base64\r\n\r\n");
            if (rc == 0)
                rc = base64_lines(b, t.data, t.len);
        }
        mox_buf_free(&t);
    }

    /* 2: machine-readable */
    if (rc == 0)
        rc = mox_buf_appendf(b, "\r\n--%s\r\nContent-Type: message/%sdelivery-status\r\n", boundary,
                             p->smtputf8 ? "global-" : "");
    if (rc == 0 && p->smtputf8)
        rc = mox_buf_append_str(b, "Content-Transfer-Encoding: 8bit\r\n");
    if (rc == 0)
        rc = mox_buf_appendf(b, "\r\nReporting-MTA: dns; %s\r\n", p->reporting_mta);
    if (rc == 0 && p->original_envid)
        rc = mox_buf_appendf(b, "Original-Envelope-Id: %s\r\n", p->original_envid);
    if (rc == 0 && p->received_from_mta)
        rc = mox_buf_appendf(b, "Received-From-MTA: dns; %s\r\n", p->received_from_mta);
    if (rc == 0 && p->arrival_date)
        rc = date_field(b, "Arrival-Date", p->arrival_date);
    for (size_t i = 0; rc == 0 && i < p->nrcpts; i++)
        rc = recipient_group(b, &p->rcpts[i], p->smtputf8);

    /* 3: the original */
    if (rc == 0 && with_orig) {
        size_t n = full ? olen : header_len(orig, olen);
        int eightbit = 0;
        for (size_t i = 0; i < n && !eightbit; i++)
            eightbit = orig[i] >= 0x80;
        const char *type = full ? (p->smtputf8 ? "message/global" : "message/rfc822")
                                : (p->smtputf8 ? "message/global-headers" : "text/rfc822-headers");
        rc = mox_buf_appendf(b, "\r\n--%s\r\nContent-Type: %s\r\n", boundary, type);
        if (rc == 0 && eightbit)
            rc = mox_buf_append_str(b, "Content-Transfer-Encoding: 8bit\r\n");
        if (rc == 0)
            rc = mox_buf_append_str(b, "\r\n");
        if (rc == 0)
            rc = append_crlf(b, orig, n, 1);
    }
    if (rc == 0)
        rc = mox_buf_appendf(b, "\r\n--%s--\r\n", boundary);
    if (rc)
        return moxi_fail(ei, rc, 0, SIZE_MAX, "dsn: %s", mox_strerror(rc));
    return MOX_OK;
}

int mox_dsn_compose(const mox_dsn_compose_params *pin, mox_buf *out, mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (!pin || !out || pin->size < sizeof(size_t))
        return argerr(ei, "NULL argument or unset size");
    mox_dsn_compose_params p = MOX_DSN_COMPOSE_PARAMS_INIT;
    moxi_copy_sized(&p, pin, sizeof p);
    int rc = check_params(&p, ei);
    if (rc)
        return rc;
    size_t keep = out->len;
    rc = compose(&p, out, ei);
    if (rc) {
        out->len = keep;
        if (out->data)
            out->data[keep] = 0;
    }
    return rc;
}

/* ---------------------------------------------------------------- FromID */

int mox_dsn_fromid_new(const mox_random *r, char *out, size_t cap)
{
    if (!out || cap < MOX_DSN_FROMID_LEN + 1)
        return MOX_ERR_INVAL;
    static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char rb[MOX_DSN_FROMID_LEN];
    int rc = mox_random_fill(r, rb, sizeof rb);
    if (rc)
        return rc;
    /* 256 % 36 = 4: the bias is below 2% per character, irrelevant for an
     * identifier that only has to be unique. */
    for (size_t i = 0; i < sizeof rb; i++)
        out[i] = al[rb[i] % 36];
    out[MOX_DSN_FROMID_LEN] = 0;
    return MOX_OK;
}

int mox_dsn_fromid_address(const char *localpart, const char *domain, const char *sep,
                           const char *fromid, mox_buf *out)
{
    if (!localpart || !*localpart || !domain || !*domain || !sep || !*sep || !fromid ||
        !*fromid || !out || strstr(fromid, sep) || strchr(fromid, '@'))
        return MOX_ERR_INVAL;
    return mox_buf_appendf(out, "%s%s%s@%s", localpart, sep, fromid, domain);
}

int mox_dsn_fromid_extract(const char *address, const char *sep, char *out, size_t cap,
                           mox_errinfo *ei)
{
    mox_errinfo_clear(ei);
    if (!address || !sep || !*sep || !out || cap == 0)
        return moxi_fail(ei, MOX_ERR_INVAL, MOX_DSN_ERR_FROMID, SIZE_MAX, "NULL argument");
    const char *at = strrchr(address, '@');
    size_t llen = at ? (size_t)(at - address) : strlen(address);
    size_t slen = strlen(sep);
    const char *found = NULL;
    for (size_t i = 0; i + slen <= llen; i++)
        if (memcmp(address + i, sep, slen) == 0)
            found = address + i;
    if (!found || (size_t)(found - address) + slen >= llen)
        return moxi_fail(ei, MOX_ERR_NOTFOUND, MOX_DSN_ERR_FROMID, SIZE_MAX,
                         "no FromID in the local part");
    const char *id = found + slen;
    size_t n = llen - (size_t)(id - address);
    if (n + 1 > cap)
        return moxi_fail(ei, MOX_ERR_LIMIT, MOX_DSN_ERR_FROMID, SIZE_MAX, "FromID too long");
    memcpy(out, id, n);
    out[n] = 0;
    return MOX_OK;
}
