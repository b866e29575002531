/* SPDX-License-Identifier: MIT
 * ctl_sdp_query: read-only questions about a parsed model (see ctl_sdp.h):
 * RTP or not, payload types and their codecs, the c= and direction in
 * force, attribute lookup. */
#include "ctl_sdp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cdc.h"
#include "ctl_sdp_int.h"

/* ------------------------------------------------------------------ */
/* Queries                                                              */

bool ctl_sdp_media_is_rtp(const struct ctl_sdp_media *m)
{
	return m && m->proto && strstr(m->proto, "RTP/") != NULL;
}

int ctl_sdp_media_pt(const struct ctl_sdp_media *m, unsigned i)
{
	uint64_t x;

	if (!m || i >= m->n_fmts || !m->fmts[i] || !ctl_sdp_media_is_rtp(m))
		return -1;
	if (strlen(m->fmts[i]) > 3 || !ctl_sdp_parse_num(m->fmts[i], strlen(m->fmts[i]), 127, &x))
		return -1;
	return (int)x;
}

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
	if (!ctl_sdp_num_val(q, n, UINT32_MAX, &clock) || clock != c.clock)
		return false;
	if (!q[n])
		return true;
	q += n + 1;
	return ctl_sdp_num_val(q, strlen(q), 255, &ch) && ch == (c.channels ? c.channels : 1);
}
