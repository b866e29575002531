/* SPDX-License-Identifier: MIT
 * dp_tx: the transmit side of a worker's legs. Batches of packets leaving
 * one local endpoint (on kernel UDP sendmmsg, or one io_uring send each,
 * dp_uring.c; dp_eth_send on ethdev), SRTP protection for the sending
 * leg, and the media medius makes itself: the
 * media engine's packets (dp_leg_send), the RTCP reports of terminated
 * legs, and RFC 4733 events injected by ng "play DTMF".
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "dp_internal.h"

extern uint32_t dp_rtcp_interval_ms; /* dp_leg.c */

/* Where leg l's peer gets what l sends: on its RTP port, or on its own
 * RTCP port (rtcp_port; never with rtcp-mux). The latched source unless the
 * leg is asymmetric, else the signalled address (ss_family 0: unknown). */
const struct dp_addr *dp_peer_dest(const struct dp_leg *l, bool rtcp_port)
{
	bool latch = !(l->flags & DP_LEG_ASYMMETRIC);

	if (rtcp_port)
		return l->latched_rtcp && latch ? &l->src_rtcp : &l->remote_rtcp;
	return l->latched_rtp && latch ? &l->src_rtp : &l->remote_rtp;
}

enum dp_drop dp_srtp_drop_reason(int rc)
{
	switch (rc) {
	case -EBADMSG:
		return DP_DROP_SRTP_AUTH;
	case -EALREADY:
		return DP_DROP_SRTP_REPLAY;
	case -EINVAL:
		return DP_DROP_SRTP_MALFORMED;
	case -ENOKEY:
		return DP_DROP_SRTP_MKI;
	case -ENOBUFS:
		return DP_DROP_SRTP_SSRC_LIMIT;
	case -ENOMEM: /* libsrtp's stream for a new SSRC (the libsrtp engine allocates on the worker) */
		return DP_DROP_ALLOC_FAILED;
	default:
		return DP_DROP_SRTP_OTHER;
	}
}


void dp_tx_protect(struct dp_worker *w, struct dp_leg *a, struct dp_leg *b, bool rtcp, struct rte_mbuf **m,
		   uint16_t n)
{
	struct dp_srtp *ctx = rtcp ? b->srtcp_tx : b->srtp_tx;
	uint8_t *pk[DP_BURST];
	uint16_t ln[DP_BURST], room = UINT16_MAX;
	int16_t rc[DP_BURST];

	if (!ctx || !n)
		return;
	for (uint16_t i = 0; i < n; i++) {
		uint16_t r = (uint16_t)(rte_pktmbuf_data_len(m[i]) + rte_pktmbuf_tailroom(m[i]));

		pk[i] = rte_pktmbuf_mtod(m[i], uint8_t *);
		ln[i] = rte_pktmbuf_data_len(m[i]);
		room = r < room ? r : room;
	}
	if ((rtcp ? dp_srtcp_protect_burst : dp_srtp_protect_burst)(ctx, pk, ln, room, rc, n) == n) {
		for (uint16_t i = 0; i < n; i++)
			rte_pktmbuf_append(m[i], (uint16_t)(ln[i] - rte_pktmbuf_data_len(m[i])));
		return;
	}
	for (uint16_t i = 0; i < n; i++) {
		if (rc[i]) {
			dp_drop_count(w, a, dp_srtp_drop_reason(rc[i]));
			rte_pktmbuf_free(m[i]);
			m[i] = NULL;
		} else {
			rte_pktmbuf_append(m[i], (uint16_t)(ln[i] - rte_pktmbuf_data_len(m[i])));
		}
	}
}

void dp_tx_queue(struct dp_worker *w, struct dp_leg *b, struct rte_mbuf *m, struct dp_tx_batch *tx,
		 struct dp_sock *from, const struct dp_addr *dst)
{
	if (tx->n == DP_BURST || (tx->n && tx->from != from))
		dp_tx_flush(w, tx);
	tx->from = from;
	tx->m[tx->n] = m;
	tx->dst[tx->n] = *dst;
	tx->n++;
	b->stats.out_packets++;
	b->stats.out_bytes += rte_pktmbuf_data_len(m);
}

