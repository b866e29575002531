#!/usr/bin/env python3
"""perf_http: what the HTTP listener ([http]) costs the control lcore.

Two mediusd side by side, each holding the same N relayed calls (no media:
the collection walks every leg all the same): one without [http], one with
it, scraped at /metrics and /status.json once a second as Prometheus and
the status page would. Over the same SECS seconds it reads each daemon's
control thread CPU time (and the listener thread's) from /proc, and the
collection time mediusd reports itself (medius_metrics_collect_seconds).

  python3 perf/perf_http.py [N=1000] [SECS=20]   (MEDIUSD: the daemon)

Prints the control thread's CPU per second of both and their ratio."""
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from medius_test import Daemon  # noqa: E402
from http_test import HttpDaemon, Party, call, get, scrape, value  # noqa: E402


def thread_cpu(pid, name=None):
    """CPU seconds of mediusd's main thread (name None) or of its thread called name."""
    tck = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        comm = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
        if (name is None and tid == str(pid)) or (name and comm == name):
            f = open(f"/proc/{pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / tck
    return 0.0


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 20
    with Daemon() as off, HttpDaemon() as on:
        for d in (off, on):
            for i in range(n):
                a, b = Party(), Party()
                call(d.port, f"perf-{i}", a, b, f"site-{i % 10}", f"site-{(i + 3) % 10}")
                a.sock.close()
                b.sock.close()
        time.sleep(2)
        stop, collect = threading.Event(), []

        def scraper():
            while not stop.is_set():
                s, _ = scrape(on.http)
                get(on.http, "/status.json")
                collect.append(value(s, "medius_metrics_collect_seconds"))
                time.sleep(1)
        t = threading.Thread(target=scraper, daemon=True)
        c0 = (thread_cpu(off.proc.pid), thread_cpu(on.proc.pid), thread_cpu(on.proc.pid, "MHD-single"))
        t.start()
        time.sleep(secs)
        stop.set()
        t.join()
        c1 = (thread_cpu(off.proc.pid), thread_cpu(on.proc.pid), thread_cpu(on.proc.pid, "MHD-single"))
    off_ms, on_ms, mhd_ms = ((c1[i] - c0[i]) / secs * 1000 for i in range(3))
    collect.sort()
    print(f"{n} calls, {secs:.0f} s, one scrape of /metrics and /status.json a second")
    print(f"  control thread CPU, [http] off: {off_ms:7.2f} ms/s")
    print(f"  control thread CPU, [http] on:  {on_ms:7.2f} ms/s   (ratio on/off {on_ms / off_ms if off_ms else float('nan'):.2f})")
    print(f"  listener thread CPU:            {mhd_ms:7.2f} ms/s")
    if collect:
        print(f"  collection + rendering (medius_metrics_collect_seconds): median "
              f"{collect[len(collect) // 2] * 1000:.2f} ms, max {collect[-1] * 1000:.2f} ms")
    print("  (CPU from /proc in clock ticks of 10 ms: read differences under ~0.5 ms/s as noise)")


if __name__ == "__main__":
    main()
