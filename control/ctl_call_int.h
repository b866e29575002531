/* SPDX-License-Identifier: MIT
 * ctl_call_int: the call model's insides, shared by ctl_call.c (registry,
 * branches, offer/answer/delete routing), ctl_stream.c (one media section:
 * legs, keys, codecs, transcoding), ctl_codec_opts.c (an offer's codec
 * options), ctl_call_report.c (query, list, statistics), ctl_call_dtmf.c
 * (the DTMF commands) and ctl_call_tap.c (taps), and read by ctl_metrics.c
 * (metrics and the status page, on the control lcore). Not a public
 * header: nothing outside control/ includes it.
 *
 * A call is one call-id and one offerer (from-tag). Each offer to a
 * different destination (ng via-branch) is a branch, and every branch has
 * its own pair of legs per media section: one facing the offerer, one facing
 * that branch's answerer. Branches never share a port, so a forked call's
 * answerers, early media included, each get their own relay; the offerer
 * hears whichever branch's answer it took.
 */
#ifndef CTL_CALL_INT_H
#define CTL_CALL_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cdc.h"
#include "ctl_ng.h"
#include "ctl_sdp.h"
#include "ctl_site.h"
#include "dp.h"

#define CTL_MAX_BRANCHES 8  /* forks of one call */
#define CTL_MAX_ALIASES 4   /* earlier to-tags one branch answered with */

struct ctl_calls;
struct mx_xcode;
struct ctl_tap;
struct ctl_tap_stats;
struct ctl_part;   /* a conference room's participant (ctl_room.c) */
struct ctl_rooms;
struct ctl_play;
struct ctl_rec;   /* a call's recording (ctl_call_rec.c) */
struct mx_room;   /* mixer/ (a recorded room) */
struct ctl_calls_conf;
struct ctl_limit_src;

struct stream {
	bool active;            /* relayed: RTP media with a port */
	char type[16];
	char proto[2][32];      /* transport each side sees */
	struct dp_leg *leg[2];  /* [0] faces the offerer, [1] the answerer */
	bool srtp[2];
	bool offer_mux;         /* the offerer asked for rtcp-mux */
	struct dp_sdes key[2];  /* what we encrypt with towards each side */
	struct dp_sdes offered[2]; /* keys offered to the answerer (by tag 1, 2) */
	unsigned n_offered;
	struct cdc_format fmt;  /* the answered codec (MOS, clock) */
	bool fmt_known;
	/* what the offerer offered, kept for the answer */
	struct { uint8_t pt; struct cdc_format f; } a_codecs[16];
	unsigned n_a_codecs;
	int a_te, a_cn;          /* telephone-event / CN payload types, -1 none */
	char a_te_fmtp[64];      /* the offerer's telephone-event fmtp ("0-11,16") */
	int b_te;                /* the answerer's telephone-event payload type, -1 none */
	unsigned want_ptime;     /* ng "ptime": forced towards the answerer, 0 none */
	unsigned a_ptime;
	/* transcoding, when the answer's codec is not one the offerer has */
	bool xcoded;
	struct cdc_format xfmt[2]; /* the codec each side uses */
	struct mx_xcode *xc[2];    /* [0] terminates leg[0] (offerer -> answerer), [1] the other way */
	struct ctl_tap *tap[2][2]; /* [side][enum mx_tap_kind]: taps on what that party sends / is sent */
	uint8_t xpt[2];            /* the payload type each side uses when transcoded */
	int xte[2];                /* telephone-event type each side uses when transcoded, -1 none */
	/* codec options from the offer: "accept" (and "consume", "always
	 * transcode") keeps these codecs of the offerer even when the answerer
	 * picks another; "set" gives encoder options to transcoded codecs */
	char accept[8][32];
	unsigned n_accept;
	bool accept_all;
	struct { struct cdc_format f; uint32_t bitrate; } set[4];
	unsigned n_set;
	/* the answered codec's payload type and each side's ptime (relay chains) */
	int fmt_pt;
	unsigned b_ptime;
	/* DTMF-security silence/tone: in-band DTMF masked in what each side sends */
	enum cdc_dtmf_mask mask[2];
	unsigned mask_freq[2];
	/* conferencing: the participant each side's leg is in a room, or
	 * NULL. A conference participant's call (medius answered it for a
	 * room) has leg[0] only; a call joined to a room by "connect" has
	 * both legs in the room. */
	struct ctl_part *part[2];
	uint8_t level_ext;        /* a conference participant's RFC 6464 extmap id, 0 none */
	/* ng "play media": a file played to that party (ctl_call_play.c) */
	struct ctl_play *play[2];
	/* the recording bound to this stream (ctl_call_rec.c), or NULL */
	struct ctl_rec *rec;
	/* what ctl_metrics saw of each leg at its last collection (deltas) */
	struct { uint64_t packets, bytes, out_packets, out_bytes; uint32_t expected, lost, ssrc; } mseen[2];
	/* per-site alerts (ctl_alert_run.c): each leg's counters at the last sample */
	struct { const struct dp_leg *leg; uint32_t ssrc, expected, lost; } alert_seen[2];
	/* the Homer export (ctl_call_hep.c): RTCP reports of each leg already
	 * sent, and when the last quality report went */
	uint64_t hep_rtcp_seen[2];
	uint64_t hep_quality_ms;
};

