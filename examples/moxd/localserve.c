/* moxd localserve: a zero-configuration directory, made on first start. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "moxd.h"

static int write_file(const char *dir, const char *name, const void *data, size_t len, int mode,
                      FILE *errs)
{
    char p[4200], tmp[4300];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fprintf(errs, "moxd: writing %s: %s\n", tmp, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    chmod(tmp, (mode_t)mode);
    if (rename(tmp, p) != 0) {
        fprintf(errs, "moxd: renaming %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    return 0;
}

static int generate(const char *dir, FILE *errs)
{
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    int rc = -1;
    mox_buf cert = MOX_BUF_INIT, key = MOX_BUF_INIT, dk = MOX_BUF_INIT, rec = MOX_BUF_INIT,
            zone = MOX_BUF_INIT, conf = MOX_BUF_INIT, secrets = MOX_BUF_INIT;
    mox_dkim_privkey *rsa = NULL;
    static const char *const names[] = {"localhost", "127.0.0.1", "::1"};
    if (mox_tls_selfsigned(names, 3, 0, &cert, &key, &ei) != MOX_OK) {
        fprintf(errs, "moxd: certificate: %s\n", ei.msg);
        goto out;
    }
    if (write_file(dir, "cert.pem", cert.data, cert.len, 0644, errs) ||
        write_file(dir, "key.pem", key.data, key.len, 0600, errs))
        goto out;
    /* RSA: every verifier (dkimpy without nacl, old milters) knows it. */
    if (mox_dkim_privkey_generate(MOX_DKIM_KEY_RSA, 2048, NULL, &rsa) != MOX_OK ||
        mox_dkim_privkey_pem(rsa, &dk) != MOX_OK || mox_dkim_privkey_record(rsa, &rec) != MOX_OK) {
        fprintf(errs, "moxd: cannot generate the DKIM key\n");
        goto out;
    }
    if (write_file(dir, "dkim-localhost-rsa.pem", dk.data, dk.len, 0600, errs))
        goto out;
    mox_sasl_secrets s = MOX_SASL_SECRETS_INIT;
    if (mox_sasl_secrets_derive("moxmoxmox", 9, NULL, &s, &ei) != MOX_OK ||
        mox_sasl_secrets_format(&s, &secrets) != MOX_OK) {
        fprintf(errs, "moxd: deriving credentials: %s\n", ei.msg);
        goto out;
    }
    mox_sasl_secrets_wipe(&s);

    mox_buf_append_str(&zone,
                       "; DNS records moxd localserve answers in-process, so that SPF, DKIM\n"
                       "; and DMARC pass for mail submitted locally. Load it with\n"
                       ";   mox dkim verify --dns-zone localserve.zone MESSAGE\n"
                       "$ORIGIN localhost.\n"
                       "$TTL 300\n"
                       "@ IN A 127.0.0.1\n"
                       "@ IN AAAA ::1\n"
                       "@ IN MX 10 localhost.\n"
                       "@ IN TXT \"v=spf1 ip4:127.0.0.0/8 ip6:::1 -all\"\n"
                       "_dmarc IN TXT \"v=DMARC1; p=reject\"\n");
    mox_dkim_txt_rr("moxd1", "localhost", (const char *)rec.data, rec.len, &zone);
    mox_buf_append_str(&zone,
                       "\n1.0.0.127.in-addr.arpa. IN PTR localhost.\n"
                       "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa. "
                       "IN PTR localhost.\n");
    if (write_file(dir, "localserve.zone", zone.data, zone.len, 0644, errs))
        goto out;

    mox_buf_appendf(
        &conf,
        "# moxd localserve configuration, generated on first start. moxd localserve\n"
        "# reads it on every start; the ports given on the command line (defaults\n"
        "# 1025, 1587, 1465, metrics 8010) replace the ones below. The format is\n"
        "# documented in docs/moxd.md; check it with: moxd config check moxd.conf\n"
        "hostname: localhost\n"
        "localserve: true\n"
        "log_level: info\n"
        "dns_zone: localserve.zone\n"
        "tls:\n"
        "  certificates:\n"
        "    - cert: cert.pem\n"
        "      key: key.pem\n"
        "listeners:\n"
        "  - kind: smtp\n"
        "    address: 127.0.0.1\n"
        "    port: 1025\n"
        "  - kind: submission\n"
        "    address: 127.0.0.1\n"
        "    port: 1587\n"
        "  - kind: submissions\n"
        "    address: 127.0.0.1\n"
        "    port: 1465\n"
        "metrics:\n"
        "  address: 127.0.0.1\n"
        "  port: 8010\n"
        "limits:\n"
        "  connections_per_ip: 10000\n"
        "  new_connections_per_minute: 1000000\n"
        "  auth_failures_per_minute: 1000\n"
        "  auth_failures_per_day: 100000\n"
        "  unknown_recipient_delay_ms: 0\n"
        "domains:\n"
        "  localhost:\n"
        "    dkim:\n"
        "      - selector: moxd1\n"
        "        key: dkim-localhost-rsa.pem\n"
        "accounts:\n"
        "  mox:\n"
        "    # password moxmoxmox, derived with: mox password derive\n"
        "    credentials: \"%s\"\n"
        "    addresses: [mox@localhost]\n"
        "    maildir: Maildir\n"
        "    catchall: true\n",
        (const char *)secrets.data);
    char md[4200];
    snprintf(md, sizeof md, "%s/Maildir", dir);
    if (moxd_maildir_create(md) != 0) {
        fprintf(errs, "moxd: creating %s: %s\n", md, strerror(errno));
        goto out;
    }
    /* moxd.conf last: its presence marks a complete directory. */
    if (write_file(dir, "moxd.conf", conf.data, conf.len, 0600, errs))
        goto out;
    rc = 0;
out:
    mox_dkim_privkey_free(rsa);
    mox_buf_free(&cert);
    mox_buf_free(&key);
    mox_buf_free(&dk);
    mox_buf_free(&rec);
    mox_buf_free(&zone);
    mox_buf_free(&conf);
    mox_buf_free(&secrets);
    return rc;
}

int moxd_localserve_init(const moxd_localserve_opts *o, char **conf, FILE *errs)
{
    const char *dir = o->dir ? o->dir : "moxd-localserve";
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(errs, "moxd: creating %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char *abs = realpath(dir, NULL);
    if (!abs) {
        fprintf(errs, "moxd: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    size_t n = strlen(abs) + 16;
    *conf = malloc(n);
    snprintf(*conf, n, "%s/moxd.conf", abs);
    if (access(*conf, F_OK) != 0) {
        fprintf(errs, "moxd: initialising %s (certificate, DKIM key, Maildir, DNS zone)\n", abs);
        if (generate(abs, errs) != 0) {
            free(abs);
            free(*conf);
            *conf = NULL;
            return -1;
        }
    }
    free(abs);
    return 0;
}
