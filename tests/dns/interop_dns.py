#!/usr/bin/python3
"""Interop test: `mox dns lookup` against a real DNS server on 127.0.0.1
(and ::1 when available), built with python3-dnslib, and against zone
files. Checks text and JSON output for NOERROR, NXDOMAIN, NODATA, SERVFAIL,
REFUSED, TIMEOUT, the AD bit, CNAME chains (with injected foreign records
that must be ignored), TCP fallback after truncation, replies with a wrong
ID that must be ignored, and the tool's exit codes.

Environment: MOX_TOOL (the mox binary), MOX_TEST_DATA (tests/data)."""

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

from dnslib import AAAA, A, CNAME, MX, QTYPE, RCODE, RR, TXT, DNSRecord

TOOL = os.environ["MOX_TOOL"]
DATA = os.environ["MOX_TEST_DATA"]
failures = []


def check(cond, what):
    if cond:
        print("ok   " + what)
    else:
        print("FAIL " + what)
        failures.append(what)


# ------------------------------------------------------------------ server

BIG = ["x" * 200 + str(i) for i in range(12)]  # > 1232 octets: truncated over UDP


def answer(request, over_tcp):
    """Returns reply bytes, a list of datagrams, or None (stay silent)."""
    q = request.q
    name = str(q.qname).lower()
    reply = request.reply()  # aa=1, ra=1, same id and question
    reply.header.ad = 0      # dnslib copies AD from the query; we decide
    if name == "slow.test.":
        return None
    if name == "fail.test.":
        reply.header.rcode = RCODE.SERVFAIL
        return reply.pack()
    if name == "refused.test.":
        reply.header.rcode = RCODE.REFUSED
        return reply.pack()
    if name == "nx.test.":
        reply.header.rcode = RCODE.NXDOMAIN
        return reply.pack()
    if name == "big.test.":
        if not over_tcp:
            reply.header.tc = 1
            return reply.pack()
        if q.qtype == QTYPE.TXT:
            for s in BIG:
                reply.add_answer(RR(q.qname, QTYPE.TXT, ttl=60, rdata=TXT(s)))
        return reply.pack()
    if name == "spoof.test.":
        # a reply with the wrong ID first (must be ignored), then the real one
        bad = DNSRecord.parse(reply.pack())
        bad.header.id = (request.header.id + 1) & 0xFFFF
        bad.add_answer(RR(q.qname, QTYPE.A, ttl=60, rdata=A("6.6.6.6")))
        reply.add_answer(RR(q.qname, QTYPE.A, ttl=60, rdata=A("192.0.2.7")))
        return [bad.pack(), reply.pack()]
    if name == "alias.test.":
        reply.add_answer(RR("alias.test.", QTYPE.CNAME, ttl=30, rdata=CNAME("ok.test.")))
        reply.add_answer(RR("evil.test.", QTYPE.A, ttl=30, rdata=A("6.6.6.6")))
        if q.qtype == QTYPE.A:
            reply.add_answer(RR("ok.test.", QTYPE.A, ttl=60, rdata=A("192.0.2.1")))
        return reply.pack()
    if name in ("ok.test.", "secure.test."):
        if name == "secure.test.":
            reply.header.ad = 1
        if q.qtype == QTYPE.A:
            reply.add_answer(RR(q.qname, QTYPE.A, ttl=60, rdata=A("192.0.2.1")))
        elif q.qtype == QTYPE.TXT:
            reply.add_answer(RR(q.qname, QTYPE.TXT, ttl=60,
                                rdata=TXT([b'v=spf1 "quoted" back\\slash', b"tab\there\x01"])))
        elif q.qtype == QTYPE.MX:
            reply.add_answer(RR(q.qname, QTYPE.MX, ttl=60, rdata=MX("mx.ok.test.", 10)))
        # AAAA and others: NODATA
        return reply.pack()
    reply.header.rcode = RCODE.NXDOMAIN
    return reply.pack()


def serve_udp(sock):
    while True:
        try:
            data, peer = sock.recvfrom(65535)
        except OSError:
            return
        try:
            req = DNSRecord.parse(data)
        except Exception:
            continue
        out = answer(req, False)
        if out is None:
            continue
        for d in out if isinstance(out, list) else [out]:
            sock.sendto(d, peer)


def serve_tcp(sock):
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        conn.settimeout(5)
        try:
            hdr = conn.recv(2)
            (n,) = struct.unpack("!H", hdr)
            data = b""
            while len(data) < n:
                chunk = conn.recv(n - len(data))
                if not chunk:
                    break
                data += chunk
            out = answer(DNSRecord.parse(data), True)
            if out is not None:
                out = out[-1] if isinstance(out, list) else out
                conn.sendall(struct.pack("!H", len(out)) + out)
        except Exception:
            pass
        finally:
            conn.close()


