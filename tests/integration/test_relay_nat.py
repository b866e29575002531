"""Legitimate mobility through a real NAT still works under the source
policy (dataplane/dp_source.c). Three network namespaces the test creates:

  priv  the phone, 10.97.N.2/24, default route via nat
  nat   a router (ip_forward=1, nftables masquerade of UDP to ports
        40000-40999 on the way out to pub, whose address is 10.98.N.254)
  pub   mediusd (interface pub on 10.98.N.1, ng on 127.0.0.1) and the
        callee (10.98.N.3); no route to 10.97/16 and no default route, so
        what medius sends to the phone's private SDP address goes nowhere

The phone's SDP names 10.97.N.2:P; the callee echoes every packet it gets.
  1. received-from names the NAT (as Kamailio sends): media flows both
     ways, the phone's tag latches on the NAT's address, no spoofed_source.
  2. No received-from, nat_learning = no: refused (spoofed_source, a log line).
  3. No received-from, nat_learning = yes (mediusd restarted): flows again.
  4. NAT rebinding: half-way the phone sends from a new socket (a new NAT
     port) with SSRC, sequence and timestamp continuity: every packet is
     relayed, the echoes follow it to its new port; a stranger in priv
     (the NAT's IP, a random SSRC) is refused (relatch_refused), gets nothing.
The outer process builds the namespaces and re-runs this file inside pub
with --inner. Needs root; exits 77 without it."""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

# the inner process (in pub) takes the outer one's pid, so both name the same things
PID = int(sys.argv[2]) if sys.argv[1:2] == ["--inner"] else os.getpid()
N = 100 + PID % 150
PUB, NAT, PRIV = (f"medius-nat-{PID}-{x}" for x in ("pub", "nat", "priv"))
US, CALLEE, NAT_PUB = f"10.98.{N}.1", f"10.98.{N}.3", f"10.98.{N}.254"
PHONE, NAT_PRIV = f"10.97.{N}.2", f"10.97.{N}.1"
NAT_PORTS = range(40000, 41000)
COUNT = 100

PHONE_SCRIPT = r"""
import json, random, select, socket, struct, sys, time
dst, dport, bind_ip, port, n, rebind_at = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
ssrc, seq, ts = random.getrandbits(32), random.getrandbits(16), random.getrandbits(32)
def sock(p):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((bind_ip, p))
    return s
s, got, ports, sources = sock(port), [0], [], set()
ports.append(s.getsockname()[1])
def recv_until(t_end, want=None):
    while time.time() < t_end and (want is None or got[-1] < want):
        r, _, _ = select.select([s], [], [], max(0.0, t_end - time.time()))
        if r:
            data, src = s.recvfrom(2048)
            got[-1] += 1
            sources.add("%s:%d" % src)
for i in range(n):
    if i == rebind_at:
        recv_until(time.time() + 0.5, want=i)  # the echoes of the old socket's packets
        s.close()
        s = sock(0)
        got.append(0)
        ports.append(s.getsockname()[1])
    s.sendto(struct.pack("!BBHII", 0x80, 0, (seq + i) & 0xffff, (ts + 160 * i) & 0xffffffff, ssrc) + b"\xd5" * 160, (dst, dport))
    recv_until(time.time() + 0.02)
recv_until(time.time() + 0.6)
print(json.dumps({"got": got, "ports": ports, "sources": sorted(sources)}), flush=True)
"""

RTP_PAYLOAD = b"\xd5" * 160


def sh(*args, check_rc=True, timeout=30, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kw)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r


# ---------------- outer: the namespaces ----------------

