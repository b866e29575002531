/* SPDX-License-Identifier: MIT
 * Internal to dataplane/: ethdev interfaces. A DPDK port carries whole
 * frames, so medius owns the interface's address on it: it answers ARP,
 * ICMP echo and IPv6 neighbour solicitations, resolves next hops itself and
 * builds Ethernet/IP/UDP headers around the relay's payloads.
 *
 *   dp_flow.c  flow table (dp_flow.h): (local address, local UDP port) -> struct dp_sock
 *   dp_arp.c   neighbour cache (dp_neigh.h): ARP and NDP, a pending queue per next hop
 *   dp_eth.c   ports and their life cycle, endpoints for legs (control lcore)
 *   dp_eth_io.c  the worker side: rx classification, local responders, flow
 *              lookup into dp_relay_burst, dp_eth_send, tx buffering
 *
 * Threads: the control lcore creates ports, flow entries and the workers'
 * per-port state before the workers run, and inserts/deletes flow entries
 * while they run (the only writer). Each worker owns one rx/tx queue pair
 * on every port, its neighbour caches and tx buffers; nothing in the packet
 * path takes a lock.
 */
#ifndef DP_ETH_H
#define DP_ETH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dp_flow.h"
#include "dp_internal.h"
#include "dp_neigh.h"

/* ---- ports and interfaces (dp_eth.c) ---- */

/* An address medius owns on a port: one ethdev interface. */
struct dp_eth_addr {
	unsigned iface;        /* index in dp_media_conf.ifaces */
	int family;            /* AF_INET or AF_INET6 */
	uint8_t ip[16];
	uint8_t sn_mac[6];     /* IPv6: its solicited-node group's MAC (33:33:ff:x:y:z) */
	uint8_t prefix_len;    /* on-link prefix; 0: everything on-link */
	bool has_gw;
	uint8_t gw[16];
	struct dp_eth_port *port;
};

struct dp_eth_port {
	unsigned idx;          /* in the port list, and in dp_eth_worker.wp[] */
	uint16_t port_id;
	char name[RTE_ETH_NAME_MAX_LEN];
	char driver[32];       /* the PMD's name (net_af_xdp, net_af_packet, net_ice...) */
	bool hotplugged;       /* probed by us: removed again at stop */
	bool started;
	uint8_t mac[6];
	uint16_t nb_queues;    /* one rx/tx pair per worker */
	uint64_t tx_offloads;  /* enabled RTE_ETH_TX_OFFLOAD_* */
	uint64_t rx_offloads;  /* enabled RTE_ETH_RX_OFFLOAD_* */
	unsigned n_addrs;
	struct dp_eth_addr *addrs[DP_MAX_IFACES];
};

/* A worker's queue pair on one port. */
struct dp_eth_wport {
	struct dp_eth_port *port;
	uint16_t queue;
	struct rte_eth_dev_tx_buffer *txb;
	struct dp_neigh *neigh;
	uint16_t ip_id;
	uint8_t garp_left;     /* gratuitous ARPs still to send (one a second) */
	uint64_t next_garp;
};

/* A worker's ethdev state (w->eth). */
struct dp_eth_worker {
	struct dp_worker *w;
	unsigned n_ports;
	struct dp_eth_wport wp[DP_MAX_IFACES];
	struct rte_ring *handoff; /* frames of flows this worker owns, from other workers */
	struct rte_ring *learn;   /* neighbours other workers learnt (mbufs holding a record) */
	bool queued;              /* a tx buffer holds frames: flush at the end of the iteration */
	uint64_t next_flush, next_tick, flush_ticks, tick_ticks;
};

/* Neighbour cache sizing and timing. */
#define DP_ETH_NEIGH_ENTRIES 1024
#define DP_ETH_NEIGH_TIMEOUT_MS 60000
#define DP_ETH_NEIGH_RETRY_MS 1000
/* Tx buffers are flushed at the end of every loop iteration that queued
 * something, and at least this often. */
#define DP_ETH_FLUSH_US 100
#define DP_ETH_TICK_MS 50
/* Flow-table slots beyond the endpoints of the port ranges: deleted entries
 * hold theirs until every worker passed a quiescent state. */
#define DP_ETH_FLOW_SPARE 1024

/* Control lcore, from dp_media_start: register ethdev interface `iface`
 * (conf->type == DP_IFACE_ETHDEV): find or probe its device, read the MAC,
 * note the address. Returns 0 or -errno (logged). */
