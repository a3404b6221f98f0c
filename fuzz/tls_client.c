/* Fuzzes the TLS engine in the client role with arbitrary server bytes,
 * fed in pseudo-random pieces (the first two input bytes seed the split).
 * Seeds (fuzz/corpus/tls_client) are recorded server flights of complete
 * handshakes (tls_seedgen.c), which replay exactly thanks to the fixed
 * random generator and clock of tls_fuzz.h. Invariants as tls_server.c. */
#include "tls_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mox_tls_config *cfg;
    if (!cfg)
        cfg = moxf_client_config();
    mox_tls *t = moxf_engine(cfg);
    moxf_run(t, data, size);
    mox_tls_free(t);
    return 0;
}
