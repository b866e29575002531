/* SPDX-License-Identifier: MIT
 * ctl_alert: the per-site alert engine and its [alerts] configuration
 * (see ctl_alert.h). No clock, no I/O: ctl_alert_run.c drives it. */
#include "ctl_alert.h"
#include "ctl_ini.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* configuration                                                        */

enum { T_U32, T_DEC, T_STR };

struct akey {
	const char *name;
	int type;
	size_t off, size;
	double min, max;
};

#define AF(field) offsetof(struct ctl_alert_conf, field), sizeof(((struct ctl_alert_conf *)0)->field)

static const struct akey akeys[] = {
	{ "enabled", T_U32, AF(enabled), 0, 1 },
	{ "mos_below", T_DEC, AF(mos_below), 1, 4.5 },
	{ "mos_for_s", T_U32, AF(mos_for_s), 0, 86400 },
	{ "mos_clear_above", T_DEC, AF(mos_clear_above), 1, 4.5 },
	{ "loss_above_pct", T_DEC, AF(loss_above_pct), 0, 100 },
	{ "loss_for_s", T_U32, AF(loss_for_s), 0, 86400 },
	{ "loss_clear_below_pct", T_DEC, AF(loss_clear_below_pct), 0, 100 },
	{ "jitter_above_ms", T_DEC, AF(jitter_above_ms), 0, 10000 },
	{ "jitter_for_s", T_U32, AF(jitter_for_s), 0, 86400 },
	{ "jitter_clear_below_ms", T_DEC, AF(jitter_clear_below_ms), 0, 10000 },
	{ "clear_for_s", T_U32, AF(clear_for_s), 0, 86400 },
	{ "window_s", T_U32, AF(window_s), 1, CTL_ALERT_WINDOW_MAX },
	{ "min_packets", T_U32, AF(min_packets), 1, 1e9 },
	{ "events_kept", T_U32, AF(events_kept), 1, 10000 },
	{ "webhook_url", T_STR, AF(webhook_url), 0, 0 },
	{ "webhook_timeout_ms", T_U32, AF(webhook_timeout_ms), 100, 60000 },
	{ "webhook_attempts", T_U32, AF(webhook_attempts), 1, 100 },
	{ "webhook_backoff_ms", T_U32, AF(webhook_backoff_ms), 10, 600000 },
	{ "webhook_queue", T_U32, AF(webhook_queue), 1, 100000 },
};

void ctl_alert_conf_defaults(struct ctl_alert_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->enabled = 1;
	c->mos_below = 3.6;
	c->mos_clear_above = 3.8;
	c->loss_above_pct = 2;
	c->loss_clear_below_pct = 1.5;
	c->jitter_above_ms = 30;
	c->jitter_clear_below_ms = 25;
	c->mos_for_s = c->loss_for_s = c->jitter_for_s = 60;
	c->clear_for_s = 30;
	c->window_s = 10;
	c->min_packets = 100;
	c->events_kept = 100;
	c->webhook_timeout_ms = 5000;
	c->webhook_attempts = 5;
	c->webhook_backoff_ms = 1000;
	c->webhook_queue = 256;
}

