"""mediusctl top (control/ctl_mediusctl_top.c) against a running mediusd.

  1. A room "ward" with two participants (ward-p1 sends a tone: it talks;
     ward-p2 sends silence) and a relayed call "top-call" from clinic-a to
     clinic-b, media flowing for a few seconds.
  2. `mediusctl top --once --http ADDR:PORT` prints one frame: the call id
     with its parties' sites, the conference with ward-p1 marked talking
     and ward-p2 not, each site with a MOS figure, the worker lines.
  3. MEDIUS_HTTP names the listener as well; a listener that is not there:
     exit 3 and a reason.
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from medius_test import MEDIUSCTL, check, finish, ng  # noqa: E402
from http_test import ward_and_call, HttpDaemon, Media, Party, call, conference_party, free_tcp_port, status, tone_frames  # noqa: E402


def top(*args, env=None):
    p = subprocess.run([MEDIUSCTL, "top", "--once", *args], capture_output=True, timeout=30,
                       env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def main():
    with HttpDaemon() as d:
        media = Media().start()
        p1, p2, a, b = ward_and_call(d.port, "top-call")
        media.add(p1, p2, a, b)
        time.sleep(4)
        s = status(d.http)

        rc, out, err = top("--http", f"127.0.0.1:{d.http}")
        print("     | " + "\n     | ".join(out.splitlines()))
        check(rc == 0 and "\033[" not in out, f"top --once: exit 0, no escapes ({rc}, {err.strip()})")
        lines = out.splitlines()
        check(any(ln.startswith("top-call ") for ln in lines), "the call top-call has its line")
        parties = [ln for ln in lines if re.match(r"^  [> ] top-call-[ab] ", ln)]
        check(len(parties) == 2 and any("clinic-a" in ln for ln in parties) and any("clinic-b" in ln for ln in parties),
              f"its two parties with their sites ({parties})")
        conf = [ln for ln in lines if ln.startswith("ward ")]
        check(len(conf) == 1 and "*ward-p1(clinic-a)" in conf[0] and " ward-p2(clinic-b)" in conf[0]
              and "*ward-p2" not in conf[0], f"the conference ward, ward-p1 marked talking, ward-p2 not ({conf})")
        want = {x["name"]: x["mos"] for x in s["sites"]}
        for site in ("clinic-a", "clinic-b"):
            row = [ln for ln in lines if ln.startswith(site + " ")]
            m = re.search(r"\s(\d\.\d\d)\s", row[0]) if row else None
            check(m is not None and want.get(site) is not None and abs(float(m.group(1)) - want[site]) < 0.3,
                  f"site {site} with its MOS (top {m.group(1) if m else None}, status.json {want.get(site)})")
            check(row and any(ch in row[0] for ch in "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"),
                  f"site {site}: a sparkline of the minute samples")
        workers = [ln for ln in lines if ln.startswith("lcore ")]
        check(len(workers) == len(s["workers"]) >= 1 and all("%" in w for w in workers),
              f"one line per worker with its load ({workers})")
        check(any(ln.startswith("DROPS") for ln in lines), "a drops line")

        rc, out2, _ = top(env={"MEDIUS_HTTP": f"127.0.0.1:{d.http}"})
        check(rc == 0 and "top-call" in out2, "MEDIUS_HTTP names the listener")
        media.stop()
    rc, out, err = top("--http", f"127.0.0.1:{free_tcp_port()}")
    check(rc == 3 and "status.json" in err and not out, f"no listener: exit 3 and a reason ({rc}, {err.strip()})")
    rc, _, err = top("--bogus")
    check(rc == 2, f"an unknown option: exit 2 ({rc})")
    finish()


if __name__ == "__main__":
    main()
