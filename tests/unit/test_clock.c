/* SPDX-License-Identifier: MIT
 * The media clock (dataplane/dp_clock.c): the lateness histogram's
 * buckets, bounds and percentiles; and ticks in slices, driven by hand on
 * a worker struct with no thread (dp_clock_run is one slice): every ticker
 * once per tick, in order, a slice bounded by its budget, tickers added
 * and removed in the middle of a tick, catch-up, idle. The clock on real
 * workers runs in the integration test `media_clock`
 * (tests/integration/test_clock.py). */
#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>

#include "dp_internal.h"

Test(clock, every_lateness_falls_in_a_bucket_whose_bounds_hold_it)
{
	unsigned prev = 0;

	for (uint64_t us = 0; us < 70000; us++) {
		unsigned b = dp_clock_bucket(us);

		cr_assert_lt(b, DP_CLOCK_HIST_BUCKETS);
		cr_assert_geq(b, prev, "buckets grow with lateness (%lu us)", (unsigned long)us);
		cr_assert_leq(us, dp_clock_bucket_max_us(b), "%lu us above its bucket's bound", (unsigned long)us);
		if (b > 0 && b < DP_CLOCK_HIST_BUCKETS - 1)
			cr_assert_gt(us, dp_clock_bucket_max_us(b - 1), "%lu us fits the bucket below", (unsigned long)us);
		if (us >= 8 && us < 65536) /* at most 25% wide */
			cr_assert_leq(dp_clock_bucket_max_us(b) - us, us / 4, "%lu us", (unsigned long)us);
		prev = b;
	}
	cr_assert_eq(dp_clock_bucket(5), 5u, "exact below 8 us");
	cr_assert_eq(dp_clock_bucket(1000000), DP_CLOCK_HIST_BUCKETS - 1u);
}

Test(clock, percentiles)
{
	uint64_t h[DP_CLOCK_HIST_BUCKETS];

	memset(h, 0, sizeof(h));
	cr_assert_eq(dp_clock_percentile(h, 50), 0u, "empty");
	h[dp_clock_bucket(100)] = 98; /* 98 ticks about 100 us late, one 1 ms, one 20 ms */
	h[dp_clock_bucket(1000)] = 1;
	h[dp_clock_bucket(20000)] = 1;
	cr_assert_eq(dp_clock_percentile(h, 50), dp_clock_bucket_max_us(dp_clock_bucket(100)));
	cr_assert_eq(dp_clock_percentile(h, 98), dp_clock_bucket_max_us(dp_clock_bucket(100)));
	cr_assert_eq(dp_clock_percentile(h, 99), dp_clock_bucket_max_us(dp_clock_bucket(1000)));
	cr_assert_eq(dp_clock_percentile(h, 100), dp_clock_bucket_max_us(dp_clock_bucket(20000)));
	cr_assert_geq(dp_clock_percentile(h, 100), 20000u);
}

/* ---- slices ---- */

static struct dp_worker w;

#define MAXCALLS 64
/* What the tickers did, in call order. */
static struct {
	int who;
	uint64_t tick, deadline;
} calls[MAXCALLS];
static unsigned ncalls;
static uint64_t spin_tsc; /* each ticker busy-waits this long */

static void on_tick(void *ctx, uint64_t tick, uint64_t deadline_ns)
{
	uint64_t t0 = rte_rdtsc();

	cr_assert_lt(ncalls, MAXCALLS);
	calls[ncalls].who = (int)(intptr_t)ctx;
	calls[ncalls].tick = tick;
	calls[ncalls].deadline = deadline_ns;
	ncalls++;
	while (spin_tsc && rte_rdtsc() - t0 < spin_tsc)
		;
}

static uint64_t mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* The TSC's rate, measured against CLOCK_MONOTONIC (no EAL here). */
static uint64_t measure_tsc_hz(void)
{
	struct timespec ms20 = { 0, 20000000 };
	uint64_t n0 = mono(), t0 = rte_rdtsc(), n1, t1;

	nanosleep(&ms20, NULL);
	n1 = mono();
	t1 = rte_rdtsc();
	return (t1 - t0) * 1000000000ull / (n1 - n0);
}

static struct dp_ticker tk[8];
static struct dp_call call_a, call_b;

static void add(int i, struct dp_call *c)
{
	struct dp_cmd cmd = { .op = DP_CMD_TICKER_ADD, .ticker = &tk[i] };

	tk[i].fn = on_tick;
	tk[i].ctx = (void *)(intptr_t)i;
	tk[i].call = c;
	dp_clock_apply(&w, &cmd);
}

static int del(int i)
{
	struct dp_cmd cmd = { .op = DP_CMD_TICKER_DEL, .ticker = &tk[i] };

	dp_clock_apply(&w, &cmd);
	return cmd.result;
}

