/*
 * libmox addresses: RFC 5321 paths and mailboxes (MAIL FROM / RCPT TO), and
 * RFC 5322 address lists (From, To, Cc ...: display names, groups, comments,
 * obsolete forms).
 *
 * Threading: reentrant; no shared state. Strings are NUL-terminated, owned
 * by the struct they are in, and released by its _clear function.
 */
#ifndef MOX_ADDRESS_H
#define MOX_ADDRESS_H

#include "core.h"
#include "text.h"

MOX_BEGIN_DECLS

/* Detail codes (ei->detail) for every way an address can be malformed. */
enum {
    MOX_ADDR_ERR_EMPTY = 1,          /* nothing to parse */
    MOX_ADDR_ERR_NO_AT,              /* mailbox without @ */
    MOX_ADDR_ERR_LOCALPART,          /* invalid dot-atom local part */
    MOX_ADDR_ERR_LOCALPART_DOTS,     /* leading, trailing or double dot */
    MOX_ADDR_ERR_LOCALPART_TOO_LONG, /* > 64 octets */
    MOX_ADDR_ERR_QUOTED,             /* bad quoted-string (unterminated, bad escape) */
    MOX_ADDR_ERR_DOMAIN,             /* bad domain (see the text module) */
    MOX_ADDR_ERR_LITERAL,            /* bad [address literal] */
    MOX_ADDR_ERR_BRACKETS,           /* missing or unbalanced < > */
    MOX_ADDR_ERR_SOURCE_ROUTE,       /* bad @a,@b: source route */
    MOX_ADDR_ERR_UTF8,               /* non-ASCII where not allowed, or bad UTF-8 */
    MOX_ADDR_ERR_TRAILING,           /* characters after the address */
    MOX_ADDR_ERR_TOO_LONG,           /* path > 256 octets */
    MOX_ADDR_ERR_DISPLAY_NAME,       /* bad phrase / display name */
    MOX_ADDR_ERR_GROUP,              /* bad group syntax */
    MOX_ADDR_ERR_COMMENT,            /* unbalanced comment */
    MOX_ADDR_ERR_CONTROL             /* control character */
};

/* A mailbox: local part and domain. `localpart` is the decoded local part
 * (quotes and escapes removed; NFC when non-ASCII). The domain is either a
 * name (domain.ascii/unicode set) or an address literal (`literal` holds
 * the text between the brackets, e.g. "192.0.2.1" or "IPv6:2001:db8::1",
 * and domain fields are NULL). */
typedef struct mox_mailbox {
    char *localpart;
    mox_domain domain;
    char *literal;
} mox_mailbox;

MOX_API void mox_mailbox_clear(mox_mailbox *m);

/* Formats the mailbox for SMTP/headers: the local part quoted when it is
 * not a dot-atom, "@", then the domain (`unicode` form if use_unicode,
 * else ASCII) or "[literal]". Appends to `out`. */
MOX_API int mox_mailbox_format(const mox_mailbox *m, int use_unicode,
                               mox_buf *out);

/* An RFC 5321 path: <>, <postmaster>, or <[@route,...:]mailbox>. */
typedef struct mox_path {
    int is_null;       /* <> (only valid as a reverse-path) */
    int is_postmaster; /* <postmaster> without domain */
    mox_mailbox mailbox;
} mox_path;

/* Flags for mox_path_parse / mox_mailbox_parse. */
#define MOX_PATH_REVERSE 0x1   /* reverse-path: <> allowed */
#define MOX_PATH_SMTPUTF8 0x2  /* non-ASCII allowed (RFC 6531) */
#define MOX_PATH_NO_BRACKETS 0x4 /* accept a bare mailbox (lenient, for tools) */

/* Parses a path including the angle brackets (unless NO_BRACKETS).
 * MOX_ERR_SYNTAX with ei->detail one of MOX_ADDR_ERR_*. */
MOX_API int mox_path_parse(const char *s, size_t len, unsigned flags,
                           mox_path *p, mox_errinfo *ei);
MOX_API void mox_path_clear(mox_path *p);

/* Parses a bare mailbox local@domain (no brackets). */
MOX_API int mox_mailbox_parse(const char *s, size_t len, unsigned flags,
                              mox_mailbox *m, mox_errinfo *ei);

/* An RFC 5322 address from an address list. */
typedef struct mox_address {
    char *display_name;  /* decoded phrase (RFC 2047 words left as is), or NULL */
    mox_mailbox mailbox;
    char *group;         /* name of the group it was in, or NULL */
} mox_address;

typedef struct mox_address_list {
    size_t count;
    mox_address *addr;
    size_t ngroups;      /* number of groups seen (including empty ones) */
} mox_address_list;

/* Flags for mox_address_list_parse. */
#define MOX_ADDRLIST_UTF8 0x1  /* RFC 6532: UTF-8 allowed */

/* Parses the value of an address header (From, To, Cc, Reply-To ...):
 * mailboxes, name-addr, groups, comments, CFWS, obsolete forms (obs-route,
 * obs-local-part, obs-phrase, empty list elements). */
MOX_API int mox_address_list_parse(const char *s, size_t len, unsigned flags,
                                   mox_address_list *l, mox_errinfo *ei);
MOX_API void mox_address_list_clear(mox_address_list *l);

MOX_END_DECLS

#endif
