/* SPDX-License-Identifier: MIT
 * rec_rec: a recording and its thread (rec.h).
 *
 * The timeline. Position 0 is when the recording was created (a TSC
 * reading); a position is a sample count at the recording's rate. Each
 * channel has a ring of 4 s of samples ahead of `flushed`, the position
 * written out so far. Media is placed where it belongs on the timeline:
 *  - an RTP source by its RTP timestamps, anchored to when a packet of the
 *    stream arrived (the first one, and again at a new SSRC, a timestamp
 *    jump, or when arrival times and timestamps drift apart by more than
 *    the jitter allowed), so jitter does not move audio and both
 *    directions line up by arrival time;
 *  - a PCM source (a graph's tap) back to back, anchored to when the
 *    worker put its first frame (and again after an overrun or a drift).
 * Every period (20 ms) the thread drains its sources, then writes out
 * what lies more than LAG_MS behind now: silence where nothing was
 * placed. A gap that is not the party's own silence is an event: loss
 * (an RTP sequence gap), overrun (the ring dropped frames), pause, write
 * error, late media. Every fsync_ms the files are synced and the sidecar
 * rewritten when it changed.
 *
 * Locking: r->mu guards what the control lcore and the thread share
 * (requests, the new-source list, stats); the thread never holds it
 * during file I/O, and the control lcore never waits for the thread:
 * removing a source and stopping return at once, and the rings are
 * reference-counted (mx_tap_ref), so a graph and the thread each let go
 * of one when done. No fsync runs on the caller's thread: the first
 * sidecar too is written by the recording's thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "dp.h"
#include "rec_core.h"
#include "rec_seal.h"

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static unsigned g_live;

static const char *const ev_names[REC_EV__COUNT] = {
	[REC_EV_LOSS] = "loss", [REC_EV_OVERRUN] = "overrun", [REC_EV_PAUSE] = "pause",
	[REC_EV_WRITE_ERROR] = "write-error", [REC_EV_LATE] = "late",
};

const char *rec_event_name(enum rec_event_type t) { return t < REC_EV__COUNT ? ev_names[t] : "?"; }

int rec_format_parse(const char *s, enum rec_format *out)
{
	if (!strcmp(s, "wav"))
		*out = REC_FMT_WAV;
	else if (!strcmp(s, "mono") || !strcmp(s, "wav-mono"))
		*out = REC_FMT_WAV_MONO;
	else if (!strcmp(s, "opus") || !strcmp(s, "ogg"))
		*out = REC_FMT_OPUS;
	else
		return -EINVAL;
	return 0;
}

const char *rec_format_name(enum rec_format f)
{
	return f == REC_FMT_OPUS ? "opus" : f == REC_FMT_WAV_MONO ? "mono" : "wav";
}

void rec_emit(const char *what, const char *id, const char *path, const char *detail)
{
	static const char *const audited[][2] = { /* rec_emit's words, the audit log's */
		{ "started", "start" }, { "paused", "pause" }, { "resumed", "resume" }, { "stopped", "stop" },
		{ "finalised", "finalise" }, { "error", "error" },
	};

	for (unsigned i = 0; i < sizeof(audited) / sizeof(audited[0]); i++)
		if (!strcmp(what, audited[i][0]))
			rec_audit_append(audited[i][1], id, path, detail);
	dp_log(!strcmp(what, "error") ? DP_LOG_ERR : DP_LOG_INFO, "rec", "recording %s %s: %s%s%s", id, what, path,
	       detail && *detail ? ": " : "", detail ? detail : "");
}

/* ---- the timeline ---- */

void rec_add_event(struct rec *r, enum rec_event_type t, int ch, int64_t at, int64_t dur, uint64_t count,
		      int error, int file)
{
	struct rec_event *last = r->n_ev ? &r->ev[r->n_ev - 1] : NULL;
	uint64_t at_ms = samples_to_ms(r, at), dur_ms = samples_to_ms(r, dur);

	r->dirty = true;
	r->my.events[t]++;
	/* a run of losses on one channel is one event */
	if (last && t == REC_EV_LOSS && last->type == t && last->channel == ch &&
	    at_ms <= last->at_ms + last->dur_ms + 100) {
		last->dur_ms = at_ms + dur_ms - last->at_ms;
		last->count += count;
		return;
	}
	if (r->n_ev == REC_EVENTS_MAX)
		return; /* counted only */
	r->ev[r->n_ev++] = (struct rec_event){ .type = t, .channel = ch, .at_ms = at_ms, .dur_ms = dur_ms,
					       .wall_ms = rec_wall_ms(), .count = count, .error = error, .file = file };
}

