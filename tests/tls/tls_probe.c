/* The TLS engine through the socket wrapper, for interop_tls.py against
 * openssl s_server/s_client and Python's ssl.
 *
 * Client:  tls_probe HOST PORT [--insecure] [--cafile F] [--name N]
 *          [--cert F --key F] [--dane USAGE SEL MATCH HEX]... [--mtasts PAT]...
 *   prints "ok VERSION CIPHER UNIQUE EXPORTER END_POINT CIPHER_ID", then
 *   sends "hello\n" and close_notify; or "fail CODE MESSAGE".
 * Server:  tls_probe --serve CERT KEY
 *   listens on 127.0.0.1 (ephemeral port), prints "port N", takes one
 *   connection: prints "ok VERSION CIPHER UNIQUE EXPORTER SNI" (or "fail
 *   CODE MESSAGE"), then echoes lines upper-cased until the end, prints
 *   "end CODE RENEG" (CODE: how the stream ended, RENEG: renegotiation
 *   attempts refused).
 * Names:   tls_probe --ciphers  prints "ID NAME" for every suite named. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mox/tls.h"
#include "tls/tls_priv.h" /* reneg_refused, for the report */

static void hex(const unsigned char *p, size_t n)
{
    if (!n)
        fputs("-", stdout);
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
}

