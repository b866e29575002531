/* SPDX-License-Identifier: MIT
 * Unit tests for control/ctl_alert: the per-site alert engine, driven with
 * an injected clock (ms passed in), and its [alerts] keys. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "ctl_alert.h"

#define MAXEV 64

static struct ctl_alert_event got[MAXEV];
static unsigned n_got;

static void on_ev(void *ctx, const struct ctl_alert_event *e)
{
	(void)ctx;
	cr_assert_lt(n_got, MAXEV);
	got[n_got++] = *e;
}

static struct ctl_alert_conf conf(void)
{
	struct ctl_alert_conf c;

	ctl_alert_conf_defaults(&c);
	c.loss_for_s = 5;
	c.mos_for_s = 5;
	c.jitter_for_s = 5;
	c.clear_for_s = 3;
	c.window_s = 2;
	c.min_packets = 20;
	return c;
}

/* One second at site: n legs each expecting 50 packets with lost of them
 * lost, jitter j ms, MOS mos; then evaluate at that second. */
static void second(struct ctl_alerts *a, const char *site, unsigned t, unsigned n, unsigned lost, double j,
		   double mos)
{
	struct ctl_alert_sample s = { .expected = 50, .lost = lost, .jitter_ms = j, .mos = mos };

	for (unsigned i = 0; i < n; i++)
		ctl_alerts_sample(a, site, t * 1000ull + 10, &s);
}

static void eval(struct ctl_alerts *a, unsigned t)
{
	ctl_alerts_eval(a, t * 1000ull + 20, 1700000000000ull + t * 1000ull, on_ev, NULL);
}

static unsigned count(const char *site, enum ctl_alert_metric m, bool raised)
{
	unsigned n = 0;

	for (unsigned i = 0; i < n_got; i++)
		n += !strcmp(got[i].site, site) && got[i].metric == m && got[i].raised == raised;
	return n;
}

Test(alert, defaults_match_the_prometheus_rules)
{
	struct ctl_alert_conf c;

	ctl_alert_conf_defaults(&c);
	cr_assert_float_eq(c.mos_below, 3.6, 1e-9);
	cr_assert_float_eq(c.loss_above_pct, 2, 1e-9);
	cr_assert_float_eq(c.jitter_above_ms, 30, 1e-9);
	cr_assert_eq(c.mos_for_s, 60);
	cr_assert_eq(c.loss_for_s, 60);
	cr_assert_eq(c.jitter_for_s, 60);
	cr_assert_eq(c.enabled, 1);
	cr_assert_eq(ctl_alert_conf_check(&c, (char[64]){ 0 }, 64), 0);
}

Test(alert, loss_raises_only_after_for_s_without_a_break)
{
	struct ctl_alert_conf c = conf();
	struct ctl_alerts *a = ctl_alerts_new(&c);

	n_got = 0;
	/* 10 % loss (5 of 50) from t=0: bad at every evaluation */
	for (unsigned t = 0; t <= 4; t++) {
		second(a, "north", t, 2, 5, 1, 4.2);
		eval(a, t);
	}
	cr_assert_eq(n_got, 0, "raised after %u evaluations, before loss_for_s = 5", 5);
	second(a, "north", 5, 2, 5, 1, 4.2);
	eval(a, 5);
	cr_assert_eq(n_got, 1);
	cr_assert(got[0].raised);
	cr_assert_eq(got[0].metric, CTL_ALERT_LOSS);
	cr_assert_str_eq(got[0].site, "north");
	cr_assert_float_eq(got[0].value, 10.0, 1e-9);
	cr_assert_float_eq(got[0].threshold, 2.0, 1e-9);
	cr_assert_eq(got[0].for_s, 5);
	cr_assert_eq(got[0].streams, 2);
	cr_assert_eq(got[0].raised_wall_ms, 1700000005000ull);
	cr_assert_eq(got[0].cleared_wall_ms, 0);
	/* it stays raised: no second event */
	for (unsigned t = 6; t <= 9; t++) {
		second(a, "north", t, 2, 5, 1, 4.2);
		eval(a, t);
	}
	cr_assert_eq(n_got, 1);
	ctl_alerts_free(a);
}

