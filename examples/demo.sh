#!/bin/sh
# The README's main command: installs dependencies (Debian 12, as root),
# builds libmox and the mox tool, and runs the tool on the bundled examples.
set -eu
cd "$(dirname "$0")/.."
./cmake/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target mox_tool
mox=build/examples/mox/mox
data=examples/data

run() {
    echo "\$ mox $*"
    "$mox" "$@" || echo "(exit $?)"
    echo
}

run version
if [ -f "$data/example.zone" ] && "$mox" dns --help >/dev/null 2>&1; then
    run dns lookup --dns-zone "$data/example.zone" MX example.org
    run dns lookup --dns-zone "$data/example.zone" --json TXT example.org
    run dns lookup --dns-zone "$data/example.zone" A nonexistent.example.org
fi
if "$mox" spf --help >/dev/null 2>&1; then
    run spf check --dns-zone "$data/example.zone" 192.0.2.10 alice@example.org
    run spf check --dns-zone "$data/example.zone" --json 198.51.100.7 alice@example.org
fi
if "$mox" dkim --help >/dev/null 2>&1 && [ -f "$data/signed.eml" ]; then
    run dkim verify --dns-zone "$data/example.zone" "$data/signed.eml"
fi