int ctl_alert_conf_set(struct ctl_alert_conf *c, const char *key, const char *v, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(akeys) / sizeof(akeys[0]); i++) {
		const struct akey *k = &akeys[i];
		void *field = (char *)c + k->off;
		char *end;

		if (strcasecmp(k->name, key))
			continue;
		switch (k->type) {
		case T_U32: {
			unsigned long long n;

			errno = 0;
			n = strtoull(v, &end, 10);
			if (!*v || strspn(v, "0123456789") != strlen(v) || *end || errno || n < k->min || n > k->max) {
				snprintf(err, errlen, "alerts.%s: '%s' is not a whole number from %.0f to %.0f", k->name, v,
					 k->min, k->max);
				return -EINVAL;
			}
			*(uint32_t *)field = (uint32_t)n;
			return 0;
		}
		case T_DEC: {
			double d;

			errno = 0;
			d = strtod(v, &end);
			if (!*v || *end || errno || strspn(v, "0123456789.") != strlen(v) || !isfinite(d) ||
			    d < k->min || d > k->max) {
				snprintf(err, errlen, "alerts.%s: '%s' is not a number from %g to %g", k->name, v, k->min,
					 k->max);
				return -EINVAL;
			}
			*(double *)field = d;
			return 0;
		}
		default:
			if (strlen(v) >= k->size) {
				snprintf(err, errlen, "alerts.%s: value longer than %zu characters", k->name, k->size - 1);
				return -EINVAL;
			}
			strcpy(field, v);
			return 0;
		}
	}
	snprintf(err, errlen, "unknown key '%s' in section [alerts]", key);
	return -ENOENT;
}

int ctl_alert_conf_check(const struct ctl_alert_conf *c, char *err, size_t errlen)
{
	if (c->mos_clear_above < c->mos_below) {
		snprintf(err, errlen, "alerts.mos_clear_above (%g) is below alerts.mos_below (%g)", c->mos_clear_above,
			 c->mos_below);
		return -EINVAL;
	}
	if (c->loss_clear_below_pct > c->loss_above_pct) {
		snprintf(err, errlen, "alerts.loss_clear_below_pct (%g) is above alerts.loss_above_pct (%g)",
			 c->loss_clear_below_pct, c->loss_above_pct);
		return -EINVAL;
	}
	if (c->jitter_clear_below_ms > c->jitter_above_ms) {
		snprintf(err, errlen, "alerts.jitter_clear_below_ms (%g) is above alerts.jitter_above_ms (%g)",
			 c->jitter_clear_below_ms, c->jitter_above_ms);
		return -EINVAL;
	}
	if (c->webhook_url[0] && strncmp(c->webhook_url, "http://", 7) && strncmp(c->webhook_url, "https://", 8)) {
		snprintf(err, errlen, "alerts.webhook_url: '%s' is not an http:// or https:// URL", c->webhook_url);
		return -EINVAL;
	}
	return 0;
}

void ctl_alert_conf_dump(const struct ctl_alert_conf *c, FILE *out)
{
	fprintf(out, "\n[alerts]\n");
	for (size_t i = 0; i < sizeof(akeys) / sizeof(akeys[0]); i++) {
		const struct akey *k = &akeys[i];
		const void *field = (const char *)c + k->off;

		if (k->type == T_U32)
			fprintf(out, "%s = %u\n", k->name, *(const uint32_t *)field);
		else if (k->type == T_DEC)
			fprintf(out, "%s = %.15g\n", k->name, *(const double *)field);
		else
			ctl_ini_put(out, k->name, (const char *)field);
	}
}

/* ------------------------------------------------------------------ */
/* the engine                                                           */

const char *ctl_alert_metric_name(enum ctl_alert_metric m)
{
	return m == CTL_ALERT_MOS ? "mos" : m == CTL_ALERT_LOSS ? "loss" : "jitter";
}

const char *ctl_alert_metric_unit(enum ctl_alert_metric m)
{
	return m == CTL_ALERT_MOS ? "" : m == CTL_ALERT_LOSS ? "%" : "ms";
}

struct bucket {
	uint64_t sec;               /* which second it holds; 0: empty */
	uint64_t expected, lost;
	double jit_w, mos_w;        /* sums of value x expected */
	uint32_t samples;
};

struct alert {
	bool active;
	uint64_t bad_since, good_since;   /* monotonic ms + 1 (0: not) */
	uint64_t id, raised_wall;
	double worst;
};

struct site {
	char name[CTL_SITE_MAX];
	bool permanent;
	uint32_t sampled, streams;  /* samples since the last evaluation; at the last one */
	uint64_t last_sample_ms;
	struct alert al[CTL_ALERT__N];
	struct bucket b[];          /* window_s of them, by second */
};

