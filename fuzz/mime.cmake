mox_fuzzer(NAME mime SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/mime.c MODULES message)
