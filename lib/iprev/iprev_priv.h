/* Private side of the iprev module. */
#ifndef MOX_IPREV_PRIV_H
#define MOX_IPREV_PRIV_H

#include "mox/iprev.h"

/* mox_iprev_new with question ids starting after `id_base` (msgauth tells
 * the questions of its engines apart by id range). */
int moxi_iprev_create(mox_iprev **out, const mox_iprev_config *cfg, const char *ip,
                      uint32_t id_base, mox_errinfo *ei);

#endif