struct ctl_alerts {
	struct ctl_alert_conf c;
	struct site *site[CTL_ALERT_SITES_MAX];
	unsigned n_sites;
	struct ctl_alert_event *ev; /* a ring of events_kept */
	unsigned ev_head, ev_n;
	uint64_t seq, next_id;
	struct ctl_alert_counters cnt;
	bool phased;
	uint64_t phase;             /* ms: the first sample's place in its second */
};

/* The one-second bucket of time t (+ 1: 0 marks an empty bucket). Buckets
 * are centred on the phase of the first sample, so a 1 Hz caller whose
 * ticks wander by up to +-0.5 s still puts one tick in each. */
static uint64_t second_of(struct ctl_alerts *a, uint64_t t)
{
	if (!a->phased) {
		a->phased = true;
		a->phase = t % 1000;
	}
	return (t + 1500 - a->phase) / 1000;
}

struct ctl_alerts *ctl_alerts_new(const struct ctl_alert_conf *c)
{
	struct ctl_alerts *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->c = *c;
	if (a->c.window_s < 1)
		a->c.window_s = 1;
	if (a->c.window_s > CTL_ALERT_WINDOW_MAX)
		a->c.window_s = CTL_ALERT_WINDOW_MAX;
	if (a->c.events_kept < 1)
		a->c.events_kept = 1;
	a->ev = calloc(a->c.events_kept, sizeof(*a->ev));
	if (!a->ev) {
		free(a);
		return NULL;
	}
	return a;
}

void ctl_alerts_free(struct ctl_alerts *a)
{
	if (!a)
		return;
	for (unsigned i = 0; i < a->n_sites; i++)
		free(a->site[i]);
	free(a->ev);
	free(a);
}

const struct ctl_alert_conf *ctl_alerts_conf(const struct ctl_alerts *a) { return &a->c; }

int ctl_alerts_set_conf(struct ctl_alerts *a, const struct ctl_alert_conf *c)
{
	uint32_t window_s = a->c.window_s, events_kept = a->c.events_kept;
	int restart = c->window_s != window_s || c->events_kept != events_kept;

	a->c = *c;
	a->c.window_s = window_s;
	a->c.events_kept = events_kept;
	return restart;
}

static struct site *find_site(struct ctl_alerts *a, const char *name, bool make)
{
	struct site *s;

	for (unsigned i = 0; i < a->n_sites; i++)
		if (!strcmp(a->site[i]->name, name))
			return a->site[i];
	if (!make)
		return NULL;
	if (a->n_sites == CTL_ALERT_SITES_MAX || strlen(name) >= CTL_SITE_MAX) {
		a->cnt.sites_overflow++;
		return NULL;
	}
	s = calloc(1, sizeof(*s) + a->c.window_s * sizeof(struct bucket));
	if (!s)
		return NULL;
	strcpy(s->name, name);
	a->site[a->n_sites++] = s;
	return s;
}

int ctl_alerts_add_site(struct ctl_alerts *a, const char *name)
{
	struct site *s;

	if (!*name || strlen(name) >= CTL_SITE_MAX)
		return -EINVAL;
	s = find_site(a, name, true);
	if (!s)
		return -ENOSPC;
	s->permanent = true;
	return 0;
}

void ctl_alerts_sample(struct ctl_alerts *a, const char *name, uint64_t now_ms, const struct ctl_alert_sample *x)
{
	struct site *s = find_site(a, name, true);
	uint64_t sec = second_of(a, now_ms);
	struct bucket *b;

	if (!s)
		return;
	a->cnt.samples++;
	s->sampled++;
	s->last_sample_ms = now_ms;
	b = &s->b[sec % a->c.window_s];
	if (b->sec != sec)
		memset(b, 0, sizeof(*b)), b->sec = sec;
	b->expected += x->expected;
	b->lost += x->lost > x->expected ? x->expected : x->lost;
	b->jit_w += x->jitter_ms * x->expected;
	b->mos_w += x->mos * x->expected;
	b->samples++;
}

