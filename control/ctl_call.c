/* SPDX-License-Identifier: MIT
 * ctl_call: calls, offer/answer and reporting (see ctl_call.h). The ng
 * argument handling and SDP rewriting follow rtpengine's ng protocol;
 * flags medius does not act on are answered with a warning.
 */
#include "ctl_call.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cdc.h"
#include "ctl_alert.h"
#include "ctl_call_int.h"
#include "ctl_guard.h"
#include "ctl_ng_args.h"
#include "ctl_sdp.h"
#include "ctl_val.h"
#include "mx.h"
#include "dp.h"

#define NBUCKETS 4096

struct ctl_calls {
	struct ctl_calls_conf conf;
	struct call *bucket[NBUCKETS];
	struct call *all;       /* every call, newest first: what a tick walks (not 4096 buckets) */
	unsigned count;
	uint64_t total, idle_ended, deleted;
	struct ctl_rooms *rooms;
};

/* ------------------------------------------------------------------ */
/* registry                                                             */

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h % NBUCKETS;
}

static struct call *find(struct ctl_calls *c, const char *id)
{
	for (struct call *k = c->bucket[hash(id)]; k; k = k->next)
		if (!strcmp(k->id, id))
			return k;
	return NULL;
}

/* Free one branch: its transcoders first (they unhook their legs and stop
 * their tickers), then its legs. */
void ctl_branch_free(struct branch *b)
{
	struct call *k = b->call;
	unsigned j = 0;

	ctl_rec_branch_going(b); /* the recording lets go of the legs first */
	for (unsigned i = 0; i < CTL_SDP_MAX_MEDIA; i++) {
		struct stream *st = &b->st[i];

		for (int side = 0; side < 2; side++)
			ctl_room_part_gone(st, side); /* before its leg goes */
		ctl_stream_unhook(st); /* its transcoders and their taps */
		for (int side = 0; side < 2; side++)
			dp_leg_destroy(st->leg[side]);
	}
	for (unsigned i = 0; i < k->n_br; i++)
		if (k->br[i] != b)
			k->br[j++] = k->br[i];
	k->n_br = j;
	free(b);
}

struct call *ctl_call_lookup(struct ctl_calls *c, const char *id) { return find(c, id); }

struct ctl_rooms *ctl_calls_rooms(struct ctl_calls *c) { return c->rooms; }

static void call_free(struct ctl_calls *c, struct call *k)
{
	struct call **pp = &c->bucket[k->bucket]; /* where it was inserted, whatever its id says */

	while (*pp && *pp != k)
		pp = &(*pp)->next;
	if (*pp)
		*pp = k->next;
	if (k->all_prev)
		k->all_prev->all_next = k->all_next;
	else if (c->all == k)
		c->all = k->all_next;
	if (k->all_next)
		k->all_next->all_prev = k->all_prev;
	ctl_rec_call_going(k); /* finalised */
	while (k->n_br)
		ctl_branch_free(k->br[k->n_br - 1]);
	dp_call_destroy(k->dp);
	ctl_guard_call_gone(c->conf.guard, k->limit_src);
	free(k);
	c->count--;
}

const char *ctl_calls_tap_dir(const struct ctl_calls *c) { return c->conf.tap_dir; }
const char *ctl_calls_play_dir(const struct ctl_calls *c) { return c->conf.play_dir; }
const struct ctl_calls_conf *ctl_calls_conf(const struct ctl_calls *c) { return &c->conf; }

void ctl_calls_set_conf(struct ctl_calls *c, const struct ctl_calls_conf *conf)
{
	struct ctl_guard *g = c->conf.guard;

	c->conf = *conf;
	c->conf.guard = g;
}

struct ctl_guard *ctl_calls_guard(const struct ctl_calls *c) { return c->conf.guard; }

struct ctl_calls *ctl_calls_create(const struct ctl_calls_conf *conf)
{
	struct ctl_calls *c = calloc(1, sizeof(*c));

	if (c && !(c->rooms = ctl_rooms_create())) {
		free(c);
		return NULL;
	}
	if (c && conf)
		c->conf = *conf;
	return c;
}

void ctl_call_free(struct ctl_calls *c, struct call *k) { call_free(c, k); }

