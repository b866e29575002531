/* SPDX-License-Identifier: MIT
 * ctl_room: conference rooms over ng (mixer/ mx_room on the control side).
 *
 * A room is a name, an mx_room mixing on the worker of its home call
 * ("room:" + name, in shard `name`), and its participants. A participant
 * is one dataplane leg of a call (struct stream's part[side]):
 *   - an offer with a "conference" key makes a conference participant's
 *     call: medius is the far end, so the offer gets medius's SDP answer,
 *     and the call has one leg per joined section (leg[0]), placed in the
 *     room's shard;
 *   - "connect" joins two existing calls: each party of both calls becomes
 *     a participant on the leg facing it, and the calls move to the room's
 *     worker.
 * A call leaves its room when it is deleted (ctl_branch_free calls
 * ctl_room_part_gone before its legs go); destroying a room deletes the
 * calls of its participants. Talker events are drained about once a
 * second (and at every "query room") into the room's record and the log.
 * Control lcore only.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cdc.h"
#include "ctl_call.h"
#include "ctl_call_int.h"
#include "ctl_ng_args.h"
#include "ctl_play.h"
#include "ctl_sdp.h"
#include "ctl_val.h"
#include "dp.h"
#include "mx.h"

#define ROOM_NAME_MAX 64
#define ROOM_CODECS 8
#define ROOM_EVENTS 64      /* talker events each room keeps for "query room" */
#define GAIN_DB_MIN (-60.0) /* below this a participant is as good as muted: mute it */
#define GAIN_DB_MAX 12.0    /* MX_GAIN_MAX is x4: +12.04 dB */

struct ctl_part {
	struct ctl_room *room;
	struct call *k;
	struct stream *st;
	int side;           /* the leg of st it is */
	int pid;            /* mx_room's participant id */
	bool muted, deaf;   /* as the controller set them */
	bool hold_mute, hold_deaf; /* from the SDP direction (a conference participant on hold) */
	double gain_db;
	char codec[24];
	struct ctl_part *next;
};

struct room_event {
	uint64_t seq;
	time_t at;
	bool start;
	int pid;            /* the participant, or -1 for a playback's end */
	int play_id;        /* the playback that ended (pid -1) */
	bool play_stopped;
	uint64_t played_ms;
	char call_id[CTL_NG_MAX_CALL_ID + 1];
	char tag[CTL_NG_MAX_TAG + 1];
};

struct ctl_room {
	char name[ROOM_NAME_MAX + 1];
	struct mx_room_conf conf;
	struct dp_call *home;
	struct mx_room *mx;
	char codecs[ROOM_CODECS][16]; /* the codecs it takes ("" none listed: every one codecs/ has) */
	unsigned n_codecs;
	struct ctl_part *parts;
	unsigned n_parts;
	time_t created;
	struct room_event ev[ROOM_EVENTS];
	uint64_t n_ev; /* events recorded; the newest has seq n_ev */
	struct ctl_rec *rec; /* the room recorded as a whole (ctl_call_rec.c), or NULL */
	struct ctl_room *next;
};

struct ctl_rooms {
	struct ctl_room *list;
	unsigned n;
};

/* ------------------------------------------------------------------ */
/* registry                                                             */

struct ctl_rooms *ctl_rooms_create(void) { return calloc(1, sizeof(struct ctl_rooms)); }

static struct ctl_room *room_find(struct ctl_rooms *rs, const char *name)
{
	for (struct ctl_room *m = rs->list; m; m = m->next)
		if (!strcmp(m->name, name))
			return m;
	return NULL;
}

