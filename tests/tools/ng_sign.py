#!/usr/bin/env python3
"""Reference signer for medius's signed ng requests (docs/protocol.md,
Authentication). Standard library only; importable (sign, sign_request)
and runnable:

    ng_sign.py --client kamailio1 --key-file secret.b64 --cookie 5851_1 'd7:command4:pinge'

prints the signed request (cookie, space, body) on stdout.

The scheme: the request body B is a dictionary, bencoded (b"d...e") or
JSON (b"{...}"). The signed region R is B without its first byte ('d' or
'{') and without trailing blanks. The HMAC is

    HMAC-SHA256(secret, cookie SP client SP ts SP R)

in lowercase hex, and the request sent is the cookie, a space, and B with
the member auth = {client, ts, hmac} inserted as its first member:
    bencode: b"d4:auth" + bencode(auth) + B[1:]
    JSON:    b'{"auth":' + json(auth) + b"," + B[1:]
"""
import argparse
import base64
import hashlib
import hmac
import json
import sys
import time

BLANKS = b" \t\r\n"


def _bencode_auth(client, ts, mac):
    c, m = client.encode(), mac.encode()
    return b"d6:client%d:%s4:hmac%d:%s2:tsi%dee" % (len(c), c, len(m), m, ts)


def mac_of(cookie, client, ts, region, key):
    """The lowercase hex HMAC-SHA256 over cookie SP client SP ts SP region."""
    msg = cookie.encode() + b" " + client.encode() + b" " + str(int(ts)).encode() + b" " + region
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def sign(cookie, body, client, key, ts=None):
    """The signed body for `body` (bytes: a bencoded or JSON dictionary)."""
    ts = int(time.time()) if ts is None else int(ts)
    body = body.strip(BLANKS)
    if body[:1] == b"d":
        region = body[1:]
        mac = mac_of(cookie, client, ts, region, key)
        return b"d4:auth" + _bencode_auth(client, ts, mac) + region
    if body[:1] == b"{":
        region = body[1:]
        if region.strip(BLANKS)[:1] == b"}":
            raise ValueError("a JSON request needs at least one member besides auth")
        mac = mac_of(cookie, client, ts, region, key)
        auth = json.dumps({"client": client, "ts": ts, "hmac": mac}, separators=(",", ":")).encode()
        return b'{"auth":' + auth + b"," + region
    raise ValueError("the body is not a bencoded or JSON dictionary")


def sign_request(cookie, body, client, key, ts=None):
    """The whole datagram: cookie SP signed body."""
    return cookie.encode() + b" " + sign(cookie, body, client, key, ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--client", required=True)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--key", help="the secret, base64")
    g.add_argument("--key-file", help="a file holding the secret in base64")
    ap.add_argument("--cookie", required=True)
    ap.add_argument("--ts", type=int, help="Unix time (default: now)")
    ap.add_argument("body", help="the request dictionary, bencoded or JSON")
    a = ap.parse_args()
    secret = a.key if a.key else open(a.key_file).read().strip()
    key = base64.b64decode(secret, validate=True)
    sys.stdout.buffer.write(sign_request(a.cookie, a.body.encode(), a.client, key, a.ts) + b"\n")


if __name__ == "__main__":
    main()
