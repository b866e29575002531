"""The operations files shipped in docs/ops/ against the real thing:

  1. promtool check rules docs/ops/medius-alerts.yml, and promtool test
     rules docs/ops/medius-alerts.test.yml (hand-made series: the rules
     fire for the degraded site after their minute, not before, and not
     for healthy sites).
     A busy [http] port stops mediusd with 71, a bad address is 78,
     and the listener is off by default.
  2. A real scrape of mediusd (during a relayed call and a conference)
     passes promtool check metrics (the exposition format's lint).
  3. docs/ops/grafana-medius.json parses as JSON, has panels with
     targets, and every PromQL expression in it (panel targets and
     template variable queries) names only metrics that scrape exports;
     so do the alert rules.
"""
import json
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from medius_test import MEDIUSD, check, finish, free_port, ng  # noqa: E402
from http_test import (PROMTOOL, SOURCE, HttpDaemon, Media, Party, call, conference_party, get,  # noqa: E402
                       parse_metrics, tone_frames)

OPS = os.path.join(SOURCE, "docs", "ops")
# PromQL words that are not metric names
PROMQL_WORDS = {
    "sum", "avg", "min", "max", "count", "by", "without", "rate", "irate", "increase", "histogram_quantile",
    "topk", "bottomk", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "clamp_min",
    "clamp_max", "abs", "label_values", "offset", "bool", "quantile", "stddev", "delta", "deriv", "time",
    "vector", "scalar", "avg_over_time", "max_over_time", "min_over_time", "sum_over_time", "absent",
}


