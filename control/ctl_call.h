/* SPDX-License-Identifier: MIT
 * ctl_call: the call model behind the ng commands. A call (call-id) has the
 * offerer's tag (from-tag) and one branch per answerer (forking, by
 * via-branch or to-tag); each branch has one stream per SDP media section,
 * and each stream is two dataplane legs, one facing each side, relayed to
 * each other or through codecs/ chains when the sides need transcoding.
 * offer allocates the legs and rewrites the SDP for the answerer; answer
 * completes them and rewrites the SDP for the offerer; delete, query, list,
 * statistics and the DTMF commands act on them. The insides are in
 * ctl_call_int.h.
 */
#ifndef CTL_CALL_H
#define CTL_CALL_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctl_ng.h"
#include "rec_audit.h"

struct ctl_calls;
struct ctl_guard;

struct ctl_calls_conf {
	uint32_t idle_timeout_s; /* a call whose media stopped this long ago ends; 0: never */
	char tap_dir[256];       /* where ng taps write files; "": taps are off */
	char play_dir[256];      /* the files ng play media may read; "": none */
	/* [recording] (docs/config.md): rec_dir "": recording is off */
	char rec_dir[256];
	char rec_format[16];     /* wav, mono, opus */
	char rec_pattern[256];   /* the default file name pattern */
	uint32_t rec_rate, rec_fsync_ms;
	bool rec_pcap;           /* a pcap with every recording */
	struct rec_retain_policy retention; /* [retention]: ng "recording sweep" */
	bool retention_allow_now; /* ng "recording sweep" may set the clock ("now": tests) */
	struct ctl_guard *guard; /* max_calls, max_calls_per_source, statistics; NULL: none */
};

/* The call registry. NULL on no memory. */
struct ctl_calls *ctl_calls_create(const struct ctl_calls_conf *conf);
/* A reload: new settings for what comes next (timers of running calls
 * take the new idle timeout; new taps, playbacks, recordings the rest). */
/* A reload's configuration; the guard given at create stays (it holds the
 * call counts: a reload that dropped it turned max_calls off). */
void ctl_calls_set_conf(struct ctl_calls *c, const struct ctl_calls_conf *conf);
struct ctl_guard *ctl_calls_guard(const struct ctl_calls *c);
/* Destroy every call (their legs and ports) and the registry; accepts NULL. */
void ctl_calls_destroy(struct ctl_calls *c);
/* The ng commands it implements, for ctl_ng_conf (ctx = the registry). */
const struct ctl_ng_cmd *ctl_calls_commands(size_t *n);
/* Timers, about once a second: delete-delay expiry and idle calls. */
void ctl_calls_tick(struct ctl_calls *c, uint64_t now_ms);
/* Number of calls. */
unsigned ctl_calls_count(const struct ctl_calls *c);

#endif
