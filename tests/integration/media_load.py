"""Calls of their own with media flowing while a test does something else
to the same mediusd: relayed PCMU calls and transcoded PCMU <-> PCMA
calls (terminated media: jitter buffers on the media clock), each fed 50
packets a second both ways from loopback sockets.

    load = MediaLoad(port, relayed=4, transcoded=2); load.start()
    ... the test's own work ...
    load.stop(); r = load.results(); load.delete()
"""
import select
import socket
import struct
import threading
import time

from medius_test import call_sdp, media_port, ng


def _sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    return s


class MediaLoad:
    def __init__(self, port, relayed=4, transcoded=2, prefix="media-load"):
        self.port = port
        self.flows = []  # dicts: name, sock_from, to_port, pt, kind, ssrc, sent, got (seq list)
        self.ids = []
        self._stop = threading.Event()
        for i in range(relayed + transcoded):
            cid = f"{prefix}-{i}"
            kind = "relayed" if i < relayed else "transcoded"
            pt_b = 0 if kind == "relayed" else 8
            a, b = _sock(), _sock()
            o = ng(port, command="offer", call_id=cid, from_tag="A", sdp=call_sdp(a.getsockname()[1], pts=(0,)))
            an = ng(port, command="answer", call_id=cid, from_tag="A", to_tag="B", sdp=call_sdp(b.getsockname()[1], pts=(pt_b,)))
            if o.get("result") != "ok" or an.get("result") != "ok":
                raise RuntimeError(f"media load call {cid}: {o.get('error-reason')} {an.get('error-reason')}")
            to_a, to_b = media_port(an["sdp"]), media_port(o["sdp"])
            self.ids.append(cid)
            self.flows.append(dict(name=f"{cid} A->B", src=a, dst=b, to=to_a, pt=0, kind=kind,
                                   ssrc=0x1000 + 2 * i, sent=0, got=[]))
            self.flows.append(dict(name=f"{cid} B->A", src=b, dst=a, to=to_b, pt=pt_b, kind=kind,
                                   ssrc=0x1001 + 2 * i, sent=0, got=[]))
        self._by_sock = {f["dst"].fileno(): f for f in self.flows}
        self._tx = threading.Thread(target=self._send, daemon=True)
        self._rx = threading.Thread(target=self._recv, daemon=True)
        self._rx_stop = threading.Event()

    def _send(self):
        payload = bytes(range(160))
        t = time.monotonic()
        while not self._stop.is_set():
            for f in self.flows:
                seq = f["sent"]
                f["src"].sendto(struct.pack("!BBHII", 0x80, f["pt"], seq & 0xffff, seq * 160, f["ssrc"]) + payload,
                                ("127.0.0.1", f["to"]))
                f["sent"] += 1
            t += 0.02
            time.sleep(max(0.0, t - time.monotonic()))

    def _recv(self):
        socks = [f["dst"] for f in self.flows]
        while not self._rx_stop.is_set():
            r, _, _ = select.select(socks, [], [], 0.05)
            for s in r:
                f = self._by_sock[s.fileno()]
                while True:
                    try:
                        p = s.recv(2048)
                    except BlockingIOError:
                        break
                    f["got"].append(struct.unpack("!H", p[2:4])[0])

    def start(self):
        self._rx.start()
        self._tx.start()

    def stop(self, drain=0.8):
        self._stop.set()
        self._tx.join()
        time.sleep(drain)
        self._rx_stop.set()
        self._rx.join()

    def results(self):
        """Per flow: (name, kind, sent, received, missing, out of order).
        Relayed flows keep the sender's sequence numbers; a transcoded
        flow's are medius's own (counted from the first one)."""
        out = []
        for f in self.flows:
            got = f["got"]
            if f["kind"] == "relayed":
                missing = f["sent"] - len(set(got))
            else:
                missing = f["sent"] - len(got)
            disorder = sum(1 for k in range(len(got) - 1) if (got[k + 1] - got[k]) & 0xffff != 1)
            out.append((f["name"], f["kind"], f["sent"], len(got), missing, disorder))
        return out

    def received_total(self):
        return sum(len(f["got"]) for f in self.flows)

    def sent_total(self):
        return sum(f["sent"] for f in self.flows)

    def rtcp_generated(self):
        """RTCP reports medius sent these calls' peers itself (transcoded legs; to the RTP port + 1)."""
        n = 0
        for cid in self.ids:
            q = ng(self.port, command="query", call_id=cid)
            for t in q.get("tags", {}).values():
                for m in t.get("medias", []):
                    n += sum(s.get("RTCP generated", 0) for s in m.get("streams", []))
        return n

    def delete(self):
        for cid in self.ids:
            ng(self.port, command="delete", call_id=cid)
