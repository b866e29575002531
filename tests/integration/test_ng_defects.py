"""Regressions of the ng defects found by trying medius as a new user would
(its default configuration, its own ng socket):

  1. An offer whose call-id is 256 bytes or longer was accepted and stored
     under a cut id: query and delete could not find it, ten offers made ten
     calls, and the idle timeout then freed it twice (mediusd aborted). Now
     an over-long or malformed identifier gets an error and creates nothing;
     the longest accepted id works end to end, and the idle timeout ends
     calls with long ids cleanly (also under ASan: ./medius sanitize).
  2. Rejected media sections leaked addresses: an answer's port and address
     for a section the offer rejected went back to the offerer, and with
     every section rejected the offerer's c= and a=candidate lines passed
     through. Now a rejected section stays rejected with no address, and no
     SDP medius returns names a peer's address.
Also: call-ids with control bytes or invalid UTF-8 get a precise error, the
strings of an offer's SDP that the call model keeps (media type, transport,
telephone-event fmtp, the codecs it can decode) are refused when over their
field, never cut, and
a UTF-8 call-id listed by `mediusctl --wire json list` is shown again by
`mediusctl show`."""
import json
import re
import subprocess
import time

from medius_test import MEDIUSCTL, Daemon, bencode, bdecode, check, finish, ng, ng_request

OFFERER, ANSWERER = "203.0.113.10", "198.51.100.20"  # TEST-NET: never sent to (no media flows here)


def sdp(addr, sections, extra=""):
    """An SDP on addr: sections is a list of (port, extra lines)."""
    out = (f"v=0\r\no=- 1 1 IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\n"
           f"a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef0123456789\r\n{extra}")
    for port, more in sections:
        out += f"m=audio {port} RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n{more}"
    return out


def cand(addr, port):
    return f"a=candidate:1 1 UDP 2130706431 {addr} {port} typ host\r\na=candidate:2 1 UDP 1694498815 192.168.7.9 {port} typ srflx raddr {addr} rport {port}\r\n"


def peer_addresses(text, origin=False):
    """Every address-looking token of the SDP that is not medius's (127.0.0.1)
    or a hold; the o= line counts only with origin (replace origin asked:
    without it, o= passes through as rtpengine leaves it)."""
    lines = [l for l in text.split("\r\n") if origin or not l.startswith("o=")]
    return sorted({a for a in re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", "\n".join(lines))
                   if a not in ("127.0.0.1", "0.0.0.0")})


def rejected_ok(text):
    """Each port-0 section carries no c=, no candidate, no a=rtcp address."""
    for sec in re.split(r"\r\n(?=m=)", text)[1:]:
        if re.match(r"m=\S+ 0 ", sec) and re.search(r"^(c=|a=candidate|a=ice|a=rtcp:\d+ IN)", sec, re.M):
            return False
    return True


