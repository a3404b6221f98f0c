mox_fuzzer(NAME tls_server SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/tls_server.c MODULES tls)
# Regenerates the seeds of tls_server and tls_client (see tls_seedgen.c).
add_executable(tls_seedgen EXCLUDE_FROM_ALL ${CMAKE_CURRENT_SOURCE_DIR}/tls_seedgen.c)
target_link_libraries(tls_seedgen PRIVATE moxm_tls)