static void flush(struct rec *r, int64_t horizon);

/* Put n samples of channel ch at position pos. */
void rec_place(struct rec *r, unsigned ch, int64_t pos, const int16_t *pcm, size_t n)
{
	if (pos < r->flushed) {
		int64_t skip = r->flushed - pos;

		if ((size_t)skip >= n) {
			rec_add_event(r, REC_EV_LATE, (int)ch, pos, (int64_t)n, 1, 0, -1);
			return;
		}
		pcm += skip;
		n -= (size_t)skip;
		pos = r->flushed;
	}
	if (pos + (int64_t)n > r->flushed + (int64_t)r->nb)
		flush(r, pos + (int64_t)n - (int64_t)r->nb); /* after a stall of the thread (a slow disk): the
								* anchors keep pos within 40 ms of arrival, so
								* this writes out only the past */
	while (n) {
		size_t at = (size_t)(pos % (int64_t)r->nb), m = r->nb - at < n ? r->nb - at : n;

		memcpy(r->chb[ch] + at, pcm, m * sizeof(*pcm));
		pcm += m;
		pos += (int64_t)m;
		n -= m;
	}
}

void rec_sink_failed(struct rec *r, unsigned i, int err)
{
	char d[128];

	r->sink[i]->error = err;
	r->my.write_errors++;
	if (!r->my.error)
		r->my.error = err;
	r->err_ev[i] = (int)r->n_ev;
	rec_add_event(r, REC_EV_WRITE_ERROR, -1, r->flushed, 0, 0, err, (int)i);
	if (r->err_ev[i] >= (int)r->n_ev)
		r->err_ev[i] = -1;
	snprintf(d, sizeof(d), "%s (media keeps flowing; the rest of this file is lost)", strerror(-err));
	rec_emit("error", r->id, r->sink[i]->path, d);
}

static void sink_pcm(struct rec *r, unsigned i, const int16_t *pcm, size_t frames)
{
	int e;

	if (!r->sink[i] || r->sink[i]->error)
		return;
	if ((e = r->sink[i]->ops->pcm(r->sink[i], pcm, frames)))
		rec_sink_failed(r, i, e);
}

/* Write out the timeline up to horizon. */
static void flush(struct rec *r, int64_t horizon)
{
	while (r->flushed < horizon) {
		size_t at = (size_t)(r->flushed % (int64_t)r->nb), m = (size_t)(horizon - r->flushed);
		const int16_t *a = r->chb[0] + at, *b = r->chb[1] + at;

		if (m > CHUNK)
			m = CHUNK;
		if (m > r->nb - at)
			m = r->nb - at;
		for (size_t k = 0; k < m; k++) {
			if (r->main_ch == 2) {
				r->out[2 * k] = a[k];
				r->out[2 * k + 1] = b[k];
			} else {
				int v = a[k] + b[k];

				r->out[k] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
			}
		}
		sink_pcm(r, 0, r->out, m);
		for (unsigned c = 0; c < 2; c++)
			if (r->leg_sink[c] >= 0)
				sink_pcm(r, (unsigned)r->leg_sink[c], c ? b : a, m);
		memset(r->chb[0] + at, 0, m * sizeof(int16_t));
		memset(r->chb[1] + at, 0, m * sizeof(int16_t));
		r->flushed += (int64_t)m;
		r->my.samples_written += m;
	}
	for (unsigned i = 0; i < r->n_sink; i++) /* a failed file's lost span grows */
		if (r->sink[i]->error && r->err_ev[i] >= 0) {
			struct rec_event *e = &r->ev[r->err_ev[i]];

			e->dur_ms = samples_to_ms(r, r->flushed) - e->at_ms;
		}
}

/* ---- sources ---- */

/* ---- the sidecar ---- */

