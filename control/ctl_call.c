/* SPDX-License-Identifier: MIT
 * ctl_call: calls, offer/answer and reporting (see ctl_call.h). The ng
 * argument handling and SDP rewriting follow rtpengine's ng protocol;
 * flags medius does not act on are answered with a warning.
 */
#include "ctl_call.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cdc.h"
#include "ctl_addr.h"
#include "ctl_quality.h"
#include "ctl_sdp.h"
#include "ctl_val.h"
#include "ctl_xcode.h"
#include "dp.h"

#define NBUCKETS 4096

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
	struct ctl_xcode *xc[2];   /* [0] on leg[0] (offerer -> answerer), [1] the other way */
};

struct call {
	char id[256], from_tag[128], to_tag[128];
	struct dp_call *dp;
	struct stream st[CTL_SDP_MAX_MEDIA];
	unsigned n;
	unsigned leg_flags;
	char iface[2][32];
	time_t created, last_signal;
	uint64_t delete_at_ms;    /* 0: not scheduled */
	bool reverse_pending;     /* the answerer re-offered; its answer is due */
	uint64_t last_packets, last_change_ms;
	struct call *next;
};

struct ctl_calls {
	struct ctl_calls_conf conf;
	struct call *bucket[NBUCKETS];
	unsigned count;
	uint64_t total, idle_ended, deleted;
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

static void call_free(struct ctl_calls *c, struct call *k)
{
	struct call **pp = &c->bucket[hash(k->id)];

	while (*pp && *pp != k)
		pp = &(*pp)->next;
	if (*pp)
		*pp = k->next;
	dp_call_destroy(k->dp); /* destroys the legs: no worker runs a hook after this */
	for (unsigned i = 0; i < CTL_SDP_MAX_MEDIA; i++) {
		ctl_xcode_destroy(k->st[i].xc[0]);
		ctl_xcode_destroy(k->st[i].xc[1]);
	}
	free(k);
	c->count--;
}

struct ctl_calls *ctl_calls_create(const struct ctl_calls_conf *conf)
{
	struct ctl_calls *c = calloc(1, sizeof(*c));

	if (c && conf)
		c->conf = *conf;
	return c;
}

void ctl_calls_destroy(struct ctl_calls *c)
{
	if (!c)
		return;
	for (unsigned b = 0; b < NBUCKETS; b++)
		while (c->bucket[b])
			call_free(c, c->bucket[b]);
	free(c);
}

unsigned ctl_calls_count(const struct ctl_calls *c) { return c->count; }

static uint64_t call_packets(const struct call *k)
{
	uint64_t n = 0;
	struct dp_leg_stats st;

	for (unsigned i = 0; i < k->n; i++)
		for (int s = 0; s < 2; s++)
			if (k->st[i].leg[s] && !dp_leg_get_stats(k->st[i].leg[s], &st))
				n += st.rtp_packets + st.rtcp_packets;
	return n;
}

void ctl_calls_tick(struct ctl_calls *c, uint64_t now_ms)
{
	for (unsigned b = 0; b < NBUCKETS; b++) {
		struct call *k = c->bucket[b], *next;

		for (; k; k = next) {
			uint64_t pk;

			next = k->next;
			if (k->delete_at_ms && now_ms >= k->delete_at_ms) {
				call_free(c, k);
				continue;
			}
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
}

/* ------------------------------------------------------------------ */
/* ng arguments                                                         */

/* A string argument as a NUL-terminated copy in the request arena. */
static const char *arg_str(struct ctl_ng_req *r, const char *key)
{
	const struct ctl_val *v = ctl_dict_get(ctl_ng_args(r), key);
	char *s;

	if (!v || v->type != CTL_V_STR)
		return NULL;
	s = ctl_arena_alloc(ctl_ng_arena(r), v->u.s.len + 1);
	if (!s)
		return NULL;
	memcpy(s, v->u.s.p, v->u.s.len);
	s[v->u.s.len] = '\0';
	return strlen(s) == v->u.s.len ? s : NULL; /* no NUL inside */
}

/* offer and answer: call-id, from-tag and SDP are required. Returns 0, or
 * -1 after the error reply. */
static int sdp_args(struct ctl_ng_req *r, const char **id, const char **from, const char **sdp)
{
	*id = arg_str(r, "call-id");
	*from = arg_str(r, "from-tag");
	*sdp = arg_str(r, "sdp");
	if (!*id || !**id)
		return ctl_ng_error(r, "No call-id in message");
	if (!*from || !**from)
		return ctl_ng_error(r, "No from-tag in message");
	if (!*sdp)
		return ctl_ng_error(r, "No SDP body in message");
	return 0;
}

/* The call the request's call-id names; NULL after the error reply. */
static struct call *find_call(struct ctl_ng_req *r, struct ctl_calls *c, const char *unknown)
{
	const char *id = arg_str(r, "call-id");
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

/* Is `flag` (rtpengine spells flags with spaces or dashes, any case) in the
 * list under key? Matching entries are marked used in `used`. */
static bool norm_eq(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen && b[i]; i++) {
		char x = a[i] == '-' || a[i] == '_' ? ' ' : (char)tolower((unsigned char)a[i]);
		char y = b[i] == '-' || b[i] == '_' ? ' ' : (char)tolower((unsigned char)b[i]);

		if (x != y)
			return false;
	}
	return i == alen && !b[i];
}

static bool has_flag(struct ctl_ng_req *r, const char *key, const char *flag)
{
	const struct ctl_val *l = ctl_dict_get(ctl_ng_args(r), key);

	if (!l || l->type != CTL_V_LIST)
		return false;
	for (const struct ctl_val *v = l->u.c.head; v; v = v->next)
		if (v->type == CTL_V_STR && norm_eq(v->u.s.p, v->u.s.len, flag))
			return true;
	return false;
}

/* Warn about every flag medius does not know, as rtpengine does. */
static void warn_unknown_flags(struct ctl_ng_req *r, const char *const known[])
{
	const struct ctl_val *l = ctl_dict_get(ctl_ng_args(r), "flags");

	if (!l || l->type != CTL_V_LIST)
		return;
	for (const struct ctl_val *v = l->u.c.head; v; v = v->next) {
		bool ok = false;

		if (v->type != CTL_V_STR)
			continue;
		for (unsigned i = 0; known[i] && !ok; i++)
			ok = norm_eq(v->u.s.p, v->u.s.len, known[i]);
		if (!ok)
			ctl_ng_warning(r, "Unknown flag encountered: '%.*s'", (int)v->u.s.len, v->u.s.p);
	}
}

static const char *const offer_flags[] = {
	"trust address", "symmetric", "asymmetric", "strict source", "record call", "SIP source address",
	"port latching", "no rtcp attribute", "full rtcp attribute", "loop protect", "reset", "unidirectional",
	"media handover", NULL,
};

/* ------------------------------------------------------------------ */
/* SDP helpers                                                          */

static int sockaddr_of(const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		return 0;
	}
	return -EINVAL;
}

static bool is_null_addr(const char *a) { return !strcmp(a, "0.0.0.0") || !strcmp(a, "::"); }

/* Point leg at what media section m of s says (c=, port, a=rtcp). */
static int set_remote_from(struct dp_leg *leg, const struct ctl_sdp *s, const struct ctl_sdp_media *m)
{
	const struct ctl_sdp_conn *c = ctl_sdp_media_conn(s, m);
	struct sockaddr_storage rtp, rtcp;
	int ai = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_RTCP, 0);
	bool mux = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_RTCP_MUX, 0) >= 0;

