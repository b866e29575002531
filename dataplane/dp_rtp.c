/* SPDX-License-Identifier: MIT
 * dp_rtp: RFC 7983 first-byte demux, RTP header parsing (RFC 3550 5.1) and
 * RTCP compound packet walking (RFC 3550 6.4), see dp_pkt.h. */
#include "dp_pkt.h"

#include <errno.h>
#include <string.h>

#define DP_UDP_PAYLOAD_MAX 65535u

enum dp_demux dp_demux(const uint8_t *p, size_t len)
{
	uint8_t b;

	if (len == 0)
		return DP_DEMUX_OTHER;
	b = p[0];
	if (b <= 3)
		return DP_DEMUX_STUN;
	if (b >= 16 && b <= 19)
		return DP_DEMUX_ZRTP;
	if (b >= 20 && b <= 63)
		return DP_DEMUX_DTLS;
	if (b >= 64 && b <= 79)
		return DP_DEMUX_TURN;
	if (b >= 128 && b <= 191)
		return DP_DEMUX_RTP;
	return DP_DEMUX_OTHER;
}

bool dp_is_rtcp(const uint8_t *p, size_t len)
{
	return len >= 2 && p[1] >= 192 && p[1] <= 223;
}

enum dp_drop dp_rtp_parse(const uint8_t *p, size_t len, struct dp_rtp *out)
{
	size_t off, ext_off = 0, ext_len = 0, pad = 0;
	uint16_t profile = 0;
	bool ext;

	if (len > DP_UDP_PAYLOAD_MAX)
		return DP_DROP_OVERSIZED;
	if (len < DP_RTP_HDR_LEN)
		return DP_DROP_RTP_TRUNC;
	if (p[0] >> 6 != 2)
		return DP_DROP_RTP_VERSION;
	off = DP_RTP_HDR_LEN + (size_t)(p[0] & 0x0f) * 4;
	if (off > len)
		return DP_DROP_RTP_TRUNC;
	ext = p[0] & 0x10;
	if (ext) {
		if (len - off < 4)
			return DP_DROP_RTP_TRUNC;
		profile = dp_get_be16(p + off);
		ext_len = (size_t)dp_get_be16(p + off + 2) * 4;
		ext_off = off + 4;
		if (ext_len > len - ext_off)
			return DP_DROP_RTP_TRUNC;
		off = ext_off + ext_len;
	}
	if (p[0] & 0x20) {
		/* The count includes itself, so it is >= 1, and it may not reach
		 * into the header. */
		pad = p[len - 1];
		if (pad == 0 || pad > len - off)
			return DP_DROP_RTP_PADDING;
	}
	out->marker = p[1] >> 7;
	out->pt = p[1] & 0x7f;
	out->seq = dp_get_be16(p + 2);
	out->ts = dp_get_be32(p + 4);
	out->ssrc = dp_get_be32(p + 8);
	out->cc = p[0] & 0x0f;
	out->ext = ext;
	out->ext_profile = profile;
	out->ext_off = (uint16_t)ext_off;
	out->ext_len = (uint16_t)ext_len;
	out->hdr_len = (uint16_t)off;
	out->payload_off = (uint16_t)off;
	out->payload_len = (uint16_t)(len - off - pad);
	out->pad_len = (uint8_t)pad;
	return DP_DROP_NONE;
}

int dp_rtp_ext_begin(struct dp_rtp_ext_it *it, uint16_t profile, const uint8_t *ext, size_t len)
{
	*it = (struct dp_rtp_ext_it){ .p = ext, .len = (uint16_t)(len > 0xffff ? 0xffff : len) };
	if (profile == DP_RTP_EXT_ONE_BYTE)
		return 0;
	if ((profile & 0xfff0u) == DP_RTP_EXT_TWO_BYTE) {
		it->two_byte = true;
		return 0;
	}
	it->done = true;
	return -ENOTSUP;
}

int dp_rtp_ext_next(struct dp_rtp_ext_it *it, uint8_t *id, const uint8_t **data, uint8_t *dlen)
{
	while (!it->done && it->off < it->len) {
		uint8_t b = it->p[it->off];
		size_t n;

		if (b == 0) { /* padding, in either form */
			it->off++;
			continue;
		}
		if (!it->two_byte) {
			if (b >> 4 == 15) { /* reserved: the walk stops here */
				it->done = true;
				return 0;
			}
			if (b >> 4 == 0) /* ID 0 with a length */
				goto bad;
			n = (size_t)(b & 0x0f) + 1;
			if (n > (size_t)it->len - it->off - 1)
				goto bad;
			*id = b >> 4;
			*data = it->p + it->off + 1;
			*dlen = (uint8_t)n;
			it->off = (uint16_t)(it->off + 1 + n);
			return 1;
		}
		if ((size_t)it->len - it->off < 2)
			goto bad;
		n = it->p[it->off + 1];
		if (n > (size_t)it->len - it->off - 2)
			goto bad;
		*id = b;
		*data = it->p + it->off + 2;
		*dlen = (uint8_t)n;
		it->off = (uint16_t)(it->off + 2 + n);
		return 1;
	}
	if (it->bad)
		return -EBADMSG; /* remembered: every later call says so too */
	it->done = true;
	return 0;
bad:
	it->done = it->bad = true;
	return -EBADMSG;
}

