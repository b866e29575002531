"""mediusd answers ping from rtpengine's own client (bencode and JSON),
from mediusctl over UDP and TCP, and replays cached replies by cookie."""
import socket
import subprocess

from medius_test import MEDIUSCTL, Daemon, check, finish, ng_request


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30)


with Daemon(tcp=True) as d:
    port = str(d.port)

    for json in ([], ["--json"]):
        r = run("rtpengine-ng-client", *json, "--proxy-address=127.0.0.1", f"--proxy-port={port}", "ping")
        check(r.returncode == 0 and "result => 'pong'" in r.stdout,
              f"rtpengine-ng-client {' '.join(json)} ping prints pong: {r.stdout.strip()!r} {r.stderr.strip()!r}")

    r = run("rtpengine-ng-client", "--proxy-address=127.0.0.1", f"--proxy-port={port}", "frobnicate")
    check(r.returncode != 0 and "Unrecognized command" in r.stderr,
          f"rtpengine-ng-client with an unknown command reports the error: {r.stderr.strip()!r}")

    r = run(MEDIUSCTL, "-s", f"127.0.0.1:{port}", "ping")
    check(r.returncode == 0 and r.stdout.strip() == "pong", f"mediusctl ping: {r.stdout!r}")
    r = run(MEDIUSCTL, "-s", f"127.0.0.1:{port}", "--tcp", "ping")
    check(r.returncode == 0 and r.stdout.strip() == "pong", f"mediusctl --tcp ping: {r.stdout!r} {r.stderr!r}")
    r = run(MEDIUSCTL, "-s", f"127.0.0.1:{port}", "--wire", "json", "ping")
    check(r.returncode == 0 and r.stdout.strip() == "pong", f"mediusctl --wire json ping: {r.stdout!r}")
    r = run(MEDIUSCTL, "-s", f"127.0.0.1:{port}", "ng", '{"command": "ping"}')
    check(r.returncode == 0 and '"result": "pong"' in r.stdout, f"mediusctl ng ping: {r.stdout!r}")
    r = run(MEDIUSCTL, "-s", f"127.0.0.1:{port}", "ng", '{"command": "launch"}')
    check(r.returncode == 1 and "Unrecognized command" in r.stdout + r.stderr,
          f"mediusctl ng with an unknown command exits 1: rc={r.returncode}")
    r = run(MEDIUSCTL, "-s", f"127.0.0.1:{port}", "ng", '{"command": ')
    check(r.returncode == 2 and "not a JSON dictionary" in r.stderr, f"mediusctl rejects bad JSON: {r.stderr!r}")

    # retransmission: same cookie, different body -> the first reply again
    first = ng_request(d.port, b"d7:command4:pinge", cookie="retx1")
    again = ng_request(d.port, b"d7:command7:unknowne", cookie="retx1")
    check(first == again == b"d6:result4:ponge", f"retransmitted cookie gets the cached reply: {again!r}")

    # TCP: two requests in one write, then one split over two writes
    with socket.create_connection(("127.0.0.1", d.port), timeout=5) as t:
        t.sendall(b"a1 d7:command4:pinge a2 {\"command\":\"ping\"}")
        buf = b""
        while buf.count(b"pong") < 2:
            chunk = t.recv(4096)
            if not chunk:
                break
            buf += chunk
        check(buf == b'a1 d6:result4:pongea2 {"result":"pong"}', f"two pipelined TCP requests: {buf!r}")
        t.sendall(b"a3 d7:comm")
        t.sendall(b"and4:pinge")
        buf = t.recv(4096)
        check(buf == b"a3 d6:result4:ponge", f"a request split across TCP writes: {buf!r}")
        t.sendall(b"a4 \x00garbage")
        buf = b""
        while True:
            chunk = t.recv(4096)
            if not chunk:
                break
            buf += chunk
        check(b"error" in buf and b"Malformed request" in buf, f"unframeable TCP bytes get an error and a close: {buf!r}")

    check(d.stop() == 0, "SIGTERM stops mediusd with exit status 0")
finish()
