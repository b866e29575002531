/* SPDX-License-Identifier: MIT
 * ctl_call_report: what query and delete report about a call (per tag,
 * per media, per leg, with an estimated MOS), and the DTMF commands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cdc.h"
#include "ctl_addr.h"
#include "ctl_call.h"
#include "ctl_call_int.h"
#include "ctl_ng_args.h"
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
	ctl_dict_add(tot, "media clock", 11, clk);
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
	double loss, mos;
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
	ctl_dict_add_int(a, d, "jitter ms x1000", (int64_t)(ls.jitter_ms * 1000));
	ctl_dict_add_int(a, d, "RTT ms", ls.rtt_ms);
	if (st->xc[side])
		ctl_dict_add(d, "jitter buffer", 13, jb_report(a, st->xc[side]));
	loss = ls.expected ? 100.0 * ls.lost / ls.expected : 0;
	mos = ctl_mos_estimate(st->xcoded ? st->xfmt[side].codec : st->fmt_known ? st->fmt.codec : CDC_PCMU, loss,
			       (ls.rtt_ms > 0 ? ls.rtt_ms / 2.0 : 0) + 2 * ls.jitter_ms + 20);
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
			if (i < br[b]->n && br[b]->st[i].active)
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

/* The legs a DTMF command's from-tag selects: side 0 of every branch for
 * the offerer (or everyone's when no tag), side 1 of one branch for an
 * answerer. Returns the number of branches in out[] and the side in *side
 * (-1: both), or -1 after an error reply. */
static int dtmf_select(struct ctl_ng_req *r, struct call *k, const char *tag, struct branch **out, int *side)
{
	struct branch *b;

	if (!tag || !*tag || !strcmp(tag, k->from_tag)) {
		*side = tag && *tag ? 0 : -1;
		memcpy(out, k->br, k->n_br * sizeof(*out));
		return (int)k->n_br;
	}
	b = ctl_branch_by_tag(k, tag);
	if (!b)
		return ctl_ng_error(r, "Unknown from-tag for this call");
	*side = 1;
	out[0] = b;
	return 1;
}

/* DTMF-security, as the dataplane's replacement: DP_DTMF_DROP, an event,
 * DP_DTMF_RANDOM; -2 for "off"; CTL_DTMF_SILENCE or CTL_DTMF_TONE (with
 * *freq, default 400 Hz) for in-band masking; -3 after an error reply. */
int ctl_dtmf_security(struct ctl_ng_req *r, unsigned *freq)
{
	const char *mode = ctl_arg_str(r, "DTMF-security");
	const char *digit = ctl_arg_str(r, "digit");
	const struct ctl_val *di = ctl_dict_get(ctl_ng_args(r), "digit");
	const struct ctl_val *fv = ctl_dict_get(ctl_ng_args(r), "frequency");
	int ev;

	if (!digit)
		digit = ctl_arg_str(r, "code");
	if (!mode || !strcasecmp(mode, "drop"))
		return DP_DTMF_DROP;
	if (!strcasecmp(mode, "off"))
		return -2;
	if (!strcasecmp(mode, "zero"))
		return 0;
	if (!strcasecmp(mode, "random"))
		return DP_DTMF_RANDOM;
	if (!strcasecmp(mode, "silence"))
		return CTL_DTMF_SILENCE;
	if (!strcasecmp(mode, "tone")) {
		*freq = fv && fv->type == CTL_V_INT ? (unsigned)fv->u.i : 400;
		if (!fv && (fv = ctl_dict_get(ctl_ng_args(r), "frequencies")) && fv->type == CTL_V_INT)
			*freq = (unsigned)fv->u.i;
		if (*freq < 100 || *freq > 4000) {
			ctl_ng_error(r, "DTMF-security 'tone': frequency %u Hz is not within 100-4000", *freq);
			return -3;
		}
		return CTL_DTMF_TONE;
	}
	if (!strcasecmp(mode, "DTMF")) {
		ev = digit && strlen(digit) == 1 ? cdc_dtmf_event(digit[0]) : di && di->type == CTL_V_INT ? (int)di->u.i : -1;
		if (ev < 0 || ev > 15) {
			ctl_ng_error(r, "DTMF-security 'DTMF' needs a 'digit' (0-9, *, #, A-D)");
			return -3;
		}
		return ev;
	}
	ctl_ng_error(r, "DTMF-security '%s' is not supported: use drop, silence, tone, zero, DTMF, random or off", mode);
	return -3;
}

