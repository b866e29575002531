"""Network faults between the peers and mediusd, injected by the kernel in
network namespaces this test makes (issue 15, hardening).

Two wirings, one mediusd each, run one after the other:

    kernel UDP:  mediusd's [interface] type udp bound to US_U on veth nU (root
                 namespace) --- nUp in namespace mx-nu-PID: every peer (PEER_U)
    ethdev:      mediusd's [interface] type ethdev, net_af_packet on veth nE
                 (no address: medius owns US_E) --- nEp in namespace
                 mx-ne-PID: every peer (PEER_E)

The fault sits on the peers' side of the veth, on what leaves the
namespace: every packet a peer sends to medius passes it, what medius sends
to the peers does not. So each of medius's legs sees the fault on what it
receives (its RTP loss, jitter and MOS), and a peer that receives what
medius relays sees the fault exactly once.

Each scenario runs at once, with fresh calls:
  * a relayed call, A <-> B, PCMU both ways;
  * a transcoded call, A (PCMU) <-> B (Opus, GStreamer's opusenc), codec
    transcode opus;
  * a conference of three PCMU participants (p1, p2, p3), each sending its
    own tone;
SECONDS (6) of 20 ms packets from every party. Scenarios:
  clean     nothing: the reference (and the MOS the others are ordered under)
  loss      5% of the packets dropped at random
  dup       5% duplicated
  outage    every packet dropped for 2 s (from 2 s to 4 s into the run), then
            the path restored
  jitter    one-way delay normal, mean 50 ms, sd 25 ms (below 0: 0), which
            reorders too (netem delay 50ms 25ms distribution normal)
  reorder   a quarter of the packets go at once, the rest 30 ms late
            (netem delay 30ms reorder 25%)
The fault comes from `tc qdisc ... netem` when the kernel has sch_netem. A
kernel without it (CONFIG_NET_SCH_NETEM off, as on the Firecracker VMs the
project's CI runs on) gets loss, duplication and the outage from nftables
in the namespace instead (an output chain: `numgen random mod 1000 < 50
drop`, `... dup to US`, `drop`), a kernel mechanism on the same path, and
the delays from nfq_delay (tests/tools/nfq_delay.c, on libnetfilter_queue):
an output rule in the namespace (nft `queue num 15`, or where the kernel
has no nft_queue, as here, iptables `-j NFQUEUE --queue-num 15`) hands it
the peers' UDP; it holds each packet for a delay drawn from the scenario's
distribution and gives the ACCEPT verdict when that is up, so the packets
are delayed, and reordered, in the kernel's path as netem would, not by
the senders. The test prints which mechanism made each fault; the delay
scenarios are skipped (reason printed) only with neither netem nor a
working NFQUEUE. The fault's own account is read back as an oracle: the
nft rule's counter, netem's `dropped` in `tc -s qdisc`, nfq_delay's count
of the packets it held and reordered.

Per scenario and wiring the test asserts:
  * the calls carry on: every party still gets media in the last 1.5 s (for
    the relay, the packets A sent then reached B); what the transcoded call
    gives A is B's tone, decoded (mu-law -> Goertzel); each conference
    participant hears both other tones; after the outage too: no call torn
    down (query of every call answers, statistics counts 5 calls), and ng
    answers a ping during the outage;
  * medius's receive statistics against what the fault did: per relayed
    leg, `lost` (RFC 3550) is exactly what the far peer missed, and `lost
    for good` exactly its missing numbers 64 or more below the last it got;
    per leg and summed over every leg, `lost` (loss, outage) or the packets
    beyond `expected` (dup) equal the fault's own counter; "no loss" under
    duplicates and reordering is checked on `lost for good` (RFC 3550's
    `lost` is lowered by duplicates and counts a late packet until it
    comes);
  * MOS against the E-model (ITU-T G.107 simplified, G.113 Ie/Bpl, as in
    e_model below, written here from the standard, not from medius's code):
    each leg's MOS equals the model's value for the loss the test observed
    independently (relay: the far peer's count) or the loss medius counted
    (the sum of which was checked against the fault's counter) and the
    delay term medius states (2 x its jitter + 20 ms; RTT unknown without
    RTCP from the peers), within 0.011 (medius prints two decimals);
    5% loss: the loss over every leg lies in the binomial band (4 sigma)
    around 5%, and the mean MOS of the G.711 legs lies within the model's
    values at that band's edges (about 3.7-4.1 around 3.90); every leg's MOS
    under loss is below its clean MOS; duplicates and reordering cost no
    MOS (lost stays 0); jitter and reorder: each leg's RFC 3550 jitter lies
    within 5 sd (+/- 3 ms of scheduling) of the mean of a Monte-Carlo run
    of the estimator over the same delay model, the legs' mean within
    4 sd/sqrt(7) + 3 ms of it, and the MOS follows the model (per leg at
    the band's edges, the G.711 legs' mean at the mean band's edges); the
    relay's far peer sees the packets reordered; nfq_delay held every
    packet the peers sent and medius received them all;
  * nothing leaks: after each scenario's calls are deleted, statistics
    shows 0 calls; the interface has only PORTS ports, just what one
    scenario's calls take, so a leaked port fails the next scenario's
    offers; at the end a new call still gets ports; mediusd's open fds
    (/proc/PID/fd) are what they were after the first scenario, and its
    RSS (/proc/PID/status VmRSS) is within RSS_MARGIN_KB of it.

Needs root (namespaces, veths, tc/nft, NFQUEUE). Exits 77 (skip) without root
or the tools. NETEM_SECONDS changes the length of a scenario; NFQ_DELAY is
nfq_delay's path (meson sets it). About 100 s (12 scenarios of ~7.5 s)."""
import array
import audioop
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import jitter_audio as ja
from media_check import goertzel_power
from medius_test import Daemon, check, finish, ng, ping, sanitized