	if (!c || !c->present || is_null_addr(c->addr))
		return 0; /* on hold or no address: keep latching */
	if (sockaddr_of(c->addr, m->port, &rtp))
		return -EINVAL;
	rtcp = rtp;
	if (mux) {
		/* RTCP on the RTP port */
	} else if (ai >= 0) {
		const struct ctl_sdp_attr *a = &m->attrs.v[ai];

		if (sockaddr_of(a->u.rtcp.addr ? a->u.rtcp.addr : c->addr, a->u.rtcp.port, &rtcp))
			return -EINVAL;
	} else {
		struct sockaddr_in *p4 = (struct sockaddr_in *)&rtcp;
		struct sockaddr_in6 *p6 = (struct sockaddr_in6 *)&rtcp;

		if (rtcp.ss_family == AF_INET)
			p4->sin_port = htons((uint16_t)(m->port + 1));
		else
			p6->sin6_port = htons((uint16_t)(m->port + 1));
	}
	return dp_leg_set_remote(leg, (struct sockaddr *)&rtp, (struct sockaddr *)&rtcp);
}

/* Rewrite m to point at our leg: c=, port, a=rtcp. */
static int point_at(struct ctl_sdp *s, struct ctl_sdp_media *m, struct dp_leg *leg, bool full_rtcp,
		    bool no_rtcp)
{
	struct dp_leg_local loc;
	int rc;

	dp_leg_local(leg, &loc);
	rc = ctl_sdp_media_set_conn(s, m, loc.address, loc.rtp_port);
	if (!rc && !no_rtcp)
		rc = ctl_sdp_media_set_rtcp(s, m, loc.rtcp_port, full_rtcp ? loc.address : NULL);
	if (!rc && no_rtcp)
		ctl_sdp_media_remove_rtcp(s, m);
	return rc;
}

static bool proto_srtp(const char *proto) { return strstr(proto, "SAVP") != NULL; }

/* The first a=crypto of m medius can use. */
static const struct dp_sdes *first_crypto(const struct ctl_sdp *s, const struct ctl_sdp_media *m)
{
	for (int i = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_CRYPTO, 0); i >= 0;
	     i = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_CRYPTO, (unsigned)i + 1)) {
		const struct dp_sdes *k = m->attrs.v[i].u.crypto.sdes;

		if (k && dp_srtp_suite_supported(k->suite))
			return k;
	}
	return NULL;
}

static void session_rewrite(struct ctl_ng_req *r, struct ctl_sdp *s, struct dp_leg *leg)
{
	struct dp_leg_local loc;

	dp_leg_local(leg, &loc);
	ctl_sdp_remove_ice(s); /* candidates would let the peers bypass the relay */
	if (s->conn.present)
		ctl_sdp_set_session_conn(s, loc.address);
	if (has_flag(r, "replace", "origin"))
		ctl_sdp_set_origin_addr(s, loc.address);
}

static int reply_sdp(struct ctl_ng_req *r, const struct ctl_sdp *s)
{
	struct ctl_buf out = { 0 };
	struct ctl_val *v;
	int rc = ctl_sdp_write(s, &out);

	if (rc) {
		ctl_buf_free(&out);
		return ctl_ng_error(r, "Failed to write the rewritten SDP (%s)", strerror(-rc));
	}
	v = ctl_val_strdup(ctl_ng_arena(r), out.p, out.len);
	ctl_buf_free(&out);
	if (!v || ctl_dict_add(ctl_ng_reply(r), "sdp", 3, v))
		return ctl_ng_error(r, "Reply too large");
	return 0;
}

/* ------------------------------------------------------------------ */
/* offer                                                                */

static const char *iface_arg(struct ctl_ng_req *r, unsigned i)
{
	const struct ctl_val *l = ctl_dict_get(ctl_ng_args(r), "direction");
	const struct ctl_val *v;
	char *s;

	if (!l || l->type != CTL_V_LIST)
		return NULL;
	for (v = l->u.c.head; v && i; v = v->next, i--)
		;
	if (!v || v->type != CTL_V_STR || !v->u.s.len)
		return NULL;
	s = ctl_arena_alloc(ctl_ng_arena(r), v->u.s.len + 1);
	if (!s)
		return NULL;
	memcpy(s, v->u.s.p, v->u.s.len);
	s[v->u.s.len] = '\0';
	return s;
}

