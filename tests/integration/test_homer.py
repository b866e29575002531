"""Homer (HEPv3) export, and what mediusctl show says of a call's peers.

A relayed call between A and B with RTP and RTCP both ways, mediusd set to
export to a UDP port on loopback ([homer] address, capture_id,
quality_interval_seconds = 1). tshark captures that port (the wire as an
independent tool sees it); tshark 4.0 has no HEP dissector, so the HEPv3
chunks of the captured UDP payloads are decoded here, from the format:
the correlation id must be the call-id, the capture id the configured one,
the addresses A's (or B's) RTCP port and medius's leg, and the RTCP JSON
must carry the SSRC, packet and octet counts, fraction lost, cumulative
loss, jitter, LSR and DLSR that A's SR and B's RR held. medius's own
quality reports (type 34) must come too, with a MOS.

Then mediusctl show: on an asymmetric leg with packets flowing the peer
column shows the SDP's address marked "(sdp)" (an asymmetric leg never
latches; the flag makes both of the call's legs asymmetric), a latched leg
its source, and RTT "-" until RTCP gave one, then a number."""
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time

from medius_test import (MEDIUSCTL, Daemon, call_sdp, check, drain, finish, free_port, media_port, ng,
                         rtp_rtcp_pair)

TSHARK = os.environ.get("TSHARK", "tshark")
CID = "homer-call-1@example.org"


def rtp(seq, ssrc, pt=0):
    return struct.pack("!BBHII", 0x80, pt, seq, seq * 160, ssrc) + b"\xd5" * 160


def block(ssrc, fraction, cum, high, jitter, lsr, dlsr):
    return struct.pack("!IIIIII", ssrc, (fraction << 24) | (cum & 0xffffff), high, jitter, lsr, dlsr)


