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
#include "rec_int.h"

#define PERIOD_MS 20
#define LAG_MS 200         /* audio is written this long after it is due */
#define BUF_S 4            /* seconds of each channel held ahead of what was written */
#define CHUNK 960          /* frames per write */
#define RTP_SLOT 1024      /* bytes of an RTP source's ring slot */
#define MAX_DEC 5760       /* samples per channel one packet decodes to (120 ms at 48 kHz) */

struct codec_slot {
	uint8_t pt;
	struct cdc_format f;
	struct cdc_dec *dec;
	struct cdc_resampler *rs;
	bool tried;
};

struct rec_src {
	struct rec *r;
	struct rec_src_conf c;
	struct mx_tap *tap;     /* one reference is the source's */
	/* shared (r->mu) */
	bool removing, conf_changed;
	uint64_t drained_ov_pub;  /* drained_ov as of the last publish */
	struct rec_src_conf new_conf;
	struct rec_src *next_new;
	/* the thread's */
	struct rec_src *next;
	struct codec_slot slot[REC_MAX_CODECS];
	bool anchored, have_seq, tap_seq_valid;
	uint32_t ssrc, anchor_ts, next_ts, tap_seq_next, clock;
	uint16_t last_seq;
	int64_t anchor_pos, next_pos;
	uint64_t pending_overrun;
	uint64_t drained_ov;      /* overruns the frame numbers showed so far */
	struct cdc_resampler *pcm_rs;
	uint32_t pcm_rate;
};

struct rec {
	struct rec_params p;
	char id[REC_ID_LEN + 1];
	struct rec_sink *sink[4];
	unsigned n_sink;
	int leg_sink[2], pcap_sink, err_ev[4];
	unsigned main_ch;
	uint32_t rate;
	uint64_t t0_tsc, hz, t0_wall_ns, started_ms;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	/* shared (mu) */
	bool stopping, paused, meta_changed, kick;
	char metadata[REC_META_MAX], party[2][256];
	struct rec_src *news;
	struct rec_stats st;
	/* the thread's */
	struct rec_src *srcs;
	bool was_paused;
	int pause_ev;
	int64_t flushed;
	int16_t *chb[2];
	size_t nb;
	struct rec_event *ev;
	unsigned n_ev;
	bool dirty;
	uint64_t last_sync_ms, last_meta_ms;
	struct rec_stats my;  /* the thread's counters, copied to st under mu */
	int16_t dec[MAX_DEC * 2], mono[MAX_DEC], res[MAX_DEC * 2], out[CHUNK * 2], leg[CHUNK];
	uint8_t fbuf[65536];
};

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
	dp_log(!strcmp(what, "error") ? DP_LOG_ERR : DP_LOG_INFO, "rec", "recording %s %s: %s%s%s", id, what, path,
	       detail && *detail ? ": " : "", detail ? detail : "");
}

/* ---- the timeline ---- */

static int64_t ms_to_samples(const struct rec *r, uint64_t ms) { return (int64_t)(ms * r->rate / 1000u); }
static uint64_t samples_to_ms(const struct rec *r, int64_t n) { return n > 0 ? (uint64_t)n * 1000u / r->rate : 0; }

static int64_t pos_of(const struct rec *r, uint64_t tsc)
{
	uint64_t d;

	if (tsc <= r->t0_tsc)
		return 0;
	d = tsc - r->t0_tsc;
	return (int64_t)(d / r->hz * r->rate + d % r->hz * r->rate / r->hz);
}

static int64_t now_pos(const struct rec *r) { return pos_of(r, rte_rdtsc()); }

static uint64_t wall_ns_of(const struct rec *r, uint64_t tsc)
{
	uint64_t d = tsc > r->t0_tsc ? tsc - r->t0_tsc : 0;

	return r->t0_wall_ns + d / r->hz * 1000000000u + d % r->hz * 1000000000u / r->hz;
}

