/* SPDX-License-Identifier: MIT
 * ctl_alert_run: the daemon's per-site alerts (see ctl_alert.h). On the
 * control lcore's 1 Hz timer it samples every relayed leg's counters
 * (dp_leg_get_stats: a copy of what the worker publishes; nothing runs on
 * the worker), feeds the engine, and turns its events into log lines,
 * entries of the ng "alerts" command and webhook POSTs (ctl_webhook).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_alert.h"
#include "ctl_call_int.h"
#include "ctl_ng_args.h"
#include "ctl_quality.h"
#include "ctl_val.h"
#include "ctl_webhook.h"
#include "dp.h"

static struct {
	struct ctl_alerts *eng;
	struct ctl_webhook *hook;
	struct dp_log_rl rl[CTL_ALERT__N][2]; /* per metric, raised / cleared */
	char host[64];
	uint64_t now_ms;
} g;

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct ctl_webhook *make_hook(const struct ctl_alert_conf *c);

int ctl_alerts_start(const struct ctl_alert_conf *c, const char *const *ifaces, unsigned n_ifaces)
{
	if (!c->enabled)
		return 0;
	g.eng = ctl_alerts_new(c);
	if (!g.eng) {
		dp_log(DP_LOG_ERR, "alerts", "no memory for the alerts");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n_ifaces; i++)
		if (ctl_alerts_add_site(g.eng, ifaces[i]))
			dp_log(DP_LOG_WARNING, "alerts", "interface %s: not tracked as a site", ifaces[i]);
	if (gethostname(g.host, sizeof(g.host)))
		snprintf(g.host, sizeof(g.host), "medius");
	g.host[sizeof(g.host) - 1] = '\0';
	if (c->webhook_url[0]) {
		g.hook = make_hook(c);
		if (!g.hook) {
			ctl_alerts_free(g.eng);
			g.eng = NULL;
			return -EINVAL;
		}
	}
	dp_log(DP_LOG_INFO, "alerts",
	       "per-site alerts: MOS < %g for %u s, loss > %g %% for %u s, jitter > %g ms for %u s (window %u s)%s",
	       c->mos_below, c->mos_for_s, c->loss_above_pct, c->loss_for_s, c->jitter_above_ms, c->jitter_for_s,
	       c->window_s, c->webhook_url[0] ? ", webhook on" : "");
	return 0;
}

static struct ctl_webhook *make_hook(const struct ctl_alert_conf *c)
{
	struct ctl_webhook_conf wc = {
		.name = "alerts",
		.url = c->webhook_url,
		.timeout_ms = c->webhook_timeout_ms,
		.attempts = c->webhook_attempts,
		.backoff_ms = c->webhook_backoff_ms,
		.backoff_max_ms = 60000,
		.queue_max = c->webhook_queue,
	};
	char err[256];
	struct ctl_webhook *w = ctl_webhook_create(&wc, err, sizeof(err));

	if (!w)
		dp_log(DP_LOG_ERR, "alerts", "%s", err);
	return w;
}

int ctl_alerts_reload(const struct ctl_alert_conf *c)
{
	const struct ctl_alert_conf *old;
	bool hook_same;

	if (!g.eng || !c->enabled) {
		if (!g.eng != !c->enabled)
			dp_log(DP_LOG_WARNING, "alerts", "alerts.enabled changes at the next restart");
		return 0;
	}
	old = ctl_alerts_conf(g.eng);
	hook_same = !strcmp(old->webhook_url, c->webhook_url) && old->webhook_timeout_ms == c->webhook_timeout_ms &&
		    old->webhook_attempts == c->webhook_attempts && old->webhook_backoff_ms == c->webhook_backoff_ms &&
		    old->webhook_queue == c->webhook_queue;
	if (!hook_same) {
		struct ctl_webhook *w = c->webhook_url[0] ? make_hook(c) : NULL;

		if (c->webhook_url[0] && !w)
			return -EINVAL; /* the old webhook and configuration stay */
		ctl_webhook_retire(g.hook, old->webhook_timeout_ms); /* never waits on the control lcore */
		g.hook = w;
	}
	if (ctl_alerts_set_conf(g.eng, c))
		dp_log(DP_LOG_WARNING, "alerts", "alerts.window_s and alerts.events_kept change at the next restart");
	dp_log(DP_LOG_INFO, "alerts", "reloaded: MOS < %g for %u s, loss > %g %% for %u s, jitter > %g ms for %u s",
	       c->mos_below, c->mos_for_s, c->loss_above_pct, c->loss_for_s, c->jitter_above_ms, c->jitter_for_s);
	return 0;
}

