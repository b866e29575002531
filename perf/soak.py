#!/usr/bin/env python3
"""A soak of mediusd at rated load (./medius soak; issue 15).

Starts mediusd from the build (kernel UDP on 127.0.0.1, control and one
worker lcore) and drives a mixed load for --minutes, with calls churning:

  steady (set up once, run the whole soak; build/perf/perf_udpload and
  build/perf/perf_roomload, the generators of ./medius bench udp / janus):
    relay   --relay-calls plain RTP calls, PCMU both ways
    srtp    --srtp-calls RTP <-> SRTP calls (AES_CM_128_HMAC_SHA1_80 on B's leg)
    xcode   --xcode-calls PCMU <-> Opus calls, transcoded both ways
    room    one conference room of --room-parts PCMU participants (3 talking)
  churn (build/perf/medius-replay over captures written by medius-replay
  synth, replayed one after the other in a loop until the end: each replay
  sets up --churn-calls calls, plays their media and deletes them):
    churn-plain  PCMU/PCMA/G.722/Opus relayed calls; the capture has
                 --inject-loss % Gilbert-Elliott loss (and jitter) before
                 the capture point, the loss a phone's network injected
    churn-srtp   SRTP caller, plain callee
    churn-xcode  PCMU caller, Opus callee (offer with transcode opus)

Every --interval seconds it samples mediusd: VmRSS (/proc/PID/status),
open fds (/proc/PID/fd), CPU (utime+stime), ng `statistics` (sessions,
packets, drops) and the replays finished so far (their loss), plus the
load average. At the end it checks:

  rss    VmRSS at the end of the warm-up (--warmup-minutes) against the
         mean of the last minute: within --rss-tolerance % (1)
  fds    no more fds at the end than after the warm-up
  loss   per traffic type, nothing lost beyond what was injected: replays
         count lost RTP exactly (after a drain); the steady generators count
         a window (their start after --gen-warm s to a few seconds before
         the end), so a packet in flight at either edge of the window can
         move one way or the other: at most one packet per endpoint
         (--edge-packets) is tolerated there, and the figure is printed
  alive  mediusd still running, every replay exit status 0; medius's drop
         counters and the media clock's skipped ticks are printed, and per
         sample the share of time the worker thread was runnable but not
         on a CPU (schedstat: what other jobs on a shared box take)

and writes DIR/samples.csv, DIR/soak.png (gnuplot: RSS, fds, sessions
over time), DIR/result.json, DIR/mediusd.log and the replays' JSON. The
exit status is 0 when every check passed, 1 when one failed, 2 when the
soak could not run.

  python3 perf/soak.py --minutes 30 [--out DIR] [--relay-calls N] ...

Standard library only (gnuplot for the PNG, skipped when absent).
"""
import argparse
import base64
import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from medius_test import bdecode, bencode, free_port, ng_request  # noqa: E402
import bench_udp  # noqa: E402  (its call set-up)

BUILD = os.environ.get("MEDIUS_BUILD", os.path.join(ROOT, "build"))
MEDIUSD = os.environ.get("MEDIUSD", os.path.join(BUILD, "control", "mediusd"))
UDPLOAD = os.path.join(BUILD, "perf", "perf_udpload")
ROOMLOAD = os.path.join(BUILD, "perf", "perf_roomload")
REPLAY = os.path.join(BUILD, "perf", "medius-replay")
HZ = os.sysconf("SC_CLK_TCK")
SUITE = "AES_CM_128_HMAC_SHA1_80"
OPUS_PT = 96
ROOM = "soak-room"

_procs = []
NICE = []       # --nice: ["nice", "-n", N] before mediusd and every generator


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def popen(args, **kw):
    p = subprocess.Popen(NICE + args, **kw)
    _procs.append(p)
    return p


def cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass


