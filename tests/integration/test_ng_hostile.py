"""Hostile and careless ng clients (issue 18): the TCP control socket stays
usable for everyone else, drop reasons show up over ng, and JSON that is not
UTF-8 is refused.

- 64 slowloris connections from one address (one byte a second) take at
  most tcp_max_clients_per_source slots; a legitimate TCP ping from another
  address is answered within 1 s, and the slow ones are cut off by the
  request timeout.
- 64 slowloris connections from 64 addresses fill every slot; the request
  timeout frees them, so a legitimate client gets in again.
- 50,000 pipelined pings on one connection are all answered, in order (the
  request size limit applies to each request, not to the backlog).
- A client that sends requests and stops reading is disconnected, with a
  log line, and nobody else notices.
- Truncated RTP packets, version-3 packets and a STUN-like packet show up
  as rtp_trunc, rtp_version and not_rtp in the leg's stats.drops (query),
  in statistics and in mediusctl.
- Invalid UTF-8 in an ng JSON request is refused with a clear error.
"""
import json
import select
import socket
import struct
import subprocess
import threading
import time

from medius_test import MEDIUSCTL, Daemon, call_sdp, check, finish, loop_sock, media_port, ng, ng_request

REQUEST_TIMEOUT = 2  # tcp_request_timeout_seconds in this run
SEND_TIMEOUT = 2     # tcp_send_timeout_seconds
PER_SOURCE = 16      # tcp_max_clients_per_source (the default)
PING = b"d7:command4:pinge"


