"""What the recording tests share: a GStreamer tone sender, a PCMU call set
up over ng, two parties talking, waiting for senders, ffprobe."""
import json
import os
import subprocess

from medius_test import call_sdp, check, media_port, ng
from media_check import peer_port, stop

GST = os.environ.get("GST_LAUNCH", "gst-launch-1.0")
F_A, F_B = 440, 1100  # the caller's and the callee's tones


def sender(dst_port, src_port, freq, seconds, alaw=False, ssrc=0x1234):
    """A live tone as 20 ms PCMU (or PCMA) RTP from src_port to dst_port on loopback."""
    enc = "alawenc ! rtppcmapay pt=8" if alaw else "mulawenc ! rtppcmupay pt=0"
    pipe = (f"audiotestsrc is-live=true freq={freq} volume=0.5 samplesperbuffer=160 num-buffers={int(seconds * 50)} "
            f"! audio/x-raw,format=S16LE,rate=8000,channels=1 ! {enc} ssrc={ssrc} min-ptime=20000000 "
            f"max-ptime=20000000 ! udpsink host=127.0.0.1 port={dst_port} bind-address=127.0.0.1 bind-port={src_port}")
    return subprocess.Popen([GST, "-q"] + pipe.split(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def call(P, cid, pt_b=0, **offer_extra):
    """An offered and answered PCMU call: (offer reply, caller port, callee
    port, medius's port for the caller, medius's port for the callee)."""
    pa, pb = peer_port(), peer_port()
    o = ng(P, command="offer", call_id=cid, from_tag="caller", sdp=call_sdp(pa, pts=(0,)), **offer_extra)
    check(o["result"] == "ok", f"{cid}: offer: {o.get('error-reason')}")
    a = ng(P, command="answer", call_id=cid, from_tag="caller", to_tag="callee", sdp=call_sdp(pb, pts=(pt_b,)))
    check(a["result"] == "ok", f"{cid}: answer: {a.get('error-reason')}")
    return o, pa, pb, media_port(a["sdp"]), media_port(o["sdp"])


def talk(pa, pb, to_a, to_b, seconds, alaw_b=False):
    """Both parties send their tone (F_A, F_B) for seconds."""
    return [sender(to_a, pa, F_A, seconds, ssrc=0x1111), sender(to_b, pb, F_B, seconds, alaw=alaw_b, ssrc=0x2222)]


def wait_procs(ps, timeout=30):
    for p in ps:
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            stop(p)


def ffprobe(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path],
                       capture_output=True, text=True)
    return None if r.returncode else json.loads(r.stdout)
