"""The ng codec options that shape transcoding, and re-INVITEs on a
transcoded call, with real media through mediusd:

  accept    the offerer keeps its accepted codec (opus) although the
            answerer picked PCMU: the answer says opus, and medius turns the
            answerer's PCMU into opus packets for the offerer.
  always transcode (flag): the same for every codec of the offerer's.
  consume   masks the codec from the answerer's offer, and still keeps it
            for the offerer (transcoded).
  offer     offers only the listed codecs, in the listed order.
  set       encoder options: opus at 12 kbit/s makes smaller packets than at
            64 kbit/s from the same audio.
  re-INVITE from the answerer on a transcoded call (hold, then resume): each
            side is told its own codec, and media keeps flowing transcoded.
  Bad options (a set without clock/channels) are error replies."""
import audioop
import math
import re
import struct

from medius_test import Daemon, call_sdp, check, drain, finish, loop_sock as sock, ng

OPUS = "a=rtpmap:96 opus/48000/2\r\n"


def sdp(port, pts, extra="", direction=""):
    return call_sdp(port, pts=pts, extra=extra + direction)


def m_line(text):
    m = re.search(r"^m=audio (\d+) RTP/AVP ([\d ]+)\r$", text, re.M)
    return int(m.group(1)), [int(x) for x in m.group(2).split()]




def port(s):
    return s.getsockname()[1]




def pcmu_tone(seq, freq=1000):
    pcm = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * (seq * 160 + i) / 8000)))
                   for i in range(160))
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, 0xB0B) + audioop.lin2ulaw(pcm, 2)


def send_pcmu(s, to, first, n):
    for i in range(first, first + n):
        s.sendto(pcmu_tone(i), ("127.0.0.1", to))


def pts_of(pkts):
    return sorted({p[1] & 0x7f for p in pkts})


