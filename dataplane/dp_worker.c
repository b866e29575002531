/* SPDX-License-Identifier: MIT
 * dp_worker: the worker lcore loop and its mailbox (see dp.h, dp_internal.h).
 *
 * A worker sleeps in epoll on its legs' kernel-UDP sockets and a wake-up
 * eventfd, so an idle daemon costs nothing. Socket events are relayed in
 * bursts (dp_relay.c). The control lcore's commands arrive through a
 * one-slot mailbox and run only after the current batch of events is done:
 * the quiescent point where no packet of this worker references a leg, so a
 * command may detach and the control plane then free it. A worker with
 * queues on ethdev ports (dp_eth.c) busy-polls instead: each iteration
 * polls its kernel sockets (epoll_wait with no timeout), serves the
 * mailbox, then runs one rx burst per port and flushes what it queued.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "dp_eth.h"
#include "dp_internal.h"

extern uint32_t dp_media_mbufs; /* dp_leg.c */

static struct dp_worker g_workers[RTE_MAX_LCORE];
static struct dp_worker *g_list[RTE_MAX_LCORE];
static unsigned g_count;

struct dp_worker *dp_worker_get(unsigned index) { return index < g_count ? g_list[index] : NULL; }
unsigned dp_worker_count(void) { return g_count; }

static void serve_mailbox(struct dp_worker *w)
{
	uint64_t posted = atomic_load_explicit(&w->posted, memory_order_acquire);

	if (posted != atomic_load_explicit(&w->done, memory_order_relaxed)) {
		dp_relay_apply(w, &w->cmd);
		atomic_store_explicit(&w->done, posted, memory_order_release);
	}
}

static int worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct epoll_event ev[64];

	w->tsc_hz = rte_get_tsc_hz();
	while (!atomic_load_explicit(&w->stop, memory_order_acquire)) {
		bool poll = w->eth != NULL;
		int n = epoll_wait(w->epfd, ev, 64, poll ? 0 : -1);
		bool wake = false, tick = false;

		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == NULL) {
				uint64_t v;

				wake = true;
				if (read(w->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					break;
			} else if (ev[i].data.ptr == &w->clk) {
				uint64_t v; /* the expiry count: dp_clock_run reads the clock itself */

				tick = true;
				if (read(w->clk.tfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					break;
			} else {
				dp_relay_socket(w, ev[i].data.ptr);
			}
		}
		if (wake || poll)
			serve_mailbox(w);
		if (poll)
			dp_eth_poll(w); /* keeps no dp_sock across calls: see dp_eth.c */
		if (tick || (poll && w->clk.list && rte_rdtsc() >= w->clk.next_tsc))
			dp_clock_run(w);
	}
	serve_mailbox(w);
	return 0;
}

int dp_worker_exec(struct dp_worker *w, struct dp_cmd *cmd)
{
	uint64_t seq, one = 1;
	struct timespec t0, t;

	if (!w->launched) { /* no thread to race with */
		dp_relay_apply(w, cmd);
		return cmd->result;
	}
	w->cmd = *cmd;
	seq = atomic_load_explicit(&w->posted, memory_order_relaxed) + 1;
	atomic_store_explicit(&w->posted, seq, memory_order_release);
	if (write(w->wakefd, &one, sizeof(one)) < 0)
		dp_log(DP_LOG_WARNING, "dp", "cannot wake lcore %u: %s", w->lcore, strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (atomic_load_explicit(&w->done, memory_order_acquire) != seq) {
		/* a worker answers within one burst; waiting longer means it is stuck */
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (dp_elapsed_ns(&t0, &t) >= 1000000000ull) {
			DP_LOG_RL(DP_LOG_WARNING, "dp", "lcore %u has not answered a command for 1 s", w->lcore);
			t0 = t;
		}
		sched_yield();
	}
	*cmd = w->cmd;
	return cmd->result;
}

static void worker_close(struct dp_worker *w)
{
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->wakefd >= 0)
		close(w->wakefd);
	if (w->clk.tfd >= 0)
		close(w->clk.tfd);
	w->epfd = w->wakefd = w->clk.tfd = -1;
}

int dp_workers_start(void)
{
	unsigned lcore;
	int started = 0, rc;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct dp_worker *w = &g_workers[lcore];
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
		struct epoll_event tev = { .events = EPOLLIN, .data.ptr = &w->clk };
		char name[32];

		w->lcore = lcore;
		w->tsc_hz = rte_get_tsc_hz();
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		snprintf(name, sizeof(name), "mbuf_w%u", lcore);
		if (!w->pool)
			w->pool = rte_pktmbuf_pool_create(name, dp_media_mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
							  (int)rte_lcore_to_socket_id(lcore));
		if (w->epfd < 0 || w->wakefd < 0 || !w->pool || dp_clock_init(w) ||
		    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev) < 0 ||
		    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->clk.tfd, &tev) < 0) {
			rc = w->pool ? -errno : -ENOMEM;
			dp_log(DP_LOG_ERR, "dp", "lcore %u: cannot set up the worker: %s", lcore,
			       w->pool ? strerror(errno) : "no memory for its mbuf pool");
			worker_close(w);
			dp_workers_stop();
			return rc;
		}
		atomic_store(&w->stop, false);
		g_list[g_count++] = w;
	}
	/* ethdev ports: one queue pair per worker, rx into its pool */
	rc = dp_eth_start(g_list, g_count);
	for (unsigned i = 0; i < g_count && !rc; i++) {
		struct dp_worker *w = g_list[i];

		rc = rte_eal_remote_launch(worker_main, w, w->lcore);
		if (rc)
			break;
		w->launched = true;
		dp_log(DP_LOG_DEBUG, "dp", "worker started on lcore %u%s", w->lcore,
		       w->eth ? ", polling ethdev ports" : "");
		started++;
	}
	if (rc) {
		dp_workers_stop();
		dp_eth_stop();
		for (unsigned i = 0; i < g_count; i++)
			worker_close(g_list[i]);
		return rc;
	}
	return started;
}

void dp_workers_stop(void)
{
	for (unsigned i = 0; i < g_count; i++) {
		struct dp_worker *w = g_list[i];
		uint64_t one = 1;

		if (!w->launched)
			continue;
		atomic_store_explicit(&w->stop, true, memory_order_release);
		if (write(w->wakefd, &one, sizeof(one)) < 0)
			dp_log(DP_LOG_WARNING, "dp", "cannot wake lcore %u: %s", w->lcore, strerror(errno));
		rte_eal_wait_lcore(w->lcore);
		w->launched = false; /* commands now run inline, on the control lcore */
	}
}

/* Called by dp_media_stop once no leg is left. */
void dp_workers_release(void)
{
	for (unsigned i = 0; i < g_count; i++) {
		worker_close(g_list[i]);
		rte_mempool_free(g_list[i]->pool);
		g_list[i]->pool = NULL;
	}
	g_count = 0;
}

int dp_lcore_get_stats(int lcore, struct dp_lcore_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < g_count; i++) {
		const struct dp_lcore_stats *s = &g_list[i]->stats;

		if (lcore >= 0 && g_list[i]->lcore != (unsigned)lcore)
			continue;
		out->rx_packets += s->rx_packets;
		out->rx_bytes += s->rx_bytes;
		out->tx_packets += s->tx_packets;
		out->tx_bytes += s->tx_bytes;
		for (int d = 0; d < DP_DROP__COUNT; d++)
			out->drops[d] += s->drops[d];
		if (lcore >= 0)
			return 0;
	}
	return lcore >= 0 ? -ENOENT : 0;
}
