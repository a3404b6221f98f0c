/* Shared pieces of the mox command-line tool. */
#ifndef MOX_TOOL_H
#define MOX_TOOL_H

#include <stdio.h>

#include "mox/mox.h"

/* Exit codes: 0 the command ran and printed its result (whatever the
 * verdict), 1 a runtime error, 2 a usage error. */
enum { TOOL_OK = 0, TOOL_RUNTIME = 1, TOOL_USAGE = 2 };

/* A subcommand. `run` gets argv with argv[0] being the subcommand name. */
struct tool_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

/* Dispatches argv[1] among `cmds` (NULL-terminated), handling --help and
 * unknown names; `prefix` is e.g. "mox dns" for messages. */
int tool_dispatch(const char *prefix, const struct tool_cmd *const *cmds, int argc, char **argv);

/* Appends the whole of file `path` (NULL or "-": stdin) to `out`, which is
 * NUL-terminated afterwards even when empty. Returns TOOL_OK, or prints
 * the problem and returns TOOL_RUNTIME. */
int tool_read_file(const char *path, mox_buf *out);

/* Appends `in` to `out` with every lone LF made CRLF: messages given to the
 * tool in a file's LF form reach the library in wire form. TOOL_OK, or
 * TOOL_RUNTIME (printed) when out of memory. */
int tool_to_crlf(const mox_buf *in, mox_buf *out);

/* Prints "mox: " + message to stderr and returns `code`. */
int tool_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1 if s is "-h" or "--help". */
int tool_is_help(const char *s);

/* 1 if s looks like an option ("-x", "--xyz"; not "-" alone): commands
 * call it for arguments they do not know, so a mistyped option is a usage
 * error rather than an operand. */
int tool_is_option(const char *s);

/* JSON output (RFC 8259): one object per command, snake_case keys, null for
 * absent values. Writes into a buffer; tool_json_print prints it + "\n". */
typedef struct tool_json {
    mox_buf b;
    int depth;
    int first[64]; /* no element yet at this depth */
    int oom;
    int after_key; /* a key was written; the value takes no separator */
} tool_json;

void tool_json_init(tool_json *j);
void tool_json_free(tool_json *j);
void tool_json_obj_begin(tool_json *j);  /* as a value */
void tool_json_obj_end(tool_json *j);
void tool_json_arr_begin(tool_json *j);
void tool_json_arr_end(tool_json *j);
void tool_json_key(tool_json *j, const char *key);
void tool_json_str(tool_json *j, const char *s);            /* NULL -> null */
void tool_json_strn(tool_json *j, const char *s, size_t n); /* any bytes; non-UTF-8 escaped as \u00XX */
void tool_json_int(tool_json *j, long long v);
void tool_json_bool(tool_json *j, int v);
void tool_json_null(tool_json *j);
/* Prints the document followed by a newline; returns TOOL_OK or TOOL_RUNTIME. */
int tool_json_print(tool_json *j, FILE *f);

/* DNS options shared by every command that resolves (dnsopts.c):
 *   --dns-zone FILE        answer from a master file (libmox in-memory zone)
 *   --dns-server IP[:PORT] ask that server ([v6]:port for IPv6)
 *   --dns-timeout MS       per-attempt timeout for --dns-server / system
 *   --dns-attempts N       attempts for --dns-server / system
 * Neither zone nor server: the system resolver (/etc/resolv.conf).
 * Usage: zero-initialise, call tool_dns_option for each argv[i] the
 * command does not recognise itself, then tool_dns_open, use .resolver,
 * and tool_dns_close. */
struct tool_dns {
    const char *zone_file;
    const char *server;
    int timeout_ms;
    int attempts;
    mox_dns_zone *zone;
    mox_dns_system *sys;
    mox_resolver resolver;
};
/* Consumes argv[*i] (and its value, advancing *i) when it is a DNS option:
 * returns 1; 0 when it is not one; -1 after printing a message to stderr
 * for a missing or malformed value or --dns-zone with --dns-server (a
 * usage error: exit TOOL_USAGE). */
int tool_dns_option(struct tool_dns *d, int argc, char **argv, int *i);
/* Loads the zone or creates the resolver. TOOL_OK, or TOOL_RUNTIME after a
 * message (unreadable or malformed zone file). */
int tool_dns_open(struct tool_dns *d);
void tool_dns_close(struct tool_dns *d);
/* Help text for the options above, one per line, indented two spaces. */
extern const char tool_dns_usage[];

/* Command tables of each group (cmd_*.c). */
extern const struct tool_cmd tool_cmd_version;
extern const struct tool_cmd tool_cmd_dns;
extern const struct tool_cmd tool_cmd_spf;
extern const struct tool_cmd tool_cmd_dmarc;
extern const struct tool_cmd tool_cmd_smtp;
extern const struct tool_cmd tool_cmd_dkim;
extern const struct tool_cmd tool_cmd_message;
extern const struct tool_cmd tool_cmd_password;
extern const struct tool_cmd tool_cmd_address;
extern const struct tool_cmd tool_cmd_queue;

#endif
