/* SPDX-License-Identifier: MIT
 * ctl_call_rec: call recording over ng, named as rtpengine names it:
 * "start recording", "stop recording", "pause recording", the offer and
 * answer flag "record call" (and key "record call"/"record-call": yes,
 * no, on, off), the keys "metadata", "recording-file", "recording-dir",
 * "recording-pattern" and medius's "recording-format",
 * "recording-per-leg", "recording-pcap" (docs/recording.md).
 *
 * A call's recording (recording/, struct rec) is bound to the first audio
 * stream of the call's newest branch: channel 0 is what the offerer (the
 * caller) sends, channel 1 what the answerer sends. Each channel's source
 * is the graph's decoded audio when that party's leg is terminated
 * (transcoded or DTMF-masked: a mixer/ tap, masking applied), else the
 * leg's accepted RTP, copied by the dataplane (dp_leg_set_rec) and
 * decoded by the recorder. The binding follows the call: after every
 * offer and answer, before a graph goes (ctl_stream.c's drop_chain), when
 * a branch goes, and when the call goes (the recording is finalised).
 *
 * Also here: a conference room's recording (ctl_rec_room_*: the room's
 * common mix through mx_room_set_tap, mono WAV; ctl_room.c holds it), and
 * the retention commands "recording hold", "recording unhold" and
 * "recording sweep" (recording/rec_retain.c does the work).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_call.h"
#include "ctl_call_int.h"
#include "ctl_ng_args.h"
#include "rec.h"

enum { SRC_NONE, SRC_RTP, SRC_PCM };

struct ctl_rec {
	struct rec *rec;
	char id[REC_ID_LEN + 1];
	char files[4][REC_PATH_MAX];
	unsigned n_files;
	enum rec_format format;
	bool paused;
	struct branch *b;
	struct stream *st;
	struct rec_side {
		int kind;
		struct rec_src *src;
		struct dp_leg *leg;
		struct mx_xcode *xc;
	} side[2];
	struct ctl_rec *next, *prev; /* every recording running (statistics) */
	struct mx_room *room;        /* a room's recording: its common mix on channel 0 (ctl_room.c) */
	char room_name[80];
};

static struct ctl_rec *running;
static uint64_t n_started, n_finished, n_alarms_done;

/* ---- binding sources ---- */

static void add_codec(struct rec_src_conf *c, uint8_t pt, const struct cdc_format *f)
{
	for (unsigned i = 0; i < c->n_codecs; i++)
		if (c->codecs[i].pt == pt)
			return;
	if (c->n_codecs < REC_MAX_CODECS) {
		c->codecs[c->n_codecs].pt = pt;
		c->codecs[c->n_codecs++].f = *f;
	}
}

/* An RTP source's configuration: what the party on `side` sends, by
 * payload type, and the addresses its packets show in the pcap. */
static void rtp_conf(struct stream *st, int side, struct rec_src_conf *c)
{
	struct dp_leg_stats ls;
	struct dp_leg_local lo;

	memset(c, 0, sizeof(*c));
	c->kind = REC_SRC_RTP;
	c->channel = (unsigned)side;
	if (st->xcoded)
		add_codec(c, st->xpt[side], &st->xfmt[side]);
	if (side == 1 && st->fmt_known && st->fmt_pt >= 0)
		add_codec(c, (uint8_t)st->fmt_pt, &st->fmt);
	for (unsigned i = 0; i < st->n_a_codecs; i++)
		add_codec(c, st->a_codecs[i].pt, &st->a_codecs[i].f);
	for (unsigned pt = 0; pt < 128; pt++) { /* static types the SDP may leave without rtpmap */
		struct cdc_format f;

		if ((pt == 0 || pt == 8 || pt == 9) && !cdc_format_from_static_pt(pt, &f))
			add_codec(c, (uint8_t)pt, &f);
	}
	if (!dp_leg_get_stats(st->leg[side], &ls) && ls.latched)
		c->pcap_src = ls.source;
	dp_leg_local(st->leg[side], &lo);
	c->pcap_dst = lo.rtp;
}