def metric_names(expr):
    """The metric names an expression uses: identifiers outside strings,
    label matchers ({...}), ranges ([...]) and by/without lists."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    names = set()
    for m in re.finditer(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)", e):
        w = m.group(1)
        if w in PROMQL_WORDS or re.fullmatch(r"\d.*|e\d+|Inf|NaN", w):
            continue
        names.add(w)
    return names


def exported(types, samples):
    """Every name a PromQL expression may use: families, with histograms'
    _bucket/_sum/_count, and every sample name seen."""
    out = {n for n, _, _ in samples}
    for fam, kind in types.items():
        out.add(fam)
        if kind == "histogram":
            out |= {fam + "_bucket", fam + "_sum", fam + "_count"}
    return out


def main():
    # 1. the alert rules
    r = subprocess.run([PROMTOOL, "check", "rules", os.path.join(OPS, "medius-alerts.yml")], capture_output=True,
                       text=True)
    check(r.returncode == 0 and "3 rules found" in r.stdout, f"promtool check rules: {r.stdout.strip()} {r.stderr.strip()}")
    r = subprocess.run([PROMTOOL, "test", "rules", "medius-alerts.test.yml"], capture_output=True, text=True, cwd=OPS)
    check(r.returncode == 0 and "SUCCESS" in r.stdout, f"promtool test rules: {r.stdout.strip()} {r.stderr.strip()}")

    # the listener's configuration: a busy port stops mediusd (71), a bad address is a configuration error (78)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    r = subprocess.run([MEDIUSD, "-l", f"127.0.0.1:{free_port()}", "-o", f"http.listen=127.0.0.1:{busy.getsockname()[1]}"],
                       capture_output=True, text=True, timeout=60)
    busy.close()
    check(r.returncode == 71 and "http.listen" in r.stderr, f"[http] listen on a busy port: exit {r.returncode} (71)")
    # --check-config validates and starts nothing (exit 1 on an error);
    # --dump-config prints the effective configuration
    r = subprocess.run([MEDIUSD, "-o", "http.listen=nonsense", "--check-config"], capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and "http.listen" in r.stderr, f"[http] listen = nonsense: exit {r.returncode} (1)")
    r = subprocess.run([MEDIUSD, "--dump-config"], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and "[http]\nlisten = \n" in r.stdout, "--dump-config shows [http] with listen empty (off)")

    # 2. a real scrape during a call and a conference
    with HttpDaemon() as d:
        a, b, p1, p2 = Party(), Party(), Party(tone_frames(440)), Party()
        media = Media().start()
        call(d.port, "ops-call", a, b, "clinic-a", "clinic-b")
        ng(d.port, command="create room", conference="ops-room")
        conference_party(d.port, "ops-room", "ops-p1", p1, "clinic-a")
        conference_party(d.port, "ops-room", "ops-p2", p2, "clinic-b")
        media.add(a, b, p1, p2)
        time.sleep(3)
        st, body, hdr = get(d.http, "/metrics")
        text = body.decode()
        media.stop()
    check(st == 200 and hdr.get("content-type", "").startswith("text/plain; version=0.0.4"),
          f"/metrics: 200, text/plain version 0.0.4 ({st}, {hdr.get('content-type')})")
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True)
    check(r.returncode == 0, f"promtool check metrics on a real scrape: {(r.stdout + r.stderr).decode().strip()[:500]}")
    samples, types = parse_metrics(text)
    names = exported(types, samples)
    print(f"     the scrape: {len(types)} families, {len(samples)} samples")
    # every series is labelled by site but for the daemon's own, the workers'
    # ng's and the recorders' totals (documented in docs/operations.md#sites)
    unsited = ("medius_build_info", "medius_start_time_seconds", "medius_metrics_collect_seconds",
               "medius_managed_sessions_total", "medius_timeout_sessions_total", "medius_deleted_sessions_total",
               "medius_worker_", "medius_clock_", "medius_ng_", "medius_http_", "medius_recording", "medius_limit_",
               "medius_memory_")
    bad = sorted({n for n, l, _ in samples if "site" not in l and not n.startswith(unsited)})
    check(not bad, f"every other series has a site label ({bad})")
    sites = {l["site"] for _, l, _ in samples if "site" in l}
    check({"clinic-a", "clinic-b", "default"} <= sites, f"sites in the scrape ({sorted(sites)})")
    for fam in ("medius_conferences", "medius_participants", "medius_talkers"):
        v = {l["site"]: x for n, l, x in samples if n == fam}
        check(v.get("clinic-a") == 1, f"{fam}{{site=clinic-a}} == 1 ({v})")
    check({l["site"]: x for n, l, x in samples if n == "medius_participants"}.get("clinic-b") == 1,
          "one participant at clinic-b")

    # 3. the dashboard
    try:
        dash = json.load(open(os.path.join(OPS, "grafana-medius.json")))
    except ValueError as e:
        check(False, f"grafana-medius.json parses: {e}")
        finish()
    exprs = [t["expr"] for p in dash.get("panels", []) for t in p.get("targets", [])]
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query" and q:
            exprs.append(re.sub(r"^label_values\((.*?)(,[^,()]*)?\)$", r"\1", q))
    check(len(dash.get("panels", [])) >= 10 and len(exprs) >= 15,
          f"the dashboard has panels and PromQL ({len(dash.get('panels', []))} panels, {len(exprs)} expressions)")
    used = set()
    for e in exprs:
        ns = metric_names(e)
        used |= ns
        missing = ns - names
        check(ns and not missing, f"dashboard: {e[:90]}: every metric exported ({sorted(ns)}; missing {sorted(missing)})")
    rules = open(os.path.join(OPS, "medius-alerts.yml")).read()
    for e in re.findall(r"expr: >?\s*\n?((?:.+\n?)+?)\s+for:", rules):
        ns = metric_names(" ".join(e.split()))
        check(ns and not (ns - names), f"alert rule: {' '.join(e.split())[:90]}: metrics exported ({sorted(ns)})")
    check(metric_names('sum(rate(medius_no_such_metric[1m])) by (site)') - names == {"medius_no_such_metric"},
          "the checker notices a metric mediusd does not export")
    print(f"     the dashboard uses {len(used)} metrics: {', '.join(sorted(used))}")
    finish()


if __name__ == "__main__":
    main()
