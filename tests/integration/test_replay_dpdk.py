"""medius-replay's DPDK transport (--transport dpdk, perf/perf_replay_dpdk.c)
against mediusd on an ethdev port: the two ends of one veth pair.

The whole test runs in a network namespace of its own (it re-executes
itself there with `ip netns exec`), so mediusd's ng socket on 127.0.0.1
and the veth pair are the test's alone:

    mediusd: net_af_packet0 on vM (10.94.N.1) ==veth== vR: medius-replay
             ng on 127.0.0.1                            --transport dpdk
                                                        --dpdk-port af_packet:vR
                                                        --bind 10.94.N.2

Neither veth end has a kernel address (and IPv6 is off), so only the two
DPDK programs answer ARP and carry UDP. Every replay waits 10 ms after
each offer/answer reply (--ng-settle-ms, as a signalling path would):
mediusd replies before its worker applied the leg, and a frame sent in
the same microsecond could otherwise be refused (see SETTLE_MS).

  1. Usage: --transport dpdk without --dpdk-port or --bind, a bad
     --dpdk-port, --dpdk-* without --transport dpdk: exit 64.
  2. A synthesised capture of 20 calls (four codecs, RTCP) replayed at x4
     with --verify: every call set up and torn down (60 ng requests), RTP
     and RTCP sent and received equal the synthesiser's summary, per
     payload type too, no loss, payloads identical, MOS of G.711 4.41; the
     replayer resolved medius's MAC by ARP (its counters), mediusd's port
     counters (ng statistics) carried at least every packet both ways on
     net_af_packet, and no call is left.
  3. ARP: while a replay runs, an ARP request for the replayer's address
     sent into vM (AF_PACKET socket) gets a reply from the replayer's MAC
     (the port's, as the replay printed it), and the replay counts it.
  4. --dpdk-peer IP=MAC: no ARP request at all, the calls still complete.
  5. SRTP (synth --srtp caller): the callers' RTCP in the capture is
     SRTCP (RFC 3711: 14 bytes longer than the plaintext twin's, E flag
     set); every RTP and RTCP packet comes back, equal to the plaintext
     twin (--reference).
  6. net_af_xdp: 40 calls with --dpdk-port af_xdp:vR, more RTP frames
     back than the replayer's 16,383-mbuf pool holds, none lost (the pool
     packed into the af_xdp umem, docs/replay.md); when this kernel cannot give an
     AF_XDP socket, that part says why and is left out (the rest counts).

Needs root (namespaces, veth, AF_PACKET). Exits 77 (skip) only when it is
not root or cannot create the namespace and veth pair."""
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

from medius_test import Daemon, check, finish, ng

PID = os.getpid()
N = 100 + PID % 150
NS = f"mx-rd-{PID}"
VM, VR = "rdM", "rdR"
US, ME = f"10.94.{N}.1", f"10.94.{N}.2"
REPLAY = os.environ.get("MEDIUS_REPLAY", "build/perf/medius-replay")
# mediusd answers ng before its worker has applied the leg: a packet that
# follows the reply within microseconds (DPDK to DPDK over a veth, on a
# loaded 2-CPU box) can meet the leg without its peer (spoofed_source,
# no_dest). A signalling path takes milliseconds; so does this test.
SETTLE_MS = "10"


def sh(*args, check_rc=True, timeout=30):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r


def outer():
    if os.geteuid() != 0:
        print("SKIP: needs root for a network namespace, a veth pair and AF_PACKET")
        sys.exit(77)
    if not shutil.which("ip"):
        print("SKIP: no ip(8) (iproute2)")
        sys.exit(77)
    try:
        sh("ip", "netns", "add", NS)
    except (RuntimeError, OSError) as e:
        print(f"SKIP: cannot create a network namespace: {e}")
        sys.exit(77)
    try:
        env = dict(os.environ, REPLAY_DPDK_INNER=str(PID))
        p = subprocess.run(["ip", "netns", "exec", NS, sys.executable, os.path.abspath(__file__)], env=env,
                           timeout=600)
        sys.exit(p.returncode)
    finally:
        sh("ip", "netns", "del", NS, check_rc=False)


