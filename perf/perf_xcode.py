"""perf_xcode: transcoding through mediusd before and after the media engine.

Two mediusd builds side by side in one run: "before" (transcoding on
packet arrival, a codecs/ chain hooked onto the leg) and "after" (the media
engine: each terminated leg has a jitter buffer, and what is due is
decoded and encoded on the worker's 20 ms media clock). These 2-vCPU
machines are noisy, so rounds alternate between the builds (the order
flips every round) and the figures come with after/before ratios.
Everything goes over kernel UDP on loopback. mediusd's worker lcore runs
on CPU 1 (EAL's default; --worker-cpu 0 moves it to CPU 0 and the control
lcore to CPU 1, for a box whose other jobs crowd CPU 1), and the bench on
the other CPU.

  1 capacity   N calls transcoded PCMU -> Opus (offer PCMU with codec
               transcode opus, answer opus), each fed 50 PCMU packets a
               second for S seconds (the calls spread over the 20 ms);
               the CPU time of mediusd's worker thread (rte-worker-*,
               /proc/PID/task/TID/schedstat and stat utime+stime) over
               the wall time gives the cores used: calls per core =
               N / cores. The CPU counts until the last packet came
               out, so a worker that fell behind pays for its backlog.
               Loss = 1 - Opus packets received / PCMU packets sent.
  2 latency    5 PCMU -> PCMA calls (G.711 conversion is exact: a frame
    and        played from its own packet is byte-identical to
    quality    lin2alaw(ulaw2lin(payload)); a concealed one is not),
               every packet a random payload. (a) a clean paced stream:
               one-way latency added per packet, receiver's kernel
               timestamp (SO_TIMESTAMPNS) minus the send time kept by
               sequence number; (b) each packet delayed by a random
               0-60 ms before it is sent (so packets overtake each
               other): the fraction of frames that come out exact,
               only in their second half (the first frame after a
               concealment is cross-faded into it), or not at all.
  3 clock      "after" (with --clock-builds before,after both builds,
               alternating): the media clock's lateness (ng statistics,
               "media clock" late p50/p99/max) with 0, 1, 100 and 1,000
               PCMU -> PCMA calls terminated on the worker, media in one
               direction at 50 packets a second each; a fresh mediusd per
               size (the histogram is cumulative); prints the rate the
               bench actually achieved (one socket per call, all of a
               slot's sends in a tight loop), and when up to 100 calls'
               packets left (kernel receive times modulo 20 ms): how far
               into the tick's work a packet goes out. With both
               builds it ends with the jitter buffers' delay side by
               side (after/before), e.g. to see what a change to the
               arrival times the jitter buffer is given changes.

Every part prints the worker's CPU and its run-queue wait (the time it
was runnable but another job had its CPU): read the figures with it.

Usage:

  python3 perf/perf_xcode.py [--quick] [--before PATH] [--after PATH]
                             [--parts 1,2,3] [--rounds R] [--calls N]
                             [--seconds S] [--clock-sizes 0,1,100,1000]
                             [--clock-builds after|before,after]
                             [--worker-cpu 0|1]

Environment: MEDIUSD_BEFORE and MEDIUSD (the after build) unless given as
options. ./medius bench xcode runs it with ./build's mediusd as "after";
MEDIUSD_BEFORE must name the other.
"""
import argparse
import math
import os
import random
import resource
import socket
import struct
import sys
import time
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # audioop: gone in Python 3.13, here in Debian 12's 3.11
    import audioop

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import medius_test  # noqa: E402
from medius_test import Daemon, call_sdp, media_port, ng  # noqa: E402

TICK = 0.02
OPUS = "a=rtpmap:96 opus/48000/2\r\n"
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
T0 = time.perf_counter()  # the bench's own 20 ms grid: RTP timestamps follow it


def udp(rcvbuf=None, stamp=False):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if stamp:
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    return s


def rtp(pt, seq, ts, ssrc, payload, marker=False):
    return struct.pack("!BBHII", 0x80, pt | (0x80 if marker else 0), seq & 0xffff, ts & 0xffffffff, ssrc) + payload


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")


def ratio(a, b):
    return a / b if b else float("nan")


# ---------------------------------------------------------------- builds