struct call;

struct branch {
	struct call *call;
	char to_tag[CTL_NG_MAX_TAG + 1];  /* "" until answered */
	char alias[CTL_MAX_ALIASES][CTL_NG_MAX_TAG + 1]; /* to-tags of earlier answers to the same offer */
	char via[CTL_NG_MAX_TAG + 1];     /* the via-branch its offer came with, "" none */
	struct stream st[CTL_SDP_MAX_MEDIA];
	unsigned n;
	unsigned leg_flags;
	char iface[2][32];
	bool reverse_pending;    /* the answerer re-offered; its answer is due */
	uint64_t seq;            /* when it was last offered or answered: newest wins */
	char site[CTL_SITE_MAX]; /* the answer's metadata "site:NAME" ("" none; ctl_site.c) */
};

struct call {
	char id[CTL_NG_MAX_CALL_ID + 1], from_tag[CTL_NG_MAX_TAG + 1]; /* bounded by ctl_ng (check_ids) */
	unsigned bucket;         /* the hash bucket it was inserted in: freed from there */
	struct dp_call *dp;
	struct branch *br[CTL_MAX_BRANCHES];
	unsigned n_br;
	uint64_t seq;
	time_t created, last_signal;
	uint64_t delete_at_ms;    /* 0: not scheduled */
	uint64_t last_packets, last_change_ms;
	bool conference;          /* medius answered it for a room (ctl_room_offer) */
	struct ctl_rec *rec;      /* its recording, or NULL (ctl_call_rec.c) */
	char site[CTL_SITE_MAX];  /* the offer's metadata "site:NAME" ("" none; ctl_site.c) */
	struct ctl_limit_src *limit_src; /* its source's entry in the call limits (ctl_guard) */
	struct call *next;
	struct call *all_prev, *all_next; /* every call of the registry, newest first (ctl_calls_tick) */
};

/* the registry (ctl_call.c); the ng argument helpers are in ctl_ng_args.h */
/* The call the request's call-id names; NULL after the error reply. */
struct call *ctl_find_call(struct ctl_ng_req *r, struct ctl_calls *c, const char *unknown);
/* Does branch b answer to `tag` (its to-tag or an earlier one)? */
bool ctl_branch_has_tag(const struct branch *b, const char *tag);
/* The branch offered or answered last (of those not answered yet, with
 * unanswered_only): the one a request without tags or via-branch means. */
struct branch *ctl_branch_newest(struct call *k, bool unanswered_only);
/* The branch whose answerer has `tag`; NULL if none. */
struct branch *ctl_branch_by_tag(struct call *k, const char *tag);
/* The branch and side of the party `tag` names: the offerer (side 0, the
 * newest branch) or an answerer (side 1, its branch). NULL if none. */
struct branch *ctl_party_branch(struct call *k, const char *tag, int *side);
/* Free one branch (its legs and transcoders; its room participants
 * leave first), or the whole call. */
void ctl_branch_free(struct branch *b);
/* The call with this call-id, or NULL. */
struct call *ctl_call_lookup(struct ctl_calls *c, const char *id);
/* A new call (id, from-tag) in shard `shard` (NULL: its own; see
 * dp_call_create_in), registered; NULL after the error reply. */
struct call *ctl_call_add(struct ctl_ng_req *r, struct ctl_calls *c, const char *id, const char *from,
			  const char *shard);
/* Unregister and free a call (ctl_branch_free of each branch). */
void ctl_call_free(struct ctl_calls *c, struct call *k);
/* A new branch of k for via-branch via (may be NULL); NULL after the error reply. */
struct branch *ctl_branch_add(struct ctl_ng_req *r, struct call *k, const char *via);
/* The room registry (ctl_room.c) the call registry owns. */
struct ctl_rooms *ctl_calls_rooms(struct ctl_calls *c);

