/* SPDX-License-Identifier: MIT
 * dp_relay: the receive side of a worker's legs. Reads bursts from a
 * leg's kernel-UDP socket straight into mbufs (recvmmsg; dp_relay_burst,
 * one socket's packets), or takes a whole rx burst of every leg from the
 * ethdev input (dp_relay_multi), and relays them to the peer legs in
 * stages, as DPDK's l3fwd does: (1) classify every packet and apply its
 * leg's source policy, (2) SRTP/SRTCP-unprotect all admitted packets of
 * every leg with one call (dp_srtp_unprotect_multi: the engine fills its
 * lanes with the packets of many keys), (3) parse, latch and account each
 * one in arrival order (a terminated leg's media goes to its hook here),
 * (4) write the peers' headers and SRTP-protect the survivors with one
 * call, (5) queue them for transmission in arrival order (dp_tx.c). While
 * a DTMF event is being injected into some peer's stream (ng play DTMF)
 * stages 4-5 go one packet at a time, each followed by its event packets.
 * A lone packet takes the same stages without the burst's arrays and loops
 * (relay_one). Also applies the control plane's commands.
 *
 * Who may send to a leg, and who may take its latch, is decided by
 * dp_source.c (the source policy: signalled address first, RTP Bleed and
 * injection protection): once before any crypto work, and once more when
 * the packet is valid (parsed, and authenticated on an SRTP leg).
 * Every drop bumps a named counter on the lcore and on the leg.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "dp_internal.h"

extern uint32_t dp_rtcp_interval_ms; /* dp_leg.c */

int dp_mbuf_src_off = -1;

int dp_mbuf_fields_init(void)
{
	static const struct rte_mbuf_dynfield f = {
		.name = "medius_dp_addr_src", .size = sizeof(struct dp_addr), .align = __alignof__(struct dp_addr),
	};

	if (dp_mbuf_src_off < 0)
		dp_mbuf_src_off = rte_mbuf_dynfield_register(&f);
	return dp_mbuf_src_off < 0 ? -rte_errno : 0;
}


/* A source refused by the policy: counted; the first one per leg is kept
 * for the control lcore to log (dp_media_log_refusals). */
static void refuse(struct dp_worker *w, struct dp_leg *l, const struct dp_addr *src, enum dp_drop why)
{
	dp_drop_count(w, l, why);
	if (!atomic_load_explicit(&l->refused_seen, memory_order_relaxed)) {
		memset(&l->refused_src, 0, sizeof(l->refused_src));
		dp_addr_to_sa(src, &l->refused_src);
		l->refused_why = why;
		atomic_store_explicit(&l->refused_seen, true, memory_order_release);
	}
}

/* src becomes the leg's latched source on its RTP or RTCP port. RTCP
 * follows RTP: an RTCP latch on another IP than the new RTP one is let go.
 * Returns true when the latch moved. */
static bool latch(struct dp_leg *a, const struct dp_addr *src, bool rtcp_port)
{
	if (rtcp_port) {
		bool moved = !a->latched_rtcp || !dp_addr_eq(src, &a->src_rtcp);

		a->src_rtcp = *src;
		a->latched_rtcp = true;
		return moved;
	}
	if (a->latched_rtp && dp_addr_eq(src, &a->src_rtp))
		return false;
	a->src_rtp = *src;
	a->latched_rtp = true;
	a->stats.latched = true;
	memset(&a->stats.source, 0, sizeof(a->stats.source));
	dp_addr_to_sa(src, &a->stats.source);
	if (a->latched_rtcp && !dp_addr_ip_eq(&a->src_rtcp, src))
		a->latched_rtcp = false;
	return true;
}

/* The newest sequence number moved `d` ahead: the numbers that leave the
 * reorder window without having arrived are lost for good. */
static inline void seen_advance(struct dp_rx_stream *st, uint32_t d)
{
	if (d == 0)
		return; /* a duplicate of the newest */
	if (d >= DP_REORDER_WINDOW) {
		st->gone += DP_REORDER_WINDOW - (uint32_t)__builtin_popcountll(st->seen) + (d - DP_REORDER_WINDOW);
		st->seen = 1;
		return;
	}
	st->gone += d - (uint32_t)__builtin_popcountll(st->seen >> (DP_REORDER_WINDOW - d));
	st->seen = st->seen << d | 1;
}

