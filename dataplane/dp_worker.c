/* SPDX-License-Identifier: MIT
 * dp_worker: the worker lcore loop (see dp.h).
 *
 * Each worker owns an epoll set. Today it holds only a wake-up eventfd; the
 * kernel-UDP ports of a later issue add their sockets to it, and ethdev ports
 * switch the worker to busy polling. Sleeping in epoll keeps an idle daemon
 * near 0% CPU.
 */
#include "dp.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_launch.h>
#include <rte_lcore.h>

struct dp_worker {
	int epfd;
	int wakefd;
	atomic_bool stop;
	bool launched;
} __rte_cache_aligned;

static struct dp_worker g_workers[RTE_MAX_LCORE];

static int worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct epoll_event ev[16];

	while (!atomic_load_explicit(&w->stop, memory_order_acquire)) {
		int n = epoll_wait(w->epfd, ev, 16, -1);

		for (int i = 0; i < n; i++) {
			if (ev[i].data.fd == w->wakefd) {
				uint64_t v;

				if (read(w->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					break;
			}
		}
	}
	return 0;
}

static void worker_close(struct dp_worker *w)
{
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->wakefd >= 0)
		close(w->wakefd);
	w->epfd = w->wakefd = -1;
}

int dp_workers_start(void)
{
	unsigned lcore;
	int started = 0;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct dp_worker *w = &g_workers[lcore];
		struct epoll_event ev = { .events = EPOLLIN };
		int rc;

		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		ev.data.fd = w->wakefd;
		if (w->epfd < 0 || w->wakefd < 0 ||
		    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev) < 0) {
			rc = -errno;
			worker_close(w);
			dp_workers_stop();
			return rc;
		}
		atomic_store(&w->stop, false);
		rc = rte_eal_remote_launch(worker_main, w, lcore);
		if (rc) {
			worker_close(w);
			dp_workers_stop();
			return rc;
		}
		w->launched = true;
		dp_log(DP_LOG_DEBUG, "dp", "worker started on lcore %u", lcore);
		started++;
	}
	return started;
}

void dp_workers_stop(void)
{
	unsigned lcore;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct dp_worker *w = &g_workers[lcore];
		uint64_t one = 1;

		if (!w->launched)
			continue;
		atomic_store_explicit(&w->stop, true, memory_order_release);
		if (write(w->wakefd, &one, sizeof(one)) < 0)
			dp_log(DP_LOG_WARNING, "dp", "cannot wake lcore %u: %s", lcore, strerror(errno));
		rte_eal_wait_lcore(lcore);
		worker_close(w);
		w->launched = false;
	}
}
