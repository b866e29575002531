/* SPDX-License-Identifier: MIT
 * Unit tests for control/ctl_config: defaults, INI loading, errors,
 * command-line overrides and the dump/reload round trip. */
#include <criterion/criterion.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_config.h"
#include "rec_audit.h"
#include "mx.h"

static void same_config(const struct ctl_config *a, const struct ctl_config *b, const char *what)
{
	cr_assert_eq(memcmp(a, b, sizeof(*a)), 0, "%s: configurations differ", what);
}

/* Load text into c (from defaults); must succeed. */
static void load_ok(struct ctl_config *c, const char *text)
{
	char err[256] = "";
	int rc;

	ctl_config_defaults(c);
	rc = ctl_config_load_string(c, text, err, sizeof(err));
	cr_assert_eq(rc, 0, "load failed (%d): %s\n--- text ---\n%s", rc, err, text);
}

/* Load text from defaults; require -EINVAL, an error naming "(string):line:"
 * and containing needle (when given), and the configuration untouched. */
static void load_err(const char *text, int line, const char *needle)
{
	struct ctl_config c, d;
	char err[256] = "", prefix[32];
	int rc;

	ctl_config_defaults(&c);
	ctl_config_defaults(&d);
	rc = ctl_config_load_string(&c, text, err, sizeof(err));
	cr_assert_eq(rc, -EINVAL, "rc %d, want -EINVAL\n--- text ---\n%s", rc, text);
	snprintf(prefix, sizeof(prefix), "(string):%d: ", line);
	cr_assert_eq(strncmp(err, prefix, strlen(prefix)), 0, "err '%s' does not start with '%s'",
		     err, prefix);
	if (needle)
		cr_assert_not_null(strstr(err, needle), "err '%s' does not name '%s'", err, needle);
	same_config(&c, &d, text);
}

/* ---- defaults ---- */

Test(config, defaults)
{
	struct ctl_config c;

	memset(&c, 0x5a, sizeof(c));
	ctl_config_defaults(&c);
	cr_assert_eq(c.log_level, DP_LOG_INFO);
	cr_assert_eq(c.log_target, DP_LOG_STDERR);
	cr_assert_str_eq(c.log_facility, "daemon");
	cr_assert_eq(c.log_burst, 10);
	cr_assert_eq(c.log_interval_ms, 5000);
	cr_assert_str_eq(c.eal.lcores, "");
	cr_assert_eq(c.eal.memory_mb, 256);
	cr_assert_eq(c.eal.hugepages, DP_HUGE_AUTO);
	cr_assert_str_eq(c.eal.pci_devices, "");
	cr_assert_str_eq(c.eal.extra_args, "");
	cr_assert_str_eq(c.listen_ng, "127.0.0.1:2223");
	cr_assert_str_eq(c.listen_ng_tcp, "");
	cr_assert_eq(c.cookie_cache_s, 30);
	cr_assert_eq(c.cookie_cache_size, 4096);
	cr_assert_eq(c.tcp_max_clients, 64);
	cr_assert_eq(c.tcp_max_per_source, 16);
	cr_assert_eq(c.tcp_idle_timeout_s, 120);
	cr_assert_eq(c.tcp_request_timeout_s, 5);
	cr_assert_eq(c.tcp_send_timeout_s, 10);
	cr_assert_eq(c.tcp_max_pending, 4194304);
	cr_assert_eq(c.max_request, 1048576);
}

Test(config, defaults_are_deterministic)
{
	struct ctl_config a, b;

	memset(&a, 0x11, sizeof(a));
	memset(&b, 0xee, sizeof(b));
	ctl_config_defaults(&a);
	ctl_config_defaults(&b);
	same_config(&a, &b, "two default configurations");
}

Test(config, empty_text_keeps_defaults)
{
	struct ctl_config c, d;

	load_ok(&c, "");
	ctl_config_defaults(&d);
	same_config(&c, &d, "empty text");
	load_ok(&c, "; only a comment\n\n# and another\n[general]\n[eal]\n");
	same_config(&c, &d, "comments and empty sections");
}

/* ---- a full valid file ---- */

static const char full_ini[] =
	"[general]\n"
	"log_level = debug\n"
	"log_target = syslog\n"
	"log_facility = local5\n"
	"log_rate_burst = 0\n"
	"log_rate_interval_ms = 1\n"
	"\n"
	"[eal]\n"
	"lcores = 2-5\n"
	"memory_mb = 1048576\n"
	"hugepages = no\n"
	"pci_devices = 0000:00:03.0,0000:00:04.0\n"
	"extra_args = --vdev=net_null0 --log-level=8\n"
	"\n"
	"[control]\n"
	"listen_ng = [::1]:5000\n"
	"listen_ng_tcp = 0.0.0.0:2224\n"
	"cookie_cache_seconds = 3600\n"
	"cookie_cache_size = 16\n"
	"tcp_max_clients = 4096\n"
	"tcp_max_clients_per_source = 4096\n"
	"tcp_idle_timeout_seconds = 86400\n"
	"tcp_request_timeout_seconds = 3600\n"
	"tcp_send_timeout_seconds = 3600\n"
	"tcp_max_pending_bytes = 268435456\n"
	"max_request_bytes = 16777216\n";

