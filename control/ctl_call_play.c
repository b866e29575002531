/* SPDX-License-Identifier: MIT
 * ctl_call_play: the ng commands "play media" and "stop media" for a call
 * (rtpengine's names and keys; docs/protocol.md), and ctl_play_parse, the
 * media of a "play media" request for any target (ctl_play.h).
 *
 * The party the request's from-tag names hears the file: on the stream's
 * first audio section, what the other party sends it is held back while
 * the file plays (a media hook on the leg facing the other party), and
 * the file's audio goes out of the party's own leg in the codec it
 * negotiated (mx_play_leg). When the file ended, relaying resumes: the
 * graph forwards the held leg's packets at once, and the control lcore's
 * 1 s timer (ctl_play_tick) logs "playback finished" and gives the legs
 * back to plain relaying. "stop media" does that early.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_call.h"
#include "ctl_call_int.h"
#include "ctl_ng_args.h"
#include "ctl_play.h"
#include "ctl_sdes.h"
#include "mx.h"

#define MAX_REPEAT 1000000

/* A playback to one party: the stream holds it in play[side]. */
struct ctl_play {
	struct stream *st;
	int side;                 /* the party that hears it */
	struct mx_play_leg *pl;
	char call_id[CTL_NG_MAX_CALL_ID + 1], tag[CTL_NG_MAX_TAG + 1];
	struct ctl_play *prev, *next;
};

static struct ctl_play *playing; /* every playback, for the timer */

/* The file `file` names, resolved (realpath: no "..", no symbolic link
 * left) into path, if it lies inside play_dir: 0, or -1 after an error
 * reply. A request can thus read only what the operator put under
 * play_dir, never a recording, a key or a peer's tap. */
static int play_path(struct ctl_ng_req *r, const char *play_dir, const char *file, char path[PATH_MAX])
{
	char dir[PATH_MAX], want[PATH_MAX];
	size_t n;

	if (!play_dir[0])
		return ctl_ng_error(r, "Playing files is off: set [media] play_dir in the configuration "
				       "(or send the media as 'blob')");
	if (!file[0])
		return ctl_ng_error(r, "'file' is empty");
	if (!realpath(play_dir, dir))
		return ctl_ng_error(r, "Cannot play media: play_dir %s: %s", play_dir, strerror(errno));
	if ((size_t)snprintf(want, sizeof(want), "%s%s%s", file[0] == '/' ? "" : dir, file[0] == '/' ? "" : "/",
			     file) >= sizeof(want))
		return ctl_ng_error(r, "'file' is too long");
	if (!realpath(want, path))
		return ctl_ng_error(r, "Cannot play media: %s", strerror(errno));
	n = strlen(dir);
	if (strcmp(dir, "/") && (strncmp(path, dir, n) || path[n] != '/'))
		return ctl_ng_error(r, "Cannot play media: '%s' is not inside play_dir", file);
	return 0;
}

int ctl_play_parse(struct ctl_ng_req *r, const char *play_dir, struct mx_player **out)
{
	char path[PATH_MAX];
	const struct ctl_val *args = ctl_ng_args(r);
	const struct ctl_val *blob = ctl_dict_get(args, "blob"), *b64 = ctl_dict_get(args, "blob64");
	const struct ctl_val *rep = ctl_dict_get(args, "repeat-times");
	const char *file = ctl_arg_str(r, "file");
	int64_t times = 1;
	struct mx_player *p;
	char msg[160] = "";
	int e = 0;

	if ((file != NULL) + (blob != NULL) + (b64 != NULL) != 1)
		return ctl_ng_error(r, "play media needs exactly one of 'file', 'blob' and 'blob64'");
	if (rep && rep->type == CTL_V_INT)
		times = rep->u.i;
	else if (rep && rep->type == CTL_V_STR) {
		const char *s = ctl_arg_str(r, "repeat-times");
		char *end;

		times = s ? strtoll(s, &end, 10) : 0;
		if (!s || !*s || *end)
			times = 0;
	}
	if (times < 1 || times > MAX_REPEAT)
		return ctl_ng_error(r, "'repeat-times' must be 1-%d", MAX_REPEAT);
	if (file) {
		if (play_path(r, play_dir, file, path))
			return -1;
		p = mx_player_open_file(path, &e, msg, sizeof(msg));
	} else if (blob) {
		if (blob->type != CTL_V_STR)
			return ctl_ng_error(r, "'blob' must be a byte string");
		if (blob->u.s.len > CTL_PLAY_MAX_BLOB)
			return ctl_ng_error(r, "'blob' is larger than %u bytes", CTL_PLAY_MAX_BLOB);
		p = mx_player_open_blob(blob->u.s.p, blob->u.s.len, &e, msg, sizeof(msg));
	} else {
		uint8_t *raw;
		size_t n = 0;

		if (b64->type != CTL_V_STR)
			return ctl_ng_error(r, "'blob64' must be a string");
		if (b64->u.s.len / 4 * 3 > CTL_PLAY_MAX_BLOB)
			return ctl_ng_error(r, "'blob64' is larger than %u bytes decoded", CTL_PLAY_MAX_BLOB);
		if (!(raw = malloc(b64->u.s.len / 4 * 3 + 3)))
			return ctl_ng_error(r, "No memory for the media");
		if (ctl_base64_decode(b64->u.s.p, b64->u.s.len, raw, b64->u.s.len / 4 * 3 + 3, &n)) {
			free(raw);
			return ctl_ng_error(r, "'blob64' is not valid base64");
		}
		p = mx_player_open_blob(raw, n, &e, msg, sizeof(msg));
		free(raw);
	}
	if (!p)
		return ctl_ng_error(r, "Cannot play media: %s", msg[0] ? msg : strerror(-e));
	mx_player_set_repeat(p, (unsigned)times);
	*out = p;
	return 0;
}

