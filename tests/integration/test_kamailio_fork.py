"""A parallel-forked SIP call through a real Kamailio driving mediusd.

                                       +--SIP--> sipp UAS "loser": 183 + SDP at once, early media;
    sipp UAC --SIP--> Kamailio (tm,  --+                            CANCELled: 200, 487
        |             rr, rtpengine)   +--SIP--> sipp UAS "winner": 180, then 200 + SDP
        |                  | ng (UDP)
        |                  v
        +--- RTP ---> mediusd: one branch, with its own ports, per forked INVITE

Kamailio (kamailio/kamailio_fork.cfg) forks every INVITE in parallel:
branch 0 to the loser (the request URI), branch 1 to the winner
(append_branch). Its branch_route calls rtpengine_offer() once per branch
with via-branch=next; its onreply_route calls rtpengine_answer() with
via-branch=1 for each reply with SDP (the loser's 183, the winner's 200),
and rtpengine_delete() with via-branch=1 for the loser's 487 (that branch
only); the BYE's rtpengine_delete() has no via-branch (the whole call).

The via-branch values, as Debian's Kamailio 5.6.3 behaves (tried):
- A branch_route runs before tm adds its own Via, so via-branch=1 there
  (and "auto", which is 1 in a request) is the caller's Via branch, the
  same for both branches (z9hG4bK-<pid>-1-0 from sipp). medius then sees
  one branch (the second offer re-offers it) and both callees are offered
  the same medius port; the replies' via-branch=1 (Kamailio's own Via
  branches, ...0 and ...1) names branches medius was never offered. The
  loser's 487 then deletes with a via-branch that names no branch, which
  medius takes as a delete of the whole call: the winner got 1 of 236
  packets. With "auto" in the replies too (the second Via: the caller's
  again) offers and answers agree on that one branch, the 200 takes it
  over from the 183's tag, and the 487's delete (via-branch=1: a branch
  medius does not know) again ends the whole call.
- via-branch=next is what the module has for this: in a branch_route it
  computes the branch tm is about to put in its Via for this branch
  (transaction hash, MD5 of the request, branch index). The test checks
  that each offer's via-branch is the top Via branch its callee received.
  The replies carry Kamailio's Via on top, so via-branch=1 there names the
  same branch. ("auto-next" everywhere is the same thing: next in
  requests, 1 in replies; tried, it passes too.)
- The module sends a delete's to-tag only with its "to-tag" flag, so the
  loser's delete carries from-tag and via-branch (with "to-tag" added, it
  passes too).

The caller (kamailio/uac_fork.xml) sends no media before the 200 OK, then
plays sipp's real G.711 A-law capture (/usr/share/sip-tester/g711a.pcap)
to the port of the 200 OK's SDP, and hangs up. The loser
(kamailio/uas_fork_loser.xml) answers 183 with SDP at once and plays the
same capture to medius as early media until its sipp ends, after the
CANCEL. The winner (kamailio/uas_fork_winner.xml) sends 180 after RING_MS
and 200 OK (PCMA) ANSWER_MS later. tshark captures the three media ports
and mediusd's ng port; the test polls medius's query every 50 ms during
the call.

Checked: the three sipp complete their scenarios; each callee is offered
its own medius port and the caller is answered two other ones (183: the
loser's branch, 200: the winner's); two offers with two via-branch
values, each the Via branch its callee received; each answer (and the
loser's delete) names its branch, and medius's reply is what the caller
got; while both callees were in the call, medius's query said branches: 2
(the loser's tag and the winner's via-branch), after the loser's 487
branches: 1, the winner's; the winner receives every RTP packet of the
pcap, unchanged, from the medius port announced to it; the caller played
only to the 200's port; the loser receives no media at all (the caller's
stream goes to the winner's branch only); the caller hears the loser's
early media from the 183's port up to the loser's delete and none of it
after; after the BYE medius lists no call, and the session was deleted,
not timed out; Kamailio logged no error.

Environment: MEDIUSD, MEDIUSCTL (as the other integration tests), KAMAILIO
(default kamailio), KAMAILIO_MPATH (its modules directory), SIPP (default
sipp), TSHARK (default tshark), SIPP_PCAP (default
/usr/share/sip-tester/g711a.pcap). Needs root (sipp plays pcaps through a
raw socket, tshark captures on lo). Exits 77 (skipped) when a tool is
missing. KEEP_TMP=1 keeps the temp dir (configs, sipp traces, captures,
Kamailio's log). Standard library only.
"""
import os
import re
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from medius_test import Daemon, check, finish, ng  # noqa: E402
from media_check import (KAMAILIO, MEDIUS_PORTS, SIPP, SIPP_PCAP, SIPP_TIMEOUT, TSHARK, check_call_deleted,  # noqa: E402
                         check_mediusctl_list_empty, check_mediusd_stops, check_sipp, clean_up, end_kamailio,
                         fill_config, medius_totals, ng_exchanges_timed, payload_bytes, peer_port, read_text,
                         require_sip_peers, rtp_fields, sdp_target, sipp_pcap_rtp, sipp_received, start_capture,
                         start_kamailio, start_sipp, start_uas, stop, stop_all, wait_exit)

