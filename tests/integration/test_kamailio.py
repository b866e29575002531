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

Environment: MEDIUSD, MEDIUSCTL (as the other integration tests), KAMAILIO
(default kamailio), KAMAILIO_MPATH (its modules directory), SIPP (default
sipp), TSHARK (default tshark), SIPP_PCAP (default
/usr/share/sip-tester/g711a.pcap). Needs root (sipp plays pcaps through a
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
from medius_test import MEDIUSCTL, Daemon, check, finish, free_port, ng  # noqa: E402
from media_check import stop, wait_bound  # noqa: E402

KAMAILIO = os.environ.get("KAMAILIO", "kamailio")
KAMAILIO_MPATH = os.environ.get("KAMAILIO_MPATH", "/usr/lib/x86_64-linux-gnu/kamailio/modules/")
SIPP = os.environ.get("SIPP", "sipp")
TSHARK = os.environ.get("TSHARK", "tshark")
PCAP = os.environ.get("SIPP_PCAP", "/usr/share/sip-tester/g711a.pcap")
CFG_DIR = os.path.join(HERE, "kamailio")

MEDIUS_PORTS = range(30000, 40000)  # the built-in "default" interface
OFFER_FLAGS = "replace-origin replace-session-connection ICE=remove"
ANSWER_FLAGS = "replace-origin replace-session-connection ICE=remove"
MAX_LOST = 2     # RTP packets the callee may miss (loopback: none expected)
CALL_TIMEOUT = 25  # s, for one call's sipp pair


def skip(why):
    print(f"SKIP: {why}", flush=True)
    sys.exit(77)


for tool in (KAMAILIO, SIPP, TSHARK):
    if shutil.which(tool) is None:
        skip(f"{tool} not found (apt-get install kamailio sip-tester tshark)")
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


def rtp_fields(pcap, *fields):
    """Rows of fields for each RTP packet in pcap (UDP read as RTP)."""
    r = subprocess.run([TSHARK, "-n", "-r", pcap, "-o", "rtp.heuristic_rtp:TRUE", "-Y", "rtp",
                        "-T", "fields", *sum((["-e", f] for f in fields), [])],
                       capture_output=True, text=True, timeout=30)
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def alaw(b):
    b ^= 0x55
    t = (b & 0x0F) << 4
    seg = (b & 0x70) >> 4
    t = t + 8 if seg == 0 else (t + 0x108) << (seg - 1)
    return t if b & 0x80 else -t


def ulaw(b):
    b = ~b & 0xFF
    t = (((b & 0x0F) << 3) + 0x84) << ((b & 0x70) >> 4)
    return 0x84 - t if b & 0x80 else t - 0x84


ALAW = [alaw(i) for i in range(256)]
ULAW = [ulaw(i) for i in range(256)]


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


def run_call(case, tmp, d, kam_port, callee_args, expect_codec, max_lost=MAX_LOST):
    """One call UAC -> Kamailio -> UAS, media UAC -> medius -> UAS, checked."""
    print(f"--- {case} ---", flush=True)
    callee_sip, callee_media = run_call.callee_sip, port()
    caller_sip, caller_media = port(), port()
    before = ng(d.port, command="statistics")["statistics"]["totalstatistics"]
    capfile = os.path.join(tmp, f"{case}_callee.pcapng")
    procs = []
    try:
        uas, uas_files = sipp([*callee_args, "-i", "127.0.0.1", "-p", str(callee_sip),
                               "-mi", "127.0.0.1", "-mp", str(callee_media)], f"{case}_uas", tmp)
        procs.append(uas)
        if not wait_bound(uas, callee_sip):
            raise RuntimeError(f"the callee sipp did not start:\n{read(uas_files['out'])[-2000:]}")
        tserr = os.path.join(tmp, f"{case}_tshark.err")
        with open(tserr, "wb") as e:
            ts = subprocess.Popen([TSHARK, "-n", "-q", "-i", "lo", "-f", f"udp dst port {callee_media}",
                                   "-w", capfile], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=e)
        procs.append(ts)
        if not wait_for(lambda: "Capturing on" in read(tserr) or ts.poll() is not None, 15) or ts.poll() is not None:
            raise RuntimeError(f"tshark did not start capturing: {read(tserr)}")

        t0 = time.time()
        uac, uac_files = sipp([f"127.0.0.1:{kam_port}", "-sf", run_call.uac_xml, "-s", "callee",
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
        took = time.time() - t0
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
    got = rtp_fields(capfile, "udp.srcport", "ip.src", "rtp.p_type", "rtp.seq", "rtp.timestamp", "rtp.payload")
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


tmp = tempfile.mkdtemp(prefix="medius-kamailio-")
kam = None
kam_log = os.path.join(tmp, "kamailio.log")
try:
    with Daemon() as d:
        kam_port = port()
        run_call.callee_sip = port()
        cfg = fill("kamailio.cfg", os.path.join(tmp, "kamailio.cfg"), LISTEN_PORT=kam_port, NG_PORT=d.port,
                   CALLEE_PORT=run_call.callee_sip, OFFER_FLAGS=OFFER_FLAGS, ANSWER_FLAGS=ANSWER_FLAGS,
                   MPATH=KAMAILIO_MPATH)
        run_call.uac_xml = fill("uac_pcap.xml", os.path.join(tmp, "uac_pcap.xml"), PCAP=PCAP)
        uas_xml = fill("uas_pcma.xml", os.path.join(tmp, "uas_pcma.xml"))

        r = subprocess.run([KAMAILIO, "-c", "-f", cfg], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, f"kamailio -c accepts the config{'' if r.returncode == 0 else ': ' + r.stderr[-1500:]}")
        with open(kam_log, "wb") as log:
            kam = subprocess.Popen([KAMAILIO, "-f", cfg, "-DD", "-E", "-n", "1", "-m", "32", "-M", "4",
                                    "-w", tmp, "-Y", tmp, "-P", os.path.join(tmp, "kamailio.pid")],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        if not wait_bound(kam, kam_port, 15):
            raise RuntimeError(f"kamailio did not start:\n{read(kam_log)[-3000:]}")
        time.sleep(0.3)

        run_call("pcma", tmp, d, kam_port, ["-sf", uas_xml], "8")
        run_call("pcmu-answer", tmp, d, kam_port, ["-sn", "uas"], "0")

        klog = read(kam_log)
        for fn, n in (("rtpengine_offer", 2), ("rtpengine_answer", 2), ("rtpengine_delete", 2)):
            k = klog.count(f"{fn}: ok")
            check(k == n, f"Kamailio's rtpengine module: {fn}() succeeded {k} times (of {n})")
        check("failed" not in klog and "ERROR" not in klog,
              "no error in Kamailio's log" + ("" if "ERROR" not in klog else ":\n" + "\n".join(
                  l for l in klog.splitlines() if "ERROR" in l or "failed" in l)[:2000]))
        stop(kam)
        check(kam.returncode == 0, f"Kamailio stops cleanly (exit {kam.returncode})")

        out = subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{d.port}", "stats"],
                             capture_output=True, text=True, timeout=30).stdout
        print("    mediusctl stats:\n" + "\n".join("      " + l for l in out.splitlines()), flush=True)
        m = re.search(r"^managedsessions\s+(\d+)$", out, re.M)
        check(m is not None and int(m.group(1)) == 2, "mediusctl stats: 2 managed sessions")
        out = subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{d.port}", "list"],
                             capture_output=True, text=True, timeout=30)
        check(out.returncode == 0 and not re.search(r"SIPp|@|^\S+\s+\d+\s+\d+\s+\d+", out.stdout, re.M),
              f"mediusctl list: no call left:\n{out.stdout}")
        code = d.stop()
        check(code == 0, f"mediusd stops cleanly (exit {code})")
        mlog = d.log_text()
        m = re.search(r"ng: (\d+) requests, (\d+) errors", mlog)
        check(m is not None and int(m.group(1)) >= 6 and m.group(2) == "0",
              f"mediusd's ng counters at shutdown: {m and m.group(0)}")
        print("    mediusd log (end):\n" + "\n".join("      " + l for l in mlog.splitlines()[-8:]), flush=True)
except Exception as e:  # a peer that would not start, a timeout: a failure, cleaned up below
    check(False, f"the test ran to its end: {type(e).__name__}: {e}")
    if os.path.exists(kam_log):
        print("    Kamailio's log (end):\n" + read(kam_log)[-3000:])
finally:
    if kam is not None and kam.poll() is None:
        stop(kam)
    left = leftovers(tmp)
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
