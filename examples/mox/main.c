/* mox: command-line front end to libmox. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"

static const struct tool_cmd *const commands[] = {
    &tool_cmd_version,
    &tool_cmd_dns,
    &tool_cmd_spf,
    &tool_cmd_dmarc,
    &tool_cmd_smtp,
    &tool_cmd_dkim,
    &tool_cmd_message,
    &tool_cmd_password,
    &tool_cmd_address,
    &tool_cmd_queue,
    NULL,
};

int tool_is_help(const char *s) { return !strcmp(s, "-h") || !strcmp(s, "--help"); }

int tool_is_option(const char *s) { return s[0] == '-' && s[1] != '\0'; }

int tool_err(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("mox: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

static void list_cmds(FILE *f, const char *prefix, const struct tool_cmd *const *cmds)
{
    fprintf(f, "usage: %s <command> [arguments]\n\ncommands:\n", prefix);
    for (size_t i = 0; cmds[i]; i++)
        fprintf(f, "  %-12s %s\n", cmds[i]->name, cmds[i]->summary);
    fprintf(f, "\nRun '%s <command> --help' or '%s help <command>' for a command's usage.\n",
            prefix, prefix);
}

int tool_dispatch(const char *prefix, const struct tool_cmd *const *cmds, int argc, char **argv)
{
    if (argc < 2) {
        list_cmds(stderr, prefix, cmds);
        return TOOL_USAGE;
    }
    if (!strcmp(argv[1], "help") && argc > 2 && argc < 16) {
        /* "help CMD [SUB...]" is "CMD [SUB...] --help". */
        char *hv[16];
        int n = 0;
        hv[n++] = argv[0];
        for (int i = 2; i < argc; i++)
            hv[n++] = argv[i];
        hv[n++] = (char *)"--help";
        return tool_dispatch(prefix, cmds, n, hv);
    }
    if (tool_is_help(argv[1]) || !strcmp(argv[1], "help")) {
        list_cmds(stdout, prefix, cmds);
        return TOOL_OK;
    }
    for (size_t i = 0; cmds[i]; i++)
        if (!strcmp(cmds[i]->name, argv[1]))
            return cmds[i]->run(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s'\n", prefix, argv[1]);
    list_cmds(stderr, prefix, cmds);
    return TOOL_USAGE;
}

int main(int argc, char **argv)
{
    return tool_dispatch("mox", commands, argc, argv);
}
