/* SPDX-License-Identifier: MIT
 * dp_relay: the worker side of legs. Reads bursts from a leg's kernel-UDP
 * socket straight into mbufs (recvmmsg), checks and relays each packet to
 * the peer leg (sendmmsg), and applies the control plane's commands.
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

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "dp_internal.h"

extern uint32_t dp_rtcp_interval_ms; /* dp_leg.c */

struct tx_batch {
	struct dp_sock *from; /* the local endpoint packets leave from */
	uint16_t n;
	struct rte_mbuf *m[DP_BURST];
	struct sockaddr_storage dst[DP_BURST];
};

static void flush(struct dp_worker *w, struct tx_batch *tx);

static socklen_t addr_len(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* Where leg l's peer gets what l sends: on its RTP port, or on its own
 * RTCP port (rtcp_port; never with rtcp-mux). The latched source unless the
 * leg is asymmetric, else the signalled address (ss_family 0: unknown). */
static const struct sockaddr_storage *peer_dest(const struct dp_leg *l, bool rtcp_port)
{
	bool latch = !(l->flags & DP_LEG_ASYMMETRIC);

	if (rtcp_port)
		return l->latched_rtcp && latch ? &l->src_rtcp : &l->remote_rtcp;
	return l->latched_rtp && latch ? &l->src_rtp : &l->remote_rtp;
}

static void drop(struct dp_worker *w, struct dp_leg *l, enum dp_drop why)
{
	w->stats.drops[why]++;
	if (l) {
		l->stats.drops[why]++;
		w->iface_drops[l->iface][why]++;
	}
}

/* A source refused by the policy: counted; the first one per leg is kept
 * for the control lcore to log (dp_media_log_refusals). */
static void refuse(struct dp_worker *w, struct dp_leg *l, const struct sockaddr_storage *src, enum dp_drop why)
{
	drop(w, l, why);
	if (!atomic_load_explicit(&l->refused_seen, memory_order_relaxed)) {
		l->refused_src = *src;
		l->refused_why = why;
		atomic_store_explicit(&l->refused_seen, true, memory_order_release);
	}
}

/* src becomes the leg's latched source on its RTP or RTCP port. RTCP
 * follows RTP: an RTCP latch on another IP than the new RTP one is let go. */
static void latch(struct dp_leg *a, const struct sockaddr_storage *src, bool rtcp_port)
{
	if (rtcp_port) {
		a->src_rtcp = *src;
		a->latched_rtcp = true;
		return;
	}
	if (a->latched_rtp && dp_addr_equal(src, &a->src_rtp))
		return;
	a->src_rtp = *src;
	a->latched_rtp = true;
	a->stats.latched = true;
	a->stats.source = *src;
	if (a->latched_rtcp && !dp_ip_equal(&a->src_rtcp, src))
		a->latched_rtcp = false;
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
	} else {
		udelta = (uint16_t)(r->seq - st->max_seq);
		if (udelta < 3000) {
			if (r->seq < st->max_seq)
				st->cycles += 65536;
			st->max_seq = r->seq;
		} else if (udelta <= 65535 - 100) {
			/* a big jump: the source restarted its numbering */
			st->bad_seq++;
			st->base_seq = r->seq;
			st->max_seq = r->seq;
			st->cycles = 0;
			st->received = 0;
		} /* else: duplicate or reordered, counted below */
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
	l->stats.jitter_ts = st->jitter_q4 >> 4;
	l->stats.jitter_ms = l->clock_rate ? (double)l->stats.jitter_ts * 1000.0 / l->clock_rate : 0;
}

/* Wall-clock NTP time (32.32): what SRs carry and LSR echoes. One
 * clock_gettime per RTCP packet, every few seconds per leg. */
static uint64_t ntp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)(ts.tv_sec + 2208988800u) << 32) | (uint64_t)(((uint64_t)ts.tv_nsec << 32) / 1000000000u);
}

