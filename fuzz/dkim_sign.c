/* Fuzz the signer through the engine contract, with the verifier as the
 * oracle. The first bytes choose the parameters (canonicalisations,
 * header list, oversigning, l=, x=, i=) and a seed for the split points;
 * the rest is the message, fed in random pieces. Then: a message without
 * From must be refused (MOX_ERR_SYNTAX), one whose header section is over
 * the limit MOX_ERR_LIMIT; every other message must be signed, the field
 * must be well formed (CRLF line ends, folded lines starting with a space,
 * no line over 78 columns for these short values), and the verifier,
 * given the field on top of the message in other random pieces, must
 * find that signature "pass". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mox/dkim.h"

#define CHECK(c)                                                    \
    do {                                                            \
        if (!(c)) {                                                 \
            fprintf(stderr, "%s:%d: CHECK(%s)\n", __FILE__, __LINE__, #c); \
            abort();                                                \
        }                                                           \
    } while (0)

static uint64_t rng;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static int64_t wall(void *ctx)
{
    (void)ctx;
    return 1700000000LL * 1000000000LL;
}

static const char *const header_lists[] = {
    NULL, "From", "from:to:subject", "From:From:Date:X-Absent", "FROM : Subject : dkim-signature",
};

static mox_dkim_privkey *key;
static mox_buf record;

static void feed_random(mox_engine *g, const uint8_t *p, size_t n)
{
    for (size_t off = 0, c; off < n; off += c) {
        c = 1 + rnd() % (rnd() % 4 ? 32 : 2048);
        if (c > n - off)
            c = n - off;
        int64_t took = mox_engine_feed(g, p + off, c);
        if (took == MOX_ERR_LIMIT)
            return;
        CHECK(took == (int64_t)c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!key) {
        /* a fixed Ed25519 seed (RFC 8463 style base64) */
        static const char seed[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
        CHECK(mox_dkim_privkey_load(seed, sizeof seed - 1, NULL, &key, NULL) == MOX_OK);
        CHECK(mox_dkim_privkey_record(key, &record) == MOX_OK);
    }
    if (size < 4)
        return 0;
    rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)data[0] << 8 | data[1]);
    unsigned m = data[2] | (unsigned)data[3] << 8;
    data += 4;
    size -= 4;
    static mox_clock clk = {sizeof(mox_clock), NULL, wall, NULL};
    static mox_env env = {sizeof(mox_env), NULL, NULL, &clk, NULL};

    mox_dkim_sign_params p;
    mox_dkim_sign_params_init(&p, sizeof p);
    p.key = key;
    p.domain = m & 0x8000 ? "\xc3\xa9xample.com" : "example.com";
    p.selector = "fz";
    p.header_canon = m & 1 ? MOX_DKIM_RELAXED : MOX_DKIM_SIMPLE;
    p.body_canon = m & 2 ? MOX_DKIM_RELAXED : MOX_DKIM_SIMPLE;
    p.headers = header_lists[(m >> 2) % 5];
    p.oversign = (m >> 5) & 1;
    p.body_length = (m >> 6) & 1;
    p.expire_seconds = (m >> 7) & 1 ? 3600 : 0;
    p.timestamp = !((m >> 8) & 1);
    p.identity = (m >> 9) & 1 ? "user@sub.example.com" : NULL;
    if ((m & 0x8000) && p.identity)
        p.identity = "user@xn--xample-9ua.com";
    mox_dkim_sign_config sc;
    memset(&sc, 0, sizeof sc);
    sc.size = sizeof sc;
    sc.env = &env;
    sc.max_header_bytes = 32 * 1024;
    mox_dkim_signer *s;
    CHECK(mox_dkim_signer_new(&s, &sc, &p, 1, NULL) == MOX_OK);
    mox_engine *g = mox_dkim_signer_engine(s);
    feed_random(g, data, size);
    if (mox_dkim_signer_want(s) == 0) {
        CHECK(mox_engine_error(g)->code == MOX_ERR_LIMIT && !mox_dkim_signer_result(s));
        mox_dkim_signer_free(s);
        return 0;
    }
    CHECK(mox_dkim_signer_want(s) == MOX_WANT_READ);
    int rc = mox_dkim_signer_eof(s);
    if (rc != MOX_OK) {
        CHECK(rc == MOX_ERR_SYNTAX || rc == MOX_ERR_LIMIT);
        CHECK(mox_engine_error(g)->code == rc && mox_dkim_signer_want(s) == 0);
        mox_dkim_signer_free(s);
        return 0;
    }
    CHECK(mox_dkim_signer_want(s) == MOX_WANT_DONE);
    const mox_dkim_signer_outcome *o = mox_dkim_signer_result(s);
    CHECK(o && o->count == 1 && o->len > 20 && strlen(o->fields) == o->len);
    CHECK(!memcmp(o->fields, "DKIM-Signature: v=1; a=ed25519-sha256;", 38));
    /* lines: CRLF, continuation lines start with a space, at most 78 */
    size_t col = 0;
    for (size_t i = 0; i < o->len; i++) {
        char c = o->fields[i];
        if (c == '\r') {
            CHECK(i + 1 < o->len && o->fields[i + 1] == '\n');
            CHECK(col <= 78);
            i++;
            col = 0;
            CHECK(i + 1 == o->len || o->fields[i + 1] == ' ');
            continue;
        }
        CHECK(c != '\n' && c >= 0x20 && c < 0x7f);
        col++;
    }
    CHECK(o->fields[o->len - 1] == '\n');

    /* the verifier agrees */
    mox_dkim_verify_config vc;
    memset(&vc, 0, sizeof vc);
    vc.size = sizeof vc;
    vc.env = &env;
    vc.max_header_bytes = 64 * 1024;
    mox_dkim_verifier *v;
    CHECK(mox_dkim_verifier_new(&v, &vc, NULL) == MOX_OK);
    mox_engine *vg = mox_dkim_verifier_engine(v);
    feed_random(vg, (const uint8_t *)o->fields, o->len);
    feed_random(vg, data, size);
    mox_dkim_signer_free(s);
    if (mox_dkim_verifier_want(v) == 0) {
        /* the field pushed the header section over the limits */
        CHECK(mox_engine_error(vg)->code == MOX_ERR_LIMIT);
        mox_dkim_verifier_free(v);
        return 0;
    }
    CHECK(mox_engine_eof(vg) == MOX_OK);
    mox_query q;
    while (mox_engine_query(vg, &q) == MOX_OK) {
        mox_answer *a;
        CHECK(mox_answer_dns_new(&a, q.id, q.u.dns.name, MOX_DNS_TXT, MOX_DNS_NOERROR, 0) == MOX_OK);
        if (!strcmp(q.u.dns.name, m & 0x8000 ? "fz._domainkey.xn--xample-9ua.com"
                                              : "fz._domainkey.example.com"))
            CHECK(mox_answer_add_txt(a, NULL, 60, record.data, record.len) == MOX_OK);
        CHECK(mox_engine_answer(vg, a) == MOX_OK);
        mox_answer_free(a);
    }
    CHECK(mox_engine_want(vg) == MOX_WANT_DONE);
    const mox_dkim_verifier_outcome *vo = mox_dkim_verifier_result(v);
    CHECK(vo && vo->count >= 1);
    const mox_dkim_sig_result *r = vo->results[0];
    if (r->status != MOX_DKIM_PASS) {
        fprintf(stderr, "signature: %s (%s; %s)\n", mox_dkim_status_name(r->status), r->reason,
                r->detail);
        abort();
    }
    mox_dkim_verifier_free(v);
    return 0;
}
