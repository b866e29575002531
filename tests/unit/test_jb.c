/* SPDX-License-Identifier: MIT
 * The jitter buffer (mixer/mx_jb.c): ordering, duplicates, loss, lateness,
 * adaptation, restarts, driven by simulated arrival and tick times. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mx.h"

#define RATE 8000u
#define FRAME 160u  /* 20 ms at 8 kHz */
#define NMAX 4000

struct arrival {
	uint16_t seq;
	uint32_t ts, ssrc, at; /* at: arrival time in clock units */
	uint8_t pt;
};

struct sim {
	struct mx_jb *jb;
	_Alignas(8) uint8_t mem[1 << 17];
	uint16_t played[NMAX * 2];
	uint32_t played_at[NMAX * 2];
	uint8_t first_byte[NMAX * 2];
	unsigned n_played;
};

static struct sim S;

static void sim_init(uint32_t min_ms, uint32_t max_ms, uint16_t slots)
{
	struct mx_jb_conf c = { .clock_rate = RATE, .min_ms = min_ms, .max_ms = max_ms, .slots = slots,
				.max_payload = 200 };

	memset(&S, 0, sizeof(S));
	cr_assert_leq(mx_jb_memsize(&c), sizeof(S.mem));
	S.jb = mx_jb_init(S.mem, &c);
	cr_assert_not_null(S.jb);
}

static int by_arrival(const void *a, const void *b)
{
	const struct arrival *x = a, *y = b;

	return x->at < y->at ? -1 : x->at > y->at ? 1 : 0;
}

/* Feed the arrivals (sorted here) and tick every 20 ms from t0 to t_end:
 * at each tick, put what arrived up to then and pop what is due. */
static void run(struct arrival *a, unsigned n, uint32_t t0, uint32_t t_end)
{
	unsigned k = 0;
	struct dp_rtp_frame p;
	uint8_t payload[200];

	qsort(a, n, sizeof(*a), by_arrival);
	for (uint32_t t = t0; t <= t_end; t += FRAME) {
		for (; k < n && a[k].at <= t; k++) {
			struct dp_rtp_frame in = { .seq = a[k].seq, .ts = a[k].ts, .ssrc = a[k].ssrc, .pt = a[k].pt,
						.len = 160, .payload = payload };

			payload[0] = (uint8_t)a[k].seq;
			mx_jb_put(S.jb, &in, a[k].at, true);
		}
		while (mx_jb_pop(S.jb, t, &p)) {
			cr_assert_lt(S.n_played, NMAX * 2);
			S.played[S.n_played] = p.seq;
			S.played_at[S.n_played] = t;
			S.first_byte[S.n_played++] = p.payload[0];
			cr_assert_eq(p.len, 160);
		}
	}
}

/* n packets from seq0, ts = seq * FRAME, arriving at ts + 1000 + extra(i). */
static unsigned stream(struct arrival *a, unsigned n, uint16_t seq0, uint32_t ssrc, uint32_t (*extra)(unsigned))
{
	for (unsigned i = 0; i < n; i++) {
		a[i].seq = (uint16_t)(seq0 + i);
		a[i].ts = 100000u + i * FRAME;
		a[i].ssrc = ssrc;
		a[i].pt = 0;
		a[i].at = a[i].ts + 1000 + (extra ? extra(i) : 0);
	}
	return n;
}

static struct arrival A[NMAX];

static void expect_in_order(uint16_t seq0, unsigned n)
{
	cr_assert_eq(S.n_played, n, "played %u of %u", S.n_played, n);
	for (unsigned i = 0; i < n; i++) {
		cr_assert_eq(S.played[i], (uint16_t)(seq0 + i), "slot %u: seq %u", i, S.played[i]);
		cr_assert_eq(S.first_byte[i], (uint8_t)(seq0 + i), "payload of %u", i);
	}
}