/* The peer's receiver reports: how well the peer receives what we send. */
static void rtcp_stats(struct dp_leg *l, const struct dp_rtcp *c, uint64_t now_tsc)
{
	if (c->has_sr) { /* for the LSR/DLSR of the reports medius generates */
		l->peer_sr_mid = dp_ntp_middle32(c->sr_ntp);
		l->peer_sr_tsc = now_tsc;
	}
	if (!c->n_rb)
		return;
	l->stats.have_rr = true;
	l->stats.rr_fraction_lost = c->rb[0].fraction_lost;
	l->stats.rr_cum_lost = c->rb[0].cum_lost;
	l->stats.rr_jitter_ts = c->rb[0].jitter;
	if (c->rb[0].lsr) {
		/* NTP "now" in the same 16.16 units as LSR: wall clock is what the
		 * SR carried; TSC only gives a monotonic reference, so use the
		 * real-time clock here (one call per RTCP packet, every few s). */
		int32_t rtt = dp_rtcp_rtt_ms(c->rb[0].lsr, c->rb[0].dlsr, dp_ntp_middle32(ntp_now()));
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

static enum dp_drop srtp_reason(int rc);

/* Protect m (SRTP, or SRTCP when rtcp) as leg b sends it, and queue it on tx
 * to dst from local socket from, flushing a full batch first. false: dropped
 * and counted on a; the caller still owns m. */
static bool send_out(struct dp_worker *w, struct dp_leg *a, struct dp_leg *b, bool rtcp, struct rte_mbuf *m,
		     struct tx_batch *tx, struct dp_sock *from, const struct sockaddr_storage *dst)
{
	struct dp_srtp *ctx = rtcp ? b->srtcp_tx : b->srtp_tx;
	uint16_t len = rte_pktmbuf_data_len(m);

	if (ctx) {
		uint8_t *pk[1] = { rte_pktmbuf_mtod(m, uint8_t *) };
		uint16_t ln[1] = { len };
		uint16_t room = (uint16_t)(len + rte_pktmbuf_tailroom(m));
		int16_t rc;

		if ((rtcp ? dp_srtcp_protect_burst : dp_srtp_protect_burst)(ctx, pk, ln, room, &rc, 1) != 1) {
			drop(w, a, srtp_reason(rc));
			return false;
		}
		rte_pktmbuf_append(m, (uint16_t)(ln[0] - len));
		len = ln[0];
	}
	if (tx->n == DP_BURST)
		flush(w, tx);
	tx->from = from;
	tx->m[tx->n] = m;
	tx->dst[tx->n] = *dst;
	tx->n++;
	b->stats.out_packets++;
	b->stats.out_bytes += len;
	return true;
}

/* A new RTP packet of len bytes (header version byte set), or NULL with
 * ALLOC_FAILED counted on a. */
static uint8_t *gen_alloc(struct dp_worker *w, struct dp_leg *a, uint16_t len, struct rte_mbuf **mp)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
	uint8_t *q;

	if (!m || !(q = (uint8_t *)rte_pktmbuf_append(m, len))) {
		if (m)
			rte_pktmbuf_free(m);
		drop(w, a, DP_DROP_ALLOC_FAILED);
		return NULL;
	}
	q[0] = 0x80;
	*mp = m;
	return q;
}

/* Hand valid RTP packet p (header r) of terminated leg a to its hook. */
static void run_hook(struct dp_leg *a, const uint8_t *p, const struct dp_rtp *r, uint64_t now)
{
	struct dp_rtp_in in = {
		.pt = r->pt, .marker = r->marker, .seq = r->seq, .ts = r->ts, .ssrc = r->ssrc,
		.payload = p + r->payload_off, .len = r->payload_len, .arrival_tsc = now,
	};

	a->stats.hook_in++;
	a->hook(a->hook_ctx, &in);
}

unsigned dp_leg_send(struct dp_leg *l, const struct dp_rtp_out *pk, unsigned n)
{
	struct dp_worker *w = l->w;
	const struct sockaddr_storage *dst = peer_dest(l, false);
	struct tx_batch tx; /* 8.8 KB: set only what is read */
	uint64_t now = rte_rdtsc();
	unsigned sent = 0;

	tx.n = 0;
	tx.from = NULL;
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m;
		uint8_t *q;

		if (dst->ss_family == 0) {
			drop(w, l, DP_DROP_NO_DEST);
			continue;
		}
		if (!(q = gen_alloc(w, l, (uint16_t)(DP_RTP_HDR_LEN + pk[i].len), &m)))
			continue;
		q[1] = (uint8_t)((pk[i].marker ? 0x80 : 0) | (pk[i].pt & 0x7f));
		dp_rtp_set_seq(q, pk[i].seq);
		dp_rtp_set_ts(q, pk[i].ts);
		dp_rtp_set_ssrc(q, pk[i].ssrc);
		memcpy(q + DP_RTP_HDR_LEN, pk[i].payload, pk[i].len);
		if (!send_out(w, l, l, false, m, &tx, &l->rtp, dst)) {
			rte_pktmbuf_free(m);
			continue;
		}
		l->stats.hook_out++;
		l->gen_ssrc = pk[i].ssrc;
		l->gen_packets++;
		l->gen_octets += pk[i].len;
		l->gen_last_ts = pk[i].ts;
		l->gen_last_tsc = now;
		sent++;
	}
	flush(w, &tx);
	return sent;
}

