#!/bin/sh
# Every dynamic symbol libmox defines must be mox_-prefixed, carry the
# MOX_0 version, and the SONAME must be libmox.so.<major>.
set -eu
lib=$1
syms=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//')
bad=$(echo "$syms" | grep -v '^mox_' | grep -v '^MOX_0$' || true)
if [ -n "$bad" ]; then
    echo "non-mox_ symbols exported:"; echo "$bad"; exit 1
fi
count=$(echo "$syms" | grep -c '^mox_')
[ "$count" -gt 10 ] || { echo "too few exported symbols ($count)"; exit 1; }
unversioned=$(objdump -T "$lib" | awk '$NF ~ /^mox_/ && $(NF-1) != "MOX_0" {print $NF}')
[ -z "$unversioned" ] || { echo "symbols without MOX_0 version: $unversioned"; exit 1; }
objdump -p "$lib" | grep -q 'SONAME *libmox\.so\.0$' || { echo "bad SONAME"; objdump -p "$lib" | grep SONAME; exit 1; }
echo "$syms" | grep -qx 'mox_version' || { echo "mox_version missing"; exit 1; }
echo "ok: $count exported mox_ symbols, all MOX_0"

# Every function a public header declares must exist in the library
# (a declared-but-missing symbol is a link error for embedders).
if [ -n "${2:-}" ]; then
    declared=$(cat "$2"/mox/*.h | tr '\n' ' ' | grep -o 'MOX_API[^;(]*(' | grep -o 'mox_[a-z0-9_]*($' | tr -d '(' | sort -u)
    # one comm over sorted lists, not a grep per symbol (hundreds of forks
    # time out on a loaded machine)
    missing=$(echo "$declared" | comm -23 - "$(printf '%s\n' "$syms" | sort -u > "${TMPDIR:-/tmp}/moxsyms.$$"; echo "${TMPDIR:-/tmp}/moxsyms.$$")" | tr '\n' ' ')
    rm -f "${TMPDIR:-/tmp}/moxsyms.$$"
    [ -z "$missing" ] || { echo "declared in headers but not exported: $missing"; exit 1; }
    echo "ok: all $(echo "$declared" | wc -w) declared functions exported"
fi