int dp_eth_iface_add(unsigned iface, const struct dp_iface_conf *conf);
/* Control lcore, from dp_media_start after every interface: create the flow
 * table sized for `endpoints` local endpoints. Without ethdev interfaces it
 * does nothing. Returns 0 or -errno. */
int dp_eth_media_start(uint32_t endpoints);
/* Control lcore, from dp_workers_start: whether a registered ethdev port
 * runs on net_af_xdp (its worker pools are then made with af_xdp set,
 * dp_mbuf_pool_create in dp.h). */
bool dp_eth_has_af_xdp(void);
/* Control lcore, from dp_workers_start once every worker has its mbuf pool
 * and before any is launched: configure each port with one queue pair per
 * worker (rx into that worker's pool), start it, give each worker its
 * dp_eth_worker. No ethdev interface: returns 0 and workers keep sleeping
 * in epoll. Returns 0 or -errno (logged). */
int dp_eth_start(struct dp_worker *const *workers, unsigned n);
/* Control lcore, from dp_media_stop after the workers stopped and every leg
 * is gone: stop the ports (hot-plugged ones are removed), free the workers'
 * ethdev state and the flow table. Safe to call twice. */
void dp_eth_stop(void);
/* Whether interface `iface` is an ethdev interface. */
bool dp_eth_iface_is_eth(unsigned iface);
/* The address registered for an ethdev interface, NULL for others. */
const struct dp_eth_addr *dp_eth_iface_addr(unsigned iface);

/* Control lcore: make s the local endpoint (interface address, port) of an
 * ethdev interface: a flow entry instead of a socket (s->fd = -1, s->eth
 * set, s->local filled). -EADDRINUSE when the endpoint exists already. */
int dp_eth_endpoint_open(unsigned iface, uint16_t port, struct dp_sock *s);
/* Control lcore, before the DETACH command of s's leg: delete the flow
 * entry so that no new lookup finds s. A worker that found it before may
 * still hold s until it passes a quiescent state: s is freed (with its
 * leg) only after a grace period, and the entry's slot is reused only
 * after one (the table's RCU). s may be opened again at once (a move). */
void dp_eth_endpoint_close(struct dp_sock *s);

/* Control lcore: fill the ethdev fields of *out (device, driver, the
 * port's rte_eth_stats) for interface `iface`. Returns 0, or -ENODEV for
 * an interface that is not ethdev. */
struct dp_iface_stats;
int dp_eth_iface_stats(unsigned iface, struct dp_iface_stats *out);

/* The flow table (NULL before dp_eth_media_start), for tests and tools. */
struct dp_flow *dp_eth_flow_table(void);
/* The port of ethdev interface `iface`, NULL for others. */
struct dp_eth_port *dp_eth_iface_port(unsigned iface);

/* ---- the worker side (dp_eth_io.c) ---- */

/* One loop iteration's ethdev work: frames handed over by other workers,
 * one rx burst per port, housekeeping when due, tx flush. Returns the
 * number of frames received. */
unsigned dp_eth_poll(struct dp_worker *w);
/* Classify and consume n frames received on w's queue of wp (the rx path,
 * exposed for tests and benchmarks): ARP/ICMP/NDP are answered, UDP to a
 * flow goes to dp_relay_burst, everything else is dropped to its counter. */
void dp_eth_input(struct dp_worker *w, struct dp_eth_wport *wp, struct rte_mbuf **m, uint16_t n);
/* Send every buffered frame now. */
void dp_eth_flush(struct dp_worker *w);
/* Housekeeping (neighbour retries and expiry, gratuitous ARP), normally run
 * by dp_eth_poll every DP_ETH_TICK_MS. */
void dp_eth_tick(struct dp_worker *w, uint64_t now);
/* Set up / free w's per-port state (called by dp_eth_start/stop). */
int dp_eth_worker_init(struct dp_worker *w, struct dp_eth_port *const *ports, unsigned n_ports,
		       uint16_t queue);
void dp_eth_worker_free(struct dp_worker *w);
/* Build the Ethernet/IP/UDP headers in front of the payload m holds, from
 * local endpoint `src` to `dst` via a next hop whose MAC is `dst_mac` (may
 * be zero, patched later), with the port's checksum offloads. Returns 0 or
 * a drop reason (OVERSIZED: no headroom or too long; NO_DEST: family
 * mismatch). */
struct dp_addr;
enum dp_drop dp_eth_build_udp(struct dp_eth_wport *wp, const struct dp_addr *src, const struct dp_addr *dst,
			      const uint8_t dst_mac[6], struct rte_mbuf *m);

#endif
