/* SPDX-License-Identifier: MIT
 * Internal to dataplane/: the neighbour cache of ethdev interfaces
 * (dp_arp.c): ARP and NDP answers per next hop, with a pending queue per
 * unresolved one. One owner lcore per cache; no locking.
 */
#ifndef DP_NEIGH_H
#define DP_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

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

#endif
