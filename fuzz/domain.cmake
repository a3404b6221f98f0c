mox_fuzzer(NAME domain SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/domain.c MODULES text)
