"""Many recorded calls on a throttled disk (docs/recording.md): the
recordings go to an ext4 file system on a loop device whose writes are
limited by a blkio cgroup (write_bps_device) that mediusd is put in, so
the recorder threads block in fdatasync and their rings overflow.
  - The media shows no loss: every packet of every call's two directions
    reaches the far end, in order.
  - The counters report the overruns: query (per call) and statistics.
  - Every overrun is a marked gap: each recording's sidecar lists overrun
    events whose counts add up to its query's, and once the disk is fast
    again and the recordings are stopped, every WAV plays and lasts as
    long as its recording ran (the dropped audio is silence, not missing).
Root only (loop device, mount, cgroup); skipped otherwise. The default is
50 calls for 30 s (this test sends and receives every packet itself); the
issue's full size: RECORDING_LOAD_CALLS=200 RECORDING_LOAD_SECONDS=60."""
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time

from medius_test import Daemon, call_sdp, check, finish, media_port, ng

N = int(os.environ.get("RECORDING_LOAD_CALLS", "50"))
T = float(os.environ.get("RECORDING_LOAD_SECONDS", "30"))
BPS = 256 * 1024  # the disk takes 256 KiB/s; the recordings want N x 64 KiB/s


def sh(*args):
    return subprocess.run(list(args), capture_output=True, text=True)


def skip(why):
    print(f"skip recording_load: {why}")
    finish()
    raise SystemExit(0)


if os.geteuid() != 0:
    skip("needs root (loop device, mount, blkio cgroup)")
cg_root = "/sys/fs/cgroup/blkio"
if not os.path.exists(os.path.join(cg_root, "blkio.throttle.write_bps_device")):
    skip("no cgroup v1 blkio throttling here")

root = tempfile.mkdtemp(prefix="medius-recload-")
img, slow = os.path.join(root, "disk.img"), os.path.join(root, "slow")
os.mkdir(slow)
loop = cg = None
try:
    with open(img, "wb") as f:
        f.truncate(1 << 30)
    r = sh("losetup", "-f", "--show", img)
    if r.returncode:
        skip(f"losetup: {r.stderr.strip()}")
    loop = r.stdout.strip()
    if sh("mkfs.ext4", "-q", loop).returncode or sh("mount", loop, slow).returncode:
        skip("cannot make and mount a file system on a loop device")
    majmin = sh("lsblk", "-dno", "MAJ:MIN", loop).stdout.strip()
    cg = os.path.join(cg_root, f"medius-recload-{os.getpid()}")
    os.mkdir(cg)

    def throttle(bps):
        with open(os.path.join(cg, "blkio.throttle.write_bps_device"), "w") as f:
            f.write(f"{majmin} {bps}\n")

    throttle(BPS)
    with Daemon("--set", f"recording.dir={root}") as d:
        P = d.port
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write(str(d.proc.pid))
        streams, rx = [], {}
        for i in range(N):
            a, b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for s in (a, b):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                s.bind(("127.0.0.1", 0))
                s.setblocking(False)
            o = ng(P, command="offer", call_id=f"load{i}", from_tag="A", sdp=call_sdp(a.getsockname()[1], pts=(0,)))
            an = ng(P, command="answer", call_id=f"load{i}", from_tag="A", to_tag="B",
                    sdp=call_sdp(b.getsockname()[1], pts=(0,)))
            streams += [(a, media_port(an["sdp"]), 0x10000 + i), (b, media_port(o["sdp"]), 0x20000 + i)]
        paths, began, ended = {}, {}, {}
        for i in range(N):
            began[i] = time.time()
            r = ng(P, command="start recording", call_id=f"load{i}", **{"recording-dir": "slow"})
            check(r["result"] == "ok" or i > 0, f"start recording on the slow disk: {r.get('error-reason')}")
            paths[i] = r.get("recording", {}).get("path")
        payload = bytes(range(160))
        sent, k, t0 = 0, 0, time.time()

        def drain_all():
            for s, _, _ in streams:
                while True:
                    try:
                        p = s.recv(2048)
                    except BlockingIOError:
                        break
                    ssrc = struct.unpack("!I", p[8:12])[0]
                    rx.setdefault(ssrc, []).append(struct.unpack("!H", p[2:4])[0])

        while time.time() - t0 < T:
            for s, port, ssrc in streams:
                s.sendto(struct.pack("!BBHII", 0x80, 0, k & 0xffff, k * 160, ssrc) + payload, ("127.0.0.1", port))
            k += 1
            drain_all()
            pause = t0 + k * 0.02 - time.time()
            if pause > 0:
                time.sleep(pause)
        time.sleep(0.5)
        drain_all()
        whole = [ssrc for _, _, ssrc in streams if rx.get(ssrc) == [q & 0xffff for q in range(k)]]
        check(len(whole) == len(streams),
              f"the media shows no loss: {len(whole)} of {len(streams)} streams got all {k} packets, in order "
              f"(short: {sorted((hex(s), len(rx.get(s, []))) for _, _, s in streams if s not in whole)[:4]})")
        q = {i: ng(P, command="query", call_id=f"load{i}")["recording"] for i in range(N)}
        ov = {i: sum(q[i]["overruns"]) for i in range(N)}
        st = ng(P, command="statistics")["statistics"]["totalstatistics"]["recording"]
        check(sum(ov.values()) > 0 and st["overruns (active)"] == sum(ov.values()),
              f"the counters report the overruns: {sum(ov.values())} frames in {sum(1 for v in ov.values() if v)} "
              f"of {N} calls; statistics: {st}")
        throttle(0)  # a fast disk again, so that stopping does not wait for the backlog
        for i in range(N):
            ng(P, command="stop recording", call_id=f"load{i}")
            ended[i] = time.time()
        deadline = time.time() + 120
        while time.time() < deadline and any(os.path.exists(p + ".part") for p in paths.values()):
            time.sleep(0.5)
        bad, marked, lengths = [], 0, []
        for i, p in paths.items():
            side = json.load(open(os.path.splitext(p)[0] + ".json"))
            ev = sum(e.get("count", 0) for e in side["events"] if e["type"] == "overrun")
            chan = side["channels"][0]["overruns"] + side["channels"][1]["overruns"]
            if side["state"] != "complete" or chan < ov[i] or ev != chan:
                bad.append((i, side["state"], chan, ov[i], ev))
            marked += ev
            r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", p],
                               capture_output=True, text=True)
            lengths.append(float(r.stdout.strip() or 0) - (ended[i] - began[i]))
        check(not bad, f"every sidecar is complete and marks its overruns ({marked} frames marked): {bad[:4]}")
        check(min(lengths) >= -1.0 and max(lengths) <= 2.0,
              f"every WAV plays and lasts as long as its recording ran (from start recording to stop recording): "
              f"{min(lengths):+.2f} to {max(lengths):+.2f} s off")
        for i in range(N):
            ng(P, command="delete", call_id=f"load{i}")
finally:
    if cg:
        try:
            with open(os.path.join(cg, "blkio.throttle.write_bps_device"), "w") as f:
                f.write(f"{sh('lsblk', '-dno', 'MAJ:MIN', loop).stdout.strip()} 0\n")
        except OSError:
            pass
    sh("umount", slow)
    if loop:
        sh("losetup", "-d", loop)
    if cg:
        for _ in range(50):
            try:
                os.rmdir(cg)
                break
            except OSError:
                time.sleep(0.1)
    shutil.rmtree(root, ignore_errors=True)
finish()
