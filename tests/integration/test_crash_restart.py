"""kill -9 of mediusd with calls up and a recording running, then a restart
on the same ng port and the same media port range (issue 15, hardening).

  1. mediusd on kernel UDP (loopback) with a port range of PAIRS pairs, just
     what the calls take: CALLS relayed calls with media flowing both ways,
     one transcoded (PCMU <-> PCMA), and the first recorded (WAV).
  2. kill -9 while the media flows.
  3. At once, a new mediusd on the same ng port and port range: it starts
     (binds the ng socket and is up within 30 s, no "address in use"), it
     knows no call (statistics 0: calls do not survive a restart), the
     recording's .part files are finalised (recovery, docs/recording.md) and
     its sidecar says incomplete, and CALLS new calls get every pair of the
     range (so no port is held by the dead process) and carry media.
  4. On that full range, 10 times: a call deleted and a new one offered at
     once: none refused (the deleted legs' ports come back after a grace
     period, which a new leg waits for; before that fix 2 of the 10 were
     refused).
Standard library only; no root needed."""
import json
import os
import shutil
import signal
import socket
import struct
import tempfile
import time

from medius_test import Daemon, check, finish, free_range, ng

CALLS = 6
PAIRS = 2 * CALLS           # two legs a call, an RTP/RTCP pair each


def sdp(port, pt):
    return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP {pt}\r\na=ptime:20\r\n")


def port_of(text):
    import re
    m = re.search(r"^m=audio (\d+) ", text or "", re.M)
    return int(m.group(1)) if m else None


def calls(d, label, record_first=False):
    """CALLS calls; returns [(sock A, sock B, medius port for A, for B)] and every medius port."""
    out, ports = [], set()
    for i in range(CALLS):
        a, b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        a.setblocking(False)
        b.setblocking(False)
        cid = f"{label}-{i}"
        extra = {"codec": {"transcode": ["PCMA"]}} if i == 1 else {}
        o = ng(d.port, command="offer", call_id=cid, from_tag="a", sdp=sdp(a.getsockname()[1], 0), **extra)
        an = ng(d.port, command="answer", call_id=cid, from_tag="a", to_tag="b",
                sdp=sdp(b.getsockname()[1], 8 if i == 1 else 0))
        ok = o.get("result") == "ok" and an.get("result") == "ok"
        check(ok, f"{label}: call {i} set up ({o.get('error-reason', '')}{an.get('error-reason', '')})")
        if ok:
            out.append((a, b, port_of(an["sdp"]), port_of(o["sdp"])))
            ports |= {port_of(an["sdp"]), port_of(o["sdp"])}
    if record_first:
        r = ng(d.port, command="start recording", call_id=f"{label}-0")
        check(r.get("result") == "ok", f"{label}: recording started ({r.get('error-reason', '')})")
        return out, ports, r.get("recording", {}).get("files", [])
    return out, ports, []


def talk(legs, seconds):
    """Both sides of every call send PCMU/PCMA frames; returns the packets each side got."""
    got = [[0, 0] for _ in legs]
    t0 = time.time()
    k = 0
    while time.time() - t0 < seconds:
        for i, (a, b, pa, pb) in enumerate(legs):
            pt_b = 8 if i == 1 else 0
            a.sendto(struct.pack("!BBHII", 0x80, 0, k, 160 * k, 0x100 + i) + b"\xd5" * 160, ("127.0.0.1", pa))
            b.sendto(struct.pack("!BBHII", 0x80, pt_b, k, 160 * k, 0x200 + i) + b"\xd5" * 160, ("127.0.0.1", pb))
            for j, s in enumerate((a, b)):
                try:
                    while True:
                        s.recv(2048)
                        got[i][j] += 1
                except BlockingIOError:
                    pass
        k += 1
        time.sleep(0.02)
    return got


def main():
    root = tempfile.mkdtemp(prefix="crash-rec-")
    ng_port = None
    port_min = free_range(2 * PAIRS)
    args = ["--set", f"recording.dir={root}", "--set", "recording.fsync_ms=200",
            "--set", f"interface.default.port_min={port_min}",
            "--set", f"interface.default.port_max={port_min + 2 * PAIRS - 1}"]
    d = Daemon(*args)
    ng_port = d.port
    legs, ports, files = calls(d, "before", record_first=True)
    got = talk(legs, 2.0)
    check(all(x > 50 for g in got for x in g), f"before: media flows on every call: {got}")
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    killed = time.time()
    check(files and all(os.path.exists(f + ".part") for f in files), f"after kill -9 the recording is .part: {files}")
    for a, b, _, _ in legs:
        a.close()
        b.close()

    # the same ng port and port range, at once
    import medius_test
    orig = medius_test.free_port
    medius_test.free_port = lambda *a, **k: ng_port
    try:
        d2 = Daemon(*args)
    except RuntimeError as e:
        check(False, f"the restart on the same ng port starts: {e}")
        finish()
    finally:
        medius_test.free_port = orig
    with d2:
        check(d2.port == ng_port, f"the restart serves ng on the same port {ng_port} "
              f"({time.time() - killed:.1f} s after the kill)")
        st = ng(d2.port, command="statistics")["statistics"]["currentstatistics"]
        check(st.get("sessionstotal") == 0, f"the restart knows no call (calls do not survive it): {st}")
        q = ng(d2.port, command="query", call_id="before-0")
        check(q.get("result") == "error", f"query of a call of the killed process: {q.get('error-reason')}")
        check(files and all(os.path.exists(f) and not os.path.exists(f + ".part") for f in files),
              "the restart finalised the recording (renamed from .part)")
        side = os.path.splitext(files[0])[0] + ".json" if files else ""
        state = json.load(open(side)).get("state") if side and os.path.exists(side) else None
        check(state == "incomplete", f"its sidecar says incomplete: {state}")
        legs2, ports2, _ = calls(d2, "after")
        check(len(legs2) == CALLS and ports2 == ports,
              f"after the restart {len(legs2)} new calls take every port of the range again "
              f"({len(ports2)} RTP ports, the same as before the kill: {ports2 == ports})")
        got = talk(legs2, 1.5)
        check(all(x > 30 for g in got for x in g), f"after: media flows on every new call: {got}")
        # the range is full: a call deleted and a new one offered at once
        # needs the deleted legs' ports, which come back after a grace
        # period: the new leg waits for it rather than be refused
        refused = 0
        for i in range(10):
            ng(d2.port, command="delete", call_id=f"after-{i}" if i < CALLS else f"again-{i - CALLS}")
            o = ng(d2.port, command="offer", call_id=f"again-{i}", from_tag="a", sdp=sdp(20000 + 2 * i, 0))
            an = ng(d2.port, command="answer", call_id=f"again-{i}", from_tag="a", to_tag="b",
                    sdp=sdp(21000 + 2 * i, 0))
            refused += o.get("result") != "ok" or an.get("result") != "ok"
        check(refused == 0, f"on the full range, 10 calls each offered right after another's delete: "
              f"{refused} refused")
        for i in range(4, 10):
            ng(d2.port, command="delete", call_id=f"again-{i}")
        for a, b, _, _ in legs2:
            a.close()
            b.close()
    d.log.close()
    shutil.rmtree(root, ignore_errors=True)
    finish()


main()
