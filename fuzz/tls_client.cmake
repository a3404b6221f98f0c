mox_fuzzer(NAME tls_client SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/tls_client.c MODULES tls)
