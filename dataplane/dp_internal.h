/* SPDX-License-Identifier: MIT
 * Internal to dataplane/: the leg, socket and worker structures shared by
 * dp_leg.c (control side), dp_relay.c and dp_worker.c (worker side). Not for
 * other folders.
 *
 * Ownership: fields under "control" are written by the control lcore only
 * before the leg is handed to its worker, or through a command on the worker's ring;
 * fields under "worker" are written only by the leg's worker. The control
 * lcore reads the stats without locking (64-bit counters on x86_64 are read
 * whole; a report may mix two packets' worth, which is fine).
 */
#ifndef DP_INTERNAL_H
#define DP_INTERNAL_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "dp.h"

#define DP_BURST 32

struct dp_leg;
struct dp_worker;
struct dp_shard;
struct dp_tx_batch;
struct dp_uring;

/* A compact transport address: what a packet's metadata and the packet
 * path carry instead of a 128-byte sockaddr_storage. Unused bytes are
 * zero, so equality is one compare. */
struct dp_addr {
	uint16_t family; /* AF_INET, AF_INET6; 0: none */
	uint16_t port;   /* network byte order */
	uint8_t ip[16];  /* IPv4 in the first 4 bytes */
};

static inline void dp_addr_from_sa(struct dp_addr *a, const struct sockaddr_storage *ss)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		a->family = AF_INET;
		a->port = s4->sin_port;
		memcpy(a->ip, &s4->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		a->family = AF_INET6;
		a->port = s6->sin6_port;
		memcpy(a->ip, &s6->sin6_addr, 16);
	}
}

/* Into a sockaddr (room for a sockaddr_in6); returns its length, 0 for none. */
static inline socklen_t dp_addr_to_sa(const struct dp_addr *a, void *sa)
{
	if (a->family == AF_INET) {
		struct sockaddr_in *s4 = sa;

		memset(s4, 0, sizeof(*s4));
		s4->sin_family = AF_INET;
		s4->sin_port = a->port;
		memcpy(&s4->sin_addr, a->ip, 4);
		return sizeof(*s4);
	}
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = sa;

		memset(s6, 0, sizeof(*s6));
		s6->sin6_family = AF_INET6;
		s6->sin6_port = a->port;
		memcpy(&s6->sin6_addr, a->ip, 16);
		return sizeof(*s6);
	}
	return 0;
}

/* The same address and port (never for "none"); the same IP. */
static inline bool dp_addr_eq(const struct dp_addr *a, const struct dp_addr *b)
{
	return a->family && memcmp(a, b, sizeof(*a)) == 0;
}
static inline bool dp_addr_ip_eq(const struct dp_addr *a, const struct dp_addr *b)
{
	return a->family && a->family == b->family && memcmp(a->ip, b->ip, 16) == 0;
}

/* The source address of a received packet, in the mbuf's metadata (a
 * dynamic field registered by dp_mbuf_fields_init). */
extern int dp_mbuf_src_off;
static inline struct dp_addr *dp_mbuf_src(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, dp_mbuf_src_off, struct dp_addr *);
}
/* Register the dynamic field (once; later calls return 0). Returns 0 or -errno. */
int dp_mbuf_fields_init(void);

struct dp_eth_port;
struct dp_eth_worker;

/* One local media endpoint (an RTP or RTCP port of a leg). On a kernel-UDP
 * interface it is a socket (fd, in the worker's epoll set); on an ethdev
 * interface (eth != NULL) it is a flow-table entry for (address, port) and
 * packets are built and sent by the ethdev port. */
struct dp_sock {
	int fd;
	bool rtcp;            /* the RTCP port (false for RTP and for rtcp-mux) */
	bool stamped;         /* worker: a hooked leg's RTP socket: read its kernel receive times */
	struct dp_leg *leg;
	struct sockaddr_storage local;
	struct dp_eth_port *eth;
	int32_t flow_pos;     /* ethdev: the flow-table slot, kept from delete until reclaim */
	int32_t uslot;        /* worker: its slot in the worker's io_uring socket table (dp_uring.c); -1: none */
};

