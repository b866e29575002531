/* SPDX-License-Identifier: MIT
 * dp_pkt: drop reason names, checksums, Ethernet, ARP, IPv4, IPv6 and UDP
 * (see dp_pkt.h for the contracts and conventions). */
#include "dp_pkt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static const char *const drop_names[DP_DROP__COUNT] = {
	[DP_DROP_NONE] = "none",
	[DP_DROP_ETH_TRUNC] = "eth_trunc",
	[DP_DROP_ETH_TYPE] = "eth_type",
	[DP_DROP_ARP_BAD] = "arp_bad",
	[DP_DROP_IP_TRUNC] = "ip_trunc",
	[DP_DROP_IP_VERSION] = "ip_version",
	[DP_DROP_IP_HDR_LEN] = "ip_hdr_len",
	[DP_DROP_IP_BAD_CKSUM] = "ip_bad_cksum",
	[DP_DROP_IP_FRAGMENT] = "ip_fragment",
	[DP_DROP_IP_PROTO] = "ip_proto",
	[DP_DROP_IP_TTL] = "ip_ttl",
	[DP_DROP_IP_NOT_LOCAL] = "ip_not_local",
	[DP_DROP_MCAST_NOT_FOR_US] = "mcast_not_for_us",
	[DP_DROP_IP_BAD_SOURCE] = "ip_bad_source",
	[DP_DROP_IPV6_EXT] = "ipv6_ext",
	[DP_DROP_ICMP_BAD] = "icmp_bad",
	[DP_DROP_ICMP_UNHANDLED] = "icmp_unhandled",
	[DP_DROP_UDP_TRUNC] = "udp_trunc",
	[DP_DROP_UDP_BAD_CKSUM] = "udp_bad_cksum",
	[DP_DROP_RTP_TRUNC] = "rtp_trunc",
	[DP_DROP_RTP_VERSION] = "rtp_version",
	[DP_DROP_RTP_PADDING] = "rtp_padding",
	[DP_DROP_RTCP_BAD] = "rtcp_bad",
	[DP_DROP_OVERSIZED] = "oversized",
	[DP_DROP_NO_FLOW] = "no_flow",
	[DP_DROP_SPOOFED_SOURCE] = "spoofed_source",
	[DP_DROP_SRTP_AUTH] = "srtp_auth",
	[DP_DROP_SRTP_REPLAY] = "srtp_replay",
	[DP_DROP_SRTP_OTHER] = "srtp_other",
	[DP_DROP_SRTP_MALFORMED] = "srtp_malformed",
	[DP_DROP_SRTP_MKI] = "srtp_mki",
	[DP_DROP_SRTP_SSRC_LIMIT] = "srtp_ssrc_limit",
	[DP_DROP_NOT_RTP] = "not_rtp",
	[DP_DROP_TX_FULL] = "tx_full",
	[DP_DROP_RELATCH_REFUSED] = "relatch_refused",
	[DP_DROP_RX_NO_MBUF] = "rx_no_mbuf",
	[DP_DROP_HANDOFF_FULL] = "handoff_full",
	[DP_DROP_ALLOC_FAILED] = "alloc_failed",
	[DP_DROP_TX_ERROR] = "tx_error",
	[DP_DROP_NO_ARP] = "no_arp",
	[DP_DROP_NO_DEST] = "no_dest",
};

const char *dp_drop_name(enum dp_drop d)
{
	if ((unsigned)d >= DP_DROP__COUNT || !drop_names[d])
		return "invalid";
	return drop_names[d];
}

/* ---- checksums ---- */

static uint32_t fold16(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return (uint32_t)s;
}

