"""Bad input on a kernel-UDP relay: each kind of bad packet lands on its own
drop counter, and the call carries on (valid packets sent after each one
are still relayed). Also the latching rules that stop RTP Bleed and
injection: a latched leg ignores strangers, a strict leg accepts only its
signalled peer, and on an SRTP leg a silent source can be taken over by an
authenticated packet only after the re-latch time. (test_relay_source.py
covers the source policy of plain legs through mediusd.)

Leg A takes SRTP (AES_CM_128_HMAC_SHA1_80) from peer 1 and relays plain RTP
through leg B to a receiver. Leg A is signalled at 127.0.0.2 with SIP source
127.0.0.1 (a NATed peer: any port of 127.0.0.1 may latch); leg B is
asymmetric and plain; leg C/D (a second harness) is strict."""
import base64
import json
import os
import socket
import struct
import subprocess
import time

from media_check import stop
from medius_test import check, finish

HARNESS = os.environ.get("RELAY_HARNESS", "build/tests/relay_harness")
SRTP_TOOL = os.environ.get("SRTP_TOOL", "build/tests/srtp_tool")
SUITE = "AES_CM_128_HMAC_SHA1_80"


def rtp(seq, ssrc=0x1111, pt=0, payload=b"\xff" * 160):
    return struct.pack("!BBHII", 0x80, pt, seq & 0xffff, seq * 160, ssrc) + payload


def protect(key, packets):
    r = subprocess.run([SRTP_TOOL, "protect", f"{SUITE}:{base64.b64encode(key).decode()}"],
                       input="".join(p.hex() + "\n" for p in packets), capture_output=True, text=True, timeout=30)
    return [bytes.fromhex(line) for line in r.stdout.split()]


def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.5)
    return s


def harness(a, b, relatch=None):
    args = [HARNESS] + (["--relatch", str(relatch)] if relatch is not None else []) + ["--a", a, "--b", b]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready = p.stdout.readline().split()
    assert ready and ready[0] == "READY", ready
    return p, {k: int(v) for k, v in (kv.split("=") for kv in ready[1:])}


def received(sock):
    n = 0
    try:
        while True:
            sock.recv(4096)
            n += 1
    except (socket.timeout, BlockingIOError):
        return n


def counters(p):
    out, _ = stop(p)
    return json.loads(out.strip().splitlines()[-1])


# ---- SRTP leg A -> plain leg B -> receiver ----
key = os.urandom(30)
rx = udp()
p, ports = harness(f"rx={SUITE}:{base64.b64encode(key).decode()},clock=8000,remote=127.0.0.2:9,sip=127.0.0.1",
                   f"remote=127.0.0.1:{rx.getsockname()[1]},flags=asymmetric,clock=8000", relatch=2000)
a = ("127.0.0.1", ports["a_rtp"])
peer1, stranger = udp(), udp()
good = protect(key, [rtp(i) for i in range(1, 40)])
check(len(good) == 39 and all(len(g) == 182 for g in good), "srtp_tool made 39 SRTP packets")
it = iter(good)


def send_good(n=1, sock=peer1):
    for _ in range(n):
        sock.sendto(next(it), a)


send_good(3)
time.sleep(0.1)
check(received(rx) == 3, "valid SRTP from peer 1 is relayed (and latches leg A)")

bad = [
    ("truncated", b"\x80\x00\x00\x01\x00\x00", "rtp_trunc"),
    ("wrong version", bytes([0xc0]) + good[0][1:], "rtp_version"),
    ("wrong auth tag", good[10][:-1] + bytes([good[10][-1] ^ 0x55]), "srtp_auth"),
    ("replayed", good[0], "srtp_replay"),
    ("oversized", b"\x80" + b"\x00" * 3999, "oversized"),
    ("STUN on a media port", b"\x00\x01\x00\x00" + b"\x21\x12\xa4\x42" + os.urandom(12), "not_rtp"),
    ("truncated SRTP (no room for the tag)", good[30][:17], "srtp_malformed"),
]
for what, pkt, counter in bad:
    peer1.sendto(pkt, a)
    send_good(1)
    time.sleep(0.05)
    check(received(rx) == 1, f"after a {what} packet the call carries on")
