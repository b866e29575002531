"""A conference room recorded as a whole (docs/recording.md), over ng, with
real participants (GStreamer, as in test_room_ng.py).

  1. "create room" with the flag "record call": the reply names the
     recording (id, path); four participants (PCMU, PCMA, G.722, Opus)
     join over ng, each sending its own tone; "query room" shows the
     recording running; "destroy room" finalises it. The mono WAV holds
     each talker's tone (Goertzel share of the power in the steady
     middle), and not a tone nobody sent; the sidecar says complete; the
     audit log has its start and finalise.
  2. "start recording" / "pause recording" / "stop recording" with the
     key conference on a room made without the flag: replies carry the
     recording; starting twice, stopping a room not recorded, Ogg Opus,
     an unknown room, and start recording of a participant's call are
     errors that change nothing."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from medius_test import Daemon, check, finish, ng  # noqa: E402
from test_room import GST, PARTS, goertzel_share, run_phase  # noqa: E402
from test_room_ng import answer_port, offer_sdp  # noqa: E402
from test_room import free_udp_port  # noqa: E402

SECONDS = 5.0
TALKERS = PARTS[:4]
ABSENT = PARTS[4][3]  # p5's tone: nobody sends it


def join(d, room, parts):
    ports = []
    for part in parts:
        peer = free_udp_port()
        r = ng(d.port, command="offer", call_id=f"{room}-{part[0]}", from_tag=f"tag-{part[0]}", conference=room,
               sdp=offer_sdp(peer, part), flags=["asymmetric"])
        check(r.get("result") == "ok", f"{part[0]} ({part[1]}) joins room {room} ({r.get('error-reason')})")
        ports.append((answer_port(r.get("sdp", ""))[0], peer))
    return ports


def main():
    if subprocess.run([GST, "--version"], capture_output=True).returncode:
        print("SKIP: gst-launch-1.0 not available")
        sys.exit(77)
    root = tempfile.mkdtemp(prefix="medius-roomrec-")
    os.chmod(root, 0o755)
    with Daemon("--set", f"recording.dir={root}", "--set", "recording.rate=16000") as d:
        # --- 1. recorded from creation ---
        r = ng(d.port, command="create room", conference="board", rate=16000, talkers=5, flags=["record call"],
               metadata="retention:board|meeting:7")
        rec = r.get("recording", {})
        check(r.get("result") == "ok" and rec.get("path", "").endswith(".wav") and len(rec.get("id", "")) == 16
              and rec.get("conference") == "board",
              f"create room with record call: the reply names the recording ({rec or r.get('error-reason')})")
        ports = join(d, "board", TALKERS)
        run_phase(None, ports, SECONDS)
        q = ng(d.port, command="query room", conference="board")
        qr = q.get("recording", {})
        check(qr.get("id") == rec.get("id") and qr.get("path") == rec.get("path") and qr.get("state") == "recording"
              and qr.get("duration_ms", 0) > SECONDS * 1000 * 0.8,
              f"query room shows the recording ({ {k: qr.get(k) for k in ('id', 'state', 'duration_ms')} })")
        r = ng(d.port, command="start recording", call_id="board-p1")
        check(r.get("result") == "error" and "conference" in r.get("error-reason", ""),
              f"a participant's call is not recorded alone ({r.get('error-reason')})")
        r = ng(d.port, command="destroy room", conference="board")
        check(r.get("result") == "ok" and r.get("recording", {}).get("state") == "stopped",
              f"destroy room stops the recording ({r.get('recording', {}).get('state')})")
        path = rec["path"]
        side = os.path.splitext(path)[0] + ".json"
        deadline = time.time() + 10
        while time.time() < deadline and not (os.path.exists(path) and os.path.exists(side) and
                                              json.load(open(side))["state"] == "complete"):
            time.sleep(0.1)
        check(os.path.exists(path) and not os.path.exists(path + ".part"), "the room's WAV is finalised")
        meta = json.load(open(side))
        check(meta["state"] == "complete" and meta["call-id"] == "room:board" and "meeting:7" in meta["metadata"],
              f"its sidecar: {meta['state']}, {meta['call-id']}, {meta['metadata']}")
        with wave.open(path) as w:
            ch, rate, n = w.getnchannels(), w.getframerate(), w.getnframes()
            data = w.readframes(n)
        pcm = [int.from_bytes(data[i:i + 2], "little", signed=True) for i in range(0, len(data) - 1, 2)]
        check(ch == 1 and rate == 16000 and n > rate * SECONDS * 0.8,
              f"a mono WAV at 16 kHz of {n / rate:.1f} s")
        # the steady part: 2 s in the middle of the span with sound
        talk = [i for i in range(0, len(pcm) - 320, 320) if max(abs(x) for x in pcm[i:i + 320]) > 1000]
        check(len(talk) > 0 and (talk[-1] - talk[0]) / rate > SECONDS * 0.8,
              f"the recording holds {(talk[-1] - talk[0]) / rate if talk else 0:.1f} s of sound")
        mid = (talk[0] + talk[-1]) // 2 if talk else 0
        win = pcm[max(0, mid - rate):mid + rate]
        shares = {p[0]: goertzel_share(win, p[3], rate) for p in TALKERS}
        absent = goertzel_share(win, ABSENT, rate)
        check(all(s > 0.08 for s in shares.values()),
              f"each talker's tone is in the recorded mix: {', '.join(f'{k} {v:.2f}' for k, v in shares.items())}")
        check(absent < 0.005, f"a tone nobody sent is not: {absent:.4f}")
        for t0 in range(0, len(pcm) - rate, rate // 2):  # over time (diagnostics)
            w1 = pcm[t0:t0 + rate // 2]
            print(f"     {t0 / rate:4.1f} s: " + " ".join(f"{p[0]} {goertzel_share(w1, p[3], rate):.2f}" for p in TALKERS)
                  + f"  peak {max(abs(x) for x in w1)}")
        audit = [json.loads(ln) for ln in open(os.path.join(root, "audit.log"))]
        mine = [e["event"] for e in audit if e["id"] == rec["id"]]
        check(mine == ["start", "stop", "finalise"], f"the audit log: {mine}")

        # --- 2. start / pause / stop recording on a room ---
        ng(d.port, command="create room", conference="desk")
        for what, args, want in (
                ("stop recording of a room not recorded", dict(command="stop recording", conference="desk"),
                 "not being recorded"),
                ("an unknown room", dict(command="start recording", conference="nosuch"), "Unknown conference"),
                ("Ogg Opus", dict(command="start recording", conference="desk", **{"recording-format": "opus"}),
                 "mono WAV")):
            r = ng(d.port, **args)
            check(r.get("result") == "error" and want in r.get("error-reason", ""), f"{what}: {r.get('error-reason')}")
        r = ng(d.port, command="start recording", conference="desk", **{"recording-file": "desk-meeting"})
        rec2 = r.get("recording", {})
        check(r.get("result") == "ok" and rec2.get("path") == os.path.join(root, "desk-meeting.wav"),
              f"start recording with conference: {rec2.get('path') or r.get('error-reason')}")
        r = ng(d.port, command="start recording", conference="desk")
        check(r.get("result") == "error" and "already" in r.get("error-reason", ""), f"twice: {r.get('error-reason')}")
        join(d, "desk", PARTS[:2])
        r = ng(d.port, command="pause recording", conference="desk")
        check(r.get("result") == "ok" and r["recording"]["state"] == "paused", "pause recording of the room")
        check(ng(d.port, command="query room", conference="desk").get("recording", {}).get("state") == "paused",
              "query room says paused")
        r = ng(d.port, command="start recording", conference="desk")
        check(r.get("result") == "ok" and r["recording"]["id"] == rec2.get("id"), "start recording resumes it")
        r = ng(d.port, command="stop recording", conference="desk")
        check(r.get("result") == "ok" and r["recording"]["state"] == "stopped", "stop recording of the room")
        check("recording" not in ng(d.port, command="query room", conference="desk"),
              "query room has no recording after stop")
        r = ng(d.port, command="start recording", conference="desk", **{"recording-file": "desk-2"})
        check(r.get("result") == "ok", f"a room can be recorded again ({r.get('error-reason')})")
        ng(d.port, command="destroy room", conference="desk")
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(os.path.join(root, "desk-2.wav")):
            time.sleep(0.1)
        check(os.path.exists(os.path.join(root, "desk-2.wav")), "destroy room finalised the second recording")
    shutil.rmtree(root, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
