/* SPDX-License-Identifier: MIT
 * dp_worker: the worker lcore loop, the command rings from the control
 * lcore, and the grace periods after which control frees what a command
 * replaced (see dp.h, dp_internal.h).
 *
 * A worker sleeps on its legs' kernel-UDP sockets, a wake-up eventfd and
 * its media clock's timerfd, so an idle daemon costs nothing: in
 * io_uring_enter (dp_uring.c, the default) or epoll_wait (media.kernel_io
 * = epoll, or where io_uring does not work), after polling on for a budget
 * that follows the gaps between packets (bp_after; never when idle).
 * Socket events are relayed in bursts (dp_relay.c). A worker with queues on
 * ethdev ports (dp_eth.c) busy-polls instead: each turn polls its kernel
 * sockets (without waiting), serves its commands, then runs one
 * rx burst per port and flushes what it queued. The media clock's ticks
 * run at the end of a turn, one slice per turn (dp_clock.c), so a long
 * tick lets the packets that arrive meanwhile through between its slices.
 *
 * Commands. The control lcore is one thread; it never writes a leg's
 * packet-path state itself, and never spins waiting for a worker.
 *  - dp_worker_post copies a struct dp_cmd into a node control owns, numbers
 *    it (w->posted), puts the pointer on the worker's ring (rte_ring, one
 *    producer, one consumer) and wakes the worker: an eventfd write, left
 *    out while an earlier one is still pending (wake_pending).
 *  - Once per turn, as soon as epoll_wait returns and before any packet of
 *    the turn, the worker applies every command on its ring
 *    (dp_relay_apply) and publishes `done`, the number of the last one.
 *    There no packet of this worker refers to a leg: it is the worker's
 *    quiescent point. A command that detaches a leg takes its sockets out
 *    of the epoll set there; when commands ran, the turn's events are
 *    fetched again, so no event handled afterwards names a detached leg.
 *  - At the end of every turn the worker reports a quiescent state on the
 *    RCU variable (rte_rcu_qsbr_quiescent, thread id = its lcore) and then
 *    publishes qdone = done. Asleep in epoll it is offline
 *    (rte_rcu_qsbr_thread_offline/online around the wait), so a sleeping
 *    worker holds up no grace period. What an event of that wait points to
 *    is a leg still attached to this worker (see above), which is freed
 *    only after its DETACH was applied (below).
 *  - A node with a retire function (old SRTP contexts, a destroyed leg, a
 *    removed ticker) stays on control's list until the worker applied it
 *    (done >= its number) and every worker passed a quiescent state since
 *    it was posted (rte_rcu_qsbr_check on the token taken then, without
 *    waiting): dp_workers_reclaim runs it then, from control's periodic
 *    timer, after each post, and at shutdown. Nodes without one are freed
 *    as soon as they are applied.
 *  - A caller that needs the worker's answer, or frees memory the worker
 *    used as soon as it returns, uses dp_worker_exec: it waits for qdone in
 *    poll(2) on an eventfd (ackfd) that the worker writes when it publishes
 *    what control asked for (ack_want). It blocks; it does not spin.
 * With no worker running (unit tests, shutdown) commands run at once on
 * the caller's thread.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_pause.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dp_eth.h"
#include "dp_internal.h"

extern uint32_t dp_media_mbufs, dp_busy_poll_us, dp_kernel_endpoints; /* dp_leg.c */
extern int dp_kernel_io;                                              /* dp_leg.c */

#define DP_CMD_RING 4096  /* commands in flight per worker */
#define DP_CMD_BURST 64   /* commands dequeued at once */

static struct dp_worker g_workers[RTE_MAX_LCORE];
static struct dp_worker *g_list[RTE_MAX_LCORE];
static unsigned g_count;
static struct rte_rcu_qsbr *g_qsbr;
/* Posted nodes not freed yet, oldest first (control lcore). */
static struct dp_cmd *g_head, *g_tail;

