/* SPDX-License-Identifier: MIT
 * ctl_site: which site a call's media belongs to (issue 14), for per-site
 * alerts (ctl_alert) and per-site metrics.
 *
 * A site is named, in this order of precedence:
 *  1. by the ng "metadata" of the call's offer or answer: a "site" entry in
 *     rtpengine's "key:value|key:value" form ("site:north|case:42"). It
 *     names the site of both sides of the call, and a later offer or answer
 *     with metadata replaces it (metadata without a site entry clears it);
 *  2. else by the interface a side's legs are on: the ng "direction" the
 *     branch was offered with, an [interface NAME] section's name; a side
 *     without a direction is on the first interface (the built-in one is
 *     named "default").
 * A site name is 1-31 characters of A-Z a-z 0-9 . _ -; a metadata site of
 * any other form is ignored (the offer gets a warning).
 */
#ifndef CTL_SITE_H
#define CTL_SITE_H

#include <stdbool.h>
#include <stddef.h>

#define CTL_SITE_MAX 32 /* bytes of a site name, with its NUL */

/* The "site" entry of an ng metadata string into out (CTL_SITE_MAX).
 * Returns 1 when found and valid, 0 when there is none (out = ""), -1 when
 * there is one of a bad form (out = ""). */
int ctl_site_from_metadata(const char *metadata, char out[CTL_SITE_MAX]);
/* Is s a valid site name? */
bool ctl_site_name_ok(const char *s);
/* The site: meta_site when not empty, else the interface iface when not
 * empty, else default_iface. */
const char *ctl_site_resolve(const char *meta_site, const char *iface, const char *default_iface);

/* On the call model (ctl_call_int.h). */
struct call;
struct branch;
struct ctl_ng_req;
/* The site of side `side` (0 the offerer, 1 the answerer) of branch b of
 * call k: never NULL. Control lcore. */
const char *ctl_site_of_leg(const struct call *k, const struct branch *b, int side);
/* The call's site, the one a single label names: its metadata site, else
 * the site of the offerer's side of its newest branch. */
const char *ctl_site_of_call(const struct call *k);
/* After an offer or answer of k: a "metadata" key (re)sets the call's
 * site; a malformed site entry gets a warning in the reply. */
void ctl_site_signalling(struct ctl_ng_req *r, struct call *k);

#endif
