/* SPDX-License-Identifier: MIT
 * ctl_server: the control lcore's event loop. It owns the ng sockets (UDP,
 * and TCP when configured) and a signalfd, and sleeps in epoll between
 * events, so an idle daemon costs nothing. Nothing in it blocks: a TCP
 * client gets bounded buffers, reading pauses while it lags behind its
 * replies, and the timeouts in ctl_config (request, idle, send) and the
 * per-source limit end connections that would hold a slot (checked every
 * 250 ms while any client is connected).
 */
#ifndef CTL_SERVER_H
#define CTL_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_config.h"

struct ctl_server;
struct ctl_guard;

#include "ctl_ng.h"

/* What the server serves besides ping: ng commands (ctx is passed to them)
 * and a timer callback run about once a second (NULL: none). */
struct ctl_server_handlers {
	const struct ctl_ng_cmd *cmds;
	size_t n_cmds;
	void *ctx;
	void (*tick)(void *ctx, uint64_t now_ms);
	/* SIGHUP: reload the configuration (NULL: logged and ignored) */
	void (*reload)(void *reload_ctx);
	void *reload_ctx;
	struct ctl_guard *guard; /* allow-list, limits, signatures (ctl_guard.h); NULL: none */
};

/* Bind the ng sockets named in cfg. NULL on failure, with the reason in err
 * (the address and the system's error). h may be NULL (ping only). */
struct ctl_server *ctl_server_create(const struct ctl_config *cfg, const struct ctl_server_handlers *h,
				     char *err, size_t errlen);
/* A reload: take cfg's live TCP limits and timeouts (the listeners and
 * max_request_bytes stay as they were). Control lcore. */
void ctl_server_reconf(struct ctl_server *s, const struct ctl_config *cfg);
/* Close every socket and free; accepts NULL. */
void ctl_server_destroy(struct ctl_server *s);
/* Serve until a signal arrives on sigfd (a signalfd for SIGINT, SIGTERM and
 * SIGHUP; SIGHUP calls the reload handler). Returns the signal that ended the
 * loop, or -errno when the event loop itself fails. */
int ctl_server_run(struct ctl_server *s, int sigfd);
/* Its ng protocol engine (counters for metrics). */
const struct ctl_ng *ctl_server_ng(const struct ctl_server *s);

#endif
