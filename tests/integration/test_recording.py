"""Call recording (ng "start/stop/pause recording", "record call";
docs/recording.md), with two GStreamer peers sending different tones:
  1. A relayed PCMU call recorded as stereo WAV, per-leg WAVs and a pcap:
     ffprobe reads every file; the caller's tone is on the left channel
     and the callee's on the right (Goertzel), and the two start together;
     tshark reads the pcap's RTP (both streams).
  2. A transcoded call (PCMU <-> PCMA), recorded from the offer's "record
     call" flag as Ogg Opus: ffprobe says opus, 2 channels; ffmpeg decodes
     it and each tone is on its own channel. Deleting the call finalises it.
  3. Mixed mono, with a pause: both tones in the one channel, and the
     sidecar marks the pause with its length.
  4. kill -9 of mediusd mid-call, then a restart: the WAV is finalised,
     plays, lacks at most about the last second, and its sidecar says
     "incomplete".
  5. Bad input gets a clear error and changes nothing: recording-dir
     outside the root, path traversal in recording-file, an unknown call,
     starting twice, recording off without [recording] dir."""
import json
import math
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
import wave

from medius_test import Daemon, call_sdp, check, finish, free_port, media_port, ng
from media_check import goertzel_power, peer_port, stop
from recording_util import F_A, F_B, GST, call, ffprobe, sender, talk, wait_procs

RATE = 16000