/* RFC 3550 A.1 (sequence) and A.8 (jitter) for one accepted RTP packet. */
static void rx_stats(struct dp_worker *w, struct dp_leg *l, const struct dp_rtp *r, uint64_t now)
{
	struct dp_rx_stream *st = &l->rx;
	uint16_t udelta;

	if (!st->started || r->ssrc != st->ssrc) {
		memset(st, 0, sizeof(*st));
		st->started = true;
		st->ssrc = r->ssrc;
		st->base_seq = r->seq;
		st->max_seq = r->seq;
		st->seen = ~0ull; /* numbers before the first are not the source's to lose */
	} else {
		udelta = (uint16_t)(r->seq - st->max_seq);
		if (udelta < 3000) {
			if (r->seq < st->max_seq)
				st->cycles += 65536;
			st->max_seq = r->seq;
			seen_advance(st, udelta);
		} else if (udelta <= 65535 - 100) {
			/* a big jump: the source restarted its numbering */
			st->bad_seq++;
			st->base_seq = r->seq;
			st->max_seq = r->seq;
			st->cycles = 0;
			st->received = 0;
			st->seen = ~0ull;
			st->gone = 0;
		} else if (65536u - udelta < DP_REORDER_WINDOW) { /* late: in the window */
			st->seen |= 1ull << (65536u - udelta);
		} /* duplicate or reordered, counted below */
	}
	st->received++;
	if (l->clock_rate) {
		int64_t arrival = (int64_t)(now * l->clock_rate / w->tsc_hz);
		int64_t transit = arrival - (int64_t)r->ts;

		if (st->transit_prev_valid) {
			int64_t d = transit - st->transit_prev;

			if (d < 0)
				d = -d;
			if (d < (int64_t)l->clock_rate * 10) /* ignore absurd jumps (ts reset) */
				st->jitter_q4 += (uint32_t)d - ((st->jitter_q4 + 8) >> 4);
		}
		st->transit_prev = transit;
		st->transit_prev_valid = 1;
	}
	l->stats.ssrc = st->ssrc;
	l->stats.expected = st->cycles + st->max_seq - st->base_seq + 1;
	l->stats.lost = l->stats.expected > st->received ? l->stats.expected - st->received : 0;
	l->stats.lost_final = st->gone;
	l->stats.jitter_ts = st->jitter_q4 >> 4;
	l->stats.jitter_ms = l->clock_rate ? (double)l->stats.jitter_ts * 1000.0 / l->clock_rate : 0;
}

/* The peer's receiver reports: how well the peer receives what we send. */
static void rtcp_stats(struct dp_leg *l, const struct dp_rtcp *c, uint64_t now_tsc)
{
	if (c->has_sr) { /* for the LSR/DLSR of the reports medius generates */
		l->peer_sr_mid = dp_ntp_middle32(c->sr_ntp);
		l->peer_sr_tsc = now_tsc;
		l->stats.have_sr = true;
		l->stats.sr_ssrc = c->sr_ssrc;
		l->stats.sr_packets = c->sr_packets;
		l->stats.sr_octets = c->sr_octets;
		l->stats.sr_rtp_ts = c->sr_rtp_ts;
		l->stats.sr_ntp = c->sr_ntp;
	}
	if (c->n_sr || c->n_rr)
		l->stats.rtcp_reports++;
	if (!c->n_rb)
		return;
	l->stats.have_rr = true;
	l->stats.rr.reporter = c->rb[0].reporter;
	l->stats.rr.ssrc = c->rb[0].ssrc;
	l->stats.rr.ext_high_seq = c->rb[0].ext_high_seq;
	l->stats.rr.lsr = c->rb[0].lsr;
	l->stats.rr.dlsr = c->rb[0].dlsr;
	l->stats.rr_fraction_lost = c->rb[0].fraction_lost;
	l->stats.rr_cum_lost = c->rb[0].cum_lost;
	l->stats.rr_jitter_ts = c->rb[0].jitter;
	if (c->rb[0].lsr) {
		/* NTP "now" in the same 16.16 units as LSR: wall clock is what the
		 * SR carried; TSC only gives a monotonic reference, so use the
		 * real-time clock here (one call per RTCP packet, every few s). */
		int32_t rtt = dp_rtcp_rtt_ms(c->rb[0].lsr, c->rb[0].dlsr, dp_ntp_middle32(dp_ntp_now()));
		l->stats.rtt_ms = rtt >= 0 ? rtt : -1;
	}
}

/* DP_LEG_REWRITE: one outgoing SSRC, continuous seq and ts for the peer. */
static void rewrite(struct dp_worker *w, struct dp_leg *out, uint8_t *p, const struct dp_rtp *r,
		    uint64_t now)
{
	struct dp_tx_rewrite *rw = &out->rw;

	if (!rw->started) {
		rw->started = true;
		rw->out_ssrc = r->ssrc;
	} else if (r->ssrc != rw->in_ssrc) {
		uint64_t el = out->clock_rate ? (now - rw->last_tsc) * out->clock_rate / w->tsc_hz : 160;

		rw->seq_off = (uint16_t)(rw->last_seq + 1u - r->seq);
		rw->ts_off = rw->last_ts + (uint32_t)(el ? el : 1) - r->ts;
	}
	rw->in_ssrc = r->ssrc;
	rw->last_seq = (uint16_t)(r->seq + rw->seq_off);
	rw->last_ts = r->ts + rw->ts_off;
	rw->last_tsc = now;
	dp_rtp_set_ssrc(p, rw->out_ssrc);
	dp_rtp_set_seq(p, rw->last_seq);
	dp_rtp_set_ts(p, rw->last_ts);
}

/* Hand valid RTP packet p (header r) of terminated leg a to its hook; now:
 * when it arrived. */
