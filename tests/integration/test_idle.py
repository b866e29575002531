"""An idle mediusd (kernel-UDP default, no calls) uses under 2% of a core:
its worker sleeps (in io_uring_enter, or epoll_wait with MEDIUS_KERNEL_IO=
epoll) instead of polling. CPU time is read from /proc/PID/stat (all
threads) over a 5-second window: once after start-up, and once more after
a load of calls has come and gone. The load (20 relayed calls, each way
bursts of packets back to back, so that the worker's adaptive busy
polling (media.busy_poll_us) switches on) must leave nothing polling
behind once the calls are deleted."""
import os
import socket
import struct
import time

from medius_test import Daemon, call_sdp, check, finish, loop_sock, media_port, ng, ping

WINDOW = 5.0
HZ = os.sysconf("SC_CLK_TCK")
CALLS = 20


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # utime + stime


def idle_share(d, what):
    c0, t0 = cpu_seconds(d.proc.pid), time.monotonic()
    time.sleep(WINDOW)
    c1, t1 = cpu_seconds(d.proc.pid), time.monotonic()
    share = (c1 - c0) / (t1 - t0)
    print(f"{what}: {share * 100:.2f}% of one core over {t1 - t0:.1f} s")
    check(share < 0.02, f"{what}: mediusd uses under 2% of a core ({share * 100:.2f}%)")
    return share


def load(d):
    """CALLS relayed calls, bursts both ways for about 2 s, then deleted.
    Returns (sent, received) packet counts."""
    calls, sent, got = [], 0, 0
    for i in range(CALLS):
        a, b = loop_sock(), loop_sock()
        for s in (a, b):
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        cid = f"idle-load-{i}"
        ro = ng(d.port, command="offer", call_id=cid, from_tag="A", sdp=call_sdp(a.getsockname()[1], pts=(0,)))
        ra = ng(d.port, command="answer", call_id=cid, from_tag="A", to_tag="B",
                sdp=call_sdp(b.getsockname()[1], pts=(0,)))
        calls.append((cid, a, b, media_port(ra["sdp"]), media_port(ro["sdp"])))
    t_end, seq = time.monotonic() + 2.0, 0
    while time.monotonic() < t_end:
        for _, a, b, to_a, to_b in calls:  # to_a: where A sends (in the answer's reply), to_b: where B sends (in the offer's)
            for _ in range(4):
                pkt = struct.pack("!BBHII", 0x80, 0, seq & 0xffff, seq * 160, 0xA) + b"\xff" * 160
                a.sendto(pkt, ("127.0.0.1", to_a))
                b.sendto(pkt[:8] + struct.pack("!I", 0xB) + pkt[12:], ("127.0.0.1", to_b))
                sent += 2
                seq += 1
        for _, a, b, _, _ in calls:
            for s in (a, b):
                try:
                    while True:
                        s.recv(2048)
                        got += 1
                except BlockingIOError:
                    pass
        time.sleep(0.005)
    time.sleep(0.2)
    for cid, a, b, _, _ in calls:
        for s in (a, b):
            try:
                while True:
                    s.recv(2048)
                    got += 1
            except BlockingIOError:
                pass
            s.close()
        ng(d.port, command="delete", call_id=cid, from_tag="A")
    return sent, got


with Daemon() as d:
    time.sleep(1.0)  # let start-up work finish
    idle_share(d, "idle after start-up")
    sent, got = load(d)
    print(f"load: {CALLS} calls, {sent} packets sent, {got} relayed back")
    check(sent > 0 and got > sent * 0.5, f"the calls relayed media ({got} of {sent})")
    time.sleep(0.5)
    idle_share(d, "idle after the calls ended")
    check(ping(d.port), "and still answers ping")
    log = d.log_text()
    backend = [line for line in log.splitlines() if "kernel UDP:" in line]
    print("   ", backend[0].strip() if backend else "(no kernel UDP line in the log)")
    want = os.environ.get("MEDIUS_KERNEL_IO")
    if want in ("uring", "epoll"):
        check(any(("io_uring" if want == "uring" else "epoll") in line for line in backend),
              f"the worker runs on {want}")
finish()
