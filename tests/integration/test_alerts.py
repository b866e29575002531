"""Per-site alerts, their webhook and the recording notification (issue 14,
docs/operations.md), against a test webhook receiver (http.server on
loopback):
  1. Two calls on two sites: "north" is an [interface] (the call's
     direction), "south" the site tag of the other call's ng metadata (its
     legs are on the same interface, north). Both senders of the north call skip every 20th
     RTP sequence number (5 % loss); the south call is clean. The loss
     alert for north raises: the webhook gets it with the site, metric,
     value and threshold; south raises nothing; ng "alerts" and
     "mediusctl alerts" show it; query shows each tag's site.
  2. Retries: the receiver answers the first alert POST 500 twice, then
     200: the same delivery arrives three times (X-Medius-Attempt 1, 2, 3)
     and is accepted once; the webhook counters say 1 delivered, 2 retries.
  3. The loss stops: the clear event arrives (same alert id, raised_at and
     cleared_at), and the alert is no longer active.
  4. The south call is recorded: deleting it finalises the recording, and
     [recording] notify_url gets its metadata and the path of a file that
     exists."""
import json
import os
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from medius_test import MEDIUSCTL, Daemon, call_sdp, check, finish, free_port, media_port, ng
from media_check import peer_port


class Receiver:
    """Records every POST (path, headers, JSON body); answers each path's
    first requests with the statuses queued for it, then 200."""

    def __init__(self):
        self.posts = []
        self.fail = {}  # path -> [status, ...] to answer first
        self.lock = threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    q = outer.fail.get(self.path, [])
                    status = q.pop(0) if q else 200
                    try:
                        doc = json.loads(body)
                    except ValueError:
                        doc = None
                    outer.posts.append({"path": self.path, "status": status, "body": doc, "raw": body,
                                        "attempt": int(self.headers.get("X-Medius-Attempt", 0)),
                                        "delivery": self.headers.get("X-Medius-Delivery"),
                                        "ctype": self.headers.get("Content-Type"), "t": time.time()})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def accepted(self, path, pred=lambda b: True):
        with self.lock:
            return [p for p in self.posts if p["path"] == path and p["status"] == 200 and p["body"] is not None
                    and pred(p["body"])]

    def wait(self, path, pred, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.accepted(path, pred)
            if got:
                return got[0]["body"]
            time.sleep(0.1)
        return None

    def close(self):
        self.srv.shutdown()


class Sender:
    """RTP (PCMU, 20 ms) from sock to port; skips every 20th sequence
    number while lossy is set."""

    def __init__(self, sock, port, ssrc):
        self.sock, self.port, self.ssrc = sock, port, ssrc
        self.lossy = False
        self.stop = False
        self.sent = 0
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        seq, ts, t = 1000, 0, time.monotonic()
        while not self.stop:
            if not (self.lossy and seq % 20 == 0):
                hdr = struct.pack("!BBHII", 0x80, 0, seq & 0xffff, ts & 0xffffffff, self.ssrc)
                self.sock.sendto(hdr + b"\xff" * 160, ("127.0.0.1", self.port))
                self.sent += 1
            seq += 1
            ts += 160
            t += 0.02
            d = t - time.monotonic()
            if d > 0:
                time.sleep(d)


def call(P, cid, direction=None, **extra):
    """Offer and answer a PCMU call; the two parties' sockets and the ports
    medius gave each of them."""
    a, b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", peer_port()))
    b.bind(("127.0.0.1", peer_port()))
    kw = dict(extra)
    if direction:
        kw["direction"] = direction
    o = ng(P, command="offer", call_id=cid, from_tag="caller", sdp=call_sdp(a.getsockname()[1], pts=(0,)), **kw)
    check(o["result"] == "ok", f"{cid}: offer: {o.get('error-reason')}")
    r = ng(P, command="answer", call_id=cid, from_tag="caller", to_tag="callee",
           sdp=call_sdp(b.getsockname()[1], pts=(0,)))
    check(r["result"] == "ok", f"{cid}: answer: {r.get('error-reason')}")
    return a, b, media_port(r["sdp"]), media_port(o["sdp"])


def main():
    rx = Receiver()
    rx.fail["/alerts"] = [500, 500]
    recdir = tempfile.mkdtemp(prefix="medius-alerts-rec-")
    http_port = free_port(socket.SOCK_STREAM)
    conf = tempfile.NamedTemporaryFile("w", prefix="mediusd-alerts-", suffix=".conf", delete=False)
    conf.write(f"""[interface north]
address = 127.0.0.1
port_min = 46000
port_max = 46999
[alerts]
loss_for_s = 2
clear_for_s = 2
window_s = 3
min_packets = 50
mos_for_s = 120
jitter_for_s = 120
webhook_url = {rx.url('/alerts')}
webhook_backoff_ms = 200
webhook_timeout_ms = 2000
[recording]
dir = {recdir}
notify_url = {rx.url('/rec')}
[http]
listen = 127.0.0.1:{http_port}
""")
    conf.close()
    senders = []
    try:
        with Daemon("-c", conf.name) as d:
            P = d.port
            na, nb, na_to, nb_to = call(P, "north-call", direction=["north", "north"])
            sa, sb, sa_to, sb_to = call(P, "south-call", metadata="site:south|case:42", flags=["record call"])
            q = ng(P, command="query", call_id="north-call")
            check(q.get("site") == "north" and all(t.get("site") == "north" for t in q.get("tags", {}).values()),
                  f"query: the north call's site is its interface: {q.get('site')}, "
                  f"{[t.get('site') for t in q.get('tags', {}).values()]}")
            q = ng(P, command="query", call_id="south-call")
            check(q.get("site") == "south" and all(t.get("site") == "south" for t in q.get("tags", {}).values()),
                  f"query: the south call's site is its metadata's: {q.get('site')}")
            n1, n2 = Sender(na, na_to, 0x1001), Sender(nb, nb_to, 0x1002)
            s1, s2 = Sender(sa, sa_to, 0x2001), Sender(sb, sb_to, 0x2002)
            senders = [n1, n2, s1, s2]
            time.sleep(1)
            n1.lossy = n2.lossy = True
            t_loss = time.time()

            def north_loss_raised(b):
                return b.get("event") == "raised" and b.get("site") == "north" and b.get("metric") == "loss"

            raised = rx.wait("/alerts", north_loss_raised, 20)
            check(raised is not None, "the north loss alert reached the webhook")
            if raised:
                print(f"     raised {time.time() - t_loss:.1f} s after the loss began: {json.dumps(raised)}")
                check(3.5 <= raised["value"] <= 7, f"its value is the site's loss, about 5 %: {raised['value']}")
                check(raised["threshold"] == 2 and raised["unit"] == "%" and raised["for_s"] >= 2,
                      f"threshold 2 %, held for at least loss_for_s = 2 s: {raised['threshold']} "
                      f"{raised['unit']} {raised['for_s']}")
                check(raised["streams"] in (1, 2) and raised["type"] == "medius.alert" and raised["cleared_at"] is None
                      and raised["raised_at"].endswith("Z"), f"{raised['streams']} of 2 streams sampled at the raise (1 if a sender stalled), raised_at set, cleared_at null")
            # retries: the same delivery three times, attempts 1, 2, 3; accepted once
            with rx.lock:
                first = [p for p in rx.posts if p["path"] == "/alerts"][:3]
            check([p["status"] for p in first] == [500, 500, 200] and [p["attempt"] for p in first] == [1, 2, 3]
                  and len({p["delivery"] for p in first}) == 1 and first[0]["raw"] == first[2]["raw"],
                  f"500, 500, then 200 for one delivery, attempts counted: "
                  f"{[(p['status'], p['attempt'], p['delivery']) for p in first]}")
            check(all(p["ctype"] == "application/json" for p in first), "Content-Type: application/json")
            check(len([p for p in rx.accepted("/alerts", north_loss_raised)]) == 1, "delivered once")
            al = ng(P, command="alerts")
            wh = al.get("webhook", {})
            check(wh.get("delivered", 0) >= 1 and wh.get("retries") == 2 and wh.get("failed") == 0,
                  f"ng alerts' webhook counters: {wh}")
            act = al.get("active", [])
            check(any(x["site"] == "north" and x["metric"] == "loss" for x in act),
                  f"ng alerts lists the active north loss alert: {act}")
            check(not any(x["site"] == "south" for x in act), "nothing active for south")
            sites = {s["name"]: s for s in al.get("sites", [])}
            check("south" in sites and sites["south"]["streams"] in (1, 2) and sites["south"]["loss pct"] == "0.00"
                  and sites["south"]["interface"] == 0,
                  f"south is a site of its own (a metadata one), two clean streams: {sites.get('south')}")
            check(sites.get("north", {}).get("interface") == 1 and 3.5 <= float(sites["north"]["loss pct"] or 0) <= 7,
                  f"north (an interface) at about 5 %: {sites.get('north')}")
            # the status page's data shows the active alert too (status.json "alerts")
            st = None
            for _ in range(30):  # rendered once a second on the control lcore
                st = json.load(urllib.request.urlopen(f"http://127.0.0.1:{http_port}/status.json", timeout=5))
                if any(a.startswith("north: loss") for a in st.get("alerts", [])):
                    break
                time.sleep(0.2)
            check(any(a.startswith("north: loss") and "%" in a for a in st.get("alerts", [])) and
                  not any(a.startswith("south") for a in st.get("alerts", [])),
                  f"status.json lists the north loss alert, nothing for south: {st.get('alerts')}")
            ev = [e for e in al.get("events", []) if e["event"] == "raised"]
            check(len(ev) >= 1 and ev[0]["site"] == "north" and ev[0]["metric"] == "loss" and ev[0].get("raised at"),
                  f"ng alerts' events: {ev}")
            out = subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{P}", "alerts"], capture_output=True, text=True)
            check(out.returncode == 0 and "ACTIVE ALERTS" in out.stdout and "north" in out.stdout
                  and "loss" in out.stdout, f"mediusctl alerts shows the alert (exit {out.returncode}) {out.stderr}")
            print("\n".join("     | " + ln for ln in out.stdout.splitlines()))
            check(not [ln for ln in d.log_text().splitlines() if "alerts: alert" in ln and "site south" in ln],
                  "the log names no alert for south")

            # the loss stops: a clear event
            n1.lossy = n2.lossy = False
            t_ok = time.time()
            cleared = rx.wait("/alerts", lambda b: b.get("event") == "cleared" and b.get("site") == "north"
                              and b.get("metric") == "loss", 20)
            check(cleared is not None, "the clear event reached the webhook")
            if cleared and raised:
                print(f"     cleared {time.time() - t_ok:.1f} s after the loss stopped: {json.dumps(cleared)}")
                check(cleared["alert_id"] == raised["alert_id"] and cleared["raised_at"] == raised["raised_at"]
                      and cleared["cleared_at"] and cleared["value"] <= 1.5 and cleared["threshold"] == 1.5,
                      "the clear names the alert, its raise time, the clear time and threshold")
            al = ng(P, command="alerts")
            check(not al.get("active"), f"no alert active after the clear: {al.get('active')}")
            check(not [p for p in rx.accepted("/alerts") if p["body"].get("site") != "north"],
                  "the south site sent nothing")
            check(not [p for p in rx.accepted("/alerts") if p["body"].get("metric") != "loss"],
                  "no MOS or jitter alert")

            # the recorded south call ends: its finalised recording is notified
            for s in senders:
                s.stop = True
            r = ng(P, command="delete", call_id="south-call")
            check(r["result"] == "ok", "delete the recorded call")
            note = rx.wait("/rec", lambda b: b.get("event") == "finalised", 15)
            check(note is not None, "the recording's finalisation was notified")
            if note:
                print(f"     {json.dumps(note)}")
                check(note["call_id"] == "south-call" and note["metadata"] == "site:south|case:42"
                      and note["metadata_fields"] == {"site": "south", "case": "42"},
                      "it carries the call-id and the metadata")
                check(note["path"].startswith(recdir) and os.path.isfile(note["path"])
                      and os.path.getsize(note["path"]) > 44 and note["complete"] is True
                      and os.path.isfile(note["sidecar"]),
                      f"its path is the finalised file: {note['path']}")
                check(note["from_tag"] == "caller" and note["to_tag"] == "callee" and note["duration_ms"] > 1000,
                      f"tags and duration: {note['from_tag']} {note['to_tag']} {note['duration_ms']}")
    finally:
        for s in senders:
            s.stop = True
        rx.close()
        os.unlink(conf.name)
        subprocess.run(["rm", "-rf", recdir])
    finish()


if __name__ == "__main__":
    main()
