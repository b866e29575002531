"""RFC 6464 audio levels in a conference room (mixer/ mx_room), real peers.

GStreamer 1.22 sends the client-to-mixer audio level itself: the `level`
element with audio-level-meta=true puts each buffer's level on it, the
encoder carries it to the payloader, and a payloader whose downstream
caps name the extension (extmap-N = urn:ietf:params:rtp-hdrext:
ssrc-audio-level) adds an rtphdrextclientaudiolevel and writes the RFC
8285 one-byte element into every packet (auto-header-extension). Each
participant joins through room_harness with its extmap id.

  ta   Opus, levels (id 1), a 500 Hz tone all along
  tb   G.722, levels (id 3), a 900 Hz tone all along
  s1   Opus, levels (id 1), silence
  s2   G.722, levels (id 4), silence
  w    Opus, levels (id 2): 3 s of silence, then a 1300 Hz tone
  r    Opus, no levels: 3 s of silence, then a 1700 Hz tone, from the
       same GStreamer pipeline as w (one clock): the reference onset
  ls   Opus, no levels, silence; listens (its decoded audio is analysed)
  m    crafted packets (Opus silence frames) whose extension block is
       malformed: counted, never a crash, decoded as packets without level

Checked: silent participants with levels are not decoded (their packets
never reach the decoder, the mixer gets their level), loud ones with
levels are decoded, mixed and heard (Goertzel, as test_room.py) with the
level driving talker selection; talker events come for the talkers and
not for the silent; w, switching from silence to its tone, is heard as
early as r, which was decoded all along (within 60 ms), and its onset
has no click (no sample step larger than in the steady mix after it).

Standard library only (plus gst-launch-1.0).
"""
import math
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import wave

from media_check import goertzel_power
from medius_test import LineHarness, check, finish

HARNESS = os.environ.get("ROOM_HARNESS", "build/tests/room_harness")
GST = os.environ.get("GST_LAUNCH", "gst-launch-1.0")
LCORES = "0@0,1@1"
RATE_OUT = 16000
SECONDS = 7.0
ONSET = 3.0
URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

# name, rtpmap, pt, level extmap id (0: none), tone Hz (0: silence; w and r: after ONSET)
OPUS = ("opus/48000/2", 96, 48000, "opusenc", "rtpopuspay", "OPUS")
G722 = ("G722/8000", 9, 16000, "avenc_g722", "rtpg722pay", "G722")
PARTS = {
    "ta": (OPUS, 1, 500),
    "tb": (G722, 3, 900),
    "s1": (OPUS, 1, 0),
    "s2": (G722, 4, 0),
    "w": (OPUS, 2, 1300),
    "r": (OPUS, 0, 1700),
    "ls": (OPUS, 0, 0),
    "m": (OPUS, 5, 0),
}
HEARD = 0.03


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ext_caps(ext_id):
    """The caps that make a 1.22 payloader add the audio-level extension."""
    if not ext_id:
        return ""
    return f' ! application/x-rtp,extmap-{ext_id}=(string)<"","{URI}","vad=on">'


def branch(name, port, src):
    """One sender: raw audio from `src` in 20 ms buffers, levelled, encoded, paid."""
    (rtpmap, pt, rate, enc, pay, _), ext_id, _ = PARTS[name]
    return (f"{src} ! audioconvert ! audioresample ! audio/x-raw,format=S16LE,rate={rate},channels=1 "
            f"! audiobuffersplit output-buffer-duration=1/50 ! level audio-level-meta=true ! {enc} "
            f"! {pay} pt={pt}{ext_caps(ext_id)} ! udpsink host=127.0.0.1 port={port}")


def tone_src(freq, seconds, rate):
    n = int(seconds * 50)
    if not freq:
        return f"audiotestsrc is-live=true wave=silence samplesperbuffer={rate // 50} num-buffers={n}"
    return f"audiotestsrc is-live=true freq={freq} volume=0.25 samplesperbuffer={rate // 50} num-buffers={n}"


