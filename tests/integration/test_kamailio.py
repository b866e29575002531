"""A SIP call through a real Kamailio whose rtpengine module drives mediusd.

    sipp UAC --SIP--> Kamailio (tm, rr, rtpengine) --SIP--> sipp UAS
        |                   | ng (UDP)                         ^
        |                   v                                  |
        +------ RTP ----> mediusd ---------- RTP --------------+

Kamailio (tests/integration/kamailio/kamailio.cfg, filled in here) calls
rtpengine_offer() on the INVITE, rtpengine_answer() on the 200 OK and
rtpengine_delete() on the BYE, all against mediusd's ng port. The caller
(kamailio/uac_pcap.xml, sipp's uac_pcap with the route set kept) plays
sipp's real G.711 A-law capture (/usr/share/sip-tester/g711a.pcap) to the
address in the 200 OK's SDP, then hangs up. tshark captures what reaches
the callee's media port.

Checked for each call: it completes (sipp exit 0, one successful call);
the SDP each side got points at medius (127.0.0.1, a port in 30000-39999);
mediusd saw the session; every RTP packet of the pcap reaches the callee,
sent from the port medius announced to it; BYE deleted the call in medius
(none listed afterwards, no idle timeout).

Case 1: the callee answers PCMA, the offered codec: the callee must get
the pcap's packets unchanged (sequence numbers and payloads).
Case 2: the callee is sipp's built-in uas, which answers PCMU to the PCMA
offer. Two outcomes pass: medius relays the PCMA as it is (no transcoding;
the caller is then answered PCMU), or medius transcodes: the caller is
answered its own PCMA, and the callee gets PCMU with all the audio, whose
decoded samples match the pcap's (SNR against the A-law original, with a
negative control read with the wrong law). Which one happened is printed.
Case 3 (a second Kamailio, the same kamailio.cfg with codec-transcode-PCMA
added to the offer flags): the caller (kamailio/uac_opus.xml) offers only
opus/48000/2 (pt 96); once the 200 OK arrives it runs kamailio/opus_send.sh,
which has GStreamer send 3 s of a 1 kHz tone as Opus (150 frames of 20 ms)
to medius's port. The callee (uas_pcma.xml) answers PCMA. Checked: the
module sent codec: {transcode: [PCMA]} (the ng exchanges, captured with
tshark on mediusd's ng port), the callee was offered opus and PCMA, the
caller was answered opus, medius's answer reply warns "media transcoded";
the callee gets one PCMA packet (pt 8, 160 bytes, 20 ms apart, consecutive
sequence numbers and timestamps) per Opus frame, from medius's port, and
the A-law decodes to the 1 kHz tone (Goertzel dominance and SINAD > 20 dB).

Environment: MEDIUSD, MEDIUSCTL (as the other integration tests), KAMAILIO
(default kamailio), KAMAILIO_MPATH (its modules directory), SIPP (default
sipp), TSHARK (default tshark), SIPP_PCAP (default
/usr/share/sip-tester/g711a.pcap), GST_LAUNCH (default gst-launch-1.0; needs
the audiotestsrc, opusenc, rtpopuspay and udpsink elements). Needs root (sipp plays pcaps through a
raw socket, tshark captures on lo). Exits 77 (skipped) when a tool is
missing. KEEP_TMP=1 keeps the temp dir (configs, sipp traces, captures).
Standard library only.
"""
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from medius_test import MEDIUSCTL, Daemon, check, finish  # noqa: E402
from media_check import (KAMAILIO, MEDIUS_PORTS, SIPP, SIPP_PCAP, SIPP_TIMEOUT, TSHARK, check_call_deleted,  # noqa: E402
                         check_mediusctl_list_empty, check_mediusd_stops, check_sipp, clean_up, end_kamailio,
                         fill_config, goertzel_power, medius_totals, ng_exchanges_timed, payload_bytes, peer_port,
                         read_text, require_sip_peers, rtp_fields, sdp_target, sipp_pcap_rtp, sipp_received, skip,
                         start_capture, start_kamailio, start_sipp, start_uas, stop, stop_all, ulaw_to_linear,
                         wait_exit, wait_for)

GST = os.environ.get("GST_LAUNCH", "gst-launch-1.0")