static int stream_open(struct ctl_ng_req *r, struct call *k, struct stream *st)
{
	int err;

	for (int side = 0; side < 2; side++) {
		st->leg[side] = dp_leg_create(k->dp, k->iface[side][0] ? k->iface[side] : NULL, k->leg_flags, &err);
		if (!st->leg[side])
			return ctl_ng_error(r, err == -ENOENT ? "Unknown interface '%s'"
						: err == -EADDRINUSE ? "No media ports left on interface '%s'"
									: "Cannot allocate a media port on '%s'",
					    k->iface[side][0] ? k->iface[side] : "(default)");
	}
	st->active = true;
	st->b_te = -1;
	return dp_leg_connect(st->leg[0], st->leg[1]) ? ctl_ng_error(r, "Cannot connect the legs") : 0;
}

/* What the offerer offers: its audio codecs medius can decode, its
 * telephone-event and CN payload types, its ptime. */
static void record_offer(struct stream *st, const struct ctl_sdp *s, const struct ctl_sdp_media *m)
{
	int ai = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_PTIME, 0);

	st->n_a_codecs = 0;
	st->a_te = st->a_cn = -1;
	st->a_ptime = ai >= 0 ? m->attrs.v[ai].u.ptime : 0;
	for (unsigned f = 0; f < m->n_fmts; f++) {
		int pt = ctl_sdp_media_pt(m, f);
		struct cdc_format fmt;

		if (pt < 0 || ctl_sdp_media_format(m, (unsigned)pt, &fmt))
			continue;
		if (fmt.codec == CDC_TELEPHONE_EVENT) {
			struct ctl_sdp_codec sc;

			if (st->a_te < 0) {
				st->a_te = pt;
				snprintf(st->a_te_fmtp, sizeof(st->a_te_fmtp), "%s",
					 !ctl_sdp_media_codec(m, (unsigned)pt, &sc) && sc.fmtp ? sc.fmtp : "0-15");
			}
		} else if (fmt.codec == CDC_CN) {
			if (st->a_cn < 0)
				st->a_cn = pt;
		} else if (st->n_a_codecs < sizeof(st->a_codecs) / sizeof(st->a_codecs[0])) {
			st->a_codecs[st->n_a_codecs].pt = (uint8_t)pt;
			st->a_codecs[st->n_a_codecs++].f = fmt;
		}
	}
}

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

		if (v->type != CTL_V_STR || v->u.s.len >= sizeof(spec))
			continue;
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

		if (v->type != CTL_V_STR || v->u.s.len >= sizeof(spec))
			continue;
		memcpy(spec, v->u.s.p, v->u.s.len);
		spec[v->u.s.len] = '\0';
		if (!strcasecmp(spec, "all")) {
			const char *keep[16];
			char store[16][64];
			unsigned n = 0;

			for (const struct ctl_val *e = except && except->type == CTL_V_LIST ? except->u.c.head : NULL;
			     e && n < 16; e = e->next)
				if (e->type == CTL_V_STR && e->u.s.len < sizeof(store[n])) {
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

static int offer_media(struct ctl_ng_req *r, struct call *k, struct ctl_sdp *s, unsigned i,
		       const char *proto_b)
{
	struct ctl_sdp_media *m = &s->media[i];
	struct stream *st = &k->st[i];
	bool full = has_flag(r, "flags", "full rtcp attribute"), no_rtcp = has_flag(r, "flags", "no rtcp attribute");
	const struct ctl_val *codec = ctl_dict_get(ctl_ng_args(r), "codec");
	const struct dp_sdes *theirs;

	snprintf(st->type, sizeof(st->type), "%s", m->type);
	if (!ctl_sdp_media_is_rtp(m) || m->port == 0) {
		if (m->port != 0) {
			ctl_ng_warning(r, "media %u (%s %s) is not RTP: rejected (port 0)", i + 1, m->type, m->proto);
			ctl_sdp_media_set_conn(s, m, NULL, 0);
		}
		return 0;
	}
	if (ctl_sdp_media_has_dtls(s, m) && !first_crypto(s, m))
		return ctl_ng_error(r, "DTLS-SRTP is not supported yet (media %u)", i + 1);
	if (!st->active && stream_open(r, k, st))
		return -1;
	if (set_remote_from(st->leg[0], s, m))
		return ctl_ng_error(r, "Bad address in media %u", i + 1);
	st->offer_mux = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_RTCP_MUX, 0) >= 0;
	snprintf(st->proto[0], sizeof(st->proto[0]), "%s", m->proto);

	/* the offerer's side: its keys decrypt what it sends; ours answer it */
	st->srtp[0] = proto_srtp(m->proto);
	if (st->srtp[0]) {
		theirs = first_crypto(s, m);
		if (!theirs)
			return ctl_ng_error(r, "No supported SRTP crypto suite in media %u", i + 1);
		if (dp_sdes_generate(theirs->suite, theirs->tag, &st->key[0]) ||
		    dp_leg_set_srtp(st->leg[0], theirs, &st->key[0]))
			return ctl_ng_error(r, "Cannot set up SRTP for media %u", i + 1);
	}

	record_offer(st, s, m);

	/* codec edits on the way to the answerer */
	if (codec && codec->type == CTL_V_DICT) {
		const struct ctl_val *strip = ctl_dict_get(codec, "strip");

		if (ctl_dict_get(codec, "set"))
			ctl_ng_warning(r, "codec set is not supported yet: ignored");
		if (add_transcode_codecs(r, s, m, ctl_dict_get(codec, "transcode")) ||
		    add_transcode_codecs(r, s, m, ctl_dict_get(codec, "offer")))
			return -1;
		if (remove_codecs(r, s, m, i, strip, ctl_dict_get(codec, "except")) ||
		    remove_codecs(r, s, m, i, ctl_dict_get(codec, "mask"), NULL))
			return -1;
		for (const char *const *w = (const char *const[]){ "accept", "consume", NULL }; *w; w++)
			if (ctl_dict_get(codec, *w))
				ctl_ng_warning(r, "codec %s is not supported yet: ignored", *w);
	}

	/* the answerer's side */
	snprintf(st->proto[1], sizeof(st->proto[1]), "%s", proto_b ? proto_b : m->proto);
	st->srtp[1] = proto_srtp(st->proto[1]);
	if (st->srtp[1]) {
		st->n_offered = 0;
		if (dp_sdes_generate(DP_SRTP_AES_CM_128_HMAC_SHA1_80, 1, &st->offered[0]) ||
		    dp_sdes_generate(DP_SRTP_AES_CM_128_HMAC_SHA1_32, 2, &st->offered[1]))
			return ctl_ng_error(r, "Cannot generate SRTP keys");
		st->n_offered = 2;
		if (ctl_sdp_media_to_srtp(s, m, st->offered, st->n_offered))
			return ctl_ng_error(r, "Cannot rewrite media %u for SRTP", i + 1);
		if (proto_b && strcmp(m->proto, proto_b) && ctl_sdp_media_set_proto(s, m, proto_b))
			return ctl_ng_error(r, "Bad transport-protocol '%s'", proto_b);
	} else {
		if (proto_srtp(m->proto) && ctl_sdp_media_to_rtp(s, m))
			return ctl_ng_error(r, "Cannot rewrite media %u for RTP", i + 1);
		if (proto_b && ctl_sdp_media_set_proto(s, m, proto_b))
			return ctl_ng_error(r, "Bad transport-protocol '%s'", proto_b);
		if (dp_leg_set_srtp(st->leg[1], NULL, NULL))
			return ctl_ng_error(r, "Cannot reset SRTP for media %u", i + 1);
	}
	st->want_ptime = 0;
	{
		const struct ctl_val *pt = ctl_dict_get(ctl_ng_args(r), "ptime");

		if (pt && pt->type == CTL_V_INT) {
			if (!cdc_ptime_valid((unsigned)pt->u.i))
				return ctl_ng_error(r, "ptime %lld is not one of 10, 20, 30, 40, 60", (long long)pt->u.i);
			st->want_ptime = (unsigned)pt->u.i;
			ctl_sdp_media_set_ptime(s, m, st->want_ptime);
		}
	}
	if (point_at(s, m, st->leg[1], full, no_rtcp))
		return ctl_ng_error(r, "Cannot rewrite media %u", i + 1);
	return 0;
}

/* A re-offer from the answerer (a re-INVITE from the callee: hold, resume,
 * a new address) or the original offerer's answer to it, on an established
 * call: media section i of s comes from `side`. Take that side's new
 * address and keys, and rewrite the section for the other side with our
 * address and our keys for it. Codecs pass through as negotiated. */
static int reverse_media(struct ctl_ng_req *r, struct call *k, struct ctl_sdp *s, unsigned i, int side)
{
	struct ctl_sdp_media *m = &s->media[i];
	struct stream *st = &k->st[i];
	bool full = has_flag(r, "flags", "full rtcp attribute"), no_rtcp = has_flag(r, "flags", "no rtcp attribute");
	int other = 1 - side;

	if (!st->active) {
		if (m->port != 0)
			return ctl_ng_error(r, "Media %u cannot be added by a re-offer from this side yet", i + 1);
		return 0;
	}
	if (m->port == 0) {
		ctl_sdp_media_set_conn(s, m, NULL, 0);
		return 0;
	}
	if (st->xcoded)
		return ctl_ng_error(r, "A re-offer from the answerer on a transcoded call is not supported yet");
	if (set_remote_from(st->leg[side], s, m))
		return ctl_ng_error(r, "Bad address in media %u", i + 1);
	if (st->srtp[side]) {
		const struct dp_sdes *theirs = first_crypto(s, m);

		if (!theirs || dp_leg_set_srtp(st->leg[side], theirs, &st->key[side]))
			return ctl_ng_error(r, "No usable SRTP key in media %u", i + 1);
	}
	if (st->srtp[other] ? ctl_sdp_media_to_srtp(s, m, &st->key[other], 1)
			    : proto_srtp(m->proto) ? ctl_sdp_media_to_rtp(s, m) : 0)
		return ctl_ng_error(r, "Cannot rewrite media %u", i + 1);
	if (strcmp(m->proto, st->proto[other]) && ctl_sdp_media_set_proto(s, m, st->proto[other]))
		return ctl_ng_error(r, "Cannot rewrite media %u", i + 1);
	if (point_at(s, m, st->leg[other], full, no_rtcp))
		return ctl_ng_error(r, "Cannot rewrite media %u", i + 1);
	return 0;
}

/* Both halves of a reverse exchange: rewrite every section, then the
 * session, and reply with the SDP for the other side. */
static int reverse_sdp(struct ctl_ng_req *r, struct call *k, struct ctl_sdp *s, int side)
{
	int rc = 0;

	if (s->n_media != k->n)
		return ctl_ng_error(r, "The SDP has %u media sections, the call has %u", s->n_media, k->n);
	for (unsigned i = 0; i < s->n_media && !rc; i++)
		rc = reverse_media(r, k, s, i, side);
	for (unsigned i = 0; i < k->n && !rc; i++)
		if (k->st[i].active) {
			session_rewrite(r, s, k->st[i].leg[1 - side]);
			break;
		}
	if (!rc)
		rc = reply_sdp(r, s);
	if (!rc)
		k->last_signal = time(NULL);
	return rc;
}

static int cmd_offer(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_calls *c = ctx;
	const char *id, *from, *sdp;
	const char *proto_b = arg_str(r, "transport-protocol"), *ice = arg_str(r, "ICE");
	struct ctl_sdp s;
	struct call *k;
	char err[160];
	bool fresh = false;
	int rc = 0;

	if (sdp_args(r, &id, &from, &sdp))
		return -1;
	if (proto_b && strcmp(proto_b, "RTP/AVP") && strcmp(proto_b, "RTP/SAVP") && strcmp(proto_b, "RTP/AVPF") &&
	    strcmp(proto_b, "RTP/SAVPF"))
		return ctl_ng_error(r, "Unsupported transport-protocol '%s'", proto_b);
	if (ice && strcasecmp(ice, "remove"))
		ctl_ng_warning(r, "ICE '%s' is not supported: ICE is removed", ice);
	if (has_flag(r, "flags", "record call") || arg_str(r, "record call"))
		ctl_ng_warning(r, "recording is not supported yet");
	warn_unknown_flags(r, offer_flags);
	if (ctl_sdp_parse(sdp, strlen(sdp), &s, err, sizeof(err)))
		return ctl_ng_error(r, "Failed to parse SDP: %s", err);

	k = find(c, id);
	if (k && strcmp(k->from_tag, from)) {
		if (!k->to_tag[0] || strcmp(k->to_tag, from)) {
			ctl_sdp_free(&s);
			return ctl_ng_error(r, "Unknown from-tag '%s' for this call (forking is not supported yet)", from);
		}
		rc = reverse_sdp(r, k, &s, 1); /* a re-INVITE from the answerer */
		k->reverse_pending = rc == 0;
		ctl_sdp_free(&s);
		return rc;
	}
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k || !(k->dp = dp_call_create(id))) {
			free(k);
			ctl_sdp_free(&s);
			return ctl_ng_error(r, "Cannot create the call (no worker lcore running?)");
		}
		snprintf(k->id, sizeof(k->id), "%s", id);
		snprintf(k->from_tag, sizeof(k->from_tag), "%s", from);
		k->created = time(NULL);
		k->next = c->bucket[hash(id)];
		c->bucket[hash(id)] = k;
		c->count++;
		c->total++;
		fresh = true;
		for (int i = 0; i < 2; i++) {
			const char *ifn = iface_arg(r, (unsigned)i);

			snprintf(k->iface[i], sizeof(k->iface[i]), "%s", ifn ? ifn : "");
		}
	}
	k->leg_flags = (has_flag(r, "flags", "strict source") ? DP_LEG_STRICT_SOURCE : 0u) |
		       (has_flag(r, "flags", "asymmetric") ? DP_LEG_ASYMMETRIC : 0u);
	k->last_signal = time(NULL);
	k->delete_at_ms = 0;
	if (s.n_media < k->n) {
		rc = ctl_ng_error(r, "A re-offer may not remove media sections");
		goto out;
	}
	for (unsigned i = 0; i < s.n_media && !rc; i++)
		rc = offer_media(r, k, &s, i, proto_b);
	if (!rc) {
		k->n = s.n_media;
		for (unsigned i = 0; i < k->n; i++)
			if (k->st[i].active) {
				dp_leg_set_flags(k->st[i].leg[0], k->leg_flags);
				dp_leg_set_flags(k->st[i].leg[1], k->leg_flags);
				session_rewrite(r, &s, k->st[i].leg[1]);
				break;
			}
		rc = reply_sdp(r, &s);
	}
