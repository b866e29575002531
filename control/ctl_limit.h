/* SPDX-License-Identifier: MIT
 * ctl_limit: resource limits of the control plane. A token bucket (rate
 * and burst, time injected, so tests run it on a fake clock); the ng
 * request rate globally and per source IP address (max_ng_rps,
 * max_ng_rps_per_source); the number of calls globally and per source
 * (max_calls, max_calls_per_source), where the source of a call is the
 * address of the ng client whose offer created it; and the memory budget
 * (max_memory_mb): a new call, and any request that makes something new
 * without making a call (a recording, a played file, a tap, a room), is
 * refused while the process's resident memory, as last given with
 * ctl_limit_memory, is at or over it. 0 turns a limit off.
 *
 * Sources are kept in a hash table while they have calls or sent a request
 * in the last 10 s (swept at most once a second); at most
 * CTL_LIMIT_MAX_SOURCES at once, past which a new source's requests are
 * refused as over the per-source rate. Control lcore only.
 */
#ifndef CTL_LIMIT_H
#define CTL_LIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ctl_auth.h"

#define CTL_LIMIT_MAX_SOURCES 65536

/* A token bucket: `rate` tokens a second, at most `burst` banked. Starts
 * full. Tokens are counted in thousandths, so rates below 1/ms refill
 * smoothly. */
struct ctl_bucket {
	uint64_t milli;    /* tokens x 1000 */
	uint64_t last_ms;
	bool primed;
};

/* Take one token at now_ms: true, or false when the bucket is empty. */
bool ctl_bucket_take(struct ctl_bucket *b, uint32_t rate, uint32_t burst, uint64_t now_ms);

struct ctl_limit_conf {
	uint32_t max_calls, max_calls_per_source;
	uint32_t max_ng_rps, max_ng_rps_per_source; /* burst: one second's worth */
	uint32_t max_memory_mb; /* resident memory (MiB) at which new calls are refused */
};

struct ctl_limit;
struct ctl_limit_src; /* a source's entry, held by each of its calls */

struct ctl_limit *ctl_limit_create(const struct ctl_limit_conf *conf);
void ctl_limit_destroy(struct ctl_limit *l);
/* One ng request from src (NULL: not counted per source) at now_ms:
 * CTL_REFUSE_NONE, CTL_REFUSE_RATE or CTL_REFUSE_RATE_SOURCE. */
enum ctl_refusal ctl_limit_request(struct ctl_limit *l, const struct sockaddr *src, uint64_t now_ms);
/* The process's resident memory now, in KiB (the caller measures it; see
 * ctl_guard). Kept for ctl_limit_call_add and the statistics. */
void ctl_limit_memory(struct ctl_limit *l, uint64_t rss_kb);
/* max_memory_mb changed by a reload (the other limits need a restart). */
void ctl_limit_set_max_memory(struct ctl_limit *l, uint32_t max_memory_mb);
/* A new call from src (NULL: counted globally only). 0 with *held set (pass
 * it to ctl_limit_call_gone), or -EBUSY with the reason in why (max_calls,
 * max_calls_per_source, or -ENOMEM for max_memory_mb). */
int ctl_limit_call_add(struct ctl_limit *l, const struct sockaddr *src, struct ctl_limit_src **held,
		       char *why, size_t whylen);
void ctl_limit_call_gone(struct ctl_limit *l, struct ctl_limit_src *held);
/* The memory budget alone, for a request that makes what (a recording, a
 * tap, ...) without making a call: 0, or -ENOMEM with the reason in why. */
int ctl_limit_memory_check(struct ctl_limit *l, const char *what, char *why, size_t whylen);

struct ctl_limit_stats {
	uint64_t calls_refused, calls_refused_source; /* offers refused by max_calls / _per_source */
	uint64_t calls_refused_memory; /* offers refused by max_memory_mb */
	uint64_t requests_refused_memory; /* other requests refused by it (ctl_limit_memory_check) */
	uint64_t rss_kb;       /* resident memory, as last measured */
	uint32_t calls;        /* calls counted now */
	uint32_t sources;      /* sources tracked now */
};
void ctl_limit_get_stats(const struct ctl_limit *l, struct ctl_limit_stats *out);
const struct ctl_limit_conf *ctl_limit_conf(const struct ctl_limit *l);

#endif
