/* SPDX-License-Identifier: MIT
 * dp_uring: the io_uring backend of the kernel-UDP port (media.kernel_io;
 * epoll and recvmmsg/sendmmsg, dp_relay_socket and dp_tx_flush, are the
 * other). One ring per worker, created by the control lcore disabled and
 * enabled by the worker, which is then its only submitter
 * (IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN: completions are run only
 * when the worker enters the kernel, never by an interrupt).
 *
 * Receive. Every leg socket of the worker has one multishot recvmsg
 * (IORING_RECV_MULTISHOT) that takes its buffers from one provided-buffer
 * ring of the worker. The buffers are mbuf data areas: the kernel writes
 * struct io_uring_recvmsg_out, the source address (UR_NAMELEN bytes), room
 * for one control message (the SO_TIMESTAMPNS stamp a hooked leg's socket
 * gives, UR_CTRLLEN) and then the datagram, which so lands at the mbuf's
 * usual data offset (RTE_PKTMBUF_HEADROOM): no copy. A consumed buffer's id
 * gets a fresh mbuf before the next wait.
 *
 * Sockets are named in completions by a slot of the worker's socket table
 * and that slot's generation (user_data), never by a pointer: DP_CMD_ATTACH
 * takes a slot and arms the request; DP_CMD_DETACH cancels it, relays what
 * the socket already received (so a move loses nothing: the rest stays in
 * the socket for the new worker), and lets go of the dp_sock at once. The
 * slot itself is reused only after its request's last completion (no
 * IORING_CQE_F_MORE) came, so a late completion finds a dead slot and only
 * gives its buffer back. A request that ends while its socket is attached
 * (no buffer left: -ENOBUFS, a full completion queue) is armed again after
 * the buffers were refilled.
 *
 * Send. dp_tx_flush hands a batch here: one IORING_OP_SENDMSG per packet,
 * with MSG_DONTWAIT (a full socket buffer fails at once, as sendmmsg does),
 * queued in the submission ring, and submitted for every socket at once by
 * the next dp_uring_wait: one io_uring_enter per loop turn submits and
 * waits. A packet's mbuf, message header and address live in a send slot
 * until its completion; failures are counted there (on the leg when its
 * socket is still attached: slot generation again).
 *
 * Wake-ups. The command ring's eventfd and the media clock's timerfd each
 * have a multishot IORING_OP_POLL_ADD; the worker reads them as before.
 */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dp_internal.h"

#define UR_SQ 1024          /* submission entries */
#define UR_CQ 8192          /* completion entries */
#define UR_BGID 1           /* the provided-buffer group */
#define UR_MAX_BUFS 1024    /* receive buffers (mbufs) per worker, at most */
#define UR_TX 2048          /* sends in flight per worker */
#define UR_EV 2048          /* receive completions collected per turn */
#define UR_NAMELEN 32       /* a sockaddr_in6, rounded up: the control message stays aligned */
#define UR_CTRLLEN CMSG_SPACE(sizeof(struct timespec))
#define UR_HDR (sizeof(struct io_uring_recvmsg_out) + UR_NAMELEN + UR_CTRLLEN)
#define UR_BUF_OFF (RTE_PKTMBUF_HEADROOM - UR_HDR) /* where a buffer starts in the mbuf's data room */

_Static_assert(RTE_PKTMBUF_HEADROOM >= UR_HDR, "the recvmsg header must fit the mbuf headroom");
_Static_assert(UR_HDR % 8 == 0, "the datagram must land aligned");

/* user_data: kind (8 bits) | generation (24) | index (32) */
enum { UR_RX = 1, UR_TXD, UR_WAKE, UR_TICK, UR_CANCEL, UR_DONE };
static inline uint64_t ud_make(unsigned kind, uint32_t gen, uint32_t idx)
{
	return (uint64_t)kind << 56 | (uint64_t)(gen & 0xffffffu) << 32 | idx;
}
static inline unsigned ud_kind(uint64_t u) { return (unsigned)(u >> 56); }
static inline uint32_t ud_gen(uint64_t u) { return (uint32_t)(u >> 32) & 0xffffffu; }
static inline uint32_t ud_idx(uint64_t u) { return (uint32_t)u; }

