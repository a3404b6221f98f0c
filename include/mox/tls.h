/*
 * libmox tls: TLS as an engine, on mbedTLS 2.28 (TLS 1.2).
 *
 * A mox_tls is a sans-I/O engine (include/mox/engine.h): it never touches
 * a socket. Ciphertext from the peer goes in with mox_tls_feed, ciphertext
 * for the peer comes out with mox_tls_output/mox_tls_output_done, and the
 * application reads and writes plaintext with mox_tls_read/mox_tls_write
 * (or the zero-copy mox_tls_plaintext/mox_tls_plaintext_done). Handshake,
 * close_notify, renegotiation refusal and the handshake deadline all show
 * through mox_tls_want. mox_tls_engine gives the generic view, so
 * mox_engine_run can run a handshake over any mox_transport.
 *
 * Layers:
 *   mox_tls_config  shared, per listener or per client setup: CA set,
 *                   certificates, session-ticket key, random generator;
 *   mox_tls         one connection (client or server role), made from a
 *                   config and a mox_tls_request (server name, policy);
 *   mox_tls_socket  convenience wrapper running a mox_tls over a socket
 *                   (tls_socket.c), and mox_tls_transport, a mox_transport
 *                   whose starttls() runs the engine over the socket.
 * Verification against DANE TLSA records and MTA-STS patterns also exists
 * as pure functions over a DER certificate chain (mox_tls_verify_dane,
 * mox_tls_verify_mtasts), usable with any TLS library.
 *
 * Threading: a config and the connections made from it share a random
 * generator and, during a handshake, the config's callbacks: use them from
 * one thread at a time. Distinct configs are independent. The pure
 * functions are thread-safe.
 */
#ifndef MOX_TLS_H
#define MOX_TLS_H

#include "core.h"
#include "dns.h"
#include "engine.h"

MOX_BEGIN_DECLS

/* Protocol versions, as on the wire. */
#define MOX_TLS_VERSION_1_2 0x0303
#define MOX_TLS_VERSION_1_3 0x0304

/* The system CA bundle on Debian. */
#define MOX_TLS_DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

/* Default handshake limit: a handshake is a few round trips; one that has
 * not completed after this long is cut off (Postfix allows 300 s for
 * STARTTLS; RFC 5321 sets no limit for it). */
#define MOX_TLS_DEFAULT_HANDSHAKE_TIMEOUT_MS 60000u

typedef struct mox_tls_config mox_tls_config;
typedef struct mox_tls mox_tls;

/* ---------------------------------------------------------------- configs */

/* Client options. Zero means default in every field; strings are only read
 * during mox_tls_config_new_client.
 *  - ca_file: PEM bundle of trust anchors for MOX_TLS_VERIFY_WEBPKI and
 *    _MTASTS; NULL: MOX_TLS_DEFAULT_CA_FILE.
 *  - ca_path: a directory of PEM files, used in addition (NULL: none).
 *  - insecure: a connection made with a NULL request verifies nothing
 *    (MOX_TLS_VERIFY_NONE) instead of WebPKI; the CA set is then loaded
 *    only when ca_file or ca_path is given. A request always says itself
 *    which policy applies.
 *  - cert_file/key_file: PEM client certificate (chain) and its key, both
 *    or neither. key_password may be NULL.
 *  - min_version: 0 or MOX_TLS_VERSION_1_2 (older versions are never
 *    offered); mbedTLS 2.28 has no TLS 1.3, so 1.2 is also the maximum.
 *  - handshake_timeout_ms: the handshake must complete within this long
 *    of mox_tls_new (0: MOX_TLS_DEFAULT_HANDSHAKE_TIMEOUT_MS).
 *  - clock: monotonic clock for that deadline and wall clock for DANE
 *    validity checks (NULL: the system clocks); must outlive the config. */
typedef struct mox_tls_client_options {
    size_t size; /* sizeof(mox_tls_client_options), MOX_TLS_CLIENT_OPTIONS_INIT */
    const char *ca_file;
    const char *ca_path;
    int insecure;
    const char *cert_file;
    const char *key_file;
    const char *key_password;
    int min_version;
    uint32_t handshake_timeout_ms;
    const mox_clock *clock;
} mox_tls_client_options;

