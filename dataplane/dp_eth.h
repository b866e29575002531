/* SPDX-License-Identifier: MIT
 * Internal to dataplane/: ethdev interfaces. A DPDK port carries whole
 * frames, so medius owns the interface's address on it: it answers ARP,
 * ICMP echo and IPv6 neighbour solicitations, resolves next hops itself and
 * builds Ethernet/IP/UDP headers around the relay's payloads.
 *
 *   dp_flow.c  flow table: (local address, local UDP port) -> struct dp_sock
 *   dp_arp.c   neighbour cache (ARP and NDP) with a pending queue per next hop
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

#include "dp_internal.h"

/* ---- flow table (dp_flow.c) ---- */

/* The key: a local endpoint. 32 bytes, 16-aligned, no implicit padding
 * (rte_hash then compares keys with vector instructions, and its CRC hash
 * reads aligned words): build it with dp_flow_key_set so that unused bytes
 * are zero. */
struct dp_flow_key {
	uint8_t family;      /* AF_INET or AF_INET6 */
	uint8_t zero;
	uint16_t port;       /* network byte order */
	uint8_t addr[16];    /* IPv4: the first 4 bytes, the rest 0 */
	uint8_t pad[12];
} __attribute__((aligned(16)));

struct dp_flow;

/* A table for up to `entries` endpoints on NUMA `socket` (SOCKET_ID_ANY
 * works), with lock-free readers: one writer thread may add and delete
 * while any number of workers look up. Returns NULL (logged) on failure. */
struct dp_flow *dp_flow_create(const char *name, uint32_t entries, int socket);
/* Free the table (no reader may use it any more). NULL is fine. */
void dp_flow_destroy(struct dp_flow *f);
/* Fill k from an address (family, address, port taken from sa). Returns 0
 * or -EAFNOSUPPORT. */
int dp_flow_key_from_sa(struct dp_flow_key *k, const struct sockaddr_storage *sa);
/* Fill k from raw fields (ip: 4 or 16 bytes per family; port in host order). */
void dp_flow_key_set(struct dp_flow_key *k, int family, const uint8_t *ip, uint16_t port);
/* Writer: map k to s. Returns the entry's slot (>= 0), -EEXIST when k is
 * mapped already, -ENOSPC when the table is full, -EINVAL. */
int32_t dp_flow_add(struct dp_flow *f, const struct dp_flow_key *k, struct dp_sock *s);
/* Writer: unmap k. New lookups miss at once, but a reader that found the
 * entry before may still hold its value: the slot (returned, >= 0) is only
 * reused after dp_flow_reclaim, which the caller must call once every
 * reader has passed a quiescent point. -ENOENT when k is not mapped. */
int32_t dp_flow_del(struct dp_flow *f, const struct dp_flow_key *k);
/* Writer: make a slot returned by dp_flow_del reusable. */
void dp_flow_reclaim(struct dp_flow *f, int32_t slot);
/* Reader: look up n keys (n <= 64) at once; out[i] = the endpoint or NULL.
 * Returns the number of hits. */
unsigned dp_flow_lookup_bulk(const struct dp_flow *f, const struct dp_flow_key *const *keys,
			     unsigned n, struct dp_sock **out);
/* Entries in the table. */
uint32_t dp_flow_count(const struct dp_flow *f);

/* ---- neighbour cache (dp_arp.c) ---- */

/* Packets held per unresolved next hop while its ARP/NDP request is out. */
#define DP_NEIGH_PENDING 4
/* Requests sent for an unresolved next hop before its packets are dropped. */
#define DP_NEIGH_TRIES 3

struct dp_neigh;

enum dp_neigh_rc {
	DP_NEIGH_HIT,    /* mac is filled in: send the packet (m not taken) */
	DP_NEIGH_QUEUED, /* m is held until the next hop answers (or dropped later) */
	DP_NEIGH_DROP,   /* no room (table or pending queue full): the caller drops m */
};

/* A cache of up to `entries` next hops (rounded up to a power of two, at
 * least 16); an answer is trusted for timeout_ms; requests are retried
 * every retry_ms. hz: TSC ticks per second (the `now` unit below). One
 * owner lcore; no locking. NULL on no memory. */
