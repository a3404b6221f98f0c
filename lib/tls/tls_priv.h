/* Private state of the TLS adapter, shared by its client and server files. */
#ifndef MOX_TLS_PRIV_H
#define MOX_TLS_PRIV_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>

#include "mox/tls.h"

enum { MOXI_TLS_ROLE_CLIENT = 1, MOXI_TLS_ROLE_SERVER = 2 };

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
    mbedtls_ssl_config conf;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt own_cert;
    mbedtls_pk_context own_key;
    /* The connection whose handshake is running: the key-export and SNI
     * callbacks are per config in mbedTLS 2.28, so they find their
     * connection here. */
    mox_tls *current;
    /* server side */
    moxi_tls_cert **certs;
    size_t ncerts;
    char *hostname;           /* the listener's host name: fallback choice */
    int strict_sni;
    int prepared;             /* fallback certificate installed */
    int tickets;
    mbedtls_ssl_ticket_context ticket;
};

struct mox_tls {
    mox_tls_config *cfg;
    mbedtls_ssl_context ssl;
    int fd;
    int wants;
    int done;
    int have_exporter;
    int resumed;
    int received;             /* some bytes came from the peer */
    unsigned char first_byte; /* the first of them (TLS or not?) */
    unsigned char exporter[32];
    char verify_error[512];
    /* server side */
    char sni[256];
    int have_spki;
    unsigned char spki[32];
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
/* After a completed server handshake: client certificate key hash. */
int moxi_tls_server_handshake_done(mox_tls *t, mox_errinfo *ei);
/* After a failed server handshake: the failure class for metrics. */
void moxi_tls_server_classify(mox_tls *t, int mbed_err);

#endif