static void write_meta(struct rec *r, const char *state, bool ended)
{
	struct rec_meta m = {
		.id = r->id, .call_id = r->p.call_id, .from_tag = r->p.from_tag, .to_tag = r->p.to_tag,
		.state = state, .rate = r->rate, .channels = 2, .started_wall_ms = r->started_ms,
		.ended_wall_ms = ended ? rec_wall_ms() : 0, .duration_ms = samples_to_ms(r, r->flushed),
		.ev = r->ev, .n_ev = r->n_ev, .ev_counts = r->my.events,
	};
	char meta[REC_META_MAX], party[2][256];
	int e;

	pthread_mutex_lock(&r->mu);
	memcpy(meta, r->metadata, sizeof(meta));
	memcpy(party, r->party, sizeof(party));
	pthread_mutex_unlock(&r->mu);
	m.metadata = meta;
	m.party[0] = party[0];
	m.party[1] = party[1];
	for (unsigned i = 0; i < r->n_sink; i++) {
		m.files[i] = r->sink[i]->path;
		m.formats[i] = r->sink[i]->format;
	}
	m.n_files = r->n_sink;
	for (unsigned c = 0; c < 2; c++) {
		m.overruns[c] = r->my.overruns[c];
		m.lost[c] = r->my.lost[c];
	}
	if ((e = rec_meta_write(r->p.base, &m)) && !r->my.error) {
		r->my.error = e;
		r->my.write_errors++;
		rec_emit("error", r->id, r->p.base, "cannot write the sidecar");
	}
	r->dirty = false;
	r->last_meta_ms = rec_wall_ms();
}

/* ---- the thread ---- */

static void sync_all(struct rec *r)
{
	for (unsigned i = 0; i < r->n_sink; i++) {
		int e;

		if (!r->sink[i]->error && (e = r->sink[i]->ops->sync(r->sink[i])))
			rec_sink_failed(r, i, e);
	}
}

static void publish(struct rec *r)
{
	pthread_mutex_lock(&r->mu);
	for (struct rec_src *s = r->srcs; s; s = s->next)
		s->drained_ov_pub = s->drained_ov;
	r->st = r->my;
	r->st.paused = r->was_paused;
	r->st.duration_ms = samples_to_ms(r, r->flushed);
	pthread_mutex_unlock(&r->mu);
}

static void finalise(struct rec *r)
{
	char part[REC_PATH_MAX + 8];
	bool ok = true;

	if (r->was_paused && r->pause_ev >= 0)
		r->ev[r->pause_ev].dur_ms = samples_to_ms(r, r->flushed) - r->ev[r->pause_ev].at_ms;
	for (unsigned i = 0; i < r->n_sink; i++) {
		struct rec_sink *s = r->sink[i];
		char path[REC_PATH_MAX];
		int e;

		snprintf(path, sizeof(path), "%s", s->path);
		e = s->ops->close(s); /* frees s */
		r->sink[i] = NULL;
		if (e) {
			ok = false;
			r->my.write_errors++;
			if (!r->my.error)
				r->my.error = e;
		}
		snprintf(part, sizeof(part), "%s.part", path);
		if (rename(part, path))
			ok = false;
		/* keep the path for the sidecar */
		r->sink[i] = calloc(1, sizeof(struct rec_sink));
		if (r->sink[i]) {
			snprintf(r->sink[i]->path, sizeof(r->sink[i]->path), "%s", path);
			r->sink[i]->format = i == 0 ? (r->p.format == REC_FMT_OPUS ? "opus" : "wav")
					      : (int)i == r->pcap_sink ? "pcap" : "wav";
		}
	}
	write_meta(r, "complete", true);
	rec_emit("finalised", r->id, r->sink[0] ? r->sink[0]->path : r->p.base, ok ? "" : "with errors (see its sidecar)");
	rec_final_notify(r, ok); /* rec_notify.c */
	for (unsigned i = 0; i < r->n_sink; i++)
		free(r->sink[i]);
}

