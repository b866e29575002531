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
uint32_t dp_clock_slice_us = DP_CLOCK_SLICE_US; /* dp_media_conf.tick_slice_us (dp_leg.c sets it) */

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

void dp_clock_set_slice(struct dp_worker *w, uint32_t slice_us)
{
	uint64_t hz = w->tsc_hz ? w->tsc_hz : rte_get_tsc_hz();

	w->clk.slice_tsc = slice_us ? RTE_MAX((uint64_t)slice_us * hz / 1000000u, (uint64_t)1) : UINT64_MAX;
}

int dp_clock_init(struct dp_worker *w)
{
	memset(&w->clk, 0, sizeof(w->clk));
	dp_clock_set_slice(w, dp_clock_slice_us);
	w->clk.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	return w->clk.tfd < 0 ? -errno : 0;
}

static void arm(struct dp_worker *w, bool on)
{
	struct dp_clock *k = &w->clk;
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	k->cur = NULL; /* no tick in progress: armed afresh, or nothing left to run */
	k->in_tick = false;
	k->more = false;
	if (on) {
		uint64_t now = mono_ns();

		/* every worker's clock ticks on one grid, the multiples of the
		 * period, so a ticker that moves to another worker keeps its phase */
		k->period_ns = (uint64_t)dp_clock_ms * 1000000u;
		k->next_ns = (now / k->period_ns + 1) * k->period_ns;
		k->next_tsc = rte_rdtsc() + (k->next_ns - now) * w->tsc_hz / 1000000000u;
		its.it_value.tv_sec = (time_t)(k->next_ns / 1000000000u);
		its.it_value.tv_nsec = (long)(k->next_ns % 1000000000u);
		its.it_interval.tv_sec = (time_t)(k->period_ns / 1000000000u);
		its.it_interval.tv_nsec = (long)(k->period_ns % 1000000000u);
	}
	if (!w->eth && k->tfd >= 0) /* a polling worker looks at the TSC instead */
		timerfd_settime(k->tfd, on ? TFD_TIMER_ABSTIME : 0, &its, NULL);
}

/* Append t and the tickers chained to it by ->next (one ticker, or a
 * call's whole chain) to the worker's list. */
static void link_tickers(struct dp_worker *w, struct dp_ticker *t)
{
	struct dp_ticker **pp;
	uint32_t was = w->clk.n;

	for (pp = &w->clk.list; *pp; pp = &(*pp)->next)
		;
	*pp = t;
	for (; t; t = t->next)
		w->clk.n++;
	if (was == 0 && w->clk.n)
		arm(w, true);
}

/* Take t off the list, or every ticker of a moving call when t is NULL
 * (the control lcore set call->moving before it posted the command). */
static int unlink_tickers(struct dp_worker *w, struct dp_ticker *t)
{
	struct dp_ticker **pp = &w->clk.list;
	uint32_t was = w->clk.n;

	while (*pp) {
		if (*pp == t || (!t && (*pp)->call->moving)) {
			if (*pp == w->clk.cur) /* the tick in progress goes on with the next one */
				w->clk.cur = (*pp)->next;
			*pp = (*pp)->next;
			w->clk.n--;
		} else {
			pp = &(*pp)->next;
		}
	}
	if (was && w->clk.n == 0)
		arm(w, false);
	return w->clk.n < was ? 0 : -ENOENT;
}

void dp_clock_apply(struct dp_worker *w, struct dp_cmd *c)
{
	/* each command carries what it needs: the control lcore may change the
	 * call's own ticker list (next_in_call) meanwhile */
	switch (c->op) {
	case DP_CMD_TICKER_ADD:
		c->ticker->next = NULL;
		link_tickers(w, c->ticker);
		break;
	case DP_CMD_TICKER_DEL:
		c->result = unlink_tickers(w, c->ticker);
		break;
	case DP_CMD_CALL_TICKERS_ADD: /* a chain the control lcore linked while no worker had them */
		link_tickers(w, c->ticker);
		break;
	case DP_CMD_CALL_TICKERS_DEL:
		unlink_tickers(w, NULL);
		break;
	default:
		break;
	}
}

/* Run t for the worker's current deadline. A ticker that came from another
 * worker (a call's move) has its own last deadline: one this worker has
 * not reached yet is not run again, and the deadlines it missed while it
 * moved (at most DP_CLOCK_MAX_CATCHUP) run first, so that a ticker sees
 * every deadline once, in order, wherever it runs. One compare otherwise. */
static inline void run_ticker(struct dp_clock *k, struct dp_ticker *t)
{
	uint64_t d = t->last_ns + k->period_ns;

	if (unlikely(d != k->next_ns) && t->last_ns) {
		if (t->last_ns >= k->next_ns)
			return;
		if (k->next_ns - d <= DP_CLOCK_MAX_CATCHUP * k->period_ns)
			for (; d < k->next_ns; d += k->period_ns)
				t->fn(t->ctx, k->tick, d);
	}
	t->last_ns = k->next_ns;
	t->fn(t->ctx, k->tick, k->next_ns);
}

/* The tick in progress has run its last ticker. */
static void tick_done(struct dp_clock *k, uint64_t hz)
{
	uint64_t span_us = (rte_rdtsc() - k->tick_start_tsc) * 1000000u / hz;

	if (span_us > k->st.span_max_us)
		k->st.span_max_us = (uint32_t)RTE_MIN(span_us, (uint64_t)UINT32_MAX);
	k->tick++;
	k->st.ticks++;
	k->next_ns += k->period_ns;
}