SDP_FLAGS = "replace-origin replace-session-connection ICE=remove"
OFFER_FLAGS = SDP_FLAGS + " via-branch=next"  # branch_route: the Via branch tm is about to add
ANSWER_FLAGS = SDP_FLAGS + " via-branch=1"    # onreply_route: the top Via, Kamailio's
DELETE_FLAGS = "via-branch=1"                 # onreply_route, the loser's 487
RING_MS, ANSWER_MS = 300, 1500  # the winner: 180 after RING_MS, its 200 OK ANSWER_MS later
MAX_LOST = 2       # RTP packets a receiver may miss (loopback: none expected)
LATE_MS = 100      # the loser's early media may still be in flight this long after its delete


require_sip_peers((KAMAILIO, SIPP, TSHARK), "apt-get install kamailio sip-tester tshark")


def poll_medius(d, uac):
    """While the caller's sipp runs, medius's view of every call every
    50 ms: [(time, call-id, branches, {tag: its via-branch or ''})]."""
    seen = []
    while uac.poll() is None:
        try:
            calls = ng(d.port, command="list").get("calls", [])
        except OSError:
            calls = []
        for cid in calls:
            try:
                q = ng(d.port, command="query", call_id=cid)
            except OSError:
                continue
            if q.get("result") == "ok":
                seen.append((time.time(), cid, q.get("branches"),
                             {t: v.get("via-branch", "") for t, v in q.get("tags", {}).items()}))
        time.sleep(0.05)
    return seen


