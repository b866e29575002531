/* SPDX-License-Identifier: MIT
 * dp_arp: the neighbour cache of one worker on one port (see dp_eth.h),
 * for ARP (IPv4) and NDP (IPv6) alike.
 *
 * An open-addressing table (linear probing, backward-shift deletion) of
 * next hops, filled at most to three quarters. An entry is either pending
 * (a request is out; up to DP_NEIGH_PENDING packets wait in it, already
 * built but for the destination MAC) or known (a MAC, fresh for the
 * timeout). Choice made: queue a few packets per next hop rather than drop
 * them, so a call's first packets (and the first ping) are not lost while
 * the next hop answers; beyond the queue, packets drop as DP_DROP_NO_ARP.
 * A known entry that is still used in the last sixth of its life is
 * refreshed by a new request while it keeps being used, so an active
 * stream never sees it expire. No allocation after creation, no locks:
 * the table belongs to one worker.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dp_neigh.h"

enum { E_FREE, E_PENDING, E_KNOWN };

struct entry {
	uint8_t state;
	uint8_t family;
	uint8_t tries;       /* requests sent while pending */
	uint8_t n_pending;
	uint8_t ip[16];
	uint8_t mac[6];
	uint64_t expires;    /* known: fresh until */
	uint64_t next_req;   /* pending: next retry; known: earliest refresh request */
	struct rte_mbuf *pending[DP_NEIGH_PENDING];
};

struct dp_neigh {
	unsigned mask, used, limit;
	uint64_t timeout, retry, refresh;
	struct entry e[];
};

static size_t ip_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

static unsigned home(const struct dp_neigh *t, int family, const uint8_t *ip)
{
	uint32_t h = 2166136261u ^ (uint32_t)family;

	for (size_t i = 0; i < ip_len(family); i++)
		h = (h ^ ip[i]) * 16777619u;
	return (h ^ (h >> 15)) & t->mask;
}

static bool same(const struct entry *e, int family, const uint8_t *ip)
{
	return e->family == family && memcmp(e->ip, ip, ip_len(family)) == 0;
}

static struct entry *find(const struct dp_neigh *t, int family, const uint8_t *ip)
{
	unsigned i = home(t, family, ip);

	for (unsigned n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
		const struct entry *e = &t->e[i];

		if (e->state == E_FREE)
			return NULL;
		if (same(e, family, ip))
			return (struct entry *)e;
	}
	return NULL;
}

static struct entry *insert(struct dp_neigh *t, int family, const uint8_t *ip)
{
	unsigned i = home(t, family, ip);

	if (t->used >= t->limit)
		return NULL;
	while (t->e[i].state != E_FREE)
		i = (i + 1) & t->mask;
	memset(&t->e[i], 0, sizeof(t->e[i]));
	t->e[i].family = (uint8_t)family;
	memcpy(t->e[i].ip, ip, ip_len(family));
	t->used++;
	return &t->e[i];
}

/* Remove slot i, shifting later entries of the probe run back. */
static void erase(struct dp_neigh *t, unsigned i)
{
	unsigned j = i;

	t->e[i].state = E_FREE;
	t->used--;
	for (;;) {
		unsigned k;

		j = (j + 1) & t->mask;
		if (t->e[j].state == E_FREE)
			return;
		k = home(t, t->e[j].family, t->e[j].ip);
		/* move e[j] to the hole i unless its home lies cyclically in (i, j] */
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			t->e[i] = t->e[j];
			t->e[j].state = E_FREE;
			i = j;
		}
	}
}

struct dp_neigh *dp_neigh_create(unsigned entries, uint32_t timeout_ms, uint32_t retry_ms, uint64_t hz)
{
	unsigned size = 16;
	struct dp_neigh *t;

	while (size < entries && size < (1u << 20))
		size <<= 1;
	t = rte_zmalloc("dp_neigh", sizeof(*t) + size * sizeof(struct entry), RTE_CACHE_LINE_SIZE);
	if (!t)
		return NULL;
	t->mask = size - 1;
	t->limit = size / 4 * 3;
	t->timeout = hz * timeout_ms / 1000;
	t->retry = hz * retry_ms / 1000;
	t->refresh = t->timeout / 6;
	return t;
}

void dp_neigh_destroy(struct dp_neigh *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i <= t->mask; i++)
		if (t->e[i].state == E_PENDING)
			rte_pktmbuf_free_bulk(t->e[i].pending, t->e[i].n_pending);
	rte_free(t);
}

enum dp_neigh_rc dp_neigh_resolve(struct dp_neigh *t, int family, const uint8_t *ip, uint64_t now,
				  struct rte_mbuf *m, uint8_t mac[6], bool *request)
{
	struct entry *e = find(t, family, ip);

	*request = false;
	if (e && e->state == E_KNOWN) {
		if (now < e->expires) {
			memcpy(mac, e->mac, 6);
			if (now + t->refresh >= e->expires && now >= e->next_req) {
				*request = true;
				e->next_req = now + t->retry;
			}
			return DP_NEIGH_HIT;
		}
		/* expired without an answer to the refresh: ask again, hold packets */
		e->state = E_PENDING;
		e->tries = 0;
		e->n_pending = 0;
	}
	if (!e) {
		e = insert(t, family, ip);
		if (!e)
			return DP_NEIGH_DROP;
		e->state = E_PENDING;
	}
	if (e->n_pending == DP_NEIGH_PENDING)
		return DP_NEIGH_DROP;
	e->pending[e->n_pending++] = m;
	if (e->tries == 0) {
		*request = true;
		e->tries = 1;
		e->next_req = now + t->retry;
	}
	return DP_NEIGH_QUEUED;
}

unsigned dp_neigh_learn(struct dp_neigh *t, int family, const uint8_t *ip, const uint8_t mac[6],
			bool create, uint64_t now, struct rte_mbuf **out)
{
	struct entry *e = find(t, family, ip);
	unsigned n = 0;

	if (!e) {
		if (!create || !(e = insert(t, family, ip)))
			return 0;
	}
	if (e->state == E_PENDING && e->n_pending) {
		n = e->n_pending;
		memcpy(out, e->pending, n * sizeof(*out));
		e->n_pending = 0;
	}
	e->state = E_KNOWN;
	memcpy(e->mac, mac, 6);
	e->expires = now + t->timeout;
	e->next_req = 0;
	e->tries = 0;
	return n;
}

int dp_neigh_peek(const struct dp_neigh *t, int family, const uint8_t *ip, uint64_t now, uint8_t mac[6])
{
	const struct entry *e = find(t, family, ip);

	if (!e || e->state != E_KNOWN || now >= e->expires)
		return 0;
	memcpy(mac, e->mac, 6);
	return 1;
}

unsigned dp_neigh_age(struct dp_neigh *t, uint64_t now, dp_neigh_request_fn req, void *ctx)
{
	unsigned dropped = 0;

	for (unsigned i = 0; i <= t->mask;) {
		struct entry *e = &t->e[i];

		if (e->state == E_PENDING && now >= e->next_req) {
			if (e->tries >= DP_NEIGH_TRIES) {
				rte_pktmbuf_free_bulk(e->pending, e->n_pending);
				dropped += e->n_pending;
				erase(t, i);
				continue; /* slot i now holds a shifted entry (or is free) */
			}
			e->tries++;
			e->next_req = now + t->retry;
			if (req)
				req(ctx, e->family, e->ip);
		} else if (e->state == E_KNOWN && now >= e->expires) {
			erase(t, i);
			continue;
		}
		i++;
	}
	return dropped;
}

unsigned dp_neigh_count(const struct dp_neigh *t)
{
	return t->used;
}
