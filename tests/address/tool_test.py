#!/usr/bin/python3
"""Checks `mox address` (path, list, domain): JSON output parsed with a real
JSON parser, text output, exit codes 0/1/2."""
import json
import os
import subprocess
import sys

TOOL = os.environ["MOX_TOOL"]


def run(*args):
    p = subprocess.run([TOOL, "address", *args], capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def check(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)


rc, out, err = run("path", "--json", '<"a \\"b"@Example.ORG>')
check(rc == 0, "path rc")
j = json.loads(out)
check(j["localpart"] == 'a "b' and j["domain_ascii"] == "example.org", "path json %r" % j)
check(j["literal"] is None and j["null"] is False, "path nulls")
check(j["formatted"] == '<"a \\"b"@example.org>', "path formatted %r" % j["formatted"])

rc, out, err = run("path", "--reverse", "--json", "<>")
check(rc == 0 and json.loads(out)["null"] is True, "null path")

rc, out, err = run("path", "<>")
check(rc == 1 and "invalid path" in err and out == "", "null forward path: %d %r" % (rc, err))

rc, out, err = run("path", "--smtputf8", "--json", "<jo\u0308ran@b\u00fccher.example>")
j = json.loads(out)
check(rc == 0 and j["localpart"] == "j\u00f6ran" and j["domain_ascii"] == "xn--bcher-kva.example",
      "smtputf8 path %r" % j)

rc, out, err = run("list", "--json", 'G: "Doe, J" <j@x.example>, k@y.example (K\\\\);, l@[192.0.2.1]')
check(rc == 0, "list rc %d %s" % (rc, err))
j = json.loads(out)
check(j["groups"] == 1 and len(j["addresses"]) == 3, "list counts %r" % j)
a = j["addresses"]
check(a[0]["display_name"] == "Doe, J" and a[0]["group"] == "G", "list 0 %r" % a[0])
check(a[1]["display_name"] == "K\\" and a[1]["localpart"] == "k", "list 1 %r" % a[1])
check(a[2]["literal"] == "192.0.2.1" and a[2]["group"] is None, "list 2 %r" % a[2])

rc, out, err = run("list", "John Doe <j@x.example>")
check(rc == 0 and out.startswith("John Doe <j@x.example>\n"), "list text %r" % out)

rc, out, err = run("list", "John Doe")
check(rc == 1 and "detail 2" in err, "list error %r" % err)

rc, out, err = run("domain", "--json", "B\u00fccher.Example")
j = json.loads(out)
check(rc == 0 and j == {"ascii": "xn--bcher-kva.example", "unicode": "b\u00fccher.example"}, "domain %r" % j)

rc, out, err = run("domain", "_dmarc.example.com")
check(rc == 1, "strict domain")
rc, out, err = run("domain", "--lax", "_dmarc.example.com")
check(rc == 0 and "ascii: _dmarc.example.com" in out, "lax domain")

rc, out, err = run("domain", "--bogus", "x")
check(rc == 2, "usage error")
rc, out, err = run("path")
check(rc == 2, "missing argument")
rc, out, err = run("path", "--help")
check(rc == 0 and "usage" in out, "help")
print("ok")
