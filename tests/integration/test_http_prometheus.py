"""mediusd's /metrics scraped by a real Prometheus, and the shipped alert
rules firing in it (control/ctl_metrics.c, docs/ops/medius-alerts.yml).

  1. Three relayed calls with media: one inside site clinic-a (the offer's
     and the answer's ng metadata say site:clinic-a), one from clinic-b to
     clinic-a whose clinic-b party loses every 20th packet on its way to
     medius (5%), one with no site in its metadata (its parties are at the
     interface's site, "default"), one from clinic-j to clinic-a whose
     clinic-j party holds each packet back 0-200 ms (jitter ~70 ms, well
     over the rule's 30 ms: RFC 3550's estimate of 40 ms wanders below 30
     often enough to restart the rule's "for:"; the packets come out of
     order, and none of them counts as lost).
  2. A Prometheus started here (free loopback port, temp config and
     storage, scrape and rule evaluation every second) scrapes mediusd:
     its query API returns medius_sessions per site, received packets per
     site, per-command ng counters, worker and interface series.
  3. The loss rate Prometheus computes per site from medius's counters is
     5% at clinic-b and 0 at clinic-a; the shipped rule MediusSitePacketLoss
     (a test copy with "for: 15s" instead of "for: 1m", nothing else
     changed) fires for clinic-b and not elsewhere; the jitter Prometheus
     reads is over 30 ms at clinic-j only, and MediusSiteJitter fires for
     clinic-j only; no other alert (MediusSiteLowMOS none: the estimated
     MOS stays above 3.6 with 5% loss or 70 ms of jitter).
"""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from medius_test import check, finish, ng  # noqa: E402
from http_test import (HttpDaemon, Media, Party, Prometheus, alert_rules_test_copy, call, scrape,  # noqa: E402
                       value)


