/* SPDX-License-Identifier: MIT
 * ctl_guard: allow-list, limits and signatures in front of ctl_ng (see
 * ctl_guard.h). */
#include "ctl_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_addr.h"
#include "ctl_config.h"
#include "ctl_ng.h"
#include "ctl_val.h"
#include "dp.h"

struct ctl_guard {
	struct ctl_acl acl;
	struct ctl_auth *auth;
	struct ctl_limit *limit;
	bool exposed;         /* a listener on a non-loopback address without auth = required */
	char exposure[160];   /* what statistics says about it */
	uint64_t refused[CTL_REFUSE__COUNT];
	int statm_fd;         /* /proc/self/statm, for max_memory_mb; -1: none */
	long page_kb;
};

struct ctl_guard *ctl_guard_create(const struct ctl_config *cfg, char *err, size_t errlen)
{
	struct ctl_guard *g = calloc(1, sizeof(*g));
	struct ctl_limit_conf lc = {
		.max_calls = cfg->max_calls,
		.max_calls_per_source = cfg->max_calls_per_source,
		.max_ng_rps = cfg->max_ng_rps,
		.max_ng_rps_per_source = cfg->max_ng_rps_per_source,
		.max_memory_mb = cfg->max_memory_mb,
	};
	enum ctl_auth_mode mode;

	if (!g) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	err[0] = '\0';
	g->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	g->page_kb = sysconf(_SC_PAGESIZE) / 1024;
	if (g->page_kb <= 0)
		g->page_kb = 4;
	if (g->statm_fd < 0 && cfg->max_memory_mb)
		dp_log(DP_LOG_WARNING, "ctl", "control.max_memory_mb: cannot open /proc/self/statm: the memory budget is not "
		       "enforced");
	snprintf(g->exposure, sizeof(g->exposure), "loopback only");
	if (ctl_acl_parse(&g->acl, cfg->allow, err, errlen) || ctl_auth_mode_parse(cfg->auth, &mode)) {
		if (!err[0])
			snprintf(err, errlen, "control.auth: '%s' is not off, optional or required", cfg->auth);
		goto fail;
	}
	g->auth = ctl_auth_create(mode, cfg->auth_window_s, cfg->auth_replay_slots);
	g->limit = ctl_limit_create(&lc);
	if (!g->auth || !g->limit) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (cfg->auth_keys[0] && ctl_auth_load_keys(g->auth, cfg->auth_keys, err, errlen))
		goto fail;
	if (mode != CTL_AUTH_OFF && !ctl_auth_clients(g->auth)) {
		snprintf(err, errlen, "control.auth = %s needs clients: set control.auth_keys to a secrets file",
			 ctl_auth_mode_name(mode));
		goto fail;
	}
	if (mode != CTL_AUTH_OFF)
		dp_log(DP_LOG_NOTICE, "ctl", "ng authentication %s: %u client(s), timestamp window +-%u s",
		       ctl_auth_mode_name(mode), ctl_auth_clients(g->auth), cfg->auth_window_s);
	if (g->acl.n)
		dp_log(DP_LOG_NOTICE, "ctl", "ng allow-list: %s", cfg->allow);
	if (cfg->max_memory_mb)
		dp_log(DP_LOG_NOTICE, "ctl", "memory budget: new calls refused at %u MB resident (%" PRIu64 " MB now)",
		       cfg->max_memory_mb, ctl_guard_rss_kb(g) / 1024u);
	return g;
fail:
	ctl_guard_destroy(g);
	return NULL;
}

void ctl_guard_destroy(struct ctl_guard *g)
{
	if (!g)
		return;
	ctl_auth_destroy(g->auth);
	ctl_limit_destroy(g->limit);
	if (g->statm_fd >= 0)
		close(g->statm_fd);
	free(g);
}

void ctl_guard_listener(struct ctl_guard *g, const struct sockaddr *sa, const char *what)
{
	char a[64];
	enum ctl_auth_mode mode = ctl_auth_mode(g->auth);

	if (ctl_addr_is_loopback(sa))
		return;
	ctl_addr_str(sa, a, sizeof(a));
	if (mode == CTL_AUTH_REQUIRED) {
		if (!g->exposed)
			snprintf(g->exposure, sizeof(g->exposure), "%s on %s, every request signed", what, a);
		return;
	}
	g->exposed = true;
	snprintf(g->exposure, sizeof(g->exposure), "EXPOSED: %s on %s without authentication (auth = %s)%s", what,
		 a, ctl_auth_mode_name(mode), g->acl.n ? ", source allow-list on" : ", any source");
	dp_log(DP_LOG_WARNING, "ctl", "*** SECURITY WARNING: the ng control socket %s listens on %s, not on "
	       "loopback, and auth = %s: %s can create, change and end calls and read "
	       "their details. Set control.auth = required with control.auth_keys, restrict "
	       "sources with control.allow, or bind to 127.0.0.1 (docs/operations.md, Security) ***", what, a,
	       ctl_auth_mode_name(mode), g->acl.n ? "any host the allow-list admits" : "anyone who can reach it");
}

