/* SPDX-License-Identifier: MIT
 * ctl_webhook: POST JSON bodies to one HTTP(S) URL, off the control lcore.
 *
 * Generic: the per-site alerts (ctl_alert_run.c) and the recording
 * notification (ctl_rec_notify.c) each have one. A webhook is a thread
 * (libcurl, easy interface, one connection kept alive) and a bounded FIFO
 * queue. ctl_webhook_post copies the body into the queue and returns at
 * once: it takes a mutex held only for queue operations, never across I/O,
 * so the caller (the control lcore, a recording's thread) never waits for
 * the network. A full queue drops its oldest body and counts it.
 *
 * Each body is tried up to `attempts` times. An attempt succeeds on any
 * 2xx status. A connection failure, a timeout (timeout_ms for the whole
 * attempt), 408, 429 or 5xx is retried after backoff_ms, doubled after
 * each retry up to backoff_max_ms; any other status fails at once (the
 * receiver refuses the body). Bodies go out in order, one at a time.
 * Each request carries Content-Type: application/json, X-Medius-Delivery
 * (the body's number, the same on every attempt: receivers can drop
 * duplicates) and X-Medius-Attempt (1, 2, ...). Redirects are not
 * followed; only http and https are allowed.
 */
#ifndef CTL_WEBHOOK_H
#define CTL_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

struct ctl_webhook_conf {
	const char *name;         /* for log lines: "alerts", "recording" */
	const char *url;          /* http:// or https:// (copied) */
	uint32_t timeout_ms;      /* per attempt, connection included */
	uint32_t attempts;        /* per body, the first included (>= 1) */
	uint32_t backoff_ms;      /* before the first retry */
	uint32_t backoff_max_ms;  /* the longest wait between attempts */
	uint32_t queue_max;       /* bodies waiting at most (>= 1) */
};

struct ctl_webhook_stats {
	uint64_t posted;          /* bodies handed to ctl_webhook_post */
	uint64_t delivered;       /* answered 2xx */
	uint64_t failed;          /* given up: attempts spent, or refused */
	uint64_t dropped;         /* pushed out of a full queue, or left at stop */
	uint64_t attempts;        /* HTTP requests made */
	uint64_t retries;         /* attempts after a body's first */
	uint32_t queued;          /* waiting now (the one being tried included) */
	long last_status;         /* HTTP status of the last attempt, 0 none */
	char last_error[128];     /* why the last failed attempt failed, "" none */
};

struct ctl_webhook;

/* Start the thread. NULL with err set (a bad URL, no memory, libcurl). */
struct ctl_webhook *ctl_webhook_create(const struct ctl_webhook_conf *c, char *err, size_t errlen);
/* Queue a copy of body[0..len) (any thread). 0, or -ENOMEM (not queued,
 * counted as dropped). */
int ctl_webhook_post(struct ctl_webhook *w, const char *body, size_t len);
void ctl_webhook_get_stats(struct ctl_webhook *w, struct ctl_webhook_stats *out);
/* Stop: what is queued gets one more attempt each (no retries) until
 * drain_ms have passed; the rest is counted as dropped. Accepts NULL. */
void ctl_webhook_destroy(struct ctl_webhook *w, unsigned drain_ms);

/* The same without waiting: the thread drains and frees the webhook on
 * its own (a reload replacing it); w must not be used afterwards. */
void ctl_webhook_retire(struct ctl_webhook *w, unsigned drain_ms);

/* JSON helpers for building bodies with ctl_buf (ctl_val.h): a string
 * value, escaped and quoted; and an ISO 8601 UTC time from ms since the
 * epoch ("2026-12-06T05:40:01.123Z"), quoted. */
struct ctl_buf;
void ctl_json_put_str(struct ctl_buf *b, const char *s);
void ctl_json_put_time(struct ctl_buf *b, uint64_t wall_ms);

#endif