struct ur_slot {
	struct dp_sock *s;  /* NULL: detached */
	uint32_t gen;
	bool armed;         /* its multishot recvmsg is in the ring (a last completion is to come) */
	bool queued;        /* on the re-arm list */
};

struct ur_tx {
	struct rte_mbuf *m;
	int32_t sock;       /* the sending socket's slot, or -1 */
	uint32_t gen;
	uint32_t len;
	struct msghdr msg;
	struct iovec iov;
	struct sockaddr_in6 sa; /* holds a sockaddr_in too */
};

struct ur_ev {
	uint64_t ud;
	int32_t res;
	uint32_t flags;
};

struct dp_uring {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	size_t br_bytes;
	unsigned nbufs, br_add;      /* buffers; added since the last advance */
	struct rte_mbuf **bufs;      /* by buffer id; NULL: consumed, to refill */
	uint16_t *empty;             /* consumed buffer ids */
	unsigned n_empty;
	struct ur_slot *slots;
	uint32_t nslots, n_free, n_rearm;
	uint32_t *free_slots, *rearm;
	struct ur_tx *tx;
	uint32_t *free_tx, n_free_tx;
	struct ur_ev ev[UR_EV];
	unsigned nev;
	unsigned sq_sends;           /* sends queued and not submitted yet (each completes once) */
	unsigned flags;              /* DP_URING_WAKE/TICK seen, not taken yet */
	bool wake_armed, tick_armed, ring_up; /* ring_up: io_uring_queue_init done, exit not yet */
	struct msghdr rmsg;          /* the shape of every multishot recvmsg */
};

/* ---- buffers ---- */

static inline void *buf_addr(const struct rte_mbuf *m) { return (uint8_t *)m->buf_addr + UR_BUF_OFF; }
static inline unsigned buf_len(const struct rte_mbuf *m)
{
	return m->buf_len - UR_BUF_OFF - DP_SRTP_MAX_RTCP_TRAILER; /* room for an SRTP trailer when re-encrypting */
}

/* Give buffer bid (its mbuf untouched) back to the kernel (seen at the next advance). */
static inline void buf_put(struct dp_uring *ur, uint16_t bid)
{
	struct rte_mbuf *m = ur->bufs[bid];

	io_uring_buf_ring_add(ur->br, buf_addr(m), buf_len(m), bid, (int)(ur->nbufs - 1), (int)ur->br_add++);
}

/* New mbufs for the consumed buffer ids, then publish every buffer added. */
static void buf_refill(struct dp_worker *w, struct dp_uring *ur)
{
	while (ur->n_empty) {
		struct rte_mbuf *m[64];
		unsigned n = RTE_MIN(ur->n_empty, 64u);

		while (n && rte_pktmbuf_alloc_bulk(w->pool, m, n) != 0)
			n /= 2;
		if (!n) {
			w->stats.drops[DP_DROP_RX_NO_MBUF]++; /* the sockets keep their packets meanwhile */
			break;
		}
		for (unsigned i = 0; i < n; i++) {
			uint16_t bid = ur->empty[--ur->n_empty];

			ur->bufs[bid] = m[i];
			buf_put(ur, bid);
		}
	}
	if (ur->br_add) {
		io_uring_buf_ring_advance(ur->br, (int)ur->br_add);
		ur->br_add = 0;
	}
}

/* ---- submission ---- */

static struct io_uring_sqe *sqe_get(struct dp_uring *ur)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ur->ring);

	if (!sqe) { /* full: submit what is there (its sends complete into the CQ) */
		io_uring_submit(&ur->ring);
		ur->sq_sends = 0;
		sqe = io_uring_get_sqe(&ur->ring);
	}
	return sqe;
}