struct dp_call *dp_leg_call(const struct dp_leg *l) { return l->call; }

/* On a hooked (transcoded) leg medius is the RTP endpoint the peer talks
 * to, so it reports to the peer itself (RFC 3550 6.4): an SR about the media
 * the hooks sent it (an RR before there was any), one report block about
 * what it receives from the peer, and an SDES CNAME. Sent through tx, alone
 * (tx is flushed before and after: it may hold the other leg's packets). */
static void rtcp_generate(struct dp_worker *w, struct dp_leg *a, uint64_t now, struct tx_batch *tx)
{
	bool mux = a->flags & DP_LEG_RTCP_MUX, sr = a->gen_packets != 0;
	struct dp_sock *from = mux ? &a->rtp : &a->rtcp;
	const struct sockaddr_storage *dst = peer_dest(a, !mux);
	const struct dp_rx_stream *rx = &a->rx;
	uint16_t sr_len = sr ? 28 : 8, len = (uint16_t)(sr_len + 24 + 20);
	uint32_t expected, expected_int, received_int, fraction = 0, ext_max;
	int64_t lost_int;
	struct rte_mbuf *m;
	uint8_t *q, *rb, *sd;

	a->rtcp_gen_tsc = now;
	if (!rx->started || dst->ss_family == 0)
		return;
	q = gen_alloc(w, a, len, &m);
	if (!q)
		return;
	/* SR or RR, with one report block */
	q[0] = 0x81;
	q[1] = sr ? 200 : 201;
	dp_put_be16(q + 2, (uint16_t)((sr_len + 24) / 4 - 1));
	dp_put_be32(q + 4, a->gen_ssrc);
	if (sr) {
		uint64_t ntp = ntp_now();
		uint32_t ts = a->gen_last_ts;

		if (a->clock_rate)
			ts += (uint32_t)((now - a->gen_last_tsc) * a->clock_rate / w->tsc_hz);
		dp_put_be32(q + 8, (uint32_t)(ntp >> 32));
		dp_put_be32(q + 12, (uint32_t)ntp);
		dp_put_be32(q + 16, ts);
		dp_put_be32(q + 20, a->gen_packets);
		dp_put_be32(q + 24, a->gen_octets);
	}
	rb = q + sr_len;
	ext_max = rx->cycles + rx->max_seq;
	expected = ext_max - rx->base_seq + 1;
	expected_int = expected - a->rr_expected_prior;
	received_int = rx->received - a->rr_received_prior;
	a->rr_expected_prior = expected;
	a->rr_received_prior = rx->received;
	lost_int = (int64_t)expected_int - (int64_t)received_int;
	if (expected_int && lost_int > 0)
		fraction = (uint32_t)((lost_int << 8) / expected_int);
	dp_put_be32(rb, rx->ssrc);
	dp_put_be32(rb + 4, (fraction > 255 ? 255u : fraction) << 24 | (a->stats.lost > 0x7fffff ? 0x7fffffu : a->stats.lost));
	dp_put_be32(rb + 8, ext_max);
	dp_put_be32(rb + 12, rx->jitter_q4 >> 4);
	dp_put_be32(rb + 16, a->peer_sr_mid);
	dp_put_be32(rb + 20, a->peer_sr_mid ? (uint32_t)((now - a->peer_sr_tsc) * 65536u / w->tsc_hz) : 0);
	/* SDES: CNAME "medius" */
	sd = rb + 24;
	sd[0] = 0x81;
	sd[1] = 202;
	dp_put_be16(sd + 2, 4);
	dp_put_be32(sd + 4, a->gen_ssrc);
	sd[8] = 1;
	sd[9] = 6;
	memcpy(sd + 10, "medius", 6);
	memset(sd + 16, 0, 4); /* the end of the item list, padding the chunk to 32 bits */
	if (tx->n && tx->from != from)
		flush(w, tx);
	if (!send_out(w, a, a, true, m, tx, from, dst)) {
		rte_pktmbuf_free(m);
		return;
	}
	flush(w, tx);
	a->stats.rtcp_generated++;
}

