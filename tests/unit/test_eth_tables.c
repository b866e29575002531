/* SPDX-License-Identifier: MIT
 * Unit tests for the ethdev interface's tables: the neighbour cache
 * (dataplane/dp_arp.c: insert, lookup, expiry and refresh, pending queue,
 * retries, fill limit, deletion against a reference model) and the flow
 * table (dataplane/dp_flow.c: insert, bulk lookup, delete, slot reclaim,
 * capacity, slots coming back only after an RCU grace period). EAL as in
 * eth_test_util.h. */
#include <criterion/criterion.h>

#include <netinet/in.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "dp_flow.h"
#include "dp_neigh.h"
#include "eth_test_util.h"

/* ==== neighbour cache: hz = 1000, so `now` is in ms ==== */

TestSuite(neigh, .init = eal_up, .fini = eal_down);

static const uint8_t N1[4] = { 10, 0, 0, 1 }, N2[4] = { 10, 0, 0, 2 };
static const uint8_t MAC1[6] = { 2, 0, 0, 0, 0, 1 }, MAC2[6] = { 2, 0, 0, 0, 0, 2 };

Test(neigh, pending_then_learn_releases_in_order)
{
	struct dp_neigh *t = dp_neigh_create(64, 60000, 1000, 1000);
	struct rte_mbuf *m[4], *out[DP_NEIGH_PENDING];
	uint8_t mac[6];
	bool req;

	for (int i = 0; i < 4; i++) {
		uint8_t b = (uint8_t)i;

		m[i] = mbuf_of(&b, 1);
		cr_assert_eq(dp_neigh_resolve(t, AF_INET, N1, 10, m[i], mac, &req), DP_NEIGH_QUEUED);
		cr_assert_eq(req, i == 0, "only the first packet asks (packet %d)", i);
	}
	cr_assert_eq(dp_neigh_peek(t, AF_INET, N1, 10, mac), 0, "pending is not known");
	cr_assert_eq(dp_neigh_learn(t, AF_INET, N1, MAC1, false, 20, out), 4);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(out[i], m[i], "oldest first");
	rte_pktmbuf_free_bulk(out, 4);
	cr_assert_eq(dp_neigh_resolve(t, AF_INET, N1, 30, NULL, mac, &req), DP_NEIGH_HIT);
	cr_assert_arr_eq(mac, MAC1, 6);
	cr_assert(!req);
	cr_assert_eq(dp_neigh_count(t), 1);
	dp_neigh_destroy(t);
}

Test(neigh, pending_queue_is_bounded)
{
	struct dp_neigh *t = dp_neigh_create(64, 60000, 1000, 1000);
	uint8_t mac[6], b = 0;
	bool req;

	for (int i = 0; i < DP_NEIGH_PENDING; i++)
		cr_assert_eq(dp_neigh_resolve(t, AF_INET, N1, 0, mbuf_of(&b, 1), mac, &req), DP_NEIGH_QUEUED);
	struct rte_mbuf *extra = mbuf_of(&b, 1);
	cr_assert_eq(dp_neigh_resolve(t, AF_INET, N1, 0, extra, mac, &req), DP_NEIGH_DROP);
	rte_pktmbuf_free(extra);
	dp_neigh_destroy(t); /* frees the pending ones */
	cr_assert_eq(rte_mempool_avail_count(pool), 1023, "no mbuf leaked");
}

Test(neigh, learn_merges_unless_create)
{
	struct dp_neigh *t = dp_neigh_create(64, 60000, 1000, 1000);
	uint8_t mac[6];

	cr_assert_eq(dp_neigh_learn(t, AF_INET, N1, MAC1, false, 0, NULL), 0);
	cr_assert_eq(dp_neigh_peek(t, AF_INET, N1, 0, mac), 0, "not created without create");
	dp_neigh_learn(t, AF_INET, N1, MAC1, true, 0, NULL);
	cr_assert_eq(dp_neigh_peek(t, AF_INET, N1, 0, mac), 1);
	dp_neigh_learn(t, AF_INET, N1, MAC2, false, 5, NULL);
	cr_assert_eq(dp_neigh_peek(t, AF_INET, N1, 5, mac), 1);
	cr_assert_arr_eq(mac, MAC2, 6, "an existing entry is updated");
	/* IPv4 10.0.0.1 and an IPv6 address starting with the same bytes differ */
	uint8_t v6[16] = { 10, 0, 0, 1 };
	cr_assert_eq(dp_neigh_peek(t, AF_INET6, v6, 5, mac), 0);
	dp_neigh_destroy(t);
}

