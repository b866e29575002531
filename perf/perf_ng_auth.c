/* SPDX-License-Identifier: MIT
 * perf_ng_auth: what signing costs the control lcore per ng request
 * (control/ctl_auth). Side by side in one run, per request: ctl_ng_handle
 * of an unsigned request, and ctl_auth_verify + ctl_auth_remember +
 * ctl_ng_handle of the same request signed (what ctl_guard does with
 * auth = required), for a ping (17-byte body) and for a ping carrying a
 * 2,000-byte "sdp" member (an offer's size; the HMAC runs over the whole
 * body). Every request has its own cookie, so none is answered from the
 * cookie cache and every signed one goes into the replay cache. 20,000
 * requests a pass, best of 5 passes; prints ns per request and the ratio
 * signed / unsigned.
 *
 *   perf_ng_auth                 the table (wall clock: needs a quiet machine)
 *   perf_ng_auth one SIGNED BIG  one pass (SIGNED, BIG: 0 or 1), for
 *       valgrind --tool=callgrind --toggle-collect=pass: instructions per
 *       request without the noise of a shared machine
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_auth.h"
#include "ctl_ng.h"
#include "ctl_sign.h"
#include "ctl_val.h"

#define N 20000
#define PASSES 5
#define TS 1767225600

static const uint8_t key[32] = "medius-example-secret-0123456789";

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

/* N requests "cookie body", unsigned and signed, each with its own cookie. */
static void build(const char *body, struct ctl_buf *plain, struct ctl_buf *sig, size_t *poff, size_t *soff)
{
	for (int i = 0; i < N; i++) {
		char cookie[32];

		snprintf(cookie, sizeof(cookie), "p%d_%d", (int)(size_t)body % 1000, i);
		poff[i] = plain->len;
		ctl_buf_printf(plain, "%s %s", cookie, body);
		soff[i] = sig->len;
		if (ctl_sign_request(sig, cookie, "kamailio1", key, 32, TS, body, strlen(body)))
			abort();
	}
	poff[N] = plain->len;
	soff[N] = sig->len;
}

__attribute__((noinline)) static double pass(const struct ctl_buf *b, const size_t *off, bool signed_, int round)
{
	struct ctl_ng_conf c = { .cache_size = 4096, .cache_ms = 30000, .arena_bytes = 1 << 20 };
	struct ctl_ng *ng = ctl_ng_create(&c);
	struct ctl_auth *a = ctl_auth_create(CTL_AUTH_REQUIRED, 30, 131072);
	const char *reply;
	size_t rlen;
	double t0;

	if (!ng || !a || ctl_auth_add_key(a, "kamailio1", key, 32))
		abort();
	t0 = now_ns();
	for (int i = 0; i < N; i++) {
		const char *req = b->p + off[i];
		size_t len = off[i + 1] - off[i];

		if (signed_) {
			struct ctl_auth_sig sig;

			if (ctl_auth_verify(a, req, len, TS + round, &sig) || ctl_auth_remember(a, &sig, TS + round))
				abort();
		}
		if (ctl_ng_handle(ng, req, len, (uint64_t)i, &reply, &rlen) || !memmem(reply, rlen, "pong", 4))
			abort();
	}
	t0 = (now_ns() - t0) / N;
	ctl_ng_destroy(ng);
	ctl_auth_destroy(a);
	return t0;
}

int main(int argc, char **argv)
{
	static const char *names[] = { "ping (17-byte body)", "ping + 2,000-byte sdp" };
	char big[2200];
	int only = argc == 4 && !strcmp(argv[1], "one") ? atoi(argv[3]) : -1;

	snprintf(big, sizeof(big), "d7:command4:ping3:sdp2000:%2000se", "");
	memset(big + strlen("d7:command4:ping3:sdp2000:"), 'v', 2000);
	for (int k = 0; k < 2; k++) {
		if (only >= 0 && k != only)
			continue;
		const char *body = k ? big : "d7:command4:pinge";
		struct ctl_buf plain = { .max = 1u << 30 }, sig = { .max = 1u << 30 };
		size_t *poff = malloc((N + 1) * sizeof(size_t)), *soff = malloc((N + 1) * sizeof(size_t));
		double best_p = 1e18, best_s = 1e18;

		build(body, &plain, &sig, poff, soff);
		if (only >= 0) {
			bool sg = atoi(argv[2]) != 0;

			printf("%s, %s: one pass of %d requests\n", names[k], sg ? "signed" : "unsigned", N);
			pass(sg ? &sig : &plain, sg ? soff : poff, sg, 0);
			return 0;
		}
		for (int p = 0; p < PASSES; p++) {
			double u = pass(&plain, poff, false, p), s = pass(&sig, soff, true, p);

			best_p = u < best_p ? u : best_p;
			best_s = s < best_s ? s : best_s;
		}
		printf("%-24s unsigned %7.0f ns/request   signed %7.0f ns/request   signed/unsigned x%.2f\n", names[k],
		       best_p, best_s, best_s / best_p);
		ctl_buf_free(&plain);
		ctl_buf_free(&sig);
		free(poff);
		free(soff);
	}
	return 0;
}
