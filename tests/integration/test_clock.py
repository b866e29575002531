"""The media clock of the workers (dataplane/dp_clock.c), through the real
dataplane in relay_harness: tickers registered on a call's worker run on
every tick, in order, at the configured period (20 ms, or 10); a worker
with no ticker takes no tick; when the call moves to another worker (a
transcoding worker), its tickers move with it and keep ticking. Lateness
is reported (p50/p99/max); the figures are printed, not asserted (these
machines are shared)."""
import json
import os
import signal
import subprocess
import time

from media_check import stop
from medius_test import check, finish

HARNESS = os.environ.get("RELAY_HARNESS", "build/tests/relay_harness")


def run(secs, *args, move_at=None):
    """relay_harness for `secs` after READY; returns (stats, seconds it ran, moves)."""
    p = subprocess.Popen([HARNESS, *args, "--a", "clock=8000", "--b", "clock=8000"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    ready = p.stdout.readline().split()
    t0 = time.monotonic()
    assert ready[:1] == ["READY"], ready
    moves = []
    if move_at is not None:
        time.sleep(move_at)
        p.send_signal(signal.SIGUSR1)
        moves.append(p.stdout.readline().strip())
    time.sleep(max(0.0, secs - (time.monotonic() - t0)))
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
finish()
