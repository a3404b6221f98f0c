/* Mailbox parts shared by the RFC 5321 and RFC 5322 parsers: local part
 * and domain checks, address literals, formatting. */
#include <arpa/inet.h>
#include <string.h>

#include "address/address_priv.h"
#include "core/core_priv.h"

int moxi_address_is_atext(int c)
{
    return moxi_is_alpha(c) || moxi_is_digit(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

int moxi_address_literal_check(const char *s, size_t n, size_t off, mox_errinfo *ei)
{
    char tmp[256];
    if (n == 0 || n >= sizeof tmp)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_LITERAL, off,
                         n ? "address literal too long" : "empty address literal");
    unsigned char bin[16];
    if (n > 5 && moxi_memcaseeq(s, "IPv6:", 5)) {
        memcpy(tmp, s + 5, n - 5);
        tmp[n - 5] = 0;
        if (inet_pton(AF_INET6, tmp, bin) != 1)
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_LITERAL, off + 5,
                             "invalid IPv6 address literal");
        return MOX_OK;
    }
    memcpy(tmp, s, n);
    tmp[n] = 0;
    /* inet_pton takes exactly four decimal octets without leading zeros,
     * as RFC 5321's Snum does (it also bounds them by 255). */
    if (inet_pton(AF_INET, tmp, bin) != 1) {
        const char *colon = memchr(s, ':', n);
        if (colon)
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_LITERAL, off,
                             "unknown address literal tag \"%.*s\"", (int)(colon - s), s);
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_LITERAL, off,
                         "invalid IPv4 address literal");
    }
    return MOX_OK;
}

int moxi_address_set_literal(mox_mailbox *m, const char *s, size_t n, size_t off,
                             mox_errinfo *ei)
{
    int rc = moxi_address_literal_check(s, n, off, ei);
    if (rc != MOX_OK)
        return rc;
    char *lit = moxi_strndup(s, n);
    if (!lit)
        return MOX_ERR_NOMEM;
    if (n > 5 && moxi_memcaseeq(s, "IPv6:", 5))
        memcpy(lit, "IPv6:", 5); /* the tag spelled one way */
    m->literal = lit;
    return MOX_OK;
}

int moxi_address_set_localpart(mox_mailbox *m, const char *s, size_t n, int utf8, size_t off,
                               mox_errinfo *ei)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_CONTROL, off,
                             "control character 0x%02x in local part", c);
    }
    if (mox_is_ascii(s, n)) {
        m->localpart = moxi_strndup(n ? s : "", n);
        return m->localpart ? MOX_OK : MOX_ERR_NOMEM;
    }
    if (!utf8)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_UTF8, off,
                         "non-ASCII local part without SMTPUTF8/UTF-8 support");
    size_t bad;
    if (!mox_utf8_valid(s, n, &bad))
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_UTF8, off, "invalid UTF-8 in local part");
    /* C1 controls are as unwelcome as C0 ones. */
    for (size_t i = 0; i + 1 < n; i++)
        if ((unsigned char)s[i] == 0xC2 && (unsigned char)s[i + 1] >= 0x80 &&
            (unsigned char)s[i + 1] <= 0x9F)
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_CONTROL, off,
                             "control character U+%04X in local part", (unsigned char)s[i + 1]);
    int rc = mox_utf8_nfc(s, n, &m->localpart, NULL);
    return rc == MOX_ERR_UTF8 ? moxi_fail(ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_UTF8, off, "invalid UTF-8")
                              : rc;
}

int moxi_address_set_domain(mox_mailbox *m, const char *s, size_t n, int utf8, size_t off,
                            mox_errinfo *ei)
{
    if (!utf8 && !mox_is_ascii(s, n))
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_UTF8, off,
                         "non-ASCII domain without SMTPUTF8/UTF-8 support");
    mox_errinfo dei;
    int rc = mox_domain_parse(s, n, 0, &m->domain, &dei);
    if (rc == MOX_ERR_NOMEM)
        return rc;
    if (rc != MOX_OK)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_ADDR_ERR_DOMAIN,
                         dei.offset == SIZE_MAX ? off : off + dei.offset, "bad domain: %s", dei.msg);
    return MOX_OK;
}

int moxi_address_is_dot_atom(const char *s, size_t n)
{
    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (s[i + 1] == '.')
                return 0;
        } else if (c < 0x80 && !moxi_address_is_atext(c)) {
            return 0;
        }
    }
    return 1;
}

int moxi_address_quote(mox_buf *out, const char *s, size_t n)
{
    int rc = mox_buf_append_byte(out, '"');
    for (size_t i = 0; i < n && rc == MOX_OK; i++) {
        if (s[i] == '"' || s[i] == '\\')
            rc = mox_buf_append_byte(out, '\\');
        if (rc == MOX_OK)
            rc = mox_buf_append_byte(out, (unsigned char)s[i]);
    }
    if (rc == MOX_OK)
        rc = mox_buf_append_byte(out, '"');
    return rc;
}

void mox_mailbox_clear(mox_mailbox *m)
{
    if (!m)
        return;
    mox_free(m->localpart);
    mox_domain_clear(&m->domain);
    mox_free(m->literal);
    memset(m, 0, sizeof *m);
}

int mox_mailbox_copy(mox_mailbox *dst, const mox_mailbox *src)
{
    if (!dst || !src)
        return MOX_ERR_INVAL;
    memset(dst, 0, sizeof *dst);
    if ((src->localpart && !(dst->localpart = moxi_strdup(src->localpart))) ||
        (src->literal && !(dst->literal = moxi_strdup(src->literal))) ||
        mox_domain_copy(&dst->domain, &src->domain) != MOX_OK) {
        mox_mailbox_clear(dst);
        return MOX_ERR_NOMEM;
    }
    return MOX_OK;
}

int mox_mailbox_format(const mox_mailbox *m, int use_unicode, mox_buf *out)
{
    if (!m || !out || !m->localpart)
        return MOX_ERR_INVAL;
    size_t mark = out->len;
    size_t n = strlen(m->localpart);
    int rc = moxi_address_is_dot_atom(m->localpart, n) ? mox_buf_append(out, m->localpart, n)
                                                       : moxi_address_quote(out, m->localpart, n);
    const char *dom = use_unicode ? m->domain.unicode : m->domain.ascii;
    if (rc == MOX_OK && m->literal)
        rc = mox_buf_appendf(out, "@[%s]", m->literal);
    else if (rc == MOX_OK && dom)
        rc = mox_buf_appendf(out, "@%s", dom);
    if (rc != MOX_OK && out->data) {
        out->len = mark;
        out->data[mark] = 0;
    }
    return rc;
}
