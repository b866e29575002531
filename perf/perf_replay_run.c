/* SPDX-License-Identifier: MIT
 * perf_replay_run.c: the replay itself. The calling thread is the sender:
 * it walks the model's ng operations and media packets in capture order,
 * K copies interleaved, on the capture's clock (scaled, or as fast as
 * possible), sets each copy up over ng and sends its media from the
 * copy's own endpoints to the ports medius answered. A receiver thread
 * takes what medius relays to the endpoints and matches each packet to
 * the one sent (SSRC and sequence number), for loss, duplicates,
 * reordering, latency, jitter and the payload check. Everything per
 * packet is allocated before the first send.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_val.h"
#include "perf_replay.h"

#define MAXM PERF_SDP_MAX_MEDIA
#define BIN_MS 100
#define MAX_BINS 36000

struct rtcp_list {
	uint32_t *pkt; /* model.pkts indexes, in capture order */
	uint32_t n;
};

/* one copy of one call */
struct cc {
	uint32_t call, copy, xor;
	char call_id[PERF_CALL_ID_MAX + 16];
	char tag[2][PERF_TAG_MAX + 16];
	uint16_t port[2][MAXM];
	struct perf_ep ep[2][MAXM][2];
	struct perf_addr dst[2][MAXM][2]; /* where party X sends section m's RTP, RTCP */
	bool have_dst[2][MAXM];
	uint8_t state; /* 0 idle, 1 live, 2 deleted, 3 failed */
	bool answered;
	uint64_t rtcp_sent[2][MAXM], rtcp_rcvd[2][MAXM], rtcp_bad[2][MAXM];
	uint32_t rtcp_next[2][MAXM];
	/* SDES SRTP: what party X sends in section m is encrypted with tx (the
	 * copy's own key; copy 0 sends the captured bytes), what it receives is
	 * decrypted with rx (the key medius put in its reply to X) */
	void *tx[2][MAXM];
	void *rx[2][MAXM];
	uint32_t tx_id[2][MAXM], rx_id[2][MAXM];
	/* a stream medius re-originates (transcoding: its own SSRC and sequence
	 * numbers): the SSRC it sends for sender X's section m and the offset
	 * from its sequence numbers to the captured ones (receiver thread) */
	bool mapped[2][MAXM];
	uint32_t map_ssrc[2][MAXM], map_si[2][MAXM];
	uint16_t map_off[2][MAXM];
};

/* one copy of one RTP stream */
struct cs {
	uint64_t *sent_ns; /* per packet number; 0 = not sent */
	int64_t *lat;      /* latency of the first receipt, ns; -1 none */
	uint8_t *rc;       /* receipts, saturating */
	uint64_t sent, received, dups, reordered, mismatched;
	uint32_t ssrc_out; /* re-originated (transcoded): the SSRC medius used */
	uint16_t seq_off;  /* and its sequence numbers minus the captured ones */
	uint16_t max_seq;
	bool any, have_prev;
	double jit, jit2, prev_transit;
	int64_t prev_lat;
	uint64_t pt_rcvd[128];
};

struct ev {
	uint64_t t;
	uint32_t a;   /* op: call; pkt: model.pkts index */
	uint16_t b;   /* op: op index */
	uint8_t type; /* 0 op, 1 pkt */
};

struct run {
	const struct perf_model *m;
	const struct perf_run_opts *o;
	uint32_t K;
	struct cc *ccs;    /* [call * K + copy] */
	struct cs *css;    /* [stream * K + copy] */
	struct rtcp_list *rl; /* [(call * 2 + party) * MAXM + media] */
	uint32_t *cstr_off, *cstr; /* streams of each call */
	void *tp;
	struct perf_ng *ng;
	uint64_t t_start; /* CLOCK_REALTIME of the first send */
	uint64_t *bin_sent, *bin_rcvd;
	volatile int stop;
	/* receiver totals */
	uint64_t unmatched, other_rcvd, rcvd_total;
	/* sender totals */
	uint64_t sent_total, other_sent, send_errors, skipped;
	uint64_t ng_requests, ng_errors, set_up, deleted;
	/* SRTP: the capture's plaintext per model packet (plain_len 0: not SRTP) */
	uint8_t *plain;
	uint64_t *plain_off;
	uint32_t *plain_len;
	bool *sec_srtp;                 /* [(call * 2 + party) * MAXM + media]: the sender encrypts */
	struct perf_srtp_key *sec_key;  /* its key in the capture */
	uint64_t srtp_cap_errors;       /* captured SRTP that did not decrypt */
	uint64_t srtp_rx_errors;        /* received SRTP that did not decrypt */
	uint64_t srtp_tx_errors;
	void **dead;                    /* rx sessions replaced by a re-INVITE: freed at the end */
	uint32_t ndead, cap_dead;
	uint8_t rxbuf[65536 + 256];
	uint64_t shift_ns, shift_max_ns, shifts; /* the schedule moved for slow ng replies */
	uint8_t scratch[65536];
};

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void xor32(uint8_t *p, uint32_t x)
{
	p[0] ^= (uint8_t)(x >> 24);
	p[1] ^= (uint8_t)(x >> 16);
	p[2] ^= (uint8_t)(x >> 8);
	p[3] ^= (uint8_t)x;
}

/* every SSRC an RTCP compound packet names, xor'ed (the copy's mapping) */
static void rtcp_xor(uint8_t *p, uint32_t len, uint32_t x)
{
	uint32_t off = 0;

	while (off + 8 <= len) {
		uint8_t count = p[off] & 31, pt = p[off + 1];
		uint32_t plen = ((uint32_t)(p[off + 2] << 8 | p[off + 3]) + 1) * 4, end;

		if ((p[off] >> 6) != 2 || off + plen > len)
			return;
		end = off + plen;
		if (pt == 200 || pt == 201) { /* SR, RR: sender, then report blocks */
			uint32_t rb = off + (pt == 200 ? 28 : 8);

			xor32(p + off + 4, x);
			for (uint8_t i = 0; i < count && rb + 24 <= end; i++, rb += 24)
				xor32(p + rb, x);
		} else if (pt == 202) { /* SDES: chunks of SSRC + items */
			uint32_t q = off + 4;

			for (uint8_t i = 0; i < count && q + 4 <= end; i++) {
				xor32(p + q, x);
				q += 4;
				while (q < end && p[q])
					q += 2u + (q + 1 < end ? p[q + 1] : 0);
				q = (q + 4) & ~3u; /* the null item and padding */
			}
		} else if (pt == 203) { /* BYE */
			for (uint8_t i = 0; i < count && off + 4 + 4u * i + 4 <= end; i++)
				xor32(p + off + 4 + 4u * i, x);
		} else { /* APP, feedback, XR: the sender's SSRC */
			xor32(p + off + 4, x);
			if ((pt == 205 || pt == 206) && off + 12 <= end)
				xor32(p + off + 8, x); /* the media source */
		}
		off = end;
	}
}

/* the plaintext of model packet i (the captured bytes unless SRTP) */
static const uint8_t *ref_of(const struct run *r, uint64_t i, uint32_t *len)
{
	if (r->plain_len && r->plain_len[i]) {
		*len = r->plain_len[i];
		return r->plain + r->plain_off[i];
	}
	*len = r->m->pkts[i].len;
	return r->m->data + r->m->pkts[i].off;
}

