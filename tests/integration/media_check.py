"""Audio measurements and process helpers shared by the media integration
tests (standard library only)."""
import array
import math
import os
import signal
import subprocess
import sys
import time


def pcm_from_bytes(data):
    a = array.array("h")
    a.frombytes(data[: len(data) // 2 * 2])
    if sys.byteorder == "big":
        a.byteswap()
    return a


def goertzel_power(x, rate, freq):
    """Mean power of the component at freq in x (a sine of peak A gives A^2/2)."""
    n = len(x)
    w = 2 * math.pi * freq / rate
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for v in x:
        s0 = v + c * s1 - s2
        s2 = s1
        s1 = s0
    mag2 = s1 * s1 + s2 * s2 - c * s1 * s2
    return 2 * mag2 / (n * n)


def udp_bound(port):
    """True when something has bound UDP port on this host (/proc/net/udp*)."""
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    local = line.split()[1]
                    if int(local.rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            pass
    return False


def wait_bound(proc, port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if udp_bound(port):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


def stop(proc, sig=signal.SIGTERM, timeout=10):
    """End a process we started; returns (stdout, stderr) bytes."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate(timeout=5)


def settle(*paths, quiet=0.6, limit=10.0):
    """Wait until the receivers' output files stop growing (a loaded machine
    may still be decoding what arrived), at most `limit` seconds."""
    def sizes():
        return [os.path.getsize(p) if os.path.exists(p) else -1 for p in paths]
    last, since, start = sizes(), time.time(), time.time()
    while time.time() - start < limit:
        time.sleep(0.1)
        now = sizes()
        if now != last:
            last, since = now, time.time()
        elif time.time() - since >= quiet and min(now) > 0:
            return
    return
