/* SPDX-License-Identifier: MIT
 * ctl_config: table-driven INI configuration (see ctl_config.h). */
#include "ctl_config.h"
#include "mx.h"

#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl_acl.h"
#include "ctl_ini.h"
#include "ctl_addr.h"
#include "rec_audit.h"

enum key_type { K_U32, K_STR, K_ADDR, K_LEVEL, K_TARGET, K_HUGE };

struct key {
	const char *section, *name;
	enum key_type type;
	size_t off, size;   /* field offset; size for strings */
	uint32_t min, max;  /* for K_U32 */
	bool allow_empty;   /* for K_ADDR: empty turns the listener off */
};

#define F(field) offsetof(struct ctl_config, field), sizeof(((struct ctl_config *)0)->field)

static const struct key keys[] = {
	{ "general", "log_level", K_LEVEL, F(log_level), 0, 0, false },
	{ "general", "log_target", K_TARGET, F(log_target), 0, 0, false },
	{ "general", "log_facility", K_STR, F(log_facility), 0, 0, false },
	{ "general", "log_rate_burst", K_U32, F(log_burst), 0, 1000000, false },
	{ "general", "log_rate_interval_ms", K_U32, F(log_interval_ms), 1, 3600000, false },
	{ "eal", "lcores", K_STR, F(eal.lcores), 0, 0, false },
	{ "eal", "memory_mb", K_U32, F(eal.memory_mb), 64, 1048576, false },
	{ "eal", "hugepages", K_HUGE, F(eal.hugepages), 0, 0, false },
	{ "eal", "pci_devices", K_STR, F(eal.pci_devices), 0, 0, false },
	{ "eal", "extra_args", K_STR, F(eal.extra_args), 0, 0, false },
	{ "control", "listen_ng", K_ADDR, F(listen_ng), 0, 0, false },
	{ "control", "listen_ng_tcp", K_ADDR, F(listen_ng_tcp), 0, 0, true },
	{ "control", "cookie_cache_seconds", K_U32, F(cookie_cache_s), 0, 3600, false },
	{ "control", "cookie_cache_size", K_U32, F(cookie_cache_size), 16, 1048576, false },
	{ "control", "tcp_max_clients", K_U32, F(tcp_max_clients), 1, 4096, false },
	{ "control", "max_request_bytes", K_U32, F(max_request), 1024, 16777216, false },
	{ "control", "tcp_max_clients_per_source", K_U32, F(tcp_max_per_source), 1, 4096, false },
	{ "control", "tcp_idle_timeout_seconds", K_U32, F(tcp_idle_timeout_s), 0, 86400, false },
	{ "control", "tcp_request_timeout_seconds", K_U32, F(tcp_request_timeout_s), 1, 3600, false },
	{ "control", "tcp_send_timeout_seconds", K_U32, F(tcp_send_timeout_s), 1, 3600, false },
	{ "control", "tcp_max_pending_bytes", K_U32, F(tcp_max_pending), 65536, 268435456, false },
	{ "control", "call_idle_timeout_seconds", K_U32, F(call_idle_timeout_s), 0, 86400, false },
	{ "control", "auth", K_STR, F(auth), 0, 0, false },
	{ "control", "auth_keys", K_STR, F(auth_keys), 0, 0, true },
	{ "control", "auth_window_seconds", K_U32, F(auth_window_s), 1, 3600, false },
	{ "control", "auth_replay_cache_size", K_U32, F(auth_replay_slots), 1024, 16777216, false },
	{ "control", "allow", K_STR, F(allow), 0, 0, true },
	{ "control", "max_calls", K_U32, F(max_calls), 0, 10000000, false },
	{ "control", "max_calls_per_source", K_U32, F(max_calls_per_source), 0, 10000000, false },
	{ "control", "max_ng_rps", K_U32, F(max_ng_rps), 0, 10000000, false },
	{ "control", "max_ng_rps_per_source", K_U32, F(max_ng_rps_per_source), 0, 10000000, false },
	{ "control", "max_memory_mb", K_U32, F(max_memory_mb), 0, 16777216, false },
	{ "media", "relatch_ms", K_U32, F(media.relatch_ms), 0, 3600000, false },
	{ "media", "mbufs_per_worker", K_U32, F(media.mbufs), 1023, 4194303, false },
	{ "media", "rtcp_interval_ms", K_U32, F(media.rtcp_interval_ms), 500, 60000, false },
	{ "media", "transcode_workers", K_U32, F(media.transcode_workers), 0, 128, false },
	{ "media", "clock_ms", K_U32, F(media.clock_ms), 10, 20, false },
	{ "media", "tick_slice_us", K_U32, F(media.tick_slice_us), 0, 20000, false },
	{ "media", "srtp_engine", K_STR, F(media.srtp_engine), 0, 0, false },
	{ "media", "kernel_io", K_STR, F(media.kernel_io), 0, 0, false },
	{ "media", "busy_poll_us", K_U32, F(media.busy_poll_us), 0, 1000, false },
	{ "media", "jitter_buffer_min_ms", K_U32, F(jb_min_ms), 0, 1000, false },
	{ "media", "jitter_buffer_max_ms", K_U32, F(jb_max_ms), 0, 1000, false },
	{ "media", "tap_dir", K_STR, F(tap_dir), 0, 0, true },
	{ "media", "play_dir", K_STR, F(play_dir), 0, 0, true },
	{ "media", "opus_complexity", K_U32, F(opus_complexity), 0, 10, false },
	{ "recording", "dir", K_STR, F(rec.dir), 0, 0, true },
	{ "recording", "format", K_STR, F(rec.format), 0, 0, false },
	{ "recording", "pattern", K_STR, F(rec.pattern), 0, 0, false },
	{ "recording", "rate", K_U32, F(rec.rate), 8000, 48000, false },
	{ "recording", "fsync_ms", K_U32, F(rec.fsync_ms), 50, 1000, false },
	{ "recording", "pcap", K_U32, F(rec.pcap), 0, 1, false },
	{ "recording", "key_file", K_STR, F(rec.key_file), 0, 0, true },
	{ "recording", "key_id", K_STR, F(rec.key_id), 0, 0, true },
	{ "recording", "audit_log", K_STR, F(rec.audit_log), 0, 0, true },
	{ "recording", "notify_url", K_STR, F(rec.notify_url), 0, 0, true },
	{ "recording", "notify_attempts", K_U32, F(rec.notify_attempts), 1, 100, false },
	{ "recording", "notify_timeout_ms", K_U32, F(rec.notify_timeout_ms), 100, 60000, false },
	{ "retention", "default_days", K_U32, F(retention.default_days), 0, 365000, false },
	{ "retention", "tags", K_STR, F(retention.tags), 0, 0, true },
	{ "retention", "sweep_interval_s", K_U32, F(retention.sweep_interval_s), 0, 604800, false },
	{ "retention", "allow_now", K_U32, F(retention.allow_now), 0, 1, false },
	{ "http", "listen", K_ADDR, F(http.listen), 0, 0, true },
	{ "http", "max_connections", K_U32, F(http.max_connections), 1, 65536, false },
	{ "http", "max_connections_per_ip", K_U32, F(http.max_per_ip), 1, 65536, false },
	{ "http", "timeout_seconds", K_U32, F(http.timeout_s), 1, 3600, false },
	{ "http", "max_request_bytes", K_U32, F(http.max_request), 4096, 1048576, false },
	{ "http", "threads", K_U32, F(http.threads), 1, 16, false },
	{ "http", "tls_cert", K_STR, F(http.tls_cert), 0, 0, false },
	{ "http", "tls_key", K_STR, F(http.tls_key), 0, 0, false },
	{ "homer", "address", K_ADDR, F(homer.address), 0, 0, true },
	{ "homer", "protocol", K_STR, F(homer.protocol), 0, 0, false },
	{ "homer", "capture_id", K_U32, F(homer.capture_id), 0, UINT32_MAX, false },
	{ "homer", "quality_interval_seconds", K_U32, F(homer.quality_interval_s), 0, 3600, false },
};

