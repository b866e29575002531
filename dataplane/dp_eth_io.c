/* SPDX-License-Identifier: MIT
 * dp_eth_io: the worker side of ethdev ports (see dp_eth.h).
 *
 * Rx, per burst: each frame is parsed with the dp_pkt parsers (Ethernet,
 * ARP, IPv4/IPv6, ICMP, NDP, UDP with checksum unless the NIC verified it);
 * ARP requests, ICMP/ICMPv6 echo requests and neighbour solicitations for
 * our addresses are answered in place (the rx mbuf becomes the reply);
 * ARP and NDP teach the neighbour cache; UDP datagrams to our addresses are
 * looked up in the flow table in one bulk lookup per burst, trimmed to
 * their payload (rte_pktmbuf_adj past the headers, Ethernet padding cut)
 * and handed to dp_relay_multi with their source address, the frames of
 * every endpoint of one rx burst in one call (its stages, SRTP included,
 * run over all of them together). Everything else drops to
 * its own counter: fragments (ip_fragment), bad checksums (ip_bad_cksum,
 * udp_bad_cksum), unknown protocols (ip_proto / eth_type), truncation
 * (eth_trunc, ip_trunc, udp_trunc), not for us (ip_not_local), no leg
 * (no_flow).
 *
 * Tx: dp_eth_send prepends Ethernet/IP/UDP (dp_udp4_build/dp_udp6_build) in
 * the mbuf's headroom, resolves the next hop (the destination, or the
 * gateway for off-link ones) in this worker's neighbour cache and puts the
 * frame in the port's tx buffer. Tx buffers are flushed at the end of each
 * loop iteration that queued something and at least every DP_ETH_FLUSH_US.
 *
 * Several workers: each polls its own queue on every port. A flow owned by
 * another worker (the leg's call lives there) is handed over whole through
 * that worker's handoff ring and looked up again there; what a worker
 * learns about neighbours is posted to the others' learn rings.
 *
 * Counters: w->stats rx_* count frames received, tx_* frames handed to the
 * port (relayed ones are counted by dp_relay.c from dp_eth_send's return;
 * frames held for ARP/NDP when they leave); frames the port refuses move
 * from tx_packets to drops[tx_full].
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp_eth.h"

#define HANDOFF_RING 4096

static const uint8_t zero_mac[6];

struct learn_rec {
	uint8_t family, create;
	uint8_t ip[16];
	uint8_t mac[6];
};

struct udp_in {
	struct dp_flow_key key;
	uint16_t off, len;
};

static inline void drop(struct dp_worker *w, struct rte_mbuf *m, enum dp_drop why)
{
	w->stats.drops[why]++;
	rte_pktmbuf_free(m);
}

/* Queue m on wp without touching the counters. */
static inline void buffer_tx(struct dp_worker *w, struct dp_eth_wport *wp, struct rte_mbuf *m)
{
	rte_eth_tx_buffer(wp->port->port_id, wp->queue, wp->txb, m);
	w->eth->queued = true;
}

/* Queue a frame this file made (reply, request) and count it. */
static void tx_frame(struct dp_worker *w, struct dp_eth_wport *wp, struct rte_mbuf *m)
{
	w->stats.tx_packets++;
	w->stats.tx_bytes += rte_pktmbuf_pkt_len(m);
	buffer_tx(w, wp, m);
}

/* The tx buffer's error callback: the port took fewer than offered. */
static void tx_unsent(struct rte_mbuf **pkts, uint16_t n, void *userdata)
{
	struct dp_worker *w = userdata;

	for (uint16_t i = 0; i < n; i++)
		w->stats.tx_bytes -= rte_pktmbuf_pkt_len(pkts[i]);
	w->stats.tx_packets -= n;
	w->stats.drops[DP_DROP_TX_FULL] += n;
	rte_pktmbuf_free_bulk(pkts, n);
}

static const struct dp_eth_addr *local_addr(const struct dp_eth_port *p, int family, const uint8_t *ip)
{
	for (unsigned i = 0; i < p->n_addrs; i++) {
		const struct dp_eth_addr *a = p->addrs[i];

		if (a->family == family && !memcmp(a->ip, ip, family == AF_INET ? 4 : 16))
			return a;
	}
	return NULL;
}

