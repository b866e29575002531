/* Shared by fuzz targets that drive ng requests: the checks every reply
 * must pass, independently of what mediusd checks itself before answering.
 *
 * fuzz_reply_check(a, req, rep, rlen, ours, n) aborts (__builtin_trap)
 * unless the reply starts with the request's cookie and a space, decodes
 * (bencode or JSON) to a dictionary holding "result", and, when it carries
 * an "sdp", that SDP parses back and names only ours[0..n) or a hold's
 * 0.0.0.0/:: in c= and a=rtcp, no ICE attribute or candidate, and port-0
 * sections without an address (ctl_sdp_check_addresses; o= is not checked:
 * without "replace origin" it passes through, as rtpengine leaves it).
 * a is a scratch arena, reset here. */
#ifndef FUZZ_REPLY_CHECK_H
#define FUZZ_REPLY_CHECK_H

#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "ctl_bencode.h"
#include "ctl_call.h"
#include "ctl_ng.h"
#include "ctl_json.h"
#include "ctl_sdp.h"
#include "ctl_val.h"
#include "dp.h"

/* EAL and the media layer for a target that drives the call model: one
 * interface on 127.0.0.1 with ports port_min..port_min+1999; the workers
 * are started and stopped again, so that commands to legs run inline on
 * the fuzzing thread. Aborts on failure. */
static inline void fuzz_dataplane_setup(const char *prog, uint16_t port_min)
{
	struct dp_eal_conf eal = { .lcores = "0-1", .memory_mb = 128, .hugepages = DP_HUGE_NO };
	struct dp_media_conf mc;

	dp_log_setup(DP_LOG_ERR, DP_LOG_STDERR, prog, "daemon", 0, 0);
	dp_log_capture_rte(); /* EAL speaks through the logger: errors only */
	if (dp_eal_start(&eal, prog))
		abort();
	dp_media_conf_defaults(&mc);
	mc.ifaces[0].port_min = port_min;
	mc.ifaces[0].port_max = (uint16_t)(port_min + 1999);
	mc.mbufs = 1023;
	if (dp_media_start(&mc) || dp_workers_start() <= 0)
		abort();
	dp_workers_stop(); /* registered, not running: commands run here */
}

/* A fresh call registry (idle timeout idle_s) and the ng handler wired to
 * it, for one input; *calls to ctl_calls_destroy after the input. The
 * handler is made once and reset for each input (ctl_ng_reset: no cached
 * reply, counter or peer carries over), not made again: a new one is a
 * 256 KB arena, which ASan maps and unmaps each time (a TLB shoot-down on
 * every core; most of an input's time). Aborts on no memory. */
static inline struct ctl_ng *fuzz_calls_ng(uint32_t idle_s, struct ctl_calls **calls)
{
	static struct ctl_ng *ng;
	struct ctl_calls_conf cc = { .idle_timeout_s = idle_s };
	struct ctl_ng_conf conf = { .cache_size = 32, .cache_ms = 10, .arena_bytes = 256 * 1024 };

	*calls = ctl_calls_create(&cc);
	if (!*calls)
		abort();
	if (ng) {
		if (ctl_ng_reset(ng, *calls))
			abort();
		return ng;
	}
	conf.cmds = ctl_calls_commands(&conf.n_cmds);
	conf.ctx = *calls;
	ng = ctl_ng_create(&conf);
	if (!ng)
		abort();
	return ng;
}

static inline void fuzz_reply_check(struct ctl_arena *a, const char *req, const char *rep, size_t rlen,
				    const char *const *ours, unsigned n)
{
	const char *sp = memchr(rep, ' ', rlen);
	const struct ctl_val *sdp;
	struct ctl_val *v;
	struct ctl_sdp s;
	size_t used, blen;
	char why[160];
	int rc;

	if (!sp || memcmp(rep, req, (size_t)(sp - rep) + 1) != 0)
		__builtin_trap(); /* the reply must start with the request's cookie */
	blen = rlen - (size_t)(sp - rep) - 1;
	ctl_arena_reset(a);
	rc = blen && sp[1] == '{' ? ctl_json_decode(a, sp + 1, blen, &v, &used, NULL)
				  : ctl_bencode_decode(a, sp + 1, blen, &v, &used, NULL);
	if (rc || v->type != CTL_V_DICT || !ctl_dict_get(v, "result"))
		__builtin_trap();
	sdp = ctl_dict_get(v, "sdp");
	if (!sdp)
		return;
	if (sdp->type != CTL_V_STR || ctl_sdp_parse(sdp->u.s.p, sdp->u.s.len, &s, why, sizeof(why))) {
		fprintf(stderr, "fuzz: a reply's SDP does not parse back: %s\n%.*s\n",
			sdp->type == CTL_V_STR ? why : "not a string", (int)sdp->u.s.len, sdp->u.s.p);
		__builtin_trap();
	}
	if (ctl_sdp_check_addresses(&s, ours, n, false, why, sizeof(why))) {
		fprintf(stderr, "fuzz: a reply's SDP exposes a peer's address: %s\n%.*s\n", why, (int)sdp->u.s.len,
			sdp->u.s.p);
		__builtin_trap();
	}
	ctl_sdp_free(&s);
}

#endif
