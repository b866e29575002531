"""The status page (control/ctl_status.html, served at / by
control/ctl_http.c) in headless Chromium, during a conference and a call.

  1. A room "ward" with two conference participants (ward-p1 sends a tone:
     it talks; ward-p2 sends silence) and a relayed call "status-call"
     from clinic-a to clinic-b, media flowing for a few seconds.
  2. /status.json (what the page polls) lists the call with both parties
     and their sites, the room with its participants and who talks, and
     per-site history (the minute ring) with a sample.
  3. chromium --headless --dump-dom: the page fetched /status.json and
     drew it: the call's row and its parties, the room's participants with
     ward-p1 talking and ward-p2 not, a site panel per site with its SVG
     time plots, the workers' table. The page names no other origin.
  4. chromium --headless --screenshot: a PNG of the page, kept as a test
     artefact (MEDIUS_ARTEFACTS, by default artefacts/ in the meson build
     directory).
"""
import html.parser
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from medius_test import check, finish, ng  # noqa: E402
from http_test import ward_and_call, ARTEFACTS, HttpDaemon, Media, Party, call, conference_party, get, status, tone_frames  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "chromium")


class Dom(html.parser.HTMLParser):
    """Every element as (tag, attrs dict, text inside it, direct and nested)."""

    def __init__(self):
        super().__init__()
        self.stack, self.elems = [], []

    def handle_starttag(self, tag, attrs):
        e = [tag, dict(attrs), ""]
        self.elems.append(e)
        if tag not in ("meta", "br", "img", "input", "link", "circle", "path", "line"):
            self.stack.append(e)

    def handle_endtag(self, tag):
        while self.stack:
            e = self.stack.pop()
            if e[0] == tag:
                break

    def handle_data(self, data):
        for e in self.stack:
            e[2] += data

    def find(self, tag=None, cls=None, **attrs):
        out = []
        for t, a, text in self.elems:
            if tag and t != tag:
                continue
            if cls and cls not in a.get("class", "").split():
                continue
            if all(a.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                out.append((t, a, text))
        return out


def chromium(url, *args, timeout=60):
    prof = tempfile.mkdtemp(prefix="medius-chromium-")
    try:
        # niced: on a 2-core box Chromium starting up must not starve the RTP senders
        return subprocess.run(["nice", "-n", "19", CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               f"--user-data-dir={prof}", "--virtual-time-budget=5000", *args, url],
                              capture_output=True, timeout=timeout)
    finally:
        shutil.rmtree(prof, ignore_errors=True)


def main():
    if not shutil.which(CHROMIUM):
        print(f"SKIP: {CHROMIUM} not installed")
        sys.exit(77)
    with HttpDaemon() as d:
        st, page, hdr = get(d.http, "/")
        text = page.decode()
        check(st == 200 and hdr.get("content-type", "").startswith("text/html"), f"/ is the page ({st})")
        external = [w for w in ("<script src", "<link", "@import", "url(", "https://")
                    if w in text] + [ln.strip() for ln in text.splitlines()
                                     if "http://" in ln and "http://www.w3.org/2000/svg" not in ln]
        check(not external, f"the page loads nothing from elsewhere ({external})")

        media = Media().start()
        p1, p2, a, b = ward_and_call(d.port, "status-call")
        evil = 'evil"<b>bold</b>\\</script>'  # a legal call-id: printable, no control bytes
        e1, e2 = Party(), Party()
        o, r = call(d.port, evil, e1, e2)
        check(o.get("result") == "ok", "a call whose call-id holds quotes, markup and a backslash")
        media.add(p1, p2, a, b, e1, e2)
        time.sleep(4)

        s = status(d.http)
        calls = {c["id"]: c for c in s["calls"]}
        c = calls.get("status-call", {})
        check({p["site"] for p in c.get("parties", [])} == {"clinic-a", "clinic-b"},
              f"status.json: status-call's parties at clinic-a and clinic-b ({c.get('parties')})")
        room = {r["name"]: r for r in s["conferences"]}.get("ward", {})
        talking = {p["call_id"]: p["talking"] for p in room.get("participants", [])}
        check(talking == {"ward-p1": True, "ward-p2": False}, f"status.json: ward-p1 talks, ward-p2 does not ({talking})")
        hist = {x["name"]: x["history"] for x in s["sites"]}
        check(all(hist.get(n) and hist[n][-1]["mos"] is not None for n in ("clinic-a", "clinic-b")),
              f"status.json: per-site history with a MOS sample ({ {k: v[-1:] for k, v in hist.items()} })")

        r = chromium(f"http://127.0.0.1:{d.http}/", "--dump-dom")
        dom = Dom()
        dom.feed(r.stdout.decode(errors="replace"))
        check(r.returncode == 0 and dom.find("body") and dom.find("body")[0][1].get("data-updated"),
              f"chromium --dump-dom: the page fetched status.json and drew it (rc {r.returncode})")
        rows = dom.find("tr", "call", data_call_id="status-call")
        tags = {a.get("data-tag") for _, a, _ in dom.find("td", "party")}
        sending = {a.get("data-tag"): a.get("data-sending") for _, a, _ in dom.find("td", "party")}
        check(sending.get("status-call-a") == "1" and sending.get("status-call-b") == "1",
              f"both parties of the call shown sending media ({sending})")
        check(len(rows) == 2 and {"status-call-a", "status-call-b"} <= tags,
              f"the call's row and both its parties in the DOM ({len(rows)} rows, tags {sorted(t for t in tags if t)})")
        check(bool(dom.find("tr", "conference", data_room="ward")), "the room ward in the DOM")
        p1_el = dom.find("li", "participant", data_call_id="ward-p1")
        p2_el = dom.find("li", "participant", data_call_id="ward-p2")
        check(len(p1_el) == 1 and "talking" in p1_el[0][1]["class"].split() and "talking" in p1_el[0][2],
              f"ward-p1 shown talking ({p1_el})")
        check(len(p2_el) == 1 and "talking" not in p2_el[0][1]["class"].split(), f"ward-p2 shown not talking ({p2_el})")
        for site in ("clinic-a", "clinic-b"):
            panel = dom.find("div", "site", data_site=site)
            plots = [a.get("data-series") for _, a, _ in dom.find("svg", "plot")]
            check(bool(panel) and {"mos", "loss_pct", "jitter_ms"} <= set(plots),
                  f"site {site}: a panel with its MOS, loss and jitter plots")
        paths = dom.find("path")
        check(len(paths) >= 2, f"the plots draw the minute samples ({len(paths)} SVG paths)")
        check(bool(dom.find("tr", "worker")), "the workers' table")
        check(evil in {c["id"] for c in s["calls"]}, "status.json carries the odd call-id intact")
        check(len(dom.find("tr", "call", data_call_id=evil)) == 2 and not dom.find("b"),
              "the odd call-id is shown as text: its row is there, no <b> element was made")

        os.makedirs(ARTEFACTS, exist_ok=True)
        shot = os.path.abspath(os.path.join(ARTEFACTS, "status-page.png"))
        if os.path.exists(shot):
            os.unlink(shot)
        r = chromium(f"http://127.0.0.1:{d.http}/", f"--screenshot={shot}", "--window-size=1280,1400",
                     "--hide-scrollbars")
        data = open(shot, "rb").read() if os.path.exists(shot) else b""
        check(data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000,
              f"a screenshot of the page: {shot} ({len(data)} bytes)")
        media.stop()
        print(f"     RTP sent/received: p1 {p1.sent}/{p1.received} p2 {p2.sent}/{p2.received} "
              f"a {a.sent}/{a.received} b {b.sent}/{b.received}; errors {(p1.errors + a.errors)[:3]}")
    finish()


if __name__ == "__main__":
    main()
