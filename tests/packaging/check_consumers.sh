#!/bin/sh
# Installs a libmox build into a scratch prefix, copies the prefix elsewhere
# and deletes the original (so nothing may point back at it or at the build
# tree), then, from the copy and without LD_LIBRARY_PATH:
#   - checks the installed files match the build's kind (shared, static,
#     both: MOX_BUILD_SHARED / MOX_BUILD_STATIC in its CMakeCache.txt);
#   - builds and runs examples/consumer-cmake (find_package(mox CONFIG):
#     mox::mox, mox::mox_shared, mox::mox_static, COMPONENTS) and
#     examples/consumer-make (pkg-config mox, and mox-static / --static),
#     checking each binary links libmox.so or the archive as it should;
#   - runs the installed mox and moxd (RUNPATH $ORIGIN/../lib): version,
#     --help on stdout with exit 0, a usage error on stderr with exit 2.
#   check_consumers.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1
build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset LD_LIBRARY_PATH PKG_CONFIG_PATH || true

cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
fail() { echo "FAIL: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { /usr/bin/python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }
needs_libmox() { readelf -d "$1" | grep -q 'NEEDED.*\[libmox\.so'; }

shared=$(cache MOX_BUILD_SHARED)
static=$(cache MOX_BUILD_STATIC)
libdir_rel=$(cache CMAKE_INSTALL_LIBDIR)
bindir_rel=$(cache CMAKE_INSTALL_BINDIR)
examples=$(cache MOX_BUILD_EXAMPLES)
[ -n "$shared" ] && [ -n "$static" ] || fail "$build/CMakeCache.txt has no MOX_BUILD_SHARED/MOX_BUILD_STATIC"
is_on() { case $1 in ON|on|1|TRUE|true|YES|yes) return 0 ;; *) return 1 ;; esac; }
kind=""
is_on "$shared" && kind="shared"
is_on "$static" && kind="$kind${kind:+ and }static"
soversion=$(sed -n 's/^set(MOX_SOVERSION \([0-9]*\))/\1/p' "$src/CMakeLists.txt")

cmake --install "$build" --prefix "$tmp/first" >/dev/null
mkdir -p "$tmp/elsewhere"
cp -a "$tmp/first" "$tmp/elsewhere/prefix"
rm -rf "$tmp/first"
prefix=$tmp/elsewhere/prefix
libdir=$prefix/$libdir_rel
bindir=$prefix/$bindir_rel

# ---------------------------------------------------------------- files
for f in include/mox/mox.h include/mox/core.h "$libdir_rel/pkgconfig/mox.pc" \
         "$libdir_rel/cmake/mox/moxConfig.cmake" "$libdir_rel/cmake/mox/moxConfigVersion.cmake"; do
    [ -f "$prefix/$f" ] || fail "missing $f"
done
present() { [ -e "$libdir/$1" ] || fail "$kind install lacks $libdir_rel/$1"; }
absent() { [ ! -e "$libdir/$1" ] || fail "$kind install has $libdir_rel/$1"; }
if is_on "$shared"; then
    present "libmox.so.$soversion"; present libmox.so; present cmake/mox/mox-shared-targets.cmake
else
    absent libmox.so; absent "libmox.so.$soversion"; absent cmake/mox/mox-shared-targets.cmake
fi
if is_on "$static"; then
    present libmox.a; present cmake/mox/mox-static-targets.cmake; present pkgconfig/mox-static.pc
else
    absent libmox.a; absent cmake/mox/mox-static-targets.cmake; absent pkgconfig/mox-static.pc
