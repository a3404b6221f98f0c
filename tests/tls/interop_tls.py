"""Interop of the TLS client adapter (via tls_probe) with real peers on
127.0.0.1: openssl s_server (tls-exporter against -keymatexport), Python's
ssl (tls-unique against get_channel_binding), certificate verification
(right name, wrong name, unknown issuer, --insecure), and refusal of
TLS 1.1. Every peer has a bounded lifetime and is killed at the end."""
import os, socket, ssl, subprocess, sys, tempfile, threading, time

PROBE = sys.argv[1]
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


def mkcert(d, name):
    cert, key = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name,
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


def probe(port, *args, name="localhost"):
    r = subprocess.run([PROBE, "127.0.0.1", str(port), "--name", name] + list(args),
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout.strip()


def wait_port(port, proc=None):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            if proc is not None and proc.poll() is not None:
                return False
            time.sleep(0.05)
    return False


def s_server(cert, key, *extra):
    port = free_port()
    p = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-cert", cert,
                          "-key", key, "-naccept", "1"] + list(extra),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.PIPE,
                         text=True)
    procs.append(p)
    # stdin stays open: s_server ends at its EOF. It says ACCEPT when listening (probing the port would use up
    # its single accept).
    ok = False
    deadline = time.time() + 20
    while time.time() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        if line.startswith("ACCEPT"):
            ok = True
            break
    return p, port, ok


def main():
    with tempfile.TemporaryDirectory() as d:
        cert, key = mkcert(d, "localhost")
        ocert, okey = mkcert(d, "other.example")

        # 1. tls-exporter against openssl's -keymatexport.
        p, port, up = s_server(cert, key, "-keymatexport", "EXPORTER-Channel-Binding",
                               "-keymatexportlen", "32")
        check(up, "openssl s_server started")
        rc, out = probe(port, "--cafile", cert)
        try:
            sout, _ = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            sout, _ = p.communicate()
        fields = out.split()
        check(rc == 0 and fields[:1] == ["ok"], "verified handshake with s_server: " + out)
        check(len(fields) >= 5 and fields[1] == "0303", "TLS 1.2 negotiated")
        km = [l.split(":", 1)[1].strip().lower() for l in sout.splitlines()
              if "Keying material:" in l]
        check(len(km) == 1 and len(fields) >= 5 and fields[4] == km[0],
              "tls-exporter equals openssl -keymatexport EXPORTER-Channel-Binding (%s vs %s)"
              % (fields[4] if len(fields) >= 5 else "?", km[0] if km else "?"))
        check(len(fields) >= 4 and len(fields[3]) == 24, "tls-unique is a 12-byte Finished")

        # 2. tls-unique against Python's ssl (server side view).
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        lsock.settimeout(20)
        port = lsock.getsockname()[1]
        got = {}

        def serve():
            try:
                conn, _ = lsock.accept()
                conn.settimeout(20)
                s = ctx.wrap_socket(conn, server_side=True)
                got["unique"] = s.get_channel_binding("tls-unique").hex()
                got["data"] = s.recv(100)
                s.close()
            except Exception as e:  # reported below
                got["error"] = repr(e)

        t = threading.Thread(target=serve)
        t.start()
        rc, out = probe(port, "--cafile", cert)
        t.join(30)
        lsock.close()
        fields = out.split()
        check(rc == 0 and "unique" in got and len(fields) >= 4 and fields[3] == got["unique"],
              "tls-unique equals Python ssl's (%s vs %s)" % (fields[3] if len(fields) > 3 else out,
                                                            got.get("unique", got.get("error"))))
        check(got.get("data") == b"hello\n", "application data arrives decrypted")

        # 3. A valid certificate for another name must fail; --insecure passes.
        p, port, up = s_server(ocert, okey)
        rc, out = probe(port, "--cafile", ocert)
        p.kill()
        check(rc != 0 and out.startswith("fail -18") and "CN" in out,
              "certificate for other.example refused for localhost: " + out)
        p, port, up = s_server(ocert, okey)
        rc, out = probe(port, "--insecure")
        p.kill()
        check(rc == 0 and out.startswith("ok"), "--insecure accepts it: " + out)

        # 4. Unknown issuer (system bundle only).
        p, port, up = s_server(cert, key)
        rc, out = probe(port)
        p.kill()
        check(rc != 0 and out.startswith("fail -18"), "self-signed refused against system CAs: " + out)

        # 5. TLS 1.1 only: refused by the TLS 1.2 minimum.
        p, port, up = s_server(cert, key, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
        if up:
            rc, out = probe(port, "--insecure")
            check(rc != 0 and out.startswith("fail"), "TLS 1.1-only server refused: " + out)
        else:
            print("skip TLS 1.1 server (openssl refuses to run it)")
        p.kill()
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)


try:
    main()
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