static void arm(struct dp_uring *ur, uint32_t idx)
{
	struct ur_slot *sl = &ur->slots[idx];
	struct io_uring_sqe *sqe;

	if (!sl->s || sl->armed)
		return;
	sqe = sqe_get(ur);
	if (!sqe) { /* cannot happen right after a submit; try again next turn */
		if (!sl->queued && ur->n_rearm < ur->nslots) {
			sl->queued = true;
			ur->rearm[ur->n_rearm++] = idx;
		}
		return;
	}
	io_uring_prep_recvmsg_multishot(sqe, sl->s->fd, &ur->rmsg, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = UR_BGID;
	io_uring_sqe_set_data64(sqe, ud_make(UR_RX, sl->gen, idx));
	sl->armed = true;
}

static void arm_poll(struct dp_uring *ur, int fd, unsigned kind, bool *armed)
{
	struct io_uring_sqe *sqe;

	if (*armed || fd < 0 || !(sqe = sqe_get(ur)))
		return;
	io_uring_prep_poll_multishot(sqe, fd, POLLIN);
	io_uring_sqe_set_data64(sqe, ud_make(kind, 0, 0));
	*armed = true;
}

static void slot_free(struct dp_uring *ur, uint32_t idx)
{
	ur->slots[idx].s = NULL;
	ur->free_slots[ur->n_free++] = idx;
}

/* ---- completions ---- */

/* A send completed: free its mbuf, count it. */
static void tx_done(struct dp_worker *w, struct dp_uring *ur, uint32_t idx, int res)
{
	struct ur_tx *t = &ur->tx[idx];

	if (res >= 0) {
		w->stats.tx_packets++;
		w->stats.tx_bytes += t->len;
	} else {
		struct ur_slot *sl = t->sock >= 0 ? &ur->slots[t->sock] : NULL;
		struct dp_leg *l = sl && sl->s && sl->gen == t->gen ? sl->s->leg : NULL;

		/* as dp_tx_flush: a full socket buffer, or no route, unreachable */
		dp_drop_count(w, l, res == -EAGAIN || res == -ENOBUFS ? DP_DROP_TX_FULL : DP_DROP_TX_ERROR);
		if (l && l->stats.out_packets) { /* counted as sent when it was queued */
			l->stats.out_packets--;
			l->stats.out_bytes -= t->len;
		}
	}
	rte_pktmbuf_free(t->m);
	t->m = NULL;
	ur->free_tx[ur->n_free_tx++] = idx;
}

/* Take what the completion ring holds: sends and wake-ups at once, receive
 * completions into ur->ev for dp_uring_rx (while there is room). */
static void reap(struct dp_worker *w, struct dp_uring *ur)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&ur->ring, head, cqe) {
		uint64_t u = cqe->user_data;

		switch (ud_kind(u)) {
		case UR_RX:
			if (ur->nev == UR_EV)
				goto full;
			ur->ev[ur->nev++] = (struct ur_ev){ u, cqe->res, cqe->flags };
			break;
		case UR_TXD:
			tx_done(w, ur, ud_idx(u), cqe->res);
			break;
		case UR_WAKE:
		case UR_TICK:
			ur->flags |= ud_kind(u) == UR_WAKE ? DP_URING_WAKE : DP_URING_TICK;
			if (!(cqe->flags & IORING_CQE_F_MORE))
				*(ud_kind(u) == UR_WAKE ? &ur->wake_armed : &ur->tick_armed) = false;
			break;
		default: /* a cancel's own completion */
			break;
		}
		n++;
	}
full:
	io_uring_cq_advance(&ur->ring, n);
}

/* One receive completion of a detached (or reused) slot: give the buffer
 * back; the last one frees the slot. */
static void rx_dead(struct dp_uring *ur, const struct ur_ev *e)
{
	struct ur_slot *sl = &ur->slots[ud_idx(e->ud)];

	if (e->flags & IORING_CQE_F_BUFFER)
		buf_put(ur, (uint16_t)(e->flags >> IORING_CQE_BUFFER_SHIFT));
	if (!(e->flags & IORING_CQE_F_MORE) && sl->gen == ud_gen(e->ud) && sl->armed) {
		sl->armed = false;
		if (!sl->s)
			slot_free(ur, ud_idx(e->ud));
	}
}

/* Packets of one socket, relayed together (dp_relay_burst). */
struct ur_run {
	struct dp_sock *s;
	uint16_t k;
	bool have_pair;
	uint64_t pair_tsc, pair_rt;
	struct rte_mbuf *m[DP_BURST];
	uint64_t arrival[DP_BURST];
};

