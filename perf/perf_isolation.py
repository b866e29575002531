"""perf_isolation: does transcoding delay the relay of other calls?

One relayed probe call (PCMU both ways) carries a packet every 5 ms with
its send time in the payload; the probe's receiver measures how long medius
took to relay it. Meanwhile N calls are transcoded PCMU -> Opus (48 kHz,
complexity 5), each fed 50 packets a second of a 1 kHz tone, so medius
encodes 50 N Opus frames a second. Two set-ups, run one after the other
in the same process (these machines are noisy: compare the ratio):

  shared     one worker lcore (EAL "0@0,1@1"): relay and transcoding on it
  isolated   a relay worker and a transcoding worker ("0@0,1@1,2@0",
             media.transcode_workers = 1): the transcoded calls move off
             the relay worker when answered

and, first, the shared set-up twice more:

  shared/whole    media.tick_slice_us = 0: each media clock tick runs in one
                  piece, the relayed probe waiting behind it
  shared/before   (with --before PATH, or MEDIUSD_BEFORE) the mediusd at
                  PATH, e.g. a build from before ticks ran in slices

Prints the probe's relay latency (p50, p90, p99, max) for each, with the
transcoding load off (baseline) and on, and the on/off ratios. Usage:

  python3 perf/perf_isolation.py [--calls N] [--seconds S] [--before PATH] [--set KEY=VALUE]...

--set passes a configuration override to every mediusd (the before one
too), e.g. --set media.tick_slice_us=0. Environment: MEDIUSD (default
build/control/mediusd). Loopback only.
"""
import argparse
import audioop
import math
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import medius_test  # noqa: E402
from medius_test import Daemon, call_sdp, media_port, ng  # noqa: E402

OPUS = "a=rtpmap:96 opus/48000/2\r\n"
TONE = audioop.lin2ulaw(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 1000 * i / 8000)))
                                 for i in range(160)), 2)


def sock(rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    return s


def rtp(pt, seq, ssrc, payload):
    return struct.pack("!BBHII", 0x80, pt, seq & 0xffff, (seq * 160) & 0xffffffff, ssrc) + payload


def percentile(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")


RECEIVER = r"""
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
s.settimeout(1.0)
out = []
try:
    while True:
        p = s.recv(2048)
        out.append((time.perf_counter() - struct.unpack("!d", p[12:20])[0]) * 1e6)
except socket.timeout:
    pass
print(" ".join("%.1f" % x for x in out), flush=True)
"""


def run(P, load, seconds):
    """Probe latencies (µs) over `seconds`, with the load calls fed or not.
    A separate process receives the probe (blocking recv), so the sender's
    loop does not add to what it measures; perf_counter is CLOCK_MONOTONIC,
    the same in both processes."""
    import subprocess
    rx = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    rx_port = int(rx.stdout.readline())
    probe_a, seq = sock(), 0
    ng(P, command="offer", call_id="probe", from_tag="A", sdp=call_sdp(probe_a.getsockname()[1], pts=(0,)))
    an = ng(P, command="answer", call_id="probe", from_tag="A", to_tag="B", sdp=call_sdp(rx_port, pts=(0,)))
    to_a = media_port(an["sdp"])  # where A sends
    t0 = time.perf_counter()
    next_probe, next_load, k = t0, t0, 0
    while time.perf_counter() - t0 < seconds:
        now = time.perf_counter()
        if now >= next_probe:
            probe_a.sendto(rtp(0, seq, 0x9, struct.pack("!d", time.perf_counter()) + b"\xff" * 152),
                           ("127.0.0.1", to_a))
            seq += 1
            next_probe += 0.005
        if load and now >= next_load:
            for a, port in load:
                a.sendto(rtp(0, k, 0x77, TONE), ("127.0.0.1", port))
            k += 1
            next_load += 0.02
        time.sleep(max(0, min(next_probe, next_load if load else next_probe) - time.perf_counter()))
    lat = [float(x) for x in rx.communicate(timeout=30)[0].split()]
    ng(P, command="delete", call_id="probe")
    return lat[20:]  # the first packets latch


def setup_load(P, n):
    calls = []
    for i in range(n):
        a, b = sock(), sock(1 << 16)
        ng(P, command="offer", call_id=f"x{i}", from_tag="A", sdp=call_sdp(a.getsockname()[1], pts=(0,)),
           codec={"transcode": ["opus"]})
        an = ng(P, command="answer", call_id=f"x{i}", from_tag="A", to_tag="B",
                sdp=call_sdp(b.getsockname()[1], pts=(96,), extra=OPUS))
        calls.append((a, media_port(an["sdp"]), b))
    return calls


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--before", default=os.environ.get("MEDIUSD_BEFORE"))
    ap.add_argument("--set", action="append", default=[])
    args = ap.parse_args()
    rows = []
    after = medius_test.MEDIUSD
    setups = [("shared/whole", "0@0,1@1", 0, after, ["--set", "media.tick_slice_us=0"]),
              ("shared", "0@0,1@1", 0, after, []), ("isolated", "0@0,1@1,2@0", 1, after, [])]
    if args.before:
        setups.insert(0, ("shared/before", "0@0,1@1", 0, args.before, []))
    extra = [a for kv in args.set for a in ("--set", kv)]
    for name, lcores, tw, binary, own in setups:
        medius_test.MEDIUSD = binary
        with Daemon("--set", f"eal.lcores={lcores}", "--set", f"media.transcode_workers={tw}", *own, *extra) as d:
            P = d.port
            calls = setup_load(P, args.calls)
            lcores_used = sorted({ng(P, command="query", call_id=f"x{i}")["lcore"] for i in range(args.calls)})
            base = run(P, None, args.seconds)
            loaded = run(P, [(a, port) for a, port, _ in calls], args.seconds)
            rows.append((name, lcores_used, base, loaded))
    print(f"probe relay latency, µs ({args.calls} transcoded PCMU->Opus calls as load, {args.seconds:g} s each)")
    print(f"{'set-up':14} {'load on lcore':14} {'load':5} {'n':>6} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>9}")
    for name, lc, base, loaded in rows:
        for label, v in (("off", base), ("on", loaded)):
            print(f"{name:14} {str(lc):14} {label:5} {len(v):6d} {percentile(v, .5):8.0f} {percentile(v, .9):8.0f} "
                  f"{percentile(v, .99):8.0f} {max(v) if v else float('nan'):9.0f}")
    for name, lc, base, loaded in rows:
        print(f"{name}: load on / off: p50 x{percentile(loaded, .5) / percentile(base, .5):.2f}, "
              f"p99 x{percentile(loaded, .99) / percentile(base, .99):.2f}")
    sh, iso = rows[-2][3], rows[-1][3]
    print(f"under load, shared / isolated: p50 x{percentile(sh, .5) / percentile(iso, .5):.2f}, "
          f"p99 x{percentile(sh, .99) / percentile(iso, .99):.2f}")
    wh = rows[-3][3]
    print(f"under load, shared: sliced / whole ticks: p50 x{percentile(sh, .5) / percentile(wh, .5):.2f}, "
          f"p90 x{percentile(sh, .9) / percentile(wh, .9):.2f}, p99 x{percentile(sh, .99) / percentile(wh, .99):.2f}")
    if args.before:
        bf = rows[0][3]
        print(f"under load, shared: after / before: p50 x{percentile(sh, .5) / percentile(bf, .5):.2f}, "
              f"p90 x{percentile(sh, .9) / percentile(bf, .9):.2f}, p99 x{percentile(sh, .99) / percentile(bf, .99):.2f}")


if __name__ == "__main__":
    main()