uint32_t dp_csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t acc = 0;
	uint16_t w;

	/* Native-order words: the ones'-complement sum commutes with byte
	 * swapping (RFC 1071 2.B), so swap once at the end. 16 bytes a turn
	 * into two accumulators (each 8-byte load is its two 4-byte words:
	 * the same sum, without one long chain of dependent adds). */
	if (len >= 16) {
		uint64_t a1 = 0;

		do {
			uint64_t x, y;

			memcpy(&x, p, 8);
			memcpy(&y, p + 8, 8);
			acc += (x & 0xffffffffu) + (x >> 32);
			a1 += (y & 0xffffffffu) + (y >> 32);
			p += 16;
			len -= 16;
		} while (len >= 16);
		acc += a1; /* each turn adds under 2^33 to each: no overflow below 2^35 bytes */
	}
	while (len >= 4) {
		uint32_t v;

		memcpy(&v, p, 4);
		acc += v;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&w, p, 2);
		acc += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = { p[0], 0 };

		memcpy(&w, last, 2);
		acc += w;
	}
	w = ntohs((uint16_t)fold16(acc));
	return fold16((uint64_t)w + sum);
}

uint16_t dp_csum_fold(uint32_t sum)
{
	return (uint16_t)~fold16(sum);
}

uint16_t dp_ipv4_csum(const uint8_t *hdr, size_t hdr_len)
{
	uint32_t s = dp_csum_partial(hdr, 10, 0);

	return dp_csum_fold(dp_csum_partial(hdr + 12, hdr_len - 12, s));
}

uint32_t dp_phdr_sum4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
		      uint16_t l4_len)
{
	uint32_t s = dp_csum_partial(src, 4, 0);

	s = dp_csum_partial(dst, 4, s);
	return fold16((uint64_t)s + proto + l4_len);
}

uint32_t dp_phdr_sum6(const uint8_t src[16], const uint8_t dst[16], uint8_t next_hdr,
		      uint32_t l4_len)
{
	uint32_t s = dp_csum_partial(src, 16, 0);

	s = dp_csum_partial(dst, 16, s);
	return fold16((uint64_t)s + (l4_len >> 16) + (l4_len & 0xffff) + next_hdr);
}

/* ---- Ethernet ---- */

enum dp_drop dp_eth_parse(const uint8_t *p, size_t len, struct dp_eth *out)
{
	uint16_t type, tci = 0, off = DP_ETH_HDR_LEN;
	bool vlan = false;

	if (len < DP_ETH_HDR_LEN)
		return DP_DROP_ETH_TRUNC;
	type = dp_get_be16(p + 12);
	if (type == DP_ETHERTYPE_VLAN) {
		if (len < DP_ETH_HDR_LEN + DP_VLAN_HDR_LEN)
			return DP_DROP_ETH_TRUNC;
		vlan = true;
		tci = dp_get_be16(p + 14);
		type = dp_get_be16(p + 16);
		off += DP_VLAN_HDR_LEN;
	}
	if (type != DP_ETHERTYPE_IPV4 && type != DP_ETHERTYPE_IPV6 && type != DP_ETHERTYPE_ARP)
		return DP_DROP_ETH_TYPE;
	memcpy(out->dst, p, 6);
	memcpy(out->src, p + 6, 6);
	out->ethertype = type;
	out->vlan = vlan;
	out->vlan_tci = tci;
	out->vid = tci & 0xfff;
	out->l3_off = off;
	return DP_DROP_NONE;
}

static size_t eth_hdr_len(uint32_t vlan)
{
	return DP_ETH_HDR_LEN + (vlan != DP_VLAN_NONE ? DP_VLAN_HDR_LEN : 0);
}

int dp_eth_build(uint8_t *p, size_t cap, const uint8_t dst[6], const uint8_t src[6], uint32_t vlan,
		 uint16_t ethertype)
{
	size_t off = 12;

	if (cap < eth_hdr_len(vlan))
		return -ENOSPC;
	memmove(p, dst, 6); /* memmove: callers may pass MACs from the buffer itself */
	memmove(p + 6, src, 6);
	if (vlan != DP_VLAN_NONE) {
		dp_put_be16(p + 12, DP_ETHERTYPE_VLAN);
		dp_put_be16(p + 14, (uint16_t)vlan);
		off += DP_VLAN_HDR_LEN;
	}
	dp_put_be16(p + off, ethertype);
	return (int)(off + 2);
}

