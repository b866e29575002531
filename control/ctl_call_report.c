/* SPDX-License-Identifier: MIT
 * ctl_call_report: what query and delete report about a call (per tag,
 * per media, per leg, with an estimated MOS), and the dataplane's totals
 * for statistics. The DTMF commands are in ctl_call_dtmf.c.
 */
#include <stdio.h>
#include <string.h>

#include "cdc.h"
#include "ctl_addr.h"
#include "ctl_call_int.h"
#include "ctl_quality.h"
#include "ctl_val.h"
#include "mx.h"
#include "dp.h"

/* ------------------------------------------------------------------ */
/* reporting                                                            */

struct ctl_val *ctl_drops_dict(struct ctl_arena *a, const uint64_t *drops, bool all)
{
	struct ctl_val *d = ctl_val_dict(a);

	for (int i = 1; d && i < DP_DROP__COUNT; i++) /* 0 is DP_DROP_NONE */
		if (all || drops[i]) {
			const char *name = dp_drop_name((enum dp_drop)i); /* static: not copied */

			ctl_dict_add(d, name, strlen(name), ctl_val_int(a, (int64_t)drops[i]));
		}
	return d;
}

void ctl_stats_dataplane(struct ctl_arena *a, struct ctl_val *tot)
{
	struct ctl_val *ifs = ctl_val_list(a), *clk = ctl_val_dict(a);
	struct dp_clock_stats cs;

	for (unsigned i = 0; ifs && i < dp_iface_count(); i++) {
		struct dp_iface_stats is;
		struct ctl_val *d = ctl_val_dict(a);

		if (!d || dp_iface_get_stats(i, &is))
			continue;
		ctl_dict_add(d, "name", 4, ctl_val_strdup(a, is.name, strlen(is.name)));
		ctl_dict_add(d, "type", 4, ctl_val_strdup(a, is.ethdev ? "ethdev" : "udp", is.ethdev ? 6 : 3));
		if (is.ethdev) {
			struct ctl_val *port = ctl_val_dict(a);

			ctl_dict_add(d, "device", 6, ctl_val_strdup(a, is.device, strlen(is.device)));
			ctl_dict_add(d, "driver", 6, ctl_val_strdup(a, is.driver, strlen(is.driver)));
			if (port) { /* the DPDK port's own counters */
				ctl_dict_add_int(a, port, "rx packets", (int64_t)is.port_rx_packets);
				ctl_dict_add_int(a, port, "tx packets", (int64_t)is.port_tx_packets);
				ctl_dict_add_int(a, port, "rx bytes", (int64_t)is.port_rx_bytes);
				ctl_dict_add_int(a, port, "tx bytes", (int64_t)is.port_tx_bytes);
				ctl_dict_add_int(a, port, "rx missed", (int64_t)is.port_rx_missed);
				ctl_dict_add_int(a, port, "rx errors", (int64_t)is.port_rx_errors);
				ctl_dict_add_int(a, port, "tx errors", (int64_t)is.port_tx_errors);
				ctl_dict_add_int(a, port, "rx no mbuf", (int64_t)is.port_rx_nombuf);
				ctl_dict_add(d, "port", 4, port);
			}
		}
		ctl_dict_add(d, "drops", 5, ctl_drops_dict(a, is.drops, false));
		ctl_list_append(ifs, d);
	}
	if (ifs)
		ctl_dict_add(tot, "interfaces", 10, ifs);
	if (!clk || dp_clock_get_stats(-1, &cs))
		return;
	ctl_dict_add_int(a, clk, "period ms", cs.period_us / 1000);
	ctl_dict_add_int(a, clk, "tickers", cs.tickers);
	ctl_dict_add_int(a, clk, "ticks", (int64_t)cs.ticks);
	ctl_dict_add_int(a, clk, "missed", (int64_t)cs.missed);
	ctl_dict_add_int(a, clk, "late p50 us", cs.late_p50_us);
	ctl_dict_add_int(a, clk, "late p99 us", cs.late_p99_us);
	ctl_dict_add_int(a, clk, "late max us", cs.late_max_us);
	ctl_dict_add_int(a, clk, "slices", (int64_t)cs.slices);
	ctl_dict_add_int(a, clk, "span max us", cs.span_max_us);
	ctl_dict_add(tot, "media clock", 11, clk);
}