def run_call(tmp, d, procs):
    """The forked call, with its captures; returns what was observed."""
    o = {"kam_port": peer_port(), "loser_sip": peer_port(), "winner_sip": peer_port(), "caller_sip": peer_port(),
         "loser_media": peer_port(), "winner_media": peer_port(), "caller_media": peer_port()}
    o["kam"], o["kam_log"] = start_kamailio("kamailio_fork.cfg", "kamailio_fork", tmp, o["kam_port"], NG_PORT=d.port,
                                            OFFER_FLAGS=OFFER_FLAGS, ANSWER_FLAGS=ANSWER_FLAGS,
                                            DELETE_FLAGS=DELETE_FLAGS, LOSER_PORT=o["loser_sip"],
                                            WINNER_PORT=o["winner_sip"])
    procs.append(o["kam"])
    uac_xml = fill_config("uac_fork.xml", os.path.join(tmp, "uac_fork.xml"), PCAP=SIPP_PCAP)
    loser_xml = fill_config("uas_fork_loser.xml", os.path.join(tmp, "uas_fork_loser.xml"), EARLY_PCAP=SIPP_PCAP)
    winner_xml = fill_config("uas_fork_winner.xml", os.path.join(tmp, "uas_fork_winner.xml"), RING_MS=RING_MS,
                             ANSWER_MS=ANSWER_MS)
    o["before"] = medius_totals(d)
    o["media_cap"], o["ng_cap"] = os.path.join(tmp, "media.pcapng"), os.path.join(tmp, "ng.pcapng")
    loser, o["loser_files"] = start_uas("loser", tmp, ["-sf", loser_xml], o["loser_sip"], o["loser_media"], procs)
    winner, o["winner_files"] = start_uas("winner", tmp, ["-sf", winner_xml], o["winner_sip"], o["winner_media"],
                                          procs)
    start_capture(o["media_cap"], "udp and (port {loser_media} or port {winner_media} or port {caller_media})".format(**o),
                  procs)
    start_capture(o["ng_cap"], f"udp port {d.port}", procs)
    o["t0"] = time.time()
    uac, o["caller_files"] = start_sipp([f"127.0.0.1:{o['kam_port']}", "-sf", uac_xml, "-s", "callee",
                                         "-i", "127.0.0.1", "-p", str(o["caller_sip"]),
                                         "-mi", "127.0.0.1", "-mp", str(o["caller_media"])], "caller", tmp, procs)
    o["seen"] = poll_medius(d, uac)
    o["caller_rc"] = wait_exit(uac, SIPP_TIMEOUT + 10)
    o["took"] = time.time() - o["t0"]
    o["winner_rc"], o["loser_rc"] = wait_exit(winner, 10), wait_exit(loser, 10)
    time.sleep(0.3)  # let the captures take the last packets in
    for p in reversed(procs):
        if p.args[0] == TSHARK:
            stop(p, signal.SIGINT)
    return o


def header_param(msg, header, param):
    m = re.search(rf"^{header}:[^\n]*;{param}=([^;,\s]+)", msg, re.M | re.I)
    return m.group(1) if m else None


def check_sip(o):
    """The sipp outcomes and the SDP each side got; fills o with the ports, tags and Via branches."""
    for who in ("caller", "winner", "loser"):
        check_sipp(f"the {who}", o[f"{who}_rc"], o[f"{who}_files"], o["took"] if who == "caller" else None)
    loser_inv, winner_inv = sipp_received(o["loser_files"], "INVITE "), sipp_received(o["winner_files"], "INVITE ")
    cancel = sipp_received(o["loser_files"], "CANCEL ")
    r183 = [m for m, _ in sipp_received(o["caller_files"], "SIP/2.0 183") if "application/sdp" in m]
    r200 = [m for m, _ in sipp_received(o["caller_files"], "SIP/2.0 200") if "application/sdp" in m]
    o["t_cancel"] = cancel[0][1] if cancel else None
    o["to_loser"] = sdp_target(loser_inv[0][0]) if loser_inv else None
    o["to_winner"] = sdp_target(winner_inv[0][0]) if winner_inv else None
    o["early"] = sdp_target(r183[0]) if r183 else None
    o["answer"] = sdp_target(r200[0]) if r200 else None
    o["via_loser"] = header_param(loser_inv[0][0], "Via", "branch") if loser_inv else None
    o["via_winner"] = header_param(winner_inv[0][0], "Via", "branch") if winner_inv else None
    o["loser_tag"] = header_param(r183[0], "To", "tag") if r183 else None
    o["winner_tag"] = header_param(r200[0], "To", "tag") if r200 else None
    print(f"    SDP (address, port, payload types): the loser was offered {o['to_loser']}, the winner"
          f" {o['to_winner']}; the caller was answered {o['early']} (183) and {o['answer']} (200)", flush=True)

    def at_medius(t, not_port):
        return t is not None and t[0] == "127.0.0.1" and t[1] in MEDIUS_PORTS and t[1] != not_port

    to_l, to_w, early, answer = o["to_loser"], o["to_winner"], o["early"], o["answer"]
    check(at_medius(to_l, o["caller_media"]) and at_medius(to_w, o["caller_media"]) and to_l[1] != to_w[1],
          f"each callee is offered its own medius port: loser {to_l and to_l[1]}, winner {to_w and to_w[1]}")
    check(at_medius(early, o["loser_media"]) and at_medius(answer, o["winner_media"]) and early[1] != answer[1]
          and {early[1], answer[1]}.isdisjoint({to_l and to_l[1], to_w and to_w[1]}),
          f"the caller is answered two other medius ports: 183 (loser) {early and early[1]},"
          f" 200 (winner) {answer and answer[1]}")
    invites = [m for m, _ in loser_inv + winner_inv]
    check(len(invites) == 2 and all("Record-Route:" in m for m in invites) and o["via_loser"] and o["via_winner"]
          and o["via_loser"] != o["via_winner"] and cancel and o["loser_tag"] and o["winner_tag"],
          f"one INVITE through Kamailio (Record-Route) per branch, top Via branches {o['via_loser']} (loser),"
          f" {o['via_winner']} (winner); the loser was CANCELled")


