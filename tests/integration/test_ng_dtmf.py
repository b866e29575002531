"""DTMF-security silence and tone: in-band DTMF masked in real media.

A sends 1.2 s of PCMU: a 300 Hz tone (a stand-in for speech) with the
digit 5 (770 + 1336 Hz) keyed for 160 ms in the middle, the way a phone
keypad sends it in-band. What B receives is decoded and scanned in 20 ms
windows for the digit (both DTMF frequencies strong) and for the rest:

  - plain relay (the control): the digit reaches B;
  - block DTMF from A with DTMF-security silence: no window holds the
    digit, the 300 Hz around it still arrives (shifted by the mask's
    look-ahead), and A's RFC 4733 events are dropped too;
  - DTMF-security tone (frequency 1000): a 1000 Hz tone where the digit was;
  - unblock DTMF: the digit passes again;
  - the same silence on a transcoded call (A PCMA, B PCMU);
  - bad input: a tone frequency out of range is an error, nothing changes.
"""
import audioop
import math
import struct

from media_check import goertzel_power, pcm_from_bytes
from medius_test import Daemon, call_sdp, check, drain, finish, loop_sock, media_port, ng

RATE = 8000
TE = "a=rtpmap:101 telephone-event/8000\r\n"


def audio(ms=1200, digit_at=500, digit_ms=160):
    out = []
    for i in range(RATE * ms // 1000):
        t = i / RATE
        if digit_at <= i * 1000 // RATE < digit_at + digit_ms:
            v = 7000 * math.sin(2 * math.pi * 770 * t) + 7000 * math.sin(2 * math.pi * 1336 * t)
        else:
            v = 6000 * math.sin(2 * math.pi * 300 * t)
        out.append(struct.pack("<h", int(v)))
    return b"".join(out)


PCM = audio()


def send(sock, to, pt, base_seq, law):
    enc = audioop.lin2ulaw if law == "u" else audioop.lin2alaw
    for k in range(len(PCM) // 320):
        payload = enc(PCM[k * 320:(k + 1) * 320], 2)
        sock.sendto(struct.pack("!BBHII", 0x80, pt, base_seq + k, (base_seq + k) * 160, 0xA) + payload,
                    ("127.0.0.1", to))
    # and one RFC 4733 event, which blocking must drop (numbered right after
    # the audio, as a sender would: a jitter buffer drops a lone packet far ahead)
    sock.sendto(struct.pack("!BBHIIBBH", 0x80, 101, base_seq + len(PCM) // 320, base_seq * 160, 0xA, 5, 10, 160),
                ("127.0.0.1", to))


def received(sock):
    """B's audio as linear PCM (packets in sequence order) and how many events came."""
    pkts = drain(sock, 1000, 1.0)
    audio_pkts = sorted((p for p in pkts if p[1] & 0x7f in (0, 8)), key=lambda p: struct.unpack("!H", p[2:4])[0])
    pcm = b"".join(audioop.ulaw2lin(p[12:], 2) if p[1] & 0x7f == 0 else audioop.alaw2lin(p[12:], 2) for p in audio_pkts)
    return pcm_from_bytes(pcm), sum(1 for p in pkts if p[1] & 0x7f == 101)


def windows(x):
    """Per 20 ms window: (DTMF strength, 300 Hz share, 1000 Hz share), shares of the window's power."""
    out = []
    for w in range(0, len(x) - 160 + 1, 160):
        seg = x[w:w + 160]
        total = sum(v * v for v in seg) / len(seg) + 1e-9
        dtmf = min(goertzel_power(seg, RATE, 770), goertzel_power(seg, RATE, 1336)) / total
        out.append((dtmf, goertzel_power(seg, RATE, 300) / total, goertzel_power(seg, RATE, 1000) / total, total))
    return out


with Daemon() as d:
    P = d.port
    for case, a_pt, b_pt, law_a in (("relayed", 0, 0, "u"), ("transcoded", 8, 0, "a")):
        a, b = loop_sock(), loop_sock()
        ng(P, command="offer", call_id=case, from_tag="A", sdp=call_sdp(a.getsockname()[1], pts=(a_pt, 101), extra=TE))
        an = ng(P, command="answer", call_id=case, from_tag="A", to_tag="B",
                sdp=call_sdp(b.getsockname()[1], pts=(b_pt, 101), extra=TE))
        to_a = media_port(an["sdp"])
        runs = [("plain", {}), ("silence", {"DTMF-security": "silence"}),
                ("tone", {"DTMF-security": "tone", "frequency": 1000}), ("unblocked", None)]
        if case == "transcoded":
            runs = [("plain", {}), ("silence", {"DTMF-security": "silence"})]
        seq = 1000
        for name, opts in runs:
            if opts is None:
                r = ng(P, command="unblock DTMF", call_id=case, from_tag="A")
            elif opts:
                r = ng(P, command="block DTMF", call_id=case, from_tag="A", **opts)
            else:
                r = {"result": "ok"}
            send(a, to_a, a_pt, seq, law_a)
            seq += 2000
            x, events = received(b)
            ws = windows(x)
            digit = sum(1 for w in ws if w[0] > 0.2)
            speech = sum(1 for w in ws if w[1] > 0.8)
            if name in ("plain", "unblocked"):
                check(r["result"] == "ok" and digit >= 6 and events == 1,
                      f"{case} {name}: the digit reaches B ({digit} windows of 20 ms) and the event too ({events})")
            elif name == "silence":
                quiet = sum(1 for w in ws if w[3] < 1e4)
                check(r["result"] == "ok" and digit == 0 and events == 0 and quiet >= 6 and speech >= 40,
                      f"{case} silence: no window holds the digit ({digit}), {quiet} silent windows where it was, "
                      f"{speech} windows of the 300 Hz around it, events dropped ({events})")
            else:
                tone = sum(1 for w in ws if w[2] > 0.8)
                check(r["result"] == "ok" and digit == 0 and tone >= 6 and speech >= 40,
                      f"{case} tone: no digit ({digit}), a 1000 Hz tone in its place ({tone} windows), "
                      f"the 300 Hz around it ({speech})")
        q = ng(P, command="query", call_id=case)
        ng(P, command="delete", call_id=case)
    bad = ng(P, command="offer", call_id="bad", from_tag="A", sdp=call_sdp(40000, pts=(0,)), flags=["block DTMF"],
             **{"DTMF-security": "tone", "frequency": 9000})
    check(bad["result"] == "error" and "frequency" in bad["error-reason"] and
          ng(P, command="query", call_id="bad")["result"] == "error",
          f"a tone frequency out of range is an error, and no call is made: {bad.get('error-reason')!r}")
finish()
