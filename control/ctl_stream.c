/* SPDX-License-Identifier: MIT
 * ctl_stream: one media section of one branch (see ctl_call_int.h): its
 * two legs, where they point, their keys, the codec edits on the way to the
 * answerer, and the transcoding an answer may need.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cdc.h"
#include "ctl_call_int.h"
#include "ctl_ng_args.h"
#include "ctl_sdp.h"
#include "ctl_val.h"
#include "ctl_tap.h"
#include "mx.h"
#include "dp.h"

/* ------------------------------------------------------------------ */
/* SDP helpers                                                          */

static int sockaddr_of(const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		return 0;
	}
	return -EINVAL;
}

static bool is_null_addr(const char *a) { return !strcmp(a, "0.0.0.0") || !strcmp(a, "::"); }

/* The flag "SIP source address" (the opposite of the default "trust
 * address"): the SDP's addresses are not trusted, and the address the SIP
 * message came from, which the proxy passes as received-from: ["IP4",
 * "203.0.113.7"], is used with the SDP's ports instead. NULL: trust the SDP. */
static const char *sip_source(struct ctl_ng_req *r)
{
	return ctl_has_flag(r, "flags", "SIP source address") ? ctl_arg_list_str(r, "received-from", 1) : NULL;
}

/* Tell the leg where its peer's signalling came from (received-from), for
 * the source policy: a NATed peer may send from any port of that IP. */
static int set_sip_source(struct ctl_ng_req *r, struct dp_leg *leg)
{
	const char *ip = ctl_arg_list_str(r, "received-from", 1);
	struct sockaddr_storage ss;

	if (!ip)
		return dp_leg_set_sip_source(leg, NULL);
	if (sockaddr_of(ip, 0, &ss))
		return ctl_ng_error(r, "received-from: '%s' is not an IPv4 or IPv6 address", ip);
	return dp_leg_set_sip_source(leg, (struct sockaddr *)&ss);
}

/* Point leg at what media section m (number i) of s says (c=, port,
 * a=rtcp), and give it the SIP source address. Returns 0, or -1 after
 * ctl_ng_error. */
int ctl_stream_set_remote(struct ctl_ng_req *r, struct dp_leg *leg, const struct ctl_sdp *s,
			  const struct ctl_sdp_media *m, unsigned i)
{
	const struct ctl_sdp_conn *c = ctl_sdp_media_conn(s, m);
	const char *src = sip_source(r), *addr;
	struct sockaddr_storage rtp, rtcp;
	int ai = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_RTCP, 0);
	bool mux = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_RTCP_MUX, 0) >= 0;

	if (set_sip_source(r, leg))
		return -1;
	if (!c || !c->present || is_null_addr(c->addr))
		return 0; /* on hold or no address: keep what was signalled before */
	addr = src ? src : c->addr;
	if (sockaddr_of(addr, m->port, &rtp))
		return ctl_ng_error(r, "Bad address in media %u", i + 1);
	rtcp = rtp;
	if (mux) {
		/* RTCP on the RTP port */
	} else if (ai >= 0) {
		const struct ctl_sdp_attr *a = &m->attrs.v[ai];

		if (sockaddr_of(a->u.rtcp.addr && !src ? a->u.rtcp.addr : addr, a->u.rtcp.port, &rtcp))
			return ctl_ng_error(r, "Bad a=rtcp address in media %u", i + 1);
	} else {
		struct sockaddr_in *p4 = (struct sockaddr_in *)&rtcp;
		struct sockaddr_in6 *p6 = (struct sockaddr_in6 *)&rtcp;

		if (rtcp.ss_family == AF_INET)
			p4->sin_port = htons((uint16_t)(m->port + 1));
		else
			p6->sin6_port = htons((uint16_t)(m->port + 1));
	}
	if (dp_leg_set_remote(leg, (struct sockaddr *)&rtp, (struct sockaddr *)&rtcp))
		return ctl_ng_error(r, "Bad address in media %u", i + 1);
	return 0;
}

/* Rewrite m to point at our leg: c=, port, a=rtcp. */
int ctl_stream_point_at(struct ctl_sdp *s, struct ctl_sdp_media *m, struct dp_leg *leg, bool full_rtcp,
			bool no_rtcp)
{
	struct dp_leg_local loc;
	int rc;

	dp_leg_local(leg, &loc);
	rc = ctl_sdp_media_set_conn(s, m, loc.address, loc.rtp_port);
	if (!rc && !no_rtcp)
		rc = ctl_sdp_media_set_rtcp(s, m, loc.rtcp_port, full_rtcp ? loc.address : NULL);
	if (!rc && no_rtcp)
		ctl_sdp_media_remove_rtcp(s, m);
	return rc;
}

static bool proto_srtp(const char *proto) { return strstr(proto, "SAVP") != NULL; }

