/* SPDX-License-Identifier: MIT
 * ctl_sdp_check: the last look at an SDP before medius returns it: no
 * peer's address may pass through (see ctl_sdp.h, ctl_sdp_check_addresses).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl_sdp.h"

/* addr parses as IPv4 or IPv6 and equals one of ours[] (numerically), or
 * is the unspecified address (hold). */
static bool allowed(const char *addr, const char *const *ours, unsigned n)
{
	unsigned char a[16], b[16];
	int fa = AF_INET;

	if (!addr)
		return false;
	if (inet_pton(AF_INET, addr, a) != 1) {
		fa = AF_INET6;
		if (inet_pton(AF_INET6, addr, a) != 1)
			return false;
	}
	if (!memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", fa == AF_INET ? 4 : 16))
		return true; /* 0.0.0.0 or :: */
	for (unsigned i = 0; i < n; i++)
		if (inet_pton(fa, ours[i], b) == 1 && !memcmp(a, b, fa == AF_INET ? 4 : 16))
			return true;
	return false;
}

/* -EPERM, with fmt (one %s for what, then optionally one %u for the
 * section: excess arguments are ignored) in why. */
static int fail(char *why, size_t len, const char *fmt, const char *what, unsigned media)
{
	if (why && len)
		snprintf(why, len, fmt, what, media);
	return -EPERM;
}

static int check_attrs(const struct ctl_sdp_attrs *as, bool rejected, const char *const *ours, unsigned n,
		       unsigned media, char *why, size_t len)
{
	for (unsigned i = 0; i < as->n; i++) {
		const struct ctl_sdp_attr *a = &as->v[i];

		if (ctl_sdp_atype_is_ice(a->type))
			return fail(why, len, "an ICE attribute (a=%s) in section %u", a->name, media);
		if (a->type == CTL_SDP_A_RTCP && a->u.rtcp.addr &&
		    (rejected || !allowed(a->u.rtcp.addr, ours, n)))
			return fail(why, len, "a=rtcp with address %s in section %u", a->u.rtcp.addr, media);
		if (rejected && a->type == CTL_SDP_A_CRYPTO)
			return fail(why, len, "a=%s in rejected section %u", a->name, media);
	}
	return 0;
}

int ctl_sdp_check_addresses(const struct ctl_sdp *s, const char *const *ours, unsigned n, bool origin,
			    char *why, size_t why_len)
{
	int rc;

	if (s->conn.present && !allowed(s->conn.addr, ours, n))
		return fail(why, why_len, "session c= address %s", s->conn.addr, 0);
	if (origin && !allowed(s->origin.addr, ours, n))
		return fail(why, why_len, "o= address %s", s->origin.addr, 0);
	rc = check_attrs(&s->attrs, false, ours, n, 0, why, why_len);
	for (unsigned i = 0; i < s->n_media && !rc; i++) {
		const struct ctl_sdp_media *m = &s->media[i];

		if (m->port == 0 && m->conn.present)
			return fail(why, why_len, "c= address %s in rejected section %u", m->conn.addr, i + 1);
		if (m->port != 0 && m->conn.present && !allowed(m->conn.addr, ours, n))
			return fail(why, why_len, "c= address %s in section %u", m->conn.addr, i + 1);
		if (m->port != 0 && !m->conn.present && !s->conn.present)
			return fail(why, why_len, "%s: no c= for section %u", "no address", i + 1);
		rc = check_attrs(&m->attrs, m->port == 0, ours, n, i + 1, why, why_len);
	}
	return rc;
}
