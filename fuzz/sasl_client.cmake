mox_fuzzer(NAME sasl_client SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/sasl_client.c MODULES sasl)
