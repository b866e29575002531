/* SPDX-License-Identifier: MIT
 * ctl_call_hep: the calls' RTCP reports and quality to a Homer collector
 * (see ctl_hep.h). The reports are the workers' statistics snapshots
 * (struct dp_leg_stats: the last SR and the first report block of the
 * last SR/RR, with a count of reports), read on the control lcore's 1 s
 * timer; a peer that sends two reports within one second has only the
 * later one exported.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "ctl_call_int.h"
#include "ctl_hep.h"
#include "ctl_quality.h"

struct hep_walk {
	struct ctl_hep *h;
	uint32_t quality_s;
	uint64_t now_ms, wall_us;
};

/* The party's address (its latched source, else none of the same family)
 * and the leg's, with the RTP or RTCP port. */
static void endpoints(const struct dp_leg *leg, const struct dp_leg_stats *ls, bool rtcp,
		      struct sockaddr_storage *src, struct sockaddr_storage *dst)
{
	struct dp_leg_local loc;
	uint16_t port;

	dp_leg_local(leg, &loc);
	*dst = loc.rtp;
	port = rtcp ? loc.rtcp_port : loc.rtp_port;
	if (dst->ss_family == AF_INET6)
		((struct sockaddr_in6 *)dst)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)dst)->sin_port = htons(port);
	memset(src, 0, sizeof(*src));
	src->ss_family = dst->ss_family;
	if (ls->latched && ls->source.ss_family == dst->ss_family) {
		*src = ls->source;
		if (rtcp && loc.rtcp_port != loc.rtp_port) { /* RTCP from the port above RTP */
			if (src->ss_family == AF_INET6)
				((struct sockaddr_in6 *)src)->sin6_port =
					htons((uint16_t)(ntohs(((struct sockaddr_in6 *)src)->sin6_port) + 1));
			else
				((struct sockaddr_in *)src)->sin_port =
					htons((uint16_t)(ntohs(((struct sockaddr_in *)src)->sin_port) + 1));
		}
	}
}

static void send_json(struct hep_walk *w, const struct call *k, const struct dp_leg *leg,
		      const struct dp_leg_stats *ls, bool rtcp, uint8_t type, const char *json, int len)
{
	struct sockaddr_storage src, dst;
	struct ctl_hep_msg m = { .time_us = w->wall_us, .proto_type = type, .correlation = k->id };

	if (len <= 0)
		return;
	endpoints(leg, ls, rtcp, &src, &dst);
	m.src = (struct sockaddr *)&src;
	m.dst = (struct sockaddr *)&dst;
	m.payload = json;
	m.len = (size_t)len;
	ctl_hep_send(w->h, &m);
}

/* The RTCP JSON Homer displays: an SR's sender information (when the
 * report was an SR) and one report block. */
static int rtcp_json(const struct dp_leg_stats *ls, char *out, size_t cap)
{
	int n = 0;
	bool sr = ls->have_sr && (!ls->have_rr || ls->sr_ssrc == ls->rr.reporter);

	n += snprintf(out + n, cap - (size_t)n, "{\"type\":%d,\"ssrc\":%u,", sr ? 200 : 201,
		      sr ? ls->sr_ssrc : ls->rr.reporter);
	if (sr)
		n += snprintf(out + n, cap - (size_t)n,
			      "\"sender_information\":{\"ntp_timestamp_sec\":%u,\"ntp_timestamp_usec\":%u,"
			      "\"rtp_timestamp\":%u,\"packets\":%u,\"octets\":%u},",
			      (uint32_t)(ls->sr_ntp >> 32),
			      (uint32_t)(((ls->sr_ntp & 0xffffffffu) * 1000000u) >> 32), ls->sr_rtp_ts,
			      ls->sr_packets, ls->sr_octets);
	if (ls->have_rr)
		n += snprintf(out + n, cap - (size_t)n,
			      "\"report_count\":1,\"report_blocks\":[{\"source_ssrc\":%u,\"highest_seq_no\":%u,"
			      "\"fraction_lost\":%u,\"ia_jitter\":%u,\"packets_lost\":%d,\"lsr\":%u,\"dlsr\":%u}]}",
			      ls->rr.ssrc, ls->rr.ext_high_seq, ls->rr_fraction_lost, ls->rr_jitter_ts,
			      ls->rr_cum_lost, ls->rr.lsr, ls->rr.dlsr);
	else
		n += snprintf(out + n, cap - (size_t)n, "\"report_count\":0,\"report_blocks\":[]}");
	return n < (int)cap ? n : -1;
}

/* What medius measured of what the party sends, and its MOS estimate. */
static int quality_json(const struct stream *st, int side, const struct dp_leg_stats *ls, char *out, size_t cap)
{
	double loss = ls->expected ? 100.0 * ls->lost / ls->expected : 0;
	enum cdc_codec codec = st->xcoded ? st->xfmt[side].codec : st->fmt_known ? st->fmt.codec : CDC_PCMU;
	double mos = ctl_mos_estimate(codec, loss, (ls->rtt_ms > 0 ? ls->rtt_ms / 2.0 : 0) + 2 * ls->jitter_ms + 20);
	int n = snprintf(out, cap,
			 "{\"type\":\"medius-quality\",\"party\":\"%s\",\"media\":\"%s\",\"ssrc\":%u,"
			 "\"packets\":%llu,\"bytes\":%llu,\"expected\":%u,\"lost\":%u,\"loss_pct\":%.2f,"
			 "\"jitter_ms\":%.2f,\"rtt_ms\":%d,\"mos\":%.2f,\"rtcp_packets\":%llu}",
			 side ? "answerer" : "offerer", st->type, ls->ssrc, (unsigned long long)ls->rtp_packets,
			 (unsigned long long)ls->rtp_bytes, ls->expected, ls->lost, loss, ls->jitter_ms, ls->rtt_ms,
			 mos, (unsigned long long)ls->rtcp_packets);

	return n < (int)cap ? n : -1;
}

static void call_hep(struct call *k, void *arg)
{
	struct hep_walk *w = arg;
	char json[1024];

	for (unsigned b = 0; b < k->n_br; b++) {
		struct branch *br = k->br[b];

		for (unsigned i = 0; br && i < br->n; i++) {
			struct stream *st = &br->st[i];
			bool quality = w->quality_s &&
				       w->now_ms - st->hep_quality_ms >= (uint64_t)w->quality_s * 1000u;

			for (int side = 0; side < 2; side++) {
				struct dp_leg_stats ls;

				if (!st->leg[side] || dp_leg_get_stats(st->leg[side], &ls))
					continue;
				if (ls.rtcp_reports != st->hep_rtcp_seen[side]) {
					st->hep_rtcp_seen[side] = ls.rtcp_reports;
					send_json(w, k, st->leg[side], &ls, true, CTL_HEP_PROTO_RTCP_JSON, json,
						  rtcp_json(&ls, json, sizeof(json)));
				}
				if (quality && ls.rtp_packets)
					send_json(w, k, st->leg[side], &ls, false, CTL_HEP_PROTO_QOS_JSON, json,
						  quality_json(st, side, &ls, json, sizeof(json)));
			}
			if (quality)
				st->hep_quality_ms = w->now_ms;
		}
	}
}

void ctl_calls_hep_tick(struct ctl_calls *c, struct ctl_hep *h, uint32_t quality_s, uint64_t now_ms)
{
	struct hep_walk w = { .h = h, .quality_s = quality_s, .now_ms = now_ms };
	struct timeval tv;

	gettimeofday(&tv, NULL);
	w.wall_us = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
	ctl_calls_foreach(c, call_hep, &w);
}
