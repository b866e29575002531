"""mediusd under systemd: the shipped unit passes systemd-analyze verify
without a warning (with and without its ethdev drop-in), and mediusd
speaks sd_notify to a NOTIFY_SOCKET this test owns: READY=1 only once ng
answers, STATUS= lines, WATCHDOG=1 pings with WATCHDOG_USEC set, RELOADING=1
then READY=1 on SIGHUP, STOPPING=1 on SIGTERM; a worker thread stopped (ptrace) stops the pings."""
import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from medius_test import MEDIUSD, SOURCE, check, finish, free_port, ping

UNIT = os.path.join(SOURCE, "control", "mediusd.service")
DROPIN = os.path.join(SOURCE, "control", "mediusd-ethdev.conf")
tmp = tempfile.mkdtemp(prefix="medius-systemd-")


def verify(unit_text, dropin=None):
    """systemd-analyze verify on a copy of the unit whose ExecStart is this
    build's mediusd (the installed path does not exist here); man pages are
    not looked up (they are installed with the unit, not here)."""
    d = tempfile.mkdtemp(dir=tmp)
    path = os.path.join(d, "mediusd.service")
    with open(path, "w") as f:
        f.write(unit_text.replace("/usr/sbin/mediusd", os.path.abspath(MEDIUSD)))
    if dropin:
        os.mkdir(path + ".d")
        shutil.copy(dropin, os.path.join(path + ".d", "ethdev.conf"))
    env = dict(os.environ, SYSTEMD_UNIT_PATH=d + ":")
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", path], capture_output=True, text=True, env=env)
    return r.returncode, (r.stdout + r.stderr).strip()


if shutil.which("systemd-analyze"):
    with open(UNIT) as f:
        unit = f.read()
    rc, out = verify(unit)
    check(rc == 0 and out == "", f"systemd-analyze verify: no warning for mediusd.service ({out!r})")
    rc, out = verify(unit, DROPIN)
    check(rc == 0 and out == "", f"... nor with the ethdev drop-in ({out!r})")
    rc, out = verify(unit.replace("[Service]", "[Service]\nProtectSystemm=strict"))
    check("Unknown key" in out, "the check can fail: a misspelt key is reported")
    for key in ("Type=notify", "WatchdogSec=", "DynamicUser=yes", "ProtectSystem=strict", "ProtectHome=yes",
                "PrivateTmp=yes", "StateDirectory=medius", "LogsDirectory=medius", "NoNewPrivileges=yes",
                "CapabilityBoundingSet=\n", "ExecReload=/bin/kill -HUP $MAINPID"):
        check(key in unit, f"the unit sets {key.strip()}")
else:
    print("skip systemd-analyze checks: systemd-analyze is not installed")

# --- sd_notify ---
nsock_path = os.path.join(tmp, "notify")
nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
nsock.bind(nsock_path)
port = free_port()
log = open(os.path.join(tmp, "mediusd.log"), "w+")
env = dict(os.environ, NOTIFY_SOCKET=nsock_path, WATCHDOG_USEC="4000000")
proc = subprocess.Popen([MEDIUSD, "--listen-ng", f"127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT,
                        env=env)
atexit.register(lambda: proc.poll() is None and proc.kill())  # never leave it behind (a stopped thread)
# sd_watchdog_enabled wants WATCHDOG_PID to be the daemon's own pid when set;
# unset it is taken as "for this process"


def messages(duration):
    """Notification datagrams received within duration s."""
    out = []
    end = time.time() + duration
    while time.time() < end:
        nsock.settimeout(max(0.01, end - time.time()))
        try:
            out.append(nsock.recv(4096).decode())
        except socket.timeout:
            pass
    return out


got, ready_at, answered_when_ready = [], None, None
deadline = time.time() + 30
while time.time() < deadline and ready_at is None:
    nsock.settimeout(1)
    try:
        m = nsock.recv(4096).decode()
    except socket.timeout:
        continue
    got.append(m)
    if "READY=1" in m.split("\n"):
        ready_at = time.time()
        answered_when_ready = ping(port, timeout=0.5)
check(ready_at is not None, f"READY=1 arrives ({got})")
check(answered_when_ready, "when READY=1 arrives, ng already answers")
check(any(m.startswith("STATUS=starting") for m in got), "STATUS= says it is starting before it is ready")
ready_msg = [m for m in got if "READY=1" in m]
check(ready_msg and "STATUS=running: ng on 127.0.0.1" in ready_msg[0] and "worker lcore" in ready_msg[0],
      f"READY=1 comes with a STATUS= line naming ng and the workers ({ready_msg})")
later = messages(3.5)
pings = [m for m in later if m == "WATCHDOG=1"]
check(len(pings) >= 2, f"WATCHDOG=1 arrives about every second while the workers answer ({len(pings)} in 3.5 s)")

# a wedged worker: stop only its thread (ptrace stops one thread, not the
# process); the control lcore goes on, but the pings must stop and STATUS=
# must say which worker; once it runs again the pings come back


def stall_worker_thread(pid):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")
            if open(f"/proc/{pid}/task/{t}/comm").read().strip().startswith(("rte-worker", "lcore-worker"))]
    if not tids:
        return None, None
    tid = tids[0]
    if libc.ptrace(0x4206, tid, None, None) != 0:  # PTRACE_SEIZE
        return None, None
    libc.ptrace(0x4207, tid, None, None)  # PTRACE_INTERRUPT: this thread stops
    os.waitpid(tid, 0x40000000)  # __WALL: a thread, not a child
    return libc, tid


libc, tid = stall_worker_thread(proc.pid)
if libc is None:
    print("skip the wedged-worker part: cannot ptrace a worker thread")
else:
    stalled = messages(4.5)
    st = [i for i, m in enumerate(stalled) if m.startswith("STATUS=worker lcore") and "is not answering" in m]
    check(bool(st), f"a wedged worker: within 4.5 s STATUS= names it ({stalled})")
    more = messages(2.0)
    check(st and "WATCHDOG=1" not in stalled[st[0]:] + more and ping(port, timeout=0.5),
          f"... and no WATCHDOG=1 follows, while ng still answers ({stalled[st[0]:] if st else ''} {more})")
    libc.ptrace(0x11, tid, None, None)  # PTRACE_DETACH: it runs again
    back = messages(2.5)
    check(any(m == "WATCHDOG=1" for m in back), f"the worker runs again: the pings come back ({back})")
proc.send_signal(signal.SIGHUP)
after = messages(1.5)
joined = "\n".join(after)
check("RELOADING=1" in joined and joined.index("RELOADING=1") < joined.index("READY=1"),
      f"SIGHUP: RELOADING=1, then READY=1 ({[m for m in after if m != 'WATCHDOG=1']})")
proc.send_signal(signal.SIGTERM)
proc.wait(20)
end = messages(0.5)
check(any("STOPPING=1" in m for m in end), "SIGTERM: STOPPING=1")
check(proc.returncode == 0, "mediusd stops with status 0")

# no NOTIFY_SOCKET and no watchdog: the same daemon, silent
log.seek(0)
text = log.read()
check("systemd watchdog: 4.0 s" in text, "the watchdog interval is logged")
nsock.close()
shutil.rmtree(tmp)
finish()
