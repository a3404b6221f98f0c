/* Private pieces of the sasl module shared between its files. */
#ifndef MOX_SASL_PRIV_H
#define MOX_SASL_PRIV_H

#include "core/core_priv.h"
#include "mox/sasl.h"

/* ---------------------------------------------------------------- crypto */

/* The two SCRAM hashes. */
typedef enum moxi_sasl_hash { MOXI_SHA1 = 0, MOXI_SHA256 = 1 } moxi_sasl_hash;

#define MOXI_HASH_MAX 32

size_t moxi_sasl_hash_len(moxi_sasl_hash h);
int moxi_sasl_hmac(moxi_sasl_hash h, const void *key, size_t keylen, const void *msg,
                   size_t msglen, unsigned char *out);
int moxi_sasl_digest(moxi_sasl_hash h, const void *msg, size_t len, unsigned char *out);
int moxi_sasl_pbkdf2(moxi_sasl_hash h, const void *pw, size_t pwlen, const void *salt,
                     size_t saltlen, uint32_t iterations, unsigned char *out);
/* StoredKey and ServerKey (and optionally ClientKey) from SaltedPassword. */
int moxi_sasl_scram_keys(moxi_sasl_hash h, const unsigned char *salted,
                         unsigned char *client_key, unsigned char *stored_key,
                         unsigned char *server_key);
/* Constant-time equality of n bytes: 1 if equal. */
int moxi_sasl_ct_equal(const void *a, const void *b, size_t n);
void moxi_sasl_wipe(void *p, size_t n);
/* Frees a buffer after wiping its whole capacity. */
void moxi_sasl_buf_wipe_free(mox_buf *b);

/* HMAC-MD5 midstates of a key (RFC 2104 ipad/opad blocks), and HMAC-MD5 of
 * a message resumed from them. */
int moxi_sasl_cram_state(const void *key, size_t keylen, unsigned char inner[16],
                         unsigned char outer[16]);
int moxi_sasl_cram_hmac(const unsigned char inner[16], const unsigned char outer[16],
                        const void *msg, size_t len, unsigned char out[16]);

/* PRECIS OpaqueString of a password, refusing invalid UTF-8. The result is
 * allocated (wipe and free with moxi_sasl_free_secret). */
int moxi_sasl_prepare_password(const char *pw, size_t len, char **out, size_t *out_len,
                               mox_errinfo *ei);
void moxi_sasl_free_secret(char *p, size_t len);
/* NFC of a username; refuses empty names, NUL, invalid UTF-8. */
int moxi_sasl_prepare_username(const char *s, size_t len, char **out);

/* ---------------------------------------------------------------- scram */

/* Decodes a SCRAM saslname (=2C, =3D escapes) and NFC-normalises it.
 * MOX_ERR_SYNTAX for a bad escape, NUL or invalid UTF-8. */
int moxi_sasl_saslname_decode(const char *s, size_t len, char **out);
/* Appends `s` with ',' and '=' escaped. */
int moxi_sasl_saslname_encode(const char *s, mox_buf *out);

/* One attribute of a SCRAM message: "a=value". */
typedef struct moxi_scram_attr {
    char name;
    const char *val;
    size_t len;
} moxi_scram_attr;

/* Splits `s` at ',' into at most `max` attributes. Returns the count or -1
 * when an element is not ALPHA "=" value (an empty value is allowed; the
 * callers decide). */
int moxi_sasl_scram_split(const char *s, size_t len, moxi_scram_attr *attrs, int max);
/* 1 if a nonce is printable ASCII without ',' and non-empty. */
int moxi_sasl_scram_nonce_ok(const char *s, size_t len);
/* Strict positive decimal without leading zeros, <= UINT32_MAX. */
int moxi_sasl_parse_u32(const char *s, size_t len, uint32_t *out);
/* Random printable nonce: base64 of 18 random bytes. */
int moxi_sasl_nonce(const mox_env *env, mox_buf *out);

int moxi_sasl_is_scram(mox_sasl_mech m);
int moxi_sasl_is_plus(mox_sasl_mech m);
moxi_sasl_hash moxi_sasl_scram_hash(mox_sasl_mech m);
const char *moxi_sasl_cb_name(mox_sasl_cb_type t);
/* A stored SCRAM secret with sane salt and iteration count. */
int moxi_sasl_scram_usable(const mox_sasl_scram_secret *sc);
int moxi_sasl_client_allowed(const mox_sasl_client_config *cfg, mox_sasl_mech m);

