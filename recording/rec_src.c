/* SPDX-License-Identifier: MIT
 * rec_src: a recording's sources (rec.h): rings a worker fills, drained by
 * the recording's thread. RTP packets (a relayed leg's, copied by the
 * dataplane) are decoded by payload type and placed by their timestamps,
 * anchored to their arrival; PCM frames (a graph's tap) are placed back to
 * back. Gaps in RTP sequence numbers are losses, jumps of a ring's frame
 * numbers overruns: both become events (rec_rec.c, the timeline).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rec_core.h"

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

void rec_src_free(struct rec_src *s)
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
			rec_sink_failed(r, (unsigned)r->pcap_sink, e);
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
			rec_add_event(r, s->pending_overrun ? REC_EV_OVERRUN : REC_EV_LOSS, (int)ch, at, pos - at,
				  s->pending_overrun ? s->pending_overrun : gap, 0, -1);
			s->pending_overrun = 0;
		}
	}
	if (s->pending_overrun) { /* dropped frames that left no sequence gap (a new stream began) */
		rec_add_event(r, REC_EV_OVERRUN, (int)ch, pos, 0, s->pending_overrun, 0, -1);
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
		rec_place(r, ch, pos, r->res, (size_t)n);
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
			rec_add_event(r, REC_EV_OVERRUN, (int)ch, s->next_pos, apos - s->next_pos, s->pending_overrun, 0, -1);
		else
			rec_add_event(r, REC_EV_OVERRUN, (int)ch, apos, 0, s->pending_overrun, 0, -1);
		s->pending_overrun = 0;
		s->anchored = false;
	}
	if (!s->anchored || s->next_pos > apos + ms_to_samples(r, 60) || s->next_pos < apos - ms_to_samples(r, 100)) {
		s->anchored = true;
		s->next_pos = apos;
	}
	rec_place(r, ch, s->next_pos, r->res, (size_t)m);
	s->next_pos += m;
}

/* Take what source s's ring holds. */
void rec_drain(struct rec *r, struct rec_src *s, bool paused)
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

/* New codecs and pcap addresses from the control lcore (r->mu held). */
void rec_src_take_conf(struct rec_src *n)
{
	if (n->c.n_codecs != n->new_conf.n_codecs || memcmp(n->c.codecs, n->new_conf.codecs, sizeof(n->c.codecs))) {
		codecs_free(n);
		memcpy(n->c.codecs, n->new_conf.codecs, sizeof(n->c.codecs));
		n->c.n_codecs = n->new_conf.n_codecs;
	}
	n->c.pcap_src = n->new_conf.pcap_src;
	n->c.pcap_dst = n->new_conf.pcap_dst;
	n->conf_changed = false;
}

/* ---- control ---- */

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
	rec_kick(r);
	pthread_mutex_unlock(&r->mu);
}

void rec_src_rtp_fn(void *ctx, const uint8_t *pkt, uint16_t len, uint64_t arrival_tsc)
{
	struct rec_src *s = ctx;
	struct mx_tap_frame f = { .kind = MX_TAP_RTP_IN, .tsc = arrival_tsc, .len = len };

	mx_tap_put(s->tap, &f, pkt); /* a full ring, or a packet larger than a slot: an overrun */
}
