"""Leg churn under traffic: kernel-UDP legs created, hooked, moved and
destroyed over and over while packets keep arriving at their sockets,
through the real dataplane in place_harness (two workers on one core,
the control thread on the other).

What it guards: a socket's receive must never outlive its leg. With the
io_uring backend (media.kernel_io = uring, the default) a leg's sockets
have multishot receives in flight; DETACH cancels them, relays what they
already received, and completions that come after must find a dead slot,
not the freed leg. ./medius sanitize runs this test against an ASan/UBSan
build, where a use after free is a report; here it is a crash or garbage
counters. The same test runs with MEDIUS_KERNEL_IO=epoll (meson test
churn_epoll).

- a steady call relays a sequence-numbered stream both ways at 1,000 pps
  throughout: every packet arrives, once, in order;
- a sprayer sends RTP from one socket to every port churned calls ever
  had (live, being destroyed, long gone) while a loop creates calls (their
  legs' peer is the sprayer, so what they accept they relay back to it),
  hooks every third one (a terminated leg: kernel receive timestamps on
  its socket, a media hook, a ticker), moves every other one to the other
  worker, and destroys the oldest once 12 are alive, some right after
  creating them;
- churned calls did receive packets (the spray reached sockets as they
  came and went), and the harness exits cleanly with no sanitizer report."""
import os
import socket
import struct
import threading
import time

from medius_test import LineHarness, check, finish

HARNESS = os.environ.get("PLACE_HARNESS", "build/tests/place_harness")
DURATION = float(os.environ.get("CHURN_SECONDS", "8"))
INTERVAL = 0.001  # the steady call: a packet every 1 ms each way


class Media:
    """The steady call's peers (as in test_placement.py): a sender thread
    for both directions and a receiver per peer recording every counter."""

    def __init__(self, h, name, call):
        self.socks = {}
        for leg in "ab":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.settimeout(0.2)
            self.socks[leg] = s
            check(h("remote", name, leg, s.getsockname()[1])["rc"] == 0, f"{name}: leg {leg}'s peer set")
        self.ports = {"a": call["a"], "b": call["b"]}
        self.sent = {"a": 0, "b": 0}
        self.got = {"a": [], "b": []}
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._send)] + \
                       [threading.Thread(target=self._recv, args=(leg,)) for leg in "ab"]
        for t in self.threads:
            t.start()

    def _send(self):
        t0, i = time.monotonic(), 0
        while not self.stop.is_set():
            for leg, ssrc in (("a", 0xA), ("b", 0xB)):
                n = self.sent[leg]
                pkt = struct.pack("!BBHIII", 0x80, 0, n & 0xffff, n * 160, ssrc, n) + b"\xd5" * 156
                self.socks[leg].sendto(pkt, ("127.0.0.1", self.ports[leg]))
                self.sent[leg] += 1
            i += 1
            time.sleep(max(0.0, t0 + INTERVAL * i - time.monotonic()))

    def _recv(self, leg):
        s, quiet = self.socks[leg], 0
        while quiet < 5:  # 1 s of silence after stop
            try:
                p = s.recv(2048)
                self.got[leg].append(struct.unpack("!I", p[12:16])[0])
                quiet = 0
            except socket.timeout:
                if self.stop.is_set():
                    quiet += 1

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()
        for s in self.socks.values():
            s.close()

    def verdict(self, what):
        for into, out in (("a", "b"), ("b", "a")):
            got, n = self.got[out], self.sent[into]
            lost, dups = n - len(set(got)), len(got) - len(set(got))
            check(got == list(range(n)), f"{what}: {into}->{out}: {len(got)} of {n} packets, {lost} lost, "
                  f"{dups} duplicated")


h = LineHarness(HARNESS, "--lcores", "0@0,(1-2)@1")
steady = h("call", "steady")
check(steady["rc"] == 0, "the steady call is created")
media = Media(h, "steady", steady)

spray = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
spray.bind(("127.0.0.1", 0))
spray.setblocking(False)
sport = spray.getsockname()[1]
ports, stop = [], threading.Event()
sprayed, echoed = [0], [0]


def sprayer():
    n = 0
    while not stop.is_set():
        for p in list(ports[-64:]) + list(ports[:-64][::7]):  # recent ports every round, old ones now and then
            pkt = struct.pack("!BBHII", 0x80, 0, n & 0xffff, n * 160, 0xC0DE) + b"\xd5" * 160
            try:
                spray.sendto(pkt, ("127.0.0.1", p))
                sprayed[0] += 1
            except OSError:
                pass
            n += 1
        try:
            while True:
                spray.recv(2048)
                echoed[0] += 1
        except OSError:
            pass
        time.sleep(0.0005)


th = threading.Thread(target=sprayer)
th.start()

alive, made, moved, hooked, destroyed, rx_seen, bad = [], 0, 0, 0, 0, 0, []
t_end = time.monotonic() + DURATION
ws = [w["lcore"] for w in h("workers")["workers"]]
while time.monotonic() < t_end:
    name = f"c{made}"
    r = h("call", name)
    if r["rc"] != 0:
        bad.append(("call", name, r))
        break
    made += 1
    for leg in "ab":
        if h("remote", name, leg, sport)["rc"] != 0:
            bad.append(("remote", name, leg))
    ports += [r["a"], r["b"]]
    alive.append(name)
    if made % 3 == 0:
        hooked += h("hook", name)["rc"] == 0
    if made % 2 == 0:
        to = [w for w in ws if w != r["lcore"]][0]
        mv = h("move", name, to)
        moved += mv["rc"] == 0 and mv["lcore"] == to
    time.sleep(0.01)
    if made % 5 == 0 or len(alive) > 12:
        victim = alive.pop(0 if len(alive) > 12 else -1)
        st = h("stats", victim)
        rx_seen += st["a"]["rtp_packets"] + st["a"]["hook_in"] + st["b"]["rtp_packets"]
        h("destroy", victim)
        destroyed += 1
for name in alive:
    h("destroy", name)
    destroyed += 1
time.sleep(0.3)
stop.set()
th.join()
spray.close()
media.finish()
lc, st = h("lcores"), h("stats", "steady")
h.close("churn")

print(f"    {made} calls made, {hooked} hooked, {moved} moved, {destroyed} destroyed; "
      f"{sprayed[0]} packets sprayed, {echoed[0]} relayed back; churned legs took {rx_seen}; per lcore rx {lc}; "
      f"the steady call: {st['a']}, {st['b']}")
check(not bad, f"every churn command worked ({bad[:3]})")
check(made >= 40 and moved >= 10 and hooked >= 10, f"calls churned ({made} made, {moved} moved, {hooked} hooked)")
check(rx_seen > 0 and echoed[0] > 0, f"churned legs received and relayed spray ({rx_seen} in, {echoed[0]} back)")
media.verdict("steady call through the churn")
finish()
