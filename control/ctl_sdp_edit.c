/* SPDX-License-Identifier: MIT
 * ctl_sdp_edit: edit helpers for the ng code (see ctl_sdp.h): the o= address
 * and version, c=, a=rtcp and rtcp-mux, ICE removal, direction and ptime;
 * and ctl_sdp_printf, which the other edit files share. SDES edits are in
 * ctl_sdp_srtp.c, codec lists in ctl_sdp_codec.c. */
#include "ctl_sdp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl_sdp_int.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

__attribute__((format(printf, 2, 3))) const char *ctl_sdp_printf(struct ctl_sdp *s,
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
		copy = ctl_sdp_printf(s, "1%s", nv);
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
		v = ctl_sdp_printf(s, "%u IN %s %s", port, at, addr);
	} else {
		v = ctl_sdp_printf(s, "%u", port);
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

int ctl_sdp_media_reject(struct ctl_sdp *s, struct ctl_sdp_media *m)
{
	m->port = 0;
	m->port_count = 0;
	m->conn.present = false;
	remove_ice_in(&m->attrs);
	ctl_sdp_attr_remove_type(s, m, CTL_SDP_A_RTCP);
	ctl_sdp_attr_remove_type(s, m, CTL_SDP_A_CRYPTO);
	return 0;
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
	v = ctl_sdp_printf(s, "%u", ms);
	return v ? set_single(s, m, "ptime", "ptime", v) : -ENOMEM;
}