def tcp(port, src="127.0.0.1", timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def tcp_ping(port, src="127.0.0.1", timeout=1.0):
    """A ping over a fresh TCP connection; True when pong came back in time."""
    try:
        with tcp(port, src, timeout) as s:
            s.sendall(b"lp1 " + PING)
            got = b""
            while not got.endswith(b"d6:result4:ponge"):
                chunk = s.recv(4096)
                if not chunk:
                    return False
                got += chunk
            return got == b"lp1 d6:result4:ponge"
    except OSError:
        return False


def closed_by_peer(s, wait):
    """True when the server closes s (EOF or reset) within `wait` seconds."""
    s.settimeout(wait)
    try:
        while True:
            if not s.recv(65536):
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


class Slowloris:
    """Connections that send a request one byte a second, for a bounded time."""

    def __init__(self, port, sources):
        self.socks = []
        for src in sources:
            try:
                self.socks.append(tcp(port, src))
            except OSError:
                pass
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        msg = b"slow d7:command4:pinge"
        for i in range(30):  # at most 30 s
            for s in self.socks:
                try:
                    s.send(msg[i % len(msg):i % len(msg) + 1])
                except OSError:
                    pass
            if self.stop.wait(1.0):
                return

    def close(self):
        self.stop.set()
        self.thread.join(5)
        for s in self.socks:
            s.close()


with Daemon("--set", f"control.tcp_request_timeout_seconds={REQUEST_TIMEOUT}",
            "--set", f"control.tcp_send_timeout_seconds={SEND_TIMEOUT}",
            "--set", "control.tcp_max_pending_bytes=65536", tcp=True) as d:
    P = d.port

    # --- slowloris from one address ---
    slow = Slowloris(P, ["127.0.0.2"] * 64)
    time.sleep(0.5)
    t0 = time.monotonic()
    ok = tcp_ping(P, timeout=1.0)
    check(ok, f"64 slowloris connections from 127.0.0.2: a TCP ping from 127.0.0.1 is answered "
              f"({time.monotonic() - t0:.3f} s, limit 1 s)")
    readable, _, _ = select.select(slow.socks, [], [], 0.2)  # refused: EOF or reset at once
    refused = sum(closed_by_peer(s, 0.1) for s in readable)
    check(refused == 64 - PER_SOURCE, f"{refused} of the 64 were refused at once "
                                      f"({PER_SOURCE} per source are let in)")
    cut = sum(closed_by_peer(s, REQUEST_TIMEOUT + 4) for s in slow.socks)
    check(cut == 64, f"the request timeout ({REQUEST_TIMEOUT} s) cut off the other slow ones too: {cut} of 64 closed")
    slow.close()
    log = d.log_text()
    check("still incomplete after" in log and "from the address of 127.0.0.2" in log,
          "mediusd logged the refusals and the request timeouts")

    # --- slowloris from 64 addresses: every slot taken, then freed ---
    slow = Slowloris(P, [f"127.0.1.{i}" for i in range(1, 65)])
    time.sleep(0.5)
    check(len(slow.socks) == 64 and not tcp_ping(P, timeout=1.0),
          "64 slow connections from 64 addresses take every slot (tcp_max_clients = 64)")
    t0 = time.monotonic()
    while not tcp_ping(P, timeout=1.0) and time.monotonic() - t0 < REQUEST_TIMEOUT + 8:
        time.sleep(0.2)
    waited = time.monotonic() - t0
    check(waited < REQUEST_TIMEOUT + 8, f"the request timeout freed the slots: a ping got through after {waited:.1f} s")
    slow.close()

    # --- 50,000 pipelined pings on one connection ---
    N = 50000
    reqs = b"".join(b"p%d %s" % (i, PING) for i in range(N))
    want = b"".join(b"p%d d6:result4:ponge" % i for i in range(N))
    with tcp(P, timeout=30) as s:
        sender = threading.Thread(target=lambda: s.sendall(reqs), daemon=True)
        sender.start()
        got = bytearray()
        deadline = time.monotonic() + 60
        try:
            while len(got) < len(want) and time.monotonic() < deadline:
                chunk = s.recv(1 << 16)
                if not chunk:
                    break
                got += chunk
        except OSError:
            pass
        sender.join(10)
    check(bytes(got) == want, f"{N} pipelined pings ({len(reqs)} bytes, over max_request_bytes) all answered in order: "
                              f"{bytes(got).count(b'pong')} pongs")

    # --- a client that stops reading ---
    lazy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lazy.connect(("127.0.0.1", P))
    lazy.setblocking(False)
    cookie = b"c" * 120
    burst = b"".join(cookie + b"%06d " % i + PING for i in range(2000))
    sent, t0, dead = 0, time.monotonic(), False
    while time.monotonic() - t0 < 10 and sent < (256 << 20):
        try:
            sent += lazy.send(burst)
        except BlockingIOError:
            time.sleep(0.05)
        except OSError:
            dead = True
            break
        if "is not reading its replies" in d.log_text():
            break
    check(tcp_ping(P, timeout=1.0), "another client is served while one does not read")
    t0 = time.monotonic()
    while "is not reading its replies" not in d.log_text() and time.monotonic() - t0 < SEND_TIMEOUT + 8:
        time.sleep(0.2)
    line = [l for l in d.log_text().splitlines() if "is not reading its replies" in l]
    check(bool(line), f"the client that stopped reading was cut off with a log line ({sent} bytes sent): "
                      f"{line[0].strip() if line else ''}")
    lazy.setblocking(True)
    check(dead or closed_by_peer(lazy, 5), "its connection is closed, not left half-open")
    lazy.close()
    check(tcp_ping(P, timeout=1.0) and d.proc.poll() is None, "mediusd still answers over TCP")

    # --- drop reasons in query, statistics and mediusctl ---
    a, b = loop_sock(1), loop_sock(1)
    o = ng(P, command="offer", call_id="drops", from_tag="A", sdp=call_sdp(a.getsockname()[1]))
    r = ng(P, command="answer", call_id="drops", from_tag="A", to_tag="B", sdp=call_sdp(b.getsockname()[1]))
    to_a_leg = media_port(r["sdp"])  # what A sends to
    a.sendto(struct.pack("!BBHII", 0x80, 0, 1, 160, 0x1234) + b"\xd5" * 160, ("127.0.0.1", to_a_leg))
    for _ in range(3):
        a.sendto(b"\x80\x00\x00\x01\x00", ("127.0.0.1", to_a_leg))  # shorter than an RTP header
    for _ in range(2):
        a.sendto(struct.pack("!BBHII", 0xc0, 0, 2, 320, 0x1234) + b"\xd5" * 160, ("127.0.0.1", to_a_leg))  # version 3
    a.sendto(b"\x00\x01\x00\x00" + b"\x21\x12\xa4\x42" + b"\0" * 12, ("127.0.0.1", to_a_leg))  # a STUN request
    time.sleep(0.5)
    q = ng(P, command="query", call_id="drops")
    sa = q["tags"]["A"]["medias"][0]["streams"][0]["stats"]
    sb = q["tags"]["B"]["medias"][0]["streams"][0]["stats"]
    check(sa.get("drops") == {"rtp_trunc": 3, "rtp_version": 2, "not_rtp": 1} and sa["errors"] == 6,
          f"query: A's leg names its drops: {sa}")
    check(sb.get("drops") == {} and sb["errors"] == 0, f"query: B's leg has none: {sb}")
    st = ng(P, command="statistics")["statistics"]["totalstatistics"]
    dr = st.get("drops", {})
    check(len(dr) >= 30 and dr.get("rtp_trunc", 0) >= 3 and dr.get("rtp_version", 0) >= 2 and dr.get("not_rtp", 0) >= 1
          and sum(dr.values()) == st["errors"],
          f"statistics: every reason ({len(dr)}), summing to errors ({st['errors']})")
    ctl = lambda *args: subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{P}", *args], capture_output=True,
                                       text=True, timeout=30).stdout
    out = ctl("show", "drops")
    check("drops: rtp_trunc 3, rtp_version 2, not_rtp 1" in out, f"mediusctl show lists the reasons under A's row:\n{out}")
    out = ctl("stats")
    check(any(l.split() == ["rtp_trunc", str(dr["rtp_trunc"])] for l in out.splitlines()),
          f"mediusctl stats lists the reasons:\n{out}")
    ng(P, command="delete", call_id="drops")

    # --- invalid UTF-8 in JSON ---
    for name, raw in (("a stray byte", b"\xff"), ("an overlong '/'", b"\xc0\xaf"),
                      ("a surrogate in UTF-8", b"\xed\xa0\x80"), ("above U+10FFFF", b"\xf4\x90\x80\x80"),
                      ("a cut-short sequence", b"\xe2\x82"), ("an unpaired \\ud800", b"\\ud800")):
        rep = ng_request(P, b'{"command":"ping","x":"' + raw + b'"}')
        try:
            rep = json.loads(rep)
        except ValueError:
            rep = {"raw": rep}
        check(rep.get("result") == "error" and "invalid UTF-8" in rep.get("error-reason", ""),
              f"JSON with {name} is refused: {rep}")
    rep = json.loads(ng_request(P, '{"command":"ping","x":"\u00e9\u20ac\U0001f600"}'.encode()))
    check(rep.get("result") == "pong", "JSON with valid UTF-8 is answered")
    with tcp(P) as s:
        s.sendall(b'u1 {"command":"ping","x":"\xc0\xaf"}')
        reply = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except OSError:
            pass
    check(b"Malformed request" in reply, f"over TCP too: {reply!r}")

finish()