/* The keys a reload (SIGHUP) may change while mediusd runs ("live" in
 * docs/config.md and medius.conf(5)); every other key keeps its value
 * until a restart. A module that makes a key live adds it here and
 * registers an applier (ctl_config_on_reload) that puts it to work. */
static const char *const live_keys[] = {
	"general.log_level",
	"general.log_rate_burst",
	"general.log_rate_interval_ms",
	"control.tcp_max_clients",
	"control.tcp_max_clients_per_source",
	"control.tcp_idle_timeout_seconds",
	"control.tcp_request_timeout_seconds",
	"control.tcp_send_timeout_seconds",
	"control.tcp_max_pending_bytes",
	"control.call_idle_timeout_seconds",
	"control.max_memory_mb",
	"media.jitter_buffer_min_ms",
	"media.jitter_buffer_max_ms",
	"media.tap_dir",
	"media.play_dir",
	"media.opus_complexity",
	"recording.format",
	"recording.pattern",
	"recording.rate",
	"recording.fsync_ms",
	"recording.pcap",
	"homer.address",
	"homer.protocol",
	"homer.capture_id",
	"homer.quality_interval_seconds",
};

static bool key_live(const struct key *k)
{
	char name[96];

	snprintf(name, sizeof(name), "%s.%s", k->section, k->name);
	for (size_t i = 0; i < sizeof(live_keys) / sizeof(live_keys[0]); i++)
		if (!strcmp(live_keys[i], name))
			return true;
	return false;
}

