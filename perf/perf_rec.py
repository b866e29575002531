"""What recording costs mediusd: N relayed PCMU calls (both directions at
50 packets/s, sent from this process over loopback), T seconds without
recording, then T seconds with every call recorded (stereo WAV 16 kHz),
side by side in one run. Prints mediusd's CPU time per call-second for
each phase, the ratio, and the share of the recorder threads
("medius-rec"), read from /proc. Needs the build's mediusd:
  MEDIUSD=build/control/mediusd python3 perf/perf_rec.py [N] [T]
"""
import os
import shutil
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from medius_test import Daemon, call_sdp, media_port, ng  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20
T = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
HZ = os.sysconf("SC_CLK_TCK")


def cpu(pid, name=None):
    """CPU seconds (user + system) of pid's threads (named name, or all)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if name is None or comm == name:
            total += int(fields[11]) + int(fields[12])
    return total / HZ


def send_for(streams, seconds):
    payload = bytes([0xff]) * 160
    seq, t0, k = 0, time.time(), 0
    while time.time() - t0 < seconds:
        for s, port, ssrc in streams:
            s.sendto(struct.pack("!BBHII", 0x80, 0, seq & 0xffff, seq * 160, ssrc) + payload, ("127.0.0.1", port))
        seq += 1
        k += 1
        sleep = t0 + k * 0.02 - time.time()
        if sleep > 0:
            time.sleep(sleep)
        for s, _, _ in streams:  # keep the receive buffers empty
            try:
                while True:
                    s.recv(2048, socket.MSG_DONTWAIT)
            except BlockingIOError:
                pass


root = tempfile.mkdtemp(prefix="medius-perf-rec-")
with Daemon("--set", f"recording.dir={root}") as d:
    streams = []
    for i in range(N):
        a, b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        o = ng(d.port, command="offer", call_id=f"p{i}", from_tag="A", sdp=call_sdp(a.getsockname()[1], pts=(0,)))
        an = ng(d.port, command="answer", call_id=f"p{i}", from_tag="A", to_tag="B",
                sdp=call_sdp(b.getsockname()[1], pts=(0,)))
        streams += [(a, media_port(an["sdp"]), 0x1000 + i), (b, media_port(o["sdp"]), 0x2000 + i)]
    pid = d.proc.pid
    res = {}
    for phase in ("relayed", "recorded"):
        if phase == "recorded":
            for i in range(N):
                ng(d.port, command="start recording", call_id=f"p{i}")
        send_for(streams, 1.0)  # settle
        c0, r0 = cpu(pid), cpu(pid, "medius-rec")
        send_for(streams, T)
        c1, r1 = cpu(pid), cpu(pid, "medius-rec")
        res[phase] = ((c1 - c0) / (N * T) * 1000, (r1 - r0) / (N * T) * 1000)
    ov = sum(ng(d.port, command="query", call_id=f"p{i}")["recording"]["overruns"][c] for i in range(N) for c in (0, 1))
    for i in range(N):
        ng(d.port, command="delete", call_id=f"p{i}")
print(f"{N} calls, {T:.0f} s per phase; mediusd CPU per call-second:")
print(f"  relayed only:  {res['relayed'][0]:.2f} ms")
print(f"  recorded:      {res['recorded'][0]:.2f} ms (recorder threads {res['recorded'][1]:.2f} ms)")
print(f"  ratio recorded/relayed: {res['recorded'][0] / max(res['relayed'][0], 1e-9):.2f}; ring overruns: {ov}")
shutil.rmtree(root, ignore_errors=True)