bool dp_tx_send(struct dp_worker *w, struct dp_leg *a, struct dp_leg *b, bool rtcp, struct rte_mbuf *m,
		struct dp_tx_batch *tx, struct dp_sock *from, const struct dp_addr *dst)
{
	dp_tx_protect(w, a, b, rtcp, &m, 1);
	if (!m)
		return false;
	dp_tx_queue(w, b, m, tx, from, dst);
	return true;
}

/* A packet of len bytes queued on tx that the kernel did not take: counted
 * as `why` on the sending leg, and no longer as sent to its peer. */
static void unsent(struct dp_worker *w, struct dp_tx_batch *tx, size_t len, enum dp_drop why)
{
	struct dp_leg *l = tx->from->leg;

	dp_drop_count(w, l, why);
	if (l->stats.out_packets) {
		l->stats.out_packets--;
		l->stats.out_bytes -= len;
	}
}

void dp_tx_flush(struct dp_worker *w, struct dp_tx_batch *tx)
{
	struct mmsghdr msg[DP_BURST];
	struct iovec iov[DP_BURST];
	struct sockaddr_in6 sa[DP_BURST]; /* holds a sockaddr_in too */
	int sent = 0;

	if (!tx->n)
		return;
	if (tx->from->eth) {
		uint16_t ok = dp_eth_send(w, tx->from, tx->m, tx->dst, tx->n);

		w->stats.tx_packets += ok;
		tx->n = 0;
		return;
	}
	if (w->use_uring) { /* one send each, submitted with the loop turn's io_uring_enter */
		dp_uring_send(w, tx);
		return;
	}
	for (uint16_t i = 0; i < tx->n; i++) {
		iov[i].iov_base = rte_pktmbuf_mtod(tx->m[i], void *);
		iov[i].iov_len = rte_pktmbuf_data_len(tx->m[i]);
		memset(&msg[i], 0, sizeof(msg[i]));
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
		msg[i].msg_hdr.msg_name = &sa[i];
		msg[i].msg_hdr.msg_namelen = dp_addr_to_sa(&tx->dst[i], &sa[i]);
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
			const struct dp_addr *bad = &tx->dst[sent];

			do
				unsent(w, tx, iov[sent++].iov_len, DP_DROP_TX_ERROR);
			while (sent < tx->n && dp_addr_eq(&tx->dst[sent], bad));
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

/* A new RTP packet of len bytes (header version byte set), or NULL with
 * ALLOC_FAILED counted on a. */
uint8_t *dp_tx_alloc(struct dp_worker *w, struct dp_leg *a, uint16_t len, struct rte_mbuf **mp)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
	uint8_t *q;

	if (!m || !(q = (uint8_t *)rte_pktmbuf_append(m, len))) {
		if (m)
			rte_pktmbuf_free(m);
		dp_drop_count(w, a, DP_DROP_ALLOC_FAILED);
		return NULL;
	}
	q[0] = 0x80;
	*mp = m;
	return q;
}

/* Wall-clock NTP time (32.32): what SRs carry and LSR echoes. One
 * clock_gettime per RTCP packet, every few seconds per leg. */
uint64_t dp_ntp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)(ts.tv_sec + 2208988800u) << 32) | (uint64_t)(((uint64_t)ts.tv_nsec << 32) / 1000000000u);
}

/* On a hooked (transcoded) leg medius is the RTP endpoint the peer talks
 * to, so it reports to the peer itself (RFC 3550 6.4): an SR about the media
 * the hooks sent it (an RR before there was any), one report block about
 * what it receives from the peer, and an SDES CNAME. Sent through tx, alone
 * (tx is flushed before and after: it may hold the other leg's packets). */