struct dp_worker *dp_worker_get(unsigned index) { return index < g_count ? g_list[index] : NULL; }
unsigned dp_worker_count(void) { return g_count; }

struct rte_rcu_qsbr *dp_worker_qsbr(void)
{
	size_t sz;

	if (g_qsbr)
		return g_qsbr;
	sz = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
	g_qsbr = rte_zmalloc("dp_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (g_qsbr && rte_rcu_qsbr_init(g_qsbr, RTE_MAX_LCORE)) {
		rte_free(g_qsbr);
		g_qsbr = NULL;
	}
	return g_qsbr;
}

/* ---- worker side ---- */

/* Apply every command on the ring now (what control posts meanwhile waits
 * for the next turn, so this ends: at most DP_CMD_RING). All of them, not
 * a share per turn: a command posted before a packet arrived must apply
 * before that packet. Returns how many. */
static unsigned serve_commands(struct dp_worker *w)
{
	unsigned todo = rte_ring_count(w->cmds), total = 0;

	while (total < todo) {
		struct dp_cmd *c[DP_CMD_BURST];
		unsigned n = rte_ring_sc_dequeue_burst(w->cmds, (void **)c, RTE_MIN(todo - total, (unsigned)DP_CMD_BURST),
						       NULL);

		if (n == 0)
			break;
		for (unsigned i = 0; i < n; i++)
			dp_relay_apply(w, c[i]);
		/* the nodes are control's again once this is seen: read nothing after */
		atomic_store_explicit(&w->done, c[n - 1]->seq, memory_order_release);
		total += n;
	}
	return total;
}

unsigned dp_worker_serve(struct dp_worker *w)
{
	return rte_ring_empty(w->cmds) ? 0 : serve_commands(w);
}

/* The wake-up eventfd fired: take the wake-up, before the ring is served.
 * The count first, then the flag: a post before the flag is cleared finds
 * it set and writes nothing, and its command is on the ring (the exchange
 * reads that post's write); a post after it writes the eventfd again. The
 * other order could swallow that later write and leave the flag set. */
