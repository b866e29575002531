/* SPDX-License-Identifier: MIT
 * ctl_site: which site a call's party is at, for metrics, the status page
 * and alerts. A site is a name an operator groups media by (a clinic, a
 * branch office, a provider): the "site" entry of the ng "metadata" string
 * ("key:value|key:value", the form recording's %{key} reads), or else the
 * name of the interface the party's leg is on. See docs/operations.md.
 */
#include <stdio.h>
#include <string.h>

#include "ctl_call_int.h"
#include "ctl_ng_args.h"
#include "dp.h"

#define SITE_KEY "site"

/* The value of `key` in "k:v|k:v" into out (bounded; only [A-Za-z0-9._-]
 * kept: it becomes a label value and a JSON string). Returns true when
 * found and non-empty. */
static bool meta_value(const char *meta, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);

	for (const char *p = meta; p && *p;) {
		const char *end = strchr(p, '|'), *colon = strchr(p, ':');
		size_t n = 0;

		if (!end)
			end = p + strlen(p);
		while (*p == ' ')
			p++;
		if (colon && colon < end && (size_t)(colon - p) == klen && !strncmp(p, key, klen)) {
			for (const char *v = colon + 1; v < end && n + 1 < len; v++)
				if ((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || (*v >= '0' && *v <= '9') ||
				    *v == '.' || *v == '_' || *v == '-')
					out[n++] = *v;
			out[n] = '\0';
			return n > 0;
		}
		p = *end ? end + 1 : end;
	}
	return false;
}

void ctl_site_signalling(struct ctl_ng_req *r, struct call *k, struct branch *b, int side)
{
	const char *meta = ctl_arg_str(r, "metadata");
	char site[sizeof(k->site)];

	if (!meta || !meta_value(meta, SITE_KEY, site, sizeof(site)))
		return;
	if (side == 0 || !b)
		memcpy(k->site, site, sizeof(site));
	else
		memcpy(b->site, site, sizeof(site));
}

const char *ctl_iface_of(const struct branch *b, int side)
{
	static char first[32];

	if (b && b->iface[side][0])
		return b->iface[side];
	if (!first[0]) { /* the default interface: the first one */
		struct dp_iface_stats is;

		if (dp_iface_get_stats(0, &is) == 0)
			snprintf(first, sizeof(first), "%s", is.name);
		else
			snprintf(first, sizeof(first), "default");
	}
	return first;
}

const char *ctl_site_of(const struct call *k, const struct branch *b, int side)
{
	if (side && b && b->site[0])
		return b->site;
	if (k->site[0])
		return k->site;
	return ctl_iface_of(b, side);
}