def ng(port, **cmd):
    msg = {k.replace("_", "-"): v for k, v in cmd.items()}
    r = bdecode(ng_request(port, bencode(msg), timeout=10))[0]
    if r.get("result") not in ("ok", "pong"):
        raise RuntimeError(f"ng {msg.get('command')}: {r}")
    return r


def sdp(addr, port, proto, pts, extra=""):
    names = {0: "PCMU/8000", OPUS_PT: "opus/48000/2"}
    rtpmap = "".join(f"a=rtpmap:{pt} {names[pt]}\r\n" for pt in pts)
    return (f"v=0\r\no=- 1 1 IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\n"
            f"m=audio {port} {proto} {' '.join(map(str, pts))}\r\n{rtpmap}a=ptime:20\r\na=rtcp-mux\r\n"
            f"a=sendrecv\r\n{extra}")


def media_port(text):
    return int(re.search(r"^m=audio (\d+) ", text, re.M).group(1))


# ---------------------------------------------------------------- mediusd

class Mediusd:
    def __init__(self, out, set_args):
        self.port = free_port()
        self.http = free_port(socket.SOCK_STREAM)
        conf = (f"[general]\nlog_level = warning\n[eal]\nlcores = 0-1\n[http]\nlisten = 127.0.0.1:{self.http}\n"
                f"[control]\nlisten_ng = 127.0.0.1:{self.port}\ncall_idle_timeout_seconds = 3600\n"
                f"[interface default]\naddress = 127.0.0.1\nport_min = 20000\nport_max = 29999\n")
        self.conf = os.path.join(out, "mediusd.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        extra = []
        for kv in set_args:
            extra += ["--set", kv]
        self.logpath = os.path.join(out, "mediusd.log")
        self.log = open(self.logpath, "w")
        self.p = popen([MEDIUSD, "-c", self.conf] + extra, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.p.pid
        self.name = "mediusd"
        bench_udp.wait_ping(self)

    def logtail(self, n=3000):
        with open(self.logpath, errors="replace") as f:
            return f.read()[-n:]

    def rss_kb(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def cpu_s(self):
        with open(f"/proc/{self.pid}/stat") as f:
            st = f.read()
        fl = st[st.rindex(")") + 2:].split()
        return (int(fl[11]) + int(fl[12])) / HZ

    def worker_sched(self):
        """(run, run-queue wait) seconds of the worker lcores' threads so far
        (/proc/PID/task/TID/schedstat): the wait is time runnable but not on a
        CPU, what other jobs on a shared box take from the worker."""
        run = wait = 0.0
        for tid in os.listdir(f"/proc/{self.pid}/task"):
            try:
                with open(f"/proc/{self.pid}/task/{tid}/comm") as f:
                    if not f.read().startswith(("rte-worker", "lcore-worker")):
                        continue
                with open(f"/proc/{self.pid}/task/{tid}/schedstat") as f:
                    r, w, _ = f.read().split()
            except OSError:
                continue
            run += int(r) / 1e9
            wait += int(w) / 1e9
        return run, wait

    def stats(self):
        return ng(self.port, command="statistics")["statistics"]

    def clock(self):
        """(missed ticks, late p99 us) of the workers' media clocks from /metrics."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/metrics", timeout=5) as r:
                text = r.read().decode(errors="replace")
        except OSError:
            return None, None
        missed = sum(float(m) for m in re.findall(r"^medius_clock_missed_ticks_total\{[^}]*\} (\S+)", text, re.M))
        return int(missed), None

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        return self.p.returncode


# ---------------------------------------------------------------- steady load

class Steady:
    """One perf_udpload (relay, srtp, xcode) or perf_roomload (room)."""

    def __init__(self, kind, n, srv, warm, window):
        self.kind, self.n, self.result = kind, n, None
        if kind == "room":
            cmd = [ROOMLOAD, "--rtpmap", "PCMU/8000", "--pt", "0", "--parts", str(n), "--talkers", "3"]
        else:
            cmd = [UDPLOAD, "--calls", str(n)]
            if kind == "srtp":
                cmd.append("--b-srtp")
            elif kind == "xcode":
                cmd += ["--b-rtpmap", "opus/48000/2", "--b-pt", str(OPUS_PT)]
        cmd += ["--warm", str(warm), "--window", str(window)]
        self.p = popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        line = self.p.stdout.readline().split()
        if not line or line[0] != "PORTS":
            raise RuntimeError(f"{kind} generator did not start: {line}")
        ports = [int(x) for x in line[1:]]
        if kind == "room":
            peers = []
            for i, pa in enumerate(ports):
                o = ng(srv.port, command="offer", call_id=f"soak-room-{i}", from_tag=f"p{i}", conference=ROOM,
                       flags=["create room"], sdp=sdp("127.0.0.1", pa, "RTP/AVP", [0]))
                peers.append(str(media_port(o["sdp"])))
            self.p.stdin.write("PEERS " + " ".join(peers) + "\n")
        else:
            self.p.stdin.write("\n".join(self.setup_calls(srv, ports)) + "\nGO\n")
        self.p.stdin.flush()
        self.marks = []
        self.t = threading.Thread(target=self.read, daemon=True)
        self.t.start()

    def setup_calls(self, srv, ports):
        return bench_udp.setup_calls(srv, self.kind, self.n, ports, "127.0.0.1", prefix=f"soak-{self.kind}")

    def read(self):
        for out in self.p.stdout:
            out = out.strip()
            if out in ("WINDOW START", "WINDOW END"):
                self.marks.append((out, time.monotonic()))
            elif out.startswith("RESULT "):
                self.result = json.loads(out[7:])

    def loss(self, edge):
        """(sent, received, lost, tolerated, detail) over the window."""
        r = self.result
        if r is None:
            return None
        if self.kind == "room":
            # every participant hears the room: 50 packets a second each
            exp = round(r["expected_per_part"])
            sent = exp * self.n
            rx = r["rx_total"]
            detail = (f"per participant: expected {exp}, min {r['rx_min']}, median {r['rx_median']}, "
                      f"max {r['rx_max']}; generator overruns (slots skipped, not sent) {r['overruns']}, "
                      f"sent {r['sent_window']}")
            lost = max(0, sent - rx)
            worst = exp - r["rx_min"]
            return dict(sent=sent, received=rx, lost=lost, tolerated=edge * self.n,
                        worst_endpoint_short=worst, ok=worst <= edge and r["rx_none"] == 0, detail=detail)
        sent = r["a_sent"] + r["b_sent"]
        rx = r["a_rx"] + r["b_rx"]
        lost = max(0, r["a_sent"] - r["b_rx"]) + max(0, r["b_sent"] - r["a_rx"])  # a_rx: what A got (B -> A)
        tol = edge * 2 * self.n
        if self.kind == "xcode":
            detail = ("the transcoder sends on its own 20 ms clock, concealing what the generator skipped; "
                      "short counts only a deficit: ")
        else:
            detail = ""
        detail += (f"A->B {r['a_sent']} sent / {r['b_rx']} received, B->A {r['b_sent']} / {r['a_rx']}; "
                  f"least an endpoint got: A {r['a_rx_min']}, B {r['b_rx_min']} (expected "
                  f"{round(r['expected_per_ep'])}); generator overruns (slots skipped, not sent) {r['overruns']}")
        # overruns are slots the generator woke up too late for and skipped:
        # never sent, so not counted in sent (not medius's loss; printed)
        ok = lost <= tol and r["rx_none"] == 0
        if self.kind == "srtp":
            detail += f"; SRTP unprotect ok {r['srtp_ok']}, failed {r['srtp_fail']}"
            ok = ok and r["srtp_fail"] == 0
        return dict(sent=sent, received=rx, lost=lost, tolerated=tol, ok=ok, detail=detail)


# ---------------------------------------------------------------- churn

class Churn:
    KINDS = ("churn-plain", "churn-srtp", "churn-xcode")

    def __init__(self, srv, out, args):
        self.srv, self.out, self.args = srv, out, args
        self.caps, self.injected = {}, {}
        n, d = str(args.churn_calls), str(args.churn_duration)
        iv = str(max(20, int(args.churn_spread_ms)))
        common = ["--calls", n, "--duration", d, "--interval-ms", iv]
        spec = {
            "churn-plain": ["--loss", str(args.inject_loss), "--burst", "2", "--jitter-ms", "4"],
            "churn-srtp": ["--codecs", "pcmu,pcma", "--srtp", "caller"],
            "churn-xcode": ["--codecs", "pcmu", "--answer-codec", "opus"],
        }
        for kind in self.KINDS:
            cap = os.path.join(out, f"{kind}.pcap")
            summ = os.path.join(out, f"{kind}.summary.json")
            subprocess.run([REPLAY, "synth"] + common + spec[kind] + ["--seed", "15", "--summary", summ, cap],
                           check=True, capture_output=True, timeout=300)
            self.caps[kind] = cap
            with open(summ) as f:
                s = json.load(f)
            self.injected[kind] = s.get("lost_before_capture", s.get("lost", 0))
            self.summary = s
        self.runs = []           # (kind, t_end, totals, rc)
        self.stop = threading.Event()
        self.pause = threading.Event()   # set: start no replay
        self.idle = threading.Event()    # set: no replay running
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self.loop, daemon=True)

    def start(self):
        self.t.start()

    def loop(self):
        i = 0
        while not self.stop.is_set():
            if self.pause.is_set():
                self.idle.set()
                time.sleep(0.2)
                continue
            self.idle.clear()
            kind = self.KINDS[i % len(self.KINDS)]
            js = os.path.join(self.out, "replays", f"{i:04d}-{kind}.json")
            cmd = [REPLAY, "--ng", f"127.0.0.1:{self.srv.port}", "--quiet", "--json", js]
            if kind == "churn-xcode":
                cmd += ["--offer-json", '{"codec": {"transcode": ["opus"]}}']
            cmd.append(self.caps[kind])
            p = popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            txt, _ = p.communicate()
            totals = None
            try:
                with open(js) as f:
                    totals = json.load(f)["totals"]
            except (OSError, ValueError, KeyError):
                pass
            with self.lock:
                self.runs.append(dict(kind=kind, t=time.monotonic(), rc=p.returncode, totals=totals,
                                      out=txt[-2000:] if p.returncode else ""))
            if p.returncode:
                log(f"{kind} replay {i} exited {p.returncode}: {txt[-500:]}")
            i += 1
        self.idle.set()

    def totals(self):
        """{kind: dict(runs, calls, rtp_sent, lost, failed)} so far."""
        out = {k: dict(runs=0, calls=0, rtp_sent=0, rtp_received=0, lost=0, not_sent=0, failed=0,
                       srtp_receive_errors=0) for k in self.KINDS}
        with self.lock:
            runs = list(self.runs)
        for r in runs:
            o = out[r["kind"]]
            o["runs"] += 1
            if r["rc"] != 0 or r["totals"] is None:
                o["failed"] += 1
            t = r["totals"] or {}
            o["calls"] += t.get("calls_set_up", 0)
            for k in ("rtp_sent", "rtp_received", "lost", "not_sent", "srtp_receive_errors"):
                o[k] += t.get(k, 0)
        return out


# ---------------------------------------------------------------- the soak

def session_count(st):
    cur = st.get("currentstatistics", {})
    for k in ("sessionsown", "sessionstotal", "sessions"):
        if k in cur:
            return cur[k]
    return sum(v for v in cur.values() if isinstance(v, int))


def plot(out, rows, warm_s):
    if not shutil.which("gnuplot"):
        log("gnuplot not installed: no PNG")
        return None
    png = os.path.join(out, "soak.png")
    gp = os.path.join(out, "soak.gp")
    with open(gp, "w") as f:
        f.write(f"""set terminal pngcairo size 1200,900
set output '{png}'
set datafile separator ','
set key autotitle columnhead
set multiplot layout 3,1 title 'medius soak: {os.path.basename(out)}'
set xlabel 'minutes'
set grid
set arrow from {warm_s / 60},graph 0 to {warm_s / 60},graph 1 nohead dt 2
set ylabel 'VmRSS (MiB)'
plot '{out}/samples.csv' using ($2/60):($3/1024) with linespoints title 'RSS'
set ylabel 'open fds'
plot '{out}/samples.csv' using ($2/60):4 with linespoints title 'fds'
set ylabel 'sessions / CPU %'
plot '{out}/samples.csv' using ($2/60):6 with linespoints title 'sessions', \\
     '' using ($2/60):5 with lines title 'CPU % of one core'
unset multiplot
""")
    r = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    if r.returncode:
        log(f"gnuplot failed: {r.stderr.strip()}")
        return None
    return png


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="the soak's length (30)")
    ap.add_argument("--warmup-minutes", type=float, default=None,
                    help="RSS and fds are compared from the end of this (5; a sixth of --minutes when shorter)")
    ap.add_argument("--interval", type=float, default=10.0, help="seconds between samples (10)")
    ap.add_argument("--relay-calls", type=int, default=60)
    ap.add_argument("--srtp-calls", type=int, default=30)
    ap.add_argument("--xcode-calls", type=int, default=12)
    ap.add_argument("--room-parts", type=int, default=12)
    ap.add_argument("--churn-calls", type=int, default=12, help="calls per replay (12)")
    ap.add_argument("--churn-duration", type=int, default=8, help="seconds of media per churn call (8)")
    ap.add_argument("--churn-spread-ms", type=int, default=250, help="between the starts of a replay's calls (250)")
    ap.add_argument("--inject-loss", type=float, default=1.0, help="%% loss injected in the plain churn capture (1)")
    ap.add_argument("--gen-warm", type=int, default=5, help="seconds before the steady generators count (5)")
    ap.add_argument("--edge-packets", type=int, default=1,
                    help="packets per endpoint tolerated at the edges of a steady generator's window (1)")
    ap.add_argument("--rss-tolerance", type=float, default=1.0, help="%% (1)")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="a mediusd setting (--set), repeatable")
    ap.add_argument("--nice", type=int, default=0,
                    help="run mediusd and the generators at this nice value (e.g. -10 as root, so that other jobs "
                         "on a shared box take less of their CPU; 0: as started)")
    ap.add_argument("--out", help="the results' directory (default: a new one under /tmp)")
    args = ap.parse_args()
    total = args.minutes * 60
    if args.nice:
        NICE[:] = ["nice", "-n", str(args.nice)]
    warm = args.warmup_minutes * 60 if args.warmup_minutes is not None else min(300.0, total / 6)
    for exe in (MEDIUSD, UDPLOAD, ROOMLOAD, REPLAY):
        if not os.access(exe, os.X_OK):
            print(f"soak: {exe} missing: build first (ninja -C {BUILD})", file=sys.stderr)
            return 2
    out = args.out or tempfile.mkdtemp(prefix="medius-soak-")
    os.makedirs(os.path.join(out, "replays"), exist_ok=True)
    signal.signal(signal.SIGTERM, lambda s, f: (_ for _ in ()).throw(SystemExit(f"signal {s}")))

    srv = None
    try:
        srv = Mediusd(out, args.sets)
        log(f"mediusd pid {srv.pid}, ng 127.0.0.1:{srv.port}; results in {out}")
        t0 = time.monotonic()
        churn = Churn(srv, out, args)
        log(f"churn captures written: {args.churn_calls} calls x {args.churn_duration} s each, "
            f"{args.inject_loss}% loss injected in churn-plain ({churn.injected})")
        # the steady generators count from --gen-warm to a few seconds before the end
        window = max(10, int(total - (time.monotonic() - t0) - args.gen_warm - 15))
        steady = []
        for kind, n in (("relay", args.relay_calls), ("srtp", args.srtp_calls), ("xcode", args.xcode_calls),
                        ("room", args.room_parts)):
            if n > 0:
                steady.append(Steady(kind, n, srv, args.gen_warm, window))
        log(f"steady load up: relay {args.relay_calls}, srtp {args.srtp_calls}, xcode {args.xcode_calls} calls, "
            f"room of {args.room_parts}; window {window} s")
        # fds and sessions with the steady calls only: compared with the same
        # at the end, after the last replay deleted its calls
        quiet0 = dict(fds=srv.fds(), sessions=session_count(srv.stats()), rss_kb=srv.rss_kb())
        churn.start()
        rows, cpu0, tprev = [], srv.cpu_s(), time.monotonic()
        sched0 = srv.worker_sched()
        fields = ["time", "t_s", "rss_kb", "fds", "cpu_pct", "sessions", "pkts_in_per_s", "pkts_out_per_s",
                  "drops", "missed_ticks", "worker_wait_pct", "load1"] + [f"{k}_{x}" for k in Churn.KINDS for x in ("runs", "lost")]
        st0 = srv.stats()["totalstatistics"]
        csvf = open(os.path.join(out, "samples.csv"), "w", newline="")  # written as it goes
        w = csv.DictWriter(csvf, fieldnames=fields)
        w.writeheader()
        end = t0 + total
        quiet_w = None
        nxt = time.monotonic()
        while True:
            nxt += args.interval
            now = time.monotonic()
            if nxt > end:
                break
            time.sleep(max(0.0, nxt - now))
            if srv.p.poll() is not None:
                raise RuntimeError(f"mediusd exited with {srv.p.returncode}: {srv.logtail()}")
            now = time.monotonic()
            st = srv.stats()
            tot = st["totalstatistics"]
            cpu = srv.cpu_s()
            dt = now - tprev
            ct = churn.totals()
            row = dict(time=time.strftime("%H:%M:%S"), t_s=round(now - t0, 1), rss_kb=srv.rss_kb(), fds=srv.fds(),
                       cpu_pct=round(100 * (cpu - cpu0) / dt, 1), sessions=session_count(st),
                       pkts_in_per_s=round((tot.get("packetsreceived", 0) - st0.get("packetsreceived", 0)) / dt),
                       pkts_out_per_s=round((tot.get("packetsrelayed", 0) - st0.get("packetsrelayed", 0)) / dt),
                       drops=tot.get("errors", sum(tot.get("drops", {}).values())),
                       missed_ticks=srv.clock()[0], load1=os.getloadavg()[0])
            sched = srv.worker_sched()
            row["worker_wait_pct"] = round(100 * (sched[1] - sched0[1]) / dt, 1)
            sched0 = sched
            for k in Churn.KINDS:
                row[f"{k}_runs"], row[f"{k}_lost"] = ct[k]["runs"], ct[k]["lost"]
            rows.append(row)
            if quiet_w is None and row["t_s"] >= warm:
                # the end of the warm-up: let the running replay end, start
                # none, and count fds with the steady calls alone
                churn.pause.set()
                churn.idle.wait(args.churn_duration + 60)
                time.sleep(1)
                quiet_w = dict(fds=srv.fds(), sessions=session_count(srv.stats()), rss_kb=srv.rss_kb(),
                               t_s=round(time.monotonic() - t0, 1))
                churn.pause.clear()
                log(f"end of the warm-up, churn paused: {quiet_w}")
            w.writerow(row)
            csvf.flush()
            cpu0, tprev, st0 = cpu, now, tot
            log(f"t={row['t_s']:.0f}s rss {row['rss_kb']} kB fds {row['fds']} cpu {row['cpu_pct']}% "
                f"sessions {row['sessions']} in {row['pkts_in_per_s']}/s out {row['pkts_out_per_s']}/s "
                f"drops {row['drops']} missed ticks {row['missed_ticks']} worker waiting {row['worker_wait_pct']}% load {row['load1']:.1f} replays "
                + " ".join(f"{k[6:]} {ct[k]['runs']}/{ct[k]['lost']} lost" for k in Churn.KINDS))
        churn.stop.set()
        log("end of the soak: waiting for the generators and the last replay")
        for s in steady:
            s.p.wait(timeout=window + 120)
            s.t.join(10)
        churn.t.join(args.churn_duration + 60)
        time.sleep(2)   # the last replay's deleted calls close their sockets
        final_stats = srv.stats()
        quiet1 = dict(fds=srv.fds(), sessions=session_count(final_stats), rss_kb=srv.rss_kb())
        alive = srv.p.poll() is None
        drops_by = {k: v for k, v in final_stats["totalstatistics"].get("drops", {}).items() if v}

        csvf.close()
        png = plot(out, rows, warm)

        # ---- the checks
        checks = []
        after = [r for r in rows if r["t_s"] >= warm]
        last = [r for r in rows if r["t_s"] >= rows[-1]["t_s"] - 60] if rows else []
        if after and last:
            rss_w = after[0]["rss_kb"]
            rss_e = sum(r["rss_kb"] for r in last) / len(last)
            growth = 100.0 * (rss_e - rss_w) / rss_w
            checks.append(dict(name="rss", ok=abs(growth) <= args.rss_tolerance,
                               text=f"VmRSS {rss_w} kB after the warm-up (t={after[0]['t_s']:.0f} s), "
                                    f"{rss_e:.0f} kB at the end (mean of the last minute): {growth:+.2f}% "
                                    f"(max {max(r['rss_kb'] for r in after)} kB; within {args.rss_tolerance}%)"))
            # the churn's calls come and go (each holds sockets), so the
            # exact comparison is between the two quiet points: the steady
            # calls alone, before the churn started and after it ended
            fd_lo_w = min(r["fds"] for r in after[:6])
            fd_lo_e = min(r["fds"] for r in rows[-6:])
            qw = quiet_w or quiet0
            same = qw["sessions"] == quiet1["sessions"]
            checks.append(dict(name="fds", ok=quiet1["fds"] <= qw["fds"] and same,
                               text=f"fds with the steady calls alone ({qw['sessions']} sessions): "
                                    f"{quiet0['fds']} before the churn, {qw['fds']} at the end of the warm-up "
                                    f"(churn paused), {quiet1['fds']} after the churn "
                                    f"({quiet1['sessions']} sessions); under churn: least of the first minute after "
                                    f"the warm-up {fd_lo_w}, of the last minute {fd_lo_e}, "
                                    f"max {max(r['fds'] for r in rows)}"))
        else:
            checks.append(dict(name="rss", ok=False, text="the soak ended before the warm-up did"))
        losses = {}
        for s in steady:
            lo = s.loss(args.edge_packets)
            if lo is None:
                checks.append(dict(name=f"loss {s.kind}", ok=False, text=f"{s.kind}: the generator gave no result"))
                continue
            losses[s.kind] = lo
            checks.append(dict(name=f"loss {s.kind}", ok=lo["ok"],
                               text=f"{s.kind}: {lo['sent']} expected, {lo['received']} received, {lo['lost']} short "
                                    f"(edge tolerance {lo['tolerated']}); {lo['detail']}"))
        ct = churn.totals()
        for k in Churn.KINDS:
            c = ct[k]
            losses[k] = c
            ok = c["runs"] > 0 and c["lost"] == 0 and c["failed"] == 0 and c["not_sent"] == 0 \
                and c["srtp_receive_errors"] == 0
            checks.append(dict(name=f"loss {k}", ok=ok,
                               text=f"{k}: {c['runs']} replays ({c['failed']} failed), {c['calls']} calls set up "
                                    f"and deleted, RTP {c['rtp_sent']} sent, {c['rtp_received']} received, "
                                    f"{c['lost']} lost, {c['not_sent']} not sent"
                                    + (f", {c['srtp_receive_errors']} SRTP receive errors" if k == "churn-srtp" else "")
                                    + (f"; injected before the capture: {churn.injected[k]}" if k == "churn-plain" else "")))
        missed = srv.clock()[0]
        checks.append(dict(name="alive", ok=alive, text=f"mediusd {'running' if alive else 'exited'} at the end; "
                                                        f"drops counted by medius: {drops_by or 'none'}; media clock "
                                                        f"ticks skipped after falling 4 behind: {missed}"))
        loads = [r["load1"] for r in rows]
        cpus = [r["cpu_pct"] for r in rows[1:]] or [0]
        summary = dict(minutes=args.minutes, warmup_s=warm, load=dict(relay=args.relay_calls, srtp=args.srtp_calls,
                       xcode=args.xcode_calls, room=args.room_parts, churn_calls=args.churn_calls,
                       churn_duration_s=args.churn_duration, inject_loss_pct=args.inject_loss),
                       mediusd_cpu_pct=dict(mean=sum(cpus) / len(cpus), max=max(cpus)),
                       load_average=dict(min=min(loads or [0]), mean=sum(loads) / max(1, len(loads)),
                                         max=max(loads or [0])),
                       pkts_in_per_s_mean=sum(r["pkts_in_per_s"] for r in rows[1:]) / max(1, len(rows) - 1),
                       missed_ticks=missed, quiet_start=quiet0, quiet_warm=quiet_w, quiet_end=quiet1, checks=checks, losses=losses, drops=drops_by, png=png, out=out)
        waits = [r["worker_wait_pct"] for r in rows[1:]] or [0]
        summary["worker_wait_pct"] = dict(mean=sum(waits) / len(waits), max=max(waits))
        with open(os.path.join(out, "result.json"), "w") as f:
            json.dump(summary, f, indent=1)
        print()
        print(f"soak: {args.minutes:g} min; relay {args.relay_calls}, SRTP {args.srtp_calls}, PCMU<->Opus "
              f"{args.xcode_calls} calls, a room of {args.room_parts}; churn {args.churn_calls} calls a replay "
              f"({', '.join(Churn.KINDS)} in turn)")
        print(f"the worker lcore waited for a CPU (runnable, not running) {summary['worker_wait_pct']['mean']:.0f}% "
              f"of the time (max {summary['worker_wait_pct']['max']:.0f}% over 10 s): other jobs on the box")
        print(f"mediusd CPU {summary['mediusd_cpu_pct']['mean']:.0f}% of a core (max "
              f"{summary['mediusd_cpu_pct']['max']:.0f}%), {summary['pkts_in_per_s_mean']:.0f} packets/s in; "
              f"load average {summary['load_average']['min']:.1f}-{summary['load_average']['max']:.1f} "
              f"(mean {summary['load_average']['mean']:.1f})")
        for c in checks:
            print(f"  {'PASS' if c['ok'] else 'FAIL'}  {c['name']:<18} {c['text']}")
        print(f"samples: {out}/samples.csv" + (f", plot: {png}" if png else "") + f", log: {srv.logpath}")
        return 0 if all(c["ok"] for c in checks) else 1
    except (RuntimeError, subprocess.SubprocessError, OSError) as e:
        print(f"soak: {e}", file=sys.stderr)
        return 2
    finally:
        if srv is not None:
            srv.stop()
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
