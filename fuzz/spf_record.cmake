mox_fuzzer(NAME spf_record SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/spf_record.c MODULES spf)
