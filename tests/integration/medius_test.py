"""Shared helpers for medius integration tests: start mediusd on free
loopback ports, talk ng to it, stop it. Standard library only."""
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time

MEDIUSD = os.environ.get("MEDIUSD", "build/control/mediusd")
MEDIUSCTL = os.environ.get("MEDIUSCTL", "build/control/mediusctl")
SOURCE = os.environ.get("MEDIUS_SOURCE", ".")
# ./medius sanitize sets MEDIUS_SLOW=1: under ASan/UBSan every process runs
# 2-3 times slower, so a wait for a condition (a daemon answering, a packet
# count reached) may take SLOW times longer; what is asserted never changes
SLOW = 3.0 if os.environ.get("MEDIUS_SLOW") else 1.0


def free_range(n):
    """The first of n free loopback UDP ports in a row (even, 10000-19999):
    a port range for mediusd that nothing else holds now, and that nothing
    else is given later either: below the kernel's ephemeral ports
    (32768-60999, which any socket bound to port 0 may take), free_port's
    20000-60000 and mediusd's default 30000-. A test that sizes the range
    to just what its calls take needs all of it (crash_restart once lost a
    port of 43100-43123 to another test's socket)."""
    if not 0 < n <= 4000:
        raise ValueError(f"free_range: {n} ports (1-4000)")
    for _ in range(200):
        base = 2 * (int.from_bytes(os.urandom(2), "big") % (5000 - n // 2)) + 10000
        try:
            for p in range(base, base + n):  # one socket at a time: a range of thousands stays under any fd limit
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
    raise RuntimeError("no free port range")


def sanitized(binary=None):
    """True when `binary` (default MEDIUSD) is linked with AddressSanitizer
    (./medius sanitize's build): checks that mean nothing there (valgrind
    cannot run it; ASan's quarantine holds freed memory, so RSS is no
    measure of a leak, which LeakSanitizer checks at exit instead) say so
    and step aside."""
    try:
        out = subprocess.run(["ldd", binary or MEDIUSD], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "libasan" in out

_failures = 0
_checks = 0


def check(cond, what):
    """Record one assertion; print it; keep going so a run shows every failure."""
    global _failures, _checks
    _checks += 1
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        _failures += 1


def call_sdp(port, proto="RTP/AVP", pts=(0, 8), extra=""):
    """An SDP body with one audio section on 127.0.0.1:port, 20 ms ptime."""
    return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} {proto} {' '.join(map(str, pts))}\r\na=ptime:20\r\n{extra}")


def media_port(text):
    """The port of the first audio section of an SDP body."""
    import re
    return int(re.search(r"^m=audio (\d+) ", text, re.M).group(1))


def loop_sock(timeout=None):
    """A UDP socket on a free loopback port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(timeout)
    return s


def rtp_rtcp_pair(rcvbuf=None):
    """An RTP socket on an even free loopback port and its RTCP socket on
    port + 1, both non-blocking."""
    for _ in range(200):
        r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        r.bind(("127.0.0.1", 0))
        p = r.getsockname()[1]
        if p % 2 or p > 65000:
            r.close()
            continue
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            c.bind(("127.0.0.1", p + 1))
        except OSError:
            r.close()
            c.close()
            continue
        if rcvbuf:
            r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        r.setblocking(False)
        c.setblocking(False)
        return r, c
    raise RuntimeError("no free even/odd port pair")


def drain(s, n=500, timeout=0.3):
    """What arrives on s until it is quiet for `timeout` seconds (at most n datagrams;
    timeout stretched by SLOW: a sanitized mediusd may forward a burst later)."""
    got = []
    s.settimeout(timeout * SLOW)
    try:
        while len(got) < n:
            got.append(s.recv(4096))
    except socket.timeout:
        pass
    return got


def finish():
    print(f"{_checks - _failures} passed, {_failures} failed", flush=True)
    sys.exit(1 if _failures else 0)


def free_port(kind=socket.SOCK_DGRAM, both=False):
    """A port free for UDP (and TCP too when both=True) on 127.0.0.1."""
    for _ in range(100):
        port = random.randint(20000, 60000)
        socks = []
        try:
            for k in ([socket.SOCK_DGRAM, socket.SOCK_STREAM] if both else [kind]):
                s = socket.socket(socket.AF_INET, k)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port")


def ng_request(port, payload, cookie=None, timeout=2.0, sock=None):
    """Send one ng datagram; return the reply bytes after 'cookie '."""
    cookie = cookie or f"t{random.getrandbits(40):x}"
    own = sock is None
    s = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(cookie.encode() + b" " + payload, ("127.0.0.1", port))
        while True:
            data, _ = s.recvfrom(70000)
            if data.startswith(cookie.encode() + b" "):
                return data[len(cookie) + 1:]
    finally:
        if own:
            s.close()


def ping(port, timeout=1.0):
    try:
        return ng_request(port, b"d7:command4:pinge", timeout=timeout) == b"d6:result4:ponge"
    except OSError:
        return False


class Daemon:
    """mediusd on a free loopback port, logging to a file."""

    def __init__(self, *extra, tcp=False, ready=None):
        """ready(port) -> bool: how to tell it is up (default: an unsigned ping)."""
        self.port = free_port(both=tcp)
        args = [MEDIUSD, "--listen-ng", f"127.0.0.1:{self.port}"]
        if tcp:
            args += ["--listen-ng-tcp", f"127.0.0.1:{self.port}"]
        self.log = tempfile.NamedTemporaryFile(prefix="mediusd-", suffix=".log", delete=False)
        engine = os.environ.get("SRTP_ENGINE")  # run a test on one SRTP engine (media.srtp_engine)
        if engine and not any(a in ("-c", "--config") for a in extra):
            self.conf = tempfile.NamedTemporaryFile("w", prefix="mediusd-", suffix=".conf", delete=False)
            self.conf.write(f"[media]\nsrtp_engine = {engine}\n")
            self.conf.close()
            args += ["--config", self.conf.name]
        self.proc = subprocess.Popen(args + list(extra), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30 * SLOW
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mediusd exited with {self.proc.returncode}:\n{self.log_text()}")
            if (ready or ping)(self.port, timeout=0.3):
                return
        self.proc.kill()
        raise RuntimeError(f"mediusd did not answer ping within {30 * SLOW:.0f} s:\n" + self.log_text())

    def log_text(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        text = self.log_text()
        # a sanitizer build of mediusd (MEDIUSD=build-asan/control/mediusd)
        # reports memory errors and leaks in its log: each is a failure
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if marker in text:
                at = text.index(marker)
                check(False, f"mediusd: sanitizer report:\n{text[max(0, at - 200):at + 3000]}")
        if _failures or exc[0] is not None:
            # a failed run keeps the daemon's log, and shows its warnings
            warn = [ln for ln in text.splitlines() if "] warning " in ln or "] error " in ln]
            print(f"     mediusd's log kept: {self.log.name} ({len(warn)} warning/error lines; last ones below)")
            for ln in warn[-15:]:
                print("     | " + ln)
        else:
            os.unlink(self.log.name)


# ---- bencode and an ng client (standard library only) ----

def bencode(v):
    if isinstance(v, bool):
        v = int(v)
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(bencode(x) for x in v) + b"e"
    if isinstance(v, dict):
        return b"d" + b"".join(bencode(k) + bencode(x) for k, x in v.items()) + b"e"
    raise TypeError(type(v))


def bdecode(b, i=0):
    """Decode one value at b[i:]; returns (value, next index). Strings come back as str."""
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c in (b"l", b"d"):
        i += 1
        items = []
        while b[i:i + 1] != b"e":
            v, i = bdecode(b, i)
            items.append(v)
        if c == b"l":
            return items, i + 1
        return dict(zip(items[::2], items[1::2])), i + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    return b[j + 1:j + 1 + n].decode("utf-8", "replace"), j + 1 + n


def ng(port, **cmd):
    """Send an ng command (keyword names with _ become -) and return the reply dict."""
    msg = {k.replace("_", "-"): v for k, v in cmd.items()}
    return bdecode(ng_request(port, bencode(msg), timeout=5))[0]

class LineHarness:
    """A test tool driven line by line on stdin, one JSON line back per
    command, that prints READY once it runs (tests/tools/*_harness.c).
    close() sends quit and fails the test on a bad exit status or on any
    sanitizer report in its stderr."""

    def __init__(self, path, *args):
        self.name = os.path.basename(path)
        self.err = tempfile.NamedTemporaryFile(prefix=self.name + "-", suffix=".log", delete=False)
        self.p = subprocess.Popen([path, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err, text=True, bufsize=1)
        line = self.p.stdout.readline().strip()
        if line != "READY":
            raise RuntimeError(f"{self.name} did not start: {line!r} {self.stderr()}")

    def stderr(self):
        with open(self.err.name, errors="replace") as f:
            return f.read()

    def __call__(self, *words):
        self.p.stdin.write(" ".join(map(str, words)) + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def close(self, what=""):
        self.p.stdin.write("quit\n")
        self.p.stdin.flush()
        try:
            self.p.wait(30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        text = self.stderr()
        os.unlink(self.err.name)
        label = f"{what}: " if what else ""
        check(self.p.returncode == 0, f"{label}{self.name} exited {self.p.returncode}")
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if marker in text:
                at = text.index(marker)
                check(False, f"{label}sanitizer report:\n{text[max(0, at - 200):at + 3000]}")
