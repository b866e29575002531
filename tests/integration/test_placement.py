"""Placement (dataplane/dp_place.c): calls moved between worker lcores,
sharded by key, colocated, under the transcoding rule, through the real
dataplane in place_harness, with media flowing over kernel UDP on loopback.

place_harness runs more worker lcores than this machine has cores (EAL
--lcores "0@0,(1-3)@1": control on core 0, workers 1, 2 and 3 on core 1).
Each call has legs a and b relayed to each other; a peer socket per leg
sends sequence-numbered RTP (a 32-bit counter in the payload) all along,
and every packet is counted at the other peer: none lost, none duplicated,
order kept, through every move.

1. moves: one call moved back and forth among the three workers 24 times
   (some moves back to back) while both directions flow; a second call on
   its own shard stays where it is.
2. a hooked leg with a ticker (a terminated leg whose hook sends each packet
   on out of leg b at once) moves around: after each move its hook and its
   ticker run on the new worker, and nothing is lost.
3. shards and colocation with media_workers = 1 (workers 1 and 2 relay,
   3 transcodes): calls of one shard key share a worker, and a new call of
   the shard follows the shard wherever it moved; colocate puts call B on
   call A's worker with B's media flowing; a shard with a transcoding call
   moves to the transcoding worker and refuses to leave it; colocating a
   relayed and a transcoded call puts both on the transcoding worker,
   whichever of them is B.
The harness's stderr is checked for sanitizer reports (./medius sanitize
runs this test against an ASan/UBSan build)."""
import json
import os
import socket
import struct
import subprocess
import tempfile
import threading
import time

from medius_test import LineHarness, check, finish

HARNESS = os.environ.get("PLACE_HARNESS", "build/tests/place_harness")
LCORES = "0@0,(1-3)@1"
SPREAD = "0@0,(1-2)@1,3@0"
INTERVAL = 0.001  # a packet every 1 ms each way (1,000 pps per direction)


class Harness(LineHarness):
    def __init__(self, *args, lcores=LCORES):
        super().__init__(HARNESS, "--lcores", lcores, *args)


class Media:
    """Peers of one call's legs: a sender thread (both directions, until
    stop) and a receiver thread per peer that records every counter."""

    def __init__(self, h, name, call, burst=1):
        self.burst = burst
        self.socks = {}
        for leg in "ab":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.settimeout(0.2)
            self.socks[leg] = s
            check(h("remote", name, leg, s.getsockname()[1])["rc"] == 0, f"{name}: leg {leg}'s peer set")
        self.ports = {"a": call["a"], "b": call["b"]}
        self.sent = {"a": 0, "b": 0}   # sent by the peer of this leg, into this leg
        self.got = {"a": [], "b": []}  # counters the peer of this leg received
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._send)] + \
                       [threading.Thread(target=self._recv, args=(leg,)) for leg in "ab"]
        for t in self.threads:
            t.start()

    def _send(self):
        t0, i = time.monotonic(), 0
        while not self.stop.is_set():
            for leg, ssrc in (("a", 0xA), ("b", 0xB)):
                for k in range(self.burst):
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
        """Every packet sent into leg a reached b's peer, and the other way, in order."""
        for into, out in (("a", "b"), ("b", "a")):
            got, n = self.got[out], self.sent[into]
            lost = n - len(set(got))
            dups = len(got) - len(set(got))
            reordered = sum(1 for x, y in zip(got, got[1:]) if y <= x)
            check(got == list(range(n)),
                  f"{what}: {into}->{out}: {len(got)} of {n} packets, {lost} lost, {dups} duplicated, "
                  f"{reordered} out of order")


def workers(h):
    return {w["lcore"]: w["transcodes"] for w in h("workers")["workers"]}


# ---- 1. moves back and forth with media flowing ----
# workers 1 and 2 share core 1, worker 3 runs on core 0 (with control): a
# move between 3 and the others hands a leg between two cores that run at
# once, while bursts of 4 packets each way every ms keep its sockets busy
h = Harness(lcores=SPREAD)
ws = workers(h)
check(sorted(ws) == [1, 2, 3] and not any(ws.values()),
      f"moves: three worker lcores on one core, none transcoding ({ws})")
