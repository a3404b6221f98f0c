mox_fuzzer(NAME dsn_parse SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/dsn_parse.c MODULES dsn)