static void run_hook(struct dp_leg *a, const uint8_t *p, const struct dp_rtp *r, uint64_t now)
{
	struct dp_rtp_frame in = {
		.pt = r->pt, .marker = r->marker, .seq = r->seq, .ts = r->ts, .ssrc = r->ssrc,
		.payload = p + r->payload_off, .len = r->payload_len,
		.ext = r->ext ? p + r->ext_off : NULL, .ext_len = r->ext_len, .ext_profile = r->ext_profile,
	};

	a->stats.hook_in++;
	a->hook(a->hook_ctx, &in, now);
}

struct dp_call *dp_leg_call(const struct dp_leg *l) { return l->call; }

/* ng "block DTMF" on an RFC 4733 packet of leg a: true when it is consumed
 * (DP_DTMF_DROP); otherwise its event is rewritten in place (DTMF-security
 * "zero", "DTMF" or "random") and it goes on. Counted in blocked either way. */
static bool dtmf_blocked(struct dp_leg *a, uint8_t *payload, const struct dp_rtp *r)
{
	a->stats.blocked++;
	if (a->block_replace == DP_DTMF_DROP)
		return true;
	if (r->payload_len < 4)
		return false;
	if (a->block_replace != DP_DTMF_RANDOM) {
		payload[0] = (uint8_t)a->block_replace;
		return false;
	}
	if (r->ts != a->block_rand_ts || !a->block_rand_event) { /* a new event: a new digit, not the real one */
		uint32_t h = (r->ts ^ a->gen_ssrc) * 2654435761u;

		a->block_rand_ts = r->ts;
		a->block_rand_event = 1 + (payload[0] + 1 + (h >> 16) % 11) % 12; /* 0-9 * #, never payload[0] */
	}
	payload[0] = (uint8_t)(a->block_rand_event - 1);
	return false;
}

/* One received packet between the stages of dp_relay_burst. */
struct rx_pkt {
	uint8_t *p;
	uint16_t len;
	bool ok;                /* still going: not dropped, consumed or queued */
	bool rtcp;              /* RTCP, on the RTCP port or muxed */
	bool queued;            /* a tx batch owns its mbuf */
	bool rtcp_port;         /* leaves through the peer's RTCP port */
	enum dp_src_verdict v;
	const struct dp_addr *dst; /* where it goes */
	struct dp_addr dst_at;  /* *dst when it was accepted (a later packet of the burst may move b's latch) */
	uint16_t media_seq;     /* the sequence number it leaves with */
	struct dp_rtp r;        /* RTP: its header */
};

/* Stage 1, before any crypto work: what is it, and may src send it?
 * Stages 1, 3 and 4a are inlined in both dp_relay_burst and relay_one:
 * called, they cost ~80 instructions per relayed packet (callgrind,
 * docs/performance.md). */
static __rte_always_inline bool rx_admit(struct dp_worker *w, struct dp_sock *s, struct rx_pkt *x,
					 const struct dp_addr *src, uint64_t now)
{
	struct dp_leg *a = s->leg;
	bool mux = a->flags & DP_LEG_RTCP_MUX;
	enum dp_drop why;

	switch (dp_demux(x->p, x->len)) {
	case DP_DEMUX_RTP:
		break;
	case DP_DEMUX_OTHER: /* first byte 80-127 or 192-255: RTP-like, version 1 or 3 */
		dp_drop_count(w, a, x->len < 1 ? DP_DROP_RTP_TRUNC : x->p[0] >= 80 ? DP_DROP_RTP_VERSION : DP_DROP_NOT_RTP);
		return false;
	default: /* STUN, DTLS, ZRTP, TURN: not handled on a relay leg yet */
		dp_drop_count(w, a, DP_DROP_NOT_RTP);
		return false;
	}
	x->rtcp = s->rtcp || (mux && dp_is_rtcp(x->p, x->len));
	if (x->len < (x->rtcp ? 8 : DP_RTP_HDR_LEN)) {
		dp_drop_count(w, a, x->rtcp ? DP_DROP_RTCP_BAD : DP_DROP_RTP_TRUNC);
		return false;
	}
	x->v = dp_source_admit(a, src, x->rtcp && !mux, x->rtcp, now, w->tsc_hz, &why);
	if (x->v == DP_SRC_REFUSE) {
		refuse(w, a, src, why);
		return false;
	}
	return true;
}

/* Stage 3, in arrival order: parse, latch, account; a terminated leg's
 * media goes to its hook. *moved: an earlier packet of this burst moved
 * the latch, so stage 1's verdict is decided again. arrival: when the
 * packet arrived (the kernel's receive time on a hooked kernel-UDP leg,
 * else now), for the jitter statistics and the hook. True when the packet
 * goes on to the peer. */
static __rte_always_inline bool rx_accept(struct dp_worker *w, struct dp_sock *s, struct rx_pkt *x,
					  const struct dp_addr *src, uint64_t now, uint64_t arrival, bool *moved,
					  struct dp_tx_batch *tx_rtcp)
{
	struct dp_leg *a = s->leg, *b = a->peer;
	bool mux = a->flags & DP_LEG_RTCP_MUX;
	struct dp_rtcp c;
	enum dp_drop why = x->rtcp ? dp_rtcp_parse(x->p, x->len, &c) : dp_rtp_parse(x->p, x->len, &x->r);

