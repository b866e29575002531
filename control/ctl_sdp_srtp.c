/* SPDX-License-Identifier: MIT
 * ctl_sdp_srtp: transport protocol and SDES edits (see ctl_sdp.h): switching
 * a media section between RTP/AVP and RTP/SAVP profiles and rewriting its
 * a=crypto lines. */
#include "ctl_sdp.h"

#include <errno.h>
#include <string.h>

#include "ctl_sdes.h"
#include "ctl_sdp_int.h"

/* ------------------------------------------------------------------ */
/* Transport protocol and SDES                                           */

int ctl_sdp_media_set_proto(struct ctl_sdp *s, struct ctl_sdp_media *m, const char *proto)
{
	const char *copy;

	if (!ctl_sdp_field_ok(proto))
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
		r = ctl_sdp_printf(s, "%s%s", to, proto + 16);
	else if ((hit = strstr(proto, from)))
		r = ctl_sdp_printf(s, "%.*s%s%s", (int)(hit - proto), proto, to,
				   hit + strlen(from));
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
		if (ctl_sdes_format(&keys[i], buf, sizeof(buf)) < 0)
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

	if (!k || ctl_sdes_format(k, buf, sizeof(buf)) < 0)
		return -EINVAL;
	rc = ctl_sdp_attr_add(s, m, "crypto", buf);
	memset(buf, 0, sizeof(buf));
	return rc;
}
