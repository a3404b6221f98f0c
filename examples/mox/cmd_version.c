#include <string.h>

#include "tool.h"

static int run(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (tool_is_help(argv[i])) {
            printf("usage: mox version [--json]\n\nPrints the version of the linked libmox.\n");
            return TOOL_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else {
            fprintf(stderr, "usage: mox version [--json]\n");
            return TOOL_USAGE;
        }
    }
    if (!json) {
        printf("mox %s\n", mox_version());
        return TOOL_OK;
    }
    tool_json j;
    tool_json_init(&j);
    tool_json_obj_begin(&j);
    tool_json_key(&j, "version");
    tool_json_str(&j, mox_version());
    tool_json_obj_end(&j);
    return tool_json_print(&j, stdout);
}

const struct tool_cmd tool_cmd_version = {"version", "print the libmox version", run};
