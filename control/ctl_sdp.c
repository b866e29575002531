/* SPDX-License-Identifier: MIT
 * ctl_sdp: the parser, the model's memory and the attribute primitives (see
 * ctl_sdp.h). The writer, equality, queries and edit helpers are in
 * ctl_sdp_write.c. */
#include "ctl_sdp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void *mem_alloc(struct ctl_sdp *s, size_t n)
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

static char *mem_strndup(struct ctl_sdp *s, const char *p, size_t n)
{
	char *c = mem_alloc(s, n + 1);

	if (c) {
		memcpy(c, p, n);
		c[n] = '\0';
	}
	return c;
}

const char *ctl_sdp_strdup(struct ctl_sdp *s, const char *str)
{
	return str ? mem_strndup(s, str, strlen(str)) : NULL;
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
static int grow(struct ctl_sdp *s, void **v, unsigned *cap, unsigned n, unsigned limit, size_t elem)
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
	nv = mem_alloc(s, (size_t)ncap * elem);
	if (!nv)
		return -ENOMEM;
	if (n)
		memcpy(nv, *v, (size_t)n * elem);
	*v = nv;
	*cap = ncap;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Small lexical helpers                                                */

struct tok {
	const char *p;
	size_t n;
};

/* Split v on runs of spaces/tabs; fills up to max tokens and returns the
 * number found (max + 1 means "more than max"). */
static unsigned tokenize(const char *v, struct tok *t, unsigned max)
{
	unsigned n = 0;

	for (;;) {
		while (*v == ' ' || *v == '\t')
			v++;
		if (!*v)
			return n;
		if (n == max)
			return max + 1;
		t[n].p = v;
		while (*v && *v != ' ' && *v != '\t')
			v++;
		t[n].n = (size_t)(v - t[n].p);
		n++;
	}
}

static bool tok_is(const struct tok *t, const char *s)
{
	return t->n == strlen(s) && memcmp(t->p, s, t->n) == 0;
}

/* Decimal digits only, 1..19 of them, value <= max. */
static bool parse_num(const char *p, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* RFC 8866 token-char: visible ASCII except "(),/:;<=>?@[\]{} and '"'... the
 * SDP grammar's token excludes only a few; we use its exact set. */
static bool token_char(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b || c == 0x2d ||
	       c == 0x2e || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) ||
	       (c >= 0x5e && c <= 0x7e);
}

bool ctl_sdp_is_token(const char *p, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!token_char((unsigned char)p[i]))
			return false;
	return true;
}

/* proto = token *("/" token) */
static bool is_proto(const char *p)
{
	size_t n;

	for (;;) {
		n = strcspn(p, "/");
		if (!ctl_sdp_is_token(p, n))
			return false;
		if (!p[n])
			return true;
		p += n + 1;
	}
}

/* No control characters but tab. */
static bool text_ok(const char *v)
{
	for (; *v; v++)
		if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
			return false;
	return true;
}

/* Check a c=/a=rtcp address against its type. NULL when fine, else a reason
 * written to why (which has room for 160 bytes). */
static const char *addr_check(const char *addrtype, const char *addr, char why[160])
{
	unsigned char buf[16];
	bool letters = false, hostchars = true;

	if (strcmp(addrtype, "IP4") && strcmp(addrtype, "IP6")) {
		snprintf(why, 160, "unsupported address type '%.32s'", addrtype);
		return why;
	}
	if (inet_pton(strcmp(addrtype, "IP4") ? AF_INET6 : AF_INET, addr, buf) == 1)
		return NULL;
	if (inet_pton(strcmp(addrtype, "IP4") ? AF_INET : AF_INET6, addr, buf) == 1) {
		snprintf(why, 160, "address '%.64s' does not match address type %s", addr, addrtype);
		return why;
	}
	for (const char *p = addr; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			letters = true;
		else if (!(*p >= '0' && *p <= '9') && *p != '.' && *p != '-')
			hostchars = false;
	}
	if (letters && hostchars)
		snprintf(why, 160, "unsupported: host name '%.64s' (numeric addresses only)", addr);
	else
		snprintf(why, 160, "bad %s address '%.64s'", addrtype, addr);
	return why;
}

/* ------------------------------------------------------------------ */
/* Attributes: classification into parsed forms                          */

