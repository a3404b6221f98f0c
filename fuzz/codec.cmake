mox_fuzzer(NAME codec SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/codec.c MODULES core)
