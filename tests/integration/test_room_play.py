"""Playback into a conference room (mx_room_play) through room_harness.

Two PCMU participants in an 8 kHz room, their peers plain UDP sockets:
p1 talks (a 300 Hz tone, paced at 20 ms), p2 sends silence. A WAV file
written here with Python's wave module (16 kHz stereo, 2 s of 800 Hz) is
played into the room. What each participant receives is decoded (G.711
by audioop) and judged by Goertzel power per 20 ms window:

  - both hear the file (the talker p1 too: playback is mixed on top of
    the talkers, outside N-1), for 2000 ms within two frames, and p2
    hears p1's 300 Hz under it: the file does not displace the talker;
  - the play event says it ended by itself after 2000 ms;
  - repeat 5 stopped after 0.5 s: a stopped event, about 500 ms played,
    and the tone is gone from then on;
  - a missing file is an error before anything plays.
"""
import audioop
import math
import os
import struct
import tempfile
import threading
import time
import wave

from media_check import goertzel_power, pcm_from_bytes
from medius_test import LineHarness, check, finish, loop_sock

HARNESS = os.environ.get("ROOM_HARNESS", "build/tests/room_harness")
RATE = 8000


def write_wav(path, secs=2.0, freq=800, rate=16000):
    with wave.open(path, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = bytearray()
        for i in range(int(secs * rate)):
            v = int(10000 * math.sin(2 * math.pi * freq * i / rate))
            frames += struct.pack("<hh", v, v)
        w.writeframes(bytes(frames))


class Peers:
    """Each participant's peer: sends its frames to the leg (paced at
    20 ms) and keeps what the room sends it."""

    def __init__(self, socks, ports, frames):
        self.socks, self.ports, self.frames = socks, ports, frames
        self.got = [[] for _ in socks]
        self.run = True
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.send)] + \
            [threading.Thread(target=self.recv, args=(i,)) for i in range(len(socks))]
        for t in self.threads:
            t.start()

    def send(self):
        seq, t0 = 0, time.monotonic()
        while self.run:
            for i, s in enumerate(self.socks):
                f = self.frames[i][seq % len(self.frames[i])]
                s.sendto(struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF, 0x100 + i) + f,
                         ("127.0.0.1", self.ports[i]))
            seq += 1
            delay = t0 + seq * 0.02 - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def recv(self, i):
        s = self.socks[i]
        s.settimeout(0.2)
        while self.run:
            try:
                p = s.recv(2048)
            except OSError:
                continue
            with self.lock:
                self.got[i].append(p)

    def take(self):
        with self.lock:
            g, self.got = self.got, [[] for _ in self.socks]
        return g

    def stop(self):
        self.run = False
        for t in self.threads:
            t.join()


def windows(pkts, freq):
    """Per 20 ms window of the decoded audio (packets in sequence order):
    the power at freq, relative to a full-amplitude 10000 sine (1.0)."""
    pkts = sorted(pkts, key=lambda p: struct.unpack("!H", p[2:4])[0])
    pcm = pcm_from_bytes(b"".join(audioop.ulaw2lin(p[12:], 2) for p in pkts))
    return [goertzel_power(pcm[w:w + 160], RATE, freq) / (10000 ** 2 / 2) for w in range(0, len(pcm) - 159, 160)]


tmp = tempfile.mkdtemp(prefix="medius-room-play-")
wav = os.path.join(tmp, "tone.wav")
write_wav(wav)
tone = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 300 * i / RATE))) for i in range(RATE))
talk = [audioop.lin2ulaw(tone[k * 320:(k + 1) * 320], 2) for k in range(50)]
quiet = [audioop.lin2ulaw(b"\0\0" * 160, 2)]

h = LineHarness(HARNESS, "--lcores", "0@0,1@1")
try:
    check(h("room", "r", 8000, 3, 1)["rc"] == 0, "a room at 8 kHz")
    socks = [loop_sock(), loop_sock()]
    ports = []
    for i, s in enumerate(socks):
        j = h("join", "r", f"p{i + 1}", "PCMU/8000", 0, 20, s.getsockname()[1])
        check(j["rc"] == 0, f"p{i + 1} joins: {j}")
        ports.append(j["port"])
    peers = Peers(socks, ports, [talk, quiet])
    try:
        time.sleep(1.0)
        peers.take()
        r = h("play", "r", wav, 1)
        check(r["rc"] == 0 and r["duration"] == 2000, f"play: {r}")
        time.sleep(3.0)
        got = peers.take()
        for i in range(2):
            w800 = windows(got[i], 800)
            n = sum(1 for x in w800 if x > 0.5)
            check(abs(n - 100) <= 2, f"p{i + 1} hears the file: {n} windows of 800 Hz at full level (want 100 +- 2)")
        w300 = windows(got[1], 300)
        w800 = windows(got[1], 800)
        both = sum(1 for a, b in zip(w300, w800) if a > 0.3 and b > 0.5)
        check(both >= 95, f"p2 hears the talker under the file: {both} windows with both tones")
        own = sum(1 for x in windows(got[0], 300) if x > 0.05)
        check(own == 0, f"p1 does not hear itself ({own} windows of 300 Hz): N-1 holds with a player")
        ev = h("playevents", "r")
        check(ev["events"] and ev["events"][0][0] == r["id"] and ev["events"][0][1] is False and
              abs(ev["events"][0][2] - 2000) <= 20, f"the play event: ended by itself after 2000 ms ({ev})")

        r = h("play", "r", wav, 5)
        time.sleep(0.5)
        s = h("stopplay", "r", r["id"])
        time.sleep(0.3)
        peers.take()
        time.sleep(1.0)
        after = sum(1 for x in windows(peers.take()[1], 800) if x > 0.05)
        ev = h("playevents", "r")
        check(r["rc"] == 0 and s["rc"] == 0 and ev["events"] and ev["events"][0][1] is True and
              300 <= ev["events"][0][2] <= 800 and after == 0,
              f"stopped after 0.5 s: {ev}, then no 800 Hz ({after} windows)")
        check(h("stopplay", "r", r["id"])["rc"] == -2, "stopping it again: -ENOENT")
        bad = h("play", "r", os.path.join(tmp, "missing.wav"), 1)
        check(bad["rc"] == -2 and "No such file" in bad.get("error", ""), f"a missing file: {bad}")
    finally:
        peers.stop()
finally:
    h.close("room_harness")
finish()
