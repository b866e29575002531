"""Memory pressure (issue 15): medius refuses new calls clearly, and the
calls already up keep their media.

Two calls are up with media flowing both ways the whole time: one relayed
(PCMU both sides) and one transcoded (PCMU <-> Opus; the Opus side sends
back the Opus packets medius itself encoded, so they are real Opus).

(a) The memory budget: a reload sets control.max_memory_mb below what
    mediusd has resident. Offers for new calls get "Memory limit reached:
    N MB in use of M MB (max_memory_mb)", counted in statistics ("control
    security" / refused / "max memory"), while both calls relay and
    transcode with zero loss. The budget covers every request that makes
    something new: start recording, play media, start tap, create room and
    connect each get "... (max_memory_mb): no new THING" and change
    nothing; /metrics counts both kinds (medius_limit_refused_total). A
    budget above the usage admits calls and rooms again.
(b) Real allocation failure: mediusd's RLIMIT_AS is lowered at run time
    (prlimit) to what it has mapped, so every brk/mmap fails. Offers,
    answers and media on new transcoded calls then fail or work; at least
    one gets a genuine "Out of memory: ..." error (counted as "out of
    memory", and in /metrics as medius_ng_out_of_memory_total),
    mediusd does not crash, and both calls keep zero loss. With
    the limit raised again new calls succeed, and the port range (exactly
    four calls beyond the two) is whole again: nothing leaked. The relayed
    call is recorded through (b), started before the limit and stopped
    under it: the stereo WAV holds every packet of both directions sent
    meanwhile, and its sidecar says complete.
"""
import io
import json
import os
import re
import resource
import shutil
import signal
import socket
import struct
import tempfile
import time
import wave

from http_test import free_tcp_port, scrape, value
from medius_test import SLOW, Daemon, call_sdp, check, finish, free_range, media_port, ng, sanitized

PAGE = os.sysconf("SC_PAGE_SIZE")


def sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    return s


def opus_sdp(port, pt):
    return call_sdp(port, pts=(pt,), extra=f"a=rtpmap:{pt} opus/48000/2\r\n")


def security(P):
    return ng(P, command="statistics")["statistics"]["totalstatistics"]["control security"]


def err(r):
    return r.get("error-reason", "") if r.get("result") == "error" else ""


# six calls' worth of RTP/RTCP pairs (two legs a call): the two calls that
# stay up, and four more
PAIRS = 12
base = free_range(2 * PAIRS)
conf = tempfile.NamedTemporaryFile("w", prefix="medius-mem-", suffix=".conf", delete=False)
HTTP = free_tcp_port()
RECDIR = tempfile.mkdtemp(prefix="medius-mem-rec-")


def write_conf(max_mb):
    with open(conf.name, "w") as f:
        f.write(f"[control]\nmax_memory_mb = {max_mb}\n\n[interface tiny]\naddress = 127.0.0.1\n"
                f"port_min = {base}\nport_max = {base + 2 * PAIRS - 1}\n\n[http]\nlisten = 127.0.0.1:{HTTP}\n"
                f"\n[recording]\ndir = {RECDIR}\n")


def metrics_settle(name, want, **labels):
    """/metrics is rendered once a second: the sample once it reads want (or the last read)."""
    deadline = time.time() + 5 * SLOW
    while True:
        got = value(scrape(HTTP)[0], name, **labels)
        if got == want or time.time() > deadline:
            return got
        time.sleep(0.2)


