/* SPDX-License-Identifier: MIT
 * ctl_site: which site a call's party is at, for per-site metrics, the
 * status page and per-site alerts (ctl_metrics, ctl_alert). A site is a
 * name an operator groups media by (a clinic, a branch office, a
 * provider).
 *
 * A party's site is named, in this order of precedence:
 *  1. by the "site" entry of the ng "metadata" string (rtpengine's
 *     "key:value|key:value" form, "site:north|case:42"): an offer's names
 *     the call's site (the offerer's, and the answerer's unless its answer
 *     names one); an answer's names the answerer's;
 *  2. else by the interface the party's legs are on: the ng "direction" the
 *     branch was offered with, an [interface NAME] section's name; a side
 *     without a direction is on the first interface (the built-in one is
 *     named "default").
 * A site name is 1-31 characters of A-Z a-z 0-9 . _ -; a metadata site of
 * any other form is ignored (the request gets a warning).
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
 * empty, else default_iface (else "default"). */
const char *ctl_site_resolve(const char *meta_site, const char *iface, const char *default_iface);

/* On the call model (ctl_call_int.h); control lcore only. */
struct call;
struct branch;
struct ctl_ng_req;
/* After a successful offer (side 0) or answer (side 1) of branch b of k:
 * take the site of the request's metadata, if it names one; a malformed
 * one gets a warning in the reply and changes nothing. */
void ctl_site_signalling(struct ctl_ng_req *r, struct call *k, struct branch *b, int side);
/* The site of party `side` (0 the offerer, 1 the answerer) of branch b of
 * call k (b may be NULL): never NULL. */
const char *ctl_site_of_leg(const struct call *k, const struct branch *b, int side);
/* The call's site, the one a single label names: the offerer's side of its
 * newest branch. */
const char *ctl_site_of_call(const struct call *k);
/* The interface party `side` of branch b is on (never NULL). */
const char *ctl_iface_of(const struct branch *b, int side);

#endif
