/* SPDX-License-Identifier: MIT
 * ctl_sdp: everything that works on a parsed model (see ctl_sdp.h): the
 * writer, structural equality, queries and the edit helpers the ng code uses.
 * The parser, the model's memory and the attribute primitives are in
 * ctl_sdp.c; this file only uses the model's public fields and functions. */
#include "ctl_sdp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cdc.h"

/* ------------------------------------------------------------------ */
/* Writer                                                               */

/* A field of o=, c=, m=: non-empty, no blanks or control characters (slash
 * allowed for protos and multicast suffixes). */
static bool field_ok(const char *v)
{
	if (!v || !*v)
		return false;
	for (; *v; v++)
		if ((unsigned char)*v <= 0x20 || *v == 0x7f)
			return false;
	return true;
}

/* A free-text value: no CR, LF or other control characters but tab. */
static bool value_ok(const char *v)
{
	if (!v)
		return false;
	for (; *v; v++)
		if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
			return false;
	return true;
}


static bool attr_name_ok(const char *v)
{
	return v && ctl_sdp_is_token(v, strlen(v));
}

static void put(struct ctl_buf *b, const char *s) { ctl_buf_put(b, s, strlen(s)); }

static int write_line(struct ctl_buf *b, char type, const char *value)
{
	if (!value_ok(value))
		return -EINVAL;
	ctl_buf_putc(b, type);
	ctl_buf_putc(b, '=');
	put(b, value);
	put(b, "\r\n");
	return 0;
}

static int write_conn(struct ctl_buf *b, const struct ctl_sdp_conn *c)
{
	if (!c->present)
		return 0;
	if (!field_ok(c->nettype) || !field_ok(c->addrtype) || !field_ok(c->addr) ||
	    (c->suffix && *c->suffix && !field_ok(c->suffix)))
		return -EINVAL;
	ctl_buf_printf(b, "c=%s %s %s%s\r\n", c->nettype, c->addrtype, c->addr,
		       c->suffix ? c->suffix : "");
	return 0;
}

/* The section's other lines in RFC 8866 order, with c= in its place:
 * i u e p c b t+r z k (t and r keep their relative order). */
static int write_lines_conn(struct ctl_buf *b, const struct ctl_sdp_lines *l,
			    const struct ctl_sdp_conn *c, const char *allowed)
{
	static const char *const groups[] = { "i", "u", "e", "p", "c", "b", "tr", "z", "k" };

	if (l->n > CTL_SDP_MAX_LINES)
		return -EINVAL;
	for (unsigned i = 0; i < l->n; i++)
		if (!l->v[i].type || !strchr(allowed, l->v[i].type) || !value_ok(l->v[i].value))
			return -EINVAL;
	for (unsigned g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		if (groups[g][0] == 'c') {
			if (write_conn(b, c))
				return -EINVAL;
			continue;
		}
		for (unsigned i = 0; i < l->n; i++)
			if (strchr(groups[g], l->v[i].type))
				write_line(b, l->v[i].type, l->v[i].value);
	}
	return 0;
}

static int write_attrs(struct ctl_buf *b, const struct ctl_sdp_attrs *as)
{
	if (as->n > CTL_SDP_MAX_ATTRS)
		return -EINVAL;
	for (unsigned i = 0; i < as->n; i++) {
		const struct ctl_sdp_attr *a = &as->v[i];

		if (!attr_name_ok(a->name) || (a->value && !value_ok(a->value)))
			return -EINVAL;
		put(b, "a=");
		put(b, a->name);
		if (a->value) {
			ctl_buf_putc(b, ':');
			put(b, a->value);
		}
		put(b, "\r\n");
	}
	return 0;
}