# an SSRC flood from the latched peer, every packet authentic: the leg's
# SRTP context keeps state for 16 SSRCs (0x1111 is one), the rest are refused
flood = protect(key, [rtp(1, ssrc=0x5000 + i) for i in range(20)])
check(len(flood) == 20, "srtp_tool made 20 SRTP packets of 20 SSRCs")
for f in flood:
    peer1.sendto(f, a)
time.sleep(0.1)
check(received(rx) == 15, "SSRC flood: 15 new SSRCs fit in the context and are relayed")
send_good(1)
time.sleep(0.05)
check(received(rx) == 1, "after an SSRC flood the call carries on")
stranger.sendto(good[20], a)  # a valid packet, from the wrong address
send_good(1)
time.sleep(0.05)
check(received(rx) == 1, "a packet from a stranger is not relayed; the call carries on")
# re-latch: once peer 1 has been silent for the re-latch time, a new source
# whose packet authenticates may take over
time.sleep(2.1)
send_good(1, stranger)
time.sleep(0.05)
check(received(rx) == 1, "after 2 s of silence (the re-latch time) a new source (NAT rebinding) takes over")
send_good(1, peer1)
time.sleep(0.05)
check(received(rx) == 0, "... and the old source, back within the re-latch time, is now the stranger")

st = counters(p)
drops = st["a"]["drops"]
for what, _, counter in bad:
    check(drops.get(counter) == 1, f"{what}: counted as {counter} ({drops.get(counter)})")
check(drops.get("srtp_ssrc_limit") == 5, f"SSRC flood: 5 counted as srtp_ssrc_limit ({drops.get('srtp_ssrc_limit')})")
check(drops.get("relatch_refused") == 2 and not drops.get("spoofed_source"),
      f"refused take-overs counted as relatch_refused: {drops}")
check(st["a"]["rtp_packets"] == 28 and st["b"]["out_packets"] == 28,  # 3 + 7 + 15 + 1 + 1 + 1
      f"leg A accepted {st['a']['rtp_packets']}, leg B sent {st['b']['out_packets']} (want 28)")
check(sum(st["lcores"]["drops"].values()) == sum(drops.values()),
      f"the lcore counters agree: {st['lcores']['drops']}")

# ---- RTP Bleed on a plain symmetric leg, and strict source ----
rx2 = udp()
peer, attacker = udp(), udp()
p, ports = harness(f"clock=8000,remote=127.0.0.1:{peer.getsockname()[1]}",
                   f"remote=127.0.0.1:{rx2.getsockname()[1]},flags=asymmetric")
a = ("127.0.0.1", ports["a_rtp"])
peer.sendto(rtp(1, 0x2222), a)
time.sleep(0.05)
for i in range(20):
    attacker.sendto(rtp(100 + i, 0x6666), a)  # racing in after the first packet
peer.sendto(rtp(2, 0x2222), a)
time.sleep(0.1)
check(received(rx2) == 2, "RTP Bleed: an attacker racing a latched plain leg gets nothing relayed")
st = counters(p)
check(st["a"]["drops"].get("spoofed_source") == 20 and st["a"]["source"].endswith(str(peer.getsockname()[1])),
      f"... 20 spoofed drops, still latched to the peer ({st['a']['source']})")

peer, other = udp(), udp()
rx3 = udp()
p, ports = harness(f"remote=127.0.0.1:{peer.getsockname()[1]},flags=strict",
                   f"remote=127.0.0.1:{rx3.getsockname()[1]},flags=asymmetric")
a = ("127.0.0.1", ports["a_rtp"])
other.sendto(rtp(1, 0x3333), a)  # first, but not the signalled address
peer.sendto(rtp(1, 0x4444), a)
time.sleep(0.1)
check(received(rx3) == 1, "strict source: only the signalled address is relayed, even before latching")
st = counters(p)
check(st["a"]["drops"].get("spoofed_source") == 1, f"strict source: the other one is counted ({st['a']['drops']})")
finish()
