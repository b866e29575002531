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
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from medius_test import MEDIUSCTL, Daemon, bdecode, check, finish, free_port, ng  # noqa: E402
from media_check import goertzel_power, stop, ulaw_to_linear, wait_bound  # noqa: E402

KAMAILIO = os.environ.get("KAMAILIO", "kamailio")
KAMAILIO_MPATH = os.environ.get("KAMAILIO_MPATH", "/usr/lib/x86_64-linux-gnu/kamailio/modules/")
SIPP = os.environ.get("SIPP", "sipp")
TSHARK = os.environ.get("TSHARK", "tshark")
PCAP = os.environ.get("SIPP_PCAP", "/usr/share/sip-tester/g711a.pcap")
GST = os.environ.get("GST_LAUNCH", "gst-launch-1.0")
CFG_DIR = os.path.join(HERE, "kamailio")

MEDIUS_PORTS = range(30000, 40000)  # the built-in "default" interface
OFFER_FLAGS = "replace-origin replace-session-connection ICE=remove"
ANSWER_FLAGS = "replace-origin replace-session-connection ICE=remove"
OPUS_OFFER_FLAGS = OFFER_FLAGS + " codec-transcode-PCMA"  # case 3: medius adds PCMA to the Opus offer
OPUS_FRAMES = 150  # opus_send.sh's 20 ms frames (3 s)
MIN_DOMINANCE = 20  # dB: the 1 kHz tone over other probe frequencies, decoded from the PCMA
MAX_LOST = 2     # RTP packets the callee may miss (loopback: none expected)
CALL_TIMEOUT = 25  # s, for one call's sipp pair


def skip(why):
    print(f"SKIP: {why}", flush=True)
    sys.exit(77)


for tool in (KAMAILIO, SIPP, TSHARK, GST):
    if shutil.which(tool) is None:
        skip(f"{tool} not found (apt-get install kamailio sip-tester tshark gstreamer1.0-tools)")
for element in ("audiotestsrc", "opusenc", "rtpopuspay", "udpsink"):
    if subprocess.run([GST.replace("gst-launch", "gst-inspect"), element], capture_output=True, timeout=60).returncode != 0:
        skip(f"no GStreamer element {element} (gstreamer1.0-plugins-base, -good)")
if not os.path.exists(os.path.join(KAMAILIO_MPATH, "rtpengine.so")):
    skip(f"no rtpengine.so in {KAMAILIO_MPATH}")
if not os.path.exists(PCAP):
    skip(f"no {PCAP}")
if os.geteuid() != 0:
    skip("needs root: sipp plays pcaps through a raw socket, tshark captures on lo")

_taken = set()


def port():
    """A free UDP port outside medius's range, and not handed out before here.
    Even so that a port + 1 (sipp's RTCP) is free too."""
    while True:
        p = free_port()
        if p in MEDIUS_PORTS or p % 2 or p in _taken or p + 1 in _taken:
            continue
        _taken.update((p, p + 1))
        return p


