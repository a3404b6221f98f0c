mox_fuzzer(NAME smtp_server
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/smtp_server.c
            ${PROJECT_SOURCE_DIR}/tests/smtp_server/harness.c
    MODULES smtp_server)
