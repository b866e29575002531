/* Unit tests: the ng reply cache (control/ctl_cookie.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl_cookie.h"

static int get(struct ctl_cookie_cache *c, const char *k, uint64_t t, const char **r, size_t *n)
{
	return ctl_cookie_cache_get(c, k, strlen(k), t, r, n);
}

static void put(struct ctl_cookie_cache *c, const char *k, const char *v, uint64_t t)
{
	cr_assert_eq(ctl_cookie_cache_put(c, k, strlen(k), v, strlen(v), t), 0);
}

Test(cookie, hit_miss_and_expiry)
{
	struct ctl_cookie_cache *c = ctl_cookie_cache_create(8, 100);
	const char *r;
	size_t n;

	cr_assert_not_null(c);
	cr_assert_eq(get(c, "a", 0, &r, &n), -ENOENT);
	put(c, "a", "reply-a", 10);
	cr_assert_eq(get(c, "a", 50, &r, &n), 0);
	cr_assert_eq(n, 7);
	cr_assert(memcmp(r, "reply-a", 7) == 0);
	cr_assert_eq(get(c, "ab", 50, &r, &n), -ENOENT, "prefix of a key is not the key");
	cr_assert_eq(get(c, "a", 110, &r, &n), -ENOENT, "expired at put time + ttl");
	ctl_cookie_cache_destroy(c);
}

Test(cookie, replace_keeps_one_entry)
{
	struct ctl_cookie_cache *c = ctl_cookie_cache_create(4, 1000);
	const char *r;
	size_t n;

	put(c, "k", "one", 0);
	put(c, "k", "two", 1);
	cr_assert_eq(ctl_cookie_cache_count(c), 1);
	cr_assert_eq(get(c, "k", 2, &r, &n), 0);
	cr_assert(n == 3 && memcmp(r, "two", 3) == 0);
	ctl_cookie_cache_destroy(c);
}

Test(cookie, full_cache_evicts_oldest)
{
	struct ctl_cookie_cache *c = ctl_cookie_cache_create(3, 1000);
	const char *r;
	size_t n;

	put(c, "a", "1", 0);
	put(c, "b", "2", 1);
	put(c, "c", "3", 2);
	put(c, "d", "4", 3);
	cr_assert_eq(ctl_cookie_cache_count(c), 3);
	cr_assert_eq(get(c, "a", 4, &r, &n), -ENOENT);
	cr_assert_eq(get(c, "b", 4, &r, &n), 0);
	cr_assert_eq(get(c, "d", 4, &r, &n), 0);
	ctl_cookie_cache_destroy(c);
}

Test(cookie, churn_with_replacements_stays_consistent)
{
	struct ctl_cookie_cache *c = ctl_cookie_cache_create(16, 1000000);
	char k[16], v[16];
	const char *r;
	size_t n;

	for (int i = 0; i < 5000; i++) {
		snprintf(k, sizeof(k), "k%d", i % 40);
		snprintf(v, sizeof(v), "v%d", i);
		put(c, k, v, (uint64_t)i);
		cr_assert_leq(ctl_cookie_cache_count(c), 16);
		cr_assert_eq(get(c, k, (uint64_t)i, &r, &n), 0, "just-stored %s missing", k);
		cr_assert(n == strlen(v) && memcmp(r, v, n) == 0);
	}
	ctl_cookie_cache_destroy(c);
}

Test(cookie, bad_arguments)
{
	struct ctl_cookie_cache *c = ctl_cookie_cache_create(2, 10);
	char longk[CTL_COOKIE_MAX + 1];
	const char *r;
	size_t n;

	cr_assert_null(ctl_cookie_cache_create(0, 10));
	memset(longk, 'x', sizeof(longk));
	cr_assert_eq(ctl_cookie_cache_put(c, longk, sizeof(longk), "r", 1, 0), -EINVAL);
	cr_assert_eq(ctl_cookie_cache_put(c, "", 0, "r", 1, 0), -EINVAL);
	cr_assert_eq(ctl_cookie_cache_put(c, longk, CTL_COOKIE_MAX, "r", 1, 0), 0);
	cr_assert_eq(ctl_cookie_cache_get(c, longk, CTL_COOKIE_MAX, 1, &r, &n), 0);
	ctl_cookie_cache_destroy(c);
	ctl_cookie_cache_destroy(NULL);
}