void ctl_config_defaults(struct ctl_config *c)
{
	memset(c, 0, sizeof(*c));
	c->log_level = DP_LOG_INFO;
	c->log_target = DP_LOG_STDERR;
	strcpy(c->log_facility, "daemon");
	c->log_burst = 10;
	c->log_interval_ms = 5000;
	c->eal.memory_mb = 256;
	c->eal.hugepages = DP_HUGE_AUTO;
	strcpy(c->listen_ng, "127.0.0.1:2223");
	c->cookie_cache_s = 30;
	c->cookie_cache_size = 4096;
	c->tcp_max_clients = 64;
	c->tcp_max_per_source = 16;
	c->tcp_idle_timeout_s = 120;
	c->tcp_request_timeout_s = 5;
	c->tcp_send_timeout_s = 10;
	c->tcp_max_pending = 4194304;
	c->max_request = 1048576;
	c->call_idle_timeout_s = 60;
	strcpy(c->auth, "off");
	c->auth_window_s = 30;
	c->auth_replay_slots = 131072;
	c->jb_min_ms = MX_JB_MIN_MS_DEFAULT;
	c->jb_max_ms = MX_JB_MAX_MS_DEFAULT;
	c->opus_complexity = CDC_OPUS_DEFAULT_COMPLEXITY;
	dp_media_conf_defaults(&c->media);
	strcpy(c->rec.format, "wav");
	strcpy(c->rec.pattern, "%c-%r");
	c->rec.rate = 16000;
	c->rec.fsync_ms = 500;
	c->retention.sweep_interval_s = 3600;
	c->http.max_connections = 256; /* [http] listen stays "": no listener */
	c->http.max_per_ip = 32;
	c->http.timeout_s = 10;
	c->http.max_request = 16384;
	c->http.threads = 1;
	c->rec.notify_attempts = 10;
	c->rec.notify_timeout_ms = 5000;
	ctl_alert_conf_defaults(&c->alerts);
	strcpy(c->homer.protocol, "udp");
	c->homer.capture_id = 1;
	c->homer.quality_interval_s = 10;
}

/* An address alone, as "addr:0" (IPv6 in brackets) for ctl_addr_parse. */
static void addr_probe(const char *v, char *probe, size_t len)
{
	bool v6 = strchr(v, ':') != NULL;

	snprintf(probe, len, "%s%s%s:0", v6 ? "[" : "", v ? v : "", v6 ? "]" : "");
}

/* [interface NAME]: address, advertise, port_min, port_max, type, device,
 * prefix_len, gateway, nat_learning. The first such
 * section replaces the built-in "default" interface. */
