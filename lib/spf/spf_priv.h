/* Private pieces of the SPF module shared between its files. */
#ifndef MOX_SPF_PRIV_H
#define MOX_SPF_PRIV_H

#include "core/core_priv.h"
#include "mox/spf.h"

/* Hard bound on any value a macro letter expands from: identities are
 * capped at 1024 bytes by mox_spf_new, the domains at 253. */
#define MOXI_SPF_MAX_VALUE 2048
/* Longest SPF record accepted by the parser. */
#define MOXI_SPF_MAX_RECORD 65535

struct mox_spf_record {
    char *text;
    size_t len;
    mox_spf_term *terms;
    size_t nterms;
    const mox_spf_term *redirect;
    const mox_spf_term *exp;
};

/* Everything a macro letter may expand to. Strings are NUL-terminated. */
typedef struct moxi_spf_vars {
    const char *sender;   /* s */
    const char *local;    /* l */
    const char *odomain;  /* o */
    const char *domain;   /* d */
    const char *helo;     /* h */
    const char *ptr;      /* p, NULL: "unknown" */
    const char *receiver; /* r, NULL: "unknown" */
    unsigned char ip[16]; /* i c v: the first 4 bytes for IPv4 */
    int v6;
    int64_t t;            /* t */
} moxi_spf_vars;

/* Flags beyond the public MOX_SPF_EXPAND_*: validate only, output nothing
 * (vars may then be NULL); and allow every letter (unknown modifiers). */
#define MOXI_SPF_CHECK_ONLY 0x100
#define MOXI_SPF_ANY_LETTER 0x200

/* Validates or expands a macro-string. When `ends_macro` is non-NULL it
 * receives 1 if the string ends with a %{...} expansion, and `lit_start`
 * the offset where the trailing literal run begins. */
int moxi_spf_macro(const char *s, size_t len, const moxi_spf_vars *v,
                   unsigned flags, size_t max, mox_buf *out,
                   int *ends_macro, size_t *lit_start, mox_errinfo *ei);

/* 1 if the macro-string uses %{p} (the expansion needs PTR data). */
int moxi_spf_macro_uses_p(const char *s, size_t len);

/* Text forms of the client address for i/c. */
void moxi_spf_ip_dotted(const unsigned char *ip, int v6, char *out, size_t outsz);
void moxi_spf_ip_text(const unsigned char *ip, int v6, char *out, size_t outsz);

/* Parses a client IP; IPv4-mapped IPv6 becomes IPv4. 0 on success. */
int moxi_spf_ip_parse(const char *s, unsigned char ip[16], int *v6);

/* 1 if `name` (no trailing dot) is acceptable as a DNS name for SPF:
 * 1..253 octets, labels 1..63, and at least two labels when `multi`. */
int moxi_spf_domain_ok(const char *name, size_t len, int multi);

/* mox_spf_new with question ids starting after `id_base` (msgauth runs
 * several engines behind one question table and tells their questions
 * apart by id range). */
int moxi_spf_create(mox_spf **out, const mox_spf_config *cfg, const char *ip, const char *sender,
                    const char *helo, int identity, uint32_t id_base, mox_errinfo *ei);

/* Read access for header.c. */
const char *moxi_spf_client_ip(const mox_spf *s, char *buf, size_t n);
const char *moxi_spf_helo(const mox_spf *s);
const char *moxi_spf_receiver(const mox_spf *s);

#endif
