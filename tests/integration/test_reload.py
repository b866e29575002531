"""mediusd --check-config [FILE] and the SIGHUP reload. --check-config
names every bad line, says OK for a good file, exits 0 or 1 and starts
nothing. A reload applies the live keys (here the log level and the call
idle timeout, whose effects are seen), keeps keys that need a restart with
a warning naming them, and a bad file changes nothing."""
import os
import signal
import socket
import subprocess
import tempfile
import time

from medius_test import MEDIUSD, SOURCE, Daemon, call_sdp, check, finish, free_port, ng, ping


def run(*args, timeout=20):
    return subprocess.run([MEDIUSD, *args], capture_output=True, text=True, timeout=timeout)


def conf(text):
    f = tempfile.NamedTemporaryFile("w", prefix="medius-reload-", suffix=".conf", delete=False)
    f.write(text)
    f.close()
    return f.name


# --- --check-config ---
sample = os.path.join(SOURCE, "control", "mediusd.conf")
port = free_port()
t0 = time.time()
r = run("--check-config", sample, "--listen-ng", f"127.0.0.1:{port}")
check(r.returncode == 0 and r.stdout.strip() == f"{sample}: OK", f"the sample config: OK, exit 0 ({r.stdout!r} {r.stderr!r})")
check(time.time() - t0 < 5 and "EAL" not in r.stderr, "--check-config starts nothing (no EAL, returns at once)")
r = run("--config", sample, "--check-config")
check(r.returncode == 0 and "OK" in r.stdout, "--check-config checks --config's file")
bad = conf("[general]\nlog_level = loud\n\n[control]\nlisten_ng = 127.0.0.1:99999\nthis line is not ini\n"
           "[media]\nclock_ms = 20\nnosuchkey = 1\n")
r = run("--check-config", bad)
errs = r.stderr
check(r.returncode == 1, f"a bad file: exit 1 ({r.returncode})")
check(f"{bad}:2: general.log_level" in errs, f"line 2's bad level is named with its line ({errs!r})")
check(f"{bad}:5: control.listen_ng" in errs, "line 5's bad address too: every error, not only the first")
check(f"{bad}:9: unknown key 'nosuchkey'" in errs, "line 9's unknown key too")
check(f"{bad}:6: syntax error" in errs, "line 6's syntax error too")
check("4 error(s)" in errs and "OK" not in r.stdout, "the count of errors, and no OK")
cross = conf("[media]\njitter_buffer_min_ms = 200\njitter_buffer_max_ms = 100\n")
r = run("--check-config", cross)
check(r.returncode == 1 and "jitter_buffer_min_ms (200) is above" in r.stderr, "checks across keys run too")
r = run("--check-config", "/nonexistent/medius.conf")
check(r.returncode == 1 and "cannot open" in r.stderr, "a missing file: exit 1")
r = run("--check-config", sample, "--set", "eal.memory_mb=lots")
check(r.returncode == 1 and "eal.memory_mb" in r.stderr, "the command line's overrides are checked too")
r = run("--config", sample, "--dump-config", "--log-level", "debug")
check(r.returncode == 0 and "log_level = debug" in r.stdout, "--dump-config prints the effective configuration")

# --- SIGHUP ---
cfg = conf("[general]\nlog_level = info\n\n[control]\ncall_idle_timeout_seconds = 0\ncookie_cache_size = 4096\n")


def tcp_connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    time.sleep(0.2)
    s.close()


def wait_log(d, text, timeout=5):
    end = time.time() + timeout
    while time.time() < end:
        if text in d.log_text():
            return True
        time.sleep(0.1)
    return False


def call_alive(d, cid):
    return ng(d.port, command="query", call_id=cid).get("result") == "ok"


with Daemon("--config", cfg, tcp=True) as d:
    tcp_connect(d.port)
    time.sleep(0.3)
    check("client 127.0.0.1" not in d.log_text(), "at info, a TCP client's connection is not logged")
    cid = "reload-call-1"
    rep = ng(d.port, command="offer", call_id=cid, from_tag="a", sdp=call_sdp(40000))
    check(rep.get("result") == "ok", "a call without media")
    time.sleep(2.5)
    check(call_alive(d, cid), "with call_idle_timeout_seconds = 0 it stays")
    with open(cfg, "w") as f:
        f.write("[general]\nlog_level = debug\n\n[control]\ncall_idle_timeout_seconds = 2\ncookie_cache_size = 100\n"
                "\n[eal]\nmemory_mb = 512\n")
    d.proc.send_signal(signal.SIGHUP)
    check(wait_log(d, "reload done"), "SIGHUP reloads")
    log = d.log_text()
    check("reload: general.log_level: 'info' -> 'debug'" in log, "the live log level change is logged")
    check("reload: control.call_idle_timeout_seconds: '0' -> '2'" in log, "the idle timeout change is logged")
    check("reload: control.cookie_cache_size cannot change while mediusd runs: keeping '4096'" in log
          and "] warning " in log, "a key that needs a restart keeps its value, with a warning naming it")
    check("eal.memory_mb cannot change" in log, "... every such key is named")
    check("2 key(s) applied, 2 kept until restart" in log, "the summary counts both kinds")
    tcp_connect(d.port)
    check(wait_log(d, "client 127.0.0.1", 2), "the new log level works: a TCP connection is now logged at debug")
    end = time.time() + 6
    while time.time() < end and call_alive(d, cid):
        time.sleep(0.25)
    check(not call_alive(d, cid), "the new idle timeout ends the media-less call")
    check(ping(d.port), "mediusd still serves ng after the reload")

    # a bad file: nothing changes, the error is logged
    with open(cfg, "w") as f:
        f.write("[general]\nlog_level = info\n\n[control]\ncall_idle_timeout_seconds = 0\nbogus = 1\n")
    before = len(d.log_text())
    d.proc.send_signal(signal.SIGHUP)
    check(wait_log(d, "reload failed, nothing changed"), "a bad file: the reload fails")
    tail = d.log_text()[before:]
    check(f"{cfg}:6: unknown key 'bogus'" in tail, f"... and the log names file, line and reason ({tail[-300:]!r})")
    check("reload: general.log_level" not in tail, "... and no key changed (not even the good lines before it)")
    cid2 = "reload-call-2"
    ng(d.port, command="offer", call_id=cid2, from_tag="a", sdp=call_sdp(40010))
    end = time.time() + 6
    while time.time() < end and call_alive(d, cid2):
        time.sleep(0.25)
    check(not call_alive(d, cid2), "the idle timeout of 2 s is still in force after the failed reload")
    n_conn = d.log_text().count("client 127.0.0.1")
    tcp_connect(d.port)
    time.sleep(0.3)
    check(d.log_text().count("client 127.0.0.1") > n_conn, "... and so is the debug level")
    check(d.stop() == 0, "mediusd stops cleanly after reloads")
for p in (bad, cross, cfg):
    os.unlink(p)
finish()
