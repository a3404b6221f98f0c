/* RDATA in wire form (from a reply or a zone's generic \# syntax) into the
 * module's compact form, with a structural check per type. */
#include "dns_priv.h"

static int name_text(const unsigned char *msg, size_t msglen, size_t *p,
                     int allow_ptr, mox_buf *out)
{
    unsigned char w[MOXI_DNS_NAME_MAX];
    size_t wl;
    int rc = moxi_dns_wire_name(msg, msglen, p, allow_ptr, w, &wl);
    if (rc < 0)
        return rc;
    rc = moxi_dns_name_format(w, wl, 0, out);
    if (rc < 0)
        return rc;
    return mox_buf_append_byte(out, 0);
}

static int name_wire(const unsigned char *msg, size_t msglen, size_t *p,
                     int allow_ptr, mox_buf *out)
{
    unsigned char w[MOXI_DNS_NAME_MAX];
    size_t wl;
    int rc = moxi_dns_wire_name(msg, msglen, p, allow_ptr, w, &wl);
    if (rc < 0)
        return rc;
    return mox_buf_append(out, w, wl);
}

int moxi_dns_rdata_compact(uint16_t type, const unsigned char *msg,
                           size_t msglen, size_t off, size_t len, int allow_ptr,
                           mox_buf *out)
{
    size_t end = off + len;
    size_t p = off;
    size_t start = out->len;
    int rc;
    if (end > msglen || end < off)
        return MOX_ERR_SYNTAX;
    if (len == 0) {
        /* empty RDATA (msg may even be NULL): only for unstructured types */
        switch (type) {
        case MOX_DNS_A: case MOX_DNS_AAAA: case MOX_DNS_NS: case MOX_DNS_CNAME:
        case MOX_DNS_PTR: case MOX_DNS_MX: case MOX_DNS_TXT: case MOX_DNS_SPF:
        case MOX_DNS_TLSA: case MOX_DNS_SOA:
            return MOX_ERR_SYNTAX;
        default:
            return MOX_OK;
        }
    }
    switch (type) {
    case MOX_DNS_A:
        if (len != 4)
            return MOX_ERR_SYNTAX;
        return mox_buf_append(out, msg + off, 4);
    case MOX_DNS_AAAA:
        if (len != 16)
            return MOX_ERR_SYNTAX;
        return mox_buf_append(out, msg + off, 16);
    case MOX_DNS_NS:
    case MOX_DNS_CNAME:
    case MOX_DNS_PTR:
        /* The name must lie within the RDATA (a pointer may leave it). */
        rc = name_text(msg, end, &p, allow_ptr, out);
        break;
    case MOX_DNS_MX:
        if (len < 3)
            return MOX_ERR_SYNTAX;
        rc = mox_buf_append(out, msg + off, 2);
        if (rc == MOX_OK) {
            p += 2;
            rc = name_text(msg, end, &p, allow_ptr, out);
        }
        break;
    case MOX_DNS_TXT:
    case MOX_DNS_SPF:
        if (len == 0)
            return MOX_ERR_SYNTAX; /* at least one character-string */
        while (p < end) {
            size_t l = msg[p];
            if (p + 1 + l > end)
                return MOX_ERR_SYNTAX;
            p += 1 + l;
        }
        return mox_buf_append(out, msg + off, len);
    case MOX_DNS_TLSA:
        if (len < 3)
            return MOX_ERR_SYNTAX;
        return mox_buf_append(out, msg + off, len);
    case MOX_DNS_SOA:
        rc = name_wire(msg, end, &p, allow_ptr, out);
        if (rc == MOX_OK)
            rc = name_wire(msg, end, &p, allow_ptr, out);
        if (rc == MOX_OK) {
            if (end - p != 20) {
                rc = MOX_ERR_SYNTAX;
            } else {
                rc = mox_buf_append(out, msg + p, 20);
                p += 20;
            }
        }
        break;
    default:
        return mox_buf_append(out, msg + off, len);
    }
    if (rc == MOX_OK && p != end)
        rc = MOX_ERR_SYNTAX;
    if (rc < 0)
        out->len = start;
    return rc;
}