out:
	ctl_sdp_free(&s);
	if (rc && fresh)
		call_free(c, k);
	return rc;
}

/* ------------------------------------------------------------------ */
/* answer                                                               */

static int plan_transcoding(struct ctl_ng_req *r, struct stream *st, struct ctl_sdp *s,
			    struct ctl_sdp_media *m);

static int answer_media(struct ctl_ng_req *r, struct call *k, struct ctl_sdp *s, unsigned i)
{
	struct ctl_sdp_media *m = &s->media[i];
	struct stream *st = &k->st[i];
	bool full = has_flag(r, "flags", "full rtcp attribute"), no_rtcp = has_flag(r, "flags", "no rtcp attribute");
	bool mux_b;
	int pt;

	if (!st->active || m->port == 0) {
		if (st->active)
			ctl_sdp_media_set_conn(s, m, NULL, 0); /* the answerer rejected it */
		return 0;
	}
	if (set_remote_from(st->leg[1], s, m))
		return ctl_ng_error(r, "Bad address in media %u", i + 1);
	st->b_te = -1;
	for (unsigned f = 0; f < m->n_fmts && st->b_te < 0; f++) {
		int pt = ctl_sdp_media_pt(m, f);

		if (pt >= 0 && ctl_sdp_media_pt_matches(m, (unsigned)pt, "telephone-event"))
			st->b_te = pt;
	}
	/* the answerer's keys, and which of ours it chose */
	if (st->srtp[1]) {
		const struct dp_sdes *theirs = first_crypto(s, m);
		const struct dp_sdes *ours = NULL;

		for (unsigned j = 0; theirs && j < st->n_offered; j++)
			if (st->offered[j].tag == theirs->tag && st->offered[j].suite == theirs->suite)
				ours = &st->offered[j];
		if (!theirs || !ours)
			return ctl_ng_error(r, "The answer to media %u has no crypto line matching the offer", i + 1);
		st->key[1] = *ours;
		if (dp_leg_set_srtp(st->leg[1], theirs, &st->key[1]))
			return ctl_ng_error(r, "Cannot set up SRTP for media %u", i + 1);
	}
	mux_b = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_RTCP_MUX, 0) >= 0;
	if (mux_b)
		dp_leg_set_flags(st->leg[1], k->leg_flags | DP_LEG_RTCP_MUX);
	if (mux_b && st->offer_mux)
		dp_leg_set_flags(st->leg[0], k->leg_flags | DP_LEG_RTCP_MUX);
	else
		ctl_sdp_media_set_rtcp_mux(s, m, false, false);
	/* the codec, for the clock rate and the MOS estimate */
	pt = ctl_sdp_media_pt(m, 0);
	st->fmt_known = pt >= 0 && ctl_sdp_media_format(m, (unsigned)pt, &st->fmt) == 0;
	if (st->fmt_known) {
		dp_leg_set_clock(st->leg[0], st->fmt.clock_rate);
		dp_leg_set_clock(st->leg[1], st->fmt.clock_rate);
	}
	if (plan_transcoding(r, st, s, m))
		return -1;
	/* back to the offerer: its protocol, our key for it */
	if (st->srtp[0]) {
		if (ctl_sdp_media_to_srtp(s, m, &st->key[0], 1))
			return ctl_ng_error(r, "Cannot rewrite media %u for SRTP", i + 1);
	} else if (proto_srtp(m->proto) && ctl_sdp_media_to_rtp(s, m)) {
		return ctl_ng_error(r, "Cannot rewrite media %u for RTP", i + 1);
	}
	if (strcmp(m->proto, st->proto[0]) && ctl_sdp_media_set_proto(s, m, st->proto[0]))
		return ctl_ng_error(r, "Cannot restore the transport of media %u", i + 1);
	if (point_at(s, m, st->leg[0], full, no_rtcp))
		return ctl_ng_error(r, "Cannot rewrite media %u", i + 1);
	return 0;
}

