/* SPDX-License-Identifier: MIT
 * Unit tests for dataplane/dp_eal: the pure parts (hugepage accounting and
 * the EAL argument vector). EAL itself is never started here. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dp.h"

/* ---- dp_hugepages_free_mb ---- */

static const char meminfo_none[] =
	"MemTotal:       16318412 kB\n"
	"MemFree:         9034232 kB\n"
	"MemAvailable:   12780144 kB\n"
	"HugePages_Total:       0\n"
	"HugePages_Free:        0\n"
	"HugePages_Rsvd:        0\n"
	"HugePages_Surp:        0\n"
	"Hugepagesize:       2048 kB\n"
	"Hugetlb:               0 kB\n"
	"DirectMap4k:      413504 kB\n";

static const char meminfo_2m[] =
	"MemTotal:       16318412 kB\n"
	"MemFree:         9034232 kB\n"
	"HugePages_Total:     600\n"
	"HugePages_Free:      512\n"
	"HugePages_Rsvd:        0\n"
	"HugePages_Surp:        0\n"
	"Hugepagesize:       2048 kB\n"
	"Hugetlb:         1228800 kB\n";

static const char meminfo_1g[] =
	"MemTotal:       65818412 kB\n"
	"HugePages_Total:       8\n"
	"HugePages_Free:        3\n"
	"HugePages_Rsvd:        0\n"
	"HugePages_Surp:        0\n"
	"Hugepagesize:    1048576 kB\n"
	"Hugetlb:         8388608 kB\n";

Test(hugepages, none)
{
	cr_assert_eq(dp_hugepages_free_mb(meminfo_none), 0);
}

Test(hugepages, pages_2m)
{
	cr_assert_eq(dp_hugepages_free_mb(meminfo_2m), 1024, "got %llu",
		     (unsigned long long)dp_hugepages_free_mb(meminfo_2m));
}

Test(hugepages, pages_1g)
{
	cr_assert_eq(dp_hugepages_free_mb(meminfo_1g), 3072, "got %llu",
		     (unsigned long long)dp_hugepages_free_mb(meminfo_1g));
}

Test(hugepages, uses_free_not_total)
{
	/* Total 600 but Free 1: 2 MiB */
	cr_assert_eq(dp_hugepages_free_mb("HugePages_Total:     600\n"
					  "HugePages_Free:        1\n"
					  "Hugepagesize:       2048 kB\n"),
		     2);
}

Test(hugepages, garbage)
{
	cr_assert_eq(dp_hugepages_free_mb(""), 0);
	cr_assert_eq(dp_hugepages_free_mb("hello world\nthis is not meminfo\n"), 0);
	cr_assert_eq(dp_hugepages_free_mb("HugePages_Free:  abc\nHugepagesize: 2048 kB\n"), 0);
	/* only one of the two fields */
	cr_assert_eq(dp_hugepages_free_mb("HugePages_Free:  512\n"), 0);
	cr_assert_eq(dp_hugepages_free_mb("Hugepagesize:       2048 kB\n"), 0);
	/* names must match whole, at the start of a line */
	cr_assert_eq(dp_hugepages_free_mb("XHugePages_Free:  512\nHugepagesize: 2048 kB\n"), 0);
	cr_assert_eq(dp_hugepages_free_mb("HugePages_FreeX:  512\nHugepagesize: 2048 kB\n"), 0);
	cr_assert_eq(dp_hugepages_free_mb("foo HugePages_Free:  512\nHugepagesize: 2048 kB\n"), 0);
}

/* ---- dp_eal_build_args ---- */

struct built {
	char *argv[DP_EAL_MAX_ARGS];
	char store[1024];
	int argc;
};

static void conf_init(struct dp_eal_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->memory_mb = 256;
	c->hugepages = DP_HUGE_AUTO;
}

