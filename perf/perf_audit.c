/* SPDX-License-Identifier: MIT
 * perf_audit: the recordings' audit log (recording/rec_audit.c), side by
 * side in one run on one file system:
 *  - one by one: append, then wait until it is on disk (rec_audit_sync),
 *    N times: every entry pays its own fdatasync (what a caller that
 *    waited for each entry would see);
 *  - a burst: N appends, then one wait: the writer thread takes what is
 *    queued as a batch, one fdatasync per batch (how mediusd uses it);
 *  - the caller's cost of rec_audit_append alone (queueing: a malloc and
 *    a mutex), which is what a recording's thread or the control thread
 *    pays.
 * Prints entries/s of each and the ratio; then verifies the chain.
 * Usage: perf_audit [N] [DIR] (default 2000 entries, $TMPDIR or /tmp).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rec_audit.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 2000;
	const char *tmp = argc > 2 ? argv[2] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[512], id[32];
	struct rec_audit_verdict v;
	double t0, one, burst, queue_ns;

	snprintf(path, sizeof(path), "%s/perf-audit-%d.log", tmp, (int)getpid());
	unlink(path);
	if (rec_audit_open(path, NULL)) {
		perror(path);
		return 1;
	}
	t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%016x", i);
		rec_audit_append("start", id, "/var/lib/medius/recordings/call-0123456789abcdef.wav", "");
		rec_audit_sync(10000);
	}
	one = now_s() - t0;
	t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%016x", i);
		rec_audit_append("finalise", id, "/var/lib/medius/recordings/call-0123456789abcdef.wav", "");
	}
	queue_ns = (now_s() - t0) * 1e9 / n;
	rec_audit_sync(60000);
	burst = now_s() - t0;
	rec_audit_close();
	if (rec_audit_verify(path, &v) || v.entries != 2ull * n) {
		printf("the chain does not hold: %s\n", v.msg);
		return 1;
	}
	printf("audit log on %s, %u entries each way:\n", tmp, n);
	printf("  one by one (append, wait for disk)   %10.0f entries/s\n", n / one);
	printf("  a burst (N appends, one wait)        %10.0f entries/s\n", n / burst);
	printf("  ratio burst / one by one             %10.1f x\n", one / burst);
	printf("  rec_audit_append alone (queueing)    %10.0f ns per entry\n", queue_ns);
	printf("  verify: %s\n", v.msg);
	unlink(path);
	return 0;
}