#define MOX_TLS_CLIENT_OPTIONS_INIT                                                              \
    { sizeof(mox_tls_client_options), NULL, NULL, 0, NULL, NULL, NULL, 0, 0, NULL }

/* Function form of the INIT macro: zeroes `o` and sets its size to
 * `size` (the caller's sizeof). NULL-safe. */
MOX_API void mox_tls_client_options_init(mox_tls_client_options *o, size_t size);

/* Creates a client configuration. Errors (ei always filled): MOX_ERR_INVAL
 * (NULL out or options, certificate without key), MOX_ERR_IO (a file
 * cannot be read or holds no usable certificate/key), MOX_ERR_CRYPTO
 * (random generator), MOX_ERR_UNSUPPORTED (min_version), MOX_ERR_NOMEM. */
MOX_API int mox_tls_config_new_client(mox_tls_config **out,
                                      const mox_tls_client_options *opt,
                                      mox_errinfo *ei);

/* Frees a config (client or server); NULL-safe. Free its connections
 * first. */
MOX_API void mox_tls_config_free(mox_tls_config *cfg);

/* Server options (one config per listener). Zero means default; strings
 * are copied.
 *  - hostname: the listener's host name. A client that sends no SNI, an IP
 *    literal, or a name no certificate covers gets the certificate whose
 *    names cover `hostname` (else the first one added), unless strict_sni.
 *  - strict_sni: refuse an unknown SNI name (alert unrecognized_name)
 *    instead of falling back; absent or IP-literal SNI still falls back.
 *  - session_tickets: issue RFC 5077 session tickets, with a key private to
 *    this config and rotated every ticket_lifetime seconds (0: 12 hours).
 *  - request_client_cert: ask for a client certificate. It is optional and
 *    accepted without any CA chain or validity check: the application
 *    identifies it by its public key (mox_tls_info.peer_spki_sha256).
 *  - min_version: 0 or MOX_TLS_VERSION_1_2 (TLS 1.0/1.1 are never
 *    accepted).
 *  - handshake_timeout_ms, clock: as for the client. */
typedef struct mox_tls_server_options {
    size_t size; /* sizeof(mox_tls_server_options), MOX_TLS_SERVER_OPTIONS_INIT */
    const char *hostname;
    int strict_sni;
    int session_tickets;
    uint32_t ticket_lifetime;
    int request_client_cert;
    int min_version;
    uint32_t handshake_timeout_ms;
    const mox_clock *clock;
} mox_tls_server_options;

#define MOX_TLS_SERVER_OPTIONS_INIT                                                              \
    { sizeof(mox_tls_server_options), NULL, 0, 0, 0, 0, 0, 0, NULL }

/* Function form of MOX_TLS_SERVER_OPTIONS_INIT. NULL-safe. */
MOX_API void mox_tls_server_options_init(mox_tls_server_options *o, size_t size);

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

/* ---------------------------------------------------------------- engine */

