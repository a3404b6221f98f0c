mox_fuzzer(NAME msgauth SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/msgauth.c MODULES msgauth dns engine message)
