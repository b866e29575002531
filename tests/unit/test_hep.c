/* SPDX-License-Identifier: MIT
 * Unit tests for control/ctl_hep: the HEPv3 encoding, read back by a
 * decoder written here from the format (chunk by chunk). */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "ctl_hep.h"

struct chunk {
	uint16_t vendor, type, len;
	const uint8_t *v;
};

/* Walk buf's chunks into out[]; returns how many, -1 on a framing error. */
static int decode(const uint8_t *buf, size_t n, struct chunk *out, int max)
{
	size_t off = 6;
	int k = 0;

	if (n < 6 || memcmp(buf, "HEP3", 4) || ((size_t)buf[4] << 8 | buf[5]) != n)
		return -1;
	while (off < n) {
		if (off + 6 > n || k == max)
			return -1;
		out[k].vendor = (uint16_t)(buf[off] << 8 | buf[off + 1]);
		out[k].type = (uint16_t)(buf[off + 2] << 8 | buf[off + 3]);
		out[k].len = (uint16_t)(buf[off + 4] << 8 | buf[off + 5]);
		out[k].v = buf + off + 6;
		if (out[k].len < 6 || off + out[k].len > n)
			return -1;
		off += out[k].len;
		k++;
	}
	return k;
}

static const struct chunk *find(const struct chunk *c, int n, uint16_t type)
{
	for (int i = 0; i < n; i++)
		if (c[i].type == type)
			return &c[i];
	return NULL;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

Test(hep, ipv4_message_round_trip)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(40001) };
	struct sockaddr_in d = { .sin_family = AF_INET, .sin_port = htons(30003) };
	const char *json = "{\"type\":200}";
	struct ctl_hep_msg m = { .src = (struct sockaddr *)&s, .dst = (struct sockaddr *)&d,
				 .time_us = 1700000000123456ull, .proto_type = CTL_HEP_PROTO_RTCP_JSON,
				 .capture_id = 2001, .correlation = "call-1@x", .payload = json, .len = strlen(json) };
	uint8_t buf[512];
	struct chunk c[32];
	const struct chunk *x;
	ssize_t n;
	int k;

	inet_pton(AF_INET, "192.0.2.1", &s.sin_addr);
	inet_pton(AF_INET, "198.51.100.2", &d.sin_addr);
	n = ctl_hep_encode(&m, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	k = decode(buf, (size_t)n, c, 32);
	cr_assert_eq(k, 12, "12 chunks (got %d)", k);
	for (int i = 0; i < k; i++)
		cr_assert_eq(c[i].vendor, 0);
	cr_assert_eq(find(c, k, 1)->v[0], 2, "family IPv4");
	cr_assert_eq(find(c, k, 2)->v[0], 17, "UDP");
	cr_assert_eq(memcmp(find(c, k, 3)->v, &s.sin_addr, 4), 0);
	cr_assert_eq(memcmp(find(c, k, 4)->v, &d.sin_addr, 4), 0);
	x = find(c, k, 7);
	cr_assert_eq(x->v[0] << 8 | x->v[1], 40001);
	x = find(c, k, 8);
	cr_assert_eq(x->v[0] << 8 | x->v[1], 30003);
	cr_assert_eq(be32(find(c, k, 9)->v), 1700000000u);
	cr_assert_eq(be32(find(c, k, 10)->v), 123456u);
	cr_assert_eq(find(c, k, 11)->v[0], 5);
	cr_assert_eq(be32(find(c, k, 12)->v), 2001u);
	x = find(c, k, 17);
	cr_assert_eq(x->len, 6 + strlen("call-1@x"));
	cr_assert_eq(memcmp(x->v, "call-1@x", 8), 0);
	x = find(c, k, 15);
	cr_assert_eq(x->len, 6 + strlen(json));
	cr_assert_eq(memcmp(x->v, json, strlen(json)), 0);
}

Test(hep, ipv6_and_errors)
{
	struct sockaddr_in6 s = { .sin6_family = AF_INET6, .sin6_port = htons(1) };
	struct sockaddr_in6 d = { .sin6_family = AF_INET6, .sin6_port = htons(2) };
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct ctl_hep_msg m = { .src = (struct sockaddr *)&s, .dst = (struct sockaddr *)&d, .payload = "x", .len = 1 };
	uint8_t buf[256];
	struct chunk c[32];
	ssize_t n;
	int k;

	inet_pton(AF_INET6, "2001:db8::1", &s.sin6_addr);
	n = ctl_hep_encode(&m, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	k = decode(buf, (size_t)n, c, 32);
	cr_assert_eq(k, 11, "no correlation chunk without a call-id");
	cr_assert_eq(find(c, k, 1)->v[0], 10);
	cr_assert_eq(memcmp(find(c, k, 5)->v, &s.sin6_addr, 16), 0);
	cr_assert_null(find(c, k, 17));
	cr_assert_eq(ctl_hep_encode(&m, buf, 40), -EMSGSIZE, "does not fit");
	m.dst = (struct sockaddr *)&v4;
	cr_assert_eq(ctl_hep_encode(&m, buf, sizeof(buf)), -EINVAL, "mixed families");
}
