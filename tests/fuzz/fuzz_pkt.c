/* libFuzzer target: dataplane/dp_pkt. The input runs through every parser
 * (as an Ethernet frame down to UDP/RTP/RTCP/NDP, as an IPv4 packet, as an
 * IPv6 packet, as RTP, as RTCP) and through the in-place responders on an
 * exact-size copy. Checked: results stay inside the input, a failed
 * responder leaves the frame untouched, every reply parses back with good
 * checksums, and UDP build -> parse round-trips the input as payload. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_pkt.h"

#define CHECK(c)                            \
	do {                                \
		if (!(c))                   \
			__builtin_trap();   \
	} while (0)

static const uint8_t MAC_L[6] = { 2, 0, 0, 0, 0, 0x0b };
static const uint8_t IP4_L[4] = { 192, 0, 2, 1 };
static const uint8_t IP6_L[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

static void udp_payload(const uint8_t *p, size_t len)
{
	struct dp_rtp r;
	struct dp_rtcp c;

	(void)dp_demux(p, len);
	if (dp_rtp_parse(p, len, &r) == DP_DROP_NONE) {
		CHECK((size_t)r.payload_off + r.payload_len + r.pad_len == len);
		CHECK(r.hdr_len == r.payload_off && r.cc <= 15);
		CHECK(!r.ext || (size_t)r.ext_off + r.ext_len <= r.hdr_len);
	}
	if (dp_rtcp_parse(p, len, &c) == DP_DROP_NONE) {
		CHECK(c.n_rb <= DP_RTCP_MAX_RB && c.n_rb <= c.rb_total);
		CHECK(c.n_packets >= 1 && (size_t)c.n_packets * 4 <= len);
		for (unsigned i = 0; i < c.n_rb; i++)
			CHECK(c.rb[i].cum_lost >= -0x800000 && c.rb[i].cum_lost <= 0x7fffff);
	}
	(void)dp_is_rtcp(p, len);
}

static void ipv4(const uint8_t *p, size_t len)
{
	struct dp_ipv4 ip;
	struct dp_udp u;

	if (dp_ipv4_parse(p, len, &ip))
		return;
	CHECK(ip.hdr_len >= 20 && ip.hdr_len <= ip.total_len && ip.total_len <= len);
	CHECK((size_t)ip.payload_off + ip.payload_len == ip.total_len);
	CHECK(dp_csum_fold(dp_csum_partial(p, ip.hdr_len, 0)) == 0);
	if (ip.proto == DP_IPPROTO_UDP &&
	    dp_udp4_parse(&ip, p + ip.payload_off, ip.payload_len, 0, &u) == DP_DROP_NONE) {
		CHECK(u.len <= ip.payload_len && u.payload_off + u.payload_len == u.len);
		udp_payload(p + ip.payload_off + u.payload_off, u.payload_len);
	}
}

static void ipv6(const uint8_t *p, size_t len)
{
	struct dp_ipv6 ip;
	struct dp_udp u;
	struct dp_ndp_na na;

	if (dp_ipv6_parse(p, len, &ip))
		return;
	CHECK((size_t)ip.payload_off + ip.payload_len <= len);
	if (ip.next_hdr == DP_IPPROTO_UDP &&
	    dp_udp6_parse(&ip, p + ip.payload_off, ip.payload_len, 0, &u) == DP_DROP_NONE) {
		CHECK(u.len <= ip.payload_len && u.payload_off + u.payload_len == u.len);
		udp_payload(p + ip.payload_off + u.payload_off, u.payload_len);
	}
	if (ip.next_hdr == DP_IPPROTO_ICMPV6)
		(void)dp_ndp_na_parse(&ip, p + ip.payload_off, ip.payload_len, &na);
}

static void ether(const uint8_t *p, size_t len)
{
	struct dp_eth e;
	struct dp_arp a;

	if (dp_eth_parse(p, len, &e))
		return;
	CHECK(e.l3_off == (e.vlan ? 18 : 14) && e.l3_off <= len);
	if (e.ethertype == DP_ETHERTYPE_ARP)
		(void)dp_arp_parse(p + e.l3_off, len - e.l3_off, &a);
	else if (e.ethertype == DP_ETHERTYPE_IPV4)
		ipv4(p + e.l3_off, len - e.l3_off);
	else
		ipv6(p + e.l3_off, len - e.l3_off);
}

/* A reply must be a well-formed frame of the expected kind. */
static void check_reply(const uint8_t *f, size_t n, int kind)
{
	struct dp_eth e;
	struct dp_ipv4 ip4;
	struct dp_ipv6 ip6;
	struct dp_arp a;
	struct dp_ndp_na na;
	const uint8_t *l3;

	CHECK(dp_eth_parse(f, n, &e) == DP_DROP_NONE);
	CHECK(memcmp(e.src, MAC_L, 6) == 0);
	l3 = f + e.l3_off;
	switch (kind) {
	case 0:
		CHECK(dp_arp_parse(l3, n - e.l3_off, &a) == DP_DROP_NONE && a.op == DP_ARP_OP_REPLY);
		break;
	case 1:
		CHECK(dp_ipv4_parse(l3, n - e.l3_off, &ip4) == DP_DROP_NONE);
		CHECK((size_t)e.l3_off + ip4.total_len == n);
		CHECK(dp_csum_fold(dp_csum_partial(l3 + ip4.hdr_len, ip4.payload_len, 0)) == 0);
		CHECK(l3[ip4.hdr_len] == 0);
		break;
	case 2:
	case 3:
		CHECK(dp_ipv6_parse(l3, n - e.l3_off, &ip6) == DP_DROP_NONE);
		CHECK((size_t)e.l3_off + 40 + ip6.payload_len == n);
		CHECK(dp_csum_fold(dp_csum_partial(
			      l3 + 40, ip6.payload_len,
			      dp_phdr_sum6(ip6.src, ip6.dst, DP_IPPROTO_ICMPV6, ip6.payload_len))) == 0);
		if (kind == 2)
			CHECK(l3[40] == DP_ICMP6_ECHO_REPLY);
		else
			CHECK(dp_ndp_na_parse(&ip6, l3 + 40, ip6.payload_len, &na) == DP_DROP_NONE &&
			      na.has_mac && memcmp(na.mac, MAC_L, 6) == 0);
		break;
	}
}

