/* Input helpers shared by the mox tool's commands. */
#include <errno.h>
#include <string.h>

#include "tool.h"

int tool_read_file(const char *path, mox_buf *out)
{
    int use_stdin = !path || !strcmp(path, "-");
    const char *name = use_stdin ? "stdin" : path;
    FILE *f = use_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return tool_err(TOOL_RUNTIME, "%s: %s", name, strerror(errno));
    char tmp[65536];
    size_t n;
    int rc = TOOL_OK;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        if (mox_buf_append(out, tmp, n)) {
            rc = tool_err(TOOL_RUNTIME, "out of memory");
            break;
        }
    if (rc == TOOL_OK && ferror(f))
        rc = tool_err(TOOL_RUNTIME, "%s: read error", name);
    if (!use_stdin)
        fclose(f);
    /* An empty input still gives a NUL-terminated buffer. */
    if (rc == TOOL_OK && !out->data && mox_buf_reserve(out, 0))
        rc = tool_err(TOOL_RUNTIME, "out of memory");
    return rc;
}

int tool_to_crlf(const mox_buf *in, mox_buf *out)
{
    for (size_t i = 0; i < in->len; i++) {
        unsigned char c = in->data[i];
        if (c == '\n' && (i == 0 || in->data[i - 1] != '\r') && mox_buf_append_byte(out, '\r'))
            return tool_err(TOOL_RUNTIME, "out of memory");
        if (mox_buf_append_byte(out, c))
            return tool_err(TOOL_RUNTIME, "out of memory");
    }
    if (mox_buf_reserve(out, 0))
        return tool_err(TOOL_RUNTIME, "out of memory");
    return TOOL_OK;
}
