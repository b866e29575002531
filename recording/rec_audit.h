/* SPDX-License-Identifier: MIT
 * rec_audit: the recordings' audit log and their retention (issue 13),
 * part of recording/'s door (rec.h includes it). Needs no DPDK: mediusctl
 * links it (audit verify) on its own, as the static library rec_audit.
 *
 * The audit log is one file of JSON lines, appended to and never changed:
 *
 *   {"seq":7,"time":"2026-12-06T05:40:00.123Z","event":"start","id":"5c75...",
 *    "path":"/rec/x.wav","detail":"","prev":"<64 hex>","hash":"<64 hex>"}
 *
 * `hash` is the SHA-256 (hex) of the line's bytes before `,"hash":"`, so
 * it covers `prev`, the previous entry's hash (64 zeros for seq 1): a
 * chain. Changing, removing or reordering an entry breaks it from there
 * on; rec_audit_verify names the first break.
 *
 * Writing: rec_audit_append() only queues the entry (a malloc and a
 * mutex; any thread, never a worker); one writer thread appends what is
 * queued under flock(LOCK_EX), taking seq and prev from the file's last
 * line (so a restart, or another process such as a test's, continues the
 * chain), and fdatasyncs once per batch. rec_audit_sync() waits for the
 * queue to be written.
 */
#ifndef REC_AUDIT_H
#define REC_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#define REC_AUDIT_HASH_HEX 64

/* Open (create, mode 0640) the log at path and start the writer thread.
 * log (may be NULL) is told about write failures (any thread). 0 or
 * -errno. A second open closes the first. */
int rec_audit_open(const char *path, void (*log)(const char *msg));
/* Write what is queued (waiting up to 5 s), stop the thread, close. */
void rec_audit_close(void);
/* The open log's path, or NULL when none is open. */
const char *rec_audit_path(void);
/* Queue one entry: event ("start", "pause", "resume", "stop", "finalise",
 * "error", "export", "delete", "hold", "unhold", ...), recording id, path
 * (the main file), detail (free text; NULL ""). Any thread; returns at
 * once. 0, -ENOENT (no log open: nothing is recorded) or -ENOMEM. */
int rec_audit_append(const char *event, const char *id, const char *path, const char *detail);
/* Wait up to timeout_ms for every entry queued so far to be on disk. 0,
 * -ETIMEDOUT, or the first write error since the last call (-errno). */
int rec_audit_sync(unsigned timeout_ms);

/* Verification of a log file: the whole chain. */
enum rec_audit_fault {
	REC_AUDIT_OK,
	REC_AUDIT_MALFORMED, /* a line that is not an entry (altered, or torn) */
	REC_AUDIT_ALTERED,   /* an entry whose hash does not match its text */
	REC_AUDIT_REMOVED,   /* sequence numbers missing */
	REC_AUDIT_REORDERED, /* an entry out of its place (or duplicated) */
	REC_AUDIT_BROKEN,    /* prev is not the previous entry's hash (another chain spliced in) */
};
struct rec_audit_verdict {
	enum rec_audit_fault fault;
	uint64_t entries;    /* lines read */
	uint64_t line;       /* where the first fault shows (1-based) */
	uint64_t seq;        /* the entry named: the altered / misplaced one, or the first removed */
	uint64_t last_seq;   /* the last entry's (all OK) */
	char last_hash[REC_AUDIT_HASH_HEX + 1];
	char msg[256];       /* one sentence naming the fault */
};
/* 0 the chain holds, 1 it does not (v says where), -errno unreadable. */
int rec_audit_verify(const char *path, struct rec_audit_verdict *v);

/* ---- retention (rec_retain.c) ----
 * A recording's tag is the value of "retention" in its metadata
 * ("retention:research|case:42"); it is kept for the tag's days after it
 * ended (or was recovered, or started), then a sweep deletes every file
 * its sidecar lists (and their .part), and the sidecar, unless it is on
 * legal hold (a file BASE.hold beside the sidecar). Each delete, hold and
 * unhold is audited. Recordings still running are never touched. */
#define REC_RETAIN_TAGS 32
struct rec_retain_policy {
	uint32_t default_days;     /* 0: kept forever */
	struct { char tag[32]; uint32_t days; } tag[REC_RETAIN_TAGS];
	unsigned n_tags;
};
/* Parse "research=30,legal=0" into p's tags (p's default untouched).
 * 0 or -EINVAL. */
int rec_retain_parse_tags(const char *s, struct rec_retain_policy *p);
/* Days for tag (NULL or "": the default). */
uint32_t rec_retain_days(const struct rec_retain_policy *p, const char *tag);
/* A time as Unix seconds ("1999999999", "@1999999999") or UTC ISO 8601
 * ("2033-01-01", "2033-01-01T00:00:00Z"): milliseconds into *ms. 0 or -EINVAL. */
int rec_retain_parse_time(const char *s, uint64_t *ms);
/* The sweeper's clock: $MEDIUS_RETENTION_NOW (rec_retain_parse_time) when
 * set (tests), else CLOCK_REALTIME. */
uint64_t rec_retain_now_ms(void);

struct rec_sweep_result {
	unsigned scanned;  /* sidecars looked at */
	unsigned running;  /* still recording (skipped) */
	unsigned expired;  /* past their retention */
	unsigned deleted;  /* of those, deleted */
	unsigned held;     /* of those, kept: legal hold */
	unsigned errors;   /* of those, not (wholly) deleted */
};
/* Sweep root (recursively) at time now_ms. 0 or -errno (root unreadable). */
int rec_retain_sweep(const char *root, const struct rec_retain_policy *p, uint64_t now_ms,
		     struct rec_sweep_result *out);
/* Put recording id (found under root by its sidecar) on legal hold, or
 * take it off: BASE.hold made (fsync'ed) or removed, and audited with
 * reason. The sidecar's path into json (may be NULL, REC_PATH_MAX).
 * 0 done, 1 nothing to do (already so), -ENOENT no such recording, -errno. */
int rec_retain_hold(const char *root, const char *id, bool hold, const char *reason, char *json);
/* A sidecar's recording id (64) and main file (REC_PATH_MAX; "" if it
 * lists none). 0 or -errno / -EINVAL (not a sidecar). */
int rec_retain_sidecar(const char *json, char *id, char *main_path);
/* Is the recording whose sidecar is json on hold? */
bool rec_retain_is_held(const char *json);

/* The periodic sweep, on its own thread: every interval_s (the first one
 * interval_s after start). 0 or -errno. stop joins it. */
int rec_retain_start(const char *root, const struct rec_retain_policy *p, unsigned interval_s,
		     void (*log)(const char *msg));
void rec_retain_stop(void);

#endif
