mox_fuzzer(NAME engine_answer SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/engine_answer.c MODULES engine)