static struct ctl_part *part_by_pid(struct ctl_room *m, int pid)
{
	for (struct ctl_part *p = m->parts; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

static const char *part_tag(const struct ctl_part *p)
{
	const struct branch *b = p->k->br[0];

	if (p->side == 0)
		return p->k->from_tag;
	for (unsigned i = 0; i < p->k->n_br; i++)
		for (unsigned j = 0; j < CTL_SDP_MAX_MEDIA; j++)
			if (&p->k->br[i]->st[j] == p->st)
				b = p->k->br[i];
	return b->to_tag;
}

/* The room a call's first participant is in, or NULL. */
static struct ctl_room *call_room(const struct call *k)
{
	for (unsigned b = 0; b < k->n_br; b++)
		for (unsigned i = 0; i < k->br[b]->n; i++)
			for (int s = 0; s < 2; s++)
				if (k->br[b]->st[i].part[s])
					return k->br[b]->st[i].part[s]->room;
	return NULL;
}

/* Talker events and playbacks' ends from the worker into the room's
 * record and the log. */
static void drain_events(struct ctl_room *m)
{
	struct mx_mixer_event e;
	struct mx_room_play_event pe;

	while (mx_room_next_play_event(m->mx, &pe) == 1) {
		struct room_event *re = &m->ev[m->n_ev % ROOM_EVENTS];

		memset(re, 0, sizeof(*re));
		re->seq = ++m->n_ev;
		re->at = time(NULL);
		re->pid = -1;
		re->play_id = pe.id;
		re->play_stopped = pe.stopped;
		re->played_ms = pe.played_ms;
		dp_log(DP_LOG_INFO, "room", "room %s: playback %d %s (%llu ms played)", m->name, pe.id,
		       pe.stopped ? "stopped" : "finished", (unsigned long long)pe.played_ms);
	}

	while (mx_room_next_event(m->mx, &e) == 1) {
		struct room_event *re = &m->ev[m->n_ev % ROOM_EVENTS];
		struct ctl_part *p = part_by_pid(m, e.id);

		if (!p)
			continue; /* it left before the event was read */
		memset(re, 0, sizeof(*re));
		re->seq = ++m->n_ev;
		re->at = time(NULL);
		re->start = e.start;
		re->pid = e.id;
		snprintf(re->call_id, sizeof(re->call_id), "%s", p->k->id);
		snprintf(re->tag, sizeof(re->tag), "%s", part_tag(p));
		dp_log(DP_LOG_INFO, "room", "room %s: participant %d (call %s, tag %s) %s talking", m->name, e.id,
		       p->k->id, re->tag, e.start ? "starts" : "stops");
	}
}

void ctl_rooms_tick(struct ctl_rooms *rs, uint64_t now_ms)
{
	(void)now_ms;
	for (struct ctl_room *m = rs->list; m; m = m->next)
		drain_events(m);
}

/* The mx_room request queue can be full for a tick (OPS requests in
 * flight); the worker empties it every tick, so wait a little. */
static void short_wait(void)
{
	nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
}

static int part_apply(struct ctl_part *p)
{
	struct mx_mixer_part_opts o = { .muted = p->muted || p->hold_mute, .deaf = p->deaf || p->hold_deaf };
	double g = p->gain_db;
	int rc;

	o.gain = (int32_t)lround(MX_GAIN_UNITY * pow(10.0, g / 20.0));
	if (o.gain > MX_GAIN_MAX)
		o.gain = MX_GAIN_MAX;
	for (int tries = 0; (rc = mx_room_set(p->room->mx, p->pid, &o)) == -EBUSY && tries < 100; tries++)
		short_wait();
	return rc;
}

/* The participant leaves: its leg is unhooked (without waiting) before
 * the caller destroys it. */
static void part_leave(struct ctl_part *p)
{
	struct ctl_room *m = p->room;
	struct ctl_part **pp = &m->parts;
	int rc;

	drain_events(m); /* its events still name it */
	for (int tries = 0; (rc = mx_room_leave(m->mx, p->pid)) == -EBUSY && tries < 250; tries++)
		short_wait();
	if (rc)
		dp_log(DP_LOG_ERR, "room", "room %s: participant %d could not leave (%s)", m->name, p->pid,
		       strerror(-rc));
	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
	m->n_parts--;
	dp_log(DP_LOG_INFO, "room", "room %s: call %s left (participant %d)", m->name, p->k->id, p->pid);
	p->st->part[p->side] = NULL;
	free(p);
}

void ctl_room_part_gone(struct stream *st, int side)
{
	if (st->part[side])
		part_leave(st->part[side]);
}

static void room_free(struct ctl_rooms *rs, struct ctl_room *m)
{
	struct ctl_room **pp = &rs->list;

	while (*pp && *pp != m)
		pp = &(*pp)->next;
	if (*pp)
		*pp = m->next;
	rs->n--;
	if (m->rec) /* finalised: the room's end is the recording's */
		ctl_rec_room_stop(NULL, m->rec);
	mx_room_destroy(m->mx); /* unhooks whoever is left, frees itself once the worker let go */
	dp_call_destroy(m->home);
	free(m);
}

void ctl_rooms_destroy(struct ctl_rooms *rs)
{
	if (!rs)
		return;
	while (rs->list) {
		struct ctl_room *m = rs->list;

		while (m->parts) /* no call should be left; unhook whatever is */
			part_leave(m->parts);
		room_free(rs, m);
	}
	free(rs);
}

/* ------------------------------------------------------------------ */
/* arguments                                                            */

/* An integer argument given as an integer or a decimal string; def when
 * absent. Returns 0, or -1 after the error reply. */
static int arg_int(struct ctl_ng_req *r, const char *key, int64_t def, int64_t lo, int64_t hi, int64_t *out)
{
	const struct ctl_val *v = ctl_dict_get(ctl_ng_args(r), key);
	char *end;

	*out = def;
	if (!v)
		return 0;
	if (v->type == CTL_V_INT) {
		*out = v->u.i;
	} else {
		const char *s = ctl_arg_str(r, key);

		if (!s || !*s || (*out = strtoll(s, &end, 10), *end))
			return ctl_ng_error(r, "%s: not an integer", key);
	}
	if (*out < lo || *out > hi)
		return ctl_ng_error(r, "%s: %lld is not in %lld..%lld", key, (long long)*out, (long long)lo,
				    (long long)hi);
	return 0;
}

/* A yes/no argument: an integer (0 false), or "yes", "no", "true",
 * "false", "on", "off", "1", "0". *out unchanged when absent. 0 or -1. */
static int arg_bool(struct ctl_ng_req *r, const char *key, bool *out)
{
	const struct ctl_val *v = ctl_dict_get(ctl_ng_args(r), key);
	const char *s;

	if (!v)
		return 0;
	if (v->type == CTL_V_INT) {
		*out = v->u.i != 0;
		return 0;
	}
	s = ctl_arg_str(r, key);
	if (s && (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcasecmp(s, "on") || !strcmp(s, "1")))
		*out = true;
	else if (s && (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcasecmp(s, "off") || !strcmp(s, "0")))
		*out = false;
	else
		return ctl_ng_error(r, "%s: not yes or no", key);
	return 0;
}

/* The room the request's "conference" key names; NULL after the error reply. */
static struct ctl_room *room_arg(struct ctl_ng_req *r, struct ctl_rooms *rs)
{
	const char *name = ctl_arg_str(r, "conference");
	struct ctl_room *m;

	if (!name || !*name) {
		ctl_ng_error(r, "No conference (the room's name) in message");
		return NULL;
	}
	m = room_find(rs, name);
	if (!m)
		ctl_ng_error(r, "Unknown conference room '%s'", name);
	return m;
}

/* ------------------------------------------------------------------ */
/* rooms                                                                */

/* Make room `name` with the request's settings (rate, ptime, talkers,
 * limiter, max-participants, codecs). NULL after the error reply. */
static struct ctl_room *room_make(struct ctl_ng_req *r, struct ctl_rooms *rs, const char *name)
{
	const char *lim = ctl_arg_str(r, "limiter");
	const struct ctl_val *cl = ctl_dict_get(ctl_ng_args(r), "codecs");
	int64_t rate, ptime, talkers, maxp;
	struct ctl_room *m;
	char home_id[ROOM_NAME_MAX + 8];
	int err = 0;

	if (strlen(name) > ROOM_NAME_MAX) {
		ctl_ng_error(r, "conference: a room name of %zu bytes (at most %d)", strlen(name), ROOM_NAME_MAX);
		return NULL;
	}
	if (room_find(rs, name)) {
		ctl_ng_error(r, "Conference room '%s' exists already", name);
		return NULL;
	}
	if (arg_int(r, "rate", 16000, 8000, 48000, &rate) || arg_int(r, "ptime", 20, 10, 20, &ptime) ||
	    arg_int(r, "talkers", 3, 1, MX_MIXER_MAX_TALKERS, &talkers) ||
	    arg_int(r, "max-participants", 256, 2, MX_MIXER_MAX_PARTS, &maxp))
		return NULL;
	if (rate != 8000 && rate != 16000 && rate != 48000) {
		ctl_ng_error(r, "rate: %lld is not 8000, 16000 or 48000", (long long)rate);
		return NULL;
	}
	if (ptime != 10 && ptime != 20) {
		ctl_ng_error(r, "ptime: a room mixes 10 or 20 ms frames, not %lld", (long long)ptime);
		return NULL;
	}
	if (lim && strcasecmp(lim, "soft") && strcasecmp(lim, "saturate")) {
		ctl_ng_error(r, "limiter: '%s' is not soft or saturate", lim);
		return NULL;
	}
	if (cl && cl->type != CTL_V_LIST) {
		ctl_ng_error(r, "codecs: a list of codec names");
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		ctl_ng_error(r, "Out of memory");
		return NULL;
	}
	for (unsigned i = 0; cl && ctl_arg_list_str(r, "codecs", i); i++) {
		const char *c = ctl_arg_list_str(r, "codecs", i);
		struct cdc_format f;
		char spec[40];

		snprintf(spec, sizeof(spec), "%s/%s", c, !strcasecmp(c, "opus") ? "48000/2" : "8000");
		if (i >= ROOM_CODECS || strlen(c) >= sizeof(m->codecs[0]) ||
		    (cdc_format_parse(spec, NULL, &f) && cdc_format_parse(c, NULL, &f))) {
			free(m);
			ctl_ng_error(r, "codecs: '%s' is not a codec medius has (or more than %d listed)", c,
				     ROOM_CODECS);
			return NULL;
		}
		snprintf(m->codecs[m->n_codecs++], sizeof(m->codecs[0]), "%s", cdc_codec_name(f.codec));
	}
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->conf.mix = (struct mx_mixer_conf){ .rate = (uint32_t)rate, .frame_ms = (unsigned)ptime,
					      .max_talkers = (unsigned)talkers, .max_parts = (unsigned)maxp,
					      .limit = !lim || !strcasecmp(lim, "soft") };
	snprintf(home_id, sizeof(home_id), "room:%s", name);
	m->home = dp_call_create_in(home_id, name);
	if (!m->home) {
		free(m);
		ctl_ng_error(r, "Cannot create the room's call (no worker lcore running?)");
		return NULL;
	}
	dp_call_to_transcode_worker(m->home); /* mixing is codec work: a transcoding worker when there are any */
	m->mx = mx_room_create(m->home, &m->conf, &err);
	if (!m->mx) {
		dp_call_destroy(m->home);
		free(m);
		ctl_ng_error(r, "Cannot create the room (%s)", strerror(-err));
		return NULL;
	}
	m->created = time(NULL);
	m->next = rs->list;
	rs->list = m;
	rs->n++;
	dp_log(DP_LOG_INFO, "room", "room %s: created (%u Hz, %u ms, %u talkers, %s)", name, m->conf.mix.rate,
	       m->conf.mix.frame_ms, m->conf.mix.max_talkers, m->conf.mix.limit ? "soft limiter" : "saturating");
	return m;
}

static void room_describe(struct ctl_ng_req *r, struct ctl_room *m, struct ctl_val *d)
{
	struct ctl_arena *a = ctl_ng_arena(r);

	ctl_dict_add(d, "conference", 10, ctl_val_strdup(a, m->name, strlen(m->name)));
	ctl_dict_add_int(a, d, "rate", m->conf.mix.rate);
	ctl_dict_add_int(a, d, "ptime", m->conf.mix.frame_ms);
	ctl_dict_add_int(a, d, "talkers", m->conf.mix.max_talkers);
	ctl_dict_add_int(a, d, "max-participants", m->conf.mix.max_parts);
	ctl_dict_add_cstr(a, d, "limiter", m->conf.mix.limit ? "soft" : "saturate");
	ctl_dict_add_int(a, d, "participants", m->n_parts);
	ctl_dict_add_int(a, d, "created", m->created);
	ctl_dict_add_int(a, d, "lcore", dp_call_lcore(m->home));
}

int ctl_cmd_create_room(struct ctl_ng_req *r, void *ctx)
{
	const char *name = ctl_arg_str(r, "conference");
	struct ctl_room *m;

	if (!name || !*name)
		return ctl_ng_error(r, "No conference (the room's name) in message");
	m = room_make(r, ctl_calls_rooms(ctx), name);
	if (!m)
		return -1;
	{ /* recorded from the start: the flag "record call", or the key record-call yes */
		const char *v = ctl_arg_str(r, "record call");

		if (!v)
			v = ctl_arg_str(r, "record-call");
		if (ctl_has_flag(r, "flags", "record call") ||
		    (v && (!strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1")))) {
			m->rec = ctl_rec_room_start(r, ctx, m->name, m->mx, m->conf.mix.rate);
			if (!m->rec) { /* the error reply is made: no room either */
				room_free(ctl_calls_rooms(ctx), m);
				return -1;
			}
		}
	}
	room_describe(r, m, ctl_ng_reply(r));
	return 0;
}

int ctl_room_recording(struct ctl_ng_req *r, struct ctl_calls *c, enum ctl_rec_what what)
{
	struct ctl_room *m = room_arg(r, ctl_calls_rooms(c));

	if (!m)
		return -1;
	switch (what) {
	case CTL_REC_START:
		if (m->rec && ctl_rec_room_paused(m->rec)) {
			ctl_rec_room_pause(r, m->rec, false);
			return 0;
		}
		if (m->rec)
			return ctl_ng_error(r, "Conference room '%s' is already being recorded", m->name);
		m->rec = ctl_rec_room_start(r, c, m->name, m->mx, m->conf.mix.rate);
		return m->rec ? 0 : -1;
	case CTL_REC_PAUSE:
	case CTL_REC_STOP:
		if (!m->rec)
			return ctl_ng_error(r, "Conference room '%s' is not being recorded", m->name);
		if (what == CTL_REC_PAUSE) {
			ctl_rec_room_pause(r, m->rec, true);
		} else {
			ctl_rec_room_stop(r, m->rec);
			m->rec = NULL;
		}
		return 0;
	}
	return -1;
}

int ctl_cmd_destroy_room(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_rooms *rs = ctl_calls_rooms(ctx);
	struct ctl_room *m = room_arg(r, rs);
	struct ctl_arena *a = ctl_ng_arena(r);
	struct ctl_val *gone = ctl_val_list(a);

	if (!m)
		return -1;
	if (!gone)
		return ctl_ng_error(r, "Reply too large");
	while (m->parts) { /* each participant's call ends, which takes it out */
		struct call *k = m->parts->k;

		ctl_list_append(gone, ctl_val_strdup(a, k->id, strlen(k->id)));
		ctl_call_free(ctx, k);
	}
	dp_log(DP_LOG_INFO, "room", "room %s: destroyed", m->name);
	if (m->rec) { /* finalised; the reply has its final counters */
		ctl_rec_room_stop(r, m->rec);
		m->rec = NULL;
	}
	room_free(rs, m);
	ctl_dict_add(ctl_ng_reply(r), "deleted", 7, gone);
	return 0;
}

int ctl_cmd_list_rooms(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_rooms *rs = ctl_calls_rooms(ctx);
	struct ctl_arena *a = ctl_ng_arena(r);
	struct ctl_val *l = ctl_val_list(a);

	if (!l)
		return ctl_ng_error(r, "Reply too large");
	for (struct ctl_room *m = rs->list; m; m = m->next) {
		struct ctl_val *d = ctl_val_dict(a);

		if (!d)
			return ctl_ng_error(r, "Reply too large");
		ctl_dict_add(d, "conference", 10, ctl_val_strdup(a, m->name, strlen(m->name)));
		ctl_dict_add_int(a, d, "participants", m->n_parts);
		ctl_list_append(l, d);
	}
	ctl_dict_add(ctl_ng_reply(r), "conferences", 11, l);
	return 0;
}

static struct ctl_val *part_report(struct ctl_ng_req *r, struct ctl_part *p)
{
	struct ctl_arena *a = ctl_ng_arena(r);
	struct ctl_val *d = ctl_val_dict(a);
	struct mx_room_part_stats s;
	const char *tag = part_tag(p);
	char gain[16];

	if (!d)
		return NULL;
	ctl_dict_add(d, "call-id", 7, ctl_val_strdup(a, p->k->id, strlen(p->k->id)));
	ctl_dict_add(d, "tag", 3, ctl_val_strdup(a, tag, strlen(tag)));
	ctl_dict_add_int(a, d, "id", p->pid);
	ctl_dict_add(d, "codec", 5, ctl_val_strdup(a, p->codec, strlen(p->codec)));
	ctl_dict_add_int(a, d, "muted", p->muted);
	ctl_dict_add_int(a, d, "deaf", p->deaf);
	ctl_dict_add_int(a, d, "on hold", p->hold_mute || p->hold_deaf);
	snprintf(gain, sizeof(gain), "%.1f", p->gain_db);
	ctl_dict_add(d, "gain", 4, ctl_val_strdup(a, gain, strlen(gain)));
	if (!mx_room_get_stats(p->room->mx, p->pid, &s)) {
		ctl_dict_add_int(a, d, "talking", s.talker);
		ctl_dict_add_int(a, d, "level", s.level);
		ctl_dict_add_int(a, d, "packets received", (int64_t)s.in.jb.received);
		ctl_dict_add_int(a, d, "packets lost", (int64_t)s.in.jb.lost);
		ctl_dict_add_int(a, d, "packets late", (int64_t)s.in.jb.late);
		ctl_dict_add_int(a, d, "concealed ms", (int64_t)s.in.src.concealed_ms);
		ctl_dict_add_int(a, d, "packets sent", (int64_t)s.out.sent);
		ctl_dict_add_int(a, d, "frames shared", (int64_t)s.frames_shared);
		ctl_dict_add_int(a, d, "packets with level", (int64_t)s.in.level_packets);
		ctl_dict_add_int(a, d, "packets not decoded", (int64_t)s.in.level_skipped);
	}
	return d;
}

int ctl_cmd_query_room(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_room *m = room_arg(r, ctl_calls_rooms(ctx));
	struct ctl_arena *a = ctl_ng_arena(r);
	struct ctl_val *reply = ctl_ng_reply(r), *parts, *evs;
	int64_t after;

	if (!m || arg_int(r, "events-after", 0, 0, INT64_MAX, &after))
		return -1;
	parts = ctl_val_list(a);
	evs = ctl_val_list(a);
	if (!parts || !evs)
		return ctl_ng_error(r, "Reply too large");
	drain_events(m);
	room_describe(r, m, reply);
	ctl_dict_add_int(a, reply, "ticks", (int64_t)mx_room_ticks(m->mx));
	for (struct ctl_part *p = m->parts; p; p = p->next)
		if (ctl_list_append(parts, part_report(r, p)))
			return ctl_ng_error(r, "Reply too large");
	ctl_dict_add(reply, "members", 7, parts);
	for (uint64_t q = m->n_ev > ROOM_EVENTS ? m->n_ev - ROOM_EVENTS + 1 : 1; q <= m->n_ev; q++) {
		const struct room_event *e = &m->ev[(q - 1) % ROOM_EVENTS];
		struct ctl_val *d;

		if (q <= (uint64_t)after)
			continue;
		d = ctl_val_dict(a);
		if (!d)
			return ctl_ng_error(r, "Reply too large");
		ctl_dict_add_int(a, d, "seq", (int64_t)e->seq);
		ctl_dict_add_int(a, d, "time", e->at);
		if (e->pid < 0) {
			ctl_dict_add_cstr(a, d, "event", e->play_stopped ? "playback stopped" : "playback finished");
			ctl_dict_add_int(a, d, "playback", e->play_id);
			ctl_dict_add_int(a, d, "played-ms", (int64_t)e->played_ms);
			if (ctl_list_append(evs, d))
				return ctl_ng_error(r, "Reply too large");
			continue;
		}
		ctl_dict_add_cstr(a, d, "event", e->start ? "talking" : "silent");
		ctl_dict_add_int(a, d, "id", e->pid);
		ctl_dict_add(d, "call-id", 7, ctl_val_strdup(a, e->call_id, strlen(e->call_id)));
		ctl_dict_add(d, "tag", 3, ctl_val_strdup(a, e->tag, strlen(e->tag)));
		if (ctl_list_append(evs, d))
			return ctl_ng_error(r, "Reply too large");
	}
	ctl_dict_add(reply, "events", 6, evs);
	ctl_dict_add_int(a, reply, "last event", (int64_t)m->n_ev);
	if (m->rec)
		ctl_rec_room_report(r, m->rec);
	return 0;
}

/* ------------------------------------------------------------------ */
/* participants                                                         */

/* The participant named by call-id (and from-tag, for a call with two
 * parties in rooms) in dict `where` (the request's arguments or an entry
 * of a list). NULL after the error reply. */
static struct ctl_part *part_find(struct ctl_ng_req *r, struct ctl_calls *c, const char *id, const char *tag)
{
	struct call *k = id && *id ? ctl_call_lookup(c, id) : NULL;
	struct ctl_part *found = NULL;
	unsigned n = 0;

	if (!id || !*id) {
		ctl_ng_error(r, "No call-id in message");
		return NULL;
	}
	if (!k) {
		ctl_ng_error(r, "Unknown participant: no call '%s'", id);
		return NULL;
	}
	for (unsigned b = 0; b < k->n_br; b++)
		for (unsigned i = 0; i < k->br[b]->n; i++)
			for (int s = 0; s < 2; s++) {
				struct ctl_part *p = k->br[b]->st[i].part[s];

				if (p && (!tag || !*tag || !strcmp(part_tag(p), tag))) {
					found = p;
					n++;
				}
			}
	if (!found)
		ctl_ng_error(r, "Unknown participant: call '%s'%s%s is in no conference room", id,
			     tag && *tag ? " with tag " : "", tag && *tag ? tag : "");
	else if (n > 1)
		ctl_ng_error(r, "Call '%s' has %u participants: name one with from-tag", id, n);
	return n == 1 ? found : NULL;
}

/* The audience list: entries are call-ids, or dicts {call-id, from-tag}.
 * Fills pids (at most max); returns how many, or -1 after the error reply. */
static int audience_arg(struct ctl_ng_req *r, struct ctl_calls *c, struct ctl_part *speaker, int *pids, int max)
{
	const struct ctl_val *l = ctl_dict_get(ctl_ng_args(r), "audience");
	int n = 0;

	if (l->type == CTL_V_STR) {
		if (ctl_val_str_eq(l, "all") || ctl_val_str_eq(l, "everyone"))
			return -2; /* everyone again */
		return ctl_ng_error(r, "audience: a list of participants, or \"all\"");
	}
	if (l->type != CTL_V_LIST)
		return ctl_ng_error(r, "audience: a list of participants, or \"all\"");
	for (const struct ctl_val *e = l->u.c.head; e; e = e->next) {
		char id[CTL_NG_MAX_CALL_ID + 1] = "", tag[CTL_NG_MAX_TAG + 1] = "";
		struct ctl_part *p;

		if (e->type == CTL_V_STR && e->u.s.len < sizeof(id)) {
			memcpy(id, e->u.s.p, e->u.s.len);
		} else if (e->type == CTL_V_DICT) {
			const struct ctl_val *vi = ctl_dict_get(e, "call-id"), *vt = ctl_dict_get(e, "from-tag");

			if (vi && vi->type == CTL_V_STR && vi->u.s.len < sizeof(id))
				memcpy(id, vi->u.s.p, vi->u.s.len);
			if (vt && vt->type == CTL_V_STR && vt->u.s.len < sizeof(tag))
				memcpy(tag, vt->u.s.p, vt->u.s.len);
		}
		if (!id[0] || strlen(id) != (e->type == CTL_V_STR ? e->u.s.len : strlen(id)))
			return ctl_ng_error(r, "audience: each entry is a call-id or {call-id, from-tag}");
		p = part_find(r, c, id, tag);
		if (!p)
			return -1;
		if (p->room != speaker->room)
			return ctl_ng_error(r, "audience: call '%s' is in room '%s', not '%s'", id, p->room->name,
					    speaker->room->name);
		if (p == speaker)
			return ctl_ng_error(r, "audience: a participant does not hear itself");
		if (n == max)
			return ctl_ng_error(r, "audience: at most %d listeners", max);
		pids[n++] = p->pid;
	}
	if (!n)
		return ctl_ng_error(r, "audience: an empty list (\"all\" gives everyone back)");
	return n;
}

/* set participant: mute, deaf, gain (dB), audience (whisper/coach: only
 * those listeners hear it). Everything is checked before anything
 * changes. */
int ctl_cmd_set_participant(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_part *p = part_find(r, ctx, ctl_arg_str(r, "call-id"), ctl_arg_str(r, "from-tag"));
	const struct ctl_val *gv = ctl_dict_get(ctl_ng_args(r), "gain");
	bool muted, deaf;
	double gain;
	int pids[16], n = -3, rc;

	if (!p)
		return -1;
	muted = p->muted;
	deaf = p->deaf;
	gain = p->gain_db;
	if (ctl_has_flag(r, "flags", "mute"))
		muted = true;
	if (ctl_has_flag(r, "flags", "unmute"))
		muted = false;
	if (ctl_has_flag(r, "flags", "deafen") || ctl_has_flag(r, "flags", "deaf"))
		deaf = true;
	if (ctl_has_flag(r, "flags", "undeafen"))
		deaf = false;
	if (arg_bool(r, "mute", &muted) || arg_bool(r, "deaf", &deaf))
		return -1;
	if (gv) {
		const char *s = gv->type == CTL_V_STR ? ctl_arg_str(r, "gain") : NULL;
		char *end = NULL;

		if (gv->type == CTL_V_INT)
			gain = (double)gv->u.i;
		else if (!s || !*s || (gain = strtod(s, &end), *end) || !isfinite(gain))
			return ctl_ng_error(r, "gain: a number of dB");
		if (gain < GAIN_DB_MIN || gain > GAIN_DB_MAX)
			return ctl_ng_error(r, "gain: %.1f dB is not in %.0f..%.0f (mute instead)", gain, GAIN_DB_MIN,
					    GAIN_DB_MAX);
	}
	if (ctl_dict_get(ctl_ng_args(r), "audience")) {
		n = audience_arg(r, ctx, p, pids, 16);
		if (n == -1)
			return -1;
	}
	p->muted = muted;
	p->deaf = deaf;
	p->gain_db = gain;
	rc = part_apply(p);
	if (!rc && n != -3) {
		for (int tries = 0; (rc = mx_room_set_audience(p->room->mx, p->pid, pids, n == -2 ? -1 : n)) == -EBUSY &&
				    tries < 100; tries++)
			short_wait();
	}
	if (rc)
		return ctl_ng_error(r, "Cannot change the participant (%s)", strerror(-rc));
	{
		struct ctl_val *d = part_report(r, p);

		if (d)
			ctl_dict_add(ctl_ng_reply(r), "participant", 11, d);
	}
	return 0;
}

/* kick participant: it leaves its room and its call ends in medius (the
 * controller ends the SIP dialog). */
int ctl_cmd_kick_participant(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_part *p = part_find(r, ctx, ctl_arg_str(r, "call-id"), ctl_arg_str(r, "from-tag"));
	struct call *k;

	if (!p)
		return -1;
	k = p->k;
	dp_log(DP_LOG_INFO, "room", "room %s: call %s kicked", p->room->name, k->id);
	ctl_call_report(r, k, NULL);
	ctl_call_free(ctx, k);
	return 0;
}

/* ------------------------------------------------------------------ */
/* joining                                                              */

struct join {
	struct cdc_format fmt;
	uint8_t pt;
	int te, cn;        /* payload types, -1 none */
	unsigned ptime;
	uint8_t level_ext; /* RFC 6464 audio level extmap id, 0 none */
};

#define AUDIO_LEVEL_URI "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

/* The offer's a=extmap id for the RFC 6464 client-to-mixer audio level
 * (RFC 8285: "id[/direction] uri [attributes]"), 0 when none (or one
 * medius cannot take: an id outside 1-255, a direction that is not
 * sendonly or sendrecv from the participant). Its attribute index in *ai. */
static uint8_t level_extmap(const struct ctl_sdp *s, const struct ctl_sdp_media *md, int *ai)
{
	for (int a = ctl_sdp_attr_find(s, md, "extmap", 0); a >= 0; a = ctl_sdp_attr_find(s, md, "extmap", (unsigned)a + 1)) {
		const char *v = md->attrs.v[a].value;
		char *end;
		long id;

		if (!v)
			continue;
		id = strtol(v, &end, 10);
		if (id < 1 || id > 255 || end == v)
			continue;
		if (*end == '/' && strncmp(end, "/sendonly", 9) && strncmp(end, "/sendrecv", 9))
			continue;
		end += strcspn(end, " ");
		end += strspn(end, " ");
		if (!strncmp(end, AUDIO_LEVEL_URI, strlen(AUDIO_LEVEL_URI)) &&
		    (end[strlen(AUDIO_LEVEL_URI)] == '\0' || end[strlen(AUDIO_LEVEL_URI)] == ' ')) {
			*ai = a;
			return (uint8_t)id;
		}
	}
	return 0;
}

static bool room_takes(const struct ctl_room *m, const struct cdc_format *f)
{
	if (!m->n_codecs)
		return true;
	for (unsigned i = 0; i < m->n_codecs; i++)
		if (!strcasecmp(m->codecs[i], cdc_codec_name(f->codec)))
			return true;
	return false;
}

/* Make leg a participant of m with codec j (both ways). */
static struct ctl_part *part_join(struct ctl_ng_req *r, struct ctl_room *m, struct call *k, struct stream *st, int side,
				  const struct join *j)
{
	struct mx_room_part_conf pc = {
		.in = { .in = j->fmt, .in_pt = j->pt, .in_te_pt = j->te, .in_cn_pt = j->cn, .dtmf = CDC_DTMF_DROP },
		.out = { .out = j->fmt, .out_pt = j->pt, .out_ptime = j->ptime, .out_te_pt = -1, .out_cn_pt = -1 },
		.level_ext_id = j->level_ext,
	};
	struct ctl_part *p = calloc(1, sizeof(*p));
	int err = 0, pid = -1;

	if (!p) {
		ctl_ng_error(r, "Out of memory");
		return NULL;
	}
	if (m->n_parts >= m->conf.mix.max_parts) {
		free(p);
		ctl_ng_error(r, "Conference room '%s' is full (%u participants)", m->name, m->conf.mix.max_parts);
		return NULL;
	}
	dp_leg_set_clock(st->leg[side], j->fmt.clock_rate);
	for (int tries = 0; (pid = mx_room_join(m->mx, st->leg[side], &pc, &err)) == -EBUSY && tries < 100; tries++)
		short_wait();
	if (pid < 0) {
		free(p);
		ctl_ng_error(r, "Cannot join conference room '%s' (%s)", m->name,
			     pid == -EXDEV ? "the call is not on the room's worker" : strerror(-pid));
		return NULL;
	}
	*p = (struct ctl_part){ .room = m, .k = k, .st = st, .side = side, .pid = pid };
	snprintf(p->codec, sizeof(p->codec), "%s", cdc_codec_name(j->fmt.codec));
	p->next = m->parts;
	m->parts = p;
	m->n_parts++;
	st->part[side] = p;
	dp_log(DP_LOG_INFO, "room", "room %s: call %s joined as participant %d (%s)", m->name, k->id, pid, p->codec);
	return p;
}

/* The codec a conference offer's section gets: the first it offers that
 * the room takes; its telephone-event and CN types. -1 after the error. */
static int choose_codec(struct ctl_ng_req *r, struct ctl_room *m, const struct ctl_sdp *s,
			const struct ctl_sdp_media *md, unsigned i, struct join *j, char *te_fmtp, size_t te_len)
{
	int ai = ctl_sdp_attr_find_type(s, md, CTL_SDP_A_PTIME, 0);
	bool got = false;

	j->te = j->cn = -1;
	j->level_ext = 0;
	j->ptime = ai >= 0 && cdc_ptime_valid(md->attrs.v[ai].u.ptime) ? md->attrs.v[ai].u.ptime : 20;
	for (unsigned f = 0; f < md->n_fmts; f++) {
		int pt = ctl_sdp_media_pt(md, f);
		struct cdc_format fmt;

		if (pt < 0 || ctl_sdp_media_format(md, (unsigned)pt, &fmt))
			continue;
		if (fmt.codec == CDC_TELEPHONE_EVENT || fmt.codec == CDC_CN)
			continue;
		if (!got && room_takes(m, &fmt)) {
			j->fmt = fmt;
			j->pt = (uint8_t)pt;
			got = true;
		}
	}
	if (!got) {
		char takes[ROOM_CODECS * 18] = "";

		for (unsigned c = 0; c < m->n_codecs; c++)
			snprintf(takes + strlen(takes), sizeof(takes) - strlen(takes), "%s%s", c ? ", " : "",
				 m->codecs[c]);
		return ctl_ng_error(r, "Media %u offers no codec conference room '%s' takes (it takes %s)", i + 1,
				    m->name, m->n_codecs ? takes : "PCMU, PCMA, G722, L16, opus");
	}
	for (unsigned f = 0; f < md->n_fmts; f++) { /* events and CN at the chosen codec's clock */
		int pt = ctl_sdp_media_pt(md, f);
		struct cdc_format fmt;
		struct ctl_sdp_codec sc;

		if (pt < 0 || ctl_sdp_media_format(md, (unsigned)pt, &fmt) || fmt.clock_rate != j->fmt.clock_rate)
			continue;
		if (fmt.codec == CDC_TELEPHONE_EVENT && j->te < 0) {
			j->te = pt;
			snprintf(te_fmtp, te_len, "%s",
				 !ctl_sdp_media_codec(md, (unsigned)pt, &sc) && sc.fmtp ? sc.fmtp : "0-15");
		} else if (fmt.codec == CDC_CN && j->cn < 0) {
			j->cn = pt;
		}
	}
	return 0;
}

/* Keep in an answered section only what an answer says: codecs, ptime,
 * direction, RTCP, crypto and mid (and attribute `keep`, -1 none). */
static void answer_attrs(struct ctl_sdp *s, struct ctl_sdp_media *md, int keep)
{
	for (int a = (int)md->attrs.n - 1; a >= 0; a--) {
		enum ctl_sdp_atype t = md->attrs.v[a].type;

		if (a != keep && t != CTL_SDP_A_RTPMAP && t != CTL_SDP_A_FMTP && t != CTL_SDP_A_PTIME && t != CTL_SDP_A_MAXPTIME &&
		    t != CTL_SDP_A_RTCP && t != CTL_SDP_A_RTCP_MUX && t != CTL_SDP_A_CRYPTO && t != CTL_SDP_A_DIRECTION &&
		    t != CTL_SDP_A_MID)
			ctl_sdp_attr_delete(s, md, (unsigned)a);
	}
}

static enum ctl_sdp_dir answer_dir(enum ctl_sdp_dir d)
{
	return d == CTL_SDP_SENDONLY ? CTL_SDP_RECVONLY : d == CTL_SDP_RECVONLY ? CTL_SDP_SENDONLY : d;
}

/* Media section i of a conference offer: the participant's. */
static int conf_section(struct ctl_ng_req *r, struct ctl_room *m, struct branch *b, struct ctl_sdp *s, unsigned i)
{
	struct ctl_sdp_media *md = &s->media[i];
	struct stream *st = &b->st[i];
	struct join j;
	char te_fmtp[64];
	enum ctl_sdp_dir dir = ctl_sdp_media_dir(s, md);
	bool mux = ctl_sdp_attr_find_type(s, md, CTL_SDP_A_RTCP_MUX, 0) >= 0;
	bool fresh = !st->active;
	int err = 0, level_ai = -1;

	if (ctl_sdp_media_has_dtls(s, md) && !ctl_stream_first_crypto(s, md))
		return ctl_ng_error(r, "DTLS-SRTP is not supported yet (media %u)", i + 1);
	if (strlen(md->proto) >= sizeof(st->proto[0]))
		return ctl_ng_error(r, "Media %u: a transport protocol of %zu bytes", i + 1, strlen(md->proto));
	if (choose_codec(r, m, s, md, i, &j, te_fmtp, sizeof(te_fmtp)))
		return -1;
	j.level_ext = level_extmap(s, md, &level_ai);
	if (!fresh) { /* a re-offer: the codec and the audio level id stay */
		if (j.level_ext != st->level_ext)
			return ctl_ng_error(r, "Media %u: a participant keeps its audio level extmap id (%u) in a re-offer",
					    i + 1, st->level_ext);
		if (!cdc_format_compatible(&j.fmt, &st->fmt) || j.pt != st->fmt_pt)
			return ctl_ng_error(r, "Media %u: a participant keeps its codec (%s, payload type %d) in a "
					    "re-offer", i + 1, cdc_codec_name(st->fmt.codec), st->fmt_pt);
	} else {
		st->leg[0] = dp_leg_create(b->call->dp, NULL, b->leg_flags, &err);
		if (!st->leg[0])
			return ctl_ng_error(r, err == -EADDRINUSE ? "No media ports left" : "Cannot allocate a media port");
		st->active = true;
		st->b_te = -1;
		snprintf(st->type, sizeof(st->type), "%s", md->type);
	}
	if (ctl_stream_set_remote(r, st->leg[0], s, md, i))
		return -1;
	strcpy(st->proto[0], md->proto);
	strcpy(st->proto[1], md->proto);
	st->srtp[0] = strstr(md->proto, "SAVP") != NULL;
	if (st->srtp[0]) {
		const struct dp_sdes *theirs = ctl_stream_first_crypto(s, md);

		if (!theirs)
			return ctl_ng_error(r, "No supported SRTP crypto suite in media %u", i + 1);
		if ((fresh || st->key[0].suite != theirs->suite) && dp_sdes_generate(theirs->suite, theirs->tag, &st->key[0]))
			return ctl_ng_error(r, "Cannot generate SRTP keys");
		st->key[0].tag = theirs->tag;
		ctl_sdes_answer_mki(&st->key[0], theirs);
		if (dp_leg_set_srtp(st->leg[0], theirs, &st->key[0]))
			return ctl_ng_error(r, "Cannot set up SRTP for media %u", i + 1);
	}
	st->fmt = j.fmt;
	st->fmt_known = true;
	st->fmt_pt = j.pt;
	st->a_ptime = st->b_ptime = j.ptime;
	st->a_te = j.te;
	st->level_ext = j.level_ext;
	if (fresh && !part_join(r, m, b->call, st, 0, &j))
		return -1;
	{
		struct ctl_part *p = st->part[0];
		bool hm = dir != CTL_SDP_SENDRECV, hd = dir == CTL_SDP_SENDONLY || dir == CTL_SDP_INACTIVE;

		if (p->hold_mute != hm || p->hold_deaf != hd) {
			p->hold_mute = hm;
			p->hold_deaf = hd;
			if (part_apply(p))
				return ctl_ng_error(r, "Cannot apply the hold state");
		}
	}
	/* the answer (the audio level extmap, taken, stays in it) */
	answer_attrs(s, md, level_ai);
	if (level_ai >= 0) { /* it goes one way: participant to medius */
		char v[80];

		snprintf(v, sizeof(v), "%u/recvonly %s", j.level_ext, AUDIO_LEVEL_URI);
		for (unsigned a = 0; a < md->attrs.n; a++)
			if (md->attrs.v[a].name && !strcmp(md->attrs.v[a].name, "extmap"))
				ctl_sdp_attr_replace(s, md, a, "extmap", v);
	}
	if (ctl_stream_only_codec(s, md, &j.fmt, j.pt, j.te, te_fmtp))
		return ctl_ng_error(r, "Cannot write the answer's codecs for media %u", i + 1);
	ctl_sdp_media_set_ptime(s, md, j.ptime);
	ctl_sdp_media_set_dir(s, md, answer_dir(dir));
	if (st->srtp[0]) {
		ctl_sdp_attr_remove_type(s, md, CTL_SDP_A_CRYPTO);
		if (ctl_sdp_media_add_crypto(s, md, &st->key[0]))
			return ctl_ng_error(r, "Cannot write the answer's crypto for media %u", i + 1);
	}
	if (ctl_stream_point_at(s, md, st->leg[0], false, mux))
		return ctl_ng_error(r, "Cannot rewrite media %u", i + 1);
	return 0;
}

/* The answer's session part: our origin, name and address. */
static int conf_session(struct ctl_ng_req *r, struct ctl_sdp *s, struct branch *b, struct ctl_room *m)
{
	char ver[24], id[24];
	uint32_t h = 2166136261u;

	for (const char *c = b->call->id; *c; c++) /* a numeric session id (RFC 8866), the same for the call's answers */
		h = (h ^ (uint8_t)*c) * 16777619u;
	snprintf(id, sizeof(id), "%u", h);
	for (int a = (int)s->attrs.n - 1; a >= 0; a--)
		ctl_sdp_attr_delete(s, NULL, (unsigned)a); /* BUNDLE groups, msid semantics: the offerer's */
	if (ctl_session_rewrite(r, s, b, 0))
		return -1;
	snprintf(ver, sizeof(ver), "%llu", (unsigned long long)b->seq);
	s->origin.username = "medius";
	s->origin.sess_id = ctl_sdp_strdup(s, id);
	s->origin.sess_version = ctl_sdp_strdup(s, ver);
	s->name = ctl_sdp_strdup(s, m->name);
	if (!s->origin.sess_id || !s->origin.sess_version || !s->name)
		return ctl_ng_error(r, "Out of memory");
	{
		struct dp_leg_local loc;

		for (unsigned i = 0; i < b->n; i++)
			if (b->st[i].active) {
				dp_leg_local(b->st[i].leg[0], &loc);
				if (ctl_sdp_set_origin_addr(s, loc.address))
					return ctl_ng_error(r, "Cannot rewrite the o= line");
				break;
			}
	}
	return 0;
}

int ctl_room_offer(struct ctl_ng_req *r, struct ctl_calls *c, const char *name)
{
	static const char *const known[] = { "create room", "trust address", "symmetric", "asymmetric",
					     "strict source", "SIP source address", "port latching", NULL };
	struct ctl_rooms *rs = ctl_calls_rooms(c);
	const char *id = ctl_arg_str(r, "call-id"), *from = ctl_arg_str(r, "from-tag"), *sdp = ctl_arg_str(r, "sdp");
	struct ctl_room *m = room_find(rs, name);
	struct call *k;
	struct branch *b;
	struct ctl_sdp s;
	char err[160];
	bool fresh = false, made_room = false;
	int rc = 0, joined = -1;

	ctl_warn_unknown_flags(r, known);
	if (!m && !ctl_has_flag(r, "flags", "create room"))
		return ctl_ng_error(r, "Unknown conference room '%s'", name);
	k = ctl_call_lookup(c, id);
	if (k && !k->conference)
		return ctl_ng_error(r, "Call-ID '%s' is a call, not a conference participant", id);
	if (k && strcmp(k->from_tag, from))
		return ctl_ng_error(r, "Call-ID '%s' joined with another from-tag", id);
	if (k && call_room(k) != m)
		return ctl_ng_error(r, "Call-ID '%s' is in conference room '%s'", id,
				    call_room(k) ? call_room(k)->name : "(none)");
	if (ctl_sdp_parse(sdp, strlen(sdp), &s, err, sizeof(err)))
		return ctl_ng_error(r, "Failed to parse SDP: %s", err);
	if (!m) {
		m = room_make(r, rs, name);
		if (!m) {
			ctl_sdp_free(&s);
			return -1;
		}
		made_room = true;
	}
	if (!k) {
		k = ctl_call_add(r, c, id, from, m->name);
		if (!k || !ctl_branch_add(r, k, ctl_arg_str(r, "via-branch"))) {
			if (k)
				ctl_call_free(c, k);
			rc = -1;
			goto out;
		}
		k->conference = true;
		fresh = true;
	}
	b = k->br[0];
	b->leg_flags = (ctl_has_flag(r, "flags", "strict source") ? DP_LEG_STRICT_SOURCE : 0u) |
		       (ctl_has_flag(r, "flags", "asymmetric") ? DP_LEG_ASYMMETRIC : 0u);
	b->seq = ++k->seq;
	k->last_signal = time(NULL);
	k->delete_at_ms = 0;
	if (!fresh && s.n_media != b->n) {
		rc = ctl_ng_error(r, "A re-offer has %u media sections, the first had %u", s.n_media, b->n);
		goto out;
	}
	for (unsigned i = 0; i < s.n_media && !rc; i++) {
		struct ctl_sdp_media *md = &s.media[i];
		bool is_ours = fresh ? joined < 0 && !strcmp(md->type, "audio") && ctl_sdp_media_is_rtp(md) && md->port
				     : b->st[i].active;

		if (is_ours && !fresh && !md->port) {
			rc = ctl_ng_error(r, "Media %u: a participant cannot reject its audio (send a BYE)", i + 1);
		} else if (is_ours) {
			rc = conf_section(r, m, b, &s, i);
			joined = (int)i;
		} else {
			if (md->port)
				ctl_ng_warning(r, "media %u (%s) is not the room's audio: rejected (port 0)", i + 1, md->type);
			snprintf(b->st[i].type, sizeof(b->st[i].type), "%s", md->type);
			answer_attrs(&s, md, -1);
			rc = ctl_sdp_media_reject(&s, md);
		}
	}
	if (!rc && joined < 0)
		rc = ctl_ng_error(r, "No audio RTP media in the offer to join conference room '%s' with", m->name);
	if (!rc) {
		b->n = s.n_media;
		rc = conf_session(r, &s, b, m);
	}
	if (!rc)
		rc = ctl_reply_sdp(r, &s);
	if (!rc)
		ctl_dict_add_int(ctl_ng_arena(r), ctl_ng_reply(r), "participant", b->st[joined].part[0]->pid);
out:
	ctl_sdp_free(&s);
	if (rc && fresh && k)
		ctl_call_free(c, k);
	if (rc && made_room && !m->n_parts)
		room_free(rs, m);
	return rc;
}

/* ------------------------------------------------------------------ */
/* connect                                                              */

/* The stream of call k that connect joins: the answered audio stream of
 * its newest answered branch. NULL after the error reply. */
static struct stream *connect_stream(struct ctl_ng_req *r, struct call *k)
{
	struct branch *b = NULL;

	if (k->conference) {
		ctl_ng_error(r, "Call '%s' is a conference participant already", k->id);
		return NULL;
	}
	if (call_room(k)) {
		ctl_ng_error(r, "Call '%s' is in conference room '%s' already", k->id, call_room(k)->name);
		return NULL;
	}
	for (unsigned i = 0; i < k->n_br; i++)
		if (k->br[i]->to_tag[0] && (!b || k->br[i]->seq > b->seq))
			b = k->br[i];
	for (unsigned i = 0; b && i < b->n; i++) {
		struct stream *st = &b->st[i];

		if (st->active && st->fmt_known && st->leg[0] && st->leg[1] && !strcmp(st->type, "audio"))
			return st;
	}
	ctl_ng_error(r, "Call '%s' has no answered audio stream to connect", k->id);
	return NULL;
}

/* What party `side` of st sends and is sent. */
static void side_join(const struct stream *st, int side, struct join *j)
{
	if (st->xcoded) {
		j->fmt = st->xfmt[side];
		j->pt = st->xpt[side];
		j->te = st->xte[side];
	} else {
		j->fmt = st->fmt;
		j->pt = (uint8_t)st->fmt_pt;
		j->te = side ? st->b_te : st->a_te;
	}
	j->cn = side ? -1 : st->a_cn;
	j->ptime = side ? st->b_ptime : st->a_ptime;
	if (!cdc_ptime_valid(j->ptime))
		j->ptime = 20;
}

/* connect: call-id and to-call-id, two established calls, become one
 * room: every party of both hears the others (an attended transfer's
 * three-way call). The room is "conference" when given (made when it does
 * not exist), else a new one named after call-id. */
int ctl_cmd_connect(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_calls *c = ctx;
	struct ctl_rooms *rs = ctl_calls_rooms(c);
	const char *id = ctl_arg_str(r, "call-id"), *to = ctl_arg_str(r, "to-call-id");
	const char *name = ctl_arg_str(r, "conference");
	struct call *k[2];
	struct stream *st[2];
	struct join j[2][2];
	struct ctl_room *m;
	char auto_name[ROOM_NAME_MAX + 1];
	bool made = false;
	int rc;

	if (!id || !*id)
		return ctl_ng_error(r, "No call-id in message");
	if (!to || !*to)
		return ctl_ng_error(r, "No to-call-id in message");
	if (!strcmp(id, to))
		return ctl_ng_error(r, "call-id and to-call-id name the same call");
	k[0] = ctl_call_lookup(c, id);
	k[1] = ctl_call_lookup(c, to);
	if (!k[0])
		return ctl_ng_error(r, "Unknown call-id");
	if (!k[1])
		return ctl_ng_error(r, "Unknown to-call-id");
	for (int i = 0; i < 2; i++) {
		st[i] = connect_stream(r, k[i]);
		if (!st[i])
			return -1;
		side_join(st[i], 0, &j[i][0]);
		side_join(st[i], 1, &j[i][1]);
	}
	if (!name || !*name) {
		snprintf(auto_name, sizeof(auto_name), "connect:%.*s", ROOM_NAME_MAX - 8, id);
		name = auto_name;
	}
	m = room_find(rs, name);
	if (m && m->n_parts + 4 > m->conf.mix.max_parts)
		return ctl_ng_error(r, "Conference room '%s' has no room for 4 more participants", name);
	for (int i = 0; i < 2; i++)
		for (int s = 0; s < 2; s++)
			if (m && !room_takes(m, &j[i][s].fmt))
				return ctl_ng_error(r, "Conference room '%s' does not take %s", name,
						    cdc_codec_name(j[i][s].fmt.codec));
	if (!m) {
		m = room_make(r, rs, name);
		if (!m)
			return -1;
		made = true;
	}
	for (int i = 0; i < 2; i++) {
		rc = dp_call_colocate(k[i]->dp, m->home);
		if (rc) {
			if (made)
				room_free(rs, m);
			return ctl_ng_error(r, "Cannot move call '%s' to the room's worker (%s)", k[i]->id, strerror(-rc));
		}
	}
	/* from here on the calls change: their transcoders go, their legs join */
	for (int i = 0; i < 2; i++) {
		ctl_stream_unhook(st[i]);
		for (int s = 0; s < 2; s++)
			if (!part_join(r, m, k[i], st[i], s, &j[i][s])) {
				for (int u = 0; u <= i; u++) /* what joined leaves; the calls relay again */
					for (int v = 0; v < 2; v++)
						ctl_room_part_gone(st[u], v);
				if (made)
					room_free(rs, m);
				return -1;
			}
		k[i]->last_signal = time(NULL);
	}
	dp_log(DP_LOG_INFO, "room", "room %s: calls %s and %s connected", m->name, id, to);
	room_describe(r, m, ctl_ng_reply(r));
	return 0;
}

/* ------------------------------------------------------------------ */
/* playback                                                             */

/* play media with a "conference" key: the file is mixed into the room on
 * top of the talkers, heard by every participant (ctl_call_play.c hands
 * the request here). The reply has "duration" (one play, ms) and
 * "playback" (its id, for stop media and the room's events). */
int ctl_room_play(struct ctl_ng_req *r, struct ctl_calls *c)
{
	struct ctl_room *m = room_arg(r, ctl_calls_rooms(c));
	struct mx_player *p = NULL;
	uint64_t dur;
	int id = -EBUSY;

	if (!m || ctl_play_parse(r, ctl_calls_play_dir(c), &p))
		return -1;
	dur = mx_player_duration_ms(p);
	for (int tries = 0; tries < 100 && (id = mx_room_play(m->mx, p)) == -EBUSY; tries++)
		short_wait();
	if (id < 0) {
		mx_player_destroy(p);
		return ctl_ng_error(r, "Cannot play media into conference room '%s' (%s)", m->name,
				    id == -ENOSPC ? "no free slot: 4 playbacks at once at most, one participant slot each"
						  : strerror(-id));
	}
	dp_log(DP_LOG_INFO, "room", "room %s: playback %d starts (%llu ms)", m->name, id, (unsigned long long)dur);
	ctl_dict_add_int(ctl_ng_arena(r), ctl_ng_reply(r), "duration", (int64_t)dur);
	ctl_dict_add_int(ctl_ng_arena(r), ctl_ng_reply(r), "playback", id);
	return 0;
}

/* stop media with a "conference" key: the playback `playback` names
 * stops (its end is a room event). */
int ctl_room_stop_play(struct ctl_ng_req *r, struct ctl_calls *c)
{
	struct ctl_room *m = room_arg(r, ctl_calls_rooms(c));
	int64_t id;
	int rc = -EBUSY;

	if (!m || arg_int(r, "playback", -1, 0, INT32_MAX, &id))
		return -1;
	if (id < 0)
		return ctl_ng_error(r, "No playback (the id play media gave) in message");
	for (int tries = 0; tries < 100 && (rc = mx_room_stop_play(m->mx, (int)id)) == -EBUSY; tries++)
		short_wait();
	if (rc)
		return ctl_ng_error(r, "No playback %lld playing in conference room '%s'", (long long)id, m->name);
	return 0;
}

void ctl_rooms_visit(struct ctl_rooms *rs, const struct ctl_room_visit *v)
{
	for (struct ctl_room *m = rs->list; m; m = m->next) {
		if (v->room)
			v->room(v->ctx, m->name, m->created, m->n_parts);
		for (struct ctl_part *p = m->parts; p && v->part; p = p->next) {
			struct mx_room_part_stats s;
			bool ok = !mx_room_get_stats(m->mx, p->pid, &s);

			v->part(v->ctx, p->k, p->st, p->side, part_tag(p), ok && s.talker, ok ? s.level : 0,
				p->muted || p->hold_mute);
		}
	}
}