static void *run(void *arg)
{
	struct rec *r = arg;

	write_meta(r, "recording", false);
	for (;;) {
		struct rec_src *n, **pp;
		bool stopping, paused;
		int64_t now;

		pthread_mutex_lock(&r->mu);
		while (r->news) { /* new sources join */
			n = r->news;
			r->news = n->next_new;
			n->next = r->srcs;
			r->srcs = n;
		}
		for (n = r->srcs; n; n = n->next)
			if (n->conf_changed)
				rec_src_take_conf(n);
		stopping = r->stopping;
		paused = r->paused;
		if (r->meta_changed) {
			r->dirty = true;
			r->meta_changed = false;
		}
		r->kick = false;
		pthread_mutex_unlock(&r->mu);

		now = now_pos(r);
		if (paused != r->was_paused) {
			if (paused) {
				r->pause_ev = (int)r->n_ev;
				rec_add_event(r, REC_EV_PAUSE, -1, now, 0, 0, 0, -1);
				if (r->pause_ev >= (int)r->n_ev)
					r->pause_ev = -1;
				rec_emit("paused", r->id, r->sink[0]->path, "");
			} else {
				if (r->pause_ev >= 0)
					r->ev[r->pause_ev].dur_ms = samples_to_ms(r, now) - r->ev[r->pause_ev].at_ms;
				r->dirty = true;
				for (n = r->srcs; n; n = n->next) /* a stream resumes afresh */
					n->anchored = n->have_seq = false;
				rec_emit("resumed", r->id, r->sink[0]->path, "");
			}
			r->was_paused = paused;
			write_meta(r, paused ? "paused" : "recording", false);
		}
		for (n = r->srcs; n; n = n->next)
			rec_drain(r, n, paused);
		flush(r, stopping ? now : now - ms_to_samples(r, LAG_MS));
		/* sources being removed: their producer stopped, their ring is empty now */
		pthread_mutex_lock(&r->mu);
		for (pp = &r->srcs; *pp;) {
			n = *pp;
			if (n->removing) {
				struct mx_tap_stats ts;

				rec_drain(r, n, paused);
				mx_tap_get_stats(n->tap, &ts);
				if (ts.overruns > n->drained_ov) { /* dropped after the last frame: no jump showed them */
					uint64_t k = ts.overruns - n->drained_ov;

					r->my.overruns[n->c.channel] += k;
					rec_add_event(r, REC_EV_OVERRUN, (int)n->c.channel, r->flushed, 0, k, 0, -1);
				}
				*pp = n->next;
				rec_src_free(n);
			} else {
				pp = &n->next;
			}
		}
		pthread_mutex_unlock(&r->mu);
		if (stopping)
			break;
		{
			uint64_t ms = rec_wall_ms();

			if (ms - r->last_sync_ms >= r->p.fsync_ms) {
				sync_all(r);
				r->last_sync_ms = ms;
				if (r->dirty || ms - r->last_meta_ms >= 10000)
					write_meta(r, paused ? "paused" : "recording", false);
			}
		}
		publish(r);
		pthread_mutex_lock(&r->mu);
		if (!r->stopping && !r->kick) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += PERIOD_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&r->wake, &r->mu, &ts);
		}
		pthread_mutex_unlock(&r->mu);
	}
	finalise(r);
	while (r->news) { /* added, never taken */
		struct rec_src *n = r->news;

		r->news = n->next_new;
		rec_src_free(n);
	}
	while (r->srcs) { /* sources not removed (the caller's duty; their producers must have stopped) */
		struct rec_src *n = r->srcs;

		r->srcs = n->next;
		rec_src_free(n);
	}
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->wake);
	free(r->chb[0]);
	free(r->chb[1]);
	free(r->ev);
	free(r);
	pthread_mutex_lock(&g_mu);
	g_live--;
	pthread_cond_broadcast(&g_cv);
	pthread_mutex_unlock(&g_mu);
	return NULL;
}

/* ---- control ---- */

/* The TSC rate: EAL's, or measured once (tools and tests without EAL). */
static uint64_t tsc_hz(void)
{
	static uint64_t measured;
	struct timespec a, b;
	uint64_t t0, t1;

	if (rte_get_tsc_hz())
		return rte_get_tsc_hz();
	if (measured)
		return measured;
	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = rte_rdtsc();
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 20000000L);
	t1 = rte_rdtsc();
	measured = (t1 - t0) * 1000000000u / (uint64_t)((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec));
	return measured;
}

