"""mediusd relaying on net_af_xdp against net_af_packet, side by side in one
run: the CPU each costs per relayed packet. See docs/performance.md
("The relay on af_xdp and af_packet").

The wiring is tests/integration/test_relay_xdp.py's: mediusd's port on vM
(root namespace), its peer on a bridge in namespace SW, peers A and B in
namespaces of their own behind the same bridge. mediusd runs control on
CPU 0 and one worker on CPU 1 (lcores 0@0,1@1); both senders are pinned to
CPU 0. CALLS calls are set up over ng (A offers, B answers; every call's A
leg names A_IP:A_PORT, every B leg B_IP:B_PORT, so one socket per side
sends all its calls' packets and receives what medius relays to it). Each
side sends one 172-byte RTP packet per call every 20 ms (50 pps per call
and direction) and reads nothing: the kernel counts what arrives
(/proc/net/snmp Udp InDatagrams in each namespace) and drops it.

Per run it samples, over WINDOW seconds after a warm-up: mediusd's
utime and stime (/proc/PID/stat) and those of its worker thread, each CPU's
user/system/softirq/idle (/proc/stat), the senders' own CPU, packets in at
medius's port and delivered to the peers. The worker busy-polls, so its
utime+stime is a whole core whatever the load: the per-packet figure that
varies with the driver is mediusd's stime (the kernel work its syscalls do:
tx kicks, af_xdp's busy-poll) and the machine's CPU beyond the busy loop.

Usage (root): python3 perf/perf_xdp.py [--calls 100,1000] [--window 5]
    [--rounds 2] [--drivers net_af_xdp,net_af_packet]
"""
import argparse
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import medius_test  # noqa: E402
from medius_test import Daemon, ng, ping  # noqa: E402

PID = os.getpid()
N = 100 + PID % 150
TAG = PID % 100000
NS_A, NS_B, NS_SW = f"px-a-{PID}", f"px-b-{PID}", f"px-sw-{PID}"
VM, VMS = f"pM{TAG}", f"pMs{TAG}"
US, A_IP, B_IP = f"10.94.{N}.1", f"10.94.{N}.2", f"10.94.{N}.3"
A_PORT, B_PORT = 20000, 22000
DEVICES = {
    "net_af_xdp": f"net_af_xdp0,iface={VM},start_queue=0,queue_count=1",
    "net_af_packet": f"net_af_packet0,iface={VM}",
}
TCK = os.sysconf("SC_CLK_TCK")


def sh(*args, check_rc=True):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=60)
    if check_rc and r.returncode:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r


def ns(name, *args, **kw):
    return sh("ip", "netns", "exec", name, *args, **kw)


