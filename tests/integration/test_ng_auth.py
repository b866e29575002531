"""ng security (issue 15): signed requests, the source allow-list, request
rate and call limits, and port exhaustion, against the real daemon.

- auth = required: requests signed by the reference signer
  (tests/tools/ng_sign.py) are served, bencode and JSON, UDP and TCP, and
  real commands (offer/answer/delete) work signed; unsigned, badly signed,
  stale, unknown-client, malformed and replayed requests get their error
  and are counted in statistics; a retransmission is answered, not refused.
- A secrets file others may read, or auth without one, stops start-up.
- auth = off on a non-loopback bind: a SECURITY WARNING in the log and
  "exposed" in statistics; rtpengine-ng-client works; a source outside
  the allow-list gets no UDP reply and its TCP connection is closed.
- max_ng_rps / max_ng_rps_per_source: bursts refused with their error,
  other sources unaffected, served again a second later.
- max_calls / max_calls_per_source: offers over a limit refused, re-offers
  not; a deleted call frees its slot.
- Port exhaustion: a four-pair port range holds two calls; the next offer
  gets "No media ports left", and the two calls relay with zero loss while
  further offers are refused; a deleted call's ports serve a new one.
"""
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

from medius_test import (MEDIUSCTL, MEDIUSD, SOURCE, Daemon, bdecode, bencode, call_sdp, check, finish, free_port,
                         free_range, media_port, ng_request, ping)

sys.path.insert(0, os.path.join(SOURCE, "tests", "tools"))
import ng_sign  # noqa: E402  the reference signer

KEY = os.urandom(32)
OTHER_KEY = os.urandom(24)
PING = b"d7:command4:pinge"
cookie_n = [0]


def cookie():
    cookie_n[0] += 1
    return f"au{os.getpid()}_{cookie_n[0]}"


def keys_file(mode=0o600):
    f = tempfile.NamedTemporaryFile("w", prefix="medius-keys-", delete=False)
    f.write("# test clients\n")
    f.write(f"sip1 {base64.b64encode(KEY).decode()}\n")
    f.write(f"sip2 {base64.b64encode(OTHER_KEY).decode()}\n")
    f.close()
    os.chmod(f.name, mode)
    return f.name