static void unbind_side(struct ctl_rec *cr, int side)
{
	struct rec_side *s = &cr->side[side];

	if (s->kind == SRC_RTP) {
		dp_leg_set_rec(s->leg, NULL, NULL); /* waits: the worker copies no more */
		rec_src_remove(cr->rec, s->src);
	} else if (s->kind == SRC_PCM) {
		mx_xcode_set_tap(s->xc, MX_TAP_PCM_IN, NULL); /* the graph keeps its reference until it goes */
		rec_src_remove(cr->rec, s->src);          /* the thread drops the source's when it is done */
	}
	memset(s, 0, sizeof(*s));
}

static void unbind(struct ctl_rec *cr)
{
	for (int side = 0; side < 2; side++)
		unbind_side(cr, side);
	if (cr->st)
		cr->st->rec = NULL;
	cr->st = NULL;
	cr->b = NULL;
}

static int bind_rtp(struct ctl_rec *cr, struct stream *st, int side)
{
	struct rec_src_conf c;
	struct rec_src *s;
	int e = 0;

	if (!st->leg[side])
		return -ENOENT;
	rtp_conf(st, side, &c);
	s = rec_src_add(cr->rec, &c, &e);
	if (!s)
		return e;
	if ((e = dp_leg_set_rec(st->leg[side], rec_src_rtp_fn, s))) {
		rec_src_remove(cr->rec, s);
		return e;
	}
	cr->side[side].kind = SRC_RTP;
	cr->side[side].src = s;
	cr->side[side].leg = st->leg[side];
	return 0;
}

static int bind_pcm(struct ctl_rec *cr, struct stream *st, int side)
{
	struct rec_src_conf c = { .kind = REC_SRC_PCM, .channel = (unsigned)side };
	struct mx_xcode *x = st->xc[side];
	unsigned ch = 1;
	uint32_t rate = mx_xcode_pcm_rate(x, &ch);
	struct rec_src *s;
	struct mx_tap *t;
	int e = 0;

	c.max_frame_bytes = (rate ? rate : 48000) / 50u * ch * 2u;
	s = rec_src_add(cr->rec, &c, &e);
	if (!s)
		return e;
	t = rec_src_tap(s);
	mx_tap_ref(t); /* the graph's reference */
	if ((e = mx_xcode_set_tap(x, MX_TAP_PCM_IN, t))) {
		mx_tap_destroy(t);
		rec_src_remove(cr->rec, s);
		return e;
	}
	cr->side[side].kind = SRC_PCM;
	cr->side[side].src = s;
	cr->side[side].xc = x;
	return 0;
}

static struct stream *audio_stream(struct branch *b)
{
	for (unsigned i = 0; i < b->n; i++)
		if (b->st[i].active && !strcmp(b->st[i].type, "audio") && b->st[i].leg[0] && !b->st[i].part[0])
			return &b->st[i];
	return NULL;
}

/* Bind (or re-bind) the recording to the call as it is now. */
static void refresh(struct call *k)
{
	struct ctl_rec *cr = k->rec;
	struct branch *b = ctl_branch_newest(k, false);
	struct stream *st = b ? audio_stream(b) : NULL;

	if (!cr)
		return;
	if (st != cr->st || b != cr->b)
		unbind(cr);
	if (!st)
		return;
	cr->b = b;
	cr->st = st;
	st->rec = cr;
	rec_set_party(cr->rec, 0, k->from_tag);
	rec_set_party(cr->rec, 1, b->to_tag);
	for (int side = 0; side < 2; side++) {
		bool pcm = st->xc[side] && !st->tap[side][MX_TAP_PCM_IN];
		struct rec_side *s = &cr->side[side];

		if (pcm && s->kind == SRC_PCM && s->xc == st->xc[side])
			continue;
		if (!pcm && s->kind == SRC_RTP && s->leg == st->leg[side]) {
			struct rec_src_conf c;

			rtp_conf(st, side, &c);
			rec_src_update(s->src, &c);
			continue;
		}
		unbind_side(cr, side);
		if (pcm && !bind_pcm(cr, st, side))
			continue;
		if (bind_rtp(cr, st, side))
			dp_log(DP_LOG_WARNING, "rec", "call %s: recording %s cannot take channel %d", k->id, cr->id, side);
	}
}

void ctl_rec_refresh(struct call *k)
{
	if (k && k->rec)
		refresh(k);
}

