"""medius-replay's DPDK transport against its kernel UDP transport, side by
side in one run: the packet rate each reaches replaying one synthesised
capture as fast as it can (--speed max). See docs/replay.md and
docs/performance.md ("medius-replay: DPDK transport against kernel UDP").

Everything runs in a network namespace of its own (the script re-executes
itself there with `ip netns exec`):

  udp:  mediusd on kernel UDP (127.0.0.1), medius-replay --transport udp
        on the loopback;
  dpdk: mediusd on net_af_packet on one end of a veth pair, medius-replay
        --transport dpdk --dpdk-port af_packet:IFACE on the other;
  null: medius-replay --transport dpdk --dpdk-port net_null0 (medius's MAC
        given): every frame built and handed to a PMD that drops it, so
        nothing comes back: the replayer's own ceiling, without the kernel
        a veth puts under af_packet.

Per run, from the replay's JSON report: packets sent and received per
second while sending (the timeline's 100 ms bins from the first packet
sent to the last: the run's own pps include the ng set-up and the drain)
and the RTP loss (medius overloaded at --speed max loses some). Rounds
alternate udp, dpdk and null, so drift on a busy machine hits all; the
table gives each round, the medians and their ratios. (The replayer's CPU
time per packet says little here: the DPDK receiver busy-polls.)

Usage (root): python3 perf/perf_replay_dpdk.py [--calls 20] [--duration 60]
    [--multiply 10] [--rounds 3] [--verbose]
Environment: MEDIUSD, MEDIUS_REPLAY (default build/...)."""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from medius_test import Daemon  # noqa: E402

REPLAY = os.environ.get("MEDIUS_REPLAY", "build/perf/medius-replay")
PID = os.getpid()
NS = f"mx-rdb-{PID}"
VM, VR = "rbM", "rbR"
US, ME = "10.95.1.1", "10.95.1.2"


def sh(*args, check_rc=True):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=60)
    if check_rc and r.returncode:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r


def run_replay(args):
    """(report dict or None, stderr)"""
    p = subprocess.run([REPLAY, *map(str, args)], capture_output=True, text=True, errors="replace", timeout=1800)
    out = args[args.index("--json") + 1]
    rep = json.load(open(out)) if p.returncode == 0 and os.path.exists(out) else None
    return rep, p.stderr


