/* SPDX-License-Identifier: MIT
 * dp_icmp: ICMPv4/ICMPv6 echo responders and IPv6 neighbour discovery
 * (RFC 4861) on whole Ethernet frames (see dp_pkt.h). */
#include "dp_pkt.h"

#include <errno.h>
#include <string.h>

#define NDP_MSG_LEN 32 /* NS/NA with one link-layer address option */
#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2
#define NA_FLAG_ROUTER 0x80
#define NA_FLAG_SOLICITED 0x40
#define NA_FLAG_OVERRIDE 0x20

static const uint8_t ip6_unspec[16];
static const uint8_t ip6_all_nodes[16] = { 0xff, 0x02, [15] = 1 };

/* RFC 1624 eqn. 3: the checksum hc after one 16-bit word changes old -> new. */
static uint16_t csum_update16(uint16_t hc, uint16_t old, uint16_t new)
{
	return dp_csum_fold((uint32_t)(uint16_t)~hc + (uint16_t)~old + new);
}

static void solicited_node(uint8_t out[16], const uint8_t ip[16])
{
	static const uint8_t prefix[13] = { 0xff, 0x02, [11] = 1, [12] = 0xff };

	memcpy(out, prefix, 13);
	memcpy(out + 13, ip + 13, 3);
}

/* Ethernet + IPv4 in front of an ICMP message addressed to ip. */
static enum dp_drop icmp4_locate(const uint8_t *frame, size_t len, const uint8_t ip[4],
				 struct dp_eth *eth, struct dp_ipv4 *ip4)
{
	enum dp_drop d = dp_eth_parse(frame, len, eth);

	if (d)
		return d;
	if (eth->ethertype != DP_ETHERTYPE_IPV4)
		return DP_DROP_ETH_TYPE;
	d = dp_ipv4_parse(frame + eth->l3_off, len - eth->l3_off, ip4);
	if (d)
		return d;
	if (ip4->proto != DP_IPPROTO_ICMP)
		return DP_DROP_IP_PROTO;
	if (memcmp(ip4->dst, ip, 4) != 0)
		return DP_DROP_IP_NOT_LOCAL;
	return DP_DROP_NONE;
}

enum dp_drop dp_icmp4_echo_reply(uint8_t *frame, size_t len, const uint8_t mac[6],
				 const uint8_t ip[4], size_t *out_len)
{
	struct dp_eth eth;
	struct dp_ipv4 ip4;
	enum dp_drop d = icmp4_locate(frame, len, ip, &eth, &ip4);
	uint8_t *h, *icmp;

	if (d)
		return d;
	h = frame + eth.l3_off;
	icmp = h + ip4.hdr_len;
	if (ip4.payload_len < 8 || dp_csum_fold(dp_csum_partial(icmp, ip4.payload_len, 0)) != 0)
		return DP_DROP_ICMP_BAD;
	if (icmp[0] != 8)
		return DP_DROP_ICMP_UNHANDLED;
	if (icmp[1] != 0)
		return DP_DROP_ICMP_BAD;

	memcpy(frame, eth.src, 6);
	memcpy(frame + 6, mac, 6);
	memcpy(h + 12, ip, 4);
	memcpy(h + 16, ip4.src, 4);
	h[8] = 64;
	dp_put_be16(h + 10, dp_ipv4_csum(h, ip4.hdr_len));
	icmp[0] = 0; /* echo reply */
	dp_put_be16(icmp + 2, csum_update16(dp_get_be16(icmp + 2), 0x0800, 0x0000));
	*out_len = (size_t)eth.l3_off + ip4.total_len;
	return DP_DROP_NONE;
}

/* Ethernet + IPv6 in front of an ICMPv6 message with a valid checksum. */
static enum dp_drop icmp6_locate(const uint8_t *frame, size_t len, struct dp_eth *eth,
				 struct dp_ipv6 *ip6)
{
	enum dp_drop d = dp_eth_parse(frame, len, eth);
	const uint8_t *icmp;

	if (d)
		return d;
	if (eth->ethertype != DP_ETHERTYPE_IPV6)
		return DP_DROP_ETH_TYPE;
	d = dp_ipv6_parse(frame + eth->l3_off, len - eth->l3_off, ip6);
	if (d)
		return d;
	if (ip6->next_hdr != DP_IPPROTO_ICMPV6)
		return DP_DROP_IP_PROTO;
	icmp = frame + eth->l3_off + ip6->payload_off;
	if (ip6->payload_len < 4)
		return DP_DROP_ICMP_BAD;
	if (dp_csum_fold(dp_csum_partial(icmp, ip6->payload_len,
					 dp_phdr_sum6(ip6->src, ip6->dst, DP_IPPROTO_ICMPV6,
						      ip6->payload_len))) != 0)
		return DP_DROP_ICMP_BAD;
	return DP_DROP_NONE;
}

