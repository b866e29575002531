/* SPDX-License-Identifier: MIT
 * dataplane/: the public door. EAL bootstrap, lcore roles, the logger, and
 * (dp_media.h) calls and legs relayed over kernel-UDP ports with SRTP.
 */
#ifndef DP_H
#define DP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_clock.h"
#include "dp_log.h"
#include "dp_media.h"

enum dp_hugepages { DP_HUGE_AUTO, DP_HUGE_YES, DP_HUGE_NO };

/* Longest pci_devices / extra_args value (so that a config line holds it). */
#define DP_EAL_LIST_LEN 161

/* How EAL is started; filled from the [eal] section of the configuration. */
struct dp_eal_conf {
	char lcores[64];       /* EAL -l list, e.g. "0-1", or an EAL --lcores map with @ ("0@0,(1-2)@1");
				* empty: every core we may run on */
	uint32_t memory_mb;    /* memory EAL reserves (-m), in MiB */
	enum dp_hugepages hugepages;
	char pci_devices[DP_EAL_LIST_LEN]; /* PCI devices EAL may take, comma separated; none: --no-pci */
	char extra_args[DP_EAL_LIST_LEN];  /* further EAL arguments, space separated */
};

#define DP_EAL_MAX_ARGS 48

/* Free 2 MiB/1 GiB hugepage memory reported by a /proc/meminfo text, in
 * MiB (HugePages_Free x Hugepagesize). 0 when none or unparsable. */
uint64_t dp_hugepages_free_mb(const char *meminfo);

/* Build the EAL argument vector for conf into argv (at most DP_EAL_MAX_ARGS
 * entries, pointing into the caller's `store` of `store_len` bytes).
 * `huge_free_mb` is what the host has (dp_hugepages_free_mb); with
 * DP_HUGE_AUTO hugepages are used when at least memory_mb are free, else EAL
 * runs with --no-huge -m N --no-shconf. No PCI device is probed unless
 * listed in pci_devices (each becomes "-a DEV"), so a host NIC is never
 * taken by accident. Returns argc, or -EINVAL when conf
 * asks for hugepages the host lacks or the arguments do not fit. */
int dp_eal_build_args(const struct dp_eal_conf *conf, uint64_t huge_free_mb, const char *prog,
		      char **argv, char *store, size_t store_len);

/* Start EAL per conf (reads /proc/meminfo for hugepages). Block the signals
 * the daemon handles before calling: EAL threads inherit the mask. Returns 0,
 * or -errno with the reason logged. */
int dp_eal_start(const struct dp_eal_conf *conf, const char *prog);

/* After dp_eal_start: an mbuf pool of n mbufs (rte_pktmbuf_pool_create's
 * layout, cache 256, default data room) for rx/tx on `socket`. With af_xdp
 * (an rx queue of DPDK 22.11's net_af_xdp will use it) and the EAL without
 * hugepages or with IOVA as VA, its objects are packed back to back in one
 * memory chunk (RTE_MEMPOOL_F_NO_IOVA_CONTIG): the PMD registers as the
 * AF_XDP umem only populated_size x object size bytes from the pool's first
 * chunk, and a default pool keeps objects from crossing a page, so without
 * hugepages (4 KiB pages, one ~2.3 KiB mbuf a page) 3,456 of 8,191 mbufs
 * lie beyond that umem. The kernel drops each such address it takes from
 * the fill ring: the mbuf is gone and the fill ring one entry shorter, and
 * once it is empty rx stops for good (docs/operations.md). NULL with
 * rte_errno set on failure. */
struct rte_mempool;
struct rte_mempool *dp_mbuf_pool_create(const char *name, unsigned n, int socket, bool af_xdp);
/* How many of pool's mbufs lie (wholly or partly) outside the umem that
 * DPDK 22.11's net_af_xdp registers for it; af_xdp needs 0. */
unsigned dp_mbuf_pool_umem_outside(struct rte_mempool *pool);
/* Stop the workers, tear the media layer down (dp_media_stop) and release
 * EAL. */
void dp_eal_stop(void);

/* Launch the worker loop on every worker lcore (all but the main one).
 * Workers sleep in epoll until there is work, so an idle daemon costs
 * nothing. Returns the number of workers started (may be 0), or -errno. */
int dp_workers_start(void);
/* Ask every worker to return, and wait for them (each applies the commands
 * still queued for it first). Safe to call twice. */
void dp_workers_stop(void);
/* Free what the control lcore's commands to the workers replaced (old SRTP
 * contexts, destroyed legs, removed tickers) once no worker can still be
 * using it: the worker applied the command and every worker passed a
 * quiescent state since. Never waits. Control lcore; mediusd calls it from
 * its periodic timer, and the dataplane after each command and when the
 * workers stop. */
void dp_workers_reclaim(void);
/* Wait until every running worker applied every command posted to it so
 * far and then passed a quiescent state: a grace period, waited for in
 * poll(2) (one loop turn of each worker), never a spin. Control lcore. For
 * tools and benchmarks that send media right after setting legs up, so
 * that no packet meets a leg before its settings; mediusd does not need it
 * (a peer's media comes after the ng reply). */
void dp_workers_synchronize(void);
/* Worker liveness, for a service watchdog. Control lcore; never waits.
 * Each running worker that applied the previous probe gets a new one (an
 * empty command on its ring, which also wakes a sleeping worker); a worker
 * whose probe has waited more than max_age_ms is stuck (in a loop, or
 * never scheduled). Returns 0 when none is, else -ETIMEDOUT with the first
 * stuck worker's lcore in *lcore (when lcore is not NULL). */
int dp_workers_alive(uint64_t max_age_ms, unsigned *lcore);

#endif
