"""medius's codecs interoperate with GStreamer's over real RTP on loopback.

For PCMU, PCMA, G.722, Opus (48000/2, mono PCM) and L16/16000, both ways:
  GStreamer -> medius: audiotestsrc ! <gst encoder> ! <gst payloader> !
      udpsink, received and decoded by `cdc_rtp recv` (medius's decoders);
  medius -> GStreamer: a sine made here, encoded and sent by `cdc_rtp send`
      (medius's encoders), received by udpsrc ! <gst depayloader> !
      <gst decoder> ! filesink.
The decoded PCM must hold the sent tone: Goertzel power at the tone against
the whole signal (SINAD) and against other probe frequencies (dominance),
the level against the source's, and the tone's duration. Two negative
controls (a stream decoded with the wrong G.711 law, each way) must fail
that same judgement, so the checks are known to bite.

The rtpmap medius decodes with is the one GStreamer's payloader announces
in its caps (e.g. OPUS/48000/2), so names are checked too.

Environment: CDC_RTP (default build/tests/cdc_rtp), GST_LAUNCH (default
gst-launch-1.0). Standard library only.
"""
import array
import math
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from medius_test import check, finish, free_port  # noqa: E402
from media_check import goertzel_power, pcm_from_bytes, stop, udp_bound, wait_bound  # noqa: E402

CDC_RTP = os.environ.get("CDC_RTP", "build/tests/cdc_rtp")
GST = os.environ.get("GST_LAUNCH", "gst-launch-1.0")

TONE_S = 1.5          # seconds of tone each way
AMP = 0.5             # peak, as a fraction of full scale
FRAMES = int(TONE_S * 50)  # 20 ms frames
F_GST = 1000          # tone GStreamer sends to medius
F_MED = 440           # tone medius sends to GStreamer (another one: a rate mix-up shows)
WINDOW_S = 0.5        # analysis window: a whole number of periods of both tones

# Per codec: what GStreamer calls it and how well it must do. min_sinad: tone
# power over everything else in the window (dB); max_level: |level - source|
# (dB); dominance over other probe tones must exceed MIN_DOMINANCE.
CODECS = [
    dict(name="PCMU", rtpmap="PCMU/8000", pt=0, rate=8000, clock=8000, ename="PCMU",
         enc="mulawenc", pay="rtppcmupay", depay="rtppcmudepay", dec="mulawdec",
         min_sinad=30, max_level=0.5),
    dict(name="PCMA", rtpmap="PCMA/8000", pt=8, rate=8000, clock=8000, ename="PCMA",
         enc="alawenc", pay="rtppcmapay", depay="rtppcmadepay", dec="alawdec",
         min_sinad=30, max_level=0.5),
    dict(name="G722", rtpmap="G722/8000", pt=9, rate=16000, clock=8000, ename="G722",
         enc="avenc_g722", pay="rtpg722pay", depay="rtpg722depay", dec="avdec_g722",
         min_sinad=30, max_level=1.0),
    dict(name="opus", rtpmap="opus/48000/2", pt=96, rate=48000, clock=48000, ename="OPUS",
         enc="opusenc", pay="rtpopuspay", depay="rtpopusdepay", dec="opusdec",
         min_sinad=20, max_level=1.5),
    dict(name="L16", rtpmap="L16/16000/1", pt=96, rate=16000, clock=16000, ename="L16",
         enc=None, pay="rtpL16pay", depay="rtpL16depay", dec=None, be=True,
         min_sinad=60, max_level=0.2),
]
MIN_DOMINANCE = 30.0  # dB of the tone over the strongest other probe
MAX_DURATION_ERR = 0.07  # s: three 20 ms packets' worth


# ---------------------------------------------------------------- analysis

def sine_bytes(freq, rate, seconds, amp=AMP):
    a = array.array("h", (int(round(amp * 32767 * math.sin(2 * math.pi * freq * i / rate)))
                          for i in range(int(rate * seconds))))
    if sys.byteorder == "big":
        a.byteswap()
    return a.tobytes()