/* Make the next tick due now. */
static void due(void)
{
	w.clk.next_ns = mono();
}

static void setup(void)
{
	memset(&w, 0, sizeof(w));
	memset(tk, 0, sizeof(tk));
	ncalls = 0;
	spin_tsc = 0;
	w.tsc_hz = measure_tsc_hz();
	w.clk.tfd = -1; /* no timerfd: dp_clock_run is driven by hand */
	dp_clock_set_slice(&w, 300);
}

TestSuite(slices, .init = setup);

Test(slices, a_long_tick_runs_in_slices_every_ticker_once_in_order)
{
	unsigned per_slice[32], slices = 0;

	for (int i = 0; i < 8; i++)
		add(i, &call_a);
	spin_tsc = w.tsc_hz / 10000; /* 100 us a ticker: 800 us a tick, three tickers fill a 300 us slice */
	due();
	do {
		unsigned before = ncalls;

		cr_assert_lt(slices, 32u);
		dp_clock_run(&w);
		per_slice[slices++] = ncalls - before;
	} while (w.clk.more);
	cr_assert_eq(ncalls, 8u, "every ticker ran once in the tick (%u calls)", ncalls);
	for (unsigned i = 0; i < ncalls; i++) {
		cr_assert_eq(calls[i].who, (int)i, "in order");
		cr_assert_eq(calls[i].tick, 0u, "all in tick 0");
		cr_assert_eq(calls[i].deadline, calls[0].deadline, "with the tick's deadline");
	}
	for (unsigned s = 0; s < slices; s++) /* a slice stops once 300 us went by: after the 3rd ticker at most */
		cr_assert(per_slice[s] >= 1 && per_slice[s] <= 3, "slice %u ran %u tickers", s, per_slice[s]);
	cr_assert_geq(slices, 3u, "8 tickers of 100 us in slices of 300 us: %u slices", slices);
	cr_assert_eq(w.clk.st.ticks, 1u);
	cr_assert_eq(w.clk.st.slices, slices);
	cr_assert_geq(w.clk.st.span_max_us, 800u, "the tick's span covers its 800 us of work");
	cr_assert_null(w.clk.cur, "no tick in progress");
	cr_assert_gt(w.clk.next_tsc, 0u, "the next tick is not due yet");
	/* the lateness histogram counts the tick once, not once a slice */
	{
		uint64_t n = 0;

		for (unsigned b = 0; b < DP_CLOCK_HIST_BUCKETS; b++)
			n += w.clk.st.hist[b];
		cr_assert_eq(n, 1u, "one lateness per tick, not per slice");
	}
	/* with no budget (0), the same tick runs in one piece */
	dp_clock_set_slice(&w, 0);
	ncalls = 0;
	due();
	dp_clock_run(&w);
	cr_assert_eq(ncalls, 8u, "one slice for the whole tick");
	cr_assert_not(w.clk.more);
	cr_assert_eq(calls[0].tick, 1u);
}

Test(slices, tickers_added_and_removed_in_the_middle_of_a_tick)
{
	w.clk.slice_tsc = 1; /* one ticker a slice */
	for (int i = 0; i < 4; i++)
		add(i, i < 2 ? &call_a : &call_b);
	due();
	dp_clock_run(&w);
	cr_assert_eq(ncalls, 1u);
	cr_assert(w.clk.more && w.clk.cur == &tk[1], "the tick goes on with ticker 1");
	/* between slices, commands: remove the ticker next in line and the one after */
	cr_assert_eq(del(1), 0);
	cr_assert_eq(del(2), 0);
	cr_assert_eq(w.clk.cur, &tk[3], "the tick goes on with the next one still there");
	add(4, &call_a); /* joins the tick in progress, at its end */
	while (w.clk.more)
		dp_clock_run(&w);
	cr_assert_eq(ncalls, 3u, "%u calls", ncalls);
	cr_assert(calls[0].who == 0 && calls[1].who == 3 && calls[2].who == 4, "0, 3, then the new 4");
	for (unsigned i = 0; i < ncalls; i++)
		cr_assert_eq(calls[i].tick, 0u);
	cr_assert_eq(w.clk.st.ticks, 1u);
	/* a whole call's tickers off in the middle of a tick: 3 is next, and goes */
	ncalls = 0;
	due();
	dp_clock_run(&w);
	cr_assert_eq(w.clk.cur, &tk[3]);
	{
		struct dp_cmd cmd = { .op = DP_CMD_CALL_TICKERS_DEL, .call = &call_b };

		call_b.moving = true; /* what a move of call b's shard detaches */
		dp_clock_apply(&w, &cmd);
		call_b.moving = false;
	}
	cr_assert_eq(w.clk.cur, &tk[4], "call b's ticker 3 is skipped");
	while (w.clk.more)
		dp_clock_run(&w);
	cr_assert(ncalls == 2 && calls[0].who == 0 && calls[1].who == 4 && calls[1].tick == 1u);
	/* every ticker off in the middle of a tick: nothing runs, nothing is due */
	ncalls = 0;
	due();
	dp_clock_run(&w);
	cr_assert_eq(del(4), 0);
	cr_assert_eq(del(0), 0);
	cr_assert_eq(del(0), -ENOENT);
	cr_assert(!w.clk.more && !w.clk.cur && !w.clk.list);
	dp_clock_run(&w);
	cr_assert_eq(ncalls, 1u, "no ticker left to run");
	cr_assert_eq(w.clk.st.ticks, 2u, "the tick with no ticker left did not end as a tick");
}

