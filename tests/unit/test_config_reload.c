/* SPDX-License-Identifier: MIT
 * Unit tests for the SIGHUP reload (control/ctl_reload.c, the key table's
 * live flags) and for the documentation that must not fall behind the
 * table: docs/config.md's reload column and medius.conf(5). */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_config.h"

static char *write_tmp(const char *text)
{
	static char path[64];
	FILE *f;
	int fd;

	strcpy(path, "/tmp/medius-reload-XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

struct seen {
	int calls;
	struct ctl_config now, before;
};

static void applier(const struct ctl_config *now, const struct ctl_config *before, void *ctx)
{
	struct seen *s = ctx;

	s->calls++;
	s->now = *now;
	s->before = *before;
}

static void start(struct ctl_config *c, const char *path)
{
	char err[256];

	ctl_config_defaults(c);
	cr_assert_eq(ctl_config_load(c, path, err, sizeof(err)), 0, "%s", err);
}

Test(reload, live_keys_change_others_keep)
{
	char *p = write_tmp("[general]\nlog_level = info\n[control]\ncall_idle_timeout_seconds = 60\n"
			    "listen_ng = 127.0.0.1:2223\n");
	struct ctl_config cur;
	struct seen s = { 0 };
	unsigned kept = 99;
	char err[256];
	FILE *f;
	int rc;

	start(&cur, p);
	ctl_config_appliers_clear();
	cr_assert_eq(ctl_config_on_reload(applier, &s), 0);
	f = fopen(p, "w");
	fputs("[general]\nlog_level = debug\n[control]\ncall_idle_timeout_seconds = 5\nlisten_ng = 127.0.0.1:5555\n"
	      "[media]\njitter_buffer_max_ms = 400\nclock_ms = 10\n[homer]\naddress = 127.0.0.1:9060\n", f);
	fclose(f);
	rc = ctl_config_reload(&cur, p, NULL, 0, &kept, err, sizeof(err));
	cr_assert_eq(rc, 4, "live keys applied: log_level, idle timeout, jb max, homer.address (got %d: %s)", rc, err);
	cr_assert_eq(kept, 2, "listen_ng and clock_ms need a restart (kept %u)", kept);
	cr_assert_eq(cur.log_level, DP_LOG_DEBUG);
	cr_assert_eq(cur.call_idle_timeout_s, 5);
	cr_assert_eq(cur.jb_max_ms, 400);
	cr_assert_str_eq(cur.homer.address, "127.0.0.1:9060");
	cr_assert_str_eq(cur.listen_ng, "127.0.0.1:2223", "a restart key keeps its old value");
	cr_assert_eq(cur.media.clock_ms, 20, "a restart key keeps its old value");
	cr_assert_eq(s.calls, 1, "the applier runs once");
	cr_assert_eq(s.before.log_level, DP_LOG_INFO, "it sees the value from before");
	cr_assert_eq(s.now.log_level, DP_LOG_DEBUG, "and the new one");
	ctl_config_appliers_clear();
	unlink(p);
}

Test(reload, bad_file_changes_nothing)
{
	char *p = write_tmp("[general]\nlog_level = info\n");
	struct ctl_config cur, copy;
	struct seen s = { 0 };
	char err[256] = "";
	FILE *f;
	int rc;

	start(&cur, p);
	copy = cur;
	ctl_config_appliers_clear();
	ctl_config_on_reload(applier, &s);
	f = fopen(p, "w");
	fputs("[general]\nlog_level = debug\n[control]\ncall_idle_timeout_seconds = lots\n", f);
	fclose(f);
	rc = ctl_config_reload(&cur, p, NULL, 0, NULL, err, sizeof(err));
	cr_assert_eq(rc, -EINVAL);
	cr_assert(strstr(err, ":4: control.call_idle_timeout_seconds"), "the error names the line: %s", err);
	cr_assert_eq(memcmp(&cur, &copy, sizeof(cur)), 0, "nothing changed, not even the good line before");
	cr_assert_eq(s.calls, 0, "no applier ran");
	/* a file that parses but fails the checks across keys: the same */
	f = fopen(p, "w");
	fputs("[media]\njitter_buffer_min_ms = 500\njitter_buffer_max_ms = 100\n", f);
	fclose(f);
	cr_assert_eq(ctl_config_reload(&cur, p, NULL, 0, NULL, err, sizeof(err)), -EINVAL);
	cr_assert_eq(memcmp(&cur, &copy, sizeof(cur)), 0);
	unlink(p);
	cr_assert_eq(ctl_config_reload(&cur, p, NULL, 0, NULL, err, sizeof(err)), -ENOENT, "a missing file");
	cr_assert_eq(memcmp(&cur, &copy, sizeof(cur)), 0);
	ctl_config_appliers_clear();
}

Test(reload, command_line_still_wins)
{
	char *p = write_tmp("[general]\nlog_level = info\n");
	char *ov[] = { "general.log_level=warning" };
	struct ctl_config cur;
	char err[256];

	start(&cur, p);
	cr_assert_eq(ctl_config_override(&cur, ov[0], err, sizeof(err)), 0);
	cr_assert_eq(ctl_config_reload(&cur, p, ov, 1, NULL, err, sizeof(err)), 0, "nothing changed: %s", err);
	cr_assert_eq(cur.log_level, DP_LOG_WARNING, "the override is applied again");
	unlink(p);
}

Test(reload, interfaces_need_a_restart)
{
	char *p = write_tmp("[interface a]\naddress = 127.0.0.1\nport_min = 30000\nport_max = 30100\n");
	struct ctl_config cur;
	unsigned kept = 0;
	char err[256];
	FILE *f;

	start(&cur, p);
	f = fopen(p, "w");
	fputs("[interface a]\naddress = 127.0.0.1\nport_min = 31000\nport_max = 31100\n", f);
	fclose(f);
	cr_assert_eq(ctl_config_reload(&cur, p, NULL, 0, &kept, err, sizeof(err)), 0);
	cr_assert_eq(kept, 1);
	cr_assert_eq(cur.media.ifaces[0].port_min, 30000);
	unlink(p);
}

Test(reload, appliers_are_bounded)
{
	struct seen s;
	int rc = 0, n = 0;

	ctl_config_appliers_clear();
	while ((rc = ctl_config_on_reload(applier, &s)) == 0)
		n++;
	cr_assert_eq(rc, -ENOSPC);
	cr_assert_eq(n, 16);
	ctl_config_appliers_clear();
}

/* ---- the documentation keeps up with the table ---- */

static char *slurp(const char *rel)
{
	const char *root = getenv("MEDIUS_SOURCE");
	char path[512];
	FILE *f;
	long n;
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", root ? root : ".", rel);
	f = fopen(path, "r");
	cr_assert(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* The text of section `heading` in doc: from the line holding it to the
 * next heading of the same marker (NULL: none). */
static char *section_of(const char *doc, const char *heading, const char *marker)
{
	const char *at = strstr(doc, heading), *end;
	char *out;

	if (!at)
		return NULL;
	end = strstr(at + strlen(heading), marker);
	if (!end)
		end = at + strlen(at);
	out = strndup(at, (size_t)(end - at));
	return out;
}

Test(docs, man_page_names_every_key_with_its_reload)
{
	char *man = slurp("docs/man/medius.conf.5.scd");
	struct ctl_config_key k;

	for (size_t i = 0; ctl_config_key_info(i, &k) == 0; i++) {
		char heading[64], want[128];
		char *sec;

		snprintf(heading, sizeof(heading), "\n# [%s]\n", k.section);
		sec = section_of(man, heading, "\n# ");
		cr_assert(sec, "medius.conf(5) has no section [%s]", k.section);
		snprintf(want, sizeof(want), "\n*%s* = ", k.name);
		cr_assert(strstr(sec, want), "medius.conf(5) does not describe %s.%s", k.section, k.name);
		{
			const char *line = strstr(sec, want) + 1;
			const char *eol = strchr(line, '\n');
			char *l = strndup(line, (size_t)(eol - line));

			cr_assert(strstr(l, k.live ? "(live)" : "(restart)"),
				  "medius.conf(5): %s.%s must say %s: %s", k.section, k.name,
				  k.live ? "(live)" : "(restart)", l);
			free(l);
		}
		free(sec);
	}
	free(man);
}

Test(docs, config_md_has_every_key_with_its_reload)
{
	char *md = slurp("docs/config.md");
	struct ctl_config_key k;

	for (size_t i = 0; ctl_config_key_info(i, &k) == 0; i++) {
		char heading[64], want[128];
		char *sec, *row;

		snprintf(heading, sizeof(heading), "\n### [%s]\n", k.section);
		sec = section_of(md, heading, "\n#");
		cr_assert(sec, "config.md has no section [%s]", k.section);
		snprintf(want, sizeof(want), "\n| `%s` | ", k.name);
		row = strstr(sec, want);
		cr_assert(row, "config.md does not list %s.%s", k.section, k.name);
		{
			char *l = strndup(row + 1, (size_t)(strchr(row + 1, '\n') - row - 1));
			char *third = l;

			/* | key | default | reload | values | */
			for (int c = 0; c < 2 && third; c++)
				third = strchr(third + 1, '|');
			cr_assert(third, "config.md row of %s.%s has no reload column", k.section, k.name);
			cr_assert(!strncmp(third + 2, k.live ? "live |" : "restart |", k.live ? 6 : 9),
				  "config.md: %s.%s must be %s: %s", k.section, k.name, k.live ? "live" : "restart", l);
			free(l);
		}
		free(sec);
	}
	free(md);
}
