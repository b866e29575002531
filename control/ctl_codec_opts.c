/* SPDX-License-Identifier: MIT
 * ctl_codec_opts: the ng "codec" dictionary of an offer (strip, mask,
 * offer, transcode, accept, consume, except, set) and the "always
 * transcode" flag, applied to one media section on its way to the
 * answerer (see ctl_call_int.h and docs/protocol.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cdc.h"
#include "ctl_call_int.h"
#include "ctl_ng_args.h"
#include "ctl_sdp.h"
#include "ctl_val.h"

/* codec: {"transcode": [...]} (and "offer"): add codecs the offerer does
 * not have to the offer, for medius to transcode to if the answerer picks
 * one. Names as "opus", "PCMA", "G722", "opus/48000/2", "L16/16000". */
static int add_transcode_codecs(struct ctl_ng_req *r, struct ctl_sdp *s, struct ctl_sdp_media *m,
				const struct ctl_val *list)
{
	static const struct { const char *name, *rtpmap; } defaults[] = {
		{ "opus", "opus/48000/2" }, { "PCMU", "PCMU/8000" }, { "PCMA", "PCMA/8000" },
		{ "G722", "G722/8000" }, { "L16", "L16/16000" },
	};

	for (const struct ctl_val *v = list && list->type == CTL_V_LIST ? list->u.c.head : NULL; v; v = v->next) {
		char spec[48], rtpmap[48], fmtp[128];
		struct cdc_format f;
		int pt = -1;
		bool have = false;

		if (v->type != CTL_V_STR || v->u.s.len >= sizeof(spec)) /* no codec spec is that long */
			return ctl_ng_error(r, "Cannot transcode to a codec given as %s",
					    v->type != CTL_V_STR ? "a non-string" : "a string over 47 bytes");
		memcpy(spec, v->u.s.p, v->u.s.len);
		spec[v->u.s.len] = '\0';
		snprintf(rtpmap, sizeof(rtpmap), "%s", spec);
		for (unsigned d = 0; d < sizeof(defaults) / sizeof(defaults[0]); d++)
			if (!strcasecmp(spec, defaults[d].name))
				snprintf(rtpmap, sizeof(rtpmap), "%s", defaults[d].rtpmap);
		if (cdc_format_parse(rtpmap, NULL, &f) || f.codec == CDC_TELEPHONE_EVENT || f.codec == CDC_CN)
			return ctl_ng_error(r, "Cannot transcode to '%s'", spec);
		for (unsigned i = 0; i < m->n_fmts && !have; i++)
			have = ctl_sdp_media_pt(m, i) >= 0 && ctl_sdp_media_pt_matches(m, (unsigned)ctl_sdp_media_pt(m, i), rtpmap);
		if (have)
			continue; /* the offerer has it: nothing to add */
		if (f.static_pt >= 0 && ctl_sdp_media_pt_index(m, (unsigned)f.static_pt) < 0)
			pt = f.static_pt;
		for (unsigned p = 96; pt < 0 && p < 128; p++)
			if (ctl_sdp_media_pt_index(m, p) < 0)
				pt = (int)p;
		if (pt < 0)
			return ctl_ng_error(r, "No payload type left for '%s'", spec);
		cdc_format_rtpmap(&f, rtpmap, sizeof(rtpmap));
		if (cdc_format_fmtp(&f, fmtp, sizeof(fmtp)) < 0)
			fmtp[0] = '\0';
		if (ctl_sdp_media_add_codec(s, m, (unsigned)pt, rtpmap, fmtp[0] ? fmtp : NULL, false))
			return ctl_ng_error(r, "Cannot add '%s' to the offer", spec);
	}
	return 0;
}

/* A list entry as a C string in buf; false when it is not a short string. */
static bool entry(const struct ctl_val *v, char *buf, size_t len)
{
	if (v->type != CTL_V_STR || v->u.s.len >= len)
		return false;
	memcpy(buf, v->u.s.p, v->u.s.len);
	buf[v->u.s.len] = '\0';
	return true;
}

