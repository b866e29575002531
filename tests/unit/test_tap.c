/* SPDX-License-Identifier: MIT
 * Taps (mixer/mx_tap.c): a single-producer single-consumer ring that never
 * blocks its producer. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "mx.h"

static void frame(struct mx_tap_frame *f, uint32_t len)
{
	memset(f, 0, sizeof(*f));
	f->kind = MX_TAP_PCM_IN;
	f->rate = 8000;
	f->channels = 1;
	f->len = len;
}

Test(tap, frames_come_out_in_order_with_their_bytes)
{
	struct mx_tap *t = mx_tap_create(8, 64);
	struct mx_tap_frame f, g;
	uint8_t d[64], out[64];
	struct mx_tap_stats st;

	cr_assert_not_null(t);
	for (int i = 0; i < 5; i++) {
		memset(d, i + 1, sizeof(d));
		frame(&f, (uint32_t)(10 + i));
		cr_assert(mx_tap_put(t, &f, d));
	}
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(mx_tap_get(t, &g, out, sizeof(out)), 1);
		cr_assert_eq(g.len, (uint32_t)(10 + i));
		cr_assert_eq(g.seq, (uint32_t)i);
		cr_assert_eq(out[0], i + 1);
		cr_assert_eq(out[g.len - 1], i + 1);
	}
	cr_assert_eq(mx_tap_get(t, &g, out, sizeof(out)), 0);
	mx_tap_get_stats(t, &st);
	cr_assert_eq(st.put, 5);
	cr_assert_eq(st.got, 5);
	cr_assert_eq(st.overruns, 0);
	mx_tap_destroy(t);
}

Test(tap, a_full_ring_drops_and_counts_and_marks_the_gap)
{
	struct mx_tap *t = mx_tap_create(4, 16);
	struct mx_tap_frame f, g;
	uint8_t d[32] = { 0 }, out[16];
	struct mx_tap_stats st;

	for (int i = 0; i < 6; i++) {
		frame(&f, 8);
		cr_assert_eq(mx_tap_put(t, &f, d), i < 4);
	}
	frame(&f, 32); /* larger than a slot */
	cr_assert(!mx_tap_put(t, &f, d));
	mx_tap_get_stats(t, &st);
	cr_assert_eq(st.put, 4);
	cr_assert_eq(st.overruns, 3);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(mx_tap_get(t, &g, out, sizeof(out)), 1);
	frame(&f, 8);
	cr_assert(mx_tap_put(t, &f, d));
	cr_assert_eq(mx_tap_get(t, &g, out, sizeof(out)), 1);
	cr_assert_eq(g.seq, 7, "the frame after 3 overruns is number 7, not 4");
	mx_tap_destroy(t);
}

Test(tap, bad_sizes_are_refused)
{
	cr_assert_null(mx_tap_create(3, 16));
	cr_assert_null(mx_tap_create(1, 16));
	cr_assert_null(mx_tap_create(8, 0));
	mx_tap_destroy(NULL);
}

#define N_FRAMES 200000

static struct mx_tap *T;
static atomic_bool stop_consumer;
static atomic_int consumer_stall_ms;

static void *consumer(void *arg)
{
	struct mx_tap_frame f;
	uint32_t buf[16], expect = 0;
	uint64_t *bad = arg;

	while (!atomic_load(&stop_consumer)) {
		int ms = atomic_exchange(&consumer_stall_ms, 0);

		if (ms) {
			struct timespec ts = { 0, ms * 1000000L };

			nanosleep(&ts, NULL);
		}
		while (mx_tap_get(T, &f, buf, sizeof(buf))) {
			if (f.seq < expect || buf[0] != f.seq || buf[f.len / 4 - 1] != ~f.seq)
				(*bad)++;
			expect = f.seq + 1;
		}
	}
	return NULL;
}

Test(tap, two_threads_see_every_frame_whole_and_a_stall_never_blocks_the_producer)
{
	pthread_t th;
	uint64_t bad = 0;
	struct mx_tap_stats st;
	uint32_t d[16];
	struct timespec t0, t1;

	T = mx_tap_create(256, sizeof(d));
	cr_assert_eq(pthread_create(&th, NULL, consumer, &bad), 0);
	atomic_store(&consumer_stall_ms, 300);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t i = 0; i < N_FRAMES; i++) {
		struct mx_tap_frame f;

		frame(&f, sizeof(d));
		d[0] = i;
		d[15] = ~i;
		mx_tap_put(T, &f, d); /* seq is i: put + overruns */
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	atomic_store(&stop_consumer, true);
	pthread_join(th, NULL);
	while (mx_tap_get(T, &(struct mx_tap_frame){ 0 }, d, sizeof(d)))
		;
	mx_tap_get_stats(T, &st);
	cr_assert_eq(bad, 0, "%lu frames torn or out of order", (unsigned long)bad);
	cr_assert_eq(st.put + st.overruns, N_FRAMES);
	cr_assert_gt(st.overruns, 0, "the stalled consumer must have cost frames");
	cr_assert_eq(st.got, st.put);
	mx_tap_destroy(T);
}