static void add_event(struct rec *r, enum rec_event_type t, int ch, int64_t at, int64_t dur, uint64_t count,
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
static void place(struct rec *r, unsigned ch, int64_t pos, const int16_t *pcm, size_t n)
{
	if (pos < r->flushed) {
		int64_t skip = r->flushed - pos;

		if ((size_t)skip >= n) {
			add_event(r, REC_EV_LATE, (int)ch, pos, (int64_t)n, 1, 0, -1);
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

static void sink_failed(struct rec *r, unsigned i, int err)
{
	char d[128];

	r->sink[i]->error = err;
	r->my.write_errors++;
	if (!r->my.error)
		r->my.error = err;
	r->err_ev[i] = (int)r->n_ev;
	add_event(r, REC_EV_WRITE_ERROR, -1, r->flushed, 0, 0, err, (int)i);
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
		sink_failed(r, i, e);
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

static struct codec_slot *codec_for(struct rec_src *s, uint8_t pt, uint32_t rate)
{
	for (unsigned i = 0; i < s->c.n_codecs && i < REC_MAX_CODECS; i++) {
		struct codec_slot *k = &s->slot[i];

		if (s->c.codecs[i].pt != pt)
			continue;
		if (!k->tried) {
			k->tried = true;
			k->pt = pt;
			k->f = s->c.codecs[i].f;
			if (k->f.codec != CDC_TELEPHONE_EVENT && k->f.codec != CDC_CN) {
				k->dec = cdc_dec_create(&k->f);
				k->rs = k->dec ? cdc_resampler_create(k->f.sample_rate, rate, 1, -1) : NULL;
			}
		}
		return k->dec && k->rs ? k : NULL;
	}
	return NULL;
}

static void codecs_free(struct rec_src *s)
{
	for (unsigned i = 0; i < REC_MAX_CODECS; i++) {
		cdc_dec_destroy(s->slot[i].dec);
		cdc_resampler_destroy(s->slot[i].rs);
		memset(&s->slot[i], 0, sizeof(s->slot[i]));
	}
}

static void src_free(struct rec_src *s)
{
	codecs_free(s);
	cdc_resampler_destroy(s->pcm_rs);
	mx_tap_destroy(s->tap); /* the source's reference */
	free(s);
}

/* n samples of pcm_channels-channel audio at src_rate into the mono buffer,
 * resampled to the recording's rate: the count, or <= 0. */
static int to_mono(struct rec *r, struct cdc_resampler *rs, const int16_t *in, int n, unsigned chans)
{
	if (chans > 1) {
		for (int i = 0; i < n; i++) {
			int v = 0;

			for (unsigned c = 0; c < chans; c++)
				v += in[i * (int)chans + (int)c];
			r->mono[i] = (int16_t)(v / (int)chans);
		}
		in = r->mono;
	}
	return cdc_resample(rs, in, (size_t)n, r->res, MAX_DEC * 2);
}

static void rtp_frame(struct rec *r, struct rec_src *s, const struct mx_tap_frame *f, const uint8_t *p)
{
	unsigned ch = s->c.channel, off, len = f->len;
	int64_t apos = pos_of(r, f->tsc), pos, slack = ms_to_samples(r, 40);
	uint32_t ts, ssrc;
	uint16_t seq;
	uint8_t pt;
	struct codec_slot *k;
	int n;

	if (len < 12 || p[0] >> 6 != 2)
		return;
	if (r->pcap_sink >= 0 && !r->sink[r->pcap_sink]->error) {
		struct rec_pkt pk = { .data = p, .len = (uint16_t)len, .wall_ns = wall_ns_of(r, f->tsc),
				      .src = &s->c.pcap_src, .dst = &s->c.pcap_dst };
		int e = r->sink[r->pcap_sink]->ops->packet(r->sink[r->pcap_sink], &pk);

		if (e)
			sink_failed(r, (unsigned)r->pcap_sink, e);
	}
	pt = p[1] & 0x7f;
	seq = (uint16_t)(p[2] << 8 | p[3]);
	ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
	off = 12u + 4u * (p[0] & 15u);
	if ((p[0] & 0x10) && off + 4 <= len)
		off += 4u + 4u * (unsigned)(p[off + 2] << 8 | p[off + 3]);
	if ((p[0] & 0x20) && len > off)
		len -= p[len - 1] < len - off ? p[len - 1] : 0;
	if (off >= len || !(k = codec_for(s, pt, r->rate)))
		return; /* telephone-event, CN, a codec not decoded: not audio */
	if (s->anchored && ssrc == s->ssrc && k->f.clock_rate == s->clock) {
		pos = s->anchor_pos + (int64_t)(int32_t)(ts - s->anchor_ts) * r->rate / s->clock;
		if (pos > apos + slack || pos < apos - ms_to_samples(r, LAG_MS) + slack)
			s->anchored = false; /* an early packet (a better anchor), or timestamps drifted from arrival */
	}
	if (!s->anchored || ssrc != s->ssrc || k->f.clock_rate != s->clock) {
		if (s->ssrc != ssrc)
			s->have_seq = false;
		s->anchored = true;
		s->ssrc = ssrc;
		s->clock = k->f.clock_rate;
		s->anchor_pos = apos;
		s->anchor_ts = ts;
	}
	pos = s->anchor_pos + (int64_t)(int32_t)(ts - s->anchor_ts) * r->rate / s->clock;
	if (s->have_seq) {
		uint16_t gap = (uint16_t)(seq - s->last_seq - 1);

		if (gap >= 0x8000) /* reordered or repeated: placed by its timestamp, nothing else */
			goto decode;
		if (gap) {
			int64_t at = s->anchor_pos + (int64_t)(int32_t)(s->next_ts - s->anchor_ts) * r->rate / s->clock;

			r->my.lost[ch] += gap;
			add_event(r, s->pending_overrun ? REC_EV_OVERRUN : REC_EV_LOSS, (int)ch, at, pos - at,
				  s->pending_overrun ? s->pending_overrun : gap, 0, -1);
			s->pending_overrun = 0;
		}
	}
	if (s->pending_overrun) { /* dropped frames that left no sequence gap (a new stream began) */
		add_event(r, REC_EV_OVERRUN, (int)ch, pos, 0, s->pending_overrun, 0, -1);
		s->pending_overrun = 0;
	}
	s->have_seq = true;
	s->last_seq = seq;
decode:
	n = cdc_decode(k->dec, p + off, len - off, r->dec, MAX_DEC);
	if (n <= 0)
		return;
	if ((uint16_t)(seq - s->last_seq) == 0)
		s->next_ts = ts + (uint32_t)((uint64_t)n * k->f.clock_rate / k->f.sample_rate);
	n = to_mono(r, k->rs, r->dec, n, k->f.pcm_channels ? k->f.pcm_channels : 1);
	if (n > 0)
		place(r, ch, pos, r->res, (size_t)n);
}

static void pcm_frame(struct rec *r, struct rec_src *s, const struct mx_tap_frame *f, const int16_t *pcm)
{
	unsigned ch = s->c.channel, chans = f->channels ? f->channels : 1;
	int n = (int)(f->len / 2 / chans), m;
	int64_t apos;

	if (n <= 0)
		return;
	if (!s->pcm_rs || s->pcm_rate != f->rate) {
		cdc_resampler_destroy(s->pcm_rs);
		s->pcm_rs = cdc_resampler_create(f->rate, r->rate, 1, -1);
		s->pcm_rate = f->rate;
		if (!s->pcm_rs)
			return;
	}
	m = to_mono(r, s->pcm_rs, pcm, n, chans);
	if (m <= 0)
		return;
	apos = pos_of(r, f->tsc) - m; /* the frame ends when the worker put it */
	if (s->pending_overrun) {
		if (s->anchored)
			add_event(r, REC_EV_OVERRUN, (int)ch, s->next_pos, apos - s->next_pos, s->pending_overrun, 0, -1);
		else
			add_event(r, REC_EV_OVERRUN, (int)ch, apos, 0, s->pending_overrun, 0, -1);
		s->pending_overrun = 0;
		s->anchored = false;
	}
	if (!s->anchored || s->next_pos > apos + ms_to_samples(r, 60) || s->next_pos < apos - ms_to_samples(r, 100)) {
		s->anchored = true;
		s->next_pos = apos;
	}
	place(r, ch, s->next_pos, r->res, (size_t)m);
	s->next_pos += m;
}

/* Take what source s's ring holds. */
static void drain(struct rec *r, struct rec_src *s, bool paused)
{
	struct mx_tap_frame f;

	while (mx_tap_get(s->tap, &f, r->fbuf, sizeof(r->fbuf))) {
		if (s->tap_seq_valid && f.seq != s->tap_seq_next) {
			uint32_t lost = f.seq - s->tap_seq_next;

			r->my.overruns[s->c.channel] += lost;
			s->drained_ov += lost;
			if (!paused)
				s->pending_overrun += lost;
		}
		s->tap_seq_valid = true;
		s->tap_seq_next = f.seq + 1;
		r->my.frames[s->c.channel]++;
		if (paused)
			continue;
		if (f.kind == MX_TAP_RTP_IN)
			rtp_frame(r, s, &f, r->fbuf);
		else if (f.kind == MX_TAP_PCM_IN)
			pcm_frame(r, s, &f, (const int16_t *)r->fbuf);
	}
}

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
			sink_failed(r, i, e);
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
			if (n->conf_changed) {
				if (n->c.n_codecs != n->new_conf.n_codecs ||
				    memcmp(n->c.codecs, n->new_conf.codecs, sizeof(n->c.codecs))) {
					codecs_free(n);
					memcpy(n->c.codecs, n->new_conf.codecs, sizeof(n->c.codecs));
					n->c.n_codecs = n->new_conf.n_codecs;
				}
				n->c.pcap_src = n->new_conf.pcap_src;
				n->c.pcap_dst = n->new_conf.pcap_dst;
				n->conf_changed = false;
			}
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
				add_event(r, REC_EV_PAUSE, -1, now, 0, 0, 0, -1);
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
			drain(r, n, paused);
		flush(r, stopping ? now : now - ms_to_samples(r, LAG_MS));
		/* sources being removed: their producer stopped, their ring is empty now */
		pthread_mutex_lock(&r->mu);
		for (pp = &r->srcs; *pp;) {
			n = *pp;
			if (n->removing) {
				struct mx_tap_stats ts;

				drain(r, n, paused);
				mx_tap_get_stats(n->tap, &ts);
				if (ts.overruns > n->drained_ov) { /* dropped after the last frame: no jump showed them */
					uint64_t k = ts.overruns - n->drained_ov;

					r->my.overruns[n->c.channel] += k;
					add_event(r, REC_EV_OVERRUN, (int)n->c.channel, r->flushed, 0, k, 0, -1);
				}
				*pp = n->next;
				src_free(n);
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
		src_free(n);
	}
	while (r->srcs) { /* sources not removed (the caller's duty; their producers must have stopped) */
		struct rec_src *n = r->srcs;

		r->srcs = n->next;
		src_free(n);
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
	char path[5][REC_PATH_MAX + 16];
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
	for (unsigned i = 0; i <= n; i++)
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

static void kick(struct rec *r)
{
	r->kick = true;
	pthread_cond_signal(&r->wake);
}

void rec_set_paused(struct rec *r, bool paused)
{
	pthread_mutex_lock(&r->mu);
	r->paused = paused;
	kick(r);
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
	pthread_mutex_lock(&r->mu);
	r->stopping = true;
	kick(r);
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

struct rec_src *rec_src_add(struct rec *r, const struct rec_src_conf *c, int *err)
{
	struct rec_src *s;
	unsigned frames = c->ring_frames ? c->ring_frames : 256;
	uint32_t bytes = c->kind == REC_SRC_RTP ? RTP_SLOT : c->max_frame_bytes;

	if (c->channel > 1 || !bytes || bytes > sizeof(((struct rec *)0)->fbuf)) {
		*err = -EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->tap = mx_tap_create(frames, bytes))) {
		free(s);
		*err = -ENOMEM;
		return NULL;
	}
	s->r = r;
	s->c = *c;
	pthread_mutex_lock(&r->mu);
	s->next_new = r->news;
	r->news = s;
	pthread_mutex_unlock(&r->mu);
	return s;
}

struct mx_tap *rec_src_tap(struct rec_src *s) { return s->tap; }

void rec_src_update(struct rec_src *s, const struct rec_src_conf *c)
{
	pthread_mutex_lock(&s->r->mu);
	s->new_conf = *c;
	s->conf_changed = true;
	pthread_mutex_unlock(&s->r->mu);
}

void rec_src_remove(struct rec *r, struct rec_src *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&r->mu);
	s->removing = true; /* the thread drains it and frees it (a new one too, once it took it) */
	kick(r);
	pthread_mutex_unlock(&r->mu);
}

void rec_src_rtp_fn(void *ctx, const uint8_t *pkt, uint16_t len, uint64_t arrival_tsc)
{
	struct rec_src *s = ctx;
	struct mx_tap_frame f = { .kind = MX_TAP_RTP_IN, .tsc = arrival_tsc, .len = len };

	mx_tap_put(s->tap, &f, pkt); /* a full ring, or a packet larger than a slot: an overrun */
}
