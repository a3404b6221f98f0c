/* Minimal JSON writer for --json output (RFC 8259 escaping). */
#include <string.h>

#include "tool.h"

void tool_json_init(tool_json *j)
{
    memset(j, 0, sizeof *j);
    j->first[0] = 1;
}

void tool_json_free(tool_json *j) { mox_buf_free(&j->b); }

static void raw(tool_json *j, const char *s, size_t n)
{
    if (mox_buf_append(&j->b, s, n))
        j->oom = 1;
}

/* Emits the separator before a value or key at the current depth. */
static void sep(tool_json *j)
{
    if (!j->first[j->depth])
        raw(j, ",", 1);
    j->first[j->depth] = 0;
}

static void value_prefix(tool_json *j)
{
    if (j->after_key)
        j->after_key = 0;
    else
        sep(j);
}

static void open_(tool_json *j, const char *c)
{
    value_prefix(j);
    raw(j, c, 1);
    if (j->depth + 1 < (int)(sizeof j->first / sizeof j->first[0]))
        j->depth++;
    j->first[j->depth] = 1;
}

static void close_(tool_json *j, const char *c)
{
    if (j->depth > 0)
        j->depth--;
    raw(j, c, 1);
}

void tool_json_obj_begin(tool_json *j) { open_(j, "{"); }
void tool_json_obj_end(tool_json *j) { close_(j, "}"); }
void tool_json_arr_begin(tool_json *j) { open_(j, "["); }
void tool_json_arr_end(tool_json *j) { close_(j, "]"); }

static int utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    int len;
    unsigned min;
    unsigned cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; min = 0x80; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; min = 0x800; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; min = 0x10000; cp = c & 0x07; }
    else return 0;
    if ((size_t)len > n) return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

static void string_(tool_json *j, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    raw(j, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        char esc[8];
        if (c == '"') { raw(j, "\\\"", 2); i++; }
        else if (c == '\\') { raw(j, "\\\\", 2); i++; }
        else if (c == '\n') { raw(j, "\\n", 2); i++; }
        else if (c == '\r') { raw(j, "\\r", 2); i++; }
        else if (c == '\t') { raw(j, "\\t", 2); i++; }
        else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            raw(j, esc, 6);
            i++;
        } else {
            int l = utf8_len(p + i, n - i);
            if (l == 0) { /* invalid UTF-8 byte: escape as U+00XX */
                snprintf(esc, sizeof esc, "\\u%04x", c);
                raw(j, esc, 6);
                i++;
            } else {
                raw(j, s + i, (size_t)l);
                i += (size_t)l;
            }
        }
    }
    raw(j, "\"", 1);
}

void tool_json_key(tool_json *j, const char *key)
{
    sep(j);
    string_(j, key, strlen(key));
    raw(j, ":", 1);
    j->after_key = 1;
}

void tool_json_strn(tool_json *j, const char *s, size_t n)
{
    value_prefix(j);
    if (!s) {
        raw(j, "null", 4);
        return;
    }
    string_(j, s, n);
}

void tool_json_str(tool_json *j, const char *s) { tool_json_strn(j, s, s ? strlen(s) : 0); }

void tool_json_int(tool_json *j, long long v)
{
    char tmp[32];
    value_prefix(j);
    int n = snprintf(tmp, sizeof tmp, "%lld", v);
    raw(j, tmp, (size_t)n);
}

void tool_json_bool(tool_json *j, int v)
{
    value_prefix(j);
    raw(j, v ? "true" : "false", v ? 4 : 5);
}

void tool_json_null(tool_json *j)
{
    value_prefix(j);
    raw(j, "null", 4);
}

int tool_json_print(tool_json *j, FILE *f)
{
    int rc = TOOL_OK;
    if (j->oom) {
        fprintf(stderr, "mox: out of memory\n");
        rc = TOOL_RUNTIME;
    } else {
        fwrite(j->b.data, 1, j->b.len, f);
        fputc('\n', f);
    }
    tool_json_free(j);
    return rc;
}