/* one media section (ctl_stream.c); each returns 0 or -1 after an error reply */
/* Point leg at what media section m (number i) of s says (c=, port,
 * a=rtcp; the "SIP source address" flag), and give it the SIP source. */
int ctl_stream_set_remote(struct ctl_ng_req *r, struct dp_leg *leg, const struct ctl_sdp *s,
			  const struct ctl_sdp_media *m, unsigned i);
/* Rewrite m to point at leg: c=, port, a=rtcp (full: with the address;
 * no_rtcp: none). Returns 0 or -errno (no reply). */
int ctl_stream_point_at(struct ctl_sdp *s, struct ctl_sdp_media *m, struct dp_leg *leg, bool full_rtcp,
			bool no_rtcp);
/* The first a=crypto of m whose suite medius can use, or NULL. */
const struct dp_sdes *ctl_stream_first_crypto(const struct ctl_sdp *s, const struct ctl_sdp_media *m);
/* Rewrite m to list codec f as payload type pt, with telephone-event type
 * te (-1: none; te_fmtp its events) after it, and nothing else. 0 or -1. */
int ctl_stream_only_codec(struct ctl_sdp *s, struct ctl_sdp_media *m, const struct cdc_format *f, uint8_t pt,
			  int te, const char *te_fmtp);
int ctl_stream_offer(struct ctl_ng_req *r, struct branch *b, struct ctl_sdp *s, unsigned i, const char *proto_b);
int ctl_stream_answer(struct ctl_ng_req *r, struct branch *b, struct ctl_sdp *s, unsigned i);
int ctl_stream_reverse(struct ctl_ng_req *r, struct branch *b, struct ctl_sdp *s, unsigned i, int side);
/* The offer's codec options (ctl_codec_opts.c) for media section i of s,
 * on its way to the answerer; what accept/consume/set ask for is kept in
 * st for the answer. */
int ctl_stream_codec_options(struct ctl_ng_req *r, struct stream *st, struct ctl_sdp *s, struct ctl_sdp_media *m,
			     unsigned i);
/* Drop the stream's transcoders (the worker lets go first). */
void ctl_stream_unhook(struct stream *st);
/* DTMF-security silence/tone: mask in-band DTMF (and drop RFC 4733) in
 * what `side` sends, or stop (CDC_DTMF_MASK_OFF). A transcoded stream's
 * chain from that side does it; a relayed stream gets a same-codec chain on
 * that side's leg while masking is on. The choice is kept and applied again
 * after a re-answer. Returns 0, -ENOTSUP (no known codec yet: applied at the
 * answer), or another -errno. */
int ctl_stream_set_mask(struct stream *st, int side, enum cdc_dtmf_mask mode, unsigned freq);
/* Session-level rewrite of the SDP that announces branch b's side `side`
 * legs (ICE out everywhere; c= and, with replace origin, o= set to those
 * legs' address, or to their interface's when every section is rejected; a
 * session c= added when a section has none). Returns 0, or -1 after the
 * error reply. */
int ctl_session_rewrite(struct ctl_ng_req *r, struct ctl_sdp *s, struct branch *b, int side);
/* Put the rewritten SDP in the reply. */
int ctl_reply_sdp(struct ctl_ng_req *r, const struct ctl_sdp *s);

/* reporting (ctl_call_report.c): the "created", "tags" and "totals" of
 * branch b (all branches when NULL) into the reply */
int ctl_call_report(struct ctl_ng_req *r, struct call *k, struct branch *only);
/* The dataplane's drop counters as a dictionary, reason name (dp_drop_name)
 * -> count, over every reason up to DP_DROP__COUNT: only the non-zero ones
 * (all=false, as query reports each leg) or all of them (statistics).
 * NULL when the arena is full. */
struct ctl_val *ctl_drops_dict(struct ctl_arena *a, const uint64_t *drops, bool all);
/* Add the dataplane's totals to a statistics reply's dict tot: drops by
 * interface ("interfaces": [{name, drops}], non-zero reasons) and the
 * workers' media clock ("media clock": period, tickers, ticks, missed,
 * lateness p50/p99/max in us). */
void ctl_stats_dataplane(struct ctl_arena *a, struct ctl_val *tot);

/* For metrics and alerts (ctl_metrics.c, ctl_alert_run.c): visit every
 * call (not while calls are added or freed); the registry's totals;
 * a leg's estimated MOS as query reports it (ls: its dp_leg_get_stats). */
void ctl_calls_foreach(struct ctl_calls *c, void (*fn)(struct call *k, void *ctx), void *ctx);
void ctl_calls_totals(const struct ctl_calls *c, uint64_t *total, uint64_t *idle_ended, uint64_t *deleted);
double ctl_leg_mos(const struct stream *st, int side, const struct dp_leg_stats *ls);

