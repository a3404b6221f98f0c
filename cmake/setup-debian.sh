#!/bin/sh
# Installs everything libmox needs to build, test and fuzz on Debian 12.
# Idempotent: safe to run again. Needs root (apt-get).
set -eu

export DEBIAN_FRONTEND=noninteractive

# Build dependencies.
PKGS="build-essential cmake pkg-config clang libclang-rt-dev
libmbedtls-dev libsodium-dev libidn2-dev libutf8proc-dev libpsl-dev
zlib1g-dev libsqlite3-dev libpq-dev libcmocka-dev"

# Packaging checks: libabigail (abidw, abidiff) for the ABI baseline, and
# libunistring-dev, which libidn2.pc names for a static link.
PKGS="$PKGS abigail-tools libunistring-dev"

# Test peers and helpers (127.0.0.1 only). Recommends are kept: swaks needs
# them for TLS.
PKGS="$PKGS python3 python3-dnslib python3-dkim python3-spf python3-aiosmtpd
python3-yaml python3-dnspython swaks gsasl msmtp nsd openssl strace libmail-dkim-perl
libjansson-dev libyaml-dev postfix postgresql"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done

if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup-debian.sh: need root to install:$missing" >&2
        exit 1
    fi
    # postfix is installed only for smtp-source/smtp-sink: no configuration,
    # and its daemon is stopped below.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q $missing
fi

# nsd starts a daemon on install; tests run their own instances.
if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now nsd >/dev/null 2>&1 || true
fi
pkill -x nsd >/dev/null 2>&1 || true
if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now postfix >/dev/null 2>&1 || true
fi
postfix stop >/dev/null 2>&1 || true
# postgresql is installed for its server binaries (initdb, pg_ctl): the
# queue tests start their own server in a temporary directory.
if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now postgresql >/dev/null 2>&1 || true
fi
if command -v pg_ctlcluster >/dev/null 2>&1; then
    for v in /etc/postgresql/*/main; do
        [ -d "$v" ] || continue
        ver=$(basename "$(dirname "$v")")
        pg_ctlcluster "$ver" main stop >/dev/null 2>&1 || true
    done
fi
exit 0
