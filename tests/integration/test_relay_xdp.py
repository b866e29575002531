"""A real call through mediusd on DPDK net_af_xdp ports, driven over ng,
between two peers in two network namespaces; then the same calls on
net_af_packet, so the two drivers are held to the same result.

The wiring (every namespace and veth is this test's own, removed at the
end even on failure):

    root namespace                 namespace SW (a bridge)      peers
    mediusd: net_af_xdp0 on vM --- vMs -+- br0 -+- vAs ----------- vA in namespace A (A_IP)
    (medius owns US_IP; vM has         |        +- vBs ----------- vB in namespace B (B_IP)
     no address, no IPv6)

mediusd runs one worker (a veth has one queue, so net_af_xdp takes
queue_count=1; see docs/operations.md). A offers, B answers (ng offer /
answer, SDP with each peer's own address), then both peers send at once,
1,000 RTP packets each (XDP_PACKETS), paced 2 ms apart, of sizes from 20
to 1,400 bytes of payload, from the port their SDP names (symmetric RTP).
Each receives on the same socket. The test asserts, per direction:

  * every packet arrived, once, in order: sequence numbers contiguous from
    the first sent to the last, SSRC and timestamp as sent;
  * every payload is byte for byte what was sent (a digest per packet);
  * the call's legs (ng query) and the port's own counters (ng
    statistics, rte_eth_stats) saw at least that many packets, the port
    lost none (rx missed, errors), and nothing was dropped but multicast
    not meant for medius.

On af_xdp a long call follows on the same port: 20,000 packets each way
(XDP_LONG_PACKETS), 1 ms apart (XDP_LONG_GAP), more than twice the
worker's 8,191-mbuf pool, with the same checks (zero loss). mediusd's log
must say the af_xdp umem holds every mbuf of the pool: DPDK 22.11's
net_af_xdp registers only populated_size x object size bytes from the
pool's first chunk, and a default pool without hugepages leaves 3,456 of
8,191 mbufs outside it; the kernel drops those from the fill ring until rx
stops (docs/operations.md). (af_packet gets no long run: on a loaded host
its ring overflows, and the PMD counts no missed frames for it.)

Part 2 gives each peer a port of its own: namespaces L and R, each with a
veth straight into the root namespace, mediusd with two ethdev interfaces
(net_af_xdp0 on vL, net_af_xdp1 on vR, one worker polling both), and the
call crossing from one to the other (ng direction [left, right]). With
af_xdp both sockets' umems are the one worker pool, so frames received on
one port are sent on the other; the same checks apply.

That it really ran on af_xdp: statistics names driver net_af_xdp for the
interface, mediusd's log says "(driver net_af_xdp) started", and while it
runs the kernel shows an XDP program attached to vM (ip link: prog/xdp),
which is gone again after mediusd stopped. The kernel side of vM has no
address, so only medius can have answered and relayed.

Checksums: a veth fills in nothing and a socket leaves UDP checksums
partial; the frames reach the XDP program (and af_packet) as they are, so
the peers turn tx checksumming off (ethtool -K vA tx off), as a real NIC
would have filled them in.

Needs root (namespaces, veths, XDP). Exits 77 (skip) without root or
tools. When af_xdp cannot be set up here (no AF_XDP sockets in the kernel,
the PMD or libxdp missing, the XDP program refused), the af_packet call
still runs; the test then prints why af_xdp could not run and exits 77 if
the af_packet call passed."""
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from medius_test import MEDIUSCTL, Daemon, check, finish, ng

