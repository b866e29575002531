"""Seeded random sequences of call operations against one mediusd:
offers, answers, deletes, queries and the DTMF commands on six calls, with
random tags, to-tags and via-branches (forks, aliases, callee re-offers),
SDP (RTP or SRTP, one or two sections, codecs that relay or transcode, hold),
codec options, flags, ptime and DTMF-security. Most fail (unknown tags,
media counts, bad modes) and that is the point: whatever the order, mediusd
must keep answering, and once every call is deleted it must hold exactly the
sockets it started with (no leaked port). ./medius sanitize runs it against
the ASan/UBSan mediusd.

Odd strings go everywhere a request has a string (call-id, tags,
via-branch, label, metadata, flags, codec and direction entries, unknown
keys, the SDP itself): 0 bytes to 64 KiB (the longest over TCP, as one UDP
datagram cannot hold them), binary bytes, control bytes, UTF-8, spaces, and
duplicate keys. An over-long or malformed identifier must be refused and
create nothing. The peers' SDP names other loopback addresses (127.0.0.x,
::1), with a=rtcp, ICE candidates and rejected sections, and after every
reply its SDP must name only medius's own address (127.0.0.1), a hold's, or
port-0 sections without an address (sdp_leaks). The idle timeout (1 s) and
delete-delays (1 s) fire during the run (it pauses now and then), and both
are checked to have.

    python3 tests/integration/test_ng_random.py [SEED [OPERATIONS]]"""
import os
import random
import re
import socket
import sys
import time

from medius_test import Daemon, bdecode, bencode, check, finish, ng, ng_request

OURS = {"127.0.0.1", "0.0.0.0", "::"}
ADDR = re.compile(r"(?<![\w.:])(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F]*:[0-9a-fA-F:]*:[0-9a-fA-F.]*)(?![\w.:])")


def is_addr(a):
    for fam in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(fam, a)
            return True
        except OSError:
            pass
    return False


def sdp_leaks(text, origin):
    """What in an SDP medius returns is not allowed: any address but ours in
    c=, a=rtcp or elsewhere (o= only with replace origin), an ICE attribute,
    or a port-0 section that still names an address, a=rtcp or a=crypto."""
    bad, rejected = [], False
    for line in text.split("\r\n"):
        if line.startswith("m="):
            rejected = re.match(r"m=\S+ 0 ", line) is not None
        if re.match(r"a=(candidate|ice-|remote-candidates|end-of-candidates)", line):
            bad.append(line)
        if rejected and re.match(r"(c=|a=rtcp:|a=crypto:)", line):
            bad.append("rejected section: " + line)
        if line.startswith("o=") and not origin:
            continue
        if line.startswith(("a=fingerprint", "a=rtpmap", "a=fmtp", "a=crypto")):
            continue  # hex pairs with colons, codec parameters, keys: no addresses
        bad += [f"{a} in {line}" for a in ADDR.findall(line) if a not in OURS and is_addr(a)]
    return bad