/* The first a=crypto of m medius can use. */
const struct dp_sdes *ctl_stream_first_crypto(const struct ctl_sdp *s, const struct ctl_sdp_media *m)
{
	for (int i = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_CRYPTO, 0); i >= 0;
	     i = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_CRYPTO, (unsigned)i + 1)) {
		const struct dp_sdes *k = m->attrs.v[i].u.crypto.sdes;

		if (k && dp_srtp_suite_supported(k->suite))
			return k;
	}
	return NULL;
}

int ctl_session_rewrite(struct ctl_ng_req *r, struct ctl_sdp *s, struct branch *b, int side)
{
	char addr[64] = "";
	bool bare = false;
	int rc;

	for (unsigned i = 0; i < b->n && !addr[0]; i++)
		if (b->st[i].active) {
			struct dp_leg_local loc;

			dp_leg_local(b->st[i].leg[side], &loc);
			snprintf(addr, sizeof(addr), "%s", loc.address);
		}
	if (!addr[0] && dp_iface_advertise(b->iface[side], addr, sizeof(addr))) /* every section rejected */
		return ctl_ng_error(r, "Unknown interface '%s'", b->iface[side]);
	ctl_sdp_remove_ice(s); /* candidates would let the peers bypass the relay */
	for (unsigned i = 0; i < s->n_media; i++)
		bare |= !s->media[i].conn.present;
	if ((s->conn.present || bare) && (rc = ctl_sdp_set_session_conn(s, addr)))
		return ctl_ng_error_rc(r, rc, "Cannot rewrite the session's c= line");
	if (ctl_has_flag(r, "replace", "origin") && (rc = ctl_sdp_set_origin_addr(s, addr)))
		return ctl_ng_error_rc(r, rc, "Cannot rewrite the o= line");
	return 0;
}

/* The SDP must name no address of a peer (see ctl_sdp_check_addresses):
 * checked against every interface's announced address. */
static int check_reply(struct ctl_ng_req *r, const struct ctl_sdp *s)
{
	char store[DP_MAX_IFACES][64], why[160];
	const char *ours[DP_MAX_IFACES];
	unsigned n = 0;

	for (unsigned i = 0; i < dp_iface_count() && n < DP_MAX_IFACES; i++)
		if (!dp_iface_advertise_at(i, store[n], sizeof(store[n]))) {
			ours[n] = store[n];
			n++;
		}
	if (!ctl_sdp_check_addresses(s, ours, n, ctl_has_flag(r, "replace", "origin"), why, sizeof(why)))
		return 0;
	DP_LOG_RL(DP_LOG_ERR, "call", "refusing to return an SDP that would expose a peer's address: %s", why);
	return ctl_ng_error(r, "Internal error: the rewritten SDP would expose a peer's address (%s)", why);
}

int ctl_reply_sdp(struct ctl_ng_req *r, const struct ctl_sdp *s)
{
	struct ctl_buf out = { 0 };
	struct ctl_val *v;
	int rc;

	if (check_reply(r, s))
		return -1;
	rc = ctl_sdp_write(s, &out);
	if (!rc && out.len > CTL_NG_MAX_SDP_REPLY)
		rc = -EMSGSIZE;
	if (rc == -EMSGSIZE) {
		ctl_buf_free(&out);
		return ctl_ng_error(r, "The rewritten SDP would be over %u bytes, more than an ng reply over UDP "
				    "holds", CTL_NG_MAX_SDP_REPLY);
	}
	if (rc) {
		ctl_buf_free(&out);
		return rc == -ENOMEM ? ctl_ng_error_rc(r, rc, "cannot write the rewritten SDP")
				     : ctl_ng_error(r, "Failed to write the rewritten SDP (%s)", strerror(-rc));
	}
	v = ctl_val_strdup(ctl_ng_arena(r), out.p, out.len);
	ctl_buf_free(&out);
	if (!v || ctl_dict_add(ctl_ng_reply(r), "sdp", 3, v))
		return ctl_ng_error(r, "Reply too large");
	return 0;
}

static int stream_open(struct ctl_ng_req *r, struct branch *b, struct stream *st)
{
	int err;

	for (int side = 0; side < 2; side++) {
		st->leg[side] = dp_leg_create(b->call->dp, b->iface[side][0] ? b->iface[side] : NULL, b->leg_flags, &err);
		if (!st->leg[side]) {
			struct dp_iface_stats first; /* no direction: the first interface, named */

			if (b->iface[side][0] || dp_iface_get_stats(0, &first))
				snprintf(first.name, sizeof(first.name), "%s", b->iface[side][0] ? b->iface[side] : "(default)");
			if (err == -ENOMEM || err == -ENOBUFS) /* the leg, or its sockets */
				return ctl_ng_error_rc(r, -ENOMEM, "cannot create a media leg on '%s'", first.name);
			return ctl_ng_error(r, err == -ENOENT ? "Unknown interface '%s'"
						: err == -EADDRINUSE ? "No media ports left on interface '%s'"
									: "Cannot allocate a media port on '%s'",
					    first.name);
		}
	}
	st->active = true;
	st->b_te = -1;
	return dp_leg_connect(st->leg[0], st->leg[1]) ? ctl_ng_error(r, "Cannot connect the legs") : 0;
}

