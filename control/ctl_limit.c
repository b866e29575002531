/* SPDX-License-Identifier: MIT
 * ctl_limit: token buckets, per-source and global limits (see ctl_limit.h). */
#include "ctl_limit.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_addr.h"

#define NBUCKETS 4096
#define IDLE_MS 10000u   /* a source with no call and no request this long is forgotten */
#define SWEEP_MS 1000u

struct ctl_limit_src {
	uint8_t ip[16];        /* IPv4 as ::ffff:a.b.c.d */
	uint32_t calls;
	uint64_t last_ms;
	struct ctl_bucket rps;
	struct ctl_limit_src *next;
};

struct ctl_limit {
	struct ctl_limit_conf conf;
	struct ctl_limit_src *bucket[NBUCKETS];
	struct ctl_bucket rps;
	uint32_t calls, nsrc;
	uint64_t rss_kb;
	uint64_t next_sweep_ms;
	struct ctl_limit_stats st;
};

bool ctl_bucket_take(struct ctl_bucket *b, uint32_t rate, uint32_t burst, uint64_t now_ms)
{
	uint64_t cap = (uint64_t)(burst ? burst : 1) * 1000u;

	if (!b->primed) {
		b->primed = true;
		b->milli = cap;
		b->last_ms = now_ms;
	}
	if (now_ms > b->last_ms) {
		uint64_t dt = now_ms - b->last_ms;

		/* rate tokens a second = rate thousandths a millisecond */
		b->milli = dt >= cap || dt * rate >= cap - b->milli ? cap : b->milli + dt * rate;
		b->last_ms = now_ms;
	}
	if (b->milli < 1000u)
		return false;
	b->milli -= 1000u;
	return true;
}

struct ctl_limit *ctl_limit_create(const struct ctl_limit_conf *conf)
{
	struct ctl_limit *l = calloc(1, sizeof(*l));

	if (l && conf)
		l->conf = *conf;
	return l;
}

void ctl_limit_destroy(struct ctl_limit *l)
{
	if (!l)
		return;
	for (unsigned b = 0; b < NBUCKETS; b++)
		while (l->bucket[b]) {
			struct ctl_limit_src *s = l->bucket[b];

			l->bucket[b] = s->next;
			free(s);
		}
	free(l);
}

const struct ctl_limit_conf *ctl_limit_conf(const struct ctl_limit *l) { return &l->conf; }