static int unhex(const char *s, unsigned char *out, size_t cap, size_t *len)
{
    size_t n = strlen(s);
    if (n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    *len = n / 2;
    return 0;
}

static int serve(const char *certf, const char *keyf)
{
    mox_tls_server_options o = MOX_TLS_SERVER_OPTIONS_INIT;
    o.hostname = "localhost";
    mox_errinfo ei;
    mox_tls_config *cfg = NULL;
    if (mox_tls_config_new_server(&cfg, &o, &ei) != MOX_OK ||
        mox_tls_config_add_cert_file(cfg, certf, keyf, &ei) != MOX_OK) {
        printf("fail %d %s\n", ei.code, ei.msg);
        return 1;
    }
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&sa, &sl) != 0)
        return 1;
    printf("port %d\n", ntohs(sa.sin_port));
    fflush(stdout);
    int fd = accept(l, NULL, NULL);
    close(l);
    if (fd < 0)
        return 1;
    mox_tls_socket *s = NULL;
    int rc = mox_tls_socket_new(&s, cfg, fd, NULL, &ei);
    if (rc == MOX_OK)
        rc = mox_tls_socket_handshake(s, &ei);
    if (rc != MOX_OK) {
        printf("fail %d %s\n", rc, ei.msg);
    } else {
        mox_tls_info info = MOX_TLS_INFO_INIT;
        mox_tls_get_info(mox_tls_socket_tls(s), &info);
        printf("ok %04x %s ", info.version, info.cipher);
        hex(info.tls_unique, info.tls_unique_len);
        putchar(' ');
        hex(info.tls_exporter, info.tls_exporter_len);
        printf(" %s\n", info.sni ? info.sni : "-");
        fflush(stdout);
        char buf[4096];
        int64_t n;
        while ((n = mox_tls_socket_read(s, buf, sizeof buf)) > 0) {
            for (int64_t i = 0; i < n; i++)
                if (buf[i] >= 'a' && buf[i] <= 'z')
                    buf[i] -= 32;
            if (mox_tls_socket_write(s, buf, (size_t)n) != n)
                break;
        }
        printf("end %d %llu\n", (int)n,
               (unsigned long long)mox_tls_socket_tls(s)->reneg_refused);
        mox_tls_socket_close(s);
    }
    mox_tls_socket_free(s);
    close(fd);
    mox_tls_config_free(cfg);
    return rc == MOX_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--ciphers")) {
        for (unsigned id = 0; id <= 0xffff; id++) {
            const char *n = mox_tls_cipher_suite_name((uint16_t)id);
            if (n)
                printf("0x%04X %s\n", id, n);
        }
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "--serve"))
        return serve(argv[2], argv[3]);
    if (argc < 3)
        return 2;
    mox_tls_client_options o = MOX_TLS_CLIENT_OPTIONS_INIT;
    mox_tls_request req = MOX_TLS_REQUEST_INIT;
    req.server_name = argv[1];
    req.verify = MOX_TLS_VERIFY_WEBPKI;
    mox_dns_rr tlsa[8];
    unsigned char tdata[8][64];
    const char *mx[8];
    size_t ntlsa = 0, nmx = 0;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--insecure")) {
            o.insecure = 1;
            req.verify = MOX_TLS_VERIFY_NONE;
        } else if (!strcmp(argv[i], "--cafile") && i + 1 < argc) {
            o.ca_file = argv[++i];
        } else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
            req.server_name = argv[++i];
        } else if (!strcmp(argv[i], "--cert") && i + 1 < argc) {
            o.cert_file = argv[++i];
        } else if (!strcmp(argv[i], "--key") && i + 1 < argc) {
            o.key_file = argv[++i];
        } else if (!strcmp(argv[i], "--dane") && i + 4 < argc && ntlsa < 8) {
            mox_dns_rr *r = &tlsa[ntlsa];
            memset(r, 0, sizeof *r);
            r->type = MOX_DNS_TLSA;
            r->u.tlsa.usage = (uint8_t)atoi(argv[i + 1]);
            r->u.tlsa.selector = (uint8_t)atoi(argv[i + 2]);
            r->u.tlsa.matching = (uint8_t)atoi(argv[i + 3]);
            if (unhex(argv[i + 4], tdata[ntlsa], sizeof tdata[ntlsa], &r->u.tlsa.len) != 0)
                return 2;
            r->u.tlsa.data = tdata[ntlsa++];
            req.verify = MOX_TLS_VERIFY_DANE;
            i += 4;
        } else if (!strcmp(argv[i], "--mtasts") && i + 1 < argc && nmx < 8) {
            mx[nmx++] = argv[++i];
            req.verify = MOX_TLS_VERIFY_MTASTS;
        } else {
            return 2;
        }
    }
    req.tlsa = tlsa;
    req.ntlsa = ntlsa;
    req.mtasts_mx = mx;
    req.nmtasts_mx = nmx;
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    mox_tls_config *cfg = NULL;
    int rc = mox_tls_config_new_client(&cfg, &o, &ei);
    if (rc != MOX_OK) {
        printf("fail %d %s\n", rc, ei.msg);
        return 1;
    }
    struct addrinfo hints = {0}, *res;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(argv[1], argv[2], &hints, &res) != 0)
        return 1;
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (connect(fd, res->ai_addr, res->ai_addrlen) != 0)
        return 1;
    freeaddrinfo(res);
    mox_tls_socket *s = NULL;
    rc = mox_tls_socket_new(&s, cfg, fd, &req, &ei);
    if (rc == MOX_OK)
        rc = mox_tls_socket_handshake(s, &ei);
    if (rc != MOX_OK) {
        printf("fail %d %s\n", rc, ei.msg);
    } else {
        mox_tls_info info = MOX_TLS_INFO_INIT;
        mox_tls_get_info(mox_tls_socket_tls(s), &info);
        printf("ok %04x %s ", info.version, info.cipher);
        hex(info.tls_unique, info.tls_unique_len);
        putchar(' ');
        hex(info.tls_exporter, info.tls_exporter_len);
        putchar(' ');
        hex(info.tls_server_end_point, info.tls_server_end_point_len);
        printf(" 0x%04X\n", info.cipher_id);
        fflush(stdout);
        const char msg[] = "hello\n";
        if (mox_tls_socket_write(s, msg, sizeof msg - 1) != (int64_t)(sizeof msg - 1))
            rc = MOX_ERR_IO;
        mox_tls_socket_close(s);
    }
    mox_tls_socket_free(s);
    mox_tls_config_free(cfg);
    close(fd);
    return rc == MOX_OK ? 0 : 1;
}