def sr(ssrc, ntp, ts, packets, octets, rb):
    body = struct.pack("!IIIIII", ssrc, ntp >> 32, ntp & 0xffffffff, ts, packets, octets) + rb
    return struct.pack("!BBH", 0x80 | len(rb) // 24, 200, len(body) // 4) + body


def rr(ssrc, rb):
    body = struct.pack("!I", ssrc) + rb
    return struct.pack("!BBH", 0x81, 201, len(body) // 4) + body


def hep_decode(b):
    """HEPv3: 'HEP3', total length, then chunks (vendor, type, length incl. 6, value)."""
    if b[:4] != b"HEP3" or struct.unpack("!H", b[4:6])[0] != len(b):
        return None
    out, off = {}, 6
    while off < len(b):
        vendor, ctype, clen = struct.unpack("!HHH", b[off:off + 6])
        if clen < 6 or off + clen > len(b) or vendor != 0:
            return None
        out[ctype] = b[off + 6:off + clen]
        off += clen
    return out


def hep_fields(c):
    return {
        "family": c[1][0], "proto": c[2][0],
        "src": socket.inet_ntoa(c[3]) + ":%d" % struct.unpack("!H", c[7])[0],
        "dst": socket.inet_ntoa(c[4]) + ":%d" % struct.unpack("!H", c[8])[0],
        "time": struct.unpack("!I", c[9])[0], "type": c[11][0], "capture_id": struct.unpack("!I", c[12])[0],
        "correlation": c.get(17, b"").decode(), "payload": c[15],
    }


if not shutil.which(TSHARK):
    print(f"SKIP: {TSHARK} not found")
    finish()
hport = free_port()
collector = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
collector.bind(("127.0.0.1", hport))
collector.settimeout(0.2)
tmp = tempfile.mkdtemp(prefix="medius-homer-")
cap = os.path.join(tmp, "hep.pcap")
tsh = subprocess.Popen([TSHARK, "-i", "lo", "-f", f"udp dst port {hport}", "-w", cap, "-q"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
# wait until tshark captures (it says so on stderr)
t_end = time.time() + 15
line = b""
while time.time() < t_end and b"Capturing on" not in line:
    line += tsh.stderr.read1(256) if hasattr(tsh.stderr, "read1") else tsh.stderr.readline()
time.sleep(0.5)

with Daemon("--set", f"homer.address=127.0.0.1:{hport}", "--set", "homer.capture_id=2001",
            "--set", "homer.quality_interval_seconds=1") as d:
    check("exporting RTCP and quality to 127.0.0.1:%d/udp (capture id 2001)" % hport in d.log_text(),
          "the export is announced in the log")
    a, a_c = rtp_rtcp_pair()
    b, b_c = rtp_rtcp_pair()
    o = ng(d.port, command="offer", call_id=CID, from_tag="A", sdp=call_sdp(a.getsockname()[1]))
    to_b = media_port(o["sdp"])
    an = ng(d.port, command="answer", call_id=CID, from_tag="A", to_tag="B", sdp=call_sdp(b.getsockname()[1]))
    to_a = media_port(an["sdp"])
    for i in range(50):
        a.sendto(rtp(i, 0x1111), ("127.0.0.1", to_a))
        b.sendto(rtp(i, 0x2222), ("127.0.0.1", to_b))
        time.sleep(0.002)
    ntp = (3_900_000_000 << 32) | 0x80000000
    a_sr = sr(0x1111, ntp, 8000, 50, 8000, block(0x2222, 64, 5, 1234, 77, 0x11112222, 0x00010000))
    a_c.sendto(a_sr, ("127.0.0.1", to_a + 1))
    time.sleep(1.2)  # one export tick per second: one report each
    b_rr = rr(0x2222, block(0x1111, 0, 0, 49, 12, (ntp >> 16) & 0xffffffff, 0x8000))
    b_c.sendto(b_rr, ("127.0.0.1", to_b + 1))
    time.sleep(2.5)
    got = []
    while True:
        try:
            got.append(collector.recv(65535))
        except socket.timeout:
            break
    check(len(got) >= 3, f"the collector got HEP messages ({len(got)})")
    out = subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{d.port}", "show", CID], capture_output=True, text=True,
                         timeout=30).stdout
    check(re.search(r"^\s+A\s.*\s127\.0\.0\.1:%d\s" % a.getsockname()[1], out, re.M) and "(sdp)" not in out,
          f"mediusctl show: a latched leg shows the source it latched:\n{out}")
    ng(d.port, command="delete", call_id=CID)
    d.stop()
    m = re.search(r"homer export: (\d+) messages sent, (\d+) dropped", d.log_text())
    check(m and int(m.group(1)) >= len(got) and m.group(2) == "0",
          f"at shutdown the export's counters are logged ({m.group(0) if m else None})")
time.sleep(0.5)
tsh.terminate()
tsh.wait(10)
r = subprocess.run([TSHARK, "-r", cap, "-T", "fields", "-e", "udp.payload"], capture_output=True, text=True)
wire = [bytes.fromhex(l.replace(":", "")) for l in r.stdout.split() if l]
check(len(wire) >= 3 and set(got) <= set(wire), f"tshark saw the same datagrams on the wire ({len(wire)})")
msgs = []
for w in wire:
    c = hep_decode(w)
    check(c is not None, "each datagram is a well-formed HEPv3 message")
    if c:
        msgs.append(hep_fields(c))
check(all(m["correlation"] == CID for m in msgs), f"every message's correlation id is the call-id")
check(all(m["capture_id"] == 2001 and m["family"] == 2 and m["proto"] == 17 for m in msgs),
      "capture id 2001, IPv4, UDP")
check(all(abs(m["time"] - time.time()) < 60 for m in msgs), "the timestamps are now")
rtcp = [m for m in msgs if m["type"] == 5]
qos = [m for m in msgs if m["type"] == 34]
from_a = [json.loads(m["payload"]) for m in rtcp if m["src"] == "127.0.0.1:%d" % a_c.getsockname()[1]]
from_b = [json.loads(m["payload"]) for m in rtcp if m["src"] == "127.0.0.1:%d" % b_c.getsockname()[1]]
check(len(from_a) == 1 and all(m["dst"] == "127.0.0.1:%d" % (to_a + 1) for m in rtcp
                               if m["src"].endswith(":%d" % a_c.getsockname()[1])),
      f"one RTCP message from A's RTCP port to medius's ({[m['src'] + '->' + m['dst'] for m in rtcp]})")
if from_a:
    j = from_a[0]
    si = j.get("sender_information", {})
    rb = (j.get("report_blocks") or [{}])[0]
    check(j["type"] == 200 and j["ssrc"] == 0x1111, f"A's SR: type 200, SSRC 0x1111 ({j})")
    check(si.get("packets") == 50 and si.get("octets") == 8000 and si.get("rtp_timestamp") == 8000
          and si.get("ntp_timestamp_sec") == 3_900_000_000 and si.get("ntp_timestamp_usec") == 500000,
          "A's SR: sender packets, octets, RTP and NTP time")
    check(rb.get("source_ssrc") == 0x2222 and rb.get("fraction_lost") == 64 and rb.get("packets_lost") == 5
          and rb.get("highest_seq_no") == 1234 and rb.get("ia_jitter") == 77 and rb.get("lsr") == 0x11112222
          and rb.get("dlsr") == 0x10000, f"A's report block: SSRC, fraction lost, lost, seq, jitter, LSR, DLSR ({rb})")
check(len(from_b) == 1, "one RTCP message from B")
if from_b:
    j = from_b[0]
    rb = (j.get("report_blocks") or [{}])[0]
    check(j["type"] == 201 and j["ssrc"] == 0x2222 and "sender_information" not in j, f"B's RR: type 201 ({j})")
    check(rb.get("source_ssrc") == 0x1111 and rb.get("fraction_lost") == 0 and rb.get("ia_jitter") == 12
          and rb.get("highest_seq_no") == 49, "B's report block")
q = [json.loads(m["payload"]) for m in qos]
check(len(q) >= 2 and {x["party"] for x in q} == {"offerer", "answerer"},
      f"quality reports (type 34) for both parties ({len(q)})")
last = {x["party"]: x for x in q}  # one a second: the last ones came after all the media
check(len(last) == 2 and all(x["packets"] == 50 and x["expected"] == 50 and x["lost"] == 0 and 1.0 <= x["mos"] <= 4.5
                             for x in last.values())
      and last["offerer"]["ssrc"] == 0x1111 and last["answerer"]["ssrc"] == 0x2222,
      f"... with what medius measured and a MOS ({list(last.values())})")

# --- mediusctl show: the peer of an asymmetric leg, RTT ---
ctl = lambda port, *a: subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{port}", *a], capture_output=True, text=True,
                                      timeout=30)
with Daemon() as d:
    a, a_c = rtp_rtcp_pair()
    b, b_c = rtp_rtcp_pair()
    o = ng(d.port, command="offer", call_id="asym", from_tag="A", sdp=call_sdp(a.getsockname()[1]),
           flags=["asymmetric"])
    to_b = media_port(o["sdp"])
    an = ng(d.port, command="answer", call_id="asym", from_tag="A", to_tag="B", sdp=call_sdp(b.getsockname()[1]))
    to_a = media_port(an["sdp"])
    # A sends from another port than its SDP says: an asymmetric leg takes it, never latches
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.1", 0))
    for i in range(20):
        other.sendto(rtp(i, 0x1111), ("127.0.0.1", to_a))
        b.sendto(rtp(i, 0x2222), ("127.0.0.1", to_b))
    time.sleep(0.3)
    q = ng(d.port, command="query", call_id="asym")
    legs = {t: s for t, tag in q["tags"].items() for m in tag["medias"] for s in m["streams"]}
    out = ctl(d.port, "show", "asym").stdout
    rows = {l.split()[0]: l for l in out.splitlines()[2:] if l.strip()}
    check(legs["A"]["stats"]["packets"] == 20 and not legs["A"]["endpoint"],
          "the asymmetric leg got A's packets and latched nothing")
    check("A" in rows and "127.0.0.1:%d (sdp)" % a.getsockname()[1] in rows["A"],
          f"mediusctl show: the asymmetric leg's peer is the SDP's address, marked (sdp):\n{out}")
    check(all(re.search(r"\s-\s+\d\.\d\d$", rows[t]) for t in ("A", "B")) and "-1" not in out,
          "RTT is '-' without RTCP, not -1")
    # an SR from B, then A's RR about it: now leg A has an RTT
    ntp_now = int((time.time() + 2208988800) * 65536) << 16
    b_c.sendto(sr(0x2222, ntp_now, 3200, 20, 3200, b""), ("127.0.0.1", to_b + 1))
    time.sleep(0.2)
    a_c.sendto(rr(0x1111, block(0x2222, 0, 0, 19, 0, (ntp_now >> 16) & 0xffffffff, 0)), ("127.0.0.1", to_a + 1))
    time.sleep(0.3)
    out = ctl(d.port, "show", "asym").stdout
    rows = {l.split()[0]: l for l in out.splitlines()[2:] if l.strip()}
    check(re.search(r"\s\d+\s+\d\.\d\d$", rows.get("A", "")) is not None,
          f"with RTCP the RTT is a number of ms:\n{out}")
shutil.rmtree(tmp)
finish()
