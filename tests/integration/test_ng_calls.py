"""Calls through mediusd driven over ng: rtpengine's own client for
conformance, then real media through offer/answer'd calls (plain, RTP ->
SRTP and SRTP -> RTP with SDES keys), query/list/delete/statistics, bad
requests, ports given back, and the idle timeout."""
import base64
import os
import random
import re
import socket
import struct
import subprocess
import time

from medius_test import MEDIUSCTL, SLOW, Daemon, call_sdp as sdp, check, drain, finish, loop_sock, ng, ng_request

sock = lambda: loop_sock(1)

SRTP_TOOL = os.environ.get("SRTP_TOOL", "build/tests/srtp_tool")




def media_port(text):
    m = re.search(r"^m=audio (\d+) (\S+)", text, re.M)
    return int(m.group(1)), m.group(2)


def valid_sdp(text):
    """A strict reading of what we emit: CRLF lines x=..., v o s first, t before m."""
    lines = text.split("\r\n")
    if lines[-1] != "" or any("\n" in line for line in lines):
        return False
    lines = lines[:-1]
    if [l[:2] for l in lines[:3]] != ["v=", "o=", "s="]:
        return False
    return all(re.match(r"^[a-z]=", l) for l in lines) and any(l.startswith("m=") for l in lines)


def rtp(seq, ssrc=0x1234, payload=b"\xd5" * 160):
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, ssrc) + payload


def srtp(mode, suite_key, packets):
    r = subprocess.run([SRTP_TOOL, mode, suite_key], input="".join(p.hex() + "\n" for p in packets),
                       capture_output=True, text=True, timeout=30)
    return [bytes.fromhex(l) if not l.startswith("ERR") else None for l in r.stdout.splitlines()]






def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