OFFER_FLAGS = "replace-origin replace-session-connection ICE=remove"
ANSWER_FLAGS = "replace-origin replace-session-connection ICE=remove"
OPUS_OFFER_FLAGS = OFFER_FLAGS + " codec-transcode-PCMA"  # case 3: medius adds PCMA to the Opus offer
OPUS_FRAMES = 150  # opus_send.sh's 20 ms frames (3 s)
MIN_DOMINANCE = 20  # dB: the 1 kHz tone over other probe frequencies, decoded from the PCMA
MAX_LOST = 2     # RTP packets the callee may miss (loopback: none expected)


require_sip_peers((KAMAILIO, SIPP, TSHARK, GST), "apt-get install kamailio sip-tester tshark gstreamer1.0-tools")
for element in ("audiotestsrc", "opusenc", "rtpopuspay", "udpsink"):
    if subprocess.run([GST.replace("gst-launch", "gst-inspect"), element], capture_output=True, timeout=60).returncode != 0:
        skip(f"no GStreamer element {element} (gstreamer1.0-plugins-base, -good)")


def alaw(b):
    b ^= 0x55
    t = (b & 0x0F) << 4
    seg = (b & 0x70) >> 4
    t = t + 8 if seg == 0 else (t + 0x108) << (seg - 1)
    return t if b & 0x80 else -t


ALAW = [alaw(i) for i in range(256)]
ULAW = [ulaw_to_linear(i) for i in range(256)]


def snr_db(ref, got):
    """SNR of got against ref (same timeline; the best lag within +-40 ms is used)."""
    n = min(len(ref), len(got))
    if n < 1000:
        return None, None
    # the loudest 250 ms of the reference finds the lag
    w = 2000
    start = max(range(0, n - w, 400), key=lambda i: sum(abs(x) for x in ref[i:i + w:8]))

    def err(lag, a, b, step):
        return sum((ref[i] - got[i + lag]) ** 2 for i in range(a, b, step) if 0 <= i + lag < len(got))
    lag = min(range(-320, 321), key=lambda k: err(k, start, start + w, 4))
    idx = [i for i in range(n) if 0 <= i + lag < len(got)]
    sig = sum(ref[i] ** 2 for i in idx)
    noise = sum((ref[i] - got[i + lag]) ** 2 for i in idx) or 1
    return 10 * math.log10(sig / noise), lag


PCAP_RTP, PCAP_PT = sipp_pcap_rtp()


def place_call(case, tmp, kam_port, uac_xml, caller_sip, caller_media, uas, procs):
    """The caller sipp through Kamailio, waited for with the callee:
    (caller files, caller exit, callee exit, seconds taken); exits are None
    on a timeout."""
    t0 = time.time()
    uac, uac_files = start_sipp([f"127.0.0.1:{kam_port}", "-sf", uac_xml, "-s", "callee",
                                 "-i", "127.0.0.1", "-p", str(caller_sip),
                                 "-mi", "127.0.0.1", "-mp", str(caller_media)], f"{case}_uac", tmp, procs)
    uac_rc = wait_exit(uac, SIPP_TIMEOUT + 10)
    uas_rc = wait_exit(uas, 10)
    return uac_files, uac_rc, uas_rc, time.time() - t0


def check_sipps(case, uac_files, uac_rc, uas_files, uas_rc, took):
    """Both sipp ran their call through."""
    check_sipp(f"{case}: the caller", uac_rc, uac_files, took)
    check_sipp(f"{case}: the callee", uas_rc, uas_files)


def sdp_seen(uas_files, uac_files):
    """The INVITE the callee got, the 200 OK with SDP the caller got ('' when
    none), and their SDP targets (address, port, payload types), printed."""
    invite = next((t for t, _ in sipp_received(uas_files, "INVITE ")), "")
    answer = next((t for t, _ in sipp_received(uac_files, "SIP/2.0 200") if "application/sdp" in t), "")
    to_callee, to_caller = sdp_target(invite), sdp_target(answer)
    print(f"    SDP (address, port, payload types) the callee was offered: {to_callee}; the caller was answered:"
          f" {to_caller}", flush=True)
    return invite, answer, to_callee, to_caller