	if (why != DP_DROP_NONE) {
		dp_drop_count(w, a, why);
		return false;
	}
	if (*moved) {
		x->v = dp_source_admit(a, src, x->rtcp && !mux, x->rtcp, now, w->tsc_hz, &why);
		if (x->v == DP_SRC_REFUSE) {
			refuse(w, a, src, why);
			return false;
		}
	}
	if (x->v == DP_SRC_TAKEOVER) {
		if (x->rtcp || !dp_source_continuous(a, &x->r, now, w->tsc_hz)) {
			refuse(w, a, src, DP_DROP_RELATCH_REFUSED);
			return false;
		}
		x->v = DP_SRC_LATCH;
	}
	if (x->v == DP_SRC_LATCH && latch(a, src, x->rtcp && !mux))
		*moved = true;
	a->last_valid_tsc = now;
	if (!x->rtcp)
		dp_source_note(a, &x->r, now);
	if (!x->rtcp && x->r.pt == a->block_pt && dtmf_blocked(a, x->p + x->r.payload_off, &x->r)) /* ng "block DTMF" */
		return false;
	if (x->rtcp) {
		a->stats.rtcp_packets++;
		rtcp_stats(a, &c, now);
	} else {
		a->stats.rtp_packets++;
		a->stats.rtp_bytes += x->r.payload_len;
		rx_stats(w, a, &x->r, arrival);
		if (a->rec) /* a recorded leg: a copy into the recorder's ring (dp_rec.c) */
			a->rec(a->rec_ctx, x->p, x->len, arrival);
	}
	if (a->hook) { /* terminated: consumed here */
		if (!x->rtcp) {
			run_hook(a, x->p, &x->r, arrival);
			if (now - a->rtcp_gen_tsc >= (uint64_t)dp_rtcp_interval_ms * w->tsc_hz / 1000u)
				dp_rtcp_generate(w, a, now, tx_rtcp);
		}
		return false;
	}
	if (!b) {
		dp_drop_count(w, a, DP_DROP_NO_FLOW);
		return false;
	}
	x->rtcp_port = x->rtcp && !(b->flags & DP_LEG_RTCP_MUX);
	x->dst = dp_peer_dest(b, x->rtcp_port);
	if (x->dst->family == 0) {
		dp_drop_count(w, a, DP_DROP_NO_DEST);
		return false;
	}
	return true;
}

/* Stage 4a: the header b sends an RTP packet with. */
static __rte_always_inline void prepare(struct dp_worker *w, struct dp_leg *b, struct rx_pkt *x, uint64_t now)
{
	if (x->rtcp)
		return;
	if (b->flags & DP_LEG_REWRITE)
		rewrite(w, b, x->p, &x->r, now);
	if (b->inj_seq_shift) /* room for events injected earlier */
		dp_rtp_set_seq(x->p, (uint16_t)(dp_get_be16(x->p + 2) + b->inj_seq_shift));
	x->media_seq = dp_get_be16(x->p + 2);
}

/* Stage 4b: protect packets idx[0..k) of one kind for b, one burst call. */
static void protect(struct dp_worker *w, struct dp_leg *a, struct dp_leg *b, bool rtcp, struct rte_mbuf **m,
		    struct rx_pkt *x, const uint16_t *idx, uint16_t k)
{
	struct rte_mbuf *pm[DP_BURST];
	uint16_t j, np = 0, at[DP_BURST];

	if (!(rtcp ? b->srtcp_tx : b->srtp_tx))
		return;
	for (j = 0; j < k; j++)
		if (x[idx[j]].rtcp == rtcp) {
			at[np] = idx[j];
			pm[np++] = m[idx[j]];
		}
	dp_tx_protect(w, a, b, rtcp, pm, np);
	for (j = 0; j < np; j++)
		if (!pm[j]) { /* freed by dp_tx_protect */
			x[at[j]].ok = false;
			x[at[j]].queued = true;
		}
}

/* Stage 5: queue packet i for b's peer, on its RTP or RTCP port. */
static void tx_queue_fwd(struct dp_worker *w, struct dp_leg *b, struct rte_mbuf *m, struct rx_pkt *x,
		  struct dp_tx_batch *tx_rtp, struct dp_tx_batch *tx_rtcp)
{
	dp_tx_queue(w, b, m, x->rtcp_port ? tx_rtcp : tx_rtp, x->rtcp_port ? &b->rtcp : &b->rtp, x->dst);
	x->queued = true;
}

/* A run of one packet, the common case when many streams interleave (on
 * ethdev each run of one socket's packets is relayed apart): the same
 * stages, in the same order, without the burst's arrays and loops. One tx
 * batch serves both ports: at most one packet (and its injected events,
 * on the RTP port) leaves, and an RTCP report generated for a hooked leg
 * is flushed inside dp_rtcp_generate. */
