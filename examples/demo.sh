#!/bin/sh
# The README's main command: installs dependencies (Debian 12, as root),
# builds libmox, the mox tool and moxd, runs the tool on the bundled
# examples, then runs `moxd localserve` in the foreground: a mail server on
# 127.0.0.1 (SMTP 1025, submission 1587, submissions 1465) with the account
# mox@localhost / moxmoxmox, delivering every message to
# ./moxd-localserve/Maildir. Stop it with Ctrl-C.
set -eu
cd "$(dirname "$0")/.."
./cmake/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target mox_tool moxd
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

echo "\$ moxd localserve"
echo "(try: swaks --server 127.0.0.1:1587 -tls --auth-user mox@localhost --auth-password moxmoxmox --to you@example.org)"
exec build/examples/moxd/moxd localserve "$@"
