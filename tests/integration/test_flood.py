"""10,000 random and malformed datagrams to the ng port: mediusd keeps
answering ping, answers every request that carries a cookie, and never
crashes."""
import random
import socket
import time

from medius_test import Daemon, check, finish, ng_request, ping

rng = random.Random(20261127)


def bdeep(n):
    return b"d1:a" + b"l" * n + b"e" * n + b"e"


VALID = [b"d7:command4:pinge", b'{"command":"ping"}', b"d7:command5:offer7:call-id1:x3:sdp3:v=0e"]


def mutate(msg):
    b = bytearray(msg)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(4)
        if op == 0 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 1 and b:
            del b[rng.randrange(len(b)):]
        elif op == 2:
            b.insert(rng.randrange(len(b) + 1), rng.randrange(256))
        else:
            b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 20)))
    return bytes(b)


def make(i):
    kind = i % 10
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))  # pure noise
    if kind == 1:
        return b"c%d " % i + bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
    if kind == 2:
        return b"c%d " % i + mutate(rng.choice(VALID))
    if kind == 3:
        return b"c%d " % i + rng.choice(VALID)[: rng.randint(0, 15)]  # truncated
    if kind == 4:
        return b"c%d " % i + bdeep(rng.choice([33, 100, 5000]))  # deep nesting
    if kind == 5:
        return b"c%d d1:ai%se" % (i, b"9" * rng.randint(19, 400)) + b"e"  # huge integers
    if kind == 6:
        return b"c%d %d:abc" % (i, rng.randint(4, 10**12))  # wrong lengths
    if kind == 7:
        return b"c%d " % i + rng.choice([b"i5e", b"4:ping", b"le", b"[1]", b'"x"'])  # not a dict
    if kind == 8:
        return mutate(b"c%d " % i + rng.choice(VALID))  # the cookie may break too
    return b"c%d " % i + b"l" + b"i1e" * rng.randint(1000, 21000) + b"e"  # big, up to 64 KB


with Daemon() as d:
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sent = 0
    start = time.time()
    for i in range(10000):
        pkt = make(i)[:65507]
        tx.sendto(pkt, ("127.0.0.1", d.port))
        sent += 1
        if i % 200 == 199:
            time.sleep(0.01)  # let the daemon drain; we are testing robustness, not buffers
            tx.setblocking(False)
            try:
                while True:
                    tx.recv(70000)
            except BlockingIOError:
                pass
            tx.setblocking(True)
    check(sent == 10000, f"sent {sent} random and malformed datagrams in {time.time() - start:.1f} s")
    check(d.proc.poll() is None, "mediusd is still running")
    check(ping(d.port, timeout=5), "mediusd still answers ping")
    # every malformed class with a cookie gets an error reply, not silence
    for body, reason in [(b"d7:command4:ping", b"Could not decode"), (b"i5e", b"not a dictionary"),
                         (bdeep(100), b"nesting too deep"), (b"d1:ai99999999999999999999ee", b"out of range"),
                         (b"d7:command3:fooe", b"Unrecognized command")]:
        rep = ng_request(d.port, body)
        check(b"error" in rep and reason in rep, f"error reply for {body[:24]!r}: {rep[:90]!r}")
    log = d.log_text()
    check("ERROR" not in log.upper().replace("ERRORS", ""), "nothing was logged at error level")
    check(d.stop() == 0, "mediusd stops cleanly after the flood")
    check("requests" in d.log_text(), "the ng counters are logged at shutdown")
finish()
