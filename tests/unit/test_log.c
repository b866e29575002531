/* SPDX-License-Identifier: MIT
 * Unit tests for dataplane/dp_log: level names, set-up and rate limiting.
 * Criterion runs every test in its own process, so logger state and the
 * stderr redirection do not leak between tests. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dp_log.h"

/* ---- level names ---- */

Test(log, level_parse_names)
{
	static const struct {
		const char *s;
		enum dp_log_level l;
	} cases[] = {
		{ "error", DP_LOG_ERR },      { "err", DP_LOG_ERR },	   { "warning", DP_LOG_WARNING },
		{ "warn", DP_LOG_WARNING },   { "notice", DP_LOG_NOTICE }, { "info", DP_LOG_INFO },
		{ "debug", DP_LOG_DEBUG },    { "ERROR", DP_LOG_ERR },	   { "Err", DP_LOG_ERR },
		{ "WARNING", DP_LOG_WARNING }, { "wArN", DP_LOG_WARNING }, { "Notice", DP_LOG_NOTICE },
		{ "INFO", DP_LOG_INFO },      { "DeBuG", DP_LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* start from a value different from the expected one */
		enum dp_log_level l = cases[i].l == DP_LOG_INFO ? DP_LOG_ERR : DP_LOG_INFO;

		cr_assert_eq(dp_log_level_parse(cases[i].s, &l), 0, "'%s' refused", cases[i].s);
		cr_assert_eq(l, cases[i].l, "'%s' parsed as %d, want %d", cases[i].s, (int)l,
			     (int)cases[i].l);
	}
}

Test(log, level_parse_failures)
{
	static const char *bad[] = { "verbose", "", "inf", "infos", " info", "info ", "6", "crit",
				     "warn ing" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum dp_log_level l = DP_LOG_NOTICE;

		cr_assert_eq(dp_log_level_parse(bad[i], &l), -EINVAL, "'%s' accepted", bad[i]);
		cr_assert_eq(l, DP_LOG_NOTICE, "'%s': *out written on failure", bad[i]);
	}
}

Test(log, level_name)
{
	cr_assert_str_eq(dp_log_level_name(DP_LOG_ERR), "error");
	cr_assert_str_eq(dp_log_level_name(DP_LOG_WARNING), "warning");
	cr_assert_str_eq(dp_log_level_name(DP_LOG_NOTICE), "notice");
	cr_assert_str_eq(dp_log_level_name(DP_LOG_INFO), "info");
	cr_assert_str_eq(dp_log_level_name(DP_LOG_DEBUG), "debug");
	cr_assert_str_eq(dp_log_level_name((enum dp_log_level)0), "?");
}

Test(log, level_name_parses_back)
{
	static const enum dp_log_level all[] = { DP_LOG_ERR, DP_LOG_WARNING, DP_LOG_NOTICE,
						 DP_LOG_INFO, DP_LOG_DEBUG };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		enum dp_log_level l = (enum dp_log_level)0;

		cr_assert_eq(dp_log_level_parse(dp_log_level_name(all[i]), &l), 0);
		cr_assert_eq(l, all[i]);
	}
}

/* ---- set-up ---- */

Test(log, default_level_is_info)
{
	cr_assert_eq(dp_log_level_get(), DP_LOG_INFO);
}

Test(log, setup_sets_level)
{
	cr_assert_eq(dp_log_setup(DP_LOG_DEBUG, DP_LOG_STDERR, "t", "daemon", 10, 5000), 0);
	cr_assert_eq(dp_log_level_get(), DP_LOG_DEBUG);
	cr_assert_eq(dp_log_setup(DP_LOG_ERR, DP_LOG_STDERR, "t", "daemon", 10, 5000), 0);
	cr_assert_eq(dp_log_level_get(), DP_LOG_ERR);
}

Test(log, setup_syslog_unknown_facility)
{
	cr_assert_eq(dp_log_setup(DP_LOG_WARNING, DP_LOG_STDERR, "t", "daemon", 10, 5000), 0);
	cr_assert_eq(dp_log_setup(DP_LOG_DEBUG, DP_LOG_SYSLOG, "t", "nosuch", 10, 5000), -EINVAL);
	cr_assert_eq(dp_log_level_get(), DP_LOG_WARNING, "level changed by a failed set-up");
	cr_assert_eq(dp_log_setup(DP_LOG_DEBUG, DP_LOG_SYSLOG, "t", "local8", 10, 5000), -EINVAL);
	cr_assert_eq(dp_log_setup(DP_LOG_DEBUG, DP_LOG_SYSLOG, "t", "", 10, 5000), -EINVAL);
	cr_assert_eq(dp_log_setup(DP_LOG_DEBUG, DP_LOG_SYSLOG, "t", NULL, 10, 5000), -EINVAL);
	cr_assert_eq(dp_log_level_get(), DP_LOG_WARNING, "level changed by a failed set-up");
}