/* Per-source receive state (RFC 3550 A.1, A.8). */
struct dp_rx_stream {
	bool started;
	uint32_t ssrc;
	uint16_t max_seq;
	uint32_t cycles, base_seq, received, bad_seq;
	uint64_t transit_prev_valid;
	int64_t transit_prev;
	uint32_t jitter_q4;   /* jitter << 4 (RFC 3550 A.8 integer form) */
	uint64_t seen;        /* bit i: max_seq - i arrived (the reorder window) */
	uint32_t gone;        /* numbers still missing when they left the window */
};

/* Outgoing rewrite state (DP_LEG_REWRITE). */
struct dp_tx_rewrite {
	bool started;
	uint32_t in_ssrc, out_ssrc;
	uint16_t seq_off;
	uint32_t ts_off;
	uint16_t last_seq;
	uint32_t last_ts;
	uint64_t last_tsc;
};

struct dp_leg {
	/* control */
	struct dp_call *call;
	struct dp_leg *next_in_call;
	struct dp_worker *w;
	unsigned iface;
	uint16_t rtp_port, rtcp_port;
	struct dp_sock rtp, rtcp;     /* rtcp.fd < 0 with rtcp-mux */
	struct dp_leg_stats stats;    /* worker writes, control reads */

	/* set through the worker's command ring, read by the worker */
	unsigned flags;
	uint32_t clock_rate;
	struct dp_addr remote_rtp, remote_rtcp; /* family 0: unknown */
	struct dp_addr sip_src;          /* received-from IP (port 0); family 0: none */
	bool nat_learning;               /* the interface's nat_learning */
	struct dp_srtp *srtp_rx, *srtp_tx, *srtcp_rx, *srtcp_tx;
	struct dp_leg *peer;
	dp_media_hook_fn hook;
	void *hook_ctx;
	uint64_t hook_tsc;          /* worker: when it took the hook (arrival times start there) */
	dp_rec_fn rec;              /* a recording's copy of accepted RTP (dp_rec.c), or NULL */
	void *rec_ctx;
	int block_pt;               /* -1: none */
	int block_replace;          /* DP_DTMF_DROP, an event 0-15, or DP_DTMF_RANDOM */
	uint32_t block_rand_ts, block_rand_event; /* the event a random replacement picked */

	bool refused_logged;        /* control: the first refused source was logged */
	bool hooked;                /* control: a hook was set last (not cleared); its RTP socket
				     * has kernel receive timestamps on (SO_TIMESTAMPNS) */

	/* worker */
	uint32_t gen_ssrc, gen_ts_base; /* headers of hook output sent *to* this leg */
	uint16_t gen_seq;
	/* RTCP medius generates towards this leg's peer (hooked legs) */
	uint32_t gen_packets, gen_octets;   /* hook output sent to the peer (SR counts) */
	uint32_t gen_last_ts;               /* RTP ts of the last one, and when */
	uint64_t gen_last_tsc, rtcp_gen_tsc;
	uint32_t rr_expected_prior, rr_received_prior; /* RFC 3550 A.3 fraction lost */
	uint32_t peer_sr_mid;               /* middle 32 bits of the peer's last SR NTP, 0: none */
	uint64_t peer_sr_tsc;               /* when it arrived */
	/* play DTMF: an event riding on the media this leg sends */
	bool inj_active, inj_started;
	uint8_t inj_pt, inj_event, inj_volume;
	uint32_t inj_duration, inj_start_ts;
	uint16_t inj_seq_shift;      /* added to every forwarded seq once events were injected */
	bool latched_rtp, latched_rtcp;
	struct dp_addr src_rtp, src_rtcp;
	uint64_t last_valid_tsc;
	/* continuity of the accepted RTP stream (dp_source.c, rule 5) */
	bool cont_valid;
	uint16_t cont_seq;
	uint32_t cont_ssrc, cont_ts;
	uint64_t cont_tsc;
	/* the first refused source, for the control lcore to log once
	 * (dp_media_log_refusals): written before refused_seen is set */
	struct sockaddr_storage refused_src;
	enum dp_drop refused_why;
	atomic_bool refused_seen;
	struct dp_rx_stream rx;
	struct dp_tx_rewrite rw;
};