/* ---- ARP ---- */

enum dp_drop dp_arp_parse(const uint8_t *p, size_t len, struct dp_arp *out)
{
	uint16_t op;

	if (len < DP_ARP_LEN || dp_get_be16(p) != 1 || dp_get_be16(p + 2) != DP_ETHERTYPE_IPV4 ||
	    p[4] != 6 || p[5] != 4)
		return DP_DROP_ARP_BAD;
	op = dp_get_be16(p + 6);
	if (op != DP_ARP_OP_REQUEST && op != DP_ARP_OP_REPLY)
		return DP_DROP_ARP_BAD;
	out->op = op;
	memcpy(out->sha, p + 8, 6);
	memcpy(out->spa, p + 14, 4);
	memcpy(out->tha, p + 18, 6);
	memcpy(out->tpa, p + 24, 4);
	return DP_DROP_NONE;
}

static void put_arp(uint8_t *p, uint16_t op, const uint8_t sha[6], const uint8_t spa[4],
		    const uint8_t tha[6], const uint8_t tpa[4])
{
	dp_put_be16(p, 1);
	dp_put_be16(p + 2, DP_ETHERTYPE_IPV4);
	p[4] = 6;
	p[5] = 4;
	dp_put_be16(p + 6, op);
	memmove(p + 8, sha, 6);
	memmove(p + 14, spa, 4);
	memmove(p + 18, tha, 6);
	memmove(p + 24, tpa, 4);
}

enum dp_drop dp_arp_reply(uint8_t *frame, size_t len, const uint8_t mac[6], const uint8_t ip[4],
			  size_t *out_len)
{
	struct dp_eth eth;
	struct dp_arp arp;
	enum dp_drop d;
	uint8_t *a;

	d = dp_eth_parse(frame, len, &eth);
	if (d)
		return d;
	if (eth.ethertype != DP_ETHERTYPE_ARP)
		return DP_DROP_ARP_BAD;
	a = frame + eth.l3_off;
	d = dp_arp_parse(a, len - eth.l3_off, &arp);
	if (d)
		return d;
	if (arp.op != DP_ARP_OP_REQUEST)
		return DP_DROP_ARP_BAD;
	if (memcmp(arp.tpa, ip, 4) != 0)
		return DP_DROP_IP_NOT_LOCAL;
	memcpy(frame, arp.sha, 6); /* to the requester's hardware address */
	memcpy(frame + 6, mac, 6);
	put_arp(a, DP_ARP_OP_REPLY, mac, ip, arp.sha, arp.spa);
	*out_len = (size_t)eth.l3_off + DP_ARP_LEN;
	return DP_DROP_NONE;
}

int dp_arp_build_request(uint8_t *buf, size_t cap, uint32_t vlan, const uint8_t mac[6],
			 const uint8_t ip[4], const uint8_t target_ip[4])
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6];
	size_t need = eth_hdr_len(vlan) + DP_ARP_LEN;
	int off;

	if (cap < need)
		return -ENOSPC;
	off = dp_eth_build(buf, cap, bcast, mac, vlan, DP_ETHERTYPE_ARP);
	put_arp(buf + off, DP_ARP_OP_REQUEST, mac, ip, zero, target_ip);
	return (int)need;
}

/* ---- IPv4 ---- */

enum dp_drop dp_ipv4_parse(const uint8_t *p, size_t len, struct dp_ipv4 *out)
{
	size_t hl;
	uint16_t total, frag;

