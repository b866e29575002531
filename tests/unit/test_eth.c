/* SPDX-License-Identifier: MIT
 * Unit tests for the ethdev stack (dataplane/dp_eth.c, dp_eth_io.c) on
 * frames built here: ARP/ICMP/NDP/ICMPv6 responders, gratuitous ARP, every
 * drop counter of the rx path, a relay through two legs with next-hop
 * resolution (IPv4 and IPv6), retries ending in no_arp, and the
 * checksum-offload header form. The neighbour cache and the flow table on
 * their own: test_eth_tables.c.
 *
 * EAL: Criterion runs each test in its own process, so each test starts EAL
 * in its fixture (--no-huge --no-pci -m 128 --no-shconf, a file prefix of
 * its own, --vdev=net_ring0). net_ring0 made that way is a loopback: its rx
 * and tx queue 0 share the ring ETH_RXTX0_net_ring0. No worker thread runs:
 * the test hands frames to dp_eth_input itself, with a dp_worker of its
 * own, and reads what the stack sent from the ring.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp_eth.h"
#include "eth_test_util.h"

/* ==== the stack: frames in, frames out ==== */

static struct dp_worker W;
static struct rte_ring *wire;
static const uint8_t OUR4[4] = { 10, 1, 1, 1 }, PEER4[4] = { 10, 1, 1, 9 }, FAR4[4] = { 192, 0, 2, 50 };
static const uint8_t OUR6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t PEER6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9 };
static const uint8_t PEER_MAC[6] = { 2, 0xaa, 0, 0, 0, 9 };
static uint8_t our_mac[6];

static void stack_up(void)
{
	struct dp_iface_conf c4 = { .name = "v4", .address = "10.1.1.1", .type = DP_IFACE_ETHDEV,
				    .device = "net_ring0", .prefix_len = 24, .gateway = "10.1.1.254",
				    .port_min = 30000, .port_max = 30099 };
	struct dp_iface_conf c6 = { .name = "v6", .address = "fd00::1", .type = DP_IFACE_ETHDEV,
				    .device = "net_ring0", .prefix_len = 64, .port_min = 30000, .port_max = 30099 };
	struct dp_worker *list[1] = { &W };

	static const uint8_t mac[6] = { 0x02, 0x6d, 0x65, 0x64, 0x69, 0x75 };

	eal_up();
	memset(&W, 0, sizeof(W));
	W.lcore = rte_lcore_id();
	W.pool = pool;
	W.tsc_hz = rte_get_tsc_hz();
	W.epfd = W.wakefd = -1;
	cr_assert_eq(dp_eth_iface_add(0, &c4), 0);
	cr_assert_eq(dp_eth_iface_add(1, &c6), 0, "a second address on the same device");
	cr_assert_eq(dp_eth_iface_port(0), dp_eth_iface_port(1), "one port");
	/* net_ring reports 00:00:00:00:00:00 and cannot change it; give the
	 * stack a real-looking one so that MAC checks mean something */
	memcpy(dp_eth_iface_port(0)->mac, mac, 6);
	cr_assert_eq(dp_eth_media_start(400), 0);
	cr_assert_eq(dp_eth_start(list, 1), 0);
	cr_assert_not_null(W.eth);
	memcpy(our_mac, dp_eth_iface_port(0)->mac, 6);
	wire = rte_ring_lookup("ETH_RXTX0_net_ring0");
	cr_assert_not_null(wire);
}

static void stack_down(void)
{
	dp_eth_stop();
	eal_down();
}

TestSuite(stack, .init = stack_up, .fini = stack_down);

/* Feed one frame to the rx path; flush; collect what was sent. */
static unsigned exchange(const void *frame, size_t len, struct rte_mbuf **out, unsigned max)
{
	struct rte_mbuf *m = mbuf_of(frame, len);

	m->port = dp_eth_iface_port(0)->port_id;
	dp_eth_input(&W, &W.eth->wp[0], &m, 1);
	dp_eth_flush(&W);
	return rte_ring_dequeue_burst(wire, (void **)out, max, NULL);
}

static unsigned collect(struct rte_mbuf **out, unsigned max)
{
	dp_eth_flush(&W);
	return rte_ring_dequeue_burst(wire, (void **)out, max, NULL);
}

static uint64_t drops(enum dp_drop d)
{
	return W.stats.drops[d];
}

static uint64_t total_drops(void)
{
	uint64_t n = 0;

	for (int d = 0; d < DP_DROP__COUNT; d++)
		n += W.stats.drops[d];
	return n;
}

Test(stack, arp_request_for_us_is_answered_and_teaches_the_cache)
{
	uint8_t req[64], mac[6];
	struct rte_mbuf *out[4];
	struct dp_arp a;
	struct dp_eth eth;
	int len = dp_arp_build_request(req, sizeof(req), DP_VLAN_NONE, PEER_MAC, PEER4, OUR4);

	cr_assert_eq(exchange(req, (size_t)len, out, 4), 1);
	const uint8_t *f = rte_pktmbuf_mtod(out[0], const uint8_t *);
	cr_assert_eq(dp_eth_parse(f, rte_pktmbuf_data_len(out[0]), &eth), DP_DROP_NONE);
	cr_assert_arr_eq(eth.dst, PEER_MAC, 6);
	cr_assert_arr_eq(eth.src, our_mac, 6);
	cr_assert_eq(dp_arp_parse(f + 14, rte_pktmbuf_data_len(out[0]) - 14, &a), DP_DROP_NONE);
	cr_assert_eq(a.op, DP_ARP_OP_REPLY);
	cr_assert_arr_eq(a.sha, our_mac, 6);
	cr_assert_arr_eq(a.spa, OUR4, 4);
	cr_assert_arr_eq(a.tha, PEER_MAC, 6);
	cr_assert_arr_eq(a.tpa, PEER4, 4);
	cr_assert_eq(dp_neigh_peek(W.eth->wp[0].neigh, AF_INET, PEER4, rte_rdtsc(), mac), 1);
	cr_assert_arr_eq(mac, PEER_MAC, 6);
	cr_assert_eq(W.stats.rx_packets, 1);
	cr_assert_eq(W.stats.tx_packets, 1);
	rte_pktmbuf_free(out[0]);

	/* for somebody else: dropped, counted (a broadcast not meant for us,
	 * not an error), not learnt */
	static const uint8_t other[4] = { 10, 1, 1, 77 }, x[4] = { 10, 1, 1, 5 };
	len = dp_arp_build_request(req, sizeof(req), DP_VLAN_NONE, PEER_MAC, x, other);
	cr_assert_eq(exchange(req, (size_t)len, out, 4), 0);
	cr_assert_eq(drops(DP_DROP_MCAST_NOT_FOR_US), 1);
	cr_assert_eq(drops(DP_DROP_IP_NOT_LOCAL), 0);
	cr_assert_eq(dp_neigh_peek(W.eth->wp[0].neigh, AF_INET, x, rte_rdtsc(), mac), 0);
}

