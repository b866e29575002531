"""Seeded random sequences of call operations against one mediusd:
offers, answers, deletes, queries and the DTMF commands on six calls, with
random tags, to-tags and via-branches (forks, aliases, callee re-offers),
SDP (RTP or SRTP, one or two sections, codecs that relay or transcode, hold),
codec options, flags, ptime and DTMF-security. Most fail (unknown tags,
media counts, bad modes) and that is the point: whatever the order, mediusd
must answer every request (ok, or an error with a reason), and once every
call is gone it must hold exactly the sockets it started with (no leaked
port). ./medius sanitize runs it against the ASan/UBSan mediusd.

Odd values go everywhere a request has a string (call-id, tags,
via-branch, label, metadata, flags, codec and direction entries,
DTMF-security, received-from, unknown keys, the SDP itself and a line in
an otherwise valid SDP): 0 bytes to 64 KiB (up to 65,000 bytes of request
in one UDP datagram, larger over TCP), binary bytes, control bytes, UTF-8,
spaces, numbers, lists and dictionaries where a string belongs, and
duplicate keys written before or after the real one (the first counts).
An over-long (call-id over 255 bytes, a tag or via-branch over 127),
control-byte, non-UTF-8 or non-string identifier must be refused with an
error naming it, and create no call and no tag (list and query before and
after).

The peers' SDP names documentation (192.0.2/24, 198.51.100/24,
203.0.113/24, 2001:db8::/32) and private addresses (10/8, 172.16/12,
192.168/16, fd00::/8) and other loopbacks (127.0.0.x, ::1), in o= (another address than
c=), session and section c=, a=rtcp, ICE candidates (host, srflx with
raddr, relay, remote-candidates), rejected sections (port 0) and sections
an answer gives a port to although the offer rejected them. Every reply's
SDP must name only medius's own address (127.0.0.1), a hold's (0.0.0.0),
or port-0 sections without an address; no ICE attribute; o= is checked
only when replace origin was asked, and otherwise must pass through
(sdp_leaks, itself checked on each kind of leak). Now and then a call of
its own rejects some or all sections in its offer and its answer gives
each a port: those sections must stay port 0. The addresses are only
written: the test sends no media, and mediusd must have received and
relayed no packet at the end (statistics). Now and then an offer fills a
datagram (64,000 to 65,000 bytes, 2 or 16 sections): its reply may be
larger than a datagram holds, and must still come.

With a 1 s idle timeout (no media: every call ends about a second after
it is created) and delete-delays of 1 s, calls end underneath the random
operations; delayed deletes and idle calls are followed (queryable, then
gone) and the statistics' timeoutsessions must grow.

With --media, calls of its own carry media
all along (media_load: relayed PCMU calls and transcoded PCMU <-> PCMA
calls, 50 packets a second each way, loopback peers only) while the random
operations run: every packet of the relayed calls must arrive, in order;
the transcoded calls' media must keep flowing; and at the end mediusd must
have received exactly what those calls sent and sent only what their
peers received. So mediusd's media ports are a range of its own
(free_range, below the kernel's ephemeral ports): in the default range
(30000-39999, inside the ephemeral ones) another test's peer or mediusd,
running in parallel, may still send a packet to a port this one took
after them, and a CI run once counted one such packet more than the
calls sent.

    python3 tests/integration/test_ng_random.py [--media] [SEED [OPERATIONS]]"""
import os
import random
import re
import socket
import sys
import time

from media_load import MediaLoad
from medius_test import Daemon, bdecode, bencode, check, finish, free_range, ng_request

OURS = {"127.0.0.1", "0.0.0.0", "::"}
ADDR = re.compile(r"(?<![\w.:])([0-9a-fA-F]*:[0-9a-fA-F:]*:[0-9a-fA-F.]*)(?![\w.:])"  # IPv6
                  r"|(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.])")  # IPv4, also right after a colon


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
        bad += [f"{a} in {line}" for a in (x or y for x, y in ADDR.findall(line)) if a not in OURS and is_addr(a)]
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


