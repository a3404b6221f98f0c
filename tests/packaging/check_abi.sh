#!/bin/sh
# ABI check with libabigail (Debian: abigail-tools).
#   check_abi.sh LIB INCLUDE_DIR BASELINE_DIR
#       dumps the ABI of LIB (abidw, public headers only) and compares it
#       with BASELINE_DIR/<SONAME>.abi (abidiff). Fails on an incompatible
#       change; compatible additions pass with a note. Without a baseline
#       for LIB's SONAME it exits 77 (ctest: Skipped) after checking that
#       the dump works.
#   check_abi.sh --dump LIB INCLUDE_DIR OUT_DIR
#       writes OUT_DIR/<SONAME>.abi, the file a release commits as the
#       baseline (docs/building.md, "ABI").
# LIB needs DWARF (-g: RelWithDebInfo or Debug).
set -eu
dump=0
if [ "${1:-}" = "--dump" ]; then
    dump=1
    shift
fi
lib=$1
inc=$2
dir=$3

for t in abidw abidiff; do
    command -v $t >/dev/null 2>&1 || {
        echo "check_abi: $t not found (apt-get install abigail-tools; cmake/setup-debian.sh does)"
        exit 1
    }
done
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
[ -n "$soname" ] || { echo "check_abi: $lib has no SONAME"; exit 1; }
if ! objdump -h "$lib" | grep -q '\.debug_info'; then
    echo "check_abi: $lib has no debug information (build with -g: RelWithDebInfo or Debug)"
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Only what the public headers declare; no source locations or paths, so
# the dump changes when the interface does and not when code moves. The
# DT_NEEDED list is left out: a dependency's SONAME is not libmox's ABI.
abidw --headers-dir "$inc/mox" --drop-private-types --no-show-locs \
    --no-corpus-path --no-comp-dir-path --no-elf-needed \
    --out-file "$tmp/current.abi" "$lib"
nfun=$(grep -c '<elf-symbol .*type=.func-type' "$tmp/current.abi" || true)
nvar=$(grep -c '<elf-symbol .*type=.object-type' "$tmp/current.abi" || true)

if [ $dump -eq 1 ]; then
    cp "$tmp/current.abi" "$dir/$soname.abi"
    echo "wrote $dir/$soname.abi ($nfun functions, $nvar variables)"
    exit 0
fi

base=$dir/$soname.abi
if [ ! -f "$base" ]; then
    # The machinery still has to work: the dump must read back equal.
    abidiff "$tmp/current.abi" "$tmp/current.abi" >/dev/null
    echo "SKIPPED: no ABI baseline for $soname ($base); the ABI is not frozen yet."
    echo "$soname exports $nfun functions and $nvar variables."
    echo "A release that freezes it runs 'cmake --build build --target abi-dump' (docs/building.md)."
    exit 77
fi

# A release may accept reviewed changes (a sized config struct growing at
# its end) with libabigail suppressions in BASELINE_DIR/suppressions.abignore.
supp=""
[ -f "$dir/suppressions.abignore" ] && supp="--suppressions $dir/suppressions.abignore"
set +e
# shellcheck disable=SC2086
abidiff $supp "$base" "$tmp/current.abi" >"$tmp/diff" 2>&1
rc=$?
# shellcheck disable=SC2086
abidiff $supp --no-added-syms "$base" "$tmp/current.abi" >/dev/null 2>&1
rc_noadd=$?
set -e
# abidiff's exit status is a bit field: 1 error, 2 usage, 4 ABI change,
# 8 incompatible change (a removed symbol). A changed type (a struct that
# grew, a parameter that changed) is only "4", so anything but added
# symbols counts as a break here.
if [ $((rc & 3)) -ne 0 ]; then
    cat "$tmp/diff"
    echo "FAIL: abidiff could not compare (status $rc)"
    exit 1
fi
if [ $((rc & 8)) -ne 0 ] || [ $rc_noadd -ne 0 ]; then
    cat "$tmp/diff"
    echo "FAIL: ABI break against $base: restore compatibility or cut a new SONAME (docs/building.md)"
    exit 1
fi
if [ $rc -ne 0 ]; then
    cat "$tmp/diff"
    echo "ok: compatible with $base: only added symbols (they belong in a new version node; the release refreshes the baseline)"
    exit 0
fi
echo "ok: ABI of $soname identical to $base ($nfun functions, $nvar variables)"