void ctl_alerts_stop(void)
{
	ctl_webhook_destroy(g.hook, g.eng ? ctl_alerts_conf(g.eng)->webhook_timeout_ms : 0);
	g.hook = NULL;
	ctl_alerts_free(g.eng);
	g.eng = NULL;
}

/* ---- sampling ---- */

static void sample_leg(struct call *k, struct branch *b, struct stream *st, int side)
{
	struct dp_leg *leg = st->leg[side];
	__typeof__(st->alert_seen[0]) *seen = &st->alert_seen[side];
	struct ctl_alert_sample x;
	struct dp_leg_stats ls;
	uint32_t base_e = 0, base_l = 0;
	double loss;

	if (!leg || dp_leg_get_stats(leg, &ls))
		return;
	if (seen->leg == leg && seen->ssrc == ls.ssrc && ls.expected >= seen->expected) {
		base_e = seen->expected;
		base_l = seen->lost;
	} /* else a new leg or a new source (its counters start again): all of them count */
	seen->leg = leg;
	seen->ssrc = ls.ssrc;
	seen->expected = ls.expected;
	seen->lost = ls.lost_final; /* lost for good: a late packet is not a loss */
	if (ls.expected <= base_e)
		return; /* nothing received: no sample */
	x.expected = ls.expected - base_e;
	x.lost = ls.lost_final > base_l ? ls.lost_final - base_l : 0;
	x.jitter_ms = ls.jitter_ms;
	loss = 100.0 * (x.lost > x.expected ? x.expected : x.lost) / x.expected;
	x.mos = ctl_mos_estimate(st->xcoded ? st->xfmt[side].codec : st->fmt_known ? st->fmt.codec : CDC_PCMU, loss,
				 (ls.rtt_ms > 0 ? ls.rtt_ms / 2.0 : 0) + 2 * ls.jitter_ms + 20);
	ctl_alerts_sample(g.eng, ctl_site_of_leg(k, b, side), g.now_ms, &x);
}

static void sample_call(struct call *k, void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < k->n_br; i++)
		for (unsigned j = 0; j < k->br[i]->n; j++) {
			struct stream *st = &k->br[i]->st[j];

			if (!st->active)
				continue;
			for (int side = 0; side < 2; side++)
				sample_leg(k, k->br[i], st, side);
		}
}

/* ---- events ---- */

static void put_num(struct ctl_buf *b, bool have, double v)
{
	if (have)
		ctl_buf_printf(b, "%.2f", v);
	else
		ctl_buf_printf(b, "null");
}