static void ip_of(const struct sockaddr *sa, uint8_t ip[16])
{
	memset(ip, 0, 16);
	if (sa->sa_family == AF_INET) {
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(ip, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

static unsigned hash_ip(const uint8_t ip[16])
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ ip[i]) * 16777619u;
	return h % NBUCKETS;
}

static void sweep(struct ctl_limit *l, uint64_t now_ms)
{
	for (unsigned b = 0; b < NBUCKETS; b++) {
		struct ctl_limit_src **pp = &l->bucket[b];

		while (*pp) {
			struct ctl_limit_src *s = *pp;

			if (!s->calls && now_ms - s->last_ms >= IDLE_MS) {
				*pp = s->next;
				free(s);
				l->nsrc--;
				continue;
			}
			pp = &s->next;
		}
	}
}

/* The entry of sa; created when `create`; NULL when none (or no room). */
static struct ctl_limit_src *source(struct ctl_limit *l, const struct sockaddr *sa, uint64_t now_ms,
				    bool create)
{
	uint8_t ip[16];
	unsigned h;
	struct ctl_limit_src *s;

	ip_of(sa, ip);
	h = hash_ip(ip);
	for (s = l->bucket[h]; s; s = s->next)
		if (!memcmp(s->ip, ip, 16))
			return s;
	if (!create || l->nsrc >= CTL_LIMIT_MAX_SOURCES)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	memcpy(s->ip, ip, 16);
	s->last_ms = now_ms;
	s->next = l->bucket[h];
	l->bucket[h] = s;
	l->nsrc++;
	return s;
}

enum ctl_refusal ctl_limit_request(struct ctl_limit *l, const struct sockaddr *src, uint64_t now_ms)
{
	struct ctl_limit_src *s;

	if (!l)
		return CTL_REFUSE_NONE;
	if (now_ms >= l->next_sweep_ms) {
		sweep(l, now_ms);
		l->next_sweep_ms = now_ms + SWEEP_MS;
	}
	if (src && l->conf.max_ng_rps_per_source) {
		s = source(l, src, now_ms, true);
		if (!s)
			return CTL_REFUSE_RATE_SOURCE; /* too many sources at once */
		s->last_ms = now_ms;
		if (!ctl_bucket_take(&s->rps, l->conf.max_ng_rps_per_source, l->conf.max_ng_rps_per_source, now_ms))
			return CTL_REFUSE_RATE_SOURCE;
	}
	if (l->conf.max_ng_rps && !ctl_bucket_take(&l->rps, l->conf.max_ng_rps, l->conf.max_ng_rps, now_ms))
		return CTL_REFUSE_RATE;
	return CTL_REFUSE_NONE;
}

/* Over max_memory_mb (as last measured)? Then why says so, what (if not
 * NULL) named after it: the one wording of both refusals. */
static bool over_memory(const struct ctl_limit *l, const char *what, char *why, size_t whylen)
{
	if (!l->conf.max_memory_mb || l->rss_kb < (uint64_t)l->conf.max_memory_mb * 1024u)
		return false;
	snprintf(why, whylen, "Memory limit reached: %llu MB in use of %u MB (max_memory_mb)%s%s",
		 (unsigned long long)(l->rss_kb / 1024u), l->conf.max_memory_mb, what ? ": no new " : "",
		 what ? what : "");
	return true;
}

int ctl_limit_call_add(struct ctl_limit *l, const struct sockaddr *src, struct ctl_limit_src **held,
		       char *why, size_t whylen)
{
	struct ctl_limit_src *s = NULL;

	*held = NULL;
	if (!l)
		return 0;
	if (over_memory(l, NULL, why, whylen)) {
		l->st.calls_refused_memory++;
		return -ENOMEM;
	}
	if (l->conf.max_calls && l->calls >= l->conf.max_calls) {
		l->st.calls_refused++;
		snprintf(why, whylen, "Call limit reached: %u calls (max_calls)", l->conf.max_calls);
		return -EBUSY;
	}
	if (src && l->conf.max_calls_per_source) {
		char a[64];

		s = source(l, src, 0, true);
		if (s && s->calls >= l->conf.max_calls_per_source) {
			l->st.calls_refused_source++;
			snprintf(why, whylen, "Call limit reached for this source: %u calls from %s "
				 "(max_calls_per_source)", s->calls, ctl_addr_str(src, a, sizeof(a)));
			return -EBUSY;
		}
		if (!s) {
			l->st.calls_refused_source++;
			snprintf(why, whylen, "Call limit reached: too many sources");
			return -EBUSY;
		}
		s->calls++;
	}
	l->calls++;
	*held = s;
	return 0;
}

int ctl_limit_memory_check(struct ctl_limit *l, const char *what, char *why, size_t whylen)
{
	if (!l || !over_memory(l, what, why, whylen))
		return 0;
	l->st.requests_refused_memory++;
	return -ENOMEM;
}

void ctl_limit_call_gone(struct ctl_limit *l, struct ctl_limit_src *held)
{
	if (!l)
		return;
	if (l->calls)
		l->calls--;
	if (held && held->calls)
		held->calls--; /* last_ms is kept: swept once idle */
}

void ctl_limit_memory(struct ctl_limit *l, uint64_t rss_kb)
{
	if (l)
		l->rss_kb = rss_kb;
}

void ctl_limit_set_max_memory(struct ctl_limit *l, uint32_t max_memory_mb)
{
	if (l)
		l->conf.max_memory_mb = max_memory_mb;
}

void ctl_limit_get_stats(const struct ctl_limit *l, struct ctl_limit_stats *out)
{
	*out = l->st;
	out->rss_kb = l->rss_kb;
	out->calls = l->calls;
	out->sources = l->nsrc;
}