static void unhook(struct stream *st)
{
	for (int d = 0; d < 2; d++)
		if (st->xc[d]) {
			dp_leg_set_hook(st->leg[d], NULL, NULL); /* the worker lets go here */
			ctl_xcode_destroy(st->xc[d]);
			st->xc[d] = NULL;
		}
	st->xcoded = false;
}

/* The answerer chose codec fmt_b (payload type pt_b). If the offerer has it
 * too, packets are relayed as they are. Otherwise medius transcodes between
 * it and the offerer's first codec, and the answer to the offerer names that
 * codec instead. Telephone-event passes through when both sides have it, and
 * is turned into or out of in-band tones when only one side has it. */
static int plan_transcoding(struct ctl_ng_req *r, struct stream *st, struct ctl_sdp *s, struct ctl_sdp_media *m)
{
	struct cdc_chain_conf c[2];
	struct cdc_format fb;
	int pt_b = ctl_sdp_media_pt(m, 0), te_b = -1, cn_b = -1, ai;
	unsigned ptime_b;
	const struct cdc_format *fa = NULL;
	uint8_t pt_a = 0, keep[2];
	char rtpmap[48], fmtp[128];
	unsigned nkeep = 0;

	unhook(st);
	if (pt_b < 0 || ctl_sdp_media_format(m, (unsigned)pt_b, &fb))
		return 0; /* not a codec we know: relay as it is */
	for (unsigned i = 0; i < st->n_a_codecs && !fa; i++)
		if (cdc_format_compatible(&st->a_codecs[i].f, &fb)) {
			unsigned a_pt = cdc_ptime_valid(st->a_ptime) ? st->a_ptime : 20;

			if (!st->want_ptime || st->want_ptime == a_pt)
				return 0; /* a common codec and frame size: relay */
			fa = &st->a_codecs[i].f; /* same codec, repacketised */
			pt_a = st->a_codecs[i].pt;
		}
	if (!fa && !st->n_a_codecs)
		return ctl_ng_error(r, "No codec in common, and none of the offer's that medius can transcode");
	if (!fa) {
		fa = &st->a_codecs[0].f;
		pt_a = st->a_codecs[0].pt;
	}
	for (unsigned f = 0; f < m->n_fmts; f++) {
		int pt = ctl_sdp_media_pt(m, f);
		struct cdc_format x;

		if (pt >= 0 && !ctl_sdp_media_format(m, (unsigned)pt, &x)) {
			if (x.codec == CDC_TELEPHONE_EVENT && te_b < 0)
				te_b = pt;
			if (x.codec == CDC_CN && cn_b < 0)
				cn_b = pt;
		}
	}
	ai = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_PTIME, 0);
	ptime_b = st->want_ptime ? st->want_ptime
		  : ai >= 0 && cdc_ptime_valid(m->attrs.v[ai].u.ptime) ? m->attrs.v[ai].u.ptime : 20;
	for (int d = 0; d < 2; d++) {
		bool te_in = d ? te_b >= 0 : st->a_te >= 0, te_out = d ? st->a_te >= 0 : te_b >= 0;

		c[d] = (struct cdc_chain_conf){
			.in = d ? fb : *fa,
			.out = d ? *fa : fb,
			.in_pt = d ? (uint8_t)pt_b : pt_a,
			.out_pt = d ? pt_a : (uint8_t)pt_b,
			.out_ptime = d ? (cdc_ptime_valid(st->a_ptime) ? st->a_ptime : 20) : ptime_b,
			.in_te_pt = d ? te_b : st->a_te,
			.out_te_pt = d ? st->a_te : te_b,
			.in_cn_pt = d ? cn_b : st->a_cn,
			.out_cn_pt = d ? st->a_cn : cn_b,
			.dtmf = te_in && te_out ? CDC_DTMF_PASS : te_in ? CDC_DTMF_TO_INBAND
					      : te_out ? CDC_DTMF_FROM_INBAND : CDC_DTMF_DROP,
			.resample_quality = -1,
		};
		st->xc[d] = ctl_xcode_create(&c[d]);
		if (!st->xc[d]) {
			unhook(st);
			return ctl_ng_error(r, "Cannot transcode %s <-> %s", cdc_codec_name(fa->codec),
					    cdc_codec_name(fb.codec));
		}
	}
	for (int d = 0; d < 2; d++)
		if (dp_leg_set_hook(st->leg[d], ctl_xcode_hook, st->xc[d])) {
			unhook(st);
			return ctl_ng_error(r, "Cannot attach the transcoder");
		}
	st->xcoded = true;
	st->xfmt[0] = *fa;
	st->xfmt[1] = fb;
	dp_leg_set_clock(st->leg[0], fa->clock_rate);
	/* the answer to the offerer names its own codec */
	if (ctl_sdp_media_pt_index(m, pt_a) >= 0 && !ctl_sdp_media_pt_matches(m, pt_a, cdc_codec_name(fa->codec)))
		ctl_sdp_media_remove_pt(s, m, pt_a);
	cdc_format_rtpmap(fa, rtpmap, sizeof(rtpmap));
	if (cdc_format_fmtp(fa, fmtp, sizeof(fmtp)) < 0)
		fmtp[0] = '\0';
	if (ctl_sdp_media_pt_index(m, pt_a) < 0 &&
	    ctl_sdp_media_add_codec(s, m, pt_a, rtpmap, fmtp[0] ? fmtp : NULL, true))
		return ctl_ng_error(r, "Cannot rewrite the answer's codecs");
	keep[nkeep++] = pt_a;
	if (st->a_te >= 0) {
		if (ctl_sdp_media_pt_index(m, (unsigned)st->a_te) < 0)
			ctl_sdp_media_add_codec(s, m, (unsigned)st->a_te, "telephone-event/8000", st->a_te_fmtp, false);
		keep[nkeep++] = (uint8_t)st->a_te;
	}
	if (ctl_sdp_media_keep_pts(s, m, keep, nkeep) < 0)
		return ctl_ng_error(r, "Cannot rewrite the answer's codecs");
	ctl_sdp_media_set_ptime(s, m, st->a_ptime);
	ctl_ng_warning(r, "media transcoded %s <-> %s", rtpmap, cdc_codec_name(fb.codec));
	return 0;
}

