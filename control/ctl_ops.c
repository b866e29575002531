/* SPDX-License-Identifier: MIT
 * ctl_ops: reload appliers, watchdog and Homer export (see ctl_ops.h). */
#include "ctl_ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_guard.h"
#include "ctl_hep.h"
#include "ctl_notify.h"
#include "ctl_server.h"
#include "cdc.h"
#include "mx.h"
#include "rec.h"

struct ctl_ops {
	struct ctl_config *cfg;
	const char *path;
	char *const *overrides;
	int n_overrides;
	struct ctl_calls *calls;
	struct ctl_server *server;
	struct ctl_hep *hep;
};

void ctl_ops_calls_conf(const struct ctl_config *cfg, struct ctl_calls_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->idle_timeout_s = cfg->call_idle_timeout_s;
	snprintf(c->tap_dir, sizeof(c->tap_dir), "%s", cfg->tap_dir);
	snprintf(c->play_dir, sizeof(c->play_dir), "%s", cfg->play_dir);
	snprintf(c->rec_dir, sizeof(c->rec_dir), "%s", cfg->rec.dir);
	snprintf(c->rec_format, sizeof(c->rec_format), "%s", cfg->rec.format);
	snprintf(c->rec_pattern, sizeof(c->rec_pattern), "%s", cfg->rec.pattern);
	c->rec_rate = cfg->rec.rate;
	c->rec_fsync_ms = cfg->rec.fsync_ms;
	c->rec_pcap = cfg->rec.pcap != 0;
	c->retention.default_days = cfg->retention.default_days;
	rec_retain_parse_tags(cfg->retention.tags, &c->retention); /* checked by the config */
	c->retention_allow_now = cfg->retention.allow_now != 0;
}

static void hep_open(struct ctl_ops *o)
{
	char err[256];

	ctl_hep_destroy(o->hep);
	o->hep = NULL;
	if (!o->cfg->homer.address[0])
		return;
	o->hep = ctl_hep_create(o->cfg->homer.address, o->cfg->homer.protocol, o->cfg->homer.capture_id, err,
				sizeof(err));
	if (!o->hep)
		dp_log(DP_LOG_ERR, "hep", "homer export off: %s", err);
	else
		dp_log(DP_LOG_NOTICE, "hep", "exporting RTCP and quality to %s/%s (capture id %u) as HEPv3",
		       o->cfg->homer.address, o->cfg->homer.protocol, o->cfg->homer.capture_id);
}

/* The appliers: each takes what changed among the keys it owns. */
static void apply_log(const struct ctl_config *c, const struct ctl_config *b, void *ctx)
{
	(void)ctx;
	if (c->log_level != b->log_level || c->log_burst != b->log_burst || c->log_interval_ms != b->log_interval_ms)
		dp_log_setup(c->log_level, c->log_target, "mediusd", c->log_facility, c->log_burst,
			     c->log_interval_ms);
}

static void apply_media(const struct ctl_config *c, const struct ctl_config *b, void *ctx)
{
	(void)ctx;
	if (c->jb_min_ms != b->jb_min_ms || c->jb_max_ms != b->jb_max_ms)
		mx_conf_set(&(struct mx_conf){ .jb_min_ms = c->jb_min_ms, .jb_max_ms = c->jb_max_ms });
	if (c->opus_complexity != b->opus_complexity)
		cdc_opus_set_default_complexity((int)c->opus_complexity);
}

static void apply_ctl(const struct ctl_config *c, const struct ctl_config *b, void *ctx)
{
	struct ctl_ops *o = ctx;
	struct ctl_calls_conf cc;

	if (o->server)
		ctl_server_reconf(o->server, c);
	ctl_ops_calls_conf(c, &cc);
	ctl_calls_set_conf(o->calls, &cc); /* keeps its guard */
	if (c->max_memory_mb != b->max_memory_mb)
		ctl_guard_set_max_memory(ctl_calls_guard(o->calls), c->max_memory_mb);
	if (c->rec.dir[0] && strcmp(c->rec.dir, b->rec.dir)) { /* what a crash left there, as at start */
		int n = rec_recover(c->rec.dir);

		if (n < 0)
			dp_log(DP_LOG_ERR, "rec", "recording.dir %s: %s", c->rec.dir, strerror(-n));
	}
	if (strcmp(c->homer.address, b->homer.address) || strcmp(c->homer.protocol, b->homer.protocol) ||
	    c->homer.capture_id != b->homer.capture_id)
		hep_open(o);
}

struct ctl_ops *ctl_ops_create(struct ctl_config *cfg, const char *config_path, char *const *overrides, int n,
			       struct ctl_calls *calls)
{
	struct ctl_ops *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->cfg = cfg;
	o->path = config_path;
	o->overrides = overrides;
	o->n_overrides = n;
	o->calls = calls;
	ctl_config_on_reload(apply_log, o);
	ctl_config_on_reload(apply_media, o);
	ctl_config_on_reload(apply_ctl, o);
	hep_open(o);
	ctl_notify_init();
	return o;
}

void ctl_ops_set_server(struct ctl_ops *o, struct ctl_server *s) { o->server = s; }

void ctl_ops_reload(void *ops)
{
	struct ctl_ops *o = ops;
	unsigned kept = 0;
	char err[512];
	int rc;

	ctl_notify_reloading();
	dp_log(DP_LOG_NOTICE, "config", "SIGHUP: reloading %s", o->path ? o->path : "(no file: defaults)");
	rc = ctl_config_reload(o->cfg, o->path, o->overrides, o->n_overrides, &kept, err, sizeof(err));
	if (rc < 0) {
		dp_log(DP_LOG_ERR, "config", "reload failed, nothing changed: %s", err);
		ctl_notify_ready("running; the last reload failed (see the log)");
		return;
	}
	dp_log(DP_LOG_NOTICE, "config", "reload done: %d key(s) applied, %u kept until restart", rc, kept);
	ctl_notify_ready(kept ? "running; reloaded, some keys need a restart (see the log)" : "running; reloaded");
}

void ctl_ops_tick(struct ctl_ops *o, uint64_t now_ms)
{
	ctl_notify_tick(now_ms);
	if (o->hep)
		ctl_calls_hep_tick(o->calls, o->hep, o->cfg->homer.quality_interval_s, now_ms);
}

void ctl_ops_destroy(struct ctl_ops *o)
{
	if (!o)
		return;
	ctl_config_appliers_clear();
	if (o->hep) {
		struct ctl_hep_stats st;

		ctl_hep_get_stats(o->hep, &st);
		dp_log(DP_LOG_INFO, "hep", "homer export: %llu messages sent, %llu dropped",
		       (unsigned long long)st.sent, (unsigned long long)st.dropped);
	}
	ctl_hep_destroy(o->hep);
	free(o);
}