#define EACH(v, list) for (const struct ctl_val *v = (list) && (list)->type == CTL_V_LIST ? (list)->u.c.head : NULL; v; v = v->next)

/* codec: {"accept": [...]} (and "consume"): these codecs of the offerer's
 * stay its codecs even when the answerer picks another; medius then
 * transcodes. "all" (or the "always transcode" flag) means every one. */
static int codec_accept(struct ctl_ng_req *r, struct stream *st, const struct ctl_val *list)
{
	EACH(v, list) {
		char name[32];

		if (!entry(v, name, sizeof(name)))
			return ctl_ng_error(r, "Bad codec name in accept/consume");
		if (!strcasecmp(name, "all") || !strcasecmp(name, "any"))
			st->accept_all = true;
		else if (st->n_accept < sizeof(st->accept) / sizeof(st->accept[0]))
			memcpy(st->accept[st->n_accept++], name, sizeof(name));
		else
			return ctl_ng_error(r, "More than %zu codecs in accept/consume",
					    sizeof(st->accept) / sizeof(st->accept[0]));
	}
	return 0;
}

/* codec: {"set": ["opus/48000/2/32000", ...]}: encoder options (the
 * bitrate) for a codec medius encodes when it transcodes. Each entry is a
 * full name/clock/channels, then optionally the bitrate. */
static int codec_set(struct ctl_ng_req *r, struct stream *st, const struct ctl_val *list)
{
	EACH(v, list) {
		char spec[64], *p;
		unsigned long bitrate = 0;
		struct cdc_format f;
		int slashes = 0;

		if (!entry(v, spec, sizeof(spec)))
			return ctl_ng_error(r, "Bad codec in set");
		for (p = spec; *p; p++)
			if (*p == '/' && ++slashes == 3) {
				*p = '\0';
				bitrate = strtoul(p + 1, NULL, 10);
				break;
			}
		if (slashes < 2 || cdc_format_parse(spec, NULL, &f) || bitrate > 512000)
			return ctl_ng_error(r, "codec set '%.*s': want name/clock/channels[/bitrate]", (int)v->u.s.len,
					    v->u.s.p);
		if (st->n_set == sizeof(st->set) / sizeof(st->set[0]))
			return ctl_ng_error(r, "More than %zu codecs in set", sizeof(st->set) / sizeof(st->set[0]));
		st->set[st->n_set].f = f;
		st->set[st->n_set++].bitrate = (uint32_t)bitrate;
	}
	return 0;
}

/* codec: {"offer": [...]}: offer only these of the offerer's codecs, in
 * this order (the first becomes the preferred one). Unknown names are
 * skipped; leaving none is an error. */
static int codec_offer(struct ctl_ng_req *r, struct ctl_sdp *s, struct ctl_sdp_media *m, unsigned i,
		       const struct ctl_val *list)
{
	const char *keep[16];
	char store[16][48];
	uint8_t order[CTL_SDP_MAX_FMTS];
	unsigned n = 0, n_order = 0;

	if (!list)
		return 0;
	EACH(v, list) {
		if (n == 16 || !entry(v, store[n], sizeof(store[n])))
			return ctl_ng_error(r, "Bad codec offer list: %s",
					    n == 16 ? "more than 16 codecs" : "an entry that is not a codec name");
		keep[n] = store[n];
		n++;
	}
	for (unsigned k = 0; k < n; k++)
		for (unsigned f = 0; f < m->n_fmts && n_order < CTL_SDP_MAX_FMTS; f++) {
			int pt = ctl_sdp_media_pt(m, f);

			if (pt >= 0 && ctl_sdp_media_pt_matches(m, (unsigned)pt, keep[k]))
				order[n_order++] = (uint8_t)pt;
		}
	if (!n || ctl_sdp_media_keep_codecs(s, m, keep, n) < 0 || ctl_sdp_media_reorder(s, m, order, n_order) < 0)
		return ctl_ng_error(r, "codec offer would leave media %u without codecs", i + 1);
	return 0;
}