enum dp_cmd_op { DP_CMD_NONE, DP_CMD_DETACH, DP_CMD_SET_REMOTE, DP_CMD_SET_SRTP,
		 DP_CMD_SET_FLAGS, DP_CMD_SET_CLOCK, DP_CMD_CONNECT, DP_CMD_SET_HOOK,
		 DP_CMD_SET_BLOCK, DP_CMD_PLAY_EVENT, DP_CMD_SET_SIP_SRC, DP_CMD_TICKER_ADD,
		 DP_CMD_TICKER_DEL, DP_CMD_CALL_TICKERS_ADD, DP_CMD_CALL_TICKERS_DEL, DP_CMD_ATTACH, DP_CMD_SET_REC };

/* A call: a group of legs (and tickers) served by one worker. Control
 * lcore, except `moving`, which a worker reads while it applies a move's
 * commands (control writes it before posting them and after waiting for
 * them). */
struct dp_call {
	char *id;          /* whole, for logs */
	struct dp_worker *w;
	struct dp_shard *shard;       /* the calls that share its worker (dp_place.c) */
	struct dp_call *next_in_shard;
	struct dp_call *move_next;    /* dp_place.c: the set being moved */
	bool transcoding;  /* dp_call_to_transcode_worker: stays on a transcoding worker */
	bool moving;       /* its legs and tickers are leaving their worker (a move's DETACH, TICKERS_DEL) */
	struct dp_leg *legs;
	struct dp_ticker *tickers;
	struct dp_call *next, *prev;  /* every call (dp_place.c) */
};

/* A function run on every tick of its call's worker (dp_clock.h). */
struct dp_ticker {
	dp_tick_fn fn;
	void *ctx;
	struct dp_call *call;
	struct dp_ticker *next_in_call; /* control */
	struct dp_ticker *next;         /* the worker's list (worker) */
	uint64_t last_ns;               /* worker: the deadline of its last tick (0: none yet); it
					 * moves with the ticker, so no deadline repeats or is skipped */
};

/* A worker's media clock (dp_clock.c); the worker writes, control reads. */
struct dp_clock {
	int tfd;                /* timerfd in the epoll set (kernel-UDP workers) */
	struct dp_ticker *list; /* run in this order on every tick */
	uint32_t n;
	uint64_t period_ns, next_ns, tick; /* next_ns, tick: the tick in progress, or the next one */
	uint64_t next_tsc;      /* polling workers: the TSC when the next tick is due (0: now) */
	/* A tick runs in slices of about slice_tsc cycles, with the turn's
	 * packets between them (dp_clock.c). cur: the next ticker of the tick
	 * in progress (NULL: none in progress); more: a slice is to run next
	 * turn (a tick in progress, or one due), so the worker must not sleep. */
	struct dp_ticker *cur;
	bool in_tick;           /* a tick is in progress (cur may be NULL: its last tickers were removed) */
	bool more;
	uint64_t slice_tsc;     /* UINT64_MAX: a tick runs in one slice */
	uint64_t tick_start_tsc; /* when the tick in progress began */
	struct {
		uint64_t ticks, missed, slices;
		uint32_t late_max_us, span_max_us;
		uint64_t hist[DP_CLOCK_HIST_BUCKETS];
	} st;
};

/* A command for a worker (dp_worker.c). The caller fills one, usually on
 * its stack; dp_worker_post copies it into a node the control lcore owns,
 * numbers it (seq) and puts the node on the worker's command ring; the
 * worker applies it (dp_relay_apply) at its next quiescent point and
 * publishes `done` = seq. Fields marked "out" are the worker's answer.
 * retire, when set, runs on the control lcore once the worker applied the
 * command and every worker passed a quiescent state since it was posted:
 * it frees what the command replaced (dp_workers_reclaim). */
struct dp_cmd {
	enum dp_cmd_op op;
	struct dp_leg *leg, *other;
	unsigned flags;
	uint32_t clock_rate;
	struct sockaddr_storage rtp, rtcp;
	struct dp_srtp *srtp[4];      /* in: new rx, tx, rtcp rx, rtcp tx; out: the old ones */
	dp_media_hook_fn hook;        /* in: the new hook; out: the one it replaced */
	void *hook_ctx;               /* the same for its ctx (and DP_CMD_SET_REC's) */
	dp_rec_fn rec;                /* DP_CMD_SET_REC: the new copy function */
	int block_pt, block_replace;
	uint8_t ev_pt, ev_event, ev_volume;
	uint32_t ev_duration;
	struct dp_ticker *ticker;     /* DP_CMD_CALL_TICKERS_ADD: the first of a chain linked by ->next */
	struct dp_call *call;         /* DP_CMD_DETACH: non-NULL for a move (keep the peer when its
				       * call moves too: ->moving) */
	int result;                   /* out */
	void (*retire)(struct dp_cmd *c);
	void (*release)(void *ctx);   /* for retire: what to call on a removed ticker's or replaced hook's ctx */
	/* dp_worker.c's bookkeeping */
	struct dp_worker *w;
	uint64_t seq, token, posted_tsc;
	struct dp_cmd *next;
};

