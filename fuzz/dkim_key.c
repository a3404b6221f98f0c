/* Fuzz the DKIM key record parser. */
#include <stdint.h>
#include <stdlib.h>

#include "mox/dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mox_dkim_key *key = NULL;
    int rc = mox_dkim_key_parse((const char *)data, size, 0, &key, NULL);
    if (rc == MOX_OK) {
        if (!key->revoked && (!key->pubkey || !key->bits || key->bits > 4096))
            abort();
        if (key->type == MOX_DKIM_KEY_ED25519 && !key->revoked && key->pubkey_len != 32)
            abort();
    } else if (key) {
        abort();
    }
    mox_dkim_key_free(key);
    return 0;
}
