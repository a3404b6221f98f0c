mox_fuzzer(NAME dmarc_eval SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/dmarc_eval.c MODULES dmarc dns engine message)
