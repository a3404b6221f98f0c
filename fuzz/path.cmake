mox_fuzzer(NAME path SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/path.c MODULES address)
