/* SPDX-License-Identifier: MIT
 * recording/'s audit log (the SHA-256 chain and its verification: an
 * altered byte, a removed entry, two swapped entries, each named), writers
 * on several threads and in two processes, retention with an injected
 * clock (expired recordings go, held and running ones stay, each delete
 * audited) and the recovery's "incomplete" finalise entry. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rec_int.h"

static char dir[256], logp[300];

static void mkroot(void)
{
	snprintf(dir, sizeof(dir), "/tmp/medius-test-audit-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(logp, sizeof(logp), "%s/audit.log", dir);
}

static void rmroot(void)
{
	char cmd[PATH_MAX + 16];

	rec_audit_close();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(audit, .init = mkroot, .fini = rmroot);
TestSuite(retain, .init = mkroot, .fini = rmroot);

/* ---- the file as lines ---- */

static char *lines[4096];
static unsigned n_lines;

static void load(void)
{
	FILE *f = fopen(logp, "r");
	char *l = NULL;
	size_t cap = 0;

	cr_assert_not_null(f);
	n_lines = 0;
	while (getline(&l, &cap, f) >= 0 && n_lines < 4096)
		lines[n_lines++] = strdup(l);
	free(l);
	fclose(f);
}

static void save(void)
{
	FILE *f = fopen(logp, "w");

	cr_assert_not_null(f);
	for (unsigned i = 0; i < n_lines; i++) {
		fputs(lines[i], f);
		free(lines[i]);
	}
	fclose(f);
}

static void write_entries(unsigned n)
{
	cr_assert_eq(rec_audit_open(logp, NULL), 0);
	for (unsigned i = 0; i < n; i++) {
		char id[32], path[64];

		snprintf(id, sizeof(id), "%016x", i + 1);
		snprintf(path, sizeof(path), "/rec/call-%u.wav", i + 1);
		cr_assert_eq(rec_audit_append(i % 2 ? "stop" : "start", id, path, i == 2 ? "a \"quoted\"\nline" : ""), 0);
	}
	cr_assert_eq(rec_audit_sync(5000), 0);
	rec_audit_close();
}

static struct rec_audit_verdict verify(int want)
{
	struct rec_audit_verdict v;

	cr_assert_eq(rec_audit_verify(logp, &v), want, "verify: %s", v.msg);
	return v;
}

Test(audit, chain_holds)
{
	struct rec_audit_verdict v;

	write_entries(6);
	v = verify(0);
	cr_assert_eq(v.entries, 6);
	cr_assert_eq(v.last_seq, 6);
	load();
	cr_assert_eq(n_lines, 6); /* the quoted newline stayed inside its line */
	cr_assert(strstr(lines[0], "{\"seq\":1,") == lines[0]);
	cr_assert(strstr(lines[0], "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\""));
	cr_assert(strstr(lines[2], "a \\\"quoted\\\"\\u000aline"));
	cr_assert(strstr(lines[5], "\"event\":\"stop\",\"id\":\"0000000000000006\",\"path\":\"/rec/call-6.wav\""));
	save();
}

Test(audit, reopen_continues_the_chain)
{
	struct rec_audit_verdict v;

	write_entries(3);
	write_entries(2);
	v = verify(0);
	cr_assert_eq(v.entries, 5);
	cr_assert_eq(v.last_seq, 5);
}

Test(audit, altered_byte_is_named)
{
	struct rec_audit_verdict v;
	char *p;

	write_entries(6);
	load();
	p = strstr(lines[3], "call-4");
	cr_assert_not_null(p);
	p[5] = '9'; /* call-9: one byte */
	save();
	v = verify(1);
	cr_assert_eq(v.fault, REC_AUDIT_ALTERED);
	cr_assert_eq(v.seq, 4);
	cr_assert_eq(v.line, 4);
	cr_assert(strstr(v.msg, "seq 4"), "%s", v.msg);
}

Test(audit, altered_hash_or_prev_is_named)
{
	struct rec_audit_verdict v;
	char *p;

	write_entries(5);
	load();
	p = strstr(lines[1], "\"prev\":\"");
	cr_assert_not_null(p);
	p[8] = p[8] == 'a' ? 'b' : 'a';
	save();
	v = verify(1);
	cr_assert_eq(v.fault, REC_AUDIT_ALTERED);
	cr_assert_eq(v.seq, 2);
}

