"""Conference rooms over ng (control/ctl_room.c) with real peers.

mediusd is driven over ng as a SIP proxy would; GStreamer is every
participant (sender and decoder, as in test_room.py, whose helpers this
reuses). Judged by Goertzel energy in the decoded audio.

  1. Five participants (PCMU, PCMA, G.722, Opus, PCMU) each send an offer
     with conference=care; medius answers each with its own SDP: one
     codec, the participant's own, and medius's address. Each hears every
     other tone and not its own (N-1).
  2. set participant: p1 muted is heard by nobody; p4's audience [p5]:
     only p5 hears it. "query room" lists the members and their talker
     events.
  3. Bad input changes nothing: a missing room, no codec the room takes,
     the call in another room, another from-tag, an unknown audience
     target, a bad gain: each is an error reply, and the room's members
     and settings are as before.
  4. delete and kick take participants out; destroy room ends the rest.
  5. connect: two relayed calls (alice-bob, carol-dave) become one room:
     each of the four parties hears the other three.

Standard library only (plus gst-launch-1.0).
"""
import math
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from medius_test import Daemon, check, finish, ng  # noqa: E402
from test_room import (GST, HEARD, NOT_HEARD, PARTS, RATE_OUT, check_n_minus_1, free_udp_port,  # noqa: E402
                       goertzel_share, receiver, run_phase, shares)

SECONDS = 6.0


def offer_sdp(port, part, direction="sendrecv"):
    _, rtpmap, pt, *_ = part
    enc = rtpmap.split("/")
    rtpmap_line = f"a=rtpmap:{pt} {rtpmap}\r\n" if pt >= 96 else ""
    return (f"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP {pt} 101\r\n{rtpmap_line}"
            f"a=rtpmap:101 telephone-event/{enc[1]}\r\na=ptime:20\r\na={direction}\r\n"
            f"m=video {port + 2} RTP/AVP 97\r\na=rtpmap:97 VP8/90000\r\n")


def answer_port(sdp):
    m = re.search(r"m=audio (\d+) RTP/AVP ([0-9 ]+)", sdp)
    return int(m.group(1)), m.group(2).split()


def members(port, room="care"):
    q = ng(port, command="query room", conference=room)
    return {m["call-id"]: m for m in q.get("members", [])}, q


def conference_part(d):
    ports = []
    for part in PARTS:
        peer = free_udp_port()
        r = ng(d.port, command="offer", call_id=f"call-{part[0]}", from_tag=f"tag-{part[0]}", conference="care",
               sdp=offer_sdp(peer, part), flags=["asymmetric"])
        check(r.get("result") == "ok", f"{part[0]} ({part[1]}) joins over ng ({r.get('error-reason')})")
        sdp = r.get("sdp", "")
        port, pts = answer_port(sdp)
        check(pts[0] == str(part[2]) and "127.0.0.1" in sdp and re.search(r"^o=medius \d+ \d+ IN IP4 ", sdp, re.M),
              f"{part[0]}: medius answers its own codec first ({' '.join(pts)}) with its own origin")
        check(re.search(r"m=video 0 ", sdp) is not None, f"{part[0]}: the video section is rejected (port 0)")
        check("telephone-event" in sdp and "a=sendrecv" in sdp, f"{part[0]}: DTMF kept, sendrecv answered")
        ports.append((port, peer))

    check_n_minus_1(run_phase(None, ports, SECONDS), SECONDS)
    mem, q = members(d.port)
    check(len(mem) == 5 and all(m["packets received"] > 100 and m["packets sent"] > 100 for m in mem.values()),
          f"query room: 5 members, each received and sent media "
          f"({[(k, m['packets received'], m['packets sent']) for k, m in mem.items()]})")
    started = {e["call-id"] for e in q.get("events", []) if e["event"] == "talking"}
    check(started == {f"call-{p[0]}" for p in PARTS}, f"query room: every participant's talker event ({started})")
    return ports


def relations(d, ports):
    r = ng(d.port, command="set participant", call_id="call-p1", flags=["mute"])
    check(r.get("result") == "ok" and r["participant"]["muted"] == 1, f"p1 muted ({r.get('error-reason')})")
    r = ng(d.port, command="set participant", call_id="call-p4", audience=["call-p5"])
    check(r.get("result") == "ok", f"p4 whispers to p5 ({r.get('error-reason')})")
    pcm = run_phase(None, ports, 4.0)
    for i in (1, 2, 3, 4):
        check(shares(pcm[i])[0] < NOT_HEARD, f"muted p1 is not heard by {PARTS[i][0]} ({shares(pcm[i])[0]:.4f})")
    check(shares(pcm[4])[3] > HEARD, f"p5 hears p4's whisper ({shares(pcm[4])[3]:.3f})")
    for i in (0, 1, 2):
        check(shares(pcm[i])[3] < NOT_HEARD, f"{PARTS[i][0]} does not hear p4's whisper ({shares(pcm[i])[3]:.4f})")


