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
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from medius_test import MEDIUSCTL, Daemon, check, finish, free_port, ng  # noqa: E402
from media_check import (leftovers, ng_exchanges_timed, read_text, rtp_fields, sdp_target, sip_messages,  # noqa: E402
                         start_capture, stop, successful_calls, wait_bound)

KAMAILIO = os.environ.get("KAMAILIO", "kamailio")
KAMAILIO_MPATH = os.environ.get("KAMAILIO_MPATH", "/usr/lib/x86_64-linux-gnu/kamailio/modules/")
SIPP = os.environ.get("SIPP", "sipp")
TSHARK = os.environ.get("TSHARK", "tshark")
PCAP = os.environ.get("SIPP_PCAP", "/usr/share/sip-tester/g711a.pcap")
CFG_DIR = os.path.join(HERE, "kamailio")

MEDIUS_PORTS = range(30000, 40000)  # the built-in "default" interface
SDP_FLAGS = "replace-origin replace-session-connection ICE=remove"
OFFER_FLAGS = SDP_FLAGS + " via-branch=next"  # branch_route: the Via branch tm is about to add
ANSWER_FLAGS = SDP_FLAGS + " via-branch=1"    # onreply_route: the top Via, Kamailio's
DELETE_FLAGS = "via-branch=1"                 # onreply_route, the loser's 487
RING_MS, ANSWER_MS = 300, 1500  # the winner: 180 after RING_MS, its 200 OK ANSWER_MS later
MAX_LOST = 2       # RTP packets a receiver may miss (loopback: none expected)
LATE_MS = 100      # the loser's early media may still be in flight this long after its delete
CALL_TIMEOUT = 25  # s, for the call's sipp


def skip(why):
    print(f"SKIP: {why}", flush=True)
    sys.exit(77)


for tool in (KAMAILIO, SIPP, TSHARK):
    if shutil.which(tool) is None:
        skip(f"{tool} not found (apt-get install kamailio sip-tester tshark)")
if not os.path.exists(os.path.join(KAMAILIO_MPATH, "rtpengine.so")):
    skip(f"no rtpengine.so in {KAMAILIO_MPATH}")
if not os.path.exists(PCAP):
    skip(f"no {PCAP}")
if os.geteuid() != 0:
    skip("needs root: sipp plays pcaps through a raw socket, tshark captures on lo")

_taken = set()


def port():
    """A free UDP port outside medius's range, and not handed out before here.
    Even so that a port + 1 (sipp's RTCP) is free too."""
    while True:
        p = free_port()
        if p in MEDIUS_PORTS or p % 2 or p in _taken or p + 1 in _taken:
            continue
        _taken.update((p, p + 1))
        return p


def fill(name, out, **fields):
    with open(os.path.join(CFG_DIR, name)) as f:
        text = f.read()
    for k, v in fields.items():
        text = text.replace(f"@{k}@", str(v))
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise RuntimeError(f"{name}: unfilled fields {left}")
    with open(out, "w") as f:
        f.write(text)
    return out


