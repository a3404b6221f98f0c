/* mox message: header fields, MIME structure and Authentication-Results of
 * a message file. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tool.h"

/* Prints bytes with control characters and backslash escaped. */
static void put_escaped(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\')
            fputs("\\\\", stdout);
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static const char *end_name(mox_hdr_end e)
{
    switch (e) {
    case MOX_HDR_END_EMPTY_LINE:
        return "empty_line";
    case MOX_HDR_END_EOF:
        return "eof";
    case MOX_HDR_END_NONFIELD:
        return "nonfield";
    default:
        return "none";
    }
}

struct opts {
    int json, strict;
    const char *arg;
};

static int parse_opts(int argc, char **argv, const char *usage, int allow_strict, struct opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        if (tool_is_help(argv[i])) {
            fputs(usage, stdout);
            return -1;
        } else if (!strcmp(argv[i], "--json")) {
            o->json = 1;
        } else if (allow_strict && !strcmp(argv[i], "--strict")) {
            o->strict = 1;
        } else if (!o->arg && (argv[i][0] != '-' || !strcmp(argv[i], "-"))) {
            o->arg = argv[i];
        } else {
            fputs(usage, stderr);
            return TOOL_USAGE;
        }
    }
    if (!o->arg) {
        fputs(usage, stderr);
        return TOOL_USAGE;
    }
    return 0;
}

static const char headers_usage[] =
    "usage: mox message headers [--json] [--strict] FILE|-\n\n"
    "Parses the header section of a message: each field's name and unfolded\n"
    "value, and where the body starts. --strict refuses bare CR and bare LF\n"
    "line endings and lines that are not header fields (as an SMTP server\n"
    "would); otherwise bare LF is accepted.\n";

static int run_headers(int argc, char **argv)
{
    struct opts o;
    int rc = parse_opts(argc, argv, headers_usage, 1, &o);
    if (rc)
        return rc < 0 ? TOOL_OK : rc;
    mox_buf b = MOX_BUF_INIT;
    if ((rc = tool_read_file(o.arg, &b)))
        return rc;
    mox_header_config c = MOX_HEADER_CONFIG_INIT;
    if (o.strict)
        c.bare_lf = MOX_EOL_REJECT;
    else
        c.nonfield = MOX_HDR_NONFIELD_END;
    mox_headers *h = NULL;
    size_t body = 0;
    mox_errinfo ei;
    if (mox_headers_parse(b.data, b.len, &c, &h, &body, &ei)) {
        mox_buf_free(&b);
        return tool_err(TOOL_RUNTIME, "%s: %s at offset %zu", o.arg, ei.msg, ei.offset);
    }
    size_t n = mox_headers_count(h);
    if (o.json) {
        tool_json j;
        tool_json_init(&j);
        tool_json_obj_begin(&j);
        tool_json_key(&j, "fields");
        tool_json_arr_begin(&j);
        for (size_t i = 0; i < n; i++) {
            const mox_header_field *f = mox_headers_get(h, i);
            tool_json_obj_begin(&j);
            tool_json_key(&j, "name");
            tool_json_strn(&j, f->name, f->name_len);
            tool_json_key(&j, "value");
            tool_json_strn(&j, f->value, f->value_len);
            tool_json_key(&j, "offset");
            tool_json_int(&j, (long long)f->offset);
            tool_json_key(&j, "raw_length");
            tool_json_int(&j, (long long)f->raw_len);
            tool_json_key(&j, "folded");
            tool_json_bool(&j, (f->flags & MOX_HDR_FIELD_FOLDED) != 0);
            tool_json_obj_end(&j);
        }
        tool_json_arr_end(&j);
        tool_json_key(&j, "body_offset");
        tool_json_int(&j, (long long)body);
        tool_json_key(&j, "end");
        tool_json_str(&j, end_name(mox_headers_end(h)));
        tool_json_obj_end(&j);
        rc = tool_json_print(&j, stdout);
    } else {
        printf("; fields=%zu body_offset=%zu end=%s\n", n, body, end_name(mox_headers_end(h)));
        for (size_t i = 0; i < n; i++) {
            const mox_header_field *f = mox_headers_get(h, i);
            put_escaped(f->name, f->name_len);
            fputs(": ", stdout);
            put_escaped(f->value, f->value_len);
            putchar('\n');
        }
    }
    mox_headers_free(h);
    mox_buf_free(&b);
    return rc;
}