/* An IPv6 multicast group medius is in on port p: all-nodes (ff02::1) and
 * the solicited-node group (ff02::1:ffXX:XXXX) of each of its addresses.
 * It sends no MLD report for them (see docs/relay.md). */
static bool joined6(const struct dp_eth_port *p, const uint8_t *g)
{
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t sn_prefix[13] = { 0xff, 0x02, [11] = 1, [12] = 0xff };

	if (!memcmp(g, all_nodes, 16))
		return true;
	if (memcmp(g, sn_prefix, 13))
		return false;
	for (unsigned i = 0; i < p->n_addrs; i++)
		if (p->addrs[i]->family == AF_INET6 && !memcmp(p->addrs[i]->ip + 13, g + 13, 3))
			return true;
	return false;
}

/* Not for us: a frame to a group address (Ethernet multicast or broadcast,
 * IP multicast) is not an error, one to a unicast address is. */
static enum dp_drop not_local(const struct dp_eth *eth, bool ip_group)
{
	return (eth->dst[0] & 1) || ip_group ? DP_DROP_MCAST_NOT_FOR_US : DP_DROP_IP_NOT_LOCAL;
}

static bool in_prefix(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes))
		return false;
	return !rest || !((a[bytes] ^ b[bytes]) & (uint8_t)(0xff << (8 - rest)));
}

/* Our address to speak from towards ip on port p: the one whose prefix
 * holds ip, else the first of that family. */
static const struct dp_eth_addr *source_for(const struct dp_eth_port *p, int family, const uint8_t *ip)
{
	const struct dp_eth_addr *first = NULL;

	for (unsigned i = 0; i < p->n_addrs; i++) {
		const struct dp_eth_addr *a = p->addrs[i];

		if (a->family != family)
			continue;
		if (!first)
			first = a;
		if (a->prefix_len && in_prefix(a->ip, ip, a->prefix_len))
			return a;
	}
	return first;
}

static void send_request(struct dp_worker *w, struct dp_eth_wport *wp, int family, const uint8_t *ip)
{
	const struct dp_eth_addr *a = source_for(wp->port, family, ip);
	struct rte_mbuf *m;
	int len;

	if (!a)
		return;
	if (!(m = rte_pktmbuf_alloc(w->pool))) {
		w->stats.drops[DP_DROP_ALLOC_FAILED]++;
		return;
	}
	len = family == AF_INET
		      ? dp_arp_build_request(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m),
					     DP_VLAN_NONE, wp->port->mac, a->ip, ip)
		      : dp_ndp_ns_build(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m), DP_VLAN_NONE,
					wp->port->mac, a->ip, ip);
	if (len <= 0) {
		rte_pktmbuf_free(m);
		return;
	}
	rte_pktmbuf_append(m, (uint16_t)len);
	tx_frame(w, wp, m);
}

/* Gratuitous ARP: a broadcast request from ip for ip. */
static void send_garp(struct dp_worker *w, struct dp_eth_wport *wp, const uint8_t ip[4])
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
	int len;

	if (!m) {
		w->stats.drops[DP_DROP_ALLOC_FAILED]++;
		return;
	}
	len = dp_arp_build_request(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m), DP_VLAN_NONE,
				   wp->port->mac, ip, ip);
	if (len <= 0) {
		rte_pktmbuf_free(m);
		return;
	}
	rte_pktmbuf_append(m, (uint16_t)len);
	tx_frame(w, wp, m);
}

struct req_ctx {
	struct dp_worker *w;
	struct dp_eth_wport *wp;
};

static void request_cb(void *ctx, int family, const uint8_t *ip)
{
	struct req_ctx *c = ctx;

	send_request(c->w, c->wp, family, ip);
}