/* Could a host have this address (a valid reply source)? */
static int unicast(const uint8_t *ip, int v6)
{
	static const uint8_t zero[16];

	if (!v6)
		return ip[0] != 127 && ip[0] < 224;
	return ip[0] != 0xff && memcmp(ip, zero, 15) != 0;
}

/* Local addresses for the responders: fixed ones, and unicast ones read
 * from the frame (where IPv4 dst / ARP target / IPv6 dst / NS target sit
 * untagged), so that the fuzzer gets past the "is it for us" checks. */
static void respond(const uint8_t *data, size_t size, int kind, int use_frame_addr)
{
	static const size_t addr_off[4] = { 38, 30, 38, 62 };
	uint8_t ip[16];
	uint8_t *f;
	size_t out = 0, cap = size + (kind == 3 ? 16 : 0);
	enum dp_drop d;

	if (use_frame_addr) {
		size_t alen = kind < 2 ? 4 : 16;

		if (size < addr_off[kind] + alen || !unicast(data + addr_off[kind], kind >= 2))
			return;
		memcpy(ip, data + addr_off[kind], alen);
	} else {
		memcpy(ip, kind < 2 ? IP4_L : IP6_L, kind < 2 ? 4 : 16);
	}
	f = malloc(cap ? cap : 1);
	if (!f)
		abort();
	memcpy(f, data, size);
	switch (kind) {
	case 0:
		d = dp_arp_reply(f, size, MAC_L, ip, &out);
		break;
	case 1:
		d = dp_icmp4_echo_reply(f, size, MAC_L, ip, &out);
		break;
	case 2:
		d = dp_icmp6_echo_reply(f, size, MAC_L, ip, &out);
		break;
	default:
		d = dp_ndp_ns_reply(f, size, cap, MAC_L, ip, &out);
		break;
	}
	if (d) {
		CHECK(d < DP_DROP__COUNT && out == 0 && memcmp(f, data, size) == 0);
	} else {
		CHECK(out > 0 && out <= cap && (kind == 3 || out <= size));
		check_reply(f, out, kind);
	}
	free(f);
}