static int write_all(const struct ctl_sdp *s, struct ctl_buf *b)
{
	const struct ctl_sdp_origin *o = &s->origin;

	if (!field_ok(o->username) || !field_ok(o->sess_id) || !field_ok(o->sess_version) ||
	    !field_ok(o->nettype) || !field_ok(o->addrtype) || !field_ok(o->addr) ||
	    !value_ok(s->name) || s->n_media > CTL_SDP_MAX_MEDIA)
		return -EINVAL;
	put(b, "v=0\r\n");
	ctl_buf_printf(b, "o=%s %s %s %s %s %s\r\n", o->username, o->sess_id, o->sess_version,
		       o->nettype, o->addrtype, o->addr);
	write_line(b, 's', s->name);
	if (write_lines_conn(b, &s->lines, &s->conn, "iuepbtrzk") || write_attrs(b, &s->attrs))
		return -EINVAL;
	for (unsigned i = 0; i < s->n_media; i++) {
		const struct ctl_sdp_media *m = &s->media[i];

		if (!field_ok(m->type) || !field_ok(m->proto) || m->n_fmts == 0 ||
		    m->n_fmts > CTL_SDP_MAX_FMTS || (!m->conn.present && !s->conn.present))
			return -EINVAL;
		ctl_buf_printf(b, "m=%s %u", m->type, m->port);
		if (m->port_count)
			ctl_buf_printf(b, "/%u", m->port_count);
		ctl_buf_putc(b, ' ');
		put(b, m->proto);
		for (unsigned j = 0; j < m->n_fmts; j++) {
			if (!field_ok(m->fmts[j]))
				return -EINVAL;
			ctl_buf_putc(b, ' ');
			put(b, m->fmts[j]);
		}
		put(b, "\r\n");
		if (write_lines_conn(b, &m->lines, &m->conn, "ibk") || write_attrs(b, &m->attrs))
			return -EINVAL;
	}
	return 0;
}

int ctl_sdp_write(const struct ctl_sdp *s, struct ctl_buf *out)
{
	size_t start = out->len;
	int rc;

	if (out->err)
		return out->err;
	rc = write_all(s, out);
	if (!rc)
		rc = out->err;
	if (rc)
		out->len = start;
	return rc;
}

/* Decimal digits only (at most 12), value 1..max. */
static bool num_val(const char *p, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 12)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v < 1 || v > max)
		return false;
	*out = v;
	return true;
}

static bool num_ok(const char *p, size_t n, uint64_t max)
{
	uint64_t v;

	return num_val(p, n, max, &v);
}

/* ------------------------------------------------------------------ */
/* Queries                                                              */

int ctl_sdp_media_pt_index(const struct ctl_sdp_media *m, unsigned pt)
{
	for (unsigned i = 0; i < m->n_fmts; i++)
		if (ctl_sdp_media_pt(m, i) == (int)pt)
			return (int)i;
	return -ENOENT;
}

const struct ctl_sdp_conn *ctl_sdp_media_conn(const struct ctl_sdp *s,
					      const struct ctl_sdp_media *m)
{
	return m && m->conn.present ? &m->conn : &s->conn;
}

const char *ctl_sdp_dir_name(enum ctl_sdp_dir d)
{
	static const char *const names[] = { "sendrecv", "sendonly", "recvonly", "inactive" };

	return (unsigned)d < 4 ? names[d] : "?";
}

int ctl_sdp_attr_find(const struct ctl_sdp *s, const struct ctl_sdp_media *m, const char *name,
		      unsigned from)
{
	const struct ctl_sdp_attrs *as = m ? &m->attrs : &s->attrs;

	for (unsigned i = from; i < as->n; i++)
		if (!strcmp(as->v[i].name, name))
			return (int)i;
	return -ENOENT;
}

int ctl_sdp_attr_find_type(const struct ctl_sdp *s, const struct ctl_sdp_media *m,
			   enum ctl_sdp_atype type, unsigned from)
{
	const struct ctl_sdp_attrs *as = m ? &m->attrs : &s->attrs;

	for (unsigned i = from; i < as->n; i++)
		if (as->v[i].type == type)
			return (int)i;
	return -ENOENT;
}

enum ctl_sdp_dir ctl_sdp_media_dir(const struct ctl_sdp *s, const struct ctl_sdp_media *m)
{
	int i;

	if (m && (i = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_DIRECTION, 0)) >= 0)
		return m->attrs.v[i].u.dir;
	if ((i = ctl_sdp_attr_find_type(s, NULL, CTL_SDP_A_DIRECTION, 0)) >= 0)
		return s->attrs.v[i].u.dir;
	return CTL_SDP_SENDRECV;
}

bool ctl_sdp_media_has_dtls(const struct ctl_sdp *s, const struct ctl_sdp_media *m)
{
	return (m && ctl_sdp_attr_find_type(s, m, CTL_SDP_A_FINGERPRINT, 0) >= 0) ||
	       ctl_sdp_attr_find_type(s, NULL, CTL_SDP_A_FINGERPRINT, 0) >= 0;
}