/* ng play DTMF: after forwarding media packet (seq media_seq, header r)
 * through b, send the event's next RFC 4733 packet(s) in the same stream:
 * its SSRC, the event's start timestamp, the sequence numbers right after
 * (later media is shifted to make room). */
static void inject_after(struct dp_worker *w, struct dp_leg *a, struct dp_leg *b, const struct dp_rtp *r,
			 uint16_t media_seq, struct tx_batch *tx, const struct sockaddr_storage *dst)
{
	uint32_t elapsed;
	bool end;
	int count;

	if (!b->inj_started) {
		b->inj_started = true;
		b->inj_start_ts = r->ts;
	}
	elapsed = r->ts - b->inj_start_ts;
	end = elapsed >= b->inj_duration;
	count = end ? 3 : 1;
	for (int k = 0; k < count; k++) {
		uint32_t dur = end ? b->inj_duration : elapsed;
		struct rte_mbuf *m;
		uint8_t *q = gen_alloc(w, a, DP_RTP_HDR_LEN + 4, &m);

		if (!q)
			continue;
		q[1] = (uint8_t)((elapsed == 0 && k == 0 ? 0x80 : 0) | b->inj_pt);
		dp_rtp_set_seq(q, (uint16_t)(media_seq + 1 + k));
		dp_rtp_set_ts(q, b->inj_start_ts);
		dp_rtp_set_ssrc(q, r->ssrc);
		q[12] = b->inj_event;
		q[13] = (uint8_t)((end ? 0x80 : 0) | (b->inj_volume & 0x3f));
		dp_put_be16(q + 14, (uint16_t)dur);
		if (!send_out(w, a, b, false, m, tx, &b->rtp, dst)) {
			rte_pktmbuf_free(m);
			continue;
		}
		b->stats.events_played++;
	}
	b->inj_seq_shift = (uint16_t)(b->inj_seq_shift + count);
	if (end)
		b->inj_active = false;
}

static enum dp_drop srtp_reason(int rc)
{
	return rc == -EBADMSG ? DP_DROP_SRTP_AUTH : rc == -EALREADY ? DP_DROP_SRTP_REPLAY : DP_DROP_SRTP_OTHER;
}

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

/* Check, account and rewrite one packet from socket s; returns true when it
 * was queued on one of the two batches (the caller then owns nothing). */