fi
grep -q "$tmp/first\|$build" "$libdir/pkgconfig/mox.pc" "$libdir"/cmake/mox/*.cmake &&
    fail "installed package files name the install or build directory"

check_run() { # BINARY SHARED|STATIC
    out=$("$1") || fail "$1 exited $?"
    echo "$out" | grep -q '^libmox ' || fail "$1 printed: $out"
    if [ "$2" = shared ]; then
        needs_libmox "$1" || fail "$1 should link libmox.so"
    else
        needs_libmox "$1" && fail "$1 should link the archive, not libmox.so"
    fi
    return 0
}

# ---------------------------------------------------------------- CMake
t0=$(now)
comps=""
is_on "$shared" && comps="shared"
is_on "$static" && comps="$comps${comps:+;}static"
cmake -S "$src/examples/consumer-cmake" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$prefix" \
    "-DMOX_COMPONENTS=$comps" >"$tmp/cm.log" 2>&1 || { cat "$tmp/cm.log"; fail "consumer-cmake configure"; }
cmake --build "$tmp/cm" >"$tmp/cmb.log" 2>&1 || { cat "$tmp/cmb.log"; fail "consumer-cmake build"; }
t_cmake=$(elapsed "$t0")
if is_on "$shared"; then
    check_run "$tmp/cm/consumer" shared
    check_run "$tmp/cm/consumer_shared" shared
else
    check_run "$tmp/cm/consumer" static
    [ ! -e "$tmp/cm/consumer_shared" ] || fail "mox::mox_shared defined by a static-only install"
fi
if is_on "$static"; then
    check_run "$tmp/cm/consumer_static" static
else
    [ ! -e "$tmp/cm/consumer_static" ] || fail "mox::mox_static defined by a shared-only install"
fi
# A component the install lacks must be a clear configure error.
missing=""
is_on "$shared" || missing=shared
is_on "$static" || missing=static
if [ -n "$missing" ]; then
    if cmake -S "$src/examples/consumer-cmake" -B "$tmp/cm2" -DCMAKE_PREFIX_PATH="$prefix" \
        "-DMOX_COMPONENTS=$missing" >"$tmp/cm2.log" 2>&1; then
        fail "find_package(mox COMPONENTS $missing) succeeded on a $kind install"
    fi
fi
# MOX_PREFER_STATIC makes mox::mox the archive when both are installed.
if is_on "$shared" && is_on "$static"; then
    cmake -S "$src/examples/consumer-cmake" -B "$tmp/cm3" -DCMAKE_PREFIX_PATH="$prefix" \
        -DMOX_PREFER_STATIC=ON >"$tmp/cm3.log" 2>&1 || { cat "$tmp/cm3.log"; fail "MOX_PREFER_STATIC configure"; }
    cmake --build "$tmp/cm3" --target consumer >"$tmp/cm3b.log" 2>&1 || { cat "$tmp/cm3b.log"; fail "MOX_PREFER_STATIC build"; }
    check_run "$tmp/cm3/consumer" static
fi

# ---------------------------------------------------------------- pkg-config
export PKG_CONFIG_PATH="$libdir/pkgconfig"
t0=$(now)
mk() { # TARGET [VAR=VALUE...]
    t=$1
    shift
    rm -f "$tmp/mk/$t"
    make -s -C "$src/examples/consumer-make" OUT="$tmp/mk" "$@" "$tmp/mk/$t" >"$tmp/mk.log" 2>&1 ||
        { cat "$tmp/mk.log"; fail "pkg-config consumer $t $*"; }
}
if is_on "$static"; then
    # mox-static.pc: the archive, dependencies shared. In a static-only
    # install mox.pc names the archive too.
    mk consumer_static
    check_run "$tmp/mk/consumer_static" static
    if ! is_on "$shared"; then
        mk consumer_static PC_STATIC=mox
        check_run "$tmp/mk/consumer_static" static
    fi
    # pkg-config --static --libs mox: everything a static link needs.
    mk consumer_fullstatic
    check_run "$tmp/mk/consumer_fullstatic" static
    readelf -d "$tmp/mk/consumer_fullstatic" | grep -q NEEDED && fail "consumer_fullstatic is not static"
fi
mk consumer
t_pc=$(elapsed "$t0")
if is_on "$shared"; then
    # pkg-config gives no RUNPATH: point at the copied prefix explicitly.
    export LD_LIBRARY_PATH="$libdir"
    check_run "$tmp/mk/consumer" shared
    unset LD_LIBRARY_PATH
else
    check_run "$tmp/mk/consumer" static
fi
unset PKG_CONFIG_PATH

# ---------------------------------------------------------------- programs
if is_on "$examples"; then
    for p in mox moxd; do
        [ -x "$bindir/$p" ] || fail "missing $bindir_rel/$p"
        if is_on "$shared"; then
            readelf -d "$bindir/$p" | grep -q 'RUNPATH.*\$ORIGIN' || fail "$p has no \$ORIGIN RUNPATH"
            # The loader must pick the copied prefix's libmox.
            got=$(ldd "$bindir/$p" | awk '/libmox\.so/ {print $3}')
            [ -n "$got" ] && [ "$(readlink -f "$got")" = "$(readlink -f "$libdir/libmox.so.$soversion")" ] || {
                ldd "$bindir/$p"; fail "$p does not load libmox from its own prefix"; }
        fi
    done
    out=$("$bindir/mox" version) || fail "installed mox version exited $?"
    echo "$out" | grep -q '^mox [0-9]' || fail "mox version printed: $out"
    "$bindir/mox" help | grep -q '^usage: mox' || fail "mox help"
    "$bindir/moxd" --help | grep -q '^usage: moxd' || fail "moxd --help"
    for a in --help "localserve --help" "serve --help" "config --help"; do
        # shellcheck disable=SC2086
        "$bindir/moxd" $a | grep -q '^usage: moxd' || fail "moxd $a"
    done
    set +e
    "$bindir/moxd" no-such-command >"$tmp/o" 2>"$tmp/e"
    rc=$?
    set -e
    [ $rc -eq 2 ] && [ ! -s "$tmp/o" ] && grep -q '^usage: moxd' "$tmp/e" ||
        fail "moxd no-such-command: exit $rc, usage must go to stderr"
    echo "ok: installed mox and moxd run from a copied prefix ($out)"
fi
echo "ok: $kind install: CMake consumers ${t_cmake}s, pkg-config consumers ${t_pc}s to build; all run"
