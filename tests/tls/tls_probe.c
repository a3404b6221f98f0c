/* Connects to HOST PORT with the TLS adapter and prints what the handshake
 * gave: "ok VERSION CIPHER UNIQUE_HEX EXPORTER_HEX", or "fail CODE MESSAGE".
 * Options: --insecure, --cafile FILE, --name SNI-NAME, --cert F --key F.
 * Used by interop_tls.py against openssl s_server and Python's ssl. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mox/tls.h"

static void hex(const unsigned char *p, size_t n)
{
    if (!n)
        fputs("-", stdout);
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    mox_tls_client_options o = MOX_TLS_CLIENT_OPTIONS_INIT;
    const char *name = argv[1];
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--insecure")) o.insecure = 1;
        else if (!strcmp(argv[i], "--cafile") && i + 1 < argc) o.ca_file = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc) name = argv[++i];
        else if (!strcmp(argv[i], "--cert") && i + 1 < argc) o.cert_file = argv[++i];
        else if (!strcmp(argv[i], "--key") && i + 1 < argc) o.key_file = argv[++i];
        else return 2;
    }
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
    mox_tls *t = NULL;
    rc = mox_tls_new(&t, cfg, fd, name, &ei);
    if (rc == MOX_OK)
        rc = mox_tls_handshake(t, &ei);
    if (rc != MOX_OK) {
        printf("fail %d %s\n", rc, ei.msg);
    } else {
        unsigned char u[64], e[64];
        size_t ul = 0, el = 0;
        mox_tls_channel_binding(t, MOX_TLS_CB_UNIQUE, u, sizeof u, &ul);
        mox_tls_channel_binding(t, MOX_TLS_CB_EXPORTER, e, sizeof e, &el);
        printf("ok %04x %s ", mox_tls_version(t), mox_tls_cipher(t));
        hex(u, ul);
        putchar(' ');
        hex(e, el);
        putchar('\n');
        fflush(stdout);
        const char msg[] = "hello\n";
        if (mox_tls_write(t, msg, sizeof msg - 1) != (long)(sizeof msg - 1))
            rc = MOX_ERR_IO;
        mox_tls_close(t);
    }
    mox_tls_free(t);
    mox_tls_config_free(cfg);
    close(fd);
    return rc == MOX_OK ? 0 : 1;
}
