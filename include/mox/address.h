/*
 * libmox addresses: RFC 5321 paths and mailboxes (MAIL FROM / RCPT TO), and
 * RFC 5322 address lists (From, To, Cc ...: display names, groups, comments,
 * obsolete forms), with RFC 6531/6532 UTF-8 where the caller allows it.
 *
 * Threading: reentrant; no shared state. Strings are NUL-terminated, owned
 * by the struct they are in, and released by its _clear function. Parse
 * functions overwrite their output struct (they do not free what it held)
 * and leave it zeroed on error. Errors: MOX_ERR_SYNTAX with ei->detail one
 * of MOX_ADDR_ERR_* and ei->offset the byte offset of the problem (for
 * MOX_ADDR_ERR_DOMAIN, ei->msg carries the text module's reason);
 * MOX_ERR_NOMEM; MOX_ERR_INVAL for NULL arguments.
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
    MOX_ADDR_ERR_LOCALPART,          /* invalid character in a local part */
    MOX_ADDR_ERR_LOCALPART_DOTS,     /* leading, trailing or double dot */
    MOX_ADDR_ERR_LOCALPART_TOO_LONG, /* > 64 octets (RFC 5321 paths) */
    MOX_ADDR_ERR_QUOTED,             /* bad quoted-string (unterminated, bad escape) */
    MOX_ADDR_ERR_DOMAIN,             /* bad domain (see the text module) */
    MOX_ADDR_ERR_LITERAL,            /* bad [address literal] */
    MOX_ADDR_ERR_BRACKETS,           /* missing or unbalanced < > */
    MOX_ADDR_ERR_SOURCE_ROUTE,       /* bad @a,@b: source route */
    MOX_ADDR_ERR_UTF8,               /* non-ASCII where not allowed, or bad UTF-8 */
    MOX_ADDR_ERR_TRAILING,           /* characters after the address */
    MOX_ADDR_ERR_TOO_LONG,           /* path > 256 octets */
    MOX_ADDR_ERR_DISPLAY_NAME,       /* bad phrase / display name */
    MOX_ADDR_ERR_GROUP,              /* bad group syntax (unterminated, nested, no name) */
    MOX_ADDR_ERR_COMMENT,            /* unbalanced or too deeply nested comment */
    MOX_ADDR_ERR_CONTROL,            /* control character */
    MOX_ADDR_ERR_NULL_PATH           /* <> where only a non-null path is allowed */
};

/* A mailbox: local part and domain. `localpart` is the decoded local part
 * (quotes and escapes removed; NFC when non-ASCII; never holds control
 * characters). The domain is either a name (domain.ascii/unicode set) or
 * an address literal (`literal` holds the text between the brackets, e.g.
 * "192.0.2.1" or "IPv6:2001:db8::1" (tag spelled "IPv6"), and the domain
 * fields are NULL). For <postmaster> both are NULL. */
typedef struct mox_mailbox {
    char *localpart;
    mox_domain domain;
    char *literal;
} mox_mailbox;

/* Frees the strings and zeroes `m`. NULL-safe. */
MOX_API void mox_mailbox_clear(mox_mailbox *m);

/* Deep copy into `dst` (overwritten). MOX_ERR_NOMEM leaves it zeroed. */
MOX_API int mox_mailbox_copy(mox_mailbox *dst, const mox_mailbox *src);

/* Formats the mailbox for SMTP/headers: the local part quoted when it is
 * not a dot-atom (backslash before '"' and '\'), "@", then the domain
 * (`unicode` form if use_unicode, else ASCII) or "[literal]". A mailbox
 * without domain (postmaster) formats as the local part alone. Appends to
 * `out`; MOX_ERR_NOMEM, MOX_ERR_INVAL. Parsing the output gives back the
 * same mailbox. */
MOX_API int mox_mailbox_format(const mox_mailbox *m, int use_unicode,
                               mox_buf *out);

/* An RFC 5321 path: <>, <postmaster>, or <[@route,...:]mailbox>. A source
 * route is checked and dropped (RFC 5321 §4.1.1.3 and Appendix C). */
typedef struct mox_path {
    int is_null;       /* <> (only valid as a reverse-path) */
    int is_postmaster; /* <postmaster> without domain (localpart "postmaster") */
    mox_mailbox mailbox;
} mox_path;

/* Flags for mox_path_parse / mox_mailbox_parse. */
#define MOX_PATH_REVERSE 0x1   /* reverse-path: <> allowed, <postmaster> not */
#define MOX_PATH_SMTPUTF8 0x2  /* non-ASCII allowed (RFC 6531) */
#define MOX_PATH_NO_BRACKETS 0x4 /* also accept a bare mailbox (lenient, for tools) */

/* Parses a whole path including the angle brackets (unless NO_BRACKETS
 * and the input does not start with '<'). Limits: local part 64 octets as
 * written, domain 255, path 256 including the brackets. Without
 * MOX_PATH_SMTPUTF8 every byte must be ASCII; with it, local parts are
 * normalised to NFC and domains may be U-labels. Only a forward path (no
 * MOX_PATH_REVERSE) may be <postmaster> (any case). */
MOX_API int mox_path_parse(const char *s, size_t len, unsigned flags,
                           mox_path *p, mox_errinfo *ei);

/* Like mox_path_parse, but the path may be followed by anything (as the
 * ESMTP parameters of MAIL and RCPT are); `*consumed` receives the length
 * of the path. */
MOX_API int mox_path_parse_prefix(const char *s, size_t len, unsigned flags,
                                  mox_path *p, size_t *consumed,
                                  mox_errinfo *ei);

/* Appends "<>", "<postmaster>" or "<mailbox>" (see mox_mailbox_format). */
MOX_API int mox_path_format(const mox_path *p, int use_unicode, mox_buf *out);

/* Frees the mailbox strings and zeroes `p`. NULL-safe. */
MOX_API void mox_path_clear(mox_path *p);

/* Parses a bare RFC 5321 mailbox local@domain (no brackets, no route).
 * Flags: MOX_PATH_SMTPUTF8. */
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
 * mailboxes, name-addr, groups (also empty ones), comments (nested, with
 * quoted-pairs), CFWS wherever RFC 5322 allows it (folding CRLF/LF followed
 * by a space or tab included), obsolete forms (obs-route, obs-local-part,
 * obs-phrase with dots, obs-domain, empty list elements). Display names:
 * the words of the phrase, quotes removed, each run of CFWS between words
 * replaced by one space; an addr-spec followed by a comment, as in
 * "a@example.org (Name)", takes the comment as its display name. Control
 * characters other than HTAB are refused, also in quoted strings. Without
 * MOX_ADDRLIST_UTF8 every byte must be ASCII. An input holding no address
 * and no group is MOX_ADDR_ERR_EMPTY. */
MOX_API int mox_address_list_parse(const char *s, size_t len, unsigned flags,
                                   mox_address_list *l, mox_errinfo *ei);
/* Frees every address and zeroes `l`. NULL-safe. */
MOX_API void mox_address_list_clear(mox_address_list *l);

/* Appends one address as `display-name <mailbox>` (the name quoted unless
 * it is a sequence of atoms separated by single spaces; raw UTF-8 is
 * written as is, encoding it per RFC 2047 is the caller's business), or
 * just the mailbox when there is no display name. */
MOX_API int mox_address_format(const mox_address *a, int use_unicode,
                               mox_buf *out);

MOX_END_DECLS

#endif