/* the bytes a copy sends for packet k (into scratch unless unchanged);
 * NULL when an SRTP packet cannot be re-encrypted */
static const uint8_t *payload_for(struct run *r, struct cc *c, const struct perf_pkt *k, uint32_t *len)
{
	const uint8_t *p = r->m->data + k->off;
	uint32_t x = c->xor;
	void *tx = k->media < MAXM ? c->tx[k->party][k->media] : NULL;
	int l;

	*len = k->len;
	if (!x || k->kind == PERF_PKT_OTHER)
		return p;
	if (tx) {
		/* SRTP: the plaintext, the copy's SSRCs, encrypted with the copy's key */
		uint64_t i = (uint64_t)(k - r->m->pkts);

		if (!r->plain_len[i])
			return NULL;
		p = ref_of(r, i, len);
	}
	memcpy(r->scratch, p, *len);
	if (k->kind == PERF_PKT_RTP)
		xor32(r->scratch + 8, x);
	else
		rtcp_xor(r->scratch, *len, x);
	if (tx) {
		l = (int)*len;
		if (perf_srtp_protect(tx, r->scratch, &l, k->kind == PERF_PKT_RTCP))
			return NULL;
		*len = (uint32_t)l;
	}
	return r->scratch;
}

/* ---- receiving ---- */

static bool same_rtp(const uint8_t *a, const uint8_t *orig, uint32_t len, uint32_t x)
{
	uint8_t s[4];

	if (memcmp(a, orig, 8) || memcmp(a + 12, orig + 12, len - 12))
		return false;
	memcpy(s, orig + 8, 4);
	xor32(s, x);
	return !memcmp(a + 8, s, 4);
}

static void rx_rtcp(struct run *r, struct cc *c, uint8_t sender, uint8_t media, const struct perf_rx *rx)
{
	const struct rtcp_list *l = &r->rl[((size_t)c->call * 2 + sender) * MAXM + media];
	uint8_t buf[2048];

	c->rtcp_rcvd[sender][media]++;
	if (!r->o->verify)
		return;
	/* in order, as sent; look a few ahead for one lost on the way */
	for (uint32_t i = c->rtcp_next[sender][media]; i < l->n && i < c->rtcp_next[sender][media] + 8; i++) {
		uint32_t len;
		const uint8_t *ref = ref_of(r, l->pkt[i], &len);

		if (len != rx->len || len > sizeof(buf))
			continue;
		memcpy(buf, ref, len);
		if (c->xor)
			rtcp_xor(buf, len, c->xor);
		if (!memcmp(buf, rx->data, len)) {
			c->rtcp_next[sender][media] = i + 1;
			return;
		}
	}
	c->rtcp_bad[sender][media]++;
}

static void on_rx_plain(struct run *r, const struct perf_rx *rx);

static void on_rx(void *arg, const struct perf_rx *rx)
{
	struct run *r = arg;
	struct cc *c = &r->ccs[rx->ep->copy_call];
	void *s = rx->ep->media < MAXM ? __atomic_load_n(&c->rx[rx->ep->party][rx->ep->media], __ATOMIC_ACQUIRE) : NULL;
	struct perf_rx d;
	int len;

	if (!s || rx->len < 12 || rx->len > 65536) {
		on_rx_plain(r, rx);
		return;
	}
	/* SRTP from medius: decrypted with the key of its reply to this party */
	memcpy(r->rxbuf, rx->data, rx->len);
	len = (int)rx->len;
	if (perf_srtp_unprotect(s, r->rxbuf, &len, r->rxbuf[1] >= 192 && r->rxbuf[1] <= 223)) {
		r->srtp_rx_errors++;
		r->rcvd_total++;
		return;
	}
	d = *rx;
	d.data = r->rxbuf;
	d.len = (uint32_t)len;
	on_rx_plain(r, &d);
}

