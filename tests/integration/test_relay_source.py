"""The source policy of plain RTP legs through mediusd over kernel UDP, with
its default configuration (RTP Bleed): media never goes to an address that
signalling did not name, and a stranger can neither take a leg's media nor
inject into it.

  1. The race before the first packet: a stranger sprays the call's four
     ports while A talks and B has not sent anything yet.
  2. Re-latching after silence: A goes quiet for longer than
     media.relatch_ms; a stranger then sends with A's SSRC and with random
     ones.
  3. Variations on a NATed peer (SDP 127.0.0.2, received-from 127.0.0.1, so
     any port of 127.0.0.1 may latch): until A's first packet B's media goes
     to A's signalled address; a take-over needs A's SSRC, a sequence number
     just ahead and a timestamp in step (random SSRC, far sequence, far
     timestamp are refused); a NAT rebinding with continuity is followed.
  4. A re-INVITE moves A to a new port: media follows signalling at once.
  5. RTCP follows the RTP latch: a stranger's RTCP before either side sent
     any does not capture the RTCP port (issue: RTCP latching).
  6. The asymmetric flag: medius sends to the signalled address only.
  7. Counting and logging: refusals on the legs' and the interface's
     counters (statistics), and one log line per leg.
All on 127.0.0.0/8."""
import os
import random
import re
import socket
import struct
import time

from medius_test import Daemon, check, drain, finish, ng

PT = 0


