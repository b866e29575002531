/* SPDX-License-Identifier: MIT
 * ctl_cookie: the ng reply cache. A request retransmitted with the same
 * cookie gets the reply already sent, not a second execution (rtpengine's
 * behaviour). Fixed capacity, sized at creation; entries expire after ttl
 * and the oldest is evicted when full.
 */
#ifndef CTL_COOKIE_H
#define CTL_COOKIE_H

#include <stddef.h>
#include <stdint.h>

#define CTL_COOKIE_MAX 128 /* longest cookie accepted, bytes */

struct ctl_cookie_cache;

/* A cache of `capacity` replies kept `ttl_ms`. NULL on bad arguments or
 * no memory. */
struct ctl_cookie_cache *ctl_cookie_cache_create(uint32_t capacity, uint64_t ttl_ms);
/* Free the cache and its replies; accepts NULL. */
void ctl_cookie_cache_destroy(struct ctl_cookie_cache *c);
/* The cached reply for cookie, if one younger than ttl exists: returns 0 and
 * sets *reply and *len (valid until the next insert). -ENOENT otherwise. */
int ctl_cookie_cache_get(struct ctl_cookie_cache *c, const char *cookie, size_t cookie_len,
			 uint64_t now_ms, const char **reply, size_t *len);
/* Store a copy of reply under cookie (replacing any older entry for it).
 * Returns 0, -EINVAL for an empty or over-long cookie, -ENOMEM. */
int ctl_cookie_cache_put(struct ctl_cookie_cache *c, const char *cookie, size_t cookie_len,
			 const char *reply, size_t len, uint64_t now_ms);
/* Number of stored (some may be expired but not yet evicted) entries. */
uint32_t ctl_cookie_cache_count(const struct ctl_cookie_cache *c);

#endif
