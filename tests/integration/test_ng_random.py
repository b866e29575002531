"""Seeded random sequences of call operations against one mediusd:
offers, answers, deletes, queries and the DTMF commands on six calls, with
random tags, to-tags and via-branches (forks, aliases, callee re-offers),
SDP (RTP or SRTP, one or two sections, codecs that relay or transcode, hold),
codec options, flags, ptime and DTMF-security. Most fail (unknown tags,
media counts, bad modes) and that is the point: whatever the order, mediusd
must keep answering, and once every call is deleted it must hold exactly the
sockets it started with (no leaked port). ./medius sanitize runs it against
the ASan/UBSan mediusd.

    python3 tests/integration/test_ng_random.py [SEED [OPERATIONS]]"""
import os
import random
import sys
import time

from medius_test import Daemon, call_sdp, check, finish, ng

rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
N = int(sys.argv[2]) if len(sys.argv) > 2 else 6000
OPUS = "a=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n"
with Daemon() as d:
    P = d.port
    fds = lambda: len(os.listdir(f"/proc/{d.proc.pid}/fd"))
    base = fds()
    ids = [f"c{i}" for i in range(6)]
    tags = ["A", "B1", "B2", "B3", "X"]
    vias = [None, "v1", "v2", "v3"]
    pts_choices = [(0,), (8,), (0, 8), (96,), (9,), (0, 101), (8, 96, 101), (96, 0)]
    counts = {}
    for i in range(N):
        cmd = rng.choice(["offer", "offer", "answer", "answer", "delete", "query", "block DTMF", "play DTMF", "unblock DTMF"])
        args = dict(command=cmd, call_id=rng.choice(ids))
        if rng.random() < 0.95:
            args["from_tag"] = "A" if rng.random() < 0.75 else rng.choice(tags)
        if rng.random() < (0.95 if cmd == "answer" else 0.4):
            args["to_tag"] = rng.choice(tags[1:])
        v = rng.choice(vias)
        if v:
            args["via_branch"] = v
        if cmd in ("offer", "answer"):
            nmed = 2 if args["call_id"] == "c5" else 1
            body = call_sdp(40000 + 2 * rng.randrange(100), rng.choice(["RTP/AVP", "RTP/AVP", "RTP/SAVP"]),
                            rng.choice(pts_choices), OPUS)
            if "SAVP" in body:
                body += "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoxMjM0" + "\r\n"
            if nmed == 2:
                body += "m=audio %d RTP/AVP 0\r\n" % (41000 + 2 * rng.randrange(100))
            if rng.random() < 0.2:
                body += "a=sendonly\r\n"
            args["sdp"] = body
            if rng.random() < 0.3:
                args["codec"] = rng.choice([{"transcode": ["opus"]}, {"accept": ["opus"]}, {"strip": ["PCMU"]},
                                           {"mask": ["PCMA"], "transcode": ["G722"]}, {"set": ["opus/48000/2/20000"]},
                                           {"offer": ["PCMA", "PCMU"]}, {"consume": ["opus"]}])
            if rng.random() < 0.3:
                args["flags"] = rng.sample(["strict source", "asymmetric", "block DTMF", "always transcode",
                                            "codec-transcode-PCMA", "to-tag", "frobnicate"], rng.randint(1, 3))
            if rng.random() < 0.2:
                args["transport-protocol"] = rng.choice(["RTP/AVP", "RTP/SAVP", "RTP/SAVPF"])
            if rng.random() < 0.1:
                args["ptime"] = rng.choice([10, 20, 30, 40, 60, 25])
        if cmd == "delete" and rng.random() < 0.3:
            args["flags"] = rng.sample(["to-tag", "fatal"], rng.randint(1, 2))
        if cmd in ("block DTMF",) and rng.random() < 0.5:
            args["DTMF-security"] = rng.choice(["zero", "random", "DTMF", "off", "drop", "silence"])
            args["digit"] = rng.choice(["1", "#", "x"])
        if cmd == "play DTMF":
            args["code"] = rng.choice(["1", "5", "#", "Z"])
        r = ng(P, **args)
        counts[(cmd, r["result"])] = counts.get((cmd, r["result"]), 0) + 1
        if d.proc.poll() is not None:
            print("DIED at", i, args)
            break
    print("    results:", ", ".join(f"{c} {r} {n}" for (c, r), n in sorted(counts.items())))
    check(counts.get(("offer", "ok"), 0) > N // 10 and counts.get(("answer", "ok"), 0) > N // 30,
          "the sequences exercise real calls, not only errors")
    check(d.proc.poll() is None and ng(P, command="ping")["result"] == "pong", f"alive after {N} random call operations")
    for cid in ng(P, command="list", limit=1000)["calls"]:
        ng(P, command="delete", call_id=cid)
    time.sleep(0.3)
    check(fds() == base, f"every port given back ({fds()} vs {base})")
finish()