static const struct {
	const char *name;
	enum ctl_sdp_atype type;
	bool property; /* recognised only without a value */
} known_attrs[] = {
	{ "rtpmap", CTL_SDP_A_RTPMAP, false },
	{ "fmtp", CTL_SDP_A_FMTP, false },
	{ "rtcp-fb", CTL_SDP_A_RTCP_FB, false },
	{ "ptime", CTL_SDP_A_PTIME, false },
	{ "maxptime", CTL_SDP_A_MAXPTIME, false },
	{ "rtcp", CTL_SDP_A_RTCP, false },
	{ "rtcp-mux", CTL_SDP_A_RTCP_MUX, true },
	{ "crypto", CTL_SDP_A_CRYPTO, false },
	{ "sendrecv", CTL_SDP_A_DIRECTION, true },
	{ "sendonly", CTL_SDP_A_DIRECTION, true },
	{ "recvonly", CTL_SDP_A_DIRECTION, true },
	{ "inactive", CTL_SDP_A_DIRECTION, true },
	{ "ice-ufrag", CTL_SDP_A_ICE_UFRAG, false },
	{ "ice-pwd", CTL_SDP_A_ICE_PWD, false },
	{ "ice-options", CTL_SDP_A_ICE_OPTIONS, false },
	{ "ice-lite", CTL_SDP_A_ICE_LITE, false },
	{ "candidate", CTL_SDP_A_CANDIDATE, false },
	{ "end-of-candidates", CTL_SDP_A_END_OF_CANDIDATES, false },
	{ "remote-candidates", CTL_SDP_A_REMOTE_CANDIDATES, false },
	{ "ice-mismatch", CTL_SDP_A_ICE_MISMATCH, false },
	{ "ice-pacing", CTL_SDP_A_ICE_PACING, false },
	{ "mid", CTL_SDP_A_MID, false },
	{ "setup", CTL_SDP_A_SETUP, false },
	{ "fingerprint", CTL_SDP_A_FINGERPRINT, false },
};

/* "pt" at the start of v: 1-3 digits <= 127 followed by a space, tab or the
 * end. Returns the length consumed or 0. */
