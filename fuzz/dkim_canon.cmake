mox_fuzzer(NAME dkim_canon SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/dkim_canon.c MODULES dkim)