/* Ethernet + IPv4 header for a packet from PEER to us. */
static size_t ip4_frame(uint8_t *f, uint8_t proto, const uint8_t *l4, size_t l4_len)
{
	memcpy(f, our_mac, 6);
	memcpy(f + 6, PEER_MAC, 6);
	dp_put_be16(f + 12, DP_ETHERTYPE_IPV4);
	uint8_t *ip = f + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	dp_put_be16(ip + 2, (uint16_t)(20 + l4_len));
	dp_put_be16(ip + 4, 0x1234);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, PEER4, 4);
	memcpy(ip + 16, OUR4, 4);
	dp_put_be16(ip + 10, dp_ipv4_csum(ip, 20));
	memcpy(ip + 20, l4, l4_len);
	return 34 + l4_len;
}

Test(stack, icmp_echo_is_answered)
{
	uint8_t icmp[40] = { 8, 0, 0, 0, 0x12, 0x34, 0, 1 }, f[128];
	struct rte_mbuf *out[4];
	struct dp_eth eth;
	struct dp_ipv4 ip;

	for (int i = 8; i < 40; i++)
		icmp[i] = (uint8_t)i;
	dp_put_be16(icmp + 2, dp_csum_fold(dp_csum_partial(icmp, sizeof(icmp), 0)));
	size_t len = ip4_frame(f, DP_IPPROTO_ICMP, icmp, sizeof(icmp));
	cr_assert_eq(exchange(f, len, out, 4), 1);
	const uint8_t *r = rte_pktmbuf_mtod(out[0], const uint8_t *);
	cr_assert_eq(rte_pktmbuf_data_len(out[0]), len);
	cr_assert_eq(dp_eth_parse(r, len, &eth), DP_DROP_NONE);
	cr_assert_arr_eq(eth.dst, PEER_MAC, 6);
	cr_assert_eq(dp_ipv4_parse(r + 14, len - 14, &ip), DP_DROP_NONE, "valid IPv4 checksum");
	cr_assert_arr_eq(ip.src, OUR4, 4);
	cr_assert_arr_eq(ip.dst, PEER4, 4);
	cr_assert_eq(r[34], 0, "echo reply");
	cr_assert_eq(dp_csum_fold(dp_csum_partial(r + 34, sizeof(icmp), 0)), 0, "valid ICMP checksum");
	cr_assert_arr_eq(r + 38, icmp + 4, sizeof(icmp) - 4, "id, seq and data echoed");
	rte_pktmbuf_free(out[0]);
	cr_assert_eq(total_drops(), 0);
}

Test(stack, gratuitous_arp_three_times_a_second_apart)
{
	struct rte_mbuf *out[4];
	struct dp_arp a;
	uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();

	for (int i = 0; i < 5; i++) {
		dp_eth_tick(&W, now + (uint64_t)i * hz);
		unsigned n = collect(out, 4);

		cr_assert_eq(n, i < 3 ? 1u : 0u, "tick %d", i);
		if (!n)
			continue;
		const uint8_t *f = rte_pktmbuf_mtod(out[0], const uint8_t *);
		cr_assert_eq(dp_arp_parse(f + 14, rte_pktmbuf_data_len(out[0]) - 14, &a), DP_DROP_NONE);
		cr_assert_eq(a.op, DP_ARP_OP_REQUEST);
		cr_assert_arr_eq(a.spa, OUR4, 4);
		cr_assert_arr_eq(a.tpa, OUR4, 4, "gratuitous: asks for itself");
		cr_assert_eq(f[0], 0xff, "broadcast");
		rte_pktmbuf_free(out[0]);
	}
}

