/* SPDX-License-Identifier: MIT
 * ctl_config: mediusd's configuration. An INI file (libinih) sets keys under
 * [general], [eal] and [control]; command-line overrides set the same keys
 * afterwards. Every key, its default and its range is in one table in
 * ctl_config.c and documented in docs/config.md.
 */
#ifndef CTL_CONFIG_H
#define CTL_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "ctl_http.h"
#include "ctl_alert.h"
#include "dp.h"

struct ctl_config {
	/* [general] */
	enum dp_log_level log_level;
	enum dp_log_target log_target;
	char log_facility[16];
	uint32_t log_burst;       /* messages per call site per interval; 0: no limit */
	uint32_t log_interval_ms;
	/* [eal] */
	struct dp_eal_conf eal;
	/* [media] and [interface NAME] sections */
	struct dp_media_conf media;
	bool ifaces_explicit;     /* an [interface] section replaced the default */
	/* [control] */
	char listen_ng[80];       /* UDP ng socket, "addr:port" */
	char listen_ng_tcp[80];   /* TCP ng socket; empty: off */
	uint32_t cookie_cache_s;  /* how long a reply is kept for retransmissions */
	uint32_t cookie_cache_size;
	uint32_t tcp_max_clients;
	uint32_t tcp_max_per_source;  /* connections from one IP address */
	uint32_t tcp_idle_timeout_s;  /* a connection with nothing to do this long closes; 0: never */
	uint32_t tcp_request_timeout_s; /* a request begun must be whole within this */
	uint32_t tcp_send_timeout_s;  /* replies pending with none taken this long: closed */
	uint32_t tcp_max_pending;     /* reply bytes queued per connection before reading pauses */
	uint32_t max_request;     /* largest request accepted, bytes */
	uint32_t call_idle_timeout_s; /* a call with no media this long ends; 0: never */
	/* [control] security (ctl_guard.h, docs/operations.md) */
	char auth[16];            /* off, optional, required */
	char auth_keys[256];      /* secrets file: "client base64secret" lines */
	uint32_t auth_window_s;   /* a signed request's timestamp within this of now */
	uint32_t auth_replay_slots; /* replay cache entries */
	char allow[192];          /* source allow-list (ctl_acl); empty: any */
	uint32_t max_calls, max_calls_per_source; /* 0: no limit */
	uint32_t max_ng_rps, max_ng_rps_per_source;
	uint32_t max_memory_mb;   /* resident memory at which new calls are refused; 0: no budget */
	uint32_t jb_min_ms, jb_max_ms; /* [media] jitter_buffer_min_ms / _max_ms (mx_conf) */
	uint32_t opus_complexity; /* [media] opus_complexity: Opus encoders' default (cdc_opus_set_default_complexity) */
	char tap_dir[256];        /* [media] tap_dir: where ng taps write; empty: taps off */
	char play_dir[256];       /* [media] play_dir: the files ng play media may read; empty: none */
	struct {                  /* [recording] (docs/config.md) */
		char dir[256];    /* the root recordings go under; empty: recording is off */
		char format[16];  /* wav, mono, opus */
		char pattern[256]; /* file name pattern (docs/recording.md) */
		uint32_t rate, fsync_ms, pcap;
		char key_file[256]; /* the KEK: every recording file is sealed; empty: plain files */
		char key_id[32];  /* the KEK's id in the files' headers; empty: derived from the key */
		char audit_log[256]; /* the audit log; empty: DIR/audit.log */
		char notify_url[512]; /* POST a JSON notification when a recording is finalised; "": off */
		uint32_t notify_attempts, notify_timeout_ms;
	} rec;
	struct {                  /* [retention] (docs/config.md, docs/recording.md) */
		uint32_t default_days;     /* 0: kept forever */
		char tags[1024];           /* "TAG=DAYS,..." (tags = and tag.NAME = keys) */
		uint32_t sweep_interval_s; /* the periodic sweep; 0: only on demand */
		uint32_t allow_now;        /* honour ng "now" (tests) */
	} retention;
	struct ctl_http_conf http; /* [http]: metrics and the status page (ctl_http.h) */
	struct ctl_alert_conf alerts; /* [alerts] (ctl_alert.h, parsed by ctl_alert.c) */
	struct {                  /* [homer]: HEPv3 export (ctl_hep.h, docs/operations.md) */
		char address[80]; /* the collector, "addr:port"; empty: off */
		char protocol[8]; /* udp or tcp */
		uint32_t capture_id;
		uint32_t quality_interval_s; /* a stream's quality report this often; 0: only RTCP */
	} homer;
};

