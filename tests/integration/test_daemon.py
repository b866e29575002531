"""mediusd as a program: --help, --version, configuration errors and their
exit codes, a busy port, signals and clean shutdown."""
import os
import signal
import socket
import subprocess
import tempfile
import time

from medius_test import MEDIUSD, SOURCE, Daemon, check, finish, free_port, ping


def run(*args, timeout=30):
    return subprocess.run([MEDIUSD, *args], capture_output=True, text=True, timeout=timeout)


r = run("--help")
check(r.returncode == 0 and "Usage: mediusd" in r.stdout and "--config" in r.stdout, "--help prints usage, exit 0")
r = run("--version")
check(r.returncode == 0 and r.stdout.startswith("mediusd "), f"--version: {r.stdout.strip()!r}")
r = run("--no-such-option")
check(r.returncode == 64, f"an unknown option exits 64 (EX_USAGE): {r.returncode}")
r = run("stray")
check(r.returncode == 64 and "unexpected argument" in r.stderr, "a stray argument exits 64")

r = run("--config", "/nonexistent/mediusd.conf")
check(r.returncode == 78 and "/nonexistent/mediusd.conf" in r.stderr, f"a missing config file exits 78: {r.stderr.strip()!r}")

with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
    f.write("[general]\nlog_level = info\n\n[control]\nlisten_ng = 127.0.0.1:99999\n")
r = run("--config", f.name)
check(r.returncode == 78 and f"{f.name}:5:" in r.stderr and "listen_ng" in r.stderr,
      f"a bad value names file, line and key, exit 78: {r.stderr.strip()!r}")
os.unlink(f.name)

r = run("--set", "eal.memory_mb=lots")
check(r.returncode == 78 and "eal.memory_mb" in r.stderr, f"a bad --set exits 78: {r.stderr.strip()!r}")
r = run("--set", "nodot=1")
check(r.returncode == 78 and "section.key=value" in r.stderr, "a malformed --set exits 78")

sample = os.path.join(SOURCE, "control", "mediusd.conf")
r = run("--config", sample, "--dump-config", "--log-level", "debug")
check(r.returncode == 0 and "log_level = debug" in r.stdout and "listen_ng = 127.0.0.1:2223" in r.stdout,
      "the sample config loads; the command line wins over the file")

# a port that is taken: clear error, exit 71 (EX_OSERR)
busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
busy.bind(("127.0.0.1", 0))
r = run("--listen-ng", f"127.0.0.1:{busy.getsockname()[1]}")
check(r.returncode == 71 and "cannot listen" in r.stderr, f"a busy ng port exits 71: {r.stderr.strip()[-120:]!r}")
busy.close()

# hugepages=yes on a host without enough of them: EAL refuses, exit 69
with open("/proc/meminfo") as m:
    free_huge = [l for l in m if l.startswith("HugePages_Free")]
if not free_huge or int(free_huge[0].split()[1]) == 0:
    r = run("--listen-ng", f"127.0.0.1:{free_port()}", "--set", "eal.hugepages=yes")
    check(r.returncode == 69 and "hugepages" in r.stderr, f"hugepages=yes without hugepages exits 69: {r.returncode}")

# signals: SIGHUP reloads the configuration (test_reload.py); SIGINT and SIGTERM stop cleanly
with Daemon() as d:
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    check(d.proc.poll() is None and ping(d.port), "SIGHUP does not stop mediusd")
    check("reload done" in d.log_text(), "SIGHUP reloads the configuration and logs it")
    check(d.stop(signal.SIGINT) == 0, "SIGINT stops mediusd with exit status 0")
    log = d.log_text()
    check("shutting down" in log and "stopped" in log, "shutdown is logged")
    check("worker lcore" in log and "--no-pci" in log, "EAL starts without probing PCI devices")
finish()