SECONDS = float(os.environ.get("NETEM_SECONDS", "6"))
PID = os.getpid()
N = 100 + PID % 150
TAG = PID % 100000
WIRES = {
    "udp": dict(ns=f"mx-nu-{PID}", dev=f"nU{TAG}", peer_dev=f"nUp{TAG}", us=f"10.94.{N}.1", peer=f"10.94.{N}.2"),
    "eth": dict(ns=f"mx-ne-{PID}", dev=f"nE{TAG}", peer_dev=f"nEp{TAG}", us=f"10.95.{N}.1", peer=f"10.95.{N}.2"),
}
PORT_MIN = 42000
PEER_PORTS = range(24000, 24014, 2)  # the peers' ports (make_calls)
PORTS = 16            # media ports of the interface: the 7 legs of one scenario (14) and one spare pair
RSS_MARGIN_KB = 4096  # see check_leaks
F_A, F_B = 600, 1000  # the callers' tones (Hz): A's PCMU (relay and transcode), B's Opus
F_CONF = (500, 800, 1300)
LOSS_P = 0.05

_skipped = []
_delayers = []  # nfq_delay processes, killed at teardown whatever happened


# ---- the E-model (ITU-T G.107, simplified; Ie and Bpl of ITU-T G.113 Appendix I) ----

IE_BPL = {"PCMU": (0.0, 25.1), "PCMA": (0.0, 25.1), "opus": (11.0, 20.0)}


def e_model(codec, loss_pct, delay_ms):
    """MOS-CQE of the simplified E-model: R = R0 - Is - Id - Ie,eff + A with the
    defaults R0 - Is = 93.2, A = 0; Id = 0.024 d + 0.11 (d - 177.3) for d > 177.3
    (the usual fit of G.107's Id for a one-way delay d); Ie,eff = Ie + (95 - Ie)
    Ppl / (Ppl + Bpl) (random loss); MOS = 1 + 0.035 R + 7e-6 R (R - 60)(100 - R)."""
    ie, bpl = IE_BPL.get(codec, IE_BPL["PCMU"])
    idd = 0.024 * delay_ms + (0.11 * (delay_ms - 177.3) if delay_ms > 177.3 else 0.0)
    r = 93.2 - idd - (ie + (95 - ie) * loss_pct / (loss_pct + bpl))
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return max(1.0, min(4.5, 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)))


DELAY_MODELS = {  # the delay scenarios' one-way delay (ms) of one packet, drawn from rnd
    "jitter": lambda rnd: rnd.gauss(50.0, 25.0),
    "reorder": lambda rnd: 0.0 if rnd.random() < 0.25 else 30.0,
}
_bands = {}


def rfc3550_jitter_band(kind, n, runs=2000, seed=1):
    """The RFC 3550 A.8 estimator's end value (ms) over n packets 20 ms apart
    whose one-way delays come from DELAY_MODELS[kind] (below 0 taken as 0)
    and which arrive in the order of their arrival times (netem's tfifo, the
    delayer's verdicts): (mean, sd) over `runs` seeded runs. Only the last
    160 packets are simulated: the estimator forgets by 15/16 a packet, so
    what came before weighs under 3e-5 of its end value."""
    key = (kind, n)
    if key in _bands:
        return _bands[key]
    delay_of, n = DELAY_MODELS[kind], min(n, 160)
    rnd = random.Random(seed)
    ends = []
    for _ in range(runs):
        arr = sorted((20.0 * i + max(0.0, delay_of(rnd)), i) for i in range(n))
        j, prev = 0.0, None
        for t, i in arr:
            transit = t - 20.0 * i
            if prev is not None:
                j += (abs(transit - prev) - j) / 16
            prev = transit
        ends.append(j)
    mean = sum(ends) / runs
    sd = math.sqrt(sum((x - mean) ** 2 for x in ends) / (runs - 1))
    _bands[key] = (mean, sd)
    return mean, sd


# ---- plumbing ----

def sh(*args, check_rc=True, timeout=30):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r


def ns(name, *args, **kw):
    return sh("ip", "netns", "exec", name, *args, **kw)


