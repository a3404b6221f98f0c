#!/usr/bin/python3
"""End-to-end test of `mox dmarc check|lookup|parse`: a zone file, messages
signed by `mox dkim sign` (RSA and Ed25519) and by dkimpy (RSA), bypass
attempts (several From fields / addresses), the JSON shape, exit codes."""
import base64
import json
import os
import subprocess
import sys
import tempfile

import dkim  # Debian python3-dkim (dkimpy)

MOX = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="mox-dmarc-cli-")
failures = 0


def run(args, stdin=b"", want_rc=0):
    p = subprocess.run([MOX] + args, input=stdin, capture_output=True, timeout=60)
    if p.returncode != want_rc:
        raise SystemExit("mox %s: rc %d (want %d)\n%s%s" % (
            " ".join(args), p.returncode, want_rc, p.stdout.decode(), p.stderr.decode()))
    return p.stdout.decode()


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)
    else:
        print("ok:", what)


MSG = (b"From: Alice <alice@example.org>\r\n"
       b"To: bob@example.net\r\n"
       b"Subject: quarterly numbers\r\n"
       b"Date: Tue, 1 Jul 2025 10:00:00 +0000\r\n"
       b"Message-ID: <q1@example.org>\r\n"
       b"\r\n" + b"The numbers are in.\r\n" * 40)

# --- keys: ours (RSA and Ed25519) and dkimpy's (RSA, PKCS#1 from openssl)
zone = [
    "$ORIGIN .",
    'example.org. TXT "v=spf1 ip4:192.0.2.1 -all"',
    '_dmarc.example.org. TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.org"',
    'bounces.example.net. TXT "v=spf1 ip4:192.0.2.50 -all"',
    '_dmarc.example.net. TXT "v=DMARC1; p=quarantine; psd=n"',
    '1.2.0.192.in-addr.arpa. PTR mx.example.org.',
    'mx.example.org. A 192.0.2.1',
]
for alg in ("rsa", "ed25519"):
    key = os.path.join(tmp, "mox-%s.pem" % alg)
    out = run(["dkim", "genkey", alg, "--domain", "example.org", "--selector", "mox" + alg,
               "--key-out", key])
    zone.append(out.strip())
pykey = os.path.join(tmp, "py.pem")
subprocess.run(["openssl", "genrsa", "-traditional", "-out", pykey, "2048"], check=True,
               capture_output=True)
pub = subprocess.run(["openssl", "rsa", "-in", pykey, "-pubout", "-outform", "DER"],
                     check=True, capture_output=True).stdout
p64 = base64.b64encode(pub).decode()
zone.append('py._domainkey.mail.example.org. TXT %s' % " ".join(
    '"%s"' % s for s in [("v=DKIM1; k=rsa; p=" + p64)[i:i + 200]
                         for i in range(0, len(p64) + 18, 200)]))
zonefile = os.path.join(tmp, "zone.txt")
with open(zonefile, "w") as f:
    f.write("\n".join(zone) + "\n")


def sign_mox(alg, msg):
    path = os.path.join(tmp, "in.eml")
    with open(path, "wb") as f:
        f.write(msg)
    return run(["dkim", "sign", "--domain", "example.org", "--selector", "mox" + alg, "--key",
                os.path.join(tmp, "mox-%s.pem" % alg), path]).encode()