/* The site's window at now_ms. */
static void window(struct ctl_alerts *a, const struct site *s, uint64_t now_ms, struct ctl_alert_site_view *v)
{
	uint64_t sec = second_of(a, now_ms);
	double jit_w = 0, mos_w = 0;

	v->expected = v->lost = 0;
	v->streams = s->streams;
	for (unsigned i = 0; i < a->c.window_s; i++) {
		const struct bucket *b = &s->b[i];

		if (!b->sec || b->sec > sec || b->sec + a->c.window_s <= sec)
			continue;
		v->expected += b->expected;
		v->lost += b->lost;
		jit_w += b->jit_w;
		mos_w += b->mos_w;
	}
	for (int m = 0; m < CTL_ALERT__N; m++)
		v->have[m] = v->expected >= a->c.min_packets && v->expected > 0;
	v->value[CTL_ALERT_LOSS] = v->expected ? 100.0 * (double)v->lost / (double)v->expected : 0;
	v->value[CTL_ALERT_JITTER] = v->expected ? jit_w / (double)v->expected : 0;
	v->value[CTL_ALERT_MOS] = v->expected ? mos_w / (double)v->expected : 0;
}

static void thresholds(const struct ctl_alert_conf *c, int m, double *raise, double *clear, uint32_t *for_s)
{
	switch (m) {
	case CTL_ALERT_MOS: *raise = c->mos_below, *clear = c->mos_clear_above, *for_s = c->mos_for_s; break;
	case CTL_ALERT_LOSS: *raise = c->loss_above_pct, *clear = c->loss_clear_below_pct, *for_s = c->loss_for_s; break;
	default: *raise = c->jitter_above_ms, *clear = c->jitter_clear_below_ms, *for_s = c->jitter_for_s; break;
	}
}

static void emit(struct ctl_alerts *a, struct ctl_alert_event *e, ctl_alert_event_fn fn, void *ctx)
{
	e->seq = ++a->seq;
	a->ev[(a->ev_head + a->ev_n) % a->c.events_kept] = *e;
	if (a->ev_n < a->c.events_kept)
		a->ev_n++;
	else
		a->ev_head = (a->ev_head + 1) % a->c.events_kept;
	if (e->raised)
		a->cnt.raised++;
	else
		a->cnt.cleared++;
	if (fn)
		fn(ctx, e);
}

static void eval_site(struct ctl_alerts *a, struct site *s, uint64_t now_ms, uint64_t wall_ms,
		      ctl_alert_event_fn fn, void *ctx)
{
	struct ctl_alert_site_view v;

	s->streams = s->sampled;
	s->sampled = 0;
	window(a, s, now_ms, &v);
	for (int m = 0; m < CTL_ALERT__N; m++) {
		struct alert *al = &s->al[m];
		double raise, clear, x = v.value[m];
		uint32_t for_s;
		bool low = m == CTL_ALERT_MOS, bad, good;
		struct ctl_alert_event e;

		thresholds(&a->c, m, &raise, &clear, &for_s);
		bad = v.have[m] && (low ? x < raise : x > raise);
		good = !v.have[m] || (low ? x >= clear : x <= clear);
		memset(&e, 0, sizeof(e));
		snprintf(e.site, sizeof(e.site), "%s", s->name);
		e.metric = (enum ctl_alert_metric)m;
		e.have_value = v.have[m];
		e.value = x;
		e.streams = v.streams;
		e.at_wall_ms = wall_ms;
		if (!al->active) {
			al->good_since = 0;
			if (!bad) {
				al->bad_since = 0;
				continue;
			}
			if (!al->bad_since)
				al->bad_since = now_ms + 1;
			if (now_ms + 1 - al->bad_since < (uint64_t)for_s * 1000)
				continue;
			al->active = true;
			al->id = ++a->next_id;
			al->raised_wall = wall_ms;
			al->worst = x;
			e.raised = true;
			e.threshold = raise;
			e.worst = x;
			e.for_s = (uint32_t)((now_ms + 1 - al->bad_since) / 1000);
			e.alert_id = al->id;
			e.raised_wall_ms = wall_ms;
			emit(a, &e, fn, ctx);
			continue;
		}
		if (v.have[m] && (low ? x < al->worst : x > al->worst))
			al->worst = x;
		if (!good) {
			al->good_since = 0;
			continue;
		}
		if (!al->good_since)
			al->good_since = now_ms + 1;
		if (now_ms + 1 - al->good_since < (uint64_t)a->c.clear_for_s * 1000)
			continue;
		e.raised = false;
		e.threshold = clear;
		e.worst = al->worst;
		e.for_s = (uint32_t)((now_ms + 1 - al->good_since) / 1000);
		e.alert_id = al->id;
		e.raised_wall_ms = al->raised_wall;
		e.cleared_wall_ms = wall_ms;
		al->active = false;
		al->bad_since = al->good_since = 0;
		emit(a, &e, fn, ctx);
	}
}