def wait_final(path, timeout=10, main=None):
    """path is finalised, and the sidecar of main (default: path) says so."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path) and not os.path.exists(path + ".part"):
            side = os.path.splitext(main or path)[0] + ".json"
            if os.path.exists(side) and json.load(open(side))["state"] in ("complete", "incomplete"):
                return True
        time.sleep(0.1)
    return False



def channels_of(pcm_bytes, n_ch):
    import array
    a = array.array("h")
    a.frombytes(pcm_bytes[: len(pcm_bytes) // (2 * n_ch) * 2 * n_ch])
    return [a[c::n_ch] for c in range(n_ch)]


def read_wav(path):
    with wave.open(path) as w:
        return w.getnchannels(), w.getframerate(), channels_of(w.readframes(w.getnframes()), w.getnchannels())


def tone_db(x, rate, want, other):
    """How far want's power lies above other's in the middle second of x (dB)."""
    mid = len(x) // 2
    win = x[max(0, mid - rate // 2): mid + rate // 2]
    pw, po = goertzel_power(win, rate, want), goertzel_power(win, rate, other)
    return 10 * math.log10(max(pw, 1e-3) / max(po, 1e-3))


def onset(x, rate, thresh=2000):
    for i in range(0, len(x) - 80, 80):
        if max(abs(v) for v in x[i:i + 80]) > thresh:
            return i / rate
    return None


def check_two_tones(name, left, right, rate):
    l_db, r_db = tone_db(left, rate, F_A, F_B), tone_db(right, rate, F_B, F_A)
    check(l_db > 20 and r_db > 20,
          f"{name}: the caller's {F_A} Hz is on the left ({l_db:.0f} dB over the other tone), "
          f"the callee's {F_B} Hz on the right ({r_db:.0f} dB)")


root = tempfile.mkdtemp(prefix="medius-rec-")
os.chmod(root, 0o755)
outside = tempfile.mkdtemp(prefix="medius-rec-outside-")
SECONDS = 3

with Daemon("--set", f"recording.dir={root}", "--set", "recording.fsync_ms=200") as d:
    P = d.port

    # --- 1. relayed: stereo WAV, per leg, pcap ---
    o, pa, pb, to_a, to_b = call(P, "rec1")
    r = ng(P, command="start recording", call_id="rec1", metadata="tag:clinic|case:42",
           **{"recording-per-leg": "yes", "recording-pcap": "yes", "recording-pattern": "%c-%{case}-%r"})
    check(r["result"] == "ok" and r["recording"]["path"].endswith(".wav") and "-42-" in r["recording"]["path"]
          and len(r["recording"]["files"]) == 4,
          f"start recording: {r.get('recording', r.get('error-reason'))}")
    rec1 = r["recording"]
    t_start = time.time()
    ps = talk(pa, pb, to_a, to_b, SECONDS)
    wait_procs(ps)
    time.sleep(0.4)
    q = ng(P, command="query", call_id="rec1")
    check(q["result"] == "ok" and q["recording"]["id"] == rec1["id"] and q["recording"]["path"] == rec1["path"]
          and q["recording"]["state"] == "recording" and q["recording"]["sources"] == ["rtp", "rtp"],
          f"query names the recording: {q.get('recording')}")
    s = ng(P, command="stop recording", call_id="rec1")
    t_stop = time.time()
    check(s["result"] == "ok" and s["recording"]["id"] == rec1["id"], f"stop recording: {s.get('error-reason')}")
    check(all(wait_final(f, main=rec1["path"]) for f in rec1["files"]), "every file is finalised (no .part left, sidecar complete)")
    wav_path, leg0, leg1, pcap = rec1["files"]
    info = ffprobe(wav_path)
    check(info is not None and info["streams"][0]["channels"] == 2 and int(info["streams"][0]["sample_rate"]) == RATE
          and abs(float(info["format"]["duration"]) - (t_stop - t_start)) < 0.35,
          f"ffprobe reads the stereo WAV: {info and (info['streams'][0]['channels'], info['format']['duration'])} s "
          f"for {t_stop - t_start:.2f} s between start and stop")
    n_ch, rate, (left, right) = read_wav(wav_path)
    check_two_tones("relayed stereo WAV", left, right, rate)
    on_l, on_r = onset(left, rate), onset(right, rate)
    check(on_l is not None and on_r is not None and abs(on_l - on_r) < 0.15,
          f"both directions start together on the timeline: {on_l} s and {on_r} s")
    for path, want, other in ((leg0, F_A, F_B), (leg1, F_B, F_A)):
        info = ffprobe(path)
        _, lr, (x,) = read_wav(path)
        check(info is not None and info["streams"][0]["channels"] == 1 and tone_db(x, lr, want, other) > 20,
              f"per-leg file {os.path.basename(path)} holds its party's {want} Hz tone alone")
    tsh = subprocess.run(["tshark", "-r", pcap, "-o", "rtp.heuristic_rtp:TRUE", "-T", "fields", "-e", "rtp.ssrc",
                          "-e", "rtp.seq", "-Y", "rtp"], capture_output=True, text=True)
    rows = [ln.split("\t") for ln in tsh.stdout.splitlines() if ln.strip()]
    ssrcs = {r_[0] for r_ in rows}
    check(tsh.returncode == 0 and len(rows) >= 2 * SECONDS * 50 * 0.9 and {"0x00001111", "0x00002222"} <= ssrcs,
          f"tshark reads the pcap: {len(rows)} RTP packets, SSRCs {sorted(ssrcs)} ({tsh.stderr.strip()[:200]})")
    side = json.load(open(os.path.splitext(wav_path)[0] + ".json"))
    check(side["state"] == "complete" and side["metadata"] == "tag:clinic|case:42" and side["call-id"] == "rec1"
          and side["channels"][0]["tag"] == "caller" and side["channels"][1]["tag"] == "callee"
          and len(side["files"]) == 4,
          f"the sidecar: state {side['state']}, metadata, parties, files")
    ng(P, command="delete", call_id="rec1")

    # --- 2. transcoded, from the offer's flag, Ogg Opus ---
    o, pa, pb, to_a, to_b = call(P, "rec2", pt_b=8, flags=["record call"], **{"recording-format": "opus"})
    check("recording" in o and o["recording"]["path"].endswith(".opus"),
          f"the offer's 'record call' flag starts a recording: {o.get('recording')}")
    q = ng(P, command="query", call_id="rec2")
    opus_path = q.get("recording", {}).get("path", "")
    check(q.get("recording", {}).get("sources") == ["decoded", "decoded"],
          f"a transcoded call is recorded from its graphs' decoded audio: {q.get('recording', {}).get('sources')}")
    ps = talk(pa, pb, to_a, to_b, SECONDS, alaw_b=True)
    wait_procs(ps)
    time.sleep(0.4)
    dl = ng(P, command="delete", call_id="rec2")
    check(dl["result"] == "ok" and dl.get("recording", {}).get("path") == opus_path,
          "delete reports the recording and ends it")
    check(wait_final(opus_path), "the Ogg Opus file is finalised when the call is deleted")
    info = ffprobe(opus_path)
    check(info is not None and info["streams"][0]["codec_name"] == "opus" and info["streams"][0]["channels"] == 2,
          f"ffprobe reads the Ogg Opus file: {info and info['streams'][0].get('codec_name')}")
    dec = subprocess.run(["ffmpeg", "-v", "error", "-i", opus_path, "-f", "s16le", "-ar", str(RATE), "-ac", "2", "-"],
                         capture_output=True)
    left, right = channels_of(dec.stdout, 2)
    check(dec.returncode == 0 and len(left) > RATE * (SECONDS - 1), f"ffmpeg decodes it: {len(left) / RATE:.1f} s")
    check_two_tones("transcoded Ogg Opus", left, right, RATE)

    # --- 3. mixed mono, with a pause ---
    o, pa, pb, to_a, to_b = call(P, "rec3")
    r = ng(P, command="start recording", call_id="rec3", **{"recording-format": "mono"})
    mono_path = r["recording"]["path"]
    ps = talk(pa, pb, to_a, to_b, 4)
    time.sleep(1.0)
    pz = ng(P, command="pause recording", call_id="rec3")
    time.sleep(1.0)
    rs = ng(P, command="start recording", call_id="rec3")
    check(pz["result"] == "ok" and pz["recording"]["state"] == "paused" and rs["result"] == "ok"
          and rs["recording"]["id"] == r["recording"]["id"],
          f"pause, then start again resumes the same recording: {pz.get('error-reason')} {rs.get('error-reason')}")
    wait_procs(ps)
    ng(P, command="stop recording", call_id="rec3")
    check(wait_final(mono_path), "the mono file is finalised")
    n_ch, rate, (x,) = read_wav(mono_path)
    mid = len(x) // 2
    both = [goertzel_power(x[mid - rate // 4: mid + rate // 4], rate, f) for f in (F_A, F_B)]
    check(n_ch == 1 and min(both) > 1e4, f"the mono file holds both tones: {both}")
    side = json.load(open(os.path.splitext(mono_path)[0] + ".json"))
    pauses = [e for e in side["events"] if e["type"] == "pause"]
    check(len(pauses) == 1 and 700 <= pauses[0]["duration_ms"] <= 1400 and 500 <= pauses[0]["at_ms"] <= 1700,
          f"the sidecar marks the pause: {pauses}")
    pause_at = pauses[0]["at_ms"] / 1000 if pauses else 1.5
    quiet = x[int((pause_at + 0.2) * rate): int((pause_at + 0.6) * rate)]
    check(quiet and max(abs(v) for v in quiet) < 300, "the paused span is silence")
    ng(P, command="delete", call_id="rec3")

    # --- 5. bad input ---
    o, pa, pb, to_a, to_b = call(P, "bad")
    before = sorted(os.listdir(root))
    cases = [
        (dict(**{"recording-dir": outside}), "outside the recording directory"),
        (dict(**{"recording-dir": "../"}), "outside the recording directory"),
        (dict(**{"recording-file": "../escape.wav"}), "not allowed"),
        (dict(**{"recording-file": outside + "/x.wav"}), "outside the recording directory"),
        (dict(**{"recording-pattern": "../%c"}), "recording-pattern"),
        (dict(**{"recording-format": "mp3"}), "recording-format"),
    ]
    for extra, want in cases:
        r = ng(P, command="start recording", call_id="bad", **extra)
        check(r["result"] == "error" and want in r["error-reason"], f"start recording {extra}: {r.get('error-reason')!r}")
    r = ng(P, command="start recording", call_id="no-such-call")
    check(r["result"] == "error" and "Unknown call-id" in r["error-reason"], f"an unknown call: {r.get('error-reason')!r}")
    q = ng(P, command="query", call_id="bad")
    check(sorted(os.listdir(root)) == before and os.listdir(outside) == [] and "recording" not in q,
          "the refused requests made no file and no recording")
    r1 = ng(P, command="start recording", call_id="bad")
    r2 = ng(P, command="start recording", call_id="bad", **{"recording-file": "other.wav"})
    q = ng(P, command="query", call_id="bad")
    check(r1["result"] == "ok" and r2["result"] == "error" and "already being recorded" in r2["error-reason"]
          and q["recording"]["id"] == r1["recording"]["id"] and not os.path.exists(os.path.join(root, "other.wav")),
          f"starting twice: {r2.get('error-reason')!r}, the first recording stays")
    r = ng(P, command="stop recording", call_id="rec-none")
    check(r["result"] == "error", "stop recording of an unknown call")
    ng(P, command="delete", call_id="bad")
    r = ng(P, command="stop recording", call_id="bad")
    check(r["result"] == "error", f"stop recording after delete: {r.get('error-reason')!r}")

# --- 6. a full disk: an alarm in query and statistics, a log line, media keeps flowing ---
full = os.path.join(root, "full")
os.mkdir(full)
mounted = os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", full],
                                                capture_output=True).returncode == 0
if not mounted:
    print("skip a full disk: needs root to mount a small tmpfs")
else:
    try:
        http_port = free_port(socket.SOCK_STREAM)
        with Daemon("--set", f"recording.dir={root}", "--set", f"http.listen=127.0.0.1:{http_port}") as d:
            P = d.port
            o, pa, pb, to_a, to_b = call(P, "full")
            r = ng(P, command="start recording", call_id="full", **{"recording-dir": "full"})
            check(r["result"] == "ok", f"start recording on a small disk: {r.get('error-reason')}")
            full_path = r["recording"]["path"]
            before = ng(P, command="statistics")["statistics"]["totalstatistics"]["packetsrelayed"]
            ps = talk(pa, pb, to_a, to_b, 5)
            wait_procs(ps)
            time.sleep(0.5)
            after = ng(P, command="statistics")["statistics"]
            relayed = after["totalstatistics"]["packetsrelayed"] - before
            q = ng(P, command="query", call_id="full")["recording"]
            check(q.get("alarm") == os.strerror(28) and q["write errors"] >= 1 and q["events"]["write-error"] >= 1,
                  f"query raises the alarm: {q.get('alarm')!r}, {q.get('write errors')} write errors")
            check(after["totalstatistics"]["recording"]["write errors"] >= 1,
                  f"statistics counts it: {after['totalstatistics'].get('recording')}")
            check(relayed >= 2 * 5 * 50 * 0.95, f"the media kept flowing while the disk was full: {relayed} packets relayed")
            # ... and the metrics raise it (rendered once a second)
            met = {}
            for _ in range(30):
                text = urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5).read().decode()
                met = {l.split()[0]: float(l.split()[1]) for l in text.splitlines()
                       if l.startswith("medius_recording") and len(l.split()) == 2}
                if met.get("medius_recording_alarm", 0) >= 1:
                    break
                time.sleep(0.2)
            check(met.get("medius_recording_alarm") == 1 and met.get("medius_recording_write_errors_total", 0) >= 1,
                  f"/metrics raises the disk alarm: {met}")
            check(ng(P, command="stop recording", call_id="full")["result"] == "ok", "stop recording on a full disk")
            time.sleep(0.5)
            info = ffprobe(full_path)
            check(info is not None and 1.0 < float(info["format"]["duration"]) < 4.5,
                  f"what fitted on the disk plays: {info and info['format']['duration']} s")
            check(any("error" in ln and "No space left on device" in ln for ln in d.log_text().splitlines()),
                  "an error line in the log")
            ng(P, command="delete", call_id="full")
    finally:
        subprocess.run(["umount", full])

# --- 4. kill -9 mid-call, then a restart: every format ---
d = Daemon("--set", f"recording.dir={root}", "--set", "recording.fsync_ms=200")
P = d.port
o, pa, pb, to_a, to_b = call(P, "crash")
r = ng(P, command="start recording", call_id="crash",
       **{"recording-format": "opus", "recording-per-leg": "yes", "recording-pcap": "yes"})
t0 = time.time()
crash_files = r["recording"]["files"]
ps = talk(pa, pb, to_a, to_b, 6)
time.sleep(3.0)
killed_after = time.time() - t0
d.proc.send_signal(signal.SIGKILL)
d.proc.wait()
wait_procs(ps)
check(all(os.path.exists(f + ".part") and not os.path.exists(f) for f in crash_files),
      "after kill -9 the recording's files are still .part files")
with Daemon("--set", f"recording.dir={root}") as d2:
    check(all(os.path.exists(f) and not os.path.exists(f + ".part") for f in crash_files),
          "the restart finalised them (renamed from .part)")
    opus_path, leg0, leg1, pcap = crash_files
    info = ffprobe(opus_path)
    dec = subprocess.run(["ffmpeg", "-v", "error", "-i", opus_path, "-f", "s16le", "-ar", str(RATE), "-ac", "2", "-"],
                         capture_output=True)
    left, right = channels_of(dec.stdout, 2)
    dur = len(left) / RATE
    check(info is not None and dec.returncode == 0 and killed_after - 1.0 <= dur <= killed_after + 0.3,
          f"the recovered Ogg Opus file decodes: {dur:.2f} s of the {killed_after:.2f} s recorded before the kill")
    check_two_tones("recovered Ogg Opus", left[: int(RATE * (dur - 0.3))], right[: int(RATE * (dur - 0.3))], RATE)
    for path, want, other in ((leg0, F_A, F_B), (leg1, F_B, F_A)):
        info = ffprobe(path)
        _, lr, (x,) = read_wav(path)
        dur = len(x) / lr
        check(info is not None and killed_after - 1.0 <= dur <= killed_after + 0.2 and
              tone_db(x[: int(lr * (dur - 0.3))], lr, want, other) > 20,
              f"the recovered WAV {os.path.basename(path)} plays: {dur:.2f} s of {killed_after:.2f} s, its tone")
    tsh = subprocess.run(["tshark", "-r", pcap, "-o", "rtp.heuristic_rtp:TRUE", "-T", "fields", "-e", "rtp.seq",
                          "-Y", "rtp"], capture_output=True, text=True)
    n = len([ln for ln in tsh.stdout.splitlines() if ln.strip()])
    check(tsh.returncode == 0 and n >= 2 * 50 * (killed_after - 1.0),
          f"tshark reads the recovered pcap: {n} RTP packets in {killed_after:.2f} s")
    side = json.load(open(os.path.splitext(opus_path)[0] + ".json"))
    check(side["state"] == "incomplete" and "recovered" in side, f"its sidecar says incomplete: {side['state']}")
    check("finalised after a crash" in d2.log_text(), "the restart logs what it recovered")
d.log.close()

with Daemon() as d:
    o, pa, pb, to_a, to_b = call(d.port, "off")
    r = ng(d.port, command="start recording", call_id="off")
    check(r["result"] == "error" and "[recording] dir" in r["error-reason"],
          f"recording is off without [recording] dir: {r.get('error-reason')!r}")

shutil.rmtree(root, ignore_errors=True)
shutil.rmtree(outside, ignore_errors=True)
finish()
