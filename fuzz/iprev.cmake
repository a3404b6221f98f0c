mox_fuzzer(NAME iprev SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/iprev.c MODULES iprev dns engine message)