static void check_full(const struct ctl_config *c)
{
	cr_assert_eq(c->log_level, DP_LOG_DEBUG);
	cr_assert_eq(c->log_target, DP_LOG_SYSLOG);
	cr_assert_str_eq(c->log_facility, "local5");
	cr_assert_eq(c->log_burst, 0);
	cr_assert_eq(c->log_interval_ms, 1);
	cr_assert_str_eq(c->eal.lcores, "2-5");
	cr_assert_eq(c->eal.memory_mb, 1048576);
	cr_assert_eq(c->eal.hugepages, DP_HUGE_NO);
	cr_assert_str_eq(c->eal.pci_devices, "0000:00:03.0,0000:00:04.0");
	cr_assert_str_eq(c->eal.extra_args, "--vdev=net_null0 --log-level=8");
	cr_assert_str_eq(c->listen_ng, "[::1]:5000");
	cr_assert_str_eq(c->listen_ng_tcp, "0.0.0.0:2224");
	cr_assert_eq(c->cookie_cache_s, 3600);
	cr_assert_eq(c->cookie_cache_size, 16);
	cr_assert_eq(c->tcp_max_clients, 4096);
	cr_assert_eq(c->tcp_max_per_source, 4096);
	cr_assert_eq(c->tcp_idle_timeout_s, 86400);
	cr_assert_eq(c->tcp_request_timeout_s, 3600);
	cr_assert_eq(c->tcp_send_timeout_s, 3600);
	cr_assert_eq(c->tcp_max_pending, 268435456);
	cr_assert_eq(c->max_request, 16777216);
}

Test(config, full_file_sets_every_key)
{
	struct ctl_config c;

	load_ok(&c, full_ini);
	check_full(&c);
}

Test(config, other_limits)
{
	struct ctl_config c;

	load_ok(&c, "[general]\n"
		    "log_rate_burst = 1000000\n"
		    "log_rate_interval_ms = 3600000\n"
		    "[eal]\n"
		    "memory_mb = 64\n"
		    "[control]\n"
		    "cookie_cache_seconds = 0\n"
		    "cookie_cache_size = 1048576\n"
		    "tcp_max_clients = 1\n"
		    "tcp_max_clients_per_source = 1\n"
		    "tcp_idle_timeout_seconds = 0\n"
		    "tcp_request_timeout_seconds = 1\n"
		    "tcp_send_timeout_seconds = 1\n"
		    "tcp_max_pending_bytes = 65536\n"
		    "max_request_bytes = 1024\n");
	cr_assert_eq(c.log_burst, 1000000);
	cr_assert_eq(c.log_interval_ms, 3600000);
	cr_assert_eq(c.eal.memory_mb, 64);
	cr_assert_eq(c.cookie_cache_s, 0);
	cr_assert_eq(c.cookie_cache_size, 1048576);
	cr_assert_eq(c.tcp_max_clients, 1);
	cr_assert_eq(c.tcp_max_per_source, 1);
	cr_assert_eq(c.tcp_idle_timeout_s, 0);
	cr_assert_eq(c.tcp_request_timeout_s, 1);
	cr_assert_eq(c.tcp_send_timeout_s, 1);
	cr_assert_eq(c.tcp_max_pending, 65536);
	cr_assert_eq(c.max_request, 1024);
	/* below the ranges */
	load_err("[control]\ntcp_request_timeout_seconds = 0\n", 2, "tcp_request_timeout_seconds");
	load_err("[control]\ntcp_max_clients_per_source = 0\n", 2, "tcp_max_clients_per_source");
	load_err("[control]\ntcp_max_pending_bytes = 65535\n", 2, "tcp_max_pending_bytes");
}

Test(config, later_line_wins)
{
	struct ctl_config c;

	load_ok(&c, "[control]\ntcp_max_clients = 5\n[general]\n[control]\ntcp_max_clients = 7\n");
	cr_assert_eq(c.tcp_max_clients, 7);
}

/* ---- comments and case ---- */

Test(config, comments)
{
	struct ctl_config c;

	load_ok(&c, "; a comment\n"
		    "# another comment\n"
		    "[general]\n"
		    "; log_level = error\n"
		    "# log_level = warning\n"
		    "log_level = debug ; inline comment\n"
		    "log_facility = local1 ; another\n"
		    "[control]\n"
		    "; tcp_max_clients = 2\n"
		    "tcp_max_clients = 9 ; nine\n");
	cr_assert_eq(c.log_level, DP_LOG_DEBUG);
	cr_assert_str_eq(c.log_facility, "local1");
	cr_assert_eq(c.tcp_max_clients, 9);
}

Test(config, whitespace_around_values)
{
	struct ctl_config c;

	load_ok(&c, "[general]\nlog_level=notice\nlog_facility   =   local2   \n");
	cr_assert_eq(c.log_level, DP_LOG_NOTICE);
	cr_assert_str_eq(c.log_facility, "local2");
}

Test(config, values_case_insensitive)
{
	struct ctl_config c;

	load_ok(&c, "[general]\nlog_level = DEBUG\nlog_target = SysLog\n[eal]\nhugepages = YES\n");
	cr_assert_eq(c.log_level, DP_LOG_DEBUG);
	cr_assert_eq(c.log_target, DP_LOG_SYSLOG);
	cr_assert_eq(c.eal.hugepages, DP_HUGE_YES);

	load_ok(&c, "[general]\nlog_level = Warn\nlog_target = STDERR\n[eal]\nhugepages = No\n");
	cr_assert_eq(c.log_level, DP_LOG_WARNING);
	cr_assert_eq(c.log_target, DP_LOG_STDERR);
	cr_assert_eq(c.eal.hugepages, DP_HUGE_NO);

	load_ok(&c, "[general]\nlog_level = Err\n[eal]\nhugepages = no\nhugepages = AUTO\n");
	cr_assert_eq(c.log_level, DP_LOG_ERR);
	cr_assert_eq(c.eal.hugepages, DP_HUGE_AUTO);
}