static void build_ok(struct built *b, const struct dp_eal_conf *c, uint64_t huge_mb)
{
	memset(b, 0, sizeof(*b));
	for (int i = 0; i < DP_EAL_MAX_ARGS; i++)
		b->argv[i] = (char *)"(unset)";
	b->argc = dp_eal_build_args(c, huge_mb, "mediusd", b->argv, b->store, sizeof(b->store));
	cr_assert_gt(b->argc, 0, "dp_eal_build_args: %d", b->argc);
	cr_assert_lt(b->argc, DP_EAL_MAX_ARGS);
	cr_assert_null(b->argv[b->argc], "argv[argc] is not NULL");
	cr_assert_str_eq(b->argv[0], "mediusd");
	for (int i = 0; i < b->argc; i++) {
		cr_assert_not_null(b->argv[i], "argv[%d] is NULL", i);
		cr_assert(b->argv[i] >= b->store && b->argv[i] < b->store + sizeof(b->store),
			  "argv[%d] does not point into store", i);
	}
}

/* Index of arg in argv, or -1. */
static int find(const struct built *b, const char *arg)
{
	for (int i = 0; i < b->argc; i++)
		if (strcmp(b->argv[i], arg) == 0)
			return i;
	return -1;
}

static int count(const struct built *b, const char *arg)
{
	int n = 0;

	for (int i = 0; i < b->argc; i++)
		n += strcmp(b->argv[i], arg) == 0;
	return n;
}

static void expect(const struct built *b, const char *arg)
{
	cr_assert_geq(find(b, arg), 0, "'%s' missing from the EAL arguments", arg);
}

static void expect_not(const struct built *b, const char *arg)
{
	cr_assert_eq(find(b, arg), -1, "'%s' present at %d", arg, find(b, arg));
}

/* opt is present and immediately followed by val. */
static void expect_pair(const struct built *b, const char *opt, const char *val)
{
	int i = find(b, opt);

	cr_assert_geq(i, 0, "'%s' missing", opt);
	cr_assert_lt(i + 1, b->argc, "'%s' is the last argument", opt);
	cr_assert_str_eq(b->argv[i + 1], val, "'%s' followed by '%s', want '%s'", opt,
			 b->argv[i + 1], val);
}

static void expect_no_huge(const struct built *b)
{
	expect(b, "--no-huge");
	expect(b, "--no-shconf");
	expect_not(b, "--in-memory");
}

static void expect_huge(const struct built *b)
{
	expect(b, "--in-memory");
	expect_not(b, "--no-huge");
	expect_not(b, "--no-shconf");
}

Test(eal_args, no_hugepages)
{
	struct dp_eal_conf c;
	struct built b;

	conf_init(&c);
	build_ok(&b, &c, 0);
	expect_no_huge(&b);
	expect_pair(&b, "-m", "256");
	expect(&b, "--no-telemetry");
	expect(&b, "--no-pci");
	expect_not(&b, "-l");
	expect_not(&b, "-a");
	/* exactly: prog -m 256 --no-huge --no-shconf --no-telemetry --no-pci */
	cr_assert_eq(b.argc, 7, "argc %d", b.argc);
}

Test(eal_args, memory_mb_passed)
{
	struct dp_eal_conf c;
	struct built b;

	conf_init(&c);
	c.memory_mb = 1048576;
	build_ok(&b, &c, 0);
	expect_pair(&b, "-m", "1048576");
	cr_assert_eq(count(&b, "-m"), 1);
}

Test(eal_args, auto_with_enough_hugepages)
{
	struct dp_eal_conf c;
	struct built b;

	conf_init(&c);
	build_ok(&b, &c, 4096);
	expect_huge(&b);
	expect_pair(&b, "-m", "256");
	expect(&b, "--no-telemetry");
	expect(&b, "--no-pci");
}

Test(eal_args, auto_with_exactly_enough_hugepages)
{
	struct dp_eal_conf c;
	struct built b;

	conf_init(&c);
	build_ok(&b, &c, 256);
	expect_huge(&b);
}

Test(eal_args, auto_with_too_few_hugepages)
{
	struct dp_eal_conf c;
	struct built b;

	conf_init(&c);
	build_ok(&b, &c, 255);
	expect_no_huge(&b);
	expect_pair(&b, "-m", "256");
}

Test(eal_args, yes_with_too_few_hugepages)
{
	struct dp_eal_conf c;
	char *argv[DP_EAL_MAX_ARGS];
	char store[1024];

	conf_init(&c);
	c.hugepages = DP_HUGE_YES;
	cr_assert_eq(dp_eal_build_args(&c, 255, "mediusd", argv, store, sizeof(store)), -EINVAL);
	cr_assert_eq(dp_eal_build_args(&c, 0, "mediusd", argv, store, sizeof(store)), -EINVAL);
}

