#!/usr/bin/env python3
"""The call ./medius demo sets up: two local GStreamer peers talk through
mediusd over ng, the way a SIP proxy's rtpengine module would drive it.
alice speaks PCMU over plain RTP (a 440 Hz tone); bob speaks Opus over
SRTP with SDES keys (880 Hz). medius transcodes PCMU <-> Opus and bridges
RTP <-> SRTP between them. While it runs, the
call's live statistics are shown every 2 s (mediusctl show).

usage: ctl_demo.py MEDIUSCTL NG_ADDR SECONDS   (SECONDS 0: until Ctrl-C)"""
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

ctl, server, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
GST = "gst-launch-1.0"


def ng(cmd):
    r = subprocess.run([ctl, "-s", server, "ng", json.dumps(cmd)], capture_output=True, text=True, timeout=10)
    if r.returncode:
        sys.exit(f"demo: {cmd['command']} failed: {r.stderr.strip()}")
    return json.loads(r.stdout)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p if p % 2 == 0 else free_port()


def sdp(port, proto="RTP/AVP", extra="", pt=0, rtpmap="PCMU/8000"):
    return (f"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=demo\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} {proto} {pt}\r\na=rtpmap:{pt} {rtpmap}\r\na=ptime:20\r\n{extra}")


alice, bob = free_port(), free_port()
bob_key = os.urandom(30)
print(f"alice (plain RTP) listens on 127.0.0.1:{alice}, bob (SRTP) on 127.0.0.1:{bob}")
print("$ mediusctl ng '{\"command\": \"offer\", \"call-id\": \"demo-call\", \"from-tag\": \"alice\", "
      "\"transport-protocol\": \"RTP/SAVP\", \"codec\": {\"transcode\": [\"opus\"]}, "
      "\"flags\": [\"asymmetric\"], \"sdp\": <alice: PCMU>}'")
offer = ng({"command": "offer", "call-id": "demo-call", "from-tag": "alice", "sdp": sdp(alice),
            "transport-protocol": "RTP/SAVP", "codec": {"transcode": ["opus"]}, "flags": ["asymmetric"]})
to_bob = int(re.search(r"^m=audio (\d+)", offer["sdp"], re.M).group(1))
tag, suite, key = re.search(r"a=crypto:(\d+) (\S+) inline:([^|\s]+)", offer["sdp"]).groups()
opus_pt = int(re.search(r"a=rtpmap:(\d+) opus/48000/2", offer["sdp"]).group(1))
print(f"  medius offers bob RTP/SAVP on port {to_bob}: PCMU, and opus as PT {opus_pt}; key {suite} (tag {tag})")
answer_sdp = sdp(bob, "RTP/SAVP", f"a=crypto:{tag} {suite} inline:{base64.b64encode(bob_key).decode()}\r\n",
                 opus_pt, "opus/48000/2")
print("$ mediusctl ng '{\"command\": \"answer\", ..., \"sdp\": <bob: opus over SRTP>}'")
answer = ng({"command": "answer", "call-id": "demo-call", "from-tag": "alice", "to-tag": "bob", "sdp": answer_sdp})
to_alice = int(re.search(r"^m=audio (\d+)", answer["sdp"], re.M).group(1))
print(f"  medius answers alice RTP/AVP PCMU on port {to_alice} ({answer.get('warning', '')})\n")

srtp_args = "rtp-cipher=aes-128-icm rtp-auth=hmac-sha1-80 rtcp-cipher=aes-128-icm rtcp-auth=hmac-sha1-80"
profile = ("srtp-cipher=(string)aes-128-icm,srtp-auth=(string)hmac-sha1-80,"
           "srtcp-cipher=(string)aes-128-icm,srtcp-auth=(string)hmac-sha1-80")
their_key = base64.b64decode(key)
pipes = [
    # alice: talks (440 Hz) and listens
    f"audiotestsrc is-live=true freq=440 volume=0.4 ! audio/x-raw,rate=8000,channels=1 ! mulawenc "
    f"! rtppcmupay pt=0 ! udpsink host=127.0.0.1 port={to_alice}",
    f"udpsrc address=127.0.0.1 port={alice} caps=application/x-rtp,media=audio,clock-rate=8000,"
    f"encoding-name=PCMU,payload=0 ! rtppcmudepay ! mulawdec ! fakesink",
    # bob: talks (880 Hz) opus over SRTP and listens through srtpdec
    f"audiotestsrc is-live=true freq=880 volume=0.4 ! audio/x-raw,rate=48000,channels=1 ! opusenc "
    f"! rtpopuspay pt={opus_pt} ssrc=4242 ! srtpenc key={bob_key.hex()} {srtp_args} "
    f"! udpsink host=127.0.0.1 port={to_bob}",
    f"udpsrc address=127.0.0.1 port={bob} caps=application/x-srtp,media=(string)audio,clock-rate=(int)48000,"
    f"encoding-name=(string)OPUS,payload=(int){opus_pt},srtp-key=(buffer){their_key.hex()},{profile} "
    f"! srtpdec ! rtpopusdepay ! opusdec ! fakesink",
]
procs = [subprocess.Popen([GST, "-q"] + p.split(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
         for p in pipes]
stop = False


def on_signal(*_):
    global stop
    stop = True


signal.signal(signal.SIGINT, on_signal)
signal.signal(signal.SIGTERM, on_signal)
start = time.time()
try:
    while not stop and (seconds <= 0 or time.time() - start < seconds):
        time.sleep(2)
        print(time.strftime("%H:%M:%S"), end="  ")
        sys.stdout.flush()
        subprocess.run([ctl, "-s", server, "show", "demo-call"], timeout=10)
finally:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=10)
    print("\n$ mediusctl delete demo-call")
    subprocess.run([ctl, "-s", server, "delete", "demo-call"], timeout=10)