Test(jb, steady_stream_plays_in_order_at_the_minimum_delay)
{
	struct mx_jb_stats st;

	sim_init(20, 300, 64);
	run(A, stream(A, 500, 1000, 7, NULL), 100000, 100000 + 520 * FRAME);
	expect_in_order(1000, 500);
	mx_jb_get_stats(S.jb, &st);
	cr_assert_eq(st.received, 500);
	cr_assert_eq(st.played, 500);
	cr_assert_eq(st.lost + st.late + st.duplicates + st.reordered + st.resets, 0);
	cr_assert_eq(st.delay_ms, 20);
	/* each packet waits its 20 ms and at most one tick more */
	for (unsigned i = 0; i < 500; i++) {
		uint32_t wait = S.played_at[i] - (100000u + i * FRAME + 1000);

		cr_assert(wait >= 160 && wait < 320, "packet %u waited %u", i, wait);
	}
}

static uint32_t jitter60(unsigned i) { return (uint32_t)((i * 2654435761u) >> 7) % 481; } /* 0..60 ms */

Test(jb, late_arrivals_within_the_spread_are_played_not_lost)
{
	struct mx_jb_stats st;

	sim_init(10, 300, 64);
	run(A, stream(A, 1000, 200, 9, jitter60), 100000, 100000 + 1040 * FRAME);
	mx_jb_get_stats(S.jb, &st);
	/* the first packets teach the buffer the spread; after the first
	 * second nothing may be late any more */
	for (unsigned i = 0; i < S.n_played; i++)
		if (i > 0)
			cr_assert_gt((uint16_t)(S.played[i] - S.played[i - 1]), 0);
	cr_assert_leq(st.late + st.lost, 20, "late %lu lost %lu", (unsigned long)st.late, (unsigned long)st.lost);
	cr_assert_gt(st.reordered, 100, "reordered %lu", (unsigned long)st.reordered);
	cr_assert(st.delay_ms >= 55 && st.delay_ms <= 61, "delay %u ms", st.delay_ms);
	/* after warm-up: every packet played, in order */
	{
		unsigned from = 0;

		while (S.played[from] < 300)
			from++;
		for (unsigned i = from; i < S.n_played; i++)
			cr_assert_eq(S.played[i], (uint16_t)(S.played[from] + (i - from)));
		cr_assert_eq(S.played[S.n_played - 1], (uint16_t)(200 + 999));
	}
}

Test(jb, warm_buffer_loses_nothing_to_60ms_of_jitter)
{
	struct mx_jb_stats st;
	unsigned n;

	/* a buffer whose minimum already covers the spread: exact */
	sim_init(60, 300, 64);
	n = stream(A, 1000, 65000, 3, jitter60); /* wraps past 65535 */
	run(A, n, 100000, 100000 + 1040 * FRAME);
	expect_in_order(65000, 1000);
	mx_jb_get_stats(S.jb, &st);
	cr_assert_eq(st.lost + st.late + st.duplicates, 0);
}

Test(jb, duplicates_held_or_played_are_dropped_and_counted)
{
	struct mx_jb_stats st;
	unsigned n = stream(A, 100, 10, 5, NULL);

	sim_init(20, 300, 64);
	A[n] = A[20]; /* while it is still held */
	A[n].at += 5;
	n++;
	A[n] = A[40]; /* after it was played */
	A[n].at += 400;
	n++;
	run(A, n, 100000, 100000 + 120 * FRAME);
	expect_in_order(10, 100);
	mx_jb_get_stats(S.jb, &st);
	cr_assert_eq(st.duplicates, 2);
	cr_assert_eq(st.late, 0);
}

