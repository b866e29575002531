#!/usr/bin/env python3
"""medius rooms side by side with Janus AudioBridge (./medius bench janus).

Both servers get the same load on the same machine over kernel UDP on
127.0.0.1: rooms of 10, 50 and 200 plain-RTP participants, 3 of them
talking, PCMU rooms and Opus rooms, 16 kHz mixing, 20 ms packets. For
each (codec, size) the rounds alternate medius, Janus, medius, Janus...
Each round starts its server afresh, pinned with taskset to one core (the
server core), sets up the room, then runs perf_roomload (the participants,
build/perf/perf_roomload) pinned to the other core(s). After a warm-up the
server's CPU time (utime + stime of the whole process, all threads, from
/proc/PID/stat) is read over a steady window; cores used = CPU seconds /
wall seconds, participants per core = N / cores used.

  medius: build/perf/perf_room_srv (mixer/ mx_room on the dataplane, the
          worker on kernel UDP sleeps in epoll_wait: no busy polling, so
          process CPU time is the work done), main and worker lcore both
          on the server core.
  Janus:  the Debian package's /usr/bin/janus with a config written into a
          temporary directory (HTTP transport and the AudioBridge plugin
          only), rooms and plain-RTP participants (`rtp` in `join`,
          `allow_rtp_participants`) set up over its HTTP API.

Standard library only. Prints per-round figures, medians, the ratio
medius/Janus per (codec, size), whether medius reaches 3x, the load
average, and proof that every participant received its mix from both.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("MEDIUS_BUILD", os.path.join(ROOT, "build"))
SRV = os.path.join(BUILD, "perf", "perf_room_srv")
LOAD = os.path.join(BUILD, "perf", "perf_roomload")
JANUS = shutil.which("janus") or "/usr/bin/janus"
JANUS_LIB = "/usr/lib/x86_64-linux-gnu/janus"
GOAL = 3.0
RATE = 16000
TALKERS = 3
# name, rtpmap for medius and the generator, payload type, Janus codec name
CODECS = {"pcmu": ("PCMU/8000", 0, "pcmu"), "opus": ("opus/48000/2", 96, "opus")}
# Opus encoder complexity: medius's default (CDC_OPUS_DEFAULT_COMPLEXITY);
# Janus is given the same through `quality` (its default is 4). Bitrate:
# neither is set (libopus's automatic choice for 16 kHz mono VOIP in both).
OPUS_COMPLEXITY = 5
# --levels: the RFC 8285 one-byte extension id of RFC 6464 audio levels
LEVEL_EXT_ID = 1
HZ = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def proc_cpu(pid):
    """utime + stime of the whole process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def threads(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


class Load:
    """perf_roomload: the participants."""

    def __init__(self, codec, n, cpus, warm, window, room=None, levels=False):
        rtpmap, pt, _ = CODECS[codec]
        # SCHED_FIFO keeps the generator's 2 ms slots on time on a shared box (it
        # sleeps in epoll_wait between slots; never spins)
        rt = ["chrt", "-f", "10"] if os.geteuid() == 0 else []
        self.p = subprocess.Popen(rt + ["taskset", "-c", cpus, LOAD, "--rtpmap", rtpmap, "--pt", str(pt),
                                   "--parts", str(n), "--talkers", str(TALKERS), "--room-size", str(room or n),
                                   *(["--levels", str(LEVEL_EXT_ID)] if levels else []), "--warm", str(warm),
                                   "--window", str(window)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        line = self.p.stdout.readline().split()
        if not line or line[0] != "PORTS":
            raise RuntimeError(f"perf_roomload did not start: {line}")
        self.ports = [int(x) for x in line[1:]]

    def run(self, peers, server_pid, profile=None):
        """Sends, then reads the server's CPU time at the window's start and end
        (and records a `perf record -g` profile of the server over the window
        into the file `profile`)."""
        self.p.stdin.write("PEERS " + " ".join(map(str, peers)) + "\n")
        self.p.stdin.flush()
        marks = {}
        result = None
        for line in self.p.stdout:
            line = line.strip()
            if line in ("WINDOW START", "WINDOW END"):
                marks[line] = (time.monotonic(), proc_cpu(server_pid))
                if profile and line == "WINDOW START":
                    perf = subprocess.Popen(["perf", "record", "-g", "-q", "-o", profile, "-p", str(server_pid)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                elif profile:
                    perf.send_signal(signal.SIGINT)
                    perf.wait(30)
            elif line.startswith("RESULT "):
                result = json.loads(line[7:])
        self.p.wait()
        if result is None or len(marks) != 2:
            raise RuntimeError("perf_roomload ended without a result")
        (w0, c0), (w1, c1) = marks["WINDOW START"], marks["WINDOW END"]
        result["server_cores"] = (c1 - c0) / (w1 - w0)
        return result


def run_medius(codec, n, args):
    rtpmap, pt, _ = CODECS[codec]
    cpu = args.server_cpu
    cpuset = f"({cpu})" if "," in cpu or "-" in cpu else cpu
    p = subprocess.Popen(["taskset", "-c", cpu, SRV, "--lcores", f"0@{cpuset},1@{cpuset}"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)

    def cmd(line):
        p.stdin.write(line + "\n")
        p.stdin.flush()
        r = json.loads(p.stdout.readline())
        if r.get("rc") != 0:
            raise RuntimeError(f"perf_room_srv: {line}: {r}")
        return r

    try:
        if p.stdout.readline().strip() != "READY":
            raise RuntimeError("perf_room_srv did not start: " + p.stderr.read()[-2000:])
        total = n * args.rooms
        load = Load(codec, total, args.gen_cpus, args.warm, args.window, n, args.levels)
        lv = f" {LEVEL_EXT_ID}" if args.levels else ""
        for k in range(args.rooms):
            cmd(f"room bench{k} {args.rate} {TALKERS} {max(n, 2)}")
        peers = [cmd(f"join bench{i // n} p{i} {rtpmap} {pt} {port}{lv}")["port"] for i, port in enumerate(load.ports)]
        idle0, t0 = proc_cpu(p.pid), time.monotonic()
        time.sleep(1.0)
        idle = (proc_cpu(p.pid) - idle0) / (time.monotonic() - t0)
        prof = os.path.join(args.profile, f"medius-{codec}-{n}.data") if args.profile else None
        res = load.run(peers, p.pid, prof)
        res["server_idle_cores"] = idle
        res["threads"] = threads(p.pid)
        st = [cmd(f"stats p{i}") for i in range(total)]
        res["server_rx_min"] = min(s["received"] for s in st)
        res["grouped"] = sum(1 for s in st if s["grouped"])
        res["level_packets"] = sum(s["level_packets"] for s in st)
        res["level_skipped"] = sum(s["level_skipped"] for s in st)
        p.stdin.write("quit\n")
        p.stdin.flush()
        p.wait(30)
        return res
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


class Janus:
    """Janus with a minimal configuration in a temporary directory."""

    def __init__(self, cpu):
        self.dir = tempfile.mkdtemp(prefix="bench-janus-")
        self.port = free_port()
        plugins = [f for f in os.listdir(f"{JANUS_LIB}/plugins") if f.endswith(".so")]
        transports = [f for f in os.listdir(f"{JANUS_LIB}/transports") if f.endswith(".so")]
        conf = {
            "janus.jcfg": f"""general: {{
	configs_folder = "{self.dir}"
	plugins_folder = "{JANUS_LIB}/plugins"
	transports_folder = "{JANUS_LIB}/transports"
	events_folder = "{JANUS_LIB}/events"
	loggers_folder = "{JANUS_LIB}/loggers"
	debug_level = 3
	session_timeout = 0
	admin_secret = "unused"
	protected_folders = []
}}
plugins: {{
	disable = "{','.join(f for f in plugins if f != 'libjanus_audiobridge.so')}"
}}
transports: {{
	disable = "{','.join(f for f in transports if f != 'libjanus_http.so')}"
}}
events: {{
	broadcast = false
}}
loggers: {{
}}
media: {{
}}
nat: {{
	ice_enforce_list = "lo"
}}
""",
            "janus.transport.http.jcfg": f"""general: {{
	json = "compact"
	base_path = "/janus"
	http = true
	port = {self.port}
	ip = "127.0.0.1"
	https = false
}}
admin: {{
	admin_http = false
	admin_https = false
}}
""",
            "janus.plugin.audiobridge.jcfg": """general: {
	local_ip = "127.0.0.1"
	rtp_port_range = "40000-49999"
}
""",
        }
        for name, text in conf.items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        self.log = open(os.path.join(self.dir, "janus.log"), "w")
        self.p = subprocess.Popen(["taskset", "-c", cpu, JANUS, "-C", os.path.join(self.dir, "janus.jcfg"),
                                   "-F", self.dir, "-o", "-N", "-L", os.path.join(self.dir, "janus.log")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}/janus"
        for _ in range(200):
            try:
                urllib.request.urlopen(self.base + "/info", timeout=1).read()
                break
            except OSError:
                if self.p.poll() is not None:
                    raise RuntimeError("janus exited: " + self.logtail())
                time.sleep(0.05)
        else:
            raise RuntimeError("janus did not answer: " + self.logtail())
        self.tx = 0

    def logtail(self):
        try:
            with open(os.path.join(self.dir, "janus.log"), errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def post(self, path, body):
        self.tx += 1
        body = dict(body, transaction=f"t{self.tx}")
        req = urllib.request.Request(self.base + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        r = json.loads(urllib.request.urlopen(req, timeout=10).read())
        if r.get("janus") == "error":
            raise RuntimeError(f"janus: {body}: {r}")
        return r

    def close(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_janus(codec, n, args):
    _, pt, jcodec = CODECS[codec]
    j = Janus(args.server_cpu)
    total = n * args.rooms
    try:
        sess = j.post("", {"janus": "create"})["data"]["id"]
        handles = [j.post(f"/{sess}", {"janus": "attach", "plugin": "janus.plugin.audiobridge"})["data"]["id"]
                   for _ in range(total)]
        for k in range(args.rooms):
            r = j.post(f"/{sess}/{handles[0]}", {"janus": "message", "body": {
                "request": "create", "room": 1234 + k, "sampling_rate": args.rate, "allow_rtp_participants": True,
                "audiolevel_ext": args.levels, "audiolevel_event": False}})
            data = r["plugindata"]["data"]
            if data.get("audiobridge") != "created":
                raise RuntimeError(f"janus create: {r}")
        load = Load(codec, total, args.gen_cpus, args.warm, args.window, n, args.levels)
        for i, (h, port) in enumerate(zip(handles, load.ports)):
            body = {"request": "join", "room": 1234 + i // n, "display": f"p{h}", "codec": jcodec,
                    "rtp": {"ip": "127.0.0.1", "port": port, "payload_type": pt}}
            if codec == "opus":
                body["quality"] = OPUS_COMPLEXITY
            j.post(f"/{sess}/{h}", {"janus": "message", "body": body})
        peers = {}
        deadline = time.monotonic() + 60
        while len(peers) < total and time.monotonic() < deadline:  # the joined events, by long poll
            evs = json.loads(urllib.request.urlopen(f"{j.base}/{sess}?maxev=1000", timeout=40).read())
            for ev in evs if isinstance(evs, list) else [evs]:
                d = ev.get("plugindata", {}).get("data", {})
                if d.get("audiobridge") == "joined" and "rtp" in d:
                    peers[ev["sender"]] = d["rtp"]["port"]
                elif "error" in d:
                    raise RuntimeError(f"janus join: {ev}")
        if len(peers) < total:
            raise RuntimeError(f"janus: {len(peers)} of {total} joins answered")
        idle0, t0 = proc_cpu(j.p.pid), time.monotonic()
        time.sleep(1.0)
        idle = (proc_cpu(j.p.pid) - idle0) / (time.monotonic() - t0)
        prof = os.path.join(args.profile, f"janus-{codec}-{n}.data") if args.profile else None
        res = load.run([peers[h] for h in handles], j.p.pid, prof)
        res["server_idle_cores"] = idle
        res["threads"] = threads(j.p.pid)
        return res
    finally:
        j.close()


def delivered_ppc(r, n):
    """Participants per core scaled by the share of the mix packets delivered
    (median participant): for a server that did not keep up, an estimate of
    what a core serves at full delivery."""
    share = min(1.0, r["rx_median"] / r["expected_per_part"])
    return n * share / r["server_cores"] if r["server_cores"] > 0 else float("inf")


def fmt_round(server, r, n):
    ppc = n / r["server_cores"] if r["server_cores"] > 0 else float("inf")
    return (f"  {server:<6} cores {r['server_cores']:.3f} (idle {r['server_idle_cores']:.3f}, "
            f"{r['threads']} threads)  part/core {ppc:8.0f}  rx/part min {r['rx_min']} med {r['rx_median']} "
            f"of {r['expected_per_part']:.0f}  payload {r['rx_payload_mean']:.1f} B  "
            f"gen: late p99 {r['slot_late_p99_us']:.0f} us max {r['slot_late_max_us']:.0f} us, "
            f"overruns {r['overruns']}, cpu {r['gen_cpu_cores']:.3f}" +
            (f"  levels {r['level_packets']} pkts, {r['level_skipped']} not decoded" if r.get("level_packets") else
             "")), ppc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10,50,200")
    ap.add_argument("--levels", action="store_true", help="participants send RFC 6464 audio levels (one-byte "
                    "header extension, id 1), as WebRTC clients do: the same packets to both servers; medius "
                    "reads them (silent participants are not decoded), Janus's rooms are created with "
                    "audiolevel_ext")
    ap.add_argument("--rooms", type=int, default=1, help="rooms of each size at once (participants: size x rooms; "
                    "several small rooms give a load the CPU-time reading resolves)")
    ap.add_argument("--codecs", default="pcmu,opus")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per server and (codec, size)")
    ap.add_argument("--warm", type=float, default=4.0, help="seconds of load before the window")
    ap.add_argument("--window", type=float, default=10.0, help="seconds measured")
    ap.add_argument("--server-cpu", default="1", help="the core(s) both servers are pinned to (a list such "
                    "as 0,1 shares the generator's core: for a server that needs more than one)")
    ap.add_argument("--gen-cpus", default="0", help="the core(s) of the load generator")
    ap.add_argument("--servers", default="medius,janus")
    ap.add_argument("--rate", type=int, default=RATE, help="the rooms' mixing rate (8000: G.711 without "
                    "resampling in either server)")
    ap.add_argument("--profile", metavar="DIR", help="perf record -g each server over its window into DIR "
                    "(the figures of such rounds include perf's own overhead)")
    args = ap.parse_args()

    servers = args.servers.split(",")
    for exe in (SRV, LOAD):
        if not os.path.exists(exe):
            sys.exit(f"bench_janus: {exe} missing: build first (./medius build)")
    if "janus" in servers and not os.path.exists(JANUS):
        print("bench_janus: janus is not installed, skipped (install it with: apt-get install janus)")
        return 0
    print(f"medius vs Janus AudioBridge: rooms at {args.rate} Hz, 20 ms, {TALKERS} talkers"
          f"{', RFC 6464 levels sent' if args.levels else ''}, plain RTP over kernel UDP "
          f"on 127.0.0.1; servers on cpu {args.server_cpu}, the participants (perf_roomload) on cpu "
          f"{args.gen_cpus}; warm-up {args.warm:g} s, window {args.window:g} s, {args.rounds} rounds each, "
          f"alternating")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    summary = []
    for codec in args.codecs.split(","):
        for n in map(int, args.sizes.split(",")):
            print(f"\n{codec.upper()} room of {n}:" if args.rooms == 1 else
                  f"\n{codec.upper()} {args.rooms} rooms of {n} ({n * args.rooms} participants):")
            ppc = {s: [] for s in servers}
            dppc = {s: [] for s in servers}
            tries = {s: 0 for s in servers}
            valid = {s: [] for s in servers}
            for rnd in range(args.rounds):
                for s in servers:
                    for attempt in range(3):  # a round the generator could not keep steady is run again
                        r = (run_medius if s == "medius" else run_janus)(codec, n, args)
                        line, v = fmt_round(s, r, n * args.rooms)
                        dppc[s].append(delivered_ppc(r, n * args.rooms))
                        # valid: the generator kept its slots (<= 1% skipped) and the server
                        # sent every participant its mix in the window, 95 to 105% of the
                        # packets (more is a backlog from before the window caught up)
                        steady = (r["overruns"] <= 0.01 * (args.warm + args.window) * 500 and
                                  r["rx_min"] >= 0.95 * r["expected_per_part"] and
                                  r["rx_max"] <= 1.05 * r["expected_per_part"])
                        tries[s] += 1
                        mark = "" if steady else "  INVALID, run again" if attempt < 2 else "  INVALID"
                        print(f"{line}  load {os.getloadavg()[0]:.2f}{mark}", flush=True)
                        if steady:
                            break
                    valid[s].append(steady)
                    ppc[s].append(v)
            # medians over the valid rounds (a server that fell behind did less work),
            # over all rounds when none was valid
            good = {s: [v for v, ok in zip(ppc[s], valid[s]) if ok] for s in servers}
            med = {s: statistics.median(v) if v else None for s, v in good.items()}
            line = "  median part/core: " + ", ".join(
                f"{s} {med[s]:.0f} ({sum(valid[s])} valid)" if med[s] else
                f"{s} no valid round (did not keep up; scaled by the packets it delivered: "
                f"{statistics.median(dppc[s]):.0f})"
                for s in servers)
            ratio = None
            if med.get("medius") and med.get("janus"):
                ratio = med["medius"] / med["janus"]
                line += f"; medius/janus x{ratio:.2f} ({'meets' if ratio >= GOAL else 'MISSES'} the {GOAL:g}x goal)"
            elif med.get("medius") and "janus" in servers:
                # Janus could not serve n participants on the core: fewer than n per core
                ratio = -(med["medius"] / (n * args.rooms))
                line += (f"; medius/janus > x{-ratio:.2f} (Janus serves fewer than {n * args.rooms} per core here; "
                         f"{'meets' if -ratio >= GOAL else 'does not show'} the {GOAL:g}x goal by this bound)")
            print(line)
            print("  valid runs (every participant got 95-105% of its mix packets, the generator kept time): " +
                  ", ".join(f"{s} {sum(valid[s])} of {tries[s]}" for s in servers))
            summary.append((codec, n, med, ratio))
    print("\nsummary (participants per core, medians):")
    print(f"{'codec':<6}{'room':>6}" + "".join(f"{s:>10}" for s in servers) + "   ratio  goal x3")
    for codec, n, med, ratio in summary:
        print(f"{codec:<6}{n:>6}" + "".join(f"{med[s]:>10.0f}" if med[s] else f"{'-':>10}" for s in servers) +
              (f"   x{ratio:<5.2f} {'met' if ratio >= GOAL else 'MISSED'}" if ratio and ratio > 0 else
               f"  >x{-ratio:<5.2f} {'met (bound: Janus did not keep up)' if -ratio >= GOAL else 'unknown'}"
               if ratio else ""))
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