Test(audit, removed_entry_is_named)
{
	struct rec_audit_verdict v;

	write_entries(6);
	load();
	free(lines[2]);
	memmove(&lines[2], &lines[3], (n_lines - 3) * sizeof(lines[0]));
	n_lines--;
	save();
	v = verify(1);
	cr_assert_eq(v.fault, REC_AUDIT_REMOVED);
	cr_assert_eq(v.seq, 3);
	cr_assert_eq(v.line, 3);
	cr_assert(strstr(v.msg, "seq 3 was removed"), "%s", v.msg);
}

Test(audit, removed_first_entries_are_named)
{
	struct rec_audit_verdict v;

	write_entries(4);
	load();
	free(lines[0]);
	free(lines[1]);
	memmove(&lines[0], &lines[2], 2 * sizeof(lines[0]));
	n_lines = 2;
	save();
	v = verify(1);
	cr_assert_eq(v.fault, REC_AUDIT_REMOVED);
	cr_assert_eq(v.seq, 1);
	cr_assert(strstr(v.msg, "seq 1 to 2"), "%s", v.msg);
}

Test(audit, swapped_entries_are_named)
{
	struct rec_audit_verdict v;
	char *t;

	write_entries(6);
	load();
	t = lines[3];
	lines[3] = lines[4];
	lines[4] = t;
	save();
	v = verify(1);
	cr_assert_eq(v.fault, REC_AUDIT_REORDERED);
	cr_assert_eq(v.line, 4);
	cr_assert_eq(v.seq, 5); /* seq 5 sits where seq 4 belongs */
	cr_assert(strstr(v.msg, "seq 5 is out of order at line 4"), "%s", v.msg);
}

Test(audit, torn_line_is_named_and_the_chain_goes_on)
{
	struct rec_audit_verdict v;
	FILE *f;

	write_entries(3);
	f = fopen(logp, "a");
	fputs("{\"seq\":4,\"time\":\"20", f); /* a power loss mid-write */
	fclose(f);
	write_entries(1);
	load();
	cr_assert_eq(n_lines, 5);
	cr_assert(strstr(lines[4], "{\"seq\":4,") == lines[4], "%s", lines[4]);
	save();
	v = verify(1);
	cr_assert_eq(v.fault, REC_AUDIT_MALFORMED);
	cr_assert_eq(v.line, 4);
}

Test(audit, replaced_entry_is_named)
{
	struct rec_audit_verdict v;
	char other[300];

	/* entry 3 taken from another log (its own hash is right, its prev is not ours) */
	write_entries(2);
	snprintf(other, sizeof(other), "%s", logp);
	snprintf(logp, sizeof(logp), "%s/other.log", dir);
	write_entries(3);
	load();
	{
		char *third = strdup(lines[2]);

		for (unsigned i = 0; i < n_lines; i++)
			free(lines[i]);
		n_lines = 0;
		snprintf(logp, sizeof(logp), "%s", other);
		load();
		lines[n_lines++] = third;
		save();
	}
	v = verify(1);
	cr_assert_eq(v.fault, REC_AUDIT_BROKEN);
	cr_assert_eq(v.seq, 3);
}

static void *appender(void *arg)
{
	char id[32];

	for (unsigned i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "t%lu-%u", (unsigned long)(uintptr_t)arg, i);
		cr_assert_eq(rec_audit_append("start", id, "/x", NULL), 0);
	}
	return NULL;
}

Test(audit, threads_and_processes)
{
	pthread_t t[4];
	pid_t child;
	struct rec_audit_verdict v;
	int st;

	child = fork();
	cr_assert_geq(child, 0);
	if (!child) { /* another process on the same file (flock) */
		if (rec_audit_open(logp, NULL))
			_exit(1);
		for (unsigned i = 0; i < 100; i++)
			rec_audit_append("hold", "child", "/y", NULL);
		_exit(rec_audit_sync(20000) ? 1 : 0);
	}
	cr_assert_eq(rec_audit_open(logp, NULL), 0);
	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, appender, (void *)i);
	for (unsigned i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(rec_audit_sync(20000), 0);
	cr_assert_eq(waitpid(child, &st, 0), child);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	v = verify(0);
	cr_assert_eq(v.entries, 900);
	cr_assert_eq(v.last_seq, 900);
}