/* What the offerer offers: its audio codecs medius can decode, its
 * telephone-event and CN payload types, its ptime. Kept whole or refused:
 * more codecs than st->a_codecs holds, or a telephone-event fmtp longer
 * than st->a_te_fmtp, is an error, never cut. Returns 0, or -1 after the
 * error reply (i: the section's index). */
static int record_offer(struct ctl_ng_req *r, struct stream *st, const struct ctl_sdp *s,
			const struct ctl_sdp_media *m, unsigned i)
{
	int ai = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_PTIME, 0);

	st->n_a_codecs = 0;
	st->a_te = st->a_cn = -1;
	st->a_ptime = ai >= 0 ? m->attrs.v[ai].u.ptime : 0;
	for (unsigned f = 0; f < m->n_fmts; f++) {
		int pt = ctl_sdp_media_pt(m, f);
		struct cdc_format fmt;

		if (pt < 0 || ctl_sdp_media_format(m, (unsigned)pt, &fmt))
			continue;
		if (fmt.codec == CDC_TELEPHONE_EVENT) {
			struct ctl_sdp_codec sc;

			if (st->a_te < 0) {
				const char *fmtp = !ctl_sdp_media_codec(m, (unsigned)pt, &sc) && sc.fmtp ? sc.fmtp : "0-15";

				if (strlen(fmtp) >= sizeof(st->a_te_fmtp))
					return ctl_ng_error(r, "Media %u: a telephone-event fmtp of %zu bytes (at most %zu)",
							    i + 1, strlen(fmtp), sizeof(st->a_te_fmtp) - 1);
				st->a_te = pt;
				strcpy(st->a_te_fmtp, fmtp);
			}
		} else if (fmt.codec == CDC_CN) {
			if (st->a_cn < 0)
				st->a_cn = pt;
		} else if (st->n_a_codecs < sizeof(st->a_codecs) / sizeof(st->a_codecs[0])) {
			st->a_codecs[st->n_a_codecs].pt = (uint8_t)pt;
			st->a_codecs[st->n_a_codecs++].f = fmt;
		} else {
			return ctl_ng_error(r, "Media %u offers more than %zu codecs medius can decode", i + 1,
					    sizeof(st->a_codecs) / sizeof(st->a_codecs[0]));
		}
	}
	return 0;
}

