/* SPDX-License-Identifier: MIT
 * ctl_call_tap: the ng commands "start tap" and "stop tap" (a medius
 * extension; docs/protocol.md). A tap copies what the media engine hears
 * from a party (its decoded audio) or sends to it (RTP) into a file under
 * [media] tap_dir, through a ring and a thread off the workers (ctl_tap).
 * Only terminated streams (transcoded, or DTMF-masked) have the engine in
 * their path.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl_call.h"
#include "ctl_call_int.h"
#include "ctl_ng_args.h"
#include "ctl_tap.h"

#define TAP_BUFFER_MS 2000 /* the ring holds at least this much by default */

/* The stream, side and graph a tap request names; -1 after an error reply. */
static int tap_target(struct ctl_ng_req *r, struct ctl_calls *c, struct stream **st_out, int *side_out,
		      enum mx_tap_kind *kind_out)
{
	struct call *k = ctl_find_call(r, c, "Unknown call-id");
	const char *tag = ctl_arg_str(r, "from-tag"), *dir = ctl_arg_str(r, "direction");
	const struct ctl_val *mi = ctl_dict_get(ctl_ng_args(r), "media");
	struct branch *b;
	int side;
	int64_t media = mi && mi->type == CTL_V_INT ? mi->u.i : 1;

	if (!k)
		return -1;
	if (k->conference)
		return ctl_ng_error(r, "Call-ID '%s' is a conference participant: taps are for calls", k->id);
	if (!tag || !*tag)
		return ctl_ng_error(r, "A tap needs the from-tag of the party it listens to");
	b = ctl_party_branch(k, tag, &side);
	if (!b)
		return ctl_ng_error(r, "Unknown from-tag for this call");
	if (dir && strcmp(dir, "in") && strcmp(dir, "out"))
		return ctl_ng_error(r, "Tap 'direction' is 'in' (what the party sends, decoded) or 'out' (the RTP medius sends it)");
	if (media < 1 || media > (int64_t)b->n)
		return ctl_ng_error(r, "No media %lld in this call (it has %u)", (long long)media, b->n);
	*st_out = &b->st[media - 1];
	*side_out = side;
	*kind_out = dir && !strcmp(dir, "out") ? MX_TAP_RTP_OUT : MX_TAP_PCM_IN;
	return 0;
}

static void add_stats(struct ctl_ng_req *r, const struct ctl_tap_stats *ts)
{
	struct ctl_arena *a = ctl_ng_arena(r);
	struct ctl_val *reply = ctl_ng_reply(r);

	ctl_dict_add_int(a, reply, "frames", (int64_t)ts->frames);
	ctl_dict_add_int(a, reply, "bytes", (int64_t)ts->bytes);
	ctl_dict_add_int(a, reply, "overruns", (int64_t)ts->overruns);
	if (ts->error)
		ctl_dict_add_cstr(a, reply, "file error", strerror(-ts->error));
}

int ctl_cmd_start_tap(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_arena *a = ctl_ng_arena(r);
	const char *dir = ctl_calls_tap_dir(ctx), *file = ctl_arg_str(r, "file");
	const struct ctl_val *bv = ctl_dict_get(ctl_ng_args(r), "buffer-ms");
	int64_t buffer_ms = bv && bv->type == CTL_V_INT ? bv->u.i : TAP_BUFFER_MS;
	unsigned frames = 2;
	struct stream *st;
	struct mx_xcode *x;
	struct mx_tap *t;
	enum mx_tap_kind kind;
	unsigned ch = 1;
	uint32_t rate, bytes;
	char path[512];
	int side, e = 0;

	if (!dir || !*dir)
		return ctl_ng_error(r, "Taps are off: set [media] tap_dir in the configuration");
	if (tap_target(r, ctx, &st, &side, &kind))
		return -1;
	if (!file || !*file || strchr(file, '/') || !strcmp(file, ".") || !strcmp(file, "..") ||
	    strlen(file) > 128)
		return ctl_ng_error(r, "Tap 'file' must be a plain file name (no '/'), up to 128 bytes, in tap_dir");
	if (buffer_ms < 20 || buffer_ms > 600000)
		return ctl_ng_error(r, "Tap 'buffer-ms' must be 20-600000");
	while (frames < 65536 && frames * 20u < (uint64_t)buffer_ms) /* 20 ms frames (10 ms with a 10 ms clock) */
		frames *= 2;
	if (!(x = ctl_stream_tap_graph(st, side, kind)))
		return ctl_ng_error(r, "That media is relayed, not terminated: only transcoded (or DTMF-masked) media can be tapped");
	if (st->tap[side][kind])
		return ctl_ng_error(r, "That party's media is already tapped in that direction");
	rate = mx_xcode_pcm_rate(x, &ch);
	bytes = kind == MX_TAP_PCM_IN ? rate / 50u * ch * 2u : 12u + CDC_PKT_MAX;
	if (kind == MX_TAP_RTP_OUT)
		rate = st->xfmt[side].clock_rate;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (kind == MX_TAP_PCM_IN)
		ctl_rec_graph_going(st, side); /* a recording on this graph's tap takes the leg's RTP instead */
	if (!(t = mx_tap_create(frames, bytes)))
		return ctl_ng_error(r, "No memory for the tap");
	e = mx_xcode_set_tap(x, kind, t);
	if (e) {
		mx_tap_destroy(t);
		return ctl_ng_error(r, "Cannot attach the tap: %s", e == -EBUSY ? "too many taps on this stream" : strerror(-e));
	}
	st->tap[side][kind] = ctl_tap_start(t, path, &e);
	if (!st->tap[side][kind]) {
		mx_xcode_set_tap(x, kind, NULL); /* the graph keeps the ring until it goes */
		return ctl_ng_error(r, "Cannot start the tap: %s", strerror(-e));
	}
	{
		struct ctl_val *d = ctl_val_dict(a);

		if (d) {
			ctl_dict_add_cstr(a, d, "file", ctl_tap_path(st->tap[side][kind]));
			ctl_dict_add_cstr(a, d, "direction", kind == MX_TAP_PCM_IN ? "in" : "out");
			ctl_dict_add_cstr(a, d, "format", kind == MX_TAP_PCM_IN ? "s16le" : "rtp-records");
			ctl_dict_add_int(a, d, "rate", rate);
			if (kind == MX_TAP_PCM_IN)
				ctl_dict_add_int(a, d, "channels", ch);
			ctl_dict_add(ctl_ng_reply(r), "tap", 3, d);
		}
	}
	return 0;
}

int ctl_cmd_stop_tap(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_tap_stats ts;
	struct stream *st;
	enum mx_tap_kind kind;
	int side;

	if (tap_target(r, ctx, &st, &side, &kind))
		return -1;
	if (!st->tap[side][kind])
		return ctl_ng_error(r, "No tap on that party's media in that direction");
	ctl_stream_stop_tap(st, side, kind, &ts);
	add_stats(r, &ts);
	return 0;
}
