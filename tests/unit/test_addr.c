/* SPDX-License-Identifier: MIT
 * Unit tests for control/ctl_addr: "host:port" parsing and printing. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "ctl_addr.h"

/* Parse s (with default_host) and require success; returns the result. */
static void parse_ok(const char *s, const char *def, struct sockaddr_storage *ss, socklen_t *len)
{
	int rc;

	memset(ss, 0xab, sizeof(*ss));
	*len = 12345;
	rc = ctl_addr_parse(s, def, ss, len);
	cr_assert_eq(rc, 0, "'%s' (default %s): rc %d", s, def ? def : "NULL", rc);
}

static void check_v4(const struct sockaddr_storage *ss, socklen_t len, const char *ip,
		     unsigned port)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
	struct in_addr want;

	cr_assert_eq(len, sizeof(struct sockaddr_in));
	cr_assert_eq(ss->ss_family, AF_INET);
	cr_assert_eq(inet_pton(AF_INET, ip, &want), 1);
	cr_assert_eq(in->sin_addr.s_addr, want.s_addr, "address is not %s", ip);
	cr_assert_eq(ntohs(in->sin_port), port, "port %u, want %u", ntohs(in->sin_port), port);
	/* the rest of the storage is cleared, not left as it was */
	for (size_t i = sizeof(*in); i < sizeof(*ss); i++)
		cr_assert_eq(((const unsigned char *)ss)[i], 0, "byte %zu not cleared", i);
}

static void check_v6(const struct sockaddr_storage *ss, socklen_t len, const char *ip,
		     unsigned port)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
	struct in6_addr want;

	cr_assert_eq(len, sizeof(struct sockaddr_in6));
	cr_assert_eq(ss->ss_family, AF_INET6);
	cr_assert_eq(inet_pton(AF_INET6, ip, &want), 1);
	cr_assert_eq(memcmp(&in6->sin6_addr, &want, sizeof(want)), 0, "address is not %s", ip);
	cr_assert_eq(ntohs(in6->sin6_port), port, "port %u, want %u", ntohs(in6->sin6_port), port);
	cr_assert_eq(in6->sin6_flowinfo, 0);
	cr_assert_eq(in6->sin6_scope_id, 0);
	for (size_t i = sizeof(*in6); i < sizeof(*ss); i++)
		cr_assert_eq(((const unsigned char *)ss)[i], 0, "byte %zu not cleared", i);
}

/* Parse s, require -EINVAL and both out-parameters untouched. */
static void parse_bad(const char *s, const char *def)
{
	struct sockaddr_storage ss, before;
	socklen_t len = 12345;
	int rc;

	memset(&ss, 0xab, sizeof(ss));
	memcpy(&before, &ss, sizeof(ss));
	rc = ctl_addr_parse(s, def, &ss, &len);
	cr_assert_eq(rc, -EINVAL, "'%s' (default %s): rc %d, want -EINVAL", s ? s : "NULL",
		     def ? def : "NULL", rc);
	cr_assert_eq(memcmp(&ss, &before, sizeof(ss)), 0, "'%s': ss written on error", s ? s : "NULL");
	cr_assert_eq(len, 12345, "'%s': len written on error", s ? s : "NULL");
}

Test(addr, ipv4)
{
	struct sockaddr_storage ss;
	socklen_t len;

	parse_ok("192.0.2.17:2223", "127.0.0.1", &ss, &len);
	check_v4(&ss, len, "192.0.2.17", 2223);
	parse_ok("0.0.0.0:5060", NULL, &ss, &len);
	check_v4(&ss, len, "0.0.0.0", 5060);
}

Test(addr, ipv6_in_brackets)
{
	struct sockaddr_storage ss;
	socklen_t len;

	parse_ok("[::1]:2223", "127.0.0.1", &ss, &len);
	check_v6(&ss, len, "::1", 2223);
	parse_ok("[2001:db8::a:1]:40000", NULL, &ss, &len);
	check_v6(&ss, len, "2001:db8::a:1", 40000);
	parse_ok("[::]:1", NULL, &ss, &len);
	check_v6(&ss, len, "::", 1);
	parse_ok("[::ffff:192.0.2.1]:7", NULL, &ss, &len);
	check_v6(&ss, len, "::ffff:192.0.2.1", 7);
}

Test(addr, bare_port_uses_default_host)
{
	struct sockaddr_storage ss;
	socklen_t len;

	parse_ok("2223", "127.0.0.1", &ss, &len);
	check_v4(&ss, len, "127.0.0.1", 2223);
	parse_ok("9000", "10.1.2.3", &ss, &len);
	check_v4(&ss, len, "10.1.2.3", 9000);
	parse_ok("2223", "::1", &ss, &len);
	check_v6(&ss, len, "::1", 2223);
}

Test(addr, port_limits)
{
	struct sockaddr_storage ss;
	socklen_t len;

	parse_ok("1.2.3.4:0", NULL, &ss, &len);
	check_v4(&ss, len, "1.2.3.4", 0);
	parse_ok("1.2.3.4:65535", NULL, &ss, &len);
	check_v4(&ss, len, "1.2.3.4", 65535);
	parse_ok("[::1]:0", NULL, &ss, &len);
	check_v6(&ss, len, "::1", 0);
	parse_ok("[::1]:65535", NULL, &ss, &len);
	check_v6(&ss, len, "::1", 65535);
	parse_ok("0", "127.0.0.1", &ss, &len);
	check_v4(&ss, len, "127.0.0.1", 0);
}