/* Creates a connection engine from `cfg` (which must outlive it) as `req`
 * says (copied: its views need not outlive the call):
 *  - req->role: 0 (the config's role) or the config's role; a server
 *    connection needs a server config with a certificate.
 *  - req->server_name (client): sent as SNI (never an IP literal, RFC 6066
 *    §3) and the name verified. Required for every policy but NONE.
 *  - req->verify (client): MOX_TLS_VERIFY_NONE (any certificate; the
 *    verification is still run for logs, mox_tls_verify_error);
 *    _WEBPKI (chain to the config's CA set, name matches; needs a CA set);
 *    _DANE (one usable TLSA record of req->tlsa matches, as
 *    mox_tls_verify_dane says; no CA set needed); _MTASTS (WebPKI, and
 *    server_name matches one of req->mtasts_mx, RFC 8461 §4.1). A
 *    certificate that fails the policy fails the handshake (MOX_ERR_PERM)
 *    with a fatal alert. mbedTLS 2.28 cannot match IP address SANs: a
 *    verifying policy with an IP literal is MOX_ERR_UNSUPPORTED.
 *  - req->required is the protocol engine's business (no plaintext
 *    fallback); the TLS engine ignores it.
 * A NULL req means: the config's role, no server name, and for a client
 * config MOX_TLS_VERIFY_NONE if it is insecure, else WEBPKI (which then
 * fails for want of a server name). The handshake starts at once: a client
 * has its ClientHello in the output. The handshake deadline is
 * handshake_timeout_ms from now (the config's clock).
 * Errors (ei always filled): MOX_ERR_INVAL (NULL out or cfg, a role or
 * policy that does not fit the config, missing server name, a DANE request
 * without TLSA records, an MTA-STS request without patterns),
 * MOX_ERR_UNSUPPORTED (IP literal with verification), MOX_ERR_STATE
 * (server config without certificate), MOX_ERR_NOMEM, MOX_ERR_CRYPTO. */
MOX_API int mox_tls_new(mox_tls **out, mox_tls_config *cfg, const mox_tls_request *req,
                        mox_errinfo *ei);

/* Frees a connection (without sending close_notify: see mox_tls_close).
 * NULL-safe. */
MOX_API void mox_tls_free(mox_tls *t);

/* What the engine waits for (MOX_WANT_* bits):
 *  - READ: mox_tls_feed takes ciphertext now (the handshake waits for the
 *    peer's flight, or the connection is established and open for input).
 *  - WRITE: mox_tls_output has ciphertext for the peer.
 *  - TIMER: the handshake is running: tick at mox_tls_deadline.
 *  - DONE: the handshake completed successfully; mox_tls_get_info is valid
 *    and plaintext flows. It stays set for the life of the engine, also
 *    after the connection closed. DONE alone is no end: an established
 *    connection usually wants READ|DONE.
 *  - CLOSED: the connection is over: our close_notify or fatal alert is
 *    queued (send the output, then close the transport), or the input
 *    ended. Plaintext received before may still be read (mox_tls_read
 *    until it returns 0 or an error). CLOSED without DONE means the
 *    handshake failed; mox_tls_error says why.
 * mox_engine_run stops at DONE (after flushing the handshake's output), so
 * over a transport it runs exactly the handshake. NULL: 0. */
MOX_API unsigned mox_tls_want(const mox_tls *t);

/* Ciphertext from the peer: returns how many bytes were taken (0: the
 * input buffer is full: read plaintext or send output first, then feed the
 * rest again). Bytes fed after the connection closed are taken and
 * dropped. A protocol failure (bad record, alert, failed verification) is
 * not an error of this call: it shows as CLOSED (with the alert in the
 * output) and in mox_tls_error. Errors (also in mox_engine_error):
 * MOX_ERR_INVAL (NULL t, NULL p with n > 0), MOX_ERR_STATE (after
 * mox_tls_eof). */
MOX_API int64_t mox_tls_feed(mox_tls *t, const void *p, size_t n);

/* The transport delivers no more ciphertext. During the handshake that is
 * a failure ("eof"); afterwards the stream ends (MOX_ERR_TRUNCATED in
 * mox_tls_error unless the peer's close_notify came first), and a
 * close_notify of ours is queued if none was. MOX_OK; MOX_ERR_INVAL;
 * MOX_ERR_STATE (second eof). */
MOX_API int mox_tls_eof(mox_tls *t);

/* Zero-copy ciphertext out: p and n view the bytes to send (n 0: none),
 * valid until the next call on t; mox_tls_output_done(t, k) says k of them
 * were sent (k <= n of the last mox_tls_output). MOX_OK; MOX_ERR_INVAL
 * (NULL argument, k larger than handed out; recorded in
 * mox_engine_error). */
MOX_API int mox_tls_output(mox_tls *t, const void **p, size_t *n);
MOX_API int mox_tls_output_done(mox_tls *t, size_t n);

