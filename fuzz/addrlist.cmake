mox_fuzzer(NAME addrlist SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/addrlist.c MODULES address)
