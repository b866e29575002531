/* SPDX-License-Identifier: MIT
 * ctl_tap: a consumer of a media-engine tap (mixer/ mx_tap): a thread off
 * the workers that drains the tap's ring into a file. One thread per tap,
 * so a slow file stalls only its own tap; the worker never waits for it
 * (a full ring is counted as overruns by the tap itself).
 *
 * File formats: MX_TAP_PCM_IN frames are written as raw signed 16-bit
 * little-endian PCM (interleaved when stereo), back to back; MX_TAP_RTP_OUT
 * frames as records of a 2-byte big-endian length and the RTP packet.
 * Frames lost to overruns leave no mark in the file; the counters say how
 * many.
 */
#ifndef CTL_TAP_H
#define CTL_TAP_H

#include <stdint.h>

#include "mx.h"

struct ctl_tap;

struct ctl_tap_stats {
	uint64_t frames, bytes;  /* written to the file */
	uint64_t overruns;       /* frames the ring had no room for */
	int error;               /* 0, or the -errno that stopped the writing */
};

/* Start draining tap t into path (created or truncated, mode 0600; a FIFO
 * is waited for until a reader opens it). The thread opens the file, so a
 * FIFO without a reader never blocks the caller. The tap stays the
 * caller's (its producer owns it): stop the consumer before the tap goes.
 * NULL with *err = -EINVAL (empty path or too long), -ENOMEM or a
 * pthread_create error. */
struct ctl_tap *ctl_tap_start(struct mx_tap *t, const char *path, int *err);
/* Stop the thread: it writes what is queued as far as the file takes it
 * without blocking for more than about 100 ms, closes the file and exits;
 * joined here. out (may be NULL) gets the final counters. Accepts NULL. */
void ctl_tap_stop(struct ctl_tap *c, struct ctl_tap_stats *out);
/* Counters so far. */
void ctl_tap_get_stats(const struct ctl_tap *c, struct ctl_tap_stats *out);
const char *ctl_tap_path(const struct ctl_tap *c);

#endif
