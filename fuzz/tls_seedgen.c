/* Records the seeds of the TLS harnesses: a complete handshake between a
 * client and a server engine with tls_fuzz.h's fixed random generator and
 * clock, then a line each way and close_notify. Writes the client's bytes
 * to DIR_SERVER/<name> (what the server harness is fed) and the server's
 * to DIR_CLIENT/<name>, each behind two split-seed bytes. Built on demand
 * (target tls_seedgen): tls_seedgen fuzz/corpus/tls_server fuzz/corpus/tls_client */
#include <stdio.h>

#include "tls_fuzz.h"

static unsigned char c2s[65536], s2c[65536];
static size_t c2s_len = 2, s2c_len = 2;

static int move(mox_tls *from, mox_tls *to, unsigned char *log, size_t *len)
{
    const void *p;
    size_t n;
    mox_tls_output(from, &p, &n);
    if (!n)
        return 0;
    int64_t took = mox_tls_feed(to, p, n);
    if (took <= 0 || *len + (size_t)took > sizeof c2s)
        abort();
    memcpy(log + *len, p, (size_t)took);
    *len += (size_t)took;
    mox_tls_output_done(from, (size_t)took);
    return 1;
}

static void settle(mox_tls *c, mox_tls *s)
{
    while (move(c, s, c2s, &c2s_len) | move(s, c, s2c, &s2c_len))
        ;
}

static void save(const char *dir, const char *name, const unsigned char *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        abort();
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    mox_tls_config *sc = moxf_server_config(), *cc = moxf_client_config();
    mox_tls *s = moxf_engine(sc), *c = moxf_engine(cc);
    settle(c, s);
    if (!(mox_tls_want(c) & MOX_WANT_DONE) || !(mox_tls_want(s) & MOX_WANT_DONE))
        abort();
    mox_tls_write(c, "EHLO x\r\n", 8);
    settle(c, s);
    mox_tls_write(s, "250 ok\r\n", 8);
    settle(c, s);
    mox_tls_close(c);
    settle(c, s);
    c2s[0] = s2c[0] = 1;
    save(argv[1], "handshake", c2s, c2s_len);
    save(argv[2], "handshake", s2c, s2c_len);
    mox_tls_free(c);
    mox_tls_free(s);
    mox_tls_config_free(cc);
    mox_tls_config_free(sc);
    return 0;
}
