"""medius-replay (perf/perf_replay*.c, docs/replay.md) against the real
mediusd: sipp's captures (RTP only: a side file and --auto) with zero loss
and byte-identical payloads, RFC 4733 events intact; a SIP+RTP capture the
test writes (re-INVITE, BYE, RTCP, IPv4 and IPv6) in every link type the
reader takes, with the report's counters equal to the capture's and no
call left in medius; malformed captures refused with clear errors.

`python3 test_replay.py --write-seeds DIR` writes the capture-reader fuzz
seeds (tests/fuzz/corpus/replay_pcap)."""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from medius_test import Daemon, check, finish, ng  # noqa: E402

REPLAY = os.environ.get("MEDIUS_REPLAY", "build/perf/medius-replay")
SIPP = "/usr/share/sip-tester"
TMP = tempfile.mkdtemp(prefix="replay-")

# ---- capture writing (standard library only) ----

LT_ETH, LT_RAW, LT_SLL, LT_SLL2, LT_WLAN = 1, 101, 113, 276, 105


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip_udp(src, dst, sport, dport, payload):
    """An IPv4 or IPv6 packet (by the address) carrying UDP."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    if ":" in src:
        return (struct.pack("!IHBB", 6 << 28, len(udp), 17, 64) + socket.inet_pton(socket.AF_INET6, src)
                + socket.inet_pton(socket.AF_INET6, dst) + udp)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + udp


def frame(linktype, ip, vlan=True):
    et = 0x86dd if ip[0] >> 4 == 6 else 0x0800
    if linktype == LT_ETH:
        tag = struct.pack("!HH", 0x8100, 42) if vlan else b""
        return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + tag + struct.pack("!H", et) + ip
    if linktype == LT_SLL:
        return struct.pack("!HHH8sH", 0, 1, 6, b"\x02\0\0\0\0\x01\0\0", et) + ip
    if linktype == LT_SLL2:
        return struct.pack("!HHIHBB8s", et, 0, 1, 1, 0, 6, b"\x02\0\0\0\0\x01\0\0") + ip
    return ip  # raw IP (and anything else: the reader refuses the link type)


def pcap(records, linktype, snaplen=65535):
    """records: (time s, frame bytes[, original length]) -> classic pcap (µs)."""
    out = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, snaplen, linktype)
    for r in records:
        t, data = r[0], r[1]
        orig = r[2] if len(r) > 2 else len(data)
        out += struct.pack("<IIII", int(t), int(round((t % 1) * 1e6)), len(data), orig) + data
    return out


def pcapng(records, linktype):
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", linktype, 0, 65535))  # ts in µs (default)
    for t, data in records:
        ts = int(round(t * 1e6))
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xffffffff, len(data), len(data)) + data)
    return out


def rtp(pt, seq, ts, ssrc, payload, marker=False):
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xffff, ts & 0xffffffff, ssrc) + payload


def rtcp_sr(ssrc, other):
    sr = struct.pack("!BBHIIIIII", 0x81, 200, 12, ssrc, 1, 2, 3, 4, 5) + struct.pack("!IIIIII", other, 0, 7, 0, 0, 0)
    cname = b"replay"
    sdes_body = struct.pack("!IBB", ssrc, 1, len(cname)) + cname + b"\0"
    sdes_body += b"\0" * (-len(sdes_body) % 4)
    sdes = struct.pack("!BBH", 0x81, 202, len(sdes_body) // 4) + sdes_body
    return sr + sdes


def sdp(ip, port, pts=(0, 101)):
    v = "6" if ":" in ip else "4"
    body = (f"v=0\r\no=- 1 1 IN IP{v} {ip}\r\ns=-\r\nc=IN IP{v} {ip}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP {' '.join(map(str, pts))}\r\n")
    if 101 in pts:
        body += "a=rtpmap:101 telephone-event/8000\r\n"
    return body + "a=ptime:20\r\n"


def sip(first, callid, ftag, ttag, cseq, body="", a="alice", b="bob"):
    hdr = (f"{first}\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK{cseq}\r\n"
           f"From: <sip:{a}@x>;tag={ftag}\r\nTo: <sip:{b}@x>{';tag=' + ttag if ttag else ''}\r\n"
           f"Call-ID: {callid}\r\nCSeq: {cseq}\r\n")
    if body:
        hdr += "Content-Type: application/sdp\r\n"
    return (hdr + f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


class Cap:
    """Datagrams with times; counts what the replay must send."""

    def __init__(self):
        self.recs = []  # (t, ip packet)
        self.rtp = 0
        self.rtcp = 0
        self.pt101 = 0

    def add(self, t, src, dst, sport, dport, payload, kind=None):
        self.recs.append((t, ip_udp(src, dst, sport, dport, payload)))
        if kind == "rtp":
            self.rtp += 1
            self.pt101 += (payload[1] & 0x7f) == 101
        elif kind == "rtcp":
            self.rtcp += 1

    def media(self, t0, n, src, dst, sport, dport, ssrc, seq0=100):
        for i in range(n):
            pt = 101 if i in (10, 11) else 0
            pl = struct.pack("!BBH", 5, 0x80 if i == 11 else 10, 160) if pt == 101 else bytes([(i * 7 + j) & 0xff for j in range(160)])
            self.add(t0 + i * 0.02, src, dst, sport, dport, rtp(pt, seq0 + i, i * 160, ssrc, pl, i == 0), "rtp")

    def records(self, linktype):
        return sorted((t, frame(linktype, ip)) for t, ip in self.recs)


def sip_capture():
    """Two calls: one over IPv4 with RTCP, a re-INVITE from the callee that
    moves its port, and a BYE; one over IPv6 ended by the capture's end."""
    c = Cap()
    A, B, P = "10.0.0.1", "10.0.0.2", "10.0.0.9"
    cid = "call-one@replay"
    c.add(0.000, A, P, 5060, 5060, sip("INVITE sip:bob@x SIP/2.0", cid, "ta", "", "1 INVITE", sdp(A, 20000)))
    c.add(0.001, A, P, 5060, 5060, sip("INVITE sip:bob@x SIP/2.0", cid, "ta", "", "1 INVITE", sdp(A, 20000)))  # retransmitted
    c.add(0.010, P, A, 5060, 5060, sip("SIP/2.0 100 Trying", cid, "ta", "", "1 INVITE"))
    c.add(0.020, P, A, 5060, 5060, sip("SIP/2.0 180 Ringing", cid, "ta", "tb", "1 INVITE"))
    c.add(0.050, P, A, 5060, 5060, sip("SIP/2.0 200 OK", cid, "ta", "tb", "1 INVITE", sdp(B, 30000)))
    c.add(0.060, A, P, 5060, 5060, sip("ACK sip:bob@x SIP/2.0", cid, "ta", "tb", "1 ACK"))
    c.media(0.1, 50, A, B, 20000, 30000, 0x11111111)
    c.media(0.1, 50, B, A, 30000, 20000, 0x22222222, seq0=65500)  # wraps
    for t in (0.5, 1.0):
        c.add(t, A, B, 20001, 30001, rtcp_sr(0x11111111, 0x22222222), "rtcp")
        c.add(t + 0.01, B, A, 30001, 20001, rtcp_sr(0x22222222, 0x11111111), "rtcp")
    # the callee re-INVITEs, moving to port 30002
    c.add(1.20, P, A, 5060, 5060, sip("INVITE sip:alice@x SIP/2.0", cid, "tb", "ta", "2 INVITE", sdp(B, 30002), a="bob", b="alice"))
    c.add(1.21, A, P, 5060, 5060, sip("SIP/2.0 200 OK", cid, "tb", "ta", "2 INVITE", sdp(A, 20000), a="bob", b="alice"))
    c.media(1.25, 30, A, B, 20000, 30002, 0x11111111, seq0=150)
    c.media(1.25, 30, B, A, 30002, 20000, 0x33333333, seq0=7)
    c.add(2.00, A, P, 5060, 5060, sip("BYE sip:bob@x SIP/2.0", cid, "ta", "tb", "3 BYE"))
    c.add(2.01, P, A, 5060, 5060, sip("SIP/2.0 200 OK", cid, "ta", "tb", "3 BYE"))
    # call two over IPv6, no BYE in the capture
    A6, B6, P6 = "2001:db8::1", "2001:db8::2", "2001:db8::9"
    cid2 = "call-two@replay"
    c.add(0.300, A6, P6, 5060, 5060, sip("INVITE sip:carol@x SIP/2.0", cid2, "t2a", "", "1 INVITE", sdp(A6, 40000, (8,))))
    c.add(0.350, P6, A6, 5060, 5060, sip("SIP/2.0 200 OK", cid2, "t2a", "t2b", "1 INVITE", sdp(B6, 41000, (8,))))
    c.media(0.4, 25, A6, B6, 40000, 41000, 0x44444444)
    c.media(0.4, 25, B6, A6, 41000, 40000, 0x55555555)
    c.add(0.9, "10.0.0.50", "10.0.0.53", 3333, 53, b"\x12\x34 not a call")  # no call: not sent
    # retransmitted ng-irrelevant noise: a stray 200 OK for an unknown call
    c.add(0.95, P, A, 5060, 5060, sip("SIP/2.0 200 OK", "stranger", "x", "y", "1 INVITE", sdp(B, 1234)))
    return c