/* A worker lcore. Control writes the first group, the worker the second
 * (each on its own cache lines). */
struct dp_worker {
	unsigned lcore;
	int epfd, wakefd, ackfd;
	atomic_bool stop;
	/* set (release) as worker_main returns: control acquires it after
	 * rte_eal_wait_lcore, so what the worker wrote happens-before control
	 * frees its state in C11 terms, not only through EAL's internals */
	atomic_bool exited;
	bool launched;
	struct rte_mempool *pool;
	struct rte_ring *cmds;        /* struct dp_cmd *, control -> worker (single producer and consumer) */
	uint64_t posted;              /* control: seq of the last command posted */
	uint64_t hb_seq, hb_ms;       /* control: the last liveness probe (dp_workers_alive) and when */
	atomic_bool wake_pending;     /* control wrote wakefd and the worker has not taken the wake-up yet */
	atomic_uint_fast64_t ack_want; /* control waits for qdone >= this (0: nobody waits) */
	atomic_uint_fast64_t done __rte_cache_aligned; /* worker: seq of the last command applied */
	atomic_uint_fast64_t qdone;   /* worker: `done` as of its last quiescent state report */
	uint64_t qdone_seen;          /* worker: the last qdone it published */
	struct dp_lcore_stats stats;
	uint64_t iface_drops[DP_MAX_IFACES][DP_DROP__COUNT]; /* the same, by the leg's interface */
	uint64_t tsc_hz;
	uint64_t tsc_per_ns_q32;      /* tsc_hz / 1e9 in 32.32 fixed point: kernel receive times to TSC */
	struct dp_eth_worker *eth;    /* its queues on ethdev ports (dp_eth.c); NULL: none, sleep in epoll */
	/* a polling worker's loop time (TSC): every turn, and the turns that did
	 * work (packets, events, a tick); CPU time says nothing of a busy poller.
	 * Turns over 1 ms (preempted) are only counted, in poll_long_turns. */
	uint64_t poll_tsc, poll_busy_tsc, poll_long_turns;
	struct dp_clock clk;          /* the media clock (dp_clock.c) */
	/* The kernel-UDP port's backend (dp_uring.c). ur: set by control before
	 * launch when the worker is to use io_uring (control then posts
	 * DP_CMD_ATTACH instead of adding sockets to epfd itself); use_uring:
	 * the worker's, true while its ring runs (false: epoll). */
	struct dp_uring *ur;
	bool use_uring;
	/* Adaptive busy polling (worker): after a turn that received packets the
	 * worker polls on for bp_tsc cycles before it sleeps; bp_tsc follows the
	 * gaps between packets, up to bp_max_tsc (media.busy_poll_us). */
	uint64_t bp_max_tsc, bp_tsc, bp_until, bp_idle_tsc;
} __rte_cache_aligned;

/* Nanoseconds from t0 to t (CLOCK_MONOTONIC; t not before t0). */
static inline uint64_t dp_elapsed_ns(const struct timespec *t0, const struct timespec *t)
{
	return (uint64_t)((int64_t)(t->tv_sec - t0->tv_sec) * 1000000000 + (t->tv_nsec - t0->tv_nsec));
}

/* dp_worker.c */
struct dp_worker *dp_worker_get(unsigned index);   /* index 0..dp_worker_count()-1 */
unsigned dp_worker_count(void);
/* Control lcore. Queue a copy of cmd for w and return at once: the worker
 * applies it at its next quiescent point, in posting order; cmd->retire
 * runs later (dp_workers_reclaim). The result is not seen. With no worker
 * running (tests, shutdown) it runs here, now. (Without memory for the copy
 * it falls back to dp_worker_exec.) */
