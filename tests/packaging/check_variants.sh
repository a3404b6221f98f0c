#!/bin/sh
# Builds libmox shared-only and static-only (library and programs; no tests,
# benchmarks or fuzzers) and runs check_consumers.sh on each: the main build
# covers the default, both.
#   check_variants.sh SOURCE_DIR WORK_DIR
set -eu
src=$1
work=$2
jobs=${MOX_JOBS:-2}
mkdir -p "$work"
for v in shared static; do
    case $v in
        shared) opts="-DMOX_BUILD_SHARED=ON -DMOX_BUILD_STATIC=OFF" ;;
        static) opts="-DBUILD_SHARED_LIBS=OFF" ;; # the CMake-conventional spelling
    esac
    b=$work/$v
    # shellcheck disable=SC2086
    cmake -S "$src" -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo $opts \
        -DMOX_BUILD_TESTS=OFF -DMOX_BUILD_BENCH=OFF >"$work/$v.log" 2>&1 ||
        { cat "$work/$v.log"; echo "FAIL: configure $v"; exit 1; }
    cmake --build "$b" -j"$jobs" --target mox_tool moxd >>"$work/$v.log" 2>&1 ||
        { tail -50 "$work/$v.log"; echo "FAIL: build $v"; exit 1; }
    sh "$src/tests/packaging/check_consumers.sh" "$src" "$b"
done