Test(stack, ndp_and_icmpv6_echo_are_answered)
{
	uint8_t f[256], mac[6];
	struct rte_mbuf *out[4];
	struct dp_eth eth;
	struct dp_ipv6 ip;
	struct dp_ndp_na na;
	int len = dp_ndp_ns_build(f, sizeof(f), DP_VLAN_NONE, PEER_MAC, PEER6, OUR6);

	cr_assert_eq(exchange(f, (size_t)len, out, 4), 1, "NS for our address -> NA");
	const uint8_t *r = rte_pktmbuf_mtod(out[0], const uint8_t *);
	size_t rl = rte_pktmbuf_data_len(out[0]);
	cr_assert_eq(dp_eth_parse(r, rl, &eth), DP_DROP_NONE);
	cr_assert_arr_eq(eth.dst, PEER_MAC, 6);
	cr_assert_eq(dp_ipv6_parse(r + 14, rl - 14, &ip), DP_DROP_NONE);
	cr_assert_eq(dp_ndp_na_parse(&ip, r + 54, ip.payload_len, &na), DP_DROP_NONE, "a valid NA");
	cr_assert_arr_eq(na.target, OUR6, 16);
	cr_assert(na.has_mac && na.solicited);
	cr_assert_arr_eq(na.mac, our_mac, 6);
	cr_assert_eq(dp_neigh_peek(W.eth->wp[0].neigh, AF_INET6, PEER6, rte_rdtsc(), mac), 1, "solicitor learnt");
	rte_pktmbuf_free(out[0]);

	/* NS for an address we do not own (to its solicited-node group, which
	 * we are not in): no answer */
	len = dp_ndp_ns_build(f, sizeof(f), DP_VLAN_NONE, PEER_MAC, PEER6, (const uint8_t[16]){ 0xfd, [15] = 0x42 });
	cr_assert_eq(exchange(f, (size_t)len, out, 4), 0);
	cr_assert_eq(drops(DP_DROP_MCAST_NOT_FOR_US), 1);

	/* ICMPv6 echo */
	uint8_t *h = f;
	memcpy(h, our_mac, 6);
	memcpy(h + 6, PEER_MAC, 6);
	dp_put_be16(h + 12, DP_ETHERTYPE_IPV6);
	dp_put_be32(h + 14, 6u << 28);
	dp_put_be16(h + 18, 16);
	h[20] = DP_IPPROTO_ICMPV6;
	h[21] = 64;
	memcpy(h + 22, PEER6, 16);
	memcpy(h + 38, OUR6, 16);
	uint8_t *icmp = h + 54;
	memset(icmp, 0, 16);
	icmp[0] = DP_ICMP6_ECHO_REQUEST;
	dp_put_be16(icmp + 4, 7);
	dp_put_be16(icmp + 6, 1);
	memcpy(icmp + 8, "medius!!", 8);
	dp_put_be16(icmp + 2, dp_csum_fold(dp_csum_partial(icmp, 16, dp_phdr_sum6(PEER6, OUR6, 58, 16))));
	cr_assert_eq(exchange(f, 70, out, 4), 1);
	r = rte_pktmbuf_mtod(out[0], const uint8_t *);
	cr_assert_eq(r[54], DP_ICMP6_ECHO_REPLY);
	cr_assert_arr_eq(r + 22, OUR6, 16);
	cr_assert_arr_eq(r + 38, PEER6, 16);
	cr_assert_eq(dp_csum_fold(dp_csum_partial(r + 54, 16, dp_phdr_sum6(OUR6, PEER6, 58, 16))), 0);
	rte_pktmbuf_free(out[0]);
}

/* A UDP frame PEER:5000 -> us:port (software checksum), via dp_udp4_build. */
static size_t udp4_frame(uint8_t *f, uint16_t port, const uint8_t *payload, size_t plen)
{
	struct dp_udp_tx tx = { .vlan = DP_VLAN_NONE, .src_port = 5000, .dst_port = port, .ip_id = 7 };
	int h;

	memcpy(tx.eth_dst, our_mac, 6);
	memcpy(tx.eth_src, PEER_MAC, 6);
	memcpy(tx.src, PEER4, 4);
	memcpy(tx.dst, OUR4, 4);
	memcpy(f + 42, payload, plen);
	h = dp_udp4_build(f, 42, &tx, f + 42, plen);
	cr_assert_eq(h, 42);
	return 42 + plen;
}

static void rtp(uint8_t *p, uint16_t seq)
{
	memset(p, 0, 172);
	p[0] = 0x80;
	dp_put_be16(p + 2, seq);
	dp_put_be32(p + 4, seq * 160u);
	dp_put_be32(p + 8, 0x11223344);
	for (int i = 12; i < 172; i++)
		p[i] = (uint8_t)(i * 7 + seq);
}

Test(stack, bad_input_each_on_its_own_counter)
{
	uint8_t f[256], pl[172], *ip = f + 14;
	struct rte_mbuf *out[4];
	size_t len;

	rtp(pl, 1);
	struct {
		enum dp_drop want;
		const char *what;
	} cases[] = {
		{ DP_DROP_IP_FRAGMENT, "IPv4 fragment (MF)" },
		{ DP_DROP_IP_FRAGMENT, "IPv4 fragment (offset)" },
		{ DP_DROP_IP_BAD_CKSUM, "bad IPv4 header checksum" },
		{ DP_DROP_UDP_BAD_CKSUM, "bad UDP checksum" },
		{ DP_DROP_IP_PROTO, "TCP" },
		{ DP_DROP_IP_TRUNC, "frame cut inside the IPv4 header" },
		{ DP_DROP_IP_TRUNC, "IPv4 total length beyond the frame" },
		{ DP_DROP_UDP_TRUNC, "UDP length beyond the IP payload" },
		{ DP_DROP_ETH_TRUNC, "10-byte frame" },
		{ DP_DROP_ETH_TYPE, "LLDP ethertype" },
		{ DP_DROP_IP_NOT_LOCAL, "IPv4 to another address" },
		{ DP_DROP_IP_NOT_LOCAL, "unicast to another MAC" },
		{ DP_DROP_NO_FLOW, "UDP to a port without a leg" },
	};
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint64_t before = drops(cases[c].want), all = total_drops();

		len = udp4_frame(f, 30050, pl, sizeof(pl));
		switch (c) {
		case 0: dp_put_be16(ip + 6, 0x2000); break;
		case 1: dp_put_be16(ip + 6, 0x0010); break;
		case 2: ip[10] ^= 0x55; break;
		case 3: f[42 + 20] ^= 1; break;
		case 4: ip[9] = 6; break;
		case 5: len = 14 + 12; break;
		case 6: len -= 30; break;
		case 7: dp_put_be16(ip + 24, 400); break;
		case 8: len = 10; break;
		case 9: dp_put_be16(f + 12, 0x88cc); break;
		case 10: ip[19] = 77; break;
		case 11: f[5] ^= 0x40; break;
		case 12: break;
		}
		if (c == 0 || c == 1 || c == 4 || c == 7 || c == 10) { /* keep the IP checksum right */
			dp_put_be16(ip + 10, 0);
			dp_put_be16(ip + 10, dp_ipv4_csum(ip, 20));
		}
		cr_assert_eq(exchange(f, len, out, 4), 0, "%s: nothing sent", cases[c].what);
		cr_assert_eq(drops(cases[c].want), before + 1, "%s counts as %s", cases[c].what,
			     dp_drop_name(cases[c].want));
		cr_assert_eq(total_drops(), all + 1, "%s: one drop", cases[c].what);
	}
	cr_assert_eq(rte_mempool_avail_count(pool), 1023, "every dropped frame was freed");
}