Test(addr, port_out_of_range)
{
	parse_bad("1.2.3.4:65536", NULL);
	parse_bad("[::1]:65536", NULL);
	parse_bad("65536", "127.0.0.1");
	parse_bad("1.2.3.4:4294967297", NULL);            /* wraps to 1 in 32 bits */
	parse_bad("1.2.3.4:99999999999999999999999", NULL); /* strtoul overflow */
}

Test(addr, empty_and_null)
{
	parse_bad("", "127.0.0.1");
	parse_bad(NULL, "127.0.0.1");
}

Test(addr, missing_parts)
{
	parse_bad("1.2.3.4:", NULL);
	parse_bad(":80", NULL);
	parse_bad(":80", "127.0.0.1");
	parse_bad("[::1]:", NULL);
	parse_bad("[]:80", NULL);
}

Test(addr, bad_brackets)
{
	parse_bad("[::1]80", NULL);
	parse_bad("[::1", NULL);
	parse_bad("[::1", "127.0.0.1");
	parse_bad("[::1]", NULL);
}

Test(addr, bare_ipv6_refused)
{
	parse_bad("::1:80", NULL);
	parse_bad("::1:80", "127.0.0.1");
	parse_bad("2001:db8::1:2223", NULL);
}

Test(addr, hostname_refused)
{
	parse_bad("host:80", NULL);
	parse_bad("localhost:2223", "127.0.0.1");
	parse_bad("[localhost]:2223", NULL);
}

Test(addr, bad_port_text)
{
	parse_bad("1.2.3.4:80x", NULL);
	parse_bad("1.2.3.4:-1", NULL);
	parse_bad("1.2.3.4:+80", NULL);
	parse_bad("1.2.3.4: 80", NULL);
	parse_bad("1.2.3.4:0x50", NULL);
	parse_bad("80x", "127.0.0.1");
	parse_bad("[::1]:80 ", NULL);
}

Test(addr, bad_address_text)
{
	parse_bad("1.2.3:80", NULL);
	parse_bad("1.2.3.256:80", NULL);
	parse_bad("[fe80::1%lo]:80", NULL); /* numeric only: no scope names */
	parse_bad("[::1::2]:80", NULL);
}

Test(addr, bare_port_needs_default_host)
{
	parse_bad("80", NULL);
	parse_bad("80", "not-an-address");
}

Test(addr, host_too_long)
{
	char s[200];

	/* 69 characters of host: longer than any address (and than the parser's buffer) */
	snprintf(s, sizeof(s), "[%s]:80", "0000:0000:0000:0000:0000:0000:0000:0001:0000:0000:0000:0000:0000:0000");
	parse_bad(s, NULL);
	snprintf(s, sizeof(s), "%s:80", "1111111111111111111111111111111111111111111111111111111111111111111111");
	parse_bad(s, NULL);
}

/* Parse s, print it back with ctl_addr_str, and require the same text. */
static void round_trip(const char *s)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[80];
	char *r;

	parse_ok(s, NULL, &ss, &len);
	memset(buf, 'z', sizeof(buf));
	r = ctl_addr_str((const struct sockaddr *)&ss, buf, sizeof(buf));
	cr_assert_eq(r, buf, "ctl_addr_str did not return buf");
	cr_assert_str_eq(buf, s);
}

Test(addr, str_round_trip_v4)
{
	round_trip("127.0.0.1:2223");
	round_trip("192.0.2.200:0");
	round_trip("255.255.255.255:65535");
}

Test(addr, str_round_trip_v6)
{
	round_trip("[::1]:2223");
	round_trip("[2001:db8::a:1]:65535");
	round_trip("[::]:0");
}

Test(addr, str_bare_port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[80];

	parse_ok("5060", "::1", &ss, &len);
	cr_assert_str_eq(ctl_addr_str((const struct sockaddr *)&ss, buf, sizeof(buf)), "[::1]:5060");
	parse_ok("5060", "10.0.0.1", &ss, &len);
	cr_assert_str_eq(ctl_addr_str((const struct sockaddr *)&ss, buf, sizeof(buf)), "10.0.0.1:5060");
}

Test(addr, str_other_family_and_truncation)
{
	struct sockaddr_storage ss;
	char buf[80];

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	ctl_addr_str((const struct sockaddr *)&ss, buf, sizeof(buf));
	cr_assert_str_eq(buf, "(family 1)");

	/* a short buffer is filled and terminated, not overrun */
	{
		struct sockaddr_storage v4;
		socklen_t len;
		char small[8];

		parse_ok("192.0.2.200:2223", NULL, &v4, &len);
		memset(small, 'z', sizeof(small));
		ctl_addr_str((const struct sockaddr *)&v4, small, sizeof(small));
		cr_assert_str_eq(small, "192.0.2");
	}
}
