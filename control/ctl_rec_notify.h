/* SPDX-License-Identifier: MIT
 * ctl_rec_notify: the recording "finalised" notification (issue 13, like
 * rtpengine-recording's notify-uri): when a recording is finalised, a JSON
 * body with its id, call-id, tags, metadata and file paths is POSTed to
 * [recording] notify_url through a ctl_webhook (retried with backoff). It
 * registers recording/'s hook (rec_set_final_hook); recording/ knows
 * nothing of HTTP. The body is in docs/recording.md.
 */
#ifndef CTL_REC_NOTIFY_H
#define CTL_REC_NOTIFY_H

#include <stdint.h>

struct ctl_webhook_stats;

/* Start posting to url ("" or NULL: off, returns 0). 0 or -EINVAL (logged). */
int ctl_rec_notify_start(const char *url, uint32_t attempts, uint32_t timeout_ms);
/* The webhook's counters; -ENOENT when off. */
int ctl_rec_notify_stats(struct ctl_webhook_stats *out);
/* Unhook, then give queued notifications up to drain_ms. After every
 * recording is finalised (rec_wait_all). */
void ctl_rec_notify_stop(unsigned drain_ms);

#endif
