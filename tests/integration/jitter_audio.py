"""Per-frame audio signatures for the jitter-buffer test (test_jitter.py),
and what it takes to read them back: standard library only.

Each 20 ms frame k of a sent stream is a tone of its own frequency
FREQS[sig[k]] (one of 400..2700 Hz, 100 Hz apart, in a seeded sequence in
which a frame is at least 400 Hz from each of the 3 frames before it). The
frame's first and last 2 ms are a raised-cosine ramp, so the abrupt
changes of frequency and phase between frames do not splatter. What the
far side decodes is cut into 20 ms frames again (the edge found by
search: codec look-ahead and resampling delay it by some milliseconds);
the dominant candidate frequency of each frame's middle 12 ms (Hann
window) tells which sent frame it carries, give or take 100 Hz (a low
bitrate Opus, SILK narrowband at 11 kbit/s, moves a tone by that much).

A concealed frame (packet loss concealment) extrapolates the frames before
it: its dominant frequency is one of theirs (give or take), or it is noise,
or it has faded away; it does not hold the frame's own frequency, at
least 400 Hz from theirs. A frame that carries its own frequency was played
from its own packet. A frame that holds a clean tone of another frame near it (not one
of the 3 before) is audio out of place.

Also here: a schedule of sends with seeded impairments (loss, duplicates,
reordering, jitter), pcap writing, and decoding RTP from a pcap with
GStreamer (an independent decoder: libopus and mu-law via GStreamer's
elements, not medius's codecs/)."""
import array
import math
import os
import random
import struct
import subprocess
import sys

RATE = 8000                 # analysis rate: everything is judged at 8 kHz
FRAME = RATE // 50          # 160 samples = 20 ms
FREQS = [400 + 100 * i for i in range(24)]  # 400..2700 Hz
RAMP_MS = 2.0
WIN = 96                    # the middle 12 ms of a frame
WIN_OFF = (FRAME - WIN) // 2
AMP = 9000
MIN_STEP = 4                # a frame is at least 400 Hz from each of ...
NO_REPEAT = 3               # ... the 3 frames before it
NEAR = 1                    # a lossy codec may move a tone by one candidate (100 Hz)


# ---- the sent signal ----

def signature(n, seed):
    """A list of n frequency indexes (into FREQS)."""
    rnd = random.Random(seed)
    sig = []
    for k in range(n):
        while True:
            i = rnd.randrange(len(FREQS))
            if all(abs(i - j) >= MIN_STEP for j in sig[-NO_REPEAT:]):
                break
        sig.append(i)
    return sig


def synth(sig, rate, start=0):
    """S16LE mono PCM at rate for the frames of sig, from sample `start` of the
    first frame on (start > 0 drops the beginning: used to cancel an
    encoder's look-ahead)."""
    fl = rate // 50
    ramp = int(rate * RAMP_MS / 1000)
    env = [1.0] * fl
    for i in range(ramp):
        g = 0.5 - 0.5 * math.cos(math.pi * (i + 0.5) / ramp)
        env[i] = g
        env[fl - 1 - i] = g
    out = array.array("h")
    for k, idx in enumerate(sig):
        w = 2 * math.pi * FREQS[idx] / rate
        out.extend(int(AMP * env[i] * math.sin(w * i)) for i in range(fl))
    out = out[start:]
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


