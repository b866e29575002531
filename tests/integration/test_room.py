"""Conference rooms on the media engine (mixer/ mx_room) with real peers.

Five GStreamer participants join one room through room_harness (the
dataplane and mixer/ without the control plane; the ng side comes with the
conference commands). Each sends its own tone, encoded by GStreamer over
its own codec (PCMU, PCMA, G.722, Opus, PCMU), and decodes what the room
sends it with GStreamer. Judged by Goertzel energy in the decoded audio:

  1. N-1: each participant hears every other tone and not its own.
  2. Mute, deaf, gain, whisper: participant 1 muted is heard by nobody;
     participant 2 deaf receives nothing; participant 3 at -12 dB is
     weaker; participant 4 whispers to participant 5 only.
  3. Shared encoding: p1 and p5 (both PCMU, 20 ms) only listen; their RTP,
     captured raw, carries byte-identical payloads under two SSRCs, and
     holds the three talkers' tones.
  4. Talker events: every participant started talking; leave works.

Standard library only (plus gst-launch-1.0).
"""
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

from media_check import goertzel_power
from medius_test import LineHarness, check, finish

HARNESS = os.environ.get("ROOM_HARNESS", "build/tests/room_harness")
GST = os.environ.get("GST_LAUNCH", "gst-launch-1.0")
LCORES = "0@0,1@1"
RATE_OUT = 16000   # what the receivers convert everything to for the analysis
SECONDS = 6.0