/* Handshake deadline: monotonic ns (the config's clock) while the
 * handshake runs, else MOX_NO_DEADLINE. mox_tls_tick(t, now) at or after
 * it fails the handshake with MOX_ERR_TIMEOUT (no alert is sent; the
 * engine wants CLOSED). A tick before it, or after the handshake, does
 * nothing. MOX_OK, MOX_ERR_INVAL. */
MOX_API int64_t mox_tls_deadline(const mox_tls *t);
MOX_API int mox_tls_tick(mox_tls *t, int64_t now_ns);

/* The generic view (engine.h): feed, eof, output, output_done, deadline,
 * tick and want; name "tls". Lives inside t. NULL: NULL. */
MOX_API mox_engine *mox_tls_engine(mox_tls *t);

/* ------------------------------------------------------------ plaintext */

/* Reads up to `cap` decrypted bytes. Returns the count (> 0); 0 at the end
 * of the stream after the peer's close_notify; MOX_ERR_AGAIN when nothing
 * is buffered now (see mox_tls_want: feed more ciphertext); MOX_ERR_STATE
 * before the handshake completed; or, once buffered plaintext is used up,
 * the error that ended the connection (as mox_tls_error: e.g.
 * MOX_ERR_TRUNCATED for an input end without close_notify,
 * MOX_ERR_CRYPTO for a bad record or a fatal alert). MOX_ERR_INVAL. */
MOX_API int64_t mox_tls_read(mox_tls *t, void *buf, size_t cap);

/* Zero-copy reading: p and n view the decrypted bytes buffered now (n 0:
 * none), valid until the next call on t; mox_tls_plaintext_done(t, k)
 * consumes k <= n of them. MOX_OK, MOX_ERR_STATE (before the handshake),
 * MOX_ERR_INVAL (k too large; recorded in mox_engine_error). */
MOX_API int mox_tls_plaintext(mox_tls *t, const void **p, size_t *n);
MOX_API int mox_tls_plaintext_done(mox_tls *t, size_t n);

/* Decrypted bytes buffered (readable without feeding). NULL: 0. */
MOX_API size_t mox_tls_pending(const mox_tls *t);

/* Encrypts up to `n` plaintext bytes (one record of at most 16384 per
 * call) into the output. Returns how many were taken: 0 when the output
 * buffer is full (send output first). MOX_ERR_STATE before the handshake
 * completed or after the connection closed (mox_tls_error then tells
 * why); MOX_ERR_INVAL; MOX_ERR_CRYPTO (encryption failed). */
MOX_API int64_t mox_tls_write(mox_tls *t, const void *p, size_t n);

/* Queues close_notify (RFC 5246 §7.2.1) and ends the connection: the
 * engine then wants WRITE until the alert is sent, and CLOSED. Before the
 * handshake completed it just ends it (no alert). Idempotent. MOX_OK,
 * MOX_ERR_INVAL. */
MOX_API int mox_tls_close(mox_tls *t);

/* Why the connection ended, or code MOX_OK while it has not (or ended by
 * close_notify). Codes: MOX_ERR_PERM (the peer's certificate failed the
 * policy; msg says why), MOX_ERR_CRYPTO (handshake failure, bad record
 * MAC, fatal alert from the peer: msg names it), MOX_ERR_SYNTAX (bytes
 * that are not TLS records), MOX_ERR_TRUNCATED (the input ended mid-record
 * or without close_notify), MOX_ERR_IO (the input ended during the
 * handshake), MOX_ERR_TIMEOUT (handshake deadline), MOX_ERR_UNSUPPORTED
 * (no common version), MOX_ERR_NOMEM. detail: the mbedTLS error code when
 * one applies. Owned by t. NULL: NULL. */
MOX_API const mox_errinfo *mox_tls_error(const mox_tls *t);

/* ------------------------------------------------------------ information */

