/* Fuzzes the TLS engine in the server role from the first byte of the
 * ClientHello: arbitrary client bytes, fed in pseudo-random pieces (the
 * first two input bytes seed the split), with output and plaintext drained
 * in random pieces. Seeds (fuzz/corpus/tls_server) are recorded client
 * flights that complete a handshake and send records after it
 * (tls_seedgen.c). Invariants: feed never fails, never sticks, and once
 * the input ended the engine is CLOSED with a reason or a result. */
#include "tls_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mox_tls_config *cfg;
    if (!cfg)
        cfg = moxf_server_config();
    mox_tls *t = moxf_engine(cfg);
    moxf_run(t, data, size);
    mox_tls_free(t);
    return 0;
}
