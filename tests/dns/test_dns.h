/* The test groups of test_dns (one program, several files). */
#ifndef TEST_DNS_H
#define TEST_DNS_H
#include <stddef.h>
extern const struct CMUnitTest dns_wire_tests[];
extern const size_t dns_wire_ntests;
#endif