void ctl_rec_graph_going(struct stream *st, int side)
{
	struct ctl_rec *cr = st->rec;

	if (!cr || cr->side[side].kind != SRC_PCM || cr->side[side].xc != st->xc[side])
		return;
	unbind_side(cr, side);
	if (bind_rtp(cr, st, side)) /* the leg stays: its RTP until the next answer says more */
		dp_log(DP_LOG_WARNING, "rec", "recording %s: channel %d has no source now", cr->id, side);
}

void ctl_rec_branch_going(struct branch *b)
{
	for (unsigned i = 0; i < CTL_SDP_MAX_MEDIA; i++)
		if (b->st[i].rec)
			unbind(b->st[i].rec);
}

/* ---- start, stop, report ---- */

static void stop(struct call *k, struct rec_stats *out)
{
	struct ctl_rec *cr = k->rec;

	if (!cr)
		return;
	unbind(cr);
	rec_get_stats(cr->rec, out);
	rec_stop(cr->rec); /* finalised off the control lcore */
	n_finished++;
	n_alarms_done += out->write_errors;
	if (cr->prev)
		cr->prev->next = cr->next;
	else
		running = cr->next;
	if (cr->next)
		cr->next->prev = cr->prev;
	k->rec = NULL;
	free(cr);
}

void ctl_rec_call_going(struct call *k)
{
	struct rec_stats st;

	stop(k, &st);
}

static bool ends(const char *s, const char *x)
{
	size_t n = strlen(s), m = strlen(x);

	return n > m && !strcmp(s + n - m, x);
}

/* The path without extension the request asks for, into base: 0, or -1
 * after the error reply. */
static int request_base(struct ctl_ng_req *r, const struct ctl_calls_conf *conf, const struct rec_params *p,
			const char *id, char *base)
{
	const char *file = ctl_arg_str(r, "recording-file"), *dir = ctl_arg_str(r, "recording-dir");
	const char *pattern = ctl_arg_str(r, "recording-pattern");
	char d[REC_PATH_MAX], name[REC_PATH_MAX];
	int e;

	if (file && *file) { /* takes precedence over dir and pattern, as in rtpengine */
		const char *slash = strrchr(file, '/');
		char fdir[REC_PATH_MAX];

		for (const char *s = file; *s;) { /* no "." or ".." component */
			size_t n = strcspn(s, "/");

			if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
				return ctl_ng_error(r, "recording-file: '..' and '.' are not allowed in the path");
			s += n + (s[n] == '/');
		}
		if (!slash || !slash[1]) {
			if (!slash)
				snprintf(fdir, sizeof(fdir), "%s", dir && *dir ? dir : conf->rec_dir);
			else
				return ctl_ng_error(r, "recording-file: no file name");
		} else {
			if (slash == file)
				snprintf(fdir, sizeof(fdir), "/");
			else
				snprintf(fdir, sizeof(fdir), "%.*s", (int)(slash - file), file);
		}
		if ((e = rec_dir_resolve(conf->rec_dir, fdir, d)))
			return ctl_ng_error(r, e == -EACCES ? "recording-file: '%s' is outside the recording directory"
							    : "recording-file: directory of '%s': %s", file, strerror(-e));
		snprintf(name, sizeof(name), "%s", slash ? slash + 1 : file);
		{
			static const char *const ext[] = { ".wav", ".opus", ".ogg", ".pcap" };

			for (unsigned i = 0; i < 4; i++)
				if (ends(name, ext[i])) {
					name[strlen(name) - strlen(ext[i])] = 0;
					break;
				}
		}
		if (snprintf(base, REC_PATH_MAX, "%s/%s", d, name) >= REC_PATH_MAX - 32)
			return ctl_ng_error(r, "recording-file: too long");
		return 0;
	}
	if ((e = rec_dir_resolve(conf->rec_dir, dir, d)))
		return ctl_ng_error(r, e == -EACCES ? "recording-dir '%s' is outside the recording directory"
						    : "recording-dir '%s': %s", dir ? dir : conf->rec_dir, strerror(-e));
	if ((e = rec_pattern_expand(pattern && *pattern ? pattern : conf->rec_pattern, p, id, name)))
		return ctl_ng_error(r, "recording-pattern: %s", e == -EINVAL ? "an unknown %-sequence, or an empty, "
					"absolute or '..' path" : strerror(-e));
	if (snprintf(base, REC_PATH_MAX, "%s/%s", d, name) >= REC_PATH_MAX - 32)
		return ctl_ng_error(r, "recording path too long");
	return 0;
}

