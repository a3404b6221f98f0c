#!/usr/bin/python3
"""Interop tests: real SMTP clients (swaks, Python's smtplib, raw sockets)
against examples/smtpd-example on 127.0.0.1.

usage: interop.py PATH-TO-smtpd-example
Every network operation has a timeout; the server is killed at the end.
"""
import glob
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

SERVER = sys.argv[1]
TIMEOUT = 15
failures = []


def check(cond, what):
    if cond:
        print("ok:", what)
    else:
        print("FAIL:", what)
        failures.append(what)


def messages(d):
    return sorted(glob.glob(os.path.join(d, "*.eml")))


def envelope(eml):
    with open(eml[:-4] + ".env", encoding="utf-8") as f:
        return dict_multi(f.read())


def dict_multi(text):
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition("=")
        out.setdefault(k, []).append(v)
    return out


def wait_new(d, before, n=1):
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        now = messages(d)
        if len(now) >= len(before) + n:
            return [m for m in now if m not in before]
        time.sleep(0.05)
    return []


def raw_session(port, data, expect_replies):
    """Sends `data` at once (pipelined) and reads until `expect_replies`
    final reply lines arrived (or the timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    buf = b""
    try:
        s.sendall(data)
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            finals = [l for l in buf.split(b"\r\n") if len(l) >= 4 and l[3:4] == b" "]
            if len(finals) >= expect_replies:
                break
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    return buf.decode("utf-8", "replace")


def main():
    tmp = tempfile.mkdtemp(prefix="smtpd-interop-")
    store = os.path.join(tmp, "store")
    os.mkdir(store)
    portfile = os.path.join(tmp, "port")
    proc = subprocess.Popen([SERVER, "--dir", store, "--port", "0", "--port-file", portfile,
                             "--max-seconds", "110", "--hostname", "mox.example"])
    try:
        deadline = time.time() + TIMEOUT
        while not os.path.exists(portfile) and time.time() < deadline:
            time.sleep(0.05)
        port = int(open(portfile).read())

        # --- swaks, plain
        before = messages(store)
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port),
                            "--from", "alice@x.example", "--to", "bob@y.example",
                            "--header", "Subject: swaks plain",
                            "--body", "line one\n.starts with a dot\nlast\n",
                            "--timeout", "10"], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "swaks plain delivery exit 0")
        new = wait_new(store, before)
        check(len(new) == 1, "swaks plain stored one message")
        if new:
            body = open(new[0], "rb").read()
            check(body.startswith(b"Received: from "), "Received header first")
            check(b"\r\n.starts with a dot\r\n" in body, "dot-unstuffed line intact")
            check(b"\r\n.\r\n" not in body, "terminator not stored")
            env = envelope(new[0])
            check(env.get("from") == ["<alice@x.example>"], "envelope sender")
            check(env.get("rcpt") == ["<bob@y.example>"], "envelope recipient")

        # --- swaks with pipelining, several recipients
        before = messages(store)
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), "--pipeline",
                            "--from", "alice@x.example", "--to", "b1@y.example,b2@y.example,b3@y.example",
                            "--timeout", "10"], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "swaks --pipeline exit 0")
        check("PIPELINING" in r.stdout, "PIPELINING advertised to swaks")
        new = wait_new(store, before)
        check(len(new) == 1 and len(envelope(new[0]).get("rcpt", [])) == 3,
              "pipelined transaction with 3 recipients")

        # --- smtplib: 8BITMIME with an 8-bit body
        before = messages(store)
        with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as c:
            c.ehlo("client.example")
            check(c.has_extn("8bitmime") and c.has_extn("smtputf8") and c.has_extn("chunking"),
                  "smtplib sees 8BITMIME, SMTPUTF8, CHUNKING")
            msg = "Subject: caf\u00e9\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nna\u00efve\r\n".encode()
            refused = c.sendmail("carol@x.example", ["dave@y.example"], msg, mail_options=["BODY=8BITMIME"])
            check(refused == {}, "smtplib 8BITMIME accepted")
        new = wait_new(store, before)
        if new:
            check("na\u00efve".encode() in open(new[0], "rb").read(), "8-bit body stored unchanged")
            check(envelope(new[0]).get("body") == ["2"], "BODY=8BITMIME recorded")

        # --- smtplib: SMTPUTF8 addresses
        before = messages(store)
        with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as c:
            c.ehlo("client.example")
            msg = "From: j\u00f6rg@x.example\r\nSubject: utf8\r\n\r\nhi\r\n".encode()
            refused = c.sendmail("j\u00f6rg@x.example", ["\u00fcser@y.example"], msg,
                                 mail_options=["SMTPUTF8", "BODY=8BITMIME"])
            check(refused == {}, "smtplib SMTPUTF8 accepted")
            # Without SMTPUTF8 the same address is refused.
            try:
                c.sendmail("j\u00f6rg@x.example".encode().decode("latin-1"), ["a@y.example"], b"x\r\n")
                check(False, "non-ASCII sender without SMTPUTF8 refused")
            except smtplib.SMTPSenderRefused as e:
                check(e.smtp_code == 553, "non-ASCII sender without SMTPUTF8 refused with 553")
            except (UnicodeEncodeError, smtplib.SMTPException) as e:
                check(False, "non-ASCII sender without SMTPUTF8: unexpected %r" % (e,))
        new = wait_new(store, before)
        if new:
            env = envelope(new[0])
            check(env.get("smtputf8") == ["1"] and env.get("rcpt") == ["<\u00fcser@y.example>"],
                  "SMTPUTF8 envelope stored")

        # --- smtplib: refused recipient syntax, RSET, VRFY, NOOP, HELP
        with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as c:
            c.ehlo("client.example")
            code, _ = c.mail("a@x.example")
            check(code == 250, "MAIL 250")
            code, text = c.rcpt("not an address")
            check(code == 501, "RCPT with a bad address gets 501")
            code, _ = c.rset()
            check(code == 250, "RSET 250")
            code, _ = c.verify("someone")
            check(code == 252, "VRFY 252")
            code, _ = c.noop()
            check(code == 250, "NOOP 250")
            code, _ = c.docmd("STARTTLS")
            check(code == 502, "STARTTLS refused without TLS")

        # --- raw socket: pipelined BDAT (swaks and smtplib cannot)
        before = messages(store)
        out = raw_session(port, b"EHLO raw.example\r\nMAIL FROM:<r@x.example> BODY=BINARYMIME\r\n"
                                b"RCPT TO:<s@y.example>\r\nBDAT 15\r\nSubject: bdat\r\n"
                                b"BDAT 11 LAST\r\n\r\nbinary\x00\r\nQUIT\r\n", 7)
        check("250 2.0.0 15 octets received" in out, "BDAT chunk acknowledged")
        check("queued as" in out and "221 2.0.0" in out, "BDAT LAST accepted")
        new = wait_new(store, before)
        if new:
            data = open(new[0], "rb").read()
            check(data.endswith(b"Subject: bdat\r\n\r\nbinary\x00\r\n"), "BDAT content stored exactly")
            check(envelope(new[0]).get("chunking") == ["1"], "chunking recorded")

        # --- raw socket: a smuggling attempt is refused and nothing is stored
        before = messages(store)
        out = raw_session(port, b"EHLO raw.example\r\nMAIL FROM:<r@x.example>\r\nRCPT TO:<s@y.example>\r\n"
                                b"DATA\r\n", 5)
        out = raw_session(port, b"EHLO raw.example\r\nMAIL FROM:<r@x.example>\r\nRCPT TO:<s@y.example>\r\n"
                                b"DATA\r\nSubject: x\r\n\r\nhi\n.\nMAIL FROM:<evil@x.example>\r\n"
                                b"RCPT TO:<victim@y.example>\r\nDATA\r\nforged\r\n.\r\nNOOP\r\nQUIT\r\n", 7)
        check("500 5.5.2" in out and "smuggling" in out, "smuggling attempt refused")
        check("250 2.0.0 ok" in out and "221 2.0.0" in out, "session in sync after smuggling")
        time.sleep(0.3)
        check(messages(store) == before, "nothing stored from the smuggling attempt")

        # --- many sessions at once
        before = messages(store)
        socks = []
        for i in range(10):
            s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            socks.append(s)
        for i, s in enumerate(socks):
            s.sendall(("EHLO c%d.example\r\nMAIL FROM:<p%d@x.example>\r\nRCPT TO:<q@y.example>\r\n"
                       "DATA\r\n" % (i, i)).encode())
        for s in socks:
            s.sendall(b"Subject: parallel\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        bufs = []
        for s in socks:
            buf = b""
            deadline = time.time() + TIMEOUT
            while b"221 " not in buf and time.time() < deadline:
                d = s.recv(4096)
                if not d:
                    break
                buf += d
            s.close()
            bufs.append(buf)
        got = wait_new(store, before, 10)
        check(len(got) == 10, "10 parallel sessions delivered")
        if len(got) != 10:
            print("delivered %d; replies:" % len(got))
            for b in bufs:
                print(repr(b[-160:]))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("all interop checks passed")


main()