Test(config, every_log_level)
{
	static const struct {
		const char *s;
		enum dp_log_level l;
	} cases[] = {
		{ "error", DP_LOG_ERR },   { "warning", DP_LOG_WARNING }, { "notice", DP_LOG_NOTICE },
		{ "info", DP_LOG_INFO },   { "debug", DP_LOG_DEBUG },	  { "err", DP_LOG_ERR },
		{ "warn", DP_LOG_WARNING },
	};
	struct ctl_config c;
	char text[80];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[general]\nlog_level = %s\n", cases[i].s);
		load_ok(&c, text);
		cr_assert_eq(c.log_level, cases[i].l, "log_level = %s", cases[i].s);
	}
}

/* ---- errors while loading ---- */

Test(config, unknown_section)
{
	load_err("[general]\n; log_level = debug\n[nosuch]\nfoo = 1\n", 4, "nosuch");
	load_err("; c\n[generall]\nlog_level = debug\n", 3, "generall");
}

Test(config, unknown_key_in_known_section)
{
	load_err("[general]\n\nlog_levle = debug\n", 3, "log_levle");
	load_err("[eal]\nlisten_ng = 1.2.3.4:5\n", 2, "listen_ng"); /* right key, wrong section */
	load_err("[control]\n; c\n# c\nmemory = 12\n", 4, "memory");
}

Test(config, key_outside_any_section)
{
	load_err("log_level = debug\n", 1, "log_level");
	load_err("; comment\n\ntcp_max_clients = 5\n[control]\n", 3, "tcp_max_clients");
}

/* tcp_max_clients is 1..4096 */
Test(config, u32_below_min)
{
	load_err("[control]\ntcp_max_clients = 0\n", 2, "tcp_max_clients");
	load_err("[control]\ncookie_cache_size = 15\n", 2, "cookie_cache_size");
	load_err("[eal]\nmemory_mb = 63\n", 2, "memory_mb");
	load_err("[general]\nlog_rate_interval_ms = 0\n", 2, "log_rate_interval_ms");
}

Test(config, u32_above_max)
{
	load_err("[control]\ntcp_max_clients = 4097\n", 2, "tcp_max_clients");
	load_err("[control]\nmax_request_bytes = 16777217\n", 2, "max_request_bytes");
	load_err("[control]\ncookie_cache_seconds = 3601\n", 2, "cookie_cache_seconds");
	load_err("[general]\nlog_rate_burst = 1000001\n", 2, "log_rate_burst");
	/* larger than 32 bits, and larger than 64 */
	load_err("[control]\ntcp_max_clients = 4294967297\n", 2, "tcp_max_clients");
	load_err("[control]\ntcp_max_clients = 99999999999999999999999\n", 2, "tcp_max_clients");
}

Test(config, u32_negative)
{
	load_err("[control]\ntcp_max_clients = -1\n", 2, "tcp_max_clients");
	load_err("[general]\nlog_rate_burst = -0\n", 2, "log_rate_burst");
	/* would wrap to 1 in strtoull */
	load_err("[control]\ntcp_max_clients = -18446744073709551615\n", 2, "tcp_max_clients");
}

Test(config, u32_not_a_number)
{
	load_err("[control]\ntcp_max_clients = many\n", 2, "tcp_max_clients");
	load_err("[control]\ntcp_max_clients = 0x10\n", 2, "tcp_max_clients");
}

Test(config, u32_trailing_garbage)
{
	load_err("[control]\ntcp_max_clients = 12abc\n", 2, "tcp_max_clients");
	load_err("[control]\ntcp_max_clients = 12 34\n", 2, "tcp_max_clients");
	load_err("[control]\ntcp_max_clients = 12.5\n", 2, "tcp_max_clients");
}

Test(config, u32_empty)
{
	load_err("[control]\ntcp_max_clients =\n", 2, "tcp_max_clients");
	load_err("[general]\nlog_rate_burst = ; nothing\n", 2, "log_rate_burst");
}

Test(config, string_too_long)
{
	struct ctl_config c;
	char text[200];

	/* log_facility holds 15 characters */
	load_ok(&c, "[general]\nlog_facility = abcdefghijklmno\n");
	cr_assert_str_eq(c.log_facility, "abcdefghijklmno");
	load_err("[general]\nlog_facility = abcdefghijklmnop\n", 2, "log_facility");

	/* lcores holds 63 */
	snprintf(text, sizeof(text), "[eal]\nlcores = %.63s\n",
		 "0123456789012345678901234567890123456789012345678901234567890123456789");
	load_ok(&c, text);
	cr_assert_eq(strlen(c.eal.lcores), 63);
	snprintf(text, sizeof(text), "[eal]\nlcores = %.64s\n",
		 "0123456789012345678901234567890123456789012345678901234567890123456789");
	load_err(text, 2, "lcores");
}

Test(config, bad_address)
{
	load_err("[control]\nlisten_ng = 127.0.0.1\n", 2, "listen_ng");       /* no port */
	load_err("[control]\nlisten_ng = 127.0.0.1:65536\n", 2, "listen_ng"); /* port range */
	load_err("[control]\nlisten_ng = ::1:2223\n", 2, "listen_ng");        /* bare IPv6 */
	load_err("[control]\nlisten_ng = localhost:2223\n", 2, "listen_ng");  /* hostname */
	load_err("[control]\nlisten_ng_tcp = 127.0.0.1\n", 2, "listen_ng_tcp");
	load_err("[control]\nlisten_ng_tcp = [::1]:65536\n", 2, "listen_ng_tcp");
	load_err("[control]\nlisten_ng_tcp = ::1:2223\n", 2, "listen_ng_tcp");
	load_err("[control]\nlisten_ng_tcp = example.org:2223\n", 2, "listen_ng_tcp");
}