static void relay_one(struct dp_worker *w, struct dp_sock *s, struct rte_mbuf *m, uint64_t now,
		      uint64_t arrival)
{
	struct dp_tx_batch tx; /* dp_tx_init sets only what is read */
	struct dp_leg *a = s->leg, *b;
	const struct dp_addr *src = dp_mbuf_src(m);
	struct dp_srtp *ctx;
	struct rx_pkt x;
	bool moved = false;

	x.p = rte_pktmbuf_mtod(m, uint8_t *);
	x.len = rte_pktmbuf_data_len(m);
	if (!rx_admit(w, s, &x, src, now)) { /* 1 */
		rte_pktmbuf_free(m);
		return;
	}
	if ((ctx = x.rtcp ? a->srtcp_rx : a->srtp_rx)) { /* 2 */
		uint8_t *pk = x.p;
		uint16_t ln = x.len, room = (uint16_t)(rte_pktmbuf_data_len(m) + rte_pktmbuf_tailroom(m));
		int16_t rc;

		(x.rtcp ? dp_srtcp_unprotect_burst : dp_srtp_unprotect_burst)(ctx, &pk, &ln, room, &rc, 1);
		if (rc) {
			dp_drop_count(w, a, dp_srtp_drop_reason(rc));
			rte_pktmbuf_free(m);
			return;
		}
		x.len = ln;
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - ln));
	}
	dp_tx_init(&tx);
	if (!rx_accept(w, s, &x, src, now, arrival, &moved, &tx)) { /* 3 */
		rte_pktmbuf_free(m);
		return; /* tx: empty, dp_rtcp_generate flushed it */
	}
	b = a->peer;
	prepare(w, b, &x, now); /* 4 */
	if (x.rtcp ? b->srtcp_tx : b->srtp_tx) {
		dp_tx_protect(w, a, b, x.rtcp, &m, 1);
		if (!m) /* dropped, counted and freed */
			return;
	}
	dp_tx_queue(w, b, m, &tx, x.rtcp_port ? &b->rtcp : &b->rtp, x.dst); /* 5 */
	if (!x.rtcp && b->inj_active)
		dp_inject_after(w, a, b, &x.r, x.media_seq, &tx, x.dst);
	dp_tx_flush(w, &tx);
}

/* Whether leg a is among the n legs in l. */
static inline bool leg_in(struct dp_leg *const *l, uint16_t n, const struct dp_leg *a)
{
	for (uint16_t i = 0; i < n; i++)
		if (l[i] == a)
			return true;
	return false;
}

/* Packets i of sk[i]'s leg (any legs), through the stages together:
 * (1) classify and admit each; (2) one SRTP/SRTCP unprotect call over all
 * of them (dp_srtp_unprotect_multi: the engine runs the packets of every
 * leg's key at once); (3) parse, latch, account and hooks, each in arrival
 * order; (4) each one's header for its peer, then one protect call over
 * all; (5) queue for transmission in arrival order. Per packet this is
 * what a run of one leg's packets went through: a leg's packets keep their
 * order in every stage, a latch one of them moves makes the leg's later
 * packets be admitted again (per leg, as before), and where a packet goes
 * is copied when it is accepted. While an event is injected into some
 * peer's stream (ng play DTMF) stages 4-5 go one packet at a time. */