int ctl_stream_offer(struct ctl_ng_req *r, struct branch *b, struct ctl_sdp *s, unsigned i, const char *proto_b)
{
	struct ctl_sdp_media *m = &s->media[i];
	struct stream *st = &b->st[i];
	bool full = ctl_has_flag(r, "flags", "full rtcp attribute"), no_rtcp = ctl_has_flag(r, "flags", "no rtcp attribute");
	const struct dp_sdes *theirs;
	int rc;

	if (strlen(m->type) >= sizeof(st->type)) /* "audio", "video", ...: never cut */
		return ctl_ng_error(r, "Media %u: a media type of %zu bytes (at most %zu)", i + 1, strlen(m->type),
				    sizeof(st->type) - 1);
	strcpy(st->type, m->type);
	if (!ctl_sdp_media_is_rtp(m) || m->port == 0) {
		if (m->port != 0)
			ctl_ng_warning(r, "media %u (%s %s) is not RTP: rejected (port 0)", i + 1, m->type, m->proto);
		return ctl_sdp_media_reject(s, m); /* rejected it stays, and names no address */
	}
	if (strlen(m->proto) >= sizeof(st->proto[0]))
		return ctl_ng_error(r, "Media %u: a transport protocol of %zu bytes (at most %zu)", i + 1,
				    strlen(m->proto), sizeof(st->proto[0]) - 1);
	if (ctl_sdp_media_has_dtls(s, m) && !ctl_stream_first_crypto(s, m))
		return ctl_ng_error(r, "DTLS-SRTP is not supported yet (media %u)", i + 1);
	if (!st->active && stream_open(r, b, st))
		return -1;
	if (ctl_stream_set_remote(r, st->leg[0], s, m, i))
		return -1;
	st->offer_mux = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_RTCP_MUX, 0) >= 0;
	strcpy(st->proto[0], m->proto); /* its length was checked above */

	/* the offerer's side: its keys decrypt what it sends; ours answer it */
	st->srtp[0] = proto_srtp(m->proto);
	if (st->srtp[0]) {
		theirs = ctl_stream_first_crypto(s, m);
		if (!theirs)
			return ctl_ng_error(r, "No supported SRTP crypto suite in media %u", i + 1);
		if (dp_sdes_generate(theirs->suite, theirs->tag, &st->key[0]))
			return ctl_ng_error(r, "Cannot set up SRTP for media %u", i + 1);
		ctl_sdes_answer_mki(&st->key[0], theirs);
		if ((rc = dp_leg_set_srtp(st->leg[0], theirs, &st->key[0])))
			return ctl_ng_error_rc(r, rc, "Cannot set up SRTP for media %u", i + 1);
	}

	if (record_offer(r, st, s, m, i))
		return -1;

	/* codec edits on the way to the answerer */
	if (ctl_stream_codec_options(r, st, s, m, i))
		return -1;

	/* the answerer's side */
	strcpy(st->proto[1], proto_b ? proto_b : m->proto); /* proto_b is one of four (cmd_offer) */
	st->srtp[1] = proto_srtp(st->proto[1]);
	if (st->srtp[1]) {
		st->n_offered = 0;
		if (dp_sdes_generate(DP_SRTP_AES_CM_128_HMAC_SHA1_80, 1, &st->offered[0]) ||
		    dp_sdes_generate(DP_SRTP_AES_CM_128_HMAC_SHA1_32, 2, &st->offered[1]))
			return ctl_ng_error(r, "Cannot generate SRTP keys");
		st->n_offered = 2;
		if ((rc = ctl_sdp_media_to_srtp(s, m, st->offered, st->n_offered)))
			return ctl_ng_error_rc(r, rc, "Cannot rewrite media %u for SRTP", i + 1);
		if (proto_b && strcmp(m->proto, proto_b) && ctl_sdp_media_set_proto(s, m, proto_b))
			return ctl_ng_error(r, "Bad transport-protocol '%s'", proto_b);
	} else {
		if (proto_srtp(m->proto) && ctl_sdp_media_to_rtp(s, m))
			return ctl_ng_error(r, "Cannot rewrite media %u for RTP", i + 1);
		if (proto_b && ctl_sdp_media_set_proto(s, m, proto_b))
			return ctl_ng_error(r, "Bad transport-protocol '%s'", proto_b);
		if ((rc = dp_leg_set_srtp(st->leg[1], NULL, NULL)))
			return ctl_ng_error_rc(r, rc, "Cannot reset SRTP for media %u", i + 1);
	}
	st->want_ptime = 0;
	{
		const struct ctl_val *pt = ctl_dict_get(ctl_ng_args(r), "ptime");

		if (pt && pt->type == CTL_V_INT) {
			if (!cdc_ptime_valid((unsigned)pt->u.i))
				return ctl_ng_error(r, "ptime %lld is not one of 10, 20, 30, 40, 60", (long long)pt->u.i);
			st->want_ptime = (unsigned)pt->u.i;
			ctl_sdp_media_set_ptime(s, m, st->want_ptime);
		}
	}
	if ((rc = ctl_stream_point_at(s, m, st->leg[1], full, no_rtcp)))
		return ctl_ng_error_rc(r, rc, "Cannot rewrite media %u", i + 1);
	return 0;
}

/* Rewrite m to list codec f as payload type pt, with telephone-event type
 * te (-1: none) after it, and nothing else: what one side of a transcoded
 * stream is told. Returns 0 or -1. */
int ctl_stream_only_codec(struct ctl_sdp *s, struct ctl_sdp_media *m, const struct cdc_format *f, uint8_t pt,
			  int te, const char *te_fmtp)
{
	char rtpmap[48], fmtp[128];
	uint8_t keep[2];
	unsigned nkeep = 0;

	if (ctl_sdp_media_pt_index(m, pt) >= 0 && !ctl_sdp_media_pt_matches(m, pt, cdc_codec_name(f->codec)))
		ctl_sdp_media_remove_pt(s, m, pt);
	cdc_format_rtpmap(f, rtpmap, sizeof(rtpmap));
	if (cdc_format_fmtp(f, fmtp, sizeof(fmtp)) < 0)
		fmtp[0] = '\0';
	if (ctl_sdp_media_pt_index(m, pt) < 0 && ctl_sdp_media_add_codec(s, m, pt, rtpmap, fmtp[0] ? fmtp : NULL, true))
		return -1;
	keep[nkeep++] = pt;
	if (te >= 0) {
		if (ctl_sdp_media_pt_index(m, (unsigned)te) >= 0 &&
		    !ctl_sdp_media_pt_matches(m, (unsigned)te, "telephone-event"))
			ctl_sdp_media_remove_pt(s, m, (unsigned)te);
		if (ctl_sdp_media_pt_index(m, (unsigned)te) < 0)
			ctl_sdp_media_add_codec(s, m, (unsigned)te, "telephone-event/8000", te_fmtp, false);
		keep[nkeep++] = (uint8_t)te;
	}
	return ctl_sdp_media_keep_pts(s, m, keep, nkeep) < 0 ? -1 : 0;
}