void ctl_alerts_eval(struct ctl_alerts *a, uint64_t now_ms, uint64_t wall_ms, ctl_alert_event_fn fn, void *ctx)
{
	uint64_t forget_ms = 600000;

	if ((uint64_t)a->c.window_s * 1000 > forget_ms)
		forget_ms = (uint64_t)a->c.window_s * 1000;
	for (unsigned i = 0; i < a->n_sites;) {
		struct site *s = a->site[i];
		bool active = false;

		eval_site(a, s, now_ms, wall_ms, fn, ctx);
		for (int m = 0; m < CTL_ALERT__N; m++)
			active |= s->al[m].active;
		if (!s->permanent && !active && now_ms >= s->last_sample_ms + forget_ms) {
			free(s);
			memmove(&a->site[i], &a->site[i + 1], (a->n_sites - i - 1) * sizeof(a->site[0]));
			a->n_sites--;
			continue;
		}
		i++;
	}
}

unsigned ctl_alerts_n_sites(const struct ctl_alerts *a) { return a->n_sites; }

int ctl_alerts_site(struct ctl_alerts *a, unsigned i, uint64_t now_ms, struct ctl_alert_site_view *v)
{
	const struct site *s;

	if (i >= a->n_sites)
		return -ENOENT;
	s = a->site[i];
	memset(v, 0, sizeof(*v));
	window(a, s, now_ms, v);
	v->name = s->name;
	v->permanent = s->permanent;
	for (int m = 0; m < CTL_ALERT__N; m++) {
		v->active[m] = s->al[m].active;
		v->alert_id[m] = s->al[m].active ? s->al[m].id : 0;
		v->raised_wall_ms[m] = s->al[m].active ? s->al[m].raised_wall : 0;
		v->worst[m] = s->al[m].worst;
		if (v->active[m] && v->have[m] && (m == CTL_ALERT_MOS ? v->value[m] < v->worst[m] : v->value[m] > v->worst[m]))
			v->worst[m] = v->value[m]; /* the window moved on since the last evaluation */
		v->bad_since_ms[m] = s->al[m].bad_since ? s->al[m].bad_since - 1 : 0;
	}
	return 0;
}

unsigned ctl_alerts_events(const struct ctl_alerts *a, struct ctl_alert_event *out, unsigned max)
{
	unsigned n = a->ev_n < max ? a->ev_n : max, skip = a->ev_n - n;

	for (unsigned i = 0; i < n; i++)
		out[i] = a->ev[(a->ev_head + skip + i) % a->c.events_kept];
	return n;
}

void ctl_alerts_counters(const struct ctl_alerts *a, struct ctl_alert_counters *out) { *out = a->cnt; }