	if (len < DP_IPV4_HDR_LEN)
		return DP_DROP_IP_TRUNC;
	if (p[0] >> 4 != 4)
		return DP_DROP_IP_VERSION;
	hl = (size_t)(p[0] & 0xf) * 4;
	if (hl < DP_IPV4_HDR_LEN)
		return DP_DROP_IP_HDR_LEN;
	if (hl > len)
		return DP_DROP_IP_TRUNC;
	if (dp_csum_fold(dp_csum_partial(p, hl, 0)) != 0)
		return DP_DROP_IP_BAD_CKSUM;
	total = dp_get_be16(p + 2);
	if (total < hl)
		return DP_DROP_IP_HDR_LEN;
	if (total > len)
		return DP_DROP_IP_TRUNC;
	frag = dp_get_be16(p + 6);
	if (frag & 0x3fff) /* MF or a fragment offset */
		return DP_DROP_IP_FRAGMENT;
	if (p[9] != DP_IPPROTO_UDP && p[9] != DP_IPPROTO_ICMP)
		return DP_DROP_IP_PROTO;
	if (p[12] == 127 || p[12] >= 224)
		return DP_DROP_IP_BAD_SOURCE;
	memcpy(out->src, p + 12, 4);
	memcpy(out->dst, p + 16, 4);
	out->proto = p[9];
	out->ttl = p[8];
	out->tos = p[1];
	out->id = dp_get_be16(p + 4);
	out->hdr_len = (uint16_t)hl;
	out->total_len = total;
	out->payload_off = (uint16_t)hl;
	out->payload_len = (uint16_t)(total - hl);
	return DP_DROP_NONE;
}

/* ---- IPv6 ---- */

static const uint8_t ip6_loopback[16] = { [15] = 1 };

static enum dp_drop ipv6_next_hdr(uint8_t nh)
{
	switch (nh) {
	case DP_IPPROTO_UDP:
	case DP_IPPROTO_ICMPV6:
		return DP_DROP_NONE;
	case 44: /* fragment */
		return DP_DROP_IP_FRAGMENT;
	case 0:   /* hop-by-hop options (not here: first only, see dp_ipv6_parse) */
	case 43:  /* routing */
	case 50:  /* ESP */
	case 51:  /* AH */
	case 60:  /* destination options */
	case 135: /* mobility */
	case 139: /* HIP */
	case 140: /* shim6 */
	case 253: /* experimentation */
	case 254:
		return DP_DROP_IPV6_EXT;
	default:
		return DP_DROP_IP_PROTO;
	}
}

/* The options of a hop-by-hop or destination options header (RFC 8200
 * 4.2): Pad1, PadN and options whose type says "skip if unknown" (the two
 * top bits 00, e.g. Router Alert is 5) pass; any other option asks a node
 * that does not know it to discard the packet, and so do we. */
static enum dp_drop ipv6_options(const uint8_t *o, size_t len)
{
	size_t off = 0;

	while (off < len) {
		if (o[off] == 0) { /* Pad1 */
			off++;
			continue;
		}
		if (len - off < 2 || (size_t)o[off + 1] + 2 > len - off)
			return DP_DROP_IPV6_EXT;
		if (o[off] >> 6)
			return DP_DROP_IPV6_EXT;
		off += (size_t)o[off + 1] + 2;
	}
	return DP_DROP_NONE;
}

enum dp_drop dp_ipv6_parse(const uint8_t *p, size_t len, struct dp_ipv6 *out)
{
	uint16_t plen, off = DP_IPV6_HDR_LEN;
	uint32_t vtf;
	enum dp_drop d;
	uint8_t nh;