def inner(a):
    tmp = tempfile.mkdtemp(prefix="perf-replay-dpdk-")
    try:
        sh("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        sh("ip", "link", "set", "lo", "up")
        sh("ip", "link", "add", VM, "type", "veth", "peer", "name", VR)
        sh("ip", "link", "set", VM, "up")
        sh("ip", "link", "set", VR, "up")
        cap, summ = os.path.join(tmp, "load.pcap"), os.path.join(tmp, "load.json")
        sh(REPLAY, "synth", "--calls", str(a.calls), "--duration", str(a.duration), "--interval-ms", "10",
           "--codecs", "pcmu,pcma", "--summary", summ, cap)
        sm = json.load(open(summ))
        conf = os.path.join(tmp, "eth.conf")
        with open(conf, "w") as f:
            f.write("[eal]\nlcores = 0-1\nhugepages = no\nmemory_mb = 512\n\n"
                    f"[interface ext]\ntype = ethdev\ndevice = net_af_packet0,iface={VM},framecnt=4096\n"
                    f"address = {US}\nprefix_len = 24\nport_min = 30000\nport_max = 39999\n")
        kconf = os.path.join(tmp, "udp.conf")
        with open(kconf, "w") as f:
            f.write("[eal]\nlcores = 0-1\nhugepages = no\nmemory_mb = 512\n")
        print(f"capture: {sm['calls']} calls, {sm['rtp'] + sm['rtcp']} packets (PCMU/PCMA, {a.duration} s each), "
              f"replayed at --speed max in {a.multiply} copies", flush=True)
        rows = {"udp": [], "dpdk": [], "null": []}  # noqa
        for rnd in range(a.rounds):
            for kind in ("udp", "dpdk", "null"):
                out = os.path.join(tmp, f"{kind}-{rnd}.json")
                with Daemon("-c", kconf if kind == "udp" else conf) as d:
                    args = ["--ng", f"127.0.0.1:{d.port}", "--quiet", "--speed", "max", "--multiply", a.multiply,
                            "--drain-ms", 1000, "--json", out]
                    if kind == "dpdk":
                        args += ["--transport", "dpdk", "--dpdk-port", f"af_packet:{VR}", "--bind", ME]
                        if a.verbose:
                            args += ["--dpdk-verbose"]
                    if kind == "null" and a.verbose:
                        args += ["--dpdk-verbose"]
                    if kind == "null":
                        # the replayer's own ceiling: frames built and handed
                        # to net_null, which drops them (nothing comes back)
                        args += ["--transport", "dpdk", "--dpdk-port", "net_null0,no-rx=1", "--bind", ME,
                                 "--dpdk-peer", f"{US}=02:00:00:00:00:01"]
                    rep, err = run_replay(args + [cap])
                if not rep:
                    print(f"  round {rnd + 1} {kind}: the replay failed: {err.strip()[-400:]}")
                    continue
                t = rep["totals"]
                # the rate while sending: the timeline's 100 ms bins from the
                # first packet sent to the last (the run's own pps counts the
                # drain too)
                tl = rep["timeline"]
                bins = [i for i, n in enumerate(tl["sent"]) if n]
                span = (bins[-1] - bins[0] + 1) * rep["timeline"].get("bin_ms", 100) / 1000.0 if bins else 1
                t["send_pps"] = t["sent"] / span
                t["recv_pps"] = t["received"] / span
                lines = [x for x in err.splitlines() if "dpdk: port" in x or "dpdk: tx" in x]
                if a.verbose and lines:
                    print("    " + "\n    ".join(lines))
                row = (t["send_pps"], t["recv_pps"], 100.0 * t["lost"] / max(1, t["rtp_sent"]), 0, t["sent"])
                rows[kind].append(row)
                print(f"  round {rnd + 1} {kind:4}: sent {row[4]} at {row[0]:9.0f} pps, received {row[1]:9.0f} pps, "
                      f"RTP lost {row[2]:6.2f}%", flush=True)
        if rows["udp"] and rows["dpdk"]:
            med = {k: [statistics.median(r[i] for r in v) for i in range(4)] for k, v in rows.items()}
            print("\n                  send pps   recv pps   RTP lost")
            names = {"udp": "udp (loopback)", "dpdk": "dpdk af_packet", "null": "dpdk net_null"}
            for k in ("udp", "dpdk", "null"):
                if not rows[k]:
                    continue
                m = med[k]
                print(f"  {names[k]:14} {m[0]:10.0f} {m[1]:10.0f} {m[2]:9.2f}%")
            print(f"  af_packet/udp  x{med['dpdk'][0] / med['udp'][0]:9.2f} x{med['dpdk'][1] / med['udp'][1]:9.2f}")
            if rows["null"]:
                print(f"  net_null/udp   x{med['null'][0] / med['udp'][0]:9.2f}")
            print("  (net_null drops every frame: the replayer's own ceiling, nothing comes back)")
    finally:
        sh("ip", "link", "del", VM, check_rc=False)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--multiply", type=int, default=10)
    ap.add_argument("--verbose", action="store_true", help="the DPDK transport's counters")
    a = ap.parse_args()
    if os.environ.get("PERF_REPLAY_DPDK_INNER"):
        inner(a)
        return
    if os.geteuid() != 0:
        print("SKIP: needs root (a network namespace, a veth pair, AF_PACKET)")
        sys.exit(77)
    sh("ip", "netns", "add", NS)
    try:
        env = dict(os.environ, PERF_REPLAY_DPDK_INNER="1")
        sys.exit(subprocess.run(["ip", "netns", "exec", NS, sys.executable, os.path.abspath(__file__), *sys.argv[1:]],
                                env=env).returncode)
    finally:
        sh("ip", "netns", "del", NS, check_rc=False)


main()
