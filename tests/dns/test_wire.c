/* DNS messages: query building, reply parsing (including hostile
 * replies), and the system resolver's failure statuses against local
 * sockets. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "moxtest.h"
#include "mox/dns.h"
#include "test_dns.h"

typedef struct msg {
    unsigned char b[2048];
    size_t n;
} msg;

static void m8(msg *m, unsigned v) { m->b[m->n++] = (unsigned char)v; }
static void m16(msg *m, unsigned v) { m8(m, v >> 8); m8(m, v & 255); }
static void m32(msg *m, uint32_t v) { m16(m, v >> 16); m16(m, v & 0xffff); }
static void mraw(msg *m, const void *p, size_t n) { memcpy(m->b + m->n, p, n); m->n += n; }

/* Simple dotted name ("example.org") in wire form. */
static void mname(msg *m, const char *s)
{
    while (*s) {
        const char *d = strchr(s, '.');
        size_t l = d ? (size_t)(d - s) : strlen(s);
        m8(m, (unsigned)l);
        mraw(m, s, l);
        s += l + (d ? 1 : 0);
    }
    m8(m, 0);
}

static void mhdr(msg *m, unsigned id, unsigned flags, unsigned qd, unsigned an)
{
    m->n = 0;
    m16(m, id);
    m16(m, flags);
    m16(m, qd);
    m16(m, an);
    m16(m, 0);
    m16(m, 0);
}

static void mq(msg *m, const char *name, unsigned type)
{
    mname(m, name);
    m16(m, type);
    m16(m, 1);
}

/* Record header with the owner as a pointer to `ptr` (0: write `owner`). */
static void mrr(msg *m, const char *owner, unsigned ptr, unsigned type, unsigned cls, uint32_t ttl,
                unsigned rdlen)
{
    if (ptr)
        m16(m, 0xc000 | ptr);
    else
        mname(m, owner);
    m16(m, type);
    m16(m, cls);
    m32(m, ttl);
    m16(m, rdlen);
}

static char *render_answer(const mox_dns_answer *a)
{
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_buf_appendf(&b, "%s auth=%d", mox_dns_status_name(a->status), a->authentic), MOX_OK);
    for (size_t i = 0; i < a->nrr; i++) {
        assert_int_equal(mox_buf_append_byte(&b, '\n'), MOX_OK);
        assert_int_equal(mox_dns_rr_format(&a->rr[i], &b), MOX_OK);
    }
    size_t n;
    return mox_buf_steal(&b, &n);
}

static void parse_ok(const msg *m, const char *name, uint16_t type, uint16_t id, int want_tc,
                     const char *want)
{
    mox_dns_answer *a = NULL;
    int tc = -1;
    int rc = mox_dns_reply_parse(m->b, m->n, name, type, id, &tc, &a);
    if (rc != MOX_OK)
        fail_msg("reply for %s rejected: %d", name, rc);
    assert_int_equal(tc, want_tc);
    char *got = render_answer(a);
    if (strcmp(got, want))
        fail_msg("reply for %s:\n got: %s\nwant: %s", name, got, want);
    mox_free(got);
    mox_dns_answer_free(a);
}

static void parse_bad(const msg *m, const char *name, uint16_t type, uint16_t id, const char *what)
{
    mox_dns_answer *a = (mox_dns_answer *)1;
    int rc = mox_dns_reply_parse(m->b, m->n, name, type, id, NULL, &a);
    if (rc != MOX_ERR_SYNTAX)
        fail_msg("%s: accepted (%d)", what, rc);
    assert_null(a);
}

