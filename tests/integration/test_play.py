"""play media / stop media into a relayed call, through mediusd over ng.

A and B talk PCMU through medius; B sends a 300 Hz tone all along (20 ms
packets, its own SSRC). A WAV file is written here with Python's wave
module (16 kHz stereo, 2 s of 800 Hz: medius resamples it to PCMU's 8 kHz
and down-mixes it). `play media` with from-tag A plays it to A: what A
receives is decoded (G.711 by audioop, an independent decoder) and
checked:

  - the file arrives intact: 800 Hz (Goertzel share of each 20 ms window),
    2000 ms long within two frames, under a new SSRC with consecutive
    sequence numbers, timestamps 160 apart and the marker on the first
    packet; B's 300 Hz is not relayed meanwhile, and is again afterwards;
  - the reply's duration is the file's length (2000 ms); mediusd logs
    "playback finished";
  - repeat-times 2 doubles it;
  - a file as a blob (1 s, 8 kHz mono: an ng datagram's worth) plays the same;
  - stop media after 0.5 s ends it early and relaying resumes;
  - a missing file, no file at all, an unknown call: error replies, and the
    call still relays;
  - files come only from [media] play_dir: a plain name is taken inside
    it; a path outside it, "../" out of it, or a symbolic link in it that
    points out of it are refused, and a daemon without play_dir plays no
    file at all (blobs still play).
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
from medius_test import Daemon, call_sdp, check, finish, loop_sock, media_port, ng

RATE = 8000
B_SSRC = 0xB0B


def write_wav(path, secs=2.0, freq=800, rate=16000, channels=2):
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = bytearray()
        for i in range(int(secs * rate)):
            v = int(12000 * math.sin(2 * math.pi * freq * i / rate))
            frames += struct.pack("<h", v) * channels
        w.writeframes(bytes(frames))


class Peer:
    """B's sender (300 Hz PCMU, paced at 20 ms) and A's receiver (every
    packet, with its arrival time), each in a thread."""

    def __init__(self, a, b, to_b):
        self.a, self.b, self.to_b = a, b, to_b
        self.got = []
        self.run = True
        self.lock = threading.Lock()
        tone = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 300 * i / RATE))) for i in range(RATE))
        self.frames = [audioop.lin2ulaw(tone[k * 320:(k + 1) * 320], 2) for k in range(50)]
        self.threads = [threading.Thread(target=self.send), threading.Thread(target=self.recv)]
        for t in self.threads:
            t.start()

    def send(self):
        seq, t0 = 0, time.monotonic()
        while self.run:
            pkt = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF, B_SSRC) + self.frames[seq % 50]
            self.b.sendto(pkt, ("127.0.0.1", self.to_b))
            seq += 1
            delay = t0 + seq * 0.02 - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def recv(self):
        self.a.settimeout(0.2)
        while self.run:
            try:
                p = self.a.recv(2048)
            except OSError:
                continue
            with self.lock:
                self.got.append((time.monotonic(), p))

    def take(self):
        with self.lock:
            g, self.got = self.got, []
        return g

    def stop(self):
        self.run = False
        for t in self.threads:
            t.join()


def hdr(p):
    b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", p[:12])
    return b1 & 0x7F, bool(b1 & 0x80), seq, ts, ssrc


def analyse(pkts):
    """The played stream among what A received: (its packets in order, the
    B packets before, during and after it)."""
    played = [p for _, p in pkts if hdr(p)[4] != B_SSRC]
    if not played:
        return [], len(pkts), 0, 0
    t_first = next(t for t, p in pkts if hdr(p)[4] != B_SSRC)
    t_last = max(t for t, p in pkts if hdr(p)[4] != B_SSRC)
    b_before = sum(1 for t, p in pkts if hdr(p)[4] == B_SSRC and t < t_first)
    b_during = sum(1 for t, p in pkts if hdr(p)[4] == B_SSRC and t_first < t < t_last)
    b_after = sum(1 for t, p in pkts if hdr(p)[4] == B_SSRC and t > t_last)
    return played, b_before, b_during, b_after


def tone_windows(played, freq):
    pcm = pcm_from_bytes(b"".join(audioop.ulaw2lin(p[12:], 2) for p in played))
    n = 0
    for w in range(0, len(pcm) - 160 + 1, 160):
        seg = pcm[w:w + 160]
        total = sum(v * v for v in seg) / 160 + 1e-9
        if goertzel_power(seg, RATE, freq) / total > 0.8:
            n += 1
    return n


def check_stream(name, played):
    ok = bool(played)
    if ok:
        hs = [hdr(p) for p in played]
        ssrcs = {h[4] for h in hs}
        seq_ok = all((hs[i + 1][2] - hs[i][2]) & 0xFFFF == 1 for i in range(len(hs) - 1))
        ts_ok = all((hs[i + 1][3] - hs[i][3]) & 0xFFFFFFFF == 160 for i in range(len(hs) - 1))
        ok = len(ssrcs) == 1 and seq_ok and ts_ok and hs[0][1] and all(h[0] == 0 for h in hs)
    check(ok, f"{name}: one new SSRC, PCMU, consecutive sequence numbers, timestamps 160 apart, marker first")


tmp = tempfile.mkdtemp(prefix="medius-play-")
wav = os.path.join(tmp, "tone.wav")
write_wav(wav)
small = os.path.join(tmp, "small.wav")  # a blob fits in one ng datagram: 1 s, 8 kHz mono (16 kB)
write_wav(small, secs=1.0, rate=8000, channels=1)

outside = tempfile.mkdtemp(prefix="medius-outside-")  # a file mediusd can read, not under play_dir
secret = os.path.join(outside, "secret.wav")
write_wav(secret, secs=1.0, rate=8000, channels=1)
os.symlink(secret, os.path.join(tmp, "link.wav"))

with Daemon("--set", f"media.play_dir={tmp}") as d:
    P = d.port
    a, b = loop_sock(), loop_sock()
    off = ng(P, command="offer", call_id="play", from_tag="A", sdp=call_sdp(a.getsockname()[1], pts=(0,)))
    to_b = media_port(off["sdp"])
    ng(P, command="answer", call_id="play", from_tag="A", to_tag="B", sdp=call_sdp(b.getsockname()[1], pts=(0,)))
    peer = Peer(a, b, to_b)
    try:
        time.sleep(0.6)
        pre = peer.take()
        check(len(pre) >= 20 and all(hdr(p)[4] == B_SSRC for _, p in pre) and
              tone_windows([p for _, p in pre], 300) >= 20,
              f"before: B's 300 Hz reaches A ({len(pre)} packets)")

        # 1. the file, once
        r = ng(P, command="play media", call_id="play", from_tag="A", file=wav)
        check(r.get("result") == "ok" and r.get("duration") == 2000, f"play media: ok, duration 2000 ms ({r})")
        time.sleep(3.0)
        played, before, during, after = analyse(peer.take())
        n800 = tone_windows(played, 800)
        check(abs(len(played) - 100) <= 2 and n800 >= 97,
              f"the file arrives: {len(played)} packets of 20 ms (want 100 +- 2), {n800} windows of 800 Hz")
        check_stream("once", played)
        check(during == 0 and after >= 20,
              f"B is held back while it plays ({during} of its packets came) and relayed after ({after})")
        time.sleep(1.2)  # the 1 s timer gives the legs back
        check("playback finished" in d.log_text(), "mediusd logs 'playback finished'")
        peer.take()

        # 2. repeat-times 2
        r = ng(P, command="play media", call_id="play", from_tag="A", file=wav, **{"repeat-times": 2})
        time.sleep(5.0)
        played, before, during, after = analyse(peer.take())
        n800 = tone_windows(played, 800)
        check(r.get("result") == "ok" and abs(len(played) - 200) <= 2 and n800 >= 196 and during == 0 and after >= 20,
              f"repeat-times 2: {len(played)} packets (want 200 +- 2), {n800} windows of 800 Hz, then B again ({after})")
        check_stream("repeat-times 2", played)

        # 3. a file as a blob
        with open(small, "rb") as f:
            blob = f.read()
        r = ng(P, command="play media", call_id="play", from_tag="A", blob=blob)
        time.sleep(2.0)
        played, before, during, after = analyse(peer.take())
        n800 = tone_windows(played, 800)
        check(r.get("result") == "ok" and r.get("duration") == 1000 and abs(len(played) - 50) <= 2 and n800 >= 48,
              f"blob: {len(played)} packets, {n800} windows of 800 Hz")

        # 4. stop media early
        time.sleep(1.0)
        peer.take()
        r = ng(P, command="play media", call_id="play", from_tag="A", file=wav, **{"repeat-times": 3})
        time.sleep(0.5)
        s = ng(P, command="stop media", call_id="play", from_tag="A")
        time.sleep(1.0)
        played, before, during, after = analyse(peer.take())
        check(r.get("result") == "ok" and s.get("result") == "ok" and 15 <= len(played) <= 40 and after >= 30,
              f"stop media after 0.5 s: {len(played)} packets played, B relayed again right after ({after} in ~1 s); "
              f"played-ms {s.get('played-ms')}")
        s2 = ng(P, command="stop media", call_id="play", from_tag="A")
        check(s2.get("result") == "error", f"stop media with nothing playing is an error: {s2.get('error-reason')!r}")

        # 5. errors change nothing
        e1 = ng(P, command="play media", call_id="play", from_tag="A", file=os.path.join(tmp, "missing.wav"))
        e2 = ng(P, command="play media", call_id="play", from_tag="A")
        e3 = ng(P, command="play media", call_id="nosuch", from_tag="A", file=wav)
        e4 = ng(P, command="play media", call_id="play", from_tag="A", blob=b"RIFF not really a wave")
        # a WAV whose LIST/INFO sub-chunk has a negative size: libsndfile
        # looped on it without end, freezing ng (fuzz_play's find); now
        # an answer at once (ng() waits 2 s)
        with open(os.path.join(os.environ["MEDIUS_SOURCE"], "tests", "fuzz", "corpus", "play",
                               "regress_wav_list_negative_size"), "rb") as f:
            t5 = time.time()
            e5 = ng(P, command="play media", call_id="play", from_tag="A", blob=f.read())
            t5 = time.time() - t5
        check(e5.get("result") == "error" and t5 < 1.0,
              f"a WAV with a malformed LIST chunk: an error reply in {t5:.3f} s ({e5.get('error-reason')!r})")
        time.sleep(0.6)
        still = peer.take()
        check(e1.get("result") == "error" and "No such file" in e1.get("error-reason", ""),
              f"a missing file is an error: {e1.get('error-reason')!r}")
        check(e2.get("result") == "error" and e3.get("result") == "error" and e4.get("result") == "error",
              f"no file, an unknown call, a bad blob: errors ({e2.get('error-reason')!r}, {e3.get('error-reason')!r}, "
              f"{e4.get('error-reason')!r})")
        check(len(still) >= 20 and all(hdr(p)[4] == B_SSRC for _, p in still),
              f"after the errors the call still relays B ({len(still)} packets)")
        refused = [ng(P, command="play media", call_id="play", from_tag="A", file=f)
                   for f in (secret, os.path.join(tmp, "..", os.path.basename(outside), "secret.wav"), "link.wav")]
        check(all(e.get("result") == "error" and "not inside play_dir" in e.get("error-reason", "") for e in refused),
              f"outside play_dir (absolute, ../, a symbolic link out): refused "
              f"{[e.get('error-reason') for e in refused]}")

        # 6. B hears a file while A keeps talking? the other party: play to B
        r = ng(P, command="play media", call_id="play", from_tag="B", file="tone.wav")
        check(r.get("result") == "ok", f"play media to B (the answerer), a name inside play_dir: {r}")
        ng(P, command="stop media", call_id="play", from_tag="B")
    finally:
        peer.stop()
    ng(P, command="delete", call_id="play")

# without play_dir no file plays, whatever its path; a blob still does
with Daemon() as d:
    a, b = loop_sock(), loop_sock()
    ng(d.port, command="offer", call_id="off", from_tag="A", sdp=call_sdp(a.getsockname()[1], pts=(0,)))
    ng(d.port, command="answer", call_id="off", from_tag="A", to_tag="B", sdp=call_sdp(b.getsockname()[1], pts=(0,)))
    e = ng(d.port, command="play media", call_id="off", from_tag="A", file=wav)
    check(e.get("result") == "error" and "play_dir" in e.get("error-reason", ""),
          f"no play_dir: a file is refused and the reply says why: {e.get('error-reason')!r}")
    with open(small, "rb") as f:
        r = ng(d.port, command="play media", call_id="off", from_tag="A", blob=f.read())
    check(r.get("result") == "ok" and r.get("duration") == 1000, f"no play_dir: a blob still plays ({r})")
    ng(d.port, command="delete", call_id="off")
finish()
