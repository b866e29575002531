"""Taps on a transcoded call (ng "start tap" / "stop tap", docs/protocol.md):
  1. A tap on what the PCMU party sends delivers exactly the decoded PCM:
     byte for byte what Python's audioop (an independent G.711 decoder)
     makes of the same payloads.
  2. A tap on what medius sends the PCMA party holds exactly the RTP
     packets that party received.
  3. A consumer stalled for 2 s (the tap's file is a FIFO nobody reads)
     leaves the media untouched: the far end gets every packet, in order;
     the tap's overruns are counted, and the frames it did keep are whole.
  4. Bad requests get clear errors and change nothing: taps off without
     tap_dir, a path in 'file', a relayed (not terminated) stream, a second
     tap on the same media, stop without a tap."""
import audioop
import os
import struct
import tempfile
import threading
import time

from medius_test import Daemon, call_sdp, check, drain, finish, loop_sock, media_port, ng


def sock():
    s = loop_sock(0.5)
    return s


def speech_like(n, seed):
    """n bytes of mu-law from a deterministic wandering signal (all codes used)."""
    x, out = seed, bytearray()
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7fffffff
        out.append((x >> 16) & 0xff)
    return bytes(out)


def transcoded_call(P, cid):
    a, b = sock(), sock()
    o = ng(P, command="offer", call_id=cid, from_tag="A", sdp=call_sdp(a.getsockname()[1], pts=(0,)))
    an = ng(P, command="answer", call_id=cid, from_tag="A", to_tag="B", sdp=call_sdp(b.getsockname()[1], pts=(8,)))
    return a, b, media_port(an["sdp"]), media_port(o["sdp"])


def send(s, port, payload, n, seq0=0, pace=0.02):
    for i in range(n):
        s.sendto(struct.pack("!BBHII", 0x80, 0, seq0 + i, (seq0 + i) * 160, 0x11) + payload[i * 160:(i + 1) * 160],
                 ("127.0.0.1", port))
        time.sleep(pace)


