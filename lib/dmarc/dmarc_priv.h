/* Private pieces of the DMARC module shared between its files. */
#ifndef MOX_DMARC_PRIV_H
#define MOX_DMARC_PRIV_H

#include "core/core_priv.h"
#include "mox/dmarc.h"

#define MOXI_DMARC_MAX_RECORD 65535

/* The record as allocated: the public part first, so a mox_dmarc_record *
 * is also a moxi_dmarc_rec *. */
typedef struct moxi_dmarc_rec {
    mox_dmarc_record pub;
    char *text;          /* the record as given, NUL-terminated */
    size_t len;
    char **strs;         /* every other string, for freeing */
    size_t nstrs, capstrs;
    mox_dmarc_uri *rua, *ruf;
    unsigned given;      /* MOXI_DMARC_TAG_* bits of tags present */
} moxi_dmarc_rec;

enum {
    MOXI_DMARC_TAG_P = 0x1, MOXI_DMARC_TAG_SP = 0x2, MOXI_DMARC_TAG_NP = 0x4,
    MOXI_DMARC_TAG_PSD = 0x8, MOXI_DMARC_TAG_T = 0x10, MOXI_DMARC_TAG_ADKIM = 0x20,
    MOXI_DMARC_TAG_ASPF = 0x40, MOXI_DMARC_TAG_RUA = 0x80, MOXI_DMARC_TAG_RUF = 0x100,
    MOXI_DMARC_TAG_FO = 0x200, MOXI_DMARC_TAG_PCT = 0x400, MOXI_DMARC_TAG_RF = 0x800,
    MOXI_DMARC_TAG_RI = 0x1000
};

/* Number of labels of an ASCII name without trailing dot ("" has 0). */
size_t moxi_dmarc_labels(const char *name);
/* Pointer to the suffix of `name` keeping its last `n` labels. */
const char *moxi_dmarc_suffix(const char *name, size_t n);
/* Case-insensitive equality of two ASCII names. */
int moxi_dmarc_name_eq(const char *a, const char *b);
/* 1 when `sub` equals `parent` or is below it. */
int moxi_dmarc_name_under(const char *sub, const char *parent);

/* mox_dmarc_new (author_domain given) or mox_dmarc_new_message (NULL
 * author_domain, `header`), with question ids starting after `id_base`
 * (msgauth tells the questions of its engines apart by id range). */
int moxi_dmarc_create(mox_dmarc **out, const mox_dmarc_config *cfg, const char *author_domain,
                      const void *header, size_t len, uint32_t id_base, mox_errinfo *ei);

#endif
