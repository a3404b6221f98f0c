#!/usr/bin/python3
"""`mox spf check` / `mox spf parse`: JSON shape, exit codes, usage errors.

usage: cli_spf.py MOX-TOOL ZONE-FILE
"""
import json
import subprocess
import sys

TOOL, ZONE = sys.argv[1], sys.argv[2]
failures = []


def run(*args):
    p = subprocess.run([TOOL, "spf"] + list(args), capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def expect(cond, what):
    if not cond:
        failures.append(what)


rc, out, err = run("check", "--dns-zone", ZONE, "--json", "--helo", "mx.client.test",
                   "198.19.201.77", "user@spf-bench.test")
expect(rc == 0, "check pass: exit %d %s" % (rc, err))
j = json.loads(out)
for k in ("result", "explanation", "mechanism", "dns_lookups", "void_lookups"):
    expect(k in j, "key %s missing" % k)
expect(j["result"] == "pass" and j["mechanism"] == "include:_spf.provider-c.test"
       and j["explanation"] is None and j["dns_lookups"] == 4 and j["void_lookups"] == 0,
       "pass outcome: %r" % j)

rc, out, err = run("check", "--dns-zone", ZONE, "--json", "192.0.2.1", "user@spf-bench.test")
j = json.loads(out)
expect(rc == 0 and j["result"] == "fail" and j["mechanism"] == "-all"
       and j["explanation"] and j["explanation_default"], "fail outcome: %r" % j)

# Empty SENDER: the HELO identity.
rc, out, err = run("check", "--dns-zone", ZONE, "--json", "--helo", "spf-bench.test", "192.0.2.1", "")
j = json.loads(out)
expect(rc == 0 and j["identity"] == "helo" and j["result"] == "fail", "helo check: %r" % j)

# No record: none, null mechanism.
rc, out, err = run("check", "--dns-zone", ZONE, "--json", "192.0.2.1", "a@nowhere.test")
j = json.loads(out)
expect(rc == 0 and j["result"] == "none" and j["mechanism"] is None, "none outcome: %r" % j)

# Usage errors exit 2.
for args in (["check"], ["check", "1.2.3.4"], ["check", "--bogus", "1.2.3.4", "a@b.c"],
             ["check", "--dns-zone", ZONE, "not-an-ip", "a@b.test"],
             ["check", "--dns-zone", ZONE, "--dns-server", "127.0.0.1", "1.2.3.4", "a@b.test"],
             ["parse"]):
    rc, out, err = run(*args)
    expect(rc == 2, "%r: exit %d, want 2" % (args, rc))

# Unreadable zone: runtime error.
rc, out, err = run("check", "--dns-zone", "/nonexistent/zone", "1.2.3.4", "a@b.test")
expect(rc == 1, "missing zone: exit %d" % rc)

# parse: valid, and the precise error with its offset.
rc, out, err = run("parse", "--json", "v=spf1 a mx/24 -all")
j = json.loads(out)
expect(rc == 0 and j["valid"] and len(j["terms"]) == 3 and j["terms"][1]["cidr4"] == 24,
       "parse ok: %r" % j)
rc, out, err = run("parse", "--json", "v=spf1 ip4:1.2.3.4/33")
j = json.loads(out)
expect(rc == 1 and not j["valid"] and j["offset"] == 18, "parse error: %r" % j)
rc, out, err = run("parse", "v=spf1 foo")
expect(rc == 1 and "offset 7" in err and "unknown mechanism" in err, "parse text error: %r" % err)

for f in failures:
    print("FAIL:", f)
print("cli_spf: %d failures" % len(failures))
sys.exit(1 if failures else 0)
