/* SPDX-License-Identifier: MIT
 * Unit tests for control/ctl_acl: allow-list parsing (IPv4, IPv6, prefixes,
 * bad input) and matching, IPv4-mapped sources included. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "ctl_acl.h"

static struct sockaddr_storage sa(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1, "%s", ip);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, ip, &s4->sin_addr), 1, "%s", ip);
	}
	return ss;
}

static bool allows(const struct ctl_acl *acl, const char *ip)
{
	struct sockaddr_storage ss = sa(ip);

	return ctl_acl_allows(acl, (struct sockaddr *)&ss);
}

Test(acl, empty_allows_everything)
{
	struct ctl_acl acl;
	char err[200];

	cr_assert_eq(ctl_acl_parse(&acl, "", err, sizeof(err)), 0);
	cr_assert_eq(acl.n, 0);
	cr_assert(allows(&acl, "192.0.2.1"));
	cr_assert(allows(&acl, "2001:db8::1"));
	cr_assert_eq(ctl_acl_parse(&acl, " , ,\t", err, sizeof(err)), 0);
	cr_assert_eq(acl.n, 0);
}

Test(acl, the_brief_example)
{
	struct ctl_acl acl;
	char err[200];

	cr_assert_eq(ctl_acl_parse(&acl, "127.0.0.0/8, 10.0.0.0/8, ::1", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(acl.n, 3);
	cr_assert(allows(&acl, "127.0.0.1"));
	cr_assert(allows(&acl, "127.255.1.2"));
	cr_assert(allows(&acl, "10.200.3.4"));
	cr_assert(allows(&acl, "::1"));
	cr_assert_not(allows(&acl, "11.0.0.1"));
	cr_assert_not(allows(&acl, "128.0.0.1"));
	cr_assert_not(allows(&acl, "192.168.1.1"));
	cr_assert_not(allows(&acl, "::2"));
	cr_assert_not(allows(&acl, "2001:db8::1"));
	/* a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d */
	cr_assert(allows(&acl, "::ffff:10.1.2.3"));
	cr_assert_not(allows(&acl, "::ffff:11.1.2.3"));
}

Test(acl, prefixes_at_odd_lengths)
{
	struct ctl_acl acl;
	char err[200];

	cr_assert_eq(ctl_acl_parse(&acl, "192.168.4.0/22 fc00::/7 2001:db8:80::/41 203.0.113.7", err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(acl.n, 4);
	cr_assert(allows(&acl, "192.168.4.0"));
	cr_assert(allows(&acl, "192.168.7.255"));
	cr_assert_not(allows(&acl, "192.168.8.0"));
	cr_assert_not(allows(&acl, "192.168.3.255"));
	cr_assert(allows(&acl, "fd12:3456::1"));
	cr_assert(allows(&acl, "fc00::1"));
	cr_assert_not(allows(&acl, "fe00::1"));
	cr_assert(allows(&acl, "2001:db8:80::1"));
	cr_assert(allows(&acl, "2001:db8:ff:ffff::1"));
	cr_assert_not(allows(&acl, "2001:db8:7f::1"));
	cr_assert(allows(&acl, "203.0.113.7"));
	cr_assert_not(allows(&acl, "203.0.113.8"));
	/* IPv6 entries never match IPv4 sources, and the other way round */
	cr_assert_not(allows(&acl, "::c0a8:401"));
}

Test(acl, zero_prefix_is_everything_of_its_family)
{
	struct ctl_acl acl;
	char err[200];

	cr_assert_eq(ctl_acl_parse(&acl, "0.0.0.0/0", err, sizeof(err)), 0, "%s", err);
	cr_assert(allows(&acl, "198.51.100.1"));
	cr_assert_not(allows(&acl, "2001:db8::1"));
	cr_assert_eq(ctl_acl_parse(&acl, "::/0", err, sizeof(err)), 0, "%s", err);
	cr_assert(allows(&acl, "2001:db8::1"));
	cr_assert_not(allows(&acl, "198.51.100.1"));
}

Test(acl, bad_input_is_refused_and_named)
{
	static const char *bad[] = {
		"10.0.0.0/33", "::1/129", "10.1.0.0/8", "fd00::1/8", "10.0.0/8", "10.0.0.0/", "/8", "host.example",
		"10.0.0.0/8/8", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.256", "1::2::3", "10.0.0.0/0008",
		"127.0.0.1;10.0.0.1", "[::1]", "::1%lo",
	};
	struct ctl_acl acl;
	char err[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[100];

		snprintf(text, sizeof(text), "127.0.0.1, %s", bad[i]);
		err[0] = '\0';
		cr_assert_eq(ctl_acl_parse(&acl, text, err, sizeof(err)), -EINVAL, "'%s' accepted", bad[i]);
		cr_assert_eq(acl.n, 0, "'%s': the list is not emptied", bad[i]);
		cr_assert(strstr(err, bad[i]) != NULL, "'%s': error '%s' does not name it", bad[i], err);
	}
}

Test(acl, too_many_entries)
{
	struct ctl_acl acl;
	char text[1024] = "", err[200];

	for (int i = 0; i <= CTL_ACL_MAX; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "10.0.%d.0/24,", i);
	cr_assert_eq(ctl_acl_parse(&acl, text, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "more than") != NULL, "%s", err);
}

Test(acl, loopback)
{
	struct sockaddr_storage a = sa("127.0.0.1"), b = sa("::1"), c = sa("::ffff:127.1.2.3"), d = sa("0.0.0.0"),
				e = sa("::"), f = sa("10.0.0.1");

	cr_assert(ctl_addr_is_loopback((struct sockaddr *)&a));
	cr_assert(ctl_addr_is_loopback((struct sockaddr *)&b));
	cr_assert(ctl_addr_is_loopback((struct sockaddr *)&c));
	cr_assert_not(ctl_addr_is_loopback((struct sockaddr *)&d));
	cr_assert_not(ctl_addr_is_loopback((struct sockaddr *)&e));
	cr_assert_not(ctl_addr_is_loopback((struct sockaddr *)&f));
}
