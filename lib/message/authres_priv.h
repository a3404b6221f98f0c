/* Private parts of the Authentication-Results model. */
#ifndef MOX_AUTHRES_PRIV_H
#define MOX_AUTHRES_PRIV_H

#include "message_priv.h"

struct mox_authres {
    char *id;
    unsigned version;
    mox_authres_result *r;
    size_t n;
    size_t defects;
};

/* A NUL-terminated copy of s[0..len) where every control byte and every
 * byte not part of a valid UTF-8 sequence is replaced by '?'. NULL when
 * out of memory. */
char *moxi_authres_sanitize(const char *s, size_t len);

char *moxi_authres_lower_dup(const char *s, size_t n);

/* ALPHA / DIGIT / "-" / "_" */
int moxi_authres_is_keyword_char(unsigned char c);

/* Append a result / a property, taking ownership of the strings (freed
 * on failure too). */
int moxi_authres_push(mox_authres *ar, char *method, char *result);
int moxi_authres_push_prop(mox_authres_result *r, char *ptype, char *property,
                           char *value);

#endif