def write(name, data):
    path = os.path.join(TMP, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def replay(*args, timeout=120):
    p = subprocess.run([REPLAY, *map(str, args)], capture_output=True, text=True, errors="replace", timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def report(d, cap, *args):
    out = os.path.join(TMP, "report.json")
    if os.path.exists(out):
        os.unlink(out)
    rc, so, se = replay("--ng", f"127.0.0.1:{d.port}", "--quiet", "--verify", "--json", out, *args, cap)
    if rc != 0:
        print(se)
    return rc, (json.load(open(out)) if os.path.exists(out) else None), se


class SlowNg:
    """A UDP proxy in front of mediusd's ng port that holds every reply to an
    `offer` for `delay` seconds (a loaded signalling path)."""

    def __init__(self, port, delay):
        import threading
        self.up = ("127.0.0.1", port)
        self.delay = delay
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.port = self.s.getsockname()[1]
        self.s.settimeout(0.2)
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        import time
        while not self.stop:
            try:
                req, client = self.s.recvfrom(70000)
            except socket.timeout:
                continue
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(5)
            u.sendto(req, self.up)
            try:
                rep = u.recv(70000)
            except socket.timeout:
                continue
            finally:
                u.close()
            if b"5:offer" in req:
                time.sleep(self.delay)
            self.s.sendto(rep, client)

    def close(self):
        self.stop = True
        self.t.join()
        self.s.close()


def same_pid_same_second(d, c, paths):
    """Two replays in fresh PID namespaces (both are pid 1) started in one
    second: whatever they derive from the pid and the time is equal. Their ng
    cookies must still differ: mediusd caches replies by cookie alone, and a
    reused cookie gets the earlier replay's replies (ports of a call it
    deleted) instead of an execution. None when unshare is not permitted."""
    import time
    if subprocess.run(["unshare", "-pf", "true"], capture_output=True).returncode != 0:
        return None
    got = []
    time.sleep(1.02 - time.time() % 1)
    for path in paths:
        out = os.path.join(TMP, "ns.json")
        subprocess.run(["unshare", "-pf", REPLAY, "--ng", f"127.0.0.1:{d.port}", "--quiet", "--speed", "40",
                        "--drain-ms", "100", "--grace-ms", "20", "--json", out, path], capture_output=True, timeout=60)
        got.append(json.load(open(out))["totals"]["rtp_received"] if os.path.exists(out) else -1)
    return got


def no_calls_left(d, what):
    lst = ng(d.port, command="list")
    check(lst.get("result") == "ok" and lst.get("calls") == [], f"{what}: no call left in medius ({lst.get('calls')})")


def pt_count(path, pt):
    """RTP packets with payload type pt in an Ethernet/IPv4 pcap (the test's own reader)."""
    data = open(path, "rb").read()
    off, n = 24, 0
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        frm = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(frm) >= 42 and frm[12:14] == b"\x08\x00" and frm[23] == 17:
            ihl = (frm[14] & 15) * 4
            udp = frm[14 + ihl:]
            if len(udp) >= 20 and udp[8] >> 6 == 2 and udp[9] & 0x7f == pt:
                n += 1
    return n


def rtp_flows(path):
    """{(src ip, src port): [(seq, pt, udp payload)]} of the RTP in an Ethernet/IPv4 pcap
    (classic, µs or ns) in capture order: the test's own reader."""
    data = open(path, "rb").read()
    off, flows = 24, {}
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        frm = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(frm) >= 54 and frm[12:14] == b"\x08\x00" and frm[23] == 17:
            ihl = (frm[14] & 15) * 4
            sport, dport = struct.unpack("!HH", frm[14 + ihl:18 + ihl])
            udp = frm[14 + ihl + 8:]
            if sport != 5060 and len(udp) >= 12 and udp[0] >> 6 == 2 and not 192 <= udp[1] <= 223:
                flows.setdefault((frm[26:30], sport), []).append((struct.unpack("!H", udp[2:4])[0], udp[1] & 0x7f, udp))
    return flows


def mediusd_sockets(d):
    return sum(1 for f in os.listdir(f"/proc/{d.proc.pid}/fd")
               if os.readlink(f"/proc/{d.proc.pid}/fd/{f}").startswith("socket:"))


def sockets_back(d, before):
    """mediusd closes a deleted call's media sockets on its worker, within about 0.5 s"""
    import time
    for _ in range(40):
        n = mediusd_sockets(d)
        if n == before:
            return n
        time.sleep(0.1)
    return n


def png_ok(path):
    """A well-formed PNG: the signature, chunks with good CRCs, IHDR first, IEND last; (width, height)."""
    import zlib
    b = open(path, "rb").read()
    if b[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    off, names, size = 8, [], None
    while off + 12 <= len(b):
        n, name = struct.unpack("!I4s", b[off:off + 8])
        body = b[off + 8:off + 8 + n]
        if len(body) != n or struct.unpack("!I", b[off + 8 + n:off + 12 + n])[0] != zlib.crc32(name + body):
            return None
        if name == b"IHDR":
            size = struct.unpack("!II", body[:8])
        names.append(name)
        off += 12 + n
    return size if names and names[0] == b"IHDR" and names[-1] == b"IEND" and off == len(b) else None


def svg_ok(path):
    """A well-formed SVG document that draws something."""
    import xml.etree.ElementTree as ET
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return False
    return root.tag.endswith("svg") and any(e.tag.endswith(("path", "polyline", "rect")) for e in root.iter())


def synth(*args):
    p = subprocess.run([REPLAY, "synth", *map(str, args)], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout + p.stderr


def synth_tests(d):
    """5. medius-replay synth: a 100-call capture with SIP replays; SRTP"""
    cap, summ = os.path.join(TMP, "synth100.pcap"), os.path.join(TMP, "synth100.json")
    rc, out = synth("--calls", 100, "--duration", 5.2, "--interval-ms", 20, "--loss", 2, "--burst", 3,
                    "--jitter-ms", 4, "--seed", 7, "--summary", summ, cap)
    sm = json.load(open(summ)) if rc == 0 else {}
    check(rc == 0 and sm.get("calls") == 100 and 180 <= sm.get("rtcp", 0) <= 200, f"synth: 100 calls written ({rc} {out.strip()[:200]})")
    # the capture: four codecs, each stream's loss pattern as the profile asked
    flows = rtp_flows(cap)
    pts = {}
    gaps = []
    for pk in flows.values():
        pts[pk[0][1]] = pts.get(pk[0][1], 0) + len(pk)
        seqs = sorted({q for q, _, _ in pk}, key=lambda q: (q - pk[0][0]) & 0xffff)
        for a, b in zip(seqs, seqs[1:]):
            if (b - a) & 0xffff > 1:
                gaps.append(((b - a) & 0xffff) - 1)
    total = sum(pts.values())
    check(len(flows) == 200 and total == sm.get("rtp") and set(pts) == {0, 8, 9, 96}
          and pts[0] == sm["rtp_per_codec"]["PCMU"] and pts[96] == sm["rtp_per_codec"]["opus"],
          f"synth: 200 RTP streams, PCMU/PCMA/G.722/Opus ({pts}), as the summary says")
    lost = sum(gaps)
    # (a stream's last packets lost leave no gap)
    check(0 <= sm.get("lost_before_capture", -1) - lost < 30 and 0.012 < lost / (lost + total) < 0.03,
          f"synth: Gilbert-Elliott loss 2% ({lost} of {lost + total}: {100 * lost / (lost + total):.2f}%)")
    check(gaps and 2.2 < lost / len(gaps) < 4.0, f"synth: mean loss burst 3 packets ({lost / max(1, len(gaps)):.2f})")
    sizes = {len(u) for pk in flows.values() for q, pt, u in pk if pt == 0}
    opus_sizes = {len(u) for pk in flows.values() for q, pt, u in pk if pt == 96}
    check(sizes == {172} and len(opus_sizes) > 5, f"synth: PCMU 160 bytes a frame, Opus variable ({sorted(opus_sizes)[:6]}...)")
    # replayed: every call set up and torn down, the counters the capture's
    socks = mediusd_sockets(d)
    plots = os.path.join(TMP, "plots")
    rc, r, se = report(d, cap, "--speed", "4", "--plots", plots)
    t = r["totals"] if r else {}
    check(rc == 0 and t.get("calls") == 100 and t.get("calls_set_up") == 100 and t.get("calls_deleted") == 100
          and t.get("ng_requests") == 300 and t.get("ng_errors") == 0,
          f"synth 100: every call set up and torn down ({t.get('calls_set_up')}, {t.get('calls_deleted')}, {t.get('ng_requests')} ng)")
    check(t.get("rtp_sent") == sm.get("rtp") and t.get("rtp_received") == sm.get("rtp")
          and t.get("rtcp_sent") == sm.get("rtcp") and t.get("rtcp_received") == sm.get("rtcp"),
          f"synth 100: RTP and RTCP sent and received equal the capture's {sm.get('rtp')} and {sm.get('rtcp')} ({t.get('rtp_received')}, {t.get('rtcp_received')})")
    check(t.get("lost") == 0 and t.get("mismatched") == 0 and t.get("unmatched") == 0 and t.get("not_sent") == 0,
          "synth 100: no loss through medius, payloads identical")
    got = {}
    for s in (r["streams"] if r else []):
        for pt, n in s["pt_received"].items():
            got[int(pt)] = got.get(int(pt), 0) + n
    check(got == pts, f"synth 100: packets per payload type as in the capture ({got})")
    no_calls_left(d, "synth 100")
    # the plots (gnuplot), and the data behind them in the JSON
    for name in ("latency", "throughput", "loss"):
        check(svg_ok(os.path.join(plots, name + ".svg")), f"--plots: {name}.svg is a well-formed SVG drawing")
        size = png_ok(os.path.join(plots, name + ".png"))
        check(size == (900, 500), f"--plots: {name}.png is a well-formed 900x500 PNG ({size})")
    h = r.get("latency_histogram", {}) if r else {}
    tl = r.get("timeline", {}) if r else {}
    check(sum(h.get("counts", [])) + h.get("over", -1) == t.get("latency", {}).get("n") and len(h.get("counts", [])) == 60,
          f"latency histogram: its 60 bins and the overflow count every packet ({t.get('latency', {}).get('n')})")
    check(sum(tl.get("rtp_sent", [])) == t.get("rtp_sent") and sum(tl.get("lost", [])) == t.get("lost"),
          "timeline: RTP sent and lost per 100 ms add up to the totals")
    n = sockets_back(d, socks)
    check(n == socks, f"synth 100: no port left allocated in medius ({n} sockets, {socks} before)")

    # SRTP: the caller's leg SDES, medius bridges it to the plain callee
    cap, plain = os.path.join(TMP, "srtp.pcap"), os.path.join(TMP, "srtp-plain.pcap")
    rc, out = synth("--calls", 6, "--duration", 2, "--srtp", "caller", "--codecs", "pcmu,g722,opus", "--seed", 3,
                    "--summary", summ, "--plaintext", plain, cap)
    sm = json.load(open(summ)) if rc == 0 else {}
    fc, fp = rtp_flows(cap), rtp_flows(plain)
    enc = [k for k in fc if fc[k][0][2] != fp[k][0][2]]
    check(rc == 0 and len(enc) == 6 and all(len(fc[k][0][2]) == len(fp[k][0][2]) + 10 for k in enc),
          f"synth --srtp caller: the callers' 6 streams encrypted (80-bit tag), the callees' in clear ({len(enc)})")
    want = sm.get("rtp")
    for what, extra in (("decrypted by the replay", []), ("against the synthesiser's plaintext", ["--reference", plain])):
        rc, r, se = report(d, cap, "--speed", "4", *extra)
        t = r["totals"] if r else {}
        check(rc == 0 and t.get("rtp_sent") == want and t.get("rtp_received") == want and t.get("mismatched") == 0
              and t.get("srtp_capture_errors") == 0 and t.get("srtp_receive_errors") == 0 and t.get("calls_deleted") == 6,
              f"SRTP capture through medius ({what}): {t.get('rtp_received')} of {want} back, payloads equal the plaintext")
    # the check can fail: one payload byte of the reference changed
    bad = bytearray(open(plain, "rb").read())
    k = enc[0]
    i = bad.find(fp[k][5][2])
    bad[i + 40] ^= 0x55
    badp = write("srtp-bad.pcap", bytes(bad))
    rc, r, se = report(d, cap, "--speed", "4", "--reference", badp)
    check(r and r["totals"]["mismatched"] == 1, f"SRTP: a reference differing in one byte is one mismatch ({r and r['totals']['mismatched']})")
    # multiplied: each copy encrypted with its own key, named in its SDP
    rc, r, se = report(d, cap, "--speed", "4", "--multiply", "3", "--reference", plain)
    t = r["totals"] if r else {}
    keys = {}
    for s in (r["streams"] if r else []):
        if s["from"] == "offerer":
            keys.setdefault(s["call_id"].rsplit("-r", 1)[0], set()).add(s.get("srtp_key_id"))
    check(rc == 0 and t.get("rtp_received") == 3 * want and t.get("mismatched") == 0 and t.get("srtp_receive_errors") == 0,
          f"SRTP x3: {t.get('rtp_received')} of {3 * want} back, every copy decrypted by medius and equal to the plaintext")
    check(len(keys) == 6 and all(len(v) == 3 and None not in v for v in keys.values()),
          f"SRTP x3: each copy of a call has its own key ({[len(v) for v in keys.values()]})")
    no_calls_left(d, "SRTP")
    # both legs SRTP: medius re-encrypts towards the callee
    rc, out = synth("--calls", 4, "--duration", 2, "--srtp", "both", "--seed", 4, "--summary", summ, cap)
    want = json.load(open(summ))["rtp"] if rc == 0 else -1
    rc, r, se = report(d, cap, "--speed", "4", "--multiply", "2")
    t = r["totals"] if r else {}
    check(rc == 0 and t.get("rtp_received") == 2 * want and t.get("mismatched") == 0 and t.get("srtp_receive_errors") == 0,
          f"SRTP on both legs x2: {t.get('rtp_received')} of {2 * want} back decrypted, payloads equal")
    no_calls_left(d, "SRTP both")


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--write-seeds":
        seeds(sys.argv[2])
        return
    have_sipp = os.path.exists(f"{SIPP}/g711a.pcap")
    with Daemon() as d:
        # 1. sipp's G.711 capture (RTP only), calls from a side file
        if have_sipp:
            g711 = f"{SIPP}/g711a.pcap"
            side = write("g711a.json", json.dumps({"calls": [{
                "call-id": "g711a",
                "offerer": {"address": "10.1.3.143:5000", "codecs": ["8 PCMA/8000"]},
                "answerer": {"address": "10.1.6.18:2006", "codecs": ["8"]}}]}).encode())
            rc, r, _ = report(d, g711, "--calls", side, "--speed", "4")
            t = r["totals"] if r else {}
            check(rc == 0 and t.get("rtp_sent") == 236, f"g711a (side file): 236 RTP packets sent (rc {rc}, {t.get('rtp_sent')})")
            check(t.get("rtp_received") == 236 and t.get("lost") == 0 and t.get("duplicates") == 0,
                  f"g711a: all 236 relayed, no loss, no duplicate ({t.get('rtp_received')}, {t.get('lost')})")
            check(t.get("mismatched") == 0 and t.get("unmatched") == 0, "g711a: payloads byte-identical (--verify)")
            s = r["streams"][0] if r else {}
            check(s.get("codec") == "PCMA" and s.get("mos") and 4.3 < s["mos"] <= 4.5,
                  f"g711a: PCMA, lossless MOS near 4.41 ({s.get('mos')})")
            check(s.get("latency", {}).get("n") == 236 and s["latency"]["p50_us"] > 0,
                  f"g711a: latency of every packet measured (p50 {s.get('latency', {}).get('p50_us')} us)")
            no_calls_left(d, "g711a")
            # --auto, three copies at once
            rc, r, _ = report(d, g711, "--auto", "--speed", "8", "--multiply", "3")
            t = r["totals"] if r else {}
            ssrcs = {s["ssrc"] for s in r["streams"]} if r else set()
            check(rc == 0 and t.get("calls") == 3 and t.get("calls_set_up") == 3 and t.get("calls_deleted") == 3,
                  f"g711a --auto x3: 3 calls set up and deleted ({t.get('calls_set_up')}, {t.get('calls_deleted')})")
            check(t.get("rtp_sent") == 3 * 236 and t.get("rtp_received") == 3 * 236 and t.get("mismatched") == 0,
                  f"g711a x3: {t.get('rtp_received')} of {3 * 236} relayed byte-identical (SSRC rewritten per copy)")
            check(len(ssrcs) == 3 and 0xdee0ee8f in ssrcs, f"g711a x3: three distinct SSRCs, the first the capture's")
            no_calls_left(d, "g711a x3")
            # 2. the RFC 4733 captures: every event packet arrives intact
            for name in sorted(os.listdir(SIPP)):
                if not name.startswith("dtmf_2833_"):
                    continue
                path = f"{SIPP}/{name}"
                want = pt_count(path, 101)
                rc, r, _ = report(d, path, "--auto", "--speed", "2")
                t = r["totals"] if r else {}
                got = r["streams"][0]["pt_received"].get("101", 0) if r else 0
                check(rc == 0 and want > 0 and got == want and t.get("lost") == 0 and t.get("mismatched") == 0
                      and t.get("duplicates") == 0,
                      f"{name}: {got} of {want} events (PT 101) arrive intact, no loss")
            no_calls_left(d, "dtmf captures")
        else:
            print("skip: sipp's captures not installed (package sip-tester)")

        # 3. the SIP capture, in each link type, and pcapng
        c = sip_capture()
        variants = [("eth-vlan.pcap", pcap(c.records(LT_ETH), LT_ETH)),
                    ("sll.pcap", pcap(c.records(LT_SLL), LT_SLL)),
                    ("sll2.pcap", pcap(c.records(LT_SLL2), LT_SLL2)),
                    ("raw.pcap", pcap(c.records(LT_RAW), LT_RAW)),
                    ("eth.pcapng", pcapng(c.records(LT_ETH), LT_ETH))]
        for i, (name, data) in enumerate(variants):
            path = write(name, data)
            args = ["--speed", "1"] if i == 0 else ["--speed", "4"]
            rc, r, se = report(d, path, *args)
            t = r["totals"] if r else {}
            check(rc == 0 and t.get("calls") == 2 and t.get("calls_set_up") == 2 and t.get("calls_deleted") == 2,
                  f"{name}: 2 calls set up and torn down (rc {rc}: {t.get('calls_set_up')}, {t.get('calls_deleted')}) {se.strip()[:200]}")
            check(t.get("ng_requests") == 8 and t.get("ng_errors") == 0,
                  f"{name}: 8 ng requests: offer, answer, the re-INVITE's offer and answer, delete; offer, answer, delete ({t.get('ng_requests')})")
            check(t.get("rtp_sent") == c.rtp and t.get("rtp_received") == c.rtp,
                  f"{name}: RTP sent and received equal the capture's {c.rtp} ({t.get('rtp_sent')}, {t.get('rtp_received')})")
            check(t.get("rtcp_sent") == c.rtcp and t.get("rtcp_received") == c.rtcp,
                  f"{name}: RTCP sent and received equal the capture's {c.rtcp} ({t.get('rtcp_sent')}, {t.get('rtcp_received')})")
            check(t.get("lost") == 0 and t.get("mismatched") == 0 and t.get("unmatched") == 0 and t.get("not_sent") == 0,
                  f"{name}: no loss, payloads identical, nothing unmatched or unsent")
            streams = {(s["call_id"], s["ssrc"]): s for s in r["streams"]} if r else {}
            check(len(streams) == 5 and sum(s["pt_received"].get("101", 0) for s in streams.values()) == c.pt101,
                  f"{name}: 5 streams, {c.pt101} DTMF events among them")
            check(r and r["capture_stats"]["unassigned"] == 1, f"{name}: the datagram of no call is counted, not sent")
            if i == 0:
                check(t.get("duration_s", 0) >= 1.9, f"{name}: original timing: the 2 s capture took {t.get('duration_s')} s")
            no_calls_left(d, name)
        # consecutive replays that share a pid and a second: distinct ng cookies
        got = same_pid_same_second(d, c, [os.path.join(TMP, n) for n in ("sll.pcap", "sll2.pcap", "raw.pcap")])
        if got is None:
            print("skip: unshare -p not permitted (same-pid replays)")
        else:
            check(got == [c.rtp] * 3, f"three replays with one pid in one second: each gets its {c.rtp} RTP back ({got})")
        no_calls_left(d, "same pid")
        # slow ng: every offer's reply held 300 ms; media waits for the set-up
        # and the schedule moves later instead of bursting to catch up
        slow = SlowNg(d.port, 0.3)
        try:
            out = os.path.join(TMP, "slow.json")
            rc, so, se = replay("--ng", f"127.0.0.1:{slow.port}", "--verify", "--json", out, "--speed", "2",
                                os.path.join(TMP, "eth-vlan.pcap"))
            r = json.load(open(out)) if os.path.exists(out) else {"totals": {}}
            t = r["totals"]
            check(rc == 0 and t.get("rtp_received") == c.rtp and t.get("rtcp_received") == c.rtcp and t.get("lost") == 0
                  and t.get("not_sent") == 0, f"slow ng (offers answered after 300 ms): every packet sent and relayed ({t.get('rtp_received')})")
            # three offers (two calls and the re-INVITE), each ~300 ms late
            shift = t.get("schedule_shift_ms", 0)
            check(t.get("schedule_shifts", 0) >= 3 and shift >= 800 and "schedule shifted" in so,
                  f"slow ng: the schedule shifted ~3 x 300 ms and says so ({t.get('schedule_shifts')} shifts, {shift} ms)")
            # the run took the capture's 1 s (at --speed 2), the grace, the drain and the shift: a shift
            # larger than the time waited would leave less
            rest = t.get("duration_s", 0) - shift / 1000
            # (not more: a loaded machine adds its own delays, the final deletes' among them)
            check(rest >= 1.4, f"slow ng: duration minus the shift is at least the schedule's 1.6 s ({rest:.2f} s)")
            # spacing kept: after the last shift the 20 ms packets still go out 10 ms apart (--speed 2)
            tl = r.get("timeline", {}).get("sent", [])
            busy = [n for n in tl if n]
            check(busy and max(busy) <= 60, f"slow ng: no catch-up burst (at most {max(busy) if busy else None} packets per 100 ms)")
        finally:
            slow.close()
        no_calls_left(d, "slow ng")
        # multiplied: 4 copies of both calls, every copy torn down
        rc, r, _ = report(d, os.path.join(TMP, "eth-vlan.pcap"), "--speed", "4", "--multiply", "4")
        t = r["totals"] if r else {}
        check(rc == 0 and t.get("calls_set_up") == 8 and t.get("calls_deleted") == 8 and
              t.get("rtp_received") == 4 * c.rtp and t.get("rtcp_received") == 4 * c.rtcp and t.get("mismatched") == 0,
              f"x4: 8 calls, {t.get('rtp_received')} RTP and {t.get('rtcp_received')} RTCP relayed identical (SSRCs rewritten in both)")
        no_calls_left(d, "x4")
        synth_tests(d)
        st = ng(d.port, command="statistics")
        cur = st.get("statistics", {}).get("currentstatistics", {})
        check(all(v == 0 for k, v in cur.items() if "session" in k.lower()), f"statistics: no session open ({cur})")

    # 4. malformed captures: clear errors, exit 65, no crash
    good = pcap(c.records(LT_ETH), LT_ETH)
    cases = [
        ("truncated record", write("trunc.pcap", good[:-7]), [], ["record", "truncated"]),
        ("bad magic", write("magic.pcap", b"\xde\xad\xbe\xef" + good[4:]), [], ["bad magic"]),
        ("empty file", write("empty.pcap", b""), [], ["empty.pcap"]),
        ("unsupported link type", write("wlan.pcap", pcap(c.records(LT_ETH), LT_WLAN)), [], ["unsupported link type 105"]),
        ("no SIP and no side file", write("nosip.pcap", pcap([(0, frame(LT_ETH, ip_udp("10.0.0.1", "10.0.0.2", 4000, 4002, rtp(0, 1, 0, 1, b"x" * 160))))], LT_ETH)), [], ["no SIP", "--auto"]),
    ]
    recs = c.records(LT_ETH)
    cut = [(t, f[:60], len(f)) if k == 30 else (t, f) for k, (t, f) in enumerate(recs)]
    cases.append(("snaplen-cut packet", write("cut.pcap", pcap(cut, LT_ETH)), [], ["cut by the snaplen", "record 31", "--skip-cut"]))
    bad_sdp = Cap()
    bad_sdp.add(0, "10.0.0.1", "10.0.0.9", 5060, 5060,
                sip("INVITE sip:b@x SIP/2.0", "bad@x", "t1", "", "1 INVITE", "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio many RTP/AVP 0\r\n"))
    cases.append(("SDP not understood", write("badsdp.pcap", pcap(bad_sdp.records(LT_ETH), LT_ETH)), [], ["record 1", "SDP cannot be understood", "m= line"]))
    bad_c = Cap()
    bad_c.add(0, "10.0.0.1", "10.0.0.9", 5060, 5060,
              sip("INVITE sip:b@x SIP/2.0", "badc@x", "t1", "", "1 INVITE", "v=0\r\nc=IN IP4 media.example\r\nm=audio 4000 RTP/AVP 0\r\n"))
    cases.append(("SDP with a host name", write("badc.pcap", pcap(bad_c.records(LT_ETH), LT_ETH)), [], ["SDP cannot be understood", "numeric"]))
    for what, path, extra, words in cases:
        rc, so, se = replay("--dry-run", *extra, path)
        check(rc == 65 and all(w in se for w in words) and path in se,
              f"{what}: exit 65 with a clear error ({rc}: {se.strip()[:160]})")
    rc, so, se = replay("--dry-run", "--skip-cut", os.path.join(TMP, "cut.pcap"))
    check(rc == 0 and "1 record(s) cut by the snaplen skipped" in se, f"--skip-cut: the cut record skipped and said so ({rc})")
    # garbage after a good header, random mutations: errors or replays, never a crash
    import random
    rnd = random.Random(12)
    crashes = 0
    for i in range(300):
        b = bytearray(good)
        for _ in range(rnd.randint(1, 20)):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        b = bytes(b[:rnd.randint(24, len(b))])
        rc, _, _ = replay("--dry-run", write("mut.pcap", b), timeout=30)
        crashes += rc < 0 or rc not in (0, 65)
    check(crashes == 0, f"300 mutated captures: every run exits 0 or 65 ({crashes} did not)")
    rc, _, se = replay("--ng", "127.0.0.1:9", "--auto", "--quiet", f"{SIPP}/g711a.pcap", timeout=30) if have_sipp else (69, "", "")
    check(rc == 69, f"no mediusd at --ng: exit 69 ({rc} {se.strip()[:100]})")
    finish()


def seeds(out):
    """Fuzz seeds for the capture reader: each link type, pcapng, IPv6."""
    os.makedirs(out, exist_ok=True)
    c = sip_capture()
    for lt, name in ((LT_ETH, "eth"), (LT_SLL, "sll"), (LT_SLL2, "sll2"), (LT_RAW, "raw")):
        recs = c.records(lt)[:12]
        with open(os.path.join(out, f"{name}.pcap"), "wb") as f:
            f.write(pcap(recs, lt))
    with open(os.path.join(out, "eth.pcapng"), "wb") as f:
        f.write(pcapng(c.records(LT_ETH)[:12], LT_ETH))


if __name__ == "__main__":
    main()
