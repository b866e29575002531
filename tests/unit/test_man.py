"""The man pages: each scdoc source builds (scdoc exits 0 and writes a
roff page whose .TH names the page and its section), and meson built the
same page into the build tree, but for the date scdoc writes into .TH
(the day it ran: a build before midnight and a test after it differ
there). Skipped (77) without scdoc."""
import os
import re
import shutil
import subprocess
import sys

SOURCE = os.environ.get("MEDIUS_SOURCE", ".")
BUILD = os.environ.get("MEDIUS_BUILD", "build")
PAGES = ["mediusd.8", "mediusctl.1", "medius-replay.1", "medius.conf.5"]

if not shutil.which("scdoc"):
    print("skip: scdoc is not installed")
    sys.exit(77)


def undated(page):
    """The page with the date field of its .TH line emptied."""
    return re.sub(rb'^(\.TH "[^"]*" "[^"]*") "[^"]*"', rb'\1 ""', page, count=1, flags=re.M)


failed = 0
for page in PAGES:
    name, section = page.rsplit(".", 1)
    with open(os.path.join(SOURCE, "docs", "man", page + ".scd"), "rb") as f:
        r = subprocess.run(["scdoc"], stdin=f, capture_output=True)
    th = [l for l in r.stdout.decode(errors="replace").splitlines() if l.startswith(".TH")]
    ok = r.returncode == 0 and th and th[0].split()[1:3] == [f'"{name}"', f'"{section}"']
    built = os.path.join(BUILD, "docs", "man", page)
    same = os.path.exists(built) and undated(open(built, "rb").read()) == undated(r.stdout)
    print(("ok   " if ok else "FAIL ") + f"{page}: scdoc builds it ({r.stderr.decode().strip()!r}, {th[:1]})")
    print(("ok   " if same else "FAIL ") + f"{page}: meson built the same page ({built})")
    failed += (not ok) + (not same)
sys.exit(1 if failed else 0)