static void udp_round_trip(const uint8_t *data, size_t size, int v6)
{
	static uint8_t f[128 + 2048];
	struct dp_udp_tx tx = { .vlan = size & 1 ? 0x123 : DP_VLAN_NONE,
				.src_port = 5004,
				.dst_port = 40000 };
	struct dp_eth e;
	struct dp_ipv4 ip4;
	struct dp_ipv6 ip6;
	struct dp_udp u;
	size_t h, plen = size > 2048 ? 2048 : size;
	const uint8_t *l3;

	memcpy(tx.eth_src, MAC_L, 6);
	memcpy(tx.src, v6 ? IP6_L : IP4_L, v6 ? 16 : 4);
	if (size >= 16)
		memcpy(tx.dst, data, 16);
	h = v6 ? dp_udp6_hdr_len(&tx) : dp_udp4_hdr_len(&tx);
	memcpy(f + h, data, plen);
	CHECK((v6 ? dp_udp6_build(f, h, &tx, f + h, plen) : dp_udp4_build(f, h, &tx, f + h, plen)) ==
	      (int)h);
	CHECK(dp_eth_parse(f, h + plen, &e) == DP_DROP_NONE);
	l3 = f + e.l3_off;
	if (v6) {
		CHECK(dp_ipv6_parse(l3, h + plen - e.l3_off, &ip6) == DP_DROP_NONE);
		CHECK(dp_udp6_parse(&ip6, l3 + 40, ip6.payload_len, 0, &u) == DP_DROP_NONE);
	} else {
		CHECK(dp_ipv4_parse(l3, h + plen - e.l3_off, &ip4) == DP_DROP_NONE);
		CHECK(dp_udp4_parse(&ip4, l3 + 20, ip4.payload_len, 0, &u) == DP_DROP_NONE);
	}
	CHECK(u.payload_len == plen && u.src_port == 5004 && u.dst_port == 40000);
	CHECK(memcmp(f + h, data, plen) == 0);
}

/* Requests built from input addresses must be answered by the responders. */
static void build_and_answer(const uint8_t *data, size_t size)
{
	uint8_t f[96];
	size_t out;
	uint32_t vlan;
	int n;

	if (size < 36)
		return;
	vlan = data[0] & 1 ? dp_get_be16(data + 1) : DP_VLAN_NONE;
	if (unicast(data + 4, 1) && unicast(data + 20, 1) && memcmp(data + 4, data + 20, 16)) {
		n = dp_ndp_ns_build(f, sizeof(f), vlan, MAC_L, data + 4, data + 20);
		CHECK(n == (vlan == DP_VLAN_NONE ? 86 : 90));
		CHECK(dp_ndp_ns_reply(f, (size_t)n, sizeof(f), MAC_L, data + 20, &out) ==
		      DP_DROP_NONE);
		CHECK(out == (size_t)n);
		check_reply(f, out, 3);
	}
	if (unicast(data + 4, 0)) {
		n = dp_arp_build_request(f, sizeof(f), vlan, MAC_L, data + 4, data + 8);
		CHECK(n == (vlan == DP_VLAN_NONE ? 42 : 46));
		CHECK(dp_arp_reply(f, (size_t)n, MAC_L, data + 8, &out) == DP_DROP_NONE);
		CHECK(out == (size_t)n);
		check_reply(f, out, 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1); /* exact size: overreads are caught */
	uint32_t ref = 0;

	if (!p)
		abort();
	memcpy(p, data, size);
	ether(p, size);
	ipv4(p, size);
	ipv6(p, size);
	udp_payload(p, size);
	free(p);

	for (int kind = 0; kind < 4; kind++) {
		respond(data, size, kind, 0);
		respond(data, size, kind, 1);
	}
	udp_round_trip(data, size, 0);
	udp_round_trip(data, size, 1);
	build_and_answer(data, size);

	/* checksum against a byte-at-a-time reference */
	for (size_t i = 0; i < size; i++)
		ref += i & 1 ? data[i] : (uint32_t)data[i] << 8;
	while (ref >> 16)
		ref = (ref & 0xffff) + (ref >> 16);
	CHECK(dp_csum_partial(data, size, 0) == ref);
	if (size >= 2)
		CHECK(dp_rtcp_rtt_ms(dp_get_be16(data) | 1u, 0, dp_get_be16(data)) <= 0);
	return 0;
}
