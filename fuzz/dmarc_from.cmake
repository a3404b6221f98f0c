mox_fuzzer(NAME dmarc_from SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/dmarc_from.c MODULES dmarc)
