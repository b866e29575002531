"""The jitter buffer of transcoded legs, judged from the outside.

A transcoded call set up over ng as a SIP proxy does it: A offers PCMU with
codec-transcode opus, B answers opus. Both directions run at once: A sends
PCMU (encoded here with audioop) that reaches B as Opus, and B sends Opus
(encoded by GStreamer's opusenc) that reaches A as PCMU. Each sender
impairs its own stream from a seeded schedule. What medius sends to each
side is received here with kernel timestamps, written to a pcap and decoded
by GStreamer (rtpopusdepay ! opusdec, rtppcmudepay ! mulawdec), an
independent decoder, into 8 kHz PCM placed by RTP timestamp.

Every 20 ms frame sent is a tone of its own frequency (jitter_audio.py):
the far side's frames are found by search (codec delays), aligned with
what was sent, and each sent frame is classified as played (its own
frequency), concealed (a frequency of the frames before it, noise, or
faded), mismatched (a clean tone of another frame: audio out of place) or
missing. A self-check first runs the analysis on GStreamer's own Opus
packets, without medius.

Scenarios, 400 frames (8 s) each way, a fresh mediusd each:
  clean     no impairment: every frame played. Shows the classifier works.
  loss      5% of packets lost, in order, on time: exactly the lost frames
            concealed, every other played. Shows concealment is told apart.
  late      0-60 ms of random extra delay per packet, no loss: every frame
            sent is played with its own audio, none concealed: a packet
            that arrives after a later one is not dropped as late, from
            the first frame on (the buffer starts with a 60 ms delay and
            then follows the jitter it measures; LATE_WARMUP frames at the
            start could be spared, and none are).
  impaired  5% lost, 2% duplicated, 10% held back 25-65 ms, +/-40 ms jitter:
            no gap in the audio longer than one frame, no audio out of
            place, at least 98% of the frames not lost played.
Continuity everywhere: no hole in the RTP timestamps and no silence longer
than 20 ms in the decoded audio; in late and impaired also the pacing:
after the first second, at most 1% of the intervals between packets to the
far side over 50 ms (medius plays out on its 20 ms clock; a lost frame is
concealed when the next is due, 40 ms; passing the input's jitter on, as
medius did before its media engine, gives 7-13% over).

In each, the counters query reports for the receiving leg's "jitter
buffer" (jb_counters) must match what the sender did and the far side
got. A mediusd without a media clock (before the media engine) has none:
those checks are then skipped with a message; with a media clock their
absence fails.

A scenario is run again (at most 3 times) when the host stalled: a sender
more than 10 ms behind its schedule, or a media clock tick more than 10 ms
late (statistics).

JITTER_SEED and JITTER_FRAMES change the seed and length; KEEP_TMP keeps
the pcaps and decoded audio."""
import audioop
import os
import re
import selectors
import shutil
import socket
import struct
import tempfile
import threading
import time

import jitter_audio as ja
from medius_test import Daemon, check, finish, ng, rtp_rtcp_pair

N = int(os.environ.get("JITTER_FRAMES", "400"))
SEED = int(os.environ.get("JITTER_SEED", "9"))
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
OPUS_LOOKAHEAD = 312   # libopus's look-ahead at 48 kHz (2.5 + 4 ms): cut from the sent signal
PLAYED_MIN = 0.98      # impaired: share of the frames not lost that must be played
LATE_MAX = 0.02        # impaired: share of the frames the counters may call late
MAX_INTERVAL_MS = 50   # between two packets to the far side: one frame period, one frame of gap, 10 ms slack
PACE_OVER = 0.01       # ... except for 1% of them (the buffer's delay grows by pausing its output)
PACE_SETTLE_MS = 1000  # ... after the first second (when the buffer's delay grows most)
SLACK_MS = 10          # a sender further behind its schedule, or a media clock tick later than this, means
                       # the host stalled (a loaded 2-core machine): the scenario is run again
ATTEMPTS = 3