class Build:
    """One mediusd (a path) and, while started, its Daemon."""

    def __init__(self, name, path):
        self.name, self.path, self.d = name, path, None

    # for every mediusd: calls idle while the other build's rounds run (a
    # minute or more with retries) must not time out; main() adds --worker-cpu's
    extra = ("--set", "control.call_idle_timeout_seconds=3600")

    def start(self, *extra):
        extra = Build.extra + extra
        medius_test.MEDIUSD = self.path
        mine = os.sched_getaffinity(0)  # mediusd must not inherit the bench's CPU 0 only
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
        try:
            self.d = Daemon(*extra)
        finally:
            os.sched_setaffinity(0, mine)
        return self

    def stop(self):
        if self.d:
            self.d.__exit__(None, None, None)
            self.d = None

    @property
    def port(self):
        return self.d.port

    def cpu(self):
        """CPU use so far, from /proc/PID/task/*/: the worker thread(s)
        (named rte-worker-N after their lcore) on CPU (schedstat, ns), the
        same from stat utime+stime (s), the worker's time runnable but
        waiting for a CPU (schedstat, ns: other jobs on the box), and all
        threads but the main (control) one on CPU (ns)."""
        pid = self.d.proc.pid
        hz = os.sysconf("SC_CLK_TCK")
        out = dict(w=0, w_stat=0.0, wait=0, rest=0)
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    st = f.read()
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    run, wait = (int(x) for x in f.read().split()[:2])
            except OSError:
                continue
            comm = st[st.index("(") + 1:st.rindex(")")]
            fl = st[st.rindex(")") + 2:].split()
            if comm.startswith(("rte-worker", "lcore-worker")):
                out["w"] += run
                out["wait"] += wait
                out["w_stat"] += (int(fl[11]) + int(fl[12])) / hz
            if int(tid) != pid:
                out["rest"] += run
        return out


def cpu_delta(c1, c0, wall):
    """Cores used over wall seconds (and the worker's run-queue wait, in cores)."""
    return dict(cores=(c1["w"] - c0["w"]) / 1e9 / wall, cores_stat=(c1["w_stat"] - c0["w_stat"]) / wall,
                wait=(c1["wait"] - c0["wait"]) / 1e9 / wall, rest=(c1["rest"] - c0["rest"]) / 1e9 / wall)


# ---------------------------------------------------------------- calls

class Call:
    def __init__(self, a, b, dst, cid):
        self.a, self.b, self.dst, self.cid = a, b, dst, cid
        self.seq = random.getrandbits(16)
        self.ssrc = random.getrandbits(32)
        self.ts_off = random.getrandbits(32)
        self.rx = 0


def setup_calls(P, n, prefix, out, rcvbuf=1 << 18, stamp=False):
    """n calls offered PCMU with codec transcode `out` (opus or PCMA) and
    answered in `out`: all offers first, then all answers (so that a media
    clock starts as late as it can)."""
    pts, extra = ((96,), OPUS) if out == "opus" else ((8,), "")
    socks = []
    for i in range(n):
        a, b = udp(), udp(rcvbuf, stamp)
        of = ng(P, command="offer", call_id=f"{prefix}{i}", from_tag="A", sdp=call_sdp(a.getsockname()[1], pts=(0,)),
                codec={"transcode": [out]})
        if "sdp" not in of:
            raise RuntimeError(f"offer {prefix}{i}: {of}")
        socks.append((a, b))
    calls = []
    for i, (a, b) in enumerate(socks):
        an = ng(P, command="answer", call_id=f"{prefix}{i}", from_tag="A", to_tag="B",
                sdp=call_sdp(b.getsockname()[1], pts=pts, extra=extra))
        if "sdp" not in an:
            raise RuntimeError(f"answer {prefix}{i}: {an}")
        calls.append(Call(a, b, ("127.0.0.1", media_port(an["sdp"])), f"{prefix}{i}"))
    return calls


def delete_calls(P, calls):
    for c in calls:
        ng(P, command="delete", call_id=c.cid)
        c.a.close()
        c.b.close()


def drain(calls):
    """Count what waits on the calls' B sockets."""
    n = 0
    for c in calls:
        while True:
            try:
                p = c.b.recv(2048)
            except BlockingIOError:
                break
            if not 200 <= p[1] <= 204:  # RTCP (the legs make their own) does not count
                c.rx += 1
                n += 1
    return n


TONE = audioop.lin2ulaw(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 1000 * i / 8000)))
                                 for i in range(160)), 2)  # 1 kHz


