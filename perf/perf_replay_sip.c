/* SPDX-License-Identifier: MIT
 * perf_replay_sip.c: the replay model. Rebuilds the calls of a capture
 * from its SIP over UDP (INVITE, re-INVITE, UPDATE, PRACK/ACK answers,
 * BYE, CANCEL, failures), or takes them from a side file or --auto; then
 * assigns each media datagram to the call party and media section whose
 * SDP named its address, and gathers the RTP streams.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "perf_replay.h"

/* ---- growing arrays ---- */

int perf_grow(void **p, uint64_t *cap, uint64_t need, size_t elem)
{
	/* the first block: 16 elements, fewer of big ones (a call is 22 KB)
	 * so that it stays small; doubling from there */
	uint64_t n = *cap ? *cap : elem >= 1024 ? 1 : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

int perf_model_add_call(struct perf_model *m, const char *call_id, const char *tag_a,
			const char *tag_b)
{
	uint64_t cap = m->cap_calls;
	struct perf_call *c;

	if (perf_grow((void **)&m->calls, &cap, (uint64_t)m->ncalls + 1, sizeof(*m->calls)))
		return -1;
	m->cap_calls = (uint32_t)cap;
	c = &m->calls[m->ncalls];
	memset(c, 0, sizeof(*c));
	snprintf(c->call_id, sizeof(c->call_id), "%s", call_id);
	snprintf(c->tag[0], sizeof(c->tag[0]), "%s", tag_a ? tag_a : "");
	snprintf(c->tag[1], sizeof(c->tag[1]), "%s", tag_b ? tag_b : "");
	c->pending_offer = -1;
	return (int)m->ncalls++;
}

int perf_call_add_op(struct perf_model *m, uint32_t ci, enum perf_op_kind kind, uint8_t party,
		     uint64_t t_ns, uint64_t record, const char *sdp, size_t sdp_len, char *err,
		     size_t errlen)
{
	struct perf_call *c = &m->calls[ci];
	struct perf_op *op, *prev = c->nops ? &c->ops[c->nops - 1] : NULL;
	uint64_t cap = (uint64_t)c->cap_ops;

	if (kind != PERF_OP_DELETE) {
		struct perf_sdp s;
		char why[160];

		/* a retransmission: the same party, kind and body as the last one */
		if (prev && prev->kind == kind && prev->party == party && prev->sdp_len == sdp_len &&
		    !memcmp(prev->sdp, sdp, sdp_len))
			return 0;
		if (perf_sdp_parse(sdp, sdp_len, &s, why, sizeof(why))) {
			snprintf(err, errlen, "record %llu: call %s: SDP cannot be understood: %s",
				 (unsigned long long)record, c->call_id, why);
			return -1;
		}
		c->sdp[party] = s;
		if (s.nmedia > c->nmedia)
			c->nmedia = s.nmedia;
	} else if (c->ended) {
		return 0;
	}
	if (perf_grow((void **)&c->ops, &cap, (uint64_t)c->nops + 1, sizeof(*c->ops)))
		goto oom;
	c->cap_ops = (int)cap;
	op = &c->ops[c->nops];
	memset(op, 0, sizeof(*op));
	op->t_ns = t_ns;
	op->kind = kind;
	op->party = party;
	op->record = record;
	if (kind != PERF_OP_DELETE) {
		op->sdp = malloc(sdp_len + 1);
		if (!op->sdp)
			goto oom;
		memcpy(op->sdp, sdp, sdp_len);
		op->sdp[sdp_len] = 0;
		op->sdp_len = sdp_len;
	}
	c->nops++;
	if (kind == PERF_OP_ANSWER)
		c->answered = true;
	if (kind == PERF_OP_DELETE)
		c->ended = true;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* ---- call-id lookup (open addressing over call indexes + 1) ---- */

struct id_map {
	uint32_t *slot;
	uint32_t size; /* power of two */
	uint32_t used;
};

static uint32_t fnv(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

static int idmap_find(const struct id_map *im, const struct perf_model *m, const char *id, size_t n)
{
	if (!im->size)
		return -1;
	for (uint32_t i = fnv(id, n) & (im->size - 1);; i = (i + 1) & (im->size - 1)) {
		uint32_t v = im->slot[i];

		if (!v)
			return -1;
		if (strlen(m->calls[v - 1].call_id) == n && !memcmp(m->calls[v - 1].call_id, id, n))
			return (int)(v - 1);
	}
}

static int idmap_add(struct id_map *im, const struct perf_model *m, uint32_t ci)
{
	if ((im->used + 1) * 2 > im->size) {
		uint32_t nsize = im->size ? im->size * 2 : 64;
		uint32_t *ns = calloc(nsize, sizeof(*ns));

		if (!ns)
			return -1;
		for (uint32_t i = 0; i < im->size; i++) {
			uint32_t v = im->slot[i], j;
			const char *id;

			if (!v)
				continue;
			id = m->calls[v - 1].call_id;
			for (j = fnv(id, strlen(id)) & (nsize - 1); ns[j]; j = (j + 1) & (nsize - 1))
				;
			ns[j] = v;
		}
		free(im->slot);
		im->slot = ns;
		im->size = nsize;
	}
	{
		const char *id = m->calls[ci].call_id;
		uint32_t j;

		for (j = fnv(id, strlen(id)) & (im->size - 1); im->slot[j]; j = (j + 1) & (im->size - 1))
			;
		im->slot[j] = ci + 1;
		im->used++;
	}
	return 0;
}

/* ---- SIP ---- */

struct sip_msg {
	bool request;
	char method[16]; /* request method, or the CSeq method of a response */
	int status;
	const char *call_id;
	size_t call_id_len;
	char from_tag[PERF_TAG_MAX], to_tag[PERF_TAG_MAX];
	const char *body;
	size_t body_len;
	bool sdp;
};

static bool hdr_is(const char *l, size_t n, const char *full, const char *compact, size_t *vo)
{
	size_t fl = strlen(full), i;

	for (int pass = 0; pass < 2; pass++) {
		const char *name = pass ? compact : full;

		fl = name ? strlen(name) : 0;
		if (!fl || n < fl || strncasecmp(l, name, fl))
			continue;
		i = fl;
		while (i < n && (l[i] == ' ' || l[i] == '\t'))
			i++;
		if (i < n && l[i] == ':') {
			i++;
			while (i < n && (l[i] == ' ' || l[i] == '\t'))
				i++;
			*vo = i;
			return true;
		}
	}
	return false;
}

static void get_tag(const char *v, size_t n, char *out, size_t outlen)
{
	out[0] = 0;
	for (size_t i = 0; i + 5 <= n; i++) {
		if (v[i] == ';' && !strncasecmp(v + i + 1, "tag=", 4)) {
			size_t s = i + 5, e = s;

			while (e < n && v[e] != ';' && v[e] != ',' && v[e] != '>' && v[e] != ' ' &&
			       v[e] != '\t')
				e++;
			if (e - s < outlen) {
				memcpy(out, v + s, e - s);
				out[e - s] = 0;
			}
			return;
		}
	}
}

static const char *line_end(const char *p, const char *end, size_t *n, const char **next)
{
	const char *e = memchr(p, '\n', (size_t)(end - p));

	*next = e ? e + 1 : end;
	if (!e)
		e = end;
	if (e > p && e[-1] == '\r')
		e--;
	*n = (size_t)(e - p);
	return p;
}

/* 1 SIP, 0 not SIP */
static int sip_parse(const uint8_t *data, uint32_t len, struct sip_msg *s)
{
	const char *p = (const char *)data, *end = p + len, *next;
	size_t n, vo;
	long clen = -1;
	bool ctype_sdp = false, ctype = false;

	memset(s, 0, sizeof(*s));
	if (len < 12)
		return 0;
	line_end(p, end, &n, &next);
	if (n > 12 && !memcmp(p, "SIP/2.0 ", 8) && isdigit((unsigned char)p[8]) &&
	    isdigit((unsigned char)p[9]) && isdigit((unsigned char)p[10])) {
		s->status = (p[8] - '0') * 100 + (p[9] - '0') * 10 + (p[10] - '0');
	} else if (n > 8 && !memcmp(p + n - 8, " SIP/2.0", 8)) {
		size_t i = 0;

		while (i < n && isupper((unsigned char)p[i]))
			i++;
		if (i == 0 || i >= sizeof(s->method) || p[i] != ' ')
			return 0;
		memcpy(s->method, p, i);
		s->method[i] = 0;
		s->request = true;
	} else {
		return 0;
	}
	p = next;
	while (p < end) {
		const char *l = line_end(p, end, &n, &next);

		p = next;
		if (n == 0)
			break;
		if (hdr_is(l, n, "Call-ID", "i", &vo)) {
			s->call_id = l + vo;
			s->call_id_len = n - vo;
			while (s->call_id_len && isspace((unsigned char)s->call_id[s->call_id_len - 1]))
				s->call_id_len--;
		} else if (hdr_is(l, n, "From", "f", &vo)) {
			get_tag(l + vo, n - vo, s->from_tag, sizeof(s->from_tag));
		} else if (hdr_is(l, n, "To", "t", &vo)) {
			get_tag(l + vo, n - vo, s->to_tag, sizeof(s->to_tag));
		} else if (hdr_is(l, n, "Content-Length", "l", &vo)) {
			/* the packet is not NUL-terminated: strtol on a copy (fuzz_replay_sip
			 * found it reading past a last line "l: 5") */
			char num[24];
			size_t k = n - vo < sizeof(num) - 1 ? n - vo : sizeof(num) - 1;

			memcpy(num, l + vo, k);
			num[k] = 0;
			clen = strtol(num, NULL, 10);
		} else if (hdr_is(l, n, "Content-Type", "c", &vo)) {
			ctype = true;
			ctype_sdp = n - vo >= 15 && !strncasecmp(l + vo, "application/sdp", 15);
		} else if (hdr_is(l, n, "CSeq", NULL, &vo) && !s->request) {
			const char *q = l + vo, *e = l + n;
			size_t k = 0;

			while (q < e && isdigit((unsigned char)*q))
				q++;
			while (q < e && *q == ' ')
				q++;
			while (q < e && isupper((unsigned char)*q) && k + 1 < sizeof(s->method))
				s->method[k++] = *q++;
			s->method[k] = 0;
		}
	}
	s->body = p;
	s->body_len = (size_t)(end - p);
	if (clen >= 0 && (size_t)clen < s->body_len)
		s->body_len = (size_t)clen;
	s->sdp = s->body_len >= 3 && (ctype ? ctype_sdp : !memcmp(s->body, "v=0", 3));
	return 1;
}

/* the SIP reader's state beside the model (one per load) */
static struct id_map g_ids; /* reset by perf_model_from_cap */
static bool *g_late;        /* per call: an INVITE without SDP is pending */
static uint32_t g_late_cap;

static int late_set(uint32_t ci, bool v)
{
	if (ci >= g_late_cap) {
		uint32_t n = g_late_cap ? g_late_cap * 2 : 64;
		bool *q;

		while (n <= ci)
			n *= 2;
		q = realloc(g_late, n * sizeof(*q));
		if (!q)
			return -1;
		memset(q + g_late_cap, 0, (n - g_late_cap) * sizeof(*q));
		g_late = q;
		g_late_cap = n;
	}
	g_late[ci] = v;
	return 0;
}

int perf_sip_feed(struct perf_model *m, const struct perf_cap_pkt *pk, char *err, size_t errlen)
{
	struct sip_msg s;
	struct perf_call *c;
	char id[PERF_CALL_ID_MAX];
	int ci, party;
	bool invite_like;

	if (!sip_parse(pk->data, pk->len, &s))
		return 0;
	m->sip_msgs++;
	if (!s.call_id || !s.call_id_len || s.call_id_len >= sizeof(id))
		return 1;
	memcpy(id, s.call_id, s.call_id_len);
	id[s.call_id_len] = 0;
	ci = idmap_find(&g_ids, m, id, s.call_id_len);
	invite_like = !strcmp(s.method, "INVITE") || !strcmp(s.method, "UPDATE");
	if (ci < 0) {
		/* a call starts with an initial INVITE (no to-tag) */
		if (!s.request || strcmp(s.method, "INVITE") || s.to_tag[0] || !s.from_tag[0])
			return 1;
		ci = perf_model_add_call(m, id, s.from_tag, NULL);
		if (ci < 0 || idmap_add(&g_ids, m, (uint32_t)ci) || late_set((uint32_t)ci, false)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	c = &m->calls[ci];
	if (c->ended)
		return 1;
	/* who sent it: a request's From, a response's To */
	{
		const char *tag = s.request ? s.from_tag : s.to_tag;

		if (!strcmp(tag, c->tag[0])) {
			party = 0;
		} else if (c->tag[1][0] && !strcmp(tag, c->tag[1])) {
			party = 1;
		} else if (!c->tag[1][0] && tag[0] && !s.request) {
			snprintf(c->tag[1], sizeof(c->tag[1]), "%s", tag); /* the first to-tag wins */
			party = 1;
		} else {
			return 1; /* another fork's answer, or a stray */
		}
	}
	if (s.request) {
		if (!strcmp(s.method, "BYE") || (!strcmp(s.method, "CANCEL") && !c->answered))
			return perf_call_add_op(m, (uint32_t)ci, PERF_OP_DELETE, (uint8_t)party, pk->ts_ns,
						pk->record, NULL, 0, err, errlen) ? -1 : 1;
		if (invite_like && s.sdp) {
			if (perf_call_add_op(m, (uint32_t)ci, PERF_OP_OFFER, (uint8_t)party, pk->ts_ns,
					     pk->record, s.body, s.body_len, err, errlen))
				return -1;
			c->pending_offer = party;
			return 1;
		}
		if (!strcmp(s.method, "INVITE") && !s.sdp) {
			late_set((uint32_t)ci, true); /* late offer: the 200 OK offers */
			return 1;
		}
		if ((!strcmp(s.method, "ACK") || !strcmp(s.method, "PRACK")) && s.sdp &&
		    c->pending_offer == 1 - party) {
			if (perf_call_add_op(m, (uint32_t)ci, PERF_OP_ANSWER, (uint8_t)party, pk->ts_ns,
					     pk->record, s.body, s.body_len, err, errlen))
				return -1;
			c->pending_offer = -1;
		}
		return 1;
	}
	/* responses */
	if (strcmp(s.method, "INVITE") && strcmp(s.method, "UPDATE") && strcmp(s.method, "PRACK"))
		return 1;
	if (s.status >= 300) {
		if (!strcmp(s.method, "INVITE") && !c->answered)
			return perf_call_add_op(m, (uint32_t)ci, PERF_OP_DELETE, (uint8_t)party, pk->ts_ns,
						pk->record, NULL, 0, err, errlen) ? -1 : 1;
		if (c->pending_offer == 1 - party)
			c->pending_offer = -1;
		return 1;
	}
	if (s.status < 180 || !s.sdp)
		return 1;
	if (ci < (int)g_late_cap && g_late[ci] && !strcmp(s.method, "INVITE") && s.status >= 200) {
		late_set((uint32_t)ci, false);
		if (perf_call_add_op(m, (uint32_t)ci, PERF_OP_OFFER, (uint8_t)party, pk->ts_ns,
				     pk->record, s.body, s.body_len, err, errlen))
			return -1;
		c->pending_offer = party;
		return 1;
	}
	/* an answer (18x or 2xx); a second one with another body re-answers */
	if (c->pending_offer == 1 - party ||
	    (c->nops && c->ops[c->nops - 1].kind == PERF_OP_ANSWER && c->ops[c->nops - 1].party == party)) {
		if (perf_call_add_op(m, (uint32_t)ci, PERF_OP_ANSWER, (uint8_t)party, pk->ts_ns,
				     pk->record, s.body, s.body_len, err, errlen))
			return -1;
		if (s.status >= 200)
			c->pending_offer = -1;
	}
	return 1;
}

/* ---- endpoints: what each SDP named ---- */

struct endpoint {
	struct perf_addr a;
	uint64_t t_ns;
	uint32_t call;
	uint8_t party, media, rtcp;
};

struct ep_table {
	struct endpoint *e;
	uint64_t n, cap;
	uint32_t *slot; /* hash of addresses: index + 1 of the first entry with it; chains in next */
	uint32_t *next;
	uint32_t size;
};

static uint32_t addr_hash(const struct perf_addr *a)
{
	uint32_t h = fnv((const char *)a->ip, a->family == 6 ? 16 : 4);

	return (h ^ a->port) * 2654435761u;
}

static int ep_add(struct ep_table *t, const struct perf_addr *a, uint64_t ts, uint32_t call,
		  uint8_t party, uint8_t media, uint8_t rtcp)
{
	if (!a->family || !a->port)
		return 0;
	if (perf_grow((void **)&t->e, &t->cap, t->n + 1, sizeof(*t->e)))
		return -1;
	t->e[t->n++] = (struct endpoint){*a, ts, call, party, media, rtcp};
	return 0;
}

static int ep_index(struct ep_table *t)
{
	t->size = 64;
	while (t->size < t->n * 2)
		t->size *= 2;
	t->slot = calloc(t->size, sizeof(*t->slot));
	t->next = calloc(t->n ? t->n : 1, sizeof(*t->next));
	if (!t->slot || !t->next)
		return -1;
	/* insert in reverse so that chains run in insertion (time) order */
	for (uint64_t i = t->n; i-- > 0;) {
		uint32_t h = addr_hash(&t->e[i].a) & (t->size - 1);

		t->next[i] = t->slot[h];
		t->slot[h] = (uint32_t)i + 1;
	}
	return 0;
}

/* the entry for a at time ts: the latest named at or before ts, else the first */
static const struct endpoint *ep_find(const struct ep_table *t, const struct perf_addr *a, uint64_t ts)
{
	const struct endpoint *best = NULL, *first = NULL;

	if (!t->size)
		return NULL;
	for (uint32_t v = t->slot[addr_hash(a) & (t->size - 1)]; v; v = t->next[v - 1]) {
		const struct endpoint *e = &t->e[v - 1];

		if (!perf_addr_eq(&e->a, a))
			continue;
		if (!first)
			first = e;
		if (e->t_ns <= ts && (!best || e->t_ns >= best->t_ns))
			best = e;
	}
	return best ? best : first;
}

static void ep_free(struct ep_table *t)
{
	free(t->e);
	free(t->slot);
	free(t->next);
	memset(t, 0, sizeof(*t));
}

/* ---- loading ---- */

struct raw_pkt {
	struct perf_addr src, dst;
};

static int classify(const uint8_t *p, uint32_t n, bool rtcp_port)
{
	if (n < 8 || (p[0] >> 6) != 2)
		return PERF_PKT_OTHER;
	if (p[1] >= 192 && p[1] <= 223) /* SR, RR, SDES, BYE, APP, RTPFB, PSFB, XR... */
		return PERF_PKT_RTCP;
	if (rtcp_port || n < 12)
		return PERF_PKT_OTHER;
	return PERF_PKT_RTP;
}

static int add_datagram(struct perf_model *m, struct raw_pkt **raw, uint64_t *raw_cap,
			const struct perf_cap_pkt *p)
{
	uint64_t cap = m->cap_pkts;
	struct perf_pkt *k;

	if (perf_grow((void **)&m->pkts, &cap, m->npkts + 1, sizeof(*m->pkts)) ||
	    perf_grow((void **)raw, raw_cap, m->npkts + 1, sizeof(**raw)) ||
	    perf_grow((void **)&m->data, &m->data_cap, m->data_len + p->len, 1))
		return -1;
	m->cap_pkts = cap;
	k = &m->pkts[m->npkts];
	memset(k, 0, sizeof(*k));
	k->t_ns = p->ts_ns;
	k->off = m->data_len;
	k->len = p->len;
	k->call = UINT32_MAX;
	k->stream = UINT32_MAX;
	if (p->len)
		memcpy(m->data + m->data_len, p->data, p->len);
	m->data_len += p->len;
	(*raw)[m->npkts] = (struct raw_pkt){p->src, p->dst};
	m->npkts++;
	return 0;
}

/* --auto: one call per pair of opposite flows (RTCP on the odd ports
 * beside an RTP pair joins it); each party's SDP names its address and
 * the payload types seen */
struct flow {
	struct perf_addr src, dst;
	uint64_t first;   /* first packet */
	uint64_t t_first;
	int call;         /* -1 */
	uint8_t party;
	bool rtcp;
	bool pt_seen[128];
	uint32_t pt_len[128]; /* a payload length seen with the pt (4 = an event) */
	bool pt_varies[128];
};

static int find_flow(struct flow *f, uint32_t nf, const struct perf_addr *src, const struct perf_addr *dst)
{
	for (uint32_t i = 0; i < nf; i++)
		if (perf_addr_eq(&f[i].src, src) && perf_addr_eq(&f[i].dst, dst))
			return (int)i;
	return -1;
}

static int auto_sdp(char *out, size_t outlen, const struct perf_addr *a, const struct flow *f1,
		    const struct flow *f2, char *err, size_t errlen)
{
	char ip[64], pts[256] = "", maps[1024] = "";
	size_t pl = 0, ml = 0;
	int any = 0, audio = 0;

	perf_addr_str(a, ip, sizeof(ip));
	*strrchr(ip, ':') = 0;
	for (int pt = 0; pt < 128; pt++) {
		bool seen = (f1 && f1->pt_seen[pt]) || (f2 && f2->pt_seen[pt]);
		const char *name = perf_sdp_pt_name(NULL, (uint8_t)pt);

		if (!seen)
			continue;
		any = 1;
		pl += (size_t)snprintf(pts + pl, sizeof(pts) - pl, " %d", pt);
		if (pl >= sizeof(pts))
			break;
		audio++;
		if (name[0])
			continue;
		if (pt >= 96) {
			const struct flow *f = f1 && f1->pt_seen[pt] ? f1 : f2;

			if (!f->pt_varies[pt] && f->pt_len[pt] == 4) {
				ml += (size_t)snprintf(maps + ml, sizeof(maps) - ml,
						       "a=rtpmap:%d telephone-event/8000\r\n", pt);
				audio--; /* not a voice codec */
				if (ml >= sizeof(maps))
					break;
				continue;
			}
		}
		snprintf(err, errlen,
			 "--auto cannot name payload type %d (dynamic, and not RFC 4733 events): "
			 "describe the call in a side file (--calls)", pt);
		return -1;
	}
	if (!any) {
		snprintf(err, errlen, "--auto: flow to %s carries no RTP", ip);
		return -1;
	}
	if (!audio) {
		/* only RFC 4733 events (sipp's dtmf_2833 captures): an 8 kHz voice
		 * codec for them to ride beside, PCMU */
		char more[sizeof(pts)];

		snprintf(more, sizeof(more), " 0%s", pts);
		memcpy(pts, more, sizeof(pts));
	}
	snprintf(out, outlen,
		 "v=0\r\no=- 1 1 IN IP%c %s\r\ns=replay\r\nc=IN IP%c %s\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP%s\r\n%s",
		 a->family == 6 ? '6' : '4', ip[0] == '[' ? ip + 1 : ip, a->family == 6 ? '6' : '4',
		 ip[0] == '[' ? ip + 1 : ip, a->port, pts, maps);
	{
		char *rb = strchr(out, ']'); /* [v6] brackets are not SDP */

		while (rb) {
			memmove(rb, rb + 1, strlen(rb));
			rb = strchr(rb, ']');
		}
	}
	return 0;
}

static int auto_calls(struct perf_model *m, const struct raw_pkt *raw, char *err, size_t errlen)
{
	struct flow *f = NULL;
	uint32_t nf = 0;
	uint64_t fcap = 0;
	int rc = -1;

	for (uint64_t i = 0; i < m->npkts; i++) {
		uint32_t len = m->pkts[i].len;
		const uint8_t *p = len ? m->data + m->pkts[i].off : (const uint8_t *)""; /* no data: m->data may be NULL */
		int k = find_flow(f, nf, &raw[i].src, &raw[i].dst);
		int kind = classify(p, len, false);

		if (k < 0) {
			if (perf_grow((void **)&f, &fcap, (uint64_t)nf + 1, sizeof(*f)))
				goto oom;
			k = (int)nf++;
			memset(&f[k], 0, sizeof(f[k]));
			f[k].src = raw[i].src;
			f[k].dst = raw[i].dst;
			f[k].first = i;
			f[k].t_first = m->pkts[i].t_ns;
			f[k].call = -1;
			f[k].rtcp = kind == PERF_PKT_RTCP;
		}
		if (kind == PERF_PKT_RTP) {
			uint8_t pt = p[1] & 0x7f;

			if (f[k].pt_seen[pt] && f[k].pt_len[pt] != len - 12)
				f[k].pt_varies[pt] = true;
			f[k].pt_seen[pt] = true;
			f[k].pt_len[pt] = len - 12;
		}
	}
	for (uint32_t i = 0; i < nf; i++) {
		char id[64], sdp_a[2048], sdp_b[2048];
		int rev, ci;

		if (f[i].call >= 0 || f[i].rtcp)
			continue;
		rev = find_flow(f, nf, &f[i].dst, &f[i].src);
		snprintf(id, sizeof(id), "auto-%u", m->ncalls + 1);
		if (auto_sdp(sdp_a, sizeof(sdp_a), &f[i].src, &f[i], rev >= 0 ? &f[rev] : NULL, err, errlen) ||
		    auto_sdp(sdp_b, sizeof(sdp_b), &f[i].dst, &f[i], rev >= 0 ? &f[rev] : NULL, err, errlen))
			goto out;
		ci = perf_model_add_call(m, id, "auto-a", "auto-b");
		if (ci < 0)
			goto oom;
		f[i].call = ci;
		f[i].party = 0;
		if (rev >= 0) {
			f[rev].call = ci;
			f[rev].party = 1;
		}
		if (perf_call_add_op(m, (uint32_t)ci, PERF_OP_OFFER, 0, f[i].t_first, 0, sdp_a,
				     strlen(sdp_a), err, errlen) ||
		    perf_call_add_op(m, (uint32_t)ci, PERF_OP_ANSWER, 1, f[i].t_first, 0, sdp_b,
				     strlen(sdp_b), err, errlen))
			goto out;
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(f);
	return rc;
}

/* assign each datagram to the party and section whose SDP named its
 * destination (or, failing that, its source: symmetric RTP) */
static int assign(struct perf_model *m, const struct raw_pkt *raw, char *err, size_t errlen)
{
	struct ep_table t = {0};
	struct perf_addr *unflows = NULL;
	uint64_t ucap = 0;

	for (uint32_t ci = 0; ci < m->ncalls; ci++) {
		const struct perf_call *c = &m->calls[ci];

		for (int o = 0; o < c->nops; o++) {
			const struct perf_op *op = &c->ops[o];
			struct perf_sdp s;
			char why[160];

			if (op->kind == PERF_OP_DELETE || perf_sdp_parse(op->sdp, op->sdp_len, &s, why, sizeof(why)))
				continue;
			for (int i = 0; i < s.nmedia; i++) {
				if (ep_add(&t, &s.m[i].addr, op->t_ns, ci, op->party, (uint8_t)i, 0) ||
				    (!s.m[i].rtcp_mux &&
				     ep_add(&t, &s.m[i].rtcp, op->t_ns, ci, op->party, (uint8_t)i, 1)))
					goto oom;
			}
		}
	}
	if (ep_index(&t))
		goto oom;
	for (uint64_t i = 0; i < m->npkts; i++) {
		struct perf_pkt *k = &m->pkts[i];
		const struct endpoint *e = ep_find(&t, &raw[i].dst, k->t_ns);
		uint8_t party;

		if (e) {
			party = (uint8_t)(1 - e->party);
		} else if ((e = ep_find(&t, &raw[i].src, k->t_ns))) {
			party = e->party;
		} else {
			bool seen = false;

			m->unassigned++;
			for (uint64_t j = 0; j < m->unassigned_flows && !seen; j++)
				seen = perf_addr_eq(&unflows[j], &raw[i].dst);
			if (!seen) {
				if (perf_grow((void **)&unflows, &ucap, m->unassigned_flows + 1, sizeof(*unflows)))
					goto oom;
				unflows[m->unassigned_flows++] = raw[i].dst;
			}
			continue;
		}
		k->call = e->call;
		k->party = party;
		k->media = e->media;
		k->rtcp_port = e->rtcp;
		k->kind = (uint8_t)classify(m->data + k->off, k->len, e->rtcp);
	}
	ep_free(&t);
	free(unflows);
	return 0;
oom:
	ep_free(&t);
	free(unflows);
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* the RTP streams: (call, party, media, ssrc) */
static const struct perf_stream *g_sort_stream;

static int by_seq_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint16_t sx = g_sort_stream->seq[x], sy = g_sort_stream->seq[y];

	if (sx != sy)
		return sx < sy ? -1 : 1;
	return x < y ? -1 : x > y;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int build_streams(struct perf_model *m, char *err, size_t errlen)
{
	uint32_t size = 64, *slot;
	uint64_t cap = 0;

	while (size < m->npkts * 2 + 2)
		size *= 2;
	slot = calloc(size, sizeof(*slot));
	if (!slot)
		goto oom;
	for (uint64_t i = 0; i < m->npkts; i++) {
		struct perf_pkt *k = &m->pkts[i];
		const uint8_t *p = m->data + k->off;
		uint32_t ssrc, h, j;

		if (k->call == UINT32_MAX || k->kind != PERF_PKT_RTP)
			continue;
		ssrc = rd32(p + 8);
		h = (ssrc * 2654435761u) ^ (k->call * 40503u) ^ ((uint32_t)k->party << 30) ^ k->media;
		for (j = h & (size - 1);; j = (j + 1) & (size - 1)) {
			struct perf_stream *s;

			if (!slot[j]) {
				if (perf_grow((void **)&m->streams, &cap, (uint64_t)m->nstreams + 1, sizeof(*m->streams)))
					goto oom;
				s = &m->streams[m->nstreams];
				memset(s, 0, sizeof(*s));
				s->call = k->call;
				s->party = k->party;
				s->media = k->media;
				s->ssrc = ssrc;
				slot[j] = ++m->nstreams;
				break;
			}
			s = &m->streams[slot[j] - 1];
			if (s->call == k->call && s->party == k->party && s->media == k->media && s->ssrc == ssrc)
				break;
		}
		k->stream = slot[j] - 1;
		k->index = m->streams[k->stream].npkts++;
		m->streams[k->stream].pt_count[p[1] & 0x7f]++;
	}
	free(slot);
	for (uint32_t si = 0; si < m->nstreams; si++) {
		struct perf_stream *s = &m->streams[si];
		const struct perf_call *c = &m->calls[s->call];
		const struct perf_sdp_media *md =
			s->media < c->sdp[s->party].nmedia ? &c->sdp[s->party].m[s->media] : NULL;
		uint32_t best = 0;

		s->by_seq = malloc(s->npkts * sizeof(*s->by_seq));
		s->seq = malloc(s->npkts * sizeof(*s->seq));
		s->pkt = malloc(s->npkts * sizeof(*s->pkt));
		if (!s->by_seq || !s->seq || !s->pkt)
			goto oom;
		s->main_pt = 255;
		for (int pt = 0; pt < 128; pt++) {
			const char *name = perf_sdp_pt_name(md, (uint8_t)pt);

			if (s->pt_count[pt] > best && strcasecmp(name, "telephone-event") && strcasecmp(name, "CN")) {
				best = s->pt_count[pt];
				s->main_pt = (uint8_t)pt;
			}
		}
		if (s->main_pt != 255) {
			snprintf(s->codec, sizeof(s->codec), "%s", perf_sdp_pt_name(md, s->main_pt));
			s->clock = perf_sdp_clock(md, s->main_pt);
		} else {
			for (int pt = 0; pt < 128; pt++)
				if (s->pt_count[pt]) {
					snprintf(s->codec, sizeof(s->codec), "%s", perf_sdp_pt_name(md, (uint8_t)pt));
					s->clock = perf_sdp_clock(md, (uint8_t)pt);
					break;
				}
		}
	}
	for (uint64_t i = 0; i < m->npkts; i++) {
		const struct perf_pkt *k = &m->pkts[i];
		struct perf_stream *s;

		if (k->stream == UINT32_MAX)
			continue;
		s = &m->streams[k->stream];
		s->seq[k->index] = (uint16_t)(m->data[k->off + 2] << 8 | m->data[k->off + 3]);
		s->pkt[k->index] = (uint32_t)i;
		s->by_seq[k->index] = k->index;
	}
	for (uint32_t si = 0; si < m->nstreams; si++) {
		g_sort_stream = &m->streams[si];
		qsort(m->streams[si].by_seq, m->streams[si].npkts, sizeof(uint32_t), by_seq_cmp);
	}
	return 0;
oom:
	free(slot);
	snprintf(err, errlen, "out of memory");
	return -1;
}

int perf_model_from_cap(struct perf_model *m, struct perf_cap *c, const struct perf_model_opts *o,
			char *err, size_t errlen)
{
	struct raw_pkt *raw = NULL;
	uint64_t raw_cap = 0;
	struct perf_cap_pkt p;
	int rc;

	memset(m, 0, sizeof(*m));
	free(g_ids.slot);
	memset(&g_ids, 0, sizeof(g_ids));
	free(g_late);
	g_late = NULL;
	g_late_cap = 0;
	while ((rc = perf_cap_next(c, &p, err, errlen)) == 1) {
		int sip = perf_sip_feed(m, &p, err, errlen);

		if (sip < 0)
			goto fail;
		if (!m->t_first || p.ts_ns < m->t_first)
			m->t_first = p.ts_ns;
		if (p.ts_ns > m->t_last)
			m->t_last = p.ts_ns;
		if (sip == 0 && add_datagram(m, &raw, &raw_cap, &p)) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	m->cap = *perf_cap_stats(c);
	if (rc < 0)
		goto fail;
	if (m->cap.cut && !o->skip_cut) {
		snprintf(err, errlen,
			 "%llu record(s) cut by the snaplen (the first is record %llu): their payloads are "
			 "incomplete; --skip-cut replays the rest",
			 (unsigned long long)m->cap.cut, (unsigned long long)m->cap.first_cut);
		goto fail;
	}
	if (m->ncalls) {
		snprintf(m->source, sizeof(m->source), "sip");
		if (o->side_file) {
			snprintf(err, errlen, "the capture holds SIP calls: a side file (--calls) is not used with them");
			goto fail;
		}
	} else if (o->side_file) {
		snprintf(m->source, sizeof(m->source), "side file");
		if (perf_side_load(m, o->side_file, err, errlen))
			goto fail;
	} else if (o->auto_calls) {
		snprintf(m->source, sizeof(m->source), "auto");
		if (auto_calls(m, raw, err, errlen))
			goto fail;
	} else {
		snprintf(err, errlen,
			 "the capture holds no SIP call: name the calls in a side file (--calls FILE) or "
			 "let --auto make one call per flow pair");
		goto fail;
	}
	if (!m->ncalls) {
		snprintf(err, errlen, "no call to replay");
		goto fail;
	}
	if (assign(m, raw, err, errlen) || build_streams(m, err, errlen))
		goto fail;
	free(raw);
	free(g_ids.slot);
	memset(&g_ids, 0, sizeof(g_ids));
	return 0;
fail:
	free(raw);
	free(g_ids.slot);
	memset(&g_ids, 0, sizeof(g_ids));
	return -1;
}

int perf_model_load(struct perf_model *m, const char *capture, const struct perf_model_opts *o,
		    char *err, size_t errlen)
{
	struct perf_cap *c;
	char why[512];
	int rc;

	memset(m, 0, sizeof(*m));
	if (perf_cap_open(&c, capture, err, errlen))
		return -1;
	rc = perf_model_from_cap(m, c, o, why, sizeof(why));
	if (rc)
		snprintf(err, errlen, "%s%s%s", strncmp(why, capture, strlen(capture)) ? capture : "",
			 strncmp(why, capture, strlen(capture)) ? ": " : "", why);
	perf_cap_close(c);
	return rc;
}

void perf_model_free(struct perf_model *m)
{
	for (uint32_t i = 0; i < m->ncalls; i++) {
		for (int o = 0; o < m->calls[i].nops; o++)
			free(m->calls[i].ops[o].sdp);
		free(m->calls[i].ops);
	}
	for (uint32_t i = 0; i < m->nstreams; i++) {
		free(m->streams[i].by_seq);
		free(m->streams[i].seq);
		free(m->streams[i].pkt);
	}
	free(m->calls);
	free(m->pkts);
	free(m->data);
	free(m->streams);
	free(g_late);
	g_late = NULL;
	g_late_cap = 0;
	memset(m, 0, sizeof(*m));
}
