"""Media relay through the real dataplane with real peers: GStreamer sends
PCMU tones (plain RTP or SRTP via srtpenc) into one leg of a medius relay,
and GStreamer receivers (plain, or srtpdec) on the far side must decode the
tone they expect. Three relays, each carrying both directions at once:
  1. RTP  -> SRTP and SRTP -> RTP  (leg A plain, leg B SRTP)
  2. SRTP -> RTP  and RTP  -> SRTP (leg A SRTP, leg B plain)
  3. SRTP -> SRTP with other keys both ways (re-encryption)
tshark captures each receiver's port: SRTP legs must carry 182-byte
packets (12 header + 160 payload + 10 tag), plain
legs 172-byte packets whose payload, read as mu-law, is the tone in clear
(on SRTP legs the same reading gives noise). The harness's counters must
show no drops.""" 
import base64
import json
import os
import signal
import subprocess
import tempfile
import time

from media_check import check_relayed_tones, pcmu_receiver_args, pcmu_sender_args, settle, stop, wait_bound
from medius_test import check, finish, free_port

HARNESS = os.environ.get("RELAY_HARNESS", "build/tests/relay_harness")
GST = os.environ.get("GST_LAUNCH", "gst-launch-1.0")
SUITE = "AES_CM_128_HMAC_SHA1_80"
SECONDS = 1.5


def new_key():
    return os.urandom(30)


def sender(port, freq, ssrc, key=None):
    return subprocess.Popen([GST] + pcmu_sender_args("127.0.0.1", port, freq, ssrc, SECONDS, key),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def receiver(port, out, ssrc, key=None):
    return subprocess.Popen([GST] + pcmu_receiver_args("127.0.0.1", port, out, ssrc, key),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def capture(ports, path):
    filt = " or ".join(f"udp dst port {p}" for p in ports)
    p = subprocess.Popen(["tshark", "-q", "-i", "lo", "-f", filt, "-w", path],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 15
    line = ""
    while time.time() < deadline and "Capturing on" not in line:
        line = p.stderr.readline()
        if not line and p.poll() is not None:
            break
    return p


def run(name, a_srtp, b_srtp):
    """A relay whose leg A faces peer 1 and leg B faces peer 2; each peer
    both sends and receives, with SRTP where its *_srtp is true."""
    k1_send, k1_recv = (new_key(), new_key()) if a_srtp else (None, None)
    k2_send, k2_recv = (new_key(), new_key()) if b_srtp else (None, None)
    r1, r2 = free_port(), free_port()   # peer 1 receives on r1 (from A), peer 2 on r2 (from B)
    b64 = lambda k: base64.b64encode(k).decode()
    a_opts = f"remote=127.0.0.1:{r1},flags=asymmetric,clock=8000"
    b_opts = f"remote=127.0.0.1:{r2},flags=asymmetric,clock=8000"
    if a_srtp:
        a_opts += f",rx={SUITE}:{b64(k1_send)},tx={SUITE}:{b64(k1_recv)}"
    if b_srtp:
        b_opts += f",rx={SUITE}:{b64(k2_send)},tx={SUITE}:{b64(k2_recv)}"
    h = subprocess.Popen([HARNESS, "--a", a_opts, "--b", b_opts], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    ready = h.stdout.readline().split()
    ports = dict(kv.split("=") for kv in ready[1:])
    check(ready[:1] == ["READY"], f"{name}: the relay is up: {' '.join(ready)}")
    tmp = tempfile.mkdtemp(prefix="relay-")
    pcap = os.path.join(tmp, "wire.pcap")
    cap = capture([r1, r2], pcap)
    out1, out2 = os.path.join(tmp, "peer1.raw"), os.path.join(tmp, "peer2.raw")
    rx1 = receiver(r1, out1, 2222, k1_recv)   # peer 1 hears peer 2's 440 Hz
    rx2 = receiver(r2, out2, 1111, k2_recv)   # peer 2 hears peer 1's 1000 Hz
    wait_bound(rx1, r1)
    wait_bound(rx2, r2)
    tx1 = sender(int(ports["a_rtp"]), 1000, 1111, k1_send)
    tx2 = sender(int(ports["b_rtp"]), 440, 2222, k2_send)
    for tx in (tx1, tx2):
        tx.wait(timeout=30)
    settle(out1, out2)
    for rx in (rx1, rx2):
        stop(rx, signal.SIGINT)
    time.sleep(0.5)
    stop(cap, signal.SIGINT)
    out, err = stop(h, signal.SIGTERM)
    stats = json.loads(out.strip().splitlines()[-1])
    check_relayed_tones(name, "tshark", out1, out2, r1, r2, a_srtp, b_srtp, pcap, stats, SECONDS)


run("RTP<->SRTP", a_srtp=False, b_srtp=True)
run("SRTP<->RTP", a_srtp=True, b_srtp=False)
run("SRTP<->SRTP", a_srtp=True, b_srtp=True)
finish()