/* Fill c with the built-in defaults. */
void ctl_config_defaults(struct ctl_config *c);
/* Set one key from its text value. Returns 0, or -ENOENT for an unknown
 * section or key, -EINVAL for a bad value; err then holds the reason and c
 * is unchanged. */
int ctl_config_set(struct ctl_config *c, const char *section, const char *key, const char *value,
		   char *err, size_t errlen);
/* Apply "section.key=value" (a command-line override). Returns as
 * ctl_config_set, -EINVAL for an assignment of the wrong shape. */
int ctl_config_override(struct ctl_config *c, const char *assignment, char *err, size_t errlen);
/* Parse an INI file / string into c. Returns 0; -ENOENT (file missing or
 * unreadable) or -EINVAL, with err holding "where:line: reason". On error c
 * may hold keys set before the bad line: callers exit on error. */
int ctl_config_load(struct ctl_config *c, const char *path, char *err, size_t errlen);
int ctl_config_load_string(struct ctl_config *c, const char *text, char *err, size_t errlen);
/* Checks across keys, once everything is set (a port range that holds at
 * least one RTP/RTCP pair). Returns 0 or -EINVAL with err set. */
int ctl_config_check(const struct ctl_config *c, char *err, size_t errlen);
/* Write the effective configuration as INI text (every key). */
void ctl_config_dump(const struct ctl_config *c, FILE *out);
/* --check-config: parse path into c (defaults set by the caller) and write
 * every bad line to report as "path:line: reason", going on past each.
 * Returns the number of errors written (0: the file parsed). Cross-key
 * checks are the caller's (ctl_config_check). */
int ctl_config_check_file(struct ctl_config *c, const char *path, FILE *report);

/* The key table, for reload, documentation checks and tools. */
struct ctl_config_key {
	const char *section, *name;
	bool live; /* a reload applies it (docs/config.md: "live"); else it needs a restart */
};
size_t ctl_config_key_count(void);
/* Key i (0..count-1). Returns 0, or -ENOENT past the end. */
int ctl_config_key_info(size_t i, struct ctl_config_key *out);
/* Key i's value in c as the file would spell it. */
void ctl_config_key_value(const struct ctl_config *c, size_t i, char *buf, size_t len);
/* Copy key i's field from src to dst. */
void ctl_config_key_copy(struct ctl_config *dst, const struct ctl_config *src, size_t i);
/* The [interface] sections of a and b are the same. */
bool ctl_config_ifaces_equal(const struct ctl_config *a, const struct ctl_config *b);

/* Live reload (SIGHUP; ctl_reload.c). A reload builds a whole new
 * configuration the way start-up did (defaults, the file, then the
 * command line's overrides, then ctl_config_check); if that fails nothing
 * changes and the reason is returned. Else every live key that changed is
 * copied into the running configuration (logged, notice), every other key
 * that changed keeps its old value (logged, warning: restart to apply),
 * and then each registered applier runs with the running configuration
 * and a copy of it from before, on the control lcore. */
typedef void (*ctl_config_applier)(const struct ctl_config *now, const struct ctl_config *before, void *ctx);
/* Register fn (at most 16). Returns 0 or -ENOSPC. */
int ctl_config_on_reload(ctl_config_applier fn, void *ctx);
/* Forget every applier (tests, shutdown). */
void ctl_config_appliers_clear(void);
/* Reload cur from path (NULL: defaults only) and the n overrides
 * ("section.key=value"). Returns the number of live keys applied (>= 0),
 * or -EINVAL / -ENOENT with err set and cur unchanged. *kept (when not
 * NULL) is the number of changed keys that need a restart. */
int ctl_config_reload(struct ctl_config *cur, const char *path, char *const *overrides, int n, unsigned *kept,
		      char *err, size_t errlen);

#endif