Test(audit, append_without_a_log_does_nothing)
{
	cr_assert_eq(rec_audit_append("start", "x", "/x", NULL), -ENOENT);
	cr_assert_null(rec_audit_path());
	cr_assert_eq(rec_audit_verify("/nonexistent/audit.log", &(struct rec_audit_verdict){ 0 }), -ENOENT);
}

/* ---- retention ---- */

static const uint64_t T0 = 1800000000000ull; /* 2027-01-15 */
#define DAY 86400000ull

/* A finished recording: NAME.wav (and NAME.pcap) and its sidecar. */
static void fake(const char *name, const char *id, const char *meta, const char *state, uint64_t ended)
{
	char base[512], f0[520], f1[520];
	uint64_t counts[REC_EV__COUNT] = { 0 };
	struct rec_meta m = { .id = id, .call_id = "c", .from_tag = "a", .to_tag = "b", .metadata = meta,
			      .state = state, .party = { "a", "b" }, .rate = 8000, .channels = 2,
			      .started_wall_ms = ended - 60000, .ended_wall_ms = ended, .ev_counts = counts };
	FILE *f;

	snprintf(base, sizeof(base), "%s/%s", dir, name);
	snprintf(f0, sizeof(f0), "%s.wav", base);
	snprintf(f1, sizeof(f1), "%s.pcap", base);
	mkdir(dir, 0750);
	{
		char sub[512], *slash;

		snprintf(sub, sizeof(sub), "%s", base);
		if ((slash = strrchr(sub, '/'))) {
			*slash = 0;
			mkdir(sub, 0750);
		}
	}
	m.files[0] = f0;
	m.formats[0] = "wav";
	m.files[1] = f1;
	m.formats[1] = "pcap";
	m.n_files = 2;
	cr_assert_eq(rec_meta_write(base, &m), 0);
	f = fopen(f0, "w");
	fputs("RIFF", f);
	fclose(f);
	f = fopen(f1, "w");
	fputs("pcap", f);
	fclose(f);
}

static bool exists(const char *name, const char *ext)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/%s%s", dir, name, ext);
	return access(p, F_OK) == 0;
}

static unsigned count_in_log(const char *needle)
{
	unsigned n = 0;

	load();
	for (unsigned i = 0; i < n_lines; i++) {
		n += strstr(lines[i], needle) != NULL;
		free(lines[i]);
	}
	n_lines = 0;
	return n;
}

Test(retain, policy_and_time)
{
	struct rec_retain_policy p = { .default_days = 2555 };
	uint64_t ms;

	cr_assert_eq(rec_retain_parse_tags("research=30, legal = 0,research=31", &p), 0);
	cr_assert_eq(p.n_tags, 2);
	cr_assert_eq(rec_retain_days(&p, "research"), 31);
	cr_assert_eq(rec_retain_days(&p, "legal"), 0);
	cr_assert_eq(rec_retain_days(&p, "other"), 2555);
	cr_assert_eq(rec_retain_days(&p, NULL), 2555);
	cr_assert_eq(rec_retain_parse_tags("research", &p), -EINVAL);
	cr_assert_eq(rec_retain_parse_tags("x=abc", &p), -EINVAL);
	cr_assert_eq(p.n_tags, 2); /* unchanged by a bad one */
	cr_assert_eq(rec_retain_parse_time("2033-01-01", &ms), 0);
	cr_assert_eq(ms, 1988150400000ull);
	cr_assert_eq(rec_retain_parse_time("2033-01-01T00:00:01.5Z", &ms), 0);
	cr_assert_eq(ms, 1988150401005ull); /* ".5": 5 ms, as written (rec_meta writes 3 digits) */
	cr_assert_eq(rec_retain_parse_time("@1988150400", &ms), 0);
	cr_assert_eq(ms, 1988150400000ull);
	cr_assert_eq(rec_retain_parse_time("tomorrow", &ms), -EINVAL);
	setenv("MEDIUS_RETENTION_NOW", "2033-01-01", 1);
	cr_assert_eq(rec_retain_now_ms(), 1988150400000ull);
	unsetenv("MEDIUS_RETENTION_NOW");
	cr_assert_gt(rec_retain_now_ms(), 1700000000000ull);
}

