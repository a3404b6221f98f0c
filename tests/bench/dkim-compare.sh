#!/bin/bash
# dkim-compare.sh BUILD_DIR [REPS]: libmox DKIM against its peers in one run, on
# one RSA-2048 key and the 10 KB benchmark message: bench_dkim (libmox and
# the in-process crypto floor), libopendkim (dkim-peer-bench.c), dkimpy
# (dkim-peer-dkimpy.py) and crypto-floor.c (mbedTLS floor). Interleaved REPS
# times (default 3); prints medians and ratios. Peers' sources are taken
# from $MOX_BENCH_PEERS (default /work/shared/bench); needs libopendkim-dev,
# libmbedtls-dev, openssl and /usr/bin/python3 with python3-dkim.
set -eu
B=${1:?usage: dkim-compare.sh BUILD_DIR [REPS]}
REPS=${2:-3}
P=${MOX_BENCH_PEERS:-/work/shared/bench}
HERE=$(cd "$(dirname "$0")" && pwd)
MSG=$HERE/../data/dkim/bench/dkim-bench-message.eml
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
openssl genrsa -traditional -out "$W/key.pem" 2048 2>/dev/null
cc -O2 -o "$W/opendkim" "$P/dkim-peer-bench.c" -lopendkim -lcrypto
cc -O2 -o "$W/floor" "$P/crypto-floor.c" -lmbedcrypto
: > "$W/out"
for r in $(seq 1 "$REPS"); do
  MOX_BENCH_ROUNDS=1 MOX_BENCH_SECONDS=${MOX_BENCH_SECONDS:-2} "$B/tests/bench/bench_dkim" "$W/key.pem" "$MSG" \
    | sed -n 's/^summary: libmox sign \([0-9]*\)\/s, verify \([0-9]*\)\/s (rsa); sign \([0-9]*\)\/s, verify \([0-9]*\)\/s (ed25519)/libmox \1 \2 \3 \4/p' >> "$W/out"
  "$W/opendkim" "$W/key.pem" "${N_OPENDKIM:-2000}" "$MSG" | sed -n 's/.*sign \([0-9]*\)\/s, verify \([0-9]*\)\/s.*/opendkim \1 \2/p' >> "$W/out"
  /usr/bin/python3 "$P/dkim-peer-dkimpy.py" "$W/key.pem" "${N_DKIMPY:-200}" "$MSG" | sed -n 's/.*sign \([0-9]*\)\/s, verify \([0-9]*\)\/s.*/dkimpy \1 \2/p' >> "$W/out"
  "$W/floor" "$W/key.pem" "${N_FLOOR:-2000}" "$MSG" | sed -n 's/.*sign+sha256 \([0-9]*\)\/s, verify+sha256 \([0-9]*\)\/s.*/floor \1 \2/p' >> "$W/out"
done
/usr/bin/python3 - "$W/out" <<'PY'
import sys, statistics as st
v = {}
for line in open(sys.argv[1]):
    f = line.split()
    v.setdefault(f[0], []).append([float(x) for x in f[1:]])
med = {k: [st.median(c) for c in zip(*rows)] for k, rows in v.items()}
m, o, d, fl = med["libmox"], med["opendkim"], med["dkimpy"], med["floor"]
print("medians of %d runs (rsa-sha256 2048-bit relaxed/relaxed, 10,240-byte message):" % len(v["libmox"]))
print("  %-28s sign %7.0f/s  verify %7.0f/s" % ("libmox", m[0], m[1]))
print("  %-28s sign %7.0f/s  verify %7.0f/s" % ("libmox ed25519-sha256", m[2], m[3]))
print("  %-28s sign %7.0f/s  verify %7.0f/s" % ("libopendkim (OpenSSL)", o[0], o[1]))
print("  %-28s sign %7.0f/s  verify %7.0f/s" % ("dkimpy", d[0], d[1]))
print("  %-28s sign %7.0f/s  verify %7.0f/s" % ("mbedTLS floor (crypto-floor)", fl[0], fl[1]))
print("ratios (libmox / other):")
print("  vs mbedTLS floor: sign %.2f  verify %.2f" % (m[0] / fl[0], m[1] / fl[1]))
print("  vs libopendkim:   sign %.2f  verify %.2f" % (m[0] / o[0], m[1] / o[1]))
print("  vs dkimpy:        sign %.2f  verify %.2f" % (m[0] / d[0], m[1] / d[1]))
PY