def pcm(data):
    a = array.array("h")
    a.frombytes(data[: len(data) // 2 * 2])
    if sys.byteorder == "big":
        a.byteswap()
    return a


# ---- analysis ----

def _tables(n):
    han = [0.5 - 0.5 * math.cos(2 * math.pi * (i + 0.5) / n) for i in range(n)]
    tabs = []
    for f in FREQS:
        w = 2 * math.pi * f / RATE
        tabs.append(([han[i] * math.cos(w * i) for i in range(n)],
                     [han[i] * math.sin(w * i) for i in range(n)]))
    return han, sum(han), tabs


_TABLES = {WIN: _tables(WIN), FRAME: _tables(FRAME)}


def window_tone(x, at, n=WIN):
    """(dominant index, its share of the window's power (1.0 for a pure tone
    on a candidate), rms) for the n samples of x from `at` (Hann window)."""
    han, hsum, tabs = _TABLES[n]
    seg = x[at:at + n]
    if at < 0 or len(seg) < n:
        return None, 0.0, 0.0
    mul = float.__mul__
    seg = [float(v) for v in seg]
    best, bp = None, -1.0
    for i, (c, s) in enumerate(tabs):
        re_ = sum(map(mul, seg, c))
        im = sum(map(mul, seg, s))
        p = re_ * re_ + im * im
        if p > bp:
            best, bp = i, p
    amp2 = bp * (2 / hsum) ** 2                               # A^2 of the tone
    tot = 2 * sum(h * v * v for h, v in zip(han, seg)) / hsum  # A^2 if a pure tone
    rms = math.sqrt(sum(v * v for v in seg) / n)
    return best, (amp2 / tot if tot > 0 else 0.0), rms


def frame_boundary(x, frames=80):
    """The offset (0..FRAME-1 samples, in 0.5 ms steps) at which whole 20 ms
    frames of x hold the purest single tones: where the sent frames' edges
    fall after the codecs' delays. A frame window straddling an edge holds
    two tones; the score falls off on both sides of the true offset. Judged
    on the first `frames` frames that carry sound."""
    loud = [j for j in range(len(x) // FRAME - 1) if max(map(abs, x[j * FRAME:(j + 1) * FRAME])) > AMP / 8]
    loud = loud[:frames]
    best, bscore = 0, -1.0
    for off in range(0, FRAME, RATE // 2000):
        score = sum(window_tone(x, j * FRAME + off, FRAME)[1] for j in loud)
        if score > bscore:
            best, bscore = off, score
    return best


def frames_of(x):
    """x (decoded audio) cut into 20 ms frames at the edge frame_boundary
    finds: (x padded with a frame of silence at each end, the first frame's
    start in the padded samples, observe's list). Only frames whose middle
    window lies mostly in x are kept."""
    padded = [0] * FRAME + list(x) + [0] * FRAME
    off = frame_boundary(padded)
    if off + WIN_OFF + WIN // 2 < FRAME:
        off += FRAME
    obs = observe(padded, off)
    while obs and off + (len(obs) - 1) * FRAME + WIN_OFF + WIN // 2 > FRAME + len(x):
        obs.pop()
    return padded, off, obs


def observe(x, off):
    """[(dominant index, share, rms)] of the middle 12 ms of each 20 ms frame
    of x starting at off (the last one may be cut short by the delay)."""
    return [window_tone(x, off + j * FRAME + WIN_OFF) for j in range((len(x) - off - WIN_OFF - WIN) // FRAME + 1)]


def near(idx, want):
    """Whether a dominant candidate index is the wanted one, give or take NEAR."""
    return idx is not None and abs(idx - want) <= NEAR


def align(obs, sig, band=60):
    """Map output frames to sent frames: a banded global alignment (leading
    and trailing frames of either side free) scoring a frame that carries
    its own frequency +3, a frame in place of another (concealment) -1, an
    output frame no sent frame maps to (inserted by medius's jitter
    buffer) or a sent frame that maps to none (dropped) -2. Returns
    {sent index: output index}."""
    MATCH, SUB, GAP = 3, -1, -2
    n, m = len(sig), len(obs)
    # score[k][j]: best for sig[:k] against obs[:j]; only |j - k| <= band kept
    score = [dict() for _ in range(n + 1)]
    back = [dict() for _ in range(n + 1)]
    for k in range(n + 1):
        for j in range(max(0, k - band), min(m, k + band) + 1):
            if k == 0 or j == 0:  # leading frames of either side free
                if k <= band and j <= band:
                    score[k][j], back[k][j] = 0, None
                continue
            sk, sp, cands = score[k], score[k - 1], []
            if j - 1 in sp:
                cands.append((sp[j - 1] + (MATCH if near(obs[j - 1][0], sig[k - 1]) else SUB), (k - 1, j - 1)))
            if j in sp:
                cands.append((sp[j] + GAP, (k - 1, j)))
            if j - 1 in sk:
                cands.append((sk[j - 1] + GAP, (k, j - 1)))
            if cands:
                best = max(cands, key=lambda c: c[0])
                sk[j], back[k][j] = best
    # trailing frames of either side free: best end anywhere on the last row or column
    ends = [(score[n][j], n, j) for j in score[n]]
    ends += [(score[k][m], k, m) for k in range(n + 1) if m in score[k] and k >= n - band]
    _, k, j = max(ends)
    mapping = {}
    while k > 0 and j > 0:
        prev = back[k].get(j)
        if prev is None:
            break
        pk, pj = prev
        if pk == k - 1 and pj == j - 1:
            mapping[k - 1] = j - 1
        k, j = pk, pj
    return mapping


PLAYED_SHARE = 0.2   # a played frame's own tone is at least this share of its power
CLEAN_SHARE = 0.6    # a tone this pure and loud is a frame's audio, not concealment
QUIET = 0.1          # a frame below 10% of the typical played rms has faded, unless ...
FAINT = 0.02         # ... it is a clean tone of its own above 2% (Opus after a loss may start soft)


def classify(obs, sig, mapping):
    """Per sent frame: 'played' (its own frequency), 'mismatched' (a clean,
    loud tone of another frame within 10 of it, not one of the 3 before:
    audio out of place), 'concealed' (anything else: a frequency of the
    frames before it, noise, or faded), 'missing' (no output frame for it).
    Returns (list of classes, typical rms)."""
    rms = sorted(obs[j][2] for k, j in mapping.items() if near(obs[j][0], sig[k]))
    typical = rms[len(rms) // 2] if rms else AMP / math.sqrt(2)
    out = []
    for k in range(len(sig)):
        j = mapping.get(k)
        if j is None:
            out.append("missing")
            continue
        idx, share, r = obs[j]
        if near(idx, sig[k]) and (share >= PLAYED_SHARE and r >= QUIET * typical or
                                  share >= CLEAN_SHARE and r >= FAINT * typical):
            out.append("played")
        elif (share >= CLEAN_SHARE and r >= 0.5 * typical and not near(idx, sig[k])
              and not any(near(idx, s) for s in sig[max(0, k - NO_REPEAT):k])
              and any(near(idx, sig[i]) for i in range(max(0, k - 10), min(len(sig), k + 11)))):
            out.append("mismatched")
        else:
            out.append("concealed")
    return out, typical


def silent_runs_ms(x, first, last, typical, block=40):
    """The longest run of 5 ms blocks (block samples) below 5% of typical rms
    in x[first:last], in ms."""
    run = longest = 0
    for at in range(first, last - block + 1, block):
        seg = x[at:at + block]
        r = math.sqrt(sum(v * v for v in seg) / block)
        run = run + 1 if r < 0.05 * typical else 0
        longest = max(longest, run)
    return longest * block * 1000 // RATE


def summary(classes):
    return {c: classes.count(c) for c in ("played", "concealed", "mismatched", "missing")}


# ---- a send schedule with impairments ----

def schedule(n, seed, loss=0.0, dup=0.0, reorder=0.0, jitter_ms=0.0, extra_ms=0.0, guard=(3, 5)):
    """Send times for n 20 ms frames, with seeded impairments; frames in the
    first guard[0] and last guard[1] are left alone. Each frame is lost with
    probability loss; else sent at 20 k ms + jitter (uniform +/- jitter_ms,
    the whole schedule shifted so nothing is early) + uniform(0, extra_ms);
    reordered with probability `reorder`: held back a further 25 to 65 ms,
    behind the next one to three frames; duplicated with probability dup:
    a second copy 0 to 40 ms after the first.
    Returns (sorted [(time ms, frame, is_copy)], {lost}, {duplicated},
    {held back}, number of packets that arrive after one of a higher frame
    (copies not counted))."""
    rnd = random.Random(seed)
    sends, lost, dups, held = [], set(), set(), set()
    for k in range(n):
        inner = guard[0] <= k < n - guard[1]
        t = 20.0 * k + jitter_ms
        if jitter_ms:
            t += rnd.uniform(-jitter_ms, jitter_ms)
        if extra_ms:
            t += rnd.uniform(0, extra_ms)
        r_loss, r_dup, r_re = rnd.random(), rnd.random(), rnd.random()
        if inner and r_loss < loss:
            lost.add(k)
            continue
        if inner and r_re < reorder:
            t += rnd.uniform(25, 65)
            held.add(k)
        sends.append((t, k, False))
        if inner and r_dup < dup:
            dups.add(k)
            sends.append((t + rnd.uniform(0, 40), k, True))
    sends.sort(key=lambda s: (s[0], s[1], s[2]))
    top, reordered = -1, 0
    for _, k, copy in sends:
        if copy:
            continue
        if k < top:
            reordered += 1
        top = max(top, k)
    return sends, lost, dups, held, reordered


# ---- RTP, pcap, and an independent decoder ----

def rtp(pt, seq, ts, ssrc, payload, marker=False):
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xffff, ts & 0xffffffff, ssrc) + payload


def rtp_header(p):
    """(payload type, marker, seq, ts, ssrc, payload) of an RTP packet (CSRCs,
    an extension and padding skipped)."""
    b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", p[:12])
    off = 12 + 4 * (b0 & 0x0f)
    if b0 & 0x10:
        off += 4 + 4 * struct.unpack("!H", p[off + 2:off + 4])[0]
    end = len(p) - (p[-1] if b0 & 0x20 else 0)
    return b1 & 0x7f, bool(b1 & 0x80), seq, ts, ssrc, p[off:end]


def _csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def write_pcap(path, packets, sport=5000, dport=6000):
    """packets: [(epoch seconds, UDP payload)] as Ethernet/IPv4/UDP from
    127.0.0.1:sport to 127.0.0.1:dport."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, (t, data) in enumerate(packets):
            udp = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xffff, 0, 64, 17, 0,
                             bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
            ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
            frame = b"\0\0\0\0\0\2" + b"\0\0\0\0\0\1" + b"\x08\x00" + ip + udp
            sec = int(t)
            f.write(struct.pack("<IIII", sec, int((t - sec) * 1e6), len(frame), len(frame)))
            f.write(frame)


def decode_pcap(pcap, codec, pt, out, out_rate=RATE):
    """Decode the RTP in pcap with GStreamer (pcapparse, rtpopusdepay+opusdec,
    rtpg722depay+avdec_g722 or rtppcmudepay+mulawdec) to S16LE mono at
    out_rate (8 kHz unless told) in out; (samples, gst-launch's exit code,
    its stderr)."""
    if codec == "opus":
        rate, name, dec = 48000, "OPUS", "rtpopusdepay ! opusdec"
    elif codec == "g722":
        rate, name, dec = 8000, "G722", "rtpg722depay ! avdec_g722"
    else:
        rate, name, dec = 8000, "PCMU", "rtppcmudepay ! mulawdec"
    caps = (f"application/x-rtp,media=(string)audio,clock-rate=(int){rate},encoding-name=(string){name},"
            f"payload=(int){pt}")
    pipe = (f"filesrc location={pcap} ! pcapparse caps={caps} ! {dec} ! audioconvert ! audioresample "
            f"! audio/x-raw,format=S16LE,rate={out_rate},channels=1 ! filesink location={out}")
    r = subprocess.run(["gst-launch-1.0", "-q"] + pipe.split(), capture_output=True, text=True, timeout=120)
    data = b""
    if os.path.exists(out):
        with open(out, "rb") as f:
            data = f.read()
    return pcm(data), r.returncode, r.stderr.strip()


def encode_opus_packets(wav_pcm48, pt, ssrc, tmp, bitrate=64000):
    """Opus RTP packets (bytes, in order) of S16LE mono 48 kHz PCM, encoded by
    GStreamer (opusenc, 20 ms frames, no FEC, no DTX; rtpopuspay)."""
    raw = os.path.join(tmp, "sig48.raw")
    with open(raw, "wb") as f:
        f.write(wav_pcm48)
    pdir = os.path.join(tmp, "opus_pkts")
    os.makedirs(pdir, exist_ok=True)
    pipe = (f"filesrc location={raw} ! rawaudioparse format=pcm pcm-format=s16le sample-rate=48000 num-channels=1 "
            f"! audioconvert ! opusenc frame-size=20 bitrate={bitrate} inband-fec=false dtx=false "
            f"! rtpopuspay pt={pt} ssrc={ssrc} seqnum-offset=0 timestamp-offset=0 "
            f"! multifilesink location={pdir}/p%05d.rtp")
    r = subprocess.run(["gst-launch-1.0", "-q"] + pipe.split(), capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"gst opus encoder failed: {r.stderr}")
    pkts = []
    for name in sorted(os.listdir(pdir)):
        with open(os.path.join(pdir, name), "rb") as f:
            pkts.append(f.read())
    return pkts