static void relay_stages(struct dp_worker *w, struct dp_sock *const *sk, struct rte_mbuf **m, uint16_t n,
			 const uint64_t *arrival)
{
	const struct dp_addr *src[DP_BURST];
	struct dp_tx_batch tx_rtp, tx_rtcp; /* 4.6 KB each: dp_tx_init sets only what is read */
	struct rx_pkt x[DP_BURST];
	struct dp_srtp_pkt q[DP_BURST];
	struct dp_leg *moved[DP_BURST];
	uint16_t fwd[DP_BURST], qi[DP_BURST], nf = 0, nq = 0, nmoved = 0;
	uint64_t now = rte_rdtsc();
	bool inj = false;

	dp_tx_init(&tx_rtp);
	dp_tx_init(&tx_rtcp);
	for (uint16_t i = 0; i < n; i++) { /* 1: classify, admit */
		struct dp_leg *a = sk[i]->leg;
		struct dp_srtp *ctx;

		if (i + 1 < n)
			rte_prefetch0(sk[i + 1]->leg);
		x[i].p = rte_pktmbuf_mtod(m[i], uint8_t *);
		x[i].len = rte_pktmbuf_data_len(m[i]);
		x[i].queued = false;
		src[i] = dp_mbuf_src(m[i]);
		x[i].ok = rx_admit(w, sk[i], &x[i], src[i], now);
		if (x[i].ok && (ctx = x[i].rtcp ? a->srtcp_rx : a->srtp_rx)) {
			q[nq].s = ctx;
			q[nq].p = x[i].p;
			q[nq].len = x[i].len;
			q[nq].room = (uint16_t)(rte_pktmbuf_data_len(m[i]) + rte_pktmbuf_tailroom(m[i]));
			q[nq].rtcp = x[i].rtcp;
			qi[nq++] = i;
		}
	}
	if (nq) { /* 2: SRTP and SRTCP of every leg, one call */
		dp_srtp_unprotect_multi(q, nq);
		for (uint16_t j = 0; j < nq; j++) {
			uint16_t i = qi[j];

			if (q[j].rc) {
				dp_drop_count(w, sk[i]->leg, dp_srtp_drop_reason(q[j].rc));
				x[i].ok = false;
				continue;
			}
			x[i].len = q[j].len;
			rte_pktmbuf_trim(m[i], (uint16_t)(rte_pktmbuf_data_len(m[i]) - q[j].len));
		}
	}
	for (uint16_t i = 0; i < n; i++) { /* 3: parse, latch, account, hooks */
		struct dp_leg *a = sk[i]->leg;
		bool mv, mv0;

		if (!x[i].ok)
			continue;
		mv = mv0 = nmoved && leg_in(moved, nmoved, a);
		if (rx_accept(w, sk[i], &x[i], src[i], now, arrival ? arrival[i] : now, &mv, &tx_rtcp)) {
			x[i].dst_at = *x[i].dst;
			x[i].dst = &x[i].dst_at;
			inj |= a->peer->inj_active;
			fwd[nf++] = i;
		}
		if (mv && !mv0)
			moved[nmoved++] = a;
	}
	if (inj) { /* an event rides on some peer's stream: one packet at a time */
		for (uint16_t j = 0; j < nf; j++) {
			struct rx_pkt *y = &x[fwd[j]];
			struct dp_leg *a = sk[fwd[j]]->leg, *b = a->peer;

			prepare(w, b, y, now);
			protect(w, a, b, y->rtcp, m, x, &fwd[j], 1);
			if (!y->ok)
				continue;
			tx_queue_fwd(w, b, m[fwd[j]], y, &tx_rtp, &tx_rtcp);
			if (!y->rtcp && b->inj_active)
				dp_inject_after(w, a, b, &y->r, y->media_seq, &tx_rtp, y->dst);
		}
	} else if (nf) {
		nq = 0;
		for (uint16_t j = 0; j < nf; j++) { /* 4: headers, then SRTP and SRTCP of every peer, one call */
			uint16_t i = fwd[j];
			struct dp_leg *b = sk[i]->leg->peer;
			struct dp_srtp *ctx;

			prepare(w, b, &x[i], now);
			if ((ctx = x[i].rtcp ? b->srtcp_tx : b->srtp_tx)) {
				q[nq].s = ctx;
				q[nq].p = x[i].p;
				q[nq].len = x[i].len = rte_pktmbuf_data_len(m[i]);
				q[nq].room = (uint16_t)(q[nq].len + rte_pktmbuf_tailroom(m[i]));
				q[nq].rtcp = x[i].rtcp;
				qi[nq++] = i;
			}
		}
		if (nq) {
			dp_srtp_protect_multi(q, nq);
			for (uint16_t j = 0; j < nq; j++) {
				uint16_t i = qi[j];

				if (q[j].rc) { /* counted on the receiving leg, as dp_tx_protect does */
					dp_drop_count(w, sk[i]->leg, dp_srtp_drop_reason(q[j].rc));
					rte_pktmbuf_free(m[i]);
					x[i].ok = false;
					x[i].queued = true;
					continue;
				}
				rte_pktmbuf_append(m[i], (uint16_t)(q[j].len - rte_pktmbuf_data_len(m[i])));
			}
		}
		for (uint16_t j = 0; j < nf; j++) /* 5: tx, in arrival order */
			if (x[fwd[j]].ok)
				tx_queue_fwd(w, sk[fwd[j]]->leg->peer, m[fwd[j]], &x[fwd[j]], &tx_rtp, &tx_rtcp);
	}
	for (uint16_t i = 0; i < n; i++)
		if (!x[i].queued)
			rte_pktmbuf_free(m[i]);
	dp_tx_flush(w, &tx_rtp);
	dp_tx_flush(w, &tx_rtcp);
}

void dp_relay_burst(struct dp_worker *w, struct dp_sock *s, struct rte_mbuf **m, uint16_t n,
		    const uint64_t *arrival)
{
	struct dp_sock *sk[DP_BURST];

	if (n == 1) {
		uint64_t now = rte_rdtsc();

		relay_one(w, s, m[0], now, arrival ? arrival[0] : now);
		return;
	}
	for (uint16_t i = 0; i < n; i++)
		sk[i] = s;
	relay_stages(w, sk, m, n, arrival);
}

void dp_relay_multi(struct dp_worker *w, struct dp_sock *const *s, struct rte_mbuf **m, uint16_t n)
{
	if (n == 1) {
		uint64_t now = rte_rdtsc();

		relay_one(w, s[0], m[0], now, now);
		return;
	}
	if (n)
		relay_stages(w, s, m, n, NULL);
}

/* The kernel's receive time of msg (SO_TIMESTAMPNS), as the TSC when it
 * arrived; the burst's read time (tsc) without one (the option was only
 * just turned on). */
static uint64_t rx_time(const struct dp_worker *w, const struct dp_leg *l, struct msghdr *msg, uint64_t rt_ns,
			uint64_t tsc)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			return dp_rt_to_tsc(w, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec, rt_ns, tsc,
					    l->hook_tsc);
		}
	return tsc;
}

/* The real-time clock (what the kernel stamps packets with, ns) and the
 * TSC at one instant: the real time read between two TSC readings, their
 * middle taken. A pair torn by an interrupt or preemption in between would
 * shift a whole burst's arrival times: a pair wider than 20 us is read
 * again (twice at most; the narrowest is kept). */