/* One slice: go on with the tick in progress, or start the one due, and
 * run tickers until about slice_tsc cycles went by (at least one ticker);
 * then start the next tick in the same slice only if it is due and time is
 * left (with no budget, never: a whole tick a slice). What is left runs in
 * the next turn's slice, after that turn's packets: k->more tells the
 * worker loop not to sleep meanwhile. A tick's
 * lateness is how late its first ticker started; span_max_us is the
 * longest a tick took from its first ticker to the end of its last, the
 * packets served between its slices included. */
void dp_clock_run(struct dp_worker *w)
{
	struct dp_clock *k = &w->clk;
	uint64_t t0 = rte_rdtsc(), now, behind;
	bool ran = false;

	k->more = false;
	if (!k->list) {
		k->cur = NULL;
		k->in_tick = false;
		return;
	}
	now = mono_ns();
	for (;;) {
		if (!k->in_tick) { /* start the tick that is due, if one is */
			uint64_t late_us;

			if (now < k->next_ns)
				break;
			behind = (now - k->next_ns) / k->period_ns;
			if (behind > DP_CLOCK_MAX_CATCHUP) { /* too far behind: skip, stay on the grid */
				k->next_ns += (behind - DP_CLOCK_MAX_CATCHUP) * k->period_ns;
				k->st.missed += behind - DP_CLOCK_MAX_CATCHUP;
			}
			late_us = (now - k->next_ns) / 1000u;
			k->st.hist[dp_clock_bucket(late_us)]++;
			if (late_us > k->st.late_max_us)
				k->st.late_max_us = (uint32_t)(late_us > UINT32_MAX ? UINT32_MAX : late_us);
			k->cur = k->list;
			k->in_tick = true;
			k->tick_start_tsc = rte_rdtsc();
		}
		if (k->cur) { /* NULL: the tickers left in the tick were removed */
			ran = true;
			do {
				struct dp_ticker *t = k->cur;

				k->cur = t->next; /* first: a ticker may not touch the list, but be safe */
				run_ticker(k, t);
			} while (k->cur && rte_rdtsc() - t0 < k->slice_tsc);
			if (k->cur)
				break; /* the budget is spent in the middle of the tick */
		}
		tick_done(k, w->tsc_hz);
		k->in_tick = false;
		now = mono_ns();
		/* no budget: one whole tick a turn (a worker whose ticks take longer
		 * than the period still serves its commands and packets) */
		if (k->slice_tsc == UINT64_MAX || rte_rdtsc() - t0 >= k->slice_tsc)
			break;
	}
	k->st.slices += ran;
	k->more = k->in_tick || now >= k->next_ns;
	k->next_tsc = k->more ? 0 : rte_rdtsc() + (k->next_ns - now) * w->tsc_hz / 1000000000u;
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
	dp_worker_post(c->w, &cmd); /* cannot fail on the worker: no need to wait */
	*err = 0;
	t->next_in_call = c->tickers;
	c->tickers = t;
	return t;
}

void dp_tickers_detach(struct dp_call *set, struct dp_worker *from)
{
	struct dp_cmd del = { .op = DP_CMD_CALL_TICKERS_DEL };

	for (struct dp_call *c = set; c; c = c->move_next)
		if (c->tickers) {
			dp_worker_post(from, &del); /* one command: every ticker of every moving call */
			return;
		}
}

void dp_tickers_attach(struct dp_call *set, struct dp_worker *to)
{
	struct dp_cmd add = { .op = DP_CMD_CALL_TICKERS_ADD };
	struct dp_ticker **tail = &add.ticker;

	/* no worker has them (the caller flushed the old one): chain them, call
	 * by call in each call's order, and the new worker appends the whole
	 * chain at once */
	for (struct dp_call *c = set; c; c = c->move_next)
		for (struct dp_ticker *t = c->tickers; t; t = t->next_in_call) {
			*tail = t;
			tail = &t->next;
		}
	*tail = NULL;
	if (add.ticker)
		dp_worker_post(to, &add);
}

static void unlink_from_call(struct dp_ticker *t)
{
	struct dp_ticker **pp;

	for (pp = &t->call->tickers; *pp && *pp != t; pp = &(*pp)->next_in_call)
		;
	if (*pp)
		*pp = t->next_in_call;
}

void dp_ticker_remove(struct dp_ticker *t)
{
	struct dp_cmd cmd = { .op = DP_CMD_TICKER_DEL, .ticker = t };

	if (!t)
		return;
	unlink_from_call(t);
	dp_worker_exec(t->call->w, &cmd); /* waits: the caller may free ctx next */
	free(t);
}

/* After TICKER_DEL and a grace period: nothing can call fn any more. */
static void ticker_free(struct dp_cmd *c)
{
	if (c->release)
		c->release(c->ticker->ctx);
	free(c->ticker);
}

void dp_ticker_remove_deferred(struct dp_ticker *t, void (*release)(void *ctx))
{
	struct dp_cmd cmd = { .op = DP_CMD_TICKER_DEL, .ticker = t, .retire = ticker_free, .release = release };

	if (!t)
		return;
	unlink_from_call(t);
	dp_worker_post(t->call->w, &cmd);
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
		out->slices += k->st.slices;
		if (k->st.span_max_us > out->span_max_us)
			out->span_max_us = k->st.span_max_us;
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