/* A re-offer (or the answer to one) on a transcoded stream, coming from
 * `side`: it must still carry that side's codec; the other side is told
 * its own codec, as before. Changing codecs takes a fresh offer from the
 * offerer. Returns 0 or -1 after an error reply. */
static int reverse_codecs(struct ctl_ng_req *r, struct stream *st, struct ctl_sdp *s, struct ctl_sdp_media *m,
			  unsigned i, int side)
{
	int other = 1 - side, pt = -1;

	for (unsigned f = 0; f < m->n_fmts && pt < 0; f++) {
		int p = ctl_sdp_media_pt(m, f);
		struct cdc_format x;

		if (p >= 0 && !ctl_sdp_media_format(m, (unsigned)p, &x) && cdc_format_compatible(&x, &st->xfmt[side]))
			pt = p;
	}
	if (pt < 0)
		return ctl_ng_error(r, "Media %u is transcoded from %s: a re-offer or answer without it is not supported",
				    i + 1, cdc_codec_name(st->xfmt[side].codec));
	if (pt != st->xpt[side])
		return ctl_ng_error(r, "Media %u: %s moved from payload type %u to %d; not supported on a transcoded stream",
				    i + 1, cdc_codec_name(st->xfmt[side].codec), st->xpt[side], pt);
	if (ctl_stream_only_codec(s, m, &st->xfmt[other], st->xpt[other], st->xte[other],
		       other ? "0-15" : st->a_te_fmtp))
		return ctl_ng_error(r, "Cannot rewrite the codecs of media %u", i + 1);
	if (!other)
		ctl_sdp_media_set_ptime(s, m, st->a_ptime);
	return 0;
}

/* A re-offer from the answerer (a re-INVITE from the callee: hold, resume,
 * a new address) or the original offerer's answer to it, on an established
 * call: media section i of s comes from `side`. Take that side's new
 * address and keys, and rewrite the section for the other side with our
 * address and our keys for it. Codecs pass through as negotiated. */
int ctl_stream_reverse(struct ctl_ng_req *r, struct branch *b, struct ctl_sdp *s, unsigned i, int side)
{
	struct ctl_sdp_media *m = &s->media[i];
	struct stream *st = &b->st[i];
	bool full = ctl_has_flag(r, "flags", "full rtcp attribute"), no_rtcp = ctl_has_flag(r, "flags", "no rtcp attribute");
	int other = 1 - side;

	if (!st->active) {
		if (m->port != 0)
			return ctl_ng_error(r, "Media %u cannot be added by a re-offer from this side yet", i + 1);
		return ctl_sdp_media_reject(s, m);
	}
	if (m->port == 0)
		return ctl_sdp_media_reject(s, m);
	if (!ctl_sdp_media_is_rtp(m))
		return ctl_ng_error(r, "Media %u: protocol %s is not RTP", i + 1, m->proto);
	if (st->xcoded && reverse_codecs(r, st, s, m, i, side))
		return -1;
	if (ctl_stream_set_remote(r, st->leg[side], s, m, i))
		return -1;
	if (st->srtp[side]) {
		const struct dp_sdes *theirs = ctl_stream_first_crypto(s, m);

		if (!theirs || dp_leg_set_srtp(st->leg[side], theirs, &st->key[side]))
			return ctl_ng_error(r, "No usable SRTP key in media %u", i + 1);
	}
	if (st->srtp[other] ? ctl_sdp_media_to_srtp(s, m, &st->key[other], 1)
			    : proto_srtp(m->proto) ? ctl_sdp_media_to_rtp(s, m) : 0)
		return ctl_ng_error(r, "Cannot rewrite media %u", i + 1);
	if (strcmp(m->proto, st->proto[other]) && ctl_sdp_media_set_proto(s, m, st->proto[other]))
		return ctl_ng_error(r, "Cannot rewrite media %u", i + 1);
	if (ctl_stream_point_at(s, m, st->leg[other], full, no_rtcp))
		return ctl_ng_error(r, "Cannot rewrite media %u", i + 1);
	return 0;
}

/* ------------------------------------------------------------------ */
/* answer                                                               */

static int plan_transcoding(struct ctl_ng_req *r, struct stream *st, struct ctl_sdp *s,
			    struct ctl_sdp_media *m);

