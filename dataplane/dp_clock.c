/* SPDX-License-Identifier: MIT
 * dp_clock: the media clock of a worker lcore (see dp_clock.h): tickers,
 * the timerfd or TSC that drives them, and the lateness histogram.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>

#include <rte_cycles.h>

#include "dp_internal.h"

uint32_t dp_clock_ms = 20; /* dp_media_conf.clock_ms (dp_leg.c sets it) */

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

unsigned dp_clock_bucket(uint64_t us)
{
	unsigned o;

	if (us < 8)
		return (unsigned)us;
	if (us >= 65536)
		return DP_CLOCK_HIST_BUCKETS - 1;
	o = 63u - (unsigned)__builtin_clzll(us); /* 3..15 */
	return 8 + 4 * (o - 3) + (unsigned)((us >> (o - 2)) & 3);
}

uint64_t dp_clock_bucket_max_us(unsigned b)
{
	unsigned o, sub;

	if (b < 8)
		return b;
	if (b >= DP_CLOCK_HIST_BUCKETS - 1)
		return UINT32_MAX;
	o = 3 + (b - 8) / 4;
	sub = (b - 8) % 4;
	return (1ull << o) + (uint64_t)(sub + 1) * (1ull << (o - 2)) - 1;
}

uint32_t dp_clock_percentile(const uint64_t h[DP_CLOCK_HIST_BUCKETS], double p)
{
	uint64_t total = 0, want, seen = 0;

	for (unsigned b = 0; b < DP_CLOCK_HIST_BUCKETS; b++)
		total += h[b];
	if (!total)
		return 0;
	want = (uint64_t)((double)total * p / 100.0 + 0.999999);
	if (want < 1)
		want = 1;
	for (unsigned b = 0; b < DP_CLOCK_HIST_BUCKETS; b++) {
		seen += h[b];
		if (seen >= want)
			return (uint32_t)dp_clock_bucket_max_us(b);
	}
	return UINT32_MAX;
}

/* ---- worker side ---- */

int dp_clock_init(struct dp_worker *w)
{
	memset(&w->clk, 0, sizeof(w->clk));
	w->clk.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	return w->clk.tfd < 0 ? -errno : 0;
}

static void arm(struct dp_worker *w, bool on)
{
	struct dp_clock *k = &w->clk;
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	if (on) {
		k->period_ns = (uint64_t)dp_clock_ms * 1000000u;
		k->next_ns = mono_ns() + k->period_ns;
		k->next_tsc = rte_rdtsc() + k->period_ns * w->tsc_hz / 1000000000u;
		its.it_value.tv_sec = (time_t)(k->next_ns / 1000000000u);
		its.it_value.tv_nsec = (long)(k->next_ns % 1000000000u);
		its.it_interval.tv_sec = (time_t)(k->period_ns / 1000000000u);
		its.it_interval.tv_nsec = (long)(k->period_ns % 1000000000u);
	}
	if (!w->eth && k->tfd >= 0) /* a polling worker looks at the TSC instead */
		timerfd_settime(k->tfd, on ? TFD_TIMER_ABSTIME : 0, &its, NULL);
}

static void link_ticker(struct dp_worker *w, struct dp_ticker *t)
{
	struct dp_ticker **pp;

	for (pp = &w->clk.list; *pp; pp = &(*pp)->next)
		;
	t->next = NULL;
	*pp = t;
	if (w->clk.n++ == 0)
		arm(w, true);
}

static int unlink_ticker(struct dp_worker *w, struct dp_ticker *t)
{
	struct dp_ticker **pp;

	for (pp = &w->clk.list; *pp && *pp != t; pp = &(*pp)->next)
		;
	if (!*pp)
		return -ENOENT;
	*pp = t->next;
	if (--w->clk.n == 0)
		arm(w, false);
	return 0;
}

void dp_clock_apply(struct dp_worker *w, struct dp_cmd *c)
{
	/* the call's ticker list is the control lcore's, and stands still
	 * while it waits for this command */
	switch (c->op) {
	case DP_CMD_TICKER_ADD:
		link_ticker(w, c->ticker);
		break;
	case DP_CMD_TICKER_DEL:
		c->result = unlink_ticker(w, c->ticker);
		break;
	case DP_CMD_CALL_TICKERS_ADD:
		for (struct dp_ticker *t = c->call->tickers; t; t = t->next_in_call)
			link_ticker(w, t);
		break;
	case DP_CMD_CALL_TICKERS_DEL:
		for (struct dp_ticker *t = c->call->tickers; t; t = t->next_in_call)
			unlink_ticker(w, t);
		break;
	default:
		break;
	}
}

