#!/usr/bin/python3
"""moxd against real clients on 127.0.0.1: swaks, smtplib, gsasl, openssl
s_client, dkimpy, the mox tool; Maildir contents byte for byte; smuggling;
config check; fsync order; load and crash tests (--slow).

usage: moxd_test.py --moxd PATH [--mox PATH] [--slow] [TEST...]
"""
import argparse
import base64
import email.utils
import glob
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

ARGS = None
WORK = None
TEMPLATE = None  # localserve directory initialised once per run


def run(cmd, timeout=30, input=None, check=False):
    p = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (cmd, p.returncode, p.stdout.decode(errors="replace"),
                                                     p.stderr.decode(errors="replace")))
    return p


class Server:
    """A moxd localserve on ephemeral ports, in a copy of the template."""

    def __init__(self, name, conf_edit=None, serve_conf=None, extra=None):
        self.dir = os.path.join(WORK, name)
        shutil.copytree(TEMPLATE, self.dir)
        if conf_edit:
            path = os.path.join(self.dir, "moxd.conf")
            with open(path) as f:
                text = f.read()
            with open(path, "w") as f:
                f.write(conf_edit(text))
        if serve_conf is not None:
            path = os.path.join(self.dir, "serve.conf")
            with open(path, "w") as f:
                f.write(serve_conf)
            cmd = [ARGS.moxd, "serve", "--config", path, "--ready"]
        else:
            cmd = [ARGS.moxd, "localserve", "--dir", self.dir, "--smtp-port", "0",
                   "--submission-port", "0", "--submissions-port", "0", "--metrics-port", "0"]
        self.stderr = open(os.path.join(self.dir, "stderr.log"), "wb")
        self.traced = bool(extra)
        env = dict(os.environ)
        if extra:
            # LeakSanitizer cannot run under ptrace (strace): it aborts with
            # a "fatal error" at exit. Leaks are checked by the other runs.
            env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
        self.p = subprocess.Popen((extra or []) + cmd, stdout=subprocess.PIPE, stderr=self.stderr,
                                  env=env)
        line = self._readline(15)
        m = re.match(r"moxd ready (.*)", line)
        assert m, "no ready line: %r (stderr: %s)" % (line, self.log())
        self.ready = line
        self.ports = {}
        for kv in m.group(1).split():
            k, v = kv.split("=", 1)
            if ":" in v and k in ("smtp", "submission", "submissions", "metrics"):
                self.ports[k] = int(v.rsplit(":", 1)[1])
            else:
                self.ports[k] = v
        self.maildir = os.path.join(self.dir, "Maildir")

    def _readline(self, timeout):
        import select
        end = time.time() + timeout
        buf = b""
        while time.time() < end:
            r, _, _ = select.select([self.p.stdout], [], [], 0.2)
            if r:
                c = os.read(self.p.stdout.fileno(), 1)
                if not c:
                    break
                if c == b"\n":
                    return buf.decode()
                buf += c
            elif self.p.poll() is not None:
                break
        return buf.decode()

    def log(self):
        if not self.stderr.closed:
            self.stderr.flush()
        with open(os.path.join(self.dir, "stderr.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def messages(self, sub="new"):
        out = []
        for p in sorted(glob.glob(os.path.join(self.maildir, sub, "*"))):
            with open(p, "rb") as f:
                out.append(f.read())
        return out

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            # Under strace, the signal goes to moxd (strace's child), not
            # to strace, which would leave moxd running.
            try:
                with open("/proc/%d/task/%d/children" % (self.p.pid, self.p.pid)) as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                kids = []
            if self.traced and kids:
                for k in kids:
                    os.kill(k, sig)
            else:
                self.p.send_signal(sig)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.stderr.close()
        log = self.log()
        # Under the sanitizers: any report fails the test.
        for bad in ("Sanitizer", "runtime error:"):
            assert bad not in log, log[-3000:]
        return self.p.returncode


def swaks(*a, timeout=30):
    return run(["swaks", "--timeout", "10"] + list(a), timeout=timeout)


def split_ours(msg):
    """Returns (our headers, the rest) of a Maildir file: our fields are
    X-Mox-Reason, Authentication-Results, Received-SPF, Received."""
    ours = []
    rest = msg
    for name in (b"X-Mox-Reason:", b"Authentication-Results:", b"Received-SPF:", b"Received:"):
        assert rest.startswith(name), "expected %s at %r" % (name, rest[:80])
        m = re.match(rb"[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*", rest)
        ours.append(m.group(0))
        rest = rest[m.end():]
    return b"".join(ours), rest


def authres(msg):
    """The method=result pairs of our (first) Authentication-Results field,
    unfolded: {"spf": "pass", ...}."""
    ours, _ = split_ours(msg)
    m = re.search(rb"Authentication-Results:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", ours)
    assert m, ours
    text = re.sub(rb"\r\n[ \t]", b" ", m.group(1)).decode()
    return dict(re.findall(r"(?:^|;)\s*([a-z]+)=([a-z]+)", text))


def assert_local_pass(msg):
    """A locally submitted message: SPF (through the localserve zone's
    record for localhost), DKIM (our signature) and DMARC pass."""
    ar = authres(msg)
    for k in ("spf", "dkim", "dmarc"):
        assert ar.get(k) == "pass", (k, ar, msg[:1200])
    assert b"\r\nReceived-SPF: pass " in split_ours(msg)[0], msg[:1200]


# ---------------------------------------------------------------- tests


def test_ready_line():
    s = Server("ready")
    try:
        assert s.ports["user"] == "mox@localhost" and s.ports["password"] == "moxmoxmox", s.ready
        assert s.ports["maildir"] == os.path.realpath(s.maildir), s.ready
        for k in ("smtp", "submission", "submissions", "metrics"):
            assert s.ports[k] > 0
        for d in ("tmp", "new", "cur"):
            assert os.path.isdir(os.path.join(s.maildir, d))
        for f in ("moxd.conf", "cert.pem", "key.pem", "localserve.zone", "dkim-localhost-rsa.pem"):
            assert os.path.exists(os.path.join(s.dir, f)), f
        # metrics over HTTP
        c = socket.create_connection(("127.0.0.1", s.ports["metrics"]), timeout=5)
        c.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            b = c.recv(65536)
            if not b:
                break
            data += b
        assert data.startswith(b"HTTP/1.0 200"), data[:100]
        assert b"moxd_connections" in data, data
    finally:
        assert s.stop() == 0, s.log()


def test_swaks_plain_delivery():
    s = Server("plain")
    try:
        body = b"Subject: plain\r\nFrom: alice@example.org\r\nTo: bob@example.com\r\n\r\nhello\r\n..leading dot\r\n.\r\n"
        out = raw_session(s.ports["smtp"], b"EHLO client.example\r\nMAIL FROM:<alice@example.org>\r\n"
                          b"RCPT TO:<bob@example.com>\r\nDATA\r\n" + body + b"QUIT\r\n")
        assert b"250 2.0.0" in out, out
        p = swaks("--server", "127.0.0.1:%d" % s.ports["smtp"], "--from", "alice@example.org",
                  "--to", "bob@example.com")
        assert p.returncode == 0, p.stdout.decode()
        msgs = s.messages()
        assert len(msgs) == 2, msgs
        mine = [m for m in msgs if b"Subject: plain" in m][0]
        ours, rest = split_ours(mine)
        # dot-unstuffed, CRLF line ends, exactly the message as sent
        assert rest == body[:-3].replace(b"\r\n..", b"\r\n."), rest
        assert b"spf=none" in ours and b"dmarc=none" in ours and b"iprev=pass" in ours, ours
        assert re.search(rb"with\s+ESMTP id", ours), ours
    finally:
        s.stop()


def test_swaks_auth_tls():
    s = Server("auth")
    try:
        n = 0
        for mech in ("PLAIN", "LOGIN", "CRAM-MD5"):
            for mode, port in (("-tls", "submission"), ("-tlsc", "submissions")):
                p = swaks("--server", "127.0.0.1:%d" % s.ports[port], mode, "--auth", mech,
                          "--auth-user", "mox@localhost", "--auth-password", "moxmoxmox",
                          "--from", "mox@localhost", "--to", "friend@example.net",
                          "--header", "Subject: %s %s" % (mech, mode))
                out = p.stdout.decode()
                assert p.returncode == 0, out
                assert "235 2.7.0" in out and "250 2.0.0" in out, out
                n += 1
        # a wrong password is refused
        p = swaks("--server", "127.0.0.1:%d" % s.ports["submission"], "-tls", "--auth", "PLAIN",
                  "--auth-user", "mox@localhost", "--auth-password", "wrong",
                  "--from", "mox@localhost", "--to", "friend@example.net")
        assert p.returncode != 0 and "535" in p.stdout.decode(), p.stdout.decode()
        msgs = s.messages()
        assert len(msgs) == n, len(msgs)
        for m in msgs:
            assert b"with ESMTPSA" in m and b"TLS1.2" in m, m[:800]
            assert_local_pass(m)
            assert b"\r\nDKIM-Signature:" in m, m[:800]
    finally:
        s.stop()


def test_smtplib_starttls_multi():
    s = Server("smtplib")
    try:
        ctx = ssl.create_default_context(cafile=os.path.join(s.dir, "cert.pem"))
        msg = ("From: mox@localhost\r\nTo: a@example.com, b@example.org\r\nSubject: multi\r\n"
               "Message-ID: <m1@localhost>\r\nDate: %s\r\n\r\nline one\r\n.line with dot\r\n"
               % email.utils.formatdate()).encode()
        with smtplib.SMTP("127.0.0.1", s.ports["submission"], local_hostname="client.example",
                          timeout=15) as c:
            c.starttls(context=ctx)
            c.login("mox@localhost", "moxmoxmox")
            refused = c.sendmail("mox@localhost", ["a@example.com", "b@example.org", "c@localhost"], msg)
            assert refused == {}, refused
        msgs = s.messages()
        # one account (the catch-all): delivered once
        assert len(msgs) == 1, len(msgs)
        ours, rest = split_ours(msgs[0])
        # the signature is prepended; the message follows unchanged
        assert rest.startswith(b"DKIM-Signature:"), rest[:100]
        assert rest.endswith(msg), rest
        assert b"helo=client.example" in ours, ours
    finally:
        s.stop()


def test_gsasl_scram():
    s = Server("gsasl")
    try:
        base = ["gsasl", "--smtp", "--starttls", "--x509-ca-file=" + os.path.join(s.dir, "cert.pem"),
                "-a", "mox@localhost", "-p", "moxmoxmox", "--hostname", "localhost"]
        for mech, extra in (("SCRAM-SHA-1", ["--no-cb"]), ("SCRAM-SHA-256", ["--no-cb"]),
                            ("SCRAM-SHA-256-PLUS", [])):
            p = run(base + extra + ["-m", mech, "127.0.0.1", str(s.ports["submission"])],
                    input=b"", timeout=20)
            out = p.stdout.decode() + p.stderr.decode()
            assert "235 2.7.0" in out, (mech, out)
        # Channel-binding downgrade: gsasl can bind (flag "y") while we
        # offer -PLUS: RFC 5802 requires a refusal.
        p = run(base + ["-m", "SCRAM-SHA-256", "127.0.0.1", str(s.ports["submission"])],
                input=b"", timeout=20)
        assert "235" not in p.stdout.decode(), p.stdout.decode()
        # wrong password
        bad = [a if a != "moxmoxmox" else "nope" for a in base]
        p = run(bad + ["-m", "SCRAM-SHA-256-PLUS", "127.0.0.1", str(s.ports["submission"])],
                input=b"", timeout=20)
        assert "235" not in p.stdout.decode(), p.stdout.decode()
    finally:
        s.stop()


def test_msmtp_scram():
    # msmtp (GNU SASL underneath) with SCRAM-SHA-256 over STARTTLS, the
    # certificate checked against localserve's own; then the Maildir copy
    # byte for byte after our headers, with spf/dkim/dmarc=pass
    s = Server("msmtp")
    try:
        rc = os.path.join(s.dir, "msmtprc")
        log = os.path.join(s.dir, "msmtp.log")
        with open(rc, "w") as f:
            f.write("defaults\nlogfile %s\n\naccount moxd\nhost 127.0.0.1\nport %d\n"
                    "tls on\ntls_starttls on\ntls_trust_file %s\ntls_host_override localhost\n"
                    "auth scram-sha-256\nuser mox@localhost\npassword moxmoxmox\n"
                    "from mox@localhost\n"
                    % (log, s.ports["submission"], os.path.join(s.dir, "cert.pem")))
        os.chmod(rc, 0o600)
        body = ("From: mox@localhost\nTo: friend@example.net\nSubject: via msmtp\n"
                "Message-ID: <msmtp-1@localhost>\nDate: %s\n\nhello over SCRAM\n.dot line\n"
                % email.utils.formatdate()).encode()
        p = run(["msmtp", "-C", rc, "-a", "moxd", "--read-envelope-from", "friend@example.net"],
                input=body, timeout=30)
        assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
        msgs = s.messages()
        assert len(msgs) == 1, msgs
        m = msgs[0]
        assert b"with ESMTPSA" in m, m[:1000]
        assert_local_pass(m)
        # after our headers: the DKIM-Signature we added, then the message
        # as msmtp sent it (CRLF)
        _, rest = split_ours(m)
        assert rest.startswith(b"DKIM-Signature:"), rest[:200]
        rest = re.sub(rb"^DKIM-Signature:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*", b"", rest)
        assert rest == body.replace(b"\n", b"\r\n"), (rest, body)
        # the mechanism really was SCRAM-SHA-256 (the engine's metric)
        mt = urlopen_metrics(s)
        assert re.search(r'moxd_auth_total\{mechanism="SCRAM-SHA-256",result="ok"\} 1', mt), mt
        # and a wrong password fails
        with open(rc) as f:
            text = f.read()
        with open(rc, "w") as f:
            f.write(text.replace("password moxmoxmox", "password wrong"))
        p = run(["msmtp", "-C", rc, "-a", "moxd", "friend@example.net"], input=body, timeout=30)
        assert p.returncode != 0, p.stdout.decode() + p.stderr.decode()
        assert len(s.messages()) == 1
    finally:
        s.stop()


def test_client_cert():
    certdir = os.path.join(WORK, "clientkeys")
    os.makedirs(certdir, exist_ok=True)
    key, crt = os.path.join(certdir, "c.key"), os.path.join(certdir, "c.pem")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=client"], check=True)

    def edit(text):
        return text.replace("    catchall: true\n",
                            "    catchall: true\n    tls_public_keys: [%s]\n" % crt)

    s = Server("clientcert", conf_edit=edit)
    try:
        script = (b"EHLO client.example\r\nMAIL FROM:<mox@localhost>\r\nRCPT TO:<x@example.com>\r\n"
                  b"DATA\r\nFrom: mox@localhost\r\nSubject: by cert\r\n\r\nno AUTH\r\n.\r\nQUIT\r\n")
        p = run(["openssl", "s_client", "-quiet", "-connect", "127.0.0.1:%d" % s.ports["submissions"],
                 "-cert", crt, "-key", key, "-servername", "localhost"], input=script, timeout=20)
        out = p.stdout.decode()
        assert "250 2.0.0" in out, out + p.stderr.decode()
        msgs = s.messages()
        assert len(msgs) == 1 and b"by cert" in msgs[0], msgs
        # without the certificate, MAIL needs AUTH
        p = run(["openssl", "s_client", "-quiet", "-connect", "127.0.0.1:%d" % s.ports["submissions"],
                 "-servername", "localhost"], input=script, timeout=20)
        assert "530" in p.stdout.decode(), p.stdout.decode()
        # STARTTLS with the certificate on the submission port
        p = run(["openssl", "s_client", "-quiet", "-starttls", "smtp", "-connect",
                 "127.0.0.1:%d" % s.ports["submission"], "-cert", crt, "-key", key],
                input=script, timeout=20)
        assert "250 2.0.0" in p.stdout.decode(), p.stdout.decode()
        # Resumption (session ticket): the certificate still identifies the
        # account, so submission works without AUTH on the resumed session.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(crt, key)
        sess = None
        for i in range(2):
            raw = socket.create_connection(("127.0.0.1", s.ports["submissions"]), timeout=10)
            t = ctx.wrap_socket(raw, server_hostname="localhost", session=sess)
            f = t.makefile("rb")
            assert f.readline().startswith(b"220")
            t.sendall(script.replace(b"by cert", b"by cert %d" % i))
            out = f.read()
            assert b"250 2.0.0" in out, (i, out)
            if i == 1:
                assert t.session_reused, "session not resumed"
            sess = t.session
            t.close()
    finally:
        s.stop()


def raw_session(port, lines, timeout=10):
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    f = c.makefile("rb")
    out = [f.readline()]
    c.sendall(lines)
    c.shutdown(socket.SHUT_WR)
    try:
        while True:
            l = f.readline()
            if not l:
                break
            out.append(l)
    except socket.timeout:
        pass
    c.close()
    return b"".join(out)


def limits_conf(conns=10000, rate=1000000, auth_min=1000, auth_day=100000):
    """A conf_edit that sets localserve's (raised) per-IP limits."""
    def edit(text):
        for key, val in (("connections_per_ip", conns), ("new_connections_per_minute", rate),
                         ("auth_failures_per_minute", auth_min), ("auth_failures_per_day", auth_day)):
            text, n = re.subn(r"(?m)^(  %s:) \d+$" % key, r"\g<1> %d" % val, text)
            assert n == 1, (key, text)
        return text
    return edit


def connect_from(src, port, timeout=10):
    """A connection from loopback address `src` (127.0.0.0/8 is all ours):
    (socket, greeting line)."""
    c = socket.socket()
    c.settimeout(timeout)
    c.bind((src, 0))
    c.connect(("127.0.0.1", port))
    f = c.makefile("rb")
    return c, f, f.readline()


def urlopen_metrics(s):
    c = socket.create_connection(("127.0.0.1", s.ports["metrics"]), timeout=5)
    c.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        data += b
    c.close()
    return data.decode(errors="replace")


REFUSED = b"421 4.7.0 too many connections from your address\r\n"


def refused(src, port):
    c, f, line = connect_from(src, port)
    rest = f.read()  # the server closes after the 421
    c.close()
    return line == REFUSED and rest == b""


def auth_plain(f, c, password):
    tok = base64.b64encode(b"\0mox@localhost\0" + password).decode()
    c.sendall(("AUTH PLAIN %s\r\n" % tok).encode())
    return f.readline()


def ehlo(f, c):
    c.sendall(b"EHLO client.example\r\n")
    while True:
        l = f.readline()
        assert l.startswith(b"250"), l
        if l.startswith(b"250 "):
            return


BLOCKED = b"421 4.7.0 too many authentication failures, try later\r\n"


def test_limits_connections():
    # concurrent connections per IP: the 4th is refused; another IP is not
    # affected; closing one makes room again
    s = Server("limconn", conf_edit=limits_conf(conns=3))
    try:
        port = s.ports["smtp"]
        held = [connect_from("127.0.0.1", port) for _ in range(3)]
        for _, _, g in held:
            assert g.startswith(b"220 "), g
        assert refused("127.0.0.1", port)
        # the refused attempt did not take a slot, and the limit is per IP
        other = [connect_from("127.0.0.2", port) for _ in range(3)]
        for _, _, g in other:
            assert g.startswith(b"220 "), g
        assert refused("127.0.0.2", port)
        # the limit spans listeners (it is per address, not per port)
        assert refused("127.0.0.1", s.ports["submission"])
        held[0][0].sendall(b"QUIT\r\n")
        assert held[0][1].readline().startswith(b"221"), "no 221"
        held[0][0].close()
        ok = False
        for _ in range(50):  # the server sees the close asynchronously
            c, f, g = connect_from("127.0.0.1", port)
            c.close()
            if g.startswith(b"220 "):
                ok = True
                break
            assert g == REFUSED, g
            time.sleep(0.05)
        assert ok, "no room after a connection closed"
        for c, _, _ in held[1:] + other:
            c.close()
        m = urlopen_metrics(s)
        assert re.search(r'moxd_connection_refused_total\{reason="limit"\} [1-9]', m), m
    finally:
        s.stop()

    # new connections per minute per IP: the 6th within the minute is refused
    s = Server("limrate", conf_edit=limits_conf(rate=5))
    try:
        port = s.ports["smtp"]
        for i in range(5):
            c, f, g = connect_from("127.0.0.1", port)
            assert g.startswith(b"220 "), (i, g)
            c.close()
        assert refused("127.0.0.1", port)
        c, f, g = connect_from("127.0.0.3", port)
        assert g.startswith(b"220 "), g
        c.close()
    finally:
        s.stop()


def test_limits_auth_failures(wait_minute=False):
    # failed logins per IP and minute: after 4 failures every AUTH, even
    # with the right password, is answered 421 and the connection closed;
    # another IP logs in
    s = Server("limauth", conf_edit=limits_conf(auth_min=4, auth_day=6))
    try:
        port = s.ports["submission"]  # localserve offers AUTH without TLS
        c, f, g = connect_from("127.0.0.1", port)
        ehlo(f, c)
        for i in range(3):
            r = auth_plain(f, c, b"wrong")
            assert r.startswith(b"535 "), (i, r)
        c.close()
        c, f, g = connect_from("127.0.0.1", port)
        ehlo(f, c)
        r = auth_plain(f, c, b"wrong")
        assert r.startswith(b"535 "), r
        r = auth_plain(f, c, b"moxmoxmox")
        assert r == BLOCKED, r
        assert f.read() == b"", "not closed after 421"
        c.close()
        c, f, g = connect_from("127.0.0.1", port)
        ehlo(f, c)
        assert auth_plain(f, c, b"moxmoxmox") == BLOCKED
        c.close()
        c, f, g = connect_from("127.0.0.2", port)
        ehlo(f, c)
        r = auth_plain(f, c, b"moxmoxmox")
        assert r.startswith(b"235 "), r
        c.close()
        if not wait_minute:
            return
        # the minute window runs out: 127.0.0.1 logs in again; two more
        # failures reach the daily limit (6) while the minute count is 2
        time.sleep(61)
        c, f, g = connect_from("127.0.0.1", port)
        ehlo(f, c)
        r = auth_plain(f, c, b"moxmoxmox")
        assert r.startswith(b"235 "), r
        c.close()
        c, f, g = connect_from("127.0.0.1", port)
        ehlo(f, c)
        for i in range(2):
            r = auth_plain(f, c, b"wrong")
            assert r.startswith(b"535 "), (i, r)
        assert auth_plain(f, c, b"moxmoxmox") == BLOCKED
        c.close()
    finally:
        s.stop()


def test_limits_reset_after_a_minute():
    # the per-minute connection window also runs out
    s = Server("limrate2", conf_edit=limits_conf(rate=2))
    try:
        port = s.ports["smtp"]
        for i in range(2):
            c, f, g = connect_from("127.0.0.1", port)
            assert g.startswith(b"220 "), (i, g)
            c.close()
        assert refused("127.0.0.1", port)
        time.sleep(61)
        c, f, g = connect_from("127.0.0.1", port)
        assert g.startswith(b"220 "), g
        c.close()
    finally:
        s.stop()
    test_limits_auth_failures(wait_minute=True)


def test_smuggling():
    s = Server("smuggle")
    try:
        # Each sequence tries to end DATA early and inject a second message.
        for seq in (b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n", b"\n.\r"):
            pre = len(s.messages())
            data = (b"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@localhost>\r\nDATA\r\n"
                    b"Subject: outer\r\n\r\nbody" + seq +
                    b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<b@localhost>\r\nDATA\r\n"
                    b"Subject: smuggled\r\n\r\nx\r\n.\r\nQUIT\r\n")
            out = raw_session(s.ports["smtp"], data)
            msgs = s.messages()[pre:]
            for m in msgs:
                assert b"Subject: smuggled" not in m.split(b"\r\n\r\n", 1)[0] or b"Subject: outer" in m, (seq, m)
            assert not any(m.count(b"Received:") > 1 for m in msgs), (seq, msgs)
            # the message containing the sequence is refused
            assert b"250 2.0.0" not in out, (seq, out)
    finally:
        s.stop()


def test_dkim_verify_external():
    s = Server("dkim")
    try:
        p = swaks("--server", "127.0.0.1:%d" % s.ports["submission"], "-tls", "--auth", "PLAIN",
                  "--auth-user", "mox@localhost", "--auth-password", "moxmoxmox",
                  "--from", "mox@localhost", "--to", "someone@example.com",
                  "--header", "Subject: signed")
        assert p.returncode == 0, p.stdout.decode()
        path = glob.glob(os.path.join(s.maildir, "new", "*"))[0]
        with open(path, "rb") as f:
            assert_local_pass(f.read())
        zone = os.path.join(s.dir, "localserve.zone")
        if ARGS.mox:
            p = run([ARGS.mox, "dkim", "verify", "--dns-zone", zone, path])
            out = p.stdout.decode()
            assert p.returncode == 0 and "pass" in out, out + p.stderr.decode()
        # dkimpy, with DNS from the same zone file
        code = r'''
import sys, dkim, re
zone = open(sys.argv[1]).read()
recs = {}
cur = None
txt = ""
for line in zone.splitlines():
    m = re.match(r'^(\S+)\s+IN\s+TXT\s+(.*)$', line)
    if m:
        name = m.group(1)
        if not name.endswith("."):
            name = name + ".localhost."
        recs[name.lower()] = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(2)))
def dnsfunc(name, timeout=5):
    n = name.decode() if isinstance(name, bytes) else name
    return recs.get(n.lower().rstrip(".") + ".", "").encode()
msg = open(sys.argv[2], "rb").read()
ok = dkim.verify(msg, dnsfunc=dnsfunc)
print("dkimpy", ok)
sys.exit(0 if ok else 1)
'''
        p = run(["/usr/bin/python3", "-c", code, zone, path])
        assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    finally:
        s.stop()


def test_config_check():
    good = os.path.join(TEMPLATE, "moxd.conf")
    p = run([ARGS.moxd, "config", "check", good])
    assert p.returncode == 0 and b": ok" in p.stdout, p.stdout
    bad = os.path.join(WORK, "bad.conf")
    with open(bad, "w") as f:
        f.write("hostname: mail.example.org\n"          # 1
                "listeners:\n"                          # 2
                "  - kind: smtpx\n"                     # 3
                "    port: 99999\n"                     # 4
                "tls:\n"                                # 5
                "  certificates:\n"                     # 6
                "    - cert: /nonexistent.pem\n"        # 7
                "      key: /nonexistent.key\n"         # 8
                "accounts:\n"                           # 9
                "  a:\n"                                # 10
                "    credentials: \"garbage\"\n"        # 11
                "    addresses: [a@example.org]\n"      # 12
                "    quota: lots\n"                     # 13
                "colour: blue\n")                       # 14
    p = run([ARGS.moxd, "config", "check", bad])
    out = p.stdout.decode()
    assert p.returncode == 1, out
    for line in (":3: listener kind", ":4: port", ":7: certificate", ":11: credentials",
                 ":13: quota", ":14: unknown option colour", "example.org is not configured"):
        assert line in out, (line, out)
    for l in out.strip().splitlines():
        assert re.match(r"^%s:\d+: " % re.escape(bad), l), l
    with open(bad, "w") as f:
        f.write("hostname: [unclosed\n")
    p = run([ARGS.moxd, "config", "check", bad])
    assert p.returncode == 1 and re.match(r"^%s:\d+: " % re.escape(bad), p.stdout.decode()), p.stdout
    # found by fuzz/moxd_config: a key given twice (leaked the first value),
    # a control byte in a key (split the problem line), and device files
    # (config check would read /dev/zero forever)
    with open(good) as f:
        text = f.read()
    with open(bad, "w") as f:
        f.write(text.replace("dns_zone: localserve.zone\n",
                             "dns_zone: localserve.zone\ndns_zone: /dev/zero\n\"col\\nour\": 1\n"))
    p = run([ARGS.moxd, "config", "check", bad], timeout=10)
    out = p.stdout.decode()
    assert p.returncode == 1, out
    assert re.search(r":\d+: configuration: dns_zone given twice \(first at line \d+\)\n", out), out
    assert "unknown option col\\x0aour\n" in out, out
    for l in out.strip().splitlines():
        assert re.match(r"^%s:\d+: " % re.escape(bad), l), l
    with open(bad, "w") as f:
        f.write(text.replace("dns_zone: localserve.zone", "dns_zone: /dev/zero")
                .replace("cert: cert.pem", "cert: /dev/stdin"))
    p = run([ARGS.moxd, "config", "check", bad], timeout=10)
    out = p.stdout.decode()
    assert p.returncode == 1, out
    assert "dns_zone /dev/zero: not a regular file" in out, out
    assert "certificate /dev/stdin: not a regular file" in out, out


def serve_conf(s_dir, extra_accounts=""):
    with open(os.path.join(TEMPLATE, "moxd.conf")) as f:
        creds = re.search(r'credentials: "([^"]*)"', f.read()).group(1)
    return """hostname: mail.example.org
dns_zone: %(d)s/test.zone
tls:
  certificates:
    - {cert: %(d)s/cert.pem, key: %(d)s/key.pem}
listeners:
  - {kind: smtp, address: 127.0.0.1, port: 0}
  - {kind: submission, address: 127.0.0.1, port: 0}
  - {kind: submissions, address: 127.0.0.1, port: 0}
limits:
  unknown_recipient_delay_ms: 300
domains:
  example.org:
    dkim:
      - {selector: moxd1, key: %(d)s/dkim-localhost-rsa.pem}
accounts:
  alice:
    credentials: "%(c)s"
    addresses: [alice@example.org]
  bob:
    credentials: "%(c)s"
    addresses: [bob@example.org]
    quota: 2000
  carol:
    credentials: "%(c)s"
    addresses: [carol@example.org]
aliases:
  team@example.org:
    members: [alice@example.org, bob@example.org, carol@example.org]
    post_public: true
    allow_msg_from: true
    list_members: true
  private@example.org:
    members: [alice@example.org, carol@example.org]
""" % {"d": s_dir, "c": creds}


def test_serve_system_dns():
    """The system resolver (answers from worker threads, several questions
    out at once): SPF from MAIL FROM on, then msgauth with that outcome;
    the verdict and its headers as with the zone. Skipped when the
    resolver of resolv.conf does not answer."""
    try:
        import dns.resolver
        r = dns.resolver.Resolver()
        r.lifetime = 2
        try:
            r.resolve("example.com", "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            pass
    except Exception as e:  # no resolver reachable
        print("  skip: no system resolver (%s)" % e)
        return
    d = os.path.join(WORK, "sysdnsdir")
    os.makedirs(d, exist_ok=True)
    for f in ("cert.pem", "key.pem", "dkim-localhost-rsa.pem"):
        shutil.copy(os.path.join(TEMPLATE, f), d)
    conf = serve_conf(d).replace("dns_zone: %s/test.zone\n" % d, "")
    s = Server("sysdns", serve_conf=conf)
    try:
        port = s.ports["smtp"]
        for i in range(3):
            p = swaks("--server", "127.0.0.1:%d" % port, "--from", "x%d@example.com" % i,
                      "--to", "alice@example.org", timeout=60)
            assert p.returncode == 0, p.stdout.decode()
        msgs = glob.glob(os.path.join(s.dir, "accounts", "alice", "Maildir", "new", "*"))
        assert len(msgs) == 3, msgs
        with open(msgs[0], "rb") as f:
            m = f.read()
        ours, _ = split_ours(m)
        assert b"Authentication-Results: mail.example.org;" in ours, ours
        assert b"spf=" in ours and b"dmarc=" in ours and b"iprev=" in ours, ours
        assert b"Received-SPF: " in ours, ours
    finally:
        assert s.stop() == 0


def test_serve_rules():
    """Configured daemon: unknown recipients, aliases (once per member,
    not to the sender), quota, submission sender rules, DMARC reject."""
    d = os.path.join(WORK, "servedir")
    os.makedirs(d, exist_ok=True)
    for f in ("cert.pem", "key.pem", "dkim-localhost-rsa.pem"):
        shutil.copy(os.path.join(TEMPLATE, f), d)
    with open(os.path.join(d, "test.zone"), "w") as f:
        f.write("$ORIGIN example.net.\n@ IN TXT \"v=spf1 -all\"\n_dmarc IN TXT \"v=DMARC1; p=reject\"\n"
                "1.0.0.127.in-addr.arpa. IN PTR localhost.\nlocalhost. IN A 127.0.0.1\n")
    s = Server("serve", serve_conf=serve_conf(d))
    base = os.path.join(s.dir, "accounts")

    def count(acct):
        return len(glob.glob(os.path.join(base, acct, "Maildir", "new", "*")))

    try:
        port = s.ports["smtp"]
        t0 = time.time()
        out = raw_session(port, b"EHLO x\r\nMAIL FROM:<x@example.com>\r\nRCPT TO:<nobody@example.org>\r\nQUIT\r\n")
        assert b"550 5.1.1" in out, out
        assert time.time() - t0 >= 0.25, "unknown recipient not delayed"
        # alias + direct member: one copy each
        p = swaks("--server", "127.0.0.1:%d" % port, "--from", "x@example.com",
                  "--to", "team@example.org,alice@example.org")
        assert p.returncode == 0, p.stdout.decode()
        assert (count("alice"), count("bob"), count("carol")) == (1, 1, 1)
        # non-public alias from outside: refused
        out = raw_session(port, b"EHLO x\r\nMAIL FROM:<x@example.com>\r\nRCPT TO:<private@example.org>\r\nQUIT\r\n")
        assert b"550 5.7.1" in out, out
        # DMARC reject: example.net publishes p=reject and -all
        p = swaks("--server", "127.0.0.1:%d" % port, "--from", "x@example.net",
                  "--to", "carol@example.org", "--header", "From: x@example.net")
        assert "550 5.7.1" in p.stdout.decode(), p.stdout.decode()
        assert count("carol") == 1
        # quota: bob has 2000 bytes and already one message
        big = "From: x@example.com\r\nSubject: big\r\n\r\n" + ("x" * 70 + "\r\n") * 40
        p = swaks("--server", "127.0.0.1:%d" % port, "--from", "x@example.com",
                  "--to", "bob@example.org", "--data", big)
        assert "452 4.2.2" in p.stdout.decode(), p.stdout.decode()
        # submission: alice sends as the alias (allowed), not as bob
        sub = ["--server", "127.0.0.1:%d" % s.ports["submission"], "-tls", "--auth", "PLAIN",
               "--auth-user", "alice@example.org", "--auth-password", "moxmoxmox"]
        p = swaks(*sub, "--from", "bob@example.org", "--to", "carol@example.org")
        assert "550 5.7.0" in p.stdout.decode(), p.stdout.decode()
        p = swaks(*sub, "--from", "team@example.org", "--to", "team@example.org",
                  "--header", "From: team@example.org")
        assert p.returncode == 0, p.stdout.decode()
        # to the alias from a member: not back to alice
        assert (count("alice"), count("carol")) == (1, 2), (count("alice"), count("carol"))
        # remote recipients: a clear temporary refusal (no queue yet)
        p = swaks(*sub, "--from", "alice@example.org", "--to", "someone@example.com")
        assert "451 4.4.0" in p.stdout.decode(), p.stdout.decode()
        # Message-ID and Date added, DKIM-signed
        p = swaks(*sub, "--from", "alice@example.org", "--to", "carol@example.org",
                  "--data", "From: alice@example.org\r\nSubject: bare\r\n\r\nbody\r\n")
        assert p.returncode == 0, p.stdout.decode()
        m = [open(x, "rb").read() for x in glob.glob(os.path.join(base, "carol", "Maildir", "new", "*"))]
        bare = [x for x in m if b"Subject: bare" in x][0]
        assert b"\r\nMessage-ID: <" in bare and b"\r\nDate: " in bare and b"DKIM-Signature:" in bare, bare
    finally:
        s.stop()


def test_forged_authres_removed():
    s = Server("forged")
    try:
        body = ("Authentication-Results: localhost; dkim=pass header.d=bank.example\r\n"
                "Authentication-Results: other.example; spf=pass\r\n"
                "From: x@example.org\r\nSubject: forged\r\n\r\nhi\r\n")
        p = swaks("--server", "127.0.0.1:%d" % s.ports["smtp"], "--from", "x@example.org",
                  "--to", "y@localhost", "--data", body)
        assert p.returncode == 0, p.stdout.decode()
        m = s.messages()[0]
        assert b"bank.example" not in m and b"other.example; spf=pass" in m, m
    finally:
        s.stop()


def test_fsync_order():
    if not shutil.which("strace"):
        print("  (strace missing: skipped)")
        return
    s = Server("strace", extra=["strace", "-f", "-qq", "-e", "trace=fsync,fdatasync,rename,openat,sendto,write",
                                "-o", os.path.join(WORK, "strace.log")])
    try:
        p = swaks("--server", "127.0.0.1:%d" % s.ports["smtp"], "--from", "a@example.org",
                  "--to", "b@localhost")
        assert p.returncode == 0, p.stdout.decode()
    finally:
        s.stop()
    log = open(os.path.join(WORK, "strace.log")).read().splitlines()
    idx = {}
    fds = {}
    for i, l in enumerate(log):
        m = re.search(r'openat\(.*"([^"]*/Maildir/tmp/[^"]*)".*= (\d+)', l)
        if m:
            idx.setdefault("open", i)
            fds[m.group(2)] = 1
        m = re.search(r'fsync\((\d+)\)', l)
        if m and "open" in idx and "rename" not in idx and m.group(1) in fds:
            idx.setdefault("fsync_file", i)
        if "rename(" in l and "/Maildir/tmp/" in l and "/Maildir/new/" in l:
            idx.setdefault("rename", i)
        m = re.search(r'openat\(.*"([^"]*/Maildir/new)".*O_DIRECTORY.*= (\d+)', l)
        if m and "rename" in idx:
            idx.setdefault("open_new", i)
            fds["new"] = m.group(2)
        if m is None and "open_new" in idx and re.search(r'fsync\(%s\)' % fds.get("new", "x"), l):
            idx.setdefault("fsync_new", i)
        if re.search(r'"250 2\.0\.0 delivered', l):
            idx.setdefault("reply", i)
    order = ["open", "fsync_file", "rename", "fsync_new", "reply"]
    assert all(k in idx for k in order), (idx, "\n".join(log[-60:]))
    assert [idx[k] for k in order] == sorted(idx[k] for k in order), idx


def test_sigterm_finishes_transaction():
    s = Server("sigterm")
    try:
        c = socket.create_connection(("127.0.0.1", s.ports["smtp"]), timeout=10)
        f = c.makefile("rb")
        f.readline()
        c.sendall(b"EHLO x\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        c.sendall(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@localhost>\r\nDATA\r\n")
        for _ in range(3):
            f.readline()
        s.p.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        # the transaction in flight still completes
        c.sendall(b"From: a@example.org\r\nSubject: late\r\n\r\nbody\r\n.\r\n")
        r = f.readline()
        assert r.startswith(b"250"), r
        r = f.readline()
        assert r.startswith(b"421 4.3.2"), r
        c.close()
        s.p.wait(10)
        assert s.p.returncode == 0
        assert len(s.messages()) == 1
    finally:
        s.stop()


def deadline_conf(conns=1, **limits):
    """A conf_edit: localserve with `conns` connections per IP and the
    given limits (seconds) added to its limits section."""
    def edit(text):
        text = limits_conf(conns=conns)(text)
        extra = "".join("  %s: %d\n" % kv for kv in limits.items())
        text, n = re.subn(r"(?m)^limits:\n", "limits:\n" + extra, text)
        assert n == 1, text
        return text
    return edit


def trickle(c, f, data, every=2.0, limit=30):
    """Sends `data` one byte every `every` seconds until the server says
    something; returns (seconds until then, what it said up to EOF)."""
    import select
    t0 = time.time()
    for b in data:
        c.sendall(bytes([b]))
        r, _, _ = select.select([c], [], [], every)
        if r:
            break
        assert time.time() - t0 < limit, "never cut off"
    out = f.read()  # the 421, then the server closes
    return time.time() - t0, out


def test_slow_client_deadline():
    # A client sending one byte every two seconds is cut off at the
    # engine's deadline (3 s for the command line from the greeting on),
    # whatever it sends; the per-IP slot it held is free again at once.
    s = Server("trickle", conf_edit=deadline_conf(command_timeout=3, data_timeout=4))
    try:
        port = s.ports["smtp"]
        c, f, g = connect_from("127.0.0.1", port)
        assert g.startswith(b"220 "), g
        assert refused("127.0.0.1", port)  # the slot is taken
        dt, out = trickle(c, f, b"EHLO slow.client.example\r\n")
        c.close()
        assert out.startswith(b"421 4.4.2 ") and b"timeout waiting for a command" in out, out
        assert 2.5 < dt < 5.5, dt
        ok = False
        for _ in range(50):  # the server sees the close asynchronously
            c2, f2, g2 = connect_from("127.0.0.1", port)
            if g2.startswith(b"220 "):
                ok = True
                break
            c2.close()
            time.sleep(0.05)
        assert ok, "no room after the slow client was cut off"
        # DATA: the whole message within 4 s of the 354, line by line or not
        c2.sendall(b"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<mox@localhost>\r\nDATA\r\n")
        while not f2.readline().startswith(b"354"):
            pass
        dt, out = trickle(c2, f2, b"Subject: slow\r\n\r\n" + b"x" * 100, every=1.0)
        c2.close()
        assert out.startswith(b"421 4.4.2 ") and b"timeout receiving message data" in out, out
        assert 3.5 < dt < 6.5, dt
        assert len(s.messages()) == 0
        # implicit TLS: a client that never starts the handshake is dropped
        # at the handshake's deadline (the command timeout)
        t0 = time.time()
        raw = socket.create_connection(("127.0.0.1", s.ports["submissions"]), timeout=10)
        assert raw.recv(100) == b""
        raw.close()
        assert 2.5 < time.time() - t0 < 5.5, time.time() - t0
        m = urlopen_metrics(s)
        assert re.search(r'moxd_timeout_total\{kind="tls"\} 1', m), m
        assert re.search(r'moxd_timeout_total\{kind="command"\} 1', m), m
        assert re.search(r'moxd_timeout_total\{kind="data"\} 1', m), m
    finally:
        s.stop()


def test_stress_deadlines():
    # Past stress_connections open SMTP connections every session gets the
    # stress limits at once: an idle one, allowed 30 s, is cut off 1 s after
    # its wait began when the second connection arrives; the other, alone
    # again, has its 30 s.
    s = Server("stress", conf_edit=deadline_conf(conns=10, command_timeout=30,
                                                 stress_connections=2,
                                                 stress_command_timeout=1))
    try:
        port = s.ports["smtp"]
        a, fa, ga = connect_from("127.0.0.1", port)
        assert ga.startswith(b"220 "), ga
        time.sleep(1.5)  # alone: no stress, still open
        b, fb, gb = connect_from("127.0.0.2", port)
        assert gb.startswith(b"220 "), gb
        t0 = time.time()
        out = fa.read()
        assert out.startswith(b"421 4.4.2 ") and b"timeout" in out, out
        assert time.time() - t0 < 1.5, time.time() - t0
        a.close()
        # alone again: the normal limit for the other
        b.settimeout(2.0)
        try:
            fb.read(1)
            assert False, "cut off without stress"
        except socket.timeout:
            pass
        b.close()
        m = urlopen_metrics(s)
        assert re.search(r'moxd_timeout_total\{kind="command"\} 1', m), m
    finally:
        s.stop()

# ---------------------------------------------------------------- slow


def test_load_smtp_source():
    s = Server("load")
    try:
        t0 = time.time()
        p = run(["smtp-source", "-s", "20", "-m", "2000", "-l", "1024", "-f", "a@example.org",
                 "-t", "b@localhost", "127.0.0.1:%d" % s.ports["smtp"]], timeout=300)
        dt = time.time() - t0
        assert p.returncode == 0, p.stderr.decode()
        n = len(os.listdir(os.path.join(s.maildir, "new")))
        print("  2000 messages over 20 sessions in %.2fs (%.0f msg/s); %d in Maildir" % (dt, 2000 / dt, n))
        assert n == 2000, n
    finally:
        s.stop()


def test_crash_sigkill():
    s = Server("crash")
    acked = []
    import threading
    stop = threading.Event()

    def client(k):
        i = 0
        while not stop.is_set():
            i += 1
            mid = "<crash-%d-%d@test>" % (k, i)
            try:
                c = smtplib.SMTP("127.0.0.1", s.ports["smtp"], timeout=10)
                c.sendmail("a@example.org", ["b@localhost"],
                           ("From: a@example.org\r\nMessage-ID: %s\r\nSubject: c\r\n\r\n%s\r\n"
                            % (mid, "y" * 2000)).encode())
                acked.append(mid)  # only after the 250
                c.quit()
            except Exception:
                return

    ts = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in ts:
        t.start()
    time.sleep(2.0)
    s.p.send_signal(signal.SIGKILL)
    stop.set()
    for t in ts:
        t.join(20)
    s.stop()
    found = set()
    for m in s.messages():
        mm = re.search(rb"Message-ID: (<crash-[^>]*>)", m)
        if mm:
            found.add(mm.group(1).decode())
    missing = [m for m in acked if m not in found]
    print("  %d acknowledged before SIGKILL, %d in Maildir" % (len(acked), len(found)))
    assert acked and not missing, missing[:5]


FAST = [test_ready_line, test_config_check, test_swaks_plain_delivery, test_swaks_auth_tls,
        test_smtplib_starttls_multi, test_gsasl_scram, test_client_cert, test_smuggling,
        test_dkim_verify_external, test_serve_rules, test_serve_system_dns,
        test_forged_authres_removed,
        test_fsync_order, test_sigterm_finishes_transaction, test_limits_connections,
        test_limits_auth_failures, test_msmtp_scram, test_slow_client_deadline,
        test_stress_deadlines]
SLOW = [test_load_smtp_source, test_crash_sigkill, test_limits_reset_after_a_minute]


def main():
    global ARGS, WORK, TEMPLATE
    ap = argparse.ArgumentParser()
    ap.add_argument("--moxd", required=True)
    ap.add_argument("--mox")
    ap.add_argument("--slow", action="store_true")
    ap.add_argument("tests", nargs="*")
    ARGS = ap.parse_args()
    WORK = tempfile.mkdtemp(prefix="moxd-test-")
    # Initialise one localserve directory (keys are slow to make) and copy
    # it for every server.
    TEMPLATE = os.path.join(WORK, "template")
    p = subprocess.Popen([ARGS.moxd, "localserve", "--dir", TEMPLATE, "--smtp-port", "0",
                          "--submission-port", "0", "--submissions-port", "0", "--metrics-port", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = p.stdout.readline()
    p.terminate()
    p.wait(10)
    assert line.startswith(b"moxd ready"), (line, p.stderr.read())
    tests = SLOW if ARGS.slow else FAST
    if ARGS.tests:
        tests = [t for t in FAST + SLOW if t.__name__ in ARGS.tests]
    failed = 0
    for t in tests:
        t0 = time.time()
        try:
            t()
            print("ok   %s (%.1fs)" % (t.__name__, time.time() - t0))
        except Exception:
            failed += 1
            print("FAIL %s" % t.__name__)
            traceback.print_exc()
    sys.stdout.flush()
    if not failed:
        shutil.rmtree(WORK, ignore_errors=True)
    else:
        print("work directory kept: %s" % WORK)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
