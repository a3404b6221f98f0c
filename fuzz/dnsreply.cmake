mox_fuzzer(NAME dnsreply SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/dnsreply.c MODULES dns)
