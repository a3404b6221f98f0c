mox_fuzzer(NAME sasl_server SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/sasl_server.c MODULES sasl)