static void on_event(void *ctx, const struct ctl_alert_event *e)
{
	const char *metric = ctl_alert_metric_name(e->metric), *unit = ctl_alert_metric_unit(e->metric);
	const struct ctl_alert_conf *c = ctl_alerts_conf(g.eng);
	struct ctl_buf b = { 0 };
	char val[32];

	(void)ctx;
	if (e->have_value)
		snprintf(val, sizeof(val), "%.2f%s%s", e->value, *unit ? " " : "", unit);
	else
		snprintf(val, sizeof(val), "no data");
	if (e->raised)
		dp_log_rl(&g.rl[e->metric][0], DP_LOG_WARNING, "alerts",
			  "alert %llu raised: site %s: %s %s, %s %.2f%s%s for %u s (%u streams)",
			  (unsigned long long)e->alert_id, e->site, metric, val,
			  e->metric == CTL_ALERT_MOS ? "below" : "above", e->threshold, *unit ? " " : "", unit, e->for_s,
			  e->streams);
	else
		dp_log_rl(&g.rl[e->metric][1], DP_LOG_NOTICE, "alerts",
			  "alert %llu cleared: site %s: %s %s (clear threshold %.2f) for %u s; worst %.2f",
			  (unsigned long long)e->alert_id, e->site, metric, val, e->threshold, e->for_s, e->worst);
	if (!g.hook)
		return;
	ctl_buf_printf(&b, "{\"type\":\"medius.alert\",\"event\":\"%s\",\"alert_id\":%llu,\"seq\":%llu,\"host\":",
		       e->raised ? "raised" : "cleared", (unsigned long long)e->alert_id, (unsigned long long)e->seq);
	ctl_json_put_str(&b, g.host);
	ctl_buf_printf(&b, ",\"site\":");
	ctl_json_put_str(&b, e->site);
	ctl_buf_printf(&b, ",\"metric\":\"%s\",\"unit\":\"%s\",\"value\":", metric, unit);
	put_num(&b, e->have_value, e->value);
	ctl_buf_printf(&b, ",\"threshold\":%.2f,\"raise_threshold\":%.2f,\"clear_threshold\":%.2f,\"worst\":%.2f",
		       e->threshold,
		       e->metric == CTL_ALERT_MOS ? c->mos_below : e->metric == CTL_ALERT_LOSS ? c->loss_above_pct
											 : c->jitter_above_ms,
		       e->metric == CTL_ALERT_MOS    ? c->mos_clear_above
		       : e->metric == CTL_ALERT_LOSS ? c->loss_clear_below_pct
						     : c->jitter_clear_below_ms,
		       e->worst);
	ctl_buf_printf(&b, ",\"for_s\":%u,\"window_s\":%u,\"streams\":%u,\"time\":", e->for_s, c->window_s, e->streams);
	ctl_json_put_time(&b, e->at_wall_ms);
	ctl_buf_printf(&b, ",\"raised_at\":");
	ctl_json_put_time(&b, e->raised_wall_ms);
	ctl_buf_printf(&b, ",\"cleared_at\":");
	if (e->cleared_wall_ms)
		ctl_json_put_time(&b, e->cleared_wall_ms);
	else
		ctl_buf_printf(&b, "null");
	ctl_buf_putc(&b, '}');
	if (!b.err)
		ctl_webhook_post(g.hook, b.p, b.len);
	ctl_buf_free(&b);
}

struct ctl_alerts *ctl_alerts_get(void) { return g.eng; }

void ctl_alerts_tick(struct ctl_calls *calls, uint64_t now_ms)
{
	if (!g.eng)
		return;
	g.now_ms = now_ms;
	ctl_calls_foreach(calls, sample_call, NULL);
	ctl_alerts_eval(g.eng, now_ms, wall_ms(), on_event, NULL);
}

/* ---- ng "alerts" ---- */

static void add_dec(struct ctl_arena *a, struct ctl_val *d, const char *key, bool have, double v)
{
	char *s = ctl_arena_alloc(a, 24);

	if (!s)
		return;
	if (have)
		snprintf(s, 24, "%.2f", v);
	else
		s[0] = '\0';
	ctl_dict_add_cstr(a, d, key, s);
}

static void add_time(struct ctl_arena *a, struct ctl_val *d, const char *key, uint64_t ms)
{
	struct ctl_buf b = { 0 };

	if (!ms)
		return;
	ctl_json_put_time(&b, ms);
	if (!b.err && b.len >= 2) /* without the quotes */
		ctl_dict_add(d, key, strlen(key), ctl_val_strdup(a, b.p + 1, b.len - 2));
	ctl_buf_free(&b);
}