void dp_clock_run(struct dp_worker *w)
{
	struct dp_clock *k = &w->clk;
	uint64_t now = mono_ns(), behind;

	if (!k->list)
		return;
	if (now >= k->next_ns) {
		behind = (now - k->next_ns) / k->period_ns;
		if (behind > DP_CLOCK_MAX_CATCHUP) { /* too far behind: skip, stay on the grid */
			k->next_ns += (behind - DP_CLOCK_MAX_CATCHUP) * k->period_ns;
			k->st.missed += behind - DP_CLOCK_MAX_CATCHUP;
		}
	}
	while (now >= k->next_ns) {
		uint64_t late_us = (now - k->next_ns) / 1000u;

		k->st.hist[dp_clock_bucket(late_us)]++;
		if (late_us > k->st.late_max_us)
			k->st.late_max_us = (uint32_t)(late_us > UINT32_MAX ? UINT32_MAX : late_us);
		for (struct dp_ticker *t = k->list; t; t = t->next)
			t->fn(t->ctx, k->tick, k->next_ns);
		k->tick++;
		k->st.ticks++;
		k->next_ns += k->period_ns;
		now = mono_ns();
	}
	k->next_tsc = rte_rdtsc() + (k->next_ns - now) * w->tsc_hz / 1000000000u;
}

/* ---- control side ---- */

struct dp_ticker *dp_ticker_add(struct dp_call *c, dp_tick_fn fn, void *ctx, int *err)
{
	struct dp_cmd cmd = { .op = DP_CMD_TICKER_ADD };
	struct dp_ticker *t;

	if (!c || !fn) {
		*err = -EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		*err = -ENOMEM;
		return NULL;
	}
	t->fn = fn;
	t->ctx = ctx;
	t->call = c;
	cmd.ticker = t;
	*err = dp_worker_exec(c->w, &cmd);
	if (*err) {
		free(t);
		return NULL;
	}
	t->next_in_call = c->tickers;
	c->tickers = t;
	return t;
}

int dp_call_tickers_move(struct dp_call *c, struct dp_worker *to)
{
	struct dp_cmd del = { .op = DP_CMD_CALL_TICKERS_DEL, .call = c };
	struct dp_cmd add = { .op = DP_CMD_CALL_TICKERS_ADD, .call = c };
	int rc;

	if (!c->tickers)
		return 0;
	rc = dp_worker_exec(c->w, &del);
	return rc ? rc : dp_worker_exec(to, &add);
}

void dp_ticker_remove(struct dp_ticker *t)
{
	struct dp_ticker **pp;

	struct dp_cmd cmd = { .op = DP_CMD_TICKER_DEL, .ticker = t };

	if (!t)
		return;
	dp_worker_exec(t->call->w, &cmd);
	for (pp = &t->call->tickers; *pp && *pp != t; pp = &(*pp)->next_in_call)
		;
	if (*pp)
		*pp = t->next_in_call;
	free(t);
}

int dp_clock_get_stats(int lcore, struct dp_clock_stats *out)
{
	bool found = false;

	memset(out, 0, sizeof(*out));
	out->period_us = dp_clock_ms * 1000u;
	for (unsigned i = 0; i < dp_worker_count(); i++) {
		const struct dp_worker *w = dp_worker_get(i);
		const struct dp_clock *k = &w->clk;

		if (lcore >= 0 && w->lcore != (unsigned)lcore)
			continue;
		found = true;
		out->tickers += k->n;
		out->ticks += k->st.ticks;
		out->missed += k->st.missed;
		if (k->st.late_max_us > out->late_max_us)
			out->late_max_us = k->st.late_max_us;
		for (unsigned b = 0; b < DP_CLOCK_HIST_BUCKETS; b++)
			out->hist[b] += k->st.hist[b];
	}
	/* a bucket's upper bound, but never above the largest lateness seen */
	out->late_p50_us = RTE_MIN(dp_clock_percentile(out->hist, 50), out->late_max_us);
	out->late_p99_us = RTE_MIN(dp_clock_percentile(out->hist, 99), out->late_max_us);
	return lcore >= 0 && !found ? -ENOENT : 0;
}
