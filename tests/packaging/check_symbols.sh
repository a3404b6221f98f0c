#!/bin/sh
# Every dynamic symbol libmox defines must be mox_-prefixed, carry the
# MOX_<major> version, and the SONAME must be libmox.so.<major>.
#   check_symbols.sh LIB [INCLUDE_DIR [MAJOR]]    (MAJOR: MOX_SOVERSION, default 0)
set -eu
lib=$1
major=${3:-0}
node=MOX_$major
syms=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//')
bad=$(echo "$syms" | grep -v '^mox_' | grep -Ev "^$node([.][0-9]+)*\$" || true)
if [ -n "$bad" ]; then
    echo "non-mox_ symbols exported:"; echo "$bad"; exit 1
fi
count=$(echo "$syms" | grep -c '^mox_')
[ "$count" -gt 10 ] || { echo "too few exported symbols ($count)"; exit 1; }
# (A later compatible release adds nodes inheriting MOX_<major>: MOX_<major>.N.)
unversioned=$(objdump -T "$lib" | awk -v n="$node" '$NF ~ /^mox_/ && $(NF-1) != n && index($(NF-1), n ".") != 1 {print $NF}')
[ -z "$unversioned" ] || { echo "symbols without $node version: $unversioned"; exit 1; }
objdump -p "$lib" | grep -q "SONAME *libmox\.so\.$major\$" || { echo "bad SONAME (want libmox.so.$major)"; objdump -p "$lib" | grep SONAME; exit 1; }
echo "$syms" | grep -qx 'mox_version' || { echo "mox_version missing"; exit 1; }
echo "ok: $count exported mox_ symbols, all $node, SONAME libmox.so.$major"

# Every function a public header declares must exist in the library
# (a declared-but-missing symbol is a link error for embedders).
if [ -n "${2:-}" ]; then
    declared=$(cat "$2"/mox/*.h | tr '\n' ' ' | grep -o 'MOX_API[^;(]*(' | grep -o 'mox_[a-z0-9_]*($' | tr -d '(' | sort -u)
    tmp=$(mktemp)
    trap 'rm -f "$tmp"' EXIT
    echo "$syms" >"$tmp"
    missing=$(echo "$declared" | grep -Fxv -f "$tmp" | tr '\n' ' ' || true)
    [ -z "$missing" ] || { echo "declared in headers but not exported: $missing"; exit 1; }
    echo "ok: all $(echo "$declared" | wc -w) declared functions exported"
fi