def udp(addr="127.0.0.1", port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    s.settimeout(0.3)
    return s


def sdp(addr, port, extra=""):
    return (f"v=0\r\no=- 1 1 IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=ptime:20\r\n{extra}")


def rtp(seq, ts, ssrc, payload=b"\xd5" * 160):
    return struct.pack("!BBHII", 0x80, PT, seq & 0xffff, ts & 0xffffffff, ssrc) + payload


def rtcp_rr(ssrc):
    return struct.pack("!BBHI", 0x80, 201, 1, ssrc)


def rtcp_bye(ssrc):
    return struct.pack("!BBHI", 0x81, 203, 1, ssrc)


def port_of(text):
    return int(re.search(r"^m=audio (\d+) ", text, re.M).group(1))


class Peer:
    """A phone: an RTP socket on its SDP port and an RTCP socket above it."""

    def __init__(self, addr="127.0.0.1"):
        for _ in range(50):
            port = random.randrange(20000, 29000, 2)
            try:
                self.rtp, self.rtcp = udp(addr, port), udp(addr, port + 1)
                break
            except OSError:
                continue
        self.port = port
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.ts = random.getrandbits(32)

    def send(self, to, n=1, gap=0.0, sock=None):
        for _ in range(n):
            (sock or self.rtp).sendto(rtp(self.seq, self.ts, self.ssrc), ("127.0.0.1", to))
            self.seq += 1
            self.ts += 160
            if gap:
                time.sleep(gap)


def count(s, n=2000, timeout=0.3):
    return len(drain(s, n, timeout))


def setup(P, cid, a, b, a_addr="127.0.0.1", **offer_extra):
    """Offer from A, answer from B; returns (port A sends to, port B sends to)."""
    o = ng(P, command="offer", call_id=cid, from_tag="a", sdp=sdp(a_addr, a.port), **offer_extra)
    an = ng(P, command="answer", call_id=cid, from_tag="a", to_tag="b", sdp=sdp("127.0.0.1", b.port))
    check(o.get("result") == "ok" and an.get("result") == "ok", f"{cid}: offer and answer ({o.get('error-reason')})")
    return port_of(an["sdp"]), port_of(o["sdp"])


def stream(P, cid, tag):
    return ng(P, command="query", call_id=cid)["tags"][tag]["medias"][0]["streams"][0]


def errors(P, cid, tag):
    return stream(P, cid, tag)["stats"]["errors"]


def endpoint(P, cid, tag):
    """The source medius latched for the tag's side ("IP:port"), or None."""
    return stream(P, cid, tag)["endpoint"].get("address")


def junk(ssrc=None):
    """What a stranger sprays: RTP with a random or chosen SSRC, or noise."""
    if random.random() < 0.3:
        return bytes([0x80, PT]) + os.urandom(random.randint(10, 170))
    return rtp(random.getrandbits(16), random.getrandbits(32), ssrc or random.getrandbits(32))


with Daemon() as d:
    P = d.port

    # --- 1. the race before the first packet ---
    a, b, stranger = Peer(), Peer(), udp()
    to_a, to_b = setup(P, "race", a, b)
    targets = [to_a, to_a + 1, to_b, to_b + 1]
    for i in range(250):
        if i % 2 == 0:
            for t in targets:
                stranger.sendto(junk(), ("127.0.0.1", t))
        a.send(to_a)
        time.sleep(0.002)
    got_b, got_stranger = count(b.rtp), count(stranger)
    check(got_b == 250, f"race: B received {got_b} of A's 250 packets")
    check(got_stranger == 0, f"race: the stranger received {got_stranger} packets")
    check(count(a.rtp) == 0, "race: nothing the stranger sent reached A")
    check(endpoint(P, "race", "b") is None, f"race: B's side latched nothing ({endpoint(P, 'race', 'b')})")
    check(endpoint(P, "race", "a") == f"127.0.0.1:{a.port}", f"race: A's side latched A ({endpoint(P, 'race', 'a')})")
    check(errors(P, "race", "b") >= 250, f"race: the stranger's packets to B's side counted: {errors(P, 'race', 'b')}")
    # B now starts late: its first packet from its SDP address latches
    b.send(to_b, 20)
    check(count(a.rtp) == 20 and count(stranger) == 0, "race: B starts late, A gets B's 20 packets")

    # --- 2. re-latching after silence ---
    a, b, stranger = Peer(), Peer(), udp()
    to_a, to_b = setup(P, "silence", a, b)
    for _ in range(25):
        a.send(to_a)
        b.send(to_b)
        time.sleep(0.004)
    check(count(a.rtp) == 25 and count(b.rtp) == 25, "silence: A and B exchange 25 packets each")
    time.sleep(3.3)  # A silent for longer than media.relatch_ms (3000)
    seq, ts = a.seq, a.ts
    for i in range(80):
        ssrc = a.ssrc if i % 2 == 0 else random.getrandbits(32)
        stranger.sendto(rtp(seq + i, ts + 160 * i, ssrc), ("127.0.0.1", to_a))  # A's own SSRC and seq
        b.send(to_b)
        time.sleep(0.004)
    got_b, got_a, got_stranger = count(b.rtp), count(a.rtp), count(stranger)
    check(got_b == 0, f"silence: the stranger injected {got_b} packets into B")
    check(got_stranger == 0, f"silence: the stranger received {got_stranger} of B's packets")
    check(got_a == 80, f"silence: A, silent, still receives all of B's packets: {got_a} of 80")
    check(endpoint(P, "silence", "a") == f"127.0.0.1:{a.port}", "silence: A's side is still latched on A")
    a.send(to_a, 10)
    check(count(b.rtp) == 10, "silence: A talks again and B hears it")

    # --- 3. a NATed peer: SDP 127.0.0.2, SIP source 127.0.0.1 ---
    a, b, mapped = Peer(), Peer(), udp()
    signalled = udp("127.0.0.2", a.port)  # what A's SDP names (the private side)
    to_a, to_b = setup(P, "nat", a, b, a_addr="127.0.0.2", received_from=["IP4", "127.0.0.1"])
    b.send(to_b, 5)
    check(count(signalled) == 5 and count(a.rtp) == 0,
          "nat: before A's first packet, B's media goes to A's signalled address")
    a.send(to_a, 5, sock=mapped)  # A's NAT mapping: any port of the SIP source IP may latch
    check(count(b.rtp) == 5, "nat: A's first packets from its NAT address latch and are relayed")
    b.send(to_b, 5)
    check(count(mapped) == 5 and count(signalled) == 0, "nat: B's media now goes to A's NAT address")
    intruder = udp()
    for what, pkt in [("a random SSRC", rtp(a.seq, a.ts, random.getrandbits(32))),
                      ("A's SSRC, sequence far ahead", rtp(a.seq + 1000, a.ts, a.ssrc)),
                      ("A's SSRC, sequence behind", rtp(a.seq - 3, a.ts, a.ssrc)),
                      ("A's SSRC, timestamp far ahead", rtp(a.seq, a.ts + 8000 * 60, a.ssrc))]:
        before = errors(P, "nat", "a")
        intruder.sendto(pkt, ("127.0.0.1", to_a))
        time.sleep(0.05)
        check(count(b.rtp) == 0 and errors(P, "nat", "a") == before + 1, f"nat: a take-over with {what} is refused")
    b.send(to_b, 3)
    check(count(intruder) == 0 and count(mapped) == 3, "nat: the intruder got nothing, A still gets B's media")
    rebound = udp()  # A's NAT rebinds: a new port, the same stream
    a.send(to_a, 10, sock=rebound)
    check(count(b.rtp) == 10, "nat: a rebinding with the stream's SSRC, sequence and timestamp is followed")
    b.send(to_b, 4)
    check(count(rebound) == 4 and count(mapped) == 0, "nat: B's media follows A to its new port")

    # --- 4. a re-INVITE moves A ---
    a, b = Peer(), Peer()
    to_a, to_b = setup(P, "move", a, b)
    a.send(to_a, 5)
    b.send(to_b, 5)
    check(count(b.rtp) == 5 and count(a.rtp) == 5, "move: media both ways")
    a2 = Peer()
    o = ng(P, command="offer", call_id="move", from_tag="a", sdp=sdp("127.0.0.1", a2.port))
    check(o.get("result") == "ok", "move: A re-offers with a new port")
    b.send(to_b, 5)
    check(count(a2.rtp) == 5 and count(a.rtp) == 0, "move: B's media goes to A's new address at once")
    a.send(to_a, 5)
    check(count(b.rtp) == 0, "move: A's old address is no longer accepted")
    a2.ssrc, a2.seq, a2.ts = a.ssrc, a.seq, a.ts
    a2.send(to_a, 5)
    check(count(b.rtp) == 5, "move: A's new address is")

    # --- 5. RTCP follows RTP ---
    a, b, stranger = Peer(), Peer(), udp()
    to_a, to_b = setup(P, "rtcp", a, b)
    for _ in range(10):  # RTP both ways, no RTCP yet
        a.send(to_a)
        b.send(to_b)
    drain(a.rtp), drain(b.rtp)
    for _ in range(10):
        stranger.sendto(rtcp_bye(0xbad), ("127.0.0.1", to_b + 1))
        stranger.sendto(rtcp_bye(0xbad), ("127.0.0.1", to_a + 1))
    time.sleep(0.05)
    for _ in range(10):
        a.rtcp.sendto(rtcp_rr(a.ssrc), ("127.0.0.1", to_a + 1))
        b.rtcp.sendto(rtcp_rr(b.ssrc), ("127.0.0.1", to_b + 1))
    got_a, got_b, got_s = drain(a.rtcp), drain(b.rtcp), drain(stranger)
    check(len(got_s) == 0, f"rtcp: the stranger received {len(got_s)} RTCP packets")
    check(len(got_a) == 10 and all(p[1] == 201 for p in got_a),
          f"rtcp: A received B's 10 receiver reports and no BYE ({len(got_a)})")
    check(len(got_b) == 10 and all(p[1] == 201 for p in got_b),
          f"rtcp: B received A's 10 receiver reports and no BYE ({len(got_b)})")

    # --- 6. asymmetric: send to the signalled address, latch nothing ---
    a, b = Peer(), Peer()
    other = udp()
    to_a, to_b = setup(P, "asym", a, b, flags=["asymmetric"])
    a.send(to_a, 5, sock=other)  # from another port of the signalled IP: accepted, not latched
    check(count(b.rtp) == 5, "asymmetric: A sending from another port of its IP is relayed")
    b.send(to_b, 5)
    check(count(a.rtp) == 5 and count(other) == 0, "asymmetric: B's media goes to A's signalled port")

    # --- 7. one log line per leg for the first refused source ---
    time.sleep(1.5)  # the control lcore logs on its 1 s tick
    log = d.log_text()
    lines = [l for l in log.splitlines() if "refused media from" in l]
    check(any(f"127.0.0.1:{stranger.getsockname()[1]}" in l for l in lines) and len(lines) <= 12,
          f"the first refused source per leg is logged with its address ({len(lines)} lines)")
    tot = ng(P, command="statistics")["statistics"]["totalstatistics"]
    ifs = {i["name"]: i["drops"] for i in tot["interfaces"]}
    check(ifs.get("default", {}).get("spoofed_source", 0) >= 250 + 80 + 20 and
          ifs["default"].get("relatch_refused", 0) == 4,
          f"statistics: refusals by interface: {ifs}")
    check(tot["media clock"]["ticks"] == 0 and tot["media clock"]["period ms"] == 20,
          f"statistics: the media clock took no tick (nothing terminates media here): {tot['media clock']}")

finish()
