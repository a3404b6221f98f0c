/* mox address: parse RFC 5321 paths, RFC 5322 address lists and domain
 * names with libmox's address and text modules. */
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static const char usage[] =
    "usage: mox address path [--reverse] [--smtputf8] [--json] PATH\n"
    "       mox address list [--utf8] [--json] VALUE\n"
    "       mox address domain [--lax] [--trailing-dot] [--json] NAME\n"
    "\n"
    "path: parses an SMTP path such as '<user@example.org>' (--reverse: a\n"
    "MAIL FROM path, where <> is allowed; --smtputf8: non-ASCII allowed).\n"
    "list: parses the value of an address header (From, To, Cc ...).\n"
    "domain: parses a domain name and prints its ASCII and Unicode forms.\n"
    "Invalid input is reported on stderr with exit code 1.\n";

/* Reports a parse error (stderr, exit 1). */
static int parse_fail(const char *what, int rc, const mox_errinfo *ei)
{
    return tool_err(TOOL_RUNTIME, "invalid %s: %s (%s, detail %d, offset %lld)", what,
                    ei->msg[0] ? ei->msg : mox_strerror(rc), mox_strerror(rc), ei->detail,
                    ei->offset == SIZE_MAX ? -1LL : (long long)ei->offset);
}

/* Parses "--flag ... ARG" style arguments; returns the positional argument
 * or NULL after a usage message. */
static const char *args(int argc, char **argv, const char *const *names, unsigned *flags,
                        const unsigned *values, int *json, int *rc)
{
    const char *pos = NULL;
    *rc = TOOL_OK;
    for (int i = 1; i < argc; i++) {
        if (tool_is_help(argv[i])) {
            fputs(usage, stdout);
            *rc = -1;
            return NULL;
        }
        if (!strcmp(argv[i], "--json")) {
            *json = 1;
            continue;
        }
        int known = 0;
        for (size_t k = 0; names[k]; k++)
            if (!strcmp(argv[i], names[k])) {
                *flags |= values[k];
                known = 1;
            }
        if (known)
            continue;
        if (argv[i][0] == '-' && argv[i][1] == '-') {
            *rc = tool_err(TOOL_USAGE, "unknown option %s\n%s", argv[i], usage);
            return NULL;
        }
        if (pos) {
            *rc = tool_err(TOOL_USAGE, "one argument expected\n%s", usage);
            return NULL;
        }
        pos = argv[i];
    }
    if (!pos)
        *rc = tool_err(TOOL_USAGE, "argument missing\n%s", usage);
    return pos;
}

static void json_mailbox(tool_json *j, const mox_mailbox *m)
{
    tool_json_key(j, "localpart");
    tool_json_str(j, m->localpart);
    tool_json_key(j, "domain_ascii");
    tool_json_str(j, m->domain.ascii);
    tool_json_key(j, "domain_unicode");
    tool_json_str(j, m->domain.unicode);
    tool_json_key(j, "literal");
    tool_json_str(j, m->literal);
}

static void text_mailbox(const mox_mailbox *m)
{
    printf("localpart: %s\n", m->localpart ? m->localpart : "");
    if (m->literal)
        printf("literal: %s\n", m->literal);
    if (m->domain.ascii) {
        printf("domain: %s\n", m->domain.ascii);
        if (strcmp(m->domain.ascii, m->domain.unicode) != 0)
            printf("domain_unicode: %s\n", m->domain.unicode);
    }
}

static int run_path(int argc, char **argv)
{
    static const char *const names[] = {"--reverse", "--smtputf8", NULL};
    static const unsigned values[] = {MOX_PATH_REVERSE, MOX_PATH_SMTPUTF8};
    unsigned flags = 0;
    int json = 0, rc;
    const char *in = args(argc, argv, names, &flags, values, &json, &rc);
    if (!in)
        return rc < 0 ? TOOL_OK : rc;
    mox_path p;
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    rc = mox_path_parse(in, strlen(in), flags, &p, &ei);
    if (rc != MOX_OK)
        return parse_fail("path", rc, &ei);
    mox_buf f = MOX_BUF_INIT;
    if (mox_path_format(&p, (flags & MOX_PATH_SMTPUTF8) != 0, &f) != MOX_OK) {
        mox_path_clear(&p);
        return tool_err(TOOL_RUNTIME, "out of memory");
    }
    if (json) {
        tool_json j;
        tool_json_init(&j);
        tool_json_obj_begin(&j);
        tool_json_key(&j, "null");
        tool_json_bool(&j, p.is_null);
        tool_json_key(&j, "postmaster");
        tool_json_bool(&j, p.is_postmaster);
        json_mailbox(&j, &p.mailbox);
        tool_json_key(&j, "formatted");
        tool_json_strn(&j, (const char *)f.data, f.len);
        tool_json_obj_end(&j);
        rc = tool_json_print(&j, stdout);
        tool_json_free(&j);
    } else {
        if (p.is_null)
            printf("null: yes\n");
        else if (p.is_postmaster)
            printf("postmaster: yes\n");
        else
            text_mailbox(&p.mailbox);
        printf("formatted: %s\n", (const char *)f.data);
        rc = TOOL_OK;
    }
    mox_buf_free(&f);
    mox_path_clear(&p);
    return rc;
}