PACKETS = int(os.environ.get("XDP_PACKETS", "1000"))
# the long run: more frames than the worker's mbuf pool holds, several
# times over (media.mbufs_per_worker defaults to 8191), paced faster
LONG_PACKETS = int(os.environ.get("XDP_LONG_PACKETS", "20000"))
LONG_GAP = float(os.environ.get("XDP_LONG_GAP", "0.001"))
PID = os.getpid()
N = 100 + PID % 150
TAG = PID % 100000
NS_A, NS_B, NS_SW = f"mx-a-{PID}", f"mx-b-{PID}", f"mx-sw-{PID}"
VM, VMS = f"xM{TAG}", f"xMs{TAG}"
VA, VAS = f"xA{TAG}", f"xAs{TAG}"
VB, VBS = f"xB{TAG}", f"xBs{TAG}"
US, A_IP, B_IP = f"10.91.{N}.1", f"10.91.{N}.2", f"10.91.{N}.3"
A_PORT, B_PORT = 20000 + 2 * N, 22000 + 2 * N
DEVICES = {
    "net_af_xdp": f"net_af_xdp0,iface={VM},start_queue=0,queue_count=1",
    "net_af_packet": f"net_af_packet0,iface={VM}",
}
# part 2: a veth per peer namespace, straight into the root namespace
NS_L, NS_R = f"mx-l-{PID}", f"mx-r-{PID}"
VL, VLP, VR, VRP = f"xL{TAG}", f"xLp{TAG}", f"xR{TAG}", f"xRp{TAG}"
L_US, L_IP, R_US, R_IP = f"10.92.{N}.1", f"10.92.{N}.2", f"10.93.{N}.1", f"10.93.{N}.2"
TWO = {
    "net_af_xdp": (f"net_af_xdp0,iface={VL}", f"net_af_xdp1,iface={VR}"),
    "net_af_packet": (f"net_af_packet0,iface={VL}", f"net_af_packet1,iface={VR}"),
}


def sh(*args, check_rc=True, timeout=30):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r


def ns(name, *args, **kw):
    return sh("ip", "netns", "exec", name, *args, **kw)