def wait(pred, timeout, step=0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = pred()
        if r:
            return r
        time.sleep(step)
    return pred()


def main():
    tmp = tempfile.mkdtemp(prefix="medius-http-prom-")
    rules, n_for = alert_rules_test_copy(tmp)
    check(n_for == 3, f"the test copy of the alert rules changes the three 'for: 1m' ({n_for})")
    with HttpDaemon() as d:
        a1, b1 = Party(), Party()
        a2, b2 = Party(drop_every=20), Party()   # clinic-b's party loses 5% on the way in
        a3, b3 = Party(), Party()
        a4, b4 = Party(delay_ticks=10), Party()  # clinic-j's party: each packet 0-200 ms late (jitter ~70 ms)
        media = Media().start()
        for cid, (a, b), sites in (("calm", (a1, b1), ("clinic-a", "clinic-a")),
                                   ("lossy", (a2, b2), ("clinic-b", "clinic-a")),
                                   ("plain", (a3, b3), (None, None)),
                                   ("jittery", (a4, b4), ("clinic-j", "clinic-a"))):
            o, r = call(d.port, cid, a, b, *sites)
            check(o.get("result") == "ok" and r.get("result") == "ok", f"call {cid}: offer and answer ok")
            media.add(a, b)
        ng(d.port, command="query", call_id="no-such-call")  # one ng error, counted under its command
        with Prometheus([d.http], [rules]) as prom:
            up = wait(lambda: prom.query('up{job="medius"}') and prom.query('up{job="medius"}')[0][1] == 1, 20)
            check(bool(up), "Prometheus scrapes mediusd (up == 1)")
            sess = wait(lambda: {m["site"]: v for m, v in prom.query("medius_sessions") if v > 0}, 15)
            check(sess == {"clinic-a": 1, "clinic-b": 1, "default": 1, "clinic-j": 1},
                  f"medius_sessions by site: one call each at clinic-a, clinic-b, clinic-j, default ({sess})")
            rx = wait(lambda: {m["site"]: v for m, v in
                               prom.query('medius_packets_total{direction="rx"}') if v > 100}, 15)
            check(set(rx) == {"clinic-a", "clinic-b", "clinic-j", "default"}, f"received packets counted per site ({rx})")
            q = wait(lambda: prom.query('medius_ng_requests_total{command="offer"}'), 5)
            check(bool(q) and q[0][1] == 4, f"medius_ng_requests_total{{command=offer}} == 4 ({q})")
            q = prom.query('medius_ng_errors_total{command="query"}')
            check(bool(q) and q[0][1] == 1, f"medius_ng_errors_total{{command=query}} == 1 ({q})")
            q = prom.query('medius_ng_errors_total{command="offer"}')
            check(bool(q) and q[0][1] == 0, f"no offer errors ({q})")
            q = prom.query("medius_worker_packets_total")
            check(len(q) >= 2 and all("worker" in m for m, _ in q), f"per-worker packet series ({len(q)})")
            q = prom.query('medius_drops_total{interface="default"}')
            check(len(q) > 5 and all(m.get("site") == "default" and m.get("reason") for m, _ in q),
                  f"drops by reason of interface default, labelled with its site ({len(q)} series)")
            q = prom.query('medius_interface_packets_total{interface="default",direction="rx"}')
            tot_rx = sum(rx.values()) if rx else 0
            check(len(q) == 1 and q[0][0].get("site") == "default" and q[0][1] >= tot_rx * 0.9,
                  f"RTP through interface default counted, under its own site ({q}; sites' rx {tot_rx})")
            q = prom.query("medius_mos_count")
            check({m["site"] for m, v in q if v > 0} == {"clinic-a", "clinic-b", "clinic-j", "default"},
                  f"MOS histogram observed per site ({q})")

            loss_q = ("sum by (site) (rate(medius_packets_lost_total[1m]))"
                      " / sum by (site) (rate(medius_packets_expected_total[1m]))")
            time.sleep(5)
            loss = {m["site"]: v for m, v in prom.query(loss_q)}
            check(0.035 <= loss.get("clinic-b", 0) <= 0.065, f"loss rate at clinic-b ~5% ({loss.get('clinic-b')})")
            check(loss.get("clinic-a", 1) == 0 and loss.get("default", 1) == 0 and loss.get("clinic-j", 1) == 0,
                  f"no loss at clinic-a, clinic-j and default ({loss})")
            jit = {m["site"]: v for m, v in prom.query("avg by (site) (medius_site_jitter_seconds)")}
            check(jit.get("clinic-j", 0) > 0.030 and all(v < 0.010 for k, v in jit.items() if k != "clinic-j"),
                  f"jitter over 30 ms at clinic-j only ({ {k: round(v * 1000, 1) for k, v in jit.items()} } ms)")

            def firing():
                return [a for a in prom.alerts() if a["labels"]["alertname"] == "MediusSitePacketLoss"
                        and a["state"] == "firing"]
            t0 = time.time()
            fired = wait(firing, 90, 1)
            sites = sorted(a["labels"].get("site") for a in fired)
            check(sites == ["clinic-b"], f"MediusSitePacketLoss fires for clinic-b only ({sites}, "
                  f"{time.time() - t0:.0f} s after the loss was measured)")
            fired_j = wait(lambda: [a for a in prom.alerts() if a["labels"]["alertname"] == "MediusSiteJitter"
                                    and a["state"] == "firing"], 30, 1)
            sites = sorted(a["labels"].get("site") for a in fired_j)
            check(sites == ["clinic-j"], f"MediusSiteJitter fires for clinic-j only ({sites})")
            other = [(a["labels"]["alertname"], a["labels"].get("site")) for a in prom.alerts()
                     if (a["labels"]["alertname"], a["labels"].get("site")) not in
                     (("MediusSitePacketLoss", "clinic-b"), ("MediusSiteJitter", "clinic-j"))]
            check(not other, f"no other alert, MediusSiteLowMOS none ({other})")
            if fired:
                print("     annotation: " + fired[0]["annotations"].get("summary", ""))
        media.stop()
        s, _ = scrape(d.http)
        check(value(s, "medius_packets_lost_total", site="clinic-b") >= a2.dropped * 0.8,
              f"medius_packets_lost_total at clinic-b ({value(s, 'medius_packets_lost_total', site='clinic-b')}) "
              f"counts the {a2.dropped} packets the sender dropped (bar the last second)")
        check(b1.received > 0 and a1.received > 0, "the calm call's media was relayed")
    finish()


if __name__ == "__main__":
    main()
