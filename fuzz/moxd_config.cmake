# moxd's configuration validation: the harness compiles examples/moxd/config.c
# itself and links libyaml, found as examples/moxd/CMakeLists.txt does.
find_package(PkgConfig)
if(PkgConfig_FOUND)
    pkg_check_modules(FUZZ_MOXD_YAML IMPORTED_TARGET yaml-0.1)
endif()
if(FUZZ_MOXD_YAML_FOUND)
    mox_fuzzer(NAME moxd_config
        SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/moxd_config.c ${PROJECT_SOURCE_DIR}/examples/moxd/config.c
        MODULES core address dns dkim sasl tls)
    target_include_directories(fuzz_moxd_config PRIVATE ${PROJECT_SOURCE_DIR}/examples/moxd)
    target_compile_definitions(fuzz_moxd_config PRIVATE _GNU_SOURCE)
    target_link_libraries(fuzz_moxd_config PRIVATE PkgConfig::FUZZ_MOXD_YAML)
endif()
