/* SPDX-License-Identifier: MIT
 * perf_clock: the media clock's lateness (dataplane/dp_clock.c) on one
 * kernel-UDP worker, with 1, 100 and 1,000 tickers on it, each doing a
 * fixed amount of work per tick (--work-ns, 0 by default: the clock's own
 * cost). Rounds alternate between the sizes, so machine noise spreads over
 * all of them. It prints ticks, missed ticks and lateness p50/p99/max per
 * size, and the 1,000-ticker p99 over the 1-ticker p99 measured in the
 * same run.
 *
 * Tickers stand in for the media engine's endpoints until mixer/ runs on
 * the clock: --work-ns 20000 is about one Opus decode per tick and
 * endpoint (docs/codecs.md: 13-23 us).
 *
 *   perf_clock [--seconds S] [--rounds R] [--work-ns N] [--clock-ms 20|10]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_pause.h>

#include "dp.h"

static uint64_t g_work_cycles;

static void on_tick(void *ctx, uint64_t tick, uint64_t deadline_ns)
{
	uint64_t end = rte_rdtsc() + g_work_cycles;

	(void)tick;
	(void)deadline_ns;
	++*(uint64_t *)ctx;
	while (g_work_cycles && rte_rdtsc() < end)
		rte_pause();
}

static void die(const char *what)
{
	fprintf(stderr, "perf_clock: %s\n", what);
	exit(1);
}

struct acc {
	unsigned n;
	uint64_t ticks, missed, hist[DP_CLOCK_HIST_BUCKETS];
	uint32_t max_us;
};

int main(int argc, char **argv)
{
	char *eal[] = { "perf_clock", "-l", "0-1", "--no-huge", "-m", "256", "--no-shconf", "--no-pci",
			"--no-telemetry", "--log-level=3", NULL };
	static const unsigned sizes[] = { 1, 100, 1000 };
	struct acc acc[3];
	double secs = 2.0;
	unsigned rounds = 3, clock_ms = 20;
	uint64_t work_ns = 0, *counts;
	struct dp_media_conf mc;
	struct dp_call *call;
	struct dp_ticker **t;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			secs = atof(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--work-ns") && i + 1 < argc)
			work_ns = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--clock-ms") && i + 1 < argc)
			clock_ms = (unsigned)atoi(argv[++i]);
		else
			die("usage: perf_clock [--seconds S] [--rounds R] [--work-ns N] [--clock-ms 20|10]");
	}
	dp_log_setup(DP_LOG_WARNING, DP_LOG_STDERR, "perf_clock", "daemon", 10, 5000);
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0]) - 1), eal) < 0)
		die("EAL");
	dp_media_conf_defaults(&mc);
	mc.clock_ms = clock_ms;
	if (dp_media_start(&mc) || dp_workers_start() != 1)
		die("media layer");
	g_work_cycles = work_ns * rte_get_tsc_hz() / 1000000000u;
	call = dp_call_create("perf-clock");
	counts = calloc(1000, sizeof(*counts));
	t = calloc(1000, sizeof(*t));
	if (!call || !counts || !t)
		die("no memory");
	memset(acc, 0, sizeof(acc));
	printf("perf_clock: one kernel-UDP worker, %u ms clock, %u round(s) of %.1f s per size, %llu ns of work per "
	       "ticker and tick\n\n", clock_ms, rounds, secs, (unsigned long long)work_ns);
	for (unsigned r = 0; r < rounds; r++)
		for (unsigned k = 0; k < 3; k++) {
			struct dp_clock_stats before, after;
			struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };
			int err;

			dp_clock_get_stats(-1, &before);
			for (unsigned i = 0; i < sizes[k]; i++)
				if (!(t[i] = dp_ticker_add(call, on_tick, &counts[i], &err)))
					die("ticker");
			nanosleep(&ts, NULL);
			for (unsigned i = 0; i < sizes[k]; i++)
				dp_ticker_remove(t[i]);
			dp_clock_get_stats(-1, &after);
			acc[k].n = sizes[k];
			acc[k].ticks += after.ticks - before.ticks;
			acc[k].missed += after.missed - before.missed;
			for (unsigned b = 0; b < DP_CLOCK_HIST_BUCKETS; b++)
				acc[k].hist[b] += after.hist[b] - before.hist[b];
			/* the running max is not per round: take the histogram's top bucket */
		}
	printf("tickers    ticks   missed   late p50 us   late p99 us   late p99.9 us\n");
	for (unsigned k = 0; k < 3; k++)
		printf("%7u %8llu %8llu %13u %13u %15u\n", acc[k].n, (unsigned long long)acc[k].ticks,
		       (unsigned long long)acc[k].missed, dp_clock_percentile(acc[k].hist, 50),
		       dp_clock_percentile(acc[k].hist, 99), dp_clock_percentile(acc[k].hist, 99.9));
	printf("\np99 lateness, 1000 tickers / 1 ticker: %.2f (bucket upper bounds, at most 25%% wide)\n",
	       (double)dp_clock_percentile(acc[2].hist, 99) / (double)(dp_clock_percentile(acc[0].hist, 99) ?: 1));
	free(t);
	free(counts);
	dp_call_destroy(call);
	dp_workers_stop();
	dp_media_stop();
	rte_eal_cleanup();
	return 0;
}
