#!/usr/bin/env python3
"""mediusd side by side with rtpengine over kernel UDP (./medius bench udp).

Both servers are driven the same way, through the ng protocol (bencode over
UDP: offer, answer), with the same load from the same generator
(build/perf/perf_udpload): N calls, each two RTP endpoints (A the offerer,
B the answerer) sending 50 packets a second each, 20 ms PCMU (172-byte
RTP), every endpoint its own socket. Each round starts its server afresh,
pinned with taskset to the server core, sets up the calls, runs the
generator pinned to the other core, and after a warm-up reads the server's
CPU time (utime + stime of the whole process, all threads, from
/proc/PID/stat) over a steady window. CPU per packet = CPU seconds / the
packets the endpoints actually received in the window (both directions);
loss = 1 - received / sent. Rounds alternate medius, rtpengine, medius...

  relay     plain RTP <-> RTP, at --relay-calls (100 and 1,000).
  srtp      RTP (A) <-> SRTP (B) at --srtp-calls: the offer asks for
            RTP/SAVP towards B (`transport-protocol`, the same key for
            both); B answers AES_CM_128_HMAC_SHA1_80 with its own key,
            sends SRTP protected with it (dp_srtp on OpenSSL in the
            generator; mediusd uses intel-ipsec-mb) and
            checks every packet it gets (authentication, replay) with the
            server's key from the offer. Both directions are measured:
            the server decrypts B's and encrypts A's.
  xcode     PCMU (A) <-> Opus (B): offer PCMU only with codec transcode
            opus, answer opus only; both directions transcoded. N ramps up
            (--xcode-steps) until the server's CPU passes --xcode-stop of a
            core or it loses more than 1% of the packets; calls per core =
            N / cores at the largest N it served without loss.
  eth       the relay with traffic crossing a veth pair into a network
            namespace the bench creates, where the generator runs. medius
            runs its interface on the veth's host side as a DPDK ethdev
            (--eth-device, default the af_packet PMD; medius owns the
            address, the host side has none), rtpengine on the same kind
            of veth pair with the address on its host side (kernel
            sockets). A busy-polling medius worker always takes a whole
            core, so its cost is the time of the worker's loop turns that
            did work (ng statistics `poll busy us`: packets, events or a
            tick; the rest are empty polls) plus the CPU time of its other
            threads; rtpengine's is its CPU time as above.

  medius:    build/control/mediusd with its own configuration (a temporary
             file; --medius-conf adds keys), main and worker lcore both on
             the server core; a worker on kernel UDP sleeps in epoll_wait.
  rtpengine: /usr/sbin/rtpengine (Debian's rtpengine-daemon), userspace
             only (table = -1: no kernel module, no iptables), on its own
             ng port and port range with its own configuration file, never
             the Debian service; --rtpengine-threads poller threads.

Needs root for the eth part (network namespace, veth, ethtool); without
rtpengine it says so and skips. Standard library only.
"""
import argparse
import atexit
import base64
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from bench_janus import free_port, proc_cpu, threads  # noqa: E402
from medius_test import bdecode, bencode, ng_request  # noqa: E402

BUILD = os.environ.get("MEDIUS_BUILD", os.path.join(ROOT, "build"))
MEDIUSD = os.environ.get("MEDIUSD", os.path.join(BUILD, "control", "mediusd"))
LOAD = os.path.join(BUILD, "perf", "perf_udpload")
RTPENGINE = shutil.which("rtpengine") or "/usr/sbin/rtpengine"
HZ = os.sysconf("SC_CLK_TCK")
SUITE = "AES_CM_128_HMAC_SHA1_80"
OPUS_PT = 96
# the goals of issue 11 (reported, never tuned for)
GOAL_RELAY, GOAL_SRTP_US, GOAL_XCODE_CALLS, GOAL_XCODE_X, GOAL_ETH = 3.0, 0.3, 450, 4.0, 5.0

