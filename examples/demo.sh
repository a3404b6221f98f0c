#!/bin/sh
# The README's main command: installs dependencies (Debian 12, as root),
# builds libmox, the mox tool and the moxd daemon, shows a few mox commands
# on the bundled example zone, then runs `moxd localserve` in the foreground
# (arguments are passed on, e.g. --dir DIR or --smtp-port 0).
set -eu
cd "$(dirname "$0")/.."
./cmake/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target mox_tool moxd
mox=build/examples/mox/mox
zone=examples/data/example.zone

run() {
    echo "\$ mox $*"
    "$mox" "$@" || echo "(exit $?)"
    echo
}

run version
run dns lookup --dns-zone "$zone" MX example.org
run spf check --dns-zone "$zone" 192.0.2.10 alice@example.org
run spf check --dns-zone "$zone" --json 198.51.100.7 alice@example.org
run dmarc lookup --dns-zone "$zone" example.org

echo "\$ moxd localserve $*"
echo "(then, in another shell: swaks --server 127.0.0.1:1587 -tls --auth-user mox@localhost --auth-password moxmoxmox --from mox@localhost --to you@example.org)"
exec build/examples/moxd/moxd localserve "$@"
