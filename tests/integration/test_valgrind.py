"""mediusd under valgrind memcheck through one call's life (issue 15, hardening).

mediusd runs under `valgrind --tool=memcheck --error-exitcode=99
--leak-check=full --errors-for-leak-kinds=definite` with
tests/valgrind.supp, on the kernel-UDP port (loopback), EAL with
--no-huge (eal.hugepages = no). Then, over ng: a relayed PCMU call and a
transcoded one (PCMU <-> Opus), each with media both ways for about 2 s,
query, a recording-free delete, statistics; SIGTERM. The test asserts
that mediusd became ready, answered every request, exited 0 (not 99), and
that memcheck's summary reads "ERROR SUMMARY: 0 errors" with no
definitely lost block.

Settings that valgrind needs (each says why):
  * MEDIUS_KERNEL_IO=epoll: io_uring's submission and completion rings are
    memory the kernel writes behind the process's back; memcheck cannot
    see those writes (every completion would read as uninitialised) and
    valgrind 3.19 does not model io_uring_enter's effects on them;
  * media.srtp_engine = openssl: "auto" runs intel-ipsec-mb's self-test at
    start-up, about 50 s under memcheck (2 s natively); no SRTP is used here;
  * --fair-sched=yes: the worker lcore polls in a loop; valgrind runs one
    thread at a time and the control lcore would otherwise wait long for
    its turn.
Takes about 1.5-2 minutes (start-up under memcheck: EAL and the codecs'
tables). Exits 77 (skip) without valgrind. VALGRIND_KEEP=1 keeps the log."""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

from medius_test import MEDIUSD, SOURCE, check, finish, free_port, ng, ping, sanitized

SUPP = os.path.join(SOURCE, "tests", "valgrind.supp")


def sdp(port, pts, extra=""):
    return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP {' '.join(map(str, pts))}\r\na=ptime:20\r\n{extra}")


def port_of(text):
    m = re.search(r"^m=audio (\d+) ", text or "", re.M)
    return int(m.group(1)) if m else None


def main():
    if not shutil.which("valgrind"):
        print("SKIP: valgrind not installed (Debian: valgrind)")
        sys.exit(77)
    if sanitized():
        print(f"SKIP: {MEDIUSD} is built with AddressSanitizer, which valgrind cannot run (the plain build's run "
              "of this test is the memcheck one)")
        sys.exit(77)
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="mediusd-vg-", suffix=".log", delete=False)
    env = dict(os.environ, MEDIUS_KERNEL_IO="epoll")
    cmd = ["valgrind", "--tool=memcheck", "--error-exitcode=99", "--fair-sched=yes", "--leak-check=full",
           "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite", "--num-callers=30",
           f"--suppressions={SUPP}", MEDIUSD, "--listen-ng", f"127.0.0.1:{port}",
           "--set", "eal.hugepages=no", "--set", "eal.lcores=0-1", "--set", "eal.memory_mb=128",
           "--set", "media.srtp_engine=openssl", "--set", "media.mbufs_per_worker=1023"]
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    t0 = time.time()
    ready = False
    while time.time() - t0 < 240 and p.poll() is None:
        if ping(port, timeout=1.0):
            ready = True
            break
        time.sleep(1)
    check(ready, f"mediusd under memcheck answers ng ({time.time() - t0:.0f} s to start)")
    if ready:
        socks = []
        legs = []
        for cid, b_pt, extra in (("vg-relay", 0, {}), ("vg-xcode", None, {"codec": {"transcode": ["opus"]}})):
            a, b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            a.bind(("127.0.0.1", 0))
            b.bind(("127.0.0.1", 0))
            a.setblocking(False)
            b.setblocking(False)
            socks += [a, b]
            o = ng(port, command="offer", call_id=cid, from_tag="a", sdp=sdp(a.getsockname()[1], [0]), **extra)
            m = re.search(r"a=rtpmap:(\d+) opus/48000/2", o.get("sdp", ""))
            pt = b_pt if b_pt is not None else (int(m.group(1)) if m else 96)
            rtpmap = f"a=rtpmap:{pt} opus/48000/2\r\n" if b_pt is None else ""
            an = ng(port, command="answer", call_id=cid, from_tag="a", to_tag="b",
                    sdp=sdp(b.getsockname()[1], [pt], rtpmap))
            check(o.get("result") == "ok" and an.get("result") == "ok",
                  f"{cid}: offer/answer ({o.get('error-reason', '')}{an.get('error-reason', '')})")
            legs.append((a, b, port_of(an.get("sdp")), port_of(o.get("sdp")), pt))
        # B's Opus packets: a TOC byte 0xf8 (CELT fullband, 20 ms, one frame) and two bytes of
        # frame: libopus decodes it (to near silence); the decode, resample and encode paths run
        got = [0, 0, 0, 0]
        for k in range(100):
            for i, (a, b, pa, pb, pt) in enumerate(legs):
                a.sendto(struct.pack("!BBHII", 0x80, 0, k, 160 * k, 0x10 + i) + b"\xff" * 160, ("127.0.0.1", pa))
                pay = b"\xff" * 160 if pt == 0 else b"\xf8\xff\xfe"
                b.sendto(struct.pack("!BBHII", 0x80, pt, k, (160 if pt == 0 else 960) * k, 0x20 + i) + pay,
                         ("127.0.0.1", pb))
                for j, s in enumerate((a, b)):
                    try:
                        while True:
                            s.recv(2048)
                            got[2 * i + j] += 1
                    except BlockingIOError:
                        pass
            time.sleep(0.02)
        check(all(g > 20 for g in got), f"media flows through mediusd under memcheck: {got}")
        for cid in ("vg-relay", "vg-xcode"):
            q = ng(port, command="query", call_id=cid)
            check(q.get("result") == "ok", f"{cid}: query ({q.get('error-reason', '')})")
            r = ng(port, command="delete", call_id=cid)
            check(r.get("result") == "ok", f"{cid}: delete")
        st = ng(port, command="statistics")["statistics"]["currentstatistics"]
        check(st.get("sessionstotal") == 0, f"no call left: {st}")
        for s in socks:
            s.close()
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(180)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    with open(log.name, errors="replace") as f:
        text = f.read()
    summ = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    lost = re.search(r"definitely lost: ([\d,]+) bytes", text)
    check(rc == 0, f"mediusd under memcheck exited {rc} (99: memcheck found errors)")
    check(summ is not None and summ.group(1) == "0", f"memcheck: {summ.group(0) if summ else 'no summary'}")
    check(lost is None or lost.group(1) == "0", f"memcheck: {lost.group(0) if lost else 'no definite leak'}")
    if rc != 0 or not summ or summ.group(1) != "0":
        first = text.find("==\n==") if "Invalid" not in text else text.find("Invalid")
        print(text[max(0, first - 200):first + 6000])
    if os.environ.get("VALGRIND_KEEP") or rc != 0:
        print(f"     log: {log.name}")
    else:
        os.unlink(log.name)
    finish()


main()