/* After the handshake (MOX_WANT_DONE): fills `info` (whose size the caller
 * set, MOX_TLS_INFO_INIT) with the connection's description: version,
 * IANA cipher-suite number and name, SNI (server: what the client sent;
 * client: what we sent), resumption, whether the peer presented a
 * certificate and whether it passed the request's policy (never for
 * VERIFY_NONE or on the server side, where client certificates are
 * identities, not chains), its SPKI SHA-256, and the channel bindings
 * tls-unique (RFC 5929 §3: the first Finished of the latest handshake),
 * tls-exporter (RFC 9266: 32 bytes; only with the extended master secret,
 * RFC 7627, else NULL) and tls-server-end-point (RFC 5929 §4.1: hash of
 * the server's certificate with its signature's hash, SHA-256 for MD5 and
 * SHA-1). peer_identity is NULL (the embedder's business). Every view is
 * owned by t and valid until it is freed. MOX_OK; MOX_ERR_STATE before the
 * handshake; MOX_ERR_INVAL. */
MOX_API int mox_tls_get_info(const mox_tls *t, mox_tls_info *info);

/* After the handshake: the cipher suite's IANA name (static storage), ""
 * before. Same as mox_tls_info.cipher. */
MOX_API const char *mox_tls_cipher(const mox_tls *t);

/* The verification problems of the peer's certificate against WebPKI
 * (client side), "" when it verified or none was checked; set even under
 * VERIFY_NONE, for logs. For DANE and MTA-STS, the policy's reason. */
MOX_API const char *mox_tls_verify_error(const mox_tls *t);

/* Why a server handshake failed, as a short metric label: "eof" (closed
 * before or during the handshake), "not-tls" (the first byte is no TLS
 * handshake record, e.g. plain SMTP on an implicit-TLS port),
 * "unsupported-version", "alert-NAME" (the client sent a fatal alert, e.g.
 * "alert-bad_certificate", "alert-unknown_ca"), "no-shared-cipher",
 * "unrecognized-name" (strict_sni), "timeout", "other". "" while none
 * failed. Connection-owned storage. */
MOX_API const char *mox_tls_failure(const mox_tls *t);

/* "TLS1.2", "TLS1.3" for a MOX_TLS_VERSION_* value, "" for others. */
MOX_API const char *mox_tls_version_name(int version);

/* The IANA TLS Cipher Suite Registry name of cipher suite `id` (its IANA
 * value), e.g. 0xC02F "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", for every
 * suite mbedTLS 2.28 knows and the TLS 1.3 suites; NULL for others.
 * Static storage. */
MOX_API const char *mox_tls_cipher_suite_name(uint16_t id);

/* SHA-256 of the SubjectPublicKeyInfo of the first certificate in `cert`
 * (PEM or DER), e.g. to register a client certificate with an account.
 * MOX_ERR_INVAL, MOX_ERR_SYNTAX, MOX_ERR_NOMEM. */
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

/* ---------------------------------------------------------- verification */

/* Pure checks over a peer's certificate chain as DER: chain[0] is the
 * leaf, then the certificates the peer sent after it (lens[i] bytes each).
 * Usable with any TLS library. `now_wall_ns`: the time validity is checked
 * at (ns since the Unix epoch; 0: the system clock). Thread-safe. */

/* Does certificate name `pattern` match host name `host`? Case-insensitive
 * ASCII, one trailing dot ignored on either; "*.example.org" matches
 * exactly one leftmost label ("a.example.org", not "example.org" nor
 * "a.b.example.org"), and '*' anywhere else matches nothing (RFC 8461
 * §4.1 for MTA-STS mx patterns; RFC 6125 §6.4.3 / RFC 7672 §3.2.3 for
 * certificate names). Returns 1 or 0 (NULL arguments: 0). */
MOX_API int mox_tls_mtasts_match(const char *pattern, const char *host);

/* Does the certificate (DER) cover `host`? Its subjectAltName dNSNames, or
 * its subject CNs when it has no dNSName, matched with
 * mox_tls_mtasts_match. 1, 0 (also when unparsable). */
MOX_API int mox_tls_cert_matches_host(const unsigned char *der, size_t len,
                                      const char *host);

