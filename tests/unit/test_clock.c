/* SPDX-License-Identifier: MIT
 * The media clock's lateness histogram (dataplane/dp_clock.c): buckets,
 * their bounds and percentiles. The clock itself runs in the integration
 * test `clock` (tests/integration/test_clock.py). */
#include <criterion/criterion.h>
#include <string.h>

#include "dp.h"

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