static struct ctl_val *thresholds(struct ctl_arena *a, const struct ctl_alert_conf *c)
{
	struct ctl_val *d = ctl_val_dict(a);

	if (!d)
		return NULL;
	add_dec(a, d, "mos below", true, c->mos_below);
	ctl_dict_add_int(a, d, "mos for s", c->mos_for_s);
	add_dec(a, d, "mos clear above", true, c->mos_clear_above);
	add_dec(a, d, "loss above pct", true, c->loss_above_pct);
	ctl_dict_add_int(a, d, "loss for s", c->loss_for_s);
	add_dec(a, d, "loss clear below pct", true, c->loss_clear_below_pct);
	add_dec(a, d, "jitter above ms", true, c->jitter_above_ms);
	ctl_dict_add_int(a, d, "jitter for s", c->jitter_for_s);
	add_dec(a, d, "jitter clear below ms", true, c->jitter_clear_below_ms);
	ctl_dict_add_int(a, d, "clear for s", c->clear_for_s);
	ctl_dict_add_int(a, d, "window s", c->window_s);
	ctl_dict_add_int(a, d, "min packets", c->min_packets);
	return d;
}

static struct ctl_val *webhook_report(struct ctl_arena *a)
{
	struct ctl_val *d = ctl_val_dict(a);
	struct ctl_webhook_stats ws;

	if (!d || !g.hook)
		return d;
	ctl_webhook_get_stats(g.hook, &ws);
	ctl_dict_add_int(a, d, "posted", (int64_t)ws.posted);
	ctl_dict_add_int(a, d, "delivered", (int64_t)ws.delivered);
	ctl_dict_add_int(a, d, "failed", (int64_t)ws.failed);
	ctl_dict_add_int(a, d, "dropped", (int64_t)ws.dropped);
	ctl_dict_add_int(a, d, "attempts", (int64_t)ws.attempts);
	ctl_dict_add_int(a, d, "retries", (int64_t)ws.retries);
	ctl_dict_add_int(a, d, "queued", ws.queued);
	ctl_dict_add_int(a, d, "last status", ws.last_status);
	if (ws.last_error[0])
		ctl_dict_add(d, "last error", 10, ctl_val_strdup(a, ws.last_error, strlen(ws.last_error)));
	return d;
}

static struct ctl_val *event_dict(struct ctl_arena *a, const struct ctl_alert_event *e)
{
	struct ctl_val *d = ctl_val_dict(a);

	if (!d)
		return NULL;
	ctl_dict_add_int(a, d, "seq", (int64_t)e->seq);
	ctl_dict_add_int(a, d, "alert id", (int64_t)e->alert_id);
	ctl_dict_add_cstr(a, d, "event", e->raised ? "raised" : "cleared");
	ctl_dict_add(d, "site", 4, ctl_val_strdup(a, e->site, strlen(e->site)));
	ctl_dict_add_cstr(a, d, "metric", ctl_alert_metric_name(e->metric));
	ctl_dict_add_cstr(a, d, "unit", ctl_alert_metric_unit(e->metric));
	add_dec(a, d, "value", e->have_value, e->value);
	add_dec(a, d, "threshold", true, e->threshold);
	add_dec(a, d, "worst", true, e->worst);
	ctl_dict_add_int(a, d, "for s", e->for_s);
	ctl_dict_add_int(a, d, "streams", e->streams);
	add_time(a, d, "at", e->at_wall_ms);
	add_time(a, d, "raised at", e->raised_wall_ms);
	add_time(a, d, "cleared at", e->cleared_wall_ms);
	return d;
}