def feed(calls, seconds, slots=10, read=True):
    """One PCMU packet per call every 20 ms for `seconds`, on the bench's
    20 ms grid (RTP timestamps follow it, so a pause between two feeds is
    silence, not jitter); the calls are spread over `slots` equal parts of
    the 20 ms. With read, the B sockets are drained after every tick.
    Returns (packets sent, wall seconds, the sender's worst lag behind its
    schedule in ms)."""
    n = len(calls)
    slots = max(1, min(slots, n))
    groups = [[] for _ in range(slots)]
    for i, c in enumerate(calls):
        groups[i * slots // n].append(c)
    now = time.perf_counter()
    k0 = int((now - T0) / TICK) + 1
    start = T0 + k0 * TICK
    ticks = max(1, int(round(seconds / TICK)))
    sent, lag = 0, 0.0
    for t in range(ticks):
        ts = (k0 + t) * 160
        for j, g in enumerate(groups):
            due = start + t * TICK + j * TICK / slots
            d = due - time.perf_counter()
            if d > 0:
                time.sleep(d)
            else:
                lag = max(lag, -d)
            for c in g:
                c.a.sendto(rtp(0, c.seq, ts + c.ts_off, c.ssrc, TONE, marker=t == 0), c.dst)
                c.seq = (c.seq + 1) & 0xffff
            sent += len(g)
        if read:
            drain(calls)
    return sent, time.perf_counter() - start, lag * 1e3


# ---------------------------------------------------------------- part 1

def jb_totals(P, calls, keys=("received", "played", "lost", "late", "early", "resets")):
    """The sum of the calls' A-side jitter-buffer counters (after build), or {}."""
    tot = {}
    for c in calls:
        d = ng(P, command="query", call_id=c.cid)["tags"]["A"]["medias"][0]["streams"][0].get("jitter buffer")
        for key in keys if d else ():
            tot[key] = tot.get(key, 0) + d[key]
        if d:
            tot["delay max ms"] = max(tot.get("delay max ms", 0), d["delay max ms"])
    return tot


def wait_output(calls, expected, quiet=0.5, cap=15.0):
    """Drain the B sockets until `expected` packets came or none for `quiet`
    seconds; returns the seconds from the call until the last packet."""
    t0 = last = time.perf_counter()
    while sum(c.rx for c in calls) < expected:
        now = time.perf_counter()
        if now - last > quiet or now - t0 > cap:
            break
        if drain(calls):
            last = time.perf_counter()
        time.sleep(0.005)
    return last - t0


TRIES = 3     # a round is run again (twice at most) when the box was too busy for it:
BUSY = 0.25   # the worker waited for its CPU more than this share of the time,
LAG_MS = 50   # or the bench sent this late


def capacity_round(b, other, cs, n, seconds):
    jb0 = jb_totals(b.port, cs)
    for c in cs:
        c.rx = 0
    time.sleep(0.3)  # a pause longer than the 200 ms a transcoder fills with concealment: a new talk spurt
    c0, o0 = b.cpu(), other.cpu()
    sent, wall, lag = feed(cs, seconds)
    # the worker's CPU counts until its output has come out, so that a
    # worker running behind (its CPU shared with other jobs) is charged
    # for all the packets it was fed
    tail = wait_output(cs, sent)
    c1, o1 = b.cpu(), other.cpu()
    jb1 = jb_totals(b.port, cs)
    u = cpu_delta(c1, c0, wall)
    return dict(cores=u["cores"], cores_stat=u["cores_stat"], rest=u["rest"], wait=u["wait"], sent=sent,
                rx=sum(c.rx for c in cs), rate=sent / wall / n, lag=lag, tail=tail,
                idle_other=cpu_delta(o1, o0, wall + tail)["cores"],
                jb={k: jb1[k] - jb0.get(k, 0) if k != "delay max ms" else jb1[k] for k in jb1})


def part_capacity(builds, n, seconds, rounds):
    print(f"== 1. capacity: {n} calls PCMU -> Opus, 50 packets/s each, {seconds:g} s per round, "
          f"{rounds} rounds alternating", flush=True)
    calls = {}
    for b in builds:
        calls[b.name] = setup_calls(b.port, n, "cap", "opus")
        feed(calls[b.name], 1.0)  # latch, warm the encoders
        wait_output(calls[b.name], 50 * n)
    res = {b.name: [] for b in builds}
    retried = 0
    for r in range(rounds):
        order = builds if r % 2 == 0 else builds[::-1]
        for b in order:
            other = [o for o in builds if o is not b][0]
            for attempt in range(TRIES):
                x = capacity_round(b, other, calls[b.name], n, seconds)
                busy = x["wait"] > BUSY or x["lag"] > LAG_MS
                jb = x["jb"]
                print(f"  round {r} {b.name:6}: worker {x['cores'] * 100:5.1f}% of a core (stat "
                      f"{x['cores_stat'] * 100:5.1f}%, all but control {x['rest'] * 100:5.1f}%; waited for its CPU "
                      f"{x['wait'] * 100:4.1f}%), calls/core {n / x['cores'] if x['cores'] else 0:5.0f}; "
                      f"sent {x['sent']} ({x['rate']:.1f} pps/call, sender lag max {x['lag']:.1f} ms), received "
                      f"{x['rx']}, loss {1 - x['rx'] / x['sent']:.4f}, last packet {x['tail']:.2f} s after the feed; "
                      f"meanwhile the idle {other.name} worker {x['idle_other'] * 100:.2f}%"
                      + (f"; jb {jb}" if jb else "") + ("  [box busy: again]" if busy and attempt < TRIES - 1 else ""),
                      flush=True)
                if not busy:
                    break
                retried += attempt < TRIES - 1
            res[b.name].append(x)
    for b in builds:
        delete_calls(b.port, calls[b.name])
    print(f"\n{'build':7} {'calls':>5} {'worker %core':>12} {'calls/core':>10} {'best':>6} {'us/pkt':>7} "
          f"{'loss':>8} {'pps/call':>8} {'tail s':>6} {'rq wait %':>9}")
    summary = {}
    for b in builds:
        v = res[b.name]
        cores = sorted(x["cores"] for x in v)
        med = cores[len(cores) // 2]
        sent, rx = sum(x["sent"] for x in v), sum(x["rx"] for x in v)
        summary[b.name] = med
        print(f"{b.name:7} {n:5d} {med * 100:12.1f} {n / med:10.0f} {n / cores[0]:6.0f} "
              f"{med * 1e6 / (50 * n):7.1f} {1 - rx / sent:8.4f} {sum(x['rate'] for x in v) / len(v):8.1f} "
              f"{max(x['tail'] for x in v):6.2f} {100 * sum(x['wait'] for x in v) / len(v):9.1f}")
    per_round = [ratio(a["cores"], bb["cores"]) for a, bb in zip(res["after"], res["before"])]
    print(f"after/before worker CPU per call: median of rounds x{pct(per_round, .5):.2f} "
          f"(rounds: {', '.join(f'{x:.2f}' for x in per_round)}); "
          f"calls per core after/before x{ratio(summary['before'], summary['after']):.2f}; "
          f"rounds run again because the box was busy: {retried}")
    print("(worker CPU from schedstat, from the feed's start until its last packet came out, over the feed's "
          "wall time; best: the round with the least CPU; us/pkt: worker CPU per PCMU packet in; tail: how long "
          "after the feed the last packet came out; rq wait: the worker runnable but waiting for its CPU, "
          "i.e. other jobs on the box, mean of rounds)\n", flush=True)


# ---------------------------------------------------------------- part 2

HALF = 80  # SpanDSP's PLC cross-fades at most a quarter of the longest pitch period (40 samples)


def expect(payload):
    return audioop.lin2alaw(audioop.ulaw2lin(payload, 2), 2)


def quality_round(b, k, packets, jitter_ms, seed):
    """K PCMU -> PCMA calls, `packets` packets each, every packet sent at its
    nominal time + U(0, jitter_ms). Returns the measurements."""
    rnd = random.Random(seed)
    calls = setup_calls(b.port, k, f"q{seed}-", "PCMA", rcvbuf=1 << 20, stamp=True)
    start = time.perf_counter() + 0.05
    wall0 = time.time_ns() - int(time.perf_counter() * 1e9)  # realtime - monotonic
    ev, exp = [], []
    for i, c in enumerate(calls):
        phase = (i + rnd.random()) * TICK / k  # the calls' phases against the media clock differ
        e = {}
        for s in range(packets):
            pl = bytes(rnd.getrandbits(8) for _ in range(160))
            x = expect(pl)
            e[x] = s
            e[x[HALF:]] = s  # the second half: see below
            nominal = start + phase + s * TICK
            ev.append((nominal + rnd.uniform(0, jitter_ms / 1e3), nominal, i, s, pl))
        exp.append(e)
    ev.sort()
    sent_at = [dict() for _ in calls]
    nominal_at = [dict() for _ in calls]
    got = [[] for _ in calls]
    high = [-1] * k
    overtaken = 0
    late_send = []  # ms the bench sent a packet after it meant to (its own scheduling)

    def recv_all():
        for i, c in enumerate(calls):
            while True:
                try:
                    data, anc, _, _ = c.b.recvmsg(2048, socket.CMSG_SPACE(16))
                except BlockingIOError:
                    break
                if 200 <= data[1] <= 204:
                    continue  # RTCP
                t = next((struct.unpack("qq", d[:16]) for lv, ty, d in anc
                          if lv == socket.SOL_SOCKET and ty == SO_TIMESTAMPNS), None)
                got[i].append((data[12:], t[0] * 1_000_000_000 + t[1] if t else time.time_ns()))

    for when, nominal, i, s, pl in ev:
        d = when - time.perf_counter()
        if d > 0.002:
            recv_all()
            d = when - time.perf_counter()
        if d > 0:
            time.sleep(d)
        c = calls[i]
        late_send.append((time.perf_counter() - when) * 1e3)
        sent_at[i][s] = time.time_ns()
        nominal_at[i][s] = wall0 + int(nominal * 1e9)
        c.a.sendto(rtp(0, c.seq + s, c.ts_off + s * 160, c.ssrc, pl, marker=s == 0), c.dst)
        if s < high[i]:
            overtaken += 1
        high[i] = max(high[i], s)
    time.sleep(0.6)  # beyond the jitter buffer's largest delay
    recv_all()
    jb = [ng(b.port, command="query", call_id=c.cid)["tags"]["A"]["medias"][0]["streams"][0].get("jitter buffer")
          for c in calls]
    delete_calls(b.port, calls)
    # A frame out is exact (byte-identical to what its packet converts to),
    # smoothed (its second half exact: played from its own packet, its start
    # cross-faded into the concealment before it, as SpanDSP's PLC does with
    # the first frame after a loss), or neither (concealment).
    exact, smoothed, lat_send, lat_nom, other = 0, 0, [], [], 0
    for i in range(k):
        seen = set()
        for pl, t in got[i]:
            s = exp[i].get(pl)
            whole = s is not None
            if s is None:
                s = exp[i].get(pl[HALF:])
            if s is None:
                other += 1
                continue
            if s in seen:
                continue
            seen.add(s)
            exact += whole
            smoothed += not whole
            lat_send.append((t - sent_at[i][s]) / 1e6)
            lat_nom.append((t - nominal_at[i][s]) / 1e6)
    agg = {}
    for d in jb:
        for key, v in (d or {}).items():
            if key in ("delay ms", "delay max ms"):
                agg[key] = max(agg.get(key, 0), v)
            else:
                agg[key] = agg.get(key, 0) + v
    return dict(frames=k * packets, exact=exact, smoothed=smoothed, other=other, out=sum(len(g) for g in got), overtaken=overtaken,
                lat_send=lat_send, lat_nom=lat_nom, jb=agg, late_send=late_send)


def part_quality(builds, k, packets, rounds):
    print(f"== 2. latency and quality: {k} calls PCMU -> PCMA at a time, {packets} packets each, "
          f"{rounds} rounds alternating", flush=True)
    res = {(b.name, j): [] for b in builds for j in (0, 60)}
    retried = 0
    for r in range(rounds):
        order = builds if r % 2 == 0 else builds[::-1]
        for j in (0, 60):
            seed = 2 * r + (j > 0) + 1  # both builds get the same payloads, phases and delays
            for b in order:
                for attempt in range(TRIES):
                    c0, t0 = b.cpu(), time.perf_counter()
                    x = quality_round(b, k, packets, j, seed)
                    wait = cpu_delta(b.cpu(), c0, time.perf_counter() - t0)["wait"]
                    # the bench's own lateness is jitter the jitter buffer must absorb: a
                    # round where it sent over 10 ms late is not the stream it meant to send
                    busy = wait > BUSY or max(x["late_send"]) > 10
                    print(f"  round {r} {b.name:6} jitter 0-{j:2d} ms: exact {x['exact']}/{x['frames']}, "
                          f"smoothed {x['smoothed']}, concealment frames out {x['other']}, "
                          f"overtaken on the wire {x['overtaken']}, latency p50 {pct(x['lat_send'], .5):6.2f} ms "
                          f"p99 {pct(x['lat_send'], .99):6.2f} ms; the bench sent late by p99 "
                          f"{pct(x['late_send'], .99):.2f} max {max(x['late_send']):.2f} ms, the worker waited "
                          f"for its CPU {wait * 100:.1f}%" + (f"; jb {x['jb']}" if x["jb"] else "")
                          + ("  [box busy: again]" if busy and attempt < TRIES - 1 else ""), flush=True)
                    if not busy:
                        break
                    retried += attempt < TRIES - 1
                res[(b.name, j)].append(x)
    print(f"\n{'build':7} {'stream':8} {'frames':>6} {'exact':>6} {'smooth':>6} {'missing':>7} {'conc':>5} "
          f"{'overtk':>6} {'lat p50':>7} {'p99':>6} {'max':>6} {'nom p50':>7} {'p99':>6}   jitter buffer (all calls)")
    print(f"{'':7} {'':8} {'':>6} {'%':>6} {'%':>6} {'%':>7} {'out':>5} {'':>6} "
          f"{'ms':>7} {'ms':>6} {'ms':>6} {'ms':>7} {'ms':>6}")
    tab = {}
    for j in (0, 60):
        for b in builds:
            v = res[(b.name, j)]
            fr = sum(x["frames"] for x in v)
            ex = sum(x["exact"] for x in v)
            sm = sum(x["smoothed"] for x in v)
            ls = [y for x in v for y in x["lat_send"]]
            ln = [y for x in v for y in x["lat_nom"]]
            jb = {}
            for x in v:
                for key, val in x["jb"].items():
                    jb[key] = max(jb.get(key, 0), val) if key in ("delay ms", "delay max ms") else jb.get(key, 0) + val
            jbs = (f"played {jb['played']} lost {jb['lost']} late {jb['late']} reordered {jb['reordered']} "
                   f"delay max {jb['delay max ms']} ms concealed {jb['concealed ms']} ms") if jb else "(none)"
            tab[(b.name, j)] = (ex / fr, pct(ls, .5), pct(ls, .99), (fr - ex - sm) / fr)
            print(f"{b.name:7} {'clean' if not j else f'0-{j} ms':8} {fr:6d} {100 * ex / fr:6.2f} {100 * sm / fr:6.2f} "
                  f"{100 * (fr - ex - sm) / fr:7.2f} {sum(x['other'] for x in v):5d} "
                  f"{sum(x['overtaken'] for x in v):6d} {pct(ls, .5):7.2f} {pct(ls, .99):6.2f} "
                  f"{max(ls) if ls else float('nan'):6.2f} {pct(ln, .5):7.2f} {pct(ln, .99):6.2f}   {jbs}")
    for j in (0, 60):
        a, bb = tab[("after", j)], tab[("before", j)]
        print(f"{'clean' if not j else f'jitter 0-{j} ms'}: after - before latency p50 {a[1] - bb[1]:+.2f} ms, "
              f"p99 {a[2] - bb[2]:+.2f} ms; exact frames after/before x{ratio(a[0], bb[0]):.3f}, "
              f"missing {100 * bb[3]:.2f}% -> {100 * a[3]:.2f}%")
    print(f"rounds run again because the box was busy: {retried}")
    print("(exact: the frame out is byte-identical to its packet converted; smooth: only its second half is (its start "
          "cross-faded after a concealment); missing: no frame out carries it (dropped or lost, concealed); conc out: "
          "frames out that carry no packet; overtk: packets sent after a later one; latency: receiver's kernel "
          "timestamp minus the send time; nom: minus the packet's nominal, unjittered send time)\n", flush=True)


# ---------------------------------------------------------------- part 3

def clock_stats(P):
    return ng(P, command="statistics")["statistics"]["totalstatistics"]["media clock"]


SAMPLE = 100
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)


def recv_stamps(s):
    """The kernel receive times (ns) of the RTP packets waiting on s."""
    out = []
    while True:
        try:
            data, anc, _, _ = s.recvmsg(2048, socket.CMSG_SPACE(16))
        except BlockingIOError:
            return out
        for lv, ty, d in anc:
            if lv == socket.SOL_SOCKET and ty == SO_TIMESTAMPNS and not 200 <= data[1] <= 204:
                sec, ns = struct.unpack("qq", d[:16])
                out.append(sec * 1_000_000_000 + ns)


def tick_offsets(times_ns, gap_ns=2_000_000):
    """How far into its tick's work each packet went out (us): the times,
    sorted, fall into groups (one per tick) apart by more than gap_ns;
    a packet's offset is from the first of its group. None when nothing
    came. A group longer than a period means ticks ran into each other."""
    t = sorted(times_ns)
    if not t:
        return None
    out, first = [], t[0]
    for i, x in enumerate(t):
        if i and x - t[i - 1] > gap_ns:
            first = x
        out.append((x - first) / 1e3)
    return sorted(out)


def fmt_into(v):
    return (f"p50 {pct(v, .5):.0f} p99 {pct(v, .99):.0f} max {max(v):.0f}" if v else "n/a")


def clock_round(after, n, seconds, r):
    """One size on a fresh mediusd (build `after`): set up, feed, read the clock's figures."""
    after.start()
    try:
        P = after.port
        t_setup = time.perf_counter()
        calls = setup_calls(P, n, "clk", "PCMA", rcvbuf=4096)
        t_setup = time.perf_counter() - t_setup
        sample = calls[::max(1, n // SAMPLE)]
        for c in sample:  # these keep what they get, with the kernel's receive time
            try:
                c.b.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 1 << 20)
            except PermissionError:
                c.b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            c.b.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        s0 = clock_stats(P)
        c0, w0 = after.cpu(), time.perf_counter()
        sent, wall, lag = (feed(calls, seconds, slots=10, read=False) if n else
                           (time.sleep(seconds), (0, seconds, 0.0))[1])
        c1, w1 = after.cpu(), time.perf_counter()
        u = cpu_delta(c1, c0, w1 - w0)
        time.sleep(0.4)
        s1 = clock_stats(P)
        into = tick_offsets([t for c in sample for t in recv_stamps(c.b)])
        jb = {}
        for c in calls:
            d = ng(P, command="query", call_id=c.cid)["tags"]["A"]["medias"][0]["streams"][0]["jitter buffer"]
            for key in ("received", "played", "lost", "late", "delay ms"):
                jb[key] = jb.get(key, 0) + d[key]
            jb["delay max ms"] = max(jb.get("delay max ms", 0), d["delay max ms"])
        if calls:
            jb["delay ms"] = round(jb["delay ms"] / len(calls), 1)  # the mean over the calls, now
        for c in calls:
            c.a.close()
            c.b.close()
    finally:
        after.stop()
    return dict(b=after.name, n=n, r=r, setup=t_setup, ticks_setup=s0["ticks"], ticks=s1["ticks"], missed=s1["missed"],
                tickers=s1["tickers"], p50=s1["late p50 us"], p99=s1["late p99 us"], mx=s1["late max us"],
                rate=sent / wall / n if n else 0, lag=lag, cpu=u["cores"], wait=u["wait"], jb=jb, sent=sent,
                into=into, sampled=len(sample))


def part_clock(blds, sizes, seconds, rounds):
    print(f"== 3. media clock lateness ({' and '.join(b.name for b in blds)}): N PCMU -> PCMA calls, media A -> B "
          f"at 50 packets/s each, {seconds:g} s, a fresh mediusd per size, build and round", flush=True)
    rows = []
    retried = 0
    for r in range(rounds):
        for n in (sizes if r % 2 == 0 else sizes[::-1]):
            for b in (blds if r % 2 == 0 else blds[::-1]):
                for attempt in range(TRIES):
                    row = clock_round(b, n, seconds, r)
                    busy = row["wait"] > BUSY or row["lag"] > LAG_MS
                    print(f"  round {r} {b.name:6} calls {n:4d}: tickers {row['tickers']}, ticks {row['ticks']} "
                          f"({row['ticks_setup']} during set-up), late p50 {row['p50']} p99 {row['p99']} max {row['mx']} "
                          f"us, missed {row['missed']}; fed {row['rate']:.1f} pps/call (sender lag max {row['lag']:.1f} "
                          f"ms), worker {row['cpu'] * 100:.1f}% (waited for its CPU {row['wait'] * 100:.1f}%); "
                          f"jb {row['jb']}; sent into the tick ({row['sampled']} calls): {fmt_into(row['into'])}"
                          + ("  [box busy: again]" if busy and attempt < TRIES - 1 else ""), flush=True)
                    if not busy:
                        break
                    retried += attempt < TRIES - 1
                rows.append(row)
    print(f"\n{'build':6} {'calls':>5} {'tickers':>7} {'round':>5} {'ticks':>6} {'missed':>6} {'p50 us':>7} {'p99 us':>7} "
          f"{'max us':>7} {'pps/call':>8} {'total pps':>9} {'worker %':>8} {'rq wait %':>9} {'played':>8} {'lost':>6} "
          f"{'late':>5} {'jb ms':>5} {'max':>4}   sent into the tick, us")
    for x in sorted(rows, key=lambda x: (x["n"], x["b"], x["r"])):
        print(f"{x['b']:6} {x['n']:5d} {x['tickers']:7d} {x['r']:5d} {x['ticks']:6d} {x['missed']:6d} {x['p50']:7d} "
              f"{x['p99']:7d} {x['mx']:7d} {x['rate']:8.1f} {x['rate'] * x['n']:9.0f} {x['cpu'] * 100:8.1f} "
              f"{x['wait'] * 100:9.1f} "
              f"{x['jb'].get('played', 0):8d} {x['jb'].get('lost', 0):6d} {x['jb'].get('late', 0):5d} "
              f"{x['jb'].get('delay ms', 0):5.0f} {x['jb'].get('delay max ms', 0):4d}   "
              f"{fmt_into(x['into'])}")
    print("(0 calls: no ticker, so the clock does not run; late: per tick, from its deadline to its first "
          "ticker, as the upper bound of a histogram bucket, ticks during set-up included; sent into the tick: "
          f"the receive times (kernel) of up to {SAMPLE} calls' packets, in groups apart by over 2 ms (a tick "
          "each), from the first of the group: how long a packet waits for the graphs before it in the tick; "
          "what the clock adds to a packet is about late + sent into the tick; jb ms: the jitter buffers' delay at "
          "the end, mean over the calls; max: the largest any had)", flush=True)
    if len(blds) > 1:
        print("jitter buffers' delay at the end (mean over the calls; max: the largest any had), per round, and "
              "after/before of the means over the rounds:")
        for n in sorted({x["n"] for x in rows if x["n"]}):
            mean = {}
            for b in blds:
                xs = [x for x in rows if x["n"] == n and x["b"] == b.name]
                mean[b.name] = sum(x["jb"].get("delay ms", 0) for x in xs) / max(1, len(xs))
                print(f"  {n:5d} calls {b.name:6}: delay ms " + ", ".join(
                    f"{x['jb'].get('delay ms', 0):.1f} (max {x['jb'].get('delay max ms', 0)}, worker waited "
                    f"{x['wait'] * 100:.0f}%)" for x in xs) + f"; mean {mean[b.name]:.1f}")
            a, bb = mean[blds[-1].name], mean[blds[0].name]
            print(f"  {n:5d} calls {blds[-1].name}/{blds[0].name}: {a / bb if bb else float('nan'):.2f}")
    print(f"rounds run again because the box was busy: {retried}\n", flush=True)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", default=os.environ.get("MEDIUSD_BEFORE"))
    ap.add_argument("--after", default=os.environ.get("MEDIUSD", "build/control/mediusd"))
    ap.add_argument("--quick", action="store_true", help="short rounds (about a minute in all)")
    ap.add_argument("--parts", default="1,2,3")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--calls", type=int, help="part 1's calls (default 200)")
    ap.add_argument("--seconds", type=float, help="seconds per round in parts 1 and 3")
    ap.add_argument("--clock-sizes", default="0,1,100,1000")
    ap.add_argument("--clock-builds", default="after", help="part 3's builds: after, or before,after")
    ap.add_argument("--worker-cpu", type=int, default=1,
                    help="the CPU of mediusd's worker lcore (default 1, EAL's default; 0 moves the control lcore to "
                         "CPU 1); the bench runs on another CPU")
    args = ap.parse_args()
    parts = {int(x) for x in args.parts.split(",")}
    if not args.before and parts & {1, 2}:
        if "--parts" in sys.argv:
            ap.error("parts 1 and 2 need the before build: --before PATH or MEDIUSD_BEFORE")
        print("perf_xcode: no before build (--before PATH or MEDIUSD_BEFORE): part 3 only\n")
        parts -= {1, 2}
    rounds = args.rounds or (1 if args.quick else 3)
    seconds = args.seconds or (3 if args.quick else 10)
    n = args.calls or 200
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 1 and args.worker_cpu in cpus:
        if args.worker_cpu != 1:  # main lcore 0 on another CPU, worker lcore 1 on worker_cpu
            Build.extra += ("--set", f"eal.lcores=0@{[c for c in cpus if c != args.worker_cpu][0]},1@{args.worker_cpu}")
        os.sched_setaffinity(0, [c for c in cpus if c != args.worker_cpu])  # off the worker's CPU
    random.seed(7)
    before, after = Build("before", args.before), Build("after", args.after)
    builds = [before, after]
    print(f"perf_xcode: before {args.before}\n            after  {args.after}\n"
          f"mediusd's worker on CPU {args.worker_cpu}, this bench on CPU(s) {sorted(os.sched_getaffinity(0))}\n"
          f"load average at start: {os.getloadavg()[0]:.2f} (2 vCPU: other jobs on the box distort every figure)\n",
          flush=True)
    t_all = time.perf_counter()
    if parts & {1, 2}:
        before.start()
        after.start()
        try:
            if 1 in parts:
                part_capacity(builds, n, seconds, rounds)
            if 2 in parts:
                part_quality(builds, 5, 150 if args.quick else 500, rounds)
        finally:
            before.stop()
            after.stop()
    if 3 in parts:
        blds = [{"before": before, "after": after}[x] for x in args.clock_builds.split(",")]
        if before in blds and not args.before:
            ap.error("--clock-builds before: --before PATH or MEDIUSD_BEFORE")
        part_clock(blds, [int(x) for x in args.clock_sizes.split(",")], seconds, max(1, rounds - 1))
    print(f"total run time {time.perf_counter() - t_all:.0f} s")


if __name__ == "__main__":
    main()