Test(slices, a_worker_behind_catches_up_tick_by_tick_then_skips)
{
	uint64_t n = 0;
	unsigned runs = 0;

	w.clk.slice_tsc = 1;
	add(0, &call_a);
	add(1, &call_a);
	/* 10 periods behind: 4 missed ticks are skipped at most... the rest run */
	w.clk.next_ns = mono() - 10 * w.clk.period_ns - w.clk.period_ns / 2;
	do {
		dp_clock_run(&w);
		runs++;
	} while (w.clk.more && runs < 100);
	cr_assert_eq(w.clk.st.missed, 10u - DP_CLOCK_MAX_CATCHUP, "%lu missed", (unsigned long)w.clk.st.missed);
	cr_assert_eq(w.clk.st.ticks, DP_CLOCK_MAX_CATCHUP + 1u, "%lu ticks", (unsigned long)w.clk.st.ticks);
	cr_assert_eq(ncalls, 2 * (DP_CLOCK_MAX_CATCHUP + 1u));
	cr_assert_eq(runs, 2 * (DP_CLOCK_MAX_CATCHUP + 1u), "one ticker a slice, even across catch-up ticks");
	for (unsigned i = 0; i < ncalls; i++) {
		cr_assert_eq(calls[i].who, (int)(i % 2));
		cr_assert_eq(calls[i].tick, i / 2);
		if (i >= 2)
			cr_assert_eq(calls[i].deadline - calls[i - 2].deadline, w.clk.period_ns, "on the grid");
	}
	for (unsigned b = 0; b < DP_CLOCK_HIST_BUCKETS; b++)
		n += w.clk.st.hist[b];
	cr_assert_eq(n, w.clk.st.ticks);
	cr_assert_geq(w.clk.st.late_max_us, DP_CLOCK_MAX_CATCHUP * w.clk.period_ns / 1000u,
		      "the first catch-up tick was 4 periods late");
}

Test(slices, a_worker_without_tickers_takes_no_tick)
{
	due();
	dp_clock_run(&w);
	cr_assert(!w.clk.more && w.clk.st.ticks == 0 && w.clk.st.slices == 0);
	add(0, &call_a); /* arms: the first tick is a period away */
	dp_clock_run(&w);
	cr_assert(ncalls == 0 && !w.clk.more && w.clk.next_tsc > rte_rdtsc(), "not due yet");
}

Test(slices, without_a_budget_a_worker_behind_runs_one_whole_tick_a_turn)
{
	dp_clock_set_slice(&w, 0);
	add(0, &call_a);
	add(1, &call_a);
	w.clk.next_ns = mono() - 3 * w.clk.period_ns - w.clk.period_ns / 2; /* 4 ticks due */
	for (unsigned i = 1; i <= 4; i++) {
		dp_clock_run(&w);
		cr_assert_eq(ncalls, 2 * i, "turn %u: one whole tick (%u calls)", i, ncalls);
		cr_assert_eq(w.clk.more, i < 4, "turn %u: more ticks due: %d", i, w.clk.more);
	}
	cr_assert_eq(w.clk.st.missed, 0u);
}

Test(slices, a_tick_whose_last_tickers_are_removed_ends_once)
{
	w.clk.slice_tsc = 1;
	for (int i = 0; i < 3; i++)
		add(i, &call_a);
	due();
	dp_clock_run(&w);
	cr_assert_eq(w.clk.cur, &tk[1]);
	cr_assert_eq(del(1), 0);
	cr_assert_eq(del(2), 0);
	cr_assert(w.clk.in_tick && !w.clk.cur && w.clk.more, "the tick is not over yet");
	while (w.clk.more)
		dp_clock_run(&w);
	cr_assert_eq(ncalls, 1u, "ticker 0 ran once, not again in a restarted tick (%u calls)", ncalls);
	cr_assert_eq(w.clk.st.ticks, 1u);
	cr_assert_not(w.clk.in_tick);
	due();
	dp_clock_run(&w);
	cr_assert(ncalls == 2 && calls[1].who == 0 && calls[1].tick == 1, "the next tick");
}
