/* SPDX-License-Identifier: MIT
 * perf_jb: what a jitter buffer's put and pop cost per packet when many
 * participants' buffers share one worker's caches (mixer/ mx_jb). N
 * buffers each take one 160-byte G.711 packet per round, round robin, and
 * play it out, as a worker with N participants does every 20 ms; rounds
 * 50..300 are timed (TSC). Printed for 100 buffers (they stay in cache)
 * and for 1,000 and 4,000 (they do not), with the ratio to 100 in the
 * same run: how much a participant's buffer costs more once thousands
 * share the worker. Each size runs 5 times; the best is printed.
 *
 *   perf_jb [N...]     (default 100 1000 4000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "mx.h"

#define ROUNDS 300
#define WARM 50

static double run(unsigned n)
{
	struct mx_jb_conf c = { .clock_rate = 8000, .min_ms = 10, .max_ms = 300, .start_ms = 60,
				.slots = MX_JB_SLOTS_DEFAULT, .max_payload = 960 };
	size_t sz = (mx_jb_memsize(&c) + 63) & ~(size_t)63;
	struct mx_jb **jb = calloc(n, sizeof(*jb));
	uint8_t pl[160];
	uint64_t t0 = 0, ops = 0, sum = 0;

	memset(pl, 0x55, sizeof(pl));
	for (unsigned i = 0; jb && i < n; i++)
		if (!(jb[i] = mx_jb_init(aligned_alloc(64, sz), &c)))
			return -1;
	for (unsigned r = 0; jb && r < ROUNDS; r++) {
		if (r == WARM) {
			t0 = __rdtsc();
			ops = 0;
		}
		for (unsigned i = 0; i < n; i++) {
			struct dp_rtp_frame f = { .seq = (uint16_t)r, .ts = r * 160, .ssrc = i + 1, .len = 160, .payload = pl };
			struct dp_rtp_frame o;

			mx_jb_put(jb[i], &f, r * 160 + 1, true);
			while (mx_jb_pop(jb[i], r * 160 + 1 + 480, &o) == 1)
				sum += o.payload[7]; /* the consumer reads what it got */
			ops++;
		}
	}
	if (jb && !sum)
		fprintf(stderr, "perf_jb: nothing was played out\n");
	for (unsigned i = 0; jb && i < n; i++)
		free(jb[i]);
	free(jb);
	return ops ? (double)(__rdtsc() - t0) / (double)ops : -1;
}

int main(int argc, char **argv)
{
	unsigned sizes[8] = { 100, 1000, 4000 }, ns = 3;
	double base;

	if (argc > 1) {
		ns = 0;
		for (int i = 1; i < argc && ns < 8; i++)
			sizes[ns++] = (unsigned)strtoul(argv[i], NULL, 10);
	}
	printf("perf_jb: mx_jb put + pop of one 160-byte packet per buffer and round, TSC cycles (the best of 5 runs)\n");
	for (unsigned i = 0; i < ns; i++) {
		double c = -1;

		for (int k = 0; k < 5; k++) {
			double x = run(sizes[i]);

			if (c < 0 || (x >= 0 && x < c))
				c = x;
		}
		if (!i)
			base = c;

		printf("%6u buffers: %6.0f cycles per packet  (x%.2f of %u)\n", sizes[i], c, c / base, sizes[0]);
	}
	return 0;
}