static void on_rx_plain(struct run *r, const struct perf_rx *rx)
{
	const struct perf_model *m = r->m;
	struct cc *c = &r->ccs[rx->ep->copy_call];
	uint8_t sender = (uint8_t)(1 - rx->ep->party), media = rx->ep->media;
	const uint8_t *p = rx->data;
	uint32_t ssrc, lo, hi, idx = UINT32_MAX, si = UINT32_MAX;
	uint16_t seq;
	struct cs *s;
	const struct perf_stream *st;
	uint64_t bin;

	r->rcvd_total++;
	bin = rx->t_ns > r->t_start ? (rx->t_ns - r->t_start) / (BIN_MS * 1000000ull) : 0;
	r->bin_rcvd[bin < MAX_BINS ? bin : MAX_BINS - 1]++;
	if (rx->len >= 8 && (p[0] >> 6) == 2 && p[1] >= 192 && p[1] <= 223) {
		rx_rtcp(r, c, sender, media, rx);
		return;
	}
	if (rx->ep->rtcp || rx->len < 12 || (p[0] >> 6) != 2) {
		r->other_rcvd++;
		return;
	}
	ssrc = rd32(p + 8) ^ c->xor;
	for (uint32_t i = r->cstr_off[c->call]; i < r->cstr_off[c->call + 1]; i++) {
		const struct perf_stream *x = &m->streams[r->cstr[i]];

		if (x->ssrc == ssrc && x->party == sender && x->media == media) {
			si = r->cstr[i];
			break;
		}
	}
	seq = (uint16_t)(p[2] << 8 | p[3]);
	if (si == UINT32_MAX && media < MAXM) {
		/* not an SSRC that was sent: medius re-originated the stream
		 * (transcoding). When the sender has exactly one stream in this
		 * section, the first packet of a new SSRC is taken as the relay of
		 * the first packet sent, and later ones by their sequence numbers
		 * from there (frames 1:1, as a transcoder of equal ptime sends) */
		uint32_t rs = rd32(p + 8);

		if (!c->mapped[sender][media]) {
			uint32_t cand = UINT32_MAX, n = 0;

			for (uint32_t i = r->cstr_off[c->call]; i < r->cstr_off[c->call + 1]; i++) {
				const struct perf_stream *x = &m->streams[r->cstr[i]];

				if (x->party == sender && x->media == media) {
					cand = r->cstr[i];
					n++;
				}
			}
			if (n == 1 && m->streams[cand].npkts) {
				c->mapped[sender][media] = true;
				c->map_ssrc[sender][media] = rs;
				c->map_si[sender][media] = cand;
				c->map_off[sender][media] = (uint16_t)(seq - m->streams[cand].seq[0]);
				r->css[(size_t)cand * r->K + c->copy].ssrc_out = rs;
				r->css[(size_t)cand * r->K + c->copy].seq_off = c->map_off[sender][media];
			}
		}
		if (c->mapped[sender][media] && c->map_ssrc[sender][media] == rs) {
			si = c->map_si[sender][media];
			seq = (uint16_t)(seq - c->map_off[sender][media]);
		}
	}
	if (si == UINT32_MAX) {
		r->unmatched++;
		return;
	}
	st = &m->streams[si];
	s = &r->css[(size_t)si * r->K + c->copy];
	/* the packet numbers with this seq: the first not received yet */
	lo = 0;
	hi = st->npkts;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (st->seq[st->by_seq[mid]] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (uint32_t j = lo; j < st->npkts && st->seq[st->by_seq[j]] == seq; j++) {
		uint32_t n = st->by_seq[j];

		if (!__atomic_load_n(&s->sent_ns[n], __ATOMIC_ACQUIRE))
			continue;
		if (idx == UINT32_MAX || !s->rc[n]) {
			idx = n;
			if (!s->rc[n])
				break;
		}
	}
	if (idx == UINT32_MAX) {
		r->unmatched++;
		return;
	}
	if (s->rc[idx]) {
		s->dups++;
		if (s->rc[idx] < 255)
			s->rc[idx]++;
		return;
	}
	s->rc[idx] = 1;
	s->received++;
	s->pt_rcvd[p[1] & 0x7f]++;
	{
		uint32_t ref_len;
		const uint8_t *ref = ref_of(r, st->pkt[idx], &ref_len);
		uint64_t sent = __atomic_load_n(&s->sent_ns[idx], __ATOMIC_ACQUIRE);
		int64_t lat = (int64_t)(rx->t_ns - sent);
		uint32_t clock = st->clock ? st->clock : 8000;
		/* arrival in RTP clock units on the capture's time scale (--speed N: N times faster) */
		double transit = (double)(rx->t_ns - r->t_start) * (r->o->speed > 0 ? r->o->speed : 1) * clock / 1e9 -
				 (double)rd32(p + 4);

		if (r->o->verify && !s->ssrc_out && (ref_len != rx->len || !same_rtp(p, ref, ref_len, c->xor)))
			s->mismatched++;
		s->lat[idx] = lat;
		if (s->any && (int16_t)(seq - s->max_seq) < 0)
			s->reordered++;
		else
			s->max_seq = seq;
		if (s->have_prev) {
			double d = fabs(transit - s->prev_transit);
			double d2 = fabs((double)(lat - s->prev_lat));

			s->jit += (d - s->jit) / 16;
			s->jit2 += (d2 - s->jit2) / 16;
		}
		s->prev_transit = transit;
		s->prev_lat = lat;
		s->have_prev = true;
		s->any = true;
	}
}

static void *receiver(void *arg)
{
	struct run *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
		r->o->tp->poll(r->tp, 20, on_rx, r);
	while (r->o->tp->poll(r->tp, 0, on_rx, r) > 0)
		;
	return NULL;
}

/* ---- ng ---- */

static void reply_dst(struct run *r, struct cc *c, uint8_t party, const char *sdp, int nmedia)
{
	struct perf_sdp s;
	char why[160];

	if (!sdp || perf_sdp_parse(sdp, strlen(sdp), &s, why, sizeof(why)))
		return;
	for (int i = 0; i < s.nmedia && i < nmedia; i++) {
		struct perf_srtp_key k;

		/* medius encrypts what it sends this party with the key it offers here */
		if (strstr(s.m[i].proto, "SAVP") && s.m[i].ncrypto && !perf_srtp_parse(s.m[i].crypto[0], &k) &&
		    perf_srtp_key_id(&k) != c->rx_id[party][i]) {
			void *n = perf_srtp_session(&k, false), *old = c->rx[party][i];

			if (old) {
				if (r->ndead == r->cap_dead) {
					uint32_t nc = r->cap_dead ? 2 * r->cap_dead : 64;
					void **d = realloc(r->dead, nc * sizeof(*d));

					if (d) {
						r->dead = d;
						r->cap_dead = nc;
					}
				}
				if (r->ndead < r->cap_dead)
					r->dead[r->ndead++] = old;
			}
			__atomic_store_n(&c->rx[party][i], n, __ATOMIC_RELEASE);
			c->rx_id[party][i] = n ? perf_srtp_key_id(&k) : 0;
		}
		if (!s.m[i].addr.port) {
			c->have_dst[party][i] = false;
			continue;
		}
		c->dst[party][i][0] = s.m[i].addr;
		c->dst[party][i][1] = s.m[i].rtcp;
		c->have_dst[party][i] = true;
	}
}

/* The protocol the answerer will use, when the call's next answer after op
 * (index oi) says another one than the offer: a signalling server that
 * knows its callee asks medius for that with transport-protocol (an SRTP
 * caller bridged to a plain callee, or the reverse). */
static const char *answer_proto(const struct perf_call *call, int oi, char *buf, size_t len)
{
	struct perf_sdp o, a;
	char why[160];

	if (oi < 0 || perf_sdp_parse(call->ops[oi].sdp, call->ops[oi].sdp_len, &o, why, sizeof(why)))
		return NULL;
	for (int i = oi + 1; i < call->nops; i++) {
		if (call->ops[i].kind == PERF_OP_OFFER || call->ops[i].kind == PERF_OP_DELETE)
			return NULL;
		if (call->ops[i].kind == PERF_OP_ANSWER && call->ops[i].sdp) {
			if (perf_sdp_parse(call->ops[i].sdp, call->ops[i].sdp_len, &a, why, sizeof(why)) || !o.nmedia ||
			    !a.nmedia || !strcmp(o.m[0].proto, a.m[0].proto))
				return NULL;
			snprintf(buf, len, "%s", a.m[0].proto);
			return buf;
		}
	}
	return NULL;
}

static int do_op(struct run *r, struct cc *c, const struct perf_op *op, int oi, char *err, size_t errlen)
{
	struct perf_call *call = &r->m->calls[c->call];
	struct ctl_val *req;
	const struct ctl_val *rep;
	char why[512], pb[24]; /* pb: the offer's transport-protocol, which the request points at */
	int rc;

	if (c->state == 2 || (c->state == 3 && op->kind != PERF_OP_DELETE))
		return 0;
	if (op->kind == PERF_OP_DELETE) {
		req = perf_ng_request(r->ng, "delete");
		if (!req || perf_ng_add_str(r->ng, req, "call-id", c->call_id, strlen(c->call_id)) ||
		    perf_ng_add_str(r->ng, req, "from-tag", c->tag[0], strlen(c->tag[0])))
			goto oom;
	} else {
		uint8_t x = op->party;
		size_t cap = op->sdp_len * 2 + 1024;
		char *sdp = malloc(cap);
		int n;

		if (!sdp)
			goto oom;
		n = perf_sdp_rewrite(op->sdp, op->sdp_len, r->o->ip, c->port[x], call->nmedia, sdp, cap);
		if (n < 0) {
			free(sdp);
			snprintf(err, errlen, "call %s: SDP too long to rewrite", c->call_id);
			return -1;
		}
		if (c->copy)
			perf_sdp_rekey(sdp, (size_t)n, c->copy); /* the copy's own SDES keys */
		req = perf_ng_request(r->ng, op->kind == PERF_OP_OFFER ? "offer" : "answer");
		if (!req || perf_ng_add_str(r->ng, req, "call-id", c->call_id, strlen(c->call_id))) {
			free(sdp);
			goto oom;
		}
		if (op->kind == PERF_OP_OFFER) {
			const char *tp = answer_proto(call, oi, pb, sizeof(pb)); /* in pb: req points at it */

			if ((tp && perf_ng_add_str(r->ng, req, "transport-protocol", tp, strlen(tp))) ||
			    perf_ng_add_str(r->ng, req, "from-tag", c->tag[x], strlen(c->tag[x])) ||
			    (c->answered && perf_ng_add_str(r->ng, req, "to-tag", c->tag[1 - x], strlen(c->tag[1 - x])))) {
				free(sdp);
				goto oom;
			}
		} else if (perf_ng_add_str(r->ng, req, "from-tag", c->tag[1 - x], strlen(c->tag[1 - x])) ||
			   perf_ng_add_str(r->ng, req, "to-tag", c->tag[x], strlen(c->tag[x]))) {
			free(sdp);
			goto oom;
		}
		rc = perf_ng_add_str(r->ng, req, "sdp", sdp, (size_t)n);
		{
			const char *js = op->kind == PERF_OP_OFFER ? r->o->offer_json : r->o->answer_json;

			if (!rc && js && perf_ng_merge_json(r->ng, req, js, why, sizeof(why))) {
				free(sdp);
				snprintf(err, errlen, "--%s-json: %s", op->kind == PERF_OP_OFFER ? "offer" : "answer", why);
				return -1;
			}
		}
		/* the arena keeps a pointer into sdp until the call returns */
		r->ng_requests++;
		rc = rc ? -1 : perf_ng_call(r->ng, req, &rep, why, sizeof(why));
		if (rc == 0) {
			reply_dst(r, c, (uint8_t)(1 - x), perf_ng_str(r->ng, rep, "sdp"), call->nmedia);
			if (c->state == 0)
				c->state = 1;
			if (op->kind == PERF_OP_ANSWER && !c->answered) {
				c->answered = true;
				r->set_up++;
			}
		}
		free(sdp);
		goto result;
	}
	r->ng_requests++;
	rc = perf_ng_call(r->ng, req, &rep, why, sizeof(why));
	if (rc == 0) {
		c->state = 2;
		r->deleted++;
	}
result:
	if (rc < 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (rc > 0) {
		r->ng_errors++;
		fprintf(stderr, "medius-replay: call %s: ng %s refused: %s\n", c->call_id,
			op->kind == PERF_OP_OFFER ? "offer" : op->kind == PERF_OP_ANSWER ? "answer" : "delete", why);
		if (op->kind != PERF_OP_DELETE)
			c->state = 3;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* ---- sending ---- */

static int ev_cmp(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	return x->b < y->b ? -1 : x->b > y->b;
}

static void send_pkt(struct run *r, struct cc *c, const struct perf_pkt *k)
{
	uint8_t x = k->party, sock = k->rtcp_port ? 1 : 0;
	const uint8_t *p;
	uint64_t t, tt;
	struct cs *s = NULL;
	uint32_t len;

	if (c->state != 1 || k->media >= MAXM || !c->have_dst[x][k->media]) {
		r->skipped++;
		return;
	}
	p = payload_for(r, c, k, &len);
	if (!p) {
		r->srtp_tx_errors++;
		r->skipped++;
		return;
	}
	t = now_ns(CLOCK_REALTIME);
	if (k->kind == PERF_PKT_RTP) {
		s = &r->css[(size_t)k->stream * r->K + c->copy];
		if (s->sent_ns[k->index]) { /* a duplicate in the capture: sent again, same number */
			s->sent++;
		} else {
			__atomic_store_n(&s->sent_ns[k->index], t, __ATOMIC_RELEASE);
			s->sent++;
		}
	}
	if (r->o->tp->send(r->tp, &c->ep[x][k->media][sock], &c->dst[x][k->media][sock], p, len, &tt)) {
		r->send_errors++;
		if (s)
			s->sent--;
		return;
	}
	if (k->kind == PERF_PKT_RTCP)
		c->rtcp_sent[x][k->media]++;
	else if (k->kind == PERF_PKT_OTHER)
		r->other_sent++;
	r->sent_total++;
	{
		uint64_t bin = (t - r->t_start) / (BIN_MS * 1000000ull);

		r->bin_sent[bin < MAX_BINS ? bin : MAX_BINS - 1]++;
	}
}

static void progress(struct run *r, uint64_t now, bool last)
{
	double el = (double)(now - r->t_start) / 1e9;
	uint64_t live = 0;

	for (uint64_t i = 0; i < (uint64_t)r->m->ncalls * r->K; i++)
		live += r->ccs[i].state == 1;
	fprintf(stderr, "\r%7.1f s  calls live %-6llu set up %-6llu  sent %-9llu received %-9llu  %.0f pps%s",
		el, (unsigned long long)live, (unsigned long long)r->set_up,
		(unsigned long long)r->sent_total, (unsigned long long)__atomic_load_n(&r->rcvd_total, __ATOMIC_RELAXED),
		el > 0 ? (double)r->sent_total / el : 0.0, last ? "\n" : "   ");
}

struct heap_ent {
	uint64_t key;
	uint32_t copy, cursor;
};

static bool he_less(const struct heap_ent *a, const struct heap_ent *b)
{
	return a->key != b->key ? a->key < b->key : a->copy < b->copy;
}

static void heap_down(struct heap_ent *h, uint32_t n, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, m = i;

		if (l < n && he_less(&h[l], &h[m]))
			m = l;
		if (l + 1 < n && he_less(&h[l + 1], &h[m]))
			m = l + 1;
		if (m == i)
			return;
		struct heap_ent t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* After an ng request: the sender waited for the reply (a call's media is
 * never sent before medius answered). When that made it late for the next
 * event by more than SHIFT_TOL_NS, the rest of the schedule moves later by
 * the lateness (every copy, every call: their relative timing is kept, no
 * catch-up burst) and the shift is reported. */
#define SHIFT_TOL_NS 2000000ull

static void shift_after_ng(struct run *r, uint64_t *mono0, uint64_t next_due, uint64_t t_before)
{
	uint64_t t = now_ns(CLOCK_MONOTONIC), now = t - *mono0, late;

	if (r->o->speed <= 0 || next_due == UINT64_MAX || now <= next_due + SHIFT_TOL_NS)
		return;
	/* only what the ng request itself cost: a sender that is behind for
	 * other reasons (more packets than it can send) stays behind, it is
	 * not excused by a shift */
	late = now - next_due;
	if (late > t - t_before)
		late = t - t_before;
	if (late <= SHIFT_TOL_NS)
		return;
	*mono0 += late;
	r->shift_ns += late;
	r->shifts++;
	if (late > r->shift_max_ns)
		r->shift_max_ns = late;
}

static uint64_t next_due(const struct heap_ent *h, uint32_t nh, const uint32_t *dq, uint32_t dq_head,
			 uint32_t dq_tail, const uint64_t *dq_due)
{
	uint64_t d = UINT64_MAX;

	(void)dq;
	if (nh)
		d = h[0].key;
	if (dq_head != dq_tail && dq_due[dq_head] < d)
		d = dq_due[dq_head];
	return d;
}

/* what a bursting transport queued goes out before the sender sleeps or
 * waits for ng (media never waits behind a set-up, nor a set-up behind
 * media queued before it) */
static void tp_flush(struct run *r)
{
	if (r->o->tp->flush)
		r->o->tp->flush(r->tp);
}

static int sender(struct run *r, char *err, size_t errlen)
{
	const struct perf_model *m = r->m;
	const struct perf_run_opts *o = r->o;
	uint64_t nev = 0, k = 0, t0 = 0, mono0, next_prog;
	struct ev *evs;
	struct heap_ent *h;
	uint32_t nh = r->K, *dq, dq_head = 0, dq_tail = 0;
	uint64_t *dq_due;
	size_t ncc = (size_t)m->ncalls * r->K;
	int rc = -1;

	for (uint32_t c = 0; c < m->ncalls; c++)
		nev += (uint64_t)m->calls[c].nops;
	for (uint64_t i = 0; i < m->npkts; i++)
		nev += m->pkts[i].call != UINT32_MAX;
	evs = malloc((nev ? nev : 1) * sizeof(*evs));
	h = malloc(r->K * sizeof(*h));
	dq = malloc((ncc + 1) * sizeof(*dq));
	dq_due = malloc((ncc + 1) * sizeof(*dq_due));
	if (!evs || !h || !dq || !dq_due) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (uint32_t c = 0; c < m->ncalls; c++)
		for (int i = 0; i < m->calls[c].nops; i++)
			evs[k++] = (struct ev){m->calls[c].ops[i].t_ns, c, (uint16_t)i, 0};
	for (uint64_t i = 0; i < m->npkts; i++)
		if (m->pkts[i].call != UINT32_MAX)
			evs[k++] = (struct ev){m->pkts[i].t_ns, (uint32_t)i, 0, 1};
	qsort(evs, nev, sizeof(*evs), ev_cmp);
	if (nev)
		t0 = evs[0].t;
	for (uint32_t i = 0; i < r->K; i++) {
		h[i].copy = i;
		h[i].cursor = 0;
		h[i].key = o->speed > 0 ? (uint64_t)i * o->spread_us * 1000ull / r->K : 0;
	}
	r->t_start = now_ns(CLOCK_REALTIME);
	mono0 = now_ns(CLOCK_MONOTONIC);
	next_prog = mono0 + 250000000ull;
	while (nh || dq_head != dq_tail) {
		uint64_t now = now_ns(CLOCK_MONOTONIC) - mono0, due, t_ng;

		if (o->progress && now + mono0 >= next_prog) {
			progress(r, now_ns(CLOCK_REALTIME), false);
			next_prog = now + mono0 + 250000000ull;
		}
		if (dq_head != dq_tail && (dq_due[dq_head] <= now || !nh)) {
			static const struct perf_op del = {.kind = PERF_OP_DELETE};

			if (dq_due[dq_head] > now) {
				uint64_t at = mono0 + dq_due[dq_head];
				struct timespec ts = {(time_t)(at / 1000000000ull), (long)(at % 1000000000ull)};

				tp_flush(r);
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
				continue;
			}
			tp_flush(r);
			t_ng = now_ns(CLOCK_MONOTONIC);
			if (do_op(r, &r->ccs[dq[dq_head]], &del, -1, err, errlen))
				goto out;
			dq_head = (dq_head + 1) % (uint32_t)(ncc + 1);
			shift_after_ng(r, &mono0, next_due(h, nh, dq, dq_head, dq_tail, dq_due), t_ng);
			continue;
		}
		due = o->speed > 0 ? h[0].key : 0;
		if (due > now) {
			uint64_t at = due;
			struct timespec ts;

			if (dq_head != dq_tail && dq_due[dq_head] < at)
				at = dq_due[dq_head];
			if (at > now + 250000000ull)
				at = now + 250000000ull; /* the progress line */
			at += mono0;
			ts.tv_sec = (time_t)(at / 1000000000ull);
			ts.tv_nsec = (long)(at % 1000000000ull);
			tp_flush(r);
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			continue;
		}
		{
			struct heap_ent *e = &h[0];
			const struct ev *v = &evs[e->cursor];
			bool ng_op = false;
			/* on the schedule's axis (not the clock's): a late sender and the
			 * shifts keep a BYE's delete where the schedule put it */
			uint64_t ev_due = o->speed > 0 ? e->key : now;
			uint32_t call = v->type ? m->pkts[v->a].call : v->a;
			struct cc *c = &r->ccs[(size_t)call * r->K + e->copy];

			if (v->type == 1) {
				send_pkt(r, c, &m->pkts[v->a]);
			} else if (m->calls[call].ops[v->b].kind == PERF_OP_DELETE) {
				/* a BYE: the delete waits the grace time, so media in flight lands */
				dq[dq_tail] = (uint32_t)((size_t)call * r->K + e->copy);
				dq_due[dq_tail] = ev_due + o->delete_grace_ms * 1000000ull;
				dq_tail = (dq_tail + 1) % (uint32_t)(ncc + 1);
			} else {
				tp_flush(r);
				t_ng = now_ns(CLOCK_MONOTONIC);
				if (do_op(r, c, &m->calls[call].ops[v->b], v->b, err, errlen))
					goto out;
				ng_op = true;
				if (o->ng_settle_us) {
					/* the signalling path's delay: nothing more goes out
					 * until it passed (counted as the ng request's time) */
					struct timespec ts = {(time_t)(o->ng_settle_us / 1000000u),
							      (long)(o->ng_settle_us % 1000000u) * 1000};

					nanosleep(&ts, NULL);
				}
			}
			if (++e->cursor >= nev) {
				h[0] = h[--nh];
			} else if (o->speed > 0) {
				e->key = (uint64_t)((double)(evs[e->cursor].t - t0) / o->speed) +
					 (uint64_t)e->copy * o->spread_us * 1000ull / r->K;
			} else {
				e->key = e->cursor;
			}
			heap_down(h, nh, 0);
			if (ng_op)
				shift_after_ng(r, &mono0, next_due(h, nh, dq, dq_head, dq_tail, dq_due), t_ng);
		}
	}
	rc = 0;
out:
	tp_flush(r);
	free(evs);
	free(h);
	free(dq);
	free(dq_due);
	return rc;
}

/* ---- SRTP set-up ---- */

/* Which sections of the capture are SDES SRTP, their keys, and the
 * plaintext of every packet sent in them: from --reference (the
 * synthesiser's plaintext twin) or decrypted here with the capture's keys.
 * The key of a section is the first a=crypto of the sender's latest SDP
 * (a re-INVITE that changes keys is not followed). */
static int srtp_setup(struct run *r, char *err, size_t errlen)
{
	const struct perf_model *m = r->m, *ref = r->o->reference;
	size_t nsec = (size_t)m->ncalls * 2 * MAXM;
	void **dec;
	uint64_t total = 0, nsrtp = 0;
	bool any = false;

	r->sec_srtp = calloc(nsec + 1, sizeof(bool));
	r->sec_key = calloc(nsec + 1, sizeof(*r->sec_key));
	if (!r->sec_srtp || !r->sec_key)
		goto oom;
	for (uint32_t c = 0; c < m->ncalls; c++)
		for (int p = 0; p < 2; p++)
			for (int i = 0; i < m->calls[c].sdp[p].nmedia && i < MAXM; i++) {
				const struct perf_sdp_media *sm = &m->calls[c].sdp[p].m[i];
				size_t si = ((size_t)c * 2 + p) * MAXM + i;

				if (!strstr(sm->proto, "SAVP") || !sm->ncrypto)
					continue;
				if (perf_srtp_parse(sm->crypto[0], &r->sec_key[si])) {
					snprintf(err, errlen, "call %s: a=crypto not understood (AES_CM_128_HMAC_SHA1_80 or _32 "
						 "with an inline key, no MKI): %.80s", m->calls[c].call_id, sm->crypto[0]);
					return -1;
				}
				r->sec_srtp[si] = true;
				any = true;
			}
	if (!any)
		return 0;
	if (perf_srtp_init()) {
		snprintf(err, errlen, "libsrtp2 did not initialise");
		return -1;
	}
	if (ref && ref->npkts != m->npkts) {
		snprintf(err, errlen, "--reference: %llu media datagrams, the capture has %llu: not its twin",
			 (unsigned long long)ref->npkts, (unsigned long long)m->npkts);
		return -1;
	}
	r->plain_off = calloc(m->npkts + 1, sizeof(uint64_t));
	r->plain_len = calloc(m->npkts + 1, sizeof(uint32_t));
	dec = calloc(nsec + 1, sizeof(void *));
	if (!r->plain_off || !r->plain_len || !dec) {
		free(dec);
		goto oom;
	}
	for (uint64_t i = 0; i < m->npkts; i++) {
		const struct perf_pkt *k = &m->pkts[i];

		if (k->call != UINT32_MAX && k->media < MAXM && k->kind != PERF_PKT_OTHER &&
		    r->sec_srtp[((size_t)k->call * 2 + k->party) * MAXM + k->media]) {
			r->plain_off[i] = total;
			total += k->len;
			nsrtp++;
		}
	}
	r->plain = malloc(total + 1);
	if (!r->plain) {
		free(dec);
		goto oom;
	}
	for (uint64_t i = 0; i < m->npkts; i++) {
		const struct perf_pkt *k = &m->pkts[i];
		size_t si;
		int len;

		if (k->call == UINT32_MAX || k->media >= MAXM || k->kind == PERF_PKT_OTHER)
			continue;
		si = ((size_t)k->call * 2 + k->party) * MAXM + k->media;
		if (!r->sec_srtp[si])
			continue;
		if (ref) {
			const struct perf_pkt *q = &ref->pkts[i];

			if (q->len > k->len) {
				snprintf(err, errlen, "--reference: datagram %llu is longer than the capture's: not its plaintext",
					 (unsigned long long)i + 1);
				free(dec);
				return -1;
			}
			memcpy(r->plain + r->plain_off[i], ref->data + q->off, q->len);
			r->plain_len[i] = q->len;
			continue;
		}
		if (!dec[si] && !(dec[si] = perf_srtp_session(&r->sec_key[si], false))) {
			snprintf(err, errlen, "libsrtp2: cannot make a session");
			free(dec);
			return -1;
		}
		memcpy(r->plain + r->plain_off[i], m->data + k->off, k->len);
		len = (int)k->len;
		if (perf_srtp_unprotect(dec[si], r->plain + r->plain_off[i], &len, k->kind == PERF_PKT_RTCP))
			r->srtp_cap_errors++;
		else
			r->plain_len[i] = (uint32_t)len;
	}
	for (size_t i = 0; i < nsec; i++)
		perf_srtp_free(dec[i]);
	free(dec);
	if (r->srtp_cap_errors)
		fprintf(stderr, "medius-replay: %llu of %llu SRTP packets of the capture do not decrypt with their SDP's keys: "
			"copy 0 sends them as captured, other copies do not\n",
			(unsigned long long)r->srtp_cap_errors, (unsigned long long)nsrtp);
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* ---- set-up, report ---- */

static void lat_of(int64_t *v, uint64_t n, struct perf_lat *l)
{
	double sum = 0;

	memset(l, 0, sizeof(*l));
	if (!n)
		return;
	for (uint64_t i = 0; i < n; i++)
		sum += (double)v[i];
	l->n = n;
	l->mean_us = sum / (double)n / 1e3;
}

static int i64cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void percentiles(int64_t *v, uint64_t n, struct perf_lat *l)
{
	lat_of(v, n, l);
	if (!n)
		return;
	qsort(v, n, sizeof(*v), i64cmp);
	/* nearest rank */
	l->p50_us = (double)v[(uint64_t)ceil(0.50 * (double)n) - 1] / 1e3;
	l->p95_us = (double)v[(uint64_t)ceil(0.95 * (double)n) - 1] / 1e3;
	l->p99_us = (double)v[(uint64_t)ceil(0.99 * (double)n) - 1] / 1e3;
	l->max_us = (double)v[n - 1] / 1e3;
}

static int build_report(struct run *r, struct perf_report *rep, double dur)
{
	const struct perf_model *m = r->m;
	uint64_t all_n = 0, tot_rcvd = 0;
	int64_t *all, *one;
	uint64_t maxp = 1;
	double mos_sum = 0;
	uint32_t mos_n = 0;

	rep->nstreams = m->nstreams * r->K;
	rep->streams = calloc(rep->nstreams ? rep->nstreams : 1, sizeof(*rep->streams));
	for (uint32_t si = 0; si < m->nstreams; si++)
		for (uint32_t k = 0; k < r->K; k++)
			tot_rcvd += r->css[(size_t)si * r->K + k].received;
	for (uint32_t si = 0; si < m->nstreams; si++)
		if (m->streams[si].npkts > maxp)
			maxp = m->streams[si].npkts;
	all = malloc((tot_rcvd ? tot_rcvd : 1) * sizeof(*all));
	one = malloc(maxp * sizeof(*one));
	if (!rep->streams || !all || !one) {
		free(all);
		free(one);
		return -1;
	}
	rep->mos_min = 5;
	for (uint32_t si = 0; si < m->nstreams; si++) {
		const struct perf_stream *st = &m->streams[si];

		for (uint32_t k = 0; k < r->K; k++) {
			struct cs *s = &r->css[(size_t)si * r->K + k];
			struct cc *c = &r->ccs[(size_t)st->call * r->K + k];
			struct perf_stream_report *sr = &rep->streams[(size_t)si * r->K + k];
			uint64_t n = 0, unique_sent = 0, lost = 0, p01 = 0, p10 = 0, n0 = 0, n1 = 0;
			int prev = -1;
			struct perf_emodel em;

			snprintf(sr->call_id, sizeof(sr->call_id), "%s", c->call_id);
			sr->copy = k;
			sr->party = st->party;
			sr->media = st->media;
			sr->ssrc = st->ssrc ^ c->xor;
			snprintf(sr->codec, sizeof(sr->codec), "%s", st->codec);
			sr->clock = st->clock;
			sr->sent = s->sent;
			sr->received = s->received;
			sr->duplicates = s->dups;
			sr->reordered = s->reordered;
			sr->mismatched = s->mismatched;
			memcpy(sr->pt_received, s->pt_rcvd, sizeof(sr->pt_received));
			for (uint32_t i = 0; i < st->npkts; i++) {
				int got;

				if (!s->sent_ns[i])
					continue;
				unique_sent++;
				got = s->rc[i] ? 1 : 0;
				if (got) {
					one[n++] = s->lat[i];
					all[all_n++] = s->lat[i];
				} else {
					lost++;
				}
				/* burst statistics (G.107: BurstR = 1 / (p + q)) */
				if (prev == 1) {
					n0++;
					p01 += !got;
				} else if (prev == 0) {
					n1++;
					p10 += got;
				}
				prev = got;
			}
			sr->lost = lost;
			percentiles(one, n, &sr->lat);
			/* against RTP timestamps: meaningless as fast as possible */
			sr->jitter_ms = r->o->speed > 0 ? s->jit / (st->clock ? st->clock : 8000) * 1000 : -1;
			sr->added_jitter_ms = s->jit2 / 1e6;
			{
				double p = n0 ? (double)p01 / (double)n0 : 0, q = n1 ? (double)p10 / (double)n1 : 1;

				sr->burst_r = p + q > 0 ? 1 / (p + q) : 1;
				if (!lost)
					sr->burst_r = 1;
			}
			if (r->sec_srtp && r->sec_srtp[((size_t)st->call * 2 + st->party) * MAXM + st->media]) {
				sr->srtp = true;
				sr->srtp_key_id = c->tx_id[st->party][st->media];
			}
			sr->ssrc_out = s->ssrc_out;
			sr->seq_off = s->seq_off;
			sr->rtcp_sent = c->rtcp_sent[st->party][st->media];
			sr->rtcp_received = c->rtcp_rcvd[st->party][st->media];
			sr->rtcp_mismatched = c->rtcp_bad[st->party][st->media];
			if (st->main_pt != 255 && unique_sent) {
				em = perf_emodel_codec(st->codec);
				sr->r = perf_emodel_r(&em, 100.0 * (double)lost / (double)unique_sent, sr->burst_r,
						      sr->lat.mean_us / 1e3);
				sr->mos = perf_emodel_mos(sr->r);
				sr->mos_valid = true;
				sr->ie_assumed = em.assumed;
				mos_sum += sr->mos;
				mos_n++;
				if (sr->mos < rep->mos_min)
					rep->mos_min = sr->mos;
			}
			rep->rtp_sent += s->sent;
			rep->rtp_received += s->received;
			rep->lost += lost;
			rep->duplicates += s->dups;
			rep->reordered += s->reordered;
			rep->mismatched += s->mismatched;
		}
	}
	percentiles(all, all_n, &rep->lat);
	/* the latency histogram: 60 bins up to 1.25 x p99 (all is sorted now) */
	rep->nlat_bins = 60;
	rep->lat_hist = calloc(rep->nlat_bins, sizeof(uint64_t));
	rep->lat_bin_us = rep->lat.p99_us > 0 ? ceil(rep->lat.p99_us * 1.25 / 60 * 10) / 10 : 1;
	for (uint64_t i = 0; rep->lat_hist && i < all_n; i++) {
		uint64_t b = (uint64_t)((double)all[i] / 1e3 / rep->lat_bin_us);

		if (b < rep->nlat_bins)
			rep->lat_hist[b]++;
		else
			rep->lat_over++;
	}
	free(all);
	free(one);
	if (!mos_n)
		rep->mos_min = 0;
	rep->mos_mean = mos_n ? mos_sum / mos_n : 0;
	for (size_t i = 0; i < (size_t)m->ncalls * r->K; i++)
		for (int p = 0; p < 2; p++)
			for (int j = 0; j < MAXM; j++) {
				rep->rtcp_sent += r->ccs[i].rtcp_sent[p][j];
				rep->rtcp_received += r->ccs[i].rtcp_rcvd[p][j];
				rep->mismatched += r->ccs[i].rtcp_bad[p][j];
			}
	rep->calls = (uint64_t)m->ncalls * r->K;
	rep->calls_set_up = r->set_up;
	rep->calls_deleted = r->deleted;
	rep->ng_requests = r->ng_requests;
	rep->ng_errors = r->ng_errors;
	rep->sent = r->sent_total;
	rep->received = r->rcvd_total;
	rep->unmatched = r->unmatched;
	rep->other_sent = r->other_sent;
	rep->other_received = r->other_rcvd;
	rep->send_errors = r->send_errors;
	rep->skipped = r->skipped;
	rep->srtp_cap_errors = r->srtp_cap_errors;
	rep->srtp_rx_errors = r->srtp_rx_errors;
	rep->srtp_tx_errors = r->srtp_tx_errors;
	rep->shift_ms = (double)r->shift_ns / 1e6;
	rep->shift_max_ms = (double)r->shift_max_ns / 1e6;
	rep->shifts = r->shifts;
	rep->duration_s = dur;
	rep->send_pps = dur > 0 ? (double)rep->sent / dur : 0;
	rep->recv_pps = dur > 0 ? (double)rep->received / dur : 0;
	rep->verify = r->o->verify;
	rep->speed = r->o->speed;
	rep->multiply = r->K;
	rep->bin_ms = BIN_MS;
	rep->nbins = (uint32_t)(dur * 1000 / BIN_MS) + 1;
	if (rep->nbins > MAX_BINS)
		rep->nbins = MAX_BINS;
	rep->bin_sent = calloc(rep->nbins, sizeof(uint64_t));
	rep->bin_rtp_sent = calloc(rep->nbins, sizeof(uint64_t));
	rep->bin_lost = calloc(rep->nbins, sizeof(uint64_t));
	/* RTP sent and lost per bin of the send time: loss over time */
	for (uint32_t si = 0; rep->bin_rtp_sent && rep->bin_lost && si < m->nstreams; si++)
		for (uint32_t k = 0; k < r->K; k++) {
			const struct cs *s = &r->css[(size_t)si * r->K + k];

			for (uint32_t i = 0; i < m->streams[si].npkts; i++) {
				uint64_t b;

				if (!s->sent_ns[i])
					continue;
				b = s->sent_ns[i] > r->t_start ? (s->sent_ns[i] - r->t_start) / (BIN_MS * 1000000ull) : 0;
				if (b >= rep->nbins)
					b = rep->nbins - 1;
				rep->bin_rtp_sent[b]++;
				rep->bin_lost[b] += !s->rc[i];
			}
		}
	rep->bin_received = calloc(rep->nbins, sizeof(uint64_t));
	if (rep->bin_sent && rep->bin_received) {
		memcpy(rep->bin_sent, r->bin_sent, rep->nbins * sizeof(uint64_t));
		memcpy(rep->bin_received, r->bin_rcvd, rep->nbins * sizeof(uint64_t));
	}
	rep->cap = m->cap;
	rep->unassigned = m->unassigned;
	snprintf(rep->source, sizeof(rep->source), "%s", m->source);
	return 0;
}

int perf_run(const struct perf_model *m, const struct perf_run_opts *o, struct perf_report *rep,
	     char *err, size_t errlen)
{
	struct run *r = calloc(1, sizeof(*r));
	uint32_t K = o->multiply ? o->multiply : 1;
	size_t ncc = (size_t)m->ncalls * K, nep = 0;
	pthread_t th;
	bool started = false;
	int rc = -1;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->m = m;
	r->o = o;
	r->K = K;
	r->ccs = calloc(ncc, sizeof(*r->ccs));
	r->css = calloc((size_t)m->nstreams * K + 1, sizeof(*r->css));
	r->rl = calloc((size_t)m->ncalls * 2 * MAXM, sizeof(*r->rl));
	r->cstr_off = calloc((size_t)m->ncalls + 1, sizeof(uint32_t));
	r->cstr = calloc(m->nstreams + 1, sizeof(uint32_t));
	r->bin_sent = calloc(MAX_BINS, sizeof(uint64_t));
	r->bin_rcvd = calloc(MAX_BINS, sizeof(uint64_t));
	if (!r->ccs || !r->css || !r->rl || !r->cstr_off || !r->cstr || !r->bin_sent || !r->bin_rcvd)
		goto oom;
	/* streams by call */
	for (uint32_t i = 0; i < m->nstreams; i++)
		r->cstr_off[m->streams[i].call + 1]++;
	for (uint32_t c = 0; c < m->ncalls; c++)
		r->cstr_off[c + 1] += r->cstr_off[c];
	{
		uint32_t *fill = calloc(m->ncalls + 1, sizeof(uint32_t));

		if (!fill)
			goto oom;
		for (uint32_t i = 0; i < m->nstreams; i++) {
			uint32_t c = m->streams[i].call;

			r->cstr[r->cstr_off[c] + fill[c]++] = i;
		}
		free(fill);
	}
	/* RTCP in capture order per call, party, section: count, then fill */
	for (uint64_t i = 0; i < m->npkts; i++) {
		const struct perf_pkt *k = &m->pkts[i];

		if (k->call != UINT32_MAX && k->kind == PERF_PKT_RTCP && k->media < MAXM)
			r->rl[((size_t)k->call * 2 + k->party) * MAXM + k->media].n++;
	}
	for (size_t i = 0; i < (size_t)m->ncalls * 2 * MAXM; i++) {
		r->rl[i].pkt = malloc((r->rl[i].n ? r->rl[i].n : 1) * sizeof(uint32_t));
		if (!r->rl[i].pkt)
			goto oom;
		r->rl[i].n = 0;
	}
	for (uint64_t i = 0; i < m->npkts; i++) {
		const struct perf_pkt *k = &m->pkts[i];
		struct rtcp_list *l;

		if (k->call == UINT32_MAX || k->kind != PERF_PKT_RTCP || k->media >= MAXM)
			continue;
		l = &r->rl[((size_t)k->call * 2 + k->party) * MAXM + k->media];
		l->pkt[l->n++] = (uint32_t)i;
	}
	/* per copy-stream arrays */
	for (uint32_t si = 0; si < m->nstreams; si++)
		for (uint32_t k = 0; k < K; k++) {
			struct cs *s = &r->css[(size_t)si * K + k];
			uint32_t n = m->streams[si].npkts;

			s->sent_ns = calloc(n, sizeof(*s->sent_ns));
			s->lat = calloc(n, sizeof(*s->lat));
			s->rc = calloc(n, 1);
			if (!s->sent_ns || !s->lat || !s->rc)
				goto oom;
		}
	if (srtp_setup(r, err, errlen))
		goto out;
	for (uint32_t c = 0; c < m->ncalls; c++)
		nep += (size_t)m->calls[c].nmedia * 4 * K;
	r->tp = o->tp->create(o->ip, (uint32_t)nep, o->tp_conf, err, errlen);
	if (!r->tp)
		goto out;
	if (perf_ng_open(&r->ng, o->ng, err, errlen))
		goto out;
	/* each copy: its call-id, tags, SSRC mapping and endpoints */
	for (uint32_t ci = 0; ci < m->ncalls; ci++)
		for (uint32_t k = 0; k < K; k++) {
			const struct perf_call *call = &m->calls[ci];
			struct cc *c = &r->ccs[(size_t)ci * K + k];

			c->call = ci;
			c->copy = k;
			c->xor = k ? (k * 0x9e3779b1u) | 1 : 0;
			if (K > 1) {
				snprintf(c->call_id, sizeof(c->call_id), "%s-r%u", call->call_id, k);
				for (int p = 0; p < 2; p++)
					snprintf(c->tag[p], sizeof(c->tag[p]), "%s-r%u", call->tag[p][0] ? call->tag[p] : (p ? "b" : "a"), k);
			} else {
				snprintf(c->call_id, sizeof(c->call_id), "%s", call->call_id);
				for (int p = 0; p < 2; p++)
					snprintf(c->tag[p], sizeof(c->tag[p]), "%s", call->tag[p][0] ? call->tag[p] : (p ? "replay-b" : "replay-a"));
			}
			for (int p = 0; p < 2; p++)
				for (int i = 0; i < call->nmedia && i < MAXM; i++) {
					size_t si = ((size_t)ci * 2 + p) * MAXM + i;

					if (r->sec_srtp && r->sec_srtp[si]) {
						struct perf_srtp_key ck;

						perf_srtp_derive(&r->sec_key[si], k, &ck);
						c->tx_id[p][i] = perf_srtp_key_id(&ck);
						if (k && !(c->tx[p][i] = perf_srtp_session(&ck, true))) {
							snprintf(err, errlen, "libsrtp2: cannot make a session");
							goto out;
						}
					}
					for (int j = 0; j < 2; j++)
						c->ep[p][i][j] = (struct perf_ep){-1, (uint32_t)((size_t)ci * K + k),
										  (uint8_t)p, (uint8_t)i, (uint8_t)j};
					if (o->tp->open_pair(r->tp, &c->ep[p][i][0], &c->ep[p][i][1], &c->port[p][i],
							     err, errlen))
						goto out;
				}
		}
	__atomic_store_n(&r->stop, 0, __ATOMIC_RELEASE);
	r->t_start = now_ns(CLOCK_REALTIME);
	if (pthread_create(&th, NULL, receiver, r)) {
		snprintf(err, errlen, "cannot start the receiver thread");
		goto out;
	}
	started = true;
	if (sender(r, err, errlen))
		goto stop;
	/* drain, then delete what no BYE ended */
	{
		uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)o->drain_ms * 1000000ull;

		while (now_ns(CLOCK_MONOTONIC) < end) {
			if (o->progress)
				progress(r, now_ns(CLOCK_REALTIME), false);
			usleep(50000);
		}
	}
	for (size_t i = 0; i < ncc; i++) {
		static const struct perf_op del = {.kind = PERF_OP_DELETE};

		if ((r->ccs[i].state == 1 || r->ccs[i].state == 3) && do_op(r, &r->ccs[i], &del, -1, err, errlen))
			goto stop;
	}
	rc = 0;
stop:
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	started = false;
	if (o->progress)
		progress(r, now_ns(CLOCK_REALTIME), true);
	if (rc == 0 && build_report(r, rep, (double)(now_ns(CLOCK_REALTIME) - r->t_start) / 1e9))
		goto oom;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
	rc = -1;
out:
	if (started) {
		__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
		pthread_join(th, NULL);
	}
	for (size_t i = 0; r->ccs && i < ncc; i++)
		for (int p = 0; p < 2; p++)
			for (int j = 0; j < MAXM; j++) {
				if (r->ccs[i].port[p][j] && r->tp)
					o->tp->close_pair(r->tp, &r->ccs[i].ep[p][j][0], &r->ccs[i].ep[p][j][1]);
				perf_srtp_free(r->ccs[i].tx[p][j]);
				perf_srtp_free(r->ccs[i].rx[p][j]);
			}
	for (uint32_t i = 0; i < r->ndead; i++)
		perf_srtp_free(r->dead[i]);
	free(r->dead);
	free(r->plain);
	free(r->plain_off);
	free(r->plain_len);
	free(r->sec_srtp);
	free(r->sec_key);
	if (r->tp)
		o->tp->destroy(r->tp);
	perf_ng_close(r->ng);
	for (size_t i = 0; r->css && i < (size_t)m->nstreams * K; i++) {
		free(r->css[i].sent_ns);
		free(r->css[i].lat);
		free(r->css[i].rc);
	}
	for (size_t i = 0; r->rl && i < (size_t)m->ncalls * 2 * MAXM; i++)
		free(r->rl[i].pkt);
	free(r->ccs);
	free(r->css);
	free(r->rl);
	free(r->cstr_off);
	free(r->cstr);
	free(r->bin_sent);
	free(r->bin_rcvd);
	free(r);
	return rc;
}