static bool yes(const char *v)
{
	return v && (!strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcasecmp(v, "true") || !strcmp(v, "1"));
}

/* A copy of s under key (the recording may be freed before the reply is encoded). */
static void add_str(struct ctl_arena *a, struct ctl_val *d, const char *key, const char *s)
{
	ctl_dict_add(d, key, strlen(key), ctl_val_strdup(a, s, strlen(s)));
}

static struct ctl_val *rec_dict(struct ctl_arena *a, struct ctl_rec *cr, const struct rec_stats *st, const char *state)
{
	struct ctl_val *d = ctl_val_dict(a), *files = ctl_val_list(a), *ov = ctl_val_list(a), *lost = ctl_val_list(a),
		       *ev = ctl_val_dict(a);

	if (!d || !files || !ov || !lost || !ev)
		return NULL;
	add_str(a, d, "id", cr->id);
	add_str(a, d, "path", cr->files[0]);
	for (unsigned i = 0; i < cr->n_files; i++)
		ctl_list_append(files, ctl_val_strdup(a, cr->files[i], strlen(cr->files[i])));
	ctl_dict_add(d, "files", 5, files);
	ctl_dict_add_cstr(a, d, "format", rec_format_name(cr->format));
	ctl_dict_add_cstr(a, d, "state", state);
	if (cr->room)
		add_str(a, d, "conference", cr->room_name);
	{
		struct ctl_val *src = ctl_val_list(a);
		static const char *const names[] = { "none", "rtp", "decoded" };

		for (int c = 0; src && c < 2; c++) /* where each channel's audio comes from */
			ctl_list_append(src, ctl_val_cstr(a, names[cr->side[c].kind]));
		ctl_dict_add(d, "sources", 7, src);
	}
	if (st) {
		ctl_dict_add_int(a, d, "duration_ms", (int64_t)st->duration_ms);
		for (int c = 0; c < 2; c++) {
			ctl_list_append(ov, ctl_val_int(a, (int64_t)st->overruns[c]));
			ctl_list_append(lost, ctl_val_int(a, (int64_t)st->lost[c]));
		}
		ctl_dict_add(d, "overruns", 8, ov);
		ctl_dict_add(d, "lost packets", 12, lost);
		for (int t = 0; t < REC_EV__COUNT; t++) {
			const char *n = rec_event_name((enum rec_event_type)t);

			ctl_dict_add(ev, n, strlen(n), ctl_val_int(a, (int64_t)st->events[t]));
		}
		ctl_dict_add(d, "events", 6, ev);
		ctl_dict_add_int(a, d, "write errors", (int64_t)st->write_errors);
		if (st->error)
			add_str(a, d, "alarm", strerror(-st->error));
	}
	return d;
}