def sdp_port(reply):
    t = sdp_target((reply or {}).get("sdp", ""))
    return t and t[1]


def check_ng(o, d):
    """What Kamailio's module sent medius and what medius replied."""
    ex = [(q, a, t) for q, a, t in ng_exchanges_timed(o["ng_cap"], d.port)
          if q.get("command") in ("offer", "answer", "delete")]
    print("    ng from Kamailio (time, command, from-tag, to-tag, via-branch -> result, reply's m= port):", flush=True)
    for q, a, t in ex:
        print(f"      {t - o['t0']:6.3f} s  {q.get('command'):6} {q.get('from-tag')} {q.get('to-tag', '-')}"
              f" via-branch={q.get('via-branch', '-')} -> {(a or {}).get('result')} {sdp_port(a)}"
              f" {(a or {}).get('warning', '')}", flush=True)
    offers = [(q, a) for q, a, _ in ex if q.get("command") == "offer"]
    answers = [(q, a) for q, a, _ in ex if q.get("command") == "answer"]
    deletes = [(q, a, t) for q, a, t in ex if q.get("command") == "delete"]
    vias = [q.get("via-branch") for q, _ in offers]
    print(f"    via-branch values Kamailio sent: offers {vias}, answers {[q.get('via-branch') for q, _ in answers]},"
          f" deletes {[q.get('via-branch') for q, _, _ in deletes]}", flush=True)
    check(len(offers) == 2 and all(a and a.get("result") == "ok" for _, a in offers)
          and len(set(vias)) == 2 and None not in vias,
          "Kamailio sent medius two offers with two via-branch values, both accepted")
    by_port = {sdp_port(a): q.get("via-branch") for q, a in offers}
    to_l, to_w = o["to_loser"], o["to_winner"]
    check(to_l is not None and to_w is not None and by_port.get(to_l[1]) == o["via_loser"]
          and by_port.get(to_w[1]) == o["via_winner"],
          "each offer's via-branch is the Via branch its callee received (via-branch=next named tm's branch)")
    a_l = [(q, a) for q, a in answers if q.get("to-tag") == o["loser_tag"]]
    a_w = [(q, a) for q, a in answers if q.get("to-tag") == o["winner_tag"]]
    check(len(answers) == 2 and len(a_l) == 1 and len(a_w) == 1 and all(a and a.get("result") == "ok" for _, a in answers),
          f"two answers, the loser's 183 ({o['loser_tag']}) and the winner's 200 ({o['winner_tag']}), both accepted")
    check(a_l and a_l[0][0].get("via-branch") == o["via_loser"] and sdp_port(a_l[0][1]) == (o["early"] and o["early"][1])
          and a_w and a_w[0][0].get("via-branch") == o["via_winner"]
          and sdp_port(a_w[0][1]) == (o["answer"] and o["answer"][1]),
          "each answer names its branch's via-branch, and medius's reply is the SDP the caller got for it")
    branch_del = [x for x in deletes if x[0].get("via-branch")]
    bye_del = [x for x in deletes if not x[0].get("via-branch")]
    reply = (branch_del[0][1] or {}) if branch_del else {}
    # the module sends a delete's to-tag only with its "to-tag" flag: from-tag and via-branch it is
    check(len(branch_del) == 1 and branch_del[0][0].get("via-branch") == o["via_loser"]
          and branch_del[0][0].get("to-tag") in (None, o["loser_tag"]) and reply.get("result") == "ok"
          and reply.get("warning") is None and "branches" not in reply
          and sorted(reply.get("tags", {})) == sorted([branch_del[0][0].get("from-tag"), o["loser_tag"]]),
          f"the loser's 487 deleted its branch, and medius reported that branch alone: tags"
          f" {sorted(reply.get('tags', {}))}")
    bye = (bye_del[0][1] or {}) if bye_del else {}
    check(len(bye_del) == 1 and bye.get("result") == "ok" and bye.get("warning") is None
          and bye.get("branches") == 1 and o["winner_tag"] in bye.get("tags", {}),
          f"the BYE deleted the whole call (then one branch, the winner's): {sorted(bye.get('tags', {}))}")
    o["t_del_loser"] = branch_del[0][2] if branch_del else None


