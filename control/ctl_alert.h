/* SPDX-License-Identifier: MIT
 * ctl_alert: per-site quality alerts (issue 14): "when a site starts
 * degrading the operators see it before patients do".
 *
 * The engine (ctl_alert.c) has no clock and no I/O of its own, so it is
 * tested with an injected clock: the caller adds samples, one per leg per
 * timer tick (the packets the leg expected and lost since the previous
 * sample, its jitter and its estimated MOS), to the site the leg belongs to
 * (ctl_site.h), then evaluates. For each site it keeps one-second buckets
 * over a sliding window of window_s seconds and computes:
 *   loss   = lost / expected over the window, in percent;
 *   jitter = the packet-weighted mean of the legs' RFC 3550 jitter (ms);
 *   MOS    = the packet-weighted mean of the legs' per-sample MOS estimates;
 * each only when the window holds at least min_packets expected packets
 * (fewer: "no data"). An alert raises when its value has been on the bad
 * side of its threshold (MOS below, loss and jitter above) for its for_s,
 * without a break; it clears when the value has been on the good side of
 * its clear threshold (hysteresis: MOS at or above mos_clear_above, loss and
 * jitter at or below theirs), or there was no data, for clear_for_s. Each
 * raise and each clear is an event. Sites are independent.
 *
 * The daemon's glue (ctl_alert_run.c) runs it on the control lcore's 1 Hz
 * timer, never on a worker: collects the samples from the call model, logs
 * each event (rate-limited per alert), keeps recent events for the ng
 * command "alerts" and posts each event to [alerts] webhook_url
 * (ctl_webhook). docs/operations.md describes it all.
 */
#ifndef CTL_ALERT_H
#define CTL_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl_site.h"

enum ctl_alert_metric { CTL_ALERT_MOS, CTL_ALERT_LOSS, CTL_ALERT_JITTER, CTL_ALERT__N };
/* "mos", "loss", "jitter"; and the unit of the value: "", "%", "ms" */
const char *ctl_alert_metric_name(enum ctl_alert_metric m);
const char *ctl_alert_metric_unit(enum ctl_alert_metric m);

#define CTL_ALERT_WINDOW_MAX 600  /* seconds of window at most */
#define CTL_ALERT_SITES_MAX 256   /* sites tracked at once (beyond: counted, ignored) */

/* [alerts] (docs/config.md). Defaults match the Prometheus rules shipped
 * with medius: MOS < 3.6, loss > 2 %, jitter > 30 ms, each for 60 s. */
struct ctl_alert_conf {
	uint32_t enabled;                 /* 0: no sampling, no alerts */
	double mos_below, mos_clear_above;
	double loss_above_pct, loss_clear_below_pct;
	double jitter_above_ms, jitter_clear_below_ms;
	uint32_t mos_for_s, loss_for_s, jitter_for_s;
	uint32_t clear_for_s;
	uint32_t window_s;                /* 1..CTL_ALERT_WINDOW_MAX */
	uint32_t min_packets;             /* in the window, for a value */
	uint32_t events_kept;             /* recent events the ng command shows */
	char webhook_url[512];            /* "": no webhook */
	uint32_t webhook_timeout_ms;      /* per attempt */
	uint32_t webhook_attempts;        /* per event, first one included */
	uint32_t webhook_backoff_ms;      /* before the first retry; doubles each time */
	uint32_t webhook_queue;           /* events waiting at most; a full queue drops the oldest */
};

void ctl_alert_conf_defaults(struct ctl_alert_conf *c);
/* One key of [alerts]. 0, -ENOENT (unknown key) or -EINVAL, err set. */
int ctl_alert_conf_set(struct ctl_alert_conf *c, const char *key, const char *value, char *err, size_t errlen);
/* Checks across keys (clear thresholds on the good side of the raise ones,
 * an http:// or https:// URL). 0 or -EINVAL, err set. */
int ctl_alert_conf_check(const struct ctl_alert_conf *c, char *err, size_t errlen);
/* The section as INI text. */
void ctl_alert_conf_dump(const struct ctl_alert_conf *c, FILE *out);

/* ---- the engine ---- */

struct ctl_alert_sample {
	uint32_t expected, lost;  /* packets since the leg's previous sample */
	double jitter_ms;         /* the leg's jitter now */
	double mos;               /* its MOS estimate for this sample's loss */
};

struct ctl_alert_event {
	uint64_t seq;             /* every event, 1, 2, ... */
	uint64_t alert_id;        /* a raise and its clear share it */
	char site[CTL_SITE_MAX];
	enum ctl_alert_metric metric;
	bool raised;              /* false: cleared */
	bool have_value;          /* false: cleared for lack of data */
	double value;             /* the window's value at the event */
	double threshold;         /* raise: the raise threshold; clear: the clear threshold */
	double worst;             /* the worst window value while raised */
	uint32_t for_s;           /* how long the condition had held */
	uint32_t streams;         /* legs sampled in the window at the event */
	uint64_t at_wall_ms, raised_wall_ms, cleared_wall_ms; /* CLOCK_REALTIME ms; cleared 0 while active */
};