	if (len < DP_IPV6_HDR_LEN)
		return DP_DROP_IP_TRUNC;
	vtf = dp_get_be32(p);
	if (vtf >> 28 != 6)
		return DP_DROP_IP_VERSION;
	plen = dp_get_be16(p + 4);
	if ((size_t)plen + DP_IPV6_HDR_LEN > len)
		return DP_DROP_IP_TRUNC;
	/* a hop-by-hop header (first only), then destination options headers:
	 * skipped once their options are checked (MLD comes with a Router
	 * Alert in a hop-by-hop header) */
	nh = p[6];
	for (unsigned n = 0; (nh == 0 && n == 0) || (nh == 60 && n < 2); n++) {
		size_t hl;

		if ((size_t)plen + DP_IPV6_HDR_LEN - off < 8)
			return DP_DROP_IP_TRUNC;
		hl = ((size_t)p[off + 1] + 1) * 8;
		if (hl > (size_t)plen + DP_IPV6_HDR_LEN - off)
			return DP_DROP_IP_TRUNC;
		d = ipv6_options(p + off + 2, hl - 2);
		if (d)
			return d;
		nh = p[off];
		off = (uint16_t)(off + hl);
	}
	d = ipv6_next_hdr(nh);
	if (d)
		return d;
	if (p[8] == 0xff || memcmp(p + 8, ip6_loopback, 16) == 0)
		return DP_DROP_IP_BAD_SOURCE;
	memcpy(out->src, p + 8, 16);
	memcpy(out->dst, p + 24, 16);
	out->next_hdr = nh;
	out->hop_limit = p[7];
	out->tclass = (uint8_t)(vtf >> 20);
	out->flow_label = vtf & 0xfffff;
	out->payload_off = off;
	out->payload_len = (uint16_t)(plen - (off - DP_IPV6_HDR_LEN));
	return DP_DROP_NONE;
}

/* ---- UDP ---- */

static enum dp_drop udp_parse(const uint8_t *p, size_t len, uint32_t phdr_wo_len, bool v6,
			      unsigned flags, struct dp_udp *out)
{
	uint16_t ulen;

	if (len < DP_UDP_HDR_LEN)
		return DP_DROP_UDP_TRUNC;
	ulen = dp_get_be16(p + 4);
	if (ulen < DP_UDP_HDR_LEN || ulen > len)
		return DP_DROP_UDP_TRUNC;
	if (!(flags & DP_UDP_RX_CSUM_GOOD)) {
		uint16_t c = dp_get_be16(p + 6);

		if (c == 0) {
			if (v6)
				return DP_DROP_UDP_BAD_CKSUM;
		} else if (dp_csum_fold(dp_csum_partial(p, ulen, phdr_wo_len + ulen)) != 0) {
			return DP_DROP_UDP_BAD_CKSUM;
		}
	}
	out->src_port = dp_get_be16(p);
	out->dst_port = dp_get_be16(p + 2);
	out->len = ulen;
	out->payload_off = DP_UDP_HDR_LEN;
	out->payload_len = (uint16_t)(ulen - DP_UDP_HDR_LEN);
	return DP_DROP_NONE;
}

enum dp_drop dp_udp4_parse(const struct dp_ipv4 *ip, const uint8_t *p, size_t len,
			   unsigned flags, struct dp_udp *out)
{
	return udp_parse(p, len, dp_phdr_sum4(ip->src, ip->dst, DP_IPPROTO_UDP, 0), false, flags,
			 out);
}

enum dp_drop dp_udp6_parse(const struct dp_ipv6 *ip, const uint8_t *p, size_t len,
			   unsigned flags, struct dp_udp *out)
{
	return udp_parse(p, len, dp_phdr_sum6(ip->src, ip->dst, DP_IPPROTO_UDP, 0), true, flags,
			 out);
}

size_t dp_udp4_hdr_len(const struct dp_udp_tx *tx)
{
	return eth_hdr_len(tx->vlan) + DP_IPV4_HDR_LEN + DP_UDP_HDR_LEN;
}

size_t dp_udp6_hdr_len(const struct dp_udp_tx *tx)
{
	return eth_hdr_len(tx->vlan) + DP_IPV6_HDR_LEN + DP_UDP_HDR_LEN;
}

/* UDP header at u with the checksum field set per tx->flags. */
static void put_udp(uint8_t *u, const struct dp_udp_tx *tx, uint16_t ulen, uint32_t phdr,
		    const uint8_t *payload, size_t payload_len)
{
	uint16_t c = 0;

	dp_put_be16(u, tx->src_port);
	dp_put_be16(u + 2, tx->dst_port);
	dp_put_be16(u + 4, ulen);
	dp_put_be16(u + 6, 0);
	if (tx->flags & DP_TX_UDP_CSUM_OFFLOAD) {
		c = (uint16_t)phdr; /* phdr is folded: <= 0xffff */
	} else if (!(tx->flags & DP_TX_UDP_CSUM_NONE)) {
		uint32_t s = dp_csum_partial(u, DP_UDP_HDR_LEN, phdr);

		c = dp_csum_fold(dp_csum_partial(payload, payload_len, s));
		if (c == 0)
			c = 0xffff; /* 0 means "no checksum" */
	}
	dp_put_be16(u + 6, c);
}