Test(eal_args, yes_with_enough_hugepages)
{
	struct dp_eal_conf c;
	struct built b;

	conf_init(&c);
	c.hugepages = DP_HUGE_YES;
	build_ok(&b, &c, 256);
	expect_huge(&b);
}

Test(eal_args, no_with_plenty_of_hugepages)
{
	struct dp_eal_conf c;
	struct built b;

	conf_init(&c);
	c.hugepages = DP_HUGE_NO;
	build_ok(&b, &c, 1u << 20);
	expect_no_huge(&b);
	expect_pair(&b, "-m", "256");
}

Test(eal_args, lcores)
{
	struct dp_eal_conf c;
	struct built b;

	conf_init(&c);
	strcpy(c.lcores, "0-1");
	build_ok(&b, &c, 0);
	expect_pair(&b, "-l", "0-1");
	cr_assert_eq(count(&b, "-l"), 1);
	cr_assert_eq(b.argc, 9, "argc %d", b.argc);
}

Test(eal_args, lcore_map_uses_the_lcores_option)
{
	struct dp_eal_conf c;
	struct built b;

	conf_init(&c);
	strcpy(c.lcores, "0@0,(1-2)@1");
	build_ok(&b, &c, 0);
	expect_pair(&b, "--lcores", "0@0,(1-2)@1");
	cr_assert_eq(count(&b, "-l"), 0);
	cr_assert_eq(b.argc, 9, "argc %d", b.argc);
}

Test(eal_args, pci_devices)
{
	struct dp_eal_conf c;
	struct built b;
	int i;

	conf_init(&c);
	strcpy(c.pci_devices, "0000:00:03.0, 0000:00:04.0");
	build_ok(&b, &c, 0);
	expect_not(&b, "--no-pci");
	cr_assert_eq(count(&b, "-a"), 2);
	i = find(&b, "-a");
	cr_assert_lt(i + 3, b.argc);
	cr_assert_str_eq(b.argv[i + 1], "0000:00:03.0");
	cr_assert_str_eq(b.argv[i + 2], "-a");
	cr_assert_str_eq(b.argv[i + 3], "0000:00:04.0");
	expect_not(&b, "0000:00:03.0,");
	expect_not(&b, "");
}

Test(eal_args, pci_single_device)
{
	struct dp_eal_conf c;
	struct built b;

	conf_init(&c);
	strcpy(c.pci_devices, "0000:03:00.0");
	build_ok(&b, &c, 0);
	expect_not(&b, "--no-pci");
	expect_pair(&b, "-a", "0000:03:00.0");
	cr_assert_eq(count(&b, "-a"), 1);
}

/* The header promises that no PCI device is probed unless listed: a value
 * that lists no device (only separators) must still give --no-pci, never an
 * argument vector with neither --no-pci nor -a (EAL then probes every NIC). */
Test(eal_args, pci_devices_without_a_device_probes_nothing)
{
	static const char *values[] = { ",", " ", ", ,", "\t" };
	struct dp_eal_conf c;
	struct built b;

	for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
		conf_init(&c);
		strcpy(c.pci_devices, values[v]);
		build_ok(&b, &c, 0);
		cr_assert(find(&b, "--no-pci") >= 0 || find(&b, "-a") >= 0,
			  "pci_devices '%s': neither --no-pci nor -a, EAL would probe every device",
			  values[v]);
	}
}

Test(eal_args, extra_args_appended_at_end)
{
	struct dp_eal_conf c;
	struct built b;

	conf_init(&c);
	strcpy(c.lcores, "0-1");
	strcpy(c.pci_devices, "0000:00:03.0");
	strcpy(c.extra_args, "  --vdev=net_null0\t--log-level=8 \t -d  /x/y.so\t");
	build_ok(&b, &c, 0);
	cr_assert_geq(b.argc, 5);
	cr_assert_str_eq(b.argv[b.argc - 4], "--vdev=net_null0");
	cr_assert_str_eq(b.argv[b.argc - 3], "--log-level=8");
	cr_assert_str_eq(b.argv[b.argc - 2], "-d");
	cr_assert_str_eq(b.argv[b.argc - 1], "/x/y.so");
	/* and everything else is still there, before them */
	cr_assert_lt(find(&b, "-l"), b.argc - 4);
	cr_assert_lt(find(&b, "-a"), b.argc - 4);
	cr_assert_lt(find(&b, "--no-telemetry"), b.argc - 4);
	/* prog -l 0-1 -m 256 --no-huge --no-shconf --no-telemetry -a DEV + 4 */
	cr_assert_eq(b.argc, 14, "argc %d", b.argc);
	expect_not(&b, "");
}

