/* SPDX-License-Identifier: MIT
 * ctl_metrics: what mediusd shows over HTTP (ctl_http): the Prometheus
 * metrics and the status page's JSON. Control lcore only: about once a
 * second (from the control loop's 1 Hz tick) ctl_metrics_collect reads the
 * call model, the rooms and the dataplane's counters the way ng statistics
 * and query do (the workers' counters are read, never locked), keeps
 * per-site counters, histograms and a ring of per-minute samples (the last
 * hour), renders both documents and publishes them to the listener.
 * Metric names and labels: docs/operations.md.
 */
#ifndef CTL_METRICS_H
#define CTL_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct ctl_metrics;
struct ctl_calls;
struct ctl_ng;
struct ctl_http;
struct ctl_buf;

/* h receives the documents (NULL: collect only). NULL on no memory. */
struct ctl_metrics *ctl_metrics_create(struct ctl_http *h);
void ctl_metrics_destroy(struct ctl_metrics *m);
/* Collect, render and publish (ng: its per-command counters, may be NULL). */
void ctl_metrics_collect(struct ctl_metrics *m, struct ctl_calls *calls, const struct ctl_ng *ng, uint64_t now_ms);

/* A part of status.json another module renders (the alerts' state): fn
 * appends one JSON value (an array or an object) to out; it appears as
 * status.json's "alerts". Without one, "alerts" is []. Control lcore. */
void ctl_metrics_set_alerts(struct ctl_metrics *m, void (*fn)(void *ctx, struct ctl_buf *out), void *ctx);

/* Append s as a JSON string (quoted, escaped) / as a Prometheus label
 * value (escaped, unquoted). */
void ctl_metrics_json_str(struct ctl_buf *b, const char *s);
void ctl_metrics_label_str(struct ctl_buf *b, const char *s);

#endif
