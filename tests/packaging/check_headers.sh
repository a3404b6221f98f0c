#!/bin/sh
# Each public header must compile on its own as C11 and as C++ (C++11 and
# C++17), warning-free.
set -eu
inc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for h in "$inc"/mox/*.h; do
    name=$(basename "$h")
    printf '#include <mox/%s>\nint main(void) { return 0; }\n' "$name" > "$tmp/t.c"
    cp "$tmp/t.c" "$tmp/t.cpp"
    cc -std=c11 -pedantic -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.c" -o "$tmp/t.o"
    c++ -std=c++11 -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.cpp" -o "$tmp/t.o"
    c++ -std=c++17 -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.cpp" -o "$tmp/t.o"
    n=$((n + 1))
done
echo "ok: $n headers compile as C11, C++11 and C++17"
