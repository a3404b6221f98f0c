#include "mox/common.h"

const char *mox_version(void) { return MOX_VERSION_STRING; }
int mox_version_number(void) { return MOX_VERSION_NUMBER; }
