"""The recordings' audit log and retention (docs/recording.md), on real
recorded calls (two GStreamer peers):
  1. A call recorded, paused, resumed and stopped: the audit log holds
     start, pause, resume, stop, finalise for its id, in that order, each
     line chained to the one before (`mediusctl audit verify` exit 0).
  2. A second call recorded, mediusd killed with SIGKILL mid-call, then
     restarted: the log gets a "finalise" entry for that recording saying
     "finalised after crash: incomplete", and the chain still holds across
     the two daemons.
  3. Retention with the clock set from outside (`mediusctl recording sweep
     --now`): the recording tagged retention:research (30 days) is deleted
     31 days on, with all its files and sidecar, and a "delete" entry; the
     one on legal hold (`mediusctl recording hold`) stays, and goes after
     `unhold`; the untagged one (default 0 days: forever) stays. "now" is
     refused without [retention] allow_now.
  4. Tampering: one byte changed, one entry removed, two swapped in a copy
     of the log: `mediusctl audit verify` exits 1 and names the entry."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from medius_test import MEDIUSCTL, Daemon, call_sdp, check, finish, media_port, ng
from recording_util import call, sender, talk, wait_procs
from media_check import peer_port, stop







def wait_final(path, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        side = os.path.splitext(path)[0] + ".json"
        if os.path.exists(path) and not os.path.exists(path + ".part") and os.path.exists(side) and \
                json.load(open(side))["state"] in ("complete", "incomplete"):
            return True
        time.sleep(0.1)
    return False

root = tempfile.mkdtemp(prefix="medius-audit-")
os.chmod(root, 0o755)
audit = os.path.join(root, "audit.log")
SET = ["--set", f"recording.dir={root}", "--set", "recording.fsync_ms=200",
       "--set", "retention.tag.research=30", "--set", "retention.default_days=0"]


def entries():
    with open(audit) as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def ctl(port, *args):
    return subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{port}", *args], capture_output=True, text=True)


def verify(path=audit):
    return subprocess.run([MEDIUSCTL, "audit", "verify", path], capture_output=True, text=True)


def wait_for(pred, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


# --- 1. start, pause, resume, stop, finalise ---
d = Daemon(*SET)
P = d.port
o, pa, pb, to_a, to_b = call(P, "aud1")
r = ng(P, command="start recording", call_id="aud1", metadata="retention:research|case:1")
check(r["result"] == "ok", f"start recording: {r.get('error-reason')}")
rec1 = r["recording"]
ps = talk(pa, pb, to_a, to_b, 3)
time.sleep(1.0)
check(ng(P, command="pause recording", call_id="aud1")["result"] == "ok", "pause recording")
time.sleep(0.5)
check(ng(P, command="start recording", call_id="aud1")["result"] == "ok", "start recording (resume)")
wait_procs(ps)
check(ng(P, command="stop recording", call_id="aud1")["result"] == "ok", "stop recording")
check(wait_final(rec1["path"]), "the recording is finalised")
ng(P, command="delete", call_id="aud1")
check(wait_for(lambda: any(e["event"] == "finalise" and e["id"] == rec1["id"] for e in entries())),
      "the finalise entry is written")
mine = [e["event"] for e in entries() if e["id"] == rec1["id"]]
check(mine == ["start", "pause", "resume", "stop", "finalise"], f"the audit trail of one recording: {mine}")
e0 = [e for e in entries() if e["id"] == rec1["id"]][0]
check(e0["path"] == rec1["path"] and e0["seq"] == 1 and e0["prev"] == "0" * 64,
      f"an entry names the recording's path, and the first one starts the chain: {e0}")
v = verify()
check(v.returncode == 0 and "the chain holds" in v.stdout, f"mediusctl audit verify: {v.stdout.strip()}")

# an untagged recording (kept forever), finished normally
o, pa, pb, to_a, to_b = call(P, "aud3")
rec3 = ng(P, command="start recording", call_id="aud3", metadata="case:3")["recording"]
wait_procs(talk(pa, pb, to_a, to_b, 1))
ng(P, command="delete", call_id="aud3")
check(wait_final(rec3["path"]), "the untagged recording is finalised")

# --- 2. kill -9 mid-call, restart ---
o, pa, pb, to_a, to_b = call(P, "aud2")
r = ng(P, command="start recording", call_id="aud2", metadata="retention:research|case:2")
rec2 = r["recording"]
ps = talk(pa, pb, to_a, to_b, 4)
time.sleep(2.0)
d.proc.send_signal(signal.SIGKILL)
d.proc.wait()
d.log.close()
wait_procs(ps)
check(os.path.exists(rec2["path"] + ".part"), "after kill -9 the recording is a .part file")
before = entries()
check([e["event"] for e in before if e["id"] == rec2["id"]] == ["start"],
      f"before the restart the killed recording has only its start: "
      f"{[e['event'] for e in before if e['id'] == rec2['id']]}")
with Daemon(*SET, "--set", "retention.allow_now=1") as d2:
    P = d2.port
    check(wait_for(lambda: any(e["id"] == rec2["id"] and e["event"] == "finalise" for e in entries())),
          "the restart audits the recovery")
    fin = [e for e in entries() if e["id"] == rec2["id"] and e["event"] == "finalise"]
    check(len(fin) == 1 and fin[0]["detail"] == "finalised after crash: incomplete" and fin[0]["path"] == rec2["path"],
          f"its finalise entry says incomplete: {fin}")
    check(os.path.exists(rec2["path"]) and json.load(open(os.path.splitext(rec2["path"])[0] + ".json"))["state"]
          == "incomplete", "the recording itself is finalised and marked incomplete")
    v = verify()
    check(v.returncode == 0, f"the chain holds across the crash and the restart: {v.stdout.strip()}")

    # --- 3. retention, legal hold ---
    h = ctl(P, "recording", "hold", rec2["id"], "case 2 litigation")
    check(h.returncode == 0 and "on hold" in h.stdout, f"mediusctl recording hold: {h.stdout.strip()} {h.stderr.strip()}")
    bad = ctl(P, "recording", "hold", "ffffffffffffffff")
    check(bad.returncode == 1, f"holding an unknown recording is an error: {bad.stdout.strip()} {bad.stderr.strip()}")
    s = ctl(P, "recording", "sweep")
    check(s.returncode == 0 and "0 deleted" in s.stdout, f"a sweep now deletes nothing: {s.stdout.strip()}")
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 31 * 86400))
    s = ctl(P, "recording", "sweep", "--now", later)
    check(s.returncode == 0 and "1 deleted" in s.stdout and "1 on hold" in s.stdout,
          f"31 days on: the research recording goes, the held one stays: {s.stdout.strip()}")
    gone = [f for f in rec1["files"] + [os.path.splitext(rec1["path"])[0] + ".json"] if os.path.exists(f)]
    check(not gone, f"every file of the expired recording is deleted: left {gone}")
    check(os.path.exists(rec2["path"]) and os.path.exists(rec3["path"]), "the held and the untagged ones stay")
    dele = [e for e in entries() if e["event"] == "delete"]
    check(len(dele) == 1 and dele[0]["id"] == rec1["id"] and "research" in dele[0]["detail"],
          f"the delete is audited: {dele}")
    ctl(P, "recording", "unhold", rec2["id"], "case closed")
    s = ctl(P, "recording", "sweep", "--now", later)
    check(s.returncode == 0 and "1 deleted" in s.stdout and not os.path.exists(rec2["path"]),
          f"unheld, it goes at the next sweep: {s.stdout.strip()}")
    ev2 = [e["event"] for e in entries() if e["id"] == rec2["id"]]
    check(ev2 == ["start", "finalise", "hold", "unhold", "delete"], f"the killed recording's trail: {ev2}")
    v = verify()
    check(v.returncode == 0, f"the chain holds: {v.stdout.strip()}")
    n_entries = len(entries())

with Daemon(*SET) as d3:
    r = ng(d3.port, command="recording sweep", now="2099-01-01")
    check(r["result"] == "error" and "allow_now" in r["error-reason"],
          f"'now' is refused without allow_now: {r.get('error-reason')}")
    check(os.path.exists(rec3["path"]), "and nothing was deleted")

# --- 4. tampering, on copies ---
lines = open(audit).read().splitlines(keepends=True)
check(len(lines) == n_entries >= 10, f"{len(lines)} entries")
t = os.path.join(root, "t.log")


def tampered(ls):
    with open(t, "w") as f:
        f.writelines(ls)
    return verify(t)


x = list(lines)
x[4] = x[4].replace('"event":"', '"event":"X', 1)
v = tampered(x)
check(v.returncode == 1 and "seq 5 (line 5) was altered" in v.stdout, f"one byte changed: {v.stdout.strip()}")
v = tampered(lines[:6] + lines[7:])
check(v.returncode == 1 and "seq 7 was removed" in v.stdout, f"one entry removed: {v.stdout.strip()}")
x = list(lines)
x[2], x[3] = x[3], x[2]
v = tampered(x)
check(v.returncode == 1 and "seq 4 is out of order at line 3" in v.stdout, f"two entries swapped: {v.stdout.strip()}")
v = verify(os.path.join(root, "missing.log"))
check(v.returncode == 3, f"a missing file: exit {v.returncode}")

shutil.rmtree(root, ignore_errors=True)
finish()
