# Finds libmox's dependencies as Debian 12 ships them. Each becomes an
# imported INTERFACE target mox_dep::<name>. Debian's mbedTLS has neither a
# .pc nor a CMake config, utf8proc's .pc reports a wrong version and cmocka's
# config has no imported target: plain find_path/find_library is the one
# method that works for all of them.

# mox_find_dep(<name> <header> LIBS <lib>... [PC <pkg-config module>]
#              [SUFFIXES <include subdirectory>...])
# PC names the dependency's pkg-config module: when this machine has it,
# mox.pc lists it in Requires.private instead of naming the libraries in
# Libs.private.
find_package(PkgConfig QUIET)
function(mox_find_dep name header)
    cmake_parse_arguments(D "" "PC" "LIBS;SUFFIXES" ${ARGN})
    string(TOUPPER "${name}" uname)
    find_path(MOX_${uname}_INCLUDE_DIR ${header} PATH_SUFFIXES ${D_SUFFIXES})
    if(NOT MOX_${uname}_INCLUDE_DIR)
        message(FATAL_ERROR "libmox: ${name}: header ${header} not found (run cmake/setup-debian.sh)")
    endif()
    set(libs)
    foreach(l ${D_LIBS})
        find_library(MOX_LIB_${l} NAMES ${l})
        if(NOT MOX_LIB_${l})
            message(FATAL_ERROR "libmox: ${name}: library ${l} not found (run cmake/setup-debian.sh)")
        endif()
        list(APPEND libs ${MOX_LIB_${l}})
    endforeach()
    add_library(mox_dep_${name} INTERFACE)
    add_library(mox_dep::${name} ALIAS mox_dep_${name})
    target_include_directories(mox_dep_${name} SYSTEM INTERFACE ${MOX_${uname}_INCLUDE_DIR})
    target_link_libraries(mox_dep_${name} INTERFACE ${libs})
    # Names for mox.pc / the static CMake package.
    set(MOX_DEP_LINKNAMES_${name} ${D_LIBS} PARENT_SCOPE)
    set(pc "")
    if(D_PC AND PKG_CONFIG_EXECUTABLE)
        execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --exists ${D_PC}
            RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
        if(rc EQUAL 0)
            set(pc ${D_PC})
        endif()
    endif()
    set(MOX_DEP_PC_${name} "${pc}" PARENT_SCOPE)
endfunction()

# Link order matters for static mbedTLS: mbedtls, mbedx509, mbedcrypto.
# mbedTLS 3 ships mbedtls.pc (which requires mbedx509 and mbedcrypto);
# Debian 12's 2.28 does not, and then the three libraries are named.
mox_find_dep(mbedtls mbedtls/ssl.h LIBS mbedtls mbedx509 mbedcrypto PC mbedtls)
mox_find_dep(sodium sodium.h LIBS sodium PC libsodium)
mox_find_dep(idn2 idn2.h LIBS idn2 PC libidn2)
mox_find_dep(utf8proc utf8proc.h LIBS utf8proc PC libutf8proc)
mox_find_dep(psl libpsl.h LIBS psl PC libpsl)
mox_find_dep(zlib zlib.h LIBS z PC zlib)
# The queue's stores: SQLite (embedded, one file) and libpq (a PostgreSQL
# queue shared by several processes). libpq is loaded at run time
# (dlopen libpq.so.5, lib/queue/store_pg.c): only its header is needed
# here (Debian puts libpq-fe.h in include/postgresql), and the tests that
# start a server link it themselves (mox_dep::pq_link).
mox_find_dep(sqlite3 sqlite3.h LIBS sqlite3 PC sqlite3)
mox_find_dep(pq libpq-fe.h SUFFIXES postgresql)
if(MOX_BUILD_TESTS)
    mox_find_dep(pq_link libpq-fe.h LIBS pq SUFFIXES postgresql)
endif()
mox_find_dep(resolv resolv.h LIBS resolv)

if(MOX_BUILD_TESTS)
    mox_find_dep(cmocka cmocka.h LIBS cmocka)
endif()
