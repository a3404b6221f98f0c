mox_fuzzer(NAME smtp_client SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/smtp_client.c MODULES smtp_client)