static bool relay_one(struct dp_worker *w, struct dp_sock *s, struct rte_mbuf *m,
		      const struct sockaddr_storage *src, uint64_t now, struct tx_batch *tx_rtp,
		      struct tx_batch *tx_rtcp)
{
	struct dp_leg *a = s->leg, *b = a->peer;
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t len = rte_pktmbuf_data_len(m);
	uint16_t room = (uint16_t)(rte_pktmbuf_data_len(m) + rte_pktmbuf_tailroom(m));
	bool mux = a->flags & DP_LEG_RTCP_MUX, rtcp;
	enum dp_src_verdict verdict;
	const struct sockaddr_storage *dst;
	struct dp_srtp *ctx;
	struct dp_rtp r;
	struct dp_rtcp c;
	struct tx_batch *tx;
	struct dp_sock *from;
	enum dp_drop why;
	uint16_t media_seq = 0;
	int16_t rc;

	switch (dp_demux(p, len)) {
	case DP_DEMUX_RTP:
		break;
	case DP_DEMUX_OTHER: /* first byte 80-127 or 192-255: RTP-like, version 1 or 3 */
		drop(w, a, len < 1 ? DP_DROP_RTP_TRUNC : p[0] >= 80 ? DP_DROP_RTP_VERSION : DP_DROP_NOT_RTP);
		return false;
	default: /* STUN, DTLS, ZRTP, TURN: not handled on a relay leg yet */
		drop(w, a, DP_DROP_NOT_RTP);
		return false;
	}
	rtcp = s->rtcp || (mux && dp_is_rtcp(p, len));
	if (len < (rtcp ? 8 : DP_RTP_HDR_LEN)) { /* before any crypto work */
		drop(w, a, rtcp ? DP_DROP_RTCP_BAD : DP_DROP_RTP_TRUNC);
		return false;
	}
	/* who may send: before any decryption work */
	verdict = dp_source_admit(a, src, rtcp && !mux, rtcp, now, w->tsc_hz, &why);
	if (verdict == DP_SRC_REFUSE) {
		refuse(w, a, src, why);
		return false;
	}

	/* authenticate and decrypt */
	ctx = rtcp ? a->srtcp_rx : a->srtp_rx;
	if (ctx) {
		uint8_t *pk[1] = { p };
		uint16_t ln[1] = { len };

		if ((rtcp ? dp_srtcp_unprotect_burst : dp_srtp_unprotect_burst)(ctx, pk, ln, room, &rc, 1) != 1) {
			drop(w, a, srtp_reason(rc));
			return false;
		}
		len = ln[0];
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - len));
	}
	why = rtcp ? dp_rtcp_parse(p, len, &c) : dp_rtp_parse(p, len, &r);
	if (why != DP_DROP_NONE) {
		drop(w, a, why);
		return false;
	}

	/* valid: latch, account */
	if (verdict == DP_SRC_TAKEOVER) {
		if (rtcp || !dp_source_continuous(a, &r, now, w->tsc_hz)) {
			refuse(w, a, src, DP_DROP_RELATCH_REFUSED);
			return false;
		}
		verdict = DP_SRC_LATCH;
	}
	if (verdict == DP_SRC_LATCH)
		latch(a, src, rtcp && !mux);
	a->last_valid_tsc = now;
	if (!rtcp)
		dp_source_note(a, &r, now);
	if (!rtcp && r.pt == a->block_pt && dtmf_blocked(a, p + r.payload_off, &r)) /* ng "block DTMF" */
		return false;
	if (rtcp) {
		a->stats.rtcp_packets++;
		rtcp_stats(a, &c, now);
	} else {
		a->stats.rtp_packets++;
		a->stats.rtp_bytes += r.payload_len;
		rx_stats(w, a, &r, now);
	}

	/* where to: a terminated leg's media goes to its hook */
	if (a->hook) {
		if (!rtcp) {
			run_hook(a, p, &r, now);
			if (now - a->rtcp_gen_tsc >= (uint64_t)dp_rtcp_interval_ms * w->tsc_hz / 1000u)
				rtcp_generate(w, a, now, tx_rtcp);
		}
		return false; /* consumed: the input mbuf is freed by the caller */
	}
	if (!b) {
		drop(w, a, DP_DROP_NO_FLOW);
		return false;
	}
	mux = b->flags & DP_LEG_RTCP_MUX;
	if (rtcp && !mux) {
		dst = peer_dest(b, true);
		tx = tx_rtcp;
		from = &b->rtcp;
	} else {
		dst = peer_dest(b, false);
		tx = tx_rtp;
		from = &b->rtp;
	}
	if (dst->ss_family == 0) {
		drop(w, a, DP_DROP_NO_DEST);
		return false;
	}
	if (!rtcp && (b->flags & DP_LEG_REWRITE))
		rewrite(w, b, p, &r, now);
	if (!rtcp && b->inj_seq_shift) /* room for events injected earlier */
		dp_rtp_set_seq(p, (uint16_t)(dp_get_be16(p + 2) + b->inj_seq_shift));
	media_seq = dp_get_be16(p + 2);
	if (!send_out(w, a, b, rtcp, m, tx, from, dst))
		return false;
	if (!rtcp && b->inj_active)
		inject_after(w, a, b, &r, media_seq, tx, dst);
	return true;
}