int ctl_stream_answer(struct ctl_ng_req *r, struct branch *b, struct ctl_sdp *s, unsigned i)
{
	struct ctl_sdp_media *m = &s->media[i];
	struct stream *st = &b->st[i];
	bool full = ctl_has_flag(r, "flags", "full rtcp attribute"), no_rtcp = ctl_has_flag(r, "flags", "no rtcp attribute");
	bool mux_b;
	int pt, rc;

	if (!st->active || m->port == 0) { /* rejected in the offer, or by the answerer */
		if (!st->active && m->port != 0)
			ctl_ng_warning(r, "media %u was rejected in the offer: it stays rejected", i + 1);
		return ctl_sdp_media_reject(s, m);
	}
	if (!ctl_sdp_media_is_rtp(m))
		return ctl_ng_error(r, "Media %u: the answer's protocol %s is not RTP", i + 1, m->proto);
	if (ctl_stream_set_remote(r, st->leg[1], s, m, i))
		return -1;
	st->b_te = -1;
	for (unsigned f = 0; f < m->n_fmts && st->b_te < 0; f++) {
		int pt = ctl_sdp_media_pt(m, f);

		if (pt >= 0 && ctl_sdp_media_pt_matches(m, (unsigned)pt, "telephone-event"))
			st->b_te = pt;
	}
	/* the answerer's keys, and which of ours it chose */
	if (st->srtp[1]) {
		const struct dp_sdes *theirs = ctl_stream_first_crypto(s, m);
		const struct dp_sdes *ours = NULL;

		for (unsigned j = 0; theirs && j < st->n_offered; j++)
			if (st->offered[j].tag == theirs->tag && st->offered[j].suite == theirs->suite)
				ours = &st->offered[j];
		if (!theirs || !ours)
			return ctl_ng_error(r, "The answer to media %u has no crypto line matching the offer", i + 1);
		st->key[1] = *ours;
		if ((rc = dp_leg_set_srtp(st->leg[1], theirs, &st->key[1])))
			return ctl_ng_error_rc(r, rc, "Cannot set up SRTP for media %u", i + 1);
	}
	mux_b = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_RTCP_MUX, 0) >= 0;
	if (mux_b)
		dp_leg_set_flags(st->leg[1], b->leg_flags | DP_LEG_RTCP_MUX);
	if (mux_b && st->offer_mux)
		dp_leg_set_flags(st->leg[0], b->leg_flags | DP_LEG_RTCP_MUX);
	else
		ctl_sdp_media_set_rtcp_mux(s, m, false, false);
	/* the codec, for the clock rate and the MOS estimate */
	pt = ctl_sdp_media_pt(m, 0);
	st->fmt_known = pt >= 0 && ctl_sdp_media_format(m, (unsigned)pt, &st->fmt) == 0;
	st->fmt_pt = pt;
	{
		int ai = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_PTIME, 0);

		st->b_ptime = ai >= 0 ? m->attrs.v[ai].u.ptime : 0;
	}
	if (st->fmt_known) {
		dp_leg_set_clock(st->leg[0], st->fmt.clock_rate);
		dp_leg_set_clock(st->leg[1], st->fmt.clock_rate);
	}
	if (plan_transcoding(r, st, s, m))
		return -1;
	for (int side = 0; side < 2; side++) /* DTMF-security masks survive a re-answer */
		if (st->mask[side] != CDC_DTMF_MASK_OFF && ctl_stream_set_mask(st, side, st->mask[side], st->mask_freq[side]))
			return ctl_ng_error(r, "Cannot mask DTMF in media %u", i + 1);
	if ((st->xc[0] || st->xc[1]) && dp_call_to_transcode_worker(b->call->dp))
		return ctl_ng_error(r, "Cannot move the call to a transcoding worker");
	/* back to the offerer: its protocol, our key for it */
	if (st->srtp[0]) {
		if ((rc = ctl_sdp_media_to_srtp(s, m, &st->key[0], 1)))
			return ctl_ng_error_rc(r, rc, "Cannot rewrite media %u for SRTP", i + 1);
	} else if (proto_srtp(m->proto) && ctl_sdp_media_to_rtp(s, m)) {
		return ctl_ng_error(r, "Cannot rewrite media %u for RTP", i + 1);
	}
	if (strcmp(m->proto, st->proto[0]) && ctl_sdp_media_set_proto(s, m, st->proto[0]))
		return ctl_ng_error(r, "Cannot restore the transport of media %u", i + 1);
	if ((rc = ctl_stream_point_at(s, m, st->leg[0], full, no_rtcp)))
		return ctl_ng_error_rc(r, rc, "Cannot rewrite media %u", i + 1);
	return 0;
}

static void drop_chain(struct stream *st, int side);

/* The graph that feeds a tap of `kind` on `side`: what the party's leg
 * receives is terminated by xc[side]; what it is sent comes from xc[!side]. */
struct mx_xcode *ctl_stream_tap_graph(struct stream *st, int side, int kind)
{
	return kind == MX_TAP_PCM_IN ? st->xc[side] : st->xc[!side];
}

