"""`mox smtp send` against real SMTP servers on 127.0.0.1: Postfix's
smtp-sink (pipelining, soft rejections, 421) and Python's aiosmtpd (STARTTLS
with certificate verification, AUTH, recipient refusals, message content).
Random free ports, bounded timeouts, every server stopped at the end."""
import asyncio, json, os, socket, ssl, subprocess, sys, tempfile, time

MOX = os.environ.get("MOX_TOOL") or sys.argv[1]
failures = []
procs = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc=None):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            if proc is not None and proc.poll() is not None:
                return False
            time.sleep(0.05)
    return False


def send(port, rcpts, msg=b"Subject: hi\n\nhello\n", *extra, host="127.0.0.1"):
    args = [MOX, "smtp", "send", "--server", "%s:%d" % (host, port), "--from", "sender@example.org",
            "--json", "--timeout", "10", "--ehlo", "client.example"] + list(extra)
    for r in rcpts:
        args += ["--to", r]
    p = subprocess.run(args, input=msg, capture_output=True, timeout=60)
    try:
        j = json.loads(p.stdout)
    except ValueError:
        j = None
    return p.returncode, j, p.stderr.decode(errors="replace")


def sink(*opts):
    port = free_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    p = subprocess.Popen(["/usr/sbin/smtp-sink"] + user + list(opts) + ["127.0.0.1:%d" % port, "10"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    procs.append(p)
    check(wait_port(port, p), "smtp-sink %s listening" % " ".join(opts))
    return p, port


def stop(p):
    if p.poll() is None:
        p.kill()
    p.wait(timeout=10)


def test_sink():
    p, port = sink("-c")
    rc, j, err = send(port, ["a@example.com", "b@example.com", "c@example.net"])
    check(rc == 0 and j and all(r["accepted"] for r in j["recipients"]) and
          [r["address"] for r in j["recipients"]] == ["a@example.com", "b@example.com", "c@example.net"],
          "smtp-sink: 3 recipients accepted, exit 0 (%s %s)" % (rc, j))
    check(j and j["recipients"][0]["code"] == 250 and j["recipients"][0]["enhanced"] == "2.0.0"
          and j["error"] is None, "smtp-sink: code and enhanced code reported")
    stop(p)

    p, port = sink("-r", "RCPT")
    rc, j, err = send(port, ["a@example.com", "b@example.com"])
    check(rc == 75 and j and all(not r["accepted"] and r["temporary"] and 400 <= r["code"] < 500
                                 for r in j["recipients"]),
          "smtp-sink -r RCPT: temporary failures, exit 75 (%s %s)" % (rc, j))
    stop(p)

    p, port = sink("-Q", "DATA")
    rc, j, err = send(port, ["a@example.com"])
    check(rc == 75 and j and j["recipients"][0]["code"] == 421,
          "smtp-sink -Q DATA: 421 is temporary, exit 75 (%s %s)" % (rc, j))
    stop(p)

    p, port = sink("-q", "RCPT")
    rc, j, err = send(port, ["a@example.com"])
    check(rc == 75 and j and j["recipients"][0]["temporary"] and j["error"],
          "smtp-sink -q RCPT: dropped connection is temporary (%s %s)" % (rc, j))
    stop(p)

    rc, j, err = send(free_port(), ["a@example.com"])
    check(rc == 1 and j and "refused" in (j["error"] or ""),
          "connection refused: exit 1 (%s %s)" % (rc, j))
    rc, j, err = send(1, ["not an address"])
    check(rc == 2, "bad address: usage exit 2")


# ---------------------------------------------------------------- aiosmtpd

def mkcert(d, name):
    cert, key = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name,
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


def test_aiosmtpd(d):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    class Handler:
        def __init__(self):
            self.msgs = []
            self.auth = []

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.startswith("bad"):
                return "550 5.1.1 no such user"
            if address.startswith("later"):
                return "450 4.2.1 mailbox busy"
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"

        async def handle_DATA(self, server, session, envelope):
            self.msgs.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                              session.ssl is not None, getattr(session, "authenticated", False)))
            return "250 2.0.0 queued"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"user" and auth_data.password == b"s3cret"
        handler.auth.append((mechanism, ok, session.ssl is not None))
        return AuthResult(success=ok, handled=False)

    cert, key = mkcert(d, "localhost")
    ocert, okey = mkcert(d, "other.example")
    pwfile = os.path.join(d, "pw")
    with open(pwfile, "w") as f:
        f.write("s3cret\n")
    badpw = os.path.join(d, "badpw")
    with open(badpw, "w") as f:
        f.write("wrong\n")

    def start(certkey, **kw):
        ctx = None
        if certkey:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*certkey)
        port = free_port()
        c = Controller(handler, hostname="127.0.0.1", port=port, tls_context=ctx,
                       authenticator=authenticator, **kw)
        c.start()
        return c, port

    handler = Handler()
    # STARTTLS + AUTH (AUTH only after TLS).
    c, port = start((cert, key), require_starttls=True, auth_require_tls=True)
    try:
        msg = b"Subject: t\nX: y\n\n.leading dot\nbare\rcr\r\nend"
        rc, j, err = send(port, ["a@example.com", "bad@example.com", "b@example.com"], msg,
                          "--starttls", "--cafile", cert, "--user", "user", "--password-file", pwfile,
                          host="localhost")
        check(rc == 1 and j and [r["accepted"] for r in j["recipients"]] == [True, False, True],
              "aiosmtpd STARTTLS+AUTH: 2 accepted, 1 refused permanently, exit 1 (%s %s %s)"
              % (rc, j, err))
        check(j and j["recipients"][1]["code"] == 550 and j["recipients"][1]["enhanced"] == "5.1.1"
              and not j["recipients"][1]["temporary"], "per-recipient 550 5.1.1 kept")
        check(len(handler.msgs) == 1 and handler.msgs[0][1] == ["a@example.com", "b@example.com"]
              and handler.msgs[0][3], "one TLS transaction for both recipients")
        check(handler.msgs and handler.msgs[0][2] ==
              b"Subject: t\r\nX: y\r\n\r\n.leading dot\r\nbare\r\ncr\r\nend\r\n",
              "content arrives CRLF-normalised and dot-unstuffed: %r" %
              (handler.msgs[0][2] if handler.msgs else None))
        check(handler.auth and handler.auth[-1][1] and handler.auth[-1][2],
              "AUTH over TLS succeeded (%s)" % handler.auth)

        rc, j, err = send(port, ["a@example.com"], b"x\n", "--starttls", "--cafile", cert,
                          "--user", "user", "--password-file", badpw, host="localhost")
        check(rc == 1 and j and "535" in json.dumps(j) or "5.7.8" in json.dumps(j),
              "wrong password: exit 1 with the server's refusal (%s %s)" % (rc, j))
        rc, j, err = send(port, ["a@example.com"], b"x\n", "--starttls", host="localhost")
        check(rc == 1 and j and j["error"] and "verif" in j["error"],
              "self-signed certificate refused without --cafile (%s %s)" % (rc, j))
        rc, j, err = send(port, ["later@example.com"], b"x\n", "--starttls", "--insecure",
                          host="localhost")
        check(rc == 75 and j and j["recipients"][0]["temporary"],
              "450 on RCPT: exit 75 (%s %s)" % (rc, j))
    finally:
        c.stop()

    # A valid certificate for another name must fail; --insecure passes.
    c, port = start((ocert, okey), require_starttls=True, auth_require_tls=True)
    try:
        n = len(handler.msgs)
        rc, j, err = send(port, ["a@example.com"], b"x\n", "--starttls", "--cafile", ocert,
                          host="localhost")
        check(rc == 1 and len(handler.msgs) == n and j and "CN" in (j["error"] or ""),
              "certificate for other.example refused for localhost (%s %s)" % (rc, j))
        rc, j, err = send(port, ["a@example.com"], b"x\n", "--starttls", "--insecure",
                          host="localhost")
        check(rc == 0 and len(handler.msgs) == n + 1, "--insecure delivers (%s %s)" % (rc, j))
        # Opportunistic (no --starttls): TLS used, not verified.
        rc, j, err = send(port, ["a@example.com"], b"x\n", host="localhost")
        check(rc == 0 and handler.msgs[-1][3], "opportunistic STARTTLS without verification")
    finally:
        c.stop()

    # No TLS at all: AUTH refused locally unless --allow-plaintext-auth.
    c, port = start(None, auth_require_tls=False)
    try:
        na = len(handler.auth)
        rc, j, err = send(port, ["a@example.com"], b"x\n", "--user", "user", "--password-file", pwfile)
        check(rc == 1 and len(handler.auth) == na and j and "TLS" in (j["error"] or ""),
              "no AUTH over plaintext by default (%s %s)" % (rc, j))
        rc, j, err = send(port, ["a@example.com"], b"x\n", "--user", "user", "--password-file", pwfile,
                          "--allow-plaintext-auth")
        check(rc == 0 and len(handler.auth) == na + 1, "--allow-plaintext-auth (%s %s)" % (rc, j))
        rc, j, err = send(port, ["a@example.com"], b"x\n", "--starttls")
        check(rc == 1 and j and j["error"], "--starttls against a server without it: exit 1")
    finally:
        c.stop()


def main():
    test_sink()
    with tempfile.TemporaryDirectory() as d:
        test_aiosmtpd(d)


try:
    main()
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=10)
if failures:
    print("%d failure(s)" % len(failures))
    sys.exit(1)
