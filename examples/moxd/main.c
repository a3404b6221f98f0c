/*
 * moxd: the reference mail daemon built on libmox.
 *
 *   moxd localserve [--dir DIR] [--smtp-port N] [--submission-port N]
 *                   [--submissions-port N] [--metrics-port N]
 *   moxd serve --config FILE
 *   moxd config check FILE
 *
 *   moxd --help | moxd COMMAND --help
 *
 * Exit codes: 0 ok (and --help: usage on stdout), 1 failure (bad
 * configuration, cannot listen), 2 usage error (usage on stderr).
 */
#include <stdlib.h>
#include <string.h>

#include "moxd.h"

/* Usage on `f`: stdout for --help (exit 0), stderr for a usage error. */
static void print_usage(FILE *f)
{
    fputs("usage: moxd localserve [--dir DIR] [--smtp-port N] [--submission-port N]\n"
          "                       [--submissions-port N] [--metrics-port N]\n"
          "       moxd serve --config FILE\n"
          "       moxd config check FILE\n"
          "\n"
          "localserve: a mail server for development on 127.0.0.1 without any\n"
          "configuration: SMTP 1025, submission 1587 (STARTTLS), submissions 1465\n"
          "(TLS), metrics 8010 (port 0: any free port); account mox@localhost with\n"
          "password moxmoxmox; every message to any address lands in DIR/Maildir\n"
          "(default ./moxd-localserve). Prints one 'moxd ready ...' line when\n"
          "listening. See docs/moxd.md.\n"
          "\n"
          "serve: run with the configuration FILE; --ready prints the 'moxd ready'\n"
          "line too. config check: load FILE, report problems, exit 0 if valid.\n"
          "-h, --help (alone or after a command): this text.\n",
          f);
}

static int usage(void)
{
    print_usage(stderr);
    return 2;
}

static int is_help(const char *s)
{
    return !strcmp(s, "-h") || !strcmp(s, "--help") || !strcmp(s, "help");
}

static int help(void)
{
    print_usage(stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}

static int port_arg(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > 65535)
        return -1;
    *out = (int)v;
    return 0;
}

static int cmd_localserve(int argc, char **argv)
{
    moxd_localserve_opts lo = {NULL, 1025, 1587, 1465, 8010};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int *port = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return help();
        if (!strcmp(a, "--dir") && v) {
            lo.dir = v;
            i++;
            continue;
        }
        if (!strcmp(a, "--smtp-port"))
            port = &lo.smtp_port;
        else if (!strcmp(a, "--submission-port"))
            port = &lo.submission_port;
        else if (!strcmp(a, "--submissions-port"))
            port = &lo.submissions_port;
        else if (!strcmp(a, "--metrics-port"))
            port = &lo.metrics_port;
        if (!port || !v || port_arg(v, port) != 0) {
            fprintf(stderr, "moxd localserve: bad argument %s\n", a);
            return usage();
        }
        i++;
    }
    char *conf = NULL;
    if (moxd_localserve_init(&lo, &conf, stderr) != 0)
        return 1;
    moxd_config *cfg = NULL;
    if (moxd_config_load(conf, &cfg, stderr) != 0) {
        free(conf);
        return 1;
    }
    free(conf);
    moxd_run_opts ro = {1, 1, lo.smtp_port, lo.submission_port, lo.submissions_port,
                        lo.metrics_port};
    int rc = moxd_serve(cfg, &ro);
    moxd_config_free(cfg);
    return rc;
}

static int cmd_serve(int argc, char **argv)
{
    const char *file = NULL;
    int ready = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return help();
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            file = argv[++i];
        else if (!strcmp(argv[i], "--ready"))
            ready = 1;
        else
            return usage();
    }
    if (!file)
        return usage();
    moxd_config *cfg = NULL;
    if (moxd_config_load(file, &cfg, stderr) != 0)
        return 1;
    moxd_run_opts ro = {ready, 0, 0, 0, 0, 0};
    int rc = moxd_serve(cfg, &ro);
    moxd_config_free(cfg);
    return rc;
}

static int cmd_config(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return help();
    if (argc != 2 || strcmp(argv[0], "check"))
        return usage();
    moxd_config *cfg = NULL;
    if (moxd_config_load(argv[1], &cfg, stdout) != 0)
        return 1;
    printf("%s: ok (%zu listeners, %zu domains, %zu accounts, %zu aliases)\n", argv[1],
           cfg->nlisteners, cfg->ndomains, cfg->naccounts, cfg->naliases);
    moxd_config_free(cfg);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (!strcmp(argv[1], "localserve"))
        return cmd_localserve(argc - 2, argv + 2);
    if (!strcmp(argv[1], "serve"))
        return cmd_serve(argc - 2, argv + 2);
    if (!strcmp(argv[1], "config"))
        return cmd_config(argc - 2, argv + 2);
    if (is_help(argv[1]))
        return help();
    fprintf(stderr, "moxd: unknown command %s\n", argv[1]);
    return usage();
}