/* ---------------------------------------------------------------- server */

enum moxi_srv_state {
    MOXI_SRV_START = 0,
    MOXI_SRV_LOGIN_USER,   /* LOGIN: "Username:" sent */
    MOXI_SRV_LOGIN_PASS,   /* LOGIN: username known, want password */
    MOXI_SRV_CRAM_RESP,    /* CRAM-MD5: challenge sent */
    MOXI_SRV_SCRAM_FINAL,  /* SCRAM: server-first sent */
    MOXI_SRV_PLAIN_RESP,   /* PLAIN/EXTERNAL: empty challenge sent */
    MOXI_SRV_DONE
};

struct mox_sasl_server {
    mox_sasl_mech mech;
    mox_sasl_server_config cfg;  /* copy, size-clamped */
    mox_env env;
    mox_sasl_channel chan;       /* copy; chan.size 0 if none */
    int have_chan;
    enum moxi_srv_state state;
    int status;                  /* last status once done */
    int pending;
    int have_in;                 /* saved input was non-NULL */
    mox_buf in;                  /* input of the current (deferred) step */
    mox_buf out;
    mox_buf scratch;             /* mechanism state: challenge, messages */
    char *username;              /* as claimed */
    char *authcid, *authzid_req; /* authzid as requested ("" none) */
    char *authzid;
    mox_sasl_failure failure;
    char failure_text[128];
    char *hostname;
    char *fixed_nonce;
    unsigned char uukey[64];
    size_t uukey_len;
    /* SCRAM */
    size_t scram_first_bare_off, scram_first_bare_len; /* in scratch */
    size_t scram_gs2_len;        /* gs2 header at scratch[0..] */
    size_t scram_nonce_len;      /* combined nonce, inside server-first */
    size_t scram_sfirst_off, scram_sfirst_len;
    mox_sasl_cb_type scram_cb;
    unsigned char cbdata[MOX_SASL_CB_MAX];
    size_t cbdata_len;
    mox_sasl_failure scram_deferred; /* UNKNOWN_USER / NO_SECRET */
    mox_sasl_secrets secrets;
};

/* Ends the exchange with a failure reason; returns MOX_SASL_FAILURE. */
int moxi_sasl_srv_fail(mox_sasl_server *s, mox_sasl_failure f, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Ends the exchange successfully for authcid/authzid (NFC, authzid "" for
 * none), checking the authorization; returns the status. */
int moxi_sasl_srv_succeed(mox_sasl_server *s, const char *authcid, const char *authzid);
/* Runs the lookup for `user` into s->secrets: MOX_OK, MOX_ERR_NOTFOUND,
 * MOX_ERR_AGAIN or another negative (temporary failure). */
int moxi_sasl_srv_lookup(mox_sasl_server *s, const char *user);
int moxi_sasl_srv_scram(mox_sasl_server *s, const unsigned char *in, size_t len, int have);

/* ---------------------------------------------------------------- client */

enum moxi_cli_state {
    MOXI_CLI_START = 0,
    MOXI_CLI_LOGIN_USER,
    MOXI_CLI_LOGIN_PASS,
    MOXI_CLI_CRAM,
    MOXI_CLI_SCRAM_FIRST,  /* client-first sent */
    MOXI_CLI_SCRAM_FINAL,  /* client-final sent */
    MOXI_CLI_DONE
};

struct mox_sasl_client {
    mox_sasl_mech mech;
    mox_sasl_client_config cfg;
    mox_env env;
    mox_sasl_channel chan;
    int have_chan;
    enum moxi_cli_state state;
    int has_initial;
    int complete;
    mox_buf out;
    char *username;   /* NFC */
    char *authzid;    /* NFC or NULL */
    char *password;   /* PRECIS-prepared */
    char *fixed_nonce;
    size_t password_len;
    mox_sasl_failure failure;
    char failure_text[128];
    /* SCRAM */
    mox_buf scram_msgs;        /* client-first-bare, later AuthMessage */
    mox_buf scram_gs2;
    mox_sasl_cb_type scram_cb;
    unsigned char cbdata[MOX_SASL_CB_MAX];
    size_t cbdata_len;
    size_t nonce_len;          /* client nonce, at the end of scram_msgs */
    unsigned char server_sig[MOXI_HASH_MAX];
};

int moxi_sasl_cli_fail(mox_sasl_client *c, mox_sasl_failure f, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int moxi_sasl_cli_scram(mox_sasl_client *c, const unsigned char *in, size_t len, int have);

#endif