# name, rtpmap, pt, tone Hz, GStreamer raw rate, encoder, payloader, depayloader, decoder, encoding-name, clock
PARTS = [
    ("p1", "PCMU/8000", 0, 300, 8000, "mulawenc", "rtppcmupay", "rtppcmudepay", "mulawdec", "PCMU", 8000),
    ("p2", "PCMA/8000", 8, 500, 8000, "alawenc", "rtppcmapay", "rtppcmadepay", "alawdec", "PCMA", 8000),
    ("p3", "G722/8000", 9, 700, 16000, "avenc_g722", "rtpg722pay", "rtpg722depay", "avdec_g722", "G722", 8000),
    ("p4", "opus/48000/2", 96, 1100, 48000, "opusenc", "rtpopuspay", "rtpopusdepay", "opusdec", "OPUS", 48000),
    ("p5", "PCMU/8000", 0, 1300, 8000, "mulawenc", "rtppcmupay", "rtppcmudepay", "mulawdec", "PCMU", 8000),
]


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def receiver(part, port, out):
    name, _, pt, _, _, _, _, depay, dec, ename, clock = part
    caps = f"application/x-rtp,media=audio,clock-rate={clock},encoding-name={ename},payload={pt}"
    pipe = (f"udpsrc address=127.0.0.1 port={port} caps={caps} ! rtpjitterbuffer latency=60 ! {depay} ! {dec} "
            f"! audioconvert ! audioresample ! audio/x-raw,format=S16LE,rate={RATE_OUT},channels=1 "
            f"! filesink location={out}")
    return subprocess.Popen([GST, "-q", "-e"] + pipe.split(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def sender(part, port, seconds):
    name, _, pt, freq, rate, enc, pay, _, _, _, _ = part
    n = int(seconds * 50)
    pipe = (f"audiotestsrc is-live=true freq={freq} volume=0.25 samplesperbuffer={rate // 50} num-buffers={n} "
            f"! audio/x-raw,format=S16LE,rate={rate},channels=1 ! {enc} ! {pay} pt={pt} max-ptime=20000000 "
            f"! udpsink host=127.0.0.1 port={port}")
    return subprocess.Popen([GST, "-q"] + pipe.split(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def goertzel_share(pcm, freq, rate=RATE_OUT):
    """Share of the window's power at freq (about 1 for a lone tone)."""
    total = sum(x * x for x in pcm)
    return goertzel_power(pcm, rate, freq) * len(pcm) / total if total > 0 else 0.0


def run_phase(h, ports, seconds=SECONDS):
    """All five send for `seconds`; returns each participant's decoded PCM (the steady middle)."""
    outs, rx = [], []
    for part, (room_port, peer) in zip(PARTS, ports):
        out = tempfile.NamedTemporaryFile(prefix=f"room-{part[0]}-", suffix=".raw", delete=False).name
        outs.append(out)
        rx.append(receiver(part, peer, out))
    time.sleep(1.0)  # the receivers are up
    tx = [sender(part, room_port, seconds) for part, (room_port, _) in zip(PARTS, ports)]
    for p in tx:
        try:
            p.wait(seconds + 20)
        except subprocess.TimeoutExpired:
            p.kill()
    time.sleep(0.5)
    res = []
    for p, out in zip(rx, outs):
        p.send_signal(signal.SIGINT)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        with open(out, "rb") as f:
            data = f.read()
        os.unlink(out)
        pcm = struct.unpack(f"<{len(data) // 2}h", data[: len(data) // 2 * 2])
        res.append(pcm)
    return res


def window(pcm):
    """1 s from the middle of what was received (skips the start-up)."""
    if len(pcm) < 2 * RATE_OUT:
        return pcm
    mid = len(pcm) // 2
    return pcm[mid - RATE_OUT // 2: mid + RATE_OUT // 2]


def shares(pcm):
    w = window(pcm)
    return [goertzel_share(w, part[3]) for part in PARTS]


def shared_phase(ports, seconds=3.0):
    """p2, p3, p4 send; p1's and p5's RTP is captured raw: {name: [(ssrc, seq, ts, payload)]}."""
    socks = {}
    for idx in (0, 4):
        so = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        so.bind(("127.0.0.1", ports[idx][1]))
        socks[PARTS[idx][0]] = so
    tx = [sender(PARTS[k], ports[k][0], seconds) for k in (1, 2, 3)]
    got = {n: [] for n in socks}
    by_sock = {so: n for n, so in socks.items()}
    end = time.time() + seconds + 2.0
    while time.time() < end:
        ready, _, _ = select.select(list(by_sock), [], [], 0.1)
        for so in ready:
            d = so.recv(2048)
            if len(d) > 12:
                seq, ts, ssrc = struct.unpack("!HII", d[2:12])
                got[by_sock[so]].append((ssrc, seq, ts, d[12:]))
    for p in tx:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
    for so in socks.values():
        so.close()
    return got


def ulaw_pcm(pk):
    out = []
    for _, _, _, pl in sorted(pk, key=lambda x: x[1]):
        for b in pl:
            b = ~b & 0xff
            t = ((b & 0x0f) << 3) + 0x84
            t <<= (b & 0x70) >> 4
            out.append((0x84 - t) if b & 0x80 else (t - 0x84))
    return out


def window8(pcm):
    if len(pcm) < 16000:
        return pcm
    mid = len(pcm) // 2
    return pcm[mid - 4000: mid + 4000]


HEARD = 0.05      # another participant's tone: at least this share of the power
NOT_HEARD = 0.005  # its own (or a muted one): at most this


def check_n_minus_1(pcm, seconds=SECONDS):
    """Each participant received the phase's audio, hears every other tone and not its own."""
    for i, part in enumerate(PARTS):
        s = shares(pcm[i])
        got = len(pcm[i]) / RATE_OUT
        check(got > seconds - 1.0, f"N-1: {part[0]} ({part[1]}) received {got:.1f} s of audio")
        others = [f"{PARTS[k][3]} Hz {s[k]:.3f}" for k in range(len(PARTS)) if k != i]
        check(all(s[k] > HEARD for k in range(len(PARTS)) if k != i),
              f"N-1: {part[0]} hears every other tone ({', '.join(others)})")
        check(s[i] < NOT_HEARD, f"N-1: {part[0]} does not hear its own {part[3]} Hz ({s[i]:.4f})")


def main():
    r = subprocess.run([GST, "--version"], capture_output=True)
    if r.returncode:
        print("SKIP: gst-launch-1.0 not available")
        sys.exit(77)
    h = LineHarness(HARNESS, "--lcores", LCORES)
    try:
        rm = h("room", "care", 16000, 5, 0)
        check(rm.get("rc") == 0, f"room created ({rm})")
        ports = []
        for part in PARTS:
            peer = free_udp_port()
            j = h("join", "care", part[0], part[1], part[2], 20, peer)
            check(j.get("rc") == 0 and j.get("lcore") == rm.get("lcore"),
                  f"{part[0]} joins over {part[1]} on the room's worker ({j})")
            ports.append((j.get("port"), peer))
        bad = h("join", "nosuch", "px", "PCMU/8000", 0, 20, 4000)
        check(bad.get("rc") == -2, f"joining a missing room is refused ({bad})")
        bad = h("join", "care", "px", "GSM/8000", 3, 20, 4000)
        check(bad.get("rc") == -22, f"a codec the room cannot take is refused ({bad})")

        # 1. N-1
        pcm = run_phase(h, ports)
        check_n_minus_1(pcm)
        for part in PARTS:
            st = h("stats", part[0])
            check(st.get("rc") == 0 and st["received"] > 100 and st["lost"] <= st["received"] // 20 and st["sent"] > 100,
                  f"{part[0]}: received {st.get('received')}, lost {st.get('lost')}, sent {st.get('sent')}, "
                  f"frames in {st.get('frames_in')}, absent {st.get('frames_absent')}, "
                  f"concealed {st.get('concealed_ms')} ms")
        ev = h("events", "care")
        started = {e[0] for e in ev.get("events", []) if e[1]}
        check(started == {p[0] for p in PARTS}, f"talker events: every participant started talking ({ev})")
        base3 = [shares(pcm[k])[2] for k in (0, 1, 3, 4)]

        # 2. mute, deaf, gain, whisper
        check(h("set", "p1", 1, 0, 0).get("rc") == 0, "p1 muted")
        check(h("set", "p2", 0, 1, 0).get("rc") == 0, "p2 deaf")
        check(h("set", "p3", 0, 0, -12).get("rc") == 0, "p3 at -12 dB")
        check(h("whisper", "p4", "p5").get("rc") == 0, "p4 whispers to p5")
        check(h("whisper", "p4", "nobody").get("rc") == -22, "a whisper to an unknown participant is refused")
        pcm = run_phase(h, ports, 4.0)
        for part in PARTS:
            st = h("stats", part[0])
            print(f"     phase 2 {part[0]}: received {st.get('received')}, lost {st.get('lost')}, sent "
                  f"{st.get('sent')}, frames in {st.get('frames_in')}, absent {st.get('frames_absent')}, "
                  f"talker {st.get('talker')}, level {st.get('level')}")
        check(len(pcm[1]) < RATE_OUT // 10, f"deaf p2 receives (next to) nothing: {len(pcm[1])} samples")
        for i in (0, 2, 3, 4):
            s = shares(pcm[i])
            check(s[0] < NOT_HEARD, f"muted p1 is not heard by {PARTS[i][0]} ({s[0]:.4f})")
            if i != 1:
                check(s[1] > HEARD, f"deaf p2 is still heard by {PARTS[i][0]} ({s[1]:.3f})")
        for i, k in zip((0, 3, 4), (0, 2, 3)):
            s3 = shares(pcm[i])[2]
            check(s3 < base3[k] * 0.5, f"p3 at -12 dB is weaker for {PARTS[i][0]}: {base3[k]:.3f} -> {s3:.3f}")
        s5 = shares(pcm[4])
        check(s5[3] > HEARD, f"p5 hears p4's whisper ({s5[3]:.3f})")
        for i in (0, 2):
            s = shares(pcm[i])
            check(s[3] < NOT_HEARD, f"{PARTS[i][0]} does not hear p4's whisper ({s[3]:.4f})")

        # 3. shared encoding: p1 and p5 (PCMU, 20 ms: one group) only listen
        for who in ("p1", "p2", "p3"):
            check(h("set", who, 0, 0, 0).get("rc") == 0, f"{who} back to normal")
        check(h("whisper", "p4").get("rc") == 0, "p4 heard by everyone again")
        got = shared_phase(ports)
        a, b = got["p1"], got["p5"]
        check(len(a) > 100 and len(b) > 100, f"shared: p1 got {len(a)} packets, p5 {len(b)}")
        ssrc_a = {x[0] for x in a}
        ssrc_b = {x[0] for x in b}
        check(len(ssrc_a) == 1 and len(ssrc_b) == 1 and ssrc_a != ssrc_b,
              f"shared: each listener has its own SSRC ({ssrc_a}, {ssrc_b})")
        # the two streams carry the very same encoded frames
        set_a, set_b = {x[3] for x in a}, {x[3] for x in b}
        a_in_b = sum(x[3] in set_b for x in a) / max(1, len(a))
        b_in_a = sum(x[3] in set_a for x in b) / max(1, len(b))
        check(a_in_b > 0.9 and b_in_a > 0.9,
              f"shared: {a_in_b:.0%} of p1's {len(a)} payloads are byte for byte among p5's, {b_in_a:.0%} "
              f"of p5's {len(b)} among p1's (one encoding for both)")
        for who, pk in got.items():
            pcm = ulaw_pcm(pk)
            sh = [goertzel_share(window8(pcm), PARTS[k][3], 8000) for k in range(len(PARTS))]
            check(all(sh[k] > HEARD for k in (1, 2, 3)) and sh[0] < NOT_HEARD and sh[4] < NOT_HEARD,
                  f"shared: {who} hears p2, p3 and p4 ({', '.join(f'{x:.3f}' for x in sh)})")
        for who in ("p1", "p5"):
            st = h("stats", who)
            check(st.get("grouped") and st.get("frames_shared", 0) > 100,
                  f"shared: {who} sent {st.get('frames_shared')} frames of the shared encoding")

        # 4. leave, a talker among them
        h("events", "care")  # drop what came before
        tx = sender(PARTS[1], ports[1][0], 2.5)
        time.sleep(1.5)
        talking = h("stats", "p2").get("talker")
        check(h("leave", "p2").get("rc") == 0, f"p2 leaves while it talks (talker: {talking})")
        tx.wait(20)
        ev = h("events", "care").get("events", [])
        check(["p2", False] in ev and all(e[0] in ("p1", "p2", "p3", "p4", "p5") for e in ev),
              f"its leaving ends its talking, and every event names its participant ({ev})")
        check(h("leave", "p5").get("rc") == 0, "p5 leaves")
        check(h("stats", "p5").get("rc") == -2, "p5 is gone")
        check(h("leave", "p5").get("rc") == -2, "leaving twice is refused")
    finally:
        h.close()
    finish()


if __name__ == "__main__":
    main()