/* ---- a call's party ---- */

static void play_free(struct ctl_play *cp)
{
	mx_play_leg_stop(cp->pl); /* the worker lets go; the graph frees itself */
	cp->st->play[cp->side] = NULL;
	if (cp->prev)
		cp->prev->next = cp->next;
	else
		playing = cp->next;
	if (cp->next)
		cp->next->prev = cp->prev;
	free(cp);
}

void ctl_stream_stop_play(struct stream *st, int side)
{
	if (st->play[side])
		play_free(st->play[side]);
}

void ctl_play_tick(void)
{
	struct ctl_play *cp = playing, *next;

	for (; cp; cp = next) {
		next = cp->next;
		if (!mx_play_leg_done(cp->pl))
			continue;
		dp_log(DP_LOG_INFO, "call", "call %s: playback finished to %s (%llu ms played)", cp->call_id,
		       cp->tag, (unsigned long long)mx_play_leg_played_ms(cp->pl));
		play_free(cp);
	}
}

/* The stream and party a request names (from-tag: the party that hears
 * the media, as rtpengine's participant selection); -1 after an error reply. */
static int play_target(struct ctl_ng_req *r, struct ctl_calls *c, struct call **kout, struct stream **st_out,
		       int *side_out)
{
	struct call *k = ctl_find_call(r, c, "Unknown call-id");
	const char *tag = ctl_arg_str(r, "from-tag");
	struct branch *b;
	int side;

	if (!k)
		return -1;
	if (k->conference)
		return ctl_ng_error(r, "Call-ID '%s' is a conference participant: play media into its room (conference)",
				    k->id);
	if (!tag || !*tag)
		return ctl_ng_error(r, "play media and stop media need the from-tag of the party that hears it");
	b = ctl_party_branch(k, tag, &side);
	if (!b)
		return ctl_ng_error(r, "Unknown from-tag for this call");
	for (unsigned i = 0; i < b->n; i++)
		if (b->st[i].active && !strcmp(b->st[i].type, "audio")) {
			*kout = k;
			*st_out = &b->st[i];
			*side_out = side;
			return 0;
		}
	return ctl_ng_error(r, "No audio stream to play media into");
}

int ctl_cmd_play_media(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_arena *a = ctl_ng_arena(r);
	struct mx_player *p = NULL;
	struct ctl_play *cp;
	struct stream *st;
	struct call *k;
	int side, e = 0;
	unsigned ptime;
	const char *tag;

	if (ctl_dict_get(ctl_ng_args(r), "conference"))
		return ctl_room_play(r, ctx);
	if (play_target(r, ctx, &k, &st, &side))
		return -1;
	if (st->part[0] || st->part[1])
		return ctl_ng_error(r, "The call is in a conference room: play media into the room (conference)");
	if (st->xc[0] || st->xc[1])
		return ctl_ng_error(r, "play media into a transcoded or DTMF-masked stream is not supported yet");
	if (!st->fmt_known || st->fmt_pt < 0 || st->fmt.codec == CDC_TELEPHONE_EVENT || st->fmt.codec == CDC_CN)
		return ctl_ng_error(r, "No codec negotiated to play media in (answer the call first)");
	if (ctl_play_parse(r, ctl_calls_play_dir(ctx), &p))
		return -1;
	ptime = side ? st->b_ptime : st->a_ptime;
	struct cdc_sink_conf kc = {
		.out = st->fmt, .out_pt = (uint8_t)st->fmt_pt,
		.out_ptime = cdc_ptime_valid(ptime) ? ptime : 20,
		.out_te_pt = -1, .out_cn_pt = -1, .resample_quality = -1,
	};
	if (!(cp = calloc(1, sizeof(*cp)))) {
		mx_player_destroy(p);
		return ctl_ng_error(r, "No memory for the playback");
	}
	uint64_t dur = mx_player_duration_ms(p);

	ctl_stream_stop_play(st, side); /* a new file replaces what plays */
	cp->pl = mx_play_leg_start(st->leg[!side], st->leg[side], &kc, p, &e);
	if (!cp->pl) {
		free(cp);
		mx_player_destroy(p);
		return ctl_ng_error(r, "Cannot play media: %s", e == -EINVAL ? "the codec cannot be encoded" : strerror(-e));
	}
	cp->st = st;
	cp->side = side;
	tag = ctl_arg_str(r, "from-tag");
	snprintf(cp->call_id, sizeof(cp->call_id), "%s", k->id);
	snprintf(cp->tag, sizeof(cp->tag), "%s", tag ? tag : "");
	cp->next = playing;
	if (playing)
		playing->prev = cp;
	playing = cp;
	st->play[side] = cp;
	ctl_dict_add_int(a, ctl_ng_reply(r), "duration", (int64_t)dur);
	return 0;
}

int ctl_cmd_stop_media(struct ctl_ng_req *r, void *ctx)
{
	struct stream *st;
	struct call *k;
	int side;
	uint64_t ms;

	if (ctl_dict_get(ctl_ng_args(r), "conference"))
		return ctl_room_stop_play(r, ctx);
	if (play_target(r, ctx, &k, &st, &side))
		return -1;
	if (!st->play[side])
		return ctl_ng_error(r, "No media playing to that party");
	ms = mx_play_leg_played_ms(st->play[side]->pl);
	play_free(st->play[side]);
	ctl_dict_add_int(ctl_ng_arena(r), ctl_ng_reply(r), "played-ms", (int64_t)ms);
	return 0;
}