static void post_learn(struct dp_worker *w, unsigned port_idx, int family, const uint8_t *ip,
		       const uint8_t mac[6], bool create)
{
	unsigned n = dp_worker_count();

	for (unsigned i = 0; i < n && n > 1; i++) {
		struct dp_worker *o = dp_worker_get(i);
		struct rte_mbuf *m;
		struct learn_rec *r;

		if (o == w || !o->eth || !o->eth->learn)
			continue;
		if (!(m = rte_pktmbuf_alloc(w->pool))) {
			w->stats.drops[DP_DROP_ALLOC_FAILED]++;
			continue;
		}
		r = (struct learn_rec *)rte_pktmbuf_append(m, sizeof(*r));
		r->family = (uint8_t)family;
		r->create = create;
		memset(r->ip, 0, sizeof(r->ip));
		memcpy(r->ip, ip, family == AF_INET ? 4 : 16);
		memcpy(r->mac, mac, 6);
		m->port = (uint16_t)port_idx; /* the port's index, not its id */
		if (rte_ring_mp_enqueue(o->eth->learn, m) != 0) {
			w->stats.drops[DP_DROP_HANDOFF_FULL]++;
			rte_pktmbuf_free(m);
		}
	}
}

/* ip is at mac: update the cache and send what waited for it. */
static void learn(struct dp_worker *w, struct dp_eth_wport *wp, int family, const uint8_t *ip,
		  const uint8_t mac[6], bool create, bool tell_others)
{
	struct rte_mbuf *out[DP_NEIGH_PENDING];
	unsigned n;

	if (mac[0] & 1) /* never a multicast/broadcast MAC */
		return;
	n = dp_neigh_learn(wp->neigh, family, ip, mac, create, rte_rdtsc(), out);
	for (unsigned i = 0; i < n; i++) {
		memcpy(rte_pktmbuf_mtod(out[i], uint8_t *), mac, 6);
		tx_frame(w, wp, out[i]);
	}
	if (tell_others)
		post_learn(w, wp->port->idx, family, ip, mac, create);
}

static void rx_arp(struct dp_worker *w, struct dp_eth_wport *wp, struct rte_mbuf *m, const struct dp_eth *eth)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	size_t len = rte_pktmbuf_data_len(m), out;
	const struct dp_eth_addr *me;
	struct dp_arp a;
	enum dp_drop d = dp_arp_parse(f + eth->l3_off, len - eth->l3_off, &a);
	static const uint8_t any[4];

	if (d) {
		drop(w, m, d);
		return;
	}
	me = local_addr(wp->port, AF_INET, a.tpa);
	/* RFC 826: merge the sender if known; add it when we are the target.
	 * Not from ARP probes (sender 0.0.0.0) nor claiming our own address. */
	if (memcmp(a.spa, any, 4) && !local_addr(wp->port, AF_INET, a.spa))
		learn(w, wp, AF_INET, a.spa, a.sha, me != NULL, true);
	if (!me) { /* a broadcast request (or gratuitous ARP) for another address is no error */
		drop(w, m, eth->dst[0] & 1 ? DP_DROP_MCAST_NOT_FOR_US : DP_DROP_IP_NOT_LOCAL);
		return;
	}
	if (a.op != DP_ARP_OP_REQUEST) { /* a reply to us: learnt above */
		rte_pktmbuf_free(m);
		return;
	}
	d = dp_arp_reply(f, len, wp->port->mac, me->ip, &out);
	if (d) {
		drop(w, m, d);
		return;
	}
	rte_pktmbuf_trim(m, (uint16_t)(len - out));
	tx_frame(w, wp, m);
}

/* A reply built in place in m: set its length and send it. */
static void send_reply(struct dp_worker *w, struct dp_eth_wport *wp, struct rte_mbuf *m, size_t out)
{
	size_t len = rte_pktmbuf_data_len(m);

	if (out > len)
		rte_pktmbuf_append(m, (uint16_t)(out - len));
	else
		rte_pktmbuf_trim(m, (uint16_t)(len - out));
	m->ol_flags = 0;
	tx_frame(w, wp, m);
}