void ctl_stream_stop_tap(struct stream *st, int side, int kind, struct ctl_tap_stats *out)
{
	struct mx_xcode *x = ctl_stream_tap_graph(st, side, kind);

	if (!st->tap[side][kind])
		return;
	if (x)
		mx_xcode_set_tap(x, kind, NULL);
	ctl_tap_stop(st->tap[side][kind], out);
	st->tap[side][kind] = NULL;
}

void ctl_stream_unhook(struct stream *st)
{
	for (int d = 0; d < 2; d++) {
		ctl_stream_stop_play(st, d); /* it hooks a leg too */
		drop_chain(st, d);
	}
	st->xcoded = false;
}

static void drop_chain(struct stream *st, int side)
{
	/* the taps this graph feeds stop first: their threads read its rings */
	if (st->xc[side])
		ctl_rec_graph_going(st, side); /* a recording reading it takes the leg's RTP */
	ctl_stream_stop_tap(st, side, MX_TAP_PCM_IN, NULL);
	ctl_stream_stop_tap(st, !side, MX_TAP_RTP_OUT, NULL);
	if (st->xc[side]) {
		mx_xcode_destroy(st->xc[side]); /* unhooks the leg: the worker lets go here */
		st->xc[side] = NULL;
	}
}

int ctl_stream_set_mask(struct stream *st, int side, enum cdc_dtmf_mask mode, unsigned freq)
{
	struct cdc_chain_conf c;
	unsigned ptime = side ? st->b_ptime : st->a_ptime;
	int te = side ? st->b_te : st->a_te, e = 0;

	st->mask[side] = mode;
	st->mask_freq[side] = freq;
	if (!st->active)
		return 0;
	if (st->xcoded)
		return st->xc[side] ? mx_xcode_set_dtmf_mask(st->xc[side], mode, freq) : 0;
	if (mode == CDC_DTMF_MASK_OFF) { /* relayed: back to plain forwarding */
		drop_chain(st, side);
		return 0;
	}
	if (!st->xc[side]) {
		ctl_stream_stop_play(st, !side); /* it holds leg[side]'s media back: the chain takes the leg */
		if (!st->fmt_known || st->fmt_pt < 0 || st->fmt.codec == CDC_TELEPHONE_EVENT || st->fmt.codec == CDC_CN)
			return -ENOTSUP;
		c = (struct cdc_chain_conf){
			.in = st->fmt, .out = st->fmt,
			.in_pt = (uint8_t)st->fmt_pt, .out_pt = (uint8_t)st->fmt_pt,
			.out_ptime = cdc_ptime_valid(ptime) ? ptime : 20,
			.in_te_pt = te, .out_te_pt = te, .in_cn_pt = -1, .out_cn_pt = -1,
			.dtmf = te >= 0 ? CDC_DTMF_PASS : CDC_DTMF_DROP,
			.resample_quality = -1,
		};
		st->xc[side] = mx_xcode_create(st->leg[side], st->leg[!side], &(struct mx_xcode_conf){ .chain = c }, &e);
		if (!st->xc[side])
			return e == -EINVAL ? -EINVAL : -EIO;
	}
	return mx_xcode_set_dtmf_mask(st->xc[side], mode, freq);
}

static bool accepted(const struct stream *st, const struct cdc_format *f)
{
	char spec[48];

	if (st->accept_all)
		return true;
	for (unsigned i = 0; i < st->n_accept; i++) {
		struct cdc_format x;

		if (!strcasecmp(st->accept[i], cdc_codec_name(f->codec)))
			return true;
		snprintf(spec, sizeof(spec), "%s", st->accept[i]);
		if (!cdc_format_parse(spec, NULL, &x) && cdc_format_compatible(&x, f))
			return true;
	}
	return false;
}

/* The answerer chose codec fmt_b (payload type pt_b). If the offerer has it
 * too, packets are relayed as they are. Otherwise medius transcodes between
 * it and the offerer's first codec, and the answer to the offerer names that
 * codec instead. Telephone-event passes through when both sides have it, and
 * is turned into or out of in-band tones when only one side has it. */