PID = os.getpid()
NET = 100 + PID % 150
NS = f"budp-{PID}"
MEDIUS_VETH, MEDIUS_VETH_NS = f"bum{PID % 100000}", f"bumn{PID % 100000}"
RTPE_VETH, RTPE_VETH_NS = f"bur{PID % 100000}", f"burn{PID % 100000}"
MEDIUS_ETH_ADDR, MEDIUS_ETH_PEER = f"10.99.{NET}.1", f"10.99.{NET}.2"
RTPE_ETH_ADDR, RTPE_ETH_PEER = f"10.98.{NET}.1", f"10.98.{NET}.2"

_procs = []      # every process the bench started: killed on any exit
_ns_made = False


def cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass
    if _ns_made:
        for dev in (MEDIUS_VETH, RTPE_VETH):
            subprocess.run(["ip", "link", "del", dev], capture_output=True)
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)


def on_signal(sig, _frame):
    raise SystemExit(f"bench_udp: signal {sig}, cleaning up")


def popen(args, **kw):
    p = subprocess.Popen(args, **kw)
    _procs.append(p)
    return p


def reap(p, sig=signal.SIGTERM, timeout=15):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in _procs:
        _procs.remove(p)


def sh(*args):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def ng(port, **cmd):
    msg = {k.replace("_", "-"): v for k, v in cmd.items()}
    r = bdecode(ng_request(port, bencode(msg), timeout=10))[0]
    if r.get("result") not in ("ok", "pong"):
        raise RuntimeError(f"ng {msg.get('command')}: {r}")
    return r


def task_cpu(pid):
    """{tid: (name, utime + stime in s)} for each thread of pid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fl = st[st.rindex(")") + 2:].split()
        out[tid] = (st[st.index("(") + 1:st.rindex(")")], (int(fl[11]) + int(fl[12])) / HZ)
    return out


# ---------------------------------------------------------------- network namespace (eth)

def make_namespace():
    """One namespace holding the generator, two veth pairs into it: medius's
    (host side without an address: medius owns MEDIUS_ETH_ADDR through DPDK)
    and rtpengine's (the host side has RTPE_ETH_ADDR, kernel sockets)."""
    global _ns_made
    _ns_made = True
    sh("ip", "netns", "add", NS)
    ns = ("ip", "netns", "exec", NS)
    sh(*ns, "ip", "link", "set", "lo", "up")
    for host, peer, peer_addr in ((MEDIUS_VETH, MEDIUS_VETH_NS, MEDIUS_ETH_PEER),
                                  (RTPE_VETH, RTPE_VETH_NS, RTPE_ETH_PEER)):
        sh("ip", "link", "add", host, "type", "veth", "peer", "name", peer)
        sh("ip", "link", "set", peer, "netns", NS)
        sh("sysctl", "-qw", f"net.ipv6.conf.{host}.disable_ipv6=1")
        sh("ip", "link", "set", host, "up")
        sh(*ns, "sysctl", "-qw", f"net.ipv6.conf.{peer}.disable_ipv6=1")
        sh(*ns, "ip", "addr", "add", f"{peer_addr}/24", "dev", peer)
        sh(*ns, "ip", "link", "set", peer, "up")
        # a veth computes no checksums: the namespace's stack fills them in
        # itself, as a NIC would have (af_packet hands DPDK what it gets)
        sh(*ns, "ethtool", "-K", peer, "tx", "off")
    sh("ip", "addr", "add", f"{RTPE_ETH_ADDR}/24", "dev", RTPE_VETH)


# ---------------------------------------------------------------- servers