def setup(pid):
    v = pid % 100000
    pub_v, natpub_v, priv_v, natpriv_v = f"nxP{v}", f"nxN{v}", f"nxp{v}", f"nxn{v}"
    for ns in (PUB, NAT, PRIV):
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "link", "add", pub_v, "netns", PUB, "type", "veth", "peer", "name", natpub_v, "netns", NAT)
    sh("ip", "link", "add", priv_v, "netns", PRIV, "type", "veth", "peer", "name", natpriv_v, "netns", NAT)
    for ns, dev, addrs in ((PUB, pub_v, (f"{US}/24", f"{CALLEE}/24")), (NAT, natpub_v, (f"{NAT_PUB}/24",)),
                           (NAT, natpriv_v, (f"{NAT_PRIV}/24",)), (PRIV, priv_v, (f"{PHONE}/24",))):
        for a in addrs:
            sh("ip", "-n", ns, "addr", "add", a, "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")
    sh("ip", "-n", PRIV, "route", "add", "default", "via", NAT_PRIV)
    sh("ip", "netns", "exec", NAT, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    rules = (f"table ip medius_nat {{ chain post {{ type nat hook postrouting priority srcnat; policy accept;\n"
             f"oifname \"{natpub_v}\" meta l4proto udp masquerade to :{NAT_PORTS[0]}-{NAT_PORTS[-1]}\n"
             f"oifname \"{natpub_v}\" masquerade\n}}\n}}\n")
    return rules


def nat_and_check(rules):
    sh("ip", "netns", "exec", NAT, "nft", "-f", "-", input=rules)
    routes = sh("ip", "-n", PUB, "-4", "route", "show").stdout
    if "default" in routes or "10.97." in routes:
        raise RuntimeError(f"pub has a route out: {routes}")


def teardown():
    # anything still running in our namespaces was started by this test
    for p in sh("ip", "netns", "pids", PUB, check_rc=False).stdout.split() + \
            sh("ip", "netns", "pids", PRIV, check_rc=False).stdout.split():
        try:
            os.kill(int(p), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    for ns in (PUB, NAT, PRIV):
        sh("ip", "netns", "del", ns, check_rc=False)


def outer():
    if os.geteuid() != 0:
        print("SKIP: needs root for network namespaces and veth pairs")
        sys.exit(77)
    missing = [t for t in ("ip", "nft") if not shutil.which(t)]
    if missing:
        print(f"SKIP: missing tools: {' '.join(missing)} (packages iproute2, nftables)")
        sys.exit(77)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # a timeout still tears down
    rc, inner_p = 1, None
    try:
        try:
            rules = setup(PID)
        except (RuntimeError, OSError) as e:
            print(f"SKIP: cannot build the namespaces: {e}")
            sys.exit(77)
        nat_and_check(rules)  # no nftables NAT here is a failure, not a skip
        inner_p = subprocess.Popen(["ip", "netns", "exec", PUB, sys.executable, os.path.abspath(__file__),
                                    "--inner", str(PID)])
        rc = inner_p.wait(timeout=110)
    finally:
        if inner_p and inner_p.poll() is None:
            inner_p.terminate()  # the inner process stops its mediusd
            try:
                inner_p.wait(timeout=25)
            except subprocess.TimeoutExpired:
                inner_p.kill()
        teardown()
    sys.exit(rc)


# ---------------- inner: in pub ----------------

def inner():
    from medius_test import Daemon, check, finish, ng

    def sdp(addr, port):
        return (f"v=0\r\no=- 1 1 IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\n"
                f"m=audio {port} RTP/AVP 0\r\na=ptime:20\r\n")

    def port_of(text):
        return int(re.search(r"^m=audio (\d+) ", text, re.M).group(1))

    def stream(P, cid, tag):
        return ng(P, command="query", call_id=cid)["tags"][tag]["medias"][0]["streams"][0]

    class Callee(threading.Thread):
        """A UDP socket in pub, named in the answer: sends 5 packets before
        the phone talks (medius has only the unroutable private address then),
        then answers every packet it gets with one of its own."""

        def __init__(self, to):
            super().__init__(daemon=True)
            self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.s.bind((CALLEE, 0))
            self.s.settimeout(0.1)
            self.port, self.to, self.seqs, self.sent = self.s.getsockname()[1], to, [], 0
            self.stop = threading.Event()

        def send(self):
            self.s.sendto(struct.pack("!BBHII", 0x80, 0, self.sent, 160 * self.sent, 0xca11ee) + RTP_PAYLOAD,
                          (US, self.to))
            self.sent += 1

        def run(self):
            deadline = time.time() + 30
            while not self.stop.is_set() and time.time() < deadline:
                try:
                    data = self.s.recv(2048)
                except socket.timeout:
                    continue
                self.seqs.append(struct.unpack("!H", data[2:4])[0])
                self.send()

    def call(P, cid, phone_port, rebind_at=-1, stranger=False, **offer_extra):
        """Offer from the phone, answer from the callee, run the phone; returns
        (callee, phone's result, stranger's result or None, query endpoints,
        the medius port the phone sends to)."""
        o = ng(P, command="offer", call_id=cid, from_tag="phone", sdp=sdp(PHONE, phone_port), **offer_extra)
        callee = Callee(port_of(o["sdp"]))
        an = ng(P, command="answer", call_id=cid, from_tag="phone", to_tag="callee", sdp=sdp(CALLEE, callee.port))
        check(o.get("result") == "ok" and an.get("result") == "ok" and f"c=IN IP4 {US}" in an["sdp"],
              f"{cid}: offer and answer, medius announces {US} ({o.get('error-reason')})")
        to_medius = port_of(an["sdp"])
        for _ in range(5):
            callee.send()
        callee.start()

        def run_in_priv(port, n, rebind):
            return subprocess.Popen(["ip", "netns", "exec", PRIV, sys.executable, "-c", PHONE_SCRIPT, US,
                                     str(to_medius), PHONE, str(port), str(n), str(rebind)],
                                    stdout=subprocess.PIPE, text=True)

        ph, st, ends = run_in_priv(phone_port, COUNT, rebind_at), None, []
        if stranger:
            deadline = time.time() + 5  # after the phone latched: a take-over attempt, not a race
            while not callee.seqs and time.time() < deadline:
                time.sleep(0.01)
            ends.append(stream(P, cid, "phone")["endpoint"].get("address"))
            st = run_in_priv(0, 20, -1)
        results = [json.loads(p.communicate(timeout=30)[0]) for p in ([ph, st] if st else [ph])]
        time.sleep(0.2)
        callee.stop.set()
        callee.join(5)
        ends.append(stream(P, cid, "phone")["endpoint"].get("address"))
        return callee, results[0], results[1] if st else None, ends, to_medius

    def nat_endpoint(addr):
        ip, _, port = (addr or ":").rpartition(":")
        return ip == NAT_PUB and port.isdigit() and int(port) in NAT_PORTS

    def flows(P, cid, phone_port, **offer_extra):
        callee, ph, _, ends, to_medius = call(P, cid, phone_port, **offer_extra)
        check(len(callee.seqs) == COUNT and len(set(callee.seqs)) == COUNT,
              f"{cid}: the callee received {len(callee.seqs)} of the phone's {COUNT} packets")
        check(ph["got"] == [COUNT] and ph["sources"] == [f"{US}:{to_medius}"],
              f"{cid}: the phone received {ph['got'][0]} of the callee's {callee.sent - 5} packets sent after its "
              f"first (and none of the 5 before it), from {ph['sources']}")
        check(nat_endpoint(ends[-1]), f"{cid}: the phone's tag latched on the NAT's public address: {ends[-1]} "
              f"(SDP {PHONE}, NAT ports {NAT_PORTS[0]}-{NAT_PORTS[-1]})")
        leg = stream(P, cid, "phone")
        drops = leg["stats"]["drops"]
        check("spoofed_source" not in drops, f"{cid}: no spoofed_source on the phone's leg: {drops}")
        check(drops.get("tx_error") == 5 and leg["packets sent"] == COUNT,
              f"{cid}: the 5 unroutable packets count as tx_error on the phone's leg, not as sent "
              f"({drops}, {leg['packets sent']} sent)")
        tot = ng(P, command="statistics")["statistics"]["totalstatistics"]  # a fresh mediusd: this call only
        check(tot["errors"] == 5, f"{cid}: the callee's 5 packets to the private SDP address could not leave pub "
              f"(no route): {tot['errors']} errors, {({k: v for k, v in tot['drops'].items() if v})}")

    iface = ["--set", f"interface.pub.address={US}"]
    with Daemon(*iface) as d:
        P = d.port
        # 1. received-from names the NAT
        flows(P, "nat-received-from", 24000, received_from=["IP4", NAT_PUB])

        # 2. no received-from, nat_learning = no: refused
        callee, ph, _, ends, _ = call(P, "nat-refused", 24002)
        drops = stream(P, "nat-refused", "phone")["stats"]["drops"]
        check(len(callee.seqs) == 0 and ph["got"] == [0],
              f"nat-refused: the callee received {len(callee.seqs)}, the phone {ph['got'][0]}")
        check(drops.get("spoofed_source") == COUNT and ends[-1] is None,
              f"nat-refused: the phone's leg counts {COUNT} spoofed_source and latched nothing: {drops}, {ends[-1]}")
        time.sleep(1.5)  # the control lcore logs refusals on its 1 s tick
        lines = [l for l in d.log_text().splitlines() if "refused media from" in l and "nat-refused" in l]
        check(len(lines) == 1 and f"refused media from {NAT_PUB}:" in lines[0] and "spoofed_source" in lines[0],
              f"nat-refused: one log line naming the NAT's address: {lines}")

        # 4. NAT rebinding, and a stranger behind the same NAT
        callee, ph, st, ends, _ = call(P, "nat-rebind", 24004, rebind_at=COUNT // 2, stranger=True,
                                    received_from=["IP4", NAT_PUB])
        check(len(callee.seqs) == COUNT and len(set(callee.seqs)) == COUNT,
              f"nat-rebind: the callee received {len(callee.seqs)} of {COUNT}, across the new source port "
              f"(phone ports {ph['ports']}), and nothing from the stranger")
        check(ph["got"] == [COUNT // 2, COUNT - COUNT // 2],
              f"nat-rebind: the callee's packets reached the phone at its old port, then its new one: {ph['got']}")
        check(nat_endpoint(ends[0]) and nat_endpoint(ends[-1]) and ends[0] != ends[-1],
              f"nat-rebind: the latch moved from {ends[0]} to {ends[-1]}")
        drops = stream(P, "nat-rebind", "phone")["stats"]["drops"]
        check(st["got"] == [0] and drops.get("relatch_refused") == 20 and "spoofed_source" not in drops,
              f"nat-rebind: the stranger (random SSRC) received {st['got'][0]}, its 20 packets refused: {drops}")

    # 3. no received-from, nat_learning = yes
    with Daemon(*iface, "--set", "interface.pub.nat_learning=yes") as d:
        flows(d.port, "nat-learning", 24006)
    finish()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--inner"]:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # Daemon.__exit__ stops mediusd
        inner()
    else:
        outer()