def setup():
    for name in (NS_SW, NS_A, NS_B, NS_L, NS_R):
        sh("ip", "netns", "add", name)
        # no IPv6 on anything made in the namespace: no DAD, MLD, RS chatter
        ns(name, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        ns(name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        ns(name, "ip", "link", "set", "lo", "up")
    ns(NS_SW, "ip", "link", "add", "br0", "type", "bridge", "forward_delay", "0", "stp_state", "0")
    ns(NS_SW, "ip", "link", "set", "br0", "up")
    # medius's veth: vM stays in the root namespace, its peer joins the bridge
    sh("ip", "link", "add", VM, "type", "veth", "peer", "name", VMS)
    sh("sysctl", "-qw", f"net.ipv6.conf.{VM}.disable_ipv6=1")
    sh("ip", "link", "set", VMS, "netns", NS_SW)
    sh("ip", "link", "set", VM, "up")
    for peer, v, vs, ip in ((NS_A, VA, VAS, A_IP), (NS_B, VB, VBS, B_IP)):
        ns(peer, "ip", "link", "add", v, "type", "veth", "peer", "name", vs)
        ns(peer, "ip", "link", "set", vs, "netns", NS_SW)
        ns(peer, "ip", "link", "set", v, "up")
        ns(peer, "ip", "addr", "add", f"{ip}/24", "dev", v)
        ns(peer, "ethtool", "-K", v, "tx", "off")
    for vs in (VMS, VAS, VBS):
        ns(NS_SW, "ip", "link", "set", vs, "master", "br0")
        ns(NS_SW, "ip", "link", "set", vs, "up")
    for peer, v, vp, ip in ((NS_L, VL, VLP, L_IP), (NS_R, VR, VRP, R_IP)):
        sh("ip", "link", "add", v, "type", "veth", "peer", "name", vp)
        sh("sysctl", "-qw", f"net.ipv6.conf.{v}.disable_ipv6=1")
        sh("ip", "link", "set", vp, "netns", peer)
        sh("ip", "link", "set", v, "up")
        ns(peer, "ip", "link", "set", vp, "up")
        ns(peer, "ip", "addr", "add", f"{ip}/24", "dev", vp)
        ns(peer, "ethtool", "-K", vp, "tx", "off")


def teardown():
    for v in (VM, VL, VR):
        sh("ip", "link", "del", v, check_rc=False)
    for name in (NS_A, NS_B, NS_SW, NS_L, NS_R):
        sh("ip", "netns", "del", name, check_rc=False)


def af_xdp_blocker():
    """Why this kernel cannot give medius an AF_XDP socket, or None."""
    try:
        socket.socket(44, socket.SOCK_RAW).close()  # AF_XDP
    except OSError as e:
        return f"socket(AF_XDP, SOCK_RAW) failed: {e} (a kernel without CONFIG_XDP_SOCKETS, or forbidden here)"
    return None


# ---- the peers ----

PEER = r'''
import hashlib, json, select, socket, struct, sys, time
me, my_port, us, their_port, n, ssrc, seq0, gap = sys.argv[1:9]
my_port, their_port, n, ssrc, seq0, gap = int(my_port), int(their_port), int(n), int(ssrc), int(seq0), float(gap)
def payload(ssrc, i):
    size = 20 + (i * 151) % 1381          # 20 .. 1400 bytes
    block = hashlib.sha256(b"%d:%d" % (ssrc, i)).digest()
    return (block * (size // 32 + 1))[:size]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:                                      # root: past net.core.rmem_max
    s.setsockopt(socket.SOL_SOCKET, 33, 1 << 23)  # SO_RCVBUFFORCE
except OSError:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
s.bind((me, my_port))
print("ready", flush=True)
sys.stdin.readline()                      # go
got, sent = [], 0
t0 = time.monotonic()
quiet_until = None
while True:
    now = time.monotonic()
    if sent < n and now >= t0 + sent * gap:
        i = sent
        seq, ts = (seq0 + i) & 0xffff, (seq0 + i) * 160 & 0xffffffff
        s.sendto(struct.pack("!BBHII", 0x80, 0, seq, ts, ssrc) + payload(ssrc, i), (us, their_port))
        sent += 1
        if sent == n:
            quiet_until = now + 2.0
        if not select.select([s], [], [], 0)[0]:   # behind schedule: still read what came
            continue
    elif quiet_until is not None and now > quiet_until:
        break
    elif not select.select([s], [], [], min(gap, 0.002) if sent < n else 0.05)[0]:
        continue
    while True:
        try:
            d, src = s.recvfrom(4096, socket.MSG_DONTWAIT)
        except BlockingIOError:
            break
        v, pt, seq, ts, ss = struct.unpack("!BBHII", d[:12])
        got.append([seq, ts, ss, len(d) - 12, hashlib.sha1(d[12:]).hexdigest(), src[0], src[1]])
        if sent == n:
            quiet_until = time.monotonic() + 2.0
print(json.dumps({"sent": sent, "got": got}), flush=True)
'''


def expected(ssrc, seq0, n):
    """What the peer with ssrc/seq0 sent: [seq, ts, ssrc, len, sha1] per packet."""
    out = []
    for i in range(n):
        size = 20 + (i * 151) % 1381
        block = hashlib.sha256(b"%d:%d" % (ssrc, i)).digest()
        p = (block * (size // 32 + 1))[:size]
        out.append([(seq0 + i) & 0xffff, (seq0 + i) * 160 & 0xffffffff, ssrc, size, hashlib.sha1(p).hexdigest()])
    return out


def start_peer(name, me, my_port, us, their_port, ssrc, seq0, n=PACKETS, gap=0.002):
    p = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", PEER, me, str(my_port), us,
                          str(their_port), str(n), str(ssrc), str(seq0), str(gap)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    if line != "ready":
        p.kill()
        raise RuntimeError(f"peer in {name} did not start: {line} {p.stderr.read()}")
    return p


def compare(label, want, got, us):
    """Every packet of `want` arrived once, in order, intact."""
    rows = [g[:5] for g in got]
    seqs = [g[0] for g in got]
    missing = len({tuple(w) for w in want} - {tuple(r) for r in rows})
    check(len(got) == len(want), f"{label}: {len(got)} of {len(want)} packets received")
    check(seqs == [w[0] for w in want],
          f"{label}: sequence numbers contiguous and in order, {want[0][0]}..{want[-1][0]} "
          f"(first received {seqs[:1]}, last {seqs[-1:]}, {len(set(seqs))} distinct)")
    check(rows == want, f"{label}: every packet's SSRC, timestamp, length and payload digest as sent "
          f"({missing} differ or are missing)")
    srcs = {(g[5], g[6]) for g in got}
    check(len(srcs) == 1 and all(ip == us for ip, _ in srcs),
          f"{label}: every packet came from medius's one port at {us}: {sorted(srcs)[:3]}")


def sdp(ip, port):
    return (f"v=0\r\no=- {port} 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n")


def sdp_addr(text):
    c = re.search(r"^c=IN IP4 (\S+)", text, re.M)
    m = re.search(r"^m=audio (\d+) ", text, re.M)
    return (c.group(1) if c else None), (int(m.group(1)) if m else None)


def xdp_attached(dev):
    return "prog/xdp" in sh("ip", "-d", "link", "show", dev).stdout


def write_conf(tmp, ifaces):
    """ifaces: [(name, device, address)], each a /24."""
    path = os.path.join(tmp, "mediusd.conf")
    with open(path, "w") as f:
        f.write("[eal]\nlcores = 0-1\nhugepages = no\nmemory_mb = 256\n")
        for k, (name, device, address) in enumerate(ifaces):
            f.write(f"\n[interface {name}]\ntype = ethdev\ndevice = {device}\naddress = {address}\n"
                    f"prefix_len = 24\nport_min = {31000 + 1000 * k}\nport_max = {31999 + 1000 * k}\n")
    return path


def dpdk_errors(log):
    return [ln.split("] ", 1)[-1] for ln in log.splitlines()
            if "] error " in ln or ln.startswith(("libxdp", "libbpf"))]


def start_daemon(driver, conf):
    """(Daemon, None), or (None, why af_xdp cannot run here)."""
    try:
        return Daemon("-c", conf, "--log-level", "info"), None
    except RuntimeError as e:
        errs = dpdk_errors(str(e))
        # the PMD refused the device, or the kernel the AF_XDP socket, its
        # umem or the XDP program: this host cannot run af_xdp (the lines
        # say why); any other failure to start is medius's own
        if driver == "net_af_xdp" and any(k in x for x in errs for k in (
                "cannot probe device", "Failed to configure xdp socket", "libxdp: Error", "af_xdp needs")):
            return None, "mediusd could not set up net_af_xdp: " + " | ".join(errs)
        check(False, f"{driver}: mediusd started: {e}")
        return None, None


def relay_call(d, label, a, b, direction=None, n=PACKETS, gap=0.002):
    """A offers, B answers, both send n packets (PACKETS unless told) at once, gap seconds apart; a and b are
    (namespace, own ip, own port, medius's ip there)."""
    cid = f"{label}-{PID}".replace(" ", "-")
    extra = {"direction": direction} if direction else {}
    off = ng(d.port, command="offer", call_id=cid, from_tag="a", sdp=sdp(a[1], a[2]), **extra)
    ans = ng(d.port, command="answer", call_id=cid, from_tag="a", to_tag="b", sdp=sdp(b[1], b[2]))
    (ip_b, port_b), (ip_a, port_a) = sdp_addr(off.get("sdp", "")), sdp_addr(ans.get("sdp", ""))
    check(off.get("result") == "ok" and ans.get("result") == "ok" and ip_a == a[3] and ip_b == b[3],
          f"{label}: offer/answer: A sends to {ip_a}:{port_a}, B to {ip_b}:{port_b} "
          f"({off.get('error-reason', '')}{ans.get('error-reason', '')})")
    if not (port_a and port_b):
        return
    ssrc_a, ssrc_b = 0x1000 + N, 0x2000 + N
    seq_a, seq_b = 65000, 100  # A's sequence wraps past 65535
    pa = start_peer(a[0], a[1], a[2], a[3], port_a, ssrc_a, seq_a, n, gap)
    pb = start_peer(b[0], b[1], b[2], b[3], port_b, ssrc_b, seq_b, n, gap)
    t0 = time.time()
    for p in (pa, pb):
        p.stdin.write("go\n")
        p.stdin.flush()
    out = {}
    for name, p in (("A", pa), ("B", pb)):
        o, e = p.communicate(timeout=60 + n * (gap + 0.003))
        out[name] = json.loads(o.strip().splitlines()[-1]) if o.strip() else {"sent": 0, "got": []}
        if p.returncode:
            check(False, f"{label}: peer {name} failed: {e.strip()[-400:]}")
    print(f"     {label}: {n} packets each way in {time.time() - t0:.1f} s", flush=True)
    check(out["A"]["sent"] == n and out["B"]["sent"] == n, f"{label}: both peers sent {n}")
    compare(f"{label} A->B", expected(ssrc_a, seq_a, n), out["B"]["got"], b[3])
    compare(f"{label} B->A", expected(ssrc_b, seq_b, n), out["A"]["got"], a[3])
    q = ng(d.port, command="query", call_id=cid)
    legs = {t: q["tags"][t]["medias"][0]["streams"][0]["stats"]["packets"] for t in ("a", "b")}
    check(min(legs.values()) >= n, f"{label}: ng query counts every packet on both legs: {legs}")
    ng(d.port, command="delete", call_id=cid)


def check_ports(d, label, driver, ifaces, frames):
    """Each interface's port is on `driver` and moved at least `frames`
    frames each way without losing one; no drops but foreign multicast."""
    st = ng(d.port, command="statistics")["statistics"]["totalstatistics"]
    ifs = {i["name"]: i for i in st["interfaces"]}
    for name, device, _ in ifaces:
        i = ifs.get(name, {})
        port = i.get("port", {})
        check(i.get("type") == "ethdev" and i.get("driver") == driver and i.get("device") == device.split(",")[0],
              f"{label}: ng statistics names interface {name}'s DPDK port: {i.get('device')} driver {i.get('driver')}")
        check(port.get("rx packets", 0) >= frames and port.get("tx packets", 0) >= frames,
              f"{label}: {name}'s port counters carried the call: rx {port.get('rx packets')} "
              f"tx {port.get('tx packets')} (>= {frames})")
        lost = {k: port.get(k) for k in ("rx missed", "rx errors", "tx errors", "rx no mbuf")}
        check(not any(lost.values()), f"{label}: {name}'s port lost nothing: {lost}")
    drops = {k: v for k, v in st["drops"].items() if v and k != "mcast_not_for_us"}
    check(not drops, f"{label}: no drops in the dataplane (but multicast not for medius): {drops}")
    out = subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{d.port}", "stats"], capture_output=True, text=True,
                         timeout=30).stdout
    lines = [ln for ln in out.splitlines() if ln.startswith("interface ")]
    check(len(lines) == len(ifaces) and all(re.match(
        rf"interface {name}: ethdev {re.escape(dev.split(',')[0])} \(driver {driver}\), port rx \d+ tx \d+ missed 0 ", ln)
        for (name, dev, _), ln in zip(ifaces, lines)), f"{label}: mediusctl stats shows each port: {lines}")


def check_driver(d, label, driver, devs):
    log = d.log_text()
    check(f"(driver {driver}) started: 1 queue pair(s)" in log,
          f"{label}: mediusd's log says the port runs on {driver}: "
          f"{[ln.split('] ', 1)[-1] for ln in log.splitlines() if ' eth: ' in ln and 'started' in ln]}")
    if driver == "net_af_xdp":
        for dev in devs:
            check(xdp_attached(dev), f"{label}: the kernel shows an XDP program on {dev} (ip link: prog/xdp)")
        # every mbuf of the worker's pool inside the umem the PMD registers
        # (else the kernel drops the outside ones from the fill ring and rx
        # stalls after ~55% of the pool: docs/operations.md)
        umem = [ln.split("] ", 1)[-1] for ln in log.splitlines() if "af_xdp umem" in ln]
        check(len(umem) == len(devs) and all("holds all" in ln for ln in umem),
              f"{label}: the af_xdp umem holds every mbuf of the pool: {umem}")


def one_port(driver, tmp):
    """Part 1: one port, both peers behind the bridge. Returns why af_xdp
    cannot run here, or None."""
    label = f"{driver} one port"
    ifaces = [("ext", DEVICES[driver], US)]
    for name in (NS_A, NS_B):
        ns(name, "ip", "neigh", "flush", "all")
    d, why = start_daemon(driver, write_conf(tmp, ifaces))
    if not d:
        return why
    with d:
        check_driver(d, label, driver, [VM])
        for name in (NS_A, NS_B):
            r = ns(name, "ping", "-c", "2", "-i", "0.2", "-W", "2", US, check_rc=False)
            check(r.returncode == 0, f"{label}: ping {US} from {name} (ARP and ICMP echo answered by medius)")
        relay_call(d, label, (NS_A, A_IP, A_PORT, US), (NS_B, B_IP, B_PORT, US))
        check_ports(d, label, driver, ifaces, 2 * PACKETS)
        if LONG_PACKETS and driver == "net_af_xdp":  # af_packet's ring drops under load, uncounted
            relay_call(d, f"{label} long", (NS_A, A_IP, A_PORT, US), (NS_B, B_IP, B_PORT, US),
                       n=LONG_PACKETS, gap=LONG_GAP)
            check_ports(d, f"{label} long", driver, ifaces, 2 * (PACKETS + LONG_PACKETS))
    if driver == "net_af_xdp":
        check(not xdp_attached(VM), f"{label}: mediusd stopped and its XDP program left {VM}")
    return None


def two_ports(driver, tmp):
    """Part 2: a port per peer, the call crossing from one to the other
    (ng direction): with af_xdp, two AF_XDP sockets whose umems are the
    same worker pool, frames received on one sent on the other."""
    label = f"{driver} two ports"
    ifaces = [("left", TWO[driver][0], L_US), ("right", TWO[driver][1], R_US)]
    for name in (NS_L, NS_R):
        ns(name, "ip", "neigh", "flush", "all")
    d, why = start_daemon(driver, write_conf(tmp, ifaces))
    if not d:
        return why
    with d:
        check_driver(d, label, driver, [VL, VR])
        for name, us in ((NS_L, L_US), (NS_R, R_US)):
            r = ns(name, "ping", "-c", "1", "-W", "2", us, check_rc=False)
            check(r.returncode == 0, f"{label}: ping {us} from {name}")
        relay_call(d, label, (NS_L, L_IP, A_PORT, L_US), (NS_R, R_IP, B_PORT, R_US), direction=["left", "right"])
        check_ports(d, label, driver, ifaces, PACKETS)
    return None


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root for network namespaces, veth pairs and XDP")
        sys.exit(77)
    missing = [t for t in ("ip", "ethtool", "ping") if not shutil.which(t)]
    if missing:
        print(f"SKIP: missing tools: {' '.join(missing)} (packages iproute2, ethtool, iputils-ping)")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="relay-xdp-")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # a timeout still cleans up
    blocked = None
    try:
        try:
            setup()
        except (RuntimeError, OSError) as e:
            print(f"SKIP: cannot create the namespaces, bridge and veth pairs: {e}")
            sys.exit(77)
        blocked = af_xdp_blocker() or one_port("net_af_xdp", tmp)
        if not blocked:
            blocked = two_ports("net_af_xdp", tmp)
        one_port("net_af_packet", tmp)
        two_ports("net_af_packet", tmp)
    finally:
        teardown()
        shutil.rmtree(tmp, ignore_errors=True)
    if blocked:
        import medius_test  # the af_packet calls' result
        print(f"af_xdp could not run here: {blocked}")
        print(f"{medius_test._checks - medius_test._failures} passed, {medius_test._failures} failed")
        if medius_test._failures:
            sys.exit(1)
        print(f"SKIP: net_af_xdp: {blocked}")
        sys.exit(77)
    finish()


main()