static size_t lead_pt(const char *v, uint8_t *pt)
{
	size_t n = strcspn(v, " \t");
	uint64_t x;

	if (!parse_num(v, n, 127, &x) || n > 3)
		return 0;
	*pt = (uint8_t)x;
	return n;
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Fill a->type and a->u from a->name and a->value (both in s's memory).
 * Returns 0 (a known attribute parsed, or CTL_SDP_A_OTHER); -EINVAL with
 * *why for a malformed known attribute; -ENOMEM. */
static int attr_classify(struct ctl_sdp *s, struct ctl_sdp_attr *a, char why[160])
{
	const char *v = a->value;
	struct tok t[5];
	uint64_t x;
	size_t n;
	unsigned i, nt;

	a->type = CTL_SDP_A_OTHER;
	memset(&a->u, 0, sizeof(a->u));
	for (i = 0; i < sizeof(known_attrs) / sizeof(known_attrs[0]); i++)
		if (!strcmp(a->name, known_attrs[i].name))
			break;
	if (i == sizeof(known_attrs) / sizeof(known_attrs[0]))
		return 0;
	if (known_attrs[i].property) {
		if (v)
			return 0; /* "a=sendrecv:x" is not ours: kept as text */
		a->type = known_attrs[i].type;
		if (a->type == CTL_SDP_A_DIRECTION)
			a->u.dir = !strcmp(a->name, "sendrecv")   ? CTL_SDP_SENDRECV
				   : !strcmp(a->name, "sendonly") ? CTL_SDP_SENDONLY
				   : !strcmp(a->name, "recvonly") ? CTL_SDP_RECVONLY
								  : CTL_SDP_INACTIVE;
		return 0;
	}
	switch (known_attrs[i].type) {
	case CTL_SDP_A_RTPMAP: {
		const char *enc, *sl, *end;
		uint8_t pt;

		if (!v || !(n = lead_pt(v, &pt)) || !v[n])
			goto bad;
		enc = skip_ws(v + n);
		sl = strchr(enc, '/');
		if (!sl || !ctl_sdp_is_token(enc, (size_t)(sl - enc)) || memchr(enc, '/', (size_t)(sl - enc)))
			goto bad;
		end = sl + 1 + strcspn(sl + 1, "/");
		if (!parse_num(sl + 1, (size_t)(end - sl - 1), UINT32_MAX, &x) || x == 0)
			goto bad;
		a->u.rtpmap.clock = (uint32_t)x;
		if (*end) {
			if (!parse_num(end + 1, strlen(end + 1), 255, &x) || x == 0)
				goto bad;
			a->u.rtpmap.channels = (uint32_t)x;
		}
		a->u.rtpmap.pt = pt;
		a->u.rtpmap.encoding = mem_strndup(s, enc, (size_t)(sl - enc));
		if (!a->u.rtpmap.encoding)
			return -ENOMEM;
		break;
	}
	case CTL_SDP_A_FMTP:
		if (!v || !(n = lead_pt(v, &a->u.fmtp.pt)))
			goto bad;
		a->u.fmtp.params = skip_ws(v + n);
		break;
	case CTL_SDP_A_RTCP_FB:
		if (!v)
			goto bad;
		if (v[0] == '*' && (v[1] == ' ' || v[1] == '\t' || !v[1])) {
			a->u.rtcp_fb.pt = -1;
			n = 1;
		} else {
			uint8_t pt;

			if (!(n = lead_pt(v, &pt)))
				goto bad;
			a->u.rtcp_fb.pt = pt;
		}
		a->u.rtcp_fb.params = skip_ws(v + n);
		break;
	case CTL_SDP_A_PTIME:
	case CTL_SDP_A_MAXPTIME: {
		size_t dot;

		if (!v)
			goto bad;
		dot = strcspn(v, ".");
		if (!parse_num(v, dot, 100000, &x))
			goto bad;
		if (v[dot] && (!v[dot + 1] || strspn(v + dot + 1, "0123456789") != strlen(v + dot + 1)))
			goto bad;
		a->u.ptime = (unsigned)x;
		break;
	}
	case CTL_SDP_A_RTCP:
		if (!v)
			goto bad;
		nt = tokenize(v, t, 4);
		if ((nt != 1 && nt != 4) || !parse_num(t[0].p, t[0].n, 65535, &x))
			goto bad;
		a->u.rtcp.port = (uint16_t)x;
		if (nt == 4) {
			const char *nett = mem_strndup(s, t[1].p, t[1].n);
			const char *at = mem_strndup(s, t[2].p, t[2].n);
			const char *ad = mem_strndup(s, t[3].p, t[3].n);

			if (!nett || !at || !ad)
				return -ENOMEM;
			if (strcmp(nett, "IN")) {
				snprintf(why, 160, "unsupported network type '%.32s'", nett);
				return -EINVAL;
			}
			if (addr_check(at, ad, why))
				return -EINVAL;
			a->u.rtcp.nettype = nett;
			a->u.rtcp.addrtype = at;
			a->u.rtcp.addr = ad;
		}
		break;
	case CTL_SDP_A_CRYPTO: {
		struct dp_sdes k, *copy;
		const char *rest;

		if (!v)
			goto bad;
		nt = tokenize(v, t, 3);
		if (nt < 3 || t[0].n > 9 || !parse_num(t[0].p, t[0].n, 999999999, &x) ||
		    !ctl_sdp_is_token(t[1].p, t[1].n))
			goto bad;
		a->u.crypto.tag = (uint32_t)x;
		a->u.crypto.suite = mem_strndup(s, t[1].p, t[1].n);
		a->u.crypto.key_params = mem_strndup(s, t[2].p, t[2].n);
		if (!a->u.crypto.suite || !a->u.crypto.key_params)
			return -ENOMEM;
		rest = skip_ws(t[2].p + t[2].n);
		a->u.crypto.session_params = *rest ? rest : NULL;
		if (dp_sdes_parse(v, &k) == 0) {
			copy = mem_alloc(s, sizeof(*copy));
			if (!copy) {
				memset(&k, 0, sizeof(k));
				return -ENOMEM;
			}
			*copy = k;
			memset(&k, 0, sizeof(k));
			a->u.crypto.sdes = copy;
		}
		break;
	}
	default: /* ICE, mid, setup, fingerprint: recognised by name, kept as text */
		break;
	}
	a->type = known_attrs[i].type;
	return 0;
bad:
	snprintf(why, 160, "malformed a=%s", a->name);
	memset(&a->u, 0, sizeof(a->u));
	return -EINVAL;
}

bool ctl_sdp_media_is_rtp(const struct ctl_sdp_media *m)
{
	return m && m->proto && strstr(m->proto, "RTP/") != NULL;
}

/* Build attribute *a from name and value (value NULL: a property). With
 * copy, both are copied into s's memory (value without trailing blanks).
 * Malformed known attributes are an error in RTP media and plain text
 * elsewhere. Returns 0, -EINVAL (*why set), -ENOMEM. */
static int attr_make(struct ctl_sdp *s, const struct ctl_sdp_media *m, const char *name,
		     const char *value, bool copy, struct ctl_sdp_attr *a, char why[160])
{
	int rc;

	if (!name || !ctl_sdp_is_token(name, strlen(name))) {
		snprintf(why, 160, "bad attribute name");
		return -EINVAL;
	}
	if (value && !text_ok(value)) {
		snprintf(why, 160, "control character in a=%.32s", name);
		return -EINVAL;
	}
	if (copy) {
		size_t vn = value ? strlen(value) : 0;

		while (vn && (value[vn - 1] == ' ' || value[vn - 1] == '\t'))
			vn--;
		name = ctl_sdp_strdup(s, name);
		if (!name || (value && !(value = mem_strndup(s, value, vn))))
			return -ENOMEM;
	}
	a->name = name;
	a->value = value;
	rc = attr_classify(s, a, why);
	if (rc == -EINVAL && !ctl_sdp_media_is_rtp(m)) {
		a->type = CTL_SDP_A_OTHER;
		rc = 0;
	}
	return rc;
}

static struct ctl_sdp_attrs *attrs_of(struct ctl_sdp *s, struct ctl_sdp_media *m)
{
	return m ? &m->attrs : &s->attrs;
}

int ctl_sdp_attr_insert(struct ctl_sdp *s, struct ctl_sdp_media *m, unsigned pos,
			const char *name, const char *value)
{
	struct ctl_sdp_attrs *as = attrs_of(s, m);
	struct ctl_sdp_attr a;
	char why[160];
	int rc;

	rc = grow(s, (void **)&as->v, &as->cap, as->n, CTL_SDP_MAX_ATTRS, sizeof(*as->v));
	if (rc)
		return rc;
	rc = attr_make(s, m, name, value, true, &a, why);
	if (rc)
		return rc;
	if (pos > as->n)
		pos = as->n;
	memmove(&as->v[pos + 1], &as->v[pos], (as->n - pos) * sizeof(*as->v));
	as->v[pos] = a;
	as->n++;
	return 0;
}

int ctl_sdp_attr_add(struct ctl_sdp *s, struct ctl_sdp_media *m, const char *name,
		     const char *value)
{
	return ctl_sdp_attr_insert(s, m, CTL_SDP_MAX_ATTRS, name, value);
}

int ctl_sdp_attr_replace(struct ctl_sdp *s, struct ctl_sdp_media *m, unsigned idx,
			 const char *name, const char *value)
{
	struct ctl_sdp_attrs *as = attrs_of(s, m);
	struct ctl_sdp_attr a;
	char why[160];
	int rc;

	if (idx >= as->n)
		return -ENOENT;
	rc = attr_make(s, m, name, value, true, &a, why);
	if (rc)
		return rc;
	as->v[idx] = a;
	return 0;
}

int ctl_sdp_attr_delete(struct ctl_sdp *s, struct ctl_sdp_media *m, unsigned idx)
{
	struct ctl_sdp_attrs *as = attrs_of(s, m);

	if (idx >= as->n)
		return -ENOENT;
	memmove(&as->v[idx], &as->v[idx + 1], (as->n - idx - 1) * sizeof(*as->v));
	as->n--;
	return 0;
}

int ctl_sdp_attr_remove(struct ctl_sdp *s, struct ctl_sdp_media *m, const char *name)
{
	struct ctl_sdp_attrs *as = attrs_of(s, m);
	unsigned i, j;

	for (i = j = 0; i < as->n; i++)
		if (strcmp(as->v[i].name, name))
			as->v[j++] = as->v[i];
	i -= j;
	as->n = j;
	return (int)i;
}

int ctl_sdp_attr_remove_type(struct ctl_sdp *s, struct ctl_sdp_media *m, enum ctl_sdp_atype type)
{
	struct ctl_sdp_attrs *as = attrs_of(s, m);
	unsigned i, j;

	for (i = j = 0; i < as->n; i++)
		if (as->v[i].type != type)
			as->v[j++] = as->v[i];
	i -= j;
	as->n = j;
	return (int)i;
}

int ctl_sdp_media_pt(const struct ctl_sdp_media *m, unsigned i)
{
	uint64_t x;

	if (!m || i >= m->n_fmts || !m->fmts[i] || !ctl_sdp_media_is_rtp(m))
		return -1;
	if (strlen(m->fmts[i]) > 3 || !parse_num(m->fmts[i], strlen(m->fmts[i]), 127, &x))
		return -1;
	return (int)x;
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
	int rc = grow(&P->s, (void **)&l->v, &l->cap, l->n, CTL_SDP_MAX_LINES, sizeof(*l->v));

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
	struct tok t[4];
	char why[160], *slash;
	const char *suffix = "";

	if (c->present)
		return fail(P, "second c= line in one section");
	if (tokenize(v, t, 3) != 3)
		return fail(P, "c= needs network type, address type and address");
	if (!tok_is(&t[0], "IN"))
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

			if (!parse_num(q, n, 65535, &x) || ++groups > 2)
				return fail(P, "bad multicast suffix in c=");
			q += n;
			if (*q)
				q++;
		}
		if (slash[strlen(slash) - 1] == '/')
			return fail(P, "bad multicast suffix in c=");
		*slash = '\0';
	}
	if (addr_check(t[1].p, t[2].p, why))
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
	struct tok t[6];
	const char **f[6] = { &P->s.origin.username, &P->s.origin.sess_id, &P->s.origin.sess_version,
			      &P->s.origin.nettype, &P->s.origin.addrtype, &P->s.origin.addr };

	if (P->have_o)
		return fail(P, "second o= line");
	if (tokenize(v, t, 6) != 6)
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
	struct tok t[3 + CTL_SDP_MAX_FMTS + 1];
	struct ctl_sdp_media *m;
	unsigned nt = tokenize(v, t, 3 + CTL_SDP_MAX_FMTS);
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
	if (!parse_num(t[1].p, slash ? (size_t)(slash - t[1].p) : t[1].n, 65535, &port) ||
	    (slash && (!parse_num(slash + 1, strlen(slash + 1), 65535, &count) || count == 0)))
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
	if (!ctl_sdp_is_token(m->type, strlen(m->type)) || !is_proto(m->proto))
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
	struct ctl_sdp_attrs *as = attrs_of(&P->s, P->m);
	char *colon = strchr(v, ':');
	struct ctl_sdp_attr a;
	char why[160];
	int rc;

	if (colon)
		*colon = '\0';
	rc = grow(&P->s, (void **)&as->v, &as->cap, as->n, CTL_SDP_MAX_ATTRS, sizeof(*as->v));
	if (rc == -E2BIG)
		return fail(P, "too many attributes in one section (limit %d)", CTL_SDP_MAX_ATTRS);
	if (rc)
		return nomem(P);
	rc = attr_make(&P->s, P->m, v, colon ? colon + 1 : NULL, false, &a, why);
	if (rc == -ENOMEM)
		return nomem(P);
	if (rc)
		return fail(P, "%s", why);
	as->v[as->n++] = a;
	return 0;
}

static int parse_line(struct parser *P, char type, char *v)
{
	struct tok t[3];
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
		if (tokenize(v, t, 2) != 2 || !parse_num(t[0].p, t[0].n, UINT64_MAX, &x) ||
		    !parse_num(t[1].p, t[1].n, UINT64_MAX, &x))
			return fail(P, "t= needs start and stop times");
		P->have_t = true;
		break;
	case 'r':
		if (!P->have_t)
			return fail(P, "r= without a preceding t=");
		if (tokenize(v, t, 2) != 3)
			return fail(P, "r= needs interval, duration and offsets");
		break;
	case 'b': {
		const char *colon = strchr(v, ':');

		if (!colon || !ctl_sdp_is_token(v, (size_t)(colon - v)) ||
		    !parse_num(colon + 1, strlen(colon + 1), UINT64_MAX, &x))
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
	    !(P.s.media = mem_alloc(&P.s, P.media_cap * sizeof(struct ctl_sdp_media)))) {
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
			v = mem_strndup(&P.s, p + 2, (size_t)(le - p - 2));
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