def check_polls(o):
    """medius's query while the call was up."""
    seen, t_del = o["seen"], o["t_del_loser"]
    call_ids = sorted({cid for _, cid, _, _ in seen})
    two = [tags for _, _, n, tags in seen if n == 2]
    after = [(n, tags) for t, _, n, tags in seen if t_del and t > t_del + 0.05]
    print(f"    medius's query while the call was up: {len(seen)} polls of {call_ids}; branches seen"
          f" {sorted({n for _, _, n, _ in seen})}", flush=True)
    if two:
        print(f"      with two branches: tags {two[-1]}", flush=True)
    if after:
        print(f"      after the loser's delete: {after[-1][0]} branch(es), tags {after[-1][1]}", flush=True)
    # the winner's branch is listed under its via-branch until its 200 OK
    # names its tag; a poll between the 200 and the loser's 487 sees the tag
    check(len(call_ids) == 1 and two and o["loser_tag"] in two[-1] and two[-1][o["loser_tag"]] == o["via_loser"]
          and (o["via_winner"] in two[-1] or two[-1].get(o["winner_tag"]) == o["via_winner"]),
          f"while both callees were in the call, medius's query said branches: 2, the loser's tag and the"
          f" winner's via-branch ({len(two)} polls)")
    check(after and all(n == 1 and o["loser_tag"] not in tags and tags.get(o["winner_tag"]) == o["via_winner"]
                        for n, tags in after),
          f"after the loser's 487, branches: 1, the winner's ({len(after)} polls)")