void dp_worker_post(struct dp_worker *w, struct dp_cmd *cmd);
/* Control lcore. Run cmd on w and wait until the worker applied it and
 * finished that loop turn; cmd gets the worker's answer and the result is
 * returned. The wait is a blocking poll(2) on an eventfd the worker writes,
 * never a spin (a warning is logged each second). For commands whose result
 * the caller needs, or whose caller frees memory the worker used as soon as
 * it returns. With no worker running it runs here. */
int dp_worker_exec(struct dp_worker *w, struct dp_cmd *cmd);
/* Control lcore. Wait (as dp_worker_exec does) until w applied every
 * command posted to it so far and finished that loop turn. */
void dp_worker_flush(struct dp_worker *w);
/* The RCU variable every worker reports its quiescent states on (thread id
 * = its lcore); created on first use (NULL without memory). */
struct rte_rcu_qsbr *dp_worker_qsbr(void);
/* Worker side: apply every command posted to w so far, now (the loop turn
 * does at its start; an ethdev poll again after each receive burst, so a
 * frame that came after an ng reply finds what that reply's commands set
 * up). Returns how many; cheap when there are none. */
unsigned dp_worker_serve(struct dp_worker *w);
/* Worker side: apply a command (dp_relay.c). */
void dp_relay_apply(struct dp_worker *w, struct dp_cmd *cmd);
/* Worker side: read and relay what is waiting on kernel socket s. */
void dp_relay_socket(struct dp_worker *w, struct dp_sock *s);
/* The real-time clock (ns) and the TSC (*tsc) at one instant, for mapping
 * kernel receive times (dp_rt_to_tsc); dp_relay.c. */
uint64_t dp_clock_pair(const struct dp_worker *w, uint64_t *tsc);

/* dp_uring.c: the io_uring backend of the kernel-UDP port (see there).
 * Control lcore, before the worker runs: dp_uring_create makes w->ur (a
 * ring created disabled, a provided-buffer ring of mbufs, the socket and
 * send tables), or returns -errno (io_uring missing or refused). Worker:
 * dp_uring_enable once at start (the worker becomes the ring's only
 * submitter; sets use_uring), dp_uring_stop at exit (every request ends,
 * every mbuf goes back; clears use_uring). dp_uring_destroy (control,
 * after the worker returned) frees the rest. */
enum dp_kernel_io { DP_KIO_AUTO, DP_KIO_URING, DP_KIO_EPOLL };
int dp_uring_create(struct dp_worker *w, unsigned max_socks);
int dp_uring_enable(struct dp_worker *w);
void dp_uring_stop(struct dp_worker *w);
void dp_uring_destroy(struct dp_worker *w);
/* Worker: start receiving on s (a multishot recvmsg); stop (cancel it,
 * relay what it already received, never touch s again). */
void dp_uring_attach(struct dp_worker *w, struct dp_sock *s);
void dp_uring_detach(struct dp_worker *w, struct dp_sock *s);
/* Worker, once a turn: submit what is queued (sends, re-arms) and collect
 * completions, waiting for one new event when `sleep`. Returns a mask of
 * DP_URING_WAKE (the wake-up eventfd fired), DP_URING_TICK (the timerfd). */
#define DP_URING_WAKE 1u
#define DP_URING_TICK 2u
unsigned dp_uring_wait(struct dp_worker *w, bool sleep);
/* Worker: the same flags for completions collected since (by a DETACH). */
unsigned dp_uring_take_flags(struct dp_worker *w);
/* Worker: is anything waiting to be collected (no syscall)? */
bool dp_uring_ready(const struct dp_worker *w);
/* Worker: relay the packets collected, in bursts per socket; returns how many. */
unsigned dp_uring_rx(struct dp_worker *w);
/* Worker: queue tx's packets as one send each (sent with the next
 * dp_uring_wait); their mbufs are freed on completion. Empties tx. */
void dp_uring_send(struct dp_worker *w, struct dp_tx_batch *tx);
/* Worker side: relay n received UDP payloads (mbuf data = the payload) that
 * arrived at local endpoint s, each from the address in its metadata
 * (dp_mbuf_src). Takes ownership of the mbufs. arrival: NULL, or each
 * packet's receive time (TSC) for a terminated leg's hook and its jitter
 * statistics (the kernel's, dp_relay_socket); NULL or not, everything else
 * (source policy, latching, RTCP timing) uses the burst's TSC. */
void dp_relay_burst(struct dp_worker *w, struct dp_sock *s, struct rte_mbuf **m, uint16_t n,
		    const uint64_t *arrival);
