#!/usr/bin/env python3
"""medius and rtpengine side by side on the same replayed load
(./medius bench compare; docs/performance.md#bench-compare).

One run, this machine, kernel UDP on 127.0.0.1. For each scenario the
synthesiser (`medius-replay synth`) writes one capture of CALLS SIP calls
(20 ms packets both ways, DURATION seconds each, started INTERVAL ms
apart); medius-replay then replays it in real time against each server
with the same ng commands, stepping --multiply (K copies of every call:
CALLS x K concurrent calls). The servers alternate at every step (medius
first on even steps, rtpengine first on odd ones), each started afresh
for its round and stopped after it:

  medius:    build/control/mediusd --listen-ng 127.0.0.1:PORT (kernel UDP:
             its worker sleeps in epoll_wait, so process CPU time is work)
  rtpengine: Debian's rtpengine-daemon (10.5) in userspace mode
             (--table=-1), --foreground, its own ng port and port range,
             --num-threads 2, no config file, no kernel module

Scenarios:
  relay      PCMU both ways, plain RTP
  srtp       SDES SRTP on both legs: each server decrypts and re-encrypts
             with its own keys (the replayer decrypts what comes back)
  transcode  the caller sends PCMU, the callee Opus; the offer asks
             "codec": {"transcode": ["opus"]}: PCMU<->Opus both ways

Per server and step: CPU seconds of the server process (utime + stime,
all threads, /proc/PID/stat) over the replay, per million packets it
relayed (what the replayer received); p99 of the latency it added; RTP
loss (transcoding: but the last packet of each stream, see round_). The
most concurrent calls sustained is the largest CALLS x K whose
loss stayed under 0.1% (stepping stops for a server at its first failing
step). CPU per Mpkt and p99 are compared at the largest step both
sustained. Ratios are rtpengine / medius for costs (above 1: medius is
cheaper or faster) and medius / rtpengine for calls.

Writes DIR/compare.json, DIR/<scenario>-{cpu,p99,loss}.{svg,png}
(gnuplot) and each round's replay report and plots. Standard library only.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("MEDIUS_BUILD", os.path.join(ROOT, "build"))
MEDIUSD = os.path.join(BUILD, "control", "mediusd")
REPLAY = os.path.join(BUILD, "perf", "medius-replay")
RTPENGINE = shutil.which("rtpengine") or "/usr/bin/rtpengine"
HZ = os.sysconf("SC_CLK_TCK")
LOSS_LIMIT = 0.1  # percent

SCENARIOS = {
    "relay": (["--codecs", "pcmu"], []),
    "srtp": (["--codecs", "pcmu", "--srtp", "both"], []),
    "transcode": (["--codecs", "pcmu", "--answer-codec", "opus"],
                  ["--offer-json", '{"codec": {"transcode": ["opus"]}}']),
}


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def ping(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.3)
    try:
        s.sendto(b"bc1 d7:command4:pinge", ("127.0.0.1", port))
        return s.recv(100).startswith(b"bc1 d6:result4:pong")
    except OSError:
        return False
    finally:
        s.close()


class Server:
    def __init__(self, name, workdir):
        self.name = name
        self.port = free_udp_port()
        self.log = open(os.path.join(workdir, f"{name}.log"), "ab")
        if name == "medius":
            args = [MEDIUSD, "--listen-ng", f"127.0.0.1:{self.port}"]
        else:
            args = [RTPENGINE, "--config-file=none", "--foreground", "--log-stderr", "--table=-1",
                    "--interface=127.0.0.1", f"--listen-ng=127.0.0.1:{self.port}", "--port-min=30000",
                    "--port-max=39999", "--num-threads=2", "--delete-delay=0", "--log-level=4"]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.proc.returncode} (log {self.log.name})")
            if ping(self.port):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{name} did not answer ping (log {self.log.name})")

    def cpu(self):
        return proc_cpu(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def round_(server, cap, extra, k, out, plots):
    s = Server(server, os.path.dirname(out))
    try:
        c0 = s.cpu()
        t0 = time.time()
        p = subprocess.run([REPLAY, "--ng", f"127.0.0.1:{s.port}", "--quiet", "--speed", "1", "--multiply", str(k),
                            "--grace-ms", "400", "--drain-ms", "400", "--json", out, "--plots", plots, *extra, cap],
                           capture_output=True, text=True)
        wall = time.time() - t0
        cpu = s.cpu() - c0
    finally:
        s.stop()
    if not os.path.exists(out):
        raise RuntimeError(f"replay against {server} failed ({p.returncode}): {p.stderr[-400:]}")
    rep = json.load(open(out))
    t = rep["totals"]
    # did the server transcode? the callee got the caller's stream in the answer's codec
    # (Opus, PT 96), not the caller's PCMU passed through
    transcoded = all(set(x["pt_received"]) == {"96"} for x in rep["streams"] if x["from"] == "offerer")
    relayed = t["received"]
    lost = t["lost"]
    if extra:
        # transcoding: a transcoder that holds a frame (rtpengine keeps one in its
        # encoder path) sends the last one only with the next input, which never
        # comes after the BYE: one packet per stream at the end is not counted
        lost = sum(max(0, x["lost"] - 1) for x in rep["streams"])
    loss = 100.0 * lost / t["rtp_sent"] if t["rtp_sent"] else 100.0
    return {"server": server, "multiply": k, "calls": t["calls"], "set_up": t["calls_set_up"], "cpu_s": cpu,
            "wall_s": wall, "relayed": relayed, "cpu_per_mpkt": cpu / relayed * 1e6 if relayed else None,
            "p99_us": t["latency"]["p99_us"], "p50_us": t["latency"]["p50_us"], "loss_pct": loss,
            "ng_errors": t["ng_errors"], "rc": p.returncode, "transcoded": transcoded,
            "duration_s": t["duration_s"], "send_pps": t["send_pps"], "shift_ms": t.get("schedule_shift_ms", 0)}


def gnuplot(path_base, title, ylabel, series, logy=False):
    """series: {name: [(x, y)]} -> path_base.svg and .png"""
    dat = path_base + ".dat"
    names = list(series)
    flat = [y for v in series.values() for _, y in v if y is not None]
    yr = "set yrange [0:1]" if flat and max(flat) == 0 else ""
    with open(dat, "w") as f:
        for i, n in enumerate(names):
            f.write(f"# {n}\n")
            for x, y in series[n]:
                if y is not None:
                    f.write(f"{x} {y}\n")
            f.write("\n\n")
    plots = ", ".join(f"'{dat}' index {i} using 1:2 with linespoints title '{n}'" for i, n in enumerate(names))
    script = (f"set grid\nset key top left\nset xlabel 'concurrent calls'\nset ylabel '{ylabel}'\n"
              f"set title '{title}'\n{'set logscale y' if logy else ''}\n{yr}\n"
              f"set terminal svg size 800,450 dynamic\nset output '{path_base}.svg'\nplot {plots}\n"
              f"set terminal png size 800,450\nset output '{path_base}.png'\nplot {plots}\nset output\n")
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenarios", default="relay,srtp,transcode")
    ap.add_argument("--calls", type=int, default=20, help="calls in the capture (default 20)")
    ap.add_argument("--duration", type=float, default=8, help="seconds of media per call (default 8)")
    ap.add_argument("--interval-ms", type=int, default=10, help="call starts apart (default 10)")
    ap.add_argument("--steps", default="1,5,10,20,40", help="--multiply steps (default 1,5,10,20,40)")
    ap.add_argument("--out", default=None, help="output directory (default a new temporary one)")
    a = ap.parse_args()
    for exe in (MEDIUSD, REPLAY):
        if not os.access(exe, os.X_OK):
            sys.exit(f"bench compare: {exe} missing: build first (./medius build)")
    if not os.access(RTPENGINE, os.X_OK):
        print("bench compare: skipped, rtpengine is not installed (sudo apt-get install rtpengine-daemon)")
        return
    if not shutil.which("gnuplot"):
        sys.exit("bench compare: gnuplot missing (sudo apt-get install gnuplot-nox)")
    out = a.out or tempfile.mkdtemp(prefix="bench-compare-")
    os.makedirs(out, exist_ok=True)
    steps = [int(x) for x in a.steps.split(",")]
    ver = subprocess.run([RTPENGINE, "--version"], capture_output=True, text=True).stdout.strip() or \
        subprocess.run([RTPENGINE, "--version"], capture_output=True, text=True).stderr.strip()
    print(f"bench compare: medius ({MEDIUSD}) and rtpengine ({ver}); {a.calls} calls x {a.duration} s, "
          f"steps x{steps}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; output {out}")
    results = {}
    for sc in a.scenarios.split(","):
        sargs, rargs = SCENARIOS[sc]
        cap = os.path.join(out, f"{sc}.pcap")
        subprocess.run([REPLAY, "synth", "--calls", str(a.calls), "--duration", str(a.duration), "--interval-ms",
                        str(a.interval_ms), "--seed", "5", *sargs, cap], check=True, capture_output=True)
        rows = []
        alive = {"medius": True, "rtpengine": True}
        for i, k in enumerate(steps):
            order = ["medius", "rtpengine"] if i % 2 == 0 else ["rtpengine", "medius"]
            for srv in order:
                if not alive[srv]:
                    continue
                tag = f"{sc}-{srv}-x{k}"
                r = round_(srv, cap, rargs, k, os.path.join(out, tag + ".json"), os.path.join(out, tag))
                r["concurrent"] = a.calls * k
                # the replayer shares the machine: when it took much longer than the
                # capture (plus the shifts its ng waits caused), it could not keep the
                # schedule and the step measures it as much as the server
                span = a.duration + a.calls * a.interval_ms / 1000 + 1.5
                r["replayer_bound"] = r["duration_s"] - r["shift_ms"] / 1000 > 1.3 * span
                r["valid"] = sc != "transcode" or r["transcoded"]
                rows.append(r)
                if not r["valid"]:
                    print(f"  {sc:9} {srv:9} did NOT transcode (the callee received the caller's PCMU): "
                          "its figures for this scenario are void", flush=True)
                ok = r["loss_pct"] < LOSS_LIMIT and r["set_up"] == r["calls"] and not r["ng_errors"]
                alive[srv] = ok
                print(f"  {sc:9} {srv:9} {r['concurrent']:6} calls  CPU {r['cpu_s']:6.2f} s  "
                      f"{(r['cpu_per_mpkt'] or 0):7.1f} CPU s/Mpkt  p50 {r['p50_us']:8.0f} us  p99 {r['p99_us']:8.0f} us  "
                      f"loss {r['loss_pct']:.3f}%  {r['send_pps']:.0f} pps"
                      f"{'  (the replayer fell behind its schedule)' if r['replayer_bound'] else ''}"
                      f"{'' if ok else '  (over the limit: last step for ' + srv + ')'}",
                      flush=True)
        results[sc] = rows
        summ = {}
        for srv in ("medius", "rtpengine"):
            mine = [r for r in rows if r["server"] == srv and r["valid"]]
            good = [r["concurrent"] for r in mine if r["loss_pct"] < LOSS_LIMIT and r["set_up"] == r["calls"]]
            summ[srv] = {"max_calls": max(good) if good else 0}
        both = [k for k in steps if all(any(r["server"] == s and r["multiply"] == k and r["loss_pct"] < LOSS_LIMIT
                                             and r["valid"] for r in rows) for s in ("medius", "rtpengine"))]
        at = max(both) if both else steps[0]
        for srv in ("medius", "rtpengine"):
            r = next((r for r in rows if r["server"] == srv and r["multiply"] == at and r["valid"]), None)
            summ[srv].update({"cpu_per_mpkt": r and r["cpu_per_mpkt"], "p99_us": r and r["p99_us"]})
        m, e = summ["medius"], summ["rtpengine"]
        ratio = lambda x, y: (x / y) if x and y else None  # noqa: E731
        summ["at_calls"] = a.calls * at
        summ["ratios"] = {"cpu_rtpengine_over_medius": ratio(e["cpu_per_mpkt"], m["cpu_per_mpkt"]),
                          "p99_rtpengine_over_medius": ratio(e["p99_us"], m["p99_us"]),
                          "calls_medius_over_rtpengine": ratio(m["max_calls"], e["max_calls"])}
        results[sc + "_summary"] = summ
        rr = summ["ratios"]
        fmt = lambda v: f"{v:.2f}" if v else "n/a"  # noqa: E731
        print(f"  {sc}: at {a.calls * at} calls: CPU s/Mpkt medius {fmt(m['cpu_per_mpkt'])}, rtpengine "
              f"{fmt(e['cpu_per_mpkt'])} (ratio {fmt(rr['cpu_rtpengine_over_medius'])}); p99 medius "
              f"{fmt(m['p99_us'])} us, rtpengine {fmt(e['p99_us'])} us (ratio {fmt(rr['p99_rtpengine_over_medius'])}); "
              f"most calls under {LOSS_LIMIT}% loss: medius {m['max_calls']}, rtpengine {e['max_calls']}"
              f"{' (the top step: more may hold)' if max(m['max_calls'], e['max_calls']) == a.calls * steps[-1] else ''}"
              f" (ratio {fmt(rr['calls_medius_over_rtpengine'])})", flush=True)
        for metric, label, logy in (("cpu_per_mpkt", "CPU seconds per million packets", False),
                                    ("p99_us", "p99 added latency (us)", True), ("loss_pct", "RTP loss (%)", False)):
            gnuplot(os.path.join(out, f"{sc}-{metric.split('_')[0]}"), f"{sc}: {label}", label,
                    {srv: [(r["concurrent"], r[metric]) for r in rows if r["server"] == srv]
                     for srv in ("medius", "rtpengine")}, logy)
    with open(os.path.join(out, "compare.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"bench compare: results and plots in {out}")


if __name__ == "__main__":
    main()