with Daemon("--set", "control.call_idle_timeout_seconds=1") as d:
    P = d.port

    # --- 1. identifier bounds ---
    long_id = "x" * 300
    errs = [ng(P, command="offer", call_id=long_id, from_tag="a", sdp=sdp(OFFERER, [(4000, "")]))
            for _ in range(10)]
    check(all(e.get("result") == "error" and "call-id is 300 bytes long" in e.get("error-reason", "")
              for e in errs), f"a 300-byte call-id is refused, ten times: {errs[0].get('error-reason')}")
    check(ng(P, command="list").get("calls") == [], "... and nothing was created")
    e = ng(P, command="offer", call_id="y" * 256, from_tag="a", sdp=sdp(OFFERER, [(4000, "")]))
    check(e.get("result") == "error" and "at most 255" in e.get("error-reason", ""),
          f"256 bytes is one too many: {e.get('error-reason')}")
    id255 = "z" * 254 + "!"
    o = ng(P, command="offer", call_id=id255, from_tag="a", sdp=sdp(OFFERER, [(4000, "")]))
    check(o.get("result") == "ok", f"a 255-byte call-id is accepted ({o.get('error-reason')})")
    q = ng(P, command="query", call_id=id255)
    check(q.get("result") == "ok" and "a" in q.get("tags", {}), "... query finds it by its whole id")
    check(ng(P, command="list").get("calls") == [id255], "... list shows it whole")
    t = ng(P, command="offer", call_id="t1", from_tag="f" * 128, sdp=sdp(OFFERER, [(4000, "")]))
    check(t.get("result") == "error" and "from-tag is 128 bytes long" in t.get("error-reason", ""),
          f"a 128-byte from-tag is refused: {t.get('error-reason')}")
    for key in ("to_tag", "via_branch"):
        t = ng(P, command="offer", call_id="t2", from_tag="a", sdp=sdp(OFFERER, [(4000, "")]), **{key: "v" * 200})
        check(t.get("result") == "error" and "200 bytes long" in t.get("error-reason", ""),
              f"a 200-byte {key.replace('_', '-')} is refused: {t.get('error-reason')}")
    t = ng(P, command="offer", call_id="t3", from_tag="a", sdp=sdp(OFFERER, [(4000, "")]), direction=["i" * 40, "x"])
    check(t.get("result") == "error" and "interface" in t.get("error-reason", "").lower(),
          f"a 40-byte interface name in direction is refused: {t.get('error-reason')}")
    for what, cid in [("a control byte", "bad\x01id"), ("a newline", "bad\nid"), ("DEL", "bad\x7fid")]:
        t = ng(P, command="offer", call_id=cid, from_tag="a", sdp=sdp(OFFERER, [(4000, "")]))
        check(t.get("result") == "error" and "control character" in t.get("error-reason", ""),
              f"a call-id with {what} gets a precise error: {t.get('error-reason')}")
    raw = bdecode(ng_request(P, b"d7:command5:offer7:call-id4:\xff\xfe\xfd\xfc8:from-tag1:a3:sdp"
                              + bencode(sdp(OFFERER, [(4000, "")])) + b"e", timeout=5))[0]
    check(raw.get("result") == "error" and "not valid UTF-8" in raw.get("error-reason", ""),
          f"a call-id of invalid UTF-8 gets a precise error: {raw.get('error-reason')}")
    for cmd in ("query", "delete"):
        e = ng(P, command=cmd, call_id=long_id)
        check(e.get("result") == "error" and "call-id is 300 bytes long" in e.get("error-reason", ""),
              f"{cmd} with the 300-byte call-id names the bound, not a missing call: {e.get('error-reason')}")
    # strings of the SDP that the call model keeps: refused when longer than their field, never cut
    base = sdp(OFFERER, [])
    for what, body, reason in [
            ("a 20-byte media type", base + "m=audioaudioaudioaudio 4000 RTP/AVP 0\r\n", "media type of 20 bytes (at most 15)"),
            ("a 41-byte transport", base + "m=audio 4000 " + "X" * 34 + "RTP/AVP 0\r\n", "transport protocol of 41 bytes (at most 31)"),
            ("a 109-byte telephone-event fmtp", sdp(OFFERER, [(4000, "")]).replace("RTP/AVP 0 8", "RTP/AVP 0 101")
             + "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 " + ",".join(map(str, range(40))) + "\r\n",
             "telephone-event fmtp of 109 bytes (at most 63)"),
            ("17 codecs medius decodes", base + "m=audio 4000 RTP/AVP " + " ".join(str(96 + i) for i in range(17)) + "\r\n"
             + "".join(f"a=rtpmap:{96 + i} PCMU/8000\r\n" for i in range(17)), "more than 16 codecs")]:
        t = ng(P, command="offer", call_id="sdp-bound", from_tag="a", sdp=body)
        check(t.get("result") == "error" and reason in t.get("error-reason", ""),
              f"an offer with {what} is refused: {t.get('error-reason')}")
    ok16 = ng(P, command="offer", call_id="sdp-16", from_tag="a",
              sdp=base + "m=audio 4000 RTP/AVP " + " ".join(str(96 + i) for i in range(16)) + "\r\n"
              + "".join(f"a=rtpmap:{96 + i} PCMU/8000\r\n" for i in range(16)))
    check(ok16.get("result") == "ok", f"... 16 of them are accepted ({ok16.get('error-reason')})")
    ng(P, command="delete", call_id="sdp-16")
    check(ng(P, command="list").get("calls") == [id255], "none of the refused offers created a call")

    # a UTF-8 call-id round-trips through mediusctl's JSON wire
    cid = "caf\u00e9-\u65e5\u672c@clinic.example"
    o = ng(P, command="offer", call_id=cid, from_tag="a", sdp=sdp(OFFERER, [(4000, "")]))
    lst = subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{P}", "--wire", "json", "--json", "list"],
                         capture_output=True, text=True, timeout=30)
    listed = json.loads(lst.stdout).get("calls", []) if lst.returncode == 0 else []
    shown = subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{P}", "--wire", "json", "show", cid],
                           capture_output=True, text=True, timeout=30)
    check(o.get("result") == "ok" and cid in listed and shown.returncode == 0 and "a" in shown.stdout,
          f"a UTF-8 call-id listed over JSON is shown again: {listed} / rc {shown.returncode} {shown.stderr.strip()}")

    # the idle timeout ends both calls (the 255-byte one too) without a crash
    time.sleep(3.5)
    check(ng(P, command="list").get("calls") == [], "the idle timeout ended the calls")
    check(ng(P, command="ping").get("result") == "pong", "mediusd is still up after the idle timeout")

    # an offer that fits one datagram but whose rewritten SDP would not: an
    # error reply (before the fix: no reply at all, and the call kept its ports)
    body = sdp(OFFERER, [(4000 + 2 * j, "") for j in range(16)])
    pad = 64900 - len(bencode({"command": "offer", "call-id": "big", "from-tag": "a", "sdp": body + "a=x:\r\n"}))
    big = ng(P, command="offer", call_id="big", from_tag="a", sdp=body + "a=x:" + "p" * pad + "\r\n")
    check(big.get("result") == "error" and "UDP" in big.get("error-reason", ""),
          f"an offer whose answer would not fit a UDP reply gets an error reply: {big.get('error-reason')}")
    check("big" not in ng(P, command="list").get("calls", []), "... and the call was not kept")

    # --- 2. rejected sections name no address ---
    o = ng(P, command="offer", call_id="rej1", from_tag="a",
           sdp=sdp(OFFERER, [(4000, cand(OFFERER, 4000)), (0, f"c=IN IP4 {OFFERER}\r\n" + cand(OFFERER, 4002))]))
    check(o.get("result") == "ok" and peer_addresses(o["sdp"]) == [] and rejected_ok(o["sdp"]),
          f"offer with a rejected section: the answerer sees no peer address ({peer_addresses(o.get('sdp', ''))})")
    check(re.search(r"^m=audio 0 ", o["sdp"], re.M) is not None, "... and the rejected section stays port 0")
    a = ng(P, command="answer", call_id="rej1", from_tag="a", to_tag="b",
           sdp=sdp(ANSWERER, [(5000, cand(ANSWERER, 5000)),
                              (5002, f"c=IN IP4 {ANSWERER}\r\na=rtcp:5003 IN IP4 {ANSWERER}\r\n" + cand(ANSWERER, 5002))]))
    secs = re.findall(r"^m=audio (\d+) ", a.get("sdp", ""), re.M)
    check(a.get("result") == "ok" and secs[1:] == ["0"] and peer_addresses(a["sdp"]) == [] and rejected_ok(a["sdp"]),
          f"answer with a port for the section the offer rejected: it stays port 0 with no address "
          f"(ports {secs}, peer addresses {peer_addresses(a.get('sdp', ''))})")
    check("stays rejected" in a.get("warning", ""), f"... with a warning: {a.get('warning')}")

    o = ng(P, command="offer", call_id="rej2", from_tag="a",
           sdp=sdp(OFFERER, [(0, cand(OFFERER, 4000)), (0, "a=candidate:9 1 UDP 1 10.1.2.3 9 typ host\r\n")]))
    check(o.get("result") == "ok" and peer_addresses(o["sdp"]) == [] and rejected_ok(o["sdp"]) and
          "candidate" not in o["sdp"] and "ice-" not in o["sdp"],
          f"every section rejected: no c=, o= or candidate of the offerer passes ({peer_addresses(o.get('sdp', ''))})")
    check(re.search(r"^c=IN IP4 127\.0\.0\.1\r$", o["sdp"], re.M) is not None,
          "... the session c= is medius's own")
    o = ng(P, command="offer", call_id="rej3", from_tag="a", replace=["origin"], sdp=sdp(OFFERER, [(0, "")]))
    check(o.get("result") == "ok" and peer_addresses(o["sdp"], origin=True) == [] and
          re.search(r"^o=.* IN IP4 127\.0\.0\.1\r$", o["sdp"], re.M) is not None,
          "with replace origin and every section rejected, o= is medius's too")
    a = ng(P, command="answer", call_id="rej2", from_tag="a", to_tag="b",
           sdp=sdp(ANSWERER, [(5000, cand(ANSWERER, 5000)), (5002, "")]))
    check(a.get("result") == "ok" and peer_addresses(a["sdp"]) == [] and rejected_ok(a["sdp"]),
          f"... and the answer to it names no answerer address ({peer_addresses(a.get('sdp', ''))})")

finish()