def onset_wav(path, freq, seconds, onset, rate=48000):
    """Silence, then the tone with a 10 ms raised-cosine fade-in (no click of its own)."""
    n, k0, fade = int(seconds * rate), int(onset * rate), rate // 100
    with wave.open(path, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        out = bytearray()
        for i in range(n):
            v = 0.0
            if i >= k0:
                g = 1.0 if i - k0 >= fade else 0.5 - 0.5 * math.cos(math.pi * (i - k0) / fade)
                v = 0.25 * 32767 * g * math.sin(2 * math.pi * freq * (i - k0) / rate)
            out += struct.pack("<h", int(v))
        f.writeframes(bytes(out))


def gst(pipe):
    return subprocess.Popen([GST, "-q"] + pipe, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def receiver(port, out):
    caps = "application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=96"
    pipe = (f"udpsrc address=127.0.0.1 port={port} caps={caps} ! rtpjitterbuffer latency=60 ! rtpopusdepay "
            f"! opusdec ! audioconvert ! audioresample ! audio/x-raw,format=S16LE,rate={RATE_OUT},channels=1 "
            f"! filesink location={out}")
    return subprocess.Popen([GST, "-q", "-e"] + pipe.split(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def crafted(port, n=100):
    """Opus silence frames (a real encoder's 20 ms DTX-free silence, TOC 0xf8) whose
    one-byte extension block claims an element longer than the block."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(n):
        hdr = struct.pack("!BBHII", 0x90, 96, 1000 + i, 5000 + 960 * i, 0x4d4d4d4d)
        ext = struct.pack("!HH", 0xBEDE, 1) + bytes([0x53, 0x01, 0x02, 0x03])  # id 5 wants 4 bytes, 3 left
        s.sendto(hdr + ext + bytes([0xf8, 0xff, 0xfe]), ("127.0.0.1", port))
        time.sleep(0.02)
    s.close()


def share(pcm, freq):
    total = sum(x * x for x in pcm)
    return goertzel_power(pcm, RATE_OUT, freq) * len(pcm) / total if total > 0 else 0.0


def onset_time(pcm, freq, hop=0.005, win=0.02):
    """When the tone at freq first reaches half its steady power (20 ms windows, 5 ms hops)."""
    w, h = int(win * RATE_OUT), int(hop * RATE_OUT)
    pw = [goertzel_power(pcm[i:i + w], RATE_OUT, freq) for i in range(0, len(pcm) - w, h)]
    if not pw:
        return None
    steady = sorted(pw)[int(len(pw) * 0.9)]
    for k, p in enumerate(pw):
        if p >= 0.5 * steady:
            return k * hop
    return None


def max_step(x):
    return max((abs(x[i] - x[i - 1]) for i in range(1, len(x))), default=0)


def main():
    for el in ("rtphdrextclientaudiolevel", "audiobuffersplit", "avenc_g722", "opusenc"):
        if subprocess.run(["gst-inspect-1.0", el], capture_output=True).returncode:
            print(f"SKIP: GStreamer element {el} not available")
            sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="room-levels-")
    h = LineHarness(HARNESS, "--lcores", LCORES)
    procs = []
    try:
        rm = h("room", "lv", 16000, 5, 0)
        check(rm.get("rc") == 0, f"room created ({rm})")
        ports = {}
        for name, ((rtpmap, pt, *_), ext_id, _) in PARTS.items():
            peer = free_udp_port()
            j = h("join", "lv", name, rtpmap, pt, 20, peer, ext_id)
            check(j.get("rc") == 0, f"{name} joins over {rtpmap}, audio levels on extmap id {ext_id} ({j})")
            ports[name] = (j.get("port"), peer)
        bad = h("join", "lv", "px", "PCMU/8000", 0, 20, 4000, 256)
        check(bad.get("rc") == -22, f"an extmap id past 255 is refused ({bad})")

        for name in ("w", "r"):
            onset_wav(os.path.join(tmp, f"{name}.wav"), PARTS[name][2], SECONDS, ONSET)
        out = os.path.join(tmp, "ls.raw")
        rx = receiver(ports["ls"][1], out)
        time.sleep(1.0)
        for name in ("ta", "tb", "s1", "s2", "ls"):
            rate = PARTS[name][0][2]
            procs.append(gst(branch(name, ports[name][0], tone_src(PARTS[name][2], SECONDS, rate)).split()))
        # w and r in one pipeline: one clock, one start
        pipe = []
        for name in ("w", "r"):
            wav = os.path.join(tmp, f"{name}.wav")
            pipe += branch(name, ports[name][0], f"filesrc location={wav} ! wavparse").split()
        procs.append(gst(pipe))
        crafted(ports["m"][0])
        time.sleep(1.0)
        mid = {n: h("stats", n) for n in ("s1", "s2", "w")}  # w still silent
        for p in procs:
            try:
                p.wait(SECONDS + 20)
            except subprocess.TimeoutExpired:
                p.kill()
            err = p.stderr.read().decode(errors="replace").strip()
            check(p.returncode == 0, f"a GStreamer sender ran to its end (rc {p.returncode}{': ' + err[:300] if err else ''})")
        time.sleep(0.5)
        rx.send_signal(signal.SIGINT)
        try:
            rx.wait(10)
        except subprocess.TimeoutExpired:
            rx.kill()
        with open(out, "rb") as f:
            data = f.read()
        pcm = struct.unpack(f"<{len(data) // 2}h", data[: len(data) // 2 * 2])
        st = {n: h("stats", n) for n in PARTS}
        for n, s in st.items():
            print(f"     {n}: received {s.get('received')}, decoder in {s.get('in_packets')}, levels "
                  f"{s.get('level_packets')}, skipped {s.get('level_skipped')}, malformed {s.get('level_malformed')}, "
                  f"frames in {s.get('frames_in')} (level {s.get('frames_level')}), quiet {s.get('frames_quiet')}, "
                  f"absent {s.get('frames_absent')}, resumes {s.get('level_resumes')} "
                  f"(warm {s.get('level_warm_decoded')}), level {s.get('level')}")

        # the silent participants that send levels: not decoded
        for n in ("s1", "s2"):
            s = st[n]
            check(s["received"] > 250 and s["level_packets"] >= s["received"] - 2,
                  f"{n}: its {s['received']} packets carried levels ({s['level_packets']})")
            check(s["level_skipped"] >= s["received"] - 5 and s["in_packets"] <= 5,
                  f"{n}: silent, not decoded: {s['level_skipped']} packets skipped, {s['in_packets']} decoded")
            check(s["frames_quiet"] > 250 and s["frames_in"] <= 5,
                  f"{n}: the mixer got its level without audio for {s['frames_quiet']} ticks "
                  f"(frames decoded {s['frames_in']})")
            check(s["level"] >= 100 and not s["talker"], f"{n}: level {s['level']} -dBov, not a talker")
        check(mid["w"]["level_skipped"] > 50 and mid["w"]["in_packets"] <= 5,
              f"w, silent so far: not decoded ({mid['w']['level_skipped']} skipped, {mid['w']['in_packets']} decoded)")
        # loud with levels: decoded, the level given
        for n in ("ta", "tb"):
            s = st[n]
            check(s["level_skipped"] <= 5 and s["frames_level"] > 250 and s["in_packets"] >= s["received"] - 5,
                  f"{n}: loud, decoded ({s['in_packets']} of {s['received']}), {s['frames_level']} frames mixed "
                  f"with the level its packets gave, {s['level_skipped']} skipped")
        # no levels: everything decoded, as before
        for n in ("ls", "r"):
            s = st[n]
            check(s["level_packets"] == 0 and s["level_skipped"] == 0 and s["in_packets"] >= s["received"] - 5,
                  f"{n}: no levels, every packet decoded ({s['in_packets']} of {s['received']})")
        s = st["w"]
        check(s["level_resumes"] >= 1 and s["level_warm_decoded"] >= 1 and s["frames_level"] > 150,
              f"w: decoding resumed {s['level_resumes']} time(s) after a warm-up of {s['level_warm_decoded']} "
              f"packets, {s['frames_level']} frames with levels after")
        s = st["m"]
        # every block is counted on arrival; a few packets may come too late
        # to decode when the host stalls the sender (90 of 100 seen)
        check(s["level_malformed"] >= 95 and s["level_packets"] == 0 and s["in_packets"] >= 80,
              f"m: {s['level_malformed']} malformed extension blocks counted; decoded without a level "
              f"({s['in_packets']} packets)")

        # heard: the loud ones with levels, and w after its switch
        got = len(pcm) / RATE_OUT
        check(got > SECONDS - 1.5, f"ls received {got:.1f} s of audio")
        t_w, t_r = onset_time(pcm, 1300), onset_time(pcm, 1700)
        t0 = (t_r or ONSET + 1) + 0.5
        late = pcm[int(t0 * RATE_OUT): int((t0 + 1.0) * RATE_OUT)]
        sh = {n: share(late, PARTS[n][2]) for n in ("ta", "tb", "w", "r")}
        check(all(v > HEARD for v in sh.values()),
              f"ls hears ta, tb (levels, loud), w (levels, after its switch) and r, {t0:.1f} s in: "
              + ", ".join(f"{n} {v:.3f}" for n, v in sh.items()))
        # w must not come later than r (skipped decoding must not delay its
        # first words); earlier is fine: each way in's jitter buffer adapts
        # on its own, and r's may hold a frame or two more (up to 75 ms seen)
        check(t_w is not None and t_r is not None and t_w - t_r <= 0.06,
              f"w is heard as soon as r, which was decoded all along (onsets {t_w} s and {t_r} s in ls's audio)")
        if t_w is not None:
            k = int(t_w * RATE_OUT)
            at = pcm[max(0, k - RATE_OUT // 20): k + RATE_OUT // 10]  # 50 ms before to 100 ms after
            after = pcm[k + RATE_OUT // 2: k + RATE_OUT]
            # a click from a cold decoder is a full-scale step (tens of
            # thousands above the mix's own); the steady mix of three
            # tones has steps of 18-30 thousand from run to run
            check(max_step(at) <= max_step(after) * 1.3,
                  f"no click where w starts: largest step {max_step(at)} around its onset, "
                  f"{max_step(after)} in the steady mix after")

        ev = h("events", "lv").get("events", [])
        started = {e[0] for e in ev if e[1]}
        check({"ta", "tb", "w", "r"} <= started and not ({"s1", "s2", "m", "ls"} & started),
              f"talker events: ta, tb, w and r started, the silent ones never ({sorted(started)})")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        h.close()
    finish()


if __name__ == "__main__":
    main()