uint64_t dp_clock_pair(const struct dp_worker *w, uint64_t *tsc)
{
	uint64_t best = UINT64_MAX, rt_ns = 0, limit = w->tsc_hz / 50000u;

	for (int k = 0; k < 3; k++) {
		struct timespec rt;
		uint64_t t0 = rte_rdtsc(), t1;

		clock_gettime(CLOCK_REALTIME, &rt);
		t1 = rte_rdtsc();
		if (t1 - t0 < best) {
			best = t1 - t0;
			*tsc = t0 + (t1 - t0) / 2;
			rt_ns = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
		}
		if (best <= limit)
			break;
	}
	return rt_ns;
}

/* Kernel receive times: a control buffer per message. */
union rx_cmsg {
	char buf[CMSG_SPACE(sizeof(struct timespec))];
	struct cmsghdr align;
};

void dp_relay_socket(struct dp_worker *w, struct dp_sock *s)
{
	struct rte_mbuf *m[DP_BURST], *ok[DP_BURST];
	struct mmsghdr msg[DP_BURST];
	struct iovec iov[DP_BURST];
	struct sockaddr_storage src[DP_BURST];
	/* A terminated leg's hook (its jitter buffer) needs when each packet
	 * reached the socket, not when this worker got round to reading it:
	 * dp_leg_set_hook turned SO_TIMESTAMPNS on for its RTP socket. Relayed
	 * legs take none (nor the kernel's work of building them). */
	bool stamped = s->stamped;
	union rx_cmsg cm[DP_BURST];
	uint64_t arrival[DP_BURST];

	for (int round = 0; round < 8; round++) { /* then let other sockets have a turn */
		uint16_t k = 0;
		int n;

		if (rte_pktmbuf_alloc_bulk(w->pool, m, DP_BURST) != 0) {
			w->stats.drops[DP_DROP_RX_NO_MBUF]++; /* no buffers: leave them in the socket */
			return;
		}
		for (int i = 0; i < DP_BURST; i++) {
			iov[i].iov_base = rte_pktmbuf_mtod(m[i], void *);
			/* leave room for an SRTP trailer when re-encrypting */
			iov[i].iov_len = rte_pktmbuf_tailroom(m[i]) - DP_SRTP_MAX_RTCP_TRAILER;
			memset(&msg[i], 0, sizeof(msg[i]));
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
			msg[i].msg_hdr.msg_name = &src[i];
			msg[i].msg_hdr.msg_namelen = sizeof(src[i]);
		}
		if (stamped)
			for (int i = 0; i < DP_BURST; i++) {
				msg[i].msg_hdr.msg_control = cm[i].buf;
				msg[i].msg_hdr.msg_controllen = sizeof(cm[i].buf);
			}
		n = recvmmsg(s->fd, msg, DP_BURST, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			rte_pktmbuf_free_bulk(m, DP_BURST);
			return;
		}
		rte_pktmbuf_free_bulk(m + n, (unsigned)(DP_BURST - n));
		if (stamped) { /* one clock pair per burst maps the kernel's times to the TSC */
			uint64_t tsc = 0, rt_ns = dp_clock_pair(w, &tsc);

			for (int i = 0, j = 0; i < n; i++)
				if (!(msg[i].msg_hdr.msg_flags & MSG_TRUNC))
					arrival[j++] = rx_time(w, s->leg, &msg[i].msg_hdr, rt_ns, tsc);
		}
		for (int i = 0; i < n; i++) {
			uint32_t len = msg[i].msg_len;

			w->stats.rx_packets++;
			w->stats.rx_bytes += len;
			if (msg[i].msg_hdr.msg_flags & MSG_TRUNC) {
				dp_drop_count(w, s->leg, DP_DROP_OVERSIZED);
				rte_pktmbuf_free(m[i]);
				continue;
			}
			rte_pktmbuf_append(m[i], (uint16_t)len);
			dp_addr_from_sa(dp_mbuf_src(m[i]), &src[i]);
			ok[k++] = m[i];
		}
		dp_relay_burst(w, s, ok, k, stamped ? arrival : NULL);
		if (n < DP_BURST)
			return;
	}
}

