mox_fuzzer(NAME dkim_verify SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/dkim_verify.c MODULES dkim)