/* A site's state now, for reports. */
struct ctl_alert_site_view {
	const char *name;
	bool permanent;                /* an interface: kept while idle */
	uint64_t expected, lost;       /* over the window */
	uint32_t streams;              /* legs sampled for the last evaluation */
	bool have[CTL_ALERT__N];
	double value[CTL_ALERT__N];
	bool active[CTL_ALERT__N];
	uint64_t alert_id[CTL_ALERT__N], raised_wall_ms[CTL_ALERT__N];
	double worst[CTL_ALERT__N];
	uint64_t bad_since_ms[CTL_ALERT__N]; /* monotonic ms the value went bad, 0 none (pending alerts) */
};

struct ctl_alert_counters {
	uint64_t raised, cleared, samples, sites_overflow;
};

struct ctl_alerts;
typedef void (*ctl_alert_event_fn)(void *ctx, const struct ctl_alert_event *ev);

/* NULL on no memory. The configuration is copied. */
struct ctl_alerts *ctl_alerts_new(const struct ctl_alert_conf *c);
void ctl_alerts_free(struct ctl_alerts *a);
/* A site that is always listed (an interface). 0, -EINVAL, -ENOSPC. */
int ctl_alerts_add_site(struct ctl_alerts *a, const char *site);
/* One leg's sample at now_ms (monotonic) for site. */
void ctl_alerts_sample(struct ctl_alerts *a, const char *site, uint64_t now_ms, const struct ctl_alert_sample *s);
/* Evaluate every site at now_ms (monotonic; wall_ms is CLOCK_REALTIME for
 * the events' timestamps): fn (may be NULL) gets each raise and clear, in
 * order, and each is kept among the recent events. Sites that are not
 * permanent, have no active alert and had no sample for 10 minutes (or
 * the window, if longer) are forgotten. */
void ctl_alerts_eval(struct ctl_alerts *a, uint64_t now_ms, uint64_t wall_ms, ctl_alert_event_fn fn, void *ctx);
/* Sites, 0..n-1 (the order is stable between evaluations). */
unsigned ctl_alerts_n_sites(const struct ctl_alerts *a);
int ctl_alerts_site(struct ctl_alerts *a, unsigned i, uint64_t now_ms, struct ctl_alert_site_view *out);
/* The recent events, oldest first: at most events_kept; returns how many
 * were copied into out (max of them, the newest). */
unsigned ctl_alerts_events(const struct ctl_alerts *a, struct ctl_alert_event *out, unsigned max);
void ctl_alerts_counters(const struct ctl_alerts *a, struct ctl_alert_counters *out);
const struct ctl_alert_conf *ctl_alerts_conf(const struct ctl_alerts *a);
/* New thresholds, for and clear times, min_packets and webhook keys from
 * c, at the next evaluation; alerts raised stay raised (and clear by the
 * new clear thresholds). window_s and events_kept keep their values
 * (returns 1 when c asks for others: they need a restart), else 0. */
int ctl_alerts_set_conf(struct ctl_alerts *a, const struct ctl_alert_conf *c);

/* ---- the daemon's alerts (ctl_alert_run.c), control lcore only ---- */
struct ctl_calls;
struct ctl_ng_req;
/* Start: the engine, the interfaces as permanent sites (names), the
 * webhook when configured. 0 or -errno (logged). */
int ctl_alerts_start(const struct ctl_alert_conf *c, const char *const *ifaces, unsigned n_ifaces);
/* From the control lcore's timer (about 1 Hz): sample every leg, evaluate. */
void ctl_alerts_tick(struct ctl_calls *calls, uint64_t now_ms);
/* A configuration reload (SIGHUP): ctl_alerts_set_conf, and a webhook
 * whose URL or settings changed is replaced (the old one drains what it
 * holds within its timeout on its own thread, ctl_webhook_retire). Turning alerts
 * on or off, window_s and events_kept need a restart (logged). 0 or
 * -errno. */
int ctl_alerts_reload(const struct ctl_alert_conf *c);
/* Stop: the webhook gets up to its timeout to deliver what is queued. */
void ctl_alerts_stop(void);
/* The daemon's engine, NULL when alerts are off: other reporters (the
 * Prometheus metrics) read its sites (ctl_alerts_site) and counters
 * from it. Control lcore. */
struct ctl_alerts *ctl_alerts_get(void);
/* ng "alerts": active alerts, recent events, sites, webhook counters. */
int ctl_cmd_alerts(struct ctl_ng_req *r, void *ctx);

#endif