void dp_rtcp_generate(struct dp_worker *w, struct dp_leg *a, uint64_t now, struct dp_tx_batch *tx)
{
	bool mux = a->flags & DP_LEG_RTCP_MUX, sr = a->gen_packets != 0;
	struct dp_sock *from = mux ? &a->rtp : &a->rtcp;
	const struct dp_addr *dst = dp_peer_dest(a, !mux);
	const struct dp_rx_stream *rx = &a->rx;
	uint16_t sr_len = sr ? 28 : 8, len = (uint16_t)(sr_len + 24 + 20);
	uint32_t expected, expected_int, received_int, fraction = 0, ext_max;
	int64_t lost_int;
	struct rte_mbuf *m;
	uint8_t *q, *rb, *sd;

	a->rtcp_gen_tsc = now;
	if (!rx->started || dst->family == 0)
		return;
	q = dp_tx_alloc(w, a, len, &m);
	if (!q)
		return;
	/* SR or RR, with one report block */
	q[0] = 0x81;
	q[1] = sr ? 200 : 201;
	dp_put_be16(q + 2, (uint16_t)((sr_len + 24) / 4 - 1));
	dp_put_be32(q + 4, a->gen_ssrc);
	if (sr) {
		uint64_t ntp = dp_ntp_now();
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
		dp_tx_flush(w, tx);
	if (!dp_tx_send(w, a, a, true, m, tx, from, dst)) {
		rte_pktmbuf_free(m);
		return;
	}
	dp_tx_flush(w, tx);
	a->stats.rtcp_generated++;
}

/* ng play DTMF: after forwarding media packet (seq media_seq, header r)
 * through b, send the event's next RFC 4733 packet(s) in the same stream:
 * its SSRC, the event's start timestamp, the sequence numbers right after
 * (later media is shifted to make room). */
void dp_inject_after(struct dp_worker *w, struct dp_leg *a, struct dp_leg *b, const struct dp_rtp *r,
			 uint16_t media_seq, struct dp_tx_batch *tx, const struct dp_addr *dst)
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
		uint8_t *q = dp_tx_alloc(w, a, DP_RTP_HDR_LEN + 4, &m);

		if (!q)
			continue;
		q[1] = (uint8_t)((elapsed == 0 && k == 0 ? 0x80 : 0) | b->inj_pt);
		dp_rtp_set_seq(q, (uint16_t)(media_seq + 1 + k));
		dp_rtp_set_ts(q, b->inj_start_ts);
		dp_rtp_set_ssrc(q, r->ssrc);
		q[12] = b->inj_event;
		q[13] = (uint8_t)((end ? 0x80 : 0) | (b->inj_volume & 0x3f));
		dp_put_be16(q + 14, (uint16_t)dur);
		if (!dp_tx_send(w, a, b, false, m, tx, &b->rtp, dst)) {
			rte_pktmbuf_free(m);
			continue;
		}
		b->stats.events_played++;
	}
	b->inj_seq_shift = (uint16_t)(b->inj_seq_shift + count);
	if (end)
		b->inj_active = false;
}

unsigned dp_leg_send(struct dp_leg *l, const struct dp_rtp_frame *pk, unsigned n)
{
	struct dp_worker *w = l->w;
	const struct dp_addr *dst = dp_peer_dest(l, false);
	struct dp_tx_batch tx; /* 8.8 KB: set only what is read */
	uint64_t now = rte_rdtsc();
	unsigned sent = 0;

	tx.n = 0;
	tx.from = NULL;
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m;
		uint8_t *q;

		if (dst->family == 0) {
			dp_drop_count(w, l, DP_DROP_NO_DEST);
			continue;
		}
		if (!(q = dp_tx_alloc(w, l, (uint16_t)(DP_RTP_HDR_LEN + pk[i].len), &m)))
			continue;
		dp_rtp_frame_header(&pk[i], q);
		memcpy(q + DP_RTP_HDR_LEN, pk[i].payload, pk[i].len);
		if (!dp_tx_send(w, l, l, false, m, &tx, &l->rtp, dst)) {
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
	dp_tx_flush(w, &tx);
	return sent;
}

