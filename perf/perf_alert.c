/* SPDX-License-Identifier: MIT
 * perf_alert: what the per-site alerts cost the control lcore per 1 Hz
 * tick (control/ctl_alert.c: one sample per leg, then the evaluation),
 * for 2,000 legs (1,000 relayed calls) spread over 1 to 256 sites, side
 * by side in one run: microseconds per tick (best of 50), the share of
 * the tick's second, and the ratio to 10 sites. The site lookup is a
 * linear search, so the cost grows with the number of sites. Not
 * included: reading each leg's counters (a struct copy per leg). */
#include <stdio.h>
#include <time.h>

#include "ctl_alert.h"

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static double tick_us(unsigned n_sites, unsigned legs)
{
	struct ctl_alert_conf c;
	struct ctl_alerts *a;
	struct ctl_alert_sample s = { .expected = 50, .lost = 1, .jitter_ms = 2.0, .mos = 4.1 };
	static char name[256][16];
	double best = 1e9;

	ctl_alert_conf_defaults(&c);
	a = ctl_alerts_new(&c);
	for (unsigned i = 0; i < n_sites; i++)
		snprintf(name[i], sizeof(name[i]), "site-%03u", i);
	for (unsigned t = 0; t < 50; t++) {
		double t0 = now_s(), d;

		for (unsigned l = 0; l < legs; l++)
			ctl_alerts_sample(a, name[l % n_sites], t * 1000ull, &s);
		ctl_alerts_eval(a, t * 1000ull, 0, NULL, NULL);
		d = now_s() - t0;
		if (d < best)
			best = d;
	}
	ctl_alerts_free(a);
	return best * 1e6;
}

int main(void)
{
	static const unsigned sites[] = { 1, 10, 64, 256 };
	double base = tick_us(10, 2000);

	printf("per-site alerts, 2000 legs a tick: sample + evaluate (best of 50 ticks)\n");
	printf("%6s %12s %14s %12s\n", "sites", "us/tick", "% of 1 s", "x 10 sites");
	for (unsigned i = 0; i < sizeof(sites) / sizeof(sites[0]); i++) {
		double us = tick_us(sites[i], 2000);

		printf("%6u %12.1f %14.4f %12.2f\n", sites[i], us, us / 1e4, us / base);
	}
	return 0;
}