Test(jb, a_missing_packet_is_lost_once_the_next_is_due_and_late_after)
{
	struct mx_jb_stats st;
	unsigned n = stream(A, 100, 10, 5, NULL);

	sim_init(20, 300, 64);
	A[30].at += 3000; /* 375 ms late: long after its turn */
	A[31].at = 0xffffffffu; /* never arrives */
	run(A, n, 100000, 100000 + 120 * FRAME);
	mx_jb_get_stats(S.jb, &st);
	cr_assert_eq(st.lost, 2);
	cr_assert_eq(st.late, 1);
	cr_assert_eq(S.n_played, 98);
	for (unsigned i = 0; i < S.n_played; i++)
		cr_assert(S.played[i] != 40 && S.played[i] != 41);
}

Test(jb, the_delay_shrinks_slowly_once_the_jitter_is_gone)
{
	struct mx_jb_stats st;
	unsigned n = stream(A, 1500, 0, 1, NULL);

	sim_init(10, 300, 64);
	for (unsigned i = 0; i < 200; i++) /* the first 4 s are jittery */
		A[i].at += jitter60(i);
	run(A, n, 100000, 100000 + 1520 * FRAME);
	mx_jb_get_stats(S.jb, &st);
	cr_assert_geq(st.delay_max_ms, 55);
	cr_assert_eq(st.delay_ms, 10, "delay %u ms after 26 s of clean media", st.delay_ms);
	/* the warm-up may lose a few; from packet 150 on every one is played */
	cr_assert_leq(st.late + st.lost, 20);
	{
		unsigned from = 0;

		while (S.played[from] < 150)
			from++;
		for (unsigned i = from; i < S.n_played; i++)
			cr_assert_eq(S.played[i], 150 + (i - from));
		cr_assert_eq(S.played[S.n_played - 1], 1499);
	}
	/* nothing is squeezed hard: never more than 2 packets in one tick */
	for (unsigned i = 2; i < S.n_played; i++)
		cr_assert(S.played_at[i] != S.played_at[i - 2], "3 packets in one tick at %u", i);
}

Test(jb, a_new_ssrc_or_a_renumbered_stream_restarts_it)
{
	struct mx_jb_stats st;
	unsigned n = stream(A, 50, 100, 1, NULL);

	n += stream(A + n, 50, 30000, 2, NULL); /* new SSRC, far-off numbers */
	for (unsigned i = 50; i < 100; i++) {
		A[i].ts += 50 * FRAME;
		A[i].at += 50 * FRAME;
	}
	sim_init(20, 300, 64);
	run(A, n, 100000, 100000 + 120 * FRAME);
	mx_jb_get_stats(S.jb, &st);
	cr_assert_eq(st.resets, 1);
	/* what the old stream still held when the new one came is dropped */
	cr_assert_leq(st.lost, 2);
	cr_assert_eq(S.n_played + st.lost, 100);
	cr_assert_eq(S.played[50 - st.lost], 30000);
	cr_assert_eq(S.played[99 - st.lost], 30049);
}

Test(jb, too_far_ahead_restarts_and_oversized_is_dropped)
{
	struct mx_jb_stats st;
	struct dp_rtp_frame p = { .seq = 1, .ts = 0, .ssrc = 1, .len = 160 }, q;
	uint8_t big[300] = { 0 };

	sim_init(20, 300, 16);
	p.payload = big;
	mx_jb_put(S.jb, &p, 0, true);
	p.seq = 2;
	p.ts = 160;
	mx_jb_put(S.jb, &p, 160, true);
	p.seq = 40; /* 38 ahead of a 16-slot buffer, before the held ones are due */
	p.ts = 39 * 160;
	cr_assert_eq(mx_jb_put(S.jb, &p, 150, true), 0);
	mx_jb_get_stats(S.jb, &st);
	cr_assert_eq(st.early, 1, "a lone packet far ahead is dropped");
	cr_assert_eq(st.held, 2);
	p.seq = 41; /* the next one confirms the jump */
	p.ts = 40 * 160;
	cr_assert_eq(mx_jb_put(S.jb, &p, 155, true), 0);
	p.seq = 42;
	p.len = 300;
	mx_jb_put(S.jb, &p, 158, true);
	mx_jb_get_stats(S.jb, &st);
	cr_assert_eq(st.resets, 1);
	cr_assert_eq(st.lost, 2, "what was held before the jump");
	cr_assert_eq(st.oversized, 1);
	cr_assert_eq(st.held, 1);
	cr_assert_eq(mx_jb_pop(S.jb, 155 + 160, &q), 1);
	cr_assert_eq(q.seq, 41);
	cr_assert_eq(mx_jb_pop(S.jb, 100000, &q), 0);
}