static int set_iface(struct ctl_config *c, const char *name, const char *key, const char *v,
		     char *err, size_t errlen)
{
	struct dp_iface_conf *f = NULL;
	struct sockaddr_storage ss;
	socklen_t sl;
	char probe[80];
	unsigned long n;
	char *end;

	if (!*name || strlen(name) >= sizeof(f->name) || strspn(name, "abcdefghijklmnopqrstuvwxyz"
					"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(name)) {
		snprintf(err, errlen, "interface name '%s': use 1-31 letters, digits, '-' or '_'", name);
		return -EINVAL;
	}
	if (!c->ifaces_explicit) {
		c->media.n_ifaces = 0;
		c->ifaces_explicit = true;
	}
	for (unsigned i = 0; i < c->media.n_ifaces; i++)
		if (!strcmp(c->media.ifaces[i].name, name))
			f = &c->media.ifaces[i];
	if (!f) {
		if (c->media.n_ifaces == DP_MAX_IFACES) {
			snprintf(err, errlen, "more than %d interfaces", DP_MAX_IFACES);
			return -EINVAL;
		}
		f = &c->media.ifaces[c->media.n_ifaces++];
		memset(f, 0, sizeof(*f));
		strcpy(f->name, name);
		strcpy(f->address, "127.0.0.1");
		f->port_min = 30000;
		f->port_max = 39999;
	}
	if (!strcasecmp(key, "address") || !strcasecmp(key, "advertise")) {
		addr_probe(v, probe, sizeof(probe));
		if (strlen(v) >= sizeof(f->address) || (*v && ctl_addr_parse(probe, NULL, &ss, &sl)) ||
		    (!*v && !strcasecmp(key, "address"))) {
			snprintf(err, errlen, "interface %s: %s '%s' is not an IPv4 or IPv6 address", name, key, v);
			return -EINVAL;
		}
		strcpy(!strcasecmp(key, "address") ? f->address : f->advertise, v);
		return 0;
	}
	if (!strcasecmp(key, "port_min") || !strcasecmp(key, "port_max")) {
		n = strtoul(v, &end, 10);
		if (!*v || *end || strspn(v, "0123456789") != strlen(v) || n < 1024 || n > 65535) {
			snprintf(err, errlen, "interface %s: %s '%s' is not a port from 1024 to 65535", name, key, v);
			return -EINVAL;
		}
		*(!strcasecmp(key, "port_min") ? &f->port_min : &f->port_max) = (uint16_t)n;
		return 0;
	}
	if (!strcasecmp(key, "type")) { /* udp (kernel sockets) or ethdev (a DPDK port) */
		if (strcasecmp(v, "udp") && strcasecmp(v, "ethdev")) {
			snprintf(err, errlen, "interface %s: type '%s' is not udp or ethdev", name, v);
			return -EINVAL;
		}
		f->type = strcasecmp(v, "udp") ? DP_IFACE_ETHDEV : DP_IFACE_UDP;
		return 0;
	}
	if (!strcasecmp(key, "device")) { /* ethdev: EAL device name or vdev arguments */
		if (!*v || strlen(v) >= sizeof(f->device)) {
			snprintf(err, errlen, "interface %s: device '%s' is empty or longer than %zu characters", name,
				 v, sizeof(f->device) - 1);
			return -EINVAL;
		}
		strcpy(f->device, v);
		return 0;
	}
	if (!strcasecmp(key, "gateway")) { /* ethdev: next hop for off-link destinations */
		addr_probe(v, probe, sizeof(probe));
		if (strlen(v) >= sizeof(f->gateway) || (*v && ctl_addr_parse(probe, NULL, &ss, &sl))) {
			snprintf(err, errlen, "interface %s: gateway '%s' is not an IPv4 or IPv6 address", name, v);
			return -EINVAL;
		}
		strcpy(f->gateway, v);
		return 0;
	}
	if (!strcasecmp(key, "prefix_len")) { /* ethdev: on-link prefix of address; 0: all on-link */
		n = strtoul(v, &end, 10);
		if (!*v || *end || strspn(v, "0123456789") != strlen(v) || n > 128) {
			snprintf(err, errlen, "interface %s: prefix_len '%s' is not 0 to 128", name, v);
			return -EINVAL;
		}
		f->prefix_len = (uint8_t)n;
		return 0;
	}
	if (!strcasecmp(key, "nat_learning")) { /* any source may latch (continuity rules still apply) */
		bool yes = !strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1");

		if (!yes && strcasecmp(v, "no") && strcasecmp(v, "false") && strcmp(v, "0")) {
			snprintf(err, errlen, "interface %s: nat_learning '%s' is not yes or no", name, v);
			return -EINVAL;
		}
		f->nat_learning = yes;
		return 0;
	}
	snprintf(err, errlen, "unknown key '%s' in section [interface %s] (known: address, advertise, port_min, "
		 "port_max, type, device, prefix_len, gateway, nat_learning)", key, name);
	return -ENOENT;
}

int ctl_config_check(const struct ctl_config *c, char *err, size_t errlen)
{
	struct ctl_acl acl;
	char why[200];

	if (strcmp(c->auth, "off") && strcmp(c->auth, "optional") && strcmp(c->auth, "required")) {
		snprintf(err, errlen, "control.auth: '%s' is not off, optional or required", c->auth);
		return -EINVAL;
	}
	if (strcmp(c->auth, "off") && !c->auth_keys[0]) {
		snprintf(err, errlen, "control.auth = %s needs control.auth_keys (a secrets file)", c->auth);
		return -EINVAL;
	}
	if (c->auth_keys[0] && c->auth_keys[0] != '/') {
		snprintf(err, errlen, "control.auth_keys: '%s' is not an absolute path", c->auth_keys);
		return -EINVAL;
	}
	if (ctl_acl_parse(&acl, c->allow, why, sizeof(why))) {
		snprintf(err, errlen, "control.allow: %s", why);
		return -EINVAL;
	}
	if (!c->http.tls_cert[0] != !c->http.tls_key[0]) {
		snprintf(err, errlen, "http: tls_cert and tls_key go together (both set: HTTPS; both empty: HTTP)");
		return -EINVAL;
	}
	if ((c->http.tls_cert[0] && c->http.tls_cert[0] != '/') || (c->http.tls_key[0] && c->http.tls_key[0] != '/')) {
		snprintf(err, errlen, "http.tls_cert/tls_key: '%s' is not an absolute path",
			 c->http.tls_cert[0] != '/' ? c->http.tls_cert : c->http.tls_key);
		return -EINVAL;
	}
	if (c->tap_dir[0] && c->tap_dir[0] != '/') {
		snprintf(err, errlen, "media.tap_dir: '%s' is not an absolute path", c->tap_dir);
		return -EINVAL;
	}
	if (c->rec.dir[0] && c->rec.dir[0] != '/') {
		snprintf(err, errlen, "recording.dir: '%s' is not an absolute path", c->rec.dir);
		return -EINVAL;
	}
	if (strcmp(c->rec.format, "wav") && strcmp(c->rec.format, "mono") && strcmp(c->rec.format, "opus")) {
		snprintf(err, errlen, "recording.format: '%s' is not wav, mono or opus", c->rec.format);
		return -EINVAL;
	}
	if (c->rec.key_file[0] && c->rec.key_file[0] != '/') {
		snprintf(err, errlen, "recording.key_file: '%s' is not an absolute path", c->rec.key_file);
		return -EINVAL;
	}
	if (c->rec.rate != 8000 && c->rec.rate != 16000 && c->rec.rate != 48000) {
		snprintf(err, errlen, "recording.rate: %u is not 8000, 16000 or 48000", c->rec.rate);
		return -EINVAL;
	}
	if (c->rec.audit_log[0] && c->rec.audit_log[0] != '/') {
		snprintf(err, errlen, "recording.audit_log: '%s' is not an absolute path", c->rec.audit_log);
		return -EINVAL;
	}
	{
		struct rec_retain_policy p = { 0 };

		if (rec_retain_parse_tags(c->retention.tags, &p)) {
			snprintf(err, errlen, "retention.tags: '%s' is not TAG=DAYS,TAG=DAYS,...", c->retention.tags);
			return -EINVAL;
		}
	}
	if (c->rec.notify_url[0] && strncmp(c->rec.notify_url, "http://", 7) &&
	    strncmp(c->rec.notify_url, "https://", 8)) {
		snprintf(err, errlen, "recording.notify_url: '%s' is not an http:// or https:// URL", c->rec.notify_url);
		return -EINVAL;
	}
	if (ctl_alert_conf_check(&c->alerts, err, errlen))
		return -EINVAL;
	if (strcmp(c->homer.protocol, "udp") && strcmp(c->homer.protocol, "tcp")) {
		snprintf(err, errlen, "homer.protocol: '%s' is not udp or tcp", c->homer.protocol);
		return -EINVAL;
	}
	if (c->play_dir[0] && c->play_dir[0] != '/') {
		snprintf(err, errlen, "media.play_dir: '%s' is not an absolute path", c->play_dir);
		return -EINVAL;
	}
	if (c->jb_min_ms > c->jb_max_ms) {
		snprintf(err, errlen, "media.jitter_buffer_min_ms (%u) is above media.jitter_buffer_max_ms (%u)",
			 c->jb_min_ms, c->jb_max_ms);
		return -EINVAL;
	}
	if (strcmp(c->media.srtp_engine, "auto") && strcmp(c->media.srtp_engine, "ipsec-mb") &&
	    strcmp(c->media.srtp_engine, "openssl") && strcmp(c->media.srtp_engine, "libsrtp")) {
		snprintf(err, errlen, "media.srtp_engine: '%s' is not auto, ipsec-mb, openssl or libsrtp",
			 c->media.srtp_engine);
		return -EINVAL;
	}
	{
		int kio;

		if (dp_kernel_io_parse(c->media.kernel_io, &kio)) {
			snprintf(err, errlen, "media.kernel_io: '%s' is not auto, uring or epoll", c->media.kernel_io);
			return -EINVAL;
		}
	}
	if (c->media.clock_ms != 10 && c->media.clock_ms != 20) {
		snprintf(err, errlen, "media.clock_ms: %u is not 10 or 20", c->media.clock_ms);
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->media.n_ifaces; i++) {
		const struct dp_iface_conf *f = &c->media.ifaces[i];

		if (f->type == DP_IFACE_ETHDEV && !f->device[0]) {
			snprintf(err, errlen, "interface %s: type ethdev needs a device", f->name);
			return -EINVAL;
		}
		if (f->port_max < f->port_min + 3) {
			snprintf(err, errlen, "interface %s: port range %u-%u holds no RTP/RTCP pair", f->name,
				 f->port_min, f->port_max);
			return -EINVAL;
		}
	}
	return 0;
}

static const struct key *find_key(const char *section, const char *name, bool *section_known)
{
	*section_known = false;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcasecmp(keys[i].section, section) != 0)
			continue;
		*section_known = true;
		if (strcasecmp(keys[i].name, name) == 0)
			return &keys[i];
	}
	return NULL;
}