struct call *ctl_call_add(struct ctl_ng_req *r, struct ctl_calls *c, const char *id, const char *from,
			  const char *shard)
{
	struct ctl_limit_src *held = NULL;
	struct call *k;
	char why[160];

	if (strlen(id) >= sizeof(k->id) || strlen(from) >= sizeof(k->from_tag)) { /* ctl_ng bounds them */
		ctl_ng_error(r, "call-id or from-tag too long");
		return NULL;
	}
	if (ctl_guard_call_add(c->conf.guard, ctl_ng_peer(r), &held, why, sizeof(why))) {
		ctl_ng_error(r, "%s", why); /* max_calls, max_calls_per_source */
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	errno = 0;
	if (!k || !(k->dp = dp_call_create_in(id, shard))) {
		int e = !k || errno == ENOMEM ? -ENOMEM : -ENODEV;

		free(k);
		ctl_guard_call_gone(c->conf.guard, held);
		ctl_ng_error_rc(r, e, e == -ENOMEM ? "cannot create the call" : "Cannot create the call (no worker lcore running?)");
		return NULL;
	}
	k->limit_src = held;
	strcpy(k->id, id);
	strcpy(k->from_tag, from);
	k->created = time(NULL);
	k->bucket = hash(k->id);
	k->next = c->bucket[k->bucket];
	c->bucket[k->bucket] = k;
	k->all_next = c->all;
	if (c->all)
		c->all->all_prev = k;
	c->all = k;
	c->count++;
	c->total++;
	return k;
}

void ctl_calls_destroy(struct ctl_calls *c)
{
	if (!c)
		return;
	while (c->all)
		call_free(c, c->all);
	ctl_rooms_destroy(c->rooms);
	free(c);
}

unsigned ctl_calls_count(const struct ctl_calls *c) { return c->count; }

void ctl_calls_foreach(struct ctl_calls *c, void (*fn)(struct call *k, void *ctx), void *ctx)
{
	for (unsigned b = 0; b < NBUCKETS; b++)
		for (struct call *k = c->bucket[b]; k; k = k->next)
			fn(k, ctx);
}

void ctl_calls_totals(const struct ctl_calls *c, uint64_t *total, uint64_t *idle_ended, uint64_t *deleted)
{
	*total = c->total;
	*idle_ended = c->idle_ended;
	*deleted = c->deleted;
}

static uint64_t call_packets(const struct call *k)
{
	uint64_t n = 0;
	struct dp_leg_stats st;

	for (unsigned b = 0; b < k->n_br; b++)
		for (unsigned i = 0; i < k->br[b]->n; i++)
			for (int s = 0; s < 2; s++)
				if (k->br[b]->st[i].leg[s] && !dp_leg_get_stats(k->br[b]->st[i].leg[s], &st))
					n += st.rtp_packets + st.rtcp_packets;
	return n;
}

void ctl_calls_tick(struct ctl_calls *c, uint64_t now_ms)
{
	ctl_rooms_tick(c->rooms, now_ms);
	ctl_play_tick(); /* playbacks that ended: relaying again */
	for (struct call *k = c->all, *next; k; k = next) {
		uint64_t pk;

		next = k->all_next;
		if (k->delete_at_ms && now_ms >= k->delete_at_ms) {
			call_free(c, k);
			continue;
		}
		ctl_rec_tick(k);
		pk = call_packets(k);
		if (pk != k->last_packets || !k->last_change_ms) {
			k->last_packets = pk;
			k->last_change_ms = now_ms;
		} else if (c->conf.idle_timeout_s &&
			   now_ms - k->last_change_ms >= (uint64_t)c->conf.idle_timeout_s * 1000u) {
			dp_log(DP_LOG_NOTICE, "call", "call %s: no media for %u s, ending it", k->id,
			       c->conf.idle_timeout_s);
			c->idle_ended++;
			call_free(c, k);
		}
	}
}

/* ------------------------------------------------------------------ */
/* ng arguments                                                         */

/* offer and answer: call-id, from-tag and SDP are required. Returns 0, or
 * -1 after the error reply. */
static int sdp_args(struct ctl_ng_req *r, const char **id, const char **from, const char **sdp)
{
	*id = ctl_arg_str(r, "call-id");
	*from = ctl_arg_str(r, "from-tag");
	*sdp = ctl_arg_str(r, "sdp");
	if (!*id || !**id)
		return ctl_ng_error(r, "No call-id in message");
	if (!*from || !**from)
		return ctl_ng_error(r, "No from-tag in message");
	if (!*sdp)
		return ctl_ng_error(r, "No SDP body in message");
	return 0;
}

/* The call the request's call-id names; NULL after the error reply. */
struct call *ctl_find_call(struct ctl_ng_req *r, struct ctl_calls *c, const char *unknown)
{
	const char *id = ctl_arg_str(r, "call-id");
	struct call *k;

	if (!id || !*id) {
		ctl_ng_error(r, "No call-id in message");
		return NULL;
	}
	k = find(c, id);
	if (!k)
		ctl_ng_error(r, "%s", unknown);
	return k;
}

static const char *const offer_flags[] = {
	"trust address", "symmetric", "asymmetric", "strict source", "record call", "SIP source address",
	"port latching", "no rtcp attribute", "full rtcp attribute", "loop protect", "reset", "unidirectional",
	"media handover", "always transcode", "inject DTMF", "block DTMF", "new branch", "provisional",
	"detect DTMF", NULL,
};

/* Flags medius knows but does not act on yet: a warning that says so. */
static void warn_unsupported(struct ctl_ng_req *r)
{
	static const char *const flags[] = { "detect DTMF", NULL };
	static const char *const keys[] = { "DTMF-delay", "delay-buffer", "DTMF-log-dest", "trigger",
					    "DTMF-security-trigger", NULL };

	for (unsigned i = 0; flags[i]; i++)
		if (ctl_has_flag(r, "flags", flags[i]))
			ctl_ng_warning(r, "'%s' is not supported yet: ignored", flags[i]);
	for (unsigned i = 0; keys[i]; i++)
		if (ctl_dict_get(ctl_ng_args(r), keys[i]))
			ctl_ng_warning(r, "'%s' is not supported yet: ignored", keys[i]);
}

/* What offer and answer do before anything changes: warn about flags,
 * fold the offer's codec flags, check DTMF-security, parse the SDP into s.
 * Returns 0, or -1 after the error reply. */
static int read_sdp(struct ctl_ng_req *r, const char *sdp, struct ctl_sdp *s, bool offer)
{
	char err[160];
	int rc;

	ctl_warn_unknown_flags(r, offer_flags);
	warn_unsupported(r);
	if (offer && ctl_fold_codec_flags(r))
		return -1;
	if (ctl_has_flag(r, "flags", "block DTMF") && ctl_dtmf_security(r, &(int){ 0 }, &(unsigned){ 0 }))
		return -1;
	rc = ctl_sdp_parse(sdp, strlen(sdp), s, err, sizeof(err));
	if (rc == -ENOMEM)
		return ctl_ng_error_rc(r, rc, "cannot parse the SDP");
	if (rc)
		return ctl_ng_error(r, "Failed to parse SDP: %s", err);
	return 0;
}

/* ------------------------------------------------------------------ */
/* branches                                                             */

bool ctl_branch_has_tag(const struct branch *b, const char *tag)
{
	if (!strcmp(b->to_tag, tag))
		return true;
	for (unsigned i = 0; i < CTL_MAX_ALIASES; i++)
		if (b->alias[i][0] && !strcmp(b->alias[i], tag))
			return true;
	return false;
}

struct branch *ctl_branch_by_tag(struct call *k, const char *tag)
{
	if (!tag || !*tag)
		return NULL;
	for (unsigned i = 0; i < k->n_br; i++)
		if (ctl_branch_has_tag(k->br[i], tag))
			return k->br[i];
	return NULL;
}

struct branch *ctl_party_branch(struct call *k, const char *tag, int *side)
{
	*side = strcmp(tag, k->from_tag) != 0;
	return *side ? ctl_branch_by_tag(k, tag) : ctl_branch_newest(k, false);
}

static struct branch *branch_by_via(struct call *k, const char *via)
{
	for (unsigned i = 0; via && *via && i < k->n_br; i++)
		if (!strcmp(k->br[i]->via, via))
			return k->br[i];
	return NULL;
}

/* The branch touched last: the one a request without tags or via-branch
 * means. */
struct branch *ctl_branch_newest(struct call *k, bool unanswered_only)
{
	struct branch *best = NULL;

	for (unsigned i = 0; i < k->n_br; i++)
		if ((!unanswered_only || !k->br[i]->to_tag[0]) && (!best || k->br[i]->seq > best->seq))
			best = k->br[i];
	return best;
}

struct branch *ctl_branch_add(struct ctl_ng_req *r, struct call *k, const char *via)
{
	struct branch *b;

	if (k->n_br >= CTL_MAX_BRANCHES) {
		ctl_ng_error(r, "The call already has %u branches", CTL_MAX_BRANCHES);
		return NULL;
	}
	for (unsigned i = 0; i < 2; i++) {
		const char *ifn = ctl_arg_list_str(r, "direction", i);

		if (ifn && strlen(ifn) >= sizeof(b->iface[0])) { /* no interface has such a name */
			ctl_ng_error(r, "Unknown interface in direction: a name of %zu bytes (at most %zu)", strlen(ifn),
				     sizeof(b->iface[0]) - 1);
			return NULL;
		}
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		ctl_ng_error_rc(r, -ENOMEM, "cannot create the call's branch");
		return NULL;
	}
	b->call = k;
	snprintf(b->via, sizeof(b->via), "%s", via ? via : ""); /* via: at most CTL_NG_MAX_TAG (ctl_ng) */
	for (int i = 0; i < 2; i++) {
		const char *ifn = ctl_arg_list_str(r, "direction", (unsigned)i);

		snprintf(b->iface[i], sizeof(b->iface[i]), "%s", ifn ? ifn : ""); /* checked above */
	}
	k->br[k->n_br++] = b;
	return b;
}

/* Both halves of a reverse exchange (the answerer re-offers, the offerer
 * answers it): rewrite every section, then the session, and reply with the
 * SDP for the other side. */
static int reverse_sdp(struct ctl_ng_req *r, struct branch *b, struct ctl_sdp *s, int side)
{
	int rc = 0;

	if (s->n_media != b->n)
		return ctl_ng_error(r, "The SDP has %u media sections, the call has %u", s->n_media, b->n);
	for (unsigned i = 0; i < s->n_media && !rc; i++)
		rc = ctl_stream_reverse(r, b, s, i, side);
	if (!rc)
		rc = ctl_session_rewrite(r, s, b, 1 - side);
	if (!rc)
		rc = ctl_reply_sdp(r, s);
	if (!rc)
		b->call->last_signal = time(NULL);
	return rc;
}

/* Which branch an offer from the offerer is for: the one its to-tag names
 * (an in-dialog re-INVITE), or its via-branch names; a new branch for a
 * new via-branch (a fork); otherwise the newest (a re-offer). NULL with
 * *fresh when a new branch is needed. */
static struct branch *offer_branch(struct call *k, const char *to, const char *via)
{
	struct branch *b = ctl_branch_by_tag(k, to);

	if (!b)
		b = branch_by_via(k, via);
	if (!b && !(via && *via && k->n_br && k->br[0]->via[0]))
		b = ctl_branch_newest(k, false); /* no via-branch in play: a re-offer */
	if (b && !b->via[0] && via)
		snprintf(b->via, sizeof(b->via), "%s", via);
	return b;
}

/* A request that failed for want of memory (ctl_ng_error_rc) is logged,
 * rate-limited: the operator sees the pressure before calls are lost. */
static uint64_t nomem_count(const struct ctl_ng_req *r)
{
	struct ctl_ng_stats ns;

	ctl_ng_req_stats(r, &ns);
	return ns.nomem;
}

static int nomem_note(struct ctl_ng_req *r, int rc, uint64_t before, const char *cmd)
{
	uint64_t n = nomem_count(r);

	if (rc && n != before)
		DP_LOG_RL(DP_LOG_WARNING, "call", "%s failed for want of memory; the calls already up carry on "
			  "(%llu request(s) failed so far)", cmd, (unsigned long long)n);
	return rc;
}

static int do_offer(struct ctl_ng_req *r, void *ctx);
static int do_answer(struct ctl_ng_req *r, void *ctx);

static int cmd_offer(struct ctl_ng_req *r, void *ctx)
{
	uint64_t n = nomem_count(r);

	return nomem_note(r, do_offer(r, ctx), n, "offer");
}

static int cmd_answer(struct ctl_ng_req *r, void *ctx)
{
	uint64_t n = nomem_count(r);

	return nomem_note(r, do_answer(r, ctx), n, "answer");
}

static int do_offer(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_calls *c = ctx;
	const char *id, *from, *sdp;
	const char *proto_b = ctl_arg_str(r, "transport-protocol"), *ice = ctl_arg_str(r, "ICE");
	const char *to = ctl_arg_str(r, "to-tag"), *via = ctl_arg_str(r, "via-branch");
	struct ctl_sdp s;
	struct call *k;
	struct branch *b = NULL;
	bool fresh = false, fresh_b = false;
	int rc = 0;

	if (sdp_args(r, &id, &from, &sdp))
		return -1;
	if (ctl_dict_get(ctl_ng_args(r), "conference")) {
		const char *room = ctl_arg_str(r, "conference");

		if (!room || !*room)
			return ctl_ng_error(r, "conference: the room's name must be a non-empty string");
		int rc2 = ctl_room_offer(r, c, room);
		struct call *kc = rc2 ? NULL : find(c, id);

		if (kc)
			ctl_site_signalling(r, kc, kc->n_br ? kc->br[0] : NULL, 0);
		return rc2;
	}
	if (proto_b && strcmp(proto_b, "RTP/AVP") && strcmp(proto_b, "RTP/SAVP") && strcmp(proto_b, "RTP/AVPF") &&
	    strcmp(proto_b, "RTP/SAVPF"))
		return ctl_ng_error(r, "Unsupported transport-protocol '%s'", proto_b);
	if (ice && strcasecmp(ice, "remove"))
		ctl_ng_warning(r, "ICE '%s' is not supported: ICE is removed", ice);
	if (read_sdp(r, sdp, &s, true))
		return -1;

	k = find(c, id);
	if (k && k->conference) {
		ctl_sdp_free(&s);
		return ctl_ng_error(r, "Call-ID '%s' is a conference participant: re-offer it with its conference key", id);
	}
	if (k && strcmp(k->from_tag, from)) {
		b = ctl_branch_by_tag(k, from);
		if (!b) {
			ctl_sdp_free(&s);
			return ctl_ng_error(r, "Unknown from-tag '%s' for this call", from);
		}
		rc = reverse_sdp(r, b, &s, 1); /* a re-INVITE from the answerer */
		b->reverse_pending = rc == 0;
		ctl_sdp_free(&s);
		return rc;
	}
	if (!k) {
		k = ctl_call_add(r, c, id, from, NULL);
		if (!k) {
			ctl_sdp_free(&s);
			return -1;
		}
		fresh = true;
	} else {
		b = offer_branch(k, to, via);
	}
	if (!b) {
		b = ctl_branch_add(r, k, via);
		if (!b) {
			rc = -1;
			goto out;
		}
		fresh_b = true;
	}
	b->leg_flags = (ctl_has_flag(r, "flags", "strict source") ? DP_LEG_STRICT_SOURCE : 0u) |
		       (ctl_has_flag(r, "flags", "asymmetric") ? DP_LEG_ASYMMETRIC : 0u);
	b->seq = ++k->seq;
	k->last_signal = time(NULL);
	k->delete_at_ms = 0;
	if (s.n_media < b->n) {
		rc = ctl_ng_error(r, "A re-offer may not remove media sections");
		goto out;
	}
	for (unsigned i = 0; i < s.n_media && !rc; i++)
		rc = ctl_stream_offer(r, b, &s, i, proto_b);
	if (!rc) {
		b->n = s.n_media;
		for (unsigned i = 0; i < b->n; i++)
			if (b->st[i].active) {
				dp_leg_set_flags(b->st[i].leg[0], b->leg_flags);
				dp_leg_set_flags(b->st[i].leg[1], b->leg_flags);
				break;
			}
		rc = ctl_session_rewrite(r, &s, b, 1);
		if (!rc)
			rc = ctl_block_dtmf_flag(r, b, 0);
		if (!rc)
			ctl_site_signalling(r, k, b, 0);
		if (!rc)
			rc = ctl_rec_signalling(r, c, k);
		if (!rc)
			rc = ctl_reply_sdp(r, &s);
	}
out:
	ctl_sdp_free(&s);
	if (rc && fresh)
		call_free(c, k);
	else if (rc && fresh_b)
		ctl_branch_free(b);
	return rc;
}

/* Which branch an answer (to-tag `to`) completes: the one already answered
 * with that tag (a 200 after a 183), the one its via-branch names, the
 * newest not answered yet; or else the newest, which then takes `to` as its
 * tag and keeps the old one as an alias (a fork answering the same offer:
 * its media arrives on the same ports, so the latest answer sets where the
 * media goes). */
static struct branch *answer_branch(struct call *k, const char *to, const char *via)
{
	struct branch *b = ctl_branch_by_tag(k, to);

	if (!b)
		b = branch_by_via(k, via);
	if (!b)
		b = ctl_branch_newest(k, true);
	if (!b)
		b = ctl_branch_newest(k, false);
	if (b && to && *to && b->to_tag[0] && !ctl_branch_has_tag(b, to)) {
		memmove(b->alias[1], b->alias[0], sizeof(b->alias) - sizeof(b->alias[0]));
		snprintf(b->alias[0], sizeof(b->alias[0]), "%s", b->to_tag);
	}
	return b;
}

static int do_answer(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_calls *c = ctx;
	const char *id, *from, *sdp, *to = ctl_arg_str(r, "to-tag"), *via = ctl_arg_str(r, "via-branch");
	struct ctl_sdp s;
	struct call *k;
	struct branch *b;
	int rc = 0;

	if (sdp_args(r, &id, &from, &sdp))
		return -1;
	k = ctl_find_call(r, c, "Unknown call-id");
	if (!k)
		return -1;
	if (k->conference)
		return ctl_ng_error(r, "Call-ID '%s' is a conference participant: medius answered its offer itself", id);
	b = strcmp(k->from_tag, from) ? ctl_branch_by_tag(k, from) : NULL;
	if (strcmp(k->from_tag, from) && !(b && b->reverse_pending))
		return ctl_ng_error(r, "Unknown from-tag for this call");
	if (read_sdp(r, sdp, &s, false))
		return -1;
	if (b) { /* the offerer answers the answerer's re-offer */
		rc = reverse_sdp(r, b, &s, 0);
		b->reverse_pending = rc != 0;
		ctl_sdp_free(&s);
		return rc;
	}
	b = answer_branch(k, to, via);
	if (!b || s.n_media != b->n) {
		ctl_sdp_free(&s);
		return ctl_ng_error(r, "The answer has %u media sections, the offer had %u", s.n_media, b ? b->n : 0);
	}
	for (unsigned i = 0; i < s.n_media && !rc; i++)
		rc = ctl_stream_answer(r, b, &s, i);
	if (!rc) {
		rc = ctl_session_rewrite(r, &s, b, 0);
		if (!rc)
			rc = ctl_block_dtmf_flag(r, b, 1);
		if (!rc)
			ctl_site_signalling(r, k, b, 1);
		if (!rc)
			rc = ctl_rec_signalling(r, c, k);
		if (!rc)
			rc = ctl_reply_sdp(r, &s);
	}
	if (!rc) {
		snprintf(b->to_tag, sizeof(b->to_tag), "%s", to ? to : "");
		b->seq = ++k->seq;
		k->last_signal = time(NULL);
		ctl_rec_refresh_party(k);
	}
	ctl_sdp_free(&s);
	return rc;
}

/* delete: the whole call, unless it is forked and the request names one
 * branch, by via-branch or (with the "to-tag" flag, as rtpengine asks) by
 * to-tag: then that branch alone, and the call when it was the last. An
 * unknown call is a warning, or an error with the "fatal" flag. */
static int cmd_delete(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_calls *c = ctx;
	const struct ctl_val *delay = ctl_dict_get(ctl_ng_args(r), "delete-delay");
	const char *id = ctl_arg_str(r, "call-id"), *via = ctl_arg_str(r, "via-branch");
	struct call *k = id && *id ? find(c, id) : NULL;
	struct branch *b = NULL;
	int rc;

	if (!id || !*id)
		return ctl_ng_error(r, "No call-id in message");
	if (!k) {
		if (ctl_has_flag(r, "flags", "fatal"))
			return ctl_ng_error(r, "Call-ID not found or tags didn't match");
		ctl_ng_warning(r, "Call-ID not found or tags didn't match");
		return 0;
	}
	b = branch_by_via(k, via);
	if (!b && ctl_has_flag(r, "flags", "to-tag"))
		b = ctl_branch_by_tag(k, ctl_arg_str(r, "to-tag"));
	if (b && k->n_br > 1) {
		rc = ctl_call_report(r, k, b);
		ctl_branch_free(b);
		k->last_signal = time(NULL);
		return rc;
	}
	rc = ctl_call_report(r, k, NULL);
	if (delay && delay->type == CTL_V_INT && delay->u.i > 0) {
		k->delete_at_ms = ctl_ng_now_ms(r) + (uint64_t)delay->u.i * 1000u;
	} else {
		call_free(c, k);
	}
	c->deleted++;
	return rc;
}

static int cmd_query(struct ctl_ng_req *r, void *ctx)
{
	struct call *k = ctl_find_call(r, ctx, "Unknown call-id");

	return k ? ctl_call_report(r, k, NULL) : -1;
}

static int cmd_list(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_calls *c = ctx;
	const struct ctl_val *lim = ctl_dict_get(ctl_ng_args(r), "limit");
	int64_t limit = lim && lim->type == CTL_V_INT ? lim->u.i : 32;
	struct ctl_val *l = ctl_val_list(ctl_ng_arena(r));

	if (!l)
		return ctl_ng_error(r, "Reply too large");
	for (unsigned b = 0; b < NBUCKETS && limit > 0; b++)
		for (struct call *k = c->bucket[b]; k && limit > 0; k = k->next, limit--)
			ctl_list_append(l, ctl_val_strdup(ctl_ng_arena(r), k->id, strlen(k->id)));
	ctl_dict_add(ctl_ng_reply(r), "calls", 5, l);
	return 0;
}

static int cmd_statistics(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_calls *c = ctx;
	struct ctl_arena *a = ctl_ng_arena(r);
	struct ctl_val *st = ctl_val_dict(a), *cur = ctl_val_dict(a), *tot = ctl_val_dict(a);
	struct dp_lcore_stats ls;
	uint64_t drops = 0;

	if (!st || !cur || !tot)
		return ctl_ng_error(r, "Reply too large");
	dp_lcore_get_stats(-1, &ls);
	for (int i = 1; i < DP_DROP__COUNT; i++)
		drops += ls.drops[i];
	ctl_dict_add_int(a, cur, "sessionsown", c->count);
	ctl_dict_add_int(a, cur, "sessionsforeign", 0);
	ctl_dict_add_int(a, cur, "sessionstotal", c->count);
	ctl_dict_add_int(a, tot, "managedsessions", (int64_t)c->total);
	ctl_dict_add_int(a, tot, "timeoutsessions", (int64_t)c->idle_ended);
	ctl_dict_add_int(a, tot, "deletedsessions", (int64_t)c->deleted);
	ctl_dict_add_int(a, tot, "packetsrelayed", (int64_t)ls.tx_packets);
	ctl_dict_add_int(a, tot, "bytesrelayed", (int64_t)ls.tx_bytes);
	ctl_dict_add_int(a, tot, "packetsreceived", (int64_t)ls.rx_packets);
	ctl_dict_add_int(a, tot, "errors", (int64_t)drops);
	ctl_dict_add(tot, "drops", 5, ctl_drops_dict(a, ls.drops, true)); /* errors by reason */
	/* busy-polling workers (ethdev): loop time, and the part that did work */
	ctl_dict_add_int(a, tot, "poll us", (int64_t)(ls.poll_ns / 1000));
	ctl_dict_add_int(a, tot, "poll busy us", (int64_t)(ls.poll_busy_ns / 1000));
	ctl_dict_add_int(a, tot, "poll long turns", (int64_t)ls.poll_long_turns);
	ctl_stats_dataplane(a, tot);
	ctl_rec_stats(a, tot);
	if (c->conf.guard) { /* "control security": refusals, limits, exposure */
		struct ctl_ng_stats ns;

		ctl_ng_req_stats(r, &ns);
		ctl_guard_stats(c->conf.guard, a, tot, ns.nomem);
	}
	ctl_dict_add(st, "currentstatistics", 17, cur);
	ctl_dict_add(st, "totalstatistics", 15, tot);
	ctl_dict_add(ctl_ng_reply(r), "statistics", 10, st);
	return 0;
}

static int cmd_not_yet(struct ctl_ng_req *r, void *ctx)
{
	const struct ctl_val *cmd = ctl_dict_get(ctl_ng_args(r), "command");

	(void)ctx;
	return ctl_ng_error(r, "'%.*s' is not supported yet", (int)cmd->u.s.len, cmd->u.s.p);
}

/* The memory budget (control.max_memory_mb) covers every request that
 * makes something new, not only calls: over it, a recording, a played
 * file, a tap, a room or a connect is refused with the offer's words, and
 * what is up keeps its media. Allocation failures inside them are noted as
 * an offer's are. */
static int gated(struct ctl_ng_req *r, void *ctx, int (*fn)(struct ctl_ng_req *, void *), const char *cmd,
		 const char *what)
{
	struct ctl_calls *c = ctx;
	uint64_t n = nomem_count(r);
	char why[192];

	if (ctl_guard_memory(c->conf.guard, ctl_ng_peer(r), what, why, sizeof(why)))
		return ctl_ng_error(r, "%s", why);
	return nomem_note(r, fn(r, ctx), n, cmd);
}

#define GATED(name, fn, cmd, what) \
	static int name(struct ctl_ng_req *r, void *ctx) { return gated(r, ctx, fn, cmd, what); }
GATED(cmd_start_recording, ctl_cmd_start_recording, "start recording", "recording")
GATED(cmd_play_media, ctl_cmd_play_media, "play media", "playback")
GATED(cmd_start_tap, ctl_cmd_start_tap, "start tap", "tap")
GATED(cmd_create_room, ctl_cmd_create_room, "create room", "room")
GATED(cmd_connect, ctl_cmd_connect, "connect", "connect")

static const struct ctl_ng_cmd commands[] = {
	{ "offer", cmd_offer },
	{ "answer", cmd_answer },
	{ "delete", cmd_delete },
	{ "query", cmd_query },
	{ "list", cmd_list },
	{ "statistics", cmd_statistics },
	{ "start recording", cmd_start_recording },
	{ "stop recording", ctl_cmd_stop_recording },
	{ "pause recording", ctl_cmd_pause_recording },
	{ "recording hold", ctl_cmd_recording_hold },
	{ "recording unhold", ctl_cmd_recording_unhold },
	{ "recording sweep", ctl_cmd_recording_sweep },
	{ "play media", cmd_play_media },
	{ "stop media", ctl_cmd_stop_media },
	{ "block DTMF", ctl_cmd_block_dtmf },
	{ "unblock DTMF", ctl_cmd_unblock_dtmf },
	{ "play DTMF", ctl_cmd_play_dtmf },
	{ "start tap", cmd_start_tap },
	{ "stop tap", ctl_cmd_stop_tap },
	{ "block media", cmd_not_yet },
	{ "unblock media", cmd_not_yet },
	{ "create room", cmd_create_room },
	{ "destroy room", ctl_cmd_destroy_room },
	{ "list rooms", ctl_cmd_list_rooms },
	{ "query room", ctl_cmd_query_room },
	{ "set participant", ctl_cmd_set_participant },
	{ "kick participant", ctl_cmd_kick_participant },
	{ "connect", cmd_connect },
	{ "alerts", ctl_cmd_alerts },
};

const struct ctl_ng_cmd *ctl_calls_commands(size_t *n)
{
	*n = sizeof(commands) / sizeof(commands[0]);
	return commands;
}