Test(jb, bad_configurations_are_refused)
{
	struct mx_jb_conf c = { .clock_rate = RATE, .min_ms = 20, .max_ms = 300, .slots = 64, .max_payload = 200 };

	cr_assert_gt(mx_jb_memsize(&c), 0);
	c.slots = 48;
	cr_assert_eq(mx_jb_memsize(&c), 0);
	c.slots = 64;
	c.min_ms = 400;
	cr_assert_eq(mx_jb_memsize(&c), 0);
	c.min_ms = 20;
	c.clock_rate = 0;
	cr_assert_eq(mx_jb_memsize(&c), 0);
	cr_assert_null(mx_jb_init(S.mem, &c));
}

Test(jb, a_hole_then_a_long_run_slides_the_window_instead_of_restarting)
{
	struct mx_jb_stats st;
	unsigned n = stream(A, 150, 100, 4, NULL);

	/* packets 0-49 came and were played long ago; 50-99 never come; 100
	 * on arrive with a delay of 300 ms, so the hole is not given up until
	 * 100 is due, while 114 and more have already come */
	sim_init(300, 300, 64);
	{
		struct dp_rtp_frame p = { .seq = 49, .ts = 100000u - 51 * FRAME, .ssrc = 4, .len = 160 }, q;
		uint8_t pl[160] = { 0 };

		p.payload = pl;
		mx_jb_put(S.jb, &p, 100000u - 51 * FRAME + 1000, true);
		cr_assert_eq(mx_jb_pop(S.jb, 100000u, &q), 1);
	}
	run(A, n, 100000, 100000 + 200 * FRAME);
	mx_jb_get_stats(S.jb, &st);
	cr_assert_eq(st.early + st.resets, 0);
	cr_assert_eq(st.lost, 50);
	cr_assert_eq(S.n_played, 150);
	cr_assert_eq(S.played[0], 100);
	cr_assert_eq(S.played[149], 249);
}

Test(jb, a_new_stream_starts_at_the_start_delay_and_plays_early_jitter)
{
	struct mx_jb_conf c = { .clock_rate = RATE, .min_ms = 10, .max_ms = 300, .start_ms = 60, .slots = 64,
				.max_payload = 200 };
	struct mx_jb_stats st;
	unsigned n = stream(A, 500, 300, 6, jitter60);

	memset(&S, 0, sizeof(S));
	S.jb = mx_jb_init(S.mem, &c);
	run(A, n, 100000, 100000 + 520 * FRAME);
	mx_jb_get_stats(S.jb, &st);
	/* 0-60 ms of jitter from the very first packet: nothing late, nothing lost */
	cr_assert_eq(st.late + st.lost, 0, "late %lu lost %lu", (unsigned long)st.late, (unsigned long)st.lost);
	expect_in_order(300, 500);
}

Test(jb, a_packet_older_than_the_first_played_is_late_and_lost)
{
	struct mx_jb_stats st;
	unsigned n = stream(A, 50, 1000, 8, NULL);

	sim_init(20, 300, 64);
	A[0].at += 2000; /* the stream's first packet comes 250 ms late, after play-out began */
	run(A, n, 100000, 100000 + 80 * FRAME);
	mx_jb_get_stats(S.jb, &st);
	cr_assert_eq(st.late, 1);
	cr_assert_eq(st.lost, 1, "counted lost too, though play-out never waited for it");
	cr_assert_eq(S.n_played, 49);
	cr_assert_eq(S.played[0], 1001);
}