static int set_value(struct ctl_config *c, const struct key *k, const char *v, char *err,
		     size_t errlen)
{
	void *field = (char *)c + k->off;
	struct sockaddr_storage ss;
	socklen_t sl;
	char *end;
	unsigned long long n;
	enum dp_log_level lvl;

	switch (k->type) {
	case K_U32:
		errno = 0;
		n = strtoull(v, &end, 10);
		if (!*v || strspn(v, "0123456789") != strlen(v) || *end || errno || n < k->min ||
		    n > k->max) {
			snprintf(err, errlen, "%s.%s: '%s' is not a whole number from %" PRIu32 " to %" PRIu32,
				 k->section, k->name, v, k->min, k->max);
			return -EINVAL;
		}
		*(uint32_t *)field = (uint32_t)n;
		return 0;
	case K_STR:
		if (strlen(v) >= k->size) {
			snprintf(err, errlen, "%s.%s: value longer than %zu characters", k->section,
				 k->name, k->size - 1);
			return -EINVAL;
		}
		strcpy(field, v);
		return 0;
	case K_ADDR:
		if (!(k->allow_empty && !*v) &&
		    (strlen(v) >= k->size || ctl_addr_parse(v, "127.0.0.1", &ss, &sl))) {
			snprintf(err, errlen,
				 "%s.%s: '%s' is not an address:port (e.g. 127.0.0.1:2223 or [::1]:2223)%s",
				 k->section, k->name, v, k->allow_empty ? ", or empty for off" : "");
			return -EINVAL;
		}
		strcpy(field, v);
		return 0;
	case K_LEVEL:
		if (dp_log_level_parse(v, &lvl)) {
			snprintf(err, errlen, "%s.%s: '%s' is not one of error, warning, notice, info, debug",
				 k->section, k->name, v);
			return -EINVAL;
		}
		*(enum dp_log_level *)field = lvl;
		return 0;
	case K_TARGET:
		if (strcasecmp(v, "stderr") && strcasecmp(v, "syslog")) {
			snprintf(err, errlen, "%s.%s: '%s' is not stderr or syslog", k->section, k->name, v);
			return -EINVAL;
		}
		*(enum dp_log_target *)field = strcasecmp(v, "syslog") ? DP_LOG_STDERR : DP_LOG_SYSLOG;
		return 0;
	case K_HUGE:
		if (strcasecmp(v, "auto") && strcasecmp(v, "yes") && strcasecmp(v, "no")) {
			snprintf(err, errlen, "%s.%s: '%s' is not auto, yes or no", k->section, k->name, v);
			return -EINVAL;
		}
		*(enum dp_hugepages *)field = !strcasecmp(v, "yes")  ? DP_HUGE_YES
					      : !strcasecmp(v, "no") ? DP_HUGE_NO
								     : DP_HUGE_AUTO;
		return 0;
	}
	return -EINVAL;
}

