# mox_module(NAME <name> [DEPS <module>...] [LIBS <target>...])
#
# Declares library module lib/<name>/: its *.c become an object library
# (compiled once, hidden visibility, PIC) that the shared and static libmox
# are made of, plus an internal static library moxm_<name> that links its
# module dependencies, so a unit test links just the modules it exercises.
function(mox_module)
    cmake_parse_arguments(M "" "NAME" "DEPS;LIBS" ${ARGN})
    file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.c)
    add_library(moxo_${M_NAME} OBJECT ${srcs})
    target_include_directories(moxo_${M_NAME}
        PUBLIC ${PROJECT_SOURCE_DIR}/include
        PRIVATE ${PROJECT_SOURCE_DIR}/lib)
    target_compile_definitions(moxo_${M_NAME} PRIVATE MOX_BUILDING _GNU_SOURCE)
    set_target_properties(moxo_${M_NAME} PROPERTIES
        POSITION_INDEPENDENT_CODE ON
        C_VISIBILITY_PRESET hidden)
    foreach(l ${M_LIBS})
        target_link_libraries(moxo_${M_NAME} PUBLIC ${l})
    endforeach()
    foreach(d ${M_DEPS})
        # usage requirements (include dirs of third-party deps)
        target_link_libraries(moxo_${M_NAME} PUBLIC moxo_${d})
    endforeach()

    add_library(moxm_${M_NAME} STATIC $<TARGET_OBJECTS:moxo_${M_NAME}>)
    target_include_directories(moxm_${M_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/lib)
    target_link_libraries(moxm_${M_NAME} PUBLIC ${M_LIBS})
    foreach(d ${M_DEPS})
        target_link_libraries(moxm_${M_NAME} PUBLIC moxm_${d})
    endforeach()

    set_property(GLOBAL APPEND PROPERTY MOX_MODULES ${M_NAME})
    set_property(GLOBAL APPEND PROPERTY MOX_MODULE_LIBS ${M_LIBS})
endfunction()
