/* SPDX-License-Identifier: MIT
 * dp_log: the process-wide logger. Levels, stderr or syslog, and per-call-site
 * rate limiting. DPDK's own log stream is routed through it once EAL is up.
 *
 * Logging formats and may write to stderr or syslog, so it belongs on the
 * control lcore and in set-up code, never in a per-packet or per-tick path.
 */
#ifndef DP_LOG_H
#define DP_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum dp_log_level {
	DP_LOG_ERR = 3, /* values match syslog priorities */
	DP_LOG_WARNING = 4,
	DP_LOG_NOTICE = 5,
	DP_LOG_INFO = 6,
	DP_LOG_DEBUG = 7,
};

enum dp_log_target { DP_LOG_STDERR, DP_LOG_SYSLOG };

/* Per-call-site rate-limit state; DP_LOG_RL declares one per site. */
struct dp_log_rl {
	uint64_t window_start_ms;
	uint32_t in_window;
	uint32_t suppressed;
};

/* Configure the logger: messages above `level` are dropped; `target` picks
 * stderr or syslog (with `ident` and the named facility, e.g. "daemon",
 * "local0"); at most `burst` messages per call site every `interval_ms`
 * pass DP_LOG_RL (0 disables rate limiting). Returns 0, or -EINVAL for an
 * unknown facility name (the logger is then left unchanged). */
int dp_log_setup(enum dp_log_level level, enum dp_log_target target, const char *ident,
		 const char *facility, uint32_t burst, uint32_t interval_ms);
/* Close syslog if it was opened. */
void dp_log_close(void);
/* Current threshold; lets callers skip building costly messages. */
enum dp_log_level dp_log_level_get(void);
/* Parse "error", "warning", "notice", "info" or "debug" (also "err", "warn").
 * Returns 0 and sets *out, or -EINVAL. */
int dp_log_level_parse(const char *s, enum dp_log_level *out);
const char *dp_log_level_name(enum dp_log_level l);

/* Log one message. `subsys` is a short tag such as "ctl" or "eal". */
void dp_log(enum dp_log_level l, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Log through rate-limit state rl: past the burst, messages in the window are
 * counted, and the count is reported with the first message of the next. */
void dp_log_rl(struct dp_log_rl *rl, enum dp_log_level l, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Send DPDK's log stream (rte_log) through dp_log. Call after dp_log_setup,
 * before rte_eal_init. Returns 0 or -errno. */
int dp_log_capture_rte(void);

#define DP_LOG_RL(level, subsys, ...)                                                    \
	do {                                                                             \
		static struct dp_log_rl dp_log_rl_site_;                                 \
		dp_log_rl(&dp_log_rl_site_, (level), (subsys), __VA_ARGS__);             \
	} while (0)

#endif
