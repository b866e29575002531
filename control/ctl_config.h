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
	uint32_t jb_min_ms, jb_max_ms; /* [media] jitter_buffer_min_ms / _max_ms (mx_conf) */
	uint32_t opus_complexity; /* [media] opus_complexity: Opus encoders' default (cdc_opus_set_default_complexity) */
	char tap_dir[256];        /* [media] tap_dir: where ng taps write; empty: taps off */
	char play_dir[256];       /* [media] play_dir: the files ng play media may read; empty: none */
	struct {                  /* [recording] (docs/config.md) */
		char dir[256];    /* the root recordings go under; empty: recording is off */
		char format[16];  /* wav, mono, opus */
		char pattern[256]; /* file name pattern (docs/recording.md) */
		uint32_t rate, fsync_ms, pcap;
	} rec;
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

#endif
