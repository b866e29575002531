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

#include "ctl_bencode.h"
#include "ctl_json.h"
#include "ctl_sdp.h"
#include "ctl_val.h"

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
