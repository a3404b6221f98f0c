/* Private declarations of the dsn module. */
#ifndef MOX_DSN_PRIV_H
#define MOX_DSN_PRIV_H

#include "mox/dsn.h"

/* 1 when s is an RFC 3463 §2 status code ("5.1.1"). */
int moxi_dsn_status_valid(const char *s);

/* Parses an RFC 5322 §3.3 date-time (obsolete forms of §4.3 included:
 * two-digit years, zone names, missing seconds; comments are skipped)
 * into Unix seconds. MOX_ERR_SYNTAX when it is not one. */
int moxi_dsn_parse_date(const char *s, size_t n, int64_t *out);

#endif