static void rx_icmp6(struct dp_worker *w, struct dp_eth_wport *wp, struct rte_mbuf *m,
		     const struct dp_eth *eth, const struct dp_ipv6 *ip)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	const uint8_t *icmp = f + eth->l3_off + ip->payload_off;
	size_t len = rte_pktmbuf_data_len(m), out = 0;
	size_t cap = len + rte_pktmbuf_tailroom(m);
	const struct dp_eth_addr *me;
	enum dp_drop d = DP_DROP_IP_NOT_LOCAL;
	struct dp_ndp_na na;

	if (ip->payload_len < 4) {
		drop(w, m, DP_DROP_ICMP_BAD);
		return;
	}
	switch (icmp[0]) {
	case DP_ICMP6_NS:
		for (unsigned i = 0; i < wp->port->n_addrs && d == DP_DROP_IP_NOT_LOCAL; i++)
			if (wp->port->addrs[i]->family == AF_INET6)
				d = dp_ndp_ns_reply(f, len, cap, wp->port->mac, wp->port->addrs[i]->ip, &out);
		if (d) {
			drop(w, m, d);
			return;
		}
		/* the NA goes to the solicitor: learn it (not for DAD, sent to ff02::1) */
		if (f[eth->l3_off + 24] != 0xff)
			learn(w, wp, AF_INET6, f + eth->l3_off + 24, f, true, true);
		send_reply(w, wp, m, out);
		return;
	case DP_ICMP6_NA:
		d = dp_ndp_na_parse(ip, icmp, ip->payload_len, &na);
		if (d) {
			drop(w, m, d);
			return;
		}
		if (na.has_mac)
			learn(w, wp, AF_INET6, na.target, na.mac, false, true);
		rte_pktmbuf_free(m);
		return;
	case DP_ICMP6_ECHO_REQUEST:
		me = local_addr(wp->port, AF_INET6, ip->dst);
		d = me ? dp_icmp6_echo_reply(f, len, wp->port->mac, me->ip, &out) : DP_DROP_IP_NOT_LOCAL;
		if (d) {
			drop(w, m, d);
			return;
		}
		send_reply(w, wp, m, out);
		return;
	default:
		drop(w, m, DP_DROP_ICMP_UNHANDLED);
	}
}

static unsigned rx_udp_flags(const struct rte_mbuf *m, enum dp_drop *bad)
{
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;

	*bad = l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD ? DP_DROP_UDP_BAD_CKSUM : DP_DROP_NONE;
	return l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD ? DP_UDP_RX_CSUM_GOOD : 0;
}

/* Parse one frame: answer or drop it, or (UDP to us) fill *u and return
 * true for the flow lookup. */