/* codec strip / mask: remove codecs (by name, name/clock or
 * name/clock/channels) from the offer to the answerer. "all" removes every
 * codec but those listed in `except`. mask differs from strip for
 * rtpengine in that the offerer may still send the masked codec; here that
 * holds too, since medius transcodes from the offerer's first codec when
 * the answer picks something else. Leaving no codec is an error. */
static int remove_codecs(struct ctl_ng_req *r, struct ctl_sdp *s, struct ctl_sdp_media *m, unsigned i,
			 const struct ctl_val *list, const struct ctl_val *except)
{
	for (const struct ctl_val *v = list && list->type == CTL_V_LIST ? list->u.c.head : NULL; v; v = v->next) {
		char spec[64];

		if (v->type != CTL_V_STR || v->u.s.len >= sizeof(spec)) /* no codec spec is that long */
			return ctl_ng_error(r, "Bad codec in strip/mask: %s",
					    v->type != CTL_V_STR ? "not a string" : "a string over 63 bytes");
		memcpy(spec, v->u.s.p, v->u.s.len);
		spec[v->u.s.len] = '\0';
		if (!strcasecmp(spec, "all")) {
			const char *keep[16];
			char store[16][64];
			unsigned n = 0;

			for (const struct ctl_val *e = except && except->type == CTL_V_LIST ? except->u.c.head : NULL;
			     e; e = e->next) {
				if (n == 16 || e->type != CTL_V_STR || e->u.s.len >= sizeof(store[n]))
					return ctl_ng_error(r, "Bad codec except list: %s",
							    n == 16 ? "more than 16 codecs" : "an entry that is not a "
											"codec name");
				memcpy(store[n], e->u.s.p, e->u.s.len);
				store[n][e->u.s.len] = '\0';
				keep[n] = store[n];
				n++;
			}
			if (!n || ctl_sdp_media_keep_codecs(s, m, keep, n) < 0)
				return ctl_ng_error(r, "Removing all codecs but %s would leave media %u without codecs",
						    n ? "the exceptions" : "none", i + 1);
			continue;
		}
		if (ctl_sdp_media_remove_codec(s, m, spec) < 0)
			return ctl_ng_error(r, "Removing %s would leave media %u without codecs", spec, i + 1);
	}
	return 0;
}

int ctl_stream_codec_options(struct ctl_ng_req *r, struct stream *st, struct ctl_sdp *s, struct ctl_sdp_media *m,
			     unsigned i)
{
	const struct ctl_val *codec = ctl_dict_get(ctl_ng_args(r), "codec");

	st->n_accept = st->n_set = 0;
	st->accept_all = ctl_has_flag(r, "flags", "always transcode");
	if (codec && codec->type == CTL_V_DICT) {
		const struct ctl_val *strip = ctl_dict_get(codec, "strip");

		if (codec_set(r, st, ctl_dict_get(codec, "set")) ||
		    codec_accept(r, st, ctl_dict_get(codec, "accept")) ||
		    codec_accept(r, st, ctl_dict_get(codec, "consume")))
			return -1;
		if (add_transcode_codecs(r, s, m, ctl_dict_get(codec, "transcode")) ||
		    codec_offer(r, s, m, i, ctl_dict_get(codec, "offer")))
			return -1;
		if (remove_codecs(r, s, m, i, strip, ctl_dict_get(codec, "except")) ||
		    remove_codecs(r, s, m, i, ctl_dict_get(codec, "mask"), NULL) ||
		    remove_codecs(r, s, m, i, ctl_dict_get(codec, "consume"), NULL))
			return -1;
	}
	return 0;
}
