/* SPDX-License-Identifier: MIT
 * dp_flow: the ethdev flow table (see dp_eth.h), an rte_hash with lock-free
 * readers (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF) and an extendable bucket
 * table, so that an insert fails only when `entries` endpoints exist.
 *
 * Lock-free readers imply "no free on delete": rte_hash_del_key unlinks the
 * key, but its slot (key store entry, and the data pointer readers copy)
 * stays untouched until rte_hash_free_key_with_position. The caller calls
 * that (dp_flow_reclaim) only after every reader has passed a quiescent
 * point, which dp_eth.c gets from the workers' mailboxes.
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
	/* rte_hash_add_key_data returns 0 on success; the slot is what lookup gives */
	pos = rte_hash_lookup(f->h, k);
	return pos < 0 ? -EINVAL : pos;
}

int32_t dp_flow_del(struct dp_flow *f, const struct dp_flow_key *k)
{
	int32_t pos = rte_hash_del_key(f->h, k);

	return pos < 0 ? (pos == -ENOENT ? -ENOENT : -EINVAL) : pos;
}

void dp_flow_reclaim(struct dp_flow *f, int32_t slot)
{
	if (slot >= 0)
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
	int32_t c = f ? rte_hash_count(f->h) : 0;

	return c < 0 ? 0 : (uint32_t)c;
}
