"""The relay on an ethdev interface: medius owns 10.99.N.1 on a DPDK
net_af_packet port bound to vethM, whose peer vethP sits in a network
namespace this test creates with 10.99.N.2 (the kernel side of vethM has no
address, and no IPv6, so only medius answers). Everything the test sends
goes to 10.99.N.1 / fd00:99:N::1 inside that namespace.

  1. Gratuitous ARP at start, ARP and ping (ICMP echo) from the namespace.
  2. GStreamer peers in the namespace (srtpenc/srtpdec, udpsink/udpsrc)
     through relay_harness --iface-eth, both directions at once, as
     test_relay.py does over kernel UDP: RTP->SRTP, SRTP->RTP, SRTP->SRTP;
     tshark on vethP sees 182-byte SRTP (noise) or 172-byte clear RTP (the
     tone) per leg; no drops.
  3. Bad input sent with an AF_PACKET socket on vethP: fragments, bad IP
     checksum, bad UDP checksum, an unknown protocol, frames cut inside the
     IP header, UDP longer than its IP payload: each on its own counter,
     exactly, and the call carries on. IPv4 fragments never reach medius
     through net_af_packet: the DPDK 22.11 PMD joins its sockets to a
     PACKET_FANOUT group with PACKET_FANOUT_FLAG_DEFRAG, so the kernel holds
     (and reassembles, or drops) them; the test checks they are not relayed
     and move no counter, and sends IPv6 fragments (not defragmented there)
     for the ip_fragment counter. (tests/unit/test_eth.c covers IPv4
     fragments on the rx path itself.)
  4. IPv6: NDP and ping -6 to fd00:99:N::1, a UDP relay over IPv6.
  5. Two workers (lcores 1 and 2 on one CPU, af_packet qpairs=2): flows
     that arrive at the worker not owning the call are handed over.
  6. The source policy: the RTP Bleed attacks (a stranger racing the first
     packet, and one taking over after silence) get nothing and inject
     nothing.

Checksums: a veth computes nothing; a socket in the namespace leaves UDP
checksums partial (CHECKSUM_PARTIAL) and af_packet hands them to DPDK as
they are, so the test turns tx checksumming off on vethP (ethtool -K vethP
tx off), as a real NIC would have filled them in. Needs root (netns, veth);
exits 77 (skip) without it."""
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from media_check import check_relayed_tones, pcmu_receiver_args, pcmu_sender_args, settle, stop
from medius_test import check, finish

HARNESS = os.environ.get("RELAY_HARNESS", "build/tests/relay_harness")
GST = os.environ.get("GST_LAUNCH", "gst-launch-1.0")
SUITE = "AES_CM_128_HMAC_SHA1_80"
SECONDS = 1.5

PID = os.getpid()
N = 100 + PID % 150
NS = f"medius-test-{PID}"
VM, VP = f"vmM{PID % 100000}", f"vmP{PID % 100000}"
US, PEER = f"10.99.{N}.1", f"10.99.{N}.2"
US6, PEER6 = f"fd00:99:{N:x}::1", f"fd00:99:{N:x}::2"
DEVICE = f"net_af_packet0,iface={VM}"


def sh(*args, check_rc=True, timeout=30):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r


def ns(*args, **kw):
    return sh("ip", "netns", "exec", NS, *args, **kw)


def ns_popen(args, **kw):
    return subprocess.Popen(["ip", "netns", "exec", NS] + args, **kw)


def setup():
    sh("ip", "netns", "add", NS)
    sh("ip", "link", "add", VM, "type", "veth", "peer", "name", VP)
    sh("ip", "link", "set", VP, "netns", NS)
    sh("sysctl", "-qw", f"net.ipv6.conf.{VM}.disable_ipv6=1")  # the kernel stays quiet on vethM
    sh("ip", "link", "set", VM, "up")
    ns("ip", "link", "set", "lo", "up")
    ns("sysctl", "-qw", f"net.ipv6.conf.{VP}.disable_ipv6=1")  # IPv6 only for part 4
    ns("ip", "link", "set", VP, "up")
    ns("ip", "addr", "add", f"{PEER}/24", "dev", VP)
    ns("ethtool", "-K", VP, "tx", "off")