def sign_py(msg):
    with open(pykey, "rb") as f:
        k = f.read()
    sig = dkim.sign(msg, b"py", b"mail.example.org", k,
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return sig + msg


def dmarc_check(msg, ip="192.0.2.99", mail_from="x@bounces.example.net", extra=()):
    out = run(["dmarc", "check", "--dns-zone", zonefile, "--ip", ip, "--mail-from", mail_from,
               "--helo", "mx.example.org", "--authserv-id", "mx.example.net", "--json"]
              + list(extra), msg)
    return json.loads(out)


# 1. JSON shape
j = dmarc_check(sign_mox("rsa", MSG))
check(set(j) == {"authentication_results", "spf", "dkim", "dmarc"}, "top-level keys")
check({"result", "policy", "disposition", "domain", "record_domain", "spf_aligned",
       "dkim_aligned", "reason"} <= set(j["dmarc"]), "dmarc keys")
check(isinstance(j["dkim"], list) and len(j["dkim"]) == 1, "one dkim entry per signature")

# 2. our RSA and Ed25519 signatures: SPF fails (wrong IP), DKIM aligned -> pass
for alg in ("rsa", "ed25519"):
    j = dmarc_check(sign_mox(alg, MSG))
    check(j["dkim"][0]["result"] == "pass", "mox %s signature verifies" % alg)
    d = j["dmarc"]
    check(d["result"] == "pass" and d["dkim_aligned"] == "pass" and d["spf_aligned"] == "none",
          "mox %s: dmarc pass via DKIM (%s)" % (alg, d))
    check("dmarc=pass" in j["authentication_results"], "A-R carries dmarc=pass")

# 3. dkimpy signature for d=mail.example.org: relaxed alignment
j = dmarc_check(sign_py(MSG))
check(j["dkim"][0]["result"] == "pass" and j["dkim"][0]["domain"] == "mail.example.org",
      "dkimpy signature verifies")
check(j["dmarc"]["result"] == "pass" and j["dmarc"]["dkim_aligned"] == "pass",
      "dkimpy: relaxed alignment of mail.example.org")
check(j["dmarc"]["record_domain"] == "example.org", "record domain")

# 4. unsigned, SPF pass for an unaligned domain: fail, p=reject
j = dmarc_check(MSG, ip="192.0.2.50")
d = j["dmarc"]
check(j["spf"]["result"] == "pass", "spf pass for bounces.example.net")
check(d["result"] == "fail" and d["spf_aligned"] == "fail" and d["disposition"] == "reject",
      "unaligned SPF pass: fail, reject (%s)" % d)

# 5. aligned SPF pass, text output is the A-R header field
out = run(["dmarc", "check", "--dns-zone", zonefile, "--ip", "192.0.2.1", "--mail-from",
           "bounce@example.org", "--helo", "mx.example.org", "--authserv-id", "mx.example.net",
           "--iprev"], MSG)
check(out.startswith("Authentication-Results: mx.example.net;"), "text output is the field")
check("iprev=pass" in out and "spf=pass" in out and "dmarc=pass" in out,
      "iprev, spf, dmarc in the field")

# 6. bypass: a second From added after signing; two addresses in one From
signed = sign_mox("rsa", MSG)
j = dmarc_check(b"From: ceo@evil.example\r\n" + signed)
check(j["dmarc"]["result"] == "permerror" and j["dmarc"]["disposition"] == "reject",
      "two From fields: permerror, reject")
j = dmarc_check(signed.replace(b"From: Alice <alice@example.org>",
                               b"From: Alice <alice@example.org>, ceo@evil.example"))
check(j["dmarc"]["result"] == "permerror", "two addresses in From: permerror")
# a From without a domain
j = dmarc_check(MSG.replace(b"From: Alice <alice@example.org>", b"From: undisclosed:;"))
check(j["dmarc"]["result"] == "permerror", "From without an address: permerror")

# 7. a spoofed Authentication-Results with our id does not change the verdict
j = dmarc_check(b"Authentication-Results: mx.example.net; dmarc=pass header.from=example.org\r\n"
                + MSG, ip="192.0.2.50")
check(j["dmarc"]["result"] == "fail", "spoofed A-R ignored")

# 8. lookup: the walk finds the organizational domain record
j = json.loads(run(["dmarc", "lookup", "--dns-zone", zonefile, "--json",
                    "a.b.c.d.e.f.g.h.i.example.org"]))
check(j["record_domain"] == "example.org" and j["org_domain"] == "example.org", "lookup walk")
txt = [q for q in j["queries"] if q["type"] == "TXT"]
check(len(txt) == 8 and txt[1]["name"] == "_dmarc.e.f.g.h.i.example.org", "walk: 8 queries, jump")
out = run(["dmarc", "lookup", "--dns-zone", zonefile, "sub.example.net"])
check("record at _dmarc.example.net" in out and "organizational domain: example.net" in out,
      "lookup text output")

# 9. parse and exit codes
j = json.loads(run(["dmarc", "parse", "--json", "--strict", "v=DMARC1; p=reject; pct=50"], want_rc=1))
check(j["valid"] is False and "pct" in j["error"], "strict parse refuses pct")
run(["dmarc", "check", "--dns-zone", zonefile], MSG, want_rc=2)
run(["dmarc", "lookup"], want_rc=2)
run(["dmarc", "check", "--dns-zone", "/nonexistent", "--ip", "192.0.2.1"], MSG, want_rc=1)

print("%d failure(s)" % failures)
sys.exit(1 if failures else 0)