with Daemon() as d:
    P = d.port

    # --- accept: the answerer picks PCMU, the offerer keeps opus ---
    a, b = sock(), sock()
    o = ng(P, command="offer", call_id="acc", from_tag="A", sdp=sdp(port(a), (96, 0), OPUS),
           codec={"accept": ["opus"]})
    to_b, offered = m_line(o["sdp"])
    check(o["result"] == "ok" and offered == [96, 0], f"accept keeps opus in the offer to the answerer ({offered})")
    an = ng(P, command="answer", call_id="acc", from_tag="A", to_tag="B", sdp=sdp(port(b), (0,)))
    to_a, answered = m_line(an["sdp"])
    check(an["result"] == "ok" and answered == [96] and "opus/48000/2" in an["sdp"] and
          "transcoded" in an.get("warning", ""), f"the offerer is answered opus, transcoded ({answered})")
    send_pcmu(b, to_b, 0, 25)
    got = drain(a)
    check(len(got) >= 20 and pts_of(got) == [96], f"the answerer's PCMU reaches the offerer as opus ({len(got)} packets)")
    ng(P, command="delete", call_id="acc")

    # without accept the same call is relayed: the control for the test above
    a, b = sock(), sock()
    o = ng(P, command="offer", call_id="noacc", from_tag="A", sdp=sdp(port(a), (96, 0), OPUS))
    an = ng(P, command="answer", call_id="noacc", from_tag="A", to_tag="B", sdp=sdp(port(b), (0,)))
    check(m_line(an["sdp"])[1] == [0] and "transcoded" not in an.get("warning", ""),
          "without accept, the offerer is answered PCMU and nothing is transcoded")
    ng(P, command="delete", call_id="noacc")

    # --- always transcode ---
    a, b = sock(), sock()
    ng(P, command="offer", call_id="always", from_tag="A", sdp=sdp(port(a), (96, 0), OPUS), flags=["always transcode"])
    an = ng(P, command="answer", call_id="always", from_tag="A", to_tag="B", sdp=sdp(port(b), (0,)))
    check(m_line(an["sdp"])[1] == [96], "always transcode: the offerer keeps its first codec (opus)")
    ng(P, command="delete", call_id="always")

    # --- consume: masked from the answerer, kept for the offerer ---
    a, b = sock(), sock()
    o = ng(P, command="offer", call_id="cons", from_tag="A", sdp=sdp(port(a), (96, 0), OPUS),
           codec={"consume": ["opus"]})
    check(m_line(o["sdp"])[1] == [0] and "opus" not in o["sdp"], "consume: the answerer is offered PCMU only")
    an = ng(P, command="answer", call_id="cons", from_tag="A", to_tag="B", sdp=sdp(port(b), (0,)))
    check(m_line(an["sdp"])[1] == [96], "consume: the offerer is answered opus, transcoded")
    ng(P, command="delete", call_id="cons")

    # --- offer: only these, in this order ---
    o = ng(P, command="offer", call_id="ord", from_tag="A", sdp=sdp(40000, (0, 8, 9, 96), OPUS),
           codec={"offer": ["G722", "PCMU"]})
    check(m_line(o["sdp"])[1] == [9, 0], f"codec offer: G722 then PCMU, the rest gone ({m_line(o['sdp'])[1]})")
    bad = ng(P, command="offer", call_id="ord2", from_tag="A", sdp=sdp(40000, (0,)), codec={"offer": ["GSM"]})
    check(bad["result"] == "error", "codec offer that leaves nothing is an error")
    ng(P, command="delete", call_id="ord")

    # --- set: the opus encoder's bitrate ---
    sizes = {}
    for rate in (12000, 64000):
        a, b = sock(), sock()
        o = ng(P, command="offer", call_id=f"set{rate}", from_tag="A", sdp=sdp(port(a), (96, 0), OPUS),
               codec={"accept": ["opus"], "set": [f"opus/48000/2/{rate}"]})
        to_b = m_line(o["sdp"])[0]
        ng(P, command="answer", call_id=f"set{rate}", from_tag="A", to_tag="B", sdp=sdp(port(b), (0,)))
        send_pcmu(b, to_b, 0, 50)
        got = [p for p in drain(a) if p[1] & 0x7f == 96]
        sizes[rate] = sum(len(p) - 12 for p in got[10:]) / max(1, len(got[10:]))
        ng(P, command="delete", call_id=f"set{rate}")
    check(sizes[12000] > 0 and sizes[64000] > 2 * sizes[12000],
          f"codec set: opus at 12 kbit/s {sizes[12000]:.0f} bytes a packet, at 64 kbit/s {sizes[64000]:.0f}")
    bad = ng(P, command="offer", call_id="set-bad", from_tag="A", sdp=sdp(40000, (0,)), codec={"set": ["opus"]})
    check(bad["result"] == "error" and "name/clock/channels" in bad["error-reason"],
          f"codec set without clock and channels is an error: {bad.get('error-reason')!r}")

    # --- a re-INVITE from the answerer on a transcoded call ---
    a, b = sock(), sock()
    o = ng(P, command="offer", call_id="rx", from_tag="A", sdp=sdp(port(a), (96, 0), OPUS),
           codec={"accept": ["opus"]})
    to_b = m_line(o["sdp"])[0]
    an = ng(P, command="answer", call_id="rx", from_tag="A", to_tag="B", sdp=sdp(port(b), (0,)))
    to_a = m_line(an["sdp"])[0]
    ro = ng(P, command="offer", call_id="rx", from_tag="B", to_tag="A", sdp=sdp(port(b), (0,), direction="a=sendonly\r\n"))
    check(ro["result"] == "ok" and m_line(ro["sdp"]) == (to_a, [96]) and "opus/48000/2" in ro["sdp"] and
          "a=sendonly" in ro["sdp"], f"B's hold re-offer reaches A as opus on A's port ({ro.get('error-reason', '')})")
    ra = ng(P, command="answer", call_id="rx", from_tag="B", to_tag="A", sdp=sdp(port(a), (96,), OPUS, "a=recvonly\r\n"))
    check(ra["result"] == "ok" and m_line(ra["sdp"]) == (to_b, [0]) and "opus" not in ra["sdp"],
          "A's answer reaches B as PCMU on B's port")
    send_pcmu(b, to_b, 100, 25)
    got = drain(a)
    check(len(got) >= 20 and pts_of(got) == [96], f"media still flows transcoded after the re-INVITE ({len(got)} packets)")
    bad = ng(P, command="offer", call_id="rx", from_tag="B", to_tag="A", sdp=sdp(port(b), (8,)))
    check(bad["result"] == "error" and "transcoded" in bad["error-reason"],
          f"a re-offer dropping the transcoded codec is an error: {bad.get('error-reason')!r}")
    send_pcmu(b, to_b, 200, 5)
    check(len(drain(a)) >= 4, "... and changes nothing: media still flows")
    ng(P, command="delete", call_id="rx")
finish()