static void run_flush(struct dp_worker *w, struct ur_run *r)
{
	if (r->k)
		dp_relay_burst(w, r->s, r->m, r->k, r->s->stamped ? r->arrival : NULL);
	r->k = 0;
}

/* The kernel's receive time of the datagram in o, as a TSC (see
 * dp_relay.c's rx_time); the run's read time without one. */
static uint64_t rx_stamp(const struct dp_worker *w, struct ur_run *r, struct io_uring_recvmsg_out *o)
{
	uint8_t *c = (uint8_t *)(o + 1) + UR_NAMELEN, *end = c + RTE_MIN(o->controllen, (uint32_t)UR_CTRLLEN);

	if (!r->have_pair) { /* one clock pair per turn maps the kernel's times to the TSC */
		r->pair_rt = dp_clock_pair(w, &r->pair_tsc);
		r->have_pair = true;
	}
	while (c + sizeof(struct cmsghdr) <= end) {
		struct cmsghdr h;

		memcpy(&h, c, sizeof(h));
		if (h.cmsg_len < sizeof(h) || c + h.cmsg_len > end)
			break;
		if (h.cmsg_level == SOL_SOCKET && h.cmsg_type == SCM_TIMESTAMPNS &&
		    h.cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA((struct cmsghdr *)c), sizeof(ts));
			return dp_rt_to_tsc(w, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec, r->pair_rt,
					    r->pair_tsc, r->s->leg->hook_tsc);
		}
		c += CMSG_ALIGN(h.cmsg_len);
	}
	return r->pair_tsc;
}

/* One receive completion of a live slot: its packet joins the run (the
 * run is relayed first when it belongs to another socket or is full). A
 * request that ended is put on the re-arm list, unless `draining`
 * (DETACH). Returns 1 for a packet read, else 0. */
static unsigned rx_live(struct dp_worker *w, struct dp_uring *ur, const struct ur_ev *e, struct ur_run *r,
			bool draining)
{
	uint32_t idx = ud_idx(e->ud);
	struct ur_slot *sl = &ur->slots[idx];
	unsigned got = 0;

	if (e->flags & IORING_CQE_F_BUFFER) {
		uint16_t bid = (uint16_t)(e->flags >> IORING_CQE_BUFFER_SHIFT);
		struct rte_mbuf *m = ur->bufs[bid];
		struct io_uring_recvmsg_out *o = buf_addr(m);

		ur->bufs[bid] = NULL;
		ur->empty[ur->n_empty++] = bid;
		if (e->res >= (int)UR_HDR) {
			uint32_t len = (uint32_t)e->res - (uint32_t)UR_HDR;

			got = 1;
			w->stats.rx_packets++;
			w->stats.rx_bytes += o->payloadlen;
			if (o->flags & MSG_TRUNC) {
				dp_drop_count(w, sl->s->leg, DP_DROP_OVERSIZED);
				rte_pktmbuf_free(m);
			} else {
				if (r->k && (r->s != sl->s || r->k == DP_BURST))
					run_flush(w, r);
				r->s = sl->s;
				rte_pktmbuf_append(m, (uint16_t)len);
				dp_addr_from_sa(dp_mbuf_src(m), (const struct sockaddr_storage *)(void *)(o + 1));
				if (sl->s->stamped)
					r->arrival[r->k] = rx_stamp(w, r, o);
				r->m[r->k++] = m;
			}
		} else {
			rte_pktmbuf_free(m);
		}
	}
	if (!(e->flags & IORING_CQE_F_MORE)) {
		sl->armed = false;
		/* ended: no buffer (-ENOBUFS), a full completion ring, an error */
		if (!draining && e->res != -EINVAL && e->res != -EOPNOTSUPP && !sl->queued && ur->n_rearm < ur->nslots) {
			sl->queued = true;
			ur->rearm[ur->n_rearm++] = idx;
		} else if (e->res == -EINVAL || e->res == -EOPNOTSUPP) {
			DP_LOG_RL(DP_LOG_ERR, "dp", "lcore %u: io_uring refuses a multishot recvmsg: %s", w->lcore,
				  strerror(-e->res));
		}
	}
	return got;
}