static bool needs_payload(const struct dp_udp_tx *tx)
{
	return !(tx->flags & (DP_TX_UDP_CSUM_OFFLOAD | DP_TX_UDP_CSUM_NONE));
}

int dp_udp4_build(uint8_t *hdr, size_t cap, const struct dp_udp_tx *tx, const uint8_t *payload,
		  size_t payload_len)
{
	size_t need = dp_udp4_hdr_len(tx);
	int off;
	uint8_t *ip;
	uint16_t ulen;

	if (cap < need)
		return -ENOSPC;
	if (payload_len > 65535 - DP_IPV4_HDR_LEN - DP_UDP_HDR_LEN)
		return -EMSGSIZE;
	if (!payload && payload_len && needs_payload(tx))
		return -EINVAL;
	ulen = (uint16_t)(payload_len + DP_UDP_HDR_LEN);
	off = dp_eth_build(hdr, cap, tx->eth_dst, tx->eth_src, tx->vlan, DP_ETHERTYPE_IPV4);
	ip = hdr + off;
	ip[0] = 0x45;
	ip[1] = tx->tos;
	dp_put_be16(ip + 2, (uint16_t)(ulen + DP_IPV4_HDR_LEN));
	dp_put_be16(ip + 4, tx->ip_id);
	dp_put_be16(ip + 6, 0x4000); /* DF */
	ip[8] = tx->ttl ? tx->ttl : 64;
	ip[9] = DP_IPPROTO_UDP;
	memcpy(ip + 12, tx->src, 4);
	memcpy(ip + 16, tx->dst, 4);
	dp_put_be16(ip + 10, (tx->flags & DP_TX_IP_CSUM_OFFLOAD) ? 0 : dp_ipv4_csum(ip, 20));
	put_udp(ip + DP_IPV4_HDR_LEN, tx, ulen, dp_phdr_sum4(tx->src, tx->dst, DP_IPPROTO_UDP, ulen),
		payload, payload_len);
	return (int)need;
}

int dp_udp6_build(uint8_t *hdr, size_t cap, const struct dp_udp_tx *tx, const uint8_t *payload,
		  size_t payload_len)
{
	size_t need = dp_udp6_hdr_len(tx);
	int off;
	uint8_t *ip;
	uint16_t ulen;

	if (cap < need)
		return -ENOSPC;
	if (payload_len > 65535 - DP_UDP_HDR_LEN)
		return -EMSGSIZE;
	if (tx->flags & (DP_TX_UDP_CSUM_NONE | DP_TX_IP_CSUM_OFFLOAD))
		return -EINVAL;
	if (!payload && payload_len && needs_payload(tx))
		return -EINVAL;
	ulen = (uint16_t)(payload_len + DP_UDP_HDR_LEN);
	off = dp_eth_build(hdr, cap, tx->eth_dst, tx->eth_src, tx->vlan, DP_ETHERTYPE_IPV6);
	ip = hdr + off;
	dp_put_be32(ip, 6u << 28 | (uint32_t)tx->tos << 20 | (tx->flow_label & 0xfffff));
	dp_put_be16(ip + 4, ulen);
	ip[6] = DP_IPPROTO_UDP;
	ip[7] = tx->ttl ? tx->ttl : 64;
	memcpy(ip + 8, tx->src, 16);
	memcpy(ip + 24, tx->dst, 16);
	put_udp(ip + DP_IPV6_HDR_LEN, tx, ulen, dp_phdr_sum6(tx->src, tx->dst, DP_IPPROTO_UDP, ulen),
		payload, payload_len);
	return (int)need;
}