static int mkdirs(const char *base)
{
	char d[REC_PATH_MAX];

	snprintf(d, sizeof(d), "%s", base);
	for (char *s = d + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(d, 0750) && errno != EEXIST)
				return -errno;
			*s = '/';
		}
	return 0;
}

static void close_all(struct rec *r)
{
	char part[REC_PATH_MAX + 8];

	for (unsigned i = 0; i < r->n_sink; i++) {
		snprintf(part, sizeof(part), "%s.part", r->sink[i]->path);
		r->sink[i]->ops->close(r->sink[i]);
		unlink(part);
	}
	r->n_sink = 0;
}

struct rec *rec_create(const struct rec_params *p, int *err)
{
	struct rec *r;
	char path[6][REC_PATH_MAX + 16];
	const char *fmt[4];
	unsigned n = 0;
	struct stat st;
	struct timespec ts;
	int e = 0;

	if (!p->base[0] || (p->rate != 8000 && p->rate != 16000 && p->rate != 48000) || strlen(p->base) > REC_PATH_MAX - 32) {
		*err = -EINVAL;
		return NULL;
	}
	snprintf(path[n], sizeof(path[n]), "%s.%s", p->base, p->format == REC_FMT_OPUS ? "opus" : "wav");
	fmt[n++] = "main";
	if (p->per_leg) {
		snprintf(path[n], sizeof(path[n]), "%s-caller.wav", p->base);
		fmt[n++] = "leg0";
		snprintf(path[n], sizeof(path[n]), "%s-callee.wav", p->base);
		fmt[n++] = "leg1";
	}
	if (p->pcap) {
		snprintf(path[n], sizeof(path[n]), "%s.pcap", p->base);
		fmt[n++] = "pcap";
	}
	snprintf(path[n], sizeof(path[n]), "%s.json", p->base); /* another recording's sidecar */
	snprintf(path[n + 1], sizeof(path[n + 1]), "%s.json" REC_SEAL_EXT, p->base); /* sealed (rec_seal.h) */
	for (unsigned i = 0; i <= n + 1; i++)
		if (!stat(path[i], &st)) {
			*err = -EEXIST;
			return NULL;
		}
	if ((e = mkdirs(p->base))) {
		*err = e;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	r->p = *p;
	if (r->p.fsync_ms < 50 || r->p.fsync_ms > 1000)
		r->p.fsync_ms = 500;
	snprintf(r->id, sizeof(r->id), "%s", p->id[0] ? p->id : "");
	if (!r->id[0])
		rec_new_id(r->id);
	r->rate = p->rate;
	r->main_ch = p->format == REC_FMT_WAV_MONO ? 1 : 2;
	r->leg_sink[0] = r->leg_sink[1] = r->pcap_sink = -1;
	r->pause_ev = -1;
	for (unsigned i = 0; i < 4; i++)
		r->err_ev[i] = -1;
	snprintf(r->metadata, sizeof(r->metadata), "%s", p->metadata);
	for (unsigned i = 0; i < n && !e; i++) {
		struct rec_sink *s;

		if (!strcmp(fmt[i], "main"))
			s = p->format == REC_FMT_OPUS ? rec_ogg_open(path[i], r->rate, 2, p->call_id, &e)
						      : rec_wav_open(path[i], r->rate, r->main_ch, &e);
		else if (!strcmp(fmt[i], "pcap"))
			s = rec_pcap_open(path[i], &e);
		else
			s = rec_wav_open(path[i], r->rate, 1, &e);
		if (!s)
			break;
		if (!strcmp(fmt[i], "leg0") || !strcmp(fmt[i], "leg1"))
			r->leg_sink[fmt[i][3] - '0'] = (int)r->n_sink;
		if (!strcmp(fmt[i], "pcap"))
			r->pcap_sink = (int)r->n_sink;
		r->sink[r->n_sink++] = s;
	}
	r->nb = (size_t)r->rate * BUF_S;
	r->chb[0] = calloc(r->nb, sizeof(int16_t));
	r->chb[1] = calloc(r->nb, sizeof(int16_t));
	r->ev = calloc(REC_EVENTS_MAX, sizeof(*r->ev));
	if (!e && (!r->chb[0] || !r->chb[1] || !r->ev))
		e = -ENOMEM;
	if (e)
		goto fail;
	pthread_mutex_init(&r->mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&r->wake, &ca);
		pthread_condattr_destroy(&ca);
	}
	r->hz = tsc_hz();
	r->t0_tsc = rte_rdtsc();
	clock_gettime(CLOCK_REALTIME, &ts);
	r->t0_wall_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	r->started_ms = r->t0_wall_ns / 1000000u;
	r->last_sync_ms = r->last_meta_ms = r->started_ms;
	r->dirty = true; /* the thread writes the first sidecar: no fsync on the caller's thread */
	pthread_mutex_lock(&g_mu);
	g_live++;
	pthread_mutex_unlock(&g_mu);
	if ((e = -pthread_create(&r->th, NULL, run, r))) {
		pthread_mutex_lock(&g_mu);
		g_live--;
		pthread_mutex_unlock(&g_mu);
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->wake);
			goto fail;
	}
	pthread_setname_np(r->th, "medius-rec");
	pthread_detach(r->th);
	rec_emit("started", r->id, r->sink[0]->path, "");
	return r;