def run_call(case, tmp, d, kam_port, callee_args, expect_codec, max_lost=MAX_LOST):
    """One call UAC -> Kamailio -> UAS, media UAC -> medius -> UAS, checked."""
    print(f"--- {case} ---", flush=True)
    callee_sip, callee_media = run_call.callee_sip, peer_port()
    caller_sip, caller_media = peer_port(), peer_port()
    before = medius_totals(d)
    capfile = os.path.join(tmp, f"{case}_callee.pcapng")
    procs = []
    try:
        uas, uas_files = start_uas(f"{case}_uas", tmp, callee_args, callee_sip, callee_media, procs)
        start_capture(capfile, f"udp dst port {callee_media}", procs)
        uac_files, uac_rc, uas_rc, took = place_call(case, tmp, kam_port, run_call.uac_xml, caller_sip,
                                                     caller_media, uas, procs)
        time.sleep(0.3)  # let the capture take the last packets in
    finally:
        stop_all(procs)
    check_sipps(case, uac_files, uac_rc, uas_files, uas_rc, took)

    # --- the SDP each side got: medius's address and ports ---
    invite, _, to_callee, to_caller = sdp_seen(uas_files, uac_files)
    check(to_callee is not None and to_callee[0] == "127.0.0.1" and to_callee[1] in MEDIUS_PORTS
          and to_callee[1] != caller_media,
          f"{case}: the INVITE's SDP at the callee points at medius: {to_callee and to_callee[:2]}")
    check(to_caller is not None and to_caller[0] == "127.0.0.1" and to_caller[1] in MEDIUS_PORTS
          and to_caller[1] != callee_media,
          f"{case}: the 200 OK's SDP at the caller points at medius: {to_caller}")
    check("Record-Route:" in invite and "a=ice-" not in invite and re.search(r"^a=rtcp:\d+", invite, re.M),
          f"{case}: the INVITE came through Kamailio (Record-Route) with medius's a=rtcp line")

    # --- what reached the callee's media port ---
    got = rtp_fields(capfile, "udp.srcport", "ip.src", "rtp.p_type", "rtp.seq", "rtp.timestamp", "rtp.payload",
                     port=callee_media)
    srcports = sorted({int(r[0]) for r in got})
    pts = sorted({r[2] for r in got})
    sent = payload_bytes(PCAP_RTP, 2)
    recv = payload_bytes(got, 5)
    print(f"    RTP in the pcap: {len(PCAP_RTP)} packets, {len(sent)} samples; captured at the callee's port "
          f"{callee_media}: {len(got)} packets, {len(recv)} samples, from {sorted({r[1] for r in got})} "
          f"port(s) {srcports}, payload types {pts}", flush=True)
    check(len(got) > 0 and srcports == [to_callee[1] if to_callee else -1],
          f"{case}: all the RTP at the callee comes from medius's port {to_callee and to_callee[1]}: {srcports}")
    if pts == PCAP_PT:
        # relayed as is: the very packets of the pcap
        lost = len(PCAP_RTP) - len(got)
        print(f"    {case}: medius relayed the PCMA stream as is", flush=True)
        check(0 <= lost <= max_lost,
              f"{case}: the whole stream arrives: {len(got)} of {len(PCAP_RTP)} RTP packets")
        check([r[3] for r in got] == [r[0] for r in PCAP_RTP][:len(got)] and recv == sent[:len(recv)],
              f"{case}: unchanged: the pcap's sequence numbers and payloads, in order")
        check(to_caller is not None and to_caller[2][:1] == [expect_codec],
              f"{case}: relayed, so the caller is answered the callee's codec {expect_codec}: {to_caller and to_caller[2]}")
    elif pts == [expect_codec] and expect_codec == "0" and PCAP_PT == ["8"]:
        # transcoded PCMA -> PCMU (and repacketised: the pcap has 30 ms packets)
        seqs = [int(r[3]) for r in got]
        tss = [int(r[4]) for r in got]
        sizes = sorted({len(bytes.fromhex(r[5].replace(":", ""))) for r in got})
        print(f"    {case}: medius transcoded PCMA to PCMU, payload sizes {sizes} bytes", flush=True)
        ref = [ALAW[b] for b in sent]
        out = [ULAW[b] for b in recv]
        snr, lag = snr_db(ref, out)
        print(f"    {case}: decoded, the PCMU stream against the pcap's PCMA: SNR {snr and round(snr, 1)} dB"
              f" at a lag of {lag} samples", flush=True)
        missing = len(sent) - len(recv)
        check(0 <= missing <= max_lost * 240,
              f"{case}: all the audio arrives: {len(recv)} of {len(sent)} samples ({missing / 8:.0f} ms missing)")
        check(all((b - a) % 65536 == 1 for a, b in zip(seqs, seqs[1:]))
              and all((b - a) % 2 ** 32 == len(bytes.fromhex(r[5].replace(":", "")))
                      for a, b, r in zip(tss, tss[1:], got)),
              f"{case}: consecutive sequence numbers and timestamps")
        check(snr is not None and snr > 25,
              f"{case}: the PCMU carries the pcap's audio (SNR {snr and round(snr, 1)} dB > 25)")
        wrong, _ = snr_db(ref, [ALAW[b] for b in recv])
        check(wrong is not None and wrong < 10,
              f"{case}: negative control: read as A-law, the same stream fails that test (SNR {wrong and round(wrong, 1)} dB)")
        check(to_caller is not None and to_caller[2][:1] == ["8"],
              f"{case}: transcoding, so the caller is answered its own PCMA: {to_caller and to_caller[2]}")
    else:
        check(False, f"{case}: payload types {pts}: neither the pcap's {PCAP_PT} as is nor {expect_codec}")

    # --- medius: the session was managed and deleted at BYE ---
    delta = check_call_deleted(d, before, f"{case}: ")
    check(delta["packetsrelayed"] >= len(got), f"{case}: medius relayed {delta['packetsrelayed']} packets")