/* Two legs relaying to each other, initialised as dp_leg_create does
 * (keep in step with it: a field it sets that is left 0 here changes how
 * the relay treats packets). */
static struct dp_leg legs[2];

static void make_legs(unsigned iface, const struct sockaddr_storage *remote_b)
{
	memset(legs, 0, sizeof(legs));
	for (int i = 0; i < 2; i++) {
		struct dp_leg *l = &legs[i];

		l->w = &W;
		l->iface = iface;
		l->flags = DP_LEG_ASYMMETRIC | DP_LEG_RTCP_MUX;
		l->nat_learning = true; /* accept any source: these tests are about the stack */
		l->rtp.leg = l->rtcp.leg = l;
		l->rtp.fd = l->rtcp.fd = -1;
		l->rtcp.rtcp = true;
		l->stats.rtt_ms = -1;
		l->block_pt = -1;
		l->peer = &legs[!i];
		cr_assert_eq(dp_eth_endpoint_open(iface, (uint16_t)(30010 + 2 * i), &l->rtp), 0);
	}
	cr_assert_eq(dp_eth_endpoint_open(iface, 30010, &legs[1].rtcp), -EADDRINUSE, "one endpoint per port");
	dp_addr_from_sa(&legs[1].remote_rtp, remote_b);
}

static void drop_legs(void)
{
	for (int i = 0; i < 2; i++)
		dp_eth_endpoint_close(&legs[i].rtp);
	cr_assert_eq(dp_flow_count(dp_eth_flow_table()), 0);
}

static void check_udp4_out(struct rte_mbuf *m, const uint8_t *dst_mac, const uint8_t *dst_ip,
			   uint16_t dst_port, const uint8_t *payload)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	size_t len = rte_pktmbuf_data_len(m);
	struct dp_eth eth;
	struct dp_ipv4 ip;
	struct dp_udp udp;

	cr_assert_eq(len, 42 + 172u);
	cr_assert_eq(dp_eth_parse(f, len, &eth), DP_DROP_NONE);
	cr_assert_arr_eq(eth.dst, dst_mac, 6);
	cr_assert_arr_eq(eth.src, our_mac, 6);
	cr_assert_eq(dp_ipv4_parse(f + 14, len - 14, &ip), DP_DROP_NONE);
	cr_assert_arr_eq(ip.src, OUR4, 4);
	cr_assert_arr_eq(ip.dst, dst_ip, 4);
	cr_assert_eq(ip.tos, 0xb8, "DSCP EF");
	cr_assert_eq(dp_udp4_parse(&ip, f + 34, ip.payload_len, 0, &udp), DP_DROP_NONE, "valid UDP checksum");
	cr_assert_eq(udp.src_port, 30012, "from leg B's port");
	cr_assert_eq(udp.dst_port, dst_port);
	cr_assert_arr_eq(f + 42, payload, 172);
}

/* PEER answers our ARP request: what that releases goes to out. */
static unsigned peer_answers_arp(struct rte_mbuf **out, unsigned max)
{
	uint8_t req[64];
	int len = dp_arp_build_request(req, sizeof(req), DP_VLAN_NONE, PEER_MAC, PEER4, OUR4);

	req[21] = DP_ARP_OP_REPLY; /* turn it into a reply to us */
	memcpy(req, our_mac, 6);
	memcpy(req + 32, our_mac, 6);
	return exchange(req, (size_t)len, out, max);
}

Test(stack, relay_resolves_the_next_hop_then_sends)
{
	struct sockaddr_storage rb = { 0 };
	struct sockaddr_in *b = (struct sockaddr_in *)&rb;
	uint8_t f[256], pl[172];
	struct rte_mbuf *out[8];
	struct dp_arp a;

	b->sin_family = AF_INET;
	b->sin_port = htons(6000);
	memcpy(&b->sin_addr, PEER4, 4);
	make_legs(0, &rb);

	rtp(pl, 1);
	cr_assert_eq(exchange(f, udp4_frame(f, 30010, pl, 172), out, 8), 1, "only an ARP request goes out");
	cr_assert_eq(dp_arp_parse(rte_pktmbuf_mtod(out[0], uint8_t *) + 14, 28, &a), DP_DROP_NONE);
	cr_assert_eq(a.op, DP_ARP_OP_REQUEST);
	cr_assert_arr_eq(a.tpa, PEER4, 4, "for the remote (on-link)");
	cr_assert_arr_eq(a.spa, OUR4, 4);
	rte_pktmbuf_free(out[0]);
	cr_assert_eq(legs[0].stats.rtp_packets, 1);
	cr_assert_eq(W.stats.tx_packets, 1, "the held packet is not counted yet");

	/* the answer releases the held packet */
	cr_assert_eq(peer_answers_arp(out, 8), 1);
	check_udp4_out(out[0], PEER_MAC, PEER4, 6000, pl);
	rte_pktmbuf_free(out[0]);

	/* the next one goes straight out */
	rtp(pl, 2);
	cr_assert_eq(exchange(f, udp4_frame(f, 30010, pl, 172), out, 8), 1);
	check_udp4_out(out[0], PEER_MAC, PEER4, 6000, pl);
	rte_pktmbuf_free(out[0]);
	cr_assert_eq(W.stats.tx_packets, 3);
	cr_assert_eq(legs[1].stats.out_packets, 2);
	cr_assert_eq(total_drops(), 0);

	/* off-link remote: resolved through the gateway */
	memcpy(&b->sin_addr, FAR4, 4);
	dp_addr_from_sa(&legs[1].remote_rtp, &rb);
	rtp(pl, 3);
	cr_assert_eq(exchange(f, udp4_frame(f, 30010, pl, 172), out, 8), 1);
	cr_assert_eq(dp_arp_parse(rte_pktmbuf_mtod(out[0], uint8_t *) + 14, 28, &a), DP_DROP_NONE);
	cr_assert_arr_eq(a.tpa, ((const uint8_t[4]){ 10, 1, 1, 254 }), 4, "asks for the gateway");
	rte_pktmbuf_free(out[0]);
	drop_legs();
}

