#!/bin/sh
# mox password derive / verify: output form, line-ending handling, refusals
# and exit codes (0 result printed, 1 runtime error, 2 usage).
set -u
M=${MOX_TOOL:?MOX_TOOL not set}
fail=0
check() { # name expected actual
    if [ "$2" != "$3" ]; then echo "FAIL $1: got '$3', want '$2'"; fail=1; else echo "ok   $1"; fi
}
S=$(printf 'pencil\n' | "$M" password derive); check "derive exit" 0 $?
case "$S" in
mox-sasl-v1\ scram-sha-256=4096:*\ scram-sha-1=4096:*\ cram-md5=*) check "derive form" ok ok ;;
*) check "derive form" ok "$S" ;;
esac
check "verify LF-stripped" match "$(printf 'pencil' | "$M" password verify "$S")"
check "verify CRLF" match "$(printf 'pencil\r\n' | "$M" password verify "$S")"
check "verify wrong" mismatch "$(printf 'pencil2\n' | "$M" password verify "$S")"
check "verify two LF" mismatch "$(printf 'pencil\n\n' | "$M" password verify "$S")"
check "verify json" '{"match":true}' "$(printf 'pencil\n' | "$M" password verify --json "$S")"
# NFD input derives secrets that the NFC form matches.
S2=$(printf 'cafe\314\201\n' | "$M" password derive --iterations 4096)
check "NFD/NFC" match "$(printf 'caf\303\251' | "$M" password verify "$S2")"
printf '\n' | "$M" password derive >/dev/null 2>&1; check "empty password" 1 $?
printf '' | "$M" password derive >/dev/null 2>&1; check "no password" 1 $?
printf 'a\007b\n' | "$M" password derive >/dev/null 2>&1; check "control char" 1 $?
"$M" password derive --frobnicate </dev/null >/dev/null 2>&1; check "bad option" 2 $?
"$M" password verify </dev/null >/dev/null 2>&1; check "verify without secrets" 2 $?
printf 'x\n' | "$M" password verify "mox-sasl-v9 x=y" >/dev/null 2>&1; check "bad secrets" 1 $?
J=$(printf 'pw\n' | "$M" password derive --json --iterations 5000)
case "$J" in
'{"secrets":"mox-sasl-v1 scram-sha-256=5000:'*'","iterations":5000}') check "derive json" ok ok ;;
*) check "derive json" ok "$J" ;;
esac
exit $fail