def gst_pid(tmp):
    try:
        return int(read_text(os.path.join(tmp, "opus_gst.pid")).strip())
    except ValueError:
        return None


def gst_alive(pid):
    """True while pid is still our GStreamer sender (not a recycled pid)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"gst-launch" in f.read() and not read_text(f"/proc/{pid}/stat").split(") ")[-1].startswith("Z")
    except OSError:
        return False


def tone_figures(pcm, rate, freq):
    """Dominance of freq over other probe frequencies, and over the whole rest
    of the signal (SINAD), in dB, in the middle second of pcm."""
    win = pcm[len(pcm) // 2 - rate // 2:len(pcm) // 2 + rate // 2]
    t = goertzel_power(win, rate, freq)
    other = max(goertzel_power(win, rate, f) for f in (freq / 2, freq * 0.75, freq * 1.5, freq * 2, freq * 3))
    total = sum(v * v for v in win) / len(win)
    level = 10 * math.log10(max(t, 1e-9) / (32768 ** 2 / 2))
    return (10 * math.log10(max(t, 1e-9) / max(other, 1e-9)),
            10 * math.log10(max(t, 1e-9) / max(total - t, 1e-9)), level)


def run_opus_call(case, tmp, d, kam_port, uas_xml):
    """Case 3: the caller offers only Opus (GStreamer sends it), Kamailio asks
    medius to add PCMA (codec-transcode-PCMA), the callee answers PCMA: medius
    must transcode Opus to PCMA."""
    print(f"--- {case} ---", flush=True)
    callee_sip, callee_media = run_call.callee_sip, peer_port()
    caller_sip, caller_media, opus_port = peer_port(), peer_port(), peer_port()
    fill_config("opus_send.sh", os.path.join(tmp, "opus_send.sh"), GST=GST, OPUS_PORT=opus_port, TMP=tmp)
    uac_xml = fill_config("uac_opus.xml", os.path.join(tmp, "uac_opus.xml"), OPUS_PORT=opus_port, TMP=tmp)
    before = medius_totals(d)
    capfile = os.path.join(tmp, f"{case}_callee.pcapng")
    ngcap = os.path.join(tmp, f"{case}_ng.pcapng")
    procs = []
    try:
        uas, uas_files = start_uas(case, tmp, ["-sf", uas_xml], callee_sip, callee_media, procs)
        # the callee's media port, and the ng exchanges of this call
        for cap, filt in ((capfile, f"udp dst port {callee_media}"), (ngcap, f"udp port {d.port}")):
            start_capture(cap, filt, procs)
        uac_files, uac_rc, uas_rc, took = place_call(case, tmp, kam_port, uac_xml, caller_sip, caller_media,
                                                     uas, procs)
        pid = gst_pid(tmp)
        gst_done = pid is not None and wait_for(lambda: not gst_alive(pid), 5)
        time.sleep(0.3)  # let the capture take the last packets in
    finally:
        stop_all(procs)
        pid = gst_pid(tmp)
        if pid is not None and gst_alive(pid):
            os.kill(pid, signal.SIGKILL)
    check_sipps(case, uac_files, uac_rc, uas_files, uas_rc, took)
    gst_log = read_text(os.path.join(tmp, "opus_gst.log")).strip()
    check(pid is not None and gst_done and "ERROR" not in gst_log,
          f"{case}: GStreamer (pid {pid}) sent its Opus stream and ended by itself"
          + (f": {gst_log[-1000:]}" if gst_log else ""))

    # --- the SDP each side got ---
    invite, answer, to_callee, to_caller = sdp_seen(uas_files, uac_files)
    check(to_callee is not None and to_callee[0] == "127.0.0.1" and to_callee[1] in MEDIUS_PORTS
          and to_callee[2][:1] == ["96"] and "8" in to_callee[2]
          and re.search(r"^a=rtpmap:96 opus/48000/2", invite, re.M) and re.search(r"^a=rtpmap:8 PCMA/8000", invite, re.M),
          f"{case}: the callee is offered, at medius, the caller's Opus and the PCMA medius added: {to_callee}")
    check(to_caller is not None and to_caller[0] == "127.0.0.1" and to_caller[1] in MEDIUS_PORTS
          and to_caller[2] == ["96"] and re.search(r"^a=rtpmap:96 opus/48000/2", answer, re.M),
          f"{case}: transcoding, so the caller is answered its own Opus, at medius: {to_caller}")

    # --- the ng exchanges: what Kamailio's module sent, what medius replied ---
    ex = [(req, rep) for req, rep, _ in ng_exchanges_timed(ngcap, d.port)]
    by_cmd = {}
    for req, rep in ex:
        by_cmd.setdefault(req.get("command"), (req, rep))
    offer, offer_reply = by_cmd.get("offer", ({}, None))
    answer_req, answer_reply = by_cmd.get("answer", ({}, None))
    print(f"    ng: {[req.get('command') for req, _ in ex]}; the offer's codec: {offer.get('codec')}, flags:"
          f" {offer.get('flags')}; the answer's reply warning: {(answer_reply or {}).get('warning')!r}", flush=True)
    check(offer.get("codec") == {"transcode": ["PCMA"]},
          f"{case}: Kamailio's module turned codec-transcode-PCMA into codec: {offer.get('codec')}")
    check(offer_reply is not None and offer_reply.get("result") == "ok"
          and answer_reply is not None and answer_reply.get("result") == "ok",
          f"{case}: medius accepted the offer and the answer")
    check(answer_reply is not None and "media transcoded" in str(answer_reply.get("warning", ""))
          and "opus" in str(answer_reply.get("warning", "")).lower(),
          f"{case}: medius's answer reply says it transcodes: {(answer_reply or {}).get('warning')!r}")

    # --- what reached the callee's media port: PCMA from medius ---
    got = rtp_fields(capfile, "udp.srcport", "ip.src", "rtp.p_type", "rtp.seq", "rtp.timestamp",
                     "frame.time_epoch", "rtp.payload", port=callee_media)
    srcports = sorted({int(r[0]) for r in got})
    pts = sorted({r[2] for r in got})
    sizes = sorted({len(bytes.fromhex(r[6].replace(":", ""))) for r in got})
    seqs = [int(r[3]) for r in got]
    tss = [int(r[4]) for r in got]
    times = [float(r[5]) for r in got]
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    median_gap = gaps[len(gaps) // 2] * 1000 if gaps else 0
    print(f"    captured at the callee's port {callee_media}: {len(got)} RTP packets from"
          f" {sorted({r[1] for r in got})} port(s) {srcports}, payload types {pts}, payload sizes {sizes},"
          f" median interval {median_gap:.1f} ms", flush=True)
    check(len(got) > 0 and srcports == [to_callee[1] if to_callee else -1],
          f"{case}: all the RTP at the callee comes from medius's port {to_callee and to_callee[1]}: {srcports}")
    check(pts == ["8"] and sizes == [160], f"{case}: it is PCMA (payload type 8), 160 bytes (20 ms) a packet")
    check(OPUS_FRAMES - 5 <= len(got) <= OPUS_FRAMES + 2,
          f"{case}: one PCMA packet per Opus frame: {len(got)} for {OPUS_FRAMES} frames sent")
    check(len(got) > 1 and all((b - a) % 65536 == 1 for a, b in zip(seqs, seqs[1:]))
          and all((b - a) % 2 ** 32 == 160 for a, b in zip(tss, tss[1:])),
          f"{case}: consecutive sequence numbers, timestamps 160 apart")
    check(15 <= median_gap <= 25, f"{case}: paced at 20 ms (median interval {median_gap:.1f} ms)")
    pcm = [ALAW[b] for b in payload_bytes(got, 6)]
    if len(pcm) >= 8000 * 2:
        dom, sinad, level = tone_figures(pcm, 8000, 1000)
    else:
        dom = sinad = level = -99.0
    print(f"    decoded A-law: {len(pcm)} samples; 1 kHz at {level:.1f} dBFS, dominance {dom:.1f} dB,"
          f" SINAD {sinad:.1f} dB", flush=True)
    check(dom > MIN_DOMINANCE, f"{case}: the PCMA carries the 1 kHz tone: dominance {dom:.1f} dB > {MIN_DOMINANCE}")
    check(sinad > MIN_DOMINANCE and level > -12,
          f"{case}: and little else: SINAD {sinad:.1f} dB > {MIN_DOMINANCE}, level {level:.1f} dBFS")

    # --- medius: the session was managed and deleted at BYE ---
    check_call_deleted(d, before, f"{case}: ")


tmp = tempfile.mkdtemp(prefix="medius-kamailio-")
kams = []  # (name, process, log path)


def start_proxy(name, d, offer_flags):
    """Kamailio with kamailio.cfg filled in for offer_flags; returns (process, SIP port, log path)."""
    kam_port = peer_port()
    kam, log_path = start_kamailio("kamailio.cfg", name, tmp, kam_port, NG_PORT=d.port,
                                   CALLEE_PORT=run_call.callee_sip, OFFER_FLAGS=offer_flags, ANSWER_FLAGS=ANSWER_FLAGS)
    kams.append((name, kam, log_path))
    return kam, kam_port, log_path


try:
    with Daemon() as d:
        run_call.callee_sip = peer_port()
        run_call.uac_xml = fill_config("uac_pcap.xml", os.path.join(tmp, "uac_pcap.xml"), PCAP=SIPP_PCAP)
        uas_xml = fill_config("uas_pcma.xml", os.path.join(tmp, "uas_pcma.xml"))

        # cases 1 and 2: plain offer flags
        kam, kam_port, kam_log = start_proxy("kamailio", d, OFFER_FLAGS)
        run_call("pcma", tmp, d, kam_port, ["-sf", uas_xml], "8")
        run_call("pcmu-answer", tmp, d, kam_port, ["-sn", "uas"], "0")
        end_kamailio("kamailio", kam, kam_log, 2)

        # case 3: Opus caller, PCMA callee; this Kamailio adds codec-transcode-PCMA to the offer flags
        kam, kam_port, kam_log = start_proxy("kamailio_opus", d, OPUS_OFFER_FLAGS)
        run_opus_call("opus-to-pcma", tmp, d, kam_port, uas_xml)
        end_kamailio("kamailio_opus", kam, kam_log, 1)

        out = subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{d.port}", "stats"],
                             capture_output=True, text=True, timeout=30).stdout
        print("    mediusctl stats:\n" + "\n".join("      " + l for l in out.splitlines()), flush=True)
        m = re.search(r"^managedsessions\s+(\d+)$", out, re.M)
        check(m is not None and int(m.group(1)) == 3, "mediusctl stats: 3 managed sessions")
        check_mediusctl_list_empty(d)
        mlog = check_mediusd_stops(d, min_requests=9)
        print("    mediusd log (end):\n" + "\n".join("      " + l for l in mlog.splitlines()[-8:]), flush=True)
except Exception as e:  # a peer that would not start, a timeout: a failure, cleaned up below
    check(False, f"the test ran to its end: {type(e).__name__}: {e}")
    for name, _, log_path in kams:
        print(f"    {name}'s log (end):\n" + read_text(log_path)[-3000:])
finally:
    for _, kam, _ in kams:
        if kam.poll() is None:
            stop(kam)
    pid = gst_pid(tmp)
    clean_up(tmp, also=[pid] if pid is not None and gst_alive(pid) else [])  # GStreamer normally ended already
finish()