Test(retain, sweep_with_an_injected_clock)
{
	struct rec_retain_policy p = { .default_days = 2555 };
	struct rec_sweep_result r;
	struct rec_audit_verdict v;

	cr_assert_eq(rec_retain_parse_tags("research=30", &p), 0);
	cr_assert_eq(rec_audit_open(logp, NULL), 0);
	fake("a/research1", "00000000000000a1", "retention:research|case:1", "complete", T0);
	fake("a/research2", "00000000000000a2", "case:2|retention:research", "incomplete", T0);
	fake("research-held", "00000000000000a3", "retention:research", "complete", T0);
	fake("research-running", "00000000000000a4", "retention:research", "recording", T0);
	fake("default", "00000000000000a5", "case:5", "complete", T0);
	cr_assert_eq(rec_retain_hold(dir, "00000000000000a3", true, "case 3 litigation", NULL), 0);
	cr_assert_eq(rec_retain_hold(dir, "00000000000000a3", true, NULL, NULL), 1);
	cr_assert_eq(rec_retain_hold(dir, "ffffffffffffffff", true, NULL, NULL), -ENOENT);
	cr_assert(exists("research-held", ".hold"));

	/* 29 days on: nothing is due */
	cr_assert_eq(rec_retain_sweep(dir, &p, T0 + 29 * DAY, &r), 0);
	cr_assert_eq(r.scanned, 5);
	cr_assert_eq(r.running, 1);
	cr_assert_eq(r.expired, 0);
	cr_assert(exists("a/research1", ".wav"));

	/* 31 days on: the research ones go, but not the held or running one */
	cr_assert_eq(rec_retain_sweep(dir, &p, T0 + 31 * DAY, &r), 0);
	cr_assert_eq(r.expired, 3);
	cr_assert_eq(r.deleted, 2);
	cr_assert_eq(r.held, 1);
	cr_assert_eq(r.errors, 0);
	cr_assert(!exists("a/research1", ".wav") && !exists("a/research1", ".pcap") && !exists("a/research1", ".json"));
	cr_assert(!exists("a/research2", ".wav") && !exists("a/research2", ".json"));
	cr_assert(exists("research-held", ".wav") && exists("research-held", ".json"));
	cr_assert(exists("research-running", ".wav") && exists("research-running", ".json"));
	cr_assert(exists("default", ".wav") && exists("default", ".pcap") && exists("default", ".json"));

	/* unheld, it goes at the next sweep; the default one after 2555 days */
	cr_assert_eq(rec_retain_hold(dir, "00000000000000a3", false, "case closed", NULL), 0);
	cr_assert(!exists("research-held", ".hold"));
	cr_assert_eq(rec_retain_sweep(dir, &p, T0 + 2554 * DAY, &r), 0);
	cr_assert_eq(r.deleted, 1);
	cr_assert(!exists("research-held", ".wav"));
	cr_assert(exists("default", ".wav"));
	cr_assert_eq(rec_retain_sweep(dir, &p, T0 + 2556 * DAY, &r), 0);
	cr_assert_eq(r.deleted, 1);
	cr_assert(!exists("default", ".wav") && !exists("default", ".json"));
	cr_assert(exists("research-running", ".json"));

	cr_assert_eq(rec_audit_sync(5000), 0);
	rec_audit_close();
	v = verify(0);
	cr_assert_eq(v.entries, 6); /* hold, 2 deletes, unhold, 2 deletes */
	cr_assert_eq(count_in_log("\"event\":\"delete\""), 4);
	cr_assert_eq(count_in_log("\"event\":\"delete\",\"id\":\"00000000000000a1\""), 1);
	cr_assert_eq(count_in_log("\"event\":\"delete\",\"id\":\"00000000000000a2\""), 1);
	cr_assert_eq(count_in_log("\"event\":\"delete\",\"id\":\"00000000000000a3\""), 1);
	cr_assert_eq(count_in_log("\"event\":\"delete\",\"id\":\"00000000000000a5\""), 1);
	cr_assert_eq(count_in_log("retention tag research: 30 days"), 3);
	cr_assert_eq(count_in_log("\"event\":\"hold\",\"id\":\"00000000000000a3\""), 1);
	cr_assert_eq(count_in_log("case 3 litigation"), 1);
	cr_assert_eq(count_in_log("\"event\":\"unhold\""), 1);
	cr_assert_eq(count_in_log("00000000000000a4"), 0); /* the running one never */
}

