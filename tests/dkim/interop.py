#!/usr/bin/python3
"""DKIM interop: libmox's `mox dkim` against dkimpy (python3-dkim) and, for
RSA, Mail::DKIM (libmail-dkim-perl), on a corpus of varied messages, both
canonicalisations each way, rsa-sha256 and ed25519-sha256.

  - our signatures verified by dkimpy (and Mail::DKIM for RSA)
  - dkimpy's signatures verified by us
  - any one-byte change in a signed header or the body fails everywhere
  - keys come from `mox dkim genkey`; DNS from its record lines, given to
    dkimpy through dnsfunc, to Mail::DKIM through an in-process resolver,
    and to us through --dns-zone.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

import dkim

TOOL = os.environ.get("MOX_TOOL") or sys.exit("MOX_TOOL not set")
W = tempfile.mkdtemp(prefix="dkim-interop-")
failures = []
checks = 0


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def run(args, data=None, ok=(0,)):
    p = subprocess.run([TOOL] + args, input=data, capture_output=True, timeout=60)
    if p.returncode not in ok:
        raise SystemExit("mox %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr.decode()))
    return p.stdout


# ---- keys and DNS
zone = os.path.join(W, "zone")
records = {}
keys = []
with open(zone, "w") as z:
    for alg, sel in (("rsa", "rsa"), ("ed25519", "ed")):
        kf = os.path.join(W, sel + ".pem")
        line = run(["dkim", "genkey", alg, "--domain", "example.com", "--selector", sel,
                    "--key-out", kf]).decode().strip()
        assert oct(os.stat(kf).st_mode & 0o777) == "0o600", "key file mode"
        z.write(line + "\n")
        # "S._domainkey.D. IN TXT "a" "b"": the strings concatenated
        parts = line.split(" IN TXT ", 1)[1]
        txt = "".join(s for i, s in enumerate(parts.split('"')) if i % 2 == 1)
        records[parts and line.split(" ")[0].lower().encode()] = txt.encode()
        keys.append((alg, sel, kf))
    # dkimpy signs with its own key under selector "py"
    z.write(run(["dkim", "genkey", "ed25519", "--domain", "example.com", "--selector", "pyed",
                 "--key-out", os.path.join(W, "pyed.pem")]).decode())
    z.write(run(["dkim", "genkey", "rsa", "--domain", "example.com", "--selector", "pyrsa",
                 "--key-out", os.path.join(W, "pyrsa.pem")]).decode())
for line in open(zone):
    name, rest = line.split(" IN TXT ", 1)
    records[name.lower().encode()] = "".join(
        s for i, s in enumerate(rest.strip().split('"')) if i % 2 == 1).encode()


def dnsfunc(name, timeout=5):
    return records.get(name.lower())


def pem_der(path):
    b = "".join(l for l in open(path) if not l.startswith("-----"))
    return base64.b64decode(b)


py_rsa_key = open(os.path.join(W, "pyrsa.pem"), "rb").read()
py_ed_seed = base64.b64encode(pem_der(os.path.join(W, "pyed.pem"))[-32:])

# ---- corpus
big = b"".join(b"line %d with trailing space  \r\n" % i for i in range(60000))
MESSAGES = {
    "plain": b"From: Joe <joe@example.com>\r\nTo: a@example.net\r\nSubject: hi\r\n"
             b"Date: Fri, 11 Jul 2003 21:00:37 -0700\r\nMessage-ID: <1@example.com>\r\n\r\nHi.\r\n",
    "folded-oddcase": b"fROM: Joe\r\n  <joe@example.com>\r\ntO:  a@example.net,\r\n\t b@example.net \r\n"
                      b"SUBJECT:\r\n folded   subject\t \r\nX-Other: x\r\n\r\nbody  with  spaces \t\r\n\r\n\r\n",
    "trailing-ws": b"From: joe@example.com\r\nSubject: ws   \r\n\r\n  lead\r\ntrail \t \r\n \r\n\t\r\n",
    "empty-body": b"From: joe@example.com\r\nSubject: empty\r\n\r\n",
    "only-crlfs": b"From: joe@example.com\r\nSubject: crlfs\r\n\r\n\r\n\r\n\r\n",
    "no-final-newline": b"From: joe@example.com\r\nSubject: nonl\r\n\r\nlast line without newline",
    "8bit": "From: Jos\u00e9 <jose@example.com>\r\nSubject: caf\u00e9 \u2603\r\n\r\n"
            "8-bit body: \u00e9t\u00e9, \u65e5\u672c\u8a9e\r\n".encode(),
    "huge": b"From: joe@example.com\r\nSubject: huge\r\n\r\n" + big,
    "multi-from-cc": b"From: joe@example.com\r\nCc: a@x.org\r\nCc: b@x.org\r\nReply-To: r@x.org\r\n"
                     b"In-Reply-To: <p@x.org>\r\nReferences: <p@x.org>\r\n\r\nbody\r\n",
}
CANONS = ["simple/simple", "relaxed/relaxed", "relaxed/simple", "simple/relaxed"]


def mox_results(msg, extra=()):
    out = run(["dkim", "verify", "--json", "--dns-zone", zone] + list(extra), msg)
    return [s["result"] for s in json.loads(out)["signatures"]]


PERL = r'''
use strict; use Mail::DKIM::Verifier; use Net::DNS;
my %rec;
for my $l (split /\n/, $ENV{DKIM_RECORDS}) { my ($n, $t) = split / /, $l, 2; $rec{lc $n} = $t; }
no warnings 'redefine';
*Mail::DKIM::DNS::query = sub {
    my ($name, $type) = @_;
    my $t = $rec{lc($name) . "."} // $rec{lc $name};
    return () unless defined $t;
    my @s; push @s, substr($t, 0, 255, '') while length $t;
    return (Net::DNS::RR->new(name => $name, type => 'TXT', txtdata => [@s]));
};
my $d = Mail::DKIM::Verifier->new();
local $/; my $m = <STDIN>; $d->PRINT($m); $d->CLOSE;
print join(" ", map { $_->result } $d->signatures), "\n";
'''
perl_env = dict(os.environ, DKIM_RECORDS="\n".join(
    "%s %s" % (k.decode(), v.decode()) for k, v in records.items()))


def perl_results(msg):
    p = subprocess.run(["perl", "-e", PERL], input=msg, capture_output=True, env=perl_env, timeout=60)
    if p.returncode:
        raise SystemExit("perl: " + p.stderr.decode())
    return p.stdout.decode().split()


def mutations(signed, sig_count):
    """One-byte changes: in the From value and in the body."""
    hdr_end = signed.index(b"\r\n\r\n")
    i = signed.lower().index(b"\nfrom:", 0) + 7
    # first non-space byte of the From value
    while signed[i:i + 1] in (b" ", b"\t", b"\r", b"\n"):
        i += 1
    out = [signed[:i] + bytes([signed[i] ^ 0x01]) + signed[i + 1:]]
    body = hdr_end + 4
    nonws = [k for k in range(body, len(signed)) if signed[k:k + 1] not in b" \t\r\n"]
    if nonws:
        k = nonws[len(nonws) // 2]
        out.append(signed[:k] + bytes([signed[k] ^ 0x01]) + signed[k + 1:])
    else:
        out.append(signed + b"x\r\n")
    return out


have_perl = subprocess.run(["perl", "-MMail::DKIM::Verifier", "-e", "1"], capture_output=True).returncode == 0
if not have_perl:
    print("note: Mail::DKIM not installed, RSA cross-check with it skipped")

for mname, msg in MESSAGES.items():
    for canon in CANONS:
        # ours -> theirs
        for alg, sel, kf in keys:
            signed = run(["dkim", "sign", "--domain", "example.com", "--selector", sel, "--key", kf,
                          "--canon", canon], msg)
            checks += 1
            if not dkim.verify(signed, dnsfunc=dnsfunc):
                fail("dkimpy rejects our %s %s signature of %s" % (alg, canon, mname))
            if mox_results(signed) != ["pass"]:
                fail("we reject our own %s %s signature of %s" % (alg, canon, mname))
            # Mail::DKIM does not add the CRLF RFC 6376 §3.4.3 adds to a body
            # without a final one under simple body canonicalisation (it
            # rejects dkimpy's signatures there too): a known peer deviation.
            perl_deviates = mname == "no-final-newline" and canon.endswith("/simple")
            if alg == "rsa" and have_perl and not perl_deviates and perl_results(signed) != ["pass"]:
                fail("Mail::DKIM rejects our %s %s signature of %s: %s" % (alg, canon, mname, perl_results(signed)))
            for bad in mutations(signed, 1):
                checks += 1
                if dkim.verify(bad, dnsfunc=dnsfunc):
                    fail("dkimpy accepts a changed %s (%s %s)" % (mname, alg, canon))
                if mox_results(bad) != ["fail"]:
                    fail("we accept a changed %s (%s %s): %s" % (mname, alg, canon, mox_results(bad)))
                if alg == "rsa" and have_perl and perl_results(bad) == ["pass"]:
                    fail("Mail::DKIM accepts a changed %s (%s %s)" % (mname, alg, canon))
        # theirs -> ours
        c = tuple(x.encode() for x in canon.split("/"))
        for alg, sel, key in (("rsa-sha256", b"pyrsa", py_rsa_key), ("ed25519-sha256", b"pyed", py_ed_seed)):
            sig = dkim.sign(msg, sel, b"example.com", key, canonicalize=c,
                            signature_algorithm=alg.encode(),
                            include_headers=[b"from", b"to", b"subject", b"cc", b"reply-to"])
            signed = sig + msg
            checks += 1
            r = mox_results(signed)
            if r != ["pass"]:
                fail("we reject dkimpy's %s %s signature of %s: %s" % (alg, canon, mname, r))
            for bad in mutations(signed, 1):
                checks += 1
                if mox_results(bad) != ["fail"]:
                    fail("we accept dkimpy-signed %s changed (%s %s)" % (mname, alg, canon))

# Folding (RFC 6376 §3.5 FWS): long h= lists, long selectors, domains and
# identities. Every line of our DKIM-Signature is at most 78 columns unless
# it is one value no line can hold, and dkimpy, Mail::DKIM (RSA) and we
# verify it. Selector lengths step through the columns so that folds land
# inside h= (after ':'), bh= and b= at varied positions.
FOLD_MSG = (b"From: Joe <joe@example.com>\r\nTo: a@example.net\r\nTo: b@example.net\r\n"
            b"Cc: c@example.net\r\nCc: d@example.net\r\nReply-To: r@example.com\r\n"
            b"References: <p1@example.com> <p2@example.com>\r\nIn-Reply-To: <p2@example.com>\r\n"
            b"Subject: folding\r\nDate: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
            b"Message-ID: <f@example.com>\r\nContent-Type: text/plain\r\n"
            b"List-Id: <list.example.com>\r\nX-Mailing-List-Software-With-A-Long-Header-Name: 1\r\n"
            b"\r\nBody  with trailing ws \t\r\n\r\n")
LONG_LIST = ("From:To:Cc:Subject:Date:Message-ID:List-Id:List-Unsubscribe:List-Unsubscribe-Post:"
             "List-Archive:List-Post:List-Help:List-Subscribe:Resent-From:Resent-To:Resent-Date:"
             "X-Mailing-List-Software-With-A-Long-Header-Name:MIME-Version:Content-Transfer-Encoding")


def dns_name(length, last):
    """A name of exactly `length` characters: labels of at most 60, then `last`."""
    out = ""
    while len(out) + len(last) < length:
        room = length - len(last) - len(out) - 1
        lab = min(room, 60) if room - 60 != 1 else 58
        out += (chr(ord("a") + len(out) % 26) * lab + ".") if lab > 0 else "q"
    return out + last


key_lines = {}
for line in open(zone):
    n, rest = line.split(" IN TXT ", 1)
    key_lines[n.split(".")[0]] = rest.strip()
fold_cases = []  # (selector length, domain, headers, identity)
for sl in range(3, 74, 5):
    fold_cases.append((sl, "example.com", None, None))
fold_cases.append((3, "example.com", LONG_LIST, None))
fold_cases.append((3, dns_name(75, "com"), None, None))
d200 = dns_name(200, "com")
fold_cases.append((3, d200, None, "someone.with.a.long.local.part@" + d200))
fold_zone = os.path.join(W, "fold-zone")
with open(fold_zone, "w") as z:
    z.write(open(zone).read())
    for sl, dom, _, _ in fold_cases:
        for ksel in ("rsa", "ed"):
            name = "%s._domainkey.%s." % (dns_name(sl, ksel), dom)
            z.write("%s IN TXT %s\n" % (name, key_lines[ksel]))
            records[name.lower().encode()] = records[("%s._domainkey.example.com." % ksel).encode()]
perl_env = dict(os.environ, DKIM_RECORDS="\n".join(
    "%s %s" % (k.decode(), v.decode()) for k, v in records.items()))
folds_seen = 0
for ci, (sl, dom, headers, ident) in enumerate(fold_cases):
    for alg, ksel, kf in keys:
        canon = CANONS[(ci + len(ksel)) % 4]
        fsel = dns_name(sl, ksel)
        args = ["dkim", "sign", "--domain", dom, "--selector", fsel, "--key", kf, "--canon", canon]
        if headers:
            args += ["--headers", headers]
        if ident:
            args += ["--identity", ident]
        signed = run(args, FOLD_MSG)
        checks += 1
        field = signed[:signed.index(b"\r\nFrom: ") + 2]
        lines = field.split(b"\r\n")[:-1]
        folds_seen += len(lines) - 1
        unsplittable = max(len(fsel), len(dom), len(ident or "")) + 1  # value and ';'
        for l in lines:
            if len(l) > 78 and not (l.startswith(b" ") and b" " not in l[1:] and len(l) <= 1 + unsplittable):
                fail("line of %d columns in our %s %s signature (s=%d d=%d chars): %r"
                     % (len(l), alg, canon, len(fsel), len(dom), l))
        if not dkim.verify(signed, dnsfunc=dnsfunc):
            fail("dkimpy rejects our folded %s %s signature (s=%d d=%d chars)" % (alg, canon, len(fsel), len(dom)))
        r = [s["result"] for s in json.loads(run(["dkim", "verify", "--json", "--dns-zone", fold_zone],
                                                 signed))["signatures"]]
        if r != ["pass"]:
            fail("we reject our folded %s %s signature (s=%d d=%d chars): %s" % (alg, canon, len(fsel), len(dom), r))
        if alg == "rsa" and have_perl and perl_results(signed) != ["pass"]:
            fail("Mail::DKIM rejects our folded %s %s signature (s=%d d=%d chars): %s"
                 % (alg, canon, len(fsel), len(dom), perl_results(signed)))
        bad = signed.replace(b"From: Joe", b"From: joe", 1)
        if dkim.verify(bad, dnsfunc=dnsfunc):
            fail("dkimpy accepts a changed From under a folded %s %s signature" % (alg, canon))
print("folding: %d signatures, %d folds, verified by dkimpy%s and us"
      % (2 * len(fold_cases), folds_seen, ", Mail::DKIM (RSA)" if have_perl else ""))

# Several signatures: dkimpy's then ours on top; every one verifies everywhere.
msg = MESSAGES["folded-oddcase"]
sig = dkim.sign(msg, b"pyed", b"example.com", py_ed_seed, canonicalize=(b"relaxed", b"relaxed"),
                signature_algorithm=b"ed25519-sha256")
two = sig + msg
for alg, sel, kf in keys:
    two = run(["dkim", "sign", "--domain", "example.com", "--selector", sel, "--key", kf], two)
d = dkim.DKIM(two)
checks += 1
for idx in range(3):
    if not d.verify(idx=idx, dnsfunc=dnsfunc):
        fail("dkimpy rejects signature %d of a thrice-signed message" % idx)
if mox_results(two) != ["pass", "pass", "pass"]:
    fail("we reject the thrice-signed message: %s" % mox_results(two))
# one pass, two keys
both = run(["dkim", "sign", "--domain", "example.com", "--selector", "rsa", "--key", keys[0][2],
            "--selector", "ed", "--key", keys[1][2]], MESSAGES["plain"])
d = dkim.DKIM(both)
checks += 1
if not (d.verify(idx=0, dnsfunc=dnsfunc) and d.verify(idx=1, dnsfunc=dnsfunc)):
    fail("dkimpy rejects a two-key one-pass signature")

# LF input: output keeps LF, and verifies as CRLF (lone LF counts as CRLF).
lf = MESSAGES["plain"].replace(b"\r\n", b"\n")
signed = run(["dkim", "sign", "--domain", "example.com", "--selector", "ed", "--key", keys[1][2]], lf)
checks += 1
if b"\r" in signed or not signed.endswith(lf):
    fail("LF input not kept as LF")
if mox_results(signed) != ["pass"] or not dkim.verify(signed.replace(b"\n", b"\r\n"), dnsfunc=dnsfunc):
    fail("LF-signed message does not verify")

# Unsigned: JSON [] and no logfmt lines.
checks += 1
if json.loads(run(["dkim", "verify", "--json", "--dns-zone", zone], MESSAGES["plain"])) != {"signatures": []}:
    fail("unsigned message JSON")
if run(["dkim", "verify", "--dns-zone", zone], MESSAGES["plain"]) != b"":
    fail("unsigned message logfmt")
line = run(["dkim", "verify", "--dns-zone", zone], signed).decode()
checks += 1
if not line.startswith("result=pass domain=example.com selector=ed algorithm=ed25519-sha256 "):
    fail("logfmt line: " + line)
# usage errors exit 2
run(["dkim", "sign", "--domain", "example.com"], b"", ok=(2,))
run(["dkim", "verify", "--dns-zone", zone, "--dns-server", "127.0.0.1"], b"", ok=(2,))
run(["dkim", "genkey", "rsa", "--domain", "x", "--selector", "y", "--key-out", keys[0][2]], ok=(1,))

shutil.rmtree(W)
print("%d checks, %d failures" % (checks, len(failures)))
sys.exit(1 if failures else 0)