static void refused(struct ctl_guard *g, enum ctl_refusal r, const struct sockaddr *peer, const char *extra)
{
	char a[64];

	g->refused[r]++;
	DP_LOG_RL(DP_LOG_WARNING, "ctl", "ng request from %s refused: %s%s%s (%llu so far)",
		  peer ? ctl_addr_str(peer, a, sizeof(a)) : "?", ctl_refusal_name(r), extra && *extra ? ", " : "",
		  extra ? extra : "", (unsigned long long)g->refused[r]);
}

bool ctl_guard_allows(struct ctl_guard *g, const struct sockaddr *sa)
{
	if (!g || ctl_acl_allows(&g->acl, sa))
		return true;
	refused(g, CTL_REFUSE_NOT_ALLOWED, sa, NULL);
	return false;
}

int ctl_guard_handle(struct ctl_guard *g, struct ctl_ng *ng, const struct sockaddr *peer, const char *req,
		     size_t len, uint64_t now_ms, const char **reply, size_t *reply_len)
{
	struct ctl_auth_sig sig;
	enum ctl_refusal r;
	int64_t now_s;
	int rc;
	char extra[96] = "";

	if (!g) {
		ctl_ng_set_peer(ng, peer);
		rc = ctl_ng_handle(ng, req, len, now_ms, reply, reply_len);
		ctl_ng_set_peer(ng, NULL); /* peer lives as long as this call */
		return rc;
	}
	if (peer && !ctl_guard_allows(g, peer))
		return -EACCES;
	r = ctl_limit_request(g->limit, peer, now_ms);
	if (r == CTL_REFUSE_NONE) {
		now_s = (int64_t)time(NULL);
		r = ctl_auth_verify(g->auth, req, len, now_s, &sig);
		/* a retransmission (its reply is cached) is answered again, even
		 * once its timestamp left the window; anything else signed is
		 * executed once only */
		if ((r == CTL_REFUSE_NONE || r == CTL_REFUSE_STALE) && sig.present &&
		    ctl_ng_is_retransmit(ng, req, len, now_ms))
			r = CTL_REFUSE_NONE;
		else if (r == CTL_REFUSE_NONE && sig.present)
			r = ctl_auth_remember(g->auth, &sig, now_s);
		if (r != CTL_REFUSE_NONE && sig.name[0])
			snprintf(extra, sizeof(extra), "client '%s', ts %lld (now %lld)", sig.name, (long long)sig.ts,
				 (long long)now_s);
	}
	if (r == CTL_REFUSE_NONE) {
		ctl_ng_set_peer(ng, peer);
		rc = ctl_ng_handle(ng, req, len, now_ms, reply, reply_len);
		ctl_ng_set_peer(ng, NULL);
		return rc;
	}
	refused(g, r, peer, extra);
	return ctl_ng_refuse(ng, req, len, ctl_refusal_reason(r), reply, reply_len);
}

/* The resident memory, read for the budget when there is one (~3.5 us:
 * only for a request that would make something new). */
static void measure(struct ctl_guard *g)
{
	if (ctl_limit_conf(g->limit)->max_memory_mb)
		ctl_limit_memory(g->limit, ctl_guard_rss_kb(g));
}

int ctl_guard_call_add(struct ctl_guard *g, const struct sockaddr *peer, struct ctl_limit_src **held,
		       char *why, size_t whylen)
{
	int rc;

	*held = NULL;
	if (!g)
		return 0;
	measure(g);
	rc = ctl_limit_call_add(g->limit, peer, held, why, whylen);
	if (rc) {
		char a[64];

		DP_LOG_RL(DP_LOG_WARNING, "ctl", "offer from %s refused: %s", peer ? ctl_addr_str(peer, a, sizeof(a)) : "?",
			  why);
		return rc == -ENOMEM ? -ENOMEM : -EBUSY;
	}
	return 0;
}

