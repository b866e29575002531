/* SPDX-License-Identifier: MIT
 * Unit tests for control/ctl_limit: the token bucket on an injected clock,
 * the ng request rate (global and per source) and the call limits. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "ctl_limit.h"

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(port) };

	cr_assert_eq(inet_pton(AF_INET, ip, &s.sin_addr), 1);
	return s;
}

static unsigned takes(struct ctl_bucket *b, uint32_t rate, uint32_t burst, uint64_t now, unsigned tries)
{
	unsigned n = 0;

	for (unsigned i = 0; i < tries; i++)
		n += ctl_bucket_take(b, rate, burst, now);
	return n;
}

Test(limit, bucket_starts_full_then_refills_at_the_rate)
{
	struct ctl_bucket b = { 0 };

	/* at t=0 (a clock that starts at 0 is fine) the burst is there */
	cr_assert_eq(takes(&b, 10, 10, 0, 100), 10);
	cr_assert_eq(takes(&b, 10, 10, 0, 100), 0);
	/* 10 per second: one every 100 ms; 99 ms is not enough */
	cr_assert_eq(takes(&b, 10, 10, 99, 5), 0);
	cr_assert_eq(takes(&b, 10, 10, 100, 5), 1);
	cr_assert_eq(takes(&b, 10, 10, 150, 5), 0);
	/* fractions carry over: 50 ms + 50 ms is one token */
	cr_assert_eq(takes(&b, 10, 10, 200, 5), 1);
	/* a long pause refills to the burst, not beyond */
	cr_assert_eq(takes(&b, 10, 10, 1000000, 100), 10);
	/* a clock that goes back does not add tokens or wrap */
	cr_assert_eq(takes(&b, 10, 10, 500, 100), 0);
}

Test(limit, bucket_over_a_simulated_minute)
{
	struct ctl_bucket b = { 0 };
	unsigned got = 0;

	/* a client asking every millisecond for 60 s at 50/s gets the burst
	 * plus 50 a second, within one */
	for (uint64_t t = 1000; t < 61000; t++)
		got += ctl_bucket_take(&b, 50, 50, t);
	cr_assert(got >= 50 + 50 * 60 - 1 && got <= 50 + 50 * 60 + 1, "got %u", got);
}

Test(limit, bucket_high_rates_do_not_overflow)
{
	struct ctl_bucket b = { 0 };

	cr_assert_eq(takes(&b, 10000000, 10000000, 1, 1000), 1000);
	cr_assert_eq(takes(&b, 10000000, 10000000, UINT64_MAX / 2, 1000), 1000);
	cr_assert_eq(takes(&b, 4000000000u, 4000000000u, UINT64_MAX - 5, 10), 10);
}

Test(limit, request_rate_per_source_and_global)
{
	struct ctl_limit_conf conf = { .max_ng_rps = 30, .max_ng_rps_per_source = 10 };
	struct ctl_limit *l = ctl_limit_create(&conf);
	struct sockaddr_in a = v4("10.0.0.1", 5060), a2 = v4("10.0.0.1", 5070), b = v4("10.0.0.2", 5060),
			   c = v4("10.0.0.3", 5060), d = v4("10.0.0.4", 5060);
	unsigned ok = 0, rs = 0;

	for (int i = 0; i < 15; i++) {
		enum ctl_refusal r = ctl_limit_request(l, (struct sockaddr *)(i % 2 ? &a : &a2), 5000);

		ok += r == CTL_REFUSE_NONE;
		rs += r == CTL_REFUSE_RATE_SOURCE;
	}
	/* the port does not matter: one address, one bucket */
	cr_assert_eq(ok, 10);
	cr_assert_eq(rs, 5);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(ctl_limit_request(l, (struct sockaddr *)&b, 5000), CTL_REFUSE_NONE);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(ctl_limit_request(l, (struct sockaddr *)&c, 5000), CTL_REFUSE_NONE);
	/* 30 taken from the global bucket: the fourth source is refused globally */
	cr_assert_eq(ctl_limit_request(l, (struct sockaddr *)&d, 5000), CTL_REFUSE_RATE);
	/* a second later both refill */
	cr_assert_eq(ctl_limit_request(l, (struct sockaddr *)&a, 6000), CTL_REFUSE_NONE);
	cr_assert_eq(ctl_limit_request(l, (struct sockaddr *)&d, 6000), CTL_REFUSE_NONE);
	ctl_limit_destroy(l);
}

Test(limit, no_limits_refuse_nothing)
{
	struct ctl_limit_conf conf = { 0 };
	struct ctl_limit *l = ctl_limit_create(&conf);
	struct sockaddr_in a = v4("10.0.0.1", 5060);
	struct ctl_limit_src *held;
	char why[160];

	for (int i = 0; i < 100000; i++)
		cr_assert_eq(ctl_limit_request(l, (struct sockaddr *)&a, 1), CTL_REFUSE_NONE);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(ctl_limit_call_add(l, (struct sockaddr *)&a, &held, why, sizeof(why)), 0);
	ctl_limit_destroy(l);
}