static void take_wake(struct dp_worker *w)
{
	uint64_t v;

	if (read(w->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		DP_LOG_RL(DP_LOG_WARNING, "dp", "lcore %u: reading its wake-up eventfd: %s", w->lcore, strerror(errno));
	atomic_exchange_explicit(&w->wake_pending, false, memory_order_acq_rel);
}

/* The end of a turn: no reference to a leg, a ticker or a flow entry is
 * held any more. Report it, then publish qdone and answer a waiting
 * control lcore. */
static void quiescent(struct dp_worker *w)
{
	uint64_t d = atomic_load_explicit(&w->done, memory_order_relaxed), want, one = 1;

	rte_rcu_qsbr_quiescent(g_qsbr, w->lcore);
	if (d == w->qdone_seen)
		return; /* control saw this qdone before it last asked, or will see it now */
	w->qdone_seen = d;
	atomic_store_explicit(&w->qdone, d, memory_order_seq_cst);
	want = atomic_load_explicit(&w->ack_want, memory_order_seq_cst);
	if (want && want <= d && atomic_compare_exchange_strong(&w->ack_want, &want, 0)) {
		ssize_t r = write(w->ackfd, &one, sizeof(one)); /* an eventfd this far below its maximum takes it */

		(void)r;
	}
}

/* Adaptive busy polling. A sleep and its wake-up cost the worker (and
 * whoever wakes it) far more than a short poll, so after a turn that
 * received packets the worker polls on for bp_tsc cycles before it sleeps.
 * bp_tsc follows the traffic: when packets came (gap: since the last turn
 * that received any) within the maximum (media.busy_poll_us), polling that
 * long would have caught them, so it becomes twice the gap (at most the
 * maximum); a longer gap halves it. So it is 0 on an idle worker or one
 * with a few calls (packets 20 ms apart), and polls only under load.
 * Called after a turn's receive; got: packets it received, t: when its
 * wait returned. */
static void bp_after(struct dp_worker *w, unsigned got, uint64_t t)
{
	uint64_t now;

	if (!got || !w->bp_max_tsc)
		return;
	if (w->bp_idle_tsc) {
		uint64_t gap = t - w->bp_idle_tsc;

		if (gap <= w->bp_max_tsc)
			w->bp_tsc = RTE_MIN(w->bp_max_tsc, RTE_MAX(w->bp_tsc, 2 * gap));
		else
			w->bp_tsc /= 2;
		if (w->bp_tsc < w->tsc_hz / 1000000u)
			w->bp_tsc = 0; /* under a microsecond: not worth it */
	}
	now = rte_rdtsc();
	w->bp_idle_tsc = now;
	w->bp_until = w->bp_tsc ? now + w->bp_tsc : 0;
}

/* May the worker sleep now? Not with commands or a tick slice waiting, nor
 * on a polling (ethdev) worker. */
static bool may_sleep(struct dp_worker *w)
{
	return w->eth == NULL && rte_ring_empty(w->cmds) && !w->clk.more;
}

/* One loop turn on epoll (the fallback backend). */
static bool turn_epoll(struct dp_worker *w)
{
	struct epoll_event ev[64];
	bool sleep = may_sleep(w), tick = false;
	uint64_t t, rx0 = w->stats.rx_packets;
	unsigned polled = 0;
	int n = 0;

	if (sleep && w->bp_until) { /* busy polling: epoll_wait without a timeout until the budget ends */
		while ((n = epoll_wait(w->epfd, ev, 64, 0)) == 0 && rte_rdtsc() < w->bp_until && rte_ring_empty(w->cmds))
			rte_pause();
		sleep = n == 0 && rte_ring_empty(w->cmds);
		w->bp_until = 0;
	}
	if (n == 0) {
		if (sleep)
			rte_rcu_qsbr_thread_offline(g_qsbr, w->lcore);
		n = epoll_wait(w->epfd, ev, 64, sleep ? -1 : 0);
		if (sleep)
			rte_rcu_qsbr_thread_online(g_qsbr, w->lcore);
	}
	t = rte_rdtsc();
	for (int i = 0; i < n; i++)
		if (ev[i].data.ptr == NULL)
			take_wake(w);
	/* The quiescent point: no packet of this worker refers to a leg.
	 * Commands go first, so one posted before a packet arrived applies
	 * to that packet. Events fetched before them may name a leg a
	 * command just detached: fetch them again (level-triggered, so
	 * what is still ready comes back; a detached leg's sockets do not). */
	if (!rte_ring_empty(w->cmds) && serve_commands(w) && n > 0)
		n = epoll_wait(w->epfd, ev, 64, 0);
	for (int i = 0; i < n; i++) {
		if (ev[i].data.ptr == NULL) {
			take_wake(w); /* what it announces is served next turn */
		} else if (ev[i].data.ptr == &w->clk) {
			uint64_t v; /* the expiry count: dp_clock_run reads the clock itself */

			tick = true;
			if (read(w->clk.tfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				break;
		} else {
			dp_relay_socket(w, ev[i].data.ptr);
		}
	}
	bp_after(w, (unsigned)(w->stats.rx_packets - rx0), t);
	if (w->eth)
		polled = dp_eth_poll(w); /* keeps no dp_sock across calls: see dp_eth.c */
	/* one slice of the tick (dp_clock.c): the rest after the next turn's packets */
	if (tick || w->clk.more || (w->eth && w->clk.list && rte_rdtsc() >= w->clk.next_tsc)) {
		dp_clock_run(w);
		tick = true;
	}
	return polled || n > 0 || tick;
}

/* One loop turn on io_uring (dp_uring.c): one io_uring_enter submits the
 * last turn's sends and re-arms and collects (or waits for) completions;
 * commands; then the packets received, in bursts per socket. */
static bool turn_uring(struct dp_worker *w)
{
	bool sleep = may_sleep(w), tick = false;
	unsigned f, got, polled = 0;
	uint64_t t;

	if (sleep && w->bp_until) { /* busy polling: look at the rings (no system call) until the budget ends */
		while (!dp_uring_ready(w) && rte_rdtsc() < w->bp_until && rte_ring_empty(w->cmds))
			rte_pause();
		sleep = !dp_uring_ready(w) && rte_ring_empty(w->cmds);
		w->bp_until = 0;
	}
	if (sleep)
		rte_rcu_qsbr_thread_offline(g_qsbr, w->lcore);
	f = dp_uring_wait(w, sleep);
	if (sleep)
		rte_rcu_qsbr_thread_online(g_qsbr, w->lcore);
	t = rte_rdtsc();
	if (f & DP_URING_WAKE)
		take_wake(w);
	/* The quiescent point, as on epoll. A DETACH relays what its socket
	 * already received and lets go of it; completions collected later
	 * for it find its slot dead. */
	if (!rte_ring_empty(w->cmds) && serve_commands(w)) {
		unsigned more = dp_uring_take_flags(w); /* collected by a DETACH */

		if (more & DP_URING_WAKE)
			take_wake(w); /* what it announces is served next turn */
		f |= more;
	}
	if (f & DP_URING_TICK) {
		uint64_t v; /* the expiry count: dp_clock_run reads the clock itself */
		ssize_t r = read(w->clk.tfd, &v, sizeof(v));

		(void)r;
		tick = true;
	}
	got = dp_uring_rx(w);
	bp_after(w, got, t);
	if (w->eth)
		polled = dp_eth_poll(w);
	if (tick || w->clk.more || (w->eth && w->clk.list && rte_rdtsc() >= w->clk.next_tsc)) {
		dp_clock_run(w);
		tick = true;
	}
	return polled || got || f || tick;
}

/* A polling worker's load (one TSC read a turn): a turn over 1 ms was
 * preempted (a tick slice is ~250 us) and is left out, or a shared core's
 * preemptions, which land mostly in turns that make syscalls, would count
 * as work. */
static void poll_account(struct dp_worker *w, bool busy, uint64_t *turn_tsc)
{
	uint64_t t = rte_rdtsc(), d = t - *turn_tsc;

	if (d > w->tsc_hz / 1000) {
		w->poll_long_turns++;
	} else {
		w->poll_tsc += d;
		if (busy)
			w->poll_busy_tsc += d;
	}
	*turn_tsc = t;
}

static int worker_main(void *arg)
{
	struct dp_worker *w = arg;
	uint64_t turn_tsc;

	w->tsc_hz = rte_get_tsc_hz();
	w->bp_max_tsc = (uint64_t)dp_busy_poll_us * w->tsc_hz / 1000000u;
	w->bp_tsc = w->bp_until = w->bp_idle_tsc = 0;
	dp_srtp_thread_prepare(); /* the SRTP engines' per-thread state, now rather than on a packet */
	rte_rcu_qsbr_thread_register(g_qsbr, w->lcore);
	rte_rcu_qsbr_thread_online(g_qsbr, w->lcore);
	if (w->ur && dp_uring_enable(w)) /* the ring's submitter is this thread from now on */
		DP_LOG_RL(DP_LOG_ERR, "dp", "lcore %u: cannot enable its io_uring: using epoll", w->lcore);
	turn_tsc = rte_rdtsc();
	while (!atomic_load_explicit(&w->stop, memory_order_acquire)) {
		bool busy = w->use_uring ? turn_uring(w) : turn_epoll(w);

		quiescent(w);
		if (w->eth)
			poll_account(w, busy, &turn_tsc);
	}
	while (serve_commands(w))
		;
	dp_uring_stop(w); /* every request ends; what is in flight is dropped */
	quiescent(w);
	rte_rcu_qsbr_thread_offline(g_qsbr, w->lcore);
	rte_rcu_qsbr_thread_unregister(g_qsbr, w->lcore);
	atomic_store_explicit(&w->exited, true, memory_order_release);
	return 0;
}

/* ---- control side ---- */

static void wake(struct dp_worker *w)
{
	uint64_t one = 1;

	if (atomic_exchange_explicit(&w->wake_pending, true, memory_order_acq_rel))
		return; /* the worker has not taken the last wake-up yet: it will see this command */
	if (write(w->wakefd, &one, sizeof(one)) < 0)
		dp_log(DP_LOG_WARNING, "dp", "cannot wake lcore %u: %s", w->lcore, strerror(errno));
}

/* Block until w's qdone reaches seq: in poll(2) on ackfd, which the worker
 * writes when it publishes a qdone >= ack_want. */
static void wait_qdone(struct dp_worker *w, uint64_t seq)
{
	struct pollfd p = { .fd = w->ackfd, .events = POLLIN };
	unsigned waited_s = 0;

	for (;;) {
		uint64_t v;
		int r;

		atomic_store_explicit(&w->ack_want, seq, memory_order_seq_cst);
		if (atomic_load_explicit(&w->qdone, memory_order_seq_cst) >= seq)
			break;
		r = poll(&p, 1, 1000);
		if (r == 0) {
			/* a worker answers within one turn; waiting longer means it is stuck */
			DP_LOG_RL(DP_LOG_WARNING, "dp", "lcore %u has not applied a command for %u s", w->lcore,
				  ++waited_s);
		} else if (r > 0) {
			if (read(w->ackfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				dp_log(DP_LOG_WARNING, "dp", "lcore %u: %s", w->lcore, strerror(errno));
		} else if (errno != EINTR) {
			struct timespec ms = { 0, 1000000 };

			nanosleep(&ms, NULL); /* cannot happen; do not spin if it does */
		}
	}
	atomic_store_explicit(&w->ack_want, 0, memory_order_relaxed);
}

/* Number c and hand it to w (or apply it here when w does not run). */
static void submit(struct dp_worker *w, struct dp_cmd *c)
{
	c->w = w;
	c->seq = ++w->posted;
	if (!w->launched) { /* no thread to race with */
		dp_relay_apply(w, c);
		atomic_store_explicit(&w->done, c->seq, memory_order_relaxed);
		atomic_store_explicit(&w->qdone, c->seq, memory_order_relaxed);
		return;
	}
	while (rte_ring_sp_enqueue(w->cmds, c) != 0) /* full: w is DP_CMD_RING commands behind */
		wait_qdone(w, c->seq - DP_CMD_RING / 2);
	wake(w);
}

/* Keep node c until dp_workers_reclaim may free it. */
static void track(struct dp_cmd *c)
{
	c->next = NULL;
	c->token = c->retire && g_qsbr ? rte_rcu_qsbr_start(g_qsbr) : 0;
	c->posted_tsc = rte_rdtsc();
	if (g_tail)
		g_tail->next = c;
	else
		g_head = c;
	g_tail = c;
}

int dp_worker_exec(struct dp_worker *w, struct dp_cmd *cmd)
{
	struct dp_cmd *c;

	submit(w, cmd);
	if (w->launched)
		wait_qdone(w, cmd->seq); /* after this the worker no longer reads cmd */
	if (cmd->retire) {
		c = malloc(sizeof(*c));
		if (c) {
			*c = *cmd;
			track(c);
		} else { /* no memory to defer it: wait for the grace period here */
			dp_workers_synchronize();
			cmd->retire(cmd);
		}
	}
	dp_workers_reclaim();
	return cmd->result;
}

void dp_worker_post(struct dp_worker *w, struct dp_cmd *cmd)
{
	struct dp_cmd *c = malloc(sizeof(*c));

	if (!c) {
		dp_worker_exec(w, cmd);
		return;
	}
	*c = *cmd;
	submit(w, c);
	track(c);
	dp_workers_reclaim();
}

void dp_worker_flush(struct dp_worker *w)
{
	if (w->launched)
		wait_qdone(w, w->posted);
}

void dp_workers_synchronize(void)
{
	for (unsigned i = 0; i < g_count; i++) {
		struct dp_cmd none = { .op = DP_CMD_NONE };

		if (!g_list[i]->launched)
			continue;
		submit(g_list[i], &none);
		/* the worker took the node after every token started so far, so
		 * the quiescent state it reports at the end of that turn acks them */
		wait_qdone(g_list[i], none.seq);
	}
}

int dp_workers_alive(uint64_t max_age_ms, unsigned *lcore)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	for (unsigned i = 0; i < g_count; i++) {
		struct dp_worker *w = g_list[i];

		if (!w->launched)
			continue;
		if (!w->hb_seq || atomic_load_explicit(&w->done, memory_order_acquire) >= w->hb_seq) {
			struct dp_cmd probe = { .op = DP_CMD_NONE };

			dp_worker_post(w, &probe);
			w->hb_seq = w->posted;
			w->hb_ms = now;
		} else if (now - w->hb_ms > max_age_ms) {
			if (lcore)
				*lcore = w->lcore;
			return -ETIMEDOUT;
		}
	}
	return 0;
}

void dp_workers_reclaim(void)
{
	static bool busy; /* a retire function may post commands: no re-entry */
	struct dp_cmd *c;

	if (busy)
		return;
	busy = true;
	while ((c = g_head)) {
		if (atomic_load_explicit(&c->w->done, memory_order_acquire) < c->seq) {
			if (rte_rdtsc() - c->posted_tsc > rte_get_tsc_hz() * 2) /* w->tsc_hz is the worker's own */
				DP_LOG_RL(DP_LOG_WARNING, "dp", "lcore %u has not applied a command posted 2 s ago",
					  c->w->lcore);
			break;
		}
		if (c->retire && g_qsbr && !rte_rcu_qsbr_check(g_qsbr, c->token, false))
			break;
		g_head = c->next;
		if (!g_head)
			g_tail = NULL;
		if (c->retire)
			c->retire(c);
		free(c);
	}
	busy = false;
}

static void worker_close(struct dp_worker *w)
{
	dp_uring_destroy(w);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->wakefd >= 0)
		close(w->wakefd);
	if (w->ackfd >= 0)
		close(w->ackfd);
	if (w->clk.tfd >= 0)
		close(w->clk.tfd);
	w->epfd = w->wakefd = w->ackfd = w->clk.tfd = -1;
	rte_ring_free(w->cmds);
	w->cmds = NULL;
}

int dp_workers_start(void)
{
	unsigned lcore;
	int started = 0, rc;

	if (!dp_worker_qsbr()) {
		dp_log(DP_LOG_ERR, "dp", "no memory for the workers' RCU variable");
		return -ENOMEM;
	}
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct dp_worker *w = &g_workers[lcore];
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
		struct epoll_event tev = { .events = EPOLLIN, .data.ptr = &w->clk };
		int socket = (int)rte_lcore_to_socket_id(lcore);
		char name[32];

		w->lcore = lcore;
		w->tsc_hz = rte_get_tsc_hz();
		w->tsc_per_ns_q32 = (uint64_t)(((unsigned __int128)w->tsc_hz << 32) / 1000000000u);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		w->ackfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		atomic_store(&w->wake_pending, false);
		atomic_store(&w->ack_want, 0);
		snprintf(name, sizeof(name), "dp_cmd_w%u", lcore);
		w->cmds = rte_ring_create(name, DP_CMD_RING, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "mbuf_w%u", lcore);
		if (!w->pool)
			w->pool = dp_mbuf_pool_create(name, dp_media_mbufs, socket, dp_eth_has_af_xdp());
		if (w->epfd < 0 || w->wakefd < 0 || w->ackfd < 0 || !w->pool || !w->cmds || dp_clock_init(w) ||
		    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev) < 0 ||
		    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->clk.tfd, &tev) < 0) {
			bool mem = !w->pool || !w->cmds;

			rc = mem ? -ENOMEM : -errno;
			dp_log(DP_LOG_ERR, "dp", "lcore %u: cannot set up the worker: %s", lcore,
			       mem ? "no memory for its mbuf pool or command ring" : strerror(errno));
			worker_close(w);
			dp_workers_stop();
			return rc;
		}
		atomic_store(&w->stop, false);
		g_list[g_count++] = w;
	}
	/* the kernel-UDP backend: io_uring unless told otherwise and where it works */
	for (unsigned i = 0; i < g_count && dp_kernel_io != DP_KIO_EPOLL; i++) {
		struct dp_worker *w = g_list[i];

		rc = dp_uring_create(w, dp_kernel_endpoints + 1024); /* + room for sockets moving away */
		if (rc && dp_kernel_io == DP_KIO_URING) {
			dp_log(DP_LOG_ERR, "dp", "lcore %u: media.kernel_io = uring, but io_uring does not work here: %s",
			       w->lcore, strerror(-rc));
			for (unsigned j = 0; j < g_count; j++)
				worker_close(g_list[j]);
			g_count = 0;
			return rc;
		}
		if (rc) {
			dp_log(DP_LOG_NOTICE, "dp", "kernel UDP: io_uring does not work here (%s): epoll", strerror(-rc));
			for (unsigned j = 0; j < i; j++)
				dp_uring_destroy(g_list[j]);
			break;
		}
	}
	if (g_count)
		dp_log(DP_LOG_INFO, "dp", "kernel UDP: %s, busy polling up to %u us",
		       g_list[0]->ur ? "io_uring" : "epoll", dp_busy_poll_us);
	/* ethdev ports: one queue pair per worker, rx into its pool */
	rc = dp_eth_start(g_list, g_count);
	for (unsigned i = 0; i < g_count && !rc; i++) {
		struct dp_worker *w = g_list[i];

		atomic_store_explicit(&w->exited, false, memory_order_relaxed);
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
		rte_eal_wait_lcore(w->lcore); /* it applied every command left on its ring */
		while (!atomic_load_explicit(&w->exited, memory_order_acquire)) /* true by now */
			rte_pause();
		w->launched = false; /* commands now run inline, on the control lcore */
	}
	dp_workers_reclaim(); /* no worker is online any more: everything goes */
}

/* Called by dp_media_stop once no leg is left (and after dp_eth_stop, whose
 * flow table used the RCU variable). */
void dp_workers_release(void)
{
	dp_workers_reclaim();
	if (g_head)
		dp_log(DP_LOG_ERR, "dp", "commands of running workers are still pending at release");
	for (unsigned i = 0; i < g_count; i++) {
		worker_close(g_list[i]);
		rte_mempool_free(g_list[i]->pool);
		g_list[i]->pool = NULL;
	}
	g_count = 0;
	if (!g_head) {
		rte_free(g_qsbr);
		g_qsbr = NULL;
	}
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
		out->poll_long_turns += g_list[i]->poll_long_turns;
		if (g_list[i]->tsc_hz) {
			out->poll_ns += (uint64_t)((unsigned __int128)g_list[i]->poll_tsc * 1000000000u / g_list[i]->tsc_hz);
			out->poll_busy_ns +=
				(uint64_t)((unsigned __int128)g_list[i]->poll_busy_tsc * 1000000000u / g_list[i]->tsc_hz);
		}
		if (lcore >= 0)
			return 0;
	}
	return lcore >= 0 ? -ENOENT : 0;
}
