/* SPDX-License-Identifier: MIT
 * ctl_site: site resolution (see ctl_site.h). */
#include "ctl_site.h"

#include <stdio.h>
#include <string.h>

#include "ctl_call_int.h"
#include "ctl_ng_args.h"
#include "dp.h"

bool ctl_site_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < CTL_SITE_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

int ctl_site_from_metadata(const char *metadata, char out[CTL_SITE_MAX])
{
	const char *p = metadata;

	out[0] = '\0';
	while (p && *p) {
		const char *end = strchr(p, '|'), *colon;
		size_t len = end ? (size_t)(end - p) : strlen(p);

		while (len && *p == ' ') {
			p++;
			len--;
		}
		colon = memchr(p, ':', len);
		if (colon && colon - p == 4 && !strncmp(p, "site", 4)) {
			size_t vl = len - 5;

			if (vl == 0 || vl >= CTL_SITE_MAX)
				return -1;
			memcpy(out, colon + 1, vl);
			out[vl] = '\0';
			if (!ctl_site_name_ok(out)) {
				out[0] = '\0';
				return -1;
			}
			return 1;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

const char *ctl_site_resolve(const char *meta_site, const char *iface, const char *default_iface)
{
	if (meta_site && *meta_site)
		return meta_site;
	if (iface && *iface)
		return iface;
	return default_iface && *default_iface ? default_iface : "default";
}

/* The first interface's name: where a leg without a direction goes. */
static const char *default_iface(void)
{
	static char name[32];

	if (!name[0]) {
		struct dp_iface_stats is;

		if (dp_iface_count() && !dp_iface_get_stats(0, &is))
			snprintf(name, sizeof(name), "%s", is.name);
		else
			return "default";
	}
	return name;
}

const char *ctl_iface_of(const struct branch *b, int side)
{
	return b && b->iface[side][0] ? b->iface[side] : default_iface();
}

const char *ctl_site_of_leg(const struct call *k, const struct branch *b, int side)
{
	if (side && b && b->site[0])
		return b->site;
	return ctl_site_resolve(k->site, b ? b->iface[side] : NULL, default_iface());
}

const char *ctl_site_of_call(const struct call *k)
{
	const struct branch *newest = NULL;

	for (unsigned i = 0; i < k->n_br; i++)
		if (!newest || k->br[i]->seq > newest->seq)
			newest = k->br[i];
	return ctl_site_of_leg(k, newest, 0);
}

void ctl_site_signalling(struct ctl_ng_req *r, struct call *k, struct branch *b, int side)
{
	const char *meta = ctl_arg_str(r, "metadata");
	char site[CTL_SITE_MAX];
	int rc;

	if (!meta)
		return;
	rc = ctl_site_from_metadata(meta, site);
	if (rc < 0)
		ctl_ng_warning(r, "metadata: the site is not 1-%d characters of A-Z a-z 0-9 . _ -: ignored",
			       CTL_SITE_MAX - 1);
	if (rc <= 0)
		return;
	if (side == 0 || !b)
		memcpy(k->site, site, sizeof(site));
	else
		memcpy(b->site, site, sizeof(site));
}