Test(alert, a_good_window_restarts_the_for_timer)
{
	struct ctl_alert_conf c = conf();
	struct ctl_alerts *a = ctl_alerts_new(&c);
	unsigned t = 0;

	n_got = 0;
	for (; t < 4; t++) { /* bad for 4 s */
		second(a, "north", t, 1, 5, 1, 4.2);
		eval(a, t);
	}
	for (; t < 6; t++) { /* 2 s clean: the 2 s window is clean at t=5 */
		second(a, "north", t, 1, 0, 1, 4.2);
		eval(a, t);
	}
	for (unsigned bad0 = t; t < bad0 + 5; t++) { /* bad again: 5 evaluations, the last 4 s after the first */
		second(a, "north", t, 1, 5, 1, 4.2);
		eval(a, t);
	}
	cr_assert_eq(n_got, 0, "the timer did not restart");
	second(a, "north", t, 1, 5, 1, 4.2);
	eval(a, t);
	cr_assert_eq(n_got, 1);
	ctl_alerts_free(a);
}

Test(alert, clears_with_hysteresis_after_clear_for_s)
{
	struct ctl_alert_conf c = conf();
	struct ctl_alerts *a = ctl_alerts_new(&c);
	unsigned t = 0;
	uint64_t id;

	n_got = 0;
	for (; t <= 5; t++) {
		second(a, "north", t, 1, 5, 1, 4.2);
		eval(a, t);
	}
	cr_assert_eq(n_got, 1);
	id = got[0].alert_id;
	/* 1 of 50 = 2 %: not above the raise threshold, not at or below the
	 * clear threshold (1.5 %): stays raised however long */
	for (; t <= 20; t++) {
		second(a, "north", t, 1, 1, 1, 4.2);
		eval(a, t);
	}
	cr_assert_eq(n_got, 1, "cleared between the thresholds");
	/* clean: the window is clean from t=22 (2 s window), clear_for_s 3 later */
	for (; t <= 23; t++) {
		second(a, "north", t, 1, 0, 1, 4.2);
		eval(a, t);
	}
	cr_assert_eq(n_got, 1, "cleared before clear_for_s");
	for (; t <= 24; t++) {
		second(a, "north", t, 1, 0, 1, 4.2);
		eval(a, t);
	}
	cr_assert_eq(n_got, 2);
	cr_assert_not(got[1].raised);
	cr_assert_eq(got[1].alert_id, id, "a clear names the alert it clears");
	cr_assert_float_eq(got[1].threshold, 1.5, 1e-9);
	cr_assert_float_eq(got[1].worst, 10.0, 1e-9);
	cr_assert_eq(got[1].raised_wall_ms, 1700000005000ull);
	cr_assert_eq(got[1].cleared_wall_ms, 1700000024000ull);
	cr_assert_eq(got[1].for_s, 3);
	/* a new raise is a new alert */
	for (t = 25; t <= 31; t++) {
		second(a, "north", t, 1, 10, 1, 4.2);
		eval(a, t);
	}
	cr_assert_eq(n_got, 3);
	cr_assert(got[2].raised);
	cr_assert_neq(got[2].alert_id, id);
	ctl_alerts_free(a);
}

Test(alert, sites_are_independent)
{
	struct ctl_alert_conf c = conf();
	struct ctl_alerts *a = ctl_alerts_new(&c);
	struct ctl_alert_site_view v;
	bool seen_n = false, seen_s = false;

	n_got = 0;
	cr_assert_eq(ctl_alerts_add_site(a, "south"), 0);
	for (unsigned t = 0; t <= 8; t++) {
		second(a, "north", t, 1, 5, 1, 4.2);  /* 10 % */
		second(a, "south", t, 3, 0, 2, 4.3);  /* clean, three legs */
		eval(a, t);
	}
	cr_assert_eq(count("north", CTL_ALERT_LOSS, true), 1);
	cr_assert_eq(count("south", CTL_ALERT_LOSS, true), 0);
	cr_assert_eq(n_got, 1, "only north's loss alert");
	cr_assert_eq(ctl_alerts_n_sites(a), 2);
	for (unsigned i = 0; i < 2; i++) {
		cr_assert_eq(ctl_alerts_site(a, i, 8020, &v), 0);
		if (!strcmp(v.name, "north")) {
			seen_n = true;
			cr_assert(v.active[CTL_ALERT_LOSS]);
			cr_assert_not(v.permanent);
			cr_assert_float_eq(v.value[CTL_ALERT_LOSS], 10.0, 1e-9);
		} else {
			seen_s = true;
			cr_assert_str_eq(v.name, "south");
			cr_assert(v.permanent);
			cr_assert_not(v.active[CTL_ALERT_LOSS]);
			cr_assert_eq(v.streams, 3);
			cr_assert_eq(v.expected, 300, "2 s window of 3 x 50");
			cr_assert_float_eq(v.value[CTL_ALERT_LOSS], 0.0, 1e-9);
			cr_assert_float_eq(v.value[CTL_ALERT_JITTER], 2.0, 1e-9);
		}
	}
	cr_assert(seen_n && seen_s);
	ctl_alerts_free(a);
}