/* Worker side: relay n received UDP payloads, packet i arrived at local
 * endpoint s[i] (any endpoints of this worker's legs; the ethdev input's
 * whole rx burst), from the address in its metadata. The stages run over
 * all of them together (one SRTP unprotect and one protect call for every
 * leg's packets), each packet treated as dp_relay_burst treats it. Takes
 * ownership of the mbufs; arrival is the burst's TSC. */
void dp_relay_multi(struct dp_worker *w, struct dp_sock *const *s, struct rte_mbuf **m, uint16_t n);
/* Worker side: a kernel receive time (CLOCK_REALTIME, ns) in the TSC
 * domain, mapped through one pair (rt_ns, tsc) read together just after
 * the packet was read, and kept within [floor, tsc]. */
static inline uint64_t dp_rt_to_tsc(const struct dp_worker *w, uint64_t kernel_ns, uint64_t rt_ns, uint64_t tsc,
				    uint64_t floor)
{
	uint64_t age_ns = rt_ns > kernel_ns ? rt_ns - kernel_ns : 0; /* a clock step back: now */
	uint64_t age_tsc = age_ns >= (uint64_t)1 << 34 ? UINT64_MAX /* over 17 s: the floor */
			   : (uint64_t)(((unsigned __int128)age_ns * w->tsc_per_ns_q32) >> 32);

	if (tsc <= floor)
		return tsc;
	return age_tsc > tsc - floor ? floor : tsc - age_tsc;
}
/* ethdev interfaces (dp_eth.c): send n UDP payloads from local endpoint s
 * to dst[i], building the Ethernet/IP/UDP headers; takes ownership of the
 * mbufs and returns how many were queued (the rest are counted and freed). */
uint16_t dp_eth_send(struct dp_worker *w, struct dp_sock *s, struct rte_mbuf **m,
		     const struct dp_addr *dst, uint16_t n);

/* dp_tx.c: the transmit side of the worker's legs (worker lcore only). */

/* Packets leaving one local endpoint (`from`), to their destinations. */
struct dp_tx_batch {
	struct dp_sock *from;
	uint16_t n;
	struct rte_mbuf *m[DP_BURST];
	struct dp_addr dst[DP_BURST];
};
static inline void dp_tx_init(struct dp_tx_batch *tx)
{
	tx->n = 0;
	tx->from = NULL;
}
/* A drop of a packet that reached leg l (NULL: before any leg), counted on
 * the worker, the leg and the leg's interface. */
static inline void dp_drop_count(struct dp_worker *w, struct dp_leg *l, enum dp_drop why)
{
	w->stats.drops[why]++;
	if (l) {
		l->stats.drops[why]++;
		w->iface_drops[l->iface][why]++;
	}
}
/* The drop reason of an SRTP burst rc. */
enum dp_drop dp_srtp_drop_reason(int rc);
/* Where leg l's peer gets what l sends: on its RTP port, or its RTCP port
 * (rtcp_port; never with rtcp-mux). The latched source unless the leg is
 * asymmetric, else the signalled address (ss_family 0: unknown). */
const struct dp_addr *dp_peer_dest(const struct dp_leg *l, bool rtcp_port);
/* Protect n packets as leg b sends them (SRTCP when rtcp) with one burst
 * call; nothing to do without a key. A packet that fails is counted on a
 * and freed, and m[i] becomes NULL. */
void dp_tx_protect(struct dp_worker *w, struct dp_leg *a, struct dp_leg *b, bool rtcp, struct rte_mbuf **m,
		   uint16_t n);
/* Queue m (already protected) on tx, to dst from local endpoint `from`
 * (flushing first when tx is full or leaves from another endpoint), and
 * count it as sent to b's peer. tx owns m from here. */
void dp_tx_queue(struct dp_worker *w, struct dp_leg *b, struct rte_mbuf *m, struct dp_tx_batch *tx,
		 struct dp_sock *from, const struct dp_addr *dst);
/* dp_tx_protect one packet, then dp_tx_queue it. false: dropped and
 * counted on a, and m freed. */
bool dp_tx_send(struct dp_worker *w, struct dp_leg *a, struct dp_leg *b, bool rtcp, struct rte_mbuf *m,
		struct dp_tx_batch *tx, struct dp_sock *from, const struct dp_addr *dst);