static const char mime_usage[] =
    "usage: mox message mime [--json] FILE|-\n\n"
    "Walks the MIME structure of a message: every part with its depth, media\n"
    "type, transfer encoding, byte ranges and leniency flags, and whether the\n"
    "message needs SMTPUTF8 (non-ASCII in a header).\n";

static void flag_names(unsigned fl, char *out, size_t n)
{
    static const struct {
        unsigned f;
        const char *name;
    } names[] = {{MOX_MIME_F_MULTIPART, "multipart"},     {MOX_MIME_F_MESSAGE, "message"},
                 {MOX_MIME_F_NO_CLOSE, "no_close"},       {MOX_MIME_F_NO_BOUNDARY, "no_boundary"},
                 {MOX_MIME_F_BAD_CTYPE, "bad_ctype"},     {MOX_MIME_F_DEFAULT_CTYPE, "default_ctype"},
                 {MOX_MIME_F_ENCODED, "encoded"},         {MOX_MIME_F_NO_HEADER_END, "no_header_end"},
                 {MOX_MIME_F_NONFIELD, "nonfield"},       {MOX_MIME_F_IN_MESSAGE, "in_message"}};
    out[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (fl & names[i].f) {
            if (out[0])
                strncat(out, ",", n - strlen(out) - 1);
            strncat(out, names[i].name, n - strlen(out) - 1);
        }
}

static int run_mime(int argc, char **argv)
{
    struct opts o;
    int rc = parse_opts(argc, argv, mime_usage, 0, &o);
    if (rc)
        return rc < 0 ? TOOL_OK : rc;
    mox_buf b = MOX_BUF_INIT;
    if ((rc = tool_read_file(o.arg, &b)))
        return rc;
    mox_mime *m = NULL;
    mox_errinfo ei;
    int needs = 0;
    if (mox_mime_walk(b.data, b.len, NULL, &m, &ei) ||
        mox_message_needs_smtputf8(b.data, b.len, 0, &needs, &ei)) {
        mox_mime_free(m);
        mox_buf_free(&b);
        return tool_err(TOOL_RUNTIME, "%s: %s at offset %zu", o.arg, ei.msg, ei.offset);
    }
    size_t n = mox_mime_count(m);
    char fl[256];
    if (o.json) {
        tool_json j;
        tool_json_init(&j);
        tool_json_obj_begin(&j);
        tool_json_key(&j, "needs_smtputf8");
        tool_json_bool(&j, needs);
        tool_json_key(&j, "parts");
        tool_json_arr_begin(&j);
        for (size_t i = 0; i < n; i++) {
            const mox_mime_part *p = mox_mime_get(m, i);
            tool_json_obj_begin(&j);
            tool_json_key(&j, "index");
            tool_json_int(&j, (long long)i);
            tool_json_key(&j, "parent");
            if (p->parent == MOX_MIME_NONE)
                tool_json_null(&j);
            else
                tool_json_int(&j, (long long)p->parent);
            tool_json_key(&j, "depth");
            tool_json_int(&j, (long long)p->depth);
            tool_json_key(&j, "media_type");
            tool_json_str(&j, p->media_type);
            tool_json_key(&j, "encoding");
            tool_json_str(&j, p->encoding);
            tool_json_key(&j, "boundary");
            tool_json_str(&j, p->boundary);
            tool_json_key(&j, "offset");
            tool_json_int(&j, (long long)p->offset);
            tool_json_key(&j, "body_offset");
            tool_json_int(&j, (long long)p->body_offset);
            tool_json_key(&j, "body_length");
            tool_json_int(&j, (long long)p->body_len);
            tool_json_key(&j, "flags");
            tool_json_arr_begin(&j);
            flag_names(p->flags, fl, sizeof fl);
            for (char *s = fl, *e; *s; s = *e ? e + 1 : e) {
                e = strchr(s, ',');
                if (!e)
                    e = s + strlen(s);
                tool_json_strn(&j, s, (size_t)(e - s));
            }
            tool_json_arr_end(&j);
            tool_json_obj_end(&j);
        }
        tool_json_arr_end(&j);
        tool_json_obj_end(&j);
        rc = tool_json_print(&j, stdout);
    } else {
        printf("; parts=%zu needs_smtputf8=%s\n", n, needs ? "yes" : "no");
        for (size_t i = 0; i < n; i++) {
            const mox_mime_part *p = mox_mime_get(m, i);
            flag_names(p->flags, fl, sizeof fl);
            printf("%*s%zu %s encoding=%s body=%zu+%zu%s%s\n", (int)(2 * p->depth), "", i,
                   p->media_type, p->encoding, p->body_offset, p->body_len, fl[0] ? " flags=" : "",
                   fl);
        }
    }
    mox_mime_free(m);
    mox_buf_free(&b);
    return rc;
}

static const char authres_usage[] =
    "usage: mox message authres [--json] VALUE|-\n\n"
    "Parses an Authentication-Results value (the text after the colon; '-'\n"
    "reads it from stdin, where a leading \"Authentication-Results:\" is\n"
    "skipped) leniently, and prints the model as a freshly composed header\n"
    "field, or as JSON.\n";

static int run_authres(int argc, char **argv)
{
    struct opts o;
    int rc = parse_opts(argc, argv, authres_usage, 0, &o);
    if (rc)
        return rc < 0 ? TOOL_OK : rc;
    mox_buf b = MOX_BUF_INIT;
    if (!strcmp(o.arg, "-")) {
        if ((rc = tool_read_file(o.arg, &b)))
            return rc;
    } else if (mox_buf_append_str(&b, o.arg)) {
        return tool_err(TOOL_RUNTIME, "out of memory");
    }
    static const char name[] = "authentication-results:";
    const char *s = b.data ? (const char *)b.data : "";
    size_t n = b.len;
    if (n >= sizeof name - 1 && !strncasecmp(s, name, sizeof name - 1)) {
        s += sizeof name - 1;
        n -= sizeof name - 1;
    }
    mox_authres *ar = NULL;
    mox_errinfo ei;
    if (mox_authres_parse(s, n, &ar, &ei)) {
        mox_buf_free(&b);
        return tool_err(TOOL_RUNTIME, "%s at offset %zu", ei.msg, ei.offset);
    }
    if (o.json) {
        tool_json j;
        tool_json_init(&j);
        tool_json_obj_begin(&j);
        tool_json_key(&j, "authserv_id");
        tool_json_str(&j, mox_authres_authserv_id(ar));
        tool_json_key(&j, "version");
        if (mox_authres_version(ar))
            tool_json_int(&j, mox_authres_version(ar));
        else
            tool_json_null(&j);
        tool_json_key(&j, "defects");
        tool_json_int(&j, (long long)mox_authres_defects(ar));
        tool_json_key(&j, "results");
        tool_json_arr_begin(&j);
        for (size_t i = 0; i < mox_authres_count(ar); i++) {
            const mox_authres_result *r = mox_authres_get(ar, i);
            tool_json_obj_begin(&j);
            tool_json_key(&j, "method");
            tool_json_str(&j, r->method);
            tool_json_key(&j, "method_version");
            if (r->version)
                tool_json_int(&j, r->version);
            else
                tool_json_null(&j);
            tool_json_key(&j, "result");
            tool_json_str(&j, r->result);
            tool_json_key(&j, "reason");
            tool_json_str(&j, r->reason);
            tool_json_key(&j, "comment");
            tool_json_str(&j, r->comment);
            tool_json_key(&j, "properties");
            tool_json_arr_begin(&j);
            for (size_t k = 0; k < r->nprops; k++) {
                tool_json_obj_begin(&j);
                tool_json_key(&j, "ptype");
                tool_json_str(&j, r->props[k].ptype);
                tool_json_key(&j, "property");
                tool_json_str(&j, r->props[k].property);
                tool_json_key(&j, "value");
                tool_json_str(&j, r->props[k].value);
                tool_json_obj_end(&j);
            }
            tool_json_arr_end(&j);
            tool_json_obj_end(&j);
        }
        tool_json_arr_end(&j);
        tool_json_obj_end(&j);
        rc = tool_json_print(&j, stdout);
    } else {
        mox_buf out = MOX_BUF_INIT;
        if (mox_authres_compose(ar, &out))
            rc = tool_err(TOOL_RUNTIME, "out of memory");
        else
            fwrite(out.data, 1, out.len, stdout);
        mox_buf_free(&out);
    }
    mox_authres_free(ar);
    mox_buf_free(&b);
    return rc;
}

static const struct tool_cmd message_headers = {"headers", "header fields of a message", run_headers};
static const struct tool_cmd message_mime = {"mime", "MIME structure of a message", run_mime};
static const struct tool_cmd message_authres = {"authres", "parse and recompose Authentication-Results",
                                                run_authres};
static const struct tool_cmd *const message_cmds[] = {&message_headers, &message_mime,
                                                      &message_authres, NULL};

static int run(int argc, char **argv)
{
    return tool_dispatch("mox message", message_cmds, argc, argv);
}

const struct tool_cmd tool_cmd_message = {"message", "message headers, MIME structure, Authentication-Results",
                                          run};
