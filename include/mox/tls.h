/*
 * libmox tls: the TLS transport adapter over a socket, built on mbedTLS
 * 2.28. This is glue, not an engine: it does real socket I/O on the file
 * descriptor it is given (blocking or non-blocking). The protocol engines
 * never include it; they ask their embedder to start TLS and take the
 * channel-binding bytes this module extracts.
 *
 * The client side: certificate verification
 * against a CA bundle (default /etc/ssl/certs/ca-certificates.crt)
 * including the host name, an insecure mode, an optional client
 * certificate, TLS 1.2 as the minimum version, and the tls-unique (RFC
 * 5929) and tls-exporter (RFC 9266) channel bindings. The server side
 * (mox_tls_config_new_server): certificates selected by SNI with a
 * fallback, optional session tickets, optional client certificates
 * identified by the SHA-256 of their public key, the same channel
 * bindings, and handshake failures classified for metrics.
 *
 * Threading: a config and the connections made from it share a random
 * generator: use them from one thread at a time. Distinct configs are
 * independent.
 */
#ifndef MOX_TLS_H
#define MOX_TLS_H

#include "core.h"

MOX_BEGIN_DECLS

/* Protocol versions, as on the wire. */
#define MOX_TLS_VERSION_1_2 0x0303
#define MOX_TLS_VERSION_1_3 0x0304

/* The system CA bundle on Debian. */
#define MOX_TLS_DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

typedef struct mox_tls_config mox_tls_config;
typedef struct mox_tls mox_tls;

/* Client options. Strings are only read during mox_tls_config_new_client.
 *  - ca_file: PEM bundle of trust anchors; NULL: MOX_TLS_DEFAULT_CA_FILE.
 *  - ca_path: a directory of PEM files, used in addition (NULL: none).
 *  - insecure: do not verify the server's certificate at all (its result is
 *    still available from mox_tls_verify_error, for logs).
 *  - cert_file/key_file: PEM client certificate (chain) and its key, both
 *    or neither. key_password may be NULL.
 *  - min_version: 0 or MOX_TLS_VERSION_1_2 (older versions are never
 *    offered); mbedTLS 2.28 has no TLS 1.3, so 1.2 is also the maximum. */
typedef struct mox_tls_client_options {
    size_t size; /* sizeof(mox_tls_client_options), MOX_TLS_CLIENT_OPTIONS_INIT */
    const char *ca_file;
    const char *ca_path;
    int insecure;
    const char *cert_file;
    const char *key_file;
    const char *key_password;
    int min_version;
} mox_tls_client_options;

#define MOX_TLS_CLIENT_OPTIONS_INIT { sizeof(mox_tls_client_options), NULL, NULL, 0, NULL, \
                                      NULL, NULL, 0 }

/* Creates a client configuration. Errors: MOX_ERR_INVAL (bad options),
 * MOX_ERR_IO (a file cannot be read or holds no usable certificate/key),
 * MOX_ERR_CRYPTO (random generator), MOX_ERR_UNSUPPORTED (min_version),
 * MOX_ERR_NOMEM; `ei` says which file and why. */
MOX_API int mox_tls_config_new_client(mox_tls_config **out,
                                      const mox_tls_client_options *opt,
                                      mox_errinfo *ei);
/* Frees a config (client or server); NULL-safe. Free its connections
 * first. */
MOX_API void mox_tls_config_free(mox_tls_config *cfg);

/* Creates a connection on socket `fd` (not owned: the caller closes it
 * after mox_tls_free). `server_name` is the host name to verify and to send
 * as SNI; it is required unless the config is insecure. An IP address
 * literal is never sent as SNI (RFC 6066 §3), and as mbedTLS 2.28 cannot
 * match IP address SANs, a verifying config refuses one with
 * MOX_ERR_UNSUPPORTED rather than skip the name check. `cfg` must outlive
 * the connection. MOX_ERR_INVAL, MOX_ERR_NOMEM, MOX_ERR_CRYPTO. */
MOX_API int mox_tls_new(mox_tls **out, mox_tls_config *cfg, int fd,
                        const char *server_name, mox_errinfo *ei);
/* Frees a connection without sending close_notify (see mox_tls_close) and
 * without closing the socket. NULL-safe. */