Test(log, setup_syslog_known_facility)
{
	cr_assert_eq(dp_log_setup(DP_LOG_NOTICE, DP_LOG_SYSLOG, "medius-test", "LOCAL3", 10, 5000),
		     0);
	cr_assert_eq(dp_log_level_get(), DP_LOG_NOTICE);
	dp_log_close();
	dp_log_close(); /* twice is harmless */
}

/* ---- output (stderr redirected to a temp file) ---- */

static int saved_stderr = -1;
static char out_path[] = "/tmp/medius_test_log_XXXXXX";
static int out_fd = -1;

static void redirect_setup(void)
{
	fflush(stderr);
	out_fd = mkstemp(out_path);
	cr_assert_geq(out_fd, 0, "mkstemp: %s", strerror(errno));
	saved_stderr = dup(STDERR_FILENO);
	cr_assert_geq(saved_stderr, 0);
	cr_assert_eq(dup2(out_fd, STDERR_FILENO), STDERR_FILENO);
}

static void redirect_teardown(void)
{
	fflush(stderr);
	if (saved_stderr >= 0) {
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
	}
	if (out_fd >= 0) {
		close(out_fd);
		unlink(out_path);
	}
}

/* Everything written to stderr so far (a static buffer). */
static char *captured(void)
{
	static char buf[16384];
	ssize_t n;
	int fd;

	fflush(stderr);
	fd = open(out_path, O_RDONLY);
	cr_assert_geq(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	cr_assert_geq(n, 0);
	buf[n] = '\0';
	return buf;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The text of line i (0-based) of s, into buf. */
static const char *line_of(const char *s, int i, char *buf, size_t len)
{
	const char *e;

	for (; i > 0 && s; i--) {
		s = strchr(s, '\n');
		if (s)
			s++;
	}
	cr_assert_not_null(s);
	e = strchr(s, '\n');
	cr_assert_not_null(e);
	snprintf(buf, len, "%.*s", (int)(e - s), s);
	return buf;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

TestSuite(log_out, .init = redirect_setup, .fini = redirect_teardown);

Test(log_out, writes_level_and_subsystem)
{
	char line[1100];
	char *out;

	cr_assert_eq(dp_log_setup(DP_LOG_INFO, DP_LOG_STDERR, "t", "daemon", 10, 5000), 0);
	dp_log(DP_LOG_ERR, "ctl", "hello %d", 42);
	dp_log(DP_LOG_NOTICE, "eal", "second %s", "message");
	out = captured();
	cr_assert_eq(count_lines(out), 2, "output:\n%s", out);
	line_of(out, 0, line, sizeof(line));
	cr_assert_not_null(strstr(line, " error "), "no level name in '%s'", line);
	cr_assert_not_null(strstr(line, "ctl: hello 42"), "no subsystem/message in '%s'", line);
	line_of(out, 1, line, sizeof(line));
	cr_assert_not_null(strstr(line, " notice "), "no level name in '%s'", line);
	cr_assert_not_null(strstr(line, "eal: second message"), "no subsystem/message in '%s'", line);
	cr_assert_null(strstr(line, "suppressed"));
}

Test(log_out, above_threshold_not_written)
{
	char line[1100];
	char *out;

	cr_assert_eq(dp_log_setup(DP_LOG_WARNING, DP_LOG_STDERR, "t", "daemon", 10, 5000), 0);
	dp_log(DP_LOG_DEBUG, "t", "debug-msg");
	dp_log(DP_LOG_INFO, "t", "info-msg");
	dp_log(DP_LOG_NOTICE, "t", "notice-msg");
	dp_log(DP_LOG_WARNING, "t", "warning-msg");
	dp_log(DP_LOG_ERR, "t", "error-msg");
	out = captured();
	cr_assert_eq(count_lines(out), 2, "output:\n%s", out);
	cr_assert_null(strstr(out, "debug-msg"));
	cr_assert_null(strstr(out, "info-msg"));
	cr_assert_null(strstr(out, "notice-msg"));
	cr_assert_not_null(strstr(line_of(out, 0, line, sizeof(line)), "warning-msg"));
	cr_assert_not_null(strstr(line_of(out, 1, line, sizeof(line)), "error-msg"));
}

Test(log_out, debug_level_writes_debug)
{
	char *out;

	cr_assert_eq(dp_log_setup(DP_LOG_DEBUG, DP_LOG_STDERR, "t", "daemon", 10, 5000), 0);
	dp_log(DP_LOG_DEBUG, "t", "debug-msg");
	out = captured();
	cr_assert_eq(count_lines(out), 1, "output:\n%s", out);
	cr_assert_not_null(strstr(out, " debug "));
	cr_assert_not_null(strstr(out, "t: debug-msg"));
}

Test(log_out, long_message_truncated_not_overrun)
{
	char big[3000];
	char *out;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(dp_log_setup(DP_LOG_INFO, DP_LOG_STDERR, "t", "daemon", 10, 5000), 0);
	dp_log(DP_LOG_INFO, "t", "%s", big);
	out = captured();
	cr_assert_eq(count_lines(out), 1, "output is not one line");
	cr_assert_lt(strlen(out), sizeof(big), "message not truncated");
	cr_assert_not_null(strstr(out, "t: xxxxxxxx"));
}

Test(log_out, rate_limit_burst_then_suppressed_count)
{
	static struct dp_log_rl rl;
	char line[1100];
	char *out;

	cr_assert_eq(dp_log_setup(DP_LOG_INFO, DP_LOG_STDERR, "t", "daemon", 3, 200), 0);
	for (int i = 0; i < 10; i++)
		dp_log_rl(&rl, DP_LOG_WARNING, "rl", "flood %d", i);
	out = captured();
	cr_assert_eq(count_lines(out), 3, "want the burst of 3, got:\n%s", out);
	cr_assert_not_null(strstr(line_of(out, 0, line, sizeof(line)), "rl: flood 0"));
	cr_assert_not_null(strstr(line_of(out, 1, line, sizeof(line)), "rl: flood 1"));
	cr_assert_not_null(strstr(line_of(out, 2, line, sizeof(line)), "rl: flood 2"));
	cr_assert_null(strstr(out, "suppressed"));

	sleep_ms(250);
	dp_log_rl(&rl, DP_LOG_WARNING, "rl", "after the pause");
	out = captured();
	cr_assert_eq(count_lines(out), 4, "output:\n%s", out);
	line_of(out, 3, line, sizeof(line));
	cr_assert_not_null(strstr(line, "(7 similar messages suppressed)"), "line: '%s'", line);
	cr_assert_not_null(strstr(line, "after the pause"), "line: '%s'", line);
	cr_assert_not_null(strstr(line, " warning "), "line: '%s'", line);

	/* the count is reported once, and the new window has a fresh burst */
	dp_log_rl(&rl, DP_LOG_WARNING, "rl", "next");
	dp_log_rl(&rl, DP_LOG_WARNING, "rl", "next");
	dp_log_rl(&rl, DP_LOG_WARNING, "rl", "dropped");
	out = captured();
	cr_assert_eq(count_lines(out), 6, "output:\n%s", out);
	cr_assert_null(strstr(line_of(out, 4, line, sizeof(line)), "suppressed"), "line: '%s'", line);
	cr_assert_null(strstr(out, "dropped"));
}

Test(log_out, rate_limit_macro_one_site)
{
	char *out;

	cr_assert_eq(dp_log_setup(DP_LOG_INFO, DP_LOG_STDERR, "t", "daemon", 2, 5000), 0);
	for (int i = 0; i < 5; i++)
		DP_LOG_RL(DP_LOG_INFO, "m", "site A %d", i);
	for (int i = 0; i < 5; i++)
		DP_LOG_RL(DP_LOG_INFO, "m", "site B %d", i);
	out = captured();
	/* each call site has its own burst of 2 */
	cr_assert_eq(count_lines(out), 4, "output:\n%s", out);
	cr_assert_not_null(strstr(out, "site A 1"));
	cr_assert_null(strstr(out, "site A 2"));
	cr_assert_not_null(strstr(out, "site B 1"));
	cr_assert_null(strstr(out, "site B 2"));
}

Test(log_out, rate_limit_disabled_with_burst_0)
{
	static struct dp_log_rl rl;
	char *out;

	cr_assert_eq(dp_log_setup(DP_LOG_INFO, DP_LOG_STDERR, "t", "daemon", 0, 200), 0);
	for (int i = 0; i < 25; i++)
		dp_log_rl(&rl, DP_LOG_INFO, "rl", "msg %d", i);
	out = captured();
	cr_assert_eq(count_lines(out), 25, "output:\n%s", out);
	cr_assert_null(strstr(out, "suppressed"));
}

Test(log_out, rate_limit_filtered_messages_do_not_use_the_burst)
{
	static struct dp_log_rl rl;
	char *out;

	cr_assert_eq(dp_log_setup(DP_LOG_WARNING, DP_LOG_STDERR, "t", "daemon", 3, 5000), 0);
	for (int i = 0; i < 10; i++)
		dp_log_rl(&rl, DP_LOG_DEBUG, "rl", "filtered %d", i);
	out = captured();
	cr_assert_eq(count_lines(out), 0, "output:\n%s", out);
	for (int i = 0; i < 3; i++)
		dp_log_rl(&rl, DP_LOG_ERR, "rl", "passes %d", i);
	out = captured();
	cr_assert_eq(count_lines(out), 3, "output:\n%s", out);
	cr_assert_null(strstr(out, "suppressed"));
	cr_assert_null(strstr(out, "filtered"));
}
