mox_fuzzer(NAME dkim_sig SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/dkim_sig.c MODULES dkim)