/* Start (or resume) k's recording. 0, or -1 after the error reply. */
static int start(struct ctl_ng_req *r, struct ctl_calls *c, struct call *k)
{
	const struct ctl_calls_conf *conf = ctl_calls_conf(c);
	const char *meta = ctl_arg_str(r, "metadata"), *fmt = ctl_arg_str(r, "recording-format");
	struct rec_params p;
	struct ctl_rec *cr;
	struct branch *b;
	int e = 0;

	if (!conf->rec_dir[0])
		return ctl_ng_error(r, "Recording is off: set [recording] dir in the configuration");
	if (k->conference)
		return ctl_ng_error(r, "Call-ID '%s' is a conference participant: record its room (the key conference)",
				    k->id);
	if (k->rec && k->rec->paused) { /* resume */
		if (meta)
			rec_set_metadata(k->rec->rec, meta);
		rec_set_paused(k->rec->rec, false);
		k->rec->paused = false;
		refresh(k);
		ctl_dict_add(ctl_ng_reply(r), "recording", 9, rec_dict(ctl_ng_arena(r), k->rec, NULL, "recording"));
		return 0;
	}
	if (k->rec)
		return ctl_ng_error(r, "Call-ID '%s' is already being recorded (recording %s)", k->id, k->rec->id);
	memset(&p, 0, sizeof(p));
	if (rec_format_parse(fmt && *fmt ? fmt : conf->rec_format, &p.format))
		return ctl_ng_error(r, "recording-format '%s' is not wav, mono or opus", fmt);
	snprintf(p.call_id, sizeof(p.call_id), "%s", k->id);
	snprintf(p.from_tag, sizeof(p.from_tag), "%s", k->from_tag);
	b = ctl_branch_newest(k, false);
	snprintf(p.to_tag, sizeof(p.to_tag), "%s", b ? b->to_tag : "");
	snprintf(p.metadata, sizeof(p.metadata), "%s", meta ? meta : "");
	p.per_leg = yes(ctl_arg_str(r, "recording-per-leg")) || ctl_has_flag(r, "flags", "recording-per-leg");
	p.pcap = yes(ctl_arg_str(r, "recording-pcap")) || ctl_has_flag(r, "flags", "recording-pcap") || conf->rec_pcap;
	p.rate = conf->rec_rate;
	p.fsync_ms = conf->rec_fsync_ms;
	rec_new_id(p.id);
	if (request_base(r, conf, &p, p.id, p.base))
		return -1;
	cr = calloc(1, sizeof(*cr));
	if (!cr)
		return ctl_ng_error(r, "No memory for the recording");
	cr->rec = rec_create(&p, &e);
	if (!cr->rec) {
		free(cr);
		return ctl_ng_error(r, "Cannot start recording: %s", e == -EEXIST ? "a recording file of that name exists"
							       : strerror(-e));
	}
	snprintf(cr->id, sizeof(cr->id), "%s", rec_id(cr->rec));
	for (const char *f; cr->n_files < 4 && (f = rec_file(cr->rec, cr->n_files)); cr->n_files++)
		snprintf(cr->files[cr->n_files], sizeof(cr->files[0]), "%s", f);
	cr->format = p.format;
	cr->next = running;
	if (running)
		running->prev = cr;
	running = cr;
	n_started++;
	k->rec = cr;
	refresh(k);
	ctl_dict_add(ctl_ng_reply(r), "recording", 9, rec_dict(ctl_ng_arena(r), cr, NULL, "recording"));
	return 0;
}

int ctl_cmd_start_recording(struct ctl_ng_req *r, void *ctx)
{
	struct call *k;

	if (ctl_dict_get(ctl_ng_args(r), "conference")) /* a room as a whole */
		return ctl_room_recording(r, ctx, CTL_REC_START);
	k = ctl_find_call(r, ctx, "Unknown call-id");

	return k ? start(r, ctx, k) : -1;
}

static int do_pause(struct ctl_ng_req *r, struct call *k)
{
	if (!k->rec)
		return ctl_ng_error(r, "Call-ID '%s' is not being recorded", k->id);
	rec_set_paused(k->rec->rec, true);
	k->rec->paused = true;
	ctl_dict_add(ctl_ng_reply(r), "recording", 9, rec_dict(ctl_ng_arena(r), k->rec, NULL, "paused"));
	return 0;
}

int ctl_cmd_pause_recording(struct ctl_ng_req *r, void *ctx)
{
	struct call *k;

	if (ctl_dict_get(ctl_ng_args(r), "conference"))
		return ctl_room_recording(r, ctx, CTL_REC_PAUSE);
	k = ctl_find_call(r, ctx, "Unknown call-id");

	return k ? do_pause(r, k) : -1;
}

int ctl_cmd_stop_recording(struct ctl_ng_req *r, void *ctx)
{
	struct call *k;
	struct rec_stats st;
	struct ctl_val *d;

	if (ctl_dict_get(ctl_ng_args(r), "conference"))
		return ctl_room_recording(r, ctx, ctl_has_flag(r, "flags", "pause") || yes(ctl_arg_str(r, "pause"))
						      ? CTL_REC_PAUSE : CTL_REC_STOP);
	k = ctl_find_call(r, ctx, "Unknown call-id");
	if (!k)
		return -1;
	if (ctl_has_flag(r, "flags", "pause") || yes(ctl_arg_str(r, "pause")))
		return do_pause(r, k);
	if (!k->rec)
		return ctl_ng_error(r, "Call-ID '%s' is not being recorded", k->id);
	{
		struct ctl_rec *cr = k->rec;

		unbind(cr);
		rec_get_stats(cr->rec, &st);
		d = rec_dict(ctl_ng_arena(r), cr, &st, "stopped");
	}
	stop(k, &st);
	ctl_dict_add(ctl_ng_reply(r), "recording", 9, d);
	return 0;
}