static bool classify(struct dp_worker *w, struct dp_eth_wport *wp, struct rte_mbuf *m, struct udp_in *u)
{
	const struct dp_eth_port *p = wp->port;
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	size_t len = rte_pktmbuf_data_len(m), out;
	struct dp_eth eth;
	struct dp_udp udp;
	enum dp_drop d, bad;
	unsigned flags;

	if (m->nb_segs > 1) {
		drop(w, m, DP_DROP_OVERSIZED);
		return false;
	}
	d = dp_eth_parse(f, len, &eth);
	if (d) {
		drop(w, m, d);
		return false;
	}
	if (!(eth.dst[0] & 1) && memcmp(eth.dst, p->mac, 6)) { /* unicast to another MAC */
		drop(w, m, DP_DROP_IP_NOT_LOCAL);
		return false;
	}
	if (eth.vlan) { /* no VLAN is configured on an interface */
		drop(w, m, DP_DROP_ETH_TYPE);
		return false;
	}
	if (eth.ethertype == DP_ETHERTYPE_ARP) {
		rx_arp(w, wp, m, &eth);
		return false;
	}
	if (eth.ethertype == DP_ETHERTYPE_IPV4) {
		struct dp_ipv4 ip;
		const struct dp_eth_addr *me = NULL;

		d = dp_ipv4_parse(f + eth.l3_off, len - eth.l3_off, &ip);
		if (!d && !(me = local_addr(p, AF_INET, ip.dst)))
			d = not_local(&eth, ip.dst[0] >= 224); /* multicast, class E, broadcast */
		if (d) {
			drop(w, m, d);
			return false;
		}
		if (ip.proto == DP_IPPROTO_ICMP) {
			d = dp_icmp4_echo_reply(f, len, p->mac, me->ip, &out);
			if (d)
				drop(w, m, d);
			else
				send_reply(w, wp, m, out);
			return false;
		}
		flags = rx_udp_flags(m, &bad);
		d = bad ? bad : dp_udp4_parse(&ip, f + eth.l3_off + ip.hdr_len, ip.payload_len, flags, &udp);
		if (d) {
			drop(w, m, d);
			return false;
		}
		dp_flow_key_set(&u->key, AF_INET, ip.dst, udp.dst_port);
		struct dp_addr *src = dp_mbuf_src(m); /* the compact source, in the mbuf */
		memset(src, 0, sizeof(*src));
		src->family = AF_INET;
		src->port = htons(udp.src_port);
		memcpy(src->ip, ip.src, 4);
		u->off = (uint16_t)(eth.l3_off + ip.hdr_len + DP_UDP_HDR_LEN);
		u->len = udp.payload_len;
		return true;
	}
	/* IPv6 (dp_eth_parse accepts nothing else) */
	struct dp_ipv6 ip6;

	d = dp_ipv6_parse(f + eth.l3_off, len - eth.l3_off, &ip6);
	if (d) {
		drop(w, m, d);
		return false;
	}
	if (ip6.dst[0] == 0xff && !joined6(p, ip6.dst)) { /* MLD reports, RS, others' DAD, mDNS */
		drop(w, m, DP_DROP_MCAST_NOT_FOR_US);
		return false;
	}
	if (ip6.next_hdr == DP_IPPROTO_ICMPV6) {
		rx_icmp6(w, wp, m, &eth, &ip6);
		return false;
	}
	if (!local_addr(p, AF_INET6, ip6.dst)) {
		drop(w, m, not_local(&eth, ip6.dst[0] == 0xff));
		return false;
	}
	flags = rx_udp_flags(m, &bad);
	d = bad ? bad : dp_udp6_parse(&ip6, f + eth.l3_off + ip6.payload_off, ip6.payload_len, flags, &udp);
	if (d) {
		drop(w, m, d);
		return false;
	}
	dp_flow_key_set(&u->key, AF_INET6, ip6.dst, udp.dst_port);
	struct dp_addr *src = dp_mbuf_src(m);
	src->family = AF_INET6;
	src->port = htons(udp.src_port);
	memcpy(src->ip, ip6.src, 16);
	u->off = (uint16_t)(eth.l3_off + ip6.payload_off + DP_UDP_HDR_LEN);
	u->len = udp.payload_len;
	return true;
}

static void input(struct dp_worker *w, struct dp_eth_wport *wp, struct rte_mbuf **m, uint16_t n, bool handed)
{
	struct udp_in u[DP_BURST];
	const struct dp_flow_key *keys[DP_BURST];
	struct rte_mbuf *cand[DP_BURST], *run[DP_BURST];
	struct dp_sock *sock[DP_BURST], *run_sock[DP_BURST];
	struct rte_mbuf *ho[DP_BURST];          /* frames for other workers */
	struct dp_eth_worker *ho_to[DP_BURST];
	uint16_t nc = 0, nr = 0, nh = 0;

	for (uint16_t i = 0; i < n; i++) {
		if (!handed) {
			w->stats.rx_packets++;
			w->stats.rx_bytes += rte_pktmbuf_pkt_len(m[i]);
		}
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(m[i + 1], void *));
		if (classify(w, wp, m[i], &u[nc])) {
			keys[nc] = &u[nc].key;
			cand[nc++] = m[i];
		}
	}
	if (!nc)
		return;
	dp_flow_lookup_bulk(dp_eth_flow_table(), keys, nc, sock);
	for (uint16_t i = 0; i < nc; i++) {
		struct dp_sock *s = sock[i];
		struct rte_mbuf *x = cand[i];

		if (!s) {
			drop(w, x, DP_DROP_NO_FLOW);
			continue;
		}
		if (s->leg->w != w) { /* another worker's call: hand the frame over, below */
			struct dp_eth_worker *o = s->leg->w->eth;

			if (handed || !o) {
				drop(w, x, DP_DROP_NO_FLOW);
			} else {
				ho_to[nh] = o;
				ho[nh++] = x;
			}
			continue;
		}
		rte_pktmbuf_adj(x, u[i].off);
		rte_pktmbuf_trim(x, (uint16_t)(rte_pktmbuf_data_len(x) - u[i].len));
		x->ol_flags = 0;
		run_sock[nr] = s;
		run[nr++] = x;
	}
	if (nr) /* every leg's frames together: SRTP runs over all of them at once */
		dp_relay_multi(w, run_sock, run, nr);
	for (uint16_t i = 0; i < nh;) { /* handed over in bulk: one enqueue per run to one worker */
		uint16_t k = 1;
		unsigned done;

		while (i + k < nh && ho_to[i + k] == ho_to[i])
			k++;
		done = rte_ring_mp_enqueue_burst(ho_to[i]->handoff, (void **)&ho[i], k, NULL);
		for (unsigned j = done; j < k; j++)
			drop(w, ho[i + j], DP_DROP_HANDOFF_FULL);
		i = (uint16_t)(i + k);
	}
}

