mox_fuzzer(NAME smtp_reply SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/smtp_reply.c MODULES smtp)
