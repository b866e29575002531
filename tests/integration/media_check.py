"""Audio measurements and process helpers shared by the media integration
tests (standard library only)."""
import array
import math
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import Counter

from medius_test import MEDIUSCTL, bdecode, check, free_port, loop_sock, ng


def pcm_from_bytes(data):
    a = array.array("h")
    a.frombytes(data[: len(data) // 2 * 2])
    if sys.byteorder == "big":
        a.byteswap()
    return a


def goertzel_power(x, rate, freq):
    """Mean power of the component at freq in x (a sine of peak A gives A^2/2); 0 for no samples."""
    n = len(x)
    if n == 0:
        return 0.0
    w = 2 * math.pi * freq / rate
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for v in x:
        s0 = v + c * s1 - s2
        s2 = s1
        s1 = s0
    mag2 = s1 * s1 + s2 * s2 - c * s1 * s2
    return 2 * mag2 / (n * n)


def udp_bound(port):
    """True when something has bound UDP port on this host (/proc/net/udp*)."""
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    local = line.split()[1]
                    if int(local.rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            pass
    return False


def wait_bound(proc, port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if udp_bound(port):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


def stop(proc, sig=signal.SIGTERM, timeout=10):
    """End a process we started; returns (stdout, stderr) bytes."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate(timeout=5)


def settle(*paths, quiet=0.6, limit=10.0):
    """Wait until the receivers' output files stop growing (a loaded machine
    may still be decoding what arrived), at most `limit` seconds."""
    def sizes():
        return [os.path.getsize(p) if os.path.exists(p) else -1 for p in paths]
    last, since, start = sizes(), time.time(), time.time()
    while time.time() - start < limit:
        time.sleep(0.1)
        now = sizes()
        if now != last:
            last, since = now, time.time()
        elif time.time() - since >= quiet and min(now) > 0:
            return
    return


# ---- PCMU tone peers (GStreamer, plain RTP or SRTP) and their checks ----

SRTP_PROFILE = "srtp-cipher=(string)aes-128-icm,srtp-auth=(string)hmac-sha1-80," \
               "srtcp-cipher=(string)aes-128-icm,srtcp-auth=(string)hmac-sha1-80"


def pcmu_sender_args(host, port, freq, ssrc, seconds, key=None):
    """gst-launch arguments for a live PCMU tone sent to host:port as 20 ms
    RTP packets, SRTP (AES_CM_128_HMAC_SHA1_80, 30-byte key) when key."""
    enc = (f"! srtpenc key={key.hex()} rtp-cipher=aes-128-icm rtp-auth=hmac-sha1-80 "
           f"rtcp-cipher=aes-128-icm rtcp-auth=hmac-sha1-80 ") if key else ""
    pipe = (f"audiotestsrc is-live=true freq={freq} volume=0.5 samplesperbuffer=160 "
            f"num-buffers={int(seconds * 50)} ! audio/x-raw,format=S16LE,rate=8000,channels=1 "
            f"! mulawenc ! rtppcmupay pt=0 ssrc={ssrc} min-ptime=20000000 max-ptime=20000000 {enc}"
            f"! udpsink host={host} port={port}")
    return ["-q"] + pipe.split()


def pcmu_receiver_args(addr, port, out, ssrc, key=None):
    """gst-launch arguments for a PCMU receiver on addr:port (SRTP when
    key) writing raw S16LE 8 kHz audio to out."""
    if key:
        caps = (f"application/x-srtp,media=(string)audio,clock-rate=(int)8000,encoding-name=(string)PCMU,"
                f"payload=(int)0,ssrc=(uint){ssrc},srtp-key=(buffer){key.hex()},{SRTP_PROFILE}")
        dec = "! srtpdec "
    else:
        caps = "application/x-rtp,media=(string)audio,clock-rate=(int)8000,encoding-name=(string)PCMU,payload=(int)0"
        dec = ""
    pipe = (f"udpsrc address={addr} port={port} caps={caps} {dec}! rtppcmudepay ! mulawdec "
            f"! audioconvert ! audio/x-raw,format=S16LE,rate=8000,channels=1 ! filesink buffer-mode=unbuffered location={out}")
    return ["-q", "-e"] + pipe.split()


def tone_ok(path, freq):
    """(dominance dB, seconds of audio) of the tone in a raw S16LE file."""
    with open(path, "rb") as f:
        pcm = pcm_from_bytes(f.read())
    if len(pcm) < 8000:
        return -99.0, len(pcm) / 8000
    mid = len(pcm) // 2
    win = pcm[mid - 2000:mid + 2000]
    tone = goertzel_power(win, 8000, freq)
    other = max(goertzel_power(win, 8000, f) for f in (freq / 2, freq * 0.75, freq * 1.25, freq * 2, 697, 1633))
    return 10 * math.log10(max(tone, 1e-9) / max(other, 1e-9)), len(pcm) / 8000


def ulaw_to_linear(b):
    b = ~b & 0xff
    t = (((b & 0x0f) << 3) + 0x84) << ((b & 0x70) >> 4)
    return (0x84 - t) if b & 0x80 else (t - 0x84)


def wire(path, port, freq):
    """(Counter of UDP payload sizes, tone dominance in dB of the payloads read
    as plain mu-law) for packets to port in a capture: a plain leg shows the
    tone, an encrypted one noise."""
    r = subprocess.run(["tshark", "-r", path, "-Y", f"udp.dstport=={port}", "-T", "fields",
                        "-e", "udp.length", "-e", "data.data", "-d", f"udp.port=={port},data"],
                       capture_output=True, text=True, timeout=60)
    sizes, pcm = Counter(), []
    for line in r.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0]:
            continue
        sizes[int(parts[0]) - 8] += 1
        pcm += [ulaw_to_linear(b) for b in bytes.fromhex(parts[1].replace(":", ""))[12:172]]
    if len(pcm) < 4000:
        return sizes, -99.0
    win = pcm[len(pcm) // 2 - 2000:len(pcm) // 2 + 2000]
    total = sum(v * v for v in win) / len(win)
    tone = goertzel_power(win, 8000, freq)
    return sizes, 10 * math.log10(max(tone, 1e-9) / max(total - tone, 1e-9))


def check_relayed_tones(name, seen_by, out1, out2, r1, r2, a_srtp, b_srtp, pcap, stats, seconds):
    """The checks of a two-way relay of PCMU tones (peer 1 sends 1000 Hz into
    leg A and hears 440 Hz on r1; peer 2 the reverse on r2): each peer
    decodes its tone; the capture (taken by seen_by) shows 182-byte SRTP
    noise or 172-byte clear RTP per leg; the relay's stats show no drops,
    both directions carried, no loss."""
    for path, freq, who, srtp in ((out2, 1000, "peer 2", b_srtp), (out1, 440, "peer 1", a_srtp)):
        dom, secs = tone_ok(path, freq)
        check(dom > 30 and secs > seconds - 0.2,
              f"{name}: {who} ({'SRTP' if srtp else 'RTP'}) decodes {freq} Hz: dominance {dom:.1f} dB, {secs:.2f} s")
    for port, srtp, who, freq in ((r1, a_srtp, "leg A -> peer 1", 440), (r2, b_srtp, "leg B -> peer 2", 1000)):
        sizes, snr = wire(pcap, port, freq)
        want = 182 if srtp else 172
        common = sizes.most_common(1)[0] if sizes else (0, 0)
        clear_ok = snr < 0 if srtp else snr > 20
        check(common[0] == want and common[1] >= seconds * 50 - 5 and clear_ok,
              f"{name}: {seen_by} sees {'SRTP' if srtp else 'plain RTP'} on {who}: "
              f"{common[1]} packets of {common[0]} bytes (want {want}); payload read as mu-law: "
              f"{freq} Hz at {snr:.1f} dB SNR ({'noise, as ciphertext should be' if srtp else 'the tone in clear'})")
    drops = stats["lcores"]["drops"]
    real = {k: v for k, v in drops.items() if k != "mcast_not_for_us"}  # multicast a live link carries
    check(not real, f"{name}: no drops in the dataplane: {drops}")
    a, b = stats["a"], stats["b"]
    check(a["rtp_packets"] >= seconds * 50 - 2 and b["out_packets"] >= seconds * 50 - 2
          and b["rtp_packets"] >= seconds * 50 - 2 and a["out_packets"] >= seconds * 50 - 2,
          f"{name}: leg counters: A received {a['rtp_packets']}, B sent {b['out_packets']}, "
          f"B received {b['rtp_packets']}, A sent {a['out_packets']}")
    check(a["lost"] == 0 and b["lost"] == 0 and a["jitter_ms"] < 20,
          f"{name}: stream stats: lost {a['lost']}/{b['lost']}, jitter {a['jitter_ms']:.2f}/{b['jitter_ms']:.2f} ms")


# ---- SIP peers (sipp, Kamailio) and their captures: shared by the Kamailio tests ----

KAMAILIO = os.environ.get("KAMAILIO", "kamailio")
KAMAILIO_MPATH = os.environ.get("KAMAILIO_MPATH", "/usr/lib/x86_64-linux-gnu/kamailio/modules/")
SIPP = os.environ.get("SIPP", "sipp")
TSHARK = os.environ.get("TSHARK", "tshark")
SIPP_PCAP = os.environ.get("SIPP_PCAP", "/usr/share/sip-tester/g711a.pcap")
KAMAILIO_CFG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kamailio")
MEDIUS_PORTS = range(30000, 40000)  # mediusd's built-in "default" interface
SIPP_TIMEOUT = 25  # s, sipp's -timeout for one call


def skip(why):
    """End the test as skipped (exit 77)."""
    print(f"SKIP: {why}", flush=True)
    sys.exit(77)


def require_sip_peers(tools, install_hint):
    """Skip the test unless the tools are on PATH, Kamailio's rtpengine module
    is in KAMAILIO_MPATH, sipp's pcap exists and we are root (sipp plays
    pcaps through a raw socket, tshark captures on lo)."""
    for tool in tools:
        if shutil.which(tool) is None:
            skip(f"{tool} not found ({install_hint})")
    if not os.path.exists(os.path.join(KAMAILIO_MPATH, "rtpengine.so")):
        skip(f"no rtpengine.so in {KAMAILIO_MPATH}")
    if not os.path.exists(SIPP_PCAP):
        skip(f"no {SIPP_PCAP}")
    if os.geteuid() != 0:
        skip("needs root: sipp plays pcaps through a raw socket, tshark captures on lo")


_peer_ports_taken = set()


def peer_port():
    """A free UDP port outside medius's range, and not handed out before by
    this process. Even so that a port + 1 (sipp's RTCP) is free too."""
    while True:
        p = free_port()
        if p in MEDIUS_PORTS or p % 2 or p in _peer_ports_taken or p + 1 in _peer_ports_taken:
            continue
        _peer_ports_taken.update((p, p + 1))
        return p


def fill_config(name, out, **fields):
    """KAMAILIO_CFG_DIR/name with each @FIELD@ replaced, written to out; its
    path. A field left unfilled is an error."""
    with open(os.path.join(KAMAILIO_CFG_DIR, name)) as f:
        text = f.read()
    for k, v in fields.items():
        text = text.replace(f"@{k}@", str(v))
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise RuntimeError(f"{name}: unfilled fields {left}")
    with open(out, "w") as f:
        f.write(text)
    return out


def read_text(path):
    """A file's text ('' when it does not exist or cannot be read)."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def wait_for(pred, timeout):
    """Poll pred every 50 ms until it is true or timeout seconds passed; its last value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def wait_exit(proc, timeout):
    """proc's exit code once it ends, None when it is still running after timeout seconds."""
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def stop_all(procs):
    """Stop procs, the last started first: tshark with SIGINT (so that it
    writes out its capture), the others with SIGTERM."""
    for p in reversed(procs):
        stop(p, signal.SIGINT if p.args[0] == TSHARK else signal.SIGTERM)


def start_sipp(args, tag, tmp, procs):
    """sipp with args in the background, one call, its traces in tmp; the
    process goes to procs. (process, {msg, screen, err, out: trace paths})."""
    files = {k: os.path.join(tmp, f"{tag}_{k}.log") for k in ("msg", "screen", "err", "out")}
    cmd = [SIPP, *args, "-nostdin", "-m", "1", "-timeout", f"{SIPP_TIMEOUT}s", "-timeout_error",
           "-trace_msg", "-message_file", files["msg"],
           "-trace_screen", "-screen_file", files["screen"],
           "-trace_err", "-error_file", files["err"]]
    with open(files["out"], "wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
    procs.append(proc)
    return proc, files


def start_uas(tag, tmp, args, sip_port, media_port, procs):
    """A callee sipp (args: its scenario) on 127.0.0.1:sip_port, media on
    media_port, once it is bound and listening; (process, its files)."""
    uas, files = start_sipp([*args, "-i", "127.0.0.1", "-p", str(sip_port),
                             "-mi", "127.0.0.1", "-mp", str(media_port)], tag, tmp, procs)
    if not wait_bound(uas, sip_port):
        raise RuntimeError(f"the {tag} sipp did not start:\n{read_text(files['out'])[-2000:]}")
    return uas, files


def check_sipp(who, rc, files, took=None):
    """Check that a sipp ran its one call through: exit 0, one successful
    call; its error and output traces are printed when it did not."""
    ok = successful_calls(read_text(files["screen"]))
    check(rc == 0 and ok == 1, f"{who} completes its scenario (sipp exit {rc}, successful calls {ok})"
          + (f" in {took:.1f} s" if took is not None else ""))
    if rc != 0:
        for f in (files["err"], files["out"]):
            print(f"    {os.path.basename(f)}: {read_text(f)[-1500:]}")


def start_kamailio(template, name, tmp, listen_port, defines=(), **fields):
    """Kamailio running template (in KAMAILIO_CFG_DIR) filled in with
    fields, LISTEN_PORT and MPATH as tmp/name.cfg, logging to tmp/name.log,
    once it listens on listen_port; checks that kamailio -c accepts the
    config. A template given as an absolute path (a shipped config) is run
    as it is, set up by its preprocessor defines (each passed as -A).
    (process, log path)."""
    if os.path.isabs(template):
        cfg = template
    else:
        cfg = fill_config(template, os.path.join(tmp, f"{name}.cfg"), LISTEN_PORT=listen_port,
                          MPATH=KAMAILIO_MPATH, **fields)
    defs = [a for d in defines for a in ("-A", d)]
    r = subprocess.run([KAMAILIO, "-c", "-f", cfg, *defs], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, f"kamailio -c accepts {name}.cfg" + ("" if r.returncode == 0 else ": " + r.stderr[-1500:]))
    log_path = os.path.join(tmp, f"{name}.log")
    rundir = os.path.join(tmp, name)
    os.makedirs(rundir, exist_ok=True)
    with open(log_path, "wb") as log:
        kam = subprocess.Popen([KAMAILIO, "-f", cfg, *defs, "-DD", "-E", "-n", "1", "-m", "32", "-M", "4",
                                "-w", rundir, "-Y", rundir, "-P", os.path.join(rundir, "kamailio.pid")],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    if not wait_bound(kam, listen_port, 15):
        stop(kam)
        raise RuntimeError(f"kamailio ({name}) did not start:\n{read_text(log_path)[-3000:]}")
    time.sleep(0.3)
    return kam, log_path


def end_kamailio(name, kam, log_path, calls, fns=("rtpengine_offer", "rtpengine_answer", "rtpengine_delete")):
    """Check Kamailio's log (each of the functions fns, by default
    rtpengine_offer(), _answer() and _delete(), succeeded `calls` times, no
    error), then stop it and check that it exits cleanly."""
    klog = read_text(log_path)
    for fn in fns:
        k = klog.count(f"{fn}: ok")
        check(k == calls, f"{name}: Kamailio's rtpengine module: {fn}() succeeded {k} times (of {calls})")
    bad = "failed" in klog or "ERROR" in klog
    check(not bad, f"{name}: no error in Kamailio's log" + ("" if not bad else ":\n" + "\n".join(
        l for l in klog.splitlines() if "ERROR" in l or "failed" in l)[:2000]))
    stop(kam)
    check(kam.returncode == 0, f"{name}: Kamailio stops cleanly (exit {kam.returncode})")


def rtp_fields(pcap, *fields, port=None, tshark=TSHARK, where=None):
    """Rows of fields for each RTP packet in pcap: UDP on port decoded as
    RTP, or, without a port, UDP that looks like RTP; where (a display
    filter) narrows it. A capture's port must be named: a free port can be
    one Wireshark gives to another protocol (27910 is Quake II's), and then
    no heuristic runs on it."""
    decode = ["-d", f"udp.port=={port},rtp"] if port else ["-o", "rtp.heuristic_rtp:TRUE"]
    r = subprocess.run([tshark, "-n", "-r", pcap, *decode, "-Y", f"rtp and ({where})" if where else "rtp",
                        "-T", "fields", *sum((["-e", f] for f in fields), [])],
                       capture_output=True, text=True, timeout=30)
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def payload_bytes(rows, col):
    """The RTP payloads in column col of rows (tshark's hex, ':'-separated or not), joined."""
    return b"".join(bytes.fromhex(r[col].replace(":", "")) for r in rows)


def sipp_pcap_rtp(pcap=SIPP_PCAP):
    """The RTP of the pcap sipp plays, checked to be a real stream:
    ([(seq, payload type, payload)], sorted payload types)."""
    rows = rtp_fields(pcap, "rtp.seq", "rtp.p_type", "rtp.payload")
    pts = sorted({r[1] for r in rows})
    print(f"{pcap}: {len(rows)} RTP packets, payload types {pts}", flush=True)
    check(len(rows) > 100, f"the pcap holds a real stream: {len(rows)} RTP packets")
    return rows, pts


def start_capture(cap, filt, procs, tshark=TSHARK, iface="lo"):
    """tshark writing what matches the capture filter filt on iface to cap,
    once it is capturing; the process goes to procs (stop it with SIGINT)."""
    tserr = cap + ".err"
    with open(tserr, "wb") as e:
        ts = subprocess.Popen([tshark, "-n", "-q", "-i", iface, "-f", filt, "-w", cap],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=e)
    procs.append(ts)
    if not wait_for(lambda: "Capturing on" in read_text(tserr) or ts.poll() is not None, 15) or ts.poll() is not None:
        raise RuntimeError(f"tshark did not start capturing: {read_text(tserr)}")


def sip_messages(log):
    """sipp's -trace_msg log split into its messages: [(direction, text,
    time)], direction 'sent' or 'received', time the log's epoch seconds
    (None when the line has none)."""
    out = []
    for m in re.finditer(r"^-+ ([^\n]*)\n(UDP message (sent|received)[^\n]*\n)(.*?)(?=^-+ |\Z)",
                         log, re.M | re.S):
        out.append((m.group(3), m.group(4).lstrip("\r\n"), _sipp_time(m.group(1))))
    return out


def _sipp_time(line):
    """Epoch seconds of a sipp trace's separator line: 'YYYY-MM-DD HH:MM:SS.ffffff'
    (local time), optionally followed by the epoch itself."""
    e = re.search(r"\b(\d{9,}\.\d+)\s*$", line)
    if e:
        return float(e.group(1))
    d = re.search(r"(\d{4}-\d\d-\d\d)\s+(\d\d:\d\d:\d\d)(\.\d+)?", line)
    if not d:
        return None
    return time.mktime(time.strptime(f"{d.group(1)} {d.group(2)}", "%Y-%m-%d %H:%M:%S")) + float(d.group(3) or 0)


def sipp_received(files, first):
    """[(text, time)] of the SIP messages a sipp (files: start_sipp's) received that start with first."""
    return [(t, ts) for dr, t, ts in sip_messages(read_text(files["msg"])) if dr == "received" and t.startswith(first)]


def sdp_target(msg):
    """(address, port, [payload types]) of a SIP message's first audio
    section, or None without one."""
    c = re.search(r"^c=IN IP4 (\S+)", msg, re.M)
    m = re.search(r"^m=audio (\d+) \S+ ([\d ]+)", msg, re.M)
    if not c or not m:
        return None
    return c.group(1), int(m.group(1)), m.group(2).split()


def successful_calls(screen):
    """The 'Successful call' total of a sipp -trace_screen file, or None."""
    m = re.findall(r"Successful call\s+\|\s+\d+\s+\|\s+(\d+)", screen)
    return int(m[-1]) if m else None


def ng_exchanges_timed(pcap, ng_port, tshark=TSHARK):
    """The ng requests to ng_port in pcap and their replies, matched by
    cookie: [(request dict, reply dict or None, request's epoch time)]."""
    r = subprocess.run([tshark, "-n", "-r", pcap, "-T", "fields", "-e", "frame.time_epoch",
                        "-e", "udp.dstport", "-e", "udp.payload"],
                       capture_output=True, text=True, timeout=30)
    reqs, replies = [], {}
    for line in r.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        t, dport, hexdata = parts
        data = bytes.fromhex(hexdata.replace(":", ""))
        cookie, _, body = data.partition(b" ")
        try:
            msg = bdecode(body)[0]
        except (ValueError, IndexError):
            continue
        if not isinstance(msg, dict):
            continue
        if dport == str(ng_port):
            reqs.append((cookie, msg, float(t)))
        else:
            replies.setdefault(cookie, msg)
    return [(msg, replies.get(cookie), t) for cookie, msg, t in reqs]


def medius_totals(d):
    """mediusd's (a medius_test.Daemon) total statistics."""
    return ng(d.port, command="statistics")["statistics"]["totalstatistics"]


def check_call_deleted(d, before, label=""):
    """Check that since `before` (medius_totals) medius managed one session
    and deleted it (BYE), none timed out, and lists no call; the statistics'
    changes."""
    after = medius_totals(d)
    delta = {k: after[k] - before[k] for k in after if isinstance(after[k], int)}  # counters, not drops/clock dicts
    print(f"    medius: {delta}", flush=True)
    check(delta["managedsessions"] == 1 and delta["deletedsessions"] == 1 and delta["timeoutsessions"] == 0,
          f"{label}medius managed one session, deleted (BYE), not timed out")
    calls = ng(d.port, command="list")["calls"]
    check(calls == [], f"{label}no call left in medius after the BYE: {calls}")
    return delta


def check_mediusctl_list_empty(d):
    """Check that mediusctl list shows no call (no SIPp call-id, no tag, no row of counters)."""
    out = subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{d.port}", "list"], capture_output=True, text=True, timeout=30)
    ok = out.returncode == 0 and not re.search(r"SIPp|@|^\S+\s+\d+\s+\d+\s+\d+", out.stdout, re.M)
    check(ok, "mediusctl list: no call left: " + (repr(out.stdout.strip().splitlines()[-1:]) if ok else "\n" + out.stdout))


def check_mediusd_stops(d, min_requests=0):
    """Stop mediusd; check that it exits 0 and logs its ng counters at
    shutdown: at least min_requests requests, no error. Its log text."""
    code = d.stop()
    check(code == 0, f"mediusd stops cleanly (exit {code})")
    mlog = d.log_text()
    m = re.search(r"ng: (\d+) requests, (\d+) errors", mlog)
    check(m is not None and int(m.group(1)) >= min_requests and m.group(2) == "0",
          f"mediusd's ng counters at shutdown: {m and m.group(0)}")
    return mlog


def leftovers(tag):
    """Pids of running processes whose command line contains tag (a temp
    dir the test's processes were all given)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if tag.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def clean_up(tmp, also=()):
    """Kill what the test left running (processes naming tmp, and the pids
    in also), check that there was none; remove tmp unless KEEP_TMP is set."""
    left = leftovers(tmp) + list(also)
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


# ---- conference rooms (room_harness): raw RTP capture and waveform checks ----

class RtpCapture:
    """Raw RTP received on loopback sockets (one per name, bound on free
    ports before anything is sent there), recorded by a thread:
    {name: [(arrival time, seq, ts, ssrc, marker, payload)]}. port(name) is
    where to send; stop() ends the thread and returns the packets."""

    def __init__(self, names):
        self.socks = {n: loop_sock() for n in names}
        self.got = {n: [] for n in names}
        self._run = True
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def port(self, name):
        return self.socks[name].getsockname()[1]

    def _loop(self):
        by = {s: n for n, s in self.socks.items()}
        while self._run:
            ready, _, _ = select.select(list(by), [], [], 0.05)
            now = time.time()
            for s in ready:
                d = s.recv(4096)
                if len(d) < 12:
                    continue
                b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", d[:12])
                off = 12 + 4 * (b0 & 0x0f)
                self.got[by[s]].append((now, seq, ts, ssrc, bool(b1 & 0x80), d[off:]))

    def stop(self):
        self._run = False
        self._t.join(5)
        for s in self.socks.values():
            s.close()
        return self.got


def in_order(pk):
    """Captured packets (RtpCapture's tuples) in sequence order (16-bit wrap followed)."""
    out, ext, last = [], 0, None
    for p in pk:
        if last is not None and p[1] < last and last - p[1] > 0x8000:
            ext += 0x10000
        last = p[1]
        out.append((ext + p[1], p))
    return [p for _, p in sorted(out, key=lambda x: x[0])]


def l16_samples(payload):
    """The samples of an L16 payload (big-endian signed 16 bits)."""
    a = array.array("h")
    a.frombytes(payload[: len(payload) // 2 * 2])
    if sys.byteorder == "little":
        a.byteswap()
    return a


def sine_fit(x, rate, freq):
    """Least-squares fit of a*cos + b*sin at freq (plus an offset) to x:
    (fitted samples, amplitude)."""
    n = len(x)
    w = 2 * math.pi * freq / rate
    c = [math.cos(w * i) for i in range(n)]
    s = [math.sin(w * i) for i in range(n)]
    cc = sum(v * v for v in c)
    ss = sum(v * v for v in s)
    cs = sum(a * b for a, b in zip(c, s))
    xc = sum(a * b for a, b in zip(x, c))
    xs = sum(a * b for a, b in zip(x, s))
    det = cc * ss - cs * cs
    a = (xc * ss - xs * cs) / det if det else 0.0
    b = (xs * cc - xc * cs) / det if det else 0.0
    fit = [a * ci + b * si for ci, si in zip(c, s)]
    return fit, math.hypot(a, b)


def wrap_flips(x, ref, frac=0.5):
    """Samples of x whose sign is opposite to ref's where |ref| is over
    frac of ref's peak: what an adder that wraps instead of saturating
    does at a loud waveform's crests (a zero is no flip)."""
    peak = max(abs(v) for v in ref) if ref else 0
    return sum(1 for a, b in zip(x, ref) if abs(b) > frac * peak and a * b < 0)


def max_jump(x):
    """The largest step between neighbouring samples."""
    return max((abs(x[i + 1] - x[i]) for i in range(len(x) - 1)), default=0)