Test(limit, calls_per_source_and_global)
{
	struct ctl_limit_conf conf = { .max_calls = 5, .max_calls_per_source = 3 };
	struct ctl_limit *l = ctl_limit_create(&conf);
	struct sockaddr_in a = v4("10.0.0.1", 5060), b = v4("10.0.0.2", 5060);
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct ctl_limit_src *ha[3], *hb[2], *h;
	struct ctl_limit_stats st;
	char why[160];

	for (int i = 0; i < 3; i++)
		cr_assert_eq(ctl_limit_call_add(l, (struct sockaddr *)&a, &ha[i], why, sizeof(why)), 0);
	cr_assert_eq(ctl_limit_call_add(l, (struct sockaddr *)&a, &h, why, sizeof(why)), -EBUSY);
	cr_assert(strstr(why, "max_calls_per_source") && strstr(why, "10.0.0.1"), "%s", why);
	/* the same address as IPv4-mapped IPv6 is the same source */
	inet_pton(AF_INET6, "::ffff:10.0.0.1", &a6.sin6_addr);
	cr_assert_eq(ctl_limit_call_add(l, (struct sockaddr *)&a6, &h, why, sizeof(why)), -EBUSY);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(ctl_limit_call_add(l, (struct sockaddr *)&b, &hb[i], why, sizeof(why)), 0);
	/* 5 calls: the global limit */
	cr_assert_eq(ctl_limit_call_add(l, NULL, &h, why, sizeof(why)), -EBUSY);
	cr_assert(strstr(why, "max_calls)"), "%s", why);
	ctl_limit_get_stats(l, &st);
	cr_assert_eq(st.calls, 5);
	cr_assert_eq(st.calls_refused, 1);
	cr_assert_eq(st.calls_refused_source, 2);
	/* one of a's calls ends: a may have one more */
	ctl_limit_call_gone(l, ha[1]);
	cr_assert_eq(ctl_limit_call_add(l, (struct sockaddr *)&a, &ha[1], why, sizeof(why)), 0);
	cr_assert_eq(ctl_limit_call_add(l, (struct sockaddr *)&a, &h, why, sizeof(why)), -EBUSY);
	for (int i = 0; i < 3; i++)
		ctl_limit_call_gone(l, ha[i]);
	for (int i = 0; i < 2; i++)
		ctl_limit_call_gone(l, hb[i]);
	ctl_limit_get_stats(l, &st);
	cr_assert_eq(st.calls, 0);
	/* sources without calls are forgotten once idle */
	cr_assert_eq(st.sources, 2);
	ctl_limit_request(l, NULL, 100000);
	ctl_limit_get_stats(l, &st);
	cr_assert_eq(st.sources, 0);
	ctl_limit_destroy(l);
}

Test(limit, memory_budget_refuses_new_calls_only_over_it)
{
	struct ctl_limit_conf conf = { .max_memory_mb = 100 };
	struct ctl_limit *l = ctl_limit_create(&conf);
	struct ctl_limit_src *h;
	struct ctl_limit_stats st;
	char why[160];

	ctl_limit_memory(l, 100 * 1024 - 1); /* just under: served */
	cr_assert_eq(ctl_limit_call_add(l, NULL, &h, why, sizeof(why)), 0);
	ctl_limit_memory(l, 100 * 1024); /* at the budget: refused */
	cr_assert_eq(ctl_limit_call_add(l, NULL, &h, why, sizeof(why)), -ENOMEM);
	cr_assert_str_eq(why, "Memory limit reached: 100 MB in use of 100 MB (max_memory_mb)");
	ctl_limit_memory(l, 250 * 1024);
	cr_assert_eq(ctl_limit_call_add(l, NULL, &h, why, sizeof(why)), -ENOMEM);
	ctl_limit_get_stats(l, &st);
	cr_assert_eq(st.calls_refused_memory, 2);
	cr_assert_eq(st.calls, 1, "a refused call is not counted");
	cr_assert_eq(st.rss_kb, 250 * 1024);
	/* a reload raises it: served again; 0 turns it off */
	ctl_limit_set_max_memory(l, 300);
	cr_assert_eq(ctl_limit_call_add(l, NULL, &h, why, sizeof(why)), 0);
	ctl_limit_set_max_memory(l, 0);
	ctl_limit_memory(l, UINT64_MAX / 2);
	cr_assert_eq(ctl_limit_call_add(l, NULL, &h, why, sizeof(why)), 0);
	ctl_limit_destroy(l);
}

Test(limit, memory_budget_refuses_other_new_things_and_counts_them_apart)
{
	struct ctl_limit_conf conf = { .max_memory_mb = 100 };
	struct ctl_limit *l = ctl_limit_create(&conf);
	struct ctl_limit_stats st;
	char why[192] = "";

	ctl_limit_memory(l, 100 * 1024 - 1); /* just under: served, nothing written */
	cr_assert_eq(ctl_limit_memory_check(l, "recording", why, sizeof(why)), 0);
	cr_assert_str_eq(why, "");
	ctl_limit_memory(l, 100 * 1024);
	cr_assert_eq(ctl_limit_memory_check(l, "room", why, sizeof(why)), -ENOMEM);
	cr_assert_str_eq(why, "Memory limit reached: 100 MB in use of 100 MB (max_memory_mb): no new room");
	cr_assert_eq(ctl_limit_memory_check(l, "tap", why, sizeof(why)), -ENOMEM);
	ctl_limit_get_stats(l, &st);
	cr_assert_eq(st.requests_refused_memory, 2);
	cr_assert_eq(st.calls_refused_memory, 0, "counted apart from refused calls");
	ctl_limit_set_max_memory(l, 0); /* off */
	cr_assert_eq(ctl_limit_memory_check(l, "tap", why, sizeof(why)), 0);
	cr_assert_eq(ctl_limit_memory_check(NULL, "tap", why, sizeof(why)), 0, "no limiter: nothing to refuse");
	ctl_limit_destroy(l);
}