/* A packet of len bytes queued on tx that the kernel did not take: counted
 * as `why` on the sending leg, and no longer as sent to its peer. */
static void unsent(struct dp_worker *w, struct tx_batch *tx, size_t len, enum dp_drop why)
{
	struct dp_leg *l = tx->from->leg;

	drop(w, l, why);
	if (l->stats.out_packets) {
		l->stats.out_packets--;
		l->stats.out_bytes -= len;
	}
}

static void flush(struct dp_worker *w, struct tx_batch *tx)
{
	struct mmsghdr msg[DP_BURST];
	struct iovec iov[DP_BURST];
	int sent = 0;

	if (!tx->n)
		return;
	if (tx->from->eth) {
		uint16_t ok = dp_eth_send(w, tx->from, tx->m, tx->dst, tx->n);

		w->stats.tx_packets += ok;
		tx->n = 0;
		return;
	}
	for (uint16_t i = 0; i < tx->n; i++) {
		iov[i].iov_base = rte_pktmbuf_mtod(tx->m[i], void *);
		iov[i].iov_len = rte_pktmbuf_data_len(tx->m[i]);
		memset(&msg[i], 0, sizeof(msg[i]));
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
		msg[i].msg_hdr.msg_name = &tx->dst[i];
		msg[i].msg_hdr.msg_namelen = addr_len(&tx->dst[i]);
	}
	while (sent < tx->n) {
		int r = sendmmsg(tx->from->fd, msg + sent, (unsigned)(tx->n - sent), MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 && (r == 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			while (sent < tx->n) /* socket buffer full: drop the rest */
				unsent(w, tx, iov[sent++].iov_len, DP_DROP_TX_FULL);
			break;
		}
		if (r < 0) { /* no route, unreachable: this packet, and those right behind
			      * it to the same place, cannot go; try the rest */
			const struct sockaddr_storage *bad = &tx->dst[sent];

			do
				unsent(w, tx, iov[sent++].iov_len, DP_DROP_TX_ERROR);
			while (sent < tx->n && dp_addr_equal(&tx->dst[sent], bad));
			continue;
		}
		for (int i = sent; i < sent + r; i++) {
			w->stats.tx_packets++;
			w->stats.tx_bytes += iov[i].iov_len;
		}
		sent += r;
	}
	rte_pktmbuf_free_bulk(tx->m, tx->n);
	tx->n = 0;
}

void dp_relay_burst(struct dp_worker *w, struct dp_sock *s, struct rte_mbuf **m,
		    const struct sockaddr_storage *src, uint16_t n)
{
	struct tx_batch tx_rtp, tx_rtcp; /* 8.8 KB: set only what is read, not all of it */
	uint64_t now = rte_rdtsc();

	tx_rtp.n = tx_rtcp.n = 0;
	tx_rtp.from = tx_rtcp.from = NULL;

	for (uint16_t i = 0; i < n; i++)
		if (!relay_one(w, s, m[i], &src[i], now, &tx_rtp, &tx_rtcp))
			rte_pktmbuf_free(m[i]);
	flush(w, &tx_rtp);
	flush(w, &tx_rtcp);
}

void dp_relay_socket(struct dp_worker *w, struct dp_sock *s)
{
	struct rte_mbuf *m[DP_BURST], *ok[DP_BURST];
	struct mmsghdr msg[DP_BURST];
	struct iovec iov[DP_BURST];
	struct sockaddr_storage src[DP_BURST], ok_src[DP_BURST];

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
		n = recvmmsg(s->fd, msg, DP_BURST, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			rte_pktmbuf_free_bulk(m, DP_BURST);
			return;
		}
		rte_pktmbuf_free_bulk(m + n, (unsigned)(DP_BURST - n));
		for (int i = 0; i < n; i++) {
			uint32_t len = msg[i].msg_len;

			w->stats.rx_packets++;
			w->stats.rx_bytes += len;
			if (msg[i].msg_hdr.msg_flags & MSG_TRUNC) {
				drop(w, s->leg, DP_DROP_OVERSIZED);
				rte_pktmbuf_free(m[i]);
				continue;
			}
			rte_pktmbuf_append(m[i], (uint16_t)len);
			ok[k] = m[i];
			ok_src[k++] = src[i];
		}
		dp_relay_burst(w, s, ok, ok_src, k);
		if (n < DP_BURST)
			return;
	}
}