Test(neigh, refresh_window_and_expiry)
{
	struct dp_neigh *t = dp_neigh_create(64, 60000, 1000, 1000);
	uint8_t mac[6], b = 0;
	bool req;

	dp_neigh_learn(t, AF_INET, N1, MAC1, true, 0, NULL);
	cr_assert_eq(dp_neigh_resolve(t, AF_INET, N1, 49000, NULL, mac, &req), DP_NEIGH_HIT);
	cr_assert(!req, "fresh: no request");
	cr_assert_eq(dp_neigh_resolve(t, AF_INET, N1, 55000, NULL, mac, &req), DP_NEIGH_HIT);
	cr_assert(req, "last sixth of its life: refresh while still in use");
	cr_assert_eq(dp_neigh_resolve(t, AF_INET, N1, 55500, NULL, mac, &req), DP_NEIGH_HIT);
	cr_assert(!req, "refresh requests are one per retry interval");
	cr_assert_eq(dp_neigh_resolve(t, AF_INET, N1, 56000, NULL, mac, &req), DP_NEIGH_HIT);
	cr_assert(req);
	/* an answer renews it */
	dp_neigh_learn(t, AF_INET, N1, MAC1, false, 57000, NULL);
	cr_assert_eq(dp_neigh_resolve(t, AF_INET, N1, 100000, NULL, mac, &req), DP_NEIGH_HIT);
	cr_assert(!req);
	/* no answer: past its lifetime a packet waits and a request goes out */
	struct rte_mbuf *m = mbuf_of(&b, 1);
	cr_assert_eq(dp_neigh_resolve(t, AF_INET, N1, 117001, m, mac, &req), DP_NEIGH_QUEUED);
	cr_assert(req);
	cr_assert_eq(dp_neigh_peek(t, AF_INET, N1, 117001, mac), 0);
	dp_neigh_destroy(t);
}

struct req_log {
	int n;
	uint8_t last[16];
};

static void log_req(void *ctx, int family, const uint8_t *ip)
{
	struct req_log *l = ctx;

	l->n++;
	memcpy(l->last, ip, family == AF_INET ? 4 : 16);
}

Test(neigh, retries_then_drop)
{
	struct dp_neigh *t = dp_neigh_create(64, 60000, 1000, 1000);
	struct req_log log = { 0 };
	uint8_t mac[6], b = 0;
	bool req;

	dp_neigh_resolve(t, AF_INET, N2, 0, mbuf_of(&b, 1), mac, &req);
	dp_neigh_resolve(t, AF_INET, N2, 1, mbuf_of(&b, 1), mac, &req);
	cr_assert_eq(dp_neigh_age(t, 999, log_req, &log), 0);
	cr_assert_eq(log.n, 0, "not due before the retry interval");
	cr_assert_eq(dp_neigh_age(t, 1000, log_req, &log), 0);
	cr_assert_eq(log.n, 1);
	cr_assert_arr_eq(log.last, N2, 4);
	cr_assert_eq(dp_neigh_age(t, 2000, log_req, &log), 0);
	cr_assert_eq(log.n, 2, "DP_NEIGH_TRIES requests in all");
	cr_assert_eq(dp_neigh_age(t, 3000, log_req, &log), 2, "then its two packets are dropped");
	cr_assert_eq(log.n, 2);
	cr_assert_eq(dp_neigh_count(t), 0);
	cr_assert_eq(rte_mempool_avail_count(pool), 1023);
	/* known entries go once expired */
	dp_neigh_learn(t, AF_INET, N1, MAC1, true, 0, NULL);
	cr_assert_eq(dp_neigh_age(t, 59999, NULL, NULL), 0);
	cr_assert_eq(dp_neigh_count(t), 1);
	dp_neigh_age(t, 60000, NULL, NULL);
	cr_assert_eq(dp_neigh_count(t), 0);
	dp_neigh_destroy(t);
}

Test(neigh, table_fills_to_three_quarters)
{
	struct dp_neigh *t = dp_neigh_create(16, 60000, 1000, 1000);
	uint8_t mac[6], ip[4] = { 10, 1, 0, 0 };
	bool req;

	for (int i = 0; i < 12; i++) {
		ip[3] = (uint8_t)i;
		cr_assert_eq(dp_neigh_learn(t, AF_INET, ip, MAC1, true, 0, NULL), 0);
	}
	cr_assert_eq(dp_neigh_count(t), 12);
	ip[3] = 200;
	cr_assert_eq(dp_neigh_resolve(t, AF_INET, ip, 0, NULL, mac, &req), DP_NEIGH_DROP);
	dp_neigh_learn(t, AF_INET, ip, MAC1, true, 0, NULL);
	cr_assert_eq(dp_neigh_peek(t, AF_INET, ip, 0, mac), 0, "no room: not added");
	dp_neigh_destroy(t);
}

