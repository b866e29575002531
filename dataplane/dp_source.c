/* SPDX-License-Identifier: MIT
 * dp_source: who may send to a leg, and who may take its latch (RTP Bleed
 * and injection protection). Pure decisions on the leg's worker-side state;
 * dp_relay.c calls dp_source_admit before any crypto work and
 * dp_source_latch once the packet is valid (parsed, and authenticated on
 * an SRTP leg). The rules, in the order they are tried:
 *
 *  1. Strict source: only the signalled address and port, ever. Asymmetric
 *     legs: see rule 7.
 *  2. The signalled address (SDP c= and port; a=rtcp or port + 1 for RTCP)
 *     is always accepted, and latches at once over any earlier latch.
 *  3. The latched source is accepted.
 *  4. A source that is neither may become the latch only when the leg's
 *     policy allows its address:
 *       - a received-from (SIP source) IP that differs from the SDP's IP
 *         marks the peer as behind a NAT: any port on that IP;
 *       - an interface with nat_learning: any source;
 *       - otherwise nothing: the SDP's IP on another port is refused too
 *         (a peer that is not behind a NAT sends from its SDP port,
 *         RFC 4961). Refused as spoofed_source.
 *  5. Taking over an existing latch needs proof that it is the same stream:
 *       - plain legs: an RTP packet with the stream's SSRC, a sequence
 *         number 1..DP_SRC_SEQ_WINDOW ahead of the last valid packet, and a
 *         timestamp no further ahead than the time that passed plus 1 s.
 *         Silence alone is never enough. Refused as relatch_refused.
 *       - SRTP legs: the packet authenticates, and the latched source has
 *         been silent for media.relatch_ms (else relatch_refused, before
 *         any crypto work).
 *  6. RTCP follows RTP. On an RTCP port a source other than the signalled
 *     RTCP address is accepted only on the IP RTP latched onto, and on the
 *     RTP port + 1 (any port when rule 4 calls the peer NATed). With
 *     rtcp-mux, RTCP never moves the latch.
 *  7. Asymmetric legs latch nothing and always send to the signalled
 *     address; they accept the signalled IP on any port, and what rule 4
 *     allows.
 */
#include <netinet/in.h>
#include <string.h>

#include "dp_internal.h"

extern uint32_t dp_relatch_ms; /* dp_leg.c */

bool dp_ip_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
	return false;
}

static uint16_t port_of(const struct dp_addr *a) { return ntohs(a->port); }

/* Rule 4: is src's address one this leg may learn? */
static bool learnable(const struct dp_leg *l, const struct dp_addr *src)
{
	if (l->nat_learning)
		return true;
	/* received-from names the NAT only when it differs from the SDP's IP */
	return l->sip_src.family && !dp_addr_ip_eq(&l->sip_src, &l->remote_rtp) && dp_addr_ip_eq(src, &l->sip_src);
}

static bool silent_for_relatch(const struct dp_leg *l, uint64_t now, uint64_t tsc_hz)
{
	return (now - l->last_valid_tsc) * 1000u >= (uint64_t)dp_relatch_ms * tsc_hz;
}

enum dp_src_verdict dp_source_admit(const struct dp_leg *l, const struct dp_addr *src, bool rtcp_port,
				    bool rtcp, uint64_t now, uint64_t tsc_hz, enum dp_drop *why)
{
	const struct dp_addr *sig = rtcp_port ? &l->remote_rtcp : &l->remote_rtp;

	*why = DP_DROP_SPOOFED_SOURCE;
	if (l->flags & DP_LEG_STRICT_SOURCE)
		return dp_addr_eq(src, sig) ? DP_SRC_ACCEPT : DP_SRC_REFUSE;
	if (l->flags & DP_LEG_ASYMMETRIC)
		return dp_addr_ip_eq(src, sig) || learnable(l, src) ? DP_SRC_ACCEPT : DP_SRC_REFUSE;
	if (dp_addr_eq(src, sig))
		return DP_SRC_LATCH;
	if (rtcp_port) {
		if (l->latched_rtcp && dp_addr_eq(src, &l->src_rtcp) &&
		    (!l->latched_rtp || dp_addr_ip_eq(src, &l->src_rtp)))
			return DP_SRC_ACCEPT;
		if (l->latched_rtp && dp_addr_ip_eq(src, &l->src_rtp) &&
		    (port_of(src) == (uint16_t)(port_of(&l->src_rtp) + 1) || learnable(l, src)))
			return DP_SRC_LATCH;
		return DP_SRC_REFUSE;
	}
	if (l->latched_rtp && dp_addr_eq(src, &l->src_rtp))
		return DP_SRC_ACCEPT;
	if (rtcp || !learnable(l, src)) /* rtcp-mux: RTCP never moves the latch */
		return DP_SRC_REFUSE;
	if (!l->latched_rtp)
		return DP_SRC_LATCH;
	if (l->srtp_rx) { /* rule 5, SRTP: authentication decides, after silence */
		*why = DP_DROP_RELATCH_REFUSED;
		return silent_for_relatch(l, now, tsc_hz) ? DP_SRC_LATCH : DP_SRC_REFUSE;
	}
	return DP_SRC_TAKEOVER;
}

bool dp_source_continuous(const struct dp_leg *l, const struct dp_rtp *r, uint64_t now, uint64_t tsc_hz)
{
	uint32_t rate = l->clock_rate ? l->clock_rate : 48000; /* unknown: the widest common clock */
	uint16_t dseq;
	int64_t dts, limit;

	if (!l->cont_valid || r->ssrc != l->cont_ssrc)
		return false;
	dseq = (uint16_t)(r->seq - l->cont_seq);
	if (dseq == 0 || dseq > DP_SRC_SEQ_WINDOW)
		return false;
	dts = (int32_t)(r->ts - l->cont_ts);
	limit = (int64_t)((now - l->cont_tsc) * rate / tsc_hz) + rate;
	return dts >= 0 && dts <= limit;
}

void dp_source_note(struct dp_leg *l, const struct dp_rtp *r, uint64_t now)
{
	l->cont_valid = true;
	l->cont_ssrc = r->ssrc;
	l->cont_seq = r->seq;
	l->cont_ts = r->ts;
	l->cont_tsc = now;
}
