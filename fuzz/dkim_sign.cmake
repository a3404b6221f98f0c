mox_fuzzer(NAME dkim_sign SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/dkim_sign.c MODULES dkim)