int ctl_config_set(struct ctl_config *c, const char *section, const char *key, const char *value,
		   char *err, size_t errlen)
{
	bool section_known;
	const struct key *k;

	if (!strncasecmp(section, "interface", 9) && (section[9] == ' ' || section[9] == '.'))
		return set_iface(c, section + 10, key, value, err, errlen);
	if (!strcasecmp(section, "retention") && !strncasecmp(key, "tag.", 4)) { /* tag.NAME = DAYS, into tags */
		struct rec_retain_policy p = { 0 };
		char one[128];
		size_t n = strlen(c->retention.tags);

		snprintf(one, sizeof(one), "%s=%s", key + 4, value);
		if (rec_retain_parse_tags(one, &p) || n + strlen(one) + 2 > sizeof(c->retention.tags)) {
			snprintf(err, errlen, "retention.%s: '%s' is not a number of days (or too many tags)", key, value);
			return -EINVAL;
		}
		snprintf(c->retention.tags + n, sizeof(c->retention.tags) - n, "%s%s", n ? "," : "", one);
		return 0;
	}
	if (!strcasecmp(section, "alerts")) /* its own table (ctl_alert.c) */
		return ctl_alert_conf_set(&c->alerts, key, value, err, errlen);
	k = find_key(section, key, &section_known);
	if (!k) {
		if (section_known)
			snprintf(err, errlen, "unknown key '%s' in section [%s]", key, section);
		else
			snprintf(err, errlen, "unknown section [%s] (known: general, eal, control, media, recording, retention, http, alerts, homer, interface NAME)",
				 section);
		return -ENOENT;
	}
	return set_value(c, k, value, err, errlen);
}

int ctl_config_override(struct ctl_config *c, const char *assignment, char *err, size_t errlen)
{
	char section[80], key[64], value[256];
	const char *dot = strchr(assignment, '.'), *v;
	size_t n;
	const char *eq = strchr(assignment, '=');

	if (!dot || !eq || dot > eq || dot == assignment || eq == dot + 1 ||
	    (size_t)(dot - assignment) >= sizeof(section) || (size_t)(eq - dot - 1) >= sizeof(key)) {
		snprintf(err, errlen, "'%s' is not of the form section.key=value", assignment);
		return -EINVAL;
	}
	memcpy(section, assignment, (size_t)(dot - assignment));
	section[dot - assignment] = '\0';
	memcpy(key, dot + 1, (size_t)(eq - dot - 1));
	key[eq - dot - 1] = '\0';
	if (!strcasecmp(section, "interface") && strchr(key, '.')) {
		/* interface.NAME.key=value */
		char *kdot = strrchr(key, '.');

		*kdot = '\0';
		snprintf(section, sizeof(section), "interface %s", key);
		memmove(key, kdot + 1, strlen(kdot + 1) + 1);
	}
	/* trim the value as inih trims a file's */
	v = eq + 1 + strspn(eq + 1, " \t");
	n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= sizeof(value)) {
		snprintf(err, errlen, "%s.%s: value too long", section, key);
		return -EINVAL;
	}
	memcpy(value, v, n);
	value[n] = '\0';
	return ctl_config_set(c, section, key, value, err, errlen);
}