/* Random learn / age against a reference model: linear probing with
 * backward-shift deletion must never lose an entry. */
Test(neigh, deletion_keeps_every_other_entry)
{
	struct dp_neigh *t = dp_neigh_create(64, 1000, 1000, 1000);
	uint64_t learnt[256] = { 0 }; /* 0: absent, else learn time + 1 */
	uint32_t seed = 12345;
	uint64_t now = 1;

	for (int round = 0; round < 4000; round++) {
		uint8_t ip[4] = { 172, 16, 0, 0 }, mac[6];
		unsigned k;

		seed = seed * 1103515245u + 12345u;
		k = (seed >> 16) % 256;
		ip[3] = (uint8_t)k;
		now += (seed >> 8) % 7;
		if ((seed >> 4) % 3) {
			unsigned held = 0; /* in the table until aged out */

			for (int i = 0; i < 256; i++)
				held += learnt[i] != 0;
			if (!learnt[k] && held >= 40)
				continue; /* stay under the fill limit (48) */
			dp_neigh_learn(t, AF_INET, ip, MAC1, true, now, NULL);
			learnt[k] = now + 1;
		} else {
			dp_neigh_age(t, now, NULL, NULL);
			for (int i = 0; i < 256; i++)
				if (learnt[i] && now >= learnt[i] - 1 + 1000)
					learnt[i] = 0;
		}
		for (int i = 0; i < 256; i++) {
			uint8_t q[4] = { 172, 16, 0, (uint8_t)i };
			int want = learnt[i] && now < learnt[i] - 1 + 1000;

			cr_assert_eq(dp_neigh_peek(t, AF_INET, q, now, mac), want, "round %d, entry %d", round, i);
		}
	}
	dp_neigh_destroy(t);
}

/* ==== flow table ==== */

TestSuite(flow, .init = eal_up, .fini = eal_down);

Test(flow, add_lookup_delete_reclaim)
{
	struct dp_flow *f = dp_flow_create("t_flow", 1024, SOCKET_ID_ANY);
	struct dp_sock socks[40];
	struct dp_flow_key keys[40];
	const struct dp_flow_key *kp[40];
	struct dp_sock *out[40];
	uint8_t v4[4] = { 10, 2, 0, 1 }, v6[16] = { 0xfd, [15] = 1 };

	cr_assert_not_null(f);
	for (int i = 0; i < 40; i++) {
		dp_flow_key_set(&keys[i], i % 2 ? AF_INET6 : AF_INET, i % 2 ? v6 : v4, (uint16_t)(30000 + i));
		kp[i] = &keys[i];
		if (i < 32)
			cr_assert_geq(dp_flow_add(f, &keys[i], &socks[i]), 0);
	}
	cr_assert_eq(dp_flow_count(f), 32);
	cr_assert_eq(dp_flow_add(f, &keys[3], &socks[5]), -EEXIST);
	cr_assert_eq(dp_flow_lookup_bulk(f, kp, 40, out), 32);
	for (int i = 0; i < 40; i++)
		cr_assert_eq(out[i], i < 32 ? &socks[i] : NULL, "key %d", i);
	/* same port, other family / other address: different keys */
	struct dp_flow_key other;
	const struct dp_flow_key *op = &other;
	uint8_t v4b[4] = { 10, 2, 0, 2 };
	dp_flow_key_set(&other, AF_INET, v4b, 30000);
	cr_assert_eq(dp_flow_lookup_bulk(f, &op, 1, out), 0);

	int32_t pos = dp_flow_del(f, &keys[4]);
	cr_assert_geq(pos, 0);
	cr_assert_eq(dp_flow_del(f, &keys[4]), -ENOENT);
	cr_assert_eq(dp_flow_lookup_bulk(f, kp, 32, out), 31);
	cr_assert_null(out[4]);
	cr_assert_eq(out[5], &socks[5]);
	dp_flow_reclaim(f, pos);
	cr_assert_geq(dp_flow_add(f, &keys[4], &socks[39]), 0, "the key can come back");
	cr_assert_eq(dp_flow_lookup_bulk(f, kp, 32, out), 32);
	cr_assert_eq(out[4], &socks[39]);
	dp_flow_destroy(f);
}