tapdir = tempfile.mkdtemp(prefix="medius-tap-")
with Daemon("--set", f"media.tap_dir={tapdir}") as d:
    P = d.port

    # --- 1 and 2: exact PCM in, exact RTP out ---
    a, b, to_a, to_b = transcoded_call(P, "tap1")
    r_in = ng(P, command="start tap", call_id="tap1", from_tag="A", direction="in", file="a-in.raw")
    r_out = ng(P, command="start tap", call_id="tap1", from_tag="B", direction="out", file="b-out.rtp")
    check(r_in["result"] == "ok" and r_in["tap"]["format"] == "s16le" and r_in["tap"]["rate"] == 8000 and
          r_out["result"] == "ok" and r_out["tap"]["format"] == "rtp-records",
          f"start tap: in {r_in.get('tap', r_in.get('error-reason'))}, out {r_out.get('tap', r_out.get('error-reason'))}")
    ulaw = speech_like(160 * 50, 7)
    send(a, to_a, ulaw, 50, pace=0.01)
    got_b = drain(b, 1000, 0.5)
    time.sleep(0.2)
    s_in = ng(P, command="stop tap", call_id="tap1", from_tag="A", direction="in")
    s_out = ng(P, command="stop tap", call_id="tap1", from_tag="B", direction="out")
    with open(os.path.join(tapdir, "a-in.raw"), "rb") as f:
        pcm = f.read()
    want = audioop.ulaw2lin(ulaw, 2)
    check(pcm == want and s_in["frames"] == 50 and s_in["overruns"] == 0,
          f"the 'in' tap holds exactly the decoded PCM: {len(pcm)} bytes of {len(want)}, "
          f"{s_in.get('frames')} frames, {s_in.get('overruns')} overruns")
    with open(os.path.join(tapdir, "b-out.rtp"), "rb") as f:
        blob = f.read()
    recs, i = [], 0
    while i + 2 <= len(blob):
        n = struct.unpack("!H", blob[i:i + 2])[0]
        recs.append(blob[i + 2:i + 2 + n])
        i += 2 + n
    check(len(got_b) == 50 and recs == got_b and s_out["overruns"] == 0,
          f"the 'out' tap holds exactly the {len(got_b)} RTP packets the PCMA party received ({len(recs)} records)")
    bad = ng(P, command="stop tap", call_id="tap1", from_tag="A", direction="in")
    check(bad["result"] == "error" and "No tap" in bad["error-reason"], f"stop without a tap: {bad.get('error-reason')!r}")

    # --- 3. a stalled consumer ---
    fifo = os.path.join(tapdir, "stall.fifo")
    os.mkfifo(fifo)
    r = ng(P, command="start tap", call_id="tap1", from_tag="A", direction="in", file="stall.fifo", **{"buffer-ms": 500})
    check(r["result"] == "ok", f"start tap into a FIFO nobody reads yet: {r.get('error-reason')}")
    ulaw2 = speech_like(160 * 150, 11)
    sender = threading.Thread(target=send, args=(a, to_a, ulaw2, 150, 100))
    sender.start()
    got_b = []

    def receive():
        got_b.extend(drain(b, 1000, 1.0))

    receiver = threading.Thread(target=receive)
    receiver.start()
    time.sleep(2.0)  # the consumer is stuck: the FIFO has no reader
    kept = bytearray()
    with open(fifo, "rb") as f:  # now read it
        sender.join()
        time.sleep(0.3)
        s = ng(P, command="stop tap", call_id="tap1", from_tag="A", direction="in")
        kept += f.read()
    receiver.join()
    seqs = [struct.unpack("!H", p[2:4])[0] for p in got_b]
    in_order = all((seqs[k + 1] - seqs[k]) & 0xffff == 1 for k in range(len(seqs) - 1))
    pay = b"".join(p[12:] for p in got_b)
    check(len(got_b) == 150 and in_order and pay == audioop.lin2alaw(audioop.ulaw2lin(ulaw2, 2), 2),
          f"with the tap's consumer stalled 2 s the far end got every packet, in order, exact "
          f"({len(got_b)} of 150)")
    frames = [bytes(kept[k:k + 320]) for k in range(0, len(kept), 320)]
    want_frames = {audioop.ulaw2lin(ulaw2[k * 160:(k + 1) * 160], 2) for k in range(150)}
    check(s["result"] == "ok" and s["overruns"] > 0 and s["frames"] + s["overruns"] == 150 and
          len(kept) == s["bytes"] and all(fr in want_frames for fr in frames),
          f"the stalled tap counted {s.get('overruns')} overruns and kept {s.get('frames')} whole frames")

    # --- 4. errors ---
    r = ng(P, command="start tap", call_id="tap1", from_tag="A", file="../x")
    check(r["result"] == "error" and "plain file name" in r["error-reason"], f"a path in 'file': {r.get('error-reason')!r}")
    ng(P, command="start tap", call_id="tap1", from_tag="A", file="again.raw")
    r = ng(P, command="start tap", call_id="tap1", from_tag="A", file="again2.raw")
    check(r["result"] == "error" and "already tapped" in r["error-reason"], f"a second tap: {r.get('error-reason')!r}")
    r = ng(P, command="start tap", call_id="tap1", from_tag="A", file="x.raw", direction="sideways")
    check(r["result"] == "error" and "direction" in r["error-reason"], f"a bad direction: {r.get('error-reason')!r}")
    c, dd = sock(), sock()
    ng(P, command="offer", call_id="relayed", from_tag="A", sdp=call_sdp(c.getsockname()[1], pts=(0,)))
    ng(P, command="answer", call_id="relayed", from_tag="A", to_tag="B", sdp=call_sdp(dd.getsockname()[1], pts=(0,)))
    r = ng(P, command="start tap", call_id="relayed", from_tag="A", file="r.raw")
    check(r["result"] == "error" and "relayed" in r["error-reason"], f"a relayed stream: {r.get('error-reason')!r}")
    # deleting a call with a running tap stops it (ASan runs see nothing leak)
    check(ng(P, command="delete", call_id="tap1")["result"] == "ok", "delete with a tap running")
    ng(P, command="delete", call_id="relayed")

with Daemon() as d:
    a, b, to_a, to_b = transcoded_call(d.port, "off")
    r = ng(d.port, command="start tap", call_id="off", from_tag="A", file="x.raw")
    check(r["result"] == "error" and "tap_dir" in r["error-reason"], f"taps are off by default: {r.get('error-reason')!r}")
finish()
