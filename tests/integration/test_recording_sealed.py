"""Encryption at rest of call recordings ([recording] key_file;
docs/recording.md, "Encryption at rest"), with two GStreamer peers sending
different tones, as test_recording.py does:
  1. A relayed call recorded sealed (stereo WAV, per-leg WAVs, pcap): every
     file and the sidecar are NAME.EXT.enc, nothing is left in plain text,
     ffprobe cannot read a sealed file; `mediusctl recording export ID`
     decrypts to a WAV ffprobe reads, with the caller's tone on the left
     and the callee's on the right; the sidecar, a per-leg file and the
     pcap export too (tshark reads the pcap).
  2. One flipped byte: export fails with an error naming the file and the
     chunk's offset, and leaves no file behind.
  3. Key rotation: `mediusctl recording rekey` re-wraps every file's key;
     then the old key exports nothing and the new one exports the same
     bytes as before.
  4. kill -9 mid-call, then a restart with the key: the sealed .part files
     are finalised; the export plays and lacks at most about a second; the
     sidecar says "incomplete".
  5. A key file others can read is refused at start-up (exit 78)."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from medius_test import MEDIUSCTL, MEDIUSD, Daemon, call_sdp, check, finish, free_port, media_port, ng
from recording_util import call, ffprobe, sender, talk, wait_procs
from media_check import goertzel_power, peer_port, stop

from recording_util import F_A, F_B
RATE = 16000






def wait_final(files, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all(os.path.exists(f) and not os.path.exists(f + ".part") for f in files):
            return True
        time.sleep(0.1)
    return False



def pcm_of(path, n_ch):
    """path decoded by ffmpeg (an independent reader) to channels of 16-bit samples at RATE."""
    import array
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "s16le", "-ar", str(RATE), "-ac", str(n_ch), "-"],
                       capture_output=True)
    a = array.array("h")
    a.frombytes(r.stdout[: len(r.stdout) // (2 * n_ch) * 2 * n_ch])
    return r.returncode, [a[c::n_ch] for c in range(n_ch)]


def tone_db(x, want, other):
    import math
    mid = len(x) // 2
    win = x[max(0, mid - RATE // 2): mid + RATE // 2]
    pw, po = goertzel_power(win, RATE, want), goertzel_power(win, RATE, other)
    return 10 * math.log10(max(pw, 1e-3) / max(po, 1e-3))


def mctl(*args, cwd=None):
    return subprocess.run([MEDIUSCTL, "recording"] + list(args), capture_output=True, text=True, timeout=60, cwd=cwd)


def make_key(path, seed):
    with open(path, "w") as f:
        f.write(bytes((seed * 37 + i * 11) & 0xff for i in range(32)).hex() + "\n")
    os.chmod(path, 0o600)


work = tempfile.mkdtemp(prefix="medius-sealed-")
root = os.path.join(work, "rec")
out = os.path.join(work, "out")
os.mkdir(root)
os.mkdir(out)
key1, key2 = os.path.join(work, "k1.key"), os.path.join(work, "k2.key")
make_key(key1, 1)
make_key(key2, 2)
SECONDS = 3

with Daemon("--set", f"recording.dir={root}", "--set", f"recording.key_file={key1}",
            "--set", "recording.key_id=test-1", "--set", "recording.fsync_ms=200") as d:
    P = d.port
    check("sealed under key id test-1" in d.log_text(), "mediusd says the recordings are sealed, and under which key")
    # --- 1. a sealed recording ---
    _, pa, pb, to_a, to_b = call(P, "s1")
    r = ng(P, command="start recording", call_id="s1", metadata="patient:Jane Doe|case:42",
           **{"recording-per-leg": "yes", "recording-pcap": "yes"})
    check(r["result"] == "ok" and all(f.endswith(".enc") for f in r["recording"]["files"])
          and len(r["recording"]["files"]) == 4,
          f"start recording names sealed files: {r.get('recording', {}).get('files', r.get('error-reason'))}")
    rec = r["recording"]
    t_start = time.time()
    wait_procs(talk(pa, pb, to_a, to_b, SECONDS))
    time.sleep(0.4)
    ng(P, command="stop recording", call_id="s1")
    t_stop = time.time()
    base = rec["path"][: -len(".wav.enc")]
    check(wait_final(rec["files"] + [base + ".json.enc"]), "every sealed file is finalised (no .part left)")
    # the audit log (DIR/audit.log by default) is plain text by design: ids,
    # paths, events and hashes, no audio or metadata (docs/recording.md)
    names = sorted(n for n in os.listdir(root) if n != "audit.log")
    check(all(n.endswith(".enc") for n in names) and len(names) == 5,
          f"nothing in plain text in the recording directory: {names}")
    raw = open(rec["path"], "rb").read()
    check(ffprobe(rec["path"]) is None and raw[:8] == b"MEDSEAL1" and b"RIFF" not in raw[:4096],
          "a sealed file is not a WAV anything can read")
    side_raw = open(base + ".json.enc", "rb").read()
    check(b"Jane Doe" not in side_raw and b"complete" not in side_raw, "the sidecar (patient data) is sealed too")
    ng(P, command="delete", call_id="s1")

wav = os.path.join(out, "s1.wav")
x = mctl("--dir", root, "--key", key1, "--key-id", "test-1", "export", rec["id"], "-o", wav)
check(x.returncode == 0 and os.path.exists(wav), f"mediusctl recording export {rec['id']}: {x.stdout.strip()} {x.stderr.strip()}")
check(os.stat(wav).st_mode & 0o077 == 0, f"the export is for its owner alone: mode {os.stat(wav).st_mode & 0o777:o}")
info = ffprobe(wav)
check(info is not None and info["streams"][0]["channels"] == 2 and int(info["streams"][0]["sample_rate"]) == RATE
      and abs(float(info["format"]["duration"]) - (t_stop - t_start)) < 0.35,
      f"ffprobe reads the export: {info and (info['streams'][0]['channels'], info['format']['duration'])} s "
      f"for {t_stop - t_start:.2f} s recorded")
rc, (left, right) = pcm_of(wav, 2)
l_db, r_db = tone_db(left, F_A, F_B), tone_db(right, F_B, F_A)
check(rc == 0 and l_db > 20 and r_db > 20,
      f"the caller's {F_A} Hz is on the left ({l_db:.0f} dB over the other), the callee's {F_B} Hz on the right ({r_db:.0f} dB)")
conf = os.path.join(work, "mediusd.conf")
with open(conf, "w") as f:
    f.write(f"[recording]\ndir = {root}\nkey_file = {key1}\nkey_id = test-1\n")
meta = os.path.join(out, "s1.json")
x = mctl("-c", conf, "export", rec["id"], "--part", "meta", "-o", meta)
side = json.load(open(meta)) if x.returncode == 0 else {}
check(side.get("state") == "complete" and side.get("metadata") == "patient:Jane Doe|case:42" and side.get("id") == rec["id"],
      f"the sidecar exports (-c mediusd.conf): {side.get('state')} {x.stderr.strip()}")
leg = os.path.join(out, "callee.wav")
x = mctl("-c", conf, "export", rec["id"], "--part", "callee", "-o", leg)
rc, (xs,) = pcm_of(leg, 1) if x.returncode == 0 else (1, ([],))
check(rc == 0 and len(xs) > RATE and tone_db(xs, F_B, F_A) > 20, f"the callee's own file exports with its tone: {x.stderr.strip()}")
pcap = os.path.join(out, "s1.pcap")
x = mctl("-c", conf, "export", rec["id"], "--part", "pcap", "-o", pcap)
tsh = subprocess.run(["tshark", "-r", pcap, "-o", "rtp.heuristic_rtp:TRUE", "-T", "fields", "-e", "rtp.ssrc", "-Y", "rtp"],
                     capture_output=True, text=True)
rows = [ln for ln in tsh.stdout.splitlines() if ln.strip()]
check(x.returncode == 0 and tsh.returncode == 0 and len(rows) >= 2 * SECONDS * 50 * 0.9,
      f"the pcap exports and tshark reads it: {len(rows)} RTP packets {x.stderr.strip()}")
x = mctl("-c", conf, "export", rec["id"], "-o", wav)
check(x.returncode == 1 and "exists" in x.stderr, f"an existing output is not replaced: {x.stderr.strip()}")
here = os.path.join(out, "here")
os.mkdir(here)
x = mctl("--key", key1, "--key-id", "test-1", "export", rec["files"][1], cwd=here)
want = os.path.basename(rec["files"][1])[: -len(".enc")]
check(x.returncode == 0 and os.listdir(here) == [want] and ffprobe(os.path.join(here, want)) is not None,
      f"without -o a file exports to its name without .enc, here: {os.listdir(here)} {x.stderr.strip()}")

# --- 2. one flipped byte ---
bad = os.path.join(work, "bad.wav.enc")
shutil.copy(rec["path"], bad)
size = os.path.getsize(bad)
with open(bad, "r+b") as f:
    f.seek(size // 2)
    b = f.read(1)
    f.seek(size // 2)
    f.write(bytes([b[0] ^ 0x10]))
bad_out = os.path.join(out, "bad")
os.mkdir(bad_out)
x = mctl("--key", key1, "--key-id", "test-1", "export", bad, "-o", os.path.join(bad_out, "bad.wav"))
check(x.returncode == 1 and bad in x.stderr and "fails authentication" in x.stderr and "offset" in x.stderr
      and "nothing was exported" in x.stderr,
      f"a flipped byte: export fails naming the file and where: {x.stderr.strip()!r}")
check(os.listdir(bad_out) == [], f"and leaves nothing behind: {os.listdir(bad_out)}")
x = mctl("--key", key2, "export", rec["path"], "-o", os.path.join(bad_out, "k2.wav"))
check(x.returncode == 1 and "test-1" in x.stderr and "does not open" in x.stderr and os.listdir(bad_out) == [],
      f"another key: {x.stderr.strip()!r}")

# --- 3. key rotation ---
x = mctl("--dir", root, "rekey", "--old-key", key1, "--old-key-id", "test-1", "--new-key", key2, "--new-key-id", "test-2")
check(x.returncode == 0 and "5 file(s) re-wrapped" in x.stdout and "to key id test-2" in x.stdout,
      f"mediusctl recording rekey: {x.stdout.strip()} {x.stderr.strip()}")
check(open(rec["path"], "rb").read()[144:] == raw[144:], "the audio was not re-encrypted (every chunk is the same bytes)")
x = mctl("--dir", root, "--key", key1, "export", rec["path"], "-o", os.path.join(out, "old.wav"))
check(x.returncode == 1 and "does not open" in x.stderr and "test-2" in x.stderr and not os.path.exists(os.path.join(out, "old.wav")),
      f"after rotation the old key opens nothing: {x.stderr.strip()!r}")
x = mctl("--dir", root, "--key", key2, "--key-id", "test-2", "export", rec["id"], "-o", os.path.join(out, "new.wav"))
check(x.returncode == 0 and open(os.path.join(out, "new.wav"), "rb").read() == open(wav, "rb").read(),
      f"the new key exports the identical audio: {x.stderr.strip()}")
x = mctl("--dir", root, "rekey", "--old-key", key1, "--new-key", key2, "--new-key-id", "test-2")
check(x.returncode == 0 and "0 file(s) re-wrapped" in x.stdout and "5 under it already" in x.stdout,
      f"a second rekey finds nothing to do: {x.stdout.strip()}")

# exports and re-keying are in the audit log (DIR/audit.log), and its chain holds
audit = [json.loads(l) for l in open(os.path.join(root, "audit.log")) if l.strip()]
ev = [e["event"] for e in audit]
check(any(e["event"] == "export" and e["path"] == rec["path"] and e["detail"].startswith("exported to " + wav)
          for e in audit), f"the export is audited with its file and output: {ev}")
check(any(e["event"] == "export" and e["detail"].startswith("failed") for e in audit),
      "the failed export (the flipped byte) is audited as failed")
check(any(e["event"] == "rekey" and "test-1 to test-2" in e["detail"] for e in audit), f"the rekey is audited: {ev}")
x = subprocess.run([MEDIUSCTL, "audit", "verify", os.path.join(root, "audit.log")], capture_output=True, text=True, timeout=30)
check(x.returncode == 0, f"mediusctl audit verify: the chain holds: {x.stdout.strip()} {x.stderr.strip()}")

# --- 4. kill -9 mid-call, restart ---
d = Daemon("--set", f"recording.dir={root}", "--set", f"recording.key_file={key2}", "--set", "recording.key_id=test-2",
           "--set", "recording.fsync_ms=200")
P = d.port
_, pa, pb, to_a, to_b = call(P, "crash")
r = ng(P, command="start recording", call_id="crash")
t0 = time.time()
crash = r["recording"]["path"]
ps = talk(pa, pb, to_a, to_b, 6)
time.sleep(3.0)
killed_after = time.time() - t0
d.proc.send_signal(signal.SIGKILL)
d.proc.wait()
wait_procs(ps)
check(os.path.exists(crash + ".part") and not os.path.exists(crash), "after kill -9 the sealed file is a .part")
x = mctl("--key", key2, "export", crash + ".part", "-o", os.path.join(out, "part.wav"))
check(x.returncode == 1 and "without its final chunk" in x.stderr, f"a .part does not export as if whole: {x.stderr.strip()!r}")
with Daemon("--set", f"recording.dir={root}", "--set", f"recording.key_file={key2}",
            "--set", "recording.key_id=test-2") as d2:
    check(os.path.exists(crash) and not os.path.exists(crash + ".part"), "the restart finalised it")
    check("finalised after a crash" in d2.log_text(), "the restart logs what it recovered")
cw = os.path.join(out, "crash.wav")
x = mctl("--dir", root, "--key", key2, "export", r["recording"]["id"], "-o", cw)
info = ffprobe(cw) if x.returncode == 0 else None
rc, (left, right) = pcm_of(cw, 2) if info else (1, ([], []))
dur = len(left) / RATE
check(info is not None and killed_after - 1.0 <= dur <= killed_after + 0.2,
      f"the recovered recording exports and plays: {dur:.2f} s of the {killed_after:.2f} s before the kill {x.stderr.strip()}")
cut = int(RATE * max(dur - 0.3, 0.5))
check(tone_db(left[:cut], F_A, F_B) > 20 and tone_db(right[:cut], F_B, F_A) > 20, "each tone on its own channel")
x = mctl("--dir", root, "--key", key2, "export", r["recording"]["id"], "--part", "meta", "-o", os.path.join(out, "crash.json"))
side = json.load(open(os.path.join(out, "crash.json"))) if x.returncode == 0 else {}
check(side.get("state") == "incomplete" and "recovered" in side, f"its sidecar says incomplete: {side.get('state')}")
d.log.close()

# --- 5. a key file others can read ---
os.chmod(key1, 0o644)
p = subprocess.run([MEDIUSD, "--listen-ng", f"127.0.0.1:{free_port()}", "--set", f"recording.dir={root}",
                    "--set", f"recording.key_file={key1}"], capture_output=True, text=True, timeout=60)
check(p.returncode == 78 and "chmod 600" in p.stdout + p.stderr,
      f"a key file others can read is refused: exit {p.returncode}, {(p.stdout + p.stderr).strip()[-200:]!r}")

shutil.rmtree(work, ignore_errors=True)
finish()