/* DANE for SMTP (RFC 7672 §3, RFC 6698 §2.1, RFC 7671): does the chain
 * match one usable record of `tlsa` (records of another type are
 * ignored)? Usable: usage DANE-TA(2) or DANE-EE(3) (PKIX-TA(0) and
 * PKIX-EE(1) are unusable for SMTP, RFC 7672 §3.1.3), selector
 * Cert(0) or SPKI(1), matching Full(0), SHA2-256(1) or SHA2-512(2), and
 * for SHA2-256/512 data of the digest's length.
 *  - DANE-EE(3): the leaf's certificate or SPKI matches. Names and
 *    validity dates are not checked (RFC 7672 §3.1.1).
 *  - DANE-TA(2): a certificate of the chain matches (for Cert/Full also
 *    the record's own certificate, for SPKI/Full a bare key that signed
 *    the topmost certificate sent: RFC 7671 §5.2.2 allows the TA to be
 *    absent then); the chain from the leaf up to it must be correctly
 *    issued and signed, every certificate below the trust anchor valid at
 *    `now_wall_ns` and every issuer a CA; the trust anchor's own validity
 *    dates are not checked. The leaf must cover one of `names` (the TLSA
 *    base domain, and optionally other reference identifiers, RFC 7672
 *    §3.2.2), with wildcards as mox_tls_mtasts_match.
 * On MOX_OK, *matched (optional) is the index in `tlsa` of the record that
 * matched. Returns MOX_OK; MOX_ERR_PERM (usable records, none matched: ei
 * says why for the last one tried); MOX_ERR_NOTFOUND (no usable record:
 * RFC 7672 §2.2 then asks for mandatory but unauthenticated TLS: the
 * caller decides); MOX_ERR_SYNTAX (the leaf is not a certificate);
 * MOX_ERR_INVAL (n 0, NULL arguments); MOX_ERR_NOMEM. */
MOX_API int mox_tls_verify_dane(const unsigned char *const *chain, const size_t *lens,
                                size_t n, const mox_dns_rr *tlsa, size_t ntlsa,
                                const char *const *names, size_t nnames,
                                int64_t now_wall_ns, size_t *matched, mox_errinfo *ei);

/* MTA-STS (RFC 8461 §4.1): `mx_host` matches one of the policy's `mx`
 * patterns, the leaf covers `mx_host`, and, with `trust` (a client config:
 * its CA set), the chain verifies to one of its CAs, valid at
 * `now_wall_ns`. With trust NULL the chain check is left to the caller's
 * TLS library (which must have done WebPKI verification). MOX_OK;
 * MOX_ERR_PERM (ei says which check failed); MOX_ERR_SYNTAX (the leaf is
 * not a certificate); MOX_ERR_INVAL (NULL arguments, n 0, trust not a
 * client config with CAs); MOX_ERR_NOMEM. */
MOX_API int mox_tls_verify_mtasts(const unsigned char *const *chain, const size_t *lens,
                                  size_t n, const char *mx_host,
                                  const char *const *mx, size_t nmx,
                                  const mox_tls_config *trust, int64_t now_wall_ns,
                                  mox_errinfo *ei);

/* ---------------------------------------------------------------- sockets */

/* A mox_tls run over a connected socket `fd` (blocking or not; not owned:
 * the caller closes it after mox_tls_socket_free), for daemons and tools
 * that own a plain file descriptor. tls_socket.c. Like the engine it is
 * used from one thread at a time. */
typedef struct mox_tls_socket mox_tls_socket;

/* Creates the engine (as mox_tls_new with cfg and req) over `fd`; no I/O
 * yet. Errors as mox_tls_new, and MOX_ERR_INVAL for fd < 0. */
MOX_API int mox_tls_socket_new(mox_tls_socket **out, mox_tls_config *cfg, int fd,
                               const mox_tls_request *req, mox_errinfo *ei);
/* Frees the wrapper and its engine; does not close fd. NULL-safe. */
MOX_API void mox_tls_socket_free(mox_tls_socket *s);

