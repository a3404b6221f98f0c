#!/bin/sh
# Every ```c block in docs/*.md and README.md that is a whole translation
# unit (it has an #include) compiles against the public headers (C11,
# -Wall -Wextra -Werror); blocks with a main() also link against the built
# shared library. Blocks without #include are fragments of a signature or
# a call sequence and are not compiled.
#   check_docs.sh SOURCE_DIR LIBMOX [LIBS...]   (LIBS: what a static libmox needs)
set -eu
src=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0
for md in "$src"/docs/*.md "$src"/README.md; do
    /usr/bin/python3 - "$md" "$tmp" <<'PY'
import re, sys, os
md, tmp = sys.argv[1], sys.argv[2]
text = open(md, encoding="utf-8").read()
base = os.path.basename(md).replace(".", "_")
for i, m in enumerate(re.finditer(r"^```c\n(.*?)^```", text, re.S | re.M)):
    if "#include" not in m.group(1):
        continue
    with open(os.path.join(tmp, "%s_%d.c" % (base, i)), "w") as f:
        f.write(m.group(1))
PY
done
for c in "$tmp"/*.c; do
    [ -e "$c" ] || continue
    n=$((n + 1))
    if grep -q 'int main' "$c"; then
        if ! cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$src/include" "$c" \
            -o "${c%.c}" "$@"; then
            echo "FAIL: $(basename "$c")"; fail=1
        fi
    elif ! cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$src/include" -c "$c" -o "${c%.c}.o"; then
        echo "FAIL: $(basename "$c")"; fail=1
    fi
done
echo "$n doc samples checked"
exit $fail