def odd_value(rng):
    """Mostly an odd string; now and then a number, a list or a dictionary
    where a string belongs."""
    x = rng.random()
    if x < 0.92:
        return odd_string(rng)
    if x < 0.95:
        return rng.choice([0, -1, 1 << 62])
    if x < 0.98:
        return [odd_string(rng)[:300]]
    return {b"x": odd_string(rng)[:300]}


def id_fault(key, val):
    """Why mediusd must refuse val as identifier key, or None."""
    if isinstance(val, str):
        val = val.encode()
    if not isinstance(val, bytes):
        return "not a string"
    if len(val) > ID_BOUND[key]:
        return "too long"
    if any(ch < 0x20 or ch == 0x7f for ch in val):
        return "control byte"
    try:
        val.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    return None


def benc_pairs(pairs):
    """A bencoded dictionary from (key, value) pairs, duplicates kept."""
    return b"d" + b"".join(bencode(k) + bencode(v) for k, v in pairs) + b"e"


def first(pairs, key):
    """The value mediusd reads for key: the first one written."""
    return next((v for k, v in pairs if k == key), None)


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


def peer_addr(rng, ip6=False, kind=None):
    """A peer's address: documentation (TEST-NET-1/2/3, 2001:db8::/32),
    private (10/8, 172.16/12, 192.168/16, fd00::/8) or another loopback.
    Only ever written into SDP text: nothing is sent to it."""
    kind = kind or rng.choice(["testnet", "testnet", "private", "private", "loopback"])
    if ip6:
        if kind == "loopback":
            return "::1"
        pre = {"testnet": "2001:db8:", "private": "fd12:3456:"}[kind]
        return f"{pre}{rng.randrange(1, 0xffff):x}::{rng.randrange(1, 0xffff):x}"
    h = rng.randrange(1, 255)
    if kind == "testnet":
        return rng.choice(["192.0.2", "198.51.100", "203.0.113"]) + f".{h}"
    if kind == "private":
        return rng.choice([f"10.{rng.randrange(256)}.{rng.randrange(256)}",
                           f"172.{rng.randrange(16, 32)}.{rng.randrange(256)}",
                           f"192.168.{rng.randrange(256)}"]) + f".{h}"
    return f"127.0.0.{rng.randrange(2, 250)}"


def peer_sdp(rng, nmed, proto, pts, extra, rejected=None):
    """A peer's SDP on documentation or private addresses (peer_addr): o= on
    another address than c=, sometimes a hold (c= 0.0.0.0), a section-level
    c=, a=rtcp with an address, ICE (a host candidate on a private address, a
    srflx on a TEST-NET one, a relay, remote-candidates), and rejected
    sections (port 0) that still name addresses and candidates. rejected:
    the indices of the sections to reject (default: now and then)."""
    ip6 = rng.random() < 0.05
    net = "IP6" if ip6 else "IP4"
    addr = peer_addr(rng, ip6)
    conn = ("::" if ip6 else "0.0.0.0") if rng.random() < 0.04 else addr
    out = (f"v=0\r\no=- {rng.randrange(1, 1 << 31)} 1 IN {net} {peer_addr(rng, ip6)}\r\ns=-\r\n"
           f"c=IN {net} {conn}\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef01234567\r\n")
    if rng.random() < 0.3:
        out += "a=ice-options:trickle\r\n"
    for i in range(nmed):
        if rejected is None:
            rej = (i or nmed == 1) and rng.random() < 0.15
        else:
            rej = i in rejected
        port = 0 if rej else 40000 + 2 * rng.randrange(100)
        rport = port or 9
        out += f"m=audio {port} {proto} {' '.join(map(str, pts))}\r\na=ptime:20\r\n{extra}"
        if rng.random() < (0.5 if rej else 0.3):
            out += f"c=IN {net} {rng.choice([addr, peer_addr(rng, ip6)])}\r\n"
        if rng.random() < 0.5:
            out += f"a=rtcp:{rport + 1} IN {net} {rng.choice([addr, peer_addr(rng, ip6)])}\r\n"
        elif rng.random() < 0.2:
            out += f"a=rtcp:{rport + 1}\r\n"
        if rng.random() < 0.5:
            host, srflx = peer_addr(rng, ip6, "private"), peer_addr(rng, ip6, "testnet")
            out += (f"a=candidate:1 1 UDP 2130706431 {host} {rport} typ host\r\n"
                    f"a=candidate:2 1 UDP 1694498815 {srflx} {rport} typ srflx raddr {host} rport {rport}\r\n")
            if rng.random() < 0.3:
                out += (f"a=candidate:3 1 UDP 16777215 {peer_addr(rng, ip6, 'testnet')} 3478 typ relay "
                        f"raddr {srflx} rport {rport}\r\n")
            if rng.random() < 0.2:
                out += f"a=remote-candidates:1 {peer_addr(rng, ip6)} {rport}\r\n"
            if rng.random() < 0.3:
                out += "a=end-of-candidates\r\n"
        if rng.random() < 0.15:
            out += f"a=ice-ufrag:m{i}x\r\na=ice-pwd:m{i}0123456789abcdef0123456\r\n"
    return out


