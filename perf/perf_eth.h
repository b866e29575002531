/* SPDX-License-Identifier: MIT
 * perf/perf_eth.h: what the benchmarks on DPDK ports share (perf_relay.c,
 * perf_room_dp.c): a net_ring port made with rte_eth_from_rings whose rx
 * ring the main lcore fills with frames and whose tx ring it drains, the
 * frames (Ethernet/IPv4/UDP from a peer to a leg) and the ARP request
 * with which an off-link gateway introduces itself to the worker.
 */
#ifndef PERF_ETH_H
#define PERF_ETH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp.h"
#include "dp_pkt.h"

/* The peer that sends the legs their frames, and the gateway behind which
 * the legs' remotes sit (off-link: one ARP entry serves every remote). */
static const uint8_t perf_peer_mac[6] = { 0x02, 0x70, 0x65, 0x65, 0x72, 0x01 };
static const uint8_t perf_gw_mac[6] = { 0x02, 0x67, 0x77, 0x00, 0x00, 0x01 };

struct perf_ring_port {
	struct rte_ring *rx, *tx; /* the port's rx ring (we fill it) and tx ring (we drain it) */
	uint16_t port;
	uint8_t mac[6];
};

static inline void perf_die(const char *prog, const char *what)
{
	fprintf(stderr, "%s: %s\n", prog, what);
	exit(1);
}

/* A net_ring port named "net_ring_<name>" on two fresh rings of `size`
 * slots (single producer, single consumer). Returns 0 or -1. */
static inline int perf_ring_port_make(struct perf_ring_port *p, const char *name, unsigned size)
{
	char n[64];
	struct rte_ether_addr a;

	snprintf(n, sizeof(n), "%s_rx", name);
	p->rx = rte_ring_create(n, size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(n, sizeof(n), "%s_tx", name);
	p->tx = rte_ring_create(n, size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!p->rx || !p->tx || rte_eth_from_rings(name, &p->rx, 1, &p->tx, 1, SOCKET_ID_ANY) < 0)
		return -1;
	snprintf(n, sizeof(n), "net_ring_%s", name);
	if (rte_eth_dev_get_port_by_name(n, &p->port) || rte_eth_macaddr_get(p->port, &a))
		return -1;
	memcpy(p->mac, a.addr_bytes, 6);
	return 0;
}

/* Free what a ring holds; returns how many. */
static inline unsigned perf_ring_free_all(struct rte_ring *r)
{
	struct rte_mbuf *m[256];
	unsigned n, total = 0;

	while ((n = rte_ring_dequeue_burst(r, (void **)m, 256, NULL)) > 0) {
		rte_pktmbuf_free_bulk(m, n);
		total += n;
	}
	return total;
}

/* An Ethernet/IPv4/UDP frame from the peer (src:sport) to dst:dport on the
 * port whose MAC is dst_mac, carrying payload; NULL when pool is empty. */
static inline struct rte_mbuf *perf_udp_frame(struct rte_mempool *pool, const uint8_t dst_mac[6],
					      const uint8_t src[4], const uint8_t dst[4], uint16_t sport,
					      uint16_t dport, const uint8_t *payload, uint16_t plen)
{
	struct dp_udp_tx tx = { .vlan = DP_VLAN_NONE, .src_port = sport, .dst_port = dport };
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *f;

	if (!m)
		return NULL;
	f = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(42 + plen));
	if (!f) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(tx.eth_dst, dst_mac, 6);
	memcpy(tx.eth_src, perf_peer_mac, 6);
	memcpy(tx.src, src, 4);
	memcpy(tx.dst, dst, 4);
	memcpy(f + 42, payload, plen);
	if (dp_udp4_build(f, 42, &tx, f + 42, plen) != 42) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	return m;
}

/* The gateway gw_ip (MAC perf_gw_mac) asks for target: the worker learns
 * the gateway's MAC from it. NULL when pool is empty. */
static inline struct rte_mbuf *perf_arp_from_gateway(struct rte_mempool *pool, const uint8_t gw_ip[4],
						     const uint8_t target[4])
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	int len;

	if (!m)
		return NULL;
	len = dp_arp_build_request(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m), DP_VLAN_NONE,
				   perf_gw_mac, gw_ip, target);
	rte_pktmbuf_append(m, (uint16_t)len);
	return m;
}

static inline double perf_now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#endif
