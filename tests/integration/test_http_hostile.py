"""The HTTP listener under abuse leaves media and ng alone
(control/ctl_http.c; [http] timeout_seconds = 3, the other limits at their
defaults: 256 connections, 32 per client address, 16 KiB per request).

The listener's thread runs on the control lcore's CPUs, not on a worker's.
Throughout, a relayed call carries 50 packets/s each way and a thread pings
ng every 100 ms. Then:

  1. Malformed requests, each on its own connection: garbage, a 100 kB
     header, a 50 kB URL, binary bytes, POST, a GET with a 10 MB body
     announced, no Host in HTTP/1.1, HTTP/9.9, a path outside the tree, a
     header line without a colon: each gets a 4xx/5xx or a closed
     connection, never a 200. (Bare-LF line ends and HTTP/1.0 without Host
     are allowed, and answered.)
  2. A slowloris client (127.0.0.2) opens 100 connections and trickles a
     header byte a second into each for 12 s; a silent connection
     (127.0.0.3) sends nothing. A scrape from 127.0.0.1 every 0.5 s gets
     its metrics meanwhile, the server holds at most the per-address limit
     of the slowloris connections, and closes the silent one after its
     timeout.
  3. 1,000 connections at once (from 40 loopback addresses, 25 each), each
     sending GET /metrics: every one is answered or closed by the server
     within 20 s, and /metrics answers afterwards.
  4. The call lost nothing (every packet each party sent arrived at the
     other), every ng ping was answered, the slowest well under a second,
     and mediusd logged no error.
"""
import os
import resource
import select
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from medius_test import check, finish, ng_request  # noqa: E402
from http_test import HttpDaemon, Media, Party, call, get, scrape, value  # noqa: E402


class Pinger(threading.Thread):
    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.lat, self.lost, self.stop_ev = port, [], 0, threading.Event()

    def run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        while not self.stop_ev.is_set():
            t = time.monotonic()
            try:
                ok = ng_request(self.port, b"d7:command4:pinge", timeout=2, sock=s) == b"d6:result4:ponge"
                self.lat.append(time.monotonic() - t)
                if not ok:
                    self.lost += 1
            except OSError:
                self.lost += 1
            time.sleep(0.1)


