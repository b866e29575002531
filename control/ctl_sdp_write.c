/* SPDX-License-Identifier: MIT
 * ctl_sdp_write: the writer and structural equality (see ctl_sdp.h), and the
 * field and value checks that the edit helpers share. This file only uses
 * the model's public fields and functions. */
#include "ctl_sdp.h"

#include <errno.h>
#include <string.h>

#include "ctl_sdp_int.h"

/* ------------------------------------------------------------------ */
/* Writer                                                               */

/* A field of o=, c=, m=: non-empty, no blanks or control characters (slash
 * allowed for protos and multicast suffixes). */
bool ctl_sdp_field_ok(const char *v)
{
	if (!v || !*v)
		return false;
	for (; *v; v++)
		if ((unsigned char)*v <= 0x20 || *v == 0x7f)
			return false;
	return true;
}

/* A free-text value: no CR, LF or other control characters but tab. */
bool ctl_sdp_value_ok(const char *v)
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
	if (!ctl_sdp_value_ok(value))
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
	if (!ctl_sdp_field_ok(c->nettype) || !ctl_sdp_field_ok(c->addrtype) ||
	    !ctl_sdp_field_ok(c->addr) ||
	    (c->suffix && *c->suffix && !ctl_sdp_field_ok(c->suffix)))
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
		if (!l->v[i].type || !strchr(allowed, l->v[i].type) ||
		    !ctl_sdp_value_ok(l->v[i].value))
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

		if (!attr_name_ok(a->name) || (a->value && !ctl_sdp_value_ok(a->value)))
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

	if (!ctl_sdp_field_ok(o->username) || !ctl_sdp_field_ok(o->sess_id) ||
	    !ctl_sdp_field_ok(o->sess_version) || !ctl_sdp_field_ok(o->nettype) ||
	    !ctl_sdp_field_ok(o->addrtype) || !ctl_sdp_field_ok(o->addr) ||
	    !ctl_sdp_value_ok(s->name) || s->n_media > CTL_SDP_MAX_MEDIA)
		return -EINVAL;
	put(b, "v=0\r\n");
	ctl_buf_printf(b, "o=%s %s %s %s %s %s\r\n", o->username, o->sess_id, o->sess_version,
		       o->nettype, o->addrtype, o->addr);
	write_line(b, 's', s->name);
	if (write_lines_conn(b, &s->lines, &s->conn, "iuepbtrzk") || write_attrs(b, &s->attrs))
		return -EINVAL;
	for (unsigned i = 0; i < s->n_media; i++) {
		const struct ctl_sdp_media *m = &s->media[i];

		if (!ctl_sdp_field_ok(m->type) || !ctl_sdp_field_ok(m->proto) || m->n_fmts == 0 ||
		    m->n_fmts > CTL_SDP_MAX_FMTS || (!m->conn.present && !s->conn.present))
			return -EINVAL;
		ctl_buf_printf(b, "m=%s %u", m->type, m->port);
		if (m->port_count)
			ctl_buf_printf(b, "/%u", m->port_count);
		ctl_buf_putc(b, ' ');
		put(b, m->proto);
		for (unsigned j = 0; j < m->n_fmts; j++) {
			if (!ctl_sdp_field_ok(m->fmts[j]))
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
