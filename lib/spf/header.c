/* Received-SPF (RFC 7208 §9.1) and the Authentication-Results "spf="
 * entry (RFC 8601 §2.7.2). */
#include "mox/text.h"
#include "spf/spf_priv.h"

static int is_atext(unsigned char c)
{
    return moxi_is_alpha(c) || moxi_is_digit(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static int is_dot_atom(const char *s, size_t n)
{
    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (s[i - 1] == '.')
                return 0;
        } else if (!is_atext((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

/* Appends untrusted text for a quoted-string or comment: `special` chars
 * get a backslash; control characters and invalid UTF-8 become '?'. */
static int put_safe(mox_buf *b, const char *s, const char *special)
{
    size_t n = strlen(s), i = 0;
    int rc = MOX_OK;
    while (!rc && i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t k = i + 1;
            while (k < n && k < i + 4 && ((unsigned char)s[k] & 0xc0) == 0x80)
                k++;
            if (mox_utf8_valid(s + i, k - i, NULL)) {
                rc = mox_buf_append(b, s + i, k - i);
                i = k;
                continue;
            }
            rc = mox_buf_append_byte(b, '?');
        } else if (c < 0x20 || c == 0x7f) {
            rc = mox_buf_append_byte(b, '?');
        } else {
            if (strchr(special, c))
                rc = mox_buf_append_byte(b, '\\');
            if (!rc)
                rc = mox_buf_append_byte(b, c);
        }
        i++;
    }
    return rc;
}

static int put_value(mox_buf *b, const char *v)
{
    if (is_dot_atom(v, strlen(v)))
        return mox_buf_append_str(b, v);
    int rc = mox_buf_append_byte(b, '"');
    if (!rc)
        rc = put_safe(b, v, "\"\\");
    if (!rc)
        rc = mox_buf_append_byte(b, '"');
    return rc;
}

/* Folding writer: units are joined by one space; a unit that would pass
 * column 78 starts a continuation line. */
typedef struct folder {
    mox_buf *out;
    size_t line_start;
    int rc;
} folder;

static void unit(folder *f, const char *p, size_t n)
{
    if (f->rc)
        return;
    size_t col = f->out->len - f->line_start;
    if (col > 0 && col + 1 + n > 78) {
        f->rc = mox_buf_append_str(f->out, "\r\n");
        f->line_start = f->out->len;
    }
    if (!f->rc)
        f->rc = mox_buf_append_byte(f->out, ' ');
    if (!f->rc)
        f->rc = mox_buf_append(f->out, p, n);
}

/* Splits `text` at spaces into units (used for the comment). */
static void words(folder *f, const char *text, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && text[j] != ' ')
            j++;
        if (j > i)
            unit(f, text + i, j - i);
        i = j + 1;
    }
}

static int comment(const mox_spf *s, const mox_spf_outcome *o, int with_receiver, mox_buf *c)
{
    char ip[64];
    const char *rcv = moxi_spf_receiver(s);
    moxi_spf_client_ip(s, ip, sizeof ip);
    int rc = mox_buf_append_byte(c, '(');
    if (!rc && with_receiver && rcv) {
        rc = put_safe(c, rcv, "()\\");
        if (!rc)
            rc = mox_buf_append_str(c, ": ");
    }
    mox_buf who = MOX_BUF_INIT;
    if (!rc)
        rc = put_safe(&who, o->sender, "()\\");
    if (!rc && !who.data)
        rc = mox_buf_reserve(&who, 0);
    const char *w = rc ? "" : (const char *)who.data;
    if (!rc) {
        switch (o->result) {
        case MOX_SPF_PASS:
            rc = mox_buf_appendf(c, "domain of %s designates %s as permitted sender", w, ip);
            break;
        case MOX_SPF_FAIL:
            rc = mox_buf_appendf(c, "domain of %s does not designate %s as permitted sender", w, ip);
            break;
        case MOX_SPF_SOFTFAIL:
            rc = mox_buf_appendf(c, "domain of transitioning %s does not designate %s as permitted sender",
                                 w, ip);
            break;
        case MOX_SPF_NEUTRAL:
            rc = mox_buf_appendf(c, "%s is neither permitted nor denied by domain of %s", ip, w);
            break;
        case MOX_SPF_NONE:
            rc = mox_buf_appendf(c, "domain of %s does not designate permitted sender hosts", w);
            break;
        case MOX_SPF_TEMPERROR:
            rc = mox_buf_appendf(c, "error in processing during lookup of %s", w);
            break;
        default:
            rc = mox_buf_appendf(c, "permanent error in processing domain of %s", w);
            break;
        }
    }
    mox_buf_free(&who);
    if (!rc)
        rc = mox_buf_append_byte(c, ')');
    return rc;
}

static int kv(folder *f, const char *key, const char *value, int last)
{
    mox_buf b = MOX_BUF_INIT;
    int rc = mox_buf_appendf(&b, "%s=", key);
    if (!rc)
        rc = put_value(&b, value);
    if (!rc && !last)
        rc = mox_buf_append_byte(&b, ';');
    if (!rc)
        unit(f, (const char *)b.data, b.len);
    mox_buf_free(&b);
    return rc ? rc : f->rc;
}

int mox_spf_received_header(const mox_spf *s, mox_buf *out)
{
    if (!s || !out)
        return MOX_ERR_INVAL;
    const mox_spf_outcome *o = mox_spf_result(s);
    if (!o)
        return MOX_ERR_STATE;
    size_t start = out->len;
    char ip[64];
    moxi_spf_client_ip(s, ip, sizeof ip);
    mox_buf c = MOX_BUF_INIT;
    int rc = mox_buf_appendf(out, "Received-SPF: %s", mox_spf_result_name(o->result));
    folder f = {out, start, MOX_OK};
    if (!rc)
        rc = comment(s, o, 1, &c);
    if (!rc) {
        words(&f, (const char *)c.data, c.len);
        rc = f.rc;
    }
    mox_buf_free(&c);
    const char *helo = moxi_spf_helo(s);
    const char *rcv = moxi_spf_receiver(s);
    if (!rc)
        rc = kv(&f, "client-ip", ip, 0);
    if (!rc)
        rc = kv(&f, "envelope-from", o->sender, 0);
    if (!rc && helo)
        rc = kv(&f, "helo", helo, 0);
    if (!rc && o->problem && (o->result == MOX_SPF_PERMERROR || o->result == MOX_SPF_TEMPERROR))
        rc = kv(&f, "problem", o->problem, 0);
    if (!rc)
        rc = kv(&f, "identity", o->identity == MOX_SPF_ID_HELO ? "helo" : "mailfrom", 0);
    if (!rc && rcv)
        rc = kv(&f, "receiver", rcv, 0);
    if (!rc)
        rc = kv(&f, "mechanism", o->mechanism ? o->mechanism : "default", 1);
    if (!rc)
        rc = mox_buf_append_str(out, "\r\n");
    if (rc && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}

int mox_spf_auth_results(const mox_spf *s, mox_buf *out)
{
    if (!s || !out)
        return MOX_ERR_INVAL;
    const mox_spf_outcome *o = mox_spf_result(s);
    if (!o)
        return MOX_ERR_STATE;
    size_t start = out->len;
    int rc = mox_buf_appendf(out, "spf=%s", mox_spf_result_name(o->result));
    if (!rc && o->problem && (o->result == MOX_SPF_PERMERROR || o->result == MOX_SPF_TEMPERROR)) {
        rc = mox_buf_append_str(out, " (");
        if (!rc)
            rc = put_safe(out, o->problem, "()\\");
        if (!rc)
            rc = mox_buf_append_byte(out, ')');
    }
    if (!rc) {
        if (o->identity == MOX_SPF_ID_HELO) {
            rc = mox_buf_append_str(out, " smtp.helo=");
            if (!rc)
                rc = put_value(out, o->domain);
        } else {
            /* The full address when its local part is a dot-atom, else the
             * domain alone (both are valid pvalues, RFC 8601 §2.7.2). */
            const char *at = strrchr(o->sender, '@');
            size_t ll = at ? (size_t)(at - o->sender) : 0;
            rc = mox_buf_append_str(out, " smtp.mailfrom=");
            if (!rc && is_dot_atom(o->sender, ll) && is_dot_atom(o->domain, strlen(o->domain)))
                rc = mox_buf_append_str(out, o->sender);
            else if (!rc)
                rc = put_value(out, o->domain);
        }
    }
    if (rc && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}