m = h("call", "mover")
still = h("call", "still")
mm, ms = Media(h, "mover", m, burst=4), Media(h, "still", still)
time.sleep(0.3)
targets, at = [], m["lcore"]
for i in range(60):  # each to another worker than the last: both neighbours, in a varying order
    at = [w for w in (1, 2, 3) if w != at][(i // 2) % 2]
    targets.append(at)
moves, t_moves = [], []
for i, to in enumerate(targets):
    t0 = time.monotonic()
    r = h("move", "mover", to)
    t_moves.append(time.monotonic() - t0)
    moves.append((r["rc"], r["from"], r["lcore"]))
    if i < 30 and i % 3 != 2:  # a pause after most of the first 30; the rest follow one another at once
        time.sleep(0.05)
time.sleep(0.3)
lc = h("lcores")
st = h("stats", "mover")
mm.finish()
ms.finish()
wanted = [(0, f, t) for f, t in zip([m["lcore"]] + targets, targets)]
check(moves == wanted, f"moves: {len(targets)} moves, each to the lcore asked (rc, from, to): {moves[:7]}...")
check(h("stats", "still")["lcore"] == still["lcore"], f"moves: the other call stayed on lcore {still['lcore']}")
check(all(int(lc.get(str(w), 0)) > 0 for w in (1, 2, 3)), f"moves: every worker relayed some of it (rx per lcore {lc})")
check(st["a"]["drops"] == 0 and st["b"]["drops"] == 0, f"moves: no drop on the moved legs ({st})")
mm.verdict("moves")
ms.verdict("moves, the call that stayed")
print(f"    a move took {1000 * min(t_moves):.2f} ms at least, {1000 * sorted(t_moves)[len(t_moves) // 2]:.2f} ms "
      f"median, {1000 * max(t_moves):.2f} ms at most (the ng-level wait: one turn of the old worker)")

# ---- 2. a hooked leg with a ticker moves ----
c = h("call", "hooked")
check(h("hook", "hooked")["rc"] == 0, "hooked: leg a terminated, a ticker on the call")
mh = Media(h, "hooked", c)
time.sleep(0.3)
at = c["lcore"]
ok_hook, ok_tick, path = True, True, [at]
for i in range(6):
    to = [w for w in (1, 2, 3) if w != at][(i // 2) % 2]
    r = h("move", "hooked", to)
    moved = h("stats", "hooked")  # the old worker let go before the move returned
    time.sleep(0.3)
    cur = h("stats", "hooked")
    grew_h = cur["hook"].get(str(to), 0) > moved["hook"].get(str(to), 0)
    grew_t = cur["tick"].get(str(to), 0) > moved["tick"].get(str(to), 0)
    still_h = cur["hook"].get(str(at), 0) == moved["hook"].get(str(at), 0)
    still_t = cur["tick"].get(str(at), 0) == moved["tick"].get(str(at), 0)
    ok_hook &= r["rc"] == 0 and r["lcore"] == to and grew_h and still_h
    ok_tick &= grew_t and still_t
    if not (grew_h and grew_t and still_h and still_t):
        print("    from", at, "to", to, ": just after the move", moved, "0.3 s later", cur)
    at = to
    path.append(to)
time.sleep(0.2)
mh.finish()
st = h("stats", "hooked")
check(ok_hook, f"hooked: through lcores {path} the hook ran on each new worker and no more on the old one ({st['hook']})")
check(ok_tick, f"hooked: the ticker ticked on each new worker and no more on the old one ({st['tick']})")
check(st["hook_sent"] == mh.sent["a"] and st["hook_refused"] == 0 and st["a"]["hook_in"] == mh.sent["a"],
      f"hooked: the hook took every packet sent into leg a ({st['a']['hook_in']} of {mh.sent['a']}) and sent each "
      f"on ({st['hook_sent']}, {st['hook_refused']} refused)")
check(st["tick_backwards"] == 0 and (st["tick_gap_max_us"] == st["period_us"] or st["clock_missed"] > 0),
      f"hooked: across the moves the ticker saw every deadline once, in order: none repeated "
      f"({st['tick_backwards']}), the largest step {st['tick_gap_max_us']} us (the period: {st['period_us']} us; "
      f"ticks the workers skipped, being late: {st['clock_missed']})")
mh.verdict("hooked")
h.close("moves and hooks")

# ---- 3. shards, colocation and the transcoding rule ----
h = Harness("--transcode-workers", "1")
ws = workers(h)
check(ws == {1: False, 2: False, 3: True}, f"shards: workers 1 and 2 relay, 3 transcodes ({ws})")
r1, r2 = h("call", "room-1", "room:care-team"), h("call", "room-2", "room:care-team")
check(r1["lcore"] == r2["lcore"] in (1, 2) and r2["shard_size"] == 2,
      f"shards: two calls of shard 'room:care-team' share relay worker {r1['lcore']} ({r1}, {r2})")
# two calls on different relay workers (call ids hash to either)
made, by_lcore = {}, {}
for i in range(40):
    made[f"p{i}"] = r = h("call", f"p{i}")
    by_lcore.setdefault(r["lcore"], f"p{i}")
    if len(by_lcore) == 2:
        break
check(sorted(by_lcore) == [1, 2], f"shards: call ids spread over both relay workers ({by_lcore})")
A, B = by_lcore.get(1, "p0"), by_lcore.get(2, "p0")
for name in made:
    if name not in (A, B):
        h("destroy", name)
mb = Media(h, B, made[B])
time.sleep(0.3)
r = h("colocate", B, A)
time.sleep(0.3)
mb.finish()
check(r["rc"] == 0 and r["a"] == r["b"] == made[A]["lcore"] and r["shard_size"] == 2,
      f"colocate: call {B} went from lcore {made[B]['lcore']} to {A}'s lcore {made[A]['lcore']} ({r})")
mb.verdict("colocate")
# the transcoding rule
r = h("xcode", A)
check(r["rc"] == 0 and r["lcore"] == 3 and h("stats", B)["lcore"] == 3,
      f"transcode: {A} needs transcoding: its shard ({A} and {B}) moved to transcoding worker 3 ({r})")
r1, r2 = h("move", A, 1), h("move", B, 2)
check(r1["rc"] == r2["rc"] == -1 and r1["lcore"] == r2["lcore"] == 3,
      f"transcode: the shard refuses to leave the transcoding worker (-EPERM: {r1}, {r2})")
r = h("call", "p-late", f"{A}")
check(r["lcore"] == 3 and r["shard_size"] == 3,
      f"shards: a new call of {A}'s shard (key '{A}') is created where the shard is now, lcore 3 ({r})")
r = h("move", "room-1", 3)
r3 = h("call", "room-3", "room:care-team")
check(r["rc"] == 0 and r["lcore"] == 3 and h("stats", "room-2")["lcore"] == 3 and r3["lcore"] == 3,
      f"shards: moving one call of a room moves the room (to lcore {r['lcore']}), and its next call joins it there "
      f"({r3})")
r = h("move", "room-2", 1)
check(r["rc"] == 0 and r["lcore"] == 1 and all(h("stats", n)["lcore"] == 1 for n in ("room-1", "room-3")),
      f"shards: a relayed room may leave a transcoding worker too ({r})")
# relayed B onto transcoded A: B follows A to the transcoding worker
made["t1"], made["r1"] = h("call", "t1"), h("call", "r1")
h("xcode", "t1")
r = h("colocate", "r1", "t1")
check(r["rc"] == 0 and r["a"] == r["b"] == 3, f"colocate: relayed r1 joins transcoded t1 on worker 3 ({r})")
# transcoded B onto relayed A: A's shard moves to B's transcoding worker first
made["t2"], made["r2"] = h("call", "t2"), h("call", "r2")
h("xcode", "t2")
mr = Media(h, "r2", made["r2"])
time.sleep(0.3)
r = h("colocate", "t2", "r2")
time.sleep(0.3)
mr.finish()
check(r["rc"] == 0 and r["a"] == r["b"] == 3 and made["r2"]["lcore"] in (1, 2),
      f"colocate: transcoded t2 with relayed r2 (on lcore {made['r2']['lcore']}): r2 moved to t2's transcoding "
      f"worker ({r})")
mr.verdict("colocate onto a transcoding call")
r = h("destroy", A)
check(h("stats", B)["shard_size"] == 2, "shards: a destroyed call leaves its shard")
h.close("shards")
finish()