static unsigned rx_one(struct dp_worker *w, struct dp_uring *ur, struct ur_ev *e, struct ur_run *r)
{
	struct ur_slot *sl = &ur->slots[ud_idx(e->ud)];
	unsigned got = 0;

	if (ud_kind(e->ud) != UR_RX)
		return 0; /* UR_DONE: taken by a DETACH */
	if (sl->s && sl->gen == ud_gen(e->ud))
		got = rx_live(w, ur, e, r, false);
	else
		rx_dead(ur, e);
	return got;
}

/* After a turn's receive completions: refill the buffers, then arm again
 * the requests that ended. */
static void rx_after(struct dp_worker *w, struct dp_uring *ur)
{
	uint32_t n = ur->n_rearm;

	buf_refill(w, ur);
	ur->n_rearm = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t idx = ur->rearm[i];

		ur->slots[idx].queued = false;
		arm(ur, idx);
	}
}

unsigned dp_uring_rx(struct dp_worker *w)
{
	struct dp_uring *ur = w->ur;
	struct ur_run r; /* the header only: zeroing its arrays cost a 512-byte memset a turn */
	unsigned got = 0;

	r.s = NULL;
	r.k = 0;
	r.have_pair = false;
	/* ur->nev may grow meanwhile: a send that found no free slot reaps */
	for (unsigned i = 0; i < ur->nev; i++)
		got += rx_one(w, ur, &ur->ev[i], &r);
	run_flush(w, &r);
	ur->nev = 0;
	rx_after(w, ur);
	return got;
}

/* ---- the turn ---- */

bool dp_uring_ready(const struct dp_worker *w)
{
	const struct dp_uring *ur = w->ur;

	return io_uring_cq_ready(&ur->ring) || (IO_URING_READ_ONCE(*ur->ring.sq.kflags) & IORING_SQ_TASKRUN);
}

unsigned dp_uring_wait(struct dp_worker *w, bool sleep)
{
	struct dp_uring *ur = w->ur;
	unsigned f;

	arm_poll(ur, w->wakefd, UR_WAKE, &ur->wake_armed);
	arm_poll(ur, w->clk.tfd, UR_TICK, &ur->tick_armed);
	if (sleep && !io_uring_cq_ready(&ur->ring) && !ur->nev) {
		if (ur->sq_sends) {
			/* every send completes once, at once (MSG_DONTWAIT): wait for
			 * one event past them. The timeout only guards that count. */
			struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 1000000 };
			struct io_uring_cqe *cqe;

			io_uring_submit_and_wait_timeout(&ur->ring, &cqe, ur->sq_sends + 1, &ts, NULL);
		} else {
			io_uring_submit_and_wait(&ur->ring, 1);
		}
	} else if (io_uring_sq_ready(&ur->ring) || dp_uring_ready(w)) {
		io_uring_submit_and_get_events(&ur->ring);
	}
	ur->sq_sends = 0;
	reap(w, ur);
	f = ur->flags;
	ur->flags = 0;
	return f;
}

unsigned dp_uring_take_flags(struct dp_worker *w)
{
	unsigned f = w->ur->flags;

	w->ur->flags = 0;
	return f;
}

/* ---- attach, detach ---- */

void dp_uring_attach(struct dp_worker *w, struct dp_sock *s)
{
	struct dp_uring *ur = w->ur;
	uint32_t idx;

	if (s->fd < 0 || s->uslot >= 0)
		return;
	if (!ur->n_free) {
		DP_LOG_RL(DP_LOG_ERR, "dp", "lcore %u: io_uring socket table full (%u)", w->lcore, ur->nslots);
		return;
	}
	idx = ur->free_slots[--ur->n_free];
	ur->slots[idx].s = s;
	ur->slots[idx].gen = (ur->slots[idx].gen + 1) & 0xffffffu;
	ur->slots[idx].armed = false;
	ur->slots[idx].queued = false; /* a stale re-arm list entry of its last user finds it armed */
	s->uslot = (int32_t)idx;
	arm(ur, idx);
}