# B asks for 32 kbit/s: medius's default Opus (SILK narrowband, about 11 kbit/s)
# moves a pure tone by 100-200 Hz in about one frame of 400
OPUS_FMTP = "a=fmtp:{pt} maxaveragebitrate=32000\r\n"
LATE_WARMUP = 0        # late: frames at the start that may be late (the buffer starts with a 60 ms
                       # delay before it has measured the jitter): none

SCENARIOS = [
    ("clean", {}),
    ("loss", {"loss": 0.05}),
    ("late", {"extra_ms": 60}),
    ("impaired", {"loss": 0.05, "dup": 0.02, "reorder": 0.10, "jitter_ms": 40}),
]

_skips = []


def skip_check(what):
    _skips.append(what)
    print("SKIP " + what, flush=True)


def sdp(port, pts, extra=""):
    return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP {' '.join(map(str, pts))}\r\na=ptime:20\r\n{extra}")


def port_of(text):
    return int(re.search(r"^m=audio (\d+)", text, re.M).group(1))


def pair():
    """An RTP socket on an even port (kernel receive timestamps on) and its RTCP socket on port + 1."""
    r, c = rtp_rtcp_pair(rcvbuf=1 << 20)
    r.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    return r, c


class Receiver(threading.Thread):
    """Collects [(kernel receive time, datagram)] on each RTP socket; RTCP is read and dropped."""

    def __init__(self, rtp_socks, rtcp_socks):
        super().__init__(daemon=True)
        self.got = {s: [] for s in rtp_socks}
        self.sel = selectors.DefaultSelector()
        for s in rtp_socks:
            self.sel.register(s, selectors.EVENT_READ, True)
        for s in rtcp_socks:
            self.sel.register(s, selectors.EVENT_READ, False)
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            for key, _ in self.sel.select(0.05):
                s = key.fileobj
                while True:
                    try:
                        data, anc, _, _ = s.recvmsg(4096, 64)
                    except BlockingIOError:
                        break
                    if not key.data:
                        continue
                    t = time.time()
                    for level, kind, val in anc:
                        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(val) >= 16:
                            sec, nsec = struct.unpack("qq", val[:16])
                            t = sec + nsec / 1e9
                    self.got[s].append((t, data))

    def stop(self):
        self.halt.set()
        self.join(5)


JB_KEY = "jitter buffer"
JB_NAMES = ("received", "played", "lost", "late", "duplicates", "reordered", "early", "resets", "held",
            "delay ms", "delay max ms", "concealed ms", "packets sent")
JB_MIN_MS, JB_MAX_MS = 10, 300  # media.jitter_buffer_min_ms and _max_ms, their defaults


def jb_counters(q, tag):
    """The jitter-buffer counters of the leg that receives `tag`'s media, from
    a query reply: tags -> TAG -> medias[0] -> streams[0] -> "jitter buffer",
    a dictionary of integers (docs/protocol.md):
      received, played  packets put into the buffer, and released in order
      lost          given up when a later packet was due (late ones included,
                    also those of frames before the buffer's first)
      late          came after their turn, dropped
      duplicates    a sequence number held or played already, dropped
      reordered     came after a higher sequence number, in time
      early, resets too far ahead (dropped); restarts of the buffer
      held          packets held now
      delay ms, delay max ms   the play-out delay now, and its largest
      concealed ms  audio the decoder made up (PLC, FEC, comfort noise)
      packets sent  to the other side
    None when query does not report them."""
    try:
        stream = q["tags"][tag]["medias"][0]["streams"][0]
    except (KeyError, IndexError, TypeError):
        return None
    jb = stream.get(JB_KEY) if isinstance(stream, dict) else None
    return jb if isinstance(jb, dict) else None


