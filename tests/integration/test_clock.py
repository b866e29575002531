"""The media clock of the workers (dataplane/dp_clock.c), through the real
dataplane in relay_harness: tickers registered on a call's worker run on
every tick, in order, at the configured period (20 ms, or 10); a worker
with no ticker takes no tick; when the call moves to another worker (a
transcoding worker), its tickers move with it and keep ticking. Lateness
is reported (p50/p99/max); the figures are printed, not asserted (these
machines are shared). A long tick (40 tickers of 250 us: 10 ms of work in
every 20 ms) runs in slices with the relayed packets between them: their
relay latency is compared with the same tick run in one piece
(media.tick_slice_us = 0), side by side."""
import json
import os
import select
import signal
import socket
import struct
import subprocess
import time

from media_check import stop
from medius_test import check, finish

HARNESS = os.environ.get("RELAY_HARNESS", "build/tests/relay_harness")


def run(secs, *args, move_at=None, legs=("clock=8000", "clock=8000"), media=None):
    """relay_harness for `secs` after READY; returns (stats, seconds it ran, moves);
    media(ports) runs after READY (ports: a_rtp=... as ints) and its result is
    returned in place of the moves."""
    p = subprocess.Popen([HARNESS, *args, "--a", legs[0], "--b", legs[1]], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    ready = p.stdout.readline().split()
    t0 = time.monotonic()
    assert ready[:1] == ["READY"], ready
    moves = []
    if move_at is not None:
        time.sleep(move_at)
        p.send_signal(signal.SIGUSR1)
        moves.append(p.stdout.readline().strip())
    try:
        if media:
            moves = media({k: int(v) for k, v in (x.split("=") for x in ready[1:])})
        time.sleep(max(0.0, secs - (time.monotonic() - t0)))
    finally:
        elapsed = time.monotonic() - t0
        out, err = stop(p, signal.SIGTERM)
    return json.loads(out.strip().splitlines()[-1]), elapsed, moves


def clock_total(st):
    return sum(c["ticks"] for c in st["clock"]), sum(c["missed"] for c in st["clock"])


# 1. two tickers at 20 ms
st, secs, _ = run(2.0, "--tickers", "2")
t = st["tickers"]
ticks, missed = clock_total(st)
want = secs / 0.020
print(f"20 ms: {ticks} ticks (+{missed} missed) in {secs:.2f} s; lateness {st['clock']}")
# tickers are removed one at a time at exit: the last tick may have run only the later ones
check(t["max_ticks"] == ticks and t["min_ticks"] >= ticks - 1,
      f"20 ms: both tickers ran on every tick ({t}, clock {ticks})")
check(want * 0.85 <= ticks + missed <= want + 3,
      f"20 ms: {ticks} ticks + {missed} skipped in {secs:.2f} s (about {want:.0f} due)")
check(t["out_of_order"] == 0, "20 ms: ticks came in order")
c = st["clock"][0]
check(c["period_us"] == 20000 and c["late_p50_us"] <= c["late_p99_us"] <= c["late_max_us"],
      f"20 ms: lateness reported: p50 {c['late_p50_us']} us, p99 {c['late_p99_us']} us, max {c['late_max_us']} us")

# 2. 10 ms
st, secs, _ = run(1.0, "--tickers", "1", "--clock-ms", "10")
ticks, missed = clock_total(st)
want = secs / 0.010
check(want * 0.85 <= ticks + missed <= want + 3 and st["clock"][0]["period_us"] == 10000,
      f"10 ms: {ticks} ticks + {missed} skipped in {secs:.2f} s (about {want:.0f} due)")

# 3. no ticker, no tick
st, secs, _ = run(1.0)
ticks, _ = clock_total(st)
check(ticks == 0, f"no terminated media: {ticks} ticks in {secs:.2f} s")

# 4. a call moved to a transcoding worker takes its tickers along
st, secs, moves = run(2.0, "--tickers", "2", "--lcores", "0@0,1@1,2@1", "--transcode-workers", "1", move_at=1.0)
t = st["tickers"]
per_lcore = {c["lcore"]: c["ticks"] for c in st["clock"]}
ticks, missed = clock_total(st)
want = secs / 0.020
check(moves == ["MOVED from=1 to=2 rc=0"], f"move: the call moved from lcore 1 to lcore 2 ({moves})")
check(t["lcore_changes"] == 2 and per_lcore.get(1, 0) > 0 and per_lcore.get(2, 0) > 0,
      f"move: both tickers moved once, ticks on both workers {per_lcore}")
check(t["max_ticks"] == ticks and t["min_ticks"] >= ticks - 1 and want * 0.85 <= ticks + missed <= want + 3,
      f"move: the tickers kept ticking through the move, all at once: {t} in {secs:.2f} s")

# 5. a long tick yields to relayed packets: 40 tickers busy for 250 us each
def relay_latency(slice_us, secs=2.0):
    """Relay latency (us, sorted) of packets sent every 2 ms through the
    harness's legs while the tickers run, and the harness's stats."""
    a, b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for s_ in (a, b):
        s_.bind(("127.0.0.1", 0))

    def media(ports):
        lat, seq, nxt = [], 0, time.perf_counter()
        end = nxt + secs
        while time.perf_counter() < end:
            a.sendto(struct.pack("!BBHII", 0x80, 0, seq, seq * 16, 0x51) + struct.pack("!d", time.perf_counter())
                     + bytes(152), ("127.0.0.1", ports["a_rtp"]))
            seq += 1
            nxt += 0.002
            # what comes back until the next send
            while select.select([b], [], [], max(0.0, nxt - time.perf_counter()))[0]:
                p = b.recv(2048)
                lat.append((time.perf_counter() - struct.unpack("!d", p[12:20])[0]) * 1e6)
        return sorted(lat[10:])

    st, _, lat = run(secs + 0.5, "--tickers", "40", "--ticker-us", "250", "--tick-slice-us", str(slice_us),
                     legs=(f"remote=127.0.0.1:{a.getsockname()[1]}", f"remote=127.0.0.1:{b.getsockname()[1]}"),
                     media=media)
    a.close()
    b.close()
    return lat, st


def pct(v, p):
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("inf")


sliced, st_s = relay_latency(250)
whole, st_w = relay_latency(0)
c_s, c_w = st_s["clock"][0], st_w["clock"][0]
for name, lat, c in (("sliced (250 us)", sliced, c_s), ("whole ticks", whole, c_w)):
    print(f"long ticks, {name}: {len(lat)} packets relayed, latency p50 {pct(lat, .5):.0f} us, "
          f"p90 {pct(lat, .9):.0f} us, max {lat[-1] if lat else 0:.0f} us; clock {c}")
check(len(sliced) > 500 and len(whole) > 500, f"long ticks: packets relayed ({len(sliced)}, {len(whole)})")
check(pct(sliced, .9) * 2 < pct(whole, .9),
      f"long ticks: sliced ticks let packets through: p90 {pct(sliced, .9):.0f} us against "
      f"{pct(whole, .9):.0f} us in one piece")
# out_of_order counts a tick a ticker missed or saw twice; the 40 tickers are
# removed one at a time at exit (a turn each, and a turn may run a tick)
for name, st in (("sliced", st_s), ("whole", st_w)):
    t, c = st["tickers"], st["clock"][0]
    check(t["out_of_order"] == 0 and t["max_ticks"] == c["ticks"] and t["min_ticks"] >= c["ticks"] - 40
          and c["ticks"] > 0, f"long ticks, {name}: every ticker ran once a tick, in order ({t}, clock {c})")
check(c_s["slices"] >= 10 * c_s["ticks"] and c_w["slices"] == c_w["ticks"],
      f"long ticks: {c_s['slices']} slices for {c_s['ticks']} ticks sliced, {c_w['slices']} for {c_w['ticks']} whole")
check(c_s["span_max_us"] >= 10000, f"long ticks: a tick's span covers its 10 ms of work ({c_s['span_max_us']} us)")
finish()