static int run_list(int argc, char **argv)
{
    static const char *const names[] = {"--utf8", NULL};
    static const unsigned values[] = {MOX_ADDRLIST_UTF8};
    unsigned flags = 0;
    int json = 0, rc;
    const char *in = args(argc, argv, names, &flags, values, &json, &rc);
    if (!in)
        return rc < 0 ? TOOL_OK : rc;
    mox_address_list l;
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    rc = mox_address_list_parse(in, strlen(in), flags, &l, &ei);
    if (rc != MOX_OK)
        return parse_fail("address list", rc, &ei);
    tool_json j;
    if (json) {
        tool_json_init(&j);
        tool_json_obj_begin(&j);
        tool_json_key(&j, "groups");
        tool_json_int(&j, (long long)l.ngroups);
        tool_json_key(&j, "addresses");
        tool_json_arr_begin(&j);
    }
    for (size_t i = 0; i < l.count; i++) {
        const mox_address *a = &l.addr[i];
        if (json) {
            tool_json_obj_begin(&j);
            tool_json_key(&j, "display_name");
            tool_json_str(&j, a->display_name);
            json_mailbox(&j, &a->mailbox);
            tool_json_key(&j, "group");
            tool_json_str(&j, a->group);
            tool_json_obj_end(&j);
        } else {
            mox_buf f = MOX_BUF_INIT;
            if (mox_address_format(a, 1, &f) == MOX_OK)
                printf("%s%s%s\n", (const char *)f.data, a->group ? "\tgroup: " : "",
                       a->group ? a->group : "");
            mox_buf_free(&f);
        }
    }
    if (json) {
        tool_json_arr_end(&j);
        tool_json_obj_end(&j);
        rc = tool_json_print(&j, stdout);
        tool_json_free(&j);
    } else {
        printf("; %zu addresses, %zu groups\n", l.count, l.ngroups);
        rc = TOOL_OK;
    }
    mox_address_list_clear(&l);
    return rc;
}

static int run_domain(int argc, char **argv)
{
    static const char *const names[] = {"--lax", "--trailing-dot", NULL};
    static const unsigned values[] = {MOX_DOMAIN_LAX, MOX_DOMAIN_TRAILING_DOT};
    unsigned flags = 0;
    int json = 0, rc;
    const char *in = args(argc, argv, names, &flags, values, &json, &rc);
    if (!in)
        return rc < 0 ? TOOL_OK : rc;
    mox_domain d;
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    rc = mox_domain_parse(in, strlen(in), flags, &d, &ei);
    if (rc != MOX_OK)
        return parse_fail("domain", rc, &ei);
    if (json) {
        tool_json j;
        tool_json_init(&j);
        tool_json_obj_begin(&j);
        tool_json_key(&j, "ascii");
        tool_json_str(&j, d.ascii);
        tool_json_key(&j, "unicode");
        tool_json_str(&j, d.unicode);
        tool_json_obj_end(&j);
        rc = tool_json_print(&j, stdout);
        tool_json_free(&j);
    } else {
        printf("ascii: %s\nunicode: %s\n", d.ascii, d.unicode);
        rc = TOOL_OK;
    }
    mox_domain_clear(&d);
    return rc;
}

static const struct tool_cmd cmd_path = {"path", "parse an SMTP path", run_path};
static const struct tool_cmd cmd_list = {"list", "parse an address header value", run_list};
static const struct tool_cmd cmd_domain = {"domain", "parse a domain name (IDNA2008)", run_domain};
static const struct tool_cmd *const addr_cmds[] = {&cmd_path, &cmd_list, &cmd_domain, NULL};

static int run(int argc, char **argv)
{
    return tool_dispatch("mox address", addr_cmds, argc, argv);
}

const struct tool_cmd tool_cmd_address = {"address", "parse paths, address lists, domain names",
                                          run};
