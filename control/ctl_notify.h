/* SPDX-License-Identifier: MIT
 * ctl_notify: mediusd under systemd (Type=notify). Readiness (READY=1 once
 * the ng sockets, EAL and the workers are up), STATUS= lines, RELOADING=1
 * and STOPPING=1, through libsystemd's sd_notify (a no-op without
 * $NOTIFY_SOCKET). The watchdog: when the unit sets WatchdogSec=, the
 * control lcore sends WATCHDOG=1 from its 1 s timer, but only while every
 * worker answers its liveness probe (dp_workers_alive), so a wedged worker
 * or a wedged control loop both stop the pings and systemd restarts
 * mediusd. Control lcore only.
 */
#ifndef CTL_NOTIFY_H
#define CTL_NOTIFY_H

#include <stdint.h>

/* Read $WATCHDOG_USEC (sd_watchdog_enabled). Call once at start-up.
 * Returns the watchdog interval in microseconds, 0 when off. */
uint64_t ctl_notify_init(void);
/* STATUS=<printf>. */
void ctl_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* READY=1 with STATUS=status. */
void ctl_notify_ready(const char *status);
/* RELOADING=1 (a reload begins; ctl_notify_ready ends it). */
void ctl_notify_reloading(void);
/* STOPPING=1. */
void ctl_notify_stopping(void);
/* From the control lcore's 1 s timer: with the watchdog on, probe the
 * workers and send WATCHDOG=1 when all are alive (a probe older than half
 * the watchdog interval, at least 2 s, counts as stuck; logged, rate
 * limited, and in STATUS=). Returns 0, or -ETIMEDOUT when a worker is
 * stuck and no ping was sent. */
int ctl_notify_tick(uint64_t now_ms);

#endif
