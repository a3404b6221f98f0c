#!/usr/bin/python3
"""Benchmark (prints figures, never fails on timing): messages/s accepted by
`moxd localserve` from Postfix's smtp-source (20 sessions; 1 KB and 10 KB;
one message per connection and with connection reuse), as a ratio to
smtp-sink (stores nothing) in the same run; and moxd's resident memory with
1,000 idle connections.

A warm-up pass (4 x N messages to moxd, N to smtp-sink, not reported) comes
first. On this ext4 the tmp/ -> fsync -> rename -> fsync(new/) sequence is
2-2.5 times slower in a young directory than in one with some thousands of
entries (a plain Python loop doing only those calls shows it too: ~1,400/s
fresh, ~3,400/s at 34,000 entries), so without it the first case measured,
1 KB, looked slower than 10 KB.

usage: moxd_bench.py MOXD [MESSAGES]
"""
import os, re, shutil, socket, subprocess, sys, tempfile, time

moxd = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
work = tempfile.mkdtemp(prefix="moxd-bench-")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def source(port, size, reuse):
    args = ["smtp-source", "-s", "20", "-m", str(N), "-l", str(size), "-f", "a@example.org",
            "-t", "b@localhost"] + (["-d"] if reuse else []) + ["127.0.0.1:%d" % port]
    t0 = time.time()
    subprocess.run(args, check=True, capture_output=True, timeout=600)
    return N / (time.time() - t0)


sink_port = free_port()
sink = subprocess.Popen(["smtp-sink"] + (["-u", "nobody"] if os.getuid() == 0 else []) + ["127.0.0.1:%d" % sink_port, "1000"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
d = os.path.join(work, "ls")
time.sleep(0.3)
m = subprocess.Popen([moxd, "localserve", "--dir", d, "--smtp-port", "0", "--submission-port", "0",
                      "--submissions-port", "0", "--metrics-port", "0"],
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
line = m.stdout.readline().decode()
port = int(re.search(r"smtp=127\.0\.0\.1:(\d+)", line).group(1))
time.sleep(0.3)
try:
    for _ in range(4):
        source(port, 10240, False)
    source(sink_port, 10240, False)
    print("%-28s %10s %10s %7s" % ("case", "moxd/s", "sink/s", "ratio"))
    for size in (1024, 10240):
        for reuse in (False, True):
            a = source(port, size, reuse)
            b = source(sink_port, size, reuse)
            print("%-28s %10.0f %10.0f %7.2f" % ("%d B, %s" % (size, "reuse" if reuse else "1/conn"),
                                                 a, b, a / b))
    def rss():
        with open("/proc/%d/status" % m.pid) as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    before = rss()
    conns = []
    for i in range(1000):
        c = socket.create_connection(("127.0.0.1", port))
        conns.append(c)
    for c in conns:
        c.recv(100)  # greeting: the session exists
    after = rss()
    print("RSS: %d KiB before, %d KiB with 1000 idle connections (%.1f KiB each)"
          % (before, after, (after - before) / 1000.0))
    for c in conns:
        c.close()
finally:
    m.terminate()
    m.wait(30)
    sink.terminate()
    sink.wait(10)
    shutil.rmtree(work, ignore_errors=True)