/* Runs the handshake. On a blocking socket it waits (poll) until done or
 * the engine's handshake deadline; on a non-blocking one it returns
 * MOX_ERR_AGAIN when the socket would block (mox_tls_socket_wants says
 * for what; call again when ready). MOX_OK when done; otherwise the error
 * that ended it (as mox_tls_error, ei filled): MOX_ERR_PERM (certificate
 * refused), MOX_ERR_CRYPTO, MOX_ERR_IO (socket error, or the peer closed),
 * MOX_ERR_TIMEOUT, ... */
MOX_API int mox_tls_socket_handshake(mox_tls_socket *s, mox_errinfo *ei);

/* Plaintext I/O after the handshake. read: the count (> 0), 0 at the end
 * of the stream (close_notify, or the socket's EOF at a record boundary),
 * MOX_ERR_AGAIN (non-blocking socket would block), or the error that
 * ended the connection. write: the count taken (> 0), or MOX_ERR_AGAIN
 * (call again with the same bytes: they were encrypted but not all sent
 * yet, as mbedTLS's own write), MOX_ERR_IO, MOX_ERR_STATE. */
MOX_API int64_t mox_tls_socket_read(mox_tls_socket *s, void *buf, size_t len);
MOX_API int64_t mox_tls_socket_write(mox_tls_socket *s, const void *buf, size_t len);

/* Sends what is pending. MOX_OK (all sent), MOX_ERR_AGAIN, MOX_ERR_IO. */
MOX_API int mox_tls_socket_flush(mox_tls_socket *s);

/* Queues close_notify and sends it (best effort on a non-blocking socket:
 * MOX_ERR_AGAIN leaves it pending). MOX_OK, MOX_ERR_AGAIN, MOX_ERR_IO. */
MOX_API int mox_tls_socket_close(mox_tls_socket *s);

/* After MOX_ERR_AGAIN: MOX_WANT_READ and/or MOX_WANT_WRITE, what the
 * socket must become ready for. Also MOX_WANT_WRITE whenever ciphertext
 * is pending. NULL: 0. */
MOX_API unsigned mox_tls_socket_wants(const mox_tls_socket *s);

/* Bytes buffered that a read can use without the socket becoming
 * readable: decrypted plaintext, and ciphertext taken from the socket but
 * not decrypted yet (the wrapper only takes from the socket what the
 * engine can take, so the rest stays visible to poll/epoll). */
MOX_API size_t mox_tls_socket_pending(const mox_tls_socket *s);

/* The engine inside (mox_tls_get_info, mox_tls_failure, ...). */
MOX_API mox_tls *mox_tls_socket_tls(const mox_tls_socket *s);

/* A mox_transport (engine.h) over socket `fd` for mox_engine_run: read
 * and write carry plaintext over the socket until starttls(), which runs a
 * TLS engine from `cfg` over it as the request says (blocking, bounded by
 * the engine's handshake deadline) and fills the mox_tls_info (views valid
 * until the transport is freed); from then on read/write go through TLS.
 * close() sends close_notify when TLS is active (it never closes fd). */
typedef struct mox_tls_transport mox_tls_transport;

/* MOX_ERR_INVAL (NULL out or cfg, fd < 0), MOX_ERR_NOMEM. */
MOX_API int mox_tls_transport_new(mox_tls_transport **out, mox_tls_config *cfg, int fd,
                                  mox_errinfo *ei);
/* Frees the transport and its TLS socket; not fd. NULL-safe. */
MOX_API void mox_tls_transport_free(mox_tls_transport *x);
/* Fills `t` (the caller's sizeof, as mox_transport_fd) with the callbacks
 * over x. */
MOX_API void mox_tls_transport_fill_sized(mox_tls_transport *x, mox_transport *t,
                                          size_t t_size);
#define mox_tls_transport_fill(x, t) mox_tls_transport_fill_sized((x), (t), sizeof *(t))
/* The TLS socket after a successful starttls, else NULL. */
MOX_API mox_tls_socket *mox_tls_transport_socket(const mox_tls_transport *x);

MOX_END_DECLS

#endif