def recording_whole(rec, packets):
    """rec (a start recording reply's recording) is finalised with a complete
    sidecar, and each channel of its stereo WAV holds at least 95% of the
    audio of packets 20 ms packets (the relayed call's constant payload
    decodes to a non-zero sample), at most 110% of it."""
    path = rec.get("path", "")
    side_path = os.path.splitext(path)[0] + ".json"
    deadline = time.time() + 10 * SLOW
    while time.time() < deadline and (not os.path.exists(path) or os.path.exists(path + ".part")
                                      or not os.path.exists(side_path)):
        time.sleep(0.1)
    if not os.path.exists(path) or not os.path.exists(side_path):
        print(f"     no finalised recording at {path!r}")
        return False
    side = json.load(open(side_path))
    with wave.open(path) as w:
        n_ch, rate, frames = w.getnchannels(), w.getframerate(), w.readframes(w.getnframes())
    samples = struct.unpack(f"<{len(frames) // 2}h", frames[: len(frames) // 2 * 2])
    nonzero = [sum(1 for v in samples[c::n_ch] if v) for c in range(n_ch)]
    want = packets * 0.02 * rate
    print(f"     recording {os.path.basename(path)}: {n_ch} channels at {rate} Hz, {len(samples) // max(n_ch, 1) / rate:.2f} s, "
          f"non-zero samples {nonzero} for {want:.0f} sent, sidecar {side.get('state')}, gaps {side.get('gaps')}")
    return (n_ch == 2 and side.get("state") == "complete"
            and all(0.95 * want <= n <= 1.1 * want for n in nonzero))


def tiny_wav():
    """0.1 s of 8 kHz mono silence, as a play media blob."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 800)
    return buf.getvalue()


def reload(d, max_mb):
    write_conf(max_mb)
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 5 * SLOW
    while time.time() < deadline:
        if security(d.port)["limits"]["max_memory_mb"] == max_mb:
            return True
        time.sleep(0.05)
    return False


write_conf(0)
with Daemon("--config", conf.name) as d:
    P, pid = d.port, d.proc.pid

    # ---- the two calls that stay up ----
    ra, rb = sock(), sock()
    o = ng(P, command="offer", call_id="relay", from_tag="A", sdp=call_sdp(ra.getsockname()[1], pts=(0,)))
    an = ng(P, command="answer", call_id="relay", from_tag="A", to_tag="B", sdp=call_sdp(rb.getsockname()[1], pts=(0,)))
    check(o["result"] == "ok" and an["result"] == "ok", "the relayed call is up")
    relay = (ra, rb, media_port(an["sdp"]), media_port(o["sdp"]))

    xa, xb = sock(), sock()
    o = ng(P, command="offer", call_id="xcode", from_tag="A", sdp=call_sdp(xa.getsockname()[1], pts=(0,)),
           codec={"transcode": ["opus"]})
    opus_pt = int(re.search(r"a=rtpmap:(\d+) opus/48000/2", o["sdp"]).group(1))
    an = ng(P, command="answer", call_id="xcode", from_tag="A", to_tag="B", sdp=opus_sdp(xb.getsockname()[1], opus_pt))
    check(an["result"] == "ok" and "transcoded" in an.get("warning", ""),
          f"the transcoded call (PCMU <-> Opus/{opus_pt}) is up: {an.get('warning')}")
    xcode = (xa, xb, media_port(an["sdp"]), media_port(o["sdp"]))

    # Real Opus for the Opus side to send: what medius encodes from PCMU
    ulaw = bytes((i * 37) & 0xff for i in range(160))
    opus = []

    def take_opus():  # the payloads waiting on the Opus side's socket
        try:
            while True:
                opus.append(xb.recv(2000)[12:])
        except BlockingIOError:
            pass
    for i in range(25):
        xa.sendto(struct.pack("!BBHII", 0x80, 0, i, i * 160, 0x55) + ulaw, ("127.0.0.1", xcode[2]))
        time.sleep(0.02)
        take_opus()
    time.sleep(0.3)
    take_opus()
    check(len(opus) >= 20, f"medius encodes Opus for the Opus side ({len(opus)} packets to send back)")

    # A media run: both calls, both ways, 20 ms apart; `during(n)` runs
    # every 25 packets. Sequence numbers continue from run to run.
    seq = {"r": 0, "x": 25}

    def run(n, during):
        got = {k: [] for k in ("r_ab", "r_ba", "x_ab", "x_ba")}
        sent = {k: 0 for k in got}
        ends = {"r_ab": rb, "r_ba": ra, "x_ab": xb, "x_ba": xa}

        def collect():
            for k, s in ends.items():
                while True:
                    try:
                        got[k].append(struct.unpack("!H", s.recv(2000)[2:4])[0])
                    except BlockingIOError:
                        break
        t0 = time.time()
        for i in range(n):
            r, x = seq["r"] + i, seq["x"] + i
            ra.sendto(struct.pack("!BBHII", 0x80, 0, r & 0xffff, r * 160, 0x11) + b"\xd5" * 160, ("127.0.0.1", relay[2]))
            rb.sendto(struct.pack("!BBHII", 0x80, 0, r & 0xffff, r * 160, 0x22) + b"\xd5" * 160, ("127.0.0.1", relay[3]))
            xa.sendto(struct.pack("!BBHII", 0x80, 0, x & 0xffff, x * 160, 0x55) + ulaw, ("127.0.0.1", xcode[2]))
            xb.sendto(struct.pack("!BBHII", 0x80, opus_pt, x & 0xffff, x * 960, 0x66) + opus[i % len(opus)],
                      ("127.0.0.1", xcode[3]))
            for k in sent:
                sent[k] += 1
            if i % 25 == 12:
                during(i // 25)
            collect()
            delay = t0 + (i + 1) * 0.02 - time.time()
            if delay > 0:
                time.sleep(delay)
        deadline = time.time() + 2 * SLOW
        while time.time() < deadline and any(len(got[k]) < sent[k] for k in got):
            time.sleep(0.05)
            collect()
        seq["r"] += n
        seq["x"] += n
        return sent, got

    def zero_loss(sent, got, what):
        counts = {k: f"{len(v)}/{sent[k]}" for k, v in got.items()}
        in_order = all(all((b - a) & 0xffff == 1 for a, b in zip(v, v[1:])) for v in got.values())
        check(all(len(got[k]) == sent[k] for k in got) and in_order,
              f"{what}: both calls, both ways, every packet, in order (relayed and transcoded): {counts}")

    def jb_lost():
        q = ng(P, command="query", call_id="xcode")
        jbs = [st["jitter buffer"] for t in q["tags"].values() for m in t["medias"] for st in m["streams"]
               if "jitter buffer" in st]
        return sum(j["lost"] for j in jbs), sum(j["late"] for j in jbs), len(jbs)

    # ---- (a) the memory budget ----
    rss_mb = int(open(f"/proc/{pid}/statm").read().split()[1]) * PAGE // (1 << 20)
    budget = max(1, rss_mb - 8)
    check(reload(d, budget), f"a reload sets max_memory_mb = {budget} (mediusd has {rss_mb} MB resident)")
    refusals = []

    def offer_refused(k):
        r = ng(P, command="offer", call_id=f"budget{k}", from_tag="A", sdp=call_sdp(40000))
        refusals.append(err(r))
    sent, got = run(250, offer_refused)
    ok_text = [x for x in refusals if re.fullmatch(r"Memory limit reached: \d+ MB in use of %d MB \(max_memory_mb\)"
                                                   % budget, x)]
    check(len(refusals) == 10 and len(ok_text) == len(refusals),
          f"over the budget every offer is refused clearly ({len(ok_text)} of {len(refusals)}): {refusals[0]!r}")
    zero_loss(sent, got, "while offers are refused over the budget")
    sec = security(P)
    check(sec["refused"]["max memory"] == len(refusals) and sec["limits"]["memory mb"] >= budget,
          f"statistics count the refusals ({sec['refused']['max memory']}) and show the usage "
          f"({sec['limits']['memory mb']} MB of {sec['limits']['max_memory_mb']})")
    st = ng(P, command="statistics")["statistics"]["currentstatistics"]
    check(st["sessionsown"] == 2, f"the refused offers left no call behind ({st['sessionsown']} calls)")

    # the other requests that make something new
    others = [("start recording", "recording", dict(call_id="relay")),
              ("play media", "playback", dict(call_id="relay", from_tag="A", blob=tiny_wav())),
              ("start tap", "tap", dict(call_id="relay", from_tag="A", direction="in", file="budget.raw")),
              ("create room", "room", dict(conference="budget-room")),
              ("connect", "connect", dict(call_id="relay", to_call_id="xcode"))]
    bad = []
    for cmd, what, args in others:
        e = err(ng(P, command=cmd, **args))
        if not re.fullmatch(r"Memory limit reached: \d+ MB in use of %d MB \(max_memory_mb\): no new %s"
                            % (budget, what), e):
            bad.append(f"{cmd}: {e!r}")
    check(not bad, f"over the budget {', '.join(c for c, _, _ in others)} are each refused clearly: {bad}")
    q = ng(P, command="query", call_id="relay")
    rooms = ng(P, command="list rooms")
    check(not q.get("recording") and "budget-room" not in json.dumps(rooms),
          f"and they changed nothing (no recording on the call, no room: {rooms.get('rooms')})")
    sec = security(P)
    check(sec["refused"]["max memory, other requests"] == len(others),
          f"statistics count them apart ({sec['refused']['max memory, other requests']})")
    m_calls = metrics_settle("medius_limit_refused_total", len(refusals), limit="max_memory")
    m_other = metrics_settle("medius_limit_refused_total", len(others), limit="max_memory_other")
    m_rss = value(scrape(HTTP)[0], "medius_memory_resident_bytes")
    check(m_calls == len(refusals) and m_other == len(others) and m_rss >= budget << 20,
          f"/metrics: medius_limit_refused_total max_memory {m_calls:.0f}, max_memory_other {m_other:.0f}; "
          f"medius_memory_resident_bytes {m_rss / (1 << 20):.0f} MB")

    check(reload(d, rss_mb + 1024), "a reload raises the budget above the usage")
    r = ng(P, command="offer", call_id="budget-ok", from_tag="A", sdp=call_sdp(40000))
    check(r["result"] == "ok", f"under the budget an offer is served again: {err(r)}")
    ng(P, command="delete", call_id="budget-ok")
    r = ng(P, command="create room", conference="budget-room")
    check(r["result"] == "ok", f"and a room is made again: {err(r)}")
    ng(P, command="destroy room", conference="budget-room")
    check(reload(d, 0), "max_memory_mb = 0 turns the budget off")

    # ---- (b) real allocation failure: RLIMIT_AS at what is mapped ----
    extra = []  # sockets of new calls that got media
    if sanitized():  # ASan reserves terabytes of shadow and aborts when its allocator's mmap fails
        print("     (b) not run: an ASan build cannot run under RLIMIT_AS (its allocator aborts when mmap fails); "
              "the plain build's run covers it")
    else:
        r = ng(P, command="start recording", call_id="relay")
        check(r["result"] == "ok", f"the relayed call is recorded: {err(r)}")
        rec = r.get("recording", {})
        soft, hard = resource.prlimit(pid, resource.RLIMIT_AS)
        vm = int(open(f"/proc/{pid}/statm").read().split()[0]) * PAGE
        resource.prlimit(pid, resource.RLIMIT_AS, (vm, hard))
        replies = []

        def squeeze(k):
            cid = f"oom{k}"
            a, b = sock(), sock()
            o = ng(P, command="offer", call_id=cid, from_tag="A", sdp=call_sdp(a.getsockname()[1], pts=(0,)),
                   codec={"transcode": ["opus"]})
            replies.append(("offer", err(o)))
            if o["result"] != "ok":
                return
            an = ng(P, command="answer", call_id=cid, from_tag="A", to_tag="B", sdp=opus_sdp(b.getsockname()[1], opus_pt))
            replies.append(("answer", err(an)))
            if an["result"] == "ok":  # media on the new call: its codecs run
                for i in range(5):
                    a.sendto(struct.pack("!BBHII", 0x80, 0, i, i * 160, 0x77) + ulaw, ("127.0.0.1", media_port(an["sdp"])))
                extra.append((a, b))
            else:
                ng(P, command="delete", call_id=cid)  # a failed answer: the SIP side ends the call
        sent, got = run(300, squeeze)
        alive = d.proc.poll() is None
        oom = [f"{c}: {e}" for c, e in replies if e.startswith("Out of memory: ")]
        other = [f"{c}: {e}" for c, e in replies if e and not e.startswith("Out of memory: ")]
        check(alive, "mediusd survives allocation failures (RLIMIT_AS at what it had mapped)")
        check(len(oom) >= 1 and not other,
              f"{len(oom)} of {len(replies)} requests got a genuine 'Out of memory' error, no other error "
              f"(first: {oom[0] if oom else None!r}; others: {other[:2]})")
        zero_loss(sent, got, "while allocations fail")
        lost, late, njb = jb_lost()
        check(njb == 2 and lost == 0, f"the transcoder's jitter buffers lost nothing ({lost} lost, {late} late)")
        stop = ng(P, command="stop recording", call_id="relay")  # finalised under the limit, or refused clearly
        resource.prlimit(pid, resource.RLIMIT_AS, (soft, hard))
        stop_oom = err(stop).startswith("Out of memory: ")
        check(stop["result"] == "ok" or stop_oom, f"stop recording under the limit: ok or a clear error: {err(stop)!r}")
        if stop["result"] != "ok":
            stop = ng(P, command="stop recording", call_id="relay")
            check(stop["result"] == "ok", f"and with the limit raised it stops: {err(stop)!r}")
        oom += ["stop recording"] if stop_oom else []
        check(recording_whole(rec, sent["r_ab"]), "the recording made under allocation failure is whole")
        sec = security(P)
        check(sec["refused"]["out of memory"] == len(oom),
              f"statistics count the out-of-memory failures: {sec['refused']['out of memory']}")
        m_oom = metrics_settle("medius_ng_out_of_memory_total", len(oom))
        check(m_oom == len(oom), f"and /metrics too (medius_ng_out_of_memory_total {m_oom:.0f})")
        print(f"     (b): {len(replies)} requests under RLIMIT_AS = {vm >> 20} MB: {len(oom)} out of memory, "
              f"{len(extra)} new call(s) worked and got media")

    # ---- afterwards: new calls work, and every port is back ----
    for k in range(10):
        ng(P, command="delete", call_id=f"oom{k}")
    for a, b in extra:
        a.close()
        b.close()
    deadline = time.time() + 5 * SLOW
    made = []
    while len(made) < 4 and time.time() < deadline:
        cid = f"after{len(made)}"
        o = ng(P, command="offer", call_id=cid, from_tag="A", sdp=call_sdp(40000), codec={"transcode": ["opus"]})
        if o["result"] != "ok":
            time.sleep(0.2)  # deleted legs' ports come back after the workers' grace period
            continue
        an = ng(P, command="answer", call_id=cid, from_tag="A", to_tag="B", sdp=opus_sdp(40002, opus_pt))
        check(an["result"] == "ok", f"with the limit raised a transcoded call is set up again: {err(an)}")
        made.append(cid)
    check(len(made) == 4, f"the four spare calls' ports are all back ({len(made)} of 4): nothing leaked")
    r = ng(P, command="offer", call_id="one-too-many", from_tag="A", sdp=call_sdp(40000))
    check(err(r).startswith("No media ports left"), f"and the range is exactly that: {err(r) or r['result']}")
    sent, got = run(50, lambda k: None)
    zero_loss(sent, got, "after the pressure")
    st = ng(P, command="statistics")["statistics"]["currentstatistics"]
    check(st["sessionsown"] == 6, f"six calls now ({st['sessionsown']})")

os.unlink(conf.name)
shutil.rmtree(RECDIR, ignore_errors=True)
finish()
