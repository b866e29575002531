/* SPDX-License-Identifier: MIT
 * ctl_ops: what mediusd does for its operators beside serving ng: the
 * SIGHUP reload's appliers (log level, TCP limits, call timers, jitter
 * buffer bounds, Opus complexity, tap/play/recording settings, the Homer
 * export), the systemd watchdog and the Homer export on the 1 s timer.
 * Control lcore only. docs/operations.md describes it.
 */
#ifndef CTL_OPS_H
#define CTL_OPS_H

#include <stdint.h>

#include "ctl_call.h"
#include "ctl_config.h"

struct ctl_ops;
struct ctl_server;

/* The call registry's settings from a configuration. */
void ctl_ops_calls_conf(const struct ctl_config *cfg, struct ctl_calls_conf *out);
/* cfg is the running configuration (kept by the caller, updated by
 * reloads); config_path (may be NULL) and the n overrides are read again
 * by each reload (kept by the caller). Registers the appliers. NULL on no
 * memory. */
struct ctl_ops *ctl_ops_create(struct ctl_config *cfg, const char *config_path, char *const *overrides, int n,
			       struct ctl_calls *calls);
/* The server whose TCP limits a reload changes. */
void ctl_ops_set_server(struct ctl_ops *o, struct ctl_server *s);
/* SIGHUP (ctl_server_handlers.reload, ctx = the ops). */
void ctl_ops_reload(void *ops);
/* The 1 s timer: watchdog, Homer export. */
void ctl_ops_tick(struct ctl_ops *o, uint64_t now_ms);
void ctl_ops_destroy(struct ctl_ops *o);

#endif
