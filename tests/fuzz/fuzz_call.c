/* libFuzzer target: ng requests through the call model (offer, answer,
 * delete, query, ... over the real dataplane, with kernel-UDP legs on
 * 127.0.0.1), and a checker on every reply: an SDP medius returns names
 * only its own address (127.0.0.1), a hold's 0.0.0.0, or port-0 sections
 * without an address, and carries no ICE attribute or candidate
 * (fuzz_reply_check.h, shared with fuzz_ng: the same rule mediusd applies
 * before it answers, checked here independently of that).
 *
 * One input is a sequence of ng datagrams ("cookie request"), separated by
 * lines of exactly "%%\n". Every call is destroyed after each input. The
 * workers are started and stopped again once, so that commands to legs run
 * inline on this thread (no threads, deterministic).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_call.h"
#include "ctl_ng.h"
#include "dp.h"
#include "fuzz_reply_check.h"

#define SEP "%%\n"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ours[] = { "127.0.0.1" };
	static struct ctl_arena a;
	static uint64_t now;
	static bool ready;
	struct ctl_calls *calls;
	struct ctl_ng *ng;
	const char *p = (const char *)data, *end = p + size;

	if (!ready) {
		fuzz_dataplane_setup("fuzz_call", 42000); /* apart from the other target's ports */
		if (ctl_arena_init(&a, 1 << 20))
			abort();
		ready = true;
	}
	ng = fuzz_calls_ng(0, &calls);
	while (p < end) {
		const char *next = memmem(p, (size_t)(end - p), SEP, sizeof(SEP) - 1);
		size_t len = next ? (size_t)(next - p) : (size_t)(end - p);
		const char *rep;
		size_t rlen;

		now += 1000;
		if (ctl_ng_handle(ng, p, len, now, &rep, &rlen) == 0)
			fuzz_reply_check(&a, p, rep, rlen, ours, 1);
		ctl_calls_tick(calls, now);
		p = next ? next + sizeof(SEP) - 1 : end;
	}
	ctl_calls_destroy(calls); /* every leg and port goes */
	return 0;
}
