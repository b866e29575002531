/* SPDX-License-Identifier: MIT
 * dp_log: levels, stderr/syslog targets, rate limiting (see dp_log.h). */
#include "dp_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <rte_log.h>

static struct {
	enum dp_log_level level;
	enum dp_log_target target;
	uint32_t burst, interval_ms;
	bool syslog_open;
} g_log = { DP_LOG_INFO, DP_LOG_STDERR, 10, 5000, false };

static const struct {
	const char *name;
	enum dp_log_level level;
} level_names[] = {
	{ "error", DP_LOG_ERR },   { "err", DP_LOG_ERR },   { "warning", DP_LOG_WARNING },
	{ "warn", DP_LOG_WARNING }, { "notice", DP_LOG_NOTICE }, { "info", DP_LOG_INFO },
	{ "debug", DP_LOG_DEBUG },
};

static const struct {
	const char *name;
	int facility;
} facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },	  { "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
};

int dp_log_level_parse(const char *s, enum dp_log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i].name) == 0) {
			*out = level_names[i].level;
			return 0;
		}
	return -EINVAL;
}

const char *dp_log_level_name(enum dp_log_level l)
{
	switch (l) {
	case DP_LOG_ERR: return "error";
	case DP_LOG_WARNING: return "warning";
	case DP_LOG_NOTICE: return "notice";
	case DP_LOG_INFO: return "info";
	case DP_LOG_DEBUG: return "debug";
	}
	return "?";
}

int dp_log_setup(enum dp_log_level level, enum dp_log_target target, const char *ident,
		 const char *facility, uint32_t burst, uint32_t interval_ms)
{
	int fac = -1;

	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (facility && strcasecmp(facility, facilities[i].name) == 0)
			fac = facilities[i].facility;
	if (target == DP_LOG_SYSLOG && fac < 0)
		return -EINVAL;
	dp_log_close();
	g_log.level = level;
	g_log.target = target;
	g_log.burst = burst;
	g_log.interval_ms = interval_ms;
	if (target == DP_LOG_SYSLOG) {
		openlog(ident, LOG_PID | LOG_NDELAY, fac);
		g_log.syslog_open = true;
	}
	return 0;
}

void dp_log_close(void)
{
	if (g_log.syslog_open)
		closelog();
	g_log.syslog_open = false;
}

enum dp_log_level dp_log_level_get(void) { return g_log.level; }

static void vlog(enum dp_log_level l, const char *subsys, const char *prefix, const char *fmt,
		 va_list ap)
{
	char msg[1024];
	struct timespec ts;
	struct tm tm;
	char when[32];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (g_log.target == DP_LOG_SYSLOG) {
		syslog((int)l, "%s: %s%s", subsys, prefix, msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ [%d] %-7s %s: %s%s\n", when, ts.tv_nsec / 1000000L, (int)getpid(),
		dp_log_level_name(l), subsys, prefix, msg);
}

void dp_log(enum dp_log_level l, const char *subsys, const char *fmt, ...)
{
	va_list ap;

	if (l > g_log.level)
		return;
	va_start(ap, fmt);
	vlog(l, subsys, "", fmt, ap);
	va_end(ap);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void dp_log_rl(struct dp_log_rl *rl, enum dp_log_level l, const char *subsys, const char *fmt, ...)
{
	char prefix[64] = "";
	uint64_t now;
	va_list ap;

	if (l > g_log.level)
		return;
	if (g_log.burst) {
		now = now_ms();
		if (rl->in_window == 0 || now - rl->window_start_ms >= g_log.interval_ms) {
			if (rl->suppressed)
				snprintf(prefix, sizeof(prefix), "(%u similar messages suppressed) ",
					 rl->suppressed);
			rl->window_start_ms = now;
			rl->in_window = 0;
			rl->suppressed = 0;
		}
		if (rl->in_window >= g_log.burst) {
			rl->suppressed++;
			return;
		}
		rl->in_window++;
	}
	va_start(ap, fmt);
	vlog(l, subsys, prefix, fmt, ap);
	va_end(ap);
}

/* DPDK writes whole formatted lines into this stream; forward each line. */
static ssize_t rte_stream_write(void *cookie, const char *buf, size_t size)
{
	uint32_t lvl = rte_log_cur_msg_loglevel();
	enum dp_log_level l = lvl <= RTE_LOG_ERR	 ? DP_LOG_ERR
			      : lvl == RTE_LOG_WARNING ? DP_LOG_WARNING
			      : lvl == RTE_LOG_NOTICE  ? DP_LOG_NOTICE
						       : DP_LOG_DEBUG; /* DPDK's INFO is chatty */
	size_t n = size;

	(void)cookie;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n)
		dp_log(l, "dpdk", "%.*s", (int)n, buf);
	return (ssize_t)size;
}

int dp_log_capture_rte(void)
{
	static const cookie_io_functions_t fns = { .write = rte_stream_write };
	FILE *f = fopencookie(NULL, "w", fns);

	if (!f)
		return -errno;
	setvbuf(f, NULL, _IOLBF, 0);
	return rte_openlog_stream(f) ? -EINVAL : 0;
}