#define LINE_MAX_CHARS CTL_INI_LINE_MAX /* see ctl_ini.h */

struct load_ctx {
	struct ctl_config *c;
	char *err;
	size_t errlen;
	int rc;
	int line, err_line; /* physical line being parsed; line of our first error */
	FILE *f;            /* the source: a file, or text at pos */
	const char *text;
	size_t pos;
	FILE *report;       /* --check-config: every bad line is written here, parsing goes on */
	const char *where;
	int n_reported, last_reported;
};

static void ctx_error(struct load_ctx *ctx)
{
	if (ctx->report) { /* say it, forget it, go on with the next line */
		fprintf(ctx->report, "%s:%d: %s\n", ctx->where, ctx->line, ctx->err);
		ctx->n_reported++;
		ctx->last_reported = ctx->line;
		return;
	}
	ctx->rc = -EINVAL;
	ctx->err_line = ctx->line;
}

static int config_line(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;

	if (ctx->rc)
		return 0;
	if (!name) /* a section header on its own (inih built with INI_CALL_HANDLER_ON_NEW_SECTION) */
		return 1;
	if (!*section) {
		snprintf(ctx->err, ctx->errlen, "key '%s' outside any [section]", name);
		ctx_error(ctx);
		return ctx->report ? 1 : 0; /* reporting: inih's own error line is then a syntax error */
	}
	if (!value) {
		snprintf(ctx->err, ctx->errlen, "key '%s' has no value", name);
		ctx_error(ctx);
		return ctx->report ? 1 : 0; /* reporting: inih's own error line is then a syntax error */
	}
	if (ctl_config_set(ctx->c, section, name, value, ctx->err, ctx->errlen)) {
		ctx_error(ctx);
		return ctx->report ? 1 : 0; /* reporting: inih's own error line is then a syntax error */
	}
	return 1;
}

/* inih's reader: one physical line per call, so inih's line numbers and
 * ours agree; an over-long line is an error, not two half-lines. */