def levels(d):
    """A silent Opus participant that sends RFC 6464 levels (GStreamer's level element and the payloader's
    audio-level extension, as test_room_levels.py) joins over ng with a=extmap: medius answers the extmap
    (recvonly) and does not decode its quiet packets."""
    import test_room_levels as tl
    peer = free_udp_port()
    sdp = offer_sdp(peer, PARTS[3]).replace("a=ptime:20\r\n", f"a=ptime:20\r\na=extmap:1 {tl.URI}\r\n")
    r = ng(d.port, command="offer", call_id="call-lv", from_tag="tag-lv", conference="care", sdp=sdp,
           flags=["asymmetric"])
    check(r.get("result") == "ok" and f"a=extmap:1/recvonly {tl.URI}" in r.get("sdp", ""),
          f"levels: the answer takes the audio level extension ({r.get('error-reason')})")
    port = answer_port(r["sdp"])[0]
    tx = tl.gst((tl.branch("s1", port, tl.tone_src(0, 3.0, 48000))).split())
    tx.wait(20)
    time.sleep(0.3)
    mem, _ = members(d.port)
    lv = mem.get("call-lv", {})
    check(lv.get("packets with level", 0) > 100 and lv.get("packets not decoded", 0) > 100
          and lv.get("packets not decoded", 0) >= lv.get("packets with level", 0) - 5,
          f"levels: its quiet packets carry levels and are not decoded ({lv.get('packets with level')} with a "
          f"level, {lv.get('packets not decoded')} not decoded, {lv.get('packets received')} received)")
    r = ng(d.port, command="delete", call_id="call-lv")
    check(r.get("result") == "ok", "levels: the participant leaves")


def hold(d, ports):
    """p2 re-offers sendonly (hold): answered recvonly, muted and deafened; then sendrecv again."""
    peer = ports[1][1]
    r = ng(d.port, command="offer", call_id="call-p2", from_tag="tag-p2", conference="care",
           sdp=offer_sdp(peer, PARTS[1], "sendonly"), flags=["asymmetric"])
    mem, _ = members(d.port)
    check(r.get("result") == "ok" and "a=recvonly" in r.get("sdp", "") and answer_port(r["sdp"])[0] == ports[1][0],
          f"hold: a sendonly re-offer is answered recvonly on the same port ({r.get('error-reason')})")
    check(mem["call-p2"]["on hold"] == 1 and mem["call-p2"]["muted"] == 0,
          f"hold: p2 is on hold, its own mute setting untouched ({mem['call-p2']['on hold']})")
    r = ng(d.port, command="offer", call_id="call-p2", from_tag="tag-p2", conference="care",
           sdp=offer_sdp(peer, PARTS[1]), flags=["asymmetric"])
    mem, _ = members(d.port)
    check(r.get("result") == "ok" and "a=sendrecv" in r.get("sdp", "") and mem["call-p2"]["on hold"] == 0,
          "hold: resumed with a sendrecv re-offer")
    r = ng(d.port, command="offer", call_id="call-p2", from_tag="tag-p2", conference="care",
           sdp=offer_sdp(peer, PARTS[0]), flags=["asymmetric"])
    check(r.get("result") == "error" and "keeps its codec" in r.get("error-reason", ""),
          f"a re-offer that changes the codec is refused ({r.get('error-reason')})")


PLAY_HZ, PLAY_S = 1700, 1.5


