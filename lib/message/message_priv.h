/* Private declarations shared by the files of the message module. */
#ifndef MOX_MESSAGE_PRIV_H
#define MOX_MESSAGE_PRIV_H

#include "core/core_priv.h"
#include "mox/message.h"

/* Like mox_headers_parse, but field offsets and error offsets are reported
 * as `base` + the offset in `data` (the MIME walker parses a part's header
 * in the middle of a message). */
int moxi_message_headers_parse_at(const void *data, size_t len, size_t base,
                                  const mox_header_config *cfg,
                                  mox_headers **out, size_t *body_offset,
                                  mox_errinfo *ei);

/* Fills a header config from a caller's (possibly older, smaller) struct,
 * defaults for the rest; NULL gives the defaults. MOX_ERR_INVAL for a
 * policy value out of range. */
int moxi_message_header_config(mox_header_config *dst,
                               const mox_header_config *src);

/* Length of the valid UTF-8 sequence at s[0] (1..4), or 0 when s[0] does
 * not start one within `len` bytes. */
size_t moxi_message_utf8_seq(const unsigned char *s, size_t len);

/* ASCII helpers. */
static inline int moxi_message_is_wsp(int c) { return c == ' ' || c == '\t'; }

#endif