void dp_uring_detach(struct dp_worker *w, struct dp_sock *s)
{
	struct dp_uring *ur = w->ur;
	struct ur_run r = { .k = 0 };
	uint32_t idx;
	struct ur_slot *sl;

	if (s->uslot < 0)
		return;
	idx = (uint32_t)s->uslot;
	sl = &ur->slots[idx];
	if (sl->armed) {
		struct io_uring_sqe *sqe = sqe_get(ur);

		if (sqe) {
			io_uring_prep_cancel64(sqe, ud_make(UR_RX, sl->gen, idx), 0);
			io_uring_sqe_set_data64(sqe, ud_make(UR_CANCEL, 0, 0));
		}
	}
	/* the cancel takes effect here; what the request received before it is
	 * collected and relayed now, in order, while the leg is still whole */
	io_uring_submit_and_get_events(&ur->ring);
	ur->sq_sends = 0;
	reap(w, ur);
	for (unsigned i = 0; i < ur->nev; i++) {
		struct ur_ev *e = &ur->ev[i];

		if (ud_kind(e->ud) != UR_RX || ud_idx(e->ud) != idx || ud_gen(e->ud) != sl->gen)
			continue;
		rx_live(w, ur, e, &r, true);
		e->ud = ud_make(UR_DONE, 0, 0);
	}
	run_flush(w, &r);
	s->uslot = -1;
	sl->s = NULL;
	if (!sl->armed)
		slot_free(ur, idx);
	/* else its last completion frees it (rx_dead) */
}

/* ---- send ---- */

void dp_uring_send(struct dp_worker *w, struct dp_tx_batch *tx)
{
	struct dp_uring *ur = w->ur;
	struct dp_sock *from = tx->from;
	int32_t sock = from->uslot;

	for (uint16_t i = 0; i < tx->n; i++) {
		struct rte_mbuf *m = tx->m[i];
		struct io_uring_sqe *sqe;
		struct ur_tx *t;
		uint32_t idx;

		if (!ur->n_free_tx) { /* all in flight: submit, and take what completed */
			io_uring_submit_and_get_events(&ur->ring);
			ur->sq_sends = 0;
			reap(w, ur);
		}
		if (!ur->n_free_tx || !(sqe = sqe_get(ur))) {
			struct dp_leg *l = from->leg;

			dp_drop_count(w, l, DP_DROP_TX_FULL);
			if (l->stats.out_packets) {
				l->stats.out_packets--;
				l->stats.out_bytes -= rte_pktmbuf_data_len(m);
			}
			rte_pktmbuf_free(m);
			continue;
		}
		idx = ur->free_tx[--ur->n_free_tx];
		t = &ur->tx[idx];
		t->m = m;
		t->sock = sock;
		t->gen = sock >= 0 ? ur->slots[sock].gen : 0;
		t->len = rte_pktmbuf_data_len(m);
		t->iov.iov_base = rte_pktmbuf_mtod(m, void *);
		t->iov.iov_len = t->len;
		t->msg.msg_name = &t->sa;
		t->msg.msg_namelen = dp_addr_to_sa(&tx->dst[i], &t->sa);
		t->msg.msg_iov = &t->iov;
		t->msg.msg_iovlen = 1;
		io_uring_prep_sendmsg(sqe, from->fd, &t->msg, MSG_DONTWAIT);
		io_uring_sqe_set_data64(sqe, ud_make(UR_TXD, 0, idx));
		ur->sq_sends++;
	}
	tx->n = 0;
}

/* ---- life ---- */

