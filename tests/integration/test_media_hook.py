"""A terminated leg's media hook (dataplane/dp_media.h), through the real
dataplane in relay_harness (kernel UDP on loopback):

1. arrival times: the hook stalls the worker for 0.5 s on the first
   packet; the six packets sent meanwhile, 40 ms apart, wait in the socket
   and are read together, yet their arrival_tsc keep the spacing they were
   sent with (the kernel's receive time, SO_TIMESTAMPNS), not one read
   time;
2. tearing down without waiting: for 3 s a hook and a ticker sharing one
   ctx are set up and torn down every 1 ms (every 4th once it ticked) with
   dp_leg_set_hook_deferred and dp_ticker_remove_deferred (the release on
   the one posted last) while packets arrive and the hook keeps the worker
   busy; no hook or tick call may find its ctx released, and every ctx is
   released. (A harness that released at once instead, as a waiting
   teardown could, finds thousands of such calls.)"""
import json
import os
import signal
import socket
import struct
import subprocess
import time

from media_check import stop
from medius_test import check, finish

HARNESS = os.environ.get("RELAY_HARNESS", "build/tests/relay_harness")


def start(*args):
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    p = subprocess.Popen([HARNESS, "--lcores", "0@0,1@1", *args,
                          "--a", f"remote=127.0.0.1:{peer.getsockname()[1]},clock=8000",
                          "--b", "remote=127.0.0.1:9"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready = p.stdout.readline().split()
    assert ready[:1] == ["READY"], ready
    return p, peer, ("127.0.0.1", int(ready[1].split("=")[1]))


def rtp(seq):
    return struct.pack("!BBHII", 0x80, 0, seq & 0xffff, (seq * 160) & 0xffffffff, 0x5eed) + b"\xff" * 160


def result(p):
    out, err = stop(p, signal.SIGTERM)
    return json.loads(out.strip().splitlines()[-1])


# 1. packets that queue while the worker is stalled keep their spacing
p, peer, dst = start("--hook", "record", "--stall-ms", "500")
peer.sendto(rtp(0), dst)
time.sleep(0.05)  # the worker took packet 0 and stalls in the hook
sent = []
for i in range(1, 7):
    sent.append(time.monotonic())
    peer.sendto(rtp(i), dst)
    time.sleep(0.04)
time.sleep(0.6)
h = result(p)["hook"]
arr, ran = h["arrival_us"], h["ran_us"]
check(h["packets"] == 7, f"stall: the hook got all 7 packets ({h['packets']})")
if h["packets"] == 7:
    check(max(ran[1:]) - min(ran[1:]) < 20000 and min(ran[1:]) > 400000,
          f"stall: packets 1-6 were read together after the stall (ran at {ran[1:]} us)")
    errs = [abs((arr[i] - arr[1]) - (sent[i - 1] - sent[0]) * 1e6) for i in range(2, 7)]
    check(max(errs) < 5000,
          f"stall: their arrival times keep the send spacing: arrival {arr[1:]} us, sent "
          f"{[round((t - sent[0]) * 1e6) for t in sent]} us from packet 1 (error max {max(errs):.0f} us)")
    check(arr[6] - arr[1] > 150000, f"stall: packets 1-6 spread over {(arr[6] - arr[1]) / 1e3:.1f} ms, not one read time")
    check(all(a <= r + 1 for a, r in zip(arr, ran)), "stall: no packet arrives after the hook ran")

# 2. set-up and teardown without waiting, under load
p, peer, dst = start("--hook", "churn", "--spin-us", "200")
t0 = time.monotonic()
n = 0
while time.monotonic() - t0 < 3.0:
    for _ in range(2):
        peer.sendto(rtp(n), dst)
        n += 1
    time.sleep(0.001)
c = result(p)["churn"]
print(f"churn: {n} packets sent; {c}")
check(c["violations"] == 0, f"churn: no hook or tick call found its ctx released ({c['violations']})")
check(c["generations"] >= 20 and c["released"] == c["generations"],
      f"churn: every one of {c['generations']} generations released ({c['released']})")
check(c["hook_calls"] > 100 and c["tick_calls"] > 0,
      f"churn: the hooks ({c['hook_calls']} calls) and tickers ({c['tick_calls']} ticks) ran meanwhile")
finish()
