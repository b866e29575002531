/* SPDX-License-Identifier: MIT
 * EAL for the ethdev unit tests (test_eth.c, test_eth_tables.c): Criterion
 * runs each test in its own process, so each test starts EAL in its fixture
 * (--no-huge --no-pci -m 128 --no-shconf, a file prefix of its own,
 * --vdev=net_ring0) and gets a small mbuf pool. */
#ifndef ETH_TEST_UTIL_H
#define ETH_TEST_UTIL_H

#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include "dp.h"

static struct rte_mempool *pool;

static void eal_up(void)
{
	char prefix[64];
	char *argv[] = { "test_eth", "--no-huge", "--no-pci", "-m", "128", "--no-shconf", "--no-telemetry",
			 "-l", "0", "--log-level=2", "--vdev=net_ring0", prefix, NULL };

	snprintf(prefix, sizeof(prefix), "--file-prefix=test_eth_%d", (int)getpid());
	dp_log_setup(DP_LOG_WARNING, DP_LOG_STDERR, "test_eth", "daemon", 10, 5000);
	cr_assert_geq(rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv), 0, "EAL starts");
	pool = rte_pktmbuf_pool_create("test_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	cr_assert_not_null(pool);
}

static void eal_down(void)
{
	rte_mempool_free(pool);
	rte_eal_cleanup();
}

static struct rte_mbuf *mbuf_of(const void *p, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	cr_assert_not_null(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), p, len);
	return m;
}

#endif
