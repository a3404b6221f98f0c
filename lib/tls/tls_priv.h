/* Private state of the TLS engine, shared by its files. */
#ifndef MOX_TLS_PRIV_H
#define MOX_TLS_PRIV_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>

#include "core/core_priv.h"
#include "engine/engine_priv.h"
#include "mox/tls.h"

enum { MOXI_TLS_ROLE_CLIENT = MOX_TLS_ROLE_CLIENT, MOXI_TLS_ROLE_SERVER = MOX_TLS_ROLE_SERVER };

/* Buffer sizes. A TLS 1.2 record is at most 5 + 2^14 + 2048 bytes (RFC
 * 5246 §6.2.3); mbedTLS copies what it needs from `in` into its own record
 * buffer, so the input buffer only bounds how much one feed takes; one
 * largest record, so the socket wrapper reads a record per recv(). The
 * output buffer holds at least one full record besides what is pending. */
#define MOXI_TLS_IN_CAP (16384u + 2048u + 5u)
#define MOXI_TLS_PLAIN_CAP 16384u
#define MOXI_TLS_OUT_MAX (2u * (16384u + 2048u + 5u))

/* One certificate chain with its key and the DNS names it serves
 * (lower case; "*.example.org" for wildcards). */
typedef struct moxi_tls_cert {
    mbedtls_x509_crt crt;
    mbedtls_pk_context key;
    char **names;
    size_t nnames;
} moxi_tls_cert;

struct mox_tls_config {
    int role;
    int insecure;
    int have_ca;
    uint32_t hs_timeout_ms;
    const mox_clock *clock;
    mbedtls_ssl_config conf;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt own_cert;
    mbedtls_pk_context own_key;
    /* The connection whose handshake is running: the key-export callback
     * is per config in mbedTLS 2.28, so it finds its connection here. */
    mox_tls *current;
    /* server side */
    moxi_tls_cert **certs;
    size_t ncerts;
    moxi_tls_cert *fallback;  /* installed as the config's own cert */
    char *hostname;           /* the listener's host name: fallback choice */
    int strict_sni;
    int prepared;             /* fallback certificate installed */
    int tickets;
    mbedtls_ssl_ticket_context ticket;
};

/* Record framing of the input as mbedTLS consumes it: to tell a record
 * cut short from a clean end, name a bad header, and see a renegotiation
 * attempt (a handshake record after the handshake). */
typedef struct moxi_tls_track {
    unsigned char hdr[5];
    size_t hlen;      /* header bytes seen of the current record */
    size_t left;      /* body bytes still to come */
    size_t reclen;    /* body length of the current record */
    uint64_t records; /* headers completed */
} moxi_tls_track;

struct mox_tls {
    mox_engine g; /* generic view */
    mox_tls_config *cfg;
    mbedtls_ssl_context ssl;
    int role;
    /* request (client) */
    int verify;
    char *server_name;
    mox_dns_rr *tlsa;
    size_t ntlsa;
    unsigned char *tlsa_data;
    char **mx;
    size_t nmx;
    mbedtls_x509_crt no_ca; /* empty trust list for DANE without a CA set */
    /* buffers */
    unsigned char in[MOXI_TLS_IN_CAP];
    size_t in_off, in_len;
    unsigned char plain[MOXI_TLS_PLAIN_CAP];
    size_t plain_off, plain_len;
    unsigned char *out;
    size_t out_off, out_len, out_cap;
    size_t out_given; /* handed out by the last output() */
    size_t plain_given;
    moxi_tls_track track;
    /* state */
    int hs_done;
    int hs_want;          /* MOX_WANT_READ / _WRITE the handshake waits for */
    int eof;              /* mox_tls_eof was called */
    int input_done;       /* mbedTLS saw the input end */
    int peer_closed;      /* the peer's close_notify arrived */
    int close_queued;     /* our close_notify (or a fatal alert) is queued */
    int close_pending;    /* close_notify not fully in the output yet */
    int failed;           /* a fatal error ended the connection */
    int64_t deadline;
    uint64_t reneg_refused;
    int trunc_boundary;   /* the input ended at a record boundary without close_notify */
    mox_errinfo err;
    /* results */
    int have_exporter;
    int resumed;
    int received;             /* some bytes came from the peer */
    unsigned char first_byte; /* the first of them (TLS or not?) */
    unsigned char exporter[32];
    unsigned char unique[64];
    size_t unique_len;
    unsigned char endpoint[64];
    size_t endpoint_len;
    int peer_cert;
    int peer_verified;
    unsigned char spki[32];
    const moxi_tls_cert *own; /* server: the certificate chosen */
    char verify_error[512];
    /* server side */
    char sni[256];
    char failure[48];
};

void moxi_tls_mbed_msg(mox_errinfo *ei, int code, int mret, const char *what);
/* Key-export callback: tls-exporter and whether the session resumed. */
int moxi_tls_export_keys(void *p, const unsigned char *ms, const unsigned char *kb,
                         size_t maclen, size_t keylen, size_t ivlen,
                         const unsigned char client_random[32],
                         const unsigned char server_random[32], mbedtls_tls_prf_types prf);
void moxi_tls_server_config_free(mox_tls_config *cfg);
/* Installs the fallback certificate before the first connection. */
int moxi_tls_server_prepare(mox_tls_config *cfg, mox_errinfo *ei);
/* After a failed server handshake: the failure class for metrics. */
void moxi_tls_server_classify(mox_tls *t, int mbed_err);
/* The name of TLS alert `a` ("bad_certificate"), or NULL. */
const char *moxi_tls_alert_name(unsigned a);
/* mbedTLS PEM-or-DER certificate parsing (PEM with or without its NUL). */
int moxi_tls_parse_crt(mbedtls_x509_crt *crt, const void *p, size_t n);
/* SHA-256 of a key's SubjectPublicKeyInfo. */
int moxi_tls_spki_hash(const mbedtls_pk_context *pk, unsigned char out[32]);
/* Engine side of the verification policies: the per-connection mbedTLS
 * verify callback (p = the mox_tls). */
int moxi_tls_verify_cb(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags);
/* Is `s` an IPv4 or IPv6 literal? */
int moxi_tls_is_ip(const char *s, size_t n);

#endif
