# mox_test(NAME <name> SOURCES <src>... [MODULES <module>...] [LIBS ...]
#          [LABELS ...] [TIMEOUT <s>] [ARGS ...] [NO_ALLOC_SWEEP])
#
# A cmocka test program registered with ctest. Every test gets a timeout
# (default 60 s). Tests run with MOX_TEST_DATA pointing at tests/data.
function(mox_test)
    cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;MODULES;LIBS;LABELS;ARGS" ${ARGN})
    if(NOT T_TIMEOUT)
        set(T_TIMEOUT 60)
    endif()
    add_executable(test_${T_NAME} ${T_SOURCES})
    target_compile_definitions(test_${T_NAME} PRIVATE _GNU_SOURCE)
    target_include_directories(test_${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
    foreach(m ${T_MODULES})
        target_link_libraries(test_${T_NAME} PRIVATE moxm_${m})
    endforeach()
    target_link_libraries(test_${T_NAME} PRIVATE mox_testsupport mox_dep::cmocka ${T_LIBS})
    add_test(NAME ${T_NAME} COMMAND test_${T_NAME} ${T_ARGS})
    set_tests_properties(${T_NAME} PROPERTIES
        TIMEOUT ${T_TIMEOUT}
        ENVIRONMENT "MOX_TEST_DATA=${PROJECT_SOURCE_DIR}/tests/data;MOX_BUILD_DIR=${PROJECT_BINARY_DIR}")
    if(T_LABELS)
        set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}")
    endif()
endfunction()

# mox_script_test(NAME <name> COMMAND <cmd>... [LABELS ...] [TIMEOUT s])
# A test driven by a script (interop with real peers).
function(mox_script_test)
    cmake_parse_arguments(T "" "NAME;TIMEOUT" "COMMAND;LABELS" ${ARGN})
    if(NOT T_TIMEOUT)
        set(T_TIMEOUT 120)
    endif()
    add_test(NAME ${T_NAME} COMMAND ${T_COMMAND})
    set(env "MOX_TEST_DATA=${PROJECT_SOURCE_DIR}/tests/data;MOX_BUILD_DIR=${PROJECT_BINARY_DIR};MOX_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
    if(TARGET mox_tool)
        list(APPEND env "MOX_TOOL=$<TARGET_FILE:mox_tool>")
    endif()
    set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT} ENVIRONMENT "${env}")
    if(T_LABELS)
        set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}")
    endif()
endfunction()