int dp_uring_create(struct dp_worker *w, unsigned max_socks)
{
	struct io_uring_params p;
	struct io_uring_buf_reg reg;
	struct dp_uring *ur;
	unsigned nbufs = UR_MAX_BUFS;
	int rc;

	while (nbufs > 64 && nbufs * 4 > w->pool->size) /* leave the pool 3/4 of its mbufs */
		nbufs /= 2;
	ur = calloc(1, sizeof(*ur));
	if (!ur)
		return -ENOMEM;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_R_DISABLED | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		  IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
	p.cq_entries = UR_CQ;
	rc = io_uring_queue_init_params(UR_SQ, &ur->ring, &p);
	if (rc) {
		free(ur);
		return rc;
	}
	ur->ring_up = true;
	ur->nbufs = nbufs;
	ur->nslots = max_socks;
	ur->br_bytes = nbufs * sizeof(struct io_uring_buf);
	ur->br = mmap(NULL, ur->br_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	ur->bufs = calloc(nbufs, sizeof(*ur->bufs));
	ur->empty = calloc(nbufs, sizeof(*ur->empty));
	ur->slots = calloc(max_socks, sizeof(*ur->slots));
	ur->free_slots = calloc(max_socks, sizeof(*ur->free_slots));
	ur->rearm = calloc(max_socks, sizeof(*ur->rearm));
	ur->tx = calloc(UR_TX, sizeof(*ur->tx));
	ur->free_tx = calloc(UR_TX, sizeof(*ur->free_tx));
	w->ur = ur;
	if (ur->br == MAP_FAILED) {
		ur->br = NULL;
		dp_uring_destroy(w);
		return -ENOMEM;
	}
	if (!ur->bufs || !ur->empty || !ur->slots || !ur->free_slots || !ur->rearm || !ur->tx || !ur->free_tx) {
		dp_uring_destroy(w);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < max_socks; i++)
		ur->free_slots[ur->n_free++] = max_socks - 1 - i;
	for (uint32_t i = 0; i < UR_TX; i++)
		ur->free_tx[ur->n_free_tx++] = UR_TX - 1 - i;
	io_uring_buf_ring_init(ur->br);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)ur->br;
	reg.ring_entries = nbufs;
	reg.bgid = UR_BGID;
	rc = io_uring_register_buf_ring(&ur->ring, &reg, 0);
	if (rc) {
		dp_uring_destroy(w);
		return rc;
	}
	for (uint16_t b = 0; b < nbufs; b++)
		ur->empty[ur->n_empty++] = b;
	buf_refill(w, ur);
	if (ur->n_empty) {
		dp_uring_destroy(w);
		return -ENOMEM;
	}
	ur->rmsg.msg_namelen = UR_NAMELEN;
	ur->rmsg.msg_controllen = UR_CTRLLEN;
	return 0;
}

int dp_uring_enable(struct dp_worker *w)
{
	/* liburing 2.3 declares io_uring_enable_rings but does not export it */
	int rc = (int)syscall(__NR_io_uring_register, w->ur->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);

	w->use_uring = rc == 0;
	return rc ? -errno : 0;
}

void dp_uring_stop(struct dp_worker *w)
{
	struct dp_uring *ur = w->ur;

	if (!ur || !ur->ring_up)
		return;
	w->use_uring = false;
	/* every request ends with the ring; its sends are done then */
	io_uring_queue_exit(&ur->ring);
	ur->ring_up = false;
	for (uint32_t i = 0; i < ur->nslots; i++)
		if (ur->slots[i].s) {
			ur->slots[i].s->uslot = -1;
			ur->slots[i].s = NULL;
		}
	for (uint32_t i = 0; i < UR_TX; i++)
		if (ur->tx[i].m) {
			rte_pktmbuf_free(ur->tx[i].m);
			ur->tx[i].m = NULL;
		}
	for (unsigned i = 0; i < ur->nev; i++) /* collected, not relayed: their buffers are in bufs[] */
		ur->ev[i].ud = 0;
	ur->nev = 0;
	for (unsigned b = 0; b < ur->nbufs; b++)
		if (ur->bufs[b]) {
			rte_pktmbuf_free(ur->bufs[b]);
			ur->bufs[b] = NULL;
		}
}

void dp_uring_destroy(struct dp_worker *w)
{
	struct dp_uring *ur = w->ur;

	if (!ur)
		return;
	if (ur->ring_up) { /* the worker never ran (or create failed half way): nothing in flight */
		io_uring_queue_exit(&ur->ring);
		ur->ring_up = false;
		for (unsigned b = 0; ur->bufs && b < ur->nbufs; b++)
			if (ur->bufs[b])
				rte_pktmbuf_free(ur->bufs[b]);
	}
	if (ur->br)
		munmap(ur->br, ur->br_bytes);
	free(ur->bufs);
	free(ur->empty);
	free(ur->slots);
	free(ur->free_slots);
	free(ur->rearm);
	free(ur->tx);
	free(ur->free_tx);
	free(ur);
	w->ur = NULL;
	w->use_uring = false;
}