def playback(d, ports):
    """play media into the room: every participant hears the file's tone, for its length."""
    wav = tempfile.NamedTemporaryFile(prefix="room-play-", suffix=".wav", delete=False).name
    with wave.open(wav, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * PLAY_HZ * i / 16000)))
                               for i in range(int(16000 * PLAY_S))))
    outs, rx = [], []
    for part, (_, peer) in zip(PARTS, ports):
        out = tempfile.NamedTemporaryFile(prefix=f"room-play-{part[0]}-", suffix=".raw", delete=False).name
        outs.append(out)
        rx.append(receiver(part, peer, out))
    time.sleep(1.0)
    r = ng(d.port, command="play media", conference="care", file=wav)
    check(r.get("result") == "ok" and abs(r.get("duration", 0) - PLAY_S * 1000) <= 20,
          f"play media into the room: duration {r.get('duration')} ms ({r.get('error-reason')})")
    pid = r.get("playback")
    time.sleep(PLAY_S + 1.5)
    for p in rx:
        p.send_signal(signal.SIGINT)
        p.wait(10)
    for part, out in zip(PARTS, outs):
        with open(out, "rb") as f:
            data = f.read()
        os.unlink(out)
        pcm = struct.unpack(f"<{len(data) // 2}h", data[: len(data) // 2 * 2])
        win = RATE_OUT // 50
        toned = sum(1 for k in range(0, len(pcm) - win, win)
                    if sum(x * x for x in pcm[k:k + win]) > win * 100 ** 2
                    and goertzel_share(pcm[k:k + win], PLAY_HZ) > 0.5)
        check(abs(toned - PLAY_S * 50) <= 4,
              f"play media: {part[0]} ({part[1]}) hears the {PLAY_HZ} Hz file for {toned} frames of 20 ms "
              f"(the file: {int(PLAY_S * 50)})")
    _, q = members(d.port)
    ends = [e for e in q.get("events", []) if e["event"] == "playback finished" and e.get("playback") == pid]
    check(len(ends) == 1 and abs(ends[0]["played-ms"] - PLAY_S * 1000) <= 20,
          f"query room: the playback's end is an event ({ends})")
    r = ng(d.port, command="play media", conference="care", file=wav + ".missing")
    check(r.get("result") == "error" and "Cannot play media" in r.get("error-reason", ""),
          f"an unreadable file is an error before playback starts ({r.get('error-reason')})")
    r = ng(d.port, command="stop media", conference="care", playback=pid)
    check(r.get("result") == "error", f"stop media of a playback that ended is an error ({r.get('error-reason')})")
    r = ng(d.port, command="play media", conference="care", file=wav, repeat_times=100)
    r2 = ng(d.port, command="stop media", conference="care", playback=r.get("playback", -1))
    check(r.get("result") == "ok" and r2.get("result") == "ok", f"stop media stops a room's playback ({r2})")
    time.sleep(1.2)
    _, q = members(d.port)
    check(any(e["event"] == "playback stopped" and e.get("playback") == r.get("playback") for e in q["events"]),
          "query room: the stopped playback's end is an event")
    os.unlink(wav)


def bad_input(d):
    before, _ = members(d.port)
    part = PARTS[0]
    cases = [
        ("a missing room", dict(command="offer", call_id="x1", from_tag="f", conference="nosuch",
                                sdp=offer_sdp(4000, part)), "Unknown conference room"),
        ("no codec the room takes", dict(command="offer", call_id="x2", from_tag="f", conference="care",
                                         sdp=offer_sdp(4000, part).replace("RTP/AVP 0 101", "RTP/AVP 3")),
         "no codec"),
        ("a participant joining twice (another from-tag)",
         dict(command="offer", call_id="call-p2", from_tag="other", conference="care", sdp=offer_sdp(4000, part)),
         "another from-tag"),
        ("an unknown audience target", dict(command="set participant", call_id="call-p3", audience=["nobody"]),
         "Unknown participant"),
        ("a participant in its own audience", dict(command="set participant", call_id="call-p3",
                                                    audience=["call-p3"]), "itself"),
        ("an unknown participant", dict(command="set participant", call_id="call-none", flags=["mute"]),
         "Unknown participant"),
        ("a gain out of range", dict(command="set participant", call_id="call-p3", gain="40"), "gain"),
        ("a room created twice", dict(command="create room", conference="care"), "exists"),
        ("a bad room rate", dict(command="create room", conference="odd", rate=11025), "rate"),
    ]
    ng(d.port, command="create room", conference="other")
    cases.append(("a participant moving to another room",
                  dict(command="offer", call_id="call-p2", from_tag="tag-p2", conference="other",
                       sdp=offer_sdp(4000, PARTS[1])), "is in conference room"))
    for what, cmd, reason in cases:
        r = ng(d.port, **cmd)
        check(r.get("result") == "error" and reason.lower() in r.get("error-reason", "").lower(),
              f"{what}: an error ({r.get('error-reason')})")
    after, _ = members(d.port)
    same = {k: (m["muted"], m["deaf"], m["gain"], m["id"]) for k, m in before.items()}
    check(same == {k: (m["muted"], m["deaf"], m["gain"], m["id"]) for k, m in after.items()},
          "bad input changed no member of the room")
    rooms = {x["conference"] for x in ng(d.port, command="list rooms")["conferences"]}
    check(rooms == {"care", "other"}, f"no room was made by the bad requests ({rooms})")
    calls = set(ng(d.port, command="list")["calls"])
    check(calls == {f"call-{p[0]}" for p in PARTS}, f"no call was made by the bad requests ({calls})")
    ng(d.port, command="destroy room", conference="other")


def leave(d):
    r = ng(d.port, command="delete", call_id="call-p2")
    check(r.get("result") == "ok", "delete: p2's call ends")
    r = ng(d.port, command="kick participant", call_id="call-p3")
    check(r.get("result") == "ok", f"kick participant: p3 ({r.get('error-reason')})")
    mem, _ = members(d.port)
    check(set(mem) == {"call-p1", "call-p4", "call-p5"}, f"p2 and p3 left ({sorted(mem)})")
    r = ng(d.port, command="destroy room", conference="care")
    check(r.get("result") == "ok" and sorted(r.get("deleted", [])) == ["call-p1", "call-p4", "call-p5"],
          f"destroy room ends the others' calls ({r.get('deleted')})")
    check(ng(d.port, command="list").get("calls") == [] and ng(d.port, command="list rooms")["conferences"] == [],
          "no call and no room left")


def connect(d):
    """alice-bob and carol-dave, relayed (PCMU), then connected."""
    names = ["alice", "bob", "carol", "dave"]
    tones = [PARTS[0], PARTS[1], PARTS[2], PARTS[4]]  # PCMU 300, PCMA 500, G.722 700, PCMU 1300 Hz
    tones = [(n,) + t[1:] for n, t in zip(names, tones)]
    peers = [free_udp_port() for _ in names]
    medius = [0] * 4
    for c, (a, b) in enumerate(((0, 1), (2, 3))):
        cid = f"connect-{c}"
        r = ng(d.port, command="offer", call_id=cid, from_tag=names[a], sdp=offer_sdp(peers[a], tones[a]),
               flags=["asymmetric"])
        check(r.get("result") == "ok", f"{cid}: offer ({r.get('error-reason')})")
        medius[b] = answer_port(r["sdp"])[0]
        r = ng(d.port, command="answer", call_id=cid, from_tag=names[a], to_tag=names[b],
               sdp=offer_sdp(peers[b], tones[b]), flags=["asymmetric"])
        check(r.get("result") == "ok", f"{cid}: answer ({r.get('error-reason')})")
        medius[a] = answer_port(r["sdp"])[0]
    r = ng(d.port, command="connect", call_id="connect-0", to_call_id="connect-1", talkers=4)
    check(r.get("result") == "ok" and r.get("participants") == 4,
          f"connect: the two calls are one room of 4 ({r.get('error-reason') or r.get('conference')})")
    r2 = ng(d.port, command="connect", call_id="connect-0", to_call_id="connect-1")
    check(r2.get("result") == "error", f"connecting again is an error ({r2.get('error-reason')})")
    import test_room
    saved = test_room.PARTS
    test_room.PARTS = tones
    try:
        pcm = run_phase(None, list(zip(medius, peers)), SECONDS)
        for i, name in enumerate(names):
            s = shares(pcm[i])
            check(all(s[k] > HEARD for k in range(4) if k != i) and s[i] < NOT_HEARD,
                  f"connect: {name} hears the other three and not itself ({', '.join(f'{x:.3f}' for x in s)})")
    finally:
        test_room.PARTS = saved
    r = ng(d.port, command="delete", call_id="connect-0")
    mem, _ = members(d.port, "connect:connect-0")
    check(set(mem) == {"connect-1"}, f"deleting one call takes its two parties out ({sorted(mem)})")
    ng(d.port, command="destroy room", conference="connect:connect-0")


def main():
    if subprocess.run([GST, "--version"], capture_output=True).returncode:
        print("SKIP: gst-launch-1.0 not available")
        sys.exit(77)
    with Daemon("--set", f"media.play_dir={tempfile.gettempdir()}") as d:
        r = ng(d.port, command="offer", call_id="early", from_tag="f", conference="care",
               sdp=offer_sdp(4000, PARTS[0]))
        check(r.get("result") == "error" and "Unknown conference room" in r.get("error-reason", ""),
              f"an offer into a room that does not exist is refused ({r.get('error-reason')})")
        r = ng(d.port, command="create room", conference="care", rate=16000, talkers=5)
        check(r.get("result") == "ok" and r.get("rate") == 16000 and r.get("talkers") == 5,
              f"create room care ({r})")
        ports = conference_part(d)
        playback(d, ports)
        levels(d)
        relations(d, ports)
        hold(d, ports)
        bad_input(d)
        leave(d)
        connect(d)
        time.sleep(0.2)
    finish()


if __name__ == "__main__":
    main()