static char *read_line(char *str, int num, void *stream)
{
	struct load_ctx *ctx = stream;
	size_t n = 0;
	bool any = false;
	int c;

	for (;;) {
		if (ctx->f)
			c = fgetc(ctx->f);
		else
			c = ctx->text[ctx->pos] ? (unsigned char)ctx->text[ctx->pos++] : EOF;
		if (c == EOF)
			break;
		any = true;
		if (c == '\n')
			break;
		if (n < (size_t)num - 2)
			str[n] = (char)c;
		n++;
	}
	if (!any)
		return NULL;
	ctx->line++;
	if (n > LINE_MAX_CHARS || n > (size_t)num - 2) {
		if (!ctx->rc) {
			snprintf(ctx->err, ctx->errlen, "line longer than %d characters",
				 LINE_MAX_CHARS < num - 2 ? LINE_MAX_CHARS : num - 2);
			ctx_error(ctx);
		}
		n = 0; /* hand inih an empty line */
	}
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

static int load(struct load_ctx *ctx, const char *where)
{
	int line = ini_parse_stream(read_line, ctx, config_line, ctx);
	char reason[256];

	if (line == 0 && !ctx->rc)
		return 0;
	if (line < 0) {
		snprintf(ctx->err, ctx->errlen, "%s: cannot allocate memory", where);
		return -ENOMEM;
	}
	/* inih reports the first bad line: ours, or a syntax error before it */
	if (!ctx->rc || (line > 0 && line < ctx->err_line)) {
		snprintf(ctx->err, ctx->errlen, "syntax error (expected [section] or key = value)");
	} else {
		line = ctx->err_line;
	}
	snprintf(reason, sizeof(reason), "%s", ctx->err);
	snprintf(ctx->err, ctx->errlen, "%s:%d: %s", where, line, reason);
	return -EINVAL;
}

int ctl_config_load(struct ctl_config *c, const char *path, char *err, size_t errlen)
{
	struct load_ctx ctx = { .c = c, .err = err, .errlen = errlen };
	int rc;

	ctx.f = fopen(path, "r");
	if (!ctx.f) {
		snprintf(err, errlen, "%s: cannot open file: %s", path, strerror(errno));
		return -ENOENT;
	}
	rc = load(&ctx, path);
	fclose(ctx.f);
	return rc;
}

int ctl_config_check_file(struct ctl_config *c, const char *path, FILE *report)
{
	char err[512];
	struct load_ctx ctx = { .c = c, .err = err, .errlen = sizeof(err), .report = report, .where = path };
	int line;

	ctx.f = fopen(path, "r");
	if (!ctx.f) {
		fprintf(report, "%s: cannot open file: %s\n", path, strerror(errno));
		return 1;
	}
	line = ini_parse_stream(read_line, &ctx, config_line, &ctx);
	fclose(ctx.f);
	if (line < 0) {
		fprintf(report, "%s: cannot allocate memory\n", path);
		return ctx.n_reported + 1;
	}
	/* inih names its first syntax error (ours were all taken above) */
	if (line > 0) {
		fprintf(report, "%s:%d: syntax error (expected [section] or key = value)\n", path, line);
		ctx.n_reported++;
	}
	return ctx.n_reported;
}

int ctl_config_load_string(struct ctl_config *c, const char *text, char *err, size_t errlen)
{
	struct load_ctx ctx = { .c = c, .err = err, .errlen = errlen, .text = text };

	return load(&ctx, "(string)");
}

static void dump_ifaces(const struct ctl_config *c, FILE *out)
{
	if (!c->ifaces_explicit) { /* the built-in interface: shown as a comment */
		const struct dp_iface_conf *f = &c->media.ifaces[0];

		fprintf(out, "\n; no [interface] section: built-in \"%s\" on %s, ports %u-%u\n", f->name,
			f->address, f->port_min, f->port_max);
		return;
	}
	for (unsigned i = 0; i < c->media.n_ifaces; i++) {
		const struct dp_iface_conf *f = &c->media.ifaces[i];

		fprintf(out, "\n[interface %s]\naddress = %s\nadvertise = %s\nport_min = %u\nport_max = %u\n",
			f->name, f->address, f->advertise, f->port_min, f->port_max);
		if (f->type == DP_IFACE_ETHDEV) {
			fprintf(out, "type = ethdev\n");
			ctl_ini_put(out, "device", f->device);
			fprintf(out, "prefix_len = %u\ngateway = %s\n", f->prefix_len, f->gateway);
		}
		if (f->nat_learning)
			fprintf(out, "nat_learning = yes\n");
	}
}

static void key_value(const struct key *k, const struct ctl_config *c, char *buf, size_t len)
{
	const void *field = (const char *)c + k->off;

	switch (k->type) {
	case K_U32: snprintf(buf, len, "%" PRIu32, *(const uint32_t *)field); return;
	case K_STR:
	case K_ADDR: snprintf(buf, len, "%s", (const char *)field); return;
	case K_LEVEL: snprintf(buf, len, "%s", dp_log_level_name(*(const enum dp_log_level *)field)); return;
	case K_TARGET:
		snprintf(buf, len, "%s", *(const enum dp_log_target *)field == DP_LOG_SYSLOG ? "syslog" : "stderr");
		return;
	case K_HUGE: {
		enum dp_hugepages h = *(const enum dp_hugepages *)field;

		snprintf(buf, len, "%s", h == DP_HUGE_YES ? "yes" : h == DP_HUGE_NO ? "no" : "auto");
		return;
	}
	}
	snprintf(buf, len, "?");
}

void ctl_config_dump(const struct ctl_config *c, FILE *out)
{
	const char *section = "";
	char v[300];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key *k = &keys[i];

		if (strcmp(section, k->section)) {
			fprintf(out, "%s[%s]\n", *section ? "\n" : "", k->section);
			section = k->section;
		}
		key_value(k, c, v, sizeof(v));
		ctl_ini_put(out, k->name, v);
	}
	ctl_alert_conf_dump(&c->alerts, out);
	dump_ifaces(c, out);
}

size_t ctl_config_key_count(void) { return sizeof(keys) / sizeof(keys[0]); }

int ctl_config_key_info(size_t i, struct ctl_config_key *out)
{
	if (i >= ctl_config_key_count())
		return -ENOENT;
	out->section = keys[i].section;
	out->name = keys[i].name;
	out->live = key_live(&keys[i]);
	return 0;
}

void ctl_config_key_value(const struct ctl_config *c, size_t i, char *buf, size_t len)
{
	if (i < ctl_config_key_count())
		key_value(&keys[i], c, buf, len);
	else
		snprintf(buf, len, "?");
}

void ctl_config_key_copy(struct ctl_config *dst, const struct ctl_config *src, size_t i)
{
	if (i < ctl_config_key_count())
		memcpy((char *)dst + keys[i].off, (const char *)src + keys[i].off, keys[i].size);
}

bool ctl_config_ifaces_equal(const struct ctl_config *a, const struct ctl_config *b)
{
	return a->ifaces_explicit == b->ifaces_explicit && a->media.n_ifaces == b->media.n_ifaces &&
	       !memcmp(a->media.ifaces, b->media.ifaces, sizeof(a->media.ifaces[0]) * a->media.n_ifaces);
}
