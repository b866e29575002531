/* SPDX-License-Identifier: MIT
 * ctl_rec_notify: a finalised recording, POSTed as JSON (see
 * ctl_rec_notify.h). The hook runs on the recording's thread: it builds the
 * body and queues it (ctl_webhook_post never waits for the network). */
#include "ctl_rec_notify.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl_val.h"
#include "ctl_webhook.h"
#include "dp.h"
#include "rec.h"

static struct ctl_webhook *hook;
static char host[64];

/* "key:value|key:value" as a JSON object; an entry without ':' and a key
 * seen before are left out. */
static void put_fields(struct ctl_buf *b, const char *meta)
{
	const char *p = meta;
	bool first = true;

	ctl_buf_putc(b, '{');
	while (p && *p) {
		const char *end = strchr(p, '|'), *colon;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		bool dup = false;

		colon = memchr(p, ':', len);
		if (colon && colon > p) {
			size_t kl = (size_t)(colon - p);

			for (const char *q = meta; q < p && !dup;) { /* an earlier entry with this key? */
				const char *qe = strchr(q, '|'), *qc;
				size_t ql = qe ? (size_t)(qe - q) : strlen(q);

				qc = memchr(q, ':', ql);
				dup = qc && (size_t)(qc - q) == kl && !memcmp(q, p, kl);
				q = qe ? qe + 1 : q + ql;
			}
			if (!dup) {
				char k[256], v[1024];

				snprintf(k, sizeof(k), "%.*s", (int)kl, p);
				snprintf(v, sizeof(v), "%.*s", (int)(len - kl - 1), colon + 1);
				if (!first)
					ctl_buf_putc(b, ',');
				first = false;
				ctl_json_put_str(b, k);
				ctl_buf_putc(b, ':');
				ctl_json_put_str(b, v);
			}
		}
		p = end ? end + 1 : NULL;
	}
	ctl_buf_putc(b, '}');
}

static void on_final(void *ctx, const struct rec_final *f)
{
	struct ctl_buf b = { 0 };

	(void)ctx;
	ctl_buf_printf(&b, "{\"type\":\"medius.recording\",\"event\":\"finalised\",\"host\":");
	ctl_json_put_str(&b, host);
	ctl_buf_printf(&b, ",\"id\":");
	ctl_json_put_str(&b, f->id);
	ctl_buf_printf(&b, ",\"call_id\":");
	ctl_json_put_str(&b, f->call_id);
	ctl_buf_printf(&b, ",\"from_tag\":");
	ctl_json_put_str(&b, f->from_tag);
	ctl_buf_printf(&b, ",\"to_tag\":");
	ctl_json_put_str(&b, f->to_tag);
	ctl_buf_printf(&b, ",\"metadata\":");
	ctl_json_put_str(&b, f->metadata);
	ctl_buf_printf(&b, ",\"metadata_fields\":");
	put_fields(&b, f->metadata);
	ctl_buf_printf(&b, ",\"path\":");
	ctl_json_put_str(&b, f->path);
	ctl_buf_printf(&b, ",\"sidecar\":");
	ctl_json_put_str(&b, f->sidecar);
	ctl_buf_printf(&b, ",\"files\":[");
	for (unsigned i = 0; i < f->n_files; i++) {
		ctl_buf_printf(&b, "%s{\"path\":", i ? "," : "");
		ctl_json_put_str(&b, f->files[i]);
		ctl_buf_printf(&b, ",\"format\":");
		ctl_json_put_str(&b, f->formats[i]);
		ctl_buf_putc(&b, '}');
	}
	ctl_buf_printf(&b, "],\"complete\":%s,\"started_at\":", f->ok ? "true" : "false");
	ctl_json_put_time(&b, f->started_wall_ms);
	ctl_buf_printf(&b, ",\"ended_at\":");
	ctl_json_put_time(&b, f->ended_wall_ms);
	ctl_buf_printf(&b, ",\"duration_ms\":%llu}", (unsigned long long)f->duration_ms);
	if (!b.err)
		ctl_webhook_post(hook, b.p, b.len);
	else
		dp_log(DP_LOG_ERR, "rec", "recording %s: notification too large, not sent", f->id);
	ctl_buf_free(&b);
}

int ctl_rec_notify_start(const char *url, uint32_t attempts, uint32_t timeout_ms)
{
	struct ctl_webhook_conf wc = {
		.name = "recording",
		.url = url,
		.timeout_ms = timeout_ms,
		.attempts = attempts,
		.backoff_ms = 1000,
		.backoff_max_ms = 60000,
		.queue_max = 1024,
	};
	char err[256];

	if (!url || !*url)
		return 0;
	hook = ctl_webhook_create(&wc, err, sizeof(err));
	if (!hook) {
		dp_log(DP_LOG_ERR, "rec", "recording.notify_url: %s", err);
		return -EINVAL;
	}
	if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "medius");
	host[sizeof(host) - 1] = '\0';
	rec_set_final_hook(on_final, NULL);
	return 0;
}

int ctl_rec_notify_stats(struct ctl_webhook_stats *out)
{
	if (!hook)
		return -ENOENT;
	ctl_webhook_get_stats(hook, out);
	return 0;
}

void ctl_rec_notify_stop(unsigned drain_ms)
{
	if (!hook)
		return;
	rec_set_final_hook(NULL, NULL);
	ctl_webhook_destroy(hook, drain_ms);
	hook = NULL;
}