static int plan_transcoding(struct ctl_ng_req *r, struct stream *st, struct ctl_sdp *s, struct ctl_sdp_media *m)
{
	struct cdc_chain_conf c[2];
	struct cdc_format fb;
	int pt_b = ctl_sdp_media_pt(m, 0), te_b = -1, cn_b = -1, ai;
	unsigned ptime_b;
	const struct cdc_format *fa = NULL;
	uint8_t pt_a = 0;
	char rtpmap[48];

	ctl_stream_unhook(st);
	if (pt_b < 0 || ctl_sdp_media_format(m, (unsigned)pt_b, &fb))
		return 0; /* not a codec we know: relay as it is */
	/* accept: the offerer keeps its first accepted codec when the answerer
	 * picked another */
	for (unsigned i = 0; i < st->n_a_codecs && !fa; i++)
		if (accepted(st, &st->a_codecs[i].f)) {
			if (!cdc_format_compatible(&st->a_codecs[i].f, &fb)) {
				fa = &st->a_codecs[i].f;
				pt_a = st->a_codecs[i].pt;
			}
			break;
		}
	for (unsigned i = 0; i < st->n_a_codecs && !fa; i++)
		if (cdc_format_compatible(&st->a_codecs[i].f, &fb)) {
			unsigned a_pt = cdc_ptime_valid(st->a_ptime) ? st->a_ptime : 20;

			if (!st->want_ptime || st->want_ptime == a_pt)
				return 0; /* a common codec and frame size: relay */
			fa = &st->a_codecs[i].f; /* same codec, repacketised */
			pt_a = st->a_codecs[i].pt;
		}
	if (!fa && !st->n_a_codecs)
		return ctl_ng_error(r, "No codec in common, and none of the offer's that medius can transcode");
	if (!fa) {
		fa = &st->a_codecs[0].f;
		pt_a = st->a_codecs[0].pt;
	}
	for (unsigned f = 0; f < m->n_fmts; f++) {
		int pt = ctl_sdp_media_pt(m, f);
		struct cdc_format x;

		if (pt >= 0 && !ctl_sdp_media_format(m, (unsigned)pt, &x)) {
			if (x.codec == CDC_TELEPHONE_EVENT && te_b < 0)
				te_b = pt;
			if (x.codec == CDC_CN && cn_b < 0)
				cn_b = pt;
		}
	}
	ai = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_PTIME, 0);
	ptime_b = st->want_ptime ? st->want_ptime
		  : ai >= 0 && cdc_ptime_valid(m->attrs.v[ai].u.ptime) ? m->attrs.v[ai].u.ptime : 20;
	for (int d = 0; d < 2; d++) {
		bool te_in = d ? te_b >= 0 : st->a_te >= 0, te_out = d ? st->a_te >= 0 : te_b >= 0;

		c[d] = (struct cdc_chain_conf){
			.in = d ? fb : *fa,
			.out = d ? *fa : fb,
			.in_pt = d ? (uint8_t)pt_b : pt_a,
			.out_pt = d ? pt_a : (uint8_t)pt_b,
			.out_ptime = d ? (cdc_ptime_valid(st->a_ptime) ? st->a_ptime : 20) : ptime_b,
			.in_te_pt = d ? te_b : st->a_te,
			.out_te_pt = d ? st->a_te : te_b,
			.in_cn_pt = d ? cn_b : st->a_cn,
			.out_cn_pt = d ? st->a_cn : cn_b,
			.dtmf = te_in && te_out ? CDC_DTMF_PASS : te_in ? CDC_DTMF_TO_INBAND
					      : te_out ? CDC_DTMF_FROM_INBAND : CDC_DTMF_DROP,
			.resample_quality = -1,
		};
		for (unsigned k = 0; k < st->n_set; k++) /* codec set: the encoder's options */
			if (cdc_format_compatible(&st->set[k].f, &c[d].out) && st->set[k].bitrate)
				c[d].enc.bitrate = st->set[k].bitrate;
	}
	for (int d = 0; d < 2; d++) {
		int e = 0;

		st->xc[d] = mx_xcode_create(st->leg[d], st->leg[!d], &(struct mx_xcode_conf){ .chain = c[d] }, &e);
		if (!st->xc[d]) {
			ctl_stream_unhook(st);
			if (e == -EINVAL)
				return ctl_ng_error(r, "Cannot transcode %s <-> %s", cdc_codec_name(fa->codec),
						    cdc_codec_name(fb.codec));
			if (e == -ENOMEM)
				return ctl_ng_error_rc(r, e, "cannot create the transcoder %s <-> %s",
						       cdc_codec_name(fa->codec), cdc_codec_name(fb.codec));
			return ctl_ng_error(r, "Cannot attach the transcoder");
		}
	}
	st->xcoded = true;
	st->xfmt[0] = *fa;
	st->xfmt[1] = fb;
	st->xpt[0] = pt_a;
	st->xpt[1] = (uint8_t)pt_b;
	st->xte[0] = st->a_te;
	st->xte[1] = te_b;
	dp_leg_set_clock(st->leg[0], fa->clock_rate);
	/* the answer to the offerer names its own codec */
	if (ctl_stream_only_codec(s, m, fa, pt_a, st->a_te, st->a_te_fmtp))
		return ctl_ng_error(r, "Cannot rewrite the answer's codecs");
	cdc_format_rtpmap(fa, rtpmap, sizeof(rtpmap));
	ctl_sdp_media_set_ptime(s, m, st->a_ptime);
	ctl_ng_warning(r, "media transcoded %s <-> %s", rtpmap, cdc_codec_name(fb.codec));
	return 0;
}