static int epoll_add(struct dp_worker *w, struct dp_sock *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

	return s->fd < 0 ? 0 : epoll_ctl(w->epfd, EPOLL_CTL_ADD, s->fd, &ev) ? -errno : 0;
}

void dp_relay_apply(struct dp_worker *w, struct dp_cmd *c)
{
	struct dp_leg *l = c->leg;
	struct dp_srtp *old[4];

	c->result = 0;
	switch (c->op) {
	case DP_CMD_ATTACH:
		c->result = epoll_add(w, &l->rtp);
		if (!c->result)
			c->result = epoll_add(w, &l->rtcp);
		break;
	case DP_CMD_DETACH:
		if (l->rtp.fd >= 0 && w->epfd >= 0)
			epoll_ctl(w->epfd, EPOLL_CTL_DEL, l->rtp.fd, NULL);
		if (l->rtcp.fd >= 0 && w->epfd >= 0)
			epoll_ctl(w->epfd, EPOLL_CTL_DEL, l->rtcp.fd, NULL);
		if (l->peer && l->peer->peer == l)
			l->peer->peer = NULL;
		l->peer = NULL;
		break;
	case DP_CMD_SET_REMOTE:
		/* a new address from signalling replaces any latch: media goes
		 * there until a packet the source policy accepts latches again */
		if (!dp_addr_equal(&l->remote_rtp, &c->rtp) || !dp_addr_equal(&l->remote_rtcp, &c->rtcp))
			l->latched_rtp = l->latched_rtcp = false;
		l->remote_rtp = c->rtp;
		l->remote_rtcp = c->rtcp;
		break;
	case DP_CMD_SET_SIP_SRC:
		if (c->rtp.ss_family != l->sip_src.ss_family || (c->rtp.ss_family && !dp_ip_equal(&l->sip_src, &c->rtp)))
			l->latched_rtp = l->latched_rtcp = false; /* the NAT moved: learn afresh */
		l->sip_src = c->rtp;
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
		l->hook = c->hook;
		l->hook_ctx = c->hook_ctx;
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
	case DP_CMD_NONE:
		break;
	}
}

/* Until an ethdev port exists no endpoint has eth set; this stub keeps the
 * link whole and is replaced by dp_eth.c. */
__attribute__((weak)) uint16_t dp_eth_send(struct dp_worker *w, struct dp_sock *s,
					   struct rte_mbuf **m, const struct sockaddr_storage *dst,
					   uint16_t n)
{
	(void)s;
	(void)dst;
	w->stats.drops[DP_DROP_TX_FULL] += n;
	rte_pktmbuf_free_bulk(m, n);
	return 0;
}
