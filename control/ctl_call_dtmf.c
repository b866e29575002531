/* SPDX-License-Identifier: MIT
 * ctl_call_dtmf: the DTMF commands of the call model (block DTMF, unblock
 * DTMF, play DTMF), DTMF-security and the "block DTMF" flag of offers and
 * answers (see ctl_call_int.h). Moved out of ctl_call_report.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cdc.h"
#include "ctl_call_int.h"
#include "ctl_ng_args.h"
#include "ctl_val.h"
#include "dp.h"
#include "mx.h"

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

/* The request's DTMF-security (contract in ctl_call_int.h). */
int ctl_dtmf_security(struct ctl_ng_req *r, int *mode, unsigned *freq)
{
	const char *name = ctl_arg_str(r, "DTMF-security");
	const char *digit = ctl_arg_str(r, "digit");
	const struct ctl_val *di = ctl_dict_get(ctl_ng_args(r), "digit");
	const struct ctl_val *fv = ctl_dict_get(ctl_ng_args(r), "frequency");
	unsigned f = 0;
	int m, ev;

	if (!digit)
		digit = ctl_arg_str(r, "code");
	if (!name || !strcasecmp(name, "drop")) {
		m = DP_DTMF_DROP;
	} else if (!strcasecmp(name, "off")) {
		m = CTL_DTMF_OFF;
	} else if (!strcasecmp(name, "zero")) {
		m = 0;
	} else if (!strcasecmp(name, "random")) {
		m = DP_DTMF_RANDOM;
	} else if (!strcasecmp(name, "silence")) {
		m = CTL_DTMF_SILENCE;
	} else if (!strcasecmp(name, "tone")) {
		f = fv && fv->type == CTL_V_INT ? (unsigned)fv->u.i : 400;
		if (!fv && (fv = ctl_dict_get(ctl_ng_args(r), "frequencies")) && fv->type == CTL_V_INT)
			f = (unsigned)fv->u.i;
		if (f < 100 || f > 4000) {
			ctl_ng_error(r, "DTMF-security 'tone': frequency %u Hz is not within 100-4000", f);
			return -EINVAL;
		}
		m = CTL_DTMF_TONE;
	} else if (!strcasecmp(name, "DTMF")) {
		ev = digit && strlen(digit) == 1 ? cdc_dtmf_event(digit[0]) : di && di->type == CTL_V_INT ? (int)di->u.i : -1;
		if (ev < 0 || ev > 15) {
			ctl_ng_error(r, "DTMF-security 'DTMF' needs a 'digit' (0-9, *, #, A-D)");
			return -EINVAL;
		}
		m = ev;
	} else {
		ctl_ng_error(r, "DTMF-security '%s' is not supported: use drop, silence, tone, zero, DTMF, random or off",
			     name);
		return -EINVAL;
	}
	*mode = m;
	*freq = f;
	return 0;
}

/* Apply a ctl_dtmf_security mode (CTL_DTMF_OFF: unblock) to what `side`
 * of st sends: RFC 4733 packets dropped or rewritten in the dataplane, in-band
 * DTMF masked in a chain for silence/tone. Returns 0 or -errno (-ENOTSUP:
 * no codec known yet for masking; it is applied at the answer). */
static int dtmf_apply(struct stream *st, int side, int mode, unsigned freq)
{
	int te = side ? st->b_te : st->a_te;
	bool mask = mode == CTL_DTMF_SILENCE || mode == CTL_DTMF_TONE;

	if (!st->active)
		return 0;
	dp_leg_set_dtmf_block(st->leg[side], mode == CTL_DTMF_OFF ? -1 : te >= 0 ? te : 101,
			      mode == CTL_DTMF_OFF || mask ? DP_DTMF_DROP : mode);
	return ctl_stream_set_mask(st, side, mode == CTL_DTMF_SILENCE ? CDC_DTMF_MASK_SILENCE
					     : mode == CTL_DTMF_TONE ? CDC_DTMF_MASK_TONE : CDC_DTMF_MASK_OFF, freq);
}

int ctl_block_dtmf_flag(struct ctl_ng_req *r, struct branch *b, int side)
{
	unsigned freq = 0;
	int mode, rc;

	if (!ctl_has_flag(r, "flags", "block DTMF"))
		return 0;
	if (ctl_dtmf_security(r, &mode, &freq))
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
	int n, side, rc, masked = 0, mode = CTL_DTMF_OFF;
	int err = block ? ctl_dtmf_security(r, &mode, &freq) : 0;

	if (!k || err)
		return -1;
	if (k->conference)
		return ctl_ng_error(r, "Call-ID '%s' is a conference participant: DTMF commands are for calls", k->id);
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
	if (k->conference)
		return ctl_ng_error(r, "Call-ID '%s' is a conference participant: DTMF commands are for calls", k->id);
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
