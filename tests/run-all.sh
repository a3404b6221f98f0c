#!/bin/sh
# The README's test command: installs what is needed (Debian 12, as root),
# builds libmox and runs the whole test suite.
#   tests/run-all.sh              normal build in build/
#   tests/run-all.sh --sanitize   ASan+UBSan build in build-asan/ (slow tests skipped)
set -eu
cd "$(dirname "$0")/.."

mode=normal
[ "${1:-}" = "--sanitize" ] && mode=sanitize

./cmake/setup-debian.sh

jobs=$(nproc 2>/dev/null || echo 2)
if [ "$mode" = sanitize ]; then
    dir=build-asan
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DMOX_SANITIZE=ON -DMOX_BUILD_BENCH=OFF
    cmake --build "$dir" -j"$jobs"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir "$dir" --output-on-failure -j"$jobs" -LE 'slow|nosanitize'
else
    dir=build
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo
    cmake --build "$dir" -j"$jobs"
    ctest --test-dir "$dir" --output-on-failure -j"$jobs"
fi
