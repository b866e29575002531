/* SPDX-License-Identifier: MIT
 * dp_flow: the ethdev flow table (see dp_eth.h), an rte_hash with lock-free
 * readers (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF) and an extendable bucket
 * table, so that an insert fails only when `entries` endpoints exist.
 *
 * Lock-free readers imply "no free on delete": rte_hash_del_key unlinks the
 * key, but its slot (key store entry, and the data pointer readers copy)
 * must stay untouched until every reader has passed a quiescent state. The
 * dataplane's table is registered with the workers' RCU variable
 * (dp_flow_rcu_attach: rte_hash_rcu_qsbr_add, defer-queue mode), so
 * rte_hash_del_key queues the slot and the table reuses it once the grace
 * period is over (checked, without waiting, on later deletes and on an add
 * that finds no free slot). A table without RCU (tests) gets its slots back
 * through dp_flow_reclaim.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "dp_flow.h"

struct dp_flow {
	struct rte_hash *h;
	bool rcu;        /* the table reclaims deleted slots itself */
	uint32_t n;      /* live entries (deleted ones may still hold slots) */
};

void dp_flow_key_set(struct dp_flow_key *k, int family, const uint8_t *ip, uint16_t port)
{
	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)family;
	k->port = htons(port);
	memcpy(k->addr, ip, family == AF_INET6 ? 16 : 4);
}

int dp_flow_key_from_sa(struct dp_flow_key *k, const struct sockaddr_storage *sa)
{
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)sa;

		dp_flow_key_set(k, AF_INET, (const uint8_t *)&a->sin_addr, ntohs(a->sin_port));
		return 0;
	}
	if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)sa;

		dp_flow_key_set(k, AF_INET6, a->sin6_addr.s6_addr, ntohs(a->sin6_port));
		return 0;
	}
	return -EAFNOSUPPORT;
}

struct dp_flow *dp_flow_create(const char *name, uint32_t entries, int socket)
{
	struct rte_hash_parameters p = {
		.name = name,
		.entries = entries < 64 ? 64 : entries,
		.key_len = sizeof(struct dp_flow_key),
		.hash_func = rte_hash_crc,
		.hash_func_init_val = 0x6d656469, /* "medi" */
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct dp_flow *f;

	RTE_BUILD_BUG_ON(sizeof(struct dp_flow_key) != 32);
	f = rte_zmalloc_socket("dp_flow", sizeof(*f), 0, socket);
	if (!f)
		return NULL;
	f->h = rte_hash_create(&p);
	if (!f->h) {
		dp_log(DP_LOG_ERR, "eth", "cannot create the flow table for %u endpoints: %s", entries,
		       rte_strerror(rte_errno));
		rte_free(f);
		return NULL;
	}
	return f;
}

int dp_flow_rcu_attach(struct dp_flow *f, struct rte_rcu_qsbr *v)
{
	struct rte_hash_rcu_config c = { .v = v, .mode = RTE_HASH_QSBR_MODE_DQ };

	if (!f || !v)
		return -EINVAL;
	if (rte_hash_rcu_qsbr_add(f->h, &c)) {
		dp_log(DP_LOG_ERR, "eth", "cannot register the flow table for RCU: %s", rte_strerror(rte_errno));
		return -rte_errno;
	}
	f->rcu = true;
	return 0;
}

void dp_flow_destroy(struct dp_flow *f)
{
	if (!f)
		return;
	rte_hash_free(f->h);
	rte_free(f);
}

int32_t dp_flow_add(struct dp_flow *f, const struct dp_flow_key *k, struct dp_sock *s)
{
	int32_t pos;

	if (!f || !k || !s)
		return -EINVAL;
	if (rte_hash_lookup(f->h, k) >= 0)
		return -EEXIST;
	pos = rte_hash_add_key_data(f->h, k, s);
	if (pos < 0)
		return pos == -ENOSPC ? -ENOSPC : -EINVAL;
	f->n++;
	/* rte_hash_add_key_data returns 0 on success; the slot is what lookup gives */
	pos = rte_hash_lookup(f->h, k);
	return pos < 0 ? -EINVAL : pos;
}

int32_t dp_flow_del(struct dp_flow *f, const struct dp_flow_key *k)
{
	int32_t pos = rte_hash_del_key(f->h, k);

	if (pos >= 0)
		f->n--;
	return pos < 0 ? (pos == -ENOENT ? -ENOENT : -EINVAL) : pos;
}

void dp_flow_reclaim(struct dp_flow *f, int32_t slot)
{
	if (slot >= 0 && !f->rcu) /* with RCU the table frees the slot itself */
		rte_hash_free_key_with_position(f->h, slot);
}

unsigned dp_flow_lookup_bulk(const struct dp_flow *f, const struct dp_flow_key *const *keys,
			     unsigned n, struct dp_sock **out)
{
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	uint64_t hits = 0;
	int r;

	if (n == 0)
		return 0;
	if (n > RTE_HASH_LOOKUP_BULK_MAX)
		n = RTE_HASH_LOOKUP_BULK_MAX;
	r = rte_hash_lookup_bulk_data(f->h, (const void **)(uintptr_t)keys, n, &hits, data);
	if (r < 0)
		hits = 0;
	for (unsigned i = 0; i < n; i++)
		out[i] = (hits >> i) & 1 ? data[i] : NULL;
	return r < 0 ? 0 : (unsigned)r;
}

uint32_t dp_flow_count(const struct dp_flow *f)
{
	return f ? f->n : 0;
}