enum dp_drop dp_icmp6_echo_reply(uint8_t *frame, size_t len, const uint8_t mac[6],
				 const uint8_t ip[16], size_t *out_len)
{
	struct dp_eth eth;
	struct dp_ipv6 ip6;
	enum dp_drop d = icmp6_locate(frame, len, &eth, &ip6);
	uint8_t *h, *icmp;

	if (d)
		return d;
	h = frame + eth.l3_off;
	icmp = h + ip6.payload_off;
	if (icmp[0] != DP_ICMP6_ECHO_REQUEST)
		return DP_DROP_ICMP_UNHANDLED;
	if (icmp[1] != 0 || ip6.payload_len < 8)
		return DP_DROP_ICMP_BAD;
	if (memcmp(ip6.dst, ip, 16) != 0)
		return DP_DROP_IP_NOT_LOCAL;
	if (ip6.payload_off != DP_IPV6_HDR_LEN) { /* the request's options are not ours to echo */
		memmove(h + DP_IPV6_HDR_LEN, icmp, ip6.payload_len);
		icmp = h + DP_IPV6_HDR_LEN;
		h[6] = DP_IPPROTO_ICMPV6;
		dp_put_be16(h + 4, ip6.payload_len);
	}

	memcpy(frame, eth.src, 6);
	memcpy(frame + 6, mac, 6);
	memcpy(h + 8, ip, 16); /* swapping addresses keeps the pseudo-header sum */
	memcpy(h + 24, ip6.src, 16);
	h[7] = 64;
	icmp[0] = DP_ICMP6_ECHO_REPLY;
	dp_put_be16(icmp + 2, csum_update16(dp_get_be16(icmp + 2), DP_ICMP6_ECHO_REQUEST << 8,
					    DP_ICMP6_ECHO_REPLY << 8));
	*out_len = (size_t)eth.l3_off + DP_IPV6_HDR_LEN + ip6.payload_len;
	return DP_DROP_NONE;
}

/* Walk NDP options opt[0..len): every option needs a non-zero length that
 * fits. Copies the first option of type `want` (link-layer address) to mac. */
static enum dp_drop ndp_options(const uint8_t *opt, size_t len, uint8_t want, bool *has_mac,
				uint8_t mac[6])
{
	size_t off = 0;

	*has_mac = false;
	while (off < len) {
		size_t olen;

		if (len - off < 2 || opt[off + 1] == 0)
			return DP_DROP_ICMP_BAD;
		olen = (size_t)opt[off + 1] * 8;
		if (olen > len - off)
			return DP_DROP_ICMP_BAD;
		if (opt[off] == want && !*has_mac) {
			*has_mac = true;
			memcpy(mac, opt + off + 2, 6);
		}
		off += olen;
	}
	return DP_DROP_NONE;
}

/* Common NS/NA checks (RFC 4861 7.1): icmp = the message, checksum done. */
static enum dp_drop ndp_check(const struct dp_ipv6 *ip6, const uint8_t *icmp, uint8_t type)
{
	if (icmp[0] != type)
		return DP_DROP_ICMP_UNHANDLED;
	if (ip6->hop_limit != 255)
		return DP_DROP_IP_TTL;
	if (icmp[1] != 0 || ip6->payload_len < 24 || icmp[8] == 0xff /* multicast target */)
		return DP_DROP_ICMP_BAD;
	return DP_DROP_NONE;
}

/* Write an NS/NA frame into buf (room checked by the caller); returns its
 * length. */
static size_t ndp_build(uint8_t *buf, uint32_t vlan, const uint8_t eth_dst[6],
			const uint8_t mac[6], const uint8_t src[16], const uint8_t dst[16],
			uint8_t type, uint8_t flags, const uint8_t target[16])
{
	int off = dp_eth_build(buf, DP_NDP_FRAME_LEN + DP_VLAN_HDR_LEN, eth_dst, mac, vlan,
			       DP_ETHERTYPE_IPV6);
	uint8_t *h = buf + off, *icmp = h + DP_IPV6_HDR_LEN;

	dp_put_be32(h, 6u << 28);
	dp_put_be16(h + 4, NDP_MSG_LEN);
	h[6] = DP_IPPROTO_ICMPV6;
	h[7] = 255;
	memcpy(h + 8, src, 16);
	memcpy(h + 24, dst, 16);
	memset(icmp, 0, 8);
	icmp[0] = type;
	icmp[4] = flags;
	memcpy(icmp + 8, target, 16);
	icmp[24] = type == DP_ICMP6_NS ? ND_OPT_SLLA : ND_OPT_TLLA;
	icmp[25] = 1;
	memcpy(icmp + 26, mac, 6);
	dp_put_be16(icmp + 2, dp_csum_fold(dp_csum_partial(
				      icmp, NDP_MSG_LEN,
				      dp_phdr_sum6(src, dst, DP_IPPROTO_ICMPV6, NDP_MSG_LEN))));
	return (size_t)off + DP_IPV6_HDR_LEN + NDP_MSG_LEN;
}