/* Apply a ctl_dtmf_security mode (or -2: unblock) to what `side` of st
 * sends: RFC 4733 packets dropped or rewritten in the dataplane, in-band
 * DTMF masked in a chain for silence/tone. Returns 0 or -errno (-ENOTSUP:
 * no codec known yet for masking; it is applied at the answer). */
static int dtmf_apply(struct stream *st, int side, int mode, unsigned freq)
{
	int te = side ? st->b_te : st->a_te;
	bool mask = mode == CTL_DTMF_SILENCE || mode == CTL_DTMF_TONE;

	if (!st->active)
		return 0;
	dp_leg_set_dtmf_block(st->leg[side], mode == -2 ? -1 : te >= 0 ? te : 101,
			      mode == -2 || mask ? DP_DTMF_DROP : mode);
	return ctl_stream_set_mask(st, side, mode == CTL_DTMF_SILENCE ? CDC_DTMF_MASK_SILENCE
					     : mode == CTL_DTMF_TONE ? CDC_DTMF_MASK_TONE : CDC_DTMF_MASK_OFF, freq);
}

int ctl_block_dtmf_flag(struct ctl_ng_req *r, struct branch *b, int side)
{
	unsigned freq = 0;
	int mode, rc;

	if (!ctl_has_flag(r, "flags", "block DTMF"))
		return 0;
	mode = ctl_dtmf_security(r, &freq);
	if (mode == -3)
		return -1;
	for (unsigned i = 0; i < b->n; i++) {
		rc = dtmf_apply(&b->st[i], side, mode, freq);
		if (rc && rc != -ENOTSUP)
			return ctl_ng_error(r, "Cannot block DTMF in media %u: %s", i + 1, strerror(-rc));
	}
	return 0;
}

/* block DTMF / unblock DTMF: RFC 4733 events from one party (from-tag
 * given) or from everyone stop being forwarded (DTMF-security "drop", the
 * default), are forwarded with another digit ("zero", "DTMF" with
 * "digit", "random"), or flow again (unblock, or "off"). */
static int set_dtmf_block(struct ctl_ng_req *r, struct ctl_calls *c, bool block)
{
	struct call *k = ctl_find_call(r, c, "Unknown call-id");
	struct branch *sel[CTL_MAX_BRANCHES];
	unsigned freq = 0;
	int n, side, rc, masked = 0, mode = block ? ctl_dtmf_security(r, &freq) : -2;

	if (!k || mode == -3)
		return -1;
	n = dtmf_select(r, k, ctl_arg_str(r, "from-tag"), sel, &side);
	if (n < 0)
		return -1;
	for (int b = 0; b < n; b++)
		for (unsigned i = 0; i < sel[b]->n; i++)
			for (int s = 0; s < 2; s++) {
				if (side >= 0 && s != side)
					continue;
				rc = dtmf_apply(&sel[b]->st[i], s, mode, freq);
				if (rc == -ENOTSUP && sel[b]->st[i].active)
					ctl_ng_warning(r, "media %u: DTMF is masked once its codec is answered", i + 1);
				else if (rc)
					return ctl_ng_error(r, "Cannot block DTMF in media %u: %s", i + 1, strerror(-rc));
				masked += sel[b]->st[i].xc[s] != NULL;
			}
	/* masking decodes and encodes: off the relay workers when there are others */
	if (masked && dp_call_to_transcode_worker(k->dp))
		return ctl_ng_error(r, "Cannot move the call to a transcoding worker");
	return 0;
}