def odd_string(rng):
    """A string from 0 bytes to 64 KiB: binary, control bytes, UTF-8, spaces."""
    n = rng.choice([0, 1, 2, 64, 127, 128, 255, 256, 300, 1000, rng.randrange(4096), 65536, rng.randrange(65537)])
    kind = rng.randrange(6)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(min(n, 4096))) * max(1, n // 4096)
    if kind == 1:
        return ("caf\u00e9 \u65e5\u672c \U0001f600" * (n // 16 + 1)).encode()[:n]  # may end mid-character
    if kind == 2:
        return b" " * n
    if kind == 3:
        return bytes(rng.choice(b"\x00\x01\t\n\r\x1b\x7fab") for _ in range(min(n, 300)))
    if kind == 4:
        return ("x" * n).encode()
    return ("\u00e9" * (n // 2)).encode()


def benc_pairs(pairs):
    """A bencoded dictionary from (key, value) pairs, duplicates kept."""
    return b"d" + b"".join(bencode(k) + bencode(v) for k, v in pairs) + b"e"


def tcp_request(port, payload):
    """One request over the TCP ng socket; the reply dictionary."""
    cookie = b"big%x " % random.getrandbits(48)  # replies are cached by cookie
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(cookie + payload)
        buf = b""
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise RuntimeError("connection closed")
            buf += chunk
            if buf.startswith(cookie):
                try:
                    return bdecode(buf, len(cookie))[0]
                except (ValueError, IndexError):
                    continue


def peer_sdp(rng, nmed, proto, pts, extra):
    """A peer's SDP on another loopback address (or ::1), with a=rtcp, ICE,
    and sometimes rejected sections and a section-level c=."""
    ip6 = rng.random() < 0.05
    addr = "::1" if ip6 else f"127.0.0.{rng.randrange(2, 250)}"
    net = "IP6" if ip6 else "IP4"
    out = (f"v=0\r\no=- 1 1 IN {net} {addr}\r\ns=-\r\nc=IN {net} {addr}\r\nt=0 0\r\n"
           "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef01234567\r\n")
    for i in range(nmed):
        port = 0 if (i or nmed == 1) and rng.random() < 0.15 else 40000 + 2 * rng.randrange(100)
        out += f"m=audio {port} {proto} {' '.join(map(str, pts))}\r\na=ptime:20\r\n{extra}"
        if rng.random() < 0.3:
            out += f"c=IN {net} {addr}\r\n"
        if rng.random() < 0.5:
            out += f"a=rtcp:{port + 1} IN {net} {addr}\r\n"
        if rng.random() < 0.5:
            out += (f"a=candidate:1 1 UDP 2130706431 {addr} {port} typ host\r\n"
                    f"a=candidate:2 1 UDP 1694498815 127.0.0.{rng.randrange(2, 250)} {port} typ srflx "
                    f"raddr {addr} rport {port}\r\n")
    return out


# the checker itself catches each kind of leak (a peer at 127.0.0.9)
_HEAD = "v=0\r\no=- 1 1 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
check(sdp_leaks(_HEAD + "m=audio 3000 RTP/AVP 0\r\n", False) == [], "sdp_leaks: medius's own SDP passes")
for _bad, _origin in [(_HEAD + "m=audio 3000 RTP/AVP 0\r\n", True),
                      (_HEAD + "m=audio 3000 RTP/AVP 0\r\nc=IN IP4 127.0.0.9\r\n", False),
                      (_HEAD + "m=audio 3000 RTP/AVP 0\r\na=rtcp:3001 IN IP4 127.0.0.9\r\n", False),
                      (_HEAD + "m=audio 3000 RTP/AVP 0\r\na=candidate:1 1 UDP 1 127.0.0.1 3000 typ host\r\n", False),
                      (_HEAD + "m=audio 0 RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\n", False),
                      (_HEAD.replace("c=IN IP4 127.0.0.1", "c=IN IP6 ::1") + "m=audio 3000 RTP/AVP 0\r\n", False)]:
    check(sdp_leaks(_bad, _origin) != [], f"sdp_leaks catches {sdp_leaks(_bad, _origin)}")
rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
N = int(sys.argv[2]) if len(sys.argv) > 2 else 6000
OPUS = "a=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n"
ID_MAX, TAG_MAX = 255, 127
with Daemon("--set", "control.call_idle_timeout_seconds=1", tcp=True) as d:
    P = d.port
    fds = lambda: len(os.listdir(f"/proc/{d.proc.pid}/fd"))
    base = fds()
    ids = [f"c{i}" for i in range(6)]
    tags = ["A", "B1", "B2", "B3", "X"]
    vias = [None, "v1", "v2", "v3"]
    pts_choices = [(0,), (8,), (0, 8), (96,), (9,), (0, 101), (8, 96, 101), (96, 0)]
    counts, odd, leaks, sdps = {}, {"sent": 0, "refused": 0, "tcp": 0}, [], 0
    delayed, delay_fired, not_refused, not_gone = [], 0, [], []
    t0 = time.time()
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
            body = peer_sdp(rng, nmed, rng.choice(["RTP/AVP", "RTP/AVP", "RTP/SAVP"]), rng.choice(pts_choices), OPUS)
            if "SAVP" in body:
                body += "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoxMjM0" + "\r\n"
            if rng.random() < 0.2:
                body += "a=sendonly\r\n"
            args["sdp"] = body
            if rng.random() < 0.3:
                args["codec"] = rng.choice([{"transcode": ["opus"]}, {"accept": ["opus"]}, {"strip": ["PCMU"]},
                                           {"mask": ["PCMA"], "transcode": ["G722"]}, {"set": ["opus/48000/2/20000"]},
                                           {"offer": ["PCMA", "PCMU"]}, {"consume": ["opus"]}])
            if rng.random() < 0.3:
                args["flags"] = rng.sample(["strict source", "asymmetric", "block DTMF", "always transcode",
                                            "codec-transcode-PCMA", "to-tag", "frobnicate", "full rtcp attribute"],
                                           rng.randint(1, 3))
            if rng.random() < 0.2:
                args["transport-protocol"] = rng.choice(["RTP/AVP", "RTP/SAVP", "RTP/SAVPF"])
            if rng.random() < 0.1:
                args["ptime"] = rng.choice([10, 20, 30, 40, 60, 25])
            if rng.random() < 0.15:
                args["replace"] = ["origin"]
            if rng.random() < 0.05:
                args["ICE"] = "remove"
        if cmd == "delete" and rng.random() < 0.3:
            args["flags"] = rng.sample(["to-tag", "fatal"], rng.randint(1, 2))
        if cmd == "delete" and rng.random() < 0.3:
            args["delete-delay"] = 1
        if cmd in ("block DTMF",) and rng.random() < 0.5:
            args["DTMF-security"] = rng.choice(["zero", "random", "DTMF", "off", "drop", "silence"])
            args["digit"] = rng.choice(["1", "#", "x"])
        if cmd == "play DTMF":
            args["code"] = rng.choice(["1", "5", "#", "Z"])
        pairs = [(k.replace("_", "-"), x) for k, x in args.items()]
        where = None
        if rng.random() < 0.15:  # an odd string somewhere
            where = rng.choice(["call-id", "from-tag", "to-tag", "via-branch", "label", "metadata", "flags",
                                "codec", "direction", "DTMF-security", "received-from", "x-unknown", "sdp",
                                "duplicate"])
            o = odd_string(rng)
            if where == "duplicate":  # the same key twice: the first one counts
                pairs.append((rng.choice(["call-id", "from-tag", "command", "sdp"]), o))
            elif where in ("flags", "direction", "received-from"):
                pairs = [p for p in pairs if p[0] != where] + [(where, [b"IP4", o] if where == "received-from" else [o])]
            elif where == "codec":
                pairs = [p for p in pairs if p[0] != where] + [(where, {rng.choice(["strip", "accept", "transcode", "set", "offer"]): [o]})]
            else:
                pairs = [p for p in pairs if p[0] != where] + [(where, o)]
            odd["sent"] += 1
        payload = benc_pairs(pairs)
        if len(payload) > 60000:
            r = tcp_request(P, payload)
            odd["tcp"] += 1
        else:
            r = bdecode(ng_request(P, payload, timeout=5))[0]
        res = r.get("result")
        if where in ("call-id", "from-tag", "to-tag", "via-branch"):
            val = dict(pairs)[where]
            bound = ID_MAX if where == "call-id" else TAG_MAX
            try:
                text = val.decode("utf-8")
                fine = len(val) <= bound and not any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in text)
            except UnicodeDecodeError:
                fine = False
            if not fine:
                odd["refused"] += 1
                if not (res == "error" and where in r.get("error-reason", "")):
                    not_refused.append((where, len(val), r))
        counts[(cmd, res)] = counts.get((cmd, res), 0) + 1
        if "sdp" in r:
            sdps += 1
            bad = sdp_leaks(r["sdp"], "origin" in args.get("replace", []))
            if bad:
                leaks.append((i, bad, r["sdp"]))
        if cmd == "delete" and "delete-delay" in args and res == "ok" and rng.random() < 0.5:
            # follow a delayed delete on a call of its own: queryable now, gone after the delay
            did = f"dd{i}"
            if ng(P, command="offer", call_id=did, from_tag="A", sdp=peer_sdp(rng, 1, "RTP/AVP", (0,), ""))["result"] == "ok":
                ng(P, command="delete", call_id=did, delete_delay=1)
                if ng(P, command="query", call_id=did)["result"] != "ok":
                    not_gone.append(f"{did}: gone before its delete-delay")
                delayed.append((time.time() + 1.0, did))
        for due, did in [x for x in delayed if time.time() > x[0] + 1.2]:
            delayed.remove((due, did))
            if ng(P, command="query", call_id=did)["result"] == "error":
                delay_fired += 1
            else:
                not_gone.append(f"{did}: still there {time.time() - due + 1:.1f} s after a delete-delay of 1 s")
        if rng.random() < 0.002:  # a pause: idle calls end, delete-delays come due
            time.sleep(rng.uniform(0.5, 2.5))
        if d.proc.poll() is not None:
            print("DIED at", i, args)
            break
    idle_ended = ng(P, command="statistics")["statistics"]["totalstatistics"]["timeoutsessions"]
    elapsed = time.time() - t0
    print("    results:", ", ".join(f"{c} {r} {n}" for (c, r), n in sorted(counts.items())))
    print(f"    {N} operations in {elapsed:.1f} s; odd strings: {odd}; {sdps} SDP replies checked")
    check(counts.get(("offer", "ok"), 0) > N // 10 and counts.get(("answer", "ok"), 0) > N // 30,
          "the sequences exercise real calls, not only errors")
    check(not leaks, f"every SDP returned names only medius's own address ({len(leaks)} leaks; first: "
          f"{leaks[0][:2] if leaks else ''}\n{leaks[0][2] if leaks else ''})")
    check(sdps > N // 10, f"{sdps} replies carried an SDP to check")
    check(odd["sent"] > N // 10 and odd["refused"] > 0 and odd["tcp"] > 0,
          f"odd strings were sent ({odd})")
    check(not not_refused, f"every over-long or malformed identifier was refused with an error naming it "
          f"({len(not_refused)} not; first: {not_refused[:1]})")
    while delayed and time.time() < delayed[-1][0] + 1.5:
        time.sleep(0.1)
    for due, did in delayed:
        if ng(P, command="query", call_id=did)["result"] == "error":
            delay_fired += 1
        else:
            not_gone.append(f"{did}: still there after its delete-delay")
    check(delay_fired > 0 and not not_gone, f"delete-delays fired during the run ({delay_fired}; {not_gone[:3]})")
    check(d.proc.poll() is None and ng(P, command="ping")["result"] == "pong", f"alive after {N} random call operations")
    listed = ng(P, command="list", limit=1000)["calls"]
    check(all(len(c.encode()) <= ID_MAX and c in ids + [x[1] for x in delayed] for c in listed),
          f"only calls with the ids offered are listed, none cut ({listed})")
    check(idle_ended > 0, f"the idle timeout ended calls during the run ({idle_ended})")
    time.sleep(2.5)  # the idle timeout ends what is left
    check(ng(P, command="list", limit=1000)["calls"] == [], "... and, after the run, every call")
    time.sleep(0.3)
    check(fds() == base, f"every port given back ({fds()} vs {base})")
finish()