/* sites: ctl_site.h */

/* DTMF (ctl_call_dtmf.c) */
/* DTMF-security modes besides the dataplane's replacements: */
#define CTL_DTMF_OFF (-2)     /* "off": events flow again (unblock) */
#define CTL_DTMF_SILENCE 100  /* in-band DTMF masked with silence */
#define CTL_DTMF_TONE 101     /* in-band DTMF masked with a tone */
/* The request's DTMF-security (with "digit"/"code" and "frequency"/
 * "frequencies") into *mode: a dp_leg_set_dtmf_block replacement
 * (DP_DTMF_DROP when absent or "drop"; an event 0-15 for "zero" and "DTMF";
 * DP_DTMF_RANDOM), CTL_DTMF_OFF, CTL_DTMF_SILENCE or CTL_DTMF_TONE; *freq
 * is the tone's frequency for CTL_DTMF_TONE (default 400 Hz), else 0.
 * Returns 0, or -EINVAL after an error reply (an unknown mode, a tone
 * outside 100-4000 Hz, "DTMF" without a digit); *mode and *freq are
 * written only on success. Control lcore. */
int ctl_dtmf_security(struct ctl_ng_req *r, int *mode, unsigned *freq);
/* Apply the "block DTMF" flag of an offer (side 0) or answer (side 1) to
 * branch b's legs on that side. Returns 0 or -1 after an error reply. */
int ctl_block_dtmf_flag(struct ctl_ng_req *r, struct branch *b, int side);
/* taps (ctl_call_tap.c; ctx = the registry): "start tap", "stop tap" */
int ctl_cmd_start_tap(struct ctl_ng_req *r, void *ctx);
int ctl_cmd_stop_tap(struct ctl_ng_req *r, void *ctx);
/* Stop the tap of `kind` (enum mx_tap_kind) on party `side`'s media, if
 * any; its final counters into out (may be NULL). (ctl_stream.c) */
void ctl_stream_stop_tap(struct stream *st, int side, int kind, struct ctl_tap_stats *out);
/* The graph that feeds such a tap, or NULL: what the party's leg receives
 * is terminated by xc[side]; what it is sent comes from xc[!side].
 * (ctl_stream.c) */
struct mx_xcode *ctl_stream_tap_graph(struct stream *st, int side, int kind);
/* [media] tap_dir: where taps write; "" when taps are off. */
const char *ctl_calls_tap_dir(const struct ctl_calls *c);
/* [media] play_dir: the files play media may read; "" when none. */
const char *ctl_calls_play_dir(const struct ctl_calls *c);
/* The registry's configuration. */
const struct ctl_calls_conf *ctl_calls_conf(const struct ctl_calls *c);
/* recording (ctl_call_rec.c; ctx = the registry): "start recording",
 * "stop recording", "pause recording" */
int ctl_cmd_start_recording(struct ctl_ng_req *r, void *ctx);
int ctl_cmd_stop_recording(struct ctl_ng_req *r, void *ctx);
int ctl_cmd_pause_recording(struct ctl_ng_req *r, void *ctx);
/* retention (ctl_call_rec.c): "recording hold" / "recording unhold"
 * ("recording-id", "reason"), "recording sweep" ("now" when allowed) */
int ctl_cmd_recording_hold(struct ctl_ng_req *r, void *ctx);
int ctl_cmd_recording_unhold(struct ctl_ng_req *r, void *ctx);
int ctl_cmd_recording_sweep(struct ctl_ng_req *r, void *ctx);
/* After a successful offer or answer of k: the "record call" flag or key
 * (start, or stop for no/off), "metadata", and the recording follows the
 * call's streams. 0, or -1 after an error reply. */
int ctl_rec_signalling(struct ctl_ng_req *r, struct ctl_calls *c, struct call *k);
/* A stream's graph on `side` is about to go (or its PCM tap is wanted by
 * "start tap"): a recording reading it moves to the leg's RTP. */
void ctl_rec_graph_going(struct stream *st, int side);
/* Branch b is about to be freed: the recording lets go of its legs. */
void ctl_rec_branch_going(struct branch *b);
/* Call k is about to be freed: its recording stops and is finalised. */
void ctl_rec_call_going(struct call *k);
/* The answerer's tag, once the answer took it. */
void ctl_rec_refresh_party(struct call *k);
/* About once a second, per call. */
void ctl_rec_tick(struct call *k);
/* query/delete: the call's "recording" dictionary into the reply. */
void ctl_rec_report(struct ctl_ng_req *r, struct call *k);
/* statistics: "recording" counters into tot. */
void ctl_rec_stats(struct ctl_arena *a, struct ctl_val *tot);
/* The recorders' totals, for metrics: write errors are the disk alarm
 * (disk full, unwritable directory), failing the recordings running with
 * one now. Control lcore. */