static int cmd_answer(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_calls *c = ctx;
	const char *id, *from, *sdp, *to = arg_str(r, "to-tag");
	struct ctl_sdp s;
	struct call *k;
	char err[160];
	int rc = 0;

	if (sdp_args(r, &id, &from, &sdp))
		return -1;
	k = find_call(r, c, "Unknown call-id");
	if (!k)
		return -1;
	if (strcmp(k->from_tag, from) && !(k->reverse_pending && !strcmp(k->to_tag, from)))
		return ctl_ng_error(r, "Unknown from-tag for this call");
	warn_unknown_flags(r, offer_flags);
	if (ctl_sdp_parse(sdp, strlen(sdp), &s, err, sizeof(err)))
		return ctl_ng_error(r, "Failed to parse SDP: %s", err);
	if (strcmp(k->from_tag, from)) { /* the offerer answers the answerer's re-offer */
		rc = reverse_sdp(r, k, &s, 0);
		k->reverse_pending = rc != 0;
		ctl_sdp_free(&s);
		return rc;
	}
	if (s.n_media != k->n) {
		ctl_sdp_free(&s);
		return ctl_ng_error(r, "The answer has %u media sections, the offer had %u", s.n_media, k->n);
	}
	for (unsigned i = 0; i < s.n_media && !rc; i++)
		rc = answer_media(r, k, &s, i);
	if (!rc) {
		for (unsigned i = 0; i < k->n; i++)
			if (k->st[i].active) {
				session_rewrite(r, &s, k->st[i].leg[0]);
				break;
			}
		rc = reply_sdp(r, &s);
	}
	if (!rc) {
		snprintf(k->to_tag, sizeof(k->to_tag), "%s", to ? to : "");
		k->last_signal = time(NULL);
	}
	ctl_sdp_free(&s);
	return rc;
}