int ctl_guard_memory(struct ctl_guard *g, const struct sockaddr *peer, const char *what, char *why, size_t whylen)
{
	char a[64];

	if (!g)
		return 0;
	measure(g);
	if (!ctl_limit_memory_check(g->limit, what, why, whylen))
		return 0;
	DP_LOG_RL(DP_LOG_WARNING, "ctl", "%s from %s refused: %s", what, peer ? ctl_addr_str(peer, a, sizeof(a)) : "?",
		  why);
	return -ENOMEM;
}

void ctl_guard_set_max_memory(struct ctl_guard *g, uint32_t max_memory_mb)
{
	if (g)
		ctl_limit_set_max_memory(g->limit, max_memory_mb);
}

/* statm's second field: resident pages (file-backed, anonymous and shmem:
 * what counts against the process when the OOM killer chooses, hugepages
 * aside). A pread of a descriptor kept open: no open() under pressure. */
uint64_t ctl_guard_rss_kb(const struct ctl_guard *g)
{
	char buf[128];
	unsigned long long size, res;
	ssize_t n;

	if (!g || g->statm_fd < 0)
		return 0;
	n = pread(g->statm_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &size, &res) != 2)
		return 0;
	return (uint64_t)res * (uint64_t)g->page_kb;
}

void ctl_guard_call_gone(struct ctl_guard *g, struct ctl_limit_src *held)
{
	if (g)
		ctl_limit_call_gone(g->limit, held);
}

void ctl_guard_limit_stats(const struct ctl_guard *g, struct ctl_limit_stats *out)
{
	ctl_limit_get_stats(g->limit, out);
}

uint64_t ctl_guard_refused(const struct ctl_guard *g, enum ctl_refusal r)
{
	return r < CTL_REFUSE__COUNT ? g->refused[r] : 0;
}

void ctl_guard_stats(const struct ctl_guard *g, struct ctl_arena *a, struct ctl_val *tot, uint64_t nomem)
{
	struct ctl_val *sec = ctl_val_dict(a), *ref = ctl_val_dict(a), *lim = ctl_val_dict(a);
	const struct ctl_limit_conf *lc = ctl_limit_conf(g->limit);
	struct ctl_limit_stats ls;

	if (!sec || !ref || !lim)
		return;
	ctl_limit_get_stats(g->limit, &ls);
	ctl_dict_add_cstr(a, sec, "auth", ctl_auth_mode_name(ctl_auth_mode(g->auth)));
	ctl_dict_add_int(a, sec, "auth clients", ctl_auth_clients(g->auth));
	ctl_dict_add_int(a, sec, "allow-list entries", g->acl.n);
	ctl_dict_add_int(a, sec, "exposed", g->exposed);
	ctl_dict_add_cstr(a, sec, "listeners", g->exposure);
	for (int r = 1; r < CTL_REFUSE__COUNT; r++)
		ctl_dict_add_int(a, ref, ctl_refusal_name(r), (int64_t)g->refused[r]);
	ctl_dict_add_int(a, ref, "max calls", (int64_t)ls.calls_refused);
	ctl_dict_add_int(a, ref, "max calls per source", (int64_t)ls.calls_refused_source);
	ctl_dict_add_int(a, ref, "max memory", (int64_t)ls.calls_refused_memory);
	ctl_dict_add_int(a, ref, "max memory, other requests", (int64_t)ls.requests_refused_memory);
	ctl_dict_add_int(a, ref, "out of memory", (int64_t)nomem);
	ctl_dict_add(sec, "refused", 7, ref);
	ctl_dict_add_int(a, sec, "replay cache evictions", (int64_t)ctl_auth_evictions(g->auth));
	ctl_dict_add_int(a, lim, "max_calls", lc->max_calls);
	ctl_dict_add_int(a, lim, "max_calls_per_source", lc->max_calls_per_source);
	ctl_dict_add_int(a, lim, "max_ng_rps", lc->max_ng_rps);
	ctl_dict_add_int(a, lim, "max_ng_rps_per_source", lc->max_ng_rps_per_source);
	ctl_dict_add_int(a, lim, "max_memory_mb", lc->max_memory_mb);
	ctl_dict_add_int(a, lim, "memory mb", (int64_t)(ctl_guard_rss_kb(g) / 1024u));
	ctl_dict_add_int(a, lim, "calls", ls.calls);
	ctl_dict_add_int(a, lim, "sources", ls.sources);
	ctl_dict_add(sec, "limits", 6, lim);
	ctl_dict_add(tot, "control security", 16, sec);
}
