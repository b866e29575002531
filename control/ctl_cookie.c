/* SPDX-License-Identifier: MIT
 * ctl_cookie: fixed-capacity FIFO cache with a chained hash index. */
#include "ctl_cookie.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	char cookie[CTL_COOKIE_MAX];
	uint8_t cookie_len;
	bool used;
	int32_t next;     /* next entry in the same bucket, -1 ends */
	uint32_t bucket;
	uint64_t expires_ms;
	char *reply;
	size_t len;
};

struct ctl_cookie_cache {
	uint32_t capacity, count, head; /* head: oldest entry in FIFO order */
	uint32_t nbuckets;              /* power of two */
	uint64_t ttl_ms;
	int32_t *buckets;
	struct entry *e;
};

static uint32_t hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 16777619u;
	return h;
}

struct ctl_cookie_cache *ctl_cookie_cache_create(uint32_t capacity, uint64_t ttl_ms)
{
	struct ctl_cookie_cache *c;

	if (capacity == 0 || capacity > (1u << 24))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->capacity = capacity;
	c->ttl_ms = ttl_ms;
	c->nbuckets = 1;
	while (c->nbuckets < capacity * 2)
		c->nbuckets <<= 1;
	c->buckets = malloc(sizeof(*c->buckets) * c->nbuckets);
	c->e = calloc(capacity, sizeof(*c->e));
	if (!c->buckets || !c->e) {
		ctl_cookie_cache_destroy(c);
		return NULL;
	}
	memset(c->buckets, 0xff, sizeof(*c->buckets) * c->nbuckets); /* all -1 */
	return c;
}

void ctl_cookie_cache_destroy(struct ctl_cookie_cache *c)
{
	if (!c)
		return;
	if (c->e)
		for (uint32_t i = 0; i < c->capacity; i++)
			free(c->e[i].reply);
	free(c->e);
	free(c->buckets);
	free(c);
}

static int32_t find(struct ctl_cookie_cache *c, const char *cookie, size_t n)
{
	int32_t i = c->buckets[hash(cookie, n) & (c->nbuckets - 1)];

	while (i >= 0 && !(c->e[i].cookie_len == n && memcmp(c->e[i].cookie, cookie, n) == 0))
		i = c->e[i].next;
	return i;
}

static void unlink_entry(struct ctl_cookie_cache *c, uint32_t idx)
{
	struct entry *e = &c->e[idx];
	int32_t *pp = &c->buckets[e->bucket];

	while (*pp >= 0 && *pp != (int32_t)idx)
		pp = &c->e[*pp].next;
	if (*pp == (int32_t)idx)
		*pp = e->next;
	free(e->reply);
	e->reply = NULL;
	e->used = false;
	c->count--;
}

/* Evict from the FIFO head while entries are expired (or, with force, one). */
static void evict(struct ctl_cookie_cache *c, uint64_t now_ms, bool force)
{
	while (c->count) {
		struct entry *e = &c->e[c->head];

		if (e->used) {
			if (!force && e->expires_ms > now_ms)
				return;
			unlink_entry(c, c->head);
			force = false;
		}
		c->head = (c->head + 1) % c->capacity;
	}
}

int ctl_cookie_cache_get(struct ctl_cookie_cache *c, const char *cookie, size_t cookie_len,
			 uint64_t now_ms, const char **reply, size_t *len)
{
	int32_t i;

	if (cookie_len == 0 || cookie_len > CTL_COOKIE_MAX)
		return -ENOENT;
	i = find(c, cookie, cookie_len);
	if (i < 0 || c->e[i].expires_ms <= now_ms)
		return -ENOENT;
	*reply = c->e[i].reply;
	*len = c->e[i].len;
	return 0;
}

int ctl_cookie_cache_put(struct ctl_cookie_cache *c, const char *cookie, size_t cookie_len,
			 const char *reply, size_t len, uint64_t now_ms)
{
	uint32_t slot;
	int32_t old;
	struct entry *e;
	char *copy;

	if (cookie_len == 0 || cookie_len > CTL_COOKIE_MAX)
		return -EINVAL;
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, reply, len);
	old = find(c, cookie, cookie_len);
	if (old >= 0)
		unlink_entry(c, (uint32_t)old);
	evict(c, now_ms, false);
	if (c->count == c->capacity)
		evict(c, now_ms, true);
	/* New entries go at head + count, which keeps the ring in insertion
	 * order until a replaced cookie leaves a hole; then the next free slot
	 * is taken. Order is only approximate after that, which is harmless:
	 * lookups check expiry themselves and eviction skips holes. */
	slot = (c->head + c->count) % c->capacity;
	while (c->e[slot].used)
		slot = (slot + 1) % c->capacity;
	e = &c->e[slot];
	memcpy(e->cookie, cookie, cookie_len);
	e->cookie_len = (uint8_t)cookie_len;
	e->used = true;
	e->expires_ms = now_ms + c->ttl_ms;
	e->reply = copy;
	e->len = len;
	e->bucket = hash(cookie, cookie_len) & (c->nbuckets - 1);
	e->next = c->buckets[e->bucket];
	c->buckets[e->bucket] = (int32_t)slot;
	c->count++;
	return 0;
}

uint32_t ctl_cookie_cache_count(const struct ctl_cookie_cache *c) { return c->count; }