Test(alert, mos_and_jitter_are_packet_weighted_means)
{
	struct ctl_alert_conf c = conf();
	struct ctl_alerts *a = ctl_alerts_new(&c);
	struct ctl_alert_sample hi = { .expected = 150, .lost = 0, .jitter_ms = 40, .mos = 3.0 };
	struct ctl_alert_sample lo = { .expected = 50, .lost = 0, .jitter_ms = 0, .mos = 4.2 };
	struct ctl_alert_site_view v;

	n_got = 0;
	for (unsigned t = 0; t <= 5; t++) {
		ctl_alerts_sample(a, "east", t * 1000ull, &hi);
		ctl_alerts_sample(a, "east", t * 1000ull, &lo);
		eval(a, t);
	}
	/* jitter (150 x 40 + 50 x 0) / 200 = 30: not above 30 */
	cr_assert_eq(count("east", CTL_ALERT_JITTER, true), 0);
	/* MOS (150 x 3.0 + 50 x 4.2) / 200 = 3.3 < 3.6 */
	cr_assert_eq(count("east", CTL_ALERT_MOS, true), 1);
	cr_assert_eq(ctl_alerts_site(a, 0, 5020, &v), 0);
	cr_assert_float_eq(v.value[CTL_ALERT_JITTER], 30.0, 1e-9);
	cr_assert_float_eq(v.value[CTL_ALERT_MOS], 3.3, 1e-9);
	hi.jitter_ms = 41;
	for (unsigned t = 6; t <= 11; t++) {
		ctl_alerts_sample(a, "east", t * 1000ull, &hi);
		ctl_alerts_sample(a, "east", t * 1000ull, &lo);
		eval(a, t);
	}
	cr_assert_eq(count("east", CTL_ALERT_JITTER, true), 1);
	ctl_alerts_free(a);
}

Test(alert, too_few_packets_is_no_data_and_no_data_clears)
{
	struct ctl_alert_conf c = conf();
	struct ctl_alerts *a = ctl_alerts_new(&c);
	struct ctl_alert_sample few = { .expected = 5, .lost = 5, .jitter_ms = 100, .mos = 1 };
	unsigned t = 0;

	n_got = 0;
	for (; t <= 10; t++) { /* 10 packets a 2 s window < min_packets 20 */
		ctl_alerts_sample(a, "west", t * 1000ull, &few);
		eval(a, t);
	}
	cr_assert_eq(n_got, 0, "raised on %u packets", 10);
	for (; t <= 16; t++) {
		second(a, "west", t, 1, 10, 1, 4.2);
		eval(a, t);
	}
	cr_assert_eq(count("west", CTL_ALERT_LOSS, true), 1);
	/* the call ends: nothing sampled; the window empties at t=18, clear_for_s 3 */
	for (; t <= 20; t++)
		eval(a, t);
	cr_assert_eq(count("west", CTL_ALERT_LOSS, false), 0);
	eval(a, 21);
	cr_assert_eq(count("west", CTL_ALERT_LOSS, false), 1);
	cr_assert_not(got[n_got - 1].have_value);
	ctl_alerts_free(a);
}

Test(alert, idle_sites_are_forgotten_interfaces_kept)
{
	struct ctl_alert_conf c = conf();
	struct ctl_alerts *a = ctl_alerts_new(&c);

	cr_assert_eq(ctl_alerts_add_site(a, "lan"), 0);
	second(a, "tagged", 0, 1, 0, 1, 4.2);
	eval(a, 0);
	cr_assert_eq(ctl_alerts_n_sites(a), 2);
	eval(a, 599);
	cr_assert_eq(ctl_alerts_n_sites(a), 2);
	eval(a, 601);
	cr_assert_eq(ctl_alerts_n_sites(a), 1);
	ctl_alerts_free(a);
}

