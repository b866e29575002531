"""A conference room driven from Kamailio alone: three sipp callers dial
the room through Kamailio running the shipped control/kamailio-conference.cfg.

    sipp UAC 1 (PCMU, 440 Hz)  --+
    sipp UAC 2 (PCMU, 700 Hz)  --+--SIP--> Kamailio --ng (UDP)--> mediusd
    sipp UAC 3 (PCMA, 1000 Hz) --+          (answers the INVITEs itself)
          |  ^                                                   |
          |  +------------- each one's mix (RTP) ----------------+
          +------------------ its tone (RTP) --------------------> room

Kamailio runs the shipped file unmodified, set up with preprocessor
defines only (-A SIP_LISTEN=..., -A MEDIUS_NG=...): on each INVITE to
sip:care-team-7@... it calls rtpengine_offer("conference=$rU create-room
..."), msg_apply_changes(), set_reply_body($rb) and sl_send_reply 200;
on the BYE rtpengine_delete(), then 200. Each caller
(kamailio/uac_room.xml) plays a pcap made here (4 s of its tone, G.711,
20 ms packets) to the address of the 200 OK's SDP, stays a little longer,
then hangs up. The three are started together, so that their audio
overlaps for over 3 s.

Checked: every caller completes its scenario (sipp exit 0), and the SDP
it got is medius's answer (o=medius, s= the room, 127.0.0.1, a port in
30000-39999, its own codec); on the wire (tshark on mediusd's ng port)
the module sent the room as a `conference` dictionary entry and
create-room in `flags`; while all three are in, `query room` lists three
members. From the capture on lo, each caller's received RTP (from
medius's port, in its codec) decoded: over the time all three were
sending, it hears the other two tones (each a share of the power above
HEARD) and not its own (below NOT_HEARD). After the BYEs, `query room`
lists no member and `list` no call; Kamailio's log shows three offers and
three deletes, no error.

Environment: as test_kamailio.py (MEDIUSD, MEDIUSCTL, KAMAILIO,
KAMAILIO_MPATH, SIPP, TSHARK). Needs root (sipp plays pcaps through a raw
socket, tshark captures on lo); exits 77 (skipped) when a tool is
missing. KEEP_TMP=1 keeps the temp dir. Standard library only (audioop
for G.711, as test_jitter.py).
"""
import math
import os
import re
import struct
import sys
import tempfile
import time
import warnings

with warnings.catch_warnings():  # deprecated (removed in Python 3.13), as test_jitter.py uses it
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from medius_test import Daemon, check, finish, ng  # noqa: E402
from media_check import (KAMAILIO, KAMAILIO_MPATH, MEDIUS_PORTS, SIPP, TSHARK, check_mediusd_stops,  # noqa: E402
                         check_sipp, clean_up, end_kamailio, fill_config, goertzel_power, ng_exchanges_timed,
                         peer_port, read_text, require_sip_peers, rtp_fields, sdp_target, sipp_received,
                         start_capture, start_kamailio, start_sipp, stop, stop_all, wait_bound, wait_exit)

SOURCE = os.environ.get("MEDIUS_SOURCE", os.path.dirname(os.path.dirname(HERE)))
SHIPPED_CFG = os.path.join(SOURCE, "control", "kamailio-conference.cfg")
ROOM = "care-team-7"
# (name, codec, payload type, tone Hz)
UACS = [("uac1", "PCMU", 0, 440), ("uac2", "PCMU", 0, 700), ("uac3", "PCMA", 8, 1000)]
TONE_SECONDS = 4.0
STAY_MS = 5000     # in the room after the tone starts: BYE 1 s after its end
HEARD = 0.05       # another participant's tone: at least this share of the power (as test_room.py)
NOT_HEARD = 0.005  # its own: at most this
MIN_OVERLAP = 2.5  # s all three must have sent at once (they start together: ~3.8 s expected)

require_sip_peers((KAMAILIO, SIPP, TSHARK), "apt-get install kamailio sip-tester tshark")


