"""Helpers for the HTTP listener's tests (control/ctl_http.c): mediusd with
[http] on a free loopback port, HTTP GETs, a /metrics parser, RTP senders
with chosen loss, calls with sites, and a real Prometheus. Standard library
only (plus the prometheus binary for start_prometheus)."""
import http.client
import json
import math
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

from medius_test import Daemon, ng

PROMETHEUS = os.environ.get("PROMETHEUS", "prometheus")
PROMTOOL = os.environ.get("PROMTOOL", "promtool")
SOURCE = os.environ.get("MEDIUS_SOURCE", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# where tests leave files for people to look at (screenshots): the meson build dir
ARTEFACTS = os.environ.get("MEDIUS_ARTEFACTS", os.path.join(os.path.dirname(os.environ.get("MEDIUSD", "build/control/mediusd")), "..", "artefacts"))


def free_tcp_port():
    """A free TCP port on 127.0.0.1 above mediusd's default media range (30000-39999)."""
    for _ in range(200):
        p = random.randint(41000, 60000)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free TCP port")


class HttpDaemon(Daemon):
    """mediusd with its HTTP listener on a free loopback port (self.http)."""

    def __init__(self, *extra, **http_keys):
        self.http = free_tcp_port()
        args = ["-o", f"http.listen=127.0.0.1:{self.http}"]
        for k, v in http_keys.items():
            args += ["-o", f"http.{k}={v}"]
        super().__init__(*(args + list(extra)))
        deadline = time.time() + 10
        while time.time() < deadline:  # the first collection is published at start
            try:
                if get(self.http, "/metrics")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the HTTP listener did not answer")


def get(port, path, timeout=5, host="127.0.0.1"):
    """GET http://host:port/path: (status, body bytes, headers dict)."""
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read(), {k.lower(): v for k, v in r.getheaders()}
    finally:
        c.close()


LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text format -> (samples [(name, {labels}, value)], {family: type})."""
    samples, types = [], {}
    for ln in text.splitlines():
        if ln.startswith("# TYPE "):
            _, _, name, kind = ln.split(" ", 3)
            types[name] = kind
            continue
        if not ln or ln.startswith("#"):
            continue
        m = LINE.match(ln)
        if not m:
            raise ValueError("bad metrics line: " + ln)
        labels = dict(LABEL.findall(m.group(3) or ""))
        samples.append((m.group(1), labels, float(m.group(4))))
    return samples, types


def scrape(port):
    st, body, _ = get(port, "/metrics")
    if st != 200:
        raise RuntimeError(f"/metrics: HTTP {st}")
    return parse_metrics(body.decode())


def value(samples, name, **labels):
    """The sum of the samples of `name` whose labels include `labels`."""
    return sum(v for n, l, v in samples if n == name and all(l.get(k) == x for k, x in labels.items()))


def status(port):
    return json.loads(get(port, "/status.json")[1])


# ---- RTP ----

def lin2ulaw(x):
    """G.711 mu-law of one 16-bit sample."""
    sign = 0x80 if x < 0 else 0
    x = min(abs(x), 32635) + 0x84
    exp = 7
    for e in range(8):
        if x < (0x100 << e):
            exp = e
            break
    mant = (x >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | mant) & 0xFF


def tone_frames(freq, n=50, amp=8000):
    """n 20 ms PCMU frames of a sine (a second at n=50), repeated as needed."""
    return [bytes(lin2ulaw(int(amp * math.sin(2 * math.pi * freq * (f * 160 + i) / 8000))) for i in range(160))
            for f in range(n)]


SILENCE = [b"\xff" * 160]


class Party:
    """One side of a call: an RTP socket that sends PCMU every 20 ms to
    medius (dropping every `drop_every`-th packet before it leaves: loss on
    the way in; holding each packet back 0 to `delay_ticks` x 20 ms at
    random: jitter) and counts what it receives."""

    def __init__(self, frames=SILENCE, drop_every=0, delay_ticks=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.frames, self.drop_every, self.delay_ticks = frames, drop_every, delay_ticks
        self.held = []  # (due tick, packet): packets held back 0..delay_ticks x 20 ms (jitter)
        self.dest = None
        self.sent = self.dropped = self.received = 0
        self.seqs = set()
        self.errors = []
        self.ssrc = random.getrandbits(32)

    def step(self, n):
        if self.dest is None:
            return
        seq, ts = n & 0xffff, (n * 160) & 0xffffffff
        pkt = struct.pack("!BBHII", 0x80, 0, seq, ts, self.ssrc) + self.frames[n % len(self.frames)]
        if self.drop_every and n % self.drop_every == self.drop_every - 1:
            self.dropped += 1
        else:
            self.held.append((n + (random.randint(0, self.delay_ticks) if self.delay_ticks else 0), pkt))
        due = [p for t, p in self.held if t <= n]
        self.held = [(t, p) for t, p in self.held if t > n]
        for p in due:
            try:
                self.sock.sendto(p, ("127.0.0.1", self.dest))
                self.sent += 1
            except OSError as e:
                self.errors.append(str(e))

    def drain(self):
        while True:
            try:
                data = self.sock.recv(2048)
            except (socket.timeout, BlockingIOError):
                return
            except OSError as e:  # an ICMP error queued on the socket: counted, not fatal
                self.errors.append(str(e))
                continue
            self.received += 1
            if len(data) >= 12:
                self.seqs.add(struct.unpack("!H", data[2:4])[0])


class Media:
    """A thread that drives every Party: a packet each 20 ms, on schedule."""

    def __init__(self):
        self.parties, self.n, self.stop_ev = [], 0, threading.Event()
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self.run, daemon=True)

    def add(self, *ps):
        with self.lock:
            self.parties.extend(ps)

    def start(self):
        self.t.start()
        return self

    def run(self):
        t0 = time.monotonic()
        while not self.stop_ev.is_set():
            with self.lock:
                ps = list(self.parties)
            for p in ps:
                p.step(self.n)
            for p in ps:
                p.drain()
            self.n += 1
            delay = t0 + self.n * 0.02 - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def stop(self):
        self.stop_ev.set()
        self.t.join()
        time.sleep(0.1)
        with self.lock:
            for p in self.parties:
                p.drain()


def sdp(port):
    return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=ptime:20\r\n")


def media_port(text):
    return int(re.search(r"^m=audio (\d+) ", text, re.M).group(1))


def call(ngport, call_id, a, b, site_a=None, site_b=None):
    """Offer from party a, answer from party b (sites in the ng metadata);
    point each party at its medius port. Returns (offer reply, answer reply)."""
    kw = {"metadata": f"site:{site_a}|case:{call_id}"} if site_a else {}
    o = ng(ngport, command="offer", call_id=call_id, from_tag=call_id + "-a", sdp=sdp(a.port), **kw)
    kw = {"metadata": f"site:{site_b}"} if site_b else {}
    r = ng(ngport, command="answer", call_id=call_id, from_tag=call_id + "-a", to_tag=call_id + "-b",
           sdp=sdp(b.port), **kw)
    if o.get("result") == "ok" and r.get("result") == "ok":
        a.dest, b.dest = media_port(r["sdp"]), media_port(o["sdp"])
    return o, r


def conference_party(ngport, room, call_id, p, site=None):
    """p joins room (created before) as a conference participant."""
    kw = {"metadata": f"site:{site}"} if site else {}
    o = ng(ngport, command="offer", call_id=call_id, from_tag=call_id + "-t", conference=room, sdp=sdp(p.port), **kw)
    if o.get("result") == "ok":
        p.dest = media_port(o["sdp"])
    return o


# ---- Prometheus ----

class Prometheus:
    """A real Prometheus on a free loopback port, scraping `targets` every
    second and evaluating `rule_files` every second; storage in a temp dir."""

    def __init__(self, targets, rule_files=()):
        self.dir = tempfile.mkdtemp(prefix="medius-prom-")
        self.port = free_tcp_port()
        conf = os.path.join(self.dir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n  scrape_timeout: 1s\n")
            if rule_files:
                f.write("rule_files:\n" + "".join(f"  - {r}\n" for r in rule_files))
            f.write("scrape_configs:\n  - job_name: medius\n    static_configs:\n      - targets: [" +
                    ", ".join(f"'127.0.0.1:{t}'" for t in targets) + "]\n")
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.proc = subprocess.Popen([PROMETHEUS, f"--config.file={conf}", f"--storage.tsdb.path={self.dir}/data",
                                      f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if get(self.port, "/-/ready", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.close()
        raise RuntimeError("prometheus did not start:\n" + open(os.path.join(self.dir, "prometheus.log")).read())

    def api(self, path, **params):
        st, body, _ = get(self.port, path + "?" + urllib.parse.urlencode(params))
        d = json.loads(body)
        if d.get("status") != "success":
            raise RuntimeError(f"prometheus {path}: {d}")
        return d["data"]

    def query(self, q):
        """An instant query: [(labels, float value)]."""
        return [(r["metric"], float(r["value"][1])) for r in self.api("/api/v1/query", query=q)["result"]]

    def alerts(self):
        return self.api("/api/v1/alerts")["alerts"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def ward_and_call(ngport, call_id):
    """The scene the status page and mediusctl top are checked on: room
    "ward" with ward-p1 (clinic-a, a 500 Hz talker) and ward-p2 (clinic-b,
    silent), and call call_id from clinic-a (a 700 Hz talker) to clinic-b.
    Returns the parties (p1, p2, a, b); the caller adds them to its Media."""
    from medius_test import check
    p1, p2 = Party(tone_frames(500)), Party()
    a, b = Party(tone_frames(700)), Party()
    r = ng(ngport, command="create room", conference="ward")
    check(r.get("result") == "ok", "create room ward")
    for cid, p, site in (("ward-p1", p1, "clinic-a"), ("ward-p2", p2, "clinic-b")):
        r = conference_party(ngport, "ward", cid, p, site)
        check(r.get("result") == "ok", f"{cid} joins ward: {r.get('error-reason', 'ok')}")
    o, r = call(ngport, call_id, a, b, "clinic-a", "clinic-b")
    check(o.get("result") == "ok" and r.get("result") == "ok", f"the call {call_id} is set up")
    return p1, p2, a, b


def alert_rules_test_copy(dst_dir, for_="15s"):
    """docs/ops/medius-alerts.yml with every `for: 1m` turned into `for_`
    (the only change; documented in docs/testing.md): the path of the copy."""
    src = os.path.join(SOURCE, "docs", "ops", "medius-alerts.yml")
    text = open(src).read()
    n = text.count("for: 1m")
    text = text.replace("for: 1m", f"for: {for_}")
    dst = os.path.join(dst_dir, "medius-alerts.test-copy.yml")
    with open(dst, "w") as f:
        f.write(text)
    return dst, n
