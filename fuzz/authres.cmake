mox_fuzzer(NAME authres SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/authres.c MODULES message)
