"""Transcoded calls move onto a transcoding worker.

mediusd runs three lcores on this machine's cores (EAL --lcores map
"0@0,(1-2)@1": control, and two workers), with media.transcode_workers = 1:
worker lcore 1 relays, worker lcore 2 transcodes. A relayed call stays on
lcore 1. A call that starts relayed (PCMA both ways), with A sending 20 ms
packets all along, is re-offered and re-answered PCMU by B, so it needs
transcoding and moves to lcore 2 while the media flows: B must receive every
packet A sent, relayed A-law before and mu-law after, and B's packets must
keep reaching A. With transcode_workers = 0 (the default) a transcoded call
stays where it is: the control case."""
import audioop
import threading
import time

from medius_test import Daemon, call_sdp, check, drain, finish, loop_sock, media_port, ng

LCORES = "0@0,(1-2)@1"
ULAW_OF_ALAW_D5 = audioop.lin2ulaw(audioop.alaw2lin(b"\xd5" * 160, 2), 2)  # what medius must make of A's A-law


def rtp(pt, seq, ssrc, payload):
    import struct
    return struct.pack("!BBHII", 0x80, pt, seq, seq * 160, ssrc) + payload


for workers in (1, 0):
    with Daemon("--set", f"eal.lcores={LCORES}", "--set", f"media.transcode_workers={workers}") as d:
        P = d.port
        time.sleep(0.2)
        check("2 worker lcore(s)" in d.log_text(), f"transcode_workers={workers}: mediusd runs two workers on 2 cores")
        a, b = loop_sock(), loop_sock()
        o = ng(P, command="offer", call_id="relayed", from_tag="A", sdp=call_sdp(a.getsockname()[1], pts=(0,)))
        ng(P, command="answer", call_id="relayed", from_tag="A", to_tag="B", sdp=call_sdp(b.getsockname()[1], pts=(0,)))
        q = ng(P, command="query", call_id="relayed")
        if workers:
            check(q["lcore"] == 1, f"transcode_workers={workers}: a relayed call is on relay worker lcore 1 ({q['lcore']})")
        ng(P, command="delete", call_id="relayed")

        o = ng(P, command="offer", call_id="moving", from_tag="A", sdp=call_sdp(a.getsockname()[1], pts=(8,)))
        an = ng(P, command="answer", call_id="moving", from_tag="A", to_tag="B", sdp=call_sdp(b.getsockname()[1], pts=(8,)))
        to_b, to_a = media_port(o["sdp"]), media_port(an["sdp"])
        before = ng(P, command="query", call_id="moving")["lcore"]
        sent = {"a": 0, "b": 0, "b_pt": 8, "b_payload": b"\xd5" * 160}
        stop = threading.Event()

        def sender():
            t0, i = time.time(), 0
            while not stop.is_set():
                a.sendto(rtp(8, i, 0xA, b"\xd5" * 160), ("127.0.0.1", to_a))
                b.sendto(rtp(sent["b_pt"], i, 0xB, sent["b_payload"]), ("127.0.0.1", to_b))
                sent["a"] += 1
                sent["b"] += 1
                i += 1
                time.sleep(max(0, t0 + 0.02 * i - time.time()))
        th = threading.Thread(target=sender)
        th.start()
        time.sleep(0.6)
        ro = ng(P, command="offer", call_id="moving", from_tag="A", to_tag="B", sdp=call_sdp(a.getsockname()[1], pts=(8,)))
        ra = ng(P, command="answer", call_id="moving", from_tag="A", to_tag="B",
                sdp=call_sdp(b.getsockname()[1], pts=(0,)))
        sent["b_pt"], sent["b_payload"] = 0, b"\xff" * 160  # B now sends what it answered: PCMU
        time.sleep(0.8)
        stop.set()
        th.join()
        got_b, got_a = drain(b, 10000, 1), drain(a, 10000, 1)
        after = ng(P, command="query", call_id="moving")
        ng(P, command="delete", call_id="moving")
        check(ro["result"] == "ok" and ra["result"] == "ok" and "transcoded" in ra.get("warning", ""),
              f"transcode_workers={workers}: the re-answer with PCMU makes the call transcoded")
        want = 2 if workers else before
        check((before == 1 or not workers) and after["lcore"] == want,
              f"transcode_workers={workers}: the call was on lcore {before}, now on lcore {after['lcore']} (want {want})")
        alaw = sum(1 for p in got_b if p[1] & 0x7f == 8 and p[12:] == b"\xd5" * 160)
        ulaw = sum(1 for p in got_b if p[1] & 0x7f == 0 and p[12:] == ULAW_OF_ALAW_D5)
        check(alaw > 10 and ulaw > 10 and alaw + ulaw == len(got_b) == sent["a"],
              f"transcode_workers={workers}: B got every packet A sent ({sent['a']}): {alaw} relayed A-law, "
              f"then {ulaw} as mu-law ({len(got_b)} in all)")
        print("    B got", sorted({(p[1] & 0x7f, p[12]) for p in got_b}), "A got", sorted({(p[1] & 0x7f, p[12]) for p in got_a}))
        check(len(got_a) == sent["b"],
              f"transcode_workers={workers}: A got every packet B sent ({len(got_a)} of {sent['b']})")
finish()
