"""An idle mediusd (kernel-UDP default, no calls) uses under 2% of a core:
it sleeps in epoll instead of polling. CPU time is read from
/proc/PID/stat (all threads) over a 5-second window."""
import os
import time

from medius_test import Daemon, check, finish, ping

WINDOW = 5.0
HZ = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # utime + stime


with Daemon() as d:
    time.sleep(1.0)  # let start-up work finish
    c0, t0 = cpu_seconds(d.proc.pid), time.monotonic()
    time.sleep(WINDOW)
    c1, t1 = cpu_seconds(d.proc.pid), time.monotonic()
    share = (c1 - c0) / (t1 - t0)
    print(f"idle CPU: {share * 100:.2f}% of one core over {t1 - t0:.1f} s")
    check(share < 0.02, f"idle mediusd uses under 2% of a core ({share * 100:.2f}%)")
    check(ping(d.port), "and still answers ping")
finish()