def setup():
    for name in (NS_SW, NS_A, NS_B):
        sh("ip", "netns", "add", name)
        ns(name, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        ns(name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        ns(name, "ip", "link", "set", "lo", "up")
    ns(NS_SW, "ip", "link", "add", "br0", "type", "bridge", "forward_delay", "0", "stp_state", "0")
    ns(NS_SW, "ip", "link", "set", "br0", "up")
    sh("ip", "link", "add", VM, "type", "veth", "peer", "name", VMS)
    sh("sysctl", "-qw", f"net.ipv6.conf.{VM}.disable_ipv6=1")
    sh("ip", "link", "set", VMS, "netns", NS_SW)
    sh("ip", "link", "set", VM, "up")
    ns(NS_SW, "ip", "link", "set", VMS, "master", "br0")
    ns(NS_SW, "ip", "link", "set", VMS, "up")
    for peer, ip, t in ((NS_A, A_IP, "a"), (NS_B, B_IP, "b")):
        v, vs = f"p{t}{TAG}", f"p{t}s{TAG}"
        ns(peer, "ip", "link", "add", v, "type", "veth", "peer", "name", vs)
        ns(peer, "ip", "link", "set", vs, "netns", NS_SW)
        ns(peer, "ip", "link", "set", v, "up")
        ns(peer, "ip", "addr", "add", f"{ip}/24", "dev", v)
        ns(peer, "ethtool", "-K", v, "tx", "off")
        ns(NS_SW, "ip", "link", "set", vs, "master", "br0")
        ns(NS_SW, "ip", "link", "set", vs, "up")


def teardown():
    sh("ip", "link", "del", VM, check_rc=False)
    for name in (NS_A, NS_B, NS_SW):
        sh("ip", "netns", "del", name, check_rc=False)


SENDER = r'''
import socket, struct, sys, time, os
me, my_port, us, ports, ssrc0 = sys.argv[1:6]
ports = [int(p) for p in ports.split(",")]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((me, int(my_port)))
payload = b"\xd5" * 160
hdr = [struct.Struct("!BBHII") for _ in ports]
print("ready", flush=True)
t0, k, lag = time.monotonic(), 0, 0.0
sent = 0
while True:
    due = t0 + k * 0.02
    now = time.monotonic()
    if now < due:
        time.sleep(due - now)
    else:
        lag = max(lag, now - due)
    for i, p in enumerate(ports):
        s.sendto(struct.pack("!BBHII", 0x80, 0, k & 0xffff, (k * 160) & 0xffffffff, int(ssrc0) + i) + payload, (us, p))
    sent += len(ports)
    k += 1
    if k % 50 == 0:
        print(f"{sent} {lag:.4f}", flush=True)
'''


def cpu_times():
    """Per CPU: (busy ticks without idle/iowait, user, system, softirq)."""
    out = {}
    with open("/proc/stat") as f:
        for ln in f:
            if ln.startswith("cpu") and ln[3].isdigit():
                w = ln.split()
                v = list(map(int, w[1:8]))  # user nice system idle iowait irq softirq
                out[w[0]] = (v[0] + v[1] + v[2] + v[5] + v[6], v[0] + v[1], v[2], v[6])
    return out


def proc_times(pid, tid=None):
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    with open(path) as f:
        w = f.read().rsplit(")", 1)[1].split()
    return int(w[11]), int(w[12])  # utime stime (ticks)


def worker_tid(pid):
    """The worker lcore's thread (EAL names it rte-worker-N)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().startswith("rte-worker"):
                return tid
    raise RuntimeError("no rte-worker thread in mediusd")


def udp_in(name):
    r = ns(name, "cat", "/proc/net/snmp").stdout.splitlines()
    keys, vals = [ln.split() for ln in r if ln.startswith("Udp:")][:2]
    d = dict(zip(keys[1:], map(int, vals[1:])))
    # the peers read nothing: what arrives is counted, then dropped (RcvbufErrors)
    return d["InDatagrams"] + d.get("RcvbufErrors", 0), d.get("RcvbufErrors", 0)


def port_stats(port):
    st = ng(port, command="statistics")["statistics"]["totalstatistics"]
    i = st["interfaces"][0]
    return i["port"], st["drops"]


def run(driver, calls, window, tmp):
    conf = os.path.join(tmp, "mediusd.conf")
    with open(conf, "w") as f:
        f.write(f"[eal]\nlcores = 0@0,1@1\nhugepages = no\nmemory_mb = 512\n\n[control]\ncall_idle_timeout_seconds = 0\n\n"
                f"[interface ext]\ntype = ethdev\ndevice = {DEVICES[driver]}\naddress = {US}\nprefix_len = 24\n"
                f"port_min = 30000\nport_max = 39999\n")
    for name in (NS_A, NS_B):
        ns(name, "ip", "neigh", "flush", "all")
    res = {}
    with Daemon("-c", conf, "--log-level", "notice") as d:
        pid = d.proc.pid
        for name in (NS_A, NS_B):
            ns(name, "ping", "-c", "1", "-W", "2", US)
        pa, pb = [], []
        for c in range(calls):
            sdp = lambda ip, port: (f"v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
                                    f"m=audio {port} RTP/AVP 0\r\n")
            off = ng(d.port, command="offer", call_id=f"c{c}", from_tag="a", sdp=sdp(A_IP, A_PORT))
            ans = ng(d.port, command="answer", call_id=f"c{c}", from_tag="a", to_tag="b", sdp=sdp(B_IP, B_PORT))
            pb.append(int(off["sdp"].split("m=audio ")[1].split()[0]))
            pa.append(int(ans["sdp"].split("m=audio ")[1].split()[0]))
        senders = []
        for name, me, my, ports, ssrc in ((NS_A, A_IP, A_PORT, pa, 0x10000), (NS_B, B_IP, B_PORT, pb, 0x20000)):
            p = subprocess.Popen(["ip", "netns", "exec", name, "taskset", "-c", "0", sys.executable, "-c", SENDER,
                                  me, str(my), US, ",".join(map(str, ports)), str(ssrc)],
                                 stdout=subprocess.PIPE, text=True)
            assert p.stdout.readline().strip() == "ready"
            senders.append(p)
        time.sleep(2.0)  # warm-up: latching, neighbours
        wt = worker_tid(pid)
        c0, m0, w0 = cpu_times(), proc_times(pid), proc_times(pid, wt)
        s0 = [proc_times(p.pid) for p in senders]  # ip netns exec execs python: same pid
        ps0, _ = port_stats(d.port)
        u0 = [udp_in(n) for n in (NS_A, NS_B)]
        time.sleep(window)
        c1, m1, w1 = cpu_times(), proc_times(pid), proc_times(pid, wt)
        s1 = [proc_times(p.pid) for p in senders]
        ps1, drops = port_stats(d.port)
        u1 = [udp_in(n) for n in (NS_A, NS_B)]
        lags = []
        for p in senders:
            p.terminate()
            out = p.communicate(timeout=10)[0].split()
            lags.append(float(out[-1]) if out else -1)
        rx = ps1["rx packets"] - ps0["rx packets"]
        tx = ps1["tx packets"] - ps0["tx packets"]
        delivered = sum(u1[i][0] - u0[i][0] for i in range(2))
        rcvbuf = sum(u1[i][1] - u0[i][1] for i in range(2))
        us = lambda ticks: ticks * 1e6 / TCK
        res = {
            "rx": rx, "tx": tx, "delivered": delivered, "rcvbuf_err": rcvbuf, "pps": rx / window,
            "md_utime": us(m1[0] - m0[0]), "md_stime": us(m1[1] - m0[1]),
            "w_utime": us(w1[0] - w0[0]), "w_stime": us(w1[1] - w0[1]),
            "senders": us(sum((b[0] + b[1]) - (a[0] + a[1]) for a, b in zip(s0, s1))),
            "cpu": {k: tuple(us(b - a) for a, b in zip(c0[k], c1[k])) for k in c0},
            "lag": max(lags), "missed": ps1["rx missed"], "drops": {k: v for k, v in drops.items() if v},
        }
    return res


def callgrind_totals(path):
    """(Ir of the worker loop, calls of dp_eth_poll = loop turns) in a dump."""
    names, ir, turns, cfn = {}, 0, 0, None
    with open(path) as f:
        for ln in f:
            if ln.startswith(("summary:", "totals:")):
                ir = int(ln.split()[1])
            elif ln.startswith(("fn=", "cfn=")):
                fid, _, name = ln.split("=", 1)[1].strip().partition(" ")
                if name:
                    names[fid] = name
                if ln.startswith("cfn="):
                    cfn = names.get(fid)
            elif ln.startswith("calls=") and cfn == "dp_eth_poll":
                turns += int(ln[6:].split()[0])
    return ir, turns


def run_callgrind(driver, calls, window, tmp):
    """mediusd under callgrind (the worker loop only: --toggle-collect=
    worker_main), an idle window and a loaded one: instructions per loop
    turn idle, and per packet relayed beyond that. User space only."""
    conf = os.path.join(tmp, "mediusd.conf")
    with open(conf, "w") as f:
        f.write(f"[eal]\nlcores = 0@0,1@1\nhugepages = no\nmemory_mb = 256\n\n[control]\ncall_idle_timeout_seconds = 0\n\n"
                f"[interface ext]\ntype = ethdev\ndevice = {DEVICES[driver]}\naddress = {US}\nprefix_len = 24\n"
                f"port_min = 30000\nport_max = 39999\n")
    for name in (NS_A, NS_B):
        ns(name, "ip", "neigh", "flush", "all")
    port = medius_test.free_port()
    out = os.path.join(tmp, f"cg-{driver}")
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                             "--toggle-collect=worker_main", medius_test.MEDIUSD, "-c", conf, "-l", f"127.0.0.1:{port}",
                             "-L", "notice"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 180
        while not ping(port, timeout=0.5):
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"mediusd under callgrind did not start ({proc.poll()})")
        ctl = lambda *a: subprocess.run(["callgrind_control", *a, str(proc.pid)], capture_output=True, timeout=120)
        for name in (NS_A, NS_B):
            ns(name, "ping", "-c", "1", "-W", "5", US)
        time.sleep(2)
        ctl("-z")
        time.sleep(window)
        ctl("-d", "idle")
        pa, pb = [], []
        sdp = lambda ip, p: f"v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {p} RTP/AVP 0\r\n"
        for c in range(calls):
            off = ng(port, command="offer", call_id=f"c{c}", from_tag="a", sdp=sdp(A_IP, A_PORT))
            ans = ng(port, command="answer", call_id=f"c{c}", from_tag="a", to_tag="b", sdp=sdp(B_IP, B_PORT))
            pb.append(int(off["sdp"].split("m=audio ")[1].split()[0]))
            pa.append(int(ans["sdp"].split("m=audio ")[1].split()[0]))
        senders = []
        for name, me, my, ports, ssrc in ((NS_A, A_IP, A_PORT, pa, 0x10000), (NS_B, B_IP, B_PORT, pb, 0x20000)):
            p = subprocess.Popen(["ip", "netns", "exec", name, "taskset", "-c", "0", sys.executable, "-c", SENDER,
                                  me, str(my), US, ",".join(map(str, ports)), str(ssrc)], stdout=subprocess.PIPE, text=True)
            assert p.stdout.readline().strip() == "ready"
            senders.append(p)
        time.sleep(3)
        ps0, _ = port_stats(port)
        ctl("-z")
        time.sleep(window)
        ctl("-d", "load")
        ps1, drops = port_stats(port)
        for p in senders:
            p.terminate()
            p.communicate(timeout=10)
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    dumps = sorted((f for f in os.listdir(tmp) if f.startswith(f"cg-{driver}.")), key=lambda f: int(f.rsplit(".", 1)[1]))
    (ir_i, t_i), (ir_l, t_l) = [callgrind_totals(os.path.join(tmp, f)) for f in dumps[:2]]
    rx = ps1["rx packets"] - ps0["rx packets"]
    per_turn = ir_i / max(t_i, 1)
    return {"rx": rx, "idle_ir": ir_i, "idle_turns": t_i, "load_ir": ir_l, "load_turns": t_l,
            "per_turn": per_turn, "per_packet": (ir_l - per_turn * t_l) / max(rx, 1),
            "drops": {k: v for k, v in drops.items() if v}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", default="100,1000")
    ap.add_argument("--window", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--drivers", default="net_af_xdp,net_af_packet")
    ap.add_argument("--callgrind", type=int, default=0, metavar="CALLS",
                    help="instead: mediusd under callgrind with CALLS calls, instructions per packet")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (namespaces, veths, XDP)")
        return 77
    import tempfile
    tmp = tempfile.mkdtemp(prefix="perf-xdp-")  # kept: callgrind's dumps
    drivers = a.drivers.split(",")
    results = {}
    try:
        setup()
        if a.callgrind:
            res = {}
            for drv in drivers:
                x = res[drv] = run_callgrind(drv, a.callgrind, a.window, tmp)
                print(f"{drv:14s} callgrind, {a.callgrind} calls: idle {x['idle_turns']} loop turns, "
                      f"{x['per_turn']:.0f} instructions a turn; loaded {x['rx']} packets in, {x['load_turns']} turns, "
                      f"{x['load_ir']} instructions: {x['per_packet']:.0f} a packet beyond the idle turns; "
                      f"drops {x['drops']}", flush=True)
            if len(res) == 2:
                xa, xp = res["net_af_xdp"]["per_packet"], res["net_af_packet"]["per_packet"]
                print(f"ratio af_xdp / af_packet, worker instructions per packet (user space): x{xa / xp:.2f}")
            return 0
        for calls in map(int, a.calls.split(",")):
            for r in range(a.rounds):
                order = drivers if r % 2 == 0 else drivers[::-1]  # alternate which runs first
                for drv in order:
                    x = run(drv, calls, a.window, tmp)
                    results.setdefault((calls, drv), []).append(x)
                    per = lambda v: v / max(x["rx"], 1)
                    cpu_all = sum(v[0] for v in x["cpu"].values())
                    print(f"{drv:14s} calls {calls:5d} round {r}: {x['pps']:8.0f} pps in, tx {x['tx']}, delivered "
                          f"{x['delivered']} to the peers' sockets, port missed {x['missed']}, "
                          f"drops {x['drops']}, sender lag max {x['lag'] * 1000:.1f} ms", flush=True)
                    print(f"{'':14s} per packet in: mediusd utime+stime {per(x['md_utime'] + x['md_stime']):6.2f} us "
                          f"(stime {per(x['md_stime']):5.2f}; worker thread {per(x['w_utime'] + x['w_stime']):6.2f}, "
                          f"its stime {per(x['w_stime']):5.2f}); senders {per(x['senders']):5.2f} us; "
                          f"machine busy {per(cpu_all):6.2f} us = "
                          + ", ".join(f"{k} user {per(v[1]):.2f} sys {per(v[2]):.2f} softirq {per(v[3]):.2f}"
                                      for k, v in sorted(x["cpu"].items())), flush=True)
    finally:
        teardown()
    print()
    print("ratios af_xdp / af_packet (median of rounds, per packet relayed in):")
    for calls in map(int, a.calls.split(",")):
        if (calls, "net_af_xdp") not in results or (calls, "net_af_packet") not in results:
            continue

        def med(drv, f):
            v = sorted(f(x) / max(x["rx"], 1) for x in results[(calls, drv)])
            return v[len(v) // 2]
        for label, f in (("mediusd utime+stime", lambda x: x["md_utime"] + x["md_stime"]),
                         ("mediusd stime", lambda x: x["md_stime"]),
                         ("machine busy", lambda x: sum(v[0] for v in x["cpu"].values())),
                         ("machine busy less mediusd", lambda x: sum(v[0] for v in x["cpu"].values())
                          - x["md_utime"] - x["md_stime"])):
            xa, xp = med("net_af_xdp", f), med("net_af_packet", f)
            print(f"  {calls:5d} calls, {label:26s}: af_xdp {xa:7.2f} us, af_packet {xp:7.2f} us, "
                  f"x{xa / xp if xp else float('nan'):.2f}")
    return 0


sys.exit(main())