def teardown():
    sh("ip", "link", "del", VM, check_rc=False)
    sh("ip", "netns", "del", NS, check_rc=False)


def forget_us():
    """The namespace forgets medius's MAC, so that its first packet is
    preceded by its own ARP/NDP request, from which medius learns the
    namespace's MAC: resolution then never races a backlog of packets (a
    worker preempted on a 2-CPU box can find several packets waiting for a
    next hop it still has to resolve; beyond DP_NEIGH_PENDING they drop)."""
    ns("ip", "neigh", "flush", "dev", VP)


def resolve_on_every_worker():
    """With two workers, the namespace's ARP request reaches one of them,
    which tells the other through its learn ring. Here both workers' lcores
    share one vCPU, so the other can be off the CPU for several
    milliseconds while packets (one every 2 ms) wait in its own pending
    queue for that next hop; beyond DP_NEIGH_PENDING they drop as no_arp
    (seen once under load). One ping first, and time for the learn ring to
    be served, so the counted packets never race the resolution."""
    r = ns("ping", "-c", "1", "-W", "2", US, check_rc=False)
    check(r.returncode == 0, f"a ping to {US} before the packets: rc {r.returncode}")
    time.sleep(0.3)


def real_drops(stats):
    """The dataplane's drops, less multicast not meant for medius
    (mcast_not_for_us: MLD reports, router solicitations, others' DAD, ARP
    for other hosts), which a live link always carries."""
    return {k: v for k, v in stats["lcores"]["drops"].items() if k != "mcast_not_for_us"}


def mac_of(dev, in_ns=False):
    r = (ns if in_ns else sh)("cat", f"/sys/class/net/{dev}/address")
    return r.stdout.strip()


class Harness:
    def __init__(self, a, b, addr=f"{US}/24", device=DEVICE, eal=None, extra=()):
        args = [HARNESS, "--iface-eth", f"{device},{addr}"] + (["--eal", eal] if eal else []) + \
               list(extra) + ["--a", a, "--b", b]
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready = self.p.stdout.readline().split()
        if ready[:1] != ["READY"]:
            _, err = stop(self.p)
            raise RuntimeError(f"relay_harness did not start: {' '.join(ready)} {err}")
        self.ports = {k: int(v) for k, v in (kv.split("=") for kv in ready[1:])}

    def move(self):
        """SIGUSR1: move the call to a transcoding worker; (from, to, rc)."""
        self.p.send_signal(signal.SIGUSR1)
        words = dict(kv.split("=") for kv in self.p.stdout.readline().split()[1:])
        return int(words["from"]), int(words["to"]), int(words["rc"])

    def stop(self):
        out, err = stop(self.p, signal.SIGTERM)
        lines = out.strip().splitlines()
        if not lines:
            raise RuntimeError(f"relay_harness printed no counters: {err}")
        return json.loads(lines[-1])