void dp_eth_input(struct dp_worker *w, struct dp_eth_wport *wp, struct rte_mbuf **m, uint16_t n)
{
	input(w, wp, m, n, false);
}

static struct dp_eth_wport *wport_by_id(struct dp_eth_worker *e, uint16_t port_id)
{
	for (unsigned i = 0; i < e->n_ports; i++)
		if (e->wp[i].port->port_id == port_id)
			return &e->wp[i];
	return NULL;
}

/* Frames and neighbours other workers passed to this one. */
static void serve_rings(struct dp_worker *w, struct dp_eth_worker *e)
{
	struct rte_mbuf *m[DP_BURST];
	unsigned n = rte_ring_sc_dequeue_burst(e->learn, (void **)m, DP_BURST, NULL);

	for (unsigned i = 0; i < n; i++) {
		const struct learn_rec *r = rte_pktmbuf_mtod(m[i], const struct learn_rec *);

		if (m[i]->port < e->n_ports)
			learn(w, &e->wp[m[i]->port], r->family, r->ip, r->mac, r->create, false);
		rte_pktmbuf_free(m[i]);
	}
	n = rte_ring_sc_dequeue_burst(e->handoff, (void **)m, DP_BURST, NULL);
	for (unsigned i = 0; i < n;) { /* runs of frames from one port, each a burst */
		struct dp_eth_wport *wp = wport_by_id(e, m[i]->port);
		unsigned k = 1;

		while (i + k < n && m[i + k]->port == m[i]->port)
			k++;
		if (wp) {
			input(w, wp, &m[i], (uint16_t)k, true);
		} else {
			for (unsigned j = 0; j < k; j++)
				drop(w, m[i + j], DP_DROP_NO_FLOW);
		}
		i += k;
	}
}

void dp_eth_flush(struct dp_worker *w)
{
	struct dp_eth_worker *e = w->eth;

	for (unsigned i = 0; i < e->n_ports; i++)
		rte_eth_tx_buffer_flush(e->wp[i].port->port_id, e->wp[i].queue, e->wp[i].txb);
	e->queued = false;
}

void dp_eth_tick(struct dp_worker *w, uint64_t now)
{
	struct dp_eth_worker *e = w->eth;

	for (unsigned i = 0; i < e->n_ports; i++) {
		struct dp_eth_wport *wp = &e->wp[i];
		struct req_ctx ctx = { w, wp };
		unsigned dropped = dp_neigh_age(wp->neigh, now, request_cb, &ctx);

		w->stats.drops[DP_DROP_NO_ARP] += dropped;
		if (wp->garp_left && now >= wp->next_garp) {
			for (unsigned a = 0; a < wp->port->n_addrs; a++)
				if (wp->port->addrs[a]->family == AF_INET)
					send_garp(w, wp, wp->port->addrs[a]->ip);
			wp->garp_left--;
			wp->next_garp = now + rte_get_tsc_hz();
		}
	}
}

unsigned dp_eth_poll(struct dp_worker *w)
{
	struct dp_eth_worker *e = w->eth;
	struct rte_mbuf *m[DP_BURST];
	unsigned total = 0;
	uint64_t now;

	if (e->handoff)
		serve_rings(w, e);
	for (unsigned i = 0; i < e->n_ports; i++) {
		struct dp_eth_wport *wp = &e->wp[i];
		uint16_t n = rte_eth_rx_burst(wp->port->port_id, wp->queue, m, DP_BURST);

		if (n) {
			/* a command posted before these frames came applies to them:
			 * a call's first packets, sent as soon as the ng reply was
			 * read, would otherwise meet a leg this turn has not set up */
			dp_worker_serve(w);
			input(w, wp, m, n, false);
			total += n;
		}
	}
	now = rte_rdtsc();
	if (now >= e->next_tick) {
		dp_eth_tick(w, now);
		e->next_tick = now + e->tick_ticks;
	}
	if (e->queued || now >= e->next_flush) {
		dp_eth_flush(w);
		e->next_flush = now + e->flush_ticks;
	}
	return total;
}

