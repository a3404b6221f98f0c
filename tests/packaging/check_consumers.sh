#!/bin/sh
# Installs libmox into a scratch prefix and builds the two external
# consumers against it: a CMake project using find_package(mox) and a plain
# Makefile using pkg-config (shared and static).
set -eu
src=$1
build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

libdir=$(ls -d "$prefix"/lib*/ | head -1)
libdir=${libdir%/}
# The installed tree must hold what we promise.
for f in include/mox/mox.h include/mox/core.h; do
    [ -f "$prefix/$f" ] || { echo "missing $f"; exit 1; }
done
ls "$libdir"/libmox.so.0 "$libdir"/libmox.a "$libdir"/pkgconfig/mox.pc "$libdir"/cmake/mox/moxConfig.cmake >/dev/null

cmake -S "$src/examples/consumer-cmake" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/cm" >/dev/null
LD_LIBRARY_PATH=$libdir "$tmp/cm/consumer" | grep -q '^libmox ' || { echo "cmake consumer failed"; exit 1; }
LD_LIBRARY_PATH=$libdir "$tmp/cm/consumer_static" | grep -q '^libmox ' || { echo "cmake static consumer failed"; exit 1; }

export PKG_CONFIG_PATH=$libdir/pkgconfig
make -s -C "$src/examples/consumer-make" OUT="$tmp/mk" >/dev/null
LD_LIBRARY_PATH=$libdir "$tmp/mk/consumer" | grep -q '^libmox ' || { echo "make consumer failed"; exit 1; }
"$tmp/mk/consumer_static" | grep -q '^libmox ' || { echo "make static consumer failed"; exit 1; }
echo "ok: CMake and pkg-config consumers build and run (shared and static)"