void dp_relay_apply(struct dp_worker *w, struct dp_cmd *c)
{
	struct dp_leg *l = c->leg;
	struct dp_srtp *old[4];

	c->result = 0;
	switch (c->op) {
	case DP_CMD_ATTACH:
		/* io_uring workers (dp_leg_attach posts this instead of adding
		 * the sockets to the epoll set itself); a worker whose ring could
		 * not be enabled falls back to its epoll set */
		for (struct dp_sock *s = &l->rtp; s; s = s == &l->rtp ? &l->rtcp : NULL) {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

			if (s->fd < 0)
				continue;
			if (w->use_uring)
				dp_uring_attach(w, s);
			else if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
				c->result = -errno;
		}
		break;
	case DP_CMD_DETACH:
		/* the control lcore added the sockets (dp_leg.c), or this worker
		 * armed their receive (ATTACH); here no later epoll_wait or
		 * completion of this worker returns them (an io_uring worker
		 * relays what its request already received first). A leg that
		 * moves (c->call) keeps its peer when the peer's call moves too:
		 * the control lcore marked it `moving` before posting, and clears
		 * that only once this worker applied the move's commands. */
		for (struct dp_sock *s = &l->rtp; s; s = s == &l->rtp ? &l->rtcp : NULL) {
			if (s->fd < 0)
				continue;
			if (s->uslot >= 0 && w->use_uring)
				dp_uring_detach(w, s);
			else if (w->epfd >= 0)
				epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->fd, NULL);
		}
		if (l->peer && (!c->call || !l->peer->call->moving)) {
			if (l->peer->peer == l)
				l->peer->peer = NULL;
			l->peer = NULL;
		}
		break;
	case DP_CMD_SET_REMOTE:
		/* a new address from signalling replaces any latch: media goes
		 * there until a packet the source policy accepts latches again */
	{
		struct dp_addr rtp, rtcp;

		dp_addr_from_sa(&rtp, &c->rtp);
		dp_addr_from_sa(&rtcp, &c->rtcp);
		if (!dp_addr_eq(&l->remote_rtp, &rtp) || !dp_addr_eq(&l->remote_rtcp, &rtcp))
			l->latched_rtp = l->latched_rtcp = l->stats.latched = false;
		l->remote_rtp = rtp;
		l->remote_rtcp = rtcp;
		l->stats.remote = c->rtp;
	}
		break;
	case DP_CMD_SET_SIP_SRC:
	{
		struct dp_addr sip;

		dp_addr_from_sa(&sip, &c->rtp);
		if (sip.family != l->sip_src.family || (sip.family && !dp_addr_ip_eq(&l->sip_src, &sip)))
			l->latched_rtp = l->latched_rtcp = false; /* the NAT moved: learn afresh */
		l->sip_src = sip;
	}
		break;
	case DP_CMD_SET_SRTP:
		old[0] = l->srtp_rx;
		old[1] = l->srtp_tx;
		old[2] = l->srtcp_rx;
		old[3] = l->srtcp_tx;
		l->srtp_rx = c->srtp[0];
		l->srtp_tx = c->srtp[1];
		l->srtcp_rx = c->srtp[2];
		l->srtcp_tx = c->srtp[3];
		memcpy(c->srtp, old, sizeof(old));
		break;
	case DP_CMD_SET_FLAGS:
		/* rtcp-mux can be turned on (RTCP then also comes and goes on the
		 * RTP port), never off on a leg that has no RTCP port */
		l->flags = c->flags | (l->rtcp_port == l->rtp_port ? (unsigned)DP_LEG_RTCP_MUX : 0u);
		break;
	case DP_CMD_SET_CLOCK:
		l->clock_rate = c->clock_rate;
		break;
	case DP_CMD_PLAY_EVENT:
		if (l->inj_active) {
			c->result = -EBUSY;
			break;
		}
		l->inj_pt = c->ev_pt;
		l->inj_event = c->ev_event;
		l->inj_volume = c->ev_volume;
		l->inj_duration = c->ev_duration;
		l->inj_started = false;
		l->inj_active = true;
		break;
	case DP_CMD_SET_BLOCK:
		l->block_pt = c->block_pt;
		l->block_replace = c->block_replace;
		break;
	case DP_CMD_SET_HOOK:
	{
		dp_media_hook_fn fn = l->hook;
		void *ctx = l->hook_ctx;

		l->hook = c->hook;
		l->hook_ctx = c->hook_ctx;
		l->hook_tsc = rte_rdtsc(); /* no packet given to this hook arrived earlier */
		l->rtp.stamped = l->hook != NULL && l->rtp.fd >= 0;
		c->hook = fn; /* for a deferred release (dp_leg_set_hook_deferred) */
		c->hook_ctx = ctx;
	}
		break;
	case DP_CMD_CONNECT:
		if (l && l->peer && l->peer->peer == l)
			l->peer->peer = NULL;
		if (c->other && c->other->peer && c->other->peer->peer == c->other)
			c->other->peer->peer = NULL;
		if (l)
			l->peer = c->other;
		if (c->other)
			c->other->peer = l;
		break;
	case DP_CMD_TICKER_ADD:
	case DP_CMD_TICKER_DEL:
	case DP_CMD_CALL_TICKERS_ADD:
	case DP_CMD_CALL_TICKERS_DEL:
		dp_clock_apply(w, c);
		break;
	case DP_CMD_SET_REC:
		dp_rec_apply(w, c);
		break;
	case DP_CMD_NONE:
		break;
	}
}

/* Until an ethdev port exists no endpoint has eth set; this stub keeps the
 * link whole and is replaced by dp_eth.c. */
__attribute__((weak)) uint16_t dp_eth_send(struct dp_worker *w, struct dp_sock *s,
					   struct rte_mbuf **m, const struct dp_addr *dst,
					   uint16_t n)
{
	(void)s;
	(void)dst;
	w->stats.drops[DP_DROP_TX_FULL] += n;
	rte_pktmbuf_free_bulk(m, n);
	return 0;
}