/* ng play DTMF on leg B while a full burst (DP_BURST packets) arrives on A:
 * each media packet goes out with an injected event packet after it, twice
 * what one TX batch holds. Everything must come out, in order, with nothing
 * written past the batch (the sanitizer run checks that). */
Test(stack, dtmf_injected_into_a_full_burst)
{
	struct sockaddr_storage rb = { 0 };
	struct sockaddr_in *b = (struct sockaddr_in *)&rb;
	static uint8_t f[DP_BURST][256];
	struct rte_mbuf *in[DP_BURST], *out[4 * DP_BURST];
	uint8_t pl[172];
	unsigned n = 0, got;

	b->sin_family = AF_INET;
	b->sin_port = htons(6000);
	memcpy(&b->sin_addr, PEER4, 4);
	make_legs(0, &rb);
	cr_assert_eq(peer_answers_arp(out, 8), 0);

	legs[1].inj_pt = 101;
	legs[1].inj_event = 5;
	legs[1].inj_volume = 10;
	legs[1].inj_duration = 60000; /* longer than the burst: one update per media packet */
	legs[1].inj_active = true;
	for (unsigned i = 0; i < DP_BURST; i++) {
		rtp(pl, (uint16_t)(100 + i));
		in[i] = mbuf_of(f[i], udp4_frame(f[i], 30010, pl, 172));
		in[i]->port = dp_eth_iface_port(0)->port_id;
	}
	dp_eth_input(&W, &W.eth->wp[0], in, DP_BURST);
	while ((got = collect(out + n, 4 * DP_BURST - n)) > 0)
		n += got;

	cr_assert_eq(n, 2 * DP_BURST, "each media packet and its event: %u", n);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *q = rte_pktmbuf_mtod(out[i], const uint8_t *) + 42;

		cr_assert_eq(q[1] & 0x7f, i % 2 ? 101 : 0, "packet %u: media, then event", i);
		cr_assert_eq(dp_get_be16(q + 2), (uint16_t)(100 + i), "packet %u: sequence numbers in a row", i);
		if (i % 2)
			cr_assert_eq(q[12], 5, "the event");
		rte_pktmbuf_free(out[i]);
	}
	cr_assert_eq(legs[1].stats.events_played, DP_BURST);
	cr_assert_eq(legs[1].stats.out_packets, 2 * DP_BURST);
	cr_assert_eq(total_drops(), 0);
	drop_legs();
}

Test(stack, unanswered_next_hop_drops_as_no_arp)
{
	struct sockaddr_storage rb = { 0 };
	struct sockaddr_in *b = (struct sockaddr_in *)&rb;
	uint8_t f[256], pl[172];
	struct rte_mbuf *out[8];
	uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();

	b->sin_family = AF_INET;
	b->sin_port = htons(6000);
	memcpy(&b->sin_addr, (const uint8_t[4]){ 10, 1, 1, 66 }, 4);
	make_legs(0, &rb);
	W.eth->wp[0].garp_left = 0;
	for (uint16_t s = 1; s <= 6; s++) {
		unsigned n;

		rtp(pl, s);
		n = exchange(f, udp4_frame(f, 30010, pl, 172), out, 8);
		cr_assert_eq(n, s == 1 ? 1u : 0u, "one ARP request for the first packet only");
		rte_pktmbuf_free_bulk(out, n);
	}
	cr_assert_eq(drops(DP_DROP_NO_ARP), 2, "4 held, 2 over the pending limit");
	for (int i = 1; i <= 3; i++)
		dp_eth_tick(&W, now + (uint64_t)i * hz + hz / 10);
	cr_assert_eq(drops(DP_DROP_NO_ARP), 6, "held packets dropped after the last retry");
	unsigned n = collect(out, 8);
	cr_assert_eq(n, 2, "two retries went out");
	rte_pktmbuf_free_bulk(out, n);
	drop_legs();
	cr_assert_eq(rte_mempool_avail_count(pool), 1023);
}