def raw(port, msg, src="127.0.0.1", timeout=2.0):
    """Send one datagram from src; the whole reply, or None on timeout."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    try:
        s.sendto(msg, ("127.0.0.1", port))
        return s.recv(70000)
    except socket.timeout:
        return None
    finally:
        s.close()


def reply_dict(data):
    """The dictionary of a reply (bencode or JSON)."""
    body = data.split(b" ", 1)[1]
    return json.loads(body) if body[:1] == b"{" else bdecode(body)[0]


def signed(port, body, client="sip1", key=KEY, ts=None, c=None, src="127.0.0.1"):
    c = c or cookie()
    return reply_dict(raw(port, ng_sign.sign_request(c, body, client, key, ts), src))


def signed_cmd(port, **cmd):
    msg = {k.replace("_", "-"): v for k, v in cmd.items()}
    return signed(port, bencode(msg))


def signed_ping(port, timeout=0.3):
    try:
        r = raw(port, ng_sign.sign_request(cookie(), PING, "sip1", KEY), timeout=timeout)
        return r is not None and r.endswith(b"d6:result4:ponge")
    except OSError:
        return False


def security(port, sign=True):
    st = signed_cmd(port, command="statistics") if sign else \
        bdecode(ng_request(port, bencode({"command": "statistics"})))[0]
    return st["statistics"]["totalstatistics"]["control security"]


def err(d):
    return d.get("error-reason", "") if d.get("result") == "error" else f"(result {d.get('result')})"


# ---- 1. auth = required ----
keys = keys_file()
with Daemon("-o", "control.auth=required", "-o", f"control.auth_keys={keys}", "-o",
            "control.cookie_cache_seconds=2", tcp=True, ready=signed_ping) as d:
    P = d.port
    r = signed(P, PING)
    check(r.get("result") == "pong", f"a signed bencode ping is answered: {r}")
    r = signed(P, b'{"command": "ping"}')
    check(r.get("result") == "pong", f"a signed JSON ping is answered: {r}")
    r = signed(P, b"d7:command4:ping5:flagsl5:emptyee")
    check(r.get("result") == "pong", "a signed request with more members is answered")
    sent = {"unsigned": 0, "bad signature": 0, "stale timestamp": 0, "unknown client": 0,
            "malformed auth": 0, "replay": 0}

    r = reply_dict(raw(P, cookie().encode() + b" " + PING))
    check(err(r) == "Authentication required: the request is not signed", f"an unsigned ping is refused: {err(r)}")
    sent["unsigned"] += 1
    r = reply_dict(raw(P, cookie().encode() + b' {"command":"ping"}'))
    check(err(r) == "Authentication required: the request is not signed" and r["result"] == "error",
          "... in JSON too, and the error comes back in JSON")
    sent["unsigned"] += 1
    r = signed(P, PING, key=OTHER_KEY)
    check(err(r) == "Authentication failed: bad signature", f"signed with another client's key: {err(r)}")
    sent["bad signature"] += 1
    r = signed(P, PING, client="sip2")  # sip2's name, sip1's key
    check(err(r) == "Authentication failed: bad signature", f"sip1's key under sip2's name: {err(r)}")
    sent["bad signature"] += 1
    # the body changed after signing
    msg = ng_sign.sign_request(cookie(), b"d7:command4:pinge", "sip1", KEY).replace(b"4:ping", b"4:PING")
    r = reply_dict(raw(P, msg))
    check(err(r) == "Authentication failed: bad signature", f"a body changed after signing: {err(r)}")
    sent["bad signature"] += 1
    # the cookie changed after signing (a signature moved to another cookie)
    msg = ng_sign.sign_request("moved1", PING, "sip1", KEY)
    r = reply_dict(raw(P, b"moved2" + msg[6:]))
    check(err(r) == "Authentication failed: bad signature", f"a signature moved to another cookie: {err(r)}")
    sent["bad signature"] += 1
    for delta in (-100, 100):
        r = signed(P, PING, ts=time.time() + delta)
        check(err(r) == "Authentication failed: timestamp outside the window",
              f"a timestamp {delta:+d} s from now is refused: {err(r)}")
        sent["stale timestamp"] += 1
    r = signed(P, PING, ts=time.time() - 20)
    check(r.get("result") == "pong", "a timestamp 20 s old (inside the 30 s window) is fine")
    r = signed(P, PING, client="intruder", key=KEY)
    check(err(r) == "Authentication failed: unknown client", f"an unknown client: {err(r)}")
    sent["unknown client"] += 1
    for bad in (b"d4:authi1e7:command4:pinge", b'{"auth":{"client":"sip1"},"command":"ping"}',
                b"d4:authd6:client4:sip12:tsi1e4:hmac3:abce7:command4:pinge"):
        r = reply_dict(raw(P, cookie().encode() + b" " + bad))
        check(err(r) == "Authentication failed: malformed auth member", f"malformed: {bad[:40]!r}: {err(r)}")
        sent["malformed auth"] += 1

    # retransmission (reply cached) vs. replay (cache expired, ts still in the window)
    msg = ng_sign.sign_request(cookie(), PING, "sip1", KEY)
    first, again = raw(P, msg), raw(P, msg)
    check(first == again and first.endswith(b"d6:result4:ponge"),
          "a retransmission of a signed request gets the same reply")
    time.sleep(2.5)  # cookie_cache_seconds = 2
    r = reply_dict(raw(P, msg))
    check(err(r) == "Authentication failed: replayed request", f"the same request after the cookie cache: {err(r)}")
    sent["replay"] += 1
    # a refused request does not take its cookie: the good one with it is served
    c = cookie()
    raw(P, c.encode() + b" " + PING)
    sent["unsigned"] += 1
    r = signed(P, PING, c=c)
    check(r.get("result") == "pong", "a refusal is not cached: the cookie is still usable by a signed request")

    # real commands, signed
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b.bind(("127.0.0.1", 0))
    o = signed_cmd(P, command="offer", call_id="s1", from_tag="A", sdp=call_sdp(a.getsockname()[1]))
    an = signed_cmd(P, command="answer", call_id="s1", from_tag="A", to_tag="B", sdp=call_sdp(b.getsockname()[1]))
    check(o.get("result") == "ok" and an.get("result") == "ok" and "m=audio" in o.get("sdp", ""),
          f"signed offer and answer work: {err(o)} {err(an)}")
    a.sendto(struct.pack("!BBHII", 0x80, 0, 1, 160, 7) + b"\xd5" * 160, ("127.0.0.1", media_port(an["sdp"])))
    b.settimeout(2)
    try:
        got = b.recv(2000)
    except socket.timeout:
        got = b""
    check(len(got) == 172, "media flows through the signed call")
    dl = signed_cmd(P, command="delete", call_id="s1")
    check(dl.get("result") == "ok", f"signed delete: {err(dl)}")
    a.close()
    b.close()

    # TCP: a refusal keeps the connection; signed requests are served
    t = socket.create_connection(("127.0.0.1", P), timeout=3)
    t.sendall(b"tc1 " + PING + ng_sign.sign_request("tc2", PING, "sip1", KEY))
    sent["unsigned"] += 1
    buf = b""
    while buf.count(b"tc") < 2 or not buf.endswith(b"e"):
        chunk = t.recv(4096)
        if not chunk:
            break
        buf += chunk
    check(buf.startswith(b"tc1 d6:result5:error") and buf.endswith(b"tc2 d6:result4:ponge"),
          f"TCP: an unsigned request refused, the signed one after it answered on the same connection: {buf!r}")
    t.close()

    # mediusctl signs with --auth-file (the daemon's secrets-file format)
    ctl = lambda *a, env=None: subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{P}", *a], capture_output=True,
                                              text=True, timeout=30, env=env)
    r = ctl("--auth-file", keys, "ping")
    check(r.returncode == 0 and "pong" in r.stdout, f"mediusctl --auth-file: ping answered ({r.stderr.strip()})")
    r = ctl("--auth-file", keys, "--auth-client", "sip2", "--tcp", "--wire", "json", "stats")
    check(r.returncode == 0 and "sessionsown" in r.stdout, f"... as sip2, over TCP, in JSON: stats ({r.stderr.strip()})")
    r = ctl("ping", env=dict(os.environ, MEDIUS_NG_AUTH_FILE=keys))
    check(r.returncode == 0 and "pong" in r.stdout, "... and with MEDIUS_NG_AUTH_FILE")
    r = ctl("ping")
    check(r.returncode == 1 and "Authentication required" in r.stderr, f"mediusctl unsigned: refused ({r.stderr.strip()})")
    sent["unsigned"] += 1
    r = ctl("--auth-file", keys, "--auth-client", "nobody", "ping")
    check(r.returncode == 2 and "no secret for nobody" in r.stderr, f"mediusctl, a client not in the file: {r.stderr.strip()}")

    sec = security(P)
    got = {k: sec["refused"][k] for k in sent}
    check(got == sent, f"statistics counts each refusal by reason: {got} (sent {sent})")
    check(sec["auth"] == "required" and sec["auth clients"] == 2 and sec["exposed"] == 0,
          f"statistics: auth required, 2 clients, not exposed: {sec}")
    log = d.log_text()
    check("refused: bad signature" in log and "client 'sip1'" in log,
          "refusals are logged with the reason and the client")

# ---- 2. start-up refusals ----
bad_keys = keys_file(0o644)
for args, want, what in (
        (["-o", "control.auth=required", "-o", f"control.auth_keys={bad_keys}"], "lets every user read",
         "a world-readable secrets file"),
        (["-o", "control.auth=required"], "needs control.auth_keys", "auth without a secrets file"),
        (["-o", "control.auth=maybe"], "not off, optional or required", "an unknown auth mode"),
        (["-o", "control.allow=10.0.0.1/8"], "control.allow", "an allow-list entry with host bits")):
    r = subprocess.run([MEDIUSD, "--listen-ng", f"127.0.0.1:{free_port()}", *args], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 78 and want in r.stderr, f"{what} stops start-up (exit {r.returncode}): {r.stderr.strip()[-160:]}")
os.unlink(bad_keys)

# ---- 3. auth = off, exposed, with an allow-list ----
# Bound on the wildcard address for the warning; every source but
# loopback is outside the allow-list, so nothing beyond loopback is served.
port = free_port(both=True)
with Daemon("--listen-ng", f"0.0.0.0:{port}", "--listen-ng-tcp", f"0.0.0.0:{port}", "-o",
            "control.allow=127.0.0.1/32, ::1", ready=lambda _, timeout: ping(port, timeout)) as d:
    P = port
    log = d.log_text()
    check("SECURITY WARNING" in log and "0.0.0.0" in log, "a non-loopback bind without auth: a loud warning at start-up")
    sec = security(P, sign=False)
    check(sec["exposed"] == 1 and "EXPOSED" in sec["listeners"], f"... and in statistics: {sec['listeners']}")

    def client(*args):
        return subprocess.run(["rtpengine-ng-client", "--proxy-address=127.0.0.1", f"--proxy-port={P}", *args],
                              capture_output=True, text=True, timeout=30)
    r1 = client("--call-id=rc1", "--from-tag=a", f"--sdp={call_sdp(40000)}", "offer")
    r2 = client("--call-id=rc1", "--from-tag=a", "--to-tag=b", f"--sdp={call_sdp(40010)}", "answer")
    r3 = client("--call-id=rc1", "delete")
    check(r1.returncode == 0 and r2.returncode == 0 and r3.returncode == 0 and "New SDP" in r1.stdout,
          f"rtpengine-ng-client works with auth = off ({r1.stderr.strip()[:80]}{r2.stderr.strip()[:80]})")
    r = raw(P, cookie().encode() + b" " + PING, src="127.0.0.5", timeout=1.0)
    check(r is None, f"a source outside the allow-list gets no UDP reply: {r!r}")
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.5", 0))
    t.settimeout(3)
    t.connect(("127.0.0.1", P))
    try:
        t.sendall(b"x1 " + PING)
        closed = t.recv(100) == b""
    except OSError:
        closed = True
    t.close()
    check(closed, "... and its TCP connection is closed without a reply")
    sec = security(P, sign=False)
    check(sec["refused"]["source not allowed"] == 2, f"statistics: 2 refused as not allowed: {sec['refused']}")
    check("refused: source not allowed" in d.log_text(), "the refusal is logged")

# ---- 4. request rate limits ----
with Daemon("-o", "control.max_ng_rps_per_source=20", "-o", "control.max_ng_rps=50") as d:
    P = d.port
    time.sleep(1.1)  # the start-up pings' tokens come back

    def burst(src, n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.settimeout(2)
        for i in range(n):
            s.sendto(f"r{i} ".encode() + PING, ("127.0.0.1", P))
        res = {"ok": 0, "source": 0, "global": 0}
        try:
            for _ in range(n):
                body = s.recv(4096)
                if body.endswith(b"d6:result4:ponge"):
                    res["ok"] += 1
                elif b"max_ng_rps_per_source" in body:
                    res["source"] += 1
                elif b"(max_ng_rps)" in body:
                    res["global"] += 1
        except socket.timeout:
            pass
        s.close()
        return res
    t0 = time.time()
    r7 = burst("127.0.0.7", 60)
    r8 = burst("127.0.0.8", 20)
    r9 = burst("127.0.0.9", 20)
    dt = time.time() - t0
    check(20 <= r7["ok"] <= 20 + 20 * dt + 1 and r7["ok"] + r7["source"] == 60,
          f"60 requests at once from one source: about 20 served, the rest refused per source: {r7} in {dt:.2f} s")
    check(r8["ok"] >= 19, f"another source is not held back by the first one's limit: {r8}")
    # the first two sources took ~40 of the global 50; what came back
    # meanwhile is 50/s over the bursts' time
    check(r9["ok"] + r9["global"] == 20 and r9["ok"] <= 10 + 50 * dt + 1 and (r9["global"] > 0 or dt > 0.2),
          f"a third source hits the global 50/s: {r9} in {dt:.2f} s")
    time.sleep(1.1)
    check(burst("127.0.0.7", 5)["ok"] == 5, "a second later the source is served again")
    sec = security(P, sign=False)
    check(sec["refused"]["rate limit per source"] == r7["source"] + r8["source"] + r9["source"]
          and sec["refused"]["rate limit"] == r7["global"] + r8["global"] + r9["global"],
          f"statistics counts the rate refusals: {sec['refused']}")

# ---- 5. call limits ----
with Daemon("-o", "control.max_calls=3", "-o", "control.max_calls_per_source=2") as d:
    P = d.port

    def offer(cid, src, port=40000, tag="A"):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0))
        try:
            return bdecode(ng_request(P, bencode({"command": "offer", "call-id": cid, "from-tag": tag,
                                                  "sdp": call_sdp(port)}), sock=s))[0]
        finally:
            s.close()
    check(offer("c1", "127.0.0.1")["result"] == "ok" and offer("c2", "127.0.0.1")["result"] == "ok",
          "two calls from one source")
    r = offer("c3", "127.0.0.1")
    check("max_calls_per_source" in err(r) and "127.0.0.1" in err(r), f"a third from it is refused: {err(r)}")
    check(offer("c1", "127.0.0.1", 40002)["result"] == "ok", "a re-offer of an existing call is not a new call")
    check(offer("c4", "127.0.0.10")["result"] == "ok", "another source may still create one")
    r = offer("c5", "127.0.0.11")
    check("(max_calls)" in err(r), f"past max_calls = 3, any new call is refused: {err(r)}")
    q = bdecode(ng_request(P, bencode({"command": "query", "call-id": "c3"})))[0]
    check(q["result"] == "error", "a refused offer left no call behind")
    bdecode(ng_request(P, bencode({"command": "delete", "call-id": "c1"})))
    check(offer("c3", "127.0.0.1")["result"] == "ok", "once one of its calls is deleted, the source may create another")
    sec = security(P, sign=False)
    check(sec["refused"]["max calls per source"] == 1 and sec["refused"]["max calls"] == 1
          and sec["limits"]["calls"] == 3, f"statistics: the call refusals and the calls counted: {sec}")


# ---- 6. port exhaustion ----
base = free_range(8)  # four RTP/RTCP pairs: two calls of two legs
with Daemon("-o", "interface.tiny.address=127.0.0.1", "-o", f"interface.tiny.port_min={base}", "-o",
            f"interface.tiny.port_max={base + 7}") as d:
    P = d.port
    calls = []
    for i in range(2):
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        a.bind(("127.0.0.1", 0))
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        b.bind(("127.0.0.1", 0))
        o = bdecode(ng_request(P, bencode({"command": "offer", "call-id": f"p{i}", "from-tag": "A",
                                           "sdp": call_sdp(a.getsockname()[1])})))[0]
        an = bdecode(ng_request(P, bencode({"command": "answer", "call-id": f"p{i}", "from-tag": "A", "to-tag": "B",
                                            "sdp": call_sdp(b.getsockname()[1])})))[0]
        check(o["result"] == "ok" and an["result"] == "ok", f"call {i + 1} of 2 fits the four-pair range")
        calls.append((a, b, media_port(an["sdp"]), media_port(o["sdp"])))
    refusals = []

    def try_offer(n):
        r = bdecode(ng_request(P, bencode({"command": "offer", "call-id": f"x{n}", "from-tag": "A",
                                           "sdp": call_sdp(40000)})))[0]
        refusals.append(err(r))
    try_offer(0)
    check(refusals[0] == "No media ports left on interface 'tiny'", f"the next offer gets a clear error: {refusals[0]}")
    # both calls relay, both ways, while more offers are refused
    N = 300
    for s in [x for c in calls for x in c[:2]]:
        s.setblocking(False)
    got = {(i, side): [] for i in range(2) for side in range(2)}

    def collect():
        for i, (a, b, to_a, to_b) in enumerate(calls):
            for side, s in ((0, b), (1, a)):
                while True:
                    try:
                        got[(i, side)].append(struct.unpack("!H", s.recv(2000)[2:4])[0])
                    except BlockingIOError:
                        break
    for n in range(N):
        for i, (a, b, to_a, to_b) in enumerate(calls):
            a.sendto(struct.pack("!BBHII", 0x80, 0, n, n * 160, 100 + i) + b"\xd5" * 160, ("127.0.0.1", to_a))
            b.sendto(struct.pack("!BBHII", 0x80, 0, n, n * 160, 200 + i) + b"\xd5" * 160, ("127.0.0.1", to_b))
        if n % 30 == 0:
            try_offer(n + 1)
        time.sleep(0.002)
        collect()
    deadline = time.time() + 2
    while time.time() < deadline and any(len(v) < N for v in got.values()):
        time.sleep(0.05)
        collect()
    counts = {k: len(v) for k, v in got.items()}
    check(all(v == list(range(N)) for v in got.values()),
          f"the calls already up relay with zero loss, in order, both ways, while offers are refused: {counts}")
    check(len(refusals) == 1 + N // 30 and all(x == refusals[0] for x in refusals),
          f"every offer during the run was refused the same way ({len(refusals)})")
    st = bdecode(ng_request(P, bencode({"command": "statistics"})))[0]["statistics"]
    check(st["currentstatistics"]["sessionsown"] == 2, "the refused offers left no call behind")
    bdecode(ng_request(P, bencode({"command": "delete", "call-id": "p0"})))
    # a deleted leg's ports come back after the workers' grace period
    # (reclaimed on the control lcore's 1 s timer)
    deadline = time.time() + 5
    while True:
        r = bdecode(ng_request(P, bencode({"command": "offer", "call-id": "after", "from-tag": "A",
                                           "sdp": call_sdp(40000)})))[0]
        if r["result"] == "ok" or time.time() > deadline:
            break
        time.sleep(0.2)
    check(r["result"] == "ok", f"a deleted call's ports serve a new offer (none leaked by the refusals): {err(r)}")
    for c in calls:
        c[0].close()
        c[1].close()

os.unlink(keys)
finish()