double ctl_leg_mos(const struct stream *st, int side, const struct dp_leg_stats *ls)
{
	double loss = ls->expected ? 100.0 * ls->lost / ls->expected : 0;

	return ctl_mos_estimate(st->xcoded ? st->xfmt[side].codec : st->fmt_known ? st->fmt.codec : CDC_PCMU, loss,
				(ls->rtt_ms > 0 ? ls->rtt_ms / 2.0 : 0) + 2 * ls->jitter_ms + 20);
}

/* A terminated leg's jitter buffer and what its transcoder concealed. */
static struct ctl_val *jb_report(struct ctl_arena *a, const struct mx_xcode *x)
{
	struct ctl_val *d = ctl_val_dict(a);
	struct mx_xcode_stats xs;

	if (!d)
		return NULL;
	mx_xcode_get_stats(x, &xs);
	ctl_dict_add_int(a, d, "received", (int64_t)xs.jb.received);
	ctl_dict_add_int(a, d, "played", (int64_t)xs.jb.played);
	ctl_dict_add_int(a, d, "lost", (int64_t)xs.jb.lost);
	ctl_dict_add_int(a, d, "late", (int64_t)xs.jb.late);
	ctl_dict_add_int(a, d, "duplicates", (int64_t)xs.jb.duplicates);
	ctl_dict_add_int(a, d, "reordered", (int64_t)xs.jb.reordered);
	ctl_dict_add_int(a, d, "early", (int64_t)xs.jb.early);
	ctl_dict_add_int(a, d, "resets", (int64_t)xs.jb.resets);
	ctl_dict_add_int(a, d, "held", xs.jb.held);
	ctl_dict_add_int(a, d, "delay ms", xs.jb.delay_ms);
	ctl_dict_add_int(a, d, "delay max ms", xs.jb.delay_max_ms);
	ctl_dict_add_int(a, d, "concealed ms", (int64_t)xs.chain.concealed_ms);
	ctl_dict_add_int(a, d, "packets sent", (int64_t)xs.sent);
	return d;
}

static struct ctl_val *leg_stats(struct ctl_ng_req *r, struct stream *st, int side, uint64_t tot[2][3])
{
	struct ctl_arena *a = ctl_ng_arena(r);
	struct ctl_val *d = ctl_val_dict(a), *ep, *sd;
	struct dp_leg_stats ls;
	struct dp_leg_local loc;
	char addr[80] = "";
	uint64_t errors = 0;
	double mos;
	char *mos_s;