def check_counters(v, label, jb, exp, engine):
    """The counters against what the sender did and the far side got (exp:
    frames, start (the first frame the far side heard played; packets of
    frames before it come after the buffer started: late, not lost),
    before_start (how many of those the sender sent), sent (packets,
    copies included), lost (frames dropped by the sender from start on),
    dups, reordered (packets sent after a higher sequence number, copies
    not counted), late_max, got (packets the far side received)).
    Without them: skipped when mediusd runs no media clock (no media
    engine: the behaviour is missing), a failure when it does."""
    if jb is None:
        what = (f"{label}: jitter-buffer counters: query reports no \"{JB_KEY}\" for this leg "
                f"(want received={exp['sent']}, duplicates={exp['dups']}, lost={exp['lost']}+late, "
                f"reordered+late={exp['reordered']}, late<={exp['late_max']}, concealed ms=20*lost)")
        if engine:
            v.check(False, what + ", though mediusd's media clock runs")
        else:
            v.skip(what + "; mediusd runs no media clock: no media engine")
        return
    print(f"    {label}: query's {JB_KEY}: {jb}", flush=True)
    absent = [n for n in JB_NAMES if not isinstance(jb.get(n), int)]
    v.check(not absent, f"{label}: {JB_KEY} reports {', '.join(JB_NAMES)} as integers" +
            (f" (absent or not integers: {absent})" if absent else ""))
    g = {n: jb.get(n) if isinstance(jb.get(n), int) else -1 for n in JB_NAMES}
    late = g["late"]
    v.check(g["received"] == exp["sent"] and g["early"] == 0 and g["resets"] == 0 and g["held"] == 0,
            f"{label}: {JB_KEY}: received {g['received']} (the sender sent {exp['sent']}), early {g['early']}, "
            f"resets {g['resets']}, held {g['held']} after the stream (want 0, 0, 0)")
    v.check(g["duplicates"] == exp["dups"],
            f"{label}: {JB_KEY}: duplicates {g['duplicates']} (the sender duplicated {exp['dups']})")
    v.check(0 <= late <= exp["late_max"], f"{label}: {JB_KEY}: late {late} (at most {exp['late_max']})")
    k0, pre = exp["start"], exp["before_start"]
    v.check(g["received"] == g["played"] + late + g["duplicates"] + g["early"],
            f"{label}: {JB_KEY}: every packet received is played, late, a duplicate or early: received "
            f"{g['received']} = played {g['played']} + late {late} + duplicates {g['duplicates']} + early {g['early']}")
    v.check(g["lost"] == exp["lost"] + late and g["played"] + g["lost"] == exp["frames"] - k0 + pre,
            f"{label}: {JB_KEY}: lost {g['lost']}, played {g['played']}: the sender dropped {exp['lost']} frames "
            f"from frame {k0} on (the first played: {pre} packets before it came late, counted lost), the buffer "
            f"gave up {late} late ones, {exp['frames'] - k0} frames from there")
    v.check(g["reordered"] + late == exp["reordered"],
            f"{label}: {JB_KEY}: reordered {g['reordered']} + late {late} = {g['reordered'] + late} "
            f"(packets sent after a higher sequence number: {exp['reordered']})")
    v.check(g["concealed ms"] == 20 * g["lost"],
            f"{label}: {JB_KEY}: concealed ms {g['concealed ms']} (20 ms for each of the {g['lost']} lost)")
    v.check(JB_MIN_MS <= g["delay ms"] <= g["delay max ms"] <= JB_MAX_MS,
            f"{label}: {JB_KEY}: delay ms {g['delay ms']}, delay max ms {g['delay max ms']} "
            f"(within {JB_MIN_MS}..{JB_MAX_MS})")
    v.check(g["packets sent"] == exp["got"],
            f"{label}: {JB_KEY}: packets sent {g['packets sent']} (the far side received {exp['got']})")


