#!/usr/bin/python3
"""Interop of libmox's SASL engines with GNU gsasl as the real peer.

gsasl's command-line --client/--server modes print the mechanism name and
then one base64 line per authentication step, reading the peer's lines from
stdin. sasl_peer (built next to the tests) does the same for our engines in
its own simple line protocol; this script relays between the two the way
SMTP AUTH would carry the messages, for PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1
and SCRAM-SHA-256, in both directions, with right and wrong passwords.
Every read has a timeout; processes are killed at the end of each case.

usage: gsasl_interop.py PATH/TO/sasl_peer
"""
import os
import queue
import shutil
import subprocess
import sys
import threading

TIMEOUT = 10
LAST_ERR = []
MECHS = ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"]


class Proc:
    def __init__(self, argv, name):
        self.name = name
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.q = queue.Queue()
        self.err = []
        threading.Thread(target=self._pump, args=(self.p.stdout, self.q), daemon=True).start()
        threading.Thread(target=self._pump_err, daemon=True).start()

    def _pump(self, f, q):
        for line in iter(f.readline, b""):
            q.put(line.decode().rstrip("\r\n"))
        q.put(None)

    def _pump_err(self):
        for line in iter(self.p.stderr.readline, b""):
            self.err.append(line.decode().rstrip())

    def read(self):
        try:
            line = self.q.get(timeout=TIMEOUT)
        except queue.Empty:
            raise RuntimeError("%s: no output within %ds" % (self.name, TIMEOUT))
        return line

    def write(self, line):
        try:
            self.p.stdin.write((line + "\n").encode())
            self.p.stdin.flush()
        except BrokenPipeError:
            pass

    def finish(self):
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            return self.p.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return "timeout"

    def kill(self):
        global LAST_ERR
        LAST_ERR = list(self.err)
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def gsasl_client_vs_our_server(peer, mech, password):
    """Returns (our server verdict line, gsasl exit status)."""
    g = Proc(["gsasl", "--client", "--quiet", "-m", mech, "-a", "user", "-p", password,
              "--no-cb"], "gsasl client")
    s = Proc([peer, "server", mech, "user", "pencil"], "sasl_peer server")
    try:
        assert g.read() == mech
        first = g.read()
        s.write(first if first else "-")
        for _ in range(10):
            line = s.read()
            if line is None:
                raise RuntimeError("sasl_peer server ended early: %s" % s.err)
            tag, data = line.split(" ")[0], (line.split(" ") + ["-"])[1]
            if tag == "C":
                g.write("" if data == "-" else data)
                resp = g.read()
                if resp is None:
                    return line, g.finish()
                s.write(resp)
                continue
            if tag == "S" and data != "-":
                g.write(data)  # SCRAM server-final: gsasl verifies it
                g.read()
                g.write("")  # and then reads the outcome, as for the others
            elif tag == "S":
                g.write("")  # gsasl reads the (empty) outcome of its last step
            return line, g.finish()
        raise RuntimeError("exchange does not end")
    finally:
        s.kill()
        g.kill()


def our_client_vs_gsasl_server(peer, mech, password):
    """Returns (our client's last status line, gsasl exit status)."""
    g = Proc(["gsasl", "--server", "--quiet", "-m", mech, "-p", "pencil", "--no-cb"],
             "gsasl server")
    c = Proc([peer, "client", mech, "user", password], "sasl_peer client")
    try:
        assert g.read() == mech
        s0 = g.read()  # gsasl's first challenge (empty for client-first mechanisms)
        st, data, initial = c.read().split(" ")
        if initial == "0":
            c.write(s0)
            st, data = c.read().split(" ")
        if st == "F":
            return st, g.finish()
        g.write("" if data == "-" else data)
        for _ in range(10):
            chal = g.read()
            if chal is None:  # gsasl ended (failure)
                return st, g.finish()
            if st == "S":
                # Done on our side; gsasl waits for the empty response that
                # acknowledges its last (empty) challenge.
                g.write("")
                return st, g.finish()
            c.write(chal)
            st, data = c.read().split(" ")
            if st == "F":
                return st, g.finish()
            if st == "S" and data == "-":
                # SCRAM: we verified gsasl's final message; answer its
                # challenge with the empty response, as over SMTP.
                g.write("")
                return st, g.finish()
            g.write("" if data == "-" else data)
        raise RuntimeError("exchange does not end")
    finally:
        c.kill()
        g.kill()


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    peer = sys.argv[1]
    if not shutil.which("gsasl"):
        print("SKIP: gsasl not installed")
        return 77
    failures = 0
    for mech in MECHS:
        for password, want_ok in (("pencil", True), ("pencil-wrong", False)):
            line, rc = gsasl_client_vs_our_server(peer, mech, password)
            ok = line.startswith("S ") and line.endswith(" user")
            good = ok == want_ok and (rc == 0 if want_ok else True)
            if not want_ok and not line.startswith("F "):
                good = False
            print("%s gsasl client -> libmox server %-13s pw=%-12s: %s, gsasl exit %s"
                  % ("ok  " if good else "FAIL", mech, password, line, rc))
            failures += not good
            if not good:
                print("    gsasl stderr: %s" % LAST_ERR)

            st, rc = our_client_vs_gsasl_server(peer, mech, password)
            # gsasl --server exits 0 only when it authenticated the client.
            good = (rc == 0 and st == "S") if want_ok else (rc != 0)
            print("%s libmox client -> gsasl server %-13s pw=%-12s: client %s, gsasl exit %s"
                  % ("ok  " if good else "FAIL", mech, password, st, rc))
            failures += not good
            if not good:
                print("    gsasl stderr: %s" % LAST_ERR)
    print("%d failures" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
