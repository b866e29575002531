"""Transcoded calls through mediusd, set up over ng the way a SIP proxy does:
  1. sipp's case: the offer has PCMA (and telephone-event), the answer
     PCMU only. medius bridges by transcoding; what reaches each side must be
     exactly the G.711 conversion of what the other sent.
  2. An offer of PCMU only with codec-transcode opus; the answerer picks
     opus. The opus side is cdc_rtp (libopus, real RTP): the 1 kHz tone
     the PCMU side sends must arrive as opus, and the opus side's 440 Hz
     must arrive as PCMU.
  3. RFC 4733 events from the PCMA side become in-band tones on the PCMU
     side, which has no telephone-event.
  4. PCMA <-> G.722 (16 kHz audio on an 8000 RTP clock), the G.722 side
     SpanDSP over RTP via cdc_rtp.
  7. play DTMF on a transcoded PCMA (with telephone-event) <-> PCMU call:
     from the PCMU side it reaches the PCMA side as RFC 4733 packets; from
     the PCMA side it reaches the PCMU side, which has no telephone-event,
     as an in-band tone in place of the audio."""
import audioop
import math
import os
import re
import socket
import struct
import subprocess
import time

from media_check import goertzel_power, pcm_from_bytes, stop, wait_bound
from medius_test import Daemon, check, finish, free_port, ng

CDC_RTP = os.environ.get("CDC_RTP", "build/tests/cdc_rtp")


def sdp(port, pts, extra=""):
    return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP {' '.join(map(str, pts))}\r\na=ptime:20\r\n{extra}")


def port_of(text):
    return int(re.search(r"^m=audio (\d+)", text, re.M).group(1))


def sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.5)
    return s


def tone(freq, n, rate=8000, amp=8000):
    return b"".join(struct.pack("<h", int(amp * math.sin(2 * math.pi * freq * i / rate))) for i in range(n))