def setup():
    for kind, w in WIRES.items():
        sh("ip", "netns", "add", w["ns"])
        ns(w["ns"], "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        ns(w["ns"], "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        ns(w["ns"], "ip", "link", "set", "lo", "up")
        sh("ip", "link", "add", w["dev"], "type", "veth", "peer", "name", w["peer_dev"])
        sh("sysctl", "-qw", f"net.ipv6.conf.{w['dev']}.disable_ipv6=1")
        sh("ip", "link", "set", w["peer_dev"], "netns", w["ns"])
        if kind == "udp":
            sh("ip", "addr", "add", f"{w['us']}/24", "dev", w["dev"])
        sh("ip", "link", "set", w["dev"], "up")
        ns(w["ns"], "ip", "addr", "add", f"{w['peer']}/24", "dev", w["peer_dev"])
        ns(w["ns"], "ip", "link", "set", w["peer_dev"], "up")
        # af_packet hands medius the frames as the veth has them: checksums
        # filled in, as a real NIC's sender would have
        ns(w["ns"], "ethtool", "-K", w["peer_dev"], "tx", "off")


def teardown():
    for p in _delayers:
        if p.poll() is None:
            p.kill()
            p.wait()
    for w in WIRES.values():
        sh("ip", "link", "del", w["dev"], check_rc=False)
        sh("ip", "netns", "del", w["ns"], check_rc=False)


def have_netem(w):
    r = ns(w["ns"], "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms", check_rc=False)
    ns(w["ns"], "tc", "qdisc", "del", "dev", "lo", "root", check_rc=False)
    return r.returncode == 0, r.stderr.strip()


NFQ_DELAY = os.environ.get("NFQ_DELAY", "build/tests/nfq_delay")
QUEUE = 15  # the NFQUEUE number (queues are per namespace: ours alone)
DELAYER_ARGS = {"jitter": ["--normal", "50", "25"], "reorder": ["--reorder", "25", "30"]}


def have_nfqueue(w):
    """How an output rule in the namespace hands packets to an NFQUEUE:
    ("nft", "") with nft's queue statement (nft_queue), ("iptables", "")
    with iptables' NFQUEUE target (xt_NFQUEUE, through nft_compat or the
    legacy tables), or (None, why not). Also that nfq_delay binds a queue."""
    if not NFQ_DELAY or not os.access(NFQ_DELAY, os.X_OK):
        return None, "no nfq_delay (meson builds it only with libnetfilter_queue: libnetfilter-queue-dev)"
    p = subprocess.Popen(["ip", "netns", "exec", w["ns"], NFQ_DELAY, "--queue", str(QUEUE), *DELAYER_ARGS["jitter"]],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready = p.stdout.readline().strip() == "ready"
    p.terminate()
    _, err = p.communicate(timeout=5)
    if not ready:
        return None, f"nfq_delay cannot read an NFQUEUE here: {err.strip()}"
    script = (f"table ip nfqprobe {{\n chain out {{\n  type filter hook output priority 0; policy accept;\n"
              f"  oif \"lo\" udp dport 9 queue num {QUEUE}\n }}\n}}\n")
    r = subprocess.run(["ip", "netns", "exec", w["ns"], "nft", "-f", "-"], input=script, text=True, capture_output=True)
    ns(w["ns"], "nft", "delete", "table", "ip", "nfqprobe", check_rc=False)
    if r.returncode == 0:
        return "nft", ""
    nft_err = r.stderr.strip().splitlines()[0] if r.stderr.strip() else "failed"
    if not shutil.which("iptables"):
        return None, f"nft queue: {nft_err}; no iptables for its NFQUEUE target"
    rule = ["OUTPUT", "-o", "lo", "-p", "udp", "--dport", "9", "-j", "NFQUEUE", "--queue-num", str(QUEUE)]
    r = ns(w["ns"], "iptables", "-A", *rule, check_rc=False)
    ns(w["ns"], "iptables", "-D", *rule, check_rc=False)
    if r.returncode == 0:
        return "iptables", ""
    return None, f"nft queue: {nft_err}; iptables NFQUEUE: {r.stderr.strip()}"


class Fault:
    """The fault on the peers' side of the veth: netem, or nftables (loss,
    duplicates, outage) and nfq_delay behind an NFQUEUE rule (delays)."""

    def __init__(self, w, netem, nfq=None):
        self.w, self.netem, self.nfq = w, netem, nfq
        self.delayer, self.delayed = None, None

    def mechanism(self, kind):
        if kind == "clean":
            return "none"
        if self.netem:
            return "tc netem"
        if kind in DELAYER_ARGS:
            return f"nfq_delay on NFQUEUE {QUEUE} ({'nft queue' if self.nfq == 'nft' else 'iptables -j NFQUEUE'})"
        return "nftables"

    def apply(self, kind):
        w = self.w
        self.delayed = None
        if self.netem:
            spec = {"loss": ["loss", "5%"], "dup": ["duplicate", "5%"], "outage": ["loss", "100%"],
                    "jitter": ["delay", "50ms", "25ms", "distribution", "normal"],
                    "reorder": ["delay", "30ms", "reorder", "25%"]}[kind]
            ns(w["ns"], "tc", "qdisc", "replace", "dev", w["peer_dev"], "root", "netem", *spec)
            return
        if kind in DELAYER_ARGS:
            self.apply_delay(kind)
            return
        # a copy made by dup passes the chain again (nf_dup then makes no copy
        # of it, but the counter would count it): the mark keeps copies out
        rule = {"loss": "numgen random mod 1000 < 50 counter drop",
                "dup": f"meta mark 0 numgen random mod 1000 < 50 meta mark set 1 counter dup to {w['us']}",
                "outage": "counter drop"}[kind]
        self.nft_out(rule)

    def nft_out(self, rule):
        """Table ip fault in the peers' namespace: `rule` on what each peer
        port sends towards medius, a rule (and counter) per port: what each
        of medius's legs should see."""
        w = self.w
        rules = "".join(f"  oif \"{w['peer_dev']}\" udp sport {p} {rule}\n" for p in PEER_PORTS)
        script = (f"table ip fault {{\n chain out {{\n  type filter hook output priority 0; policy accept;\n"
                  f"{rules} }}\n}}\n")
        r = subprocess.run(["ip", "netns", "exec", w["ns"], "nft", "-f", "-"], input=script, text=True,
                           capture_output=True)
        if r.returncode:
            raise RuntimeError(f"nft: {r.stderr.strip()}")

    def apply_delay(self, kind):
        """nfq_delay holds what the peers send medius for the scenario's
        delay; a rule in the namespace's output path hands it every packet."""
        w = self.w
        seed = random.randrange(1 << 30)
        self.delayer = subprocess.Popen(["ip", "netns", "exec", w["ns"], NFQ_DELAY, "--queue", str(QUEUE),
                                         *DELAYER_ARGS[kind], "--seed", str(seed)],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _delayers.append(self.delayer)
        if self.delayer.stdout.readline().strip() != "ready":
            self.delayer.kill()
            raise RuntimeError(f"nfq_delay did not start: {self.delayer.stderr.read()}")
        if self.nfq == "nft":
            self.nft_out(f"counter queue num {QUEUE}")
        else:
            ns(w["ns"], "iptables", "-A", "OUTPUT", "-o", w["peer_dev"], "-p", "udp", "--sport",
               f"{PEER_PORTS[0]}:{PEER_PORTS[-1]}", "-j", "NFQUEUE", "--queue-num", str(QUEUE))
        print(f"     delay: nfq_delay {' '.join(DELAYER_ARGS[kind])} --seed {seed}", flush=True)

    def lift(self):
        """End the fault at once, keeping its counters readable."""
        w = self.w
        if self.netem:
            ns(w["ns"], "tc", "qdisc", "change", "dev", w["peer_dev"], "root", "netem", "loss", "0%")
        elif self.delayer and self.nfq == "iptables":
            ns(w["ns"], "iptables", "-I", "OUTPUT", "1", "-j", "ACCEPT")
        else:
            ns(w["ns"], "nft", "insert", "rule", "ip", "fault", "out", "accept")
        if self.delayer:
            # nothing is queued any more; what it still holds goes now
            self.delayer.terminate()
            out, err = self.delayer.communicate(timeout=10)
            self.delayer = None
            lines = out.strip().splitlines()
            self.delayed = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {"error": err.strip()}

    def counter(self):
        """{peer port: packets the fault dropped or duplicated} (nftables), or
        {None: the total} (netem); {} for the delayer (its account is in
        self.delayed)."""
        w = self.w
        if self.delayed is not None:
            return {}
        if self.netem:
            out = ns(w["ns"], "tc", "-s", "qdisc", "show", "dev", w["peer_dev"]).stdout
            m = re.search(r"dropped (\d+)", out)
            return {None: int(m.group(1))} if m else {}
        out = ns(w["ns"], "nft", "list", "table", "ip", "fault", check_rc=False).stdout
        return {int(p): int(c) for p, c in re.findall(r"udp sport (\d+) .*?counter packets (\d+)", out)}

    def clear(self):
        w = self.w
        if self.delayer:
            self.delayer.kill()
            self.delayer.wait()
            self.delayer = None
        if self.netem:
            ns(w["ns"], "tc", "qdisc", "del", "dev", w["peer_dev"], "root", check_rc=False)
        else:
            ns(w["ns"], "nft", "delete", "table", "ip", "fault", check_rc=False)
            if self.nfq == "iptables":
                ns(w["ns"], "iptables", "-F", "OUTPUT", check_rc=False)


# ---- the peers: one process in the namespace sends and receives every stream ----

PEER = r'''
import json, select, socket, struct, sys, time
cfg = json.load(open(sys.argv[1]))
streams, n = cfg["streams"], cfg["packets"]
opus = [bytes.fromhex(h) for h in cfg["opus"]]
socks = []
for s in streams:
    k = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    k.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    k.bind((cfg["me"], s["port"]))
    k.setblocking(False)
    socks.append(k)
pcmu = [bytes.fromhex(s.get("payload", "")) for s in streams]
got = [[] for _ in streams]
print("ready", flush=True)
sys.stdin.readline()
t0 = time.monotonic()
print(json.dumps({"t0": t0}), flush=True)
sent, late = 0, 0.0
while True:
    now = time.monotonic()
    if sent < n and now >= t0 + sent * 0.02:
        late = max(late, now - (t0 + sent * 0.02))
        for i, (s, k) in enumerate(zip(streams, socks)):
            if s["codec"] == "opus":
                pl, ts = opus[sent % len(opus)], sent * 960
            else:
                pl, ts = pcmu[i], sent * 160
            try:
                k.sendto(struct.pack("!BBHII", 0x80, s["pt"], (s["seq0"] + sent) & 0xffff, ts, s["ssrc"]) + pl,
                         (cfg["us"], s["dst"]))
            except PermissionError:
                pass  # dropped by the nftables output chain
        sent += 1
        continue
    if sent >= n and now > t0 + n * 0.02 + 1.0:
        break
    r, _, _ = select.select(socks, [], [], max(0.0, min(0.005, t0 + sent * 0.02 - now)) if sent < n else 0.05)
    for k in r:
        i = socks.index(k)
        while True:
            try:
                d = k.recv(4096)
            except BlockingIOError:
                break
            seq, = struct.unpack("!H", d[2:4])
            row = [seq, round(time.monotonic() - t0, 4), d[1] & 0x7f]
            if streams[i].get("keep"):
                row.append(d[12:].hex())
            got[i].append(row)
print(json.dumps({"sent": sent, "late": late, "got": got}), flush=True)
'''


def tone_pcmu(freq):
    """One 20 ms PCMU frame of a tone with a whole number of periods in it (so
    the same payload repeats without a click)."""
    pcm = array.array("h", (int(8000 * math.sin(2 * math.pi * freq * i / 8000)) for i in range(160)))
    if sys.byteorder == "big":
        pcm.byteswap()
    return audioop.lin2ulaw(pcm.tobytes(), 2)


def opus_tone(tmp):
    """50 Opus packets (1 s) of F_B at 48 kHz, encoded by GStreamer."""
    pcm = array.array("h", (int(8000 * math.sin(2 * math.pi * F_B * i / 48000)) for i in range(48000)))
    if sys.byteorder == "big":
        pcm.byteswap()
    return [ja.rtp_header(p)[5] for p in ja.encode_opus_packets(pcm.tobytes(), 96, 1, tmp, bitrate=32000)]


def sdp(ip, port, pts, extra=""):
    return (f"v=0\r\no=- {port} 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP {' '.join(map(str, pts))}\r\na=ptime:20\r\n{extra}")


def port_of(text):
    m = re.search(r"^m=audio (\d+) ", text or "", re.M)
    return int(m.group(1)) if m else None


def tone_share(payloads, freq):
    """The share of the power of the decoded PCMU payloads at freq."""
    pcm = ja.pcm(audioop.ulaw2lin(b"".join(payloads), 2))
    total = sum(v * v for v in pcm) / max(1, len(pcm))
    return goertzel_power(pcm, 8000, freq) / total if total > 0 else 0.0


def leg(q, tag):
    try:
        return q["tags"][tag]["medias"][0]["streams"][0]
    except (KeyError, IndexError, TypeError):
        return {}


# ---- one scenario ----

def make_calls(d, w, label):
    """The three call kinds; returns (streams for the peer, what to query)."""
    us, peer = w["us"], w["peer"]
    base = 24000
    streams, calls = [], {}
    cid = f"relay-{label}"
    o = ng(d.port, command="offer", call_id=cid, from_tag="a", sdp=sdp(peer, base, [0]))
    a = ng(d.port, command="answer", call_id=cid, from_tag="a", to_tag="b", sdp=sdp(peer, base + 2, [0]))
    ok = o.get("result") == "ok" and a.get("result") == "ok" and us in o.get("sdp", "")
    check(ok, f"{label}: relayed call set up ({o.get('error-reason', '')}{a.get('error-reason', '')})")
    if ok:
        streams += [dict(name="relay A", port=base, dst=port_of(a["sdp"]), codec="PCMU", pt=0, seq0=1000,
                         ssrc=0xa1, payload=tone_pcmu(F_A).hex()),
                    dict(name="relay B", port=base + 2, dst=port_of(o["sdp"]), codec="PCMU", pt=0, seq0=5000,
                         ssrc=0xb1, payload=tone_pcmu(F_B).hex())]
        calls[cid] = [("a", "relay A", "PCMU"), ("b", "relay B", "PCMU")]
    cid = f"xcode-{label}"
    o = ng(d.port, command="offer", call_id=cid, from_tag="a", sdp=sdp(peer, base + 4, [0]),
           codec={"transcode": ["opus"]})
    m = re.search(r"a=rtpmap:(\d+) opus/48000/2", o.get("sdp", ""))
    opt = int(m.group(1)) if m else 96
    a = ng(d.port, command="answer", call_id=cid, from_tag="a", to_tag="b",
           sdp=sdp(peer, base + 6, [opt], f"a=rtpmap:{opt} opus/48000/2\r\n"))
    ok = o.get("result") == "ok" and a.get("result") == "ok" and m is not None
    check(ok, f"{label}: transcoded call (PCMU <-> Opus) set up ({o.get('error-reason', '')}"
              f"{a.get('error-reason', '')})")
    if ok:
        streams += [dict(name="xcode A", port=base + 4, dst=port_of(a["sdp"]), codec="PCMU", pt=0, seq0=2000,
                         ssrc=0xa2, payload=tone_pcmu(F_A).hex(), keep=True),
                    dict(name="xcode B", port=base + 6, dst=port_of(o["sdp"]), codec="opus", pt=opt, seq0=6000,
                         ssrc=0xb2)]
        calls[cid] = [("a", "xcode A", "PCMU"), ("b", "xcode B", "opus")]
    room = f"room-{label}"
    for i, f in enumerate(F_CONF):
        cid = f"conf{i + 1}-{label}"
        o = ng(d.port, command="offer", call_id=cid, from_tag=f"p{i + 1}", conference=room,
               flags=["create room"], sdp=sdp(peer, base + 8 + 2 * i, [0]))
        ok = o.get("result") == "ok" and port_of(o.get("sdp")) is not None
        check(ok, f"{label}: participant p{i + 1} joins {room} ({o.get('error-reason', '')})")
        if ok:
            streams.append(dict(name=f"conf p{i + 1}", port=base + 8 + 2 * i, dst=port_of(o["sdp"]), codec="PCMU",
                                pt=0, seq0=3000 + 100 * i, ssrc=0xc1 + i, payload=tone_pcmu(f).hex(), keep=True))
            calls[cid] = [(f"p{i + 1}", f"conf p{i + 1}", "PCMU")]
    return streams, calls, room


def run_peer(w, streams, opus, tmp, outage_fault=None):
    cfg = os.path.join(tmp, "peer.json")
    n = int(SECONDS * 50)
    with open(cfg, "w") as f:
        json.dump({"me": w["peer"], "us": w["us"], "packets": n, "streams": streams, "opus": [p.hex() for p in opus]}, f)
    p = subprocess.Popen(["ip", "netns", "exec", w["ns"], sys.executable, "-c", PEER, cfg], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.stdout.readline().strip() != "ready":
        p.kill()
        raise RuntimeError(f"peer did not start: {p.stderr.read()}")
    p.stdin.write("go\n")
    p.stdin.flush()
    t0 = json.loads(p.stdout.readline())["t0"]
    window = None
    pinged = None
    if outage_fault:
        time.sleep(max(0.0, t0 + 2.0 - time.monotonic()))
        outage_fault.apply("outage")
        on = time.monotonic() - t0
        pinged = ping(outage_fault.port, timeout=1.0)
        time.sleep(max(0.0, t0 + 4.0 - time.monotonic()))
        outage_fault.lift()
        off = time.monotonic() - t0
        dropped = outage_fault.counter()
        outage_fault.clear()
        window = (on, off, dropped)
    out, err = p.communicate(timeout=SECONDS + 30)
    if p.returncode:
        raise RuntimeError(f"peer failed: {err[-500:]}")
    return json.loads(out.strip().splitlines()[-1]), window, pinged


def diagnose(d, w, label):
    """What a stream that stopped needs to be explained: medius's interface
    counters (its port's and its drops by reason) and the peers' side of
    the veth (their neighbour entry for medius, the link's counters)."""
    tot = ng(d.port, command="statistics").get("statistics", {}).get("totalstatistics", {})
    print(f"     {label}: medius interfaces: {json.dumps(tot.get('interfaces'))}; poll long turns "
          f"{tot.get('poll long turns')}")
    for args in (("ip", "neigh", "show"), ("ip", "-s", "link", "show", w["peer_dev"])):
        r = ns(w["ns"], *args, check_rc=False)
        print(f"     {label}: peers' {' '.join(args)}: " + (r.stdout + r.stderr).strip().replace("\n", " | "))


def scenario(d, w, wire, kind, fault, opus, tmp, clean_mos):
    label = f"{wire} {kind}"
    print(f"     {label}: the fault comes from {fault.mechanism(kind)}", flush=True)
    streams, calls, room = make_calls(d, w, f"{wire}-{kind}")
    if kind not in ("clean", "outage"):
        fault.apply(kind)
    fault.port = d.port
    try:
        res, window, pinged = run_peer(w, streams, opus, tmp, fault if kind == "outage" else None)
        if window:
            counter = window[2]
        else:
            if kind != "clean":
                fault.lift()
            counter = fault.counter() if kind != "clean" else {}
    finally:
        fault.clear()
    n = res["sent"]
    got = {s["name"]: res["got"][i] for i, s in enumerate(streams)}
    sent_seq = {s["name"]: {(s["seq0"] + k) & 0xffff for k in range(n)} for s in streams}
    if res["late"] > 0.015:
        print(f"     note: the peer fell {res['late'] * 1000:.0f} ms behind its schedule (a loaded host)")

    # -- the calls carry on: media in the last 1.5 s, the right audio --
    tail = SECONDS - 1.5
    told = False
    for s in streams:
        rows = got[s["name"]]
        recent = [r for r in rows if tail <= r[1] < SECONDS]
        if len(recent) < 0.8 * 75:
            if not told:
                diagnose(d, w, label)
                told = True
            ts = [r[1] for r in rows if r[1] > 1.5]
            print(f"     {s['name']}: arrivals after 1.5 s: " + " ".join(f"{t:.2f}" for t in ts[:12]) + " ... " +
                  " ".join(f"{b:.2f}" for a, b in zip(ts, ts[1:]) if b - a > 0.1))
        check(len(recent) >= 0.8 * 75, f"{label}: {s['name']} still receives media in the last 1.5 s: "
              f"{len(recent)} packets (of about 75)")
    if "relay A" in got:
        a_seq = {(1000 + k) & 0xffff for k in range(int(tail * 50), n)}
        b_got = {r[0] for r in got["relay B"]}
        share = len(a_seq & b_got) / len(a_seq)
        check(share >= (0.85 if kind == "loss" else 0.97),
              f"{label}: relay: B got {share:.0%} of what A sent in the last 1.5 s")
    if "xcode A" in got:
        pl = [bytes.fromhex(r[3]) for r in sorted(got["xcode A"], key=lambda r: r[1]) if SECONDS - 1.0 <= r[1] < SECONDS]
        sh_b = tone_share(pl, F_B)
        check(sh_b > 0.5, f"{label}: transcoded: A hears B's Opus tone ({F_B} Hz) at the end: {sh_b:.2f} of the power")
    for i in range(3):
        name = f"conf p{i + 1}"
        if name not in got:
            continue
        pl = [bytes.fromhex(r[3]) for r in sorted(got[name], key=lambda r: r[1]) if SECONDS - 1.0 <= r[1] < SECONDS]
        others = [f for j, f in enumerate(F_CONF) if j != i]
        shares = [tone_share(pl, f) for f in others]
        own = tone_share(pl, F_CONF[i])
        check(all(x > 0.15 for x in shares) and own < 0.05,
              f"{label}: conference: p{i + 1} hears the other two ({', '.join(f'{x:.2f}' for x in shares)}), "
              f"not itself ({own:.3f}) at the end")
    if kind == "outage":
        check(pinged, f"{label}: ng answers a ping during the outage")
        print(f"     {label}: outage from {window[0]:.2f} s to {window[1]:.2f} s, {sum(window[2].values())} packets dropped")

    # -- the calls are all there; medius's statistics against the fault --
    st = ng(d.port, command="statistics")["statistics"]["currentstatistics"]
    check(st.get("sessionstotal") == len(calls), f"{label}: statistics counts {len(calls)} calls: {st}")
    legs = []
    for cid, tags in calls.items():
        q = ng(d.port, command="query", call_id=cid)
        check(q.get("result") == "ok", f"{label}: query {cid} answers ({q.get('error-reason', '')})")
        for tag, name, codec in tags:
            x = leg(q, tag)
            legs.append((name, codec, x))
    # Two losses per leg (docs/protocol.md): `lost`, RFC 3550's expected minus
    # received, what medius's MOS is computed from (so the MOS check uses it),
    # which counts a packet that is only late until it comes and which
    # duplicates lower; and `lost for good`, the numbers still missing once 64
    # later ones came, blind to reordering and duplicates (so "no loss" under
    # duplicates or reordering is checked on it), which has not judged the
    # last 64 numbers yet.
    rows = []
    for name, codec, x in legs:
        exp, lost, lfg = x.get("expected", 0), x.get("lost", 0), x.get("lost for good")
        jit = x.get("jitter ms x1000", 0) / 1000.0
        mos = float(x.get("MOS", "0"))
        loss_pct = 100.0 * lost / exp if exp else 0.0
        want = e_model(codec, loss_pct, 2 * jit + 20)
        rows.append((name, codec, exp, lost, x.get("stats", {}).get("packets", 0), jit, mos, want, lfg))
        check(abs(mos - want) <= 0.011, f"{label}: {name}: MOS {mos:.2f} = E-model {want:.3f} for "
              f"{loss_pct:.2f}% loss ({lost}/{exp}), delay {2 * jit + 20:.1f} ms ({codec})")
        # RFC 3550 expects from the first packet that came: under jitter a few
        # may overtake the first one sent (the 5th by 100 ms more: 0.2%)
        check(exp >= n - 2 or kind == "outage" and exp >= 0.6 * n or kind == "jitter" and exp >= n - 8,
              f"{label}: {name}: medius expected {exp} packets of the {n} sent")
        check(lfg is not None and lfg <= lost + (0 if kind != "dup" else n) and lost - lfg < 64,
              f"{label}: {name}: lost for good {lfg} within the last 64 numbers of RFC 3550's lost {lost}")
    # relay: medius's count of what it lost is what the far peer missed
    for name, other in (("relay A", "relay B"), ("relay B", "relay A")):
        if other not in got:
            continue
        seen = {r[0] for r in got[other]} & sent_seq[name]
        # RFC 3550 counts from the first packet received to the highest
        # (these sequence numbers do not wrap)
        missed = (max(seen) - min(seen) + 1 - len(seen)) if seen else n
        mine = next(r for r in rows if r[0] == name)
        check(mine[3] == missed or kind == "dup" and mine[3] == 0,
              f"{label}: {name}: medius's lost {mine[3]} = what the far peer missed between the first and "
              f"last it got ({missed})")
        if seen and kind in ("loss", "outage"):
            # in order here: the first medius got is the lowest; the numbers
            # 64 or more below the highest have been judged
            gone = sum(1 for q in range(min(seen), max(seen) - 63) if q not in seen)
            check(mine[8] == gone, f"{label}: {name}: medius's lost for good {mine[8]} = what the far peer "
                  f"missed 64 or more numbers before the last ({gone})")
        if kind == "dup":
            check(len(got[other]) == mine[4], f"{label}: {name}: every copy relayed: the far peer got "
                  f"{len(got[other])} packets, medius counted {mine[4]}")
        if kind in ("jitter", "reorder"):
            seqs = [r[0] for r in got[other]]
            inv = sum(1 for a, b in zip(seqs, seqs[1:]) if ((b - a) & 0xffff) > 0x8000)
            check(inv > 0, f"{label}: {name}: the far peer saw the packets reordered ({inv} steps back)")
    port_of_stream = {s["name"]: s["port"] for s in streams}
    if counter and None not in counter:
        for name, codec, exp, lost, pk, jit, mos, want, lfg in rows:
            c = counter.get(port_of_stream[name])
            if kind in ("loss", "outage"):
                # RFC 3550 counts from the first packet received to the highest:
                # drops before or after those (sent - expected of them) are not lost to it
                check(c is not None and lost == c - (n - exp), f"{label}: {name}: medius's lost {lost} = what "
                      f"the fault dropped of this stream ({c}) but the {n - exp} before its first or after its last")
            elif kind == "dup":
                check(c is not None and pk - exp == c, f"{label}: {name}: medius's packets beyond expected "
                      f"{pk - exp} = the fault's copies of this stream ({c})")
    counter = sum(counter.values()) if counter else (0 if kind == "clean" else None)
    tot_lost = sum(r[3] for r in rows)
    tot_lfg = sum(r[8] or 0 for r in rows)
    tot_exp = sum(r[2] for r in rows)
    extra = sum(max(0, r[4] - r[2]) for r in rows)
    if kind in ("loss", "outage"):
        check(counter is not None and tot_lost == counter - sum(n - r[2] for r in rows),
              f"{label}: the legs' lost packets ({tot_lost}) = what the fault dropped ({counter})")
    elif kind == "dup":
        check(tot_lfg == 0 and counter is not None and abs(extra - counter) <= 2,
              f"{label}: no loss counted (lost for good {tot_lfg}); the packets beyond expected ({extra}) = "
              f"the fault's copies ({counter})")
    else:
        # everything came in the end: RFC 3550's lost is back to 0 too
        check(tot_lfg == 0 and tot_lost == 0, f"{label}: no loss counted (lost for good {tot_lfg}, lost {tot_lost})")
    if kind == "loss":
        p = tot_lost / tot_exp if tot_exp else 0
        sigma = math.sqrt(LOSS_P * (1 - LOSS_P) / max(1, tot_exp))
        lo, hi = LOSS_P - 4 * sigma, LOSS_P + 4 * sigma
        check(lo <= p <= hi, f"{label}: loss over every leg {100 * p:.2f}% within the binomial band "
              f"{100 * lo:.2f}-{100 * hi:.2f}% of {100 * LOSS_P:.0f}%")
        g711 = [r for r in rows if r[1] == "PCMU"]
        mean = sum(r[6] for r in g711) / len(g711)
        jit = sorted(r[5] for r in g711)[len(g711) // 2]
        m_hi, m_mid, m_lo = (e_model("PCMU", 100 * x, 2 * jit + 20) for x in (lo, LOSS_P, hi))
        check(m_lo - 0.01 <= mean <= m_hi + 0.01,
              f"{label}: mean MOS of the G.711 legs {mean:.2f} near the E-model's {m_mid:.2f} for 5% loss "
              f"(band {m_lo:.2f}-{m_hi:.2f})")
    if kind in ("jitter", "reorder"):
        check_delay(label, kind, rows, n, len(streams), fault.delayed)
    if clean_mos is not None and kind in ("loss", "outage"):
        for name, codec, exp, lost, pk, jit, mos, want, lfg in rows:
            c = clean_mos.get(name)
            check(c is not None and mos < c, f"{label}: {name}: MOS {mos:.2f} below the clean run's {c}")
    print(f"     {label}: " + "; ".join(f"{r[0]} {r[3]}/{r[2]} lost, jitter {r[5]:.1f} ms, MOS {r[6]:.2f}"
                                       for r in rows), flush=True)

    for cid in calls:
        r = ng(d.port, command="delete", call_id=cid)
        check(r.get("result") == "ok", f"{label}: delete {cid}")
    ng(d.port, command="destroy room", conference=room)
    st = ng(d.port, command="statistics")["statistics"]["currentstatistics"]
    check(st.get("sessionstotal") == 0, f"{label}: after the deletes statistics shows no call: {st}")
    return {r[0]: r[6] for r in rows}


def check_delay(label, kind, rows, n, n_streams, delayed):
    """The delay scenarios: medius's RFC 3550 jitter and its MOS against the
    delay model (rfc3550_jitter_band), and the delayer's own account."""
    mean, sd = rfc3550_jitter_band(kind, n)
    # the peer's sending, the delayer's verdicts and medius's receive add a
    # little to each transit: SLACK ms on either side. One leg: 5 sd either
    # side of the model's mean (measured over 20,000 runs, its 0.01% and
    # 99.99% quantiles lie inside: jitter 15.6-50.3 ms around 29.1, reorder
    # 2.3-24.6 around 13.0). The legs' mean (independent draws): 4 sd/sqrt(k).
    slack = 3.0
    lo, hi = max(0.0, mean - 5 * sd - slack), mean + 5 * sd + slack
    for name, codec, exp, lost, pk, jit, mos, want, lfg in rows:
        check(lo <= jit <= hi, f"{label}: {name}: jitter {jit:.1f} ms within the RFC 3550 estimator's band "
              f"for this delay model {lo:.1f}-{hi:.1f} ms (mean {mean:.1f}, sd {sd:.1f})")
        m_hi, m_lo = e_model(codec, 0.0, 2 * lo + 20), e_model(codec, 0.0, 2 * hi + 20)
        check(m_lo - 0.006 <= mos <= m_hi + 0.006, f"{label}: {name}: MOS {mos:.2f} within the E-model's "
              f"{m_lo:.3f}-{m_hi:.3f} for no loss and that jitter band's delay ({codec})")
    k = len(rows)
    avg = sum(r[5] for r in rows) / k
    half = 4 * sd / math.sqrt(k) + slack
    check(abs(avg - mean) <= half, f"{label}: the {k} legs' mean jitter {avg:.1f} ms = the model's {mean:.1f} "
          f"+/- {half:.1f} ms")
    g711 = [r for r in rows if r[1] == "PCMU"]
    avg_g = sum(r[5] for r in g711) / len(g711)
    mos_g = sum(r[6] for r in g711) / len(g711)
    m_model = e_model("PCMU", 0.0, 2 * mean + 20)
    m_lo, m_hi = e_model("PCMU", 0.0, 2 * (mean + half) + 20), e_model("PCMU", 0.0, 2 * (mean - half) + 20)
    check(m_lo - 0.006 <= mos_g <= m_hi + 0.006, f"{label}: mean MOS of the G.711 legs {mos_g:.3f} near the "
          f"E-model's {m_model:.3f} for no loss and the model's jitter (band {m_lo:.3f}-{m_hi:.3f}; "
          f"their jitter {avg_g:.1f} ms)")
    if delayed is None:
        return  # netem: tc keeps no account of delays
    got = sum(r[4] for r in rows)
    check(delayed.get("packets") == n_streams * n and got == delayed.get("packets"),
          f"{label}: the delayer held every packet the peers sent ({delayed.get('packets')} of "
          f"{n_streams} x {n}) and medius received them all ({got})")
    check(delayed.get("reordered", 0) > 0 and not delayed.get("overflow"),
          f"{label}: the delayer reordered {delayed.get('reordered')} packets "
          f"(mean delay {delayed.get('mean_delay_ms')} ms, at most {delayed.get('max_held')} held, "
          f"its verdicts up to {delayed.get('late_max_ms')} ms late)")


# ---- leaks ----

def fd_kinds(pid):
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            k = re.sub(r"\[\d+\]|:\d+$", "", os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
        out[k] = out.get(k, 0) + 1
    return out


def proc_usage(pid):
    # a deleted leg's socket is closed by its worker a moment later: wait for the count to settle
    fds, deadline = -1, time.time() + 5
    while time.time() < deadline:
        now = len(os.listdir(f"/proc/{pid}/fd"))
        if now == fds:
            break
        fds = now
        time.sleep(0.5)
    with open(f"/proc/{pid}/status") as f:
        rss = int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))
    return fds, rss


def check_leaks(d, w, wire, before):
    """After every scenario: a new call still gets ports; fds as before; RSS
    within RSS_MARGIN_KB. The margin: the baseline is taken after a whole
    scenario has run (mbuf pools, codec and room state, the cookie cache's
    replies already touched); what a second pass may still touch for the
    first time is of the order of an mbuf cache's worth of pages and malloc
    arena growth (a few hundred KiB measured); a leaked call (legs, a
    transcoder, a room with its Opus state) repeated over the 4-6 scenarios
    passes it only if each is under about 1 MiB, which valgrind's run
    (test_valgrind.py) covers."""
    o = ng(d.port, command="offer", call_id=f"after-{wire}", from_tag="a", sdp=sdp(w["peer"], 26000, [0]))
    a = ng(d.port, command="answer", call_id=f"after-{wire}", from_tag="a", to_tag="b", sdp=sdp(w["peer"], 26002, [0]))
    pa, pb = port_of(o.get("sdp")), port_of(a.get("sdp"))
    check(o.get("result") == "ok" and a.get("result") == "ok" and pa and pb and
          all(PORT_MIN <= p < PORT_MIN + PORTS for p in (pa, pb)),
          f"{wire}: after every scenario a new call gets ports {pa}, {pb} in the range")
    ng(d.port, command="delete", call_id=f"after-{wire}")
    time.sleep(0.5)
    fds, rss = proc_usage(d.proc.pid)
    check(fds == before[0], f"{wire}: mediusd's open fds {fds}, as after the first scenario ({before[0]})")
    if sanitized():  # ASan's quarantine keeps what is freed: LeakSanitizer judges leaks at mediusd's exit
        print(f"     {wire}: mediusd's RSS {rss} KiB (+{rss - before[1]}) not judged: an ASan build; "
              f"LeakSanitizer checks for leaks when it exits")
    else:
        check(rss <= before[1] + RSS_MARGIN_KB, f"{wire}: mediusd's RSS {rss} KiB within {RSS_MARGIN_KB} KiB "
              f"of after the first scenario ({before[1]} KiB; +{rss - before[1]})")


def write_conf(tmp, wire, w):
    path = os.path.join(tmp, f"{wire}.conf")
    with open(path, "w") as f:
        f.write("[eal]\nlcores = 0-1\nhugepages = no\nmemory_mb = 256\n\n[interface ext]\n")
        if wire == "eth":
            f.write(f"type = ethdev\ndevice = net_af_packet0,iface={w['dev']}\nprefix_len = 24\n")
        else:
            f.write("type = udp\n")
        f.write(f"address = {w['us']}\nport_min = {PORT_MIN}\nport_max = {PORT_MIN + PORTS - 1}\n")
    return path


def run_wire(wire, tmp, opus):
    w = WIRES[wire]
    netem, why = have_netem(w)
    nfq, why_nfq = (None, "") if netem else have_nfqueue(w)
    fault = Fault(w, netem, nfq)
    kinds = ["clean", "loss", "dup", "outage"] + (["jitter", "reorder"] if netem or nfq else [])
    if netem:
        print(f"     {wire}: faults from tc netem", flush=True)
    elif nfq:
        print(f"     {wire}: this kernel has no netem qdisc (tc: {why}): loss, dup and outage from nftables, "
              f"jitter and reorder from nfq_delay on an NFQUEUE ({'nft queue' if nfq == 'nft' else 'iptables'})",
              flush=True)
    else:
        msg = (f"{wire}: jitter and reorder scenarios: this kernel has no netem qdisc (tc: {why}) and no "
               f"NFQUEUE delayer ({why_nfq}); loss, dup and outage come from nftables")
        if msg.split(":")[1] not in "".join(_skipped):
            _skipped.append(msg)
        print("SKIP " + msg, flush=True)
    with Daemon("-c", write_conf(tmp, wire, w), "--log-level", "info") as d:
        clean, before = None, None
        for kind in kinds:
            t = time.time()
            mos = scenario(d, w, wire, kind, fault, opus, tmp, clean)
            print(f"     {wire} {kind}: {time.time() - t:.1f} s", flush=True)
            if kind == "clean":
                clean = mos
                time.sleep(0.5)
                before = proc_usage(d.proc.pid)
        check_leaks(d, w, wire, before)
        check(d.proc.poll() is None, f"{wire}: mediusd still runs")


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root for network namespaces, veth pairs, tc and nft")
        sys.exit(77)
    missing = [t for t in ("ip", "ethtool", "tc", "nft", "gst-launch-1.0") if not shutil.which(t)]
    if missing:
        print(f"SKIP: missing tools: {' '.join(missing)} (iproute2, ethtool, nftables, gstreamer1.0-tools)")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="netem-")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    t0 = time.time()
    try:
        try:
            setup()
        except (RuntimeError, OSError) as e:
            print(f"SKIP: cannot create the namespaces and veth pairs: {e}")
            sys.exit(77)
        opus = opus_tone(tmp)
        for wire in sys.argv[1:] or ("udp", "eth"):
            run_wire(wire, tmp, opus)
    finally:
        teardown()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"     took {time.time() - t0:.0f} s")
    for s in _skipped:
        print("skipped: " + s)
    finish()


main()