int dp_rtp_ext_find(uint16_t profile, const uint8_t *ext, size_t len, uint8_t id, const uint8_t **data,
		    uint8_t *dlen)
{
	struct dp_rtp_ext_it it;
	const uint8_t *d;
	uint8_t eid, n;
	int rc, found = 0;

	if ((rc = dp_rtp_ext_begin(&it, profile, ext, len)))
		return rc;
	while ((rc = dp_rtp_ext_next(&it, &eid, &d, &n)) > 0)
		if (eid == id && !found) {
			found = 1;
			*data = d;
			*dlen = n;
		}
	return rc < 0 ? rc : found;
}

/* Report blocks of one SR/RR: n blocks at rb, carried by `reporter`. */
static void rtcp_blocks(struct dp_rtcp *r, const uint8_t *rb, unsigned n, uint32_t reporter)
{
	for (unsigned i = 0; i < n; i++, rb += 24) {
		struct dp_rtcp_rb *b;
		uint32_t lost;

		r->rb_total++;
		if (r->n_rb >= DP_RTCP_MAX_RB)
			continue;
		b = &r->rb[r->n_rb++];
		lost = dp_get_be32(rb + 4) & 0xffffff;
		b->reporter = reporter;
		b->ssrc = dp_get_be32(rb);
		b->fraction_lost = rb[4];
		b->cum_lost = (lost & 0x800000) ? (int32_t)lost - 0x1000000 : (int32_t)lost;
		b->ext_high_seq = dp_get_be32(rb + 8);
		b->jitter = dp_get_be32(rb + 12);
		b->lsr = dp_get_be32(rb + 16);
		b->dlsr = dp_get_be32(rb + 20);
	}
}

enum dp_drop dp_rtcp_parse(const uint8_t *p, size_t len, struct dp_rtcp *out)
{
	struct dp_rtcp r;
	size_t off = 0;

	if (len > DP_UDP_PAYLOAD_MAX)
		return DP_DROP_OVERSIZED;
	if (len < 4)
		return DP_DROP_RTCP_BAD;
	memset(&r, 0, sizeof(r));
	while (off < len) {
		const uint8_t *h = p + off;
		size_t plen, body;
		unsigned count;

		if (len - off < 4 || h[0] >> 6 != 2)
			return DP_DROP_RTCP_BAD;
		plen = ((size_t)dp_get_be16(h + 2) + 1) * 4;
		if (plen > len - off)
			return DP_DROP_RTCP_BAD;
		body = plen;
		if (h[0] & 0x20) {
			/* Padding: only in the last packet, count 1..(plen - 4). */
			if (off + plen != len || h[plen - 1] == 0 || h[plen - 1] > plen - 4)
				return DP_DROP_RTCP_BAD;
			body = plen - h[plen - 1];
		}
		count = h[0] & 0x1f;
		switch (h[1]) {
		case DP_RTCP_SR:
			if (body < 28 + (size_t)count * 24)
				return DP_DROP_RTCP_BAD;
			if (!r.has_sr) {
				r.has_sr = true;
				r.sr_ssrc = dp_get_be32(h + 4);
				r.sr_ntp = (uint64_t)dp_get_be32(h + 8) << 32 | dp_get_be32(h + 12);
				r.sr_rtp_ts = dp_get_be32(h + 16);
				r.sr_packets = dp_get_be32(h + 20);
				r.sr_octets = dp_get_be32(h + 24);
			}
			rtcp_blocks(&r, h + 28, count, dp_get_be32(h + 4));
			r.n_sr++;
			break;
		case DP_RTCP_RR:
			if (body < 8 + (size_t)count * 24)
				return DP_DROP_RTCP_BAD;
			rtcp_blocks(&r, h + 8, count, dp_get_be32(h + 4));
			r.n_rr++;
			break;
		case DP_RTCP_SDES:
			r.n_sdes++;
			break;
		case DP_RTCP_BYE:
			r.n_bye++;
			break;
		case DP_RTCP_APP:
			r.n_app++;
			break;
		case DP_RTCP_RTPFB:
			r.n_rtpfb++;
			break;
		case DP_RTCP_PSFB:
			r.n_psfb++;
			break;
		case DP_RTCP_XR:
			r.n_xr++;
			break;
		default:
			r.n_other++;
			break;
		}
		r.n_packets++;
		off += plen;
	}
	*out = r;
	return DP_DROP_NONE;
}

int32_t dp_rtcp_rtt_ms(uint32_t lsr, uint32_t dlsr, uint32_t now_ntp_middle32)
{
	/* Modular difference: survives the 2^32 wrap (every 18.2 hours). */
	uint32_t rtt = now_ntp_middle32 - lsr - dlsr;

	if (lsr == 0)
		return -ENODATA;
	if (rtt & 0x80000000u)
		return -ERANGE;
	return (int32_t)(((uint64_t)rtt * 1000 + 32768) >> 16);
}
