/* SPDX-License-Identifier: MIT
 * ctl_notify: sd_notify readiness, status and watchdog (see ctl_notify.h). */
#include "ctl_notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "dp.h"

static uint64_t g_wd_usec;
static uint64_t g_last_ping_ms;
static bool g_stuck;

uint64_t ctl_notify_init(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0 && usec) {
		g_wd_usec = usec;
		if (usec < 3000000)
			dp_log(DP_LOG_WARNING, "main", "WatchdogSec=%.1f s is short: mediusd pings from a 1 s "
			       "timer (use 3 s or more)", (double)usec / 1e6);
		else
			dp_log(DP_LOG_INFO, "main", "systemd watchdog: %.1f s", (double)usec / 1e6);
	}
	return g_wd_usec;
}

void ctl_notify_status(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", buf);
}

void ctl_notify_ready(const char *status) { sd_notifyf(0, "READY=1\nSTATUS=%s", status); }

void ctl_notify_reloading(void) { sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration"); }

void ctl_notify_stopping(void) { sd_notify(0, "STOPPING=1\nSTATUS=stopping"); }

int ctl_notify_tick(uint64_t now_ms)
{
	uint64_t max_age_ms;
	unsigned lcore = 0;

	if (!g_wd_usec)
		return 0;
	max_age_ms = g_wd_usec / 2000u;
	if (max_age_ms < 2000)
		max_age_ms = 2000;
	if (dp_workers_alive(max_age_ms, &lcore)) {
		if (!g_stuck)
			ctl_notify_status("worker lcore %u is not answering: watchdog pings stopped", lcore);
		g_stuck = true;
		DP_LOG_RL(DP_LOG_ERR, "main", "worker lcore %u has not answered a probe for %llu ms: "
			  "no watchdog ping", lcore, (unsigned long long)max_age_ms);
		return -ETIMEDOUT;
	}
	if (g_stuck) {
		g_stuck = false;
		ctl_notify_status("running (workers answer again)");
	}
	g_last_ping_ms = now_ms;
	sd_notify(0, "WATCHDOG=1");
	return 0;
}