struct dp_neigh *dp_neigh_create(unsigned entries, uint32_t timeout_ms, uint32_t retry_ms,
				 uint64_t hz);
/* Free the cache and every packet still pending. NULL is fine. */
void dp_neigh_destroy(struct dp_neigh *t);

/* The MAC of next hop ip (family AF_INET: 4 bytes, AF_INET6: 16) for a
 * packet m about to be sent at `now`:
 *  - known and fresh: DP_NEIGH_HIT, mac written. When the entry is within
 *    its last sixth of life (or expired but still answering nothing new),
 *    *request is set (at most once per retry_ms) so that an active stream
 *    refreshes it before it runs out, without a gap.
 *  - unknown or expired: a pending entry holds m (DP_NEIGH_QUEUED); *request
 *    is set when a request should go out now (the first packet).
 *  - no room: DP_NEIGH_DROP.
 * *request is always written. */
enum dp_neigh_rc dp_neigh_resolve(struct dp_neigh *t, int family, const uint8_t *ip, uint64_t now,
				  struct rte_mbuf *m, uint8_t mac[6], bool *request);
/* ip is at mac (from an ARP reply or request, an NA, an NS we answered).
 * With create false only an existing entry (pending or known) is updated,
 * as RFC 826 merges; with create true an entry is made if there is room.
 * The entry becomes fresh for timeout_ms. Packets that were pending for it
 * are handed back in out[] (up to DP_NEIGH_PENDING, oldest first) for the
 * caller to address (destination MAC = mac) and send; returns their number. */
unsigned dp_neigh_learn(struct dp_neigh *t, int family, const uint8_t *ip, const uint8_t mac[6],
			bool create, uint64_t now, struct rte_mbuf **out);
/* Look up without side effects: 1 and mac when known and fresh, else 0. */
int dp_neigh_peek(const struct dp_neigh *t, int family, const uint8_t *ip, uint64_t now,
		  uint8_t mac[6]);

typedef void (*dp_neigh_request_fn)(void *ctx, int family, const uint8_t *ip);
/* Housekeeping, a few times a second: pending entries whose retry is due
 * get another request through req(ctx, family, ip); after DP_NEIGH_TRIES
 * unanswered requests the entry goes and its packets are freed; fresh
 * entries past their lifetime go. Returns the number of packets freed
 * (the caller counts them as DP_DROP_NO_ARP). */
unsigned dp_neigh_age(struct dp_neigh *t, uint64_t now, dp_neigh_request_fn req, void *ctx);
/* Entries in use (pending or known). */
unsigned dp_neigh_count(const struct dp_neigh *t);

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

/* Control lcore, from dp_media_start: register ethdev interface `iface`
 * (conf->type == DP_IFACE_ETHDEV): find or probe its device, read the MAC,
 * note the address. Returns 0 or -errno (logged). */
int dp_eth_iface_add(unsigned iface, const struct dp_iface_conf *conf);
/* Control lcore, from dp_media_start after every interface: create the flow
 * table sized for `endpoints` local endpoints. Without ethdev interfaces it
 * does nothing. Returns 0 or -errno. */
int dp_eth_media_start(uint32_t endpoints);
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
 * entry so that no new lookup finds s. */
void dp_eth_endpoint_close(struct dp_sock *s);
/* Control lcore, after dp_eth_endpoint_close: make sure no worker still
 * holds s from an earlier lookup, then reuse the flow slot; s may be freed
 * afterwards. `detached`: the leg's DETACH command ran after the close, so
 * its own worker is past a quiescent point and only the others (if any)
 * are asked to pass one; false (a leg that failed to set up): every worker
 * is asked. */
void dp_eth_endpoint_release(struct dp_sock *s, bool detached);

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
enum dp_drop dp_eth_build_udp(struct dp_eth_wport *wp, const struct sockaddr_storage *src,
			      const struct sockaddr_storage *dst, const uint8_t dst_mac[6],
			      struct rte_mbuf *m);

#endif