def sipp(args, tag, tmp, procs):
    """Start sipp in the background with its traces in tmp; returns (proc, files)."""
    files = {k: os.path.join(tmp, f"{tag}_{k}.log") for k in ("msg", "screen", "err", "out")}
    cmd = [SIPP, *args, "-nostdin", "-m", "1", "-timeout", f"{CALL_TIMEOUT}s", "-timeout_error",
           "-trace_msg", "-message_file", files["msg"],
           "-trace_screen", "-screen_file", files["screen"],
           "-trace_err", "-error_file", files["err"]]
    with open(files["out"], "wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
    procs.append(proc)
    return proc, files


def start_uas(tag, tmp, xml, sip_port, media_port, procs):
    """A callee sipp, bound and listening; (process, its files)."""
    uas, files = sipp(["-sf", xml, "-i", "127.0.0.1", "-p", str(sip_port),
                       "-mi", "127.0.0.1", "-mp", str(media_port)], tag, tmp, procs)
    if not wait_bound(uas, sip_port):
        raise RuntimeError(f"the {tag} sipp did not start:\n{read_text(files['out'])[-2000:]}")
    return uas, files


def start_kamailio(tmp, d, fields):
    """Kamailio with kamailio_fork.cfg filled in; (process, log path)."""
    cfg = fill("kamailio_fork.cfg", os.path.join(tmp, "kamailio_fork.cfg"), NG_PORT=d.port,
               OFFER_FLAGS=OFFER_FLAGS, ANSWER_FLAGS=ANSWER_FLAGS, DELETE_FLAGS=DELETE_FLAGS,
               MPATH=KAMAILIO_MPATH, **fields)
    r = subprocess.run([KAMAILIO, "-c", "-f", cfg], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "kamailio -c accepts kamailio_fork.cfg" + ("" if r.returncode == 0 else ": " + r.stderr[-1500:]))
    log_path = os.path.join(tmp, "kamailio.log")
    rundir = os.path.join(tmp, "kamailio")
    os.makedirs(rundir, exist_ok=True)
    with open(log_path, "wb") as log:
        kam = subprocess.Popen([KAMAILIO, "-f", cfg, "-DD", "-E", "-n", "1", "-m", "32", "-M", "4",
                                "-w", rundir, "-Y", rundir, "-P", os.path.join(rundir, "kamailio.pid")],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    if not wait_bound(kam, fields["LISTEN_PORT"], 15):
        stop(kam)
        raise RuntimeError(f"kamailio did not start:\n{read_text(log_path)[-3000:]}")
    time.sleep(0.3)
    return kam, log_path


def wait(proc, timeout):
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


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
    o = {"kam_port": port(), "loser_sip": port(), "winner_sip": port(), "caller_sip": port(),
         "loser_media": port(), "winner_media": port(), "caller_media": port()}
    o["kam"], o["kam_log"] = start_kamailio(tmp, d, {"LISTEN_PORT": o["kam_port"], "LOSER_PORT": o["loser_sip"],
                                                    "WINNER_PORT": o["winner_sip"]})
    procs.append(o["kam"])
    uac_xml = fill("uac_fork.xml", os.path.join(tmp, "uac_fork.xml"), PCAP=PCAP)
    loser_xml = fill("uas_fork_loser.xml", os.path.join(tmp, "uas_fork_loser.xml"), EARLY_PCAP=PCAP)
    winner_xml = fill("uas_fork_winner.xml", os.path.join(tmp, "uas_fork_winner.xml"), RING_MS=RING_MS,
                      ANSWER_MS=ANSWER_MS)
    o["before"] = ng(d.port, command="statistics")["statistics"]["totalstatistics"]
    o["media_cap"], o["ng_cap"] = os.path.join(tmp, "media.pcapng"), os.path.join(tmp, "ng.pcapng")
    loser, o["loser_files"] = start_uas("loser", tmp, loser_xml, o["loser_sip"], o["loser_media"], procs)
    winner, o["winner_files"] = start_uas("winner", tmp, winner_xml, o["winner_sip"], o["winner_media"], procs)
    start_capture(o["media_cap"], "udp and (port {loser_media} or port {winner_media} or port {caller_media})".format(**o),
                  procs, tshark=TSHARK)
    start_capture(o["ng_cap"], f"udp port {d.port}", procs, tshark=TSHARK)
    o["t0"] = time.time()
    uac, o["caller_files"] = sipp([f"127.0.0.1:{o['kam_port']}", "-sf", uac_xml, "-s", "callee",
                                   "-i", "127.0.0.1", "-p", str(o["caller_sip"]),
                                   "-mi", "127.0.0.1", "-mp", str(o["caller_media"])], "caller", tmp, procs)
    o["seen"] = poll_medius(d, uac)
    o["caller_rc"] = wait(uac, CALL_TIMEOUT + 10)
    o["took"] = time.time() - o["t0"]
    o["winner_rc"], o["loser_rc"] = wait(winner, 10), wait(loser, 10)
    time.sleep(0.3)  # let the captures take the last packets in
    for p in reversed(procs):
        if p.args[0] == TSHARK:
            stop(p, signal.SIGINT)
    return o


def received(files, first):
    """[(text, time)] of the SIP messages a sipp received that start with first."""
    return [(t, ts) for dr, t, ts in sip_messages(read_text(files["msg"])) if dr == "received" and t.startswith(first)]


def header_param(msg, header, param):
    m = re.search(rf"^{header}:[^\n]*;{param}=([^;,\s]+)", msg, re.M | re.I)
    return m.group(1) if m else None


def check_sip(o):
    """The sipp outcomes and the SDP each side got; fills o with the ports, tags and Via branches."""
    for who in ("caller", "winner", "loser"):
        rc, files = o[f"{who}_rc"], o[f"{who}_files"]
        ok = successful_calls(read_text(files["screen"]))
        check(rc == 0 and ok == 1, f"the {who} completes its scenario (sipp exit {rc}, successful calls {ok})"
              + (f" in {o['took']:.1f} s" if who == "caller" else ""))
        if rc != 0:
            for f in (files["err"], files["out"]):
                print(f"    {os.path.basename(f)}: {read_text(f)[-1500:]}")
    loser_inv, winner_inv = received(o["loser_files"], "INVITE "), received(o["winner_files"], "INVITE ")
    cancel = received(o["loser_files"], "CANCEL ")
    r183 = [m for m, _ in received(o["caller_files"], "SIP/2.0 183") if "application/sdp" in m]
    r200 = [m for m, _ in received(o["caller_files"], "SIP/2.0 200") if "application/sdp" in m]
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
    ex = [(q, a, t) for q, a, t in ng_exchanges_timed(o["ng_cap"], d.port, tshark=TSHARK)
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
    check(len(call_ids) == 1 and two and o["loser_tag"] in two[-1] and two[-1][o["loser_tag"]] == o["via_loser"]
          and o["via_winner"] in two[-1],
          f"while both callees were in the call, medius's query said branches: 2, the loser's tag and the"
          f" winner's via-branch ({len(two)} polls)")
    check(after and all(n == 1 and o["loser_tag"] not in tags and tags.get(o["winner_tag"]) == o["via_winner"]
                        for n, tags in after),
          f"after the loser's 487, branches: 1, the winner's ({len(after)} polls)")


def check_media(o):
    cols = ("frame.time_epoch", "udp.srcport", "udp.dstport", "rtp.p_type", "rtp.seq", "rtp.payload")

    def rtp(port, direction):
        return rtp_fields(o["media_cap"], *cols, port=port, tshark=TSHARK, where=f"udp.{direction}port=={port}")

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
    sent = b"".join(bytes.fromhex(r[2].replace(":", "")) for r in PCAP_RTP)
    recv = b"".join(bytes.fromhex(r[5].replace(":", "")) for r in at_winner)
    check([r[4] for r in at_winner] == [r[0] for r in PCAP_RTP][:len(at_winner)] and recv == sent[:len(recv)]
          and sorted({r[3] for r in at_winner}) == PCAP_PT,
          "unchanged: the pcap's payload type, sequence numbers and payloads, in order")
    t_cancel, t_del = o["t_cancel"], o["t_del_loser"]
    late = [r for r in at_loser if t_cancel is not None and float(r[0]) >= t_cancel]
    check(t_cancel is not None and not at_loser,
          f"the loser gets no media: {len(at_loser)} packets in all, {len(late)} after its CANCEL"
          f" (the caller's stream goes to the winner's branch only)")
    early_in = [r for r in at_caller if int(r[1]) == (early and early[1])]
    sent_before = [r for r in from_loser if t_del is not None and float(r[0]) < t_del]
    after = [r for r in early_in if t_del is None or float(r[0]) > t_del + LATE_MS / 1000]
    check(early_in and ports(at_caller, 1) == [early and early[1]] and len(early_in) >= len(sent_before) - MAX_LOST,
          f"the caller hears the loser's early media from the 183's port {early and early[1]}: {len(early_in)} packets"
          f" of the {len(sent_before)} the loser sent before its delete")
    check(t_del is not None and len(from_loser) > len(sent_before) and not after,
          f"and none once the loser's branch is deleted: {len(after)} of the"
          f" {len(from_loser) - len(sent_before)} it sent after that")


PCAP_RTP = rtp_fields(PCAP, "rtp.seq", "rtp.p_type", "rtp.payload", tshark=TSHARK)
PCAP_PT = sorted({r[1] for r in PCAP_RTP})
print(f"{PCAP}: {len(PCAP_RTP)} RTP packets, payload types {PCAP_PT}", flush=True)
check(len(PCAP_RTP) > 100, f"the pcap holds a real stream: {len(PCAP_RTP)} RTP packets")

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
        after = ng(d.port, command="statistics")["statistics"]["totalstatistics"]
        delta = {k: after[k] - o["before"][k] for k in after}
        print(f"    medius: {delta}", flush=True)
        check(delta["managedsessions"] == 1 and delta["deletedsessions"] == 1 and delta["timeoutsessions"] == 0,
              "medius managed one session, deleted (BYE), not timed out")
        calls = ng(d.port, command="list")["calls"]
        check(calls == [], f"no call left in medius after the BYE: {calls}")
        out = subprocess.run([MEDIUSCTL, "-s", f"127.0.0.1:{d.port}", "list"], capture_output=True, text=True,
                             timeout=30)
        check(out.returncode == 0 and not re.search(r"SIPp|@|^\S+\s+\d+\s+\d+\s+\d+", out.stdout, re.M),
              f"mediusctl list agrees: {out.stdout.strip().splitlines()[-1:]}")

        # --- Kamailio ---
        klog = read_text(o["kam_log"])
        counts = {fn: klog.count(f"{fn}: ok") for fn in ("rtpengine_offer", "rtpengine_answer", "rtpengine_delete")}
        check(counts == {"rtpengine_offer": 2, "rtpengine_answer": 2, "rtpengine_delete": 2},
              f"Kamailio's rtpengine module succeeded: {counts} (of 2 offers, 2 answers, 2 deletes)")
        check("failed" not in klog and "ERROR" not in klog,
              "no error in Kamailio's log" + ("" if "ERROR" not in klog and "failed" not in klog else ":\n" + "\n".join(
                  l for l in klog.splitlines() if "ERROR" in l or "failed" in l)[:2000]))
        stop(o["kam"])
        check(o["kam"].returncode == 0, f"Kamailio stops cleanly (exit {o['kam'].returncode})")
        code = d.stop()
        check(code == 0, f"mediusd stops cleanly (exit {code})")
        m = re.search(r"ng: (\d+) requests, (\d+) errors", d.log_text())
        check(m is not None and m.group(2) == "0", f"mediusd's ng counters at shutdown: {m and m.group(0)}")
except Exception as e:  # a peer that would not start, a timeout: a failure, cleaned up below
    check(False, f"the test ran to its end: {type(e).__name__}: {e}")
    print("    Kamailio's log (end):\n" + read_text(os.path.join(tmp, "kamailio.log"))[-3000:])
finally:
    for p in procs:
        if p.poll() is None:
            stop(p, signal.SIGINT if p.args[0] == TSHARK else signal.SIGTERM)
    if o.get("kam") is not None and o["kam"].poll() is None:
        stop(o["kam"])
    left = leftovers(tmp)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    check(left == [], f"nothing the test started is left running: {left}")
    if os.environ.get("KEEP_TMP"):
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
finish()