Test(stack, relay_over_ipv6)
{
	struct sockaddr_storage rb = { 0 };
	struct sockaddr_in6 *b = (struct sockaddr_in6 *)&rb;
	uint8_t f[256], pl[172];
	struct rte_mbuf *out[8];
	struct dp_udp_tx tx = { .vlan = DP_VLAN_NONE, .src_port = 5000, .dst_port = 30010 };
	struct dp_ipv6 ip;
	struct dp_udp udp;

	b->sin6_family = AF_INET6;
	b->sin6_port = htons(6002);
	memcpy(&b->sin6_addr, PEER6, 16);
	make_legs(1, &rb);
	/* the peer is known from its NS */
	int len = dp_ndp_ns_build(f, sizeof(f), DP_VLAN_NONE, PEER_MAC, PEER6, OUR6);
	cr_assert_eq(exchange(f, (size_t)len, out, 8), 1);
	rte_pktmbuf_free(out[0]);

	rtp(pl, 9);
	memcpy(tx.eth_dst, our_mac, 6);
	memcpy(tx.eth_src, PEER_MAC, 6);
	memcpy(tx.src, PEER6, 16);
	memcpy(tx.dst, OUR6, 16);
	memcpy(f + 62, pl, 172);
	cr_assert_eq(dp_udp6_build(f, 62, &tx, f + 62, 172), 62);
	cr_assert_eq(exchange(f, 62 + 172, out, 8), 1);
	const uint8_t *r = rte_pktmbuf_mtod(out[0], const uint8_t *);
	cr_assert_eq(rte_pktmbuf_data_len(out[0]), 62 + 172u);
	cr_assert_arr_eq(r, PEER_MAC, 6);
	cr_assert_eq(dp_ipv6_parse(r + 14, 40 + 8 + 172, &ip), DP_DROP_NONE);
	cr_assert_arr_eq(ip.src, OUR6, 16);
	cr_assert_arr_eq(ip.dst, PEER6, 16);
	cr_assert_eq(dp_udp6_parse(&ip, r + 54, ip.payload_len, 0, &udp), DP_DROP_NONE, "valid UDP checksum");
	cr_assert_eq(udp.src_port, 30012);
	cr_assert_eq(udp.dst_port, 6002);
	cr_assert_arr_eq(r + 62, pl, 172);
	rte_pktmbuf_free(out[0]);
	cr_assert_eq(total_drops(), 0);
	drop_legs();
}

Test(stack, checksum_offload_leaves_the_sums_to_the_nic)
{
	struct dp_eth_wport *wp = &W.eth->wp[0];
	struct dp_addr src = { .family = AF_INET, .port = htons(30010) };
	struct dp_addr dst = { .family = AF_INET, .port = htons(6000) };
	uint8_t pl[172];
	struct rte_mbuf *m;

	memcpy(src.ip, OUR4, 4);
	memcpy(dst.ip, PEER4, 4);
	rtp(pl, 1);
	m = mbuf_of(pl, sizeof(pl));
	wp->port->tx_offloads = RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	cr_assert_eq(dp_eth_build_udp(wp, &src, &dst, PEER_MAC, m), DP_DROP_NONE);
	wp->port->tx_offloads = 0;
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	cr_assert_eq(m->ol_flags, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM);
	cr_assert_eq(m->l2_len, 14);
	cr_assert_eq(m->l3_len, 20);
	cr_assert_eq(dp_get_be16(f + 24), 0, "IP checksum left to the NIC");
	cr_assert_eq(dp_get_be16(f + 40), (uint16_t)dp_phdr_sum4(OUR4, PEER4, 17, 180),
		     "UDP checksum field = pseudo-header sum, as DPDK offload expects");
	cr_assert_eq(rte_pktmbuf_headroom(m), RTE_PKTMBUF_HEADROOM - 42u, "headers prepended in place");
	rte_pktmbuf_free(m);

	/* software: complete sums, no flags */
	m = mbuf_of(pl, sizeof(pl));
	cr_assert_eq(dp_eth_build_udp(wp, &src, &dst, PEER_MAC, m), DP_DROP_NONE);
	cr_assert_eq(m->ol_flags, 0);
	f = rte_pktmbuf_mtod(m, const uint8_t *);
	struct dp_ipv4 ip;
	struct dp_udp udp;
	cr_assert_eq(dp_ipv4_parse(f + 14, 20 + 8 + 172, &ip), DP_DROP_NONE);
	cr_assert_eq(dp_udp4_parse(&ip, f + 34, ip.payload_len, 0, &udp), DP_DROP_NONE);
	rte_pktmbuf_free(m);

	/* family mismatch and no headroom */
	struct dp_addr d6 = { .family = AF_INET6 };
	m = mbuf_of(pl, sizeof(pl));
	cr_assert_eq(dp_eth_build_udp(wp, &src, &d6, PEER_MAC, m), DP_DROP_NO_DEST);
	rte_pktmbuf_prepend(m, (uint16_t)(rte_pktmbuf_headroom(m) - 10));
	cr_assert_eq(dp_eth_build_udp(wp, &src, &dst, PEER_MAC, m), DP_DROP_OVERSIZED);
	rte_pktmbuf_free(m);
}

/* ---- multicast not meant for us; IPv6 extension headers before ICMPv6 ---- */

static const uint8_t PEER_LL[16] = { 0xfe, 0x80, [15] = 9 };

/* Ethernet + IPv6 from src to dst (Ethernet destination eth_dst; NULL: ours),
 * hop limit hl; with hbh, a hop-by-hop header first (opt: its 6 option
 * bytes, NULL: Router Alert + PadN as MLD sends); then an upper-layer
 * message (proto; ICMPv6 gets its checksum). */