def analyse(label, packets, codec, pt, clock, sig, tmp):
    """What one side received from medius, decoded and classified against
    the signature sig. Returns a dict of findings (see the keys)."""
    res = {"label": label}
    rtp = []
    other = 0
    for t, data in packets:
        if len(data) < 12 or data[0] >> 6 != 2:
            other += 1
            continue
        p, m, seq, ts, ssrc, pl = ja.rtp_header(data)
        if p != pt:
            other += 1
            continue
        rtp.append((t, seq, ts, data))
    res["other"] = other
    res["packets"] = len(rtp)
    if len(rtp) < 2:
        res.update(classes=["missing"] * len(sig), max_gap_ms=10 ** 6, max_interval_ms=10 ** 6,
                   intervals_over=10 ** 6, start_interval_ms=0.0, decoder=(None, "no audio packets"),
                   summary=ja.summary(["missing"] * len(sig)))
        return res
    # sequence numbers unwrapped in arrival order: a sender sends in order
    ext, last = [], None
    for t, seq, ts, data in rtp:
        if last is None:
            e = seq
        else:
            d = (seq - (last & 0xffff) + 0x8000) % 0x10000 - 0x8000
            e = last + d
        ext.append(e)
        last = e if last is None or e > last else last
    res["out_of_order"] = sum(1 for a, b in zip(ext, ext[1:]) if b <= a)
    res["seq_gaps"] = sum(max(0, b - a - 1) for a, b in zip(ext, ext[1:]) if b > a)
    pcap = os.path.join(tmp, f"{label}.pcap")
    ja.write_pcap(pcap, [(t, data) for t, _, _, data in rtp])
    raw = os.path.join(tmp, f"{label}.raw")
    x, rc, err = ja.decode_pcap(pcap, codec, pt, raw)
    res["decoder"] = (rc, err[-300:])
    # place each packet's 20 ms by its RTP timestamp; a hole stays silent
    per = clock // 50
    ts0 = rtp[0][2]
    pos = [((ts - ts0 + 0x80000000) % 0x100000000 - 0x80000000) * ja.RATE // clock for _, _, ts, _ in rtp]
    holes = [((b[2] - a[2]) % 0x100000000 - per) * 1000 // clock for a, b in zip(rtp, rtp[1:])]
    res["max_hole_ms"] = max([0] + holes)
    if len(x) == ja.FRAME * len(rtp) and min(pos) >= 0 and len(set(pos)) == len(pos):
        tl = [0] * (max(pos) + ja.FRAME)
        for i, p in enumerate(pos):
            tl[p:p + ja.FRAME] = x[i * ja.FRAME:(i + 1) * ja.FRAME]
        res["placed"] = True
    else:  # the decoder did not give one frame per packet: take its output as it is
        tl = list(x)
        res["placed"] = False
    padded, off, obs = ja.frames_of(tl)
    mapping = ja.align(obs, sig)
    classes, typical = ja.classify(obs, sig, mapping)
    res["boundary_ms"] = ((off - ja.FRAME) * 1000 / ja.RATE + 10) % 20 - 10
    res["obs"], res["mapping"] = obs, mapping
    res["classes"] = classes
    res["summary"] = ja.summary(classes)
    played = [k for k, c in enumerate(classes) if c == "played"]
    if played:
        j0, j1 = mapping[played[0]], mapping[played[-1]]
        res["inserted"] = (j1 - j0 + 1) - sum(1 for k, j in mapping.items() if j0 <= j <= j1)
        silent = ja.silent_runs_ms(padded, off + j0 * ja.FRAME, off + (j1 + 1) * ja.FRAME, typical)
        # arrival intervals of the packets that carry frames j0..j1
        span = [t for (t, _, _, _), p in zip(rtp, pos)
                if j0 <= round((p + ja.FRAME - off) / ja.FRAME) <= j1]
        ivs = [((a - span[0]) * 1000, (b - a) * 1000) for a, b in zip(span, span[1:])]
        steady = [iv for at, iv in ivs if at >= PACE_SETTLE_MS]
        res["max_interval_ms"] = max(steady) if steady else 0.0
        res["intervals_over"] = sum(1 for iv in steady if iv > MAX_INTERVAL_MS)
        res["start_interval_ms"] = max([0.0] + [iv for at, iv in ivs if at < PACE_SETTLE_MS])
    else:
        res["inserted"], silent, res["max_interval_ms"], res["intervals_over"] = 0, 10 ** 6, 10 ** 6, 0
        res["start_interval_ms"] = 0.0
    res["silent_ms"] = silent
    res["max_gap_ms"] = max(res["max_hole_ms"], silent)
    return res


def show(res, n_sent):
    s = res["summary"]
    print(f"  {res['label']}: frames sent {n_sent}: played {s['played']}, concealed {s['concealed']}, "
          f"mismatched {s['mismatched']}, missing {s['missing']}; output frames inserted {res.get('inserted', 0)}; "
          f"max gap {res['max_gap_ms']} ms (RTP timestamps {res.get('max_hole_ms')}, silence {res.get('silent_ms')}); "
          f"max packet interval {res.get('max_interval_ms', 0):.1f} ms (in the first {PACE_SETTLE_MS} ms: "
          f"{res.get('start_interval_ms', 0):.1f}); {res['packets']} packets "
          f"(out of order {res.get('out_of_order')}, seq gaps {res.get('seq_gaps')}, other {res['other']}); "
          f"frame edge at {res.get('boundary_ms', 0):+.1f} ms; decoded one frame per packet: {res.get('placed')}",
          flush=True)


class Verdicts:
    """Checks of one attempt at a scenario, held until the attempt is known to
    count (its timing premise held, or it was the last attempt)."""

    def __init__(self):
        self.items = []

    def check(self, cond, what):
        self.items.append((bool(cond), what))

    def skip(self, what):
        self.items.append((None, what))

    def commit(self):
        for cond, what in self.items:
            if cond is None:
                skip_check(what)
            else:
                check(cond, what)


def media_clock(P):
    """The workers' media clock statistics (ticks, missed, late max us...), {} without."""
    st = ng(P, command="statistics").get("statistics", {}).get("totalstatistics", {})
    return st.get("media clock") or {}


def run_scenario(P, name, imp, tmp, index, attempt):
    """One call, both directions at once with the impairments imp. Returns
    (Verdicts, None when the timing premise held or else why not)."""
    v = Verdicts()
    a_rtp, a_rtcp = pair()
    b_rtp, b_rtcp = pair()
    cid = f"jitter-{name}-{attempt}"
    o = ng(P, command="offer", call_id=cid, from_tag="A", sdp=sdp(a_rtp.getsockname()[1], [0]),
           codec={"transcode": ["opus"]})
    m = re.search(r"a=rtpmap:(\d+) opus/48000/2", o.get("sdp", ""))
    v.check(o.get("result") == "ok" and m is not None, f"{name}: the offer gets opus/48000/2 added ({o.get('result')})")
    if m is None:
        return v, None
    opus_pt = int(m.group(1))
    an = ng(P, command="answer", call_id=cid, from_tag="A", to_tag="B",
            sdp=sdp(b_rtp.getsockname()[1], [opus_pt],
                    f"a=rtpmap:{opus_pt} opus/48000/2\r\n" + OPUS_FMTP.format(pt=opus_pt)))
    v.check(an.get("result") == "ok" and re.search(r"^m=audio \d+ RTP/AVP 0\r$", an.get("sdp", ""), re.M) is not None,
            f"{name}: the answer gives A PCMU, transcoded ({an.get('warning', '')})")
    to_a, to_b = port_of(an["sdp"]), port_of(o["sdp"])

    # the two signals: A's PCMU (8 kHz, audioop), B's Opus (48 kHz, GStreamer's opusenc)
    sig_a = ja.signature(N, SEED * 100 + index * 2)
    sig_b = ja.signature(N, SEED * 100 + index * 2 + 1)
    ulaw = audioop.lin2ulaw(ja.synth(sig_a, 8000), 2)
    pk_a = [ja.rtp(0, k, 160 * k, 0x1a000000 + index, ulaw[160 * k:160 * (k + 1)], marker=k == 0) for k in range(N)]
    enc_dir = os.path.join(tmp, f"enc-{name}-{attempt}")
    os.makedirs(enc_dir)
    enc = ja.encode_opus_packets(ja.synth(sig_b, 48000, start=OPUS_LOOKAHEAD), opus_pt, 0x1b000000 + index, enc_dir)
    # GStreamer's payloads under headers of our own: rtpopuspay's timestamps
    # count the encoder's look-ahead off the second packet (0, 648, 1608...)
    pk_b = [ja.rtp(opus_pt, k, 960 * k, 0x1b000000 + index, ja.rtp_header(p)[5], marker=k == 0)
            for k, p in enumerate(enc[:N])]
    v.check(len(pk_b) == N, f"{name}: GStreamer's opusenc made {len(pk_b)} packets of the {N} frames")

    # the schedules: each sender impairs its own stream
    plan = {}
    for who, seed in (("A", SEED * 1000 + index * 2), ("B", SEED * 1000 + index * 2 + 1)):
        sends, lost, dups, held, reordered = ja.schedule(N, seed, **imp)
        plan[who] = dict(sends=sends, lost=lost, dups=dups, held=held, reordered=reordered)
        print(f"  {name}: {who} sends {len(sends)} packets of {N} frames: lost {len(lost)}, duplicated {len(dups)}, "
              f"held back {len(held)}, arriving after a higher sequence number {reordered}", flush=True)
    events = sorted([(t, "A", k) for t, k, _ in plan["A"]["sends"]] + [(t, "B", k) for t, k, _ in plan["B"]["sends"]])

    rx = Receiver([a_rtp, b_rtp], [a_rtcp, b_rtcp])
    rx.start()
    time.sleep(0.1)
    t0 = time.monotonic() + 0.05
    behind = 0.0
    for t, who, k in events:
        delay = t0 + t / 1000 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            behind = max(behind, -delay)
        if who == "A":
            a_rtp.sendto(pk_a[k], ("127.0.0.1", to_a))
        else:
            b_rtp.sendto(pk_b[k], ("127.0.0.1", to_b))
    time.sleep(1.0)  # the jitter buffers drain
    q = ng(P, command="query", call_id=cid)
    rx.stop()
    clk = media_clock(P)
    print(f"  {name}: the senders were at most {behind * 1000:.1f} ms behind their schedule; "
          f"media clock: {clk or 'not running'}", flush=True)
    dl = ng(P, command="delete", call_id=cid)
    v.check(dl.get("result") == "ok", f"{name}: the call is deleted")
    for s in (a_rtp, a_rtcp, b_rtp, b_rtcp):
        s.close()
    premise = None
    clock_late = clk.get("late max us", 0) / 1000 if clk.get("ticks") else 0
    if behind * 1000 > SLACK_MS or clock_late > SLACK_MS or clk.get("missed"):
        premise = (f"the host stalled: the senders fell {behind * 1000:.1f} ms behind their schedule, "
                   f"mediusd's media clock ticked up to {clock_late:.1f} ms late (at most {SLACK_MS} ms each) "
                   f"and missed {clk.get('missed', 0)} ticks")

    for label, who, sock, codec, pt, clock, sig in (("PCMU->Opus", "A", b_rtp, "opus", opus_pt, 48000, sig_a),
                                                    ("Opus->PCMU", "B", a_rtp, "pcmu", 0, 8000, sig_b)):
        res = analyse(f"{name}-{attempt}-{label.replace('->', '-to-')}", rx.got[sock], codec, pt, clock, sig, tmp)
        res["label"] = f"{name} {label}"
        show(res, N)
        if res["decoder"][0] != 0:
            print(f"    gst: {res['decoder'][1]}")
        judge(v, name, f"{name} {label}", res, plan[who])
        pl = plan[who]
        played = [k for k, c in enumerate(res["classes"]) if c == "played"]
        k0 = played[0] if played else 0  # the buffer's first frame: packets of earlier ones are late, not lost
        exp = dict(frames=N, start=k0, before_start=sum(1 for k in range(k0) if k not in pl["lost"]),
                   sent=len(pl["sends"]), lost=sum(1 for k in pl["lost"] if k >= k0), dups=len(pl["dups"]),
                   reordered=pl["reordered"],
                   late_max={"impaired": int(LATE_MAX * N), "late": LATE_WARMUP}.get(name, 0),
                   got=res["packets"] + res["other"])
        check_counters(v, f"{name} {label}", jb_counters(q, who), exp, engine=bool(clk.get("ticks")))
        check_lost_for_good(v, f"{name} {label}", q, who, pl)
    return v, premise


def check_lost_for_good(v, label, q, tag, pl):
    """The receiving leg's "lost for good" (docs/protocol.md) is exactly the
    frames the sender dropped between its first packet and the last 64
    sequence numbers (those are not judged yet): its reordered, held-back
    and duplicated packets are not lost. (RFC 3550's "lost", expected minus
    received, is lowered by each duplicate.)"""
    try:
        stream = q["tags"][tag]["medias"][0]["streams"][0]
    except (KeyError, IndexError, TypeError):
        stream = {}
    first = pl["sends"][0][1]
    top = max(k for _, k, _ in pl["sends"])
    want = sum(1 for k in pl["lost"] if first < k <= top - 64)
    got = stream.get("lost for good")
    v.check(got == want, f"{label}: the leg's lost for good {got} == the {want} frames the sender dropped "
            f"before the last 64 (held back {len(pl['held'])}, duplicated {len(pl['dups'])}; RFC 3550 lost "
            f"{stream.get('lost')})")


def judge(v, name, L, res, pl):
    """The checks of one direction of scenario `name` (res: analyse's, pl: the sender's plan)."""
    cl, s, lost = res["classes"], res["summary"], pl["lost"]
    v.check(res.get("placed") is True and res.get("out_of_order") == 0,
            f"{L}: GStreamer decodes one 20 ms frame per packet, which arrive in order "
            f"({res['packets']} packets, out of order {res.get('out_of_order')}, decoder exit {res['decoder'][0]})")
    gap = (res["max_gap_ms"] <= 20,
           f"{L}: continuity: no gap in the audio longer than one frame (max {res['max_gap_ms']} ms: "
           f"RTP timestamps {res.get('max_hole_ms')}, silence {res.get('silent_ms')})")
    over_max = int(PACE_OVER * res["packets"])
    pace = (res["intervals_over"] <= over_max,
            f"{L}: continuity: after the first {PACE_SETTLE_MS} ms packets reach the far side on a 20 ms clock: "
            f"{res.get('intervals_over')} intervals over {MAX_INTERVAL_MS} ms (at most {over_max}; "
            f"max {res['max_interval_ms']:.1f} ms, in the first {PACE_SETTLE_MS} ms {res['start_interval_ms']:.1f} ms)")
    if name == "clean":
        v.check(s["played"] == N, f"{L}: every frame is played with its own audio ({s['played']} of {N}: {s})")
        v.check(*gap)
    elif name == "loss":
        conc = {k for k, c in enumerate(cl) if c == "concealed"}
        bad = sorted(k for k, c in enumerate(cl) if (k in lost) != (c == "concealed") or
                     (k not in lost and c != "played"))
        v.check(conc == lost and s["played"] == N - len(lost),
                f"{L}: exactly the {len(lost)} lost frames are concealed, the other {N - len(lost)} played "
                f"({s}; frames classified otherwise: {[(k, cl[k]) for k in bad][:12]})")
        v.check(*gap)
    elif name == "late":
        arrived_late = late_arrivals(pl["sends"])
        notp = [k for k, c in enumerate(cl) if c != "played"]
        after = [k for k in notp if k >= LATE_WARMUP]
        v.check(not after,
                f"{L}: late frames are played, not concealed: every frame sent" +
                (f" after the first {LATE_WARMUP}" if LATE_WARMUP else "") + " is played with its own audio: played {s['played']} of {N} ({s}); {len(arrived_late)} packets "
                f"arrived after a later one, {len(set(notp) & arrived_late)} of them not played" +
                (f"; not played: {[(k, cl[k]) for k in notp][:10]}" if notp else "") +
                (f" ({len(notp) - len(after)} in the first {LATE_WARMUP}, while the buffer's delay grows)"
                 if len(notp) > len(after) else ""))
        v.check(*gap)
        v.check(*pace)
    else:
        want = int(PLAYED_MIN * (N - len(lost)))
        v.check(*gap)
        v.check(*pace)
        v.check(s["mismatched"] == 0 and s["played"] >= want and all(cl[k] != "played" for k in lost),
                f"{L}: the frequency holds: {s['played']} of the {N - len(lost)} frames not lost played "
                f"(at least {want}), none out of place ({s['mismatched']} mismatched)")


def late_arrivals(sends):
    """Frames whose (first) packet was sent after a packet of a higher frame."""
    top, out = -1, set()
    for _, k, copy in sends:
        if copy:
            continue
        if k < top:
            out.add(k)
        top = max(top, k)
    return out


def self_check(tmp):
    """The analysis on its own, no medius: GStreamer's Opus packets of a
    signature, decoded by GStreamer, are every one played, the frame edge
    at 0 ms (the look-ahead cut works); the same with 5% of the packets
    removed (no concealment by the decoder: removed frames are missing,
    the rest played)."""
    sig = ja.signature(100, SEED)
    d = os.path.join(tmp, "self")
    os.makedirs(d)
    pk = ja.encode_opus_packets(ja.synth(sig, 48000, start=OPUS_LOOKAHEAD), 96, 1, d)[:100]
    pk = [ja.rtp(96, k, 960 * k, 1, ja.rtp_header(p)[5]) for k, p in enumerate(pk)]
    for drop in (set(), {17, 40, 41, 77}):
        kept = [(1000 + k * 0.02, p) for k, p in enumerate(pk) if k not in drop]
        pcap = os.path.join(d, f"self{len(drop)}.pcap")
        ja.write_pcap(pcap, kept)
        x, rc, err = ja.decode_pcap(pcap, "opus", 96, pcap + ".raw")
        padded, off, obs = ja.frames_of(x)
        cl, _ = ja.classify(obs, sig, ja.align(obs, sig))
        edge = ((off - ja.FRAME) * 1000 / ja.RATE + 10) % 20 - 10
        want = ["missing" if k in drop else "played" for k in range(100)]
        check(rc == 0 and cl == want and abs(edge) <= 1,
              f"self-check: GStreamer Opus -> GStreamer decode, {len(drop)} packets removed: {ja.summary(cl)}, "
              f"frame edge at {edge:+.1f} ms")


def main():
    for tool in ("gst-launch-1.0",):
        if not shutil.which(tool):
            print(f"SKIP: {tool} not found (Debian: gstreamer1.0-tools, -plugins-base, -plugins-good, -plugins-bad)")
            raise SystemExit(77)
    tmp = tempfile.mkdtemp(prefix="medius-jitter-")
    try:
        self_check(tmp)
        for i, (name, imp) in enumerate(SCENARIOS):
            for attempt in range(1, ATTEMPTS + 1):
                print(f"--- {name}: {imp or 'no impairment'}" + (f" (attempt {attempt})" if attempt > 1 else ""),
                      flush=True)
                with Daemon() as d:  # a daemon of its own: its media clock's statistics are this run's
                    v, premise = run_scenario(d.port, name, imp, tmp, i, attempt)
                    if premise is None or attempt == ATTEMPTS:
                        if premise:
                            print(f"  {name}: judged although {premise}", flush=True)
                        v.commit()
                        break
                    print(f"  {name}: not judged, run again: {premise}", flush=True)
    finally:
        if os.environ.get("KEEP_TMP"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if _skips:
        print(f"{len(_skips)} checks skipped: query reports no jitter-buffer counters yet", flush=True)
    finish()


if __name__ == "__main__":
    main()