int ctl_rec_signalling(struct ctl_ng_req *r, struct ctl_calls *c, struct call *k)
{
	const char *v = ctl_arg_str(r, "record call"), *meta = ctl_arg_str(r, "metadata");

	if (!v)
		v = ctl_arg_str(r, "record-call");
	if (k->rec && meta)
		rec_set_metadata(k->rec->rec, meta);
	if (ctl_has_flag(r, "flags", "record call") || yes(v)) {
		if (!k->rec)
			return start(r, c, k);
	} else if (v && (!strcasecmp(v, "no") || !strcasecmp(v, "off")) && k->rec) {
		struct rec_stats st;

		stop(k, &st);
		return 0;
	}
	refresh(k);
	return 0;
}

void ctl_rec_refresh_party(struct call *k)
{
	if (k->rec && k->rec->b)
		rec_set_party(k->rec->rec, 1, k->rec->b->to_tag);
}

void ctl_rec_tick(struct call *k)
{
	struct ctl_rec *cr = k->rec;

	if (!cr || !cr->st)
		return;
	for (int side = 0; side < 2; side++) /* the party's latched address, for the pcap */
		if (cr->side[side].kind == SRC_RTP) {
			struct rec_src_conf c;

			rtp_conf(cr->st, side, &c);
			rec_src_update(cr->side[side].src, &c);
		}
}

void ctl_rec_report(struct ctl_ng_req *r, struct call *k)
{
	struct rec_stats st;

	if (!k->rec)
		return;
	rec_get_stats(k->rec->rec, &st);
	ctl_dict_add(ctl_ng_reply(r), "recording", 9,
		     rec_dict(ctl_ng_arena(r), k->rec, &st, k->rec->paused ? "paused" : "recording"));
}

void ctl_rec_totals(struct ctl_rec_totals *t)
{
	memset(t, 0, sizeof(*t));
	t->started = n_started;
	t->finished = n_finished;
	t->write_errors = n_alarms_done;
	for (struct ctl_rec *cr = running; cr; cr = cr->next) {
		struct rec_stats st;

		rec_get_stats(cr->rec, &st);
		t->active++;
		t->write_errors += st.write_errors;
		t->failing += st.write_errors != 0;
		t->overruns += st.overruns[0] + st.overruns[1];
	}
}

void ctl_rec_stats(struct ctl_arena *a, struct ctl_val *tot)
{
	struct ctl_val *d = ctl_val_dict(a);
	uint64_t active = 0, alarms = n_alarms_done, overruns = 0;

	if (!d)
		return;
	for (struct ctl_rec *cr = running; cr; cr = cr->next) {
		struct rec_stats st;

		rec_get_stats(cr->rec, &st);
		active++;
		alarms += st.write_errors;
		overruns += st.overruns[0] + st.overruns[1];
	}
	ctl_dict_add_int(a, d, "active", (int64_t)active);
	ctl_dict_add_int(a, d, "started", (int64_t)n_started);
	ctl_dict_add_int(a, d, "finished", (int64_t)n_finished);
	ctl_dict_add_int(a, d, "write errors", (int64_t)alarms);
	ctl_dict_add_int(a, d, "overruns (active)", (int64_t)overruns);
	ctl_dict_add(tot, "recording", 9, d);
}

/* ---- retention: legal hold and the sweep on demand ----
 * Both walk the recording directory on the control lcore (a directory
 * walk and a few unlinks; the periodic sweep runs on its own thread). */