def ports(text):
    """The port of each m= section of an SDP."""
    return [int(p) for p in re.findall(r"^m=\S+ (\d+) ", text, re.M)]


def origin(text):
    m = re.search(r"^o=[^\r\n]*", text, re.M)
    return m.group(0) if m else None


# the checker itself catches each kind of leak (a peer at 127.0.0.9 or 192.0.2.9)
_HEAD = "v=0\r\no=- 1 1 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
check(sdp_leaks(_HEAD + "m=audio 3000 RTP/AVP 0\r\n", False) == [], "sdp_leaks: medius's own SDP passes")
check(sdp_leaks(_HEAD.replace("127.0.0.1", "0.0.0.0") + "m=audio 3000 RTP/AVP 0\r\n", False) == [],
      "sdp_leaks: a hold passes")
for _bad, _origin in [(_HEAD + "m=audio 3000 RTP/AVP 0\r\n", True),
                      (_HEAD + "m=audio 3000 RTP/AVP 0\r\nc=IN IP4 127.0.0.9\r\n", False),
                      (_HEAD + "m=audio 3000 RTP/AVP 0\r\nc=IN IP4 192.0.2.9\r\n", False),
                      (_HEAD + "m=audio 3000 RTP/AVP 0\r\na=rtcp:3001 IN IP4 10.0.0.9\r\n", False),
                      (_HEAD + "m=audio 3000 RTP/AVP 0\r\na=candidate:1 1 UDP 1 127.0.0.1 3000 typ host\r\n", False),
                      (_HEAD + "m=audio 3000 RTP/AVP 0\r\na=ice-options:trickle\r\n", False),
                      (_HEAD + "m=audio 3000 RTP/AVP 0\r\na=x:198.51.100.7\r\n", False),
                      (_HEAD + "m=audio 0 RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\n", False),
                      (_HEAD + "m=audio 0 RTP/AVP 0\r\na=rtcp:9 IN IP4 127.0.0.1\r\n", False),
                      (_HEAD.replace("c=IN IP4 127.0.0.1", "c=IN IP6 2001:db8::9") + "m=audio 3000 RTP/AVP 0\r\n", False),
                      (_HEAD.replace("c=IN IP4 127.0.0.1", "c=IN IP6 ::1") + "m=audio 3000 RTP/AVP 0\r\n", False)]:
    check(sdp_leaks(_bad, _origin) != [], f"sdp_leaks catches {sdp_leaks(_bad, _origin)}")

MEDIA = "--media" in sys.argv
if MEDIA:
    sys.argv.remove("--media")
SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 1
rng = random.Random(SEED)
N = int(sys.argv[2]) if len(sys.argv) > 2 else 6000
OPUS = "a=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n"
ID_BOUND = {"call-id": 255, "from-tag": 127, "to-tag": 127, "via-branch": 127}
UDP_LIMIT = 65000  # bytes of request per datagram; anything larger goes over TCP