enum dp_drop dp_eth_build_udp(struct dp_eth_wport *wp, const struct dp_addr *src, const struct dp_addr *dst,
			      const uint8_t dst_mac[6], struct rte_mbuf *m)
{
	const struct dp_eth_port *p = wp->port;
	struct dp_udp_tx tx;
	bool v6 = dst->family == AF_INET6;
	uint16_t plen = rte_pktmbuf_data_len(m), hlen, l3 = v6 ? DP_IPV6_HDR_LEN : DP_IPV4_HDR_LEN;
	uint64_t ol = 0;
	uint8_t *h;
	int rc;

	if (dst->family != src->family || (dst->family != AF_INET && !v6))
		return DP_DROP_NO_DEST;
	if (m->nb_segs > 1 || plen > 1500 - l3 - DP_UDP_HDR_LEN)
		return DP_DROP_OVERSIZED;
	memset(&tx, 0, sizeof(tx));
	memcpy(tx.eth_dst, dst_mac, 6);
	memcpy(tx.eth_src, p->mac, 6);
	tx.vlan = DP_VLAN_NONE;
	tx.tos = 0xb8; /* DSCP EF, as the kernel-UDP path sets */
	if (v6) {
		memcpy(tx.src, src->ip, 16);
		memcpy(tx.dst, dst->ip, 16);
		tx.src_port = ntohs(src->port);
		tx.dst_port = ntohs(dst->port);
		if (p->tx_offloads & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) {
			tx.flags |= DP_TX_UDP_CSUM_OFFLOAD;
			ol = RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
		}
	} else {
		memcpy(tx.src, src->ip, 4);
		memcpy(tx.dst, dst->ip, 4);
		tx.src_port = ntohs(src->port);
		tx.dst_port = ntohs(dst->port);
		tx.ip_id = wp->ip_id++;
		if (p->tx_offloads & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) {
			tx.flags |= DP_TX_UDP_CSUM_OFFLOAD;
			ol = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
		}
		if (p->tx_offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
			tx.flags |= DP_TX_IP_CSUM_OFFLOAD;
			ol |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
		}
	}
	hlen = (uint16_t)(v6 ? dp_udp6_hdr_len(&tx) : dp_udp4_hdr_len(&tx));
	h = (uint8_t *)rte_pktmbuf_prepend(m, hlen);
	if (!h)
		return DP_DROP_OVERSIZED;
	rc = v6 ? dp_udp6_build(h, hlen, &tx, h + hlen, plen) : dp_udp4_build(h, hlen, &tx, h + hlen, plen);
	if (rc < 0) {
		rte_pktmbuf_adj(m, hlen);
		return DP_DROP_OVERSIZED;
	}
	m->ol_flags = ol;
	m->l2_len = DP_ETH_HDR_LEN;
	m->l3_len = l3;
	return DP_DROP_NONE;
}