/* Send what tx holds (sendmmsg, or dp_eth_send) and empty it. */
void dp_tx_flush(struct dp_worker *w, struct dp_tx_batch *tx);
/* A new RTP packet of len bytes (version byte set), or NULL with
 * alloc_failed counted on a. */
uint8_t *dp_tx_alloc(struct dp_worker *w, struct dp_leg *a, uint16_t len, struct rte_mbuf **mp);
/* Wall-clock NTP time (32.32). */
uint64_t dp_ntp_now(void);
/* A terminated leg's own RTCP report to its peer (SR or RR, a report
 * block, SDES CNAME), through tx (flushed after it). */
void dp_rtcp_generate(struct dp_worker *w, struct dp_leg *a, uint64_t now, struct dp_tx_batch *tx);
/* ng play DTMF: after forwarding media packet r (sent with sequence
 * media_seq) through b, send the event's next RFC 4733 packet(s). */
void dp_inject_after(struct dp_worker *w, struct dp_leg *a, struct dp_leg *b, const struct dp_rtp *r,
		     uint16_t media_seq, struct dp_tx_batch *tx, const struct dp_addr *dst);

/* dp_clock.c, worker side: set up the timerfd; apply DP_CMD_*TICKER*; run
 * the ticks that are due (on the timerfd's event, or when the TSC passed
 * clk.next_tsc on a polling worker). Control side, to move a set of calls
 * (linked by move_next, all on worker `from`, each marked `moving`): take
 * every ticker of the set off `from` with one command (posted); once that
 * worker applied it (dp_worker_flush) and the calls' w is the new one, put
 * them all on it with one command (no tick runs some and not others). */
/* dp_clock_run runs one slice (see struct dp_clock: more); set_slice sets
 * the slice's length (0: a whole tick), dp_clock_init to
 * dp_media_conf.tick_slice_us. */
int dp_clock_init(struct dp_worker *w);
void dp_clock_set_slice(struct dp_worker *w, uint32_t slice_us);
void dp_clock_apply(struct dp_worker *w, struct dp_cmd *c);
/* dp_rec.c, worker side: apply DP_CMD_SET_REC. */
void dp_rec_apply(struct dp_worker *w, struct dp_cmd *c);
void dp_clock_run(struct dp_worker *w);
void dp_tickers_detach(struct dp_call *set, struct dp_worker *from);
void dp_tickers_attach(struct dp_call *set, struct dp_worker *to);

/* dp_place.c: calls, shards and moves (dp_media.h); dp_leg.c's part. */
void dp_place_start(uint32_t transcode_workers); /* dp_media_start */
void dp_calls_destroy_all(void);                 /* dp_media_stop */
struct dp_call *dp_calls_first(void);            /* every call, by ->next */
bool dp_media_started(void);
/* Put the leg's kernel sockets into its worker's epoll set (control side;
 * the worker's DETACH takes them out). Returns 0 or -errno. */
int dp_leg_attach(struct dp_leg *l);

/* dp_source.c: the source policy (see the rules there). */
#define DP_SRC_SEQ_WINDOW 64 /* a take-over's sequence number: 1..this ahead */
enum dp_src_verdict {
	DP_SRC_REFUSE,   /* drop it (*why says as what) */
	DP_SRC_ACCEPT,   /* from the latch or an allowed source: relay, latch nothing */
	DP_SRC_LATCH,    /* once valid, it becomes the leg's latched source */
	DP_SRC_TAKEOVER, /* once valid, it may replace the latch if dp_source_continuous */
};
/* Before any crypto work: may src send to leg l on its RTCP port
 * (rtcp_port) or RTP port, an RTCP packet (rtcp) or RTP? */
enum dp_src_verdict dp_source_admit(const struct dp_leg *l, const struct dp_addr *src, bool rtcp_port,
				    bool rtcp, uint64_t now, uint64_t tsc_hz, enum dp_drop *why);
/* Is valid RTP packet r the continuation of the stream l accepted last? */
bool dp_source_continuous(const struct dp_leg *l, const struct dp_rtp *r, uint64_t now, uint64_t tsc_hz);
/* Remember r as the last valid packet of l's accepted stream. */
void dp_source_note(struct dp_leg *l, const struct dp_rtp *r, uint64_t now);

#endif