def dominance(pcm, rate, freq):
    win = pcm[len(pcm) // 2 - rate // 4:len(pcm) // 2 + rate // 4]
    t = goertzel_power(win, rate, freq)
    other = max(goertzel_power(win, rate, f) for f in (freq / 2, freq * 0.75, freq * 1.5, freq * 2))
    return 10 * math.log10(max(t, 1e-9) / max(other, 1e-9))


def recv_all(s):
    got = []
    try:
        while True:
            got.append(s.recv(4096))
    except socket.timeout:
        return got


with Daemon() as d:
    P = d.port

    # --- 1. PCMA offer, PCMU answer (what sipp's built-in UAS does) ---
    a, b = sock(), sock()
    o = ng(P, command="offer", call_id="t1", from_tag="A",
           sdp=sdp(a.getsockname()[1], [8, 101], "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"))
    an = ng(P, command="answer", call_id="t1", from_tag="A", to_tag="B",
            sdp=sdp(b.getsockname()[1], [0], "a=rtpmap:0 PCMU/8000\r\n"))
    check(an["result"] == "ok" and re.search(r"^m=audio \d+ RTP/AVP 8 101\r$", an["sdp"], re.M) is not None,
          f"the answer to the PCMA side names PCMA and telephone-event ({an.get('warning')})")
    to_a, to_b = port_of(an["sdp"]), port_of(o["sdp"])
    lin = tone(1000, 160 * 25)
    alaw = audioop.lin2alaw(lin, 2)
    for i in range(25):
        a.sendto(struct.pack("!BBHII", 0x80, 8, i, i * 160, 5) + alaw[i * 160:(i + 1) * 160], ("127.0.0.1", to_a))
        time.sleep(0.005)
    got = recv_all(b)
    payload = b"".join(g[12:] for g in got)
    check(len(got) == 25 and all(g[1] & 0x7f == 0 for g in got) and
          payload == audioop.lin2ulaw(audioop.alaw2lin(alaw, 2), 2),
          f"PCMA -> PCMU: {len(got)} packets, PT 0, exactly the G.711 conversion")
    ulaw = audioop.lin2ulaw(tone(440, 160 * 25), 2)
    for i in range(25):
        b.sendto(struct.pack("!BBHII", 0x80, 0, i, i * 160, 6) + ulaw[i * 160:(i + 1) * 160], ("127.0.0.1", to_b))
        time.sleep(0.005)
    got = recv_all(a)
    payload = b"".join(g[12:] for g in got)
    check(len(got) == 25 and all(g[1] & 0x7f == 8 for g in got) and
          payload == audioop.lin2alaw(audioop.ulaw2lin(ulaw, 2), 2),
          f"PCMU -> PCMA: {len(got)} packets, PT 8, exactly the G.711 conversion")
    # 3. RFC 4733 digit '5' from the PCMA side becomes a tone on the PCMU side
    ts0 = 25 * 160
    for k, dur in enumerate([160, 320, 480, 640, 800, 800, 800, 800]):
        end = 0x80 if k >= 5 else 0
        a.sendto(struct.pack("!BBHIIBBH", 0x80, (0x80 if k == 0 else 0) | 101, 100 + k, ts0, 5, 5, end | 10, dur),
                 ("127.0.0.1", to_a))
        time.sleep(0.02)
    got = recv_all(b)
    pcm = pcm_from_bytes(audioop.ulaw2lin(b"".join(g[12:] for g in got), 2))
    row, col = goertzel_power(pcm, 8000, 770), goertzel_power(pcm, 8000, 1336)  # '5' = 770 + 1336 Hz
    other = max(goertzel_power(pcm, 8000, f) for f in (697, 852, 941, 1209, 1477))
    check(len(got) >= 4 and min(row, col) > 100 * other,
          f"telephone-event '5' arrives as an in-band 770+1336 Hz tone ({len(got)} packets)")
    q = ng(P, command="query", call_id="t1")
    codecs = sorted(m["codec"] for t in q["tags"].values() for m in t["medias"])
    check(codecs == ["PCMA", "PCMU"], f"query names each side's codec: {codecs}")
    ng(P, command="delete", call_id="t1")

    # --- 2. PCMU <-> opus, the opus side real libopus over RTP ---
    a = sock()
    b_port = free_port()
    o = ng(P, command="offer", call_id="t2", from_tag="A", sdp=sdp(a.getsockname()[1], [0]),
           codec={"transcode": ["opus"]})
    opt = re.search(r"a=rtpmap:(\d+) opus/48000/2", o["sdp"])
    check(opt is not None, "codec transcode adds opus/48000/2 to the offer")
    opus_pt = int(opt.group(1))
    an = ng(P, command="answer", call_id="t2", from_tag="A", to_tag="B",
            sdp=sdp(b_port, [opus_pt], f"a=rtpmap:{opus_pt} opus/48000/2\r\n"))
    to_a, to_b = port_of(an["sdp"]), port_of(o["sdp"])
    check(re.search(r"^m=audio \d+ RTP/AVP 0\r$", an["sdp"], re.M) is not None, "the answer to the PCMU side names PCMU")
    rx = subprocess.Popen([CDC_RTP, "recv", "opus/48000/2", str(opus_pt), str(b_port), "4"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_bound(rx, b_port)
    time.sleep(0.3)  # cdc_rtp binds before it has set up its decoder and loop
    ulaw = audioop.lin2ulaw(tone(1000, 8000), 2)
    for i in range(50):
        a.sendto(struct.pack("!BBHII", 0x80, 0, i, i * 160, 7) + ulaw[i * 160:(i + 1) * 160], ("127.0.0.1", to_a))
        time.sleep(0.02)
    time.sleep(0.3)  # let the last packets arrive before stopping the receiver
    out, err = stop(rx)
    q = ng(P, command="query", call_id="t2")
    sent = [st["packets sent"] for st in q["tags"]["B"]["medias"][0]["streams"]][0]
    check(sent == 50, f"medius sent the opus side one opus packet per PCMU packet: {sent} of 50")
    pcm = pcm_from_bytes(out)
    dom = dominance(pcm, 48000, 1000) if len(pcm) > 48000 // 2 else -99
    check(dom > 25, f"PCMU -> opus: libopus decodes the 1 kHz tone at {dom:.1f} dB dominance ({err.decode().strip()})")
    # the Opus encoder runs at the PCMU side's 8 kHz, capped at narrowband:
    # every packet's TOC byte says NB (RFC 6716 3.1)
    bw = re.search(r"opus_bandwidth NB=(\d+) MB=(\d+) WB=(\d+) SWB=(\d+) FB=(\d+)", err.decode())
    npk = re.search(r"packets=(\d+)", err.decode())
    check(bw is not None and npk is not None and int(bw.group(1)) == int(npk.group(1)) > 0
          and sum(int(x) for x in bw.groups()[1:]) == 0,
          f"PCMU -> opus: the Opus packets are narrowband ({bw.group(0) if bw else err.decode().strip()})")
    tx = subprocess.Popen([CDC_RTP, "--from", str(b_port), "send", "opus/48000/2", str(opus_pt), "20", f"127.0.0.1:{to_b}"],
                          stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tx.communicate(tone(440, 48000, 48000), timeout=20)
    got = recv_all(a)
    pcm = pcm_from_bytes(audioop.ulaw2lin(b"".join(g[12:] for g in got), 2))
    dom = dominance(pcm, 8000, 440) if len(pcm) > 4000 else -99
    check(len(got) >= 45 and all(g[1] & 0x7f == 0 for g in got) and dom > 25,
          f"opus -> PCMU: {len(got)} PCMU packets carrying the 440 Hz tone at {dom:.1f} dB")
    dl = ng(P, command="delete", call_id="t2")
    check(dl["result"] == "ok", "the transcoded call is deleted")

    # --- 4. G.722 <-> PCMA, the G.722 side real SpanDSP over RTP via cdc_rtp ---
    a = sock()
    g_port = free_port()
    o = ng(P, command="offer", call_id="t3", from_tag="A", sdp=sdp(a.getsockname()[1], [8]),
           codec={"transcode": ["G722"]})
    check(re.search(r"^m=audio \d+ RTP/AVP 8 9\r$", o["sdp"], re.M) is not None, "codec transcode adds G722 (PT 9) to the offer")
    an = ng(P, command="answer", call_id="t3", from_tag="A", to_tag="B", sdp=sdp(g_port, [9]))
    to_a, to_b = port_of(an["sdp"]), port_of(o["sdp"])
    rx = subprocess.Popen([CDC_RTP, "recv", "G722/8000", "9", str(g_port), "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_bound(rx, g_port)
    time.sleep(0.3)
    alaw = audioop.lin2alaw(tone(1000, 8000), 2)
    for i in range(50):
        a.sendto(struct.pack("!BBHII", 0x80, 8, i, i * 160, 8) + alaw[i * 160:(i + 1) * 160], ("127.0.0.1", to_a))
        time.sleep(0.02)
    time.sleep(0.3)
    out, err = stop(rx)
    pcm = pcm_from_bytes(out)
    dom = dominance(pcm, 16000, 1000) if len(pcm) > 8000 else -99
    check(dom > 25, f"PCMA -> G.722: SpanDSP decodes the 1 kHz tone at {dom:.1f} dB dominance")
    tx = subprocess.Popen([CDC_RTP, "--from", str(g_port), "send", "G722/8000", "9", "20", f"127.0.0.1:{to_b}"],
                          stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tx.communicate(tone(440, 16000, 16000), timeout=20)
    got = recv_all(a)
    pcm = pcm_from_bytes(audioop.alaw2lin(b"".join(g[12:] for g in got), 2))
    dom = dominance(pcm, 8000, 440) if len(pcm) > 4000 else -99
    check(len(got) >= 45 and all(g[1] & 0x7f == 8 for g in got) and dom > 25,
          f"G.722 -> PCMA: {len(got)} PCMA packets carrying 440 Hz at {dom:.1f} dB")
    ng(P, command="delete", call_id="t3")

    # --- 5. ptime: the answerer gets 30 ms packets, the offerer keeps its 20 ms ---
    a, b = sock(), sock()
    o = ng(P, command="offer", call_id="t4", from_tag="A", sdp=sdp(a.getsockname()[1], [0]), ptime=30)
    check("a=ptime:30" in o["sdp"], "ptime 30 is announced to the answerer")
    an = ng(P, command="answer", call_id="t4", from_tag="A", to_tag="B",
            sdp=sdp(b.getsockname()[1], [0]).replace("a=ptime:20", "a=ptime:30"))
    to_a, to_b = port_of(an["sdp"]), port_of(o["sdp"])
    ulaw = audioop.lin2ulaw(tone(1000, 160 * 30), 2)
    for i in range(30):
        a.sendto(struct.pack("!BBHII", 0x80, 0, i, i * 160, 9) + ulaw[i * 160:(i + 1) * 160], ("127.0.0.1", to_a))
        time.sleep(0.005)
    got = recv_all(b)
    check(len(got) == 20 and all(len(g) == 12 + 240 for g in got) and
          b"".join(g[12:] for g in got) == ulaw[:20 * 240],
          f"20 ms PCMU from the offerer arrives as {len(got)} packets of 30 ms, samples unchanged")
    for i in range(20):
        b.sendto(struct.pack("!BBHII", 0x80, 0, i, i * 240, 10) + ulaw[i * 240:(i + 1) * 240], ("127.0.0.1", to_b))
        time.sleep(0.005)
    got = recv_all(a)
    check(len(got) == 30 and all(len(g) == 12 + 160 for g in got), f"30 ms back to the offerer as {len(got)} packets of 20 ms")
    ng(P, command="delete", call_id="t4")

    # --- 6. codec strip all/except and mask ---
    o = ng(P, command="offer", call_id="t5", from_tag="A",
           sdp=sdp(40000, [0, 8, 101], "a=rtpmap:101 telephone-event/8000\r\n"),
           codec={"strip": ["all"], "except": ["PCMA", "telephone-event"]})
    check(re.search(r"^m=audio \d+ RTP/AVP 8 101\r$", o["sdp"], re.M) is not None and "PCMU" not in o["sdp"],
          "codec strip all except PCMA, telephone-event: only those are offered")
    bad = ng(P, command="offer", call_id="t6", from_tag="A", sdp=sdp(40000, [0]), codec={"strip": ["all"]})
    check(bad["result"] == "error" and "without codecs" in bad["error-reason"], "codec strip all with no exception is an error")
    a, b = sock(), sock()
    o = ng(P, command="offer", call_id="t7", from_tag="A", sdp=sdp(a.getsockname()[1], [0]),
           codec={"mask": ["PCMU"], "transcode": ["PCMA"]})
    check(re.search(r"^m=audio \d+ RTP/AVP 8\r$", o["sdp"], re.M) is not None,
          "codec mask PCMU with transcode PCMA: the answerer is offered PCMA only")
    an = ng(P, command="answer", call_id="t7", from_tag="A", to_tag="B", sdp=sdp(b.getsockname()[1], [8]))
    check(re.search(r"^m=audio \d+ RTP/AVP 0\r$", an["sdp"], re.M) is not None and "transcoded" in an.get("warning", ""),
          "... and the masked offerer keeps its PCMU, transcoded")
    ulaw = audioop.lin2ulaw(tone(1000, 1600), 2)
    for i in range(10):
        a.sendto(struct.pack("!BBHII", 0x80, 0, i, i * 160, 11) + ulaw[i * 160:(i + 1) * 160],
                 ("127.0.0.1", port_of(an["sdp"])))
        time.sleep(0.005)
    got = recv_all(b)
    check(len(got) == 10 and b"".join(g[12:] for g in got) == audioop.lin2alaw(audioop.ulaw2lin(ulaw, 2), 2),
          "PCMU from the masked side arrives as exact PCMA")
    for cid in ("t5", "t7"):
        ng(P, command="delete", call_id=cid)

    # --- 7. play DTMF on a transcoded call ---
    a, b = sock(), sock()
    o = ng(P, command="offer", call_id="t8", from_tag="A",
           sdp=sdp(a.getsockname()[1], [8, 101], "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"))
    an = ng(P, command="answer", call_id="t8", from_tag="A", to_tag="B",
            sdp=sdp(b.getsockname()[1], [0], "a=rtpmap:0 PCMU/8000\r\n"))
    to_a, to_b = port_of(an["sdp"]), port_of(o["sdp"])
    # (a) from B (no telephone-event) towards A (telephone-event 101): RFC 4733 packets
    ulaw = audioop.lin2ulaw(tone(440, 160 * 30), 2)
    for i in range(5):
        b.sendto(struct.pack("!BBHII", 0x80, 0, i, i * 160, 12) + ulaw[i * 160:(i + 1) * 160], ("127.0.0.1", to_b))
        time.sleep(0.005)
    before = recv_all(a)
    pd = ng(P, command="play DTMF", call_id="t8", from_tag="B", code="9", duration=100)
    check(pd["result"] == "ok", f"play DTMF from the PCMU side of a transcoded call: {pd.get('error-reason', 'ok')}")
    busy = ng(P, command="play DTMF", call_id="t8", from_tag="B", code="1")
    check(busy["result"] == "error" and "still playing" in busy["error-reason"],
          "a second event on the transcoded stream waits for the first")
    for i in range(5, 15):
        b.sendto(struct.pack("!BBHII", 0x80, 0, i, i * 160, 12) + ulaw[i * 160:(i + 1) * 160], ("127.0.0.1", to_b))
        time.sleep(0.005)
    got = recv_all(a)
    te = [g for g in got if g[1] & 0x7f == 101]
    audio = [g for g in got if g[1] & 0x7f == 8]
    ts = lambda g: struct.unpack("!I", g[4:8])[0]
    durs = [struct.unpack("!H", g[14:16])[0] for g in te]
    start = ts(before[-1]) + 160 if before else -1
    check(len(before) == 5 and len(te) == 8 and te[0][1] & 0x80 and not any(g[1] & 0x80 for g in te[1:]) and
          all(g[12] == 9 and ts(g) == start for g in te),
          f"A gets RFC 4733 '9' packets, marker first, at the next frame's timestamp ({len(te)} event packets)")
    check(durs == [160, 320, 480, 640, 800, 800, 800, 800] and [g[13] >> 7 for g in te] == [0] * 5 + [1] * 3,
          f"durations grow to 100 ms, then three end packets: {durs}")
    check(len(audio) == 5 and all(ts(g) >= start + 800 for g in audio),
          f"B's audio of the event's 5 frames is suppressed, the other {len(audio)} arrive after it")
    # (b) from A towards B, which has no telephone-event: an in-band tone in place of A's audio
    alaw = audioop.lin2alaw(tone(1000, 160 * 40), 2)
    for i in range(5):
        a.sendto(struct.pack("!BBHII", 0x80, 8, i, i * 160, 13) + alaw[i * 160:(i + 1) * 160], ("127.0.0.1", to_a))
        time.sleep(0.005)
    recv_all(b)
    pd = ng(P, command="play DTMF", call_id="t8", from_tag="A", code="#", duration=200, volume=10)
    check(pd["result"] == "ok", f"play DTMF from the PCMA side, towards a side without telephone-event: "
          f"{pd.get('error-reason', 'ok')}")
    for i in range(5, 35):
        a.sendto(struct.pack("!BBHII", 0x80, 8, i, i * 160, 13) + alaw[i * 160:(i + 1) * 160], ("127.0.0.1", to_a))
        time.sleep(0.005)
    got = recv_all(b)
    pcm = pcm_from_bytes(audioop.ulaw2lin(b"".join(g[12:] for g in got), 2))
    ev, rest = pcm[160:1440], pcm[1760:]  # frames 1-8 of the 10 the 200 ms cover; after them
    row, col = goertzel_power(ev, 8000, 941), goertzel_power(ev, 8000, 1477)  # '#' = 941 + 1477 Hz
    other = max(goertzel_power(ev, 8000, f) for f in (697, 770, 852, 1000, 1209, 1336))
    check(len(got) == 30 and all(g[1] & 0x7f == 0 for g in got) and min(row, col) > 100 * other,
          f"B gets PCMU only, carrying '#' as 941+1477 Hz with A's 1 kHz suppressed ({len(got)} packets)")
    back = goertzel_power(rest, 8000, 1000) / max(max(goertzel_power(rest, 8000, f) for f in (941, 1477)), 1e-9)
    check(len(rest) >= 2400 and back > 1000, f"after the tone, A's 1 kHz comes back ({len(rest)} samples)")
    q = ng(P, command="play DTMF", call_id="t8", from_tag="A", code="#", duration=20000)
    check(q["result"] == "error" and "10-5000" in q["error-reason"], "a duration beyond 5 s is refused")
    ng(P, command="delete", call_id="t8")
finish()
