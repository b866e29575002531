/* SPDX-License-Identifier: MIT
 * ctl_reload: live configuration reload (SIGHUP), see ctl_config.h. The
 * new configuration is built whole and checked before anything changes;
 * then live keys are copied into the running one key by key, keys that
 * need a restart keep their old value with a warning, and the modules'
 * appliers (registered with ctl_config_on_reload) put the new values to
 * work. Control lcore only; nothing here runs on a worker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_config.h"

#define MAX_APPLIERS 16

static struct {
	ctl_config_applier fn;
	void *ctx;
} g_appliers[MAX_APPLIERS];
static unsigned g_n_appliers;

int ctl_config_on_reload(ctl_config_applier fn, void *ctx)
{
	if (g_n_appliers == MAX_APPLIERS)
		return -ENOSPC;
	g_appliers[g_n_appliers].fn = fn;
	g_appliers[g_n_appliers].ctx = ctx;
	g_n_appliers++;
	return 0;
}

void ctl_config_appliers_clear(void) { g_n_appliers = 0; }

int ctl_config_reload(struct ctl_config *cur, const char *path, char *const *overrides, int n, unsigned *kept,
		      char *err, size_t errlen)
{
	struct ctl_config *next = malloc(sizeof(*next)), *before = malloc(sizeof(*before));
	unsigned applied = 0, restart = 0;
	char a[300], b[300];
	int rc = 0;

	if (!next || !before) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	ctl_config_defaults(next);
	if (path && (rc = ctl_config_load(next, path, err, errlen)))
		goto out;
	for (int i = 0; i < n; i++) {
		char why[400];

		if ((rc = ctl_config_override(next, overrides[i], why, sizeof(why)))) {
			snprintf(err, errlen, "command line: %s", why);
			goto out;
		}
	}
	if ((rc = ctl_config_check(next, err, errlen)))
		goto out;
	*before = *cur;
	for (size_t i = 0; i < ctl_config_key_count(); i++) {
		struct ctl_config_key k;

		ctl_config_key_info(i, &k);
		ctl_config_key_value(cur, i, a, sizeof(a));
		ctl_config_key_value(next, i, b, sizeof(b));
		if (!strcmp(a, b))
			continue;
		if (k.live) {
			ctl_config_key_copy(cur, next, i);
			applied++;
			dp_log(DP_LOG_NOTICE, "config", "reload: %s.%s: '%s' -> '%s'", k.section, k.name, a, b);
		} else {
			restart++;
			dp_log(DP_LOG_WARNING, "config",
			       "reload: %s.%s cannot change while mediusd runs: keeping '%s' (the file says '%s'; "
			       "restart mediusd to apply it)", k.section, k.name, a, b);
		}
	}
	if (!ctl_config_ifaces_equal(cur, next)) {
		restart++;
		dp_log(DP_LOG_WARNING, "config", "reload: the [interface] sections changed; they cannot change "
						 "while mediusd runs: keeping the old ones (restart mediusd to apply them)");
	}
	for (unsigned i = 0; i < g_n_appliers; i++)
		g_appliers[i].fn(cur, before, g_appliers[i].ctx);
	if (kept)
		*kept = restart;
	rc = (int)applied;
out:
	free(next);
	free(before);
	return rc;
}
