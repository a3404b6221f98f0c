/* The Author Domain: the domain of the single address of the single From
 * header field (RFC 9989 §5.3.1). Every other shape is refused with its own
 * status, because accepting "the first" or "the last" of several is how
 * DMARC gets bypassed (one From for the checker, another for the reader). */
#include "mox/address.h"
#include "dmarc_priv.h"

struct from_ctx {
    size_t count;
    char *value;
    size_t value_len;
    int nomem;
};

static int on_field(void *arg, const mox_header_field *f)
{
    struct from_ctx *c = arg;
    if (f->name_len != 4 || !moxi_memcaseeq(f->name, "from", 4))
        return MOX_OK;
    if (c->count++ == 0) {
        c->value = moxi_strndup(f->value, f->value_len);
        if (!c->value) {
            c->nomem = 1;
            return MOX_ERR_NOMEM;
        }
        c->value_len = f->value_len;
    }
    return MOX_OK;
}

const char *mox_dmarc_from_name(int status)
{
    switch (status) {
    case MOX_DMARC_FROM_OK: return "ok";
    case MOX_DMARC_FROM_MISSING: return "no From header field";
    case MOX_DMARC_FROM_MULTIPLE: return "several From header fields";
    case MOX_DMARC_FROM_SYNTAX: return "From header field does not parse";
    case MOX_DMARC_FROM_MULTIPLE_ADDR: return "From holds several addresses or a group";
    case MOX_DMARC_FROM_NO_ADDRESS: return "From holds no address";
    case MOX_DMARC_FROM_NO_DOMAIN: return "From address has no domain name";
    case MOX_DMARC_FROM_HEADER: return "malformed header section";
    default: return "?";
    }
}

int mox_dmarc_author_domain(const void *header, size_t len, int *status, mox_domain *domain)
{
    if (!status || !domain || (!header && len))
        return MOX_ERR_INVAL;
    memset(domain, 0, sizeof *domain);
    *status = MOX_DMARC_FROM_HEADER;
    /* Lenient about line endings and line lengths, strict about counting:
     * a field the parser reports is a field a mail reader shows. */
    mox_header_config cfg = MOX_HEADER_CONFIG_INIT;
    cfg.bare_cr = MOX_EOL_ACCEPT;
    cfg.bare_lf = MOX_EOL_ACCEPT;
    cfg.nonfield = MOX_HDR_NONFIELD_END;
    cfg.max_line = 0;
    struct from_ctx c = {0, NULL, 0, 0};
    mox_header_parser *hp;
    int rc = mox_header_parser_new(&hp, &cfg, on_field, &c);
    if (rc != MOX_OK)
        return rc;
    rc = mox_header_parser_feed(hp, header, len, NULL, NULL);
    if (rc == MOX_OK)
        rc = mox_header_parser_finish(hp, NULL);
    mox_header_parser_free(hp);
    if (c.nomem || rc == MOX_ERR_NOMEM) {
        mox_free(c.value);
        return MOX_ERR_NOMEM;
    }
    if (rc != MOX_OK) {
        mox_free(c.value);
        return MOX_OK; /* FROM_HEADER */
    }
    if (c.count == 0) {
        *status = MOX_DMARC_FROM_MISSING;
        return MOX_OK;
    }
    if (c.count > 1) {
        mox_free(c.value);
        *status = MOX_DMARC_FROM_MULTIPLE;
        return MOX_OK;
    }
    mox_address_list l;
    rc = mox_address_list_parse(c.value, c.value_len, MOX_ADDRLIST_UTF8, &l, NULL);
    mox_free(c.value);
    if (rc == MOX_ERR_NOMEM)
        return rc;
    if (rc != MOX_OK) {
        *status = MOX_DMARC_FROM_SYNTAX;
        return MOX_OK;
    }
    if (l.count == 0)
        *status = MOX_DMARC_FROM_NO_ADDRESS;
    else if (l.count > 1 || l.ngroups > 0)
        *status = MOX_DMARC_FROM_MULTIPLE_ADDR;
    else if (!l.addr[0].mailbox.domain.ascii || !l.addr[0].mailbox.domain.ascii[0])
        *status = MOX_DMARC_FROM_NO_DOMAIN;
    else {
        rc = mox_domain_copy(domain, &l.addr[0].mailbox.domain);
        if (rc == MOX_OK)
            *status = MOX_DMARC_FROM_OK;
    }
    mox_address_list_clear(&l);
    return rc;
}