fail:
	close_all(r);
	{
		char j[REC_PATH_MAX + 8];

		snprintf(j, sizeof(j), "%s.json", p->base);
		unlink(j);
		snprintf(j, sizeof(j), "%s.json" REC_SEAL_EXT, p->base);
		unlink(j);
	}
	free(r->chb[0]);
	free(r->chb[1]);
	free(r->ev);
	free(r);
	*err = e;
	return NULL;
}

const char *rec_id(const struct rec *r) { return r->id; }
const char *rec_path(const struct rec *r) { return r->sink[0]->path; }
const char *rec_file(const struct rec *r, unsigned i) { return i < r->n_sink ? r->sink[i]->path : NULL; }

void rec_kick(struct rec *r)
{
	r->kick = true;
	pthread_cond_signal(&r->wake);
}

void rec_set_paused(struct rec *r, bool paused)
{
	pthread_mutex_lock(&r->mu);
	r->paused = paused;
	rec_kick(r);
	pthread_mutex_unlock(&r->mu);
}

void rec_set_metadata(struct rec *r, const char *metadata)
{
	pthread_mutex_lock(&r->mu);
	snprintf(r->metadata, sizeof(r->metadata), "%s", metadata ? metadata : "");
	r->meta_changed = true;
	pthread_mutex_unlock(&r->mu);
}

void rec_set_party(struct rec *r, unsigned ch, const char *tag)
{
	if (ch > 1)
		return;
	pthread_mutex_lock(&r->mu);
	snprintf(r->party[ch], sizeof(r->party[ch]), "%s", tag ? tag : "");
	pthread_mutex_unlock(&r->mu);
}

void rec_get_stats(const struct rec *r, struct rec_stats *out)
{
	pthread_mutex_lock((pthread_mutex_t *)&r->mu);
	*out = r->st;
	out->paused = r->paused;
	for (const struct rec_src *s = r->srcs; s; s = s->next) { /* what the rings dropped and the thread has not seen yet */
		struct mx_tap_stats ts;

		mx_tap_get_stats(s->tap, &ts);
		if (ts.overruns > s->drained_ov_pub)
			out->overruns[s->c.channel] += ts.overruns - s->drained_ov_pub;
	}
	pthread_mutex_unlock((pthread_mutex_t *)&r->mu);
}

void rec_stop(struct rec *r)
{
	if (!r)
		return;
	rec_emit("stopped", r->id, r->sink[0]->path, "");
	pthread_mutex_lock(&r->mu);
	r->stopping = true;
	rec_kick(r);
	pthread_mutex_unlock(&r->mu); /* the thread finalises and frees r */
}

unsigned rec_wait_all(unsigned timeout_ms)
{
	struct timespec ts;
	unsigned left;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000u;
	ts.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&g_mu);
	while (g_live && pthread_cond_timedwait(&g_cv, &g_mu, &ts) == 0)
		;
	left = g_live;
	pthread_mutex_unlock(&g_mu);
	return left;
}
