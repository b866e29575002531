/* harness_main.h: the start and command loop the line-driven test tools
 * share (place_harness, room_harness): parse --lcores, --eal and, where
 * asked, --transcode-workers; start EAL, the media layer and the workers;
 * print READY; feed each stdin line to command() (non-zero: stop) and
 * flush its answer; then cleanup() and stop EAL. Returns main's status.
 * Header-only: each tool includes it once. */
#ifndef HARNESS_MAIN_H
#define HARNESS_MAIN_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp.h"

static int harness_main(int argc, char **argv, const char *name, bool xcode_opt, int (*command)(char *line),
			void (*cleanup)(void))
{
	struct dp_eal_conf eal = { .memory_mb = 256, .hugepages = DP_HUGE_AUTO };
	struct dp_media_conf mc;
	int transcode_workers = 0;
	char line[1024];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--lcores") && i + 1 < argc) {
			snprintf(eal.lcores, sizeof(eal.lcores), "%s", argv[++i]);
		} else if (!strcmp(argv[i], "--eal") && i + 1 < argc) {
			snprintf(eal.extra_args, sizeof(eal.extra_args), "%s", argv[++i]);
		} else if (xcode_opt && !strcmp(argv[i], "--transcode-workers") && i + 1 < argc) {
			transcode_workers = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: %s [--lcores LIST] [--eal ARGS]%s\n", name,
				xcode_opt ? " [--transcode-workers N]" : "");
			return 2;
		}
	}
	dp_log_setup(DP_LOG_WARNING, DP_LOG_STDERR, name, "daemon", 10, 5000);
	dp_log_capture_rte();
	if (dp_eal_start(&eal, name))
		return 69;
	dp_media_conf_defaults(&mc);
	mc.transcode_workers = (uint32_t)transcode_workers;
	if (getenv("PERF_BUSY_POLL_US")) /* media.busy_poll_us, for the benchmarks */
		mc.busy_poll_us = (uint32_t)atoi(getenv("PERF_BUSY_POLL_US"));
	if (dp_media_start(&mc) || dp_workers_start() <= 0) {
		fprintf(stderr, "%s: no worker lcore (need at least 2 lcores)\n", name);
		return 70;
	}
	printf("READY\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		int q = command(line);

		fflush(stdout);
		if (q)
			break;
	}
	cleanup();
	dp_eal_stop();
	return 0;
}

#endif