class Run:
    """What the run saw: every reply passes through send(), which checks it."""

    def __init__(self, port):
        self.port = port
        self.counts, self.errors, self.problems = {}, {}, {}
        self.odd = {"sent": 0, "refused": 0, "tcp": 0, "udp over 60 KB": 0, "duplicate keys": 0,
                    "accepted odd ids": 0}
        self.sdps = self.origin_kept = 0
        self.op = None  # the operation being run, for reproductions

    def problem(self, kind, what):
        lst = self.problems.setdefault(kind, [])
        if len(lst) < 3:
            lst.append(f"seed {SEED} op {self.op}: {what}")
        else:
            lst.append(None)

    def send(self, pairs, origin_asked=False, req_sdp=None, timeout=5):
        """One request, (key, value) pairs with duplicates kept, over UDP or
        (over UDP_LIMIT) TCP. Returns the reply dictionary, or None when no
        reply came. Checks: a dictionary with a result, an error with a
        reason, an SDP naming only medius's addresses (o= only when origin
        replacement was asked, else o= passes through)."""
        payload = benc_pairs(pairs)
        cmd = first(pairs, "command")
        cmd = cmd.decode("utf-8", "replace") if isinstance(cmd, bytes) else cmd if isinstance(cmd, str) else "?"
        try:
            if len(payload) > UDP_LIMIT:
                self.odd["tcp"] += 1
                r = tcp_request(self.port, payload)
            else:
                self.odd["udp over 60 KB"] += len(payload) > 60000
                r = bdecode(ng_request(self.port, payload, timeout=timeout))[0]
        except (OSError, RuntimeError, ValueError, IndexError) as e:
            self.problem("unanswered", f"{e!r}; {len(payload)}-byte request {payload[:400]!r}")
            return None
        res = r.get("result") if isinstance(r, dict) else None
        if res not in ("ok", "error", "pong") or (res == "error" and not r.get("error-reason")):
            self.problem("malformed reply", f"{r!r:.300} to {payload[:300]!r}")
        key = cmd if len(cmd) < 20 else "(odd)"
        self.counts[(key, res)] = self.counts.get((key, res), 0) + 1
        if res == "error":
            kind = re.sub(r" '.*'(?=[\s:,.)]|$)", " '...'", str(r.get("error-reason")), flags=re.S)  # a value quoted
            kind = re.sub(r" '(?!\.\.\.')[^']*$", " '...", kind, flags=re.S)  # ... or cut
            kind = re.sub(r"\d+", "N", kind)[:90]
            self.errors[kind] = self.errors.get(kind, 0) + 1
        if res == "ok" and cmd in ("offer", "answer") and "sdp" not in r:
            self.problem("malformed reply", f"{cmd} ok without an sdp: {r!r:.300}")
        if isinstance(r, dict) and "sdp" in r:
            self.sdps += 1
            bad = sdp_leaks(r["sdp"], origin_asked)
            if bad:
                self.problem("leak", f"{bad[:4]} in\n{r['sdp']}\nrequest {payload[:1500]!r}")
            if not origin_asked and isinstance(req_sdp, str):
                if origin(r["sdp"]) == origin(req_sdp):
                    self.origin_kept += 1
                else:
                    self.problem("o= changed without replace origin",
                                 f"{origin(req_sdp)!r} became {origin(r['sdp'])!r}")
        return r

    def ask(self, **args):
        pairs = [(k.replace("_", "-"), v) for k, v in args.items()]
        return self.send(pairs, "origin" in args.get("replace", []), args.get("sdp")) or {}

    def calls(self):
        return set(self.ask(command="list", limit=1000).get("calls", []))

    def made(self):
        """Calls created and deleted so far (the idle timeout counts apart)."""
        t = self.ask(command="statistics").get("statistics", {}).get("totalstatistics", {})
        return t.get("managedsessions"), t.get("deletedsessions")

    def tags(self, cid):
        r = self.ask(command="query", call_id=cid)
        return set(r.get("tags", {})) if r.get("result") == "ok" else set()