Test(config, good_addresses)
{
	struct ctl_config c;

	load_ok(&c, "[control]\nlisten_ng = 2300\nlisten_ng_tcp = [2001:db8::1]:0\n");
	cr_assert_str_eq(c.listen_ng, "2300"); /* bare port: default host */
	cr_assert_str_eq(c.listen_ng_tcp, "[2001:db8::1]:0");
}

Test(config, empty_tcp_listener_allowed)
{
	struct ctl_config c;

	load_ok(&c, "[control]\nlisten_ng_tcp = 10.0.0.1:2224\nlisten_ng_tcp =\n");
	cr_assert_str_eq(c.listen_ng_tcp, "");
}

Test(config, empty_udp_listener_refused)
{
	load_err("[control]\nlisten_ng =\n", 2, "listen_ng");
}

Test(config, bad_log_level)
{
	load_err("[general]\nlog_level = verbose\n", 2, "log_level");
	load_err("[general]\nlog_level =\n", 2, "log_level");
}

Test(config, bad_log_target)
{
	load_err("[general]\nlog_target = file\n", 2, "log_target");
	load_err("[general]\nlog_target = stderr2\n", 2, "log_target");
}

Test(config, bad_hugepages)
{
	load_err("[eal]\nhugepages = maybe\n", 2, "hugepages");
	load_err("[eal]\nhugepages = 1\n", 2, "hugepages");
	load_err("[eal]\nhugepages = true\n", 2, "hugepages");
}

Test(config, not_section_nor_assignment)
{
	load_err("[general]\njust some words\n", 2, "syntax");
	load_err("[general]\n# log_level = debug\n[control\n", 3, "syntax");
	load_err("[control]\n\ntcp_max_clients 5\n", 3, "syntax");
}

/* The first error is the one reported: its line and its reason together.
 * inih remembers the first bad line, ctl_config the first reason its
 * handler saw; a syntax error (which never reaches the handler) followed
 * by a bad value must not come out as the syntax error's line with the
 * bad value's reason. */
Test(config, first_error_line_matches_its_reason)
{
	struct ctl_config c;
	char err[256] = "";
	int rc;

	ctl_config_defaults(&c);
	rc = ctl_config_load_string(&c, "[general]\nwords only\nlog_level = bogus\n", err,
				    sizeof(err));
	cr_assert_eq(rc, -EINVAL);
	if (strncmp(err, "(string):2: ", 12) == 0)
		cr_assert_null(strstr(err, "log_level"),
			       "line 2 is the syntax error, but err gives line 3's reason: '%s'", err);
	else
		cr_assert_eq(strncmp(err, "(string):3: ", 12), 0, "err '%s'", err);
}

/* A bad line after good ones: the good ones before it are applied (the
 * header allows it), the bad field keeps its value, and later lines are not
 * reported instead. */
Test(config, error_after_good_lines)
{
	struct ctl_config c;
	char err[256] = "";
	int rc;

	ctl_config_defaults(&c);
	rc = ctl_config_load_string(&c,
				    "[control]\ntcp_max_clients = 7\nmax_request_bytes = 1\n"
				    "cookie_cache_size = 0\n",
				    err, sizeof(err));
	cr_assert_eq(rc, -EINVAL);
	cr_assert_eq(strncmp(err, "(string):3: ", 12), 0, "err '%s'", err);
	cr_assert_not_null(strstr(err, "max_request_bytes"), "err '%s'", err);
	cr_assert_eq(c.max_request, 1048576);
	cr_assert_eq(c.cookie_cache_size, 4096);
}

Test(config, small_error_buffer)
{
	struct ctl_config c;
	char err[16];

	memset(err, 'z', sizeof(err));
	ctl_config_defaults(&c);
	cr_assert_eq(ctl_config_load_string(&c, "[general]\nlog_level = bogus\n", err, sizeof(err)),
		     -EINVAL);
	cr_assert_eq(strlen(err), sizeof(err) - 1);
	cr_assert_eq(strncmp(err, "(string):2: ", 12), 0, "err '%s'", err);
}

/* ---- ctl_config_set ---- */

Test(config, set_codes)
{
	struct ctl_config c, d;
	char err[256];

	ctl_config_defaults(&c);
	ctl_config_defaults(&d);
	err[0] = '\0';
	cr_assert_eq(ctl_config_set(&c, "nosuch", "log_level", "debug", err, sizeof(err)), -ENOENT);
	cr_assert_not_null(strstr(err, "nosuch"), "err '%s'", err);
	err[0] = '\0';
	cr_assert_eq(ctl_config_set(&c, "general", "nosuch", "debug", err, sizeof(err)), -ENOENT);
	cr_assert_not_null(strstr(err, "nosuch"), "err '%s'", err);
	cr_assert_not_null(strstr(err, "general"), "err '%s'", err);
	err[0] = '\0';
	cr_assert_eq(ctl_config_set(&c, "general", "log_level", "loud", err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "log_level"), "err '%s'", err);
	cr_assert_not_null(strstr(err, "loud"), "err '%s'", err);
	same_config(&c, &d, "failed sets");

	cr_assert_eq(ctl_config_set(&c, "general", "log_level", "error", err, sizeof(err)), 0);
	cr_assert_eq(c.log_level, DP_LOG_ERR);
	cr_assert_eq(ctl_config_set(&c, "GENERAL", "Log_Target", "syslog", err, sizeof(err)), 0);
	cr_assert_eq(c.log_target, DP_LOG_SYSLOG);
}

/* The loader strips whitespace, ctl_config_set and overrides do not: a
 * negative number must still be refused, not wrapped by strtoull into range. */