Test(eal_args, extra_args_blank)
{
	struct dp_eal_conf c;
	struct built b;

	conf_init(&c);
	strcpy(c.extra_args, " \t  ");
	build_ok(&b, &c, 0);
	cr_assert_eq(b.argc, 7, "argc %d", b.argc);
	cr_assert_str_eq(b.argv[b.argc - 1], "--no-pci");
}

Test(eal_args, argv0_is_prog)
{
	struct dp_eal_conf c;
	char *argv[DP_EAL_MAX_ARGS];
	char store[1024];
	int argc;

	conf_init(&c);
	argc = dp_eal_build_args(&c, 0, "/usr/sbin/mediusd-x", argv, store, sizeof(store));
	cr_assert_gt(argc, 0);
	cr_assert_str_eq(argv[0], "/usr/sbin/mediusd-x");
	cr_assert_null(argv[argc]);
}

/* Bytes the default argument vector needs in store. */
static size_t default_store_need(void)
{
	static const char *args[] = { "mediusd", "-m", "256", "--no-huge", "--no-shconf",
				      "--no-telemetry", "--no-pci" };
	size_t n = 0;

	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++)
		n += strlen(args[i]) + 1;
	return n;
}

Test(eal_args, store_exactly_big_enough)
{
	struct dp_eal_conf c;
	char *argv[DP_EAL_MAX_ARGS];
	size_t need = default_store_need();
	char store[128];

	conf_init(&c);
	cr_assert_lt(need, sizeof(store));
	cr_assert_eq(dp_eal_build_args(&c, 0, "mediusd", argv, store, need), 7);
	cr_assert_str_eq(argv[6], "--no-pci");
}

Test(eal_args, store_too_small)
{
	struct dp_eal_conf c;
	char *argv[DP_EAL_MAX_ARGS];
	char store[128];

	conf_init(&c);
	cr_assert_eq(dp_eal_build_args(&c, 0, "mediusd", argv, store, default_store_need() - 1),
		     -EINVAL);
	cr_assert_eq(dp_eal_build_args(&c, 0, "mediusd", argv, store, 10), -EINVAL);
	cr_assert_eq(dp_eal_build_args(&c, 0, "mediusd", argv, store, 0), -EINVAL);
}

/* extra_args of n "-v" tokens */
static void extra_tokens(struct dp_eal_conf *c, int n)
{
	c->extra_args[0] = '\0';
	for (int i = 0; i < n; i++)
		strcat(c->extra_args, i ? " -v" : "-v");
	cr_assert_lt(strlen(c->extra_args), sizeof(c->extra_args));
}

Test(eal_args, most_args_that_fit)
{
	struct dp_eal_conf c;
	struct built b;

	/* 7 default arguments + 40 extra = 47, plus the NULL: DP_EAL_MAX_ARGS */
	conf_init(&c);
	extra_tokens(&c, DP_EAL_MAX_ARGS - 1 - 7);
	build_ok(&b, &c, 0);
	cr_assert_eq(b.argc, DP_EAL_MAX_ARGS - 1);
	cr_assert_eq(count(&b, "-v"), DP_EAL_MAX_ARGS - 1 - 7);
}

Test(eal_args, too_many_args)
{
	struct dp_eal_conf c;
	char *argv[DP_EAL_MAX_ARGS];
	char store[1024];

	conf_init(&c);
	extra_tokens(&c, DP_EAL_MAX_ARGS - 7);
	cr_assert_eq(dp_eal_build_args(&c, 0, "mediusd", argv, store, sizeof(store)), -EINVAL);
	conf_init(&c);
	extra_tokens(&c, 53); /* 158 characters: fits the field, not argv */
	cr_assert_eq(dp_eal_build_args(&c, 0, "mediusd", argv, store, sizeof(store)), -EINVAL);
}
