"""RTCP that medius generates on a transcoded call, read back by tshark.

On a transcoded stream medius is the RTP endpoint each side talks to, so it
reports to each side itself. The call: A offers PCMA, B answers PCMU; both
send 20 ms packets for about 3 s, A skips two sequence numbers and sends one
sender report. With media.rtcp_interval_ms=1000, A's RTCP port must get
reports from medius: an SR whose SSRC is the one on the RTP A receives, with
packet and octet counts no larger than what A received, one report block
about A's stream (A's SSRC, the highest sequence number A had sent, 2
packets lost, LSR = the middle of A's SR's NTP time, a DLSR), and an SDES
CNAME. tshark (a real RTCP dissector) must read the same values from a
capture of those datagrams, with no malformed-packet warnings. Relayed
(not transcoded) calls forward the endpoints' own RTCP instead, and medius
generates none: the control case."""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

from medius_test import Daemon, call_sdp, check, finish, media_port, ng, rtp_rtcp_pair

TSHARK = os.environ.get("TSHARK", "tshark")






def rtp(pt, seq, ssrc, payload):
    return struct.pack("!BBHII", 0x80, pt, seq, seq * 160, ssrc) + payload


def parse_rtcp(data):
    """The compound's packets as (pt, body) pairs."""
    out, off = [], 0
    while off + 4 <= len(data):
        pt, words = data[off + 1], struct.unpack("!H", data[off + 2:off + 4])[0]
        out.append((pt, data[off:off + 4 * (words + 1)]))
        off += 4 * (words + 1)
    return out, off == len(data)


def pcap(path, payloads, dport):
    """A classic pcap of UDP datagrams 127.0.0.1:dport-1 -> 127.0.0.1:dport (IPv4, Ethernet)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, p in enumerate(payloads):
            udp = struct.pack("!HHHH", dport - 1, dport, 8 + len(p), 0) + p
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                             socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.0.1")) + udp
            frame = b"\x00" * 12 + b"\x08\x00" + ip
            f.write(struct.pack("<IIII", 1000 + i, 0, len(frame), len(frame)) + frame)


if not shutil.which(TSHARK):
    print(f"SKIP: {TSHARK} not found")
    sys.exit(77)

with Daemon("--set", "media.rtcp_interval_ms=1000") as d:
    P = d.port
    for case, answer_pts in (("transcoded", (0,)), ("relayed", (8,))):
        (a, a_rtcp), (b, b_rtcp) = rtp_rtcp_pair(), rtp_rtcp_pair()
        o = ng(P, command="offer", call_id=case, from_tag="A", sdp=call_sdp(a.getsockname()[1], pts=(8,)))
        an = ng(P, command="answer", call_id=case, from_tag="A", to_tag="B", sdp=call_sdp(b.getsockname()[1], pts=answer_pts))
        to_b, to_a = media_port(o["sdp"]), media_port(an["sdp"])
        sent_a, got_a, rtcp_a, sr_ntp = [], [], [], None
        t0 = time.time()
        for i in range(150):
            seq = 1000 + i
            if i not in (40, 41):  # two lost packets
                a.sendto(rtp(8, seq, 0xAAAA0001, b"\xd5" * 160), ("127.0.0.1", to_a))
                sent_a.append((time.time(), seq))
            b.sendto(rtp(answer_pts[0], 5000 + i, 0xBBBB0002, b"\xff" * 160), ("127.0.0.1", to_b))
            if i == 60:  # one SR from A, to medius's RTCP port for A
                now = time.time() + 2208988800
                sr_ntp = (int(now) << 32) | int((now % 1) * (1 << 32))
                sr = struct.pack("!BBHIQIII", 0x80, 200, 6, 0xAAAA0001, sr_ntp, 0, i, i * 160)
                a_rtcp.sendto(sr, ("127.0.0.1", to_a + 1))
            for s, box in ((a, got_a), (a_rtcp, rtcp_a)):
                try:
                    while True:
                        box.append((time.time(), s.recv(4096)))
                except BlockingIOError:
                    pass
            time.sleep(max(0, t0 + 0.02 * (i + 1) - time.time()))
        time.sleep(0.3)
        try:
            while True:
                rtcp_a.append((time.time(), a_rtcp.recv(4096)))
        except BlockingIOError:
            pass
        q = ng(P, command="query", call_id=case)
        ng(P, command="delete", call_id=case)
        gen = q["tags"]["A"]["medias"][0]["streams"][0]["RTCP generated"]
        if case == "relayed":
            check(gen == 0 and not rtcp_a,
                  f"relayed call: medius generates no RTCP of its own ({gen} counted, {len(rtcp_a)} received)")
            continue
        check(gen >= 2 and len(rtcp_a) == gen, f"{case}: A's RTCP port got {len(rtcp_a)} reports, medius counts {gen}")
        media_ssrcs = {struct.unpack("!I", p[8:12])[0] for _, p in got_a}
        ok_all, last = True, None
        for when, data in rtcp_a:
            pkts, whole = parse_rtcp(data)
            kinds = [pt for pt, _ in pkts]
            if not whole or kinds[-1] != 202 or kinds[0] not in (200, 201):
                ok_all = False
                continue
            pt, body = pkts[0]
            if pt == 200:
                ssrc, ntp, ts, count, octets = struct.unpack("!IQIII", body[4:28])
                received = sum(1 for t, _ in got_a if t <= when)
                if ssrc not in media_ssrcs or count > received or octets != count * 160:
                    ok_all = False
                rb = body[28:52]
            else:
                rb = body[8:32]
            last = struct.unpack("!IIIIII", rb)
            sent_before = max(s for t, s in sent_a if t <= when)
            if last[0] != 0xAAAA0001 or last[2] > sent_before or last[2] < sent_before - 10:
                ok_all = False
        check(ok_all, f"{case}: every report is SR/RR + SDES, the SR's SSRC is the one on A's media, its counts "
              f"fit what A received, the block is about A's SSRC and its highest sequence number")
        check(last and (last[1] & 0xffffff) == 2 and last[4] == (sr_ntp >> 16) & 0xffffffff and 0 < last[5] < 65536 * 3,
              f"{case}: the last block: 2 lost, LSR echoes A's SR, a DLSR under 3 s ({last and [hex(x) for x in last]})")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "rtcp.pcap")
            pcap(path, [p for _, p in rtcp_a], 20001)
            r = subprocess.run([TSHARK, "-r", path, "-d", "udp.port==20001,rtcp", "-T", "fields", "-E", "separator=;",
                                "-e", "rtcp.pt", "-e", "rtcp.senderssrc", "-e", "rtcp.ssrc.identifier",
                                "-e", "rtcp.ssrc.cum_nr", "-e", "rtcp.sdes.text", "-e", "_ws.expert.severity"],
                               capture_output=True, text=True, timeout=60)
        rows = [l.split(";") for l in r.stdout.splitlines()]
        check(r.returncode == 0 and len(rows) == len(rtcp_a) and
              all("202" in row[0] and "0xaaaa0001" in row[2] and "medius" in row[4] for row in rows) and
              rows[-1][3].split(",")[0] == "2" and not any(row[5] for row in rows),
              f"{case}: tshark reads the same reports (SDES CNAME medius, A's SSRC, 2 lost), no expert warnings: {rows[-1:]}")
finish()