/* RFC 3551 §6 static payload types. */
static const struct {
	const char *name;
	uint32_t clock;
	uint8_t channels;
} static_pts[35] = {
	[0] = { "PCMU", 8000, 1 },    [3] = { "GSM", 8000, 1 },     [4] = { "G723", 8000, 1 },
	[5] = { "DVI4", 8000, 1 },    [6] = { "DVI4", 16000, 1 },   [7] = { "LPC", 8000, 1 },
	[8] = { "PCMA", 8000, 1 },    [9] = { "G722", 8000, 1 },    [10] = { "L16", 44100, 2 },
	[11] = { "L16", 44100, 1 },   [12] = { "QCELP", 8000, 1 },  [13] = { "CN", 8000, 1 },
	[14] = { "MPA", 90000, 0 },   [15] = { "G728", 8000, 1 },   [16] = { "DVI4", 11025, 1 },
	[17] = { "DVI4", 22050, 1 },  [18] = { "G729", 8000, 1 },   [25] = { "CelB", 90000, 0 },
	[26] = { "JPEG", 90000, 0 },  [28] = { "nv", 90000, 0 },    [31] = { "H261", 90000, 0 },
	[32] = { "MPV", 90000, 0 },   [33] = { "MP2T", 90000, 0 },  [34] = { "H263", 90000, 0 },
};

int ctl_sdp_media_codec(const struct ctl_sdp_media *m, unsigned pt, struct ctl_sdp_codec *out)
{
	struct ctl_sdp_codec c = { .pt = (uint8_t)pt };
	unsigned i;

	if (pt > 127 || ctl_sdp_media_pt_index(m, pt) < 0)
		return -ENOENT;
	for (i = 0; i < m->attrs.n; i++) {
		const struct ctl_sdp_attr *a = &m->attrs.v[i];

		if (a->type == CTL_SDP_A_RTPMAP && a->u.rtpmap.pt == pt && !c.encoding) {
			c.encoding = a->u.rtpmap.encoding;
			c.clock = a->u.rtpmap.clock;
			c.channels = a->u.rtpmap.channels;
		} else if (a->type == CTL_SDP_A_FMTP && a->u.fmtp.pt == pt && !c.fmtp) {
			c.fmtp = a->u.fmtp.params;
		}
	}
	if (!c.encoding) {
		if (pt >= sizeof(static_pts) / sizeof(static_pts[0]) || !static_pts[pt].name)
			return -ENODATA;
		c.encoding = static_pts[pt].name;
		c.clock = static_pts[pt].clock;
		c.channels = static_pts[pt].channels > 1 ? static_pts[pt].channels : 0;
		c.is_static = true;
	}
	*out = c;
	return 0;
}

int ctl_sdp_media_format(const struct ctl_sdp_media *m, unsigned pt, struct cdc_format *out)
{
	struct ctl_sdp_codec c;
	char map[96];
	int rc = ctl_sdp_media_codec(m, pt, &c);

	if (rc)
		return rc;
	if (strlen(c.encoding) >= 32)
		return -ENOTSUP; /* longer than any codec name codecs/ knows */
	if (c.channels)
		snprintf(map, sizeof(map), "%.60s/%u/%u", c.encoding, c.clock, c.channels);
	else
		snprintf(map, sizeof(map), "%.60s/%u", c.encoding, c.clock);
	rc = cdc_format_parse(map, c.fmtp, out);
	return rc == -ENOENT ? -ENOTSUP : rc;
}

bool ctl_sdp_media_pt_matches(const struct ctl_sdp_media *m, unsigned pt, const char *spec)
{
	struct ctl_sdp_codec c;
	size_t n = strcspn(spec, "/");
	uint64_t clock, ch;
	const char *q;

	if (ctl_sdp_media_codec(m, pt, &c) || strlen(c.encoding) != n ||
	    strncasecmp(c.encoding, spec, n))
		return false;
	if (!spec[n])
		return true;
	q = spec + n + 1;
	n = strcspn(q, "/");
	if (!num_val(q, n, UINT32_MAX, &clock) || clock != c.clock)
		return false;
	if (!q[n])
		return true;
	q += n + 1;
	return num_val(q, strlen(q), 255, &ch) && ch == (c.channels ? c.channels : 1);
}

/* ------------------------------------------------------------------ */
/* Structural equality                                                  */

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool conn_eq(const struct ctl_sdp_conn *a, const struct ctl_sdp_conn *b)
{
	if (a->present != b->present)
		return false;
	return !a->present || (str_eq(a->nettype, b->nettype) && str_eq(a->addrtype, b->addrtype) &&
			       str_eq(a->addr, b->addr) &&
			       str_eq(a->suffix ? a->suffix : "", b->suffix ? b->suffix : ""));
}

