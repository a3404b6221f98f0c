"""The `mox queue` commands on a SQLite queue: add, list (text and --json),
show, hold, release, retry, rules, suppressions, drop, fail, the retired
history; selections that match nothing, and refusing to act on everything
without --all."""
import json
import os
import subprocess
import sys
import tempfile

TOOL = os.environ["MOX_TOOL"]
failures = []


def run(*args, stdin=b""):
    p = subprocess.run([TOOL, "queue", *args], input=stdin, capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def check(cond, what):
    if not cond:
        failures.append(what)


with tempfile.TemporaryDirectory() as d:
    store = os.path.join(d, "queue.db")
    os.environ["MOX_QUEUE_STORE"] = store
    msg = b"From: a@example.org\nSubject: hi\n\nhello\n"

    rc, out, err = run("add", "--account", "a", "--from", "a@example.org",
                       "--to", "b@x.example", "--to", "c@y.example", stdin=msg)
    check(rc == 0 and out.startswith("queued base "), f"add: {rc} {out!r} {err!r}")
    ids = out.split(":")[1].split()
    check(len(ids) == 2, f"add printed ids: {out!r}")

    rc, out, err = run("list", "--json")
    check(rc == 0, f"list --json: {rc} {err!r}")
    rows = json.loads(out)
    check(len(rows) == 2, f"two rows: {rows}")
    want = {"id", "base_id", "from", "to", "destination", "attempts", "next_attempt",
            "last_result", "hold"}
    check(all(want <= set(r) for r in rows), f"json keys: {rows[0].keys()}")
    check(rows[0]["next_attempt"].endswith("Z") and "T" in rows[0]["next_attempt"],
          f"RFC 3339 next attempt: {rows[0]['next_attempt']}")
    check({r["destination"] for r in rows} == {"x.example", "y.example"}, "destinations")

    rc, out, _ = run("list")
    check(rc == 0 and out.count("\n") >= 2 and "b@x.example" in out, f"list text: {out!r}")
    rc, out, _ = run("show", ids[0], "--json")
    check(rc == 0 and json.loads(out)[0]["id"] == int(ids[0]), f"show: {out!r}")
    rc, out, err = run("show", "999999")
    check(rc == 1 and "no queued" in err, f"show unknown: {rc} {err!r}")

    rc, out, err = run("hold")
    check(rc == 2 and "--all" in err, f"hold without selection: {rc} {err!r}")
    rc, out, _ = run("hold", "--domain", "x.example")
    check(rc == 0 and "held 1 recipient" in out, f"hold by domain: {out!r}")
    rc, out, _ = run("list", "--held", "--json")
    check(len(json.loads(out)) == 1 and json.loads(out)[0]["hold"] is True, "held listed")
    rc, out, _ = run("release", "--all")
    check(rc == 0 and "released 2" in out, f"release --all: {out!r}")
    rc, out, _ = run("retry", "--now", "--account", "nobody")
    check(rc == 0 and "made due 0" in out, f"a selection matching nothing: {out!r}")

    rc, out, _ = run("rules", "add", "--domain", "Held.Example")
    check(rc == 0 and out.startswith("rule "), f"rules add: {out!r}")
    rid = out.split()[1]
    rc, out, _ = run("rules", "list", "--json")
    check(json.loads(out)[0]["domain"] == "held.example", f"rule lower-cased: {out!r}")
    rc, out, _ = run("add", "--account", "a", "--from", "a@example.org", "--to", "z@held.example",
                     stdin=msg)
    rc, out, _ = run("list", "--held", "--json")
    check([r["to"] for r in json.loads(out)] == ["z@held.example"], f"rule holds: {out!r}")
    rc, out, _ = run("rules", "remove", rid)
    check(rc == 0, "rules remove")
    rc, out, err = run("rules", "remove", rid)
    check(rc == 1 and err, f"rules remove again: {rc}")

    rc, out, _ = run("suppressions", "add", "a", "Bob+list@X.example", "asked us")
    check(rc == 0, "suppressions add")
    rc, out, _ = run("suppressions", "list", "a", "--json")
    s = json.loads(out)
    check(len(s) == 1 and s[0]["address"] == "bob@x.example" and s[0]["manual"], f"supp: {s}")
    rc, out, err = run("add", "--account", "a", "--from", "a@example.org", "--to", "bob@x.example",
                       stdin=msg)
    check(rc == 1 and "suppression" in err, f"suppressed add: {rc} {err!r}")
    rc, out, _ = run("suppressions", "remove", "a", "bob@x.example")
    check(rc == 0, "suppressions remove")

    rc, out, _ = run("drop", ids[0])
    check(rc == 0 and "dropped 1" in out, f"drop: {out!r}")
    rc, out, _ = run("fail", "--msg", rows[0]["base_id"].__str__())
    check(rc == 0 and "failed 1" in out, f"fail: {out!r}")
    rc, out, _ = run("list", "--retired", "--json")
    ret = json.loads(out)
    check(sorted(r["outcome"] for r in ret) == ["canceled", "failed"], f"retired: {ret}")
    rc, out, _ = run("list", "--json")
    # left: the held message, and the failure DSN to a@example.org
    check(sorted(r["to"] for r in json.loads(out)) == ["a@example.org", "z@held.example"],
          f"left in the queue: {out!r}")

    rc, out, err = run("list", "--store", os.path.join(d, "no", "such", "dir", "q.db"))
    check(rc == 1 and err, f"bad store: {rc}")

if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("ok: mox queue")