/* play DTMF: an RFC 4733 event as if `from-tag`'s party had sent it, into
 * the stream towards the other party (rtpengine's semantics: the selected
 * participant is the one generating the DTMF). code is a digit ("5", "*",
 * "A") or an event number; duration in ms (default 100); volume in -dBm0
 * (default 8). It rides on the media that party sends. On a forked call the
 * offerer's events go to the branch answered last. On a transcoded stream
 * the chain from that party (xc[from]) plays it: as RFC 4733 packets when
 * the receiver has telephone-event, as in-band tones otherwise, with that
 * party's audio suppressed meanwhile. */
int ctl_cmd_play_dtmf(struct ctl_ng_req *r, void *ctx)
{
	struct call *k = ctl_find_call(r, ctx, "Unknown call-id");
	const char *tag = ctl_arg_str(r, "from-tag"), *code_s = ctl_arg_str(r, "code");
	const struct ctl_val *code_i = ctl_dict_get(ctl_ng_args(r), "code");
	const struct ctl_val *dur = ctl_dict_get(ctl_ng_args(r), "duration");
	const struct ctl_val *vol = ctl_dict_get(ctl_ng_args(r), "volume");
	struct branch *sel[CTL_MAX_BRANCHES], *b = NULL;
	int event = -1, played = 0, from;

	if (!k)
		return -1;
	if (!code_s)
		code_s = ctl_arg_str(r, "digit");
	if (code_s && strlen(code_s) == 1)
		event = cdc_dtmf_event(code_s[0]);
	else if (code_s)
		event = atoi(code_s);
	else if (code_i && code_i->type == CTL_V_INT)
		event = (int)code_i->u.i;
	if (event < 0 || event > 15)
		return ctl_ng_error(r, "No valid DTMF 'code' (0-9, *, #, A-D or 0-15)");
	if (dtmf_select(r, k, tag, sel, &from) < 0)
		return -1;
	b = from == 1 ? sel[0] : ctl_branch_newest(k, false); /* the offerer: the branch it talks to */
	from = from < 0 ? 0 : from; /* default: the offerer */
	for (unsigned i = 0; b && i < b->n; i++) {
		struct stream *st = &b->st[i];
		int te = from ? st->a_te : st->b_te; /* the receiver's telephone-event type */
		uint32_t clock = st->fmt_known ? st->fmt.clock_rate : 8000;
		int64_t ms = dur && dur->type == CTL_V_INT ? dur->u.i : 100;
		int64_t v = vol && vol->type == CTL_V_INT ? (vol->u.i < 0 ? -vol->u.i : vol->u.i) : 8;
		int rc;

		if (!st->active || strcmp(st->type, "audio"))
			continue;
		if (!st->xc[from] && te < 0) /* through a chain: in-band tones instead */
			return ctl_ng_error(r, "The receiving side did not negotiate telephone-event");
		if (ms < 10 || ms > 5000)
			return ctl_ng_error(r, "DTMF duration %lld ms is not within 10-5000", (long long)ms);
		if (st->xc[from]) /* xc[from] makes what the other party receives */
			rc = mx_xcode_play_dtmf(st->xc[from], (uint8_t)event, (uint32_t)ms, (uint8_t)(v > 63 ? 63 : v));
		else
			rc = dp_leg_play_event(st->leg[1 - from], (uint8_t)te, (uint8_t)event,
					       (uint32_t)(ms * clock / 1000), (uint8_t)(v > 63 ? 63 : v));
		if (rc == -EBUSY)
			return ctl_ng_error(r, "A DTMF event is still playing");
		if (rc)
			return ctl_ng_error(r, "Cannot play DTMF: %s", strerror(-rc));
		played++;
		break; /* the first audio stream */
	}
	if (!played)
		return ctl_ng_error(r, "No audio stream to play DTMF into");
	return 0;
}

int ctl_cmd_block_dtmf(struct ctl_ng_req *r, void *ctx) { return set_dtmf_block(r, ctx, true); }
int ctl_cmd_unblock_dtmf(struct ctl_ng_req *r, void *ctx) { return set_dtmf_block(r, ctx, false); }