def tone_pcap(path, codec, pt, freq, ssrc, seconds=TONE_SECONDS):
    """Write a pcap (Ethernet, IPv4, UDP) of an RTP stream: seconds of a
    freq Hz tone at -12 dBFS in G.711 (codec PCMU or PCMA), 20 ms a
    packet, as sipp's play_pcap_audio reads it (it sends the RTP to the
    SDP's address with the capture's timing)."""
    n = int(seconds * 50)
    pcm = b"".join(struct.pack("<h", int(8192 * math.sin(2 * math.pi * freq * i / 8000)))
                   for i in range(n * 160))
    law = audioop.lin2ulaw(pcm, 2) if codec == "PCMU" else audioop.lin2alaw(pcm, 2)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for k in range(n):
        rtp = struct.pack("!BBHII", 0x80, pt | (0x80 if k == 0 else 0), k, k * 160, ssrc) + law[k * 160:(k + 1) * 160]
        udp = struct.pack("!HHHH", 40000, 40002, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), k, 0, 64, 17, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
        csum = sum(struct.unpack("!10H", ip))
        csum = (csum & 0xFFFF) + (csum >> 16)
        csum = ~((csum & 0xFFFF) + (csum >> 16)) & 0xFFFF
        ip = ip[:10] + struct.pack("!H", csum) + ip[12:]
        frame = b"\0" * 12 + b"\x08\x00" + ip + udp
        t_us = k * 20000
        out.append(struct.pack("<IIII", 1_700_000_000 + t_us // 1_000_000, t_us % 1_000_000, len(frame), len(frame)))
        out.append(frame)
    with open(path, "wb") as f:
        f.write(b"".join(out))
    return path


def share(pcm, freq):
    """freq's share of the power of pcm (Goertzel over the mean square)."""
    if not pcm:
        return 0.0
    total = sum(v * v for v in pcm) / len(pcm)
    return goertzel_power(pcm, 8000, freq) / total if total > 0 else 0.0


def members():
    q = ng(d.port, command="query room", conference=ROOM)
    return q, q.get("members", [])


tmp = tempfile.mkdtemp(prefix="medius-kamailio-room-")
kam = None
try:
    with Daemon() as d:
        kam_port = peer_port()
        defines = [f"SIP_LISTEN=udp:127.0.0.1:{kam_port}", f'MEDIUS_NG="udp:127.0.0.1:{d.port}"',
                   f'KAM_MPATH="{KAMAILIO_MPATH}"', "WITH_DEBUG"]
        kam, kam_log = start_kamailio(os.path.abspath(SHIPPED_CFG), "kamailio_room", tmp, kam_port, defines=defines)
        uacs = []
        for i, (name, codec, pt, freq) in enumerate(UACS):
            pcap = tone_pcap(os.path.join(tmp, f"{name}.pcap"), codec, pt, freq, 0x1000 + i)
            xml = fill_config("uac_room.xml", os.path.join(tmp, f"{name}.xml"), PCAP=pcap, PT=pt, CODEC=codec,
                              STAY_MS=STAY_MS)
            uacs.append((name, codec, pt, freq, xml, peer_port(), peer_port()))
        media_ports = [u[6] for u in uacs]
        cap = os.path.join(tmp, "media.pcapng")
        ngcap = os.path.join(tmp, "ng.pcapng")
        procs = []
        files, rcs = {}, {}
        try:
            start_capture(cap, "udp and (" + " or ".join(f"port {p}" for p in media_ports) + ")", procs)
            start_capture(ngcap, f"udp port {d.port}", procs)
            sipps = []
            started = time.time()
            for name, codec, pt, freq, xml, sip_port, media_port in uacs:
                p, f = start_sipp(["-sf", xml, "-s", ROOM, "-i", "127.0.0.1", "-p", str(sip_port),
                                   "-mi", "127.0.0.1", "-mp", str(media_port), f"127.0.0.1:{kam_port}"],
                                  name, tmp, procs)
                sipps.append((name, p))
                files[name] = f
            for name, p in sipps:
                wait_bound(p, dict((u[0], u[5]) for u in uacs)[name])
            # while all three are in the room (their tones play for 4 s)
            time.sleep(2.0)
            q, mem = members()
            print(f"    query room during the calls: {len(mem)} members: "
                  f"{[(m.get('call-id'), m.get('codec'), m.get('packets received')) for m in mem]}", flush=True)
            check(len(mem) == 3 and sorted(m.get("codec", "").upper().split("/")[0] for m in mem)
                  == ["PCMA", "PCMU", "PCMU"],
                  f"query room: three members while the callers are in, in their codecs: "
                  f"{[m.get('codec') for m in mem]}")
            for name, p in sipps:
                rcs[name] = wait_exit(p, 30)
            took = time.time() - started
            time.sleep(0.3)  # let the captures take the last packets in
        finally:
            stop_all(procs)
        for name, _ in sipps:
            check_sipp(name, rcs[name], files[name], took)

        # --- the SDP each caller got: medius's answer ---
        answers = {}
        for name, codec, pt, freq, xml, sip_port, media_port in uacs:
            ok = sipp_received(files[name], "SIP/2.0 200")
            inv_ok = [t for t, _ in ok if "CSeq: 1 INVITE" in t]
            body = inv_ok[0] if inv_ok else ""
            tgt = sdp_target(body)
            answers[name] = tgt
            to_tag = re.search(r"^To:.*;tag=", body, re.M | re.I)
            check(tgt is not None and tgt[0] == "127.0.0.1" and tgt[1] in MEDIUS_PORTS and tgt[2][0] == str(pt)
                  and re.search(r"^o=medius ", body, re.M) and re.search(rf"^s={ROOM}\s*$", body, re.M)
                  and to_tag is not None and re.search(r"^Contact:", body, re.M | re.I),
                  f"{name}: the 200 OK (with a To-tag and a Contact) carries medius's answer: o=medius, s={ROOM},"
                  f" {tgt}, its own {codec}")
        ports = [a[1] for a in answers.values() if a]
        check(len(set(ports)) == 3, f"each caller has its own medius port: {ports}")

        # --- the ng exchanges: what Kamailio's module sent ---
        ex = ng_exchanges_timed(ngcap, d.port)
        offers = [(req, rep) for req, rep, _ in ex if req.get("command") == "offer"]
        deletes = [(req, rep) for req, rep, _ in ex if req.get("command") == "delete"]
        print(f"    ng: {[req.get('command') for req, _, _ in ex]}; the first offer's keys: "
              f"{sorted(offers[0][0]) if offers else None}, flags {offers[0][0].get('flags') if offers else None}",
              flush=True)
        check(len(offers) == 3 and all(req.get("conference") == ROOM.encode() or req.get("conference") == ROOM
                                       for req, _ in offers),
              f"the module sent conference={ROOM} as a dictionary entry of each offer:"
              f" {[req.get('conference') for req, _ in offers]}")
        check(all("create-room" in [f.decode() if isinstance(f, bytes) else f for f in req.get("flags", [])]
                  for req, _ in offers),
              f"and create-room in its flags: {[req.get('flags') for req, _ in offers]}")
        check(all(rep is not None and rep.get("result") in ("ok", b"ok") for _, rep in offers + deletes)
              and len(deletes) == 3,
              f"medius answered the 3 offers and 3 deletes ok: {[(rep or {}).get('result') for _, rep in offers + deletes]}")
        warnings = [rep.get("warning") for _, rep in offers if rep and rep.get("warning")]
        check(not warnings, f"medius understood every flag the shipped script sends (no warning): {warnings}")
        check(sorted(req.get("call-id") for req, _ in deletes) == sorted(req.get("call-id") for req, _ in offers),
              "each participant's BYE deleted its own call-id")

        # --- what each caller heard: the RTP medius sent to its media port ---
        sent = {}  # name -> (first, last) time it sent RTP
        for name, codec, pt, freq, xml, sip_port, media_port in uacs:
            rows = rtp_fields(cap, "frame.time_epoch", port=media_port, where=f"udp.srcport=={media_port}")
            if rows:
                sent[name] = (float(rows[0][0]), float(rows[-1][0]))
        if len(sent) == 3:
            lo, hi = max(s[0] for s in sent.values()), min(s[1] for s in sent.values())
        else:
            lo, hi = 0, 0
        print(f"    the callers sent RTP over {[(n, round(b - a, 2)) for n, (a, b) in sent.items()]};"
              f" all three at once for {hi - lo:.2f} s", flush=True)
        check(hi - lo >= MIN_OVERLAP, f"the three callers' audio overlapped for {hi - lo:.2f} s (>= {MIN_OVERLAP})")
        for name, codec, pt, freq, xml, sip_port, media_port in uacs:
            rows = rtp_fields(cap, "frame.time_epoch", "udp.srcport", "rtp.p_type", "rtp.payload", port=media_port,
                              where=f"udp.dstport=={media_port}")
            srcs = sorted({int(r[1]) for r in rows})
            pts = sorted({r[2] for r in rows})
            # the overlap, less the mixer's start-up (0.3 s) at its start
            win = [r for r in rows if lo + 0.3 <= float(r[0]) <= hi]
            law = b"".join(bytes.fromhex(r[3].replace(":", "")) for r in win)
            pcm_bytes = audioop.ulaw2lin(law, 2) if codec == "PCMU" else audioop.alaw2lin(law, 2)
            pcm = list(struct.unpack(f"<{len(pcm_bytes) // 2}h", pcm_bytes))
            shares = {f: share(pcm, f) for _, _, _, f in UACS}
            print(f"    {name} ({codec}, {freq} Hz) received {len(rows)} RTP packets from medius port(s) {srcs},"
                  f" payload types {pts}; over the overlap ({len(win)} packets): "
                  + ", ".join(f"{f} Hz {s:.4f}" for f, s in shares.items()), flush=True)
            tgt = answers.get(name)
            check(len(rows) > 100 and srcs == [tgt[1] if tgt else -1] and pts == [str(pt)],
                  f"{name}: its RTP comes from its medius port {tgt and tgt[1]}, in {codec}: {len(rows)} packets")
            others = [f for _, _, _, f in UACS if f != freq]
            check(len(win) >= MIN_OVERLAP * 50 * 0.8 and all(shares[f] > HEARD for f in others),
                  f"{name} hears the other two ({' and '.join(f'{f} Hz {shares[f]:.3f}' for f in others)} > {HEARD})")
            check(len(win) > 0 and shares[freq] < NOT_HEARD,
                  f"{name} does not hear its own {freq} Hz ({shares[freq]:.4f} < {NOT_HEARD})")

        # --- BYE took each participant out ---
        q, mem = members()
        check(q.get("result") in ("ok", b"ok") and mem == [],
              f"query room after the BYEs: the room is there, with no member: {mem}")
        calls = ng(d.port, command="list").get("calls")
        check(calls == [], f"no call left in medius: {calls}")
        end_kamailio("kamailio_room", kam, kam_log, 3, fns=("rtpengine_offer", "rtpengine_delete"))
        klog = read_text(kam_log)
        for m in ("INVITE", "BYE", "ACK"):
            n = len(re.findall(rf"\b{m} sip:", klog))
            print(f"    Kamailio logged {n} {m} requests", flush=True)
        check_mediusd_stops(d, min_requests=8)
except Exception as e:  # a peer that would not start, a timeout: a failure, cleaned up below
    check(False, f"the test ran to its end: {type(e).__name__}: {e}")
    print("    Kamailio's log (end):\n" + read_text(os.path.join(tmp, "kamailio_room.log"))[-3000:])
finally:
    if kam is not None and kam.poll() is None:
        stop(kam)
    clean_up(tmp)
finish()