Test(flow, key_from_sockaddr)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;
	struct dp_flow_key k, want;
	uint8_t ip[4] = { 192, 0, 2, 7 };

	a->sin_family = AF_INET;
	a->sin_port = htons(4000);
	memcpy(&a->sin_addr, ip, 4);
	cr_assert_eq(dp_flow_key_from_sa(&k, &ss), 0);
	dp_flow_key_set(&want, AF_INET, ip, 4000);
	cr_assert_arr_eq(&k, &want, sizeof(k));
	ss.ss_family = AF_UNIX;
	cr_assert_eq(dp_flow_key_from_sa(&k, &ss), -EAFNOSUPPORT);
}

Test(flow, holds_at_least_its_size)
{
	struct dp_flow *f = dp_flow_create("t_flow_cap", 4096, SOCKET_ID_ANY);
	static struct dp_sock s;
	uint8_t ip[4] = { 10, 3, 0, 0 };
	int added = 0;

	for (int i = 0; i < 4096; i++) {
		struct dp_flow_key k;

		ip[2] = (uint8_t)(i >> 8);
		dp_flow_key_set(&k, AF_INET, ip, (uint16_t)(1024 + (i & 0xff)));
		added += dp_flow_add(f, &k, &s) >= 0;
	}
	cr_assert_eq(added, 4096, "every one of `entries` keys fits (extendable buckets)");
	dp_flow_destroy(f);
}

/* With RCU (as the dataplane's table has it): a deleted entry's slot is not
 * reused while a reader that may hold it has not reported a quiescent state
 * since; once it has, or is offline, an add takes the slot again. Here the
 * test thread plays the reader (thread id 0) and the writer. */
Test(flow, rcu_slot_comes_back_after_a_grace_period)
{
	struct rte_rcu_qsbr *v = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(4), RTE_CACHE_LINE_SIZE);
	struct dp_flow *f = dp_flow_create("t_flow_rcu", 64, SOCKET_ID_ANY);
	static struct dp_sock s[80];
	struct dp_flow_key k[80];
	const struct dp_flow_key *kp;
	struct dp_sock *out;
	uint8_t ip[4] = { 10, 4, 0, 1 };
	int full = 0;

	cr_assert_not_null(v);
	cr_assert_not_null(f);
	cr_assert_eq(rte_rcu_qsbr_init(v, 4), 0);
	cr_assert_eq(dp_flow_rcu_attach(f, v), 0);
	cr_assert_eq(rte_rcu_qsbr_thread_register(v, 0), 0);
	rte_rcu_qsbr_thread_online(v, 0);
	for (int i = 0; i < 80; i++)
		dp_flow_key_set(&k[i], AF_INET, ip, (uint16_t)(20000 + i));
	while (full < 80 && dp_flow_add(f, &k[full], &s[full]) >= 0)
		full++;
	cr_assert_geq(full, 64, "the table holds its size");
	cr_assert_lt(full, 80);
	cr_assert_eq(dp_flow_count(f), (uint32_t)full);

	/* the reader has not passed a quiescent state since the delete */
	cr_assert_geq(dp_flow_del(f, &k[0]), 0);
	cr_assert_eq(dp_flow_count(f), (uint32_t)full - 1, "a deleted entry no longer counts");
	kp = &k[0];
	cr_assert_eq(dp_flow_lookup_bulk(f, &kp, 1, &out), 0, "new lookups miss at once");
	cr_assert_eq(dp_flow_add(f, &k[full], &s[full]), -ENOSPC, "the slot is not reused yet");
	dp_flow_reclaim(f, 0); /* does nothing with RCU (it would free a live slot) */
	cr_assert_eq(dp_flow_add(f, &k[full], &s[full]), -ENOSPC);

	rte_rcu_qsbr_quiescent(v, 0);
	cr_assert_geq(dp_flow_add(f, &k[full], &s[full]), 0, "after the grace period the slot is back");
	kp = &k[full];
	cr_assert_eq(dp_flow_lookup_bulk(f, &kp, 1, &out), 1);
	cr_assert_eq(out, &s[full]);

	/* an offline reader holds nothing up */
	rte_rcu_qsbr_thread_offline(v, 0);
	cr_assert_geq(dp_flow_del(f, &k[1]), 0);
	cr_assert_geq(dp_flow_add(f, &k[1], &s[1]), 0, "the key can come back at once");
	rte_rcu_qsbr_thread_unregister(v, 0);
	dp_flow_destroy(f);
	rte_free(v);
}