enum dp_drop dp_ndp_ns_reply(uint8_t *frame, size_t len, size_t cap, const uint8_t mac[6],
			     const uint8_t ip[16], size_t *out_len)
{
	static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	uint8_t na[DP_NDP_FRAME_LEN + DP_VLAN_HDR_LEN], solicitor_mac[6], snm[16];
	struct dp_eth eth;
	struct dp_ipv6 ip6;
	enum dp_drop d = icmp6_locate(frame, len, &eth, &ip6);
	const uint8_t *icmp;
	bool dad, has_slla;
	size_t n;

	if (d)
		return d;
	icmp = frame + eth.l3_off + ip6.payload_off;
	d = ndp_check(&ip6, icmp, DP_ICMP6_NS);
	if (d)
		return d;
	d = ndp_options(icmp + 24, ip6.payload_len - 24u, ND_OPT_SLLA, &has_slla, solicitor_mac);
	if (d)
		return d;
	dad = memcmp(ip6.src, ip6_unspec, 16) == 0;
	solicited_node(snm, icmp + 8);
	if (dad && (has_slla || memcmp(ip6.dst, snm, 16) != 0))
		return DP_DROP_ICMP_BAD;
	if (memcmp(icmp + 8, ip, 16) != 0 ||
	    (memcmp(ip6.dst, ip, 16) != 0 && memcmp(ip6.dst, snm, 16) != 0))
		return DP_DROP_IP_NOT_LOCAL;

	if (dad)
		n = ndp_build(na, eth.vlan ? eth.vlan_tci : DP_VLAN_NONE, all_nodes_mac, mac, ip,
			      ip6_all_nodes, DP_ICMP6_NA, NA_FLAG_OVERRIDE, ip);
	else
		n = ndp_build(na, eth.vlan ? eth.vlan_tci : DP_VLAN_NONE,
			      has_slla ? solicitor_mac : eth.src, mac, ip, ip6.src, DP_ICMP6_NA,
			      NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE, ip);
	if (n > cap)
		return DP_DROP_OVERSIZED;
	memcpy(frame, na, n);
	*out_len = n;
	return DP_DROP_NONE;
}

enum dp_drop dp_ndp_na_parse(const struct dp_ipv6 *ip, const uint8_t *p, size_t len,
			     struct dp_ndp_na *out)
{
	enum dp_drop d;
	bool has_mac;
	uint8_t m[6];

	if (len < 4 || ip->payload_len > len)
		return DP_DROP_ICMP_BAD;
	len = ip->payload_len;
	if (dp_csum_fold(dp_csum_partial(
		    p, len, dp_phdr_sum6(ip->src, ip->dst, DP_IPPROTO_ICMPV6, (uint32_t)len))) != 0)
		return DP_DROP_ICMP_BAD;
	d = ndp_check(ip, p, DP_ICMP6_NA);
	if (d)
		return d;
	if (ip->dst[0] == 0xff && (p[4] & NA_FLAG_SOLICITED))
		return DP_DROP_ICMP_BAD;
	d = ndp_options(p + 24, len - 24, ND_OPT_TLLA, &has_mac, m);
	if (d)
		return d;
	memcpy(out->target, p + 8, 16);
	out->has_mac = has_mac;
	if (has_mac)
		memcpy(out->mac, m, 6);
	else
		memset(out->mac, 0, 6);
	out->router = p[4] & NA_FLAG_ROUTER;
	out->solicited = p[4] & NA_FLAG_SOLICITED;
	out->override = p[4] & NA_FLAG_OVERRIDE;
	return DP_DROP_NONE;
}

int dp_ndp_ns_build(uint8_t *buf, size_t cap, uint32_t vlan, const uint8_t mac[6],
		    const uint8_t src_ip[16], const uint8_t target_ip[16])
{
	uint8_t dst[16], eth_dst[6] = { 0x33, 0x33 };
	size_t need = DP_NDP_FRAME_LEN + (vlan != DP_VLAN_NONE ? DP_VLAN_HDR_LEN : 0);

	if (cap < need)
		return -ENOSPC;
	solicited_node(dst, target_ip);
	memcpy(eth_dst + 2, dst + 12, 4);
	return (int)ndp_build(buf, vlan, eth_dst, mac, src_ip, dst, DP_ICMP6_NS, 0, target_ip);
}
