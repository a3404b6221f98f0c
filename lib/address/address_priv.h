/* Private helpers shared by the address module's files. Not installed. */
#ifndef MOX_ADDRESS_PRIV_H
#define MOX_ADDRESS_PRIV_H

#include "mox/address.h"

/* RFC 5322 atext, ASCII part. */
int moxi_address_is_atext(int c);

/* Validates the text between the brackets of an address literal (RFC 5321
 * §4.1.3: IPv4, or "IPv6:" + IPv6; no other tag is registered) and stores
 * it in m->literal (tag spelled "IPv6"). `off` is the offset of the text. */
int moxi_address_set_literal(mox_mailbox *m, const char *s, size_t n, size_t off,
                             mox_errinfo *ei);
/* The check alone, without storing: MOX_OK or MOX_ERR_SYNTAX (ei filled).
 * The one address literal parser (the SMTP module's HELO check uses it). */
int moxi_address_literal_check(const char *s, size_t n, size_t off, mox_errinfo *ei);

/* Stores a decoded local part: checks UTF-8 (non-ASCII only when `utf8`)
 * and control characters, normalises to NFC. */
int moxi_address_set_localpart(mox_mailbox *m, const char *s, size_t n, int utf8, size_t off,
                               mox_errinfo *ei);

/* Parses and stores a domain name (non-ASCII only when `utf8`). */
int moxi_address_set_domain(mox_mailbox *m, const char *s, size_t n, int utf8, size_t off,
                            mox_errinfo *ei);

/* 1 if the (decoded) local part can be written as a dot-atom. */
int moxi_address_is_dot_atom(const char *s, size_t n);

/* Appends s as an RFC 5322 quoted-string. */
int moxi_address_quote(mox_buf *out, const char *s, size_t n);

#endif