def raw(port, data, src="127.0.0.1", wait=5.0):
    """Send bytes on a fresh connection; the status code the server
    answered with (0: closed without an answer)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait, source_address=(src, 0))
    try:
        try:
            s.sendall(data)
        except OSError:
            pass
        got = b""
        try:
            while b"\r\n" not in got:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except OSError:
            pass
        if got.startswith(b"HTTP/"):
            return int(got.split()[1])
        return 0
    finally:
        s.close()


MALFORMED = [
    ("garbage", b"GARBAGE\r\n\r\n"),
    ("a 100 kB header", b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 100000 + b"\r\n\r\n"),
    ("a 50 kB URL", b"GET /" + b"a" * 50000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("binary bytes", b"\x00\xff\xfe\x01binary" * 200 + b"\r\n\r\n"),
    ("POST", b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"),
    ("a 10 MB body announced", b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 1000),
    ("HTTP/1.1 without Host", b"GET /metrics HTTP/1.1\r\n\r\n"),
    ("HTTP/9.9", b"GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n"),
    ("a path outside the tree", b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("a header without a colon", b"GET /metrics HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"),
]
# requests that are odd but allowed (RFC 9112 lets a server take a bare LF
# as a line end): answered normally
TOLERATED = [
    ("a bare LF request", b"GET /metrics HTTP/1.1\nHost: x\n\n"),
    ("HTTP/1.0 without Host", b"GET /metrics HTTP/1.0\r\n\r\n"),
]


def malformed(d):
    for what, data in MALFORMED:
        code = raw(d.http, data)
        check(code == 0 or code >= 400, f"malformed: {what}: answered {code or 'by closing'}")
    for what, data in TOLERATED:
        code = raw(d.http, data)
        check(code == 200, f"tolerated: {what}: answered {code}")
    st, _, _ = get(d.http, "/metrics")
    check(st == 200, "/metrics still answers")


def slowloris(d):
    conns, stop = [], time.time() + 12
    for _ in range(100):
        try:
            s = socket.create_connection(("127.0.0.1", d.http), timeout=2, source_address=("127.0.0.2", 0))
            s.setblocking(False)
            s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            conns.append(s)
        except OSError:
            pass
    silent = socket.create_connection(("127.0.0.1", d.http), timeout=2, source_address=("127.0.0.3", 0))
    silent_t0, silent_closed = time.time(), None
    silent.setblocking(False)
    scrapes, worst, open_max = 0, 0.0, 0
    while time.time() < stop:
        for s in conns:
            try:
                s.send(b"a")
            except OSError:
                pass
        t = time.monotonic()
        try:
            samples, _ = scrape(d.http)
            scrapes += 1
            worst = max(worst, time.monotonic() - t)
            open_max = max(open_max, value(samples, "medius_http_connections"))
        except OSError:
            pass
        if silent_closed is None:
            try:
                if silent.recv(100) == b"":
                    silent_closed = time.time() - silent_t0
            except BlockingIOError:
                pass
            except OSError:
                silent_closed = time.time() - silent_t0
        time.sleep(0.5)
    alive = 0
    for s in conns:
        try:
            r = s.recv(100)
            alive += r != b""
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
        s.close()
    silent.close()
    check(scrapes >= 15 and worst < 1.0, f"slowloris: scrapes from another address kept working "
          f"({scrapes} in 12 s, slowest {worst * 1000:.0f} ms)")
    check(alive <= 32, f"slowloris: at most 32 (per-address limit) of its 100 connections held ({alive})")
    check(open_max <= 32 + 3, f"medius_http_connections stayed near the per-address limit (max {open_max:.0f})")
    check(silent_closed is not None and silent_closed <= 3 + 2.5,
          f"a silent connection is closed after the 3 s timeout ({silent_closed and round(silent_closed, 1)} s)")


def thousand(d):
    socks = []
    for i in range(1000):
        s = socket.socket()
        s.setblocking(False)
        s.bind((f"127.0.0.{10 + i // 25}", 0))
        s.connect_ex(("127.0.0.1", d.http))
        socks.append(s)
    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    pending, sent = {s.fileno(): s for s in socks}, set()
    answered = closed = 0
    deadline = time.time() + 20
    while pending and time.time() < deadline:
        w = [fd for fd in pending if fd not in sent]
        r = [fd for fd in pending if fd in sent]
        rr, ww, _ = select.select(r[:900], w[:900], [], 0.5) if len(r) + len(w) < 1000 else \
            select.select(r[:500], w[:500], [], 0.5)
        for fd in ww:
            try:
                pending[fd].send(req)
            except OSError:
                pass
            sent.add(fd)
        for fd in rr:
            s = pending[fd]
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if data.startswith(b"HTTP/1.1 200"):
                answered += 1
            elif data:
                continue  # the rest of an answer: read on until it closes
            else:
                closed += 1
            del pending[fd]
            s.close()
    for s in pending.values():
        s.close()
    print(f"     1,000 connections: {answered} answered with 200, {closed} closed by the server, "
          f"{len(pending)} left hanging")
    check(not pending and answered + closed == 1000 and answered >= 100,
          "1,000 connections at once: each answered or closed by the server within 20 s")
    st, _, _ = get(d.http, "/metrics")
    check(st == 200, "/metrics answers afterwards")


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    with HttpDaemon(timeout_seconds=3) as d:
        a, b = Party(), Party()
        o, r = call(d.port, "hostile-call", a, b, "clinic-a", "clinic-b")
        check(o.get("result") == "ok" and r.get("result") == "ok", "the relayed call is set up")
        media = Media().start()
        media.add(a, b)
        aff = {}
        for tid in os.listdir(f"/proc/{d.proc.pid}/task"):
            comm = open(f"/proc/{d.proc.pid}/task/{tid}/comm").read().strip()
            cpus = [ln.split()[1] for ln in open(f"/proc/{d.proc.pid}/task/{tid}/status")
                    if ln.startswith("Cpus_allowed_list")][0]
            aff.setdefault(comm if not comm.startswith("MHD") else "MHD", set()).add(cpus)
        check(aff.get("MHD") and aff["MHD"] == aff.get("mediusd") and
              not (aff["MHD"] & aff.get("rte-worker-1", set())),
              f"the listener thread runs on the control lcore's CPUs, not the worker's ({aff})")
        pinger = Pinger(d.port)
        pinger.start()
        time.sleep(1)
        malformed(d)
        slowloris(d)
        thousand(d)
        time.sleep(1)
        pinger.stop_ev.set()
        pinger.join()
        media.stop()
        lat = sorted(pinger.lat)
        check(pinger.lost == 0 and len(lat) > 50,
              f"ng: every ping answered ({len(lat)} answered, {pinger.lost} lost)")
        check(lat and lat[-1] < 0.5, f"ng: slowest ping {lat[-1] * 1000:.1f} ms, median "
              f"{lat[len(lat) // 2] * 1000:.2f} ms (< 500 ms)")
        for x, y, name in ((a, b, "a to b"), (b, a, "b to a")):
            check(x.sent > 500 and len(y.seqs) == x.sent,
                  f"the call lost nothing {name}: {x.sent} sent, {len(y.seqs)} distinct arrived")
        s, _ = scrape(d.http)
        drops = value(s, "medius_drops_total")
        check(drops == 0, f"no packet dropped by medius (medius_drops_total {drops:.0f})")
        errors = [ln for ln in d.log_text().splitlines() if "] error " in ln]
        check(not errors, f"mediusd logged no error ({errors[:3]})")
    finish()


if __name__ == "__main__":
    main()