uint16_t dp_eth_send(struct dp_worker *w, struct dp_sock *s, struct rte_mbuf **m,
		     const struct dp_addr *dst, uint16_t n)
{
	const struct dp_eth_addr *a = dp_eth_iface_addr(s->leg->iface);
	struct dp_eth_wport *wp;
	struct dp_addr local;
	uint64_t now = rte_rdtsc();
	uint16_t sent = 0;

	if (!w->eth || !a) {
		w->stats.drops[DP_DROP_TX_FULL] += n;
		rte_pktmbuf_free_bulk(m, n);
		return 0;
	}
	wp = &w->eth->wp[s->eth->idx];
	dp_addr_from_sa(&local, &s->local);
	for (uint16_t i = 0; i < n; i++) {
		enum dp_drop d = dp_eth_build_udp(wp, &local, &dst[i], zero_mac, m[i]);
		const uint8_t *ip, *nh;
		uint8_t mac[6];
		bool req;

		if (d) {
			drop(w, m[i], d);
			s->leg->stats.drops[d]++;
			continue;
		}
		ip = dst[i].ip;
		nh = a->has_gw && !in_prefix(a->ip, ip, a->prefix_len) ? a->gw : ip;
		switch (dp_neigh_resolve(wp->neigh, a->family, nh, now, m[i], mac, &req)) {
		case DP_NEIGH_HIT:
			memcpy(rte_pktmbuf_mtod(m[i], uint8_t *), mac, 6);
			w->stats.tx_bytes += rte_pktmbuf_pkt_len(m[i]);
			buffer_tx(w, wp, m[i]);
			sent++;
			break;
		case DP_NEIGH_QUEUED: /* counted as sent when it leaves (learn) */
			break;
		case DP_NEIGH_DROP:
			drop(w, m[i], DP_DROP_NO_ARP);
			s->leg->stats.drops[DP_DROP_NO_ARP]++;
			break;
		}
		if (req)
			send_request(w, wp, a->family, nh);
	}
	return sent;
}

int dp_eth_worker_init(struct dp_worker *w, struct dp_eth_port *const *ports, unsigned n_ports, uint16_t queue)
{
	int socket = (int)rte_lcore_to_socket_id(w->lcore);
	uint64_t hz = rte_get_tsc_hz();
	struct dp_eth_worker *e = rte_zmalloc_socket("dp_eth_worker", sizeof(*e), RTE_CACHE_LINE_SIZE, socket);
	char name[RTE_RING_NAMESIZE];

	if (!e)
		return -ENOMEM;
	if (dp_mbuf_fields_init()) {
		rte_free(e);
		return -ENOSPC;
	}
	e->w = w;
	e->flush_ticks = hz * DP_ETH_FLUSH_US / 1000000;
	e->tick_ticks = hz * DP_ETH_TICK_MS / 1000;
	w->eth = e;
	for (unsigned i = 0; i < n_ports; i++) {
		struct dp_eth_wport *wp = &e->wp[i];

		wp->port = ports[i];
		wp->queue = queue;
		wp->garp_left = 3;
		wp->txb = rte_zmalloc_socket("dp_eth_txb", RTE_ETH_TX_BUFFER_SIZE(DP_BURST), 0, socket);
		wp->neigh = dp_neigh_create(DP_ETH_NEIGH_ENTRIES, DP_ETH_NEIGH_TIMEOUT_MS, DP_ETH_NEIGH_RETRY_MS, hz);
		e->n_ports = i + 1;
		if (!wp->txb || !wp->neigh) {
			dp_eth_worker_free(w);
			return -ENOMEM;
		}
		rte_eth_tx_buffer_init(wp->txb, DP_BURST);
		rte_eth_tx_buffer_set_err_callback(wp->txb, tx_unsent, w);
	}
	if (dp_worker_count() > 1) {
		snprintf(name, sizeof(name), "dp_ho_%u", w->lcore);
		e->handoff = rte_ring_create(name, HANDOFF_RING, socket, RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "dp_ln_%u", w->lcore);
		e->learn = rte_ring_create(name, 256, socket, RING_F_SC_DEQ);
		if (!e->handoff || !e->learn) {
			dp_eth_worker_free(w);
			return -ENOMEM;
		}
	}
	return 0;
}

static void ring_free_all(struct rte_ring *r)
{
	struct rte_mbuf *m;

	if (!r)
		return;
	while (rte_ring_dequeue(r, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(r);
}

void dp_eth_worker_free(struct dp_worker *w)
{
	struct dp_eth_worker *e = w->eth;

	if (!e)
		return;
	for (unsigned i = 0; i < e->n_ports; i++) {
		struct dp_eth_wport *wp = &e->wp[i];

		if (wp->txb) { /* drop what is still buffered */
			rte_pktmbuf_free_bulk(wp->txb->pkts, wp->txb->length);
			rte_free(wp->txb);
		}
		dp_neigh_destroy(wp->neigh);
	}
	ring_free_all(e->handoff);
	ring_free_all(e->learn);
	rte_free(e);
	w->eth = NULL;
}