static bool lines_eq(const struct ctl_sdp_lines *a, const struct ctl_sdp_lines *b)
{
	if (a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (a->v[i].type != b->v[i].type || !str_eq(a->v[i].value, b->v[i].value))
			return false;
	return true;
}

static bool attrs_eq(const struct ctl_sdp_attrs *a, const struct ctl_sdp_attrs *b)
{
	if (a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (a->v[i].type != b->v[i].type || !str_eq(a->v[i].name, b->v[i].name) ||
		    !str_eq(a->v[i].value, b->v[i].value))
			return false;
	return true;
}

bool ctl_sdp_equal(const struct ctl_sdp *a, const struct ctl_sdp *b)
{
	const struct ctl_sdp_origin *x = &a->origin, *y = &b->origin;

	if (!str_eq(x->username, y->username) || !str_eq(x->sess_id, y->sess_id) ||
	    !str_eq(x->sess_version, y->sess_version) || !str_eq(x->nettype, y->nettype) ||
	    !str_eq(x->addrtype, y->addrtype) || !str_eq(x->addr, y->addr) ||
	    !str_eq(a->name, b->name) || !conn_eq(&a->conn, &b->conn) ||
	    !lines_eq(&a->lines, &b->lines) || !attrs_eq(&a->attrs, &b->attrs) ||
	    a->n_media != b->n_media)
		return false;
	for (unsigned i = 0; i < a->n_media; i++) {
		const struct ctl_sdp_media *m = &a->media[i], *n = &b->media[i];

		if (!str_eq(m->type, n->type) || m->port != n->port ||
		    m->port_count != n->port_count || !str_eq(m->proto, n->proto) ||
		    m->n_fmts != n->n_fmts || !conn_eq(&m->conn, &n->conn) ||
		    !lines_eq(&m->lines, &n->lines) || !attrs_eq(&m->attrs, &n->attrs))
			return false;
		for (unsigned j = 0; j < m->n_fmts; j++)
			if (!str_eq(m->fmts[j], n->fmts[j]))
				return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

__attribute__((format(printf, 2, 3))) static const char *sdp_printf(struct ctl_sdp *s,
								    const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return NULL;
	return ctl_sdp_strdup(s, buf);
}

/* "IP4" or "IP6" for a numeric address, NULL otherwise. */
static const char *addr_type(const char *addr)
{
	unsigned char buf[16];

	if (!addr)
		return NULL;
	if (inet_pton(AF_INET, addr, buf) == 1)
		return "IP4";
	if (inet_pton(AF_INET6, addr, buf) == 1)
		return "IP6";
	return NULL;
}

static int set_conn(struct ctl_sdp *s, struct ctl_sdp_conn *c, const char *addr)
{
	const char *at = addr_type(addr), *copy;

	if (!at)
		return -EINVAL;
	copy = ctl_sdp_strdup(s, addr);
	if (!copy)
		return -ENOMEM;
	c->present = true;
	c->nettype = "IN";
	c->addrtype = at;
	c->addr = copy;
	c->suffix = "";
	return 0;
}

int ctl_sdp_set_origin_addr(struct ctl_sdp *s, const char *addr)
{
	const char *at = addr_type(addr), *copy;

	if (!at)
		return -EINVAL;
	copy = ctl_sdp_strdup(s, addr);
	if (!copy)
		return -ENOMEM;
	s->origin.nettype = "IN";
	s->origin.addrtype = at;
	s->origin.addr = copy;
	return 0;
}

int ctl_sdp_bump_version(struct ctl_sdp *s)
{
	const char *v = s->origin.sess_version;
	size_t n = v ? strlen(v) : 0;
	char *nv;
	const char *copy;
	size_t i;

	if (n == 0 || strspn(v, "0123456789") != n)
		return -EINVAL;
	copy = ctl_sdp_strdup(s, v);
	if (!copy)
		return -ENOMEM;
	nv = (char *)copy; /* our own fresh copy */
	for (i = n; i > 0 && nv[i - 1] == '9'; i--)
		nv[i - 1] = '0';
	if (i > 0) {
		nv[i - 1]++;
	} else {
		/* all nines: "1" then n zeros */
		copy = sdp_printf(s, "1%s", nv);
		if (!copy)
			return -ENOMEM;
	}
	s->origin.sess_version = copy;
	return 0;
}

int ctl_sdp_set_session_conn(struct ctl_sdp *s, const char *addr)
{
	return set_conn(s, &s->conn, addr);
}

int ctl_sdp_media_set_conn(struct ctl_sdp *s, struct ctl_sdp_media *m, const char *addr,
			   uint16_t port)
{
	int rc;

	if (addr && (rc = set_conn(s, &m->conn, addr)))
		return rc;
	m->port = port;
	return 0;
}

/* Put a=name[:value] in place of the first attribute called name (any others
 * removed), or append it. */
static int set_single(struct ctl_sdp *s, struct ctl_sdp_media *m, const char *find,
		      const char *name, const char *value)
{
	int i = ctl_sdp_attr_find(s, m, find, 0), j, rc;

	if (i < 0)
		return ctl_sdp_attr_add(s, m, name, value);
	rc = ctl_sdp_attr_replace(s, m, (unsigned)i, name, value);
	if (rc)
		return rc;
	while ((j = ctl_sdp_attr_find(s, m, find, (unsigned)i + 1)) >= 0)
		ctl_sdp_attr_delete(s, m, (unsigned)j);
	return 0;
}

int ctl_sdp_media_set_rtcp(struct ctl_sdp *s, struct ctl_sdp_media *m, uint16_t port,
			   const char *addr)
{
	const char *v;

	if (addr) {
		const char *at = addr_type(addr);

		if (!at)
			return -EINVAL;
		v = sdp_printf(s, "%u IN %s %s", port, at, addr);
	} else {
		v = sdp_printf(s, "%u", port);
	}
	return v ? set_single(s, m, "rtcp", "rtcp", v) : -ENOMEM;
}

int ctl_sdp_media_remove_rtcp(struct ctl_sdp *s, struct ctl_sdp_media *m)
{
	return ctl_sdp_attr_remove(s, m, "rtcp");
}

int ctl_sdp_media_set_rtcp_mux(struct ctl_sdp *s, struct ctl_sdp_media *m, bool on,
			       bool drop_rtcp)
{
	int rc;

	if (!on) {
		ctl_sdp_attr_remove(s, m, "rtcp-mux");
		return 0;
	}
	if (ctl_sdp_attr_find(s, m, "rtcp-mux", 0) < 0 &&
	    (rc = ctl_sdp_attr_add(s, m, "rtcp-mux", NULL)))
		return rc;
	if (drop_rtcp)
		ctl_sdp_attr_remove(s, m, "rtcp");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Transport protocol and SDES                                           */

int ctl_sdp_media_set_proto(struct ctl_sdp *s, struct ctl_sdp_media *m, const char *proto)
{
	const char *copy;

	if (!field_ok(proto))
		return -EINVAL;
	copy = ctl_sdp_strdup(s, proto);
	if (!copy)
		return -ENOMEM;
	m->proto = copy;
	return 0;
}

/* m's proto with the profile switched: secure "RTP/SAVP...", plain
 * "RTP/AVP...". UDP/TLS/ (DTLS) is dropped either way. NULL on -ENOMEM or an
 * RTP proto we do not know (*rc says which). */
static const char *switch_proto(struct ctl_sdp *s, const char *proto, bool secure, int *rc)
{
	const char *from = secure ? "RTP/AVP" : "RTP/SAVP", *to = secure ? "RTP/SAVP" : "RTP/AVP";
	const char *hit, *r;

	*rc = -EINVAL;
	if (!strncmp(proto, "UDP/TLS/RTP/SAVP", 16))
		r = sdp_printf(s, "%s%s", to, proto + 16);
	else if ((hit = strstr(proto, from)))
		r = sdp_printf(s, "%.*s%s%s", (int)(hit - proto), proto, to, hit + strlen(from));
	else if (strstr(proto, to))
		r = proto;
	else
		return NULL;
	if (!r)
		*rc = -ENOMEM;
	return r;
}

static int count_crypto(const struct ctl_sdp_media *m)
{
	int n = 0;

	for (unsigned i = 0; i < m->attrs.n; i++)
		n += !strcmp(m->attrs.v[i].name, "crypto");
	return n;
}

int ctl_sdp_media_to_srtp(struct ctl_sdp *s, struct ctl_sdp_media *m,
			  const struct dp_sdes *keys, unsigned n)
{
	const char *vals[16], *proto;
	char buf[160];
	int rc;

	if (!ctl_sdp_media_is_rtp(m) || n > 16 || (n && !keys))
		return -EINVAL;
	if (m->attrs.n - (unsigned)count_crypto(m) + n > CTL_SDP_MAX_ATTRS)
		return -E2BIG;
	for (unsigned i = 0; i < n; i++) {
		if (dp_sdes_format(&keys[i], buf, sizeof(buf)) < 0)
			return -EINVAL;
		vals[i] = ctl_sdp_strdup(s, buf);
		memset(buf, 0, sizeof(buf));
		if (!vals[i])
			return -ENOMEM;
	}
	proto = switch_proto(s, m->proto, true, &rc);
	if (!proto)
		return rc;
	m->proto = proto;
	ctl_sdp_attr_remove(s, m, "crypto");
	for (unsigned i = 0; i < n; i++)
		if ((rc = ctl_sdp_attr_add(s, m, "crypto", vals[i])))
			return rc;
	return 0;
}

int ctl_sdp_media_to_rtp(struct ctl_sdp *s, struct ctl_sdp_media *m)
{
	const char *proto;
	int rc;

	if (!ctl_sdp_media_is_rtp(m))
		return -EINVAL;
	proto = switch_proto(s, m->proto, false, &rc);
	if (!proto)
		return rc;
	m->proto = proto;
	ctl_sdp_attr_remove(s, m, "crypto");
	return 0;
}

int ctl_sdp_media_add_crypto(struct ctl_sdp *s, struct ctl_sdp_media *m, const struct dp_sdes *k)
{
	char buf[160];
	int rc;

	if (!k || dp_sdes_format(k, buf, sizeof(buf)) < 0)
		return -EINVAL;
	rc = ctl_sdp_attr_add(s, m, "crypto", buf);
	memset(buf, 0, sizeof(buf));
	return rc;
}

/* ------------------------------------------------------------------ */
/* ICE, direction, ptime                                                 */

static int remove_ice_in(struct ctl_sdp_attrs *as)
{
	unsigned i, j;

	for (i = j = 0; i < as->n; i++)
		if (!ctl_sdp_atype_is_ice(as->v[i].type))
			as->v[j++] = as->v[i];
	i -= j;
	as->n = j;
	return (int)i;
}

int ctl_sdp_remove_ice(struct ctl_sdp *s)
{
	int n = remove_ice_in(&s->attrs);

	for (unsigned i = 0; i < s->n_media; i++)
		n += remove_ice_in(&s->media[i].attrs);
	return n;
}

int ctl_sdp_media_set_dir(struct ctl_sdp *s, struct ctl_sdp_media *m, enum ctl_sdp_dir dir)
{
	const char *name = ctl_sdp_dir_name(dir);
	int i, j, rc;

	if ((unsigned)dir > CTL_SDP_INACTIVE)
		return -EINVAL;
	i = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_DIRECTION, 0);
	if (i < 0)
		return ctl_sdp_attr_add(s, m, name, NULL);
	rc = ctl_sdp_attr_replace(s, m, (unsigned)i, name, NULL);
	if (rc)
		return rc;
	while ((j = ctl_sdp_attr_find_type(s, m, CTL_SDP_A_DIRECTION, (unsigned)i + 1)) >= 0)
		ctl_sdp_attr_delete(s, m, (unsigned)j);
	return 0;
}

int ctl_sdp_media_set_ptime(struct ctl_sdp *s, struct ctl_sdp_media *m, unsigned ms)
{
	const char *v;

	if (ms == 0) {
		ctl_sdp_attr_remove(s, m, "ptime");
		return 0;
	}
	if (ms > 100000)
		return -EINVAL;
	v = sdp_printf(s, "%u", ms);
	return v ? set_single(s, m, "ptime", "ptime", v) : -ENOMEM;
}

/* ------------------------------------------------------------------ */
/* Codec lists                                                           */

static bool pt_attr(const struct ctl_sdp_attr *a, int pt)
{
	return (a->type == CTL_SDP_A_RTPMAP && a->u.rtpmap.pt == pt) ||
	       (a->type == CTL_SDP_A_FMTP && a->u.fmtp.pt == pt) ||
	       (a->type == CTL_SDP_A_RTCP_FB && a->u.rtcp_fb.pt == pt);
}

/* Remove the formats with drop[i] set, and the rtpmap/fmtp/rtcp-fb lines of
 * their payload types. Returns how many, or -EINVAL when none would remain. */
static int drop_fmts(struct ctl_sdp_media *m, const bool drop[CTL_SDP_MAX_FMTS])
{
	bool gone[128] = { false };
	unsigned i, j, removed = 0;

	for (i = 0; i < m->n_fmts; i++)
		removed += drop[i];
	if (removed == 0)
		return 0;
	if (removed == m->n_fmts)
		return -EINVAL;
	for (i = j = 0; i < m->n_fmts; i++) {
		int pt = ctl_sdp_media_pt(m, i);

		if (!drop[i])
			m->fmts[j++] = m->fmts[i];
		else if (pt >= 0)
			gone[pt] = true;
	}
	m->n_fmts = j;
	for (i = j = 0; i < m->attrs.n; i++) {
		const struct ctl_sdp_attr *a = &m->attrs.v[i];
		int pt = a->type == CTL_SDP_A_RTPMAP ? a->u.rtpmap.pt
			 : a->type == CTL_SDP_A_FMTP ? a->u.fmtp.pt
			 : a->type == CTL_SDP_A_RTCP_FB ? a->u.rtcp_fb.pt : -1;

		if (pt < 0 || !gone[pt])
			m->attrs.v[j++] = *a;
	}
	m->attrs.n = j;
	return (int)removed;
}

int ctl_sdp_media_remove_pt(struct ctl_sdp *s, struct ctl_sdp_media *m, unsigned pt)
{
	bool drop[CTL_SDP_MAX_FMTS] = { false };
	int i, rc;

	(void)s;
	if (!ctl_sdp_media_is_rtp(m))
		return -EINVAL;
	if ((i = ctl_sdp_media_pt_index(m, pt)) < 0)
		return -ENOENT;
	drop[i] = true;
	rc = drop_fmts(m, drop);
	return rc < 0 ? rc : 0;
}

/* keep: drop what matches none of specs/pts; else drop what matches spec. */
static int filter(struct ctl_sdp_media *m, const char *const specs[], const uint8_t pts[],
		  unsigned n, bool keep)
{
	bool drop[CTL_SDP_MAX_FMTS] = { false };

	if (!ctl_sdp_media_is_rtp(m) || (n && !specs && !pts))
		return -EINVAL;
	for (unsigned i = 0; i < m->n_fmts; i++) {
		int pt = ctl_sdp_media_pt(m, i);
		bool hit = false;

		for (unsigned k = 0; k < n && !hit && pt >= 0; k++)
			hit = specs ? (specs[k] && ctl_sdp_media_pt_matches(m, (unsigned)pt, specs[k]))
				    : pts[k] == pt;
		drop[i] = keep ? !hit : hit;
	}
	return drop_fmts(m, drop);
}

int ctl_sdp_media_remove_codec(struct ctl_sdp *s, struct ctl_sdp_media *m, const char *spec)
{
	(void)s;
	return spec ? filter(m, &spec, NULL, 1, false) : -EINVAL;
}

int ctl_sdp_media_keep_codecs(struct ctl_sdp *s, struct ctl_sdp_media *m,
			      const char *const specs[], unsigned n)
{
	(void)s;
	return filter(m, specs, NULL, n, true);
}

int ctl_sdp_media_keep_pts(struct ctl_sdp *s, struct ctl_sdp_media *m, const uint8_t pts[],
			   unsigned n)
{
	(void)s;
	return filter(m, NULL, pts, n, true);
}

/* "name/clock[/channels]" exactly as the parser accepts an rtpmap: a token
 * name, clock 1..2^32-1, channels 1..255. */
static bool rtpmap_spec_ok(const char *v)
{
	size_t n = strcspn(v, "/"), c;

	if (n == 0 || !v[n] || !ctl_sdp_is_token(v, n))
		return false;
	v += n + 1;
	c = strcspn(v, "/");
	if (!num_ok(v, c, UINT32_MAX))
		return false;
	return !v[c] || num_ok(v + c + 1, strlen(v + c + 1), 255);
}

int ctl_sdp_media_add_codec(struct ctl_sdp *s, struct ctl_sdp_media *m, unsigned pt,
			    const char *rtpmap, const char *fmtp, bool front)
{
	const char *num, *map = NULL, *fm = NULL;
	int first = -1, last = -1, rc;
	unsigned pos, i, j;

	if (!ctl_sdp_media_is_rtp(m) || pt > 127 || (rtpmap && !rtpmap_spec_ok(rtpmap)) ||
	    (fmtp && !value_ok(fmtp)))
		return -EINVAL;
	if (ctl_sdp_media_pt_index(m, pt) >= 0)
		return -EEXIST;
	if (m->n_fmts >= CTL_SDP_MAX_FMTS)
		return -E2BIG;
	for (i = j = 0; i < m->attrs.n; i++)
		j += pt_attr(&m->attrs.v[i], (int)pt);
	if (m->attrs.n - j + (rtpmap != NULL) + (fmtp != NULL) > CTL_SDP_MAX_ATTRS)
		return -E2BIG;
	num = sdp_printf(s, "%u", pt);
	if (!num || (rtpmap && !(map = sdp_printf(s, "%u %s", pt, rtpmap))) ||
	    (fmtp && !(fm = sdp_printf(s, "%u %s", pt, fmtp))))
		return -ENOMEM;
	/* stale lines for pt go first, so that positions are final */
	for (i = j = 0; i < m->attrs.n; i++)
		if (!pt_attr(&m->attrs.v[i], (int)pt))
			m->attrs.v[j++] = m->attrs.v[i];
	m->attrs.n = j;
	for (i = 0; i < m->attrs.n; i++)
		if (m->attrs.v[i].type == CTL_SDP_A_RTPMAP || m->attrs.v[i].type == CTL_SDP_A_FMTP ||
		    m->attrs.v[i].type == CTL_SDP_A_RTCP_FB) {
			if (first < 0)
				first = (int)i;
			last = (int)i;
		}
	pos = first < 0 ? m->attrs.n : front ? (unsigned)first : (unsigned)last + 1;
	if (map && (rc = ctl_sdp_attr_insert(s, m, pos++, "rtpmap", map)))
		return rc;
	if (fm && (rc = ctl_sdp_attr_insert(s, m, pos, "fmtp", fm))) {
		if (map)
			ctl_sdp_attr_delete(s, m, pos - 1);
		return rc;
	}
	if (front) {
		memmove(&m->fmts[1], &m->fmts[0], m->n_fmts * sizeof(m->fmts[0]));
		m->fmts[0] = num;
	} else {
		m->fmts[m->n_fmts] = num;
	}
	m->n_fmts++;
	return 0;
}

/* Reorder m's formats: those with first[i] set go first, in the order of
 * rank[i] (lower first), the others keep their order after them. */
static void move_front(struct ctl_sdp_media *m, const int rank[CTL_SDP_MAX_FMTS])
{
	const char *out[CTL_SDP_MAX_FMTS];
	unsigned n = 0, i;
	int r, next;

	for (r = 0;; r = next) {
		next = -1;
		for (i = 0; i < m->n_fmts; i++) {
			if (rank[i] == r)
				out[n++] = m->fmts[i];
			else if (rank[i] > r && (next < 0 || rank[i] < next))
				next = rank[i];
		}
		if (next < 0)
			break;
	}
	for (i = 0; i < m->n_fmts; i++)
		if (rank[i] < 0)
			out[n++] = m->fmts[i];
	memcpy(m->fmts, out, n * sizeof(out[0]));
}

int ctl_sdp_media_reorder(struct ctl_sdp *s, struct ctl_sdp_media *m, const uint8_t pts[],
			  unsigned n)
{
	int rank[CTL_SDP_MAX_FMTS];

	(void)s;
	if (!ctl_sdp_media_is_rtp(m) || (n && !pts))
		return -EINVAL;
	for (unsigned i = 0; i < m->n_fmts; i++) {
		int pt = ctl_sdp_media_pt(m, i);

		rank[i] = -1;
		for (unsigned k = 0; k < n && rank[i] < 0; k++)
			if (pts[k] == pt)
				rank[i] = (int)k;
	}
	move_front(m, rank);
	return 0;
}

int ctl_sdp_media_prefer_codec(struct ctl_sdp *s, struct ctl_sdp_media *m, const char *spec)
{
	int rank[CTL_SDP_MAX_FMTS], n = 0;

	(void)s;
	if (!ctl_sdp_media_is_rtp(m) || !spec)
		return -EINVAL;
	for (unsigned i = 0; i < m->n_fmts; i++) {
		int pt = ctl_sdp_media_pt(m, i);

		rank[i] = pt >= 0 && ctl_sdp_media_pt_matches(m, (unsigned)pt, spec) ? 0 : -1;
		n += rank[i] == 0;
	}
	move_front(m, rank);
	return n;
}