MOX_API void mox_tls_free(mox_tls *t);

/* What a non-blocking operation waits for, after MOX_ERR_AGAIN. */
#define MOX_TLS_WANT_READ 1
#define MOX_TLS_WANT_WRITE 2
MOX_API int mox_tls_wants(const mox_tls *t);

/* Runs the handshake. MOX_OK when done; MOX_ERR_AGAIN on a non-blocking
 * socket that would block (see mox_tls_wants; call again when ready);
 * MOX_ERR_PERM when the server's certificate fails verification (ei->msg
 * says why: expired, wrong host name, unknown issuer ...); MOX_ERR_IO
 * (socket error or the peer closed), MOX_ERR_CRYPTO (handshake failure,
 * e.g. no common version or cipher suite). */
MOX_API int mox_tls_handshake(mox_tls *t, mox_errinfo *ei);

/* Reads up to `len` decrypted bytes: returns the count, 0 at the end of
 * the stream (close_notify or TCP EOF), or MOX_ERR_AGAIN / MOX_ERR_IO /
 * MOX_ERR_CRYPTO. */
MOX_API long mox_tls_read(mox_tls *t, void *buf, size_t len);

/* Writes up to `len` bytes: returns how many were taken (> 0), or
 * MOX_ERR_AGAIN (retry with the same bytes), MOX_ERR_IO, MOX_ERR_CRYPTO. */
MOX_API long mox_tls_write(mox_tls *t, const void *buf, size_t len);

/* Decrypted bytes already buffered (readable without the socket being
 * readable). */
MOX_API size_t mox_tls_pending(const mox_tls *t);

/* Sends close_notify (best effort). MOX_OK, MOX_ERR_AGAIN, MOX_ERR_IO. */
MOX_API int mox_tls_close(mox_tls *t);

/* After the handshake: the negotiated version (MOX_TLS_VERSION_*), the
 * cipher suite's IANA-style name (static storage), and the verification
 * problems of the server's certificate ("" when it verified; set even in
 * insecure mode). */
MOX_API int mox_tls_version(const mox_tls *t);
MOX_API const char *mox_tls_cipher(const mox_tls *t);
MOX_API const char *mox_tls_verify_error(const mox_tls *t);

/* Channel bindings. */
typedef enum mox_tls_cb_type {
    MOX_TLS_CB_UNIQUE = 1,   /* RFC 5929 tls-unique: first Finished message */
    MOX_TLS_CB_EXPORTER = 2  /* RFC 9266 tls-exporter: 32 bytes of the
                                "EXPORTER-Channel-Binding" exporter */
} mox_tls_cb_type;

/* Writes the binding of `type` into out[0..cap) and sets *len. Returns
 * MOX_OK; MOX_ERR_STATE before the handshake completed; MOX_ERR_UNSUPPORTED
 * when the type is not defined for this connection (RFC 9266 §3:
 * tls-exporter on TLS 1.2 needs the extended master secret, RFC 7627);
 * MOX_ERR_LIMIT when cap is too small (32 suffices for both). */
MOX_API int mox_tls_channel_binding(const mox_tls *t, mox_tls_cb_type type,
                                    unsigned char *out, size_t cap,
                                    size_t *len);

/* ---------------------------------------------------------------- server */

/* Server options (one config per listener). Strings are copied.
 *  - hostname: the listener's host name. A client that sends no SNI, an IP
 *    literal, or a name no certificate covers gets the certificate whose
 *    names cover `hostname` (else the first one added), unless strict_sni.
 *  - strict_sni: refuse an unknown SNI name (alert unrecognized_name)
 *    instead of falling back; absent or IP-literal SNI still falls back.
 *  - session_tickets: issue RFC 5077 session tickets, with a key private to
 *    this config and rotated every ticket_lifetime seconds (0: 12 hours).
 *  - request_client_cert: ask for a client certificate. It is optional and
 *    accepted without any CA chain or validity check: the application
 *    identifies it by its public key (mox_tls_peer_spki_sha256).
 *  - min_version: 0 or MOX_TLS_VERSION_1_2 (TLS 1.0/1.1 are never
 *    accepted). */