PORTS = 2000  # media ports for the random calls' legs (sockets close up to 1 s after their call) and the load's: 100 run out
port_min = free_range(PORTS)
with Daemon("--set", "control.call_idle_timeout_seconds=1", "-o", f"interface.default.port_min={port_min}",
            "-o", f"interface.default.port_max={port_min + PORTS - 1}", tcp=True) as d:
    run = Run(d.port)
    fds = lambda: len(os.listdir(f"/proc/{d.proc.pid}/fd"))
    base = fds()
    ids = [f"c{i}" for i in range(6)]
    known = set(ids)  # every call-id a call may have been created under
    tags = ["A", "B1", "B2", "B3", "X"]
    vias = [None, "v1", "v2", "v3"]
    pts_choices = [(0,), (8,), (0, 8), (96,), (9,), (0, 101), (8, 96, 101), (96, 0)]
    delayed, delay_fired = [], 0   # (due, call-id) of delete-delays followed
    idling, idle_seen = [], 0      # (due, call-id) of calls left to the idle timeout
    rejects = {"runs": 0, "answered": 0, "kept rejected": 0, "warned": 0}
    sizes = {"runs": 0, "answered": 0, "largest reply": 0}  # offers that fill a datagram
    load = MediaLoad(d.port) if MEDIA else None
    if load:
        known.update(load.ids)
        load.start()
    t0 = time.time()
    for i in range(N):
        run.op = i
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
            # an answer on c5 now and then gives every section a port, also one its offer rejected
            rej = set() if cmd == "answer" and nmed == 2 and rng.random() < 0.5 else None
            body = peer_sdp(rng, nmed, rng.choice(["RTP/AVP", "RTP/AVP", "RTP/SAVP"]), rng.choice(pts_choices), OPUS, rej)
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
                args["ICE"] = rng.choice(["remove", "force", "default"])
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
        if rng.random() < 0.15:  # an odd value somewhere
            where = rng.choice(["call-id", "from-tag", "to-tag", "via-branch", "label", "metadata", "flags",
                                "codec", "direction", "DTMF-security", "received-from", "x-unknown", "sdp",
                                "sdp-attribute", "duplicate", "duplicate"])
            o = odd_value(rng)
            if where == "duplicate":  # the same key twice: the first one written counts
                k = rng.choice(["call-id", "from-tag", "to-tag", "via-branch", "command", "sdp", "label", "flags"])
                pairs.insert(rng.randrange(len(pairs) + 1), (k, o))
                run.odd["duplicate keys"] += 1
            elif where in ("flags", "direction", "received-from"):
                pairs = [p for p in pairs if p[0] != where] + [(where, [b"IP4", o] if where == "received-from" else [o])]
            elif where == "codec":
                pairs = [p for p in pairs if p[0] != where] + [(where, {rng.choice(["strip", "accept", "transcode", "set", "offer"]): [o]})]
            elif where == "sdp-attribute":  # a peer's SDP with an odd line in it
                body = args.get("sdp") or peer_sdp(rng, 1, "RTP/AVP", (0,), "")
                o = o if isinstance(o, bytes) else b"?"
                pairs = [p for p in pairs if p[0] != "sdp"] + [("sdp", body.encode() + rng.choice([b"a=x-odd:", b"i=", b"a="]) + o + b"\r\n")]
            else:
                pairs = [p for p in pairs if p[0] != where] + [(where, o)]
            run.odd["sent"] += 1
        # what mediusd reads: the first value of each key
        eff_cmd = first(pairs, "command")
        fault = next(((k, f) for k in ID_BOUND if (v := first(pairs, k)) is not None and (f := id_fault(k, v))), None)
        if fault and eff_cmd != cmd:
            fault = None  # an odd command is refused first
        cid = first(pairs, "call-id")
        cid_ok = isinstance(cid, (str, bytes)) and not id_fault("call-id", cid.encode() if isinstance(cid, str) else cid)
        if fault:  # what exists before a request that must create nothing
            run.odd["refused"] += 1
            before = (run.calls(), run.tags(cid) if cid_ok else set(), run.made())
        r = run.send(pairs, "origin" in args.get("replace", []), first(pairs, "sdp"))
        if r is None:
            if d.proc.poll() is not None:
                print("DIED at op", i, args)
                break
            continue
        res = r.get("result")
        if fault:
            key, why = fault
            if not (res == "error" and key in r.get("error-reason", "")):
                run.problem("identifier not refused", f"{key} ({why}, {len(first(pairs, key)) if isinstance(first(pairs, key), bytes) else type(first(pairs, key)).__name__}) got {r!r:.300}")
            calls_after = run.calls()
            tags_after = run.tags(cid) if cid_ok else set()
            made_after = run.made()
            if calls_after - before[0] or tags_after - before[1] or made_after != before[2]:
                run.problem("refused request created something",
                            f"{key} ({why}): new calls {calls_after - before[0]}, new tags {tags_after - before[1]}, "
                            f"calls created and deleted {before[2]} -> {made_after}")
        elif res == "ok" and eff_cmd in ("offer", "answer") and isinstance(cid, (str, bytes)):
            c = cid.decode("utf-8", "replace") if isinstance(cid, bytes) else cid
            if c not in known:
                known.add(c)
                run.odd["accepted odd ids"] += 1
        if cmd == "delete" and "delete-delay" in args and res == "ok" and rng.random() < 0.5:
            # follow a delayed delete on a call of its own: queryable now, gone after the delay
            did = f"dd{i}"
            known.add(did)
            if run.ask(command="offer", call_id=did, from_tag="A", sdp=peer_sdp(rng, 1, "RTP/AVP", (0,), "")).get("result") == "ok":
                run.ask(command="delete", call_id=did, delete_delay=1)
                if run.ask(command="query", call_id=did).get("result") != "ok":
                    run.problem("delete-delay", f"{did}: gone before its delete-delay")
                delayed.append((time.time() + 1.0, did))
        if rng.random() < 0.012:
            # a call of its own: an offer rejecting some or all of its sections (which
            # still name addresses), an answer giving each a port: every section the
            # offer rejected stays port 0, with no address; then left to the idle timeout
            rid, n = f"rj{i}", rng.choice([2, 3])
            rej = set(rng.sample(range(n), rng.randint(1, n)))
            known.add(rid)
            rejects["runs"] += 1
            orig = rng.random() < 0.3
            extra = {"replace": ["origin"]} if orig else {}
            o = run.ask(command="offer", call_id=rid, from_tag="A", sdp=peer_sdp(rng, n, "RTP/AVP", (0, 8), "", rej), **extra)
            if o.get("result") == "ok":
                a = run.ask(command="answer", call_id=rid, from_tag="A", to_tag="B",
                            sdp=peer_sdp(rng, n, "RTP/AVP", (0, 8), "", set()), **extra)
                po, pa = ports(o["sdp"]), ports(a.get("sdp", ""))
                if any(po[j] for j in rej) or (a.get("result") == "ok" and any(pa[j] for j in rej)):
                    run.problem("rejected section reopened", f"{rid}: rejected {sorted(rej)}, offer ports {po}, answer ports {pa}")
                if a.get("result") == "ok":
                    rejects["answered"] += 1
                    rejects["kept rejected"] += all(pa[j] == 0 for j in rej)
                    rejects["warned"] += "rejected" in a.get("warning", "")
                idling.append((time.time() + 1.0, rid))
            else:
                run.problem("rejected-section offer refused", f"{rid}: {o!r:.300}")
        if rng.random() < 0.004:
            # a call of its own whose offer fills a datagram: 64,000 to 65,000 bytes of
            # request (an SDP of 2 or 16 sections and a long attribute), over UDP; its
            # reply may grow past what one datagram holds (65,507 bytes), and must
            # still come, as the SDP or as an error
            bid, n = f"big{i}", rng.choice([2, 16])
            big = {"command": "offer", "call-id": bid, "from-tag": "A"}
            if rng.random() < 0.5:
                big["flags"] = ["full rtcp attribute"]
            if rng.random() < 0.3:
                big["codec"] = {"transcode": ["PCMA"]}
            a = peer_addr(rng, False, "private")  # a plain SDP: nothing in it for medius to strip
            body = (f"v=0\r\no=- 1 1 IN IP4 {a}\r\ns=-\r\nc=IN IP4 {a}\r\nt=0 0\r\n"
                    + "".join(f"m=audio {40000 + 2 * j} RTP/AVP 0\r\n" for j in range(n)))
            size = rng.randrange(64000, UDP_LIMIT)
            pad = size - len(benc_pairs(list(big.items()) + [("sdp", body + "a=x-pad:\r\n")]))
            big["sdp"] = body + f"a=x-pad:{'p' * max(pad, 0)}\r\n"
            known.add(bid)
            sizes["runs"] += 1
            made0 = run.made()
            r = run.send(list(big.items()), False, big["sdp"], timeout=2)
            if r is None and run.problems["unanswered"][-1]:  # say whether the call was made nonetheless
                run.problems["unanswered"][-1] += (f"; {bid} was {'created' if run.made() != made0 else 'not created'}"
                                                   " (statistics managedsessions)")
            else:
                sizes["answered"] += 1
                sizes["largest reply"] = max(sizes["largest reply"], len(benc_pairs(list(r.items()))))
        now = time.time()
        for due, did in [x for x in delayed if now > x[0] + 1.2]:
            delayed.remove((due, did))
            if run.ask(command="query", call_id=did).get("result") == "error":
                delay_fired += 1
            else:
                run.problem("delete-delay", f"{did}: still there {now - due + 1:.1f} s after a delete-delay of 1 s")
        for due, rid in [x for x in idling if now > x[0] + 3.0]:  # idle for 1 s, seen by a tick each second
            idling.remove((due, rid))
            if run.ask(command="query", call_id=rid).get("result") == "error":
                idle_seen += 1
            else:
                run.problem("idle timeout", f"{rid}: still there {now - due + 1:.1f} s after its last signal, no media")
        if rng.random() < 0.002:  # a pause: idle calls end, delete-delays come due
            time.sleep(rng.uniform(0.5, 2.5))
        if d.proc.poll() is not None:
            print("DIED at op", i, args)
            break
    run.op = "end"
    if load:
        load.stop()
        res = load.results()
        for r in res:
            print(f"    media {r[0]} ({r[1]}): sent {r[2]}, received {r[3]}, missing {r[4]}, out of order {r[5]}")
        rel = [r for r in res if r[1] == "relayed"]
        xc = [r for r in res if r[1] == "transcoded"]
        check(all(r[4] == 0 and r[3] == r[2] and r[5] == 0 for r in rel) and rel[0][2] > 100,
              f"while {N} random operations ran, the relayed calls lost no packet, duplicated none, reordered none "
              f"({sum(r[2] for r in rel)} packets)")
        check(all(r[3] >= r[2] - 10 and r[5] == 0 for r in xc),
              f"... and the transcoded calls' media kept flowing, in order "
              f"({sum(r[3] for r in xc)} of {sum(r[2] for r in xc)} packets; the last few may still sit in a jitter buffer)")
        rtcp = load.rtcp_generated()
        load.delete()
    tot = run.ask(command="statistics").get("statistics", {}).get("totalstatistics", {})
    elapsed = time.time() - t0
    print("    results:", ", ".join(f"{c} {r} {n}" for (c, r), n in sorted(run.counts.items(), key=str)))
    print("    errors by kind:")
    for kind, n in sorted(run.errors.items(), key=lambda x: -x[1])[:40]:
        print(f"      {n:5d}  {kind!r}")
    if len(run.errors) > 40:
        print(f"      and {len(run.errors) - 40} kinds more, {sum(sorted(run.errors.values())[:-40])} errors")
    print(f"    {N} operations ({sum(run.counts.values())} requests) in {elapsed:.1f} s, seed {SEED}")
    print(f"    odd values: {run.odd}")
    print(f"    {run.sdps} SDP replies checked, o= passed through {run.origin_kept} times; rejected sections: {rejects}")
    print(f"    offers filling a datagram: {sizes}")
    print(f"    calls: {tot.get('managedsessions')} created, {tot.get('timeoutsessions')} ended by the idle timeout, "
          f"{tot.get('deletedsessions')} deleted; delete-delays seen firing {delay_fired}, idle ends seen {idle_seen}")
    for kind, lst in sorted(run.problems.items()):
        print(f"    PROBLEM {kind}: {len(lst)}")
        for p in lst:
            if p:
                print("      " + p.replace("\n", "\n        "))
    check(not any(k.startswith("No media ports left") for k in run.errors),
          f"the {PORTS} media ports of mediusd's range of its own never ran out")
    check(run.counts.get(("offer", "ok"), 0) > N // 10 and run.counts.get(("answer", "ok"), 0) > N // 30,
          "the sequences exercise real calls, not only errors")
    check("unanswered" not in run.problems, f"every request was answered ({len(run.problems.get('unanswered', []))} not)")
    check("malformed reply" not in run.problems, "every reply is a dictionary with a result, each error with a reason")
    check("leak" not in run.problems, f"every SDP returned names only medius's own address, a hold or port-0 "
          f"sections without one ({len(run.problems.get('leak', []))} leaks)")
    check("o= changed without replace origin" not in run.problems and run.origin_kept > N // 20,
          f"without replace origin, o= passes through ({run.origin_kept} times)")
    check(run.sdps > N // 10, f"{run.sdps} replies carried an SDP to check")
    check(run.odd["sent"] > N // 10 and run.odd["refused"] > N // 100 and run.odd["tcp"] > 0 and run.odd["duplicate keys"] > 0,
          f"odd values were sent ({run.odd})")
    check("identifier not refused" not in run.problems,
          "every over-long, malformed or non-string identifier was refused with an error naming it")
    check("refused request created something" not in run.problems,
          "... and created no call and no tag, and deleted nothing (list, query and statistics before and after)")
    check(rejects["answered"] > 0 and "rejected section reopened" not in run.problems
          and "rejected-section offer refused" not in run.problems,
          f"a section the offer rejected stays rejected, whatever the answer gives it ({rejects})")
    while delayed and time.time() < max(x[0] for x in delayed) + 1.5:
        time.sleep(0.1)
    for due, did in delayed:
        if run.ask(command="query", call_id=did).get("result") == "error":
            delay_fired += 1
        else:
            run.problem("delete-delay", f"{did}: still there after its delete-delay")
    check(delay_fired > 0 and "delete-delay" not in run.problems, f"delete-delays fired during the run ({delay_fired})")
    check(idle_seen > 0 and (tot.get("timeoutsessions") or 0) > idle_seen and "idle timeout" not in run.problems,
          f"the idle timeout ended calls during the run ({tot.get('timeoutsessions')}, {idle_seen} of them followed)")
    check(d.proc.poll() is None and run.ask(command="ping").get("result") == "pong", f"alive after {N} random call operations")
    listed = run.calls()
    check(all(len(c.encode()) <= ID_BOUND["call-id"] and c in known for c in listed),
          f"only calls with the ids offered are listed, none cut ({sorted(listed - known)[:5]})")
    time.sleep(2.5)  # the idle timeout ends what is left
    check(run.calls() == set(), "... and, after the run, every call")
    tot = run.ask(command="statistics").get("statistics", {}).get("totalstatistics", {})
    want_rx, want_tx = (load.sent_total(), load.received_total() + rtcp) if load else (0, 0)
    check(tot.get("packetsreceived") == want_rx and tot.get("packetsrelayed") == want_tx,
          f"no media went anywhere but the test's own peers: mediusd received {tot.get('packetsreceived')} "
          f"packets (sent {want_rx}) and sent {tot.get('packetsrelayed')} (received {want_tx}, RTCP reports included)")
    end = time.time() + 3  # sockets close on mediusd's 1 s timer at the latest (dp_workers_reclaim)
    while fds() != base and time.time() < end:
        time.sleep(0.1)
    check(fds() == base, f"every port given back within 3 s ({fds()} vs {base})")
finish()
