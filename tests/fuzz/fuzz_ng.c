/* libFuzzer target: ng framing and request handling, as a UDP datagram and
 * as a TCP stream, with the call commands (offer, answer, delete, query,
 * ...) wired to the call model over the real dataplane (kernel-UDP legs on
 * 127.0.0.1). Every input must get a reply or a clean drop, and every reply
 * must pass fuzz_reply_check: it echoes the cookie, is a dictionary with
 * "result", and an SDP in it names only medius's own address (127.0.0.1),
 * a hold's, or port-0 sections without one, and no ICE.
 *
 * Time moves 400 ms per framed request and the calls' idle timeout is 1 s,
 * so idle timeouts and delete-delays fire within one input. Every call is
 * destroyed after each input. The workers are started and stopped again
 * once, so that commands to legs run inline on this thread. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_call.h"
#include "ctl_ng.h"
#include "dp.h"
#include "fuzz_reply_check.h"

static const char *const ours[] = { "127.0.0.1" };


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctl_arena a;
	static uint64_t now;
	static bool ready;
	const char *req = (const char *)data, *rep;
	struct ctl_calls *calls;
	struct ctl_ng *ng;
	size_t rlen, off = 0, m;
	int rc;

	if (!ready) {
		fuzz_dataplane_setup("fuzz_ng", 44000); /* apart from the other target's ports */
		if (ctl_arena_init(&a, 1 << 20))
			abort();
		ready = true;
	}
	ng = fuzz_calls_ng(1, &calls);
	now += 7;
	if (ctl_ng_handle(ng, req, size, now, &rep, &rlen) == 0)
		fuzz_reply_check(&a, req, rep, rlen, ours, 1);
	/* the same bytes as a stream: frame until stuck */
	while (off < size) {
		rc = ctl_ng_frame(ng, req + off, size - off, &m);
		if (rc)
			break;
		if (m == 0 || m > size - off)
			__builtin_trap();
		now += 400; /* older replies leave the cache; idle calls and delete-delays end */
		ctl_calls_tick(calls, now);
		if (ctl_ng_handle(ng, req + off, m, now, &rep, &rlen) == 0)
			fuzz_reply_check(&a, req + off, rep, rlen, ours, 1);
		off += m;
	}
	now += 1500;
	ctl_calls_tick(calls, now); /* whatever is left idles out */
	ctl_calls_destroy(calls); /* every leg and port goes */
	return 0;
}