def start_server(family, host):
    for _ in range(20):
        u = socket.socket(family, socket.SOCK_DGRAM)
        u.bind((host, 0))
        port = u.getsockname()[1]
        t = socket.socket(family, socket.SOCK_STREAM)
        try:
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind((host, port))
        except OSError:
            u.close()
            t.close()
            continue
        t.listen(8)
        threading.Thread(target=serve_udp, args=(u,), daemon=True).start()
        threading.Thread(target=serve_tcp, args=(t,), daemon=True).start()
        return port
    raise SystemExit("no free port")


# ------------------------------------------------------------------ tool

def mox(*args, timeout=20):
    p = subprocess.run([TOOL] + list(args), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def lookup(server_args, qtype, name):
    rc, out, err = mox("dns", "lookup", *server_args, qtype, name)
    check(rc == 0, f"text {qtype} {name}: exit 0 (got {rc}, stderr {err.strip()!r})")
    rcj, outj, errj = mox("dns", "lookup", "--json", *server_args, qtype, name)
    check(rcj == 0, f"json {qtype} {name}: exit 0 (got {rcj})")
    try:
        doc = json.loads(outj)
    except ValueError as e:
        check(False, f"json {qtype} {name}: parses ({e}: {outj!r})")
        doc = {"rcode": None, "authentic": None, "records": []}
    check(set(doc) == {"rcode", "authentic", "records"}, f"json {qtype} {name}: keys")
    return out.splitlines(), doc


def expect(server_args, qtype, name, rcode, authentic, lines):
    text, doc = lookup(server_args, qtype, name)
    head = f"; rcode={rcode} authentic={'yes' if authentic else 'no'}"
    check(text[:1] == [head], f"{qtype} {name}: first line {head!r} (got {text[:1]!r})")
    check(text[1:] == lines, f"{qtype} {name}: records {lines!r} (got {text[1:]!r})")
    check(doc["rcode"] == rcode, f"{qtype} {name}: json rcode {rcode} (got {doc['rcode']!r})")
    check(doc["authentic"] is authentic, f"{qtype} {name}: json authentic {authentic}")
    check(len(doc["records"]) == len(lines), f"{qtype} {name}: json record count")
    for rec, line in zip(doc["records"], lines):
        check(set(rec) == {"name", "ttl", "type", "data"}, f"{qtype} {name}: json record keys")
        want = line.split(" ", 4)
        check([rec["name"], str(rec["ttl"]), "IN", rec["type"], rec["data"]] == want,
              f"{qtype} {name}: json record {rec!r} matches {line!r}")
    return doc


def server_tests(srv):
    fast = ["--dns-server", srv, "--dns-timeout", "400", "--dns-attempts", "1"]
    expect(fast, "A", "ok.test", "NOERROR", False, ["ok.test. 60 IN A 192.0.2.1"])
    # the server echoes the question's spelling
    expect(fast, "A", "OK.Test.", "NOERROR", False, ["OK.Test. 60 IN A 192.0.2.1"])
    doc = expect(fast, "TXT", "ok.test", "NOERROR", False,
                 ['ok.test. 60 IN TXT "v=spf1 \\"quoted\\" back\\\\slash" "tab\\009here\\001"'])
    check(doc["records"][0]["data"] == '"v=spf1 \\"quoted\\" back\\\\slash" "tab\\009here\\001"',
          "TXT data with quotes and backslashes survives JSON")
    expect(fast, "MX", "ok.test", "NOERROR", False, ["ok.test. 60 IN MX 10 mx.ok.test."])
    expect(fast, "AAAA", "ok.test", "NOERROR", False, [])          # NODATA
    expect(fast, "A", "nx.test", "NXDOMAIN", False, [])
    expect(fast, "A", "secure.test", "NOERROR", True, ["secure.test. 60 IN A 192.0.2.1"])
    expect(fast, "A", "fail.test", "SERVFAIL", False, [])
    expect(fast, "A", "refused.test", "REFUSED", False, [])
    expect(fast, "A", "alias.test", "NOERROR", False,
           ["alias.test. 30 IN CNAME ok.test.", "ok.test. 60 IN A 192.0.2.1"])
    expect(fast, "A", "spoof.test", "NOERROR", False, ["spoof.test. 60 IN A 192.0.2.7"])
    big = [f'big.test. 60 IN TXT "{s}"' for s in BIG]
    expect(fast, "TXT", "big.test", "NOERROR", False, big)  # UDP truncated -> TCP
    t0 = time.monotonic()
    expect(fast, "A", "slow.test", "TIMEOUT", False, [])
    took = time.monotonic() - t0
    check(took < 8, f"two TIMEOUT lookups took {took:.1f}s (< 8 s)")
    rc, out, err = mox("dns", "lookup", "--dns-server", srv, "--dns-timeout", "300",
                       "--dns-attempts", "2", "A", "slow.test")
    check(rc == 0 and out.startswith("; rcode=TIMEOUT"), "TIMEOUT with 2 attempts")


def zone_tests():
    zone = os.path.join(DATA, "dns", "example.zone")
    z = ["--dns-zone", zone]
    expect(z, "TXT", "example.org", "NOERROR", True, ['example.org. 300 IN TXT "v=spf1 mx -all"'])
    expect(z, "A", "www.example.org", "NOERROR", False,
           ["www.example.org. 300 IN CNAME mx1.example.org.", "mx1.example.org. 300 IN A 192.0.2.10"])
    expect(z, "AAAA", "mx1.example.org", "NOERROR", True, ["mx1.example.org. 300 IN AAAA 2001:db8::10"])
    expect(z, "MX", "mx1.example.org", "NOERROR", True, [])             # NODATA
    expect(z, "A", "b.example.org", "NOERROR", False, [])               # empty non-terminal
    expect(z, "A", "nope.example.org", "NXDOMAIN", False, [])
    expect(z, "A", "broken.example.org", "SERVFAIL", False, [])
    expect(z, "TXT", "slow.example.org", "TIMEOUT", False, [])
    expect(z, "TLSA", "_25._tcp.mx1.example.org", "NOERROR", False,
           ["_25._tcp.mx1.example.org. 300 IN TLSA 3 1 1 "
            "8755CDAA8FE24EF16CC0F2C918063185E433FAAF1415664911D9E30A924138C4"])
    doc = expect(z, "TXT", "quote.example.org", "NOERROR", False,
                 ['quote.example.org. 300 IN TXT "a \\"quoted\\" word; a back\\\\slash; '
                  'a tab\\009; a high byte\\200"'])
    check('\\"quoted\\"' in doc["records"][0]["data"], "JSON keeps the escaped quotes")
    expect(z, "TXT", "sel._domainkey.example.org", "NOERROR", False,
           ['sel._domainkey.example.org. 300 IN TXT "v=DKIM1; k=rsa; " '
            '"p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ"'])

    # exit codes
    rc, out, err = mox("dns", "lookup", "--dns-zone", "/nonexistent/zone", "A", "x")
    check(rc == 1 and out == "" and "cannot open" in err, f"unreadable zone file: exit 1 ({rc}, {err!r})")
    rc, out, err = mox("dns", "lookup", "--dns-zone", os.path.join(DATA, "dns", "bad.zone"), "A", "x")
    check(rc == 1 and "bad.zone:3:" in err, f"malformed zone file: exit 1 with FILE:LINE ({rc}, {err!r})")
    for args in (["A"], [], ["A", "x", "y"], ["BOGUS", "x"], ["--frob", "A", "x"],
                 ["--dns-zone"], ["--dns-server", "not-an-ip", "A", "x"],
                 ["--dns-server", "127.0.0.1:99999", "A", "x"],
                 ["--dns-zone", zone, "--dns-server", "127.0.0.1", "A", "x"],
                 ["--dns-timeout", "0", "A", "x"], ["--dns-zone", zone, "A", "a..b"]):
        rc, out, err = mox("dns", "lookup", *args)
        check(rc == 2 and out == "", f"usage error {args}: exit 2 (got {rc})")
    rc, out, err = mox("dns", "lookup", "--help")
    check(rc == 0 and out.startswith("usage: mox dns lookup"), "mox dns lookup --help")
    rc, out, err = mox("dns", "--help")
    check(rc == 0 and "lookup" in out, "mox dns --help")
    rc, out, err = mox("dns")
    check(rc == 2, "mox dns without a command: exit 2")
    rc, out, err = mox("dns", "frob")
    check(rc == 2, "mox dns frob: exit 2")


def unreachable_tests():
    # a port nobody listens on: ICMP port unreachable -> exit 1
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    rc, out, err = mox("dns", "lookup", "--dns-server", f"127.0.0.1:{port}", "--dns-timeout", "500",
                       "--dns-attempts", "1", "A", "ok.test")
    check(rc == 1 and out == "" and "no DNS server could be reached" in err,
          f"unreachable server: exit 1 ({rc}, {err!r})")


def main():
    port = start_server(socket.AF_INET, "127.0.0.1")
    print(f"# dnslib server on 127.0.0.1:{port}")
    server_tests(f"127.0.0.1:{port}")
    try:
        port6 = start_server(socket.AF_INET6, "::1")
    except OSError as e:
        print(f"# IPv6 loopback unavailable ({e}); IPv6 server checks skipped")
    else:
        print(f"# dnslib server on [::1]:{port6}")
        fast = ["--dns-server", f"[::1]:{port6}", "--dns-timeout", "400", "--dns-attempts", "1"]
        expect(fast, "A", "secure.test", "NOERROR", True, ["secure.test. 60 IN A 192.0.2.1"])
        expect(fast, "A", "fail.test", "SERVFAIL", False, [])
        expect(fast, "A", "nx.test", "NXDOMAIN", False, [])
        big = [f'big.test. 60 IN TXT "{s}"' for s in BIG]
        expect(fast, "TXT", "big.test", "NOERROR", False, big)
        expect(fast, "A", "slow.test", "TIMEOUT", False, [])
    zone_tests()
    unreachable_tests()
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
