/* SPDX-License-Identifier: MIT
 * Internal to dataplane/: the flow table of ethdev interfaces (dp_flow.c),
 * (local address, local UDP port) -> struct dp_sock, an rte_hash with
 * lock-free readers: the control lcore is the one writer, workers look up.
 */
#ifndef DP_FLOW_H
#define DP_FLOW_H

#include <stdint.h>
#include <sys/socket.h>

#include "dp_internal.h"

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
/* Register the table with RCU variable v (its readers report their
 * quiescent states there): a deleted entry's slot is then reused only after
 * every reader passed one, with no dp_flow_reclaim. Before any add. Returns
 * 0 or -errno (logged). */
struct rte_rcu_qsbr;
int dp_flow_rcu_attach(struct dp_flow *f, struct rte_rcu_qsbr *v);
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
 * reused after a grace period (a table with RCU), or after dp_flow_reclaim,
 * which the caller of a table without RCU must call once every reader has
 * passed a quiescent point. -ENOENT when k is not mapped. */
int32_t dp_flow_del(struct dp_flow *f, const struct dp_flow_key *k);
/* Writer, table without RCU: make a slot returned by dp_flow_del reusable
 * (does nothing on a table with RCU). */
void dp_flow_reclaim(struct dp_flow *f, int32_t slot);
/* Reader: look up n keys (n <= 64) at once; out[i] = the endpoint or NULL.
 * Returns the number of hits. */
unsigned dp_flow_lookup_bulk(const struct dp_flow *f, const struct dp_flow_key *const *keys,
			     unsigned n, struct dp_sock **out);
/* Entries in the table (deleted ones are not counted, whether or not
 * their slots are free again). */
uint32_t dp_flow_count(const struct dp_flow *f);

#endif