Test(jb, a_worker_behind_its_ticks_plays_out_before_it_drops)
{
	struct mx_jb_stats st;
	struct dp_rtp_frame p = { .ssrc = 9, .len = 160 }, q;
	uint8_t pl[160] = { 0 };
	unsigned played = 0;

	sim_init(20, 300, 16);
	p.payload = pl;
	for (uint16_t k = 1; k <= 16; k++) { /* no tick runs: 16 packets pile up */
		p.seq = k;
		p.ts = k * FRAME;
		cr_assert_eq(mx_jb_put(S.jb, &p, k * FRAME, true), 0);
	}
	p.seq = 17;
	p.ts = 17 * FRAME;
	cr_assert_eq(mx_jb_put(S.jb, &p, 17 * FRAME, true), -ENOBUFS, "full of packets already due: play them first");
	mx_jb_get_stats(S.jb, &st);
	cr_assert_eq(st.received, 16, "the refused put counted nothing");
	while (mx_jb_pop(S.jb, 17 * FRAME, &q))
		cr_assert_eq(q.seq, ++played);
	cr_assert_eq(played, 16);
	cr_assert_eq(mx_jb_put(S.jb, &p, 17 * FRAME, true), 0);
	cr_assert_eq(mx_jb_pop(S.jb, 18 * FRAME + 160, &q), 1);
	cr_assert_eq(q.seq, 17);
	mx_jb_get_stats(S.jb, &st);
	cr_assert_eq(st.lost + st.early + st.resets + st.late, 0);
	cr_assert_eq(st.played, 17);
}

/* A direct put, for the tests below. */
static int put1(uint16_t seq, uint32_t ts, uint32_t at)
{
	uint8_t b[4] = { (uint8_t)seq };
	struct dp_rtp_frame p = { .pt = 0, .seq = seq, .ts = ts, .ssrc = 7, .payload = b, .len = sizeof(b) };

	return mx_jb_put(S.jb, &p, at, true);
}

Test(jb, due_ts_is_what_pop_would_release)
{
	struct dp_rtp_frame p;
	uint32_t due;

	sim_init(40, 300, 64);
	cr_assert_not(mx_jb_due_ts(S.jb, 1000, &due), "no timing before the first packet");
	cr_assert_eq(put1(1, 5000, 9000), 0); /* transit 4000, delay starts at min 40 ms = 320 */
	cr_assert(mx_jb_due_ts(S.jb, 9319, &due));
	cr_assert_eq(due, 4999);
	cr_assert_eq(mx_jb_pop(S.jb, 9319, &p), 0, "not due one tick before");
	cr_assert(mx_jb_due_ts(S.jb, 9320, &due));
	cr_assert_eq(due, 5000);
	cr_assert_eq(mx_jb_pop(S.jb, 9320, &p), 1);
	cr_assert_eq(p.seq, 1);
}

Test(jb, a_packet_behind_the_floor_is_late_and_its_number_lost)
{
	struct mx_jb_stats st;
	struct dp_rtp_frame p;

	sim_init(40, 300, 64);
	cr_assert_eq(put1(1, 0, 100), 0);
	cr_assert_eq(mx_jb_pop(S.jb, 100 + 320, &p), 1);
	/* the clock concealed seq 2's 20 ms (ts 160..320) */
	mx_jb_set_floor(S.jb, 320);
	cr_assert_eq(put1(2, 160, 100 + 160 + 330), 0);
	cr_assert_eq(put1(3, 320, 100 + 320 + 5), 0);
	mx_jb_get_stats(S.jb, &st);
	cr_assert_eq(st.late, 1);
	cr_assert_eq(st.held, 1, "seq 2 is not held");
	cr_assert_eq(mx_jb_pop(S.jb, 100 + 320 + 320, &p), 1);
	cr_assert_eq(p.seq, 3);
	mx_jb_get_stats(S.jb, &st);
	cr_assert_eq(st.lost, 1, "the hole seq 2 left is given up");
	cr_assert_eq(st.played, 2);
	cr_assert_eq(st.received, st.played + st.late);
	/* a new stream forgets the floor */
	{
		uint8_t b[4] = { 0 };
		struct dp_rtp_frame q = { .seq = 500, .ts = 100, .ssrc = 8, .payload = b, .len = 4 };

		cr_assert_eq(mx_jb_put(S.jb, &q, 5000, true), 0);
		mx_jb_get_stats(S.jb, &st);
		cr_assert_eq(st.late, 1);
		cr_assert_eq(st.held, 1);
	}
}