Test(config, set_u32_negative_after_whitespace)
{
	struct ctl_config c;
	char err[256] = "";
	int rc;

	ctl_config_defaults(&c);
	rc = ctl_config_set(&c, "control", "tcp_max_clients", " -18446744073709551615", err,
			    sizeof(err));
	cr_assert_eq(rc, -EINVAL, "' -18446744073709551615' accepted as %u", c.tcp_max_clients);
	cr_assert_eq(c.tcp_max_clients, 64);
}

/* ---- ctl_config_override ---- */

Test(config, override_good)
{
	struct ctl_config c;
	char err[256] = "";

	ctl_config_defaults(&c);
	cr_assert_eq(ctl_config_override(&c, "general.log_level=debug", err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(c.log_level, DP_LOG_DEBUG);
	cr_assert_eq(ctl_config_override(&c, "control.listen_ng=[::1]:9", err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(c.listen_ng, "[::1]:9");
	/* the value may hold '=' and '.' */
	cr_assert_eq(ctl_config_override(&c, "eal.extra_args=--vdev=net_null0 --a=1.5", err,
					 sizeof(err)),
		     0, "%s", err);
	cr_assert_str_eq(c.eal.extra_args, "--vdev=net_null0 --a=1.5");
	cr_assert_eq(ctl_config_override(&c, "control.tcp_max_clients=4096", err, sizeof(err)), 0);
	cr_assert_eq(c.tcp_max_clients, 4096);
	cr_assert_eq(ctl_config_override(&c, "control.listen_ng_tcp=", err, sizeof(err)), 0);
	cr_assert_str_eq(c.listen_ng_tcp, "");
}

static void override_bad(const char *a, int want)
{
	struct ctl_config c, d;
	char err[256] = "";
	int rc;

	ctl_config_defaults(&c);
	ctl_config_defaults(&d);
	rc = ctl_config_override(&c, a, err, sizeof(err));
	cr_assert_eq(rc, want, "'%s': rc %d, want %d", a, rc, want);
	cr_assert_neq(err[0], '\0', "'%s': no reason in err", a);
	if (want == -EINVAL && strchr(a, '.') == NULL)
		cr_assert_not_null(strstr(err, "section.key=value"), "'%s': err '%s'", a, err);
	same_config(&c, &d, a);
}

Test(config, override_malformed)
{
	override_bad("x", -EINVAL);
	override_bad("a=b", -EINVAL);
	override_bad(".k=v", -EINVAL);
	override_bad("s.=v", -EINVAL);
	override_bad("s.k", -EINVAL);
	override_bad("", -EINVAL);
	override_bad("a=b.c", -EINVAL); /* the dot after '=' is part of the value */
	override_bad("=v", -EINVAL);
	/* section name longer than any section */
	override_bad("generalgeneralgeneralgeneralgeneral.log_level=debug", -ENOENT); /* no such section */
	override_bad("gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg.k=v", -EINVAL); /* longer than any section */
}

Test(config, override_malformed_names_shape)
{
	static const char *bad[] = { "x", "a=b", ".k=v", "s.=v", "s.k" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ctl_config c;
		char err[256] = "";

		ctl_config_defaults(&c);
		cr_assert_eq(ctl_config_override(&c, bad[i], err, sizeof(err)), -EINVAL);
		cr_assert_not_null(strstr(err, "section.key=value"), "'%s': err '%s'", bad[i], err);
		cr_assert_not_null(strstr(err, bad[i]), "'%s' not quoted in err '%s'", bad[i], err);
	}
}

Test(config, override_unknown_and_bad_value)
{
	override_bad("nosuch.log_level=debug", -ENOENT);
	override_bad("general.nosuch=1", -ENOENT);
	override_bad("general.log.level=debug", -ENOENT);
	override_bad("general.log_level=loud", -EINVAL);
	override_bad("control.tcp_max_clients=0", -EINVAL);
	override_bad("control.listen_ng=", -EINVAL);
	override_bad("eal.hugepages=sometimes", -EINVAL);
}

/* ---- files ---- */

Test(config, load_missing_file)
{
	struct ctl_config c, d;
	char err[256] = "";

	ctl_config_defaults(&c);
	ctl_config_defaults(&d);
	cr_assert_eq(ctl_config_load(&c, "/nonexistent/medius/nosuch.conf", err, sizeof(err)),
		     -ENOENT);
	cr_assert_not_null(strstr(err, "/nonexistent/medius/nosuch.conf"), "err '%s'", err);
	same_config(&c, &d, "missing file");
}

/* Write text to a new temp file; returns its path in path (PATH_MAX). */
static void write_temp(char *path, const char *text)
{
	int fd;
	size_t n = strlen(text);

	strcpy(path, "/tmp/medius_test_config_XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(write(fd, text, n), (ssize_t)n);
	close(fd);
}

Test(config, load_file)
{
	struct ctl_config c;
	char path[PATH_MAX], err[256] = "";
	int rc;

	write_temp(path, full_ini);
	ctl_config_defaults(&c);
	rc = ctl_config_load(&c, path, err, sizeof(err));
	unlink(path);
	cr_assert_eq(rc, 0, "load %s: %s", path, err);
	check_full(&c);
}

Test(config, load_file_error_names_file_and_line)
{
	struct ctl_config c;
	char path[PATH_MAX], err[512] = "", prefix[PATH_MAX + 8];
	int rc;

	write_temp(path, "[general]\n; fine\nlog_level = debug\n[control]\ntcp_max_clients = 0\n");
	ctl_config_defaults(&c);
	rc = ctl_config_load(&c, path, err, sizeof(err));
	unlink(path);
	cr_assert_eq(rc, -EINVAL);
	snprintf(prefix, sizeof(prefix), "%s:5: ", path);
	cr_assert_eq(strncmp(err, prefix, strlen(prefix)), 0, "err '%s', want prefix '%s'", err,
		     prefix);
	cr_assert_not_null(strstr(err, "tcp_max_clients"), "err '%s'", err);
	cr_assert_eq(c.tcp_max_clients, 64);
}

/* ---- dump and reload ---- */

/* The last dump; freed by the next dump and after each test (a failed
 * assertion leaves the test before the caller could free it). */
static char *g_dump;
static char *g_sample; /* the sample configuration's text */

static void free_dump(void)
{
	free(g_dump);
	g_dump = NULL;
}

static void fini(void)
{
	free_dump();
	free(g_sample);
	g_sample = NULL;
}

TestSuite(config, .fini = fini);

/* Dump c to a string, valid until the next dump or the end of the test. */
static char *dump(const struct ctl_config *c)
{
	size_t len = 0;
	FILE *f;

	free_dump();
	f = open_memstream(&g_dump, &len);
	cr_assert_not_null(f);
	ctl_config_dump(c, f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_not_null(g_dump);
	return g_dump;
}

/* Dump a, reload into a fresh default configuration, compare. */
static void round_trip(const struct ctl_config *a, const char *what)
{
	struct ctl_config b;
	char err[256] = "";
	char *text = dump(a);
	int rc;

	ctl_config_defaults(&b);
	rc = ctl_config_load_string(&b, text, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s: reloading the dump failed: %s\n--- dump ---\n%s", what, err, text);
	cr_assert_eq(memcmp(a, &b, sizeof(b)), 0, "%s: reloaded dump differs\n--- dump ---\n%s",
		     what, text);
}

Test(config, dump_defaults_round_trip)
{
	struct ctl_config a;

	ctl_config_defaults(&a);
	round_trip(&a, "defaults");
}

Test(config, dump_lists_every_key)
{
	static const char *lines[] = {
		"[general]\n", "\nlog_level = info\n", "\nlog_target = stderr\n",
		"\nlog_facility = daemon\n", "\nlog_rate_burst = 10\n",
		"\nlog_rate_interval_ms = 5000\n", "\n[eal]\n", "\nlcores = \n",
		"\nmemory_mb = 256\n", "\nhugepages = auto\n", "\npci_devices = \n",
		"\nextra_args = \n", "\n[control]\n", "\nlisten_ng = 127.0.0.1:2223\n",
		"\nlisten_ng_tcp = \n", "\ncookie_cache_seconds = 30\n",
		"\ncookie_cache_size = 4096\n", "\ntcp_max_clients = 64\n",
		"\nmax_request_bytes = 1048576\n",
	};
	struct ctl_config a;
	char *text;

	ctl_config_defaults(&a);
	text = dump(&a);
	cr_assert_eq(strncmp(text, "[general]\n", 10), 0, "dump:\n%s", text);
	for (size_t i = 1; i < sizeof(lines) / sizeof(lines[0]); i++)
		cr_assert_not_null(strstr(text, lines[i]), "'%s' missing from the dump:\n%s",
				   lines[i] + 1, text);
}

Test(config, dump_changed_keys_round_trip)
{
	struct ctl_config a, d;
	char err[256] = "";

	/* each key set once from the defaults, as the reload will */
	ctl_config_defaults(&a);
	cr_assert_eq(ctl_config_override(&a, "general.log_level=warning", err, sizeof(err)), 0);
	cr_assert_eq(ctl_config_override(&a, "general.log_target=syslog", err, sizeof(err)), 0);
	cr_assert_eq(ctl_config_override(&a, "eal.hugepages=yes", err, sizeof(err)), 0);
	cr_assert_eq(ctl_config_override(&a, "eal.lcores=0,2-3", err, sizeof(err)), 0);
	cr_assert_eq(ctl_config_override(&a, "eal.extra_args=--vdev=net_null0 -d x.so", err,
					 sizeof(err)),
		     0);
	cr_assert_eq(ctl_config_override(&a, "control.listen_ng=[::1]:6000", err, sizeof(err)), 0);
	cr_assert_eq(ctl_config_override(&a, "control.listen_ng_tcp=0.0.0.0:6001", err, sizeof(err)),
		     0);
	cr_assert_eq(ctl_config_override(&a, "control.cookie_cache_seconds=0", err, sizeof(err)), 0);
	cr_assert_eq(ctl_config_override(&a, "general.log_rate_burst=0", err, sizeof(err)), 0);
	ctl_config_defaults(&d);
	cr_assert_neq(memcmp(&a, &d, sizeof(a)), 0);
	round_trip(&a, "changed keys");
}

Test(config, dump_full_file_round_trip)
{
	struct ctl_config a;

	load_ok(&a, full_ini);
	round_trip(&a, "full file");
}

Test(config, dump_every_level_and_hugepages_round_trip)
{
	static const char *levels[] = { "error", "warning", "notice", "info", "debug" };
	static const char *huge[] = { "auto", "yes", "no" };

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		for (size_t j = 0; j < sizeof(huge) / sizeof(huge[0]); j++) {
			struct ctl_config a;
			char text[100];

			snprintf(text, sizeof(text), "[general]\nlog_level = %s\n[eal]\nhugepages = %s\n",
				 levels[i], huge[j]);
			load_ok(&a, text);
			round_trip(&a, text);
		}
}

/* pci_devices and extra_args hold DP_EAL_LIST_LEN - 1 characters; a
 * configuration using them fully must survive its own dump. */
Test(config, dump_long_values_round_trip)
{
	struct ctl_config a;
	char err[256] = "", val[DP_EAL_LIST_LEN];

	ctl_config_defaults(&a);
	memset(val, 'x', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	memcpy(val, "--vdev=", 7);
	cr_assert_eq(ctl_config_set(&a, "eal", "extra_args", val, err, sizeof(err)), 0, "%s", err);
	memset(val, 'y', sizeof(val) - 1);
	cr_assert_eq(ctl_config_set(&a, "eal", "pci_devices", val, err, sizeof(err)), 0, "%s", err);
	round_trip(&a, "longest extra_args and pci_devices");
}

/* A line too long for inih's buffer is one clear error on its own line,
 * not two half-lines with shifted line numbers. */
Test(config, overlong_line_is_an_error_on_its_line)
{
	struct ctl_config a;
	char text[1024] = "[eal]\n\nextra_args = ", err[256] = "";

	ctl_config_defaults(&a);
	memset(text + strlen(text), 'z', 300);
	strcat(text, "\nmemory_mb = 512\n");
	cr_assert_eq(ctl_config_load_string(&a, text, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "(string):3: line longer than") != NULL, "%s", err);
	cr_assert_eq(a.eal.extra_args[0], '\0', "the long line set nothing");
}

/* ---- the sample configuration shipped in control/ ---- */

/* The repository root, from this file's path (tests/unit/test_config.c),
 * as a prefix; "" when compiled from the root itself. */
static void sample_path(char *out, size_t len)
{
	static const char tail[] = "tests/unit/test_config.c";
	const char *file = __FILE__;
	size_t n = strlen(file), t = strlen(tail);
	char exe[PATH_MAX];
	ssize_t e;

	out[0] = '\0';
	if (n < t || strcmp(file + n - t, tail) != 0)
		return;
	snprintf(out, len, "%.*scontrol/mediusd.conf", (int)(n - t), file);
	if (file[0] == '/' || access(out, R_OK) == 0)
		return;
	/* relative to the compiler's directory (meson: the build root), and the
	 * test may run elsewhere: try from the executable's parent directory */
	e = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (e <= 0)
		return;
	exe[e] = '\0';
	for (int up = 0; up < 3; up++) {
		char *slash = strrchr(exe, '/');
		char cand[PATH_MAX * 2];

		if (!slash)
			break;
		*slash = '\0';
		snprintf(cand, sizeof(cand), "%s/%.*scontrol/mediusd.conf", exe, (int)(n - t), file);
		if (access(cand, R_OK) == 0) {
			snprintf(out, len, "%s", cand);
			return;
		}
	}
}

Test(config, sample_config_loads_and_shows_defaults)
{
	char path[PATH_MAX * 2], err[512] = "";
	struct ctl_config c, d;
	char *text, *line, *save = NULL;
	FILE *f;
	long size;
	int rc;

	sample_path(path, sizeof(path));
	if (!path[0] || access(path, R_OK) != 0)
		cr_skip_test("control/mediusd.conf not found (from %s)", __FILE__);

	ctl_config_defaults(&c);
	rc = ctl_config_load(&c, path, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s: %s", path, err);
	/* "Every key is shown with its built-in default" */
	ctl_config_defaults(&d);
	same_config(&c, &d, "the sample configuration against the defaults");

	/* and every key the dump lists appears in it as "name =" */
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	cr_assert_gt(size, 0);
	rewind(f);
	g_sample = calloc(1, (size_t)size + 2);
	cr_assert_not_null(g_sample);
	g_sample[0] = '\n';
	cr_assert_eq(fread(g_sample + 1, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	text = dump(&d);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char want[80];
		const char *eq = strstr(line, " = ");

		if (!eq)
			continue;
		snprintf(want, sizeof(want), "\n%.*s =", (int)(eq - line), line);
		cr_assert_not_null(strstr(g_sample, want), "key '%.*s' missing from %s",
				   (int)(eq - line), line, path);
	}
}

/* ---- [media] and [interface NAME] ---- */

Test(config, interfaces_replace_the_default_and_add_up)
{
	struct ctl_config c;
	char err[256] = "";

	ctl_config_defaults(&c);
	cr_assert_eq(c.media.n_ifaces, 1);
	cr_assert_str_eq(c.media.ifaces[0].name, "default");
	cr_assert_eq(ctl_config_load_string(&c,
					    "[interface internal]\naddress = 10.0.0.5\nport_min = 20000\nport_max = 20999\n"
					    "[interface external]\naddress = ::1\nadvertise = 198.51.100.7\n"
					    "[media]\nrelatch_ms = 500\nmbufs_per_worker = 4095\n",
					    err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(c.media.n_ifaces, 2, "the first [interface] replaces the built-in one");
	cr_assert_str_eq(c.media.ifaces[0].name, "internal");
	cr_assert_str_eq(c.media.ifaces[0].address, "10.0.0.5");
	cr_assert_eq(c.media.ifaces[0].port_min, 20000);
	cr_assert_eq(c.media.ifaces[0].port_max, 20999);
	cr_assert_str_eq(c.media.ifaces[1].address, "::1");
	cr_assert_str_eq(c.media.ifaces[1].advertise, "198.51.100.7");
	cr_assert_eq(c.media.relatch_ms, 500);
	cr_assert_eq(c.media.mbufs, 4095);
	/* a command-line override adds to (or edits) the file's interfaces */
	cr_assert_eq(ctl_config_override(&c, "interface.external.port_max=40100", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.media.ifaces[1].port_max, 40100);
	cr_assert_eq(ctl_config_override(&c, "interface.third.address=127.0.0.3", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.media.n_ifaces, 3);
	cr_assert_eq(ctl_config_check(&c, err, sizeof(err)), 0, "%s", err);
}

Test(config, interface_errors)
{
	static const char *bad[] = {
		"[interface bad name]\naddress = 127.0.0.1\n", /* a space in the name */
		"[interface x]\naddress = example.com\n",
		"[interface x]\naddress =\n",
		"[interface x]\nadvertise = 1.2.3\n",
		"[interface x]\nport_min = 80\n",
		"[interface x]\nport_max = 70000\n",
		"[interface x]\nport_max = 3x\n",
		"[interface x]\nmtu = 1500\n",
		"[media]\nrelatch_ms = -1\n",
	};
	struct ctl_config c;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ctl_config_defaults(&c);
		err[0] = '\0';
		cr_assert_neq(ctl_config_load_string(&c, bad[i], err, sizeof(err)), 0, "accepted: %s", bad[i]);
		cr_assert(strstr(err, "(string):") != NULL, "no line in '%s'", err);
	}
	ctl_config_defaults(&c);
	cr_assert_eq(ctl_config_load_string(&c, "[interface x]\nport_min = 30000\nport_max = 30002\n", err, sizeof(err)), 0);
	cr_assert_eq(ctl_config_check(&c, err, sizeof(err)), -EINVAL, "a range without a whole pair");
	cr_assert(strstr(err, "interface x") != NULL, "%s", err);
}

Test(config, interfaces_survive_dump)
{
	struct ctl_config a, b;
	char err[256] = "", *text = NULL;
	size_t len = 0;
	FILE *f;

	ctl_config_defaults(&a);
	cr_assert_eq(ctl_config_load_string(&a, "[interface a]\naddress = 127.0.0.9\nport_min = 41000\nport_max = 41999\n"
						"[interface b]\naddress = ::1\nadvertise = 203.0.113.1\n",
					    err, sizeof(err)), 0, "%s", err);
	f = open_memstream(&text, &len);
	ctl_config_dump(&a, f);
	fclose(f);
	ctl_config_defaults(&b);
	cr_assert_eq(ctl_config_load_string(&b, text, err, sizeof(err)), 0, "%s\n%s", err, text);
	cr_assert(memcmp(&a.media, &b.media, sizeof(a.media)) == 0, "%s", text);
	free(text);
}

Test(config, jitter_buffer_bounds)
{
	struct ctl_config c;
	char err[256];

	load_ok(&c, "");
	cr_assert_eq(c.jb_min_ms, MX_JB_MIN_MS_DEFAULT);
	cr_assert_eq(c.jb_max_ms, MX_JB_MAX_MS_DEFAULT);
	load_ok(&c, "[media]\njitter_buffer_min_ms = 0\njitter_buffer_max_ms = 1000\n");
	cr_assert_eq(c.jb_min_ms, 0);
	cr_assert_eq(c.jb_max_ms, 1000);
	load_err("[media]\njitter_buffer_max_ms = 1001\n", 2, "jitter_buffer_max_ms");
	load_ok(&c, "[media]\njitter_buffer_min_ms = 200\njitter_buffer_max_ms = 100\n");
	cr_assert_eq(ctl_config_check(&c, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "jitter_buffer_min_ms"), "%s", err);
}

Test(config, opus_complexity)
{
	struct ctl_config c;

	load_ok(&c, "");
	cr_assert_eq(c.opus_complexity, CDC_OPUS_DEFAULT_COMPLEXITY);
	load_ok(&c, "[media]\nopus_complexity = 0\n");
	cr_assert_eq(c.opus_complexity, 0);
	load_ok(&c, "[media]\nopus_complexity = 10\n");
	cr_assert_eq(c.opus_complexity, 10);
	load_err("[media]\nopus_complexity = 11\n", 2, "opus_complexity");
}

/* ---- [retention] ---- */

Test(config, retention_tags_per_key_and_as_a_list)
{
	struct ctl_config c;
	struct rec_retain_policy p = { 0 };
	char err[256] = "";

	load_ok(&c, "[recording]\ndir = /r\naudit_log = /var/log/medius-audit.log\n"
		    "[retention]\ndefault_days = 2555\ntag.research = 30\ntag.legal = 0\ntag.research = 31\n"
		    "sweep_interval_s = 0\nallow_now = 1\n");
	cr_assert_eq(c.retention.default_days, 2555);
	cr_assert_eq(c.retention.sweep_interval_s, 0);
	cr_assert_eq(c.retention.allow_now, 1);
	cr_assert_str_eq(c.rec.audit_log, "/var/log/medius-audit.log");
	cr_assert_eq(rec_retain_parse_tags(c.retention.tags, &p), 0);
	cr_assert_eq(p.n_tags, 2);
	cr_assert_eq(rec_retain_days(&p, "research"), 31); /* the later key wins */
	cr_assert_eq(rec_retain_days(&p, "legal"), 0);
	load_ok(&c, "[retention]\ntags = a=1,b=2\n");
	cr_assert_str_eq(c.retention.tags, "a=1,b=2");
	cr_assert_eq(ctl_config_check(&c, err, sizeof(err)), 0, "%s", err);
	ctl_config_defaults(&c);
	cr_assert_eq(c.retention.sweep_interval_s, 3600);
	cr_assert_eq(c.retention.default_days, 0); /* nothing is deleted until configured */
	load_err("[retention]\ntag.x = abc\n", 2, "retention.tag.x");
	load_ok(&c, "[retention]\ntags = a=1,b\n");
	cr_assert_eq(ctl_config_check(&c, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "retention.tags"), "%s", err);
	load_ok(&c, "[recording]\naudit_log = relative.log\n");
	cr_assert_eq(ctl_config_check(&c, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "audit_log"), "%s", err);
}