Test(retain, forever_and_undeletable)
{
	struct rec_retain_policy p = { .default_days = 0 };
	struct rec_sweep_result r;
	char sub[600];

	cr_assert_eq(rec_retain_parse_tags("short=1", &p), 0);
	cr_assert_eq(rec_audit_open(logp, NULL), 0);
	fake("forever", "00000000000000b1", "", "complete", T0);
	fake("ro/short", "00000000000000b2", "retention:short", "complete", T0);
	snprintf(sub, sizeof(sub), "%s/ro", dir);
	cr_assert_eq(chmod(sub, 0550), 0); /* nothing can be unlinked in there */
	cr_assert_eq(rec_retain_sweep(dir, &p, T0 + 100000 * DAY, &r), 0);
	chmod(sub, 0750);
	cr_assert_eq(r.expired, 1);
	if (geteuid() != 0) { /* root unlinks anyway */
		cr_assert_eq(r.errors, 1);
		cr_assert(exists("ro/short", ".json")); /* found again next time */
		cr_assert_eq(rec_audit_sync(5000), 0);
		cr_assert_eq(count_in_log("\"event\":\"delete-failed\",\"id\":\"00000000000000b2\""), 1);
	}
	cr_assert(exists("forever", ".wav"));
}

Test(retain, a_planted_sidecar_deletes_nothing_outside)
{
	struct rec_retain_policy p = { .default_days = 1 };
	struct rec_sweep_result r;
	char victim[300], sub[400], base[600];
	uint64_t counts[REC_EV__COUNT] = { 0 };
	const char *files[1];
	FILE *f;

	snprintf(victim, sizeof(victim), "%s-victim", dir);
	f = fopen(victim, "w");
	cr_assert_not_null(f);
	fclose(f);
	files[0] = victim;
	snprintf(sub, sizeof(sub), "%s/x", dir);
	mkdir(sub, 0750);
	snprintf(base, sizeof(base), "%s/planted", sub);
	{
		struct rec_meta m = { .id = "00000000000000d1", .call_id = "c", .from_tag = "a", .to_tag = "b",
				      .metadata = "", .state = "complete", .party = { "a", "b" }, .rate = 8000,
				      .channels = 2, .started_wall_ms = T0, .ended_wall_ms = T0, .ev_counts = counts,
				      .files = { files[0] }, .formats = { "wav" }, .n_files = 1 };

		cr_assert_eq(rec_meta_write(base, &m), 0);
	}
	cr_assert_eq(rec_retain_sweep(dir, &p, T0 + 10 * DAY, &r), 0);
	cr_assert_eq(r.expired, 1);
	cr_assert_eq(r.errors, 1);
	cr_assert_eq(access(victim, F_OK), 0, "a file outside the recording directory was deleted");
	unlink(victim);
}

Test(retain, recovery_audits_an_incomplete_finalise)
{
	char base[512], part[600];
	FILE *f;

	cr_assert_eq(rec_audit_open(logp, NULL), 0);
	fake("crashed", "00000000000000c1", "", "recording", T0);
	snprintf(base, sizeof(base), "%s/crashed.wav", dir);
	snprintf(part, sizeof(part), "%s.part", base);
	cr_assert_eq(rename(base, part), 0);
	f = fopen(part, "w"); /* a WAV header and no data */
	{
		static const unsigned char hdr[44] = { 'R', 'I', 'F', 'F', 36, 0, 0, 0, 'W', 'A', 'V', 'E', 'f', 'm', 't', ' ',
						       16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0,
						       2, 0, 16, 0, 'd', 'a', 't', 'a', 0, 0, 0, 0 };

		fwrite(hdr, 1, sizeof(hdr), f);
	}
	fclose(f);
	cr_assert_geq(rec_recover(dir), 1);
	cr_assert_eq(rec_audit_sync(5000), 0);
	cr_assert_eq(count_in_log("\"event\":\"finalise\",\"id\":\"00000000000000c1\""), 1);
	cr_assert_eq(count_in_log("finalised after crash: incomplete"), 1);
	rec_recover(dir); /* a second start finds nothing to do */
	cr_assert_eq(rec_audit_sync(5000), 0);
	cr_assert_eq(count_in_log("finalised after crash"), 1);
}
