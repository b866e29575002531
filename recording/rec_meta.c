/* SPDX-License-Identifier: MIT
 * rec_meta: the sidecar, base.json: a recording's metadata and events, as
 * JSON. It is written whole to base.json.tmp, fsync'ed and renamed over
 * base.json, so a reader (or a crash) sees one complete version. The
 * "state" member sits on a line of its own, so recovery can change it
 * without a JSON parser (rec_meta_mark_incomplete).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rec_seal_int.h"

uint64_t rec_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct out {
	char *p;
	size_t n, cap;
	bool full;
};

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (o->full)
		return;
	va_start(ap, fmt);
	k = vsnprintf(o->p + o->n, o->cap - o->n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= o->cap - o->n)
		o->full = true;
	else
		o->n += (size_t)k;
}

static void str(struct out *o, const char *s)
{
	put(o, "\"");
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			put(o, "\\%c", c);
		else if (c < 0x20)
			put(o, "\\u%04x", c);
		else
			put(o, "%c", c);
	}
	put(o, "\"");
}

static void iso(struct out *o, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000u);
	struct tm tm;
	char b[32];

	gmtime_r(&t, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	put(o, "\"%s.%03uZ\"", b, (unsigned)(ms % 1000u));
}

static int write_file(const char *base, const char *text, size_t n)
{
	char tmp[REC_PATH_MAX + 16], final[REC_PATH_MAX + 16];
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.json.tmp", base);
	snprintf(final, sizeof(final), "%s.json", base);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	while (n && !rc) {
		ssize_t w = write(fd, text, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = w < 0 ? -errno : -EIO;
		else {
			text += w;
			n -= (size_t)w;
		}
	}
	if (!rc && fdatasync(fd))
		rc = -errno;
	close(fd);
	if (!rc && rename(tmp, final))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

int rec_meta_write(const char *base, const struct rec_meta *m)
{
	struct out o = { .cap = 65536 + (size_t)m->n_ev * 160 };
	int rc;

	o.p = malloc(o.cap);
	if (!o.p)
		return -ENOMEM;
	put(&o, "{\n  \"id\": ");
	str(&o, m->id);
	put(&o, ",\n  \"state\": ");
	str(&o, m->state);
	put(&o, ",\n  \"call-id\": ");
	str(&o, m->call_id);
	put(&o, ",\n  \"from-tag\": ");
	str(&o, m->from_tag);
	put(&o, ",\n  \"to-tag\": ");
	str(&o, m->to_tag);
	put(&o, ",\n  \"metadata\": ");
	str(&o, m->metadata);
	put(&o, ",\n  \"started\": ");
	iso(&o, m->started_wall_ms);
	if (m->ended_wall_ms) {
		put(&o, ",\n  \"ended\": ");
		iso(&o, m->ended_wall_ms);
	}
	put(&o, ",\n  \"duration_ms\": %llu", (unsigned long long)m->duration_ms);
	put(&o, ",\n  \"rate\": %u,\n  \"channels\": [", m->rate);
	for (unsigned c = 0; c < 2; c++) {
		put(&o, c ? ", " : "");
		put(&o, "{\"channel\": %u, \"party\": \"%s\", \"tag\": ", c, c ? "callee" : "caller");
		str(&o, m->party[c]);
		put(&o, ", \"overruns\": %llu, \"lost_packets\": %llu}", (unsigned long long)m->overruns[c],
		    (unsigned long long)m->lost[c]);
	}
	put(&o, "],\n  \"files\": [");
	for (unsigned i = 0; i < m->n_files; i++) {
		put(&o, i ? ", " : "");
		put(&o, "{\"path\": ");
		str(&o, m->files[i]);
		put(&o, ", \"format\": ");
		str(&o, m->formats[i]);
		put(&o, "}");
	}
	put(&o, "],\n  \"event_counts\": {");
	for (int t = 0; t < REC_EV__COUNT; t++)
		put(&o, "%s\"%s\": %llu", t ? ", " : "", rec_event_name((enum rec_event_type)t),
		    (unsigned long long)m->ev_counts[t]);
	put(&o, "},\n  \"events\": [");
	for (unsigned i = 0; i < m->n_ev; i++) {
		const struct rec_event *e = &m->ev[i];

		put(&o, "%s\n    {\"type\": \"%s\", \"channel\": %d, \"at_ms\": %llu, \"duration_ms\": %llu, \"wall\": ",
		    i ? "," : "", rec_event_name(e->type), e->channel, (unsigned long long)e->at_ms,
		    (unsigned long long)e->dur_ms);
		iso(&o, e->wall_ms);
		if (e->count)
			put(&o, ", \"count\": %llu", (unsigned long long)e->count);
		if (e->type == REC_EV_WRITE_ERROR) {
			put(&o, ", \"file\": ");
			str(&o, e->file >= 0 && (unsigned)e->file < m->n_files ? m->files[e->file] : "");
			put(&o, ", \"error\": ");
			str(&o, strerror(-e->error));
		}
		put(&o, "}");
	}
	put(&o, "%s]\n}\n", m->n_ev ? "\n  " : "");
	rc = o.full ? -ENOSPC : rec_seal_kek() ? rec_meta_seal_write(base, o.p, o.n) : write_file(base, o.p, o.n);
	free(o.p);
	return rc;
}

int rec_meta_mark_incomplete(const char *json_path)
{
	static const char *const from[] = { "  \"state\": \"recording\",\n", "  \"state\": \"paused\",\n" };
	char base[REC_PATH_MAX], *text = NULL, *at = NULL, *out = NULL;
	size_t len = 0, k;
	bool sealed = strlen(json_path) > 9 && !strcmp(json_path + strlen(json_path) - 9, ".json" REC_SEAL_EXT);
	int rc = rec_meta_read(json_path, &text, &len); /* plain or sealed */

	if (rc)
		return rc;
	for (unsigned i = 0; i < 2 && !at; i++)
		if ((at = strstr(text, from[i])))
			k = strlen(from[i]);
	if (!at) {
		free(text);
		return 0; /* complete already (or not ours) */
	}
	out = malloc(len + 256);
	if (!out) {
		free(text);
		return -ENOMEM;
	}
	{
		struct out o = { .p = out, .cap = len + 256 };
		uint64_t now = rec_wall_ms();

		put(&o, "%.*s  \"state\": \"incomplete\",\n  \"recovered\": ", (int)(at - text), text);
		iso(&o, now);
		put(&o, ",\n%s", at + k);
		k = strlen(json_path) - (sealed ? 9 : 5);
		snprintf(base, sizeof(base), "%.*s", (int)k, json_path); /* without ".json" or ".json.enc" */
		rc = o.full ? -ENOSPC : sealed ? rec_meta_seal_write(base, o.p, o.n) : write_file(base, o.p, o.n);
	}
	free(out);
	free(text);
	return rc ? rc : 1;
}