	if (!d)
		return NULL;
	dp_leg_get_stats(st->leg[side], &ls);
	dp_leg_local(st->leg[side], &loc);
	for (int i = 1; i < DP_DROP__COUNT; i++)
		errors += ls.drops[i];
	ctl_dict_add_int(a, d, "local port", loc.rtp_port);
	ep = ctl_val_dict(a);
	if (ep && ls.latched) {
		ctl_addr_str((struct sockaddr *)&ls.source, addr, sizeof(addr));
		ctl_dict_add_cstr(a, ep, "family", ls.source.ss_family == AF_INET6 ? "IPv6" : "IPv4");
		ctl_dict_add(ep, "address", 7, ctl_val_strdup(a, addr, strlen(addr)));
	}
	if (ep)
		ctl_dict_add(d, "endpoint", 8, ep);
	/* where the SDP said the party receives: where media goes while the leg
	 * has not latched (always, on an asymmetric leg) */
	ep = ls.remote.ss_family ? ctl_val_dict(a) : NULL;
	if (ep) {
		ctl_addr_str((struct sockaddr *)&ls.remote, addr, sizeof(addr));
		ctl_dict_add_cstr(a, ep, "family", ls.remote.ss_family == AF_INET6 ? "IPv6" : "IPv4");
		ctl_dict_add(ep, "address", 7, ctl_val_strdup(a, addr, strlen(addr)));
		ctl_dict_add(d, "advertised endpoint", 19, ep);
	}
	sd = ctl_val_dict(a);
	if (sd) {
		ctl_dict_add_int(a, sd, "packets", (int64_t)ls.rtp_packets);
		ctl_dict_add_int(a, sd, "bytes", (int64_t)ls.rtp_bytes);
		ctl_dict_add_int(a, sd, "errors", (int64_t)errors);
		ctl_dict_add(sd, "drops", 5, ctl_drops_dict(a, ls.drops, false)); /* errors by reason */
		ctl_dict_add(d, "stats", 5, sd);
	}
	ctl_dict_add_int(a, d, "RTCP packets", (int64_t)ls.rtcp_packets);
	ctl_dict_add_int(a, d, "DTMF blocked", (int64_t)ls.blocked);
	ctl_dict_add_int(a, d, "RTCP generated", (int64_t)ls.rtcp_generated);
	ctl_dict_add_int(a, d, "packets sent", (int64_t)ls.out_packets);
	ctl_dict_add_int(a, d, "SSRC", ls.ssrc);
	ctl_dict_add_int(a, d, "expected", ls.expected);
	ctl_dict_add_int(a, d, "lost", ls.lost);
	ctl_dict_add_int(a, d, "lost for good", ls.lost_final);
	ctl_dict_add_int(a, d, "jitter ms x1000", (int64_t)(ls.jitter_ms * 1000));
	ctl_dict_add_int(a, d, "RTT ms", ls.rtt_ms);
	if (st->xc[side])
		ctl_dict_add(d, "jitter buffer", 13, jb_report(a, st->xc[side]));
	mos = ctl_leg_mos(st, side, &ls);
	mos_s = ctl_arena_alloc(a, 8);
	if (mos_s) {
		snprintf(mos_s, 8, "%.2f", mos);
		ctl_dict_add_cstr(a, d, "MOS", mos_s);
	}
	tot[0][0] += ls.rtp_packets;
	tot[0][1] += ls.rtp_bytes;
	tot[0][2] += errors;
	tot[1][0] += ls.rtcp_packets;
	return d;
}

/* One tag's entry: its media sections, each with one stream per branch in
 * `br` (the offerer's tag has one per branch, an answerer's tag one). */
static struct ctl_val *tag_report(struct ctl_ng_req *r, struct branch *const *br, unsigned n_br, int side,
				  const char *tag, uint64_t tot[2][3])
{
	struct ctl_arena *a = ctl_ng_arena(r);
	struct ctl_val *t = ctl_val_dict(a), *medias = ctl_val_list(a);

	if (!t || !medias)
		return NULL;
	ctl_dict_add(t, "tag", 3, ctl_val_strdup(a, tag, strlen(tag)));
	{ /* the site this party's media is counted under (ctl_site.h) */
		const char *site = ctl_site_of_leg(br[0]->call, br[0], side);

		ctl_dict_add(t, "site", 4, ctl_val_strdup(a, site, strlen(site)));
	}
	if (side && br[0]->via[0])
		ctl_dict_add(t, "via-branch", 10, ctl_val_strdup(a, br[0]->via, strlen(br[0]->via)));
	for (unsigned i = 0; i < br[0]->n; i++) {
		struct stream *st = &br[0]->st[i];
		struct ctl_val *md = ctl_val_dict(a), *streams = ctl_val_list(a);

		if (!md || !streams)
			return NULL;
		ctl_dict_add_int(a, md, "index", i + 1);
		ctl_dict_add(md, "type", 4, ctl_val_strdup(a, st->type, strlen(st->type)));
		ctl_dict_add(md, "protocol", 8, ctl_val_strdup(a, st->proto[side], strlen(st->proto[side])));
		if (st->xcoded) {
			ctl_dict_add_cstr(a, md, "codec", cdc_codec_name(st->xfmt[side].codec));
			ctl_dict_add_int(a, md, "transcoded", 1);
		} else if (st->fmt_known) {
			ctl_dict_add_cstr(a, md, "codec", cdc_codec_name(st->fmt.codec));
		}
		for (unsigned b = 0; b < n_br; b++)
			if (i < br[b]->n && br[b]->st[i].active && br[b]->st[i].leg[side])
				ctl_list_append(streams, leg_stats(r, &br[b]->st[i], side, tot));
		ctl_dict_add(md, "streams", 7, streams);
		ctl_list_append(medias, md);
	}
	ctl_dict_add(t, "medias", 6, medias);
	return t;
}