def analyse(pcm, rate, freq):
    """Measure the tone in decoded PCM: duration, level, SINAD, dominance."""
    ref_rms = AMP * 32767 / math.sqrt(2)
    block = rate // 100
    active = [i for i in range(len(pcm) // block)
              if math.sqrt(sum(v * v for v in pcm[i * block:(i + 1) * block]) / block) > ref_rms / 4]
    m = dict(samples=len(pcm), duration=0.0, level=-99.0, sinad=-99.0, dominance=-99.0)
    if not active:
        return m
    start, end = active[0] * block, (active[-1] + 1) * block
    m["duration"] = (end - start) / rate
    n = int(WINDOW_S * rate)
    mid = (start + end) // 2
    lo = max(start, mid - n // 2)
    win = pcm[lo:lo + n]
    if len(win) < n:
        return m
    total = sum(v * v for v in win) / n
    tone = goertzel_power(win, rate, freq)
    others = [f for f in (freq // 2, freq * 3 // 4, freq * 5 // 4, freq * 3 // 2, freq * 2, freq * 3)
              if f < rate / 2]
    other = max(goertzel_power(win, rate, f) for f in others)
    m["level"] = 10 * math.log10(max(total, 1e-9) / ref_rms ** 2)
    m["sinad"] = 10 * math.log10(max(tone, 1e-9) / max(total - tone, 1e-9))
    m["dominance"] = 10 * math.log10(max(tone, 1e-9) / max(other, 1e-9))
    return m


def judge(m, codec):
    """The criteria a decoded tone must meet: [(ok, text)]."""
    return [
        (m["dominance"] >= MIN_DOMINANCE, f"dominance {m['dominance']:.1f} dB >= {MIN_DOMINANCE:.0f}"),
        (m["sinad"] >= codec["min_sinad"], f"SINAD {m['sinad']:.1f} dB >= {codec['min_sinad']}"),
        (abs(m["level"]) <= codec["max_level"],
         f"level {m['level']:+.2f} dB vs source within {codec['max_level']}"),
        (abs(m["duration"] - TONE_S) <= MAX_DURATION_ERR,
         f"tone lasts {m['duration']:.2f} s of {TONE_S} (+-{MAX_DURATION_ERR})"),
    ]


def figures(m):
    return (f"dominance {m['dominance']:.1f} dB, SINAD {m['sinad']:.1f} dB, "
            f"level {m['level']:+.2f} dB, tone {m['duration']:.2f} s")


# ---------------------------------------------------------------- processes

def gst_caps(codec):
    """The RTP caps GStreamer's payloader announces: (encoding-name, clock-rate, encoding-params)."""
    src = f"audiotestsrc num-buffers=1 ! {raw_caps(codec)}"
    chain = f"{src} ! {codec['enc']} ! " if codec["enc"] else f"{src} ! "
    r = subprocess.run([GST, "-v"] + (chain + f"{codec['pay']} pt={codec['pt']} ! fakesink").split(),
                       capture_output=True, text=True, timeout=20)
    m = re.search(r"pay0\.GstPad:src: caps = application/x-rtp, (.*)", r.stdout)
    if not m:
        return None
    caps = m.group(1)

    def field(k):
        f = re.search(k + r"=\(\w+\)([^,\s]+)", caps)
        return f.group(1) if f else None
    return field("encoding-name"), field("clock-rate"), field("encoding-params")


def raw_caps(codec, fmt=None):
    fmt = fmt or ("S16BE" if codec.get("be") else "S16LE")
    return f"audio/x-raw,format={fmt},rate={codec['rate']},channels=1,layout=interleaved"


def gst_to_medius(codec, rtpmap, controls=()):
    """GStreamer encodes and sends a tone; medius decodes it with rtpmap (and
    with each control rtpmap in parallel). Returns [(rtpmap, summary, pcm)]."""
    rxs = []
    try:
        for rm in (rtpmap,) + tuple(controls):
            port = free_port()
            p = subprocess.Popen([CDC_RTP, "recv", rm, str(codec["pt"]), str(port), "10"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            rxs.append((rm, port, p))
            if not wait_bound(p, port):
                raise RuntimeError(f"cdc_rtp recv {rm} did not bind {port}: {stop(p)[1]!r}")
        spb = codec["rate"] // 50
        sink = ("udpsink host=127.0.0.1 port=%d" % rxs[0][1] if len(rxs) == 1 else
                "multiudpsink clients=" + ",".join(f"127.0.0.1:{port}" for _, port, _ in rxs))
        pipe = (f"audiotestsrc freq={F_GST} volume={AMP} samplesperbuffer={spb} num-buffers={FRAMES} "
                f"! {raw_caps(codec)} ! " + (f"{codec['enc']} ! " if codec["enc"] else "") +
                f"{codec['pay']} pt={codec['pt']} max-ptime=20000000 ! {sink}")
        g = subprocess.run([GST, "-q"] + pipe.split(), capture_output=True, text=True,
                           timeout=TONE_S + 15)
        if g.returncode:
            raise RuntimeError(f"gst-launch failed ({g.returncode}): {g.stderr.strip()}")
        out = []
        for rm, port, p in rxs:
            # cdc_rtp ends by itself 1 s after the last packet
            try:
                so, se = p.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                so, se = stop(p)
            out.append((rm, p.returncode, se.decode(errors="replace").strip(), pcm_from_bytes(so)))
        return out
    finally:
        for _, _, p in rxs:
            if p.poll() is None:
                stop(p)


def medius_to_gst(codec, send_rtpmap, gst_codec, freq=F_MED):
    """medius encodes (send_rtpmap) and sends a tone; GStreamer receives and
    decodes it as gst_codec. Returns (cdc_rtp rc, its stderr, gst rc, pcm)."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="interop-") as tmp:
        out = os.path.join(tmp, "out.raw")
        caps = (f"application/x-rtp,media=audio,clock-rate={gst_codec['clock']},"
                f"encoding-name={gst_codec['ename']},payload={codec['pt']}")
        if gst_codec["name"] == "L16":
            caps += ",channels=1"
        dec = (f"! {gst_codec['dec']} " if gst_codec["dec"] else "")
        pipe = (f"udpsrc address=127.0.0.1 port={port} caps={caps} ! {gst_codec['depay']} {dec}"
                f"! audioconvert ! {raw_caps(gst_codec, 'S16LE')} ! filesink location={out}")
        g = subprocess.Popen([GST, "-q", "-e"] + pipe.split(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            if not wait_bound(g, port):
                raise RuntimeError(f"GStreamer did not bind {port}: {stop(g)[1]!r}")
            s = subprocess.run([CDC_RTP, "send", send_rtpmap, str(codec["pt"]), "20",
                                f"127.0.0.1:{port}"],
                               input=sine_bytes(freq, codec["rate"], TONE_S),
                               capture_output=True, timeout=TONE_S + 10)
            time.sleep(0.3)  # let the last packets through the pipeline
            _, gerr = stop(g, signal.SIGINT)  # -e: EOS, so filesink flushes
            with open(out, "rb") as f:
                pcm = pcm_from_bytes(f.read())
            return s.returncode, s.stderr.decode(errors="replace").strip(), g.returncode, gerr, pcm
        finally:
            if g.poll() is None:
                stop(g, signal.SIGKILL)


def cdc_rtp_self_check():
    """cdc_rtp recv parses CSRCs, extension and padding, counts and conceals
    a gap, and drops duplicates and other payload types: the counters the
    interop checks rely on can show a loss."""
    port = free_port()
    p = subprocess.Popen([CDC_RTP, "recv", "PCMU/8000", "0", str(port), "5"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        if not wait_bound(p, port):
            return p.returncode, "did not bind", 0
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        pay = bytes([0x10] * 160)
        for i, seq in enumerate([100, 101, 103, 103, 104]):
            if i == 1:  # one CSRC, a one-word extension and 3 bytes of padding
                pkt = (struct.pack("!BBHIII", 0x80 | 0x20 | 0x10 | 1, 0, seq, seq * 160, 1, 7) +
                       struct.pack("!HHI", 0xBEDE, 1, 0) + pay + b"\0\0\x03")
            else:
                pkt = struct.pack("!BBHII", 0x80, 0, seq, seq * 160, 1) + pay
            s.sendto(pkt, ("127.0.0.1", port))
        s.sendto(struct.pack("!BBHII", 0x80, 8, 105, 105 * 160, 1) + pay, ("127.0.0.1", port))
        s.close()
        so, se = p.communicate(timeout=10)
        return p.returncode, se.decode(errors="replace").strip(), len(so) // 2
    finally:
        if p.poll() is None:
            stop(p)


def summary_fields(line):
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


# ---------------------------------------------------------------- tests

def main():
    t0 = time.time()
    if not os.access(CDC_RTP, os.X_OK):
        check(False, f"{CDC_RTP} exists (build it, or point CDC_RTP at it)")
        finish()
    r = subprocess.run([CDC_RTP], capture_output=True, timeout=10)
    check(r.returncode == 2 and b"usage" in r.stderr, f"{CDC_RTP} without arguments: usage, exit 2")
    r = subprocess.run([CDC_RTP, "recv", "G729/8000", "18", "5000", "1"], capture_output=True, timeout=10)
    check(r.returncode == 2, "cdc_rtp rejects a codec medius lacks with exit 2")
    rc, summ, samples = cdc_rtp_self_check()
    st = summary_fields(summ)
    check(rc == 0 and samples == 800 and st.get("packets") == 4 and st.get("bytes") == 640
          and st.get("lost") == 1 and st.get("late") == 1 and st.get("other_pt") == 1,
          f"cdc_rtp recv conceals a lost packet, drops a duplicate and another PT: {summ}, {samples} samples")
    try:
        v = subprocess.run([GST, "--version"], capture_output=True, text=True, timeout=10)
        gst_ok = v.returncode == 0
    except OSError:
        gst_ok = False
    check(gst_ok, f"{GST} runs (Debian: gstreamer1.0-tools, -plugins-base, -plugins-good, -libav)")
    if not gst_ok:
        finish()

    by_name = {c["name"]: c for c in CODECS}
    for codec in CODECS:
        name = codec["name"]
        # ---- GStreamer -> medius
        caps = gst_caps(codec)
        ok = caps is not None and caps[0] is not None and caps[1] is not None
        check(ok and caps[0].lower() == codec["ename"].lower() and int(caps[1]) == codec["clock"],
              f"{name}: GStreamer's {codec['pay']} announces {caps}")
        if not ok:
            continue
        rtpmap = f"{caps[0]}/{caps[1]}" + (f"/{caps[2]}" if caps[2] else "")
        controls = ("PCMA/8000",) if name == "PCMU" else ()
        try:
            results = gst_to_medius(codec, rtpmap, controls)
        except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
            check(False, f"{name} GStreamer -> medius ran: {e}")
            continue
        rm, rc, summ, pcm = results[0]
        st = summary_fields(summ)
        check(rc == 0 and st.get("packets", 0) >= FRAMES and st.get("lost", 1) == 0
              and st.get("decode_errors", 1) == 0 and st.get("other_pt", 1) == 0,
              f"{name} GStreamer -> medius ({rtpmap} pt {codec['pt']}): exit {rc}, {summ}")
        m = analyse(pcm, codec["rate"], F_GST)
        print(f"     {name} GStreamer -> medius, {F_GST} Hz: {figures(m)}", flush=True)
        for good, what in judge(m, codec):
            check(good, f"{name} GStreamer -> medius: {what}")
        for rm, rc, summ, pcm in results[1:]:
            m = analyse(pcm, 8000, F_GST)
            failed = [w for good, w in judge(m, codec) if not good]
            print(f"     control: GStreamer {name} decoded by medius as {rm}: {figures(m)}", flush=True)
            check(rc == 0 and failed,
                  f"control: GStreamer {name} decoded as {rm} fails the tone check ({'; '.join(failed)})")

        # ---- medius -> GStreamer
        try:
            src, serr, grc, gerr, pcm = medius_to_gst(codec, codec["rtpmap"], codec)
        except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
            check(False, f"{name} medius -> GStreamer ran: {e}")
            continue
        check(src == 0 and grc == 0 and f"packets={FRAMES} " in serr,
              f"{name} medius -> GStreamer ({codec['rtpmap']} pt {codec['pt']} -> {codec['depay']}"
              f"{' ! ' + codec['dec'] if codec['dec'] else ''}): sender exit {src} {serr!r}, "
              f"gst exit {grc} {gerr.decode(errors='replace').strip()!r}")
        m = analyse(pcm, codec["rate"], F_MED)
        print(f"     {name} medius -> GStreamer, {F_MED} Hz: {figures(m)}", flush=True)
        for good, what in judge(m, codec):
            check(good, f"{name} medius -> GStreamer: {what}")

    # control the other way: medius's A-law labelled as PT 0 / PCMU for GStreamer
    pcma, pcmu = by_name["PCMA"], by_name["PCMU"]
    try:
        src, serr, grc, _, pcm = medius_to_gst(dict(pcma, pt=0), "PCMA/8000", pcmu)
        m = analyse(pcm, 8000, F_MED)
        failed = [w for good, w in judge(m, pcmu) if not good]
        print(f"     control: medius PCMA decoded by GStreamer as PCMU: {figures(m)}", flush=True)
        check(src == 0 and grc == 0 and failed,
              f"control: medius PCMA decoded as PCMU fails the tone check ({'; '.join(failed)})")
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
        check(False, f"control medius PCMA -> GStreamer PCMU ran: {e}")

    print(f"     took {time.time() - t0:.1f} s", flush=True)
    finish()


if __name__ == "__main__":
    main()
