"""Walks the mox tool's command tree from `mox --help`: every group and
command answers --help with exit 0 and a usage line on stdout; unknown
commands and unknown options are usage errors; `mox help G [C]` prints
what `mox G [C] --help` does (exit 2, message on stderr,
nothing on stdout)."""
import os
import re
import subprocess
import sys

TOOL = os.environ["MOX_TOOL"]
failures = []


def run(*args, stdin=b""):
    p = subprocess.run([TOOL, *args], input=stdin, capture_output=True, timeout=20)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def check(cond, what):
    if not cond:
        failures.append(what)


def commands(help_text):
    m = re.search(r"^commands:\n((?:  \S.*\n)+)", help_text, re.M)
    return [line.split()[0] for line in m.group(1).splitlines()] if m else []


rc, out, _ = run("--help")
check(rc == 0 and out.startswith("usage: mox"), "mox --help")
out_top = out
groups = commands(out)
check(len(groups) >= 5, f"too few command groups: {groups}")
rc, out, err = run()
check(rc == 2 and out == "", "mox without arguments must be a usage error")
rc, out, err = run("no-such-command")
check(rc == 2 and out == "" and "unknown" in err, "unknown command")
rc, out2, _ = run("help")
check(rc == 0 and out2 == out_top, "mox help must print what mox --help prints")
rc, out, err = run("help", "no-such-command")
check(rc == 2 and out == "" and "unknown" in err, "mox help no-such-command")

leaves = 0
for g in groups:
    rc, out, err = run(g, "--help")
    check(rc == 0 and "usage" in out, f"mox {g} --help: rc={rc}")
    rc, hout, _ = run("help", g)
    check(rc == 0 and hout == out, f"mox help {g} differs from mox {g} --help")
    subs = commands(out)
    if not subs:  # a leaf command such as `mox version`
        leaves += 1
        continue
    rc, out, err = run(g, "no-such-command")
    check(rc == 2 and out == "", f"mox {g} no-such-command: rc={rc}")
    for c in subs:
        leaves += 1
        rc, out, err = run(g, c, "--help")
        check(rc == 0 and "usage" in out.lower(), f"mox {g} {c} --help: rc={rc} out={out[:80]!r}")
        rc, hout, _ = run("help", g, c)
        check(rc == 0 and hout == out, f"mox help {g} {c} differs from mox {g} {c} --help")
        rc, out, err = run(g, c, "--no-such-option-xyz")
        check(rc == 2 and out == "" and err != "", f"mox {g} {c} --no-such-option-xyz: rc={rc} out={out[:80]!r}")

if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"ok: {len(groups)} groups, {leaves} commands")
