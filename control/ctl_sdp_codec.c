/* SPDX-License-Identifier: MIT
 * ctl_sdp_codec: codec list edits (see ctl_sdp.h): removing, keeping,
 * adding and reordering the payload types of an RTP media section, with
 * their rtpmap, fmtp and rtcp-fb lines. */
#include "ctl_sdp.h"

#include <errno.h>
#include <string.h>

#include "ctl_sdp_int.h"

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

static bool num_ok(const char *p, size_t n, uint64_t max)
{
	uint64_t v;

	return ctl_sdp_num_val(p, n, max, &v);
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
	    (fmtp && !ctl_sdp_value_ok(fmtp)))
		return -EINVAL;
	if (ctl_sdp_media_pt_index(m, pt) >= 0)
		return -EEXIST;
	if (m->n_fmts >= CTL_SDP_MAX_FMTS)
		return -E2BIG;
	for (i = j = 0; i < m->attrs.n; i++)
		j += pt_attr(&m->attrs.v[i], (int)pt);
	if (m->attrs.n - j + (rtpmap != NULL) + (fmtp != NULL) > CTL_SDP_MAX_ATTRS)
		return -E2BIG;
	num = ctl_sdp_printf(s, "%u", pt);
	if (!num || (rtpmap && !(map = ctl_sdp_printf(s, "%u %s", pt, rtpmap))) ||
	    (fmtp && !(fm = ctl_sdp_printf(s, "%u %s", pt, fmtp))))
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