/* ------------------------------------------------------------------ */
/* reporting                                                            */

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
		ctl_dict_add(d, "stats", 5, sd);
	}
	ctl_dict_add_int(a, d, "RTCP packets", (int64_t)ls.rtcp_packets);
	ctl_dict_add_int(a, d, "DTMF blocked", (int64_t)ls.blocked);
	ctl_dict_add_int(a, d, "packets sent", (int64_t)ls.out_packets);
	ctl_dict_add_int(a, d, "SSRC", ls.ssrc);
	ctl_dict_add_int(a, d, "expected", ls.expected);
	ctl_dict_add_int(a, d, "lost", ls.lost);
	ctl_dict_add_int(a, d, "jitter ms x1000", (int64_t)(ls.jitter_ms * 1000));
	ctl_dict_add_int(a, d, "RTT ms", ls.rtt_ms);
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

static int call_report(struct ctl_ng_req *r, struct call *k)
{
	struct ctl_arena *a = ctl_ng_arena(r);
	struct ctl_val *reply = ctl_ng_reply(r), *tags = ctl_val_dict(a), *totals = ctl_val_dict(a);
	uint64_t tot[2][3] = { { 0 } };

	if (!tags || !totals)
		return ctl_ng_error(r, "Reply too large");
	ctl_dict_add_int(a, reply, "created", k->created);
	ctl_dict_add_int(a, reply, "last signal", k->last_signal);
	for (int side = 0; side < 2; side++) {
		const char *tag = side ? k->to_tag : k->from_tag;
		struct ctl_val *t = ctl_val_dict(a), *medias = ctl_val_list(a);

		if (!t || !medias)
			return ctl_ng_error(r, "Reply too large");
		ctl_dict_add(t, "tag", 3, ctl_val_strdup(a, tag, strlen(tag)));
		for (unsigned i = 0; i < k->n; i++) {
			struct stream *st = &k->st[i];
			struct ctl_val *md = ctl_val_dict(a), *streams = ctl_val_list(a);

			if (!md || !streams)
				return ctl_ng_error(r, "Reply too large");
			ctl_dict_add_int(a, md, "index", i + 1);
			ctl_dict_add(md, "type", 4, ctl_val_strdup(a, st->type, strlen(st->type)));
			ctl_dict_add(md, "protocol", 8, ctl_val_strdup(a, st->proto[side], strlen(st->proto[side])));
			if (st->xcoded) {
				ctl_dict_add_cstr(a, md, "codec", cdc_codec_name(st->xfmt[side].codec));
				ctl_dict_add_int(a, md, "transcoded", 1);
			} else if (st->fmt_known) {
				ctl_dict_add_cstr(a, md, "codec", cdc_codec_name(st->fmt.codec));
			}
			if (st->active)
				ctl_list_append(streams, leg_stats(r, st, side, tot));
			ctl_dict_add(md, "streams", 7, streams);
			ctl_list_append(medias, md);
		}
		ctl_dict_add(t, "medias", 6, medias);
		{
			struct ctl_val *key = ctl_val_strdup(a, tag, strlen(tag));

			if (!key)
				return ctl_ng_error(r, "Reply too large");
			ctl_dict_add(tags, key->u.s.p, key->u.s.len, t);
		}
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

static int cmd_delete(struct ctl_ng_req *r, void *ctx)
{
	struct ctl_calls *c = ctx;
	const struct ctl_val *delay = ctl_dict_get(ctl_ng_args(r), "delete-delay");
	struct call *k = find_call(r, c, "Call-ID not found or tags didn't match");
	int rc;

	if (!k)
		return -1;
	rc = call_report(r, k);
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
	struct call *k = find_call(r, ctx, "Unknown call-id");

	return k ? call_report(r, k) : -1;
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
	ctl_dict_add(st, "currentstatistics", 17, cur);
	ctl_dict_add(st, "totalstatistics", 15, tot);
	ctl_dict_add(ctl_ng_reply(r), "statistics", 10, st);
	return 0;
}

/* block DTMF / unblock DTMF: RFC 4733 events from one party (from-tag
 * given) or from everyone stop being forwarded, or flow again. */
static int set_dtmf_block(struct ctl_ng_req *r, struct ctl_calls *c, bool block)
{
	const char *tag = arg_str(r, "from-tag");
	struct call *k = find_call(r, c, "Unknown call-id");

	if (!k)
		return -1;
	if (tag && *tag && strcmp(tag, k->from_tag) && strcmp(tag, k->to_tag))
		return ctl_ng_error(r, "Unknown from-tag for this call");
	for (unsigned i = 0; i < k->n; i++) {
		struct stream *st = &k->st[i];

		if (!st->active)
			continue;
		for (int side = 0; side < 2; side++) {
			const char *who = side ? k->to_tag : k->from_tag;
			int te = side ? st->b_te : st->a_te;

			if (tag && *tag && strcmp(tag, who))
				continue;
			dp_leg_set_block_pt(st->leg[side], block ? (te >= 0 ? te : 101) : -1);
		}
	}
	return 0;
}

/* play DTMF: an RFC 4733 event as if `from-tag`'s party had sent it, into
 * the stream towards the other party (rtpengine's semantics: the selected
 * participant is the one generating the DTMF). code is a digit ("5", "*",
 * "A") or an event number; duration in ms (default 100); volume in -dBm0
 * (default 8). It rides on the media that party sends. */
static int cmd_play_dtmf(struct ctl_ng_req *r, void *ctx)
{
	struct call *k = find_call(r, ctx, "Unknown call-id");
	const char *tag = arg_str(r, "from-tag"), *code_s = arg_str(r, "code");
	const struct ctl_val *code_i = ctl_dict_get(ctl_ng_args(r), "code");
	const struct ctl_val *dur = ctl_dict_get(ctl_ng_args(r), "duration");
	const struct ctl_val *vol = ctl_dict_get(ctl_ng_args(r), "volume");
	int event = -1, played = 0;

	if (!k)
		return -1;
	if (code_s && strlen(code_s) == 1)
		event = cdc_dtmf_event(code_s[0]);
	else if (code_s)
		event = atoi(code_s);
	else if (code_i && code_i->type == CTL_V_INT)
		event = (int)code_i->u.i;
	if (event < 0 || event > 15)
		return ctl_ng_error(r, "No valid DTMF 'code' (0-9, *, #, A-D or 0-15)");
	if (tag && *tag && strcmp(tag, k->from_tag) && strcmp(tag, k->to_tag))
		return ctl_ng_error(r, "Unknown from-tag for this call");
	for (unsigned i = 0; i < k->n; i++) {
		struct stream *st = &k->st[i];
		int from = tag && *tag && !strcmp(tag, k->to_tag) ? 1 : 0; /* default: the offerer */
		int te = from ? st->a_te : st->b_te; /* the receiver's telephone-event type */
		uint32_t clock = st->fmt_known ? st->fmt.clock_rate : 8000;
		int64_t ms = dur && dur->type == CTL_V_INT ? dur->u.i : 100;
		int64_t v = vol && vol->type == CTL_V_INT ? (vol->u.i < 0 ? -vol->u.i : vol->u.i) : 8;
		int rc;

		if (!st->active || strcmp(st->type, "audio"))
			continue;
		if (st->xcoded)
			return ctl_ng_error(r, "play DTMF on a transcoded call is not supported yet");
		if (te < 0)
			return ctl_ng_error(r, "The receiving side did not negotiate telephone-event");
		if (ms < 10 || ms > 5000)
			return ctl_ng_error(r, "DTMF duration %lld ms is not within 10-5000", (long long)ms);
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

static int cmd_block_dtmf(struct ctl_ng_req *r, void *ctx) { return set_dtmf_block(r, ctx, true); }
static int cmd_unblock_dtmf(struct ctl_ng_req *r, void *ctx) { return set_dtmf_block(r, ctx, false); }

static int cmd_not_yet(struct ctl_ng_req *r, void *ctx)
{
	const struct ctl_val *cmd = ctl_dict_get(ctl_ng_args(r), "command");

	(void)ctx;
	return ctl_ng_error(r, "'%.*s' is not supported yet", (int)cmd->u.s.len, cmd->u.s.p);
}

static const struct ctl_ng_cmd commands[] = {
	{ "offer", cmd_offer },
	{ "answer", cmd_answer },
	{ "delete", cmd_delete },
	{ "query", cmd_query },
	{ "list", cmd_list },
	{ "statistics", cmd_statistics },
	{ "start recording", cmd_not_yet },
	{ "stop recording", cmd_not_yet },
	{ "pause recording", cmd_not_yet },
	{ "play media", cmd_not_yet },
	{ "stop media", cmd_not_yet },
	{ "block DTMF", cmd_block_dtmf },
	{ "unblock DTMF", cmd_unblock_dtmf },
	{ "play DTMF", cmd_play_dtmf },
	{ "block media", cmd_not_yet },
	{ "unblock media", cmd_not_yet },
};

const struct ctl_ng_cmd *ctl_calls_commands(size_t *n)
{
	*n = sizeof(commands) / sizeof(commands[0]);
	return commands;
}