def capture(filt, path):
    p = ns_popen(["tshark", "-q", "-i", VP, "-f", filt, "-w", path],
                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline, line = time.time() + 15, ""
    while time.time() < deadline and "Capturing on" not in line:
        line = p.stderr.readline()
        if not line and p.poll() is not None:
            break
    return p


def ns_udp_bound(pid, port):
    """True when process pid (in the namespace) has bound UDP port."""
    try:
        with open(f"/proc/{pid}/net/udp") as f:
            next(f)
            return any(int(line.split()[1].rsplit(":", 1)[1], 16) == port for line in f)
    except OSError:
        return False


def wait_bound(proc, port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if ns_udp_bound(proc.pid, port):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


# ---- media helpers (as test_relay.py, with the peers in the namespace) ----

def sender(port, freq, ssrc, key=None):
    return ns_popen([GST] + pcmu_sender_args(US, port, freq, ssrc, SECONDS, key),
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def receiver(port, out, ssrc, key=None):
    return ns_popen([GST] + pcmu_receiver_args(PEER, port, out, ssrc, key),
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


# ---- 1. ARP, gratuitous ARP, ping ----

def part_arp_ping(tmp):
    pcap = os.path.join(tmp, "arp.pcap")
    cap = capture("arp or icmp", pcap)
    h = Harness(f"sip={PEER},flags=asymmetric", "flags=asymmetric")
    time.sleep(0.5)
    r = ns("ping", "-c", "3", "-i", "0.2", "-W", "2", US, check_rc=False)
    check(r.returncode == 0 and " 0% packet loss" in r.stdout,
          f"ping {US} from the namespace: {r.stdout.strip().splitlines()[-2:]}")
    neigh = ns("ip", "neigh", "show", US, "dev", VP).stdout.strip()
    mac = mac_of(VM)
    check(mac in neigh, f"the namespace resolved {US} by ARP to the port's MAC {mac}: {neigh!r}")
    time.sleep(0.3)
    stats = h.stop()
    stop(cap, signal.SIGINT)
    r = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "eth.src", "-e", "arp.opcode",
                        "-e", "arp.src.proto_ipv4", "-e", "arp.dst.proto_ipv4", "-e", "icmp.type"],
                       capture_output=True, text=True, timeout=60)
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    garp = [x for x in rows if x[0] == mac and x[1] == "1" and x[2] == US and x[3] == US]
    replies = [x for x in rows if x[0] == mac and x[1] == "2" and x[2] == US]
    echo = [x for x in rows if x[0] == mac and x[4] == "0"]
    check(len(garp) >= 1, f"gratuitous ARP for {US} from {mac} at start: {len(garp)} seen")
    check(len(replies) >= 1, f"ARP reply from medius for {US}: {len(replies)}")
    check(len(echo) == 3, f"3 ICMP echo replies on the wire from {mac}: {len(echo)}")
    check(not real_drops(stats), f"no drops: {stats['lcores']['drops']}")


# ---- 2. GStreamer through the relay ----

def new_key():
    return os.urandom(30)


def part_media(tmp, name, a_srtp, b_srtp):
    k1_send, k1_recv = (new_key(), new_key()) if a_srtp else (None, None)
    k2_send, k2_recv = (new_key(), new_key()) if b_srtp else (None, None)
    r1, r2 = 40000 + N * 2, 41000 + N * 2
    b64 = lambda k: base64.b64encode(k).decode()
    a_opts = f"remote={PEER}:{r1},flags=asymmetric,clock=8000"
    b_opts = f"remote={PEER}:{r2},flags=asymmetric,clock=8000"
    if a_srtp:
        a_opts += f",rx={SUITE}:{b64(k1_send)},tx={SUITE}:{b64(k1_recv)}"
    if b_srtp:
        b_opts += f",rx={SUITE}:{b64(k2_send)},tx={SUITE}:{b64(k2_recv)}"
    forget_us()
    h = Harness(a_opts, b_opts)
    pcap = os.path.join(tmp, f"{name}.pcap")
    cap = capture(f"udp dst port {r1} or udp dst port {r2}", pcap)
    out1, out2 = os.path.join(tmp, f"{name}-1.raw"), os.path.join(tmp, f"{name}-2.raw")
    rx1 = receiver(r1, out1, 2222, k1_recv)
    rx2 = receiver(r2, out2, 1111, k2_recv)
    procs = [rx1, rx2]
    try:
        check(wait_bound(rx1, r1) and wait_bound(rx2, r2), f"{name}: receivers listen in the namespace")
        tx1 = sender(h.ports["a_rtp"], 1000, 1111, k1_send)
        tx2 = sender(h.ports["b_rtp"], 440, 2222, k2_send)
        procs += [tx1, tx2]
        for tx in (tx1, tx2):
            tx.wait(timeout=30)
        settle(out1, out2)
    finally:
        for p in procs:
            stop(p, signal.SIGINT)
    time.sleep(0.5)
    stop(cap, signal.SIGINT)
    stats = h.stop()
    check_relayed_tones(name, f"tshark on {VP}", out1, out2, r1, r2, a_srtp, b_srtp, pcap, stats, SECONDS)


# ---- 3. bad input from an AF_PACKET socket ----

BAD_SENDER = r'''
import socket, struct, sys
vp, src_mac, dst_mac, src, dst, dport = sys.argv[1:7]
dport = int(dport)
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack(f"!{len(b)//2}H", b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
sa, da = socket.inet_aton(src), socket.inet_aton(dst)
def frame(payload, proto=17, frag=0x4000, bad_ip=False, bad_udp=False, udp_len=None, cut=None):
    if proto == 17:
        ulen = 8 + len(payload)
        u = struct.pack("!HHHH", 7000, dport, udp_len or ulen, 0) + payload
        c = csum(sa + da + struct.pack("!BBH", 0, 17, ulen) + u[:6] + b"\0\0" + u[8:]) or 0xffff
        if bad_udp: c ^= 0x5a5a
        l4 = u[:6] + struct.pack("!H", c) + u[8:]
    else:
        l4 = payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0x1234, frag, 64, proto, 0, sa, da)
    c = csum(ip)
    if bad_ip: c ^= 0x1111
    ip = ip[:10] + struct.pack("!H", c) + ip[12:]
    f = bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex(src_mac.replace(":", "")) + b"\x08\x00" + ip + l4
    return f[:cut] if cut else f
def frag6(payload, off_mf):
    # an IPv6 fragment header (next header 44) in front of a UDP datagram
    src6, dst6 = bytes.fromhex("fd00" + "00" * 13 + "02"), bytes.fromhex("fd00" + "00" * 13 + "01")
    fh = struct.pack("!BBHI", 17, 0, off_mf, 0x1234)
    u = struct.pack("!HHHH", 7000, dport, 8 + len(payload), 0) + payload
    ip6 = struct.pack("!IHBB", 6 << 28, len(fh) + len(u), 44, 64) + src6 + dst6
    return bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex(src_mac.replace(":", "")) + b"\x86\xdd" + ip6 + fh + u
rtp = struct.pack("!BBHII", 0x80, 0, 1, 160, 0x4242) + b"\xff" * 160
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((vp, 0))
# IPv4 fragments: held by the kernel (af_packet fanout defrag), never seen
for f in (frame(rtp, frag=0x2000), frame(rtp, frag=0x0040), frame(rtp, frag=0x2010)):
    s.send(f)
kinds = {
    "ip_fragment": [frag6(rtp, 0x0001), frag6(rtp, 0x0009), frag6(rtp, 0x0010)],
    "ip_bad_cksum": [frame(rtp, bad_ip=True)] * 3,
    "udp_bad_cksum": [frame(rtp, bad_udp=True)] * 3,
    "ip_proto": [frame(b"\0" * 40, proto=6), frame(b"\0" * 40, proto=47), frame(b"\0" * 40, proto=132)],
    "ip_trunc": [frame(rtp, cut=14 + 10), frame(rtp, cut=14 + 19), frame(rtp, cut=14 + 60)],
    "udp_trunc": [frame(rtp, udp_len=400), frame(rtp, udp_len=4), frame(rtp, udp_len=8 + len(rtp) + 1)],
}
for name, frames in kinds.items():
    for f in frames:
        s.send(f)
print(" ".join(f"{k}={len(v)}" for k, v in kinds.items()))
'''

GOOD_SENDER = r'''
import socket, struct, sys, time
dst, port, n, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
sports = [int(p) for p in sys.argv[5].split(",")] if len(sys.argv) > 5 else [0]
socks = []
for sp in sports:
    x = socket.socket(fam, socket.SOCK_DGRAM)
    x.bind(("", sp))
    socks.append(x)
for i in range(n):
    socks[i % len(socks)].sendto(struct.pack("!BBHII", 0x80, 0, first + i, (first + i) * 160, 0x4242) + b"\xff" * 160, (dst, port))
    time.sleep(0.002)
'''

RECEIVER = r'''
import socket, sys, time
addr, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((addr, port))
print("bound", flush=True)
s.settimeout(0.2)
n, end = 0, time.time() + secs
while time.time() < end:
    try:
        s.recv(4096)
        n += 1
    except socket.timeout:
        pass
print(n, flush=True)
'''


def ns_receiver(addr, port, secs):
    p = ns_popen([sys.executable, "-c", RECEIVER, addr, str(port), str(secs)], stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE, text=True)
    check(p.stdout.readline().strip() == "bound", f"receiver bound {addr}:{port}")
    return p


def ns_receiver_count(p):
    out, _ = p.communicate(timeout=30)
    return int(out.strip() or 0)


def part_bad_input():
    rport = 42000 + N * 2
    h = Harness(f"sip={PEER},flags=asymmetric", f"remote={PEER}:{rport},flags=asymmetric")
    a = h.ports["a_rtp"]
    rx = ns_receiver(PEER, rport, 4.0)
    # the namespace still knows medius: medius resolves the namespace itself
    # (its ARP request on the first packet; a pause lets the answer come)
    ns(sys.executable, "-c", GOOD_SENDER, US, str(a), "1", "1")
    time.sleep(0.3)
    ns(sys.executable, "-c", GOOD_SENDER, US, str(a), "9", "2")
    sent = ns(sys.executable, "-c", BAD_SENDER, VP, mac_of(VP, True), mac_of(VM), PEER, US, str(a)).stdout.split()
    ns(sys.executable, "-c", GOOD_SENDER, US, str(a), "20", "11")
    got = ns_receiver_count(rx)
    stats = h.stop()
    want = {k: int(v) for k, v in (kv.split("=") for kv in sent)}
    drops = stats["lcores"]["drops"]
    for k, v in want.items():
        check(drops.get(k, 0) == v, f"bad input: {v} x {k} -> drops[{k}] = {drops.get(k, 0)}")
    extra = {k: v for k, v in drops.items() if k not in want}
    check(not extra, f"bad input: no other counter moved: {extra}")
    check(got == 30 and stats["a"]["rtp_packets"] == 30 and stats["b"]["out_packets"] == 30 and
          not drops.get("no_arp"),
          f"the call carries on: 30 good packets around the bad ones, {stats['a']['rtp_packets']} accepted, "
          f"{stats['b']['out_packets']} relayed, {got} received")


# ---- 4. IPv6 ----

def part_ipv6():
    ns("sysctl", "-qw", f"net.ipv6.conf.{VP}.disable_ipv6=0")
    ns("ip", "-6", "addr", "add", f"{PEER6}/64", "dev", VP, "nodad")
    forget_us()
    r1, r2 = 43000 + N * 2, 44000 + N * 2
    h = Harness(f"remote=[{PEER6}]:{r1},flags=asymmetric", f"remote=[{PEER6}]:{r2},flags=asymmetric",
                addr=f"{US6}/64")
    try:
        r = ns("ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", US6, check_rc=False)
        check(r.returncode == 0 and " 0% packet loss" in r.stdout,
              f"ping -6 {US6} (NDP + ICMPv6 echo): {r.stdout.strip().splitlines()[-2:]}")
        neigh = ns("ip", "-6", "neigh", "show", US6, "dev", VP).stdout.strip()
        check(mac_of(VM) in neigh, f"the namespace resolved {US6} by NDP: {neigh!r}")
        rx1, rx2 = ns_receiver(PEER6, r1, 3.0), ns_receiver(PEER6, r2, 3.0)
        ns(sys.executable, "-c", GOOD_SENDER, US6, str(h.ports["a_rtp"]), "25", "1")
        ns(sys.executable, "-c", GOOD_SENDER, US6, str(h.ports["b_rtp"]), "25", "1")
        got1, got2 = ns_receiver_count(rx1), ns_receiver_count(rx2)
    finally:
        stats = h.stop()
    check(got1 == 25 and got2 == 25, f"IPv6 relay both ways: {got2} and {got1} of 25 received")
    drops = {k: v for k, v in stats["lcores"]["drops"].items()}
    check(stats["a"]["rtp_packets"] == 25 and stats["b"]["rtp_packets"] == 25,
          f"IPv6 leg counters: A {stats['a']['rtp_packets']}, B {stats['b']['rtp_packets']}; drops {drops}")
    check(not real_drops(stats), f"IPv6: the namespace's chatter (MLD reports behind a hop-by-hop header, "
          f"router solicitations, DAD) counts as mcast_not_for_us only: {drops}")
    ns("sysctl", "-qw", f"net.ipv6.conf.{VP}.disable_ipv6=1")


# ---- 5. two workers ----

def part_two_workers():
    rport = 45000 + N * 2
    forget_us()
    try:
        h = Harness(f"sip={PEER},flags=asymmetric", f"remote={PEER}:{rport},flags=asymmetric",
                    device=f"{DEVICE},qpairs=2", eal="--lcores=0@0,1@1,2@1")
    except RuntimeError as e:
        check(False, f"two workers on a 2-queue af_packet port: {e}")
        return
    resolve_on_every_worker()
    rx = ns_receiver(PEER, rport, 3.0)
    sports = ",".join(str(46000 + N * 8 + i) for i in range(8))
    ns(sys.executable, "-c", GOOD_SENDER, US, str(h.ports["a_rtp"]), "80", "1", sports)
    got = ns_receiver_count(rx)
    stats = h.stop()
    drops = stats["lcores"]["drops"]
    bad = {k: v for k, v in drops.items() if k in ("no_flow", "no_arp", "tx_full", "no_dest", "handoff_full", "rx_no_mbuf", "alloc_failed")}
    rx = [w["rx_packets"] for w in stats.get("workers", [])]
    check(len(rx) == 2 and min(rx) > 0,
          f"two workers: both queues received frames ({rx}), so one worker handed flows to the other")
    check(got == 80 and stats["a"]["rtp_packets"] == 80 and not bad,
          f"two workers: 80 packets from 8 source ports (spread over both queues) all relayed: "
          f"{got} received, relay drops {bad} (all drops, with late IPv6 chatter of part 4: {drops})")


def part_move_to_transcode_worker():
    """A call moved to the transcoding worker mid-call (as when its answer
    needs transcoding) goes on relaying: its flows now land on, or are
    handed to, the new worker."""
    rport = 45100 + N * 2
    forget_us()
    try:
        h = Harness(f"sip={PEER},flags=asymmetric", f"remote={PEER}:{rport},flags=asymmetric",
                    device=f"{DEVICE},qpairs=2", eal="--lcores=0@0,1@1,2@1", extra=("--transcode-workers", "1"))
    except RuntimeError as e:
        check(False, f"move: two workers on a 2-queue af_packet port: {e}")
        return
    resolve_on_every_worker()
    rx = ns_receiver(PEER, rport, 5.0)
    sports = ",".join(str(46200 + N * 8 + i) for i in range(8))
    ns(sys.executable, "-c", GOOD_SENDER, US, str(h.ports["a_rtp"]), "40", "1", sports)
    time.sleep(0.5)  # the first 40 relayed before the move: a frame arriving during it is dropped (no flow)
    moved = h.move()
    ns(sys.executable, "-c", GOOD_SENDER, US, str(h.ports["a_rtp"]), "40", "41", sports)
    again = h.move()
    got = ns_receiver_count(rx)
    stats = h.stop()
    bad = {k: v for k, v in stats["lcores"]["drops"].items() if k in ("no_flow", "no_arp", "tx_full", "no_dest", "handoff_full", "rx_no_mbuf", "alloc_failed")}
    check(moved == (1, 2, 0) and again == (2, 2, 0),
          f"move: the call went from relay worker lcore 1 to transcoding worker lcore 2 ({moved}), and stays ({again})")
    check(got == 80 and stats["a"]["rtp_packets"] == 80 and not bad,
          f"move: 40 packets before the move and 40 after, all relayed over ethdev: {got} received, drops {bad}")


# ---- 6. the source policy (RTP Bleed) on an ethdev port ----

SOURCE_SCRIPT = r"""
import json, os, random, socket, struct, sys, time
us, a_port, b_port, peer, third, pa, pb, relatch = sys.argv[1:9]
a_port, b_port, pa, pb, relatch = int(a_port), int(b_port), int(pa), int(pb), float(relatch)
def sock(ip, port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    s.setblocking(False)
    return s
A, B = sock(peer, pa), sock(peer, pb)
strangers = [sock(peer), sock(third)]   # the peer's own IP on another port, and another IP
def rtp(seq, ts, ssrc):
    return struct.pack("!BBHII", 0x80, 0, seq & 0xffff, ts & 0xffffffff, ssrc) + b"\xd5" * 160
def count(s):
    n = 0
    while True:
        try:
            s.recv(4096)
            n += 1
        except BlockingIOError:
            return n
a_ssrc, b_ssrc = random.getrandbits(32), random.getrandbits(32)
out = {}
# 1. the race: strangers spray all four ports while A talks and B is silent
for i in range(100):
    for s in strangers:
        for port in (a_port, a_port + 1, b_port, b_port + 1):
            s.sendto(rtp(random.getrandbits(16), 0, random.getrandbits(32)), (us, port))
    A.sendto(rtp(i, 160 * i, a_ssrc), (us, a_port))
    time.sleep(0.003)
time.sleep(0.3)
out["race_b"], out["race_a"] = count(B), count(A)
out["race_strangers"] = sum(count(s) for s in strangers)
for i in range(20):  # B starts late
    B.sendto(rtp(i, 160 * i, b_ssrc), (us, b_port))
    time.sleep(0.003)
time.sleep(0.3)
out["late_a"] = count(A)
# 2. A silent for longer than the re-latch time; strangers use A's SSRC and sequence
time.sleep(relatch + 0.3)
for i in range(40):
    for s in strangers:
        s.sendto(rtp(100 + i, 160 * (100 + i), a_ssrc if i % 2 else random.getrandbits(32)), (us, a_port))
    B.sendto(rtp(20 + i, 160 * (20 + i), b_ssrc), (us, b_port))
    time.sleep(0.003)
time.sleep(0.3)
out["silence_b"], out["silence_a"] = count(B), count(A)
out["silence_strangers"] = sum(count(s) for s in strangers)
print(json.dumps(out), flush=True)
"""


def part_source_policy():
    """The two RTP Bleed attacks of test_relay_source.py, on an ethdev port:
    strangers on the peer's own IP (another port) and on another IP."""
    pa, pb = 47000 + N * 4, 47002 + N * 4
    third = f"10.99.{N}.3"
    ns("ip", "addr", "add", f"{third}/24", "dev", VP)
    forget_us()
    try:
        h = Harness(f"remote={PEER}:{pa},clock=8000", f"remote={PEER}:{pb},clock=8000", extra=("--relatch", "1000"))
        r = ns(sys.executable, "-c", SOURCE_SCRIPT, US, str(h.ports["a_rtp"]), str(h.ports["b_rtp"]), PEER, third,
               str(pa), str(pb), "1.0", timeout=60)
        got = json.loads(r.stdout.strip().splitlines()[-1])
        stats = h.stop()
    finally:
        ns("ip", "addr", "del", f"{third}/24", "dev", VP, check_rc=False)
    check(got["race_b"] == 100 and got["race_strangers"] == 0 and got["race_a"] == 0,
          f"ethdev race: B got {got['race_b']} of A's 100, the strangers got {got['race_strangers']}, "
          f"A got {got['race_a']} injected")
    check(got["late_a"] == 20, f"ethdev race: B starts late and A gets its 20 packets ({got['late_a']})")
    check(got["silence_b"] == 0 and got["silence_strangers"] == 0 and got["silence_a"] == 40,
          f"ethdev silence: {got['silence_b']} injected into B, the strangers got {got['silence_strangers']}, "
          f"A got {got['silence_a']} of B's 40")
    spoofed = stats["a"]["drops"].get("spoofed_source", 0) + stats["b"]["drops"].get("spoofed_source", 0)
    check(spoofed == 2 * 4 * 100 + 2 * 40 and stats["a"]["source"] == f"{PEER}:{pa}" and
          stats["b"]["source"] == f"{PEER}:{pb}",
          f"ethdev: the strangers' packets counted as spoofed_source ({spoofed}), legs latched on A and B "
          f"({stats['a']['source']}, {stats['b']['source']})")


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root for network namespaces and veth pairs")
        sys.exit(77)
    missing = [t for t in ("ip", "ethtool", "ping", "tshark", GST) if not shutil.which(t)]
    if missing:
        print(f"SKIP: missing tools: {' '.join(missing)} (packages iproute2, ethtool, iputils-ping, "
              f"tshark, gstreamer1.0-tools)")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="relay-eth-")
    # a timeout's SIGTERM still removes the namespace and the veth pair
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        try:
            setup()
        except (RuntimeError, OSError) as e:
            print(f"SKIP: cannot create the namespace and veth pair: {e}")
            sys.exit(77)
        part_arp_ping(tmp)
        part_media(tmp, "RTP<->SRTP", a_srtp=False, b_srtp=True)
        part_media(tmp, "SRTP<->RTP", a_srtp=True, b_srtp=False)
        part_media(tmp, "SRTP<->SRTP", a_srtp=True, b_srtp=True)
        part_bad_input()
        part_ipv6()
        part_two_workers()
        part_move_to_transcode_worker()
        part_source_policy()
    finally:
        teardown()
    finish()


main()