# the idle timeout: 3 s, or 9 s under MEDIUS_SLOW (sanitized mediusctl runs
# between c1's media and its re-offer took over 3 s, and the call was gone)
IDLE_S = int(3 * SLOW)
with Daemon("--set", f"control.call_idle_timeout_seconds={IDLE_S}", tcp=True) as d:
    P = d.port
    base_fds = fd_count(d.proc.pid)

    # --- conformance with rtpengine's own client ---
    def client(*args):
        return subprocess.run(["rtpengine-ng-client", "--proxy-address=127.0.0.1", f"--proxy-port={P}", *args],
                              capture_output=True, text=True, timeout=30)
    r = client("--call-id=rc1", "--from-tag=a", f"--sdp={sdp(40000)}", "offer")
    new = r.stdout.split("New SDP:")[-1]
    check(r.returncode == 0 and "m=audio 3" in new and "a=rtcp:3" in new,
          f"rtpengine-ng-client offer: the SDP now points at medius ({r.stderr.strip()[:100]})")
    r = client("--call-id=rc1", "--from-tag=a", "--to-tag=b", f"--sdp={sdp(40010)}", "answer")
    check(r.returncode == 0 and "New SDP" in r.stdout, "rtpengine-ng-client answer")
    r = client("--call-id=rc1", "query")
    check(r.returncode == 0 and "totals" in r.stdout and "'local port'" in r.stdout, "rtpengine-ng-client query")
    r = client("--call-id=rc1", "delete")
    check(r.returncode == 0 and "totals" in r.stdout, "rtpengine-ng-client delete")
    r = client("--call-id=rc1", "query")
    check(r.returncode != 0 and "Unknown call-id" in r.stderr, "a deleted call is gone")

    # the same client through SRTP, SRTP<->RTP and transcoding calls; every
    # SDP medius writes must be valid and parse back (as a fresh offer)
    def new_sdp(r):
        m = re.search(r"New SDP:\n-[-8<]*\n(.*?)\n-[->8]*\n", r.stdout, re.S)
        return m.group(1).replace("\n", "\r\n") if m else ""  # text mode read \r\n as \n
    key = lambda: base64.b64encode(os.urandom(30)).decode()
    crypto = lambda: f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key()}\r\n"
    g722 = "a=rtpmap:9 G722/8000\r\n"
    opus = "a=rtpmap:96 opus/48000/2\r\n"
    cases = [
        # name, offer SDP, offer options, answer SDP, what the answerer is offered, what the offerer is answered
        ("RTP to SRTP", sdp(40100), ["--protocol=RTP/SAVP"], sdp(40110, "RTP/SAVP", (0,), crypto()),
         r"m=audio \d+ RTP/SAVP 0 8\r\n(.*\r\n)*a=crypto:1 AES_CM_128_HMAC_SHA1_80", r"m=audio \d+ RTP/AVP 0\r\n"),
        ("SRTP to RTP", sdp(40120, "RTP/SAVP", (0,), crypto()), ["--protocol=RTP/AVP"], sdp(40130, pts=(0,)),
         r"m=audio \d+ RTP/AVP 0\r\n", r"m=audio \d+ RTP/SAVP 0\r\n(.*\r\n)*a=crypto:1 "),
        ("SRTP both sides", sdp(40140, "RTP/SAVP", (0,), crypto()), [], sdp(40150, "RTP/SAVP", (0,), crypto()),
         r"m=audio \d+ RTP/SAVP 0\r\n(.*\r\n)*a=crypto:1 ", r"m=audio \d+ RTP/SAVP 0\r\n(.*\r\n)*a=crypto:1 "),
        ("PCMU to Opus", sdp(40160, pts=(0,)), ["--codec-transcode=opus"], sdp(40170, pts=(96,), extra=opus),
         r"m=audio \d+ RTP/AVP 0 96\r\n(.*\r\n)*a=rtpmap:96 opus/48000/2", r"m=audio \d+ RTP/AVP 0\r\n"),
        ("Opus to PCMU (flag form)", sdp(40180, pts=(96,), extra=opus), ["--codec-transcode=PCMU", "--codec-options-flat"],
         sdp(40190, pts=(0,)), r"m=audio \d+ RTP/AVP 96 0\r\n", r"m=audio \d+ RTP/AVP 96\r\n(.*\r\n)*a=rtpmap:96 opus"),
        ("G722 to PCMA", sdp(40200, pts=(9,), extra=g722), ["--codec-transcode=PCMA"], sdp(40210, pts=(8,)),
         r"m=audio \d+ RTP/AVP 9 8\r\n", r"m=audio \d+ RTP/AVP 9\r\n"),
        ("PCMA to G722", sdp(40220, pts=(8,)), ["--codec-transcode=G722"], sdp(40230, pts=(9,), extra=g722),
         r"m=audio \d+ RTP/AVP 8 9\r\n", r"m=audio \d+ RTP/AVP 8\r\n"),
    ]
    for n, (name, off, opts, ans, want_b, want_a) in enumerate(cases):
        cid = f"rc-{n}"
        r1 = client(f"--call-id={cid}", "--from-tag=a", f"--sdp={off}", *opts, "offer")
        r2 = client(f"--call-id={cid}", "--from-tag=a", "--to-tag=b", f"--sdp={ans}", "answer")
        s1, s2 = new_sdp(r1), new_sdp(r2)
        check(r1.returncode == 0 and r2.returncode == 0 and re.search(want_b, s1) and re.search(want_a, s2),
              f"rtpengine-ng-client {name}: offer and answer rewritten as expected ({r1.stderr.strip()[:80]}"
              f"{r2.stderr.strip()[:80]})\n{s1}\n{s2}")
        back = [ng(P, command="offer", call_id=f"{cid}-back{i}", from_tag="x", sdp=t) for i, t in enumerate((s1, s2))]
        check(valid_sdp(s1) and valid_sdp(s2) and all(b["result"] == "ok" for b in back),
              f"rtpengine-ng-client {name}: both SDPs are well-formed and parse back in medius")
        for i in range(2):
            ng(P, command="delete", call_id=f"{cid}-back{i}")
        q = client(f"--call-id={cid}", "query")
        xc = name[0] in "POG"  # the codec cases
        check(q.returncode == 0 and "tags =>" in q.stdout and ("transcoded =>" in q.stdout) == xc,
              f"rtpengine-ng-client {name}: query ({'transcoded' if xc else 'relayed'})")
        if n % 2:
            r = client(f"--call-id={cid}", "delete")
            check(r.returncode == 0 and "totals" in r.stdout, f"rtpengine-ng-client {name}: delete")
        else:
            r = subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{P}", "delete", cid], capture_output=True, text=True, timeout=30)
            check(r.returncode == 0 and ng(P, command="query", call_id=cid)["result"] == "error",
                  f"mediusctl delete {name}: the call is gone")

    # --- a plain call with media both ways ---
    a, b = sock(), sock()
    o = ng(P, command="offer", call_id="c1", from_tag="A", sdp=sdp(a.getsockname()[1]), flags=["frobnicate"])
    check(o["result"] == "ok" and valid_sdp(o["sdp"]), "offer: ok, and the SDP is well-formed")
    check("Unknown flag" in o.get("warning", "") and "frobnicate" in o["warning"],
          f"offer: an unknown flag is ignored with a warning: {o.get('warning')!r}")
    to_b, _ = media_port(o["sdp"])
    an = ng(P, command="answer", call_id="c1", from_tag="A", to_tag="B", sdp=sdp(b.getsockname()[1]))
    check(an["result"] == "ok" and valid_sdp(an["sdp"]), "answer: ok, and the SDP is well-formed")
    to_a, _ = media_port(an["sdp"])
    for i in range(20):
        a.sendto(rtp(i), ("127.0.0.1", to_a))
        b.sendto(rtp(i, 0x5678), ("127.0.0.1", to_b))
    got_b, got_a = drain(b), drain(a)
    check(len(got_b) == 20 and len(got_a) == 20 and got_b[0] == rtp(0),
          f"media flows both ways through the call: {len(got_b)} and {len(got_a)} of 20")
    q = ng(P, command="query", call_id="c1")
    streams = [s for t in q["tags"].values() for m in t["medias"] for s in m["streams"]]
    check(sorted(s["stats"]["packets"] for s in streams) == [20, 20] and q["totals"]["RTP"]["packets"] == 40,
          f"query: 20 packets each way, 40 in total ({q['totals']['RTP']})")
    check(all(float(s["MOS"]) > 4.0 for s in streams), f"query: an estimated MOS per stream {[s['MOS'] for s in streams]}")
    lst = ng(P, command="list")
    check("c1" in lst["calls"], "list shows the call")
    ctl = lambda *a: subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{P}", *a], capture_output=True, text=True, timeout=30)
    out = ctl("list").stdout
    check(re.search(r"^c1\s+\d+\s+2\s+40\s+4\.\d\d$", out, re.M) is not None, f"mediusctl list: a row for c1:\n{out}")
    out = ctl("show", "c1").stdout
    check(out.count("RTP/AVP") == 2 and re.search(r"^\s+A\s+1\s+RTP/AVP\s+\d+\s+127\.0\.0\.1:%d\s+20\s" % a.getsockname()[1], out, re.M),
          f"mediusctl show: one row per leg with the latched peer:\n{out}")
    out = ctl("--json", "show", "c1").stdout
    check(out.lstrip().startswith("{") and '"totals"' in out, "mediusctl --json show prints the reply as JSON")
    out = ctl("stats").stdout
    check(re.search(r"^sessionsown\s+\d+$", out, re.M) is not None, "mediusctl stats prints the counters")
    r = ctl("show", "no-such-call")
    check(r.returncode == 1 and "Unknown call-id" in r.stderr, "mediusctl show of an unknown call: exit 1 with the reason")
    # the rewritten SDP parses back in medius
    o2 = ng(P, command="offer", call_id="c1-again", from_tag="X", sdp=o["sdp"])
    check(o2["result"] == "ok", "medius's own output SDP is accepted as an offer")
    ng(P, command="delete", call_id="c1-again")
    # a re-INVITE from the answerer: hold, from a new address; then the offerer's answer
    b2 = sock()
    ro = ng(P, command="offer", call_id="c1", from_tag="B", to_tag="A",
            sdp=sdp(b2.getsockname()[1], extra="a=sendonly\r\n"))
    check(ro["result"] == "ok" and media_port(ro["sdp"])[0] == to_a and "a=sendonly" in ro["sdp"],
          "a re-offer from the answerer: the SDP for A keeps A's medius port and B's direction")
    ra = ng(P, command="answer", call_id="c1", from_tag="B", to_tag="A",
            sdp=sdp(a.getsockname()[1], extra="a=recvonly\r\n"))
    check(ra["result"] == "ok" and media_port(ra["sdp"])[0] == to_b and "a=recvonly" in ra["sdp"],
          "... and A's answer: the SDP for B keeps B's medius port")
    for i in range(5):
        b2.sendto(rtp(100 + i, 0x5678), ("127.0.0.1", to_b))
        a.sendto(rtp(200 + i), ("127.0.0.1", to_a))
    got_a, got_b2, got_b = drain(a), drain(b2), drain(b)
    check(len(got_a) == 5 and len(got_b2) == 5 and not got_b,
          f"after the re-INVITE, media flows to and from B's new address ({len(got_a)}, {len(got_b2)}, old {len(got_b)})")
    bad = ng(P, command="offer", call_id="c1", from_tag="C", sdp=sdp(40000))
    check(bad["result"] == "error" and "Unknown from-tag" in bad["error-reason"],
          f"an offer from a third tag is an error: {bad.get('error-reason')}")
    dl = ng(P, command="delete", call_id="c1")
    check(dl["result"] == "ok" and dl["totals"]["RTP"]["packets"] == 50, "delete returns the call's statistics")

    # --- "SIP source address": the SDP's address is not trusted, received-from is ---
    for sip_source in (True, False):
        a, b = sock(), sock()
        untrusted = sdp(a.getsockname()[1]).replace("127.0.0.1", "192.0.2.1")  # TEST-NET: never sent to
        flags = ["strict source"] + (["SIP source address"] if sip_source else [])
        o = ng(P, command="offer", call_id="sipsrc", from_tag="A", sdp=untrusted, flags=flags,
               **{"received-from": ["IP4", "127.0.0.1"]})
        an = ng(P, command="answer", call_id="sipsrc", from_tag="A", to_tag="B", sdp=sdp(b.getsockname()[1]),
                flags=flags, **{"received-from": ["IP4", "127.0.0.1"]})
        to_b, to_a = media_port(o["sdp"])[0], media_port(an["sdp"])[0]
        for i in range(5):
            a.sendto(rtp(i), ("127.0.0.1", to_a))
        got_b = drain(b)
        if sip_source:
            for i in range(5):
                b.sendto(rtp(i, 0x5678), ("127.0.0.1", to_b))
            got_a = drain(a)
            check(len(got_b) == 5 and len(got_a) == 5,
                  f"SIP source address: media from and to received-from's address, not the SDP's "
                  f"({len(got_b)} and {len(got_a)} of 5)")
        else:
            check(not got_b, "without it (the control), the SDP's 192.0.2.1 is trusted: strict source drops "
                  f"127.0.0.1's packets ({len(got_b)} relayed)")
        ng(P, command="delete", call_id="sipsrc")

    # --- block DTMF / unblock DTMF ---
    a, b = sock(), sock()
    te = "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
    o = ng(P, command="offer", call_id="dtmf", from_tag="A", sdp=sdp(a.getsockname()[1], pts=(0, 101), extra=te))
    an = ng(P, command="answer", call_id="dtmf", from_tag="A", to_tag="B", sdp=sdp(b.getsockname()[1], pts=(0, 101), extra=te))
    to_a = media_port(an["sdp"])[0]
    event = lambda seq: struct.pack("!BBHIIBBH", 0x80, 101, seq, 8000, 0x1234, 5, 10, 160)

    def send_mix(base):
        a.sendto(rtp(base), ("127.0.0.1", to_a))
        a.sendto(event(base + 1), ("127.0.0.1", to_a))
        a.sendto(rtp(base + 2), ("127.0.0.1", to_a))
        return [p[1] & 0x7f for p in drain(b)]
    check(send_mix(1) == [0, 101, 0], "before blocking, DTMF events are relayed")
    check(ng(P, command="block DTMF", call_id="dtmf", from_tag="A")["result"] == "ok", "block DTMF from A")
    check(send_mix(4) == [0, 0], "while blocked, A's DTMF events stop and its audio flows")
    ng(P, command="unblock DTMF", call_id="dtmf")
    check(send_mix(7) == [0, 101, 0], "after unblock DTMF, events flow again")
    q = ng(P, command="query", call_id="dtmf")
    check(q["tags"]["A"]["medias"][0]["streams"][0]["DTMF blocked"] == 1, "query counts the blocked event")
    # play DTMF: an event as if A had sent it, riding on A's media towards B
    pd = ng(P, command="play DTMF", call_id="dtmf", from_tag="A", code="5", duration=100)
    check(pd["result"] == "ok", f"play DTMF: {pd.get('error-reason', 'ok')}")
    busy = ng(P, command="play DTMF", call_id="dtmf", from_tag="A", code="6")
    check(busy["result"] == "error" and "still playing" in busy["error-reason"], "a second event waits for the first")
    for i in range(8):
        a.sendto(rtp(20 + i), ("127.0.0.1", to_a))  # ts = seq * 160
        time.sleep(0.01)
    got = drain(b)
    te = [x for x in got if x[1] & 0x7f == 101]
    seqs = [struct.unpack("!H", x[2:4])[0] for x in got]
    durs = [struct.unpack("!H", x[14:16])[0] for x in te]
    check(len(got) == 16 and len(te) == 8 and seqs == list(range(seqs[0], seqs[0] + 16)),
          f"8 media and 8 event packets reach B in one sequence ({len(got)} packets)")
    check(te[0][1] & 0x80 and not any(x[1] & 0x80 for x in te[1:]) and te[0][12] == 5 and
          all(struct.unpack("!II", x[4:12]) == (3200, 0x1234) for x in te),
          "the event: marker first, digit 5, A's SSRC, its start timestamp")
    check(durs == [0, 160, 320, 480, 640, 800, 800, 800] and [x[13] >> 7 for x in te] == [0] * 5 + [1] * 3,
          f"durations grow to 100 ms, then three end packets: {durs}")
    bad = ng(P, command="play DTMF", call_id="dtmf", from_tag="A", code="X")
    check(bad["result"] == "error" and "code" in bad["error-reason"], "play DTMF with a bad code is an error")
    ng(P, command="delete", call_id="dtmf")

    # --- RTP from A, SRTP towards B (transport-protocol RTP/SAVP) ---
    a, b = sock(), sock()
    o = ng(P, command="offer", call_id="c2", from_tag="A", sdp=sdp(a.getsockname()[1]), **{"transport-protocol": "RTP/SAVP"})
    to_b, proto = media_port(o["sdp"])
    cryptos = re.findall(r"a=crypto:(\d+) (\S+) inline:(\S+)", o["sdp"])
    check(proto == "RTP/SAVP" and len(cryptos) == 2, f"offer to B: RTP/SAVP with {len(cryptos)} crypto lines")
    bkey = base64.b64encode(os.urandom(30)).decode()
    ans = sdp(b.getsockname()[1], "RTP/SAVP", (0,), f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{bkey}\r\n")
    an = ng(P, command="answer", call_id="c2", from_tag="A", to_tag="B", sdp=ans)
    to_a, proto_a = media_port(an["sdp"])
    check(an["result"] == "ok" and proto_a == "RTP/AVP" and "a=crypto" not in an["sdp"],
          "answer to A: plain RTP/AVP, no keys")
    ours = f"{cryptos[0][1]}:{cryptos[0][2].split('|')[0]}"
    for i in range(10):
        a.sendto(rtp(i), ("127.0.0.1", to_a))
    enc = drain(b)
    dec = srtp("unprotect", ours, enc)
    check(len(enc) == 10 and all(len(p) == 182 for p in enc) and dec == [rtp(i) for i in range(10)],
          f"A's RTP reaches B as SRTP under the offered key: {len(enc)} packets decrypt to the originals")
    for p in srtp("protect", f"AES_CM_128_HMAC_SHA1_80:{bkey}", [rtp(i, 0x9999) for i in range(10)]):
        b.sendto(p, ("127.0.0.1", to_b))
    plain = drain(a)
    check(plain == [rtp(i, 0x9999) for i in range(10)], f"B's SRTP reaches A decrypted: {len(plain)} of 10")
    ng(P, command="delete", call_id="c2")

    # --- SRTP from A, plain towards B ---
    a, b = sock(), sock()
    akey = base64.b64encode(os.urandom(30)).decode()
    off = sdp(a.getsockname()[1], "RTP/SAVP", (0,), f"a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:{akey}\r\n")
    o = ng(P, command="offer", call_id="c3", from_tag="A", sdp=off, **{"transport-protocol": "RTP/AVP"})
    to_b, proto = media_port(o["sdp"])
    check(proto == "RTP/AVP" and "a=crypto" not in o["sdp"], "offer to B: plain RTP, the keys removed")
    an = ng(P, command="answer", call_id="c3", from_tag="A", to_tag="B", sdp=sdp(b.getsockname()[1], pts=(0,)))
    to_a, proto_a = media_port(an["sdp"])
    mk = re.search(r"a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:(\S+)", an["sdp"])
    check(proto_a == "RTP/SAVP" and mk, "answer to A: RTP/SAVP with our key under A's tag 7")
    for p in srtp("protect", f"AES_CM_128_HMAC_SHA1_80:{akey}", [rtp(i) for i in range(10)]):
        a.sendto(p, ("127.0.0.1", to_a))
    got = drain(b)
    check(got == [rtp(i) for i in range(10)], f"A's SRTP reaches B as plain RTP: {len(got)} of 10")
    for i in range(10):
        b.sendto(rtp(i, 0x4242), ("127.0.0.1", to_b))
    dec = srtp("unprotect", f"AES_CM_128_HMAC_SHA1_80:{mk.group(1).split('|')[0]}", drain(a))
    check(dec == [rtp(i, 0x4242) for i in range(10)], "B's RTP reaches A encrypted with the answered key")
    ng(P, command="delete", call_id="c3")

    # --- SRTP with an MKI (RFC 4568 |MKI:LEN) from A, plain towards B: libsrtp
    # (srtp_tool) tags A's packets with MKI 5 in 2 bytes; the answer to A
    # carries our key with a 2-byte MKI, and B's RTP reaches A tagged with it ---
    a, b = sock(), sock()
    akey = base64.b64encode(os.urandom(30)).decode()
    off = sdp(a.getsockname()[1], "RTP/SAVP", (0,), f"a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:{akey}|2^20|5:2\r\n")
    o = ng(P, command="offer", call_id="c4", from_tag="A", sdp=off, **{"transport-protocol": "RTP/AVP"})
    to_b, proto = media_port(o["sdp"])
    check(o["result"] == "ok" and proto == "RTP/AVP", "an offer whose key has an MKI is taken")
    an = ng(P, command="answer", call_id="c4", from_tag="A", to_tag="B", sdp=sdp(b.getsockname()[1], pts=(0,)))
    to_a, proto_a = media_port(an["sdp"])
    mk = re.search(r"a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)\|1:2\r\n", an["sdp"])
    check(proto_a == "RTP/SAVP" and mk, "answer to A: our key with an MKI of the offer's length (|1:2)")
    sent = srtp("protect", f"AES_CM_128_HMAC_SHA1_80:{akey}|2^20|5:2", [rtp(i) for i in range(10)])
    check(all(len(p) == 184 and p[-12:-10] == b"\x00\x05" for p in sent), "srtp_tool's packets carry MKI 00 05")
    for p in sent:
        a.sendto(p, ("127.0.0.1", to_a))
    got = drain(b)
    check(got == [rtp(i) for i in range(10)], f"A's SRTP with an MKI reaches B as plain RTP: {len(got)} of 10")
    wrong = srtp("protect", f"AES_CM_128_HMAC_SHA1_80:{akey}|2^20|6:2", [rtp(i, 0x5151) for i in range(3)])
    for p in wrong:
        a.sendto(p, ("127.0.0.1", to_a))
    check(drain(b) == [], "packets with another MKI are dropped")
    for i in range(10):
        b.sendto(rtp(i, 0x4343), ("127.0.0.1", to_b))
    enc = drain(a)
    check(len(enc) == 10 and all(len(p) == 184 and p[-12:-10] == b"\x00\x01" for p in enc),
          f"B's RTP reaches A as SRTP tagged with MKI 00 01 ({len(enc)} packets)")
    dec = srtp("unprotect", f"AES_CM_128_HMAC_SHA1_80:{mk.group(1) if mk else ''}|1:2", enc)
    check(dec == [rtp(i, 0x4343) for i in range(10)], "libsrtp with the answered key and MKI decrypts them")
    ng(P, command="delete", call_id="c4")

    # --- bad requests: each an error reply, nothing leaked ---
    errs = {
        "broken SDP": dict(command="offer", call_id="e1", from_tag="A", sdp="v=0\r\nm=audio x RTP/AVP 0\r\n"),
        "no call-id": dict(command="offer", from_tag="A", sdp=sdp(40000)),
        "no from-tag": dict(command="offer", call_id="e2", sdp=sdp(40000)),
        "answer for an unknown call": dict(command="answer", call_id="nope", from_tag="A", to_tag="B", sdp=sdp(40000)),
        "transcoding to a codec medius lacks": dict(command="offer", call_id="e3", from_tag="A", sdp=sdp(40000),
                                                    codec={"transcode": ["GSM"]}),
        "recording": dict(command="start recording", call_id="x"),
        "block DTMF on an unknown call": dict(command="block DTMF", call_id="nope"),
    }
    for what, cmd in errs.items():
        rep = ng(P, **cmd)
        check(rep["result"] == "error" and rep.get("error-reason"), f"{what}: error '{rep.get('error-reason')}'")
    r1 = ng_request(P, b"d7:command4:pinge", cookie="dup-cookie")
    r2 = ng_request(P, b"d7:command5:offer7:call-id2:zze", cookie="dup-cookie")
    check(r1 == r2, "a duplicate cookie gets the first reply again, not a second execution")
    # 1 MB requests: a UDP datagram cannot carry one (the kernel refuses to
    # send it); over TCP it gets an error reply and the connection closes
    big = b"t1 d7:command5:offer3:sdp" + b"%d:" % (1 << 20) + b"x" * (1 << 20) + b"e"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.sendto(big, ("127.0.0.1", P))
        sent = "sent"
    except OSError as e:
        sent = f"refused by the kernel ({e.errno})"
    with socket.create_connection(("127.0.0.1", P), timeout=5) as t:
        try:
            t.sendall(big)
        except OSError:
            pass
        reply = b""
        try:
            while True:
                chunk = t.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except OSError:
            pass
    check(b"Request too large" in reply, f"a 1 MB request over TCP gets an error reply: {reply[:80]!r}")
    rng = random.Random(5)
    for i in range(10000):
        kind = i % 4
        if kind == 0:
            body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
        elif kind == 1:
            body = b"d7:command5:offer7:call-id%d:r%de" % (len(str(i)) + 1, i)
        elif kind == 2:
            body = b"d7:command6:answer7:call-id1:z3:sdp" + b"%d:" % 40 + bytes(rng.randrange(256) for _ in range(40)) + b"e"
        else:
            body = b"d7:command5:offer7:call-id2:rr8:from-tag1:a3:sdp%d:%se" % (len(sdp(1)), sdp(1).encode()[:-rng.randint(1, 30)] + b"x" * 0)
        s.sendto(b"r%d " % i + body, ("127.0.0.1", P))
        if i % 500 == 499:
            time.sleep(0.02)
    time.sleep(0.5)
    check(d.proc.poll() is None and ng(P, command="ping")["result"] == "pong",
          f"10,000 random requests and a 1 MB datagram ({sent}): mediusd still answers")
    for cid in ng(P, command="list", limit=100000)["calls"]:
        ng(P, command="delete", call_id=cid)
    end = time.time() + 3  # sockets close on mediusd's 1 s timer at the latest (dp_workers_reclaim)
    while fd_count(d.proc.pid) != base_fds and time.time() < end:
        time.sleep(0.1)
    check(fd_count(d.proc.pid) == base_fds,
          f"every port was given back within 3 s: {fd_count(d.proc.pid)} fds, {base_fds} at start")

    # --- idle timeout ---
    ng(P, command="offer", call_id="idle", from_tag="A", sdp=sdp(40000))
    time.sleep(IDLE_S + 2)
    q = ng(P, command="query", call_id="idle")
    check(q["result"] == "error", f"a call without media ends after the idle timeout ({IDLE_S} s)")
    check(f"call idle: no media for {IDLE_S} s" in d.log_text(), "... with a log line")
    st = ng(P, command="statistics")
    check(st["statistics"]["totalstatistics"]["timeoutsessions"] >= 1, f"statistics: {st['statistics']}")
finish()