struct ctl_rec_totals {
	uint64_t active, started, finished, write_errors, failing, overruns;
};
void ctl_rec_totals(struct ctl_rec_totals *t);
/* the DTMF commands (ctl_call_dtmf.c; ctx = the registry) */
int ctl_cmd_block_dtmf(struct ctl_ng_req *r, void *ctx);
int ctl_cmd_unblock_dtmf(struct ctl_ng_req *r, void *ctx);
int ctl_cmd_play_dtmf(struct ctl_ng_req *r, void *ctx);
/* playback (ctl_call_play.c; ctx = the registry): "play media", "stop media" */
int ctl_cmd_play_media(struct ctl_ng_req *r, void *ctx);
int ctl_cmd_stop_media(struct ctl_ng_req *r, void *ctx);
/* Stop the playback to party `side` of st, if any (its legs go back to
 * relaying; nothing waits). */
void ctl_stream_stop_play(struct stream *st, int side);
/* From the registry's timer: playbacks that played to the end are logged
 * ("playback finished") and their legs given back to relaying. */
void ctl_play_tick(void);

/* conference rooms (ctl_room.c; ctx = the call registry) */
struct ctl_rooms *ctl_rooms_create(void);
/* After every call is gone (they leave their rooms as they go). */
void ctl_rooms_destroy(struct ctl_rooms *rs);
/* About once a second: talker events to the log and each room's record. */
void ctl_rooms_tick(struct ctl_rooms *rs, uint64_t now_ms);
/* An offer with a "conference" key: medius answers it for room `name`.
 * The whole command (the call is made, or re-offered). */
int ctl_room_offer(struct ctl_ng_req *r, struct ctl_calls *c, const char *name);
/* The participant on side `side` of st leaves its room (before its leg goes). */
void ctl_room_part_gone(struct stream *st, int side);
int ctl_cmd_create_room(struct ctl_ng_req *r, void *ctx);
int ctl_cmd_destroy_room(struct ctl_ng_req *r, void *ctx);
int ctl_cmd_list_rooms(struct ctl_ng_req *r, void *ctx);
int ctl_cmd_query_room(struct ctl_ng_req *r, void *ctx);
int ctl_cmd_set_participant(struct ctl_ng_req *r, void *ctx);
int ctl_cmd_kick_participant(struct ctl_ng_req *r, void *ctx);
int ctl_cmd_connect(struct ctl_ng_req *r, void *ctx);
/* play media / stop media with a "conference" key (from ctl_call_play.c) */
int ctl_room_play(struct ctl_ng_req *r, struct ctl_calls *c);
/* start / stop / pause recording with a "conference" key: the room's
 * recording (ctl_room.c finds the room; ctl_call_rec.c records). */
enum ctl_rec_what { CTL_REC_START, CTL_REC_STOP, CTL_REC_PAUSE };
int ctl_room_recording(struct ctl_ng_req *r, struct ctl_calls *c, enum ctl_rec_what what);
/* ctl_call_rec.c: a room's recording (its common mix, mono WAV). start
 * replies "recording" (or the error: NULL); stop adds the final
 * "recording" to r's reply (r may be NULL) and frees cr. */
struct ctl_rec *ctl_rec_room_start(struct ctl_ng_req *r, struct ctl_calls *c, const char *name, struct mx_room *mx,
				   uint32_t rate);
void ctl_rec_room_pause(struct ctl_ng_req *r, struct ctl_rec *cr, bool paused);
bool ctl_rec_room_paused(const struct ctl_rec *cr);
void ctl_rec_room_stop(struct ctl_ng_req *r, struct ctl_rec *cr);
void ctl_rec_room_report(struct ctl_ng_req *r, struct ctl_rec *cr);
int ctl_room_stop_play(struct ctl_ng_req *r, struct ctl_calls *c);
/* For the status page and metrics: each room (room(), then part() for each
 * of its participants, with its call and leg, whether it talks now and its
 * level in -dBov as the mixer measured it last). */
struct ctl_room_visit {
	void *ctx;
	void (*room)(void *ctx, const char *name, time_t created, unsigned n_parts);
	void (*part)(void *ctx, const struct call *k, const struct stream *st, int side, const char *tag,
		     bool talking, int level, bool muted);
};
void ctl_rooms_visit(struct ctl_rooms *rs, const struct ctl_room_visit *v);

#endif