/* Keys are not copied, and delete frees the call before the reply goes. */
static void add_keyed(struct ctl_arena *a, struct ctl_val *d, const char *key, struct ctl_val *v)
{
	struct ctl_val *k = ctl_val_strdup(a, key, strlen(key));

	if (k)
		ctl_dict_add(d, k->u.s.p, k->u.s.len, v);
}

int ctl_call_report(struct ctl_ng_req *r, struct call *k, struct branch *only)
{
	struct ctl_arena *a = ctl_ng_arena(r);
	struct ctl_val *reply = ctl_ng_reply(r), *tags = ctl_val_dict(a), *totals = ctl_val_dict(a), *t;
	struct branch *const *br = only ? &only : k->br;
	unsigned n_br = only ? 1 : k->n_br;
	uint64_t tot[2][3] = { { 0 } };

	if (!tags || !totals)
		return ctl_ng_error(r, "Reply too large");
	ctl_dict_add_int(a, reply, "created", k->created);
	ctl_dict_add_int(a, reply, "last signal", k->last_signal);
	ctl_dict_add_int(a, reply, "lcore", dp_call_lcore(k->dp)); /* the worker serving its media */
	{
		const char *site = ctl_site_of_call(k); /* copied: delete frees k before the reply goes */

		ctl_dict_add(reply, "site", 4, ctl_val_strdup(a, site, strlen(site)));
	}
	if (!only)
		ctl_dict_add_int(a, reply, "branches", k->n_br);
	if (n_br) {
		t = tag_report(r, br, n_br, 0, k->from_tag, tot);
		if (!t)
			return ctl_ng_error(r, "Reply too large");
		add_keyed(a, tags, k->from_tag, t);
	}
	for (unsigned b = 0; b < n_br; b++) {
		const char *tag = br[b]->to_tag;

		t = tag_report(r, &br[b], 1, 1, tag, tot);
		if (!t)
			return ctl_ng_error(r, "Reply too large");
		add_keyed(a, tags, tag[0] ? tag : br[b]->via, t); /* not answered yet: by via-branch */
	}
	ctl_dict_add(reply, "tags", 4, tags);
	if (!only)
		ctl_rec_report(r, k);
	for (int p = 0; p < 2; p++) {
		struct ctl_val *d = ctl_val_dict(a);

		if (!d)
			return ctl_ng_error(r, "Reply too large");
		ctl_dict_add_int(a, d, "packets", (int64_t)tot[p][0]);
		ctl_dict_add_int(a, d, "bytes", (int64_t)tot[p][1]);
		ctl_dict_add_int(a, d, "errors", (int64_t)tot[p][2]);
		ctl_dict_add(totals, p ? "RTCP" : "RTP", p ? 4 : 3, d);
	}
	ctl_dict_add(reply, "totals", 6, totals);
	return 0;
}
