#!/bin/sh
# mox message: exit codes, text output and JSON parsed by a real parser.
set -eu
T="$MOX_TOOL"
D="$MOX_TEST_DATA/message"
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$T" message mime "$D/outlook.eml")
echo "$out" | head -1 | grep -qx '; parts=6 needs_smtputf8=no' || fail "mime text: $out"
"$T" message mime --json "$D/outlook.eml" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["needs_smtputf8"] is False
p = d["parts"]
assert [x["media_type"] for x in p] == ["multipart/mixed", "multipart/related",
    "multipart/alternative", "text/plain", "text/html", "application/gzip"], p
assert p[0]["parent"] is None and p[5]["parent"] == 0 and p[4]["depth"] == 3
assert p[3]["flags"] == ["default_ctype"] and p[4]["encoding"] == "base64"
' || fail "mime json"

"$T" message headers --json "$D/dkim-rfc8463.eml" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert len(d["fields"]) == 7 and d["end"] == "empty_line" and d["body_offset"] == 1012
assert d["fields"][0]["name"] == "DKIM-Signature" and d["fields"][0]["folded"] is True
assert d["fields"][4]["value"] == "Is dinner ready?", d["fields"][4]
' || fail "headers json"
# --strict refuses the bare LF line endings of this file: runtime error
if "$T" message headers --strict "$D/dkim-rfc8463.eml" >/dev/null 2>&1; then fail "strict accepted bare LF"; fi
rc=0; "$T" message headers --strict "$D/dkim-rfc8463.eml" >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "strict exit code $rc"

out=$("$T" message authres 'mx; spf=pass smtp.helo="x; dmarc=pass"')
[ "$out" = "$(printf 'Authentication-Results: mx;\r\n\tspf=pass smtp.helo="x; dmarc=pass"\r')" ] || fail "authres text: $out"
"$T" message authres --json 'mx; spf=pass (a "quoted" \\ comment) smtp.helo="x; dmarc=pass"' | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["authserv_id"] == "mx" and d["version"] is None and len(d["results"]) == 1
r = d["results"][0]
assert r["comment"] == "a \"quoted\" \\ comment", r
assert r["properties"] == [{"ptype": "smtp", "property": "helo", "value": "x; dmarc=pass"}]
' || fail "authres json"
printf 'Authentication-Results: a; dkim=fail\r\n' | "$T" message authres - | grep -q 'dkim=fail' || fail "authres stdin"

rc=0; "$T" message authres '; spf=pass' >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "unparsable authres exit code $rc"
rc=0; "$T" message mime >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "usage exit code $rc"
rc=0; "$T" message mime /nonexistent >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "missing file exit code $rc"
"$T" message headers --help | grep -q 'usage: mox message headers' || fail "help"
echo ok