def check_media(o):
    cols = ("frame.time_epoch", "udp.srcport", "udp.dstport", "rtp.p_type", "rtp.seq", "rtp.payload")

    def rtp(port, direction):
        return rtp_fields(o["media_cap"], *cols, port=port, where=f"udp.{direction}port=={port}")

    at_winner, at_loser, at_caller = rtp(o["winner_media"], "dst"), rtp(o["loser_media"], "dst"), rtp(o["caller_media"], "dst")
    from_caller, from_loser = rtp(o["caller_media"], "src"), rtp(o["loser_media"], "src")

    def ports(rows, col):
        return sorted({int(r[col]) for r in rows})

    print(f"    RTP: the caller sent {len(from_caller)} packets to {ports(from_caller, 2)}; the winner got"
          f" {len(at_winner)} from {ports(at_winner, 1)}; the loser sent {len(from_loser)} (early media) to"
          f" {ports(from_loser, 2)} and got {len(at_loser)}; the caller got {len(at_caller)} from"
          f" {ports(at_caller, 1)}", flush=True)
    to_w, early, answer = o["to_winner"], o["early"], o["answer"]
    check(from_caller and ports(from_caller, 2) == [answer and answer[1]],
          f"the caller played the pcap to the 200 OK's port only ({len(from_caller)} packets)")
    check(at_winner and ports(at_winner, 1) == [to_w and to_w[1]],
          f"all the RTP at the winner comes from the medius port announced to it ({to_w and to_w[1]}):"
          f" {ports(at_winner, 1)}")
    lost = len(PCAP_RTP) - len(at_winner)
    check(0 <= lost <= MAX_LOST, f"the whole stream reaches the winner: {len(at_winner)} of {len(PCAP_RTP)} RTP packets")
    sent = payload_bytes(PCAP_RTP, 2)
    recv = payload_bytes(at_winner, 5)
    check([r[4] for r in at_winner] == [r[0] for r in PCAP_RTP][:len(at_winner)] and recv == sent[:len(recv)]
          and sorted({r[3] for r in at_winner}) == PCAP_PT,
          "unchanged: the pcap's payload type, sequence numbers and payloads, in order")
    t_cancel, t_del = o["t_cancel"], o["t_del_loser"]
    # what medius sent the loser (from any of its ports); the loser's port is
    # an ephemeral one, which a parallel test's stray packet once reached
    from_medius = [r for r in at_loser if int(r[1]) in MEDIUS_PORTS]
    late = [r for r in from_medius if t_cancel is not None and float(r[0]) >= t_cancel]
    check(t_cancel is not None and not from_medius,
          f"the loser gets no media from medius: {len(from_medius)} packets in all, {len(late)} after its CANCEL"
          f" (the caller's stream goes to the winner's branch only; from elsewhere:"
          f" {sorted({int(r[1]) for r in at_loser if int(r[1]) not in MEDIUS_PORTS})})")
    early_in = [r for r in at_caller if int(r[1]) == (early and early[1])]
    sent_before = [r for r in from_loser if t_del is not None and float(r[0]) < t_del]
    after = [r for r in early_in if t_del is None or float(r[0]) > t_del + LATE_MS / 1000]
    check(early_in and ports(at_caller, 1) == [early and early[1]] and len(early_in) >= len(sent_before) - MAX_LOST,
          f"the caller hears the loser's early media from the 183's port {early and early[1]}: {len(early_in)} packets"
          f" of the {len(sent_before)} the loser sent before its delete")
    check(t_del is not None and len(from_loser) > len(sent_before) and not after,
          f"and none once the loser's branch is deleted: {len(after)} of the"
          f" {len(from_loser) - len(sent_before)} it sent after that")


PCAP_RTP, PCAP_PT = sipp_pcap_rtp()

tmp = tempfile.mkdtemp(prefix="medius-kamailio-fork-")
procs = []
o = {}
try:
    with Daemon() as d:
        o = run_call(tmp, d, procs)
        check_sip(o)
        check_ng(o, d)
        check_polls(o)
        check_media(o)

        # --- medius: one session, deleted by the BYE; nothing left ---
        check_call_deleted(d, o["before"])
        check_mediusctl_list_empty(d)

        # --- Kamailio ---
        end_kamailio("kamailio_fork", o["kam"], o["kam_log"], 2)
        check_mediusd_stops(d)
except Exception as e:  # a peer that would not start, a timeout: a failure, cleaned up below
    check(False, f"the test ran to its end: {type(e).__name__}: {e}")
    print("    Kamailio's log (end):\n" + read_text(os.path.join(tmp, "kamailio_fork.log"))[-3000:])
finally:
    stop_all(procs)  # Kamailio too: run_call put it in procs
    clean_up(tmp)
finish()
