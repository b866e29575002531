/* SPDX-License-Identifier: MIT
 * ctl_guard: what stands between the ng sockets and ctl_ng: the source
 * allow-list (ctl_acl), the request rate limits and call limits
 * (ctl_limit) and signed requests (ctl_auth), applied in that order to
 * every request. Refusals are counted by reason (ng statistics, "control
 * security") and logged rate-limited; a refused request gets an ng error
 * reply in its own encoding, never cached (except a source outside the
 * allow-list over UDP: dropped without a reply).
 *
 * Built from [control] (docs/config.md); the server (ctl_server) and the
 * call registry (ctl_call, for max_calls, max_memory_mb and statistics)
 * share one. The memory budget (max_memory_mb) compares the process's
 * resident memory (VmRSS: /proc/self/statm, one pread of a descriptor kept
 * open) with the limit when an offer would create a call, never on a
 * worker.
 * Control lcore only.
 */
#ifndef CTL_GUARD_H
#define CTL_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ctl_acl.h"
#include "ctl_auth.h"
#include "ctl_limit.h"

struct ctl_ng;
struct ctl_val;
struct ctl_arena;
struct ctl_config;

struct ctl_guard;

/* From cfg's [control] keys; the secrets file is read now. NULL with the
 * reason in err (a bad allow-list, an unreadable or world-readable secrets
 * file, auth = required without clients). */
struct ctl_guard *ctl_guard_create(const struct ctl_config *cfg, char *err, size_t errlen);
void ctl_guard_destroy(struct ctl_guard *g);
/* A listener (what: "ng/udp") bound to sa: a non-loopback one without
 * auth = required is logged as a warning, and shown in statistics. */
void ctl_guard_listener(struct ctl_guard *g, const struct sockaddr *sa, const char *what);
/* May a connection or datagram from sa be served? A refusal is counted and
 * logged. */
bool ctl_guard_allows(struct ctl_guard *g, const struct sockaddr *sa);
/* As ctl_ng_handle, for a request from peer: 0 with the reply (the
 * command's, or a refusal), -EBADMSG when ctl_ng drops it (no cookie),
 * -EACCES when the source is not allowed (no reply). now_ms: monotonic. */
int ctl_guard_handle(struct ctl_guard *g, struct ctl_ng *ng, const struct sockaddr *peer, const char *req,
		     size_t len, uint64_t now_ms, const char **reply, size_t *reply_len);
/* max_memory_mb, max_calls and max_calls_per_source for a new call from
 * peer (NULL: not over ng). 0 with *held, or -EBUSY (a call limit) or
 * -ENOMEM (the memory budget) with the reason in why. */
int ctl_guard_call_add(struct ctl_guard *g, const struct sockaddr *peer, struct ctl_limit_src **held,
		       char *why, size_t whylen);
void ctl_guard_call_gone(struct ctl_guard *g, struct ctl_limit_src *held);
/* max_memory_mb for a request from peer that makes what (a recording, a
 * played file, a tap, a room) without making a call: 0, or -ENOMEM with the
 * reason in why (counted, and logged rate-limited). */
int ctl_guard_memory(struct ctl_guard *g, const struct sockaddr *peer, const char *what, char *why, size_t whylen);
/* A reload changed max_memory_mb (live). */
void ctl_guard_set_max_memory(struct ctl_guard *g, uint32_t max_memory_mb);
/* The process's resident memory now, KiB (0: unknown). */
uint64_t ctl_guard_rss_kb(const struct ctl_guard *g);
/* The resource limits' counters (ctl_limit_get_stats). */
void ctl_guard_limit_stats(const struct ctl_guard *g, struct ctl_limit_stats *out);
/* Refusals by reason so far. */
uint64_t ctl_guard_refused(const struct ctl_guard *g, enum ctl_refusal r);
/* statistics: a "control security" dictionary into tot; nomem: requests
 * that failed for want of memory (ctl_ng_error_rc), shown among the
 * refusals as "out of memory". */
void ctl_guard_stats(const struct ctl_guard *g, struct ctl_arena *a, struct ctl_val *tot, uint64_t nomem);

#endif