class Medius:
    name = "medius"

    def __init__(self, args, eth=False):
        self.dir = tempfile.mkdtemp(prefix="bench-udp-medius-")
        self.port = free_port()
        cpu = args.server_cpu
        cpuset = f"({cpu})" if "," in cpu or "-" in cpu else cpu
        iface = (f"type = ethdev\ndevice = {args.eth_device.format(iface=MEDIUS_VETH)}\n"
                 f"address = {MEDIUS_ETH_ADDR}\nprefix_len = 24\n" if eth else "address = 127.0.0.1\n")
        # on kernel UDP the worker sleeps in epoll_wait and both lcores share
        # the server core; a busy-polling worker (eth) would leave its control
        # lcore on that core only scheduler ticks (call set-up then takes
        # ~160 ms a call on a shared box), so there the control lcore runs on
        # the generator's core; its CPU time counts all the same
        ctl = args.gen_cpus.split(",")[0] if eth else cpuset
        conf = (f"[general]\nlog_level = warning\n[eal]\nlcores = 0@{ctl},1@{cpuset}\n"
                f"[control]\nlisten_ng = 127.0.0.1:{self.port}\ncall_idle_timeout_seconds = 3600\n"
                f"[interface default]\n{iface}port_min = 20000\nport_max = 29999\n")
        path = os.path.join(self.dir, "mediusd.conf")
        with open(path, "w") as f:
            f.write(conf)
        extra = []
        for kv in args.medius_conf:
            extra += ["--set", kv if "." in kv.split("=", 1)[0] else "media." + kv]
        self.log = open(os.path.join(self.dir, "mediusd.log"), "w")
        self.p = popen(server_prefix(args) + ["taskset", "-c", f"{cpu},{ctl}" if eth else cpu, MEDIUSD, "-c", path] + extra, stdout=self.log,
                       stderr=subprocess.STDOUT)
        self.addr = MEDIUS_ETH_ADDR if eth else "127.0.0.1"
        self.eth = eth
        wait_ping(self)

    def stats(self):
        return ng(self.port, command="statistics")["statistics"]["totalstatistics"]

    def logtail(self):
        with open(os.path.join(self.dir, "mediusd.log"), errors="replace") as f:
            return f.read()[-3000:]

    def close(self):
        reap(self.p)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Rtpengine:
    name = "rtpengine"

    def __init__(self, args, eth=False):
        self.dir = tempfile.mkdtemp(prefix="bench-udp-rtpengine-")
        self.port = free_port()
        self.addr = RTPE_ETH_ADDR if eth else "127.0.0.1"
        self.eth = eth
        conf = (f"[rtpengine]\ntable = -1\ninterface = {self.addr}\nlisten-ng = 127.0.0.1:{self.port}\n"
                f"port-min = 10000\nport-max = 19999\nforeground = true\nlog-stderr = true\nlog-level = 4\n"
                f"num-threads = {args.rtpengine_threads}\ntimeout = 3600\ndelete-delay = 0\n")
        path = os.path.join(self.dir, "rtpengine.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.log = open(os.path.join(self.dir, "rtpengine.log"), "w")
        self.p = popen(server_prefix(args) + ["taskset", "-c", args.server_cpu, RTPENGINE, "--config-file", path,
                        "--config-section", "rtpengine", "--pidfile", os.path.join(self.dir, "pid")],
                       stdout=self.log, stderr=subprocess.STDOUT)
        wait_ping(self)

    def logtail(self):
        with open(os.path.join(self.dir, "rtpengine.log"), errors="replace") as f:
            return f.read()[-3000:]

    def close(self):
        reap(self.p)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def server_prefix(args):
    """Both servers run at the same raised CFS priority (nice), so that on a
    shared box other jobs on the server core take little of it (their CPU
    time is what is measured, but a starved server loses packets)."""
    return ["nice", "-n", str(args.server_nice)] if args.server_nice else []


def wait_ping(srv):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if srv.p.poll() is not None:
            raise RuntimeError(f"{srv.name} exited with {srv.p.returncode}: {srv.logtail()}")
        try:
            if bdecode(ng_request(srv.port, b"d7:command4:pinge", timeout=0.3))[0].get("result") == "pong":
                return
        except OSError:
            pass
    raise RuntimeError(f"{srv.name} did not answer ping: {srv.logtail()}")


# ---------------------------------------------------------------- calls

def sdp(addr, port, proto, pts, extra=""):
    rtpmap = "".join(f"a=rtpmap:{pt} {'PCMU/8000' if pt == 0 else 'opus/48000/2'}\r\n" for pt in pts)
    return (f"v=0\r\no=- 1 1 IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\n"
            f"m=audio {port} {proto} {' '.join(map(str, pts))}\r\n{rtpmap}a=ptime:20\r\na=rtcp-mux\r\n"
            f"a=sendrecv\r\n{extra}")


def media_port(text):
    return int(re.search(r"^m=audio (\d+) ", text, re.M).group(1))


def setup_calls(srv, kind, n, ports, gen_addr, prefix="budp"):
    """Offer and answer n calls of this kind (call-ids PREFIX-I) on srv (its
    ng port srv.port); perf_udpload's CALL lines. perf/soak.py uses it too."""
    lines = []
    for i in range(n):
        pa, pb = ports[2 * i], ports[2 * i + 1]
        offer = dict(command="offer", call_id=f"{prefix}-{i}", from_tag="A", sdp=sdp(gen_addr, pa, "RTP/AVP", [0]))
        if kind == "srtp":
            offer["transport_protocol"] = "RTP/SAVP"
        elif kind == "xcode":
            offer["codec"] = {"transcode": ["opus"]}
        o = ng(srv.port, **offer)
        to_b = media_port(o["sdp"])
        extra, proto, pts, keys = "", "RTP/AVP", [0], ""
        if kind == "srtp":
            m = re.search(rf"^a=crypto:(\d+) {SUITE} inline:([A-Za-z0-9+/=]+)", o["sdp"], re.M)
            if not m:
                raise RuntimeError(f"{getattr(srv, 'name', 'mediusd')}: no {SUITE} in the offer: {o['sdp']}")
            mine = os.urandom(30)
            extra = f"a=crypto:{m.group(1)} {SUITE} inline:{base64.b64encode(mine).decode()}\r\n"
            proto = "RTP/SAVP"
            keys = f" {mine.hex()} {base64.b64decode(m.group(2)).hex()}"
        elif kind == "xcode":
            pts = [OPUS_PT]
        a = ng(srv.port, command="answer", call_id=f"{prefix}-{i}", from_tag="A", to_tag="B",
               sdp=sdp(gen_addr, pb, proto, pts, extra))
        if kind == "xcode" and not re.search(r"^m=audio \d+ RTP/AVP 0\b", a["sdp"], re.M):
            raise RuntimeError(f"{getattr(srv, 'name', 'mediusd')}: the answer to the PCMU side is not PCMU: {a['sdp']}")
        lines.append(f"CALL {i} {media_port(a['sdp'])} {to_b}{keys}")
    return lines


# ---------------------------------------------------------------- one round

def run_round(server_cls, kind, n, args, eth=False, profile=None):
    srv = server_cls(args, eth)
    gen = None
    try:
        gen_addr = (MEDIUS_ETH_PEER if server_cls is Medius else RTPE_ETH_PEER) if eth else "127.0.0.1"
        cmd = ["taskset", "-c", args.gen_cpus, LOAD, "--calls", str(n), "--bind", gen_addr, "--server", srv.addr,
               "--warm", str(args.warm), "--window", str(args.window)]
        if kind == "srtp":
            cmd.append("--b-srtp")
        elif kind == "xcode":
            cmd += ["--b-rtpmap", "opus/48000/2", "--b-pt", str(OPUS_PT)]
        if eth:
            cmd = ["ip", "netns", "exec", NS] + cmd
        # SCHED_FIFO keeps the generator's 2 ms slots on time on a shared box
        # (it sleeps in epoll_wait between slots; never spins)
        if args.gen_sched == "fifo" and os.geteuid() == 0:
            cmd = ["chrt", "-f", "10"] + cmd
        elif args.gen_sched == "nice" and args.server_nice:
            cmd = ["nice", "-n", str(args.server_nice)] + cmd
        gen = popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        line = gen.stdout.readline().split()
        if not line or line[0] != "PORTS":
            raise RuntimeError(f"perf_udpload did not start: {line}")
        t_setup = time.monotonic()
        calls = setup_calls(srv, kind, n, [int(x) for x in line[1:]], gen_addr)
        t_setup = time.monotonic() - t_setup
        c0, w0 = proc_cpu(srv.p.pid), time.monotonic()
        time.sleep(1.0)
        idle = (proc_cpu(srv.p.pid) - c0) / (time.monotonic() - w0)
        gen.stdin.write("\n".join(calls) + "\nGO\n")
        gen.stdin.flush()
        marks, result, perf = {}, None, None
        for out in gen.stdout:
            out = out.strip()
            if out in ("WINDOW START", "WINDOW END"):
                m = dict(t=time.monotonic(), cpu=proc_cpu(srv.p.pid), tasks=task_cpu(srv.p.pid))
                if srv.name == "medius":
                    m["stats"] = srv.stats()
                marks[out] = m
                if profile and out == "WINDOW START":
                    perf = popen(["perf", "record", "-g", "-o", profile, "-p", str(srv.p.pid), "--",
                                  "sleep", str(args.window)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                elif perf:
                    perf.wait(60)
            elif out.startswith("RESULT "):
                result = json.loads(out[7:])
        gen.wait(30)
        if result is None or len(marks) != 2:
            raise RuntimeError("perf_udpload ended without a result")
        if srv.p.poll() is not None:
            raise RuntimeError(f"{srv.name} died: {srv.logtail()}")
        s, e = marks["WINDOW START"], marks["WINDOW END"]
        wall = e["t"] - s["t"]
        r = dict(result, setup_s=t_setup, idle_cores=idle, threads=threads(srv.p.pid))
        r["cpu_s"] = e["cpu"] - s["cpu"]
        by_name = {}
        for tid, (name, c) in e["tasks"].items():
            by_name[name] = by_name.get(name, 0.0) + c - s["tasks"].get(tid, (name, 0.0))[1]
        r["thread_cores"] = {k: v / wall for k, v in sorted(by_name.items(), key=lambda kv: -kv[1])[:3] if v > 0}
        r["cores_stat"] = r["cpu_s"] / wall
        if srv.name == "medius" and eth:
            # the worker busy-polls: its load is the share of its loop's time
            # in turns that did work (turns over 1 ms, preempted, left out by
            # the dataplane), applied to its CPU time; the other threads
            # (control lcore, DPDK's) count by their CPU time
            workers = {tid for tid, (name, _) in e["tasks"].items() if name.startswith(("rte-worker", "lcore-worker"))}

            def cpu_of(tids, inside):
                return sum(c for tid, (_, c) in e["tasks"].items() if (tid in tids) == inside) - \
                    sum(c for tid, (_, c) in s["tasks"].items() if (tid in tids) == inside)
            busy = (e["stats"]["poll busy us"] - s["stats"]["poll busy us"]) / 1e6
            polled = (e["stats"]["poll us"] - s["stats"]["poll us"]) / 1e6
            r["poll_busy_share"] = busy / polled if polled else 0.0
            r["long_turns"] = e["stats"]["poll long turns"] - s["stats"]["poll long turns"]
            r["worker_cores"] = cpu_of(workers, True) / wall
            r["cpu_s"] = cpu_of(workers, True) * r["poll_busy_share"] + cpu_of(workers, False)
        if srv.name == "medius":  # what medius itself counted in the window
            r["srv_rx"] = e["stats"]["packetsreceived"] - s["stats"]["packetsreceived"]
            r["srv_tx"] = e["stats"]["packetsrelayed"] - s["stats"]["packetsrelayed"]
            r["srv_drops"] = {k: v - s["stats"]["drops"].get(k, 0) for k, v in e["stats"]["drops"].items()
                              if v - s["stats"]["drops"].get(k, 0)}
        r["cores"] = r["cpu_s"] / wall
        rx = r["a_rx"] + r["b_rx"]
        sent = r["a_sent"] + r["b_sent"]
        r["rx"], r["sent"] = rx, sent
        r["loss"] = 1 - rx / sent if sent else 1.0
        r["us_per_pkt"] = r["cpu_s"] / rx * 1e6 if rx else float("inf")
        return r
    finally:
        if gen is not None:
            reap(gen, signal.SIGKILL)
        srv.close()


def fmt(srv, r):
    extra = ""
    if "poll_busy_share" in r:
        extra = (f" (worker on CPU {r['worker_cores']:.3f}, {r['poll_busy_share'] * 100:.1f}% of its loop in turns "
                 f"that did work, {r['long_turns']} turns over 1 ms left out; process CPU {r['cores_stat']:.3f})")
    if "srv_rx" in r:
        extra += f" [medius counted rx {r['srv_rx']} tx {r['srv_tx']} drops {r['srv_drops'] or 0}]"
    srtp = f" srtp ok {r['srtp_ok']} fail {r['srtp_fail']}" if r["srtp_ok"] or r["srtp_fail"] else ""
    extra += " threads " + ", ".join(f"{k} {v:.3f}" for k, v in r["thread_cores"].items())
    return (f"  {srv:<9} {r['us_per_pkt']:6.2f} us/pkt  cores {r['cores']:.3f}{extra}  rx {r['rx']} of {r['sent']} "
            f"(loss {r['loss'] * 100:.2f}%, A min {r['a_rx_min']} B min {r['b_rx_min']} of "
            f"{r['expected_per_ep']}){srtp}  payload rx A {r['a_rx_payload']:.0f} B {r['b_rx_payload']:.0f} B  "
            f"idle {r['idle_cores']:.3f}, {r['threads']} thr, setup {r['setup_s']:.1f} s  gen: late p99 "
            f"{r['slot_late_p99_us']:.0f} us, overruns {r['overruns']}, cpu {r['gen_cpu_cores']:.2f}"
            + (f"  transit p50 {r['transit_p50_us']:.0f} p99 {r['transit_p99_us']:.0f} max "
               f"{r['transit_max_us']:.0f} us" if r.get("transit_n") else ""))


SERVERS = {"medius": Medius, "rtpengine": Rtpengine}


def steady(r):
    return r["overruns"] <= 0.01 * (r["window_s"] + 5) * 500 and r["loss"] <= 0.01


def compare(title, kind, n, args, servers, eth=False):
    """Rounds alternating; the median us/pkt per server over its steady rounds
    (all rounds when none was)."""
    print(f"\n{title}:", flush=True)
    res = {s: [] for s in servers}
    for rnd in range(args.rounds):
        for s in servers:
            prof = None
            if args.profile and s == "medius" and rnd == 0:
                prof = os.path.join(args.profile, f"medius-{kind}{'-eth' if eth else ''}-{n}.data")
            r = run_round(SERVERS[s], kind, n, args, eth, prof)
            res[s].append(r)
            print(fmt(s, r) + ("" if steady(r) else "  NOT STEADY (loss > 1% or generator late)"), flush=True)
    med = {}
    for s in servers:
        good = [r for r in res[s] if steady(r)] or res[s]
        med[s] = dict(us=statistics.median(r["us_per_pkt"] for r in good),
                      loss=statistics.median(r["loss"] for r in res[s]), steady=sum(map(steady, res[s])),
                      rounds=len(res[s]), p99=statistics.median(r.get("transit_p99_us", 0) for r in good))
    line = "  median us/pkt: " + ", ".join(f"{s} {med[s]['us']:.2f} (loss {med[s]['loss'] * 100:.2f}%, "
                                          f"transit p99 {med[s]['p99']:.0f} us, "
                                          f"{med[s]['steady']}/{med[s]['rounds']} steady)" for s in servers)
    if len(servers) == 2:
        line += f"; rtpengine/medius x{med['rtpengine']['us'] / med['medius']['us']:.2f}"
    print(line, flush=True)
    return med


def ramp(args, servers):
    """Transcoded calls: N up the steps, alternating servers at each step,
    until a server passes --xcode-stop of a core or loses > 1%."""
    steps = [int(x) for x in args.xcode_steps.split(",")]
    print(f"\nPCMU <-> Opus transcoding, both directions, N up {steps} until a server passes "
          f"{args.xcode_stop:g} of a core or loses > 1%:", flush=True)
    best = {s: None for s in servers}
    done = {s: False for s in servers}
    for n in steps:
        for s in servers:
            if done[s]:
                continue
            prof = os.path.join(args.profile, f"medius-xcode-{n}.data") if args.profile and s == "medius" else None
            r = run_round(SERVERS[s], "xcode", n, args, profile=prof)
            for _ in range(2):  # the generator late, the server not losing: that step again, not a verdict
                if steady(r) or r["loss"] > 0.01:
                    break
                print(fmt(s, r) + f"  generator late ({r['overruns']} overruns): again", flush=True)
                r = run_round(SERVERS[s], "xcode", n, args, profile=prof)  # its profile replaces the discarded one
            cpc = n / r["cores"] if r["cores"] > 0 else float("inf")
            ok = steady(r)
            print(fmt(s, r) + f"  calls/core {cpc:.0f}" + ("" if ok else "  LOSING"), flush=True)
            if ok:
                best[s] = dict(n=n, cores=r["cores"], cpc=cpc, us=r["us_per_pkt"], losing=False)
            elif best[s] is None:  # lost packets at once: its CPU per call at this N, flagged
                best[s] = dict(n=n, cores=r["cores"], cpc=cpc, us=r["us_per_pkt"], losing=True, loss=r["loss"])
            if not ok or r["cores"] >= args.xcode_stop:
                done[s] = True
        if all(done.values()):
            break
    for s in servers:
        b = best[s]
        reach = "" if done[s] else f" (did not reach {args.xcode_stop:g} of a core within the steps)"
        if b and b["losing"]:
            print(f"  {s}: lost {b['loss'] * 100:.1f}% of the packets already at {b['n']} calls, on {b['cores']:.3f} "
                  f"cores: {b['cpc']:.0f} calls/core by its CPU there (an upper bound: it did not serve them)")
        else:
            print(f"  {s}: " + (f"{b['n']} calls without loss on {b['cores']:.3f} cores: {b['cpc']:.0f} calls/core"
                                f"{reach}" if b else "no step"), flush=True)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", default="relay,srtp,xcode,eth", help="which parts, in this order")
    ap.add_argument("--relay-calls", default="100,1000")
    ap.add_argument("--srtp-calls", default="1000")
    ap.add_argument("--eth-calls", default="1000")
    ap.add_argument("--xcode-steps", default="50,100,150,200,300,400,500,600,800,1000")
    ap.add_argument("--xcode-stop", type=float, default=0.9, help="cores at which the ramp stops")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per server (relay, srtp, eth)")
    ap.add_argument("--warm", type=float, default=3.0, help="seconds of load before the window")
    ap.add_argument("--window", type=float, default=5.0, help="seconds measured")
    ap.add_argument("--server-cpu", default="1", help="the core both servers are pinned to")
    ap.add_argument("--gen-cpus", default="0", help="the core(s) of the generator")
    ap.add_argument("--servers", default="medius,rtpengine")
    ap.add_argument("--gen-sched", choices=("fifo", "nice", "none"), default="fifo",
                    help="the generator's scheduling: SCHED_FIFO, the servers' nice value, or none")
    ap.add_argument("--server-nice", type=int, default=-20 if os.geteuid() == 0 else 0,
                    help="the servers' nice value (default -20 as root: other jobs on the core get little of it)")
    ap.add_argument("--rtpengine-threads", type=int, default=1,
                    help="rtpengine's num-threads (its poller threads; it is pinned to one core)")
    ap.add_argument("--medius-conf", action="append", default=[], metavar="[SECTION.]KEY=VALUE",
                    help="a mediusd setting (--set; a bare KEY is in [media]), e.g. kernel_io=epoll; repeatable")
    ap.add_argument("--eth-device", default="net_af_packet0,iface={iface}",
                    help="medius's ethdev device in the eth part; {iface} is the veth's host side "
                         "(e.g. net_af_xdp0,iface={iface})")
    ap.add_argument("--profile", metavar="DIR", help="perf record -g mediusd over the first round's window of "
                    "each comparison, and of each xcode step, into DIR (those rounds include perf's own overhead)")
    args = ap.parse_args()

    servers = args.servers.split(",")
    parts = args.parts.split(",")
    for exe in (MEDIUSD, LOAD):
        if not os.path.exists(exe):
            sys.exit(f"bench_udp: {exe} missing: build first (./medius build)")
    if "rtpengine" in servers and not os.path.exists(RTPENGINE):
        print("bench udp: skipped, rtpengine is not installed (install it with: sudo apt-get install "
              "rtpengine-daemon)")
        return 0
    if "eth" in parts and os.geteuid() != 0:
        print("bench udp: the eth part needs root (network namespace, veth); left out")
        parts.remove("eth")
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    atexit.register(cleanup)
    ver = subprocess.run([RTPENGINE, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout.strip() \
        if "rtpengine" in servers else ""
    print(f"medius vs rtpengine ({ver}, userspace): calls of 2 endpoints x 50 pps, 20 ms PCMU (172-byte RTP); "
          f"servers on cpu {args.server_cpu}, the generator (perf_udpload) on cpu {args.gen_cpus}; "
          f"warm-up {args.warm:g} s, window {args.window:g} s; {args.rounds} rounds each, alternating; "
          f"servers at nice {args.server_nice}; rtpengine num-threads {args.rtpengine_threads}; medius settings: {args.medius_conf or 'defaults'}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    summary = []
    try:
        for part in parts:
            if part == "relay":
                for n in map(int, args.relay_calls.split(",")):
                    summary.append((f"relay RTP {n} calls", "relay", n,
                                    compare(f"plain RTP relay, {n} calls", "relay", n, args, servers)))
            elif part == "srtp":
                for n in map(int, args.srtp_calls.split(",")):
                    summary.append((f"RTP<->SRTP {n} calls", "srtp", n,
                                    compare(f"RTP <-> SRTP ({SUITE}), {n} calls", "srtp", n, args, servers)))
            elif part == "xcode":
                summary.append(("PCMU<->Opus", "xcode", 0, ramp(args, servers)))
            elif part == "eth":
                make_namespace()
                for n in map(int, args.eth_calls.split(",")):
                    summary.append((f"relay over veth {n} calls", "eth", n, compare(
                        f"plain RTP relay across a veth into a namespace, {n} calls (medius: "
                        f"{args.eth_device.format(iface=MEDIUS_VETH)}; rtpengine: kernel sockets)",
                        "relay", n, args, servers, eth=True)))
            else:
                sys.exit(f"bench_udp: unknown part {part}")
    finally:
        cleanup()
        _ns_made_reset()

    print("\nsummary (medians; CPU us per packet received by the endpoints; goals of issue 11):")
    both = len(servers) == 2
    plain = {n: m for (_, k, n, m) in summary if k == "relay"}
    for title, kind, n, m in summary:
        if kind == "xcode":
            line = f"  {title:<28}" + "".join(
                f"{s} {m[s]['cpc']:.0f} calls/core{' (losing)' if m[s]['losing'] else ''}  " if m[s] else f"{s} -  "
                for s in servers)
            if both and m["medius"] and m["rtpengine"]:
                x = m["medius"]["cpc"] / m["rtpengine"]["cpc"]
                met = m["medius"]["cpc"] >= GOAL_XCODE_CALLS and x >= GOAL_XCODE_X
                line += (f"x{x:.2f}  goal >= {GOAL_XCODE_CALLS} calls/core and >= {GOAL_XCODE_X:g}x: "
                         f"{'met' if met else 'MISSED'}")
            if any(m[s] and m[s]["losing"] for s in servers):
                line += "  [(losing): lost > 1% at its first step: not a verdict]"
            print(line)
            continue
        line = f"  {title:<28}" + "".join(f"{s} {m[s]['us']:6.2f}  " for s in servers)
        if both:
            x = m["rtpengine"]["us"] / m["medius"]["us"]
            goal = GOAL_ETH if kind == "eth" else GOAL_RELAY if kind == "relay" else None
            line += f"x{x:.2f}"
            if goal:
                line += f"  goal >= {goal:g}x: {'met' if x >= goal else 'MISSED'}"
        unsteady = [s for s in servers if not m[s]["steady"]]
        if unsteady:
            line += f"  [no steady round for {', '.join(unsteady)}: loss > 1% or the generator late; not a verdict]"
        if kind == "srtp" and n in plain:
            over = {s: m[s]["us"] - plain[n][s]["us"] for s in servers}
            line += "  SRTP over plain: " + ", ".join(f"{s} {over[s]:+.2f} us" for s in servers)
            if "medius" in over:
                line += f" (goal medius <= {GOAL_SRTP_US:g}: {'met' if over['medius'] <= GOAL_SRTP_US else 'MISSED'})"
        print(line)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


def _ns_made_reset():
    global _ns_made
    _ns_made = False


if __name__ == "__main__":
    sys.exit(main())
