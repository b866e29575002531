"""The HTTP listener's source allow-list and TLS (control/ctl_http.c).

  1. control.allow = 10.0.0.0/8: a loopback client is closed at accept (no
     answer), and the refusal is counted; the daemon keeps serving ng.
  2. control.allow = 10.0.0.0/8, 127.0.0.1: the same client is served.
  3. [http] tls_cert/tls_key from a self-signed certificate made here by
     `openssl req`: HTTPS GET /healthz answers "ok" (python ssl, the
     certificate pinned as the CA), /metrics counts it; a plain-HTTP
     request to the same port gets no HTTP answer.
     `mediusctl top --once --http https://... --cacert` reads it.
  4. A missing key file: mediusd stops at start (exit 71) and says which
     file and why.
"""
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from medius_test import MEDIUSCTL, MEDIUSD, Daemon, check, finish, free_port  # noqa: E402
from http_test import HttpDaemon, free_tcp_port, get, parse_metrics, value  # noqa: E402


def raw(port, req=b"GET /healthz HTTP/1.0\r\n\r\n", timeout=5, src="127.0.0.1"):
    """Send req on a new connection from src; everything read until close."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(src, 0))
    out = b""
    try:
        s.sendall(req)
        while True:
            b = s.recv(4096)
            if not b:
                break
            out += b
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        s.close()
    return out


def https_get(port, path, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    c = http.client.HTTPSConnection("localhost", port, timeout=5, context=ctx)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def main():
    # 1. not in the list: closed at accept (127.0.0.2, in the list, looks at the count)
    port = free_tcp_port()
    with Daemon("-o", f"http.listen=127.0.0.1:{port}", "-o", "control.allow=10.0.0.0/8, 127.0.0.2",
                ready=lambda p, timeout: True) as d:
        deadline = time.time() + 20
        while "HTTP listening on" not in d.log_text() and d.proc.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        check(d.proc.poll() is None, "mediusd runs with control.allow = 10.0.0.0/8 and [http]")
        outs = [raw(port) for _ in range(3)]
        check(outs == [b""] * 3, f"a loopback client outside 10.0.0.0/8 gets no answer ({outs[0][:60]!r})")
        log = d.log_text()
        check("refused: not in control.allow" in log and "127.0.0.1" in log,
              "the refusal is logged with the source")
        time.sleep(1.2)  # the metrics document is rendered once a second
        m = raw(port, b"GET /metrics HTTP/1.0\r\n\r\n", src="127.0.0.2").decode(errors="replace")
        v = value(parse_metrics(m.split("\r\n\r\n", 1)[-1])[0], "medius_http_refused_total")
        check(m.startswith("HTTP/1.") and " 200 " in m.split("\r\n")[0] and v == 3,
              f"127.0.0.2 (in the list) is served, and medius_http_refused_total counts the 3 refusals ({v})")
    # 2. 127.0.0.1 in the list: served
    with HttpDaemon("-o", "control.allow=10.0.0.0/8, 127.0.0.1") as d:
        st, body, _ = get(d.http, "/healthz")
        check(st == 200 and body == b"ok\n", f"with 127.0.0.1 in control.allow: GET /healthz {st} {body!r}")

    if not shutil.which("openssl"):
        print("SKIP (TLS part): openssl not installed")
        finish()
        return
    tmp = tempfile.mkdtemp(prefix="medius-tls-")
    try:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                            "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                           capture_output=True)
        check(r.returncode == 0, "openssl req made a self-signed certificate" + ("" if r.returncode == 0 else f" ({r.stderr[-300:]!r})"))
        os.chmod(key, 0o600)
        # 3. HTTPS
        port = free_tcp_port()
        with Daemon("-o", f"http.listen=127.0.0.1:{port}", "-o", f"http.tls_cert={cert}", "-o",
                    f"http.tls_key={key}") as d:
            st = body = None
            deadline = time.time() + 20
            while time.time() < deadline:
                try:
                    st, body = https_get(port, "/healthz", cert)
                    break
                except OSError:
                    time.sleep(0.2)
            check(st == 200 and body == b"ok\n", f"HTTPS GET /healthz (certificate verified): {st} {body!r}")
            time.sleep(1.2)  # the metrics document is rendered once a second
            st, body = https_get(port, "/metrics", cert)
            v = value(parse_metrics(body.decode())[0], "medius_http_requests_total")
            check(st == 200 and v is not None and v >= 1, f"HTTPS GET /metrics counts the requests ({st}, {v})")
            plain = raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            check(not plain.startswith(b"HTTP/") and b"ok\n" not in plain,
                  f"plain HTTP to the HTTPS port gets no HTTP answer ({plain[:40]!r})")
            check("HTTPS listening on" in d.log_text(), "the log says HTTPS")
            t = subprocess.run([MEDIUSCTL, "top", "--once", "--http", f"https://localhost:{port}", "--cacert", cert],
                               capture_output=True, timeout=30)
            check(t.returncode == 0 and b"WORKER" in t.stdout,
                  f"mediusctl top --once over HTTPS (--cacert) ({t.returncode}, {t.stderr.strip()[:120]!r})")
        # 4. a missing key: a clear start-up error
        port = free_tcp_port()
        missing = os.path.join(tmp, "nope.pem")
        p = subprocess.run([MEDIUSD, "--listen-ng", f"127.0.0.1:{free_port()}", "-o", f"http.listen=127.0.0.1:{port}",
                            "-o", f"http.tls_cert={cert}", "-o", f"http.tls_key={missing}"],
                           capture_output=True, timeout=60)
        out = (p.stdout + p.stderr).decode(errors="replace")
        check(p.returncode == 71 and "http.tls_key" in out and missing in out and "No such file" in out,
              f"a missing tls_key stops mediusd at start (exit {p.returncode}): "
              f"{[ln for ln in out.splitlines() if 'tls' in ln][:2]}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
