/* SPDX-License-Identifier: MIT
 * dp_clock: the media clock of a worker lcore (part of the dataplane's
 * door, included by dp.h).
 *
 * Terminated media (jitter buffers, decoding, mixing, encoding: mixer/)
 * runs on a clock, not on packet arrival. Each worker has one clock with
 * the period dp_media_conf.clock_ms (20 ms by default, 10 configurable).
 * It runs only while a ticker is registered on the worker, so an idle
 * worker takes no ticks:
 *  - a kernel-UDP worker sleeps in epoll; its clock is a timerfd in the
 *    same epoll set (absolute CLOCK_MONOTONIC deadlines, so ticks do not
 *    drift);
 *  - a worker that busy-polls ethdev ports checks the TSC on every turn.
 * Each tick calls every ticker of the worker once, in registration order,
 * on the worker lcore: a ticker must not block, lock, allocate or log.
 * A tick runs in slices so that it does not hold the worker's packets up:
 * a slice runs tickers until dp_media_conf.tick_slice_us went by (at least
 * one ticker; 0: the whole tick), after the packets of its turn, and the
 * rest of the tick runs in the next turns, each after that turn's packets
 * and commands. A ticker added during a tick runs in it if the tick has
 * not ended; one removed is skipped. A tick that comes late still runs.
 * Its lateness is how late its first ticker started (the histogram); how
 * long it took to its last ticker's end, packets between slices included,
 * is its span (the maximum is kept). When the worker falls more than
 * DP_CLOCK_MAX_CATCHUP periods behind, the missed ticks are skipped and
 * counted, and the clock resyncs.
 */
#ifndef DP_CLOCK_H
#define DP_CLOCK_H

#include <stdint.h>

struct dp_call;
struct dp_ticker;

#define DP_CLOCK_MAX_CATCHUP 4
/* The default of dp_media_conf.tick_slice_us, microseconds. */
#define DP_CLOCK_SLICE_US 250
/* The lateness histogram, in microseconds: exact below 8 us, then 4
 * buckets per octave (at most 25% wide) up to 2^16 us; the last bucket
 * holds everything from 65.536 ms up. */
#define DP_CLOCK_HIST_BUCKETS 61

/* fn(ctx, tick, deadline_ns) on the worker: tick counts this worker's
 * clock ticks, deadline_ns is the tick's due time (CLOCK_MONOTONIC), a
 * multiple of the period: every worker ticks on that one grid. A ticker
 * sees each deadline once and in order, also across a move of its call to
 * another worker (the deadlines it missed while moving run at once, at
 * most DP_CLOCK_MAX_CATCHUP of them); tick then jumps. */
typedef void (*dp_tick_fn)(void *ctx, uint64_t tick, uint64_t deadline_ns);

/* Run fn(ctx, ...) on every tick of the worker that serves call c, from
 * the first tick after the worker took the command (its next loop turn;
 * this does not wait for it); the call's tickers move with it
 * (dp_call_move and the others in dp_media.h). Control lcore. NULL with *err = -EINVAL
 * or -ENOMEM. */
struct dp_ticker *dp_ticker_add(struct dp_call *c, dp_tick_fn fn, void *ctx, int *err);
/* Stop and free the ticker: once this returns, fn is not running and will
 * not run again, so the caller may free ctx. For that it blocks until the
 * worker applied the removal (a wait in poll(2), not a spin; one loop turn
 * of the worker): use it only where ctx must be freed at once. NULL is
 * fine. dp_call_destroy removes what is left this way. */
void dp_ticker_remove(struct dp_ticker *t);
/* Stop the ticker without waiting: fn may still be running, or run once
 * more, until the worker takes the command. Once nothing can call fn any
 * more (the worker applied it and every worker passed a quiescent state),
 * release(ctx) runs on the control lcore (release may be NULL) and the
 * ticker is freed: from dp_workers_reclaim (dp.h), which the control
 * lcore's periodic timer and later commands run, at the latest when the
 * workers stop. NULL t is fine. */
void dp_ticker_remove_deferred(struct dp_ticker *t, void (*release)(void *ctx));

struct dp_clock_stats {
	uint32_t period_us;       /* the clock's period */
	uint32_t tickers;         /* registered now */
	uint64_t ticks;           /* ticks run */
	uint64_t missed;          /* ticks skipped after falling too far behind */
	uint64_t slices;          /* slices the ticks ran in (slices / ticks: the mean per tick) */
	uint32_t span_max_us;     /* the longest a tick took, first ticker to end of last, packets between included */
	uint32_t late_p50_us, late_p99_us, late_max_us; /* how late ticks ran (bucket upper bounds) */
	uint64_t hist[DP_CLOCK_HIST_BUCKETS];
};
/* The clock of worker lcore `lcore`, or of all workers summed (lcore < 0:
 * histograms merged, maxima taken). Returns 0 or -ENOENT. */
int dp_clock_get_stats(int lcore, struct dp_clock_stats *out);

/* The histogram bucket of a lateness of us microseconds, and the upper
 * bound (us) of bucket b. */
unsigned dp_clock_bucket(uint64_t us);
uint64_t dp_clock_bucket_max_us(unsigned b);
/* The p-th percentile (0 < p <= 100) of histogram h in microseconds: the
 * upper bound of the bucket where it falls; 0 for an empty histogram. */
uint32_t dp_clock_percentile(const uint64_t h[DP_CLOCK_HIST_BUCKETS], double p);

#endif