Test(jb, a_dtx_pause_is_neither_loss_nor_jitter)
{
	struct mx_jb_stats st;
	unsigned n = stream(A, 300, 4000, 9, NULL);

	/* DTX: after packet 100 the sender sends one packet per 400 ms for
	 * 2 s, then talks again; sequence numbers stay contiguous, timestamps
	 * (and arrivals) jump with the silence */
	for (unsigned i = 101; i < n; i++) {
		uint32_t shift = i <= 105 ? (i - 100) * 19 * FRAME : 5 * 19 * FRAME;

		A[i].ts += shift;
		A[i].at += shift;
	}
	sim_init(20, 300, 64);
	run(A, n, 100000, A[n - 1].at + 40 * FRAME);
	expect_in_order(4000, n);
	mx_jb_get_stats(S.jb, &st);
	cr_assert_eq(st.lost, 0);
	cr_assert_eq(st.late, 0);
	cr_assert_eq(st.resets, 0);
	cr_assert_leq(st.delay_max_ms, 60, "the pauses did not raise the delay: %u ms", st.delay_max_ms);
	for (unsigned i = 1; i < S.n_played; i++) /* each played 1 tick after it arrived, pauses included */
		cr_assert_leq(S.played_at[i] - A[i].at, (st.delay_max_ms + 20) * 8u, "packet %u", i);
}

Test(jb, audio_levels_travel_with_their_packets)
{
	/* 20 packets, put in a shuffled order with levels seq % 128 (every
	 * third without one), popped in sequence order with their own */
	static const unsigned order[20] = { 0, 2, 1, 3, 5, 4, 6, 7, 9, 8, 10, 12, 11, 13, 14, 16, 15, 17, 19, 18 };
	struct dp_rtp_frame p;
	uint8_t payload[4] = { 0 };
	int level;
	unsigned n = 0;

	sim_init(40, 200, 64);
	for (unsigned i = 0; i < 20; i++) {
		unsigned k = order[i];
		struct dp_rtp_frame in = { .seq = (uint16_t)(500 + k), .ts = 1000u + k * FRAME, .ssrc = 7, .len = 4,
					   .payload = payload };

		cr_assert_eq(mx_jb_put_level(S.jb, &in, 1000u + 5000u + k * FRAME, true, k % 3 ? (int)(k * 6) : -1), 0);
	}
	while (mx_jb_pop_level(S.jb, 1000u + 5000u + 40 * FRAME, &p, &level)) {
		unsigned k = (uint16_t)(p.seq - 500);

		cr_assert_eq(k, n, "in order");
		cr_assert_eq(level, k % 3 ? (int)(k * 6) : -1, "packet %u: level %d", k, level);
		n++;
	}
	cr_assert_eq(n, 20);
	/* out of range: none */
	{
		struct dp_rtp_frame in = { .seq = 600, .ts = 100000, .ssrc = 7, .len = 4, .payload = payload };

		mx_jb_put_level(S.jb, &in, 200000, true, 200);
		cr_assert(mx_jb_pop_level(S.jb, 400000, &p, &level));
		cr_assert_eq(level, -1);
	}
}