static size_t ip6_frame(uint8_t *f, const uint8_t *eth_dst, const uint8_t src[16], const uint8_t dst[16],
			uint8_t hl, bool hbh, const uint8_t *opt, uint8_t proto, const uint8_t *l4, size_t l4_len)
{
	static const uint8_t ra[6] = { 5, 2, 0, 0, 1, 0 }; /* Router Alert (MLD), PadN */
	uint8_t *h = f + 14, *u = h + 40 + (hbh ? 8 : 0);

	memcpy(f, eth_dst ? eth_dst : our_mac, 6);
	memcpy(f + 6, PEER_MAC, 6);
	dp_put_be16(f + 12, DP_ETHERTYPE_IPV6);
	dp_put_be32(h, 6u << 28);
	dp_put_be16(h + 4, (uint16_t)(l4_len + (hbh ? 8 : 0)));
	h[6] = hbh ? 0 : proto;
	h[7] = hl;
	memcpy(h + 8, src, 16);
	memcpy(h + 24, dst, 16);
	if (hbh) {
		h[40] = proto;
		h[41] = 0;
		memcpy(h + 42, opt ? opt : ra, 6);
	}
	memcpy(u, l4, l4_len);
	if (proto == DP_IPPROTO_ICMPV6) {
		dp_put_be16(u + 2, 0);
		dp_put_be16(u + 2, dp_csum_fold(dp_csum_partial(u, l4_len, dp_phdr_sum6(src, dst, 58, (uint32_t)l4_len))));
	}
	return (size_t)(u - f) + l4_len;
}

Test(stack, multicast_not_meant_for_us_has_its_own_counter)
{
	static const uint8_t mld2_mac[6] = { 0x33, 0x33, 0, 0, 0, 0x16 }, all_routers_mac[6] = { 0x33, 0x33, 0, 0, 0, 2 };
	static const uint8_t mld2_routers[16] = { 0xff, 0x02, [15] = 0x16 }, all_routers[16] = { 0xff, 0x02, [15] = 2 };
	static const uint8_t peer_sn[16] = { 0xff, 0x02, [11] = 1, 0xff, 0, 0, 9 };
	static const uint8_t unspec[16], other6[16] = { 0xfd, [15] = 0x42 };
	uint8_t f[256], l4[64];
	struct rte_mbuf *out[4];
	size_t len;
	uint64_t mcast = drops(DP_DROP_MCAST_NOT_FOR_US);

	/* MLDv2 report (what the kernel sends when an interface comes up): a
	 * hop-by-hop header with Router Alert, then ICMPv6 143, to ff02::16 */
	memset(l4, 0, sizeof(l4));
	l4[0] = 143;
	dp_put_be16(l4 + 6, 1);
	l4[8] = 4; /* CHANGE_TO_EXCLUDE_MODE, no source */
	memcpy(l4 + 12, peer_sn, 16);
	len = ip6_frame(f, mld2_mac, PEER_LL, mld2_routers, 1, true, NULL, DP_IPPROTO_ICMPV6, l4, 28);
	cr_assert_eq(exchange(f, len, out, 4), 0);
	cr_assert_eq(drops(DP_DROP_MCAST_NOT_FOR_US), mcast + 1, "MLDv2 report: not for us");
	/* MLDv1 report to the group itself */
	memset(l4, 0, sizeof(l4));
	l4[0] = 131;
	memcpy(l4 + 8, peer_sn, 16);
	len = ip6_frame(f, (const uint8_t[6]){ 0x33, 0x33, 0xff, 0, 0, 9 }, PEER_LL, peer_sn, 1, true, NULL,
			DP_IPPROTO_ICMPV6, l4, 24);
	cr_assert_eq(exchange(f, len, out, 4), 0);
	cr_assert_eq(drops(DP_DROP_MCAST_NOT_FOR_US), mcast + 2, "MLDv1 report");
	/* a router solicitation to ff02::2 */
	memset(l4, 0, sizeof(l4));
	l4[0] = 133;
	len = ip6_frame(f, all_routers_mac, PEER_LL, all_routers, 255, false, NULL, DP_IPPROTO_ICMPV6, l4, 8);
	cr_assert_eq(exchange(f, len, out, 4), 0);
	cr_assert_eq(drops(DP_DROP_MCAST_NOT_FOR_US), mcast + 3, "router solicitation");
	/* another node's DAD for fd00::42, to that address's solicited-node group */
	memset(l4, 0, sizeof(l4));
	l4[0] = DP_ICMP6_NS;
	memcpy(l4 + 8, other6, 16);
	len = ip6_frame(f, (const uint8_t[6]){ 0x33, 0x33, 0xff, 0, 0, 0x42 }, unspec,
			(const uint8_t[16]){ 0xff, 0x02, [11] = 1, 0xff, 0, 0, 0x42 }, 255, false, NULL,
			DP_IPPROTO_ICMPV6, l4, 24);
	cr_assert_eq(exchange(f, len, out, 4), 0);
	cr_assert_eq(drops(DP_DROP_MCAST_NOT_FOR_US), mcast + 4, "another node's DAD");
	/* mDNS over IPv4 to 224.0.0.251 */
	{
		uint8_t pl[12] = { 0 };
		static const uint8_t mdns4[4] = { 224, 0, 0, 251 };

		len = udp4_frame(f, 5353, pl, sizeof(pl));
		memcpy(f, (const uint8_t[6]){ 1, 0, 0x5e, 0, 0, 0xfb }, 6);
		memcpy(f + 14 + 16, mdns4, 4);
		dp_put_be16(f + 14 + 10, 0);
		dp_put_be16(f + 14 + 10, dp_ipv4_csum(f + 14, 20));
		cr_assert_eq(exchange(f, len, out, 4), 0);
		cr_assert_eq(drops(DP_DROP_MCAST_NOT_FOR_US), mcast + 5, "mDNS to 224.0.0.251");
	}
	cr_assert_eq(drops(DP_DROP_IP_NOT_LOCAL), 0, "none of it counts as a packet for an address not ours");
	cr_assert_eq(drops(DP_DROP_IPV6_EXT), 0, "MLD's hop-by-hop header is walked, not refused");
	cr_assert_eq(total_drops(), mcast + 5);
	/* unicast IPv6 to an address not ours is still ip_not_local */
	memset(l4, 0, sizeof(l4));
	l4[0] = DP_ICMP6_ECHO_REQUEST;
	len = ip6_frame(f, NULL, PEER6, other6, 64, false, NULL, DP_IPPROTO_ICMPV6, l4, 16);
	cr_assert_eq(exchange(f, len, out, 4), 0);
	cr_assert_eq(drops(DP_DROP_IP_NOT_LOCAL), 1);
}

