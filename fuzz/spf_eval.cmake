mox_fuzzer(NAME spf_eval SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/spf_eval.c MODULES spf dns engine)
