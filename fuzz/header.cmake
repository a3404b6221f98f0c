mox_fuzzer(NAME header SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/header.c MODULES message)