static void test_query_build(void **state)
{
    (void)state;
    mox_buf b = MOX_BUF_INIT;
    assert_int_equal(mox_dns_query_build("example.org.", MOX_DNS_TXT, 0x1234, &b), MOX_OK);
    static const unsigned char want[] = {
        0x12, 0x34, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1,
        7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0, 0, 16, 0, 1,
        0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    mox_buf_reset(&b);
    assert_int_equal(mox_dns_query_build("a\\.b.x", MOX_DNS_A, 1, &b), MOX_OK);
    assert_memory_equal(b.data + 12, "\x03" "a.b" "\x01" "x" "\x00", 7);
    mox_buf_reset(&b);
    assert_int_equal(mox_dns_query_build(".", MOX_DNS_NS, 1, &b), MOX_OK);
    assert_int_equal(b.data[12], 0);
    assert_int_equal(mox_dns_query_build("a..b", MOX_DNS_A, 1, &b), MOX_ERR_SYNTAX);
    assert_int_equal(mox_dns_query_build(NULL, MOX_DNS_A, 1, &b), MOX_ERR_INVAL);
    mox_buf_free(&b);
}

static void test_reply_basic(void **state)
{
    (void)state;
    msg m;
    mhdr(&m, 7, 0x8180, 1, 2);
    mq(&m, "Example.org", MOX_DNS_A);
    mrr(&m, NULL, 12, MOX_DNS_A, 1, 300, 4);
    mraw(&m, "\xc0\x00\x02\x01", 4);
    mrr(&m, NULL, 12, MOX_DNS_A, 1, 0x80000000u, 4); /* TTL over 2^31: 0 */
    mraw(&m, "\xc0\x00\x02\x02", 4);
    parse_ok(&m, "example.org.", MOX_DNS_A, 7, 0,
             "NOERROR auth=0\nExample.org. 300 IN A 192.0.2.1\nExample.org. 0 IN A 192.0.2.2");

    /* AD bit, TC bit, rcodes */
    mhdr(&m, 7, 0x81a0, 1, 0);
    mq(&m, "example.org", MOX_DNS_A);
    parse_ok(&m, "example.org", MOX_DNS_A, 7, 0, "NOERROR auth=1");
    mhdr(&m, 7, 0x8380, 1, 0);
    mq(&m, "example.org", MOX_DNS_A);
    parse_ok(&m, "example.org", MOX_DNS_A, 7, 1, "NOERROR auth=0");
    mhdr(&m, 7, 0x8183, 1, 0);
    mq(&m, "example.org", MOX_DNS_A);
    parse_ok(&m, "example.org", MOX_DNS_A, 7, 0, "NXDOMAIN auth=0");
    mhdr(&m, 7, 0x8182, 1, 0);
    mq(&m, "example.org", MOX_DNS_A);
    parse_ok(&m, "example.org", MOX_DNS_A, 7, 0, "SERVFAIL auth=0");
    /* an error without the question */
    mhdr(&m, 7, 0x8185, 0, 0);
    parse_ok(&m, "example.org", MOX_DNS_A, 7, 0, "REFUSED auth=0");
    mhdr(&m, 7, 0x8181, 0, 0);
    parse_ok(&m, "example.org", MOX_DNS_A, 7, 0, "FORMERR auth=0");

    /* every typed record, names compressed in RDATA */
    mhdr(&m, 9, 0x8180, 1, 6);
    mq(&m, "example.org", MOX_DNS_ANY);
    mrr(&m, NULL, 12, MOX_DNS_MX, 1, 1, 4);
    mraw(&m, "\x00\x0a\xc0\x0c", 4);
    mrr(&m, NULL, 12, MOX_DNS_TXT, 1, 1, 7);
    mraw(&m, "\x02hi\x00\x02\"\\", 7);
    mrr(&m, NULL, 12, MOX_DNS_AAAA, 1, 1, 16);
    mraw(&m, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    mrr(&m, NULL, 12, MOX_DNS_TLSA, 1, 1, 5);
    mraw(&m, "\x03\x01\x01\xab\xcd", 5);
    mrr(&m, NULL, 12, MOX_DNS_SOA, 1, 1, 2 + 2 + 20);
    mraw(&m, "\xc0\x0c\xc0\x0c\0\0\0\1\0\0\0\2\0\0\0\3\0\0\0\4\0\0\0\5", 24);
    mrr(&m, NULL, 12, 65280, 1, 1, 2);
    mraw(&m, "\xc0\x0c", 2);
    parse_ok(&m, "example.org", MOX_DNS_ANY, 9, 0,
             "NOERROR auth=0\n"
             "example.org. 1 IN MX 10 example.org.\n"
             "example.org. 1 IN TXT \"hi\" \"\" \"\\\"\\\\\"\n"
             "example.org. 1 IN AAAA 2001:db8::1\n"
             "example.org. 1 IN TLSA 3 1 1 ABCD\n"
             "example.org. 1 IN SOA example.org. example.org. 1 2 3 4 5\n"
             "example.org. 1 IN TYPE65280 \\# 2 C00C");
}

static void test_reply_chain(void **state)
{
    (void)state;
    msg m;
    /* alias -> target, with records for other names that must be dropped
     * and a record of class CH */
    mhdr(&m, 1, 0x8180, 1, 5);
    mq(&m, "alias.test", MOX_DNS_A);
    mrr(&m, "evil.test", 0, MOX_DNS_A, 1, 5, 4);
    mraw(&m, "\x06\x06\x06\x06", 4);
    mrr(&m, NULL, 12, MOX_DNS_CNAME, 1, 5, 13);
    mname(&m, "Target.test");
    mrr(&m, "target.test", 0, MOX_DNS_A, 3, 5, 4);
    mraw(&m, "\x07\x07\x07\x07", 4);
    mrr(&m, "target.test", 0, MOX_DNS_A, 1, 5, 4);
    mraw(&m, "\xc0\x00\x02\x01", 4);
    mrr(&m, "target.test", 0, MOX_DNS_TXT, 1, 5, 2);
    mraw(&m, "\x01x", 2);
    parse_ok(&m, "alias.test", MOX_DNS_A, 1, 0,
             "NOERROR auth=0\nalias.test. 5 IN CNAME Target.test.\ntarget.test. 5 IN A 192.0.2.1");
    /* asking for the CNAME itself */
    mhdr(&m, 1, 0x8180, 1, 1);
    mq(&m, "alias.test", MOX_DNS_CNAME);
    mrr(&m, NULL, 12, MOX_DNS_CNAME, 1, 5, 2);
    mraw(&m, "\xc0\x0c", 2);
    parse_ok(&m, "alias.test", MOX_DNS_CNAME, 1, 0, "NOERROR auth=0\nalias.test. 5 IN CNAME alias.test.");
    /* a CNAME loop in the reply ends */
    mhdr(&m, 1, 0x8180, 1, 2);
    mq(&m, "a.test", MOX_DNS_A);
    mrr(&m, NULL, 12, MOX_DNS_CNAME, 1, 5, 8);
    mname(&m, "b.test");
    mrr(&m, "b.test", 0, MOX_DNS_CNAME, 1, 5, 2);
    mraw(&m, "\xc0\x0c", 2);
    parse_ok(&m, "a.test", MOX_DNS_A, 1, 0,
             "NOERROR auth=0\na.test. 5 IN CNAME b.test.\nb.test. 5 IN CNAME a.test.");
}

static void test_reply_hostile(void **state)
{
    (void)state;
    msg m;
    mhdr(&m, 1, 0x8180, 1, 0);
    parse_bad(&m, "x.test", MOX_DNS_A, 1, "question missing");
    mq(&m, "x.test", MOX_DNS_A);
    parse_bad(&m, "x.test", MOX_DNS_A, 2, "wrong id");
    parse_bad(&m, "y.test", MOX_DNS_A, 1, "other name");
    parse_bad(&m, "x.test", MOX_DNS_MX, 1, "other type");
    parse_ok(&m, "X.TEST.", MOX_DNS_A, 1, 0, "NOERROR auth=0"); /* case-insensitive */
}

static void test_reply_hostile2(void **state)
{
    (void)state;
    msg m;
    mhdr(&m, 1, 0x0180, 1, 0); /* QR clear: a query, not a reply */
    mq(&m, "x.test", MOX_DNS_A);
    parse_bad(&m, "x.test", MOX_DNS_A, 1, "not a response");
    mhdr(&m, 1, 0x8980, 1, 0); /* opcode 1 */
    mq(&m, "x.test", MOX_DNS_A);
    parse_bad(&m, "x.test", MOX_DNS_A, 1, "opcode");
    mhdr(&m, 1, 0x8180, 1, 0);
    mname(&m, "x.test");
    m16(&m, MOX_DNS_A);
    m16(&m, 3);
    parse_bad(&m, "x.test", MOX_DNS_A, 1, "class CH question");
    mhdr(&m, 1, 0x8180, 2, 0);
    mq(&m, "x.test", MOX_DNS_A);
    mq(&m, "x.test", MOX_DNS_A);
    parse_bad(&m, "x.test", MOX_DNS_A, 1, "two questions");
    mhdr(&m, 1, 0x8180, 0, 0);
    parse_bad(&m, "x.test", MOX_DNS_A, 1, "NOERROR without question");
    m.n = 11;
    parse_bad(&m, "x.test", MOX_DNS_A, 1, "short header");

    /* compression pointer loops and forward pointers */
    mhdr(&m, 1, 0x8180, 1, 1);
    mq(&m, "x.test", MOX_DNS_A);
    m16(&m, 0xc000 | (unsigned)m.n); /* points at itself */
    parse_bad(&m, "x.test", MOX_DNS_A, 1, "self pointer");
    mhdr(&m, 1, 0x8180, 1, 1);
    mq(&m, "x.test", MOX_DNS_A);
    m16(&m, 0xc000 | (unsigned)(m.n + 2)); /* forward */
    mname(&m, "x.test");
    parse_bad(&m, "x.test", MOX_DNS_A, 1, "forward pointer");
    mhdr(&m, 1, 0x8180, 1, 0);
    m16(&m, 0xc00c);
    parse_bad(&m, "x.test", MOX_DNS_A, 1, "question name pointing at itself");
    mhdr(&m, 1, 0x8180, 1, 0);
    m8(&m, 0x40); /* extended label type */
    parse_bad(&m, "x.test", MOX_DNS_A, 1, "label type 01");
    mhdr(&m, 1, 0x8180, 1, 0);
    m8(&m, 5);
    mraw(&m, "ab", 2);
    parse_bad(&m, "x.test", MOX_DNS_A, 1, "label past the end");

    /* malformed RDATA */
    static const struct { uint16_t type; const char *rd; unsigned len; const char *what; } bad[] = {
        {MOX_DNS_A, "\1\2\3", 3, "short A"},
        {MOX_DNS_AAAA, "\1\2\3\4", 4, "short AAAA"},
        {MOX_DNS_TXT, "\5ab", 3, "TXT string past RDATA"},
        {MOX_DNS_TXT, "", 0, "empty TXT"},
        {MOX_DNS_MX, "\0\1", 2, "MX without host"},
        {MOX_DNS_MX, "\0\1\1a\0\0", 6, "MX with trailing bytes"},
        {MOX_DNS_CNAME, "\3abc", 4, "CNAME name past RDATA"},
        {MOX_DNS_TLSA, "\3\1", 2, "short TLSA"},
        {MOX_DNS_SOA, "\0\0\0\0", 4, "short SOA"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mhdr(&m, 1, 0x8180, 1, 1);
        mq(&m, "x.test", bad[i].type);
        mrr(&m, NULL, 12, bad[i].type, 1, 1, bad[i].len);
        mraw(&m, bad[i].rd, bad[i].len);
        parse_bad(&m, "x.test", bad[i].type, 1, bad[i].what);
    }
    /* RDLENGTH past the end of the message */
    mhdr(&m, 1, 0x8180, 1, 1);
    mq(&m, "x.test", MOX_DNS_A);
    mrr(&m, NULL, 12, MOX_DNS_A, 1, 1, 40);
    mraw(&m, "\1\2\3\4", 4);
    parse_bad(&m, "x.test", MOX_DNS_A, 1, "RDLENGTH past the end");
    /* ... but a truncated reply keeps what parsed */
    m.b[2] |= 0x02;
    parse_ok(&m, "x.test", MOX_DNS_A, 1, 1, "NOERROR auth=0");
    /* an answer count larger than the records present */
    mhdr(&m, 1, 0x8180, 1, 3);
    mq(&m, "x.test", MOX_DNS_A);
    mrr(&m, NULL, 12, MOX_DNS_A, 1, 1, 4);
    mraw(&m, "\1\2\3\4", 4);
    parse_bad(&m, "x.test", MOX_DNS_A, 1, "ANCOUNT too large");

    mox_dns_answer *a;
    assert_int_equal(mox_dns_reply_parse(m.b, m.n, "x..test", MOX_DNS_A, 1, NULL, &a), MOX_ERR_INVAL);
    assert_int_equal(mox_dns_reply_parse(NULL, 0, "x.test", MOX_DNS_A, 1, NULL, &a), MOX_ERR_INVAL);
    assert_int_equal(mox_dns_reply_parse(m.b, m.n, "x.test", MOX_DNS_A, 1, NULL, NULL), MOX_ERR_INVAL);
}

static msg sweep_msg;

static int sweep_parse(void *arg)
{
    (void)arg;
    mox_dns_answer *a;
    int rc = mox_dns_reply_parse(sweep_msg.b, sweep_msg.n, "alias.test", MOX_DNS_TXT, 5, NULL, &a);
    if (rc == MOX_OK) {
        mox_buf b = MOX_BUF_INIT;
        for (size_t i = 0; rc == MOX_OK && i < a->nrr; i++)
            rc = mox_dns_rr_format(&a->rr[i], &b);
        mox_buf_free(&b);
        mox_dns_answer_free(a);
    }
    if (rc == MOX_OK) {
        mox_buf q = MOX_BUF_INIT;
        rc = mox_dns_query_build("alias.test", MOX_DNS_TXT, 5, &q);
        mox_buf_free(&q);
    }
    return rc;
}

static void test_reply_alloc_sweep(void **state)
{
    (void)state;
    msg *m = &sweep_msg;
    mhdr(m, 5, 0x8180, 1, 3);
    mq(m, "alias.test", MOX_DNS_TXT);
    mrr(m, NULL, 12, MOX_DNS_CNAME, 1, 5, 8);
    mname(m, "t.test");
    mrr(m, "t.test", 0, MOX_DNS_TXT, 1, 5, 6);
    mraw(m, "\2ab\2cd", 6);
    mrr(m, "t.test", 0, MOX_DNS_TXT, 1, 5, 2);
    mraw(m, "\1e", 2);
    assert_true(moxtest_alloc_sweep(sweep_parse, NULL, "reply parse") >= 3);
}

/* ------------------------------------------------------------ system */

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_system_failures(void **state)
{
    (void)state;
    /* a socket that never answers: TIMEOUT after timeout x attempts */
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    char srv[64];
    snprintf(srv, sizeof srv, "127.0.0.1:%u", ntohs(sa.sin_port));
    mox_dns_system *s;
    assert_int_equal(mox_dns_system_new(&s, srv, 150, 2), MOX_OK);
    mox_resolver r = MOX_RESOLVER_INIT;
    mox_dns_system_resolver(s, &r);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mox_dns_answer *a;
    assert_int_equal(mox_dns_lookup(&r, "example.org.", MOX_DNS_A, &a), MOX_OK);
    long ms = elapsed_ms(&t0);
    assert_int_equal(a->status, MOX_DNS_TIMEOUT);
    assert_string_equal(a->qname, "example.org");
    assert_int_equal(a->nrr, 0);
    assert_true(ms >= 280 && ms < 3000);
    mox_dns_answer_free(a);
    assert_int_equal(mox_dns_system_query(s, "a..b", MOX_DNS_A, &a), MOX_ERR_SYNTAX);
    mox_dns_system_free(s);
    close(fd); /* now nobody listens: ICMP port unreachable */
    assert_int_equal(mox_dns_system_new(&s, srv, 2000, 1), MOX_OK);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(mox_dns_system_query(s, "example.org", MOX_DNS_A, &a), MOX_OK);
    assert_int_equal(a->status, MOX_DNS_NETERR);
    assert_true(elapsed_ms(&t0) < 1500);
    mox_dns_answer_free(a);
    mox_dns_system_free(s);
}

static void test_system_new(void **state)
{
    (void)state;
    static const char *const good[] = {"127.0.0.1", "127.0.0.1:53", "::1", "[::1]:5353", "[2001:db8::1]",
                                       "192.0.2.1:65535"};
    static const char *const bad[] = {"", "localhost", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                                      "127.0.0.1:x", "[::1", "[::1]x", "[::1]:", "[127.0.0.1]:53",
                                      "1.2.3.4.5", ":53", "::1:53:"};
    mox_dns_system *s;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (mox_dns_system_new(&s, good[i], 0, 0) != MOX_OK)
            fail_msg("rejected %s", good[i]);
        mox_dns_system_free(s);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (mox_dns_system_new(&s, bad[i], 0, 0) != MOX_ERR_INVAL)
            fail_msg("accepted %s", bad[i]);
        assert_null(s);
    }
    assert_int_equal(mox_dns_system_new(&s, "127.0.0.1", -1, 1), MOX_ERR_INVAL);
    assert_int_equal(mox_dns_system_new(&s, "127.0.0.1", 1, -1), MOX_ERR_INVAL);
    assert_int_equal(mox_dns_system_new(NULL, "127.0.0.1", 1, 1), MOX_ERR_INVAL);
    /* /etc/resolv.conf (or glibc's defaults when it is missing) */
    assert_int_equal(mox_dns_system_new(&s, NULL, 0, 0), MOX_OK);
    mox_dns_system_free(s);
    mox_dns_system_free(NULL);
}

const struct CMUnitTest dns_wire_tests[] = {
    cmocka_unit_test(test_query_build),
    cmocka_unit_test(test_reply_basic),
    cmocka_unit_test(test_reply_chain),
    cmocka_unit_test(test_reply_hostile),
    cmocka_unit_test(test_reply_hostile2),
    cmocka_unit_test(test_reply_alloc_sweep),
    cmocka_unit_test(test_system_failures),
    cmocka_unit_test(test_system_new),
};
const size_t dns_wire_ntests = sizeof dns_wire_tests / sizeof dns_wire_tests[0];