Test(alert, events_ring_keeps_the_newest)
{
	struct ctl_alert_conf c = conf();
	struct ctl_alert_event ev[8];
	struct ctl_alerts *a;
	char site[8];
	unsigned n;

	c.events_kept = 3;
	c.loss_for_s = 0;
	a = ctl_alerts_new(&c);
	n_got = 0;
	for (unsigned i = 0; i < 5; i++) { /* five sites raise at once */
		snprintf(site, sizeof(site), "s%u", i);
		second(a, site, 0, 1, 10, 1, 4.2);
	}
	eval(a, 0);
	cr_assert_eq(n_got, 5);
	n = ctl_alerts_events(a, ev, 8);
	cr_assert_eq(n, 3);
	cr_assert_eq(ev[0].seq, 3);
	cr_assert_eq(ev[2].seq, 5);
	n = ctl_alerts_events(a, ev, 2);
	cr_assert_eq(n, 2);
	cr_assert_eq(ev[0].seq, 4, "the newest 2");
	ctl_alerts_free(a);
}

Test(alert, conf_keys_and_checks)
{
	struct ctl_alert_conf c;
	char err[256];

	ctl_alert_conf_defaults(&c);
	cr_assert_eq(ctl_alert_conf_set(&c, "mos_below", "3.9", err, sizeof(err)), 0);
	cr_assert_float_eq(c.mos_below, 3.9, 1e-9);
	cr_assert_eq(ctl_alert_conf_check(&c, err, sizeof(err)), -EINVAL, "clear 3.8 below raise 3.9");
	cr_assert(strstr(err, "mos_clear_above"));
	cr_assert_eq(ctl_alert_conf_set(&c, "mos_clear_above", "4", err, sizeof(err)), 0);
	cr_assert_eq(ctl_alert_conf_check(&c, err, sizeof(err)), 0);
	cr_assert_eq(ctl_alert_conf_set(&c, "loss_above_pct", "-1", err, sizeof(err)), -EINVAL);
	cr_assert_eq(ctl_alert_conf_set(&c, "loss_above_pct", "1e1", err, sizeof(err)), -EINVAL);
	cr_assert_eq(ctl_alert_conf_set(&c, "mos_below", "5", err, sizeof(err)), -EINVAL);
	cr_assert_eq(ctl_alert_conf_set(&c, "window_s", "0", err, sizeof(err)), -EINVAL);
	cr_assert_eq(ctl_alert_conf_set(&c, "nope", "1", err, sizeof(err)), -ENOENT);
	cr_assert_eq(ctl_alert_conf_set(&c, "webhook_url", "ftp://x/", err, sizeof(err)), 0);
	cr_assert_eq(ctl_alert_conf_check(&c, err, sizeof(err)), -EINVAL);
	cr_assert_eq(ctl_alert_conf_set(&c, "webhook_url", "https://hooks.example/x", err, sizeof(err)), 0);
	cr_assert_eq(ctl_alert_conf_check(&c, err, sizeof(err)), 0);
}

Test(alert, new_thresholds_apply_at_the_next_evaluation)
{
	struct ctl_alert_conf c = conf(), d;
	struct ctl_alerts *a = ctl_alerts_new(&c);
	unsigned t = 0;

	n_got = 0;
	for (; t <= 5; t++) { /* 10 %: raised at t=5 */
		second(a, "north", t, 1, 5, 1, 4.2);
		eval(a, t);
	}
	cr_assert_eq(n_got, 1);
	d = c;
	d.loss_above_pct = 20;
	d.loss_clear_below_pct = 15; /* 10 % is now on the good side */
	d.window_s = 5;
	cr_assert_eq(ctl_alerts_set_conf(a, &d), 1, "window_s needs a restart");
	cr_assert_eq(ctl_alerts_conf(a)->window_s, 2);
	for (; t <= 9; t++) { /* good from t=6, clear_for_s 3 */
		second(a, "north", t, 1, 5, 1, 4.2);
		eval(a, t);
	}
	cr_assert_eq(n_got, 2, "cleared by the new clear threshold after clear_for_s");
	cr_assert_not(got[1].raised);
	cr_assert_float_eq(got[1].threshold, 15.0, 1e-9);
	for (; t <= 20; t++) {
		second(a, "north", t, 1, 5, 1, 4.2);
		eval(a, t);
	}
	cr_assert_eq(n_got, 2, "10 %% is below the new raise threshold");
	ctl_alerts_free(a);
}
