"""Forked calls and the DTMF options over ng, with real media.

Forking: one offer, several answers. With via-branch (Kamailio's
"via-branch=1" when it forks in a branch_route) each branch gets its own
ports, and both answerers' media flows at once, each to the offerer's port
for its branch; deleting a losing branch leaves the winner alone. Without
via-branch, a second to-tag answering the same offer takes it over (the
ports are shared) and the first tag stays known as an alias.

DTMF-security: block DTMF forwards events rewritten to zero, to a chosen
digit, to a random other digit, or drops them; "off" and unblock restore
them; an unsupported mode is an error that changes nothing."""
import os
import re
import struct
import time

from medius_test import Daemon, call_sdp as sdp, check, drain, finish, loop_sock as sock, media_port, ng






def rtp(seq, ssrc, pt=0, payload=b"\xd5" * 160):
    return struct.pack("!BBHII", 0x80, pt, seq, seq * 160, ssrc) + payload






def port(s):
    return s.getsockname()[1]


def ssrcs(pkts):
    return sorted({struct.unpack("!I", p[8:12])[0] for p in pkts})


with Daemon() as d:
    P = d.port
    fds = lambda: len(os.listdir(f"/proc/{d.proc.pid}/fd"))
    base_fds = fds()

    # --- forking with via-branch: two branches, each with its own ports ---
    a, b1, b2 = sock(), sock(), sock()
    o1 = ng(P, command="offer", call_id="f1", from_tag="A", via_branch="z9hG4bK-1", sdp=sdp(port(a)))
    o2 = ng(P, command="offer", call_id="f1", from_tag="A", via_branch="z9hG4bK-2", sdp=sdp(port(a)),
            **{"transport-protocol": "RTP/AVP"})
    check(o1["result"] == "ok" and o2["result"] == "ok", "two offers for one call, one per via-branch")
    to_b1, to_b2 = media_port(o1["sdp"]), media_port(o2["sdp"])
    check(to_b1 != to_b2, f"each branch gets its own port towards its answerer ({to_b1}, {to_b2})")
    an1 = ng(P, command="answer", call_id="f1", from_tag="A", to_tag="B1", via_branch="z9hG4bK-1",
             sdp=sdp(port(b1), pts=(0,)))
    an2 = ng(P, command="answer", call_id="f1", from_tag="A", to_tag="B2", via_branch="z9hG4bK-2",
             sdp=sdp(port(b2), pts=(8,)))
    check(an1["result"] == "ok" and an2["result"] == "ok", "both branches answer (183 and 200)")
    to_a1, to_a2 = media_port(an1["sdp"]), media_port(an2["sdp"])
    check(to_a1 != to_a2 and re.search(r"^m=audio \d+ RTP/AVP 0\r", an1["sdp"], re.M) and re.search(r"^m=audio \d+ RTP/AVP 8\r", an2["sdp"], re.M),
          "each answer reaches the offerer with its branch's port and codec")
    for i in range(10):
        a.sendto(rtp(i, 0xA1), ("127.0.0.1", to_a1))
        a.sendto(rtp(i, 0xA2, pt=8), ("127.0.0.1", to_a2))
        b1.sendto(rtp(i, 0xB1), ("127.0.0.1", to_b1))
        b2.sendto(rtp(i, 0xB2, pt=8), ("127.0.0.1", to_b2))
    got_a, got_b1, got_b2 = drain(a, 20, 2), drain(b1, 10, 2), drain(b2, 10, 2)  # waits for all on a busy machine
    check(ssrcs(got_b1) == [0xA1] and len(got_b1) == 10 and ssrcs(got_b2) == [0xA2] and len(got_b2) == 10,
          f"the offerer's media reaches each answerer through its own branch ({len(got_b1)}, {len(got_b2)})")
    check(ssrcs(got_a) == [0xB1, 0xB2] and len(got_a) == 20, f"both answerers' media reaches the offerer ({len(got_a)})")
    q = ng(P, command="query", call_id="f1")
    check(q["branches"] == 2 and sorted(q["tags"]) == ["A", "B1", "B2"] and
          len(q["tags"]["A"]["medias"][0]["streams"]) == 2 and q["tags"]["B2"]["via-branch"] == "z9hG4bK-2",
          f"query: the offerer's tag has one stream per branch ({sorted(q['tags'])})")
    # a re-INVITE from the winning branch's callee (hold), in dialog with A
    ro = ng(P, command="offer", call_id="f1", from_tag="B2", to_tag="A", sdp=sdp(port(b2), pts=(8,), extra="a=sendonly\r\n"))
    check(ro["result"] == "ok" and media_port(ro["sdp"]) == to_a2, "a re-offer from B2 goes through B2's branch")
    ra = ng(P, command="answer", call_id="f1", from_tag="B2", to_tag="A", sdp=sdp(port(a), pts=(8,), extra="a=recvonly\r\n"))
    check(ra["result"] == "ok" and media_port(ra["sdp"]) == to_b2, "... and A's answer to it")
    # the losing branch is torn down alone (Kamailio: rtpengine_delete("via-branch=1") on its failure)
    dl = ng(P, command="delete", call_id="f1", from_tag="A", via_branch="z9hG4bK-1")
    check(dl["result"] == "ok" and sorted(dl["tags"]) == ["A", "B1"] and dl["totals"]["RTP"]["packets"] == 20,
          f"delete with via-branch reports and removes that branch only ({sorted(dl.get('tags', {}))})")
    q = ng(P, command="query", call_id="f1")
    check(q["result"] == "ok" and q["branches"] == 1 and sorted(q["tags"]) == ["A", "B2"], "the call goes on with B2")
    a.sendto(rtp(50, 0xA1), ("127.0.0.1", to_a1))
    a.sendto(rtp(50, 0xA2, pt=8), ("127.0.0.1", to_a2))
    b1.sendto(rtp(50, 0xB1), ("127.0.0.1", to_b1))
    check(len(drain(b2, 1, 2)) == 1 and not drain(b1) and not drain(a),
          "B1's ports are closed; A to B2 still flows")
    dl = ng(P, command="delete", call_id="f1", from_tag="A", to_tag="B2")
    check(dl["result"] == "ok" and ng(P, command="query", call_id="f1")["result"] == "error",
          "a plain delete (a BYE) ends the whole call")
    dl = ng(P, command="delete", call_id="f1", from_tag="A")
    check(dl["result"] == "ok" and "not found" in dl.get("warning", ""),
          f"deleting it again: ok with a warning, as rtpengine ({dl.get('warning')!r})")
    dl = ng(P, command="delete", call_id="f1", from_tag="A", flags=["fatal"])
    check(dl["result"] == "error", "... and an error with the fatal flag")

    # --- forking without via-branch: answers from two tags to one offer ---
    a, b1, b2 = sock(), sock(), sock()
    o = ng(P, command="offer", call_id="f2", from_tag="A", sdp=sdp(port(a)))
    to_b = media_port(o["sdp"])
    an1 = ng(P, command="answer", call_id="f2", from_tag="A", to_tag="B1", sdp=sdp(port(b1)))
    an2 = ng(P, command="answer", call_id="f2", from_tag="A", to_tag="B2", sdp=sdp(port(b2)))
    check(an1["result"] == "ok" and an2["result"] == "ok", "two to-tags answer one offer")
    to_a = media_port(an2["sdp"])
    for i in range(5):
        a.sendto(rtp(i, 0xA), ("127.0.0.1", to_a))
    check(len(drain(b2, 5, 2)) == 5 and not drain(b1), "the latest answer sets where the offerer's media goes")
    q = ng(P, command="query", call_id="f2")
    check(q["branches"] == 1 and sorted(q["tags"]) == ["A", "B2"], "one branch, now B2's")
    ro = ng(P, command="offer", call_id="f2", from_tag="B1", to_tag="A", sdp=sdp(port(b1)))
    check(ro["result"] == "ok", "the first tag is kept as an alias: a re-offer from B1 is understood")
    ng(P, command="delete", call_id="f2")

    # --- too many branches ---
    for i in range(9):
        r = ng(P, command="offer", call_id="f3", from_tag="A", via_branch=f"v{i}", sdp=sdp(40000))
    check(r["result"] == "error" and "branches" in r["error-reason"], f"a ninth branch is refused: {r.get('error-reason')}")
    ng(P, command="delete", call_id="f3")

    # --- DTMF-security ---
    a, b = sock(), sock()
    te = "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
    ng(P, command="offer", call_id="dt", from_tag="A", sdp=sdp(port(a), pts=(0, 101), extra=te))
    an = ng(P, command="answer", call_id="dt", from_tag="A", to_tag="B", sdp=sdp(port(b), pts=(0, 101), extra=te))
    to_a = media_port(an["sdp"])

    def events(base, digits):
        """One event per digit, 3 packets each (one RFC 4733 event shares a ts)."""
        seq = base
        for k, dg in enumerate(digits):
            for n in range(3):
                a.sendto(struct.pack("!BBHIIBBH", 0x80, 101, seq, 8000 * (base + k), 0x1234, dg, 10, 160 * (n + 1)),
                         ("127.0.0.1", to_a))
                seq += 1
        return [p[12] for p in drain(b) if p[1] & 0x7f == 101]

    check(events(100, [5, 7]) == [5] * 3 + [7] * 3, "events pass before blocking")
    r = ng(P, command="block DTMF", call_id="dt", from_tag="A", **{"DTMF-security": "zero"})
    check(r["result"] == "ok" and events(200, [5, 7]) == [0] * 6, "DTMF-security zero: every digit becomes 0")
    ng(P, command="block DTMF", call_id="dt", from_tag="A", **{"DTMF-security": "DTMF", "digit": "#"})
    check(events(300, [5, 7]) == [11] * 6, "DTMF-security DTMF with digit #: every digit becomes # (11)")
    ng(P, command="block DTMF", call_id="dt", from_tag="A", **{"DTMF-security": "random"})
    got = events(400, [5, 5, 5, 5])
    per_event = [got[i:i + 3] for i in range(0, len(got), 3)]
    check(len(got) == 12 and all(len(set(e)) == 1 for e in per_event) and all(e[0] != 5 and e[0] < 12 for e in per_event),
          f"DTMF-security random: each event gets one other digit, never the real one ({[e[0] for e in per_event]})")
    ng(P, command="block DTMF", call_id="dt", from_tag="A")
    check(events(500, [5]) == [], "block DTMF (drop, the default): events stop")
    bad = ng(P, command="block DTMF", call_id="dt", from_tag="A", **{"DTMF-security": "whistle"})
    check(bad["result"] == "error" and "whistle" in bad["error-reason"] and events(600, [5]) == [],
          f"an unsupported mode is an error and changes nothing: {bad.get('error-reason')!r}")
    ng(P, command="block DTMF", call_id="dt", from_tag="A", **{"DTMF-security": "off"})
    check(events(700, [9]) == [9] * 3, "DTMF-security off: events pass again")
    ng(P, command="block DTMF", call_id="dt", from_tag="B", **{"DTMF-security": "zero"})
    check(events(800, [9]) == [9] * 3, "blocking B's DTMF leaves A's alone")
    q = ng(P, command="query", call_id="dt")
    check(q["tags"]["A"]["medias"][0]["streams"][0]["DTMF blocked"] == 6 + 6 + 12 + 3 + 3,
          f"query counts every rewritten or dropped packet ({q['tags']['A']['medias'][0]['streams'][0]['DTMF blocked']})")
    ng(P, command="delete", call_id="dt")

    # --- the "block DTMF" flag in offer and answer (each side's own events) ---
    a, b = sock(), sock()
    r = ng(P, command="offer", call_id="dt2", from_tag="A", sdp=sdp(port(a), pts=(0, 101), extra=te),
           flags=["block DTMF", "detect DTMF"], **{"DTMF-security": "zero"})
    check(r["result"] == "ok" and "detect DTMF" in r.get("warning", ""),
          f"an offer with block DTMF: ok; detect DTMF gets a not-supported warning ({r.get('warning')!r})")
    an = ng(P, command="answer", call_id="dt2", from_tag="A", to_tag="B", sdp=sdp(port(b), pts=(0, 101), extra=te))
    to_a = media_port(an["sdp"])
    check(events(900, [4]) == [0] * 3, "the offerer's events are rewritten from the start of the call")
    bad = ng(P, command="offer", call_id="dt3", from_tag="A", sdp=sdp(port(a)), flags=["block DTMF"],
             **{"DTMF-security": "whistle"})
    check(bad["result"] == "error" and ng(P, command="query", call_id="dt3")["result"] == "error",
          "block DTMF with an unsupported mode: an error, and no call is created")
    ng(P, command="delete", call_id="dt2")
    # the sockets close once the worker let go and a grace period passed,
    # on mediusd's 1 s timer at the latest (dp_workers_reclaim)
    end = time.time() + 3
    while fds() != base_fds and time.time() < end:
        time.sleep(0.1)
    check(not ng(P, command="list")["calls"] and fds() == base_fds,
          f"no call left and every port given back within 3 s ({fds()} fds, {base_fds} at start)")
finish()