static int hold(struct ctl_ng_req *r, void *ctx, bool on)
{
	const struct ctl_calls_conf *conf = ctl_calls_conf(ctx);
	const char *id = ctl_arg_str(r, "recording-id"), *reason = ctl_arg_str(r, "reason");
	char json[REC_PATH_MAX];
	int e;

	if (!conf->rec_dir[0])
		return ctl_ng_error(r, "Recording is off: set [recording] dir in the configuration");
	if (!id || !*id)
		return ctl_ng_error(r, "No recording-id");
	e = rec_retain_hold(conf->rec_dir, id, on, reason, json);
	if (e < 0)
		return ctl_ng_error(r, e == -ENOENT ? "Unknown recording '%s'" : "Recording '%s': %s", id, strerror(-e));
	ctl_dict_add_cstr(ctl_ng_arena(r), ctl_ng_reply(r), "recording-id", id);
	add_str(ctl_ng_arena(r), ctl_ng_reply(r), "sidecar", json);
	ctl_dict_add_cstr(ctl_ng_arena(r), ctl_ng_reply(r), "hold", on ? "yes" : "no");
	if (e == 1)
		ctl_dict_add_cstr(ctl_ng_arena(r), ctl_ng_reply(r), "warning", on ? "already on hold" : "was not on hold");
	return 0;
}

int ctl_cmd_recording_hold(struct ctl_ng_req *r, void *ctx) { return hold(r, ctx, true); }
int ctl_cmd_recording_unhold(struct ctl_ng_req *r, void *ctx) { return hold(r, ctx, false); }

int ctl_cmd_recording_sweep(struct ctl_ng_req *r, void *ctx)
{
	const struct ctl_calls_conf *conf = ctl_calls_conf(ctx);
	const char *now_s = ctl_arg_str(r, "now");
	struct ctl_arena *a = ctl_ng_arena(r);
	struct ctl_val *d = ctl_ng_reply(r);
	struct rec_sweep_result res;
	uint64_t now = rec_retain_now_ms();
	int e;

	if (!conf->rec_dir[0])
		return ctl_ng_error(r, "Recording is off: set [recording] dir in the configuration");
	if (now_s && *now_s) {
		if (!conf->retention_allow_now)
			return ctl_ng_error(r, "'now' is refused: set [retention] allow_now = 1 (tests only)");
		if (rec_retain_parse_time(now_s, &now))
			return ctl_ng_error(r, "now: '%s' is not Unix seconds or YYYY-MM-DD[THH:MM:SSZ]", now_s);
	}
	if ((e = rec_retain_sweep(conf->rec_dir, &conf->retention, now, &res)))
		return ctl_ng_error(r, "Sweep of %s: %s", conf->rec_dir, strerror(-e));
	rec_audit_sync(2000); /* the deletes are on disk in the audit log when the reply says so */
	ctl_dict_add_int(a, d, "scanned", res.scanned);
	ctl_dict_add_int(a, d, "running", res.running);
	ctl_dict_add_int(a, d, "expired", res.expired);
	ctl_dict_add_int(a, d, "deleted", res.deleted);
	ctl_dict_add_int(a, d, "held", res.held);
	ctl_dict_add_int(a, d, "errors", res.errors);
	ctl_dict_add_int(a, d, "now", (int64_t)(now / 1000u));
	return 0;
}

/* ---- a conference room recorded as a whole (ctl_room.c holds the room) ----
 * One PCM source on channel 0: the room's common mix (mx_room_set_tap),
 * written as mono WAV. */

static void unlist(struct ctl_rec *cr)
{
	if (cr->prev)
		cr->prev->next = cr->next;
	else
		running = cr->next;
	if (cr->next)
		cr->next->prev = cr->prev;
}