Test(stack, ndp_and_echo_behind_a_hop_by_hop_header_are_answered)
{
	static const uint8_t our_sn[16] = { 0xff, 0x02, [11] = 1, 0xff, 0, 0, 1 };
	static const uint8_t padn[6] = { 1, 4, 0, 0, 0, 0 }, discard[6] = { 0x45, 4, 0, 0, 0, 0 };
	uint8_t f[256], l4[64];
	struct rte_mbuf *out[4];
	struct dp_ipv6 ip;
	struct dp_ndp_na na;
	size_t len;

	/* NS for our address, a hop-by-hop header (PadN) in front */
	memset(l4, 0, sizeof(l4));
	l4[0] = DP_ICMP6_NS;
	memcpy(l4 + 8, OUR6, 16);
	l4[24] = 1; /* source link-layer address */
	l4[25] = 1;
	memcpy(l4 + 26, PEER_MAC, 6);
	len = ip6_frame(f, (const uint8_t[6]){ 0x33, 0x33, 0xff, 0, 0, 1 }, PEER6, our_sn, 255, true, padn,
			DP_IPPROTO_ICMPV6, l4, 32);
	cr_assert_eq(exchange(f, len, out, 4), 1, "answered");
	const uint8_t *r = rte_pktmbuf_mtod(out[0], const uint8_t *);
	cr_assert_eq(dp_ipv6_parse(r + 14, rte_pktmbuf_data_len(out[0]) - 14, &ip), DP_DROP_NONE);
	cr_assert_eq(dp_ndp_na_parse(&ip, r + 14 + ip.payload_off, ip.payload_len, &na), DP_DROP_NONE, "a valid NA");
	cr_assert(na.solicited && memcmp(na.target, OUR6, 16) == 0);
	rte_pktmbuf_free(out[0]);

	/* echo request with a hop-by-hop header: the reply carries none */
	memset(l4, 0, sizeof(l4));
	l4[0] = DP_ICMP6_ECHO_REQUEST;
	dp_put_be16(l4 + 4, 7);
	memcpy(l4 + 8, "medius!!", 8);
	len = ip6_frame(f, NULL, PEER6, OUR6, 64, true, padn, DP_IPPROTO_ICMPV6, l4, 16);
	cr_assert_eq(exchange(f, len, out, 4), 1);
	r = rte_pktmbuf_mtod(out[0], const uint8_t *);
	cr_assert_eq(rte_pktmbuf_data_len(out[0]), 14 + 40 + 16u);
	cr_assert_eq(r[14 + 6], DP_IPPROTO_ICMPV6);
	cr_assert_eq(dp_get_be16(r + 14 + 4), 16);
	cr_assert_eq(r[54], DP_ICMP6_ECHO_REPLY);
	cr_assert_arr_eq(r + 62, "medius!!", 8);
	cr_assert_eq(dp_csum_fold(dp_csum_partial(r + 54, 16, dp_phdr_sum6(OUR6, PEER6, 58, 16))), 0);
	rte_pktmbuf_free(out[0]);

	/* an option whose type says "discard if unknown" (0x45: action 01) */
	len = ip6_frame(f, NULL, PEER6, OUR6, 64, true, discard, DP_IPPROTO_ICMPV6, l4, 16);
	cr_assert_eq(exchange(f, len, out, 4), 0);
	cr_assert_eq(drops(DP_DROP_IPV6_EXT), 1);
}

/* ---- what the rx queues hold before the port starts ---- */

static void eal_only(void)
{
	eal_up();
}

TestSuite(start, .init = eal_only, .fini = eal_down);

/* net_af_packet's ring can hold frames of other interfaces from before its
 * socket was bound; the port's queues are drained at start, uncounted. */
Test(start, frames_queued_before_the_port_starts_are_discarded_uncounted)
{
	struct dp_iface_conf c4 = { .name = "v4", .address = "10.1.1.1", .type = DP_IFACE_ETHDEV,
				    .device = "net_ring0", .prefix_len = 24, .port_min = 30000, .port_max = 30099 };
	struct dp_worker *list[1] = { &W };
	struct rte_ring *r = rte_ring_lookup("ETH_RXTX0_net_ring0");
	uint8_t f[64] = { 0 };

	cr_assert_not_null(r);
	memset(&W, 0, sizeof(W));
	W.lcore = rte_lcore_id();
	W.pool = pool;
	W.tsc_hz = rte_get_tsc_hz();
	W.epfd = W.wakefd = -1;
	cr_assert_eq(dp_eth_iface_add(0, &c4), 0);
	cr_assert_eq(dp_eth_media_start(200), 0);
	/* a loopback frame (MACs zero) and two more, queued before the start */
	dp_put_be16(f + 12, DP_ETHERTYPE_IPV4);
	for (int i = 0; i < 3; i++) {
		struct rte_mbuf *m = mbuf_of(f, sizeof(f));

		cr_assert_eq(rte_ring_enqueue(r, m), 0);
	}
	cr_assert_eq(rte_ring_count(r), 3u);
	cr_assert_eq(dp_eth_start(list, 1), 0);
	cr_assert_eq(rte_ring_count(r), 0u, "drained at start");
	dp_eth_poll(&W);
	cr_assert_eq(total_drops(), 0u, "and not counted as drops");
	cr_assert_eq(W.stats.rx_packets, 0u);
	dp_eth_stop();
}