typedef struct mox_tls_server_options {
    size_t size; /* sizeof(mox_tls_server_options), MOX_TLS_SERVER_OPTIONS_INIT */
    const char *hostname;
    int strict_sni;
    int session_tickets;
    uint32_t ticket_lifetime;
    int request_client_cert;
    int min_version;
} mox_tls_server_options;

#define MOX_TLS_SERVER_OPTIONS_INIT { sizeof(mox_tls_server_options), NULL, 0, 0, 0, 0, 0 }

/* Creates a server configuration without certificates (add at least one
 * before the first mox_tls_new). Errors as for the client. */
MOX_API int mox_tls_config_new_server(mox_tls_config **out,
                                      const mox_tls_server_options *opt,
                                      mox_errinfo *ei);

/* Adds a certificate chain (leaf first) and its private key, PEM or DER,
 * from memory (PEM must include its terminating NUL or not: both work) or
 * from files. The DNS names of the leaf's subjectAltName (its CN when it
 * has none) select it for SNI; "*.example.org" covers one label. Only
 * before the first connection: MOX_ERR_STATE afterwards. MOX_ERR_SYNTAX
 * (unparsable), MOX_ERR_INVAL (key does not match, or not a server config),
 * MOX_ERR_IO (file), MOX_ERR_NOMEM. */
MOX_API int mox_tls_config_add_cert(mox_tls_config *cfg, const void *cert,
                                    size_t cert_len, const void *key,
                                    size_t key_len, mox_errinfo *ei);
MOX_API int mox_tls_config_add_cert_file(mox_tls_config *cfg,
                                         const char *cert_file,
                                         const char *key_file,
                                         mox_errinfo *ei);

/* Server connections are made with mox_tls_new (server_name ignored).
 * After the handshake: */

/* The SNI host name the client sent (lower case), or "". */
MOX_API const char *mox_tls_sni(const mox_tls *t);

/* 1 when the handshake resumed a session (ticket). */
MOX_API int mox_tls_resumed(const mox_tls *t);

/* SHA-256 of the client certificate's SubjectPublicKeyInfo (also after
 * resumption: the ticket carries the certificate). MOX_OK,
 * MOX_ERR_NOTFOUND when the client sent none, MOX_ERR_STATE before the
 * handshake. */
MOX_API int mox_tls_peer_spki_sha256(const mox_tls *t, unsigned char out[32]);

/* Why a server handshake failed, as a short metric label: "eof" (closed
 * before or during the handshake), "not-tls" (the first byte is no TLS
 * handshake record, e.g. plain SMTP on an implicit-TLS port),
 * "unsupported-version", "alert-NAME" (the client sent a fatal alert, e.g.
 * "alert-bad_certificate", "alert-unknown_ca"), "no-shared-cipher",
 * "unrecognized-name" (strict_sni), "io" (socket error), "other". "" while
 * none failed. Static or connection-owned storage. */
MOX_API const char *mox_tls_failure(const mox_tls *t);

/* "TLS1.2", "TLS1.3" for a MOX_TLS_VERSION_* value, "" for others. */
MOX_API const char *mox_tls_version_name(int version);

/* SHA-256 of the SubjectPublicKeyInfo of the first certificate in `cert`
 * (PEM or DER), e.g. to register a client certificate with an account.
 * MOX_ERR_SYNTAX, MOX_ERR_NOMEM. */
MOX_API int mox_tls_cert_spki_sha256(const void *cert, size_t len,
                                     unsigned char out[32], mox_errinfo *ei);

/* Generates an ECDSA P-256 key and a self-signed certificate for `names`
 * (1 to 32 DNS names or IP literals, the first also as CN), valid from one
 * day ago for `days` days (0: 3650), appending both as PEM to `cert_pem`
 * and `key_pem`. For test setups and localserve. Randomness comes from
 * mbedTLS's own entropy source, not from a mox_random.
 * MOX_ERR_INVAL, MOX_ERR_CRYPTO, MOX_ERR_NOMEM. */
MOX_API int mox_tls_selfsigned(const char *const *names, size_t n, unsigned days,
                               mox_buf *cert_pem, mox_buf *key_pem,
                               mox_errinfo *ei);

MOX_END_DECLS

#endif