struct ctl_rec *ctl_rec_room_start(struct ctl_ng_req *r, struct ctl_calls *c, const char *name, struct mx_room *mx,
				   uint32_t rate)
{
	const struct ctl_calls_conf *conf = ctl_calls_conf(c);
	const char *meta = ctl_arg_str(r, "metadata"), *fmt = ctl_arg_str(r, "recording-format");
	struct rec_src_conf sc = { .kind = REC_SRC_PCM, .channel = 0 };
	enum rec_format f = REC_FMT_WAV_MONO;
	struct rec_params p;
	struct ctl_rec *cr;
	struct mx_tap *t;
	int e = 0;

	if (!conf->rec_dir[0]) {
		ctl_ng_error(r, "Recording is off: set [recording] dir in the configuration");
		return NULL;
	}
	if (fmt && *fmt && (rec_format_parse(fmt, &f) || f == REC_FMT_OPUS)) {
		ctl_ng_error(r, "recording-format '%s': a room is recorded as mono WAV (wav or mono)", fmt);
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.format = REC_FMT_WAV_MONO; /* one channel: the mix */
	snprintf(p.call_id, sizeof(p.call_id), "room:%s", name);
	snprintf(p.metadata, sizeof(p.metadata), "%s", meta ? meta : "");
	p.rate = conf->rec_rate;
	p.fsync_ms = conf->rec_fsync_ms;
	rec_new_id(p.id);
	if (request_base(r, conf, &p, p.id, p.base))
		return NULL;
	cr = calloc(1, sizeof(*cr));
	if (!cr) {
		ctl_ng_error(r, "No memory for the recording");
		return NULL;
	}
	cr->rec = rec_create(&p, &e);
	if (!cr->rec) {
		free(cr);
		ctl_ng_error(r, "Cannot start recording: %s", e == -EEXIST ? "a recording file of that name exists"
								   : strerror(-e));
		return NULL;
	}
	sc.max_frame_bytes = (rate ? rate : 48000) / 50u * 2u;
	cr->side[0].src = rec_src_add(cr->rec, &sc, &e);
	t = cr->side[0].src ? rec_src_tap(cr->side[0].src) : NULL;
	if (t) {
		mx_tap_ref(t); /* the room's reference */
		if ((e = mx_room_set_tap(mx, t)))
			mx_tap_destroy(t);
	}
	if (!t || e) {
		if (cr->side[0].src)
			rec_src_remove(cr->rec, cr->side[0].src);
		rec_stop(cr->rec);
		free(cr);
		ctl_ng_error(r, "Cannot record conference room '%s': %s", name,
			     e == -EBUSY ? "recorded and stopped too often (destroy and create it)" : strerror(-e));
		return NULL;
	}
	cr->side[0].kind = SRC_PCM;
	cr->room = mx;
	snprintf(cr->room_name, sizeof(cr->room_name), "%s", name);
	snprintf(cr->id, sizeof(cr->id), "%s", rec_id(cr->rec));
	for (const char *fl; cr->n_files < 4 && (fl = rec_file(cr->rec, cr->n_files)); cr->n_files++)
		snprintf(cr->files[cr->n_files], sizeof(cr->files[0]), "%s", fl);
	cr->format = p.format;
	rec_set_party(cr->rec, 0, "room mix");
	cr->next = running;
	if (running)
		running->prev = cr;
	running = cr;
	n_started++;
	ctl_dict_add(ctl_ng_reply(r), "recording", 9, rec_dict(ctl_ng_arena(r), cr, NULL, "recording"));
	return cr;
}

void ctl_rec_room_pause(struct ctl_ng_req *r, struct ctl_rec *cr, bool paused)
{
	const char *meta = r ? ctl_arg_str(r, "metadata") : NULL;

	if (meta)
		rec_set_metadata(cr->rec, meta);
	rec_set_paused(cr->rec, paused);
	cr->paused = paused;
	if (r)
		ctl_dict_add(ctl_ng_reply(r), "recording", 9,
			     rec_dict(ctl_ng_arena(r), cr, NULL, paused ? "paused" : "recording"));
}

bool ctl_rec_room_paused(const struct ctl_rec *cr) { return cr->paused; }

void ctl_rec_room_stop(struct ctl_ng_req *r, struct ctl_rec *cr)
{
	struct rec_stats st;

	mx_room_set_tap(cr->room, NULL); /* the room keeps the ring until it goes; the worker puts no more */
	rec_src_remove(cr->rec, cr->side[0].src);
	cr->side[0].kind = SRC_NONE;
	rec_get_stats(cr->rec, &st);
	if (r)
		ctl_dict_add(ctl_ng_reply(r), "recording", 9, rec_dict(ctl_ng_arena(r), cr, &st, "stopped"));
	rec_stop(cr->rec);
	n_finished++;
	n_alarms_done += st.write_errors;
	unlist(cr);
	free(cr);
}

void ctl_rec_room_report(struct ctl_ng_req *r, struct ctl_rec *cr)
{
	struct rec_stats st;

	rec_get_stats(cr->rec, &st);
	ctl_dict_add(ctl_ng_reply(r), "recording", 9,
		     rec_dict(ctl_ng_arena(r), cr, &st, cr->paused ? "paused" : "recording"));
}