int ctl_cmd_alerts(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_arena *a = ctl_ng_arena(r);
	struct ctl_val *reply = ctl_ng_reply(r), *active, *events, *sites;
	const char *only = ctl_arg_str(r, "site");
	struct ctl_alert_event ev[64];
	struct ctl_alert_counters cnt;
	uint64_t now = ctl_ng_now_ms(r);
	unsigned n;

	(void)ctx;
	ctl_dict_add_int(a, reply, "enabled", g.eng != NULL);
	if (!g.eng)
		return 0;
	active = ctl_val_list(a);
	events = ctl_val_list(a);
	sites = ctl_val_list(a);
	if (!active || !events || !sites)
		return ctl_ng_error(r, "Reply too large");
	for (unsigned i = 0; i < ctl_alerts_n_sites(g.eng); i++) {
		struct ctl_alert_site_view v;
		struct ctl_val *sd, *pending;

		if (ctl_alerts_site(g.eng, i, now, &v) || (only && strcmp(only, v.name)))
			continue;
		sd = ctl_val_dict(a);
		pending = ctl_val_list(a);
		if (!sd || !pending)
			return ctl_ng_error(r, "Reply too large");
		ctl_dict_add(sd, "name", 4, ctl_val_strdup(a, v.name, strlen(v.name)));
		ctl_dict_add_int(a, sd, "interface", v.permanent);
		ctl_dict_add_int(a, sd, "streams", v.streams);
		ctl_dict_add_int(a, sd, "expected", (int64_t)v.expected);
		ctl_dict_add_int(a, sd, "lost", (int64_t)v.lost);
		add_dec(a, sd, "loss pct", v.have[CTL_ALERT_LOSS], v.value[CTL_ALERT_LOSS]);
		add_dec(a, sd, "jitter ms", v.have[CTL_ALERT_JITTER], v.value[CTL_ALERT_JITTER]);
		add_dec(a, sd, "MOS", v.have[CTL_ALERT_MOS], v.value[CTL_ALERT_MOS]);
		for (int m = 0; m < CTL_ALERT__N; m++) {
			if (v.bad_since_ms[m] && !v.active[m]) /* bad, not for long enough yet */
				ctl_list_append(pending, ctl_val_cstr(a, ctl_alert_metric_name((enum ctl_alert_metric)m)));
			if (v.active[m]) {
				struct ctl_val *ad = ctl_val_dict(a);

				if (!ad)
					return ctl_ng_error(r, "Reply too large");
				ctl_dict_add_int(a, ad, "alert id", (int64_t)v.alert_id[m]);
				ctl_dict_add(ad, "site", 4, ctl_val_strdup(a, v.name, strlen(v.name)));
				ctl_dict_add_cstr(a, ad, "metric", ctl_alert_metric_name((enum ctl_alert_metric)m));
				ctl_dict_add_cstr(a, ad, "unit", ctl_alert_metric_unit((enum ctl_alert_metric)m));
				add_dec(a, ad, "value", v.have[m], v.value[m]);
				add_dec(a, ad, "worst", true, v.worst[m]);
				add_time(a, ad, "raised at", v.raised_wall_ms[m]);
				ctl_list_append(active, ad);
			}
		}
		ctl_dict_add(sd, "pending", 7, pending);
		ctl_list_append(sites, sd);
	}
	n = ctl_alerts_events(g.eng, ev, sizeof(ev) / sizeof(ev[0]));
	for (unsigned i = 0; i < n; i++)
		if (!only || !strcmp(only, ev[i].site))
			ctl_list_append(events, event_dict(a, &ev[i]));
	ctl_dict_add(reply, "active", 6, active);
	ctl_dict_add(reply, "events", 6, events);
	ctl_dict_add(reply, "sites", 5, sites);
	ctl_dict_add(reply, "thresholds", 10, thresholds(a, ctl_alerts_conf(g.eng)));
	ctl_alerts_counters(g.eng, &cnt);
	ctl_dict_add_int(a, reply, "raised", (int64_t)cnt.raised);
	ctl_dict_add_int(a, reply, "cleared", (int64_t)cnt.cleared);
	if (g.hook)
		ctl_dict_add(reply, "webhook", 7, webhook_report(a));
	return 0;
}
