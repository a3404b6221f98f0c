mox_fuzzer(NAME dmarc_record SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/dmarc_record.c MODULES dmarc)
