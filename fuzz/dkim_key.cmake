mox_fuzzer(NAME dkim_key SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/dkim_key.c MODULES dkim)
