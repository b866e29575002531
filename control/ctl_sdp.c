/* SPDX-License-Identifier: MIT
 * ctl_sdp: the model's memory and the parser (see ctl_sdp.h). The other
 * files behind ctl_sdp.h, and what they share, are in ctl_sdp_int.h. */
#include "ctl_sdp.h"

#include <errno.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_sdp_int.h"

/* ------------------------------------------------------------------ */
/* Memory: a chain of blocks owned by one description                   */

struct ctl_sdp_mem {
	struct ctl_sdp_mem *next;
	size_t size, used;
	alignas(max_align_t) unsigned char data[];
};

#define MEM_BLOCK 8192

static struct ctl_sdp_mem *mem_block(struct ctl_sdp *s, size_t size)
{
	struct ctl_sdp_mem *b = malloc(sizeof(*b) + size);

	if (!b)
		return NULL;
	b->size = size;
	b->used = 0;
	b->next = s->mem;
	s->mem = b;
	return b;
}

void *ctl_sdp_mem_alloc(struct ctl_sdp *s, size_t n)
{
	struct ctl_sdp_mem *b = s->mem;
	void *p;

	n = (n + 15u) & ~(size_t)15u;
	if (!b || b->size - b->used < n) {
		b = mem_block(s, n > MEM_BLOCK ? n : MEM_BLOCK);
		if (!b)
			return NULL;
	}
	p = b->data + b->used;
	b->used += n;
	return p;
}

char *ctl_sdp_mem_strndup(struct ctl_sdp *s, const char *p, size_t n)
{
	char *c = ctl_sdp_mem_alloc(s, n + 1);

	if (c) {
		memcpy(c, p, n);
		c[n] = '\0';
	}
	return c;
}

const char *ctl_sdp_strdup(struct ctl_sdp *s, const char *str)
{
	return str ? ctl_sdp_mem_strndup(s, str, strlen(str)) : NULL;
}

void ctl_sdp_free(struct ctl_sdp *s)
{
	struct ctl_sdp_mem *b, *next;

	if (!s)
		return;
	for (b = s->mem; b; b = next) {
		next = b->next;
		free(b);
	}
	memset(s, 0, sizeof(*s));
}

/* Make room for one more element in a growable array of the model. */
int ctl_sdp_grow(struct ctl_sdp *s, void **v, unsigned *cap, unsigned n, unsigned limit,
		 size_t elem)
{
	unsigned ncap;
	void *nv;

	if (n >= limit)
		return -E2BIG;
	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap > limit)
		ncap = limit;
	nv = ctl_sdp_mem_alloc(s, (size_t)ncap * elem);
	if (!nv)
		return -ENOMEM;
	if (n)
		memcpy(nv, *v, (size_t)n * elem);
	*v = nv;
	*cap = ncap;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Parser                                                               */

