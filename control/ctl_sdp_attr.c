/* SPDX-License-Identifier: MIT
 * ctl_sdp_attr: attributes (see ctl_sdp.h): classifying a= lines into their
 * parsed forms, and inserting, replacing and removing them. */
#include "ctl_sdp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl_sdes.h"
#include "ctl_sdp_int.h"

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

	if (!ctl_sdp_parse_num(v, n, 127, &x) || n > 3)
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
	struct ctl_sdp_tok t[5];
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
		if (!ctl_sdp_parse_num(sl + 1, (size_t)(end - sl - 1), UINT32_MAX, &x) || x == 0)
			goto bad;
		a->u.rtpmap.clock = (uint32_t)x;
		if (*end) {
			if (!ctl_sdp_parse_num(end + 1, strlen(end + 1), 255, &x) || x == 0)
				goto bad;
			a->u.rtpmap.channels = (uint32_t)x;
		}
		a->u.rtpmap.pt = pt;
		a->u.rtpmap.encoding = ctl_sdp_mem_strndup(s, enc, (size_t)(sl - enc));
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
		if (!ctl_sdp_parse_num(v, dot, 100000, &x))
			goto bad;
		if (v[dot] && (!v[dot + 1] || strspn(v + dot + 1, "0123456789") != strlen(v + dot + 1)))
			goto bad;
		a->u.ptime = (unsigned)x;
		break;
	}
	case CTL_SDP_A_RTCP:
		if (!v)
			goto bad;
		nt = ctl_sdp_tokenize(v, t, 4);
		if ((nt != 1 && nt != 4) || !ctl_sdp_parse_num(t[0].p, t[0].n, 65535, &x))
			goto bad;
		a->u.rtcp.port = (uint16_t)x;
		if (nt == 4) {
			const char *nett = ctl_sdp_mem_strndup(s, t[1].p, t[1].n);
			const char *at = ctl_sdp_mem_strndup(s, t[2].p, t[2].n);
			const char *ad = ctl_sdp_mem_strndup(s, t[3].p, t[3].n);

			if (!nett || !at || !ad)
				return -ENOMEM;
			if (strcmp(nett, "IN")) {
				snprintf(why, 160, "unsupported network type '%.32s'", nett);
				return -EINVAL;
			}
			if (ctl_sdp_addr_check(at, ad, why))
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
		nt = ctl_sdp_tokenize(v, t, 3);
		if (nt < 3 || t[0].n > 9 || !ctl_sdp_parse_num(t[0].p, t[0].n, 999999999, &x) ||
		    !ctl_sdp_is_token(t[1].p, t[1].n))
			goto bad;
		a->u.crypto.tag = (uint32_t)x;
		a->u.crypto.suite = ctl_sdp_mem_strndup(s, t[1].p, t[1].n);
		a->u.crypto.key_params = ctl_sdp_mem_strndup(s, t[2].p, t[2].n);
		if (!a->u.crypto.suite || !a->u.crypto.key_params)
			return -ENOMEM;
		rest = skip_ws(t[2].p + t[2].n);
		a->u.crypto.session_params = *rest ? rest : NULL;
		if (ctl_sdes_parse(v, &k) == 0) {
			copy = ctl_sdp_mem_alloc(s, sizeof(*copy));
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

/* Build attribute *a from name and value (value NULL: a property). With
 * copy, both are copied into s's memory (value without trailing blanks).
 * Malformed known attributes are an error in RTP media and plain text
 * elsewhere. Returns 0, -EINVAL (*why set), -ENOMEM. */
int ctl_sdp_attr_make(struct ctl_sdp *s, const struct ctl_sdp_media *m, const char *name,
		      const char *value, bool copy, struct ctl_sdp_attr *a, char why[160])
{
	int rc;

	if (!name || !ctl_sdp_is_token(name, strlen(name))) {
		snprintf(why, 160, "bad attribute name");
		return -EINVAL;
	}
	if (value && !ctl_sdp_text_ok(value)) {
		snprintf(why, 160, "control character in a=%.32s", name);
		return -EINVAL;
	}
	if (copy) {
		size_t vn = value ? strlen(value) : 0;

		while (vn && (value[vn - 1] == ' ' || value[vn - 1] == '\t'))
			vn--;
		name = ctl_sdp_strdup(s, name);
		if (!name || (value && !(value = ctl_sdp_mem_strndup(s, value, vn))))
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

struct ctl_sdp_attrs *ctl_sdp_attrs_of(struct ctl_sdp *s, struct ctl_sdp_media *m)
{
	return m ? &m->attrs : &s->attrs;
}

int ctl_sdp_attr_insert(struct ctl_sdp *s, struct ctl_sdp_media *m, unsigned pos,
			const char *name, const char *value)
{
	struct ctl_sdp_attrs *as = ctl_sdp_attrs_of(s, m);
	struct ctl_sdp_attr a;
	char why[160];
	int rc;

	rc = ctl_sdp_grow(s, (void **)&as->v, &as->cap, as->n, CTL_SDP_MAX_ATTRS, sizeof(*as->v));
	if (rc)
		return rc;
	rc = ctl_sdp_attr_make(s, m, name, value, true, &a, why);
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
	struct ctl_sdp_attrs *as = ctl_sdp_attrs_of(s, m);
	struct ctl_sdp_attr a;
	char why[160];
	int rc;

	if (idx >= as->n)
		return -ENOENT;
	rc = ctl_sdp_attr_make(s, m, name, value, true, &a, why);
	if (rc)
		return rc;
	as->v[idx] = a;
	return 0;
}

int ctl_sdp_attr_delete(struct ctl_sdp *s, struct ctl_sdp_media *m, unsigned idx)
{
	struct ctl_sdp_attrs *as = ctl_sdp_attrs_of(s, m);

	if (idx >= as->n)
		return -ENOENT;
	memmove(&as->v[idx], &as->v[idx + 1], (as->n - idx - 1) * sizeof(*as->v));
	as->n--;
	return 0;
}

int ctl_sdp_attr_remove(struct ctl_sdp *s, struct ctl_sdp_media *m, const char *name)
{
	struct ctl_sdp_attrs *as = ctl_sdp_attrs_of(s, m);
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
	struct ctl_sdp_attrs *as = ctl_sdp_attrs_of(s, m);
	unsigned i, j;

	for (i = j = 0; i < as->n; i++)
		if (as->v[i].type != type)
			as->v[j++] = as->v[i];
	i -= j;
	as->n = j;
	return (int)i;
}