def fill(name, out, **fields):
    with open(os.path.join(CFG_DIR, name)) as f:
        text = f.read()
    for k, v in fields.items():
        text = text.replace(f"@{k}@", str(v))
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise RuntimeError(f"{name}: unfilled fields {left}")
    with open(out, "w") as f:
        f.write(text)
    return out


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def wait_for(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def rtp_fields(pcap, *fields, port=None):
    """Rows of fields for each RTP packet in pcap: UDP to port decoded as RTP,
    or, without a port, UDP that looks like RTP. A capture's port must be
    named: a free port can be one Wireshark gives to another protocol (27910
    is Quake II's), and then no heuristic runs on it."""
    decode = ["-d", f"udp.port=={port},rtp"] if port else ["-o", "rtp.heuristic_rtp:TRUE"]
    r = subprocess.run([TSHARK, "-n", "-r", pcap, *decode, "-Y", "rtp",
                        "-T", "fields", *sum((["-e", f] for f in fields), [])],
                       capture_output=True, text=True, timeout=30)
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def alaw(b):
    b ^= 0x55
    t = (b & 0x0F) << 4
    seg = (b & 0x70) >> 4
    t = t + 8 if seg == 0 else (t + 0x108) << (seg - 1)
    return t if b & 0x80 else -t


ALAW = [alaw(i) for i in range(256)]
ULAW = [ulaw_to_linear(i) for i in range(256)]


def payload_bytes(rows, col):
    """The RTP payloads of rows (tshark's hex, ':'-separated or not) joined."""
    return b"".join(bytes.fromhex(r[col].replace(":", "")) for r in rows)


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


def sip_messages(log):
    """sipp's -trace_msg log split into its messages (direction, text)."""
    out = []
    for m in re.finditer(r"^-+ [^\n]*\n(UDP message (sent|received)[^\n]*\n)(.*?)(?=^-+ |\Z)",
                         log, re.M | re.S):
        out.append((m.group(2), m.group(3).lstrip("\r\n")))
    return out


def sdp_target(msg):
    c = re.search(r"^c=IN IP4 (\S+)", msg, re.M)
    m = re.search(r"^m=audio (\d+) \S+ ([\d ]+)", msg, re.M)
    if not c or not m:
        return None
    return c.group(1), int(m.group(1)), m.group(2).split()


def sipp(args, tag, tmp):
    """Start sipp in the background with its traces in tmp; returns (proc, files)."""
    files = {k: os.path.join(tmp, f"{tag}_{k}.log") for k in ("msg", "screen", "err", "out")}
    cmd = [SIPP, *args, "-nostdin", "-m", "1", "-timeout", f"{CALL_TIMEOUT}s", "-timeout_error",
           "-trace_msg", "-message_file", files["msg"],
           "-trace_screen", "-screen_file", files["screen"],
           "-trace_err", "-error_file", files["err"]]
    out = open(files["out"], "wb")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
    out.close()
    return proc, files


def successful_calls(screen):
    m = re.findall(r"Successful call\s+\|\s+\d+\s+\|\s+(\d+)", screen)
    return int(m[-1]) if m else None


def leftovers(tmp):
    """Processes still running whose command line names the temp dir."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if tmp.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


PCAP_RTP = rtp_fields(PCAP, "rtp.seq", "rtp.p_type", "rtp.payload")
PCAP_PT = sorted({r[1] for r in PCAP_RTP})
print(f"{PCAP}: {len(PCAP_RTP)} RTP packets, payload types {PCAP_PT}", flush=True)
check(len(PCAP_RTP) > 100, f"the pcap holds a real stream: {len(PCAP_RTP)} RTP packets")


def start_uas(case, tmp, args, callee_sip, callee_media, procs):
    """The callee sipp, bound and listening; (process, its files)."""
    uas, files = sipp([*args, "-i", "127.0.0.1", "-p", str(callee_sip),
                       "-mi", "127.0.0.1", "-mp", str(callee_media)], f"{case}_uas", tmp)
    procs.append(uas)
    if not wait_bound(uas, callee_sip):
        raise RuntimeError(f"the callee sipp did not start:\n{read(files['out'])[-2000:]}")
    return uas, files


def start_capture(cap, filt, procs):
    """tshark writing what matches filt on lo to cap, once it is capturing."""
    tserr = cap + ".err"
    with open(tserr, "wb") as e:
        ts = subprocess.Popen([TSHARK, "-n", "-q", "-i", "lo", "-f", filt, "-w", cap],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=e)
    procs.append(ts)
    if not wait_for(lambda: "Capturing on" in read(tserr) or ts.poll() is not None, 15) or ts.poll() is not None:
        raise RuntimeError(f"tshark did not start capturing: {read(tserr)}")


def place_call(case, tmp, kam_port, uac_xml, caller_sip, caller_media, uas, procs):
    """The caller sipp through Kamailio, waited for with the callee:
    (caller files, caller exit, callee exit, seconds taken); exits are None
    on a timeout."""
    t0 = time.time()
    uac, uac_files = sipp([f"127.0.0.1:{kam_port}", "-sf", uac_xml, "-s", "callee",
                           "-i", "127.0.0.1", "-p", str(caller_sip),
                           "-mi", "127.0.0.1", "-mp", str(caller_media)], f"{case}_uac", tmp)
    procs.append(uac)
    try:
        uac_rc = uac.wait(CALL_TIMEOUT + 10)
    except subprocess.TimeoutExpired:
        uac_rc = None
    try:
        uas_rc = uas.wait(10)
    except subprocess.TimeoutExpired:
        uas_rc = None
    return uac_files, uac_rc, uas_rc, time.time() - t0


def run_call(case, tmp, d, kam_port, callee_args, expect_codec, max_lost=MAX_LOST):
    """One call UAC -> Kamailio -> UAS, media UAC -> medius -> UAS, checked."""
    print(f"--- {case} ---", flush=True)
    callee_sip, callee_media = run_call.callee_sip, port()
    caller_sip, caller_media = port(), port()
    before = ng(d.port, command="statistics")["statistics"]["totalstatistics"]
    capfile = os.path.join(tmp, f"{case}_callee.pcapng")
    procs = []
    try:
        uas, uas_files = start_uas(case, tmp, callee_args, callee_sip, callee_media, procs)
        start_capture(capfile, f"udp dst port {callee_media}", procs)
        uac_files, uac_rc, uas_rc, took = place_call(case, tmp, kam_port, run_call.uac_xml, caller_sip,
                                                     caller_media, uas, procs)
        time.sleep(0.3)  # let the capture take the last packets in
    finally:
        for p in reversed(procs):
            stop(p, signal.SIGINT if p.args[0] == TSHARK else signal.SIGTERM)

    uac_ok = successful_calls(read(uac_files["screen"]))
    uas_ok = successful_calls(read(uas_files["screen"]))
    check(uac_rc == 0 and uac_ok == 1,
          f"{case}: the caller completes its call in {took:.1f} s (sipp exit {uac_rc}, successful calls {uac_ok})")
    check(uas_rc == 0 and uas_ok == 1, f"{case}: the callee too (sipp exit {uas_rc}, successful calls {uas_ok})")
    if uac_rc != 0 or uas_rc != 0:
        for f in (uac_files["err"], uas_files["err"], uac_files["out"]):
            print(f"    {os.path.basename(f)}: {read(f)[-1500:]}")

    # --- the SDP each side got: medius's address and ports ---
    uas_in = [t for dr, t in sip_messages(read(uas_files["msg"])) if dr == "received" and t.startswith("INVITE ")]
    uac_in = [t for dr, t in sip_messages(read(uac_files["msg"])) if dr == "received" and t.startswith("SIP/2.0 200")
              and "application/sdp" in t]
    to_callee = sdp_target(uas_in[0]) if uas_in else None
    to_caller = sdp_target(uac_in[0]) if uac_in else None
    print(f"    SDP (address, port, payload types) the callee was offered: {to_callee}; the caller was answered:"
          f" {to_caller}", flush=True)
    check(to_callee is not None and to_callee[0] == "127.0.0.1" and to_callee[1] in MEDIUS_PORTS
          and to_callee[1] != caller_media,
          f"{case}: the INVITE's SDP at the callee points at medius: {to_callee and to_callee[:2]}")
    check(to_caller is not None and to_caller[0] == "127.0.0.1" and to_caller[1] in MEDIUS_PORTS
          and to_caller[1] != callee_media,
          f"{case}: the 200 OK's SDP at the caller points at medius: {to_caller}")
    invite = uas_in[0] if uas_in else ""
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
    after = ng(d.port, command="statistics")["statistics"]["totalstatistics"]
    delta = {k: after[k] - before[k] for k in after}
    print(f"    medius: {delta}", flush=True)
    check(delta["managedsessions"] == 1 and delta["deletedsessions"] == 1 and delta["timeoutsessions"] == 0,
          f"{case}: medius managed one session, deleted (BYE), not timed out")
    check(delta["packetsrelayed"] >= len(got), f"{case}: medius relayed {delta['packetsrelayed']} packets")
    calls = ng(d.port, command="list")["calls"]
    check(calls == [], f"{case}: no call left in medius: {calls}")


def ng_exchanges(pcap, ng_port):
    """The ng requests and replies in pcap: [(request dict, reply dict or None)], by cookie."""
    r = subprocess.run([TSHARK, "-n", "-r", pcap, "-T", "fields", "-e", "udp.dstport", "-e", "udp.payload"],
                       capture_output=True, text=True, timeout=30)
    reqs, replies = [], {}
    for line in r.stdout.splitlines():
        dport, _, hexdata = line.partition("\t")
        data = bytes.fromhex(hexdata.replace(":", ""))
        cookie, _, body = data.partition(b" ")
        try:
            msg = bdecode(body)[0]
        except (ValueError, IndexError):
            continue
        if dport == str(ng_port):
            reqs.append((cookie, msg))
        else:
            replies.setdefault(cookie, msg)
    return [(msg, replies.get(cookie)) for cookie, msg in reqs]


def gst_pid(tmp):
    try:
        return int(read(os.path.join(tmp, "opus_gst.pid")).strip())
    except ValueError:
        return None


def gst_alive(pid):
    """True while pid is still our GStreamer sender (not a recycled pid)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"gst-launch" in f.read() and not read(f"/proc/{pid}/stat").split(") ")[-1].startswith("Z")
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
    callee_sip, callee_media = run_call.callee_sip, port()
    caller_sip, caller_media, opus_port = port(), port(), port()
    fill("opus_send.sh", os.path.join(tmp, "opus_send.sh"), GST=GST, OPUS_PORT=opus_port, TMP=tmp)
    uac_xml = fill("uac_opus.xml", os.path.join(tmp, "uac_opus.xml"), OPUS_PORT=opus_port, TMP=tmp)
    before = ng(d.port, command="statistics")["statistics"]["totalstatistics"]
    capfile = os.path.join(tmp, f"{case}_callee.pcapng")
    ngcap = os.path.join(tmp, f"{case}_ng.pcapng")
    procs = []
    uac_files = uas_files = {}
    uac_rc = uas_rc = None
    took = 0.0
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
        for p in reversed(procs):
            stop(p, signal.SIGINT if p.args[0] == TSHARK else signal.SIGTERM)
        pid = gst_pid(tmp)
        if pid is not None and gst_alive(pid):
            os.kill(pid, signal.SIGKILL)

    uac_ok = successful_calls(read(uac_files["screen"]))
    uas_ok = successful_calls(read(uas_files["screen"]))
    check(uac_rc == 0 and uac_ok == 1,
          f"{case}: the caller completes its call in {took:.1f} s (sipp exit {uac_rc}, successful calls {uac_ok})")
    check(uas_rc == 0 and uas_ok == 1, f"{case}: the callee too (sipp exit {uas_rc}, successful calls {uas_ok})")
    if uac_rc != 0 or uas_rc != 0:
        for f in (uac_files["err"], uas_files["err"], uac_files["out"]):
            print(f"    {os.path.basename(f)}: {read(f)[-1500:]}")
    gst_log = read(os.path.join(tmp, "opus_gst.log")).strip()
    check(pid is not None and gst_done and "ERROR" not in gst_log,
          f"{case}: GStreamer (pid {pid}) sent its Opus stream and ended by itself"
          + (f": {gst_log[-1000:]}" if gst_log else ""))

    # --- the SDP each side got ---
    uas_in = [t for dr, t in sip_messages(read(uas_files["msg"])) if dr == "received" and t.startswith("INVITE ")]
    uac_in = [t for dr, t in sip_messages(read(uac_files["msg"])) if dr == "received" and t.startswith("SIP/2.0 200")
              and "application/sdp" in t]
    to_callee = sdp_target(uas_in[0]) if uas_in else None
    to_caller = sdp_target(uac_in[0]) if uac_in else None
    print(f"    SDP (address, port, payload types) the callee was offered: {to_callee}; the caller was answered:"
          f" {to_caller}", flush=True)
    invite = uas_in[0] if uas_in else ""
    answer = uac_in[0] if uac_in else ""
    check(to_callee is not None and to_callee[0] == "127.0.0.1" and to_callee[1] in MEDIUS_PORTS
          and to_callee[2][:1] == ["96"] and "8" in to_callee[2]
          and re.search(r"^a=rtpmap:96 opus/48000/2", invite, re.M) and re.search(r"^a=rtpmap:8 PCMA/8000", invite, re.M),
          f"{case}: the callee is offered, at medius, the caller's Opus and the PCMA medius added: {to_callee}")
    check(to_caller is not None and to_caller[0] == "127.0.0.1" and to_caller[1] in MEDIUS_PORTS
          and to_caller[2] == ["96"] and re.search(r"^a=rtpmap:96 opus/48000/2", answer, re.M),
          f"{case}: transcoding, so the caller is answered its own Opus, at medius: {to_caller}")

    # --- the ng exchanges: what Kamailio's module sent, what medius replied ---
    ex = ng_exchanges(ngcap, d.port)
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
    after = ng(d.port, command="statistics")["statistics"]["totalstatistics"]
    delta = {k: after[k] - before[k] for k in after}
    print(f"    medius: {delta}", flush=True)
    check(delta["managedsessions"] == 1 and delta["deletedsessions"] == 1 and delta["timeoutsessions"] == 0,
          f"{case}: medius managed one session, deleted (BYE), not timed out")
    calls = ng(d.port, command="list")["calls"]
    check(calls == [], f"{case}: no call left in medius: {calls}")


tmp = tempfile.mkdtemp(prefix="medius-kamailio-")
kams = []  # (name, process, log path)


def start_kamailio(name, d, offer_flags):
    """Kamailio with kamailio.cfg filled in for offer_flags; returns (process, SIP port, log path)."""
    kam_port = port()
    cfg = fill("kamailio.cfg", os.path.join(tmp, f"{name}.cfg"), LISTEN_PORT=kam_port, NG_PORT=d.port,
               CALLEE_PORT=run_call.callee_sip, OFFER_FLAGS=offer_flags, ANSWER_FLAGS=ANSWER_FLAGS,
               MPATH=KAMAILIO_MPATH)
    r = subprocess.run([KAMAILIO, "-c", "-f", cfg], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, f"kamailio -c accepts {name}.cfg{'' if r.returncode == 0 else ': ' + r.stderr[-1500:]}")
    log_path = os.path.join(tmp, f"{name}.log")
    rundir = os.path.join(tmp, name)
    os.makedirs(rundir, exist_ok=True)
    with open(log_path, "wb") as log:
        kam = subprocess.Popen([KAMAILIO, "-f", cfg, "-DD", "-E", "-n", "1", "-m", "32", "-M", "4",
                                "-w", rundir, "-Y", rundir, "-P", os.path.join(rundir, "kamailio.pid")],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    kams.append((name, kam, log_path))
    if not wait_bound(kam, kam_port, 15):
        raise RuntimeError(f"kamailio ({name}) did not start:\n{read(log_path)[-3000:]}")
    time.sleep(0.3)
    return kam, kam_port, log_path


def end_kamailio(name, kam, log_path, calls):
    klog = read(log_path)
    for fn in ("rtpengine_offer", "rtpengine_answer", "rtpengine_delete"):
        k = klog.count(f"{fn}: ok")
        check(k == calls, f"{name}: Kamailio's rtpengine module: {fn}() succeeded {k} times (of {calls})")
    check("failed" not in klog and "ERROR" not in klog,
          f"{name}: no error in Kamailio's log" + ("" if "ERROR" not in klog else ":\n" + "\n".join(
              l for l in klog.splitlines() if "ERROR" in l or "failed" in l)[:2000]))
    stop(kam)
    check(kam.returncode == 0, f"{name}: Kamailio stops cleanly (exit {kam.returncode})")


try:
    with Daemon() as d:
        run_call.callee_sip = port()
        run_call.uac_xml = fill("uac_pcap.xml", os.path.join(tmp, "uac_pcap.xml"), PCAP=PCAP)
        uas_xml = fill("uas_pcma.xml", os.path.join(tmp, "uas_pcma.xml"))

        # cases 1 and 2: plain offer flags
        kam, kam_port, kam_log = start_kamailio("kamailio", d, OFFER_FLAGS)
        run_call("pcma", tmp, d, kam_port, ["-sf", uas_xml], "8")
        run_call("pcmu-answer", tmp, d, kam_port, ["-sn", "uas"], "0")
        end_kamailio("kamailio", kam, kam_log, 2)

        # case 3: Opus caller, PCMA callee; this Kamailio adds codec-transcode-PCMA to the offer flags
        kam, kam_port, kam_log = start_kamailio("kamailio_opus", d, OPUS_OFFER_FLAGS)
        run_opus_call("opus-to-pcma", tmp, d, kam_port, uas_xml)
        end_kamailio("kamailio_opus", kam, kam_log, 1)

        out = subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{d.port}", "stats"],
                             capture_output=True, text=True, timeout=30).stdout
        print("    mediusctl stats:\n" + "\n".join("      " + l for l in out.splitlines()), flush=True)
        m = re.search(r"^managedsessions\s+(\d+)$", out, re.M)
        check(m is not None and int(m.group(1)) == 3, "mediusctl stats: 3 managed sessions")
        out = subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{d.port}", "list"],
                             capture_output=True, text=True, timeout=30)
        check(out.returncode == 0 and not re.search(r"SIPp|@|^\S+\s+\d+\s+\d+\s+\d+", out.stdout, re.M),
              f"mediusctl list: no call left:\n{out.stdout}")
        code = d.stop()
        check(code == 0, f"mediusd stops cleanly (exit {code})")
        mlog = d.log_text()
        m = re.search(r"ng: (\d+) requests, (\d+) errors", mlog)
        check(m is not None and int(m.group(1)) >= 9 and m.group(2) == "0",
              f"mediusd's ng counters at shutdown: {m and m.group(0)}")
        print("    mediusd log (end):\n" + "\n".join("      " + l for l in mlog.splitlines()[-8:]), flush=True)
except Exception as e:  # a peer that would not start, a timeout: a failure, cleaned up below
    check(False, f"the test ran to its end: {type(e).__name__}: {e}")
    for name, _, log_path in kams:
        print(f"    {name}'s log (end):\n" + read(log_path)[-3000:])
finally:
    for _, kam, _ in kams:
        if kam.poll() is None:
            stop(kam)
    pid = gst_pid(tmp)
    gst_left = [pid] if pid is not None and gst_alive(pid) else []  # normally ended already
    left = leftovers(tmp) + gst_left
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    check(left == [], f"nothing the test started is left running: {left}")
    if os.environ.get("KEEP_TMP"):
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
finish()