struct parser {
	struct ctl_sdp s;
	struct ctl_sdp_media *m; /* current media section, NULL at session level */
	unsigned media_cap, line;
	unsigned m_line[CTL_SDP_MAX_MEDIA];
	bool have_o, have_s, have_t;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct parser *P, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (P->errlen) {
		n = snprintf(P->err, P->errlen, "line %u: ", P->line);
		if (n >= 0 && (size_t)n < P->errlen) {
			va_start(ap, fmt);
			vsnprintf(P->err + n, P->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -EINVAL;
}

static int nomem(struct parser *P)
{
	if (P->errlen)
		snprintf(P->err, P->errlen, "out of memory");
	return -ENOMEM;
}

/* Rank of a line type in RFC 8866 order; c= is 5. */
static int line_rank(char type)
{
	switch (type) {
	case 'i': return 1;
	case 'u': return 2;
	case 'e': return 3;
	case 'p': return 4;
	case 'b': return 6;
	case 't': case 'r': return 7;
	case 'z': return 8;
	case 'k': return 9;
	default: return 10;
	}
}

static int add_line(struct parser *P, struct ctl_sdp_lines *l, char type, const char *value)
{
	unsigned pos;
	int rc = ctl_sdp_grow(&P->s, (void **)&l->v, &l->cap, l->n, CTL_SDP_MAX_LINES,
			      sizeof(*l->v));

	if (rc == -E2BIG)
		return fail(P, "too many i/u/e/p/b/t/r/z/k lines in one section (limit %d)",
			    CTL_SDP_MAX_LINES);
	if (rc)
		return nomem(P);
	for (pos = l->n; pos > 0 && line_rank(l->v[pos - 1].type) > line_rank(type); pos--)
		;
	memmove(&l->v[pos + 1], &l->v[pos], (l->n - pos) * sizeof(*l->v));
	l->v[pos].type = type;
	l->v[pos].value = value;
	l->n++;
	return 0;
}

static int parse_conn(struct parser *P, char *v, struct ctl_sdp_conn *c)
{
	struct ctl_sdp_tok t[4];
	char why[160], *slash;
	const char *suffix = "";

	if (c->present)
		return fail(P, "second c= line in one section");
	if (ctl_sdp_tokenize(v, t, 3) != 3)
		return fail(P, "c= needs network type, address type and address");
	if (!ctl_sdp_tok_is(&t[0], "IN"))
		return fail(P, "unsupported network type '%.*s' in c=", (int)(t[0].n > 32 ? 32 : t[0].n),
			    t[0].p);
	for (unsigned i = 0; i < 3; i++)
		((char *)t[i].p)[t[i].n] = '\0'; /* v is our own copy */
	slash = strchr(t[2].p, '/');
	if (slash) {
		/* multicast: IP4 "/ttl[/count]", IP6 "/count" */
		const char *q = slash + 1;
		unsigned groups = 0;
		uint64_t x;

		suffix = ctl_sdp_strdup(&P->s, slash);
		if (!suffix)
			return nomem(P);
		while (*q) {
			size_t n = strcspn(q, "/");

			if (!ctl_sdp_parse_num(q, n, 65535, &x) || ++groups > 2)
				return fail(P, "bad multicast suffix in c=");
			q += n;
			if (*q)
				q++;
		}
		if (slash[strlen(slash) - 1] == '/')
			return fail(P, "bad multicast suffix in c=");
		*slash = '\0';
	}
	if (ctl_sdp_addr_check(t[1].p, t[2].p, why))
		return fail(P, "%s in c=", why);
	c->present = true;
	c->nettype = t[0].p;
	c->addrtype = t[1].p;
	c->addr = t[2].p;
	c->suffix = suffix;
	return 0;
}

static int parse_origin(struct parser *P, char *v)
{
	struct ctl_sdp_tok t[6];
	const char **f[6] = { &P->s.origin.username, &P->s.origin.sess_id, &P->s.origin.sess_version,
			      &P->s.origin.nettype, &P->s.origin.addrtype, &P->s.origin.addr };

	if (P->have_o)
		return fail(P, "second o= line");
	if (ctl_sdp_tokenize(v, t, 6) != 6)
		return fail(P, "o= needs 6 fields (username sess-id sess-version nettype addrtype address)");
	for (unsigned i = 0; i < 6; i++) {
		((char *)t[i].p)[t[i].n] = '\0';
		*f[i] = t[i].p;
	}
	P->have_o = true;
	return 0;
}

static int parse_media(struct parser *P, char *v)
{
	struct ctl_sdp_tok t[3 + CTL_SDP_MAX_FMTS + 1];
	struct ctl_sdp_media *m;
	unsigned nt = ctl_sdp_tokenize(v, t, 3 + CTL_SDP_MAX_FMTS);
	const char *slash;
	uint64_t port, count = 0;

	if (P->s.n_media == CTL_SDP_MAX_MEDIA)
		return fail(P, "too many media sections (limit %d)", CTL_SDP_MAX_MEDIA);
	if (nt > 3 + CTL_SDP_MAX_FMTS)
		return fail(P, "too many formats in m= (limit %d)", CTL_SDP_MAX_FMTS);
	if (nt < 4)
		return fail(P, "m= needs media, port, protocol and at least one format");
	for (unsigned i = 0; i < nt; i++)
		((char *)t[i].p)[t[i].n] = '\0';
	slash = memchr(t[1].p, '/', t[1].n);
	if (!ctl_sdp_parse_num(t[1].p, slash ? (size_t)(slash - t[1].p) : t[1].n, 65535, &port) ||
	    (slash &&
	     (!ctl_sdp_parse_num(slash + 1, strlen(slash + 1), 65535, &count) || count == 0)))
		return fail(P, "bad port '%.16s' in m=", t[1].p);
	if (P->s.n_media == P->media_cap) {
		/* the pre-count was fooled (cannot happen for well-formed text) */
		return fail(P, "too many media sections");
	}
	m = &P->s.media[P->s.n_media];
	memset(m, 0, sizeof(*m));
	m->type = t[0].p;
	m->port = (uint16_t)port;
	m->port_count = (uint16_t)count;
	m->proto = t[2].p;
	if (!ctl_sdp_is_token(m->type, strlen(m->type)) || !ctl_sdp_is_proto(m->proto))
		return fail(P, "bad media type or protocol in m=");
	m->n_fmts = nt - 3;
	for (unsigned i = 0; i < m->n_fmts; i++)
		m->fmts[i] = t[3 + i].p;
	if (ctl_sdp_media_is_rtp(m)) {
		bool seen[128] = { false };

		for (unsigned i = 0; i < m->n_fmts; i++) {
			int pt = ctl_sdp_media_pt(m, i);

			if (pt < 0)
				return fail(P, "bad payload type '%.16s' in m=", m->fmts[i]);
			if (seen[pt])
				return fail(P, "payload type %d twice in m=", pt);
			seen[pt] = true;
		}
	}
	P->m_line[P->s.n_media++] = P->line;
	P->m = m;
	return 0;
}

static int parse_attr_line(struct parser *P, char *v)
{
	struct ctl_sdp_attrs *as = ctl_sdp_attrs_of(&P->s, P->m);
	char *colon = strchr(v, ':');
	struct ctl_sdp_attr a;
	char why[160];
	int rc;

	if (colon)
		*colon = '\0';
	rc = ctl_sdp_grow(&P->s, (void **)&as->v, &as->cap, as->n, CTL_SDP_MAX_ATTRS,
			  sizeof(*as->v));
	if (rc == -E2BIG)
		return fail(P, "too many attributes in one section (limit %d)", CTL_SDP_MAX_ATTRS);
	if (rc)
		return nomem(P);
	rc = ctl_sdp_attr_make(&P->s, P->m, v, colon ? colon + 1 : NULL, false, &a, why);
	if (rc == -ENOMEM)
		return nomem(P);
	if (rc)
		return fail(P, "%s", why);
	as->v[as->n++] = a;
	return 0;
}

static int parse_line(struct parser *P, char type, char *v)
{
	struct ctl_sdp_tok t[3];
	struct ctl_sdp_lines *lines = P->m ? &P->m->lines : &P->s.lines;
	uint64_t x;

	if (P->m && strchr("vosuepztr", type))
		return fail(P, "%c= is not allowed in a media section", type);
	switch (type) {
	case 'v':
		return fail(P, "second v= line");
	case 'o':
		return parse_origin(P, v);
	case 's':
		if (P->have_s)
			return fail(P, "second s= line");
		P->have_s = true;
		P->s.name = v;
		return 0;
	case 'c':
		return parse_conn(P, v, P->m ? &P->m->conn : &P->s.conn);
	case 'm':
		return parse_media(P, v);
	case 'a':
		return parse_attr_line(P, v);
	case 't':
		if (ctl_sdp_tokenize(v, t, 2) != 2 ||
		    !ctl_sdp_parse_num(t[0].p, t[0].n, UINT64_MAX, &x) ||
		    !ctl_sdp_parse_num(t[1].p, t[1].n, UINT64_MAX, &x))
			return fail(P, "t= needs start and stop times");
		P->have_t = true;
		break;
	case 'r':
		if (!P->have_t)
			return fail(P, "r= without a preceding t=");
		if (ctl_sdp_tokenize(v, t, 2) != 3)
			return fail(P, "r= needs interval, duration and offsets");
		break;
	case 'b': {
		const char *colon = strchr(v, ':');

		if (!colon || !ctl_sdp_is_token(v, (size_t)(colon - v)) ||
		    !ctl_sdp_parse_num(colon + 1, strlen(colon + 1), UINT64_MAX, &x))
			return fail(P, "b= needs bwtype:bandwidth");
		break;
	}
	case 'i': case 'u': case 'e': case 'p': case 'z': case 'k':
		break;
	default:
		/* RFC 8866 §5: a description with an unknown type letter is ignored */
		return fail(P, "unknown line type '%c='", type);
	}
	return add_line(P, lines, type, v);
}

/* Whether only blank lines remain from p. */
static bool rest_blank(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return false;
	return true;
}

int ctl_sdp_parse(const char *text, size_t len, struct ctl_sdp *out, char *err, size_t errlen)
{
	struct parser P = { .err = err, .errlen = errlen, .line = 1 };
	const char *p, *end = text + len;
	unsigned count = 1;
	int rc = -EINVAL;

	if (!err)
		P.errlen = errlen = 0;
	if (errlen)
		err[0] = '\0';
	if (!out || (!text && len))
		return -EINVAL;
	if (len == 0)
		return fail(&P, "empty SDP");
	if (len > CTL_SDP_MAX_LEN)
		return fail(&P, "SDP of %zu bytes is over the %d accepted", len, CTL_SDP_MAX_LEN);
	for (p = text; (p = memchr(p, '\n', (size_t)(end - p))) && count <= CTL_SDP_MAX_MEDIA; p++)
		if (end - p > 2 && p[1] == 'm' && p[2] == '=')
			count++;
	/* one block holds a typical description: copies of the text, plus
	 * the media array and attribute arrays */
	P.media_cap = count > CTL_SDP_MAX_MEDIA ? CTL_SDP_MAX_MEDIA : count;
	if (!mem_block(&P.s, len * 2 + 4096 + P.media_cap * sizeof(struct ctl_sdp_media)) ||
	    !(P.s.media = ctl_sdp_mem_alloc(&P.s, P.media_cap * sizeof(struct ctl_sdp_media)))) {
		rc = nomem(&P);
		goto out;
	}
	for (p = text; p < end; P.line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end, *le = nl ? nl : end;
		char *v;

		if (le > p && le[-1] == '\r')
			le--;
		while (le > p && (le[-1] == ' ' || le[-1] == '\t'))
			le--;
		for (const char *q = p; q < le; q++) {
			unsigned char c = (unsigned char)*q;

			if (c == 0) {
				rc = fail(&P, "NUL byte");
				goto out;
			}
			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				rc = fail(&P, "control character 0x%02x", c);
				goto out;
			}
		}
		if (le == p) {
			if (rest_blank(p, end) && P.line > 1)
				break;
			rc = fail(&P, "empty line");
			goto out;
		}
		if (le - p < 2 || p[1] != '=' || p[0] < 'a' || p[0] > 'z') {
			rc = fail(&P, "not a \"x=value\" line");
			goto out;
		}
		if (P.line == 1 && (p[0] != 'v' || le - p != 3 || p[2] != '0')) {
			rc = fail(&P, p[0] == 'v' ? "unsupported SDP version (only v=0)"
						  : "SDP must start with v=0");
			goto out;
		}
		if (P.line > 1) {
			v = ctl_sdp_mem_strndup(&P.s, p + 2, (size_t)(le - p - 2));
			if (!v) {
				rc = nomem(&P);
				goto out;
			}
			rc = parse_line(&P, p[0], v);
			if (rc)
				goto out;
		}
		p = next;
	}
	P.line--;
	if (!P.have_o || !P.have_s) {
		rc = fail(&P, "SDP ends without %s= line", P.have_o ? "s" : "o");
		goto out;
	}
	for (unsigned i = 0; i < P.s.n_media; i++)
		if (!P.s.conn.present && !P.s.media[i].conn.present) {
			P.line = P.m_line[i];
			rc = fail(&P, "media section has no c= and there is no session-level c=");
			goto out;
		}
	*out = P.s;
	return 0;
out:
	ctl_sdp_free(&P.s);
	return rc;
}