# ---- inside the namespace ----

def setup():
    sh("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
    sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", VM, "type", "veth", "peer", "name", VR)
    sh("ip", "link", "set", VM, "up")
    sh("ip", "link", "set", VR, "up")


def write_conf(tmp):
    path = os.path.join(tmp, "mediusd.conf")
    with open(path, "w") as f:
        f.write("[eal]\nlcores = 0-1\nhugepages = no\nmemory_mb = 256\n\n"
                f"[interface ext]\ntype = ethdev\ndevice = net_af_packet0,iface={VM}\naddress = {US}\n"
                "prefix_len = 24\nport_min = 31000\nport_max = 31999\n")
    return path


def replay(d, cap, *args, timeout=180, popen=False):
    cmd = [REPLAY, "--ng", f"127.0.0.1:{d.port}", "--quiet", "--transport", "dpdk", "--bind", ME,
           "--dpdk-verbose", "--ng-settle-ms", SETTLE_MS, *map(str, args), cap]
    if popen:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def counters(stderr):
    """The transport's counter line (--dpdk-verbose) as a dict."""
    m = re.search(r"dpdk: tx (\d+) frames in (\d+) bursts, (\d+) dropped .*?, (\d+) without mbuf; "
                  r"rx (\d+) frames, (\d+) not for us, (\d+) bad UDP, (\d+) to no endpoint; "
                  r"ARP (\d+) requests, (\d+) replies", stderr)
    keys = ("tx", "bursts", "tx_dropped", "no_mbuf", "rx", "not_us", "bad_udp", "no_ep", "arp_requests",
            "arp_replies")
    return dict(zip(keys, map(int, m.groups()))) if m else {}


def port_mac(stderr):
    m = re.search(r"dpdk: port \d+ \(driver (\S+)\) \S+ at ([0-9a-f:]{17})", stderr)
    return (m.group(1), m.group(2)) if m else (None, None)


def synth(tmp, name, *args):
    cap, summ = os.path.join(tmp, f"{name}.pcap"), os.path.join(tmp, f"{name}.json")
    p = subprocess.run([REPLAY, "synth", *map(str, args), "--summary", summ, cap], capture_output=True,
                       text=True, timeout=300)
    check(p.returncode == 0, f"synth {name}: {p.stderr.strip()[:300]}")
    return cap, (json.load(open(summ)) if p.returncode == 0 else {})


def report_of(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def pts_received(r):
    got = {}
    for s in (r["streams"] if r else []):
        for pt, n in s["pt_received"].items():
            got[int(pt)] = got.get(int(pt), 0) + n
    return got


def no_calls_left(d, what):
    lst = ng(d.port, command="list")
    check(lst.get("result") == "ok" and lst.get("calls") == [], f"{what}: no call left in medius ({lst.get('calls')})")


def port_stats(d):
    st = ng(d.port, command="statistics")["statistics"]["totalstatistics"]
    i = {x["name"]: x for x in st["interfaces"]}.get("ext", {})
    return i.get("driver"), i.get("port", {}), {k: v for k, v in st["drops"].items() if v and k != "mcast_not_for_us"}


def usage_errors(tmp):
    cap = os.path.join(tmp, "none.pcap")
    for args, what in ((["--transport", "dpdk", "--bind", ME], "without --dpdk-port"),
                       (["--transport", "dpdk", "--dpdk-port", f"af_packet:{VR}"], "without --bind"),
                       (["--transport", "dpdk", "--bind", ME, "--dpdk-port", "eth0"], "--dpdk-port eth0"),
                       (["--dpdk-port", f"af_packet:{VR}"], "--dpdk-port without --transport dpdk"),
                       (["--transport", "quic"], "--transport quic")):
        p = subprocess.run([REPLAY, *args, cap], capture_output=True, text=True, timeout=30)
        check(p.returncode == 64 and "medius-replay:" in p.stderr, f"usage: {what} exits 64 ({p.returncode}: {p.stderr.strip()[:120]})")


def full_replay(d, tmp, cap, sm, label, device, extra=()):
    """Replay cap through medius on device; the checks of part 2. Returns
    the transport's counters."""
    out = os.path.join(tmp, f"{label}.json")
    before = port_stats(d)[1]
    rc, so, se = replay(d, cap, "--dpdk-port", device, "--speed", 4, "--verify", "--json", out, *extra)
    r = report_of(out)
    t = r["totals"] if r else {}
    c = counters(se)
    calls = sm.get("calls")
    check(rc == 0 and t.get("calls") == calls and t.get("calls_set_up") == calls and t.get("calls_deleted") == calls
          and t.get("ng_requests") == 3 * calls and t.get("ng_errors") == 0,
          f"{label}: every call set up and torn down ({rc}; {t.get('calls_set_up')} set up, {t.get('calls_deleted')} "
          f"deleted, {t.get('ng_requests')} ng){'' if rc == 0 else ' ' + se.strip()[-500:]}")
    check(t.get("rtp_sent") == sm.get("rtp") and t.get("rtp_received") == sm.get("rtp")
          and t.get("rtcp_sent") == sm.get("rtcp") and t.get("rtcp_received") == sm.get("rtcp"),
          f"{label}: RTP and RTCP sent and received equal the capture's {sm.get('rtp')} and {sm.get('rtcp')} "
          f"({t.get('rtp_sent')}/{t.get('rtp_received')}, {t.get('rtcp_sent')}/{t.get('rtcp_received')})")
    check(t.get("lost") == 0 and t.get("mismatched") == 0 and t.get("unmatched") == 0 and t.get("not_sent") == 0
          and t.get("send_errors", 0) == 0,
          f"{label}: no loss, payloads identical, nothing unmatched ({t.get('lost')}, {t.get('mismatched')}, "
          f"{t.get('unmatched')}, {t.get('not_sent')})")
    want_pts = {0: sm.get("rtp_per_codec", {}).get("PCMU"), 8: sm.get("rtp_per_codec", {}).get("PCMA"),
                9: sm.get("rtp_per_codec", {}).get("G722"), 96: sm.get("rtp_per_codec", {}).get("opus")}
    want_pts = {k: v for k, v in want_pts.items() if v}
    check(pts_received(r) == want_pts, f"{label}: packets per payload type as in the capture ({pts_received(r)})")
    g711 = [s["mos"] for s in (r["streams"] if r else []) if s["codec"] in ("PCMU", "PCMA")]
    check(g711 and all(m is not None and abs(m - 4.41) < 0.005 for m in g711),
          f"{label}: every G.711 stream scores MOS 4.41 ({sorted(set(g711))[:4]})")
    check(c and c["tx_dropped"] == 0 and c["no_mbuf"] == 0 and c["bad_udp"] == 0 and c["no_ep"] == 0
          and c["rx"] >= sm.get("rtp", 0) + sm.get("rtcp", 0),
          f"{label}: the port sent and received every frame, none bad or astray ({c})")
    driver, after, drops = port_stats(d)
    frames = sm.get("rtp", 0) + sm.get("rtcp", 0)
    rx = after.get("rx packets", 0) - before.get("rx packets", 0)
    tx = after.get("tx packets", 0) - before.get("tx packets", 0)
    check(driver == "net_af_packet" and rx >= frames and tx >= frames,
          f"{label}: mediusd's ethdev port (net_af_packet) carried them: rx {rx} tx {tx} (>= {frames})")
    check(not drops, f"{label}: no drops in medius's dataplane: {drops}")
    no_calls_left(d, label)
    return c, se


def arp_probe(d, tmp, cap):
    """Part 3: an ARP request for the replayer's address, from vM."""
    p = replay(d, cap, "--dpdk-port", f"af_packet:{VR}", "--speed", 1, popen=True)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
    s.bind((VM, 0))
    s.settimeout(0.2)
    mine = bytes.fromhex("02aa00000001")
    req = (b"\xff" * 6 + mine + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mine +
           socket.inet_aton("10.94.%d.77" % N) + b"\x00" * 6 + socket.inet_aton(ME))
    reply_mac, deadline = None, time.time() + 20
    while reply_mac is None and time.time() < deadline and p.poll() is None:
        s.send(req)
        end = time.time() + 0.5
        while time.time() < end:
            try:
                f = s.recv(2048)
            except socket.timeout:
                continue
            if len(f) >= 42 and f[0:6] == mine and struct.unpack("!H", f[20:22])[0] == 2 and f[28:32] == socket.inet_aton(ME):
                reply_mac = f[22:28].hex(":")
                break
    s.close()
    try:
        so, se = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        so, se = p.communicate()
    _, mac = port_mac(se)
    c = counters(se)
    check(reply_mac is not None and reply_mac == mac,
          f"ARP: the replayer answered who-has {ME} with its port's MAC ({reply_mac}, port {mac})")
    check(p.returncode == 0 and c.get("arp_replies", 0) >= 1, f"ARP: the replay counted its replies ({p.returncode}, {c})")
    no_calls_left(d, "ARP")


def pcap_records(path):
    with open(path, "rb") as f:
        d = f.read()
    i, out = 24, []
    while i + 16 <= len(d):
        caplen = struct.unpack("<I", d[i + 8:i + 12])[0]
        out.append(d[i + 16:i + 16 + caplen])
        i += 16 + caplen
    return out


def srtcp_records(cap, plain):
    """The RTCP records of cap that differ from the plaintext twin's (the
    synthesiser writes Ethernet/IPv4/UDP, 42 bytes of headers): (length,
    plaintext length, E flag)."""
    out = []
    for x, y in zip(pcap_records(cap), pcap_records(plain)):
        u, v = x[42:], y[42:]
        if len(v) >= 8 and v[0] >> 6 == 2 and 200 <= v[1] <= 204 and u != v:
            out.append((len(u), len(v), bool(u[-14] & 0x80)))
    return out


def af_xdp_blocker():
    try:
        socket.socket(44, socket.SOCK_RAW).close()  # AF_XDP
    except OSError as e:
        return f"socket(AF_XDP, SOCK_RAW) failed: {e}"
    return None


def inner():
    tmp = tempfile.mkdtemp(prefix="replay-dpdk-")
    try:
        setup()
        usage_errors(tmp)
        with Daemon("-c", write_conf(tmp), "--log-level", "info") as d:
            # 2. twenty calls, four codecs, RTCP
            cap, sm = synth(tmp, "calls20", "--calls", 20, "--duration", 5.2, "--interval-ms", 50, "--seed", 5)
            check(sm.get("calls") == 20 and sm.get("rtcp", 0) >= 20, f"synth: 20 calls with RTCP ({sm})")
            c, se = full_replay(d, tmp, cap, sm, "af_packet", f"af_packet:{VR}")
            driver, mac = port_mac(se)
            check(driver == "net_af_packet" and c.get("arp_requests", 0) >= 1,
                  f"af_packet: the replay ran on net_af_packet and resolved medius's MAC by ARP ({driver}, {c})")
            # 3. the replayer answers ARP
            small, small_sm = synth(tmp, "calls4", "--calls", 4, "--duration", 3, "--seed", 6)
            arp_probe(d, tmp, small)
            # 4. medius's MAC given: no ARP
            mmac = sh("cat", f"/sys/class/net/{VM}/address").stdout.strip()
            out = os.path.join(tmp, "peer.json")
            rc, so, se = replay(d, small, "--dpdk-port", f"af_packet:{VR}", "--dpdk-peer", f"{US}={mmac}",
                                "--speed", 8, "--json", out)
            r, c = report_of(out), counters(se)
            t = r["totals"] if r else {}
            check(rc == 0 and c.get("arp_requests") == 0 and t.get("calls_deleted") == 4 and t.get("lost") == 0
                  and t.get("rtp_received") == t.get("rtp_sent") > 0,
                  f"--dpdk-peer {US}={mmac}: no ARP request, every packet back ({rc}, {c.get('arp_requests')}, "
                  f"{t.get('rtp_received')}/{t.get('rtp_sent')})")
            no_calls_left(d, "--dpdk-peer")
            # 5. SRTP and SRTCP on the caller's leg
            plain = os.path.join(tmp, "srtp-plain.pcap")
            scap, ssm = synth(tmp, "srtp", "--calls", 6, "--duration", 5.2, "--srtp", "caller", "--seed", 3,
                              "--plaintext", plain)
            srtcp = srtcp_records(scap, plain)
            check(len(srtcp) == 6 and all(e == p + 14 and eflag for e, p, eflag in srtcp),
                  f"synth --srtp caller: each caller's RTCP is SRTCP (14 bytes longer than the twin's, E flag set): "
                  f"{srtcp[:3]}")
            out = os.path.join(tmp, "srtp.json")
            rc, so, se = replay(d, scap, "--dpdk-port", f"af_packet:{VR}", "--speed", 4, "--verify",
                                "--reference", plain, "--json", out)
            r = report_of(out)
            t = r["totals"] if r else {}
            check(rc == 0 and t.get("rtp_received") == ssm.get("rtp") and t.get("rtcp_received") == ssm.get("rtcp")
                  and ssm.get("rtcp", 0) > 0 and t.get("mismatched") == 0 and t.get("srtp_receive_errors") == 0
                  and t.get("srtp_capture_errors") == 0,
                  f"SRTP: RTP {t.get('rtp_received')} of {ssm.get('rtp')} and RTCP {t.get('rtcp_received')} of "
                  f"{ssm.get('rtcp')} back, equal to the plaintext (medius's drops: {port_stats(d)[2]})")
            no_calls_left(d, "SRTP")
            # 6. net_af_xdp on the replayer's end
            why = af_xdp_blocker()
            if not why:
                # 40 calls, ~24,000 frames back: more than the replayer's
                # 16,383-mbuf pool holds (before the pool was packed into
                # the af_xdp umem, rx stopped after ~9,200: docs/replay.md)
                xcap, xsm = synth(tmp, "calls40", "--calls", 40, "--duration", 6, "--interval-ms", 50, "--seed", 7)
                out = os.path.join(tmp, "xdp.json")
                rc, so, se = replay(d, xcap, "--dpdk-port", f"af_xdp:{VR}", "--json", out)
                if rc != 0 and ("rte_eal_init" in se or "cannot start the port" in se or "ethdev ports" in se):
                    why = "the replayer could not set up net_af_xdp: " + se.strip().splitlines()[-1][:300]
                else:
                    r = report_of(out)
                    t = r["totals"] if r else {}
                    check(rc == 0 and port_mac(se)[0] == "net_af_xdp" and t.get("calls_deleted") == 40
                          and t.get("rtp_received") == xsm.get("rtp") and xsm.get("rtp", 0) > 16383
                          and t.get("lost") == 0 and "outside the af_xdp umem" not in se,
                          f"af_xdp: 40 calls on net_af_xdp, {t.get('rtp_received')} of {xsm.get('rtp')} RTP back "
                          f"({rc} {se.strip()[-300:] if rc else ''})")
                    no_calls_left(d, "af_xdp")
            if why:
                print(f"     af_xdp part left out: {why}")
    finally:
        sh("ip", "link", "del", VM, check_rc=False)
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


if os.environ.get("REPLAY_DPDK_INNER"):
    inner()
else:
    outer()
